//! The console's every page runs some queries; these tests hold SQLite to the plans that keep
//! them from scanning a province's tables (checked with `EXPLAIN QUERY PLAN` on the migrated
//! schema).

use super::Store;

/// The plan's lines for `sql` (its parameters unbound) on a fresh migrated SQLite store.
async fn plan(sql: &str) -> Vec<String> {
    let store = Store::connect("sqlite::memory:").await.expect("store");
    store.migrate().await.expect("migrate");
    let Store::Sqlite(p) = &store else {
        unreachable!("a SQLite URL")
    };
    let rows: Vec<(i64, i64, i64, String)> =
        sqlx::query_as(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")))
            .fetch_all(p)
            .await
            .expect("plan");
    rows.into_iter().map(|r| r.3).collect()
}

#[tokio::test]
async fn undated_cases_are_read_through_their_index() {
    let plan = plan(super::case_sync::UNDATED).await;
    assert!(
        plan.iter().any(|d| d.contains("alert_case_undated")),
        "{plan:?}"
    );
}

#[tokio::test]
async fn an_alerts_events_are_read_through_its_index() {
    let plan = plan(super::alerts::EVENTS_OF_ALERT).await;
    assert!(
        plan.iter().any(|d| d.contains("alert_event_alert")),
        "{plan:?}"
    );
}

/// The plan's lines that read a whole table ("SCAN t"; SQLite's "SCAN CONSTANT ROW" aside).
fn scans(plan: &[String]) -> Vec<&String> {
    plan.iter()
        .filter(|d| d.starts_with("SCAN") && !d.contains("CONSTANT ROW"))
        .collect()
}

fn worklist(within: Option<super::cases::Within>) -> String {
    let q = super::cases::CaseQuery {
        open: true,
        within,
        worklist_at: Some(0),
        page: Some((0, 50)),
        ..super::cases::CaseQuery::default()
    };
    super::cases::query_sql(&q).0
}

#[tokio::test]
async fn an_officials_list_reads_each_part_of_their_scope_by_an_index() {
    let within = (
        "owner".to_string(),
        vec!["330781".to_string(), "ZK01".to_string()],
        vec!["91330781MA2XXXXXX1".to_string()],
    );
    let lines = plan(&worklist(Some(within))).await;
    assert!(scans(&lines).is_empty(), "{lines:?}");
    for index in ["alert_case_owner", "alert_scope_unit", "alert_case_subject"] {
        assert!(
            lines.iter().any(|d| d.contains(index)),
            "{index}: {lines:?}"
        );
    }
}

#[tokio::test]
async fn a_case_and_an_alerts_newest_case_are_read_by_their_keys() {
    let q = super::cases::CaseQuery {
        id: Some(1),
        ..super::cases::CaseQuery::default()
    };
    let by_id = plan(&super::cases::query_sql(&q).0).await;
    assert!(scans(&by_id).is_empty(), "{by_id:?}");
    let newest = plan(super::chase::NEWEST_CASE_OF).await;
    assert!(scans(&newest).is_empty(), "{newest:?}");
    assert!(
        newest.iter().any(|d| d.contains("alert_case_alert")),
        "{newest:?}"
    );
}

/// The plan's lines that read the table `table` whole.
fn scans_of<'a>(plan: &'a [String], table: &str) -> Vec<&'a String> {
    plan.iter()
        .filter(|d| d.starts_with(&format!("SCAN {table}")))
        .collect()
}

#[tokio::test]
async fn the_nowcast_reads_a_slice_of_enterprises_day_by_day_by_the_key() {
    let [current, history] = super::forecast_power::statements(true);
    let lines = plan(&current).await;
    assert!(scans_of(&lines, "power_daily").is_empty(), "{lines:?}");
    let by_day = "SEARCH power_daily USING PRIMARY KEY (day=? AND credit_code>? AND credit_code<?)";
    assert!(lines.iter().any(|d| d == by_day), "{lines:?}");
    let lines = plan(&history).await;
    assert!(
        scans_of(&lines, "power_daily_history").is_empty(),
        "{lines:?}"
    );
    let by_code = |d: &String| {
        d.starts_with("SEARCH power_daily_history USING INDEX")
            && d.ends_with("(credit_code>? AND credit_code<?)")
    };
    assert!(lines.iter().any(by_code), "{lines:?}");
}

#[tokio::test]
async fn an_import_finds_each_stored_day_by_the_key() {
    let store = Store::connect("sqlite::memory:").await.expect("store");
    store.migrate().await.expect("migrate");
    let Store::Sqlite(p) = &store else {
        unreachable!("a SQLite URL")
    };
    let mut conn = p.acquire().await.expect("connection");
    let changed = format!(
        "CREATE TEMP TABLE power_changed {}",
        super::power_import::CHANGED_TABLE
    );
    for sql in [super::power_import::SUM_SQLITE, changed.as_str()] {
        let sql = sqlx::AssertSqlSafe(sql);
        sqlx::query(sql)
            .execute(&mut *conn)
            .await
            .expect("temp table");
    }
    let sql = format!("EXPLAIN QUERY PLAN {}", super::power_import::CHANGED);
    let rows: Vec<(i64, i64, i64, String)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .fetch_all(&mut *conn)
        .await
        .expect("plan");
    let lines: Vec<String> = rows.into_iter().map(|r| r.3).collect();
    assert!(scans_of(&lines, "power_daily").is_empty(), "{lines:?}");
    let by_key = "SEARCH d USING PRIMARY KEY (day=? AND credit_code=?)";
    assert!(lines.iter().any(|d| d.starts_with(by_key)), "{lines:?}");
}
