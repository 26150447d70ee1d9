//! One enterprise's figures over the 24 months that end at the evaluated period, and what can
//! be read from them: the month's value and its base, the year to date, the state (停产 /
//! 半停产 / 减产) and how many months in a row it has lasted.

use crate::period::Period;

/// Months of history an evaluation reads: enough for a 12-month streak, each month with its base.
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
            revision: 0,
            revision_year_ago: 0,
        }
    }
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
    pub fn rule(self) -> Option<&'static str> {
        match self {
            State::Normal => None,
            State::Reduced => Some("enterprise_reduced"),
            State::SemiStalled => Some("enterprise_semi_stalled"),
            State::Stalled => Some("enterprise_stalled"),
        }
    }

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

    /// The year to date at index `i`: the 1-本月累计 reported, else the sum of the months it
    /// reported (a month it failed to report stays out of the sum).
    pub fn ytd(&self, cal: &Calendar, i: usize) -> Option<i64> {
        if let Some(y) = some(self.output_ytd[i]) {
            return Some(y);
        }
        let jan = i.checked_sub(cal.at(i).month() as usize - 1)?;
        let mut sum = None;
        for j in jan..=i {
            if let Some(v) = some(self.output[j]) {
                sum = Some(sum.unwrap_or(0) + v);
            }
        }
        sum
    }

    /// The year to date of the enterprise for `i`, only if it submitted for that month.
    pub fn ytd_submitted(&self, cal: &Calendar, i: usize) -> Option<i64> {
        if self.is_present(i) {
            self.ytd(cal, i)
        } else {
            None
        }
    }

    /// 上年同期累计 for index `i`: reported on the form, else the stored year to date a year earlier.
    pub fn ytd_prev(&self, cal: &Calendar, i: usize) -> Option<i64> {
        if i < 12 {
            return None;
        }
        some(self.output_ytd_prev[i - 12]).or_else(|| self.ytd(cal, i - 12))
    }

    /// The state at index `i`, or `None` when there is no value or no positive base to judge by.
    pub fn state(&self, cal: &Calendar, th: StateThresholds, i: usize) -> Option<State> {
        if !self.is_present(i) {
            return None;
        }
        let v = self.month_value(cal, i)? as i128;
        let b = self.month_base(cal, i)? as i128;
        if b <= 0 {
            return None;
        }
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

    /// Months in a row, ending at P, in any of the three states (a month with no submission ends
    /// the streak); at most 12, the window's reach.
    pub fn streak(&self, cal: &Calendar, th: StateThresholds) -> u32 {
        let mut n = 0;
        let mut t = cal.period;
        while let Some(i) = cal.index(t) {
            match self.state(cal, th, i) {
                Some(s) if s != State::Normal => n += 1,
                _ => break,
            }
            t = cal.prev_analysed(t);
        }
        n
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
        assert_eq!(s.state(&c, TH, 23), Some(State::Normal));
        let s = series(&c, &[("2025-10", 1000), ("2026-10", 899)]);
        assert_eq!(s.state(&c, TH, 23), Some(State::Reduced));
        let s = series(&c, &[("2025-10", 1000), ("2026-10", 500)]);
        assert_eq!(s.state(&c, TH, 23), Some(State::Reduced));
        let s = series(&c, &[("2025-10", 1000), ("2026-10", 499)]);
        assert_eq!(s.state(&c, TH, 23), Some(State::SemiStalled));
        let s = series(&c, &[("2025-10", 1000), ("2026-10", 0)]);
        assert_eq!(s.state(&c, TH, 23), Some(State::Stalled));
    }

    #[test]
    fn zero_or_missing_base_gives_no_state() {
        let c = cal("2026-10", true);
        let s = series(&c, &[("2025-10", 0), ("2026-10", 0)]);
        assert_eq!(s.state(&c, TH, 23), None);
        let s = series(&c, &[("2026-10", 0)]);
        assert_eq!(s.state(&c, TH, 23), None, "a new entrant has no base");
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
        assert_eq!(s.streak(&c, TH), 2);
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
        assert_eq!(s.state(&c, TH, feb), Some(State::SemiStalled));
        // March semi-stalled, Jan+Feb semi-stalled, December 2025 has no base in 2024 → stop.
        assert_eq!(s.streak(&c, TH), 2);
        let apart = cal("2026-03", false);
        let s2 = series(&apart, &[("2025-02", 100), ("2026-02", 80)]);
        let feb = apart.index("2026-02".parse().unwrap()).unwrap();
        assert_eq!(s2.state(&apart, TH, feb), Some(State::Reduced));
    }

    #[test]
    fn ytd_prefers_the_reported_figure_and_sums_months_otherwise() {
        let c = cal("2026-03", true);
        let mut s = series(&c, &[("2026-01", 10), ("2026-03", 30)]);
        let mar = 23;
        assert_eq!(s.ytd(&c, mar), Some(40 * 10_000), "February missing");
        s.output_ytd[mar] = 65 * 10_000;
        assert_eq!(s.ytd(&c, mar), Some(65 * 10_000));
        assert_eq!(s.ytd_prev(&c, mar), None, "no data a year earlier");
    }
}
