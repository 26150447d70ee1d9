//! XLSX output: one workbook, a sheet `说明` saying what was exported and from which data, then a
//! sheet a table. Numbers are numbers (amounts with their exact value and a 万元 format), times
//! are dates, the header row is frozen and the widths fit Chinese text. Every text is written
//! as a string cell, which Excel never evaluates, so a name such as `=HYPERLINK(…)` stays a
//! name. Table sheets are written in rust_xlsxwriter's constant-memory mode: a row at a time to
//! a temporary file beside the output, so a large export does not grow in memory.

use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::{DateTime, Offset, TimeZone, Utc};
use chrono_tz::Asia::Shanghai;
use rust_xlsxwriter::{ExcelDateTime, Format, FormatBorder, Workbook, Worksheet};

use super::cell::{Cell, Kind, Table};
use super::sink::{Sink, part_path};
use crate::evaluate::width;

/// Data rows a sheet can hold (Excel's 1,048,576 rows less the header).
pub const MAX_ROWS: u32 = 1_048_575;

/// The workbook being written and where it goes.
pub struct XlsxSink {
    wb: Workbook,
    path: PathBuf,
    sheet: Option<usize>,
    sheet_name: &'static str,
    row: u32,
    formats: Formats,
}

struct Formats {
    head: Format,
    money: Format,
    int: Format,
    time: Format,
}

impl XlsxSink {
    /// A workbook for `path` whose first sheet lists `about` (label, value).
    pub fn new(path: &Path, about: &[(String, Cell)]) -> anyhow::Result<XlsxSink> {
        let mut wb = Workbook::new();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            wb.set_tempdir(dir)?;
        }
        let formats = Formats {
            head: Format::new()
                .set_bold()
                .set_background_color(0xF3E5E5)
                .set_border(FormatBorder::Thin),
            money: Format::new().set_num_format("#,##0.00##"),
            int: Format::new().set_num_format("0"),
            time: Format::new().set_num_format("yyyy-mm-dd hh:mm:ss"),
        };
        let ws = wb.add_worksheet().set_name("说明")?;
        ws.write_string_with_format(0, 0, "项目 (item)", &formats.head)?;
        ws.write_string_with_format(0, 1, "内容 (value)", &formats.head)?;
        for (r, (label, value)) in about.iter().enumerate() {
            let r = r as u32 + 1;
            ws.write_string(r, 0, label)?;
            write_cell(ws, &formats, r, 1, value)?;
        }
        ws.set_column_width(0, 30)?;
        ws.set_column_width(1, 60)?;
        Ok(XlsxSink {
            wb,
            path: path.to_path_buf(),
            sheet: None,
            sheet_name: "",
            row: 0,
            formats,
        })
    }
}

/// The width of a column: its heading, or what its kind usually holds, whichever is wider.
fn column_width(heading: &str, kind: Kind) -> f64 {
    let typical = match kind {
        Kind::Code => 12,
        Kind::Name => 36,
        Kind::Money | Kind::Number => 14,
        Kind::Time => 20,
    };
    (width(heading).max(typical) + 2) as f64
}

/// Shanghai local time of an instant as an Excel date (Excel has no time zones).
fn excel_time(ms: i64) -> anyhow::Result<ExcelDateTime> {
    let t = DateTime::<Utc>::from_timestamp_millis(ms).context("time out of range")?;
    let offset = Shanghai
        .offset_from_utc_datetime(&t.naive_utc())
        .fix()
        .local_minus_utc();
    Ok(ExcelDateTime::from_timestamp(
        ms.div_euclid(1000) + i64::from(offset),
    )?)
}

fn write_cell(
    ws: &mut Worksheet,
    f: &Formats,
    row: u32,
    col: u16,
    cell: &Cell,
) -> anyhow::Result<()> {
    match cell {
        // Always a string cell: never read as a formula, whatever its first character.
        Cell::Text(s) => ws.write_string(row, col, s).map(|_| ())?,
        Cell::Amount(raw) => ws
            .write_number_with_format(row, col, *raw as f64 / 10_000.0, &f.money)
            .map(|_| ())?,
        Cell::Int(v) => ws
            .write_number_with_format(row, col, *v as f64, &f.int)
            .map(|_| ())?,
        Cell::Num(v) => ws.write_number(row, col, *v).map(|_| ())?,
        Cell::Time(ms) => ws
            .write_datetime_with_format(row, col, excel_time(*ms)?, &f.time)
            .map(|_| ())?,
        Cell::Empty => {}
    }
    Ok(())
}

impl Sink for XlsxSink {
    fn begin(&mut self, table: &Table) -> anyhow::Result<()> {
        let ws = self.wb.add_worksheet_with_constant_memory()?;
        ws.set_name(table.sheet)?;
        for (c, col) in table.columns.iter().enumerate() {
            let heading = col.heading();
            ws.set_column_width(c as u16, column_width(&heading, col.kind))?;
            ws.write_string_with_format(0, c as u16, &heading, &self.formats.head)?;
        }
        ws.set_freeze_panes(1, 0)?;
        self.sheet = Some(self.wb.worksheets().len() - 1);
        self.sheet_name = table.sheet;
        self.row = 1;
        Ok(())
    }

    fn row(&mut self, cells: &[Cell]) -> anyhow::Result<()> {
        let Some(index) = self.sheet else {
            anyhow::bail!("a row before its table");
        };
        anyhow::ensure!(
            self.row <= MAX_ROWS,
            "工作表“{}”超过 XLSX 的上限 {MAX_ROWS} 行，请改用 --format csv，或用 --unit、期间缩小范围 (more rows than an XLSX sheet holds: export CSV, or narrow the unit or the periods)",
            self.sheet_name
        );
        let ws = self.wb.worksheet_from_index(index)?;
        for (c, cell) in cells.iter().enumerate() {
            write_cell(ws, &self.formats, self.row, c as u16, cell)?;
        }
        self.row += 1;
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> anyhow::Result<Vec<PathBuf>> {
        let tmp = part_path(&self.path);
        let saved = self.wb.save(&tmp);
        if let Err(e) = saved {
            let _ = std::fs::remove_file(&tmp);
            return Err(e)
                .with_context(|| format!("无法写入 (cannot write) {}", self.path.display()));
        }
        std::fs::rename(&tmp, &self.path)
            .with_context(|| format!("无法写入 (cannot write) {}", self.path.display()))?;
        Ok(vec![self.path.clone()])
    }
}
