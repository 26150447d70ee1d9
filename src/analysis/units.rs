//! Unit figures: growth of each unit's enterprises against the same enterprises a year earlier,
//! the target for the period, rank, required growth, submission rate and pulls.

use crate::period::Period;
use crate::registry::{TargetKind, UnitKind};

use super::{Dataset, Growth, VALUE_ADDED_GROWTH, formulas};

/// Whether a target is checked against the year to date or the month's own growth (`m10:`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Basis {
    Ytd,
    Month,
}

/// The target that applies to a unit in a period.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TargetCheck {
    /// Ten-thousandths of a percent.
    pub pct_raw: i64,
    pub annual_raw: i64,
    pub basis: Basis,
    /// Whether a milestone (开门红/双过半) rather than the annual target.
    pub milestone: bool,
}

/// A volume target's completion (e.g. 工业投资) against time progress.
#[derive(Clone, Debug, PartialEq)]
pub struct VolumeProgress {
    pub indicator: String,
    pub ytd: i64,
    pub annual: i64,
    pub progress_pct: f64,
    pub time_pct: f64,
}

/// The sums of the required growth (DESIGN.md: Y, C and Pp) over the enterprises counted in
/// the growth whose last full year is complete too (nearly always all of them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RequiredBasis {
    pub full_year_prev: i64,
    pub ytd: i64,
    pub ytd_prev: i64,
    pub counted: u32,
}

/// Everything evaluated for one unit in the period.
#[derive(Clone, Debug)]
pub struct UnitResult {
    pub index: usize,
    pub code: String,
    pub name: String,
    pub kind: UnitKind,
    /// The indicator the growth and the target are about.
    pub indicator: String,
    /// Output sums over the enterprises counted (those with a complete year to date and a
    /// complete base, 同口径), ten-thousandths of 万元.
    pub ytd: i64,
    pub ytd_prev: i64,
    pub required: RequiredBasis,
    /// Growth as shown: the official figure where published, else estimated from output.
    pub growth: Option<Growth>,
    pub estimated: bool,
    /// The month's own growth (当月增速) of the enterprises' output.
    pub month_growth: Option<Growth>,
    pub target: Option<TargetCheck>,
    pub gap_pp: Option<f64>,
    /// 1 = fastest among units of the same kind; the city has none.
    pub rank: Option<u32>,
    pub required_pct: Option<f64>,
    pub expected: u32,
    pub reported: u32,
    pub counted: u32,
    /// Enterprises that reported the period but are left out of the year-to-date comparison:
    /// no complete year to date or no complete base a year earlier.
    pub excluded: u32,
    /// The same for the month's own growth: reported, but no month value or no base.
    pub month_excluded: u32,
    pub growing: u32,
    pub declining: u32,
    /// Analysed periods in a row, ending at P, below the target (within the year).
    pub below_target_streak: u32,
    pub volumes: Vec<VolumeProgress>,
    /// The unit's key projects by status, plan and investment so far.
    pub projects: super::ProjectCounts,
}

impl UnitResult {
    /// Reported share of the expected above-scale enterprises, in percent.
    pub fn submission_rate(&self) -> Option<f64> {
        (self.expected > 0).then(|| self.reported as f64 / self.expected as f64 * 100.0)
    }

    /// The growth the target is checked against (ytd, or the month's for an `m` milestone).
    pub fn compared_growth(&self) -> Option<Growth> {
        match self.target.map(|t| t.basis) {
            Some(Basis::Month) => self.month_growth,
            _ => self.growth,
        }
    }

    /// The gap as printed (差距): the growth as shown minus the target as shown, one decimal
    /// each (四舍五入), so that "增长5.8%，低于目标1.2个百分点（目标7.0%）" adds up. A multiple of
    /// 0.1; `gap_pp` is the exact figure.
    pub fn shown_gap_pp(&self) -> Option<f64> {
        let (g, t) = (self.compared_growth()?, self.target?);
        let rounded = super::rounding::rounded;
        let target = rounded(t.pct_raw as f64 / super::PCT as f64, 1);
        Some((rounded(g.pct(), 1) - target) as f64 / 10.0)
    }

    /// Whether the unit is below its target for the period.
    pub fn below_target(&self) -> bool {
        match (self.compared_growth(), self.target) {
            (Some(g), Some(t)) => g.cmp_raw(t.pct_raw).is_lt(),
            _ => false,
        }
    }
}

/// Sums over the enterprises of each unit for one period.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Sums {
    pub(super) cur: i64,
    pub(super) prev: i64,
    pub(super) month: i64,
    pub(super) month_base: i64,
    counted: u32,
    excluded: u32,
    month_excluded: u32,
}

/// Per-unit sums of ytd and ytd_prev over the enterprises that have both, complete, for window
/// index `i`, with the count of those that reported but are left out.
pub(super) fn sums_at(
    ds: &Dataset,
    members: &[Vec<usize>],
    i: usize,
    with_month: bool,
) -> Vec<Sums> {
    let mut out = vec![Sums::default(); ds.units.len()];
    for (e, s) in ds.series.iter().enumerate() {
        if !ds.is_above(e) {
            continue;
        }
        let both = s.ytd_submitted(&ds.cal, i).zip(s.ytd_prev(&ds.cal, i));
        let present = s.is_present(i);
        let month = if with_month && present {
            s.month_value(&ds.cal, i).zip(s.month_base(&ds.cal, i))
        } else {
            None
        };
        for &u in &members[e] {
            let o = &mut out[u];
            if let Some((c, p)) = both {
                o.cur += c;
                o.prev += p;
                o.counted += 1;
            } else if present {
                o.excluded += 1;
            }
            if let Some((v, b)) = month {
                o.month += v;
                o.month_base += b;
            } else if present && with_month {
                o.month_excluded += 1;
            }
        }
    }
    out
}

/// The growth target of a unit in a year that evaluation follows: `value_added_growth` where set,
/// else the first growth target by indicator name.
fn growth_target<'a>(ds: &'a Dataset, unit: &str) -> Option<&'a crate::registry::Target> {
    let mut ts: Vec<_> = ds
        .targets
        .iter()
        .filter(|t| t.unit_code == unit && t.kind == TargetKind::Growth)
        .collect();
    ts.sort_by_key(|t| (t.indicator != VALUE_ADDED_GROWTH, t.indicator.clone()));
    ts.into_iter().next()
}

/// The target for period `t`: a milestone for that month if set, else the annual target.
fn target_for(t: &crate::registry::Target, period: Period) -> TargetCheck {
    let m = period.month();
    let annual = TargetCheck {
        pct_raw: t.annual.raw(),
        annual_raw: t.annual.raw(),
        basis: Basis::Ytd,
        milestone: false,
    };
    if let Some(ms) = t.milestones.iter().find(|ms| ms.month == m && ms.monthly) {
        return TargetCheck {
            pct_raw: ms.value.raw(),
            basis: Basis::Month,
            milestone: true,
            ..annual
        };
    }
    match t.milestones.iter().find(|ms| ms.month == m && !ms.monthly) {
        Some(ms) => TargetCheck {
            pct_raw: ms.value.raw(),
            milestone: true,
            ..annual
        },
        None => annual,
    }
}

/// Growth as shown for a unit: official where the indicator is value-added and a figure is
/// published, else the output ratio (estimated when the indicator is value-added).
pub(super) fn shown_growth(
    ds: &Dataset,
    unit: &str,
    indicator: &str,
    t: Period,
    s: &Sums,
) -> (Option<Growth>, bool) {
    if indicator == VALUE_ADDED_GROWTH {
        if let Some(v) = ds.unit_figure(unit, t, VALUE_ADDED_GROWTH) {
            return (Some(Growth::Official(v.raw())), false);
        }
        return (Growth::ratio(s.cur, s.prev), true);
    }
    (Growth::ratio(s.cur, s.prev), false)
}

/// Evaluates every unit for the dataset's period.
pub fn evaluate_units(ds: &Dataset) -> Vec<UnitResult> {
    let members = ds.memberships();
    let now = sums_at(ds, &members, super::WINDOW - 1, true);
    let mut results: Vec<UnitResult> = ds
        .units
        .iter()
        .enumerate()
        .map(|(u, unit)| unit_result(ds, u, unit, &now[u]))
        .collect();
    let projects = super::projects::unit_counts(ds, &super::evaluate_projects(ds));
    for (r, c) in results.iter_mut().zip(projects) {
        r.projects = c;
    }
    count_enterprises(ds, &members, &mut results);
    for r in &mut results {
        gap_and_required(r, ds.period());
        r.volumes = volumes(ds, &r.code);
    }
    below_target_streaks(ds, &members, now, &mut results);
    rank(&mut results);
    results
}

/// A unit's growth and target in the period, from its sums; the rest is filled in after.
fn unit_result(ds: &Dataset, u: usize, unit: &crate::registry::Unit, now: &Sums) -> UnitResult {
    let p = ds.period();
    let target = growth_target(ds, &unit.code);
    let indicator = target.map_or(VALUE_ADDED_GROWTH.to_string(), |t| t.indicator.clone());
    let (growth, estimated) = shown_growth(ds, &unit.code, &indicator, p, now);
    UnitResult {
        index: u,
        code: unit.code.clone(),
        name: unit.name.clone(),
        kind: unit.kind,
        indicator,
        ytd: now.cur,
        ytd_prev: now.prev,
        required: RequiredBasis::default(),
        growth,
        estimated,
        month_growth: Growth::ratio(now.month, now.month_base),
        target: target.map(|t| target_for(t, p)),
        gap_pp: None,
        rank: None,
        required_pct: None,
        expected: 0,
        reported: 0,
        counted: now.counted,
        excluded: now.excluded,
        month_excluded: now.month_excluded,
        growing: 0,
        declining: 0,
        below_target_streak: 0,
        volumes: Vec::new(),
        projects: super::ProjectCounts::default(),
    }
}

/// Enterprise counts, shares (增长面/下降面) and the sums of the required growth.
fn count_enterprises(ds: &Dataset, members: &[Vec<usize>], results: &mut [UnitResult]) {
    let cal = ds.cal;
    let last = super::WINDOW - 1;
    for (e, s) in ds.series.iter().enumerate() {
        if !ds.is_above(e) {
            continue;
        }
        let both = s.ytd_submitted(&cal, last).zip(s.ytd_prev(&cal, last));
        let full_year = both.and_then(|b| Some((b, s.full_year_prev(&cal, last)?)));
        for &u in &members[e] {
            let r = &mut results[u];
            r.expected += 1;
            r.reported += u32::from(s.is_present(last));
            if let Some((c, pv)) = both {
                r.growing += u32::from(c > pv);
                r.declining += u32::from(c < pv);
            }
            if let Some(((c, pv), y)) = full_year {
                let q = &mut r.required;
                q.full_year_prev += y;
                q.ytd += c;
                q.ytd_prev += pv;
                q.counted += 1;
            }
        }
    }
}

/// The gap to the target and the growth required over the remaining months (none in December).
fn gap_and_required(r: &mut UnitResult, p: Period) {
    if let (Some(g), Some(t)) = (r.compared_growth(), r.target) {
        r.gap_pp = Some(formulas::gap_pp(g, t.pct_raw));
    }
    if let Some(t) = r.target {
        r.required_pct = formulas::required_growth(r.required, t.annual_raw, p.month());
    }
}

/// The unit's volume targets with an official figure for the period, against time progress.
fn volumes(ds: &Dataset, unit: &str) -> Vec<VolumeProgress> {
    let p = ds.period();
    let mut out = Vec::new();
    for t in ds
        .targets
        .iter()
        .filter(|t| t.unit_code == unit && t.kind == TargetKind::Volume)
    {
        if let Some(v) = ds.unit_figure(unit, p, &t.indicator) {
            let annual = t.annual.raw();
            out.push(VolumeProgress {
                indicator: t.indicator.clone(),
                ytd: v.raw(),
                annual,
                progress_pct: if annual > 0 {
                    v.raw() as f64 / annual as f64 * 100.0
                } else {
                    0.0
                },
                time_pct: p.month() as f64 / 12.0 * 100.0,
            });
        }
    }
    out
}

/// Below-target streak: the analysed periods of this year, going back from P, as long as the
/// unit stayed below the target of each (`now`: the sums of P).
fn below_target_streaks(
    ds: &Dataset,
    members: &[Vec<usize>],
    now: Vec<Sums>,
    results: &mut [UnitResult],
) {
    let (cal, p) = (ds.cal, ds.period());
    let mut still = vec![true; results.len()];
    let mut t = p;
    let mut sums = now;
    while t.year() == p.year() {
        let Some(i) = cal.index(t) else { break };
        if !still.iter().any(|s| *s) {
            break;
        }
        if t != p {
            sums = sums_at(ds, members, i, true);
        }
        for r in results.iter_mut() {
            if !still[r.index] {
                continue;
            }
            if below_target_at(ds, r, t, &sums[r.index]) {
                r.below_target_streak += 1;
            } else {
                still[r.index] = false;
            }
        }
        t = cal.prev_analysed(t);
    }
}

/// Whether the unit was below the target of period `t`, given its sums for `t`.
fn below_target_at(ds: &Dataset, r: &UnitResult, t: Period, s: &Sums) -> bool {
    let Some(target) = growth_target(ds, &r.code) else {
        return false;
    };
    let check = target_for(target, t);
    let g = match check.basis {
        Basis::Month => Growth::ratio(s.month, s.month_base),
        Basis::Ytd => shown_growth(ds, &r.code, &r.indicator, t, s).0,
    };
    g.is_some_and(|g| g.cmp_raw(check.pct_raw).is_lt())
}

/// Rank within kind by growth as shown (DESIGN.md, Rules: `rank`, 1 = fastest), see
/// [`competition_ranks`].
fn rank(results: &mut [UnitResult]) {
    let growth: Vec<Option<Growth>> = results.iter().map(|r| r.growth).collect();
    let kinds: Vec<UnitKind> = results.iter().map(|r| r.kind).collect();
    for (r, k) in results.iter_mut().zip(competition_ranks(&kinds, &growth)) {
        r.rank = k;
    }
}

/// Ranks of districts among districts and zones among zones (the city has none), by growth as
/// shown — one decimal, 四舍五入 — fastest first. Standard competition ranking, the way a
/// 比学赶超 table is read: units that show the same growth share a rank (并列), and the next
/// rank is skipped (5.9, 5.8, 5.8, 5.1 → 1, 2, 2, 4). A unit without growth has no rank.
pub fn competition_ranks(kinds: &[UnitKind], growth: &[Option<Growth>]) -> Vec<Option<u32>> {
    let shown: Vec<Option<i64>> = growth
        .iter()
        .map(|g| g.map(|g| super::rounding::rounded(g.pct(), 1)))
        .collect();
    let mut out = vec![None; growth.len()];
    for kind in [UnitKind::District, UnitKind::Zone] {
        for (i, s) in shown.iter().enumerate() {
            if kinds[i] != kind {
                continue;
            }
            if let Some(s) = s {
                let faster = (0..shown.len())
                    .filter(|&j| kinds[j] == kind && shown[j].is_some_and(|o| o > *s))
                    .count();
                out[i] = Some(faster as u32 + 1);
            }
        }
    }
    out
}

/// Each counted enterprise's pull (拉动, percentage points) on the unit ([`formulas::pull`]).
/// Returned as (enterprise index, pull), in enterprise order; they add up to the unit's growth.
pub fn pulls(ds: &Dataset, members: &[Vec<usize>], unit: &UnitResult) -> Vec<(usize, f64)> {
    let last = super::WINDOW - 1;
    if unit.ytd_prev <= 0 {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (e, s) in ds.series.iter().enumerate() {
        if !ds.is_above(e) || !members[e].contains(&unit.index) {
            continue;
        }
        if let Some((c, p)) = s
            .ytd_submitted(&ds.cal, last)
            .zip(s.ytd_prev(&ds.cal, last))
        {
            out.push((e, formulas::pull(c, p, unit.ytd_prev)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_growth_as_shown_shares_a_rank_and_the_next_is_skipped() {
        use UnitKind::{City, District, Zone};
        let kinds = [District, District, District, District, Zone, Zone, City];
        let growth = [
            Growth::ratio(105_900, 100_000),
            // 5.75% exactly shows 5.8, as does the official 5.8: 并列第2.
            Growth::ratio(105_750, 100_000),
            Some(Growth::Official(58_000)),
            Some(Growth::Official(51_000)),
            Some(Growth::Official(-30_000)),
            None,
            Some(Growth::Official(99_000)),
        ];
        assert_eq!(
            competition_ranks(&kinds, &growth),
            [Some(1), Some(2), Some(2), Some(4), Some(1), None, None]
        );
        // 5.74% shows 5.7: no tie with 5.8. −1.25% shows −1.3 (half away from zero), tied with
        // −1.3.
        let growth = [
            Growth::ratio(105_740, 100_000),
            Some(Growth::Official(58_000)),
            Some(Growth::Official(-12_500)),
            Some(Growth::Official(-13_000)),
        ];
        assert_eq!(
            competition_ranks(&kinds[..4], &growth),
            [Some(2), Some(1), Some(3), Some(3)]
        );
    }
}
