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
fn a_month_makes_less_for_its_days_off_the_festival_s_month_least() {
    let f = |p: &str| month_factor(p.parse().unwrap());
    // 2023's festival in January (21–27), 2026's in February (15–23).
    assert!(
        f("2023-01") < 0.85 && f("2023-02") > 1.2,
        "{} {}",
        f("2023-01"),
        f("2023-02")
    );
    assert!(
        f("2026-01") > 1.05 && f("2026-02") < 0.85,
        "{} {}",
        f("2026-01"),
        f("2026-02")
    );
    // September 2025 has no holiday and a Sunday worked, September 2026 the Mid-Autumn days.
    assert!(f("2025-09") > f("2026-09") + 0.03);
    // Each month's factors average one over the calendar's years (2022–2026)…
    for m in 1..=12 {
        let mean: f64 = (2022..=2026)
            .map(|y| month_factor(Period::new(y, m).unwrap()))
            .sum::<f64>()
            / 5.0;
        assert!((mean - 1.0).abs() < 1e-9, "{m}: {mean}");
    }
    // …and are the sums of the days' weights.
    let s = DayShape::official();
    let w = |p: &str| -> f64 {
        days_of(p.parse().unwrap())
            .iter()
            .map(|d| s.weight(*d))
            .sum()
    };
    let ratio = f("2024-10") / f("2025-10");
    assert!((ratio - w("2024-10") / w("2025-10")).abs() < 1e-12);
    assert_eq!(f("2031-05"), 1.0, "beyond the calendar");
}

#[test]
fn january_and_february_each_sum_to_their_own_electricity() {
    let s = DayShape::official();
    let mut r = Rng::new(11);
    for (p, factor) in [("2026-01", 1.0), ("2026-02", 1.0)] {
        let m = month(p, 1_000_000, factor);
        let days = month_days(&s, &m, 1, 1.0, &mut r);
        let sum: i64 = days.iter().map(|(_, k)| k).sum();
        assert!((sum - 1_000_000).abs() <= 40_000 + 31, "{p}: {sum}");
    }
    // The festival's days at 0.22 of a working day in the same month.
    let feb = month_days(&s, &month("2026-02", 1_000_000, 1.0), 1, 1.0, &mut r);
    let kwh = |day: &str| feb.iter().find(|(x, _)| *x == d(day)).unwrap().1 as f64;
    let ratio = kwh("2026-02-17") / kwh("2026-02-03");
    assert!((ratio - 0.22).abs() < 0.22 * 0.09, "{ratio}");
}

#[test]
fn a_month_sums_to_its_electricity_within_the_noise() {
    let s = DayShape::official();
    let mut r = Rng::new(7);
    // 1,000,000 万千瓦时 raw = 1,000,000 kWh reported; meter factor 1.05.
    let m = month("2026-03", 1_000_000, 1.0);
    let days = month_days(&s, &m, 1, 1.05, &mut r);
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
    let days = month_days(&s, &m, STOP_DAY, 1.0, &mut r);
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
