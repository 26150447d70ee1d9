//! The change since the last period (DESIGN.md, Snapshots: "1—N月 vs 1—(N−1)月, the month's own
//! growth, rank moves"): each unit's figures in the analysed period before P, computed the same
//! way as P's from the window the evaluation already read — the window holds twelve months with
//! their bases, so the period before P needs no read of its own.

use crate::period::Period;
use crate::registry::UnitKind;

use super::units::{shown_growth, sums_at};
use super::{Dataset, Growth, UnitResult, competition_ranks};

/// Every unit's figures in the analysed period before P.
#[derive(Clone, Debug)]
pub struct Previous {
    /// The analysed period before P: the month before, or December of last year for a combined
    /// 1-2月 (and for January when it is analysed on its own).
    pub period: Period,
    /// Whether `period` lies in P's year. Only then is its year to date compared with P's: 1-2月
    /// is the year's first figure and has no 1—(N−1)月 before it.
    pub same_year: bool,
    /// Whether `period`'s month value is 1-2月 together.
    pub combined: bool,
    /// Parallel to the units of the dataset and to [`super::evaluate_units`]' results.
    pub units: Vec<UnitPrevious>,
}

/// One unit in the period before P.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UnitPrevious {
    /// Year-to-date growth as shown then (1—(N−1)月); none when the period is last year's.
    pub growth: Option<Growth>,
    /// The month's own growth (当月增速) of the enterprises' output.
    pub month_growth: Option<Growth>,
    /// Rank by `growth` among units of the same kind; none when `growth` is.
    pub rank: Option<u32>,
}

/// The units' figures in the period before the dataset's, for `results` of
/// [`super::evaluate_units`] (whose indicator each growth is about); none when that period
/// falls outside the window.
pub fn previous(ds: &Dataset, results: &[UnitResult]) -> Option<Previous> {
    let p = ds.period();
    let t = ds.cal.prev_analysed(p);
    let i = ds.cal.index(t).filter(|i| *i >= 12)?;
    let same_year = t.year() == p.year();
    let members = ds.memberships();
    let sums = sums_at(ds, &members, i, true);
    let mut units: Vec<UnitPrevious> = results
        .iter()
        .map(|r| {
            let s = &sums[r.index];
            UnitPrevious {
                growth: same_year
                    .then(|| shown_growth(ds, &r.code, &r.indicator, t, s).0)
                    .flatten(),
                month_growth: Growth::ratio(s.month, s.month_base),
                rank: None,
            }
        })
        .collect();
    let kinds: Vec<UnitKind> = results.iter().map(|r| r.kind).collect();
    let growth: Vec<Option<Growth>> = units.iter().map(|u| u.growth).collect();
    for (u, k) in units.iter_mut().zip(competition_ranks(&kinds, &growth)) {
        u.rank = k;
    }
    Some(Previous {
        period: t,
        same_year,
        combined: ds.cal.is_combined(t),
        units,
    })
}
