//! The command line: global options, subcommands, and the exit codes of DESIGN.md
//! (0 success, 1 failure, 2 usage, 3 input rejected).

mod alerts;
mod cases;
mod export;
mod forecast;
pub mod logging;
mod notify;
pub mod output;
pub mod progress;
mod rebuild;
mod serve;
mod snapshot;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use chrono::Utc;
use clap::{Parser, Subcommand};

use crate::amount::Scale;
use crate::causes::Causes;
use crate::config::Config;
use crate::ingest::{self, ImportOptions, Kind};
use crate::period::Period;
use crate::store::{self, Store};
use output::out;

/// indmon — 规上工业企业运行监测 (monitoring of above-scale industrial enterprises).
#[derive(Debug, Parser)]
#[command(name = "indmon", version, about)]
pub struct Cli {
    /// Configuration file (default: indmon.toml in the working directory if present).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// Database URL: sqlite://FILE or postgres://… (default: sqlite://indmon.db).
    #[arg(
        long,
        global = true,
        env = "INDMON_DATABASE_URL",
        hide_env_values = true
    )]
    pub database: Option<String>,
    /// Log format on stderr.
    #[arg(long, global = true, value_parser = ["text", "json"], default_value = "text")]
    pub log_format: String,
    /// Pretend the time is this (RFC 3339), for tests and demos.
    #[arg(long, global = true, env = "INDMON_NOW", hide = true)]
    pub now: Option<chrono::DateTime<Utc>>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the configuration and print every problem (exit 1 if any).
    CheckConfig,
    /// Apply database migrations.
    Migrate,
    /// Import files: units, enterprises, targets, unit indicators or submissions.
    Import(ImportArgs),
    /// Evaluate a period: growth against targets, stalled enterprises, lagging units; update alerts.
    Evaluate(alerts::EvaluateArgs),
    /// List, acknowledge (认领) and resolve (销号) alerts.
    #[command(subcommand)]
    Alerts(alerts::AlertsCommand),
    /// Silences (静默): hold back notification of matching alerts for a while.
    #[command(subcommand)]
    Silence(alerts::SilenceCommand),
    /// Email digests of what changed to each official: write the outbox, then send what is due.
    Dispatch(notify::DispatchArgs),
    /// Remind officials which enterprises have not reported last month before the deadline (报送提醒).
    Remind(notify::RemindArgs),
    /// The outbox of digests: what is not delivered yet; requeue what was refused.
    #[command(subcommand)]
    Outbox(notify::OutboxCommand),
    /// Run the demo: a synthetic city pulled, evaluated and reported on, on embedded SQLite.
    Demo(DemoArgs),
    /// Generate the synthetic demo city's files (for benchmarks and tests).
    #[command(hide = true)]
    DemoData(DemoDataArgs),
    /// Pull new submissions from the configured sources (HTTP, inbox folders) now.
    Pull(PullArgs),
    /// Run the daemon: scheduled pulls, evaluations, dispatches and snapshots; /healthz, /metrics.
    Serve(serve::ServeArgs),
    /// Sources: their state.
    Sources {
        #[command(subcommand)]
        command: SourcesCommand,
    },
    /// Write the semimonthly analysis snapshot (运行分析快照): HTML, XLSX, JSON and a manifest.
    Snapshot(snapshot::SnapshotArgs),
    /// Rebuild the packed years (submission_year) from the rows of submission, or check them (--check).
    Rebuild(rebuild::RebuildArgs),
    /// 导出 (export) submissions, alerts with their history, or evaluation results as CSV or XLSX.
    Export(export::ExportArgs),
    /// Cases (交办事项): alerts assigned to officials, their answers and deadlines.
    #[command(subcommand)]
    Cases(cases::CasesCommand),
    /// The audit log: who did what to which case, when, from which address.
    Audit(cases::AuditArgs),
    /// 预测 (nowcast): each unit's month output growth from its 旬 electricity, with the backtest's error.
    Forecast(forecast::ForecastArgs),
}

#[derive(Debug, clap::Args)]
pub struct PullArgs {
    /// Pull only this source or 反馈表 inbox (default: every configured source and inbox).
    #[arg(long)]
    pub source: Option<String>,
    /// Print the summary as JSON.
    #[arg(long, value_parser = ["table", "json"], default_value = "table")]
    pub format: String,
}

#[derive(Debug, Subcommand)]
pub enum SourcesCommand {
    /// Each source's last success, failures in a row, last error and cursor.
    Status,
}

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Folder for everything the demo writes (data, database, emails).
    #[arg(long, default_value = "indmon-demo")]
    pub out: PathBuf,
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
    /// Above-scale enterprises in the synthetic city.
    #[arg(long, default_value_t = 765)]
    pub enterprises: usize,
}

#[derive(Debug, clap::Args)]
pub struct DemoDataArgs {
    /// Folder to write into (created if needed).
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
    /// Above-scale enterprises.
    #[arg(long, default_value_t = 765)]
    pub enterprises: usize,
    /// Below-scale enterprises near the threshold (cultivation pool).
    #[arg(long, default_value_t = 150)]
    pub below_scale: usize,
    /// First month, e.g. 2022-10.
    #[arg(long, default_value = "2022-10")]
    pub from: Period,
    /// Last month, e.g. 2026-10.
    #[arg(long, default_value = "2026-10")]
    pub to: Period,
    /// Do not write the JSON pages of the HTTP source (for huge benchmark provinces).
    #[arg(long)]
    pub no_http: bool,
    /// First month of daily electricity (power/), e.g. 2022-10.
    #[arg(long, default_value = "2022-10")]
    pub power_from: Period,
    /// Days of the month after the last with daily electricity (the current month's 旬 a
    /// nowcast reads), 0 to 28.
    #[arg(long, default_value_t = 10)]
    pub power_days_after: u32,
    /// Do not write the power accounts and daily electricity.
    #[arg(long)]
    pub no_power: bool,
}

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// What the files hold; detected from the header when absent.
    #[arg(long, value_enum)]
    pub kind: Option<Kind>,
    /// Commit the good rows of a file with rejected rows (default: commit nothing).
    #[arg(long)]
    pub partial: bool,
    /// Period of files that carry none, e.g. 2026-10.
    #[arg(long)]
    pub period: Option<Period>,
    /// Read the files as this configured source (its column map, scale and encoding).
    #[arg(long)]
    pub source: Option<String>,
    /// Multiplier for money columns whose header names no unit (0.1 for 千元 → 万元).
    #[arg(long)]
    pub scale: Option<String>,
    /// Print the summary as JSON.
    #[arg(long, value_parser = ["table", "json"], default_value = "table")]
    pub format: String,
    /// The files.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

/// Exit code for input that was rejected.
pub const EXIT_REJECTED: u8 = 3;

/// Runs a parsed command line and returns the process exit code.
pub async fn run(cli: Cli) -> ExitCode {
    let code = match dispatch(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("错误 (error): {}", Causes(&e));
            ExitCode::FAILURE
        }
    };
    progress::finish();
    match output::failure() {
        Some(e) => {
            eprintln!("无法写出标准输出 (cannot write standard output): {e}");
            ExitCode::FAILURE
        }
        None => code,
    }
}

async fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    let (config, path) = match Config::load_default_or(cli.config.as_deref()) {
        Ok(c) => c,
        Err(problems) => {
            eprintln!("配置有 {} 处错误 (configuration errors):", problems.len());
            for p in problems {
                eprintln!("  {p}");
            }
            return Ok(ExitCode::FAILURE);
        }
    };
    if let Command::Demo(args) = &cli.command {
        return demo(args).await;
    }
    if let Command::DemoData(args) = &cli.command {
        return demo_data(args);
    }
    let url = cli
        .database
        .clone()
        .or_else(|| config.database.url.clone())
        .unwrap_or_else(|| store::DEFAULT_URL.to_string());
    if let Command::CheckConfig = cli.command {
        let now = cli.now.unwrap_or_else(Utc::now);
        return Ok(check_config(&config, path, &url, now).await);
    }
    let password = match &config.database.password {
        Some(secret) => Some(
            secret
                .resolve()
                .map_err(|e| anyhow::anyhow!("database.password: {e}"))?,
        ),
        None => None,
    };
    if let Command::Serve(args) = cli.command {
        return serve::serve(config, url, password, cli.now, args).await;
    }
    let now = cli.now.unwrap_or_else(Utc::now);
    let store = Store::connect_with_password(&url, password.as_ref()).await?;
    store.migrate().await?;
    let code = match cli.command {
        Command::CheckConfig => ExitCode::SUCCESS,
        Command::Migrate => {
            for (v, d) in store.applied_migrations().await? {
                out!("{v:>4}  {d}");
            }
            out!(
                "数据库已是最新结构 (database schema is up to date): {}",
                store::redact_url(&url)
            );
            ExitCode::SUCCESS
        }
        Command::Import(args) => import(&store, &config, args, now).await?,
        Command::Evaluate(args) => alerts::evaluate(&store, &config, args, now).await?,
        Command::Alerts(cmd) => alerts::alerts(&store, cmd, now).await?,
        Command::Silence(cmd) => alerts::silence(&store, cmd, now).await?,
        Command::Pull(args) => pull(&store, &config, args, now).await?,
        Command::Sources {
            command: SourcesCommand::Status,
        } => sources_status(&store, &config).await?,
        Command::DemoData(_) | Command::Demo(_) | Command::Serve(_) => ExitCode::SUCCESS,
        Command::Dispatch(args) => notify::dispatch(&store, &config, args, now).await?,
        Command::Remind(args) => notify::remind(&store, &config, args, now).await?,
        Command::Outbox(cmd) => notify::outbox(&store, &config, cmd, now).await?,
        Command::Snapshot(args) => snapshot::snapshot(&store, &config, args, now).await?,
        Command::Rebuild(args) => rebuild::rebuild(&store, args).await?,
        Command::Export(args) => export::export(&store, &config, args, now).await?,
        Command::Cases(cmd) => cases::cases(&store, &config, cmd, now).await?,
        Command::Audit(args) => cases::audit(&store, &config, args).await?,
        Command::Forecast(args) => forecast::forecast(&store, &config, args, now).await?,
    };
    store.close().await;
    Ok(code)
}

async fn check_config(
    config: &Config,
    path: Option<PathBuf>,
    url: &str,
    now: chrono::DateTime<Utc>,
) -> ExitCode {
    let shown = path.map_or(
        "（内置默认配置 built-in defaults）".to_string(),
        |p| p.display().to_string(),
    );
    let mut problems = config.validate();
    let (warnings, more) = cases::check(config, Some(url), now).await;
    for w in warnings {
        out!("  注意 (warning): {w}");
    }
    problems.extend(more.into_iter().map(|m| crate::config::Problem {
        key: "recipients".into(),
        message: m,
    }));
    if problems.is_empty() {
        out!("配置无误 (configuration OK): {shown}");
        return ExitCode::SUCCESS;
    }
    out!("配置有 {} 处问题 (problems in {shown}):", problems.len());
    for p in problems {
        out!("  {p}");
    }
    ExitCode::FAILURE
}

async fn demo(args: &DemoArgs) -> anyhow::Result<ExitCode> {
    let opts = crate::demo::run::DemoOptions {
        out: args.out.clone(),
        seed: args.seed,
        enterprises: args.enterprises,
    };
    let started = std::time::Instant::now();
    let s = crate::demo::run::run(&opts, &|line| out!("{line}")).await?;
    let argv0 = std::env::args().next().unwrap_or_default();
    let program = crate::demo::summary::program(&argv0, crate::demo::summary::started_by_cargo());
    for line in crate::demo::summary::closing_lines(&s, started.elapsed().as_secs_f64(), &program) {
        out!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}

fn demo_data(args: &DemoDataArgs) -> anyhow::Result<ExitCode> {
    let spec = crate::demo::GenSpec {
        seed: args.seed,
        enterprises: args.enterprises,
        below_scale: args.below_scale,
        months_from: args.from,
        months_to: args.to,
        http_pages: !args.no_http,
        power_from: (!args.no_power).then_some(args.power_from),
        power_days_after: args.power_days_after,
        ..crate::demo::GenSpec::default()
    };
    let started = std::time::Instant::now();
    let plan = crate::demo::generate(&spec, &args.out)?;
    let s = &plan.states;
    out!(
        "已生成 (generated) {}: {} 家规上企业, {} 家规下, {}–{}；{} 停产 {} 半停产 {} 减产 {} 未报；前100家占比 {:.1}% [{:.1}s]",
        args.out.display(),
        plan.enterprises,
        plan.below_scale,
        plan.months_from,
        plan.months_to,
        s.stalled,
        s.semi_stalled,
        s.reduced,
        plan.missing_count,
        plan.top100_share_pct,
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

/// Imports the files of `args`, received at `now` (`--now`, else the clock).
async fn import(
    store: &Store,
    config: &Config,
    args: ImportArgs,
    now: chrono::DateTime<Utc>,
) -> anyhow::Result<ExitCode> {
    let mut opts = ImportOptions::new(now);
    opts.kind = args.kind;
    opts.partial = args.partial;
    opts.period = args.period;
    opts.extra_indicators = config.extra_indicators();
    opts.xlsx_limits = config.import.xlsx.clone();
    if let Some(name) = &args.source {
        let s = config
            .source(name)
            .with_context(|| format!("配置中没有名为“{name}”的来源 (no such source)"))?;
        opts.source = s.name.clone();
        opts.column_map = s.column_map.clone();
        opts.encoding = s.encoding;
        opts.partial |= s.partial;
        opts.money_scale = s
            .scale
            .as_deref()
            .map(str::parse::<Scale>)
            .transpose()
            .map_err(|e| anyhow::anyhow!("sources.{name}.scale: {e}"))?;
    }
    if let Some(s) = &args.scale {
        opts.money_scale = Some(s.parse().map_err(|e| anyhow::anyhow!("--scale: {e}"))?);
    }
    let mut any_rejected = false;
    let mut reports = Vec::new();
    for file in &args.files {
        let started = std::time::Instant::now();
        progress::start(format!("导入 {} (importing)", file.display()));
        let report = ingest::import_file(store, file, &opts).await;
        progress::finish();
        let report = match report {
            Ok(r) => r,
            Err(ingest::ImportError::Content { reason }) => {
                eprintln!("{}: 拒收 (refused): {reason}", file.display());
                any_rejected = true;
                continue;
            }
            Err(e) => {
                return Err(anyhow::Error::new(e)
                    .context(format!("导入 {} 失败 (import failed)", file.display())));
            }
        };
        any_rejected |= report.rejected > 0;
        if args.format == "table" {
            print_report(&report, started.elapsed());
        }
        reports.push(report);
    }
    if args.format == "json" {
        out!("{}", serde_json::to_string_pretty(&reports)?);
    }
    Ok(if any_rejected {
        ExitCode::from(EXIT_REJECTED)
    } else {
        ExitCode::SUCCESS
    })
}

/// How many rejects are printed per file; all are kept in the database.
const PRINTED_REJECTS: usize = 50;

fn print_report(r: &ingest::ImportReport, took: std::time::Duration) {
    let kind = r.kind.unwrap_or("?");
    out!(
        "{}  [{kind}, {}, 导入批次 run {}, {:.1}s]",
        r.file,
        r.encoding,
        r.run_id,
        took.as_secs_f64()
    );
    out!("  {}", ingest::summary_line(r));
    for s in &r.skipped {
        out!("  跳过 (skipped) {s}");
    }
    if !r.unused_columns.is_empty() {
        out!(
            "  未使用的列 (unused columns): {}",
            r.unused_columns.join("、")
        );
    }
    for rej in r.rejects.iter().take(PRINTED_REJECTS) {
        out!("  {}:{}", r.file, rej);
    }
    if r.rejected as usize > PRINTED_REJECTS {
        out!(
            "  …… 共拒收 {} 行，全部明细见数据库 reject 表 run_id = {} (all rejects are in the reject table)",
            r.rejected,
            r.run_id
        );
    }
}

/// Pulls the configured sources, the rows received at `now` (`--now`, else the clock).
async fn pull(
    store: &Store,
    config: &Config,
    args: PullArgs,
    now: chrono::DateTime<Utc>,
) -> anyhow::Result<ExitCode> {
    if args.source.is_none() && config.sources.is_empty() && config.feedback_inbox.is_empty() {
        out!("配置中没有来源 (no sources configured)");
        return Ok(ExitCode::SUCCESS);
    }
    let only = args.source.as_deref();
    let books = crate::feedback::inbox::pull(store, config, only, now).await;
    let reports = match (&books, only) {
        // `--source` names a 反馈表 inbox: that one only.
        (Some(_), Some(_)) => Vec::new(),
        _ => crate::sources::pull(store, config, only, now).await?,
    };
    let books = books.unwrap_or_default();
    if args.format == "json" {
        out!("{}", serde_json::to_string_pretty(&reports)?);
    } else {
        for r in &reports {
            out!("{}", crate::sources::summary_line(r));
            for n in &r.notes {
                out!("  {n}");
            }
            if let Some(e) = &r.error {
                out!("  错误 (error): {e}");
            }
            if r.alert {
                out!(
                    "  已连续失败 {} 次，达到告警阈值 (failing {} times in a row: administrators are to be alerted)",
                    r.consecutive_failures,
                    r.consecutive_failures
                );
            }
        }
    }
    feedback_lines(&books, &args.format)?;
    let failed =
        reports.iter().any(|r| r.error.is_some()) || books.iter().any(|b| b.error.is_some());
    let rejected = reports.iter().any(|r| r.rejected > 0) || books.iter().any(|b| b.rejected > 0);
    Ok(if failed {
        ExitCode::FAILURE
    } else if rejected {
        ExitCode::from(EXIT_REJECTED)
    } else {
        ExitCode::SUCCESS
    })
}

/// What the 反馈表 inboxes did, as `indmon pull` prints it.
fn feedback_lines(
    books: &[crate::feedback::inbox::InboxReport],
    format: &str,
) -> anyhow::Result<()> {
    for b in books {
        if format == "json" {
            out!("{}", serde_json::to_string_pretty(b)?);
            continue;
        }
        out!("{}", b.summary_line());
        for n in &b.notes {
            out!("  {n}");
        }
        if let Some(e) = &b.error {
            out!("  错误 (error): {e}");
        }
    }
    Ok(())
}

async fn sources_status(store: &Store, config: &Config) -> anyhow::Result<ExitCode> {
    let states = store.source_states().await?;
    let time = |ms: Option<i64>| {
        ms.and_then(chrono::DateTime::<Utc>::from_timestamp_millis)
            .map(|t| {
                t.with_timezone(&chrono_tz::Asia::Shanghai)
                    .format("%Y-%m-%d %H:%M")
                    .to_string()
            })
            .unwrap_or_else(|| "—".into())
    };
    out!(
        "来源 (source)\t类型 (kind)\t最近成功 (last success)\t连续失败 (failures in a row)\t游标 (cursor)\t最近错误 (last error)"
    );
    let mut names: Vec<(String, &str)> = config
        .sources
        .iter()
        .map(|s| {
            let kind = match s.kind {
                crate::config::SourceKind::Http => "http",
                crate::config::SourceKind::Dir => "dir",
            };
            (s.name.clone(), kind)
        })
        .collect();
    // Sources pulled once and since removed from the configuration are still shown.
    for st in &states {
        if !names.iter().any(|(n, _)| n == &st.source) {
            names.push((st.source.clone(), "（已不在配置中 not configured）"));
        }
    }
    let mut failing = false;
    for (name, kind) in names {
        let st = states.iter().find(|s| s.source == name);
        let failures = st.map_or(0, |s| s.consecutive_failures);
        failing |= failures > 0;
        out!(
            "{name}\t{kind}\t{}\t{failures}\t{}\t{}",
            time(st.and_then(|s| s.last_success_at)),
            st.and_then(|s| s.cursor.clone())
                .unwrap_or_else(|| "—".into()),
            st.and_then(|s| s.last_error.clone())
                .map(|e| e.replace('\n', " "))
                .unwrap_or_else(|| "—".into()),
        );
    }
    Ok(if failing {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
