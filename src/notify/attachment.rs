//! The detail attachment: one row per alert in the digest, with the 县区 by name so a district
//! can filter its own. As CSV that Excel opens correctly (UTF-8 with a BOM) and safely — text
//! that a spreadsheet would take for a formula is neutralised by
//! [`crate::export::neutralise`] — or as XLSX, the same table as `report.xlsx`'s sheets
//! ([`crate::report::sheet`]: a title row, the period and unit, an autofilter, frozen top rows
//! and the print set-up), every text a string cell that can never become a formula.
//!
//! Beside it, a reader who answers open cases gets their 反馈表 ([`crate::feedback::workbook`]),
//! to fill in and send back: [`feedback_workbooks`] makes them, [`feedback_part`] attaches one.

use super::config::RecipientConfig;
use super::digest::{Names, responsible};
use super::plan::Item;
use crate::export::neutralise;
use crate::report::sheet::{self, Cell, Heading};
use crate::rules::rule_zh;

/// The header row.
const HEADER: [&str; 13] = [
    "预警编号",
    "变化",
    "等级",
    "规则",
    "对象代码",
    "对象名称",
    "县区",
    "责任",
    "报告期",
    "连续期数",
    "状态",
    "说明",
    "计算依据",
];

/// The sheet's name in the workbook.
pub const SHEET: &str = "预警明细";

/// One row of text per item.
fn rows(items: &[Item], names: &Names) -> Vec<Vec<String>> {
    items
        .iter()
        .map(|i| {
            let a = &i.alert;
            vec![
                a.id.to_string(),
                i.kind.zh().to_string(),
                a.severity.zh().to_string(),
                rule_zh(&a.rule).to_string(),
                a.subject.clone(),
                a.subject_name.clone(),
                names
                    .units
                    .get(&a.unit_code)
                    .cloned()
                    .unwrap_or_else(|| a.unit_code.clone()),
                responsible(i, names),
                a.period.to_string(),
                a.consecutive.to_string(),
                a.state.zh().to_string(),
                a.message.clone(),
                serde_json::Value::Object(a.values.clone()).to_string(),
            ]
        })
        .collect()
}

/// The CSV bytes (BOM, CRLF line ends, every cell quoted where needed).
pub fn csv(items: &[Item], names: &Names) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(vec![0xEF, 0xBB, 0xBF]);
    // Writing to a Vec cannot fail.
    let _ = w.write_record(HEADER);
    for row in rows(items, names) {
        let _ = w.write_record(row.iter().map(|c| neutralise(c)));
    }
    w.into_inner().unwrap_or_default()
}

/// What the sheet says above its table: the city, whose alerts, the period and the unit.
pub fn heading(city: &str, r: &RecipientConfig, items: &[Item]) -> Heading {
    let period = items
        .iter()
        .map(|i| i.alert.period)
        .max()
        .map_or_else(String::new, |p| {
            format!("报告期：{}　　", sheet::period_zh(p))
        });
    Heading {
        title: format!(
            "{city}工业运行预警明细（{}）",
            r.label.as_deref().unwrap_or(&r.name)
        ),
        note: format!("{period}共{}项　　金额单位：万元", items.len()),
    }
}

/// The XLSX bytes: one sheet 预警明细.
pub fn xlsx(items: &[Item], names: &Names, heading: &Heading) -> anyhow::Result<Vec<u8>> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet().set_name(SHEET)?;
    let rows: Vec<Vec<Cell>> = rows(items, names)
        .into_iter()
        .map(|r| r.into_iter().map(Cell::Text).collect())
        .collect();
    sheet::write(ws, heading, &HEADER, &rows)?;
    Ok(wb.save_to_buffer()?)
}

/// The 反馈表 of each of `readers` who answers open cases, by recipient id.
pub async fn feedback_workbooks<'a>(
    store: &crate::store::Store,
    config: &crate::config::Config,
    readers: impl Iterator<Item = &'a RecipientConfig>,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<std::collections::HashMap<String, Vec<u8>>> {
    let desk = crate::cases::Desk::new(store.clone(), config)?;
    let mut out = std::collections::HashMap::new();
    for r in readers {
        let who = crate::cases::Who::recipient(&r.id, None);
        let label = r.label.as_deref().unwrap_or(&r.name);
        let city = &config.general.city_name;
        if let Some(book) =
            crate::feedback::workbook::for_reader(&desk, &who, city, label, now).await?
        {
            out.insert(r.id.clone(), book);
        }
    }
    Ok(out)
}

/// The 反馈表 as a mail attachment, `indmon-feedback-YYYYMMDD.xlsx`.
pub fn feedback_part(
    book: &[u8],
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<lettre::message::SinglePart> {
    let day = now
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .format("%Y%m%d");
    let mime = lettre::message::header::ContentType::parse(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )?;
    Ok(
        lettre::message::Attachment::new(format!("indmon-feedback-{day}.xlsx"))
            .body(book.to_vec(), mime),
    )
}
