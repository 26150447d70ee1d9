//! What is kept about sources between pulls: the cursor where the next pull starts, the
//! validators of the last complete pull, the failure streak, and one `pull_run` row per pull.
//! The cursor of an HTTP page is written in the same transaction as the page's rows
//! ([`SubmissionImport::save_cursor`]), so a crash can neither lose a committed page's cursor
//! nor advance the cursor past rows that were not committed.

use sqlx::Row;

use super::submissions::ImportTx;
use super::{Store, SubmissionImport, on_pool};
use crate::sources::{PullRun, SourceState};

/// How a pull ended, for [`Store::finish_pull`].
#[derive(Clone, Debug, Default)]
pub struct PullEnd<'a> {
    pub finished_ms: i64,
    pub status: &'a str,
    pub pages: u64,
    pub bytes: u64,
    pub accepted: u64,
    pub revised: u64,
    pub unchanged: u64,
    pub rejected: u64,
    pub error: Option<&'a str>,
}

/// Creates the state row of a source if missing; every later write is an UPDATE.
pub(super) const ENSURE: &str =
    "INSERT INTO source_state (source, updated_at) VALUES ($1, $2) ON CONFLICT (source) DO NOTHING";

const STATE_COLS: &str = "source, cursor, etag, last_modified, validators_url, consecutive_failures, last_success_at, last_failure_at, last_error, last_status";

/// Reads a `SourceState` from a row selected with [`STATE_COLS`] (a macro: rows differ per backend).
macro_rules! state_from {
    ($r:expr) => {
        SourceState {
            source: $r.try_get(0)?,
            cursor: $r.try_get(1)?,
            etag: $r.try_get(2)?,
            last_modified: $r.try_get(3)?,
            validators_url: $r.try_get(4)?,
            consecutive_failures: i64::from($r.try_get::<i32, _>(5)?),
            last_success_at: $r.try_get(6)?,
            last_failure_at: $r.try_get(7)?,
            last_error: $r.try_get(8)?,
            last_status: $r.try_get(9)?,
        }
    };
}

impl Store {
    /// The stored state of a source, if it was ever pulled.
    pub async fn source_state(&self, source: &str) -> anyhow::Result<Option<SourceState>> {
        let sql = format!("SELECT {STATE_COLS} FROM source_state WHERE source = $1");
        let row = on_pool!(self, p => {
            match sqlx::query(sqlx::AssertSqlSafe(sql)).bind(source).fetch_optional(p).await? {
                Some(r) => Some(state_from!(r)),
                None => None,
            }
        });
        Ok(row)
    }

    /// The stored state of every source ever pulled, by name.
    pub async fn source_states(&self) -> anyhow::Result<Vec<SourceState>> {
        let sql = format!("SELECT {STATE_COLS} FROM source_state ORDER BY source");
        let rows = on_pool!(self, p => {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_all(p)
                .await?
                .into_iter()
                .map(|r| Ok(state_from!(r)))
                .collect::<Result<Vec<_>, sqlx::Error>>()?
        });
        Ok(rows)
    }

    /// Stores a cursor on its own (a page that needed no ingesting: identical content).
    pub async fn save_cursor(&self, source: &str, cursor: &str, now_ms: i64) -> anyhow::Result<()> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            sqlx::query(ENSURE).bind(source).bind(now_ms).execute(&mut *tx).await?;
            sqlx::query("UPDATE source_state SET cursor = $1, updated_at = $2 WHERE source = $3")
                .bind(cursor).bind(now_ms).bind(source).execute(&mut *tx).await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Stores the validators (ETag, Last-Modified) of a complete pull and the address they are for.
    pub async fn save_validators(
        &self,
        source: &str,
        url: &str,
        etag: Option<&str>,
        last_modified: Option<&str>,
        now_ms: i64,
    ) -> anyhow::Result<()> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            sqlx::query(ENSURE).bind(source).bind(now_ms).execute(&mut *tx).await?;
            sqlx::query("UPDATE source_state SET etag = $1, last_modified = $2, validators_url = $3, updated_at = $4 WHERE source = $5")
                .bind(etag).bind(last_modified).bind(url).bind(now_ms).bind(source).execute(&mut *tx).await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Records the outcome of a pull in the source's state: a success ends the failure streak,
    /// a failure lengthens it. Returns the streak after this pull.
    pub async fn record_pull_outcome(
        &self,
        source: &str,
        status: &str,
        error: Option<&str>,
        now_ms: i64,
    ) -> anyhow::Result<i64> {
        let sql = match error {
            None => {
                "UPDATE source_state SET consecutive_failures = 0, last_success_at = $1, last_status = $2, last_error = $3, updated_at = $1 WHERE source = $4 RETURNING consecutive_failures"
            }
            Some(_) => {
                "UPDATE source_state SET consecutive_failures = consecutive_failures + 1, last_failure_at = $1, last_status = $2, last_error = $3, updated_at = $1 WHERE source = $4 RETURNING consecutive_failures"
            }
        };
        let n = on_pool!(self, p => {
            let mut tx = p.begin().await?;
            sqlx::query(ENSURE).bind(source).bind(now_ms).execute(&mut *tx).await?;
            let n: i32 = sqlx::query_scalar(sql).bind(now_ms).bind(status).bind(error).bind(source).fetch_one(&mut *tx).await?;
            tx.commit().await?;
            n
        });
        Ok(i64::from(n))
    }

    /// Records the start of a pull and returns its id.
    pub async fn begin_pull(&self, source: &str, kind: &str, now_ms: i64) -> anyhow::Result<i64> {
        let sql = "INSERT INTO pull_run (source, kind, started_at, status) VALUES ($1, $2, $3, 'running') RETURNING id";
        let id = on_pool!(self, p => sqlx::query_scalar::<_, i64>(sql).bind(source).bind(kind).bind(now_ms).fetch_one(p).await?);
        Ok(id)
    }

    /// Records how a pull ended.
    pub async fn finish_pull(&self, id: i64, end: &PullEnd<'_>) -> anyhow::Result<()> {
        let sql = "UPDATE pull_run SET finished_at = $1, status = $2, pages = $3, bytes = $4, accepted = $5, revised = $6, unchanged = $7, rejected = $8, error = $9 WHERE id = $10";
        on_pool!(self, p => {
            sqlx::query(sql)
                .bind(end.finished_ms)
                .bind(end.status)
                .bind(end.pages as i64)
                .bind(end.bytes as i64)
                .bind(end.accepted as i64)
                .bind(end.revised as i64)
                .bind(end.unchanged as i64)
                .bind(end.rejected as i64)
                .bind(end.error)
                .bind(id)
                .execute(p)
                .await?;
        });
        Ok(())
    }

    /// The latest pulls of a source (all sources when `None`), newest first.
    pub async fn pull_runs(
        &self,
        source: Option<&str>,
        limit: i64,
    ) -> anyhow::Result<Vec<PullRun>> {
        let sql = "SELECT id, source, kind, started_at, finished_at, status, pages, bytes, accepted, revised, unchanged, rejected, error
                   FROM pull_run WHERE $1 IS NULL OR source = $1 ORDER BY id DESC LIMIT $2";
        let sql = match self.backend() {
            // PostgreSQL cannot infer the type of a parameter that is only compared with NULL.
            super::Backend::Postgres => sql.replace("$1 IS NULL", "$1::TEXT IS NULL"),
            super::Backend::Sqlite => sql.to_string(),
        };
        let rows = on_pool!(self, p => {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(source)
                .bind(limit)
                .fetch_all(p)
                .await?
                .into_iter()
                .map(|r| {
                    Ok(PullRun {
                        id: r.try_get(0)?,
                        source: r.try_get(1)?,
                        kind: r.try_get(2)?,
                        started_at: r.try_get(3)?,
                        finished_at: r.try_get(4)?,
                        status: r.try_get(5)?,
                        pages: r.try_get(6)?,
                        bytes: r.try_get(7)?,
                        accepted: r.try_get(8)?,
                        revised: r.try_get(9)?,
                        unchanged: r.try_get(10)?,
                        rejected: r.try_get(11)?,
                        error: r.try_get(12)?,
                    })
                })
                .collect::<Result<Vec<_>, sqlx::Error>>()?
        });
        Ok(rows)
    }

    /// The sha256 of the latest committed import from this source and address (file or URL):
    /// content equal to it is not ingested again.
    pub async fn last_committed_sha(
        &self,
        source: &str,
        file: &str,
    ) -> anyhow::Result<Option<String>> {
        let sql = "SELECT sha256 FROM import_run WHERE source = $1 AND file = $2 AND status IN ('ok', 'partial') ORDER BY id DESC LIMIT 1";
        let sha = on_pool!(self, p => sqlx::query_scalar::<_, String>(sql).bind(source).bind(file).fetch_optional(p).await?);
        Ok(sha)
    }
}

impl SubmissionImport {
    /// Writes a source's cursor inside this import's transaction: it is stored exactly when the
    /// rows are.
    pub async fn save_cursor(
        &mut self,
        source: &str,
        cursor: &str,
        now_ms: i64,
    ) -> anyhow::Result<()> {
        let update = "UPDATE source_state SET cursor = $1, updated_at = $2 WHERE source = $3";
        match &mut self.tx {
            ImportTx::Sqlite(tx) => {
                sqlx::query(ENSURE)
                    .bind(source)
                    .bind(now_ms)
                    .execute(&mut **tx)
                    .await?;
                sqlx::query(update)
                    .bind(cursor)
                    .bind(now_ms)
                    .bind(source)
                    .execute(&mut **tx)
                    .await?;
            }
            ImportTx::Postgres(tx) => {
                sqlx::query(ENSURE)
                    .bind(source)
                    .bind(now_ms)
                    .execute(&mut **tx)
                    .await?;
                sqlx::query(update)
                    .bind(cursor)
                    .bind(now_ms)
                    .bind(source)
                    .execute(&mut **tx)
                    .await?;
            }
        }
        Ok(())
    }
}
