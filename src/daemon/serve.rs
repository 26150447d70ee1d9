//! `indmon serve` from start to exit: bind HTTP (the operator's endpoints and, with
//! `[console]`, the officials' console on its own listener), reach the database (retrying), become leader,
//! run the job loops, and on SIGTERM/SIGINT stop taking jobs and let the running ones finish
//! within the grace period — after which they are aborted, which rolls back their open
//! transactions, and recorded as interrupted. Exit is `Ok` (status 0) in both cases.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use secrecy::SecretString;
use tokio::task::JoinSet;
use tracing::{error, info, warn};

use super::leader::{FileLock, PgLeader, sqlite_lock_path};
use super::runner::{Clock, Ctx, job_loop, mark_aborted};
use crate::causes::Causes;
use crate::config::Config;
use crate::store::{Store, redact_url};

/// How often the leader checks its lock connection and a standby retries the lock.
const LEADER_INTERVAL: Duration = Duration::from_secs(2);

/// Runs the daemon until a termination signal.
pub async fn serve(
    config: Config,
    url: String,
    password: Option<SecretString>,
    now: Option<chrono::DateTime<chrono::Utc>>,
) -> anyhow::Result<()> {
    let specs = super::job_specs(&config).map_err(|p| {
        anyhow::anyhow!(
            "配置有误 (invalid configuration): {}",
            p.iter()
                .map(|(k, m)| format!("{k}: {m}"))
                .collect::<Vec<_>>()
                .join("; ")
        )
    })?;
    let is_pg = url.starts_with("postgres://") || url.starts_with("postgresql://");
    // SQLite: refuse a second process before touching anything.
    let _file_lock = match sqlite_lock_path(&url) {
        Some(path) if !is_pg => Some(FileLock::acquire(path)?),
        _ => None,
    };
    let listen = config.daemon.listen.clone();
    let grace = Duration::from_secs(config.daemon.grace_secs);
    let ctx = Arc::new(Ctx::new(config, specs, Clock::starting_at(now)));

    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("无法监听 (cannot listen on) {listen}"))?;
    info!(addr = %listener.local_addr()?, jobs = ctx.specs.len(), "indmon serve 已启动 (started)");
    let http = tokio::spawn(super::listen::serve(
        listener,
        super::http::router(ctx.clone()),
        ctx.config.daemon.limits(),
        ctx.shutdown.subscribe(),
    ));
    let console = start_console(&ctx).await?;
    let signals = tokio::spawn(wait_for_signal(ctx.clone()));

    let mut tasks = JoinSet::new();
    tasks.spawn(connect(ctx.clone(), url.clone(), password.clone()));
    // The PostgreSQL lock is kept outside the drained set: it is held until the running job
    // has finished or been aborted, and only then given up.
    let pg_leader = if is_pg {
        let leader = PgLeader::new(&url, password.as_ref())?;
        Some(tokio::spawn(lead_pg(ctx.clone(), leader)))
    } else {
        tasks.spawn(lead_alone(ctx.clone()));
        None
    };
    let (mut scheduler, fired) =
        super::fire::start(&ctx.specs, super::timezone(&ctx.config), ctx.clock).await?;
    for (spec, fired) in ctx.specs.clone().into_iter().zip(fired) {
        tasks.spawn(job_loop(ctx.clone(), spec, fired));
    }
    tasks.spawn(super::drain::drain_loop(ctx.clone()));
    tasks.spawn(super::robots::robot_loop(ctx.clone()));

    let mut stop = ctx.shutdown.subscribe();
    let _ = stop.wait_for(|s| *s).await;
    super::fire::stop(&mut scheduler).await;
    info!(
        grace_secs = grace.as_secs(),
        "正在停止：不再开始新作业 (stopping: no new jobs)"
    );
    let drained =
        tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
        mark_aborted(&ctx).await;
    }
    if let Some(handle) = pg_leader
        && let Ok(mut lock) = handle.await
    {
        lock.release().await;
    }
    let _ = http.await;
    if let Some(c) = console {
        let _ = c.await;
    }
    signals.abort();
    if let Some(store) = ctx.store.get() {
        store.close().await;
    }
    info!("indmon serve 已退出 (stopped)");
    Ok(())
}

/// Binds the officials' console when `[console]` is configured and serves it, under the same
/// limits and shutdown as the operator listener, until shutdown.
async fn start_console(ctx: &Arc<Ctx>) -> anyhow::Result<Option<tokio::task::JoinHandle<()>>> {
    let Some(cfg) = &ctx.config.console else {
        return Ok(None);
    };
    let console = Arc::new(crate::console::Console::new(ctx.clone())?);
    let listener = tokio::net::TcpListener::bind(&cfg.listen)
        .await
        .with_context(|| format!("控制台无法监听 (console cannot listen on) {}", cfg.listen))?;
    info!(addr = %listener.local_addr()?, public_url = %cfg.base_url(), "官员控制台已启动 (console started)");
    tokio::spawn(crate::console::purge_loop(ctx.clone()));
    Ok(Some(tokio::spawn(super::listen::serve(
        listener,
        crate::console::router(console),
        ctx.config.daemon.limits(),
        ctx.shutdown.subscribe(),
    ))))
}

/// Sets the shutdown flag on SIGTERM or SIGINT.
async fn wait_for_signal(ctx: Arc<Ctx>) {
    use tokio::signal::unix::{SignalKind, signal};
    let (mut term, mut int) = match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(t), Ok(i)) => (t, i),
        _ => {
            error!("无法安装信号处理 (cannot install signal handlers)");
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => info!("收到 SIGTERM (SIGTERM received)"),
        _ = int.recv() => info!("收到 SIGINT (SIGINT received)"),
    }
    ctx.shutdown.send_replace(true);
}

/// Reaches the database, retrying with backoff until it answers; then migrates.
async fn connect(ctx: Arc<Ctx>, url: String, password: Option<SecretString>) {
    let mut backoff = Duration::from_secs(1);
    let mut stop = ctx.shutdown.subscribe();
    loop {
        let attempt = async {
            let store = Store::connect_with_password(&url, password.as_ref()).await?;
            store.migrate().await?;
            let reads = store.open_reads().await?;
            anyhow::Ok((store, reads))
        };
        match attempt.await {
            Ok((store, reads)) => {
                info!(database = %redact_url(&url), "数据库已连接 (database connected)");
                let _ = ctx.reads.set(reads);
                let _ = ctx.store.set(store);
                return;
            }
            Err(e) => {
                warn!(error = %Causes(&e), retry_secs = backoff.as_secs(), "数据库不可用，稍后重试 (database unreachable, retrying)");
            }
        }
        let jitter = Duration::from_millis(fastrand::u64(0..500));
        tokio::select! {
            _ = tokio::time::sleep(backoff + jitter) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        backoff = (backoff * 2).min(Duration::from_secs(60));
    }
}

/// SQLite: the file lock already makes this process the only one; lead once connected.
async fn lead_alone(ctx: Arc<Ctx>) {
    let mut stop = ctx.shutdown.subscribe();
    loop {
        if let Some(store) = ctx.store.get() {
            match store
                .interrupt_running_jobs(ctx.clock.now().timestamp_millis())
                .await
            {
                Ok(n) if n > 0 => warn!(
                    runs = n,
                    "上次退出时未完成的作业已标记为中断 (runs left running by a previous process marked interrupted)"
                ),
                Ok(_) => {}
                Err(e) => {
                    warn!(error = %Causes(&e), "无法整理作业台账 (cannot tidy the ledger)");
                    tokio::time::sleep(LEADER_INTERVAL).await;
                    continue;
                }
            }
            ctx.leader.send_replace(true);
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(200)) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

/// PostgreSQL: try the advisory lock until it is ours, keep checking it, step down if lost.
/// Returns the lock at shutdown, still held, for the caller to release after the jobs drained.
async fn lead_pg(ctx: Arc<Ctx>, mut lock: PgLeader) -> PgLeader {
    let mut stop = ctx.shutdown.subscribe();
    let mut backoff = LEADER_INTERVAL;
    loop {
        let leading = *ctx.leader.borrow();
        if leading {
            if !lock.still_held().await {
                error!(
                    "领导锁连接已断开，停止运行作业 (leader lock connection lost; stepping down)"
                );
                ctx.leader.send_replace(false);
            }
        } else if let Some(store) = ctx.store.get() {
            match lock.try_acquire().await {
                Ok(true) => {
                    backoff = LEADER_INTERVAL;
                    match store
                        .interrupt_running_jobs(ctx.clock.now().timestamp_millis())
                        .await
                    {
                        Ok(n) if n > 0 => warn!(
                            runs = n,
                            "前任领导者未完成的作业已标记为中断 (runs of the previous leader marked interrupted)"
                        ),
                        _ => {}
                    }
                    info!(
                        pid = ctx.pid,
                        "已成为领导者，开始运行作业 (became leader; running jobs)"
                    );
                    ctx.leader.send_replace(true);
                }
                Ok(false) => backoff = LEADER_INTERVAL,
                Err(e) => {
                    warn!(error = %Causes(&e), "无法获取领导锁，稍后重试 (cannot reach the leader lock, retrying)");
                    backoff = (backoff * 2).min(Duration::from_secs(60));
                }
            }
        }
        let pause = if ctx.store.get().is_none() {
            Duration::from_millis(200)
        } else if *ctx.leader.borrow() {
            LEADER_INTERVAL
        } else {
            backoff
        };
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = stop.wait_for(|s| *s) => break,
        }
    }
    lock
}
