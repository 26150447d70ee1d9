//! An enterprise's level of electricity over a span of days (a 旬, a month): the days present,
//! their sum and the average over them. A missing day is not a zero: it is left out of the
//! average and counted against the span's coverage. Pure and exact (integer sums; ratios
//! compared in `i128`).

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use chrono::{Datelike, NaiveDate, Weekday};

use super::table::Day;
use super::xun::Xun;
use crate::calendar::Calendar;

/// One enterprise's metered electricity by day, in ten-thousandths of kWh.
pub type Days = BTreeMap<NaiveDate, i64>;

/// Which days an average is taken over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// Every day present.
    AllDays,
    /// The working days present (工作日): for a span with public holidays, so that a holiday is
    /// not a citywide 疑似停产.
    WorkingDays,
}

impl Basis {
    pub fn zh(self) -> &'static str {
        match self {
            Basis::AllDays => "日均",
            Basis::WorkingDays => "工作日日均",
        }
    }
}

/// The electricity of a span of days.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Level {
    /// Calendar days in the span.
    pub days_in_span: u32,
    /// Days of the span with a figure.
    pub days_present: u32,
    /// Days the average is over: the present ones, or the present working days.
    pub days_used: u32,
    /// Sum over the days used, ten-thousandths of kWh.
    pub total: i64,
}

impl Level {
    /// The average over the days used, kWh a day; none without days.
    pub fn average_kwh(&self) -> Option<f64> {
        (self.days_used > 0).then(|| self.total as f64 / f64::from(self.days_used) / 10_000.0)
    }

    /// Whether at least `min_bp` ten-thousandths of the span's days have a figure (8000 = 80%:
    /// 8 of 10 days is enough, 8 of 11 is not), and some day is used.
    pub fn covered(&self, min_bp: i64) -> bool {
        self.days_used > 0
            && i64::from(self.days_present) * 10_000 >= min_bp * i64::from(self.days_in_span)
    }

    /// Whether this level's average is below `ratio_bp` ten-thousandths of `reference`'s,
    /// exactly: `total / days < ratio · ref_total / ref_days`. Exactly at the ratio is not below.
    pub fn below(&self, ratio_bp: i64, reference: &Level) -> bool {
        let lhs = i128::from(self.total) * i128::from(reference.days_used) * 10_000;
        let rhs = i128::from(ratio_bp) * i128::from(reference.total) * i128::from(self.days_used);
        lhs < rhs
    }

    /// Whether one day's figure is above `ratio_bp` ten-thousandths of this level's average.
    pub fn day_above(&self, kwh: i64, ratio_bp: i64) -> bool {
        i128::from(kwh) * i128::from(self.days_used) * 10_000
            > i128::from(ratio_bp) * i128::from(self.total)
    }

    /// This average as a share of `reference`'s, in percent.
    pub fn pct_of(&self, reference: &Level) -> Option<f64> {
        let (a, b) = (self.average_kwh()?, reference.average_kwh()?);
        (b > 0.0).then(|| a * 100.0 / b)
    }
}

/// Whether `day` is worked; by the weekday where the calendar does not cover it.
pub fn is_workday(calendar: Option<&Calendar>, day: NaiveDate) -> bool {
    let by_weekday = !matches!(day.weekday(), Weekday::Sat | Weekday::Sun);
    calendar.map_or(by_weekday, |c| c.is_workday(day).unwrap_or(by_weekday))
}

/// Whether the span has a public holiday: a Monday-to-Friday day off.
pub fn has_holiday(calendar: Option<&Calendar>, span: &RangeInclusive<NaiveDate>) -> bool {
    span.start()
        .iter_days()
        .take_while(|d| d <= span.end())
        .any(|d| !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) && !is_workday(calendar, d))
}

/// The level of `days` over `span` on `basis`.
pub fn level(
    days: &Days,
    span: &RangeInclusive<NaiveDate>,
    basis: Basis,
    calendar: Option<&Calendar>,
) -> Level {
    let within = days.range(span.clone()).map(|(d, k)| (*d, *k));
    level_of(within, span, basis, |d| is_workday(calendar, d))
}

/// The level over `span` of `days`, the days within it; working days told by `worked` (a
/// [`Workdays`] for many enterprises).
pub fn level_of(
    days: impl IntoIterator<Item = Day>,
    span: &RangeInclusive<NaiveDate>,
    basis: Basis,
    worked: impl Fn(NaiveDate) -> bool,
) -> Level {
    let days_in_span = (*span.end() - *span.start()).num_days().max(-1) as u32 + 1;
    let mut out = Level {
        days_in_span,
        days_present: 0,
        days_used: 0,
        total: 0,
    };
    for (day, kwh) in days {
        out.days_present += 1;
        if basis == Basis::AllDays || worked(day) {
            out.days_used += 1;
            out.total += kwh;
        }
    }
    out
}

/// Which days of a few spans (a 旬, a month) are worked, looked up in the calendar once a day
/// rather than once an enterprise and day; days outside them are looked up as they come.
pub struct Workdays<'a> {
    calendar: Option<&'a Calendar>,
    /// Each span's first day and whether each of its days is worked.
    spans: Vec<(NaiveDate, Vec<bool>)>,
}

impl<'a> Workdays<'a> {
    /// Spans longer than a year are left to the calendar.
    pub fn new(
        calendar: Option<&'a Calendar>,
        spans: &[RangeInclusive<NaiveDate>],
    ) -> Workdays<'a> {
        let spans = spans
            .iter()
            .filter(|s| (*s.end() - *s.start()).num_days() < 366)
            .map(|s| {
                let days = s.start().iter_days().take_while(|d| d <= s.end());
                (*s.start(), days.map(|d| is_workday(calendar, d)).collect())
            })
            .collect();
        Workdays { calendar, spans }
    }

    pub fn is_worked(&self, day: NaiveDate) -> bool {
        for (first, worked) in &self.spans {
            let k = usize::try_from((day - *first).num_days()).ok();
            if let Some(w) = k.and_then(|k| worked.get(k)) {
                return *w;
            }
        }
        is_workday(self.calendar, day)
    }
}

/// The days of a 旬 as a span.
pub fn xun_span(x: Xun) -> RangeInclusive<NaiveDate> {
    x.first_day()..=x.last_day()
}

/// The 旬s wholly inside `spans`, in their order.
pub fn whole_xuns(spans: &[RangeInclusive<NaiveDate>]) -> Vec<Xun> {
    let mut out = Vec::new();
    for span in spans {
        let mut x = Xun::containing(*span.start());
        while let Some(cur) = x.filter(|c| c.last_day() <= *span.end()) {
            if cur.first_day() >= *span.start() {
                out.push(cur);
            }
            x = cur.last_day().succ_opt().and_then(Xun::containing);
        }
    }
    out.dedup();
    out
}

/// The days of a month as a span.
pub fn month_span(p: crate::period::Period) -> RangeInclusive<NaiveDate> {
    Xun::new(p, 1).map_or(NaiveDate::MIN..=NaiveDate::MIN, |first| {
        let last = Xun::new(p, 3).map_or(first.last_day(), Xun::last_day);
        first.first_day()..=last
    })
}

/// Every 旬 with a day present, with its level over all its days: the aggregate the rules and
/// the views (`v_power_xun`) agree on.
pub fn by_xun(days: &Days) -> BTreeMap<Xun, Level> {
    let mut out: BTreeMap<Xun, Level> = BTreeMap::new();
    for (day, kwh) in days {
        let Some(x) = Xun::containing(*day) else {
            continue;
        };
        let l = out.entry(x).or_insert(Level {
            days_in_span: x.len(),
            days_present: 0,
            days_used: 0,
            total: 0,
        });
        l.days_present += 1;
        l.days_used += 1;
        l.total += kwh;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn x(s: &str) -> Xun {
        s.parse().unwrap()
    }

    /// `n` days from `from`, each `kwh` kWh.
    fn run(from: &str, n: u64, kwh: i64) -> Days {
        d(from)
            .iter_days()
            .take(n as usize)
            .map(|day| (day, kwh * 10_000))
            .collect()
    }

    #[test]
    fn whole_xuns_are_those_every_day_of_which_is_in_a_span() {
        let spans = [
            d("2025-12-01")..=d("2025-12-31"),
            d("2026-02-15")..=d("2026-02-28"),
            d("2025-10-01")..=d("2025-10-10"),
            d("2025-10-01")..=d("2025-10-10"),
        ];
        let got = whole_xuns(&spans);
        let want = [
            "2025-12-D1",
            "2025-12-D2",
            "2025-12-D3",
            "2026-02-D3",
            "2025-10-D1",
        ];
        assert_eq!(got, want.map(x));
        assert!(whole_xuns(&[d("2026-10-02")..=d("2026-10-20")]) == [x("2026-10-D2")]);
    }

    #[test]
    fn days_are_grouped_by_xun_across_month_ends() {
        // 2024-02-19 … 2024-03-02 at 100 kWh, and 2025-02-21 … 2025-02-28 (8 days).
        let mut days = run("2024-02-19", 13, 100);
        days.extend(run("2025-02-21", 8, 100));
        days.extend(run("2026-10-21", 11, 50));
        let by = by_xun(&days);
        let leap = by[&x("2024-02-D3")];
        assert_eq!((leap.days_in_span, leap.days_present), (9, 9));
        assert_eq!(leap.total, 900 * 10_000);
        let mid = by[&x("2024-02-D2")];
        assert_eq!((mid.days_in_span, mid.days_present), (10, 2));
        let march = by[&x("2024-03-D1")];
        assert_eq!((march.days_in_span, march.days_present), (10, 2));
        let plain = by[&x("2025-02-D3")];
        assert_eq!((plain.days_in_span, plain.days_present), (8, 8));
        let long = by[&x("2026-10-D3")];
        assert_eq!((long.days_in_span, long.days_present), (11, 11));
        assert_eq!(long.total, 550 * 10_000);
        assert_eq!(long.average_kwh(), Some(50.0));
    }

    #[test]
    fn a_missing_day_is_no_zero_and_counts_against_coverage() {
        // 2026-10-D3 has 11 days; 9 present at 100 kWh: average 100, coverage 9/11 = 81.8%.
        let mut days = run("2026-10-21", 11, 100);
        days.remove(&d("2026-10-25"));
        days.remove(&d("2026-10-26"));
        let l = level(&days, &xun_span(x("2026-10-D3")), Basis::AllDays, None);
        assert_eq!((l.days_in_span, l.days_present, l.days_used), (11, 9, 9));
        assert_eq!(l.average_kwh(), Some(100.0));
        assert!(l.covered(8_000));
        // 8 of 11 (72.7%) is not enough; 8 of 10 (exactly 80%) is.
        days.remove(&d("2026-10-27"));
        let l = level(&days, &xun_span(x("2026-10-D3")), Basis::AllDays, None);
        assert!(!l.covered(8_000));
        let ten = run("2026-10-01", 8, 100);
        let l = level(&ten, &xun_span(x("2026-10-D1")), Basis::AllDays, None);
        assert_eq!((l.days_in_span, l.days_present), (10, 8));
        assert!(l.covered(8_000));
        // Feb 2025's 下旬 has 8 days: 7 present is 87.5%, 6 is 75%.
        let feb = run("2025-02-21", 7, 100);
        assert!(level(&feb, &xun_span(x("2025-02-D3")), Basis::AllDays, None).covered(8_000));
        let feb = run("2025-02-21", 6, 100);
        assert!(!level(&feb, &xun_span(x("2025-02-D3")), Basis::AllDays, None).covered(8_000));
    }

    #[test]
    fn exactly_at_the_ratio_is_not_below() {
        let reference = Level {
            days_in_span: 10,
            days_present: 10,
            days_used: 10,
            total: 10_000 * 10_000,
        };
        // 300 kWh a day against 1000: exactly 30%.
        let at = Level {
            days_in_span: 11,
            days_present: 11,
            days_used: 11,
            total: 3_300 * 10_000,
        };
        assert!(!at.below(3_000, &reference));
        let under = Level {
            total: 3_300 * 10_000 - 1,
            ..at
        };
        assert!(under.below(3_000, &reference));
        assert!(reference.day_above(500 * 10_000 + 1, 5_000));
        assert!(!reference.day_above(500 * 10_000, 5_000));
    }

    #[test]
    fn workdays_answer_as_the_calendar_inside_and_outside_their_spans() {
        let cal = Calendar::official().unwrap();
        let spans = [
            xun_span(x("2026-10-D1")),
            xun_span(x("2025-10-D1")),
            NaiveDate::MIN..=d("2026-10-10"),
        ];
        let w = Workdays::new(Some(&cal), &spans);
        for day in d("2025-09-20").iter_days().take(420) {
            assert_eq!(w.is_worked(day), is_workday(Some(&cal), day), "{day}");
        }
        assert!(!w.is_worked(d("2026-10-01")) && w.is_worked(d("2026-10-10")));
        let none = Workdays::new(None, &[]);
        assert!(none.is_worked(d("2026-10-01")) && !none.is_worked(d("2026-10-03")));
    }

    #[test]
    fn working_days_leave_out_weekends_and_holidays() {
        let cal = Calendar::official().unwrap();
        // 2026-10-D1: 1–7 October are the National Day holiday; Thu 8 and Fri 9 are worked and
        // Sat 10 is a make-up workday (调休): 3 working days at 100 kWh, 7 days off at 10.
        let span = xun_span(x("2026-10-D1"));
        assert!(has_holiday(Some(&cal), &span));
        assert!(!has_holiday(Some(&cal), &xun_span(x("2026-11-D1"))));
        let mut days = run("2026-10-01", 10, 10);
        for w in d("2026-10-01").iter_days().take(10) {
            if is_workday(Some(&cal), w) {
                days.insert(w, 100 * 10_000);
            }
        }
        let l = level(&days, &span, Basis::WorkingDays, Some(&cal));
        assert_eq!((l.days_present, l.days_used), (10, 3));
        assert_eq!(l.average_kwh(), Some(100.0));
        // Over all days: (3 × 100 + 7 × 10) / 10 = 37 kWh.
        let all = level(&days, &span, Basis::AllDays, Some(&cal));
        assert_eq!(all.average_kwh(), Some(37.0));
    }
}
