//! The robots' drain: like the mail drain, a task of its own that posts queued group-robot
//! notices while this process leads ([`robot::step`]), then sleeps until the next is due (a
//! retry, a throttled robot) or at most [`POLL`]. A robot at its rate is looked at again every
//! second until its window frees a place.

use std::sync::Arc;
use std::time::Duration;

use tracing::{info, warn};

use super::drain::POLL;
use super::runner::Ctx;
use crate::causes::Causes;
use crate::notify::robot::{self, Policy, RobotStep, Robots};

/// Runs until shutdown; returns at once when no robot is configured.
pub async fn robot_loop(ctx: Arc<Ctx>) {
    if ctx.config.robots.is_empty() {
        return;
    }
    let policy = Policy::default();
    let mut stop = ctx.shutdown.subscribe();
    let mut leader = ctx.leader.subscribe();
    let mut robots: Option<Robots> = None;
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
        let r = match &robots {
            Some(r) => r,
            None => match Robots::from_config(&ctx.config.robots) {
                Ok(r) => robots.insert(r),
                Err(e) => {
                    warn!(error = %Causes(&e), "无法建立群机器人发送通道，稍后重试 (cannot set up the robots, retrying)");
                    pause(&mut stop, POLL).await;
                    continue;
                }
            },
        };
        let wait = match robot::step(store, r, &policy, ctx.clock.now()).await {
            Ok(RobotStep::Empty) => match store.robot_next_due().await {
                Ok(Some(at)) => {
                    let ms = (at - ctx.clock.now().timestamp_millis()).max(1_000);
                    Duration::from_millis(ms as u64).min(POLL)
                }
                _ => POLL,
            },
            Ok(_) => Duration::ZERO,
            Err(e) => {
                warn!(error = %Causes(&e), "群机器人发件箱读写失败，稍后重试 (robot outbox unreachable, retrying)");
                POLL
            }
        };
        if !wait.is_zero() {
            tokio::select! {
                _ = pause(&mut stop, wait) => {}
                _ = leader.changed() => {}
            }
        }
    }
    info!("群机器人投递已停止 (robot drain stopped)");
}

/// Sleeps for `d` or until shutdown.
async fn pause(stop: &mut tokio::sync::watch::Receiver<bool>, d: Duration) {
    tokio::select! {
        _ = tokio::time::sleep(d) => {}
        _ = stop.wait_for(|s| *s) => {}
    }
}
