//! The bulk path for submissions: rows are staged in a temporary table inside one
//! transaction (COPY on PostgreSQL, multi-row INSERT on SQLite), checked as a set (unknown
//! enterprises, duplicates), then merged: new rows inserted, changed rows revised with the
//! earlier figures moved to `submission_history`, identical rows left alone. Nothing is
//! visible to other readers until the merge commits.

use std::collections::HashSet;

use sqlx::{AssertSqlSafe, Postgres, Sqlite, Transaction};

use super::{Store, on_pool};
use crate::indicator::{FIELDS, N_FIELDS};
use crate::ingest::Reject;
use crate::ingest::rows::Submission;
use crate::period::Period;

/// What a merge did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct MergeOutcome {
    /// Rows for enterprise-months not stored before.
    pub accepted: u64,
    /// Rows that changed a stored enterprise-month (the old figures kept as history).
    pub revised: u64,
    /// Rows identical to what was stored.
    pub unchanged: u64,
}

/// An import of submissions in progress: an open transaction with a staging table.
pub enum SubmissionImport {
    Sqlite(Transaction<'static, Sqlite>, Staging),
    Postgres(Transaction<'static, Postgres>, Staging),
}

/// Which fields the file carries.
pub struct Staging {
    present: [bool; N_FIELDS],
}

/// Rows per multi-row INSERT on SQLite (19 parameters each, well under SQLite's 32766).
const SQLITE_BATCH: usize = 500;

macro_rules! on_tx {
    ($imp:expr, $tx:ident, $st:ident => $body:expr) => {
        match $imp {
            SubmissionImport::Sqlite($tx, $st) => $body,
            SubmissionImport::Postgres($tx, $st) => $body,
        }
    };
}

fn stage_columns() -> String {
    let mut cols = String::from("line, credit_code, period");
    for f in FIELDS {
        cols.push_str(", ");
        cols.push_str(f.name);
    }
    cols
}

/// The staging table; `tail` ends its definition for the backend.
fn stage_ddl(tail: &str) -> String {
    let mut ddl = String::from(
        "CREATE TEMP TABLE stage (line BIGINT NOT NULL, credit_code TEXT NOT NULL, period TEXT NOT NULL",
    );
    for f in FIELDS {
        ddl.push_str(&format!(", {} BIGINT", f.name));
    }
    ddl.push_str(tail);
    ddl
}

const STAGE_SQLITE: &str = ")";
const STAGE_POSTGRES: &str = ") ON COMMIT DROP";

/// Rows written by one import after which the planner's statistics are refreshed at once.
pub const REFRESH_STATISTICS_AFTER: u64 = 10_000;

impl Store {
    /// Refreshes PostgreSQL's statistics of `submission` (and its packed years) after a large import. Autovacuum would
    /// do it within minutes, but the evaluation that follows an import would meanwhile be planned
    /// on the old figures (an index scan over nearly the whole table, seen to cost a third more).
    /// The import is committed already, so a failure here is only logged.
    pub async fn refresh_statistics(&self) {
        if let Store::Postgres(p) = self {
            for table in ["submission", "submission_year"] {
                let sql = sqlx::AssertSqlSafe(format!("ANALYZE {table}"));
                if let Err(e) = sqlx::query(sql).execute(p).await {
                    tracing::warn!(error = %e, "ANALYZE {table} failed after an import");
                }
            }
        }
    }

    /// The credit codes with a submission for `period` (whatever figures it holds).
    pub async fn reported(&self, period: Period) -> anyhow::Result<HashSet<String>> {
        let sql = "SELECT credit_code FROM submission WHERE period = $1";
        let p = period.to_string();
        let codes = on_pool!(self, pool => sqlx::query_scalar::<_, String>(sql).bind(&p).fetch_all(pool).await?);
        Ok(codes.into_iter().collect())
    }

    /// Opens a transaction with an empty staging table. `present[i]` says whether the file has
    /// a column for `FIELDS[i]`: fields it lacks keep their stored figures.
    pub async fn begin_submissions(
        &self,
        present: [bool; N_FIELDS],
    ) -> anyhow::Result<SubmissionImport> {
        let staging = Staging { present };
        Ok(match self {
            Store::Sqlite(p) => {
                let mut tx = p.begin().await?;
                sqlx::query("DROP TABLE IF EXISTS temp.stage")
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(AssertSqlSafe(stage_ddl(STAGE_SQLITE)))
                    .execute(&mut *tx)
                    .await?;
                SubmissionImport::Sqlite(tx, staging)
            }
            Store::Postgres(p) => {
                let mut tx = p.begin().await?;
                sqlx::query(AssertSqlSafe(stage_ddl(STAGE_POSTGRES)))
                    .execute(&mut *tx)
                    .await?;
                SubmissionImport::Postgres(tx, staging)
            }
        })
    }
}

impl SubmissionImport {
    /// Adds parsed rows to the staging table.
    pub async fn stage(&mut self, rows: &[Submission]) -> anyhow::Result<()> {
        match self {
            SubmissionImport::Sqlite(tx, _) => {
                for chunk in rows.chunks(SQLITE_BATCH) {
                    let mut q = sqlx::QueryBuilder::new(format!(
                        "INSERT INTO stage ({}) ",
                        stage_columns()
                    ));
                    q.push_values(chunk, |mut b, s| {
                        b.push_bind(s.line as i64)
                            .push_bind(s.credit_code.as_str().to_string())
                            .push_bind(s.period.to_string());
                        for v in &s.values {
                            b.push_bind(v.map(|a| a.raw()));
                        }
                    });
                    q.build().persistent(true).execute(&mut **tx).await?;
                }
            }
            SubmissionImport::Postgres(tx, _) => {
                let mut buf = Vec::with_capacity(rows.len() * 96);
                for s in rows {
                    use std::io::Write;
                    write!(buf, "{}\t{}\t{}", s.line, s.credit_code.as_str(), s.period)?;
                    for v in &s.values {
                        match v {
                            Some(a) => write!(buf, "\t{}", a.raw())?,
                            None => buf.extend_from_slice(b"\t\\N"),
                        }
                    }
                    buf.push(b'\n');
                }
                let mut copy = tx
                    .copy_in_raw(&format!("COPY stage ({}) FROM STDIN", stage_columns()))
                    .await?;
                copy.send(buf).await?;
                copy.finish().await?;
            }
        }
        Ok(())
    }

    /// Checks the staged rows as a set: enterprises not in the registry, and an
    /// enterprise-month given twice in one file (every later occurrence is rejected).
    pub async fn check(&mut self) -> anyhow::Result<Vec<Reject>> {
        let unknown = "SELECT s.line, s.credit_code FROM stage s LEFT JOIN enterprise e ON e.credit_code = s.credit_code
                       WHERE e.credit_code IS NULL ORDER BY s.line";
        let dups = "SELECT s.line, s.credit_code, s.period, f.first_line FROM stage s
                    JOIN (SELECT credit_code, period, MIN(line) AS first_line FROM stage GROUP BY credit_code, period HAVING COUNT(*) > 1) f
                      ON f.credit_code = s.credit_code AND f.period = s.period
                    WHERE s.line > f.first_line ORDER BY s.line";
        let mut rejects = Vec::new();
        // The stage in the order of enterprise and period, for these checks and for packing
        // the merged years in one pass. On SQLite the index carries every column, so that the
        // pass reads it alone rather than fetching each row from a table written in file order.
        let key = match self {
            SubmissionImport::Sqlite(..) => format!(
                "CREATE INDEX stage_key ON stage (credit_code, period, line, {})",
                FIELDS.iter().map(|f| f.name).collect::<Vec<_>>().join(", ")
            ),
            SubmissionImport::Postgres(..) => {
                "CREATE INDEX stage_key ON stage (credit_code, period, line)".to_string()
            }
        };
        on_tx!(self, tx, _st => {
            sqlx::query(AssertSqlSafe(key.as_str())).execute(&mut **tx).await?;
            let rows: Vec<(i64, String)> = sqlx::query_as(unknown).fetch_all(&mut **tx).await?;
            for (line, code) in rows {
                rejects.push(Reject {
                    line: line as u64,
                    column: String::new(),
                    field: "credit_code".into(),
                    value: code,
                    reason: "企业不在名录中，请先导入企业名录 (enterprise not registered)".into(),
                });
            }
            let rows: Vec<(i64, String, String, i64)> = sqlx::query_as(dups).fetch_all(&mut **tx).await?;
            for (line, code, period, first) in rows {
                rejects.push(Reject {
                    line: line as u64,
                    column: String::new(),
                    field: "credit_code".into(),
                    value: format!("{code} {period}"),
                    reason: format!("与第{first}行重复：同一企业同一报告期出现两次 (duplicate of line {first})"),
                });
            }
        });
        rejects.sort_by_key(|r| r.line);
        Ok(rejects)
    }

    /// Removes rejected rows from the staging table (for `--partial`): unknown enterprises and
    /// every occurrence of a duplicate after the first.
    pub async fn drop_rejected(&mut self) -> anyhow::Result<()> {
        on_tx!(self, tx, _st => {
            sqlx::query("DELETE FROM stage WHERE credit_code NOT IN (SELECT credit_code FROM enterprise)").execute(&mut **tx).await?;
            sqlx::query("DELETE FROM stage WHERE line NOT IN (SELECT MIN(line) FROM stage GROUP BY credit_code, period)").execute(&mut **tx).await?;
        });
        Ok(())
    }

    /// Merges the staged rows into `submission`, packs the years it wrote into
    /// `submission_year`, and commits.
    pub async fn merge(self, run_id: i64, now_ms: i64) -> anyhow::Result<MergeOutcome> {
        let present = self.present();
        let sqls = MergeSql::new(present);
        // The history and upsert statements, the same on both backends.
        macro_rules! merge_rows {
            ($tx:expr) => {{
                let mut out = MergeOutcome::default();
                let staged: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM stage")
                    .fetch_one(&mut *$tx)
                    .await?;
                out.revised = sqlx::query(AssertSqlSafe(sqls.history.as_str()))
                    .bind(now_ms)
                    .bind(run_id)
                    .execute(&mut *$tx)
                    .await?
                    .rows_affected();
                let written = sqlx::query(AssertSqlSafe(sqls.upsert.as_str()))
                    .bind(run_id)
                    .bind(now_ms)
                    .execute(&mut *$tx)
                    .await?
                    .rows_affected();
                out.accepted = written.saturating_sub(out.revised);
                out.unchanged = (staged as u64).saturating_sub(written);
                (out, written)
            }};
        }
        let (out, packed) = match self {
            SubmissionImport::Sqlite(mut tx, _) => {
                let (out, written) = merge_rows!(tx);
                let packed = if written > 0 {
                    super::years::pack_merge_sqlite(&mut tx, present, run_id).await?
                } else {
                    0
                };
                sqlx::query("DROP TABLE temp.stage")
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                (out, packed)
            }
            SubmissionImport::Postgres(mut tx, _) => {
                let (out, written) = merge_rows!(tx);
                let packed = if written > 0 {
                    super::years::pack_merge_postgres(&mut tx, present, run_id).await?
                } else {
                    0
                };
                tx.commit().await?;
                (out, packed)
            }
        };
        tracing::debug!(packed, "submission_year: years packed by the merge");
        Ok(out)
    }

    /// Abandons the import: nothing staged reaches the database.
    pub async fn rollback(self) -> anyhow::Result<()> {
        on_tx!(self, tx, _st => tx.rollback().await?);
        Ok(())
    }

    fn present(&self) -> [bool; N_FIELDS] {
        on_tx!(self, _tx, st => st.present)
    }
}

/// The two statements of a merge, built for the fields a file carries.
struct MergeSql {
    history: String,
    upsert: String,
}

impl MergeSql {
    fn new(present: [bool; N_FIELDS]) -> MergeSql {
        let names: Vec<&str> = FIELDS.iter().map(|f| f.name).collect();
        let all = names.join(", ");
        // A stored row differs when any field the file carries differs from it.
        let differs = FIELDS
            .iter()
            .zip(present)
            .filter(|(_, p)| *p)
            .map(|(f, _)| format!("c.{0} IS DISTINCT FROM s.{0}", f.name))
            .collect::<Vec<_>>()
            .join(" OR ");
        let differs = if differs.is_empty() {
            "FALSE".to_string()
        } else {
            format!("({differs})")
        };
        let c_all = names
            .iter()
            .map(|n| format!("c.{n}"))
            .collect::<Vec<_>>()
            .join(", ");
        let history = format!(
            "INSERT INTO submission_history (credit_code, period, {all}, revision, run_id, received_at, superseded_at, superseded_by)
             SELECT c.credit_code, c.period, {c_all}, c.revision, c.run_id, c.received_at, $1, $2
             FROM stage s JOIN submission c ON c.credit_code = s.credit_code AND c.period = s.period
             WHERE {differs}"
        );
        let new_values = FIELDS
            .iter()
            .zip(present)
            .map(|(f, p)| {
                if p {
                    format!("s.{}", f.name)
                } else {
                    format!("c.{}", f.name)
                }
            })
            .collect::<Vec<_>>()
            .join(", ");
        let set = names
            .iter()
            .map(|n| format!("{n} = excluded.{n}"))
            .collect::<Vec<_>>()
            .join(", ");
        let upsert = format!(
            "INSERT INTO submission (credit_code, period, {all}, revision, run_id, received_at)
             SELECT s.credit_code, s.period, {new_values}, COALESCE(c.revision, 0) + 1, $1, $2
             FROM stage s LEFT JOIN submission c ON c.credit_code = s.credit_code AND c.period = s.period
             WHERE c.credit_code IS NULL OR {differs}
             ON CONFLICT (credit_code, period) DO UPDATE SET {set}, revision = excluded.revision, run_id = excluded.run_id, received_at = excluded.received_at"
        );
        MergeSql { history, upsert }
    }
}
