//! The changes written on SQLite by stepping prepared statements (`sqlite_raw`): each alert's
//! id is its rowid, read as it is inserted.

use super::{CLEARED_ALERT_NOTE, CLEARED_EVENT_NOTE, Plan, Updated, scope_rows, values_json};
use crate::alerts::{EventKind, SYSTEM};
use crate::period::Period;
use crate::rules::Finding;
use crate::store::sqlite_raw::{Handle, Statement};

const INSERT: &str = "INSERT INTO alert (rule, subject, indicator, subject_name, unit_code, owner, state, severity, consecutive, period, message, values_json, opened_at, updated_at)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'firing', ?7, ?8, ?9, ?10, ?11, ?12, ?12)";

const UPDATE: &str = "UPDATE alert SET subject_name = ?1, unit_code = ?2, owner = ?3, severity = ?4, consecutive = ?5, period = ?6, message = ?7, values_json = ?8, updated_at = ?9
     WHERE id = ?10";

const REOPEN: &str = "UPDATE alert SET subject_name = ?1, unit_code = ?2, owner = ?3, severity = ?4, consecutive = ?5, period = ?6, message = ?7, values_json = ?8, updated_at = ?9,
       state = 'firing', opened_at = ?9, acknowledged_by = NULL, acknowledged_at = NULL, resolved_at = NULL, resolved_by = NULL, note = NULL
     WHERE id = ?10";

const RESOLVE: &str = "UPDATE alert SET state = 'resolved', resolved_at = ?1, resolved_by = ?2, note = ?3, period = ?4, updated_at = ?1
     WHERE id = ?5 RETURNING severity, consecutive, message";

const EVENT: &str = "INSERT INTO alert_event (alert_id, at, period, kind, severity, consecutive, message, actor, note, evaluation_id)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";

/// Writes `plan`: new alerts, then updated and reopened ones, then resolved ones.
pub(super) fn write(
    h: &Handle<'_>,
    plan: &Plan<'_>,
    evaluation_id: i64,
    now_ms: i64,
) -> anyhow::Result<()> {
    let mut w = Writer {
        scope: ScopeWriter::prepare(h)?,
        event: Statement::prepare(h, EVENT)?,
        evaluation_id,
        now_ms,
    };
    let mut insert = Statement::prepare(h, INSERT)?;
    for (f, events) in &plan.opens {
        w.open(&mut insert, f, events)?;
    }
    let mut update = Statement::prepare(h, UPDATE)?;
    let mut reopen = Statement::prepare(h, REOPEN)?;
    for u in &plan.updates {
        let stmt = if u.reopen { &mut reopen } else { &mut update };
        w.update(stmt, u)?;
    }
    let mut resolve = Statement::prepare(h, RESOLVE)?;
    for (id, period) in &plan.resolves {
        w.resolve(&mut resolve, *id, *period)?;
    }
    Ok(())
}

/// The statements every kind of change writes through.
struct Writer<'h> {
    scope: ScopeWriter<'h>,
    event: Statement<'h>,
    evaluation_id: i64,
    now_ms: i64,
}

impl Writer<'_> {
    fn open(
        &mut self,
        s: &mut Statement<'_>,
        f: &Finding,
        events: &[EventKind],
    ) -> anyhow::Result<()> {
        s.bind_text(1, f.rule.as_str())?;
        s.bind_text(2, &f.subject)?;
        s.bind_text(3, &f.indicator)?;
        s.bind_text(4, &f.subject_name)?;
        s.bind_text(5, &f.unit)?;
        s.bind_opt_text(6, f.owner.as_deref())?;
        s.bind_text(7, f.severity.as_str())?;
        s.bind_int(8, i64::from(f.consecutive))?;
        s.bind_text(9, &f.period.to_string())?;
        s.bind_text(10, &f.message)?;
        s.bind_text(11, &values_json(f))?;
        s.bind_int(12, self.now_ms)?;
        s.step()?;
        s.reset()?;
        let id = s.last_insert_rowid();
        self.scope.insert(id, &f.scope)?;
        for kind in events {
            self.finding_event(id, f, *kind)?;
        }
        Ok(())
    }

    fn update(&mut self, s: &mut Statement<'_>, u: &Updated<'_>) -> anyhow::Result<()> {
        let f = u.finding;
        s.bind_text(1, &f.subject_name)?;
        s.bind_text(2, &f.unit)?;
        s.bind_opt_text(3, f.owner.as_deref())?;
        s.bind_text(4, f.severity.as_str())?;
        s.bind_int(5, i64::from(f.consecutive))?;
        s.bind_text(6, &f.period.to_string())?;
        s.bind_text(7, &f.message)?;
        s.bind_text(8, &values_json(f))?;
        s.bind_int(9, self.now_ms)?;
        s.bind_int(10, u.id)?;
        s.step()?;
        s.reset()?;
        let id = u.id;
        anyhow::ensure!(
            s.changes() == 1,
            "没有编号为 {id} 的预警 (no alert with id {id})"
        );
        if u.rescope {
            self.scope.replace(u.id, &f.scope)?;
        }
        for kind in u.events {
            self.finding_event(u.id, f, *kind)?;
        }
        Ok(())
    }

    fn resolve(&mut self, s: &mut Statement<'_>, id: i64, period: Period) -> anyhow::Result<()> {
        let period = period.to_string();
        s.bind_int(1, self.now_ms)?;
        s.bind_text(2, SYSTEM)?;
        s.bind_text(3, CLEARED_ALERT_NOTE)?;
        s.bind_text(4, &period)?;
        s.bind_int(5, id)?;
        anyhow::ensure!(s.step()?, "没有编号为 {id} 的预警 (no alert with id {id})");
        let severity = s.str(0)?.to_string();
        let consecutive = s.int(1).unwrap_or_default();
        let message = s.str(2)?.to_string();
        s.reset()?;
        let e = &mut self.event;
        e.bind_int(1, id)?;
        e.bind_int(2, self.now_ms)?;
        e.bind_text(3, &period)?;
        e.bind_text(4, EventKind::Resolved.as_str())?;
        e.bind_text(5, &severity)?;
        e.bind_int(6, consecutive)?;
        e.bind_text(7, &message)?;
        e.bind_text(8, SYSTEM)?;
        e.bind_text(9, CLEARED_EVENT_NOTE)?;
        e.bind_int(10, self.evaluation_id)?;
        e.step()?;
        e.reset()
    }

    /// An event of alert `id` carrying finding `f`'s figures.
    fn finding_event(&mut self, id: i64, f: &Finding, kind: EventKind) -> anyhow::Result<()> {
        let e = &mut self.event;
        e.bind_int(1, id)?;
        e.bind_int(2, self.now_ms)?;
        e.bind_text(3, &f.period.to_string())?;
        e.bind_text(4, kind.as_str())?;
        e.bind_text(5, f.severity.as_str())?;
        e.bind_int(6, i64::from(f.consecutive))?;
        e.bind_text(7, &f.message)?;
        e.bind_text(8, SYSTEM)?;
        e.bind_text(9, "")?;
        e.bind_int(10, self.evaluation_id)?;
        e.step()?;
        e.reset()
    }
}

/// Writes `alert_scope` rows.
struct ScopeWriter<'h> {
    clear: Statement<'h>,
    insert: Statement<'h>,
}

impl<'h> ScopeWriter<'h> {
    fn prepare(h: &'h Handle<'_>) -> anyhow::Result<ScopeWriter<'h>> {
        Ok(ScopeWriter {
            clear: Statement::prepare(h, "DELETE FROM alert_scope WHERE alert_id = ?1")?,
            insert: Statement::prepare(
                h,
                "INSERT INTO alert_scope (alert_id, unit_code, ordinal) VALUES (?1, ?2, ?3)",
            )?,
        })
    }

    /// Adds the scope of a new alert.
    fn insert(&mut self, id: i64, scope: &[String]) -> anyhow::Result<()> {
        for (ordinal, unit) in scope_rows(scope) {
            self.insert.bind_int(1, id)?;
            self.insert.bind_text(2, unit)?;
            self.insert.bind_int(3, i64::from(ordinal))?;
            self.insert.step()?;
            self.insert.reset()?;
        }
        Ok(())
    }

    /// Replaces the scope of an existing alert.
    fn replace(&mut self, id: i64, scope: &[String]) -> anyhow::Result<()> {
        self.clear.bind_int(1, id)?;
        self.clear.step()?;
        self.clear.reset()?;
        self.insert(id, scope)
    }
}
