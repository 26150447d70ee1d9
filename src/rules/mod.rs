//! Rules: turn the analysis of one period into findings. Pure: the data, the configuration and
//! the clock in; findings out, each carrying the inputs of its formula, the threshold and the
//! revisions it was computed from.

mod config;
mod enterprise;
pub mod power;
pub mod project;
mod rule;
pub mod source;
mod unit;

use std::collections::HashSet;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Map, Value};

pub use crate::analysis::formulas::{behind, hundredths};
pub use config::{RulesConfig, Severity, basis_points};
pub use rule::{About, Rule, UnknownRule, rule_zh};

use crate::analysis::{Dataset, ProjectResult, UnitResult, evaluate_projects, evaluate_units};
use crate::credit_code::CreditCode;
use crate::period::Period;

/// One condition found in the data: the raw material of an alert.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    pub rule: Rule,
    pub severity: Severity,
    /// Credit code, unit code or project id.
    pub subject: String,
    pub subject_name: String,
    pub indicator: String,
    /// The unit the subject belongs to (its own code for a unit).
    pub unit: String,
    /// Every unit whose officials may see it.
    pub scope: Vec<String>,
    /// The responsible person (包抓领导) for enterprise findings.
    pub owner: Option<String>,
    pub period: Period,
    pub consecutive: u32,
    pub message: String,
    pub values: Map<String, Value>,
}

/// What the rules could judge this time: alerts outside it are neither kept nor resolved.
#[derive(Clone, Debug, Default)]
pub struct Coverage {
    /// Whether the reporting deadline of the period has passed (未报 can be judged).
    pub deadline_passed: bool,
    /// Enterprises with no submission for the period.
    pub absent: HashSet<CreditCode, foldhash::fast::RandomState>,
    /// Units with no data for the period.
    pub empty_units: HashSet<String>,
    /// Projects with no progress report for the period.
    pub absent_projects: HashSet<String>,
    /// Every enterprise the dataset knows (by credit code: half a million strings cost time).
    pub enterprises: HashSet<CreditCode, foldhash::fast::RandomState>,
    /// Every other subject the dataset knows: units, projects, sources.
    pub known: HashSet<String>,
    pub disabled: HashSet<Rule>,
    /// Enterprises (credit codes) whose 旬 could be judged (`rules::power`): the 旬 rules'
    /// alerts of others are neither kept nor resolved. Empty for a monthly evaluation.
    pub xun_judged: HashSet<CreditCode, foldhash::fast::RandomState>,
}

impl Coverage {
    /// Whether the absence of a finding for (rule, subject) means the condition has cleared.
    /// `rule` is a stored name: one this release does not know is judged as an enterprise rule.
    pub fn covers(&self, rule: &str, subject: &str) -> bool {
        // A credit code exactly as the findings write it (upper case, untrimmed).
        let enterprise = subject
            .parse::<CreditCode>()
            .ok()
            .filter(|c| c.as_str() == subject && self.enterprises.contains(c));
        let rule = rule.parse::<Rule>().ok();
        if rule.is_some_and(|r| self.disabled.contains(&r))
            || (enterprise.is_none() && !self.known.contains(subject))
        {
            return false;
        }
        let absent = enterprise.is_some_and(|c| self.absent.contains(&c));
        let Some(rule) = rule else {
            return !absent;
        };
        let absent_project = || self.absent_projects.contains(subject);
        match rule {
            Rule::EnterpriseMissing => self.deadline_passed || !absent,
            Rule::UnitLowSubmissionRate => self.deadline_passed,
            Rule::SourceFailing => true,
            Rule::UnitBelowTarget
            | Rule::UnitBelowAverage
            | Rule::UnitTargetAtRisk
            | Rule::UnitProgressLagging
            | Rule::UnitConsecutiveLagging => !self.empty_units.contains(subject),
            Rule::ProjectMissing => self.deadline_passed || !absent_project(),
            // Investment is judged on the period's own report.
            Rule::ProjectBehindSchedule => !absent_project(),
            // A status lasts until a report changes it: judged with or without a report.
            Rule::ProjectNotStarted | Rule::ProjectIdle => true,
            Rule::EnterpriseStalled
            | Rule::EnterpriseSemiStalled
            | Rule::EnterpriseReduced
            | Rule::EnterpriseExitRisk
            | Rule::EnterpriseUpgradeCandidate
            | Rule::DataDivergence
            | Rule::DataInconsistent => !absent,
            Rule::EnterprisePowerStalled
            | Rule::EnterprisePowerDrop
            | Rule::EnterprisePowerResumed => {
                enterprise.is_some_and(|c| self.xun_judged.contains(&c))
            }
        }
    }
}

/// The result of evaluating one period.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub units: Vec<UnitResult>,
    /// Every key project at the period (parallel to the dataset's projects).
    pub projects: Vec<ProjectResult>,
    pub findings: Vec<Finding>,
    pub coverage: Coverage,
}

/// Settings the rules need from `[general]`.
#[derive(Clone, Copy, Debug)]
pub struct Context {
    /// Above-scale threshold, ten-thousandths of 万元.
    pub above_scale_threshold: i64,
    pub report_deadline_day: u32,
    pub now: DateTime<Utc>,
}

/// The moment month P's reports are due: the end of day `deadline_day` of month P+1, Shanghai time.
pub fn deadline(p: Period, deadline_day: u32) -> DateTime<Utc> {
    let n = p.next();
    chrono_tz::Asia::Shanghai
        .with_ymd_and_hms(n.year(), n.month(), deadline_day.clamp(1, 28), 23, 59, 59)
        .single()
        .map_or(DateTime::<Utc>::MAX_UTC, |t| t.with_timezone(&Utc))
}

/// The message and values of a `_missing` finding: `未报送{what}（截止11月10日）`, with the
/// months in a row when more than one, and the deadline among the values.
pub(crate) fn missing_report(
    what: &str,
    p: Period,
    deadline_day: u32,
    months: u32,
) -> (String, Map<String, Value>) {
    let mut msg = format!("未报送{what}（截止{}月{deadline_day}日）", p.next().month());
    if months > 1 {
        msg.push_str(&format!("，已连续{months}个月未报"));
    }
    msg.push('。');
    let mut values = Map::new();
    values.insert(
        "deadline".into(),
        serde_json::json!(deadline(p, deadline_day).to_rfc3339()),
    );
    (msg, values)
}

/// Evaluates every enabled rule for the dataset's period. Findings come sorted by severity
/// (red first), rule and subject, so that output is stable.
pub fn evaluate(ds: &Dataset, cfg: &RulesConfig, ctx: &Context) -> Outcome {
    let p = ds.period();
    let deadline_passed = ctx.now > deadline(p, ctx.report_deadline_day);
    // The enterprise rules need nothing of the units: at half a million enterprises each side
    // takes a good part of a second, so they run side by side.
    let (units, projects, (known, absent, mut findings)) = std::thread::scope(|scope| {
        let enterprises = scope.spawn(|| {
            let mut known = HashSet::with_capacity_and_hasher(
                ds.enterprises.len(),
                foldhash::fast::RandomState::default(),
            );
            let mut absent = HashSet::default();
            for (e, s) in ds.enterprises.iter().zip(&ds.series) {
                known.insert(e.credit_code);
                if !s.is_present(crate::analysis::WINDOW - 1) {
                    absent.insert(e.credit_code);
                }
            }
            let judged = Coverage {
                deadline_passed,
                ..Coverage::default()
            };
            (known, absent, enterprise::findings(ds, cfg, ctx, &judged))
        });
        let units = evaluate_units(ds);
        let projects = evaluate_projects(ds);
        let done = enterprises
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (units, projects, done)
    });
    let mut coverage = Coverage {
        deadline_passed,
        disabled: cfg.disabled_rules().collect(),
        enterprises: known,
        absent,
        ..Coverage::default()
    };
    for u in &units {
        coverage.known.insert(u.code.clone());
        if u.reported == 0 && u.growth.is_none() {
            coverage.empty_units.insert(u.code.clone());
        }
    }
    for r in &projects {
        let id = &ds.projects[r.index].id;
        coverage.known.insert(id.clone());
        if !r.reported {
            coverage.absent_projects.insert(id.clone());
        }
    }
    findings.extend(unit::findings(ds, &units, cfg, &coverage));
    findings.extend(project::findings(ds, &projects, cfg, ctx, &coverage));
    findings.retain(|f| cfg.enabled(f.rule));
    sort_findings(&mut findings);
    Outcome {
        units,
        projects,
        findings,
        coverage,
    }
}

/// Orders findings red first, then by rule, subject and indicator, so that output is stable.
pub fn sort_findings(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.rule.cmp(&b.rule))
            .then_with(|| a.subject.cmp(&b.subject))
            .then_with(|| a.indicator.cmp(&b.indicator))
    });
}

/// A JSON number for an amount kept in ten-thousandths (万元 with four decimals).
pub fn wan(raw: i64) -> Value {
    serde_json::Number::from_f64(raw as f64 / 10_000.0).map_or(Value::Null, Value::Number)
}

/// A JSON number for a float, `null` when not finite.
pub fn num(x: f64) -> Value {
    serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
}
