//! Finds the registry index of each `submission_year` row's enterprise quickly, for the
//! window read ([`super::window`]).

use std::collections::HashMap;

/// Finds the registry index of each submission row's enterprise. A hash lookup per row was a
/// third of the load (at half a million enterprises the table misses the cache on almost every
/// probe), but a year's rows mostly come in the order of the year before: so the previous row's
/// enterprise is tried first, then the enterprise that followed it last time.
pub(super) struct Locator {
    /// Every credit code, in registry order (so that trying a guess reads memory in order).
    codes: Vec<[u8; 18]>,
    index: HashMap<[u8; 18], u32, foldhash::fast::RandomState>,
    /// `next[e]`: the enterprise whose row came after `e`'s row last time (`u32::MAX`: none yet).
    next: Vec<u32>,
    /// The enterprise of the previous row of each of the (at most two) streams read at once.
    last: [Option<u32>; 2],
}

impl Locator {
    pub(super) fn new(enterprises: &[crate::registry::Enterprise]) -> Locator {
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
    pub(super) fn find(&mut self, k: usize, code: &[u8]) -> Option<usize> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
