//! The 反馈表: the workbook an official answers their cases in, offline, and sends back.
//!
//! [`workbook`] writes it for one reader: one row per open case they answer (its id and version,
//! the warning's figures, greyed and locked), then the answer columns (原因 as a drop-down of the
//! configured causes, 情况说明, 帮扶措施, 预计复产月份, 需市级协调). [`read`] reads a filled one
//! back with the bounded XLSX reader of [`crate::ingest::xlsx`]; [`apply`] checks every answered
//! row and gives the good ones to [`crate::cases::Desk::answer`], one transaction per row, so a
//! row is applied whole or not at all and a bad row never stops the good ones. A row written
//! against an older version of its case than the latest answer or decision is rejected as stale,
//! never applied over it. The workbook arrives by the console's upload (`POST /cases/upload`)
//! or through an inbox folder per unit ([`inbox`], `[[feedback_inbox]]`), whose name the audit
//! log records as the actor.

pub mod apply;
pub mod inbox;
pub mod read;
pub mod workbook;

use std::path::PathBuf;

use serde::Deserialize;

pub use apply::{Accepted, Outcome, apply};
pub use read::{FileError, SheetRow};

/// Answered rows one workbook may carry; a larger one is refused whole.
pub const MAX_ROWS: usize = 5_000;

/// `[[feedback_inbox]]`: a folder where the bureau drops the 反馈表 of one unit.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedbackInbox {
    /// The unit whose cases the workbooks in this folder may answer (`[[recipients]] units`).
    pub unit: String,
    /// The folder; `archive/` and `rejected/` are made inside it.
    pub path: PathBuf,
    /// The inbox's name in the audit log (`inbox:NAME`) and in `indmon pull`; the unit by default.
    pub name: Option<String>,
    /// When the daemon reads the folder (cron with seconds); the sources' default otherwise.
    pub schedule: Option<String>,
    /// A file modified less than this many seconds ago may still be being written.
    #[serde(default = "default_settle_secs")]
    pub settle_secs: u64,
}

fn default_settle_secs() -> u64 {
    10
}

impl FeedbackInbox {
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.unit)
    }
}

/// What is wrong with the `[[feedback_inbox]]` entries, keyed as in the file.
pub fn problems(config: &crate::config::Config) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut names = std::collections::HashSet::new();
    for (i, f) in config.feedback_inbox.iter().enumerate() {
        let key = format!("feedback_inbox[{i}]");
        if !names.insert(f.name().to_string()) {
            out.push((
                format!("{key}.name"),
                format!("反馈表收件夹“{}”重复 (duplicate inbox name)", f.name()),
            ));
        }
        let known = config
            .recipients
            .iter()
            .any(|r| r.units.iter().any(|u| u == &f.unit));
        if !known {
            out.push((
                format!("{key}.unit"),
                format!(
                    "“{}”不是任何接收人负责的单位 (no [[recipients]] has this unit)",
                    f.unit
                ),
            ));
        }
        if f.path.as_os_str().is_empty() {
            out.push((
                format!("{key}.path"),
                "需要收件文件夹路径 (path required)".into(),
            ));
        }
        let clash = config
            .sources
            .iter()
            .any(|s| s.path.as_deref() == Some(f.path.as_path()))
            || config.feedback_inbox[..i].iter().any(|o| o.path == f.path);
        if clash {
            out.push((
                format!("{key}.path"),
                format!(
                    "{} 已被另一个收件夹使用 (the folder is another inbox's)",
                    f.path.display()
                ),
            ));
        }
    }
    out
}
