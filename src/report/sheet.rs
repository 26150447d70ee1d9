//! A sheet that officials forward and print, shared by `report.xlsx` and the digest's
//! attachment: a title row (who and what), a note row (period and unit of measure), the header
//! row, then the table with an autofilter on the header, the three top rows frozen, long text
//! wrapped in columns of a sensible width (a Chinese character is two width units), and the
//! print set-up of a table that goes out on paper: A4 landscape, one page wide, the top rows
//! repeated on every page, page numbers in the footer.
//!
//! Every text is written as a string cell, which Excel and LibreOffice never evaluate, so an
//! enterprise called `=HYPERLINK(…)` stays a name (CSV needs [`crate::export::neutralise`];
//! a string cell does not, and an apostrophe there would be shown).

use rust_xlsxwriter::{Format, FormatAlign, FormatBorder, Worksheet};

use crate::evaluate::width;
use crate::period::Period;

/// One cell of a table.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Text(String),
    /// A number and its Excel number format.
    Num(f64, &'static str),
    Empty,
}

/// A text cell.
pub fn text(s: impl Into<String>) -> Cell {
    Cell::Text(s.into())
}

/// A number cell, or an empty one for `None`.
pub fn num(v: Option<f64>, format: &'static str) -> Cell {
    v.map_or(Cell::Empty, |x| Cell::Num(x, format))
}

/// 万元 with thousands separators and one decimal.
pub const WAN: &str = "#,##0.0";
/// A percentage or percentage points, one decimal.
pub const PCT1: &str = "0.0";
/// Percentage points of pull, two decimals.
pub const PP2: &str = "0.00";
pub const INT: &str = "0";

/// The row of the column headings (0-based): the title and the note are above it.
pub const HEAD_ROW: u32 = 2;
/// The widest a column gets; longer text wraps inside it.
pub const MAX_WIDTH: usize = 48;
/// A4 in Excel's paper codes.
const A4: u8 = 9;

/// What a sheet says above its table: `云州市 表1 县区排名` and `数据期：2026年1—10月　单位：万元、%`.
#[derive(Clone, Debug)]
pub struct Heading {
    pub title: String,
    pub note: String,
}

/// `2026年1—10月`: the year-to-date period as the bureau writes it in a title.
pub fn period_zh(p: Period) -> String {
    format!("{}年{}", p.year(), p.ytd_label())
}

/// The formats of a sheet, made once.
struct Formats {
    title: Format,
    note: Format,
    head: Format,
    text: Format,
    wrap: Format,
}

impl Formats {
    fn new() -> Formats {
        let cell = Format::new()
            .set_border(FormatBorder::Thin)
            .set_align(FormatAlign::VerticalCenter);
        Formats {
            title: Format::new()
                .set_bold()
                .set_font_size(16)
                .set_align(FormatAlign::Center)
                .set_align(FormatAlign::VerticalCenter),
            note: Format::new().set_align(FormatAlign::Left),
            head: cell
                .clone()
                .set_bold()
                .set_background_color(0xF3E5E5)
                .set_text_wrap()
                .set_align(FormatAlign::Center),
            wrap: cell.clone().set_text_wrap(),
            text: cell,
        }
    }

    fn number(&self, format: &str) -> Format {
        self.text.clone().set_num_format(format)
    }
}

/// The width a cell's content needs, in Excel's units (a CJK character counts two).
fn content_width(cell: &Cell) -> usize {
    match cell {
        Cell::Text(s) => s.lines().map(width).max().unwrap_or(0),
        // Digits, the sign, the point and a separator every three digits.
        Cell::Num(v, _) => {
            let digits = format!("{:.2}", v.abs()).len();
            digits + digits / 3 + 1
        }
        Cell::Empty => 0,
    }
}

/// Each column's width: its heading or its widest cell, at most [`MAX_WIDTH`].
pub fn column_widths(head: &[&str], rows: &[Vec<Cell>]) -> Vec<usize> {
    let mut widths: Vec<usize> = head.iter().map(|h| width(h).min(16)).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(content_width(cell));
        }
    }
    widths
        .into_iter()
        .map(|w| (w + 2).clamp(6, MAX_WIDTH))
        .collect()
}

/// Writes `heading`, the header row and the rows into `ws`, with the filter, the frozen rows,
/// the column widths and the print set-up.
pub fn write(
    ws: &mut Worksheet,
    heading: &Heading,
    head: &[&str],
    rows: &[Vec<Cell>],
) -> anyhow::Result<()> {
    anyhow::ensure!(!head.is_empty(), "a sheet needs at least one column");
    let f = Formats::new();
    let last_col = (head.len() - 1) as u16;
    banner(ws, 0, last_col, &heading.title, &f.title)?;
    banner(ws, 1, last_col, &heading.note, &f.note)?;
    ws.set_row_height(0, 28)?;
    for (c, h) in head.iter().enumerate() {
        ws.write_string_with_format(HEAD_ROW, c as u16, *h, &f.head)?;
    }
    let widths = column_widths(head, rows);
    let numbers: Vec<(&str, Format)> = rows
        .iter()
        .flatten()
        .filter_map(|c| match c {
            Cell::Num(_, nf) => Some(*nf),
            _ => None,
        })
        .fold(Vec::new(), |mut v, nf| {
            if !v.contains(&nf) {
                v.push(nf);
            }
            v
        })
        .into_iter()
        .map(|nf| (nf, f.number(nf)))
        .collect();
    for (r, row) in rows.iter().enumerate() {
        let r = HEAD_ROW + 1 + r as u32;
        for (c, cell) in row.iter().enumerate() {
            let col = c as u16;
            match cell {
                Cell::Text(s) => {
                    let wrapped = widths.get(c).is_some_and(|w| *w >= MAX_WIDTH);
                    let format = if wrapped { &f.wrap } else { &f.text };
                    ws.write_string_with_format(r, col, s, format)?;
                }
                Cell::Num(v, nf) => {
                    let format = numbers
                        .iter()
                        .find(|(k, _)| k == nf)
                        .map_or(&f.text, |(_, x)| x);
                    ws.write_number_with_format(r, col, *v, format)?;
                }
                Cell::Empty => {
                    ws.write_blank(r, col, &f.text)?;
                }
            }
        }
    }
    for (c, w) in widths.iter().enumerate() {
        ws.set_column_width(c as u16, *w as f64)?;
    }
    let last_row = HEAD_ROW + rows.len() as u32;
    ws.autofilter(HEAD_ROW, 0, last_row, last_col)?;
    ws.set_freeze_panes(HEAD_ROW + 1, 0)?;
    print_setup(ws)?;
    Ok(())
}

/// A row of text across every column: merged when there is more than one.
fn banner(
    ws: &mut Worksheet,
    row: u32,
    last_col: u16,
    s: &str,
    format: &Format,
) -> anyhow::Result<()> {
    if last_col == 0 {
        ws.write_string_with_format(row, 0, s, format)?;
    } else {
        ws.merge_range(row, 0, row, last_col, s, format)?;
    }
    Ok(())
}

/// A4 landscape, one page wide and as many long as needed, the title, note and header rows on
/// every page, centred, page numbers at the foot.
fn print_setup(ws: &mut Worksheet) -> anyhow::Result<()> {
    ws.set_landscape();
    ws.set_paper_size(A4);
    ws.set_print_fit_to_pages(1, 0);
    ws.set_print_center_horizontally(true);
    ws.set_repeat_rows(0, HEAD_ROW)?;
    ws.set_footer("&C第 &P 页，共 &N 页");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_count_chinese_twice_and_stop_at_the_maximum() {
        let rows = vec![vec![
            text("南湖机械"),
            Cell::Num(12_345.6, WAN),
            text("很".repeat(40)),
        ]];
        // 南湖机械 is 8 units (+2); 12345.60 is 8 characters, 2 separators and a sign (11, +2);
        // 40 CJK characters are 80 units, cut to the maximum.
        assert_eq!(
            column_widths(&["企业", "产值", "说明"], &rows),
            [10, 13, 48]
        );
        assert_eq!(column_widths(&["县"], &[]), [6]);
    }

    #[test]
    fn periods_read_like_titles() {
        assert_eq!(period_zh("2026-10".parse().unwrap()), "2026年1—10月");
        assert_eq!(period_zh("2026-01".parse().unwrap()), "2026年1月");
    }
}
