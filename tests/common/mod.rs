//! Test support: a fresh database per test on each backend. SQLite always; PostgreSQL when
//! `INDMON_TEST_POSTGRES_URL` points at a server where the tests may create databases
//! (`.ci/run` sets it). Without it the PostgreSQL half is skipped with a notice on stderr.

#![allow(dead_code)]

pub mod mail;
pub mod smtp;

use std::path::{Path, PathBuf};

use chrono::{TimeZone, Utc};
use indmon::ingest::{ImportOptions, ImportReport, import_file};
use indmon::store::Store;
use sqlx::Connection;

/// A database made for one test; dropped (PostgreSQL) or deleted (SQLite) by `cleanup`.
pub struct TestDb {
    pub store: Store,
    pub name: &'static str,
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
        if let Some(admin) = &self.admin_url {
            if let Ok(mut conn) = sqlx::PgConnection::connect(admin).await {
                let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    self.db_name
                )))
                .execute(&mut conn)
                .await;
            }
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
    let fields: Vec<&str> = indmon::indicator::FIELDS.iter().map(|f| f.name).collect();
    let cols = fields
        .iter()
        .map(|f| format!("COALESCE(CAST({f} AS TEXT), '-')"))
        .collect::<Vec<_>>()
        .join(" || ',' || ");
    let mut out = Vec::new();
    for (table, extra) in [
        ("submission", "revision"),
        ("submission_history", "revision"),
    ] {
        let sql = format!(
            "SELECT credit_code || ' ' || period || ' r' || CAST({extra} AS TEXT) || ' ' || {cols} FROM {table} ORDER BY credit_code, period, {extra}"
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
        out.extend(rows.into_iter().map(|r| format!("{table} {r}")));
    }
    out
}

/// The current value of one field of one enterprise-month, as display text.
pub async fn value(store: &Store, code: &str, period: &str, field: &str) -> Option<String> {
    let sql = format!("SELECT {field} FROM submission WHERE credit_code = $1 AND period = $2");
    let v: Option<Option<i64>> = match &store {
        Store::Sqlite(p) => sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(code)
            .bind(period)
            .fetch_optional(p)
            .await
            .expect("value"),
        Store::Postgres(p) => sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(code)
            .bind(period)
            .fetch_optional(p)
            .await
            .expect("value"),
    };
    v.flatten()
        .map(|raw| indmon::amount::Amount(raw).to_string())
}
