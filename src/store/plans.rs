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
