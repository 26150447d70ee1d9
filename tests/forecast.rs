//! The nowcast against the store (issue 21): figures read as they were known at each cut-off,
//! so that a revision received after it changes nothing — on SQLite and PostgreSQL — and the
//! `indmon forecast` command.

mod common;

use std::fmt::Write as _;
use std::process::Command;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use common::shanghai as at;
use common::*;
use indmon::forecast::{Method, Span, forecast_unit};
use indmon::period::Period;
use indmon::power::Xun;
use indmon::store::Store;

/// 南湖纺织, district 东岭区 (330781), city 示例市 (3307).
const NANHU: &str = "913307811860913921";
const MAPPING: &str = "户号,统一社会信用代码,户名\n3300001,913307811860913921,南湖纺织\n";

/// Electricity growth of a month: 0, 1, 2, 3, 4 by its ordinal.
fn x(p: Period) -> f64 {
    (p.ordinal() % 5) as f64
}

/// Daily kWh of a month: 1000 in 2022, then last year's times `1 + x`.
fn daily_kwh(p: Period) -> f64 {
    if p.year() <= 2022 {
        1000.0
    } else {
        daily_kwh(p.year_ago()) * (1.0 + x(p) / 100.0)
    }
}

/// Output of a month (万元): 100 a year earlier, `1 + x` percent more, ± 0.5.
fn output(p: Period) -> f64 {
    100.0 + 1.0 + x(p) + 0.5 * ((p.ordinal() % 3) as f64 - 1.0)
}

/// Each 旬's days delivered the morning after it ends, from September 2022 to 2026-10-20; each
/// month's submission on the 10th of the next, from September 2023 to September 2026.
async fn history(store: &Store, dir: &tempfile::TempDir) {
    registry(store).await;
    import_at(store, dir, "accounts.csv", MAPPING, at(2022, 8, 1, 8)).await;
    let mut xun = Xun::new(period("2022-09"), 1).unwrap();
    while xun.last_day() <= NaiveDate::from_ymd_opt(2026, 10, 20).unwrap() {
        let mut text = String::from("户号,日期,日用电量(千瓦时)\n");
        for d in xun.days() {
            let p = Period::new(d.year(), d.month()).unwrap();
            writeln!(text, "3300001,{d},{:.0}", daily_kwh(p)).unwrap();
        }
        let next = xun.last_day().succ_opt().unwrap();
        import_at(
            store,
            dir,
            &format!("daily_{xun}.csv"),
            &text,
            at(next.year(), next.month(), next.day(), 8),
        )
        .await;
        xun = Xun::new(
            if xun.part() == 3 {
                xun.period().next()
            } else {
                xun.period()
            },
            xun.part() % 3 + 1,
        )
        .unwrap();
    }
    let mut p = period("2023-09");
    while p <= period("2026-09") {
        let ytd: f64 = (1..=p.month())
            .map(|m| output(Period::new(p.year(), m).unwrap()))
            .sum();
        let text = format!(
            "credit_code,period,output,output_prev,output_ytd,output_ytd_prev\n{NANHU},{p},{:.1},100,{ytd:.1},{}\n",
            output(p),
            100 * p.month()
        );
        let n = p.next();
        import_at(
            store,
            dir,
            &format!("sub_{p}.csv"),
            &text,
            at(n.year(), n.month(), 10, 8),
        )
        .await;
        p = n;
    }
}

/// The nowcast of October 2026 as of the 21st, 09:00 (上中旬 in): every unit, as JSON.
async fn nowcast(store: &Store, as_of: DateTime<Utc>) -> serde_json::Value {
    let (span, inputs) = store
        .nowcast_inputs(period("2026-10"), as_of.timestamp_millis(), None)
        .await
        .unwrap();
    assert_eq!(span, Span::of(period("2026-10")));
    let units: Vec<_> = inputs.iter().map(|u| forecast_unit(span, u)).collect();
    serde_json::to_value(units).unwrap()
}

#[tokio::test]
async fn a_revision_received_after_the_cut_off_is_not_used() {
    for db in TestDb::all().await {
        let s = &db.store;
        let dir = tempfile::tempdir().unwrap();
        history(s, &dir).await;
        let as_of = at(2026, 10, 21, 9);
        let before = nowcast(s, as_of).await;
        let district = before
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["code"] == "330781")
            .unwrap();
        // The model runs on 24 months and is exact on whole months (output growth 1 + x ± 0.5):
        // it is chosen, with twelve backtest months and an interval.
        assert_eq!(
            district["reason"],
            serde_json::Value::Null,
            "{}: {district:#}",
            db.name
        );
        assert_eq!(
            district["shown"],
            serde_json::json!(Method::Model),
            "{}",
            db.name
        );
        assert_eq!(district["backtest"]["months"].as_array().unwrap().len(), 12);
        assert_eq!(district["partial"]["label"], "10月上中旬");
        assert!(district["month"]["low"].is_f64(), "{district:#}");
        let model = district["month"]["pct"].as_f64().unwrap();
        // October's x is 2026·12 + 9 ≡ 1 (mod 5): 1 + 1 ± the fit's noise.
        assert!((model - 2.0).abs() < 0.6, "{model}");

        // Revisions received on November 1st: September's output (a backtest month's final
        // figure and the naive forecast), and the days of October's 上旬 and of last October
        // (the span's electricity and its base).
        let later = at(2026, 11, 1, 8);
        import_at(
            s,
            &dir,
            "sub_rev.csv",
            &format!("credit_code,period,output,output_prev\n{NANHU},2026-09,150,100\n"),
            later,
        )
        .await;
        let mut text = String::from("户号,日期,日用电量(千瓦时)\n");
        for d in 1..=10 {
            writeln!(text, "3300001,2026-10-{d:02},1").unwrap();
            writeln!(text, "3300001,2025-10-{d:02},99999").unwrap();
        }
        import_at(s, &dir, "daily_rev.csv", &text, later).await;
        assert_eq!(
            s.count("power_daily_history").await.unwrap(),
            20,
            "{}",
            db.name
        );

        let after = nowcast(s, as_of).await;
        assert_eq!(
            before, after,
            "{}: a later revision changed the nowcast",
            db.name
        );

        // Read after the revision, the same months do change: the test could fail.
        let old = s
            .forecast_reading(
                period("2026-09"),
                period("2026-10"),
                as_of.timestamp_millis(),
                None,
            )
            .await
            .unwrap();
        let new = s
            .forecast_reading(
                period("2026-09"),
                period("2026-10"),
                later.timestamp_millis(),
                None,
            )
            .await
            .unwrap();
        let sep = |r: &indmon::forecast::assemble::Reading| {
            r.outputs
                .iter()
                .find(|o| o.period == period("2026-09"))
                .and_then(|o| o.output)
        };
        assert_eq!(
            sep(&old),
            Some((output(period("2026-09")) * 10.0).round() as i64 * 1000)
        );
        assert_eq!(sep(&new), Some(150 * 10_000));
        let first = |r: &indmon::forecast::assemble::Reading| {
            r.power
                .iter()
                .find(|p| p.xun == Xun::new(period("2026-10"), 1).unwrap())
                .map(|p| p.kwh)
        };
        assert_eq!(first(&new), Some(10 * 10_000));
        assert_ne!(first(&old), first(&new));
        db.cleanup().await;
    }
}

fn indmon(url: &str, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_indmon"))
        .env_remove("INDMON_DATABASE_URL")
        .args(["--database", url])
        .args(args)
        .output()
        .expect("run indmon");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[tokio::test]
async fn forecast_command_prints_each_unit_with_its_error() {
    for db in TestDb::all().await {
        let dir = tempfile::tempdir().unwrap();
        history(&db.store, &dir).await;
        let args = [
            "forecast",
            "--period",
            "2026-10",
            "--as-of",
            "2026-10-21T09:00:00+08:00",
        ];
        let (code, text) = indmon(&db.url, &[&args[..], &["--format", "json"]].concat());
        assert_eq!(code, 0, "{text}");
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(doc["label"], "10月");
        let units = doc["units"].as_array().unwrap();
        assert_eq!(units[0]["code"], "3307", "the city first");
        let district = units.iter().find(|u| u["code"] == "330781").unwrap();
        assert_eq!(district["shown"], "model");
        // 西湖县 has no enterprise with figures: no forecast, and says why.
        let west = units.iter().find(|u| u["code"] == "330782").unwrap();
        assert_eq!(west["month"], serde_json::Value::Null);
        assert_eq!(west["reason"]["kind"], "short_history");

        let (code, text) = indmon(&db.url, &args);
        assert_eq!(code, 0, "{text}");
        let pct = district["month"]["pct"].as_f64().unwrap();
        let shown = indmon::analysis::rounding::fixed(pct, 1);
        assert!(
            text.contains(&format!("10月估算 (nowcast) {shown}%（区间")),
            "{text}"
        );
        assert!(text.contains("按10月上中旬用电"), "{text}");
        assert!(text.starts_with("2026年10月规上工业产值增长估算 (nowcast of output growth), 截至 (as of) 2026-10-21 09:00"), "{text}");
        assert!(text.contains("回测 (backtest) 12个月"), "{text}");
        assert!(
            text.contains("历史不足24个月 (fewer than 24 months of paired history)"),
            "{text}"
        );
        assert!(text.contains("全年预计 (year end)"), "{text}");
        db.cleanup().await;
    }
}

/// Issue 21: "a 旬 with public-holiday days is compared by the average over working days". 6月上旬
/// 2025 holds the Dragon Boat holiday (Sun 1 and Mon 2 June off, Sat 7 and Sun 8 too: 6 working
/// days), 6月上旬 2026 none (Sat 6 and Sun 7 off: 8 working days). Working days at 1000 kWh in
/// 2025 and 1100 in 2026, days off at 200: all days 6800/10 = 680 against 9200/10 = 920, +35.3%;
/// working days 1000 against 1100, +10% — the partial the nowcast takes.
#[tokio::test]
async fn a_partial_with_a_holiday_in_one_year_is_compared_on_working_days() {
    let cal = indmon::calendar::Calendar::official().unwrap();
    for db in TestDb::all().await {
        let s = &db.store;
        let dir = tempfile::tempdir().unwrap();
        registry(s).await;
        import_at(s, &dir, "accounts.csv", MAPPING, at(2025, 5, 1, 8)).await;
        for (year, work) in [(2025, 1000), (2026, 1100)] {
            let mut text = String::from("户号,日期,日用电量(千瓦时)\n");
            for d in Xun::new(Period::new(year, 6).unwrap(), 1).unwrap().days() {
                let kwh = if cal.is_workday(d).unwrap() {
                    work
                } else {
                    200
                };
                writeln!(text, "3300001,{d},{kwh}").unwrap();
            }
            let name = format!("daily_{year}.csv");
            import_at(s, &dir, &name, &text, at(year, 6, 11, 8)).await;
        }
        let cutoff = at(2026, 6, 12, 9).timestamp_millis();
        let reading = s
            .forecast_reading(period("2025-06"), period("2026-06"), cutoff, Some(&cal))
            .await
            .unwrap();
        let figures: Vec<_> = reading
            .power
            .iter()
            .map(|p| (p.xun.to_string(), p.days, p.kwh, p.work_days, p.work_kwh))
            .collect();
        let kwh = |k: i64| k * 10_000;
        assert_eq!(
            figures,
            [
                ("2025-06-D1".into(), 10, kwh(6800), 6, kwh(6000)),
                ("2026-06-D1".into(), 10, kwh(9200), 8, kwh(8800)),
            ],
            "{}",
            db.name
        );
        let cuts = [(Span::of(period("2026-06")), period("2025-06"), cutoff)];
        for (calendar, growth) in [(Some(&cal), 10.0), (None, (920.0 / 680.0 - 1.0) * 100.0)] {
            let known = s
                .nowcast_known(&cuts, cutoff, 5_000, calendar)
                .await
                .unwrap();
            let partial = known[0]["330781"].partial.clone().unwrap();
            assert_eq!(partial.label, "6月上旬", "{}", db.name);
            assert!(
                (partial.growth_pct - growth).abs() < 1e-9,
                "{}: {} against {growth}",
                db.name,
                partial.growth_pct
            );
        }
        db.cleanup().await;
    }
}
