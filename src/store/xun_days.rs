//! Settled 旬s packed one row an enterprise (`power_xun_days`, migration 0031): the 旬
//! evaluation reads the same 旬 last year (and last December) 500,000 rows at a time instead
//! of 5M days. A cache of `power_daily`, which stays the record:
//! - a 旬 is packed from its days at once ([`Store::pack_xuns`]), by the first evaluation that
//!   reads it as a reference, and its rows are read only while it is in `power_xun_packed`
//!   (the mark and the rows in one statement, [`READ`]);
//! - any change to a month's days takes its 旬s out of `power_xun_packed` in the same
//!   transaction: the power-daily import ([`UNPACK_MONTHS`]), the prune, and migration 0031's
//!   triggers for a change made behind indmon's back;
//! - a packing locks `power_xun_packed` (PostgreSQL: `SHARE ROW EXCLUSIVE`, which every
//!   `DELETE` from it waits for) before it reads the days, so a change that removed the mark
//!   before the lock is committed and seen, and one that removes it after finds the new mark.
//!
//! The days are kept each apart, not as sums, so that the working-day averages follow the
//! calendar as it is when they are read: one value a row (`days`, migration 0033), eight
//! bytes a day in the 旬's order ([`packed_days`]), since each column read cost PostgreSQL a
//! field to send.

use std::collections::HashSet;

use super::{Store, on_pool};
use crate::power::Xun;

/// The most days of a 旬.
pub(super) const MOST_DAYS: usize = 11;

/// A day without a figure in `days` (`power::DailyTable`'s own mark for it).
const NO_FIGURE: i64 = i64::MIN;

/// The statement packing one 旬: each enterprise's days as one value, eight bytes a day
/// (big-endian, [`NO_FIGURE`] for a day without one), by `int8send` on PostgreSQL and from
/// hexadecimal on SQLite. Days are formatted here (`YYYY-MM-DD`, nothing else); `$1` the
/// period, `$2` the 旬, `$3..=$4` its first and last day.
fn pack_sql(x: Xun, postgres: bool) -> String {
    let figures: Vec<String> = x
        .days()
        .map(|d| {
            format!("COALESCE(MAX(CASE WHEN day = '{d}' THEN kwh END), (-9223372036854775807 - 1))")
        })
        .collect();
    let days = if postgres {
        figures
            .iter()
            .map(|f| format!("int8send({f})"))
            .collect::<Vec<_>>()
            .join(" || ")
    } else {
        let format = "%016x".repeat(figures.len());
        format!("unhex(printf('{format}', {}))", figures.join(", "))
    };
    format!(
        "INSERT INTO power_xun_days (period, xun, credit_code, days)
         SELECT $1, $2, credit_code, {days} FROM power_daily WHERE day >= $3 AND day <= $4 GROUP BY credit_code ORDER BY credit_code"
    )
}

/// The figures of a packed 旬's `days`: the index of each day with one in the 旬, and its
/// figure.
pub(super) fn packed_days(days: &[u8]) -> anyhow::Result<impl Iterator<Item = (usize, i64)>> {
    anyhow::ensure!(
        days.len().is_multiple_of(8) && days.len() <= 8 * MOST_DAYS,
        "打包的旬日用电长度不对：{} 字节；删除 power_xun_packed 中该旬的行即可重建 (packed 旬 days of {} bytes; delete the 旬's row of power_xun_packed to pack it again)",
        days.len(),
        days.len()
    );
    Ok(days.chunks_exact(8).enumerate().filter_map(|(k, b)| {
        let v = super::copy::be_i64(b)?;
        (v != NO_FIGURE).then_some((k, v))
    }))
}

/// The statement reading one packed 旬: the credit code and the days — none if the 旬 is not
/// packed, one row without a code if it is but has no days. Its mark and its rows read in one
/// statement, so in one snapshot: a change committed after [`Store::packed_xuns`] said it was
/// packed is not read stale. Rows come in the heap's order, the key's as packed (the
/// registry's, so that the read finds each enterprise without a lookup).
pub(super) const READ: &str = "SELECT d.credit_code, d.days
     FROM power_xun_packed m LEFT JOIN power_xun_days d ON d.period = m.period AND d.xun = m.xun
     WHERE m.period = $1 AND m.xun = $2";

/// Takes the months of the file's span (`$1..=$2`, its first and last day) out of
/// `power_xun_packed`, in the transaction of the import that changed their days. Months of the
/// span the file has no day of are taken out too: they are packed again when next read.
pub(super) const UNPACK_MONTHS: &str =
    "DELETE FROM power_xun_packed WHERE period >= substr($1, 1, 7) AND period <= substr($2, 1, 7)";

impl Store {
    /// Which of `xuns` are packed.
    pub async fn packed_xuns(&self, xuns: &[Xun]) -> anyhow::Result<HashSet<Xun>> {
        let sql = "SELECT COUNT(*) FROM power_xun_packed WHERE period = $1 AND xun = $2";
        let mut out = HashSet::new();
        for x in xuns {
            let (period, part) = (x.period().to_string(), i32::from(x.part()));
            let n: i64 = on_pool!(self, p => sqlx::query_scalar(sql).bind(&period).bind(part).fetch_one(p).await?);
            if n > 0 {
                out.insert(*x);
            }
        }
        Ok(out)
    }

    /// Packs each of `xuns` not packed yet from its days; returns the enterprises packed.
    pub async fn pack_xuns(&self, xuns: &[Xun], now_ms: i64) -> anyhow::Result<u64> {
        let packed = self.packed_xuns(xuns).await?;
        let mut rows = 0;
        for x in xuns.iter().filter(|x| !packed.contains(x)) {
            let started = std::time::Instant::now();
            let n = self.pack_xun(*x, now_ms).await?;
            tracing::debug!(
                xun = %x,
                enterprises = n,
                ms = started.elapsed().as_millis() as u64,
                "{} 的日用电已按企业打包，供此后的旬评估读取 (packed the 旬's days by enterprise)",
                x.label()
            );
            rows += n;
        }
        Ok(rows)
    }

    /// Packs one 旬 from its days, replacing its rows, and marks it packed.
    async fn pack_xun(&self, x: Xun, now_ms: i64) -> anyhow::Result<u64> {
        let (period, part) = (x.period().to_string(), i32::from(x.part()));
        let (first, last) = (x.first_day().to_string(), x.last_day().to_string());
        let postgres = self.backend() == super::Backend::Postgres;
        let pack = pack_sql(x, postgres);
        let delete = "DELETE FROM power_xun_days WHERE period = $1 AND xun = $2";
        let mark = "INSERT INTO power_xun_packed (period, xun, packed_at) VALUES ($1, $2, $3)
                    ON CONFLICT (period, xun) DO UPDATE SET packed_at = excluded.packed_at";
        let n = on_pool!(self, p => {
            let mut tx = p.begin().await?;
            if postgres {
                for sql in [
                    "LOCK TABLE power_xun_packed IN SHARE ROW EXCLUSIVE MODE",
                    // 500,000 enterprises' groups in memory rather than spilled.
                    "SET LOCAL work_mem = '256MB'",
                ] {
                    sqlx::query(sql).execute(&mut *tx).await?;
                }
            }
            // On SQLite the first write takes the write lock, before the days are read.
            sqlx::query(delete).bind(&period).bind(part).execute(&mut *tx).await?;
            let n = sqlx::query(sqlx::AssertSqlSafe(pack))
                .bind(&period).bind(part).bind(&first).bind(&last)
                .execute(&mut *tx).await?.rows_affected();
            sqlx::query(mark).bind(&period).bind(part).bind(now_ms).execute(&mut *tx).await?;
            tx.commit().await?;
            n
        });
        Ok(n)
    }
}
