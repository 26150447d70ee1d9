//! Evaluating one 旬 end to end (`indmon evaluate --xun 2026-10-D1`): the stored days the 旬
//! rules read, the rules (pure, `rules::power`), then the alerts reconciled like a month's —
//! but only the 旬 rules' alerts of the enterprises that could be judged; the monthly rules'
//! alerts are left alone, as a monthly evaluation leaves the 旬 rules' alone.
//!
//! The run is recorded in `evaluation_run` with the 旬 as its period (`2026-10-D1`) and status
//! `xun_ok`/`xun_failed`, so that the newest evaluated month (status `ok`) is not moved by it.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::alerts::{self, AlertFilter, AlertState, Applied as AlertsApplied, Change};
use crate::causes::Causes;
use crate::config::Config;
use crate::power::Xun;
use crate::registry::UnitKind;
use crate::rules::power::{UnitXun, XunData, findings, spans_read};
use crate::rules::{Coverage, Finding, Rule};
use crate::store::{EvaluationEnd, StagedWarnings, Store, XunWarnings};

/// What one 旬's evaluation found and did.
#[derive(Clone, Debug)]
pub struct XunReport {
    pub xun: Xun,
    pub findings: Vec<Finding>,
    pub units: Vec<UnitXun>,
    /// Enterprises whose 旬 had enough days to be judged.
    pub judged: usize,
    pub applied: AlertsApplied,
    pub evaluation_id: Option<i64>,
}

/// Loads, evaluates and (unless `dry_run`) records one 旬.
pub async fn run(
    store: &Store,
    config: &Config,
    xun: Xun,
    now: DateTime<Utc>,
    dry_run: bool,
) -> anyhow::Result<XunReport> {
    let started = std::time::Instant::now();
    let lap = |what: &str| {
        tracing::debug!(
            ms = started.elapsed().as_millis() as u64,
            "xun evaluation: {what}"
        )
    };
    // The registry, the units and the alerts are read side by side (a province's alerts take
    // as long as its registry), on SQLite through read connections beside the writer's one.
    let reads = store.open_reads().await?;
    let alerts_read = tokio::spawn({
        let reads = reads.clone();
        async move { reads.alerts(&AlertFilter::default()).await }
    });
    let enterprises = reads.enterprises().await?;
    let units = reads.units().await?;
    let existing = alerts_read.await??;
    drop(reads);
    lap("registry and alerts read");
    let names: HashMap<String, String> = units
        .iter()
        .map(|u| (u.code.clone(), u.name.clone()))
        .collect();
    let city = units
        .iter()
        .find(|u| u.kind == UnitKind::City)
        .map(|u| u.code.as_str());
    let spans = spans_read(xun, &config.power);
    if !dry_run {
        // Last year's 旬 (and last December) packed one row an enterprise, once: every later
        // evaluation reads a tenth of the rows for them (`store::xun_days`).
        // A cache only: if it cannot be written, the days are read as they are.
        let settled = crate::power::level::whole_xuns(spans.get(1..).unwrap_or_default());
        if let Err(e) = store.pack_xuns(&settled, now.timestamp_millis()).await {
            tracing::warn!(
                xun = %xun,
                "上年同期旬日用电打包失败，本次改读日数据 (could not pack the reference 旬s; reading their days): {}",
                Causes(&e)
            );
        }
        lap("reference 旬s packed");
    }
    let daily = store
        .power_day_table(&spans, enterprises.iter().map(|e| e.credit_code))
        .await?;
    lap("days read");
    let stalled_before: HashSet<String> = existing
        .iter()
        .filter(|a| {
            a.rule == Rule::EnterprisePowerStalled.as_str() && a.state != AlertState::Resolved
        })
        .map(|a| a.subject.clone())
        .collect();
    let calendar = config.calendar.load_or_weekdays();
    let data = XunData {
        xun,
        enterprises: &enterprises,
        unit_names: &names,
        city,
        daily: &daily,
        stalled_before: &stalled_before,
        calendar: calendar.as_ref(),
    };
    let mut outcome = findings(&data, &config.power, &config.rules);
    let judged = outcome.judged.len();
    lap("rules run");
    let now_ms = now.timestamp_millis();
    // The 旬 warnings are written while the alerts are reconciled and written (committed
    // after them: `store::xun_warnings`).
    let staging = (!dry_run).then(|| {
        let warned: Vec<&Finding> = outcome
            .findings
            .iter()
            .filter(|f| super::xun_check::is_checked(f.rule))
            .collect();
        let warnings = XunWarnings::of(xun, &warned, now_ms);
        let store = store.clone();
        tokio::spawn(async move { store.stage_xun_warnings(warnings).await })
    });
    let coverage = Coverage {
        deadline_passed: true,
        enterprises: enterprises.iter().map(|e| e.credit_code).collect(),
        disabled: Rule::ALL
            .into_iter()
            .filter(|r| !r.is_xun())
            .chain(config.rules.disabled_rules())
            .collect(),
        xun_judged: std::mem::take(&mut outcome.judged),
        ..Coverage::default()
    };
    let changes = alerts::reconcile(
        &existing,
        &outcome.findings,
        &coverage,
        xun.period(),
        config.rules.escalate_after,
    );
    lap("changes reconciled");
    let (applied, evaluation_id) = if let Some(staging) = staging {
        let findings = outcome.findings.len();
        let (applied, id) = record(store, config, xun, &changes, findings, staging, now).await?;
        lap("alerts and warnings written, cases synced");
        (applied, Some(id))
    } else {
        let mut a = AlertsApplied::default();
        for c in &changes {
            match c {
                Change::Open { .. } | Change::Reopen { .. } => a.opened += 1,
                Change::Update { .. } => a.changed += 1,
                Change::Resolve { .. } => a.resolved += 1,
            }
        }
        (a, None)
    };
    Ok(XunReport {
        xun,
        judged,
        findings: outcome.findings,
        units: outcome.units,
        applied,
        evaluation_id,
    })
}

/// Writes a 旬's alert changes and, once they are committed, its staged warnings; syncs the
/// cases. The evaluation is recorded as `xun_ok` or `xun_failed`.
async fn record(
    store: &Store,
    config: &Config,
    xun: Xun,
    changes: &[Change],
    findings: usize,
    staging: tokio::task::JoinHandle<anyhow::Result<StagedWarnings>>,
    now: DateTime<Utc>,
) -> anyhow::Result<(AlertsApplied, i64)> {
    let started = std::time::Instant::now();
    let now_ms = now.timestamp_millis();
    let id = store.begin_xun_evaluation(xun, now_ms).await?;
    let result = store.apply_changes(id, changes, now_ms).await;
    let written = started.elapsed();
    let staged = staging.await;
    let (status, applied, message) = match &result {
        Ok(a) => ("xun_ok", *a, String::new()),
        Err(e) => (
            "xun_failed",
            AlertsApplied::default(),
            Causes(e).to_string(),
        ),
    };
    let end = EvaluationEnd {
        status,
        findings,
        applied,
        vintage: 0,
        message: &message,
    };
    store.finish_evaluation(id, &end, now_ms).await?;
    result?;
    staged??.commit().await?;
    let committed = started.elapsed();
    super::sync_cases(store, config, now).await?;
    tracing::debug!(
        alerts_ms = written.as_millis() as u64,
        warnings_ms = (committed - written).as_millis() as u64,
        cases_ms = (started.elapsed() - committed).as_millis() as u64,
        "xun evaluation: recorded"
    );
    Ok((applied, id))
}

/// The JSON of a 旬's evaluation: `{"xun", "judged", "units", "alerts"}`, the alerts in the
/// fields of a month's.
pub fn to_json(r: &XunReport) -> Value {
    let alerts: Vec<Value> = r
        .findings
        .iter()
        .map(|f| {
            json!({
                "rule": f.rule,
                "severity": f.severity.as_str(),
                "subject": f.subject,
                "unit": f.unit,
                "period": f.period.to_string(),
                "consecutive": f.consecutive,
                "message": f.message,
                "values": Value::Object(f.values.clone()),
                "indicator": f.indicator,
                "subject_name": f.subject_name,
                "owner": f.owner,
            })
        })
        .collect();
    json!({
        "xun": r.xun.to_string(),
        "judged": r.judged,
        "units": r.units,
        "alerts": alerts,
    })
}

/// A few lines for a terminal: the units' 旬 growth, then each finding.
pub fn to_table(r: &XunReport) -> String {
    let mut out = format!(
        "{} 旬评估：{}户企业可判断，{}条预警（新增{}，更新{}，销号{}） (xun evaluated)\n",
        r.xun.label(),
        r.judged,
        r.findings.len(),
        r.applied.opened,
        r.applied.changed,
        r.applied.resolved
    );
    for u in &r.units {
        let g = u
            .growth_pct
            .map_or("—".to_string(), crate::analysis::fmt_pct);
        out.push_str(&format!(
            "{}  用电增长 {g}（{}户）\n",
            u.code, u.enterprises
        ));
    }
    for f in &r.findings {
        out.push_str(&format!(
            "[{}] {} {}\n",
            f.severity.zh(),
            f.rule.zh(),
            f.message
        ));
    }
    out
}
