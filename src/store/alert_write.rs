//! Writing an evaluation's alert changes ([`Store::apply_changes`]) in one transaction, each
//! kind in bulk: new alerts, updated and reopened ones, resolved ones, and their events. The
//! evaluation after the first changes tens of thousands of live alerts at once (every one
//! still firing gets the new period's figures); one statement an alert took 4 s on
//! PostgreSQL for 35,000 of them.

mod postgres;
mod sqlite;

use super::Store;
use crate::alerts::{Applied, Change, EventKind};
use crate::period::Period;
use crate::rules::Finding;

/// Note of the event of an alert resolved because its condition cleared.
const CLEARED_EVENT_NOTE: &str = "条件已消除 (condition cleared)";
/// Note left on the alert itself.
const CLEARED_ALERT_NOTE: &str = "条件已消除，自动销号 (condition cleared)";

/// A live or resolved alert given a finding's figures again.
struct Updated<'a> {
    id: i64,
    finding: &'a Finding,
    events: &'a [EventKind],
    /// Resolved before: back to `firing`, its acknowledgement and resolution cleared.
    reopen: bool,
    /// Its scope rows rewritten: a reopened alert's, or an updated one's whose scope changed.
    rescope: bool,
}

/// An evaluation's changes by how they are written, each kind in the order given.
struct Plan<'a> {
    opens: Vec<(&'a Finding, &'a [EventKind])>,
    updates: Vec<Updated<'a>>,
    resolves: Vec<(i64, Period)>,
}

impl<'a> Plan<'a> {
    fn of(changes: &'a [Change]) -> Plan<'a> {
        let mut plan = Plan {
            opens: Vec::new(),
            updates: Vec::new(),
            resolves: Vec::new(),
        };
        for c in changes {
            match c {
                Change::Open { finding, events } => plan.opens.push((finding, events)),
                Change::Reopen {
                    id,
                    finding,
                    events,
                } => plan.updates.push(Updated {
                    id: *id,
                    finding,
                    events,
                    reopen: true,
                    rescope: true,
                }),
                Change::Update {
                    id,
                    finding,
                    events,
                    rescope,
                } => plan.updates.push(Updated {
                    id: *id,
                    finding,
                    events,
                    reopen: false,
                    rescope: *rescope,
                }),
                Change::Resolve { id, period } => plan.resolves.push((*id, *period)),
            }
        }
        plan
    }

    fn applied(&self) -> Applied {
        let reopened = self.updates.iter().filter(|u| u.reopen).count();
        Applied {
            opened: (self.opens.len() + reopened) as u64,
            changed: (self.updates.len() - reopened) as u64,
            resolved: self.resolves.len() as u64,
        }
    }
}

impl Store {
    /// Writes an evaluation's changes and their events in one transaction.
    pub async fn apply_changes(
        &self,
        evaluation_id: i64,
        changes: &[Change],
        now_ms: i64,
    ) -> anyhow::Result<Applied> {
        let plan = Plan::of(changes);
        match self {
            Store::Sqlite(p) => {
                let mut tx = p.begin().await?;
                super::sqlite_raw::with_handle(&mut tx, |h| {
                    sqlite::write(h, &plan, evaluation_id, now_ms)
                })
                .await?;
                tx.commit().await?;
            }
            Store::Postgres(p) => {
                let mut tx = p.begin().await?;
                postgres::write(&mut tx, &plan, evaluation_id, now_ms).await?;
                tx.commit().await?;
            }
        }
        Ok(plan.applied())
    }
}

/// The rows of a scope in `alert_scope`: each unit once, at its first place.
fn scope_rows(scope: &[String]) -> impl Iterator<Item = (i32, &str)> {
    scope
        .iter()
        .enumerate()
        .filter(|(i, u)| !scope[..*i].contains(u))
        .map(|(i, u)| (i as i32, u.as_str()))
}

/// A finding's figures as stored in `alert.values_json`.
fn values_json(f: &Finding) -> String {
    serde_json::Value::Object(f.values.clone()).to_string()
}
