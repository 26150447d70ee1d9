//! Reads what one period's evaluation needs — the registry, the 24 months of submissions that
//! end at the period (the output figures of every month, the rest only for P and P−12), targets,
//! official unit figures and the key projects with their progress reports up to the period.
//! The months come from their packed years (`submission_year`, at most three rows an
//! enterprise rather than 24), decoded straight into fixed-size arrays. The few enterprises
//! whose streak (停产/半停产/减产) reaches back past the 24 months get older windows read too,
//! twelve months at a time, until the streak ends: a streak counts as far back as the data goes
//! and depends on nothing but the data (not on which periods were evaluated before).

use std::collections::HashMap;

use anyhow::Context;
use futures_util::TryStreamExt;

use super::copy::{BinaryCopyReader, int_field};
use super::{Store, on_pool, packed};
use crate::amount::Amount;
use crate::analysis::{Calendar, Dataset, NONE, Series, StateThresholds, WINDOW};
use crate::indicator::field_at;
use crate::period::Period;

/// Parses `YYYY-MM` without allocating (the hot path reads a million of them).
fn period_of(s: &str) -> Option<Period> {
    let b = s.as_bytes();
    if b.len() != 7 || b[4] != b'-' {
        return s.parse().ok();
    }
    let d = |c: u8| (c as char).to_digit(10);
    let year = d(b[0])? * 1000 + d(b[1])? * 100 + d(b[2])? * 10 + d(b[3])?;
    let month = d(b[5])? * 10 + d(b[6])?;
    Period::new(year as i32, month)
}

/// Finds the registry index of each submission row's enterprise. A hash lookup per row was a
/// third of the load (at half a million enterprises the table misses the cache on almost every
/// probe), but a year's rows mostly come in the order of the year before: so the previous row's
/// enterprise is tried first, then the enterprise that followed it last time.
struct Locator {
    /// Every credit code, in registry order (so that trying a guess reads memory in order).
    codes: Vec<[u8; 18]>,
    index: HashMap<[u8; 18], u32, foldhash::fast::RandomState>,
    /// `next[e]`: the enterprise whose row came after `e`'s row last time (`u32::MAX`: none yet).
    next: Vec<u32>,
    /// The enterprise of the previous row of each of the (at most two) streams read at once.
    last: [Option<u32>; 2],
}

impl Locator {
    fn new(enterprises: &[crate::registry::Enterprise]) -> Locator {
        let codes: Vec<[u8; 18]> = enterprises
            .iter()
            .map(|e| *e.credit_code.as_bytes())
            .collect();
        let mut index = HashMap::with_capacity_and_hasher(codes.len(), Default::default());
        for (i, c) in codes.iter().enumerate() {
            index.insert(*c, i as u32);
        }
        Locator {
            next: vec![u32::MAX; codes.len()],
            codes,
            index,
            last: [None; 2],
        }
    }

    fn is(&self, e: u32, code: &[u8; 18]) -> bool {
        self.codes.get(e as usize) == Some(code)
    }

    /// The enterprise of `code`, read from stream `k` (0 or 1).
    fn find(&mut self, k: usize, code: &[u8]) -> Option<usize> {
        // A stored code has 18 characters; anything else is no registered enterprise.
        let code = <&[u8; 18]>::try_from(code).ok()?;
        let last = self.last[k];
        if let Some(l) = last {
            // The years of one enterprise may come one after another.
            if self.is(l, code) {
                return Some(l as usize);
            }
        }
        let guess = last.map(|l| self.next[l as usize]);
        let found = match guess {
            Some(g) if self.is(g, code) => Some(g),
            _ => {
                let found = self.index.get(code).copied();
                if let (Some(l), Some(f)) = (last, found) {
                    self.next[l as usize] = f;
                }
                found
            }
        };
        if found.is_some() {
            self.last[k] = found;
        }
        found.map(|f| f as usize)
    }
}

/// Turns packed years into the series of the registered enterprises (the evaluation's window).
struct Absorber {
    cal: Calendar,
    locate: Locator,
    series: Vec<Series>,
    /// The newest import run among the months read.
    vintage: i64,
    packs: u64,
}

impl Absorber {
    /// One packed year of one enterprise, read from stream `k`.
    fn pack(&mut self, k: usize, code: &[u8], year: i64, pack: &[u8]) -> anyhow::Result<()> {
        self.packs += 1;
        let Some(e) = self.locate.find(k, code) else {
            return Ok(());
        };
        let year = i32::try_from(year)?;
        let (cal, s, vintage) = (&self.cal, &mut self.series[e], &mut self.vintage);
        let index = |month| Period::new(year, month).and_then(|t| cal.index(t));
        packed::decode_some(
            pack,
            |month| index(month).map_or(0, wanted),
            |month, present, f| {
                let Some(i) = index(month) else {
                    return;
                };
                absorb_row(s, i, present, f);
                *vintage = (*vintage).max(f[packed::RUN_ID]);
            },
        )
        .with_context(|| format!("submission_year {year} {}", String::from_utf8_lossy(code)))
    }

    /// Every row of a batch written by [`copy_row`], read from stream `k`.
    fn batch(&mut self, k: usize, batch: &[u8]) -> anyhow::Result<()> {
        each_copied(batch, |code, year, pack| self.pack(k, code, year, pack))
    }
}

/// Bytes of rows handed from the reading thread to the decoding one at a time.
const READ_BATCH: usize = 256 << 10;

/// Appends one `submission_year` row to a batch: the code's length and bytes, the year, the
/// pack's length and bytes.
fn copy_row(batch: &mut Vec<u8>, code: &[u8], year: i64, pack: &[u8]) -> anyhow::Result<()> {
    batch.push(u8::try_from(code.len())?);
    batch.extend_from_slice(code);
    batch.extend_from_slice(&year.to_le_bytes());
    batch.extend_from_slice(&u32::try_from(pack.len())?.to_le_bytes());
    batch.extend_from_slice(pack);
    Ok(())
}

/// Calls `f` with each row of a batch written by [`copy_row`].
fn each_copied(
    batch: &[u8],
    mut f: impl FnMut(&[u8], i64, &[u8]) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let cut = || anyhow::anyhow!("a batch of packed years is cut short");
    let mut rest = batch;
    while let Some((&n, tail)) = rest.split_first() {
        let (code, tail) = tail.split_at_checked(usize::from(n)).ok_or_else(cut)?;
        let (year, tail) = tail.split_first_chunk::<8>().ok_or_else(cut)?;
        let (len, tail) = tail.split_first_chunk::<4>().ok_or_else(cut)?;
        let (pack, tail) = tail
            .split_at_checked(u32::from_le_bytes(*len) as usize)
            .ok_or_else(cut)?;
        f(code, i64::from_le_bytes(*year), pack)?;
        rest = tail;
    }
    Ok(())
}

const OUTPUT: usize = field_at("output");
const OUTPUT_YTD: usize = field_at("output_ytd");
const OUTPUT_PREV: usize = field_at("output_prev");
const OUTPUT_YTD_PREV: usize = field_at("output_ytd_prev");
const ELECTRICITY: usize = field_at("electricity");
const ELECTRICITY_PREV: usize = field_at("electricity_prev");
const REVENUE_YTD: usize = field_at("revenue_ytd");

/// The packed fields [`absorb_row`] reads of the month at window index `i` (bit `k` for field
/// `k`): the output figures and the import run of every month, the prior-year figures of the
/// last twelve, everything of P and P−12.
fn wanted(i: usize) -> u32 {
    let bit = |k: usize| 1u32 << k;
    if i == WINDOW - 1 || i == WINDOW - 13 {
        u32::MAX
    } else if i >= 12 {
        bit(OUTPUT)
            | bit(OUTPUT_YTD)
            | bit(OUTPUT_PREV)
            | bit(OUTPUT_YTD_PREV)
            | bit(packed::RUN_ID)
    } else {
        bit(OUTPUT) | bit(OUTPUT_YTD) | bit(packed::RUN_ID)
    }
}

/// Stores one month's packed figures at window index `i`: the output figures for every month,
/// the rest only for P and P−12. `present` has bit `k` set when field `k` was read, not NULL.
fn absorb_row(s: &mut Series, i: usize, present: u32, f: &[i64; packed::N_FIELDS]) {
    let get = |k: usize| if present & (1 << k) != 0 { f[k] } else { NONE };
    s.present |= 1 << i;
    s.output[i] = get(OUTPUT);
    s.output_ytd[i] = get(OUTPUT_YTD);
    if i >= 12 {
        s.output_prev[i - 12] = get(OUTPUT_PREV);
        s.output_ytd_prev[i - 12] = get(OUTPUT_YTD_PREV);
    }
    let revision = f[packed::REVISION];
    if i == WINDOW - 1 {
        s.electricity = get(ELECTRICITY);
        s.electricity_prev = get(ELECTRICITY_PREV);
        s.revenue_ytd = get(REVENUE_YTD);
        s.revision = revision;
    } else if i == WINDOW - 13 {
        s.electricity_year_ago = get(ELECTRICITY);
        s.revision_year_ago = revision;
    }
}

impl Store {
    /// Loads the dataset for evaluating `period`; `th` decides which streaks need older months.
    pub async fn load_dataset(
        &self,
        period: Period,
        jan_feb_combined: bool,
        th: StateThresholds,
    ) -> anyhow::Result<Dataset> {
        let cal = Calendar {
            period,
            jan_feb_combined,
        };
        // Packs whose rows changed behind indmon's back are rebuilt first (see `stale.rs`).
        self.refresh_stale_years().await?;
        let started = std::time::Instant::now();
        let units = self.units().await?;
        let enterprises = self.enterprises().await?;
        tracing::debug!(
            enterprises = enterprises.len(),
            ms = started.elapsed().as_millis() as u64,
            "evaluation: registry read"
        );
        let mut absorber = Absorber {
            cal,
            locate: Locator::new(&enterprises),
            series: vec![Series::default(); enterprises.len()],
            vintage: 0,
            packs: 0,
        };
        let from = period.offset(-(WINDOW as i32 - 1));
        let (first_year, last_year) = (from.year(), period.year());
        let select = format!(
            "SELECT credit_code, year, months FROM submission_year WHERE year >= {first_year} AND year <= {last_year}"
        );
        // Reading the rows and decoding them take about as long as each other: the rows are
        // copied into batches and decoded on another thread.
        let new_batch = || Vec::with_capacity(READ_BATCH + 4096);
        match self {
            Store::Sqlite(p) => {
                // Stepped directly (see sqlite_raw): sqlx would cost ~4 µs a row.
                let mut conn = p.acquire().await?;
                let (batches, received) = std::sync::mpsc::sync_channel::<(usize, Vec<u8>)>(4);
                super::sqlite_raw::with_handle(&mut conn, |h| {
                    let mut q = super::sqlite_raw::Statement::prepare(h, &select)?;
                    std::thread::scope(|scope| {
                        let absorber = &mut absorber;
                        let decoder = scope.spawn(move || -> anyhow::Result<()> {
                            for (k, batch) in received {
                                absorber.batch(k, &batch)?;
                            }
                            Ok(())
                        });
                        let mut batch = new_batch();
                        let mut code = Vec::with_capacity(18);
                        let read = || -> anyhow::Result<()> {
                            while q.step()? {
                                // One column borrowed at a time (sqlite_raw's readers take
                                // `&mut`): the code is copied out first.
                                code.clear();
                                code.extend_from_slice(q.text(0));
                                let year = q.int(1).unwrap_or_default();
                                copy_row(&mut batch, &code, year, q.blob(2))?;
                                if batch.len() >= READ_BATCH
                                    && batches
                                        .send((0, std::mem::replace(&mut batch, new_batch())))
                                        .is_err()
                                {
                                    // The decoder stopped on an error, which join returns.
                                    return Ok(());
                                }
                            }
                            let _ = batches.send((0, batch));
                            Ok(())
                        };
                        let read = read();
                        drop(batches);
                        let decoded = decoder
                            .join()
                            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                        read.and(decoded)
                    })
                })
                .await?;
            }
            Store::Postgres(p) => {
                // Binary COPY is several times faster than decoding rows, and the two halves of
                // the table come from two server processes at once, both reading the snapshot
                // the first one took.
                let begin = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
                let mut first = p.begin_with(begin).await?;
                let snapshot: String = sqlx::query_scalar("SELECT pg_export_snapshot()")
                    .fetch_one(&mut *first)
                    .await?;
                let mut second = p.begin_with(begin).await?;
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SET TRANSACTION SNAPSHOT '{snapshot}'"
                )))
                .execute(&mut *second)
                .await?;
                // Split by position in the table (each process scans half of it by TID range).
                let pages: i64 = sqlx::query_scalar(
                    "SELECT GREATEST(relpages, 0)::BIGINT FROM pg_class WHERE oid = 'submission_year'::regclass",
                )
                .fetch_one(&mut *first)
                .await?;
                let half = format!("'({},0)'::tid", pages / 2);
                let copy =
                    |part: &str| format!("COPY ({select} AND {part}) TO STDOUT (FORMAT binary)");
                let front = first
                    .copy_out_raw(&copy(&format!("ctid < {half}")))
                    .await?
                    .map_ok(|c| (0, c));
                let back = second
                    .copy_out_raw(&copy(&format!("ctid >= {half}")))
                    .await?
                    .map_ok(|c| (1, c));
                // The decoder owns the series while it runs, and hands them back.
                let (batches, mut received) = tokio::sync::mpsc::channel::<(usize, Vec<u8>)>(4);
                let decoder = tokio::task::spawn_blocking(move || -> anyhow::Result<Absorber> {
                    while let Some((k, batch)) = received.blocking_recv() {
                        absorber.batch(k, &batch)?;
                    }
                    Ok(absorber)
                });
                let read = async {
                    let mut both = futures_util::stream::select(front, back);
                    let mut readers = [BinaryCopyReader::new(3), BinaryCopyReader::new(3)];
                    let mut out = [new_batch(), new_batch()];
                    while let Some((k, chunk)) = both.try_next().await? {
                        let batch = &mut out[k];
                        readers[k].feed(&chunk, |fields| {
                            copy_row(
                                batch,
                                fields[0].unwrap_or_default(),
                                int_field(fields[1])?.unwrap_or_default(),
                                fields[2].unwrap_or_default(),
                            )
                        })?;
                        if batch.len() >= READ_BATCH {
                            let full = std::mem::replace(batch, new_batch());
                            // Waits only while the decoder is behind; a closed channel means it
                            // stopped on an error, which its join returns.
                            if batches.send((k, full)).await.is_err() {
                                return Ok(());
                            }
                        }
                    }
                    for r in &readers {
                        r.finish()?;
                    }
                    for (k, batch) in out.into_iter().enumerate() {
                        let _ = batches.send((k, batch)).await;
                    }
                    anyhow::Ok(())
                };
                let read = read.await;
                drop(batches);
                absorber = decoder.await??;
                read?;
                first.rollback().await?;
                second.rollback().await?;
            }
        }
        let Absorber {
            series,
            vintage,
            packs,
            ..
        } = absorber;
        tracing::debug!(
            ms = started.elapsed().as_millis() as u64,
            packs,
            "evaluation: packed years {first_year} to {last_year} read"
        );
        let (from, to) = (from.to_string(), period.to_string());
        let targets = self
            .targets()
            .await?
            .into_iter()
            .filter(|t| t.year == period.year())
            .collect();
        let sql = "SELECT unit_code, period, indicator, value FROM unit_indicator WHERE period >= $1 AND period <= $2";
        let rows: Vec<(String, String, String, i64)> =
            on_pool!(self, p => sqlx::query_as(sql).bind(&from).bind(&to).fetch_all(p).await?);
        let unit_figures = rows
            .into_iter()
            .filter_map(|(u, t, ind, v)| Some(((u, period_of(&t)?, ind), Amount(v))))
            .collect();
        let projects = self.projects().await?;
        let mut progress = vec![Vec::new(); projects.len()];
        let at: HashMap<&str, usize> = projects
            .iter()
            .enumerate()
            .map(|(i, pr)| (pr.id.as_str(), i))
            .collect();
        for (id, report) in self.project_progress(Some(period)).await? {
            if let Some(&i) = at.get(id.as_str()) {
                progress[i].push(report);
            }
        }
        let mut ds = Dataset {
            cal,
            projects,
            progress,
            units,
            enterprises,
            series,
            earlier: HashMap::new(),
            targets,
            unit_figures,
            vintage,
        };
        self.read_earlier(&mut ds, th).await?;
        Ok(ds)
    }

    /// Reads older windows, twelve months further back each round, for the enterprises whose
    /// streak in the period (or the period before, for the snapshot's 复产) reaches back past
    /// the months read, until every streak has ended or the data has.
    async fn read_earlier(&self, ds: &mut Dataset, th: StateThresholds) -> anyhow::Result<()> {
        let p = ds.period();
        let before = ds.cal.prev_analysed(p);
        let open = |ds: &Dataset, e: usize| {
            ds.standing(e, th).reaches_edge || ds.standing_at(e, th, before).reaches_edge
        };
        let mut wanted: Vec<usize> = (0..ds.series.len()).filter(|&e| open(ds, e)).collect();
        let mut round = 1;
        while !wanted.is_empty() {
            let started = std::time::Instant::now();
            let end = p.offset(-12 * round);
            let subset: Vec<_> = wanted.iter().map(|&e| ds.enterprises[e].clone()).collect();
            let codes: Vec<String> = subset.iter().map(|e| e.credit_code.to_string()).collect();
            let mut absorber = Absorber {
                cal: Calendar {
                    period: end,
                    ..ds.cal
                },
                locate: Locator::new(&subset),
                series: vec![Series::default(); subset.len()],
                vintage: 0,
                packs: 0,
            };
            let (first_year, last_year) = (end.offset(-(WINDOW as i32 - 1)).year(), end.year());
            let rows: Vec<(String, i64, Vec<u8>)> = match self {
                Store::Sqlite(p) => {
                    sqlx::query_as(
                        "SELECT credit_code, year, months FROM submission_year \
                         WHERE year >= $1 AND year <= $2 \
                         AND credit_code IN (SELECT value FROM json_each($3))",
                    )
                    .bind(first_year)
                    .bind(last_year)
                    .bind(serde_json::to_string(&codes)?)
                    .fetch_all(p)
                    .await?
                }
                Store::Postgres(p) => {
                    sqlx::query_as(
                        "SELECT credit_code, year::BIGINT, months FROM submission_year \
                         WHERE year >= $1 AND year <= $2 AND credit_code = ANY($3)",
                    )
                    .bind(first_year)
                    .bind(last_year)
                    .bind(&codes)
                    .fetch_all(p)
                    .await?
                }
            };
            for (code, year, pack) in &rows {
                absorber.pack(0, code.as_bytes(), *year, pack)?;
            }
            ds.vintage = ds.vintage.max(absorber.vintage);
            for (&e, s) in wanted.iter().zip(absorber.series) {
                ds.earlier.entry(e).or_default().push(s);
            }
            tracing::debug!(
                enterprises = wanted.len(),
                packs = rows.len(),
                ms = started.elapsed().as_millis() as u64,
                "evaluation: streaks read back to {}",
                end.offset(-(WINDOW as i32 - 1))
            );
            if rows.is_empty() {
                break;
            }
            wanted.retain(|&e| open(ds, e));
            round += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copied_rows_come_back_whole_and_a_cut_batch_is_an_error() {
        let mut batch = Vec::new();
        copy_row(&mut batch, b"9133078152601815XT", 2026, &[1, 2, 3]).unwrap();
        copy_row(&mut batch, b"913307811860913921", -1, &[]).unwrap();
        let mut got = Vec::new();
        each_copied(&batch, |c, y, p| {
            got.push((String::from_utf8(c.to_vec()).unwrap(), y, p.to_vec()));
            Ok(())
        })
        .unwrap();
        assert_eq!(
            got,
            vec![
                ("9133078152601815XT".to_string(), 2026, vec![1, 2, 3]),
                ("913307811860913921".to_string(), -1, vec![]),
            ]
        );
        for cut in 1..batch.len() {
            if cut == 34 {
                continue; // the end of the first row
            }
            assert!(
                each_copied(&batch[..cut], |_, _, _| Ok(())).is_err(),
                "{cut}"
            );
        }
    }

    #[test]
    fn the_locator_follows_the_order_of_the_previous_month_and_falls_back_to_the_index() {
        let reg = |code: &str| crate::registry::Enterprise {
            credit_code: code.parse().unwrap(),
            name: String::new(),
            unit_code: String::new(),
            zone_code: None,
            industry_code: None,
            scale: crate::registry::Scale::Above,
            key: false,
            owner: None,
        };
        let codes = [
            "91330700000000001B",
            "913307000000000008",
            "91330700000000002E",
        ];
        let ents: Vec<_> = codes.iter().map(|c| reg(c)).collect();
        let mut l = Locator::new(&ents);
        // Two months in one order on stream 0, then a different order on stream 1.
        for _ in 0..2 {
            for (i, c) in codes.iter().enumerate() {
                assert_eq!(l.find(0, c.as_bytes()), Some(i));
            }
        }
        for i in [2, 0, 1] {
            assert_eq!(l.find(1, codes[i].as_bytes()), Some(i));
        }
        assert_eq!(l.find(0, b"91330700000000003H"), None, "not registered");
        assert_eq!(l.find(0, b"9133070000"), None, "not a stored code");
        assert_eq!(l.find(0, codes[1].as_bytes()), Some(1));
    }
}
