//! The 旬 rules on hand-computed figures.

use std::collections::{HashMap, HashSet};

use super::*;
use crate::credit_code::CreditCode;
use crate::power::Days;
use crate::registry::Scale;

fn code(n: u32) -> CreditCode {
    CreditCode::with_check(&format!("91330781MA2X{n:05}")).unwrap()
}

fn enterprise(n: u32) -> Enterprise {
    Enterprise {
        credit_code: code(n),
        name: format!("企业{n}"),
        unit_code: "330781".into(),
        zone_code: None,
        industry_code: None,
        scale: Scale::Above,
        key: false,
        owner: None,
    }
}

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn x(s: &str) -> Xun {
    s.parse().unwrap()
}

/// `n` days from `from` at `kwh` kWh a day.
fn put(days: &mut Days, from: &str, n: usize, kwh: i64) {
    for day in d(from).iter_days().take(n) {
        days.insert(day, kwh * 10_000);
    }
}

struct Case {
    daily: HashMap<CreditCode, Days>,
    enterprises: Vec<Enterprise>,
    stalled_before: HashSet<String>,
    calendar: Calendar,
    pc: PowerConfig,
}

impl Case {
    fn new() -> Case {
        Case {
            daily: HashMap::new(),
            enterprises: Vec::new(),
            stalled_before: HashSet::new(),
            calendar: Calendar::official().unwrap(),
            pc: PowerConfig::default(),
        }
    }

    fn days(&mut self, n: u32) -> &mut Days {
        if !self.enterprises.iter().any(|e| e.credit_code == code(n)) {
            self.enterprises.push(enterprise(n));
        }
        self.daily.entry(code(n)).or_default()
    }

    fn table(&self) -> DailyTable {
        self.daily.clone().into_iter().collect()
    }

    fn run(&self, xun: &str) -> XunOutcome {
        self.run_in_parts(xun, usize::MAX)
    }

    /// [`Case::run`] with the registry judged in parts of `part_len` enterprises.
    fn run_in_parts(&self, xun: &str, part_len: usize) -> XunOutcome {
        let table = self.table();
        let names = HashMap::from([("330781".to_string(), "东岭区".to_string())]);
        let data = XunData {
            xun: x(xun),
            enterprises: &self.enterprises,
            unit_names: &names,
            city: Some("3307"),
            daily: &table,
            stalled_before: &self.stalled_before,
            calendar: Some(&self.calendar),
        };
        findings_in_parts(&data, &self.pc, &RulesConfig::default(), part_len)
    }
}

fn rules_of(o: &XunOutcome, n: u32) -> Vec<Rule> {
    let c = code(n).to_string();
    o.findings
        .iter()
        .filter(|f| f.subject == c)
        .map(|f| f.rule)
        .collect()
}

#[test]
fn exactly_thirty_percent_of_last_year_is_not_stalled() {
    // 2025-11-D1 at 1000 kWh a day; 2026-11-D1 at 300 (exactly 30%), 299 (29.9%) and 701
    // (70.1%: down 29.9%, no drop) and 700 (down exactly 30%: no drop either).
    let mut c = Case::new();
    for (n, kwh) in [(1, 300), (2, 299), (3, 701), (4, 700), (5, 699)] {
        put(c.days(n), "2025-11-01", 10, 1000);
        put(c.days(n), "2026-11-01", 10, kwh);
    }
    let o = c.run("2026-11-D1");
    assert_eq!(
        rules_of(&o, 1),
        [Rule::EnterprisePowerDrop],
        "30% is a drop, not a stall"
    );
    assert_eq!(rules_of(&o, 2), [Rule::EnterprisePowerStalled]);
    assert!(rules_of(&o, 3).is_empty());
    assert!(rules_of(&o, 4).is_empty());
    assert_eq!(rules_of(&o, 5), [Rule::EnterprisePowerDrop]);
    let stall = o
        .findings
        .iter()
        .find(|f| f.rule == Rule::EnterprisePowerStalled)
        .unwrap();
    assert_eq!(stall.values["kwh_per_day"], json!(299.0));
    assert_eq!(stall.values["reference_kwh_per_day"], json!(1000.0));
    assert_eq!(stall.values["xun"], json!("2026-11-D1"));
    assert_eq!(stall.period.to_string(), "2026-11");
    assert_eq!(stall.indicator, "electricity");
    assert_eq!(stall.scope, ["330781", "3307"]);
    assert_eq!(
        stall.message,
        "东岭区企业2：11月上旬日均用电299.0千瓦时，上年同旬1000.0千瓦时，为上年同旬的29.9%（低于30.0%），疑似停产。"
    );
    assert_eq!(o.judged.len(), 5);
    // The unit's 旬 growth over the five: (300+299+701+700+699) / 5000 − 1 = −46.02%.
    assert_eq!(o.units.len(), 2);
    let g = o.units[0].growth_pct.unwrap();
    assert!((g - -46.02).abs() < 1e-9, "{g}");
}

#[test]
fn a_xun_needs_eighty_percent_of_its_days() {
    // 2026-10-D3 has 11 days: 9 present (81.8%) is judged, 8 (72.7%) is not. The reference
    // 2025-10-D3 is complete at 1000; the 旬 runs at 100.
    let mut c = Case::new();
    for (n, present) in [(1, 9), (2, 8)] {
        put(c.days(n), "2025-10-21", 11, 1000);
        put(c.days(n), "2026-10-21", present, 100);
    }
    // A reference with 7 of 10 days is no reference: judged, but no rule can fire.
    put(c.days(3), "2025-10-21", 7, 1000);
    put(c.days(3), "2026-10-21", 11, 100);
    let o = c.run("2026-10-D3");
    assert_eq!(rules_of(&o, 1), [Rule::EnterprisePowerStalled]);
    assert_eq!(o.findings[0].values["days_in_xun"], json!(11));
    assert_eq!(o.findings[0].values["days_present"], json!(9));
    assert!(rules_of(&o, 2).is_empty());
    assert!(!o.judged.contains(&code(2)));
    assert!(rules_of(&o, 3).is_empty());
    assert!(o.judged.contains(&code(3)));
}

#[test]
fn february_last_xun_has_eight_or_nine_days() {
    // 2024-02-D3 (leap year) has 9 days, all at 1000; 2025-02-D3 has 8: 7 present at 200 is
    // 87.5% of its days and 20% of last year, 6 present is 75% and not judged.
    let mut c = Case::new();
    for (n, present) in [(1, 7), (2, 6)] {
        put(c.days(n), "2024-02-21", 9, 1000);
        put(c.days(n), "2025-02-21", present, 200);
    }
    let o = c.run("2025-02-D3");
    assert_eq!(rules_of(&o, 1), [Rule::EnterprisePowerStalled]);
    let f = &o.findings[0];
    assert_eq!(f.values["days_in_xun"], json!(8));
    assert_eq!(f.values["reference_days_used"], json!(9));
    assert_eq!(f.values["pct_of_reference"], json!(20.0));
    assert!(!o.judged.contains(&code(2)));
}

#[test]
fn a_holiday_xun_is_compared_over_working_days() {
    // 2026-02-D2 (11–20 Feb) has the Spring Festival from the 15th: working days 11, 12, 13 and
    // the make-up Saturday 14th (4). 2025-02-D2 has none: 8 working days, weekend 15–16.
    // Enterprise 1 uses 1000 kWh on working days and 0 on days off in both years: over all
    // days 400 against 800 (down 50%), over working days 1000 against 1000 — no finding.
    // Enterprise 2 uses 600 on working days this year: 60% of last year, down 40% — a drop.
    let mut c = Case::new();
    let cal = Calendar::official().unwrap();
    for (n, kwh) in [(1, 1000), (2, 600)] {
        let days = c.days(n);
        for (from, this) in [("2025-02-11", 1000), ("2026-02-11", kwh)] {
            for day in d(from).iter_days().take(10) {
                let v = if level::is_workday(Some(&cal), day) {
                    this
                } else {
                    0
                };
                days.insert(day, v * 10_000);
            }
        }
    }
    let o = c.run("2026-02-D2");
    assert!(rules_of(&o, 1).is_empty());
    assert_eq!(rules_of(&o, 2), [Rule::EnterprisePowerDrop]);
    let f = &o.findings[0];
    assert_eq!(f.values["basis"], json!("working_days"));
    assert_eq!(f.values["days_used"], json!(4));
    assert_eq!(f.values["reference_days_used"], json!(8));
    assert_eq!(f.values["pct_of_reference"], json!(60.0));
    assert!(
        f.message.contains("工作日日均用电600.0千瓦时"),
        "{}",
        f.message
    );
    // Without the calendar's working days the holiday would look like a 50% fall.
    let all = level::level(
        &c.daily[&code(1)],
        &level::xun_span(x("2026-02-D2")),
        Basis::AllDays,
        None,
    );
    assert_eq!(all.average_kwh(), Some(400.0));
}

#[test]
fn last_december_as_reference_and_resumption_above_half_every_day() {
    // Reference: December 2025 at 1000 kWh a day (31 days). 2026-03-D1 at 250 (25%): stalled.
    let mut c = Case::new();
    c.pc.reference = Reference::LastDecember;
    put(c.days(1), "2025-12-01", 31, 1000);
    put(c.days(1), "2026-03-01", 10, 250);
    // Enterprise 2, stalled before: every day of 2026-03-D1 at 600 (> 500): 复产.
    put(c.days(2), "2025-12-01", 31, 1000);
    put(c.days(2), "2026-03-01", 10, 600);
    // Enterprise 3, stalled before: 9 days at 900 and one at exactly 500 (not above half):
    // no 复产, and though its average (860) is far above 30% it stays 疑似停产.
    put(c.days(3), "2025-12-01", 31, 1000);
    put(c.days(3), "2026-03-01", 10, 900);
    c.days(3).insert(d("2026-03-05"), 500 * 10_000);
    c.stalled_before.insert(code(2).to_string());
    c.stalled_before.insert(code(3).to_string());
    let o = c.run("2026-03-D1");
    assert_eq!(rules_of(&o, 1), [Rule::EnterprisePowerStalled]);
    assert_eq!(rules_of(&o, 2), [Rule::EnterprisePowerResumed]);
    assert_eq!(rules_of(&o, 3), [Rule::EnterprisePowerStalled]);
    let f = o
        .findings
        .iter()
        .find(|f| f.subject == code(1).to_string())
        .unwrap();
    assert_eq!(f.values["reference"], json!("last_december"));
    assert_eq!(f.values["reference_days_used"], json!(31));
    assert!(f.message.contains("为上年12月的25.0%"), "{}", f.message);
}

#[test]
fn disabled_rules_are_left_out() {
    let mut c = Case::new();
    put(c.days(1), "2025-11-01", 10, 1000);
    put(c.days(1), "2026-11-01", 10, 100);
    let names = HashMap::new();
    let table = c.table();
    let data = XunData {
        xun: x("2026-11-D1"),
        enterprises: &c.enterprises,
        unit_names: &names,
        city: None,
        daily: &table,
        stalled_before: &c.stalled_before,
        calendar: Some(&c.calendar),
    };
    let cfg = RulesConfig {
        disabled: vec!["enterprise_power_stalled".into()],
        ..RulesConfig::default()
    };
    let o = findings(&data, &c.pc, &cfg);
    assert!(o.findings.is_empty());
    assert_eq!(o.judged.len(), 1);
}

#[test]
fn the_spans_read_are_all_the_rules_look_at() {
    // Each enterprise has days in every span of `spans` and outside them; the rules on only
    // the days of `spans_read` find what they find on all, under either reference, and last
    // December is read only when it is the reference.
    for reference in [Reference::SameXunLastYear, Reference::LastDecember] {
        let mut c = Case::new();
        c.pc.reference = reference;
        for (n, (dec, prev, cur)) in [
            (1000, 1000, 250),
            (200, 1000, 900),
            (1000, 1000, 650),
            (1000, 0, 1000),
        ]
        .into_iter()
        .enumerate()
        {
            let n = n as u32 + 1;
            put(c.days(n), "2025-11-20", 60, dec);
            if prev > 0 {
                put(c.days(n), "2025-10-01", 10, prev);
            }
            put(c.days(n), "2026-09-25", 16, cur);
        }
        c.stalled_before.insert(code(4).to_string());
        let all = c.run("2026-10-D1");
        let read = spans_read(x("2026-10-D1"), &c.pc);
        assert_eq!(
            read.len(),
            if reference == Reference::LastDecember {
                3
            } else {
                2
            }
        );
        for days in c.daily.values_mut() {
            days.retain(|d, _| read.iter().any(|s| s.contains(d)));
        }
        let only = c.run("2026-10-D1");
        assert_eq!(
            format!("{:?}", only.findings),
            format!("{:?}", all.findings)
        );
        assert_eq!(only.judged, all.judged);
        assert_eq!(only.units, all.units);
        assert!(!all.findings.is_empty(), "{reference:?}");
    }
}

#[test]
fn the_registry_judged_in_parts_gives_what_one_part_gives() {
    // Seven enterprises of every kind (stalled, stalled before and resumed, dropping, not
    // judged, growing) in two districts and a zone: judged one, two, three or all at a time,
    // the findings, the judged set and the units' sums (their order of addition kept) agree.
    let mut c = Case::new();
    for (n, prev, cur, days) in [
        (1, 1000, 250, 10),
        (2, 1000, 900, 10),
        (3, 1000, 650, 10),
        (4, 1000, 1000, 5),
        (5, 333, 777, 10),
        (6, 1000, 1000, 10),
        (7, 1234, 456, 9),
    ] {
        put(c.days(n), "2025-10-01", 10, prev);
        put(c.days(n), "2026-10-01", days, cur);
    }
    c.enterprises[1].unit_code = "330782".into();
    c.enterprises[4].zone_code = Some("330781Z1".into());
    c.stalled_before.insert(code(6).to_string());
    let whole = c.run("2026-10-D1");
    assert_eq!(whole.judged.len(), 6);
    assert_eq!(rules_of(&whole, 1), vec![Rule::EnterprisePowerStalled]);
    assert_eq!(rules_of(&whole, 6), vec![Rule::EnterprisePowerResumed]);
    assert_eq!(rules_of(&whole, 3), vec![Rule::EnterprisePowerDrop]);
    for part_len in [1, 2, 3, 7, 0] {
        let parted = c.run_in_parts("2026-10-D1", part_len);
        assert_eq!(
            format!("{:?}", parted.findings),
            format!("{:?}", whole.findings),
            "parts of {part_len}"
        );
        assert_eq!(parted.judged, whole.judged, "parts of {part_len}");
        assert_eq!(parted.units, whole.units, "parts of {part_len}");
    }
    assert_eq!(parts(7, 3), vec![0..3, 3..6, 6..7]);
    assert_eq!(parts(0, 3), Vec::<std::ops::Range<usize>>::new());
}
