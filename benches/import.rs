//! Import benchmark: how fast `indmon::ingest::import_file` takes a large submissions CSV.
//!
//! Generates (streamed to a temp directory) a city's registry and a submissions file of
//! 50,000 enterprises × 25 months (2024-10 … 2026-10) = 1,250,000 rows, then for each backend
//! imports the registry (untimed), the submissions file (timed: every row must be accepted)
//! and the same file again (timed: every row must be unchanged). Prints seconds, rows/s and the
//! process's peak RSS (`VmHWM`, process-wide, so run one backend per process to isolate it).
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

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, ensure};
use indmon::credit_code::CreditCode;
use indmon::ingest::{ImportOptions, ImportReport, import_file, summary_line};
use indmon::store::Store;

const MONTHS: usize = 25;
const HEADER: &str = "credit_code,period,output,output_ytd,sales_ytd,revenue_ytd,profit_ytd,electricity,employees,export_ytd";
const ENTERPRISES_HEADER: &str =
    "credit_code,name,unit_code,zone_code,industry_code,scale,key,owner";
const INDUSTRIES: [&str; 12] = [
    "C1711", "C1810", "C2614", "C2929", "C3021", "C3130", "C3360", "C3411", "C3484", "C3670",
    "C3891", "C3990",
];

/// splitmix64: a tiny deterministic generator; `unit(a, b)` is a reproducible
/// draw in [0, 1) for the pair (a, b).
fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
fn unit(a: u64, b: u64) -> f64 {
    (splitmix(splitmix(a) ^ b) >> 11) as f64 / (1u64 << 53) as f64
}

fn code(i: usize) -> String {
    CreditCode::with_check(&format!("913307{i:011}"))
        .expect("17 digits make a valid code")
        .to_string()
}

/// Tenths of a unit as text: 66461 → `6646.1`, -35 → `-3.5`.
fn tenths(v: i64) -> String {
    let sign = if v < 0 { "-" } else { "" };
    format!("{sign}{}.{}", v.abs() / 10, v.abs() % 10)
}

/// Writes units.csv, enterprises.csv and submissions.csv; returns the submissions path.
fn generate(dir: &Path, n: usize) -> anyhow::Result<PathBuf> {
    let mut units =
        String::from("code,name,kind,parent\n3307,示例市,city,\nZK01,示例开发区,zone,3307\n");
    (1..=12).for_each(|d| units.push_str(&format!("D{d:02},第{d}区,district,3307\n")));
    std::fs::write(dir.join("units.csv"), units)?;
    let mut w = BufWriter::new(std::fs::File::create(dir.join("enterprises.csv"))?);
    writeln!(w, "{ENTERPRISES_HEADER}")?;
    for i in 0..n {
        let zone = if i % 10 == 3 { "ZK01" } else { "" };
        let key = if i % 20 == 0 { "是" } else { "否" };
        let industry = INDUSTRIES[splitmix(i as u64) as usize % INDUSTRIES.len()];
        writeln!(
            w,
            "{},示例{i:05}制造有限公司,D{:02},{zone},{industry},above,{key},leader{:02}",
            code(i),
            i % 12 + 1,
            i % 40
        )?;
    }
    w.flush()?;

    // Period-major, as monthly exports are; months from 2024-01 so that year-to-date figures
    // are consistent, written from 2024-10 on.
    let path = dir.join("submissions.csv");
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(&path)?);
    writeln!(w, "{HEADER}")?;
    let codes: Vec<String> = (0..n).map(code).collect();
    let (mut ytd_out, mut ytd_profit) = (vec![0i64; n], vec![0i64; n]);
    for t in 0..9 + MONTHS {
        let (year, month) = (2024 + t / 12, t % 12 + 1);
        if month == 1 {
            ytd_out.fill(0);
            ytd_profit.fill(0);
        }
        let season = if month == 2 {
            0.75
        } else {
            1.0 + 0.02 * (month as f64 - 6.0).abs()
        };
        for i in 0..n {
            let id = i as u64;
            // Monthly output 200.0 … 20,000.0 万元, log-uniform, +5% a year, ±15% noise.
            let base = 2000.0 * 100f64.powf(unit(id, 1));
            let noise = 0.85 + 0.3 * unit(id, 1000 + t as u64);
            let out = (base * season * noise * (1.0 + 0.05 * t as f64 / 12.0)) as i64;
            let margin = -0.04 + 0.16 * unit(id, 2) + 0.04 * (unit(id, 2000 + t as u64) - 0.5);
            ytd_out[i] += out;
            ytd_profit[i] += (out as f64 * margin) as i64;
            if t < 9 {
                continue;
            }
            let y = ytd_out[i];
            let elec = (out as f64 * (0.02 + 0.1 * unit(id, 3))) as i64;
            let employees = (base / 40.0 * (0.95 + 0.1 * unit(id, 3000 + t as u64))) as i64 + 20;
            let export = if unit(id, 4) < 0.2 {
                tenths((y as f64 * 0.5 * unit(id, 5)) as i64)
            } else {
                String::new()
            };
            writeln!(
                w,
                "{},{year}-{month:02},{},{},{},{},{},{},{employees},{export}",
                codes[i],
                tenths(out),
                tenths(y),
                tenths(y * 97 / 100),
                tenths(y * 105 / 100),
                tenths(ytd_profit[i]),
                tenths(elec),
            )?;
        }
    }
    w.flush()?;
    Ok(path)
}

/// Peak resident set size of this process so far, in MiB.
fn vm_hwm_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn opts() -> ImportOptions {
    ImportOptions::new(chrono::Utc::now())
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

/// The admin URL with its database name replaced by `db` (query parameters kept).
fn with_database(url: &str, db: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let host_start = base.find("://").map_or(0, |i| i + 3);
    let root = match base[host_start..].find('/') {
        Some(i) => &base[..host_start + i],
        None => base,
    };
    let query = query.map(|q| format!("?{q}")).unwrap_or_default();
    format!("{root}/{db}{query}")
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
    let filter = std::env::var("INDMON_LOG").unwrap_or_else(|_| "error".into());
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
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
    println!("backend   phase            rows   seconds     rows/s   VmHWM MiB before → after");
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
