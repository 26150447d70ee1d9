//! The workbook's sheets of these sections: 分行业 (大类, groups, unusable codes) and 效益与投资.
//! Kept apart from `xlsx.rs`, which calls [`add_sheets`] once. Text is written as string cells,
//! never as formulas, whatever it starts with.

use rust_xlsxwriter::{Format, Workbook, Worksheet};

use super::{EfficiencyRow, IndustryRow};
use crate::evaluate::width;
use crate::report::model::Snapshot;

enum Cell {
    Text(String),
    Num(Option<f64>, &'static str),
}

const WAN: &str = "#,##0.0";
const PCT1: &str = "0.0";
const PP2: &str = "0.00";
const INT: &str = "0";

fn text(s: impl Into<String>) -> Cell {
    Cell::Text(s.into())
}

/// Writes a header at `row` and the rows below it; returns the next free row.
fn block(
    ws: &mut Worksheet,
    row: u32,
    head: &[&str],
    rows: &[Vec<Cell>],
    widths: &mut Vec<usize>,
) -> anyhow::Result<u32> {
    let bold = Format::new().set_bold().set_background_color(0xF3E5E5);
    for (c, h) in head.iter().enumerate() {
        ws.write_string_with_format(row, c as u16, *h, &bold)?;
        grow(widths, c, width(h));
    }
    for (r, cells) in rows.iter().enumerate() {
        let r = row + 1 + r as u32;
        for (c, cell) in cells.iter().enumerate() {
            match cell {
                Cell::Text(s) => {
                    ws.write_string(r, c as u16, s)?;
                    grow(widths, c, width(s));
                }
                Cell::Num(Some(v), f) => {
                    ws.write_number_with_format(
                        r,
                        c as u16,
                        *v,
                        &Format::new().set_num_format(*f),
                    )?;
                    grow(widths, c, format!("{v:.1}").len() + 3);
                }
                Cell::Num(None, _) => {}
            }
        }
    }
    Ok(row + rows.len() as u32 + 2)
}

fn grow(widths: &mut Vec<usize>, c: usize, w: usize) {
    if widths.len() <= c {
        widths.resize(c + 1, 0);
    }
    widths[c] = widths[c].max(w);
}

fn finish(ws: &mut Worksheet, widths: &[usize]) -> anyhow::Result<()> {
    for (c, w) in widths.iter().enumerate() {
        ws.set_column_width(c as u16, (*w as f64 + 2.0).min(60.0))?;
    }
    ws.set_freeze_panes(1, 0)?;
    Ok(())
}

const INDUSTRY_HEAD: [&str; 9] = [
    "代码",
    "门类",
    "行业",
    "企业数",
    "累计产值(万元)",
    "上年同期(万元)",
    "增速(%)",
    "占全市(%)",
    "拉动(百分点)",
];

fn industry_row(r: &IndustryRow) -> Vec<Cell> {
    vec![
        text(&r.code),
        text(&r.section),
        text(&r.name),
        Cell::Num(Some(r.enterprises.into()), INT),
        Cell::Num(Some(r.ytd_wan), WAN),
        Cell::Num(Some(r.ytd_prev_wan), WAN),
        Cell::Num(r.growth_pct, PCT1),
        Cell::Num(r.share_pct, PCT1),
        Cell::Num(r.pull_pp, PP2),
    ]
}

const EFFICIENCY_HEAD: [&str; 14] = [
    "单位",
    "营业收入(万元)",
    "营业收入增速(%)",
    "利润总额(万元)",
    "利润增速(%)",
    "亏损企业",
    "亏损面(%)",
    "产销率(%)",
    "上年产销率(%)",
    "出口交货值(万元)",
    "出口增速(%)",
    "当月用电量(万千瓦时)",
    "用电增速(%)",
    "当月产值增速(%)",
];

fn efficiency_row(e: &EfficiencyRow) -> Vec<Cell> {
    vec![
        text(&e.name),
        Cell::Num(Some(e.revenue_wan), WAN),
        Cell::Num(e.revenue_growth_pct, PCT1),
        Cell::Num(Some(e.profit_wan), WAN),
        Cell::Num(e.profit_growth_pct, PCT1),
        Cell::Num(Some(e.loss_making.into()), INT),
        Cell::Num(e.loss_share_pct, PCT1),
        Cell::Num(e.sales_ratio_pct, PCT1),
        Cell::Num(e.sales_ratio_prev_pct, PCT1),
        Cell::Num(Some(e.export_wan), WAN),
        Cell::Num(e.export_growth_pct, PCT1),
        Cell::Num(Some(e.electricity), WAN),
        Cell::Num(e.electricity_growth_pct, PCT1),
        Cell::Num(e.output_month_growth_pct, PCT1),
    ]
}

const INVESTMENT_HEAD: [&str; 9] = [
    "单位",
    "累计工业投资(万元)",
    "上年同期(万元)",
    "增速(%)",
    "年度目标(万元)",
    "完成率(%)",
    "时间进度(%)",
    "差距(百分点)",
    "进度滞后",
];

/// Adds the sheets 分行业 and 效益与投资 to the report's workbook.
pub fn add_sheets(wb: &mut Workbook, s: &Snapshot) -> anyhow::Result<()> {
    let ind = &s.industries;
    let mut rows: Vec<Vec<Cell>> = ind.divisions.iter().map(industry_row).collect();
    rows.extend(ind.unclassified.iter().map(industry_row));
    let groups: Vec<Vec<Cell>> = ind.groups.iter().map(industry_row).collect();
    let unknown: Vec<Vec<Cell>> = ind
        .unknown_codes
        .iter()
        .map(|u| vec![text(&u.code), Cell::Num(Some(u.enterprises.into()), INT)])
        .chain((ind.missing_codes > 0).then(|| {
            vec![
                text("（未登记）"),
                Cell::Num(Some(ind.missing_codes.into()), INT),
            ]
        }))
        .collect();
    let ws = wb.add_worksheet().set_name("分行业")?;
    let mut widths = Vec::new();
    let mut at = block(ws, 0, &INDUSTRY_HEAD, &rows, &mut widths)?;
    at = block(ws, at, &INDUSTRY_HEAD, &groups, &mut widths)?;
    if !unknown.is_empty() {
        block(
            ws,
            at,
            &["无法识别的行业代码", "企业数"],
            &unknown,
            &mut widths,
        )?;
    }
    finish(ws, &widths)?;

    let eff: Vec<Vec<Cell>> = s
        .efficiency
        .city
        .iter()
        .chain(&s.efficiency.districts)
        .map(efficiency_row)
        .collect();
    let inv: Vec<Vec<Cell>> = s
        .investment
        .rows
        .iter()
        .map(|r| {
            vec![
                text(&r.name),
                Cell::Num(r.ytd_wan, WAN),
                Cell::Num(r.ytd_prev_wan, WAN),
                Cell::Num(r.growth_pct, PCT1),
                Cell::Num(r.target_wan, WAN),
                Cell::Num(r.completion_pct, PCT1),
                Cell::Num(Some(r.time_progress_pct), PCT1),
                Cell::Num(r.gap_pp, PCT1),
                text(if r.lagging { "是" } else { "" }),
            ]
        })
        .collect();
    let ws = wb.add_worksheet().set_name("效益与投资")?;
    let mut widths = Vec::new();
    let at = block(ws, 0, &EFFICIENCY_HEAD, &eff, &mut widths)?;
    block(ws, at, &INVESTMENT_HEAD, &inv, &mut widths)?;
    finish(ws, &widths)?;
    Ok(())
}
