//! What the Word version says, as plain data: the report's sections in the bureau's order,
//! each with its analysis paragraphs, its charts and its main table (city overview, district
//! ranking, stalled enterprises by district, key projects by unit). Figures are formatted as
//! the page prints them ([`crate::analysis::fmt_pct`], [`crate::analysis::fmt_wan`]).

use std::collections::BTreeMap;

use super::Chart;
use crate::analysis::{fmt_pct, fmt_wan};
use crate::period::Period;
use crate::report::model::{EnterpriseRow, Snapshot, UnitRow};
use crate::report::xlsx;

/// One section of the document.
#[derive(Clone, Debug, Default)]
pub struct Section {
    /// `总体运行` (the writer numbers the sections that have something to say).
    pub heading: &'static str,
    pub paragraphs: Vec<String>,
    /// Indexes into the charts passed to the writer.
    pub charts: Vec<usize>,
    pub tables: Vec<Table>,
}

/// A table as the document shows it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Table {
    /// `表1　各县区规模以上工业产值增速（单位：万元、%）`.
    pub caption: String,
    pub head: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
    /// Relative column widths.
    pub widths: Vec<u32>,
    /// Columns of figures (right-aligned).
    pub numeric: Vec<bool>,
}

/// The sections, in the order of the page.
const HEADINGS: [&str; 5] = [
    "总体运行",
    "分县区情况",
    "企业生产经营",
    "重点项目",
    "预警与数据质量",
];
const OVERALL: usize = 0;
const DISTRICTS: usize = 1;
const ENTERPRISES: usize = 2;
const PROJECTS: usize = 3;
const ALERTS: usize = 4;

/// The section an analysis paragraph belongs to, by the words it opens with (the order of
/// [`crate::report::text::paragraphs`]); one not recognised stays with the overall picture
/// rather than being dropped.
fn part_of_paragraph(p: &str) -> usize {
    if p.starts_with("分县区") || p.starts_with("分园区") {
        DISTRICTS
    } else if p.starts_with("从企业") || p.starts_with("从拉动") {
        ENTERPRISES
    } else if p.starts_with("本期共有预警") {
        ALERTS
    } else {
        OVERALL
    }
}

/// The section a chart belongs to, by its title.
fn part_of_chart(title: &str) -> usize {
    if title.contains("县区") || title.contains("园区") {
        DISTRICTS
    } else if title.contains("停产") || title.contains("减产") {
        ENTERPRISES
    } else if title.contains("项目") {
        PROJECTS
    } else {
        OVERALL
    }
}

/// The document's sections from the snapshot and the titles of its charts.
pub fn sections(s: &Snapshot, charts: &[Chart]) -> Vec<Section> {
    let mut out: Vec<Section> = HEADINGS
        .iter()
        .map(|&heading| Section {
            heading,
            ..Section::default()
        })
        .collect();
    for p in &s.paragraphs {
        out[part_of_paragraph(p)].paragraphs.push(p.clone());
    }
    if !s.projects.summary.is_empty() {
        out[PROJECTS].paragraphs.push(s.projects.summary.clone());
    }
    for (i, (title, _)) in charts.iter().enumerate() {
        out[part_of_chart(title)].charts.push(i);
    }
    out[OVERALL].tables.extend(overview(s));
    out[DISTRICTS]
        .tables
        .extend(ranking(s.city.as_ref(), &s.districts, "县区"));
    out[DISTRICTS]
        .tables
        .extend(ranking(s.city.as_ref(), &s.zones, "园区"));
    out[ENTERPRISES].tables.extend(states_by_unit(s));
    out[PROJECTS].tables.extend(projects(s));
    out[ALERTS].paragraphs.push(format!(
        "停产半停产减产企业、预警和重点项目的完整名单见同期工作簿 report.xlsx 的“{}”“{}”“{}”，均可按县区筛选。",
        xlsx::SHEET_STATES,
        xlsx::SHEET_ALERTS,
        xlsx::SHEET_PROJECTS
    ));
    // Tables are numbered through the document.
    let mut n = 0;
    for t in out.iter_mut().flat_map(|s| s.tables.iter_mut()) {
        n += 1;
        t.caption = format!("表{n}　{}", t.caption);
    }
    out
}

/// `10月`: the month of the period, for figures of the month itself.
fn month(s: &Snapshot) -> String {
    s.period
        .parse::<Period>()
        .map_or_else(|_| s.period.clone(), |p| format!("{}月", p.month()))
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), |x| fmt_pct(x).trim_end_matches('%').into())
}

fn wan(v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), |x| fmt_wan((x * 10_000.0).round() as i64))
}

/// 全市主要指标: the city against its target and the submissions.
fn overview(s: &Snapshot) -> Option<Table> {
    let c = s.city.as_ref()?;
    let row = |k: &str, v: String| vec![k.to_string(), v];
    Some(Table {
        caption: format!("全市主要指标（{}）", s.period_label),
        head: vec!["指标", "数值"],
        rows: vec![
            row("规上工业累计产值（万元）", wan(Some(c.ytd_wan))),
            row("同比增速（%）", pct(c.growth_pct)),
            row("年度目标（%）", pct(c.target_pct)),
            row("与目标差距（百分点）", pct(c.gap_pp)),
            row("时间进度（%）", pct(Some(s.time_progress_pct))),
            row("完成全年目标剩余月份需增速（%）", pct(c.required_pct)),
            row(
                "应报 / 已报企业（家）",
                format!("{} / {}", s.expected, s.reported),
            ),
            row("报送率（%）", pct(s.submission_rate_pct)),
        ],
        widths: vec![3, 2],
        numeric: vec![false, true],
    })
}

/// The ranking of districts (or zones) with the 全市 row first.
fn ranking(city: Option<&UnitRow>, units: &[UnitRow], kind: &'static str) -> Option<Table> {
    if units.is_empty() {
        return None;
    }
    let row = |u: &UnitRow, name: &str| {
        vec![
            u.rank.map_or_else(String::new, |r| r.to_string()),
            name.to_string(),
            wan(Some(u.ytd_wan)),
            pct(u.growth_pct),
            pct(u.target_pct),
            pct(u.gap_pp),
            pct(u.submission_rate_pct),
        ]
    };
    let rows = city
        .map(|c| row(c, "全市"))
        .into_iter()
        .chain(units.iter().map(|u| row(u, &u.name)))
        .collect();
    Some(Table {
        caption: format!("各{kind}规上工业增速排名（单位：万元、%）"),
        head: vec!["位次", kind, "累计产值", "增速", "目标", "差距", "报送率"],
        rows,
        widths: vec![2, 5, 5, 3, 3, 3, 3],
        numeric: vec![true, false, true, true, true, true, true],
    })
}

/// Counts of one unit: stalled, semi-stalled, reduced, new this month, recovered.
#[derive(Default)]
struct Counts([usize; 5]);

impl Counts {
    fn add(&mut self, e: &EnterpriseRow, recovered: bool) {
        let c = &mut self.0;
        if recovered {
            c[4] += 1;
            return;
        }
        match e.state.as_str() {
            "停产" => c[0] += 1,
            "半停产" => c[1] += 1,
            _ => c[2] += 1,
        }
        if e.change == "新增" {
            c[3] += 1;
        }
    }

    fn row(&self, name: &str) -> Vec<String> {
        let c = &self.0;
        let mut r = vec![name.to_string()];
        r.extend([c[0], c[1], c[2], c[0] + c[1] + c[2], c[3], c[4]].map(|n| n.to_string()));
        r
    }
}

/// 停产半停产减产企业 by district: counts, how many are new this month, how many recovered,
/// the districts in the ranking's order and the 全市 total first.
fn states_by_unit(s: &Snapshot) -> Option<Table> {
    let st = &s.states;
    if st.list.is_empty() && st.recovered.is_empty() {
        return None;
    }
    let order: Vec<&str> = s
        .districts
        .iter()
        .chain(&s.zones)
        .map(|u| u.name.as_str())
        .collect();
    let rank = |name: &str| order.iter().position(|n| *n == name).unwrap_or(order.len());
    let mut by: BTreeMap<(usize, &str), Counts> = BTreeMap::new();
    let mut total = Counts::default();
    for (e, recovered) in st
        .list
        .iter()
        .map(|e| (e, false))
        .chain(st.recovered.iter().map(|e| (e, true)))
    {
        by.entry((rank(&e.unit), e.unit.as_str()))
            .or_default()
            .add(e, recovered);
        total.add(e, recovered);
    }
    let rows = std::iter::once(total.row("全市"))
        .chain(by.iter().map(|((_, name), c)| c.row(name)))
        .collect();
    Some(Table {
        caption: format!("停产半停产减产企业分县区情况（{}，单位：家）", month(s)),
        head: vec!["县区", "停产", "半停产", "减产", "合计", "其中新增", "复产"],
        rows,
        widths: vec![5, 2, 2, 2, 2, 2, 2],
        numeric: vec![false, true, true, true, true, true, true],
    })
}

/// 重点项目 by unit: how many in each status, plan and investment so far.
fn projects(s: &Snapshot) -> Option<Table> {
    let p = &s.projects;
    if p.units.is_empty() {
        return None;
    }
    let rows = p
        .city
        .iter()
        .map(|c| ("全市", c))
        .chain(p.units.iter().map(|u| (u.name.as_str(), u)))
        .map(|(name, u)| {
            vec![
                name.to_string(),
                u.total.to_string(),
                u.planned.to_string(),
                u.started.to_string(),
                u.completed.to_string(),
                u.producing.to_string(),
                wan(Some(u.planned_year_wan)),
                wan(Some(u.invested_ytd_wan)),
                pct(u.progress_pct),
            ]
        })
        .collect();
    Some(Table {
        caption: "重点项目分县区推进情况（单位：个、万元、%）".into(),
        head: vec![
            "县区",
            "项目数",
            "未开工",
            "在建",
            "竣工未投产",
            "已投产",
            "年度计划投资",
            "累计完成投资",
            "完成率",
        ],
        rows,
        widths: vec![4, 2, 2, 2, 3, 2, 4, 4, 2],
        numeric: vec![false, true, true, true, true, true, true, true, true],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraphs_and_charts_find_their_sections() {
        assert_eq!(part_of_paragraph("1-10月，全市规模以上工业增加值"), OVERALL);
        assert_eq!(part_of_paragraph("分县区看，3个县区"), DISTRICTS);
        assert_eq!(part_of_paragraph("分园区看，"), DISTRICTS);
        assert_eq!(part_of_paragraph("从企业看，应报"), ENTERPRISES);
        assert_eq!(part_of_paragraph("从拉动看，"), ENTERPRISES);
        assert_eq!(part_of_paragraph("本期共有预警12项"), ALERTS);
        assert_eq!(part_of_paragraph("一句新话"), OVERALL);
        assert_eq!(part_of_chart("各县区增速排名"), DISTRICTS);
        assert_eq!(part_of_chart("停产半停产减产企业数"), ENTERPRISES);
        assert_eq!(part_of_chart("全市累计增速"), OVERALL);
    }

    fn enterprise(unit: &str, state: &str, change: &str) -> EnterpriseRow {
        EnterpriseRow {
            credit_code: String::new(),
            name: String::new(),
            unit: unit.into(),
            state: state.into(),
            month_wan: None,
            base_wan: None,
            consecutive: 1,
            change: change.into(),
        }
    }

    #[test]
    fn counts_add_up_by_state_new_and_recovered() {
        let mut c = Counts::default();
        c.add(&enterprise("东城区", "停产", "新增"), false);
        c.add(&enterprise("东城区", "停产", "持续"), false);
        c.add(&enterprise("东城区", "减产", "新增"), false);
        c.add(&enterprise("东城区", "半停产", "复产"), true);
        // 停产 2, 半停产 0, 减产 1, 合计 3, 新增 2, 复产 1.
        assert_eq!(c.row("东城区"), ["东城区", "2", "0", "1", "3", "2", "1"]);
    }
}
