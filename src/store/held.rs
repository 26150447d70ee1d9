//! The rows an import holds until it writes them out as a run ([`super::year_runs`]) or
//! merges them: for each enterprise-year the mask of its months and a chain of them in an
//! arena of fixed blocks. Each month is a chunk there: the offset of its year's next month,
//! its file line, the length of its figures and the figures ([`packed::push_figures`] form).
//!
//! One allocation a block, not one an enterprise-year grown by doubling: in a period-major
//! file of 500,000 enterprises `perf` put a third of the holding thread's samples in `malloc`,
//! and a file held whole kept room for months it never had (the README has the figures).

use std::collections::HashMap;

use anyhow::Context;

use super::packed::{self, Figures};
use super::year_runs::{RunYear, YearKey};

/// The held enterprise-years' map. Keyed with foldhash: SipHash cost a tenth of an import's
/// time here.
type YearMap = HashMap<YearKey, HeldYear, foldhash::fast::RandomState>;

/// The end of a chain.
const NONE: u32 = u32::MAX;

/// Bytes of a chunk before its figures: the next chunk's offset, the line, the figures' length.
const HEAD: usize = 4 + 4 + 1;

/// The longest chunk: its head, and a month of at most 16 figures (month, mask, varints of at
/// most ten bytes).
const MAX_CHUNK: usize = HEAD + 3 + 16 * 10;

/// Bytes that sorting the held years takes for each: a run sorts references to their keys and
/// years, a merge their keys (the larger).
const SORT_BYTES: usize = std::mem::size_of::<YearKey>();

/// Bytes the held rows' map allocates for each entry it has room for (its table is at most
/// 7/8 full, and has a control byte a slot).
const SLOT_BYTES: usize = std::mem::size_of::<(YearKey, HeldYear)>() * 8 / 7 + 1;

/// Bytes of the table of a map with room for `capacity` entries. Counted whole, not by the
/// entries in it: a period-major file of 500,000 enterprises holds half a million years at a
/// time, and the table, doubled, took some 40 MiB beyond a count by entries.
pub(super) fn table_bytes(capacity: usize) -> usize {
    capacity.saturating_mul(SLOT_BYTES)
}

/// Blocks are of 2^`shift` bytes, between these: a sixteenth of the buffer.
const MIN_SHIFT: u32 = 12;
const MAX_SHIFT: u32 = 20;

/// An enterprise-year held: the months it has (bit `m − 1` for month `m`) and the offsets of
/// the first and last of its chunks, in the order given.
#[derive(Clone, Copy, Debug)]
pub(super) struct HeldYear {
    mask: u16,
    first: u32,
    last: u32,
}

/// What [`Held::add`] did with a month.
pub(super) enum Added {
    Held,
    /// The month was held already, from this line: the later row is not taken.
    Repeat(u32),
}

/// The held enterprise-years and the arena of their months.
pub(super) struct Held {
    years: YearMap,
    arena: Arena,
}

/// Blocks of 2^`shift` bytes, each allocated whole once; those past `used` are room kept from
/// before [`Held::clear`].
struct Arena {
    blocks: Vec<Vec<u8>>,
    used: usize,
    shift: u32,
}

/// A year with no month held yet.
const EMPTY: HeldYear = HeldYear {
    mask: 0,
    first: NONE,
    last: NONE,
};

impl Held {
    /// Held rows for a buffer of `limit` bytes: blocks of a sixteenth of it, within bounds.
    pub(super) fn new(limit: usize) -> Held {
        let shift = (limit / 16).max(1).ilog2().clamp(MIN_SHIFT, MAX_SHIFT);
        Held {
            years: YearMap::default(),
            arena: Arena {
                blocks: Vec::new(),
                used: 0,
                shift,
            },
        }
    }

    pub(super) fn len(&self) -> usize {
        self.years.len()
    }

    /// Entries the map has room for.
    pub(super) fn capacity(&self) -> usize {
        self.years.capacity()
    }

    pub(super) fn contains_key(&self, key: &YearKey) -> bool {
        self.years.contains_key(key)
    }

    pub(super) fn get(&self, key: &YearKey) -> Option<&HeldYear> {
        self.years.get(key)
    }

    pub(super) fn keys(&self) -> impl Iterator<Item = &YearKey> {
        self.years.keys()
    }

    /// Bytes of the arena's blocks in use (the map's table is counted apart). Blocks kept
    /// from before a [`Held::clear`] are used again first, so those allocated are never more
    /// than the most ever in use.
    pub(super) fn arena_bytes(&self) -> usize {
        self.arena.used << self.arena.shift
    }

    /// Bytes of the held months and of the sort of their years that writing or merging them
    /// takes (the map's table is counted apart).
    pub(super) fn rows_bytes(&self) -> usize {
        self.arena_bytes() + self.len() * SORT_BYTES
    }

    /// Bytes held: the months, the map's table, and the sort of the years held.
    pub(super) fn bytes(&self) -> usize {
        self.rows_bytes() + table_bytes(self.capacity())
    }

    /// Whether the arena's offsets have no room for another block: the rows must be written
    /// out before more are held (only with a buffer near 4 GiB).
    pub(super) fn full(&self) -> bool {
        self.arena.full()
    }

    /// Holds `figures` as month `month` of `key`, from file line `line`, unless that month is
    /// held already.
    pub(super) fn add(
        &mut self,
        key: YearKey,
        month: u32,
        line: u32,
        figures: &Figures,
    ) -> anyhow::Result<Added> {
        let bit = 1u16 << (month - 1);
        let year = self.years.entry(key).or_insert(EMPTY);
        if year.mask & bit != 0 {
            return Ok(Added::Repeat(self.arena.line(year, month)?));
        }
        let at = self
            .arena
            .push(line, |b| packed::push_figures(b, month, figures))?;
        *year = self.arena.chained(*year, bit, at)?;
        Ok(Added::Held)
    }

    /// Holds a whole year read back from the runs, not held before.
    pub(super) fn add_year(&mut self, key: YearKey, from: &RunYear) -> anyhow::Result<()> {
        let mut year = EMPTY;
        let arena = &mut self.arena;
        packed::each_month_bytes(&from.rows, |month, bytes| {
            let line = from
                .lines
                .get((month as usize).wrapping_sub(1))
                .with_context(|| format!("run month {month} out of range"))?;
            let at = arena.push(*line, |b| b.extend_from_slice(bytes))?;
            year = arena.chained(year, 1 << (month - 1), at)?;
            Ok(())
        })?;
        self.years.insert(key, year);
        Ok(())
    }

    /// Calls `f` with each held month of `year`: month, line and figures, in the order given.
    pub(super) fn each_month(
        &self,
        year: &HeldYear,
        mut f: impl FnMut(u32, u32, &Figures),
    ) -> anyhow::Result<()> {
        let mut at = year.first;
        while at != NONE {
            let (next, line, bytes) = self.arena.chunk(at)?;
            packed::each_figures(bytes, |month, figures| f(month, line, figures))?;
            at = next;
        }
        Ok(())
    }

    /// `year`'s months as a run writes them: their lines, and their figures one after another.
    pub(super) fn gather(&self, year: &HeldYear, into: &mut RunYear) -> anyhow::Result<()> {
        into.lines = [0; 12];
        into.rows.clear();
        let mut at = year.first;
        while at != NONE {
            let (next, line, bytes) = self.arena.chunk(at)?;
            let month = *bytes.first().context("held month without figures")?;
            *into
                .lines
                .get_mut(usize::from(month).wrapping_sub(1))
                .context("held month out of range")? = line;
            into.rows.extend_from_slice(bytes);
            at = next;
        }
        Ok(())
    }

    /// The held years in key order, for a run.
    pub(super) fn sorted(&self) -> Vec<(&YearKey, &HeldYear)> {
        let mut held: Vec<_> = self.years.iter().collect();
        held.sort_unstable_by_key(|(k, _)| k.order());
        held
    }

    /// Lets every held row go, keeping the map's and the arena's room.
    pub(super) fn clear(&mut self) {
        self.years.clear();
        for b in &mut self.arena.blocks {
            b.clear();
        }
        self.arena.used = 0;
    }
}

impl Arena {
    fn full(&self) -> bool {
        (self.used + 1) << self.shift >= NONE as usize
    }

    /// The line of held month `month` of `year`.
    fn line(&self, year: &HeldYear, month: u32) -> anyhow::Result<u32> {
        let mut at = year.first;
        while at != NONE {
            let (next, line, bytes) = self.chunk(at)?;
            if bytes.first().map(|&m| u32::from(m)) == Some(month) {
                return Ok(line);
            }
            at = next;
        }
        anyhow::bail!("held month {month} not found in its chain")
    }

    /// `year` with the chunk at `at` chained last, as month bit `bit`.
    fn chained(&mut self, mut year: HeldYear, bit: u16, at: u32) -> anyhow::Result<HeldYear> {
        if year.last == NONE {
            year.first = at;
        } else {
            let (b, i) = self.place(year.last);
            self.blocks
                .get_mut(b)
                .and_then(|b| b.get_mut(i..i + 4))
                .context("held chunk out of its block")?
                .copy_from_slice(&at.to_le_bytes());
        }
        year.last = at;
        year.mask |= bit;
        Ok(year)
    }

    /// Writes a chunk of line `line` and the figures `write` puts; returns its offset.
    fn push(&mut self, line: u32, write: impl FnOnce(&mut Vec<u8>)) -> anyhow::Result<u32> {
        let size = 1usize << self.shift;
        if self.used == 0 || size - self.blocks[self.used - 1].len() < MAX_CHUNK {
            if self.full() {
                anyhow::bail!("held rows past the arena's offsets");
            }
            if self.used == self.blocks.len() {
                self.blocks.push(Vec::with_capacity(size));
            }
            self.used += 1;
        }
        let index = self.used - 1;
        let block = &mut self.blocks[index];
        let start = block.len();
        block.extend_from_slice(&NONE.to_le_bytes());
        block.extend_from_slice(&line.to_le_bytes());
        block.push(0);
        write(block);
        let len = block.len() - start - HEAD;
        block[start + HEAD - 1] = u8::try_from(len).context("held month longer than a chunk")?;
        Ok(u32::try_from(index << self.shift | start)?)
    }

    /// The next chunk's offset, the line and the figures of the chunk at `at`.
    fn chunk(&self, at: u32) -> anyhow::Result<(u32, u32, &[u8])> {
        let (b, i) = self.place(at);
        let block = self.blocks.get(b).context("held chunk past the arena")?;
        let head = block
            .get(i..i + HEAD)
            .context("held chunk past its block")?;
        let word = |k: usize| u32::from_le_bytes([head[k], head[k + 1], head[k + 2], head[k + 3]]);
        let len = usize::from(head[HEAD - 1]);
        let bytes = block
            .get(i + HEAD..i + HEAD + len)
            .context("held figures past their block")?;
        Ok((word(0), word(4), bytes))
    }

    /// The block and the place in it of offset `at`.
    fn place(&self, at: u32) -> (usize, usize) {
        let at = at as usize;
        (at >> self.shift, at & ((1 << self.shift) - 1))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn figures(value: i64, k: usize) -> Figures {
        let mut f: Figures = [None; crate::indicator::N_FIELDS];
        f[k % f.len()] = Some(value);
        f[(k + 5) % f.len()] = Some(value / 7);
        f
    }

    /// Each held month of each year, read back through the chains: (month, line, figures).
    fn held_months(held: &Held) -> BTreeMap<(YearKey, u32), (u32, Figures)> {
        let mut out = BTreeMap::new();
        for (k, y) in held.sorted() {
            held.each_month(y, |m, line, f| {
                assert!(out.insert((*k, m), (line, *f)).is_none(), "{m} twice");
            })
            .unwrap();
        }
        out
    }

    proptest::proptest! {
        /// However the months of the years come, and across how many blocks (the smallest
        /// here), each year gives back each month once, with the line and the figures it was
        /// first given; a month given again is a repeat naming that first line.
        #[test]
        fn held_months_come_back_as_first_given(
            rows in proptest::collection::vec(
                (b'A'..b'H', 2024i32..2027, 1u32..13, proptest::num::i64::ANY, 0usize..16),
                0..600,
            ),
        ) {
            let mut held = Held::new(1);
            let mut expected = BTreeMap::new();
            for (line, &(c, y, month, value, k)) in rows.iter().enumerate() {
                let line = line as u32 + 2;
                let f = figures(value, k);
                match held.add(YearKey::of(c, y), month, line, &f).unwrap() {
                    Added::Held => {
                        proptest::prop_assert!(expected.insert((YearKey::of(c, y), month), (line, f)).is_none());
                    }
                    Added::Repeat(first) => {
                        proptest::prop_assert_eq!(Some(first), expected.get(&(YearKey::of(c, y), month)).map(|e| e.0));
                    }
                }
            }
            proptest::prop_assert_eq!(held_months(&held), expected.clone());
            // Gathered for a run and held again from it, as the merge of the runs holds
            // them, the years are the same.
            let mut again = Held::new(1);
            let mut year = RunYear::default();
            for (k, y) in held.sorted() {
                held.gather(y, &mut year).unwrap();
                again.add_year(*k, &year).unwrap();
            }
            proptest::prop_assert_eq!(held_months(&again), expected);
        }
    }

    #[test]
    fn held_years_come_sorted_by_code_then_year() {
        let mut held = Held::new(1 << 20);
        for (c, y) in [
            (b'B', 2025),
            (b'A', 2026),
            (b'B', -1),
            (b'A', 2024),
            (b'\xff', 0),
        ] {
            held.add(YearKey::of(c, y), 1, 2, &figures(1, 0)).unwrap();
        }
        let order: Vec<YearKey> = held.sorted().into_iter().map(|(k, _)| *k).collect();
        let mut expected: Vec<YearKey> = held.keys().copied().collect();
        expected.sort_unstable();
        assert_eq!(order, expected);
        assert_eq!(order[0], YearKey::of(b'A', 2024));
        assert_eq!(order[2], YearKey::of(b'B', -1));
    }

    /// Blocks are allocated once: rows held again after a clear go into the room of those
    /// before, and the bytes counted are those of the blocks in use.
    #[test]
    fn a_clear_keeps_the_blocks_for_the_next_rows() {
        let mut held = Held::new(1 << 16);
        let fill = |held: &mut Held| {
            for i in 0..2_000u32 {
                let code = [b'A' + (i % 26) as u8; 18];
                let y = 2000 + (i / 26) as i32;
                held.add(
                    YearKey { code, year: y },
                    i % 12 + 1,
                    i + 2,
                    &figures(i.into(), 3),
                )
                .unwrap();
            }
        };
        fill(&mut held);
        let bytes = held.arena_bytes();
        assert!(bytes >= 2_000 * HEAD, "{bytes} bytes for 2,000 months");
        assert_eq!(bytes % (1 << 12), 0);
        let blocks = held.arena.blocks.len();
        assert_eq!(blocks << 12, bytes);
        held.clear();
        assert_eq!((held.len(), held.arena_bytes()), (0, 0));
        fill(&mut held);
        assert_eq!(held.arena_bytes(), bytes);
        assert_eq!(held.arena.blocks.len(), blocks);
        assert_eq!(held_months(&held).len(), 2_000);
    }
}
