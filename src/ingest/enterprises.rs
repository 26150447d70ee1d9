//! The enterprise registry (企业名录) stored as it is read: rows are parsed, checked against
//! the stored units and against each other, and written in batches of
//! [`ENTERPRISE_BATCH`] (or fewer, once they hold `ImportOptions::buffer_limit` bytes) inside the import's one transaction (`store::EnterpriseImport`), so an
//! import holds one batch and the credit codes seen, not the file. Once a row is rejected only
//! a `--partial` import writes anything more, and a rejected file is rolled back whole.

use std::collections::HashMap;

use super::rows::RowContext;
use super::{
    DataRows, Hash, ImportOptions, ImportReport, Kind, Next, commit_cursor, digest, file_reject,
    push_rejects, run_end, unit_is, unit_kinds,
};
use crate::credit_code::CreditCode;
use crate::record::{Record, Reject};
use crate::registry::{Enterprise, UnitKind};
use crate::store::{ENTERPRISE_BATCH, Store};

/// The line each credit code was first given on.
type Lines = HashMap<CreditCode, u64, foldhash::fast::RandomState>;

/// Why an enterprise cannot be stored: its field, value and reason.
pub(super) fn enterprise_problem(
    units: &HashMap<String, UnitKind>,
    e: &Enterprise,
) -> Option<(&'static str, String, String)> {
    if let Err(m) = unit_is(units, &e.unit_code, &[UnitKind::District, UnitKind::Zone]) {
        return Some(("unit_code", e.unit_code.clone(), m));
    }
    let zone = e.zone_code.as_deref()?;
    unit_is(units, zone, &[UnitKind::Zone])
        .err()
        .map(|m| ("zone_code", zone.to_string(), m))
}

/// Checks one parsed enterprise of `line`: its units, and that its credit code is new to the
/// file.
fn check(
    units: &HashMap<String, UnitKind>,
    lines: &mut Lines,
    line: u64,
    e: &Enterprise,
) -> Option<Reject> {
    let reject =
        |field: &str, value: &str, reason: String| Reject::of_field(line, field, value, reason);
    if let Some((field, value, reason)) = enterprise_problem(units, e) {
        return Some(reject(field, &value, reason));
    }
    if let Some(first) = lines.get(&e.credit_code) {
        return Some(reject(
            "",
            e.credit_code.as_str(),
            format!("与第{first}行重复 (duplicate of line {first})"),
        ));
    }
    lines.insert(e.credit_code, line);
    None
}

/// The bytes an enterprise holds while it waits in a batch.
fn held_bytes(e: &Enterprise) -> usize {
    let opt = |s: &Option<String>| s.as_ref().map_or(0, String::len);
    std::mem::size_of::<Enterprise>()
        + e.name.len()
        + e.unit_code.len()
        + opt(&e.zone_code)
        + opt(&e.industry_code)
        + opt(&e.owner)
}

/// Reads, checks and stores an enterprise registry file.
pub(super) async fn store_enterprises(
    store: &Store,
    ctx: &RowContext<'_>,
    rows: &mut DataRows,
    opts: &ImportOptions,
    hash: &Hash,
    report: &mut ImportReport,
) -> anyhow::Result<()> {
    let units = unit_kinds(store).await?;
    let mut import = store
        .begin_enterprises(report.run_id, opts.now.timestamp_millis())
        .await?;
    let mut lines = Lines::default();
    let mut batch = Vec::with_capacity(ENTERPRISE_BATCH);
    let mut held = 0;
    loop {
        let row = match rows.next_row() {
            Err(e) => {
                file_reject(report, e.line, e.reason);
                import.rollback().await?;
                return Ok(());
            }
            Ok(Next::End) => break,
            Ok(Next::Skipped(s)) => {
                report.skipped.push(s);
                continue;
            }
            Ok(Next::Rejected(r)) => {
                push_rejects(report, [r], 1);
                continue;
            }
            Ok(Next::Unreadable(r)) => {
                push_rejects(report, r, 1);
                continue;
            }
            Ok(Next::Row(row)) => row,
        };
        let e = match ctx.parse(Kind::Enterprises, &row) {
            Ok(Record::Enterprise(e)) => e,
            Ok(_) => anyhow::bail!("an enterprise row parsed as another record"),
            Err(rejects) => {
                push_rejects(report, rejects, 1);
                continue;
            }
        };
        if lines.len() >= opts.max_enterprises {
            let max = opts.max_enterprises;
            let reason = format!(
                "企业名录超过{max}家企业的上限，整个文件未导入 (a registry holds at most {max} enterprises)"
            );
            file_reject(report, row.line, reason);
            import.rollback().await?;
            return Ok(());
        }
        if let Some(mut r) = check(&units, &mut lines, row.line, &e) {
            r.column = ctx.column_of(&r.field).unwrap_or_default();
            push_rejects(report, [r], 1);
            continue;
        }
        held += held_bytes(&e);
        batch.push(e);
        if batch.len() >= ENTERPRISE_BATCH || held >= opts.buffer_limit {
            write_batch(&mut import, &mut batch, report, opts).await?;
            held = 0;
        }
    }
    write_batch(&mut import, &mut batch, report, opts).await?;
    report.rejects.sort_by_key(|r| r.line);
    if report.rejected > 0 && !opts.partial {
        import.rollback().await?;
        return Ok(());
    }
    report.sha256 = digest(hash);
    let a = import.applied();
    (report.accepted, report.revised, report.unchanged) = (a.accepted, a.revised, a.unchanged);
    report.committed = true;
    let cursor = commit_cursor(opts);
    if let Err(e) = import.commit(cursor, &run_end(report)).await {
        report.committed = false;
        (report.accepted, report.revised, report.unchanged) = (0, 0, 0);
        return Err(e);
    }
    Ok(())
}

/// Writes the held enterprises unless a reject has already doomed a whole-file import.
async fn write_batch(
    import: &mut crate::store::EnterpriseImport,
    batch: &mut Vec<Enterprise>,
    report: &ImportReport,
    opts: &ImportOptions,
) -> anyhow::Result<()> {
    if report.rejected == 0 || opts.partial {
        import.write(batch).await?;
    }
    batch.clear();
    Ok(())
}
