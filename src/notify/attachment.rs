//! The detail attachment: one row per alert in the digest, as CSV that Excel opens correctly
//! (UTF-8 with a BOM) and safely — a cell that begins with `=`, `+`, `-`, `@`, tab or CR is
//! prefixed with `'` so that Excel shows it as text instead of evaluating it as a formula
//! (OWASP "CSV injection") — or as XLSX, where every cell is written as a string cell and so
//! can never become a formula.

use super::digest::{Names, responsible};
use super::plan::Item;
use crate::rules::rule_zh;

/// The header row.
const HEADER: [&str; 13] = [
    "预警编号",
    "变化",
    "等级",
    "规则",
    "对象代码",
    "对象名称",
    "单位",
    "责任",
    "报告期",
    "连续期数",
    "状态",
    "说明",
    "计算依据",
];

/// Makes a cell inert for spreadsheets.
pub fn neutralise(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell.to_string()
    }
}

/// The header and one row of text per item.
fn rows(items: &[Item], names: &Names) -> Vec<Vec<String>> {
    let mut rows: Vec<Vec<String>> = vec![HEADER.iter().map(|h| h.to_string()).collect()];
    for i in items {
        let a = &i.alert;
        rows.push(vec![
            a.id.to_string(),
            i.kind.zh().to_string(),
            a.severity.zh().to_string(),
            rule_zh(&a.rule).to_string(),
            a.subject.clone(),
            a.subject_name.clone(),
            a.unit_code.clone(),
            responsible(i, names),
            a.period.to_string(),
            a.consecutive.to_string(),
            a.state.zh().to_string(),
            a.message.clone(),
            serde_json::Value::Object(a.values.clone()).to_string(),
        ]);
    }
    rows
}

/// The CSV bytes (BOM, CRLF line ends, every cell quoted where needed).
pub fn csv(items: &[Item], names: &Names) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(vec![0xEF, 0xBB, 0xBF]);
    for row in rows(items, names) {
        // Writing to a Vec cannot fail.
        let _ = w.write_record(row.iter().map(|c| neutralise(c)));
    }
    w.into_inner().unwrap_or_default()
}

/// The XLSX bytes: one sheet 预警明细, string cells only, a frozen header row.
pub fn xlsx(items: &[Item], names: &Names) -> anyhow::Result<Vec<u8>> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("预警明细")?;
    for (r, row) in rows(items, names).iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            ws.write_string(r as u32, c as u16, cell)?;
        }
    }
    ws.set_freeze_panes(1, 0)?;
    for (c, width) in [(5u16, 28.0), (7, 30.0), (11, 60.0)] {
        ws.set_column_width(c, width)?;
    }
    Ok(wb.save_to_buffer()?)
}

#[cfg(test)]
mod tests {
    use super::neutralise;

    #[test]
    fn formula_cells_become_text() {
        assert_eq!(neutralise("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(neutralise("-1.2"), "'-1.2");
        assert_eq!(neutralise("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(neutralise("南湖机械"), "南湖机械");
    }
}
