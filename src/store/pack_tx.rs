//! One transaction that makes packs from rows and writes them: the steps that a rebuild
//! (`rebuild.rs`) and the refresh of stale enterprise-years (`stale.rs`) share, on each backend
//! by its fast path (SQLite stepped directly, PostgreSQL by binary COPY).
//!
//! Conditions are SQL text made here from [`lit`] literals: `COPY … TO STDOUT` takes no
//! parameters, and one text serves both backends.

use futures_util::TryStreamExt;

use super::Store;
use super::copy::{BinaryCopyReader, BinaryCopyWriter, int_field};
use super::packed::{self, Month, N_FIELDS, YearPacker};
use super::rebuild::Made;
use super::sqlite_raw::{Statement, with_handle};
use super::stale::{mark_indmon_writer, unmark_indmon_writer};
use super::submissions::{ImportTx, LOCK_POSTGRES};

/// A text as an SQL string literal (quotes doubled; standard strings on both backends).
pub(super) fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A mark of a stale enterprise-year: year, credit code, stamp.
pub(super) type Mark = (i32, String, i64);

/// A transaction reading rows and packs, and (when it writes) writing packs as indmon.
pub(super) struct PackTx {
    inner: ImportTx,
    write: bool,
}

impl PackTx {
    /// A writing transaction takes the write lock (SQLite) or the packs' lock (PostgreSQL) and
    /// marks itself as indmon's; a reading one sees one snapshot.
    pub(super) async fn begin(store: &Store, write: bool) -> anyhow::Result<PackTx> {
        let inner = match (store, write) {
            (Store::Sqlite(p), true) => {
                let mut tx = p.begin_with("BEGIN IMMEDIATE").await?;
                let left = sqlx::query("DELETE FROM pack_writer")
                    .execute(&mut *tx)
                    .await?;
                if left.rows_affected() > 0 {
                    tracing::warn!(
                        "发现未清除的写入标记：其间其他程序对 submission 的修改未被记录，请运行 indmon rebuild --check (a writer mark was left behind: changes other programs made to submission meanwhile went unmarked; run indmon rebuild --check)"
                    );
                }
                mark_indmon_writer(&mut *tx).await?;
                ImportTx::Sqlite(tx)
            }
            (Store::Sqlite(p), false) => ImportTx::Sqlite(p.begin().await?),
            (Store::Postgres(p), true) => {
                let mut tx = p.begin().await?;
                sqlx::query(LOCK_POSTGRES).execute(&mut *tx).await?;
                mark_indmon_writer(&mut *tx).await?;
                ImportTx::Postgres(tx)
            }
            (Store::Postgres(p), false) => ImportTx::Postgres(
                p.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    .await?,
            ),
        };
        Ok(PackTx { inner, write })
    }

    pub(super) fn writes(&self) -> bool {
        self.write
    }

    pub(super) async fn commit(self) -> anyhow::Result<()> {
        match self.inner {
            ImportTx::Sqlite(mut tx) => {
                if self.write {
                    unmark_indmon_writer(&mut *tx).await?;
                }
                tx.commit().await?
            }
            ImportTx::Postgres(mut tx) => {
                if self.write {
                    unmark_indmon_writer(&mut *tx).await?;
                }
                tx.commit().await?
            }
        }
        Ok(())
    }

    /// The packs that the rows of `submission` matching `filter` make, and the rows read.
    pub(super) async fn derive(&mut self, filter: &str) -> anyhow::Result<(Made, u64)> {
        self.inner.derive(filter).await
    }

    /// Writes the packs of `put` (replacing those stored) and deletes those of `remove`.
    pub(super) async fn apply(
        &mut self,
        put: &[(i32, String, Vec<u8>)],
        remove: &[(i32, String)],
    ) -> anyhow::Result<()> {
        self.inner.apply(put, remove).await
    }

    /// The stored packs matching `filter`: credit code, year, pack.
    pub(super) async fn stored(
        &mut self,
        filter: &str,
    ) -> anyhow::Result<Vec<(String, i32, Vec<u8>)>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT credit_code, year, months FROM submission_year WHERE {filter} ORDER BY credit_code, year"
        ));
        Ok(match &mut self.inner {
            ImportTx::Sqlite(tx) => sqlx::query_as(sql).fetch_all(&mut **tx).await?,
            ImportTx::Postgres(tx) => sqlx::query_as(sql).fetch_all(&mut **tx).await?,
        })
    }

    /// The marks of stale enterprise-years matching `filter` (`tail`: ORDER BY, LIMIT).
    pub(super) async fn marks(&mut self, filter: &str) -> anyhow::Result<Vec<Mark>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT year, credit_code, stamp FROM submission_year_stale WHERE {filter}"
        ));
        Ok(match &mut self.inner {
            ImportTx::Sqlite(tx) => sqlx::query_as(sql).fetch_all(&mut **tx).await?,
            ImportTx::Postgres(tx) => sqlx::query_as(sql).fetch_all(&mut **tx).await?,
        })
    }

    /// Deletes the marks whose stamp is still the one read; how many it deleted.
    pub(super) async fn clear_marks(&mut self, marks: &[Mark]) -> anyhow::Result<u64> {
        if marks.is_empty() {
            return Ok(0);
        }
        match &mut self.inner {
            ImportTx::Sqlite(tx) => {
                with_handle(tx, |h| {
                    let mut delete = Statement::prepare(
                        h,
                        "DELETE FROM submission_year_stale WHERE year = ?1 AND credit_code = ?2 AND stamp = ?3",
                    )?;
                    for (year, code, stamp) in marks {
                        delete.bind_int(1, i64::from(*year))?;
                        delete.bind_text(2, code)?;
                        delete.bind_int(3, *stamp)?;
                        delete.step()?;
                        delete.reset()?;
                    }
                    Ok(marks.len() as u64)
                })
                .await
            }
            ImportTx::Postgres(tx) => {
                let mut years = Vec::with_capacity(marks.len());
                let mut codes = Vec::with_capacity(marks.len());
                let mut stamps = Vec::with_capacity(marks.len());
                for (y, c, s) in marks {
                    years.push(*y);
                    codes.push(c.as_str());
                    stamps.push(*s);
                }
                let done = sqlx::query(
                    "DELETE FROM submission_year_stale m
                     USING unnest($1::INTEGER[], $2::TEXT[], $3::BIGINT[]) AS k (year, credit_code, stamp)
                     WHERE m.year = k.year AND m.credit_code = k.credit_code AND m.stamp = k.stamp",
                )
                .bind(&years)
                .bind(&codes)
                .bind(&stamps)
                .execute(&mut **tx)
                .await?;
                Ok(done.rows_affected())
            }
        }
    }
}

/// Reading rows into packs and writing packs, in any of indmon's write transactions (a
/// rebuild's, or an import's making the packs of the years it merged early).
impl ImportTx {
    /// The packs that the rows of `submission` matching `filter` make, and the rows read.
    pub(super) async fn derive(&mut self, filter: &str) -> anyhow::Result<(Made, u64)> {
        let select = format!(
            "SELECT credit_code, period, {} FROM submission WHERE {filter} ORDER BY credit_code, period",
            packed::columns("")
        );
        let mut made = Made::new();
        let mut rows = 0u64;
        let mut packer = YearPacker::new(|year, code: &str, pack| {
            made.insert((code.to_string(), year), pack);
            Ok(())
        });
        match self {
            ImportTx::Sqlite(tx) => {
                with_handle(tx, |h| {
                    let mut read = Statement::prepare(h, &select)?;
                    let mut code = String::new();
                    while read.step()? {
                        rows += 1;
                        let f = month(|k| Ok(read.int(k as i32)))?;
                        code.clear();
                        code.push_str(read.str(0)?);
                        packer.row(&code, read.str(1)?, f)?;
                    }
                    Ok(())
                })
                .await?
            }
            ImportTx::Postgres(tx) => {
                let mut reader = BinaryCopyReader::new(2 + N_FIELDS);
                let mut stream = tx
                    .copy_out_raw(&format!("COPY ({select}) TO STDOUT (FORMAT binary)"))
                    .await?;
                while let Some(chunk) = stream.try_next().await? {
                    reader.feed(&chunk, |fields| {
                        rows += 1;
                        let text = |i: usize| std::str::from_utf8(fields[i].unwrap_or_default());
                        let f = month(|k| int_field(fields[k]))?;
                        packer.row(text(0)?, text(1)?, f)
                    })?;
                }
                reader.finish()?;
            }
        }
        packer.finish()?;
        Ok((made, rows))
    }

    /// Writes the packs of `put` (replacing those stored) and deletes those of `remove`.
    pub(super) async fn apply(
        &mut self,
        put: &[(i32, String, Vec<u8>)],
        remove: &[(i32, String)],
    ) -> anyhow::Result<()> {
        match self {
            ImportTx::Sqlite(tx) => {
                with_handle(tx, |h| {
                    let mut write = Statement::prepare(
                        h,
                        "INSERT INTO submission_year (year, credit_code, months) VALUES (?1, ?2, ?3)
                         ON CONFLICT (year, credit_code) DO UPDATE SET months = excluded.months",
                    )?;
                    for (year, code, pack) in put {
                        write.bind_int(1, i64::from(*year))?;
                        write.bind_text(2, code)?;
                        write.bind_blob(3, pack)?;
                        write.step()?;
                        write.reset()?;
                    }
                    let mut delete = Statement::prepare(
                        h,
                        "DELETE FROM submission_year WHERE year = ?1 AND credit_code = ?2",
                    )?;
                    for (year, code) in remove {
                        delete.bind_int(1, i64::from(*year))?;
                        delete.bind_text(2, code)?;
                        delete.step()?;
                        delete.reset()?;
                    }
                    Ok(())
                })
                .await
            }
            ImportTx::Postgres(tx) => {
                if !remove.is_empty() {
                    let (years, codes): (Vec<i32>, Vec<&str>) =
                        remove.iter().map(|(y, c)| (*y, c.as_str())).unzip();
                    sqlx::query(
                        "DELETE FROM submission_year y USING unnest($1::INTEGER[], $2::TEXT[]) AS k (year, credit_code)
                         WHERE y.year = k.year AND y.credit_code = k.credit_code",
                    )
                    .bind(&years)
                    .bind(&codes)
                    .execute(&mut **tx)
                    .await?;
                }
                if !put.is_empty() {
                    let mut out = BinaryCopyWriter::default();
                    for (year, code, pack) in put {
                        out.row(3);
                        out.int4(*year);
                        out.bytes(code.as_bytes())?;
                        out.bytes(pack)?;
                    }
                    super::years::store_packs_postgres(tx, out).await?;
                }
                Ok(())
            }
        }
    }
}

/// Reads one row's packed fields from columns 2.. .
fn month(get: impl Fn(usize) -> anyhow::Result<Option<i64>>) -> anyhow::Result<Month> {
    let mut f: Month = [None; N_FIELDS];
    for (k, v) in f.iter_mut().enumerate() {
        *v = get(k + 2)?;
    }
    Ok(f)
}
