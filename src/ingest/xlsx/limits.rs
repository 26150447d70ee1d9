//! How much of a workbook indmon reads: the `[import.xlsx]` section of the configuration.

use serde::Deserialize;

/// Bounds on what one XLSX file may make indmon read and hold. A file beyond any of them is
/// rejected whole, naming the limit; nothing is ever allocated by what a file declares.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct XlsxLimits {
    /// Cells of the sheet, the blank ones to the left of a filled cell included.
    pub max_cells: u64,
    /// The highest row number (Excel's own limit is 1,048,576).
    pub max_rows: u32,
    /// The highest column number (Excel's own limit is 16,384, column XFD).
    pub max_columns: u32,
    /// Uncompressed size of one part of the workbook (the sheet, the shared strings …), in MiB.
    pub max_entry_mib: u64,
    /// Text of one cell, a shared string included, in KiB.
    pub max_cell_kib: u64,
}

/// Excel's largest row and column numbers.
pub const EXCEL_MAX_ROWS: u32 = 1_048_576;
pub const EXCEL_MAX_COLUMNS: u32 = 16_384;

impl Default for XlsxLimits {
    fn default() -> XlsxLimits {
        XlsxLimits {
            max_cells: 2_000_000,
            max_rows: EXCEL_MAX_ROWS,
            max_columns: 1_024,
            max_entry_mib: 64,
            max_cell_kib: 1_024,
        }
    }
}

impl XlsxLimits {
    pub fn entry_bytes(&self) -> u64 {
        self.max_entry_mib.saturating_mul(1 << 20)
    }

    pub fn cell_bytes(&self) -> usize {
        usize::try_from(self.max_cell_kib.saturating_mul(1 << 10)).unwrap_or(usize::MAX)
    }

    /// What is wrong with these limits, as `(key, message)` under `import.xlsx`.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut p = |key: &str, message: String| out.push((format!("import.xlsx.{key}"), message));
        if self.max_cells == 0 {
            p("max_cells", "应为正数 (must be positive)".into());
        }
        if !(1..=EXCEL_MAX_ROWS).contains(&self.max_rows) {
            p(
                "max_rows",
                format!("应在1到{EXCEL_MAX_ROWS}之间 (must be 1–{EXCEL_MAX_ROWS})"),
            );
        }
        if !(1..=EXCEL_MAX_COLUMNS).contains(&self.max_columns) {
            p(
                "max_columns",
                format!("应在1到{EXCEL_MAX_COLUMNS}之间 (must be 1–{EXCEL_MAX_COLUMNS})"),
            );
        }
        // Shared strings are indexed by 32-bit offsets: a part stays below 4 GiB.
        if !(1..=4095).contains(&self.max_entry_mib) {
            p("max_entry_mib", "应在1到4095之间 (must be 1–4095)".into());
        }
        if self.max_cell_kib == 0 || self.max_cell_kib > self.max_entry_mib.saturating_mul(1024) {
            p(
                "max_cell_kib",
                "应为正数且不大于 max_entry_mib (must be positive and within max_entry_mib)".into(),
            );
        }
        out
    }
}
