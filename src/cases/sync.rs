//! After an evaluation: cases open for live alerts of case rules, close when their alert has
//! resolved, and get their due times once the first digest carrying them is delivered.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::CaseState;
use super::config::{CasesConfig, owner_for};
use crate::calendar::Calendar;
use crate::notify::RecipientConfig;
use crate::rules::{About, Rule};
use crate::store::Store;
use crate::store::cases::{CaseHead, LiveAlert, NewCase};

/// What one sync did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// New cases (including those that follow a closed one).
    pub opened: usize,
    /// Of those, cases that follow one the city closed while the condition persisted.
    pub reopened: usize,
    /// Cases closed because their alert resolved.
    pub closed: u64,
    /// Cases that got their due time.
    pub dated: usize,
    /// Open cases without an owner that got one (the configuration names one now).
    pub assigned: u64,
    /// Cases opened without an owner (no 包抓领导 and no `case_owner` for the unit).
    pub unowned: Vec<String>,
    /// Due times that could not be computed (the calendar does not reach them).
    pub undated: Vec<String>,
}

/// Opens, closes and dates cases from the alerts as they stand now. Running it twice changes
/// nothing the second time.
pub async fn sync(
    store: &Store,
    cases: &CasesConfig,
    recipients: &[RecipientConfig],
    calendar: &Calendar,
    now: DateTime<Utc>,
) -> anyhow::Result<SyncReport> {
    let now_ms = now.timestamp_millis();
    let mut report = SyncReport::default();
    let resolved = store.cases_of_resolved_alerts().await?;
    report.closed = store.close_resolved_cases(&resolved, now_ms).await?;
    let policies = cases.case_rules();
    let names: Vec<&str> = policies.iter().map(|(r, _)| r.as_str()).collect();
    let live = store.live_alerts_of(&names).await?;
    let heads = store.newest_cases().await?;
    let new = to_open(&live, &heads, cases, recipients);
    report.reopened = new.iter().filter(|n| n.previous_case.is_some()).count();
    report.unowned = new
        .iter()
        .filter(|n| n.owner.is_none())
        .map(|n| format!("{} {}", n.alert.unit_code, n.alert.subject_name))
        .collect();
    let opened = store.open_cases(&new, now_ms).await?;
    report.opened = opened.len();
    let owners: Vec<(i64, String)> = store
        .unowned_open_cases()
        .await?
        .into_iter()
        .filter_map(|(id, unit, leader)| {
            owner_for(recipients, leader.as_deref(), &unit).map(|r| (id, r.id.clone()))
        })
        .collect();
    report.assigned = store.assign_case_owners(&owners, now_ms).await?;
    // Without recipients nobody is told anything: the owners are for check-config to ask for.
    if !report.unowned.is_empty() && !recipients.is_empty() {
        tracing::warn!(count = report.unowned.len(), first = %report.unowned[0],
            "交办事项没有责任人，请为其单位配置 case_owner (cases without an owner: configure case_owner for their units)");
    }
    let (dated, undated) = settle_due(store, calendar, now).await?;
    report.dated = dated;
    report.undated = undated;
    Ok(report)
}

/// The cases to open: a live alert of a case rule at or above the rule's minimum severity with
/// no case yet, or whose newest case closed because the condition cleared, or was closed by the
/// city for an earlier period than the alert's now (the condition persisted into a new period).
/// A unit rule about the city itself makes no case: the city is who assigns.
pub fn to_open(
    live: &[LiveAlert],
    heads: &[CaseHead],
    cases: &CasesConfig,
    recipients: &[RecipientConfig],
) -> Vec<NewCase> {
    let newest: HashMap<i64, &CaseHead> = heads.iter().map(|h| (h.alert_id, h)).collect();
    let mut out = Vec::new();
    for a in live {
        let Ok(rule) = a.rule.parse::<Rule>() else {
            continue;
        };
        let Some(policy) = cases.policy(rule) else {
            continue;
        };
        if a.severity < policy.min_severity
            || (rule.about() == About::Unit && a.unit_kind.as_deref() == Some("city"))
        {
            continue;
        }
        let previous_case = match newest.get(&a.id) {
            None => None,
            Some(h) if h.state != CaseState::Closed => continue,
            Some(h) if h.close_reason.as_deref() == Some("resolved") => Some(h.id),
            Some(h)
                if h.closed_period
                    .as_deref()
                    .is_some_and(|p| p < a.period.as_str()) =>
            {
                Some(h.id)
            }
            Some(_) => continue,
        };
        let owner = owner_for(recipients, a.owner.as_deref(), &a.unit_code).map(|r| r.id.clone());
        out.push(NewCase {
            alert: a.clone(),
            owner,
            answer_days: policy.answer_days,
            escalate_days: policy.escalate_days,
            previous_case,
        });
    }
    out
}

/// Sets the due and 督办 times of every delivered case that has none: 18:00 Shanghai on the
/// `answer_days`-th working day after delivery, and `escalate_days` working days later. Returns
/// how many were set, and why the others could not be (the calendar runs out).
pub async fn settle_due(
    store: &Store,
    calendar: &Calendar,
    now: DateTime<Utc>,
) -> anyhow::Result<(usize, Vec<String>)> {
    let mut set = 0;
    let mut errors = Vec::new();
    for u in store.undated_cases().await? {
        let Some(delivered) = DateTime::<Utc>::from_timestamp_millis(u.delivered_at) else {
            continue;
        };
        let due = calendar
            .due_at(delivered, u.answer_days)
            .and_then(|due| Ok((due, calendar.due_at(due, u.escalate_days)?)));
        match due {
            Ok((due, escalate)) => {
                store
                    .set_case_due(
                        u.case_id,
                        due.timestamp_millis(),
                        escalate.timestamp_millis(),
                        now.timestamp_millis(),
                    )
                    .await?;
                set += 1;
            }
            Err(e) => errors.push(format!("case {}: {e}", u.case_id)),
        }
    }
    if let Some(first) = errors.first() {
        tracing::error!(count = errors.len(), first = %first,
            "无法计算反馈期限：工作日历不够 (cannot compute due dates: the working-day calendar runs out)");
    }
    Ok((set, errors))
}
