//! Sources: pulling submissions from HTTP endpoints ([`http`]) and inbox folders ([`dir`]).
//!
//! A pull of one source reads what is new, ingests it through [`crate::ingest`] (one
//! transaction per page or file), and records itself in `pull_run`. Content identical to the
//! last committed content from the same address is not ingested again. A source that fails
//! keeps failing loudly: every failed pull lengthens `consecutive_failures` in `source_state`,
//! logs an error, and from `failure_alert_after` failures on is reported by
//! [`failing_sources`] for the alert rules.

pub mod attempts;
pub mod dir;
mod fetch;
pub mod http;
mod state;

use anyhow::Context;
use chrono::{DateTime, Utc};

use crate::amount::Scale;
use crate::causes::Causes;
use crate::config::{Config, SourceConfig, SourceKind};
use crate::ingest::{ImportOptions, ImportReport};
use crate::store::{PullEnd, Store};

pub use state::{PullRun, SourceState};

/// How a pull ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PullStatus {
    /// New content was committed.
    Ok,
    /// Nothing new: 304 Not Modified, content identical to what was committed, an empty inbox.
    Unchanged,
    /// Rows were rejected (see the import runs and the `rejected/` folder).
    Rejected,
    /// The source could not be read or the database failed.
    Failed,
}

impl PullStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PullStatus::Ok => "ok",
            PullStatus::Unchanged => "unchanged",
            PullStatus::Rejected => "rejected",
            PullStatus::Failed => "failed",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            PullStatus::Ok => "成功",
            PullStatus::Unchanged => "无新数据",
            PullStatus::Rejected => "有拒收",
            PullStatus::Failed => "失败",
        }
    }
}

/// What one pull of one source did.
#[derive(Clone, Debug, serde::Serialize)]
pub struct PullReport {
    pub source: String,
    pub kind: &'static str,
    pub run_id: i64,
    pub status: PullStatus,
    /// HTTP pages fetched, or inbox files processed.
    pub pages: u64,
    pub bytes: u64,
    pub accepted: u64,
    pub revised: u64,
    pub unchanged: u64,
    pub rejected: u64,
    /// Why the pull failed (never a secret).
    pub error: Option<String>,
    /// Failed pulls in a row, this one included.
    pub consecutive_failures: i64,
    /// Whether that streak has reached the source's `failure_alert_after`.
    pub alert: bool,
    /// One line per page or file: what happened to it.
    pub notes: Vec<String>,
}

/// The health of a source, for the alert rules.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SourceHealth {
    pub source: String,
    pub consecutive_failures: i64,
    pub last_error: Option<String>,
    pub last_failure_at: Option<i64>,
    pub last_success_at: Option<i64>,
}

/// Sources whose last `threshold` or more pulls failed, worst first.
pub async fn failing_sources(store: &Store, threshold: u32) -> anyhow::Result<Vec<SourceHealth>> {
    let mut out: Vec<SourceHealth> = store
        .source_states()
        .await?
        .into_iter()
        .filter(|s| s.consecutive_failures >= i64::from(threshold.max(1)))
        .map(|s: SourceState| SourceHealth {
            source: s.source,
            consecutive_failures: s.consecutive_failures,
            last_error: s.last_error,
            last_failure_at: s.last_failure_at,
            last_success_at: s.last_success_at,
        })
        .collect();
    out.sort_by_key(|h| std::cmp::Reverse(h.consecutive_failures));
    Ok(out)
}

/// Counts of a pull in progress, filled page by page (or file by file).
#[derive(Debug, Default)]
pub(crate) struct Tally {
    pub pages: u64,
    pub bytes: u64,
    pub accepted: u64,
    pub revised: u64,
    pub unchanged: u64,
    pub rejected: u64,
    /// Whether any page or file committed rows.
    pub committed: bool,
    pub notes: Vec<String>,
}

impl Tally {
    fn add(&mut self, r: &ImportReport) {
        self.accepted += r.accepted;
        self.revised += r.revised;
        self.unchanged += r.unchanged;
        self.rejected += r.rejected;
        self.committed |= r.committed;
    }
}

/// How a pull that did not fail outright ended: `blocked` says why the source cannot go on
/// (an HTTP page with rejected rows stops the cursor), which counts as a failure.
#[derive(Debug, Default)]
pub(crate) struct Ended {
    pub blocked: Option<String>,
}

/// Pulls every configured source (or the one named), one after the other. A source that fails
/// does not stop the others; `Err` only for an unknown name.
pub async fn pull(
    store: &Store,
    config: &Config,
    only: Option<&str>,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<PullReport>> {
    let sources: Vec<&SourceConfig> = match only {
        Some(name) => vec![
            config
                .source(name)
                .with_context(|| format!("配置中没有名为“{name}”的来源 (no such source)"))?,
        ],
        None => config.sources.iter().collect(),
    };
    let mut out = Vec::with_capacity(sources.len());
    for src in sources {
        out.push(pull_source(store, config, src, now).await);
    }
    Ok(out)
}

/// Pulls one source and records the pull; never returns early without recording it.
pub async fn pull_source(
    store: &Store,
    config: &Config,
    src: &SourceConfig,
    now: DateTime<Utc>,
) -> PullReport {
    let kind = match src.kind {
        SourceKind::Http => "http",
        SourceKind::Dir => "dir",
    };
    let mut report = PullReport {
        source: src.name.clone(),
        kind,
        run_id: 0,
        status: PullStatus::Failed,
        pages: 0,
        bytes: 0,
        accepted: 0,
        revised: 0,
        unchanged: 0,
        rejected: 0,
        error: None,
        consecutive_failures: 0,
        alert: false,
        notes: Vec::new(),
    };
    tracing::info!(source = %src.name, kind, "开始拉取 (pull started)");
    let mut tally = Tally::default();
    let result = async {
        report.run_id = store
            .begin_pull(&src.name, kind, now.timestamp_millis())
            .await?;
        let opts = import_options(config, src, now)?;
        match src.kind {
            SourceKind::Http => http::pull(store, config, src, &opts, &mut tally).await,
            SourceKind::Dir => dir::pull(store, config, src, &opts, &mut tally).await,
        }
    }
    .await;
    let (status, error) = match result {
        Err(e) => (
            PullStatus::Failed,
            Some(format!(
                "来源“{}”拉取失败 (pull failed): {}",
                src.name,
                Causes(&e)
            )),
        ),
        Ok(Ended { blocked: Some(why) }) => (PullStatus::Rejected, Some(why)),
        Ok(Ended { blocked: None }) if tally.rejected > 0 => (PullStatus::Rejected, None),
        Ok(Ended { blocked: None }) if tally.committed => (PullStatus::Ok, None),
        Ok(Ended { blocked: None }) => (PullStatus::Unchanged, None),
    };
    report.status = status;
    report.pages = tally.pages;
    report.bytes = tally.bytes;
    report.accepted = tally.accepted;
    report.revised = tally.revised;
    report.unchanged = tally.unchanged;
    report.rejected = tally.rejected;
    report.notes = std::mem::take(&mut tally.notes);
    report.error = error;
    if let Err(e) = record(store, src, &mut report).await {
        // The database itself failed: the pull cannot even be recorded. Say so loudly.
        tracing::error!(source = %src.name, error = %Causes(&e), "无法记录拉取结果 (cannot record the pull)");
        report.status = PullStatus::Failed;
        let msg = format!("无法记录拉取结果 (cannot record the pull): {}", Causes(&e));
        report.error = Some(match report.error.take() {
            Some(first) => format!("{first}; {msg}"),
            None => msg,
        });
    }
    log(src, &report);
    report
}

async fn record(store: &Store, src: &SourceConfig, report: &mut PullReport) -> anyhow::Result<()> {
    let now_ms = Utc::now().timestamp_millis();
    if report.run_id != 0 {
        let end = PullEnd {
            finished_ms: now_ms,
            status: report.status.as_str(),
            pages: report.pages,
            bytes: report.bytes,
            accepted: report.accepted,
            revised: report.revised,
            unchanged: report.unchanged,
            rejected: report.rejected,
            error: report.error.as_deref(),
        };
        store.finish_pull(report.run_id, &end).await?;
    }
    report.consecutive_failures = store
        .record_pull_outcome(
            &src.name,
            report.status.as_str(),
            report.error.as_deref(),
            now_ms,
        )
        .await?;
    report.alert = report.consecutive_failures >= i64::from(src.failure_alert_after);
    Ok(())
}

fn log(src: &SourceConfig, r: &PullReport) {
    match &r.error {
        Some(e) if r.alert => tracing::error!(
            source = %r.source,
            consecutive_failures = r.consecutive_failures,
            error = %e,
            "来源已连续失败{}次，需通知市级管理员 (source failing repeatedly; administrators must be alerted)",
            r.consecutive_failures
        ),
        Some(e) => tracing::error!(
            source = %r.source,
            consecutive_failures = r.consecutive_failures,
            failure_alert_after = src.failure_alert_after,
            error = %e,
            "拉取失败 (pull failed)"
        ),
        None if r.rejected > 0 => tracing::warn!(
            source = %r.source,
            rejected = r.rejected,
            "拉取完成，有拒收行 (pull done with rejected rows)"
        ),
        None => tracing::info!(
            source = %r.source,
            status = r.status.as_str(),
            pages = r.pages,
            bytes = r.bytes,
            accepted = r.accepted,
            revised = r.revised,
            unchanged = r.unchanged,
            "拉取完成 (pull done)"
        ),
    }
}

/// How the files of a source are read: its column map, scale, encoding and `partial`.
pub fn import_options(
    config: &Config,
    src: &SourceConfig,
    now: DateTime<Utc>,
) -> anyhow::Result<ImportOptions> {
    let mut opts = ImportOptions::new(now);
    opts.source = src.name.clone();
    opts.column_map = src.column_map.clone();
    opts.encoding = src.encoding;
    opts.partial = src.partial;
    opts.extra_indicators = config.extra_indicators();
    opts.xlsx_limits = config.import.xlsx.clone();
    opts.money_scale = src
        .scale
        .as_deref()
        .map(str::parse::<Scale>)
        .transpose()
        .map_err(|e| anyhow::anyhow!("sources.{}.scale: {e}", src.name))?;
    Ok(opts)
}

/// One line in Chinese and English summarising a pull.
pub fn summary_line(r: &PullReport) -> String {
    let mut s = format!(
        "{} [{}] {} ({})：{}页/文件，{}字节；新增 {}，修订 {}，未变 {}，拒收 {} (pages {}, bytes {}, accepted {}, revised {}, unchanged {}, rejected {})",
        r.source,
        r.kind,
        r.status.zh(),
        r.status.as_str(),
        r.pages,
        r.bytes,
        r.accepted,
        r.revised,
        r.unchanged,
        r.rejected,
        r.pages,
        r.bytes,
        r.accepted,
        r.revised,
        r.unchanged,
        r.rejected
    );
    if r.consecutive_failures > 0 {
        s.push_str(&format!(
            "；已连续失败 {} 次 (failed {} times in a row)",
            r.consecutive_failures, r.consecutive_failures
        ));
    }
    s
}
