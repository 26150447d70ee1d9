//! The analysis paragraphs, written the way the bureau writes its 运行分析 ("1-10月，全市规模以上
//! 工业增加值同比增长5.8%，低于年度目标1.2个百分点…"). Every number comes from the snapshot's
//! figures; a sentence whose figure is missing is left out rather than guessed.

use super::model::{PullRow, Snapshot, UnitRow};
use crate::analysis::VALUE_ADDED_GROWTH;

/// A growth figure as printed: 5.8%, 下降3.2% is written by the caller with [`rise`].
fn pct(x: f64) -> String {
    format!("{:.1}%", x.abs())
}

/// "增长5.8%" or "下降3.2%".
fn rise(x: f64) -> String {
    if x < 0.0 {
        format!("下降{}", pct(x))
    } else {
        format!("增长{}", pct(x))
    }
}

/// "高于年度目标0.3个百分点" / "低于…" / "与…持平".
fn against(gap: f64, what: &str) -> String {
    if gap.abs() < 0.05 {
        format!("与{what}持平")
    } else if gap > 0.0 {
        format!("高于{what}{:.1}个百分点", gap)
    } else {
        format!("低于{what}{:.1}个百分点", -gap)
    }
}

fn names(rows: &[&UnitRow]) -> String {
    rows.iter()
        .map(|u| u.name.as_str())
        .collect::<Vec<_>>()
        .join("、")
}

/// "分别增长8.2%、7.4%和7.2%" (one verb when all rise or all fall), or "增长8.2%" for one unit.
fn growths(rows: &[&UnitRow]) -> String {
    let g: Vec<f64> = rows.iter().filter_map(|u| u.growth_pct).collect();
    let each = if g.len() > 1 { "分别" } else { "" };
    let join = |parts: Vec<String>| match parts.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{}和{last}", rest.join("、")),
        _ => parts.join(""),
    };
    if g.iter().all(|x| *x >= 0.0) {
        format!("{each}增长{}", join(g.iter().map(|x| pct(*x)).collect()))
    } else if g.iter().all(|x| *x < 0.0) {
        format!("{each}下降{}", join(g.iter().map(|x| pct(*x)).collect()))
    } else {
        format!("{each}{}", join(g.into_iter().map(rise).collect()))
    }
}

fn city_paragraph(s: &Snapshot, c: &UnitRow) -> Option<String> {
    let g = c.growth_pct?;
    let what = match s.units.first().and_then(|u| u["indicator"].as_str()) {
        Some(VALUE_ADDED_GROWTH) => "规模以上工业增加值",
        _ => "规模以上工业总产值",
    };
    let mut t = format!("{}，全市{}同比{}", s.period_label, what, rise(g));
    if c.estimated {
        t.push_str("（按企业产值估算）");
    }
    if let (Some(gap), Some(target)) = (c.gap_pp, c.target_pct) {
        t.push_str(&format!(
            "，{}（目标{}）",
            against(gap, "年度目标"),
            pct(target)
        ));
    }
    t.push_str(&format!(
        "；规上企业累计完成产值{:.1}亿元。时间进度{:.1}%",
        c.ytd_wan / 10_000.0,
        s.time_progress_pct
    ));
    if let Some(r) = c.required_pct {
        t.push_str(&format!(
            "，完成全年目标后{}个月需{}",
            12 - month(s),
            rise(r)
        ));
    }
    t.push('。');
    Some(t)
}

fn month(s: &Snapshot) -> u32 {
    s.period
        .rsplit('-')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(12)
}

fn ranking_paragraph(rows: &[UnitRow], kind: &str, city: Option<f64>) -> Option<String> {
    let with: Vec<&UnitRow> = rows.iter().filter(|u| u.growth_pct.is_some()).collect();
    if with.is_empty() {
        return None;
    }
    let mut t = format!("分{kind}看，");
    let below: Vec<&UnitRow> = with
        .iter()
        .copied()
        .filter(|u| u.gap_pp.is_some_and(|g| g < 0.0))
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
    if let Some(cg) = city {
        let under: Vec<&UnitRow> = with
            .iter()
            .copied()
            .filter(|u| u.growth_pct.is_some_and(|g| g < cg))
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
    Some(t)
}

fn enterprise_paragraph(s: &Snapshot) -> String {
    let st = &s.states;
    format!(
        "从企业看，应报规上企业{}家，已报{}家。当月停产企业{}家、半停产{}家、减产{}家，合计{}家，其中较上月新增{}家；上月停产半停产减产企业中本月复产（恢复正常）{}家。",
        s.expected,
        s.reported,
        st.stalled,
        st.semi_stalled,
        st.reduced,
        st.stalled + st.semi_stalled + st.reduced,
        st.new,
        st.recovered.len()
    )
}

fn pull_list(rows: &[PullRow]) -> String {
    rows.iter()
        .map(|p| format!("{}（{:.2}个百分点）", p.name, p.pull_pp.abs()))
        .collect::<Vec<_>>()
        .join("、")
}

fn pull_paragraph(s: &Snapshot) -> Option<String> {
    if s.pulls.is_empty() && s.drags.is_empty() {
        return None;
    }
    let mut t = String::from("从拉动看，");
    if !s.pulls.is_empty() {
        let top = &s.pulls[..s.pulls.len().min(3)];
        t.push_str(&format!("{}拉动全市增长居前", pull_list(top)));
    }
    if !s.drags.is_empty() {
        if !s.pulls.is_empty() {
            t.push('；');
        }
        let top = &s.drags[..s.drags.len().min(3)];
        t.push_str(&format!("{}下拉全市增长较多", pull_list(top)));
    }
    t.push('。');
    Some(t)
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
        Some(r) => t.push_str(&format!("全市报送率{:.1}%", r)),
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

/// The analysis paragraphs of a snapshot, in the order the bureau reads them.
pub fn paragraphs(s: &Snapshot) -> Vec<String> {
    let city_growth = s.city.as_ref().and_then(|c| c.growth_pct);
    let mut out = Vec::new();
    out.extend(s.city.as_ref().and_then(|c| city_paragraph(s, c)));
    out.extend(ranking_paragraph(&s.districts, "县区", city_growth));
    out.extend(ranking_paragraph(&s.zones, "园区", city_growth));
    out.push(enterprise_paragraph(s));
    out.extend(pull_paragraph(s));
    out.push(alert_paragraph(s));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_read_like_the_bureau() {
        assert_eq!(against(-1.2, "年度目标"), "低于年度目标1.2个百分点");
        assert_eq!(against(0.31, "年度目标"), "高于年度目标0.3个百分点");
        assert_eq!(rise(-3.25), "下降3.2%");
        assert_eq!(rise(5.8), "增长5.8%");
        let row = |g: f64| UnitRow {
            code: String::new(),
            name: String::new(),
            kind: String::new(),
            ytd_wan: 0.0,
            ytd_prev_wan: 0.0,
            growth_pct: Some(g),
            estimated: false,
            target_pct: None,
            gap_pp: None,
            rank: None,
            required_pct: None,
            submission_rate_pct: None,
            mark: String::new(),
            mark_zh: String::new(),
        };
        let (a, b, c) = (row(8.2), row(7.4), row(-1.0));
        assert_eq!(growths(&[&a, &b]), "分别增长8.2%和7.4%");
        assert_eq!(growths(&[&a, &b, &c]), "分别增长8.2%、增长7.4%和下降1.0%");
        assert_eq!(growths(&[&c]), "下降1.0%");
    }
}
