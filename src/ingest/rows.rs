//! Row validation: one table row becomes a typed record or a list of rejects, each naming the
//! line, the column, the value and the reason.

use super::headers::{Col, Kind};
use super::table::{Row, column_letter};
use crate::amount::{Amount, Scale};
use crate::credit_code::CreditCode;
use crate::indicator::{FIELDS, N_FIELDS};
use crate::period::Period;
use crate::record::{Record, Reject, Submission};
use crate::registry::{
    self, Enterprise, Project, ProjectProgress, ProjectStatus, Target, TargetKind, Unit, UnitKind,
};

/// Everything a row parser needs to know about the file it reads.
pub struct RowContext<'a> {
    pub cols: &'a [Col],
    pub header: &'a [String],
    /// Multiplier for money columns without a unit in their own header.
    pub money_scale: Scale,
    /// The period for files that carry it only in a title or on the command line.
    pub period: Option<Period>,
    /// The month under way (Asia/Shanghai): periods from it on cannot have figures yet.
    pub open_period: Period,
}

impl RowContext<'_> {
    fn column(&self, i: usize) -> String {
        format!(
            "{} {}",
            column_letter(i),
            self.header.get(i).map(String::as_str).unwrap_or("")
        )
    }

    /// `letter header` of the column read as key `key`, if the file has one.
    pub fn column_of(&self, key: &str) -> Option<String> {
        let i = self
            .cols
            .iter()
            .position(|c| matches!(c, Col::Key(k) if *k == key))?;
        Some(self.column(i))
    }

    /// For each column of the file, `letter header` and the key or field it is read as; `None`
    /// for a column indmon does not use.
    pub fn read_columns(&self) -> Vec<Option<(String, &'static str)>> {
        self.cols
            .iter()
            .enumerate()
            .map(|(i, c)| match c {
                Col::Key(k) => Some((self.column(i), *k)),
                Col::Field { index, .. } => Some((self.column(i), FIELDS[*index].name)),
                Col::Unused => None,
            })
            .collect()
    }

    /// The text of a key column, trimmed, if the file has that column.
    fn key<'r>(&self, row: &'r Row, key: &'static str) -> Option<(usize, &'r str)> {
        let i = self.cols.iter().position(|c| *c == Col::Key(key))?;
        Some((i, row.cells.get(i).map(|s| s.trim()).unwrap_or("")))
    }

    fn reject(
        &self,
        row: &Row,
        i: usize,
        field: &str,
        value: &str,
        reason: impl Into<String>,
    ) -> Reject {
        Reject {
            line: row.line,
            column: self.column(i),
            field: field.into(),
            value: value.into(),
            reason: reason.into(),
        }
    }

    /// A required text column.
    fn required<'r>(&self, row: &'r Row, key: &'static str, errs: &mut Vec<Reject>) -> &'r str {
        match self.key(row, key) {
            Some((_, v)) if !v.is_empty() => v,
            Some((i, _)) => {
                errs.push(self.reject(row, i, key, "", "必填项为空 (required value missing)"));
                ""
            }
            None => "",
        }
    }

    fn optional<'r>(&self, row: &'r Row, key: &'static str) -> Option<&'r str> {
        self.key(row, key).map(|(_, v)| v).filter(|v| !v.is_empty())
    }

    fn period(&self, row: &Row, errs: &mut Vec<Reject>) -> Option<Period> {
        let Some((i, text)) = self.key(row, "period").filter(|(_, t)| !t.is_empty()) else {
            if self.period.is_none() {
                errs.push(Reject {
                    line: row.line,
                    column: String::new(),
                    field: "period".into(),
                    value: String::new(),
                    reason:
                        "没有报告期：文件无报告期列、标题中也未写明，请用 --period 指定 (no period)"
                            .into(),
                });
            }
            return self.period;
        };
        match text.parse::<Period>() {
            Ok(p) if p >= self.open_period => {
                errs.push(self.reject(
                    row,
                    i,
                    "period",
                    text,
                    "报告期尚未结束，不可能已有数据 (period is in the future)",
                ));
                None
            }
            Ok(p) => Some(p),
            Err(e) => {
                errs.push(self.reject(row, i, "period", text, e.to_string()));
                None
            }
        }
    }

    fn credit_code(&self, row: &Row, errs: &mut Vec<Reject>) -> Option<CreditCode> {
        let (i, text) = self.key(row, "credit_code")?;
        match text.parse::<CreditCode>() {
            Ok(c) => Some(c),
            Err(_) if text.is_empty() => {
                errs.push(self.reject(
                    row,
                    i,
                    "credit_code",
                    "",
                    "统一社会信用代码为空 (credit code missing)",
                ));
                None
            }
            Err(e) => {
                errs.push(self.reject(row, i, "credit_code", text, e.to_string()));
                None
            }
        }
    }

    /// Parses one row as a record of `kind`; any problem rejects the whole row.
    pub fn parse(&self, kind: Kind, row: &Row) -> Result<Record, Vec<Reject>> {
        let mut errs = Vec::new();
        let record = match kind {
            Kind::Submissions => self.submission(row, &mut errs).map(Record::Submission),
            Kind::Enterprises => self.enterprise(row, &mut errs).map(Record::Enterprise),
            Kind::Units => self.unit(row, &mut errs).map(Record::Unit),
            Kind::Targets => self.target(row, &mut errs).map(Record::Target),
            Kind::UnitIndicators => self.unit_indicator(row, &mut errs),
            Kind::Projects => self.project(row, &mut errs).map(Record::Project),
            Kind::ProjectProgress => self
                .project_progress(row, &mut errs)
                .map(Record::ProjectProgress),
            // Read by `ingest::power` (their rows are no registry records).
            Kind::PowerAccounts | Kind::PowerDaily | Kind::XunReports => {
                errs.push(Reject {
                    line: row.line,
                    column: String::new(),
                    field: String::new(),
                    value: String::new(),
                    reason: format!("{}不经此处读取 (read elsewhere)", kind.zh()),
                });
                None
            }
        };
        match record {
            Some(r) if errs.is_empty() => Ok(r),
            _ => Err(errs),
        }
    }

    fn submission(&self, row: &Row, errs: &mut Vec<Reject>) -> Option<Submission> {
        let credit_code = self.credit_code(row, errs);
        let period = self.period(row, errs);
        let mut values = [None; N_FIELDS];
        for (i, col) in self.cols.iter().enumerate() {
            let Col::Field { index, header_unit } = *col else {
                continue;
            };
            let field = &FIELDS[index];
            let text = row.cells.get(i).map(String::as_str).unwrap_or("");
            let scale = match (field.money, header_unit) {
                (false, _) => Scale::ONE,
                (true, Some("千元")) => Scale::THOUSAND_TO_TEN_THOUSAND,
                (true, Some("元")) => Scale::ONE_TO_TEN_THOUSAND,
                (true, Some(_)) => Scale::ONE,
                (true, None) => self.money_scale,
            };
            match Amount::parse_cell(text, scale) {
                Ok(Some(v)) if v.is_negative() && !field.signed => {
                    errs.push(self.reject(
                        row,
                        i,
                        field.name,
                        text.trim(),
                        "不能为负数 (must not be negative)",
                    ));
                }
                Ok(v) => values[index] = v,
                Err(e) => errs.push(self.reject(row, i, field.name, text.trim(), e.to_string())),
            }
        }
        Some(Submission {
            line: row.line,
            credit_code: credit_code?,
            period: period?,
            values,
        })
    }

    fn enterprise(&self, row: &Row, errs: &mut Vec<Reject>) -> Option<Enterprise> {
        let credit_code = self.credit_code(row, errs);
        let name = self.required(row, "name", errs).to_string();
        let unit_code = self.required(row, "unit_code", errs).to_string();
        let industry_code = match self.optional(row, "industry_code") {
            None => None,
            Some(t) => match registry::check_industry_code(t) {
                Ok(c) => Some(c),
                Err(e) => {
                    let i = self.key(row, "industry_code").map_or(0, |k| k.0);
                    errs.push(self.reject(row, i, "industry_code", t, e));
                    None
                }
            },
        };
        let scale = match self.key(row, "scale") {
            None => registry::Scale::Above,
            Some((_, "")) => registry::Scale::Above,
            Some((i, t)) => registry::Scale::parse(t).unwrap_or_else(|| {
                errs.push(self.reject(
                    row,
                    i,
                    "scale",
                    t,
                    "规模应为 above/below 或 规上/规下 (scale must be above or below)",
                ));
                registry::Scale::Above
            }),
        };
        let key = match self.key(row, "key") {
            None => false,
            Some((i, t)) => registry::parse_flag(t).unwrap_or_else(|| {
                errs.push(self.reject(row, i, "key", t, "应为 是/否 或 1/0 (must be yes or no)"));
                false
            }),
        };
        Some(Enterprise {
            credit_code: credit_code?,
            name,
            unit_code,
            zone_code: self.optional(row, "zone_code").map(str::to_string),
            industry_code,
            scale,
            key,
            owner: self.optional(row, "owner").map(str::to_string),
        })
    }

    fn unit(&self, row: &Row, errs: &mut Vec<Reject>) -> Option<Unit> {
        let code = self.required(row, "code", errs).to_string();
        let name = self.required(row, "name", errs).to_string();
        let kind_text = self.required(row, "kind", errs);
        let kind = UnitKind::parse(kind_text);
        if kind.is_none() && !kind_text.is_empty() {
            let i = self.key(row, "kind").map_or(0, |k| k.0);
            errs.push(self.reject(
                row,
                i,
                "kind",
                kind_text,
                "类型应为 city/district/zone（全市/县区/园区） (unknown unit kind)",
            ));
        }
        Some(Unit {
            code,
            name,
            kind: kind?,
            parent: self.optional(row, "parent").map(str::to_string),
        })
    }

    fn target(&self, row: &Row, errs: &mut Vec<Reject>) -> Option<Target> {
        let year_text = self.required(row, "year", errs);
        let year = year_text
            .trim_end_matches('年')
            .parse::<i32>()
            .ok()
            .filter(|y| (2000..=2100).contains(y));
        if year.is_none() && !year_text.is_empty() {
            let i = self.key(row, "year").map_or(0, |k| k.0);
            errs.push(self.reject(
                row,
                i,
                "year",
                year_text,
                "年度应为四位年份 (year must be like 2026)",
            ));
        }
        let unit_code = self.required(row, "unit_code", errs).to_string();
        let indicator = self.required(row, "indicator", errs).to_string();
        let kind = match self.key(row, "kind") {
            None | Some((_, "")) => Some(TargetKind::Growth),
            Some((i, t)) => TargetKind::parse(t).or_else(|| {
                errs.push(self.reject(
                    row,
                    i,
                    "kind",
                    t,
                    "类型应为 growth 或 volume（增速/总量） (kind must be growth or volume)",
                ));
                None
            }),
        };
        let annual_text = self.required(row, "annual", errs);
        let annual = match Amount::parse_cell(annual_text.trim_end_matches('%'), Scale::ONE) {
            Ok(v) => v,
            Err(e) => {
                let i = self.key(row, "annual").map_or(0, |k| k.0);
                errs.push(self.reject(row, i, "annual", annual_text, e.to_string()));
                None
            }
        };
        let milestones = match self.key(row, "milestones") {
            None => Vec::new(),
            Some((i, t)) => registry::parse_milestones(t).unwrap_or_else(|e| {
                errs.push(self.reject(row, i, "milestones", t, e));
                Vec::new()
            }),
        };
        Some(Target {
            year: year?,
            unit_code,
            indicator,
            kind: kind?,
            annual: annual?,
            milestones,
        })
    }

    fn unit_indicator(&self, row: &Row, errs: &mut Vec<Reject>) -> Option<Record> {
        let unit_code = self.required(row, "unit_code", errs).to_string();
        let period = self.period(row, errs);
        let indicator = self.required(row, "indicator", errs).to_string();
        let text = self.required(row, "value", errs);
        let value = match Amount::parse_cell(text.trim_end_matches('%'), Scale::ONE) {
            Ok(v) => v,
            Err(e) => {
                let i = self.key(row, "value").map_or(0, |k| k.0);
                errs.push(self.reject(row, i, "value", text, e.to_string()));
                None
            }
        };
        Some(Record::UnitIndicator {
            line: row.line,
            unit_code,
            period: period?,
            indicator,
            value: value?,
        })
    }
}

impl RowContext<'_> {
    /// A money column of a project file: `Ok(None)` when the file lacks it or the cell is
    /// blank; negative amounts are rejected. A unit in the column's own header (千元, 元) wins
    /// over the file's scale, as for submissions.
    fn money(
        &self,
        row: &Row,
        key: &'static str,
        errs: &mut Vec<Reject>,
    ) -> Result<Option<Amount>, ()> {
        let Some((i, text)) = self.key(row, key) else {
            return Ok(None);
        };
        let header = super::headers::normalize(self.header.get(i).map_or("", String::as_str));
        let scale = if header.contains("千元") {
            Scale::THOUSAND_TO_TEN_THOUSAND
        } else if header.contains("万元") {
            Scale::ONE
        } else if header.contains("(元") || header.contains("元)") {
            Scale::ONE_TO_TEN_THOUSAND
        } else {
            self.money_scale
        };
        match Amount::parse_cell(text, scale) {
            Ok(Some(v)) if v.is_negative() => {
                errs.push(self.reject(
                    row,
                    i,
                    key,
                    text,
                    "投资额不能为负数 (must not be negative)",
                ));
                Err(())
            }
            Ok(v) => Ok(v),
            Err(e) => {
                errs.push(self.reject(row, i, key, text, e.to_string()));
                Err(())
            }
        }
    }

    /// A project status column: `Ok(None)` when absent or blank.
    fn project_status(
        &self,
        row: &Row,
        errs: &mut Vec<Reject>,
    ) -> Result<Option<ProjectStatus>, ()> {
        match self.key(row, "status") {
            None | Some((_, "")) => Ok(None),
            Some((i, t)) => ProjectStatus::parse(t).map(Some).ok_or_else(|| {
                errs.push(self.reject(
                    row,
                    i,
                    "status",
                    t,
                    "项目状态应为 planned/started/completed/producing（谋划/在建/竣工/投产） (unknown project status)",
                ));
            }),
        }
    }

    /// A planned month (计划开工 …): `Ok(None)` when absent or blank.
    fn month(
        &self,
        row: &Row,
        key: &'static str,
        errs: &mut Vec<Reject>,
    ) -> Result<Option<Period>, ()> {
        match self.key(row, key) {
            None | Some((_, "")) => Ok(None),
            Some((i, t)) => registry::parse_month(t).map(Some).map_err(|e| {
                errs.push(self.reject(row, i, key, t, e));
            }),
        }
    }

    fn project(&self, row: &Row, errs: &mut Vec<Reject>) -> Option<Project> {
        let id = self.required(row, "project_id", errs).to_string();
        let name = self.required(row, "name", errs).to_string();
        let unit_code = self.required(row, "unit_code", errs).to_string();
        let total = self.money(row, "total_investment", errs);
        if let (Ok(None), Some((i, _))) = (&total, self.key(row, "total_investment")) {
            errs.push(self.reject(
                row,
                i,
                "total_investment",
                "",
                "必填项为空 (required value missing)",
            ));
        }
        let planned_year = self.money(row, "planned_investment_year", errs);
        let start = self.month(row, "planned_start", errs);
        let completion = self.month(row, "planned_completion", errs);
        let production = self.month(row, "planned_production", errs);
        let status = self.project_status(row, errs);
        if let (Ok(None), Some((i, _))) = (&status, self.key(row, "status")) {
            errs.push(self.reject(row, i, "status", "", "必填项为空 (required value missing)"));
        }
        Some(Project {
            id,
            name,
            unit_code,
            owner: self.optional(row, "owner").map(str::to_string),
            total_investment: total.ok()??,
            planned_year: planned_year.ok()?,
            planned_start: start.ok()?,
            planned_completion: completion.ok()?,
            planned_production: production.ok()?,
            status: status.ok()??,
        })
    }

    fn project_progress(&self, row: &Row, errs: &mut Vec<Reject>) -> Option<ProjectProgress> {
        let project_id = self.required(row, "project_id", errs).to_string();
        let period = self.period(row, errs);
        let invested_month = self.money(row, "invested_month", errs);
        let invested_ytd = self.money(row, "invested_ytd", errs);
        let status = self.project_status(row, errs);
        let has = |k| self.key(row, k).is_some();
        Some(ProjectProgress {
            line: row.line,
            project_id,
            period: period?,
            invested_month: invested_month.ok()?,
            invested_ytd: invested_ytd.ok()?,
            status: status.ok()?,
            present: [has("invested_month"), has("invested_ytd"), has("status")],
        })
    }
}

mod power;

/// The columns a file has that indmon does not use, for the import summary.
pub fn unused_columns(cols: &[Col], header: &[String]) -> Vec<String> {
    cols.iter()
        .zip(header)
        .filter(|(c, h)| **c == Col::Unused && !h.trim().is_empty())
        .map(|(_, h)| h.clone())
        .collect()
}
