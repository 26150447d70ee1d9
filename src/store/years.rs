//! Keeps `submission_year` (the evaluation's read model, packed by [`super::packed`]) in step
//! with `submission`, inside the transaction that changes `submission`, so that the two never
//! disagree in anything committed.
//!
//! A merge packs the years it writes from its staged rows and the years' earlier packs
//! ([`MergePacker`]), never reading `submission` back: its rows of one enterprise lie a month's
//! worth of rows apart, so reading them back cost more than the whole merge. `indmon migrate`
//! packs every year from `submission` once, for a database from before the table.

use std::collections::HashMap;

use futures_util::TryStreamExt;
use sqlx::{PgConnection, SqliteConnection};

use super::Store;
use super::copy::{BinaryCopyReader, BinaryCopyWriter, int_field};
use super::packed::{self, MergePacker, Month, N_FIELDS, YearPacker};
use super::sqlite_raw::{Statement, with_handle};
use crate::indicator::N_FIELDS as N_FIGURES;

const UPSERT: &str = "ON CONFLICT (year, credit_code) DO UPDATE SET months = excluded.months";

/// Taken by every PostgreSQL transaction that packs years, before it reads: two merges of
/// different months of one enterprise-year would otherwise each pack the year without the
/// other's month, and the later commit would win. (The mode conflicts with itself, not with
/// readers.)
const LOCK_POSTGRES: &str = "LOCK TABLE submission_year IN SHARE ROW EXCLUSIVE MODE";

/// The staged rows of a merge, grouped by enterprise and year.
fn staged_sql() -> String {
    let figures = (0..N_FIGURES)
        .map(packed::field_name)
        .collect::<Vec<_>>()
        .join(", ");
    format!("SELECT credit_code, period, {figures} FROM stage ORDER BY credit_code, period")
}

/// Every stored month of one year (`$1`/`$2`: its first and last period), grouped by enterprise.
fn stored_sql() -> String {
    format!(
        "SELECT credit_code, period, {} FROM submission WHERE period >= $1 AND period <= $2 ORDER BY credit_code, period",
        packed::columns("")
    )
}

/// Packs on SQLite the years a merge writes; returns how many were written. (The stage's
/// covering index `stage_key` gives its rows in the order read here.)
pub async fn pack_merge_sqlite(
    conn: &mut SqliteConnection,
    present: [bool; N_FIGURES],
    run_id: i64,
) -> anyhow::Result<u64> {
    let select = staged_sql();
    let insert = format!(
        "INSERT INTO submission_year (year, credit_code, months) VALUES (?1, ?2, ?3) {UPSERT}"
    );
    with_handle(conn, |h| {
        let mut staged = Statement::prepare(h, &select)?;
        let mut find = Statement::prepare(
            h,
            "SELECT months FROM submission_year WHERE year = ?1 AND credit_code = ?2",
        )?;
        let mut write = Statement::prepare(h, &insert)?;
        let mut written = 0u64;
        let mut packer = MergePacker::new(
            present,
            run_id,
            |code: &str, year| {
                find.bind_int(1, i64::from(year))?;
                find.bind_text(2, code)?;
                let old = if find.step()? {
                    Some(find.blob(0).to_vec())
                } else {
                    None
                };
                find.reset()?;
                Ok(old)
            },
            |year, code: &str, pack| {
                write_sqlite(&mut write, year, code, &pack)?;
                written += 1;
                Ok(())
            },
        );
        while staged.step()? {
            let mut f = [None; N_FIGURES];
            for (k, v) in f.iter_mut().enumerate() {
                *v = staged.int(k as i32 + 2);
            }
            packer.row(staged.str(0)?, staged.str(1)?, &f)?;
        }
        packer.finish()?;
        Ok(written)
    })
    .await
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

/// Packs on PostgreSQL the years a merge writes; returns how many were written.
pub async fn pack_merge_postgres(
    conn: &mut PgConnection,
    present: [bool; N_FIGURES],
    run_id: i64,
) -> anyhow::Result<u64> {
    sqlx::query(LOCK_POSTGRES).execute(&mut *conn).await?;
    // The years' earlier packs, then the staged rows in order (sorted in memory, not on disk).
    sqlx::query("SET LOCAL work_mem = '64MB'")
        .execute(&mut *conn)
        .await?;
    let mut old: HashMap<(String, i32), Vec<u8>> = HashMap::new();
    let mut reader = BinaryCopyReader::new(3);
    let mut stream = conn
        .copy_out_raw(
            "COPY (SELECT y.credit_code, y.year, y.months FROM submission_year y
                   WHERE (y.credit_code, y.year) IN (SELECT DISTINCT credit_code, substr(period, 1, 4)::INTEGER FROM stage))
             TO STDOUT (FORMAT binary)",
        )
        .await?;
    while let Some(chunk) = stream.try_next().await? {
        reader.feed(&chunk, |f| {
            let code = std::str::from_utf8(f[0].unwrap_or_default())?.to_string();
            let year = i32::try_from(int_field(f[1])?.unwrap_or_default())?;
            old.insert((code, year), f[2].unwrap_or_default().to_vec());
            Ok(())
        })?;
    }
    reader.finish()?;
    drop(stream);

    let mut out = BinaryCopyWriter::default();
    let mut written = 0u64;
    {
        let mut packer = MergePacker::new(
            present,
            run_id,
            |code: &str, year| Ok(old.remove(&(code.to_string(), year))),
            |year, code: &str, pack| {
                write_copy(&mut out, year, code, &pack)?;
                written += 1;
                Ok(())
            },
        );
        let mut reader = BinaryCopyReader::new(2 + N_FIGURES);
        let mut stream = conn
            .copy_out_raw(&format!(
                "COPY ({}) TO STDOUT (FORMAT binary)",
                staged_sql()
            ))
            .await?;
        while let Some(chunk) = stream.try_next().await? {
            reader.feed(&chunk, |fields| {
                let text = |i: usize| std::str::from_utf8(fields[i].unwrap_or_default());
                let mut f = [None; N_FIGURES];
                for (k, v) in f.iter_mut().enumerate() {
                    *v = int_field(fields[k + 2])?;
                }
                packer.row(text(0)?, text(1)?, &f)
            })?;
        }
        reader.finish()?;
        packer.finish()?;
    }
    store_packs_postgres(conn, out).await?;
    Ok(written)
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
    /// Runs the rebuilds that migrations asked for (`rebuild_pending`): at present, packing
    /// `submission_year` from every stored submission, one transaction a year.
    pub(super) async fn run_pending_rebuilds(&self) -> anyhow::Result<()> {
        let pending: Vec<String> = super::on_pool!(self, p => sqlx::query_scalar("SELECT name FROM rebuild_pending").fetch_all(p).await?);
        if !pending.iter().any(|n| n == "submission_year") {
            return Ok(());
        }
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
                "submission_year packed"
            );
        }
        super::on_pool!(self, p => { sqlx::query("DELETE FROM rebuild_pending WHERE name = 'submission_year'").execute(p).await?; });
        Ok(())
    }
}
