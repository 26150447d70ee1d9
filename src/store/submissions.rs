//! The bulk path for submissions. Current figures are rows of `submission`, one per enterprise
//! and month ([`super::rows`]), and the same months packed, one row per enterprise and calendar
//! year in `submission_year` ([`super::packed`]) for the evaluation; earlier revisions are in
//! `submission_history`, one row per superseded month.
//!
//! An import holds the file's rows in memory, compactly and grouped by enterprise-year, while
//! they are parsed. When the file ends it merges them year by year with the stored packs — new
//! months, revised months (the earlier figures go to history), unchanged months — and writes
//! the rows of the months that changed and the packs of the years that did, in key order. All
//! of it runs in one transaction: nothing is visible to other readers until it commits, and a
//! rejected file is rolled back whole. When the held rows ([`super::held`]: their months,
//! their map's whole table and the sort of their years) pass [`BUFFER_LIMIT`] they are written
//! out sorted to a temporary file ([`super::year_runs`]), so memory stays bounded whatever the
//! file's size; when the file ends the runs are merged back in key order, an eighth of a buffer
//! at a time, the next share read from the runs while the one before is written
//! ([`super::merge_feed`]), so that each enterprise-year is still merged once and whole and the
//! tables are written in the order of their keys, as for a small file.

use std::collections::{HashMap, HashSet};

use futures_util::TryStreamExt;
use sqlx::{Postgres, Sqlite, Transaction};

use super::copy::BinaryCopyWriter;
use super::first_load::FirstLoad;
use super::held::{Added, Held, HeldYear, table_bytes};
use super::merge_feed::MergeFeed;
use super::packed::{self, Figures, Merged, Month, REVISION, RUN_ID, YearMerge};
use super::rows::{OnConflict, SqliteRows, Stored, copy_row, upsert_postgres};
use super::run_writer::RunWriter;
use super::runs::write_run_end;
use super::sqlite_raw::{Statement, with_handle};
use super::stale::{mark_indmon_writer, unmark_indmon_writer};
use super::year_runs::{Code, Repeat, YearKey};
use super::{RunEnd, Store, on_pool};
use crate::indicator::N_FIELDS;
use crate::period::Period;
use crate::record::{Reject, Rejects, Submission};

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

/// Bytes of held rows (about 50 a row, and the table of the map of their enterprise-years)
/// after which an import writes them out as a sorted run, unless its options say otherwise.
pub const BUFFER_LIMIT: usize = 96 << 20;

/// The runs are merged back an eighth of the buffer at a time, two shares held at once (the one
/// written while the next is filled, [`MergeFeed`]): the years come from them in key order, so
/// a smaller share costs only statements, and the merge holds beside them the packs it reads
/// and writes. (Two quarters held at once raised a 500,000-enterprise re-import's peak from 90
/// to 106–109 MiB on PostgreSQL, 2026-12-06; two eighths ran as fast and did not.)
const MERGE_SHARE: usize = 8;

/// Once a file has outgrown the buffer, the rows held for each run take a quarter of it: the
/// run being written and the one being filled are held together, and in a period-major file a
/// run holds one month of each of its years whatever its size, so larger runs cost memory and
/// save little (500,000 enterprises × 25 months, 2026-12-06: runs of half the buffer took as
/// long, and held some 35 MiB more through the parse; README).
const RUN_SHARE: usize = 4;

/// Rows written by one import after which the planner's statistics are refreshed at once.
pub const REFRESH_STATISTICS_AFTER: u64 = 10_000;

/// Taken by every PostgreSQL transaction that writes packed years, before it reads them: two
/// imports of different months of one enterprise-year would otherwise each pack the year
/// without the other's month, and the later commit would win. (The mode conflicts with itself,
/// not with readers.)
pub(super) const LOCK_POSTGRES: &str = "LOCK TABLE submission_year IN SHARE ROW EXCLUSIVE MODE";

/// A month a merge wrote, new or revised: its fields as they now stand.
struct Written {
    month: u32,
    fields: Month,
    /// Whether the month was not stored before.
    new: bool,
}

/// An earlier revision of a month, on its way to `submission_history`.
struct Superseded {
    key: YearKey,
    month: u32,
    before: Month,
}

pub(super) enum ImportTx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

/// An import of submissions in progress: an open transaction and the rows held so far.
pub struct SubmissionImport {
    pub(super) tx: ImportTx,
    /// Which figures the file carries: those it lacks keep their stored values.
    present: [bool; N_FIELDS],
    run_id: i64,
    now_ms: i64,
    /// Whether rejected rows are left out (`--partial`) rather than failing the file.
    partial: bool,
    /// Bytes of held rows after which they are written out as a sorted run.
    buffer_limit: usize,
    /// Whether the input is sure to outgrow the buffer ([`outgrows`]).
    outgrows: bool,
    /// The rows not merged yet.
    years: Held,
    /// The held rows written out, sorted, each time they passed the buffer.
    runs: RunWriter,
    rejects: Rejects,
    out: MergeOutcome,
    /// PostgreSQL's first load into an empty `submission`: its key built at the commit.
    first_load: Option<FirstLoad>,
}

const UNKNOWN: &str = "企业不在名录中，请先导入企业名录 (enterprise not registered)";

/// Whether a map with `len` entries and room for `capacity` may take a new key with `rows`
/// bytes of months held (and of their years' sort) and a buffer of `limit`: a full table
/// doubles when it grows, so it grows only if the doubled table still fits (else the held
/// rows are written out first).
fn may_take_key(len: usize, capacity: usize, rows: usize, limit: usize) -> bool {
    len < capacity || len == 0 || rows + table_bytes(capacity.max(4) * 2) <= limit
}

/// Whether an input of `bytes` is sure to outgrow a buffer of `limit`: held, its rows take
/// less room than as CSV (about 50 bytes a row and the map's table, against 70–75), so a file
/// of more than twice the buffer will pass it. Such an import writes runs of a [`RUN_SHARE`]
/// of the buffer from the first, rather than fill the whole buffer once and then let it go (a
/// 500,000-enterprise file so peaked 36 MiB higher on PostgreSQL than a 50,000-enterprise one).
/// An XLSX file, compressed, seldom counts as outgrowing, and takes the ordinary way; a JSON
/// file's keys may make it count so when its rows would have fitted: its runs are then written
/// needlessly, in the same bounded memory.
fn outgrows(bytes: u64, limit: usize) -> bool {
    bytes / 2 > limit as u64
}

/// Bytes the held rows of an import with a buffer of `limit` may take: the whole buffer until a
/// run is written (a file that fits is never written out), then a [`RUN_SHARE`] of it; a share
/// from the start for an input sure to outgrow the buffer ([`outgrows`]).
fn budget(any_runs: bool, outgrows: bool, limit: usize) -> usize {
    if any_runs || outgrows {
        limit / RUN_SHARE
    } else {
        limit
    }
}

/// The row on `line` that gives an enterprise-month a second time, after line `first`.
fn duplicate(line: u64, code: &str, period: &str, first: Option<u64>) -> Reject {
    let reason = match first {
        Some(first) => {
            format!("与第{first}行重复：同一企业同一报告期出现两次 (duplicate of line {first})")
        }
        None => {
            "与前面的一行重复：同一企业同一报告期出现两次 (duplicate of an earlier line)".into()
        }
    };
    Reject {
        line,
        column: String::new(),
        field: "credit_code".into(),
        value: format!("{code} {period}"),
        reason,
    }
}

impl Store {
    /// Refreshes PostgreSQL's statistics of `submission` and `submission_year` after a large import. Autovacuum
    /// would do it within minutes, but the evaluation that follows an import would meanwhile be
    /// planned on the old figures. The import is committed already, so a failure here is only
    /// logged.
    pub async fn refresh_statistics(&self) {
        if let Store::Postgres(p) = self
            && let Err(e) = sqlx::query("ANALYZE submission, submission_year")
                .execute(p)
                .await
        {
            tracing::warn!(error = %e, "导入后更新统计信息失败，不影响已导入的数据 (ANALYZE submission, submission_year failed after an import; the import stands)");
        }
    }

    /// The credit codes with a submission for `period` (whatever figures it holds).
    /// Read from the packs (one row an enterprise-year rather than a scan of the rows by period),
    /// made fresh first where a row changed behind indmon's back.
    pub async fn reported(&self, period: Period) -> anyhow::Result<HashSet<String>> {
        self.refresh_stale_years().await?;
        let sql = "SELECT credit_code, months FROM submission_year WHERE year = $1";
        let rows: Vec<(String, Vec<u8>)> =
            on_pool!(self, pool => sqlx::query_as(sql).bind(period.year()).fetch_all(pool).await?);
        let bit = 1u16 << (period.month() - 1);
        let mut codes = HashSet::new();
        for (code, pack) in rows {
            if packed::months_of(&pack)? & bit != 0 {
                codes.insert(code);
            }
        }
        Ok(codes)
    }

    /// Opens the transaction of an import of submissions for import run `run_id`.
    /// `present[i]` says whether the file has a column for `FIELDS[i]`; `partial`, whether
    /// rejected rows are to be left out rather than fail the file; `buffer_limit`, the bytes of
    /// rows held before they are written out as a sorted run; `input_bytes`, the size of the
    /// file (or body) read, when known (else 0).
    pub async fn begin_submissions(
        &self,
        present: [bool; N_FIELDS],
        run_id: i64,
        now_ms: i64,
        partial: bool,
        buffer_limit: usize,
        input_bytes: u64,
    ) -> anyhow::Result<SubmissionImport> {
        // The merge starts from the stored packs: those whose rows changed behind indmon's back
        // are made again from the rows first (see `stale.rs`; one small query when none).
        self.refresh_stale_years().await?;
        let mut first_load = None;
        let tx = match self {
            // The write lock at once: a deferred transaction that reads first could not take it
            // later if another writer committed meanwhile.
            // Marked as indmon's own write: it writes the packs itself (see `stale.rs`).
            Store::Sqlite(p) => {
                let mut tx = p.begin_with("BEGIN IMMEDIATE").await?;
                mark_indmon_writer(&mut *tx).await?;
                ImportTx::Sqlite(tx)
            }
            Store::Postgres(p) => {
                let mut tx = p.begin().await?;
                sqlx::query(LOCK_POSTGRES).execute(&mut *tx).await?;
                mark_indmon_writer(&mut *tx).await?;
                first_load = FirstLoad::begin(&mut tx).await?;
                ImportTx::Postgres(tx)
            }
        };
        let outgrows = outgrows(input_bytes, buffer_limit);
        Ok(SubmissionImport {
            tx,
            present,
            run_id,
            now_ms,
            partial,
            buffer_limit,
            outgrows,
            years: Held::new(budget(false, outgrows, buffer_limit)),
            runs: RunWriter::default(),
            rejects: Rejects::default(),
            out: MergeOutcome::default(),
            first_load,
        })
    }
}

impl SubmissionImport {
    /// Takes parsed rows. A second row for one enterprise-month is rejected (the first
    /// stands): here when the first is still held, else when the runs are merged; enterprises
    /// not in the registry are found when the rows are merged.
    pub async fn add(&mut self, rows: &[Submission]) -> anyhow::Result<()> {
        for s in rows {
            let key = YearKey {
                year: s.period.year(),
                code: *s.credit_code.as_bytes(),
            };
            let full = !may_take_key(
                self.years.len(),
                self.years.capacity(),
                self.years.rows_bytes(),
                self.budget(),
            ) && !self.years.contains_key(&key);
            if full || self.years.full() {
                self.write_run().await?;
            }
            let mut figures: Figures = [None; N_FIELDS];
            for (f, v) in figures.iter_mut().zip(&s.values) {
                *f = v.map(|a| a.raw());
            }
            let line = u32::try_from(s.line).unwrap_or(u32::MAX).max(1);
            let month = s.period.month();
            if let Added::Repeat(first) = self.years.add(key, month, line, &figures)? {
                let (code, period) = (s.credit_code.as_str(), s.period.to_string());
                self.rejects
                    .push(duplicate(s.line, code, &period, Some(u64::from(first))));
                continue;
            }
            if self.held_bytes() > self.budget() {
                self.write_run().await?;
            }
        }
        Ok(())
    }

    /// Bytes the held rows may take now ([`budget`]).
    fn budget(&self) -> usize {
        budget(self.runs.any(), self.outgrows, self.buffer_limit)
    }

    /// Writes the held rows out as a sorted run, on a blocking thread, while the next are
    /// held; and lets them go.
    async fn write_run(&mut self) -> anyhow::Result<()> {
        let whole = !self.runs.any() && !self.outgrows;
        let years = std::mem::replace(&mut self.years, Held::new(self.buffer_limit / RUN_SHARE));
        let mut repeats = Vec::new();
        let spare = self.runs.write(years, &mut repeats).await?;
        if whole {
            // The first run held the whole buffer: it is written before more rows are held,
            // and its map is let go (its table alone may pass half a buffer).
            self.runs.wait(&mut repeats).await?;
        } else if let Some(spare) = spare {
            // The room of the map written before serves the next rows.
            self.years = spare;
        }
        self.reject_repeats(repeats)?;
        Ok(())
    }

    /// Merges the rows still held, after the last [`SubmissionImport::add`]. `others` is the
    /// count of rows rejected elsewhere (by the parser). Returns the rows rejected here
    /// (duplicates, enterprises not registered). Unless the import is partial, nothing is
    /// written once a row is rejected: the import will be rolled back.
    pub async fn finish_rows(&mut self, others: u64) -> anyhow::Result<Rejects> {
        let write = self.partial || others == 0;
        if self.runs.any() {
            self.merge_runs(write).await?;
        }
        self.merge_held(write).await?;
        Ok(std::mem::take(&mut self.rejects))
    }

    /// Merges the runs and the rows still held, in key order, a share of a buffer at a time
    /// ([`MERGE_SHARE`]): each enterprise-year reaches the database once, whole.
    async fn merge_runs(&mut self, write: bool) -> anyhow::Result<()> {
        self.write_run().await?;
        let mut repeats = Vec::new();
        let runs = std::mem::take(&mut self.runs).finish(&mut repeats).await?;
        self.reject_repeats(std::mem::take(&mut repeats))?;
        // The parse's room let go: the merge holds two shares of it, the one being written and
        // the one being filled.
        let share = self.buffer_limit / MERGE_SHARE;
        self.years = Held::new(share);
        let mut feed = MergeFeed::start(runs.merge()?, Held::new(share), share);
        loop {
            let room = std::mem::replace(&mut self.years, Held::new(share));
            let Some(held) = feed.next(room, &mut repeats).await? else {
                break;
            };
            self.years = held;
            self.reject_repeats(std::mem::take(&mut repeats))?;
            self.merge_held(write).await?;
        }
        Ok(())
    }

    /// Bytes held: the months, the map's table, and the sort of the years held.
    fn held_bytes(&self) -> usize {
        self.years.bytes()
    }

    /// Rejects the rows that gave a month a second time, naming the line of the first.
    fn reject_repeats(&mut self, repeats: Vec<Repeat>) -> anyhow::Result<()> {
        for r in repeats {
            let period = period_of(&r.key, r.month);
            let line = u64::from(r.line);
            let reject = duplicate(line, r.key.code()?, &period, Some(u64::from(r.first)));
            self.rejects.push(reject);
        }
        Ok(())
    }

    /// Whether no row was rejected here so far.
    fn clean(&self) -> bool {
        self.rejects.is_empty()
    }

    /// What the merges did so far: after [`SubmissionImport::finish_rows`], what the commit
    /// will store.
    pub fn outcome(&self) -> MergeOutcome {
        self.out
    }

    /// Commits the import together with the end of its run (`end`: status, counts, rejects),
    /// so that the run is closed exactly when its rows are stored.
    pub async fn commit(self, end: &RunEnd<'_>) -> anyhow::Result<MergeOutcome> {
        let run_id = self.run_id;
        match self.tx {
            ImportTx::Sqlite(mut tx) => {
                write_run_end!(tx, run_id, end);
                unmark_indmon_writer(&mut *tx).await?;
                tx.commit().await?
            }
            ImportTx::Postgres(mut tx) => {
                if let Some(first_load) = self.first_load {
                    first_load.finish(&mut tx).await?;
                }
                write_run_end!(tx, run_id, end);
                unmark_indmon_writer(&mut *tx).await?;
                tx.commit().await?
            }
        }
        Ok(self.out)
    }

    /// Abandons the import: nothing of it reaches the database.
    pub async fn rollback(self) -> anyhow::Result<()> {
        match self.tx {
            ImportTx::Sqlite(tx) => tx.rollback().await?,
            ImportTx::Postgres(tx) => tx.rollback().await?,
        }
        Ok(())
    }

    /// Merges every held row (when `write`), or only finds the rows of enterprises not
    /// registered (when not: the import is rolled back anyway), and lets the rows go. Each
    /// enterprise-year held is whole: its pack is written with its rows.
    async fn merge_held(&mut self, write: bool) -> anyhow::Result<()> {
        let mut keys: Vec<YearKey> = self.years.keys().copied().collect();
        if keys.is_empty() {
            return Ok(());
        }
        keys.sort_unstable_by_key(YearKey::order);
        let started = std::time::Instant::now();
        let clean = self.clean();
        let mut merge = Merge {
            present: self.present,
            run_id: self.run_id,
            now_ms: self.now_ms,
            out: &mut self.out,
            written: Vec::new(),
            superseded: Vec::new(),
        };
        let unknown = match &mut self.tx {
            ImportTx::Sqlite(tx) => with_handle(tx, |h| unknown_sqlite(h, &keys)).await?,
            ImportTx::Postgres(tx) => unknown_postgres(tx, &keys).await?,
        };
        // Once a row is rejected, only a partial import writes anything.
        if write && (self.partial || (unknown.is_empty() && clean)) {
            let (years, now_ms, run_id) = (&self.years, self.now_ms, self.run_id);
            let any_stored = self.first_load.is_none();
            match &mut self.tx {
                ImportTx::Sqlite(tx) => {
                    with_handle(tx, |h| {
                        merge_sqlite(h, &keys, &unknown, years, &mut merge)?;
                        history_sqlite(h, &merge.superseded, now_ms, run_id)
                    })
                    .await?
                }
                ImportTx::Postgres(tx) => {
                    merge_postgres(tx, &keys, &unknown, years, &mut merge, any_stored).await?;
                    history_postgres(tx, &merge.superseded, now_ms, run_id).await?;
                }
            }
        }
        for key in &keys {
            let Some(year) = self.years.get(key) else {
                continue;
            };
            if unknown.contains(&key.code) {
                let code = key.code()?.to_string();
                self.years.each_month(year, |_, line, _| {
                    self.rejects.push(Reject {
                        line: u64::from(line),
                        column: String::new(),
                        field: "credit_code".into(),
                        value: code.clone(),
                        reason: UNKNOWN.into(),
                    })
                })?;
            }
        }
        // The map and the arena keep their room for the next rows.
        self.years.clear();
        tracing::debug!(
            years = keys.len(),
            ms = started.elapsed().as_millis() as u64,
            "held rows merged"
        );
        Ok(())
    }
}

/// The rules applied to each held enterprise-year, and what they did.
struct Merge<'a> {
    present: [bool; N_FIELDS],
    run_id: i64,
    /// When the import began: the `received_at` of the rows it writes.
    now_ms: i64,
    out: &'a mut MergeOutcome,
    /// The months the last [`Merge::year`] wrote.
    written: Vec<Written>,
    superseded: Vec<Superseded>,
}

impl Merge<'_> {
    /// Merges the file's months of `key` with its earlier pack; the new pack, if any changed.
    /// The months written are left in `self.written`.
    fn year(
        &mut self,
        key: YearKey,
        held: &Held,
        file: &HeldYear,
        old: Option<&[u8]>,
    ) -> anyhow::Result<Option<Vec<u8>>> {
        let mut y = YearMerge::new(old)?;
        self.written.clear();
        held.each_month(file, |month, _, figures| {
            let new = match y.month(month, figures, &self.present, self.run_id) {
                Merged::New => {
                    self.out.accepted += 1;
                    true
                }
                Merged::Revised(before) => {
                    self.out.revised += 1;
                    self.superseded.push(Superseded {
                        key,
                        month,
                        before: *before,
                    });
                    false
                }
                Merged::Unchanged => {
                    self.out.unchanged += 1;
                    return;
                }
            };
            if let Some(fields) = y.stored(month) {
                self.written.push(Written {
                    month,
                    fields: *fields,
                    new,
                });
            }
        })?;
        y.finish()
    }
}

/// The credit codes among `keys` that are not in the registry.
fn unknown_sqlite(
    h: &super::sqlite_raw::Handle<'_>,
    keys: &[YearKey],
) -> anyhow::Result<HashSet<Code>> {
    let mut find = Statement::prepare(h, "SELECT 1 FROM enterprise WHERE credit_code = ?1")?;
    let mut seen = HashSet::new();
    let mut unknown = HashSet::new();
    for key in keys {
        if !seen.insert(key.code) {
            continue;
        }
        find.bind_text(1, key.code()?)?;
        if !find.step()? {
            unknown.insert(key.code);
        }
        find.reset()?;
    }
    Ok(unknown)
}

fn merge_sqlite(
    h: &super::sqlite_raw::Handle<'_>,
    keys: &[YearKey],
    unknown: &HashSet<Code>,
    years: &Held,
    merge: &mut Merge<'_>,
) -> anyhow::Result<()> {
    let mut find = Statement::prepare(
        h,
        "SELECT months FROM submission_year WHERE year = ?1 AND credit_code = ?2",
    )?;
    let mut write = Statement::prepare(
        h,
        "INSERT INTO submission_year (year, credit_code, months) VALUES (?1, ?2, ?3)
         ON CONFLICT (year, credit_code) DO UPDATE SET months = excluded.months",
    )?;
    // New and revised months alike: a revision replaces the row.
    let mut rows = SqliteRows::prepare(h, OnConflict::Replace)?;
    for key in keys {
        let Some(file) = years.get(key) else { continue };
        if unknown.contains(&key.code) {
            continue;
        }
        let code = key.code()?;
        find.bind_int(1, i64::from(key.year))?;
        find.bind_text(2, code)?;
        let pack = if find.step()? {
            merge.year(*key, years, file, Some(find.blob(0)))?
        } else {
            merge.year(*key, years, file, None)?
        };
        find.reset()?;
        for w in &merge.written {
            let stored = if w.new { Stored::New } else { Stored::Maybe };
            rows.write(code, key.year, w.month, &w.fields, merge.now_ms, stored)?;
        }
        if let Some(pack) = pack {
            write.bind_int(1, i64::from(key.year))?;
            write.bind_text(2, code)?;
            write.bind_blob(3, &pack)?;
            write.step()?;
            write.reset()?;
        }
    }
    Ok(())
}

/// The columns of `submission_history`, in the order the history writers give them.
fn history_columns() -> String {
    format!(
        "credit_code, period, {}, received_at, superseded_at, superseded_by",
        packed::columns("")
    )
}

fn period_of(key: &YearKey, month: u32) -> String {
    format!("{:04}-{month:02}", key.year)
}

fn history_sqlite(
    h: &super::sqlite_raw::Handle<'_>,
    superseded: &[Superseded],
    now_ms: i64,
    run_id: i64,
) -> anyhow::Result<()> {
    if superseded.is_empty() {
        return Ok(());
    }
    // A month was received when the run that wrote it started.
    let n = packed::N_FIELDS as i32;
    let values = (1..=n + 2).map(|i| format!("?{i}")).collect::<Vec<_>>();
    let sql = format!(
        "INSERT INTO submission_history ({}) VALUES ({}, COALESCE((SELECT started_at FROM import_run WHERE id = ?{}), 0), ?{}, ?{})",
        history_columns(),
        values.join(", "),
        n + 2,
        n + 3,
        n + 4
    );
    let mut insert = Statement::prepare(h, &sql)?;
    for s in superseded {
        insert.bind_text(1, s.key.code()?)?;
        insert.bind_text(2, &period_of(&s.key, s.month))?;
        for (k, v) in s.before.iter().enumerate() {
            insert.bind_opt_int(k as i32 + 3, *v)?;
        }
        insert.bind_int(n + 3, now_ms)?;
        insert.bind_int(n + 4, run_id)?;
        insert.step()?;
        insert.reset()?;
    }
    Ok(())
}

/// The credit codes among `keys` that are not in the registry.
async fn unknown_postgres(
    tx: &mut Transaction<'static, Postgres>,
    keys: &[YearKey],
) -> anyhow::Result<HashSet<Code>> {
    let mut codes: Vec<String> = Vec::new();
    let mut seen = HashSet::new();
    for key in keys {
        if seen.insert(key.code) {
            codes.push(key.code()?.to_string());
        }
    }
    let known: Vec<String> =
        sqlx::query_scalar("SELECT credit_code FROM enterprise WHERE credit_code = ANY($1)")
            .bind(&codes)
            .fetch_all(&mut **tx)
            .await?;
    for code in known {
        if let Ok(c) = Code::try_from(code.as_bytes()) {
            seen.remove(&c);
        }
    }
    Ok(seen)
}

/// Bytes of COPY input sent at a time while the rest is merged.
const COPY_CHUNK: usize = 1 << 20;

/// A stored year that a merge changed: its new pack, and its months that were new and those
/// revised (bit `m − 1` for month `m`).
struct Replaced {
    pack: Vec<u8>,
    new: u16,
    revised: u16,
}

/// Merges on PostgreSQL. The server's work overlaps the merging: the years stored before are
/// merged as they arrive, and the new rows and packs are sent in chunks while the next are
/// made. One COPY runs at a time on a connection, so the rows and the packs go in passes over
/// the keys; the packs of years not stored before are made once for each pass rather than held.
/// `any_stored` is false in a first load ([`FirstLoad`]): no year was stored when it began, and
/// each reaches the database once, so none is looked up.
async fn merge_postgres(
    tx: &mut Transaction<'static, Postgres>,
    keys: &[YearKey],
    unknown: &HashSet<Code>,
    years: &Held,
    merge: &mut Merge<'_>,
    any_stored: bool,
) -> anyhow::Result<()> {
    let known: Vec<&YearKey> = keys.iter().filter(|k| !unknown.contains(&k.code)).collect();
    let (stored, mut replaced) = if any_stored {
        merge_stored_postgres(tx, &known, years, merge).await?
    } else {
        (HashSet::new(), HashMap::new())
    };
    if replaced.is_empty() && known.iter().all(|k| stored.contains(*k)) {
        return Ok(());
    }
    copy_new_rows(tx, &known, &stored, &replaced, years, merge).await?;
    upsert_revised_rows(tx, &replaced, merge.now_ms).await?;
    // The packs go in in key order, replaced and new alike, so that the table keeps roughly the
    // order of its key: an evaluation reads it front to back, and finds each enterprise's
    // figures next to the previous one's in memory (in hash order it took twice as long).
    let mut copy = BinaryCopyWriter::default();
    let mut sink = tx.copy_in_raw(COPY_PACKS).await?;
    for key in known {
        let pack = if let Some(r) = replaced.remove(key) {
            Some(r.pack)
        } else if stored.contains(key) {
            None
        } else {
            // A year not stored before always gets a pack: its months are all new.
            let Some(file) = years.get(key) else { continue };
            merge.year(*key, years, file, None)?
        };
        if let Some(pack) = pack {
            copy_pack(&mut copy, key, &pack)?;
        }
        if copy.len() >= COPY_CHUNK {
            sink.send(copy.take()).await?;
        }
    }
    sink.send(copy.finish()).await?;
    sink.finish().await?;
    Ok(())
}

/// Merges the years of `known` stored before, as they arrive, and deletes the packs of those
/// that changed (their new ones are written with the new years'). Returns the years stored, and
/// those changed.
async fn merge_stored_postgres(
    tx: &mut Transaction<'static, Postgres>,
    known: &[&YearKey],
    years: &Held,
    merge: &mut Merge<'_>,
) -> anyhow::Result<(HashSet<YearKey>, HashMap<YearKey, Replaced>)> {
    let mut key_years = Vec::with_capacity(known.len());
    let mut key_codes = Vec::with_capacity(known.len());
    for key in known {
        key_years.push(key.year);
        key_codes.push(key.code()?.to_string());
    }
    let mut stored = HashSet::new();
    let mut replaced = HashMap::new();
    let (mut replaced_years, mut replaced_codes) = (Vec::new(), Vec::new());
    {
        let mut rows = sqlx::query_as::<_, (i32, String, Vec<u8>)>(
            "SELECT y.year, y.credit_code, y.months FROM submission_year y
             JOIN unnest($1::INTEGER[], $2::TEXT[]) AS k (year, credit_code)
               ON y.year = k.year AND y.credit_code = k.credit_code",
        )
        .bind(&key_years)
        .bind(&key_codes)
        .fetch(&mut **tx);
        while let Some((year, code, old)) = rows.try_next().await? {
            let key = YearKey {
                year,
                code: Code::try_from(code.as_bytes())?,
            };
            let Some(file) = years.get(&key) else {
                continue;
            };
            stored.insert(key);
            if let Some(pack) = merge.year(key, years, file, Some(&old))? {
                let (mut new, mut revised) = (0u16, 0u16);
                for w in &merge.written {
                    let bit = 1u16 << (w.month - 1);
                    if w.new { new |= bit } else { revised |= bit }
                }
                replaced_years.push(year);
                replaced_codes.push(code);
                replaced.insert(key, Replaced { pack, new, revised });
            }
        }
    }
    drop((key_years, key_codes));
    if !replaced_years.is_empty() {
        sqlx::query(
            "DELETE FROM submission_year y USING unnest($1::INTEGER[], $2::TEXT[]) AS k (year, credit_code)
             WHERE y.year = k.year AND y.credit_code = k.credit_code",
        )
        .bind(&replaced_years)
        .bind(&replaced_codes)
        .execute(&mut **tx)
        .await?;
    }
    Ok((stored, replaced))
}

/// The months of a pack that `mask` names (bit `m − 1` for month `m`), in calendar order.
fn months_in(pack: &[u8], mask: u16) -> anyhow::Result<Vec<(u32, Month)>> {
    let mut out = Vec::with_capacity(mask.count_ones() as usize);
    packed::decode(pack, |m, f| {
        if mask & (1 << (m - 1)) != 0 {
            out.push((m, *f));
        }
    })?;
    Ok(out)
}

/// COPYs the rows of the new months straight into `submission`, in key order: those of the
/// stored years from their new packs, those of years not stored before made again from the
/// file's rows (counted by the pass that writes their packs).
async fn copy_new_rows(
    tx: &mut Transaction<'static, Postgres>,
    known: &[&YearKey],
    stored: &HashSet<YearKey>,
    replaced: &HashMap<YearKey, Replaced>,
    years: &Held,
    merge: &mut Merge<'_>,
) -> anyhow::Result<()> {
    let mut uncounted = MergeOutcome::default();
    let now_ms = merge.now_ms;
    let mut fresh = Merge {
        present: merge.present,
        run_id: merge.run_id,
        now_ms,
        out: &mut uncounted,
        written: Vec::new(),
        superseded: Vec::new(),
    };
    let mut copy = BinaryCopyWriter::default();
    let mut sink = tx
        .copy_in_raw(&format!(
            "COPY submission ({}) FROM STDIN (FORMAT binary)",
            super::rows::columns()
        ))
        .await?;
    for key in known {
        if let Some(r) = replaced.get(*key) {
            for (m, f) in months_in(&r.pack, r.new)? {
                copy_row(&mut copy, &key.code, key.year, m, &f, now_ms)?;
            }
        } else if !stored.contains(*key)
            && let Some(file) = years.get(key)
        {
            fresh.year(**key, years, file, None)?;
            for w in &fresh.written {
                copy_row(&mut copy, &key.code, key.year, w.month, &w.fields, now_ms)?;
            }
        }
        if copy.len() >= COPY_CHUNK {
            sink.send(copy.take()).await?;
        }
    }
    sink.send(copy.finish()).await?;
    sink.finish().await?;
    Ok(())
}

/// Bytes of revised rows staged at a time.
const REVISED_CHUNK: usize = 16 << 20;

/// Writes the rows of the revised months over the stored ones, through a staging table.
async fn upsert_revised_rows(
    tx: &mut Transaction<'static, Postgres>,
    replaced: &HashMap<YearKey, Replaced>,
    now_ms: i64,
) -> anyhow::Result<()> {
    let mut revised: Vec<(&YearKey, &Replaced)> =
        replaced.iter().filter(|(_, r)| r.revised != 0).collect();
    if revised.is_empty() {
        return Ok(());
    }
    revised.sort_unstable_by_key(|(k, _)| **k);
    let mut copy = BinaryCopyWriter::default();
    for (key, r) in revised {
        for (m, f) in months_in(&r.pack, r.revised)? {
            copy_row(&mut copy, &key.code, key.year, m, &f, now_ms)?;
        }
        if copy.len() >= REVISED_CHUNK {
            let full = std::mem::take(&mut copy);
            upsert_postgres(tx, full, OnConflict::Replace).await?;
        }
    }
    upsert_postgres(tx, copy, OnConflict::Replace).await
}

const COPY_PACKS: &str =
    "COPY submission_year (year, credit_code, months) FROM STDIN (FORMAT binary)";

fn copy_pack(copy: &mut BinaryCopyWriter, key: &YearKey, pack: &[u8]) -> anyhow::Result<()> {
    copy.row(3);
    copy.int4(key.year);
    copy.bytes(&key.code)?;
    copy.bytes(pack)
}

async fn history_postgres(
    tx: &mut Transaction<'static, Postgres>,
    superseded: &[Superseded],
    now_ms: i64,
    run_id: i64,
) -> anyhow::Result<()> {
    if superseded.is_empty() {
        return Ok(());
    }
    // A month was received when the run that wrote it started.
    let runs: Vec<i64> = superseded
        .iter()
        .filter_map(|s| s.before[RUN_ID])
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let received: HashMap<i64, i64> =
        sqlx::query_as::<_, (i64, i64)>("SELECT id, started_at FROM import_run WHERE id = ANY($1)")
            .bind(&runs)
            .fetch_all(&mut **tx)
            .await?
            .into_iter()
            .collect();
    let mut copy = BinaryCopyWriter::default();
    let columns = 2 + packed::N_FIELDS + 3;
    for s in superseded {
        copy.row(columns as i16);
        copy.bytes(&s.key.code)?;
        copy.bytes(period_of(&s.key, s.month).as_bytes())?;
        for (k, v) in s.before.iter().enumerate() {
            match v {
                // `revision` is an INTEGER column, the rest BIGINT.
                Some(v) if k == REVISION => copy.int4(i32::try_from(*v)?),
                Some(v) => copy.int8(*v),
                None => copy.opt_bytes(None)?,
            }
        }
        let run = s.before[RUN_ID].unwrap_or_default();
        copy.int8(received.get(&run).copied().unwrap_or_default());
        copy.int8(now_ms);
        copy.int8(run_id);
    }
    let mut sink = tx
        .copy_in_raw(&format!(
            "COPY submission_history ({}) FROM STDIN (FORMAT binary)",
            history_columns()
        ))
        .await?;
    sink.send(copy.finish()).await?;
    sink.finish().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::amount::Amount;
    use crate::credit_code::CreditCode;

    /// The held rows' table grows only while it fits the buffer beside the months held: keys
    /// are taken while [`may_take_key`] lets them, as `SubmissionImport::add` takes them, and
    /// the table never passes the limit; it stops only when doubled it would.
    #[test]
    fn the_held_years_table_grows_only_within_the_buffer() {
        let limit = 4 << 20;
        let rows = limit / 4;
        let mut years = Held::new(limit);
        let figures: Figures = [None; N_FIELDS];
        let mut n = 0u64;
        while may_take_key(years.len(), years.capacity(), rows, limit) {
            let mut code = [b'9'; 18];
            code[..12].copy_from_slice(format!("{n:012}").as_bytes());
            let key = YearKey { code, year: 2026 };
            assert!(matches!(years.add(key, 1, 2, &figures), Ok(Added::Held)));
            n += 1;
            let table = table_bytes(years.capacity());
            assert!(rows + table <= limit, "{n} keys: a table of {table} bytes");
        }
        assert_eq!(
            years.len(),
            years.capacity(),
            "stopped before the table was full"
        );
        assert!(rows + table_bytes(years.capacity() * 2) > limit);
        assert!(n > 10_000, "only {n} keys taken");
    }

    /// The most bytes held at once while 100,000 rows (4,000 enterprises × 25 months, period
    /// by period) are added to an import with a buffer of 1 MiB and an input of `input_bytes`.
    async fn most_held(input_bytes: u64) -> usize {
        let store = Store::connect("sqlite::memory:").await.unwrap();
        store.migrate().await.unwrap();
        let limit = 1 << 20;
        let present = [true; N_FIELDS];
        let mut import = store
            .begin_submissions(present, 1, 0, false, limit, input_bytes)
            .await
            .unwrap();
        let mut most = 0;
        for m in 0..25 {
            let period = Period::new(2024 + (9 + m) / 12, (9 + m as u32) % 12 + 1).unwrap();
            let rows: Vec<Submission> = (0..4_000)
                .map(|i| Submission {
                    line: 2 + u64::from(m as u32) * 4_000 + i,
                    credit_code: CreditCode::with_check(&format!("91330700{i:09}")).unwrap(),
                    period,
                    values: [Some(Amount(i as i64 * 7 + 1)); N_FIELDS],
                })
                .collect();
            import.add(&rows).await.unwrap();
            most = most.max(import.held_bytes());
        }
        import.rollback().await.unwrap();
        most
    }

    /// An input sure to outgrow the buffer holds a [`RUN_SHARE`] of it from its first run;
    /// one that may fit fills the whole buffer before its first.
    #[tokio::test]
    async fn an_input_sure_to_outgrow_the_buffer_holds_a_share_from_the_start() {
        let limit = 1 << 20;
        assert!(outgrows(2 * limit as u64 + 2, limit) && !outgrows(2 * limit as u64, limit));
        let share = most_held(3 * limit as u64).await;
        assert!(share <= limit / RUN_SHARE, "held {share} bytes at once");
        let whole = most_held(limit as u64).await;
        assert!(whole > limit / 2, "held only {whole} bytes at once");
    }
}
