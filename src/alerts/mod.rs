//! The alert lifecycle. An alert's identity is `(rule, subject, indicator)`, not the period, so a
//! condition that persists is one alert with a history: `firing` → `acknowledged` (认领) →
//! `resolved` (销号, automatically when the condition clears or by hand with a note). This
//! module decides what changes; `store` writes it. Silences suppress notification only.

mod history;
mod silence;

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use serde_json::{Map, Value};

pub use history::{Applied, Event};
pub use silence::{Silence, SilenceMatcher, silenced_by};

use crate::period::Period;
use crate::rules::{Coverage, Finding, Severity};

/// Who acts when indmon itself changes an alert.
pub const SYSTEM: &str = "indmon";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    Firing,
    Acknowledged,
    Resolved,
}

impl AlertState {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Firing => "firing",
            AlertState::Acknowledged => "acknowledged",
            AlertState::Resolved => "resolved",
        }
    }

    pub fn parse(s: &str) -> Option<AlertState> {
        match s {
            "firing" => Some(AlertState::Firing),
            "acknowledged" => Some(AlertState::Acknowledged),
            "resolved" => Some(AlertState::Resolved),
            _ => None,
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            AlertState::Firing => "预警中",
            AlertState::Acknowledged => "已认领",
            AlertState::Resolved => "已销号",
        }
    }
}

/// What happened to an alert; notification reads these.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Opened,
    Reopened,
    SeverityRaised,
    SeverityLowered,
    /// `consecutive` reached the escalation threshold: the supervisor is told too.
    Escalated,
    Acknowledged,
    Resolved,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Opened => "opened",
            EventKind::Reopened => "reopened",
            EventKind::SeverityRaised => "severity_raised",
            EventKind::SeverityLowered => "severity_lowered",
            EventKind::Escalated => "escalated",
            EventKind::Acknowledged => "acknowledged",
            EventKind::Resolved => "resolved",
        }
    }

    pub fn parse(s: &str) -> Option<EventKind> {
        [
            EventKind::Opened,
            EventKind::Reopened,
            EventKind::SeverityRaised,
            EventKind::SeverityLowered,
            EventKind::Escalated,
            EventKind::Acknowledged,
            EventKind::Resolved,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }

    pub fn zh(self) -> &'static str {
        match self {
            EventKind::Opened => "新增",
            EventKind::Reopened => "再次出现",
            EventKind::SeverityRaised => "等级升高",
            EventKind::SeverityLowered => "等级降低",
            EventKind::Escalated => "升级督办",
            EventKind::Acknowledged => "已认领",
            EventKind::Resolved => "已销号",
        }
    }
}

/// An alert as stored.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Alert {
    pub id: i64,
    pub rule: String,
    pub subject: String,
    pub indicator: String,
    pub subject_name: String,
    pub unit_code: String,
    pub scope: Vec<String>,
    pub owner: Option<String>,
    pub state: AlertState,
    pub severity: Severity,
    pub consecutive: u32,
    pub period: Period,
    pub message: String,
    pub values: Map<String, Value>,
    pub opened_at: i64,
    pub updated_at: i64,
    pub acknowledged_by: Option<String>,
    pub acknowledged_at: Option<i64>,
    pub resolved_at: Option<i64>,
    pub resolved_by: Option<String>,
    pub note: Option<String>,
}

impl Alert {
    pub fn key(&self) -> (&str, &str, &str) {
        (&self.rule, &self.subject, &self.indicator)
    }
}

/// Which alerts to list.
#[derive(Clone, Debug, Default)]
pub struct AlertFilter {
    /// Empty means every state.
    pub states: Vec<AlertState>,
    /// Alerts whose subject counts in this unit.
    pub unit: Option<String>,
    pub id: Option<i64>,
}

/// One change the evaluation of a period makes to the alerts.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    Open {
        finding: Finding,
        events: Vec<EventKind>,
    },
    /// A resolved alert fires again: back to `firing`, acknowledgement cleared.
    Reopen {
        id: i64,
        finding: Finding,
        events: Vec<EventKind>,
    },
    /// New figures for a live alert; `events` is empty when only the numbers moved.
    Update {
        id: i64,
        finding: Finding,
        events: Vec<EventKind>,
        /// The finding's scope differs from the alert's (its `alert_scope` rows are rewritten).
        rescope: bool,
    },
    /// The condition has cleared.
    Resolve { id: i64, period: Period },
}

/// Decides what evaluating `period` changes. Alerts last evaluated for a newer period are left
/// alone, so evaluating an older period never reopens or resolves today's alerts; evaluating the
/// same period with the same data changes nothing.
pub fn reconcile(
    existing: &[Alert],
    findings: &[Finding],
    coverage: &Coverage,
    period: Period,
    escalate_after: u32,
) -> Vec<Change> {
    let by_key: HashMap<(&str, &str, &str), &Alert> =
        existing.iter().map(|a| (a.key(), a)).collect();
    let mut seen: HashSet<(&str, &str, &str)> = HashSet::new();
    let mut out = Vec::new();
    let escalates = |before: u32, after: u32| before < escalate_after && after >= escalate_after;
    for f in findings {
        let key = (f.rule.as_str(), f.subject.as_str(), f.indicator.as_str());
        seen.insert(key);
        let Some(a) = by_key.get(&key) else {
            let mut events = vec![EventKind::Opened];
            if escalates(0, f.consecutive) {
                events.push(EventKind::Escalated);
            }
            out.push(Change::Open {
                finding: f.clone(),
                events,
            });
            continue;
        };
        if a.period > period {
            continue;
        }
        if a.state == AlertState::Resolved {
            let by_hand_now = a.period == period && a.resolved_by.as_deref() != Some(SYSTEM);
            if !by_hand_now {
                let mut events = vec![EventKind::Reopened];
                if escalates(0, f.consecutive) {
                    events.push(EventKind::Escalated);
                }
                out.push(Change::Reopen {
                    id: a.id,
                    finding: f.clone(),
                    events,
                });
            }
            continue;
        }
        let mut events = Vec::new();
        if f.severity > a.severity {
            events.push(EventKind::SeverityRaised);
        } else if f.severity < a.severity {
            events.push(EventKind::SeverityLowered);
        }
        if escalates(a.consecutive, f.consecutive) {
            events.push(EventKind::Escalated);
        }
        let same = a.severity == f.severity
            && a.consecutive == f.consecutive
            && a.period == f.period
            && a.message == f.message
            && a.values == f.values
            && a.subject_name == f.subject_name
            && same_scope(&a.scope, &f.scope)
            && a.owner == f.owner;
        if !same {
            out.push(Change::Update {
                id: a.id,
                finding: f.clone(),
                events,
                rescope: !same_scope(&a.scope, &f.scope),
            });
        }
    }
    for a in existing {
        if a.state == AlertState::Resolved || a.period > period || seen.contains(&a.key()) {
            continue;
        }
        if coverage.covers(&a.rule, &a.subject) {
            out.push(Change::Resolve { id: a.id, period });
        }
    }
    out
}

/// Whether a stored scope is the finding's: `alert_scope` keeps each unit once, at its first
/// place, so a unit the finding names twice (an enterprise whose unit is also its zone) is the same.
fn same_scope(stored: &[String], found: &[String]) -> bool {
    let once = found
        .iter()
        .enumerate()
        .filter(|(i, u)| !found[..*i].contains(u))
        .map(|(_, u)| u);
    stored.iter().eq(once)
}

#[cfg(test)]
mod tests;
