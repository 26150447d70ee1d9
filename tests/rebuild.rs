//! `submission_year` is a cache of `submission`: `indmon rebuild --check` finds packs that are
//! damaged, missing or without rows, `indmon rebuild` makes them again byte for byte, and a row
//! changed behind indmon's back (raw SQL) is rebuilt before the next evaluation reads it. Both
//! backends.

mod common;

use std::fmt::Write as _;
use std::process::Command;

use common::{TestDb, import_ok, registry, scalar, write};
use indmon::analysis::WINDOW;
use indmon::config::Config;
use indmon::store::{
    Difference, PackDifference, RebuildScope, Store, mark_indmon_writer, packed,
    unmark_indmon_writer,
};

const DONGLING: &str = "9133078152601815XT";
const NANHU: &str = "913307811860913921";
const XISHAN: &str = "91330781462819483E";
const BEIGANG: &str = "91330781190937864H";

async fn exec(store: &Store, sql: &str) {
    let sql = sqlx::AssertSqlSafe(sql.to_string());
    match store {
        Store::Sqlite(p) => sqlx::query(sql).execute(p).await.map(|_| ()),
        Store::Postgres(p) => sqlx::query(sql).execute(p).await.map(|_| ()),
    }
    .unwrap_or_else(|e| panic!("{e}"));
}

async fn packs(store: &Store) -> Vec<(i32, String, Vec<u8>)> {
    let sql = "SELECT year, credit_code, months FROM submission_year ORDER BY year, credit_code";
    match store {
        Store::Sqlite(p) => sqlx::query_as(sql).fetch_all(p).await,
        Store::Postgres(p) => sqlx::query_as(sql).fetch_all(p).await,
    }
    .unwrap()
}

async fn set_pack(store: &Store, year: i32, code: &str, pack: &[u8]) {
    let sql = "INSERT INTO submission_year (year, credit_code, months) VALUES ($1, $2, $3)
               ON CONFLICT (year, credit_code) DO UPDATE SET months = excluded.months";
    match store {
        Store::Sqlite(p) => sqlx::query(sql)
            .bind(year)
            .bind(code)
            .bind(pack)
            .execute(p)
            .await
            .map(|_| ()),
        Store::Postgres(p) => sqlx::query(sql)
            .bind(year)
            .bind(code)
            .bind(pack)
            .execute(p)
            .await
            .map(|_| ()),
    }
    .unwrap();
}

/// Two years of months for four enterprises, one of them revised by a second file.
async fn world(store: &Store) {
    registry(store).await;
    let dir = tempfile::tempdir().unwrap();
    let mut first = String::from("credit_code,period,output,output_ytd,electricity\n");
    let mut ytd = [0i64; 4];
    for p in ["2025-11", "2025-12", "2026-01", "2026-02", "2026-03"] {
        if p.ends_with("-01") {
            ytd = [0; 4];
        }
        for (i, code) in [DONGLING, NANHU, XISHAN, BEIGANG].iter().enumerate() {
            let out = 1000 + 100 * i as i64;
            ytd[i] += out;
            writeln!(first, "{code},{p},{out},{},{}", ytd[i], 10 + i).unwrap();
        }
    }
    let second = format!("credit_code,period,output\n{NANHU},2026-02,1234.5\n");
    let first = write(&dir, "first.csv", first);
    let second = write(&dir, "second.csv", second);
    import_ok(store, &[&first, &second]).await;
    rows_from_packs(store).await;
}

/// Fills `submission` from the packs when imports do not write rows yet, as if they did (the
/// marks the triggers make for these inserts are cleared). Where imports write rows, checks
/// that they left no mark: indmon's own writes are not "behind its back".
async fn rows_from_packs(store: &Store) {
    if scalar(store, "SELECT COUNT(*) FROM submission").await > 0 {
        assert_eq!(
            scalar(store, "SELECT COUNT(*) FROM submission_year_stale").await,
            0,
            "an import marked its own rows stale"
        );
        return;
    }
    for m in store.stored_months(0, 9999).await.unwrap() {
        let values = m
            .fields
            .iter()
            .map(|v| v.map_or("NULL".to_string(), |v| v.to_string()))
            .collect::<Vec<_>>()
            .join(", ");
        exec(
            store,
            &format!(
                "INSERT INTO submission (credit_code, period, {}, received_at) VALUES ('{}', '{}', {values}, 0)",
                packed::columns(""),
                m.credit_code,
                m.period
            ),
        )
        .await;
    }
    exec(store, "DELETE FROM submission_year_stale").await;
}

async fn check(store: &Store, scope: &RebuildScope) -> Vec<(i32, String, PackDifference)> {
    let mut found = Vec::new();
    store
        .rebuild_packs(
            scope,
            false,
            |d: &Difference| found.push((d.year, d.credit_code.clone(), d.kind)),
            |_| {},
        )
        .await
        .unwrap();
    found.sort();
    found
}

fn all() -> RebuildScope {
    RebuildScope::default()
}

#[tokio::test]
async fn a_rebuild_restores_damaged_and_deleted_packs_byte_for_byte_and_removes_orphans() {
    for db in TestDb::all().await {
        let s = &db.store;
        world(s).await;
        let original = packs(s).await;
        assert_eq!(original.len(), 8, "{}", db.name);
        assert_eq!(check(s, &all()).await, vec![], "{}", db.name);

        // One byte of a pack overwritten, a pack deleted, packs for enterprise-years without
        // rows: a year the enterprise never reported, and an enterprise with no rows at all.
        let (year, code, pack) = original
            .iter()
            .find(|(y, c, _)| *y == 2026 && c == NANHU)
            .unwrap()
            .clone();
        let mut damaged = pack.clone();
        let last = damaged.len() - 1;
        damaged[last] ^= 0x01;
        set_pack(s, year, &code, &damaged).await;
        exec(
            s,
            &format!("DELETE FROM submission_year WHERE year = 2025 AND credit_code = '{XISHAN}'"),
        )
        .await;
        set_pack(s, 2019, DONGLING, &pack).await;
        let stranger = "91330781MA0000000X";
        set_pack(s, 2026, stranger, &pack).await;
        let damaged_store = packs(s).await;

        let want = vec![
            (2019, DONGLING.to_string(), PackDifference::Orphan),
            (2025, XISHAN.to_string(), PackDifference::Missing),
            (2026, NANHU.to_string(), PackDifference::Differs),
            (2026, stranger.to_string(), PackDifference::Orphan),
        ];
        assert_eq!(check(s, &all()).await, want, "{}", db.name);
        // Batches of one row each find the same, wherever their ends fall.
        let small = RebuildScope {
            batch_rows: 1,
            ..all()
        };
        assert_eq!(check(s, &small).await, want, "{}", db.name);
        assert_eq!(packs(s).await, damaged_store, "a check writes nothing");

        // Scoped: one year, one enterprise.
        let only_2025 = RebuildScope {
            year: Some(2025),
            ..all()
        };
        assert_eq!(check(s, &only_2025).await, want[1..2].to_vec());
        let only_nanhu = RebuildScope {
            enterprise: Some(NANHU.into()),
            ..all()
        };
        assert_eq!(check(s, &only_nanhu).await, want[2..3].to_vec());
        let sum = s
            .rebuild_packs(&only_nanhu, true, |_| {}, |_| {})
            .await
            .unwrap();
        assert_eq!((sum.differing, sum.missing, sum.orphans), (1, 0, 0));
        assert_eq!(check(s, &all()).await.len(), 3, "only NANHU's was repaired");

        // The command line, in batches of one row: --check lists and fails, rebuild repairs.
        let (code, out) = indmon(&db.url, &["rebuild", "--check"]);
        assert_eq!(code, 1, "{out}");
        for (y, c, _) in [&want[0], &want[1], &want[3]] {
            assert!(out.contains(&format!("{y}\t{c}\t")), "{out}");
        }
        let (code, out) = indmon(&db.url, &["rebuild", "--batch-rows", "1"]);
        assert_eq!(code, 0, "{out}");
        assert!(out.contains("删除多余 (orphans removed) 2"), "{out}");
        assert_eq!(packs(s).await, original, "{}: byte for byte", db.name);
        let (code, out) = indmon(&db.url, &["rebuild", "--check"]);
        assert_eq!(code, 0, "{out}");
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_rebuild_refuses_to_empty_the_packs_of_a_store_whose_rows_are_missing() {
    for db in TestDb::all().await {
        let s = &db.store;
        world(s).await;
        let before = packs(s).await;
        // Rows gone as indmon's own write would remove them (no marks), packs left.
        exec(s, "DELETE FROM submission").await;
        exec(s, "DELETE FROM submission_year_stale").await;
        let err = s
            .rebuild_packs(&all(), true, |_| {}, |_| {})
            .await
            .unwrap_err();
        assert!(err.to_string().contains("refused"), "{err}");
        assert_eq!(packs(s).await, before);
        db.cleanup().await;
    }
}

/// The output stored for `code` in the evaluated period, as the next evaluation reads it.
async fn evaluated_output(store: &Store, code: &str) -> Option<i64> {
    let config = Config::default();
    let period = "2026-03".parse().unwrap();
    let (_, ds) = indmon::evaluate::run(store, &config, period, common::now(), true)
        .await
        .unwrap();
    let e = ds
        .enterprises
        .iter()
        .position(|e| e.credit_code.as_str() == code)
        .unwrap();
    let s = &ds.series[e];
    (s.present & (1 << (WINDOW - 1)) != 0).then_some(s.output[WINDOW - 1])
}

#[tokio::test]
async fn a_row_changed_behind_indmons_back_is_rebuilt_before_the_next_evaluation_reads_it() {
    for db in TestDb::all().await {
        let s = &db.store;
        world(s).await;
        assert_eq!(evaluated_output(s, NANHU).await, Some(11_000_000));
        let marks = "SELECT COUNT(*) FROM submission_year_stale";

        // An UPDATE, an INSERT and a DELETE in raw SQL, as an administrator might.
        exec(
            s,
            &format!("UPDATE submission SET output = 77770000 WHERE credit_code = '{NANHU}' AND period = '2026-03'"),
        )
        .await;
        exec(
            s,
            &format!(
                "DELETE FROM submission WHERE credit_code = '{XISHAN}' AND period = '2026-03'"
            ),
        )
        .await;
        exec(
            s,
            &format!(
                "INSERT INTO submission (credit_code, period, output, revision, run_id, received_at) VALUES ('{DONGLING}', '2024-06', 5, 1, 1, 0)"
            ),
        )
        .await;
        assert_eq!(scalar(s, marks).await, 3, "{}", db.name);
        assert_eq!(check(s, &all()).await.len(), 3, "{}", db.name);

        assert_eq!(
            evaluated_output(s, NANHU).await,
            Some(77_770_000),
            "{}",
            db.name
        );
        assert_eq!(evaluated_output(s, XISHAN).await, None, "{}", db.name);
        assert_eq!(scalar(s, marks).await, 0, "{}", db.name);
        assert_eq!(
            check(s, &all()).await,
            vec![],
            "{}: packs equal their rows",
            db.name
        );

        // indmon's own write transaction leaves no mark; the next raw change marks again.
        match s {
            Store::Sqlite(p) => {
                let mut tx = p.begin().await.unwrap();
                mark_indmon_writer(&mut *tx).await.unwrap();
                sqlx::query("UPDATE submission SET employees = 1")
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                unmark_indmon_writer(&mut *tx).await.unwrap();
                tx.commit().await.unwrap();
            }
            Store::Postgres(p) => {
                let mut tx = p.begin().await.unwrap();
                mark_indmon_writer(&mut *tx).await.unwrap();
                sqlx::query("UPDATE submission SET employees = 1")
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                unmark_indmon_writer(&mut *tx).await.unwrap();
                tx.commit().await.unwrap();
            }
        }
        assert_eq!(scalar(s, marks).await, 0, "{}", db.name);
        exec(s, "UPDATE submission SET employees = 2").await;
        assert_eq!(scalar(s, marks).await, 9, "{}", db.name);
        assert_eq!(s.refresh_stale_years().await.unwrap(), 9);
        assert_eq!(s.refresh_stale_years().await.unwrap(), 0);
        assert_eq!(check(s, &all()).await, vec![], "{}", db.name);

        // An import, which merges into the stored packs, rebuilds the stale ones first.
        exec(
            s,
            &format!("UPDATE submission SET employees = 3 WHERE credit_code = '{BEIGANG}'"),
        )
        .await;
        assert_eq!(scalar(s, marks).await, 2, "{}", db.name);
        let dir = tempfile::tempdir().unwrap();
        let same = write(
            &dir,
            "same.csv",
            format!("credit_code,period,output\n{BEIGANG},2026-03,1300\n"),
        );
        import_ok(s, &[&same]).await;
        assert_eq!(scalar(s, marks).await, 0, "{}", db.name);
        assert_eq!(check(s, &all()).await, vec![], "{}", db.name);
        db.cleanup().await;
    }
}

/// On SQLite indmon's writes set the stale-mark triggers aside (their per-row `WHEN` cost a
/// quarter of an import's row writing): only inside its own transaction, never seen by another
/// connection, back after a rollback, and put back by the next refresh if a bug ever committed
/// the transaction without them.
#[tokio::test]
async fn sqlite_sets_the_stale_triggers_aside_only_inside_indmons_own_write() {
    let db = TestDb::sqlite().await;
    let s = &db.store;
    world(s).await;
    let Store::Sqlite(p) = s else { unreachable!() };
    let triggers =
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'submission'";
    assert_eq!(scalar(s, triggers).await, 3);

    let mut tx = p.begin().await.unwrap();
    mark_indmon_writer(&mut *tx).await.unwrap();
    let inside: i64 = sqlx::query_scalar(triggers)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(inside, 0, "dropped inside the writer's transaction");
    // The store keeps one SQLite connection; another program (a BI tool, the shell) has its own.
    let other = Store::connect(&db.url).await.unwrap();
    assert_eq!(
        scalar(&other, triggers).await,
        3,
        "another connection still sees them"
    );
    tx.rollback().await.unwrap();
    assert_eq!(scalar(s, triggers).await, 3, "a rollback brings them back");

    let mut tx = p.begin().await.unwrap();
    mark_indmon_writer(&mut *tx).await.unwrap();
    unmark_indmon_writer(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(scalar(s, triggers).await, 3, "unmark creates them again");
    assert_eq!(scalar(s, "SELECT COUNT(*) FROM pack_writer").await, 0);

    // The bug: a write transaction committed without its unmark.
    let mut tx = p.begin().await.unwrap();
    mark_indmon_writer(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(scalar(s, triggers).await, 0);
    s.refresh_stale_years().await.unwrap();
    assert_eq!(
        scalar(s, triggers).await,
        3,
        "the next refresh puts them back"
    );
    assert_eq!(scalar(s, "SELECT COUNT(*) FROM pack_writer").await, 0);
    exec(
        s,
        &format!("UPDATE submission SET employees = 4 WHERE credit_code = '{NANHU}'"),
    )
    .await;
    assert!(scalar(s, "SELECT COUNT(*) FROM submission_year_stale").await > 0);
    db.cleanup().await;
}

fn indmon(url: &str, args: &[&str]) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_indmon"))
        .current_dir(dir.path())
        .env_remove("INDMON_DATABASE_URL")
        .arg("--database")
        .arg(url)
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
