//! 存在问题 and 下步工作建议, generated from the snapshot's findings: which units to 督导 (below
//! target, big gaps, rank fallen), which enterprises to 帮扶 (stalled long, big drags; not those on
//! a planned overhaul), which data to 核实 (data-quality findings, divergences) and which projects
//! to push. [`findings`] gathers the facts from a snapshot into a plain [`Findings`] and [`advise`]
//! writes the sentences from it alone, so a test can state the facts by hand and read the text.

use std::str::FromStr;

use serde::Serialize;

use super::model::Snapshot;
use crate::rules::Rule;

/// The two closing sections of the report, one sentence per item.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Advice {
    /// 存在问题.
    pub problems: Vec<String>,
    /// 下步工作建议.
    pub steps: Vec<String>,
}

/// A stall that has lasted this many months or more calls for 帮扶 by name.
pub const LONG_STALL: u32 = 3;
/// A gap to target this many percentage points or more is a big gap (the red mark's default).
pub const BIG_GAP_PP: f64 = 3.0;
/// Names listed in one sentence before "等N家".
const NAMES: usize = 5;
/// Drags named for 帮扶.
const DRAGS: usize = 3;

/// What the advice is written from.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Findings {
    /// The city's gap to its annual target, percentage points.
    pub city_gap_pp: Option<f64>,
    /// The growth the remaining months need to reach the annual target.
    pub city_required_pct: Option<f64>,
    pub months_left: u32,
    /// Districts and zones below their target, furthest behind first: (name, gap).
    pub below_target: Vec<(String, f64)>,
    /// Units whose rank fell since the previous period: (name, rank then, rank now).
    pub falling: Vec<(String, u32, u32)>,
    pub stalled: usize,
    pub semi_stalled: usize,
    pub reduced: usize,
    /// In a state now, not last month.
    pub new_in_state: usize,
    /// Enterprises stalled or semi-stalled [`LONG_STALL`] months or more, not on a planned
    /// overhaul, longest first.
    pub long_stalled: Vec<String>,
    /// The biggest drags on the city's growth, not on a planned overhaul: (name, pull).
    pub drags: Vec<(String, f64)>,
    /// Enterprises on a planned overhaul (计划检修).
    pub overhaul: Vec<String>,
    /// Data-quality findings other than 未报, by kind: (kind, count).
    pub data: Vec<(String, usize)>,
    /// Enterprises that have not reported (未报).
    pub missing: usize,
    /// Units with a low submission rate.
    pub low_submission: Vec<String>,
    /// Project warnings by kind: (kind, count), only kinds with some.
    pub projects: Vec<(String, usize)>,
}

/// "1.2": the magnitude of a figure as the report prints it (one decimal, its rounding).
fn one(x: f64) -> String {
    crate::analysis::fmt_pct(x.abs())
        .trim_end_matches('%')
        .to_string()
}

/// "甲、乙、丙" or, past [`NAMES`], "甲、乙、丙、丁、戊等7家".
fn names(list: &[String], unit: &str) -> String {
    let shown = list[..list.len().min(NAMES)].join("、");
    if list.len() > NAMES {
        format!("{shown}等{}{unit}", list.len())
    } else {
        shown
    }
}

/// "产值电量背离3项、累计数不一致2项".
fn counts(list: &[(String, usize)], unit: &str) -> String {
    list.iter()
        .map(|(k, n)| format!("{k}{n}{unit}"))
        .collect::<Vec<_>>()
        .join("、")
}

/// 一是…, 二是…: the order words of the bureau's numbered sentences.
const ORDINALS: [&str; 10] = [
    "一是", "二是", "三是", "四是", "五是", "六是", "七是", "八是", "九是", "十是",
];

fn numbered(items: Vec<String>) -> Vec<String> {
    items
        .into_iter()
        .enumerate()
        .map(|(i, t)| format!("{}{t}", ORDINALS.get(i).copied().unwrap_or("")))
        .collect()
}

fn city_problem(f: &Findings) -> Option<String> {
    let gap = f.city_gap_pp.filter(|g| *g < 0.0)?;
    let mut t = format!("全市增速低于年度目标{}个百分点", one(gap));
    if let Some(r) = f.city_required_pct.filter(|_| f.months_left > 0) {
        let verb = if r < 0.0 { "下降" } else { "增长" };
        t.push_str(&format!(
            "，要完成全年目标，后{}个月需{verb}{}%",
            f.months_left,
            one(r)
        ));
    }
    t.push_str("，完成全年目标压力较大。");
    Some(t)
}

fn unit_problem(f: &Findings) -> Option<String> {
    let mut parts = Vec::new();
    if let Some((worst, gap)) = f.below_target.first() {
        let list: Vec<String> = f.below_target.iter().map(|(n, _)| n.clone()).collect();
        parts.push(format!(
            "{}增速低于目标，其中{worst}低于目标{}个百分点",
            names(&list, "个单位"),
            one(*gap)
        ));
    }
    if !f.falling.is_empty() {
        let list: Vec<String> = f
            .falling
            .iter()
            .map(|(n, from, to)| format!("{n}（第{from}位降至第{to}位）"))
            .collect();
        parts.push(format!("{}位次后移", names(&list, "个单位")));
    }
    (!parts.is_empty()).then(|| format!("县区发展不平衡，{}。", parts.join("；")))
}

fn enterprise_problem(f: &Findings) -> Option<String> {
    let total = f.stalled + f.semi_stalled + f.reduced;
    if total == 0 && f.drags.is_empty() {
        return None;
    }
    let mut t = String::from("部分企业生产经营困难");
    if total > 0 {
        t.push_str(&format!(
            "，停产{}家、半停产{}家、减产{}家，其中较上月新增{}家",
            f.stalled, f.semi_stalled, f.reduced, f.new_in_state
        ));
    }
    if !f.drags.is_empty() {
        let list: Vec<String> = f
            .drags
            .iter()
            .map(|(n, pp)| format!("{n}（下拉{:.2}个百分点）", pp.abs()))
            .collect();
        t.push_str(&format!("；{}下拉全市增长较多", list.join("、")));
    }
    t.push('。');
    Some(t)
}

fn project_problem(f: &Findings) -> Option<String> {
    (!f.projects.is_empty()).then(|| {
        format!(
            "重点项目推进不够有力，{}。",
            counts(&f.projects, "个").replace("项目", "")
        )
    })
}

fn data_problem(f: &Findings) -> Option<String> {
    let mut parts = Vec::new();
    if !f.data.is_empty() {
        parts.push(counts(&f.data, "项"));
    }
    if f.missing > 0 {
        parts.push(format!("{}家企业未报", f.missing));
    }
    if !f.low_submission.is_empty() {
        parts.push(format!("{}报送率偏低", names(&f.low_submission, "个单位")));
    }
    (!parts.is_empty()).then(|| format!("数据质量有待提高，{}。", parts.join("，")))
}

/// Units to 督导: below target (a big gap named first) and rank fallen, each once.
fn supervise_step(f: &Findings) -> Option<String> {
    let mut list: Vec<String> = Vec::new();
    for n in f
        .below_target
        .iter()
        .map(|(n, _)| n)
        .chain(f.falling.iter().map(|(n, _, _)| n))
    {
        if !list.contains(n) {
            list.push(n.clone());
        }
    }
    if list.is_empty() {
        return None;
    }
    let mut t = format!(
        "加强对{}的督导，逐月跟踪目标完成情况，帮助查找增速落后的原因",
        names(&list, "个单位")
    );
    let big: Vec<String> = f
        .below_target
        .iter()
        .filter(|(_, g)| *g <= -BIG_GAP_PP)
        .map(|(n, _)| n.clone())
        .collect();
    if !big.is_empty() {
        t.push_str(&format!(
            "；{}与目标差距在{BIG_GAP_PP:.0}个百分点以上，列为重点督导对象",
            names(&big, "个单位")
        ));
    }
    t.push('。');
    Some(t)
}

/// Enterprises to 帮扶: the biggest drags and the long stalls, each once; overhauls apart.
fn help_step(f: &Findings) -> Option<String> {
    let mut list: Vec<String> = f.drags.iter().map(|(n, _)| n.clone()).collect();
    for n in &f.long_stalled {
        if !list.contains(n) {
            list.push(n.clone());
        }
    }
    let mut t = String::new();
    if !list.is_empty() {
        t.push_str(&format!(
            "对下拉全市增长较多和连续停产{LONG_STALL}个月以上的{}开展帮扶，逐企摸清停产减产原因，协调解决要素保障和市场订单问题",
            names(&list, "家企业")
        ));
    }
    if !f.overhaul.is_empty() {
        if !t.is_empty() {
            t.push('；');
        }
        t.push_str(&format!(
            "{}为计划检修，跟踪检修进度，督促按期复产",
            names(&f.overhaul, "家")
        ));
    }
    (!t.is_empty()).then(|| t + "。")
}

/// Data to 核实.
fn verify_step(f: &Findings) -> Option<String> {
    let mut parts = Vec::new();
    if !f.data.is_empty() {
        parts.push(format!(
            "请相关县区核实{}涉及的企业数据",
            counts(&f.data, "项")
        ));
    }
    if f.missing > 0 {
        parts.push(format!("督促{}家未报企业尽快报送", f.missing));
    }
    if !f.low_submission.is_empty() {
        parts.push(format!("{}提高报送率", names(&f.low_submission, "个单位")));
    }
    (!parts.is_empty()).then(|| format!("{}。", parts.join("，")))
}

fn project_step(f: &Findings) -> Option<String> {
    (!f.projects.is_empty()).then(|| {
        let kinds: Vec<String> = f
            .projects
            .iter()
            .map(|(k, _)| k.replace("项目", ""))
            .collect();
        format!(
            "对{}的重点项目逐个会商，倒排工期，加快推进。",
            kinds.join("、")
        )
    })
}

/// The two sections written from the findings; a section with nothing to say is empty.
pub fn advise(f: &Findings) -> Advice {
    let problems = [
        city_problem(f),
        unit_problem(f),
        enterprise_problem(f),
        project_problem(f),
        data_problem(f),
    ];
    let steps = [
        supervise_step(f),
        help_step(f),
        project_step(f),
        verify_step(f),
    ];
    Advice {
        problems: numbered(problems.into_iter().flatten().collect()),
        steps: numbered(steps.into_iter().flatten().collect()),
    }
}

/// The districts, then the zones, whose rank fell since 1—(N−1)月: (name, rank then, rank now),
/// furthest fallen first (then by rank now), each kind apart since each is ranked apart.
pub fn falling(s: &Snapshot) -> Vec<(String, u32, u32)> {
    let mut out = Vec::new();
    for units in [&s.districts, &s.zones] {
        let mut fell: Vec<(i32, String, u32, u32)> = units
            .iter()
            .filter_map(|u| {
                let m = u.rank_move.filter(|m| *m < 0)?;
                Some((m, u.name.clone(), u.rank_prev?, u.rank?))
            })
            .collect();
        fell.sort_by_key(|(m, _, _, now)| (*m, *now));
        out.extend(fell.into_iter().map(|(_, n, then, now)| (n, then, now)));
    }
    out
}

/// The facts of a snapshot the advice is written from.
pub fn findings(s: &Snapshot) -> Findings {
    let on_overhaul = |code: &str| s.overhaul.iter().any(|o| o.credit_code == code);
    let mut below_target: Vec<(String, f64)> = s
        .districts
        .iter()
        .chain(&s.zones)
        .filter_map(|u| u.gap_pp.filter(|g| *g < 0.0).map(|g| (u.name.clone(), g)))
        .collect();
    below_target.sort_by(|a, b| a.1.total_cmp(&b.1));
    let mut long: Vec<&super::model::EnterpriseRow> = s
        .states
        .list
        .iter()
        .filter(|e| e.state != "减产" && e.consecutive >= LONG_STALL)
        .filter(|e| !on_overhaul(&e.credit_code))
        .collect();
    long.sort_by_key(|e| std::cmp::Reverse(e.consecutive));
    let mut data: Vec<(String, usize)> = Vec::new();
    let mut missing = 0;
    let mut low_submission = Vec::new();
    for q in &s.quality {
        match Rule::from_str(&q.rule) {
            Ok(Rule::EnterpriseMissing) => missing += 1,
            Ok(Rule::UnitLowSubmissionRate) => low_submission.push(q.subject_name.clone()),
            // Told among the projects' warnings.
            Ok(Rule::ProjectMissing) => {}
            _ => match data.iter_mut().find(|(k, _)| *k == q.rule_zh) {
                Some((_, n)) => *n += 1,
                None => data.push((q.rule_zh.clone(), 1)),
            },
        }
    }
    let months_left = s
        .period
        .rsplit('-')
        .next()
        .and_then(|m| m.parse::<u32>().ok())
        .map_or(0, |m| 12 - m.min(12));
    Findings {
        city_gap_pp: s.city.as_ref().and_then(|c| c.gap_pp),
        city_required_pct: s.city.as_ref().and_then(|c| c.required_pct),
        months_left,
        below_target,
        falling: falling(s),
        stalled: s.states.stalled,
        semi_stalled: s.states.semi_stalled,
        reduced: s.states.reduced,
        new_in_state: s.states.new,
        long_stalled: long.iter().map(|e| e.name.clone()).collect(),
        drags: s
            .drags
            .iter()
            .filter(|d| !on_overhaul(&d.credit_code))
            .take(DRAGS)
            .map(|d| (d.name.clone(), d.pull_pp))
            .collect(),
        overhaul: s.overhaul.iter().map(|o| o.name.clone()).collect(),
        data,
        missing,
        low_submission,
        projects: s
            .projects
            .findings
            .iter()
            .filter(|(_, _, n)| *n > 0)
            .map(|(_, zh, n)| (zh.clone(), *n))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> String {
        x.to_string()
    }

    fn lagging_city() -> Findings {
        Findings {
            city_gap_pp: Some(-1.24),
            city_required_pct: Some(10.2),
            months_left: 2,
            below_target: vec![(s("南港区"), -3.6), (s("东城区"), -0.8)],
            falling: vec![(s("西湖县"), 2, 5)],
            stalled: 12,
            semi_stalled: 5,
            reduced: 30,
            new_in_state: 7,
            long_stalled: vec![s("甲化工"), s("乙纺织")],
            drags: vec![(s("丙钢铁"), -0.42), (s("甲化工"), -0.3)],
            overhaul: vec![s("丁炼化")],
            data: vec![(s("产值电量背离"), 3), (s("累计数不一致"), 2)],
            missing: 4,
            low_submission: vec![s("北山县")],
            projects: vec![(s("项目逾期未开工"), 6), (s("项目投资进度滞后"), 9)],
        }
    }

    #[test]
    fn problems_follow_from_the_findings_in_order() {
        let a = advise(&lagging_city());
        assert_eq!(
            a.problems,
            [
                "一是全市增速低于年度目标1.2个百分点，要完成全年目标，后2个月需增长10.2%，完成全年目标压力较大。",
                "二是县区发展不平衡，南港区、东城区增速低于目标，其中南港区低于目标3.6个百分点；西湖县（第2位降至第5位）位次后移。",
                "三是部分企业生产经营困难，停产12家、半停产5家、减产30家，其中较上月新增7家；丙钢铁（下拉0.42个百分点）、甲化工（下拉0.30个百分点）下拉全市增长较多。",
                "四是重点项目推进不够有力，逾期未开工6个、投资进度滞后9个。",
                "五是数据质量有待提高，产值电量背离3项、累计数不一致2项，4家企业未报，北山县报送率偏低。",
            ]
        );
    }

    #[test]
    fn steps_name_whom_to_supervise_help_and_verify() {
        let a = advise(&lagging_city());
        assert_eq!(a.steps.len(), 4);
        // 督导: both units below target and the one whose rank fell; the big gap singled out.
        assert_eq!(
            a.steps[0],
            "一是加强对南港区、东城区、西湖县的督导，逐月跟踪目标完成情况，帮助查找增速落后的原因；南港区与目标差距在3个百分点以上，列为重点督导对象。"
        );
        // 帮扶: the drags and the long stalls, 甲化工 once; the overhaul apart, not helped.
        assert!(
            a.steps[1].starts_with(
                "二是对下拉全市增长较多和连续停产3个月以上的丙钢铁、甲化工、乙纺织开展帮扶"
            ),
            "{}",
            a.steps[1]
        );
        assert!(a.steps[1].contains("丁炼化为计划检修"), "{}", a.steps[1]);
        assert!(a.steps[2].starts_with("三是对逾期未开工、投资进度滞后的重点项目"));
        assert_eq!(
            a.steps[3],
            "四是请相关县区核实产值电量背离3项、累计数不一致2项涉及的企业数据，督促4家未报企业尽快报送，北山县提高报送率。"
        );
    }

    #[test]
    fn a_city_on_track_gets_no_supervision_sentence() {
        let f = Findings {
            city_gap_pp: Some(0.4),
            months_left: 2,
            ..Findings::default()
        };
        assert_eq!(advise(&f), Advice::default());
        // Only data to verify: one problem and one step, numbered from 一是.
        let f = Findings { missing: 2, ..f };
        let a = advise(&f);
        assert_eq!(a.problems, ["一是数据质量有待提高，2家企业未报。"]);
        assert_eq!(a.steps, ["一是督促2家未报企业尽快报送。"]);
    }

    #[test]
    fn the_units_whose_rank_fell_are_named_for_supervision() {
        use crate::report::model::UnitRow;
        let unit = |name: &str, now: u32, then: u32| UnitRow {
            name: name.into(),
            rank: Some(now),
            rank_prev: Some(then),
            rank_move: Some(then as i32 - now as i32),
            ..UnitRow::default()
        };
        // Districts: 甲 2 → 1 (up), 乙 1 → 2 (down one), 丙 3 → 3, 丁 1 → 4 (down three; it
        // had shared the first rank with 乙, 并列). Zones: 东区 1 → 2.
        let snap = Snapshot {
            districts: vec![
                unit("甲县", 1, 2),
                unit("乙县", 2, 1),
                unit("丙县", 3, 3),
                unit("丁县", 4, 1),
            ],
            zones: vec![unit("东区", 2, 1), unit("西区", 1, 2)],
            ..Snapshot::default()
        };
        let f = falling(&snap);
        assert_eq!(
            f,
            [(s("丁县"), 1, 4), (s("乙县"), 1, 2), (s("东区"), 1, 2),]
        );
        let a = advise(&Findings {
            falling: f,
            ..Findings::default()
        });
        assert_eq!(
            a.steps,
            ["一是加强对丁县、乙县、东区的督导，逐月跟踪目标完成情况，帮助查找增速落后的原因。"]
        );
        assert_eq!(
            a.problems,
            [
                "一是县区发展不平衡，丁县（第1位降至第4位）、乙县（第1位降至第2位）、东区（第1位降至第2位）位次后移。"
            ]
        );
    }

    #[test]
    fn long_lists_are_cut_with_their_count() {
        let list: Vec<String> = (1..=7).map(|i| format!("企业{i}")).collect();
        assert_eq!(names(&list, "家"), "企业1、企业2、企业3、企业4、企业5等7家");
        assert_eq!(names(&list[..2], "家"), "企业1、企业2");
    }
}
