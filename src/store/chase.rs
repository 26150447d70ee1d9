//! What the digests and 督办 read and write of the cases: the newest case of each alert (for
//! the links to case pages), and the record of which overdue case was chased, to whom, in
//! which message (migration 0019), written with the message in one transaction.

use std::collections::HashMap;

use super::cases::{ANSWER_COLUMNS, decode_answer};
use super::outbox::OUTBOX_INSERT;
use super::{Store, on_pool};

/// The newest case of one alert (by index `alert_case_alert`: the alert page asks it).
pub(super) const NEWEST_CASE_OF: &str =
    "SELECT CAST(MAX(id) AS BIGINT) FROM alert_case WHERE alert_id = $1";

impl Store {
    /// Alert id → the id of its newest case, for every alert that has one.
    pub async fn newest_case_ids(&self) -> anyhow::Result<HashMap<i64, i64>> {
        let sql = "SELECT alert_id, CAST(MAX(id) AS BIGINT) FROM alert_case GROUP BY alert_id";
        let rows = on_pool!(self, p => sqlx::query_as::<_, (i64, i64)>(sql).fetch_all(p).await?);
        Ok(rows.into_iter().collect())
    }

    /// The newest case of one alert, if it has become one (the alert page links to it).
    pub async fn newest_case_of(&self, alert_id: i64) -> anyhow::Result<Option<i64>> {
        let row = on_pool!(self, p => sqlx::query_as::<_, (Option<i64>,)>(NEWEST_CASE_OF).bind(alert_id).fetch_one(p).await?);
        Ok(row.0)
    }
}

/// One case chased in a message.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ChaseRow {
    pub case_id: i64,
    /// `reminder` or `escalation`.
    pub kind: &'static str,
    /// The deadline chased (due_at or escalate_at).
    pub deadline: i64,
    pub recipient: String,
}

/// A 督办 message and the cases it chases.
#[derive(Clone, Debug)]
pub struct ChaseWrite {
    pub message: crate::notify::OutboxWrite,
    pub rows: Vec<ChaseRow>,
}

impl Store {
    /// What has been chased: every row whose message is queued, in flight or delivered (one
    /// refused for good does not count).
    pub async fn chased(&self) -> anyhow::Result<Vec<ChaseRow>> {
        let sql = "SELECT c.case_id, c.kind, c.deadline, c.recipient FROM case_chase c
                   JOIN outbox o ON o.id = c.outbox_id WHERE o.status <> 'failed'";
        let rows = on_pool!(self, p => sqlx::query_as::<_, (i64, String, i64, String)>(sql).fetch_all(p).await?);
        Ok(rows
            .into_iter()
            .map(|(case_id, kind, deadline, recipient)| ChaseRow {
                case_id,
                kind: if kind == "escalation" {
                    "escalation"
                } else {
                    "reminder"
                },
                deadline,
                recipient,
            })
            .collect())
    }

    /// Queues the 督办 messages with the record of what each chases and an event in each case's
    /// history, in one transaction; returns the messages' outbox ids.
    pub async fn write_chases(
        &self,
        chases: &[ChaseWrite],
        now_ms: i64,
    ) -> anyhow::Result<Vec<i64>> {
        let mut ids = Vec::new();
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            for c in chases {
                let d = &c.message;
                let id: i64 = sqlx::query_scalar(
                    OUTBOX_INSERT)
                    .bind(&d.recipient).bind(&d.to_addr).bind(&d.from_addr).bind(&d.subject).bind(&d.message)
                    .bind(&d.message_id).bind(d.items as i64).bind(now_ms)
                    .fetch_one(&mut *tx).await?;
                for r in &c.rows {
                    sqlx::query(
                        "INSERT INTO case_chase (case_id, kind, deadline, recipient, outbox_id, at) VALUES ($1, $2, $3, $4, $5, $6)
                         ON CONFLICT (case_id, kind, deadline, recipient) DO UPDATE SET outbox_id = excluded.outbox_id, at = excluded.at")
                        .bind(r.case_id).bind(r.kind).bind(r.deadline).bind(&r.recipient).bind(id).bind(now_ms)
                        .execute(&mut *tx).await?;
                    let (kind, note) = if r.kind == "escalation" {
                        ("escalated", format!("超过督办期限未反馈，已督办（通知 {}）", r.recipient))
                    } else {
                        ("reminded", format!("超期未反馈，已提醒（通知 {}）", r.recipient))
                    };
                    sqlx::query(
                        "INSERT INTO case_event (case_id, at, kind, state, actor, note)
                         SELECT id, $2, $3, state, $4, $5 FROM alert_case WHERE id = $1")
                        .bind(r.case_id).bind(now_ms).bind(kind).bind(crate::alerts::SYSTEM).bind(&note)
                        .execute(&mut *tx).await?;
                }
                ids.push(id);
            }
            tx.commit().await?;
        });
        Ok(ids)
    }
}

impl Store {
    /// Every answer given before `until_ms`, oldest first (the snapshot's 反馈办理 reads the
    /// newest of each case).
    pub async fn answers_before(&self, until_ms: i64) -> anyhow::Result<Vec<crate::cases::Answer>> {
        let sql =
            format!("SELECT {ANSWER_COLUMNS} FROM case_answer WHERE answered_at < $1 ORDER BY id");
        let sql = sqlx::AssertSqlSafe(sql);
        Ok(
            on_pool!(self, p => sqlx::query(sql).bind(until_ms).fetch_all(p).await?.iter()
                .map(decode_answer).collect::<Result<Vec<_>, sqlx::Error>>()?),
        )
    }
}
