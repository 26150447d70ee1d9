//! `indmon rebuild`: the packed years (`submission_year`) made again from the record, the rows
//! of `submission`, or compared with it (`--check`). Packs are a cache: a pack the rows do not
//! make byte for byte differs, a pack without rows is an orphan, rows without a pack miss one.
//!
//! The work goes by batches of enterprises in credit-code order, each of at most
//! [`BATCH_ROWS`] rows and as many packs of each year, read, compared and written in one
//! transaction of its own: memory stays flat whatever the store's size, and a rebuild cut short
//! has committed whole batches only. Rows come in the order of their key, so each enterprise's
//! months come together and are packed as they arrive ([`super::packed::YearPacker`]).

use std::collections::BTreeMap;

use super::Store;
use super::pack_tx::{PackTx, lit};

/// Rows (and packs of each year) per batch.
pub const BATCH_ROWS: i64 = 50_000;

/// Which packs a rebuild covers: every pack, or those of one year and/or one enterprise.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RebuildScope {
    pub year: Option<i32>,
    pub enterprise: Option<String>,
    /// Rows (and packs of each year) per batch: [`BATCH_ROWS`] but in tests.
    pub batch_rows: i64,
}

impl Default for RebuildScope {
    fn default() -> RebuildScope {
        RebuildScope {
            year: None,
            enterprise: None,
            batch_rows: BATCH_ROWS,
        }
    }
}

/// How a stored pack differs from the one its rows make.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PackDifference {
    /// The enterprise-year has rows but no pack.
    Missing,
    /// The pack is not the one the rows make.
    Differs,
    /// The pack has no rows.
    Orphan,
}

impl PackDifference {
    /// The difference in words, Chinese with English in brackets.
    pub fn describe(self) -> &'static str {
        match self {
            PackDifference::Missing => "缺少打包数据 (pack missing)",
            PackDifference::Differs => "打包数据与逐行报表不一致 (pack differs from its rows)",
            PackDifference::Orphan => "打包数据无对应报表行 (pack without rows)",
        }
    }
}

/// One enterprise-year whose pack differs from its rows.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Difference {
    pub year: i32,
    pub credit_code: String,
    pub kind: PackDifference,
}

/// What a rebuild or check found (and, unless checking, repaired), so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct RebuildSummary {
    /// Rows of `submission` read.
    pub rows: u64,
    /// Packs the rows make that equal the stored ones.
    pub unchanged: u64,
    pub missing: u64,
    pub differing: u64,
    pub orphans: u64,
    /// Marks of stale enterprise-years cleared (rebuild only).
    pub marks_cleared: u64,
    pub batches: u64,
}

impl RebuildSummary {
    /// Packs that differ from their rows, of any kind.
    pub fn differences(&self) -> u64 {
        self.missing + self.differing + self.orphans
    }
}

/// Where one batch starts and ends, in credit-code order.
enum Batch {
    /// Codes after `after` (all when `None`) up to `upto` (no end when `None`).
    Range {
        after: Option<String>,
        upto: Option<String>,
    },
    One(String),
}

impl Batch {
    /// The batch's condition on `credit_code`, as SQL.
    fn codes(&self) -> String {
        match self {
            Batch::One(code) => format!("credit_code = {}", lit(code)),
            Batch::Range { after, upto } => {
                let mut parts = vec!["1 = 1".to_string()];
                if let Some(a) = after {
                    parts.push(format!("credit_code > {}", lit(a)));
                }
                if let Some(u) = upto {
                    parts.push(format!("credit_code <= {}", lit(u)));
                }
                parts.join(" AND ")
            }
        }
    }
}

impl Store {
    /// Rebuilds the packs of `scope` from the rows (`write`), or only compares them (`!write`):
    /// calls `found` with each difference and `progress` after each batch. A rebuild writes
    /// the packs that are missing or differ, deletes orphans and clears the scope's marks of
    /// stale enterprise-years ([`super::stale`]).
    pub async fn rebuild_packs(
        &self,
        scope: &RebuildScope,
        write: bool,
        mut found: impl FnMut(&Difference),
        mut progress: impl FnMut(&RebuildSummary),
    ) -> anyhow::Result<RebuildSummary> {
        if write {
            self.refuse_emptying().await?;
        }
        let years = self.pack_years(scope.year).await?;
        let mut sum = RebuildSummary::default();
        let mut batch = match &scope.enterprise {
            Some(code) => Batch::One(code.clone()),
            None => Batch::Range {
                after: None,
                upto: self.batch_end(None, &years, scope.batch_rows).await?,
            },
        };
        loop {
            let mut tx = PackTx::begin(self, write).await?;
            self.rebuild_batch(&mut tx, &batch, scope.year, &years, &mut sum, &mut found)
                .await?;
            tx.commit().await?;
            sum.batches += 1;
            progress(&sum);
            let Batch::Range {
                upto: Some(end), ..
            } = batch
            else {
                break;
            };
            let upto = self.batch_end(Some(&end), &years, scope.batch_rows).await?;
            batch = Batch::Range {
                after: Some(end),
                upto,
            };
        }
        Ok(sum)
    }

    async fn rebuild_batch(
        &self,
        tx: &mut PackTx,
        batch: &Batch,
        year: Option<i32>,
        years: &[i32],
        sum: &mut RebuildSummary,
        found: &mut impl FnMut(&Difference),
    ) -> anyhow::Result<()> {
        let codes = batch.codes();
        let year_rows = year.map_or(String::new(), |y| {
            format!(" AND period >= '{y:04}-01' AND period <= '{y:04}-12'")
        });
        // Marks first, rows after: a change committed meanwhile keeps its mark (see stale.rs).
        let marks = if tx.writes() {
            let year_marks = year.map_or(String::new(), |y| format!(" AND year = {y}"));
            tx.marks(&format!("{codes}{year_marks}")).await?
        } else {
            Vec::new()
        };
        let (mut made, rows) = tx.derive(&format!("{codes}{year_rows}")).await?;
        sum.rows += rows;
        let mut put = Vec::new();
        let mut remove = Vec::new();
        if !years.is_empty() {
            let list = years
                .iter()
                .map(i32::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            for (code, y, pack) in tx.stored(&format!("year IN ({list}) AND {codes}")).await? {
                let kind = match made.remove(&(code.clone(), y)) {
                    Some(ours) if ours == pack => {
                        sum.unchanged += 1;
                        continue;
                    }
                    Some(ours) => {
                        sum.differing += 1;
                        put.push((y, code.clone(), ours));
                        PackDifference::Differs
                    }
                    None => {
                        sum.orphans += 1;
                        remove.push((y, code.clone()));
                        PackDifference::Orphan
                    }
                };
                found(&Difference {
                    year: y,
                    credit_code: code,
                    kind,
                });
            }
        }
        for ((code, y), pack) in made {
            sum.missing += 1;
            found(&Difference {
                year: y,
                credit_code: code.clone(),
                kind: PackDifference::Missing,
            });
            put.push((y, code, pack));
        }
        if tx.writes() {
            tx.apply(&put, &remove).await?;
            sum.marks_cleared += tx.clear_marks(&marks).await?;
        }
        Ok(())
    }

    /// The years that have packs (`only`, if it has any), by stepping through the key.
    async fn pack_years(&self, only: Option<i32>) -> anyhow::Result<Vec<i32>> {
        let sql = "WITH RECURSIVE y (v) AS (
                SELECT MIN(year) FROM submission_year
                UNION ALL
                SELECT (SELECT MIN(year) FROM submission_year WHERE year > y.v) FROM y WHERE y.v IS NOT NULL
            ) SELECT v FROM y WHERE v IS NOT NULL";
        let years: Vec<i32> =
            super::on_pool!(self, p => sqlx::query_scalar(sql).fetch_all(p).await?);
        Ok(years
            .into_iter()
            .filter(|y| only.is_none_or(|o| o == *y))
            .collect())
    }

    /// The last credit code of the batch after `after`: the first of the codes that end
    /// `rows` rows, or as many packs of one year; `None` when fewer are left.
    async fn batch_end(
        &self,
        after: Option<&str>,
        years: &[i32],
        rows: i64,
    ) -> anyhow::Result<Option<String>> {
        let skip = rows.max(1) - 1;
        let from = after.map_or(String::new(), |a| format!("AND credit_code > {}", lit(a)));
        let mut queries = vec![format!(
            "SELECT credit_code FROM submission WHERE 1 = 1 {from} ORDER BY credit_code LIMIT 1 OFFSET {skip}"
        )];
        for y in years {
            queries.push(format!(
                "SELECT credit_code FROM submission_year WHERE year = {y} {from} ORDER BY credit_code LIMIT 1 OFFSET {skip}"
            ));
        }
        let mut end: Option<String> = None;
        for q in queries {
            let q = sqlx::AssertSqlSafe(q);
            let code: Option<String> =
                super::on_pool!(self, p => sqlx::query_scalar(q).fetch_optional(p).await?);
            if let Some(c) = code
                && end.as_ref().is_none_or(|e| c < *e)
            {
                end = Some(c);
            }
        }
        Ok(end)
    }

    /// Refuses to rebuild when `submission` is empty but packs exist: the rows of a database
    /// from before they came back have not been restored, and a rebuild would delete every pack.
    async fn refuse_emptying(&self) -> anyhow::Result<()> {
        let sql = "SELECT CASE WHEN EXISTS (SELECT 1 FROM submission) THEN 0 WHEN EXISTS (SELECT 1 FROM submission_year) THEN 1 ELSE 0 END";
        let empty: i32 = super::on_pool!(self, p => sqlx::query_scalar(sql).fetch_one(p).await?);
        anyhow::ensure!(
            empty == 0,
            "逐行报表表 submission 为空而按年打包数据不为空，重建会删除全部打包数据，已拒绝 (submission has no rows but submission_year has packs: a rebuild would delete them all; refused)"
        );
        Ok(())
    }
}

/// Packs made from rows, by credit code and year.
pub(super) type Made = BTreeMap<(String, i32), Vec<u8>>;
