//! `plan.json`: what the generator planted, recomputed from the generated numbers themselves
//! (as they stand after the late file and the revision), with the integer formulas of
//! DESIGN.md "Rules", so that a test can check that the pipeline finds exactly this.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::GenSpec;
use super::city::{self, UNITS};
use super::enterprise::{Arrival, Month, Profile, Role};
use super::projects::ProjectPlan;
use crate::amount::Amount;
use crate::period::Period;

/// Up to this many above-scale enterprises the plan lists enterprises one by one; above it
/// (benchmark provinces) it keeps only the counts, so that memory stays flat.
pub const DETAIL_LIMIT: usize = 5_000;
/// The 规上 revenue threshold, 万元.
pub const THRESHOLD: i64 = 2_000;

/// What the generator planted.
#[derive(Debug, Default, serde::Serialize)]
pub struct Plan {
    pub seed: u64,
    pub enterprises: usize,
    pub below_scale: usize,
    pub months_from: String,
    pub months_to: String,
    /// Whether the lists below are complete (at most [`DETAIL_LIMIT`] enterprises).
    pub detailed: bool,
    /// Share of the 100 largest above-scale enterprises in their output over all rows, %.
    pub top100_share_pct: f64,
    /// Enterprise states in the last period, above-scale enterprises.
    pub states: StateCounts,
    /// The same for below-scale enterprises (the cultivation pool), for completeness.
    pub states_below_scale: StateCounts,
    /// Output ytd growth per unit in the last period, over enterprises that reported both
    /// this period and the same month last year (同口径), against the target for the period.
    pub units: Vec<UnitGrowth>,
    pub lagging_units: Vec<String>,
    pub missing_count: usize,
    pub late_count: usize,
    /// Rows that never arrive.
    pub missing: Vec<Slot>,
    /// Rows of the last period that arrive after the deadline, in the `-late` file.
    pub late: Vec<Slot>,
    pub revision: Option<Revision>,
    pub maintenance: Option<Planted>,
    pub divergence: Option<Planted>,
    /// Every enterprise whose output yoy growth exceeds its electricity yoy growth by > 30 pp
    /// in the last period (bases > 0; no electricity floor applied).
    pub divergent: Vec<String>,
    pub divergent_count: usize,
    /// Below-scale, annualised revenue ytd ≥ threshold in the last period (升规 candidates).
    pub upgrade_candidates: Vec<String>,
    pub upgrade_candidate_count: usize,
    /// Above-scale, annualised revenue ytd < 1.1 × threshold (退库风险).
    pub exit_risk_count: usize,
    pub projects: ProjectPlan,
}

/// Counts of 停产 / 半停产 / 减产 in one period, with the streaks behind them.
#[derive(Debug, Default, serde::Serialize)]
pub struct StateCounts {
    pub period: String,
    pub stalled: usize,
    pub semi_stalled: usize,
    pub reduced: usize,
    /// In one of the three states for 3 months in a row or more, ending at the period. Each
    /// month is compared with the same month a year earlier (January and February are not
    /// combined here); a month without both rows ends the streak.
    pub consecutive_3_plus: usize,
    /// In a state the month before, in none now.
    pub recovered: usize,
    pub list: Vec<EnterpriseState>,
}

#[derive(Debug, serde::Serialize)]
pub struct EnterpriseState {
    pub credit_code: String,
    pub state: &'static str,
    pub consecutive: u32,
    pub output: String,
    pub base: String,
}

#[derive(Debug, serde::Serialize)]
pub struct UnitGrowth {
    pub code: &'static str,
    pub name: &'static str,
    pub kind: &'static str,
    pub ytd: String,
    pub ytd_prev: String,
    pub growth_pct: f64,
    pub target_pct: String,
    pub lagging: bool,
}

#[derive(Debug, serde::Serialize)]
pub struct Slot {
    pub credit_code: String,
    pub period: String,
}

#[derive(Debug, serde::Serialize)]
pub struct Revision {
    pub credit_code: String,
    pub period: String,
    pub file: String,
    pub output_sent: String,
    pub output_revised: String,
}

/// A planted enterprise and the figures that make it what it is.
#[derive(Debug, serde::Serialize)]
pub struct Planted {
    pub credit_code: String,
    pub name: String,
    pub periods: Vec<String>,
    pub output: String,
    pub output_base: String,
    pub electricity: String,
    pub electricity_base: String,
}

/// The state of month output `v` against base `b` (DESIGN.md "Rules"), exactly.
pub fn state(v: i64, b: i64) -> Option<&'static str> {
    if b <= 0 {
        None
    } else if v == 0 {
        Some("stalled")
    } else if 2 * v < b {
        Some("semi_stalled")
    } else if 10 * v < 9 * b {
        Some("reduced")
    } else {
        None
    }
}

/// The state of month `p` as the rules settle it (`analysis::series`, DESIGN.md, Rules): a zero
/// on a zero base is 停产 when the month before it is (a stall outlives its own zero base; a
/// plant stopped last October and this October too), else no state. `outputs` gives a month's
/// output and its base, none without both.
pub fn settled(outputs: &impl Fn(Period) -> Option<(i64, i64)>, p: Period) -> Option<&'static str> {
    let (mut t, mut zeros) = (p, 0u32);
    loop {
        let (v, b) = outputs(t)?;
        if v == 0 && b == 0 {
            zeros += 1;
            t = t.prev();
            continue;
        }
        let s = state(v, b);
        return if zeros > 0 && s != Some("stalled") {
            None
        } else {
            s
        };
    }
}

/// Target for a unit in a period: its milestone for that month if any, else the annual one.
pub fn target_for(unit: usize, month: u32) -> f64 {
    let t = UNITS[unit].target;
    match month {
        3 => t + 1.0,
        6 => t + 0.5,
        _ => t,
    }
}

/// The month `p` of an enterprise whose months run `first..=last`, if its row arrives.
fn arrived(months: &[Month], first: Period, last: Period, p: Period) -> Option<&Month> {
    if p < first || p > last {
        return None;
    }
    let i = (p.year() - first.year()) * 12 + p.month() as i32 - first.month() as i32;
    months
        .get(i as usize)
        .filter(|m| m.arrival != Arrival::Never)
}

/// Builds the plan while the enterprises stream past.
pub struct PlanBuilder {
    plan: Plan,
    first: Period,
    last: Period,
    top: BinaryHeap<Reverse<i64>>,
    total_output: i128,
    /// Per unit and month of the last year: (ytd, ytd_prev) over 同口径 enterprises.
    pub ytd: Vec<Vec<(i128, i128)>>,
}

impl PlanBuilder {
    pub fn new(spec: &GenSpec) -> PlanBuilder {
        PlanBuilder {
            plan: Plan {
                seed: spec.seed,
                enterprises: spec.enterprises,
                below_scale: spec.below_scale,
                months_from: spec.months_from.to_string(),
                months_to: spec.months_to.to_string(),
                detailed: spec.enterprises <= DETAIL_LIMIT,
                states: StateCounts {
                    period: spec.months_to.to_string(),
                    ..StateCounts::default()
                },
                states_below_scale: StateCounts {
                    period: spec.months_to.to_string(),
                    ..StateCounts::default()
                },
                ..Plan::default()
            },
            first: spec.months_from,
            last: spec.months_to,
            top: BinaryHeap::new(),
            total_output: 0,
            ytd: vec![vec![(0, 0); spec.months_to.month() as usize]; UNITS.len()],
        }
    }

    /// Adds one enterprise with its true (final) months.
    pub fn add(&mut self, e: &Profile, months: &[Month]) {
        let detailed = self.plan.detailed;
        let code = e.credit_code.to_string();
        let slot = |p: Period| Slot {
            credit_code: code.clone(),
            period: p.to_string(),
        };
        for m in months {
            match m.arrival {
                Arrival::Never => {
                    self.plan.missing_count += 1;
                    if detailed {
                        self.plan.missing.push(slot(m.period));
                    }
                }
                Arrival::Late => {
                    self.plan.late_count += 1;
                    if detailed {
                        self.plan.late.push(slot(m.period));
                    }
                }
                Arrival::OnTime => {}
            }
        }
        let (first, last) = (self.first, self.last);
        let at = |p: Period| arrived(months, first, last, p);
        let base_of = |p: Period| Some((at(p)?, at(p.year_ago())?));
        let outputs = |p: Period| base_of(p).map(|(m, b)| (m.figures.output, b.figures.output));
        let state_at = |p: Period| settled(&outputs, p);
        let counts = if e.above {
            &mut self.plan.states
        } else {
            &mut self.plan.states_below_scale
        };
        if let Some((m, b)) = base_of(last) {
            match state_at(last) {
                Some(s) => {
                    let mut streak = 0u32;
                    let mut p = last;
                    while state_at(p).is_some() {
                        streak += 1;
                        p = p.prev();
                    }
                    match s {
                        "stalled" => counts.stalled += 1,
                        "semi_stalled" => counts.semi_stalled += 1,
                        _ => counts.reduced += 1,
                    }
                    counts.consecutive_3_plus += usize::from(streak >= 3);
                    if detailed {
                        counts.list.push(EnterpriseState {
                            credit_code: code.clone(),
                            state: s,
                            consecutive: streak,
                            output: Amount(m.figures.output).to_string(),
                            base: Amount(b.figures.output).to_string(),
                        });
                    }
                }
                None => counts.recovered += usize::from(state_at(last.prev()).is_some()),
            }
            let (f, fb) = (m.figures, b.figures);
            let (v, vb, el, eb) = (
                i128::from(f.output),
                i128::from(fb.output),
                i128::from(f.electricity),
                i128::from(fb.electricity),
            );
            if vb > 0 && eb > 0 && 10 * (v * eb - el * vb) > 3 * vb * eb {
                self.plan.divergent_count += 1;
                if detailed {
                    self.plan.divergent.push(code.clone());
                }
            }
            if matches!(e.role, Role::Maintenance | Role::Divergence) {
                let planted = Planted {
                    credit_code: code.clone(),
                    name: e.name.clone(),
                    periods: match e.episode {
                        Some(ep) if e.role == Role::Maintenance => (ep.first..=ep.last)
                            .filter_map(|mo| Period::new(last.year(), mo))
                            .map(|p| p.to_string())
                            .collect(),
                        _ => vec![last.to_string()],
                    },
                    output: Amount(f.output).to_string(),
                    output_base: Amount(fb.output).to_string(),
                    electricity: Amount(f.electricity).to_string(),
                    electricity_base: Amount(fb.electricity).to_string(),
                };
                match e.role {
                    Role::Maintenance => self.plan.maintenance = Some(planted),
                    _ => self.plan.divergence = Some(planted),
                }
            }
        }
        if let Some(m) = at(last) {
            let annualised = i128::from(m.figures.revenue_ytd) * 12;
            let threshold = i128::from(THRESHOLD * 10_000) * i128::from(last.month());
            if e.above && annualised * 10 < threshold * 11 {
                self.plan.exit_risk_count += 1;
            }
            if !e.above && annualised >= threshold {
                self.plan.upgrade_candidate_count += 1;
                if detailed {
                    self.plan.upgrade_candidates.push(code.clone());
                }
            }
        }
        if e.above {
            self.add_growth(e, months);
        }
    }

    /// Adds an above-scale enterprise to the top-100 share and the units' ytd sums.
    pub fn add_growth(&mut self, e: &Profile, months: &[Month]) {
        let (first, last) = (self.first, self.last);
        let at = |p: Period| arrived(months, first, last, p);
        let base_of = |p: Period| Some((at(p)?, at(p.year_ago())?));
        let sum: i64 = months
            .iter()
            .filter(|m| m.arrival != Arrival::Never)
            .map(|m| m.figures.output)
            .sum();
        self.total_output += i128::from(sum);
        self.top.push(Reverse(sum));
        if self.top.len() > 100 {
            self.top.pop();
        }
        for month in 1..=last.month() {
            let Some((m, b)) = Period::new(last.year(), month).and_then(base_of) else {
                continue;
            };
            let mut add = |u: usize| {
                let cell = &mut self.ytd[u][month as usize - 1];
                cell.0 += i128::from(m.figures.output_ytd);
                cell.1 += i128::from(b.figures.output_ytd);
            };
            add(city::CITY);
            add(e.unit);
            if let Some(z) = e.zone {
                add(z);
            }
        }
    }

    /// Growth in percent of a unit's ytd in a month of the last year, if it has a base.
    pub fn growth_pct(&self, unit: usize, month: u32) -> Option<f64> {
        let (c, p) = self.ytd[unit][month as usize - 1];
        (p > 0).then(|| (c as f64 / p as f64 - 1.0) * 100.0)
    }

    pub fn finish(mut self, projects: ProjectPlan, revision: Option<Revision>) -> Plan {
        let m = self.last.month();
        for (i, u) in UNITS.iter().enumerate() {
            let (c, p) = self.ytd[i][m as usize - 1];
            let target = target_for(i, m);
            // growth < target ⇔ 1000·c < (1000 + 10·target)·p, target having one decimal.
            let t10 = (target * 10.0).round() as i128;
            let lagging = p > 0 && 1000 * c < (1000 + t10) * p;
            if lagging {
                self.plan.lagging_units.push(u.code.to_string());
            }
            self.plan.units.push(UnitGrowth {
                code: u.code,
                name: u.name,
                kind: u.kind,
                ytd: Amount(c as i64).to_string(),
                ytd_prev: Amount(p as i64).to_string(),
                growth_pct: self.growth_pct(i, m).unwrap_or(0.0),
                target_pct: format!("{target:.1}"),
                lagging,
            });
        }
        let top: i128 = self.top.iter().map(|Reverse(x)| i128::from(*x)).sum();
        if self.total_output > 0 {
            self.plan.top100_share_pct = top as f64 / self.total_output as f64 * 100.0;
        }
        self.plan.projects = projects;
        self.plan.revision = revision;
        self.plan
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_follow_the_rules_exactly() {
        assert_eq!(state(0, 100), Some("stalled"));
        assert_eq!(state(0, 0), None);
        assert_eq!(state(49, 100), Some("semi_stalled"));
        assert_eq!(state(50, 100), Some("reduced"));
        assert_eq!(state(89, 100), Some("reduced"));
        // Exactly 90% of the base is not reduced.
        assert_eq!(state(90, 100), None);
        // Zeros on zero bases take the state of the month before them.
        let months = |outputs: Vec<(i64, i64)>| {
            move |p: Period| {
                let i = usize::try_from(p.ordinal() - Period::new(2026, 1)?.ordinal()).ok()?;
                outputs.get(i).copied()
            }
        };
        let p = |m| Period::new(2026, m).unwrap();
        let stalled_then_zero = months(vec![(0, 100), (0, 0), (0, 0)]);
        assert_eq!(settled(&stalled_then_zero, p(3)), Some("stalled"));
        let reduced_then_zero = months(vec![(80, 100), (0, 0)]);
        assert_eq!(settled(&reduced_then_zero, p(2)), None);
        assert_eq!(settled(&reduced_then_zero, p(1)), Some("reduced"));
        let only_zeros = months(vec![(0, 0), (0, 0)]);
        assert_eq!(settled(&only_zeros, p(2)), None);
    }
}
