//! `report.xlsx`: the snapshot as one workbook with a sheet per section (概览, 县区排名, 园区排名,
//! 停产半停产减产企业, 拉动, 项目进度, 预警, 数据质量). Numbers are real numbers with number formats (not
//! text), headers are frozen, and column widths fit Chinese text (a CJK character counts twice).
//! The document's creation time is fixed to the half's start, so regenerating gives the same
//! bytes (rust_xlsxwriter otherwise stamps the current time into docProps/core.xml).

use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, FormatBorder, Workbook, Worksheet};

use super::Half;
use super::model::{FindingRow, Snapshot, UnitRow};
use crate::evaluate::width;

/// One cell of a sheet.
enum Cell {
    Text(String),
    /// A number and its Excel number format.
    Num(f64, &'static str),
    Empty,
}

fn text(s: impl Into<String>) -> Cell {
    Cell::Text(s.into())
}

fn num(v: Option<f64>, f: &'static str) -> Cell {
    v.map_or(Cell::Empty, |x| Cell::Num(x, f))
}

const WAN: &str = "#,##0.0";
const PCT1: &str = "0.0";
const PP2: &str = "0.00";
const INT: &str = "0";

/// Writes a header row and the rows, freezes the header and sets widths to the content.
fn table(ws: &mut Worksheet, head: &[&str], rows: &[Vec<Cell>]) -> anyhow::Result<()> {
    let bold = Format::new()
        .set_bold()
        .set_background_color(0xF3E5E5)
        .set_border(FormatBorder::Thin);
    let mut widths: Vec<usize> = head.iter().map(|h| width(h)).collect();
    for (c, h) in head.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &bold)?;
    }
    for (r, row) in rows.iter().enumerate() {
        let r = r as u32 + 1;
        for (c, cell) in row.iter().enumerate() {
            let col = c as u16;
            let w = match cell {
                Cell::Text(s) => {
                    ws.write_string(r, col, s)?;
                    width(s)
                }
                Cell::Num(v, f) => {
                    ws.write_number_with_format(r, col, *v, &Format::new().set_num_format(*f))?;
                    format!("{v:.1}").len() + 3
                }
                Cell::Empty => 0,
            };
            if let Some(m) = widths.get_mut(c) {
                *m = (*m).max(w);
            }
        }
    }
    for (c, w) in widths.iter().enumerate() {
        ws.set_column_width(c as u16, (*w as f64 + 2.0).min(80.0))?;
    }
    ws.set_freeze_panes(1, 0)?;
    Ok(())
}

fn unit_rows(units: &[UnitRow]) -> Vec<Vec<Cell>> {
    units
        .iter()
        .map(|u| {
            vec![
                num(u.rank.map(f64::from), INT),
                text(&u.name),
                text(&u.code),
                Cell::Num(u.ytd_wan, WAN),
                Cell::Num(u.ytd_prev_wan, WAN),
                num(u.growth_pct, PCT1),
                text(if u.estimated { "估算" } else { "" }),
                num(u.target_pct, PCT1),
                num(u.gap_pp, PCT1),
                num(u.required_pct, PCT1),
                num(u.submission_rate_pct, PCT1),
                text(&u.mark_zh),
            ]
        })
        .collect()
}

const UNIT_HEAD: [&str; 12] = [
    "排名",
    "单位",
    "代码",
    "累计产值(万元)",
    "上年同期(万元)",
    "增速(%)",
    "口径",
    "目标(%)",
    "差距(百分点)",
    "需增速(%)",
    "报送率(%)",
    "预警",
];

const FINDING_HEAD: [&str; 5] = ["等级", "类型", "对象代码", "对象", "说明"];

fn finding_rows(list: &[FindingRow]) -> Vec<Vec<Cell>> {
    list.iter()
        .map(|f| {
            vec![
                text(&f.severity_zh),
                text(&f.rule_zh),
                text(&f.subject),
                text(&f.subject_name),
                text(&f.message),
            ]
        })
        .collect()
}

/// A sheet: its name, its header and its rows.
type Sheet<'a> = (&'a str, &'a [&'a str], Vec<Vec<Cell>>);

/// The workbook's bytes: one sheet per section, in the order officials read them.
pub fn render(s: &Snapshot, half: Half) -> anyhow::Result<Vec<u8>> {
    let mut wb = Workbook::new();
    let created = ExcelDateTime::from_ymd(
        half.month.year().clamp(1900, 9999) as u16,
        half.month.month() as u8,
        if half.half == 1 { 1 } else { 16 },
    )?;
    wb.set_properties(
        &DocProperties::new()
            .set_title(format!("工业经济运行分析 {}", s.half))
            .set_creation_datetime(&created),
    );
    let sheets: [Sheet; 8] = [
        ("概览", &["项目", "数值"], overview_rows(s)),
        ("县区排名", &UNIT_HEAD, unit_rows(&s.districts)),
        ("园区排名", &UNIT_HEAD, unit_rows(&s.zones)),
        ("停产半停产减产企业", &STATE_HEAD, state_rows(s)),
        ("拉动", &PULL_HEAD, pull_rows(s)),
        ("项目进度", &PROJECT_HEAD, project_rows(s)),
        ("预警", &FINDING_HEAD, finding_rows(&s.alerts.list)),
        ("数据质量", &FINDING_HEAD, finding_rows(&s.quality)),
    ];
    for (name, head, rows) in &sheets {
        let ws = wb.add_worksheet().set_name(*name)?;
        table(ws, head, rows)?;
    }
    super::industry::sheet::add_sheets(&mut wb, s)?;
    Ok(wb.save_to_buffer()?)
}

/// 概览: the city against its targets, submissions, the three states, and the analysis text.
fn overview_rows(s: &Snapshot) -> Vec<Vec<Cell>> {
    let c = s.city.as_ref();
    let mut rows = vec![
        vec![text("半月"), text(&s.half)],
        vec![
            text("数据期"),
            text(format!("{}（{}）", s.period_label, s.period)),
        ],
        vec![text("报送截止"), text(&s.deadline)],
        vec![text("数据版本"), Cell::Num(s.vintage as f64, INT)],
        vec![text("累计产值(万元)"), num(c.map(|c| c.ytd_wan), WAN)],
        vec![text("增速(%)"), num(c.and_then(|c| c.growth_pct), PCT1)],
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

const STATE_HEAD: [&str; 8] = [
    "统一社会信用代码",
    "企业",
    "县区",
    "状态",
    "当月产值(万元)",
    "上年同月(万元)",
    "连续月数",
    "变化",
];

/// 停产半停产减产企业: those in a state, then those that left one.
fn state_rows(s: &Snapshot) -> Vec<Vec<Cell>> {
    s.states
        .list
        .iter()
        .chain(&s.states.recovered)
        .map(|e| {
            vec![
                text(&e.credit_code),
                text(&e.name),
                text(&e.unit),
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
            ]
        })
        .collect()
}

const PULL_HEAD: [&str; 7] = [
    "方向",
    "统一社会信用代码",
    "企业",
    "县区",
    "累计产值(万元)",
    "上年同期(万元)",
    "拉动(百分点)",
];

/// 拉动: the top pulls, then the top drags.
fn pull_rows(s: &Snapshot) -> Vec<Vec<Cell>> {
    s.pulls
        .iter()
        .map(|p| ("拉动", p))
        .chain(s.drags.iter().map(|p| ("下拉", p)))
        .map(|(k, p)| {
            vec![
                text(k),
                text(&p.credit_code),
                text(&p.name),
                text(&p.unit),
                Cell::Num(p.ytd_wan, WAN),
                Cell::Num(p.ytd_prev_wan, WAN),
                Cell::Num(p.pull_pp, PP2),
            ]
        })
        .collect()
}

const PROJECT_HEAD: [&str; 18] = [
    "项目编号",
    "项目名称",
    "县区",
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

/// 项目进度: every key project with its status, investment against plan and time, warnings.
fn project_rows(s: &Snapshot) -> Vec<Vec<Cell>> {
    s.projects
        .list
        .iter()
        .map(|p| {
            vec![
                text(&p.id),
                text(&p.name),
                text(&p.unit),
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
