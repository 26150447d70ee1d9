//! `submission` is the record again (issue 18): every import path (CSV, XLSX, JSON, an HTTP
//! pull, an inbox folder) leaves rows there equal to the months the evaluation reads (the
//! packed years), on both backends; and a database written by the packed-only release gets its
//! rows back from its packs with nothing lost.

mod common;

use std::collections::HashMap;

use axum::http::header;
use axum::response::IntoResponse;
use common::*;
use indmon::config::Config;
use indmon::ingest::{ImportOptions, import_file};
use indmon::sources::{self, PullStatus};
use indmon::store::Store;
use indmon::store::packed::{self, Month, N_FIELDS};
use sqlx::Row as _;

const NANHU: &str = "913307811860913921";
const DONGLING: &str = "9133078152601815XT";

/// One row of `submission`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Row {
    code: String,
    period: String,
    /// The figures, then the revision and the import run (as [`packed`] orders them).
    fields: Month,
    received_at: i64,
}

fn rows_sql() -> String {
    let fields = (0..N_FIELDS)
        .map(|k| format!("CAST({} AS BIGINT)", packed::field_name(k)))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "SELECT credit_code, period, {fields}, received_at FROM submission ORDER BY credit_code, period"
    )
}

macro_rules! read_rows {
    ($pool:expr) => {{
        sqlx::query(sqlx::AssertSqlSafe(rows_sql()))
            .fetch_all($pool)
            .await
            .expect("read submission")
            .into_iter()
            .map(|r| {
                let mut fields: Month = [None; N_FIELDS];
                for (k, f) in fields.iter_mut().enumerate() {
                    *f = r.get(k + 2);
                }
                Row {
                    code: r.get(0),
                    period: r.get(1),
                    fields,
                    received_at: r.get(N_FIELDS + 2),
                }
            })
            .collect::<Vec<Row>>()
    }};
}

/// Every row of `submission`, in key order.
async fn rows(store: &Store) -> Vec<Row> {
    match store {
        Store::Sqlite(p) => read_rows!(p),
        Store::Postgres(p) => read_rows!(p),
    }
}

async fn exec(store: &Store, sql: &str) {
    let sql = sqlx::AssertSqlSafe(sql.to_string());
    match store {
        Store::Sqlite(p) => sqlx::query(sql).execute(p).await.map(|_| ()),
        Store::Postgres(p) => sqlx::query(sql).execute(p).await.map(|_| ()),
    }
    .unwrap_or_else(|e| panic!("{e}"));
}

async fn strings(store: &Store, sql: &str) -> Vec<String> {
    let sql = sqlx::AssertSqlSafe(sql.to_string());
    match store {
        Store::Sqlite(p) => sqlx::query_scalar(sql).fetch_all(p).await,
        Store::Postgres(p) => sqlx::query_scalar(sql).fetch_all(p).await,
    }
    .expect("query")
}

/// The months the evaluation reads, decoded from the packed years, as the rows they stand
/// for: received when the import run that wrote them began.
async fn packs_as_rows(store: &Store) -> Vec<Row> {
    let runs: HashMap<i64, i64> = match store {
        Store::Sqlite(p) => sqlx::query_as("SELECT id, started_at FROM import_run")
            .fetch_all(p)
            .await
            .expect("runs"),
        Store::Postgres(p) => sqlx::query_as("SELECT id, started_at FROM import_run")
            .fetch_all(p)
            .await
            .expect("runs"),
    }
    .into_iter()
    .collect();
    store
        .stored_months(0, 9999)
        .await
        .expect("stored months")
        .into_iter()
        .map(|m| Row {
            code: m.credit_code,
            period: m.period.to_string(),
            received_at: runs[&m.fields[packed::RUN_ID].expect("run")],
            fields: m.fields,
        })
        .collect()
}

/// The rows equal the packed months, and there are `n` of them.
async fn assert_rows_are_the_packs(store: &Store, n: usize, what: &str) {
    let rows = rows(store).await;
    assert_eq!(rows, packs_as_rows(store).await, "{what}");
    assert_eq!(rows.len(), n, "{what}");
}

/// The figure `field` of one row, as stored (ten-thousandths of 万元 for amounts).
fn figure(rows: &[Row], code: &str, period: &str, field: &str) -> Option<i64> {
    let k = (0..N_FIELDS)
        .find(|&k| packed::field_name(k) == field)
        .expect("field");
    rows.iter()
        .find(|r| r.code == code && r.period == period)
        .expect("row")
        .fields[k]
}

#[tokio::test]
async fn csv_xlsx_and_json_imports_write_the_rows_the_evaluation_reads() {
    let dir = tempfile::tempdir().unwrap();
    let revision = write(
        &dir,
        "revision.csv",
        format!("credit_code,period,output\n{NANHU},2026-10,9000\n{DONGLING},2026-09,12.5\n"),
    );
    for db in TestDb::all().await {
        let s = &db.store;
        registry(s).await;
        assert_rows_are_the_packs(s, 0, "registry only").await;
        import_ok(s, &[&fixture("submissions_gbk.csv")]).await;
        assert_rows_are_the_packs(s, 12, "CSV").await;
        let r = import_ok(s, &[&revision]).await.remove(0);
        assert_eq!((r.accepted, r.revised), (1, 1), "{}", db.name);
        assert_rows_are_the_packs(s, 13, "CSV revision").await;
        let now = rows(s).await;
        assert_eq!(figure(&now, NANHU, "2026-10", "output"), Some(90_000_000));
        assert_eq!(figure(&now, NANHU, "2026-10", "revision"), Some(2));
        // The revision kept the figures its file lacks.
        assert_eq!(
            figure(&now, NANHU, "2026-10", "output_ytd"),
            Some(776_733_000)
        );
        import_ok(s, &[&fixture("district_export_2026-10.xlsx")]).await;
        assert_rows_are_the_packs(s, 13, "XLSX").await;
        import_ok(s, &[&fixture("http_page1.json")]).await;
        assert_rows_are_the_packs(s, 13, "JSON").await;
        assert!(s.count("submission_history").await.unwrap() >= 13);
        db.cleanup().await;
    }
}

/// A loopback HTTP server answering every request with `body`.
async fn serve(content_type: &'static str, body: String) -> String {
    let app = axum::Router::new().route(
        "/data",
        axum::routing::get(move || {
            let body = body.clone();
            async move { ([(header::CONTENT_TYPE, content_type)], body).into_response() }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/data")
}

fn source(name: &str, kind: &str, location: &str) -> Config {
    // An inbox file is taken at once (no wait for it to settle).
    let key = if kind == "http" { "url" } else { "path" };
    let settle = if kind == "dir" {
        "settle_secs = 0\n"
    } else {
        ""
    };
    let c = Config::parse(&format!(
        "[[sources]]\nname = \"{name}\"\nkind = \"{kind}\"\n{key} = '{location}'\n{settle}"
    ))
    .unwrap();
    assert!(c.validate().is_empty(), "{:?}", c.validate());
    c
}

#[tokio::test]
async fn pulled_and_inbox_files_write_the_rows_the_evaluation_reads() {
    let codes: Vec<String> = std::fs::read_to_string(fixture("enterprises.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().to_string())
        .collect();
    let page: Vec<serde_json::Value> = codes
        .iter()
        .enumerate()
        .map(|(i, c)| serde_json::json!({"credit_code": c, "period": "2026-09", "output": 100 + i, "output_ytd": 900 + i}))
        .collect();
    let body = serde_json::json!({"submissions": page, "next_cursor": null, "has_more": false})
        .to_string();
    for db in TestDb::all().await {
        let s = &db.store;
        registry(s).await;
        let url = serve("application/json", body.clone()).await;
        let r = sources::pull(s, &source("省平台", "http", &url), None, now())
            .await
            .unwrap()
            .remove(0);
        assert_eq!((r.status, r.accepted), (PullStatus::Ok, 12), "{r:?}");
        assert_rows_are_the_packs(s, 12, "HTTP pull").await;

        let inbox = tempfile::tempdir().unwrap();
        std::fs::copy(
            fixture("submissions_gbk.csv"),
            inbox.path().join("东岭区_2026-10.csv"),
        )
        .unwrap();
        let cfg = source("东岭区", "dir", &inbox.path().display().to_string());
        let r = sources::pull(s, &cfg, None, now()).await.unwrap().remove(0);
        assert_eq!((r.status, r.accepted), (PullStatus::Ok, 12), "{r:?}");
        assert_rows_are_the_packs(s, 24, "inbox").await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn early_merges_partial_and_refused_imports_keep_rows_and_packs_equal() {
    let dir = tempfile::tempdir().unwrap();
    // Three years of one enterprise, two of another, a month with no figure at all.
    let mut text = String::from("credit_code,period,output,output_ytd,electricity\n");
    for (code, from) in [(NANHU, 2024), (DONGLING, 2025)] {
        for year in from..=2026 {
            for m in 1..=(if year == 2026 { 9 } else { 12 }) {
                let v = year * 100 + m;
                text.push_str(&format!("{code},{year}-{m:02},{v},{},\n", v * m));
            }
        }
    }
    text.push_str(&format!("{DONGLING},2023-12,,,\n"));
    let big = write(&dir, "years.csv", &text);
    let revised = write(
        &dir,
        "revised.csv",
        format!(
            "credit_code,period,electricity\n{NANHU},2024-05,7\n{NANHU},2026-09,8\n{DONGLING},2026-10,9\n"
        ),
    );
    let unknown = write(
        &dir,
        "unknown.csv",
        format!("credit_code,period,output\n{NANHU},2026-10,1\n91330700000000001B,2026-10,2\n"),
    );
    let early = ImportOptions {
        buffer_limit: 1,
        ..opts()
    };
    for db in TestDb::all().await {
        let s = &db.store;
        registry(s).await;
        let r = import_file(s, &big, &early).await.unwrap();
        assert!(r.committed && r.accepted == 55, "{r:?}");
        assert_rows_are_the_packs(s, 55, "merged a row at a time").await;
        let r = import_file(s, &revised, &early).await.unwrap();
        assert_eq!((r.accepted, r.revised), (1, 2), "{}", db.name);
        assert_rows_are_the_packs(s, 56, "revised a row at a time").await;
        let before = rows(s).await;

        // Refused whole: nothing of it in the rows.
        let r = import_file(s, &unknown, &opts()).await.unwrap();
        assert!(!r.committed);
        assert_eq!(rows(s).await, before, "{}", db.name);
        // Partial: the known enterprise's row only.
        let partial = ImportOptions {
            partial: true,
            ..opts()
        };
        let r = import_file(s, &unknown, &partial).await.unwrap();
        assert!(r.committed && r.accepted == 1 && r.rejected == 1, "{r:?}");
        assert_rows_are_the_packs(s, 57, "partial").await;
        db.cleanup().await;
    }
}

/// A file of 2025 for `MANY` enterprises (twelve months each), with an enterprise not in the
/// registry among them and one enterprise-month given twice; and the registry of the `MANY`.
fn fresh_year_files(dir: &tempfile::TempDir) -> (std::path::PathBuf, std::path::PathBuf) {
    let mut registry_csv = String::from("credit_code,name,unit_code,scale\n");
    let mut months = String::from("credit_code,period,output,electricity\n");
    for n in 0..MANY {
        let code = credit_code(n);
        registry_csv.push_str(&format!("{code},企业{n},330781,above\n"));
        for m in 1..=12 {
            months.push_str(&format!("{code},2025-{m:02},{},{m}\n", n * 100 + m));
        }
        if n == MANY / 2 {
            months.push_str("91330700000000001B,2025-03,5,5\n91330700000000001B,2025-04,6,6\n");
            months.push_str(&format!("{},2025-01,999999,1\n", credit_code(3)));
        }
    }
    (
        write(dir, "enterprises.csv", registry_csv),
        write(dir, "fresh.csv", months),
    )
}

#[tokio::test]
async fn a_new_year_with_an_unknown_enterprise_and_a_repeat_is_refused_or_partial_alike_held_or_in_runs()
 {
    let dir = tempfile::tempdir().unwrap();
    let (enterprises, fresh) = fresh_year_files(&dir);
    let n = MANY * 12;
    for (what, buffer_limit) in [("held whole", opts().buffer_limit), ("with runs", 64 << 10)] {
        for db in TestDb::all().await {
            let s = &db.store;
            import_ok(s, &[&fixture("units.csv"), &enterprises]).await;
            let refused = ImportOptions {
                buffer_limit,
                ..opts()
            };
            let r = import_file(s, &fresh, &refused).await.unwrap();
            assert!(!r.committed && r.rejected == 3, "{what} {}: {r:?}", db.name);
            assert!(
                rows(s).await.is_empty(),
                "{what} {}: refused whole",
                db.name
            );

            let partial = ImportOptions {
                partial: true,
                ..refused
            };
            let r = import_file(s, &fresh, &partial).await.unwrap();
            assert!(r.committed, "{what} {}: {r:?}", db.name);
            assert_eq!(
                (r.accepted, r.rejected),
                (n as u64, 3),
                "{what} {}",
                db.name
            );
            assert_rows_are_the_packs(s, n, &format!("{what} {}", db.name)).await;
            let got = rows(s).await;
            assert!(
                got.iter().all(|r| r.code != "91330700000000001B"),
                "{what} {}",
                db.name
            );
            // The first of a repeated month stands.
            assert_eq!(
                figure(&got, &credit_code(3), "2025-01", "output"),
                Some(301 * 10_000)
            );
            db.cleanup().await;
        }
    }
}

/// Enterprises for the unpacking test: more than one batch of the unpacking.
const MANY: usize = 4_100;

/// A valid credit code for `n` (the check character computed as GB 32100 has it).
fn credit_code(n: usize) -> String {
    const CHARS: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    const WEIGHTS: [usize; 17] = [
        1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
    ];
    let body = format!("91330781{n:09}");
    let sum: usize = body
        .bytes()
        .zip(WEIGHTS)
        .map(|(b, w)| CHARS.iter().position(|&c| c == b).expect("char") * w)
        .sum();
    let check = CHARS[(31 - sum % 31) % 31] as char;
    format!("{body}{check}")
}

#[tokio::test]
async fn unpacking_restores_every_row_in_batches_and_keeps_the_rows_already_there() {
    let dir = tempfile::tempdir().unwrap();
    let mut registry_csv = String::from("credit_code,name,unit_code,scale\n");
    let mut months = String::from("credit_code,period,output\n");
    for n in 0..MANY {
        let code = credit_code(n);
        registry_csv.push_str(&format!("{code},企业{n},330781,above\n"));
        // Not every enterprise in every year, so that the batches' ends differ by year.
        if n % 3 != 0 {
            months.push_str(&format!("{code},2025-12,{n}\n"));
        }
        months.push_str(&format!("{code},2026-01,{}\n", n + 1));
    }
    let enterprises = write(&dir, "enterprises.csv", registry_csv);
    let months = write(&dir, "months.csv", months);
    for db in TestDb::all().await {
        let s = &db.store;
        import_ok(s, &[&fixture("units.csv"), &enterprises, &months]).await;
        let want = rows(s).await;
        assert_eq!(want.len(), MANY + MANY - MANY.div_ceil(3));
        assert_rows_are_the_packs(s, want.len(), "imported").await;

        // A packed-only database: no rows but one kept, and changed, as a stale copy.
        exec(s, &format!("DELETE FROM submission WHERE credit_code <> '{NANHU}' AND NOT (credit_code = '{}' AND period = '2026-01')", credit_code(7))).await;
        exec(
            s,
            &format!(
                "UPDATE submission SET output = 5 WHERE credit_code = '{}'",
                credit_code(7)
            ),
        )
        .await;
        exec(
            s,
            "INSERT INTO rebuild_pending (name) VALUES ('submission_rows')",
        )
        .await;
        s.migrate().await.unwrap();
        let got = rows(s).await;
        assert_eq!(got.len(), want.len(), "{}: every row back", db.name);
        let mut kept = want.clone();
        for r in kept
            .iter_mut()
            .filter(|r| r.code == credit_code(7) && r.period == "2026-01")
        {
            r.fields[0] = Some(5);
        }
        assert_eq!(got, kept, "{}: the row already there wins", db.name);
        assert!(
            strings(s, "SELECT name FROM rebuild_pending")
                .await
                .is_empty()
        );
        db.cleanup().await;
    }
}

/// The upgrade fixtures (tests/fixtures/upgrade/make.sh).
fn upgrade_fixture(name: &str) -> std::path::PathBuf {
    fixture("upgrade").join(name)
}

/// The packed months and the history of a database not migrated yet, as rows.
async fn before_migration(store: &Store) -> (Vec<Row>, Vec<String>, Vec<String>) {
    let history = strings(
        store,
        &format!(
            "SELECT credit_code || ' ' || period || ' ' || {} || ' ' || CAST(received_at AS TEXT) || ' ' || CAST(superseded_at AS TEXT) || ' ' || CAST(superseded_by AS TEXT) FROM submission_history ORDER BY credit_code, period, revision",
            (0..N_FIELDS)
                .map(|k| format!("COALESCE(CAST({} AS TEXT), '-')", packed::field_name(k)))
                .collect::<Vec<_>>()
                .join(" || ',' || ")
        ),
    )
    .await;
    // SQLite has no encode(): lower(hex()) gives the same digits.
    let hex = match store {
        Store::Sqlite(_) => "lower(hex(months))",
        Store::Postgres(_) => "encode(months, 'hex')",
    };
    let packs = strings(
        store,
        &format!("SELECT CAST(year AS TEXT) || ' ' || credit_code || ' ' || {hex} FROM submission_year ORDER BY year, credit_code"),
    )
    .await;
    (packs_as_rows(store).await, history, packs)
}

/// Migrates a database written by the packed-only release and checks that nothing is lost:
/// its rows are its packed months, its history and packs are untouched, and today's
/// evaluation of it prints what that release printed.
async fn upgrade_and_compare(store: &Store, url: &str, evaluation: &str, what: &str) {
    let applied = store.applied_migrations().await.unwrap();
    assert_eq!(
        applied.last().map(|m| m.0),
        Some(10),
        "{what}: a 0010 database"
    );
    let (want, history, packs) = before_migration(store).await;
    assert!(want.len() > 250, "{what}: {} months", want.len());
    assert!(
        history.len() >= 5,
        "{what}: {} earlier revisions",
        history.len()
    );
    assert!(
        want.iter().any(|r| r.fields[packed::REVISION] == Some(3)),
        "{what}: a month revised twice"
    );
    store.migrate().await.unwrap();
    assert_eq!(
        rows(store).await,
        want,
        "{what}: the rows are the old packs"
    );
    assert_eq!(
        before_migration(store).await,
        (want, history, packs),
        "{what}"
    );
    assert!(
        strings(store, "SELECT name FROM rebuild_pending")
            .await
            .is_empty()
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_indmon"))
        .args([
            "--database",
            url,
            "evaluate",
            "--period",
            "2026-10",
            "--format",
            "json",
            "--dry-run",
        ])
        .env("INDMON_NOW", "2026-11-22T10:00:00Z")
        .env_remove("INDMON_DATABASE_URL")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let old = std::fs::read_to_string(upgrade_fixture(evaluation)).unwrap();
    let new = String::from_utf8(out.stdout).unwrap();
    let json = |s: &str| serde_json::from_str::<serde_json::Value>(s).expect("evaluation JSON");
    assert_eq!(json(&new), json(&old), "{what}: the same evaluation");
}

#[tokio::test]
async fn upgrading_a_sqlite_database_of_the_packed_only_release_brings_the_rows_back() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("v0010.sqlite");
    std::fs::copy(upgrade_fixture("v0010.sqlite"), &file).unwrap();
    let url = format!("sqlite://{}", file.display());
    let store = Store::connect(&url).await.unwrap();
    upgrade_and_compare(&store, &url, "evaluation-sqlite.json", "sqlite").await;
    store.close().await;
}

#[tokio::test]
async fn upgrading_a_postgres_database_of_the_packed_only_release_brings_the_rows_back() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    // The fixture's schema in place of the one the test database was made with (and the
    // views' schema of migration 0013, which a 0010 database has not got yet).
    exec(&db.store, "DROP SCHEMA IF EXISTS indmon_read CASCADE").await;
    exec(&db.store, "DROP SCHEMA public CASCADE").await;
    exec(&db.store, "CREATE SCHEMA public").await;
    let dump = std::fs::read_to_string(upgrade_fixture("v0010-postgres.sql")).unwrap();
    restore(&db.url, &dump).await;
    // Connections opened before the restore cached the old schema's statements.
    let store = Store::connect(&db.url).await.unwrap();
    upgrade_and_compare(&store, &db.url, "evaluation-postgres.json", "postgres").await;
    store.close().await;
    db.cleanup().await;
}

/// Runs a plain `pg_dump` script on a connection of its own (it empties `search_path`),
/// leaving out psql's meta-commands (`\restrict`), which are no SQL.
async fn restore(url: &str, dump: &str) {
    use sqlx::Connection;
    let sql: String = dump
        .lines()
        .filter(|l| !l.starts_with('\\'))
        .flat_map(|l| [l, "\n"])
        .collect();
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(&mut conn)
        .await
        .expect("restore the dump");
    conn.close().await.ok();
}
