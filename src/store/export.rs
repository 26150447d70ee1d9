//! Reads for `indmon export`: the current submissions of a range of periods, streamed one
//! enterprise-month at a time in the order of enterprise and period, so that a nation's
//! export holds one enterprise in memory, never the whole range; and the data's vintage.
//!
//! Submissions are read from the record, the rows of `submission`
//! ([`Store::export_submissions_from_rows`]); the reader of the packed years stays, and a test
//! shows that both give the same rows.

use std::collections::HashMap;

use futures_util::TryStreamExt;
use sqlx::Row;

use super::packed::{self, N_FIELDS};
use super::{Store, on_pool};
use crate::indicator;
use crate::period::Period;

/// One enterprise-month as exported: its current figures and where they came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubmissionRow {
    pub credit_code: String,
    pub period: Period,
    /// Every figure of [`indicator::FIELDS`] at the internal scale, `None` where not reported.
    pub figures: [Option<i64>; indicator::N_FIELDS],
    pub revision: i64,
    pub run_id: i64,
    /// When the figures were received (the start of their import run), epoch milliseconds.
    pub received_at: Option<i64>,
    /// The enterprise as registered; `None` for a code not in the registry.
    pub name: Option<String>,
    pub unit_code: Option<String>,
    pub zone_code: Option<String>,
}

/// The newest committed import run: the data's vintage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vintage {
    pub run_id: i64,
    pub finished_at: Option<i64>,
}

/// Enterprises in unit `$3` (their district or their zone), all when `$3` is NULL.
const IN_UNIT: &str = "($3 IS NULL OR e.unit_code = $3 OR e.zone_code = $3)";

impl Store {
    /// Calls `row` with every current submission of the periods `from..=to` of the enterprises
    /// in `unit` (their district or zone; `None`: all), ordered by enterprise and period.
    /// Returns how many rows were handed over.
    pub async fn export_submissions(
        &self,
        from: Period,
        to: Period,
        unit: Option<&str>,
        row: impl FnMut(&SubmissionRow) -> anyhow::Result<()>,
    ) -> anyhow::Result<u64> {
        self.export_submissions_from_rows(from, to, unit, row).await
    }

    /// [`Store::export_submissions`] read from the packed years, one enterprise-year at a time.
    pub async fn export_submissions_from_packs(
        &self,
        from: Period,
        to: Period,
        unit: Option<&str>,
        mut row: impl FnMut(&SubmissionRow) -> anyhow::Result<()>,
    ) -> anyhow::Result<u64> {
        let received = self.run_starts().await?;
        let sql = format!(
            "SELECT y.credit_code, y.year, y.months, e.name, e.unit_code, e.zone_code
             FROM submission_year y LEFT JOIN enterprise e ON e.credit_code = y.credit_code
             WHERE y.year BETWEEN $1 AND $2 AND {IN_UNIT} ORDER BY y.credit_code, y.year"
        );
        let mut n = 0u64;
        on_pool!(self, p => {
            let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(from.year()).bind(to.year()).bind(unit).fetch(p);
            while let Some(r) = rows.try_next().await? {
                let year: i32 = r.try_get(1)?;
                let pack: Vec<u8> = r.try_get(2)?;
                let mut out = SubmissionRow {
                    credit_code: r.try_get(0)?,
                    period: from,
                    figures: [None; indicator::N_FIELDS],
                    revision: 0,
                    run_id: 0,
                    received_at: None,
                    name: r.try_get(3)?,
                    unit_code: r.try_get(4)?,
                    zone_code: r.try_get(5)?,
                };
                let mut result = Ok(());
                packed::decode(&pack, |m, f| {
                    let Some(period) = Period::new(year, m).filter(|p| (from..=to).contains(p)) else {
                        return;
                    };
                    if result.is_ok() {
                        out.period = period;
                        out.figures.copy_from_slice(&f[..indicator::N_FIELDS]);
                        out.revision = f[packed::REVISION].unwrap_or(0);
                        out.run_id = f[packed::RUN_ID].unwrap_or(0);
                        out.received_at = received.get(&out.run_id).copied();
                        n += 1;
                        result = row(&out);
                    }
                })?;
                result?;
            }
        });
        Ok(n)
    }

    /// [`Store::export_submissions`] read from the row table `submission` (columns as in
    /// migration 0001), for when that table is the record again.
    pub async fn export_submissions_from_rows(
        &self,
        from: Period,
        to: Period,
        unit: Option<&str>,
        mut row: impl FnMut(&SubmissionRow) -> anyhow::Result<()>,
    ) -> anyhow::Result<u64> {
        let figures = (0..indicator::N_FIELDS)
            .map(|k| format!("s.{}", packed::field_name(k)))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT s.credit_code, s.period, CAST(s.revision AS BIGINT), s.run_id, s.received_at,
                    e.name, e.unit_code, e.zone_code, {figures}
             FROM submission s LEFT JOIN enterprise e ON e.credit_code = s.credit_code
             WHERE s.period >= $1 AND s.period <= $2 AND {IN_UNIT} ORDER BY s.credit_code, s.period"
        );
        let mut n = 0u64;
        on_pool!(self, p => {
            let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(from.to_string()).bind(to.to_string()).bind(unit).fetch(p);
            while let Some(r) = rows.try_next().await? {
                let period: String = r.try_get(1)?;
                let mut out = SubmissionRow {
                    credit_code: r.try_get(0)?,
                    period: period.parse().map_err(|e| anyhow::anyhow!("submission.period {period}: {e}"))?,
                    figures: [None; indicator::N_FIELDS],
                    revision: r.try_get(2)?,
                    run_id: r.try_get(3)?,
                    received_at: r.try_get(4)?,
                    name: r.try_get(5)?,
                    unit_code: r.try_get(6)?,
                    zone_code: r.try_get(7)?,
                };
                for (k, v) in out.figures.iter_mut().enumerate() {
                    *v = r.try_get(8 + k)?;
                }
                n += 1;
                row(&out)?;
            }
        });
        Ok(n)
    }

    /// When each import run started (a submission's time of receipt), by run id.
    async fn run_starts(&self) -> anyhow::Result<HashMap<i64, i64>> {
        let sql = "SELECT id, started_at FROM import_run";
        let rows: Vec<(i64, i64)> = on_pool!(self, p => sqlx::query_as(sql).fetch_all(p).await?);
        Ok(rows.into_iter().collect())
    }

    /// The newest import run that committed data (`ok` or `partial`), if any.
    pub async fn vintage(&self) -> anyhow::Result<Option<Vintage>> {
        let sql = "SELECT id, finished_at FROM import_run WHERE status IN ('ok', 'partial') ORDER BY id DESC LIMIT 1";
        let row: Option<(i64, Option<i64>)> =
            on_pool!(self, p => sqlx::query_as(sql).fetch_optional(p).await?);
        Ok(row.map(|(run_id, finished_at)| Vintage {
            run_id,
            finished_at,
        }))
    }

    /// The time an import run finished, if it did.
    pub async fn run_finished_at(&self, run_id: i64) -> anyhow::Result<Option<i64>> {
        let sql = "SELECT finished_at FROM import_run WHERE id = $1";
        let at: Option<Option<i64>> =
            on_pool!(self, p => sqlx::query_scalar(sql).bind(run_id).fetch_optional(p).await?);
        Ok(at.flatten())
    }
}

const _: () = assert!(N_FIELDS == indicator::N_FIELDS + 2);
