//! The workbook's sheets of these sections — 表8 分行业 (大类, groups, unusable codes), 表9 效益
//! and 表10 工业投资 — as rows for the shared sheet helper ([`crate::report::sheet`]), which
//! gives them the title and note rows, the autofilter, the frozen rows and the print set-up of
//! 表1–表7. 效益 and 工业投资 are by unit, so their first column is the one to filter on (县区,
//! 全市 first); industries are the city's, so 分行业 is filtered by its 类别 column instead.
//! Text is written as string cells, never as formulas, whatever it starts with.

use super::{EfficiencyRow, IndustryRow};
use crate::report::model::Snapshot;
use crate::report::sheet::{Cell, INT, PCT1, PP2, WAN, num, text};
use crate::report::xlsx::{SHEET_EFFICIENCY, SHEET_INDUSTRIES, SHEET_INVESTMENT, Sheet};

const INDUSTRY_HEAD: [&str; 10] = [
    "类别",
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

fn industry_row(kind: &str, r: &IndustryRow) -> Vec<Cell> {
    vec![
        text(kind),
        text(&r.code),
        text(&r.section),
        text(&r.name),
        Cell::Num(r.enterprises.into(), INT),
        Cell::Num(r.ytd_wan, WAN),
        Cell::Num(r.ytd_prev_wan, WAN),
        num(r.growth_pct, PCT1),
        num(r.share_pct, PCT1),
        num(r.pull_pp, PP2),
    ]
}

/// 分行业: every 大类 (largest output first), the enterprises without a usable code, the
/// configured groups, then each code that names no industrial division with its count.
fn industry_rows(s: &Snapshot) -> Vec<Vec<Cell>> {
    let ind = &s.industries;
    let mut rows: Vec<Vec<Cell>> = ind
        .divisions
        .iter()
        .map(|r| industry_row("行业大类", r))
        .collect();
    rows.extend(ind.unclassified.iter().map(|r| industry_row("未分类", r)));
    rows.extend(ind.groups.iter().map(|r| industry_row("重点行业分组", r)));
    let unknown = |code: &str, n: u32| {
        let mut row = vec![
            text("无法识别的行业代码"),
            text(code),
            Cell::Empty,
            Cell::Empty,
            Cell::Num(n.into(), INT),
        ];
        row.extend(std::iter::repeat_n(Cell::Empty, 5));
        row
    };
    rows.extend(
        ind.unknown_codes
            .iter()
            .map(|u| unknown(&u.code, u.enterprises)),
    );
    if ind.missing_codes > 0 {
        rows.push(unknown("（未登记）", ind.missing_codes));
    }
    rows
}

const EFFICIENCY_HEAD: [&str; 14] = [
    "县区",
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

fn efficiency_row(e: &EfficiencyRow, name: &str) -> Vec<Cell> {
    vec![
        text(name),
        Cell::Num(e.revenue_wan, WAN),
        num(e.revenue_growth_pct, PCT1),
        Cell::Num(e.profit_wan, WAN),
        num(e.profit_growth_pct, PCT1),
        Cell::Num(e.loss_making.into(), INT),
        num(e.loss_share_pct, PCT1),
        num(e.sales_ratio_pct, PCT1),
        num(e.sales_ratio_prev_pct, PCT1),
        Cell::Num(e.export_wan, WAN),
        num(e.export_growth_pct, PCT1),
        Cell::Num(e.electricity, WAN),
        num(e.electricity_growth_pct, PCT1),
        num(e.output_month_growth_pct, PCT1),
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

fn investment_rows(s: &Snapshot) -> Vec<Vec<Cell>> {
    s.investment
        .rows
        .iter()
        .map(|r| {
            vec![
                text(if r.kind == "city" { "全市" } else { &r.name }),
                num(r.ytd_wan, WAN),
                num(r.ytd_prev_wan, WAN),
                num(r.growth_pct, PCT1),
                num(r.target_wan, WAN),
                num(r.completion_pct, PCT1),
                Cell::Num(r.time_progress_pct, PCT1),
                num(r.gap_pp, PCT1),
                text(if r.lagging { "是" } else { "" }),
            ]
        })
        .collect()
}

/// The three sheets of these sections, for `report.xlsx` to write after 表1–表7.
pub fn sheets(s: &Snapshot) -> [Sheet<'static>; 3] {
    let eff = &s.efficiency;
    let efficiency = eff
        .city
        .iter()
        .map(|c| efficiency_row(c, "全市"))
        .chain(eff.districts.iter().map(|d| efficiency_row(d, &d.name)))
        .collect();
    [
        (SHEET_INDUSTRIES, &INDUSTRY_HEAD, industry_rows(s)),
        (SHEET_EFFICIENCY, &EFFICIENCY_HEAD, efficiency),
        (SHEET_INVESTMENT, &INVESTMENT_HEAD, investment_rows(s)),
    ]
}
