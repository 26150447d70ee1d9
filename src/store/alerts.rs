//! Alerts, their events and silences as stored. Every change to an alert writes an
//! `alert_event` row in the same transaction, so the history is complete.

use std::collections::HashMap;

use sqlx::Row;

use super::{Store, on_pool};
use crate::alerts::{
    Alert, AlertFilter, AlertState, Applied, Event, EventKind, Silence, SilenceMatcher,
};
use crate::period::Period;
use crate::rules::Severity;

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
