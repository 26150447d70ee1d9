//! Evaluation end to end on a small city whose every figure is computed by hand in the comments,
//! on SQLite and PostgreSQL: units against targets, enterprise states, data quality, and the
//! alert lifecycle over re-evaluation, revision, older periods, acknowledgement and silences.

mod common;

use std::fmt::Write as _;

use chrono::{TimeZone, Utc};
use common::*;
use indmon::alerts::AlertFilter;
use indmon::alerts::AlertState;
use indmon::config::Config;
use indmon::credit_code::CreditCode;
use indmon::evaluate;
use indmon::store::Store;
use serde_json::Value;

fn code(i: u32) -> String {
    CreditCode::with_check(&format!("91330781MA{i:07}"))
        .expect("valid code")
        .to_string()
}

/// E1..E7 as in the module comment of each figure below.
fn e(i: u32) -> String {
    code(i)
}

/// The world: 东岭区 (330781) has E1 (also in zone ZK01), E2, E7 and the below-scale E6;
/// 西湖县 (330782) has E3, the new entrant E4 and E5, which has not reported October.
fn write_world(dir: &tempfile::TempDir) -> Vec<std::path::PathBuf> {
    let mut ent =
        String::from("credit_code,name,unit_code,zone_code,industry_code,scale,key,owner\n");
    for (i, name, unit, zone, scale) in [
        (1, "一号机械有限公司", "330781", "ZK01", "above"),
        (2, "二号纺织有限公司", "330781", "", "above"),
        (3, "三号建材有限公司", "330782", "", "above"),
        (4, "四号新材料有限公司", "330782", "", "above"),
        (5, "五号化工有限公司", "330782", "", "above"),
        (6, "六号电子有限公司", "330781", "", "below"),
        (7, "七号食品有限公司", "330781", "", "above"),
    ] {
        writeln!(
            ent,
            "{},{name},{unit},{zone},C3411,{scale},否,leader0{i}",
            e(i)
        )
        .unwrap();
    }
    let targets = "year,unit_code,indicator,kind,annual,milestones\n\
        2026,3307,value_added_growth,growth,7.0,\n\
        2026,330781,value_added_growth,growth,7.0,\n\
        2026,330782,value_added_growth,growth,8.0,10:7.5\n\
        2026,ZK01,investment,volume,10000,\n";
    let figures = "unit_code,period,indicator,value\n\
        330781,2026-10,value_added_growth,7.2\n\
        ZK01,2026-10,investment,7000\n";
    let mut subs = String::from("credit_code,period,output,output_ytd,revenue_ytd,electricity\n");
    let mut row = |i: u32, p: String, output: i64, extra: &str| {
        writeln!(subs, "{},{p},{output},{extra}", e(i)).unwrap();
    };
    for m in 1..=12 {
        let p25 = format!("2025-{m:02}");
        row(1, p25.clone(), 100, ",,");
        row(2, p25.clone(), 200, ",,");
        row(3, p25.clone(), 100, ",,");
        row(5, p25.clone(), 100, ",,");
        row(7, p25, 100, if m == 10 { ",,100" } else { ",," });
    }
    for m in 1..=10 {
        let p = format!("2026-{m:02}");
        row(1, p.clone(), if m == 10 { 0 } else { 110 }, ",,");
        let e2 = match m {
            8 => 80,
            9 => 150,
            10 => 90,
            _ => 200,
        };
        row(2, p.clone(), e2, ",,");
        row(
            3,
            p.clone(),
            if m == 10 { 90 } else { 100 },
            if m == 10 { ",1800," } else { ",," },
        );
        row(4, p.clone(), 50, ",,");
        if m < 10 {
            row(5, p.clone(), 100, ",,");
        }
        row(7, p, 150, if m == 10 { "1600,,90" } else { ",," });
    }
    row(6, "2026-10".into(), 170, ",1700,");
    vec![
        fixture("units.csv"),
        write(dir, "enterprises.csv", ent),
        write(dir, "targets.csv", targets),
        write(dir, "unit_indicators.csv", figures),
        write(dir, "submissions.csv", subs),
    ]
}

async fn load_world(store: &Store, dir: &tempfile::TempDir) {
    let files = write_world(dir);
    let refs: Vec<&std::path::Path> = files.iter().map(|p| p.as_path()).collect();
    import_ok(store, &refs).await;
}

fn unit<'a>(json: &'a Value, code: &str) -> &'a Value {
    json["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["code"] == code)
        .unwrap_or_else(|| panic!("unit {code}"))
}

fn close(v: &Value, want: f64) -> bool {
    v.as_f64().is_some_and(|x| (x - want).abs() < 1e-9)
}

/// (rule, subject, severity, consecutive) of every alert in the JSON, sorted.
fn alert_keys(json: &Value) -> Vec<(String, String, String, u64)> {
    let mut v: Vec<_> = json["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["rule"].as_str().unwrap().to_string(),
                a["subject"].as_str().unwrap().to_string(),
                a["severity"].as_str().unwrap().to_string(),
                a["consecutive"].as_u64().unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

fn k(rule: &str, subject: &str, severity: &str, consecutive: u64) -> (String, String, String, u64) {
    (rule.into(), subject.into(), severity.into(), consecutive)
}

#[tokio::test]
async fn october_is_evaluated_as_computed_by_hand_and_identically_on_both_backends() {
    let mut outputs = Vec::new();
    for db in TestDb::all().await {
        let dir = tempfile::tempdir().unwrap();
        load_world(&db.store, &dir).await;
        let config = Config::default();
        let (report, _) = evaluate::run(&db.store, &config, period("2026-10"), now(), false)
            .await
            .expect("evaluate");
        let json = evaluate::to_json(&report);

        // City: E1 990/1000, E2 1720/2000, E3 990/1000, E7 1600 (reported ytd)/1000; E4 has no
        // last year, E5 no October → 5300/5000 = +6.0%, estimated, target 7.0 → gap −1.0.
        let city = unit(&json, "3307");
        assert!(
            close(&city["ytd"], 5300.0) && close(&city["ytd_prev"], 5000.0),
            "{city}"
        );
        assert!(close(&city["growth_pct"], 6.0), "{city}");
        assert_eq!(city["estimated"], true);
        assert!(close(&city["gap_pp"], -1.0), "{city}");
        assert!(city["rank"].is_null());
        // Required: full year 2025 of the counted = 1200+2400+1200+1200 = 6000;
        // (6000×1.07 − 5300)/(6000 − 5000) − 1 = 12.0%.
        assert!(close(&city["required_pct"], 12.0), "{city}");
        assert!(close(&city["submission_rate"], 500.0 / 6.0), "{city}");

        // 东岭区: official 7.2 (not estimated) against 7.0; enterprises 4310/4000.
        let a = unit(&json, "330781");
        assert!(
            close(&a["growth_pct"], 7.2) && a["estimated"] == false,
            "{a}"
        );
        assert!(
            close(&a["gap_pp"], 0.2 + 1e-12) || close(&a["gap_pp"], 0.2),
            "{a}"
        );
        assert_eq!(a["rank"], 1);
        // (4800×1.07 − 4310)/(4800 − 4000) − 1 = 3.25%.
        assert!(close(&a["required_pct"], 3.25), "{a}");
        assert!(close(&a["ytd"], 4310.0), "{a}");

        // 西湖县: only E3 counted, 990/1000 = −1.0%, October milestone 7.5 → gap −8.5, red.
        let b = unit(&json, "330782");
        assert!(close(&b["growth_pct"], -1.0), "{b}");
        assert!(
            close(&b["target_pct"], 7.5) && b["milestone"] == true,
            "{b}"
        );
        assert!(close(&b["gap_pp"], -8.5), "{b}");
        assert_eq!(b["rank"], 2);
        // (1200×1.08 − 990)/(1200 − 1000) − 1 = 53%.
        assert!(close(&b["required_pct"], 53.0), "{b}");
        assert!(close(&b["submission_rate"], 200.0 / 3.0), "{b}");
        assert_eq!(b["below_target_streak"], 9, "Feb (1-2月) through October");

        let zone = unit(&json, "ZK01");
        assert_eq!(zone["rank"], 1);
        assert!(zone["target_pct"].is_null());

        let (e1, e2, e3, e5, e6, e7) = (e(1), e(2), e(3), e(5), e(6), e(7));
        let mut want = vec![
            // E1: 0 against 100 → 停产, orange, first month.
            k("enterprise_stalled", &e1, "orange", 1),
            // E2: Aug 80 < 100 semi, Sep 150 < 180 reduced, Oct 90 < 100 semi → 3 in a row,
            // yellow raised one level.
            k("enterprise_semi_stalled", &e2, "orange", 3),
            // E3: 1800 × 12 / 10 = 2160 < 2000 × 1.1. (Its 90 against 100 is exactly 90%: not reduced.)
            k("enterprise_exit_risk", &e3, "yellow", 1),
            k("enterprise_missing", &e5, "yellow", 1),
            // E6 (below scale): 1700 × 12 / 10 = 2040 ≥ 2000.
            k("enterprise_upgrade_candidate", &e6, "blue", 1),
            // E7: output +50%, electricity −10% → 60 pp > 30.
            k("data_divergence", &e7, "orange", 1),
            // E7: reported 1600 against months summing to 1500 → 6.7% > 0.5%.
            k("data_inconsistent", &e7, "yellow", 1),
            // City gap exactly −1.0 → yellow; 5 of 6 reported. Sep 5770/5400 = 6.85% < 7 too, Aug
            // 5160/4800 = 7.5% is not → streak 2. Required 12.0 − 7.0 = 5.0 is not above 5.
            k("unit_below_target", "3307", "yellow", 2),
            k("unit_low_submission_rate", "3307", "yellow", 1),
            k("unit_below_target", "330782", "red", 9),
            k("unit_consecutive_lagging", "330782", "red", 9),
            k("unit_below_average", "330782", "blue", 1),
            k("unit_target_at_risk", "330782", "orange", 1),
            k("unit_low_submission_rate", "330782", "yellow", 1),
            k("unit_below_average", "ZK01", "blue", 1),
            // 7000 / 10000 = 70% < 10/12 − 5 pp.
            k("unit_progress_lagging", "ZK01", "yellow", 1),
        ];
        want.sort();
        assert_eq!(alert_keys(&json), want, "{}", db.name);
        assert_eq!(report.applied.opened, 16);
        let e2_alert = json["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["subject"] == e2.as_str())
            .unwrap();
        assert!(
            e2_alert["message"]
                .as_str()
                .unwrap()
                .contains("已连续3个月"),
            "{e2_alert}"
        );
        assert!(close(&e2_alert["values"]["base"], 200.0), "{e2_alert}");
        outputs.push(serde_json::to_string(&json).unwrap());
        db.cleanup().await;
    }
    if outputs.len() == 2 {
        assert_eq!(outputs[0], outputs[1], "SQLite and PostgreSQL disagree");
    }
}

#[tokio::test]
async fn the_alert_lifecycle_follows_the_data() {
    for db in TestDb::all().await {
        let s = &db.store;
        let dir = tempfile::tempdir().unwrap();
        load_world(s, &dir).await;
        let config = Config::default();
        let oct = period("2026-10");
        evaluate::run(s, &config, oct, now(), false).await.unwrap();
        let events = s.count("alert_event").await.unwrap();

        // The same period with the same data changes nothing.
        let (again, _) = evaluate::run(s, &config, oct, now(), false).await.unwrap();
        assert_eq!(
            (
                again.applied.opened,
                again.applied.changed,
                again.applied.resolved
            ),
            (0, 0, 0),
            "{}",
            db.name
        );
        assert_eq!(s.count("alert_event").await.unwrap(), events);

        // An older period is a look back: no alert opens, changes or resolves.
        let before = s.alerts(&AlertFilter::default()).await.unwrap();
        let (sep, _) = evaluate::run(s, &config, period("2026-09"), now(), false)
            .await
            .unwrap();
        assert!(sep.historic);
        assert_eq!(s.alerts(&AlertFilter::default()).await.unwrap(), before);

        // E1 revises October to 105 (≥ 90% of 100): the stall alert is resolved automatically.
        let rev = write(
            &dir,
            "revision.csv",
            format!("credit_code,period,output\n{},2026-10,105\n", e(1)),
        );
        import_ok(s, &[&rev]).await;
        let (after, _) = evaluate::run(s, &config, oct, now(), false).await.unwrap();
        assert!(after.applied.resolved >= 1, "{:?}", after.applied);
        let stalled = s
            .alerts(&AlertFilter::default())
            .await
            .unwrap()
            .into_iter()
            .find(|a| a.rule == "enterprise_stalled")
            .unwrap();
        assert_eq!(stalled.state, AlertState::Resolved);
        assert_eq!(stalled.resolved_by.as_deref(), Some("indmon"));

        // Acknowledge and resolve by hand; a resolved-by-hand alert stays resolved when the same
        // period is evaluated again.
        let e2 = s
            .alerts(&AlertFilter::default())
            .await
            .unwrap()
            .into_iter()
            .find(|a| a.rule == "enterprise_semi_stalled")
            .unwrap();
        let acked = s
            .set_alert_state(e2.id, AlertState::Acknowledged, "王科长", "已联系企业", 1)
            .await
            .unwrap();
        assert_eq!(acked.acknowledged_by.as_deref(), Some("王科长"));
        s.set_alert_state(e2.id, AlertState::Resolved, "王科长", "订单恢复", 2)
            .await
            .unwrap();
        evaluate::run(s, &config, oct, now(), false).await.unwrap();
        assert_eq!(
            s.alert(e2.id).await.unwrap().unwrap().state,
            AlertState::Resolved
        );
        let kinds: Vec<String> = s
            .alert_events(0, Some(e2.id))
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.kind.as_str().to_string())
            .collect();
        assert_eq!(
            kinds,
            ["opened", "escalated", "acknowledged", "resolved"],
            "{}",
            db.name
        );
        db.cleanup().await;
    }
}

#[tokio::test]
async fn an_enterprise_that_moves_district_counts_in_its_new_district_for_both_years() {
    let db = TestDb::sqlite().await;
    let s = &db.store;
    let dir = tempfile::tempdir().unwrap();
    load_world(s, &dir).await;
    // E3 moves from 西湖县 to 东岭区.
    let moved = write(
        &dir,
        "moved.csv",
        format!(
            "credit_code,name,unit_code,zone_code,industry_code,scale,key,owner\n{},三号建材有限公司,330781,,C3411,above,否,leader03\n",
            e(3)
        ),
    );
    import_ok(s, &[&moved]).await;
    let (report, _) = evaluate::run(s, &Config::default(), period("2026-10"), now(), true)
        .await
        .unwrap();
    let json = evaluate::to_json(&report);
    let a = unit(&json, "330781");
    assert!(
        close(&a["ytd"], 4310.0 + 990.0) && close(&a["ytd_prev"], 5000.0),
        "{a}"
    );
    let b = unit(&json, "330782");
    assert!(close(&b["ytd"], 0.0) && b["growth_pct"].is_null(), "{b}");
    assert_eq!(report.evaluation_id, None, "dry run writes nothing");
    assert_eq!(s.count("alert").await.unwrap(), 0);
    db.cleanup().await;
}

#[tokio::test]
async fn january_is_refused_when_combined_and_evaluated_alone_otherwise() {
    let db = TestDb::sqlite().await;
    let s = &db.store;
    let dir = tempfile::tempdir().unwrap();
    load_world(s, &dir).await;
    let jan = period("2026-01");
    let later = Utc.with_ymd_and_hms(2026, 2, 20, 0, 0, 0).unwrap();
    let err = evaluate::run(s, &Config::default(), jan, later, true)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("1—2月"), "{err}");
    let mut apart = Config::default();
    apart.general.jan_feb_combined = false;
    let (r, _) = evaluate::run(s, &apart, jan, later, true).await.unwrap();
    let json = evaluate::to_json(&r);
    // January alone: E1 110/100, E2 200/200, E3 100/100, E5 100/100, E7 150/100 → 660/600 = +10%.
    assert!(close(&unit(&json, "3307")["growth_pct"], 10.0), "{json}");
    // February combined: E1 220/200, E2 400/400, E3 200/200, E5 200/200, E7 300/200 → +10%, and
    // the month growth is the 1-2月 growth.
    let (feb, _) = evaluate::run(s, &Config::default(), period("2026-02"), later, true)
        .await
        .unwrap();
    let city = evaluate::to_json(&feb);
    let city = unit(&city, "3307");
    assert!(
        close(&city["growth_pct"], 10.0) && close(&city["month_growth_pct"], 10.0),
        "{city}"
    );
    db.cleanup().await;
}

#[tokio::test]
async fn december_has_no_required_growth() {
    let db = TestDb::sqlite().await;
    let s = &db.store;
    let dir = tempfile::tempdir().unwrap();
    load_world(s, &dir).await;
    let mut dec = String::from("credit_code,period,output\n");
    for m in 11..=12 {
        writeln!(dec, "{},2026-{m},100", e(3)).unwrap();
    }
    let later = Utc.with_ymd_and_hms(2027, 1, 20, 0, 0, 0).unwrap();
    let r = indmon::ingest::import_file(
        s,
        &write(&dir, "dec.csv", dec),
        &indmon::ingest::ImportOptions::new(later),
    )
    .await
    .unwrap();
    assert_eq!(r.accepted, 2, "{:?}", r.rejects);
    let (r, _) = evaluate::run(s, &Config::default(), period("2026-12"), later, true)
        .await
        .unwrap();
    let json = evaluate::to_json(&r);
    let b = unit(&json, "330782");
    assert!(b["required_pct"].is_null(), "{b}");
    assert!(
        !alert_keys(&json)
            .iter()
            .any(|a| a.0 == "unit_target_at_risk")
    );
    db.cleanup().await;
}

#[tokio::test]
async fn silences_are_listed_and_expire() {
    let db = TestDb::sqlite().await;
    let s = &db.store;
    let m = indmon::alerts::SilenceMatcher {
        rule: Some("enterprise_stalled".into()),
        subject: Some(e(1)),
        unit: None,
    };
    let t0 = now().timestamp_millis();
    let id = s
        .add_silence(&m, t0, t0 + 86_400_000, "计划检修", "李处长", t0)
        .await
        .unwrap();
    assert_eq!(s.silences(Some(t0 + 1)).await.unwrap().len(), 1);
    assert!(s.silences(Some(t0 + 86_400_000)).await.unwrap().is_empty());
    s.expire_silence(id, "李处长", t0 + 10).await.unwrap();
    assert!(s.silences(Some(t0 + 11)).await.unwrap().is_empty());
    assert!(s.expire_silence(id, "李处长", t0 + 12).await.is_err());
    let empty = indmon::alerts::SilenceMatcher::default();
    assert!(
        s.add_silence(&empty, t0, t0 + 1, "x", "y", t0)
            .await
            .is_err()
    );
    db.cleanup().await;
}

/// Registers enterprises `(i, unit)` (above scale, in 东岭区 or 西湖县) and imports the units, a
/// 7.0 target for the city and 东岭区 and the given submissions
/// (`credit_code,period,output,output_ytd,output_ytd_prev`).
async fn load_long_world(store: &Store, dir: &tempfile::TempDir, ents: &[(u32, &str)], subs: &str) {
    let mut reg =
        String::from("credit_code,name,unit_code,zone_code,industry_code,scale,key,owner\n");
    for (i, unit) in ents {
        writeln!(reg, "{},企业{i},{unit},,C3411,above,否,", e(*i)).unwrap();
    }
    let targets = "year,unit_code,indicator,kind,annual,milestones\n\
        2026,3307,value_added_growth,growth,7.0,\n\
        2026,330781,value_added_growth,growth,7.0,\n";
    let files = [
        fixture("units.csv"),
        write(dir, "enterprises.csv", reg),
        write(dir, "targets.csv", targets),
        write(
            dir,
            "submissions.csv",
            format!("credit_code,period,output,output_ytd,output_ytd_prev\n{subs}"),
        ),
    ];
    let refs: Vec<&std::path::Path> = files.iter().map(|p| p.as_path()).collect();
    import_ok(store, &refs).await;
}

/// Writes one submission row for every month from `from` to 2026-10 that `output` gives a
/// value for (`None`: not reported).
fn months(subs: &mut String, i: u32, from: &str, output: impl Fn(i32, u32) -> Option<i64>) {
    let mut t = period(from);
    while t <= period("2026-10") {
        if let Some(v) = output(t.year(), t.month()) {
            writeln!(subs, "{},{t},{v},,", e(i)).unwrap();
        }
        t = t.next();
    }
}

#[tokio::test]
async fn a_twenty_month_stall_and_a_fourteen_month_reduction_count_back_past_the_window() {
    for db in TestDb::all().await {
        let dir = tempfile::tempdir().unwrap();
        let mut subs = String::new();
        // E11 produced 100 a month in 2024 and nothing since: 1-2月 2025 to October 2026 is 20
        // periods (1-2月 counts once); from 1-2月 2026 on its base is zero too (长期停产).
        months(&mut subs, 11, "2024-01", |y, _| {
            Some(if y == 2024 { 100 } else { 0 })
        });
        // E12 fell to 80 in August 2025 and to 64 in August 2026: 80% of its base from August
        // 2025 to October 2026, 14 periods.
        months(&mut subs, 12, "2024-01", |y, m| {
            Some(match (y, m) {
                (2024, _) => 100,
                (2025, ..=7) => 100,
                (2025, _) | (2026, ..=7) => 80,
                _ => 64,
            })
        });
        // E13 stood still in October 2025 and in October 2026 but worked in between: a zero on
        // a zero base after a normal month is no state.
        months(&mut subs, 13, "2024-01", |_, m| {
            Some(if m == 10 { 0 } else { 100 })
        });
        // E14 stopped in October 2025, and October 2026's zero base follows a September that
        // was stopped as well: 12 periods.
        months(&mut subs, 14, "2024-01", |y, m| {
            Some(if (y, m) >= (2025, 10) { 0 } else { 100 })
        });
        let ents = [
            (11, "330781"),
            (12, "330781"),
            (13, "330782"),
            (14, "330782"),
        ];
        load_long_world(&db.store, &dir, &ents, &subs).await;
        let (report, _) = evaluate::run(
            &db.store,
            &Config::default(),
            period("2026-10"),
            now(),
            true,
        )
        .await
        .expect("evaluate");
        let json = evaluate::to_json(&report);
        let states: Vec<(String, String, u64)> = alert_keys(&json)
            .into_iter()
            .filter(|a| a.0.starts_with("enterprise_"))
            .map(|(rule, subject, _, n)| (rule, subject, n))
            .collect();
        let want = vec![
            ("enterprise_reduced".to_string(), e(12), 14),
            ("enterprise_stalled".to_string(), e(11), 20),
            ("enterprise_stalled".to_string(), e(14), 12),
        ];
        assert_eq!(states, want, "{}", db.name);
        let stall = json["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["subject"] == e(11).as_str())
            .unwrap();
        assert!(
            stall["message"].as_str().unwrap().contains("已连续20个月"),
            "{stall}"
        );
        db.cleanup().await;
    }
}

/// 东岭区's four enterprises, each 100 a month in 2025 unless said otherwise:
/// E21 110 a month in 2026; E22 did not report March 2025 (and gives no 上年同期累计), 100 a
/// month in 2026; E23 did not report March 2025 either but gives 上年同期累计 1000 with October,
/// 120 a month in 2026; E24 did not report May 2026, but its October 1-10月 of 950 includes it.
fn gaps_world() -> String {
    let mut subs = String::new();
    months(&mut subs, 21, "2025-01", |y, _| {
        Some(if y == 2025 { 100 } else { 110 })
    });
    months(&mut subs, 22, "2025-01", |y, m| {
        (y, m).ne(&(2025, 3)).then_some(100)
    });
    months(&mut subs, 23, "2025-01", |y, m| {
        (y, m)
            .ne(&(2025, 3))
            .then_some(if y == 2025 { 100 } else { 120 })
    });
    months(&mut subs, 24, "2025-01", |y, m| {
        (y, m).ne(&(2026, 5)).then_some(100)
    });
    let (e23, e24) = (e(23), e(24));
    subs.replace(
        &format!("{e23},2026-10,120,,\n"),
        &format!("{e23},2026-10,120,,1000\n"),
    )
    .replace(
        &format!("{e24},2026-10,100,,\n"),
        &format!("{e24},2026-10,100,950,\n"),
    )
}

#[tokio::test]
async fn a_reported_year_ago_total_makes_the_base_complete() {
    for db in TestDb::all().await {
        let dir = tempfile::tempdir().unwrap();
        // E22 and E24 are in 西湖县 here: 东岭区 has E21 and E23.
        let ents = [
            (21, "330781"),
            (22, "330782"),
            (23, "330781"),
            (24, "330782"),
        ];
        load_long_world(&db.store, &dir, &ents, &gaps_world()).await;
        let (report, _) = evaluate::run(
            &db.store,
            &Config::default(),
            period("2026-10"),
            now(),
            true,
        )
        .await
        .expect("evaluate");
        let json = evaluate::to_json(&report);
        let u = unit(&json, "330781");
        // E23 is compared on the 1000 its form reports: 2300 against 2000.
        assert!(
            close(&u["ytd"], 2300.0) && close(&u["ytd_prev"], 2000.0),
            "{} {u}",
            db.name
        );
        assert_eq!(
            (&u["counted"], &u["excluded"]),
            (&2.into(), &0.into()),
            "{u}"
        );
        // Its 2025 is that base plus November and December, 1200 (not the 1100 of the months
        // it reported): (2400 × 1.07 − 2300) / (2400 − 2000) − 1 = −33%.
        assert!(close(&u["required_pct"], 26_800.0 / 400.0 - 100.0), "{u}");
        db.cleanup().await;
    }
}

#[tokio::test]
async fn an_enterprise_without_a_complete_year_ago_base_is_left_out_and_counted() {
    for db in TestDb::all().await {
        let dir = tempfile::tempdir().unwrap();
        let ents = [
            (21, "330781"),
            (22, "330781"),
            (23, "330781"),
            (24, "330781"),
        ];
        load_long_world(&db.store, &dir, &ents, &gaps_world()).await;
        let (report, _) = evaluate::run(
            &db.store,
            &Config::default(),
            period("2026-10"),
            now(),
            true,
        )
        .await
        .expect("evaluate");
        let json = evaluate::to_json(&report);
        for code in ["330781", "3307"] {
            let u = unit(&json, code);
            // E22's 1-10月 2025 is nine months: left out. E23's reported 上年同期累计 and E24's
            // reported 1-10月 are complete: 1100 + 1200 + 950 = 3250 against 3000, +8.33%.
            assert!(
                close(&u["ytd"], 3250.0) && close(&u["ytd_prev"], 3000.0),
                "{} {u}",
                db.name
            );
            assert!(close(&u["growth_pct"], 325.0 / 3.0 - 100.0), "{u}");
            assert_eq!(
                (&u["counted"], &u["excluded"]),
                (&3.into(), &1.into()),
                "{u}"
            );
            // October alone: every October and its base are there, E24's too.
            // (110 + 100 + 120 + 100) / 400 = +7.5%.
            assert!(close(&u["month_growth_pct"], 7.5), "{u}");
            assert_eq!(u["month_excluded"], 0, "{u}");
            // Y over the counted: E21 and E24 1200 each, E23 1000 reported + November and
            // December 2025 = 1200; (3600 × 1.07 − 3250) / (3600 − 3000) − 1 = 0.33%.
            assert!(close(&u["required_pct"], 602.0 / 6.0 - 100.0), "{u}");
        }
        assert_eq!(unit(&json, "330782")["excluded"], 0);
        let table = evaluate::to_table(&report);
        assert!(table.contains("未计入"), "{table}");
        db.cleanup().await;
    }
}
