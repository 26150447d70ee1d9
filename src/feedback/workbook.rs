//! Writes the 反馈表 of one reader: sheet 反馈表 first (the one a reader of the file takes),
//! with a title, a note on how to fill it, the header on row 3 and one row per case the reader
//! answers; sheet 可选原因 with the two cause lists the drop-downs point at.
//!
//! The warning's columns are grey and locked (the sheet is protected without a password, so
//! filters and column widths still work); the answer columns are white, unlocked and formatted
//! as text, so that what is typed stays text (`2026-12` is not turned into a date, `=…` is not
//! evaluated). Every text is a string cell, never a formula; one that starts like a formula
//! (`=`, `+`, `-`, `@`) carries Excel's quote prefix as well, so that editing the cell later
//! does not turn it into one.

use chrono::{DateTime, Utc};
use chrono_tz::Asia::Shanghai;
use rust_xlsxwriter::{
    DataValidation, DataValidationRule, Format, FormatAlign, FormatBorder, Formula,
    ProtectionOptions, Workbook, Worksheet,
};

use crate::calendar::at_due_hour;
use crate::cases::{Answer, Case, CaseError, CaseState, Desk, ListFilter, MAX_TEXT, Who, access};
use crate::export::beijing;
use crate::rules::{About, Rule, rule_zh};

/// The sheet a filled 反馈表 is read from (the first).
pub const SHEET: &str = "反馈表";
/// The sheet of the cause lists.
pub const CAUSES_SHEET: &str = "可选原因";
/// The row of the column headings (0-based); data from the next row on.
pub const HEAD_ROW: u32 = 2;

/// What a column holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Col {
    Case,
    Version,
    Subject,
    Name,
    Unit,
    Rule,
    Severity,
    Period,
    Warning,
    Figures,
    State,
    Due,
    LastAnswer,
    Cause,
    Situation,
    Measures,
    ResumeMonth,
    Coordination,
}

/// The columns in order: heading, width, whether the reader fills it.
pub const COLUMNS: [(Col, &str, f64, bool); 18] = [
    (Col::Case, "事项编号", 9.0, false),
    (Col::Version, "版本", 6.0, false),
    (Col::Subject, "对象代码", 20.0, false),
    (Col::Name, "企业/项目名称", 24.0, false),
    (Col::Unit, "县区", 10.0, false),
    (Col::Rule, "预警类型", 16.0, false),
    (Col::Severity, "等级", 6.0, false),
    (Col::Period, "报告期", 9.0, false),
    (Col::Warning, "预警情况", 30.0, false),
    (Col::Figures, "计算依据", 24.0, false),
    (Col::State, "状态", 10.0, false),
    (Col::Due, "反馈期限", 17.0, false),
    (Col::LastAnswer, "上次反馈", 30.0, false),
    (Col::Cause, "原因", 18.0, true),
    (Col::Situation, "情况说明", 30.0, true),
    (Col::Measures, "帮扶措施", 30.0, true),
    (Col::ResumeMonth, "预计复产月份", 12.0, true),
    (Col::Coordination, "需市级协调", 24.0, true),
];

/// The 0-based index of a column.
pub fn index(col: Col) -> u16 {
    COLUMNS.iter().position(|c| c.0 == col).unwrap_or(0) as u16
}

/// One case as its row shows it.
#[derive(Clone, Debug)]
pub struct CaseRow {
    pub case: Case,
    pub unit_name: String,
    /// The alert's message and its figures.
    pub warning: String,
    pub figures: String,
    pub last_answer: Option<Answer>,
    /// 反馈期限: the due time, or the one it will have if delivered today (marked so).
    pub due: String,
}

impl CaseRow {
    fn project(&self) -> bool {
        self.case
            .rule
            .parse::<Rule>()
            .is_ok_and(|r| r.about() == About::Project)
    }
}

/// The cases `who` answers and can answer now (assigned, returned, or answered and not yet
/// decided), overdue first, with what their rows show.
pub async fn rows_for(
    desk: &Desk,
    who: &Who,
    now: DateTime<Utc>,
) -> Result<Vec<CaseRow>, CaseError> {
    let filter = ListFilter {
        open: true,
        ..ListFilter::default()
    };
    let page = desk.page(who, &filter, now).await?;
    let store = desk.store();
    let units: std::collections::HashMap<String, String> = store
        .units()
        .await?
        .into_iter()
        .map(|u| (u.code, u.name))
        .collect();
    let recipients = desk.recipients();
    let mut out = Vec::new();
    for case in page.cases {
        let answerable = matches!(
            case.state,
            CaseState::Assigned | CaseState::Returned | CaseState::Answered
        );
        if !answerable || !access(recipients, &who.actor, &case).answer {
            continue;
        }
        let alert = store.alert(case.alert_id).await?;
        let (warning, figures) = alert.map_or_else(Default::default, |a| {
            let figures: Vec<String> = a
                .values
                .iter()
                .map(|(k, v)| match v {
                    serde_json::Value::String(s) => format!("{k}：{s}"),
                    other => format!("{k}：{other}"),
                })
                .collect();
            (a.message, figures.join("；"))
        });
        let last_answer = store.case_answers(case.id).await?.pop();
        let due = match case.due_at {
            Some(d) => beijing(d),
            // Not delivered yet (this workbook rides on the digest that delivers it).
            None => {
                let today = now.with_timezone(&Shanghai).date_naive();
                // A calendar that runs out leaves it to the delivery (which then says so).
                match desk.calendar().add_workdays(today, case.answer_days) {
                    Ok(day) => format!(
                        "{}（以今日送达计）",
                        beijing(at_due_hour(day).timestamp_millis())
                    ),
                    Err(_) => "送达后确定".to_string(),
                }
            }
        };
        out.push(CaseRow {
            unit_name: units
                .get(&case.unit_code)
                .cloned()
                .unwrap_or_else(|| case.unit_code.clone()),
            case,
            warning,
            figures,
            last_answer,
            due,
        });
    }
    Ok(out)
}

/// The 反馈表 of `who` (titled for `label`), or none when they have no case to answer.
pub async fn for_reader(
    desk: &Desk,
    who: &Who,
    city: &str,
    label: &str,
    now: DateTime<Utc>,
) -> Result<Option<Vec<u8>>, CaseError> {
    let rows = rows_for(desk, who, now).await?;
    if rows.is_empty() {
        return Ok(None);
    }
    let cfg = desk.cases_config();
    let title = format!("{city}工业运行预警反馈表（{label}）");
    Ok(Some(write(
        &title,
        &rows,
        &cfg.causes,
        &cfg.project_causes,
        now,
    )?))
}

/// The formats of the sheet.
struct Formats {
    title: Format,
    note: Format,
    head: Format,
    warn: Format,
    answer: Format,
}

impl Formats {
    fn new() -> Formats {
        let cell = Format::new()
            .set_border(FormatBorder::Thin)
            .set_align(FormatAlign::Top)
            .set_text_wrap();
        Formats {
            title: Format::new().set_bold().set_font_size(16),
            note: Format::new().set_text_wrap().set_align(FormatAlign::Top),
            head: cell
                .clone()
                .set_bold()
                .set_background_color(0xF3E5E5)
                .set_align(FormatAlign::Center),
            warn: cell.clone().set_background_color(0xEEEEEE),
            answer: cell.set_unlocked().set_num_format("@"),
        }
    }
}

/// Whether a spreadsheet would take `s` for a formula if it were typed in.
pub fn formula_like(s: &str) -> bool {
    matches!(s.chars().next(), Some('=' | '+' | '-' | '@' | '\t' | '\r'))
}

/// Writes `s` as a string cell; a formula-like one with the quote prefix.
fn text(ws: &mut Worksheet, row: u32, col: u16, s: &str, f: &Format) -> anyhow::Result<()> {
    if formula_like(s) {
        ws.write_string_with_format(row, col, s, &f.clone().set_quote_prefix())?;
    } else {
        ws.write_string_with_format(row, col, s, f)?;
    }
    Ok(())
}

/// The last answer in one cell: its cause, situation, measures, month and the coordination asked.
fn answer_text(a: &Answer) -> String {
    let mut s = format!(
        "{}（{}）\n{}\n措施：{}",
        a.cause,
        beijing(a.answered_at),
        a.situation,
        a.measures
    );
    if let Some(m) = &a.resume_month {
        s.push_str(&format!("\n预计：{m}"));
    }
    if !a.coordination.is_empty() {
        s.push_str(&format!("\n需市级协调：{}", a.coordination));
    }
    s
}

/// The text of each warning column of a row.
fn warning_cells(r: &CaseRow, now_ms: i64) -> Vec<(Col, String)> {
    let c = &r.case;
    let mut state = c.state.zh().to_string();
    if c.overdue(now_ms) {
        state.push_str("（超期）");
    }
    vec![
        (Col::Subject, c.subject.clone()),
        (Col::Name, c.subject_name.clone()),
        (Col::Unit, r.unit_name.clone()),
        (Col::Rule, rule_zh(&c.rule).to_string()),
        (Col::Severity, c.severity.zh().to_string()),
        (Col::Period, c.period.clone()),
        (Col::Warning, r.warning.clone()),
        (Col::Figures, r.figures.clone()),
        (Col::State, state),
        (Col::Due, r.due.clone()),
        (
            Col::LastAnswer,
            r.last_answer.as_ref().map(answer_text).unwrap_or_default(),
        ),
    ]
}

/// The workbook's bytes.
pub fn write(
    title: &str,
    rows: &[CaseRow],
    causes: &[String],
    project_causes: &[String],
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<u8>> {
    let mut wb = Workbook::new();
    let f = Formats::new();
    let ws = wb.add_worksheet().set_name(SHEET)?;
    let last = (COLUMNS.len() - 1) as u16;
    ws.merge_range(0, 0, 0, last, title, &f.title)?;
    let note = format!(
        "制表时间：{}。灰色列为预警情况，请勿修改；请在白色列填写反馈：原因从下拉列表选择，情况说明和帮扶措施必填（每项不超过{MAX_TEXT}字），预计复产月份（项目为预计完工月份）填年月如 2026-12。不需反馈的行留空即可。填好后在控制台“上传反馈表”，或交市工信局放入收件夹。",
        beijing(now.timestamp_millis())
    );
    ws.merge_range(1, 0, 1, last, &note, &f.note)?;
    ws.set_row_height(1, 48)?;
    for (i, (_, head, width, _)) in COLUMNS.iter().enumerate() {
        ws.write_string_with_format(HEAD_ROW, i as u16, *head, &f.head)?;
        ws.set_column_width(i as u16, *width)?;
    }
    let now_ms = now.timestamp_millis();
    for (n, r) in rows.iter().enumerate() {
        let row = HEAD_ROW + 1 + n as u32;
        ws.write_number_with_format(row, index(Col::Case), r.case.id as f64, &f.warn)?;
        ws.write_number_with_format(row, index(Col::Version), r.case.version as f64, &f.warn)?;
        for (col, s) in warning_cells(r, now_ms) {
            text(ws, row, index(col), &s, &f.warn)?;
        }
        for (col, _, _, fills) in COLUMNS {
            if fills {
                ws.write_blank(row, index(col), &f.answer)?;
            }
        }
        let (list_col, n_causes) = if r.project() {
            ("B", project_causes.len())
        } else {
            ("A", causes.len())
        };
        let list = DataValidation::new()
            .allow_list_formula(Formula::new(format!(
                "='{CAUSES_SHEET}'!${list_col}$2:${list_col}${}",
                n_causes + 1
            )))
            .set_error_title("原因不在列表中")?
            .set_error_message("请从下拉列表中选择原因。")?;
        ws.add_data_validation(row, index(Col::Cause), row, index(Col::Cause), &list)?;
    }
    if !rows.is_empty() {
        let (first, end) = (HEAD_ROW + 1, HEAD_ROW + rows.len() as u32);
        let length = DataValidation::new()
            .allow_text_length(DataValidationRule::LessThanOrEqualTo(MAX_TEXT as u32))
            .set_error_message(format!("不能超过{MAX_TEXT}字。"))?;
        for col in [Col::Situation, Col::Measures, Col::Coordination] {
            ws.add_data_validation(first, index(col), end, index(col), &length)?;
        }
    }
    ws.autofilter(HEAD_ROW, 0, HEAD_ROW + rows.len() as u32, last)?;
    ws.set_freeze_panes(HEAD_ROW + 1, index(Col::Unit))?;
    ws.protect_with_options(&ProtectionOptions {
        format_columns: true,
        format_rows: true,
        use_autofilter: true,
        sort: false,
        ..ProtectionOptions::new()
    });
    causes_sheet(wb.add_worksheet(), causes, project_causes, &f)?;
    Ok(wb.save_to_buffer()?)
}

/// Sheet 可选原因: column A the causes of enterprises and units, B those of key projects.
fn causes_sheet(
    ws: &mut Worksheet,
    causes: &[String],
    project_causes: &[String],
    f: &Formats,
) -> anyhow::Result<()> {
    ws.set_name(CAUSES_SHEET)?;
    for (col, head, list) in [
        (0u16, "企业和县区预警的原因", causes),
        (1u16, "重点项目预警的原因", project_causes),
    ] {
        ws.write_string_with_format(0, col, head, &f.head)?;
        ws.set_column_width(col, 24)?;
        for (i, c) in list.iter().enumerate() {
            text(ws, 1 + i as u32, col, c, &f.warn)?;
        }
    }
    ws.protect();
    Ok(())
}
