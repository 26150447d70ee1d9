//! The enterprise-months an import has seen, so that a second row for one is caught wherever in
//! the file it stands, however many early merges lie between the two.
//!
//! One `u64` an enterprise holds the months of five calendar years from the first year it was
//! seen in; a file reaching further keeps the other years in a second map, a `u16` an
//! enterprise-year. A 500,000-enterprise file of any number of months within five years costs
//! some 30 MB, where one entry an enterprise-year with its line numbers cost 300.

use std::collections::HashMap;

/// An enterprise's credit code, as its 18 ASCII characters.
pub(super) type Code = [u8; 18];

/// Years covered by an enterprise's first word.
const YEARS: i32 = 5;

type Hasher = foldhash::fast::RandomState;

#[derive(Default)]
pub(super) struct Seen {
    /// By enterprise: the first year seen, and bit `12 × (year − first) + month − 1` of each
    /// month seen in the five years from it.
    first: HashMap<Code, (i32, u64), Hasher>,
    /// Months of other years: bit `month − 1`.
    rest: HashMap<(Code, i32), u16, Hasher>,
}

impl Seen {
    /// Records `month` (1–12) of `year` for `code`; false when it was recorded before.
    pub(super) fn insert(&mut self, code: &Code, year: i32, month: u32) -> bool {
        let (base, bits) = self.first.entry(*code).or_insert((year, 0));
        let offset = year - *base;
        if (0..YEARS).contains(&offset) {
            let bit = 1u64 << (offset as u32 * 12 + month - 1);
            let new = *bits & bit == 0;
            *bits |= bit;
            return new;
        }
        let mask = self.rest.entry((*code, year)).or_default();
        let bit = 1u16 << (month - 1);
        let new = *mask & bit == 0;
        *mask |= bit;
        new
    }

    /// Every enterprise seen, in credit-code order.
    pub(super) fn codes(&self) -> Vec<Code> {
        let mut codes: Vec<Code> = self.first.keys().copied().collect();
        codes.sort_unstable();
        codes
    }

    /// Whether any month of `year` was seen for `code`.
    pub(super) fn has_year(&self, code: &Code, year: i32) -> bool {
        let Some((base, bits)) = self.first.get(code) else {
            return false;
        };
        let offset = year - base;
        if (0..YEARS).contains(&offset) {
            return (bits >> (offset as u32 * 12)) & 0xfff != 0;
        }
        self.rest.contains_key(&(*code, year))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Code = *b"91330700MA2A000001";
    const B: Code = *b"91330700MA2A000002";

    #[test]
    fn a_month_is_new_once_in_any_year() {
        let mut seen = Seen::default();
        assert!(seen.insert(&A, 2024, 10));
        assert!(seen.insert(&A, 2026, 10));
        assert!(seen.insert(&B, 2026, 10));
        assert!(!seen.insert(&A, 2024, 10));
        assert!(!seen.insert(&A, 2026, 10));
        // Before the first year and five years after it: the second map.
        assert!(seen.insert(&A, 2023, 12));
        assert!(seen.insert(&A, 2029, 1));
        assert!(!seen.insert(&A, 2023, 12));
        assert!(!seen.insert(&A, 2029, 1));
        assert!(seen.insert(&A, 2028, 12));
        assert!(!seen.insert(&A, 2028, 12));
    }

    #[test]
    fn years_and_codes_seen() {
        let mut seen = Seen::default();
        seen.insert(&B, 2025, 1);
        seen.insert(&A, 2025, 12);
        seen.insert(&A, 2031, 3);
        assert_eq!(seen.codes(), vec![A, B]);
        assert!(seen.has_year(&A, 2025));
        assert!(seen.has_year(&A, 2031));
        assert!(!seen.has_year(&A, 2026));
        assert!(!seen.has_year(&B, 2024));
        assert!(!seen.has_year(b"91330700MA2A000003", 2025));
    }
}
