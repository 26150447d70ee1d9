//! Hand-computed figures for the nowcast: regression, intervals, errors, the split, the 24-month
//! rule, 1—2月 together, and the year's projections.

use std::collections::BTreeMap;

use super::backtest::{self, BacktestMonth, Method, error_band, percentile};
use super::*;

fn p(s: &str) -> Period {
    s.parse().unwrap()
}

fn month(period: &str, output: f64, output_prev: f64) -> Month {
    Month {
        period: p(period),
        output,
        output_prev,
        ytd: None,
    }
}

fn close(a: f64, b: f64) {
    assert!((a - b).abs() < 1e-9, "{a} != {b}");
}

#[test]
fn least_squares_line_by_hand() {
    // x̄ = 2.5, ȳ = 4; Sxy = 1.5·2 + 0.5·1 + 0.5·1 + 1.5·2 = 7, Sxx = 5: slope 1.4, 4 − 3.5 = 0.5.
    let f = ols::fit(&[(1.0, 2.0), (2.0, 3.0), (3.0, 5.0), (4.0, 6.0)]).unwrap();
    close(f.slope, 1.4);
    close(f.intercept, 0.5);
    close(f.predict(10.0), 14.5);
    assert_eq!(f.pairs, 4);
    assert!(
        ols::fit(&[(2.0, 1.0), (2.0, 5.0)]).is_none(),
        "no line through one x"
    );
    assert!(ols::fit(&[(2.0, 1.0)]).is_none());
}

#[test]
fn interval_is_the_tenth_and_ninetieth_percentile_of_errors() {
    // Sorted −2 −1 0 1 3: position 0.4 → −2 + 0.4·1 = −1.6; position 3.6 → 1 + 0.6·2 = 2.2.
    let e = [3.0, -1.0, 0.0, -2.0, 1.0];
    let (lo, hi) = error_band(&e).unwrap();
    close(lo, -1.6);
    close(hi, 2.2);
    assert_eq!(error_band(&e[..4]), None, "four errors are too few");
    close(percentile(&[1.0, 2.0], 0.5).unwrap(), 1.5);
    close(backtest::mae(&[1.0, -2.0, 3.0]).unwrap(), 2.0);
}

fn bm(i: u32, actual: f64, model: f64, naive: f64) -> BacktestMonth {
    let s = Span::of(Period::new(2026, 3 + i).unwrap());
    BacktestMonth {
        span: s,
        label: s.label(),
        actual,
        model,
        naive,
        model_interval: None,
        naive_interval: None,
    }
}

#[test]
fn choice_on_the_earlier_half_error_on_the_later_half() {
    // Errors (final − forecast): model 1, −0.5, 0 | −1, 1, −0.5; naive −1, 2, 1 | −2, 3, −4.
    let bt = backtest::score(vec![
        bm(0, 5.0, 4.0, 6.0),
        bm(1, 5.0, 5.5, 3.0),
        bm(2, 6.0, 6.0, 5.0),
        bm(3, 4.0, 5.0, 6.0),
        bm(4, 7.0, 6.0, 4.0),
        bm(5, 3.0, 3.5, 7.0),
    ]);
    assert_eq!(bt.split, 3);
    close(bt.model.mae_earlier.unwrap(), 0.5);
    close(bt.naive.mae_earlier.unwrap(), 4.0 / 3.0);
    assert_eq!(bt.choice, Some(Method::Model));
    close(bt.chosen_mae.unwrap(), 2.5 / 3.0);
    close(bt.model.mae.unwrap(), 4.0 / 6.0);
    close(bt.naive.mae_later.unwrap(), 3.0);
    // Only the sixth month has five earlier errors. Model: −1 −0.5 0 1 1 → −0.8, 1.0 around
    // 3.5 = 2.7..4.5, holds 3. Naive: −2 −1 1 2 3 → −1.6, 2.6 around 7 = 5.4..9.6, misses.
    assert_eq!(bt.months[4].model_interval, None);
    let (lo, hi) = bt.months[5].model_interval.unwrap();
    close(lo, 2.7);
    close(hi, 4.5);
    let (lo, hi) = bt.months[5].naive_interval.unwrap();
    close(lo, 5.4);
    close(hi, 9.6);
    assert_eq!((bt.model.intervals, bt.model.held), (1, 1));
    assert_eq!((bt.naive.intervals, bt.naive.held), (1, 0));
}

#[test]
fn the_later_half_does_not_choose() {
    // Naive better on the earlier half (0 against 1), model far better later: naive is shown,
    // with its own later error (4), not the model's (0).
    let bt = backtest::score(vec![
        bm(0, 5.0, 4.0, 5.0),
        bm(1, 5.0, 6.0, 5.0),
        bm(2, 5.0, 5.0, 1.0),
        bm(3, 5.0, 5.0, 9.0),
    ]);
    assert_eq!(bt.choice, Some(Method::Naive));
    close(bt.chosen_mae.unwrap(), 4.0);
    close(bt.model.mae_later.unwrap(), 0.0);
    // A tie goes to the naive forecast; one month chooses nothing.
    let tie = backtest::score(vec![bm(0, 5.0, 4.0, 6.0), bm(1, 5.0, 5.0, 5.0)]);
    assert_eq!(tie.choice, Some(Method::Naive));
    let one = backtest::score(vec![bm(0, 5.0, 4.0, 6.0)]);
    assert_eq!((one.choice, one.chosen_mae), (None, None));
}

#[test]
fn january_and_february_are_one_span() {
    let jf = Span::of(p("2026-01"));
    assert_eq!(jf, Span::of(p("2026-02")));
    assert_eq!(
        (jf.first, jf.last, jf.months()),
        (p("2026-01"), p("2026-02"), 2)
    );
    assert_eq!(jf.label(), "1—2月");
    assert_eq!(Span::of(p("2026-03")).prev(), jf);
    assert_eq!(jf.prev(), Span::of(p("2025-12")));
    // 90 + 124 against 100 + 100: 7%, not −10% and 24%.
    let months = [
        month("2026-01", 90.0, 100.0),
        month("2026-02", 124.0, 100.0),
    ];
    let by = months.iter().map(|m| (m.period, m)).collect();
    close(growth(jf, &by).unwrap(), 7.0);
    let by = months[1..].iter().map(|m| (m.period, m)).collect();
    assert_eq!(growth(jf, &by), None, "February alone is not 1—2月");
    // The 24 months before October 2026 are 22 spans: two of them 1—2月.
    let t = Span::of(p("2026-10")).trailing(24);
    assert_eq!(t.len(), 22);
    assert_eq!(t[0], Span::of(p("2024-10")));
    assert_eq!(t[3], Span::of(p("2025-02")));
    assert_eq!(t[21], Span::of(p("2026-09")));
}

/// 24 months before October 2026 (22 spans): electricity growth 2 on even spans, 6 on odd ones;
/// output growth 2, 4, 2, 4 … (mean 3) on the first, 6, 8 … (mean 7) on the second, and the two
/// 1—2月 at the groups' means (2025: 90 + 124 → 7; 2026: 110 + 96 → 3). With two values of x
/// the line runs through both groups' means: slope (7 − 3) / (6 − 2) = 1, intercept 1.
fn history() -> Known {
    let mut k = Known::default();
    let (mut even, mut odd) = (0, 0);
    for (i, s) in Span::of(p("2026-10")).trailing(24).into_iter().enumerate() {
        let x = if i % 2 == 0 { 2.0 } else { 6.0 };
        k.power.insert(s.last, x);
        if s.months() == 2 {
            let (jan, feb) = if i % 2 == 0 {
                (110.0, 96.0)
            } else {
                (90.0, 124.0)
            };
            k.months.push(Month {
                period: s.first,
                output: jan,
                output_prev: 100.0,
                ytd: None,
            });
            k.months.push(Month {
                period: s.last,
                output: feb,
                output_prev: 100.0,
                ytd: None,
            });
            continue;
        }
        let y = if i % 2 == 0 {
            even += 1;
            if even % 2 == 0 { 4.0 } else { 2.0 }
        } else {
            odd += 1;
            if odd % 2 == 0 { 8.0 } else { 6.0 }
        };
        k.months.push(Month {
            period: s.first,
            output: 100.0 + y,
            output_prev: 100.0,
            ytd: None,
        });
    }
    // Before the window: not counted.
    k.months.push(month("2024-09", 150.0, 100.0));
    k.power.insert(p("2024-09"), 2.0);
    k.partial = Some(Partial {
        growth_pct: 4.0,
        label: "10月上中旬".into(),
    });
    k
}

#[test]
fn model_on_twenty_four_months_with_one_two_together() {
    let k = history();
    let (f, fit) = model_forecast(Span::of(p("2026-10")), &k).unwrap();
    assert_eq!(fit.pairs, 22);
    close(fit.slope, 1.0);
    close(fit.intercept, 1.0);
    close(f, 5.0);
    // The naive forecast: September's growth, the tenth of 6, 8, 6, 8 …: 8%.
    close(naive_forecast(Span::of(p("2026-10")), &k).unwrap(), 8.0);
}

#[test]
fn fewer_than_twenty_four_paired_months_gives_no_forecast() {
    let mut k = history();
    k.power.remove(&p("2025-05"));
    let e = model_forecast(Span::of(p("2026-10")), &k).unwrap_err();
    assert_eq!(e, NoForecast::ShortHistory { months: 23 });
    assert!(
        e.message()
            .starts_with("历史不足24个月 (fewer than 24 months of paired history)")
    );
    // Without January 2026, 1—2月 is gone: two months short.
    let mut k = history();
    k.months.retain(|m| m.period != p("2026-01"));
    let e = model_forecast(Span::of(p("2026-10")), &k).unwrap_err();
    assert_eq!(e, NoForecast::ShortHistory { months: 22 });
    // Electricity keyed at January is not 1—2月's.
    let mut k = history();
    let x = k.power.remove(&p("2026-02")).unwrap();
    k.power.insert(p("2026-01"), x);
    assert_eq!(
        model_forecast(Span::of(p("2026-10")), &k).unwrap_err(),
        NoForecast::ShortHistory { months: 22 }
    );
    let input = UnitInput {
        code: "330100".into(),
        vintages: BTreeMap::from([(p("2026-10"), k)]),
        ..UnitInput::default()
    };
    let u = forecast_unit(Span::of(p("2026-10")), &input);
    assert_eq!((u.shown, u.month), (None, None));
    assert_eq!(u.reason, Some(NoForecast::ShortHistory { months: 22 }));
}

/// The year's figures known at October 2026's cut-off: 1—9月 951 against 900, last year's
/// October 100, November 110, December 90; September +6%, August 0%.
fn year_known() -> Known {
    let mut sep = month("2026-09", 106.0, 100.0);
    sep.ytd = Some((951.0, 900.0));
    Known {
        months: vec![
            month("2025-10", 100.0, 95.0),
            month("2025-11", 110.0, 100.0),
            month("2025-12", 90.0, 80.0),
            month("2026-08", 100.0, 100.0),
            sep,
        ],
        ..Known::default()
    }
}

#[test]
fn ytd_and_year_end_by_hand() {
    let k = year_known();
    let oct = Span::of(p("2026-10"));
    // 1—10月: (951 + 100 · 1.09) / (900 + 100) = 1060 / 1000: 6%.
    close(year::ytd(oct, 9.0, &k).unwrap(), 6.0);
    // Trend (9 + 6 + 0) / 3 = 5; year (1060 + 200 · 1.05) / 1200 = 1270 / 1200.
    close(year::trend(oct, 9.0, &k).unwrap(), 5.0);
    close(year::year_end(oct, 9.0, &k).unwrap(), 70.0 / 12.0);
    // At the interval's low end 7: 1—10月 1058 / 1000; trend 13/3; year
    // (1058 + 200 + 200 · 13/300) / 1200 = 1266⅔ / 1200 = 1 + 5/90.
    close(year::ytd(oct, 7.0, &k).unwrap(), 5.8);
    close(year::year_end(oct, 7.0, &k).unwrap(), 50.0 / 9.0);
    // Without last year's December there is no year end.
    let mut k2 = k.clone();
    k2.months.retain(|m| m.period != p("2025-12"));
    assert_eq!(year::year_end(oct, 9.0, &k2), None);
    // 1—2月: the span's own estimate is the year to date.
    let k3 = Known {
        months: vec![month("2025-01", 50.0, 40.0), month("2025-02", 70.0, 60.0)],
        ..Known::default()
    };
    close(year::ytd(Span::of(p("2026-02")), 4.5, &k3).unwrap(), 4.5);
}

/// Months 2023-01 … 2026-11 with output growth `1 + x` exactly, x = 0, 1, 2, 3, 4, 0, 1, …;
/// each span's vintage knows the months before it and a partial growth `x + δ`, δ = 0.1 · k.
fn exact_input() -> UnitInput {
    let mut finals = Vec::new();
    let mut power = BTreeMap::new();
    let mut k = 0usize;
    let mut s = Span::of(p("2023-01"));
    let mut xs = BTreeMap::new();
    while s.last <= p("2026-11") {
        let x = (k % 5) as f64;
        for q in s.periods() {
            finals.push(Month {
                period: q,
                output: 100.0 + 1.0 + x,
                output_prev: 100.0,
                ytd: None,
            });
        }
        power.insert(s.last, x);
        xs.insert(s.last, (x, k));
        k += 1;
        s = Span::of(s.last.next());
    }
    let vintages = xs
        .iter()
        .map(|(last, (x, k))| {
            let first = Span::of(*last).first;
            let known = Known {
                months: finals
                    .iter()
                    .filter(|m| m.period < first)
                    .cloned()
                    .collect(),
                power: power.range(..first).map(|(a, b)| (*a, *b)).collect(),
                partial: Some(Partial {
                    growth_pct: x + 0.1 * *k as f64,
                    label: String::new(),
                }),
            };
            (*last, known)
        })
        .collect();
    UnitInput {
        code: "u".into(),
        finals,
        vintages,
        target_pct: Some(5.0),
        ..UnitInput::default()
    }
}

#[test]
fn backtest_takes_the_last_twelve_spans_forecast_from_their_own_vintage() {
    let input = exact_input();
    let bt = backtest::run(Span::of(p("2026-12")), &input);
    let labels: Vec<_> = bt.months.iter().map(|m| m.label.as_str()).collect();
    assert_eq!(
        labels,
        [
            "11月", "12月", "1—2月", "3月", "4月", "5月", "6月", "7月", "8月", "9月", "10月",
            "11月"
        ]
    );
    assert_eq!(bt.months[0].span.first, p("2025-11"));
    // The line is y = 1 + x; each forecast is off by its vintage's δ = 0.1 · k, k the span's
    // index from 2023's 1—2月 (0; 2023-03 … 12 are 1 … 10, 2024's 11 … 21, 2025-11 is 31).
    for (i, m) in bt.months.iter().enumerate() {
        close(m.actual - m.model, -0.1 * (31 + i) as f64);
    }
    assert_eq!(bt.split, 6);
    close(
        bt.model.mae_later.unwrap(),
        0.1 * (37 + 38 + 39 + 40 + 41 + 42) as f64 / 6.0,
    );
}

#[test]
fn units_sum_enterprises_with_both_years_and_four_fifths_of_their_days() {
    use super::assemble::{OutputRow, Reading, XunPower, known_by_unit};
    use crate::power::Xun;
    use std::collections::HashMap;
    let x = |s: &str, k: u8| Xun::new(p(s), k).unwrap();
    let pw = |c: &str, xun: Xun, days: u32, per_day: i64| XunPower {
        credit_code: c.into(),
        xun,
        days,
        kwh: per_day * i64::from(days),
        work_days: days,
        work_kwh: per_day * i64::from(days),
    };
    let mut power = Vec::new();
    for k in [1, 2] {
        // A: 1100 a day against 1000; B: 8 of 10 days at 600 against 500; C: 7 of 10 days.
        power.push(pw("A", x("2026-10", k), 10, 1100));
        power.push(pw("A", x("2025-10", k), 10, 1000));
        power.push(pw("B", x("2026-10", k), 8, 600));
        power.push(pw("B", x("2025-10", k), 10, 500));
        power.push(pw("C", x("2026-10", k), 7, 9000));
        power.push(pw("C", x("2025-10", k), 10, 100));
    }
    // October's 下旬 ends after the cut-off: not in the partial growth.
    power.push(pw("A", x("2026-10", 3), 11, 5000));
    power.push(pw("A", x("2025-10", 3), 11, 1000));
    let row = |c: &str, o: Option<i64>, op: Option<i64>, y: i64, yp: i64| OutputRow {
        credit_code: c.into(),
        period: p("2026-09"),
        output: o.map(|v| v * 10_000),
        output_prev: op.map(|v| v * 10_000),
        output_ytd: Some(y * 10_000),
        output_ytd_prev: Some(yp * 10_000),
    };
    let reading = Reading {
        outputs: vec![
            row("A", Some(110), Some(100), 1000, 900),
            row("B", Some(50), None, 500, 450),
        ],
        power,
    };
    let both = vec!["D1".to_string(), "CITY".to_string()];
    let members: HashMap<String, Vec<String>> = ["A", "B", "C"]
        .iter()
        .map(|c| (c.to_string(), both.clone()))
        .collect();
    let cut = chrono::NaiveDate::from_ymd_opt(2026, 10, 21).unwrap();
    let known = known_by_unit(Span::of(p("2026-10")), cut, &reading, &members, None);
    let d1 = &known["D1"];
    let partial = d1.partial.as_ref().unwrap();
    assert_eq!(partial.label, "10月上中旬");
    // (1100 + 600) / (1000 + 500): 13⅓%.
    close(partial.growth_pct, 40.0 / 3.0);
    // September: A alone for the month (B has no base), both for the year to date.
    assert_eq!(d1.months.len(), 1);
    close(d1.months[0].output, 110.0);
    close(d1.months[0].output_prev, 100.0);
    assert_eq!(d1.months[0].ytd, Some((1500.0, 1350.0)));
    assert_eq!(known["CITY"], known["D1"]);
}

#[test]
fn without_the_forms_prior_year_figure_the_enterprises_own_report_a_year_earlier_is_the_base() {
    use super::assemble::{OutputRow, Reading, known_by_unit};
    use std::collections::HashMap;
    let row = |c: &str, per: &str, o: i64, op: Option<i64>, y: i64| OutputRow {
        credit_code: c.into(),
        period: p(per),
        output: Some(o * 10_000),
        output_prev: op.map(|v| v * 10_000),
        output_ytd: Some(y * 10_000),
        output_ytd_prev: None,
    };
    // A reported September both years (108 on 100; 1—9月 950 on 900); B only this year: out.
    let reading = Reading {
        outputs: vec![
            row("A", "2025-09", 100, None, 900),
            row("A", "2026-09", 108, None, 950),
            row("B", "2026-09", 40, None, 300),
        ],
        power: Vec::new(),
    };
    let members: HashMap<String, Vec<String>> = ["A", "B"]
        .iter()
        .map(|c| (c.to_string(), vec!["D1".to_string()]))
        .collect();
    let cut = chrono::NaiveDate::from_ymd_opt(2026, 10, 21).unwrap();
    let known = known_by_unit(Span::of(p("2026-10")), cut, &reading, &members, None);
    let sep = known["D1"]
        .months
        .iter()
        .find(|m| m.period == p("2026-09"))
        .unwrap();
    close(sep.output, 108.0);
    close(sep.output_prev, 100.0);
    assert_eq!(sep.ytd, Some((950.0, 900.0)));
}
