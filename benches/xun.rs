//! 旬 evaluation benchmark: `evaluate::xun::run` of 2026-10-D1, then of 2026-10-D2 (not dry
//! runs) over a synthetic city of N enterprises with the days the 旬 rules read stored — both
//! 旬s (20 days), the same 旬s last year (20 days) and last December (31 days): 71 rows an
//! enterprise — wall time from the stored database to the alerts written, CPU over wall, and
//! peak memory.
//!
//! The database is prepared first, untimed: the registry imported (`generate_registry`), then
//! the days written straight by SQL (one `INSERT … SELECT` a day over the registry, not through
//! the power-daily import, whose speed is measured by its own benchmark). Of the enterprises,
//! one in 50 has fallen to a tenth of last year's level (疑似停产), one in 20 to 60%
//! (用电大幅下降), one in 100 misses a day of this 旬 (still judged), one in 500 has only
//! five of its days (not judged); the rest are 5% up. A database named by `INDMON_BENCH_DB`
//! is kept and reused, as `benches/evaluate.rs` does.
//!
//! Each of `INDMON_BENCH_ROUNDS` (default 3) fresh child processes deletes every alert, then
//! evaluates three times: 上旬 with every alert new, 上旬 again with nothing changed, then 中旬
//! (every alert still firing, given the new 旬's figures: the evaluations after the first one
//! of a 旬 rule look like this). A database prepared before the 中旬's days were seeded has
//! none: its third round judges nobody. The first evaluation
//! on a new database also packs last year's 旬 (`power_xun_days`, once a 旬), so the first
//! child's first figure is that of a 旬's first evaluation; `INDMON_LOG=indmon=debug` shows the
//! packing and each read apart. The medians over the
//! children are printed, with the peak RSS (`VmHWM`) of the child after each round.
//!
//! With `INDMON_BENCH_XUN_PLAIN=1` a last child reads the days as `Store::power_days` did
//! before its bulk read (sqlx rows, all three spans), for comparison.
//!
//! Run: `./bench xun [sqlite|postgres|all]`, or `cargo bench --bench xun` with
//! `INDMON_BENCH_BACKEND`, `INDMON_BENCH_POSTGRES_URL` and `INDMON_BENCH_ENTERPRISES` (default
//! 50,000) as for the other benchmarks.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use anyhow::{Context, ensure};
use chrono::{NaiveDate, TimeZone};
use common::{cpu_secs, create_scratch, drop_scratch, generate_registry, vm_hwm_mib};
use indmon::config::Config;
use indmon::credit_code::CreditCode;
use indmon::ingest::{ImportOptions, import_file, summary_line};
use indmon::store::{Backend, Store};

/// The 旬 evaluated, then the next one (every alert of the first still firing, updated).
const XUN: &str = "2026-10-D1";
const NEXT: &str = "2026-10-D2";

/// The days stored: (first day, days, whether this 旬).
const SPANS: [(&str, u32, bool); 5] = [
    ("2026-10-01", 10, true),
    ("2025-10-01", 10, false),
    ("2025-12-01", 31, false),
    ("2026-10-11", 10, true),
    ("2025-10-11", 10, false),
];

/// One day's rows for every enterprise; `$1` the day, `$2` its index in its span, `$3` 1 for
/// this 旬 (where the stalled and dropping enterprises and the gaps are). Figures are
/// ten-thousandths of kWh: a base of 1,000–9,999 kWh a day by enterprise, a little weekly
/// wobble.
const SEED: &str = "INSERT INTO power_daily (credit_code, day, kwh, revision, run_id, received_at)
SELECT credit_code, $1,
  ((1000 + (r * 7919) % 9000) * 10000 + ((r + $2 * 13) % 7) * 1000)
    * (CASE WHEN $3 = 0 THEN 100 WHEN r % 50 = 7 THEN 10 WHEN r % 20 = 3 THEN 60 ELSE 105 END) / 100,
  1, 0, 0
FROM (SELECT credit_code, row_number() OVER (ORDER BY credit_code) AS r FROM enterprise) e
WHERE $3 = 0 OR NOT ((r % 100 = 11 AND $2 = 4) OR (r % 500 = 13 AND $2 >= 5))";

/// Imports the registry and writes the days into `url`, untimed.
async fn prepare(url: &str, n: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let start = Instant::now();
    let files = generate_registry(dir.path(), n, (n / 250).max(1))?;
    let store = Store::connect(url).await?;
    store.migrate().await?;
    for f in [&files.units, &files.enterprises] {
        let r = import_file(&store, f, &ImportOptions::new(chrono::Utc::now())).await?;
        ensure!(
            r.committed && r.rejected == 0,
            "{}: {}",
            f.display(),
            summary_line(&r)
        );
    }
    let registry = start.elapsed().as_secs_f64();
    let postgres = store.backend() == Backend::Postgres;
    store.close().await;
    let rows = if postgres {
        seed_postgres(url).await?
    } else {
        seed_sqlite(url).await?
    };
    println!(
        "prepared {n} enterprises ({registry:.1} s) and {rows} days in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Every (day, index, this 旬) stored.
fn days() -> anyhow::Result<Vec<(String, i64, i64)>> {
    let mut out = Vec::new();
    for (first, len, this) in SPANS {
        let first: NaiveDate = first.parse()?;
        for (k, d) in first.iter_days().take(len as usize).enumerate() {
            out.push((d.to_string(), k as i64, i64::from(this)));
        }
    }
    Ok(out)
}

async fn seed_sqlite(url: &str) -> anyhow::Result<u64> {
    let pool = sqlx::SqlitePool::connect(url).await?;
    let mut tx = pool.begin().await?;
    // Written as indmon writes: migration 0031's triggers leave the rows alone.
    sqlx::query("INSERT OR IGNORE INTO pack_writer (id) VALUES (1)")
        .execute(&mut *tx)
        .await?;
    let mut rows = 0;
    for (day, k, this) in days()? {
        rows += sqlx::query(SEED)
            .bind(&day)
            .bind(k)
            .bind(this)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    }
    sqlx::query("DELETE FROM pack_writer")
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    sqlx::query("ANALYZE").execute(&pool).await?;
    pool.close().await;
    Ok(rows)
}

async fn seed_postgres(url: &str) -> anyhow::Result<u64> {
    let pool = sqlx::PgPool::connect(url).await?;
    for (y, m, ny, nm) in [
        (2025, 10, 2025, 11),
        (2025, 12, 2026, 1),
        (2026, 10, 2026, 11),
    ] {
        let ddl = format!(
            "CREATE TABLE IF NOT EXISTS power_daily_y{y:04}m{m:02} PARTITION OF power_daily FOR VALUES FROM ('{y:04}-{m:02}-01') TO ('{ny:04}-{nm:02}-01')"
        );
        sqlx::query(sqlx::AssertSqlSafe(ddl)).execute(&pool).await?;
    }
    // Written as indmon writes: migration 0031's trigger leaves the rows alone.
    let mut conn = pool.acquire().await?;
    sqlx::query("SELECT set_config('indmon.writer', 'on', false)")
        .execute(&mut *conn)
        .await?;
    let mut rows = 0;
    for (day, k, this) in days()? {
        rows += sqlx::query(SEED)
            .bind(&day)
            .bind(k)
            .bind(this)
            .execute(&mut *conn)
            .await?
            .rows_affected();
    }
    drop(conn);
    sqlx::query("VACUUM ANALYZE power_daily")
        .execute(&pool)
        .await?;
    pool.close().await;
    Ok(rows)
}

/// Deletes every alert, evaluation and 旬 warning, so that the first round opens every alert
/// again (a kept database holds the previous run's).
async fn clear_alerts(postgres: bool, url: &str) -> anyhow::Result<()> {
    // Children first: the cases the evaluation opened refer to its alerts.
    let sql = [
        "DELETE FROM case_chase",
        "DELETE FROM case_answer",
        "DELETE FROM case_event",
        "DELETE FROM alert_case",
        "DELETE FROM notified",
        "DELETE FROM alert_event",
        "DELETE FROM alert",
        "DELETE FROM xun_warning",
        "DELETE FROM evaluation_run",
    ];
    if postgres {
        let pool = sqlx::PgPool::connect(url).await?;
        for s in sql {
            sqlx::query(s).execute(&pool).await?;
        }
        pool.close().await;
    } else {
        let pool = sqlx::SqlitePool::connect(url).await?;
        for s in sql {
            sqlx::query(s).execute(&pool).await?;
        }
        pool.close().await;
    }
    Ok(())
}

/// The child of `INDMON_BENCH_XUN_PLAIN`: reads the three spans of `spans(xun)` through sqlx
/// rows, as `Store::power_days` did before it was read in bulk (0a392e4), for comparison.
async fn plain_read(postgres: bool, url: &str) -> anyhow::Result<()> {
    let sql = "SELECT credit_code, day, kwh FROM power_daily WHERE day >= $1 AND day <= $2";
    let xun: indmon::power::Xun = XUN.parse()?;
    let (start, cpu) = (Instant::now(), cpu_secs());
    let mut out: HashMap<CreditCode, BTreeMap<NaiveDate, i64>> = HashMap::new();
    let mut rows = 0;
    for span in indmon::rules::power::spans(xun) {
        let (a, b) = (span.start().to_string(), span.end().to_string());
        let got: Vec<(String, String, i64)> = if postgres {
            let p = sqlx::PgPool::connect(url).await?;
            sqlx::query_as(sql).bind(a).bind(b).fetch_all(&p).await?
        } else {
            let p = sqlx::SqlitePool::connect(url).await?;
            sqlx::query_as(sql).bind(a).bind(b).fetch_all(&p).await?
        };
        rows += got.len();
        for (c, d, kwh) in got {
            if let (Ok(c), Ok(d)) = (c.parse::<CreditCode>(), d.parse::<NaiveDate>()) {
                out.entry(c).or_default().insert(d, kwh);
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "          read as before (sqlx rows, 3 spans): {rows} rows, {} enterprises, {secs:.2} s, VmHWM {:.1} MiB, cpu/wall {:.2}",
        out.len(),
        vm_hwm_mib(),
        (cpu_secs() - cpu) / secs
    );
    Ok(())
}

/// One round's figures, as a child prints them for its parent.
#[derive(Clone, Debug)]
struct Round {
    judged: usize,
    findings: usize,
    opened: usize,
    changed: usize,
    secs: f64,
    hwm_mib: f64,
    cpu_wall: f64,
}

/// The child: clears the alerts, evaluates the 旬 twice and prints a line a round.
async fn evaluate(postgres: bool, url: &str) -> anyhow::Result<()> {
    clear_alerts(postgres, url).await?;
    let store = Store::connect(url).await?;
    let config = Config::default();
    let xun = XUN.parse()?;
    let now = chrono::Utc
        .with_ymd_and_hms(2026, 10, 14, 2, 0, 0)
        .single()
        .context("time")?;
    let next = NEXT.parse()?;
    let later = now + chrono::Duration::days(10);
    for (round, (xun, now)) in [(xun, now), (xun, now), (next, later)]
        .into_iter()
        .enumerate()
    {
        let (start, cpu) = (Instant::now(), cpu_secs());
        let report = indmon::evaluate::xun::run(&store, &config, xun, now, false).await?;
        let secs = start.elapsed().as_secs_f64();
        println!(
            "ROUND|{round}|{}|{}|{}|{}|{secs}|{}|{}",
            report.judged,
            report.findings.len(),
            report.applied.opened,
            report.applied.changed,
            vm_hwm_mib(),
            (cpu_secs() - cpu) / secs
        );
    }
    store.close().await;
    Ok(())
}

fn parse_round(line: &str) -> Option<(usize, Round)> {
    let f: Vec<&str> = line.strip_prefix("ROUND|")?.split('|').collect();
    let round = Round {
        judged: f.get(1)?.parse().ok()?,
        findings: f.get(2)?.parse().ok()?,
        opened: f.get(3)?.parse().ok()?,
        changed: f.get(4)?.parse().ok()?,
        secs: f.get(5)?.parse().ok()?,
        hwm_mib: f.get(6)?.parse().ok()?,
        cpu_wall: f.get(7)?.parse().ok()?,
    };
    Some((f.first()?.parse().ok()?, round))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Runs `rounds` children on `url` and prints each round's medians.
fn children(label: &str, url: &str, rounds: usize) -> anyhow::Result<()> {
    let exe = std::env::current_exe()?;
    let mut seen: [Vec<Round>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    for _ in 0..rounds {
        let out = std::process::Command::new(&exe)
            .env("INDMON_BENCH_CHILD", format!("{label}|{url}"))
            .stderr(std::process::Stdio::inherit())
            .output()?;
        ensure!(
            out.status.success(),
            "evaluation child failed: {}",
            out.status
        );
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            match parse_round(line) {
                Some((i, r)) if i < 3 => seen[i].push(r),
                _ => println!("{line}"),
            }
        }
    }
    let names = ["first (all new)", "again (no change)", "next 旬 (updated)"];
    for (i, name) in names.iter().enumerate() {
        let rs = &seen[i];
        let Some(last) = rs.last() else { continue };
        let secs: Vec<f64> = rs.iter().map(|r| r.secs).collect();
        let all = secs
            .iter()
            .map(|s| format!("{s:.2}"))
            .collect::<Vec<_>>()
            .join("/");
        println!(
            "{label:<9} {name:<18} {:>8} {:>8} {:>8} {:>8} {:>8.2} {:>9.1} {:>8.2}   ({all})",
            last.judged,
            last.findings,
            last.opened,
            last.changed,
            median(secs),
            median(rs.iter().map(|r| r.hwm_mib).collect()),
            median(rs.iter().map(|r| r.cpu_wall).collect()),
        );
    }
    if std::env::var("INDMON_BENCH_XUN_PLAIN").is_ok_and(|v| v == "1") {
        let status = std::process::Command::new(&exe)
            .env("INDMON_BENCH_CHILD", format!("{label}|{url}"))
            .env("INDMON_BENCH_XUN_PLAIN_CHILD", "1")
            .status()?;
        ensure!(status.success(), "plain read child failed: {status}");
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    common::init_logging();
    if let Ok(spec) = std::env::var("INDMON_BENCH_CHILD") {
        let (label, url) = spec.split_once('|').context("child spec")?;
        if std::env::var("INDMON_BENCH_XUN_PLAIN_CHILD").is_ok() {
            return plain_read(label == "postgres", url).await;
        }
        return evaluate(label == "postgres", url).await;
    }
    let backend = std::env::var("INDMON_BENCH_BACKEND").unwrap_or_else(|_| "all".into());
    let n: usize = match std::env::var("INDMON_BENCH_ENTERPRISES") {
        Ok(v) => v.parse().context("INDMON_BENCH_ENTERPRISES")?,
        Err(_) => 50_000,
    };
    let rounds: usize = match std::env::var("INDMON_BENCH_ROUNDS") {
        Ok(v) => v.parse().context("INDMON_BENCH_ROUNDS")?,
        Err(_) => 3,
    };
    println!(
        "{XUN}, {n} enterprises, medians of {rounds} processes (seconds of each in brackets)\n\
         backend   round                judged findings   opened  changed  seconds VmHWM MiB cpu/wall"
    );
    let keep = tempfile::tempdir()?;
    // INDMON_BENCH_DB keeps the prepared database between runs: a SQLite file path, or a
    // PostgreSQL database name.
    let reuse = std::env::var("INDMON_BENCH_DB")
        .ok()
        .filter(|s| !s.is_empty());
    if backend != "postgres" {
        let path = match &reuse {
            Some(p) => std::path::PathBuf::from(p),
            None => keep.path().join(format!("xun-{n}.db")),
        };
        let url = format!("sqlite://{}", path.display());
        if path.exists() {
            println!("reusing {}", path.display());
        } else {
            prepare(&url, n).await?;
        }
        children("sqlite", &url, rounds)?;
    }
    if backend != "sqlite" {
        match std::env::var("INDMON_BENCH_POSTGRES_URL") {
            Ok(admin_url) if !admin_url.is_empty() => {
                if let Some(db) = &reuse {
                    let (url, made) = common::kept_database(&admin_url, db).await?;
                    if made {
                        prepare(&url, n).await?;
                    }
                    children("postgres", &url, rounds)?;
                } else {
                    let (admin, db, url) = create_scratch(&admin_url, "indmon_bench_xun").await?;
                    let result = match prepare(&url, n).await {
                        Ok(()) => children("postgres", &url, rounds),
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
