//! Deciding what each recipient is told. Pure: the alerts, what each recipient was last told,
//! the silences and the clock in; one list of items per recipient out. Deciding by comparing the
//! alert's state now with the state last told (not by replaying events) is what makes a
//! second dispatch with nothing new send nothing, and a silence that expires send the alert.

use std::collections::HashMap;

use crate::alerts::{Alert, AlertState, Event, EventKind, Silence, silenced_by};
use crate::rules::Severity;

use super::config::{RecipientConfig, Role};
use super::outbox::Notified;

/// Why an alert is in a digest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ItemKind {
    New,
    Reopened,
    Raised,
    /// Consecutive periods reached the escalation threshold (also sent to the supervisor).
    Escalated,
    /// Still unacknowledged after the repeat interval.
    Reminder,
    Resolved,
}

impl ItemKind {
    pub fn zh(self) -> &'static str {
        match self {
            ItemKind::New => "新增",
            ItemKind::Reopened => "再次出现",
            ItemKind::Raised => "等级升高",
            ItemKind::Escalated => "升级督办",
            ItemKind::Reminder => "仍未认领",
            ItemKind::Resolved => "已销号",
        }
    }
}

/// One alert in one digest.
#[derive(Clone, Debug)]
pub struct Item {
    pub alert: Alert,
    pub kind: ItemKind,
    /// The severity last told, when it was raised.
    pub previous: Option<Severity>,
}

/// Everything the decision needs.
pub struct PlanInput<'a> {
    pub recipients: &'a [RecipientConfig],
    pub alerts: &'a [Alert],
    /// Alert events after the oldest recipient cursor.
    pub events: &'a [Event],
    pub cursors: &'a HashMap<String, i64>,
    pub notified: &'a [Notified],
    pub silences: &'a [Silence],
    pub now_ms: i64,
    pub repeat_ms: i64,
    pub escalate_after: u32,
}

/// One recipient's digest to be: its items and the `notified` rows to record with it.
#[derive(Clone, Debug)]
pub struct Planned {
    pub recipient: usize,
    pub items: Vec<Item>,
    pub covers: Vec<Notified>,
}

/// Whether the alert is inside the recipient's scope (units, enterprises, ownership).
pub fn sees(r: &RecipientConfig, a: &Alert) -> bool {
    in_scope(r, &a.unit_code, &a.scope, &a.subject, a.owner.as_deref())
}

/// Whether a subject (its unit, the other units it counts in, its code and its 包抓领导) is
/// inside the recipient's scope: the city sees everything, others their units, the enterprises
/// they list and those they are the owner of.
pub fn in_scope(
    r: &RecipientConfig,
    unit_code: &str,
    scope: &[String],
    subject: &str,
    owner: Option<&str>,
) -> bool {
    r.role == Role::City
        || r.units.iter().any(|u| u == unit_code || scope.contains(u))
        || r.enterprises.iter().any(|e| e == subject)
        || owner == Some(r.id.as_str())
}

/// Whether the recipient asked for alerts of this rule and severity.
pub fn wants(r: &RecipientConfig, a: &Alert) -> bool {
    (r.rules.is_empty() || r.rules.contains(&a.rule)) && a.severity >= r.min_severity
}

/// The digests of one dispatch; recipients with nothing to be told are left out.
pub fn plan(input: &PlanInput<'_>) -> Vec<Planned> {
    let told: HashMap<(&str, i64), &Notified> = input
        .notified
        .iter()
        .map(|n| ((n.recipient.as_str(), n.alert_id), n))
        .collect();
    let mut reopened_after: HashMap<i64, i64> = HashMap::new();
    for e in input.events {
        if e.kind == EventKind::Reopened {
            reopened_after.insert(e.alert_id, e.id);
        }
    }
    let mut out = Vec::new();
    for (ri, r) in input.recipients.iter().enumerate() {
        let cursor = input.cursors.get(&r.id).copied().unwrap_or(0);
        let supervised: Vec<&RecipientConfig> = input
            .recipients
            .iter()
            .filter(|s| s.supervisor.as_deref() == Some(r.id.as_str()))
            .collect();
        let mut items = Vec::new();
        let mut covers = Vec::new();
        for a in input.alerts {
            if silenced_by(input.silences, a, input.now_ms).is_some() {
                continue;
            }
            let t = told.get(&(r.id.as_str(), a.id)).copied();
            let escalated = a.consecutive >= input.escalate_after;
            let decided = if a.state == AlertState::Resolved {
                t.filter(|t| t.state != "resolved")
                    .map(|_| (ItemKind::Resolved, false))
            } else if sees(r, a) && wants(r, a) {
                open_kind(a, t, cursor, &reopened_after, input).map(|k| (k, escalated))
            } else {
                // Outside the recipient's own interest: only the escalation of an alert that
                // one of the officials it supervises sees, and only once.
                let route = escalated && supervised.iter().any(|s| sees(s, a));
                (route && !t.is_some_and(|t| t.escalated && t.state != "resolved"))
                    .then_some((ItemKind::Escalated, true))
            };
            let Some((kind, escalated_told)) = decided else {
                continue;
            };
            covers.push(Notified {
                recipient: r.id.clone(),
                alert_id: a.id,
                severity: a.severity,
                state: a.state.as_str().to_string(),
                escalated: escalated_told,
                last_at: input.now_ms,
            });
            items.push(Item {
                alert: a.clone(),
                kind,
                previous: (kind == ItemKind::Raised)
                    .then(|| t.map(|t| t.severity))
                    .flatten(),
            });
        }
        if !items.is_empty() {
            out.push(Planned {
                recipient: ri,
                items,
                covers,
            });
        }
    }
    out
}

/// What an open alert in the recipient's scope is, compared with what was last told.
fn open_kind(
    a: &Alert,
    t: Option<&Notified>,
    cursor: i64,
    reopened_after: &HashMap<i64, i64>,
    input: &PlanInput<'_>,
) -> Option<ItemKind> {
    let Some(t) = t else {
        return Some(ItemKind::New);
    };
    let reopened_since = reopened_after.get(&a.id).is_some_and(|e| *e > cursor);
    if t.state == "resolved" || reopened_since {
        Some(ItemKind::Reopened)
    } else if a.severity > t.severity {
        Some(ItemKind::Raised)
    } else if a.consecutive >= input.escalate_after && !t.escalated {
        Some(ItemKind::Escalated)
    } else if a.state == AlertState::Firing && input.now_ms - t.last_at >= input.repeat_ms {
        Some(ItemKind::Reminder)
    } else {
        None
    }
}
