//! Importing the power company's daily electricity (`power-daily`, issue 21) in bounded memory:
//! each line is mapped through the stored mapping as it is read and handed to the store's
//! staging table ([`crate::store::PowerDaysImport`]); only the mapping, a batch of lines and
//! the first [`crate::record::MAX_KEPT_REJECTS`] rejects are held, whatever the file's size.
//! An unmapped account rejects its line, and so does a day of a month already pruned (kept only
//! as sums by 旬); an account given twice for a day rejects the later line, naming the first; a
//! file with rejects commits nothing unless the import is `partial`.

use chrono::NaiveDate;

use super::power::{duplicate, reject};
use super::{
    DataRows, Hash, ImportOptions, ImportReport, Next, applied_end, commit_cursor, digest,
    file_reject, push_rejects, rows,
};
use crate::power::DailyLine;
use crate::record::{MAX_KEPT_REJECTS, Reject, Rejects};
use crate::store::{Added, PowerDaysImport, Repeats, Store};

/// Reads a power-daily file's rows and stores their days in one transaction.
pub(super) async fn store_power_days(
    store: &Store,
    ctx: &rows::RowContext<'_>,
    rows: &mut DataRows,
    opts: &ImportOptions,
    hash: &Hash,
    report: &mut ImportReport,
    today: NaiveDate,
) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let lap = |what: &str| {
        tracing::debug!(
            ms = started.elapsed().as_millis() as u64,
            "power-daily import: {what}"
        )
    };
    let mut import = store
        .begin_power_days(report.run_id, opts.now.timestamp_millis())
        .await?;
    lap("mapping read");
    let mut refused = Rejects::default();
    let scale = ctx.kwh_scale();
    loop {
        match rows.next_row() {
            Err(e) => {
                file_reject(report, e.line, e.reason);
                return import.rollback().await;
            }
            Ok(Next::End) => break,
            Ok(Next::Skipped(s)) => report.skipped.push(s),
            Ok(Next::Rejected(r)) => push_rejects(report, [r], 1),
            Ok(Next::Unreadable(r)) => push_rejects(report, r, 1),
            Ok(Next::Row(row)) => match ctx.daily_line(&row, today, scale) {
                Err(rejects) => push_rejects(report, rejects, 1),
                Ok(l) => {
                    if let Some(r) = refusal(ctx, &l, import.add(&l).await?) {
                        refused.push(r);
                    }
                }
            },
        }
    }
    lap("lines read and staged");
    let repeats = import.finish_lines().await?;
    lap("repeats found");
    let count = refused.count + repeats.count;
    push_rejects(report, first_by_line(refused.kept, repeats, ctx), count);
    report.rejects.sort_by_key(|r| r.line);
    if report.rejected > 0 && !opts.partial {
        return import.rollback().await;
    }
    commit(import, opts, hash, report).await?;
    lap("days written and committed");
    Ok(())
}

/// The reject of a line the import did not stage: its account unmapped or its month pruned.
fn refusal(ctx: &rows::RowContext<'_>, l: &DailyLine, added: Added) -> Option<Reject> {
    match added {
        Added::Staged => None,
        Added::Unmapped => Some(reject(
            ctx,
            l.line,
            "account",
            &l.account,
            format!(
                "户号“{}”不在用电户号对照表中，请先导入对照表 (power account not mapped to an enterprise)",
                l.account
            ),
        )),
        Added::Pruned(m) => Some(reject(
            ctx,
            l.line,
            "day",
            &l.day.to_string(),
            format!(
                "{}年{}月的日用电量已按保留期汇总为旬数据并删除，不再接收当月日数据 (the month's days were pruned to 旬 sums)",
                m.year(),
                m.month()
            ),
        )),
    }
}

/// The refused and repeated lines in line order, the first [`MAX_KEPT_REJECTS`] of them.
fn first_by_line(
    refused: Vec<Reject>,
    repeats: Repeats,
    ctx: &rows::RowContext<'_>,
) -> Vec<Reject> {
    let repeated = repeats
        .kept
        .into_iter()
        .map(|r| reject(ctx, r.line, "day", &r.day, duplicate(r.first)));
    let mut all: Vec<Reject> = refused.into_iter().chain(repeated).collect();
    all.sort_by_key(|r| r.line);
    all.truncate(MAX_KEPT_REJECTS);
    all
}

async fn commit(
    import: PowerDaysImport,
    opts: &ImportOptions,
    hash: &Hash,
    report: &mut ImportReport,
) -> anyhow::Result<()> {
    report.sha256 = digest(hash);
    let cursor = commit_cursor(opts);
    let shown = &*report;
    let end = |a| applied_end(shown, a);
    let applied = import.commit(cursor, end).await?;
    report.committed = true;
    report.accepted = applied.accepted;
    report.revised = applied.revised;
    report.unchanged = applied.unchanged;
    Ok(())
}
