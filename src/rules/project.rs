//! Key project rules (重点项目): investment behind the time progress (投资进度滞后), not started
//! after the planned start (逾期未开工), built but not producing (建成未投产), and no progress
//! report for the period (项目未报). "储备项目抓开工、新上项目抓进度、在建项目抓竣工、竣工项目抓投产".

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::{Context, Coverage, Finding, Rule, RulesConfig, behind, num, wan};
use crate::analysis::projects::{ProgressReport, status_at, ytd_at};
use crate::analysis::rounding::{fixed, shown_difference};
use crate::analysis::{Dataset, ProjectResult, fmt_wan};
use crate::period::Period;
use crate::registry::{Project, ProjectStatus};

/// The project's year-to-date investment and plan at `t` when it is behind schedule then: it
/// reported for `t`, is not yet completed, and has a plan for the year.
fn behind_at(pr: &Project, reports: &[ProgressReport], t: Period, tol: i64) -> Option<(i64, i64)> {
    if !reports.iter().any(|r| r.period == t) {
        return None;
    }
    let (status, ..) = status_at(pr, reports, t);
    if !matches!(status, ProjectStatus::Planned | ProjectStatus::Started) {
        return None;
    }
    let plan = pr.planned_year?.raw();
    let ytd = ytd_at(reports, t)?;
    behind(ytd, plan, t.month(), tol).then_some((ytd, plan))
}

fn month_zh(p: Period) -> String {
    format!("{}年{}月", p.year(), p.month())
}

/// Findings about key projects.
pub fn findings(
    ds: &Dataset,
    projects: &[ProjectResult],
    cfg: &RulesConfig,
    ctx: &Context,
    coverage: &Coverage,
) -> Vec<Finding> {
    let p = ds.period();
    let names: HashMap<&str, &str> = ds
        .units
        .iter()
        .map(|u| (u.code.as_str(), u.name.as_str()))
        .collect();
    let city = ds.city().map(|c| ds.units[c].code.clone());
    let tol = super::hundredths(cfg.project_tolerance_pp);
    let mut out = Vec::new();
    for r in projects {
        let pr = &ds.projects[r.index];
        let reports = &ds.progress[r.index];
        let mut scope = vec![pr.unit_code.clone()];
        scope.extend(city.clone().filter(|c| *c != pr.unit_code));
        let finding = |rule: Rule,
                       indicator: &str,
                       consecutive: u32,
                       message: String,
                       mut values: Map<String, Value>| {
            values.insert("status".into(), json!(r.status.as_str()));
            values.insert("revision".into(), json!(r.revision));
            Finding {
                rule,
                severity: cfg.raised(rule, consecutive),
                subject: pr.id.clone(),
                subject_name: pr.name.clone(),
                indicator: indicator.into(),
                unit: pr.unit_code.clone(),
                scope: scope.clone(),
                owner: pr.owner.clone(),
                period: p,
                consecutive,
                message: format!(
                    "{}{}：{message}",
                    names.get(pr.unit_code.as_str()).copied().unwrap_or(""),
                    pr.name
                ),
                values,
            }
        };

        if !r.reported && r.status != ProjectStatus::Producing && coverage.deadline_passed {
            let n = r.missing_streak;
            let what = format!("{}项目进度", month_zh(p));
            let (msg, mut v) = super::missing_report(&what, p, ctx.report_deadline_day, n);
            v.insert("months_missing".into(), json!(n));
            out.push(finding(Rule::ProjectMissing, "project", n, msg, v));
        }

        if let Some((ytd, plan)) = behind_at(pr, reports, p, tol) {
            // Periods in a row behind, within the year, ending at P.
            let mut n = 1;
            let mut t = p.prev();
            while t.year() == p.year() && behind_at(pr, reports, t, tol).is_some() {
                n += 1;
                t = t.prev();
            }
            let progress = ytd as f64 / plan as f64 * 100.0;
            let time = f64::from(p.month()) / 12.0 * 100.0;
            let msg = format!(
                "{}完成投资{}万元，为年度计划投资{}万元的{}%，低于时间进度{}%达{}个百分点（允许{}个百分点），投资进度滞后。",
                p.ytd_label(),
                fmt_wan(ytd),
                fmt_wan(plan),
                fixed(progress, 1),
                fixed(time, 1),
                shown_difference(time, progress),
                cfg.project_tolerance_pp
            );
            let mut v = Map::new();
            v.insert("invested_ytd".into(), wan(ytd));
            v.insert("planned_year".into(), wan(plan));
            v.insert("progress_pct".into(), num(progress));
            v.insert("time_progress_pct".into(), num(time));
            v.insert("tolerance_pp".into(), num(cfg.project_tolerance_pp));
            v.insert("months_behind".into(), json!(n));
            out.push(finding(
                Rule::ProjectBehindSchedule,
                "investment",
                n,
                msg,
                v,
            ));
        }

        if let (ProjectStatus::Planned, Some(start)) = (r.status, pr.planned_start)
            && start < p
        {
            let n = (p.ordinal() - start.ordinal()) as u32;
            let msg = format!(
                "计划{}开工，截至{}仍未开工，已逾期{n}个月。",
                month_zh(start),
                month_zh(p)
            );
            let mut v = Map::new();
            v.insert("planned_start".into(), json!(start.to_string()));
            v.insert("months_overdue".into(), json!(n));
            out.push(finding(Rule::ProjectNotStarted, "project", n, msg, v));
        }

        if let (ProjectStatus::Completed, Some(since)) = (r.status, r.status_since) {
            let n = (p.ordinal() - since.ordinal()) as u32;
            if n >= cfg.project_idle_months {
                let planned = pr
                    .planned_production
                    .map_or(String::new(), |m| format!("（计划{}投产）", month_zh(m)));
                let msg = format!(
                    "{}竣工，已{n}个月未投产{planned}，建成未投产。",
                    month_zh(since)
                );
                let mut v = Map::new();
                v.insert("completed_since".into(), json!(since.to_string()));
                v.insert("months_completed".into(), json!(n));
                v.insert("threshold_months".into(), json!(cfg.project_idle_months));
                v.insert(
                    "planned_production".into(),
                    json!(pr.planned_production.map(|m| m.to_string())),
                );
                out.push(finding(Rule::ProjectIdle, "project", n, msg, v));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behind_time_progress_is_exact_at_the_threshold() {
        // October, 10 pp tolerance: the line is 10/12 − 0.1 = 73.33…% of the plan. A plan of
        // 1200 万元 puts it at exactly 880 万元: 880 is on the line (not behind), 879.9999 below.
        let wan = |x: i64| x * 10_000;
        assert!(!behind(wan(880), wan(1_200), 10, 1_000));
        assert!(behind(wan(880) - 1, wan(1_200), 10, 1_000));
        // No plan, no judgement.
        assert!(!behind(0, 0, 10, 1_000));
        // February with a 10 pp tolerance: 2/12 − 0.1 = 6.67%; 80 of 1200 is exactly that.
        assert!(!behind(wan(80), wan(1_200), 2, 1_000));
        assert!(behind(wan(79), wan(1_200), 2, 1_000));
        // January: 1/12 − 0.1 < 0, nothing can be behind.
        assert!(!behind(0, wan(1_200), 1, 1_000));
    }
}
