//! The nowcast with daily electricity past its retention (issue 21, `[power]
//! daily_retention_months`): the pruned months' 旬 sums (`power_xun_total`) stand in for their
//! days, so that pruning changes neither the nowcast nor its backtest — on SQLite and
//! PostgreSQL, on four enterprises with weekly and holiday dips (the official calendar: the
//! partials of 10月上旬 and 1月上旬 are compared on working days, last year's from the pruned
//! sums) and a day revised before it was pruned.

mod common;

use std::fmt::Write as _;

use chrono::{Datelike, NaiveDate};
use common::shanghai as at;
use common::*;
use indmon::calendar::Calendar;
use indmon::forecast::{Span, forecast_unit};
use indmon::period::Period;
use indmon::power::Xun;
use indmon::power::level::is_workday;
use indmon::store::Store;

/// 南湖纺织 (东岭区), 东岭精密机械 (东岭区, 开发区), 北港化工 (东岭区, 开发区), 西山建材 (东岭区).
const CODES: [&str; 4] = [
    "913307811860913921",
    "9133078152601815XT",
    "91330781190937864H",
    "91330781462819483E",
];
const MAPPING: &str = "户号,统一社会信用代码,户名\n3300001,913307811860913921,南湖纺织\n3300002,9133078152601815XT,东岭精密\n3300003,91330781190937864H,北港化工\n3300004,91330781462819483E,西山建材\n";

/// Electricity growth of enterprise `e` in month `p`, percent.
fn growth(e: usize, p: Period) -> f64 {
    ((p.ordinal() + e as i32) % 7) as f64 - 2.0
}

/// Enterprise `e`'s daily kWh on a working day of month `p`: from 1000·(e + 1) in 2022, grown
/// by [`growth`] each year.
fn level(e: usize, p: Period) -> f64 {
    if p.year() <= 2022 {
        1000.0 * (e + 1) as f64
    } else {
        level(e, p.year_ago()) * (1.0 + growth(e, p) / 100.0)
    }
}

/// A day's kWh: a day off at 60% of a working day.
fn kwh(e: usize, d: NaiveDate, cal: &Calendar) -> f64 {
    let p = Period::new(d.year(), d.month()).unwrap();
    let off = if is_workday(Some(cal), d) { 1.0 } else { 0.6 };
    (level(e, p) * off).round()
}

/// The days of `days` of every enterprise as a power-daily file.
fn daily_file(days: &[NaiveDate], cal: &Calendar) -> String {
    let mut text = String::from("户号,日期,日用电量(千瓦时)\n");
    for e in 0..4 {
        for d in days {
            writeln!(text, "330000{},{d},{}", e + 1, kwh(e, *d, cal)).unwrap();
        }
    }
    text
}

/// Daily electricity from September 2022 to 10 November 2026: to 2024 a month's days on the
/// 3rd of the next month, from 2025 each 旬's the day after it ends; 5 March 2024 revised on 20
/// April 2024. Output from September 2023 to October 2026 with the form's 上年同期, on the 10th
/// of the next month: last year's times the electricity growth, plus or minus a point.
async fn history(store: &Store, dir: &tempfile::TempDir, cal: &Calendar) {
    registry(store).await;
    import_at(store, dir, "accounts.csv", MAPPING, at(2022, 8, 1, 8)).await;
    let mut p = period("2022-09");
    while p <= period("2024-12") {
        let n = p.next();
        let days = Xun::new(p, 1).unwrap().first_day().iter_days();
        let month: Vec<NaiveDate> = days.take_while(|d| d.month() == p.month()).collect();
        let name = format!("daily_{p}.csv");
        import_at(
            store,
            dir,
            &name,
            &daily_file(&month, cal),
            at(n.year(), n.month(), 3, 8),
        )
        .await;
        if p == period("2024-03") {
            let rev = "户号,日期,日用电量(千瓦时)\n3300001,2024-03-05,7\n";
            import_at(store, dir, "rev.csv", rev, at(2024, 4, 20, 8)).await;
        }
        p = n;
    }
    let mut xun = Xun::new(period("2025-01"), 1).unwrap();
    while xun.last_day() <= NaiveDate::from_ymd_opt(2026, 11, 10).unwrap() {
        let next = xun.last_day().succ_opt().unwrap();
        let name = format!("daily_{xun}.csv");
        let text = daily_file(&xun.days().collect::<Vec<_>>(), cal);
        import_at(
            store,
            dir,
            &name,
            &text,
            at(next.year(), next.month(), next.day(), 8),
        )
        .await;
        xun = Xun::containing(next).unwrap();
    }
    let mut p = period("2023-09");
    while p <= period("2026-10") {
        let mut text =
            String::from("credit_code,period,output,output_prev,output_ytd,output_ytd_prev\n");
        for (e, code) in CODES.iter().enumerate() {
            let prev = 100.0 * (e + 1) as f64;
            let wobble = (p.ordinal() % 3) as f64 - 1.0;
            let out = prev * (1.0 + (growth(e, p) + wobble) / 100.0);
            let m = f64::from(p.month());
            writeln!(
                text,
                "{code},{p},{out:.1},{prev:.1},{:.1},{:.1}",
                out * m,
                prev * m
            )
            .unwrap();
        }
        let n = p.next();
        let name = format!("sub_{p}.csv");
        import_at(store, dir, &name, &text, at(n.year(), n.month(), 10, 8)).await;
        p = n;
    }
}

/// The nowcast of November 2026 as of the 12th, 09:00 (上旬 in): every unit, as JSON.
async fn nowcast(store: &Store, cal: &Calendar) -> serde_json::Value {
    let as_of = at(2026, 11, 12, 9).timestamp_millis();
    let (span, inputs) = store
        .nowcast_inputs(period("2026-11"), as_of, Some(cal))
        .await
        .unwrap();
    assert_eq!(span, Span::of(period("2026-11")));
    let units: Vec<_> = inputs.iter().map(|u| forecast_unit(span, u)).collect();
    serde_json::to_value(units).unwrap()
}

#[tokio::test]
async fn pruning_daily_electricity_changes_neither_the_nowcast_nor_its_backtest() {
    let cal = Calendar::official().unwrap();
    for db in TestDb::all().await {
        let s = &db.store;
        let dir = tempfile::tempdir().unwrap();
        history(s, &dir, &cal).await;
        assert_eq!(
            s.count("power_daily_history").await.unwrap(),
            1,
            "{}",
            db.name
        );
        let before = nowcast(s, &cal).await;
        let district = before
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["code"] == "330781")
            .unwrap()
            .clone();
        assert!(district["reason"].is_null(), "{}: {district:#}", db.name);
        assert_eq!(district["partial"]["label"], "11月上旬", "{}", db.name);
        let months = district["backtest"]["months"].as_array().unwrap();
        assert_eq!(months.len(), 12, "{}: {district:#}", db.name);

        // `[power] daily_retention_months = 25` on 12 November 2026: the months before
        // November 2024 are summed by 旬 and deleted, with 5 March 2024's earlier revision.
        let worked = |d| is_workday(Some(&cal), d);
        let now = at(2026, 11, 12, 10).timestamp_millis();
        let pruned = s
            .prune_power_days(period("2024-11"), worked, now)
            .await
            .unwrap();
        assert_eq!(pruned.months.len(), 26, "{}: {pruned:?}", db.name);
        assert_eq!(pruned.months[0], "2022-09");
        assert_eq!(
            s.count("power_daily_history").await.unwrap(),
            0,
            "{}",
            db.name
        );
        assert_eq!(s.count("power_xun_total").await.unwrap(), 4 * 26 * 3);

        let after = nowcast(s, &cal).await;
        assert_eq!(before, after, "{}", db.name);
        db.cleanup().await;
    }
}
