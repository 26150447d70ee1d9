//! `submission`, the record: one row per enterprise and month, every figure in its own column
//! (migration 0011). Imports write the rows in `submissions.rs`, in the transaction that packs
//! the same months into `submission_year`; this file holds the writers they share, and the
//! unpacking of the packed years into rows for a database of the packed-only releases
//! (`rebuild_pending` `submission_rows`).

use std::collections::HashMap;

use super::Store;
use super::copy::BinaryCopyWriter;
use super::packed::{self, Month, N_FIELDS, REVISION};
use super::sqlite_raw::{Handle, Statement};
use super::stale::{mark_indmon_writer, unmark_indmon_writer};
use super::submissions::LOCK_POSTGRES;

/// The columns of `submission`, in the order the writers give them.
pub(super) fn columns() -> String {
    format!("credit_code, period, {}, received_at", packed::columns(""))
}

/// Columns a row has.
const COLUMNS: usize = 2 + N_FIELDS + 1;

/// A stored period, `YYYY-MM`, written into `buf` (no allocation: one a row on the write path).
fn period_into(buf: &mut [u8; 7], year: i32, month: u32) -> anyhow::Result<&str> {
    use std::io::Write;
    let mut w = &mut buf[..];
    write!(w, "{year:04}-{month:02}")?;
    Ok(std::str::from_utf8(buf)?)
}

/// Writes rows of `submission` on SQLite by prepared statements: a plain insert for a month
/// not stored before, the `ON CONFLICT` one otherwise (an upsert looks the key up first, which
/// a new month does not need: a first import of a province is some 2× faster so).
pub(super) struct SqliteRows<'h> {
    insert: Statement<'h>,
    conflict: Statement<'h>,
}

/// What a row written onto an existing one does: replace it (an import's revision) or leave it
/// (unpacking keeps the rows already there).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum OnConflict {
    Replace,
    Keep,
}

impl OnConflict {
    /// The statement's `ON CONFLICT` clause.
    fn clause(self) -> String {
        match self {
            OnConflict::Keep => "ON CONFLICT (credit_code, period) DO NOTHING".to_string(),
            OnConflict::Replace => format!(
                "ON CONFLICT (credit_code, period) DO UPDATE SET {}",
                (0..N_FIELDS)
                    .map(packed::field_name)
                    .chain(["received_at"])
                    .map(|c| format!("{c} = excluded.{c}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

/// Whether the month being written may already have a row.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Stored {
    /// Known not to be there: a plain insert (which fails loudly if it is, all the same).
    New,
    Maybe,
}

impl<'h> SqliteRows<'h> {
    pub(super) fn prepare(h: &'h Handle<'_>, on_conflict: OnConflict) -> anyhow::Result<Self> {
        let values = (1..=COLUMNS)
            .map(|i| format!("?{i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let insert = format!("INSERT INTO submission ({}) VALUES ({values})", columns());
        let conflict = format!("{insert} {}", on_conflict.clause());
        Ok(SqliteRows {
            insert: Statement::prepare(h, &insert)?,
            conflict: Statement::prepare(h, &conflict)?,
        })
    }

    /// Writes the row of `code`'s month `year`-`month`.
    pub(super) fn write(
        &mut self,
        code: &str,
        year: i32,
        month: u32,
        fields: &Month,
        received_at: i64,
        stored: Stored,
    ) -> anyhow::Result<()> {
        let q = match stored {
            Stored::New => &mut self.insert,
            Stored::Maybe => &mut self.conflict,
        };
        let mut buf = [0u8; 7];
        q.bind_text(1, code)?;
        q.bind_text(2, period_into(&mut buf, year, month)?)?;
        for (k, v) in fields.iter().enumerate() {
            q.bind_opt_int(k as i32 + 3, *v)?;
        }
        q.bind_int(COLUMNS as i32, received_at)?;
        q.step()?;
        q.reset()
    }
}

/// Appends one row of `submission` to binary COPY input (columns as [`columns`]).
pub(super) fn copy_row(
    copy: &mut BinaryCopyWriter,
    code: &[u8],
    year: i32,
    month: u32,
    fields: &Month,
    received_at: i64,
) -> anyhow::Result<()> {
    copy.row(COLUMNS as i16);
    copy.bytes(code)?;
    let mut buf = [0u8; 7];
    copy.bytes(period_into(&mut buf, year, month)?.as_bytes())?;
    copy_fields(copy, fields)?;
    copy.int8(received_at);
    Ok(())
}

/// A month's packed fields as COPY fields: `revision` is an INTEGER column, the rest BIGINT.
pub(super) fn copy_fields(copy: &mut BinaryCopyWriter, fields: &Month) -> anyhow::Result<()> {
    for (k, v) in fields.iter().enumerate() {
        match v {
            Some(v) if k == REVISION => copy.int4(i32::try_from(*v)?),
            Some(v) => copy.int8(*v),
            None => copy.opt_bytes(None)?,
        }
    }
    Ok(())
}

/// Enterprises whose packed years one unpacking transaction turns into rows.
const UNPACK_BATCH: i64 = 2_000;

/// Seconds between progress lines while unpacking.
const PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// One packed year read for unpacking.
type Pack = (String, i32, Vec<u8>);

impl Store {
    /// Writes a row into `submission` for every month of every packed year, keeping the rows
    /// already there: the upgrade of a database of the packed-only releases (0008–0010), whose
    /// packs were the only store. A month's `received_at` is the start of the import run that
    /// wrote it. Enterprises go in batches of [`UNPACK_BATCH`], a transaction each, so memory
    /// stays bounded; run again after an interruption, it carries on where it stopped.
    pub(super) async fn unpack_rows(&self) -> anyhow::Result<()> {
        let total: i64 = super::on_pool!(self, p => sqlx::query_scalar("SELECT COUNT(*) FROM submission_year").fetch_one(p).await?);
        if total == 0 {
            return Ok(());
        }
        tracing::info!(
            packs = total,
            "正在把按年打包的报表展开为逐行的 submission 表 (unpacking submission_year into the rows of `submission`)"
        );
        let started = std::time::Instant::now();
        let runs: HashMap<i64, i64> = super::on_pool!(self, p => sqlx::query_as::<_, (i64, i64)>("SELECT id, started_at FROM import_run").fetch_all(p).await?)
            .into_iter()
            .collect();
        let years: Vec<i32> = super::on_pool!(self, p => sqlx::query_scalar("SELECT DISTINCT year FROM submission_year ORDER BY year").fetch_all(p).await?);
        let (mut after, mut done, mut logged) = (String::new(), 0i64, std::time::Instant::now());
        loop {
            let upto = self.unpack_batch_end(&years, &after).await?;
            let packs = self.packs_between(&years, &after, upto.as_deref()).await?;
            done += packs.len() as i64;
            self.write_unpacked(packs, &runs).await?;
            match upto {
                Some(code) => after = code,
                None => break,
            }
            if logged.elapsed() >= PROGRESS_EVERY {
                logged = std::time::Instant::now();
                tracing::info!(
                    packs = done,
                    of = total,
                    "展开进行中 (unpacking submission_year)"
                );
            }
        }
        tracing::info!(
            packs = done,
            ms = started.elapsed().as_millis() as u64,
            "已展开为逐行报表 (submission rows written from submission_year)"
        );
        Ok(())
    }

    /// The last credit code of the next batch after `after`: the smallest, over the years, of
    /// the [`UNPACK_BATCH`]-th code after it; `None` when every year has fewer left.
    async fn unpack_batch_end(&self, years: &[i32], after: &str) -> anyhow::Result<Option<String>> {
        let sql = "SELECT credit_code FROM submission_year WHERE year = $1 AND credit_code > $2 ORDER BY credit_code LIMIT 1 OFFSET $3";
        let mut end: Option<String> = None;
        for &year in years {
            let code: Option<String> = super::on_pool!(self, p => sqlx::query_scalar(sql).bind(year).bind(after).bind(UNPACK_BATCH - 1).fetch_optional(p).await?);
            if let Some(code) = code
                && end.as_ref().is_none_or(|e| code < *e)
            {
                end = Some(code);
            }
        }
        Ok(end)
    }

    /// The packed years of the codes in `(after, upto]` (no upper bound when `upto` is `None`),
    /// ordered as `submission`'s key.
    async fn packs_between(
        &self,
        years: &[i32],
        after: &str,
        upto: Option<&str>,
    ) -> anyhow::Result<Vec<Pack>> {
        // Two statements, not `$3 IS NULL OR …`, so that each reads only its range of the key.
        let select = "SELECT credit_code, year, months FROM submission_year WHERE year = $1 AND credit_code > $2";
        let bounded = "SELECT credit_code, year, months FROM submission_year WHERE year = $1 AND credit_code > $2 AND credit_code <= $3";
        let mut packs = Vec::new();
        for &year in years {
            let rows: Vec<Pack> = match upto {
                Some(upto) => {
                    super::on_pool!(self, p => sqlx::query_as(bounded).bind(year).bind(after).bind(upto).fetch_all(p).await?)
                }
                None => {
                    super::on_pool!(self, p => sqlx::query_as(select).bind(year).bind(after).fetch_all(p).await?)
                }
            };
            packs.extend(rows);
        }
        packs.sort_unstable_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
        Ok(packs)
    }

    /// Writes the rows of `packs` in one transaction, keeping the rows already there.
    async fn write_unpacked(
        &self,
        packs: Vec<Pack>,
        runs: &HashMap<i64, i64>,
    ) -> anyhow::Result<()> {
        let received = |f: &Month| {
            f[packed::RUN_ID]
                .and_then(|r| runs.get(&r).copied())
                .unwrap_or(0)
        };
        match self {
            Store::Sqlite(p) => {
                let mut tx = p.begin_with("BEGIN IMMEDIATE").await?;
                // indmon's own write: the packs are the source, so nothing is stale.
                mark_indmon_writer(&mut *tx).await?;
                super::sqlite_raw::with_handle(&mut tx, |h| {
                    let mut rows = SqliteRows::prepare(h, OnConflict::Keep)?;
                    for (code, year, pack) in &packs {
                        let mut months = Vec::with_capacity(12);
                        packed::decode(pack, |m, f| months.push((m, *f)))?;
                        for (m, f) in &months {
                            rows.write(code, *year, *m, f, received(f), Stored::Maybe)?;
                        }
                    }
                    Ok(())
                })
                .await?;
                unmark_indmon_writer(&mut *tx).await?;
                tx.commit().await?;
            }
            Store::Postgres(p) => {
                let mut copy = BinaryCopyWriter::default();
                for (code, year, pack) in &packs {
                    let mut bad = Ok(());
                    packed::decode(pack, |m, f| {
                        if bad.is_ok() {
                            bad = copy_row(&mut copy, code.as_bytes(), *year, m, f, received(f));
                        }
                    })?;
                    bad?;
                }
                let mut tx = p.begin().await?;
                sqlx::query(LOCK_POSTGRES).execute(&mut *tx).await?;
                mark_indmon_writer(&mut *tx).await?;
                upsert_postgres(&mut tx, copy, OnConflict::Keep).await?;
                unmark_indmon_writer(&mut *tx).await?;
                tx.commit().await?;
            }
        }
        Ok(())
    }
}

/// Writes rows (binary COPY input, columns as [`columns`]) into `submission` through a
/// temporary table: those already there are replaced or kept, as `on_conflict` says.
pub(super) async fn upsert_postgres(
    conn: &mut sqlx::PgConnection,
    copy: BinaryCopyWriter,
    on_conflict: OnConflict,
) -> anyhow::Result<()> {
    sqlx::query("CREATE TEMP TABLE submission_stage (LIKE submission) ON COMMIT DROP")
        .execute(&mut *conn)
        .await?;
    let cols = columns();
    let mut sink = conn
        .copy_in_raw(&format!(
            "COPY submission_stage ({cols}) FROM STDIN (FORMAT binary)"
        ))
        .await?;
    sink.send(copy.finish()).await?;
    sink.finish().await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO submission ({cols}) SELECT {cols} FROM submission_stage {}",
        on_conflict.clause()
    )))
    .execute(&mut *conn)
    .await?;
    sqlx::query("DROP TABLE submission_stage")
        .execute(&mut *conn)
        .await?;
    Ok(())
}
