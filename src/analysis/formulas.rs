//! The formulas of DESIGN.md, one named function each, so that a reader can put the code beside
//! the design. Every comparison with a threshold is exact: amounts are integers (ten-thousandths
//! of 万元), thresholds are integers (ten-thousandths or hundredths), and a ratio is compared as
//! a fraction, so that no float rounding decides a state or a warning ("an enterprise whose
//! output is exactly 90% of its base is not `reduced`", DESIGN.md, Amounts). Floats appear only
//! in figures shown to people.

use std::cmp::Ordering;

use super::series::{State, StateThresholds};
use super::units::RequiredBasis;

/// One percent in ten-thousandths of a percent, the unit of targets and official figures.
pub const PCT: i64 = 10_000;

/// A growth rate (同比增长, DESIGN.md, Vocabulary: `cur / prev − 1`): an official figure
/// (ten-thousandths of a percent) or the ratio of two sums, kept as the two sums so that it
/// compares exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Growth {
    Official(i64),
    Ratio { cur: i64, prev: i64 },
}

impl Growth {
    /// The ratio `cur / prev − 1`, or `None` without a positive base.
    pub fn ratio(cur: i64, prev: i64) -> Option<Growth> {
        (prev > 0).then_some(Growth::Ratio { cur, prev })
    }

    /// In percent, for display and for figures in JSON.
    pub fn pct(self) -> f64 {
        match self {
            Growth::Official(g) => g as f64 / PCT as f64,
            Growth::Ratio { cur, prev } => (cur as f64 / prev as f64 - 1.0) * 100.0,
        }
    }

    /// `1 + growth` as a fraction with a positive denominator.
    fn factor(self) -> (i128, i128) {
        match self {
            Growth::Official(g) => (100 * PCT as i128 + g as i128, 100 * PCT as i128),
            Growth::Ratio { cur, prev } => (cur as i128, prev as i128),
        }
    }

    /// Compares the growth with `pct_raw` ten-thousandths of a percent, exactly.
    pub fn cmp_raw(self, pct_raw: i64) -> Ordering {
        self.cmp_growth(Growth::Official(pct_raw))
    }

    /// Compares two growth rates exactly, an official figure with a ratio too.
    pub fn cmp_growth(self, other: Growth) -> Ordering {
        let ((a, b), (c, d)) = (self.factor(), other.factor());
        cmp_frac(a, b, c, d)
    }
}

/// Compares `a / b` with `c / d` exactly (`b`, `d` > 0), without overflow whatever their size:
/// integer parts first, then the reciprocals of the remainders (Euclid's algorithm).
pub fn cmp_frac(mut a: i128, mut b: i128, mut c: i128, mut d: i128) -> Ordering {
    debug_assert!(b > 0 && d > 0);
    loop {
        let (q1, r1) = (a.div_euclid(b), a.rem_euclid(b));
        let (q2, r2) = (c.div_euclid(d), c.rem_euclid(d));
        if q1 != q2 {
            return q1.cmp(&q2);
        }
        match (r1 == 0, r2 == 0) {
            (true, true) => return Ordering::Equal,
            (true, false) => return Ordering::Less,
            (false, true) => return Ordering::Greater,
            // r1/b against r2/d, both in (0, 1): the larger has the smaller reciprocal.
            (false, false) => (a, b, c, d) = (d, r2, b, r1),
        }
    }
}

/// The order of a ranking (DESIGN.md, Rules: `rank`, 1 = fastest growth): faster growth first,
/// compared exactly; a unit without growth last.
pub fn cmp_rank(a: Option<Growth>, b: Option<Growth>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => b.cmp_growth(a),
        (a, b) => b.is_some().cmp(&a.is_some()),
    }
}

/// The gap (差距, DESIGN.md, Vocabulary): growth in percentage points minus the target.
pub fn gap_pp(growth: Growth, target_raw: i64) -> f64 {
    growth.pct() - target_raw as f64 / PCT as f64
}

/// An enterprise's pull on its unit (拉动, DESIGN.md, Vocabulary), in percentage points:
/// `(cur_e − prev_e) / Σprev × 100`; the pulls of a unit sum to its growth.
pub fn pull(cur: i64, prev: i64, sum_prev: i64) -> f64 {
    (cur - prev) as f64 / sum_prev as f64 * 100.0
}

/// The state of a month on its own figures (DESIGN.md, Rules): with `v` the month's value and
/// `b` its base, the same month a year earlier, on a positive base
/// - 停产 `Stalled`: `v == 0`;
/// - 半停产 `SemiStalled`: `0 < v < 0.5·b`;
/// - 减产 `Reduced`: `0.5·b ≤ v < 0.9·b`;
/// - else `Normal`,
///
/// the ratios being `th` in ten-thousandths (0.5 → 5000), compared as `10000·v < th·b`. `None`
/// without a positive base: a zero on a zero base is settled by the month before (长期停产, see
/// [`super::History::standing`]), and anything else on a base ≤ 0 has no state.
pub fn stall_state(v: i64, b: i64, th: StateThresholds) -> Option<State> {
    if b <= 0 {
        return None;
    }
    let (v, b) = (v as i128, b as i128);
    Some(if v == 0 {
        State::Stalled
    } else if v * 10_000 < th.semi_stalled as i128 * b {
        State::SemiStalled
    } else if v * 10_000 < th.reduced as i128 * b {
        State::Reduced
    } else {
        State::Normal
    })
}

/// Whether the required growth can be computed (DESIGN.md, Rules, `unit_target_at_risk`): not
/// for December, and only with a positive base and last year's months still to come.
fn required_applies(q: RequiredBasis, month: u32) -> bool {
    month < 12 && q.full_year_prev - q.ytd_prev > 0 && q.ytd_prev > 0
}

/// The growth the rest of the year needs for the annual target (DESIGN.md, Rules,
/// `unit_target_at_risk`), in percent: `((Y·(1+T) − C) / (Y − Pp) − 1) × 100`, with Y last
/// year's full-year total, C the year to date, Pp its base (all three over the enterprises
/// counted in the growth) and T the annual target `annual_raw` (ten-thousandths of a percent).
/// Not computed for December, nor without a positive base and months left.
pub fn required_growth(q: RequiredBasis, annual_raw: i64, month: u32) -> Option<f64> {
    if !required_applies(q, month) {
        return None;
    }
    let rest = (q.full_year_prev - q.ytd_prev) as f64;
    let y = q.full_year_prev as f64;
    let annual = annual_raw as f64 / PCT as f64 / 100.0;
    Some(((y * (1.0 + annual) - q.ytd as f64) / rest - 1.0) * 100.0)
}

/// Whether the required growth exceeds the annual target by more than `threshold_raw`
/// (ten-thousandths of a percentage point; DESIGN.md, Rules, `unit_target_at_risk`: 5 pp),
/// exactly: `Y·(1+T) − C > (1 + T + threshold)·(Y − Pp)`. False where [`required_growth`] is
/// not computed.
pub fn required_exceeds(q: RequiredBasis, annual_raw: i64, month: u32, threshold_raw: i64) -> bool {
    if !required_applies(q, month) {
        return false;
    }
    let hundred = 100 * PCT as i128;
    let (y, c, pp) = (q.full_year_prev as i128, q.ytd as i128, q.ytd_prev as i128);
    let lhs = y * (hundred + annual_raw as i128) - c * hundred;
    let rhs = (hundred + annual_raw as i128 + threshold_raw as i128) * (y - pp);
    lhs > rhs
}

/// How many of the gap steps `steps_raw` (ten-thousandths of a percentage point, from mild to
/// severe: −1, −2, −3 pp by default) a unit below its target has reached (DESIGN.md, Rules,
/// `unit_below_target`: < 0 blue, ≤ −1 pp yellow, ≤ −2 pp orange, ≤ −3 pp red). A step is
/// reached when `growth ≤ target + step`, exactly.
pub fn gap_steps(growth: Growth, target_raw: i64, steps_raw: [i64; 3]) -> usize {
    let at_most = |step: i64| !growth.cmp_raw(target_raw + step).is_gt();
    if at_most(steps_raw[2]) {
        3
    } else if at_most(steps_raw[1]) {
        2
    } else if at_most(steps_raw[0]) {
        1
    } else {
        0
    }
}

/// Whether output growth exceeds electricity growth by more than `threshold_raw` percentage
/// points (DESIGN.md, Rules, `data_divergence` 产值电量背离: 30 pp), in ten-thousandths of a
/// point: `(v/b − 1) − (e/eb − 1) > threshold`, compared exactly as
/// `v/b > (e·10⁶ + threshold·eb) / (eb·10⁶)`. Bases `b`, `eb` must be positive.
pub fn diverges(v: i64, b: i64, e: i64, eb: i64, threshold_raw: i64) -> bool {
    let scale = 100 * PCT as i128;
    let rhs_num = e as i128 * scale + threshold_raw as i128 * eb as i128;
    cmp_frac(v as i128, b as i128, rhs_num, eb as i128 * scale).is_gt()
}

/// Whether a unit's submission rate (报送率, reported / expected) is below `min_hundredths`
/// hundredths of a percent (DESIGN.md, Rules, `unit_low_submission_rate`: 95%), exactly:
/// `10000·reported < min·expected`. Nothing is below without expected enterprises.
pub fn submission_rate_below(reported: u32, expected: u32, min_hundredths: i64) -> bool {
    expected > 0 && 10_000 * i128::from(reported) < min_hundredths as i128 * i128::from(expected)
}

/// A tolerance in percentage points as exact hundredths of a point (10 pp → 1000).
pub fn hundredths(pp: f64) -> i64 {
    (pp * 100.0).round() as i64
}

/// Percentage points as exact ten-thousandths of a point (5 pp → 50000), the unit of
/// [`Growth::cmp_raw`].
pub fn pp_raw(pp: f64) -> i64 {
    (pp * PCT as f64).round() as i64
}

/// Whether `ytd / plan < month/12 − tol` (DESIGN.md, Rules: completion below time progress 时间进度
/// by more than the tolerance, for `unit_progress_lagging` and `project_behind_schedule`),
/// exactly: `120000·ytd < plan·(10000·month − 12·tol)`, the tolerance in hundredths of a
/// percentage point. Without a positive plan nothing is behind.
pub fn behind(ytd: i64, plan: i64, month: u32, tol_hundredths: i64) -> bool {
    plan > 0
        && 120_000 * (ytd as i128)
            < plan as i128 * (10_000 * i128::from(month) - 12 * tol_hundredths as i128)
}

/// Whether an above-scale enterprise's annualised year-to-date revenue `revenue_ytd × 12 / month`
/// is below the above-scale threshold times `margin_bp` ten-thousandths (DESIGN.md, Rules,
/// `enterprise_exit_risk` 退库风险: threshold × 1.1), exactly:
/// `10000·12·revenue < threshold·margin·month`.
pub fn exit_risk(revenue_ytd: i64, month: u32, threshold: i64, margin_bp: i64) -> bool {
    revenue_ytd as i128 * 12 * 10_000 < threshold as i128 * margin_bp as i128 * i128::from(month)
}

/// Whether a below-scale enterprise's annualised year-to-date revenue reaches the above-scale
/// threshold (DESIGN.md, Rules, `enterprise_upgrade_candidate` 升规), exactly:
/// `12·revenue ≥ threshold·month`.
pub fn reaches_above_scale(revenue_ytd: i64, month: u32, threshold: i64) -> bool {
    revenue_ytd as i128 * 12 >= threshold as i128 * i128::from(month)
}

/// Whether a reported year to date differs from the sum of the months by more than `tol_bp`
/// ten-thousandths of the sum (DESIGN.md, Rules, `data_inconsistent`: 0.5%), exactly:
/// `10000·|reported − sum| > tol·sum`. Nothing is inconsistent against a sum ≤ 0.
pub fn ytd_inconsistent(reported: i64, sum: i64, tol_bp: i64) -> bool {
    let diff = (reported as i128 - sum as i128).abs();
    sum > 0 && diff * 10_000 > tol_bp as i128 * sum as i128
}

#[cfg(test)]
mod tests {
    use super::*;

    const TH: StateThresholds = StateThresholds {
        semi_stalled: 5_000,
        reduced: 9_000,
    };

    #[test]
    fn stall_state_is_exact_at_both_thresholds() {
        assert_eq!(stall_state(900, 1_000, TH), Some(State::Normal));
        assert_eq!(stall_state(899, 1_000, TH), Some(State::Reduced));
        assert_eq!(stall_state(500, 1_000, TH), Some(State::Reduced));
        assert_eq!(stall_state(499, 1_000, TH), Some(State::SemiStalled));
        assert_eq!(stall_state(1, 1_000, TH), Some(State::SemiStalled));
        assert_eq!(stall_state(0, 1_000, TH), Some(State::Stalled));
        assert_eq!(stall_state(0, 0, TH), None, "settled by the month before");
        assert_eq!(stall_state(5, 0, TH), None);
        assert_eq!(stall_state(5, -1, TH), None);
    }

    #[test]
    fn stall_state_does_not_round_a_ratio_the_float_way() {
        // 0.55 × 100 is 55.000000000000007 in binary floats: `55 < 0.55 × 100` holds there.
        assert!(55.0 < std::hint::black_box(0.55) * 100.0);
        let th = StateThresholds {
            semi_stalled: 5_500,
            reduced: 9_000,
        };
        assert_eq!(stall_state(55, 100, th), Some(State::Reduced));
        assert_eq!(stall_state(54, 100, th), Some(State::SemiStalled));
        assert_eq!(stall_state(56, 100, th), Some(State::Reduced));
    }

    #[test]
    fn growth_compares_exactly_across_official_and_ratio() {
        let official = Growth::Official(7 * PCT);
        let ratio = Growth::ratio(107, 100).unwrap();
        // As floats 7.0 < 7.000000000000006: a district at the city's growth looked below it.
        assert!(official.pct() < ratio.pct());
        assert_eq!(official.cmp_growth(ratio), Ordering::Equal);
        assert_eq!(
            Growth::ratio(214, 200).unwrap().cmp_growth(ratio),
            Ordering::Equal
        );
        assert_eq!(
            Growth::ratio(1_070_001, 1_000_000)
                .unwrap()
                .cmp_growth(official),
            Ordering::Greater
        );
        assert_eq!(
            Growth::Official(7 * PCT - 1).cmp_growth(ratio),
            Ordering::Less
        );
        assert_eq!(
            cmp_rank(Some(official), Some(Growth::Official(0))),
            Ordering::Less,
            "faster ranks first"
        );
        assert_eq!(cmp_rank(Some(official), None), Ordering::Less);
        assert_eq!(cmp_rank(Some(official), Some(ratio)), Ordering::Equal);
    }

    #[test]
    fn fractions_compare_exactly_without_overflow() {
        let big = i64::MAX as i128;
        assert_eq!(cmp_frac(big, big - 1, big - 1, big - 2), Ordering::Less);
        assert_eq!(cmp_frac(big * big, big, big, 1), Ordering::Equal);
        assert_eq!(cmp_frac(-3, 2, -1, 1), Ordering::Less);
        assert_eq!(cmp_frac(0, 5, 0, 7), Ordering::Equal);
        for (a, b, c, d) in [
            (1, 3, 2, 6),
            (2, 7, 3, 10),
            (22, 7, 355, 113),
            (-1, 3, -2, 7),
        ] {
            assert_eq!(
                cmp_frac(a, b, c, d),
                (a * d).cmp(&(c * b)),
                "{a}/{b} {c}/{d}"
            );
        }
    }

    #[test]
    fn below_target_steps_are_exact_at_each_gap() {
        let steps = [-1.0, -2.0, -3.0].map(pp_raw);
        // 7% against 8%: exactly −1 pp, which is yellow; as floats 7.000000000000006 − 8 > −1.
        let g = Growth::ratio(107, 100).unwrap();
        assert_eq!(gap_steps(g, 8 * PCT, steps), 1);
        assert_eq!(gap_steps(g, 8 * PCT - 1, steps), 0);
        assert_eq!(gap_steps(g, 10 * PCT, steps), 3);
        assert_eq!(gap_steps(g, 10 * PCT - 1, steps), 2);
        assert_eq!(gap_steps(Growth::Official(5 * PCT), 7 * PCT, steps), 2);
    }

    fn basis(full_year_prev: i64, ytd: i64, ytd_prev: i64) -> RequiredBasis {
        RequiredBasis {
            full_year_prev,
            ytd,
            ytd_prev,
            counted: 1,
        }
    }

    #[test]
    fn required_growth_follows_the_design_and_is_exact_at_the_threshold() {
        // Y = 100, Pp = 50, C = 51, T = 7%: (107 − 51) / 50 − 1 = 12%, exactly 5 pp above T.
        let q = basis(1_000_000, 510_000, 500_000);
        let req = required_growth(q, 7 * PCT, 10).unwrap();
        assert!((req - 12.0).abs() < 1e-9);
        // The float figure is 12.000000000000011, 5.000000000000011 pp above the target.
        assert!(req - 7.0 > 5.0);
        assert!(!required_exceeds(q, 7 * PCT, 10, pp_raw(5.0)));
        assert!(required_exceeds(
            basis(1_000_000, 509_999, 500_000),
            7 * PCT,
            10,
            pp_raw(5.0)
        ));
        assert!(!required_exceeds(q, 7 * PCT, 10, pp_raw(5.0) + 1));
        assert!(required_exceeds(q, 7 * PCT, 10, pp_raw(5.0) - 1));
        assert_eq!(required_growth(q, 7 * PCT, 12), None, "not for December");
        assert!(!required_exceeds(basis(0, 0, 0), 7 * PCT, 10, 0));
        assert_eq!(required_growth(basis(500, 510, 500), 7 * PCT, 10), None);
    }

    #[test]
    fn divergence_is_exact_at_the_threshold() {
        let wan = |x: i64| x * 10_000;
        // Output +30%, electricity flat: exactly 30 pp apart, which is not more than 30.
        assert!(
            (std::hint::black_box(1.3) - 1.0) * 100.0 > 30.0,
            "the float way says it is"
        );
        assert!(!diverges(
            wan(130),
            wan(100),
            wan(100),
            wan(100),
            pp_raw(30.0)
        ));
        assert!(diverges(
            wan(130) + 1,
            wan(100),
            wan(100),
            wan(100),
            pp_raw(30.0)
        ));
        assert!(!diverges(
            wan(130),
            wan(100),
            wan(100) + 1,
            wan(100),
            pp_raw(30.0)
        ));
        assert!(diverges(
            wan(120),
            wan(100),
            wan(80),
            wan(100),
            pp_raw(30.0) - 1
        ));
        assert!(!diverges(i64::MAX, 1, i64::MAX, 1, pp_raw(30.0)));
    }

    #[test]
    fn submission_rate_is_exact_at_the_minimum() {
        assert!(
            std::hint::black_box(0.57) * 100.0 < 57.0,
            "the float way says 57 of 100 is below 57%"
        );
        assert!(!submission_rate_below(57, 100, hundredths(57.0)));
        assert!(submission_rate_below(56, 100, hundredths(57.0)));
        assert!(!submission_rate_below(19, 20, hundredths(95.0)));
        assert!(submission_rate_below(18, 20, hundredths(95.0)));
        assert!(!submission_rate_below(0, 0, hundredths(95.0)));
    }

    #[test]
    fn annualised_revenue_and_ytd_checks_are_exact() {
        let wan = |x: i64| x * 10_000;
        // 1-6月 1100 × 12 / 6 = 2200 = 2000 × 1.1: on the line is no exit risk.
        let threshold = wan(2_000);
        assert!(!exit_risk(wan(1_100), 6, threshold, 11_000));
        assert!(exit_risk(wan(1_100) - 1, 6, threshold, 11_000));
        assert!(reaches_above_scale(wan(1_000), 6, threshold));
        assert!(!reaches_above_scale(wan(1_000) - 1, 6, threshold));
        // 0.5% of 1000 is 5: a difference of exactly 5 is consistent.
        assert!(!ytd_inconsistent(1_005, 1_000, 50));
        assert!(ytd_inconsistent(1_006, 1_000, 50));
        assert!(ytd_inconsistent(994, 1_000, 50));
        assert!(!ytd_inconsistent(5, 0, 50));
    }

    #[test]
    fn pulls_add_up_to_the_growth() {
        let (cur, prev) = ([120, 80, 50], [100, 100, 40]);
        let total: f64 = (0..3).map(|i| pull(cur[i], prev[i], 240)).sum();
        let g = Growth::ratio(250, 240).unwrap();
        assert!((total - g.pct()).abs() < 1e-9);
        assert!((gap_pp(g, 4 * PCT) - (g.pct() - 4.0)).abs() < 1e-12);
    }
}
