//! The `import_run` ledger tells the truth about the data, on SQLite and PostgreSQL: a run is
//! closed in the transaction that commits its data, and a run whose process was killed is
//! marked `interrupted` by the next import.

mod common;

use std::time::{Duration, Instant};

use common::*;
use indmon::credit_code::CreditCode;
use indmon::ingest::{import_bytes, import_file};
use indmon::store::Store;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

/// Runs one statement of test set-up on the store's own database.
async fn exec(store: &Store, sql: &'static str) {
    match store {
        Store::Sqlite(p) => sqlx::query(sql).execute(p).await.map(drop),
        Store::Postgres(p) => sqlx::query(sql).execute(p).await.map(drop),
    }
    .expect(sql);
}

/// Every run: `(file name, status, accepted + revised, finished)`.
async fn runs(store: &Store) -> Vec<(String, String, i64, bool)> {
    let sql = "SELECT file, status, accepted + revised, finished_at IS NOT NULL FROM import_run ORDER BY id";
    let rows: Vec<(String, String, i64, bool)> = match store {
        Store::Sqlite(p) => sqlx::query_as(sql).fetch_all(p).await,
        Store::Postgres(p) => sqlx::query_as(sql).fetch_all(p).await,
    }
    .expect("read import_run");
    rows.into_iter()
        .map(|(f, s, n, done)| {
            let name = f.rsplit('/').next().unwrap_or(&f).to_string();
            (name, s, n, done)
        })
        .collect()
}

/// Makes the closing of a run as `ok` or `partial` fail: on PostgreSQL at COMMIT (a deferred
/// constraint trigger), on SQLite at the update (SQLite has no deferred triggers).
async fn refuse_ok_runs(store: &Store) {
    match store {
        Store::Sqlite(_) => {
            exec(
                store,
                "CREATE TRIGGER refuse_ok BEFORE UPDATE OF status ON import_run
                 WHEN NEW.status IN ('ok', 'partial') BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
            )
            .await
        }
        Store::Postgres(_) => {
            exec(
                store,
                "CREATE FUNCTION refuse_ok() RETURNS trigger LANGUAGE plpgsql AS
                 $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$",
            )
            .await;
            exec(
                store,
                "CREATE CONSTRAINT TRIGGER refuse_ok AFTER UPDATE ON import_run
                 DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
                 WHEN (NEW.status IN ('ok', 'partial')) EXECUTE FUNCTION refuse_ok()",
            )
            .await
        }
    }
}

#[tokio::test]
async fn an_import_whose_run_cannot_be_closed_commits_no_data() {
    let dir = tempfile::tempdir().unwrap();
    let subs = write(
        &dir,
        "subs.csv",
        "credit_code,period,output\n913307811860913921,2026-10,8357.9\n",
    );
    for db in TestDb::all().await {
        let s = &db.store;
        registry(s).await;
        refuse_ok_runs(s).await;
        let e = import_file(s, &subs, &opts()).await.unwrap_err();
        assert!(format!("{e:#}").contains("refused by the test"), "{e:#}");
        assert_eq!(s.count("submission").await.unwrap(), 0, "{}", db.name);
        let e = import_file(s, &fixture("units.csv"), &opts()).await;
        assert!(e.is_err(), "{}", db.name);
        let r = runs(s).await;
        // units, enterprises, then the two refused imports: failed, with nothing counted.
        assert_eq!(r.len(), 4, "{r:?}");
        for (file, status, n, done) in &r[2..] {
            assert_eq!(
                (status.as_str(), *n, *done),
                ("failed", 0, true),
                "{file} on {}",
                db.name
            );
        }
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_committed_import_is_recorded_ok_with_its_counts() {
    for db in TestDb::all().await {
        registry(&db.store).await;
        import_ok(&db.store, &[&fixture("submissions_gbk.csv")]).await;
        let r = runs(&db.store).await;
        let got: Vec<(&str, &str, i64, bool)> = r
            .iter()
            .map(|(f, s, n, d)| (f.as_str(), s.as_str(), *n, *d))
            .collect();
        assert_eq!(
            got,
            [
                ("units.csv", "ok", 4, true),
                ("enterprises.csv", "ok", 12, true),
                ("submissions_gbk.csv", "ok", 12, true)
            ],
            "{}",
            db.name
        );
        db.cleanup().await;
    }
}

/// A registry of `n` enterprises and a file of ten months of submissions for each.
fn big_files(dir: &tempfile::TempDir, n: usize) -> (std::path::PathBuf, std::path::PathBuf) {
    let codes: Vec<CreditCode> = (0..n)
        .map(|i| CreditCode::with_check(&format!("91330781{i:09}")).expect("code"))
        .collect();
    let mut ents = String::from("credit_code,name,unit_code,zone_code,industry_code,scale\n");
    let mut subs = String::from("credit_code,period,output,output_ytd\n");
    for (i, c) in codes.iter().enumerate() {
        ents.push_str(&format!("{c},企业{i},330781,,C3411,above\n"));
        for m in 1..=10 {
            subs.push_str(&format!("{c},2026-{m:02},{}.5,{}.5\n", i + m, (i + m) * m));
        }
    }
    (write(dir, "ents.csv", ents), write(dir, "big.csv", subs))
}

/// Whether an import transaction holds the write lock of the database right now.
async fn in_import_transaction(db: &TestDb) -> bool {
    match &db.store {
        Store::Sqlite(_) => {
            // No waiting for the lock: a busy database is the answer.
            let Ok(o) = db.url.parse::<SqliteConnectOptions>() else {
                return false;
            };
            let Ok(mut c) = o.busy_timeout(Duration::ZERO).connect().await else {
                return false;
            };
            let held = sqlx::query("BEGIN IMMEDIATE")
                .execute(&mut c)
                .await
                .is_err();
            let _ = c.close().await;
            held
        }
        Store::Postgres(p) => {
            let n: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
                 WHERE c.relname = 'submission_year' AND l.mode = 'ShareRowExclusiveLock' AND l.granted
                   AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            )
            .fetch_one(p)
            .await
            .unwrap_or(0);
            n > 0
        }
    }
}

#[tokio::test]
async fn a_killed_import_commits_nothing_and_its_run_is_marked_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    let (ents, big) = big_files(&dir, 30_000);
    for db in TestDb::all().await {
        let s = &db.store;
        import_ok(s, &[&fixture("units.csv"), &ents]).await;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_indmon"))
            .current_dir(dir.path())
            .env_remove("INDMON_DATABASE_URL")
            .args(["--database", &db.url, "import"])
            .arg(&big)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn indmon import");
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut inside = false;
        while Instant::now() < deadline && child.try_wait().unwrap().is_none() {
            let running = runs(s)
                .await
                .iter()
                .any(|r| r.0 == "big.csv" && r.1 == "running");
            if running && in_import_transaction(&db).await {
                inside = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(inside, "{}: the import never held its transaction", db.name);
        // Some rows into the transaction, then kill -9.
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert!(
            child.try_wait().unwrap().is_none(),
            "{}: finished too soon",
            db.name
        );
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(s.count("submission").await.unwrap(), 0, "{}", db.name);
        let r = runs(s).await;
        assert_eq!((r[2].0.as_str(), r[2].1.as_str()), ("big.csv", "running"));

        // The next import finds the dead process's run and says what happened to it.
        import_ok(s, &[&fixture("units.csv")]).await;
        let r = runs(s).await;
        assert_eq!(
            (r[2].1.as_str(), r[2].2, r[2].3),
            ("interrupted", 0, true),
            "{}: {r:?}",
            db.name
        );
        assert_eq!(r[3].1, "ok");
        assert_eq!(s.count("submission").await.unwrap(), 0, "{}", db.name);
        db.cleanup().await;
    }
}

/// `boot_id/starttime` of a process, as `import_run.process` records it.
fn process_start(pid: u32) -> String {
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let rest = &stat[stat.rfind(')').unwrap() + 1..];
    format!(
        "{}/{}",
        boot.trim(),
        rest.split_whitespace().nth(19).unwrap()
    )
}

#[tokio::test]
async fn a_start_marks_only_this_hosts_runs_whose_process_is_gone() {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let host = host.trim();
    let mut child = std::process::Command::new("sleep")
        .arg("0.2")
        .spawn()
        .unwrap();
    let dead = (i64::from(child.id()), process_start(child.id()));
    child.wait().unwrap();
    let me = std::process::id();
    let alive = (i64::from(me), process_start(me));
    let rows = [
        ("dead.csv", host, &dead),
        ("alive.csv", host, &alive),
        ("elsewhere.csv", "another-host", &dead),
    ];
    for db in TestDb::all().await {
        for (file, h, (pid, start)) in &rows {
            let sql = "INSERT INTO import_run (source, file, sha256, kind, started_at, status, host, pid, process) VALUES ('cli', $1, '', 'submissions', 0, 'running', $2, $3, $4)";
            match &db.store {
                Store::Sqlite(p) => sqlx::query(sql)
                    .bind(file)
                    .bind(h)
                    .bind(pid)
                    .bind(start)
                    .execute(p)
                    .await
                    .map(drop),
                Store::Postgres(p) => sqlx::query(sql)
                    .bind(file)
                    .bind(h)
                    .bind(pid)
                    .bind(start)
                    .execute(p)
                    .await
                    .map(drop),
            }
            .unwrap();
        }
        // What the daemon and every command do when they start.
        db.store.migrate().await.unwrap();
        let got: Vec<(String, String)> = runs(&db.store)
            .await
            .into_iter()
            .map(|r| (r.0, r.1))
            .collect();
        let want = [
            ("dead.csv", "interrupted"),
            ("alive.csv", "running"),
            ("elsewhere.csv", "running"),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        assert_eq!(got, want, "{}", db.name);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_pulled_registry_page_stores_its_cursor_with_its_rows_and_run_or_not_at_all() {
    let page = r#"{"enterprises": [{"credit_code": "9133078152601815XT", "name": "东岭精密", "unit_code": "330781", "industry_code": "C3411", "scale": "above"}], "next_cursor": "p2"}"#;
    for db in TestDb::all().await {
        let s = &db.store;
        import_ok(s, &[&fixture("units.csv")]).await;
        let mut o = opts();
        o.source = "district".into();
        o.commit_cursor = Some("p2".into());
        refuse_ok_runs(s).await;
        let e = import_bytes(s, "https://x/page1", page.as_bytes().to_vec(), None, &o)
            .await
            .unwrap_err();
        assert!(format!("{e:#}").contains("refused by the test"), "{e:#}");
        assert_eq!(s.count("enterprise").await.unwrap(), 0, "{}", db.name);
        let cursor = s
            .source_state("district")
            .await
            .unwrap()
            .and_then(|st| st.cursor);
        assert_eq!(
            cursor, None,
            "{}: the cursor moved past rows not stored",
            db.name
        );
        db.cleanup().await;
    }
}
