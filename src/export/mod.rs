//! `indmon export`: the record as spreadsheets for people — submissions, alerts with their
//! history, and evaluation results recomputed on the current data — for a period or a range,
//! scoped to a unit as its digests are (a district or zone sees its own enterprises and alerts,
//! the city sees all), as CSV or XLSX ([`sink`]). Every heading is Chinese with the English
//! code name in brackets; amounts are exact 万元; text that a spreadsheet would take for a
//! formula is neutralised ([`cell::neutralise`]).

pub mod alerts;
mod cell;
pub mod evaluation;
pub mod sink;
pub mod submissions;
mod xlsx;

pub use cell::{Cell, Column, Kind, Table, beijing, neutralise};
pub use sink::{CsvSink, Dest, Sink};
pub use xlsx::{MAX_ROWS, XlsxSink};

use crate::period::Period;
use crate::registry::{Unit, UnitKind};
use crate::store::{Store, Vintage};

/// What to export.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum What {
    /// 企业月报：each enterprise-month's current figures.
    Submissions,
    /// 预警及其历史：the alerts and every event of each.
    Alerts,
    /// 评估结果：units, findings and key projects, recomputed on the current data.
    Evaluation,
}

impl What {
    pub fn as_str(self) -> &'static str {
        match self {
            What::Submissions => "submissions",
            What::Alerts => "alerts",
            What::Evaluation => "evaluation",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            What::Submissions => "企业月报",
            What::Alerts => "预警及其历史",
            What::Evaluation => "评估结果",
        }
    }

    /// The tables of this export, in the order they are written.
    pub fn tables(self) -> Vec<Table> {
        match self {
            What::Submissions => vec![submissions::table()],
            What::Alerts => alerts::tables(),
            What::Evaluation => evaluation::tables(),
        }
    }
}

/// The periods exported, `from..=to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    pub from: Period,
    pub to: Period,
}

impl Range {
    pub fn new(from: Period, to: Period) -> anyhow::Result<Range> {
        anyhow::ensure!(
            from <= to,
            "起始期 {from} 晚于截止期 {to} (--from is after --to)"
        );
        Ok(Range { from, to })
    }

    pub fn contains(&self, p: Period) -> bool {
        (self.from..=self.to).contains(&p)
    }

    /// Every period of the range, in order.
    pub fn periods(&self) -> Vec<Period> {
        let mut out = vec![self.from];
        while let Some(&p) = out.last().filter(|p| **p < self.to) {
            out.push(p.next());
        }
        out
    }

    /// For file names: `2026-09`, or `2026-01_2026-09`.
    pub fn label(&self) -> String {
        if self.from == self.to {
            self.from.to_string()
        } else {
            format!("{}_{}", self.from, self.to)
        }
    }

    /// For people: `2026-09`, or `2026-01 至 2026-09`.
    pub fn zh(&self) -> String {
        if self.from == self.to {
            self.from.to_string()
        } else {
            format!("{} 至 {}", self.from, self.to)
        }
    }
}

/// Whose data: one district's or zone's, or everything (the city, or no `--unit`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope {
    /// The unit asked for, `None` when none was.
    pub unit: Option<Unit>,
}

impl Scope {
    /// The scope of `--unit CODE`: the unit must be registered.
    pub async fn resolve(store: &Store, code: Option<&str>) -> anyhow::Result<Scope> {
        let Some(code) = code.map(str::trim) else {
            return Ok(Scope { unit: None });
        };
        let units = store.units().await?;
        let unit = units.iter().find(|u| u.code == code).cloned();
        let Some(unit) = unit else {
            let known: Vec<String> = units
                .iter()
                .take(20)
                .map(|u| format!("{} {}", u.code, u.name))
                .collect();
            anyhow::bail!(
                "没有代码为“{code}”的单位 (no such unit)；已登记的单位 (registered units)：{}",
                if known.is_empty() {
                    "无（请先导入单位 import units first）".to_string()
                } else {
                    known.join("、")
                }
            );
        };
        Ok(Scope { unit: Some(unit) })
    }

    /// Everything, as the city sees it.
    pub fn all() -> Scope {
        Scope { unit: None }
    }

    /// The unit code rows are filtered by; `None` for everything (the city sees all).
    pub fn filter(&self) -> Option<&str> {
        self.unit
            .as_ref()
            .filter(|u| u.kind != UnitKind::City)
            .map(|u| u.code.as_str())
    }

    /// Whether a subject of `unit_code`, counting also in `scope`, is seen.
    pub fn sees(&self, unit_code: &str, scope: &[String]) -> bool {
        self.filter()
            .is_none_or(|u| u == unit_code || scope.iter().any(|s| s == u))
    }

    /// For file names: `_330781`, or nothing for everything.
    pub fn label(&self) -> String {
        self.unit
            .as_ref()
            .map(|u| format!("_{}", u.code))
            .unwrap_or_default()
    }

    pub fn zh(&self) -> String {
        match &self.unit {
            Some(u) => format!("{}（{}）", u.name, u.code),
            None => "全部单位 (all units)".into(),
        }
    }
}

/// When the export was made and from which data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stamp {
    /// The newest import run that committed data, if any.
    pub vintage: Option<Vintage>,
    /// Epoch milliseconds.
    pub exported_at: i64,
}

impl Stamp {
    /// The vintage in words: `导入批次 run 12（2026-10-20 08:00:00）`.
    pub fn vintage_zh(&self) -> String {
        match &self.vintage {
            Some(v) => format!(
                "导入批次 run {}（{}）",
                v.run_id,
                v.finished_at.map(beijing).unwrap_or_default()
            ),
            None => "无导入数据 (nothing imported)".into(),
        }
    }

    /// The line above each table of an evaluation CSV.
    pub fn csv_line(&self) -> Vec<String> {
        vec![
            "数据版本 (vintage)".into(),
            self.vintage_zh(),
            "导出时间 (exported at)".into(),
            beijing(self.exported_at),
        ]
    }
}

/// The first sheet of an XLSX export: what it holds and from which data.
pub fn about(what: What, range: &Range, scope: &Scope, stamp: &Stamp) -> Vec<(String, Cell)> {
    let mut rows = vec![
        ("导出内容 (export)".to_string(), Cell::text(what.zh())),
        ("报告期 (periods)".to_string(), Cell::text(range.zh())),
        ("单位范围 (unit)".to_string(), Cell::text(scope.zh())),
        (
            "数据版本 (vintage)".to_string(),
            Cell::text(stamp.vintage_zh()),
        ),
        (
            "导出时间 (exported at)".to_string(),
            Cell::Time(stamp.exported_at),
        ),
    ];
    if what == What::Evaluation {
        rows.push((
            "说明 (note)".to_string(),
            Cell::text("评估结果按导出时的数据重新计算，不改变预警 (recomputed on the data as exported; no alert was changed)"),
        ));
    }
    rows.push((
        "金额单位 (amounts)".to_string(),
        Cell::text("万元，精确到元 (万元, exact to the 元)"),
    ));
    rows
}
