//! The robots' outbox (`robot_outbox`, migration 0016): notices queued by a dispatch in its own
//! transaction, claimed one at a time under each robot's rate, and marked. Same SQL on both
//! backends; a claim is an `UPDATE … WHERE status = 'pending'` re-checked on the row.

use serde::Serialize;
use sqlx::Row;

use super::{Store, on_pool};
use crate::notify::robot::{ClaimedNotice, Notice};

/// Inserts notices inside an open transaction `$tx` (the dispatch's); evaluates to their ids.
macro_rules! insert_notices {
    ($tx:expr, $notices:expr, $now_ms:expr) => {{
        let mut ids = Vec::new();
        for n in $notices {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO robot_outbox (robot, title, body, period, created_at, status, attempts, next_attempt_at)
                 VALUES ($1, $2, $3, $4, $5, 'pending', 0, $5) RETURNING id",
            )
            .bind(&n.robot)
            .bind(&n.title)
            .bind(&n.body)
            .bind(&n.period)
            .bind($now_ms)
            .fetch_one(&mut *$tx)
            .await?;
            ids.push(id);
        }
        ids
    }};
}
pub(crate) use insert_notices;

/// A robot notice for listing and tests.
#[derive(Clone, Debug, Serialize)]
pub struct RobotRow {
    pub id: i64,
    pub robot: String,
    pub body: String,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub sent_at: Option<i64>,
}

/// What the robots have not delivered, for the health detail.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RobotUndelivered {
    /// Waiting for an attempt (a retry, or a robot at its rate) or being sent.
    pub queued: i64,
    /// Refused by the robot (errcode, 4xx): its configuration needs a look.
    pub failed: i64,
    /// May or may not have arrived (no answer); not resent.
    pub unknown: i64,
    /// The latest error, without the webhook or its secret.
    pub last_error: Option<String>,
}

impl Store {
    /// Queues notices in a transaction of their own (a dispatch uses [`Store::write_dispatch`]).
    pub async fn enqueue_robot_notices(
        &self,
        notices: &[Notice],
        now_ms: i64,
    ) -> anyhow::Result<Vec<i64>> {
        let ids = on_pool!(self, p => {
            let mut tx = p.begin().await?;
            let ids = insert_notices!(tx, notices, now_ms);
            tx.commit().await?;
            ids
        });
        Ok(ids)
    }

    /// Takes the robot's next due notice unless `limit` attempts to it started after
    /// `window_start`. The row becomes `sending` and its attempt is counted.
    pub async fn claim_robot_notice(
        &self,
        robot: &str,
        now_ms: i64,
        window_start: i64,
        limit: i64,
    ) -> anyhow::Result<Option<ClaimedNotice>> {
        let sql = "UPDATE robot_outbox SET status = 'sending', claimed_at = $1, attempts = attempts + 1
                   WHERE id = (SELECT id FROM robot_outbox
                               WHERE robot = $2 AND status = 'pending' AND next_attempt_at <= $1
                               ORDER BY next_attempt_at, id LIMIT 1)
                     AND status = 'pending'
                     AND (SELECT COUNT(*) FROM robot_outbox WHERE robot = $2 AND claimed_at > $3) < $4
                   RETURNING id, robot, title, body, attempts, last_error";
        let row = on_pool!(self, p => sqlx::query(sql).bind(now_ms).bind(robot).bind(window_start).bind(limit)
            .fetch_optional(p).await?
            .map(|r| -> Result<ClaimedNotice, sqlx::Error> {
                Ok(ClaimedNotice {
                    id: r.try_get(0)?,
                    robot: r.try_get(1)?,
                    title: r.try_get(2)?,
                    body: r.try_get(3)?,
                    attempts: r.try_get::<i64, _>(4)? as u32,
                    last_error: r.try_get(5)?,
                })
            }).transpose()?);
        Ok(row)
    }

    /// One notice left `sending` since before `stale_before` (its sender died), marked
    /// `unknown`: it may have been delivered and is not sent again.
    pub async fn robot_abandoned(
        &self,
        stale_before: i64,
    ) -> anyhow::Result<Option<(i64, String)>> {
        let sql = "UPDATE robot_outbox SET status = 'unknown',
                          last_error = '发送中途中断，可能已送达 (sender died mid-request)'
                   WHERE id = (SELECT id FROM robot_outbox WHERE status = 'sending' AND claimed_at < $1 ORDER BY id LIMIT 1)
                     AND status = 'sending'
                   RETURNING id, robot";
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, (i64, String)>(sql).bind(stale_before).fetch_optional(p).await?),
        )
    }

    /// Ends an attempt: `sent` (with `sent_at`), `failed` or `unknown` (with the error).
    pub async fn robot_mark(
        &self,
        id: i64,
        status: &str,
        error: Option<&str>,
        sent_at: Option<i64>,
    ) -> anyhow::Result<()> {
        let sql = "UPDATE robot_outbox SET status = $1, last_error = $2, sent_at = $3 WHERE id = $4 AND status = 'sending'";
        on_pool!(self, p => sqlx::query(sql).bind(status).bind(error).bind(sent_at).bind(id).execute(p).await.map(|_| ())?);
        Ok(())
    }

    /// An attempt failed for now: due again at `next_at`.
    pub async fn robot_retry(&self, id: i64, next_at: i64, error: &str) -> anyhow::Result<()> {
        let sql = "UPDATE robot_outbox SET status = 'pending', next_attempt_at = $1, last_error = $2 WHERE id = $3 AND status = 'sending'";
        on_pool!(self, p => sqlx::query(sql).bind(next_at).bind(error).bind(id).execute(p).await.map(|_| ())?);
        Ok(())
    }

    /// The robot throttles: none of its pending notices is due before `until`.
    pub async fn robot_hold(&self, robot: &str, until: i64) -> anyhow::Result<()> {
        let sql = "UPDATE robot_outbox SET next_attempt_at = $1 WHERE robot = $2 AND status = 'pending' AND next_attempt_at < $1";
        on_pool!(self, p => sqlx::query(sql).bind(until).bind(robot).execute(p).await.map(|_| ())?);
        Ok(())
    }

    /// When the next pending notice is due, if any (a robot at its rate may wait longer).
    pub async fn robot_next_due(&self) -> anyhow::Result<Option<i64>> {
        let sql = "SELECT CAST(MIN(next_attempt_at) AS BIGINT) FROM robot_outbox WHERE status = 'pending'";
        Ok(on_pool!(self, p => sqlx::query_scalar::<_, Option<i64>>(sql).fetch_one(p).await?))
    }

    /// Every notice, oldest first.
    pub async fn robot_rows(&self) -> anyhow::Result<Vec<RobotRow>> {
        let sql = "SELECT id, robot, body, status, attempts, next_attempt_at, last_error, sent_at FROM robot_outbox ORDER BY id";
        let rows = on_pool!(self, p => sqlx::query(sql).fetch_all(p).await?.iter().map(|r| {
            Ok(RobotRow {
                id: r.try_get(0)?,
                robot: r.try_get(1)?,
                body: r.try_get(2)?,
                status: r.try_get(3)?,
                attempts: r.try_get(4)?,
                next_attempt_at: r.try_get(5)?,
                last_error: r.try_get(6)?,
                sent_at: r.try_get(7)?,
            })
        }).collect::<Result<Vec<_>, sqlx::Error>>()?);
        Ok(rows)
    }

    /// What the robots have not delivered: counts by state and the latest error.
    pub async fn robot_undelivered(&self) -> anyhow::Result<RobotUndelivered> {
        let sql = "SELECT CAST(COALESCE(SUM(CASE WHEN status IN ('pending', 'sending') THEN 1 ELSE 0 END), 0) AS BIGINT),
                          CAST(COALESCE(SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END), 0) AS BIGINT),
                          CAST(COALESCE(SUM(CASE WHEN status = 'unknown' THEN 1 ELSE 0 END), 0) AS BIGINT)
                   FROM robot_outbox WHERE status <> 'sent'";
        let last = "SELECT last_error FROM robot_outbox WHERE status <> 'sent' AND last_error IS NOT NULL ORDER BY id DESC LIMIT 1";
        let (queued, failed, unknown) =
            on_pool!(self, p => sqlx::query_as::<_, (i64, i64, i64)>(sql).fetch_one(p).await?);
        let last_error = on_pool!(self, p => sqlx::query_scalar::<_, Option<String>>(last).fetch_optional(p).await?).flatten();
        Ok(RobotUndelivered {
            queued,
            failed,
            unknown,
            last_error,
        })
    }
}
