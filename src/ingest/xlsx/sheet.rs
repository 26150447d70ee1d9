//! The worksheet read as a stream of rows: one `<row>` at a time, each cell placed by its own
//! reference but never beyond the limits, nothing sized by the sheet's `<dimension>`.

use std::io::{Read, Seek};

use calamine::{ExcelDateTime, ExcelDateTimeType};
use quick_xml::events::Event;

use super::parts::{Shared, SharedStrings, unescape_excel};
use super::zipxml::{Xml, attr};
use super::{CellFault, XlsxLimits};
use crate::ingest::table::{Row, TableError, column_letter};

/// What the cells of the sheet refer to.
pub(super) struct Context {
    pub sheet: String,
    pub strings: SharedStrings,
    pub date_styles: Vec<bool>,
    pub is_1904: bool,
    pub limits: XlsxLimits,
}

/// Reads rows from a worksheet part.
pub(super) struct SheetReader<'a, R: Read + Seek> {
    xml: Xml<'a, R>,
    ctx: Context,
    /// Cells placed so far (the blank ones left of a filled cell included).
    cells: u64,
    /// The line of the last row returned.
    last_line: Option<u64>,
    /// A row read after a gap, returned after the blank row that stands for the gap.
    pending: Option<(Row, Vec<CellFault>)>,
    in_data: bool,
}

/// One cell's content as written.
#[derive(Default)]
struct RawCell {
    value: Option<String>,
    inline: Option<String>,
    formula: Option<String>,
}

impl<'a, R: Read + Seek> SheetReader<'a, R> {
    pub fn new(xml: Xml<'a, R>, ctx: Context) -> SheetReader<'a, R> {
        SheetReader {
            xml,
            ctx,
            cells: 0,
            last_line: None,
            pending: None,
            in_data: false,
        }
    }

    /// The next row with the cells that could not be read, or `None` after the last one.
    /// A gap between rows comes back as one blank row, as a blank row typed in would.
    pub fn next_row(&mut self) -> Result<Option<(Row, Vec<CellFault>)>, TableError> {
        if let Some(p) = self.pending.take() {
            self.last_line = Some(p.0.line);
            return Ok(Some(p));
        }
        let Some(row) = self.read_row()? else {
            return Ok(None);
        };
        match self.last_line {
            Some(last) if row.0.line > last + 1 => {
                self.pending = Some(row);
                self.last_line = Some(last + 1);
                Ok(Some((
                    Row {
                        line: last + 1,
                        cells: Vec::new(),
                    },
                    Vec::new(),
                )))
            }
            _ => {
                self.last_line = Some(row.0.line);
                Ok(Some(row))
            }
        }
    }

    fn read_row(&mut self) -> Result<Option<(Row, Vec<CellFault>)>, TableError> {
        let next_line = self.last_line.map_or(1, |l| l + 1);
        loop {
            let (line, empty) = match self.xml.next()? {
                Event::Start(e) if e.local_name().as_ref() == "sheetData" => {
                    self.in_data = true;
                    continue;
                }
                Event::Empty(e) if e.local_name().as_ref() == "sheetData" => return Ok(None),
                Event::End(e) if e.local_name().as_ref() == "sheetData" => return Ok(None),
                Event::Start(e) if self.in_data && e.local_name().as_ref() == "row" => {
                    (attr(&e, "r"), false)
                }
                Event::Empty(e) if self.in_data && e.local_name().as_ref() == "row" => {
                    (attr(&e, "r"), true)
                }
                Event::Eof => return Err(self.xml.truncated()),
                _ => continue,
            };
            let line = match line {
                Some(r) => self.row_number(&r)?,
                None => next_line,
            };
            let mut row = (
                Row {
                    line,
                    cells: Vec::new(),
                },
                Vec::new(),
            );
            if !empty {
                self.read_cells(&mut row)?;
            }
            return Ok(Some(row));
        }
    }

    fn row_number(&self, r: &str) -> Result<u64, TableError> {
        match r.trim().parse::<u64>() {
            Ok(n) if (1..=u64::from(self.ctx.limits.max_rows)).contains(&n) => Ok(n),
            Ok(n) if n > 0 => Err(self.beyond_rows(n, r)),
            _ => Err(self.bad_reference(r, 0)),
        }
    }

    /// The cells of the row just opened, up to its end.
    fn read_cells(&mut self, row: &mut (Row, Vec<CellFault>)) -> Result<(), TableError> {
        let mut next_col = 0u32;
        loop {
            let (reference, style, kind, empty) = match self.xml.next()? {
                Event::Start(e) if e.local_name().as_ref() == "c" => {
                    (attr(&e, "r"), attr(&e, "s"), attr(&e, "t"), false)
                }
                Event::Empty(e) if e.local_name().as_ref() == "c" => {
                    (attr(&e, "r"), None, None, true)
                }
                Event::End(e) if e.local_name().as_ref() == "row" => return Ok(()),
                Event::Eof => return Err(self.xml.truncated()),
                _ => continue,
            };
            let col = match &reference {
                Some(r) => self.cell_column(r, row.0.line)?,
                None => next_col,
            };
            if col >= self.ctx.limits.max_columns {
                let cell = format!("{}{}", column_letter(col as usize), row.0.line);
                return Err(self.beyond_columns(&cell, row.0.line));
            }
            next_col = col + 1;
            if empty {
                continue;
            }
            let cell = format!("{}{}", column_letter(col as usize), row.0.line);
            let raw = self.read_cell(&cell, row.0.line)?;
            let text = match self.cell_text(&cell, row.0.line, raw, style, kind.as_deref())? {
                Ok(text) => text,
                Err(fault) => {
                    row.1.push(CellFault {
                        column: col as usize,
                        ..fault
                    });
                    String::new()
                }
            };
            self.place(&mut row.0, col as usize, text, &cell)?;
        }
    }

    /// Puts a cell's text at its column; the blank cells it adds count towards the limit.
    fn place(
        &mut self,
        row: &mut Row,
        col: usize,
        text: String,
        cell: &str,
    ) -> Result<(), TableError> {
        if text.is_empty() && col >= row.cells.len() {
            return Ok(());
        }
        if col >= row.cells.len() {
            self.cells += (col + 1 - row.cells.len()) as u64;
            if self.cells > self.ctx.limits.max_cells {
                let max = self.ctx.limits.max_cells;
                return Err(TableError {
                    line: row.line,
                    reason: format!(
                        "工作表“{}”的单元格超过 {max} 个的上限（到 {cell} 为止，含其左侧空白单元格），拒收 (sheet {} has more than {max} cells at {cell}; [import.xlsx] max_cells)",
                        self.ctx.sheet, self.ctx.sheet
                    ),
                });
            }
            row.cells.resize(col + 1, String::new());
        }
        row.cells[col] = text;
        Ok(())
    }

    /// Reads a `<c>` element's children: its value, inline string and formula.
    fn read_cell(&mut self, cell: &str, line: u64) -> Result<RawCell, TableError> {
        let mut raw = RawCell::default();
        loop {
            let part = match self.xml.next()? {
                Event::Start(e) => match e.local_name().as_ref() {
                    "v" => Part::Value,
                    "f" => Part::Formula,
                    "is" => Part::Inline,
                    _ => continue,
                },
                Event::Empty(e) => {
                    match e.local_name().as_ref() {
                        "v" => raw.value = Some(String::new()),
                        "f" => raw.formula = Some(String::new()),
                        "is" => raw.inline = Some(String::new()),
                        _ => {}
                    }
                    continue;
                }
                Event::End(e) if e.local_name().as_ref() == "c" => return Ok(raw),
                Event::Eof => return Err(self.xml.truncated()),
                _ => continue,
            };
            match part {
                Part::Value => raw.value = Some(self.text(cell, line, "v")?),
                Part::Formula => raw.formula = Some(self.text(cell, line, "f")?),
                Part::Inline => raw.inline = Some(self.inline_string(cell, line)?),
            }
        }
    }

    /// The text of the element just opened, within the cell limit.
    fn text(&mut self, cell: &str, line: u64, end: &str) -> Result<String, TableError> {
        let mut text = String::new();
        if self
            .xml
            .text_until(end, &mut text, self.ctx.limits.cell_bytes())?
        {
            Ok(text)
        } else {
            Err(self.too_long(cell, line))
        }
    }

    /// The text of an `<is>` inline string: its `<t>` and rich-text runs, no phonetic guides.
    fn inline_string(&mut self, cell: &str, line: u64) -> Result<String, TableError> {
        let max = self.ctx.limits.cell_bytes();
        let (mut out, mut phonetic) = (String::new(), 0u32);
        loop {
            let is_t = match self.xml.next()? {
                Event::Start(e) => match e.local_name().as_ref() {
                    "rPh" => {
                        phonetic += 1;
                        false
                    }
                    "t" => phonetic == 0,
                    _ => false,
                },
                Event::End(e) => match e.local_name().as_ref() {
                    "rPh" => {
                        phonetic = phonetic.saturating_sub(1);
                        false
                    }
                    "is" => return Ok(unescape_excel(&out).into_owned()),
                    _ => false,
                },
                Event::Eof => return Err(self.xml.truncated()),
                _ => false,
            };
            if is_t && !self.xml.text_until("t", &mut out, max)? {
                return Err(self.too_long(cell, line));
            }
        }
    }

    /// What a cell shows, or why it cannot be read.
    fn cell_text(
        &self,
        cell: &str,
        line: u64,
        raw: RawCell,
        style: Option<String>,
        kind: Option<&str>,
    ) -> Result<Result<String, CellFault>, TableError> {
        let fault = |value: String, reason: String| CellFault {
            column: 0,
            cell: cell.to_string(),
            value,
            reason,
        };
        let formula = raw.formula.as_deref().map(|f| {
            let shown: String = f.chars().take(100).collect();
            if shown.is_empty() {
                "=（共享公式）".to_string()
            } else {
                format!("={shown}")
            }
        });
        let Some(value) = raw.value else {
            if let Some(f) = formula {
                return Ok(Err(fault(f, "公式没有计算结果：该文件由未计算公式的程序保存，请在 Excel/WPS 中打开并保存后再提交，或填写数值 (formula without a cached value: open and save the file in Excel/WPS, or enter the figure)".into())));
            }
            return Ok(Ok(raw.inline.unwrap_or_default()));
        };
        Ok(Ok(match kind {
            Some("s") => {
                let i = value.trim().parse::<usize>().ok();
                match i.map(|i| self.ctx.strings.get(i)) {
                    Some(Shared::Text(t)) => t.to_string(),
                    Some(Shared::TooLong) => return Err(self.too_long(cell, line)),
                    _ => {
                        return Ok(Err(fault(
                            value,
                            "引用了不存在的共享字符串（文件损坏？） (refers to a missing shared string)".into(),
                        )));
                    }
                }
            }
            Some("e") => {
                let v = formula.unwrap_or_else(|| value.clone());
                return Ok(Err(fault(
                    v,
                    format!("单元格是错误值 {value}，不是数值 (the cell holds an error value)"),
                )));
            }
            Some("b") => (value.trim() == "1" || value.trim() == "true").to_string(),
            Some("str" | "inlineStr" | "d") => unescape_excel(&value).into_owned(),
            _ => self.number_text(&value, style.as_deref()),
        }))
    }

    /// A number as text: its shortest exact decimal form, or `yyyy-mm` in a date style.
    fn number_text(&self, value: &str, style: Option<&str>) -> String {
        let Ok(f) = value.trim().parse::<f64>() else {
            return value.to_string();
        };
        let is_date = style
            .and_then(|s| s.trim().parse::<usize>().ok())
            .and_then(|s| self.ctx.date_styles.get(s).copied())
            .unwrap_or(false);
        // Excel's dates end at 9999-12-31, serial 2,958,465.
        if is_date && (0.0..2_958_466.0).contains(&f) {
            let dt = ExcelDateTime::new(f, ExcelDateTimeType::DateTime, self.ctx.is_1904);
            let (y, m, ..) = dt.to_ymd_hms_milli();
            return format!("{y:04}-{m:02}");
        }
        f.to_string()
    }

    /// The 0-based column of a reference like `XFD1048576`, checking its row too.
    fn cell_column(&self, reference: &str, line: u64) -> Result<u32, TableError> {
        let r = reference.trim();
        let letters = r.bytes().take_while(u8::is_ascii_alphabetic).count();
        let digits = &r[letters..];
        if letters == 0 || digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(self.bad_reference(r, line));
        }
        let mut col: u64 = 0;
        for b in r[..letters].bytes() {
            col = col * 26 + u64::from(b.to_ascii_uppercase() - b'A' + 1);
            if col > u64::from(self.ctx.limits.max_columns) {
                return Err(self.beyond_columns(r, line));
            }
        }
        let row: u64 = digits.parse().unwrap_or(u64::MAX);
        if row > u64::from(self.ctx.limits.max_rows) {
            return Err(self.beyond_rows(row, r));
        }
        Ok((col - 1) as u32)
    }

    fn too_long(&self, cell: &str, line: u64) -> TableError {
        let kib = self.ctx.limits.max_cell_kib;
        TableError {
            line,
            reason: format!(
                "工作表“{}”单元格 {cell} 的文本超过 {kib} KiB 的上限，拒收 (sheet {}, cell {cell}: text longer than the limit of {kib} KiB; [import.xlsx] max_cell_kib)",
                self.ctx.sheet, self.ctx.sheet
            ),
        }
    }

    fn beyond_columns(&self, cell: &str, line: u64) -> TableError {
        let max = self.ctx.limits.max_columns;
        let last = column_letter((max as usize).saturating_sub(1));
        TableError {
            line,
            reason: format!(
                "工作表“{}”单元格 {cell} 超出 {max} 列（{last} 列）的上限，拒收 (sheet {}, cell {cell}: beyond the limit of {max} columns; [import.xlsx] max_columns)",
                self.ctx.sheet, self.ctx.sheet
            ),
        }
    }

    fn beyond_rows(&self, row: u64, cell: &str) -> TableError {
        let max = self.ctx.limits.max_rows;
        TableError {
            line: row.min(u64::from(u32::MAX)),
            reason: format!(
                "工作表“{}”单元格 {cell} 超出 {max} 行的上限，拒收 (sheet {}, cell {cell}: beyond the limit of {max} rows; [import.xlsx] max_rows)",
                self.ctx.sheet, self.ctx.sheet
            ),
        }
    }

    fn bad_reference(&self, reference: &str, line: u64) -> TableError {
        let shown: String = reference.chars().take(20).collect();
        TableError {
            line,
            reason: format!(
                "工作表“{}”中的单元格位置“{shown}”无效（文件损坏？） (invalid cell reference)",
                self.ctx.sheet
            ),
        }
    }
}

enum Part {
    Value,
    Formula,
    Inline,
}
