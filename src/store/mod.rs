//! Storage on SQLite (the embedded default) or PostgreSQL (production), chosen by the URL.
//!
//! Every query is written once in SQL both engines accept (`$n` placeholders, `IS NOT
//! DISTINCT FROM`, `ON CONFLICT`); [`on_pool!`] expands one body for each backend so that the
//! two cannot drift apart. Each backend keeps its own migration history under `migrations/`.
//! Only the bulk paths differ: PostgreSQL reads and writes them with `COPY`, SQLite by stepping
//! prepared statements directly (`sqlite_raw`).

mod alert_write;
mod alerts;
mod case_sync;
pub mod cases;
pub mod chase;
mod console;
mod copy;
mod copy_feed;
mod enterprise_import;
mod enterprises;
mod evaluation;
mod export;
mod first_load;
mod forecast;
mod forecast_power;
mod held;
mod jobs;
mod locator;
mod merge_feed;
mod outbox;
mod pack_tx;
pub mod packed;
#[cfg(test)]
mod plans;
mod power;
mod power_import;
mod power_pieces;
mod power_prune;
mod power_read;
mod projects;
mod rebuild;
mod registry;
mod robots;
mod rows;
mod run_writer;
mod runs;
mod snapshots;
mod sources;
mod sqlite_raw;
mod stale;
mod submissions;
mod window;
mod xun_days;
mod xun_release;
mod xun_warnings;
mod year_runs;
mod years;

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, Row, SqlitePool};

pub use alerts::EvaluationEnd;
pub use console::SessionRow;
pub use enterprise_import::{ENTERPRISE_BATCH, EnterpriseImport};
pub use export::{SubmissionRow, Vintage};
pub use forecast::{Stock as ForecastStock, month_start_ms};
pub use jobs::JobStat;
pub use power_import::{Added, LEAST_LINES, PowerDaysImport, Repeated, Repeats};
pub use power_prune::Pruned;
pub use rebuild::{
    BATCH_ROWS as REBUILD_BATCH_ROWS, Difference, PackDifference, RebuildScope, RebuildSummary,
};
pub use registry::Applied as RegistryApplied;
pub use robots::{RobotRow, RobotUndelivered};
pub use runs::RunEnd;
pub use snapshots::{KeptFile, KeptSnapshot};
pub use sources::PullEnd;
pub use stale::{IndmonWriter, mark_indmon_writer, unmark_indmon_writer};
pub use submissions::{BUFFER_LIMIT, MergeOutcome, REFRESH_STATISTICS_AFTER, SubmissionImport};
pub use xun_warnings::{StagedWarnings, XunWarnings};
pub use years::StoredMonth;

use crate::record::Reject;

/// Expands `$body` once per backend with `$pool` bound to that backend's pool.
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match $store {
            $crate::store::Store::Sqlite($pool) => $body,
            $crate::store::Store::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

/// A connection pool to one of the two supported databases.
#[derive(Clone, Debug)]
pub enum Store {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Which engine a store runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Read-only connections of a SQLite file's read pool ([`Store::open_reads`]): the console's
/// pages read on them while the single writer connection writes.
pub const READ_CONNECTIONS: u32 = 4;

/// The default database: a SQLite file in the working directory.
pub const DEFAULT_URL: &str = "sqlite://indmon.db";

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Store {
    /// Opens a pool for `url` (`sqlite://FILE`, `sqlite::memory:`, `postgres://…`). A SQLite file
    /// is created if missing and runs in WAL mode. The URL's password is never logged.
    pub async fn connect(url: &str) -> anyhow::Result<Store> {
        Store::connect_with_password(url, None).await
    }

    /// As [`Store::connect`], with a PostgreSQL password kept out of the URL (from a file or
    /// the environment, as the configuration's `database.password` names it).
    pub async fn connect_with_password(
        url: &str,
        password: Option<&SecretString>,
    ) -> anyhow::Result<Store> {
        if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)
                .with_context(|| format!("数据库地址无效 (invalid SQLite URL) {url}"))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(30))
                .foreign_keys(true)
                .pragma("cache_size", "-65536")
                .pragma("temp_store", "file");
            // One writer at a time is SQLite's model; a single connection also keeps
            // `sqlite::memory:` one database.
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(opts)
                .await
                .with_context(|| {
                    format!("无法打开 SQLite 数据库 (cannot open SQLite database) {url}")
                })?;
            Ok(Store::Sqlite(pool))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let mut opts = PgConnectOptions::from_str(url)
                .context("数据库地址无效 (invalid PostgreSQL URL)")?;
            if let Some(p) = password {
                opts = opts.password(p.expose_secret());
            }
            let shown = redact_url(url);
            let pool = PgPoolOptions::new()
                .max_connections(8)
                .acquire_timeout(Duration::from_secs(15))
                .connect_with(opts)
                .await
                .with_context(|| {
                    format!("无法连接 PostgreSQL (cannot connect to PostgreSQL) {shown}")
                })?;
            Ok(Store::Postgres(pool))
        } else {
            anyhow::bail!(
                "不支持的数据库地址“{}”：应以 sqlite:// 或 postgres:// 开头 (unsupported database URL)",
                redact_url(url)
            )
        }
    }

    /// A store for reads beside this one: on a SQLite file, a pool of [`READ_CONNECTIONS`]
    /// read-only connections to the same file, which WAL lets read while this store's single
    /// connection writes (each read sees every transaction committed before it began, so a
    /// read after a write in the same request sees it); on PostgreSQL and an in-memory SQLite
    /// database (one connection is the whole database), this store itself. Any write through a
    /// read-only connection fails, so a write mistakenly sent there cannot go unnoticed.
    pub async fn open_reads(&self) -> anyhow::Result<Store> {
        let Store::Sqlite(writer) = self else {
            return Ok(self.clone());
        };
        // The main database's file as SQLite names it: empty for an in-memory database.
        let file: String =
            sqlx::query_scalar("SELECT file FROM pragma_database_list WHERE name = 'main'")
                .fetch_one(writer)
                .await?;
        if file.is_empty() {
            return Ok(self.clone());
        }
        let opts = (*writer.connect_options())
            .clone()
            .filename(&file)
            .read_only(true)
            .create_if_missing(false)
            .pragma("cache_size", "-16384");
        let pool = SqlitePoolOptions::new()
            .max_connections(READ_CONNECTIONS)
            .min_connections(1)
            .connect_with(opts)
            .await
            .with_context(|| {
                format!("无法以只读方式打开 SQLite 数据库 (cannot open SQLite database read-only) {file}")
            })?;
        Ok(Store::Sqlite(pool))
    }

    pub fn backend(&self) -> Backend {
        match self {
            Store::Sqlite(_) => Backend::Sqlite,
            Store::Postgres(_) => Backend::Postgres,
        }
    }

    /// Applies the migrations this binary carries that the database does not have yet, then
    /// builds the derived tables they asked for (see `rebuild_pending`). As every command and
    /// the daemon call this first, it also marks the import runs that a dead process of this
    /// host left `running` as `interrupted` ([`Store::mark_interrupted_runs`]).
    pub async fn migrate(&self) -> anyhow::Result<()> {
        match self {
            Store::Sqlite(p) => SQLITE_MIGRATIONS.run(p).await,
            Store::Postgres(p) => POSTGRES_MIGRATIONS.run(p).await,
        }
        .context("数据库迁移失败 (migration failed)")?;
        self.run_pending_rebuilds()
            .await
            .context("迁移后重建派生数据失败 (rebuilding derived data after migration failed)")?;
        self.mark_interrupted_runs(chrono::Utc::now().timestamp_millis())
            .await
            .context("标记中断的导入批次失败 (marking interrupted import runs failed)")?;
        Ok(())
    }

    /// The migrations applied, as `(version, description)`.
    pub async fn applied_migrations(&self) -> anyhow::Result<Vec<(i64, String)>> {
        let rows = on_pool!(self, p => {
            sqlx::query("SELECT version, description FROM _sqlx_migrations ORDER BY version")
                .fetch_all(p)
                .await?
                .into_iter()
                .map(|r| Ok((r.try_get::<i64, _>(0)?, r.try_get::<String, _>(1)?)))
                .collect::<Result<Vec<_>, sqlx::Error>>()?
        });
        Ok(rows)
    }

    /// Gives back the memory a large job took, once it is over: the SQLite writer's page
    /// cache (`PRAGMA shrink_memory`; up to 64 MiB, refilled on demand from the file), then the
    /// heap freed ([`crate::heap::trim`]). Best effort: a failure is only logged.
    pub async fn release_memory(&self) {
        let started = std::time::Instant::now();
        if let Store::Sqlite(p) = self
            && let Err(e) = sqlx::query("PRAGMA shrink_memory").execute(p).await
        {
            tracing::debug!(error = %e, "SQLite's page cache was not let go");
        }
        crate::heap::trim();
        let ms = started.elapsed().as_millis() as u64;
        tracing::debug!(ms, "memory given back");
    }

    pub async fn close(&self) {
        on_pool!(self, p => p.close().await)
    }

    /// The rejects kept for an import run, in line order.
    pub async fn rejects(&self, run_id: i64) -> anyhow::Result<Vec<Reject>> {
        let sql = "SELECT line, col, field, value, reason FROM reject WHERE run_id = $1 ORDER BY line, id";
        let rows = on_pool!(self, p => {
            sqlx::query(sql)
                .bind(run_id)
                .fetch_all(p)
                .await?
                .into_iter()
                .map(|r| {
                    Ok(Reject {
                        line: r.try_get::<i64, _>(0)? as u64,
                        column: r.try_get(1)?,
                        field: r.try_get(2)?,
                        value: r.try_get(3)?,
                        reason: r.try_get(4)?,
                    })
                })
                .collect::<Result<Vec<_>, sqlx::Error>>()?
        });
        Ok(rows)
    }

    /// Counts the rows of a table (for summaries and tests); `table` must be a known name.
    pub async fn count(&self, table: &str) -> anyhow::Result<i64> {
        anyhow::ensure!(TABLES.contains(&table), "unknown table {table}");
        let sql = format!("SELECT COUNT(*) FROM {table}");
        Ok(
            on_pool!(self, p => sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql.as_str())).fetch_one(p).await?),
        )
    }
}

/// The tables [`Store::count`] may be asked about.
const TABLES: &[&str] = &[
    "unit",
    "submission",
    "enterprise",
    "target",
    "unit_indicator",
    "import_run",
    "reject",
    "submission_history",
    "submission_year",
    "submission_year_stale",
    "registry_change",
    "evaluation_run",
    "alert",
    "alert_scope",
    "alert_event",
    "silence",
    "source_state",
    "pull_run",
    "outbox",
    "outbox_cover",
    "notification_cursor",
    "notified",
    "job_run",
    "project",
    "project_progress",
    "project_progress_history",
    "power_account",
    "power_daily",
    "power_daily_history",
    "xun_report",
    "xun_report_history",
    "xun_release",
    "xun_warning",
    "power_xun_total",
    "power_pruned_month",
    "power_xun_days",
    "power_xun_packed",
];

/// A database URL with its password replaced, for messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let cred = &url[s + 3..at];
            match cred.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            super::redact_url("postgres://u:s3cret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(super::redact_url("postgres://h/db"), "postgres://h/db");
    }
}
