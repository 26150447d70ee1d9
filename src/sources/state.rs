//! What is known about a source between pulls, and the record of each pull, as plain data.

/// The stored state of one source.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct SourceState {
    pub source: String,
    /// Where the next pull starts (the last watermark the source gave).
    pub cursor: Option<String>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// The address `etag` and `last_modified` were given for.
    pub validators_url: Option<String>,
    pub consecutive_failures: i64,
    pub last_success_at: Option<i64>,
    pub last_failure_at: Option<i64>,
    pub last_error: Option<String>,
    pub last_status: Option<String>,
}

/// One row of `pull_run`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PullRun {
    pub id: i64,
    pub source: String,
    pub kind: String,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub status: String,
    pub pages: i64,
    pub bytes: i64,
    pub accepted: i64,
    pub revised: i64,
    pub unchanged: i64,
    pub rejected: i64,
    pub error: Option<String>,
}
