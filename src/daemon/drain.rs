//! The outbox drain: a task of its own in the daemon that delivers the outbox whether or not
//! a job runs. While this process leads it takes every due message ([`notify::step`]), then
//! sleeps until the next one is due (a retry's backoff, or the lease of a message a dead
//! sender left in `sending`), looking again at least every [`POLL`] for mail another process
//! queued. Transient failures are retried however long they last; nothing is given up.

use std::sync::Arc;
use std::time::Duration;

use tracing::{info, warn};

use super::runner::Ctx;
use crate::causes::Causes;
use crate::notify::{self, Step, Transport};

/// The longest the drain sleeps without looking at the outbox.
pub const POLL: Duration = Duration::from_secs(30);

/// Runs until shutdown; returns at once when no `[mail]` is configured.
pub async fn drain_loop(ctx: Arc<Ctx>) {
    let Some(mail) = ctx.config.mail.as_ref() else {
        return;
    };
    let policy = notify::policy(mail);
    let mut stop = ctx.shutdown.subscribe();
    let mut leader = ctx.leader.subscribe();
    let mut transport: Option<Transport> = None;
    let mut backoff = Duration::from_secs(2);
    while !*ctx.shutdown.borrow() {
        let store = match ctx.store.get() {
            Some(s) if *ctx.leader.borrow() => s,
            _ => {
                tokio::select! {
                    _ = leader.changed() => {}
                    _ = stop.changed() => {}
                    _ = tokio::time::sleep(Duration::from_millis(200)) => {}
                }
                continue;
            }
        };
        let t = match &transport {
            Some(t) => t,
            None => match Transport::from_config(mail) {
                Ok(t) => transport.insert(t),
                Err(e) => {
                    warn!(error = %Causes(&e), "无法建立邮件发送通道，稍后重试 (cannot set up the mail transport, retrying)");
                    pause(&mut stop, POLL).await;
                    continue;
                }
            },
        };
        let wait = match notify::step(store, t, &policy, ctx.clock.now()).await {
            Ok(Step::Empty) => {
                backoff = Duration::from_secs(2);
                until_next_due(&ctx, store, policy.lease_ms).await
            }
            Ok(Step::Sent { .. }) => {
                settle_due(&ctx, store).await;
                Duration::ZERO
            }
            Ok(_) => Duration::ZERO,
            Err(e) => {
                warn!(error = %Causes(&e), retry_secs = backoff.as_secs(), "发件箱读写失败，稍后重试 (outbox unreachable, retrying)");
                let w = backoff;
                backoff = (backoff * 2).min(Duration::from_secs(60));
                w
            }
        };
        if !wait.is_zero() {
            tokio::select! {
                _ = pause(&mut stop, wait) => {}
                _ = leader.changed() => {}
                _ = ctx.outbox_now.notified() => {}
            }
        }
    }
    if let Some(t) = transport {
        t.shutdown().await;
    }
    info!("发件箱投递已停止 (outbox drain stopped)");
}

/// Sets the due dates of the cases a delivered digest started (they are set by the next
/// evaluation or read anyway; this writes them at once for those who read the tables).
async fn settle_due(ctx: &Ctx, store: &crate::store::Store) {
    let calendar = match ctx.config.calendar.load() {
        Ok(c) => c,
        Err(_) => return, // check-config and /readyz report the file
    };
    if let Err(e) = crate::cases::settle_due(store, &calendar, ctx.clock.now()).await {
        warn!(error = %Causes(&e), "无法写入反馈期限，稍后重试 (cannot set the cases' due dates yet)");
    }
}

/// How long until the next message is due, at most [`POLL`].
async fn until_next_due(ctx: &Ctx, store: &crate::store::Store, lease_ms: i64) -> Duration {
    match store.outbox_next_due(lease_ms).await {
        Ok(Some(at)) => {
            let ms = (at - ctx.clock.now().timestamp_millis()).max(0);
            Duration::from_millis(ms as u64 + 50).min(POLL)
        }
        _ => POLL,
    }
}

/// Sleeps for `d` or until shutdown.
async fn pause(stop: &mut tokio::sync::watch::Receiver<bool>, d: Duration) {
    tokio::select! {
        _ = tokio::time::sleep(d) => {}
        _ = stop.wait_for(|s| *s) => {}
    }
}
