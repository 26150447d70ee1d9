//! Retention of daily electricity (`[power] daily_retention_months`): a month of days older than
//! the retention is summed by enterprise and 旬 into `power_xun_total` and deleted with its
//! history, in one transaction per month; on PostgreSQL the month's partition is dropped. The
//! month is recorded in `power_pruned_month`, and the import refuses its lines from then on
//! ([`POWER_DAYS_LOCK`] keeps a prune and a PostgreSQL import from overlapping).
//! Daily rows grow ~30× faster than monthly ones (~180M a year at 500,000 enterprises).

use chrono::NaiveDate;

use super::stale::{mark_indmon_writer, unmark_indmon_writer};
use super::{Backend, Store, on_pool};
use crate::period::Period;
use crate::power::level;

/// What one prune removed.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Pruned {
    /// The months whose days were summed and deleted, oldest first.
    pub months: Vec<String>,
    /// Daily rows deleted (history rows not counted).
    pub days: u64,
}

/// The PostgreSQL advisory lock (`pg_advisory_xact_lock`) that a month's prune and a
/// power-daily import hold for their transactions: an import that began before a prune
/// committed would otherwise store days of the month just pruned.
pub(super) const POWER_DAYS_LOCK: i64 = 0x696e_646d_6f6e_0021;

/// Records a pruned month (`$1`, at `$2`).
const PRUNED_MONTH: &str = "INSERT INTO power_pruned_month (period, pruned_at) VALUES ($1, $2)
     ON CONFLICT (period) DO UPDATE SET pruned_at = excluded.pruned_at";

/// The statement summing a month's days into `power_xun_total`; `$1`/`$2` its first day and
/// the next month's, `$3` the time; `off` the month's days not worked (weekends and holidays,
/// less the make-up days), written as literals since they are dates formatted here. Days the
/// month's sums already hold are added to (they reached the month before 0028 refused them).
fn total_sql(off: &[NaiveDate]) -> String {
    let list: Vec<String> = off.iter().map(|d| format!("'{d}'")).collect();
    let worked = if list.is_empty() {
        "1 = 1".to_string()
    } else {
        format!("day NOT IN ({})", list.join(", "))
    };
    format!(
        "INSERT INTO power_xun_total (credit_code, period, xun, days_present, kwh, workdays_present, workday_kwh, pruned_at)
         SELECT credit_code, substr(day, 1, 7),
                CASE WHEN substr(day, 9, 2) <= '10' THEN 1 WHEN substr(day, 9, 2) <= '20' THEN 2 ELSE 3 END AS part,
                COUNT(*), SUM(kwh),
                SUM(CASE WHEN {worked} THEN 1 ELSE 0 END), SUM(CASE WHEN {worked} THEN kwh ELSE 0 END), $3
         FROM power_daily WHERE day >= $1 AND day < $2
         GROUP BY credit_code, substr(day, 1, 7), part
         ON CONFLICT (credit_code, period, xun) DO UPDATE SET
           days_present = power_xun_total.days_present + excluded.days_present,
           kwh = power_xun_total.kwh + excluded.kwh,
           workdays_present = power_xun_total.workdays_present + excluded.workdays_present,
           workday_kwh = power_xun_total.workday_kwh + excluded.workday_kwh,
           pruned_at = excluded.pruned_at"
    )
}

impl Store {
    /// The months before `keep_from` that still hold daily rows, oldest first.
    async fn months_with_days(&self, keep_from: Period) -> anyhow::Result<Vec<Period>> {
        let sql = "SELECT DISTINCT substr(day, 1, 7) FROM power_daily WHERE day < $1 ORDER BY 1";
        let first = level::month_span(keep_from).start().to_string();
        let rows: Vec<String> =
            on_pool!(self, p => sqlx::query_scalar(sql).bind(&first).fetch_all(p).await?);
        Ok(rows.iter().filter_map(|m| m.parse().ok()).collect())
    }

    /// Sums and deletes the daily rows of every month before `keep_from`; `worked` says which
    /// days are working days (the official calendar).
    pub async fn prune_power_days(
        &self,
        keep_from: Period,
        worked: impl Fn(NaiveDate) -> bool,
        now_ms: i64,
    ) -> anyhow::Result<Pruned> {
        let mut out = Pruned::default();
        for month in self.months_with_days(keep_from).await? {
            let span = level::month_span(month);
            let off: Vec<NaiveDate> = span
                .start()
                .iter_days()
                .take_while(|d| d <= span.end())
                .filter(|d| !worked(*d))
                .collect();
            let (first, next) = (
                span.start().to_string(),
                level::month_span(month.next()).start().to_string(),
            );
            out.days += self
                .prune_month(month, &total_sql(&off), &first, &next, now_ms)
                .await?;
            out.months.push(month.to_string());
        }
        Ok(out)
    }

    /// One month: summed, then its history and days deleted (its partition dropped).
    async fn prune_month(
        &self,
        month: Period,
        total: &str,
        first: &str,
        next: &str,
        now_ms: i64,
    ) -> anyhow::Result<u64> {
        let history = "DELETE FROM power_daily_history WHERE day >= $1 AND day < $2";
        let count = "SELECT COUNT(*) FROM power_daily WHERE day >= $1 AND day < $2";
        let delete = "DELETE FROM power_daily WHERE day >= $1 AND day < $2";
        let drop = format!(
            "DROP TABLE IF EXISTS {}",
            super::power::partition_name(month.year(), month.month())
        );
        let postgres = self.backend() == Backend::Postgres;
        let days: i64 = on_pool!(self, p => {
            let mut tx = p.begin().await?;
            if postgres {
                sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(POWER_DAYS_LOCK)
                    .execute(&mut *tx).await?;
            }
            // indmon's own delete: the packed 旬s of the month go with their days, here.
            mark_indmon_writer(&mut *tx).await?;
            for sql in [
                "DELETE FROM power_xun_packed WHERE period = $1",
                "DELETE FROM power_xun_days WHERE period = $1",
            ] {
                sqlx::query(sql).bind(month.to_string()).execute(&mut *tx).await?;
            }
            sqlx::query(PRUNED_MONTH).bind(month.to_string()).bind(now_ms).execute(&mut *tx).await?;
            sqlx::query(sqlx::AssertSqlSafe(total)).bind(first).bind(next).bind(now_ms)
                .execute(&mut *tx).await?;
            sqlx::query(history).bind(first).bind(next).execute(&mut *tx).await?;
            let n: i64 = sqlx::query_scalar(count).bind(first).bind(next).fetch_one(&mut *tx).await?;
            // The partition holds exactly the month (it was created for it); rows of the month
            // in the default partition, if an operator made one, are deleted as rows.
            if postgres {
                sqlx::query(sqlx::AssertSqlSafe(drop.as_str())).execute(&mut *tx).await?;
            }
            sqlx::query(delete).bind(first).bind(next).execute(&mut *tx).await?;
            unmark_indmon_writer(&mut *tx).await?;
            tx.commit().await?;
            n
        });
        Ok(u64::try_from(days).unwrap_or(0))
    }
}
