//! `indmon dispatch` (one pass: decide, write the outbox, send what is due) and
//! `indmon outbox list` (what is pending or failed, with attempts and the last error).

use std::process::ExitCode;

use chrono::{DateTime, Utc};
use chrono_tz::Asia::Shanghai;
use clap::Subcommand;

use crate::config::Config;
use crate::notify::{self, Step, Transport};
use crate::store::Store;

#[derive(Debug, clap::Args)]
pub struct DispatchArgs {
    /// Write the digests to the outbox but send nothing.
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
    let problems = config.validate();
    if let Some(p) = problems
        .iter()
        .find(|p| p.key.starts_with("mail") || p.key.starts_with("recipients"))
    {
        anyhow::bail!("配置错误 (config error): {p}");
    }
    let d = notify::dispatch(store, config, now).await?;
    println!(
        "本次生成摘要 {} 封 (digests written to the outbox)",
        d.digests.len()
    );
    for (r, id, n) in &d.digests {
        println!("  #{id}  {r}  {n}项");
    }
    if args.no_send {
        return Ok(ExitCode::SUCCESS);
    }
    let Some(mail) = &config.mail else {
        return Ok(ExitCode::SUCCESS);
    };
    let transport = Transport::from_config(mail)?;
    let steps = notify::drain(store, &transport, &notify::policy(mail), now).await?;
    let mut failed = false;
    for s in &steps {
        match s {
            Step::Sent { id } => println!("  已发送 (sent) #{id}"),
            Step::Retry { id, at, error } => {
                println!("  待重试 (retry) #{id} 于 {}：{error}", show_time(*at))
            }
            Step::Failed { id, error } => {
                failed = true;
                println!("  失败 (failed) #{id}：{error}");
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
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        println!("发件箱为空 (nothing pending or failed)");
    }
    for r in rows {
        let next = if r.status == "pending" {
            format!(" 下次 {}", show_time(r.next_attempt_at))
        } else {
            String::new()
        };
        println!(
            "#{:<5} {:<8} {} <{}> 尝试{}次{next}  {}",
            r.id, r.status, r.recipient, r.to_addr, r.attempts, r.subject
        );
        if let Some(e) = r.last_error {
            println!("        最近错误 (last error): {e}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
