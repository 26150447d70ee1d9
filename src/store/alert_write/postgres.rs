//! The changes written on PostgreSQL: new alerts, their scopes and every finding's events by
//! binary COPY (the ids drawn from the alert sequence first, so that the events can refer to
//! them), updated and resolved alerts by one statement each over arrays.

use sqlx::PgConnection;

use super::{CLEARED_ALERT_NOTE, CLEARED_EVENT_NOTE, Plan, Updated, scope_rows, values_json};
use crate::alerts::{EventKind, SYSTEM};
use crate::rules::Finding;
use crate::store::copy::BinaryCopyWriter;

const ALERT_COPY: &str = "COPY alert (id, rule, subject, indicator, subject_name, unit_code, owner, state, severity, consecutive, period, message, values_json, opened_at, updated_at) FROM STDIN (FORMAT binary)";

const EVENT_COPY: &str = "COPY alert_event (alert_id, at, period, kind, severity, consecutive, message, actor, note, evaluation_id) FROM STDIN (FORMAT binary)";

const SCOPE_COPY: &str =
    "COPY alert_scope (alert_id, unit_code, ordinal) FROM STDIN (FORMAT binary)";

/// Every updated alert given its finding's figures; a reopened one back to `firing`, its
/// acknowledgement and resolution cleared. `$1` the time, `$2..=$11` the arrays.
const UPDATE: &str = "UPDATE alert a SET subject_name = u.subject_name, unit_code = u.unit_code, owner = u.owner,
       severity = u.severity, consecutive = u.consecutive, period = u.period, message = u.message,
       values_json = u.values_json, updated_at = $1,
       state = CASE WHEN u.reopen THEN 'firing' ELSE a.state END,
       opened_at = CASE WHEN u.reopen THEN $1 ELSE a.opened_at END,
       acknowledged_by = CASE WHEN u.reopen THEN NULL ELSE a.acknowledged_by END,
       acknowledged_at = CASE WHEN u.reopen THEN NULL ELSE a.acknowledged_at END,
       resolved_at = CASE WHEN u.reopen THEN NULL ELSE a.resolved_at END,
       resolved_by = CASE WHEN u.reopen THEN NULL ELSE a.resolved_by END,
       note = CASE WHEN u.reopen THEN NULL ELSE a.note END
     FROM UNNEST($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::text[], $9::text[], $10::text[], $11::bool[])
       AS u (id, subject_name, unit_code, owner, severity, consecutive, period, message, values_json, reopen)
     WHERE a.id = u.id";

/// Every resolved alert, and its event carrying the alert's last figures, in the order given.
const RESOLVE: &str = "WITH r AS (
       UPDATE alert a SET state = 'resolved', resolved_at = $1, resolved_by = $2, note = $3, period = u.period, updated_at = $1
       FROM UNNEST($4::bigint[], $5::text[]) WITH ORDINALITY AS u (id, period, ord)
       WHERE a.id = u.id
       RETURNING a.id, a.period, a.severity, a.consecutive, a.message, u.ord)
     INSERT INTO alert_event (alert_id, at, period, kind, severity, consecutive, message, actor, note, evaluation_id)
     SELECT id, $1, period, 'resolved', severity, consecutive, message, $2, $6, $7 FROM r ORDER BY ord";

/// Writes `plan` in `tx`: new alerts, then updated and reopened ones, then resolved ones.
pub(super) async fn write(
    tx: &mut PgConnection,
    plan: &Plan<'_>,
    evaluation_id: i64,
    now_ms: i64,
) -> anyhow::Result<()> {
    let mut events = EventRows {
        rows: BinaryCopyWriter::default(),
        evaluation_id,
        now_ms,
    };
    let mut scopes = BinaryCopyWriter::default();
    let mut alerts = BinaryCopyWriter::default();
    let ids = draw_ids(tx, plan.opens.len()).await?;
    for (id, (f, kinds)) in ids.iter().zip(&plan.opens) {
        alert_row(&mut alerts, *id, f, now_ms)?;
        scope_copy_rows(&mut scopes, *id, &f.scope)?;
        for kind in kinds.iter() {
            events.push(*id, f, *kind)?;
        }
    }
    update(tx, &plan.updates, now_ms).await?;
    let rescoped: Vec<&Updated<'_>> = plan.updates.iter().filter(|u| u.rescope).collect();
    let ids: Vec<i64> = rescoped.iter().map(|u| u.id).collect();
    delete_scopes(tx, &ids).await?;
    for u in rescoped {
        scope_copy_rows(&mut scopes, u.id, &u.finding.scope)?;
    }
    for u in &plan.updates {
        for kind in u.events {
            events.push(u.id, u.finding, *kind)?;
        }
    }
    for (sql, rows) in [
        (ALERT_COPY, alerts),
        (EVENT_COPY, events.rows),
        (SCOPE_COPY, scopes),
    ] {
        if rows.rows() > 0 {
            copy_in(tx, sql, rows.finish()).await?;
        }
    }
    resolve(tx, &plan.resolves, evaluation_id, now_ms).await
}

/// `n` ids from the alert sequence, which is looked up once: called in each row,
/// `pg_get_serial_sequence` took eight times as long as the ids (psql, 35,000 ids: 86 ms
/// against 10 ms).
async fn draw_ids(tx: &mut PgConnection, n: usize) -> anyhow::Result<Vec<i64>> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = sqlx::query_scalar(
        "WITH q AS MATERIALIZED (SELECT CAST(pg_get_serial_sequence('alert', 'id') AS REGCLASS) AS seq)
         SELECT nextval(q.seq) FROM q, generate_series(1, $1)",
    )
    .bind(n as i64)
    .fetch_all(&mut *tx)
    .await?;
    anyhow::ensure!(ids.len() == n, "the alert sequence gave too few ids");
    Ok(ids)
}

/// A new alert's row of [`ALERT_COPY`].
fn alert_row(w: &mut BinaryCopyWriter, id: i64, f: &Finding, now_ms: i64) -> anyhow::Result<()> {
    w.row(15);
    w.int8(id);
    for text in [
        f.rule.as_str(),
        &f.subject,
        &f.indicator,
        &f.subject_name,
        &f.unit,
    ] {
        w.bytes(text.as_bytes())?;
    }
    w.opt_bytes(f.owner.as_deref().map(str::as_bytes))?;
    w.bytes(b"firing")?;
    w.bytes(f.severity.as_str().as_bytes())?;
    w.int8(i64::from(f.consecutive));
    w.bytes(f.period.to_string().as_bytes())?;
    w.bytes(f.message.as_bytes())?;
    w.bytes(values_json(f).as_bytes())?;
    w.int8(now_ms);
    w.int8(now_ms);
    Ok(())
}

/// The rows of [`EVENT_COPY`]: events carrying a finding's figures.
struct EventRows {
    rows: BinaryCopyWriter,
    evaluation_id: i64,
    now_ms: i64,
}

impl EventRows {
    fn push(&mut self, id: i64, f: &Finding, kind: EventKind) -> anyhow::Result<()> {
        let w = &mut self.rows;
        w.row(10);
        w.int8(id);
        w.int8(self.now_ms);
        w.bytes(f.period.to_string().as_bytes())?;
        w.bytes(kind.as_str().as_bytes())?;
        w.bytes(f.severity.as_str().as_bytes())?;
        w.int8(i64::from(f.consecutive));
        w.bytes(f.message.as_bytes())?;
        w.bytes(SYSTEM.as_bytes())?;
        w.bytes(b"")?;
        w.int8(self.evaluation_id);
        Ok(())
    }
}

/// Gives every updated alert its finding's figures in one statement.
async fn update(tx: &mut PgConnection, updates: &[Updated<'_>], now_ms: i64) -> anyhow::Result<()> {
    if updates.is_empty() {
        return Ok(());
    }
    let fs = || updates.iter().map(|u| u.finding);
    let ids: Vec<i64> = updates.iter().map(|u| u.id).collect();
    let names: Vec<&str> = fs().map(|f| f.subject_name.as_str()).collect();
    let units: Vec<&str> = fs().map(|f| f.unit.as_str()).collect();
    let owners: Vec<Option<&str>> = fs().map(|f| f.owner.as_deref()).collect();
    let severities: Vec<&str> = fs().map(|f| f.severity.as_str()).collect();
    let consecutive: Vec<i64> = fs().map(|f| i64::from(f.consecutive)).collect();
    let periods: Vec<String> = fs().map(|f| f.period.to_string()).collect();
    let messages: Vec<&str> = fs().map(|f| f.message.as_str()).collect();
    let values: Vec<String> = fs().map(values_json).collect();
    let reopen: Vec<bool> = updates.iter().map(|u| u.reopen).collect();
    let n = sqlx::query(UPDATE)
        .bind(now_ms)
        .bind(&ids)
        .bind(&names)
        .bind(&units)
        .bind(&owners)
        .bind(&severities)
        .bind(&consecutive)
        .bind(&periods)
        .bind(&messages)
        .bind(&values)
        .bind(&reopen)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    anyhow::ensure!(
        n == updates.len() as u64,
        "{} 条预警待更新，实际更新 {n} 条 ({} alerts to update, {n} updated)",
        updates.len(),
        updates.len()
    );
    Ok(())
}

/// Deletes the scope rows of the alerts given new scopes (written again by [`SCOPE_COPY`]).
async fn delete_scopes(tx: &mut PgConnection, ids: &[i64]) -> anyhow::Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "DELETE FROM alert_scope s USING UNNEST($1::bigint[]) AS u (id) WHERE s.alert_id = u.id",
    )
    .bind(ids)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Resolves every alert of `resolves` with its event, in one statement.
async fn resolve(
    tx: &mut PgConnection,
    resolves: &[(i64, crate::period::Period)],
    evaluation_id: i64,
    now_ms: i64,
) -> anyhow::Result<()> {
    if resolves.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = resolves.iter().map(|(id, _)| *id).collect();
    let periods: Vec<String> = resolves.iter().map(|(_, p)| p.to_string()).collect();
    let n = sqlx::query(RESOLVE)
        .bind(now_ms)
        .bind(SYSTEM)
        .bind(CLEARED_ALERT_NOTE)
        .bind(&ids)
        .bind(&periods)
        .bind(CLEARED_EVENT_NOTE)
        .bind(evaluation_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    anyhow::ensure!(
        n == resolves.len() as u64,
        "{} 条预警待销号，实际销号 {n} 条 ({} alerts to resolve, {n} resolved)",
        resolves.len(),
        resolves.len()
    );
    Ok(())
}

/// Appends an alert's scope rows to a binary COPY of `alert_scope`.
fn scope_copy_rows(w: &mut BinaryCopyWriter, id: i64, scope: &[String]) -> anyhow::Result<()> {
    for (ordinal, unit) in scope_rows(scope) {
        w.row(3);
        w.int8(id);
        w.bytes(unit.as_bytes())?;
        w.int4(ordinal);
    }
    Ok(())
}

async fn copy_in(tx: &mut PgConnection, sql: &str, data: Vec<u8>) -> anyhow::Result<()> {
    let mut copy = tx.copy_in_raw(sql).await?;
    copy.send(data).await?;
    copy.finish().await?;
    Ok(())
}
