//! `submission_year`, the packed store of current figures ([`super::packed`]): reading it back
//! as months, and building it from the row table `submission` when a migration asks
//! (`rebuild_pending`; the build is `rebuild.rs`'s). Imports write it in `submissions.rs`.

use sqlx::PgConnection;

use super::Store;
use super::copy::BinaryCopyWriter;
use super::packed::{self, Month};
use crate::period::Period;

const UPSERT: &str = "ON CONFLICT (year, credit_code) DO UPDATE SET months = excluded.months";

/// Writes packed years (binary COPY input) into `submission_year`, replacing earlier packs.
pub(super) async fn store_packs_postgres(
    conn: &mut PgConnection,
    out: BinaryCopyWriter,
) -> anyhow::Result<()> {
    sqlx::query("CREATE TEMP TABLE packed_stage (year INTEGER NOT NULL, credit_code TEXT NOT NULL, months BYTEA NOT NULL) ON COMMIT DROP")
        .execute(&mut *conn)
        .await?;
    let mut copy = conn
        .copy_in_raw("COPY packed_stage (year, credit_code, months) FROM STDIN (FORMAT binary)")
        .await?;
    copy.send(out.finish()).await?;
    copy.finish().await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO submission_year (year, credit_code, months) SELECT year, credit_code, months FROM packed_stage {UPSERT}"
    )))
    .execute(&mut *conn)
    .await?;
    sqlx::query("DROP TABLE packed_stage")
        .execute(&mut *conn)
        .await?;
    Ok(())
}

impl Store {
    /// Runs the rebuilds that migrations asked for (`rebuild_pending`): packing
    /// `submission_year` from the rows of `submission`, one transaction a year (0007), and
    /// writing the rows of a packed-only database from its packs (0011, [`Store::unpack_rows`]).
    pub(super) async fn run_pending_rebuilds(&self) -> anyhow::Result<()> {
        let pending: Vec<String> = super::on_pool!(self, p => sqlx::query_scalar("SELECT name FROM rebuild_pending").fetch_all(p).await?);
        let rows_table = self.has_row_table().await?;
        if pending.iter().any(|n| n == "submission_year") {
            if rows_table {
                self.pack_row_table().await?;
            } else {
                // Nothing to pack from: the packed years are the only store already.
                tracing::warn!(
                    "要求重建按年打包的报表，但逐行报表表 submission 已不存在，按年数据保持原样 (submission_year: a rebuild was asked for, but the row table `submission` is gone; the packed years stand as they are)"
                );
            }
            super::on_pool!(self, p => { sqlx::query("DELETE FROM rebuild_pending WHERE name = 'submission_year'").execute(p).await?; });
        }
        // 0008's drop of the row table is never carried out: `submission` is the record again
        // (migration 0011 cancels it too).
        if pending.iter().any(|n| n == "drop_submission") {
            super::on_pool!(self, p => { sqlx::query("DELETE FROM rebuild_pending WHERE name = 'drop_submission'").execute(p).await?; });
        }
        if pending.iter().any(|n| n == "submission_rows") {
            self.unpack_rows().await?;
            super::on_pool!(self, p => { sqlx::query("DELETE FROM rebuild_pending WHERE name = 'submission_rows'").execute(p).await?; });
        }
        Ok(())
    }

    /// Whether the row table `submission` of a database from before migration 0008 is still there.
    async fn has_row_table(&self) -> anyhow::Result<bool> {
        let n: i64 = match self {
            Store::Sqlite(p) => sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'submission'").fetch_one(p).await?,
            Store::Postgres(p) => sqlx::query_scalar("SELECT COUNT(*) FROM pg_catalog.pg_tables WHERE schemaname = current_schema() AND tablename = 'submission'").fetch_one(p).await?,
        };
        Ok(n > 0)
    }

    /// Packs every year of the row table `submission` into `submission_year`: a rebuild of
    /// every pack ([`Store::rebuild_packs`]).
    async fn pack_row_table(&self) -> anyhow::Result<()> {
        let scope = super::rebuild::RebuildScope::default();
        let sum = self.rebuild_packs(&scope, true, |_| {}, |_| {}).await?;
        if sum.missing + sum.differing > 0 {
            tracing::info!(
                packs = sum.missing + sum.differing,
                "已从已存报表生成按年打包的评估数据 (submission_year packed from the stored submissions)"
            );
        }
        Ok(())
    }

    /// Every stored month of the calendar years `from..=to`, ordered by enterprise and period:
    /// the current figures, revision and import run.
    pub async fn stored_months(&self, from: i32, to: i32) -> anyhow::Result<Vec<StoredMonth>> {
        let sql = "SELECT credit_code, year, months FROM submission_year WHERE year BETWEEN $1 AND $2 ORDER BY credit_code, year";
        let rows: Vec<(String, i32, Vec<u8>)> =
            super::on_pool!(self, p => sqlx::query_as(sql).bind(from).bind(to).fetch_all(p).await?);
        let mut out = Vec::new();
        for (code, year, pack) in rows {
            let mut bad = None;
            packed::decode(&pack, |m, f| match Period::new(year, m) {
                Some(period) => out.push(StoredMonth {
                    credit_code: code.clone(),
                    period,
                    fields: *f,
                }),
                None => bad = Some(m),
            })?;
            if let Some(m) = bad {
                anyhow::bail!("submission_year {year} {code}: month {m} out of range");
            }
        }
        Ok(out)
    }
}

/// One enterprise-month as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMonth {
    pub credit_code: String,
    pub period: Period,
    /// Every figure of [`crate::indicator::FIELDS`], then the revision and the import run
    /// ([`packed::REVISION`], [`packed::RUN_ID`]).
    pub fields: Month,
}
