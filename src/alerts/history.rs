//! An alert's history as kept: one event per change, and what one evaluation changed.

use serde::Serialize;

use super::EventKind;
use crate::rules::Severity;

/// One entry of an alert's history.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Event {
    pub id: i64,
    pub alert_id: i64,
    pub at: i64,
    pub period: String,
    pub kind: EventKind,
    pub severity: Severity,
    pub consecutive: u32,
    pub message: String,
    pub actor: String,
    pub note: String,
}

/// How many alerts an evaluation opened, changed and resolved.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Applied {
    pub opened: u64,
    pub changed: u64,
    pub resolved: u64,
}
