//! `indmon dispatch` (one pass: decide, write the outbox, send what is due) and
//! `indmon remind` (报送提醒 before the deadline), `indmon outbox list` (what is not delivered,
//! with attempts and the last error) and `indmon outbox retry` (requeue what was refused).
//!
//! Exit codes of the sending commands: 0 when everything the pass wrote or tried was
//! delivered, 1 when a message was refused for good (or on any other failure), 4 when some are
//! still queued for a retry (the daemon or the next run delivers them).

use super::output::out;
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use chrono_tz::Asia::Shanghai;
use clap::Subcommand;

use crate::config::Config;
use crate::notify::{self, Step, Transport};
use crate::period::Period;
use crate::store::Store;

#[derive(Debug, clap::Args)]
pub struct DispatchArgs {
    /// Write the digests to the outbox but send nothing.
    #[arg(long)]
    pub no_send: bool,
}

#[derive(Debug, clap::Args)]
pub struct RemindArgs {
    /// The period to remind about (default: last month, until its deadline has passed).
    #[arg(long)]
    pub period: Option<Period>,
    /// Write the reminders to the outbox but send nothing.
    #[arg(long)]
    pub no_send: bool,
}

#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// List messages not delivered yet (pending, sending, failed); --all: sent ones too.
    List {
        /// Include sent digests.
        #[arg(long)]
        all: bool,
        #[arg(long, value_parser = ["table", "json"], default_value = "table")]
        format: String,
    },
    /// Requeue a refused (failed) message, or all of them, and send what is due.
    Retry {
        /// The outbox id (#N in `outbox list`).
        #[arg(required_unless_present = "all_failed", conflicts_with = "all_failed")]
        id: Option<i64>,
        /// Every failed message.
        #[arg(long)]
        all_failed: bool,
        /// Requeue only; send nothing now.
        #[arg(long)]
        no_send: bool,
    },
}

/// Exit code while mail a pass wrote or tried is still queued for a retry.
pub const EXIT_UNDELIVERED: u8 = 4;

fn show_time(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|d| d.with_timezone(&Shanghai).format("%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

/// One dispatch pass. Exit 1 when a digest was refused for good (an operator must look), 4
/// while one it wrote or tried is queued for a retry.
pub async fn dispatch(
    store: &Store,
    config: &Config,
    args: DispatchArgs,
    now: DateTime<Utc>,
) -> anyhow::Result<ExitCode> {
    mail_config_ok(config)?;
    let d = notify::dispatch(store, config, now).await?;
    out!(
        "本次生成摘要 {} 封 (digests written to the outbox)",
        d.digests.len()
    );
    for (r, id, n) in &d.digests {
        out!("  #{id}  {r}  {n}项");
    }
    for (robot, id) in &d.notices {
        out!("  群机器人提示 (robot notice) #{id}  {robot}");
    }
    for (r, id, n) in &d.chases {
        out!("  督办邮件 (overdue-case reminder) #{id}  {r}  {n}件");
    }
    if args.no_send {
        return Ok(ExitCode::SUCCESS);
    }
    let ids: Vec<i64> = d
        .digests
        .iter()
        .chain(&d.chases)
        .map(|(_, id, _)| *id)
        .collect();
    let code = send_due(store, config, now, &ids).await?;
    let refused = send_robots(store, config, now).await?;
    Ok(if refused && code == ExitCode::SUCCESS {
        ExitCode::FAILURE
    } else {
        code
    })
}

/// Posts the group-robot notices that are due and prints each step; whether one was refused.
async fn send_robots(store: &Store, config: &Config, now: DateTime<Utc>) -> anyhow::Result<bool> {
    use notify::robot::{self, RobotStep};
    if config.robots.is_empty() {
        return Ok(false);
    }
    let robots = robot::Robots::from_config(&config.robots)?;
    let steps = robot::drain(store, &robots, &robot::Policy::default(), now).await?;
    let mut refused = false;
    for s in &steps {
        match s {
            RobotStep::Sent { id, robot } => out!("  群机器人已发送 (robot sent) #{id} {robot}"),
            RobotStep::Retry { id, at, error } => {
                out!(
                    "  群机器人待重试 (robot retry) #{id} 于 {}：{error}",
                    show_time(*at)
                )
            }
            RobotStep::Failed { id, error } | RobotStep::Unknown { id, error } => {
                refused = true;
                out!("  群机器人未送达 (robot notice not delivered) #{id}：{error}");
            }
            RobotStep::Empty => {}
        }
    }
    Ok(refused)
}

/// `indmon remind`: write the 报送提醒 of the period due (or `--period`) to the outbox, then
/// send what is due. Exit 1 when a message failed for good.
pub async fn remind(
    store: &Store,
    config: &Config,
    args: RemindArgs,
    now: DateTime<Utc>,
) -> anyhow::Result<ExitCode> {
    mail_config_ok(config)?;
    let r = notify::reminder::remind(store, config, args.period, now).await?;
    let Some(period) = &r.period else {
        out!(
            "上月数据的报送截止日（每月{}日）已过，未报企业已转为“未报”预警，不再提醒 \
             (the deadline has passed: missing reports are alerts now; use --period to force)",
            config.general.report_deadline_day
        );
        return Ok(ExitCode::SUCCESS);
    };
    out!(
        "{period}：{}家规上企业尚未报送；本次生成提醒 {} 封 (reminders written to the outbox)",
        r.pending,
        r.messages.len()
    );
    for (who, id, n) in &r.messages {
        out!("  #{id}  {who}  {n}家");
    }
    if args.no_send {
        return Ok(ExitCode::SUCCESS);
    }
    let ids: Vec<i64> = r.messages.iter().map(|(_, id, _)| *id).collect();
    send_due(store, config, now, &ids).await
}

/// The `[mail]` and `[[recipients]]` parts of the configuration must be sound to send anything.
fn mail_config_ok(config: &Config) -> anyhow::Result<()> {
    let problems = config.validate();
    if let Some(p) = problems.iter().find(|p| {
        p.key.starts_with("mail") || p.key.starts_with("recipients") || p.key.starts_with("robots")
    }) {
        anyhow::bail!("配置错误 (config error): {p}");
    }
    Ok(())
}

/// Sends everything due in the outbox and prints each step; the exit code says whether the
/// pass's own messages (`own`) and every message it tried were delivered.
async fn send_due(
    store: &Store,
    config: &Config,
    now: DateTime<Utc>,
    own: &[i64],
) -> anyhow::Result<ExitCode> {
    let Some(mail) = &config.mail else {
        return Ok(ExitCode::SUCCESS);
    };
    let transport = Transport::from_config(mail)?;
    let steps = notify::drain(store, &transport, &notify::policy(mail), now).await?;
    let (mut failed, mut queued) = (false, false);
    for s in &steps {
        match s {
            Step::Sent { id } => out!("  已发送 (sent) #{id}"),
            Step::Retry { id, at, error } => {
                queued = true;
                out!("  待重试 (retry) #{id} 于 {}：{error}", show_time(*at))
            }
            Step::Failed { id, error } => {
                failed = true;
                out!("  失败 (failed) #{id}：{error}");
            }
            Step::Empty => {}
        }
    }
    // A message of this pass that no step touched is held by another sender, or not due.
    let rows = store.outbox_rows(&["pending", "sending", "failed"]).await?;
    for r in rows.iter().filter(|r| own.contains(&r.id)) {
        failed |= r.status == "failed";
        queued |= r.status != "failed";
    }
    let u = store.undelivered().await?;
    if u.queued + u.failed > 0 {
        println!(
            "发件箱中尚未送达 {} 封：待重试 {}，被拒收 {} (undelivered: queued, refused; see indmon outbox list)",
            u.queued + u.failed,
            u.queued,
            u.failed
        );
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else if queued {
        ExitCode::from(EXIT_UNDELIVERED)
    } else {
        ExitCode::SUCCESS
    })
}

pub async fn outbox(
    store: &Store,
    config: &Config,
    cmd: OutboxCommand,
    now: DateTime<Utc>,
) -> anyhow::Result<ExitCode> {
    let (all, format) = match cmd {
        OutboxCommand::List { all, format } => (all, format),
        OutboxCommand::Retry {
            id,
            all_failed: _,
            no_send,
        } => return retry(store, config, id, no_send, now).await,
    };
    let statuses: &[&str] = if all {
        &[]
    } else {
        &["pending", "sending", "failed"]
    };
    let rows = store.outbox_rows(statuses).await?;
    if format == "json" {
        out!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        out!("发件箱为空 (nothing pending or failed)");
    }
    for r in rows {
        let next = match r.status.as_str() {
            "pending" => format!(" 下次 {}", show_time(r.next_attempt_at)),
            "sending" if r.unknown_fate => " 结果未知，以相同 Message-ID 重发".to_string(),
            _ => String::new(),
        };
        out!(
            "#{:<5} {:<8} {} <{}> {}生成 尝试{}次{next}  {}",
            r.id,
            r.status,
            r.recipient,
            r.to_addr,
            show_time(r.created_at),
            r.attempts,
            r.subject
        );
        if let Some(e) = r.last_error {
            out!("        最近错误 (last error): {e}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `indmon outbox retry [ID|--all-failed]`: requeue, then send what is due unless `--no-send`.
async fn retry(
    store: &Store,
    config: &Config,
    id: Option<i64>,
    no_send: bool,
    now: DateTime<Utc>,
) -> anyhow::Result<ExitCode> {
    let n = store.requeue(id, now.timestamp_millis()).await?;
    match id {
        Some(id) if n == 0 => {
            eprintln!(
                "#{id} 不在发件箱中，或不是失败/待发状态 (no failed or pending message #{id})"
            );
            return Ok(ExitCode::FAILURE);
        }
        _ => println!("已重新排队 {n} 封 (requeued)"),
    }
    if no_send {
        return Ok(ExitCode::SUCCESS);
    }
    mail_config_ok(config)?;
    send_due(store, config, now, &[]).await
}
