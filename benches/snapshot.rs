//! Snapshot benchmark: the semimonthly snapshot of a synthetic province (the demo generator with
//! 50,000 above-scale enterprises, 2025-01..2026-10) — wall time from the stored database to the
//! folder written (dry-run evaluation + model + HTML + XLSX + JSON + manifest), and peak memory.
//!
//! The database is prepared first, untimed; the snapshot then runs in a fresh child process so
//! that its peak RSS (`VmHWM`) is the snapshot's alone. Aim: under 5 seconds for 50,000.
//!
//! Run: `./bench snapshot [sqlite|postgres|all]`, or `cargo bench --bench snapshot` with
//! `INDMON_BENCH_BACKEND`, `INDMON_BENCH_POSTGRES_URL` and `INDMON_BENCH_ENTERPRISES`.

mod common;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, ensure};
use common::{create_scratch, drop_scratch, vm_hwm_mib};
use indmon::config::Config;
use indmon::demo::{GenSpec, generate};
use indmon::ingest::{ImportOptions, import_file, summary_line};
use indmon::report::{self, Half};
use indmon::store::Store;

/// Generates the province with the demo generator and imports it into `url`, untimed.
async fn prepare(url: &str, n: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let start = Instant::now();
    let spec = GenSpec {
        enterprises: n,
        below_scale: n / 5,
        http_pages: false,
        ..GenSpec::default()
    };
    generate(&spec, dir.path())?;
    let d = dir.path();
    let mut files: Vec<PathBuf> = [
        "units.csv",
        "enterprises.csv",
        "targets.csv",
        "unit_indicators.csv",
    ]
    .iter()
    .map(|f| d.join(f))
    .collect();
    let mut months: Vec<PathBuf> = std::fs::read_dir(d.join("submissions"))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    months.sort_by_key(|p| {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        (name.contains("revision"), name.contains("late"), name)
    });
    files.extend(months);
    let store = Store::connect(url).await?;
    store.migrate().await?;
    for f in &files {
        let r = import_file(&store, f, &ImportOptions::new(chrono::Utc::now())).await?;
        ensure!(r.committed, "{}: {}", f.display(), summary_line(&r));
    }
    store.close().await;
    println!(
        "prepared {n} enterprises in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The child: builds and writes the snapshot of 2026-11-H1 and prints the figures.
async fn snapshot(label: &str, url: &str) -> anyhow::Result<()> {
    let store = Store::connect(url).await?;
    let config = Config::default();
    let half: Half = "2026-11-H1".parse().map_err(anyhow::Error::msg)?;
    let out = tempfile::tempdir()?;
    let start = Instant::now();
    let snap = report::build(&store, &config, half).await?;
    let built = start.elapsed().as_secs_f64();
    let written = report::write::write(&snap, &config.general.city_name, out.path())?;
    let total = start.elapsed().as_secs_f64();
    let size = |f: &str| {
        std::fs::metadata(written.dir.join(f))
            .map(|m| m.len() as f64 / 1024.0 / 1024.0)
            .unwrap_or(0.0)
    };
    println!(
        "{label:<9} {:>11} {:>8.2} {:>8.2} {:>8.2} {:>8.1} {:>8.1} {:>9.1}",
        snap.expected,
        built,
        total - built,
        total,
        size("report.html"),
        size("report.xlsx"),
        vm_hwm_mib()
    );
    store.close().await;
    Ok(())
}

fn child(label: &str, url: &str) -> anyhow::Result<()> {
    let exe = std::env::current_exe()?;
    let status = std::process::Command::new(exe)
        .env("INDMON_BENCH_CHILD", format!("{label}|{url}"))
        .status()?;
    ensure!(status.success(), "snapshot child failed: {status}");
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if let Ok(spec) = std::env::var("INDMON_BENCH_CHILD") {
        let (label, url) = spec.split_once('|').context("child spec")?;
        return snapshot(label, url).await;
    }
    let backend = std::env::var("INDMON_BENCH_BACKEND").unwrap_or_else(|_| "all".into());
    let n: usize = match std::env::var("INDMON_BENCH_ENTERPRISES") {
        Ok(v) => v.parse().context("INDMON_BENCH_ENTERPRISES")?,
        Err(_) => 50_000,
    };
    println!("backend   enterprises build(s) write(s) total(s) html MiB xlsx MiB VmHWM MiB");
    let keep = tempfile::tempdir()?;
    if backend != "postgres" {
        let path: &Path = keep.path();
        let url = format!(
            "sqlite://{}",
            path.join(format!("snapshot-{n}.db")).display()
        );
        prepare(&url, n).await?;
        child("sqlite", &url)?;
    }
    if backend != "sqlite" {
        match std::env::var("INDMON_BENCH_POSTGRES_URL") {
            Ok(admin_url) if !admin_url.is_empty() => {
                let (admin, db, url) = create_scratch(&admin_url, "indmon_bench_snap").await?;
                let result = match prepare(&url, n).await {
                    Ok(()) => child("postgres", &url),
                    Err(e) => Err(e),
                };
                drop_scratch(&admin, &db).await?;
                result?;
            }
            _ => println!("postgres  skipped: INDMON_BENCH_POSTGRES_URL is not set"),
        }
    }
    Ok(())
}
