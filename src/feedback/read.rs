//! Reads a filled 反馈表 with the bounded, streaming XLSX reader of the imports
//! ([`crate::ingest::xlsx`]): its first sheet, the header found among the first rows by its
//! headings (so an official who moved or hid a column is still understood), then every row that
//! has something in an answer column. Nothing is sized by what the file declares; each kept
//! text is cut one character beyond the longest accepted (so that a too-long text is still
//! refused as such), and a sheet with more than [`super::MAX_ROWS`] answered rows is refused
//! whole.

use super::workbook::{COLUMNS, Col};
use crate::cases::MAX_TEXT;
use crate::ingest::table::{Row, RowSource, column_letter};
use crate::ingest::xlsx::{XlsxLimits, XlsxRows};

/// Rows searched for the header.
const HEADER_SEARCH: usize = 30;

/// The columns read, by their heading's beginning.
const READ: [Col; 7] = [
    Col::Case,
    Col::Version,
    Col::Cause,
    Col::Situation,
    Col::Measures,
    Col::ResumeMonth,
    Col::Coordination,
];

/// One row with something in an answer column, as typed (trimmed, cut after [`MAX_TEXT`] + 1
/// characters).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SheetRow {
    /// The row's number in Excel.
    pub line: u64,
    pub case: String,
    pub version: String,
    pub cause: String,
    pub situation: String,
    pub measures: String,
    pub resume_month: String,
    pub coordination: String,
    /// Cells read that hold no value (a formula saved without its result, an error value).
    pub faults: Vec<(Col, String)>,
}

/// Where the columns read are in the uploaded sheet.
#[derive(Clone, Debug, Default)]
pub struct Layout {
    cols: Vec<(Col, usize)>,
}

impl Layout {
    /// `N 原因`: the column's letter and heading, for a reason.
    pub fn label(&self, col: Col) -> String {
        let head = COLUMNS.iter().find(|c| c.0 == col).map_or("", |c| c.1);
        match self.cols.iter().find(|(c, _)| *c == col) {
            Some((_, i)) => format!("{} {head}", column_letter(*i)),
            None => head.to_string(),
        }
    }

    fn at(&self, col: Col) -> Option<usize> {
        self.cols.iter().find(|(c, _)| *c == col).map(|(_, i)| *i)
    }
}

/// A 反馈表 as read.
#[derive(Clone, Debug, Default)]
pub struct Sheet {
    pub layout: Layout,
    pub rows: Vec<SheetRow>,
    /// Case rows with every answer column empty.
    pub skipped: u64,
}

/// Why a file cannot be read as a 反馈表 at all.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct FileError(pub String);

/// The limits for a 反馈表: the configured import limits, and no more than a 反馈表 needs.
pub fn limits(configured: &XlsxLimits) -> XlsxLimits {
    XlsxLimits {
        max_rows: configured.max_rows.min(50_000),
        max_columns: configured.max_columns.min(64),
        max_cells: configured.max_cells.min(1_000_000),
        ..configured.clone()
    }
}

/// Reads `bytes` (blocking: call it off the async runtime).
pub fn read(bytes: Vec<u8>, limits: &XlsxLimits) -> Result<Sheet, FileError> {
    let shown = |e: crate::ingest::table::TableError| FileError(e.to_string());
    let mut rows = XlsxRows::open(std::io::Cursor::new(bytes), limits.clone()).map_err(shown)?;
    let first = rows.peek(HEADER_SEARCH).map_err(shown)?;
    let (at, layout) = first
        .iter()
        .enumerate()
        .find_map(|(n, r)| header(r).map(|l| (n, l)))
        .ok_or_else(|| {
            FileError(
                "前30行中找不到表头（事项编号、版本、原因、情况说明……），请使用系统生成的反馈表 (no 反馈表 header found)".into(),
            )
        })?;
    rows.drop_peeked(at + 1);
    let mut sheet = Sheet {
        layout,
        ..Sheet::default()
    };
    while let Some(row) = rows.next() {
        let row = row.map_err(shown)?;
        let faults = rows.take_faults();
        let mut r = fields(&sheet.layout, &row);
        r.faults = faults
            .into_iter()
            .filter_map(|f| {
                let col = sheet.layout.cols.iter().find(|(_, i)| *i == f.column)?.0;
                Some((
                    col,
                    format!("单元格 {} 无法读取：{} ({})", f.cell, f.reason, f.value),
                ))
            })
            .collect();
        if !answered(&r) {
            if !r.case.is_empty() {
                sheet.skipped += 1;
            }
            continue;
        }
        if sheet.rows.len() >= super::MAX_ROWS {
            return Err(FileError(format!(
                "第{}行：已填写的行超过{}行，请分成几份上传 (more than {} answered rows)",
                row.line,
                super::MAX_ROWS,
                super::MAX_ROWS
            )));
        }
        sheet.rows.push(r);
    }
    Ok(sheet)
}

/// The layout of a header row, if it is one: every column read must be there.
fn header(r: &Row) -> Option<Layout> {
    let mut cols = Vec::new();
    for col in READ {
        let head = COLUMNS.iter().find(|c| c.0 == col)?.1;
        let i = r.cells.iter().position(|c| {
            let c = c.trim().trim_end_matches('*');
            c == head || c.starts_with(&format!("{head}（")) || c.starts_with(&format!("{head}("))
        })?;
        cols.push((col, i));
    }
    Some(Layout { cols })
}

/// A cell's text, trimmed and cut after `MAX_TEXT + 1` characters.
fn cell(layout: &Layout, row: &Row, col: Col) -> String {
    layout
        .at(col)
        .and_then(|i| row.cells.get(i))
        .map(|s| s.trim().chars().take(MAX_TEXT + 1).collect())
        .unwrap_or_default()
}

fn fields(layout: &Layout, row: &Row) -> SheetRow {
    SheetRow {
        line: row.line,
        case: cell(layout, row, Col::Case),
        version: cell(layout, row, Col::Version),
        cause: cell(layout, row, Col::Cause),
        situation: cell(layout, row, Col::Situation),
        measures: cell(layout, row, Col::Measures),
        resume_month: cell(layout, row, Col::ResumeMonth),
        coordination: cell(layout, row, Col::Coordination),
        faults: Vec::new(),
    }
}

/// Whether anything was entered in an answer column (a fault counts: it must be reported).
fn answered(r: &SheetRow) -> bool {
    !(r.cause.is_empty()
        && r.situation.is_empty()
        && r.measures.is_empty()
        && r.resume_month.is_empty()
        && r.coordination.is_empty()
        && r.faults
            .iter()
            .all(|(c, _)| matches!(c, Col::Case | Col::Version)))
}

/// `2026-12`, `2026/12`, `2026.12`, `2026年12月` and `2026-12-01` as `2026-12`; anything else
/// as typed (the desk refuses it, naming the column).
pub fn month(typed: &str) -> String {
    let t = typed.trim();
    let digits: Vec<&str> = t
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .collect();
    let shaped = t
        .chars()
        .all(|c| c.is_ascii_digit() || "-/.年月日 ".contains(c));
    match digits.as_slice() {
        [y, m] | [y, m, _] if shaped && y.len() == 4 && (1..=2).contains(&m.len()) => {
            format!("{y}-{m:0>2}")
        }
        _ => t.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn months_as_officials_type_them() {
        for (typed, want) in [
            ("2026-12", "2026-12"),
            ("2026/3", "2026-03"),
            ("2026年3月", "2026-03"),
            ("2026.03", "2026-03"),
            ("2026-12-01", "2026-12"),
            ("明年春节后", "明年春节后"),
            ("12/2026", "12/2026"),
        ] {
            assert_eq!(super::month(typed), want, "{typed}");
        }
    }
}

#[cfg(test)]
mod round_trip {
    use super::super::workbook::{CaseRow, write};
    use crate::cases::{Case, CaseState};
    use crate::rules::Severity;

    fn case(id: i64) -> Case {
        Case {
            id,
            alert_id: id,
            rule: "enterprise_stalled".into(),
            subject: format!("91330100MA2A{id:06}"),
            subject_name: if id % 2 == 0 {
                format!("=企业{id}")
            } else {
                format!("企业{id}")
            },
            unit_code: "3301".into(),
            owner: Some("east".into()),
            state: CaseState::Assigned,
            severity: Severity::Orange,
            period: "2026-10".into(),
            opened_at: 0,
            answer_days: 5,
            escalate_days: 3,
            delivered_at: None,
            due_at: None,
            escalate_at: None,
            answered_at: None,
            late: false,
            closed_at: None,
            closed_by: None,
            close_reason: None,
            closed_period: None,
            previous_case: None,
            version: 1 + id % 3,
            updated_at: 0,
            scope: vec!["3301".into()],
        }
    }

    /// What `write` makes, `read` reads: 2,000 cases, none answered, all counted as skipped; the
    /// header is found whatever the names hold. Prints the time of each half (a measure of the
    /// 反馈表 of a large district).
    #[test]
    fn a_written_workbook_reads_back() {
        let rows: Vec<CaseRow> = (1..=2000)
            .map(|i| CaseRow {
                case: case(i),
                unit_name: "东区".into(),
                warning: "10月产值为0".into(),
                figures: "output：0".into(),
                last_answer: None,
                due: String::new(),
            })
            .collect();
        let causes = vec!["资金紧张".to_string(), "其他".to_string()];
        let t = std::time::Instant::now();
        let book = write("反馈表", &rows, &causes, &causes, chrono::Utc::now()).unwrap();
        let written = t.elapsed();
        let t = std::time::Instant::now();
        let sheet = super::read(book.clone(), &super::limits(&Default::default())).unwrap();
        eprintln!(
            "2000 cases: {} bytes, written in {written:?}, read in {:?}",
            book.len(),
            t.elapsed()
        );
        assert_eq!((sheet.rows.len(), sheet.skipped), (0, 2000));
    }
}
