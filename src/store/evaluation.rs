//! Reads what one period's evaluation needs — the registry, the 24 months of submissions that
//! end at the period (three output figures a month, the rest only for P and P−12), targets,
//! official unit figures and the key projects with their progress reports up to the period —
//! streaming the submission rows into fixed-size arrays.

use std::collections::HashMap;

use futures_util::TryStreamExt;

use super::{Store, on_pool};
use crate::amount::Amount;
use crate::analysis::{Calendar, Dataset, NONE, Series, WINDOW};
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
/// probe), but a month's rows mostly come in the order of the month before: so the enterprise
/// that followed the previous row's enterprise last time is tried first.
struct Locator<'a> {
    /// Every credit code, one after another (so that trying a guess reads memory in order).
    codes: Vec<u8>,
    /// `ends[e]`: where enterprise `e`'s code ends in `codes`.
    ends: Vec<usize>,
    index: HashMap<&'a str, u32>,
    /// `next[e]`: the enterprise whose row came after `e`'s row last time (`u32::MAX`: none yet).
    next: Vec<u32>,
    /// The enterprise of the previous row of each of the (at most two) streams read at once.
    last: [Option<u32>; 2],
}

impl<'a> Locator<'a> {
    fn new(enterprises: &'a [crate::registry::Enterprise]) -> Locator<'a> {
        let mut codes = Vec::with_capacity(enterprises.len() * 18);
        let mut ends = Vec::with_capacity(enterprises.len());
        for e in enterprises {
            codes.extend_from_slice(e.credit_code.as_str().as_bytes());
            ends.push(codes.len());
        }
        let index = enterprises
            .iter()
            .enumerate()
            .map(|(i, e)| (e.credit_code.as_str(), i as u32))
            .collect();
        Locator {
            next: vec![u32::MAX; ends.len()],
            codes,
            ends,
            index,
            last: [None; 2],
        }
    }

    fn code(&self, e: u32) -> Option<&[u8]> {
        let e = e as usize;
        let end = *self.ends.get(e)?;
        let start = if e == 0 { 0 } else { self.ends[e - 1] };
        Some(&self.codes[start..end])
    }

    /// The enterprise of `code`, read from stream `k` (0 or 1).
    fn find(&mut self, k: usize, code: &str) -> Option<usize> {
        let last = self.last[k];
        let guess = last.map(|l| self.next[l as usize]);
        let found = match guess {
            Some(g) if self.code(g) == Some(code.as_bytes()) => Some(g),
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

/// The submission columns an evaluation reads, in the order [`absorb_row`] takes them.
const COLUMNS: &str = "credit_code, period, output, output_ytd, output_prev, output_ytd_prev, electricity, electricity_prev, revenue_ytd, revision, run_id";

/// Stores one submission row's figures at window index `i`: three output figures for every
/// month, the rest only for P and P−12.
fn absorb_row(s: &mut Series, i: usize, f: [Option<i64>; 9]) {
    let get = |v: Option<i64>| v.unwrap_or(NONE);
    s.present |= 1 << i;
    s.output[i] = get(f[0]);
    s.output_ytd[i] = get(f[1]);
    if i >= 12 {
        s.output_prev[i - 12] = get(f[2]);
        s.output_ytd_prev[i - 12] = get(f[3]);
    }
    let revision = f[7].unwrap_or(0);
    if i == WINDOW - 1 {
        s.electricity = get(f[4]);
        s.electricity_prev = get(f[5]);
        s.revenue_ytd = get(f[6]);
        s.revision = revision;
    } else if i == WINDOW - 13 {
        s.electricity_year_ago = get(f[4]);
        s.revision_year_ago = revision;
    }
}

/// Columns of [`COLUMNS`].
const N_COLUMNS: usize = 11;

/// Reads `COPY … TO STDOUT (FORMAT binary)` output as it arrives: a header, then for each row
/// a field count and every field as a length (−1 for NULL) and its bytes; −1 as the count ends
/// it. Binary output costs the server and this side far less than decimal text.
#[derive(Default)]
struct BinaryCopy {
    /// Bytes of an unfinished row (or header) carried to the next chunk.
    carry: Vec<u8>,
    header_read: bool,
    ended: bool,
}

/// One row's fields, `None` for NULL.
type Fields<'a> = [Option<&'a [u8]>; N_COLUMNS];

const COPY_SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";

impl BinaryCopy {
    /// Takes the next chunk of output and hands every complete row to `row`.
    fn feed(
        &mut self,
        chunk: &[u8],
        mut row: impl FnMut(&Fields<'_>) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        if self.carry.is_empty() {
            let used = self.rows(chunk, &mut row)?;
            self.carry.extend_from_slice(&chunk[used..]);
        } else {
            let mut data = std::mem::take(&mut self.carry);
            data.extend_from_slice(chunk);
            let used = self.rows(&data, &mut row)?;
            data.drain(..used);
            self.carry = data;
        }
        Ok(())
    }

    /// Reads the complete rows at the start of `data`; returns how many bytes they took.
    fn rows(
        &mut self,
        data: &[u8],
        row: &mut impl FnMut(&Fields<'_>) -> anyhow::Result<()>,
    ) -> anyhow::Result<usize> {
        let mut at = 0;
        if !self.header_read {
            let fixed = COPY_SIGNATURE.len() + 8;
            if data.len() < fixed {
                return Ok(0);
            }
            anyhow::ensure!(data.starts_with(COPY_SIGNATURE), "not binary COPY output");
            let ext = be_u32(&data[fixed - 4..fixed]) as usize;
            if data.len() < fixed + ext {
                return Ok(0);
            }
            at = fixed + ext;
            self.header_read = true;
        }
        while !self.ended {
            let Some(count) = data.get(at..at + 2) else {
                break;
            };
            let count = i16::from_be_bytes([count[0], count[1]]);
            if count == -1 {
                self.ended = true;
                at += 2;
                break;
            }
            anyhow::ensure!(
                count as usize == N_COLUMNS,
                "COPY row of {count} fields, {N_COLUMNS} expected"
            );
            let mut fields: Fields<'_> = [None; N_COLUMNS];
            let mut p = at + 2;
            let mut complete = true;
            for f in fields.iter_mut() {
                let Some(len) = data.get(p..p + 4) else {
                    complete = false;
                    break;
                };
                let len = i32::from_be_bytes([len[0], len[1], len[2], len[3]]);
                p += 4;
                if len < 0 {
                    continue;
                }
                let Some(bytes) = data.get(p..p + len as usize) else {
                    complete = false;
                    break;
                };
                *f = Some(bytes);
                p += len as usize;
            }
            if !complete {
                break;
            }
            row(&fields)?;
            at = p;
        }
        Ok(at)
    }

    /// Whether the output ended properly (the trailer read, nothing left over).
    fn finish(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.ended && self.carry.is_empty(),
            "COPY output ended early ({} bytes of an unfinished row)",
            self.carry.len()
        );
        Ok(())
    }
}

fn be_u32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// A binary integer field: two, four or eight bytes, big-endian.
fn int_field(f: Option<&[u8]>) -> anyhow::Result<Option<i64>> {
    Ok(match f {
        None => None,
        Some(&[a, b]) => Some(i64::from(i16::from_be_bytes([a, b]))),
        Some(&[a, b, c, d]) => Some(i64::from(i32::from_be_bytes([a, b, c, d]))),
        Some(b) if b.len() == 8 => {
            let mut x = [0u8; 8];
            x.copy_from_slice(b);
            Some(i64::from_be_bytes(x))
        }
        Some(b) => anyhow::bail!("integer field of {} bytes", b.len()),
    })
}

impl Store {
    /// Loads the dataset for evaluating `period`.
    pub async fn load_dataset(
        &self,
        period: Period,
        jan_feb_combined: bool,
    ) -> anyhow::Result<Dataset> {
        let cal = Calendar {
            period,
            jan_feb_combined,
        };
        let started = std::time::Instant::now();
        let units = self.units().await?;
        let enterprises = self.enterprises().await?;
        tracing::debug!(
            enterprises = enterprises.len(),
            ms = started.elapsed().as_millis() as u64,
            "evaluation: registry read"
        );
        let mut locate = Locator::new(&enterprises);
        let mut series = vec![Series::default(); enterprises.len()];
        let from = period.offset(-(WINDOW as i32 - 1)).to_string();
        let to = period.to_string();
        let mut vintage = 0i64;
        let mut absorb = |k: usize, code: &str, period: &str, f: [Option<i64>; 9]| {
            let Some(e) = locate.find(k, code) else {
                return;
            };
            let Some(i) = period_of(period).and_then(|t| cal.index(t)) else {
                return;
            };
            absorb_row(&mut series[e], i, f);
            vintage = vintage.max(f[8].unwrap_or(0));
        };
        match self {
            Store::Sqlite(p) => {
                // Stepped directly (see sqlite_raw): sqlx would cost ~4 µs a row, and the
                // window is 24 rows an enterprise. A full scan beats the period index here,
                // whose range covers nearly every row.
                let sql = format!(
                    "SELECT {COLUMNS} FROM submission NOT INDEXED WHERE period >= ?1 AND period <= ?2"
                );
                let mut conn = p.acquire().await?;
                super::sqlite_raw::with_handle(&mut conn, |h| {
                    let mut q = super::sqlite_raw::Statement::prepare(h, &sql)?;
                    q.bind_text(1, &from)?;
                    q.bind_text(2, &to)?;
                    while q.step()? {
                        let (code, period) = (q.str(0)?, q.str(1)?);
                        let mut f = [None; 9];
                        for (k, v) in f.iter_mut().enumerate() {
                            *v = q.int(k as i32 + 2);
                        }
                        absorb(0, code, period, f);
                    }
                    Ok(())
                })
                .await?;
            }
            Store::Postgres(p) => {
                // Binary COPY is several times faster than decoding rows, but one server
                // process sends about a million rows a second: so the two halves of the table come
                // from two processes at once, both reading the snapshot the first one took.
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
                // Split by position in the table, not by period: each process then scans half
                // of it (a TID range scan) rather than all of it for half the rows.
                let pages: i64 = sqlx::query_scalar(
                    "SELECT GREATEST(relpages, 0)::BIGINT FROM pg_class WHERE oid = 'submission'::regclass",
                )
                .fetch_one(&mut *first)
                .await?;
                let half = format!("'({},0)'::tid", pages / 2);
                let copy = |part: &str| {
                    format!(
                        "COPY (SELECT {COLUMNS} FROM submission WHERE {part} AND period >= '{from}' AND period <= '{to}') TO STDOUT (FORMAT binary)"
                    )
                };
                let front = first
                    .copy_out_raw(&copy(&format!("ctid < {half}")))
                    .await?
                    .map_ok(|c| (0, c));
                let back = second
                    .copy_out_raw(&copy(&format!("ctid >= {half}")))
                    .await?
                    .map_ok(|c| (1, c));
                let mut both = futures_util::stream::select(front, back);
                let mut readers = [BinaryCopy::default(), BinaryCopy::default()];
                while let Some((k, chunk)) = both.try_next().await? {
                    readers[k].feed(&chunk, |fields| {
                        let text = |i: usize| std::str::from_utf8(fields[i].unwrap_or_default());
                        let mut f = [None; 9];
                        for (j, v) in f.iter_mut().enumerate() {
                            *v = int_field(fields[j + 2])?;
                        }
                        absorb(k, text(0)?, text(1)?, f);
                        Ok(())
                    })?;
                }
                for r in &readers {
                    r.finish()?;
                }
                drop(both);
                first.rollback().await?;
                second.rollback().await?;
            }
        }
        tracing::debug!(
            ms = started.elapsed().as_millis() as u64,
            "evaluation: submissions {from} to {to} read"
        );
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
        Ok(Dataset {
            cal,
            projects,
            progress,
            units,
            enterprises,
            series,
            targets,
            unit_figures,
            vintage,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Binary COPY output of the given rows (each field NULL or an 8-byte integer, the first
    /// two text).
    fn copy_output(rows: &[(&str, &str, [Option<i64>; 9])]) -> Vec<u8> {
        let mut out = COPY_SIGNATURE.to_vec();
        out.extend_from_slice(&0u32.to_be_bytes());
        out.extend_from_slice(&4u32.to_be_bytes());
        out.extend_from_slice(b"ext!");
        for (code, period, f) in rows {
            out.extend_from_slice(&(N_COLUMNS as i16).to_be_bytes());
            for t in [code, period] {
                out.extend_from_slice(&(t.len() as i32).to_be_bytes());
                out.extend_from_slice(t.as_bytes());
            }
            for v in f {
                match v {
                    None => out.extend_from_slice(&(-1i32).to_be_bytes()),
                    Some(v) => {
                        out.extend_from_slice(&8i32.to_be_bytes());
                        out.extend_from_slice(&v.to_be_bytes());
                    }
                }
            }
        }
        out.extend_from_slice(&(-1i16).to_be_bytes());
        out
    }

    #[test]
    fn binary_copy_rows_are_read_whatever_the_chunk_boundaries() {
        let rows = [
            (
                "913307000000000008",
                "2026-10",
                [
                    Some(120),
                    None,
                    Some(-3),
                    Some(0),
                    None,
                    Some(i64::MAX),
                    Some(i64::MIN),
                    Some(2),
                    Some(17),
                ],
            ),
            ("91330700000000001B", "2026-09", [None; 9]),
        ];
        let out = copy_output(&rows);
        for size in [1, 3, 7, 64, out.len()] {
            let mut r = BinaryCopy::default();
            let mut got = Vec::new();
            for chunk in out.chunks(size) {
                r.feed(chunk, |f| {
                    let text = |i: usize| String::from_utf8(f[i].unwrap().to_vec()).unwrap();
                    let mut v = [None; 9];
                    for (j, x) in v.iter_mut().enumerate() {
                        *x = int_field(f[j + 2])?;
                    }
                    got.push((text(0), text(1), v));
                    Ok(())
                })
                .unwrap();
            }
            r.finish().unwrap();
            let want: Vec<_> = rows
                .iter()
                .map(|(c, p, v)| (c.to_string(), p.to_string(), *v))
                .collect();
            assert_eq!(got, want, "chunks of {size}");
        }
        let mut cut = BinaryCopy::default();
        cut.feed(&out[..out.len() - 5], |_| Ok(())).unwrap();
        assert!(
            cut.finish().is_err(),
            "a cut stream is an error, not fewer rows"
        );
        assert!(
            BinaryCopy::default()
                .feed(b"PGCOPY\nXXXXXXXXXXXXXXXXXXXXX", |_| Ok(()))
                .is_err()
        );
        assert_eq!(int_field(Some(&[0, 7])).unwrap(), Some(7));
        assert_eq!(int_field(Some(&[255, 255, 255, 254])).unwrap(), Some(-2));
        assert!(int_field(Some(&[1, 2, 3])).is_err());
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
                assert_eq!(l.find(0, c), Some(i));
            }
        }
        for i in [2, 0, 1] {
            assert_eq!(l.find(1, codes[i]), Some(i));
        }
        assert_eq!(l.find(0, "91330700000000003H"), None, "not registered");
        assert_eq!(l.find(0, codes[1]), Some(1));
    }
}
