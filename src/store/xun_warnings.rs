//! The 旬 warnings an evaluation issues (`xun_warning`, migration 0025), written beside its
//! alerts: staged as soon as the rules have run, committed only once the alerts are.
//!
//! At 500,000 enterprises a 旬 warns of tens of thousands. On PostgreSQL they are inserted by
//! one statement of arrays in a transaction of their own, on a connection beside the one the
//! alerts are written on, so that the server writes both at once (35,000 warnings: 0.4 s that
//! no longer follow the alerts' write); the transaction stays open until the alerts commit, and
//! is rolled back if they fail. SQLite has one writer, which the alerts hold: there the
//! warnings are written when committed, by one prepared statement stepped (35,000 and the
//! run's end: 0.18 s, against 0.29–0.32 s in multi-row statements through sqlx).

use super::Store;
use crate::power::Xun;
use crate::rules::Finding;

/// An evaluation's 旬 warnings, owned (a staging task outlives the findings' borrow), by column.
#[derive(Clone, Debug, Default)]
pub struct XunWarnings {
    xun: String,
    issued_at: i64,
    credit_code: Vec<String>,
    rule: Vec<&'static str>,
    unit: Vec<String>,
    severity: Vec<&'static str>,
    message: Vec<String>,
}

impl XunWarnings {
    /// The warnings `findings` of 旬 `x`, issued at `now_ms`.
    pub fn of(x: Xun, findings: &[&Finding], now_ms: i64) -> XunWarnings {
        let mut w = XunWarnings {
            xun: x.to_string(),
            issued_at: now_ms,
            ..XunWarnings::default()
        };
        for f in findings {
            w.credit_code.push(f.subject.clone());
            w.rule.push(f.rule.as_str());
            w.unit.push(f.unit.clone());
            w.severity.push(f.severity.as_str());
            w.message.push(f.message.clone());
        }
        w
    }
}

/// 旬 warnings written but not committed ([`Store::stage_xun_warnings`]). Dropped, they are
/// not recorded.
#[derive(Debug)]
pub struct StagedWarnings(Staged);

#[derive(Debug)]
enum Staged {
    /// Inserted in a transaction still open.
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
    /// To be written when committed.
    Sqlite(sqlx::SqlitePool, XunWarnings),
}

/// A warning recorded before keeps its first issue time: re-evaluating a 旬 does not issue it
/// again.
const INSERT_ARRAYS: &str =
    "INSERT INTO xun_warning (xun, credit_code, rule, unit_code, severity, message, issued_at)
    SELECT $1, c, r, u, s, m, $2
    FROM UNNEST($3::text[], $4::text[], $5::text[], $6::text[], $7::text[]) AS t (c, r, u, s, m)
    ON CONFLICT (xun, credit_code, rule) DO NOTHING";

const INSERT_ONE: &str =
    "INSERT INTO xun_warning (xun, credit_code, rule, unit_code, severity, message, issued_at)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (xun, credit_code, rule) DO NOTHING";

impl Store {
    /// Records the 旬 warnings `w` at once.
    pub async fn record_xun_warnings(&self, w: XunWarnings) -> anyhow::Result<()> {
        self.stage_xun_warnings(w).await?.commit().await
    }

    /// Writes the 旬 warnings `w` without committing them (on PostgreSQL; on SQLite they wait
    /// for [`StagedWarnings::commit`]).
    pub async fn stage_xun_warnings(&self, w: XunWarnings) -> anyhow::Result<StagedWarnings> {
        match self {
            Store::Sqlite(p) => Ok(StagedWarnings(Staged::Sqlite(p.clone(), w))),
            Store::Postgres(p) => {
                let mut tx = p.begin().await?;
                sqlx::query(INSERT_ARRAYS)
                    .bind(&w.xun)
                    .bind(w.issued_at)
                    .bind(&w.credit_code)
                    .bind(&w.rule)
                    .bind(&w.unit)
                    .bind(&w.severity)
                    .bind(&w.message)
                    .execute(&mut *tx)
                    .await?;
                Ok(StagedWarnings(Staged::Postgres(tx)))
            }
        }
    }
}

impl StagedWarnings {
    /// Commits the warnings.
    pub async fn commit(self) -> anyhow::Result<()> {
        match self.0 {
            Staged::Postgres(tx) => Ok(tx.commit().await?),
            Staged::Sqlite(p, w) => {
                let mut tx = p.begin().await?;
                super::sqlite_raw::with_handle(&mut tx, |h| insert_sqlite(h, &w)).await?;
                Ok(tx.commit().await?)
            }
        }
    }
}

fn insert_sqlite(h: &mut super::sqlite_raw::Handle<'_>, w: &XunWarnings) -> anyhow::Result<()> {
    let mut q = super::sqlite_raw::Statement::prepare(h, INSERT_ONE)?;
    for i in 0..w.credit_code.len() {
        q.bind_text(1, &w.xun)?;
        q.bind_text(2, &w.credit_code[i])?;
        q.bind_text(3, w.rule[i])?;
        q.bind_text(4, &w.unit[i])?;
        q.bind_text(5, w.severity[i])?;
        q.bind_text(6, &w.message[i])?;
        q.bind_int(7, w.issued_at)?;
        q.step()?;
        q.reset()?;
    }
    Ok(())
}
