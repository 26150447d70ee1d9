//! The daemon's `xun` job (issue 21): a 旬 is released once 95% of the mapped enterprises have
//! all its days, or at its cut-off with what has arrived, whichever comes first; its 旬 digest
//! says which and goes out once — over SMTP on loopback, on SQLite and PostgreSQL.

mod common;

use chrono::{DateTime, Utc};
use common::mail::{config, parsed, to_of};
use common::smtp::SmtpServer;
use common::*;
use indmon::daemon::jobs::{self, JobKind};
use indmon::store::XunWarnings;

/// 南湖 has two accounts, 北港 one: two mapped enterprises.
const MAPPING: &str = "户号,统一社会信用代码\n3300001,913307811860913921\n3300002,913307811860913921\n3300003,91330781190937864H\n";

fn lines(account: &str, from: &str, n: usize, kwh: u32) -> String {
    let start: chrono::NaiveDate = from.parse().expect("day");
    start
        .iter_days()
        .take(n)
        .map(|d| format!("{account},{d},{kwh}\n"))
        .collect()
}

/// 10:30 Shanghai on `day`, the job's default slot.
fn slot(day: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(&format!("{day}T10:30:00+08:00"))
        .expect("time")
        .to_utc()
}

/// Shanghai 09:00 on `day`, when that day's delivery is imported.
fn morning(day: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(&format!("{day}T09:00:00+08:00"))
        .expect("time")
        .to_utc()
}

/// September 2025 and 2026 have no public holiday in their first two 旬s. A year ago all ran at
/// 1000 kWh a day. This 上旬 南湖 runs at 60 + 40 = 100 (10%: 疑似停产) and 北港 at 200 (20%),
/// but 北港's 8th–10th arrive late; both run their 中旬 as in the 上旬 (南湖) and at 1000 (北港).
/// The deliveries by the morning they arrive.
fn deliveries() -> [(&'static str, String); 3] {
    let mut first = String::from("户号,日期,用电量\n");
    first += &lines("3300001", "2025-09-01", 20, 600);
    first += &lines("3300002", "2025-09-01", 20, 400);
    first += &lines("3300003", "2025-09-01", 20, 1000);
    first += &lines("3300001", "2026-09-01", 10, 60);
    first += &lines("3300002", "2026-09-01", 10, 40);
    first += &lines("3300003", "2026-09-01", 7, 200);
    let late = String::from("户号,日期,用电量\n") + &lines("3300003", "2026-09-08", 3, 200);
    let mut second = String::from("户号,日期,用电量\n");
    second += &lines("3300001", "2026-09-11", 10, 60);
    second += &lines("3300002", "2026-09-11", 10, 40);
    second += &lines("3300003", "2026-09-11", 10, 1000);
    [
        ("2026-09-12", first),
        ("2026-09-16", late),
        ("2026-09-21", second),
    ]
}

/// Imports the delivery that arrives on the morning of `day`.
async fn deliver(s: &indmon::store::Store, dir: &tempfile::TempDir, day: &str) {
    let (_, csv) = deliveries()
        .into_iter()
        .find(|(d, _)| *d == day)
        .expect("a delivery that day");
    let file = write(dir, &format!("daily-{day}.csv"), csv);
    let r =
        indmon::ingest::import_file(s, &file, &indmon::ingest::ImportOptions::new(morning(day)))
            .await
            .expect("import");
    assert!(r.committed && r.rejected == 0, "{:?}", r.rejects);
}

async fn run_job(
    s: &indmon::store::Store,
    c: &indmon::config::Config,
    day: &str,
) -> serde_json::Value {
    jobs::run(&JobKind::Xun, s, c, slot(day))
        .await
        .expect("xun job")
        .counts
}

/// The subject and text of the newest message to 东城区.
fn newest_to_dongcheng(server: &SmtpServer) -> (String, String) {
    let got = server.messages();
    let dc = got
        .iter()
        .rev()
        .find(|m| to_of(m) == "dc@example.cn")
        .expect("东城区 is told");
    let m = parsed(&dc.data);
    (
        m.subject().unwrap_or_default().to_string(),
        m.body_text(0).unwrap_or_default().to_string(),
    )
}

#[tokio::test]
async fn a_xun_waits_for_its_data_then_goes_out_once_at_the_cutoff_saying_so() {
    for db in TestDb::all().await {
        let s = &db.store;
        let server = SmtpServer::start().await;
        let c = config(server.port, "");
        let dir = tempfile::tempdir().expect("tempdir");
        registry(s).await;
        import_ok(s, &[&write(&dir, "accounts.csv", MAPPING)]).await;
        deliver(s, &dir, "2026-09-12").await;

        // 12 September: the 上旬 has ended with 1 of 2 enterprises complete (50%); the cut-off
        // is the 15th, so it waits and nothing is evaluated or sent.
        let out = run_job(s, &c, "2026-09-12").await;
        assert_eq!(out["released"], serde_json::json!([]), "{}", db.name);
        assert_eq!(out["waiting"], serde_json::json!(["2026-09-D1"]));
        // August had no electricity at all: past its cut-off, said so, never released.
        let august = serde_json::json!(["2026-08-D1", "2026-08-D2", "2026-08-D3"]);
        assert_eq!(out["empty"], august);
        assert!(server.messages().is_empty());

        // 15 September: cut-off. Released with 50%, 南湖 warned, the digest says how.
        let out = run_job(s, &c, "2026-09-15").await;
        assert_eq!(out["released"], serde_json::json!(["2026-09-D1"]));
        let (subject, body) = newest_to_dongcheng(&server);
        assert!(
            subject.starts_with("【旬预警】9月上旬 东城区："),
            "{}: {subject}",
            db.name
        );
        assert!(
            body.contains(
                "【旬预警】9月上旬用电数据截至旬后第5天完整率50.0%，未达95%，按截止时间发布"
            ),
            "{body}"
        );
        assert!(body.contains("南湖纺织股份有限公司"), "{body}");
        assert!(!body.contains("北港化工"), "北港 was not judged: {body}");
        let sent = server.messages().len();

        // A run with nothing new releases nothing and sends nothing.
        let out = run_job(s, &c, "2026-09-15").await;
        assert_eq!(out["released"], serde_json::json!([]));
        assert_eq!(out["reevaluated"], serde_json::json!([]));
        assert_eq!(server.messages().len(), sent, "{}", db.name);

        // 16 September: 北港's late days arrive; the released 上旬 is judged again, not
        // released again, and 北港's 疑似停产 is told (南湖's is not told twice).
        deliver(s, &dir, "2026-09-16").await;
        let out = run_job(s, &c, "2026-09-16").await;
        assert_eq!(out["released"], serde_json::json!([]));
        assert_eq!(out["reevaluated"], serde_json::json!(["2026-09-D1"]));
        let (_, body) = newest_to_dongcheng(&server);
        assert!(body.contains("北港化工"), "{}: {body}", db.name);
        assert!(!body.contains("南湖纺织股份有限公司"), "{body}");

        // 21 September: the 中旬 is complete for both (100%) and goes out at once.
        deliver(s, &dir, "2026-09-21").await;
        let out = run_job(s, &c, "2026-09-21").await;
        assert_eq!(out["released"], serde_json::json!(["2026-09-D2"]));
        let reason: String = match s {
            indmon::store::Store::Sqlite(p) => {
                sqlx::query_scalar("SELECT reason FROM xun_release WHERE xun = '2026-09-D2'")
                    .fetch_one(p)
                    .await
            }
            indmon::store::Store::Postgres(p) => {
                sqlx::query_scalar("SELECT reason FROM xun_release WHERE xun = '2026-09-D2'")
                    .fetch_one(p)
                    .await
            }
        }
        .expect("release row");
        assert_eq!(reason, "complete", "{}", db.name);
        db.cleanup().await;
    }
}

/// The outcomes recorded for 南湖's 旬 warnings: (旬, outcome, monthly rule).
async fn outcomes(s: &indmon::store::Store) -> Vec<(String, Option<String>, Option<String>)> {
    let sql = "SELECT xun, outcome, monthly_rule FROM xun_warning WHERE credit_code = '913307811860913921' ORDER BY xun";
    match s {
        indmon::store::Store::Sqlite(p) => sqlx::query_as(sql).fetch_all(p).await,
        indmon::store::Store::Postgres(p) => sqlx::query_as(sql).fetch_all(p).await,
    }
    .expect("xun_warning")
}

#[tokio::test]
async fn the_month_confirms_a_xun_warning_and_a_revision_clears_it() {
    for db in TestDb::all().await {
        let s = &db.store;
        let c = indmon::config::Config::default();
        let dir = tempfile::tempdir().expect("tempdir");
        registry(s).await;
        import_ok(s, &[&write(&dir, "accounts.csv", MAPPING)]).await;
        for (day, csv) in deliveries() {
            import_ok(s, &[&write(&dir, &format!("daily-{day}.csv"), csv)]).await;
        }
        for x in ["2026-09-D1", "2026-09-D2"] {
            indmon::evaluate::xun::run(s, &c, x.parse().expect("xun"), now(), false)
                .await
                .expect("xun evaluation");
        }
        // Issued, not yet checked.
        let none = (None, None);
        let got = outcomes(s).await;
        assert_eq!(got.len(), 2, "{}: {got:?}", db.name);
        assert!(got.iter().all(|(_, o, r)| (o.clone(), r.clone()) == none));

        // September's statistics: 南湖 produced nothing against 100 a year before (停产).
        let months = "credit_code,period,output\n913307811860913921,2025-09,100\n91330781190937864H,2025-09,100\n913307811860913921,2026-09,0\n91330781190937864H,2026-09,120\n";
        import_ok(s, &[&write(&dir, "sep.csv", months)]).await;
        let period = "2026-09".parse().expect("period");
        indmon::evaluate::run(s, &c, period, now(), false)
            .await
            .expect("evaluation");
        let confirmed = (
            Some("confirmed".to_string()),
            Some("enterprise_stalled".to_string()),
        );
        for (xun, o, r) in outcomes(s).await {
            assert_eq!((o, r), confirmed.clone(), "{}: {xun}", db.name);
        }

        // A revision: 南湖 did produce 95 in September. The month, evaluated again, clears them.
        let revised = "credit_code,period,output\n913307811860913921,2026-09,95\n";
        import_ok(s, &[&write(&dir, "rev.csv", revised)]).await;
        indmon::evaluate::run(s, &c, period, now(), false)
            .await
            .expect("evaluation");
        for (xun, o, r) in outcomes(s).await {
            assert_eq!(
                (o.as_deref(), r),
                (Some("cleared"), None),
                "{}: {xun}",
                db.name
            );
        }

        // The snapshot: the latest 旬 released before its moment by unit — 南湖 at 100 and 北港
        // at 1000 against 1000 each: (100 + 1000) / 2000 − 1 = −45% in 东岭区 and the city, 0% in
        // the zone — and the warnings issued in the half with what the month showed.
        indmon::evaluate::release::release_due(s, &c, slot("2026-09-21"))
            .await
            .expect("release");
        let half: indmon::report::Half = "2026-11-H2".parse().expect("half");
        let snap = indmon::report::build_since_at(s, &c, half, None, now())
            .await
            .expect("snapshot");
        let x = &snap.xun;
        assert_eq!(x.xun.as_deref(), Some("2026-09-D2"), "{}", db.name);
        let row =
            |u: &indmon::report::xun::XunUnitRow| (u.code.clone(), u.enterprises, u.growth_pct);
        let units: Vec<_> = x.units.iter().chain(&x.zones).map(row).collect();
        assert_eq!(
            units,
            [
                ("3307".to_string(), 2, Some(-45.0)),
                ("330781".to_string(), 2, Some(-45.0)),
                ("ZK01".to_string(), 1, Some(0.0))
            ]
        );
        assert_eq!(x.zones.len(), 1, "the zone apart from the districts");
        let told: Vec<(&str, &str, &str)> = x
            .warnings
            .iter()
            .map(|w| {
                (
                    w.xun_zh.as_str(),
                    w.subject_name.as_str(),
                    w.outcome_zh.as_str(),
                )
            })
            .collect();
        assert_eq!(
            told,
            [
                ("9月上旬", "南湖纺织股份有限公司", "月度数据未证实"),
                ("9月上旬", "北港化工有限公司", "月度数据未证实"),
                ("9月中旬", "南湖纺织股份有限公司", "月度数据未证实"),
            ],
            "{}",
            db.name
        );
        assert!(x.paragraphs[0].starts_with("9月中旬，全市2户可比企业日均用电量同比下降45.0%"));
        db.cleanup().await;
    }
}

/// `power_xun_total` as (credit code, period, 旬, days, kWh, working days, working-day kWh).
type Total = (String, String, i64, i64, i64, i64, i64);

#[tokio::test]
async fn days_past_the_retention_are_summed_by_xun_over_working_days_and_deleted() {
    for db in TestDb::all().await {
        let s = &db.store;
        let dir = tempfile::tempdir().expect("tempdir");
        registry(s).await;
        import_ok(s, &[&write(&dir, "accounts.csv", MAPPING)]).await;
        // September 2024: the 6th is a Friday, the 7th a Saturday, the 14th a Saturday worked
        // in exchange for 中秋 (15th–17th off), the 16th a holiday Monday. 南湖's 6th is first
        // sent as 900 and revised to 1000 (a history row).
        let first = "户号,日期,用电量\n3300001,2024-09-06,900\n";
        let days = "户号,日期,用电量\n3300001,2024-09-06,600\n3300002,2024-09-06,400\n3300001,2024-09-07,500\n3300001,2024-09-14,800\n3300001,2024-09-16,300\n3300003,2024-09-25,2000\n3300003,2026-09-01,1000\n";
        import_ok(s, &[&write(&dir, "first.csv", first)]).await;
        import_ok(s, &[&write(&dir, "days.csv", days)]).await;

        let calendar = indmon::calendar::Calendar::official().expect("calendar");
        let worked = |d| indmon::power::level::is_workday(Some(&calendar), d);
        let keep_from = "2024-10".parse().expect("period");
        let pruned = s
            .prune_power_days(keep_from, worked, now().timestamp_millis())
            .await
            .expect("prune");
        assert_eq!(pruned.months, ["2024-09"], "{}", db.name);
        assert_eq!(pruned.days, 5);

        let sql = "SELECT credit_code, period, CAST(xun AS BIGINT), CAST(days_present AS BIGINT), kwh, CAST(workdays_present AS BIGINT), workday_kwh FROM power_xun_total ORDER BY credit_code, xun";
        let got: Vec<Total> = match s {
            indmon::store::Store::Sqlite(p) => sqlx::query_as(sql).fetch_all(p).await,
            indmon::store::Store::Postgres(p) => sqlx::query_as(sql).fetch_all(p).await,
        }
        .expect("totals");
        let k: i64 = 10_000;
        let row = |c: &str, x: i64, d: i64, kwh: i64, w: i64, wk: i64| -> Total {
            (c.into(), "2024-09".into(), x, d, kwh * k, w, wk * k)
        };
        let nanhu = "913307811860913921";
        let beigang = "91330781190937864H";
        assert_eq!(
            got,
            [
                row(nanhu, 1, 2, 1500, 1, 1000),
                row(nanhu, 2, 2, 1100, 1, 800),
                row(beigang, 3, 1, 2000, 1, 2000),
            ],
            "{}",
            db.name
        );
        // The days and their history are gone; September 2026 is kept.
        assert_eq!(s.count("power_daily").await.expect("count"), 1);
        assert_eq!(s.count("power_daily_history").await.expect("count"), 0);
        // A second prune finds nothing.
        let again = s
            .prune_power_days(keep_from, worked, now().timestamp_millis())
            .await
            .expect("prune");
        assert!(again.months.is_empty());
        db.cleanup().await;
    }
}

/// A 旬 warning of enterprise `code` by `rule`, as the 旬 rules give one.
fn xun_finding(rule: &str, code: &str) -> indmon::rules::Finding {
    let severity = indmon::rules::Severity::Orange;
    common::mail::finding(rule, code, "甲厂", "330702", None, severity, 1)
}

/// The recorded 旬 warnings: credit code and first issue time, by credit code.
async fn issued(s: &indmon::store::Store) -> Vec<(String, i64)> {
    let sql = "SELECT credit_code, issued_at FROM xun_warning ORDER BY credit_code";
    match s {
        indmon::store::Store::Sqlite(p) => sqlx::query_as(sql).fetch_all(p).await,
        indmon::store::Store::Postgres(p) => sqlx::query_as(sql).fetch_all(p).await,
    }
    .unwrap()
}

#[tokio::test]
async fn warnings_recorded_again_keep_their_first_issue_time() {
    for db in TestDb::all().await {
        let s = &db.store;
        let x: indmon::power::Xun = "2026-10-D1".parse().unwrap();
        let f = |code: &str| xun_finding("enterprise_power_stalled", code);
        let (a, b) = (f("913307811860913921"), f("91330781MA2X000013"));
        s.record_xun_warnings(XunWarnings::of(x, &[&a], 1_000))
            .await
            .unwrap();
        s.record_xun_warnings(XunWarnings::of(x, &[&a, &b], 2_000))
            .await
            .unwrap();
        let want = [
            ("913307811860913921".to_string(), 1_000),
            ("91330781MA2X000013".to_string(), 2_000),
        ];
        assert_eq!(issued(s).await, want, "{}", db.name);
        db.cleanup().await;
    }
}

/// Staged warnings (written beside the alerts) are seen by no one until committed, and
/// dropped ones — an evaluation whose alerts could not be written — are not recorded.
#[tokio::test]
async fn staged_warnings_are_recorded_only_when_committed() {
    for db in TestDb::all().await {
        let s = &db.store;
        let x: indmon::power::Xun = "2026-10-D2".parse().unwrap();
        let f = |code: &str| xun_finding("enterprise_power_drop", code);
        let (a, b) = (f("913307811860913921"), f("91330781MA2X000013"));
        let dropped = s
            .stage_xun_warnings(XunWarnings::of(x, &[&a], 1_000))
            .await
            .unwrap();
        drop(dropped);
        let staged = s
            .stage_xun_warnings(XunWarnings::of(x, &[&b], 2_000))
            .await
            .unwrap();
        assert_eq!(issued(s).await, [], "{}", db.name);
        staged.commit().await.unwrap();
        let want = [("91330781MA2X000013".to_string(), 2_000)];
        assert_eq!(issued(s).await, want, "{}", db.name);
        db.cleanup().await;
    }
}
