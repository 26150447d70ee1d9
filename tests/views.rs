//! The readable views (migration 0013): submissions in 万元 with names, alerts in Chinese, the
//! alert scope as rows; on PostgreSQL a read-only role granted the views' schema only.

mod common;

use common::{TestDb, import_ok, now, registry, write};
use indmon::alerts::AlertFilter;
use indmon::alerts::{AlertState, Change, EventKind, reconcile};
use indmon::rules::{Coverage, Finding, Rule, Severity};
use indmon::store::{Store, packed};

/// Runs a query returning one text column on either backend. The views are named as on
/// SQLite (`FROM v_alert`); on PostgreSQL they are read in their schema `indmon_read`.
async fn texts(s: &Store, sql: &str) -> Vec<String> {
    let sql = match s {
        Store::Sqlite(_) => sql.to_string(),
        Store::Postgres(_) => sql
            .replace("FROM v_", "FROM indmon_read.v_")
            .replace("JOIN v_", "JOIN indmon_read.v_"),
    };
    let q = || sqlx::AssertSqlSafe(sql.clone());
    match s {
        Store::Sqlite(p) => sqlx::query_scalar(q()).fetch_all(p).await,
        Store::Postgres(p) => sqlx::query_scalar(q()).fetch_all(p).await,
    }
    .unwrap_or_else(|e| panic!("{:?}: {sql}: {e}", s.backend()))
}

async fn text(s: &Store, sql: &str) -> String {
    let mut v = texts(s, sql).await;
    assert_eq!(v.len(), 1, "{sql}: {v:?}");
    v.remove(0)
}

/// An amount column of a view as text: NUMERIC(20, 4) printed by PostgreSQL, the REAL printed
/// with four decimals on SQLite (exact at these magnitudes, see the migration).
fn amount_sql(s: &Store, column: &str) -> String {
    match s {
        Store::Sqlite(_) => format!("printf('%.4f', {column})"),
        Store::Postgres(_) => format!("CAST({column} AS TEXT)"),
    }
}

/// Copies the stored enterprise-months into the row table `submission` when no import path
/// has written it (this branch's imports write the packed years only), with the time the
/// imports received them.
async fn fill_rows(s: &Store) {
    if text(s, "SELECT CAST(COUNT(*) AS TEXT) FROM submission").await != "0" {
        return;
    }
    let received = now().timestamp_millis();
    for m in s.stored_months(0, 9999).await.expect("stored months") {
        let values = m
            .fields
            .iter()
            .map(|v| v.map_or("NULL".to_string(), |v| v.to_string()))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "INSERT INTO submission (credit_code, period, {}, received_at) VALUES ('{}', '{}', {values}, {received})",
            packed::columns(""),
            m.credit_code,
            m.period
        );
        let sql = sqlx::AssertSqlSafe(sql);
        match s {
            Store::Sqlite(p) => sqlx::query(sql).execute(p).await.map(|_| ()),
            Store::Postgres(p) => sqlx::query(sql).execute(p).await.map(|_| ()),
        }
        .expect("insert row");
    }
}

const DONGLING: &str = "9133078152601815XT";

/// Two months of two enterprises, then October of the first revised.
async fn scenario(s: &Store) {
    registry(s).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let head = "credit_code,period,output,output_ytd,profit_ytd,electricity,employees\n";
    let first = write(
        &dir,
        "first.csv",
        format!(
            "{head}{DONGLING},2026-09,6000.5,52699.9,-12.3456,1000.01,280\n\
             {DONGLING},2026-10,6646.1,59346.0,0.0001,1027.11,286\n\
             913307811860913921,2026-10,8357.9,77673.3,,515.23,176\n"
        ),
    );
    let second = write(
        &dir,
        "second.csv",
        format!("{head}{DONGLING},2026-10,6646.2,59346.1,0.0001,1027.11,286\n"),
    );
    import_ok(s, &[&first, &second]).await;
    fill_rows(s).await;
}

#[tokio::test]
async fn submissions_read_in_wan_yuan_with_names_period_and_time_received() {
    for db in TestDb::all().await {
        let s = &db.store;
        scenario(s).await;
        let cols = [
            "output",
            "output_ytd",
            "profit_ytd",
            "electricity",
            "employees",
        ]
        .map(|c| amount_sql(s, c))
        .join(" || ' ' || ");
        let got = texts(
            s,
            &format!(
                "SELECT period || ' ' || {cols} || ' r' || CAST(revision AS TEXT) FROM v_submission WHERE credit_code = '{DONGLING}' ORDER BY period"
            ),
        )
        .await;
        assert_eq!(
            got,
            [
                "2026-09 6000.5000 52699.9000 -12.3456 1000.0100 280.0000 r1",
                "2026-10 6646.2000 59346.1000 0.0001 1027.1100 286.0000 r2",
            ],
            "{}",
            db.name
        );
        let names = text(
            s,
            &format!("SELECT enterprise_name || '|' || unit_name || '|' || zone_name || '|' || CAST(year AS TEXT) || '|' || CAST(month AS TEXT) FROM v_submission WHERE credit_code = '{DONGLING}' AND period = '2026-10'"),
        )
        .await;
        assert_eq!(names, "东岭精密机械有限公司|东岭区|示例经济开发区|2026|10");
        // A blank cell stays NULL, not 0.
        let blank = text(s, "SELECT CASE WHEN profit_ytd IS NULL THEN 'null' ELSE 'value' END FROM v_submission WHERE credit_code = '913307811860913921'").await;
        assert_eq!(blank, "null");
        // The superseded revision, in 万元 too.
        let old = text(
            s,
            &format!(
                "SELECT {} || ' r' || CAST(revision AS TEXT) FROM v_submission_history WHERE credit_code = '{DONGLING}' AND period = '2026-10'",
                amount_sql(s, "output")
            ),
        )
        .await;
        assert_eq!(old, "6646.1000 r1");
        // Received 2026-11-22 10:00 in Beijing: a real timestamp on PostgreSQL, ISO 8601 text
        // with its offset on SQLite.
        let received = match s {
            Store::Postgres(_) => text(s, "SELECT DISTINCT pg_typeof(received_at)::text || ' ' || to_char(received_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI:SS') FROM v_submission").await,
            Store::Sqlite(_) => text(s, "SELECT DISTINCT received_at FROM v_submission").await,
        };
        let want = match s {
            Store::Postgres(_) => "timestamp with time zone 2026-11-22 10:00:00",
            Store::Sqlite(_) => "2026-11-22T10:00:00+08:00",
        };
        assert_eq!(received, want);
        let ent = text(s, &format!("SELECT name || '|' || unit_name || '|' || zone_name || '|' || scale_zh FROM v_enterprise WHERE credit_code = '{DONGLING}'")).await;
        assert_eq!(ent, "东岭精密机械有限公司|东岭区|示例经济开发区|规上");
        let unit = text(
            s,
            "SELECT name || '|' || kind_zh || '|' || parent_name FROM v_unit WHERE code = 'ZK01'",
        )
        .await;
        assert_eq!(unit, "示例经济开发区|园区|示例市");
        db.cleanup().await;
    }
}

/// A finding about the 东岭 enterprise (the only place this test builds one).
fn finding(rule: &str, scope: &[&str], consecutive: u32) -> Finding {
    Finding {
        rule: rule.parse().expect("rule"),
        severity: Severity::Red,
        subject: DONGLING.into(),
        subject_name: "东岭精密机械有限公司".into(),
        indicator: "output".into(),
        unit: "330781".into(),
        scope: scope.iter().map(|s| s.to_string()).collect(),
        owner: Some("leader00".into()),
        period: "2026-10".parse().expect("period"),
        consecutive,
        message: format!("东岭区东岭精密机械有限公司：{rule} {consecutive}"),
        values: serde_json::Map::new(),
    }
}

fn open(f: Finding) -> Change {
    Change::Open {
        finding: f,
        events: vec![EventKind::Opened],
    }
}

async fn scope_rows(s: &Store, id: i64) -> Vec<String> {
    texts(
        s,
        &format!("SELECT unit_code || ' ' || unit_name || ' ' || unit_kind FROM v_alert_scope WHERE alert_id = {id} ORDER BY ordinal"),
    )
    .await
}

#[tokio::test]
async fn alerts_read_in_chinese_with_their_scope_as_rows() {
    for db in TestDb::all().await {
        let s = &db.store;
        registry(s).await;
        let full = ["330781", "ZK01", "3307"];
        let eval = s
            .begin_evaluation("2026-10".parse().unwrap(), 0)
            .await
            .unwrap();
        s.apply_changes(
            eval,
            &[open(finding("enterprise_stalled", &full, 2))],
            1_000,
        )
        .await
        .unwrap();
        let a = &s.alerts(&AlertFilter::default()).await.unwrap()[0];
        assert_eq!(a.scope, full, "{}", db.name);
        assert_eq!(
            scope_rows(s, a.id).await,
            [
                "330781 东岭区 district",
                "ZK01 示例经济开发区 zone",
                "3307 示例市 city"
            ]
        );
        let row = text(s, &format!("SELECT rule_zh || '|' || state_zh || '|' || severity_zh || '|' || unit_name || '|' || enterprise_name || '|' || period FROM v_alert WHERE id = {}", a.id)).await;
        assert_eq!(row, "停产|预警中|红色|东岭区|东岭精密机械有限公司|2026-10");

        // The scope filter reads alert_scope.
        for (unit, n) in [("ZK01", 1), ("3307", 1), ("330782", 0)] {
            let filter = AlertFilter {
                unit: Some(unit.into()),
                ..AlertFilter::default()
            };
            assert_eq!(s.alerts(&filter).await.unwrap().len(), n, "{unit}");
        }

        // A new scope (the enterprise left its zone) replaces the rows.
        let moved = finding("enterprise_stalled", &["330781", "3307"], 3);
        let changes = reconcile(
            &s.alerts(&AlertFilter::default()).await.unwrap(),
            std::slice::from_ref(&moved),
            &Coverage::default(),
            moved.period,
            3,
        );
        assert!(
            matches!(changes[..], [Change::Update { .. }]),
            "{changes:?}"
        );
        s.apply_changes(eval, &changes, 2_000).await.unwrap();
        assert_eq!(
            scope_rows(s, a.id).await,
            ["330781 东岭区 district", "3307 示例市 city"]
        );
        let zone = AlertFilter {
            unit: Some("ZK01".into()),
            ..AlertFilter::default()
        };
        assert!(s.alerts(&zone).await.unwrap().is_empty());

        s.set_alert_state(a.id, AlertState::Acknowledged, "张三", "已联系", 3_000)
            .await
            .unwrap();
        assert_eq!(
            text(
                s,
                &format!("SELECT state_zh FROM v_alert WHERE id = {}", a.id)
            )
            .await,
            "已认领"
        );
        let events = texts(s, &format!("SELECT kind_zh || '|' || rule_zh || '|' || actor FROM v_alert_event WHERE alert_id = {} ORDER BY id", a.id)).await;
        assert_eq!(
            events,
            [
                "新增|停产|indmon",
                "升级督办|停产|indmon",
                "已认领|停产|张三"
            ]
        );
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_unit_named_twice_in_a_scope_is_one_row_and_no_change() {
    for db in TestDb::all().await {
        let s = &db.store;
        registry(s).await;
        // An enterprise reporting under a zone that is also its zone.
        let f = finding("enterprise_reduced", &["ZK01", "ZK01", "3307"], 1);
        let eval = s.begin_evaluation(f.period, 0).await.unwrap();
        s.apply_changes(eval, &[open(f.clone())], 1_000)
            .await
            .unwrap();
        let stored = s.alerts(&AlertFilter::default()).await.unwrap();
        assert_eq!(stored[0].scope, ["ZK01", "3307"], "{}", db.name);
        let again = reconcile(
            &stored,
            std::slice::from_ref(&f),
            &Coverage::default(),
            f.period,
            3,
        );
        assert!(again.is_empty(), "{again:?}");
        db.cleanup().await;
    }
}

#[tokio::test]
async fn every_rule_severity_and_state_has_its_chinese_name_in_the_views() {
    for db in TestDb::all().await {
        let s = &db.store;
        registry(s).await;
        let eval = s
            .begin_evaluation("2026-10".parse().unwrap(), 0)
            .await
            .unwrap();
        let changes: Vec<Change> = Rule::ALL
            .iter()
            .map(|rule| open(finding(rule.as_str(), &["330781"], 1)))
            .collect();
        s.apply_changes(eval, &changes, 1_000).await.unwrap();
        let got = texts(
            s,
            "SELECT rule || '=' || rule_zh FROM v_alert ORDER BY rule",
        )
        .await;
        let mut want: Vec<String> = Rule::ALL
            .iter()
            .map(|r| format!("{}={}", r.as_str(), r.zh()))
            .collect();
        want.sort();
        assert_eq!(got, want, "{}", db.name);
        for sev in [
            Severity::Red,
            Severity::Orange,
            Severity::Yellow,
            Severity::Blue,
        ] {
            exec(
                s,
                &format!("UPDATE alert SET severity = '{}'", sev.as_str()),
            )
            .await;
            exec(
                s,
                &format!("UPDATE alert_event SET severity = '{}'", sev.as_str()),
            )
            .await;
            let sql = "SELECT DISTINCT a.severity_zh || '|' || e.severity_zh FROM v_alert a JOIN v_alert_event e ON e.alert_id = a.id";
            assert_eq!(text(s, sql).await, format!("{0}|{0}", sev.zh()));
        }
        for state in [
            AlertState::Firing,
            AlertState::Acknowledged,
            AlertState::Resolved,
        ] {
            exec(s, &format!("UPDATE alert SET state = '{}'", state.as_str())).await;
            assert_eq!(
                text(s, "SELECT DISTINCT state_zh FROM v_alert").await,
                state.zh()
            );
        }
        for kind in [
            EventKind::Opened,
            EventKind::Reopened,
            EventKind::SeverityRaised,
            EventKind::SeverityLowered,
            EventKind::Escalated,
            EventKind::Acknowledged,
            EventKind::Resolved,
        ] {
            exec(
                s,
                &format!("UPDATE alert_event SET kind = '{}'", kind.as_str()),
            )
            .await;
            assert_eq!(
                text(s, "SELECT DISTINCT kind_zh FROM v_alert_event").await,
                kind.zh()
            );
        }
        db.cleanup().await;
    }
}

async fn exec(s: &Store, sql: &str) {
    let sql = sqlx::AssertSqlSafe(sql.to_string());
    match s {
        Store::Sqlite(p) => sqlx::query(sql).execute(p).await.map(|_| ()),
        Store::Postgres(p) => sqlx::query(sql).execute(p).await.map(|_| ()),
    }
    .unwrap_or_else(|e| panic!("{e}"));
}

/// The read-only role of deploy/README.md, its SQL run as written (with this test's role and
/// database names): it reads every view and is refused the tables.
#[tokio::test]
async fn a_read_only_role_reads_the_views_and_is_refused_the_tables() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let s = &db.store;
    scenario(s).await;
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/README.md"))
        .expect("README");
    let block = readme
        .split("<!-- read-only role -->")
        .nth(1)
        .and_then(|b| b.split("```sql").nth(1))
        .and_then(|b| b.split("```").next())
        .expect("the read-only role's SQL in deploy/README.md");
    let db_name = db
        .url
        .rsplit('/')
        .next()
        .expect("database name")
        .to_string();
    let role = format!("{db_name}_reader");
    let sql = block
        .replace("indmon_reader", &role)
        .replace("DATABASE indmon", &format!("DATABASE {db_name}"));
    for stmt in sql.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        let stmt: String = stmt
            .lines()
            .filter(|l| !l.trim_start().starts_with("--"))
            .collect::<Vec<_>>()
            .join("\n");
        if !stmt.trim().is_empty() {
            exec(s, &stmt).await;
        }
    }
    let url = db.url.replacen("postgres@", &format!("{role}@"), 1);
    let reader = sqlx::PgPool::connect(&url)
        .await
        .expect("connect as reader");
    let views: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.views WHERE table_schema = 'indmon_read' ORDER BY 1",
    )
    .fetch_all(&reader)
    .await
    .unwrap();
    assert!(views.len() >= 14, "{views:?}");
    for v in &views {
        // Unqualified: the role's search_path is the views' schema.
        let sql = format!("SELECT COUNT(*) FROM {v}");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_one(&reader)
            .await
            .unwrap_or_else(|e| panic!("{v}: {e}"));
    }
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM v_submission")
        .fetch_one(&reader)
        .await
        .unwrap();
    assert_eq!(n, 3);
    for table in [
        "outbox",
        "notified",
        "submission",
        "alert",
        "submission_year",
        "_sqlx_migrations",
    ] {
        let sql = format!("SELECT * FROM public.{table}");
        let err = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&reader)
            .await
            .expect_err(table);
        let code = err
            .as_database_error()
            .and_then(|e| e.code())
            .map(|c| c.to_string());
        assert_eq!(code.as_deref(), Some("42501"), "{table}: {err}");
    }
    let write = sqlx::query("DELETE FROM v_reject").execute(&reader).await;
    assert!(write.is_err(), "the reader cannot write through a view");
    reader.close().await;
    exec(s, &format!("DROP OWNED BY {role}")).await;
    exec(s, &format!("DROP ROLE {role}")).await;
    db.cleanup().await;
}
