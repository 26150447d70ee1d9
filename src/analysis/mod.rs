//! Analysis: pure functions over one period's data, no I/O. They compute, for the city, every
//! district and every zone: the year to date against the same enterprises a year earlier
//! (同口径), growth, the target for the period and the gap to it, rank, the growth still
//! required over the rest of the year, submission rate, 增长面/下降面, and each enterprise's pull
//! (拉动). The same data gives the same result on either database.

mod change;
pub mod formulas;
pub mod projects;
pub mod rounding;
mod series;
mod units;
pub mod window;

use std::collections::HashMap;

pub use change::{Previous, UnitPrevious, previous};
pub use formulas::{Growth, PCT};
pub use projects::{ProgressReport, ProjectCounts, ProjectResult, evaluate_projects};
pub use series::{
    Calendar, History, NONE, OtherYtd, Series, Standing, State, StateThresholds, WINDOW, YtdFigure,
};
pub use units::{
    Basis, RequiredBasis, TargetCheck, UnitResult, VolumeProgress, competition_ranks,
    evaluate_units, pulls,
};

use crate::amount::Amount;
use crate::period::Period;
use crate::registry::{Enterprise, Project, Scale, Target, Unit, UnitKind};

/// The official unit-level growth figure that targets usually name.
pub const VALUE_ADDED_GROWTH: &str = "value_added_growth";

/// Everything an evaluation of one period reads, loaded once from the store.
#[derive(Clone, Debug)]
pub struct Dataset {
    pub cal: Calendar,
    pub units: Vec<Unit>,
    /// Registry rows, parallel to `series`.
    pub enterprises: Vec<Enterprise>,
    pub series: Vec<Series>,
    /// Older windows of the enterprises whose streak reaches back past `series`: `earlier[e][k]`
    /// ends 12·(k+1) months before the period (see [`History`]).
    pub earlier: HashMap<usize, Vec<Series>>,
    /// Targets of the evaluated year.
    pub targets: Vec<Target>,
    /// Official unit-level figures of the evaluated year: (unit, period, indicator) → value.
    pub unit_figures: HashMap<(String, Period, String), Amount>,
    /// The newest import run among the submissions read (数据版本).
    pub vintage: i64,
    /// Key projects as registered.
    pub projects: Vec<Project>,
    /// Each project's progress reports up to the period, oldest first (parallel to `projects`).
    pub progress: Vec<Vec<ProgressReport>>,
}

impl Dataset {
    /// The period evaluated.
    pub fn period(&self) -> Period {
        self.cal.period
    }

    /// The index of the city unit in `units`, if the registry has one.
    pub fn city(&self) -> Option<usize> {
        self.units.iter().position(|u| u.kind == UnitKind::City)
    }

    /// For each enterprise, the units it counts in: the unit it reports under, its zone, and the
    /// city (each once).
    pub fn memberships(&self) -> Vec<Vec<usize>> {
        let by_code: HashMap<&str, usize> = self
            .units
            .iter()
            .enumerate()
            .map(|(i, u)| (u.code.as_str(), i))
            .collect();
        let city = self.city();
        self.enterprises
            .iter()
            .map(|e| {
                let mut m = Vec::with_capacity(3);
                for code in [Some(e.unit_code.as_str()), e.zone_code.as_deref()]
                    .into_iter()
                    .flatten()
                {
                    if let Some(&i) = by_code.get(code)
                        && !m.contains(&i)
                        && Some(i) != city
                    {
                        m.push(i);
                    }
                }
                if let Some(c) = city {
                    m.push(c);
                }
                m
            })
            .collect()
    }

    /// Enterprise `e`'s state in the analysed period `t` of the window and the streak ending
    /// there, counted back through the older windows read for it.
    pub fn standing_at(&self, e: usize, th: StateThresholds, t: Period) -> Standing {
        let window = &self.series[e];
        // The window alone settles nearly every enterprise, without a look-up.
        let near = History {
            window,
            earlier: &[],
        }
        .standing(&self.cal, th, t);
        match self.earlier.get(&e) {
            Some(earlier) if near.reaches_edge => {
                History { window, earlier }.standing(&self.cal, th, t)
            }
            _ => near,
        }
    }

    /// Enterprise `e`'s state in the evaluated period and its streak.
    pub fn standing(&self, e: usize, th: StateThresholds) -> Standing {
        self.standing_at(e, th, self.cal.period)
    }

    /// Whether an enterprise is counted in the above-scale statistics.
    pub fn is_above(&self, e: usize) -> bool {
        self.enterprises[e].scale == Scale::Above
    }

    /// The official figure of a unit for a period, if published.
    pub fn unit_figure(&self, unit: &str, t: Period, indicator: &str) -> Option<Amount> {
        self.unit_figures
            .get(&(unit.to_string(), t, indicator.to_string()))
            .copied()
    }
}

/// Formats ten-thousandths of 万元 as 万元 with one decimal and thousands separators (1,234.5).
pub fn fmt_wan(raw: i64) -> String {
    let tenths = (raw as i128 * 10 + if raw >= 0 { 5_000 } else { -5_000 }) / 10_000;
    let neg = tenths < 0;
    let tenths = tenths.unsigned_abs();
    let int = (tenths / 10).to_string();
    let mut grouped = String::new();
    for (k, c) in int.chars().enumerate() {
        if k > 0 && (int.len() - k).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{}{grouped}.{}", if neg { "-" } else { "" }, tenths % 10)
}

/// Formats a percentage with one decimal, rounded half away from zero (四舍五入, see
/// [`rounding`]), the way reports print growth (5.8%, −3.3% for −3.25).
pub fn fmt_pct(p: f64) -> String {
    format!("{}%", rounding::fixed(p, 1))
}

#[cfg(test)]
mod tests {
    use std::cmp::Ordering;

    use super::*;

    #[test]
    fn growth_compares_exactly_at_the_threshold() {
        let g = Growth::ratio(107, 100).unwrap();
        assert_eq!(g.cmp_raw(7 * PCT), Ordering::Equal);
        assert_eq!(g.cmp_raw(7 * PCT + 1), Ordering::Less);
        assert_eq!(Growth::Official(58_000).cmp_raw(70_000), Ordering::Less);
        assert!(Growth::ratio(5, 0).is_none());
    }

    #[test]
    fn amounts_print_like_reports() {
        assert_eq!(fmt_wan(123_456_789), "12,345.7");
        assert_eq!(fmt_wan(0), "0.0");
        assert_eq!(fmt_wan(-15_000), "-1.5");
        // 四舍五入 (half away from zero); this asserted the half-to-even "−3.2%" before.
        assert_eq!(fmt_pct(-3.25), "−3.3%");
        assert_eq!(fmt_pct(3.25), "3.3%");
        assert_eq!(fmt_pct(0.05), "0.1%");
        assert_eq!(fmt_pct(-0.04), "0.0%");
        assert_eq!(fmt_wan(15_000), "1.5");
        assert_eq!(fmt_wan(-150_500), "-15.1");
        assert_eq!(fmt_wan(149_999), "15.0");
    }
}
