//! The sender: one step takes one due message, sends it and marks it, so that tests and the
//! daemon drain the outbox without sleeping. Transient failures are retried for as long as they
//! last, with exponential backoff (capped) and jitter; a permanent refusal (5xx) ends in
//! `failed`, visible until `indmon outbox retry` requeues it. Attempts, the next attempt and the
//! last error are kept on the row.
//!
//! Between the server's 250 and the record there is nothing but the record: no log line, no
//! connection handed back (lettre's pool recycles in a task of its own), one short transaction.
//! A sender killed inside that window leaves the row in `sending`; after the lease it is sent
//! again with the same bytes and Message-ID (so mail systems can drop the copy), and the log
//! says so. At most the one message in flight is sent twice per crash.

use std::sync::atomic::{AtomicU32, Ordering};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::transport::{SendError, Transport};
use crate::rules::Severity;
use crate::store::Store;

/// What a recipient was last told about an alert.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notified {
    pub recipient: String,
    pub alert_id: i64,
    pub severity: Severity,
    /// `firing`, `acknowledged` or `resolved` as told.
    pub state: String,
    pub escalated: bool,
    pub last_at: i64,
}

/// A digest to put in the outbox, with the `notified` rows it covers.
#[derive(Clone, Debug)]
pub struct OutboxWrite {
    pub recipient: String,
    pub to_addr: String,
    pub from_addr: String,
    pub subject: String,
    pub message: Vec<u8>,
    pub message_id: String,
    /// How many items the message lists (alerts of a digest, enterprises of a reminder).
    pub items: usize,
    /// The alerts it tells about, recorded as told once it is delivered (none for a reminder).
    pub covers: Vec<Notified>,
    /// Outbox ids of messages delivered late that this one tells about (延迟送达).
    pub notes_delayed: Vec<i64>,
}

/// A row taken by a sender.
#[derive(Clone, Debug)]
pub struct Claimed {
    pub id: i64,
    pub recipient: String,
    pub to_addr: String,
    pub from_addr: String,
    pub message: Vec<u8>,
    pub message_id: String,
    /// Attempts including this one.
    pub attempts: u32,
    /// The error of the previous attempt, if any.
    pub last_error: Option<String>,
    /// The row was taken over from a sender that died while sending it: the server may have
    /// it already, and it is sent again with the same Message-ID.
    pub unknown_fate: bool,
}

/// An outbox row for listing.
#[derive(Clone, Debug, Serialize)]
pub struct OutboxRow {
    pub id: i64,
    pub recipient: String,
    pub to_addr: String,
    pub subject: String,
    pub message_id: String,
    pub items: i64,
    pub created_at: i64,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub sent_at: Option<i64>,
    /// The last claim took over a row left in `sending` by a sender that died.
    pub unknown_fate: bool,
}

/// A message delivered late, to be told in the recipient's next digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delayed {
    pub id: i64,
    pub recipient: String,
    pub subject: String,
    pub created_at: i64,
    pub sent_at: i64,
}

/// What is not delivered yet, for the health detail, the metrics and `outbox list`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Undelivered {
    /// `pending` (waiting for its next attempt) and `sending`.
    pub queued: i64,
    /// Refused for good (a 5xx reply): waits for `indmon outbox retry`.
    pub failed: i64,
    /// When the oldest undelivered message was written (ms), if any.
    pub oldest_created_at: Option<i64>,
    /// The most recent error of an undelivered message.
    pub last_error: Option<String>,
}

/// The retry policy.
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    /// After this many failed attempts the log says so at ERROR level, once; retries go on.
    pub alarm_after: u32,
    /// First retry after this long; doubles each attempt.
    pub base_ms: i64,
    pub cap_ms: i64,
    /// A row in `sending` for longer than this was left by a sender that died.
    pub lease_ms: i64,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            alarm_after: 10,
            base_ms: 60_000,
            cap_ms: 30 * 60_000,
            lease_ms: 10 * 60_000,
        }
    }
}

/// What one step did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Nothing is due.
    Empty,
    Sent {
        id: i64,
    },
    Retry {
        id: i64,
        at: i64,
        error: String,
    },
    Failed {
        id: i64,
        error: String,
    },
}

/// When to try again after `attempts` failed attempts: base·2^(n−1), capped, then ±20% jitter
/// derived from the row id and the attempt so that digests failing together spread out.
pub fn backoff_ms(p: &Policy, id: i64, attempts: u32) -> i64 {
    let exp = attempts.saturating_sub(1).min(20);
    let raw = p.base_ms.saturating_mul(1_i64 << exp).min(p.cap_ms);
    let mut x = (id as u64) ^ (u64::from(attempts) << 32) ^ 0x9E37_79B9_7F4A_7C15;
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    let frac = (x % 401) as i64 - 200; // −200‰ … +200‰
    raw + raw * frac / 1000
}

/// Test hook, not a setting: with `INDMON_TEST_CRASH_AFTER_ACCEPT=N` the process aborts right
/// after the server accepted its N-th message and before that is recorded — the worst moment
/// for a crash, which tests/outbox.rs reproduces deterministically. Read only at that point.
fn crash_point() {
    static ACCEPTED: AtomicU32 = AtomicU32::new(0);
    if let Some(v) = std::env::var_os("INDMON_TEST_CRASH_AFTER_ACCEPT") {
        let n = ACCEPTED.fetch_add(1, Ordering::SeqCst) + 1;
        if v.to_str().and_then(|v| v.parse::<u32>().ok()) == Some(n) {
            std::process::abort();
        }
    }
}

/// Takes one due message, sends it and records the outcome.
pub async fn step(
    store: &Store,
    transport: &Transport,
    policy: &Policy,
    now: DateTime<Utc>,
) -> anyhow::Result<Step> {
    let now_ms = now.timestamp_millis();
    let Some(c) = store.claim_outbox(now_ms, now_ms - policy.lease_ms).await? else {
        return Ok(Step::Empty);
    };
    if c.unknown_fate {
        tracing::warn!(id = c.id, recipient = %c.recipient, message_id = %c.message_id,
            "上次发送中途中断，服务器可能已收到；以相同 Message-ID 重发 (a sender died while sending this message; its fate is unknown, resending with the same Message-ID)");
    }
    let error = match transport.send(&c.from_addr, &c.to_addr, &c.message).await {
        Ok(()) => {
            crash_point();
            store.mark_sent(c.id, now_ms).await?;
            tracing::info!(id = c.id, recipient = %c.recipient, message_id = %c.message_id, attempts = c.attempts, "邮件已发送 (message sent)");
            return Ok(Step::Sent { id: c.id });
        }
        Err(e) => e,
    };
    match error {
        SendError::Transient(e) => {
            let at = now_ms + backoff_ms(policy, c.id, c.attempts);
            store.mark_retry(c.id, at, &e).await?;
            // Log when the error changes, and once when the outage has lasted long; not at
            // every attempt of a long outage.
            if c.attempts == policy.alarm_after {
                tracing::error!(id = c.id, recipient = %c.recipient, attempts = c.attempts, error = %e,
                    "邮件多次发送失败，仍将继续重试 (message still undelivered after many attempts; retrying)");
            } else if c.last_error.as_deref() == Some(e.as_str()) {
                tracing::debug!(
                    id = c.id,
                    attempts = c.attempts,
                    "邮件仍未发出，错误相同 (not sent again; same error)"
                );
            } else {
                tracing::warn!(id = c.id, recipient = %c.recipient, attempts = c.attempts, error = %e,
                    "邮件暂未发出，将重试 (message not sent; will retry)");
            }
            Ok(Step::Retry {
                id: c.id,
                at,
                error: e,
            })
        }
        SendError::Permanent(error) => {
            store.mark_failed(c.id, &error).await?;
            tracing::error!(id = c.id, recipient = %c.recipient, error = %error,
                "邮件被服务器拒收，需人工处理后 indmon outbox retry (message refused for good; fix it, then indmon outbox retry)");
            Ok(Step::Failed { id: c.id, error })
        }
    }
}

/// Steps until nothing is due; returns every step taken.
pub async fn drain(
    store: &Store,
    transport: &Transport,
    policy: &Policy,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<Step>> {
    let mut out = Vec::new();
    loop {
        match step(store, transport, policy, now).await? {
            Step::Empty => return Ok(out),
            s => out.push(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let p = Policy::default();
        let a1 = backoff_ms(&p, 1, 1);
        assert!((48_000..=72_000).contains(&a1), "{a1}");
        let a3 = backoff_ms(&p, 1, 3);
        assert!((192_000..=288_000).contains(&a3), "{a3}");
        let big = backoff_ms(&p, 1, 30);
        assert!(big <= p.cap_ms * 12 / 10, "{big}");
        let spread: std::collections::HashSet<i64> =
            (1..20).map(|id| backoff_ms(&p, id, 2)).collect();
        assert!(spread.len() > 10, "jitter spreads rows: {spread:?}");
    }
}
