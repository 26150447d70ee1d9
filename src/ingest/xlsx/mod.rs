//! XLSX workbooks read as a stream of rows, within limits: the first worksheet is parsed on a
//! thread of its own, one `<row>` at a time, and handed over through a small channel. Nothing is
//! sized by what the file declares (its `<dimension>`, a cell's reference, a zip entry's size):
//! every part is read through a bound, and a file beyond a limit is rejected, naming it.

mod limits;
mod parts;
mod sheet;
mod zipxml;

use std::collections::VecDeque;
use std::io::{Read, Seek};
use std::sync::mpsc;

pub use limits::{EXCEL_MAX_COLUMNS, EXCEL_MAX_ROWS, XlsxLimits};

use crate::ingest::table::{Row, RowSource, TableError};
use zipxml::fault;

/// A cell whose value cannot be read: a formula saved without its result, an error value.
/// Its row is rejected when the column is one indmon reads; it is never taken as blank.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CellFault {
    /// 0-based column.
    pub column: usize,
    /// Its reference, e.g. `B2`.
    pub cell: String,
    /// What it holds instead of a value (`=50+50`, `#DIV/0!`).
    pub value: String,
    pub reason: String,
}

/// What the reading thread sends.
enum Msg {
    Row(Row, Vec<CellFault>),
    Failed(TableError),
    End,
}

/// Rows sent ahead of the importing side at most.
const AHEAD: usize = 256;

/// The rows of the first worksheet of a workbook, streamed.
pub struct XlsxRows {
    rx: mpsc::Receiver<Msg>,
    buffered: VecDeque<(Row, Vec<CellFault>)>,
    /// The faults of the row returned last.
    faults: Vec<CellFault>,
    finished: bool,
}

impl XlsxRows {
    /// Starts reading a workbook (a file or bytes in memory) within `limits`.
    pub fn open<R: Read + Seek + Send + 'static>(
        reader: R,
        limits: XlsxLimits,
    ) -> Result<XlsxRows, TableError> {
        let (tx, rx) = mpsc::sync_channel(AHEAD);
        std::thread::Builder::new()
            .name("xlsx-reader".into())
            .spawn(move || {
                let msg = match read_workbook(reader, &limits, &tx) {
                    Ok(()) => Msg::End,
                    Err(e) => Msg::Failed(e),
                };
                let _ = tx.send(msg);
            })
            .map_err(|e| fault(format!("无法启动读取线程 (cannot start the reader): {e}")))?;
        Ok(XlsxRows {
            rx,
            buffered: VecDeque::new(),
            faults: Vec::new(),
            finished: false,
        })
    }

    /// Reads the first rows (for header detection) and keeps them for `next`.
    pub fn peek(&mut self, n: usize) -> Result<Vec<Row>, TableError> {
        while self.buffered.len() < n {
            match self.receive()? {
                Some(r) => self.buffered.push_back(r),
                None => break,
            }
        }
        Ok(self.buffered.iter().map(|(r, _)| r.clone()).collect())
    }

    /// Drops `n` peeked rows (the title and header rows).
    pub fn drop_peeked(&mut self, n: usize) {
        for _ in 0..n {
            self.buffered.pop_front();
        }
    }

    fn receive(&mut self) -> Result<Option<(Row, Vec<CellFault>)>, TableError> {
        if self.finished {
            return Ok(None);
        }
        match self.rx.recv() {
            Ok(Msg::Row(r, f)) => Ok(Some((r, f))),
            Ok(Msg::End) => {
                self.finished = true;
                Ok(None)
            }
            Ok(Msg::Failed(e)) => {
                self.finished = true;
                Err(e)
            }
            // The thread ended without saying so: it failed; the rows are not all there.
            Err(_) => {
                self.finished = true;
                Err(fault(
                    "读取工作簿的线程意外结束，未读完 (the workbook reader stopped early)".into(),
                ))
            }
        }
    }
}

impl Iterator for XlsxRows {
    type Item = Result<Row, TableError>;

    fn next(&mut self) -> Option<Self::Item> {
        let next = match self.buffered.pop_front() {
            Some(r) => Ok(Some(r)),
            None => self.receive(),
        };
        match next {
            Ok(Some((row, faults))) => {
                self.faults = faults;
                Some(Ok(row))
            }
            Ok(None) => None,
            Err(e) => Some(Err(e)),
        }
    }
}

impl RowSource for XlsxRows {
    fn take_faults(&mut self) -> Vec<CellFault> {
        std::mem::take(&mut self.faults)
    }
}

/// Reads the workbook's first worksheet and sends its rows; returns when the sheet ends, the
/// importing side stops listening, or a limit is passed.
fn read_workbook<R: Read + Seek>(
    reader: R,
    limits: &XlsxLimits,
    tx: &mpsc::SyncSender<Msg>,
) -> Result<(), TableError> {
    let mut zip = zip::ZipArchive::new(reader).map_err(|e| {
        fault(format!(
            "无法打开 XLSX 工作簿（文件损坏或被截断？） (cannot open workbook): {e}"
        ))
    })?;
    let book = parts::read_book(&mut zip, limits)?;
    let strings = match &book.shared_strings {
        Some(p) => parts::read_shared_strings(&mut zip, p, limits)?,
        None => Default::default(),
    };
    let date_styles = match &book.styles {
        Some(p) => parts::read_date_styles(&mut zip, p, limits)?,
        None => Vec::new(),
    };
    let Some(xml) = zipxml::open_part(&mut zip, &book.sheet_path, limits)? else {
        return Err(fault(format!(
            "工作簿缺少工作表“{}”的 {} 部分（文件损坏？） (worksheet part missing)",
            book.sheet_name, book.sheet_path
        )));
    };
    let ctx = sheet::Context {
        sheet: book.sheet_name,
        strings,
        date_styles,
        is_1904: book.is_1904,
        limits: limits.clone(),
    };
    let mut rows = sheet::SheetReader::new(xml, ctx);
    while let Some((row, faults)) = rows.next_row()? {
        if tx.send(Msg::Row(row, faults)).is_err() {
            return Ok(());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
