//! Where an export's tables go: CSV files, one a table (UTF-8 with a byte order mark so that
//! Excel reads the Chinese, CRLF line ends), or standard output. The XLSX workbook is in
//! [`super::xlsx`]. Files are written under a temporary name and renamed when complete, so a
//! failed export leaves no half file behind.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::cell::{Cell, Column, Table};

/// Receives the tables of an export, one after the other, row by row.
pub trait Sink {
    /// Starts a table; its rows follow.
    fn begin(&mut self, table: &Table) -> anyhow::Result<()>;
    fn row(&mut self, cells: &[Cell]) -> anyhow::Result<()>;
    /// Completes the output and returns the files written (none for standard output).
    fn finish(self: Box<Self>) -> anyhow::Result<Vec<PathBuf>>;
}

/// Where one CSV table goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dest {
    Stdout,
    File(PathBuf),
}

/// CSV output: each table named in `dests` to its file or to standard output; other tables
/// are left out. `stamp`, if any, is a line written above each table's header.
pub struct CsvSink {
    dests: Vec<(&'static str, Dest)>,
    stamp: Option<Vec<String>>,
    current: Option<OpenCsv>,
    /// Whether the rows of the current table are being left out.
    skipping: bool,
    written: Vec<PathBuf>,
}

struct OpenCsv {
    writer: csv::Writer<Box<dyn Write>>,
    /// The temporary file and its final name.
    file: Option<(PathBuf, PathBuf)>,
}

/// The temporary name a file is written under: `x.csv` → `.x.csv.part`.
pub fn part_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.part"))
}

impl CsvSink {
    pub fn new(dests: Vec<(&'static str, Dest)>, stamp: Option<Vec<String>>) -> CsvSink {
        CsvSink {
            dests,
            stamp,
            current: None,
            skipping: false,
            written: Vec::new(),
        }
    }

    fn close_current(&mut self) -> anyhow::Result<()> {
        let Some(mut open) = self.current.take() else {
            return Ok(());
        };
        open.writer.flush()?;
        let file = open.file.take();
        drop(open);
        if let Some((tmp, path)) = file {
            std::fs::rename(&tmp, &path)
                .with_context(|| format!("无法写入 (cannot write) {}", path.display()))?;
            self.written.push(path);
        }
        Ok(())
    }
}

impl Sink for CsvSink {
    fn begin(&mut self, table: &Table) -> anyhow::Result<()> {
        self.close_current()?;
        let Some((_, dest)) = self.dests.iter().find(|(t, _)| *t == table.file) else {
            self.skipping = true;
            return Ok(());
        };
        self.skipping = false;
        let (mut out, file): (Box<dyn Write>, _) = match dest {
            Dest::Stdout => (Box::new(BufWriter::new(std::io::stdout())), None),
            Dest::File(path) => {
                let tmp = part_path(path);
                let f = File::create(&tmp)
                    .with_context(|| format!("无法创建文件 (cannot create) {}", path.display()))?;
                (Box::new(BufWriter::new(f)), Some((tmp, path.clone())))
            }
        };
        // Kept before anything is written, so that a failure removes the temporary file.
        let bom = out.write_all("\u{feff}".as_bytes());
        let writer = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .flexible(true)
            .from_writer(out);
        let open = self.current.insert(OpenCsv { writer, file });
        // The byte order mark: without it Excel reads UTF-8 as the local code page (GBK).
        bom?;
        if let Some(stamp) = &self.stamp {
            open.writer.write_record(stamp)?;
        }
        open.writer
            .write_record(table.columns.iter().map(Column::heading))?;
        Ok(())
    }

    fn row(&mut self, cells: &[Cell]) -> anyhow::Result<()> {
        if self.skipping {
            return Ok(());
        }
        let Some(open) = self.current.as_mut() else {
            anyhow::bail!("a row before its table");
        };
        open.writer.write_record(cells.iter().map(Cell::csv))?;
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> anyhow::Result<Vec<PathBuf>> {
        self.close_current()?;
        Ok(std::mem::take(&mut self.written))
    }
}

impl Drop for CsvSink {
    fn drop(&mut self) {
        if let Some((tmp, _)) = self.current.as_ref().and_then(|o| o.file.as_ref()) {
            let _ = std::fs::remove_file(tmp);
        }
    }
}
