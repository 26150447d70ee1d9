//! `indmon rebuild`: the packed years made again from the rows of `submission`, or compared
//! with them (`--check`, which writes nothing and exits 1 when any pack differs).

use std::process::ExitCode;
use std::time::{Duration, Instant};

use super::output::out;
use super::progress;
use crate::store::{Difference, RebuildScope, RebuildSummary, Store};

#[derive(Debug, clap::Args)]
pub struct RebuildArgs {
    /// Compare the packs with the rows and list the differences; write nothing (exit 1 if any).
    #[arg(long)]
    pub check: bool,
    /// Only the packs of this calendar year.
    #[arg(long)]
    pub year: Option<i32>,
    /// Only the packs of this enterprise (credit code).
    #[arg(long)]
    pub enterprise: Option<String>,
    /// Rows per batch (one transaction each), for tests.
    #[arg(long, hide = true, default_value_t = crate::store::REBUILD_BATCH_ROWS)]
    pub batch_rows: i64,
}

/// Runs `indmon rebuild`.
pub async fn rebuild(store: &Store, args: RebuildArgs) -> anyhow::Result<ExitCode> {
    let scope = RebuildScope {
        year: args.year,
        enterprise: args.enterprise,
        batch_rows: args.batch_rows,
    };
    let started = Instant::now();
    let mut logged = Instant::now();
    let verb = if args.check {
        "核对 (checking)"
    } else {
        "重建 (rebuilding)"
    };
    progress::start(format!("{verb} submission_year"));
    let found = |d: &Difference| out!("{}\t{}\t{}", d.year, d.credit_code, d.kind.describe());
    let step = |s: &RebuildSummary| {
        progress::start(format!(
            "{verb} submission_year：已读 {} 行报表，{} 处不一致 ({} rows read, {} differences)",
            s.rows,
            s.differences(),
            s.rows,
            s.differences()
        ));
        if logged.elapsed() > Duration::from_secs(10) {
            logged = Instant::now();
            tracing::info!(
                rows = s.rows,
                differences = s.differences(),
                "{verb} submission_year"
            );
        }
    };
    let sum = store.rebuild_packs(&scope, !args.check, found, step).await;
    progress::finish();
    let sum = sum?;
    let took = started.elapsed().as_secs_f64();
    if args.check {
        out!(
            "核对完毕 (checked)：{} 行报表，{} 个打包数据一致 (packs equal)，缺少 (missing) {}，不一致 (differing) {}，多余 (orphans) {} [{took:.1}s]",
            sum.rows,
            sum.unchanged,
            sum.missing,
            sum.differing,
            sum.orphans
        );
        return Ok(if sum.differences() > 0 {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        });
    }
    out!(
        "重建完毕 (rebuilt)：{} 行报表，{} 个打包数据原已一致 (already equal)，补写 (written) {}，改写 (rewritten) {}，删除多余 (orphans removed) {}，清除过期标记 (stale marks cleared) {} [{took:.1}s]",
        sum.rows,
        sum.unchanged,
        sum.missing,
        sum.differing,
        sum.orphans,
        sum.marks_cleared
    );
    Ok(ExitCode::SUCCESS)
}
