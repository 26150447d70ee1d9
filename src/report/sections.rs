//! What the report's sections show beyond the model's figures: the stalls counted by district
//! (the names go to the workbook), the alerts in the order they are read (most severe first,
//! units before projects and enterprises), and the enterprises on a planned overhaul (计划检修)
//! that every table marks. Pure functions of the snapshot and the silences.

use std::str::FromStr;

use serde::Serialize;

use super::change::StateChange;
use super::model::{FindingRow, Snapshot};
use crate::alerts::Silence;
use crate::rules::{About, Rule};

/// An enterprise whose stall is a planned overhaul: a silence on it (on any rule or on a
/// production-state rule) in force at or after the half began.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Overhaul {
    pub credit_code: String,
    pub name: String,
    /// The silence's reason, as its author wrote it.
    pub reason: String,
}

/// The rules a planned overhaul explains.
const OVERHAUL_RULES: [Rule; 3] = [
    Rule::EnterpriseStalled,
    Rule::EnterpriseSemiStalled,
    Rule::EnterpriseReduced,
];

/// The enterprises of the snapshot under a planned-overhaul silence, by credit code. A silence
/// counts when it had not ended (nor been expired) by `from_ms`, the half's start: the overhaul
/// explains the stall the half's data show even if the silence was set after the half, and
/// regenerating later gives the same marks.
pub fn overhauls(s: &Snapshot, silences: &[Silence], from_ms: i64) -> Vec<Overhaul> {
    let mut out: Vec<Overhaul> = Vec::new();
    for si in silences {
        let m = &si.matcher;
        let Some(code) = &m.subject else { continue };
        let rule_fits = m
            .rule
            .as_deref()
            .is_none_or(|r| Rule::from_str(r).is_ok_and(|r| OVERHAUL_RULES.contains(&r)));
        let live = si.ends_at > from_ms && si.expired_at.is_none_or(|e| e > from_ms);
        if !rule_fits || !live || out.iter().any(|o| &o.credit_code == code) {
            continue;
        }
        if let Some(name) = enterprise_name(s, code) {
            out.push(Overhaul {
                credit_code: code.clone(),
                name,
                reason: si.reason.clone(),
            });
        }
    }
    out.sort_by(|a, b| a.credit_code.cmp(&b.credit_code));
    out
}

/// The enterprise's name wherever the snapshot shows it; none when it appears nowhere.
fn enterprise_name(s: &Snapshot, code: &str) -> Option<String> {
    let st = &s.states;
    st.list
        .iter()
        .chain(&st.recovered)
        .find(|e| e.credit_code == code)
        .map(|e| e.name.clone())
        .or_else(|| {
            s.pulls
                .iter()
                .chain(&s.drags)
                .find(|p| p.credit_code == code)
                .map(|p| p.name.clone())
        })
        .or_else(|| {
            s.alerts
                .list
                .iter()
                .chain(&s.quality)
                .find(|f| f.subject == code)
                .map(|f| f.subject_name.clone())
        })
}

/// 停产 / 半停产 / 减产 of one district: counts now, how many are new this month and how many
/// of last month's recovered.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StallUnitRow {
    pub name: String,
    pub stalled: usize,
    pub semi_stalled: usize,
    pub reduced: usize,
    pub total: usize,
    /// In a state now, not last month (新增).
    pub new: usize,
    /// In a state last month, normal now (复产).
    pub recovered: usize,
    /// Of them, on a planned overhaul.
    pub overhaul: usize,
    /// Each count now minus last month's (较上月增减); none when last month could not be
    /// judged, or for a unit the ranking does not list.
    pub change: Option<StateChange>,
}

/// The stalls counted by the enterprise's district, in the ranking's order (districts without
/// stalls included, so the table reads as the whole city), then any other unit by name, then
/// the 全市 total; each with its change since last month (by the unit the enterprises are
/// registered to, as they are counted here; no change for a unit with none in a state then or
/// now).
pub fn stalls_by_unit(s: &Snapshot) -> Vec<StallUnitRow> {
    let mut rows: Vec<StallUnitRow> = s
        .districts
        .iter()
        .map(|u| StallUnitRow {
            name: u.name.clone(),
            ..StallUnitRow::default()
        })
        .collect();
    let known = rows.len();
    let mut at = |name: &str| -> usize {
        match rows.iter().position(|r| r.name == name) {
            Some(i) => i,
            None => {
                rows.push(StallUnitRow {
                    name: name.to_string(),
                    ..StallUnitRow::default()
                });
                rows.len() - 1
            }
        }
    };
    let mut tally: Vec<(usize, &str, bool, bool)> = Vec::new();
    for e in &s.states.list {
        let over = s.overhaul.iter().any(|o| o.credit_code == e.credit_code);
        tally.push((at(&e.unit), e.state.as_str(), e.change == "新增", over));
    }
    let recovered: Vec<usize> = s.states.recovered.iter().map(|e| at(&e.unit)).collect();
    // A unit whose stalls all ended (or left without a report) still shows its change.
    for b in &s.states.by_registered {
        at(&b.name);
    }
    for (i, state, new, over) in tally {
        let r = &mut rows[i];
        match state {
            "停产" => r.stalled += 1,
            "半停产" => r.semi_stalled += 1,
            _ => r.reduced += 1,
        }
        r.total += 1;
        r.new += usize::from(new);
        r.overhaul += usize::from(over);
    }
    for i in recovered {
        rows[i].recovered += 1;
    }
    rows[known..].sort_by(|a, b| a.name.cmp(&b.name));
    for r in &mut rows {
        r.change = s
            .states
            .by_registered
            .iter()
            .find(|b| b.name == r.name)
            .and_then(|b| b.change)
            .or_else(|| s.states.change.map(|_| StateChange::default()));
    }
    let mut all = StallUnitRow {
        name: "全市".into(),
        change: s.states.change,
        ..StallUnitRow::default()
    };
    for r in &rows {
        all.stalled += r.stalled;
        all.semi_stalled += r.semi_stalled;
        all.reduced += r.reduced;
        all.total += r.total;
        all.new += r.new;
        all.recovered += r.recovered;
        all.overhaul += r.overhaul;
    }
    rows.push(all);
    rows
}

/// Units first, then projects, then enterprises and the rest.
fn about_order(rule: &str) -> u8 {
    match Rule::from_str(rule).map(Rule::about) {
        Ok(About::Unit) => 0,
        Ok(About::Project) => 1,
        Ok(About::Enterprise) => 2,
        _ => 3,
    }
}

fn severity_order(severity: &str) -> u8 {
    match severity {
        "red" => 0,
        "orange" => 1,
        "yellow" => 2,
        _ => 3,
    }
}

/// Orders alerts as the report lists them: most severe first; within a colour units, then
/// projects, then enterprises; then by rule and subject, so the order is stable.
pub fn order_alerts(list: &mut [FindingRow]) {
    list.sort_by(|a, b| {
        (severity_order(&a.severity), about_order(&a.rule))
            .cmp(&(severity_order(&b.severity), about_order(&b.rule)))
            .then_with(|| a.rule.cmp(&b.rule))
            .then_with(|| a.subject.cmp(&b.subject))
    });
}

/// The alerts the page lists — the units', in the model's order (most severe first) — and the
/// others counted by what they are about, with where they are told instead.
#[derive(Clone, Debug, Default, Serialize)]
pub struct AlertView<'a> {
    pub units: Vec<&'a FindingRow>,
    pub others: Vec<AlertCount>,
}

/// Alerts about enterprises or projects (or sources): how many, by colour.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct AlertCount {
    /// 企业, 项目 or 其他.
    pub kind: String,
    pub total: usize,
    /// Red, orange, yellow, blue.
    pub by_severity: [usize; 4],
    /// The section of the report that tells them, "" when none does.
    pub told_in: String,
}

/// Splits the snapshot's alerts into the units' (listed) and the rest (counted).
pub fn alert_view(s: &Snapshot) -> AlertView<'_> {
    let mut view = AlertView::default();
    let kinds = [
        (2, "企业", "四、企业生产经营"),
        (1, "项目", "五、重点项目"),
        (3, "其他", ""),
    ];
    let mut counts: Vec<AlertCount> = kinds
        .iter()
        .map(|(_, kind, told)| AlertCount {
            kind: (*kind).into(),
            told_in: (*told).into(),
            ..AlertCount::default()
        })
        .collect();
    for f in &s.alerts.list {
        let about = about_order(&f.rule);
        if about == 0 {
            view.units.push(f);
            continue;
        }
        if let Some(i) = kinds.iter().position(|(o, _, _)| *o == about) {
            counts[i].total += 1;
            counts[i].by_severity[usize::from(severity_order(&f.severity))] += 1;
        }
    }
    view.others = counts.into_iter().filter(|c| c.total > 0).collect();
    view
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::change::{StateCounts, UnitStates};
    use crate::report::model::{EnterpriseRow, StateSummary, UnitRow};

    fn finding(severity: &str, rule: &str, subject: &str) -> FindingRow {
        FindingRow {
            severity: severity.into(),
            severity_zh: String::new(),
            rule: rule.into(),
            rule_zh: String::new(),
            subject: subject.into(),
            subject_name: String::new(),
            unit: String::new(),
            message: String::new(),
        }
    }

    #[test]
    fn alerts_read_most_severe_first_and_units_before_enterprises() {
        let mut list = vec![
            finding("yellow", "unit_below_target", "339901"),
            finding("red", "enterprise_stalled", "91A"),
            finding("red", "project_not_started", "P1"),
            finding("blue", "enterprise_reduced", "91B"),
            finding("red", "unit_below_target", "339904"),
            finding("red", "enterprise_stalled", "91\u{30}"),
        ];
        order_alerts(&mut list);
        let got: Vec<(&str, &str)> = list
            .iter()
            .map(|f| (f.severity.as_str(), f.subject.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("red", "339904"),
                ("red", "P1"),
                ("red", "910"),
                ("red", "91A"),
                ("yellow", "339901"),
                ("blue", "91B"),
            ]
        );
    }

    fn enterprise(code: &str, unit: &str, state: &str, change: &str) -> EnterpriseRow {
        EnterpriseRow {
            credit_code: code.into(),
            name: format!("{code}公司"),
            unit: unit.into(),
            state: state.into(),
            consecutive: 1,
            change: change.into(),
            ..EnterpriseRow::default()
        }
    }

    fn district(code: &str, name: &str) -> UnitRow {
        UnitRow {
            code: code.into(),
            name: name.into(),
            kind: "district".into(),
            ..UnitRow::default()
        }
    }

    #[test]
    fn stalls_count_by_district_with_their_change_since_last_month() {
        let counts = |stalled, semi_stalled, reduced| StateCounts {
            stalled,
            semi_stalled,
            reduced,
            total: stalled + semi_stalled + reduced,
        };
        // 东城区: 停产 A (新增), B (持续, on overhaul), 减产 C (新增); last month 停产 1, 半停产 1.
        // 西城区: nothing now; D recovered from 半停产; last month 半停产 1.
        let (east_now, east_was) = (counts(2, 0, 1), counts(1, 1, 0));
        let (west_now, west_was) = (counts(0, 0, 0), counts(0, 1, 0));
        let unit = |code: &str, name: &str, now: StateCounts, was: StateCounts| UnitStates {
            code: code.into(),
            name: name.into(),
            kind: "district".into(),
            now,
            last_month: Some(was),
            change: Some(now.since(was)),
        };
        let s = Snapshot {
            districts: vec![district("01", "东城区"), district("02", "西城区")],
            states: StateSummary {
                list: vec![
                    enterprise("A", "东城区", "停产", "新增"),
                    enterprise("B", "东城区", "停产", "持续"),
                    enterprise("C", "东城区", "减产", "新增"),
                ],
                recovered: vec![enterprise("D", "西城区", "半停产", "复产")],
                change: Some(counts(2, 0, 1).since(counts(1, 2, 0))),
                by_registered: vec![
                    unit("01", "东城区", east_now, east_was),
                    unit("02", "西城区", west_now, west_was),
                ],
                ..StateSummary::default()
            },
            overhaul: vec![Overhaul {
                credit_code: "B".into(),
                name: "B公司".into(),
                reason: "年度大修".into(),
            }],
            ..Snapshot::default()
        };
        let rows = stalls_by_unit(&s);
        let got: Vec<(&str, [usize; 7])> = rows
            .iter()
            .map(|r| {
                let n = [
                    r.stalled,
                    r.semi_stalled,
                    r.reduced,
                    r.total,
                    r.new,
                    r.recovered,
                    r.overhaul,
                ];
                (r.name.as_str(), n)
            })
            .collect();
        assert_eq!(
            got,
            [
                ("东城区", [2, 0, 1, 3, 2, 0, 1]),
                ("西城区", [0, 0, 0, 0, 0, 1, 0]),
                ("全市", [2, 0, 1, 3, 2, 1, 1]),
            ]
        );
        // 较上月: 东城区 停产 2 − 1 = +1, 半停产 0 − 1 = −1, 减产 +1, 合计 3 − 2 = +1; 西城区
        // 半停产 −1; 全市 2 − 1, 0 − 2, 1 − 0, 3 − 3.
        let change = |r: &StallUnitRow| {
            r.change
                .map(|c| [c.stalled, c.semi_stalled, c.reduced, c.total])
        };
        assert_eq!(change(&rows[0]), Some([1, -1, 1, 1]));
        assert_eq!(change(&rows[1]), Some([0, -1, 0, -1]));
        assert_eq!(change(&rows[2]), Some([1, -2, 1, 0]));
    }
}
