//! Submission files: one CSV per month (the shape of DESIGN.md "Inputs") and the same rows as
//! pages of the HTTP source's JSON, written row by row so that memory stays bounded.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::enterprise::Figures;
use crate::amount::Amount;
use crate::credit_code::CreditCode;
use crate::period::Period;

/// The submission columns, in file order.
pub const HEADER: &str = "credit_code,period,output,output_ytd,sales_ytd,revenue_ytd,profit_ytd,electricity,employees,export_ytd";
const FIELDS: [&str; 8] = [
    "output",
    "output_ytd",
    "sales_ytd",
    "revenue_ytd",
    "profit_ytd",
    "electricity",
    "employees",
    "export_ytd",
];

fn values(f: &Figures) -> [Amount; 8] {
    [
        f.output,
        f.output_ytd,
        f.sales_ytd,
        f.revenue_ytd,
        f.profit_ytd,
        f.electricity,
        f.employees,
        f.export_ytd,
    ]
    .map(Amount)
}

/// One submission file (`submissions/<stem>.csv`) and, optionally, its JSON pages
/// (`http/<stem>/page-0001.json`, …). A page is written only when the next row arrives or at
/// the end, so the last page can say `"has_more": false`.
pub struct SubmissionFile {
    stem: String,
    csv: BufWriter<File>,
    http: Option<PathBuf>,
    page_size: usize,
    page: Vec<String>,
    pages: usize,
    pub rows: u64,
}

impl SubmissionFile {
    pub fn create(
        out: &Path,
        stem: &str,
        http: bool,
        page_size: usize,
    ) -> anyhow::Result<SubmissionFile> {
        let mut csv = BufWriter::with_capacity(
            1 << 16,
            File::create(out.join("submissions").join(format!("{stem}.csv")))?,
        );
        writeln!(csv, "{HEADER}")?;
        let http = if http {
            let d = out.join("http").join(stem);
            std::fs::create_dir_all(&d)?;
            Some(d)
        } else {
            None
        };
        Ok(SubmissionFile {
            stem: stem.to_string(),
            csv,
            http,
            page_size: page_size.max(1),
            page: Vec::new(),
            pages: 0,
            rows: 0,
        })
    }

    pub fn row(&mut self, code: &CreditCode, period: Period, f: &Figures) -> anyhow::Result<()> {
        use std::fmt::Write as _;
        let v = values(f);
        let mut line = String::with_capacity(128);
        write!(line, "{code},{period}")?;
        for x in &v {
            write!(line, ",{x}")?;
        }
        line.push('\n');
        self.csv.write_all(line.as_bytes())?;
        self.rows += 1;
        if self.http.is_some() {
            if self.page.len() == self.page_size {
                self.flush_page(true)?;
            }
            line.clear();
            write!(line, "{{\"credit_code\":\"{code}\",\"period\":\"{period}\"")?;
            for (name, x) in FIELDS.iter().zip(&v) {
                write!(line, ",\"{name}\":{x}")?;
            }
            line.push('}');
            self.page.push(line);
        }
        Ok(())
    }

    fn flush_page(&mut self, has_more: bool) -> anyhow::Result<()> {
        let Some(dir) = &self.http else {
            return Ok(());
        };
        self.pages += 1;
        let path = dir.join(format!("page-{:04}.json", self.pages));
        let mut text =
            String::with_capacity(self.page.iter().map(|r| r.len() + 2).sum::<usize>() + 80);
        text.push_str("{\"submissions\":[\n");
        for (i, obj) in self.page.iter().enumerate() {
            text.push_str(obj);
            text.push_str(if i + 1 < self.page.len() { ",\n" } else { "\n" });
        }
        let next = if has_more {
            format!("\"{}/page-{:04}\"", self.stem, self.pages + 1)
        } else {
            "null".to_string()
        };
        text.push_str(&format!(
            "],\"next_cursor\":{next},\"has_more\":{has_more}}}\n"
        ));
        std::fs::write(path, text)?;
        self.page.clear();
        Ok(())
    }

    /// Writes what is left (an empty file still gets one empty page) and flushes.
    pub fn finish(mut self) -> anyhow::Result<u64> {
        if !self.page.is_empty() || self.pages == 0 {
            self.flush_page(false)?;
        }
        self.csv.flush()?;
        Ok(self.rows)
    }
}
