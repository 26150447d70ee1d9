//! The figures the charts need that the rest of the snapshot does not hold, computed from the
//! evaluation's dataset with no I/O: the city's year-to-date growth at each month of the year
//! (1—2月 … 1-N月), and the count of 停产 / 半停产 / 减产 enterprises in each month of the window.
//! Both follow the evaluation's own definitions, so that their last point is the figure the
//! snapshot shows for the period.

use serde::Serialize;

use crate::analysis::{
    Dataset, Growth, PCT, State, StateThresholds, UnitResult, VALUE_ADDED_GROWTH,
};
use crate::evaluate::Report;
use crate::period::Period;
use crate::registry::UnitKind;
use crate::rules::{RulesConfig, basis_points};

/// The chart figures of a snapshot (`charts` in snapshot.json).
#[derive(Clone, Debug, Default, Serialize)]
pub struct ChartData {
    /// The city's growth as shown (official where published, else estimated from output) for
    /// each analysed month of the year up to the period.
    pub city_growth: Vec<GrowthPoint>,
    /// The city's annual growth target, percent.
    pub city_target_pct: Option<f64>,
    /// The indicator the city's growth is about (`value_added_growth`, …).
    pub indicator: String,
    /// 停产 / 半停产 / 减产 counts of the above-scale enterprises in each analysed month of the
    /// twelve that end at the period.
    pub states_by_month: Vec<StateCounts>,
}

/// The city's year-to-date growth at one month.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GrowthPoint {
    pub period: String,
    /// `1—2月`, `1—3月`, ….
    pub label: String,
    pub growth_pct: Option<f64>,
    pub estimated: bool,
}

/// The enterprises in each state at one month.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StateCounts {
    pub period: String,
    /// `3月`, or `1—2月` for a combined February.
    pub label: String,
    pub stalled: u32,
    pub semi_stalled: u32,
    pub reduced: u32,
    /// Enterprises whose state could be judged at all (normal included): none when the month's
    /// base a year earlier was not read, and then the counts say nothing.
    pub judged: u32,
}

/// The chart figures of the evaluation of `report.period` over `ds`.
pub fn build(report: &Report, ds: &Dataset, cfg: &RulesConfig) -> ChartData {
    let city = report.units.iter().find(|u| u.kind == UnitKind::City);
    let th = StateThresholds {
        semi_stalled: basis_points(cfg.semi_stalled_ratio),
        reduced: basis_points(cfg.reduced_ratio),
    };
    ChartData {
        city_growth: city.map_or_else(Vec::new, |c| city_growth(ds, c)),
        city_target_pct: city
            .and_then(|c| c.target)
            .map(|t| t.annual_raw as f64 / PCT as f64),
        indicator: city.map_or_else(|| VALUE_ADDED_GROWTH.into(), |c| c.indicator.clone()),
        states_by_month: states_by_month(ds, th),
    }
}

/// The analysed periods of the year up to the period, oldest first.
fn months_of_year(ds: &Dataset) -> Vec<Period> {
    let p = ds.period();
    let mut out = Vec::new();
    let mut t = p;
    while t.year() == p.year() && ds.cal.index(t).is_some() {
        out.push(t);
        t = ds.cal.prev_analysed(t);
    }
    out.reverse();
    out
}

/// The city's growth at each month of the year, as the evaluation computes it for the period:
/// the official figure where the indicator is value added and one is published, else the sum of
/// the year to date over the sum of its base, over the above-scale enterprises that submitted
/// for the month with both complete (同口径).
pub fn city_growth(ds: &Dataset, city: &UnitResult) -> Vec<GrowthPoint> {
    months_of_year(ds)
        .into_iter()
        .filter_map(|t| {
            let i = ds.cal.index(t)?;
            let official = (city.indicator == VALUE_ADDED_GROWTH)
                .then(|| ds.unit_figure(&city.code, t, VALUE_ADDED_GROWTH))
                .flatten();
            let (growth, estimated) = match official {
                Some(v) => (Some(Growth::Official(v.raw())), false),
                None => {
                    let (cur, prev) = ytd_sums(ds, i);
                    (
                        Growth::ratio(cur, prev),
                        city.indicator == VALUE_ADDED_GROWTH,
                    )
                }
            };
            Some(GrowthPoint {
                period: t.to_string(),
                label: t.ytd_label(),
                growth_pct: growth.map(|g| g.pct()),
                estimated: estimated && growth.is_some(),
            })
        })
        .collect()
}

/// Sums of the year to date and its base at window index `i` over the above-scale enterprises
/// that submitted for it with both complete: the city's figures.
fn ytd_sums(ds: &Dataset, i: usize) -> (i64, i64) {
    let (mut cur, mut prev) = (0i64, 0i64);
    for (e, s) in ds.series.iter().enumerate() {
        if !ds.is_above(e) {
            continue;
        }
        if let Some((c, p)) = s.ytd_submitted(&ds.cal, i).zip(s.ytd_prev(&ds.cal, i)) {
            cur += c;
            prev += p;
        }
    }
    (cur, prev)
}

/// 停产 / 半停产 / 减产 counts of the above-scale enterprises in each analysed month of the
/// twelve that end at the period, each judged as the snapshot judges the period itself.
pub fn states_by_month(ds: &Dataset, th: StateThresholds) -> Vec<StateCounts> {
    let p = ds.period();
    let first = p.offset(-11);
    let mut months = Vec::new();
    let mut t = p;
    while t >= first {
        months.push(t);
        t = ds.cal.prev_analysed(t);
    }
    months.reverse();
    let mut counts: Vec<StateCounts> = months
        .iter()
        .map(|t| StateCounts {
            period: t.to_string(),
            label: if ds.cal.is_combined(*t) {
                t.ytd_label()
            } else {
                format!("{}月", t.month())
            },
            stalled: 0,
            semi_stalled: 0,
            reduced: 0,
            judged: 0,
        })
        .collect();
    for e in (0..ds.series.len()).filter(|&e| ds.is_above(e)) {
        for (c, t) in counts.iter_mut().zip(&months) {
            let state = ds.standing_at(e, th, *t).state;
            c.judged += u32::from(state.is_some());
            match state {
                Some(State::Stalled) => c.stalled += 1,
                Some(State::SemiStalled) => c.semi_stalled += 1,
                Some(State::Reduced) => c.reduced += 1,
                Some(State::Normal) | None => {}
            }
        }
    }
    counts
}
