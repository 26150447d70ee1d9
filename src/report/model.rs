//! The snapshot as plain data: built from one evaluation (report + dataset) and the alert events
//! of the half, with no I/O, so that the three formats show the same figures and a test can
//! compare them with the evaluation.

use serde::Serialize;
use serde_json::Value;

use super::Half;
use super::change::{self, StateChange, StateCounts, UnitStates};
use crate::alerts::{Event, EventKind};
use crate::analysis::rounding::fixed;
use crate::analysis::{
    Dataset, PCT, Previous, State, StateThresholds, UnitPrevious, UnitResult, WINDOW, pulls,
};
use crate::evaluate::{Report, unit_json};
use crate::registry::UnitKind;
use crate::rules::{About, Rule, RulesConfig, Severity, basis_points};

/// Pulls and drags listed in each direction.
pub const TOP: usize = 10;

/// Everything a snapshot shows; serialised as `snapshot.json`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Snapshot {
    pub half: String,
    pub period: String,
    /// `1—10月`.
    pub period_label: String,
    /// The newest import run read (数据版本).
    pub vintage: i64,
    pub generator: String,
    /// The reporting deadline of the period (Shanghai date), passed when the half ended.
    pub deadline: String,
    /// Months elapsed / 12, percent (时间进度).
    pub time_progress_pct: f64,
    pub expected: u32,
    pub reported: u32,
    pub submission_rate_pct: Option<f64>,
    pub city: Option<UnitRow>,
    pub districts: Vec<UnitRow>,
    pub zones: Vec<UnitRow>,
    pub states: StateSummary,
    /// The figures only the charts show (the city's growth by month, state counts by month).
    pub charts: super::charts::ChartData,
    pub pulls: Vec<PullRow>,
    pub drags: Vec<PullRow>,
    pub alerts: AlertSummary,
    pub quality: Vec<FindingRow>,
    /// Key projects (重点项目): counts, per unit, and every project.
    pub projects: ProjectSection,
    /// Output by industry (分行业), efficiency (效益) and industrial investment (工业投资),
    /// filled in by [`super::industry::attach`].
    pub industries: super::industry::IndustrySection,
    pub efficiency: super::industry::EfficiencySection,
    pub investment: super::industry::InvestmentSection,
    /// Every analysis paragraph, in the order of the report (`text`'s, flattened).
    pub paragraphs: Vec<String>,
    /// The analysis text of each section.
    pub text: super::text::SectionText,
    /// Enterprises on a planned overhaul (计划检修), marked wherever they appear.
    pub overhaul: Vec<super::sections::Overhaul>,
    /// 存在问题 and 下步工作建议, written from the findings.
    pub advice: super::advice::Advice,
    /// 反馈办理情况: the answer loop (`loop` in `snapshot.json`), filled in by
    /// [`super::answers::build`].
    #[serde(rename = "loop")]
    pub answer_loop: super::answers::AnswerLoop,
    /// 按旬监测: the latest 旬's growth by unit and the 旬 warnings since the last snapshot,
    /// filled in by [`super::xun::build`].
    pub xun: super::xun::XunWatch,
    /// 预测预警: the nowcast of the month after the period, its error and the year end against
    /// the targets, filled in by [`super::forecast::build`].
    pub forecast: super::forecast::ForecastWatch,
    /// The evaluation's own unit objects (the JSON contract), for machines.
    pub units: Vec<Value>,
    /// The analysed period the changes compare with ("2026-09"; December of last year for 1—2月),
    /// none when it lies outside the data read.
    pub prev_period: Option<String>,
    /// 1—(N−1)月 as written ("1—9月"); none in the year's first period, which has no year to
    /// date before it (1—2月), so no change of the year-to-date growth is shown then.
    pub prev_period_label: Option<String>,
    /// The month whose own growth (当月增速) is shown: "10月", or "1—2月" when combined.
    pub month_label: String,
    /// The month it is compared with: "9月", "上年12月".
    pub prev_month_label: Option<String>,
    /// The months left in the year, over which `required_pct` is needed ("11—12月", "12月");
    /// none in December.
    pub remaining_label: Option<String>,
}

/// One unit's line in the overview and the rankings.
#[derive(Clone, Debug, Default, Serialize)]
pub struct UnitRow {
    pub code: String,
    pub name: String,
    pub kind: String,
    /// 万元.
    pub ytd_wan: f64,
    pub ytd_prev_wan: f64,
    pub growth_pct: Option<f64>,
    pub estimated: bool,
    pub target_pct: Option<f64>,
    /// The gap as shown (差距): the growth as shown minus the target as shown, a multiple of
    /// 0.1 pp, so that the printed figures add up (the exact gap is in `units`).
    pub gap_pp: Option<f64>,
    /// Rank by growth as shown among units of the kind; equal growth shares a rank (并列).
    pub rank: Option<u32>,
    pub required_pct: Option<f64>,
    pub submission_rate_pct: Option<f64>,
    /// red / orange / yellow / blue below target by the configured gaps, "" when not below.
    pub mark: String,
    pub mark_zh: String,
    /// 1—(N−1)月 growth; none in the year's first period (see `Snapshot::prev_period_label`).
    pub growth_prev_pct: Option<f64>,
    /// Growth as shown minus 1—(N−1)月 growth as shown, pp: positive 加快/提高, negative 回落.
    pub growth_change_pp: Option<f64>,
    /// 当月增速: the month's own output growth (`Snapshot::month_label`).
    pub month_growth_pct: Option<f64>,
    /// The own growth of the month before (`Snapshot::prev_month_label`).
    pub month_growth_prev_pct: Option<f64>,
    /// `month_growth_pct` minus `month_growth_prev_pct`, both as shown, pp.
    pub month_growth_change_pp: Option<f64>,
    /// Whether another unit of the kind has the same rank (并列).
    pub rank_tied: bool,
    /// Rank in the period before (1—(N−1)月).
    pub rank_prev: Option<u32>,
    /// Places moved since then: 2 = 前移2位, −1 = 后移1位, 0 = 位次不变.
    pub rank_move: Option<i32>,
}

/// 停产 / 半停产 / 减产 at the period and the changes since the previous month.
#[derive(Clone, Debug, Default, Serialize)]
pub struct StateSummary {
    pub stalled: usize,
    pub semi_stalled: usize,
    pub reduced: usize,
    pub new: usize,
    pub recovered: Vec<EnterpriseRow>,
    pub list: Vec<EnterpriseRow>,
    /// The city's counts last month; none when no enterprise had reported then.
    pub last_month: Option<StateCounts>,
    /// The city's counts now minus last month's.
    pub change: Option<StateChange>,
    /// Each district, then each zone (by code): counts now and last month.
    pub by_unit: Vec<UnitStates>,
    /// The same by the unit each enterprise is registered to (its `unit_code`), for the units
    /// that have one in a state now or last month: the stall table's rows, which add up to the
    /// city (an enterprise of a zone's is counted in its district by membership, but registered
    /// to one unit only).
    pub by_registered: Vec<UnitStates>,
}

/// An enterprise in the state lists.
#[derive(Clone, Debug, Default, Serialize)]
pub struct EnterpriseRow {
    pub credit_code: String,
    pub name: String,
    pub unit: String,
    pub state: String,
    pub month_wan: Option<f64>,
    pub base_wan: Option<f64>,
    pub consecutive: u32,
    /// 新增 (not in a state last month) or 持续.
    pub change: String,
}

/// An enterprise's pull (拉动) on the city's growth.
#[derive(Clone, Debug, Serialize)]
pub struct PullRow {
    pub credit_code: String,
    pub name: String,
    pub unit: String,
    pub ytd_wan: f64,
    pub ytd_prev_wan: f64,
    pub pull_pp: f64,
}

/// Alert events since the previous snapshot and the findings of the period by severity.
#[derive(Clone, Debug, Default, Serialize)]
pub struct AlertSummary {
    pub opened: usize,
    pub escalated: usize,
    pub raised: usize,
    pub resolved: usize,
    /// Findings of the period: red, orange, yellow, blue.
    pub by_severity: [usize; 4],
    pub list: Vec<FindingRow>,
    /// The last alert event counted above, where the next snapshot's count starts.
    pub events_through: Option<i64>,
}

/// One finding as listed.
#[derive(Clone, Debug, Default, Serialize)]
pub struct FindingRow {
    pub severity: String,
    pub severity_zh: String,
    pub rule: String,
    pub rule_zh: String,
    pub subject: String,
    pub subject_name: String,
    /// The name of the district or zone the subject belongs to (its own name for a unit).
    pub unit: String,
    pub message: String,
}

/// The key projects of the snapshot.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ProjectSection {
    /// The city's projects (every project once); none when the city has no key projects.
    pub city: Option<ProjectUnitRow>,
    pub units: Vec<ProjectUnitRow>,
    /// Findings of the period by project rule, in [`PROJECT_RULES`] order.
    pub findings: Vec<(String, String, usize)>,
    /// One sentence in the bureau's words.
    pub summary: String,
    /// Every project, those with warnings first (most severe first), then by id.
    pub list: Vec<ProjectRow>,
}

/// The project rules, in the order the report lists them.
pub const PROJECT_RULES: [Rule; 4] = [
    Rule::ProjectNotStarted,
    Rule::ProjectBehindSchedule,
    Rule::ProjectIdle,
    Rule::ProjectMissing,
];

/// A unit's projects: how many in each status, plan and investment so far (万元).
#[derive(Clone, Debug, Serialize)]
pub struct ProjectUnitRow {
    pub code: String,
    pub name: String,
    pub total: u32,
    pub planned: u32,
    pub started: u32,
    pub completed: u32,
    pub producing: u32,
    pub reported: u32,
    pub planned_year_wan: f64,
    pub invested_ytd_wan: f64,
    pub progress_pct: Option<f64>,
}

/// One project at the period.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ProjectRow {
    pub id: String,
    pub name: String,
    pub unit: String,
    /// 包抓领导 by name ("" when none, or when no configured recipient has the id).
    pub owner: String,
    pub status: String,
    pub status_zh: String,
    /// The month the current status began (from the reports), "" when only registered.
    pub status_since: String,
    pub reported: bool,
    pub total_investment_wan: f64,
    pub planned_year_wan: Option<f64>,
    pub invested_month_wan: Option<f64>,
    pub invested_ytd_wan: Option<f64>,
    pub progress_pct: Option<f64>,
    pub planned_start: String,
    pub planned_completion: String,
    pub planned_production: String,
    /// The most severe warning's colour, "" without one.
    pub severity: String,
    pub severity_zh: String,
    /// The project's warnings, by Chinese rule name (、-separated).
    pub warnings: String,
}

fn project_unit_row(u: &UnitResult) -> ProjectUnitRow {
    let c = &u.projects;
    ProjectUnitRow {
        code: u.code.clone(),
        name: u.name.clone(),
        total: c.total,
        planned: c.planned,
        started: c.started,
        completed: c.completed,
        producing: c.producing,
        reported: c.reported,
        planned_year_wan: wan(c.planned_year),
        invested_ytd_wan: wan(c.invested_ytd),
        progress_pct: (c.planned_year > 0)
            .then(|| c.invested_ytd as f64 / c.planned_year as f64 * 100.0),
    }
}

fn projects(report: &Report, unit_names: &std::collections::HashMap<&str, &str>) -> ProjectSection {
    let city = report
        .units
        .iter()
        .find(|u| u.kind == UnitKind::City && u.projects.total > 0)
        .map(project_unit_row);
    let mut units: Vec<ProjectUnitRow> = report
        .units
        .iter()
        .filter(|u| u.kind != UnitKind::City && u.projects.total > 0)
        .map(project_unit_row)
        .collect();
    units.sort_by(|a, b| a.code.cmp(&b.code));
    let findings: Vec<(String, String, usize)> = PROJECT_RULES
        .iter()
        .map(|r| {
            let n = report.findings.iter().filter(|f| f.rule == *r).count();
            (r.to_string(), r.zh().to_string(), n)
        })
        .collect();
    let month = |m: Option<crate::period::Period>| m.map_or(String::new(), |m| m.to_string());
    let mut list: Vec<(Option<Severity>, ProjectRow)> = report
        .projects
        .iter()
        .map(|(pr, r)| {
            let mine: Vec<&crate::rules::Finding> = report
                .findings
                .iter()
                .filter(|f| f.rule.about() == About::Project && f.subject == pr.id)
                .collect();
            let worst = mine.iter().map(|f| f.severity).max();
            let plan = pr.planned_year.map(|a| a.raw());
            let row = ProjectRow {
                id: pr.id.clone(),
                name: pr.name.clone(),
                unit: unit_names
                    .get(pr.unit_code.as_str())
                    .map_or_else(|| pr.unit_code.clone(), |n| n.to_string()),
                owner: pr.owner.clone().unwrap_or_default(),
                status: r.status.as_str().into(),
                status_zh: r.status.zh().into(),
                status_since: month(r.status_since),
                reported: r.reported,
                total_investment_wan: wan(pr.total_investment.raw()),
                planned_year_wan: plan.map(wan),
                invested_month_wan: r.invested_month.map(wan),
                invested_ytd_wan: r.invested_ytd.map(wan),
                progress_pct: plan
                    .filter(|p| *p > 0)
                    .zip(r.invested_ytd)
                    .map(|(p, y)| y as f64 / p as f64 * 100.0),
                planned_start: month(pr.planned_start),
                planned_completion: month(pr.planned_completion),
                planned_production: month(pr.planned_production),
                severity: worst.map_or("", |s| s.as_str()).into(),
                severity_zh: worst.map_or("", |s| s.zh()).into(),
                warnings: mine
                    .iter()
                    .map(|f| f.rule.zh())
                    .collect::<Vec<_>>()
                    .join("、"),
            };
            (worst, row)
        })
        .collect();
    list.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.id.cmp(&b.1.id)));
    let mut section = ProjectSection {
        city,
        units,
        findings,
        summary: String::new(),
        list: list.into_iter().map(|(_, r)| r).collect(),
    };
    section.summary = project_summary(&section, report.period);
    section
}

/// "全市重点项目154个，其中未开工23个、在建70个、竣工未投产20个、已投产41个；1—10月完成投资…"
fn project_summary(s: &ProjectSection, period: crate::period::Period) -> String {
    let Some(c) = s.city.as_ref().filter(|c| c.total > 0) else {
        return String::new();
    };
    let mut text = format!(
        "全市重点项目{}个，其中未开工{}个、在建{}个、竣工未投产{}个、已投产{}个；{}完成投资{}万元",
        c.total,
        c.planned,
        c.started,
        c.completed,
        c.producing,
        period.ytd_label(),
        crate::analysis::fmt_wan((c.invested_ytd_wan * 10_000.0).round() as i64),
    );
    if let Some(p) = c.progress_pct {
        text.push_str(&format!(
            "，为年度计划投资的{}%（时间进度{}%）",
            fixed(p, 1),
            fixed(f64::from(period.month()) / 12.0 * 100.0, 1)
        ));
    }
    let warned: Vec<String> = s
        .findings
        .iter()
        .filter(|(_, _, n)| *n > 0)
        .map(|(_, zh, n)| format!("{zh}{n}个"))
        .collect();
    if warned.is_empty() {
        text.push('。');
    } else {
        text.push_str(&format!("。预警：{}。", warned.join("，")));
    }
    text
}

fn wan(raw: i64) -> f64 {
    raw as f64 / 10_000.0
}

fn mark(u: &UnitResult, cfg: &RulesConfig) -> Option<Severity> {
    let gap = u.gap_pp?;
    if gap >= 0.0 {
        return None;
    }
    let [y, o, r] = cfg.below_target_pp;
    Some(if gap <= r {
        Severity::Red
    } else if gap <= o {
        Severity::Orange
    } else if gap <= y {
        Severity::Yellow
    } else {
        Severity::Blue
    })
}

fn unit_row(u: &UnitResult, cfg: &RulesConfig, prev: Option<&Previous>) -> UnitRow {
    let m = mark(u, cfg);
    let mut row = UnitRow {
        code: u.code.clone(),
        name: u.name.clone(),
        kind: u.kind.as_str().into(),
        ytd_wan: wan(u.ytd),
        ytd_prev_wan: wan(u.ytd_prev),
        growth_pct: u.growth.map(|g| g.pct()),
        estimated: u.estimated,
        target_pct: u.target.map(|t| t.pct_raw as f64 / PCT as f64),
        gap_pp: u.shown_gap_pp(),
        rank: u.rank,
        required_pct: u.required_pct,
        submission_rate_pct: u.submission_rate(),
        mark: m.map_or("", |s| s.as_str()).into(),
        mark_zh: m.map_or("", |s| s.zh()).into(),
        growth_prev_pct: None,
        growth_change_pp: None,
        month_growth_pct: None,
        month_growth_prev_pct: None,
        month_growth_change_pp: None,
        rank_tied: false,
        rank_prev: None,
        rank_move: None,
    };
    let before: Option<&UnitPrevious> = prev.and_then(|p| p.units.get(u.index));
    change::fill_unit(&mut row, u, before);
    row
}

fn finding_row(
    f: &crate::rules::Finding,
    unit_names: &std::collections::HashMap<&str, &str>,
) -> FindingRow {
    FindingRow {
        severity: f.severity.as_str().into(),
        severity_zh: f.severity.zh().into(),
        rule: f.rule.to_string(),
        rule_zh: f.rule.zh().into(),
        subject: f.subject.clone(),
        subject_name: f.subject_name.clone(),
        unit: unit_names
            .get(f.unit.as_str())
            .map_or_else(|| f.unit.clone(), |n| n.to_string()),
        message: f.message.clone(),
    }
}

/// The units of `kind` by rank; units sharing a rank by exact growth, then by code.
fn ranked(
    units: &[UnitResult],
    kind: UnitKind,
    cfg: &RulesConfig,
    prev: Option<&Previous>,
) -> Vec<UnitRow> {
    let mut v: Vec<&UnitResult> = units.iter().filter(|u| u.kind == kind).collect();
    v.sort_by(|a, b| {
        a.rank
            .unwrap_or(u32::MAX)
            .cmp(&b.rank.unwrap_or(u32::MAX))
            .then_with(|| crate::analysis::formulas::cmp_rank(a.growth, b.growth))
            .then_with(|| a.code.cmp(&b.code))
    });
    let mut rows: Vec<UnitRow> = v.into_iter().map(|u| unit_row(u, cfg, prev)).collect();
    change::mark_ties(&mut rows);
    rows
}

/// Builds the snapshot of `half` from the evaluation of its period and the half's alert events.
pub fn build(
    half: Half,
    report: &Report,
    ds: &Dataset,
    cfg: &RulesConfig,
    events: &[Event],
) -> Snapshot {
    let city_res = report.units.iter().find(|u| u.kind == UnitKind::City);
    let prev = crate::analysis::previous(ds, &report.units);
    let labels = change::labels(
        report.period,
        ds.cal.is_combined(report.period),
        prev.as_ref(),
    );
    let city = city_res.map(|u| unit_row(u, cfg, prev.as_ref()));
    let unit_name = |e: usize| {
        let code = &ds.enterprises[e].unit_code;
        ds.units
            .iter()
            .find(|u| &u.code == code)
            .map_or_else(|| code.clone(), |u| u.name.clone())
    };
    let members = ds.memberships();
    let (mut pull_rows, mut drag_rows) = (Vec::new(), Vec::new());
    if let Some(c) = city_res {
        let mut p = pulls(ds, &members, c);
        p.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let row = |&(e, pp): &(usize, f64)| {
            let s = &ds.series[e];
            PullRow {
                credit_code: ds.enterprises[e].credit_code.to_string(),
                name: ds.enterprises[e].name.clone(),
                unit: unit_name(e),
                ytd_wan: s.ytd(&ds.cal, WINDOW - 1).map_or(0.0, wan),
                ytd_prev_wan: s.ytd_prev(&ds.cal, WINDOW - 1).map_or(0.0, wan),
                pull_pp: pp,
            }
        };
        pull_rows = p.iter().filter(|x| x.1 > 0.0).take(TOP).map(row).collect();
        drag_rows = p
            .iter()
            .rev()
            .filter(|x| x.1 < 0.0)
            .take(TOP)
            .map(row)
            .collect();
    }
    let mut alerts = AlertSummary::default();
    for e in events {
        match e.kind {
            EventKind::Opened | EventKind::Reopened => alerts.opened += 1,
            EventKind::Escalated => alerts.escalated += 1,
            EventKind::SeverityRaised => alerts.raised += 1,
            EventKind::Resolved => alerts.resolved += 1,
            _ => {}
        }
    }
    let unit_names: std::collections::HashMap<&str, &str> = ds
        .units
        .iter()
        .map(|u| (u.code.as_str(), u.name.as_str()))
        .collect();
    let project_section = projects(report, &unit_names);
    let mut quality = Vec::new();
    for f in &report.findings {
        if f.rule.is_quality() {
            quality.push(finding_row(f, &unit_names));
            continue;
        }
        alerts.by_severity[severity_index(f.severity)] += 1;
        alerts.list.push(finding_row(f, &unit_names));
    }
    super::sections::order_alerts(&mut alerts.list);
    let (expected, reported) = city_res.map_or((0, 0), |c| (c.expected, c.reported));
    let mut snap = Snapshot {
        half: half.to_string(),
        period: report.period.to_string(),
        period_label: report.period.ytd_label(),
        vintage: report.vintage,
        generator: format!("indmon {}", env!("CARGO_PKG_VERSION")),
        deadline: String::new(),
        time_progress_pct: report.period.month() as f64 / 12.0 * 100.0,
        expected,
        reported,
        submission_rate_pct: city_res.and_then(|c| c.submission_rate()),
        city,
        districts: ranked(&report.units, UnitKind::District, cfg, prev.as_ref()),
        zones: ranked(&report.units, UnitKind::Zone, cfg, prev.as_ref()),
        states: states(ds, cfg, &unit_name, &members),
        charts: super::charts::data::build(report, ds, cfg),
        pulls: pull_rows,
        drags: drag_rows,
        alerts,
        quality,
        projects: project_section,
        industries: Default::default(),
        efficiency: Default::default(),
        investment: Default::default(),
        paragraphs: Vec::new(),
        text: Default::default(),
        overhaul: Vec::new(),
        advice: Default::default(),
        answer_loop: Default::default(),
        xun: Default::default(),
        forecast: Default::default(),
        units: report.units.iter().map(unit_json).collect(),
        prev_period: prev.as_ref().map(|p| p.period.to_string()),
        prev_period_label: labels.prev_period_label,
        month_label: labels.month_label,
        prev_month_label: labels.prev_month_label,
        remaining_label: labels.remaining_label,
    };
    super::text::write(&mut snap);
    snap
}

/// Replaces each project's 包抓领导 id by the person's name (the configured recipient with that
/// id); an id no recipient has is left out rather than shown — officials read names, not ids.
pub fn name_owners(snap: &mut Snapshot, people: &std::collections::HashMap<&str, &str>) {
    for p in &mut snap.projects.list {
        p.owner = people
            .get(p.owner.as_str())
            .map_or_else(String::new, |n| n.to_string());
    }
}

fn severity_index(s: Severity) -> usize {
    match s {
        Severity::Red => 0,
        Severity::Orange => 1,
        Severity::Yellow => 2,
        Severity::Blue => 3,
    }
}

fn states(
    ds: &Dataset,
    cfg: &RulesConfig,
    unit_name: &dyn Fn(usize) -> String,
    members: &[Vec<usize>],
) -> StateSummary {
    let th = StateThresholds {
        semi_stalled: basis_points(cfg.semi_stalled_ratio),
        reduced: basis_points(cfg.reduced_ratio),
    };
    let last = WINDOW - 1;
    let before = ds.cal.prev_analysed(ds.period());
    let mut out = StateSummary::default();
    // Per unit (parallel to `ds.units`): counts now and last month.
    let mut now_by = vec![StateCounts::default(); ds.units.len()];
    let mut was_by = vec![StateCounts::default(); ds.units.len()];
    let mut any_before = false;
    // Per unit an enterprise is registered to: counts now and last month.
    let own_of: std::collections::HashMap<&str, usize> = ds
        .units
        .iter()
        .enumerate()
        .map(|(i, u)| (u.code.as_str(), i))
        .collect();
    let mut now_own = vec![StateCounts::default(); ds.units.len()];
    let mut was_own = vec![StateCounts::default(); ds.units.len()];
    for (e, s) in ds.series.iter().enumerate() {
        if !ds.is_above(e) {
            continue;
        }
        let standing = ds.standing(e, th);
        let now = standing.state.unwrap_or(State::Normal);
        let was = ds.standing_at(e, th, before).state;
        // Last month counts only if some enterprise could be judged then (a month and its base).
        any_before |= was.is_some();
        let was = was.unwrap_or(State::Normal);
        for &u in &members[e] {
            now_by[u].add(now);
            was_by[u].add(was);
        }
        if let Some(&u) = own_of.get(ds.enterprises[e].unit_code.as_str()) {
            now_own[u].add(now);
            was_own[u].add(was);
        }
        let row = |state: State, change: &str| EnterpriseRow {
            credit_code: ds.enterprises[e].credit_code.to_string(),
            name: ds.enterprises[e].name.clone(),
            unit: unit_name(e),
            state: state.zh().into(),
            month_wan: s.month_value(&ds.cal, last).map(wan),
            base_wan: s.month_base(&ds.cal, last).map(wan),
            consecutive: standing.streak,
            change: change.into(),
        };
        match now {
            State::Normal => {
                if was != State::Normal && s.is_present(last) {
                    out.recovered.push(row(was, "复产"));
                }
                continue;
            }
            State::Stalled => out.stalled += 1,
            State::SemiStalled => out.semi_stalled += 1,
            State::Reduced => out.reduced += 1,
        }
        let change = if was == State::Normal {
            out.new += 1;
            "新增"
        } else {
            "持续"
        };
        out.list.push(row(now, change));
    }
    out.list.sort_by(|a, b| {
        state_order(&b.state)
            .cmp(&state_order(&a.state))
            .then(a.credit_code.cmp(&b.credit_code))
    });
    if let Some(c) = ds.city().filter(|_| any_before) {
        out.last_month = Some(was_by[c]);
        out.change = Some(now_by[c].since(was_by[c]));
    }
    out.by_unit = unit_states(ds, &now_by, &was_by, any_before);
    out.by_registered = (0..ds.units.len())
        .filter(|&u| ds.units[u].kind != UnitKind::City)
        .filter(|&u| now_own[u].total + was_own[u].total > 0)
        .map(|u| UnitStates {
            code: ds.units[u].code.clone(),
            name: ds.units[u].name.clone(),
            kind: ds.units[u].kind.as_str().into(),
            now: now_own[u],
            last_month: any_before.then_some(was_own[u]),
            change: any_before.then(|| now_own[u].since(was_own[u])),
        })
        .collect();
    out
}

/// Each district, then each zone, by code, with its counts now and (when known) last month.
fn unit_states(
    ds: &Dataset,
    now_by: &[StateCounts],
    was_by: &[StateCounts],
    known_before: bool,
) -> Vec<UnitStates> {
    let mut idx: Vec<usize> = (0..ds.units.len())
        .filter(|&u| matches!(ds.units[u].kind, UnitKind::District | UnitKind::Zone))
        .collect();
    idx.sort_by_key(|&u| {
        (
            ds.units[u].kind != UnitKind::District,
            ds.units[u].code.clone(),
        )
    });
    idx.into_iter()
        .map(|u| UnitStates {
            code: ds.units[u].code.clone(),
            name: ds.units[u].name.clone(),
            kind: ds.units[u].kind.as_str().into(),
            now: now_by[u],
            last_month: known_before.then_some(was_by[u]),
            change: known_before.then(|| now_by[u].since(was_by[u])),
        })
        .collect()
}

fn state_order(zh: &str) -> u8 {
    match zh {
        "停产" => 3,
        "半停产" => 2,
        _ => 1,
    }
}
