//! The 旬 evaluation's read of daily electricity: every enterprise's days of a few spans
//! (millions of rows at 500,000 enterprises). Stepped directly on SQLite (`sqlite_raw`) and
//! read as binary COPY on PostgreSQL (`copy`): through sqlx every row cost ~4 µs. A row's
//! enterprise is guessed by comparing its credit code's bytes (`SpanColumns::enterprise`), and
//! its code parsed and looked up only when the guess fails; a day's text is parsed once while
//! it repeats. Each row's figure goes into its day's column of a `power::DailyTable`, at its
//! enterprise's index in the registry; a day with no row costs nothing.

use std::collections::HashMap;
use std::ops::RangeInclusive;
use std::sync::Arc;

use chrono::{Datelike, NaiveDate};

use super::Store;
use super::copy::{SharedSnapshot, begin_in, copy_out_in, copy_out_on};
use super::power_pieces::{Piece, pieces};
use super::xun_days::{READ, packed_days};
use crate::credit_code::CreditCode;
use crate::power::{DailyTable, Days, Xun, level};

/// One span's rows as read: a column per day of the span, by the table's enterprise index.
struct SpanColumns {
    first: NaiveDate,
    /// Days in the span.
    days: usize,
    /// By day of the span, up to the last with a row.
    columns: Vec<Vec<i64>>,
    /// The table as the read began (let go when it ends, so that the table can grow).
    known: Option<Arc<DailyTable>>,
    /// How many enterprises it knew.
    base: usize,
    /// Enterprises met here that the table did not know, numbered after its own.
    extra: Vec<CreditCode>,
    extra_index: HashMap<CreditCode, u32, foldhash::fast::RandomState>,
    /// By enterprise index, the enterprise whose row came after its last one (rows come by
    /// day in the order of the day before), `u32::MAX` before any.
    next: Vec<u32>,
    /// The last row's enterprise.
    last: Option<u32>,
    /// The last day's text and the column it named.
    day_text: Vec<u8>,
    day: Option<usize>,
}

impl SpanColumns {
    fn new(known: Arc<DailyTable>, span: &RangeInclusive<NaiveDate>) -> SpanColumns {
        let days = (*span.end() - *span.start()).num_days().max(-1) + 1;
        let base = known.len();
        SpanColumns {
            first: *span.start(),
            days: usize::try_from(days).unwrap_or(0),
            columns: Vec::new(),
            known: Some(known),
            base,
            extra: Vec::new(),
            extra_index: HashMap::default(),
            next: vec![u32::MAX; base],
            last: None,
            day_text: Vec::new(),
            day: None,
        }
    }

    /// The column index of the enterprise with credit code `code` (its text's bytes); none if
    /// the code does not parse (its rows are left out). Tried first, without parsing or
    /// hashing: the enterprise after the last one the time before, the last one itself (rows
    /// by enterprise), the next in the table's order (rows in the registry's order).
    fn enterprise(&mut self, code: &[u8]) -> Option<u32> {
        if let Some(last) = self.last {
            let after = self.next.get(last as usize).copied();
            for i in [after, Some(last), last.checked_add(1)]
                .into_iter()
                .flatten()
            {
                if self
                    .code_of(i)
                    .is_some_and(|c| c.as_bytes().as_slice() == code)
                {
                    return Some(self.met(last, i));
                }
            }
        }
        let parsed: CreditCode = std::str::from_utf8(code).ok()?.parse().ok()?;
        let known = self.known.as_ref().and_then(|k| k.position(&parsed));
        let i = match known {
            Some(i) => i,
            None => {
                let n = (self.base + self.extra.len()) as u32;
                let i = *self.extra_index.entry(parsed).or_insert(n);
                if i == n {
                    self.extra.push(parsed);
                    self.next.push(u32::MAX);
                }
                i
            }
        };
        Some(match self.last {
            Some(last) => self.met(last, i),
            None => {
                self.last = Some(i);
                i
            }
        })
    }

    /// Notes that enterprise `i`'s row came after `last`'s; `i`.
    fn met(&mut self, last: u32, i: u32) -> u32 {
        if let Some(n) = self.next.get_mut(last as usize) {
            *n = i;
        }
        self.last = Some(i);
        i
    }

    /// The credit code of enterprise `i`: the table's, or one met here.
    fn code_of(&self, i: u32) -> Option<&CreditCode> {
        let i = i as usize;
        match i.checked_sub(self.base) {
            None => self.known.as_ref().and_then(|k| k.code(i as u32)),
            Some(e) => self.extra.get(e),
        }
    }

    /// The column of the day `text`; none if it is not a day of the span.
    fn day(&mut self, text: &[u8]) -> Option<usize> {
        if text != self.day_text.as_slice() {
            self.day_text.clear();
            self.day_text.extend_from_slice(text);
            let day = std::str::from_utf8(text)
                .ok()
                .and_then(|t| t.parse::<NaiveDate>().ok());
            self.day = day
                .and_then(|d| usize::try_from((d - self.first).num_days()).ok())
                .filter(|k| *k < self.days);
        }
        self.day
    }

    /// Adds a row: enterprise `i`'s figure on the day of column `day`.
    fn push(&mut self, i: Option<u32>, day: Option<usize>, kwh: Option<i64>) {
        let (Some(i), Some(day), Some(kwh)) = (i, day, kwh) else {
            return;
        };
        if self.columns.len() <= day {
            self.columns.resize_with(day + 1, Vec::new);
        }
        if let Some(col) = self.columns.get_mut(day) {
            let i = i as usize;
            if col.len() <= i {
                if col.capacity() == 0 {
                    col.reserve(self.base.max(i + 1));
                }
                col.resize(i + 1, DailyTable::missing());
            }
            col[i] = kwh;
        }
    }

    /// Adds the columns to `table` (the one the read began with, perhaps grown by another
    /// span's enterprises), moving the figures of enterprises it did not know to their index.
    fn add_to(self, table: &mut DailyTable) {
        let base = self.base;
        let moves: Vec<(usize, usize)> = self
            .extra
            .iter()
            .enumerate()
            .map(|(e, c)| (base + e, table.enterprise(*c) as usize))
            .filter(|(from, to)| from != to)
            .collect();
        for (k, mut col) in self.columns.into_iter().enumerate() {
            move_figures(&mut col, &moves);
            if let Some(day) = self.first.checked_add_days(chrono::Days::new(k as u64)) {
                table.add_column(day, col);
            }
        }
    }
}

/// Moves each figure of `col` from one index to another (all read before any is written).
fn move_figures(col: &mut Vec<i64>, moves: &[(usize, usize)]) {
    let none = DailyTable::missing();
    let moved: Vec<(usize, i64)> = moves
        .iter()
        .filter_map(|(from, to)| col.get(*from).filter(|v| **v != none).map(|v| (*to, *v)))
        .collect();
    for (from, _) in moves {
        if let Some(v) = col.get_mut(*from) {
            *v = none;
        }
    }
    for (to, v) in moved {
        if col.len() <= to {
            col.resize(to + 1, none);
        }
        col[to] = v;
    }
}

/// `spans` in order, overlapping ones joined, so that no day is read twice.
fn disjoint(spans: &[RangeInclusive<NaiveDate>]) -> Vec<RangeInclusive<NaiveDate>> {
    let mut sorted: Vec<_> = spans.iter().filter(|s| !s.is_empty()).cloned().collect();
    sorted.sort_by_key(|s| *s.start());
    let mut out: Vec<RangeInclusive<NaiveDate>> = Vec::with_capacity(sorted.len());
    for s in sorted {
        match out.last_mut() {
            Some(last) if s.start() <= last.end() => {
                *last = *last.start()..=(*last.end()).max(*s.end());
            }
            _ => out.push(s),
        }
    }
    out
}

impl Store {
    /// Daily electricity on the days of `spans` of the enterprises `known` (in this order: the
    /// registry's, which the rules walk) and of any other enterprise with days there. Each span
    /// [`Piece`] is read on a connection of its own, at once (a SQLite file through
    /// [`Store::open_reads`]), so that a 旬's evaluation takes both cores: the 旬's days (in
    /// two halves on SQLite), the same 旬 last year packed when it is (`store::xun_days`).
    pub async fn power_day_table(
        &self,
        spans: &[RangeInclusive<NaiveDate>],
        known: impl IntoIterator<Item = CreditCode>,
    ) -> anyhow::Result<DailyTable> {
        let spans = disjoint(spans);
        let packed = self.packed_xuns(&level::whole_xuns(&spans)).await?;
        let shared = match self {
            Store::Postgres(p) => Some(SharedSnapshot::begin(p).await?),
            Store::Sqlite(_) => None,
        };
        let snapshot = shared.as_ref().map(|s| s.id.clone());
        let reads = self.open_reads().await?;
        let table = Arc::new(DailyTable::new(known));
        let tasks: Vec<_> = pieces(&spans, &packed)
            .into_iter()
            .map(|piece| {
                let read = read_piece(reads.clone(), table.clone(), piece, snapshot.clone());
                tokio::spawn(read)
            })
            .collect();
        let mut read = Vec::with_capacity(tasks.len());
        for t in tasks {
            read.push(t.await??);
        }
        if let Some(s) = shared {
            s.tx.rollback().await?;
        }
        let mut table = Arc::unwrap_or_clone(table);
        for span in read {
            span.add_to(&mut table);
        }
        Ok(table)
    }

    /// Every enterprise's days on `spans`, as a map (the plain form, for tests and small reads).
    pub async fn power_days(
        &self,
        spans: &[RangeInclusive<NaiveDate>],
    ) -> anyhow::Result<HashMap<CreditCode, Days>> {
        let table = self.power_day_table(spans, []).await?;
        Ok(table
            .iter()
            .map(|(c, days)| (*c, days.all().collect::<Days>()))
            .filter(|(_, days)| !days.is_empty())
            .collect())
    }
}

async fn read_piece(
    store: Store,
    known: Arc<DailyTable>,
    piece: Piece,
    snapshot: Option<Arc<str>>,
) -> anyhow::Result<SpanColumns> {
    let snapshot = snapshot.as_deref();
    let started = std::time::Instant::now();
    let what = format!("{piece:?}");
    let read = match piece {
        Piece::Days(span) => read_span(store, known, span, snapshot).await,
        Piece::Packed(x) => read_packed(store, known, x, snapshot).await,
    };
    tracing::debug!(
        ms = started.elapsed().as_millis() as u64,
        "power days read: {what}"
    );
    read
}

/// A packed 旬's rows: the credit code, then its days (`store::xun_days`); its days read from
/// `power_daily` if it was unpacked since the read was planned.
async fn read_packed(
    store: Store,
    known: Arc<DailyTable>,
    x: Xun,
    snapshot: Option<&str>,
) -> anyhow::Result<SpanColumns> {
    let mut b = SpanColumns::new(known.clone(), &level::xun_span(x));
    let (period, part) = (x.period().to_string(), i64::from(x.part()));
    let mut packed = false;
    // Enterprise `i`'s days.
    let mut add = |b: &mut SpanColumns, i: Option<u32>, days: &[u8]| -> anyhow::Result<()> {
        packed = true;
        let in_span = b.days;
        for (k, kwh) in packed_days(days)?.filter(|(k, _)| *k < in_span) {
            b.push(i, Some(k), Some(kwh));
        }
        Ok(())
    };
    match &store {
        Store::Sqlite(p) => {
            let mut conn = p.acquire().await?;
            super::sqlite_raw::with_handle(&mut conn, |h| {
                let mut q = super::sqlite_raw::Statement::prepare(h, READ)?;
                q.bind_text(1, &period)?;
                q.bind_int(2, part)?;
                while q.step()? {
                    let i = b.enterprise(q.text(0));
                    add(&mut b, i, q.blob(1))?;
                }
                Ok(())
            })
            .await?;
        }
        Store::Postgres(p) => {
            // The period and 旬 formatted here (COPY takes no parameters): `YYYY-MM` and 1–3.
            let sql = READ
                .replace("$1", &format!("'{period}'"))
                .replace("$2", &part.to_string());
            copy_out_in(p, snapshot, &sql, 2, |f| {
                let i = b.enterprise(f[0].unwrap_or_default());
                add(&mut b, i, f[1].unwrap_or_default())
            })
            .await?;
        }
    }
    if !packed {
        return read_span(store, known, level::xun_span(x), snapshot).await;
    }
    b.known = None;
    Ok(b)
}

/// One span's rows: stepped directly on SQLite, binary COPY on PostgreSQL.
async fn read_span(
    store: Store,
    known: Arc<DailyTable>,
    span: RangeInclusive<NaiveDate>,
    snapshot: Option<&str>,
) -> anyhow::Result<SpanColumns> {
    let mut b = SpanColumns::new(known, &span);
    let (first, last) = (span.start().to_string(), span.end().to_string());
    match &store {
        Store::Sqlite(p) => {
            let sql = "SELECT credit_code, day, kwh FROM power_daily WHERE day >= $1 AND day <= $2";
            let mut conn = p.acquire().await?;
            super::sqlite_raw::with_handle(&mut conn, |h| {
                let mut q = super::sqlite_raw::Statement::prepare(h, sql)?;
                q.bind_text(1, &first)?;
                q.bind_text(2, &last)?;
                while q.step()? {
                    let kwh = q.int(2);
                    let i = b.enterprise(q.text(0));
                    let day = b.day(q.text(1));
                    b.push(i, day, kwh);
                }
                Ok(())
            })
            .await?;
        }
        Store::Postgres(p) => read_days_postgres(p, &mut b, &span, snapshot).await?,
    }
    b.known = None;
    Ok(b)
}

/// A span's days on PostgreSQL, each day read through its month's partition's key (day,
/// credit code): only that day's rows are visited, where a scan of the partition reads every
/// day of the month (500,000 enterprises, psql, a 旬 of a month holding two: 1.86–1.92 s a day
/// at a time, 2.09–2.17 s for the 旬 in one scan). The rows come [`CHUNK`] at a time as one
/// row ([`DAY_SQL`]; psql: 1.70–1.76 s for the 旬 a day a row, against 1.90–2.06 s as rows):
/// a row of binary COPY is a message, and sqlx's handling of each (not ours) had become the
/// largest part of the client's time (`perf`). `day = $1` compares bytes under any
/// deterministic collation. A month with no partition has no days.
async fn read_days_postgres(
    p: &sqlx::PgPool,
    b: &mut SpanColumns,
    span: &RangeInclusive<NaiveDate>,
    snapshot: Option<&str>,
) -> anyhow::Result<()> {
    let mut tx = begin_in(p, snapshot).await?;
    // The planner would rather scan a partition whole for a twentieth of its rows.
    sqlx::query("SET LOCAL enable_seqscan = off")
        .execute(&mut *tx)
        .await?;
    let mut partitions: HashMap<String, bool> = HashMap::new();
    for (k, day) in span.start().iter_days().take(b.days).enumerate() {
        let partition = super::power::partition_name(day.year(), day.month());
        if !partitions.contains_key(&partition) {
            let exists: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
                .bind(&partition)
                .fetch_one(&mut *tx)
                .await?;
            partitions.insert(partition.clone(), exists);
        }
        if partitions.get(&partition) != Some(&true) {
            continue;
        }
        if !read_day_chunks(&mut tx, b, k, &partition, day).await? {
            // Days are formatted here (COPY takes no parameters): `YYYY-MM-DD`, nothing else.
            let sql = format!("SELECT credit_code, kwh FROM {partition} WHERE day = '{day}'");
            copy_out_on(&mut tx, &sql, 2, |f| {
                let kwh = super::copy::int_field(f[1])?;
                let i = b.enterprise(f[0].unwrap_or_default());
                b.push(i, Some(k), kwh);
                Ok(())
            })
            .await?;
        }
    }
    tx.rollback().await?;
    Ok(())
}

/// Rows of a day taken at a time: 65,536 make a row of 1.8 MB.
const CHUNK: i64 = 65_536;

/// The next [`CHUNK`] rows of a day after credit code `$2`, in the key's order, as one row: the
/// codes joined by commas, the figures eight bytes each (big-endian) in the same order (one
/// aggregate step takes both), how many, and the last code; NULLs and 0 past the last.
const DAY_SQL: &str = "SELECT string_agg(credit_code, ','), string_agg(int8send(kwh), ''::bytea), COUNT(*), MAX(credit_code)
     FROM (SELECT credit_code, kwh FROM {partition} WHERE day = $1 AND credit_code > $2 ORDER BY credit_code LIMIT $3) d";

/// Reads day `day` ([`DAY_SQL`]) into column `k`; false if a chunk's codes and figures do not
/// pair up — a code with a comma, written behind indmon's back — for the day to be read row
/// by row (its figures added so far are then set again).
async fn read_day_chunks(
    tx: &mut sqlx::PgConnection,
    b: &mut SpanColumns,
    k: usize,
    partition: &str,
    day: NaiveDate,
) -> anyhow::Result<bool> {
    let sql = DAY_SQL.replace("{partition}", partition);
    let mut after = String::new();
    loop {
        let (codes, figures, n, last): (Option<String>, Option<Vec<u8>>, i64, Option<String>) =
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(day.to_string())
                .bind(&after)
                .bind(CHUNK)
                .fetch_one(&mut *tx)
                .await?;
        let (codes, figures) = (codes.unwrap_or_default(), figures.unwrap_or_default());
        if !add_day(b, k, codes.as_bytes(), &figures, n) {
            return Ok(false);
        }
        if n < CHUNK {
            return Ok(true);
        }
        after = last.unwrap_or_default();
    }
}

/// Adds `n` rows of [`DAY_SQL`] as the figures of column `k`; false, adding nothing, if the
/// codes and the figures do not pair up.
fn add_day(b: &mut SpanColumns, k: usize, codes: &[u8], figures: &[u8], n: i64) -> bool {
    if n == 0 {
        return true;
    }
    let pieces = codes.iter().filter(|c| **c == b',').count() + 1;
    if i64::try_from(pieces) != Ok(n) || figures.len() != 8 * pieces {
        return false;
    }
    for (code, kwh) in codes.split(|c| *c == b',').zip(figures.chunks_exact(8)) {
        let i = b.enterprise(code);
        b.push(i, Some(k), super::copy::be_i64(kwh));
    }
    true
}
