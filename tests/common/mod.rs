//! Test support: a fresh database per test on each backend. SQLite always; PostgreSQL when
//! `INDMON_TEST_POSTGRES_URL` points at a server where the tests may create databases
//! (`.ci/run` sets it). Without it the PostgreSQL half is skipped with a notice on stderr.

#![allow(dead_code)]

pub mod mail;
pub mod robots;
pub mod smtp;
pub mod xlsx;

use std::path::{Path, PathBuf};

use chrono::{TimeZone, Utc};
use indmon::credit_code::CreditCode;
use indmon::ingest::{ImportOptions, ImportReport, import_file};
use indmon::store::{Store, packed};
use sqlx::Connection;

/// A database made for one test; dropped (PostgreSQL) or deleted (SQLite) by `cleanup`.
pub struct TestDb {
    pub store: Store,
    pub name: &'static str,
    /// The database's URL, for a child `indmon` process.
    pub url: String,
    admin_url: Option<String>,
    db_name: String,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("test.db").display());
        let store = Store::connect(&url).await.expect("sqlite connect");
        store.migrate().await.expect("migrate");
        TestDb {
            store,
            name: "sqlite",
            url,
            admin_url: None,
            db_name: String::new(),
            _dir: Some(dir),
        }
    }

    /// A fresh PostgreSQL database, or `None` when no server is configured.
    pub async fn postgres() -> Option<TestDb> {
        let Ok(admin) = std::env::var("INDMON_TEST_POSTGRES_URL") else {
            eprintln!(
                "NOTICE: INDMON_TEST_POSTGRES_URL not set; PostgreSQL half of this test skipped"
            );
            return None;
        };
        let db_name = format!("indmon_test_{}_{}", std::process::id(), rand_suffix());
        let mut conn = sqlx::PgConnection::connect(&admin)
            .await
            .expect("connect to INDMON_TEST_POSTGRES_URL");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db_name}")))
            .execute(&mut conn)
            .await
            .expect("create database");
        conn.close().await.ok();
        let url = match admin.rfind('/') {
            Some(i) if admin[..i].ends_with(|c: char| c != '/') => {
                format!("{}/{db_name}", &admin[..i])
            }
            _ => format!("{admin}/{db_name}"),
        };
        let store = Store::connect(&url).await.expect("postgres connect");
        store.migrate().await.expect("migrate");
        Some(TestDb {
            store,
            name: "postgres",
            url,
            admin_url: Some(admin),
            db_name,
            _dir: None,
        })
    }

    /// Both backends (PostgreSQL only when configured).
    pub async fn all() -> Vec<TestDb> {
        let mut v = vec![TestDb::sqlite().await];
        v.extend(TestDb::postgres().await);
        v
    }

    pub async fn cleanup(self) {
        self.store.close().await;
        if let Some(admin) = &self.admin_url
            && let Ok(mut conn) = sqlx::PgConnection::connect(admin).await
        {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.db_name
            )))
            .execute(&mut conn)
            .await;
        }
    }
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish() % 1_000_000_000
}

/// The fixed "now" of the tests: 2026-11-22 10:00 in Shanghai.
/// `y-m-d h:00` Shanghai time.
pub fn shanghai(y: i32, m: u32, d: u32, h: u32) -> chrono::DateTime<Utc> {
    chrono_tz::Asia::Shanghai
        .with_ymd_and_hms(y, m, d, h, 0, 0)
        .unwrap()
        .with_timezone(&Utc)
}

/// A period written `YYYY-MM`.
pub fn period(s: &str) -> indmon::period::Period {
    s.parse().unwrap()
}

/// Writes `text` to `name` in `dir` and imports it as received at `now`: every row accepted.
pub async fn import_at(
    store: &Store,
    dir: &tempfile::TempDir,
    name: &str,
    text: &str,
    now: chrono::DateTime<Utc>,
) {
    let file = write(dir, name, text);
    let r = import_file(store, &file, &ImportOptions::new(now))
        .await
        .unwrap();
    assert!(r.committed && r.rejected == 0, "{name}: {:?}", r.rejects);
}

pub fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 2, 0, 0).unwrap()
}

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub fn opts() -> ImportOptions {
    ImportOptions::new(now())
}

/// Imports files with default options, asserting each committed without rejects.
pub async fn import_ok(store: &Store, files: &[&Path]) -> Vec<ImportReport> {
    let mut out = Vec::new();
    for f in files {
        let r = import_file(store, f, &opts()).await.expect("import");
        assert!(
            r.committed && r.rejected == 0,
            "{} rejected: {:?}",
            f.display(),
            r.rejects
        );
        out.push(r);
    }
    out
}

/// Loads the registry fixtures (units and the twelve sample enterprises).
pub async fn registry(store: &Store) {
    import_ok(store, &[&fixture("units.csv"), &fixture("enterprises.csv")]).await;
}

/// Writes `text` to a file in a fresh temp dir.
pub fn write(dir: &tempfile::TempDir, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, bytes).expect("write fixture");
    p
}

/// Every stored submission (current and history) as canonical text lines, for comparing backends.
pub async fn dump(store: &Store) -> Vec<String> {
    let figures = |f: &[Option<i64>]| {
        f.iter()
            .map(|v| v.map_or("-".to_string(), |v| v.to_string()))
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut out = Vec::new();
    let n = indmon::indicator::N_FIELDS;
    for m in store.stored_months(0, 9999).await.expect("stored months") {
        out.push(format!(
            "submission {} {} r{} {}",
            m.credit_code,
            m.period,
            m.fields[packed::REVISION].expect("revision"),
            figures(&m.fields[..n])
        ));
    }
    let fields: Vec<&str> = indmon::indicator::FIELDS.iter().map(|f| f.name).collect();
    let cols = fields
        .iter()
        .map(|f| format!("COALESCE(CAST({f} AS TEXT), '-')"))
        .collect::<Vec<_>>()
        .join(" || ',' || ");
    let sql = format!(
        "SELECT credit_code || ' ' || period || ' r' || CAST(revision AS TEXT) || ' ' || {cols} FROM submission_history ORDER BY credit_code, period, revision"
    );
    let rows: Vec<String> = match &store {
        Store::Sqlite(p) => sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_all(p)
            .await
            .expect("dump"),
        Store::Postgres(p) => sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_all(p)
            .await
            .expect("dump"),
    };
    out.extend(rows.into_iter().map(|r| format!("submission_history {r}")));
    out
}

/// The current value of one field of one enterprise-month, as display text.
pub async fn value(store: &Store, code: &str, period: &str, field: &str) -> Option<String> {
    let k = indmon::indicator::field_index(field).expect("a submission field");
    let year: i32 = period[..4].parse().expect("YYYY-MM");
    let v = store
        .stored_months(year, year)
        .await
        .expect("value")
        .into_iter()
        .find(|m| m.credit_code == code && m.period.to_string() == period)
        .and_then(|m| m.fields[k]);
    v.map(|raw| indmon::amount::Amount(raw).to_string())
}

/// Writes every stored enterprise-month into a table `submission_rows` (one row each, the
/// columns of the figures, `revision` and `run_id`), so that a test can check the store with
/// SQL of its own. Replaces the table if it exists; call it again after further imports.
pub async fn submission_rows(store: &Store) {
    let cols = packed::columns("");
    let defs = (0..packed::N_FIELDS)
        .map(|k| format!("{} BIGINT", packed::field_name(k)))
        .collect::<Vec<_>>()
        .join(", ");
    let create = format!(
        "CREATE TABLE submission_rows (credit_code TEXT NOT NULL, period TEXT NOT NULL, {defs}, PRIMARY KEY (credit_code, period))"
    );
    let months = store.stored_months(0, 9999).await.expect("stored months");
    macro_rules! fill {
        ($p:expr) => {{
            let mut tx = $p.begin().await.expect("begin");
            sqlx::query("DROP TABLE IF EXISTS submission_rows")
                .execute(&mut *tx)
                .await
                .expect("drop");
            sqlx::query(sqlx::AssertSqlSafe(create.as_str()))
                .execute(&mut *tx)
                .await
                .expect("create");
            for chunk in months.chunks(500) {
                let mut q = sqlx::QueryBuilder::new(format!(
                    "INSERT INTO submission_rows (credit_code, period, {cols}) "
                ));
                q.push_values(chunk, |mut b, m| {
                    b.push_bind(m.credit_code.clone())
                        .push_bind(m.period.to_string());
                    for v in m.fields {
                        b.push_bind(v);
                    }
                });
                q.build().execute(&mut *tx).await.expect("insert");
            }
            tx.commit().await.expect("commit");
        }};
    }
    match store {
        Store::Sqlite(p) => fill!(p),
        Store::Postgres(p) => fill!(p),
    }
}

/// One integer from either backend (a count, a sum, a flag).
pub async fn scalar(store: &Store, sql: &str) -> i64 {
    let q = sqlx::AssertSqlSafe(sql.to_string());
    match store {
        Store::Sqlite(p) => sqlx::query_scalar(q).fetch_one(p).await,
        Store::Postgres(p) => sqlx::query_scalar(q).fetch_one(p).await,
    }
    .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// The process's peak resident set in KiB (`VmHWM`), when the kernel tells it.
pub fn vm_hwm_kib() -> Option<u64> {
    proc_status_kib("VmHWM:")
}

/// The process's resident set in KiB (`VmRSS`), when the kernel tells it.
pub fn vm_rss_kib() -> Option<u64> {
    proc_status_kib("VmRSS:")
}

fn proc_status_kib(field: &str) -> Option<u64> {
    std::fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix(field))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Writes into `dir` a registry of `enterprises` (unit 330781) and their submissions for
/// `months` months from 2024-10, period by period: the files of the memory tests. Returns
/// the paths of the registry and of the submissions.
pub fn large_import(dir: &Path, enterprises: usize, months: usize) -> (PathBuf, PathBuf) {
    use std::io::{BufWriter, Write};
    let code = |i: usize| CreditCode::with_check(&format!("913307{i:011}")).unwrap();
    let registry = dir.join("enterprises.csv");
    let mut w = BufWriter::new(std::fs::File::create(&registry).unwrap());
    writeln!(
        w,
        "credit_code,name,unit_code,zone_code,industry_code,scale,key,owner"
    )
    .unwrap();
    for i in 0..enterprises {
        writeln!(
            w,
            "{},示例{i:05}厂,330781,,C3411,above,否,leader00",
            code(i)
        )
        .unwrap();
    }
    drop(w);
    let submissions = dir.join("submissions.csv");
    let mut w = BufWriter::new(std::fs::File::create(&submissions).unwrap());
    writeln!(w, "credit_code,period,output,output_ytd,sales").unwrap();
    for m in 0..months {
        let (year, month) = (2024 + (9 + m) / 12, (9 + m) % 12 + 1);
        for i in 0..enterprises {
            let v = 1_000 + (i * 7 + m * 13) % 900;
            writeln!(w, "{},{year}-{month:02},{v}.5,{},{v}", code(i), v * 3).unwrap();
        }
    }
    drop(w);
    (registry, submissions)
}

/// Runs one statement on either backend, as a person would in psql or sqlite3.
pub async fn exec(store: &Store, sql: &str) {
    match store {
        Store::Sqlite(p) => sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(p)
            .await
            .map(|_| ()),
        Store::Postgres(p) => sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(p)
            .await
            .map(|_| ()),
    }
    .unwrap_or_else(|e| panic!("{sql}: {e}"));
}
