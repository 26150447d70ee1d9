//! 反馈表 inbox folders (`[[feedback_inbox]]`), read by `indmon pull` and the daemon like the
//! submission inboxes: each settled file, in name order, is read and its rows applied as the
//! inbox (`inbox:NAME` in the audit log, answering the cases counted in its unit); it then goes
//! to `archive/` with `NAME.result.txt` beside it (what was accepted and what was rejected, line,
//! column and reason), or to `rejected/` with `NAME.reason.txt` (the same lines) when nothing
//! could be applied.
//! A file the database failed on stays in the inbox for the next pull (the rows it had applied
//! are then found unchanged).

use std::path::Path;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{FeedbackInbox, Outcome};
use crate::cases::{Desk, Who};
use crate::causes::Causes;
use crate::config::Config;
use crate::sources::dir::{ARCHIVE, REJECTED, candidates, move_into, write_text};
use crate::store::Store;

/// Largest 反馈表 file read, in bytes.
pub const MAX_FILE_BYTES: u64 = 32 << 20;

/// What one pull of one 反馈表 inbox did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct InboxReport {
    pub inbox: String,
    pub files: u64,
    pub accepted: u64,
    pub unchanged: u64,
    pub rejected: u64,
    pub error: Option<String>,
    /// One line per file.
    pub notes: Vec<String>,
}

impl InboxReport {
    pub fn summary_line(&self) -> String {
        format!(
            "反馈表收件夹 {} [feedback]：{} 个文件；采纳 {} 行，未变 {} 行，拒收 {} 行 (files {}, accepted {}, unchanged {}, rejected {})",
            self.inbox,
            self.files,
            self.accepted,
            self.unchanged,
            self.rejected,
            self.files,
            self.accepted,
            self.unchanged,
            self.rejected
        )
    }
}

/// Reads every 反馈表 inbox (or the one named); `None` when `only` names none of them.
pub async fn pull(
    store: &Store,
    config: &Config,
    only: Option<&str>,
    now: DateTime<Utc>,
) -> Option<Vec<InboxReport>> {
    let chosen: Vec<&FeedbackInbox> = config
        .feedback_inbox
        .iter()
        .filter(|f| only.is_none_or(|n| n == f.name()))
        .collect();
    if only.is_some() && chosen.is_empty() {
        return None;
    }
    let mut out = Vec::new();
    for f in chosen {
        out.push(pull_one(store, config, f, now).await);
    }
    Some(out)
}

/// Reads one inbox; never fails, the report says what went wrong.
pub async fn pull_one(
    store: &Store,
    config: &Config,
    f: &FeedbackInbox,
    now: DateTime<Utc>,
) -> InboxReport {
    let mut report = InboxReport {
        inbox: f.name().to_string(),
        ..InboxReport::default()
    };
    if let Err(e) = files(store, config, f, now, &mut report).await {
        let e = format!(
            "反馈表收件夹“{}”处理失败 (feedback inbox failed): {}",
            f.name(),
            Causes(&e)
        );
        tracing::error!(inbox = %f.name(), error = %e, "反馈表收件夹处理失败 (feedback inbox failed)");
        report.error = Some(e);
    } else {
        tracing::info!(inbox = %f.name(), files = report.files, accepted = report.accepted,
            rejected = report.rejected, "反馈表收件夹处理完成 (feedback inbox read)");
    }
    report
}

async fn files(
    store: &Store,
    config: &Config,
    f: &FeedbackInbox,
    now: DateTime<Utc>,
    report: &mut InboxReport,
) -> anyhow::Result<()> {
    let settle = Duration::from_secs(f.settle_secs);
    let (ready, waiting) = candidates(&f.path, settle, SystemTime::now()).map_err(|e| {
        anyhow::anyhow!(
            "无法读取收件文件夹 {} (cannot read the inbox folder): {e}",
            f.path.display()
        )
    })?;
    for w in waiting {
        report.notes.push(format!(
            "{}: 可能仍在写入，下次再处理 (may still be being written)",
            w.display()
        ));
    }
    let desk = Desk::new(store.clone(), config)?;
    let who = Who::inbox(f.name(), &f.unit);
    for file in ready {
        report.files += 1;
        one_file(&desk, &who, config, &f.path, &file, now, report).await?;
    }
    Ok(())
}

/// Reads and applies one file, then moves it; `Err` (the database) leaves it in the inbox.
async fn one_file(
    desk: &Desk,
    who: &Who,
    config: &Config,
    dir: &Path,
    file: &Path,
    now: DateTime<Utc>,
    report: &mut InboxReport,
) -> anyhow::Result<()> {
    let name = file.display().to_string();
    let base = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let sheet = match read_file(file, config).await {
        Ok(s) => s,
        Err(why) => {
            report.rejected += 1;
            let to = move_into(file, &dir.join(REJECTED))?;
            write_text(
                &to,
                &format!(
                    "文件 (file): {name}\n整份文件未处理 (nothing of the file was applied):\n{why}\n"
                ),
            )?;
            report
                .notes
                .push(format!("{name} → {}: {why}", to.display()));
            return Ok(());
        }
    };
    let outcome = super::apply(desk, who, "inbox", &base, sheet, now).await?;
    report.accepted += outcome.accepted.len() as u64;
    report.unchanged += outcome.unchanged.len() as u64;
    report.rejected += outcome.rejected.len() as u64;
    let nothing =
        outcome.accepted.is_empty() && outcome.unchanged.is_empty() && !outcome.rejected.is_empty();
    let to = move_into(file, &dir.join(if nothing { REJECTED } else { ARCHIVE }))?;
    let text = result_text(&name, &outcome);
    if nothing {
        write_text(&to, &text)?;
    } else {
        let mut beside = to.as_os_str().to_owned();
        beside.push(".result.txt");
        std::fs::write(&beside, text).map_err(|e| {
            anyhow::anyhow!(
                "无法写入 {} (cannot write the result file): {e}",
                Path::new(&beside).display()
            )
        })?;
    }
    report
        .notes
        .push(format!("{name} → {}: {}", to.display(), outcome.summary()));
    Ok(())
}

/// Reads a file within [`MAX_FILE_BYTES`] and parses it off the runtime.
async fn read_file(file: &Path, config: &Config) -> Result<super::read::Sheet, String> {
    let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    if size > MAX_FILE_BYTES {
        return Err(format!(
            "文件过大（{size} 字节，上限 {MAX_FILE_BYTES}） (file too large)"
        ));
    }
    let bytes = std::fs::read(file).map_err(|e| format!("无法读取文件 (cannot read): {e}"))?;
    let limits = super::read::limits(&config.import.xlsx);
    tokio::task::spawn_blocking(move || super::read::read(bytes, &limits))
        .await
        .map_err(|e| format!("读取程序异常中止 (the reader failed): {e}"))?
        .map_err(|e| e.to_string())
}

/// The text beside a processed file: the summary, then every accepted and rejected row.
pub fn result_text(file: &str, o: &Outcome) -> String {
    let mut t = format!("文件 (file): {file}\n{}\n", o.summary());
    for a in &o.accepted {
        t.push_str(&format!(
            "第{}行：事项 {} 已采纳 (accepted)\n",
            a.line, a.case_id
        ));
    }
    for a in &o.unchanged {
        t.push_str(&format!(
            "第{}行：事项 {} 与已有反馈相同，未重复记录 (unchanged)\n",
            a.line, a.case_id
        ));
    }
    for r in &o.rejected {
        t.push_str(&format!("{r}\n"));
    }
    t
}
