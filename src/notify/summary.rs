//! The summary a digest opens with, for its reader: their unit's growth, its gap to the target
//! and its rank; what is new in this digest; the cases overdue in their scope (超期未反馈, and
//! those past 督办); and a note when the working-day calendar runs out before the deadlines of
//! a case assigned today. Pure: figures, items, cases and the clock in, plain data out; the
//! digest renders it ([`super::digest`]).

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::config::{RecipientConfig, Role};
use super::plan::{Item, ItemKind};
use crate::analysis::{UnitResult, fmt_pct};
use crate::cases::Case;
use crate::registry::UnitKind;
use crate::rules::Severity;

/// How many overdue cases a digest names; the rest are counted.
pub const OVERDUE_SHOWN: usize = 5;

/// One unit's standing in the period, as the summary says it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct UnitFigure {
    pub code: String,
    pub name: String,
    pub kind: UnitKind,
    /// `1—10月`.
    pub period_label: String,
    pub growth_pct: Option<f64>,
    pub target_pct: Option<f64>,
    /// Growth minus target as printed (one decimal each, [`UnitResult::shown_gap_pp`]).
    pub gap_pp: Option<f64>,
    pub rank: Option<u32>,
    /// How many units of its kind are ranked.
    pub ranked: usize,
}

/// The figures of every unit of an evaluated period.
pub fn figures(units: &[UnitResult], period_label: &str) -> Vec<UnitFigure> {
    units
        .iter()
        .map(|u| UnitFigure {
            code: u.code.clone(),
            name: u.name.clone(),
            kind: u.kind,
            period_label: period_label.to_string(),
            growth_pct: u.growth.map(|g| g.pct()),
            target_pct: u
                .target
                .map(|t| t.pct_raw as f64 / crate::analysis::PCT as f64),
            gap_pp: u.shown_gap_pp(),
            rank: u.rank,
            ranked: units
                .iter()
                .filter(|o| o.kind == u.kind && o.rank.is_some())
                .count(),
        })
        .collect()
}

/// An overdue case the reader should act on, with its link when the console is configured.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OverdueCase {
    pub id: i64,
    pub name: String,
    /// `11月9日`.
    pub due: String,
    /// Past its 督办 time too.
    pub escalated: bool,
    pub link: Option<String>,
}

/// What the digest opens with.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Summary {
    /// One sentence per unit of the reader (the city's for a city official).
    pub units: Vec<String>,
    /// What is new in this digest, one sentence; none when nothing is.
    pub new: Option<String>,
    /// The overdue cases in the reader's scope: how many in all, how many past 督办.
    pub overdue_total: u64,
    pub escalated_total: usize,
    /// The first [`OVERDUE_SHOWN`].
    pub overdue: Vec<OverdueCase>,
    /// The calendar runs out within the deadlines of a case assigned now.
    pub calendar_note: Option<String>,
}

impl Summary {
    pub fn is_empty(&self) -> bool {
        self.units.is_empty()
            && self.new.is_none()
            && self.overdue_total == 0
            && self.calendar_note.is_none()
    }

    /// The overdue sentence: `您负责范围内有3件交办事项超期未反馈，其中1件已超过督办期限：`.
    pub fn overdue_line(&self) -> Option<String> {
        if self.overdue_total == 0 {
            return None;
        }
        let mut s = format!("您负责范围内有{}件交办事项超期未反馈", self.overdue_total);
        if self.escalated_total > 0 {
            let _ = write!(s, "，其中{}件已超过督办期限", self.escalated_total);
        }
        s.push_str("，请尽快反馈：");
        Some(s)
    }

    /// The summary as lines of the plain-text body.
    pub fn text_lines(&self) -> Vec<String> {
        let mut out: Vec<String> = self.units.clone();
        out.extend(self.new.clone());
        if let Some(l) = self.overdue_line() {
            out.push(l);
            for c in &self.overdue {
                out.push(format!("  · {}", overdue_item(c)));
            }
            let more = self.overdue_total.saturating_sub(self.overdue.len() as u64);
            if more > 0 {
                out.push(format!("  · 另有{more}件，见我的待办"));
            }
        }
        out.extend(self.calendar_note.clone());
        out
    }
}

/// `南湖机械（期限11月9日，已超督办期限）https://…/cases/12`.
fn overdue_item(c: &OverdueCase) -> String {
    let mut s = format!("{}（期限{}", c.name, c.due);
    if c.escalated {
        s.push_str("，已超督办期限");
    }
    s.push('）');
    if let Some(l) = &c.link {
        let _ = write!(s, " {l}");
    }
    s
}

/// `东城区1—10月规上工业产值增长5.2%，低于目标0.8个百分点（目标6.0%），在6个县区中居第3位。`
pub fn unit_sentence(f: &UnitFigure) -> String {
    let mut s = format!("{}{}规上工业产值", f.name, f.period_label);
    match f.growth_pct {
        Some(g) if g < 0.0 => {
            let _ = write!(s, "下降{}", fmt_pct(-g));
        }
        Some(g) => {
            let _ = write!(s, "增长{}", fmt_pct(g));
        }
        None => s.push_str("增速暂无法计算"),
    }
    if let (Some(gap), Some(t)) = (f.gap_pp, f.target_pct) {
        let t = fmt_pct(t);
        if gap < 0.0 {
            let _ = write!(s, "，低于目标{:.1}个百分点（目标{t}）", -gap);
        } else if gap > 0.0 {
            let _ = write!(s, "，高于目标{gap:.1}个百分点（目标{t}）");
        } else {
            let _ = write!(s, "，与目标持平（目标{t}）");
        }
    }
    if let Some(r) = f.rank {
        let kind = match f.kind {
            UnitKind::Zone => "园区",
            _ => "县区",
        };
        let _ = write!(s, "，在{}个{kind}中居第{r}位", f.ranked);
    }
    s.push('。');
    s
}

/// The units a reader's summary speaks of: the city for a city official, else its own units
/// that the period ranks or measures.
fn reader_units<'a>(r: &RecipientConfig, figures: &'a [UnitFigure]) -> Vec<&'a UnitFigure> {
    figures
        .iter()
        .filter(|f| {
            if r.role == Role::City {
                f.kind == UnitKind::City
            } else {
                r.units.contains(&f.code)
            }
        })
        .collect()
}

/// `本次新增预警3项（红色1项、橙色2项），等级升高1项，升级督办1项，已销号1项。`
pub fn new_sentence(items: &[Item]) -> Option<String> {
    let mut by = [0usize; 4];
    let (mut raised, mut escalated, mut reminded, mut resolved) = (0, 0, 0, 0);
    for i in items {
        match i.kind {
            ItemKind::New | ItemKind::Reopened => {
                by[3 - severity_index(i.alert.severity)] += 1;
            }
            ItemKind::Raised => raised += 1,
            ItemKind::Escalated => escalated += 1,
            ItemKind::Reminder => reminded += 1,
            ItemKind::Resolved => resolved += 1,
        }
    }
    let new: usize = by.iter().sum();
    let mut parts = Vec::new();
    if new > 0 {
        let sev: Vec<String> = [
            Severity::Red,
            Severity::Orange,
            Severity::Yellow,
            Severity::Blue,
        ]
        .iter()
        .zip(by)
        .filter(|(_, n)| *n > 0)
        .map(|(s, n)| format!("{}{n}项", s.zh()))
        .collect();
        parts.push(format!("新增预警{new}项（{}）", sev.join("、")));
    }
    for (n, what) in [
        (raised, "等级升高"),
        (escalated, "升级督办"),
        (reminded, "仍未认领"),
        (resolved, "已销号"),
    ] {
        if n > 0 {
            parts.push(format!("{what}{n}项"));
        }
    }
    (!parts.is_empty()).then(|| format!("本次{}。", parts.join("，")))
}

fn severity_index(s: Severity) -> usize {
    match s {
        Severity::Blue => 0,
        Severity::Yellow => 1,
        Severity::Orange => 2,
        Severity::Red => 3,
    }
}

/// `11月9日`, the Shanghai date of a time.
pub fn shown_date(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|d| {
            d.with_timezone(&chrono_tz::Asia::Shanghai)
                .format("%-m月%-d日")
                .to_string()
        })
        .unwrap_or_default()
}

/// The link to a case's console page, when the console has an address.
pub fn case_link(console: Option<&str>, case_id: i64) -> Option<String> {
    console.map(|base| format!("{}/cases/{case_id}", base.trim_end_matches('/')))
}

/// Everything the summary is made of.
pub struct Input<'a> {
    pub figures: &'a [UnitFigure],
    pub items: &'a [Item],
    /// The overdue cases the reader sees (a page of them, most overdue first) and how many in all.
    pub overdue: &'a [Case],
    pub overdue_total: u64,
    pub calendar_note: Option<&'a str>,
    pub console: Option<&'a str>,
    pub now_ms: i64,
}

/// The reader's summary.
pub fn build(r: &RecipientConfig, input: &Input<'_>) -> Summary {
    let overdue: Vec<OverdueCase> = input
        .overdue
        .iter()
        .take(OVERDUE_SHOWN)
        .map(|c| OverdueCase {
            id: c.id,
            name: c.subject_name.clone(),
            due: c.due_at.map(shown_date).unwrap_or_default(),
            escalated: c.escalated(input.now_ms),
            link: case_link(input.console, c.id),
        })
        .collect();
    Summary {
        units: reader_units(r, input.figures)
            .into_iter()
            .map(unit_sentence)
            .collect(),
        new: new_sentence(input.items),
        overdue_total: input.overdue_total,
        escalated_total: input
            .overdue
            .iter()
            .filter(|c| c.escalated(input.now_ms))
            .count(),
        overdue,
        calendar_note: input.calendar_note.map(str::to_string),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figure(code: &str, kind: UnitKind, growth: f64, target: Option<f64>) -> UnitFigure {
        UnitFigure {
            code: code.into(),
            name: "东城区".into(),
            kind,
            period_label: "1—10月".into(),
            growth_pct: Some(growth),
            target_pct: target,
            gap_pp: target.map(|t| ((growth * 10.0).round() - (t * 10.0).round()) / 10.0),
            rank: (kind != UnitKind::City).then_some(3),
            ranked: 6,
        }
    }

    #[test]
    fn a_unit_is_told_its_growth_gap_and_rank() {
        // 5.2 − 6.0 = −0.8 points, third of six districts.
        let f = figure("330781", UnitKind::District, 5.2, Some(6.0));
        assert_eq!(
            unit_sentence(&f),
            "东城区1—10月规上工业产值增长5.2%，低于目标0.8个百分点（目标6.0%），在6个县区中居第3位。"
        );
        let f = figure("ZK01", UnitKind::Zone, -3.25, Some(1.0));
        // −3.25 prints −3.3 (四舍五入); −3.3 − 1.0 = −4.3.
        assert_eq!(
            unit_sentence(&f),
            "东城区1—10月规上工业产值下降3.3%，低于目标4.3个百分点（目标1.0%），在6个园区中居第3位。"
        );
        let f = figure("33", UnitKind::City, 7.5, Some(7.0));
        assert_eq!(
            unit_sentence(&f),
            "东城区1—10月规上工业产值增长7.5%，高于目标0.5个百分点（目标7.0%）。"
        );
    }

    #[test]
    fn the_overdue_line_counts_all_and_names_those_past_escalation() {
        let s = Summary {
            overdue_total: 7,
            escalated_total: 2,
            overdue: vec![OverdueCase {
                id: 12,
                name: "南湖机械".into(),
                due: "11月9日".into(),
                escalated: true,
                link: Some("https://jc.example.cn/cases/12".into()),
            }],
            ..Summary::default()
        };
        assert_eq!(
            s.text_lines(),
            [
                "您负责范围内有7件交办事项超期未反馈，其中2件已超过督办期限，请尽快反馈：",
                "  · 南湖机械（期限11月9日，已超督办期限） https://jc.example.cn/cases/12",
                "  · 另有6件，见我的待办",
            ]
        );
        assert_eq!(
            case_link(Some("https://jc.example.cn/"), 12).as_deref(),
            Some("https://jc.example.cn/cases/12")
        );
        assert_eq!(case_link(None, 12), None);
    }

    fn item(id: i64, kind: ItemKind, severity: Severity) -> Item {
        use crate::alerts::{Alert, AlertState};
        Item {
            alert: Alert {
                id,
                rule: "enterprise_stalled".parse().unwrap(),
                subject: "x".into(),
                indicator: "output".into(),
                subject_name: "x".into(),
                unit_code: "330781".into(),
                scope: vec!["330781".into()],
                owner: None,
                state: AlertState::Firing,
                severity,
                consecutive: 1,
                period: "2026-10".parse().unwrap(),
                message: String::new(),
                values: serde_json::Map::new(),
                opened_at: 0,
                updated_at: 0,
                acknowledged_by: None,
                acknowledged_at: None,
                resolved_at: None,
                resolved_by: None,
                note: None,
            },
            kind,
            previous: None,
        }
    }

    #[test]
    fn what_is_new_is_counted_by_kind_and_severity() {
        let items = [
            item(1, ItemKind::New, Severity::Red),
            item(2, ItemKind::Reopened, Severity::Orange),
            item(3, ItemKind::New, Severity::Orange),
            item(4, ItemKind::Raised, Severity::Red),
            item(5, ItemKind::Resolved, Severity::Yellow),
        ];
        assert_eq!(
            new_sentence(&items).as_deref(),
            Some("本次新增预警3项（红色1项、橙色2项），等级升高1项，已销号1项。")
        );
        assert_eq!(new_sentence(&[]), None);
    }
}
