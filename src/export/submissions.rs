//! The submissions table: one row per enterprise and month, every figure in its own column at
//! its exact value, streamed from the store a row at a time. The headings name each figure as
//! officials do (`工业总产值·本月（万元） (output)`), so an exported file can be imported again.

use std::collections::HashMap;

use super::cell::{Cell, Column, Kind, Table};
use super::sink::Sink;
use super::{Range, Scope};
use crate::indicator::{FIELDS, Field, Span, indicator};
use crate::store::{Store, SubmissionRow};

/// How often (in rows) progress is reported.
pub const PROGRESS_EVERY: u64 = 50_000;

/// The Chinese heading of a figure: `工业总产值·上年同期1-本月累计（万元）`.
fn field_zh(f: &Field) -> String {
    let (zh, unit) = indicator(f.indicator).map_or((f.indicator, ""), |i| (i.zh, i.unit));
    let span = match f.span {
        Span::Month => "本月",
        Span::Ytd => "1-本月累计",
    };
    let prior = if f.prior_year { "上年同期" } else { "" };
    format!("{zh}·{prior}{span}（{unit}）")
}

/// The table's columns.
pub fn table() -> Table {
    let mut columns = vec![
        Column::new("报告期", "period", Kind::Code),
        Column::new("统一社会信用代码", "credit_code", Kind::Code),
        Column::new("企业名称", "name", Kind::Name),
        Column::new("所属县区代码", "unit_code", Kind::Code),
        Column::new("所属县区", "unit_name", Kind::Name),
        Column::new("所属园区代码", "zone_code", Kind::Code),
        Column::new("所属园区", "zone_name", Kind::Name),
    ];
    columns.extend(FIELDS.iter().map(|f| {
        let kind = if indicator(f.indicator).is_some_and(|i| i.money) {
            Kind::Money
        } else {
            Kind::Number
        };
        Column::new(field_zh(f), f.name, kind)
    }));
    columns.extend([
        Column::new("修订次数", "revision", Kind::Number),
        Column::new("导入批次", "run_id", Kind::Number),
        Column::new("接收时间（北京时间）", "received_at", Kind::Time),
    ]);
    Table {
        file: "submissions",
        sheet: "企业月报",
        columns,
    }
}

/// One row's cells.
fn cells(r: &SubmissionRow, units: &HashMap<String, String>) -> Vec<Cell> {
    let unit_name =
        |code: &Option<String>| Cell::opt_text(code.as_ref().and_then(|c| units.get(c)).cloned());
    let mut out = Vec::with_capacity(10 + FIELDS.len());
    out.extend([
        Cell::Text(r.period.to_string()),
        Cell::Text(r.credit_code.clone()),
        Cell::opt_text(r.name.clone()),
        Cell::opt_text(r.unit_code.clone()),
        unit_name(&r.unit_code),
        Cell::opt_text(r.zone_code.clone()),
        unit_name(&r.zone_code),
    ]);
    out.extend(r.figures.iter().map(|v| Cell::opt_amount(*v)));
    out.extend([
        Cell::Int(r.revision),
        Cell::Int(r.run_id),
        Cell::opt_time(r.received_at),
    ]);
    out
}

/// Writes the submissions of `range` in `scope` to `sink`, calling `progress` with the rows
/// written so far every [`PROGRESS_EVERY`] rows. Returns the rows written.
pub async fn export(
    store: &Store,
    range: &Range,
    scope: &Scope,
    sink: &mut dyn Sink,
    progress: &mut dyn FnMut(u64),
) -> anyhow::Result<u64> {
    let units: HashMap<String, String> = store
        .units()
        .await?
        .into_iter()
        .map(|u| (u.code, u.name))
        .collect();
    sink.begin(&table())?;
    let mut written = 0u64;
    store
        .export_submissions(range.from, range.to, scope.filter(), |r| {
            sink.row(&cells(r, &units))?;
            written += 1;
            if written.is_multiple_of(PROGRESS_EVERY) {
                progress(written);
            }
            Ok(())
        })
        .await?;
    Ok(written)
}
