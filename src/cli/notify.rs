//! `indmon dispatch` (one pass: decide, write the outbox, send what is due) and
//! `indmon remind` (报送提醒 before the deadline) and `indmon outbox list` (what is pending or
//! failed, with attempts and the last error).

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
    /// List digests (default: pending, sending and failed).
    List {
        /// Include sent digests.
        #[arg(long)]
        all: bool,
        #[arg(long, value_parser = ["table", "json"], default_value = "table")]
        format: String,
    },
}

fn show_time(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|d| d.with_timezone(&Shanghai).format("%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

/// One dispatch pass. Exit 1 when a digest failed for good (an operator must look).
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
    if args.no_send {
        return Ok(ExitCode::SUCCESS);
    }
    send_due(store, config, now).await
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
    send_due(store, config, now).await
}

/// The `[mail]` and `[[recipients]]` parts of the configuration must be sound to send anything.
fn mail_config_ok(config: &Config) -> anyhow::Result<()> {
    let problems = config.validate();
    if let Some(p) = problems
        .iter()
        .find(|p| p.key.starts_with("mail") || p.key.starts_with("recipients"))
    {
        anyhow::bail!("配置错误 (config error): {p}");
    }
    Ok(())
}

/// Sends everything due in the outbox and prints each step.
async fn send_due(store: &Store, config: &Config, now: DateTime<Utc>) -> anyhow::Result<ExitCode> {
    let Some(mail) = &config.mail else {
        return Ok(ExitCode::SUCCESS);
    };
    let transport = Transport::from_config(mail)?;
    let steps = notify::drain(store, &transport, &notify::policy(mail), now).await?;
    let mut failed = false;
    for s in &steps {
        match s {
            Step::Sent { id } => out!("  已发送 (sent) #{id}"),
            Step::Retry { id, at, error } => {
                out!("  待重试 (retry) #{id} 于 {}：{error}", show_time(*at))
            }
            Step::Failed { id, error } => {
                failed = true;
                out!("  失败 (failed) #{id}：{error}");
            }
            Step::Empty => {}
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

pub async fn outbox(store: &Store, cmd: OutboxCommand) -> anyhow::Result<ExitCode> {
    let OutboxCommand::List { all, format } = cmd;
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
        let next = if r.status == "pending" {
            format!(" 下次 {}", show_time(r.next_attempt_at))
        } else {
            String::new()
        };
        out!(
            "#{:<5} {:<8} {} <{}> 尝试{}次{next}  {}",
            r.id,
            r.status,
            r.recipient,
            r.to_addr,
            r.attempts,
            r.subject
        );
        if let Some(e) = r.last_error {
            out!("        最近错误 (last error): {e}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
