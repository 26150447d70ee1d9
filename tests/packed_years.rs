//! Submissions are stored packed by enterprise and year (`submission_year`): imports merge
//! into the packs directly, keep earlier revisions in `submission_history`, and give the same
//! store whether their rows are merged from memory or from sorted runs on disk (a file larger
//! than the import's buffer). `migrate` packs the row table of a database from before, and keeps it
//! (since migration 0012 the rows are the record again).
//! All on both backends.

mod common;

use std::path::Path;

use common::{TestDb, dump, import_ok, opts, registry, scalar, write};
use indmon::ingest::{ImportOptions, ImportReport, import_file};
use indmon::store::Store;
use indmon::store::packed::{self, N_FIELDS, REVISION, RUN_ID};

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

/// The raw packs, for "nothing was written" checks.
async fn raw_packs(store: &Store) -> Vec<(i32, String, Vec<u8>)> {
    let sql = "SELECT year, credit_code, months FROM submission_year ORDER BY year, credit_code";
    match store {
        Store::Sqlite(p) => sqlx::query_as(sql).fetch_all(p).await,
        Store::Postgres(p) => sqlx::query_as(sql).fetch_all(p).await,
    }
    .unwrap()
}

async fn import(store: &Store, file: &Path, o: &ImportOptions) -> ImportReport {
    import_file(store, file, o).await.expect("import")
}

/// Options whose buffer holds less than one row: every row is written out as a run of its own.
fn merging_every_row() -> ImportOptions {
    ImportOptions {
        buffer_limit: 1,
        ..opts()
    }
}

struct Files {
    _dir: tempfile::TempDir,
    first: std::path::PathBuf,
    second: std::path::PathBuf,
}

fn files() -> Files {
    let dir = tempfile::tempdir().unwrap();
    let first = write(
        &dir,
        "first.csv",
        format!(
            "credit_code,period,output,output_ytd,output_prev,electricity,revenue_ytd\n\
             {NANHU},2025-11,7000,70000,6500,120,80000\n\
             {DONGLING},2026-01,0,0,100,0,0\n\
             {NANHU},2025-12,7100,77100,,121,88000\n\
             {NANHU},2026-01,3000,3000,2900,50,3500\n\
             {DONGLING},2026-02,10.5,10.5,,,\n\
             {NANHU},2026-02,3100,6100,3000,51,7000\n\
             {XISHAN},2025-12,—,900,800,,\n"
        ),
    );
    // A revision of one month carrying only some columns (the others keep their figures), a
    // new month, and a month given again unchanged.
    let second = write(
        &dir,
        "second.csv",
        format!(
            "credit_code,period,output\n\
             {NANHU},2026-01,3050\n\
             {XISHAN},2026-01,95\n\
             {DONGLING},2026-02,10.5\n"
        ),
    );
    Files {
        _dir: dir,
        first,
        second,
    }
}

#[tokio::test]
async fn imports_merge_into_packed_years_and_keep_earlier_revisions() {
    let f = files();
    for db in TestDb::all().await {
        let s = &db.store;
        registry(s).await;
        import_ok(s, &[&common::fixture("submissions_gbk.csv"), &f.first]).await;
        let first_run = import(s, &f.first, &opts()).await;
        assert_eq!(
            (first_run.accepted, first_run.revised, first_run.unchanged),
            (0, 0, 7),
            "{}",
            db.name
        );
        let before = raw_packs(s).await;
        let r = import_ok(s, &[&f.second]).await.remove(0);
        assert_eq!(
            (r.accepted, r.revised, r.unchanged),
            (1, 1, 1),
            "{}",
            db.name
        );

        let months = s.stored_months(2026, 2026).await.unwrap();
        let nanhu = months
            .iter()
            .find(|m| m.credit_code == NANHU && m.period.to_string() == "2026-01")
            .unwrap();
        assert_eq!(nanhu.fields[0], Some(30_500_000), "the revised output");
        assert_eq!(nanhu.fields[1], Some(30_000_000), "the ytd kept");
        assert_eq!(nanhu.fields[REVISION], Some(2));
        assert_eq!(nanhu.fields[RUN_ID], Some(r.run_id));
        let xishan = months
            .iter()
            .find(|m| m.credit_code == XISHAN && m.period.to_string() == "2026-01")
            .unwrap();
        assert_eq!(xishan.fields[0], Some(950_000));
        assert_eq!(
            xishan.fields[1], None,
            "a column the file lacks is NULL in a new month"
        );
        assert_eq!(xishan.fields[REVISION], Some(1));
        let dongling = months
            .iter()
            .find(|m| m.credit_code == DONGLING && m.period.to_string() == "2026-02")
            .unwrap();
        assert_eq!(dongling.fields[REVISION], Some(1), "unchanged");
        assert_ne!(dongling.fields[RUN_ID], Some(r.run_id));

        // The superseded month, with when it was received and by which run it was replaced.
        assert_eq!(
            scalar(
                s,
                &format!(
                    "SELECT output FROM submission_history WHERE credit_code = '{NANHU}' AND period = '2026-01' AND revision = 1"
                )
            )
            .await,
            30_000_000
        );
        assert_eq!(
            scalar(
                s,
                &format!(
                    "SELECT superseded_by FROM submission_history WHERE credit_code = '{NANHU}' AND period = '2026-01'"
                )
            )
            .await,
            r.run_id
        );
        assert_eq!(
            scalar(s, &format!("SELECT received_at FROM submission_history WHERE credit_code = '{NANHU}' AND period = '2026-01'")).await,
            common::now().timestamp_millis()
        );
        assert_eq!(
            scalar(s, "SELECT COUNT(*) FROM submission_history").await,
            1
        );
        // Only the years written changed: NANHU's 2026 and XISHAN's 2026 (new).
        let after = raw_packs(s).await;
        let changed: Vec<(i32, &str)> = after
            .iter()
            .filter(|p| !before.contains(p))
            .map(|p| (p.0, p.1.as_str()))
            .collect();
        assert_eq!(changed, vec![(2026, NANHU), (2026, XISHAN)], "{}", db.name);

        // An identical re-import writes nothing at all.
        let again = import(s, &f.second, &opts()).await;
        assert_eq!((again.accepted, again.revised, again.unchanged), (0, 0, 3));
        assert_eq!(raw_packs(s).await, after, "{}", db.name);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn merging_early_gives_the_store_a_single_merge_gives() {
    let f = files();
    let mut pairs = vec![(TestDb::sqlite().await, TestDb::sqlite().await)];
    if let (Some(a), Some(b)) = (TestDb::postgres().await, TestDb::postgres().await) {
        pairs.push((a, b));
    }
    let stranger = indmon::credit_code::CreditCode::with_check("91330781MA2ABCDE1")
        .expect("a code")
        .as_str()
        .to_string();
    for (db, early) in pairs {
        let once = &db.store;
        let mut counts = Vec::new();
        for (s, o) in [(once, opts()), (&early.store, merging_every_row())] {
            registry(s).await;
            let mut c = Vec::new();
            for file in [
                &common::fixture("submissions_gbk.csv"),
                &f.first,
                &f.second,
                &f.second,
            ] {
                let r = import(s, file, &o).await;
                assert!(r.committed && r.rejected == 0, "{:?}", r.rejects);
                c.push((r.accepted, r.revised, r.unchanged));
            }
            counts.push(c);
        }
        assert_eq!(counts[0], counts[1], "{}", db.name);
        assert_eq!(dump(once).await, dump(&early.store).await, "{}", db.name);

        // A month given twice is caught although its first row was merged long before.
        let dir = tempfile::tempdir().unwrap();
        let dup = write(
            &dir,
            "dup.csv",
            format!(
                "credit_code,period,output\n{BEIGANG},2026-03,1\n{DONGLING},2026-03,2\n{BEIGANG},2026-04,3\n{BEIGANG},2026-03,4\n"
            ),
        );
        let before = dump(&early.store).await;
        let r = import(&early.store, &dup, &merging_every_row()).await;
        assert!(!r.committed);
        assert_eq!(r.rejects.len(), 1, "{:?}", r.rejects);
        assert_eq!(r.rejects[0].line, 5);
        assert!(
            r.rejects[0].reason.contains("与第2行重复"),
            "{}",
            r.rejects[0].reason
        );
        assert_eq!(
            dump(&early.store).await,
            before,
            "nothing of the file is kept"
        );

        // An enterprise not in the registry, after rows already merged: nothing is kept, and
        // with --partial everything else is.
        let unknown = write(
            &dir,
            "unknown.csv",
            format!(
                "credit_code,period,output\n{BEIGANG},2026-05,1\n{DONGLING},2026-05,2\n{stranger},2026-05,3\n{BEIGANG},2026-06,4\n"
            ),
        );
        let r = import(&early.store, &unknown, &merging_every_row()).await;
        if r.rejects
            .iter()
            .any(|x| x.field == "credit_code" && x.line == 4 && x.reason.contains("不在名录"))
        {
            assert!(!r.committed);
            assert_eq!(
                dump(&early.store).await,
                before,
                "nothing of the file is kept"
            );
            let partial = ImportOptions {
                partial: true,
                ..merging_every_row()
            };
            let r = import(&early.store, &unknown, &partial).await;
            assert!(r.committed);
            assert_eq!((r.accepted, r.rejected), (3, 1));
            assert_eq!(dump(&early.store).await.len(), before.len() + 3);
        } else {
            panic!(
                "the unregistered enterprise is not rejected: {:?}",
                r.rejects
            );
        }
        early.cleanup().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn migrate_packs_the_row_table_of_an_older_database_and_keeps_it() {
    let f = files();
    for db in TestDb::all().await {
        let s = &db.store;
        registry(s).await;
        import_ok(
            s,
            &[&common::fixture("submissions_gbk.csv"), &f.first, &f.second],
        )
        .await;
        let want = s.stored_months(0, 9999).await.unwrap();
        assert!(want.len() > 10);
        let packs = raw_packs(s).await;

        // The database as an older version left it: rows in `submission`, no packs, and the
        // row table's drop still pending (0008).
        exec(s, "DELETE FROM submission").await;
        for m in &want {
            let values = m
                .fields
                .iter()
                .map(|v| v.map_or("NULL".to_string(), |v| v.to_string()))
                .collect::<Vec<_>>()
                .join(", ");
            exec(
                s,
                &format!(
                    "INSERT INTO submission (credit_code, period, {}, received_at) VALUES ('{}', '{}', {values}, 0)",
                    packed::columns(""),
                    m.credit_code,
                    m.period
                ),
            )
            .await;
        }
        exec(s, "DELETE FROM submission_year").await;
        exec(
            s,
            "INSERT INTO rebuild_pending (name) VALUES ('submission_year')",
        )
        .await;

        s.migrate().await.unwrap();
        assert_eq!(s.stored_months(0, 9999).await.unwrap(), want, "{}", db.name);
        assert_eq!(raw_packs(s).await, packs, "{}", db.name);
        assert_eq!(scalar(s, "SELECT COUNT(*) FROM rebuild_pending").await, 0);
        // The row table is the record since migration 0011: never dropped.
        assert_eq!(
            scalar(s, "SELECT COUNT(*) FROM submission").await,
            want.len() as i64,
            "{}",
            db.name
        );
        assert_eq!(N_FIELDS, indmon::indicator::N_FIELDS + 2);

        // A rebuild asked for again packs the same years.
        exec(
            s,
            "INSERT INTO rebuild_pending (name) VALUES ('submission_year')",
        )
        .await;
        s.migrate().await.unwrap();
        assert_eq!(raw_packs(s).await, packs);
        assert_eq!(scalar(s, "SELECT COUNT(*) FROM rebuild_pending").await, 0);
        db.cleanup().await;
    }
}
