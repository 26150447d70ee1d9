//! `submission_year`, the packed form of the current figures ([`super::packed`]): reading it
//! back as months, and building it from the rows of `submission` for a database from before it
//! (migration 0007). Imports write it in `submissions.rs`, with the rows.

use futures_util::TryStreamExt;
use sqlx::PgConnection;

use super::Store;
use super::copy::{BinaryCopyReader, BinaryCopyWriter, int_field};
use super::packed::{self, Month, N_FIELDS, YearPacker};
use super::sqlite_raw::{Statement, with_handle};
use super::submissions::LOCK_POSTGRES;
use crate::period::Period;

const UPSERT: &str = "ON CONFLICT (year, credit_code) DO UPDATE SET months = excluded.months";

/// Every stored month of one year (`$1`/`$2`: its first and last period), grouped by enterprise.
fn stored_sql() -> String {
    format!(
        "SELECT credit_code, period, {} FROM submission WHERE period >= $1 AND period <= $2 ORDER BY credit_code, period",
        packed::columns("")
    )
}

fn write_sqlite(
    write: &mut Statement<'_>,
    year: i32,
    code: &str,
    pack: &[u8],
) -> anyhow::Result<()> {
    write.bind_int(1, i64::from(year))?;
    write.bind_text(2, code)?;
    write.bind_blob(3, pack)?;
    write.step()?;
    write.reset()
}

fn write_copy(
    out: &mut BinaryCopyWriter,
    year: i32,
    code: &str,
    pack: &[u8],
) -> anyhow::Result<()> {
    out.row(3);
    out.int4(year);
    out.bytes(code.as_bytes())?;
    out.bytes(pack)
}

/// Writes packed years (binary COPY input) into `submission_year`, replacing earlier packs.
async fn store_packs_postgres(
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

/// Reads one stored month's packed fields from columns 2.. of a row.
fn stored_month(get: impl Fn(usize) -> anyhow::Result<Option<i64>>) -> anyhow::Result<Month> {
    let mut f: Month = [None; N_FIELDS];
    for (k, v) in f.iter_mut().enumerate() {
        *v = get(k + 2)?;
    }
    Ok(f)
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

    /// Packs every year of the row table `submission` into `submission_year`.
    async fn pack_row_table(&self) -> anyhow::Result<()> {
        let years: Vec<String> = super::on_pool!(self, p => sqlx::query_scalar(
            "SELECT DISTINCT substr(period, 1, 4) FROM submission ORDER BY 1").fetch_all(p).await?);
        if !years.is_empty() {
            tracing::info!(
                years = years.len(),
                "正在从已存报表生成按年打包的评估数据 (packing submission_year from the stored submissions)"
            );
        }
        for year in &years {
            let (from, to) = (format!("{year}-01"), format!("{year}-12"));
            let started = std::time::Instant::now();
            let mut written = 0u64;
            match self {
                Store::Sqlite(p) => {
                    let mut tx = p.begin().await?;
                    let insert = format!(
                        "INSERT INTO submission_year (year, credit_code, months) VALUES (?1, ?2, ?3) {UPSERT}"
                    );
                    let select = stored_sql().replace("$1", "?1").replace("$2", "?2");
                    with_handle(&mut tx, |h| {
                        let mut read = Statement::prepare(h, &select)?;
                        read.bind_text(1, &from)?;
                        read.bind_text(2, &to)?;
                        let mut write = Statement::prepare(h, &insert)?;
                        let mut packer = YearPacker::new(|year, code: &str, pack| {
                            written += 1;
                            write_sqlite(&mut write, year, code, &pack)
                        });
                        while read.step()? {
                            let f = stored_month(|k| Ok(read.int(k as i32)))?;
                            packer.row(read.str(0)?, read.str(1)?, f)?;
                        }
                        packer.finish()
                    })
                    .await?;
                    tx.commit().await?;
                }
                Store::Postgres(p) => {
                    let mut tx = p.begin().await?;
                    sqlx::query(LOCK_POSTGRES).execute(&mut *tx).await?;
                    let mut out = BinaryCopyWriter::default();
                    {
                        let mut packer = YearPacker::new(|year, code: &str, pack| {
                            written += 1;
                            write_copy(&mut out, year, code, &pack)
                        });
                        let select = stored_sql()
                            .replace("$1", &format!("'{from}'"))
                            .replace("$2", &format!("'{to}'"));
                        let mut reader = BinaryCopyReader::new(2 + N_FIELDS);
                        let mut stream = tx
                            .copy_out_raw(&format!("COPY ({select}) TO STDOUT (FORMAT binary)"))
                            .await?;
                        while let Some(chunk) = stream.try_next().await? {
                            reader.feed(&chunk, |fields| {
                                let text =
                                    |i: usize| std::str::from_utf8(fields[i].unwrap_or_default());
                                let f = stored_month(|k| int_field(fields[k]))?;
                                packer.row(text(0)?, text(1)?, f)
                            })?;
                        }
                        reader.finish()?;
                        packer.finish()?;
                    }
                    store_packs_postgres(&mut tx, out).await?;
                    tx.commit().await?;
                }
            }
            tracing::info!(
                year = year.as_str(),
                enterprises = written,
                ms = started.elapsed().as_millis() as u64,
                "已按年打包报表 (submission_year packed)"
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
