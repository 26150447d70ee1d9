//! Tables as officials send them: CSV and XLSX with title rows above the header, two-row
//! merged headers, a totals row and notes below the data. Everything is turned into a header
//! (one flattened name per column) and a stream of rows that keep their line numbers.

use std::io::Read;

use super::lines::LineScan;
use crate::period::Period;

/// One data row with its line in the file (1-based; Excel's row number for XLSX).
#[derive(Clone, Debug, Default)]
pub struct Row {
    pub line: u64,
    pub cells: Vec<String>,
}

/// What was found above and below the data, besides the header.
#[derive(Clone, Debug, Default)]
pub struct Preamble {
    /// The flattened header names, one per column (`工业总产值（当年价格）/本月`).
    pub header: Vec<String>,
    /// The line of the last header row.
    pub header_line: u64,
    /// A period named in a title row (`…（2026年10月）`).
    pub title_period: Option<Period>,
    /// The amount unit a title row declares (`单位：千元`): `千元`, `元` or `万元`.
    pub title_money_unit: Option<&'static str>,
}

/// A location-tagged problem that makes the whole file unreadable.
#[derive(Debug, thiserror::Error)]
#[error("第{line}行：{reason}")]
pub struct TableError {
    pub line: u64,
    pub reason: String,
}

/// How many rows above the header are searched for it.
const HEADER_SEARCH_ROWS: usize = 30;

/// Finds the header among the first rows. `is_header` says whether a row's cells name the key
/// columns of some input kind. A following row of sub-headings (本月, 1-本月累计, 上年同期 …)
/// is merged into it: `工业总产值（当年价格）` over `本月` becomes `工业总产值（当年价格）/本月`,
/// and an empty top cell (the right part of a merged cell) takes the heading to its left.
/// Returns the preamble and how many of `rows` it used.
pub fn locate_header(
    rows: &[Row],
    is_header: &dyn Fn(&[String]) -> bool,
) -> Option<(Preamble, usize)> {
    let at = rows
        .iter()
        .take(HEADER_SEARCH_ROWS)
        .position(|r| is_header(&r.cells))?;
    let mut pre = Preamble {
        header_line: rows[at].line,
        ..Preamble::default()
    };
    for r in &rows[..at] {
        for c in &r.cells {
            pre.title_period = pre.title_period.or_else(|| Period::find_in_text(c));
            pre.title_money_unit = pre.title_money_unit.or_else(|| money_unit_in(c));
        }
    }
    let top = &rows[at].cells;
    let sub = rows.get(at + 1).filter(|r| is_subheader(&r.cells));
    let width = top.len().max(sub.map_or(0, |s| s.cells.len()));
    let mut header = Vec::with_capacity(width);
    let mut left = String::new();
    for i in 0..width {
        let t = top.get(i).map(|s| s.trim()).unwrap_or("");
        let s = sub
            .and_then(|r| r.cells.get(i))
            .map(|s| s.trim())
            .unwrap_or("");
        if !t.is_empty() {
            left = t.to_string();
        }
        header.push(match (t.is_empty(), s.is_empty()) {
            (_, true) => t.to_string(),
            (false, false) => format!("{t}/{s}"),
            (true, false) => format!("{left}/{s}"),
        });
    }
    if let Some(s) = sub {
        pre.header_line = s.line;
    }
    pre.header = header;
    Some((pre, at + 1 + usize::from(sub.is_some())))
}

/// A row of sub-headings: short words about the span or year, no numbers.
fn is_subheader(cells: &[String]) -> bool {
    let words: Vec<&str> = cells
        .iter()
        .map(|c| c.trim())
        .filter(|c| !c.is_empty())
        .collect();
    !words.is_empty()
        && words.iter().all(|w| {
            ["本月", "当月", "累计", "本年", "上年", "同期", "本期", "1-"]
                .iter()
                .any(|k| w.contains(k))
                && !w
                    .chars()
                    .any(|c| c.is_ascii_digit() && !w.starts_with("1-"))
        })
}

/// The money unit a title line declares, e.g. `单位：千元、万千瓦时、人`.
pub fn money_unit_in(text: &str) -> Option<&'static str> {
    let rest = text
        .split_once("单位：")
        .or_else(|| text.split_once("单位:"))?
        .1;
    let first = rest.split(['、', ',', '，', ';', ' ']).next()?.trim();
    match first {
        "千元" => Some("千元"),
        "元" => Some("元"),
        "万元" => Some("万元"),
        _ => None,
    }
}

/// Whether a first cell marks a totals row (合计, 总计, 小计, 其中…), which is not an enterprise.
pub fn is_totals_label(cell: &str) -> bool {
    // Asked of every row's key: compared without building the text without its spaces.
    let t = cell.chars().filter(|c| !c.is_whitespace());
    [
        "合计", "总计", "小计", "累计", "其中", "total", "Total", "TOTAL",
    ]
    .iter()
    .any(|k| {
        let mut t = t.clone();
        k.chars().all(|c| t.next() == Some(c))
    })
}

/// Rows of a CSV file, streamed.
pub struct CsvRows {
    /// Lines are counted by [`LineScan`], not taken from the csv crate (see its module).
    reader: csv::Reader<LineScan<Box<dyn Read + Send>>>,
    record: csv::ByteRecord,
    buffered: std::collections::VecDeque<Row>,
    /// The cells of a row handed back ([`RowSource::recycle`]), reused for the next one.
    spare: Option<Vec<String>>,
}

/// Where data rows come from: a CSV or an XLSX sheet read as it goes, or a JSON file's rows.
pub trait RowSource: Iterator<Item = Result<Row, TableError>> + Send {
    /// Takes back a row that was read, so that its buffers can hold the next one (a large CSV
    /// would otherwise allocate every cell of every row).
    fn recycle(&mut self, _row: Row) {}

    /// The cells of the row returned last that hold no readable value (an XLSX formula saved
    /// without its result): never to be taken as blank.
    fn take_faults(&mut self) -> Vec<crate::ingest::xlsx::CellFault> {
        Vec::new()
    }
}

/// Rows already in memory.
pub struct Rows<I>(pub I);

impl<I: Iterator<Item = Result<Row, TableError>>> Iterator for Rows<I> {
    type Item = Result<Row, TableError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next()
    }
}

impl<I: Iterator<Item = Result<Row, TableError>> + Send> RowSource for Rows<I> {}

impl RowSource for CsvRows {
    fn recycle(&mut self, row: Row) {
        self.spare = Some(row.cells);
    }
}

impl CsvRows {
    pub fn new(text: Box<dyn Read + Send>) -> CsvRows {
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(LineScan::new(text));
        CsvRows {
            reader,
            record: csv::ByteRecord::new(),
            buffered: Default::default(),
            spare: None,
        }
    }

    /// Reads the first rows (for header detection) and keeps them for `next`.
    pub fn peek(&mut self, n: usize) -> Result<Vec<Row>, TableError> {
        while self.buffered.len() < n {
            match self.read()? {
                Some(r) => self.buffered.push_back(r),
                None => break,
            }
        }
        Ok(self.buffered.iter().cloned().collect())
    }

    /// Drops `n` peeked rows (the title and header rows).
    pub fn drop_peeked(&mut self, n: usize) {
        for _ in 0..n {
            self.buffered.pop_front();
        }
    }

    fn read(&mut self) -> Result<Option<Row>, TableError> {
        let start = self.reader.position().byte();
        match self.reader.read_byte_record(&mut self.record) {
            Ok(false) => Ok(None),
            Ok(true) => {
                let line = self.reader.get_mut().line_at(start);
                self.check_quotes(start)?;
                let mut cells = self.spare.take().unwrap_or_default();
                let mut n = 0;
                // Most records are ASCII, with no replacement character to look for: the search,
                // field by field, cost a tenth of a large import's parse.
                let ascii = self.record.as_slice().is_ascii();
                for field in self.record.iter() {
                    let s = std::str::from_utf8(field).map_err(|_| TableError {
                        line,
                        reason: "不是有效的 UTF-8 文本：文件中混有其他编码？可在来源配置 encoding = \"gbk\" (invalid UTF-8)".into(),
                    })?;
                    if !ascii && s.contains('\u{FFFD}') {
                        return Err(TableError {
                            line,
                            reason: "含有无法按 GBK/GB18030 解码的字节 (undecodable bytes)".into(),
                        });
                    }
                    match cells.get_mut(n) {
                        Some(cell) => {
                            cell.clear();
                            cell.push_str(s);
                        }
                        None => cells.push(s.to_string()),
                    }
                    n += 1;
                }
                cells.truncate(n);
                Ok(Some(Row { line, cells }))
            }
            Err(e) => {
                let line = self.reader.get_mut().line_at(start);
                Err(TableError {
                    line,
                    reason: format!("CSV 格式错误 (malformed CSV): {e}"),
                })
            }
        }
    }
}

impl CsvRows {
    /// Refuses the record just read (from byte `start`) if it holds a quote that is never
    /// closed: the parser took the rest of the file as one field, which is no short row.
    fn check_quotes(&self, start: u64) -> Result<(), TableError> {
        let end = self.reader.position().byte();
        match self.reader.get_ref().unclosed_quote() {
            Some(q) if (start..end).contains(&q.byte) => Err(TableError {
                line: q.line,
                reason: format!(
                    "引号未闭合：第{}行{}列（第{}个字段）以引号开始的字段直到文件末尾都没有结束的引号 (unclosed quote: the quoted field starting on line {}, column {}, never ends)",
                    q.line,
                    column_letter(q.field - 1),
                    q.field,
                    q.line,
                    column_letter(q.field - 1),
                ),
            }),
            _ => Ok(()),
        }
    }
}

impl Iterator for CsvRows {
    type Item = Result<Row, TableError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(r) = self.buffered.pop_front() {
            return Some(Ok(r));
        }
        self.read().transpose()
    }
}

/// The Excel column letter of a 0-based index (0 → A, 26 → AA).
pub fn column_letter(mut i: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (i % 26) as u8);
        if i < 26 {
            break;
        }
        i = i / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(line: u64, cells: &[&str]) -> Row {
        Row {
            line,
            cells: cells.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn totals_labels_are_known_with_or_without_spaces() {
        for t in [
            "合计",
            "合 计",
            " 总计：",
            "其中：国有企业",
            "Total",
            "TOTAL 12",
            "小\u{3000}计",
        ] {
            assert!(is_totals_label(t), "{t}");
        }
        for t in ["", "合", "9133078152601815XT", "计合", "tota"] {
            assert!(!is_totals_label(t), "{t}");
        }
    }

    #[test]
    fn recycled_csv_rows_hold_only_their_own_cells() {
        let text = "a,b,c,d\n1,2\n\"x,y\",z,w\n";
        let mut csv = CsvRows::new(Box::new(std::io::Cursor::new(text.as_bytes().to_vec())));
        let mut got = Vec::new();
        while let Some(r) = csv.next() {
            let r = r.unwrap();
            got.push((r.line, r.cells.clone()));
            csv.recycle(r);
        }
        let cells = |c: &[&str]| c.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            got,
            vec![
                (1, cells(&["a", "b", "c", "d"])),
                (2, cells(&["1", "2"])),
                (3, cells(&["x,y", "z", "w"])),
            ]
        );
    }

    /// A replacement character (what decoding left of bytes it could not read) refuses its
    /// line, in any field and beside other non-ASCII text; plain ASCII lines and Chinese text
    /// pass.
    #[test]
    fn a_replacement_character_refuses_its_line() {
        let text = "a,b\n1,2\n名称,3\n4,x\u{FFFD}y\n";
        let mut csv = CsvRows::new(Box::new(std::io::Cursor::new(text.as_bytes().to_vec())));
        let mut lines = Vec::new();
        let err = loop {
            match csv.next() {
                Some(Ok(r)) => lines.push(r.line),
                Some(Err(e)) => break e,
                None => panic!("not refused: {lines:?}"),
            }
        };
        assert_eq!(lines, vec![1, 2, 3]);
        assert_eq!(err.line, 4);
        assert!(err.reason.contains("undecodable"), "{}", err.reason);
    }

    #[test]
    fn flattens_a_two_row_merged_header_under_a_title() {
        let rows = vec![
            row(1, &["东岭区规模以上工业企业主要经济指标（2026年10月）"]),
            row(
                2,
                &[
                    "填报单位：东岭区经济和信息化局",
                    "",
                    "",
                    "",
                    "",
                    "单位：千元、万千瓦时、人",
                ],
            ),
            row(
                3,
                &[
                    "统一社会信用代码",
                    "企业名称",
                    "工业总产值（当年价格）",
                    "",
                    "上年同期",
                    "",
                    "用电量（本月）",
                ],
            ),
            row(4, &["", "", "本月", "1-本月累计", "本月", "1-本月累计", ""]),
            row(5, &["9133078152601815XT", "东岭精密机械有限公司", "66461"]),
        ];
        let is_header = |c: &[String]| c.iter().any(|s| s.contains("信用代码"));
        let (pre, used) = locate_header(&rows, &is_header).unwrap();
        assert_eq!(used, 4);
        assert_eq!(pre.header_line, 4);
        assert_eq!(pre.title_period.unwrap().to_string(), "2026-10");
        assert_eq!(pre.title_money_unit, Some("千元"));
        assert_eq!(
            pre.header,
            [
                "统一社会信用代码",
                "企业名称",
                "工业总产值（当年价格）/本月",
                "工业总产值（当年价格）/1-本月累计",
                "上年同期/本月",
                "上年同期/1-本月累计",
                "用电量（本月）"
            ]
        );
    }

    #[test]
    fn a_single_header_row_is_taken_as_is() {
        let rows = vec![
            row(1, &["credit_code", "period", "output"]),
            row(2, &["9133078152601815XT", "2026-10", "1"]),
        ];
        let (pre, used) = locate_header(&rows, &|c: &[String]| c[0] == "credit_code").unwrap();
        assert_eq!((used, pre.header.len(), pre.title_period), (1, 3, None));
    }

    #[test]
    fn letters() {
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(25), "Z");
        assert_eq!(column_letter(26), "AA");
        assert_eq!(column_letter(27), "AB");
    }
}
