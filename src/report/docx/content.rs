//! What the Word version says, as plain data: the report's sections in the bureau's order,
//! each with its analysis paragraphs, its charts and its main table (city overview, district
//! ranking, stalled enterprises by district, key projects by unit). Figures are formatted as
//! the page prints them ([`crate::analysis::fmt_pct`], [`crate::analysis::fmt_wan`]).

use super::Chart;
use crate::analysis::rounding::signed;
use crate::analysis::{fmt_pct, fmt_wan};
use crate::period::Period;
use crate::report::change::{delta_zh, rank_move_zh};
use crate::report::charts::INDUSTRY_BARS;
use crate::report::industry::IndustryRow;
use crate::report::model::{Snapshot, UnitRow};
use crate::report::sections;
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
const HEADINGS: [&str; 10] = [
    "总体运行",
    "分县区",
    "分行业",
    "企业生产经营",
    "重点项目",
    "存在问题",
    "下步工作建议",
    "反馈办理情况",
    "按旬监测",
    "预测预警",
];
const OVERALL: usize = 0;
const DISTRICTS: usize = 1;
const INDUSTRIES: usize = 2;
const ENTERPRISES: usize = 3;
const PROJECTS: usize = 4;
const PROBLEMS: usize = 5;
const STEPS: usize = 6;
const ANSWERS: usize = 7;
const XUN: usize = 8;
const FORECAST: usize = 9;

/// The section a chart belongs to, by its title.
fn part_of_chart(title: &str) -> usize {
    if title.contains("县区") || title.contains("园区") {
        DISTRICTS
    } else if title.contains("行业") {
        INDUSTRIES
    } else if title.contains("停产") || title.contains("减产") {
        ENTERPRISES
    } else if title.contains("项目") {
        PROJECTS
    } else {
        OVERALL
    }
}

/// The document's sections from the snapshot and the titles of its charts: each section's own
/// text ([`crate::report::text::SectionText`], 存在问题 and 下步工作建议 from the advice), its
/// charts and its tables.
pub fn sections(s: &Snapshot, charts: &[Chart]) -> Vec<Section> {
    let mut out: Vec<Section> = HEADINGS
        .iter()
        .map(|&heading| Section {
            heading,
            ..Section::default()
        })
        .collect();
    let t = &s.text;
    out[OVERALL].paragraphs = t.overall.clone();
    out[DISTRICTS].paragraphs = t.units.clone();
    out[INDUSTRIES].paragraphs = t.industries.clone();
    out[ENTERPRISES].paragraphs = t.enterprises.clone();
    out[ENTERPRISES].paragraphs.extend(overhaul(s));
    out[PROJECTS].paragraphs = t.projects.clone();
    out[PROBLEMS].paragraphs = s.advice.problems.clone();
    out[PROBLEMS].paragraphs.extend(t.alerts.iter().cloned());
    out[STEPS].paragraphs = s.advice.steps.clone();
    out[ANSWERS].paragraphs = t.answers.clone();
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
    out[INDUSTRIES].tables.extend(industries(s));
    out[ENTERPRISES].tables.extend(states_by_unit(s));
    out[PROJECTS].tables.extend(projects(s));
    out[ANSWERS].tables.extend(answers(s));
    out[XUN].paragraphs = s.xun.paragraphs.clone();
    out[XUN].tables.extend(xun(s));
    out[FORECAST].paragraphs = s.forecast.paragraphs.clone();
    out[FORECAST].tables.extend(forecast(s));
    out[PROBLEMS].paragraphs.push(format!(
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

/// "丁炼化有限公司为计划检修，不列入帮扶。", one sentence for the enterprises on a planned
/// overhaul, as the page says it under its stall table.
fn overhaul(s: &Snapshot) -> Option<String> {
    (!s.overhaul.is_empty()).then(|| {
        let names: Vec<&str> = s.overhaul.iter().map(|o| o.name.as_str()).collect();
        format!("{}为计划检修，不列入帮扶。", names.join("、"))
    })
}

/// 分行业: the largest industries as the page lists them, then the configured groups.
fn industries(s: &Snapshot) -> Option<Table> {
    let ind = &s.industries;
    if ind.divisions.is_empty() {
        return None;
    }
    let row = |name: String, r: &IndustryRow| {
        vec![
            name,
            r.enterprises.to_string(),
            wan(Some(r.ytd_wan)),
            pct(r.growth_pct),
            pct(r.share_pct),
            r.pull_pp.map_or_else(|| "—".into(), |x| signed(x, 2)),
        ]
    };
    let rows = ind
        .divisions
        .iter()
        .take(INDUSTRY_BARS)
        .map(|r| row(format!("{} {}", r.code, r.name), r))
        .chain(ind.groups.iter().map(|g| row(g.name.clone(), g)))
        .collect();
    Some(Table {
        caption: format!(
            "主要行业和重点行业分组产值增速（{}，单位：家、万元、%、百分点）",
            s.period_label
        ),
        head: vec!["行业", "企业数", "累计产值", "增速", "占全市", "拉动"],
        rows,
        widths: vec![8, 2, 4, 2, 2, 2],
        numeric: vec![false, true, true, true, true, true],
    })
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
            match (u.rank, u.rank_tied) {
                (Some(r), true) => format!("{r}（并列）"),
                (Some(r), false) => r.to_string(),
                (None, _) => String::new(),
            },
            if u.kind == "city" {
                String::new()
            } else {
                rank_move_zh(u.rank_move)
            },
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
        head: vec![
            "位次",
            "位次变化",
            kind,
            "累计产值",
            "增速",
            "目标",
            "差距",
            "报送率",
        ],
        rows,
        widths: vec![3, 3, 5, 5, 3, 3, 3, 3],
        numeric: vec![true, true, false, true, true, true, true, true],
    })
}

/// 停产半停产减产企业 by district as the page counts them ([`sections::stalls_by_unit`]), the
/// 全市 total first: each count, the total's change since last month (较上月), how many are new
/// this month, how many recovered, how many on a planned overhaul.
fn states_by_unit(s: &Snapshot) -> Option<Table> {
    let st = &s.states;
    if st.list.is_empty() && st.recovered.is_empty() {
        return None;
    }
    let mut rows = sections::stalls_by_unit(s);
    rows.rotate_right(1);
    let rows = rows
        .iter()
        .map(|r| {
            let mut v = vec![r.name.clone()];
            v.extend([r.stalled, r.semi_stalled, r.reduced, r.total].map(|n| n.to_string()));
            v.push(r.change.map_or_else(|| "—".into(), |c| delta_zh(c.total)));
            v.extend([r.new, r.recovered, r.overhaul].map(|n| n.to_string()));
            v
        })
        .collect();
    Some(Table {
        caption: format!("停产半停产减产企业分县区情况（{}，单位：家）", month(s)),
        head: vec![
            "县区",
            "停产",
            "半停产",
            "减产",
            "合计",
            "较上月",
            "其中新增",
            "复产",
            "计划检修",
        ],
        rows,
        widths: vec![5, 2, 2, 2, 2, 3, 2, 2, 2],
        numeric: vec![false, true, true, true, true, true, true, true, true],
    })
}

/// 按旬监测: each unit's electricity growth in the latest 旬, the city first.
fn xun(s: &Snapshot) -> Option<Table> {
    let x = &s.xun;
    if x.units.is_empty() {
        return None;
    }
    let rows = x
        .units
        .iter()
        .map(|u| {
            vec![
                u.name.clone(),
                u.enterprises.to_string(),
                u.growth_pct.map_or_else(|| "—".into(), fmt_pct),
            ]
        })
        .collect();
    Some(Table {
        caption: format!("{}日均用电量同比（单位：户、%）", x.xun_zh),
        head: vec!["单位", "可比企业", "增速"],
        rows,
        widths: vec![3, 2, 2],
        numeric: vec![false, true, true],
    })
}

/// 预测预警: each unit's estimate of the month, its interval and method, the year end against
/// the target; the city first.
fn forecast(s: &Snapshot) -> Option<Table> {
    let f = &s.forecast;
    f.units.first()?.month?;
    let pct = |v: Option<f64>| v.map_or_else(|| "—".into(), fmt_pct);
    let rows = f
        .units
        .iter()
        .map(|u| {
            let band = match u.month.map(|m| (m.low, m.high)) {
                Some((Some(l), Some(h))) => format!("{}—{}", fmt_pct(l), fmt_pct(h)),
                _ => "—".into(),
            };
            vec![
                u.name.clone(),
                pct(u.month.map(|m| m.pct)),
                band,
                if u.month.is_some() {
                    u.method_zh.clone()
                } else {
                    "不作预测".into()
                },
                pct(u.year_end_pct),
                pct(u.target_pct),
                u.gap_pp.map_or_else(|| "—".into(), |g| signed(g, 1)),
            ]
        })
        .collect();
    Some(Table {
        caption: format!("{}产值增速估算及全年预计（单位：%、百分点）", f.span_zh),
        head: vec!["单位", "估算", "区间", "方法", "全年预计", "目标", "差距"],
        rows,
        widths: vec![3, 2, 4, 2, 2, 2, 2],
        numeric: vec![false, true, true, false, true, true, true],
    })
}

/// 反馈办理情况: each unit's answers and 反馈及时率, then the city's.
fn answers(s: &Snapshot) -> Option<Table> {
    let l = &s.answer_loop;
    if l.units.is_empty() {
        return None;
    }
    let rows = l
        .units
        .iter()
        .chain([&l.total])
        .map(|u| {
            let mut v = vec![u.name.clone()];
            v.extend(
                [
                    u.cases,
                    u.due,
                    u.answered_on_time,
                    u.answered_late,
                    u.overdue,
                ]
                .map(|n| n.to_string()),
            );
            v.push(u.on_time_pct.map_or_else(|| "—".into(), fmt_pct));
            v
        })
        .collect();
    Some(Table {
        caption: format!("交办事项反馈情况（截至{}，单位：件、%）", l.as_of_zh),
        head: vec![
            "单位",
            "交办",
            "已到期",
            "按期反馈",
            "超期反馈",
            "超期未反馈",
            "反馈及时率",
        ],
        rows,
        widths: vec![5, 2, 2, 2, 2, 3, 3],
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
    fn charts_find_their_sections() {
        assert_eq!(part_of_chart("1—10月各县区增速（%）"), DISTRICTS);
        assert_eq!(part_of_chart("1—10月各园区增速（%）"), DISTRICTS);
        assert_eq!(part_of_chart("1—10月分行业增速（%）"), INDUSTRIES);
        assert_eq!(part_of_chart("停产、半停产、减产企业数（家）"), ENTERPRISES);
        assert_eq!(
            part_of_chart("全市规模以上工业总产值累计增速（%）"),
            OVERALL
        );
    }
}
