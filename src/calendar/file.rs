//! Reading a calendar file (`date,kind,name`, as `data/cn_workdays.csv`): every problem with the
//! file, line and column it is on, so that an operator adding a year can fix it at once.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, Weekday};

use super::DayKind;

/// The header every calendar file starts with.
pub const HEADER: &str = "date,kind,name";

/// One problem in a calendar file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileProblem {
    pub file: String,
    /// 1-based; the header is line 1.
    pub line: usize,
    /// Column letter (A date, B kind, C name), empty for the whole line or file.
    pub column: &'static str,
    pub message: String,
}

impl std::fmt::Display for FileProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.column.is_empty() {
            write!(f, "{}:第{}行 {}", self.file, self.line, self.message)
        } else {
            write!(
                f,
                "{}:第{}行 列{} {}",
                self.file, self.line, self.column, self.message
            )
        }
    }
}

/// A special day of a calendar file (its name, required, is for people reading the file).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub kind: DayKind,
    /// Where it is written.
    pub line: usize,
}

/// Parses a calendar file's text: the special days by date, or every problem found.
pub fn parse(file: &str, text: &str) -> Result<BTreeMap<NaiveDate, Entry>, Vec<FileProblem>> {
    let mut problems = Vec::new();
    let mut out = BTreeMap::new();
    let problem = |line: usize, column: &'static str, message: String| FileProblem {
        file: file.to_string(),
        line,
        column,
        message,
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.lines().enumerate();
    match lines.next() {
        Some((_, h)) if h.trim() == HEADER => {}
        _ => problems.push(problem(
            1,
            "",
            format!("表头应为“{HEADER}” (the header must be {HEADER})"),
        )),
    }
    for (i, raw) in lines {
        let line = i + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = raw.splitn(3, ',').map(str::trim).collect();
        if fields.len() != 3 {
            problems.push(problem(
                line,
                "",
                "应有三列：日期,类型,名称 (expected date,kind,name)".into(),
            ));
            continue;
        }
        let date = match NaiveDate::parse_from_str(fields[0], "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                problems.push(problem(
                    line,
                    "A",
                    format!(
                        "“{}”不是日期，应如 2027-01-01 (not a YYYY-MM-DD date)",
                        fields[0]
                    ),
                ));
                None
            }
        };
        let kind = match fields[1] {
            "holiday" => Some(DayKind::Holiday),
            "workday" => Some(DayKind::Workday),
            other => {
                problems.push(problem(
                    line,
                    "B",
                    format!("“{other}”应为 holiday（放假）或 workday（调休上班） (unknown kind)"),
                ));
                None
            }
        };
        if fields[2].is_empty() {
            problems.push(problem(
                line,
                "C",
                "缺少节日名称 (the holiday's name is missing)".into(),
            ));
        }
        let (Some(date), Some(kind)) = (date, kind) else {
            continue;
        };
        let weekend = matches!(date.weekday(), Weekday::Sat | Weekday::Sun);
        if kind == DayKind::Workday && !weekend {
            problems.push(problem(
                line,
                "A",
                format!("{date} 不是周末，调休上班日应为周六或周日 (a make-up workday must be a Saturday or Sunday)"),
            ));
            continue;
        }
        let entry = Entry { kind, line };
        if out.insert(date, entry).is_some() {
            problems.push(problem(line, "A", format!("{date} 重复 (duplicate date)")));
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}
