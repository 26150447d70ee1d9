//! The nowcast's reads summed by unit (issue 21): output summed by unit, period and revision in
//! SQL, electricity read a slice of enterprises at a time, give each unit exactly what the
//! enterprise rows cut at the same cut-off give (`assemble::known_by_unit`), on a history with
//! revisions of output, of a month's base a year earlier and of days, a 旬 delivered in two
//! files, and a month without the form's 上年同期 — on SQLite and PostgreSQL.

mod common;

use std::fmt::Write as _;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use common::shanghai as at;
use common::*;
use indmon::forecast::Span;
use indmon::forecast::assemble::known_by_unit;
use indmon::period::Period;
use indmon::store::Store;

/// 南湖纺织 (东岭区), 东岭精密机械 (东岭区, 开发区), 北港化工 (东岭区, 开发区), 西山建材 (东岭区).
const A: &str = "913307811860913921";
const B: &str = "9133078152601815XT";
const C: &str = "91330781190937864H";
const D: &str = "91330781462819483E";
const MAPPING: &str = "户号,统一社会信用代码,户名\n3300001,913307811860913921,南湖纺织\n3300002,9133078152601815XT,东岭精密\n3300003,91330781190937864H,北港化工\n3300004,91330781462819483E,西山建材\n";

/// Output of an enterprise (index `e`) in a month, 万元.
fn output(e: usize, p: Period) -> f64 {
    100.0 * (e + 1) as f64 + (p.ordinal() % 7) as f64 + 0.1 * e as f64
}

/// Daily kWh of an enterprise on a day.
fn kwh(e: usize, d: NaiveDate) -> u32 {
    1000 * (e as u32 + 1) + d.ordinal() % 13 * 10 + d.year() as u32 % 3 * 50
}

async fn history(store: &Store, dir: &tempfile::TempDir) {
    registry(store).await;
    import_at(store, dir, "accounts.csv", MAPPING, at(2024, 8, 1, 8)).await;
    // Months from July 2025: B, C and D with the form's 上年同期; A without it in 2026 (its
    // own report a year earlier is the base). Each received on the 10th of the next month.
    let mut p = period("2025-07");
    while p <= period("2026-09") {
        let mut full =
            String::from("credit_code,period,output,output_prev,output_ytd,output_ytd_prev\n");
        for (e, code) in [(1, B), (2, C), (3, D)] {
            writeln!(
                full,
                "{code},{p},{:.1},{:.1},{:.1},{:.1}",
                output(e, p),
                output(e, p) - 3.0,
                output(e, p) * f64::from(p.month()),
                90.0 * f64::from(p.month())
            )
            .unwrap();
        }
        let a = if p.year() == 2025 {
            format!(
                "{A},{p},{:.1},{:.1},{:.1},{:.1}\n",
                output(0, p),
                output(0, p) - 2.0,
                output(0, p) * f64::from(p.month()),
                95.0 * f64::from(p.month())
            )
        } else {
            format!(
                "{A},{p},{:.1},,{:.1},\n",
                output(0, p),
                output(0, p) * f64::from(p.month())
            )
        };
        full.push_str(&a);
        let n = p.next();
        import_at(
            store,
            dir,
            &format!("sub_{p}.csv"),
            &full,
            at(n.year(), n.month(), 10, 8),
        )
        .await;
        p = n;
    }
    // Daily electricity from August 2025 to October 20th 2026, each 旬 the day after it ends;
    // B's October 上旬 in two files (days 1–5, then 6–10 two days later); C only this year.
    let mut day = NaiveDate::from_ymd_opt(2025, 8, 1).unwrap();
    let end = NaiveDate::from_ymd_opt(2026, 10, 20).unwrap();
    let mut text = String::from("户号,日期,日用电量(千瓦时)\n");
    let mut late = String::from("户号,日期,日用电量(千瓦时)\n");
    while day <= end {
        for e in 0..4 {
            if e == 2 && day.year() == 2025 {
                continue;
            }
            let line = format!("330000{},{day},{}\n", e + 1, kwh(e, day));
            if e == 1
                && day >= NaiveDate::from_ymd_opt(2026, 10, 6).unwrap()
                && day.day() <= 10
                && day.month() == 10
            {
                late.push_str(&line);
            } else {
                text.push_str(&line);
            }
        }
        let last_of_xun = matches!(day.day(), 10 | 20) || day.succ_opt().unwrap().day() == 1;
        if last_of_xun {
            let next = day.succ_opt().unwrap();
            import_at(
                store,
                dir,
                &format!("daily_{day}.csv"),
                &text,
                at(next.year(), next.month(), next.day(), 8),
            )
            .await;
            text = String::from("户号,日期,日用电量(千瓦时)\n");
            if day == NaiveDate::from_ymd_opt(2026, 10, 10).unwrap() {
                import_at(store, dir, "daily_late.csv", &late, at(2026, 10, 13, 8)).await;
            }
        }
        day = day.succ_opt().unwrap();
    }
    // Revisions: on October 15th A's September 2025 (the base of its September 2026) and B's
    // August 2026; on the 22nd A's October 3rd–5th and last October's 4th; on the 25th A's
    // September 2026.
    import_at(
        store,
        dir,
        "rev1.csv",
        &format!(
            "credit_code,period,output,output_prev\n{A},2025-09,77.5,70\n{B},2026-08,333.3,200\n"
        ),
        at(2026, 10, 15, 8),
    )
    .await;
    let mut days = String::from("户号,日期,日用电量(千瓦时)\n");
    for d in 3..=5 {
        writeln!(days, "3300001,2026-10-{d:02},{}", 10 * d).unwrap();
    }
    writeln!(days, "3300001,2025-10-04,99999").unwrap();
    import_at(store, dir, "rev2.csv", &days, at(2026, 10, 22, 8)).await;
    import_at(
        store,
        dir,
        "rev3.csv",
        &format!("credit_code,period,output,output_ytd\n{A},2026-09,180,1500\n"),
        at(2026, 10, 25, 8),
    )
    .await;
}

#[tokio::test]
async fn sums_by_unit_equal_the_enterprise_rows_at_every_cut_off() {
    for db in TestDb::all().await {
        let s = &db.store;
        let dir = tempfile::tempdir().unwrap();
        history(s, &dir).await;
        assert!(
            s.count("submission_history").await.unwrap() >= 3,
            "{}",
            db.name
        );
        assert!(
            s.count("power_daily_history").await.unwrap() >= 4,
            "{}",
            db.name
        );
        let until = at(2026, 11, 1, 0);
        let mut cuts = Vec::new();
        for (m, from) in [
            ("2026-10", "2025-08"),
            ("2026-09", "2025-09"),
            ("2026-08", "2025-07"),
        ] {
            for t in [
                at(2026, 10, 12, 9),
                at(2026, 10, 16, 9),
                at(2026, 10, 21, 9),
                at(2026, 10, 26, 9),
                until,
            ] {
                cuts.push((Span::of(period(m)), period(from), t.timestamp_millis()));
            }
        }
        let members = s.forecast_members().await.unwrap();
        let cal = indmon::calendar::Calendar::official().ok();
        for chunk in [1, 2, 5_000] {
            let sums = s
                .nowcast_known(&cuts, until.timestamp_millis(), chunk, cal.as_ref())
                .await
                .unwrap();
            assert_eq!(sums.len(), cuts.len());
            for ((span, from, cutoff), known) in cuts.iter().zip(&sums) {
                let reading = s
                    .forecast_reading(*from, span.last, *cutoff, cal.as_ref())
                    .await
                    .unwrap();
                let day = (DateTime::<Utc>::from_timestamp_millis(*cutoff).unwrap()
                    + Duration::hours(8))
                .date_naive();
                let rows = known_by_unit(*span, day, &reading, &members, cal.as_ref());
                assert_eq!(
                    known, &rows,
                    "{} {span:?} from {from} at {cutoff}, {chunk} a slice",
                    db.name
                );
            }
        }
        // The figures do move between cut-offs: the comparison could fail.
        let sums = s
            .nowcast_known(&cuts, until.timestamp_millis(), 2, cal.as_ref())
            .await
            .unwrap();
        let unit = |i: usize| sums[i].get("330781").cloned().unwrap_or_default();
        assert_ne!(unit(0).partial, unit(4).partial, "{}", db.name);
        let sep = |i: usize| {
            unit(i)
                .months
                .iter()
                .find(|m| m.period == period("2026-09"))
                .map(|m| m.output)
        };
        assert_ne!(
            sep(5),
            sep(9),
            "{}: A's September revised on the 25th",
            db.name
        );
        assert!(unit(0).months.iter().all(|m| m.period >= period("2025-08")));
        let zone = sums[4].get("ZK01").cloned().unwrap_or_default();
        assert!(
            zone.partial.is_some() && !zone.months.is_empty(),
            "{}: {zone:?}",
            db.name
        );
        db.cleanup().await;
    }
}
