//! The jobs themselves: one enum, one function that runs a job once and returns its counts.
//!
//! Every job is a call into the module that owns the work (`sources`, `evaluate`, and after the
//! merge `notify` and `report`); the daemon adds only scheduling and bookkeeping around it.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::causes::Causes;
use crate::config::Config;
use crate::store::Store;

/// A kind of scheduled work.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum JobKind {
    /// Pull one configured source.
    Pull { source: String },
    /// Read one 反馈表 inbox (`[[feedback_inbox]]`).
    Feedback { inbox: String },
    /// Evaluate the latest complete period and update alerts.
    Evaluate,
    /// Send the digests waiting in the outbox.
    Dispatch,
    /// Write the semimonthly snapshot.
    Snapshot,
    /// Remind the enterprises that have not reported before the deadline.
    Reminder,
    /// Release the 旬s whose electricity is complete enough or past its cut-off, and send
    /// their 旬 digest (`evaluate::release`).
    Xun,
}

impl JobKind {
    /// The job's name in the ledger, logs and metrics (`pull:<source>`, `evaluate`, …).
    pub fn name(&self) -> String {
        match self {
            JobKind::Pull { source } => format!("pull:{source}"),
            JobKind::Feedback { inbox } => format!("feedback:{inbox}"),
            JobKind::Evaluate => "evaluate".into(),
            JobKind::Dispatch => "dispatch".into(),
            JobKind::Snapshot => "snapshot".into(),
            JobKind::Reminder => "reminder".into(),
            JobKind::Xun => "xun".into(),
        }
    }
}

/// What a finished run reports: its counts for the ledger and whether it brought new data
/// (which triggers an evaluation).
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub counts: Value,
    pub new_data: bool,
    /// Rows accepted or revised, for the `indmon_rows_ingested_total` counter.
    pub rows: u64,
}

/// Runs one job once. `Err` is recorded in the ledger as a failed run.
pub async fn run(
    kind: &JobKind,
    store: &Store,
    config: &Config,
    now: DateTime<Utc>,
) -> anyhow::Result<Outcome> {
    match kind {
        JobKind::Pull { source } => {
            let src = config.source(source).ok_or_else(|| {
                anyhow::anyhow!("配置中没有名为“{source}”的来源 (no such source)")
            })?;
            let r = crate::sources::pull_source(store, config, src, now).await;
            let counts = json!({
                "status": r.status.as_str(), "pages": r.pages, "bytes": r.bytes,
                "accepted": r.accepted, "revised": r.revised, "unchanged": r.unchanged,
                "rejected": r.rejected, "pull_run": r.run_id,
            });
            if r.status == crate::sources::PullStatus::Failed {
                anyhow::bail!(
                    "{}",
                    r.error.unwrap_or_else(|| "拉取失败 (pull failed)".into())
                );
            }
            let rows = r.accepted + r.revised;
            Ok(Outcome {
                counts,
                new_data: rows > 0,
                rows,
            })
        }
        JobKind::Feedback { inbox } => {
            let f = config
                .feedback_inbox
                .iter()
                .find(|f| f.name() == inbox)
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "配置中没有名为“{inbox}”的反馈表收件夹 (no such feedback inbox)"
                    )
                })?;
            let r = crate::feedback::inbox::pull_one(store, config, f, now).await;
            if let Some(e) = r.error {
                anyhow::bail!("{e}");
            }
            Ok(Outcome {
                counts: json!({
                    "files": r.files, "accepted": r.accepted,
                    "unchanged": r.unchanged, "rejected": r.rejected,
                }),
                ..Outcome::default()
            })
        }
        JobKind::Evaluate => {
            let period =
                crate::evaluate::latest_complete_period(now, config.general.report_deadline_day);
            let (report, _) = crate::evaluate::run(store, config, period, now, false).await?;
            Ok(Outcome {
                counts: json!({
                    "period": period.to_string(),
                    "findings": report.findings.len(),
                    "opened": report.applied.opened,
                    "changed": report.applied.changed,
                    "resolved": report.applied.resolved,
                }),
                ..Outcome::default()
            })
        }
        JobKind::Dispatch => {
            let Some(mail) = &config.mail else {
                return Ok(skipped_without_mail());
            };
            let d = crate::notify::dispatch(store, config, now).await?;
            let mut counts = send_due(store, mail, now).await?;
            counts["digests"] = json!(d.digests.len());
            if !d.chases.is_empty() {
                counts["chases"] = json!(d.chases.len());
            }
            if !config.robots.is_empty() {
                counts["notices"] = json!(d.notices.len());
                // Like undelivered mail, a robot that cannot be set up does not fail the job:
                // the notices stay queued and the robot drain retries.
                counts["robots"] = match crate::notify::robot::send_due(store, config, now).await {
                    Ok(v) => v,
                    Err(e) => {
                        tracing::warn!(error = %Causes(&e), "群机器人提示未能发送 (robot notices not sent)");
                        json!({"error": Causes(&e).to_string()})
                    }
                };
            }
            Ok(Outcome {
                counts,
                ..Outcome::default()
            })
        }
        JobKind::Snapshot => {
            let dir = &config.daemon.snapshot_dir;
            let half = crate::report::Half::latest_ended(now);
            let mut counts = match crate::report::run_due(store, config, now, dir).await? {
                Some(w) => json!({"dir": w.dir.display().to_string(), "files": w.files.len()}),
                None => json!({"skipped": "already written"}),
            };
            // Queued after the folder is complete, and again on a later run if a crash came
            // between the two: the mail's Message-ID is fixed per half and recipient.
            if let Some(mail) = &config.mail {
                let dir = dir.join(half.to_string());
                let queued = crate::notify::snapshot::enqueue(store, config, &dir, now).await?;
                counts["mailed"] = json!(queued);
                counts["mail"] = send_due(store, mail, now).await?;
            }
            Ok(Outcome {
                counts,
                ..Outcome::default()
            })
        }
        JobKind::Xun => xun(store, config, now).await,
        JobKind::Reminder => {
            let Some(mail) = &config.mail else {
                return Ok(skipped_without_mail());
            };
            let r = crate::notify::reminder::remind(store, config, None, now).await?;
            let mut counts = send_due(store, mail, now).await?;
            counts["period"] = json!(r.period);
            counts["pending"] = json!(r.pending);
            counts["reminders"] = json!(r.messages.len());
            Ok(Outcome {
                counts,
                ..Outcome::default()
            })
        }
    }
}

/// The `xun` job: release what is due, then, when something went out and mail is configured,
/// the digests at once, so that the 旬 warning reaches officials the day its data is complete.
async fn xun(store: &Store, config: &Config, now: DateTime<Utc>) -> anyhow::Result<Outcome> {
    let r = crate::evaluate::release::release_due(store, config, now).await?;
    let mut counts = json!({
        "released": r.released.iter().map(|(x, _)| x.xun.to_string()).collect::<Vec<_>>(),
        "waiting": r.waiting.iter().map(|(x, _)| x.to_string()).collect::<Vec<_>>(),
        "empty": r.empty.iter().map(|x| x.to_string()).collect::<Vec<_>>(),
        "reevaluated": r.reevaluated.iter().map(|x| x.to_string()).collect::<Vec<_>>(),
        "pruned": r.pruned,
    });
    let nothing_new = r.released.is_empty() && r.reevaluated.is_empty();
    if let (Some(mail), false) = (&config.mail, nothing_new) {
        let d = crate::notify::dispatch(store, config, now).await?;
        counts["digests"] = json!(d.digests.len());
        counts["mail"] = send_due(store, mail, now).await?;
    }
    Ok(Outcome {
        counts,
        ..Outcome::default()
    })
}

fn skipped_without_mail() -> Outcome {
    Outcome {
        counts: json!({"skipped": "no [mail] configured"}),
        ..Outcome::default()
    }
}

/// Sends what is due in the outbox; the counts of sent, retried and failed messages.
async fn send_due(
    store: &Store,
    mail: &crate::notify::MailConfig,
    now: DateTime<Utc>,
) -> anyhow::Result<Value> {
    use crate::notify::Step;
    let transport = crate::notify::Transport::from_config(mail)?;
    let steps = crate::notify::drain(store, &transport, &crate::notify::policy(mail), now).await?;
    let count = |f: fn(&Step) -> bool| steps.iter().filter(|s| f(s)).count();
    // Undelivered mail does not fail the job (that would fail /readyz): the drain task keeps
    // delivering it, and the health detail and metrics show it.
    let u = store.undelivered().await?;
    Ok(json!({
        "sent": count(|s| matches!(s, Step::Sent { .. })),
        "retry": count(|s| matches!(s, Step::Retry { .. })),
        "failed": count(|s| matches!(s, Step::Failed { .. })),
        "undelivered": u.queued + u.failed,
    }))
}
