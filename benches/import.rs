//! Import benchmark: how fast `indmon::ingest::import_file` takes a large submissions CSV.
//!
//! Generates (streamed to a temp directory) a city's registry and a submissions file of
//! 50,000 enterprises × 25 months (2024-10 … 2026-10) = 1,250,000 rows, then for each backend
//! imports the registry (untimed), the submissions file (timed: every row must be accepted)
//! and the same file again (timed: every row must be unchanged). Prints seconds, rows/s, the
//! process's peak RSS (`VmHWM`, process-wide, so run one backend per process to isolate it),
//! the CPU seconds the process used (user + system) and those a local PostgreSQL server's
//! processes used meanwhile (NaN if none runs on this machine; they are counted whichever
//! database they serve, so keep the server otherwise idle).
//!
//! Run: `./bench` (builds, then one process per backend), or directly
//! `cargo bench --bench import` with
//! - `INDMON_BENCH_BACKEND=sqlite|postgres|all` (default `all`),
//! - `INDMON_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres`, an admin URL:
//!   a fresh database `indmon_bench_<pid>` is created there and dropped afterwards
//!   (PostgreSQL is skipped when unset),
//! - `INDMON_BENCH_ENTERPRISES=N` for a smaller run (default 50,000),
//! - `INDMON_BENCH_KEEP=1` to keep the generated files (their directory is printed),
//! - `INDMON_LOG=…` a tracing filter (default `error`); `sqlx::query=warn` shows the statements
//!   slower than 1 s with their times, `sqlx::query=debug` every statement.

use std::path::Path;
use std::time::Instant;

mod common;

use anyhow::{Context, ensure};
use common::{MONTHS, cpu_secs, generate, processes_cpu_secs, vm_hwm_mib, with_database};
use indmon::ingest::{ImportOptions, ImportReport, import_file, summary_line};
use indmon::store::Store;

fn opts() -> ImportOptions {
    ImportOptions::new(chrono::Utc::now())
}

/// Imports `path` once, timed, and prints its line of the table.
async fn timed(store: &Store, path: &Path, label: &str, rows: u64) -> anyhow::Result<ImportReport> {
    let hwm_before = vm_hwm_mib();
    let (start, cpu_before) = (Instant::now(), cpu_secs());
    let server_before = processes_cpu_secs("postgres");
    let r = import_file(store, path, &opts()).await?;
    let secs = start.elapsed().as_secs_f64();
    let cpu = cpu_secs() - cpu_before;
    let server = processes_cpu_secs("postgres") - server_before;
    let hwm_after = vm_hwm_mib();
    let rate = rows as f64 / secs;
    println!(
        "{label:<20} {rows:>10} {secs:>9.2} {rate:>10.0} {hwm_before:>9.1} → {hwm_after:>7.1} {cpu:>7.2} {server:>8.2}"
    );
    Ok(r)
}

/// Imports the registry, then the submissions twice; prints one line per timed import.
async fn run(backend: &str, url: &str, dir: &Path, subs: &Path, rows: u64) -> anyhow::Result<()> {
    let store = Store::connect(url).await?;
    store.migrate().await?;
    for f in ["units.csv", "enterprises.csv"] {
        let r = import_file(&store, &dir.join(f), &opts()).await?;
        ensure!(r.committed && r.rejected == 0, "{f}: {}", summary_line(&r));
    }
    let r = timed(&store, subs, &format!("{backend:<9} import"), rows).await?;
    ensure!(
        r.committed && r.rejected == 0 && r.accepted == rows,
        "first import: {} {:?}",
        summary_line(&r),
        r.rejects.first()
    );
    let r = timed(&store, subs, &format!("{backend:<9} re-import"), rows).await?;
    ensure!(
        r.committed && r.rejected == 0 && r.unchanged == rows && r.accepted + r.revised == 0,
        "re-import: {}",
        summary_line(&r)
    );
    store.close().await;
    Ok(())
}

async fn run_postgres(admin_url: &str, dir: &Path, subs: &Path, rows: u64) -> anyhow::Result<()> {
    let admin = sqlx::PgPool::connect(admin_url)
        .await
        .context("cannot connect to INDMON_BENCH_POSTGRES_URL")?;
    let db = format!("indmon_bench_{}", std::process::id());
    let create = sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}"));
    sqlx::query(create).execute(&admin).await?;
    let result = run("postgres", &with_database(admin_url, &db), dir, subs, rows).await;
    let drop = sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"));
    let dropped = sqlx::query(drop).execute(&admin).await;
    admin.close().await;
    result?;
    dropped?;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    common::init_logging();
    let backend = std::env::var("INDMON_BENCH_BACKEND").unwrap_or_else(|_| "all".into());
    ensure!(
        matches!(backend.as_str(), "all" | "sqlite" | "postgres"),
        "INDMON_BENCH_BACKEND must be sqlite, postgres or all"
    );
    let n: usize = match std::env::var("INDMON_BENCH_ENTERPRISES") {
        Ok(v) => v.parse().context("INDMON_BENCH_ENTERPRISES")?,
        Err(_) => 50_000,
    };
    let rows = (n * MONTHS) as u64;
    let dir = tempfile::tempdir()?;
    let start = Instant::now();
    let subs = generate(dir.path(), n)?;
    let size = std::fs::metadata(&subs)?.len();
    println!(
        "generated {rows} rows ({n} enterprises × {MONTHS} months), {:.1} MiB, in {:.1} s; VmHWM {:.1} MiB",
        size as f64 / 1048576.0,
        start.elapsed().as_secs_f64(),
        vm_hwm_mib()
    );
    println!(
        "backend   phase            rows   seconds     rows/s   VmHWM MiB before → after  CPU s  server's"
    );
    if backend != "postgres" {
        let db = dir.path().join("bench.db");
        let url = format!("sqlite://{}", db.display());
        run("sqlite", &url, dir.path(), &subs, rows).await?;
        let size = std::fs::metadata(&db).map_or(0, |m| m.len());
        println!("sqlite database file: {:.1} MiB", size as f64 / 1048576.0);
    }
    if backend != "sqlite" {
        match std::env::var("INDMON_BENCH_POSTGRES_URL") {
            Ok(url) if !url.is_empty() => run_postgres(&url, dir.path(), &subs, rows).await?,
            _ => println!("postgres  skipped: INDMON_BENCH_POSTGRES_URL is not set"),
        }
    }
    if std::env::var_os("INDMON_BENCH_KEEP").is_some() {
        println!("kept the generated files in {}", dir.keep().display());
    }
    Ok(())
}
