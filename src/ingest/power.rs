//! Importing the electricity and 旬 files (issue 21): the mapping of power accounts to credit
//! codes (`power-accounts`), the power company's daily electricity (`power-daily`, each account
//! mapped through the stored mapping; an unmapped account rejects its line) and key
//! enterprises' 旬报 (`xun-reports`). As for every kind: rejects name line, column and reason,
//! and a file with rejects commits nothing unless the import is `partial`.

use std::collections::HashMap;

use chrono::NaiveDate;
use chrono_tz::Asia::Shanghai;

use super::headers::{Col, Kind, normalize};
use super::{
    DataRows, Hash, ImportOptions, ImportReport, Next, applied_end, commit_cursor, digest,
    file_reject, push_rejects, rows,
};
use crate::credit_code::CreditCode;
use crate::power::{PowerAccount, Xun, XunReport};
use crate::record::Reject;
use crate::store::Store;

/// The figures of a 旬报 column whose header says it is cumulative are refused: a 旬报 carries
/// the 旬's own figures.
fn cumulative_columns(ctx: &rows::RowContext<'_>) -> Vec<String> {
    ctx.cols
        .iter()
        .zip(ctx.header)
        .filter(|(c, h)| {
            matches!(c, Col::Key("output" | "sales" | "electricity"))
                && (normalize(h).contains("累计") || normalize(h).contains("1-"))
        })
        .map(|(_, h)| format!("列“{h}”是累计数：旬报应填本旬数 (a 旬报 carries the 旬's own figures, not cumulative ones)"))
        .collect()
}

/// A reject of a whole row at `line`, in column `key`.
pub(super) fn reject(
    ctx: &rows::RowContext<'_>,
    line: u64,
    key: &str,
    value: &str,
    reason: String,
) -> Reject {
    Reject {
        line,
        column: ctx.column_of(key).unwrap_or_default(),
        field: key.into(),
        value: value.into(),
        reason,
    }
}

pub(super) fn duplicate(first: u64) -> String {
    format!("与第{first}行重复 (duplicate of line {first})")
}

/// Reads the rows of a power or 旬 file and stores them in one transaction.
#[allow(clippy::too_many_arguments)]
pub(super) async fn store_power(
    store: &Store,
    kind: Kind,
    ctx: &rows::RowContext<'_>,
    header_line: u64,
    rows: &mut DataRows,
    opts: &ImportOptions,
    hash: &Hash,
    report: &mut ImportReport,
) -> anyhow::Result<()> {
    if kind == Kind::XunReports {
        let cumulative = cumulative_columns(ctx);
        if !cumulative.is_empty() {
            for c in cumulative {
                file_reject(report, header_line, c);
            }
            return Ok(());
        }
    }
    let today: NaiveDate = opts.now.with_timezone(&Shanghai).date_naive();
    let Some(now_xun) = Xun::containing(today) else {
        anyhow::bail!("当前日期 {today} 超出范围 (today is out of range)");
    };
    if kind == Kind::PowerDaily {
        return super::power_daily::store_power_days(store, ctx, rows, opts, hash, report, today)
            .await;
    }
    let mut accounts = Vec::new();
    let mut reports = Vec::new();
    loop {
        match rows.next_row() {
            Err(e) => {
                file_reject(report, e.line, e.reason);
                return Ok(());
            }
            Ok(Next::End) => break,
            Ok(Next::Skipped(s)) => report.skipped.push(s),
            Ok(Next::Rejected(r)) => push_rejects(report, [r], 1),
            Ok(Next::Unreadable(r)) => push_rejects(report, r, 1),
            Ok(Next::Row(row)) => {
                let parsed = match kind {
                    Kind::PowerAccounts => ctx.power_account(&row).map(|a| accounts.push(a)),
                    _ => ctx.xun_report(&row, now_xun).map(|r| reports.push(r)),
                };
                if let Err(rejects) = parsed {
                    push_rejects(report, rejects, 1);
                }
            }
        }
    }
    let (accounts, account_rejects) = unique_accounts(accounts, ctx);
    let (reports, report_rejects) = unique_reports(reports, ctx);
    for rejects in [account_rejects, report_rejects] {
        let n = rejects.len() as u64;
        push_rejects(report, rejects, n);
    }
    report.rejects.sort_by_key(|r| r.line);
    if report.rejected > 0 && !opts.partial {
        return Ok(());
    }
    report.sha256 = digest(hash);
    let cursor = commit_cursor(opts);
    let now_ms = opts.now.timestamp_millis();
    let shown = &*report;
    let end = |a| applied_end(shown, a);
    let applied = match kind {
        Kind::PowerAccounts => {
            store
                .apply_power_accounts(report.run_id, &accounts, now_ms, cursor, end)
                .await?
        }
        _ => {
            store
                .apply_xun_reports(report.run_id, &reports, now_ms, cursor, end)
                .await?
        }
    };
    report.committed = true;
    report.accepted = applied.accepted;
    report.revised = applied.revised;
    report.unchanged = applied.unchanged;
    Ok(())
}

fn unique_accounts(
    accounts: Vec<PowerAccount>,
    ctx: &rows::RowContext<'_>,
) -> (Vec<PowerAccount>, Vec<Reject>) {
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut rejects = Vec::new();
    let mut kept = Vec::with_capacity(accounts.len());
    for a in accounts {
        if let Some(first) = seen.get(&a.account) {
            rejects.push(reject(
                ctx,
                a.line,
                "account",
                &a.account,
                duplicate(*first),
            ));
            continue;
        }
        seen.insert(a.account.clone(), a.line);
        kept.push(a);
    }
    (kept, rejects)
}

fn unique_reports(
    reports: Vec<XunReport>,
    ctx: &rows::RowContext<'_>,
) -> (Vec<XunReport>, Vec<Reject>) {
    let mut seen: HashMap<(CreditCode, Xun), u64> = HashMap::new();
    let mut rejects = Vec::new();
    let mut kept = Vec::with_capacity(reports.len());
    for r in reports {
        if let Some(first) = seen.get(&(r.credit_code, r.xun)) {
            rejects.push(reject(
                ctx,
                r.line,
                "credit_code",
                r.credit_code.as_str(),
                duplicate(*first),
            ));
            continue;
        }
        seen.insert((r.credit_code, r.xun), r.line);
        kept.push(r);
    }
    (kept, rejects)
}
