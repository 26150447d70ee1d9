//! The first load of submissions on PostgreSQL: when an import finds `submission` and
//! `submission_year` empty (a new database taking its history, say 25 months of every
//! enterprise), keeping the primary key up to date row by row costs more than a third of the
//! import (measured with psql on 1.25M rows: COPY into the keyed table 4.8–5.0 s, into the bare
//! table and then the key built 3.3–4.0 s). So the import drops the key and disables the stale
//! trigger (indmon's own writes need no mark, `stale.rs`) for its transaction, and builds the
//! key again, by one sort, before it commits. Rows reach `submission` once each (every
//! enterprise-year is merged once and whole, `year_runs.rs`), and nothing reads the table during
//! the import, so the key is not missed (nor are the stored years looked up: there are none); a
//! repeated key would fail the key's build and roll the whole import back.
//!
//! It needs the table to itself (`ACCESS EXCLUSIVE`): if a reader holds it, the import takes
//! the ordinary way rather than wait. All of it is transactional: a killed or rolled-back
//! import leaves the key and the trigger as they were.

use sqlx::{Acquire, Postgres, Transaction};

/// The primary key of `submission` while a first load has dropped it.
pub(super) struct FirstLoad {
    key: String,
}

const EMPTY: &str =
    "SELECT NOT EXISTS (SELECT 1 FROM submission) AND NOT EXISTS (SELECT 1 FROM submission_year)";
const KEY: &str = "SELECT conname::text FROM pg_constraint WHERE conrelid = 'submission'::regclass AND contype = 'p'";

impl FirstLoad {
    /// On an empty `submission` (and `submission_year`) that no one else holds: its key
    /// dropped and its stale trigger disabled until [`FirstLoad::finish`]. `None` (and nothing
    /// changed) otherwise.
    pub(super) async fn begin(
        tx: &mut Transaction<'static, Postgres>,
    ) -> anyhow::Result<Option<FirstLoad>> {
        let empty: bool = sqlx::query_scalar(EMPTY).fetch_one(&mut **tx).await?;
        if !empty {
            return Ok(None);
        }
        let Some(key) = sqlx::query_scalar::<_, String>(KEY)
            .fetch_optional(&mut **tx)
            .await?
        else {
            return Ok(None);
        };
        let mut savepoint = (&mut *tx).begin().await?;
        let lock = "LOCK TABLE submission IN ACCESS EXCLUSIVE MODE NOWAIT";
        if let Err(e) = sqlx::query(lock).execute(&mut *savepoint).await {
            tracing::debug!(error = %e, "submission is in use: the first load keeps its key");
            savepoint.rollback().await?;
            return Ok(None);
        }
        savepoint.commit().await?;
        let drop = format!(
            "ALTER TABLE submission DROP CONSTRAINT {}, DISABLE TRIGGER submission_stale",
            quoted(&key)
        );
        sqlx::query(sqlx::AssertSqlSafe(drop))
            .execute(&mut **tx)
            .await?;
        Ok(Some(FirstLoad { key }))
    }

    /// Builds the key again and enables the trigger, in the import's transaction.
    pub(super) async fn finish(
        self,
        tx: &mut Transaction<'static, Postgres>,
    ) -> anyhow::Result<()> {
        let started = std::time::Instant::now();
        sqlx::query("SET LOCAL maintenance_work_mem = '256MB'")
            .execute(&mut **tx)
            .await?;
        let add = format!(
            "ALTER TABLE submission ADD CONSTRAINT {} PRIMARY KEY (credit_code, period), ENABLE TRIGGER submission_stale",
            quoted(&self.key)
        );
        sqlx::query(sqlx::AssertSqlSafe(add))
            .execute(&mut **tx)
            .await?;
        let ms = started.elapsed().as_millis() as u64;
        tracing::debug!(ms, "first load: the key of submission built");
        Ok(())
    }
}

/// An identifier quoted for SQL.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
