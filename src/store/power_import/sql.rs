//! The statements of the power-daily import (`super`): the staging tables, the repeats, the
//! sums, and the writes of new and changed days.

pub(super) const STAGE_SQLITE: &str = "CREATE TEMP TABLE power_stage (line INTEGER PRIMARY KEY, account INTEGER NOT NULL, credit_code TEXT NOT NULL, day TEXT NOT NULL, kwh BIGINT NOT NULL)";
/// PostgreSQL's staged text compared bytewise (`COLLATE "C"`): the same order as the database's
/// for these ASCII codes and days, without the C library's collation on every comparison of
/// the sorts below (5M lines grouped and ordered in 4.8 s instead of 6.5 s, in psql).
/// An unlogged table rather than a temporary one, so that a new month's partition is sorted
/// from it by parallel workers (`fresh`), which cannot read a session's temporary tables. Like a
/// temporary table it writes no WAL; it is created in the import's transaction (behind the
/// import's lock, so one at a time), gone with it if the import fails, and dropped before it
/// commits ([`DROP_STAGE_POSTGRES`]).
pub(super) const STAGE_POSTGRES: &str = "CREATE UNLOGGED TABLE power_stage (line BIGINT NOT NULL, account INTEGER NOT NULL, credit_code TEXT COLLATE \"C\" NOT NULL, day TEXT COLLATE \"C\" NOT NULL, kwh BIGINT NOT NULL)";
pub(super) const DROP_STAGE_POSTGRES: &str = "DROP TABLE power_stage";
pub(in crate::store) const SUM_SQLITE: &str = "CREATE TEMP TABLE power_sum (credit_code TEXT NOT NULL, day TEXT NOT NULL, kwh BIGINT NOT NULL, PRIMARY KEY (day, credit_code)) WITHOUT ROWID";
pub(super) const SUM_POSTGRES: &str = "CREATE TEMP TABLE power_sum (credit_code TEXT NOT NULL, day TEXT NOT NULL, kwh BIGINT NOT NULL) ON COMMIT DROP";
pub(in crate::store) const CHANGED_TABLE: &str = "(credit_code TEXT NOT NULL, day TEXT NOT NULL, kwh BIGINT NOT NULL, old_kwh BIGINT, old_revision INTEGER, old_run_id BIGINT, old_received_at BIGINT)";
pub(super) const INSERT_STAGE: &str = "INSERT INTO temp.power_stage (line, account, credit_code, day, kwh) VALUES (?1, ?2, ?3, ?4, ?5)";
pub(super) const COPY_STAGE: &str =
    "COPY power_stage (line, account, credit_code, day, kwh) FROM STDIN (FORMAT binary)";
/// The staged lines whose account and day an earlier line gave, in line order.
pub(super) const REPEATS: &str = "SELECT line, day, first FROM (SELECT line, day, MIN(line) OVER (PARTITION BY account, day) AS first FROM power_stage) t WHERE line > first ORDER BY line";
pub(super) const DROP_REPEATS: &str = "DELETE FROM power_stage WHERE line IN (SELECT line FROM (SELECT line, MIN(line) OVER (PARTITION BY account, day) AS first FROM power_stage) t WHERE line > first)";
pub(super) const SUMS: &str = "INSERT INTO power_sum (credit_code, day, kwh) SELECT credit_code, day, SUM(kwh) FROM power_stage GROUP BY day, credit_code";
/// Whether a day of `$1..=$2` is stored: the first by the key, read in its order (without the
/// order, PostgreSQL's planner took a bitmap of every day of the span: 0.4 s at 5M days).
pub(super) const ANY_STORED: &str = "SELECT COUNT(*) FROM (SELECT 1 FROM power_daily WHERE day >= $1 AND day <= $2 ORDER BY day LIMIT 1) t";
/// The summed days that are new or changed, with the stored figure each replaces (NULL when
/// new): one pass over the stored days of the file's span (`$1..=$2`: on PostgreSQL, its
/// months' partitions alone) for both the history and the writes.
pub(in crate::store) const CHANGED: &str = "INSERT INTO power_changed (credit_code, day, kwh, old_kwh, old_revision, old_run_id, old_received_at)
     SELECT s.credit_code, s.day, s.kwh, d.kwh, d.revision, d.run_id, d.received_at
     FROM power_sum s LEFT JOIN power_daily d ON d.credit_code = s.credit_code AND d.day = s.day
       AND d.day >= $1 AND d.day <= $2
     WHERE d.kwh IS NULL OR d.kwh <> s.kwh";
pub(super) const HISTORY: &str = "INSERT INTO power_daily_history (credit_code, day, kwh, revision, run_id, received_at, superseded_at, superseded_by)
     SELECT credit_code, day, old_kwh, old_revision, old_run_id, old_received_at, $1, $2
     FROM power_changed WHERE old_kwh IS NOT NULL";
pub(super) const UPSERT: &str = "INSERT INTO power_daily (credit_code, day, kwh, revision, run_id, received_at)
     SELECT credit_code, day, kwh, COALESCE(old_revision + 1, 1), $1, $2 FROM power_changed WHERE true
     ON CONFLICT (credit_code, day) DO UPDATE SET kwh = excluded.kwh, revision = excluded.revision,
       run_id = excluded.run_id, received_at = excluded.received_at";
/// When no day of the file's span is stored yet (a 旬's first delivery), on PostgreSQL: the sums
/// go straight from the staged lines to `power_daily`, in its key's order (day, credit code), so
/// that the key is written at its end rather than at random.
pub(super) const INSERT_STAGED: &str =
    "INSERT INTO power_daily (credit_code, day, kwh, revision, run_id, received_at)
     SELECT credit_code, day, SUM(kwh), 1, $1, $2 FROM power_stage
     GROUP BY day, credit_code ORDER BY day, credit_code";
/// … and when no line staged is of an enterprise with several accounts, each enterprise-day is
/// one line already (repeats are left out): no sums to make (5M lines: 1.6 s less, in psql).
pub(super) const INSERT_STAGED_ALONE: &str =
    "INSERT INTO power_daily (credit_code, day, kwh, revision, run_id, received_at)
     SELECT credit_code, day, kwh, 1, $1, $2 FROM power_stage ORDER BY day, credit_code";
/// [`SUMS`] on PostgreSQL when no line staged is of an enterprise with several accounts.
pub(super) const SUMS_ALONE: &str =
    "INSERT INTO power_sum (credit_code, day, kwh) SELECT credit_code, day, kwh FROM power_stage";
/// … and on SQLite, from `power_sum` (in key order already): the sort and the writes in one
/// statement hold the sorter's memory and the page cache at once (tried with the table keyed by
/// day: 1.5M lines grew the peak by 124 MiB, over `tests/power_memory.rs`'s bound of 100).
pub(super) const INSERT_SUMS: &str =
    "INSERT INTO power_daily (credit_code, day, kwh, revision, run_id, received_at)
     SELECT credit_code, day, kwh, 1, $1, $2 FROM power_sum";
