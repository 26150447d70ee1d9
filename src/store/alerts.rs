//! Alerts, their events and silences as stored. Every change to an alert writes an
//! `alert_event` row in the same transaction, so the history is complete.

use std::collections::HashMap;

use sqlx::Row;

use super::{Store, on_pool};
use crate::alerts::{
    Alert, AlertFilter, AlertState, Applied, Change, Event, EventKind, SYSTEM, Silence,
    SilenceMatcher,
};
use crate::period::Period;
use crate::rules::{Finding, Severity};

/// Inserts one event row for a finding-driven change.
macro_rules! insert_event {
    ($conn:expr, $id:expr, $now:expr, $f:expr, $kind:expr, $actor:expr, $note:expr, $eval:expr) => {
        sqlx::query("INSERT INTO alert_event (alert_id, at, period, kind, severity, consecutive, message, actor, note, evaluation_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
            .bind($id)
            .bind($now)
            .bind($f.period.to_string())
            .bind($kind.as_str())
            .bind($f.severity.as_str())
            .bind($f.consecutive as i64)
            .bind(&$f.message)
            .bind($actor)
            .bind($note)
            .bind($eval)
            .execute($conn)
            .await?
    };
}

/// Inserts new alerts and their first events on SQLite.
fn insert_opened_sqlite(
    h: &super::sqlite_raw::Handle<'_>,
    opens: &[(&Finding, &[EventKind])],
    evaluation_id: i64,
    now_ms: i64,
) -> anyhow::Result<()> {
    use super::sqlite_raw::Statement;
    let mut alert = Statement::prepare(
        h,
        "INSERT INTO alert (rule, subject, indicator, subject_name, unit_code, owner, state, severity, consecutive, period, message, values_json, opened_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'firing', ?7, ?8, ?9, ?10, ?11, ?12, ?12)",
    )?;
    let mut scope = ScopeWriter::prepare(h)?;
    let mut event = Statement::prepare(
        h,
        "INSERT INTO alert_event (alert_id, at, period, kind, severity, consecutive, message, actor, note, evaluation_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, '', ?9)",
    )?;
    for (f, events) in opens {
        let period = f.period.to_string();
        alert.bind_text(1, f.rule.as_str())?;
        alert.bind_text(2, &f.subject)?;
        alert.bind_text(3, &f.indicator)?;
        alert.bind_text(4, &f.subject_name)?;
        alert.bind_text(5, &f.unit)?;
        alert.bind_opt_text(6, f.owner.as_deref())?;
        alert.bind_text(7, f.severity.as_str())?;
        alert.bind_int(8, f.consecutive as i64)?;
        alert.bind_text(9, &period)?;
        alert.bind_text(10, &f.message)?;
        alert.bind_text(11, &serde_json::Value::Object(f.values.clone()).to_string())?;
        alert.bind_int(12, now_ms)?;
        alert.step()?;
        alert.reset()?;
        let id = alert.last_insert_rowid();
        scope.insert(id, &f.scope)?;
        for kind in *events {
            event.bind_int(1, id)?;
            event.bind_int(2, now_ms)?;
            event.bind_text(3, &period)?;
            event.bind_text(4, kind.as_str())?;
            event.bind_text(5, f.severity.as_str())?;
            event.bind_int(6, f.consecutive as i64)?;
            event.bind_text(7, &f.message)?;
            event.bind_text(8, SYSTEM)?;
            event.bind_int(9, evaluation_id)?;
            event.step()?;
            event.reset()?;
        }
    }
    Ok(())
}

/// The columns of an alert as [`decode_alert`] reads them, with `scope` in the seventh place.
fn alert_columns(scope: &str) -> String {
    format!(
        "id, rule, subject, indicator, subject_name, unit_code, {scope}, owner, state, severity, consecutive, period, message, values_json, opened_at, updated_at, acknowledged_by, acknowledged_at, resolved_at, resolved_by, note"
    )
}

/// An alert's scope gathered from `alert_scope` in the rule's order (`string_agg`: PostgreSQL,
/// and SQLite from 3.44): for reads of a few alerts. Reading every alert, a subquery per alert
/// took 2.9 s for 60,000 on PostgreSQL; those read the whole table once ([`attach_scopes`]).
const SCOPE_SUBQUERY: &str = "(SELECT string_agg(s.unit_code, ',' ORDER BY s.ordinal) FROM alert_scope s WHERE s.alert_id = alert.id)";

/// Every row of `alert_scope`, read in one pass.
const ALL_SCOPES: &str = "SELECT alert_id, CAST(ordinal AS BIGINT), unit_code FROM alert_scope";

/// Gives each alert its scope from rows `(alert_id, ordinal, unit_code)`.
fn attach_scopes(alerts: &mut [Alert], rows: Vec<(i64, i64, String)>) {
    let mut by_alert: HashMap<i64, Vec<(i64, String)>> = HashMap::with_capacity(alerts.len());
    for (id, ordinal, unit) in rows {
        by_alert.entry(id).or_default().push((ordinal, unit));
    }
    for a in alerts {
        if let Some(mut units) = by_alert.remove(&a.id) {
            units.sort_unstable();
            a.scope = units.into_iter().map(|(_, u)| u).collect();
        }
    }
}

/// How an evaluation ended, for [`Store::finish_evaluation`].
#[derive(Clone, Copy, Debug)]
pub struct EvaluationEnd<'a> {
    pub status: &'a str,
    pub findings: usize,
    pub applied: Applied,
    pub vintage: i64,
    pub message: &'a str,
}

/// The rows of a scope in `alert_scope`: each unit once, at its first place.
fn scope_rows(scope: &[String]) -> impl Iterator<Item = (i32, &str)> {
    scope
        .iter()
        .enumerate()
        .filter(|(i, u)| !scope[..*i].contains(u))
        .map(|(i, u)| (i as i32, u.as_str()))
}

/// Writes `alert_scope` rows on SQLite by stepping prepared statements.
struct ScopeWriter<'h> {
    clear: super::sqlite_raw::Statement<'h>,
    insert: super::sqlite_raw::Statement<'h>,
}

impl<'h> ScopeWriter<'h> {
    fn prepare(h: &'h super::sqlite_raw::Handle<'_>) -> anyhow::Result<ScopeWriter<'h>> {
        use super::sqlite_raw::Statement;
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

/// Replaces the scope of updated and reopened alerts on PostgreSQL: one DELETE, one COPY.
async fn replace_scopes_postgres(
    tx: &mut sqlx::PgConnection,
    scopes: &[(i64, &[String])],
) -> anyhow::Result<()> {
    if scopes.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = scopes.iter().map(|(id, _)| *id).collect();
    sqlx::query("DELETE FROM alert_scope WHERE alert_id = ANY($1)")
        .bind(&ids)
        .execute(&mut *tx)
        .await?;
    let mut rows = super::copy::BinaryCopyWriter::default();
    for (id, scope) in scopes {
        scope_copy_rows(&mut rows, *id, scope)?;
    }
    copy_in(tx, SCOPE_COPY, rows.finish()).await
}

const SCOPE_COPY: &str =
    "COPY alert_scope (alert_id, unit_code, ordinal) FROM STDIN (FORMAT binary)";

/// Appends an alert's scope rows to a binary COPY of `alert_scope`.
fn scope_copy_rows(
    w: &mut super::copy::BinaryCopyWriter,
    id: i64,
    scope: &[String],
) -> anyhow::Result<()> {
    for (ordinal, unit) in scope_rows(scope) {
        w.row(3);
        w.int8(id);
        w.bytes(unit.as_bytes())?;
        w.int4(ordinal);
    }
    Ok(())
}

async fn copy_in(tx: &mut sqlx::PgConnection, sql: &str, data: Vec<u8>) -> anyhow::Result<()> {
    let mut copy = tx.copy_in_raw(sql).await?;
    copy.send(data).await?;
    copy.finish().await?;
    Ok(())
}

/// Decodes an `alert` row selected with [`alert_columns`] (a macro: one body for both backends).
/// Positional column reads, for decoding an alert from sqlx's rows (PostgreSQL) or from a
/// directly stepped SQLite statement (see `sqlite_raw`; the evaluation reads every alert).
trait Columns {
    fn text(&self, i: usize) -> anyhow::Result<String>;
    fn opt_text(&self, i: usize) -> anyhow::Result<Option<String>>;
    fn int(&self, i: usize) -> anyhow::Result<i64>;
    fn opt_int(&self, i: usize) -> anyhow::Result<Option<i64>>;
}

macro_rules! sqlx_columns {
    ($row:ty) => {
        impl Columns for $row {
            fn text(&self, i: usize) -> anyhow::Result<String> {
                Ok(self.try_get(i)?)
            }
            fn opt_text(&self, i: usize) -> anyhow::Result<Option<String>> {
                Ok(self.try_get(i)?)
            }
            fn int(&self, i: usize) -> anyhow::Result<i64> {
                Ok(self.try_get(i)?)
            }
            fn opt_int(&self, i: usize) -> anyhow::Result<Option<i64>> {
                Ok(self.try_get(i)?)
            }
        }
    };
}
sqlx_columns!(sqlx::sqlite::SqliteRow);
sqlx_columns!(sqlx::postgres::PgRow);

impl Columns for super::sqlite_raw::Statement<'_> {
    fn text(&self, i: usize) -> anyhow::Result<String> {
        self.opt_text(i)?
            .ok_or_else(|| anyhow::anyhow!("column {i} is NULL"))
    }
    fn opt_text(&self, i: usize) -> anyhow::Result<Option<String>> {
        self.opt_string(i as i32)
    }
    fn int(&self, i: usize) -> anyhow::Result<i64> {
        self.opt_int(i)?
            .ok_or_else(|| anyhow::anyhow!("column {i} is NULL"))
    }
    fn opt_int(&self, i: usize) -> anyhow::Result<Option<i64>> {
        Ok(super::sqlite_raw::Statement::int(self, i as i32))
    }
}

/// A row of binary COPY output (PostgreSQL): text as UTF-8, integers big-endian.
struct CopyRow<'a, 'f>(&'a super::copy::Fields<'f>);

impl Columns for CopyRow<'_, '_> {
    fn text(&self, i: usize) -> anyhow::Result<String> {
        anyhow::Context::with_context(super::copy::text_field(self.0[i]), || format!("column {i}"))
    }
    fn opt_text(&self, i: usize) -> anyhow::Result<Option<String>> {
        super::copy::opt_text_field(self.0[i])
    }
    fn int(&self, i: usize) -> anyhow::Result<i64> {
        self.opt_int(i)?
            .ok_or_else(|| anyhow::anyhow!("column {i} is NULL"))
    }
    fn opt_int(&self, i: usize) -> anyhow::Result<Option<i64>> {
        super::copy::int_field(self.0[i])
    }
}

/// An alert from a row of [`alert_columns`].
fn decode_alert(r: &impl Columns) -> anyhow::Result<Alert> {
    let bad = |what: &str, v: &str| anyhow::anyhow!("stored alert has an invalid {what} “{v}”");
    let state = r.text(8)?;
    let severity = r.text(9)?;
    let period = r.text(11)?;
    let values = r.text(13)?;
    Ok(Alert {
        id: r.int(0)?,
        rule: r.text(1)?,
        subject: r.text(2)?,
        indicator: r.text(3)?,
        subject_name: r.text(4)?,
        unit_code: r.text(5)?,
        scope: r
            .opt_text(6)?
            .unwrap_or_default()
            .split(',')
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
        owner: r.opt_text(7)?,
        state: AlertState::parse(&state).ok_or_else(|| bad("state", &state))?,
        severity: Severity::parse(&severity).ok_or_else(|| bad("severity", &severity))?,
        consecutive: r.int(10)? as u32,
        period: period.parse().map_err(|_| bad("period", &period))?,
        message: r.text(12)?,
        values: serde_json::from_str(&values)?,
        opened_at: r.int(14)?,
        updated_at: r.int(15)?,
        acknowledged_by: r.opt_text(16)?,
        acknowledged_at: r.opt_int(17)?,
        resolved_at: r.opt_int(18)?,
        resolved_by: r.opt_text(19)?,
        note: r.opt_text(20)?,
    })
}

/// Writes new alerts and their events on PostgreSQL by binary COPY (a province's first
/// evaluation opens tens of thousands; multi-row INSERTs took seconds). The ids are drawn from
/// the alert sequence first, so that the events can refer to them in the same COPY pass.
async fn copy_opened_postgres(
    tx: &mut sqlx::PgConnection,
    opens: &[(&Finding, &[EventKind])],
    evaluation_id: i64,
    now_ms: i64,
) -> anyhow::Result<()> {
    use super::copy::BinaryCopyWriter;
    if opens.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT nextval(pg_get_serial_sequence('alert', 'id')) FROM generate_series(1, $1)",
    )
    .bind(opens.len() as i64)
    .fetch_all(&mut *tx)
    .await?;
    anyhow::ensure!(
        ids.len() == opens.len(),
        "the alert sequence gave too few ids"
    );
    let mut alerts = BinaryCopyWriter::default();
    let mut events = BinaryCopyWriter::default();
    let mut scopes = BinaryCopyWriter::default();
    for (id, (f, kinds)) in ids.iter().zip(opens) {
        let values = serde_json::Value::Object(f.values.clone()).to_string();
        let period = f.period.to_string();
        alerts.row(15);
        alerts.int8(*id);
        for text in [
            f.rule.as_str(),
            &f.subject,
            &f.indicator,
            &f.subject_name,
            &f.unit,
        ] {
            alerts.bytes(text.as_bytes())?;
        }
        scope_copy_rows(&mut scopes, *id, &f.scope)?;
        alerts.opt_bytes(f.owner.as_deref().map(str::as_bytes))?;
        alerts.bytes(b"firing")?;
        alerts.bytes(f.severity.as_str().as_bytes())?;
        alerts.int8(i64::from(f.consecutive));
        alerts.bytes(period.as_bytes())?;
        alerts.bytes(f.message.as_bytes())?;
        alerts.bytes(values.as_bytes())?;
        alerts.int8(now_ms);
        alerts.int8(now_ms);
        for kind in kinds.iter() {
            events.row(10);
            events.int8(*id);
            events.int8(now_ms);
            events.bytes(period.as_bytes())?;
            events.bytes(kind.as_str().as_bytes())?;
            events.bytes(f.severity.as_str().as_bytes())?;
            events.int8(i64::from(f.consecutive));
            events.bytes(f.message.as_bytes())?;
            events.bytes(SYSTEM.as_bytes())?;
            events.bytes(b"")?;
            events.int8(evaluation_id);
        }
    }
    for (sql, data) in [
        (
            "COPY alert (id, rule, subject, indicator, subject_name, unit_code, owner, state, severity, consecutive, period, message, values_json, opened_at, updated_at) FROM STDIN (FORMAT binary)",
            alerts.finish(),
        ),
        (
            "COPY alert_event (alert_id, at, period, kind, severity, consecutive, message, actor, note, evaluation_id) FROM STDIN (FORMAT binary)",
            events.finish(),
        ),
        (SCOPE_COPY, scopes.finish()),
    ] {
        copy_in(tx, sql, data).await?;
    }
    Ok(())
}

/// The events of one alert after an id, oldest first (by index `alert_event_alert`).
pub(super) const EVENTS_OF_ALERT: &str =
    "SELECT id, alert_id, at, period, kind, severity, consecutive, message, actor, note
     FROM alert_event WHERE alert_id = $2 AND id > $1 ORDER BY id";

/// Every alert's events after an id, oldest first. (`$2` is bound, NULL, and unused.)
pub(super) const EVENTS_AFTER: &str =
    "SELECT id, alert_id, at, period, kind, severity, consecutive, message, actor, note
     FROM alert_event WHERE id > $1 AND $2 IS NULL ORDER BY id";

impl Store {
    /// Records the start of an evaluation.
    pub async fn begin_evaluation(&self, period: Period, now_ms: i64) -> anyhow::Result<i64> {
        let sql = "INSERT INTO evaluation_run (period, started_at, status) VALUES ($1, $2, 'running') RETURNING id";
        Ok(
            on_pool!(self, p => sqlx::query_scalar::<_, i64>(sql).bind(period.to_string()).bind(now_ms).fetch_one(p).await?),
        )
    }

    /// The newest period evaluated successfully (alert changes are made only for it and later ones).
    pub async fn newest_evaluated_period(&self) -> anyhow::Result<Option<Period>> {
        let sql = "SELECT MAX(period) FROM evaluation_run WHERE status = 'ok'";
        let p: Option<String> = on_pool!(self, p => sqlx::query_scalar(sql).fetch_one(p).await?);
        Ok(p.and_then(|s| s.parse().ok()))
    }

    /// Records how an evaluation ended.
    #[allow(clippy::too_many_arguments)]
    pub async fn finish_evaluation(
        &self,
        id: i64,
        end: &EvaluationEnd<'_>,
        now_ms: i64,
    ) -> anyhow::Result<()> {
        let EvaluationEnd {
            status,
            findings,
            applied,
            vintage,
            message,
        } = *end;
        let sql = "UPDATE evaluation_run SET finished_at = $1, status = $2, findings = $3, opened = $4, changed = $5, resolved = $6, data_vintage = $7, message = $8 WHERE id = $9";
        on_pool!(self, p => sqlx::query(sql).bind(now_ms).bind(status).bind(findings as i64)
            .bind(applied.opened as i64).bind(applied.changed as i64).bind(applied.resolved as i64)
            .bind(vintage).bind(message).bind(id).execute(p).await.map(|_| ())?);
        Ok(())
    }

    /// Alerts matching the filter, most severe first.
    pub async fn alerts(&self, filter: &AlertFilter) -> anyhow::Result<Vec<Alert>> {
        // Every alert (the evaluation's read): their scopes are read in one pass after them.
        let bulk = filter.unit.is_none() && filter.id.is_none();
        let scope = if bulk {
            "CAST(NULL AS TEXT)"
        } else {
            SCOPE_SUBQUERY
        };
        let mut sql = format!("SELECT {} FROM alert WHERE 1 = 1", alert_columns(scope));
        let mut binds: Vec<String> = Vec::new();
        if !filter.states.is_empty() {
            let list: Vec<String> = filter
                .states
                .iter()
                .map(|s| format!("'{}'", s.as_str()))
                .collect();
            sql.push_str(&format!(" AND state IN ({})", list.join(", ")));
        }
        if let Some(u) = &filter.unit {
            binds.push(u.clone());
            sql.push_str(&format!(
                " AND EXISTS (SELECT 1 FROM alert_scope s WHERE s.alert_id = alert.id AND s.unit_code = ${})",
                binds.len()
            ));
        }
        if let Some(id) = filter.id {
            sql.push_str(&format!(" AND id = {id}"));
        }
        let order = " ORDER BY CASE severity WHEN 'red' THEN 0 WHEN 'orange' THEN 1 WHEN 'yellow' THEN 2 ELSE 3 END, rule, subject, indicator";
        match self {
            Store::Sqlite(p) => {
                // Stepped directly: an evaluation reads every alert, tens of thousands at a
                // province's scale, and sqlx would cost microseconds a row.
                let mut conn = p.acquire().await?;
                let sql = format!("{sql}{order}").replace('$', "?");
                super::sqlite_raw::with_handle(&mut conn, |h| {
                    let mut q = super::sqlite_raw::Statement::prepare(h, &sql)?;
                    for (i, b) in binds.iter().enumerate() {
                        q.bind_text(i as i32 + 1, b)?;
                    }
                    let mut out = Vec::new();
                    while q.step()? {
                        out.push(decode_alert(&q)?);
                    }
                    if bulk {
                        let mut q = super::sqlite_raw::Statement::prepare(h, ALL_SCOPES)?;
                        let mut rows = Vec::new();
                        while q.step()? {
                            rows.push((
                                Columns::int(&q, 0)?,
                                Columns::int(&q, 1)?,
                                Columns::text(&q, 2)?,
                            ));
                        }
                        attach_scopes(&mut out, rows);
                    }
                    Ok(out)
                })
                .await
            }
            Store::Postgres(p) if binds.is_empty() => {
                // Every alert by binary COPY (COPY takes no parameters, so only without a unit
                // filter), sorted here rather than on disk by the server: the evaluation reads
                // them all, and through sqlx's rows a province's tens of thousands took half a
                // second.
                let mut out = Vec::new();
                super::copy::copy_out(p, &sql, 21, |f| {
                    out.push(decode_alert(&CopyRow(f))?);
                    Ok(())
                })
                .await?;
                if bulk {
                    let mut rows = Vec::new();
                    super::copy::copy_out(p, ALL_SCOPES, 3, |f| {
                        let r = CopyRow(f);
                        rows.push((r.int(0)?, r.int(1)?, r.text(2)?));
                        Ok(())
                    })
                    .await?;
                    attach_scopes(&mut out, rows);
                }
                out.sort_unstable_by(|a, b| {
                    b.severity
                        .cmp(&a.severity)
                        .then_with(|| a.key().cmp(&b.key()))
                });
                Ok(out)
            }
            Store::Postgres(p) => {
                let sql = format!("{sql}{order}");
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()));
                for b in &binds {
                    q = q.bind(b);
                }
                q.fetch_all(p).await?.iter().map(decode_alert).collect()
            }
        }
    }

    /// One alert by id.
    pub async fn alert(&self, id: i64) -> anyhow::Result<Option<Alert>> {
        let filter = AlertFilter {
            id: Some(id),
            ..AlertFilter::default()
        };
        Ok(self.alerts(&filter).await?.into_iter().next())
    }

    /// Writes an evaluation's changes and their events in one transaction.
    pub async fn apply_changes(
        &self,
        evaluation_id: i64,
        changes: &[Change],
        now_ms: i64,
    ) -> anyhow::Result<Applied> {
        let mut applied = Applied::default();
        let opens: Vec<(&Finding, &[EventKind])> = changes
            .iter()
            .filter_map(|c| match c {
                Change::Open { finding, events } => Some((finding, events.as_slice())),
                _ => None,
            })
            .collect();
        // Updated and reopened alerts get their scope rewritten in bulk, as new ones do.
        let rescoped: Vec<(i64, &[String])> = changes
            .iter()
            .filter_map(|c| match c {
                Change::Reopen { id, finding, .. } | Change::Update { id, finding, .. } => {
                    Some((*id, finding.scope.as_slice()))
                }
                _ => None,
            })
            .collect();
        // The rest of the changes, the same on both backends: a handful a month.
        macro_rules! apply_rest {
            ($tx:ident) => {{
            applied.opened += opens.len() as u64;
            for c in changes {
                match c {
                    Change::Open { .. } => {}
                    Change::Reopen { id, finding: f, events } | Change::Update { id, finding: f, events } => {
                        let reopen = matches!(c, Change::Reopen { .. });
                        let sql = if reopen {
                            "UPDATE alert SET subject_name = $1, unit_code = $2, owner = $3, severity = $4, consecutive = $5, period = $6, message = $7, values_json = $8, updated_at = $9,
                               state = 'firing', opened_at = $9, acknowledged_by = NULL, acknowledged_at = NULL, resolved_at = NULL, resolved_by = NULL, note = NULL WHERE id = $10"
                        } else {
                            "UPDATE alert SET subject_name = $1, unit_code = $2, owner = $3, severity = $4, consecutive = $5, period = $6, message = $7, values_json = $8, updated_at = $9 WHERE id = $10"
                        };
                        sqlx::query(sql)
                            .bind(&f.subject_name).bind(&f.unit).bind(&f.owner).bind(f.severity.as_str())
                            .bind(f.consecutive as i64).bind(f.period.to_string()).bind(&f.message)
                            .bind(serde_json::Value::Object(f.values.clone()).to_string()).bind(now_ms).bind(id)
                            .execute(&mut *$tx).await?;
                        for e in events {
                            insert_event!(&mut *$tx, *id, now_ms, f, *e, SYSTEM, "", Some(evaluation_id));
                        }
                        if reopen { applied.opened += 1 } else { applied.changed += 1 }
                    }
                    Change::Resolve { id, period } => {
                        let row = sqlx::query("UPDATE alert SET state = 'resolved', resolved_at = $1, resolved_by = $2, note = $3, period = $4, updated_at = $1 WHERE id = $5 RETURNING severity, consecutive, message")
                            .bind(now_ms).bind(SYSTEM).bind("条件已消除，自动销号 (condition cleared)").bind(period.to_string()).bind(id)
                            .fetch_one(&mut *$tx).await?;
                        let severity: String = row.try_get(0)?;
                        let consecutive: i64 = row.try_get(1)?;
                        let message: String = row.try_get(2)?;
                        sqlx::query("INSERT INTO alert_event (alert_id, at, period, kind, severity, consecutive, message, actor, note, evaluation_id) VALUES ($1, $2, $3, 'resolved', $4, $5, $6, $7, $8, $9)")
                            .bind(id).bind(now_ms).bind(period.to_string()).bind(severity).bind(consecutive).bind(message)
                            .bind(SYSTEM).bind("条件已消除 (condition cleared)").bind(evaluation_id)
                            .execute(&mut *$tx).await?;
                        applied.resolved += 1;
                    }
                }
            }
            }};
        }
        match self {
            Store::Sqlite(p) => {
                let mut tx = p.begin().await?;
                // New alerts by stepping prepared statements (the first evaluation of a province
                // opens tens of thousands): each alert's id is its rowid, read as it is inserted.
                super::sqlite_raw::with_handle(&mut tx, |h| {
                    insert_opened_sqlite(h, &opens, evaluation_id, now_ms)?;
                    let mut scope = ScopeWriter::prepare(h)?;
                    for (id, s) in &rescoped {
                        scope.replace(*id, s)?;
                    }
                    Ok(())
                })
                .await?;
                apply_rest!(tx);
                tx.commit().await?;
            }
            Store::Postgres(p) => {
                let mut tx = p.begin().await?;
                copy_opened_postgres(&mut tx, &opens, evaluation_id, now_ms).await?;
                replace_scopes_postgres(&mut tx, &rescoped).await?;
                apply_rest!(tx);
                tx.commit().await?;
            }
        }
        Ok(applied)
    }

    /// Acknowledges (认领) or resolves (销号) an alert by hand, with an event.
    pub async fn set_alert_state(
        &self,
        id: i64,
        state: AlertState,
        by: &str,
        note: &str,
        now_ms: i64,
    ) -> anyhow::Result<Alert> {
        let Some(a) = self.alert(id).await? else {
            anyhow::bail!("没有编号为 {id} 的预警 (no alert with id {id})");
        };
        if a.state == AlertState::Resolved {
            anyhow::bail!("预警 {id} 已销号 (alert {id} is already resolved)");
        }
        let (sql, kind) = match state {
            AlertState::Acknowledged => (
                "UPDATE alert SET state = 'acknowledged', acknowledged_by = $1, acknowledged_at = $2, note = $3, updated_at = $2 WHERE id = $4",
                EventKind::Acknowledged,
            ),
            AlertState::Resolved => (
                "UPDATE alert SET state = 'resolved', resolved_by = $1, resolved_at = $2, note = $3, updated_at = $2 WHERE id = $4",
                EventKind::Resolved,
            ),
            AlertState::Firing => anyhow::bail!("cannot set firing by hand"),
        };
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            sqlx::query(sql).bind(by).bind(now_ms).bind(note).bind(id).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO alert_event (alert_id, at, period, kind, severity, consecutive, message, actor, note) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
                .bind(id).bind(now_ms).bind(a.period.to_string()).bind(kind.as_str()).bind(a.severity.as_str())
                .bind(a.consecutive as i64).bind(&a.message).bind(by).bind(note)
                .execute(&mut *tx).await?;
            tx.commit().await?;
        });
        self.alert(id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("alert {id} vanished"))
    }

    /// Events with an id above `after`, oldest first (`alert_id` limits them to one alert).
    pub async fn alert_events(
        &self,
        after: i64,
        alert_id: Option<i64>,
    ) -> anyhow::Result<Vec<Event>> {
        // One text per case: `($2 IS NULL OR alert_id = $2)` kept SQLite from the alert's
        // index, and every alert page scanned all the events after `after`.
        let sql = match alert_id {
            Some(_) => EVENTS_OF_ALERT,
            None => EVENTS_AFTER,
        };
        let rows = on_pool!(self, p => sqlx::query(sql).bind(after).bind(alert_id).fetch_all(p).await?.iter().map(|r| {
            let kind: String = r.try_get(4)?;
            let severity: String = r.try_get(5)?;
            Ok(Event {
                id: r.try_get(0)?,
                alert_id: r.try_get(1)?,
                at: r.try_get(2)?,
                period: r.try_get(3)?,
                kind: EventKind::parse(&kind).ok_or_else(|| sqlx::Error::Decode(format!("event kind {kind}").into()))?,
                severity: Severity::parse(&severity).unwrap_or(Severity::Blue),
                consecutive: r.try_get::<i64, _>(6)? as u32,
                message: r.try_get(7)?,
                actor: r.try_get(8)?,
                note: r.try_get(9)?,
            })
        }).collect::<Result<Vec<_>, sqlx::Error>>()?);
        Ok(rows)
    }

    /// Adds a silence and returns its id.
    pub async fn add_silence(
        &self,
        m: &SilenceMatcher,
        starts_at: i64,
        ends_at: i64,
        reason: &str,
        author: &str,
        now_ms: i64,
    ) -> anyhow::Result<i64> {
        anyhow::ensure!(
            !m.is_empty(),
            "静默至少要指定规则、对象或单位之一 (a silence needs --rule, --subject or --unit)"
        );
        anyhow::ensure!(
            ends_at > starts_at,
            "静默结束时间应晚于开始时间 (a silence must end after it starts)"
        );
        let sql = "INSERT INTO silence (rule, subject, unit_code, starts_at, ends_at, reason, author, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id";
        Ok(
            on_pool!(self, p => sqlx::query_scalar::<_, i64>(sql).bind(&m.rule).bind(&m.subject).bind(&m.unit)
            .bind(starts_at).bind(ends_at).bind(reason).bind(author).bind(now_ms).fetch_one(p).await?),
        )
    }

    /// Silences; with `active_at`, only those in force then.
    pub async fn silences(&self, active_at: Option<i64>) -> anyhow::Result<Vec<Silence>> {
        let sql = "SELECT id, rule, subject, unit_code, starts_at, ends_at, reason, author, created_at, expired_at FROM silence ORDER BY id";
        let all = on_pool!(self, p => sqlx::query(sql).fetch_all(p).await?.iter().map(|r| {
            Ok(Silence {
                id: r.try_get(0)?,
                matcher: SilenceMatcher { rule: r.try_get(1)?, subject: r.try_get(2)?, unit: r.try_get(3)? },
                starts_at: r.try_get(4)?,
                ends_at: r.try_get(5)?,
                reason: r.try_get(6)?,
                author: r.try_get(7)?,
                created_at: r.try_get(8)?,
                expired_at: r.try_get(9)?,
            })
        }).collect::<Result<Vec<_>, sqlx::Error>>()?);
        Ok(match active_at {
            Some(now) => all.into_iter().filter(|s| s.is_active(now)).collect(),
            None => all,
        })
    }

    /// Ends a silence now.
    pub async fn expire_silence(&self, id: i64, by: &str, now_ms: i64) -> anyhow::Result<()> {
        let sql = "UPDATE silence SET expired_at = $1, expired_by = $2 WHERE id = $3 AND expired_at IS NULL";
        let n = on_pool!(self, p => sqlx::query(sql).bind(now_ms).bind(by).bind(id).execute(p).await?.rows_affected());
        anyhow::ensure!(
            n == 1,
            "没有编号为 {id} 的有效静默 (no unexpired silence with id {id})"
        );
        Ok(())
    }
}
