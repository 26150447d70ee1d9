//! Output by industry: each GB/T 4754-2017 大类's year to date against the same enterprises a
//! year earlier (同口径, the enterprises counted in the city's growth), its growth, share of the
//! city's output and pull on the city's growth; the configured groupings the same way; and the
//! enterprises whose code names no industrial division, so that none is dropped silently.

use std::collections::BTreeMap;

use super::classification::{Coded, classification};
use crate::analysis::{Dataset, Growth, WINDOW, formulas};

/// Year-to-date output sums of a set of enterprises, ten-thousandths of 万元.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sums {
    pub ytd: i64,
    pub ytd_prev: i64,
    /// Enterprises counted (complete year to date and base).
    pub enterprises: u32,
}

impl Sums {
    fn add(&mut self, (c, p): (i64, i64)) {
        self.ytd += c;
        self.ytd_prev += p;
        self.enterprises += 1;
    }

    /// Growth of the sums (`ytd / ytd_prev − 1`), none without a positive base.
    pub fn growth(&self) -> Option<Growth> {
        Growth::ratio(self.ytd, self.ytd_prev)
    }

    /// Pull on a total whose base is `total_prev` (拉动, DESIGN.md), in percentage points.
    pub fn pull_on(&self, total_prev: i64) -> Option<f64> {
        (total_prev > 0).then(|| formulas::pull(self.ytd, self.ytd_prev, total_prev))
    }

    /// Share of `total`'s year to date, in percent.
    pub fn share_of(&self, total: i64) -> Option<f64> {
        (total > 0).then(|| self.ytd as f64 / total as f64 * 100.0)
    }
}

/// The sums by industry of one evaluation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ByIndustry {
    /// Every above-scale enterprise counted: the city's sums.
    pub city: Sums,
    /// Per division, parallel to the classification's divisions.
    pub divisions: Vec<Sums>,
    /// Per configured group, parallel to the groups.
    pub groups: Vec<Sums>,
    /// Enterprises counted without a usable code (none, or one naming no industrial division).
    pub unclassified: Sums,
    /// Above-scale enterprises registered with no industry code.
    pub missing: u32,
    /// Above-scale enterprises by the code that names no industrial division, e.g. `5111`.
    pub unknown: BTreeMap<String, u32>,
}

/// Sums the city's counted enterprises by division and by group (`prefixes`: each group's codes
/// as digits; an enterprise is in a group when its code starts with one of them).
pub fn by_industry(ds: &Dataset, prefixes: &[Vec<String>]) -> ByIndustry {
    let class = classification();
    let last = WINDOW - 1;
    let mut out = ByIndustry {
        divisions: vec![Sums::default(); class.divisions.len()],
        groups: vec![Sums::default(); prefixes.len()],
        ..ByIndustry::default()
    };
    for (e, s) in ds.series.iter().enumerate() {
        if !ds.is_above(e) {
            continue;
        }
        let code = ds.enterprises[e].industry_code.as_deref();
        let coded = class.read(code);
        match coded {
            Coded::Missing => out.missing += 1,
            Coded::Unknown => {
                *out.unknown
                    .entry(code.unwrap_or_default().trim().to_string())
                    .or_default() += 1
            }
            Coded::Division(..) => {}
        }
        let Some(both) = s
            .ytd_submitted(&ds.cal, last)
            .zip(s.ytd_prev(&ds.cal, last))
        else {
            continue;
        };
        out.city.add(both);
        let Coded::Division(d, digits) = coded else {
            out.unclassified.add(both);
            continue;
        };
        out.divisions[d].add(both);
        for (g, codes) in prefixes.iter().enumerate() {
            if in_group(digits, codes) {
                out.groups[g].add(both);
            }
        }
    }
    out
}

/// Whether an enterprise's code (digits) falls in a group: it starts with one of the group's
/// codes. A code known only to 大类 (`30`) is not in a group defined by 小类 (`3011`).
pub fn in_group(digits: &str, codes: &[String]) -> bool {
    codes.iter().any(|c| digits.starts_with(c.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn membership_is_by_prefix_of_two_to_four_digits() {
        let group: Vec<String> = ["27", "374", "3562"].map(String::from).to_vec();
        assert!(in_group("2710", &group));
        assert!(in_group("27", &group));
        assert!(in_group("3741", &group));
        assert!(in_group("3562", &group));
        assert!(!in_group("3561", &group));
        assert!(
            !in_group("37", &group),
            "a 大类 code alone is not in a 中类 group"
        );
        assert!(!in_group("356", &group));
        assert!(!in_group("2610", &group));
    }
}
