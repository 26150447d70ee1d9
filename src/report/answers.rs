//! 反馈办理情况, the snapshot's section on the answer loop: each unit's 反馈及时率 (answered on
//! time among the cases whose answer fell due), the causes the answers give for stalls and
//! reductions, how many enterprises expect to resume next month (预计下月复产X户), the problems
//! awaiting the city's coordination (需市级协调), and the cases closed (销号) since the last
//! snapshot. Pure: the cases and answers as stored, read back as they stood at `as_of` (an
//! answer or a closing after it is not counted), so that the same moment gives the same section.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use crate::cases::{Answer, Case, CaseState, by_unit};
use crate::period::Period;
use crate::rules::{Rule, rule_zh};

/// The rules whose answers' causes are counted: the enterprise stall and reduction.
const STALL_RULES: [Rule; 3] = [
    Rule::EnterpriseStalled,
    Rule::EnterpriseSemiStalled,
    Rule::EnterpriseReduced,
];

/// One unit's answers (the unit the enterprise or project reports under).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LoopUnitRow {
    pub code: String,
    pub name: String,
    /// Cases assigned before `as_of`.
    pub cases: usize,
    pub answered_on_time: usize,
    pub answered_late: usize,
    /// Unanswered past the due time (超期未反馈).
    pub overdue: usize,
    /// Whose answer fell due: answered (on time or late) or overdue.
    pub due: usize,
    /// 反馈及时率: answered on time / due, percent; none while nothing fell due.
    pub on_time_pct: Option<f64>,
}

/// A cause and how many enterprises gave it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CauseCount {
    pub cause: String,
    pub enterprises: usize,
}

/// A problem awaiting the city's coordination, as the owner wrote it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CoordinationRow {
    pub case_id: i64,
    pub unit: String,
    pub subject_name: String,
    pub problem: String,
}

/// A case closed since the last snapshot.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ClosedRow {
    pub case_id: i64,
    pub unit: String,
    pub subject_name: String,
    pub rule_zh: String,
    /// 审核销号 (approved by the city) or 情况消除 (the condition cleared).
    pub how: String,
}

/// The section, serialised as `loop` in `snapshot.json`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct AnswerLoop {
    /// The moment counted at, milliseconds since the epoch, and as the text says it (`11月16日`).
    pub as_of: i64,
    pub as_of_zh: String,
    /// By unit, in code order, then the 全市 total (code empty).
    pub units: Vec<LoopUnitRow>,
    pub total: LoopUnitRow,
    /// The stall and reduction answers' causes, most given first.
    pub causes: Vec<CauseCount>,
    /// The month after the snapshot's (`YYYY-MM`), and the enterprises whose answer expects
    /// production back then (预计下月复产).
    pub next_month: String,
    pub resume_next_month: usize,
    pub coordination: Vec<CoordinationRow>,
    pub closed: Vec<ClosedRow>,
    /// Of `closed`, approved by the city.
    pub closed_approved: usize,
}

/// The case as it stood at `as_of`: a later answer or closing undone.
fn as_of(c: &Case, answers: &[&Answer], as_of: i64) -> Case {
    let mut c = c.clone();
    if c.closed_at.is_some_and(|t| t >= as_of) {
        c.closed_at = None;
        c.close_reason = None;
        c.state = CaseState::Answered;
    }
    if c.answered_at.is_some_and(|t| t >= as_of) {
        c.answered_at = None;
        c.late = false;
    }
    if c.state != CaseState::Closed && c.answered_at.is_none() {
        c.state = CaseState::Assigned;
    }
    // The first answer decides 按期 or 超期 as the desk recorded it.
    if let Some(first) = answers.first() {
        c.late = first.late;
    }
    c
}

/// Builds the section from every case, every answer given before `as_of_ms`, the unit names,
/// the previous snapshot's moment `since_ms` (closings after it are listed) and the month after
/// the snapshot's.
pub fn build(
    cases: &[Case],
    answers: &[Answer],
    names: &HashMap<String, String>,
    since_ms: i64,
    as_of_ms: i64,
    next_month: Period,
) -> AnswerLoop {
    let mut by_case: HashMap<i64, Vec<&Answer>> = HashMap::new();
    for a in answers.iter().filter(|a| a.answered_at < as_of_ms) {
        by_case.entry(a.case_id).or_default().push(a);
    }
    let none = Vec::new();
    let then: Vec<Case> = cases
        .iter()
        .filter(|c| c.opened_at < as_of_ms)
        .map(|c| as_of(c, by_case.get(&c.id).unwrap_or(&none), as_of_ms))
        .collect();
    let name = |code: &str| names.get(code).cloned().unwrap_or_else(|| code.to_string());
    let units: Vec<LoopUnitRow> = by_unit(&then, as_of_ms)
        .into_iter()
        .map(|u| row(&u.unit, name(&u.unit), &u))
        .collect();
    let mut total = LoopUnitRow {
        name: "全市".into(),
        ..LoopUnitRow::default()
    };
    for u in &units {
        total.cases += u.cases;
        total.answered_on_time += u.answered_on_time;
        total.answered_late += u.answered_late;
        total.overdue += u.overdue;
        total.due += u.due;
    }
    total.on_time_pct = pct(total.answered_on_time, total.due);
    let newest = |c: &Case| by_case.get(&c.id).and_then(|v| v.last().copied());
    let stalls: Vec<(&Case, &Answer)> = then
        .iter()
        .filter(|c| {
            c.rule
                .parse::<Rule>()
                .is_ok_and(|r| STALL_RULES.contains(&r))
        })
        .filter(|c| c.closed_at.is_none_or(|t| t >= since_ms))
        .filter_map(|c| newest(c).map(|a| (c, a)))
        .collect();
    let next = next_month.to_string();
    let open = |c: &Case| c.state != CaseState::Closed;
    let resuming: BTreeSet<&str> = stalls
        .iter()
        .filter(|(c, a)| open(c) && a.resume_month.as_deref() == Some(next.as_str()))
        .map(|(c, _)| c.subject.as_str())
        .collect();
    let coordination = then
        .iter()
        .filter(|c| open(c))
        .filter_map(|c| newest(c).map(|a| (c, a)))
        .filter(|(_, a)| !a.coordination.trim().is_empty())
        .map(|(c, a)| CoordinationRow {
            case_id: c.id,
            unit: name(&c.unit_code),
            subject_name: c.subject_name.clone(),
            problem: a.coordination.trim().to_string(),
        })
        .collect();
    let closed: Vec<ClosedRow> = then
        .iter()
        .filter(|c| c.closed_at.is_some_and(|t| t >= since_ms))
        .map(|c| ClosedRow {
            case_id: c.id,
            unit: name(&c.unit_code),
            subject_name: c.subject_name.clone(),
            rule_zh: rule_zh(&c.rule).to_string(),
            how: if c.close_reason.as_deref() == Some("approved") {
                "审核销号".into()
            } else {
                "情况消除".into()
            },
        })
        .collect();
    AnswerLoop {
        as_of: as_of_ms,
        as_of_zh: crate::notify::summary::shown_date(as_of_ms),
        units,
        total,
        causes: causes(&stalls),
        next_month: next,
        resume_next_month: resuming.len(),
        coordination,
        closed_approved: closed.iter().filter(|c| c.how == "审核销号").count(),
        closed,
    }
}

fn pct(n: usize, of: usize) -> Option<f64> {
    (of > 0).then(|| n as f64 * 100.0 / of as f64)
}

fn row(code: &str, name: String, u: &crate::cases::UnitCounts) -> LoopUnitRow {
    let due = u.answered_on_time + u.answered_late + u.overdue;
    LoopUnitRow {
        code: code.to_string(),
        name,
        cases: u.open + u.closed,
        answered_on_time: u.answered_on_time,
        answered_late: u.answered_late,
        overdue: u.overdue,
        due,
        on_time_pct: pct(u.answered_on_time, due),
    }
}

/// The causes of the newest answers, each enterprise once per cause, most given first.
fn causes(stalls: &[(&Case, &Answer)]) -> Vec<CauseCount> {
    let mut by: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (c, a) in stalls {
        by.entry(a.cause.as_str())
            .or_default()
            .insert(c.subject.as_str());
    }
    let mut out: Vec<CauseCount> = by
        .into_iter()
        .map(|(cause, e)| CauseCount {
            cause: cause.to_string(),
            enterprises: e.len(),
        })
        .collect();
    out.sort_by(|a, b| {
        b.enterprises
            .cmp(&a.enterprises)
            .then(a.cause.cmp(&b.cause))
    });
    out
}

/// The names of up to `n` items, `、`-joined, with `等` when there are more.
fn some<T>(items: &[T], n: usize, f: impl Fn(&T) -> String) -> String {
    let mut s: Vec<String> = items.iter().take(n).map(f).collect();
    if items.len() > n
        && let Some(last) = s.last_mut()
    {
        last.push('等');
    }
    s.join("、")
}

/// The section's text, in the bureau's words: timeliness, causes, resumption, coordination,
/// closings. One sentence when nothing was assigned; none for a section never counted (a
/// snapshot built without the store).
pub fn paragraphs(l: &AnswerLoop) -> Vec<String> {
    if l.as_of_zh.is_empty() {
        return Vec::new();
    }
    let t = &l.total;
    if t.cases == 0 && l.closed.is_empty() {
        return vec![format!("截至{}，暂无交办预警事项。", l.as_of_zh)];
    }
    let mut out = Vec::new();
    let mut p = format!("截至{}，全市累计交办预警事项{}件", l.as_of_zh, t.cases);
    if t.due > 0 {
        p.push_str(&format!(
            "，已到反馈期限{}件，其中按期反馈{}件、超期反馈{}件、超期未反馈{}件，反馈及时率{}",
            t.due,
            t.answered_on_time,
            t.answered_late,
            t.overdue,
            crate::analysis::fmt_pct(t.on_time_pct.unwrap_or(0.0))
        ));
        let mut low: Vec<&LoopUnitRow> = l
            .units
            .iter()
            .filter(|u| u.on_time_pct.is_some_and(|v| v < 100.0))
            .collect();
        low.sort_by(|a, b| {
            a.on_time_pct
                .partial_cmp(&b.on_time_pct)
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(a.code.cmp(&b.code))
        });
        if !low.is_empty() {
            p.push_str(&format!(
                "。及时率较低的是{}",
                some(&low, 3, |u| format!(
                    "{}（{}）",
                    u.name,
                    crate::analysis::fmt_pct(u.on_time_pct.unwrap_or(0.0))
                ))
            ));
        }
    } else {
        p.push_str("，均未到反馈期限");
    }
    p.push('。');
    out.push(p);
    if !l.causes.is_empty() || l.resume_next_month > 0 {
        let mut p = String::new();
        if !l.causes.is_empty() {
            p.push_str(&format!(
                "从反馈情况看，停产、半停产和减产企业的原因主要是{}",
                some(&l.causes, 4, |c| format!(
                    "{}（{}户）",
                    c.cause, c.enterprises
                ))
            ));
            p.push('；');
        }
        let month = l
            .next_month
            .parse::<Period>()
            .map_or_else(|_| "下月".to_string(), |m| format!("{}月", m.month()));
        p.push_str(&format!(
            "预计下月（{month}）复产{}户。",
            l.resume_next_month
        ));
        out.push(p);
    }
    if !l.coordination.is_empty() {
        out.push(format!(
            "需市级协调解决的问题{}项，涉及{}，请市级相关部门研究协调。",
            l.coordination.len(),
            some(&l.coordination, 3, |c| format!(
                "{}{}（{}）",
                c.unit,
                c.subject_name,
                clip(&c.problem, 30)
            ))
        ));
    }
    if !l.closed.is_empty() {
        out.push(format!(
            "上期以来销号{}件，其中审核销号{}件、情况消除自动销号{}件。",
            l.closed.len(),
            l.closed_approved,
            l.closed.len() - l.closed_approved
        ));
    }
    out
}

/// At most `n` characters of `s`, with `…` when cut.
fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_string();
    }
    let mut t: String = s.chars().take(n).collect();
    t.push('…');
    t
}

/// The columns of `report.xlsx`'s 反馈办理 sheet.
pub const SHEET_HEAD: [&str; 5] = ["类别", "县区", "对象", "情况", "数值"];

/// 反馈办理: each unit's 反馈及时率 and the total, the causes, the enterprises expected to
/// resume next month, every problem awaiting the city, every case closed since the last
/// snapshot. Officials' text is neutralised (a leading `=`, `+`, `-`, `@` stays text).
pub fn sheet_rows(l: &AnswerLoop) -> Vec<Vec<crate::report::sheet::Cell>> {
    use crate::export::neutralise;
    use crate::report::sheet::{Cell, INT, PCT1, num, text};
    let mut rows = Vec::new();
    for u in l.units.iter().chain([&l.total]) {
        rows.push(vec![
            text("反馈及时率(%)"),
            text(&u.name),
            Cell::Empty,
            text(format!(
                "交办{}件，已到期{}件：按期反馈{}件、超期反馈{}件、超期未反馈{}件",
                u.cases, u.due, u.answered_on_time, u.answered_late, u.overdue
            )),
            num(u.on_time_pct, PCT1),
        ]);
    }
    for c in &l.causes {
        rows.push(vec![
            text("停产减产原因(户)"),
            text("全市"),
            text(neutralise(&c.cause)),
            Cell::Empty,
            Cell::Num(c.enterprises as f64, INT),
        ]);
    }
    rows.push(vec![
        text("预计下月复产(户)"),
        text("全市"),
        Cell::Empty,
        text(format!("预计{}复产", l.next_month)),
        Cell::Num(l.resume_next_month as f64, INT),
    ]);
    for c in &l.coordination {
        rows.push(vec![
            text("需市级协调"),
            text(&c.unit),
            text(neutralise(&c.subject_name)),
            text(neutralise(&c.problem)),
            Cell::Empty,
        ]);
    }
    for c in &l.closed {
        rows.push(vec![
            text("上期以来销号"),
            text(&c.unit),
            text(neutralise(&c.subject_name)),
            text(format!("{}，{}", c.rule_zh, c.how)),
            Cell::Empty,
        ]);
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::Severity;

    const DAY: i64 = 86_400_000;

    fn case(id: i64, unit: &str, rule: &str, subject: &str) -> Case {
        Case {
            id,
            alert_id: id,
            rule: rule.into(),
            subject: subject.into(),
            subject_name: format!("企业{subject}"),
            unit_code: unit.into(),
            owner: Some("o".into()),
            state: CaseState::Assigned,
            severity: Severity::Yellow,
            period: "2026-10".into(),
            opened_at: 0,
            answer_days: 5,
            escalate_days: 3,
            delivered_at: Some(0),
            due_at: Some(10 * DAY),
            escalate_at: Some(13 * DAY),
            answered_at: None,
            late: false,
            closed_at: None,
            closed_by: None,
            close_reason: None,
            closed_period: None,
            previous_case: None,
            version: 1,
            updated_at: 0,
            scope: vec![unit.into()],
        }
    }

    fn answered(mut c: Case, at: i64, late: bool) -> Case {
        c.state = CaseState::Answered;
        c.answered_at = Some(at);
        c.late = late;
        c
    }

    fn answer(id: i64, case_id: i64, at: i64, cause: &str, month: &str, coord: &str) -> Answer {
        Answer {
            id,
            case_id,
            cause: cause.into(),
            situation: "说明".into(),
            measures: "措施".into(),
            resume_month: Some(month.into()),
            coordination: coord.into(),
            answered_by: "o".into(),
            answered_at: at,
            late: at > 10 * DAY,
            via: "console".into(),
            client_addr: None,
        }
    }

    /// East (3301): 1 on time, 1 late, 1 overdue, 1 not yet due → due 3, on time 1 of 3 =
    /// 33.3%. West (3302): 2 on time (one closed by the city on day 12, one answered after the
    /// moment counted, so overdue then) → due 2 + 1, on time 2 of 3 = 66.7%. All: 3 of 6 = 50%.
    fn fixture() -> (Vec<Case>, Vec<Answer>) {
        let mut not_due = case(4, "3301", "enterprise_reduced", "E4");
        not_due.due_at = Some(30 * DAY);
        let mut closed = answered(case(5, "3302", "enterprise_stalled", "E5"), 2 * DAY, false);
        closed.state = CaseState::Closed;
        closed.closed_at = Some(12 * DAY);
        closed.close_reason = Some("approved".into());
        let mut after = answered(case(7, "3302", "enterprise_stalled", "E7"), 25 * DAY, true);
        after.opened_at = DAY;
        let cases = vec![
            answered(case(1, "3301", "enterprise_stalled", "E1"), 3 * DAY, false),
            answered(case(2, "3301", "enterprise_reduced", "E2"), 11 * DAY, true),
            case(3, "3301", "enterprise_stalled", "E3"),
            not_due,
            closed,
            answered(case(6, "3302", "unit_below_target", "3302"), 4 * DAY, false),
            after,
        ];
        let answers = vec![
            answer(1, 1, 3 * DAY, "订单不足/市场需求", "2026-12", ""),
            answer(
                2,
                2,
                11 * DAY,
                "资金紧张",
                "2026-12",
                "=HYPERLINK(\"x\") 协调续贷",
            ),
            answer(3, 5, 2 * DAY, "订单不足/市场需求", "2026-11", ""),
            answer(4, 6, 4 * DAY, "其他", "", "用地指标"),
            answer(5, 7, 25 * DAY, "用工", "2026-12", ""),
        ];
        (cases, answers)
    }

    #[test]
    fn the_loop_is_counted_by_hand_as_it_stood() {
        let (cases, answers) = fixture();
        let names = HashMap::from([("3301".to_string(), "东城区".to_string())]);
        let month: Period = "2026-12".parse().unwrap();
        let l = build(&cases, &answers, &names, 5 * DAY, 20 * DAY, month);
        let east = &l.units[0];
        assert_eq!(
            (
                east.name.as_str(),
                east.cases,
                east.due,
                east.answered_on_time,
                east.answered_late,
                east.overdue
            ),
            ("东城区", 4, 3, 1, 1, 1)
        );
        assert!((east.on_time_pct.unwrap() - 100.0 / 3.0).abs() < 1e-9);
        let west = &l.units[1];
        assert_eq!(
            (
                west.name.as_str(),
                west.cases,
                west.due,
                west.answered_on_time,
                west.overdue
            ),
            ("3302", 3, 3, 2, 1)
        );
        assert_eq!(l.total.due, 6);
        assert_eq!(l.total.on_time_pct, Some(50.0));
        // Causes of the stall and reduction answers given by day 20 (not case 6, a unit's; not
        // case 7's, given later): 订单不足 E1 and E5 (closed after day 5), 资金紧张 E2.
        assert_eq!(
            l.causes,
            [
                CauseCount {
                    cause: "订单不足/市场需求".into(),
                    enterprises: 2
                },
                CauseCount {
                    cause: "资金紧张".into(),
                    enterprises: 1
                },
            ]
        );
        // Open ones expecting December: E1 and E2 (E5 is closed).
        assert_eq!(l.resume_next_month, 2);
        assert_eq!(
            l.coordination
                .iter()
                .map(|c| (c.case_id, c.problem.as_str()))
                .collect::<Vec<_>>(),
            [(2, "=HYPERLINK(\"x\") 协调续贷"), (6, "用地指标")]
        );
        assert_eq!(l.closed.len(), 1);
        assert_eq!(
            (l.closed[0].case_id, l.closed[0].how.as_str()),
            (5, "审核销号")
        );
        // Counted from day 13 instead, the closing on day 12 is before the last snapshot.
        let later = build(&cases, &answers, &names, 13 * DAY, 20 * DAY, month);
        assert!(later.closed.is_empty());
        let text = paragraphs(&l);
        assert!(
            text[0].ends_with("已到反馈期限6件，其中按期反馈3件、超期反馈1件、超期未反馈2件，反馈及时率50.0%。及时率较低的是东城区（33.3%）、3302（66.7%）。"),
            "{text:?}"
        );
        assert_eq!(
            text[1],
            "从反馈情况看，停产、半停产和减产企业的原因主要是订单不足/市场需求（2户）、资金紧张（1户）；预计下月（12月）复产2户。"
        );
        assert!(text[2].starts_with("需市级协调解决的问题2项"), "{text:?}");
        assert_eq!(
            text[3],
            "上期以来销号1件，其中审核销号1件、情况消除自动销号0件。"
        );
        // The workbook's rows keep the formula-looking problem as text.
        let rows = sheet_rows(&l);
        assert!(
            rows.iter()
                .any(|r| r[3] == crate::report::sheet::text("'=HYPERLINK(\"x\") 协调续贷"))
        );
    }

    #[test]
    fn the_report_says_so_when_nothing_was_assigned() {
        let l = build(
            &[],
            &[],
            &HashMap::new(),
            0,
            DAY,
            "2026-12".parse().unwrap(),
        );
        assert_eq!(paragraphs(&l), ["截至1月2日，暂无交办预警事项。"]);
    }

    /// The section in the page, the workbook's sheet and the document, text escaped.
    #[test]
    fn the_section_is_in_every_format() {
        let (cases, answers) = fixture();
        let mut s = crate::report::sample::snapshot();
        let mut names = HashMap::new();
        names.insert("3301".to_string(), "东城<区>".to_string());
        s.answer_loop = build(
            &cases,
            &answers,
            &names,
            5 * DAY,
            20 * DAY,
            "2026-12".parse().unwrap(),
        );
        crate::report::text::write(&mut s);
        assert!(s.paragraphs.iter().any(|p| p.contains("反馈及时率50.0%")));
        let html = crate::report::html::render(&s, "云州市").unwrap();
        assert!(html.contains("<h2>八、反馈办理情况</h2>"), "{html}");
        assert!(html.contains("<td>东城&lt;区&gt;</td><td class=\"n\">4</td><td class=\"n\">3</td><td class=\"n\">1</td><td class=\"n\">1</td><td class=\"n\">1</td><td class=\"n\">33.3%</td>"), "{html}");
        assert!(
            html.contains("<td>全市</td><td class=\"n\">7</td><td class=\"n\">6</td>"),
            "{html}"
        );
        let half: crate::report::Half = s.half.parse().unwrap();
        let xlsx = crate::report::xlsx::render(&s, half, "云州市").unwrap();
        let parts = crate::report::sample::unzip(&xlsx);
        let shared = crate::report::sample::part(&parts, "xl/sharedStrings.xml");
        assert!(
            shared.contains("表11 反馈办理") && shared.contains("需市级协调"),
            "{shared}"
        );
        let doc = crate::report::docx::content::sections(&s, &[]);
        let last = doc.iter().find(|d| d.heading == "反馈办理情况").unwrap();
        assert_eq!(last.paragraphs, s.text.answers);
        assert_eq!(
            last.tables[0].rows[0][1..],
            ["4", "3", "1", "1", "1", "33.3%"]
        );
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["loop"]["total"]["due"], 6);
        assert_eq!(json["loop"]["resume_next_month"], 2);
    }
}
