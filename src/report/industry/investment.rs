//! Industrial investment (工业投资) against its annual target: the official `investment` figure
//! (万元, year to date) each unit publishes, its growth on the same months a year earlier where
//! that figure is loaded too, the `volume` target, completion against time progress (时间进度),
//! and whether the rule `unit_progress_lagging` warned about it.

use serde::Serialize;

use crate::analysis::{Dataset, Growth};
use crate::evaluate::Report;
use crate::registry::{TargetKind, UnitKind};
use crate::rules::Rule;

/// The unit-level indicator of industrial investment.
pub const INVESTMENT: &str = "investment";

/// One unit's industrial investment.
#[derive(Clone, Debug, Serialize)]
pub struct InvestmentRow {
    pub code: String,
    pub name: String,
    pub kind: String,
    /// 万元, year to date; none when not published for the period.
    pub ytd_wan: Option<f64>,
    pub ytd_prev_wan: Option<f64>,
    pub growth_pct: Option<f64>,
    /// The annual target (万元).
    pub target_wan: Option<f64>,
    /// Year to date / annual target, percent.
    pub completion_pct: Option<f64>,
    pub time_progress_pct: f64,
    /// Completion minus time progress, percentage points (negative: behind).
    pub gap_pp: Option<f64>,
    /// Whether `unit_progress_lagging` fired for it this period.
    pub lagging: bool,
}

/// The units with an investment figure or target: the city, then districts, then zones, each by
/// code.
pub fn rows(ds: &Dataset, report: &Report) -> Vec<InvestmentRow> {
    let p = ds.period();
    let time = f64::from(p.month()) / 12.0 * 100.0;
    let mut units: Vec<&crate::registry::Unit> = ds.units.iter().collect();
    units.sort_by_key(|u| (kind_order(u.kind), u.code.clone()));
    let mut out = Vec::new();
    for u in units {
        let ytd = ds.unit_figure(&u.code, p, INVESTMENT).map(|a| a.raw());
        let prev = ds
            .unit_figure(&u.code, p.year_ago(), INVESTMENT)
            .map(|a| a.raw());
        let target = ds
            .targets
            .iter()
            .find(|t| {
                t.unit_code == u.code && t.indicator == INVESTMENT && t.kind == TargetKind::Volume
            })
            .map(|t| t.annual.raw());
        if ytd.is_none() && target.is_none() {
            continue;
        }
        let completion = ytd
            .zip(target.filter(|t| *t > 0))
            .map(|(y, t)| y as f64 / t as f64 * 100.0);
        out.push(InvestmentRow {
            code: u.code.clone(),
            name: u.name.clone(),
            kind: u.kind.as_str().into(),
            ytd_wan: ytd.map(wan),
            ytd_prev_wan: prev.map(wan),
            growth_pct: ytd
                .zip(prev)
                .and_then(|(c, p)| Growth::ratio(c, p))
                .map(Growth::pct),
            target_wan: target.map(wan),
            completion_pct: completion,
            time_progress_pct: time,
            gap_pp: completion.map(|c| c - time),
            lagging: report.findings.iter().any(|f| {
                f.rule == Rule::UnitProgressLagging
                    && f.subject == u.code
                    && f.indicator == INVESTMENT
            }),
        });
    }
    out
}

fn kind_order(k: UnitKind) -> u8 {
    match k {
        UnitKind::City => 0,
        UnitKind::District => 1,
        UnitKind::Zone => 2,
    }
}

fn wan(raw: i64) -> f64 {
    raw as f64 / 10_000.0
}
