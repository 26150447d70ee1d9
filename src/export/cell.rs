//! The cells and columns of an export, and how a cell reads as CSV text. Text that a
//! spreadsheet would take for a formula is neutralised here ([`neutralise`]): enterprise
//! names and alert messages come from outside, and `=HYPERLINK(…)` in a name must stay a name.

use chrono::{DateTime, Utc};
use chrono_tz::Asia::Shanghai;

use crate::amount::Amount;

/// One cell of an exported table.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Text(String),
    /// An exact amount at the internal scale (ten-thousandths of 万元, of 人, …).
    Amount(i64),
    Int(i64),
    /// A computed ratio (a growth rate, a gap): written as the shortest exact decimal.
    Num(f64),
    /// A time, epoch milliseconds, shown in Beijing time.
    Time(i64),
    Empty,
}

impl Cell {
    pub fn text(s: impl Into<String>) -> Cell {
        Cell::Text(s.into())
    }

    /// Text, or an empty cell for `None`.
    pub fn opt_text(s: Option<impl Into<String>>) -> Cell {
        s.map_or(Cell::Empty, |s| Cell::Text(s.into()))
    }

    pub fn opt_amount(v: Option<i64>) -> Cell {
        v.map_or(Cell::Empty, Cell::Amount)
    }

    pub fn opt_time(v: Option<i64>) -> Cell {
        v.map_or(Cell::Empty, Cell::Time)
    }

    /// The cell as CSV text: amounts exact (`6646.1`), times as `2026-10-20 08:00:00` (Beijing
    /// time), text neutralised.
    pub fn csv(&self) -> String {
        match self {
            Cell::Text(s) => neutralise(s),
            Cell::Amount(raw) => Amount(*raw).to_string(),
            Cell::Int(v) => v.to_string(),
            Cell::Num(v) => v.to_string(),
            Cell::Time(ms) => beijing(*ms),
            Cell::Empty => String::new(),
        }
    }
}

/// What a column holds, for the XLSX number format and the column's width.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A code or a short word (credit code, period, state).
    Code,
    /// A name or a sentence.
    Name,
    Money,
    Number,
    Time,
}

/// One column: its Chinese heading and its English code name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    pub zh: String,
    pub code: String,
    pub kind: Kind,
}

impl Column {
    pub fn new(zh: impl Into<String>, code: impl Into<String>, kind: Kind) -> Column {
        Column {
            zh: zh.into(),
            code: code.into(),
            kind,
        }
    }

    /// The heading as written: `企业名称 (name)`.
    pub fn heading(&self) -> String {
        format!("{} ({})", self.zh, self.code)
    }
}

/// One table of an export: its file name part, its sheet name and its columns.
#[derive(Clone, Debug)]
pub struct Table {
    /// Part of the CSV file name, e.g. `alert_events`.
    pub file: &'static str,
    /// The XLSX sheet's name, e.g. `预警历史`.
    pub sheet: &'static str,
    pub columns: Vec<Column>,
}

/// Text a spreadsheet would read as a formula (`=`, `+`, `-`, `@` first, or a tab or carriage
/// return) with an apostrophe before it, which Excel and LibreOffice show as plain text.
pub fn neutralise(s: &str) -> String {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}"),
        _ => s.to_string(),
    }
}

/// A time as `2026-10-20 08:00:00` in Beijing time.
pub fn beijing(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|t| {
            t.with_timezone(&Shanghai)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_text_is_neutralised_and_other_text_is_not() {
        for hostile in [
            "=HYPERLINK(\"http://x\",\"y\")",
            "+1",
            "-2",
            "@SUM(A1)",
            "\tx",
            "\rx",
        ] {
            assert_eq!(neutralise(hostile), format!("'{hostile}"));
        }
        for plain in ["东岭精密机械有限公司", "2026-09", "", " =1", "a=b"] {
            assert_eq!(neutralise(plain), plain);
        }
    }

    #[test]
    fn numbers_are_not_neutralised() {
        assert_eq!(Cell::Amount(-32_500).csv(), "-3.25");
        assert_eq!(Cell::Num(-1.5).csv(), "-1.5");
        assert_eq!(Cell::Text("-1.5".into()).csv(), "'-1.5");
    }

    #[test]
    fn times_are_beijing_time() {
        // 2026-10-20 00:00 UTC is 08:00 in Beijing.
        assert_eq!(Cell::Time(1_792_454_400_000).csv(), "2026-10-20 08:00:00");
    }
}
