//! Evaluation benchmark: one period (2026-10) of a synthetic province with 25 months of history
//! stored — wall time from the stored database to the alerts written, and peak memory.
//!
//! The database is prepared first (generated and imported, untimed; reused when
//! `INDMON_BENCH_DB` names an existing SQLite file or PostgreSQL database; a name that does not
//! exist yet is prepared and kept).
//! The evaluation then runs in a fresh child process, so that its peak RSS (`VmHWM`) is the
//! evaluation's alone: first with every alert new (all written; a kept database's alerts are
//! deleted first), then again with nothing changed, then — the alerts deleted and September
//! evaluated, untimed — after September: every alert September opened that October still
//! finds is given October's figures, as each month after the first does. Each round prints
//! its CPU time (user + system, every thread) over its wall time: how much of the two cores
//! it kept busy.
//!
//! Run: `./bench evaluate [sqlite|postgres|all]`, or `cargo bench --bench evaluate` with
//! `INDMON_BENCH_BACKEND`, `INDMON_BENCH_POSTGRES_URL` and `INDMON_BENCH_ENTERPRISES` (default
//! 50,000) as for the import benchmark.

mod common;

use std::time::Instant;

use anyhow::{Context, ensure};
use chrono::TimeZone;
use common::{MONTHS, cpu_secs, create_scratch, drop_scratch, generate, vm_hwm_mib};
use indmon::config::Config;
use indmon::ingest::{ImportOptions, import_file, summary_line};
use indmon::store::Store;

/// Generates and imports the province into `url`, untimed.
async fn prepare(url: &str, n: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let start = Instant::now();
    let subs = generate(dir.path(), n)?;
    let store = Store::connect(url).await?;
    store.migrate().await?;
    for f in ["units.csv", "enterprises.csv", "targets.csv"] {
        let r = import_file(
            &store,
            &dir.path().join(f),
            &ImportOptions::new(chrono::Utc::now()),
        )
        .await?;
        ensure!(r.committed && r.rejected == 0, "{f}: {}", summary_line(&r));
    }
    let r = import_file(&store, &subs, &ImportOptions::new(chrono::Utc::now())).await?;
    ensure!(r.committed && r.rejected == 0, "{}", summary_line(&r));
    store.close().await;
    println!(
        "prepared {n} enterprises × {MONTHS} months in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Deletes every alert and evaluation, so that the first round opens every alert again (a
/// database kept with `INDMON_BENCH_DB` holds the previous run's).
async fn clear_alerts(label: &str, url: &str) -> anyhow::Result<()> {
    // Children first: the cases the evaluation opened refer to its alerts.
    let sql = [
        "DELETE FROM case_chase",
        "DELETE FROM case_answer",
        "DELETE FROM case_event",
        "DELETE FROM alert_case",
        "DELETE FROM notified",
        "DELETE FROM alert_event",
        "DELETE FROM alert",
        "DELETE FROM evaluation_run",
    ];
    if label == "sqlite" {
        let pool = sqlx::SqlitePool::connect(url).await?;
        for s in sql {
            sqlx::query(s).execute(&pool).await?;
        }
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(url).await?;
        for s in sql {
            sqlx::query(s).execute(&pool).await?;
        }
        pool.close().await;
    }
    Ok(())
}

/// The child: evaluates 2026-10 twice, then again after September (every alert September
/// opened and October still finds is updated), and prints the figures.
async fn evaluate(label: &str, url: &str) -> anyhow::Result<()> {
    clear_alerts(label, url).await?;
    let store = Store::connect(url).await?;
    let config = Config::default();
    let (september, october) = ("2026-09".parse()?, "2026-10".parse()?);
    let at = |month: u32| {
        chrono::Utc
            .with_ymd_and_hms(2026, month, 22, 2, 0, 0)
            .single()
    };
    let (in_october, in_november) = (at(10).context("time")?, at(11).context("time")?);
    for round in ["first (all new)", "again (no change)"] {
        timed(&store, &config, label, round, october, in_november).await?;
    }
    clear_alerts(label, url).await?;
    indmon::evaluate::run(&store, &config, september, in_october, false).await?;
    timed(
        &store,
        &config,
        label,
        "after September",
        october,
        in_november,
    )
    .await?;
    store.close().await;
    Ok(())
}

/// Evaluates `period` at `now` and prints a line of figures and one of phases.
async fn timed(
    store: &Store,
    config: &Config,
    label: &str,
    round: &str,
    period: indmon::period::Period,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<()> {
    let (start, cpu) = (Instant::now(), cpu_secs());
    let (report, _) = indmon::evaluate::run(store, config, period, now, false).await?;
    let secs = start.elapsed().as_secs_f64();
    let cpu_wall = (cpu_secs() - cpu) / secs;
    let a = report.applied;
    println!(
        "{label:<9} {round:<18} {:>9} {:>8} {:>8} {:>8} {:>8} {secs:>8.2} {:>9.1} {cpu_wall:>8.2}",
        report.enterprises,
        report.findings.len(),
        a.opened,
        a.changed,
        a.resolved,
        vm_hwm_mib()
    );
    let phases: Vec<String> = report
        .timings
        .iter()
        .map(|(name, secs)| format!("{name} {secs:.2}s"))
        .collect();
    println!("          phases: {}", phases.join(", "));
    Ok(())
}

/// Runs the evaluation in a fresh process.
fn child(label: &str, url: &str) -> anyhow::Result<()> {
    let exe = std::env::current_exe()?;
    let status = std::process::Command::new(exe)
        .env("INDMON_BENCH_CHILD", format!("{label}|{url}"))
        .status()?;
    ensure!(status.success(), "evaluation child failed: {status}");
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    common::init_logging();
    if let Ok(spec) = std::env::var("INDMON_BENCH_CHILD") {
        let (label, url) = spec.split_once('|').context("child spec")?;
        return evaluate(label, url).await;
    }
    let backend = std::env::var("INDMON_BENCH_BACKEND").unwrap_or_else(|_| "all".into());
    let n: usize = match std::env::var("INDMON_BENCH_ENTERPRISES") {
        Ok(v) => v.parse().context("INDMON_BENCH_ENTERPRISES")?,
        Err(_) => 50_000,
    };
    println!(
        "backend   round              enterprises findings   opened  changed resolved  seconds VmHWM MiB cpu/wall"
    );
    let keep = tempfile::tempdir()?;
    // INDMON_BENCH_DB keeps the prepared database between runs (preparing 500,000 enterprises
    // takes minutes): a SQLite file path, or a PostgreSQL database name.
    let reuse = std::env::var("INDMON_BENCH_DB")
        .ok()
        .filter(|s| !s.is_empty());
    if backend != "postgres" {
        let path = match &reuse {
            Some(p) => std::path::PathBuf::from(p),
            None => keep.path().join(format!("evaluate-{n}.db")),
        };
        let url = format!("sqlite://{}", path.display());
        if path.exists() {
            println!("reusing {}", path.display());
        } else {
            prepare(&url, n).await?;
        }
        child("sqlite", &url)?;
    }
    if backend != "sqlite" {
        match std::env::var("INDMON_BENCH_POSTGRES_URL") {
            Ok(admin_url) if !admin_url.is_empty() => {
                if let Some(db) = &reuse {
                    let (url, made) = common::kept_database(&admin_url, db).await?;
                    if made {
                        prepare(&url, n).await?;
                    }
                    child("postgres", &url)?;
                } else {
                    let (admin, db, url) = create_scratch(&admin_url, "indmon_bench_eval").await?;
                    let result = match prepare(&url, n).await {
                        Ok(()) => child("postgres", &url),
                        Err(e) => Err(e),
                    };
                    drop_scratch(&admin, &db).await?;
                    result?;
                }
            }
            _ => println!("postgres  skipped: INDMON_BENCH_POSTGRES_URL is not set"),
        }
    }
    Ok(())
}
