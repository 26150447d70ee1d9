//! A delivery of [`LEAST_LINES`] lines or more whose months have no partition yet (a month's
//! first 旬), on PostgreSQL: nothing of them is stored, so each month's partition is built
//! apart and then attached. Its days go in key order into a plain table, its key is built once
//! over them, and the table becomes the month's partition. Created empty and attached first,
//! the partition grew its key a row at a time: at 500,000 enterprises × 10 days,
//! `benches/power.rs` wrote a 旬 in 16.9–24.4 s that way and in 11.8–14.0 s this way (the
//! insert, the CHECK and the key, six of each, 2026-12-05).
//! The CHECK of the month's bounds, added before the attach and dropped after, proves the rows
//! inside them: the attach does not scan them again.

use std::collections::BTreeSet;

use sqlx::{Postgres, Transaction};

use super::super::power::{partition_bounds, partition_name};

type Tx = Transaction<'static, Postgres>;

/// The lines staged from which a file's new months are built apart. A smaller file gains
/// little, and its partitions would start with statistics of their first few rows (the key's
/// build counts them), which sent the nowcast's day-by-day read of a test's tiny partitions to
/// a scan of every row for each day (1,511 days: 1.35 s, against 12 ms by the key with
/// the counts unknown, in psql).
pub const LEAST_LINES: u64 = 100_000;

/// Whether every month of `months` (at least one) lacks its partition.
pub(super) async fn all_fresh(tx: &mut Tx, months: &BTreeSet<(i32, u32)>) -> anyhow::Result<bool> {
    if months.is_empty() {
        return Ok(false);
    }
    for (y, m) in months {
        let exists: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
            .bind(partition_name(*y, *m))
            .fetch_one(&mut **tx)
            .await?;
        if exists {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Builds and attaches the partition of each month of `months` from the staged lines (summed
/// per enterprise and day when `summed`); the days written.
pub(super) async fn build(
    tx: &mut Tx,
    months: &BTreeSet<(i32, u32)>,
    summed: bool,
    run_id: i64,
    now_ms: i64,
) -> anyhow::Result<u64> {
    let mut written = 0;
    for (y, m) in months {
        let name = partition_name(*y, *m);
        let (from, to) = partition_bounds(*y, *m);
        let create = format!("CREATE TABLE {name} (LIKE power_daily)");
        sqlx::query(sqlx::AssertSqlSafe(create))
            .execute(&mut **tx)
            .await?;
        let insert = format!("INSERT INTO {name} {}", if summed { SUMMED } else { ALONE });
        written += sqlx::query(sqlx::AssertSqlSafe(insert))
            .bind(run_id)
            .bind(now_ms)
            .bind(&from)
            .bind(&to)
            .execute(&mut **tx)
            .await?
            .rows_affected();
        for ddl in [
            format!(
                "ALTER TABLE {name} ADD CONSTRAINT {name}_bounds CHECK (day >= '{from}' AND day < '{to}')"
            ),
            format!("ALTER TABLE {name} ADD PRIMARY KEY (day, credit_code)"),
            format!(
                "ALTER TABLE power_daily ATTACH PARTITION {name} FOR VALUES FROM ('{from}') TO ('{to}')"
            ),
            format!("ALTER TABLE {name} DROP CONSTRAINT {name}_bounds"),
        ] {
            sqlx::query(sqlx::AssertSqlSafe(ddl))
                .execute(&mut **tx)
                .await?;
        }
    }
    Ok(written)
}

/// A month's (`$3..$4`) staged lines summed per enterprise and day, in key order; `$1` the run,
/// `$2` the time received.
const SUMMED: &str = "(credit_code, day, kwh, revision, run_id, received_at)
     SELECT credit_code, day, SUM(kwh), 1, $1, $2 FROM power_stage WHERE day >= $3 AND day < $4
     GROUP BY day, credit_code ORDER BY day, credit_code";
/// … when each enterprise-day is one line (no enterprise staged has several accounts).
const ALONE: &str = "(credit_code, day, kwh, revision, run_id, received_at)
     SELECT credit_code, day, kwh, 1, $1, $2 FROM power_stage WHERE day >= $3 AND day < $4
     ORDER BY day, credit_code";
