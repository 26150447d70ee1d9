//! The analysis paragraphs, written the way the bureau writes its 运行分析 ("1—10月，全市规模以上
//! 工业增加值同比增长5.8%，低于年度目标1.2个百分点…"). Every number comes from the snapshot's
//! figures; a sentence whose figure is missing is left out rather than guessed.

use serde::Serialize;

use super::change::StateChange;
use super::model::{PullRow, Snapshot, UnitRow};
use crate::analysis::VALUE_ADDED_GROWTH;
use crate::analysis::rounding::{fixed, rounded};

/// A growth figure as printed, without its sign: 5.8%; "下降3.3%" is written with [`rise`].
fn pct(x: f64) -> String {
    format!("{}%", fixed(x.abs(), 1))
}

/// Percentage points as printed, without sign: "0.7".
fn pp(x: f64) -> String {
    fixed(x.abs(), 1)
}

/// "增长5.8%" or "下降3.3%", by the figure as shown (−0.04 is 增长0.0%).
fn rise(x: f64) -> String {
    if rounded(x, 1) < 0 {
        format!("下降{}", pct(x))
    } else {
        format!("增长{}", pct(x))
    }
}

/// "高于年度目标0.3个百分点" / "低于…" / "与…持平", from a gap as shown.
fn against(gap: f64, what: &str) -> String {
    match rounded(gap, 1) {
        0 => format!("与{what}持平"),
        n if n > 0 => format!("高于{what}{}个百分点", pp(gap)),
        _ => format!("低于{what}{}个百分点", pp(gap)),
    }
}

/// "比1—9月提高0.5个百分点" / "比1—9月回落0.7个百分点" / "与1—9月持平", from a change as shown.
pub(crate) fn moved(change: f64, since: &str) -> String {
    match rounded(change, 1) {
        0 => format!("与{since}持平"),
        n if n > 0 => format!("比{since}提高{}个百分点", pp(change)),
        _ => format!("比{since}回落{}个百分点", pp(change)),
    }
}

/// "增加3家" / "减少2家" / "持平", a count's change.
fn more_or_fewer(d: i64) -> String {
    match d {
        0 => "持平".into(),
        d if d > 0 => format!("增加{d}家"),
        d => format!("减少{}家", -d),
    }
}

fn names(rows: &[&UnitRow]) -> String {
    rows.iter()
        .map(|u| u.name.as_str())
        .collect::<Vec<_>>()
        .join("、")
}

/// "A和B", "A、B和C".
fn and_list(parts: Vec<String>) -> String {
    match parts.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{}和{last}", rest.join("、")),
        _ => parts.join(""),
    }
}

/// "分别增长8.2%、7.4%和7.2%" (one verb when all rise or all fall), or "增长8.2%" for one unit.
fn growths(rows: &[&UnitRow]) -> String {
    let g: Vec<f64> = rows.iter().filter_map(|u| u.growth_pct).collect();
    let each = if g.len() > 1 { "分别" } else { "" };
    let down = |x: &f64| rounded(*x, 1) < 0;
    if !g.iter().any(down) {
        format!(
            "{each}增长{}",
            and_list(g.iter().map(|x| pct(*x)).collect())
        )
    } else if g.iter().all(down) {
        format!(
            "{each}下降{}",
            and_list(g.iter().map(|x| pct(*x)).collect())
        )
    } else {
        format!("{each}{}", and_list(g.into_iter().map(rise).collect()))
    }
}

/// "要完成全年目标，11—12月需增长10.2%", or, when the year is ahead of its target, "11—12月
/// 下降2.0%以内即可完成全年目标".
fn required(r: f64, months: &str) -> String {
    if rounded(r, 1) < 0 {
        format!("{months}下降{}以内即可完成全年目标", pct(r))
    } else {
        format!("要完成全年目标，{months}需增长{}", pct(r))
    }
}

/// The month's own growth and its change: "10月当月增长6.1%，增速比9月提高1.0个百分点。". In the
/// year's first period (1—2月) the month is the year to date, so only its change since last
/// December is said — unless the year to date is the official value-added figure, which the
/// month's output growth is not.
fn month_sentence(s: &Snapshot, c: &UnitRow, official: bool, ytd: f64) -> String {
    let Some(m) = c.month_growth_pct else {
        return String::new();
    };
    let change = c
        .month_growth_change_pp
        .zip(s.prev_month_label.as_deref())
        .map(|(d, since)| format!("增速{}", moved(d, since)));
    let with_change = |head: String| match &change {
        Some(ch) => format!("{head}，{ch}。"),
        None => format!("{head}。"),
    };
    // The month's growth is of the enterprises' output, even where the year to date is the
    // official value-added figure.
    let of = if official && !c.estimated {
        "规上工业总产值"
    } else {
        ""
    };
    if s.month_label == s.period_label {
        if of.is_empty() && rounded(m, 1) == rounded(ytd, 1) {
            return change.map_or_else(String::new, |ch| format!("{ch}。"));
        }
        return with_change(format!("{}{of}{}", s.month_label, rise(m)));
    }
    with_change(format!("{}当月{of}{}", s.month_label, rise(m)))
}

fn city_paragraph(s: &Snapshot, c: &UnitRow) -> Option<String> {
    let g = c.growth_pct?;
    let official =
        s.units.first().and_then(|u| u["indicator"].as_str()) == Some(VALUE_ADDED_GROWTH);
    let what = if official {
        "规模以上工业增加值"
    } else {
        "规模以上工业总产值"
    };
    let mut t = format!("{}，全市{}同比{}", s.period_label, what, rise(g));
    if c.estimated {
        t.push_str("（按企业产值估算）");
    }
    if let (Some(d), Some(since)) = (c.growth_change_pp, &s.prev_period_label) {
        t.push_str(&format!("，增速{}", moved(d, since)));
    }
    if let (Some(gap), Some(target)) = (c.gap_pp, c.target_pct) {
        // Below the target by less than shows (6.96% against 7.0%): not 持平, as the alert says.
        let words = if rounded(gap, 1) == 0 && !c.mark.is_empty() {
            "略低于年度目标".to_string()
        } else {
            against(gap, "年度目标")
        };
        t.push_str(&format!("，{words}（目标{}）", pct(target)));
    }
    t.push('。');
    t.push_str(&month_sentence(s, c, official, g));
    t.push_str(&format!(
        "规上企业累计完成产值{}亿元",
        fixed(c.ytd_wan / 10_000.0, 1)
    ));
    if let (Some(r), Some(months)) = (c.required_pct, &s.remaining_label) {
        t.push_str(&format!("；{}", required(r, months)));
    }
    t.push('。');
    Some(t)
}

fn ranking_paragraph(s: &Snapshot, rows: &[UnitRow], kind: &str) -> Option<String> {
    let city = s.city.as_ref().and_then(|c| c.growth_pct);
    let with: Vec<&UnitRow> = rows.iter().filter(|u| u.growth_pct.is_some()).collect();
    if with.is_empty() {
        return None;
    }
    let mut t = format!("分{kind}看，");
    // Below the target as the alerts judge it (exactly): a mark is set for every unit below.
    let below: Vec<&UnitRow> = with
        .iter()
        .copied()
        .filter(|u| u.gap_pp.is_some() && !u.mark.is_empty())
        .collect();
    let targeted = with.iter().filter(|u| u.gap_pp.is_some()).count();
    if targeted > 0 {
        t.push_str(&format!(
            "{}个{kind}达到或超过目标，{}个低于目标",
            targeted - below.len(),
            below.len()
        ));
        t.push('；');
    }
    let n = with.len().min(3);
    let top = &with[..n];
    t.push_str(&format!("{}增速居前，{}", names(top), growths(top)));
    if with.len() > n {
        let tail = &with[with.len() - n.min(with.len() - n)..];
        t.push_str(&format!("；{}增速靠后，{}", names(tail), growths(tail)));
    }
    t.push_str(&ties(&with));
    if let Some(cg) = city {
        // Below the city as printed: 5.8% beside a city of 5.8% is not below it.
        let under: Vec<&UnitRow> = with
            .iter()
            .copied()
            .filter(|u| u.growth_pct.is_some_and(|g| rounded(g, 1) < rounded(cg, 1)))
            .collect();
        if !under.is_empty() {
            t.push_str(&format!(
                "。低于全市平均水平的有{}个：{}",
                under.len(),
                names(&under)
            ));
        }
    }
    let red: Vec<&UnitRow> = below.iter().copied().filter(|u| u.mark == "red").collect();
    if !red.is_empty() {
        t.push_str(&format!(
            "；其中{}差距在3个百分点以上，列为红色预警，需重点督导",
            names(&red)
        ));
    }
    t.push('。');
    if let Some(since) = &s.prev_period_label {
        t.push_str(&rank_moves(&with, kind, since));
    }
    Some(t)
}

/// "；A、B并列第2位" for every rank shared by several units, "" when none is.
fn ties(rows: &[&UnitRow]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < rows.len() {
        let same: Vec<&UnitRow> = rows[i..]
            .iter()
            .copied()
            .take_while(|u| u.rank == rows[i].rank)
            .collect();
        if let (Some(r), true) = (rows[i].rank, same.len() > 1) {
            out.push_str(&format!("；{}增速相同，并列第{r}位", names(&same)));
        }
        i += same.len();
    }
    out
}

/// "与1—9月相比，位次前移的有A（由第5位升至第3位）；后移的有B（由第2位降至第4位）；其余县区
/// 位次不变。", or "各县区位次与1—9月相同。"; "" without last period's ranks.
fn rank_moves(rows: &[&UnitRow], kind: &str, since: &str) -> String {
    if rows.iter().all(|u| u.rank_move.is_none()) {
        return String::new();
    }
    let step = |up: bool| -> Vec<String> {
        let mut v: Vec<&&UnitRow> = rows
            .iter()
            .filter(|u| u.rank_move.is_some_and(|m| (m > 0) == up && m != 0))
            .collect();
        v.sort_by_key(|u| (std::cmp::Reverse(u.rank_move.unwrap_or(0).abs()), u.rank));
        v.iter()
            .filter_map(|u| {
                let (now, then) = (u.rank?, u.rank_prev?);
                let verb = if up { "升" } else { "降" };
                Some(format!("{}（由第{then}位{verb}至第{now}位）", u.name))
            })
            .collect()
    };
    let (up, down) = (step(true), step(false));
    if up.is_empty() && down.is_empty() {
        return format!("各{kind}位次与{since}相同。");
    }
    let mut parts = Vec::new();
    if !up.is_empty() {
        parts.push(format!("位次前移的有{}", up.join("、")));
    }
    if !down.is_empty() {
        parts.push(format!("后移的有{}", down.join("、")));
    }
    let moved = up.len() + down.len();
    let rest = if moved < rows.len() {
        format!("；其余{kind}位次不变")
    } else {
        String::new()
    };
    format!("与{since}相比，{}{rest}。", parts.join("；"))
}

fn enterprise_paragraph(s: &Snapshot) -> String {
    let st = &s.states;
    let total = st.stalled + st.semi_stalled + st.reduced;
    let mut t = format!(
        "从企业看，应报规上企业{}家，已报{}家。当月停产企业{}家、半停产{}家、减产{}家，合计{}家",
        s.expected, s.reported, st.stalled, st.semi_stalled, st.reduced, total,
    );
    let since = s.prev_month_label.as_deref().unwrap_or("上月");
    if let Some(d) = st.change {
        t.push_str(&format!("，比{since}{}", state_change(d)));
    }
    // New and recovered mean something only against a month that could be judged.
    if st.last_month.is_some() {
        t.push_str(&format!(
            "；其中新增{}家，{since}停产半停产减产企业中本月复产（恢复正常）{}家",
            st.new,
            st.recovered.len()
        ));
    }
    t.push('。');
    t.push_str(&district_states(s, since));
    t
}

/// "增加3家（停产增加2家、半停产减少1家、减产增加2家）", the parts that changed in brackets.
fn state_change(d: StateChange) -> String {
    let parts: Vec<String> = [
        ("停产", d.stalled),
        ("半停产", d.semi_stalled),
        ("减产", d.reduced),
    ]
    .into_iter()
    .filter(|(_, n)| *n != 0)
    .map(|(what, n)| format!("{what}{}", more_or_fewer(n)))
    .collect();
    let mut t = more_or_fewer(d.total);
    if !parts.is_empty() {
        t.push_str(&format!("（{}）", parts.join("、")));
    }
    t
}

/// "停产半停产减产企业较多的县区是A（12家，比9月增加2家）、B（10家，与9月持平）。", the three
/// districts with most; "" when no district has any.
fn district_states(s: &Snapshot, since: &str) -> String {
    let mut ds: Vec<_> = s
        .states
        .by_unit
        .iter()
        .filter(|u| u.kind == "district" && u.now.total > 0)
        .collect();
    ds.sort_by(|a, b| b.now.total.cmp(&a.now.total).then(a.code.cmp(&b.code)));
    let list: Vec<String> = ds
        .iter()
        .take(3)
        .map(|u| match u.change {
            Some(c) if c.total == 0 => format!("{}（{}家，与{since}持平）", u.name, u.now.total),
            Some(c) => format!(
                "{}（{}家，比{since}{}）",
                u.name,
                u.now.total,
                more_or_fewer(c.total)
            ),
            None => format!("{}（{}家）", u.name, u.now.total),
        })
        .collect();
    if list.is_empty() {
        return String::new();
    }
    format!("停产半停产减产企业较多的县区是{}。", list.join("、"))
}

/// The first three pulls or drags that show as more than 0.00 points; one on a planned
/// overhaul is said to be (计划检修).
fn pull_list(s: &Snapshot, rows: &[PullRow]) -> String {
    rows.iter()
        .filter(|p| rounded(p.pull_pp, 2) != 0)
        .take(3)
        .map(|p| {
            let overhaul = if s.overhaul.iter().any(|o| o.credit_code == p.credit_code) {
                "计划检修，"
            } else {
                ""
            };
            format!(
                "{}（{overhaul}{}个百分点）",
                p.name,
                fixed(p.pull_pp.abs(), 2)
            )
        })
        .collect::<Vec<_>>()
        .join("、")
}

fn pull_paragraph(s: &Snapshot) -> Option<String> {
    let (up, down) = (pull_list(s, &s.pulls), pull_list(s, &s.drags));
    let mut parts = Vec::new();
    if !up.is_empty() {
        parts.push(format!("{up}拉动全市增长居前"));
    }
    if !down.is_empty() {
        parts.push(format!("{down}下拉全市增长较多"));
    }
    if parts.is_empty() {
        return None;
    }
    Some(format!("从拉动看，{}。", parts.join("；")))
}

fn alert_paragraph(s: &Snapshot) -> String {
    let a = &s.alerts;
    let mut t = format!(
        "本期共有预警{}项（红色{}项、橙色{}项、黄色{}项、蓝色{}项）；本半月新增预警{}项，升级{}项，销号{}项。",
        a.list.len(),
        a.by_severity[0],
        a.by_severity[1],
        a.by_severity[2],
        a.by_severity[3],
        a.opened,
        a.escalated + a.raised,
        a.resolved
    );
    match s.submission_rate_pct {
        Some(r) => t.push_str(&format!("全市报送率{}%", fixed(r, 1))),
        None => t.push_str("全市报送率无法计算"),
    }
    if s.quality.is_empty() {
        t.push_str("，未发现数据质量问题。");
    } else {
        t.push_str(&format!(
            "，发现数据质量问题{}项，请相关县区核实。",
            s.quality.len()
        ));
    }
    t
}

/// The analysis text of each section of the report, written for that section from its own
/// findings (the page and the Word version print each where it belongs; 三、分行业 has its own
/// paragraphs from [`crate::report::industry`], 六 and 七 theirs in [`crate::report::advice`]).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SectionText {
    /// 一、总体运行: the city's growth, its change, the month's own growth, what the rest of the
    /// year needs.
    pub overall: Vec<String>,
    /// 二、分县区: the districts' and the zones' ranking and how it moved.
    pub units: Vec<String>,
    /// 三、分行业: industries, efficiency and investment (written by
    /// [`crate::report::industry`], gathered here).
    pub industries: Vec<String>,
    /// 四、企业生产经营: the stalls and their change, by district; the pulls and drags.
    pub enterprises: Vec<String>,
    /// 五、重点项目.
    pub projects: Vec<String>,
    /// 六's 预警情况: the alerts, the submission rate and data quality.
    pub alerts: Vec<String>,
    /// 八、反馈办理情况 (written by [`crate::report::answers::paragraphs`]).
    pub answers: Vec<String>,
}

impl SectionText {
    /// Every paragraph in the order of the report.
    pub fn all(&self) -> Vec<String> {
        [
            &self.overall,
            &self.units,
            &self.industries,
            &self.enterprises,
            &self.projects,
            &self.alerts,
            &self.answers,
        ]
        .into_iter()
        .flatten()
        .cloned()
        .collect()
    }
}

/// The analysis text of each section of a snapshot.
pub fn sections(s: &Snapshot) -> SectionText {
    let mut units = Vec::new();
    units.extend(ranking_paragraph(s, &s.districts, "县区"));
    units.extend(ranking_paragraph(s, &s.zones, "园区"));
    let mut enterprises = vec![enterprise_paragraph(s)];
    enterprises.extend(pull_paragraph(s));
    SectionText {
        overall: s
            .city
            .as_ref()
            .and_then(|c| city_paragraph(s, c))
            .into_iter()
            .collect(),
        units,
        industries: [
            &s.industries.summary,
            &s.efficiency.summary,
            &s.investment.summary,
        ]
        .into_iter()
        .filter(|t| !t.is_empty())
        .cloned()
        .collect(),
        enterprises,
        projects: (!s.projects.summary.is_empty())
            .then(|| s.projects.summary.clone())
            .into_iter()
            .collect(),
        alerts: vec![alert_paragraph(s)],
        answers: super::answers::paragraphs(&s.answer_loop),
    }
}

/// Writes the snapshot's text: each section's, and all of it in order as `paragraphs` (the
/// email's body and the workbook's 概览).
pub fn write(s: &mut Snapshot) {
    s.text = sections(s);
    s.paragraphs = s.text.all();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, g: f64) -> UnitRow {
        UnitRow {
            name: name.into(),
            growth_pct: Some(g),
            ..UnitRow::default()
        }
    }

    #[test]
    fn gaps_read_like_the_bureau() {
        assert_eq!(against(-1.2, "年度目标"), "低于年度目标1.2个百分点");
        assert_eq!(against(0.31, "年度目标"), "高于年度目标0.3个百分点");
        assert_eq!(against(-0.04, "目标"), "与目标持平");
        // 四舍五入: this asserted the half-to-even "下降3.2%" before.
        assert_eq!(rise(-3.25), "下降3.3%");
        assert_eq!(rise(3.25), "增长3.3%");
        assert_eq!(rise(-0.04), "增长0.0%");
        assert_eq!(rise(5.8), "增长5.8%");
        let (a, b, c) = (row("", 8.2), row("", 7.4), row("", -1.0));
        assert_eq!(growths(&[&a, &b]), "分别增长8.2%和7.4%");
        assert_eq!(growths(&[&a, &b, &c]), "分别增长8.2%、增长7.4%和下降1.0%");
        assert_eq!(growths(&[&c]), "下降1.0%");
    }

    #[test]
    fn changes_and_required_growth_read_like_the_bureau() {
        assert_eq!(moved(-0.7, "1—9月"), "比1—9月回落0.7个百分点");
        assert_eq!(moved(0.5, "9月"), "比9月提高0.5个百分点");
        assert_eq!(moved(0.0, "1—9月"), "与1—9月持平");
        assert_eq!(
            required(10.25, "11—12月"),
            "要完成全年目标，11—12月需增长10.3%"
        );
        assert_eq!(required(0.0, "12月"), "要完成全年目标，12月需增长0.0%");
        assert_eq!(required(-2.05, "12月"), "12月下降2.1%以内即可完成全年目标");
        assert_eq!(more_or_fewer(3), "增加3家");
        assert_eq!(more_or_fewer(-2), "减少2家");
        assert_eq!(more_or_fewer(0), "持平");
        let d = StateChange {
            stalled: 2,
            semi_stalled: -1,
            reduced: 0,
            total: 1,
        };
        assert_eq!(state_change(d), "增加1家（停产增加2家、半停产减少1家）");
    }

    #[test]
    fn the_city_leads_with_its_change_and_the_months_it_still_needs() {
        let city = UnitRow {
            ytd_wan: 1_234_567.0,
            target_pct: Some(7.0),
            // 5.75 shows 5.8: the gap as shown is 5.8 − 7.0.
            gap_pp: Some(-1.2),
            growth_change_pp: Some(-0.7),
            month_growth_pct: Some(6.05),
            month_growth_change_pp: Some(1.0),
            required_pct: Some(10.24),
            ..row("示例市", 5.75)
        };
        let s = Snapshot {
            period: "2026-10".into(),
            period_label: "1—10月".into(),
            prev_period_label: Some("1—9月".into()),
            month_label: "10月".into(),
            prev_month_label: Some("9月".into()),
            remaining_label: Some("11—12月".into()),
            ..Snapshot::default()
        };
        assert_eq!(
            city_paragraph(&s, &city).unwrap(),
            "1—10月，全市规模以上工业总产值同比增长5.8%，增速比1—9月回落0.7个百分点，低于年度目标1.2个百分点（目标7.0%）。10月当月增长6.1%，增速比9月提高1.0个百分点。规上企业累计完成产值123.5亿元；要完成全年目标，11—12月需增长10.2%。"
        );
        // The year's first period: nothing to compare the year to date with, and no fake 0.
        let first = UnitRow {
            growth_change_pp: None,
            month_growth_change_pp: None,
            ..city
        };
        let s = Snapshot {
            period_label: "1—2月".into(),
            prev_period_label: None,
            month_label: "1—2月".into(),
            prev_month_label: Some("上年12月".into()),
            remaining_label: Some("3—12月".into()),
            ..s
        };
        let t = city_paragraph(&s, &first).unwrap();
        assert!(
            t.starts_with("1—2月，全市规模以上工业总产值同比增长5.8%，低于年度目标"),
            "{t}"
        );
        assert!(!t.contains("持平") && !t.contains("比1-"), "{t}");
    }

    #[test]
    fn a_unit_just_below_its_target_is_not_said_to_meet_it() {
        // 6.96% shows 7.0 beside a target of 7.0: the gap as shown is 0.0, but the unit is
        // below (its mark is set), so the city is 略低于目标, never 与目标持平.
        let city = UnitRow {
            target_pct: Some(7.0),
            gap_pp: Some(0.0),
            mark: "blue".into(),
            ..row("示例市", 6.96)
        };
        let s = Snapshot {
            period_label: "1—10月".into(),
            ..Snapshot::default()
        };
        let t = city_paragraph(&s, &city).unwrap();
        assert!(
            t.contains("同比增长7.0%，略低于年度目标（目标7.0%）"),
            "{t}"
        );
        let met = UnitRow {
            mark: String::new(),
            ..city
        };
        let t = city_paragraph(&s, &met).unwrap();
        assert!(
            t.contains("同比增长7.0%，与年度目标持平（目标7.0%）"),
            "{t}"
        );
    }

    #[test]
    fn each_section_gets_its_own_text_and_all_of_it_reads_in_order() {
        let mut s = Snapshot {
            period_label: "1—10月".into(),
            city: Some(row("示例市", 5.8)),
            districts: vec![row("甲县", 6.0)],
            ..Snapshot::default()
        };
        s.industries.summary = "行业。".into();
        s.investment.summary = "投资。".into();
        s.projects.summary = "项目。".into();
        write(&mut s);
        let t = &s.text;
        assert!(t.overall[0].starts_with("1—10月，全市"), "{:?}", t.overall);
        assert!(t.units[0].starts_with("分县区看"), "{:?}", t.units);
        // The efficiency paragraph is empty here and left out.
        assert_eq!(t.industries, ["行业。", "投资。"]);
        assert!(
            t.enterprises[0].starts_with("从企业看"),
            "{:?}",
            t.enterprises
        );
        assert_eq!(t.projects, ["项目。"]);
        assert!(t.alerts[0].starts_with("本期共有预警"), "{:?}", t.alerts);
        let order: Vec<&String> = [
            &t.overall,
            &t.units,
            &t.industries,
            &t.enterprises,
            &t.projects,
            &t.alerts,
        ]
        .into_iter()
        .flatten()
        .collect();
        assert_eq!(s.paragraphs.iter().collect::<Vec<_>>(), order);
    }

    #[test]
    fn a_drag_on_a_planned_overhaul_is_said_to_be_one() {
        let pull = |code: &str, name: &str, pp: f64| PullRow {
            credit_code: code.into(),
            name: name.into(),
            unit: String::new(),
            ytd_wan: 0.0,
            ytd_prev_wan: 0.0,
            pull_pp: pp,
        };
        let s = Snapshot {
            pulls: vec![pull("91A", "甲机械", 0.125)],
            drags: vec![pull("91B", "乙炼化", -0.42), pull("91C", "丙纺织", -0.004)],
            overhaul: vec![crate::report::sections::Overhaul {
                credit_code: "91B".into(),
                name: "乙炼化".into(),
                reason: "年度大修".into(),
            }],
            ..Snapshot::default()
        };
        // 0.125 shows 0.13 (四舍五入); −0.004 shows 0.00 and is left out.
        assert_eq!(
            pull_paragraph(&s).unwrap(),
            "从拉动看，甲机械（0.13个百分点）拉动全市增长居前；乙炼化（计划检修，0.42个百分点）下拉全市增长较多。"
        );
    }

    #[test]
    fn ranks_name_ties_and_moves() {
        let r = |name: &str, g: f64, rank: u32, prev: u32| UnitRow {
            rank: Some(rank),
            rank_prev: Some(prev),
            rank_move: Some(prev as i32 - rank as i32),
            ..row(name, g)
        };
        // Last period 丙 1, 甲 2, 乙 3, 丁 4; now 甲 1, 乙 and 丙 2 (7.4% both), 丁 4.
        let rows = [
            r("甲县", 8.2, 1, 2),
            r("乙县", 7.4, 2, 3),
            r("丙县", 7.35, 2, 1),
            r("丁县", 5.1, 4, 4),
        ];
        let refs: Vec<&UnitRow> = rows.iter().collect();
        assert_eq!(ties(&refs), "；乙县、丙县增速相同，并列第2位");
        assert_eq!(
            rank_moves(&refs, "县区", "1—9月"),
            "与1—9月相比，位次前移的有甲县（由第2位升至第1位）、乙县（由第3位升至第2位）；后移的有丙县（由第1位降至第2位）；其余县区位次不变。"
        );
        let still: Vec<UnitRow> = rows
            .iter()
            .map(|u| UnitRow {
                rank_move: Some(0),
                ..u.clone()
            })
            .collect();
        let refs: Vec<&UnitRow> = still.iter().collect();
        assert_eq!(
            rank_moves(&refs, "县区", "1—9月"),
            "各县区位次与1—9月相同。"
        );
        let none: Vec<UnitRow> = rows
            .iter()
            .map(|u| UnitRow {
                rank_move: None,
                ..u.clone()
            })
            .collect();
        let refs: Vec<&UnitRow> = none.iter().collect();
        assert_eq!(rank_moves(&refs, "县区", "1—9月"), "");
    }
}
