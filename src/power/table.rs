//! Many enterprises' daily electricity in one table of day columns: for each day read, one
//! vector with a figure per enterprise (in the order the table was given, the registry's). The
//! 旬 evaluation reads millions of days (20 an enterprise at 500,000 enterprises): rows come
//! from the store by day, so a column fills in order, with no allocation per enterprise and no
//! regrouping; the rules then read an enterprise's days across the columns at one index.

use std::collections::HashMap;
use std::ops::RangeInclusive;

use chrono::NaiveDate;

use crate::credit_code::CreditCode;

/// One day's metered electricity, ten-thousandths of kWh.
pub type Day = (NaiveDate, i64);

/// A column's mark for an enterprise without a figure that day (no figure is this low).
const NONE: i64 = i64::MIN;

/// Daily electricity by enterprise.
#[derive(Clone, Debug, Default)]
pub struct DailyTable {
    index: HashMap<CreditCode, u32, foldhash::fast::RandomState>,
    codes: Vec<CreditCode>,
    /// By date: each day's figure per enterprise (a column may be shorter than `codes`).
    columns: Vec<(NaiveDate, Vec<i64>)>,
}

/// One enterprise's days in a [`DailyTable`].
#[derive(Clone, Copy)]
pub struct EnterpriseDays<'a> {
    table: &'a DailyTable,
    i: usize,
}

impl DailyTable {
    /// An empty table knowing `codes` (in this order; repeats are ignored).
    pub fn new(codes: impl IntoIterator<Item = CreditCode>) -> DailyTable {
        let mut t = DailyTable::default();
        for c in codes {
            t.enterprise(c);
        }
        t
    }

    /// The index of `code`, added if new.
    pub fn enterprise(&mut self, code: CreditCode) -> u32 {
        let n = self.codes.len() as u32;
        let i = *self.index.entry(code).or_insert(n);
        if i == n {
            self.codes.push(code);
        }
        i
    }

    /// The index of `code`, if known.
    pub fn position(&self, code: &CreditCode) -> Option<u32> {
        self.index.get(code).copied()
    }

    /// The enterprise at index `i`.
    pub fn code(&self, i: u32) -> Option<&CreditCode> {
        self.codes.get(i as usize)
    }

    /// Enterprises known.
    pub fn len(&self) -> usize {
        self.codes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    /// Adds a day's column: figures by enterprise index, [`DailyTable::missing`] where none.
    /// A day given twice keeps the later column's figures where it has them.
    pub fn add_column(&mut self, day: NaiveDate, column: Vec<i64>) {
        match self.columns.binary_search_by_key(&day, |c| c.0) {
            Ok(at) => {
                let old = &mut self.columns[at].1;
                if old.len() < column.len() {
                    old.resize(column.len(), NONE);
                }
                for (o, v) in old.iter_mut().zip(column) {
                    if v != NONE {
                        *o = v;
                    }
                }
            }
            Err(at) => self.columns.insert(at, (day, column)),
        }
    }

    /// The mark of a column's enterprise without a figure.
    pub fn missing() -> i64 {
        NONE
    }

    /// The days of enterprise `code`; none if it is not known.
    pub fn get(&self, code: &CreditCode) -> Option<EnterpriseDays<'_>> {
        self.position(code).map(|i| EnterpriseDays {
            table: self,
            i: i as usize,
        })
    }

    /// The days of `code`, expected at index `i` (the table was made in the order the caller
    /// walks), else looked up.
    pub fn get_at(&self, i: usize, code: &CreditCode) -> Option<EnterpriseDays<'_>> {
        if self.codes.get(i) == Some(code) {
            return Some(EnterpriseDays { table: self, i });
        }
        self.get(code)
    }

    /// Every enterprise known, in order, with its days.
    pub fn iter(&self) -> impl Iterator<Item = (&CreditCode, EnterpriseDays<'_>)> {
        self.codes
            .iter()
            .enumerate()
            .map(|(i, c)| (c, EnterpriseDays { table: self, i }))
    }
}

impl<'a> EnterpriseDays<'a> {
    /// The days with a figure within `span`, by date.
    pub fn within(self, span: &RangeInclusive<NaiveDate>) -> impl Iterator<Item = Day> + 'a {
        let cols = &self.table.columns;
        let from = cols.partition_point(|c| c.0 < *span.start());
        let to = cols.partition_point(|c| c.0 <= *span.end());
        let i = self.i;
        cols.get(from..to)
            .unwrap_or_default()
            .iter()
            .filter_map(move |(d, col)| col.get(i).filter(|v| **v != NONE).map(|v| (*d, *v)))
    }

    /// Every day with a figure, by date.
    pub fn all(self) -> impl Iterator<Item = Day> + 'a {
        self.within(&(NaiveDate::MIN..=NaiveDate::MAX))
    }
}

impl FromIterator<(CreditCode, super::Days)> for DailyTable {
    /// A table of enterprises' day maps (tests and small callers).
    fn from_iter<I: IntoIterator<Item = (CreditCode, super::Days)>>(iter: I) -> DailyTable {
        let mut t = DailyTable::default();
        let mut by_day: std::collections::BTreeMap<NaiveDate, Vec<(u32, i64)>> = Default::default();
        for (code, days) in iter {
            let i = t.enterprise(code);
            for (d, k) in days {
                by_day.entry(d).or_default().push((i, k));
            }
        }
        let n = t.len();
        for (d, figures) in by_day {
            let mut col = vec![NONE; n];
            for (i, k) in figures {
                col[i as usize] = k;
            }
            t.add_column(d, col);
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn code(n: u32) -> CreditCode {
        CreditCode::with_check(&format!("91330781MA2X{n:05}")).unwrap()
    }

    #[test]
    fn columns_are_read_by_enterprise_and_date() {
        let mut t = DailyTable::new([code(1), code(2), code(1)]);
        assert_eq!(t.len(), 2);
        // The later day added first; enterprise 3 met while reading, a short column.
        let three = t.enterprise(code(3));
        let mut col = vec![NONE; 3];
        col[1] = 22;
        col[three as usize] = 32;
        t.add_column(d("2026-10-02"), col);
        t.add_column(d("2025-10-01"), vec![11]);
        t.add_column(d("2026-10-01"), vec![NONE, 21]);
        let days = |t: &DailyTable, n| t.get(&code(n)).unwrap().all().collect::<Vec<_>>();
        assert_eq!(days(&t, 1), [(d("2025-10-01"), 11)]);
        assert_eq!(days(&t, 2), [(d("2026-10-01"), 21), (d("2026-10-02"), 22)]);
        assert_eq!(days(&t, 3), [(d("2026-10-02"), 32)]);
        let oct = d("2026-10-01")..=d("2026-10-31");
        let two: Vec<Day> = t.get(&code(2)).unwrap().within(&oct).collect();
        assert_eq!(two, [(d("2026-10-01"), 21), (d("2026-10-02"), 22)]);
        assert!(t.get(&code(4)).is_none());
        let at = |i, n| t.get_at(i, &code(n)).map(|e| e.all().collect::<Vec<_>>());
        assert_eq!(at(1, 2), Some(days(&t, 2)));
        assert_eq!(at(0, 2), Some(days(&t, 2)));
        assert_eq!(at(9, 4), None);
        let order: Vec<CreditCode> = t.iter().map(|(c, _)| *c).collect();
        assert_eq!(order, [code(1), code(2), code(3)]);
        // A day added again keeps its figures where the new column has none.
        t.add_column(d("2026-10-01"), vec![15]);
        assert_eq!(days(&t, 1), [(d("2025-10-01"), 11), (d("2026-10-01"), 15)]);
        assert_eq!(days(&t, 2)[0], (d("2026-10-01"), 21));
    }
}
