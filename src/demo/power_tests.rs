use super::*;
use crate::demo::enterprise::{Arrival, Figures};

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn month(p: &str, electricity: i64, factor: f64) -> Month {
    Month {
        period: p.parse().unwrap(),
        figures: Figures {
            electricity,
            ..Figures::default()
        },
        arrival: Arrival::OnTime,
        factor,
    }
}

#[test]
fn the_days_follow_the_calendar_and_the_festival() {
    let s = DayShape::official();
    // 2026: 春节 15–23 February off; Saturday 14 February worked, a week before the festival.
    assert_eq!(s.weight(d("2026-02-17")), 0.22);
    assert_eq!(s.weight(d("2026-02-14")), 0.85);
    assert_eq!(s.weight(d("2026-02-08")), 0.72, "an ordinary Sunday");
    assert_eq!(s.weight(d("2026-02-07")), 0.88, "an ordinary Saturday");
    assert_eq!(s.weight(d("2026-02-24")), 0.55, "first day back");
    assert_eq!(
        s.weight(d("2026-02-28")),
        0.75,
        "Saturday worked, fifth day back"
    );
    assert_eq!(s.weight(d("2026-03-10")), 1.0);
    // National Day: a holiday, not the festival; 10 October 2026 a Saturday worked.
    assert_eq!(s.weight(d("2026-10-05")), 0.45);
    assert_eq!(s.weight(d("2026-10-10")), 1.0);
    // 2023's festival in January (21–27), 2022's from 31 January.
    assert_eq!(s.weight(d("2023-01-25")), 0.22);
    assert_eq!(s.weight(d("2023-02-15")), 1.0);
    assert_eq!(s.weight(d("2022-02-03")), 0.22);
    assert_eq!(
        s.weight(d("2022-12-31")),
        0.45,
        "元旦 2023 starts on a Saturday"
    );
}

#[test]
fn the_cached_weights_are_the_computed_ones() {
    let s = DayShape::official();
    let c = DayShape::official().cached(d("2025-12-20")..=d("2026-03-10"));
    for day in d("2025-12-01").iter_days().take(120) {
        assert_eq!(s.weight(day), c.weight(day), "{day}");
    }
}

#[test]
fn january_and_february_are_spread_together_other_months_alone() {
    let ms: Vec<Month> = ["2025-12", "2026-01", "2026-02", "2026-03"]
        .iter()
        .map(|p| month(p, 1_000_000, 1.0))
        .collect();
    let refs: Vec<&Month> = ms.iter().collect();
    let lens: Vec<usize> = spans(&refs).iter().map(Vec::len).collect();
    assert_eq!(lens, [1, 2, 1]);
    // A February alone (the files starting there) is a span of its own.
    assert_eq!(spans(&refs[2..]).len(), 2);
}

#[test]
fn a_month_sums_to_its_electricity_within_the_noise() {
    let s = DayShape::official();
    let mut r = Rng::new(7);
    // 1,000,000 万千瓦时 raw = 1,000,000 kWh reported; meter factor 1.05.
    let m = month("2026-03", 1_000_000, 1.0);
    let days = span_days(&s, &[(&m, 1)], 1.05, &mut r);
    assert_eq!(days.len(), 31);
    let sum: i64 = days.iter().map(|(_, k)| k).sum();
    assert!((sum - 1_050_000).abs() <= 42_000 + 31, "{sum}");
    // Sundays below the weekdays of the same week.
    let kwh = |day: &str| days.iter().find(|(x, _)| *x == d(day)).unwrap().1;
    assert!(kwh("2026-03-08") < kwh("2026-03-09") * 80 / 100);
}

#[test]
fn a_plant_stopping_on_the_third_runs_normally_two_days_then_at_its_base_load() {
    let s = DayShape::official();
    let mut r = Rng::new(9);
    // Stalled (factor 0): reported 100,000 kWh is the 10% base load of a 1,000,000 month.
    let m = month("2026-11", 100_000, 0.0);
    let days = span_days(&s, &[(&m, STOP_DAY)], 1.0, &mut r);
    // 2 and 3 November 2026 are Monday and Tuesday: one at the normal level, one at 10%.
    let (mon, tue) = (days[1].1 as f64, days[2].1 as f64);
    assert!(tue / mon < 0.1 * 1.04 / 0.96 + 1e-9, "{mon} {tue}");
    assert!(tue / mon > 0.1 * 0.96 / 1.04 - 1e-9, "{mon} {tue}");
}

#[test]
fn accounts_are_unique_per_enterprise_and_index() {
    assert_eq!(account_number(123, 1), "3100001231");
    assert_ne!(account_number(12, 1), account_number(1, 21));
}
