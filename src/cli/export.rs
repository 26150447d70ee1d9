//! `indmon export`: submissions, alerts with their history, or evaluation results, for a period
//! or a range, of one unit or all, as CSV or XLSX files (or CSV on standard output).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::{DateTime, Utc};

use super::output::out;
use super::progress;
use crate::config::Config;
use crate::evaluate::latest_complete_period;
use crate::export::{self, CsvSink, Dest, Range, Scope, Sink, Stamp, Table, What, XlsxSink, about};
use crate::period::Period;
use crate::store::Store;

const EXAMPLES: &str = "示例 (examples):
  indmon export submissions --period 2026-09
      → submissions_2026-09.csv（全部企业 all enterprises）
  indmon export submissions --from 2026-01 --to 2026-09 --unit 330781 --format xlsx
      → submissions_2026-01_2026-09_330781.xlsx（东岭区的企业 one district's enterprises）
  indmon export alerts --period 2026-09
      → alerts_2026-09.csv 与 alert_events_2026-09.csv（预警及其历史 alerts and their history）
  indmon export evaluation --period 2026-09 -o 九月评估.xlsx
  indmon export submissions --period 2026-09 -o - | head

CSV 为 UTF-8（带 BOM，Excel 可直接打开）、CRLF 换行；金额单位万元，精确到元。
以 = + - @ 开头的文字前加单引号 ' ，防止表格软件当作公式执行。
(CSV is UTF-8 with a BOM and CRLF line ends; amounts in 万元, exact; text that a spreadsheet would
read as a formula is prefixed with an apostrophe. XLSX writes every text as a string cell.)";

/// The file format of an export.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Csv,
    Xlsx,
}

#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct ExportArgs {
    /// 导出内容 (what): submissions 企业月报, alerts 预警及其历史, evaluation 评估结果（按当前数据重新计算，不改变预警）.
    #[arg(value_enum)]
    pub what: What,
    /// 报告期 (one period), e.g. 2026-09 (default: the latest whose reporting deadline has passed).
    #[arg(long, conflicts_with_all = ["from", "to"])]
    pub period: Option<Period>,
    /// 起始期 (first period of a range), e.g. 2026-01; give --to with it.
    #[arg(long, requires = "to")]
    pub from: Option<Period>,
    /// 截止期 (last period of a range), e.g. 2026-09; give --from with it.
    #[arg(long, requires = "from")]
    pub to: Option<Period>,
    /// 单位代码 (unit code): a district or zone gets its own enterprises and alerts; the city, or no --unit, gets all.
    #[arg(long)]
    pub unit: Option<String>,
    /// 格式 (format): csv or xlsx (default: from the -o file's extension, else csv).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// 输出文件 (output file); `-` writes CSV to standard output (default: a name made of what, periods and unit, in --dir).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// 输出目录 (folder for the default file names; created if missing).
    #[arg(long, default_value = ".")]
    pub dir: PathBuf,
    /// 只导出一张表 (only this table of a CSV export of several), e.g. alert_events.
    #[arg(long)]
    pub table: Option<String>,
}

fn range_of(args: &ExportArgs, config: &Config, now: DateTime<Utc>) -> anyhow::Result<Range> {
    match (args.period, args.from, args.to) {
        (Some(p), _, _) => Range::new(p, p),
        (None, Some(from), Some(to)) => Range::new(from, to),
        _ => {
            let p = latest_complete_period(now, config.general.report_deadline_day);
            Range::new(p, p)
        }
    }
}

fn format_of(args: &ExportArgs) -> anyhow::Result<Format> {
    let to_stdout = args.output.as_deref() == Some(Path::new("-"));
    let by_name = args.output.as_deref().and_then(|o| {
        let ext = o.extension()?.to_string_lossy().to_lowercase();
        (ext == "xlsx").then_some(Format::Xlsx)
    });
    let format = args.format.or(by_name).unwrap_or(Format::Csv);
    anyhow::ensure!(
        !(to_stdout && format == Format::Xlsx),
        "XLSX 不能写到标准输出，请用 -o 指定文件名 (XLSX cannot go to standard output: name a file with -o)"
    );
    Ok(format)
}

/// The tables asked for: all of the export's, or the one `--table` names.
fn chosen(what: What, table: Option<&str>) -> anyhow::Result<Vec<Table>> {
    let all = what.tables();
    let Some(name) = table else {
        return Ok(all);
    };
    let names: Vec<&str> = all.iter().map(|t| t.file).collect();
    let one: Vec<Table> = all.iter().filter(|t| t.file == name).cloned().collect();
    anyhow::ensure!(
        !one.is_empty(),
        "{} 导出没有名为“{name}”的表 (no such table)；可选 (choose from)：{}",
        what.as_str(),
        names.join("、")
    );
    Ok(one)
}

/// Where each CSV table goes.
fn csv_dests(
    args: &ExportArgs,
    tables: &[Table],
    stem: &str,
) -> anyhow::Result<Vec<(&'static str, Dest)>> {
    let names = || tables.iter().map(|t| t.file).collect::<Vec<_>>().join("、");
    match args.output.as_deref() {
        Some(o) if tables.len() > 1 => anyhow::bail!(
            "这次导出有 {} 张表（{}），-o {} 只能命名一个文件：请去掉 -o（按默认文件名写入 --dir 目录），或用 --table 选一张 (this export has several tables: drop -o, or pick one with --table)",
            tables.len(),
            names(),
            o.display()
        ),
        Some(o) if o == Path::new("-") => Ok(vec![(tables[0].file, Dest::Stdout)]),
        Some(o) => Ok(vec![(tables[0].file, Dest::File(o.to_path_buf()))]),
        None => Ok(tables
            .iter()
            .map(|t| {
                let name = format!("{}{stem}.csv", t.file);
                (t.file, Dest::File(args.dir.join(name)))
            })
            .collect()),
    }
}

/// Runs `indmon export`.
pub async fn export(
    store: &Store,
    config: &Config,
    args: ExportArgs,
    now: DateTime<Utc>,
) -> anyhow::Result<ExitCode> {
    let range = range_of(&args, config, now)?;
    let scope = Scope::resolve(store, args.unit.as_deref()).await?;
    let format = format_of(&args)?;
    let tables = chosen(args.what, args.table.as_deref())?;
    anyhow::ensure!(
        format == Format::Csv || args.table.is_none(),
        "--table 只用于 CSV；XLSX 把每张表写成一个工作表 (--table is for CSV; XLSX holds every table as a sheet)"
    );
    if args.output.is_none() {
        std::fs::create_dir_all(&args.dir).map_err(|e| {
            anyhow::anyhow!(
                "无法创建目录 (cannot create folder) {}: {e}",
                args.dir.display()
            )
        })?;
    }
    let stem = format!("_{}{}", range.label(), scope.label());
    let stamp = Stamp {
        vintage: store.vintage().await?,
        exported_at: now.timestamp_millis(),
    };
    let to_stdout = args.output.as_deref() == Some(Path::new("-"));
    let mut sink: Box<dyn Sink> = match format {
        Format::Csv => {
            let line = (args.what == What::Evaluation).then(|| stamp.csv_line());
            Box::new(CsvSink::new(csv_dests(&args, &tables, &stem)?, line))
        }
        Format::Xlsx => {
            let path = args
                .output
                .clone()
                .unwrap_or_else(|| args.dir.join(format!("{}{stem}.xlsx", args.what.as_str())));
            Box::new(XlsxSink::new(
                &path,
                &about(args.what, &range, &scope, &stamp),
            )?)
        }
    };
    let result = write(store, config, &args, &range, &scope, now, sink.as_mut()).await;
    let summary = match result {
        Ok(s) => s,
        Err(e) if to_stdout && broken_pipe(&e) => return Ok(ExitCode::SUCCESS),
        Err(e) => return Err(e),
    };
    progress::finish();
    let files = match sink.finish() {
        Ok(f) => f,
        Err(e) if to_stdout && broken_pipe(&e) => return Ok(ExitCode::SUCCESS),
        Err(e) => return Err(e),
    };
    let line = format!(
        "已导出 (exported) {}，{}，{}：{summary}",
        args.what.zh(),
        range.zh(),
        scope.zh()
    );
    if to_stdout {
        eprintln!("{line}");
    } else {
        out!("{line}");
        for f in files {
            out!("  {}", f.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes the export's tables; returns what was written, in words.
async fn write(
    store: &Store,
    config: &Config,
    args: &ExportArgs,
    range: &Range,
    scope: &Scope,
    now: DateTime<Utc>,
    sink: &mut dyn Sink,
) -> anyhow::Result<String> {
    Ok(match args.what {
        What::Submissions => {
            let mut shown = |n: u64| {
                progress::start(format!(
                    "导出企业月报：已写 {n} 行 (exporting: {n} rows written)"
                ));
                tracing::debug!(rows = n, "export: submissions written");
            };
            let n = export::submissions::export(store, range, scope, sink, &mut shown).await?;
            format!("{n} 行 (rows)")
        }
        What::Alerts => {
            let (a, e) = export::alerts::export(store, range, scope, sink).await?;
            format!("预警 {a} 条，历史事件 {e} 条 (alerts, events)")
        }
        What::Evaluation => {
            progress::start(format!("评估 {} (evaluating)", range.zh()));
            let n = export::evaluation::export(store, config, range, scope, now, sink).await?;
            format!("{n} 行 (rows)")
        }
    })
}

/// Whether the error is standard output's reader having gone away (`… -o - | head`).
fn broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        let io = c.downcast_ref::<std::io::Error>().or_else(|| {
            c.downcast_ref::<csv::Error>().and_then(|e| match e.kind() {
                csv::ErrorKind::Io(io) => Some(io),
                _ => None,
            })
        });
        io.is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
