//! The import of a power-daily file in bounded memory (issue 21: 5M lines a 旬 at 500,000
//! enterprises). The lines are mapped to enterprises as they are read (the mapping, one entry
//! an account, is the only state that grows, and with the registry, not the file) and sent in
//! batches of [`BATCH`] to a staging table on the import's own transaction (SQLite: a TEMP
//! table filled through prepared statements; PostgreSQL: one `COPY` into an unlogged table from
//! the first batch to the last, fed while the file is read, `store::copy_feed`). Repeated
//! accounts, the sums per enterprise and day, the history of changed days and the writes are
//! then found set-based in SQL, and the run's end is written in the same transaction: a killed
//! import leaves all or nothing. On PostgreSQL, a file of at least [`fresh::LEAST_LINES`] lines
//! whose months have no partition yet (a month's first 旬) has each month's partition built
//! apart and attached ([`fresh`]). A line of a month already pruned (`power_pruned_month`) is
//! refused: the month is kept only as sums by 旬.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{Datelike, NaiveDate};
use futures_util::TryStreamExt;
use sqlx::Row;

use super::copy_feed::CopyFeed;
use super::power::{partition_ddl, save_cursor};
use super::power_prune::POWER_DAYS_LOCK;
use super::registry::Applied;
use super::runs::write_run_end;
use super::sqlite_raw::{Statement, with_handle};
use super::stale::{mark_indmon_writer, unmark_indmon_writer};
use super::submissions::ImportTx;
use super::xun_days::UNPACK_MONTHS;
use super::{RunEnd, Store};
use crate::credit_code::CreditCode;
use crate::period::Period;
use crate::power::DailyLine;
use crate::record::MAX_KEPT_REJECTS;

mod fresh;
pub use fresh::LEAST_LINES;
mod sql;
use sql::*;
pub(super) use sql::{CHANGED, CHANGED_TABLE, SUM_SQLITE};

/// Lines held before they are sent to the staging table.
const BATCH: usize = 16_384;

/// A mapped account: its number in this import, and its enterprise.
struct Mapped {
    id: u32,
    code: CreditCode,
    /// Its enterprise has other accounts: its days are sums.
    shared: bool,
}

/// What became of a line given to [`PowerDaysImport::add`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Added {
    Staged,
    /// Its account is not in the mapping.
    Unmapped,
    /// Its month's days were summed by 旬 and deleted (the retention).
    Pruned(Period),
}

/// A line as staged.
struct Staged {
    line: u64,
    account: u32,
    code: CreditCode,
    day: NaiveDate,
    kwh: i64,
}

/// A line that repeats an earlier line's account and day: its line, day and the first line.
pub struct Repeated {
    pub line: u64,
    pub day: String,
    pub first: u64,
}

/// The repeated lines of a file: all counted, the first [`MAX_KEPT_REJECTS`] (by line) kept.
#[derive(Default)]
pub struct Repeats {
    pub kept: Vec<Repeated>,
    pub count: u64,
}

/// Power accounts to their enterprises, looked up for every line of a file (hashed by
/// `foldhash`, quicker than the standard SipHash on short keys).
type Mapping = HashMap<String, Mapped, foldhash::fast::RandomState>;

/// An import of a power-daily file in progress: its open transaction, the mapping and the
/// lines not yet staged.
pub struct PowerDaysImport {
    tx: Tx,
    mapping: Mapping,
    pruned: HashSet<Period>,
    /// Each account's latest day so far (days from the common era): while every account's
    /// days only grow, line by line, no account can repeat a day, and the search for repeats
    /// in the staged lines is skipped.
    last_day: Vec<i32>,
    increasing: bool,
    /// A line of an enterprise with several accounts was staged: the days must be summed.
    summed: bool,
    /// Lines staged so far.
    staged: u64,
    held: Vec<Staged>,
    months: BTreeSet<(i32, u32)>,
    span: Option<(NaiveDate, NaiveDate)>,
    run_id: i64,
    now_ms: i64,
}

/// The import's transaction: open, or held by PostgreSQL's staging `COPY` while lines come.
enum Tx {
    Open(ImportTx),
    Staging(CopyFeed),
    /// Lost with a staging `COPY` that failed (and rolled back).
    Lost,
}

impl Store {
    /// Opens the transaction of a power-daily import for run `run_id`, with the stored mapping
    /// of accounts and an empty staging table.
    pub async fn begin_power_days(
        &self,
        run_id: i64,
        now_ms: i64,
    ) -> anyhow::Result<PowerDaysImport> {
        let mut tx = match self {
            // The write lock at once, as for submissions.
            Store::Sqlite(p) => ImportTx::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?),
            Store::Postgres(p) => ImportTx::Postgres(p.begin().await?),
        };
        // indmon's own write of `power_daily`: migration 0031's triggers leave it alone, and
        // the commit takes the months it changed out of `power_xun_packed` itself.
        match &mut tx {
            ImportTx::Sqlite(tx) => mark_indmon_writer(&mut **tx).await?,
            ImportTx::Postgres(tx) => mark_indmon_writer(&mut **tx).await?,
        }
        let mut mapping = match &mut tx {
            ImportTx::Sqlite(tx) => {
                for sql in ["DROP TABLE IF EXISTS temp.power_stage", STAGE_SQLITE] {
                    sqlx::query(sql).execute(&mut **tx).await?;
                }
                with_handle(tx, mapping_sqlite).await?
            }
            ImportTx::Postgres(tx) => {
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(POWER_DAYS_LOCK)
                    .execute(&mut **tx)
                    .await?;
                // The sorts and joins of millions of rows: in memory rather than in files. And
                // the sums of millions of distinct enterprise-days by a sort, not a hash: the
                // planner, which takes the unanalysed staging table for small, hashed them and
                // spilled to disk, then sorted the sums (5M lines: 29.3 s for the first
                // delivery's insert, 8.1 s for a re-delivery's sums, at 500,000 enterprises).
                for sql in [
                    STAGE_POSTGRES,
                    "SET LOCAL work_mem = '256MB'",
                    "SET LOCAL enable_hashagg = off",
                ] {
                    sqlx::query(sql).execute(&mut **tx).await?;
                }
                let mut mapping = Mapping::default();
                let mut rows = sqlx::query_as::<_, (String, String)>(MAPPING).fetch(&mut **tx);
                while let Some((account, code)) = rows.try_next().await? {
                    map(&mut mapping, account, &code);
                }
                mapping
            }
        };
        mark_shared(&mut mapping);
        let pruned = match &mut tx {
            ImportTx::Sqlite(tx) => sqlx::query_scalar(PRUNED).fetch_all(&mut **tx).await?,
            ImportTx::Postgres(tx) => sqlx::query_scalar(PRUNED).fetch_all(&mut **tx).await?,
        };
        Ok(PowerDaysImport {
            tx: Tx::Open(tx),
            last_day: vec![i32::MIN; mapping.len()],
            mapping,
            pruned: pruned
                .iter()
                .filter_map(|m: &String| m.parse().ok())
                .collect(),
            increasing: true,
            summed: false,
            staged: 0,
            held: Vec::with_capacity(BATCH),
            months: BTreeSet::new(),
            span: None,
            run_id,
            now_ms,
        })
    }
}

const MAPPING: &str = "SELECT account, credit_code FROM power_account";
const LOST: &str =
    "导入事务已随暂存失败回滚 (the import's transaction was lost with its staging COPY)";
const PRUNED: &str = "SELECT period FROM power_pruned_month";

/// Adds an account to the mapping; a stored code that does not parse maps nothing (its lines
/// are rejected as unmapped).
fn map(mapping: &mut Mapping, account: String, code: &str) {
    if let Ok(code) = code.parse::<CreditCode>() {
        let id = u32::try_from(mapping.len()).unwrap_or(u32::MAX);
        // Whether its enterprise has other accounts is known once all are read (`mark_shared`).
        let shared = false;
        mapping.insert(account, Mapped { id, code, shared });
    }
}

/// Marks the accounts of enterprises with several.
fn mark_shared(mapping: &mut Mapping) {
    let mut accounts: HashMap<CreditCode, u32> = HashMap::new();
    for m in mapping.values() {
        *accounts.entry(m.code).or_default() += 1;
    }
    for m in mapping.values_mut() {
        m.shared = accounts.get(&m.code).is_some_and(|n| *n > 1);
    }
}

fn mapping_sqlite(h: &mut super::sqlite_raw::Handle<'_>) -> anyhow::Result<Mapping> {
    let mut st = Statement::prepare(h, MAPPING)?;
    let mut mapping = Mapping::default();
    while st.step()? {
        let account = st.str(0)?.to_string();
        let code = st.str(1)?.to_string();
        map(&mut mapping, account, &code);
    }
    Ok(mapping)
}

/// A day as stored, `YYYY-MM-DD`, formatted once for a run of lines of the same day.
struct DayText(Option<(NaiveDate, String)>);

impl DayText {
    fn of(&mut self, d: NaiveDate) -> &str {
        if self.0.as_ref().is_none_or(|(k, _)| *k != d) {
            self.0 = Some((d, d.format("%Y-%m-%d").to_string()));
        }
        self.0.as_ref().map_or("", |(_, s)| s.as_str())
    }
}

/// Sums the staged lines per enterprise and day and writes them to `power_daily` in the open
/// transaction `$tx` (through `power_sum` when some day of the span is stored already, to find
/// the changed ones, or when not `$postgres`); the counts. `$summed`: some enterprise staged has
/// several accounts (PostgreSQL's statements skip the sums without).
macro_rules! write_days {
    ($tx:expr, $span:expr, $run_id:expr, $now_ms:expr, $postgres:expr, $summed:expr) => {{
        // The file's span when some day of it is stored already.
        let stored = match &$span {
            Some((first, last)) => {
                let any = sqlx::query_scalar::<_, i64>(ANY_STORED)
                    .bind(first)
                    .bind(last)
                    .fetch_one(&mut *$tx)
                    .await?;
                (any > 0).then_some((first, last))
            }
            None => None,
        };
        let (total, revised, written) = if let Some((first, last)) = stored {
            let sums = if $postgres && !$summed {
                SUMS_ALONE
            } else {
                SUMS
            };
            let total = sqlx::query(sums).execute(&mut *$tx).await?.rows_affected();
            if $postgres {
                // The planner's choice of join wants the table's size.
                sqlx::query("ANALYZE power_sum").execute(&mut *$tx).await?;
            }
            sqlx::query(CHANGED)
                .bind(first)
                .bind(last)
                .execute(&mut *$tx)
                .await?;
            let revised = sqlx::query(HISTORY)
                .bind($now_ms)
                .bind($run_id)
                .execute(&mut *$tx)
                .await?
                .rows_affected();
            let written = sqlx::query(UPSERT)
                .bind($run_id)
                .bind($now_ms)
                .execute(&mut *$tx)
                .await?
                .rows_affected();
            (total, revised, written)
        } else {
            let insert = if $postgres && $summed {
                INSERT_STAGED
            } else if $postgres {
                INSERT_STAGED_ALONE
            } else {
                sqlx::query(SUMS).execute(&mut *$tx).await?;
                INSERT_SUMS
            };
            let written = sqlx::query(insert)
                .bind($run_id)
                .bind($now_ms)
                .execute(&mut *$tx)
                .await?
                .rows_affected();
            (written, 0, written)
        };
        Applied {
            accepted: written - revised,
            revised,
            unchanged: total - written,
        }
    }};
}

/// Takes the months of the file's span out of `power_xun_packed` when a day was written
/// (`store::xun_days`), in the import's transaction `$tx`.
macro_rules! unpack {
    ($tx:expr, $span:expr, $applied:expr) => {
        if let Some((first, last)) = &$span
            && $applied.accepted + $applied.revised > 0
        {
            sqlx::query(UNPACK_MONTHS)
                .bind(first)
                .bind(last)
                .execute(&mut *$tx)
                .await?;
        }
    };
}

impl PowerDaysImport {
    /// Takes a parsed line: staged, or not (the caller rejects it) when its account is not in
    /// the mapping or its month was pruned.
    pub async fn add(&mut self, l: &DailyLine) -> anyhow::Result<Added> {
        let Some(m) = self.mapping.get(l.account.as_str()) else {
            return Ok(Added::Unmapped);
        };
        self.summed |= m.shared;
        if !self.pruned.is_empty() {
            let month = Period::new(l.day.year(), l.day.month());
            if let Some(month) = month.filter(|p| self.pruned.contains(p)) {
                return Ok(Added::Pruned(month));
            }
        }
        let day = l.day.num_days_from_ce();
        if let Some(last) = self.last_day.get_mut(m.id as usize) {
            if day <= *last {
                self.increasing = false;
            }
            *last = day;
        }
        self.span = Some(match self.span {
            None => (l.day, l.day),
            Some((a, b)) => (a.min(l.day), b.max(l.day)),
        });
        self.months.insert((l.day.year(), l.day.month()));
        self.held.push(Staged {
            line: l.line,
            account: m.id,
            code: m.code,
            day: l.day,
            kwh: l.kwh,
        });
        self.staged += 1;
        if self.held.len() >= BATCH {
            self.send().await?;
        }
        Ok(Added::Staged)
    }

    /// Sends the held lines to the staging table (on PostgreSQL, to its `COPY`, begun with the
    /// first batch and ended by [`PowerDaysImport::open`]).
    async fn send(&mut self) -> anyhow::Result<()> {
        if let Tx::Open(ImportTx::Postgres(_)) = &self.tx
            && let Tx::Open(ImportTx::Postgres(tx)) = std::mem::replace(&mut self.tx, Tx::Lost)
        {
            self.tx = Tx::Staging(CopyFeed::start(tx, COPY_STAGE));
        }
        let held = &mut self.held;
        let mut days = DayText(None);
        match &mut self.tx {
            Tx::Open(ImportTx::Sqlite(tx)) => {
                with_handle(tx, |h| {
                    let mut st = Statement::prepare(h, INSERT_STAGE)?;
                    for s in held.iter() {
                        st.bind_int(1, i64::try_from(s.line)?)?;
                        st.bind_int(2, i64::from(s.account))?;
                        st.bind_text(3, s.code.as_str())?;
                        st.bind_text(4, days.of(s.day))?;
                        st.bind_int(5, s.kwh)?;
                        st.step()?;
                        st.reset()?;
                    }
                    Ok(())
                })
                .await?
            }
            Tx::Staging(feed) => {
                let copy = feed.writer();
                for s in held.iter() {
                    copy.row(5);
                    copy.int8(i64::try_from(s.line)?);
                    copy.int4(i32::try_from(s.account)?);
                    copy.bytes(s.code.as_str().as_bytes())?;
                    copy.bytes(days.of(s.day).as_bytes())?;
                    copy.int8(s.kwh);
                }
                feed.send().await?;
            }
            Tx::Open(ImportTx::Postgres(_)) | Tx::Lost => anyhow::bail!(LOST),
        }
        held.clear();
        Ok(())
    }

    /// The transaction, once the staging `COPY` (if one is open) has stored every line.
    async fn open(&mut self) -> anyhow::Result<&mut ImportTx> {
        if let Tx::Staging(_) = &self.tx
            && let Tx::Staging(feed) = std::mem::replace(&mut self.tx, Tx::Lost)
        {
            self.tx = Tx::Open(ImportTx::Postgres(feed.finish().await?));
        }
        match &mut self.tx {
            Tx::Open(tx) => Ok(tx),
            _ => anyhow::bail!(LOST),
        }
    }

    /// Stages the last lines and finds the lines that repeat an account's day (and leaves
    /// them out of the sums).
    pub async fn finish_lines(&mut self) -> anyhow::Result<Repeats> {
        self.send().await?;
        let increasing = self.increasing;
        let tx = self.open().await?;
        let mut repeats = Repeats::default();
        if increasing {
            return Ok(repeats);
        }
        macro_rules! find {
            ($tx:expr) => {{
                {
                    let mut rows = sqlx::query(REPEATS).fetch(&mut **$tx);
                    while let Some(r) = rows.try_next().await? {
                        repeats.count += 1;
                        if repeats.kept.len() < MAX_KEPT_REJECTS {
                            repeats.kept.push(Repeated {
                                line: u64::try_from(r.try_get::<i64, _>(0)?)?,
                                day: r.try_get(1)?,
                                first: u64::try_from(r.try_get::<i64, _>(2)?)?,
                            });
                        }
                    }
                }
                if repeats.count > 0 {
                    sqlx::query(DROP_REPEATS).execute(&mut **$tx).await?;
                }
            }};
        }
        match tx {
            ImportTx::Sqlite(tx) => find!(tx),
            ImportTx::Postgres(tx) => find!(tx),
        }
        Ok(repeats)
    }

    /// Writes the staged days: new ones inserted with revision 1, changed ones updated with the
    /// figure they replace kept in `power_daily_history`, identical ones left alone; then the
    /// cursor and the run's end (`end(counts)`), and commits.
    pub async fn commit<'e>(
        mut self,
        cursor: Option<(&str, &str)>,
        end: impl Fn(Applied) -> RunEnd<'e>,
    ) -> anyhow::Result<Applied> {
        self.open().await?;
        let (run_id, now_ms) = (self.run_id, self.now_ms);
        let span = self.span.map(|(a, b)| {
            (
                a.format("%Y-%m-%d").to_string(),
                b.format("%Y-%m-%d").to_string(),
            )
        });
        let applied;
        match self.tx {
            Tx::Staging(_) | Tx::Lost => anyhow::bail!(LOST),
            Tx::Open(ImportTx::Sqlite(mut tx)) => {
                let changed = format!("CREATE TEMP TABLE power_changed {CHANGED_TABLE}");
                for sql in [
                    "DROP TABLE IF EXISTS temp.power_sum",
                    "DROP TABLE IF EXISTS temp.power_changed",
                    SUM_SQLITE,
                    changed.as_str(),
                ] {
                    sqlx::query(sqlx::AssertSqlSafe(sql))
                        .execute(&mut *tx)
                        .await?;
                }
                applied = write_days!(tx, span, run_id, now_ms, false, self.summed);
                unpack!(tx, span, applied);
                for sql in [
                    "DROP TABLE temp.power_sum",
                    "DROP TABLE temp.power_changed",
                    "DROP TABLE temp.power_stage",
                ] {
                    sqlx::query(sql).execute(&mut *tx).await?;
                }
                save_cursor!(tx, cursor, now_ms);
                write_run_end!(tx, run_id, &end(applied));
                unmark_indmon_writer(&mut *tx).await?;
                tx.commit().await?;
            }
            Tx::Open(ImportTx::Postgres(mut tx)) => {
                if self.staged >= fresh::LEAST_LINES
                    && fresh::all_fresh(&mut tx, &self.months).await?
                {
                    let written =
                        fresh::build(&mut tx, &self.months, self.summed, run_id, now_ms).await?;
                    applied = Applied {
                        accepted: written,
                        revised: 0,
                        unchanged: 0,
                    };
                } else {
                    let changed =
                        format!("CREATE TEMP TABLE power_changed {CHANGED_TABLE} ON COMMIT DROP");
                    for sql in [SUM_POSTGRES, changed.as_str()] {
                        sqlx::query(sqlx::AssertSqlSafe(sql))
                            .execute(&mut *tx)
                            .await?;
                    }
                    for (y, m) in &self.months {
                        let ddl = partition_ddl(*y, *m);
                        sqlx::query(sqlx::AssertSqlSafe(ddl.as_str()))
                            .execute(&mut *tx)
                            .await?;
                    }
                    applied = write_days!(tx, span, run_id, now_ms, true, self.summed);
                }
                sqlx::query(DROP_STAGE_POSTGRES).execute(&mut *tx).await?;
                unpack!(tx, span, applied);
                save_cursor!(tx, cursor, now_ms);
                write_run_end!(tx, run_id, &end(applied));
                unmark_indmon_writer(&mut *tx).await?;
                tx.commit().await?;
            }
        }
        Ok(applied)
    }

    /// Gives up the import: nothing it staged is kept.
    pub async fn rollback(self) -> anyhow::Result<()> {
        match self.tx {
            Tx::Open(ImportTx::Sqlite(tx)) => tx.rollback().await?,
            Tx::Open(ImportTx::Postgres(tx)) => tx.rollback().await?,
            Tx::Staging(feed) => feed.abandon().await?,
            Tx::Lost => {}
        }
        Ok(())
    }
}
