//! The plain records an import hands to the store: a validated row of any kind, and a
//! rejected row with where it is and why. They belong to neither side, so that `ingest` uses
//! `store` and `store` never uses `ingest`.

use crate::amount::Amount;
use crate::credit_code::CreditCode;
use crate::indicator::N_FIELDS;
use crate::period::Period;
use crate::registry::{Enterprise, Project, ProjectProgress, Target, Unit};

/// A rejected row, or one cell of it, with where it is and why.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Reject {
    pub line: u64,
    /// Column letter and header, e.g. `D 工业总产值(1-本月累计)`; empty for the whole row.
    pub column: String,
    /// The field it was read as (`output_ytd`), if any.
    pub field: String,
    pub value: String,
    pub reason: String,
}

/// How many rejects are kept in memory and in the `reject` table per file; the count is exact.
pub const MAX_KEPT_REJECTS: usize = 10_000;

/// The rejects one side of an import found: all counted, the first [`MAX_KEPT_REJECTS`] kept,
/// so that a file of millions of bad rows costs no more memory than one of ten thousand.
#[derive(Debug, Default)]
pub struct Rejects {
    pub kept: Vec<Reject>,
    pub count: u64,
}

impl Rejects {
    pub fn push(&mut self, r: Reject) {
        self.count += 1;
        if self.kept.len() < MAX_KEPT_REJECTS {
            self.kept.push(r);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

impl std::fmt::Display for Reject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "第{}行", self.line)?;
        if !self.column.is_empty() {
            write!(f, " 列{}", self.column)?;
        }
        if !self.field.is_empty() {
            write!(f, " [{}]", self.field)?;
        }
        if !self.value.is_empty() {
            write!(f, " 值“{}”", self.value)?;
        }
        write!(f, "：{}", self.reason)
    }
}

/// Characters of a rejected value (or column header) kept and shown; the rest is only counted.
pub const SHOWN_CHARS: usize = 200;
/// Characters of a reason kept and shown, once the value quoted in it is cut.
const REASON_CHARS: usize = 1_000;

impl Reject {
    /// A reject of `line` for `field` holding `value`, its column not named yet.
    pub fn of_field(line: u64, field: &str, value: &str, reason: String) -> Reject {
        Reject {
            line,
            column: String::new(),
            field: field.into(),
            value: value.into(),
            reason,
        }
    }

    /// The reject as it is kept and shown: a value or header longer than [`SHOWN_CHARS`]
    /// characters is cut to them and its size in bytes (`…（共N字节）`), also where the reason
    /// quotes it, so that a 10 MB cell is neither stored nor printed whole. Every reject passes
    /// through here on its way into an import's report.
    pub fn bounded(mut self) -> Reject {
        if let Some(short) = shorten(&self.value, SHOWN_CHARS) {
            if self.value.len() > 1 && self.reason.contains(&self.value) {
                self.reason = self.reason.replace(&self.value, &short);
            }
            self.value = short;
        }
        if let Some(short) = shorten(&self.column, SHOWN_CHARS) {
            self.column = short;
        }
        if let Some(short) = shorten(&self.reason, REASON_CHARS) {
            self.reason = short;
        }
        self
    }
}

/// The first `keep` characters of `text` and its size, if it is longer by more than the
/// length of that note: what was cut once is not cut again.
fn shorten(text: &str, keep: usize) -> Option<String> {
    const NOTE: usize = "…（共18446744073709551615字节）".len();
    text.char_indices().nth(keep + NOTE)?;
    let (cut, _) = text.char_indices().nth(keep)?;
    Some(format!("{}…（共{}字节）", &text[..cut], text.len()))
}

/// One enterprise's figures for one month, as reported. `present` says which fields the file
/// had a column for: a missing column keeps the stored figure, a blank cell clears it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Submission {
    pub line: u64,
    pub credit_code: CreditCode,
    pub period: Period,
    pub values: [Option<Amount>; N_FIELDS],
}

/// A typed record of any kind.
#[derive(Clone, Debug)]
pub enum Record {
    Unit(Unit),
    Enterprise(Enterprise),
    Target(Target),
    Submission(Submission),
    UnitIndicator {
        line: u64,
        unit_code: String,
        period: Period,
        indicator: String,
        value: Amount,
    },
    Project(Project),
    ProjectProgress(ProjectProgress),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_value_is_cut_once_in_value_and_reason() {
        let value = "数".repeat(1_000);
        let r = Reject {
            line: 2,
            column: "C output".into(),
            field: "output".into(),
            value: value.clone(),
            reason: format!("“{value}”不是数字 (not a number)"),
        }
        .bounded();
        let cut = format!("{}…（共3000字节）", "数".repeat(SHOWN_CHARS));
        assert_eq!(r.value, cut);
        assert_eq!(r.reason, format!("“{cut}”不是数字 (not a number)"));
        assert_eq!(r.clone().bounded(), r);
        let short = Reject {
            value: "abc".into(),
            ..r.clone()
        };
        assert_eq!(short.clone().bounded(), short);
    }
}
