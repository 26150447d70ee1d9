//! Electricity and 旬报 rows (migration 0020): the mapping of power accounts to enterprises,
//! daily electricity per enterprise and key enterprises' 旬报, each written in one transaction
//! with the run that imported it; a changed figure keeps the one it replaces in its history
//! table (`power_daily_history`, `xun_report_history`), as submissions keep theirs. On
//! PostgreSQL `power_daily` is partitioned by month and a month's partition is created by the
//! first import that writes to it.

use std::collections::{BTreeSet, HashMap};

use super::registry::Applied;
use super::runs::write_run_end;
use super::{RunEnd, Store, on_pool};
use crate::amount::Amount;
use crate::power::{PowerAccount, Xun, XunReport};

/// Stores a pulled page's cursor in the transaction `$tx`, when there is one.
macro_rules! save_cursor {
    ($tx:expr, $cursor:expr, $now_ms:expr) => {
        if let Some((source, cursor)) = $cursor {
            sqlx::query(super::sources::ENSURE)
                .bind(source)
                .bind($now_ms)
                .execute(&mut *$tx)
                .await?;
            sqlx::query("UPDATE source_state SET cursor = $1, updated_at = $2 WHERE source = $3")
                .bind(cursor)
                .bind($now_ms)
                .bind(source)
                .execute(&mut *$tx)
                .await?;
        }
    };
}
pub(super) use save_cursor;

/// A stored 旬报: output, sales, electricity.
type StoredXun = [Option<i64>; 3];

/// A 旬报 row as read: credit code, output, sales, electricity.
type XunRow = (String, Option<i64>, Option<i64>, Option<i64>);

/// … with its revision.
type XunRevisionRow = (String, Option<i64>, Option<i64>, Option<i64>, i64);

/// The name of the partition of `power_daily` holding a month's days.
pub(super) fn partition_name(year: i32, month: u32) -> String {
    format!("power_daily_y{year:04}m{month:02}")
}

/// The bounds of a month's partition: its first day and the next month's, `YYYY-MM-DD`.
pub(super) fn partition_bounds(year: i32, month: u32) -> (String, String) {
    let (ny, nm) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    (
        format!("{year:04}-{month:02}-01"),
        format!("{ny:04}-{nm:02}-01"),
    )
}

/// The statement creating the partition of `power_daily` holding a month's days.
pub(super) fn partition_ddl(year: i32, month: u32) -> String {
    let (from, to) = partition_bounds(year, month);
    format!(
        "CREATE TABLE IF NOT EXISTS {} PARTITION OF power_daily FOR VALUES FROM ('{from}') TO ('{to}')",
        partition_name(year, month)
    )
}

impl Store {
    /// The stored mapping: power account → credit code.
    pub async fn power_accounts(&self) -> anyhow::Result<HashMap<String, String>> {
        let sql = "SELECT account, credit_code FROM power_account";
        let rows: Vec<(String, String)> =
            on_pool!(self, p => sqlx::query_as(sql).fetch_all(p).await?);
        Ok(rows.into_iter().collect())
    }

    /// Writes a mapping file's accounts in one transaction (changes logged in
    /// `registry_change`), stores a pulled page's cursor and closes run `run_id` with
    /// `end(counts)`.
    pub async fn apply_power_accounts<'e>(
        &self,
        run_id: i64,
        accounts: &[PowerAccount],
        now_ms: i64,
        cursor: Option<(&str, &str)>,
        end: impl Fn(Applied) -> RunEnd<'e>,
    ) -> anyhow::Result<Applied> {
        let stored = self.power_accounts().await?;
        let mut applied = Applied::default();
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            for a in accounts {
                let code = a.credit_code.to_string();
                let before = stored.get(&a.account);
                if before == Some(&code) {
                    applied.unchanged += 1;
                    continue;
                }
                if before.is_some() { applied.revised += 1 } else { applied.accepted += 1 }
                sqlx::query(
                    "INSERT INTO power_account (account, credit_code, run_id, updated_at) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (account) DO UPDATE SET credit_code = excluded.credit_code, run_id = excluded.run_id, updated_at = excluded.updated_at",
                ).bind(&a.account).bind(&code).bind(run_id).bind(now_ms).execute(&mut *tx).await?;
                let image = |c: &str| serde_json::json!({"account": a.account, "credit_code": c}).to_string();
                sqlx::query("INSERT INTO registry_change (run_id, entity, entity_key, before_json, after_json, changed_at) VALUES ($1, 'power_account', $2, $3, $4, $5)")
                    .bind(run_id).bind(&a.account).bind(before.map(|b| image(b))).bind(image(&code)).bind(now_ms)
                    .execute(&mut *tx).await?;
            }
            save_cursor!(tx, cursor, now_ms);
            write_run_end!(tx, run_id, &end(applied));
            tx.commit().await?;
        });
        Ok(applied)
    }

    /// The stored 旬报 of the 旬s `reports` name, by enterprise and 旬.
    async fn stored_xun(
        &self,
        reports: &[XunReport],
    ) -> anyhow::Result<HashMap<(String, Xun), StoredXun>> {
        let mut out = HashMap::new();
        let xuns: BTreeSet<Xun> = reports.iter().map(|r| r.xun).collect();
        let sql = "SELECT credit_code, output, sales, electricity FROM xun_report WHERE period = $1 AND xun = $2";
        for x in xuns {
            let rows: Vec<XunRow> = on_pool!(self, p => sqlx::query_as(sql)
                .bind(x.period().to_string()).bind(i64::from(x.part())).fetch_all(p).await?);
            for (c, o, s, e) in rows {
                out.insert((c, x), [o, s, e]);
            }
        }
        Ok(out)
    }

    /// Writes 旬报 in one transaction: a changed 旬报 keeps the one it replaces in `xun_report_history`.
    pub async fn apply_xun_reports<'e>(
        &self,
        run_id: i64,
        reports: &[XunReport],
        now_ms: i64,
        cursor: Option<(&str, &str)>,
        end: impl Fn(Applied) -> RunEnd<'e>,
    ) -> anyhow::Result<Applied> {
        let stored = self.stored_xun(reports).await?;
        let mut applied = Applied::default();
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            for r in reports {
                let code = r.credit_code.to_string();
                let before = stored.get(&(code.clone(), r.xun));
                let given = [r.output, r.sales, r.electricity].map(|a| a.map(Amount::raw));
                let mut after = given;
                if let Some(b) = before {
                    for i in 0..3 {
                        if !r.present[i] {
                            after[i] = b[i];
                        }
                    }
                }
                if before == Some(&after) {
                    applied.unchanged += 1;
                    continue;
                }
                let (period, part) = (r.xun.period().to_string(), i64::from(r.xun.part()));
                if before.is_some() {
                    applied.revised += 1;
                    sqlx::query(
                        "INSERT INTO xun_report_history (credit_code, period, xun, output, sales, electricity, revision, run_id, received_at, superseded_at, superseded_by)
                         SELECT credit_code, period, xun, output, sales, electricity, revision, run_id, received_at, $1, $2
                         FROM xun_report WHERE credit_code = $3 AND period = $4 AND xun = $5",
                    ).bind(now_ms).bind(run_id).bind(&code).bind(&period).bind(part).execute(&mut *tx).await?;
                } else {
                    applied.accepted += 1;
                }
                sqlx::query(
                    "INSERT INTO xun_report (credit_code, period, xun, output, sales, electricity, revision, run_id, received_at)
                     VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $8)
                     ON CONFLICT (credit_code, period, xun) DO UPDATE SET output = excluded.output, sales = excluded.sales,
                       electricity = excluded.electricity, revision = xun_report.revision + 1, run_id = excluded.run_id, received_at = excluded.received_at",
                ).bind(&code).bind(&period).bind(part).bind(after[0]).bind(after[1]).bind(after[2]).bind(run_id).bind(now_ms)
                 .execute(&mut *tx).await?;
            }
            save_cursor!(tx, cursor, now_ms);
            write_run_end!(tx, run_id, &end(applied));
            tx.commit().await?;
        });
        Ok(applied)
    }

    /// Records the start of a 旬's evaluation in `evaluation_run`, its period the 旬
    /// (`2026-10-D1`); [`Store::finish_evaluation`] ends it with status `xun_ok` or `xun_failed`.
    pub async fn begin_xun_evaluation(&self, x: Xun, now_ms: i64) -> anyhow::Result<i64> {
        let sql = "INSERT INTO evaluation_run (period, started_at, status) VALUES ($1, $2, 'running') RETURNING id";
        Ok(
            on_pool!(self, p => sqlx::query_scalar::<_, i64>(sql).bind(x.to_string()).bind(now_ms).fetch_one(p).await?),
        )
    }

    /// The 旬报 stored for one 旬: credit code, output, sales, electricity (raw) and revision.
    pub async fn xun_reports(
        &self,
        x: Xun,
    ) -> anyhow::Result<Vec<(String, [Option<i64>; 3], i64)>> {
        let sql = "SELECT credit_code, output, sales, electricity, CAST(revision AS BIGINT) FROM xun_report WHERE period = $1 AND xun = $2 ORDER BY credit_code";
        let rows: Vec<XunRevisionRow> = on_pool!(self, p => sqlx::query_as(sql)
            .bind(x.period().to_string()).bind(i64::from(x.part())).fetch_all(p).await?);
        Ok(rows
            .into_iter()
            .map(|(c, o, s, e, rev)| (c, [o, s, e], rev))
            .collect())
    }
}
