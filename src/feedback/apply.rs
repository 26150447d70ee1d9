//! Checks every answered row of a 反馈表 and gives the good ones to [`Desk::answer`].
//!
//! Each row is its own transaction (the desk writes the answer, the case's new state and
//! version, its event and its audit row together): a row is applied whole or not at all, and
//! a rejected row never stops the others. A row is rejected, with its line, its column and the
//! reason, when its case is unknown or outside the uploader's scope, its version is older than
//! the case's (an answer or a decision came since the workbook was made), its cause is not in
//! the list for the case, its month is not a month, a text is too long or a required one empty,
//! or the same case came earlier in the file. A stale row identical to the answer on record is
//! the same workbook sent again: counted as unchanged, not rejected. A database failure stops
//! the file where it is (the rows before it stay applied; sending the file again finds them
//! unchanged).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::read::{Layout, Sheet, SheetRow, month};
use super::workbook::Col;
use crate::cases::{AnswerInput, CaseError, Desk, Who};
use crate::record::Reject;

/// A row applied.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Accepted {
    pub line: u64,
    pub case_id: i64,
    pub subject_name: String,
}

/// What became of a 反馈表's rows.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Outcome {
    pub accepted: Vec<Accepted>,
    /// Rows equal to the answer already on record (the same workbook sent again).
    pub unchanged: Vec<Accepted>,
    pub rejected: Vec<Reject>,
    /// Case rows left without an answer.
    pub skipped: u64,
}

impl Outcome {
    /// `采纳 2 行，未变 0 行，拒收 1 行，未填 3 行 (accepted 2, unchanged 0, rejected 1, blank 3)`.
    pub fn summary(&self) -> String {
        let (a, u, r, s) = (
            self.accepted.len(),
            self.unchanged.len(),
            self.rejected.len(),
            self.skipped,
        );
        format!(
            "采纳 {a} 行，未变 {u} 行，拒收 {r} 行，未填 {s} 行 (accepted {a}, unchanged {u}, rejected {r}, blank {s})"
        )
    }
}

/// What one row is, once checked, or why it is refused.
enum Checked {
    Answer(i64, AnswerInput),
    Refused(Reject),
}

fn reject(layout: &Layout, row: &SheetRow, col: Col, value: &str, reason: String) -> Reject {
    Reject {
        line: row.line,
        column: layout.label(col),
        field: String::new(),
        value: value.chars().take(crate::record::SHOWN_CHARS).collect(),
        reason,
    }
}

/// The checks that need no database: a readable row, a case id and a version, a cause.
fn check(layout: &Layout, row: &SheetRow, via: &str, seen: &HashMap<i64, u64>) -> Checked {
    let refuse = |col, value: &str, reason: String| {
        Checked::Refused(reject(layout, row, col, value, reason))
    };
    if let Some((col, why)) = row.faults.first() {
        return refuse(*col, "", why.clone());
    }
    let Some(id) = row.case.parse::<i64>().ok().filter(|i| *i > 0) else {
        return refuse(
            Col::Case,
            &row.case,
            "不是有效的事项编号，请勿修改灰色列 (not a case id)".into(),
        );
    };
    if let Some(first) = seen.get(&id) {
        return refuse(
            Col::Case,
            &row.case,
            format!(
                "同一事项已在第{first}行填写，本行不予采纳 (the case came earlier in the file)"
            ),
        );
    }
    let Some(version) = row.version.parse::<i64>().ok().filter(|v| *v > 0) else {
        return refuse(
            Col::Version,
            &row.version,
            "版本应为正整数，请勿修改灰色列 (not a version)".into(),
        );
    };
    if row.cause.is_empty() {
        return refuse(
            Col::Cause,
            "",
            "请从下拉列表选择原因 (cause missing)".into(),
        );
    }
    Checked::Answer(
        id,
        AnswerInput {
            cause: row.cause.clone(),
            situation: row.situation.clone(),
            measures: row.measures.clone(),
            resume_month: Some(month(&row.resume_month)).filter(|m| !m.is_empty()),
            coordination: row.coordination.clone(),
            expected_version: Some(version),
            via: via.to_string(),
        },
    )
}

/// The column an invalid field is in, and the value typed there.
fn column_of(field: &str, row: &SheetRow) -> (Col, String) {
    match field {
        "cause" => (Col::Cause, row.cause.clone()),
        "situation" => (Col::Situation, String::new()),
        "measures" => (Col::Measures, String::new()),
        "resume_month" => (Col::ResumeMonth, row.resume_month.clone()),
        "coordination" => (Col::Coordination, String::new()),
        _ => (Col::Case, row.case.clone()),
    }
}

/// Whether the case's latest answer is `input` (the same row sent again).
async fn already_on_record(desk: &Desk, id: i64, input: &AnswerInput) -> anyhow::Result<bool> {
    let last = desk.store().case_answers(id).await?.pop();
    Ok(last.is_some_and(|a| {
        a.cause == input.cause
            && a.situation == input.situation.trim()
            && a.measures == input.measures.trim()
            && a.resume_month == input.resume_month
            && a.coordination == input.coordination.trim()
    }))
}

/// Applies the answered rows of `sheet` as `who`, `via` `workbook` (console) or `inbox`; records
/// the upload in the audit log. `Err` only when the database fails.
pub async fn apply(
    desk: &Desk,
    who: &Who,
    via: &str,
    file: &str,
    sheet: Sheet,
    now: DateTime<Utc>,
) -> anyhow::Result<Outcome> {
    let mut out = Outcome {
        skipped: sheet.skipped,
        ..Outcome::default()
    };
    let mut seen: HashMap<i64, u64> = HashMap::new();
    for row in &sheet.rows {
        let (id, input) = match check(&sheet.layout, row, via, &seen) {
            Checked::Answer(id, input) => (id, input),
            Checked::Refused(r) => {
                out.rejected.push(r);
                continue;
            }
        };
        seen.insert(id, row.line);
        let refused =
            |col, value: &str, e: &CaseError| reject(&sheet.layout, row, col, value, e.to_string());
        match desk.answer(who, id, &input, now).await {
            Ok(case) => out.accepted.push(Accepted {
                line: row.line,
                case_id: id,
                subject_name: case.subject_name,
            }),
            Err(CaseError::Store(e)) => return Err(e),
            Err(e @ CaseError::Stale { .. }) => {
                if already_on_record(desk, id, &input).await? {
                    out.unchanged.push(Accepted {
                        line: row.line,
                        case_id: id,
                        subject_name: String::new(),
                    });
                } else {
                    out.rejected.push(refused(Col::Version, &row.version, &e));
                }
            }
            Err(e @ CaseError::NotFound(_)) => {
                out.rejected.push(refused(Col::Case, &row.case, &e));
            }
            Err(CaseError::Forbidden) => out.rejected.push(reject(
                &sheet.layout,
                row,
                Col::Case,
                &row.case,
                "该事项不在上传者的办理范围内 (the case is outside the uploader's scope)".into(),
            )),
            Err(CaseError::Invalid { field, message }) => {
                let (col, value) = column_of(field, row);
                out.rejected
                    .push(reject(&sheet.layout, row, col, &value, message));
            }
            Err(e) => out.rejected.push(refused(Col::Case, &row.case, &e)),
        }
    }
    let detail = format!("反馈表 {file}：{}", out.summary());
    desk.store()
        .audit(
            &who.actor.name(),
            "workbook_upload",
            None,
            who.client.as_deref(),
            &detail,
            now.timestamp_millis(),
        )
        .await?;
    Ok(out)
}
