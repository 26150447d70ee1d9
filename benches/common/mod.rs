//! What the benchmarks share: a deterministic generator of a large synthetic city (streamed to
//! files) and the measurements they print.

#![allow(dead_code)]

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use indmon::credit_code::CreditCode;

pub const MONTHS: usize = 25;
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
pub fn generate(dir: &Path, n: usize) -> anyhow::Result<PathBuf> {
    let mut units =
        String::from("code,name,kind,parent\n3307,示例市,city,\nZK01,示例开发区,zone,3307\n");
    (1..=12).for_each(|d| units.push_str(&format!("D{d:02},第{d}区,district,3307\n")));
    std::fs::write(dir.join("units.csv"), units)?;
    let mut targets = String::from(
        "year,unit_code,indicator,kind,annual,milestones\n2026,3307,value_added_growth,growth,7.0,06:7.5\n",
    );
    (1..=12).for_each(|d| {
        targets.push_str(&format!(
            "2026,D{d:02},value_added_growth,growth,{}.0,\n",
            5 + d % 4
        ))
    });
    std::fs::write(dir.join("targets.csv"), targets)?;
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

/// Logs to stderr with the filter in `INDMON_LOG` (default `error`; `sqlx::query=warn` shows
/// slow statements, `indmon=debug` the time of each read of an evaluation).
pub fn init_logging() {
    let filter = std::env::var("INDMON_LOG").unwrap_or_else(|_| "error".into());
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

/// Peak resident set size of this process so far, in MiB.
pub fn vm_hwm_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// CPU seconds (user + system, every thread) this process has used so far, from
/// `/proc/self/stat` (clock ticks of 10 ms).
pub fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    stat_cpu_secs(&stat, 2).unwrap_or(f64::NAN)
}

/// CPU seconds used so far by the processes of this machine named `comm` (as `ps -C` names
/// them), such as a local PostgreSQL server's, and by their children that have ended (such as
/// the workers of a parallel index build, counted in the postmaster's); NaN if none can be read.
pub fn processes_cpu_secs(comm: &str) -> f64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return f64::NAN;
    };
    let named = format!("({comm})");
    let secs: Vec<f64> = dir
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .filter(|stat| stat.split_whitespace().nth(1) == Some(named.as_str()))
        .filter_map(|stat| stat_cpu_secs(&stat, 4))
        .collect();
    if secs.is_empty() {
        f64::NAN
    } else {
        secs.iter().sum()
    }
}

/// Seconds of one `/proc/<pid>/stat` line: user and system (`fields` 2), and those of the
/// children that ended and were waited for (`fields` 4).
fn stat_cpu_secs(stat: &str, fields: usize) -> Option<f64> {
    // Fields after the command name (which may hold spaces) start at state; utime, stime,
    // cutime and cstime are the 12th to 15th of them.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let ticks: Vec<f64> = rest
        .split_whitespace()
        .skip(11)
        .take(fields)
        .filter_map(|t| t.parse().ok())
        .collect();
    (ticks.len() == fields).then(|| ticks.iter().sum::<f64>() / 100.0)
}

/// The admin URL with its database name replaced by `db` (query parameters kept).
pub fn with_database(url: &str, db: &str) -> String {
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

/// The kept PostgreSQL database `db` on the server of `admin_url` (`INDMON_BENCH_DB`), made
/// if it is not there: its URL, and whether it was made (and so is still to be prepared).
pub async fn kept_database(admin_url: &str, db: &str) -> anyhow::Result<(String, bool)> {
    let admin = sqlx::PgPool::connect(admin_url).await?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(db)
            .fetch_one(&admin)
            .await?;
    if exists {
        println!("reusing database {db}");
    } else {
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}")))
            .execute(&admin)
            .await?;
    }
    Ok((with_database(admin_url, db), !exists))
}

/// A fresh PostgreSQL database `<prefix>_<pid>` on the server of `admin_url`: returns the admin
/// pool (to drop it with [`drop_scratch`]), its name and its URL.
pub async fn create_scratch(
    admin_url: &str,
    prefix: &str,
) -> anyhow::Result<(sqlx::PgPool, String, String)> {
    let admin = sqlx::PgPool::connect(admin_url).await?;
    let db = format!("{prefix}_{}", std::process::id());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}")))
        .execute(&admin)
        .await?;
    let url = with_database(admin_url, &db);
    Ok((admin, db, url))
}

/// Drops a database made by [`create_scratch`].
pub async fn drop_scratch(admin: &sqlx::PgPool, db: &str) -> anyhow::Result<()> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {db} WITH (FORCE)"
    )))
    .execute(admin)
    .await?;
    Ok(())
}

/// The registry files of [`generate_registry`].
pub struct RegistryFiles {
    pub units: PathBuf,
    /// N enterprises, as a first import finds them.
    pub enterprises: PathBuf,
    /// The same N with every hundredth changed (moved, renamed or given another owner).
    pub changed: PathBuf,
    /// How many enterprises `changed` changes.
    pub n_changed: usize,
}

/// Writes a registry of `n` enterprises spread over `districts` districts and a zone for every
/// ten districts (units.csv, enterprises.csv), and the same registry with 1% changed
/// (enterprises_changed.csv).
pub fn generate_registry(dir: &Path, n: usize, districts: usize) -> anyhow::Result<RegistryFiles> {
    let zones = districts.div_ceil(10);
    let mut units = String::from("code,name,kind,parent\n3307,示例市,city,\n");
    (1..=districts).for_each(|d| units.push_str(&format!("D{d:04},第{d}区,district,3307\n")));
    (1..=zones).for_each(|z| units.push_str(&format!("Z{z:03},第{z}开发区,zone,3307\n")));
    let files = RegistryFiles {
        units: dir.join("units.csv"),
        enterprises: dir.join("enterprises.csv"),
        changed: dir.join("enterprises_changed.csv"),
        n_changed: n.div_ceil(100),
    };
    std::fs::write(&files.units, units)?;
    for (path, changed) in [(&files.enterprises, false), (&files.changed, true)] {
        let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
        writeln!(w, "{ENTERPRISES_HEADER}")?;
        for i in 0..n {
            // Every hundredth enterprise changes: a third move, a third are renamed, a third
            // get another official.
            let change = if changed && i % 100 == 0 {
                i / 100 % 3 + 1
            } else {
                0
            };
            let district = (i + usize::from(change == 1)) % districts + 1;
            let zone = if i % 10 == 3 {
                format!("Z{:03}", district.div_ceil(10))
            } else {
                String::new()
            };
            let name = if change == 2 { "更名" } else { "制造" };
            let key = if i % 20 == 0 { "是" } else { "否" };
            let industry = INDUSTRIES[splitmix(i as u64) as usize % INDUSTRIES.len()];
            writeln!(
                w,
                "{},示例{i:06}{name}有限公司,D{district:04},{zone},{industry},above,{key},leader{:03}",
                code(i),
                (i + usize::from(change == 3)) % 400
            )?;
        }
        w.flush()?;
    }
    Ok(files)
}
