//! The held enterprise-years of an import larger than its buffer, written out in key order to
//! temporary files ("runs") whenever the buffer fills, and merged back in key order when the
//! file ends: an external merge sort. Each enterprise-year then reaches the database once and
//! whole, in the order of the tables' keys, however the file is ordered (a period-major file
//! of 500,000 enterprises holds every enterprise in every run); the database is never written
//! in several passes over its whole key range.
//!
//! A month given twice in two runs is found where the runs are merged: the earlier line (runs
//! are in file order) stands, and the later is returned as a [`Repeat`].

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufReader, BufWriter, ErrorKind, Read, Seek, Write};

use super::held::Held;
use super::packed::{self, Figures};

/// An enterprise's credit code, as its 18 ASCII characters.
pub(super) type Code = [u8; 18];

/// One enterprise-year, ordered by enterprise, then year: a merge in that order writes the rows
/// of `submission` in the order of its key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) struct YearKey {
    pub(super) code: Code,
    pub(super) year: i32,
}

impl YearKey {
    /// A key whose credit code is `c` eighteen times, for tests.
    #[cfg(test)]
    pub(super) fn of(c: u8, year: i32) -> YearKey {
        YearKey {
            code: [c; 18],
            year,
        }
    }

    pub(super) fn code(&self) -> anyhow::Result<&str> {
        Ok(std::str::from_utf8(&self.code)?)
    }

    /// The key as three integers that order as the key does (code, then year): a sort on them
    /// compares words, not bytes through a pointer.
    pub(super) fn order(&self) -> [u64; 3] {
        let c = &self.code;
        let word = |i: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&c[i..i + 8]);
            u64::from_be_bytes(w)
        };
        // The year's sign bit flipped, so that its order as unsigned is its order as signed.
        let year = u64::from(self.year.cast_unsigned() ^ 1 << 31);
        let tail = u64::from(u16::from_be_bytes([c[16], c[17]]));
        [word(0), word(8), tail << 32 | year]
    }
}

/// One enterprise-year as a run holds it: the file's rows of it not merged yet.
#[derive(Default)]
pub(super) struct RunYear {
    /// The file line of each month (index `month − 1`), 0 when the file has none.
    pub(super) lines: [u32; 12],
    /// Months not merged yet, in [`packed::push_figures`] form.
    pub(super) rows: Vec<u8>,
}

impl RunYear {
    /// Bit `m − 1` for each month `m` the file has.
    fn mask(&self) -> u16 {
        (0..12)
            .filter(|&i| self.lines[i] != 0)
            .fold(0, |mask, i| mask | 1 << i)
    }

    /// Adds the months of `later` (from later in the file). A month both have keeps this one's
    /// figures; the later line is returned in `repeats`.
    fn absorb(
        &mut self,
        key: YearKey,
        later: &RunYear,
        repeats: &mut Vec<Repeat>,
    ) -> anyhow::Result<()> {
        let both = self.mask() & later.mask();
        if both == 0 {
            self.rows.extend_from_slice(&later.rows);
        } else {
            let mut kept = Vec::with_capacity(later.rows.len());
            packed::each_figures(&later.rows, |month, figures: &Figures| {
                if both & 1 << (month - 1) == 0 {
                    packed::push_figures(&mut kept, month, figures);
                }
            })?;
            self.rows.extend_from_slice(&kept);
        }
        for (i, &line) in later.lines.iter().enumerate() {
            if line == 0 {
                continue;
            }
            if self.lines[i] == 0 {
                self.lines[i] = line;
            } else {
                repeats.push(Repeat {
                    key,
                    month: i as u32 + 1,
                    line,
                    first: self.lines[i],
                });
            }
        }
        Ok(())
    }
}

/// A month given a second time: its enterprise-year and month, the later line and the first.
pub(super) struct Repeat {
    pub(super) key: YearKey,
    pub(super) month: u32,
    pub(super) line: u32,
    pub(super) first: u32,
}

/// Runs kept before they are merged into one, so that open files stay few (500,000
/// enterprises × 25 months, period-major, made 108 runs, most of half a buffer).
const MAX_RUNS: usize = 128;

/// Bytes buffered for each run's file, written or read.
const RUN_BUFFER: usize = 1 << 16;

/// The runs written so far, in file order.
#[derive(Default)]
pub(super) struct Runs {
    files: Vec<File>,
}

impl Runs {
    pub(super) fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Writes the `held` years, in key order, as the next run. Past [`MAX_RUNS`] the runs are
    /// merged into one first; months repeated between them go to `repeats`.
    pub(super) fn write(&mut self, held: &Held, repeats: &mut Vec<Repeat>) -> anyhow::Result<()> {
        if self.files.len() >= MAX_RUNS {
            let merged = std::mem::take(self).merge()?;
            self.files.push(merged.into_run(repeats)?);
        }
        let mut out = BufWriter::with_capacity(RUN_BUFFER, tempfile::tempfile()?);
        let mut year = RunYear::default();
        for (key, held_year) in held.sorted() {
            held.gather(held_year, &mut year)?;
            write_year(&mut out, key, &year)?;
        }
        self.files.push(finish(out)?);
        Ok(())
    }

    /// The runs merged: every enterprise-year once, in key order.
    pub(super) fn merge(self) -> anyhow::Result<Merged> {
        let mut merged = Merged {
            readers: Vec::with_capacity(self.files.len()),
            heads: Vec::with_capacity(self.files.len()),
            heap: BinaryHeap::new(),
            spare: Vec::new(),
        };
        for (i, mut file) in self.files.into_iter().enumerate() {
            file.rewind()?;
            let mut reader = BufReader::with_capacity(RUN_BUFFER, file);
            let head = read_year(&mut reader, Vec::new())?;
            if let Some((key, _)) = &head {
                merged.heap.push(Reverse((key.order(), i)));
            }
            merged.readers.push(reader);
            merged.heads.push(head);
        }
        Ok(merged)
    }
}

/// The runs being merged: each run's next enterprise-year, and a heap of their keys (the
/// earlier run first among equal keys), in their integer order ([`YearKey::order`]).
pub(super) struct Merged {
    readers: Vec<BufReader<File>>,
    heads: Vec<Option<(YearKey, RunYear)>>,
    heap: BinaryHeap<Reverse<([u64; 3], usize)>>,
    /// The rows' room of years absorbed into another, for the next years read: a year held in
    /// many runs (a period-major file's) would otherwise cost an allocation for each.
    spare: Vec<Vec<u8>>,
}

impl Merged {
    /// The next enterprise-year, with the months of every run that has it; months repeated
    /// between runs go to `repeats`.
    pub(super) fn next(
        &mut self,
        repeats: &mut Vec<Repeat>,
    ) -> anyhow::Result<Option<(YearKey, RunYear)>> {
        let Some(Reverse((order, run))) = self.heap.pop() else {
            return Ok(None);
        };
        let (key, mut year) = self.advance(run)?;
        while let Some(Reverse((next, later))) = self.heap.peek().copied()
            && next == order
        {
            self.heap.pop();
            let (_, mut more) = self.advance(later)?;
            year.absorb(key, &more, repeats)?;
            more.rows.clear();
            self.spare.push(more.rows);
        }
        Ok(Some((key, year)))
    }

    /// Gives back the room of a year [`Merged::next`] returned, for the years read next.
    pub(super) fn recycle(&mut self, mut year: RunYear) {
        year.rows.clear();
        self.spare.push(year.rows);
    }

    /// Takes run `run`'s head and reads its next.
    fn advance(&mut self, run: usize) -> anyhow::Result<(YearKey, RunYear)> {
        let room = self.spare.pop().unwrap_or_default();
        let next = read_year(&mut self.readers[run], room)?;
        if let Some((key, _)) = &next {
            self.heap.push(Reverse((key.order(), run)));
        }
        let head = std::mem::replace(&mut self.heads[run], next);
        head.ok_or_else(|| anyhow::anyhow!("run {run} ended early"))
    }

    /// Writes the merge out as one run.
    fn into_run(mut self, repeats: &mut Vec<Repeat>) -> anyhow::Result<File> {
        let mut out = BufWriter::with_capacity(RUN_BUFFER, tempfile::tempfile()?);
        while let Some((key, year)) = self.next(repeats)? {
            write_year(&mut out, &key, &year)?;
        }
        finish(out)
    }
}

fn finish(out: BufWriter<File>) -> anyhow::Result<File> {
    out.into_inner()
        .map_err(|e| anyhow::Error::new(e.into_error()))
}

/// An enterprise-year in a run: code, year, the mask of its months, their lines, the length of
/// its rows and the rows.
fn write_year(out: &mut impl Write, key: &YearKey, year: &RunYear) -> anyhow::Result<()> {
    // The head gathered first: one write of it rather than one a field.
    let mut head = [0u8; 18 + 4 + 2 + 12 * 4 + 4];
    let mut at = 0;
    let mut put = |bytes: &[u8]| {
        head[at..at + bytes.len()].copy_from_slice(bytes);
        at += bytes.len();
    };
    put(&key.code);
    put(&key.year.to_le_bytes());
    put(&year.mask().to_le_bytes());
    for line in year.lines.iter().filter(|l| **l != 0) {
        put(&line.to_le_bytes());
    }
    put(&u32::try_from(year.rows.len())?.to_le_bytes());
    out.write_all(&head[..at])?;
    out.write_all(&year.rows)?;
    Ok(())
}

/// The next enterprise-year of a run, or `None` at its end; its rows are read into `room`.
fn read_year(r: &mut impl Read, room: Vec<u8>) -> anyhow::Result<Option<(YearKey, RunYear)>> {
    let mut code = [0u8; 18];
    match r.read_exact(&mut code) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let mut word = [0u8; 4];
    r.read_exact(&mut word)?;
    let key = YearKey {
        code,
        year: i32::from_le_bytes(word),
    };
    let mut mask = [0u8; 2];
    r.read_exact(&mut mask)?;
    let mask = u16::from_le_bytes(mask);
    let mut year = RunYear {
        rows: room,
        ..RunYear::default()
    };
    for (i, line) in year.lines.iter_mut().enumerate() {
        if mask & 1 << i != 0 {
            r.read_exact(&mut word)?;
            *line = u32::from_le_bytes(word);
        }
    }
    r.read_exact(&mut word)?;
    year.rows.resize(u32::from_le_bytes(word) as usize, 0);
    r.read_exact(&mut year.rows)?;
    Ok(Some((key, year)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn year(months: &[(u32, u32, i64)]) -> RunYear {
        let mut y = RunYear::default();
        for &(month, line, output) in months {
            y.lines[month as usize - 1] = line;
            let mut figures: Figures = [None; crate::indicator::N_FIELDS];
            figures[0] = Some(output);
            packed::push_figures(&mut y.rows, month, &figures);
        }
        y
    }

    fn months(y: &RunYear) -> Vec<(u32, Option<i64>)> {
        let mut out = Vec::new();
        packed::each_figures(&y.rows, |m, f| out.push((m, f[0]))).unwrap();
        out.sort_unstable();
        out
    }

    fn write_run(runs: &mut Runs, years: Vec<(YearKey, RunYear)>, repeats: &mut Vec<Repeat>) {
        let mut held = Held::new(1 << 20);
        for (k, y) in &years {
            held.add_year(*k, y).unwrap();
        }
        runs.write(&held, repeats).unwrap();
    }

    proptest::proptest! {
        /// The integer order of keys is their order: by code byte by byte, then by year.
        #[test]
        fn the_integer_order_of_keys_is_their_order(
            a in proptest::array::uniform18(proptest::num::u8::ANY),
            b in proptest::array::uniform18(proptest::num::u8::ANY),
            ya in proptest::num::i32::ANY,
            yb in proptest::num::i32::ANY,
            same_code in proptest::bool::ANY,
        ) {
            let x = YearKey { code: a, year: ya };
            let y = YearKey { code: if same_code { a } else { b }, year: yb };
            proptest::prop_assert_eq!(x.order().cmp(&y.order()), x.cmp(&y));
        }
    }

    /// Runs of `(code, month, figure)` rows, each run's rows held as an import holds them (a
    /// month repeated within a run is left out), written in key order.
    fn runs_of(rows: &[Vec<(u8, u32, i64)>]) -> Runs {
        let mut runs = Runs::default();
        let mut line = 1;
        for run in rows {
            let mut held = Held::new(1 << 20);
            for &(c, month, value) in run {
                line += 1;
                let mut figures: Figures = [None; crate::indicator::N_FIELDS];
                figures[0] = Some(value);
                held.add(YearKey::of(c, 2026), month, line, &figures)
                    .unwrap();
            }
            runs.write(&held, &mut Vec::new()).unwrap();
        }
        runs
    }

    proptest::proptest! {
        /// However many runs hold a year, and however long each share of it, the merge gives
        /// each month the figure of its first run: the rows read into the room of a year
        /// merged before keep nothing of it.
        #[test]
        fn a_merge_gives_each_month_its_first_figure(
            rows in proptest::collection::vec(
                proptest::collection::vec((b'A'..b'E', 1u32..13, proptest::num::i64::ANY), 0..30),
                1..6,
            ),
        ) {
            let mut expected = std::collections::BTreeMap::<(YearKey, u32), i64>::new();
            for run in &rows {
                for &(c, month, value) in run {
                    expected.entry((YearKey::of(c, 2026), month)).or_insert(value);
                }
            }
            let mut merged = runs_of(&rows).merge().unwrap();
            let mut got = std::collections::BTreeMap::new();
            let mut repeats = Vec::new();
            while let Some((k, y)) = merged.next(&mut repeats).unwrap() {
                for (month, value) in months(&y) {
                    proptest::prop_assert!(got.insert((k, month), value.unwrap()).is_none());
                }
            }
            proptest::prop_assert_eq!(got, expected);
        }
    }

    #[test]
    fn runs_merge_in_key_order_and_keep_the_first_of_a_repeated_month() {
        let mut runs = Runs::default();
        let mut repeats = Vec::new();
        write_run(
            &mut runs,
            vec![
                (YearKey::of(b'A', 2025), year(&[(1, 2, 10)])),
                (YearKey::of(b'B', 2025), year(&[(1, 3, 20)])),
            ],
            &mut repeats,
        );
        write_run(
            &mut runs,
            vec![
                (YearKey::of(b'A', 2024), year(&[(12, 4, 5)])),
                (YearKey::of(b'A', 2025), year(&[(2, 5, 11), (1, 6, 99)])),
            ],
            &mut repeats,
        );
        let mut merged = runs.merge().unwrap();
        let mut out = Vec::new();
        while let Some((k, y)) = merged.next(&mut repeats).unwrap() {
            out.push((k, y.lines, months(&y)));
        }
        let mut lines_a = [0; 12];
        (lines_a[0], lines_a[1]) = (2, 5);
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].0, YearKey::of(b'A', 2024));
        assert_eq!((out[1].0, out[1].1), (YearKey::of(b'A', 2025), lines_a));
        assert_eq!(out[1].2, vec![(1, Some(10)), (2, Some(11))]);
        assert_eq!(out[2].0, YearKey::of(b'B', 2025));
        let r: Vec<_> = repeats
            .iter()
            .map(|r| (r.key, r.month, r.line, r.first))
            .collect();
        assert_eq!(r, vec![(YearKey::of(b'A', 2025), 1, 6, 2)]);
    }

    /// A run has no name in the file system from the start: an import killed mid-way leaves
    /// no file behind.
    #[cfg(target_os = "linux")]
    #[test]
    fn runs_are_unlinked_files() {
        use std::os::fd::AsRawFd;
        let mut runs = Runs::default();
        write_run(
            &mut runs,
            vec![(YearKey::of(b'D', 2026), year(&[(1, 2, 1)]))],
            &mut Vec::new(),
        );
        for file in &runs.files {
            let link = std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())).unwrap();
            assert!(
                link.to_string_lossy().ends_with("(deleted)"),
                "{}",
                link.display()
            );
        }
    }

    #[test]
    fn past_the_run_limit_runs_are_merged_into_one() {
        let mut runs = Runs::default();
        let mut repeats = Vec::new();
        for i in 0..MAX_RUNS as u32 + 3 {
            let month = i % 12 + 1;
            let line = i + 2;
            write_run(
                &mut runs,
                vec![(YearKey::of(b'C', 2026), year(&[(month, line, i.into())]))],
                &mut repeats,
            );
        }
        assert!(runs.files.len() < MAX_RUNS);
        let mut merged = runs.merge().unwrap();
        let (_, y) = merged.next(&mut repeats).unwrap().unwrap();
        assert!(merged.next(&mut repeats).unwrap().is_none());
        // Twelve months, each the first given; every later one a repeat of it.
        assert_eq!(
            months(&y),
            (1..=12)
                .map(|m| (m, Some(i64::from(m) - 1)))
                .collect::<Vec<_>>()
        );
        assert_eq!(repeats.len(), MAX_RUNS + 3 - 12);
        assert!(
            repeats
                .iter()
                .all(|r| r.first == r.month + 1 && r.line > r.first)
        );
    }
}
