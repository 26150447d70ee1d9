//! A delivery of [`LEAST_LINES`] lines or more whose months have no partition yet (a month's
//! first 旬), on PostgreSQL: nothing of them is stored, so each month's partition is built
//! apart and then attached. Its days go in key order into a plain table, its key is built once
//! over them, and the table becomes the month's partition. Created empty and attached first,
//! the partition grew its key a row at a time: at 500,000 enterprises × 10 days,
//! `benches/power.rs` wrote a 旬 in 16.9–24.4 s that way and in 11.8–14.0 s this way (the
//! insert, the CHECK and the key, six of each, 2026-12-05).
//! The table is made by `CREATE TABLE … AS` from the staged lines, whose sort PostgreSQL shares
//! with parallel workers (`max_parallel_workers_per_gather`, each sorting in the import's
//! `work_mem`); it sorts an `INSERT … SELECT` alone. With each account's ten days together in
//! the file (500,000 enterprises), the sorted write took 7.5–8.7 s against 11.5–11.9 s, and the
//! whole import 13.6–15.2 s against 17.2–18.0 s; a file already in the key's order (day-major,
//! by credit code) gains little (2026-12-06, `benches/power.rs`, alternated with the binary
//! before).
//! The CHECK of the month's bounds, added before the attach and dropped after, proves the rows
//! inside them and that no column holds a NULL (`CREATE TABLE … AS` makes them nullable; the
//! partition's must be NOT NULL like the parent's): one scan for all, and neither the key nor
//! the attach scans them again.

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
        let create = create_sql(&name, summed, run_id, now_ms, &from, &to);
        written += sqlx::query(sqlx::AssertSqlSafe(create))
            .execute(&mut **tx)
            .await?
            .rows_affected();
        for ddl in [
            // One scan proves the month's bounds and every column's NOT NULL (a CHECK that says
            // `IS NOT NULL` spares each its own scan). Left to the key, its two columns' NOT NULL
            // cost a scan of their own (0.5–0.9 s at 5M days).
            format!(
                "ALTER TABLE {name} ADD CONSTRAINT {name}_bounds CHECK (day >= '{from}' AND day < '{to}'
                   AND day IS NOT NULL AND credit_code IS NOT NULL AND kwh IS NOT NULL
                   AND revision IS NOT NULL AND run_id IS NOT NULL AND received_at IS NOT NULL),
                 ALTER COLUMN day SET NOT NULL, ALTER COLUMN credit_code SET NOT NULL,
                 ALTER COLUMN kwh SET NOT NULL, ALTER COLUMN revision SET NOT NULL,
                 ALTER COLUMN run_id SET NOT NULL, ALTER COLUMN received_at SET NOT NULL"
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

/// The statement making the month's table `name` (`from..to`) from the staged lines, in key
/// order, with `power_daily`'s columns: `CREATE TABLE … AS`, whose query PostgreSQL may sort in
/// parallel workers (an `INSERT … SELECT` it sorts alone). The day takes the database's
/// collation back, as the partition key has it; the sort is the staged columns' (bytewise).
/// The run and the time are formatted into the statement, as the days are into the DDL around
/// it: integers, and days `YYYY-MM-DD`.
fn create_sql(name: &str, summed: bool, run_id: i64, now_ms: i64, from: &str, to: &str) -> String {
    let (kwh, group) = if summed {
        (
            "CAST(SUM(s.kwh) AS BIGINT)",
            "GROUP BY s.day, s.credit_code",
        )
    } else {
        ("s.kwh", "")
    };
    format!(
        "CREATE TABLE {name} AS
         SELECT s.credit_code, s.day COLLATE pg_catalog.\"default\" AS day, {kwh} AS kwh,
           CAST(1 AS INTEGER) AS revision, CAST({run_id} AS BIGINT) AS run_id,
           CAST({now_ms} AS BIGINT) AS received_at
         FROM power_stage s WHERE s.day >= '{from}' AND s.day < '{to}' {group}
         ORDER BY s.day, s.credit_code"
    )
}
