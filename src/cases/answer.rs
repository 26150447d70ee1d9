//! An answer (反馈) as an official gives it, and its checks: a cause from the configured
//! list, the required texts within their length, the month of resumption as `YYYY-MM`.

use chrono::NaiveDate;
use serde::Serialize;

use super::CaseError;

/// Longest free text accepted in an answer field, in characters.
pub const MAX_TEXT: usize = 2000;

/// An answer as an official gives it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct AnswerInput {
    /// One of the configured causes for the case's rule.
    pub cause: String,
    /// 情况说明 (required).
    pub situation: String,
    /// 帮扶措施 taken or planned (required).
    pub measures: String,
    /// Expected month of resumption (completion, for a project), `YYYY-MM`.
    pub resume_month: Option<String>,
    /// 需市级协调 (empty: nothing).
    pub coordination: String,
    /// The case version the answer was written against (the form's or the 反馈表 row's); an
    /// answer against an older version is refused as stale.
    pub expected_version: Option<i64>,
    /// `console`, `workbook` or `inbox`.
    pub via: String,
}

/// The answer checked against `causes`, its text trimmed.
pub(crate) fn check(causes: &[String], a: &AnswerInput) -> Result<AnswerInput, CaseError> {
    if !causes.iter().any(|c| c == &a.cause) {
        return Err(CaseError::Invalid {
            field: "cause",
            message: format!(
                "“{}”不在可选原因中：{} (choose one of the listed causes)",
                a.cause,
                causes.join("、")
            ),
        });
    }
    let situation = checked_text("situation", &a.situation, true)?;
    let measures = checked_text("measures", &a.measures, true)?;
    let coordination = checked_text("coordination", &a.coordination, false)?;
    let resume_month = a
        .resume_month
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(str::to_string);
    if let Some(m) = &resume_month {
        let ok = m.len() == 7 && NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d").is_ok();
        if !ok {
            return Err(CaseError::Invalid {
                field: "resume_month",
                message: format!("“{m}”应为年月，如 2026-12 (expected YYYY-MM)"),
            });
        }
    }
    if !["console", "workbook", "inbox"].contains(&a.via.as_str()) {
        return Err(CaseError::Invalid {
            field: "via",
            message: format!("“{}”应为 console、workbook 或 inbox", a.via),
        });
    }
    Ok(AnswerInput {
        cause: a.cause.clone(),
        situation,
        measures,
        resume_month,
        coordination,
        expected_version: a.expected_version,
        via: a.via.clone(),
    })
}

/// Free text trimmed, within [`MAX_TEXT`] characters, without control characters other than
/// line breaks and tabs; `required` refuses an empty one.
pub(crate) fn checked_text(
    field: &'static str,
    text: &str,
    required: bool,
) -> Result<String, CaseError> {
    let t = text.trim();
    let bad = |message: String| CaseError::Invalid { field, message };
    if required && t.is_empty() {
        return Err(bad("不能为空 (required)".into()));
    }
    if t.chars().count() > MAX_TEXT {
        return Err(bad(format!(
            "不能超过 {MAX_TEXT} 字 (at most {MAX_TEXT} characters)"
        )));
    }
    if t.chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(bad("含有控制字符 (contains control characters)".into()));
    }
    Ok(t.to_string())
}
