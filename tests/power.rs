//! Electricity and 旬报 end to end (issue 21): the mapping of power accounts, daily electricity
//! in kWh or 万千瓦时, 旬报, revisions kept in history, and the 旬 rules on stored days — on
//! SQLite and PostgreSQL.

mod common;

use std::collections::{HashMap, HashSet};

use common::*;
use indmon::calendar::Calendar;
use indmon::credit_code::CreditCode;
use indmon::ingest::import_file;
use indmon::power::{PowerConfig, Xun};
use indmon::rules::power::{XunData, findings, spans};
use indmon::rules::{Rule, RulesConfig};
use indmon::store::Store;

const NANHU: &str = "913307811860913921";
const BEIGANG: &str = "91330781190937864H";

const MAPPING: &str = "户号,统一社会信用代码,户名\n3300001,913307811860913921,南湖纺织一厂\n3300002,913307811860913921,南湖纺织二厂\n3300003,91330781190937864H,北港化工\n";

async fn mapped(store: &Store, dir: &tempfile::TempDir) {
    registry(store).await;
    let r = import_ok(store, &[&write(dir, "accounts.csv", MAPPING)]).await;
    assert_eq!(r[0].kind, Some("power-accounts"));
    assert_eq!(r[0].accepted, 3);
}

#[tokio::test]
async fn an_unmapped_account_is_rejected_with_its_line_and_nothing_is_committed() {
    for db in TestDb::all().await {
        let s = &db.store;
        let dir = tempfile::tempdir().unwrap();
        mapped(s, &dir).await;
        let file = write(
            &dir,
            "daily.csv",
            "户号,日期,日用电量(千瓦时)\n3300001,2026-10-01,1000\n3300003,2026-10-01,500\n9999999,2026-10-01,70\n3300002,2026-10-01,250\n",
        );
        let r = import_file(s, &file, &opts()).await.unwrap();
        assert_eq!(r.kind, Some("power-daily"), "{}", db.name);
        assert!(!r.committed);
        assert_eq!(r.rejected, 1);
        assert_eq!(r.rejects[0].line, 4);
        assert_eq!(r.rejects[0].column, "A 户号");
        assert_eq!(r.rejects[0].value, "9999999");
        assert!(
            r.rejects[0].reason.contains("不在用电户号对照表中"),
            "{:?}",
            r.rejects
        );
        assert_eq!(s.count("power_daily").await.unwrap(), 0, "{}", db.name);
        // The reject is kept with its run.
        let kept = s.rejects(r.run_id).await.unwrap();
        assert_eq!(kept[0].line, 4);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn accounts_of_one_enterprise_are_summed_and_wan_kwh_is_scaled() {
    for db in TestDb::all().await {
        let s = &db.store;
        let dir = tempfile::tempdir().unwrap();
        mapped(s, &dir).await;
        // Two accounts of 南湖 on the 1st: 0.1 + 0.025 万千瓦时 = 1250 kWh; 北港 0.05 = 500.
        let file = write(
            &dir,
            "daily.csv",
            "用电户号,用电日期,用电量（万千瓦时）\n3300001,20261001,0.1\n3300002,20261001,0.025\n3300003,2026/10/1,0.05\n",
        );
        let r = import_ok(s, &[&file]).await.remove(0);
        assert_eq!(
            (r.accepted, r.revised, r.unchanged),
            (2, 0, 0),
            "{}",
            db.name
        );
        let day = "2026-10-01".parse().unwrap();
        let days = s.power_days(&[day..=day]).await.unwrap();
        let nanhu: CreditCode = NANHU.parse().unwrap();
        assert_eq!(days[&nanhu][&day], 1250 * 10_000);
        assert_eq!(
            days[&BEIGANG.parse::<CreditCode>().unwrap()][&day],
            500 * 10_000
        );
        // A day not over yet (the tests' today is 2026-11-22) and a negative figure are refused.
        let bad = write(
            &dir,
            "bad.csv",
            "户号,日期,用电量(kWh)\n3300001,2026-11-22,10\n3300003,2026-11-21,-5\n",
        );
        let r = import_file(s, &bad, &opts()).await.unwrap();
        assert_eq!(r.rejected, 2, "{:?}", r.rejects);
        assert_eq!(r.rejects[0].line, 2);
        assert_eq!(r.rejects[0].column, "B 日期");
        assert_eq!(r.rejects[1].line, 3);
        assert_eq!(r.rejects[1].column, "C 用电量(kWh)");
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_revised_day_keeps_the_figure_it_replaces_in_history() {
    for db in TestDb::all().await {
        let s = &db.store;
        let dir = tempfile::tempdir().unwrap();
        mapped(s, &dir).await;
        let first = write(
            &dir,
            "d1.csv",
            "户号,日期,用电量\n3300003,2026-10-31,500\n3300003,2026-11-01,600\n",
        );
        import_ok(s, &[&first]).await;
        // Delivered again: the 31st corrected, the 1st unchanged.
        let again = write(
            &dir,
            "d2.csv",
            "户号,日期,用电量\n3300003,2026-10-31,520\n3300003,2026-11-01,600\n",
        );
        let r = import_ok(s, &[&again]).await.remove(0);
        assert_eq!(
            (r.accepted, r.revised, r.unchanged),
            (0, 1, 1),
            "{}",
            db.name
        );
        assert_eq!(s.count("power_daily_history").await.unwrap(), 1);
        let old = scalar(
            s,
            "SELECT kwh FROM power_daily_history WHERE day = '2026-10-31' AND revision = 1",
        )
        .await;
        assert_eq!(old, 500 * 10_000);
        let rev = scalar(
            s,
            "SELECT CAST(revision AS BIGINT) FROM power_daily WHERE day = '2026-10-31'",
        )
        .await;
        assert_eq!(rev, 2);
        let now = scalar(s, "SELECT kwh FROM power_daily WHERE day = '2026-10-31'").await;
        assert_eq!(now, 520 * 10_000);
        if db.name == "postgres" {
            // Each month went to a partition of its own.
            let parts = scalar(
                s,
                "SELECT COUNT(*) FROM pg_inherits WHERE inhparent = 'power_daily'::regclass",
            )
            .await;
            assert_eq!(parts, 2);
        }
        db.cleanup().await;
    }
}

#[tokio::test]
async fn xun_reports_are_stored_per_xun_with_their_revisions() {
    for db in TestDb::all().await {
        let s = &db.store;
        let dir = tempfile::tempdir().unwrap();
        registry(s).await;
        let csv = write(
            &dir,
            "xun.csv",
            "统一社会信用代码,旬,工业总产值(本旬),工业销售产值(本旬),用电量(万千瓦时)\n913307811860913921,2026-10-D1,1200.5,1100,12.5\n913307811860913921,2026年10月中旬,1300,1250,13\n91330781190937864H,2026-10-D1,800,790,40\n",
        );
        let r = import_ok(s, &[&csv]).await.remove(0);
        assert_eq!(r.kind, Some("xun-reports"), "{}", db.name);
        assert_eq!(r.accepted, 3);
        // A JSON revision of 南湖's 上旬 output only: sales and electricity are kept.
        let json = write(
            &dir,
            "xun.json",
            r#"[{"credit_code": "913307811860913921", "xun": "2026-10-D1", "output": 1210.5}]"#,
        );
        let r = import_ok(s, &[&json]).await.remove(0);
        assert_eq!((r.accepted, r.revised), (0, 1), "{}", db.name);
        let d1: Xun = "2026-10-D1".parse().unwrap();
        let rows = s.xun_reports(d1).await.unwrap();
        assert_eq!(rows.len(), 2);
        let nanhu = rows.iter().find(|r| r.0 == NANHU).unwrap();
        assert_eq!(nanhu.1, [Some(12_105_000), Some(11_000_000), Some(125_000)]);
        assert_eq!(nanhu.2, 2);
        assert_eq!(s.count("xun_report_history").await.unwrap(), 1);
        let old = scalar(
            s,
            "SELECT output FROM xun_report_history WHERE credit_code = '913307811860913921'",
        )
        .await;
        assert_eq!(old, 12_005_000);
        // Cumulative columns are refused at the header; a 旬 not over yet at its line.
        let cumulative = write(
            &dir,
            "cum.csv",
            "统一社会信用代码,旬,工业总产值(1-本旬累计)\n913307811860913921,2026-10-D2,5\n",
        );
        let r = import_file(s, &cumulative, &opts()).await.unwrap();
        assert!(!r.committed);
        assert!(r.rejects[0].reason.contains("累计"), "{:?}", r.rejects);
        let future = write(
            &dir,
            "future.csv",
            "统一社会信用代码,报告期,旬别,工业总产值\n913307811860913921,2026-11,下旬,5\n",
        );
        let r = import_file(s, &future, &opts()).await.unwrap();
        assert_eq!(r.rejected, 1);
        assert_eq!(r.rejects[0].line, 2);
        assert!(r.rejects[0].reason.contains("尚未结束"), "{:?}", r.rejects);
        db.cleanup().await;
    }
}

/// Days `from`.. (`n` of them) of account `account` at `kwh`, as CSV lines.
fn lines(account: &str, from: &str, n: usize, kwh: u32) -> String {
    let start: chrono::NaiveDate = from.parse().unwrap();
    start
        .iter_days()
        .take(n)
        .map(|d| format!("{account},{d},{kwh}\n"))
        .collect()
}

#[tokio::test]
async fn the_xun_rules_judge_stored_days_across_the_month_end() {
    for db in TestDb::all().await {
        let s = &db.store;
        let dir = tempfile::tempdir().unwrap();
        mapped(s, &dir).await;
        // 2025-10-D3 (11 days, 21st–31st) at 1000 kWh for both. In 2026-10-D3 南湖 (two accounts)
        // runs 9 of the 11 days at 150 + 100 = 250 (25%): 疑似停产; 北港 runs only 8 days
        // (72.7% < 80%): not judged.
        let mut csv = String::from("户号,日期,用电量\n");
        csv += &lines("3300001", "2025-10-21", 11, 600);
        csv += &lines("3300002", "2025-10-21", 11, 400);
        csv += &lines("3300003", "2025-10-21", 11, 1000);
        csv += &lines("3300001", "2026-10-21", 9, 150);
        csv += &lines("3300002", "2026-10-21", 9, 100);
        csv += &lines("3300003", "2026-10-24", 8, 900);
        import_ok(s, &[&write(&dir, "daily.csv", csv)]).await;
        let xun: Xun = "2026-10-D3".parse().unwrap();
        let enterprises = s.enterprises().await.unwrap();
        let daily = s
            .power_day_table(&spans(xun), enterprises.iter().map(|e| e.credit_code))
            .await
            .unwrap();
        let names = HashMap::from([("330781".to_string(), "东岭区".to_string())]);
        let calendar = Calendar::official().unwrap();
        let none = HashSet::new();
        let data = XunData {
            xun,
            enterprises: &enterprises,
            unit_names: &names,
            city: Some("3307"),
            daily: &daily,
            stalled_before: &none,
            calendar: Some(&calendar),
        };
        let o = findings(&data, &PowerConfig::default(), &RulesConfig::default());
        assert_eq!(o.findings.len(), 1, "{}: {:?}", db.name, o.findings);
        let f = &o.findings[0];
        assert_eq!(
            (f.rule, f.subject.as_str()),
            (Rule::EnterprisePowerStalled, NANHU)
        );
        assert_eq!(f.values["days_in_xun"], serde_json::json!(11));
        assert_eq!(f.values["days_present"], serde_json::json!(9));
        assert_eq!(f.values["kwh_per_day"], serde_json::json!(250.0));
        assert_eq!(f.scope, ["330781", "3307"]);
        assert!(!o.judged.contains(&BEIGANG.parse::<CreditCode>().unwrap()));
        // The view agrees: 9 days present in 南湖's 2026-10 下旬, 1000 kWh a day a year before.
        let view = if db.name == "postgres" {
            "indmon_read.v_power_xun"
        } else {
            "v_power_xun"
        };
        let days = scalar(s, &format!("SELECT days_present FROM {view} WHERE credit_code = '{NANHU}' AND period = '2026-10' AND xun = 3")).await;
        assert_eq!(days, 9);
        let avg = scalar(s, &format!("SELECT kwh_per_day FROM {view} WHERE credit_code = '{NANHU}' AND period = '2025-10' AND xun = 3")).await;
        assert_eq!(avg, 1000 * 10_000);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn xun_warnings_join_the_alert_lifecycle_and_resumption_resolves_the_stall() {
    for db in TestDb::all().await {
        let s = &db.store;
        let dir = tempfile::tempdir().unwrap();
        mapped(s, &dir).await;
        // 北港: 1000 kWh a day in 2025-10-D3 and 2025-11-D1; 200 (20%) in 2026-10-D3, then
        // 600 (60% > 50%) every day of 2026-11-D1.
        let mut csv = String::from("户号,日期,用电量\n");
        csv += &lines("3300003", "2025-10-21", 21, 1000);
        csv += &lines("3300003", "2026-10-21", 11, 200);
        csv += &lines("3300003", "2026-11-01", 10, 600);
        import_ok(s, &[&write(&dir, "daily.csv", csv)]).await;
        let config = indmon::config::Config::default();
        let run = |x: &str| {
            let x: Xun = x.parse().unwrap();
            indmon::evaluate::xun::run(s, &config, x, now(), false)
        };
        let r = run("2026-10-D3").await.unwrap();
        assert_eq!(r.applied.opened, 1, "{}", db.name);
        assert_eq!(r.findings[0].rule, Rule::EnterprisePowerStalled);
        let json = indmon::evaluate::xun::to_json(&r);
        assert_eq!(json["xun"], "2026-10-D3");
        assert_eq!(json["alerts"][0]["subject"], BEIGANG);
        // The unit's growth: 200 against 1000 a day, −80%.
        assert_eq!(json["units"][0]["growth_pct"], serde_json::json!(-80.0));
        // Evaluated again: the same alert, nothing new.
        let again = run("2026-10-D3").await.unwrap();
        assert_eq!(
            (again.applied.opened, again.applied.changed),
            (0, 0),
            "{}",
            db.name
        );
        // The month's evaluation leaves the 旬 alert alone, and the newest evaluated month is
        // not moved by the 旬's runs.
        assert_eq!(s.newest_evaluated_period().await.unwrap(), None);
        let r = run("2026-11-D1").await.unwrap();
        assert_eq!(r.findings.len(), 1);
        assert_eq!(r.findings[0].rule, Rule::EnterprisePowerResumed);
        assert_eq!(
            (r.applied.opened, r.applied.resolved),
            (1, 1),
            "{}",
            db.name
        );
        let stalled = scalar(s, "SELECT COUNT(*) FROM alert WHERE rule = 'enterprise_power_stalled' AND state = 'resolved'").await;
        assert_eq!(stalled, 1);
        db.cleanup().await;
    }
}

/// Runs the `indmon` binary in `dir`, returning its exit code and output.
fn indmon(dir: &std::path::Path, args: &[&str]) -> (i32, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_indmon"))
        .current_dir(dir)
        .env_remove("INDMON_DATABASE_URL")
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

#[test]
fn the_command_line_imports_by_kind_and_evaluates_a_xun() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("t.db").display());
    let run = |args: &[&str]| {
        let mut all = vec!["--database", db.as_str()];
        all.extend_from_slice(args);
        indmon(dir.path(), &all)
    };
    write(
        &dir,
        "units.csv",
        std::fs::read(fixture("units.csv")).unwrap(),
    );
    write(
        &dir,
        "enterprises.csv",
        std::fs::read(fixture("enterprises.csv")).unwrap(),
    );
    write(&dir, "accounts.csv", MAPPING);
    let mut csv = String::from("户号,日期,用电量\n");
    csv += &lines("3300003", "2025-10-21", 11, 1000);
    csv += &lines("3300003", "2026-10-21", 11, 100);
    write(&dir, "daily.csv", csv);
    let (code, out) = run(&["import", "units.csv", "enterprises.csv", "accounts.csv"]);
    assert_eq!(code, 0, "{out}");
    // Named with --kind; an unmapped account exits 3 (input rejected) naming its line.
    write(
        &dir,
        "bad.csv",
        "户号,日期,用电量\n3300003,2026-10-01,5\n42,2026-10-01,5\n",
    );
    let (code, out) = run(&["import", "--kind", "power-daily", "bad.csv"]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("第3行") && out.contains("42"), "{out}");
    let (code, out) = run(&["import", "--kind", "power-daily", "daily.csv"]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = run(&["evaluate", "--xun", "2026-10-D3", "--format", "json"]);
    assert_eq!(code, 0, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).expect(&out);
    assert_eq!(v["alerts"][0]["rule"], "enterprise_power_stalled");
    assert_eq!(v["alerts"][0]["subject"], BEIGANG);
    let (code, out) = run(&["alerts", "list"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("疑似停产") || out.contains("enterprise_power_stalled"),
        "{out}"
    );
    let (code, out) = run(&["evaluate", "--xun", "2026-10-D4"]);
    assert_eq!(code, 2, "{out}");
    let (code, out) = run(&["evaluate", "--xun", "2026-10-D3", "--period", "2026-10"]);
    assert_eq!(code, 2, "{out}");
}

/// `--now` is the time an import records as received: a day imported at one moment and corrected
/// at a later one keeps both, the first in history superseded when the second came — on both
/// backends (what the nowcast's cut-offs read).
#[tokio::test]
async fn an_import_records_the_now_it_is_given() {
    let first = shanghai(2026, 10, 13, 8);
    let second = shanghai(2026, 10, 20, 9);
    for db in TestDb::all().await {
        let dir = tempfile::tempdir().unwrap();
        let run = |now: chrono::DateTime<chrono::Utc>, args: &[&str]| {
            let now = now.to_rfc3339();
            let mut all = vec!["--database", db.url.as_str(), "--now", now.as_str()];
            all.extend_from_slice(args);
            indmon(dir.path(), &all)
        };
        write(&dir, "accounts.csv", MAPPING);
        let header = "户号,日期,用电量\n";
        write(
            &dir,
            "daily.csv",
            header.to_owned() + &lines("3300003", "2026-10-01", 10, 100),
        );
        write(
            &dir,
            "fixed.csv",
            header.to_owned() + &lines("3300003", "2026-10-10", 1, 90),
        );
        let (units, enterprises) = (fixture("units.csv"), fixture("enterprises.csv"));
        let (units, enterprises) = (units.to_string_lossy(), enterprises.to_string_lossy());
        let (code, out) = run(first, &["import", &units, &enterprises, "accounts.csv"]);
        assert_eq!(code, 0, "{out}");
        let (code, out) = run(first, &["import", "--kind", "power-daily", "daily.csv"]);
        assert_eq!(code, 0, "{out}");
        let (code, out) = run(second, &["import", "--kind", "power-daily", "fixed.csv"]);
        assert_eq!(code, 0, "{out}");
        let s = &db.store;
        let (t1, t2) = (first.timestamp_millis(), second.timestamp_millis());
        let q = "SELECT MIN(received_at) FROM power_daily WHERE day < '2026-10-10'";
        assert_eq!(scalar(s, q).await, t1, "{}", db.name);
        let q = "SELECT MAX(received_at) FROM power_daily WHERE day < '2026-10-10'";
        assert_eq!(scalar(s, q).await, t1, "{}", db.name);
        let q = "SELECT received_at FROM power_daily WHERE day = '2026-10-10'";
        assert_eq!(scalar(s, q).await, t2, "{}", db.name);
        let q = "SELECT received_at FROM power_daily_history WHERE day = '2026-10-10'";
        assert_eq!(scalar(s, q).await, t1, "{}", db.name);
        let q = "SELECT superseded_at FROM power_daily_history WHERE day = '2026-10-10'";
        assert_eq!(scalar(s, q).await, t2, "{}", db.name);
        db.cleanup().await;
    }
}
