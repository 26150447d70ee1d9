//! Power-daily import benchmark (issue 21): how fast `indmon::ingest::import_file` takes the
//! power company's daily electricity of a 旬.
//!
//! Generates (streamed to a temp directory) a registry of N enterprises (default 50,000; the
//! issue's target is 500,000), one power account each and its mapping file, and the daily
//! electricity of 2025-10 上旬 and 2026-10 上旬 (10 days × N lines each, day-major, or
//! account-major with `INDMON_BENCH_POWER_ORDER=account`). For each
//! backend it imports the registry, the mapping and last year's 旬 (untimed), then this year's
//! 旬 (timed: every enterprise-day new) and the same file again (timed: every one unchanged).
//! Prints seconds, rows/s and the process's peak RSS (`VmHWM`) before → after.
//!
//! Run: `./bench power` (builds, then one process per backend), or directly
//! `cargo bench --bench power` with `INDMON_BENCH_BACKEND=sqlite|postgres|all`,
//! `INDMON_BENCH_POSTGRES_URL` (an admin URL; a fresh database is created there and dropped),
//! `INDMON_BENCH_ENTERPRISES=N` and `INDMON_BENCH_KEEP=1`, as `benches/import.rs`.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

mod common;

use anyhow::{Context, ensure};
use chrono::{NaiveDate, TimeZone, Utc};
use common::{create_scratch, drop_scratch, generate_registry, vm_hwm_mib};
use indmon::credit_code::CreditCode;
use indmon::ingest::{ImportOptions, ImportReport, import_file, summary_line};
use indmon::store::Store;

/// Days in a 旬 file.
const DAYS: u32 = 10;

fn opts() -> ImportOptions {
    // After both 旬s: a day not over yet is refused.
    ImportOptions::new(
        Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0)
            .single()
            .expect("a valid time"),
    )
}

/// The files of one run.
struct Files {
    units: PathBuf,
    enterprises: PathBuf,
    accounts: PathBuf,
    last_year: PathBuf,
    this_year: PathBuf,
}

fn code(i: usize) -> anyhow::Result<String> {
    Ok(CreditCode::with_check(&format!("913307{i:011}"))
        .context("17 digits make a valid code")?
        .to_string())
}

/// A reproducible daily figure in kWh with one decimal: 100.0 … 10,000.0.
fn kwh(i: usize, year: i32, day: u32) -> String {
    let mut z = (i as u64) << 20 ^ u64::from(year.unsigned_abs()) << 8 ^ u64::from(day);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    let v = 1_000 + (z ^ (z >> 31)) % 99_000;
    format!("{}.{}", v / 10, v % 10)
}

/// One 旬 of daily electricity, day-major (every account on the 1st, then the 2nd, …: the
/// stored key's order), or account-major with `INDMON_BENCH_POWER_ORDER=account` (each
/// account's ten days together: the import sorts them).
fn write_xun(path: &Path, n: usize, year: i32) -> anyhow::Result<()> {
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    writeln!(w, "户号,日期,日用电量(千瓦时)")?;
    let by_account = std::env::var("INDMON_BENCH_POWER_ORDER").is_ok_and(|v| v == "account");
    let (outer, inner) = if by_account {
        (n, DAYS as usize)
    } else {
        (DAYS as usize, n)
    };
    for a in 0..outer {
        for b in 0..inner {
            let (i, day) = if by_account { (a, b) } else { (b, a) };
            let day = u32::try_from(day)? + 1;
            let date = NaiveDate::from_ymd_opt(year, 10, day).context("a valid day")?;
            writeln!(w, "33{i:08},{date},{}", kwh(i, year, day))?;
        }
    }
    w.flush()?;
    Ok(())
}

fn generate(dir: &Path, n: usize) -> anyhow::Result<Files> {
    let registry = generate_registry(dir, n, (n / 250).max(1))?;
    let accounts = dir.join("accounts.csv");
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(&accounts)?);
    writeln!(w, "户号,统一社会信用代码,户名")?;
    for i in 0..n {
        writeln!(w, "33{i:08},{},示例{i:06}制造有限公司", code(i)?)?;
    }
    w.flush()?;
    let (last_year, this_year) = (dir.join("daily_2025.csv"), dir.join("daily_2026.csv"));
    write_xun(&last_year, n, 2025)?;
    write_xun(&this_year, n, 2026)?;
    Ok(Files {
        units: registry.units,
        enterprises: registry.enterprises,
        accounts,
        last_year,
        this_year,
    })
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
    Ok(r)
}

async fn untimed(store: &Store, path: &Path) -> anyhow::Result<()> {
    let r = import_file(store, path, &opts()).await?;
    ensure!(
        r.committed && r.rejected == 0,
        "{}: {}",
        path.display(),
        summary_line(&r)
    );
    Ok(())
}

async fn run(backend: &str, url: &str, f: &Files, rows: u64) -> anyhow::Result<()> {
    let store = Store::connect(url).await?;
    store.migrate().await?;
    let start = Instant::now();
    for path in [&f.units, &f.enterprises, &f.accounts, &f.last_year] {
        untimed(&store, path).await?;
    }
    println!(
        "{backend:<9} prepared (registry, mapping, last year's 旬) in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    let r = timed(&store, &f.this_year, &format!("{backend:<9} import"), rows).await?;
    ensure!(
        r.committed && r.rejected == 0 && r.accepted == rows,
        "first import: {} {:?}",
        summary_line(&r),
        r.rejects.first()
    );
    let r = timed(
        &store,
        &f.this_year,
        &format!("{backend:<9} re-import"),
        rows,
    )
    .await?;
    ensure!(
        r.committed && r.rejected == 0 && r.unchanged == rows && r.accepted + r.revised == 0,
        "re-import: {}",
        summary_line(&r)
    );
    store.close().await;
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
    let rows = n as u64 * u64::from(DAYS);
    let dir = tempfile::tempdir()?;
    let start = Instant::now();
    let files = generate(dir.path(), n)?;
    let size = std::fs::metadata(&files.this_year)?.len();
    println!(
        "generated {rows} lines a 旬 ({n} enterprises × {DAYS} days), {:.1} MiB, in {:.1} s; VmHWM {:.1} MiB",
        size as f64 / 1048576.0,
        start.elapsed().as_secs_f64(),
        vm_hwm_mib()
    );
    println!("backend   phase            rows   seconds     rows/s   VmHWM MiB before → after");
    if backend != "postgres" {
        let db = dir.path().join("bench.db");
        run(
            "sqlite",
            &format!("sqlite://{}", db.display()),
            &files,
            rows,
        )
        .await?;
        let size = std::fs::metadata(&db).map_or(0, |m| m.len());
        println!("sqlite database file: {:.1} MiB", size as f64 / 1048576.0);
    }
    if backend != "sqlite" {
        match std::env::var("INDMON_BENCH_POSTGRES_URL") {
            Ok(url) if !url.is_empty() => {
                let (admin, db, url) = create_scratch(&url, "indmon_bench_power").await?;
                let result = run("postgres", &url, &files, rows).await;
                let dropped = drop_scratch(&admin, &db).await;
                admin.close().await;
                result?;
                dropped?;
            }
            _ => println!("postgres  skipped: INDMON_BENCH_POSTGRES_URL is not set"),
        }
    }
    if std::env::var_os("INDMON_BENCH_KEEP").is_some() {
        println!("kept the generated files in {}", dir.keep().display());
    }
    Ok(())
}
