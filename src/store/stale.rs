//! Packs older than their rows, found and rebuilt before an evaluation reads them.
//!
//! `submission` is the record; `submission_year` a cache of it, written by indmon in the same
//! transaction as the rows it packs. indmon is the only writer — people and BI tools get a
//! read-only role — but a row can still change behind its back (an administrator's `UPDATE`
//! in psql or the sqlite3 shell), and its pack must then never be evaluated stale.
//!
//! The design: a mark per enterprise-year whose pack may be older than its rows — the issue's
//! "stamp per enterprise-year" — in `submission_year_stale (year, credit_code, stamp)`.
//! Triggers on `submission` (migration 0012) mark the enterprise-year of every row inserted,
//! updated or deleted, unless indmon itself is writing: its write transactions call
//! [`mark_indmon_writer`] first (PostgreSQL: `SET LOCAL indmon.writer = 'on'`, which the
//! trigger's `WHEN` tests, so no row event is even queued; SQLite: a row in `pack_writer`,
//! and the triggers dropped for the transaction, both undone by [`unmark_indmon_writer`]
//! before the commit — DDL is transactional there, so no other connection ever sees the
//! table without its triggers, and migration 0021 keeps their text to create them again).
//! `TRUNCATE` on PostgreSQL marks every pack.
//! Before an evaluation reads its window, [`Store::refresh_stale_years`] asks whether any mark
//! exists — one probe of an index, the whole cost on the evaluation's path when nothing is
//! stale — and rebuilds the marked packs from their rows, deleting the marks it rebuilt in the
//! same transaction.
//!
//! Why marks rather than comparing a version kept in each pack with one kept in the rows: the
//! rows keep migration 0001's columns, which have no version, and comparing every pack with
//! its rows is a whole `indmon rebuild --check`. Marks cost nothing while nobody writes behind
//! indmon's back, and nothing on indmon's own imports.
//!
//! Why a stamp: on PostgreSQL a change can commit while a rebuild runs. A rebuild reads the
//! marks with their stamps before it reads the rows, and deletes a mark only if its stamp is
//! unchanged. A change it may have missed has raised the stamp (or waited on the mark's row
//! lock, and raises it after), so its mark stays for the next rebuild.

use std::collections::HashSet;

use sqlx::{PgConnection, SqliteConnection};

use super::Store;
use super::pack_tx::{PackTx, lit};

/// Marked enterprise-years rebuilt per transaction.
const REFRESH_BATCH: usize = 5_000;

/// A connection whose transaction can declare itself indmon's own writer.
pub trait IndmonWriter {
    fn mark(&mut self) -> impl Future<Output = anyhow::Result<()>> + Send;
    fn unmark(&mut self) -> impl Future<Output = anyhow::Result<()>> + Send;
}

impl IndmonWriter for SqliteConnection {
    /// Sets the writer mark, then drops the stale-mark triggers for the rest of the
    /// transaction: SQLite would otherwise evaluate their `WHEN` for every row written
    /// (migration 0021 keeps their text for [`IndmonWriter::unmark`]).
    async fn mark(&mut self) -> anyhow::Result<()> {
        sqlx::query("INSERT OR IGNORE INTO pack_writer (id) VALUES (1)")
            .execute(&mut *self)
            .await?;
        let names: Vec<String> = sqlx::query_scalar(
            "SELECT s.name FROM stale_trigger s
             JOIN sqlite_master m ON m.type = 'trigger' AND m.name = s.name",
        )
        .fetch_all(&mut *self)
        .await?;
        for name in names {
            let drop = format!("DROP TRIGGER \"{}\"", name.replace('"', "\"\""));
            // The name is quoted as an identifier; it comes from our own table.
            sqlx::raw_sql(sqlx::AssertSqlSafe(drop))
                .execute(&mut *self)
                .await?;
        }
        Ok(())
    }

    /// Creates the triggers again from their kept text and clears the writer mark.
    async fn unmark(&mut self) -> anyhow::Result<()> {
        let missing: Vec<String> = sqlx::query_scalar(
            "SELECT s.sql FROM stale_trigger s
             WHERE NOT EXISTS (SELECT 1 FROM sqlite_master m WHERE m.type = 'trigger' AND m.name = s.name)
             ORDER BY s.name",
        )
        .fetch_all(&mut *self)
        .await?;
        for sql in missing {
            // The text migration 0021 copied from SQLite's own schema.
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut *self)
                .await?;
        }
        sqlx::query("DELETE FROM pack_writer").execute(self).await?;
        Ok(())
    }
}

impl IndmonWriter for PgConnection {
    async fn mark(&mut self) -> anyhow::Result<()> {
        sqlx::query("SELECT set_config('indmon.writer', 'on', true)")
            .execute(self)
            .await?;
        Ok(())
    }

    async fn unmark(&mut self) -> anyhow::Result<()> {
        sqlx::query("SELECT set_config('indmon.writer', '', true)")
            .execute(self)
            .await?;
        Ok(())
    }
}

/// Declares the open transaction on `conn` indmon's own write of `submission`, which writes the
/// packs itself: the triggers leave its changes unmarked. Call it first in the transaction, and
/// [`unmark_indmon_writer`] just before its commit (on SQLite the mark is a row that must not
/// be committed; a rollback takes it away by itself).
pub async fn mark_indmon_writer(conn: &mut impl IndmonWriter) -> anyhow::Result<()> {
    conn.mark().await
}

/// Ends what [`mark_indmon_writer`] declared; call it just before the commit.
pub async fn unmark_indmon_writer(conn: &mut impl IndmonWriter) -> anyhow::Result<()> {
    conn.unmark().await
}

impl Store {
    /// Rebuilds the packs of the enterprise-years marked stale from their rows and clears
    /// their marks, one transaction per [`REFRESH_BATCH`]; returns how many it rebuilt. When
    /// nothing is marked it costs one small query.
    pub async fn refresh_stale_years(&self) -> anyhow::Result<u64> {
        let any = match self {
            Store::Sqlite(p) => {
                // A writer mark left behind, or triggers missing (a bug), would hide other
                // programs' changes: the refresh below removes the mark, says so, and creates
                // the triggers again.
                sqlx::query_scalar::<_, i64>(
                    "SELECT EXISTS (SELECT 1 FROM submission_year_stale) OR EXISTS (SELECT 1 FROM pack_writer)
                     OR EXISTS (SELECT 1 FROM stale_trigger s WHERE NOT EXISTS
                         (SELECT 1 FROM sqlite_master m WHERE m.type = 'trigger' AND m.name = s.name))",
                )
                .fetch_one(p)
                .await?
                    != 0
            }
            Store::Postgres(p) => {
                sqlx::query_scalar::<_, bool>("SELECT EXISTS (SELECT 1 FROM submission_year_stale)")
                    .fetch_one(p)
                    .await?
            }
        };
        if !any {
            return Ok(0);
        }
        let started = std::time::Instant::now();
        let mut total = 0u64;
        loop {
            let mut tx = PackTx::begin(self, true).await?;
            let marks = tx
                .marks(&format!(
                    "1 = 1 ORDER BY year, credit_code LIMIT {REFRESH_BATCH}"
                ))
                .await?;
            if !marks.is_empty() {
                let codes: HashSet<&str> = marks.iter().map(|(_, c, _)| c.as_str()).collect();
                let list = codes.into_iter().map(lit).collect::<Vec<_>>().join(", ");
                let (mut made, _) = tx.derive(&format!("credit_code IN ({list})")).await?;
                let mut put = Vec::new();
                let mut remove = Vec::new();
                for (year, code, _) in &marks {
                    match made.remove(&(code.clone(), *year)) {
                        Some(pack) => put.push((*year, code.clone(), pack)),
                        None => remove.push((*year, code.clone())),
                    }
                }
                tx.apply(&put, &remove).await?;
                tx.clear_marks(&marks).await?;
            }
            tx.commit().await?;
            total += marks.len() as u64;
            if marks.len() < REFRESH_BATCH {
                break;
            }
        }
        if total > 0 {
            tracing::info!(
                enterprise_years = total,
                ms = started.elapsed().as_millis() as u64,
                "逐行报表在 indmon 之外被修改，已从报表行重建 {total} 个企业年度的打包数据 (rebuilt the packs of {total} enterprise-years whose rows changed outside indmon)"
            );
        }
        Ok(total)
    }
}
