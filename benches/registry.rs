//! Registry benchmark: how fast `indmon::ingest::import_file` takes an enterprise registry
//! (企业名录).
//!
//! Generates a registry of 50,000 enterprises in 200 districts (a province's) and the same
//! registry with 1% changed, then for each backend imports the units (untimed), the registry
//! (timed: every enterprise new), the changed registry (timed: 1% revised, each recorded in
//! `registry_change`) and the same again (timed: every enterprise unchanged). Prints seconds,
//! rows/s and the process's peak RSS (`VmHWM`, process-wide, so run one backend per process).
//!
//! Run: `./bench registry` (builds, then one process per backend), or directly
//! `cargo bench --bench registry` with
//! - `INDMON_BENCH_BACKEND=sqlite|postgres|all` (default `all`),
//! - `INDMON_BENCH_POSTGRES_URL`, an admin URL: a fresh database `indmon_registry_<pid>` is
//!   created there and dropped afterwards (PostgreSQL is skipped when unset),
//! - `INDMON_BENCH_ENTERPRISES=N` enterprises (default 50,000; a nation's is 500,000),
//! - `INDMON_BENCH_DISTRICTS=K` districts (default N / 250, at least 12), with a zone per ten.

use std::path::Path;
use std::time::Instant;

mod common;

use anyhow::{Context, ensure};
use common::{RegistryFiles, generate_registry, vm_hwm_mib};
use indmon::ingest::{ImportOptions, ImportReport, import_file, summary_line};
use indmon::store::Store;

fn opts() -> ImportOptions {
    ImportOptions::new(chrono::Utc::now())
}

fn env_usize(name: &str) -> anyhow::Result<Option<usize>> {
    match std::env::var(name) {
        Ok(v) => Ok(Some(v.parse().with_context(|| name.to_string())?)),
        Err(_) => Ok(None),
    }
}

/// Imports `path` once, timed, and prints its line of the table.
async fn timed(store: &Store, path: &Path, label: &str, rows: u64) -> anyhow::Result<ImportReport> {
    let hwm_before = vm_hwm_mib();
    let start = Instant::now();
    let r = import_file(store, path, &opts()).await?;
    let secs = start.elapsed().as_secs_f64();
    let hwm_after = vm_hwm_mib();
    let rate = rows as f64 / secs;
    println!(
        "{label:<20} {rows:>10} {secs:>9.2} {rate:>10.0} {hwm_before:>9.1} → {hwm_after:>7.1}"
    );
    ensure!(
        r.committed && r.rejected == 0,
        "{label}: {}",
        summary_line(&r)
    );
    Ok(r)
}

/// Imports the units, then the registry three times; prints one line per timed import.
async fn run(backend: &str, url: &str, files: &RegistryFiles, n: u64) -> anyhow::Result<()> {
    let store = Store::connect(url).await?;
    store.migrate().await?;
    let r = import_file(&store, &files.units, &opts()).await?;
    ensure!(
        r.committed && r.rejected == 0,
        "units: {}",
        summary_line(&r)
    );
    let units = store.count("registry_change").await?;
    let changed = files.n_changed as u64;

    let r = timed(
        &store,
        &files.enterprises,
        &format!("{backend:<9} import"),
        n,
    )
    .await?;
    ensure!(r.accepted == n, "first import: {}", summary_line(&r));
    let label = format!("{backend:<9} 1% changed");
    let r = timed(&store, &files.changed, &label, n).await?;
    ensure!(
        (r.accepted, r.revised, r.unchanged) == (0, changed, n - changed),
        "changed: {}",
        summary_line(&r)
    );
    let r = timed(
        &store,
        &files.changed,
        &format!("{backend:<9} unchanged"),
        n,
    )
    .await?;
    ensure!(r.unchanged == n, "unchanged: {}", summary_line(&r));
    let logged = store.count("registry_change").await? - units;
    ensure!(
        logged as u64 == n + changed,
        "registry_change has {logged} enterprise rows, {} expected",
        n + changed
    );
    store.close().await;
    Ok(())
}

async fn run_postgres(admin_url: &str, files: &RegistryFiles, n: u64) -> anyhow::Result<()> {
    let (admin, db, url) = common::create_scratch(admin_url, "indmon_registry")
        .await
        .context("cannot create a database at INDMON_BENCH_POSTGRES_URL")?;
    let result = run("postgres", &url, files, n).await;
    let dropped = common::drop_scratch(&admin, &db).await;
    admin.close().await;
    result?;
    dropped
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    common::init_logging();
    let backend = std::env::var("INDMON_BENCH_BACKEND").unwrap_or_else(|_| "all".into());
    ensure!(
        matches!(backend.as_str(), "all" | "sqlite" | "postgres"),
        "INDMON_BENCH_BACKEND must be sqlite, postgres or all"
    );
    let n = env_usize("INDMON_BENCH_ENTERPRISES")?.unwrap_or(50_000);
    let districts = env_usize("INDMON_BENCH_DISTRICTS")?.unwrap_or((n / 250).max(12));
    let dir = tempfile::tempdir()?;
    let files = generate_registry(dir.path(), n, districts)?;
    let size = std::fs::metadata(&files.enterprises)?.len();
    println!(
        "generated {n} enterprises in {districts} districts ({} changed in the second file), {:.1} MiB; VmHWM {:.1} MiB",
        files.n_changed,
        size as f64 / 1048576.0,
        vm_hwm_mib()
    );
    println!("backend   phase            rows   seconds     rows/s   VmHWM MiB before → after");
    if backend != "postgres" {
        let db = dir.path().join("bench.db");
        run(
            "sqlite",
            &format!("sqlite://{}", db.display()),
            &files,
            n as u64,
        )
        .await?;
    }
    if backend != "sqlite" {
        match std::env::var("INDMON_BENCH_POSTGRES_URL") {
            Ok(url) if !url.is_empty() => run_postgres(&url, &files, n as u64).await?,
            _ => println!("postgres  skipped: INDMON_BENCH_POSTGRES_URL is not set"),
        }
    }
    Ok(())
}
