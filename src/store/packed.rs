//! The packed form of `submission_year.months`: the figures an evaluation reads for every month
//! one enterprise submitted in one calendar year, in one small blob.
//!
//! Layout (version 1), all integers little-endian:
//! - one byte: the version, 1;
//! - `u16`: the months present, bit `m − 1` for month `m`;
//! - for each present month in calendar order: a `u32` with bit `k` set when packed field `k`
//!   is not NULL, then each such field as a zigzag LEB128 varint. The [`N_FIELDS`] packed
//!   fields are the figures of [`crate::indicator::FIELDS`], the revision and the import run:
//!   eighteen, more than 16 bits hold.
//!
//! For example, months 1 (every field NULL) and 3 (output 5, output_ytd −3, revision 1, run
//! 300) pack as `01 | 05 00 | 00 00 00 00 | 03 00 03 00 0a 05 02 d8 04` (see the test
//! `a_known_year_packs_to_these_exact_bytes`).
//!
//! Typical figures take three or four bytes, so a year is a few hundred bytes where 12 rows of
//! `submission` are several kilobytes, and reading it costs one row instead of twelve.

use anyhow::{bail, ensure};

/// The packed fields: every figure of [`crate::indicator::FIELDS`], in its order, then the
/// submission's revision and the import run that wrote it: everything stored of a month but
/// its key and time of receipt (the start of that run).
pub const N_FIELDS: usize = crate::indicator::N_FIELDS + 2;
/// Index of the revision among the packed fields.
pub const REVISION: usize = N_FIELDS - 2;
/// Index of the import run among the packed fields.
pub const RUN_ID: usize = N_FIELDS - 1;

/// The name of packed field `k` (as the columns of `submission_history` name it).
pub fn field_name(k: usize) -> &'static str {
    match k {
        REVISION => "revision",
        RUN_ID => "run_id",
        _ => crate::indicator::FIELDS[k].name,
    }
}

/// Every packed field's column, comma-separated, each prefixed with `prefix`.
pub fn columns(prefix: &str) -> String {
    (0..N_FIELDS)
        .map(|k| format!("{prefix}{}", field_name(k)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One month's fields, `None` for NULL.
pub type Month = [Option<i64>; N_FIELDS];

const VERSION: u8 = 1;

/// Packs the months of one year; `months` holds `(month 1..=12, fields)` in any order, each
/// month at most once.
pub fn encode(months: &[(u32, Month)]) -> anyhow::Result<Vec<u8>> {
    let mut sorted: Vec<&(u32, Month)> = months.iter().collect();
    sorted.sort_unstable_by_key(|(m, _)| *m);
    let mut mask = 0u16;
    for (m, _) in &sorted {
        ensure!((1..=12).contains(m), "month {m} out of range");
        let bit = 1u16 << (m - 1);
        ensure!(mask & bit == 0, "month {m} given twice");
        mask |= bit;
    }
    let mut out = Vec::with_capacity(3 + sorted.len() * (4 + N_FIELDS * 4));
    out.push(VERSION);
    out.extend_from_slice(&mask.to_le_bytes());
    for (_, fields) in sorted {
        out.extend_from_slice(&not_null(fields).to_le_bytes());
        for v in fields.iter().flatten() {
            push_varint(&mut out, *v);
        }
    }
    Ok(out)
}

/// The months present in a packed year (bit `m − 1` for month `m`), read without decoding it.
pub fn months_of(pack: &[u8]) -> anyhow::Result<u16> {
    let mut r = Reader { data: pack, at: 0 };
    let version = r.byte()?;
    ensure!(
        version == VERSION,
        "packed year of version {version}, {VERSION} expected"
    );
    r.u16()
}

/// Calls `f` with each month of a packed year, in calendar order.
pub fn decode(pack: &[u8], mut f: impl FnMut(u32, &Month)) -> anyhow::Result<()> {
    decode_raw(pack, |m, present, values| {
        let mut fields: Month = [None; N_FIELDS];
        for (k, v) in fields.iter_mut().enumerate() {
            if present & (1 << k) != 0 {
                *v = Some(values[k]);
            }
        }
        f(m, &fields);
    })
}

/// Calls `f` with each month of a packed year, in calendar order: the month, the mask of its
/// not-NULL fields (bit `k` for field `k`) and its fields, 0 where NULL.
pub fn decode_raw(pack: &[u8], f: impl FnMut(u32, u32, &[i64; N_FIELDS])) -> anyhow::Result<()> {
    decode_some(pack, |_| u32::MAX, f)
}

/// As [`decode_raw`], reading only the fields `want(month)` asks for (bit `k` for field `k`):
/// the others are stepped over, and left out of the mask handed to `f`; a month for which
/// `want` says 0 is not handed over at all. The evaluation's hot path: it reads a dozen million
/// months, of most of which it needs three figures.
pub fn decode_some(
    pack: &[u8],
    mut want: impl FnMut(u32) -> u32,
    mut f: impl FnMut(u32, u32, &[i64; N_FIELDS]),
) -> anyhow::Result<()> {
    let mut r = Reader { data: pack, at: 0 };
    let version = r.byte()?;
    ensure!(
        version == VERSION,
        "packed year of version {version}, {VERSION} expected"
    );
    let mask = r.u16()?;
    ensure!(mask >> 12 == 0, "packed year names a 13th month");
    let mut months = mask;
    while months != 0 {
        let m = months.trailing_zeros() + 1;
        months &= months - 1;
        let present = r.u32()?;
        ensure!(present >> N_FIELDS == 0, "packed month with unknown fields");
        let asked = want(m);
        if asked == 0 {
            r.skip_varints(present.count_ones())?;
            continue;
        }
        let wanted = present & asked;
        let mut values = [0i64; N_FIELDS];
        // Fields come in order: step over those below each wanted one, then read it.
        let mut done = 0u32;
        let mut fields = wanted;
        while fields != 0 {
            let k = fields.trailing_zeros();
            fields &= fields - 1;
            let below = present & ((1u32 << k) - 1) & !done;
            r.skip_varints(below.count_ones())?;
            values[k as usize] = r.varint()?;
            done |= (2u32 << k) - 1;
        }
        r.skip_varints((present & !done).count_ones())?;
        f(m, wanted, &values);
    }
    ensure!(
        r.at == pack.len(),
        "packed year has {} bytes left over",
        pack.len() - r.at
    );
    Ok(())
}

struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> anyhow::Result<u8> {
        let Some(&b) = self.data.get(self.at) else {
            bail!("packed year cut short at byte {}", self.at)
        };
        self.at += 1;
        Ok(b)
    }

    fn u16(&mut self) -> anyhow::Result<u16> {
        Ok(u16::from_le_bytes([self.byte()?, self.byte()?]))
    }

    fn u32(&mut self) -> anyhow::Result<u32> {
        let Some(b) = self.data.get(self.at..).and_then(|d| d.first_chunk::<4>()) else {
            bail!("packed year cut short at byte {}", self.at)
        };
        self.at += 4;
        Ok(u32::from_le_bytes(*b))
    }

    /// Steps over `n` varints. Eight bytes at a time where it can: a varint ends at each byte
    /// with its high bit clear.
    fn skip_varints(&mut self, mut n: u32) -> anyhow::Result<()> {
        while n > 0 {
            match self.data.get(self.at..).and_then(|d| d.first_chunk::<8>()) {
                Some(w) => {
                    let mut ends = !u64::from_le_bytes(*w) & 0x8080_8080_8080_8080;
                    let count = ends.count_ones();
                    if count < n {
                        self.at += 8;
                        n -= count;
                    } else {
                        for _ in 1..n {
                            ends &= ends - 1;
                        }
                        self.at += ends.trailing_zeros() as usize / 8 + 1;
                        n = 0;
                    }
                }
                None => {
                    if self.byte()? & 0x80 == 0 {
                        n -= 1;
                    }
                }
            }
        }
        Ok(())
    }

    #[inline]
    fn varint(&mut self) -> anyhow::Result<i64> {
        // Away from the end, the ten bytes a varint may take are read without a check each.
        if let Some(d) = self.data.get(self.at..).and_then(|d| d.first_chunk::<10>()) {
            let mut z = 0u64;
            for (i, &b) in d.iter().enumerate() {
                z |= u64::from(b & 0x7f) << (7 * i);
                if b & 0x80 == 0 {
                    self.at += i + 1;
                    return Ok(unzigzag(z));
                }
            }
            bail!("packed varint longer than 64 bits")
        }
        let mut z = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            z |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(unzigzag(z));
            }
        }
        bail!("packed varint longer than 64 bits")
    }
}

/// Collects submission rows into packed years. Rows must come grouped by enterprise and year
/// (any order of months within a group); each finished year is handed to `emit`.
pub struct YearPacker<F: FnMut(i32, &str, Vec<u8>) -> anyhow::Result<()>> {
    code: String,
    year: i32,
    months: Vec<(u32, Month)>,
    emit: F,
}

impl<F: FnMut(i32, &str, Vec<u8>) -> anyhow::Result<()>> YearPacker<F> {
    pub fn new(emit: F) -> YearPacker<F> {
        YearPacker {
            code: String::new(),
            year: 0,
            months: Vec::with_capacity(12),
            emit,
        }
    }

    /// Adds one row of the old row table `submission` (`period` as `YYYY-MM`).
    pub fn row(&mut self, code: &str, period: &str, fields: Month) -> anyhow::Result<()> {
        let (year, month) = year_month(period)?;
        if year != self.year || code != self.code {
            self.flush()?;
            self.code.clear();
            self.code.push_str(code);
            self.year = year;
        }
        self.months.push((month, fields));
        Ok(())
    }

    /// Hands over the last year.
    pub fn finish(mut self) -> anyhow::Result<()> {
        self.flush()
    }

    fn flush(&mut self) -> anyhow::Result<()> {
        if self.months.is_empty() {
            return Ok(());
        }
        let pack = encode(&self.months)?;
        self.months.clear();
        (self.emit)(self.year, &self.code, pack)
    }
}

/// The year and month of a stored `YYYY-MM` period.
fn year_month(period: &str) -> anyhow::Result<(i32, u32)> {
    period
        .split_once('-')
        .and_then(|(y, m)| Some((y.parse::<i32>().ok()?, m.parse::<u32>().ok()?)))
        .ok_or_else(|| anyhow::anyhow!("stored period {period:?} is not YYYY-MM"))
}

/// A file's figures for one month: one per figure of [`crate::indicator::FIELDS`].
pub type Figures = [Option<i64>; crate::indicator::N_FIELDS];

/// What merging one month of a file did to its stored year.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Merged {
    /// The month was not stored before.
    New,
    /// A figure the file carries differed; the month as it was before.
    Revised(Box<Month>),
    /// Every figure the file carries equals the stored one.
    Unchanged,
}

/// One enterprise-year being merged with a file's months, by the merge rules: a month not
/// stored before takes the figures the file carries (the others NULL) as revision 1; a stored
/// month is revised when a figure the file carries differs — the file's figures replace those,
/// the others stay, the revision goes up by one — and is otherwise left alone. A written month
/// carries the merge's import run.
pub struct YearMerge {
    months: Vec<(u32, Month)>,
    written: bool,
}

impl YearMerge {
    /// Starts from the year's earlier pack, if it has one.
    pub fn new(old: Option<&[u8]>) -> anyhow::Result<YearMerge> {
        let mut months = Vec::with_capacity(12);
        if let Some(pack) = old {
            decode(pack, |m, f| months.push((m, *f)))?;
        }
        Ok(YearMerge {
            months,
            written: false,
        })
    }

    /// Merges the file's figures for `month`; `present[i]` says whether the file carries
    /// figure `i` (figures it lacks keep their stored values).
    pub fn month(
        &mut self,
        month: u32,
        staged: &Figures,
        present: &[bool; crate::indicator::N_FIELDS],
        run_id: i64,
    ) -> Merged {
        let figures = crate::indicator::N_FIELDS;
        match self.months.iter_mut().find(|(m, _)| *m == month) {
            None => {
                let mut f: Month = [None; N_FIELDS];
                for i in 0..figures {
                    if present[i] {
                        f[i] = staged[i];
                    }
                }
                f[REVISION] = Some(1);
                f[RUN_ID] = Some(run_id);
                self.months.push((month, f));
                self.written = true;
                Merged::New
            }
            Some((_, stored)) if (0..figures).any(|i| present[i] && stored[i] != staged[i]) => {
                let before = *stored;
                for i in 0..figures {
                    if present[i] {
                        stored[i] = staged[i];
                    }
                }
                stored[REVISION] = Some(before[REVISION].unwrap_or(0) + 1);
                stored[RUN_ID] = Some(run_id);
                self.written = true;
                Merged::Revised(Box::new(before))
            }
            Some(_) => Merged::Unchanged,
        }
    }

    /// A month as it stands in the merge (after [`YearMerge::month`] wrote it).
    pub fn stored(&self, month: u32) -> Option<&Month> {
        self.months
            .iter()
            .find(|(m, _)| *m == month)
            .map(|(_, f)| f)
    }

    /// The year's new pack, or `None` when no month was written.
    pub fn finish(self) -> anyhow::Result<Option<Vec<u8>>> {
        if self.written {
            encode(&self.months).map(Some)
        } else {
            Ok(None)
        }
    }
}

/// Appends one month of a file's figures to `buf`, the compact form an import holds its rows
/// in until it merges them: the month, a `u16` with bit `k` set when figure `k` is not NULL,
/// then each such figure as a zigzag varint.
pub fn push_figures(buf: &mut Vec<u8>, month: u32, figures: &Figures) {
    const _: () = assert!(crate::indicator::N_FIELDS <= 16);
    buf.push(month as u8);
    // At most 16 figures (asserted above), so the mask fits 16 bits.
    buf.extend_from_slice(&(not_null(figures) as u16).to_le_bytes());
    for v in figures.iter().flatten() {
        push_varint(buf, *v);
    }
}

/// The bytes [`push_figures`] writes for `figures`.
pub fn figures_len(figures: &Figures) -> usize {
    3 + figures
        .iter()
        .flatten()
        .map(|v| varint_len(*v))
        .sum::<usize>()
}

/// Calls `f` with each month of a buffer written by [`push_figures`], in the order written.
pub fn each_figures(buf: &[u8], mut f: impl FnMut(u32, &Figures)) -> anyhow::Result<()> {
    let mut r = Reader { data: buf, at: 0 };
    while r.at < buf.len() {
        let month = u32::from(r.byte()?);
        let present = r.u16()?;
        let mut figures: Figures = [None; crate::indicator::N_FIELDS];
        for (k, v) in figures.iter_mut().enumerate() {
            if present & (1 << k) != 0 {
                *v = Some(r.varint()?);
            }
        }
        f(month, &figures);
    }
    Ok(())
}

/// Calls `f` with each month of a buffer written by [`push_figures`] and the bytes it took
/// there, in the order written, without decoding its figures; stops at `f`'s first error.
pub fn each_month_bytes(
    buf: &[u8],
    mut f: impl FnMut(u32, &[u8]) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut r = Reader { data: buf, at: 0 };
    while r.at < buf.len() {
        let start = r.at;
        let month = u32::from(r.byte()?);
        let present = r.u16()?;
        r.skip_varints(present.count_ones())?;
        f(month, &buf[start..r.at])?;
    }
    Ok(())
}

/// Bit `k` set when field `k` is not NULL.
fn not_null(fields: &[Option<i64>]) -> u32 {
    fields
        .iter()
        .enumerate()
        .filter(|(_, f)| f.is_some())
        .fold(0, |mask, (k, _)| mask | 1 << k)
}

/// The signed value of a zigzag-encoded one (0, −1, 1, −2, … for 0, 1, 2, 3, …).
fn unzigzag(z: u64) -> i64 {
    ((z >> 1) as i64) ^ -((z & 1) as i64)
}

/// The zigzag form of `v`, which [`unzigzag`] undoes.
fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// The bytes [`push_varint`] writes for `v`: 7 bits of its zigzag form a byte.
fn varint_len(v: i64) -> usize {
    (64 - zigzag(v).leading_zeros() as usize).div_ceil(7).max(1)
}

fn push_varint(out: &mut Vec<u8>, v: i64) {
    let mut z = zigzag(v);
    while z >= 0x80 {
        out.push((z as u8) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_len_is_the_bytes_pushed() {
        let values = [
            0,
            1,
            -1,
            63,
            64,
            -64,
            -65,
            8191,
            8192,
            i64::MAX,
            i64::MIN,
            12_345_678_901,
        ];
        for (i, v) in values.into_iter().enumerate() {
            let mut figures: Figures = [None; crate::indicator::N_FIELDS];
            figures[i % figures.len()] = Some(v);
            figures[(i + 3) % figures.len()] = Some(v / 3);
            let mut buf = Vec::new();
            push_figures(&mut buf, 5, &figures);
            assert_eq!(figures_len(&figures), buf.len(), "{v}");
        }
        assert_eq!(figures_len(&[None; crate::indicator::N_FIELDS]), 3);
    }

    fn decoded(pack: &[u8]) -> Vec<(u32, Month)> {
        let mut got = Vec::new();
        decode(pack, |m, f| got.push((m, *f))).unwrap();
        got
    }

    #[test]
    fn years_round_trip_with_nulls_extremes_and_gaps() {
        let mut a: Month = [None; N_FIELDS];
        a[0] = Some(0);
        a[1] = Some(-1);
        a[3] = Some(i64::MAX);
        a[RUN_ID] = Some(i64::MIN);
        let b: Month = [Some(123_456_789); N_FIELDS];
        let empty: Month = [None; N_FIELDS];
        let months = vec![(12, b), (3, a), (1, empty)];
        let pack = encode(&months).unwrap();
        assert_eq!(decoded(&pack), vec![(1, empty), (3, a), (12, b)]);
        assert_eq!(decoded(&encode(&[]).unwrap()), vec![]);
        // A typical month (every figure of up to nine digits) stays small.
        assert!(encode(&[(5, b)]).unwrap().len() <= 3 + 4 + N_FIELDS * 4);
        assert_eq!(field_name(1), "output_ytd");
        assert_eq!(field_name(RUN_ID), "run_id");
        assert!(columns("c.").starts_with("c.output, c.output_ytd, "));
    }

    #[test]
    fn a_known_year_packs_to_these_exact_bytes() {
        assert_eq!(N_FIELDS, 18, "the field mask needs 32 bits");
        let mut march: Month = [None; N_FIELDS];
        march[0] = Some(5);
        march[1] = Some(-3);
        march[REVISION] = Some(1);
        march[RUN_ID] = Some(300);
        let pack = encode(&[(3, march), (1, [None; N_FIELDS])]).unwrap();
        #[rustfmt::skip]
        let want = [
            0x01, // version
            0x05, 0x00, // months 1 and 3
            0x00, 0x00, 0x00, 0x00, // month 1: no field
            0x03, 0x00, 0x03, 0x00, // month 3: fields 0, 1, 16 and 17 (u32, little-endian)
            0x0a, 0x05, 0x02, 0xd8, 0x04, // 5, −3, 1, 300 as zigzag varints
        ];
        assert_eq!(pack, want);
        assert_eq!(decoded(&pack), vec![(1, [None; N_FIELDS]), (3, march)]);
    }

    #[test]
    fn reading_some_fields_gives_those_of_a_full_read() {
        // Values of one to ten varint bytes, NULLs, and packs long and short, so that both the
        // word-at-a-time and the byte-at-a-time paths of stepping and reading are taken.
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for round in 0..300 {
            let mut months = Vec::new();
            for m in 1..=12u32 {
                if next() % 3 == 0 {
                    continue;
                }
                let mut f: Month = [None; N_FIELDS];
                for v in f.iter_mut() {
                    *v = match next() % 6 {
                        0 => None,
                        1 => Some((next() % 100) as i64 - 50),
                        2 => Some(next() as i64),
                        3 => Some(i64::MIN),
                        _ => Some((next() % 100_000_000) as i64),
                    };
                }
                months.push((m, f));
            }
            let pack = encode(&months).unwrap();
            let full = decoded(&pack);
            let masks = [
                0,
                u32::MAX,
                1,
                1 << RUN_ID,
                0b11 | 1 << 8 | 1 << 9 | 1 << RUN_ID,
            ];
            for (n, &mask) in masks.iter().enumerate() {
                // Every other month asks for nothing in odd rounds.
                let want = |m: u32| {
                    if round % 2 == 1 && m.is_multiple_of(2) {
                        0
                    } else {
                        mask
                    }
                };
                let mut got = Vec::new();
                decode_some(&pack, want, |m, present, v| got.push((m, present, *v))).unwrap();
                let expected: Vec<_> = full
                    .iter()
                    .filter(|(m, _)| want(*m) != 0)
                    .map(|(m, f)| {
                        let mut values = [0i64; N_FIELDS];
                        let mut present = 0u32;
                        for (k, v) in f.iter().enumerate() {
                            if let Some(v) = v.filter(|_| mask & 1 << k != 0) {
                                values[k] = v;
                                present |= 1 << k;
                            }
                        }
                        (*m, present, values)
                    })
                    .collect();
                assert_eq!(got, expected, "round {round}, mask {n}");
            }
        }
    }

    #[test]
    fn bad_months_and_damaged_packs_are_errors() {
        let f: Month = [Some(7); N_FIELDS];
        assert!(encode(&[(0, f)]).is_err());
        assert!(encode(&[(13, f)]).is_err());
        assert!(encode(&[(4, f), (4, f)]).is_err());
        let pack = encode(&[(2, f), (9, f)]).unwrap();
        for cut in 0..pack.len() {
            assert!(decode(&pack[..cut], |_, _| {}).is_err(), "cut at {cut}");
        }
        let mut longer = pack.clone();
        longer.push(0);
        assert!(decode(&longer, |_, _| {}).is_err());
        let mut other = pack;
        other[0] = 2;
        assert!(decode(&other, |_, _| {}).is_err());
    }

    #[test]
    fn the_packer_makes_one_pack_per_enterprise_and_year() {
        let mut packs = Vec::new();
        let mut p = YearPacker::new(|year, code: &str, pack| {
            packs.push((year, code.to_string(), decoded(&pack)));
            Ok(())
        });
        let f = |v: i64| -> Month { [Some(v); N_FIELDS] };
        p.row("A", "2025-12", f(1)).unwrap();
        p.row("A", "2026-02", f(3)).unwrap();
        p.row("A", "2026-01", f(2)).unwrap();
        p.row("B", "2026-01", f(4)).unwrap();
        assert!(p.row("B", "2026-1x", f(4)).is_err());
        p.finish().unwrap();
        assert_eq!(
            packs,
            vec![
                (2025, "A".to_string(), vec![(12, f(1))]),
                (2026, "A".to_string(), vec![(1, f(2)), (2, f(3))]),
                (2026, "B".to_string(), vec![(1, f(4))]),
            ]
        );
    }

    #[test]
    fn a_merge_packs_new_revised_and_untouched_months_by_the_merge_rules() {
        use crate::indicator::N_FIELDS as FIGS;
        let fig = |v: i64| -> Figures {
            let mut f = [None; FIGS];
            f[0] = Some(v);
            f[1] = Some(v * 10);
            f
        };
        let stored = |v: i64, rev: i64| -> Month {
            let mut f = [None; N_FIELDS];
            f[0] = Some(v);
            f[1] = Some(v * 10);
            f[2] = Some(99); // a figure this file does not carry
            f[REVISION] = Some(rev);
            f[RUN_ID] = Some(7);
            f
        };
        let old = encode(&[(1, stored(1, 1)), (2, stored(2, 3))]).unwrap();
        let mut present = [false; FIGS];
        present[0] = true;
        present[1] = true;
        let mut y = YearMerge::new(Some(&old)).unwrap();
        assert_eq!(y.month(1, &fig(1), &present, 8), Merged::Unchanged);
        assert_eq!(
            y.month(2, &fig(20), &present, 8),
            Merged::Revised(Box::new(stored(2, 3)))
        );
        assert_eq!(y.month(3, &fig(3), &present, 8), Merged::New);
        let new = |v: i64| -> Month {
            let mut f = [None; N_FIELDS];
            f[0] = Some(v);
            f[1] = Some(v * 10);
            f[REVISION] = Some(1);
            f[RUN_ID] = Some(8);
            f
        };
        let mut revised = stored(20, 4);
        revised[RUN_ID] = Some(8);
        let pack = y.finish().unwrap().expect("a written year is packed");
        assert_eq!(
            decoded(&pack),
            vec![(1, stored(1, 1)), (2, revised), (3, new(3))]
        );

        // A year not stored before.
        let mut y = YearMerge::new(None).unwrap();
        assert_eq!(y.month(12, &fig(5), &present, 8), Merged::New);
        assert_eq!(decoded(&y.finish().unwrap().unwrap()), vec![(12, new(5))]);

        // A file that changes nothing packs nothing; a NULL where a figure was stored is a
        // change when the file carries the figure, and none when it does not.
        let mut y = YearMerge::new(Some(&old)).unwrap();
        assert_eq!(y.month(1, &fig(1), &present, 9), Merged::Unchanged);
        let mut blank = fig(2);
        blank[2] = None;
        assert_eq!(y.month(2, &blank, &present, 9), Merged::Unchanged);
        assert_eq!(y.finish().unwrap(), None);
        let mut with_third = present;
        with_third[2] = true;
        let mut y = YearMerge::new(Some(&old)).unwrap();
        assert!(matches!(
            y.month(2, &blank, &with_third, 9),
            Merged::Revised(_)
        ));
    }

    #[test]
    fn buffered_figures_come_back_in_the_order_written() {
        use crate::indicator::N_FIELDS as FIGS;
        let mut a: Figures = [None; FIGS];
        a[0] = Some(-5);
        a[FIGS - 1] = Some(i64::MAX);
        let b: Figures = [Some(i64::MIN); FIGS];
        let mut buf = Vec::new();
        push_figures(&mut buf, 7, &a);
        push_figures(&mut buf, 2, &b);
        push_figures(&mut buf, 12, &[None; FIGS]);
        let mut got = Vec::new();
        each_figures(&buf, |m, f| got.push((m, *f))).unwrap();
        assert_eq!(got, vec![(7, a), (2, b), (12, [None; FIGS])]);
        assert!(each_figures(&buf[..buf.len() - 1], |_, _| {}).is_err());
        assert!(each_figures(&buf[..4], |_, _| {}).is_err());
    }
}
