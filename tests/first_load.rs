//! The first load into an empty `submission` on PostgreSQL (`store/first_load.rs`) drops the
//! table's key and its stale trigger for the import's transaction and builds them again before
//! it commits. Whatever happens to the import — committed, refused, or run while a reader holds
//! the table — the key and the trigger are there afterwards and work: a revision merges over the
//! first rows, a repeated key is refused, and a change behind indmon's back is marked.

mod common;

use common::*;
use indmon::ingest::{ImportOptions, import_file};
use indmon::store::Store;
use sqlx::PgPool;

const MONTHS: &str = "credit_code,period,output,electricity\n913307811860913921,2026-01,100,10\n913307811860913921,2026-02,110,11\n91330781190937864H,2026-01,200,20\n";

fn pool(store: &Store) -> &PgPool {
    match store {
        Store::Postgres(p) => p,
        Store::Sqlite(_) => panic!("PostgreSQL only"),
    }
}

/// The key's columns and whether the stale trigger is enabled (`O`).
async fn key_and_trigger(p: &PgPool) -> (Vec<String>, String) {
    let key = "SELECT a.attname::text FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey) WHERE c.conrelid = 'submission'::regclass AND c.contype = 'p' ORDER BY array_position(c.conkey, a.attnum)";
    let trigger = "SELECT tgenabled::text FROM pg_trigger WHERE tgrelid = 'submission'::regclass AND tgname = 'submission_stale'";
    (
        sqlx::query_scalar(key).fetch_all(p).await.expect("key"),
        sqlx::query_scalar(trigger)
            .fetch_one(p)
            .await
            .expect("trigger"),
    )
}

async fn assert_intact(p: &PgPool, what: &str) {
    let expected = (vec!["credit_code".into(), "period".into()], "O".to_string());
    assert_eq!(key_and_trigger(p).await, expected, "{what}");
}

async fn count(p: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .fetch_one(p)
        .await
        .expect("count")
}

#[tokio::test]
async fn the_first_load_leaves_the_key_and_the_trigger_working() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let (s, p) = (&db.store, pool(&db.store));
    let dir = tempfile::tempdir().expect("tempdir");
    registry(s).await;

    // Refused (an unknown enterprise): nothing stored, the key as it was.
    let bad = format!("{MONTHS}91330700000000001B,2026-01,5,5\n");
    let r = import_file(s, &write(&dir, "bad.csv", bad), &opts()).await;
    assert!(!r.expect("import").committed);
    assert_intact(p, "after a refused first load").await;

    import_ok(s, &[&write(&dir, "first.csv", MONTHS)]).await;
    assert_intact(p, "after the first load").await;
    assert_eq!(count(p, "SELECT COUNT(*) FROM submission").await, 3);

    // A revision merges over the first rows (its upsert needs the key).
    let revised = "credit_code,period,output,electricity\n913307811860913921,2026-02,120,11\n";
    let r = import_ok(s, &[&write(&dir, "revised.csv", revised)]).await;
    assert_eq!(r[0].revised, 1);
    let repeat = "INSERT INTO submission (credit_code, period, revision, run_id, received_at) VALUES ('913307811860913921', '2026-01', 9, 1, 1)";
    let err = sqlx::query(repeat)
        .execute(p)
        .await
        .expect_err("a repeated key");
    assert!(err.to_string().contains("duplicate key"), "{err}");

    // A change behind indmon's back is marked by the trigger.
    let update = "UPDATE submission SET output = 1 WHERE period = '2026-01'";
    sqlx::query(update).execute(p).await.expect("update");
    assert_eq!(
        count(p, "SELECT COUNT(*) FROM submission_year_stale").await,
        2
    );
    db.cleanup().await;
}

#[tokio::test]
async fn a_first_load_does_not_wait_for_a_reader_of_the_table() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let (s, p) = (&db.store, pool(&db.store));
    let dir = tempfile::tempdir().expect("tempdir");
    registry(s).await;
    // A reader in an open transaction holds the table (ACCESS SHARE) until it ends.
    let mut reader = p.begin().await.expect("begin");
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM submission")
        .fetch_one(&mut *reader)
        .await
        .expect("read");
    assert_eq!(n, 0);
    let file = write(&dir, "first.csv", MONTHS);
    let options = ImportOptions::new(now());
    let import = import_file(s, &file, &options);
    let r = tokio::time::timeout(std::time::Duration::from_secs(20), import)
        .await
        .expect("the import waited for the reader")
        .expect("import");
    assert!(r.committed && r.accepted == 3, "{r:?}");
    reader.rollback().await.expect("rollback");
    assert_intact(p, "beside a reader").await;
    db.cleanup().await;
}
