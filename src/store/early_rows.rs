//! The rows of an import that can be written while the file is still being parsed
//! (PostgreSQL). An import's rows otherwise reach the server only when the file has ended and
//! its enterprise-years are whole; the server's work of storing them (most of a large import's
//! time) then follows the parse instead of running beside it.
//!
//! A row is written early when nothing about it can change by the file's end: its year has no
//! stored month of any enterprise (so the row is new, revision 1, whatever else the file holds)
//! and its month is surely the first for its enterprise-year in the file (a repeat is rejected,
//! the first stands): the rows held show that for their own months, and [`RunMonths`] for the
//! months already written out to sorted runs — a Bloom filter, so a month it only may have seen
//! is held for the merge rather than sent. A row of an enterprise not in the registry may be
//! written early too: the import is then rolled back, or when partial the run's rows of those
//! enterprises are deleted before it commits ([`delete_unknown`]).
//!
//! The rows go through one `COPY` on the import's transaction, run by a task of its own while
//! the import goes on; the transaction comes back when the copy ends ([`EarlyRows::close`]).

use std::collections::HashMap;
use std::hash::BuildHasher;

use sqlx::{PgPool, Postgres, Transaction};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::copy::BinaryCopyWriter;
use super::packed::Month;
use super::rows::copy_row;
use super::submissions::ImportTx;
use super::year_runs::YearKey;

/// Bytes of rows sent to the copy at a time.
const CHUNK: usize = 1 << 20;

/// Chunks queued for the copy before the import waits for the server.
const QUEUED: usize = 4;

/// The copy in progress: its chunks' queue, and the task that owns the transaction meanwhile.
struct Copying {
    chunks: mpsc::Sender<Vec<u8>>,
    task: JoinHandle<anyhow::Result<Transaction<'static, Postgres>>>,
}

/// Rows written before the file ends.
pub(super) struct EarlyRows {
    /// For reading which years are stored while the transaction is busy with the copy. What it
    /// reads is what the import's transaction would: the import holds the lock that keeps other
    /// writers of packed years out, and writes none before the copy ends.
    pool: PgPool,
    /// Whether a year had no stored month when the import first met it.
    fresh: HashMap<i32, bool>,
    copy: BinaryCopyWriter,
    copying: Option<Copying>,
    /// False once the file has ended.
    open: bool,
    /// The months written out to runs, once there are runs.
    in_runs: Option<RunMonths>,
    /// Rows sent.
    pub(super) rows: u64,
}

impl EarlyRows {
    pub(super) fn new(pool: PgPool) -> EarlyRows {
        EarlyRows {
            pool,
            fresh: HashMap::new(),
            copy: BinaryCopyWriter::default(),
            copying: None,
            open: true,
            in_runs: None,
            rows: 0,
        }
    }

    /// Notes the months of a run being written.
    pub(super) fn written_out(&mut self, key: &YearKey, months: u16) {
        let seen = self.in_runs.get_or_insert_with(RunMonths::new);
        for m in (1..=12).filter(|m| months & 1 << (m - 1) != 0) {
            seen.insert(key, m);
        }
    }

    /// Whether `month` of `key`, the first in the rows held, is to be written early.
    pub(super) async fn takes(&mut self, key: &YearKey, month: u32) -> anyhow::Result<bool> {
        let year = key.year;
        if !self.open
            || self
                .in_runs
                .as_ref()
                .is_some_and(|r| r.may_hold(key, month))
        {
            return Ok(false);
        }
        if let Some(fresh) = self.fresh.get(&year) {
            return Ok(*fresh);
        }
        let sql = "SELECT NOT EXISTS (SELECT 1 FROM submission_year WHERE year = $1)";
        let fresh: bool = sqlx::query_scalar(sql)
            .bind(year)
            .fetch_one(&self.pool)
            .await?;
        self.fresh.insert(year, fresh);
        Ok(fresh)
    }

    /// Writes one new row; `tx` is lent to the copy's task at the first.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn send(
        &mut self,
        tx: &mut Option<ImportTx>,
        code: &[u8],
        year: i32,
        month: u32,
        fields: &Month,
        received_at: i64,
    ) -> anyhow::Result<()> {
        copy_row(&mut self.copy, code, year, month, fields, received_at)?;
        self.rows += 1;
        if self.copy.len() < CHUNK {
            return Ok(());
        }
        if self.copying.is_none() {
            self.copying = Some(start(lend(tx)?));
        }
        let chunk = self.copy.take();
        self.push(chunk).await
    }

    async fn push(&mut self, chunk: Vec<u8>) -> anyhow::Result<()> {
        let Some(c) = &self.copying else {
            return Ok(());
        };
        if c.chunks.send(chunk).await.is_err() {
            // The task ended early: its error says why.
            if let Some(c) = self.copying.take() {
                c.task.await??;
            }
            anyhow::bail!("提前写入的复制中断 (the early COPY ended before its rows did)");
        }
        Ok(())
    }

    /// Ends the copy (sending what is left) and gives the transaction back to `tx`.
    pub(super) async fn close(&mut self, tx: &mut Option<ImportTx>) -> anyhow::Result<()> {
        self.open = false;
        let rest = std::mem::take(&mut self.copy).finish();
        if self.copying.is_none() {
            if self.rows == 0 {
                return Ok(());
            }
            self.copying = Some(start(lend(tx)?));
        }
        self.push(rest).await?;
        if let Some(c) = self.copying.take() {
            drop(c.chunks);
            *tx = Some(ImportTx::Postgres(c.task.await??));
        }
        self.rows = 0;
        Ok(())
    }
}

/// Bits of [`RunMonths`]: 16 MiB, taken only by a file larger than the import's buffer. For
/// 12.5M months (500,000 enterprises × 25) one in a hundred is held back for nothing.
const RUN_MONTH_BITS: usize = 1 << 27;

/// Bits set for each month.
const RUN_MONTH_HASHES: u64 = 4;

/// The months written out to runs, as a Bloom filter: a month it has not seen is surely not
/// in a run.
struct RunMonths {
    bits: Vec<u64>,
}

impl RunMonths {
    fn new() -> RunMonths {
        RunMonths {
            bits: vec![0; RUN_MONTH_BITS / 64],
        }
    }

    /// The bits of `month` of `key`, by double hashing.
    fn bits(key: &YearKey, month: u32) -> impl Iterator<Item = usize> {
        let h1 = foldhash::fast::FixedState::with_seed(1).hash_one((key, month));
        let h2 = foldhash::fast::FixedState::with_seed(2).hash_one((key, month)) | 1;
        (0..RUN_MONTH_HASHES)
            .map(move |i| (h1.wrapping_add(i.wrapping_mul(h2)) as usize) % RUN_MONTH_BITS)
    }

    fn insert(&mut self, key: &YearKey, month: u32) {
        for b in RunMonths::bits(key, month) {
            self.bits[b / 64] |= 1 << (b % 64);
        }
    }

    fn may_hold(&self, key: &YearKey, month: u32) -> bool {
        RunMonths::bits(key, month).all(|b| self.bits[b / 64] & 1 << (b % 64) != 0)
    }
}

/// Takes the import's PostgreSQL transaction out of `tx`, for the copy's task.
fn lend(tx: &mut Option<ImportTx>) -> anyhow::Result<Transaction<'static, Postgres>> {
    match tx.take() {
        Some(ImportTx::Postgres(t)) => Ok(t),
        other => {
            *tx = other;
            anyhow::bail!("导入事务不可用 (the import's PostgreSQL transaction is not there)")
        }
    }
}

/// Starts the copy on `tx` in a task of its own.
fn start(mut tx: Transaction<'static, Postgres>) -> Copying {
    let (chunks, mut queue) = mpsc::channel::<Vec<u8>>(QUEUED);
    let task = tokio::spawn(async move {
        {
            let sql = format!(
                "COPY submission ({}) FROM STDIN (FORMAT binary)",
                super::rows::columns()
            );
            let mut sink = tx.copy_in_raw(&sql).await?;
            while let Some(chunk) = queue.recv().await {
                sink.send(chunk).await?;
            }
            sink.finish().await?;
        }
        Ok(tx)
    });
    Copying { chunks, task }
}

/// Deletes this run's rows of the enterprises `codes`: rows written early of enterprises the
/// registry turned out not to have, in an import that keeps its other rows.
pub(super) async fn delete_unknown(
    tx: &mut Transaction<'static, Postgres>,
    codes: &[String],
    run_id: i64,
) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM submission WHERE credit_code = ANY($1) AND run_id = $2")
        .bind(codes)
        .bind(run_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u32) -> YearKey {
        let mut code = *b"913307810000000000";
        code[9..].copy_from_slice(format!("{n:09}").as_bytes());
        YearKey { code, year: 2025 }
    }

    #[test]
    fn run_months_never_miss_a_month_they_saw_and_rarely_claim_one_they_did_not() {
        let mut seen = RunMonths::new();
        for n in 0..200_000 {
            seen.insert(&key(n), n % 12 + 1);
        }
        assert!((0..200_000).all(|n| seen.may_hold(&key(n), n % 12 + 1)));
        let claimed = (0..200_000)
            .filter(|&n| seen.may_hold(&key(n), (n + 1) % 12 + 1))
            .count();
        assert!(claimed < 20, "{claimed} of 200,000 months claimed wrongly");
    }
}
