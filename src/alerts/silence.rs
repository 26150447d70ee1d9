//! Silences (静默): matchers on rule, subject and unit with a start and an end. A silenced alert
//! stays listed and keeps its history; only notification is held back — e.g. a refinery's
//! planned overhaul (三年一次的停产检修).

use serde::Serialize;

use super::Alert;

/// What a silence matches; a `None` matcher matches anything, but at least one must be set.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SilenceMatcher {
    pub rule: Option<String>,
    pub subject: Option<String>,
    /// Matches alerts whose subject counts in this unit (its district, zone or the city).
    pub unit: Option<String>,
}

/// A stored silence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Silence {
    pub id: i64,
    pub matcher: SilenceMatcher,
    pub starts_at: i64,
    pub ends_at: i64,
    pub reason: String,
    pub author: String,
    pub created_at: i64,
    pub expired_at: Option<i64>,
}

impl SilenceMatcher {
    pub fn is_empty(&self) -> bool {
        self.rule.is_none() && self.subject.is_none() && self.unit.is_none()
    }

    pub fn matches(&self, a: &Alert) -> bool {
        self.rule.as_ref().is_none_or(|r| *r == a.rule)
            && self.subject.as_ref().is_none_or(|s| *s == a.subject)
            && self
                .unit
                .as_ref()
                .is_none_or(|u| *u == a.unit_code || a.scope.contains(u))
    }
}

impl Silence {
    /// Whether the silence is in force at `now_ms` (expiry by hand ends it early).
    pub fn is_active(&self, now_ms: i64) -> bool {
        self.starts_at <= now_ms
            && now_ms < self.ends_at
            && self.expired_at.is_none_or(|e| now_ms < e)
    }
}

/// The first active silence that covers the alert.
pub fn silenced_by<'a>(silences: &'a [Silence], a: &Alert, now_ms: i64) -> Option<&'a Silence> {
    silences
        .iter()
        .find(|s| s.is_active(now_ms) && s.matcher.matches(a))
}
