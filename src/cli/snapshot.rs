//! `indmon snapshot`: writes the semimonthly analysis snapshot (运行分析快照) of a half-month.

use super::output::out;
use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::report::{self, Half};
use crate::store::Store;

#[derive(Debug, clap::Args)]
pub struct SnapshotArgs {
    /// Half-month to write, e.g. 2026-11-H1 (default: the latest half that has ended, which is
    /// the one the schedule writes on the 1st and the 16th).
    #[arg(long)]
    pub half: Option<Half>,
    /// Folder that holds one sub-folder per half-month.
    #[arg(long, default_value = "snapshots")]
    pub out: PathBuf,
}

/// Writes the snapshot and prints where it went.
pub async fn snapshot(
    store: &Store,
    config: &Config,
    args: SnapshotArgs,
    now: DateTime<Utc>,
) -> anyhow::Result<ExitCode> {
    let half = args.half.unwrap_or_else(|| Half::latest_ended(now));
    let written = report::generate_at(store, config, half, &args.out, now).await?;
    out!(
        "快照已写入 (snapshot written): {} manifest sha256 {}",
        written.dir.display(),
        written.manifest_sha256
    );
    for (name, sha) in &written.files {
        out!("  {name:<14} {sha}");
    }
    Ok(ExitCode::SUCCESS)
}
