//! Evaluating one period end to end: load the data the period needs from the store, run the
//! analysis and the rules (pure), reconcile the findings with the stored alerts and write the
//! changes in one transaction. Also renders the result as the JSON contract of DESIGN.md or as
//! a table for a terminal.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::alerts::{self, AlertState, Change};
use crate::alerts::{AlertFilter, Applied as AlertsApplied};
use crate::analysis::{Basis, Dataset, PCT, ProjectResult, UnitResult, fmt_pct, fmt_wan};
use crate::causes::Causes;
use crate::config::Config;
use crate::period::Period;
use crate::registry::Project;
use crate::rules::{self, Context, Finding, num, wan};
use crate::store::{EvaluationEnd, Store};

pub mod release;
pub mod xun;
pub mod xun_check;

/// Why a period cannot be evaluated.
#[derive(Debug, thiserror::Error)]
pub enum EvaluateError {
    #[error(
        "{0}：1月不单独分析，与2月合并为1—2月（jan_feb_combined = true），请评估 {1} (January is analysed together with February)"
    )]
    JanuaryCombined(Period, Period),
}

/// What one evaluation found and did.
#[derive(Clone, Debug)]
pub struct Report {
    pub period: Period,
    pub units: Vec<UnitResult>,
    /// Key projects as registered and as evaluated at the period (parallel).
    pub projects: Vec<(Project, ProjectResult)>,
    pub findings: Vec<Finding>,
    /// The alert state of each finding after the evaluation (parallel to `findings`).
    pub states: Vec<AlertState>,
    pub applied: AlertsApplied,
    pub evaluation_id: Option<i64>,
    pub enterprises: usize,
    pub vintage: i64,
    /// Whether a newer period had been evaluated already, so no alert was changed.
    pub historic: bool,
    /// What the evaluation did to the cases (none for a dry run or a look back).
    pub cases: Option<crate::cases::SyncReport>,
    /// Seconds spent in each phase: load, rules (the stored alerts are read meanwhile),
    /// reconcile, write.
    pub timings: Vec<(&'static str, f64)>,
}

/// The latest period whose reporting deadline has passed at `now`.
pub fn latest_complete_period(now: DateTime<Utc>, deadline_day: u32) -> Period {
    let mut p = Period::containing(now).prev();
    while rules::deadline(p, deadline_day) > now {
        p = p.prev();
    }
    p
}

/// Loads, evaluates and (unless `dry_run`) records one period.
pub async fn run(
    store: &Store,
    config: &Config,
    period: Period,
    now: DateTime<Utc>,
    dry_run: bool,
) -> anyhow::Result<(Report, Dataset)> {
    let combined = config.general.jan_feb_combined;
    if combined && period.month() == 1 {
        return Err(EvaluateError::JanuaryCombined(period, period.next()).into());
    }
    let mut timings = Vec::new();
    let mut clock = std::time::Instant::now();
    let mut lap = |name: &'static str, timings: &mut Vec<(&'static str, f64)>| {
        timings.push((name, clock.elapsed().as_secs_f64()));
        clock = std::time::Instant::now();
    };
    let ds = store
        .load_dataset(period, combined, config.rules.state_thresholds())
        .await?;
    lap("load", &mut timings);
    let ctx = Context {
        above_scale_threshold: (config.general.above_scale_threshold * 10_000.0).round() as i64,
        report_deadline_day: config.general.report_deadline_day,
        now,
    };
    // The rules are pure: they run on a thread of their own while the stored alerts are read.
    let ds = Arc::new(ds);
    let judged = {
        let (ds, cfg) = (Arc::clone(&ds), config.rules.clone());
        tokio::task::spawn_blocking(move || rules::evaluate(&ds, &cfg, &ctx))
    };
    let stored = stored_alerts(store, period).await;
    let mut outcome = judged.await?;
    let (existing, historic) = stored?;
    // The rules' handle on the dataset ended with them.
    let ds = Arc::try_unwrap(ds).unwrap_or_else(|shared| (*shared).clone());
    source_findings(store, config, &ds, &mut outcome).await?;
    lap("rules", &mut timings);
    let mut changes = alerts::reconcile(
        &existing,
        &outcome.findings,
        &outcome.coverage,
        period,
        config.rules.escalate_after,
    );
    if historic {
        changes.clear();
    }
    lap("reconcile", &mut timings);
    let now_ms = now.timestamp_millis();
    let (applied, evaluation_id) = if dry_run {
        let mut a = AlertsApplied::default();
        for c in &changes {
            match c {
                Change::Open { .. } | Change::Reopen { .. } => a.opened += 1,
                Change::Update { .. } => a.changed += 1,
                Change::Resolve { .. } => a.resolved += 1,
            }
        }
        (a, None)
    } else {
        let id = store.begin_evaluation(period, now_ms).await?;
        match store.apply_changes(id, &changes, now_ms).await {
            Ok(a) => {
                let end = EvaluationEnd {
                    status: "ok",
                    findings: outcome.findings.len(),
                    applied: a,
                    vintage: ds.vintage,
                    message: "",
                };
                store.finish_evaluation(id, &end, now_ms).await?;
                (a, Some(id))
            }
            Err(e) => {
                let msg = Causes(&e).to_string();
                let end = EvaluationEnd {
                    status: "failed",
                    findings: 0,
                    applied: AlertsApplied::default(),
                    vintage: ds.vintage,
                    message: &msg,
                };
                store.finish_evaluation(id, &end, now_ms).await?;
                return Err(e);
            }
        }
    };
    if !dry_run && !historic {
        let absent = &outcome.coverage.absent;
        let is_absent = |c: &str| {
            c.parse::<crate::credit_code::CreditCode>()
                .is_ok_and(|c| absent.contains(&c))
        };
        // January's 旬s are judged by the combined 1—2月 when the bureau publishes them so.
        let mut months = vec![period];
        if config.general.jan_feb_combined && period.month() == 2 {
            months.push(period.prev());
        }
        for m in months {
            xun_check::check_month(store, m, &outcome.findings, is_absent, now_ms).await?;
        }
    }
    lap("write", &mut timings);
    let cases = if dry_run || historic {
        None
    } else {
        Some(sync_cases(store, config, now).await?)
    };
    let current: HashMap<(&str, &str, &str), AlertState> =
        existing.iter().map(|a| (a.key(), a.state)).collect();
    let states = outcome
        .findings
        .iter()
        .map(|f| {
            let key = (f.rule.as_str(), f.subject.as_str(), f.indicator.as_str());
            match current.get(&key) {
                Some(AlertState::Acknowledged) => AlertState::Acknowledged,
                _ => AlertState::Firing,
            }
        })
        .collect();
    let projects = outcome
        .projects
        .into_iter()
        .map(|r| (ds.projects[r.index].clone(), r))
        .collect();
    let report = Report {
        period,
        units: outcome.units,
        projects,
        findings: outcome.findings,
        states,
        applied,
        evaluation_id,
        enterprises: ds.enterprises.len(),
        vintage: ds.vintage,
        historic,
        cases,
        timings,
    };
    Ok((report, ds))
}

/// Opens, closes and dates the cases after the alerts were written (`cases::sync`).
async fn sync_cases(
    store: &Store,
    config: &Config,
    now: DateTime<Utc>,
) -> anyhow::Result<crate::cases::SyncReport> {
    let calendar = config.calendar.load().map_err(|problems| {
        let shown: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        anyhow::anyhow!("calendar.extra: {}", shown.join("; "))
    })?;
    let started = std::time::Instant::now();
    let report = crate::cases::sync(store, &config.cases, &config.recipients, &calendar, now)
        .await
        .map_err(|e| e.context("交办事项同步失败 (updating the cases failed)"))?;
    tracing::debug!(
        opened = report.opened,
        closed = report.closed,
        ms = started.elapsed().as_millis() as u64,
        "evaluation: cases synced"
    );
    Ok(report)
}

/// Every stored alert, and whether a newer period than `period` was evaluated already (then
/// this evaluation is a look back, not news, and changes no alert).
async fn stored_alerts(
    store: &Store,
    period: Period,
) -> anyhow::Result<(Vec<crate::alerts::Alert>, bool)> {
    let read = std::time::Instant::now();
    let existing = store.alerts(&AlertFilter::default()).await?;
    tracing::debug!(
        alerts = existing.len(),
        ms = read.elapsed().as_millis() as u64,
        "evaluation: stored alerts read"
    );
    let historic = store
        .newest_evaluated_period()
        .await?
        .is_some_and(|newest| newest > period);
    Ok((existing, historic))
}

/// Adds a finding for every configured source that keeps failing (数据来源故障), addressed to
/// the city, and lets a recovered source's alert resolve.
async fn source_findings(
    store: &Store,
    config: &Config,
    ds: &Dataset,
    outcome: &mut rules::Outcome,
) -> anyhow::Result<()> {
    if !config.rules.enabled(rules::Rule::SourceFailing) || config.sources.is_empty() {
        return Ok(());
    }
    let Some(city) = ds.city().map(|c| &ds.units[c]) else {
        return Ok(());
    };
    let states = store.source_states().await?;
    let failing: Vec<rules::source::SourceFailures> = config
        .sources
        .iter()
        .filter_map(|src| {
            let st = states.iter().find(|s| s.source == src.name)?;
            Some(rules::source::SourceFailures {
                source: src.name.clone(),
                consecutive_failures: st.consecutive_failures,
                threshold: src.failure_alert_after,
                last_error: st.last_error.clone(),
                last_success_at: st.last_success_at,
            })
        })
        .collect();
    for src in &config.sources {
        outcome.coverage.known.insert(src.name.clone());
    }
    outcome.findings.extend(rules::source::findings(
        &failing,
        (&city.code, &city.name),
        ds.period(),
        &config.rules,
    ));
    rules::sort_findings(&mut outcome.findings);
    Ok(())
}

fn opt_num(x: Option<f64>) -> Value {
    x.map_or(Value::Null, num)
}

/// One unit as the JSON contract has it (more fields may follow the fixed ones).
pub fn unit_json(u: &UnitResult) -> Value {
    let counted = u.counted.max(1) as f64;
    json!({
        "code": u.code,
        "name": u.name,
        "kind": u.kind.as_str(),
        "indicator": u.indicator,
        "ytd": wan(u.ytd),
        "ytd_prev": wan(u.ytd_prev),
        "growth_pct": opt_num(u.growth.map(|g| g.pct())),
        "target_pct": opt_num(u.target.map(|t| t.pct_raw as f64 / PCT as f64)),
        "gap_pp": opt_num(u.gap_pp),
        "rank": u.rank,
        "required_pct": opt_num(u.required_pct),
        "submission_rate": opt_num(u.submission_rate()),
        "estimated": u.estimated,
        "month_growth_pct": opt_num(u.month_growth.map(|g| g.pct())),
        "target_basis": match u.target.map(|t| t.basis) { Some(Basis::Month) => "month", _ => "ytd" },
        "milestone": u.target.is_some_and(|t| t.milestone),
        "expected": u.expected,
        "reported": u.reported,
        "counted": u.counted,
        "excluded": u.excluded,
        "month_excluded": u.month_excluded,
        "growing_pct": num(u.growing as f64 / counted * 100.0),
        "declining_pct": num(u.declining as f64 / counted * 100.0),
        "below_target_streak": u.below_target_streak,
        "projects": project_counts_json(&u.projects),
    })
}

fn project_counts_json(c: &crate::analysis::ProjectCounts) -> Value {
    json!({
        "total": c.total,
        "planned": c.planned,
        "started": c.started,
        "completed": c.completed,
        "producing": c.producing,
        "reported": c.reported,
        "planned_year": wan(c.planned_year),
        "invested_ytd": wan(c.invested_ytd),
        "progress_pct": (c.planned_year > 0).then(|| num(c.invested_ytd as f64 / c.planned_year as f64 * 100.0)),
    })
}

/// One key project at the period, for `evaluate --format json` (amounts in 万元).
pub fn project_json(period: Period, pr: &Project, r: &ProjectResult) -> Value {
    let month = |m: Option<Period>| m.map(|m| m.to_string());
    let plan = pr.planned_year.map(|a| a.raw()).filter(|p| *p > 0);
    json!({
        "id": pr.id,
        "name": pr.name,
        "unit": pr.unit_code,
        "owner": pr.owner,
        "status": r.status.as_str(),
        "status_since": month(r.status_since),
        "reported": r.reported,
        "total_investment": wan(pr.total_investment.raw()),
        "planned_year": pr.planned_year.map(|a| wan(a.raw())),
        "invested_month": r.invested_month.map(wan),
        "invested_ytd": r.invested_ytd.map(wan),
        "progress_pct": plan.zip(r.invested_ytd).map(|(p, y)| num(y as f64 / p as f64 * 100.0)),
        "time_progress_pct": num(f64::from(period.month()) / 12.0 * 100.0),
        "planned_start": month(pr.planned_start),
        "planned_completion": month(pr.planned_completion),
        "planned_production": month(pr.planned_production),
        "changes": r.changes,
        "revision": r.revision,
    })
}

/// The JSON contract of `indmon evaluate --format json`.
pub fn to_json(r: &Report) -> Value {
    let alerts: Vec<Value> = r
        .findings
        .iter()
        .zip(&r.states)
        .map(|(f, s)| {
            json!({
                "rule": f.rule,
                "severity": f.severity.as_str(),
                "subject": f.subject,
                "unit": f.unit,
                "period": f.period.to_string(),
                "consecutive": f.consecutive,
                "state": s.as_str(),
                "message": f.message,
                "values": Value::Object(f.values.clone()),
                "indicator": f.indicator,
                "subject_name": f.subject_name,
                "owner": f.owner,
            })
        })
        .collect();
    let mut top = Map::new();
    top.insert("period".into(), json!(r.period.to_string()));
    top.insert(
        "units".into(),
        Value::Array(r.units.iter().map(unit_json).collect()),
    );
    top.insert("alerts".into(), Value::Array(alerts));
    top.insert(
        "projects".into(),
        Value::Array(
            r.projects
                .iter()
                .map(|(pr, res)| project_json(r.period, pr, res))
                .collect(),
        ),
    );
    Value::Object(top)
}

/// Display width of text in a terminal: CJK characters take two columns.
pub fn width(s: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(s)
}

/// Pads `s` on the right to `w` terminal columns.
pub fn pad(s: &str, w: usize) -> String {
    format!("{s}{}", " ".repeat(w.saturating_sub(width(s))))
}

/// The result as a table for a terminal, in Chinese.
pub fn to_table(r: &Report) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "{} 评估 (evaluation of {})：{} 家企业，数据版本 run {}\n\n",
        r.period.ytd_label(),
        r.period,
        r.enterprises,
        r.vintage
    ));
    let head = [
        "单位",
        "类型",
        "累计",
        "上年同期",
        "增速",
        "目标",
        "差距(百分点)",
        "排名",
        "需增速",
        "报送率",
        "未计入",
    ];
    let widths = [18, 6, 14, 14, 12, 8, 12, 6, 9, 8, 6];
    let line = |cells: &[String]| -> String {
        cells
            .iter()
            .zip(widths)
            .map(|(c, w)| pad(c, w))
            .collect::<Vec<_>>()
            .join(" ")
            .trim_end()
            .to_string()
    };
    out.push_str(&line(&head.map(String::from)));
    out.push('\n');
    for u in &r.units {
        let dash = || "—".to_string();
        let cells = [
            u.name.clone(),
            match u.kind {
                crate::registry::UnitKind::City => "全市",
                crate::registry::UnitKind::District => "县区",
                crate::registry::UnitKind::Zone => "园区",
            }
            .to_string(),
            fmt_wan(u.ytd),
            fmt_wan(u.ytd_prev),
            u.growth.map_or_else(dash, |g| {
                format!("{}{}", fmt_pct(g.pct()), if u.estimated { "*" } else { "" })
            }),
            u.target
                .map_or_else(dash, |t| fmt_pct(t.pct_raw as f64 / PCT as f64)),
            u.shown_gap_pp()
                .map_or_else(dash, |g| crate::analysis::rounding::signed(g, 1)),
            u.rank.map_or_else(dash, |k| k.to_string()),
            u.required_pct.map_or_else(dash, fmt_pct),
            u.submission_rate().map_or_else(dash, fmt_pct),
            u.excluded.to_string(),
        ];
        out.push_str(&line(&cells));
        out.push('\n');
    }
    out.push_str("（* 为按企业产值估算 estimated from enterprise output；未计入：已报送但本年累计或上年同期累计不完整、未参与同口径比较的企业数 reported but left out of the comparison, no complete ytd or base）\n\n");
    if let Some(c) = r
        .units
        .iter()
        .find(|u| u.kind == crate::registry::UnitKind::City)
        .map(|u| &u.projects)
        .filter(|c| c.total > 0)
    {
        out.push_str(&format!(
            "重点项目 {} 个 (key projects)：未开工 {}，在建 {}，竣工未投产 {}，已投产 {}；累计完成投资 {} 万元，年度计划 {} 万元\n\n",
            c.total,
            c.planned,
            c.started,
            c.completed,
            c.producing,
            fmt_wan(c.invested_ytd),
            fmt_wan(c.planned_year)
        ));
    }
    for sev in [
        rules::Severity::Red,
        rules::Severity::Orange,
        rules::Severity::Yellow,
        rules::Severity::Blue,
    ] {
        let items: Vec<&Finding> = r.findings.iter().filter(|f| f.severity == sev).collect();
        if items.is_empty() {
            continue;
        }
        out.push_str(&format!("{}预警 {} 项\n", sev.zh(), items.len()));
        for f in items {
            out.push_str(&format!("  [{}] {}\n", f.rule.zh(), f.message));
        }
    }
    if r.findings.is_empty() {
        out.push_str("无预警 (no findings)\n");
    }
    out.push_str(&format!(
        "\n预警变化 (alert changes)：新增 {}，更新 {}，销号 {}{}\n",
        r.applied.opened,
        r.applied.changed,
        r.applied.resolved,
        if r.evaluation_id.is_none() {
            "（试运行，未写入 dry run, nothing written）"
        } else if r.historic {
            "（已评估过更新的报告期，本次不改变预警 a newer period was evaluated: alerts unchanged）"
        } else {
            ""
        }
    ));
    out
}
