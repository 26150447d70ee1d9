//! Ingestion: files (CSV, XLSX, JSON; UTF-8 or GBK) become validated records, stored in one
//! transaction per file. A file with rejected rows commits nothing unless the import is
//! `partial`; every reject is reported with its line, column and reason and kept in the
//! `reject` table with the run it came from.

pub mod decode;
mod enterprises;
pub mod error;
pub mod headers;
pub mod json;
pub mod lines;
mod power;
mod power_daily;
pub mod rows;
pub mod table;
pub mod xlsx;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::{BufReader, Read};
use std::panic::AssertUnwindSafe;
use std::path::Path;

use chrono::{DateTime, Utc};
use futures_util::FutureExt;
use sha2::{Digest, Sha256};

pub use crate::record::{Record, Reject, Submission};
pub use decode::TextEncoding;
pub use error::ImportError;
pub use headers::Kind;

use crate::amount::Scale;
use crate::causes::Causes;
use crate::indicator::N_FIELDS;
use crate::period::Period;
use crate::registry::UnitKind;
use crate::store::{RunEnd, Store};
use headers::Col;
use table::{Preamble, Row};

/// The `[import]` section of the configuration: how imported files are read.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ImportConfig {
    /// `[import.xlsx]`: how much of a workbook may be read.
    pub xlsx: xlsx::XlsxLimits,
}

/// How to read one file.
#[derive(Clone, Debug)]
pub struct ImportOptions {
    /// The kind of file; detected from the header when absent.
    pub kind: Option<Kind>,
    /// Commit the good rows of a file that has rejected ones.
    pub partial: bool,
    /// The period of files that carry none (an XLSX export whose title lacks it).
    pub period: Option<Period>,
    /// Who sent it: a configured source's name, or `cli`.
    pub source: String,
    /// Header text or column letter → target (from the source's config).
    pub column_map: BTreeMap<String, String>,
    /// Multiplier for money columns whose header names no unit; overrides a title's `单位：千元`.
    pub money_scale: Option<Scale>,
    pub encoding: TextEncoding,
    /// Indicator names beyond the built-in ones that targets and unit figures may name.
    pub extra_indicators: Vec<String>,
    pub now: DateTime<Utc>,
    /// A cursor of source `source` to store in the same transaction as the rows (a pulled
    /// page's `next_cursor`), so that it is stored exactly when they are.
    pub commit_cursor: Option<String>,
    /// Bytes of parsed submission rows held in memory before they are written out, sorted, to
    /// a temporary file, to be merged into the store in key order when the file ends (about 60
    /// a row, the table of the map holding them included; [`crate::store::BUFFER_LIMIT`] by
    /// default). Bounds an import's memory whatever
    /// the file's size.
    pub buffer_limit: usize,
    /// Enterprises a registry file may hold ([`MAX_ENTERPRISES`] by default): the import keeps
    /// each one's credit code to catch one given twice, so a file of endless rows is refused
    /// at the first row past the limit rather than let grow.
    pub max_enterprises: usize,
    /// How much of an XLSX workbook may be read (`[import.xlsx]`).
    pub xlsx_limits: xlsx::XlsxLimits,
}

impl ImportOptions {
    /// Defaults for a file imported by hand.
    pub fn new(now: DateTime<Utc>) -> ImportOptions {
        ImportOptions {
            kind: None,
            partial: false,
            period: None,
            source: "cli".into(),
            column_map: BTreeMap::new(),
            money_scale: None,
            encoding: TextEncoding::Auto,
            extra_indicators: Vec::new(),
            now,
            commit_cursor: None,
            buffer_limit: crate::store::BUFFER_LIMIT,
            max_enterprises: MAX_ENTERPRISES,
            xlsx_limits: xlsx::XlsxLimits::default(),
        }
    }
}

/// What happened to one file.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct ImportReport {
    pub file: String,
    pub kind: Option<&'static str>,
    pub run_id: i64,
    /// Whether anything was written.
    pub committed: bool,
    pub accepted: u64,
    pub revised: u64,
    pub unchanged: u64,
    pub rejected: u64,
    /// The first rejects (all of them are in the `reject` table).
    pub rejects: Vec<Reject>,
    /// Rows passed over on purpose: totals rows, notes under the table.
    pub skipped: Vec<String>,
    /// Columns the file has that indmon does not use.
    pub unused_columns: Vec<String>,
    pub encoding: String,
    pub sha256: String,
}

pub use crate::record::MAX_KEPT_REJECTS;
/// Enterprises a registry file may hold by default: four times the nation's above-scale
/// industrial enterprises (some 500,000), some 100 MiB of credit codes kept while it is read.
pub const MAX_ENTERPRISES: usize = 2_000_000;
/// Parsed rows handed to the importing side at a time.
const PARSE_BATCH: usize = 8_192;

/// Imports one file. `Ok` whether or not rows were rejected (see [`ImportReport::rejected`]);
/// `Err` when the database or the file system fails ([`ImportError::Store`]: try again) or the
/// reader failed on the content in a way it could not report as a reject
/// ([`ImportError::Content`]: refuse the file). No content makes it panic out of here.
pub async fn import_file(
    store: &Store,
    path: &Path,
    opts: &ImportOptions,
) -> Result<ImportReport, ImportError> {
    import(store, path.display().to_string(), Input::File(path), opts).await
}

/// Imports content held in memory (a pulled HTTP body) as [`import_file`] imports a file;
/// `name` is what the run records as its file (an address without credentials). The format is
/// sniffed from the bytes when not given.
pub async fn import_bytes(
    store: &Store,
    name: &str,
    bytes: Vec<u8>,
    format: Option<Format>,
    opts: &ImportOptions,
) -> Result<ImportReport, ImportError> {
    import(store, name.to_string(), Input::Bytes(bytes, format), opts).await
}

/// Where the content of an import comes from.
enum Input<'a> {
    File(&'a Path),
    Bytes(Vec<u8>, Option<Format>),
}

/// Rows of an import after which it gives back the memory it took ([`Store::release_memory`]).
const RELEASE_MEMORY_AFTER: u64 = 10_000;

async fn import(
    store: &Store,
    name: String,
    input: Input<'_>,
    opts: &ImportOptions,
) -> Result<ImportReport, ImportError> {
    let now_ms = opts.now.timestamp_millis();
    let mut report = ImportReport {
        file: name.clone(),
        ..ImportReport::default()
    };
    let run_id = store
        .begin_run(
            &opts.source,
            &name,
            "",
            opts.kind.map_or("unknown", Kind::as_str),
            now_ms,
        )
        .await
        .map_err(ImportError::Store)?;
    report.run_id = run_id;
    // A reader that panics on some content must not take the process with it: the panic is
    // the content's fault, and the file is refused like any other unreadable one. (A
    // transaction open at that moment is rolled back as it is dropped.)
    let result = match AssertUnwindSafe(read_and_store(store, input, opts, &mut report))
        .catch_unwind()
        .await
    {
        Ok(r) => r.map_err(ImportError::classify),
        Err(payload) => Err(ImportError::panicked(&*payload)),
    };
    // The rows held, the runs' buffers and SQLite's cache filled by the writes are no use to
    // the next job: a daemon that imported a large file once would otherwise keep them. Not
    // after each small one (a pulled page), whose next would only take them again.
    if report.accepted + report.revised + report.unchanged + report.rejected >= RELEASE_MEMORY_AFTER
    {
        store.release_memory().await;
    }
    if result.is_ok() && report.committed {
        // The run was closed in the transaction that committed the data.
        return Ok(report);
    }
    if let Err(ImportError::Content { reason }) = &result {
        report.committed = false;
        file_reject(&mut report, 0, reason.clone());
    }
    let (status, message) = match &result {
        Err(ImportError::Content { reason }) => ("rejected", reason.clone()),
        Err(ImportError::Store(e)) => ("failed", Causes(e).to_string()),
        Ok(()) => ("rejected", summary_line(&report)),
    };
    let end = RunEnd {
        status,
        message,
        ..run_end(&report)
    };
    store
        .finish_run(run_id, &end)
        .await
        .map_err(ImportError::Store)?;
    result.map(|()| report)
}

/// The end of `report`'s run as it stands: `ok`, or `partial` with rejects, once committed.
fn run_end(report: &ImportReport) -> RunEnd<'_> {
    RunEnd {
        finished_ms: Utc::now().timestamp_millis(),
        status: if report.rejected > 0 { "partial" } else { "ok" },
        kind: report.kind.unwrap_or("unknown"),
        sha256: &report.sha256,
        accepted: report.accepted,
        revised: report.revised,
        unchanged: report.unchanged,
        rejected: report.rejected,
        message: summary_line(report),
        rejects: &report.rejects,
    }
}

/// The end of `report`'s run once the store has applied its rows with counts `a` (a registry,
/// mapping, power-daily or 旬报 import).
fn applied_end(report: &ImportReport, a: crate::store::RegistryApplied) -> RunEnd<'_> {
    let mut end = run_end(report);
    (end.accepted, end.revised, end.unchanged) = (a.accepted, a.revised, a.unchanged);
    end.message = summary(a.accepted, a.revised, a.unchanged, end.rejected, true);
    end
}

/// The source's cursor to store with the rows, when the import is a pulled page.
fn commit_cursor(opts: &ImportOptions) -> Option<(&str, &str)> {
    opts.commit_cursor
        .as_deref()
        .map(|c| (opts.source.as_str(), c))
}

/// The SHA-256 of what was read so far, in hex.
fn digest(hash: &Hash) -> String {
    hash.lock()
        .map(|h| format!("{:x}", h.clone().finalize()))
        .unwrap_or_default()
}

/// The hash a file's bytes are fed to as they are read.
type Hash = std::sync::Arc<std::sync::Mutex<Sha256>>;

/// One line in Chinese and English saying what an import did.
pub fn summary_line(r: &ImportReport) -> String {
    summary(r.accepted, r.revised, r.unchanged, r.rejected, r.committed)
}

/// [`summary_line`] of counts.
fn summary(accepted: u64, revised: u64, unchanged: u64, rejected: u64, committed: bool) -> String {
    let mut s = format!(
        "新增 {accepted} 行，修订 {revised} 行，未变 {unchanged} 行，拒收 {rejected} 行 (accepted {accepted}, revised {revised}, unchanged {unchanged}, rejected {rejected})"
    );
    if rejected > 0 && !committed {
        s.push_str("；文件有拒收行，未写入任何数据 (nothing committed)");
    } else if committed && accepted == 0 && revised == 0 && rejected == 0 {
        s.push_str(
            "；与已存数据完全相同，无任何更改 (identical to what is stored; nothing changed)",
        );
    }
    s
}

/// Rejects of the whole file (unreadable, no header), at a line.
fn file_reject(report: &mut ImportReport, line: u64, reason: impl Into<String>) {
    report.rejected += 1;
    let r = Reject {
        line,
        column: String::new(),
        field: String::new(),
        value: String::new(),
        reason: reason.into(),
    };
    // Kept past MAX_KEPT_REJECTS: it is why the whole file was refused, and there are few.
    report.rejects.push(r.bounded());
}

fn push_rejects(report: &mut ImportReport, rejects: impl IntoIterator<Item = Reject>, rows: u64) {
    report.rejected += rows;
    for r in rejects {
        keep_reject(&mut report.rejects, r);
    }
}

/// The one way a reject is kept: up to [`MAX_KEPT_REJECTS`] a file, its long values cut
/// ([`Reject::bounded`]).
fn keep_reject(kept: &mut Vec<Reject>, r: Reject) {
    if kept.len() < MAX_KEPT_REJECTS {
        kept.push(r.bounded());
    }
}

/// A reader that hashes what passes through it, so a file is read once.
struct Hashing<R> {
    inner: R,
    hash: std::sync::Arc<std::sync::Mutex<Sha256>>,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Ok(mut h) = self.hash.lock() {
            h.update(&buf[..n]);
        }
        Ok(n)
    }
}

/// The shape of a file's bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
    Json,
}

impl Format {
    /// From a file extension or a source's `format` (`csv`, `xlsx`, `json`).
    pub fn from_name(name: &str) -> Option<Format> {
        match name.to_ascii_lowercase().as_str() {
            "xlsx" | "xlsm" => Some(Format::Xlsx),
            "json" => Some(Format::Json),
            "csv" | "txt" | "tsv" => Some(Format::Csv),
            _ => None,
        }
    }

    /// From the first bytes: a ZIP is a workbook, a brace or bracket JSON, anything else CSV.
    pub fn sniff(head: &[u8]) -> Format {
        let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
        match head
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .map(|i| &head[i..])
        {
            Some([b'P', b'K', 3, 4, ..]) => Format::Xlsx,
            Some([b'{', ..] | [b'[', ..]) => Format::Json,
            _ => Format::Csv,
        }
    }
}

fn format_of(path: &Path) -> std::io::Result<Format> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    match Format::from_name(ext) {
        Some(f) => Ok(f),
        None => {
            let mut head = [0u8; 64];
            let n = File::open(path)?.read(&mut head)?;
            Ok(Format::sniff(&head[..n]))
        }
    }
}

/// Whether a row is a header of the wanted kind (or of any kind).
fn header_test(kind: Option<Kind>) -> impl Fn(&[String]) -> bool {
    move |cells: &[String]| match (kind, headers::detect(cells)) {
        (_, None) => false,
        (None, Some(_)) => true,
        (Some(k), Some(d)) => k == d || (k == Kind::Enterprises && d == Kind::Submissions),
    }
}

/// Hashes a workbook and starts reading it as a stream of rows. The outer error is the file
/// system's; the inner one a workbook that cannot be read.
fn open_xlsx(
    input: Input<'_>,
    opts: &ImportOptions,
    hash: &std::sync::Mutex<Sha256>,
) -> anyhow::Result<Result<xlsx::XlsxRows, table::TableError>> {
    let mut hash = hash.lock().map_err(|_| anyhow::anyhow!("hash lock"))?;
    let limits = opts.xlsx_limits.clone();
    Ok(match input {
        Input::File(path) => {
            let open = || File::open(path);
            let cannot = |e: std::io::Error| {
                anyhow::anyhow!("无法读取文件 {} (cannot read file): {e}", path.display())
            };
            let mut file = open().map_err(cannot)?;
            std::io::copy(&mut file, &mut *hash).map_err(cannot)?;
            xlsx::XlsxRows::open(open().map_err(cannot)?, limits)
        }
        Input::Bytes(bytes, _) => {
            hash.update(&bytes);
            xlsx::XlsxRows::open(std::io::Cursor::new(bytes), limits)
        }
    })
}

async fn read_and_store(
    store: &Store,
    input: Input<'_>,
    opts: &ImportOptions,
    report: &mut ImportReport,
) -> anyhow::Result<()> {
    let format = match &input {
        Input::File(path) => format_of(path).map_err(|e| {
            anyhow::anyhow!("无法读取文件 {} (cannot read file): {e}", path.display())
        })?,
        Input::Bytes(bytes, format) => format.unwrap_or_else(|| Format::sniff(bytes)),
    };
    let input_bytes = match &input {
        Input::File(path) => std::fs::metadata(path).map_or(0, |m| m.len()),
        Input::Bytes(bytes, _) => bytes.len() as u64,
    };
    let is_header = header_test(opts.kind);
    let hash: Hash = std::sync::Arc::new(std::sync::Mutex::new(Sha256::new()));
    // Every format becomes a preamble and an iterator of rows.
    let (pre, rows): (Preamble, Box<dyn table::RowSource>) = match format {
        Format::Csv => {
            let inner: Box<dyn Read + Send> = match input {
                Input::File(path) => {
                    let file = File::open(path).map_err(|e| {
                        anyhow::anyhow!("无法打开文件 {} (cannot open file): {e}", path.display())
                    })?;
                    Box::new(BufReader::with_capacity(1 << 16, file))
                }
                Input::Bytes(bytes, _) => Box::new(std::io::Cursor::new(bytes)),
            };
            let hashing = Hashing {
                inner,
                hash: hash.clone(),
            };
            let decoded = match decode::decode(hashing, opts.encoding) {
                Ok(d) => d,
                Err(decode::DecodeError::Unrecognised { line }) => {
                    file_reject(
                        report,
                        line as u64,
                        decode::DecodeError::Unrecognised { line }.to_string(),
                    );
                    return Ok(());
                }
                Err(e) => return Err(e.into()),
            };
            report.encoding = decoded.encoding.name().to_string();
            let mut csv = table::CsvRows::new(decoded.reader);
            let head = match csv.peek(40) {
                Ok(h) => h,
                Err(e) => {
                    file_reject(report, e.line, e.reason);
                    return Ok(());
                }
            };
            let Some((pre, used)) = table::locate_header(&head, &is_header) else {
                file_reject(report, 1, no_header_reason(opts.kind));
                return Ok(());
            };
            csv.drop_peeked(used);
            (pre, Box::new(csv))
        }
        Format::Xlsx => {
            report.encoding = "xlsx".into();
            let mut rows = match open_xlsx(input, opts, &hash)? {
                Ok(rows) => rows,
                Err(e) => {
                    file_reject(report, e.line, e.reason);
                    return Ok(());
                }
            };
            let head = match rows.peek(40) {
                Ok(h) => h,
                Err(e) => {
                    file_reject(report, e.line, e.reason);
                    return Ok(());
                }
            };
            let Some((pre, used)) = table::locate_header(&head, &is_header) else {
                file_reject(report, 1, no_header_reason(opts.kind));
                return Ok(());
            };
            rows.drop_peeked(used);
            (pre, Box::new(rows))
        }
        Format::Json => {
            let bytes = match input {
                Input::File(path) => std::fs::read(path)?,
                Input::Bytes(bytes, _) => bytes,
            };
            hash.lock()
                .map_err(|_| anyhow::anyhow!("hash lock"))?
                .update(&bytes);
            report.encoding = "UTF-8".into();
            match json::to_table(&bytes) {
                Ok((header, rows)) => {
                    let pre = Preamble {
                        header,
                        ..Preamble::default()
                    };
                    (pre, Box::new(table::Rows(rows.into_iter().map(Ok))))
                }
                Err(e) => {
                    file_reject(report, e.line, e.reason);
                    return Ok(());
                }
            }
        }
    };
    let Some(kind) = opts.kind.or_else(|| headers::detect(&pre.header)) else {
        file_reject(report, pre.header_line, no_header_reason(None));
        return Ok(());
    };
    report.kind = Some(kind.as_str());
    let cols = match headers::recognise(kind, &pre.header, &opts.column_map) {
        Ok(c) => c,
        Err(errors) => {
            for e in errors {
                file_reject(report, pre.header_line, e);
            }
            return Ok(());
        }
    };
    report.unused_columns = rows::unused_columns(&cols, &pre.header);
    let money_scale = opts.money_scale.unwrap_or(match pre.title_money_unit {
        Some("千元") => Scale::THOUSAND_TO_TEN_THOUSAND,
        Some("元") => Scale::ONE_TO_TEN_THOUSAND,
        _ => Scale::ONE,
    });
    let ctx = rows::RowContext {
        cols: &cols,
        header: &pre.header,
        money_scale,
        period: opts.period.or(pre.title_period),
        open_period: Period::containing(opts.now),
    };
    let key_col = cols.iter().position(|c| *c == Col::Key("credit_code"));
    // Project files have totals rows too; their ids are no credit codes, so notes below the
    // table are not told apart from rows by the key's shape.
    let totals_col = key_col.or_else(|| cols.iter().position(|c| *c == Col::Key("project_id")));
    // A CSV row with fewer fields than its header is a cut-off line (a truncated file); XLSX and
    // JSON rows are aligned to the header by construction.
    let min_fields = matches!(format, Format::Csv).then_some(pre.header.len());
    let mut rows = DataRows {
        inner: rows,
        key_col: totals_col,
        code_keys: key_col.is_some(),
        min_fields,
        after_table: false,
        read_columns: ctx.read_columns(),
    };

    if matches!(
        kind,
        Kind::PowerAccounts | Kind::PowerDaily | Kind::XunReports
    ) {
        let line = pre.header_line;
        power::store_power(store, kind, &ctx, line, &mut rows, opts, &hash, report).await?;
    } else if kind == Kind::Submissions {
        store_submissions(store, &ctx, rows, input_bytes, opts, &hash, report).await?;
    } else if kind == Kind::Enterprises {
        enterprises::store_enterprises(store, &ctx, &mut rows, opts, &hash, report).await?;
    } else {
        store_registry(store, kind, &ctx, &mut rows, opts, &hash, report).await?;
    }
    report.sha256 = digest(&hash);
    Ok(())
}

fn no_header_reason(kind: Option<Kind>) -> String {
    match kind {
        Some(k) => format!("前40行中找不到{}的表头（需含必需列） (no {} header found in the first rows)", k.zh(), k.as_str()),
        None => "前40行中找不到可识别的表头：应含“统一社会信用代码”等列 (no recognisable header; is the encoding right?)".into(),
    }
}

/// Data rows after the header: blank rows are passed over; a totals row (合计) and, after a
/// totals or blank row, notes whose key cell is no credit code, are reported as skipped.
struct DataRows {
    inner: Box<dyn table::RowSource>,
    key_col: Option<usize>,
    /// Whether the key column holds credit codes (then a note is a row whose key is none).
    code_keys: bool,
    min_fields: Option<usize>,
    after_table: bool,
    /// For each column indmon reads, its `letter header` and field: a cell there that holds
    /// no value ([`xlsx::CellFault`]) rejects the row.
    read_columns: Vec<Option<(String, &'static str)>>,
}

enum Next {
    Row(Row),
    Rejected(Reject),
    /// A row with cells whose values cannot be read (formulas saved without their results).
    Unreadable(Vec<Reject>),
    Skipped(String),
    End,
}

impl DataRows {
    fn next_row(&mut self) -> Result<Next, table::TableError> {
        loop {
            let Some(row) = self.inner.next().transpose()? else {
                return Ok(Next::End);
            };
            // Cells without a value matter only in the columns indmon reads.
            let mut faults = self.inner.take_faults();
            faults.retain(|f| self.read_columns.get(f.column).is_some_and(Option::is_some));
            if faults.is_empty() && row.cells.iter().all(|c| c.trim().is_empty()) {
                self.after_table = true;
                continue;
            }
            if let Some(n) = self.min_fields.filter(|n| row.cells.len() < *n) {
                return Ok(Next::Rejected(Reject {
                    line: row.line,
                    column: String::new(),
                    field: String::new(),
                    value: String::new(),
                    reason: format!(
                        "只有{}个字段，表头有{n}个：文件可能被截断 (row has fewer fields than the header; truncated file?)",
                        row.cells.len()
                    ),
                }));
            }
            let Some(k) = self.key_col else {
                return Ok(self.unless_faulty(row, &faults));
            };
            let key = row.cells.get(k).map(|s| s.trim()).unwrap_or("");
            let first = row
                .cells
                .iter()
                .map(|c| c.trim())
                .find(|c| !c.is_empty())
                .unwrap_or("");
            if table::is_totals_label(key) || (key.is_empty() && table::is_totals_label(first)) {
                self.after_table = true;
                return Ok(Next::Skipped(format!(
                    "第{}行 合计行 (totals row)",
                    row.line
                )));
            }
            if self.code_keys && self.after_table && !crate::credit_code::looks_like_code(key) {
                let text: String = first.chars().take(30).collect();
                return Ok(Next::Skipped(format!(
                    "第{}行 表尾说明 (note below the table)：{text}",
                    row.line
                )));
            }
            return Ok(self.unless_faulty(row, &faults));
        }
    }

    /// The row, or its rejects when a column indmon reads holds no readable value.
    fn unless_faulty(&self, row: Row, faults: &[xlsx::CellFault]) -> Next {
        let rejects: Vec<Reject> = faults
            .iter()
            .filter_map(|f| {
                let (column, field) = self.read_columns.get(f.column)?.as_ref()?;
                Some(Reject {
                    line: row.line,
                    column: column.clone(),
                    field: field.to_string(),
                    value: f.value.clone(),
                    reason: f.reason.clone(),
                })
            })
            .collect();
        if rejects.is_empty() {
            Next::Row(row)
        } else {
            Next::Unreadable(rejects)
        }
    }
}

/// What the parsing side of a submissions import found besides its rows.
#[derive(Default)]
struct Parsed {
    skipped: Vec<String>,
    /// Rows rejected, and the first [`MAX_KEPT_REJECTS`] of their rejects.
    rejected: u64,
    rejects: Vec<Reject>,
    /// A malformed or truncated file: `(line, reason)`.
    broken: Option<(u64, String)>,
}

impl Parsed {
    fn reject(&mut self, rejects: impl IntoIterator<Item = Reject>) {
        self.rejected += 1;
        for r in rejects {
            keep_reject(&mut self.rejects, r);
        }
    }
}

/// An owned copy of a [`rows::RowContext`], to move to the parsing thread.
struct OwnedContext {
    cols: Vec<Col>,
    header: Vec<String>,
    money_scale: Scale,
    period: Option<Period>,
    open_period: Period,
}

impl OwnedContext {
    fn of(ctx: &rows::RowContext<'_>) -> OwnedContext {
        OwnedContext {
            cols: ctx.cols.to_vec(),
            header: ctx.header.to_vec(),
            money_scale: ctx.money_scale,
            period: ctx.period,
            open_period: ctx.open_period,
        }
    }

    fn get(&self) -> rows::RowContext<'_> {
        rows::RowContext {
            cols: &self.cols,
            header: &self.header,
            money_scale: self.money_scale,
            period: self.period,
            open_period: self.open_period,
        }
    }
}

/// Parses the data rows on a blocking thread and sends them in batches, so that parsing and
/// the database (SQLite's worker thread, PostgreSQL's COPY) run side by side. The channel holds
/// a few batches only: memory does not grow with the file.
fn parse_submissions(
    mut rows: DataRows,
    owned: OwnedContext,
    file: String,
    tx: tokio::sync::mpsc::Sender<Vec<Submission>>,
) -> Parsed {
    let ctx = owned.get();
    let started = std::time::Instant::now();
    let mut out = Parsed::default();
    let mut batch = Vec::with_capacity(PARSE_BATCH);
    let mut seen = 0u64;
    loop {
        let next = match rows.next_row() {
            Ok(n) => n,
            Err(e) => {
                out.broken = Some((e.line, e.reason));
                return out;
            }
        };
        match next {
            Next::End => break,
            Next::Skipped(s) => out.skipped.push(s),
            Next::Rejected(r) => out.reject([r]),
            Next::Unreadable(r) => out.reject(r),
            Next::Row(row) => {
                let parsed = ctx.parse(Kind::Submissions, &row);
                rows.inner.recycle(row);
                match parsed {
                    Ok(Record::Submission(s)) => {
                        batch.push(s);
                        if batch.len() == PARSE_BATCH {
                            let full =
                                std::mem::replace(&mut batch, Vec::with_capacity(PARSE_BATCH));
                            if tx.blocking_send(full).is_err() {
                                // The importing side gave up (a database error): stop reading.
                                return out;
                            }
                        }
                    }
                    Ok(_) => {}
                    Err(rejects) => out.reject(rejects),
                }
            }
        }
        seen += 1;
        if seen.is_multiple_of(500_000) {
            tracing::info!(file = %file, rows = seen, "导入进行中 (importing)");
        }
    }
    if !batch.is_empty() {
        let _ = tx.blocking_send(batch);
    }
    tracing::debug!(
        file = %file,
        rows = seen,
        ms = started.elapsed().as_millis() as u64,
        "rows parsed"
    );
    out
}

/// Imports the rows of a submissions file of `input_bytes` (0 when not known).
async fn store_submissions(
    store: &Store,
    ctx: &rows::RowContext<'_>,
    rows: DataRows,
    input_bytes: u64,
    opts: &ImportOptions,
    hash: &Hash,
    report: &mut ImportReport,
) -> anyhow::Result<()> {
    let mut present = [false; N_FIELDS];
    for c in ctx.cols {
        if let Col::Field { index, .. } = c {
            present[*index] = true;
        }
    }
    let now_ms = opts.now.timestamp_millis();
    let mut import = store
        .begin_submissions(
            present,
            report.run_id,
            now_ms,
            opts.partial,
            opts.buffer_limit,
            input_bytes,
        )
        .await?;
    let (tx, mut rx) = tokio::sync::mpsc::channel(4);
    let parser = tokio::task::spawn_blocking({
        let (owned, file) = (OwnedContext::of(ctx), report.file.clone());
        move || parse_submissions(rows, owned, file, tx)
    });
    while let Some(batch) = rx.recv().await {
        if let Err(e) = import.add(&batch).await {
            drop(rx);
            let _ = parser.await;
            return Err(e);
        }
    }
    let parsed = match parser.await {
        Ok(p) => p,
        // The reader panicked on the content: refuse the file (the transaction rolls back).
        Err(e) if e.is_panic() => return Err(ImportError::panicked(&*e.into_panic()).into()),
        Err(e) => anyhow::bail!("解析线程失败 (the parsing thread failed): {e}"),
    };
    report.skipped.extend(parsed.skipped);
    push_rejects(report, parsed.rejects, parsed.rejected);
    if let Some((line, reason)) = parsed.broken {
        // A malformed or truncated file: nothing of it is committed, whatever `partial` says.
        file_reject(report, line, reason);
        import.rollback().await?;
        return Ok(());
    }
    let set_rejects = import.finish_rows(report.rejected).await?;
    push_rejects(report, set_rejects.kept, set_rejects.count);
    report.rejects.sort_by_key(|r| r.line);
    if report.rejected > 0 && !opts.partial {
        import.rollback().await?;
        return Ok(());
    }
    if let Some(cursor) = &opts.commit_cursor {
        import.save_cursor(&opts.source, cursor, now_ms).await?;
    }
    // The file has been read to its end: its hash is whole, and the run closes with the rows.
    report.sha256 = digest(hash);
    let out = import.outcome();
    (report.accepted, report.revised, report.unchanged) =
        (out.accepted, out.revised, out.unchanged);
    report.committed = true;
    let committed = import.commit(&run_end(report)).await;
    if let Err(e) = committed {
        report.committed = false;
        (report.accepted, report.revised, report.unchanged) = (0, 0, 0);
        return Err(e);
    }
    if out.accepted + out.revised >= crate::store::REFRESH_STATISTICS_AFTER {
        store.refresh_statistics().await;
    }
    Ok(())
}

async fn store_registry(
    store: &Store,
    kind: Kind,
    ctx: &rows::RowContext<'_>,
    rows: &mut DataRows,
    opts: &ImportOptions,
    hash: &Hash,
    report: &mut ImportReport,
) -> anyhow::Result<()> {
    let mut records = Vec::new();
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
            Ok(Next::Row(row)) => match ctx.parse(kind, &row) {
                Ok(r) => records.push((row.line, r)),
                Err(rejects) => push_rejects(report, rejects, 1),
            },
        }
    }
    let units = unit_kinds(store).await?;
    let projects: HashSet<String> = if kind == Kind::ProjectProgress {
        store.project_ids().await?.into_iter().collect()
    } else {
        HashSet::new()
    };
    let known = Known {
        units: &units,
        projects: &projects,
        extra_indicators: &opts.extra_indicators,
    };
    let (kept, mut rejects) = check_references(records, &known);
    for r in &mut rejects {
        if r.column.is_empty() {
            r.column = ctx.column_of(&r.field).unwrap_or_default();
        }
    }
    let n = rejects.len() as u64;
    push_rejects(report, rejects, n);
    report.rejects.sort_by_key(|r| r.line);
    if report.rejected > 0 && !opts.partial {
        return Ok(());
    }
    report.sha256 = digest(hash);
    let cursor = commit_cursor(opts);
    let shown = &*report;
    let applied = store
        .apply_registry(
            report.run_id,
            &kept,
            opts.now.timestamp_millis(),
            cursor,
            |a| applied_end(shown, a),
        )
        .await?;
    report.committed = true;
    report.accepted = applied.accepted;
    report.revised = applied.revised;
    report.unchanged = applied.unchanged;
    Ok(())
}

/// The stored units' kinds, by code: what registry rows may refer to.
async fn unit_kinds(store: &Store) -> anyhow::Result<HashMap<String, UnitKind>> {
    Ok(store
        .units()
        .await?
        .into_iter()
        .map(|u| (u.code, u.kind))
        .collect())
}

/// Whether unit `code` exists and is of one of the kinds `ok`; else why not.
fn unit_is(units: &HashMap<String, UnitKind>, code: &str, ok: &[UnitKind]) -> Result<(), String> {
    match units.get(code) {
        None => Err(format!("单位“{code}”不存在，请先导入单位 (unknown unit)")),
        Some(k) if !ok.contains(k) => Err(format!(
            "单位“{code}”是{}，此处应为{} (wrong kind of unit)",
            k.as_str(),
            ok.iter().map(|k| k.as_str()).collect::<Vec<_>>().join("/")
        )),
        Some(_) => Ok(()),
    }
}

/// What registry rows may refer to: the stored units, the stored projects and the configured
/// indicators.
pub struct Known<'a> {
    pub units: &'a HashMap<String, UnitKind>,
    pub projects: &'a HashSet<String>,
    pub extra_indicators: &'a [String],
}

/// Checks what registry rows refer to (units that exist and are of the right kind, known
/// indicators, registered projects) and that no key is given twice. Returns the good records
/// and the rejects.
pub fn check_references(
    records: Vec<(u64, Record)>,
    known: &Known<'_>,
) -> (Vec<Record>, Vec<Reject>) {
    let extra_indicators = known.extra_indicators;
    let mut units = known.units.clone();
    for (_, r) in &records {
        if let Record::Unit(u) = r {
            units.insert(u.code.clone(), u.kind);
        }
    }
    let known_indicator = |name: &str| {
        crate::indicator::is_builtin(name) || extra_indicators.iter().any(|e| e == name)
    };
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut kept = Vec::with_capacity(records.len());
    let mut rejects = Vec::new();
    for (line, r) in records {
        let reject =
            |field: &str, value: &str, reason: String| Reject::of_field(line, field, value, reason);
        let unit_is = |code: &str, ok: &[UnitKind]| unit_is(&units, code, ok);
        let (key, problem) = match &r {
            Record::Unit(u) => (
                u.code.clone(),
                u.parent.as_deref().and_then(|p| {
                    unit_is(p, &[UnitKind::City, UnitKind::District])
                        .err()
                        .map(|e| reject("parent", p, e))
                }),
            ),
            Record::Enterprise(e) => (
                e.credit_code.to_string(),
                enterprises::enterprise_problem(&units, e).map(|(f, v, m)| reject(f, &v, m)),
            ),
            Record::Target(t) => (
                format!(
                    "{}/{}/{}/{}",
                    t.year,
                    t.unit_code,
                    t.indicator,
                    t.kind.as_str()
                ),
                unit_is(
                    &t.unit_code,
                    &[UnitKind::City, UnitKind::District, UnitKind::Zone],
                )
                .err()
                .map(|m| reject("unit_code", &t.unit_code, m))
                .or_else(|| {
                    (!known_indicator(&t.indicator)).then(|| {
                        reject(
                            "indicator",
                            &t.indicator,
                            "未知指标 (unknown indicator)".into(),
                        )
                    })
                }),
            ),
            Record::UnitIndicator {
                unit_code,
                period,
                indicator,
                ..
            } => (
                format!("{unit_code}/{period}/{indicator}"),
                unit_is(
                    unit_code,
                    &[UnitKind::City, UnitKind::District, UnitKind::Zone],
                )
                .err()
                .map(|m| reject("unit_code", unit_code, m))
                .or_else(|| {
                    (!known_indicator(indicator)).then(|| {
                        reject(
                            "indicator",
                            indicator,
                            "未知指标 (unknown indicator)".into(),
                        )
                    })
                }),
            ),
            Record::Project(pr) => (
                pr.id.clone(),
                unit_is(&pr.unit_code, &[UnitKind::District, UnitKind::Zone])
                    .err()
                    .map(|m| reject("unit_code", &pr.unit_code, m)),
            ),
            Record::ProjectProgress(g) => (
                format!("{}/{}", g.project_id, g.period),
                (!known.projects.contains(&g.project_id)).then(|| {
                    reject(
                        "project_id",
                        &g.project_id,
                        "项目不在重点项目名录中，请先导入项目名录 (project not registered)".into(),
                    )
                }),
            ),
            Record::Submission(_) => (String::new(), None),
        };
        if let Some(p) = problem {
            rejects.push(p);
            continue;
        }
        if let Some(first) = seen.get(&key) {
            rejects.push(reject(
                "",
                &key,
                format!("与第{first}行重复 (duplicate of line {first})"),
            ));
            continue;
        }
        seen.insert(key, line);
        kept.push(r);
    }
    (kept, rejects)
}
