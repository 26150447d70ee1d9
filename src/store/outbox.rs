//! The notification outbox and what each recipient has been told. A dispatch writes its digests,
//! what they cover (`outbox_cover`) and the recipients' cursors in one transaction; a sender then
//! claims one due row at a time (`pending` → `sending`), sends it and marks it. A claim is an
//! `UPDATE … WHERE status …` re-checked on the row itself, so two senders never take the same
//! row on either backend. What a message covers becomes `notified` in the transaction that
//! records its delivery; while it is in flight it counts as told, and if it is refused for good
//! it does not count at all.

use sqlx::Row;

use super::{Store, on_pool};
use crate::notify::outbox::{Claimed, Delayed, Notified, OutboxRow, OutboxWrite, Undelivered};
use crate::rules::Severity;

/// Queues one message (an [`OutboxWrite`]: `$1`–`$7` its fields, `$8` the time); returns its id.
pub(super) const OUTBOX_INSERT: &str = "INSERT INTO outbox (recipient, to_addr, from_addr, subject, message, message_id, items, created_at, status, attempts, next_attempt_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', 0, $8) RETURNING id";

impl Store {
    /// What each recipient counts as told when a dispatch decides: what was delivered
    /// (`notified`), overlaid with what messages still in flight (`pending`, `sending`) cover,
    /// the later queued message winning. A message refused for good (`failed`) counts for
    /// nothing, so its items are told again in the recipient's next digest.
    pub async fn told(&self) -> anyhow::Result<Vec<Notified>> {
        let delivered = "SELECT recipient, alert_id, severity, state, escalated, last_at, outbox_id FROM notified";
        let flying = "SELECT c.recipient, c.alert_id, c.severity, c.state, c.escalated, c.last_at, c.outbox_id
                      FROM outbox_cover c JOIN outbox o ON o.id = c.outbox_id
                      WHERE o.status IN ('pending', 'sending')";
        let mut by: std::collections::BTreeMap<(String, i64), (i64, Notified)> =
            std::collections::BTreeMap::new();
        for sql in [delivered, flying] {
            let rows = on_pool!(self, p => sqlx::query(sql).fetch_all(p).await?.iter()
                .map(|r| Ok((r.try_get::<i64, _>(6)?, notified_row(r)?)))
                .collect::<Result<Vec<_>, sqlx::Error>>()?);
            for (outbox_id, n) in rows {
                let key = (n.recipient.clone(), n.alert_id);
                if by.get(&key).is_none_or(|(old, _)| *old <= outbox_id) {
                    by.insert(key, (outbox_id, n));
                }
            }
        }
        Ok(by.into_values().map(|(_, n)| n).collect())
    }

    /// What every recipient has been told by a delivered message.
    pub async fn notified(&self) -> anyhow::Result<Vec<Notified>> {
        let sql = "SELECT recipient, alert_id, severity, state, escalated, last_at FROM notified ORDER BY recipient, alert_id";
        let rows = on_pool!(self, p => sqlx::query(sql).fetch_all(p).await?.iter().map(notified_row).collect::<Result<Vec<_>, sqlx::Error>>()?);
        Ok(rows)
    }

    /// Each recipient's last seen alert event id.
    pub async fn notification_cursors(&self) -> anyhow::Result<Vec<(String, i64)>> {
        let sql = "SELECT recipient, last_event_id FROM notification_cursor ORDER BY recipient";
        let rows = on_pool!(self, p => sqlx::query(sql).fetch_all(p).await?.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect::<Result<Vec<_>, sqlx::Error>>()?);
        Ok(rows)
    }

    /// The newest alert event id (0 when there is none).
    pub async fn last_event_id(&self) -> anyhow::Result<i64> {
        let sql = "SELECT CAST(COALESCE(MAX(id), 0) AS BIGINT) FROM alert_event";
        Ok(on_pool!(self, p => sqlx::query_scalar::<_, i64>(sql).fetch_one(p).await?))
    }

    /// Whether a message with this Message-ID is in the outbox, whatever its status.
    pub async fn outbox_has(&self, message_id: &str) -> anyhow::Result<bool> {
        let sql = "SELECT COUNT(*) FROM outbox WHERE message_id = $1";
        let n = on_pool!(self, p => sqlx::query_scalar::<_, i64>(sql).bind(message_id).fetch_one(p).await?);
        Ok(n > 0)
    }

    /// Writes digests, what they cover, and every recipient's cursor, in one transaction.
    pub async fn write_digests(
        &self,
        digests: &[OutboxWrite],
        cursors: &[(String, i64)],
        now_ms: i64,
    ) -> anyhow::Result<Vec<i64>> {
        Ok(self.write_dispatch(digests, &[], cursors, now_ms).await?.0)
    }

    /// As [`Store::write_digests`], with the group robots' notices of the same dispatch in the
    /// same transaction; returns the digests' and the notices' ids.
    pub async fn write_dispatch(
        &self,
        digests: &[OutboxWrite],
        notices: &[crate::notify::robot::Notice],
        cursors: &[(String, i64)],
        now_ms: i64,
    ) -> anyhow::Result<(Vec<i64>, Vec<i64>)> {
        let mut ids = Vec::new();
        let notice_ids: Vec<i64>;
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            for d in digests {
                let id: i64 = sqlx::query_scalar(
                    OUTBOX_INSERT)
                    .bind(&d.recipient).bind(&d.to_addr).bind(&d.from_addr).bind(&d.subject).bind(&d.message)
                    .bind(&d.message_id).bind(d.items as i64).bind(now_ms)
                    .fetch_one(&mut *tx).await?;
                for n in &d.covers {
                    sqlx::query(
                        "INSERT INTO outbox_cover (outbox_id, recipient, alert_id, severity, state, escalated, last_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                        .bind(id).bind(&n.recipient).bind(n.alert_id).bind(n.severity.as_str()).bind(&n.state)
                        .bind(i64::from(n.escalated)).bind(n.last_at)
                        .execute(&mut *tx).await?;
                }
                for late in &d.notes_delayed {
                    sqlx::query("UPDATE outbox SET delay_noted_in = $1 WHERE id = $2 AND delay_noted_in IS NULL")
                        .bind(id).bind(*late).execute(&mut *tx).await?;
                }
                ids.push(id);
            }
            for (r, last) in cursors {
                sqlx::query(
                    "INSERT INTO notification_cursor (recipient, last_event_id, updated_at) VALUES ($1, $2, $3)
                     ON CONFLICT (recipient) DO UPDATE SET last_event_id = excluded.last_event_id, updated_at = excluded.updated_at")
                    .bind(r).bind(*last).bind(now_ms).execute(&mut *tx).await?;
            }
            notice_ids = super::robots::insert_notices!(tx, notices, now_ms);
            tx.commit().await?;
        });
        Ok((ids, notice_ids))
    }

    /// Takes the next due row: `pending` and due, or `sending` but claimed before `stale_before`
    /// (its sender died). The row becomes `sending` and its attempt is counted; a row taken over
    /// from a dead sender is flagged `unknown_fate` (the server may have it already).
    pub async fn claim_outbox(
        &self,
        now_ms: i64,
        stale_before: i64,
    ) -> anyhow::Result<Option<Claimed>> {
        let sql = "UPDATE outbox SET status = 'sending', claimed_at = $1, attempts = attempts + 1,
                          unknown_fate = CASE WHEN status = 'sending' THEN 1 ELSE 0 END
                   WHERE id = (SELECT id FROM outbox
                               WHERE (status = 'pending' AND next_attempt_at <= $1) OR (status = 'sending' AND claimed_at < $2)
                               ORDER BY next_attempt_at, id LIMIT 1)
                     AND ((status = 'pending' AND next_attempt_at <= $1) OR (status = 'sending' AND claimed_at < $2))
                   RETURNING id, recipient, to_addr, from_addr, message, message_id, attempts, last_error, unknown_fate";
        let row = on_pool!(self, p => sqlx::query(sql).bind(now_ms).bind(stale_before).fetch_optional(p).await?
            .map(|r| -> Result<Claimed, sqlx::Error> {
                Ok(Claimed {
                    id: r.try_get(0)?,
                    recipient: r.try_get(1)?,
                    to_addr: r.try_get(2)?,
                    from_addr: r.try_get(3)?,
                    message: r.try_get(4)?,
                    message_id: r.try_get(5)?,
                    attempts: r.try_get::<i64, _>(6)? as u32,
                    last_error: r.try_get(7)?,
                    unknown_fate: r.try_get::<i64, _>(8)? != 0,
                })
            }).transpose()?);
        Ok(row)
    }

    /// A claimed row was accepted by the server: recorded, with what it covers made `notified`
    /// (told at `now_ms`, the delivery), in one transaction. This is the write between the
    /// server's 250 and the record, so it is kept to three statements and one commit (the third
    /// starts the deadline of the cases the message is the first to carry). A message
    /// queued before the one that last told the recipient (a requeued one delivered out of
    /// order) does not overwrite what that one told.
    pub async fn mark_sent(&self, id: i64, now_ms: i64) -> anyhow::Result<()> {
        let sent = "UPDATE outbox SET status = 'sent', sent_at = $1, last_error = NULL WHERE id = $2 AND status = 'sending'";
        let told = "INSERT INTO notified (recipient, alert_id, severity, state, escalated, last_at, outbox_id)
                    SELECT recipient, alert_id, severity, state, escalated, CAST($2 AS BIGINT), outbox_id FROM outbox_cover WHERE outbox_id = $1
                    ON CONFLICT (recipient, alert_id) DO UPDATE SET severity = excluded.severity, state = excluded.state,
                      escalated = excluded.escalated, last_at = excluded.last_at, outbox_id = excluded.outbox_id
                    WHERE notified.outbox_id <= excluded.outbox_id";
        // The first digest delivered that carries a case's alert starts its deadline (day 0).
        let cases =
            "UPDATE alert_case SET delivered_at = $1, delivered_outbox = $2, updated_at = $1
                     WHERE delivered_at IS NULL AND state <> 'closed'
                       AND alert_id IN (SELECT alert_id FROM outbox_cover WHERE outbox_id = $2)";
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            let n = sqlx::query(sent).bind(now_ms).bind(id).execute(&mut *tx).await?.rows_affected();
            if n > 0 {
                sqlx::query(told).bind(id).bind(now_ms).execute(&mut *tx).await?;
                sqlx::query(cases).bind(now_ms).bind(id).execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// A claimed row failed for now: try again at `next_at`.
    pub async fn mark_retry(&self, id: i64, next_at: i64, error: &str) -> anyhow::Result<()> {
        let sql = "UPDATE outbox SET status = 'pending', next_attempt_at = $1, last_error = $2 WHERE id = $3 AND status = 'sending'";
        on_pool!(self, p => sqlx::query(sql).bind(next_at).bind(error).bind(id).execute(p).await.map(|_| ())?);
        Ok(())
    }

    /// A claimed row was refused for good (a 5xx reply): it waits for `indmon outbox retry`.
    pub async fn mark_failed(&self, id: i64, error: &str) -> anyhow::Result<()> {
        let sql = "UPDATE outbox SET status = 'failed', last_error = $1 WHERE id = $2 AND status = 'sending'";
        on_pool!(self, p => sqlx::query(sql).bind(error).bind(id).execute(p).await.map(|_| ())?);
        Ok(())
    }

    /// Digests in the outbox by status (`pending`, `sending`, `sent`, `failed`), for metrics.
    pub async fn outbox_status_counts(&self) -> anyhow::Result<Vec<(String, i64)>> {
        let sql = "SELECT status, COUNT(*) FROM outbox GROUP BY status ORDER BY status";
        Ok(on_pool!(self, p => sqlx::query_as::<_, (String, i64)>(sql).fetch_all(p).await?))
    }

    /// Puts refused messages back in the queue, due at `now_ms`: the one `id` (also a pending
    /// one, made due now), or every `failed` one. Returns how many were requeued.
    pub async fn requeue(&self, id: Option<i64>, now_ms: i64) -> anyhow::Result<u64> {
        let sql = "UPDATE outbox SET status = 'pending', next_attempt_at = $1
                   WHERE (($2 AND status = 'failed') OR (id = $3 AND status IN ('failed', 'pending')))";
        let n = on_pool!(self, p => sqlx::query(sql).bind(now_ms).bind(id.is_none()).bind(id.unwrap_or(-1)).execute(p).await?.rows_affected());
        Ok(n)
    }

    /// When the next row becomes due: the earliest pending attempt, or the end of the lease of
    /// a row left in `sending` (`lease_ms` after its claim).
    pub async fn outbox_next_due(&self, lease_ms: i64) -> anyhow::Result<Option<i64>> {
        let sql = "SELECT CAST(MIN(CASE WHEN status = 'pending' THEN next_attempt_at ELSE claimed_at + $1 END) AS BIGINT)
                   FROM outbox WHERE status IN ('pending', 'sending')";
        Ok(
            on_pool!(self, p => sqlx::query_scalar::<_, Option<i64>>(sql).bind(lease_ms).fetch_one(p).await?),
        )
    }

    /// What is not delivered: counts, the oldest, the latest error.
    pub async fn undelivered(&self) -> anyhow::Result<Undelivered> {
        let sql = "SELECT CAST(COALESCE(SUM(CASE WHEN status IN ('pending', 'sending') THEN 1 ELSE 0 END), 0) AS BIGINT),
                          CAST(COALESCE(SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END), 0) AS BIGINT),
                          CAST(MIN(created_at) AS BIGINT)
                   FROM outbox WHERE status <> 'sent'";
        let last = "SELECT last_error FROM outbox WHERE status <> 'sent' AND last_error IS NOT NULL ORDER BY id DESC LIMIT 1";
        let (queued, failed, oldest_created_at) = on_pool!(self, p => sqlx::query_as::<_, (i64, i64, Option<i64>)>(sql).fetch_one(p).await?);
        let last_error = on_pool!(self, p => sqlx::query_scalar::<_, Option<String>>(last).fetch_optional(p).await?).flatten();
        Ok(Undelivered {
            queued,
            failed,
            oldest_created_at,
            last_error,
        })
    }

    /// Messages delivered more than `late_ms` after they were written and not yet told about
    /// in a later digest, oldest first.
    pub async fn delayed_unnoted(&self, late_ms: i64) -> anyhow::Result<Vec<Delayed>> {
        let sql = "SELECT id, recipient, subject, created_at, sent_at FROM outbox
                   WHERE status = 'sent' AND delay_noted_in IS NULL AND sent_at - created_at > $1 ORDER BY id";
        let rows = on_pool!(self, p => sqlx::query(sql).bind(late_ms).fetch_all(p).await?.iter().map(|r| {
            Ok(Delayed {
                id: r.try_get(0)?,
                recipient: r.try_get(1)?,
                subject: r.try_get(2)?,
                created_at: r.try_get(3)?,
                sent_at: r.try_get(4)?,
            })
        }).collect::<Result<Vec<_>, sqlx::Error>>()?);
        Ok(rows)
    }

    /// Outbox rows in these states (all when empty), oldest first.
    pub async fn outbox_rows(&self, statuses: &[&str]) -> anyhow::Result<Vec<OutboxRow>> {
        let all = statuses.is_empty();
        let list = statuses.join(",");
        let sql = "SELECT id, recipient, to_addr, subject, message_id, items, created_at, status, attempts, next_attempt_at, last_error, sent_at, unknown_fate
                   FROM outbox WHERE $1 OR ',' || $2 || ',' LIKE '%,' || status || ',%' ORDER BY id";
        let rows = on_pool!(self, p => sqlx::query(sql).bind(all).bind(&list).fetch_all(p).await?.iter().map(|r| {
            Ok(OutboxRow {
                id: r.try_get(0)?,
                recipient: r.try_get(1)?,
                to_addr: r.try_get(2)?,
                subject: r.try_get(3)?,
                message_id: r.try_get(4)?,
                items: r.try_get(5)?,
                created_at: r.try_get(6)?,
                status: r.try_get(7)?,
                attempts: r.try_get(8)?,
                next_attempt_at: r.try_get(9)?,
                last_error: r.try_get(10)?,
                sent_at: r.try_get(11)?,
                unknown_fate: r.try_get::<i64, _>(12)? != 0,
            })
        }).collect::<Result<Vec<_>, sqlx::Error>>()?);
        Ok(rows)
    }
}

/// A `notified` or `outbox_cover` row: recipient, alert, severity, state, escalated, last_at.
fn notified_row<R: Row>(r: &R) -> Result<Notified, sqlx::Error>
where
    usize: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    let sev: String = r.try_get(2)?;
    Ok(Notified {
        recipient: r.try_get(0)?,
        alert_id: r.try_get(1)?,
        severity: Severity::parse(&sev).unwrap_or(Severity::Blue),
        state: r.try_get(3)?,
        escalated: r.try_get::<i64, _>(4)? != 0,
        last_at: r.try_get(5)?,
    })
}
