//! The job loops: one task per job, so a job never overlaps itself; the scheduler
//! ([`super::fire`]) tells a loop which slot is due, and each run first claims its slot in the
//! ledger, so a slot runs once across restarts and replicas.
//!
//! A loop runs only while this process is leader. Each time it becomes leader (at start, after
//! a takeover, after the database came back) it first catches up the slot missed since the
//! ledger's last one. A pull that brought new rows wakes the evaluate loop.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{Notify, watch};
use tracing::{Instrument, info, info_span, warn};

use super::fire::Fired;
use super::{JobKind, JobSpec, jobs, schedule};
use crate::causes::Causes;
use crate::config::Config;
use crate::store::Store;

/// Wall-clock time, possibly shifted (the hidden `--now` moves the daemon's "now" while the
/// clock keeps ticking, so tests can stand just after a slot).
#[derive(Debug, Clone, Copy, Default)]
pub struct Clock {
    pub offset: chrono::Duration,
}

impl Clock {
    pub fn starting_at(now: Option<DateTime<Utc>>) -> Clock {
        Clock {
            offset: now.map(|n| n - Utc::now()).unwrap_or_default(),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.offset
    }
}

/// What the loops, the leader task and the HTTP handlers share.
pub struct Ctx {
    pub config: Config,
    pub specs: Vec<JobSpec>,
    /// Set once the database has been reached: every write goes through it.
    pub store: OnceLock<Store>,
    /// The store the console's pages read from ([`Store::open_reads`]: read-only connections
    /// on SQLite, the same pool on PostgreSQL); set just before `store`.
    pub reads: OnceLock<Store>,
    pub clock: Clock,
    pub leader: watch::Sender<bool>,
    pub shutdown: watch::Sender<bool>,
    /// Runs in progress: job name → ledger id (to mark them interrupted if aborted).
    pub running: Mutex<BTreeMap<String, i64>>,
    pub evaluate_now: Notify,
    /// Wakes the outbox drain at once (a sign-in link must not wait for the next poll).
    pub outbox_now: Notify,
    pub host: String,
    pub pid: i64,
}

impl Ctx {
    pub fn new(config: Config, specs: Vec<JobSpec>, clock: Clock) -> Ctx {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "unknown".into());
        Ctx {
            config,
            specs,
            store: OnceLock::new(),
            reads: OnceLock::new(),
            clock,
            leader: watch::channel(false).0,
            shutdown: watch::channel(false).0,
            running: Mutex::new(BTreeMap::new()),
            evaluate_now: Notify::new(),
            outbox_now: Notify::new(),
            host,
            pid: i64::from(std::process::id()),
        }
    }

    /// The store to read pages from: the read pool once connected, else the writer (a context
    /// whose reads were never set, as in tests).
    pub fn reads(&self) -> Option<&Store> {
        self.reads.get().or_else(|| self.store.get())
    }

    fn is_leader(&self) -> bool {
        *self.leader.borrow()
    }

    fn stopping(&self) -> bool {
        *self.shutdown.borrow()
    }
}

/// Resolves when this process is no longer leader.
async fn leadership_lost(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|l| !*l).await;
}

/// The loop of one job, until shutdown: it runs the slots the scheduler fires, one at a time.
/// A slot fired while the last run is still going waits for it (only the latest such slot
/// runs, and none with `catch_up = "skip"`), as a slot missed while the daemon was down does.
pub async fn job_loop(ctx: Arc<Ctx>, spec: JobSpec, mut fired: Fired) {
    let name = spec.kind.name();
    let mut leader = ctx.leader.subscribe();
    let mut stop = ctx.shutdown.subscribe();
    let mut caught_up = false;
    let mut last_slot: Option<DateTime<Utc>> = None;
    let mut backoff = Duration::from_secs(2);
    while !ctx.stopping() {
        if !ctx.is_leader() {
            caught_up = false;
            // Firings seen as a standby belong to the leader of that moment.
            fired.borrow_and_update();
            tokio::select! {
                _ = leader.changed() => {}
                _ = stop.changed() => {}
            }
            continue;
        }
        let Some(store) = ctx.store.get() else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        if !caught_up {
            match catch_up(&ctx, store, &spec).await {
                Ok(slot) => {
                    caught_up = true;
                    last_slot = last_slot.max(slot);
                    backoff = Duration::from_secs(2);
                }
                Err(e) => {
                    warn!(job = %name, error = %Causes(&e), "无法读取作业台账，稍后重试 (ledger unreachable, retrying)");
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = stop.changed() => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(60));
                }
            }
            continue;
        }
        let evaluate_wakeup = async {
            if spec.kind == JobKind::Evaluate {
                ctx.evaluate_now.notified().await
            } else {
                std::future::pending::<()>().await
            }
        };
        // Biased: a shutdown or a change of leader seen together with a due slot wins.
        tokio::select! {
            biased;
            _ = stop.changed() => {}
            _ = leader.changed() => {}
            changed = fired.changed() => {
                if changed.is_err() {
                    break;
                }
                let slot = *fired.borrow_and_update();
                let Some(slot) = slot.filter(|s| last_slot.is_none_or(|l| *s > l)) else {
                    continue;
                };
                last_slot = Some(slot);
                if run_slot(&ctx, store, &spec.kind, slot, "schedule").await.is_err() {
                    caught_up = false;
                }
                skip_firings_during_run(&mut fired, &spec, &name);
            }
            _ = evaluate_wakeup => {
                let at = ctx.clock.now();
                if run_slot(&ctx, store, &spec.kind, at, "after_pull").await.is_err() {
                    caught_up = false;
                }
                skip_firings_during_run(&mut fired, &spec, &name);
            }
        }
    }
}

/// After a run: a slot fired meanwhile waits for the loop (`once`), or is dropped (`skip`).
fn skip_firings_during_run(fired: &mut Fired, spec: &JobSpec, name: &str) {
    if fired.has_changed().unwrap_or(false) {
        let slot = *fired.borrow();
        if spec.catch_up == schedule::CatchUp::Skip {
            fired.borrow_and_update();
            info!(job = %name, slot = ?slot, "上次运行期间到期的时段已跳过 (slot due during the last run skipped)");
        } else {
            info!(job = %name, slot = ?slot, "上次运行期间到期的时段随后运行 (slot due during the last run runs now)");
        }
    }
}

/// Runs the slot missed while no leader was running, if the policy asks for it; the slot run.
async fn catch_up(
    ctx: &Arc<Ctx>,
    store: &Store,
    spec: &JobSpec,
) -> anyhow::Result<Option<DateTime<Utc>>> {
    let last = store
        .last_job_slot(&spec.kind.name())
        .await?
        .and_then(DateTime::<Utc>::from_timestamp_millis);
    let max_age = chrono::Duration::hours(ctx.config.daemon.catch_up_max_age_hours as i64);
    let now = ctx.clock.now();
    let missed = schedule::missed_slot(&spec.schedule, last, now, spec.catch_up, max_age);
    if let Some(slot) = missed {
        info!(job = %spec.kind.name(), slot = %slot, "补跑错过的时段 (catching up a missed slot)");
        run_slot(ctx, store, &spec.kind, slot, "catch_up").await?;
    }
    Ok(missed)
}

/// Claims a slot and runs the job in it. `Err` only when the ledger could not be written (the
/// caller retries); a failing job is `Ok` — it is recorded as failed.
pub async fn run_slot(
    ctx: &Arc<Ctx>,
    store: &Store,
    kind: &JobKind,
    slot: DateTime<Utc>,
    trigger: &str,
) -> anyhow::Result<()> {
    let name = kind.name();
    let now = ctx.clock.now();
    let slot_ms = slot.timestamp_millis();
    let Some(id) = store
        .claim_job_slot(
            &name,
            slot_ms,
            trigger,
            now.timestamp_millis(),
            &ctx.host,
            ctx.pid,
        )
        .await?
    else {
        info!(job = %name, slot = %slot, "时段已运行过 (slot already taken)");
        return Ok(());
    };
    lock(&ctx.running).insert(name.clone(), id);
    let span = info_span!("job", job = %name, slot = %slot.to_rfc3339(), trigger, run = id);
    let started = std::time::Instant::now();
    let work = jobs::run(kind, store, &ctx.config, now);
    let result = tokio::select! {
        r = work.instrument(span.clone()) => Some(r),
        _ = leadership_lost(ctx.leader.subscribe()) => None,
    };
    let end = ctx.clock.now().timestamp_millis();
    let secs = started.elapsed().as_secs_f64();
    let record = async {
        match result {
            Some(Ok(outcome)) => {
                let counts = outcome.counts.to_string();
                info!(counts = %counts, secs, "作业完成 (job done)");
                if outcome.new_data && ctx.specs.iter().any(|s| s.kind == JobKind::Evaluate) {
                    ctx.evaluate_now.notify_one();
                }
                store
                    .finish_job_run(id, "ok", end, Some(&counts), None)
                    .await
            }
            Some(Err(e)) => {
                let msg = Causes(&e).to_string();
                warn!(error = %msg, secs, "作业失败 (job failed)");
                store
                    .finish_job_run(id, "failed", end, None, Some(&msg))
                    .await
            }
            None => {
                warn!(
                    "失去领导权，作业已中止并回滚 (lost the leader lock; job aborted and rolled back)"
                );
                let msg = "失去领导权 (lost the leader lock)";
                store
                    .finish_job_run(id, "interrupted", end, None, Some(msg))
                    .await
            }
        }
    };
    let written = record.instrument(span).await;
    lock(&ctx.running).remove(&name);
    written
}

/// Marks the runs of aborted loops as interrupted (after the grace period ran out).
pub async fn mark_aborted(ctx: &Ctx) {
    let ids: Vec<(String, i64)> = std::mem::take(&mut *lock(&ctx.running))
        .into_iter()
        .collect();
    let Some(store) = ctx.store.get() else { return };
    for (job, id) in ids {
        let msg = "关闭宽限期已过，作业已中止并回滚 (grace period over at shutdown; rolled back)";
        warn!(job = %job, run = id, "{msg}");
        if let Err(e) = store
            .finish_job_run(
                id,
                "interrupted",
                ctx.clock.now().timestamp_millis(),
                None,
                Some(msg),
            )
            .await
        {
            warn!(job = %job, error = %Causes(&e), "无法记录中止 (cannot record the interruption)");
        }
    }
}

/// Locks a mutex, recovering it if a panicking holder poisoned it (the map stays usable).
pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
