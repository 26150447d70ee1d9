//! The robots' sender: one step takes one due notice of a robot that is under its rate, posts
//! it and records the outcome, so that tests and the daemon drain without sleeping. The rate
//! is counted in the table (attempts started in the last window), so it holds across restarts
//! and replicas. Delivery is at most once: a notice whose request may have reached the robot
//! without an answer — a sender that died, a timeout — is marked `unknown`, never resent.

use chrono::{DateTime, Utc};

use super::client::{Failure, Robots};
use crate::store::Store;

/// Retry and rate policy of the robots' sender.
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    /// First retry after this long; doubles each attempt. At least the window, so that a
    /// retried notice's earlier attempt is outside the window it is counted in.
    pub base_ms: i64,
    pub cap_ms: i64,
    /// The rate window: at most a robot's `max_per_minute` attempts start within it.
    pub window_ms: i64,
    /// A notice in `sending` for longer than this was left by a sender that died.
    pub lease_ms: i64,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            base_ms: 60_000,
            cap_ms: 30 * 60_000,
            window_ms: 60_000,
            lease_ms: 10 * 60_000,
        }
    }
}

/// A claimed notice.
#[derive(Clone, Debug)]
pub struct ClaimedNotice {
    pub id: i64,
    pub robot: String,
    pub title: String,
    pub body: String,
    pub attempts: u32,
    pub last_error: Option<String>,
}

/// What one step did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RobotStep {
    /// Nothing is due, or every robot with a due notice is at its rate.
    Empty,
    Sent {
        id: i64,
        robot: String,
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
    /// Marked `unknown`: it may have been delivered, and is not sent again.
    Unknown {
        id: i64,
        error: String,
    },
}

/// base·2^(n−1), capped, plus up to 20% jitter from the id (never less than the base).
pub fn backoff_ms(p: &Policy, id: i64, attempts: u32) -> i64 {
    let exp = attempts.saturating_sub(1).min(20);
    let raw = p.base_ms.saturating_mul(1_i64 << exp).min(p.cap_ms);
    let jitter = (id.wrapping_mul(2_654_435_761) ^ i64::from(attempts)).rem_euclid(201);
    raw + raw * jitter / 1000
}

/// Takes one due notice and posts it. Notices left `sending` past the lease become `unknown`
/// first (their sender died mid-request).
pub async fn step(
    store: &Store,
    robots: &Robots,
    policy: &Policy,
    now: DateTime<Utc>,
) -> anyhow::Result<RobotStep> {
    let now_ms = now.timestamp_millis();
    if let Some((id, robot)) = store.robot_abandoned(now_ms - policy.lease_ms).await? {
        let error = "发送中途中断，可能已送达，不再重发 (a sender died mid-request; the notice may have arrived and is not resent)";
        tracing::warn!(id, robot = %robot, "{error}");
        return Ok(RobotStep::Unknown {
            id,
            error: error.into(),
        });
    }
    for r in robots.sorted() {
        let claimed = store
            .claim_robot_notice(
                &r.id,
                now_ms,
                now_ms - policy.window_ms,
                i64::from(r.max_per_minute),
            )
            .await?;
        let Some(c) = claimed else { continue };
        return match r.send(&c.title, &c.body, now_ms).await {
            Ok(()) => {
                store.robot_mark(c.id, "sent", None, Some(now_ms)).await?;
                tracing::info!(id = c.id, robot = %r.id, attempts = c.attempts, "群机器人提示已发送 (robot notice sent)");
                Ok(RobotStep::Sent {
                    id: c.id,
                    robot: r.id.clone(),
                })
            }
            Err(f) => failed(store, policy, &c, f, now_ms).await,
        };
    }
    Ok(RobotStep::Empty)
}

/// Records a failed attempt: retried, the robot held, or refused for good.
async fn failed(
    store: &Store,
    policy: &Policy,
    c: &ClaimedNotice,
    f: Failure,
    now_ms: i64,
) -> anyhow::Result<RobotStep> {
    let error = f.message().to_string();
    let (id, robot) = (c.id, c.robot.as_str());
    let retry_at = |extra: i64| now_ms + backoff_ms(policy, id, c.attempts).max(extra);
    match f {
        Failure::Transient(_) | Failure::RateLimited { .. } => {
            let hold = match f {
                Failure::RateLimited { hold_ms, .. } => hold_ms,
                _ => 0,
            };
            let at = retry_at(hold);
            store.robot_retry(id, at, &error).await?;
            if hold > 0 {
                store.robot_hold(robot, now_ms + hold).await?;
            }
            if c.last_error.as_deref() == Some(error.as_str()) {
                tracing::debug!(
                    id,
                    robot,
                    attempts = c.attempts,
                    "群机器人仍未发出，错误相同 (not sent again; same error)"
                );
            } else {
                tracing::warn!(id, robot, attempts = c.attempts, error = %error, "群机器人提示暂未发出，将重试 (robot notice not sent; will retry)");
            }
            Ok(RobotStep::Retry { id, at, error })
        }
        Failure::Permanent(_) => {
            store.robot_mark(id, "failed", Some(&error), None).await?;
            tracing::error!(id, robot, error = %error, "群机器人拒收提示，请检查配置 (the robot refused the notice for good; check its configuration)");
            Ok(RobotStep::Failed { id, error })
        }
        Failure::Unknown(_) => {
            store.robot_mark(id, "unknown", Some(&error), None).await?;
            tracing::warn!(id, robot, error = %error, "群机器人提示可能已送达，不再重发 (the notice may have arrived; not resent)");
            Ok(RobotStep::Unknown { id, error })
        }
    }
}

/// Steps until nothing is due; returns every step taken.
pub async fn drain(
    store: &Store,
    robots: &Robots,
    policy: &Policy,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<RobotStep>> {
    let mut out = Vec::new();
    loop {
        match step(store, robots, policy, now).await? {
            RobotStep::Empty => return Ok(out),
            s => out.push(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_never_retries_within_the_window() {
        let p = Policy::default();
        for id in 1..50 {
            let b = backoff_ms(&p, id, 1);
            assert!((60_000..=72_000).contains(&b), "{b}");
        }
        assert!(backoff_ms(&p, 7, 30) <= p.cap_ms * 12 / 10);
    }
}
