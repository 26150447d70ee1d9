//! One enterprise's figures over the 24 months that end at the evaluated period, and what can
//! be read from them: the month's value and its base, the year to date and its base (complete
//! or not at all), the state (停产 / 半停产 / 减产) and how many periods in a row it has lasted,
//! counted back through older windows where the streak outlasts this one ([`History`]).

use crate::period::Period;

/// Months an evaluation window holds: twelve months, each with its base a year earlier.
pub const WINDOW: usize = 24;
/// A figure that was not reported.
pub const NONE: i64 = i64::MIN;

/// Figures of one enterprise in the window; index 0 is P−23 and index 23 is P. Amounts are
/// ten-thousandths of 万元 (see [`crate::amount::Amount`]), [`NONE`] where not reported.
#[derive(Clone, Debug)]
pub struct Series {
    /// Bit `i` is set when the enterprise submitted for window month `i`.
    pub present: u32,
    pub output: [i64; WINDOW],
    pub output_ytd: [i64; WINDOW],
    /// 上年同期 figures reported on the form, for the last 12 months of the window (index `i − 12`).
    pub output_prev: [i64; 12],
    pub output_ytd_prev: [i64; 12],
    /// Electricity in P and in P−12, and the 上年同期 electricity reported with P.
    pub electricity: i64,
    pub electricity_year_ago: i64,
    pub electricity_prev: i64,
    /// Year-to-date revenue reported with P.
    pub revenue_ytd: i64,
    /// Sales, revenue, profit and export, year to date, as reported with P and with P−12 (效益).
    pub others: OtherYtd,
    /// The revisions of the submissions for P and P−12 (0 when absent), for explanations.
    pub revision: i64,
    pub revision_year_ago: i64,
}

impl Default for Series {
    fn default() -> Series {
        Series {
            present: 0,
            output: [NONE; WINDOW],
            output_ytd: [NONE; WINDOW],
            output_prev: [NONE; 12],
            output_ytd_prev: [NONE; 12],
            electricity: NONE,
            electricity_year_ago: NONE,
            electricity_prev: NONE,
            revenue_ytd: NONE,
            others: OtherYtd::default(),
            revision: 0,
            revision_year_ago: 0,
        }
    }
}

/// A year-to-date figure other than output (sales, revenue, profit, export) for the comparison
/// of P: as reported with P, the 上年同期累计 reported beside it, and as reported with P−12.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct YtdFigure {
    pub cur: i64,
    pub prev_reported: i64,
    pub year_ago: i64,
}

impl Default for YtdFigure {
    fn default() -> YtdFigure {
        YtdFigure {
            cur: NONE,
            prev_reported: NONE,
            year_ago: NONE,
        }
    }
}

impl YtdFigure {
    /// The figure of P, if reported.
    pub fn value(&self) -> Option<i64> {
        some(self.cur)
    }

    /// Its base (上年同期累计): the figure reported on the form, else the one reported with P−12.
    pub fn base(&self) -> Option<i64> {
        some(self.prev_reported).or_else(|| some(self.year_ago))
    }

    /// The figure and its base, when both are known (同口径).
    pub fn with_base(&self) -> Option<(i64, i64)> {
        self.value().zip(self.base())
    }
}

/// The year-to-date figures besides output that the efficiency analysis (效益) reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OtherYtd {
    pub sales: YtdFigure,
    pub revenue: YtdFigure,
    pub profit: YtdFigure,
    pub export: YtdFigure,
}

/// An enterprise's state in a month, judged on its month value against the same month a year
/// earlier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum State {
    Normal,
    Reduced,
    SemiStalled,
    Stalled,
}

impl State {
    pub fn zh(self) -> &'static str {
        match self {
            State::Normal => "正常",
            State::Reduced => "减产",
            State::SemiStalled => "半停产",
            State::Stalled => "停产",
        }
    }
}

/// Thresholds of the three states as ten-thousandths of the base (0.5 → 5000, 0.9 → 9000).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StateThresholds {
    pub semi_stalled: i64,
    pub reduced: i64,
}

/// Where the window sits in time and how months are grouped.
#[derive(Clone, Copy, Debug)]
pub struct Calendar {
    /// The evaluated period (window index 23).
    pub period: Period,
    /// January is analysed with February (1-2月).
    pub jan_feb_combined: bool,
}

impl Calendar {
    /// The window index of `t`, if it lies inside the window.
    pub fn index(&self, t: Period) -> Option<usize> {
        let back = self.period.ordinal() - t.ordinal();
        (0..WINDOW as i32)
            .contains(&back)
            .then(|| WINDOW - 1 - back as usize)
    }

    /// The period at window index `i`.
    pub fn at(&self, i: usize) -> Period {
        self.period.offset(i as i32 - (WINDOW as i32 - 1))
    }

    /// Whether `t` is analysed on its own (January is not when combined with February).
    pub fn is_analysed(&self, t: Period) -> bool {
        !(self.jan_feb_combined && t.month() == 1)
    }

    /// The analysed period before `t`: the previous month, or December for a combined February.
    pub fn prev_analysed(&self, t: Period) -> Period {
        if self.jan_feb_combined && t.month() == 2 {
            t.offset(-2)
        } else {
            t.prev()
        }
    }

    /// Whether `t`'s month value is the January+February sum.
    pub fn is_combined(&self, t: Period) -> bool {
        self.jan_feb_combined && t.month() == 2
    }
}

fn some(v: i64) -> Option<i64> {
    (v != NONE).then_some(v)
}

impl Series {
    pub fn is_present(&self, i: usize) -> bool {
        self.present & (1 << i) != 0
    }

    /// The month's own value (本月), or 1-2月 for a combined February.
    pub fn month_value(&self, cal: &Calendar, i: usize) -> Option<i64> {
        let t = cal.at(i);
        if cal.is_combined(t) {
            if let Some(y) = some(self.output_ytd[i]) {
                return Some(y);
            }
            return match (i.checked_sub(1).map(|j| self.output[j]), self.output[i]) {
                (Some(jan), feb) if jan != NONE && feb != NONE => Some(jan + feb),
                _ => None,
            };
        }
        some(self.output[i])
    }

    /// The base of the month value: the 上年同期 figure reported with it, else the stored value
    /// of the same month a year earlier.
    pub fn month_base(&self, cal: &Calendar, i: usize) -> Option<i64> {
        let t = cal.at(i);
        if i >= 12 {
            let reported = if cal.is_combined(t) {
                self.output_ytd_prev[i - 12]
            } else {
                self.output_prev[i - 12]
            };
            if let Some(b) = some(reported) {
                return Some(b);
            }
            return self.month_value(cal, i - 12);
        }
        None
    }

    /// The year to date at index `i` (DESIGN.md, Amounts): the 1-本月累计 reported (a month the
    /// enterprise failed to report is still inside it), else the sum of its months when every
    /// month of the year so far is present. A sum with a month missing is no year to date.
    pub fn ytd(&self, cal: &Calendar, i: usize) -> Option<i64> {
        if let Some(y) = some(self.output_ytd[i]) {
            return Some(y);
        }
        let jan = i.checked_sub(cal.at(i).month() as usize - 1)?;
        let mut sum = 0i64;
        for j in jan..=i {
            sum += some(self.output[j])?;
        }
        Some(sum)
    }

    /// The year to date of the enterprise for `i`, only if it submitted for that month.
    pub fn ytd_submitted(&self, cal: &Calendar, i: usize) -> Option<i64> {
        if self.is_present(i) {
            self.ytd(cal, i)
        } else {
            None
        }
    }

    /// 上年同期累计 for index `i`, complete or not at all (同口径): the figure reported on the form,
    /// else the enterprise's complete year to date a year earlier ([`Series::ytd`]).
    pub fn ytd_prev(&self, cal: &Calendar, i: usize) -> Option<i64> {
        if i < 12 {
            return None;
        }
        some(self.output_ytd_prev[i - 12]).or_else(|| self.ytd(cal, i - 12))
    }

    /// Last year's full-year total for a comparison at index `i` (`i` ≥ 12): its complete
    /// 1-12月, else the complete base `ytd_prev` plus every month after it to December, when all
    /// of them are present.
    pub fn full_year_prev(&self, cal: &Calendar, i: usize) -> Option<i64> {
        let base = i.checked_sub(12)?;
        let dec = base + (12 - cal.at(base).month() as usize);
        if let Some(y) = self.ytd(cal, dec) {
            return Some(y);
        }
        let mut sum = self.ytd_prev(cal, i)?;
        for j in base + 1..=dec {
            sum += some(self.output[j])?;
        }
        Some(sum)
    }

    /// How the month at index `i` (`i` ≥ 12) is judged, before a zero on a zero base is
    /// settled by the month before it.
    fn judge(&self, cal: &Calendar, th: StateThresholds, i: usize) -> Judged {
        if !self.is_present(i) {
            return Judged::Unjudged;
        }
        let (Some(v), Some(b)) = (self.month_value(cal, i), self.month_base(cal, i)) else {
            return Judged::Unjudged;
        };
        if b == 0 && v == 0 {
            return Judged::ZeroOnZero;
        }
        match super::formulas::stall_state(v, b, th) {
            Some(s) => Judged::State(s),
            None => Judged::Unjudged,
        }
    }
}

/// A month as judged on its own figures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Judged {
    /// Outside the months read.
    Out,
    /// No state: not submitted, no value, no base, or a value on a zero base.
    Unjudged,
    /// Zero on a zero base: 停产 if the month before was (长期停产), else no state.
    ZeroOnZero,
    State(State),
}

/// An enterprise's state in a month and how long it has lasted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Standing {
    /// `None` when there is nothing to judge by.
    pub state: Option<State>,
    /// Analysed periods in a row, ending at the month, in any of the three states.
    pub streak: u32,
    /// Whether the months read ran out before the streak (or a zero on a zero base) ended:
    /// older months must be read to settle it.
    pub reaches_edge: bool,
}

/// One enterprise's months as far back as they were read: the evaluation's window and, for an
/// enterprise whose streak reaches back past it, windows ending 12, 24, … months earlier.
#[derive(Clone, Copy, Debug)]
pub struct History<'a> {
    pub window: &'a Series,
    /// `earlier[k]` ends 12·(k+1) months before the evaluated period.
    pub earlier: &'a [Series],
}

impl History<'_> {
    /// The month `t` as judged on its own figures, in whichever window holds it with its base.
    fn judge(&self, cal: &Calendar, th: StateThresholds, t: Period) -> Judged {
        let Ok(back) = usize::try_from(cal.period.ordinal() - t.ordinal()) else {
            return Judged::Out;
        };
        let k = back / 12;
        let s = match k.checked_sub(1) {
            None => self.window,
            Some(j) => match self.earlier.get(j) {
                Some(s) => s,
                None => return Judged::Out,
            },
        };
        let shifted = Calendar {
            period: cal.period.offset(-12 * k as i32),
            ..*cal
        };
        s.judge(&shifted, th, WINDOW - 1 - back % 12)
    }

    /// The state in the analysed period `t` and the streak that ends there, counted back as far
    /// as the months read go (January is not a period of its own when combined with February).
    /// 停产 is `v == 0` on a positive base, or on a zero base when the period before was 停产
    /// (DESIGN.md, Rules: a stall outlives its own zero base).
    pub fn standing(&self, cal: &Calendar, th: StateThresholds, t: Period) -> Standing {
        let mut out = Standing::default();
        // Whether the state of `t` itself is known yet (a zero on a zero base waits for the
        // periods before it), and how many such zeros are waiting.
        let (mut known, mut unsettled) = (false, 0u32);
        let mut t = t;
        loop {
            let state = match self.judge(cal, th, t) {
                Judged::ZeroOnZero => {
                    unsettled += 1;
                    t = cal.prev_analysed(t);
                    continue;
                }
                Judged::State(State::Stalled) => Some(State::Stalled),
                // A zero on a zero base after anything but 停产 is no state: the streak ends.
                Judged::State(s) if unsettled == 0 => Some(s),
                Judged::Out => {
                    out.reaches_edge = true;
                    None
                }
                Judged::State(_) | Judged::Unjudged => None,
            };
            if !known {
                out.state = state;
                known = true;
            }
            match state {
                Some(s) if s != State::Normal => out.streak += unsettled + 1,
                _ => break,
            }
            unsettled = 0;
            t = cal.prev_analysed(t);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TH: StateThresholds = StateThresholds {
        semi_stalled: 5_000,
        reduced: 9_000,
    };

    fn cal(p: &str, combined: bool) -> Calendar {
        Calendar {
            period: p.parse().unwrap(),
            jan_feb_combined: combined,
        }
    }

    /// The standing at `t` from the window alone.
    fn at(s: &Series, c: &Calendar, t: &str) -> Standing {
        History {
            window: s,
            earlier: &[],
        }
        .standing(c, TH, t.parse().unwrap())
    }

    fn state(s: &Series, c: &Calendar) -> Option<State> {
        at(s, c, &c.period.to_string()).state
    }

    /// A series with the given month outputs (万元) at the given periods.
    fn series(c: &Calendar, months: &[(&str, i64)]) -> Series {
        let mut s = Series::default();
        for (p, v) in months {
            let i = c.index(p.parse().unwrap()).unwrap();
            s.present |= 1 << i;
            s.output[i] = v * 10_000;
        }
        s
    }

    #[test]
    fn exactly_ninety_percent_is_not_reduced() {
        let c = cal("2026-10", true);
        let s = series(&c, &[("2025-10", 1000), ("2026-10", 900)]);
        assert_eq!(state(&s, &c), Some(State::Normal));
        let s = series(&c, &[("2025-10", 1000), ("2026-10", 899)]);
        assert_eq!(state(&s, &c), Some(State::Reduced));
        let s = series(&c, &[("2025-10", 1000), ("2026-10", 500)]);
        assert_eq!(state(&s, &c), Some(State::Reduced));
        let s = series(&c, &[("2025-10", 1000), ("2026-10", 499)]);
        assert_eq!(state(&s, &c), Some(State::SemiStalled));
        let s = series(&c, &[("2025-10", 1000), ("2026-10", 0)]);
        assert_eq!(state(&s, &c), Some(State::Stalled));
    }

    #[test]
    fn zero_or_missing_base_gives_no_state() {
        let c = cal("2026-10", true);
        let s = series(&c, &[("2025-10", 0), ("2026-10", 0)]);
        assert_eq!(state(&s, &c), None);
        let s = series(&c, &[("2026-10", 0)]);
        assert_eq!(state(&s, &c), None, "a new entrant has no base");
    }

    #[test]
    fn streak_counts_back_and_stops_at_a_hole() {
        let c = cal("2026-10", true);
        let s = series(
            &c,
            &[
                ("2025-07", 100),
                ("2025-08", 100),
                ("2025-09", 100),
                ("2025-10", 100),
                ("2026-07", 10),
                ("2026-09", 0),
                ("2026-10", 60),
            ],
        );
        // October reduced, September stalled, August missing: streak 2.
        assert_eq!(at(&s, &c, "2026-10").streak, 2);
    }

    #[test]
    fn combined_february_sums_january_and_skips_back_to_december() {
        let c = cal("2026-03", true);
        let s = series(
            &c,
            &[
                ("2025-01", 100),
                ("2025-02", 100),
                ("2025-03", 100),
                ("2025-12", 100),
                ("2026-01", 0),
                ("2026-02", 80),
                ("2026-03", 40),
                ("2024-12", 100),
            ],
        );
        let feb = c.index("2026-02".parse().unwrap()).unwrap();
        assert_eq!(s.month_value(&c, feb), Some(80 * 10_000));
        assert_eq!(s.month_base(&c, feb), Some(200 * 10_000));
        assert_eq!(at(&s, &c, "2026-02").state, Some(State::SemiStalled));
        // March semi-stalled, Jan+Feb semi-stalled, December 2025 as much as in 2024 → stop.
        assert_eq!(at(&s, &c, "2026-03").streak, 2);
        let apart = cal("2026-03", false);
        let s2 = series(&apart, &[("2025-02", 100), ("2026-02", 80)]);
        assert_eq!(at(&s2, &apart, "2026-02").state, Some(State::Reduced));
    }

    #[test]
    fn ytd_is_the_reported_figure_else_the_sum_of_every_month() {
        let c = cal("2026-03", true);
        let mut s = series(&c, &[("2026-01", 10), ("2026-03", 30)]);
        let mar = 23;
        assert_eq!(
            s.ytd(&c, mar),
            None,
            "February missing: no complete year to date"
        );
        s.output_ytd[mar] = 65 * 10_000;
        assert_eq!(
            s.ytd(&c, mar),
            Some(65 * 10_000),
            "February is inside the reported one"
        );
        assert_eq!(s.ytd_prev(&c, mar), None, "no data a year earlier");
        let s = series(&c, &[("2026-01", 10), ("2026-02", 20), ("2026-03", 30)]);
        assert_eq!(s.ytd(&c, mar), Some(60 * 10_000));
    }

    #[test]
    fn a_year_ago_base_is_the_reported_one_else_complete_else_none() {
        let c = cal("2026-03", true);
        let mut s = series(
            &c,
            &[
                ("2025-01", 10),
                ("2025-03", 30),
                ("2026-01", 10),
                ("2026-02", 10),
            ],
        );
        assert_eq!(s.ytd_prev(&c, 23), None, "February 2025 missing");
        s.output_ytd_prev[11] = 70 * 10_000;
        assert_eq!(
            s.ytd_prev(&c, 23),
            Some(70 * 10_000),
            "上年同期累计 on the form"
        );
        // Last year's full year: the base plus April to December when all are there.
        assert_eq!(s.full_year_prev(&c, 23), None);
        for m in 4..=12 {
            let i = c.index(Period::new(2025, m).unwrap()).unwrap();
            s.present |= 1 << i;
            s.output[i] = 10 * 10_000;
        }
        assert_eq!(s.full_year_prev(&c, 23), Some(160 * 10_000));
    }

    #[test]
    fn a_stall_outlives_its_zero_base_but_a_zero_after_a_working_month_is_no_state() {
        let c = cal("2026-10", true);
        let mut months = vec![("2025-08", 100), ("2025-09", 0), ("2025-10", 0)];
        months.extend([("2026-08", 0), ("2026-09", 0), ("2026-10", 0)]);
        let s = series(&c, &months);
        // August stalled on 100; September and October zero on zero after a stall.
        assert_eq!(
            at(&s, &c, "2026-10"),
            Standing {
                state: Some(State::Stalled),
                streak: 3,
                reaches_edge: false
            }
        );
        let s = series(
            &c,
            &[
                ("2025-09", 100),
                ("2025-10", 0),
                ("2026-09", 40),
                ("2026-10", 0),
            ],
        );
        assert_eq!(
            state(&s, &c),
            None,
            "after 半停产, a zero on zero is no state"
        );
        let s = series(
            &c,
            &[
                ("2025-09", 100),
                ("2025-10", 0),
                ("2026-09", 100),
                ("2026-10", 0),
            ],
        );
        assert_eq!(at(&s, &c, "2026-10").streak, 0);
    }

    #[test]
    fn a_streak_past_the_window_asks_for_older_months_and_counts_through_them() {
        let c = cal("2026-10", true);
        let stall = |c: &Calendar, from: i32| {
            let mut s = Series::default();
            for i in 0..WINDOW {
                let t = c.at(i);
                s.present |= 1 << i;
                s.output[i] = if t.ordinal() >= from { 0 } else { 100 * 10_000 };
            }
            s
        };
        // Stopped since March 2025: 19 periods to October 2026 (1-2月 2026 once).
        let from = Period::new(2025, 3).unwrap().ordinal();
        let window = stall(&c, from);
        let near = at(&window, &c, "2026-10");
        assert_eq!(
            (near.state, near.reaches_edge),
            (Some(State::Stalled), true)
        );
        let older = [stall(&cal("2025-10", true), from)];
        let far = History {
            window: &window,
            earlier: &older,
        }
        .standing(&c, TH, c.period);
        assert_eq!((far.streak, far.reaches_edge), (19, false));
    }
}
