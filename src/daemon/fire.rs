//! Firing the schedules: tokio-cron-scheduler wakes each job at its cron instants, read in the
//! configured time zone (Asia/Shanghai); what then runs is decided by the job's loop and the
//! ledger ([`super::runner`]). The scheduler fires, the ledger decides.
//!
//! A firing carries no time of its own: it names the slot it stands for, computed with the
//! daemon's schedule arithmetic ([`super::Schedule::latest_at_or_before`]), so a run fired on
//! time, a run caught up after a restart and a second replica's attempt all name the same
//! instant, and the ledger's `UNIQUE (job, slot)` runs it once.
//!
//! The scheduler's gaps are closed by the loops, not by it: it would start a job again while
//! the last run is still going (here a firing only records the latest due slot, which the
//! job's single loop takes once it is free); its `shutdown` does not wait for running jobs (the
//! loops drain within `daemon.grace_secs`); it never catches up slots missed while the daemon
//! was down (the loops read the ledger for that each time they become leader).
//!
//! The scheduler runs on the real clock; with the hidden `--now` (tests), a firing names the
//! slot of the shifted clock. It reads the zone's UTC offset once, at start: with a zone that
//! has daylight saving time the daemon must be restarted after a change (Asia/Shanghai has none).

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use tokio::sync::watch;
use tokio_cron_scheduler::{Job, JobScheduler};

use super::runner::Clock;
use super::{JobSpec, Schedule};

/// The latest slot fired for one job (`None` until its first firing).
pub type Fired = watch::Receiver<Option<DateTime<Utc>>>;

/// A started scheduler with one job per spec; the receivers are in the order of `specs`.
pub async fn start(
    specs: &[JobSpec],
    tz: Tz,
    clock: Clock,
) -> anyhow::Result<(JobScheduler, Vec<Fired>)> {
    let scheduler = JobScheduler::new()
        .await
        .context("无法启动调度器 (cannot start the scheduler)")?;
    let mut fired = Vec::with_capacity(specs.len());
    for spec in specs {
        let (tx, rx) = watch::channel(None);
        let schedule = spec.schedule.clone();
        let job = Job::new_async_tz(spec.schedule.as_str(), tz, move |_, _| {
            if let Some(slot) = schedule.latest_at_or_before(clock.now()) {
                tx.send_replace(Some(slot));
            }
            Box::pin(async {})
        })
        .map_err(|e| scheduler_error(&spec.kind.name(), spec.schedule.as_str(), e))?;
        scheduler
            .add(job)
            .await
            .with_context(|| format!("无法登记作业 (cannot add the job) {}", spec.kind.name()))?;
        fired.push(rx);
    }
    scheduler
        .start()
        .await
        .context("无法启动调度器 (cannot start the scheduler)")?;
    Ok((scheduler, fired))
}

/// Whether the scheduler accepts an expression as the daemon reads it (for `check-config`).
pub fn accepts(schedule: &Schedule, tz: Tz) -> Result<(), String> {
    Job::new_async_tz(schedule.as_str(), tz, |_, _| Box::pin(async {}))
        .map(|_| ())
        .map_err(|e| {
            format!(
                "“{}”调度器无法解析 (the scheduler cannot read it): {e}",
                schedule.as_str()
            )
        })
}

fn scheduler_error(
    job: &str,
    text: &str,
    e: tokio_cron_scheduler::JobSchedulerError,
) -> anyhow::Error {
    anyhow::anyhow!("作业 {job} 的时间表“{text}”调度器无法解析 (the scheduler cannot read it): {e}")
}

/// Stops firing (the loops finish their runs on their own, within the grace period).
pub async fn stop(scheduler: &mut JobScheduler) {
    if let Err(e) = scheduler.shutdown().await {
        tracing::warn!(error = %e, "调度器未能正常停止 (scheduler did not stop cleanly)");
    }
}
