//! `report.xlsx`: the workbook the bureau forwards to the districts. It holds the full lists the
//! page leaves out (every stalled, semi-stalled and reduced enterprise, every alert), one table
//! a sheet under stable Chinese names ([`SHEETS`]), each with a title row naming the city and
//! what it is, the period and unit of measure, a 县区 column to filter on, and the print set-up
//! of [`super::sheet`]. Numbers are real numbers with number formats, names are names (no unit
//! codes, 包抓领导 by name).
//!
//! The document's creation time is fixed to the half's start, so regenerating gives the same
//! bytes (rust_xlsxwriter otherwise stamps the current time into docProps/core.xml).

use rust_xlsxwriter::{DocProperties, ExcelDateTime, Workbook};

use super::Half;
use super::change::rank_move_zh;
use super::model::{FindingRow, Snapshot, UnitRow};
use super::sheet::{self, Cell, Heading, INT, PCT1, PP2, WAN, num, text};
use crate::period::Period;
use crate::rules::{About, Rule};

pub const SHEET_OVERVIEW: &str = "概览";
pub const SHEET_DISTRICTS: &str = "表1 县区排名";
pub const SHEET_STATES: &str = "表2 停产半停产减产企业";
pub const SHEET_ALERTS: &str = "表3 预警明细";
pub const SHEET_PROJECTS: &str = "表4 重点项目";
pub const SHEET_ZONES: &str = "表5 园区排名";
pub const SHEET_PULLS: &str = "表6 拉动下拉企业";
pub const SHEET_QUALITY: &str = "表7 数据质量";
pub const SHEET_INDUSTRIES: &str = "表8 分行业";
pub const SHEET_EFFICIENCY: &str = "表9 效益";
pub const SHEET_INVESTMENT: &str = "表10 工业投资";
pub const SHEET_ANSWERS: &str = "表11 反馈办理";
pub const SHEET_XUN: &str = "表12 旬监测";
pub const SHEET_FORECAST: &str = "表13 预测预警";

/// The sheets in the order of the workbook; the page refers to them by these names.
pub const SHEETS: [&str; 14] = [
    SHEET_OVERVIEW,
    SHEET_DISTRICTS,
    SHEET_STATES,
    SHEET_ALERTS,
    SHEET_PROJECTS,
    SHEET_ZONES,
    SHEET_PULLS,
    SHEET_QUALITY,
    SHEET_INDUSTRIES,
    SHEET_EFFICIENCY,
    SHEET_INVESTMENT,
    SHEET_ANSWERS,
    SHEET_XUN,
    SHEET_FORECAST,
];

/// A sheet: its name, its header and its rows.
pub type Sheet<'a> = (&'a str, &'a [&'a str], Vec<Vec<Cell>>);

/// 备注 of an enterprise: 计划检修 when it is on a planned overhaul, else nothing.
const OVERHAUL: &str = "计划检修";

fn remark(s: &Snapshot, credit_code: &str) -> Cell {
    text(if s.overhaul.iter().any(|o| o.credit_code == credit_code) {
        OVERHAUL
    } else {
        ""
    })
}

/// The workbook's bytes: one sheet per table, in the order of [`SHEETS`].
pub fn render(s: &Snapshot, half: Half, city_name: &str) -> anyhow::Result<Vec<u8>> {
    let mut wb = Workbook::new();
    let created = ExcelDateTime::from_ymd(
        half.month.year().clamp(1900, 9999) as u16,
        half.month.month() as u8,
        if half.half == 1 { 1 } else { 16 },
    )?;
    let period: Period = s.period.parse().map_err(anyhow::Error::msg)?;
    wb.set_properties(
        &DocProperties::new()
            .set_title(format!("{city_name}工业经济运行分析（{}）", half.zh()))
            .set_creation_datetime(&created),
    );
    let [industries, efficiency, investment] = super::industry::sheet::sheets(s);
    let sheets: [Sheet; 14] = [
        (SHEET_OVERVIEW, &["项目", "数值"], overview_rows(s, half)),
        (
            SHEET_DISTRICTS,
            &unit_head("县区"),
            unit_rows(s.city.as_ref(), &s.districts),
        ),
        (SHEET_STATES, &STATE_HEAD, state_rows(s)),
        (SHEET_ALERTS, &FINDING_HEAD, finding_rows(s, &s.alerts.list)),
        (SHEET_PROJECTS, &PROJECT_HEAD, project_rows(s)),
        (
            SHEET_ZONES,
            &unit_head("园区"),
            unit_rows(s.city.as_ref(), &s.zones),
        ),
        (SHEET_PULLS, &PULL_HEAD, pull_rows(s)),
        (SHEET_QUALITY, &FINDING_HEAD, finding_rows(s, &s.quality)),
        industries,
        efficiency,
        investment,
        (
            SHEET_ANSWERS,
            &super::answers::SHEET_HEAD,
            super::answers::sheet_rows(&s.answer_loop),
        ),
        (
            SHEET_XUN,
            &super::xun::SHEET_HEAD,
            super::xun::sheet_rows(&s.xun),
        ),
        (
            SHEET_FORECAST,
            &super::forecast::SHEET_HEAD,
            super::forecast::sheet_rows(&s.forecast),
        ),
    ];
    for (name, head, rows) in &sheets {
        let heading = Heading {
            title: format!("{city_name}工业经济运行分析　{name}"),
            note: format!(
                "数据期：{}　　报告期：{}　　单位：万元、%",
                sheet::period_zh(period),
                half.zh()
            ),
        };
        let ws = wb.add_worksheet().set_name(*name)?;
        sheet::write(ws, &heading, head, rows)?;
    }
    Ok(wb.save_to_buffer()?)
}

/// 概览: the city against its targets, submissions, the three states, and the analysis text.
fn overview_rows(s: &Snapshot, half: Half) -> Vec<Vec<Cell>> {
    let c = s.city.as_ref();
    let mut rows = vec![
        vec![text("报告期"), text(half.zh())],
        vec![text("数据期"), text(&s.period_label)],
        vec![text("报送截止"), text(&s.deadline)],
        vec![text("累计产值(万元)"), num(c.map(|c| c.ytd_wan), WAN)],
        vec![text("增速(%)"), num(c.and_then(|c| c.growth_pct), PCT1)],
        vec![
            text(format!(
                "增速比{}(百分点)",
                s.prev_period_label.as_deref().unwrap_or("上期")
            )),
            num(c.and_then(|c| c.growth_change_pp), PCT1),
        ],
        vec![
            text(format!("{}当月增速(%)", s.month_label)),
            num(c.and_then(|c| c.month_growth_pct), PCT1),
        ],
        vec![
            text(format!(
                "当月增速比{}(百分点)",
                s.prev_month_label.as_deref().unwrap_or("上月")
            )),
            num(c.and_then(|c| c.month_growth_change_pp), PCT1),
        ],
        vec![text("目标(%)"), num(c.and_then(|c| c.target_pct), PCT1)],
        vec![text("差距(百分点)"), num(c.and_then(|c| c.gap_pp), PCT1)],
        vec![text("时间进度(%)"), Cell::Num(s.time_progress_pct, PCT1)],
        vec![text("需增速(%)"), num(c.and_then(|c| c.required_pct), PCT1)],
        vec![text("应报企业"), Cell::Num(s.expected.into(), INT)],
        vec![text("已报企业"), Cell::Num(s.reported.into(), INT)],
        vec![text("报送率(%)"), num(s.submission_rate_pct, PCT1)],
        vec![text("停产"), Cell::Num(s.states.stalled as f64, INT)],
        vec![text("半停产"), Cell::Num(s.states.semi_stalled as f64, INT)],
        vec![text("减产"), Cell::Num(s.states.reduced as f64, INT)],
    ];
    rows.extend(s.paragraphs.iter().map(|p| vec![text("分析"), text(p)]));
    rows
}

/// The ranking's header; `kind` names the unit column (县区 or 园区).
fn unit_head(kind: &'static str) -> [&'static str; 13] {
    [
        "位次",
        kind,
        "累计产值(万元)",
        "上年同期(万元)",
        "增速(%)",
        "口径",
        "目标(%)",
        "差距(百分点)",
        "需增速(%)",
        "报送率(%)",
        "预警",
        "位次变化",
        "增速比上期(百分点)",
    ]
}

/// The 全市 row first (no rank), then the units by rank.
fn unit_rows(city: Option<&UnitRow>, units: &[UnitRow]) -> Vec<Vec<Cell>> {
    city.into_iter()
        .chain(units)
        .map(|u| {
            vec![
                num(u.rank.map(f64::from), INT),
                text(if u.kind == "city" {
                    "全市"
                } else {
                    u.name.as_str()
                }),
                Cell::Num(u.ytd_wan, WAN),
                Cell::Num(u.ytd_prev_wan, WAN),
                num(u.growth_pct, PCT1),
                text(if u.estimated { "估算" } else { "" }),
                num(u.target_pct, PCT1),
                num(u.gap_pp, PCT1),
                num(u.required_pct, PCT1),
                num(u.submission_rate_pct, PCT1),
                text(&u.mark_zh),
                text(if u.kind == "city" {
                    String::new()
                } else if u.rank_tied {
                    format!("{}，并列", rank_move_zh(u.rank_move))
                } else {
                    rank_move_zh(u.rank_move)
                }),
                num(u.growth_change_pp, PCT1),
            ]
        })
        .collect()
}

const FINDING_HEAD: [&str; 7] = ["等级", "县区", "类型", "对象", "对象代码", "说明", "备注"];

/// Every finding, most severe first; within a severity the units' before the projects' and
/// the enterprises', then by 县区 and subject.
fn finding_rows(s: &Snapshot, list: &[FindingRow]) -> Vec<Vec<Cell>> {
    let key = |f: &FindingRow| {
        (
            severity_order(&f.severity),
            about_order(&f.rule),
            f.unit.clone(),
            f.subject.clone(),
        )
    };
    let mut sorted: Vec<&FindingRow> = list.iter().collect();
    sorted.sort_by_cached_key(|f| key(f));
    sorted
        .into_iter()
        .map(|f| {
            vec![
                text(&f.severity_zh),
                text(&f.unit),
                text(&f.rule_zh),
                text(&f.subject_name),
                text(&f.subject),
                text(&f.message),
                remark(s, &f.subject),
            ]
        })
        .collect()
}

fn severity_order(s: &str) -> u8 {
    match s {
        "red" => 0,
        "orange" => 1,
        "yellow" => 2,
        "blue" => 3,
        _ => 4,
    }
}

/// Units first: a district behind its target concerns every enterprise in it.
fn about_order(rule: &str) -> u8 {
    match rule.parse::<Rule>().map(Rule::about) {
        Ok(About::Unit) => 0,
        Ok(About::Project) => 1,
        Ok(About::Enterprise) => 2,
        _ => 3,
    }
}

const STATE_HEAD: [&str; 9] = [
    "县区",
    "企业",
    "统一社会信用代码",
    "状态",
    "当月产值(万元)",
    "上年同月(万元)",
    "连续月数",
    "变化",
    "备注",
];

/// 停产半停产减产企业: those in a state, then those that left one.
fn state_rows(s: &Snapshot) -> Vec<Vec<Cell>> {
    s.states
        .list
        .iter()
        .chain(&s.states.recovered)
        .map(|e| {
            vec![
                text(&e.unit),
                text(&e.name),
                text(&e.credit_code),
                // A recovered enterprise is listed with the state it left (上月停产 → 复产).
                text(if e.change == "复产" {
                    format!("上月{}", e.state)
                } else {
                    e.state.clone()
                }),
                num(e.month_wan, WAN),
                num(e.base_wan, WAN),
                Cell::Num(e.consecutive.into(), INT),
                text(&e.change),
                remark(s, &e.credit_code),
            ]
        })
        .collect()
}

const PULL_HEAD: [&str; 8] = [
    "县区",
    "方向",
    "企业",
    "统一社会信用代码",
    "累计产值(万元)",
    "上年同期(万元)",
    "拉动(百分点)",
    "备注",
];

/// 拉动下拉企业: the top pulls, then the top drags.
fn pull_rows(s: &Snapshot) -> Vec<Vec<Cell>> {
    s.pulls
        .iter()
        .map(|p| ("拉动", p))
        .chain(s.drags.iter().map(|p| ("下拉", p)))
        .map(|(k, p)| {
            vec![
                text(&p.unit),
                text(k),
                text(&p.name),
                text(&p.credit_code),
                Cell::Num(p.ytd_wan, WAN),
                Cell::Num(p.ytd_prev_wan, WAN),
                Cell::Num(p.pull_pp, PP2),
                remark(s, &p.credit_code),
            ]
        })
        .collect()
}

const PROJECT_HEAD: [&str; 18] = [
    "县区",
    "项目名称",
    "项目编号",
    "包抓领导",
    "状态",
    "状态起始",
    "本月报送",
    "总投资(万元)",
    "年度计划投资(万元)",
    "本月完成投资(万元)",
    "累计完成投资(万元)",
    "完成率(%)",
    "时间进度(%)",
    "计划开工",
    "计划竣工",
    "计划投产",
    "预警等级",
    "预警",
];

/// 重点项目: every key project with its status, investment against plan and time, warnings.
fn project_rows(s: &Snapshot) -> Vec<Vec<Cell>> {
    s.projects
        .list
        .iter()
        .map(|p| {
            vec![
                text(&p.unit),
                text(&p.name),
                text(&p.id),
                text(&p.owner),
                text(&p.status_zh),
                text(&p.status_since),
                text(if p.reported { "已报" } else { "未报" }),
                Cell::Num(p.total_investment_wan, WAN),
                num(p.planned_year_wan, WAN),
                num(p.invested_month_wan, WAN),
                num(p.invested_ytd_wan, WAN),
                num(p.progress_pct, PCT1),
                Cell::Num(s.time_progress_pct, PCT1),
                text(&p.planned_start),
                text(&p.planned_completion),
                text(&p.planned_production),
                text(&p.severity_zh),
                text(&p.warnings),
            ]
        })
        .collect()
}

#[cfg(test)]
mod tests;
