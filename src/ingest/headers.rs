//! Header recognition: which column holds what, from English code names or the Chinese words
//! officials use, with per-source column maps taking precedence.

use std::collections::BTreeMap;

use super::table::column_letter;
use crate::indicator::{FIELDS, INDICATORS, Span, field_for, field_index, indicator};

/// The kinds of file `indmon import` takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Units,
    Enterprises,
    Targets,
    Submissions,
    UnitIndicators,
    Projects,
    ProjectProgress,
    /// 用电户号对照表: the power company's accounts mapped to credit codes.
    PowerAccounts,
    /// 日用电量: the power company's daily electricity per account.
    PowerDaily,
    /// 旬报: key enterprises' output, sales and electricity of one 旬.
    XunReports,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Units => "units",
            Kind::Enterprises => "enterprises",
            Kind::Targets => "targets",
            Kind::Submissions => "submissions",
            Kind::UnitIndicators => "unit-indicators",
            Kind::Projects => "projects",
            Kind::ProjectProgress => "project-progress",
            Kind::PowerAccounts => "power-accounts",
            Kind::PowerDaily => "power-daily",
            Kind::XunReports => "xun-reports",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            Kind::Units => "单位",
            Kind::Enterprises => "企业名录",
            Kind::Targets => "目标",
            Kind::Submissions => "企业月报",
            Kind::UnitIndicators => "单位指标",
            Kind::Projects => "重点项目",
            Kind::ProjectProgress => "项目进度",
            Kind::PowerAccounts => "用电户号对照表",
            Kind::PowerDaily => "日用电量",
            Kind::XunReports => "旬报",
        }
    }

    /// The named (non-indicator) columns of this kind, with the aliases officials write.
    fn keys(self) -> &'static [(&'static str, &'static [&'static str])] {
        match self {
            Kind::Units => &[
                ("code", &["code", "单位代码", "代码", "编码", "区划代码"]),
                ("name", &["name", "名称", "单位名称", "县区名称"]),
                ("kind", &["kind", "类型", "单位类型", "类别"]),
                (
                    "parent",
                    &["parent", "上级", "上级单位", "上级代码", "所属"],
                ),
            ],
            Kind::Enterprises => &[
                ("credit_code", CREDIT_CODE),
                (
                    "name",
                    &["name", "企业名称", "单位名称", "名称", "详细名称"],
                ),
                (
                    "unit_code",
                    &[
                        "unit_code",
                        "unit",
                        "县区代码",
                        "所属县区",
                        "县区",
                        "所在地区",
                        "单位代码",
                    ],
                ),
                (
                    "zone_code",
                    &[
                        "zone_code",
                        "zone",
                        "园区代码",
                        "所属园区",
                        "园区",
                        "开发区",
                    ],
                ),
                (
                    "industry_code",
                    &[
                        "industry_code",
                        "industry",
                        "行业代码",
                        "国民经济行业代码",
                        "行业",
                    ],
                ),
                ("scale", &["scale", "规模", "是否规上", "规上规下"]),
                ("key", &["key", "重点企业", "是否重点", "重点"]),
                (
                    "owner",
                    &["owner", "包抓责任人", "包抓领导", "责任人", "包联领导"],
                ),
            ],
            Kind::Targets => &[
                ("year", &["year", "年度", "年份"]),
                (
                    "unit_code",
                    &["unit_code", "unit", "单位代码", "县区代码", "单位"],
                ),
                ("indicator", &["indicator", "指标", "指标名称"]),
                ("kind", &["kind", "类型", "目标类型"]),
                ("annual", &["annual", "年度目标", "全年目标", "目标"]),
                ("milestones", &["milestones", "节点目标", "阶段目标"]),
            ],
            Kind::Submissions => &[
                ("credit_code", CREDIT_CODE),
                ("period", PERIOD),
                ("name", &["name", "企业名称", "单位名称", "详细名称"]),
            ],
            Kind::UnitIndicators => &[
                ("unit_code", &["unit_code", "unit", "单位代码", "县区代码"]),
                ("period", PERIOD),
                ("indicator", &["indicator", "指标", "指标名称"]),
                ("value", &["value", "数值", "值", "指标值"]),
            ],
            Kind::Projects => &[
                ("project_id", PROJECT_ID),
                ("name", &["name", "项目名称", "名称"]),
                (
                    "unit_code",
                    &[
                        "unit_code",
                        "unit",
                        "所属县区",
                        "单位代码",
                        "县区代码",
                        "县区",
                        "所在地区",
                    ],
                ),
                (
                    "owner",
                    &[
                        "owner",
                        "责任单位/包抓领导",
                        "责任单位",
                        "包抓领导",
                        "包抓责任人",
                        "责任人",
                    ],
                ),
                (
                    "total_investment",
                    &["total_investment", "总投资", "项目总投资", "计划总投资"],
                ),
                (
                    "planned_investment_year",
                    &[
                        "planned_investment_year",
                        "年度计划投资",
                        "本年计划投资",
                        "年度投资计划",
                    ],
                ),
                (
                    "planned_start",
                    &["planned_start", "计划开工", "计划开工时间", "计划开工日期"],
                ),
                (
                    "planned_completion",
                    &[
                        "planned_completion",
                        "计划竣工",
                        "计划竣工时间",
                        "计划竣工日期",
                    ],
                ),
                (
                    "planned_production",
                    &[
                        "planned_production",
                        "计划投产",
                        "计划投产时间",
                        "计划投产日期",
                    ],
                ),
                ("status", PROJECT_STATUS),
            ],
            Kind::ProjectProgress => &[
                ("project_id", PROJECT_ID),
                ("period", PERIOD),
                (
                    "invested_month",
                    &["invested_month", "本月完成投资", "当月完成投资"],
                ),
                (
                    "invested_ytd",
                    &[
                        "invested_ytd",
                        "1-本月累计完成投资",
                        "本年累计完成投资",
                        "累计完成投资",
                    ],
                ),
                ("status", PROJECT_STATUS),
                ("name", &["name", "项目名称", "名称"]),
            ],
            Kind::PowerAccounts => &[
                ("account", POWER_ACCOUNT),
                ("credit_code", CREDIT_CODE),
                ("name", &["name", "户名", "用电户名", "企业名称", "名称"]),
            ],
            Kind::PowerDaily => &[
                ("account", POWER_ACCOUNT),
                (
                    "day",
                    &["day", "date", "日期", "用电日期", "抄表日期", "数据日期"],
                ),
                (
                    "kwh",
                    &[
                        "kwh",
                        "electricity",
                        "日用电量",
                        "用电量",
                        "电量",
                        "用电量千瓦时",
                    ],
                ),
                ("name", &["name", "户名", "用电户名"]),
            ],
            Kind::XunReports => &[
                ("credit_code", CREDIT_CODE),
                ("xun", &["xun", "旬", "报告旬", "旬别", "旬次", "所属旬"]),
                ("period", PERIOD),
                ("name", &["name", "企业名称", "单位名称", "详细名称"]),
                ("output", &["output", "工业总产值", "总产值", "产值"]),
                ("sales", &["sales", "工业销售产值", "销售产值"]),
                (
                    "electricity",
                    &["electricity", "工业用电量", "用电量", "用电"],
                ),
            ],
        }
    }

    /// The key columns whose presence identifies this kind of file.
    fn required(self) -> &'static [&'static str] {
        match self {
            Kind::Units => &["code", "kind"],
            Kind::Enterprises => &["credit_code", "unit_code"],
            Kind::Targets => &["year", "unit_code", "indicator", "annual"],
            Kind::Submissions => &["credit_code"],
            Kind::UnitIndicators => &["unit_code", "period", "indicator", "value"],
            Kind::Projects => &[
                "project_id",
                "name",
                "unit_code",
                "total_investment",
                "status",
            ],
            Kind::ProjectProgress => &["project_id", "period"],
            Kind::PowerAccounts => &["account", "credit_code"],
            Kind::PowerDaily => &["account", "day", "kwh"],
            Kind::XunReports => &["credit_code", "xun"],
        }
    }

    /// Money columns of the kind, read in 万元 and scaled like submission money.
    pub fn is_money(self, key: &str) -> bool {
        matches!(
            (self, key),
            (
                Kind::Projects,
                "total_investment" | "planned_investment_year"
            ) | (Kind::ProjectProgress, "invested_month" | "invested_ytd")
                | (Kind::XunReports, "output" | "sales")
        )
    }
}

const POWER_ACCOUNT: &[&str] = &[
    "account",
    "户号",
    "用电户号",
    "电力户号",
    "用户编号",
    "客户编号",
];
const PROJECT_ID: &[&str] = &["project_id", "项目编号", "项目代码", "项目编码", "项目id"];
const PROJECT_STATUS: &[&str] = &["status", "状态", "项目状态", "建设状态", "进展状态"];

const CREDIT_CODE: &[&str] = &[
    "credit_code",
    "统一社会信用代码",
    "社会信用代码",
    "信用代码",
    "统一代码",
];
const PERIOD: &[&str] = &[
    "period",
    "报告期",
    "统计期",
    "报告期别",
    "期别",
    "年月",
    "所属期",
];

/// What a column holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Col {
    /// A named column of the kind (`credit_code`, `period`, `unit_code` …).
    Key(&'static str),
    /// A submission figure, an index into [`FIELDS`], with the unit its header names, if any.
    Field {
        index: usize,
        header_unit: Option<&'static str>,
    },
    /// A column indmon does not use (reported, never silently dropped).
    Unused,
}

/// Folds a header for matching: no spaces, ASCII brackets, lower-case ASCII.
pub fn normalize(h: &str) -> String {
    crate::amount::normalize(h)
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '*' && *c != '※')
        .map(|c| match c {
            '（' => '(',
            '）' => ')',
            '／' => '/',
            '—' | '－' | '~' | '～' => '-',
            _ => c.to_ascii_lowercase(),
        })
        .collect()
}

/// Recognises one header cell as a key of `kind`.
fn key_of(kind: Kind, h: &str) -> Option<&'static str> {
    let n = normalize(h);
    let bare = strip_parens(&n);
    kind.keys()
        .iter()
        .find(|(_, aliases)| {
            aliases
                .iter()
                .any(|a| normalize(a) == n || normalize(a) == bare)
        })
        .map(|(k, _)| *k)
}

fn strip_parens(n: &str) -> String {
    let mut out = String::new();
    let mut depth = 0;
    for c in n.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// Recognises a submission figure from its (flattened) header. `left` is the indicator of the
/// nearest recognised column to the left, for a group headed only 上年同期.
fn field_of(
    h: &str,
    left: Option<&'static str>,
) -> Result<Option<(usize, Option<&'static str>)>, String> {
    let n = normalize(h);
    if let Some(i) = field_index(&n) {
        return Ok(Some((i, None)));
    }
    const WORDS: &[(&str, &[&str])] = &[
        ("output", &["工业总产值", "总产值"]),
        ("sales", &["工业销售产值", "销售产值"]),
        ("revenue", &["营业收入", "主营业务收入"]),
        ("profit", &["利润总额", "利润"]),
        ("electricity", &["工业用电量", "用电量", "用电"]),
        ("employees", &["从业人员", "用工人数", "职工人数"]),
        ("export", &["出口交货值", "出口"]),
    ];
    let prior = ["上年同期", "上年", "去年同期", "同期"]
        .iter()
        .any(|w| n.contains(w));
    let named = WORDS
        .iter()
        .find(|(_, ws)| ws.iter().any(|w| n.contains(w)))
        .map(|(i, _)| *i);
    let Some(ind) = named.or(if prior { left } else { None }) else {
        return Ok(None);
    };
    let info = indicator(ind).ok_or("unknown indicator")?;
    let ytd = n.contains("累计") || n.contains("1-");
    let month = n.contains("本月") || n.contains("当月");
    let span = match (month, ytd) {
        (_, true) => Span::Ytd,
        (true, false) => Span::Month,
        (false, false) if info.month && !info.ytd => Span::Month,
        (false, false) if info.ytd && !info.month => Span::Ytd,
        _ => {
            return Err(format!(
                "表头“{h}”未说明是本月还是1-本月累计 (say 本月 or 1-本月累计, or map it in the source's column_map)"
            ));
        }
    };
    let index = field_for(ind, span, prior).ok_or_else(|| {
        let what = if span == Span::Ytd {
            "累计值"
        } else {
            "本月值"
        };
        format!(
            "表头“{h}”：{}不收{what} (indmon does not keep this span of {ind})",
            info.zh
        )
    })?;
    let unit = ["千元", "万元", "元"]
        .into_iter()
        .find(|u| n.contains(&format!("({u}")) || n.contains(&format!("{u})")));
    Ok(Some((index, unit)))
}

/// Guesses the kind of a file from a header row.
pub fn detect(cells: &[String]) -> Option<Kind> {
    let has = |kind: Kind| {
        kind.required()
            .iter()
            .all(|k| cells.iter().any(|c| key_of(kind, c) == Some(*k)))
    };
    let any_field = || {
        let mut left = None;
        cells.iter().any(|c| match field_of(c, left) {
            Ok(Some((i, _))) => {
                left = Some(FIELDS[i].indicator);
                true
            }
            _ => false,
        })
    };
    let has_key = |kind: Kind, key: &str| cells.iter().any(|c| key_of(kind, c) == Some(key));
    let progress_figures = || {
        has_key(Kind::ProjectProgress, "invested_month")
            || has_key(Kind::ProjectProgress, "invested_ytd")
    };
    if has(Kind::PowerDaily) {
        Some(Kind::PowerDaily)
    } else if has(Kind::XunReports) {
        Some(Kind::XunReports)
    } else if has(Kind::PowerAccounts) {
        Some(Kind::PowerAccounts)
    } else if has(Kind::Submissions) && any_field() {
        Some(Kind::Submissions)
    } else if has(Kind::ProjectProgress) && progress_figures() {
        Some(Kind::ProjectProgress)
    } else if has(Kind::Projects) {
        Some(Kind::Projects)
    } else if has(Kind::Enterprises) {
        Some(Kind::Enterprises)
    } else if has(Kind::UnitIndicators) {
        Some(Kind::UnitIndicators)
    } else if has(Kind::Targets) {
        Some(Kind::Targets)
    } else if has(Kind::Units) {
        Some(Kind::Units)
    } else {
        None
    }
}

/// Maps every column of a header to what it holds. `column_map` (from the source's config)
/// names a target for a header text or a column letter and wins over recognition; its
/// targets are key names, field names or `ignore`. Errors name the column and the reason.
pub fn recognise(
    kind: Kind,
    header: &[String],
    column_map: &BTreeMap<String, String>,
) -> Result<Vec<Col>, Vec<String>> {
    let mapped: BTreeMap<String, &str> = column_map
        .iter()
        .map(|(k, v)| (normalize(k), v.as_str()))
        .collect();
    let mut cols = Vec::with_capacity(header.len());
    let mut errors = Vec::new();
    let mut left = None;
    for (i, h) in header.iter().enumerate() {
        let letter = column_letter(i);
        let target = mapped
            .get(&normalize(h))
            .or_else(|| mapped.get(&letter.to_ascii_lowercase()));
        let col = match target {
            Some(&"ignore") => Col::Unused,
            Some(t) => {
                match (kind.keys().iter().find(|(k, _)| k == t), field_index(t)) {
                    (Some((k, _)), _) => Col::Key(k),
                    (None, Some(index)) if kind == Kind::Submissions => Col::Field {
                        index,
                        header_unit: None,
                    },
                    _ => {
                        errors.push(format!("列{letter}“{h}”：column_map 指向未知的“{t}” (unknown column_map target)"));
                        Col::Unused
                    }
                }
            }
            None => match key_of(kind, h) {
                Some(k) => Col::Key(k),
                None if kind == Kind::Submissions => match field_of(h, left) {
                    Ok(Some((index, header_unit))) => Col::Field { index, header_unit },
                    Ok(None) => Col::Unused,
                    Err(e) => {
                        errors.push(format!("列{letter}：{e}"));
                        Col::Unused
                    }
                },
                None => Col::Unused,
            },
        };
        if let Col::Field { index, .. } = col {
            left = Some(FIELDS[index].indicator);
        }
        if let Col::Key(k) = col
            && kind.is_money(k)
            && normalize(h).contains("亿元")
        {
            errors.push(format!(
                    "列{letter}“{h}”：金额单位为亿元，请换算为万元后导入 (亿元 columns are not scaled; convert to 万元)"
                ));
        }
        if col != Col::Unused
            && let Some(j) = cols.iter().position(|c| *c == col || matches!((c, &col), (Col::Field { index: a, .. }, Col::Field { index: b, .. }) if a == b)) {
                errors.push(format!("列{}“{}”和列{letter}“{h}”对应同一项 (two columns hold the same figure)", column_letter(j), header[j]));
            }
        cols.push(col);
    }
    for k in kind.required() {
        if !cols.contains(&Col::Key(k)) {
            errors.push(format!("缺少必需的列“{k}” (required column missing)"));
        }
    }
    if kind == Kind::Submissions && !cols.iter().any(|c| matches!(c, Col::Field { .. })) {
        let names: Vec<&str> = INDICATORS.iter().map(|i| i.zh).collect();
        errors.push(format!(
            "没有可识别的指标列（{}） (no indicator column recognised)",
            names.join("、")
        ));
    }
    if errors.is_empty() {
        Ok(cols)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn fields(cols: &[Col]) -> Vec<&'static str> {
        cols.iter()
            .map(|c| match c {
                Col::Key(k) => k,
                Col::Field { index, .. } => FIELDS[*index].name,
                Col::Unused => "-",
            })
            .collect()
    }

    #[test]
    fn reads_the_chinese_headers_of_the_samples() {
        let header = h(&[
            "统一社会信用代码",
            "企业名称",
            "报告期",
            "工业总产值(本月)",
            "工业总产值(1-本月累计)",
            "用电量(本月)",
            "从业人员",
        ]);
        assert_eq!(detect(&header), Some(Kind::Submissions));
        let cols = recognise(Kind::Submissions, &header, &BTreeMap::new()).unwrap();
        assert_eq!(
            fields(&cols),
            [
                "credit_code",
                "name",
                "period",
                "output",
                "output_ytd",
                "electricity",
                "employees"
            ]
        );
    }

    #[test]
    fn prior_year_group_takes_the_indicator_to_its_left() {
        let header = h(&[
            "统一社会信用代码",
            "工业总产值（当年价格）/本月",
            "工业总产值（当年价格）/1-本月累计",
            "上年同期/本月",
            "上年同期/1-本月累计",
            "从业人员（人）",
        ]);
        let cols = recognise(Kind::Submissions, &header, &BTreeMap::new()).unwrap();
        assert_eq!(
            fields(&cols),
            [
                "credit_code",
                "output",
                "output_ytd",
                "output_prev",
                "output_ytd_prev",
                "employees"
            ]
        );
    }

    #[test]
    fn english_names_and_column_maps() {
        let header = h(&["credit_code", "period", "output", "X1"]);
        let map = BTreeMap::from([("D".to_string(), "export_ytd".to_string())]);
        let cols = recognise(Kind::Submissions, &header, &map).unwrap();
        assert_eq!(
            fields(&cols),
            ["credit_code", "period", "output", "export_ytd"]
        );
    }

    #[test]
    fn header_units_are_kept() {
        let cols = recognise(
            Kind::Submissions,
            &h(&["信用代码", "营业收入（千元）"]),
            &BTreeMap::new(),
        )
        .unwrap();
        assert_eq!(
            cols[1],
            Col::Field {
                index: field_index("revenue_ytd").unwrap(),
                header_unit: Some("千元")
            }
        );
    }

    #[test]
    fn ambiguous_and_duplicate_columns_are_errors() {
        let e = recognise(
            Kind::Submissions,
            &h(&["信用代码", "工业总产值"]),
            &BTreeMap::new(),
        )
        .unwrap_err();
        assert!(e[0].contains("列B") && e[0].contains("本月"), "{e:?}");
        let e = recognise(
            Kind::Submissions,
            &h(&["信用代码", "output", "工业总产值(本月)"]),
            &BTreeMap::new(),
        )
        .unwrap_err();
        assert!(e[0].contains("同一项"), "{e:?}");
    }

    #[test]
    fn detects_registry_kinds() {
        assert_eq!(
            detect(&h(&["code", "name", "kind", "parent"])),
            Some(Kind::Units)
        );
        assert_eq!(
            detect(&h(&["credit_code", "name", "unit_code", "scale"])),
            Some(Kind::Enterprises)
        );
        assert_eq!(
            detect(&h(&[
                "year",
                "unit_code",
                "indicator",
                "kind",
                "annual",
                "milestones"
            ])),
            Some(Kind::Targets)
        );
        assert_eq!(
            detect(&h(&["unit_code", "period", "indicator", "value"])),
            Some(Kind::UnitIndicators)
        );
        assert_eq!(
            detect(&h(&["东岭区规模以上工业企业主要经济指标（2026年10月）"])),
            None
        );
    }
}
