//! Migration 0032 (PostgreSQL): every text column of indmon's tables compares bytewise
//! (`COLLATE "C"`), as on SQLite, and the readable views, made again around the change, keep
//! their definitions, comments and grants.

mod common;

use common::{TestDb, exec, fixture, import_ok, registry};
use indmon::store::Store;

const MIGRATION: &str = include_str!("../migrations/postgres/0032_text_bytewise.sql");

/// The text columns of indmon's tables that do not compare bytewise.
const NOT_BYTEWISE: &str = "SELECT c.relname || '.' || a.attname
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND a.attnum > 0 AND NOT a.attisdropped AND a.atttypid = 'text'::regtype
  AND a.attcollation <> (SELECT oid FROM pg_collation WHERE collname = 'C')
ORDER BY 1";

/// Each view of `indmon_read` with its comment, and every row it shows, as text.
async fn views(pool: &sqlx::PgPool) -> Vec<(String, String, Vec<String>)> {
    let named: Vec<(String, String)> = sqlx::query_as(
        "SELECT c.relname::TEXT, COALESCE(obj_description(c.oid, 'pg_class'), '') FROM pg_class c
         WHERE c.relnamespace = 'indmon_read'::regnamespace AND c.relkind = 'v' ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .expect("views");
    let mut out = Vec::new();
    for (name, note) in named {
        let sql = format!("SELECT CAST(v AS TEXT) FROM indmon_read.{name} v ORDER BY 1");
        let rows = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_all(pool)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        out.push((name, note, rows));
    }
    out
}

/// A later migration's new text column would be caught here: only the partition key of
/// `power_daily` and sqlx's own table keep the database's collation.
#[tokio::test]
async fn every_text_column_but_the_partition_key_compares_bytewise() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let Store::Postgres(pool) = &db.store else {
        panic!("a PostgreSQL store");
    };
    let other: Vec<String> = sqlx::query_scalar(NOT_BYTEWISE)
        .fetch_all(pool)
        .await
        .expect("columns");
    assert_eq!(other, ["_sqlx_migrations.description", "power_daily.day"]);
    db.cleanup().await;
}

/// The migration run over views a role was granted one by one (no default privileges): the
/// role still reads every view, each shows the same rows under the same comment, and a
/// column left with the database's collation is made bytewise.
#[tokio::test]
async fn the_views_made_again_keep_their_rows_comments_and_grants() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let s = &db.store;
    let Store::Postgres(pool) = s else {
        panic!("a PostgreSQL store");
    };
    registry(s).await;
    import_ok(s, &[&fixture("submissions_gbk.csv")]).await;
    let before = views(pool).await;
    assert!(before.len() >= 17, "{} views", before.len());
    assert!(
        before
            .iter()
            .any(|(n, _, r)| n == "v_submission" && !r.is_empty())
    );
    let db_name = db.url.rsplit('/').next().expect("database name");
    let role = format!("{db_name}_granted");
    exec(s, &format!("CREATE ROLE {role} LOGIN")).await;
    exec(s, &format!("GRANT USAGE ON SCHEMA indmon_read TO {role}")).await;
    exec(
        s,
        &format!("GRANT SELECT ON ALL TABLES IN SCHEMA indmon_read TO {role}"),
    )
    .await;
    // As a database made before a later migration added a column with the default collation.
    exec(s, "ALTER TABLE registry_change ADD COLUMN later TEXT").await;

    let mut tx = pool.begin().await.expect("begin");
    sqlx::raw_sql(MIGRATION)
        .execute(&mut *tx)
        .await
        .expect("0032 again");
    tx.commit().await.expect("commit");

    assert_eq!(views(pool).await, before);
    let other: Vec<String> = sqlx::query_scalar(NOT_BYTEWISE)
        .fetch_all(pool)
        .await
        .expect("columns");
    assert_eq!(other, ["_sqlx_migrations.description", "power_daily.day"]);
    let url = db.url.replacen("postgres@", &format!("{role}@"), 1);
    let reader = sqlx::PgPool::connect(&url)
        .await
        .expect("connect as the role");
    for (name, _, rows) in &before {
        let sql = format!("SELECT COUNT(*) FROM indmon_read.{name}");
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(&reader)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(n as usize, rows.len(), "{name}");
    }
    reader.close().await;
    exec(s, &format!("DROP OWNED BY {role}")).await;
    exec(s, &format!("DROP ROLE {role}")).await;
    db.cleanup().await;
}

/// A view of an operator's own on indmon's tables would stop the change with PostgreSQL's
/// message, which does not name it: the migration names it, and changes nothing.
#[tokio::test]
async fn a_view_of_ones_own_is_named_and_nothing_changes() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let s = &db.store;
    let Store::Postgres(pool) = s else {
        panic!("a PostgreSQL store");
    };
    exec(
        s,
        "CREATE VIEW own_names AS SELECT credit_code, name FROM enterprise",
    )
    .await;
    exec(s, "ALTER TABLE registry_change ADD COLUMN later TEXT").await;
    let before = views(pool).await;
    let mut tx = pool.begin().await.expect("begin");
    let err = sqlx::raw_sql(MIGRATION)
        .execute(&mut *tx)
        .await
        .expect_err("a view of one's own");
    drop(tx);
    let msg = err.to_string();
    assert!(
        msg.contains("own_names") && msg.contains("indmon migrate"),
        "{msg}"
    );
    assert_eq!(views(pool).await, before);
    let other: Vec<String> = sqlx::query_scalar(NOT_BYTEWISE)
        .fetch_all(pool)
        .await
        .expect("columns");
    assert!(
        other.contains(&"registry_change.later".to_string()),
        "{other:?}"
    );
    db.cleanup().await;
}
