//! The distributions an enterprise is drawn from: its size, its bad spell this year, and the
//! roles planted for the demo's story.

use super::rng::Rng;

/// A bad spell this year: from month `first` to `last` the enterprise produces at `factor` of
/// its normal output (0 = stopped).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Episode {
    pub first: u32,
    pub last: u32,
    pub factor: f64,
}

/// What an enterprise was made to illustrate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Ordinary,
    /// Stalled for planned maintenance (停产检修) in the last two months; to be silenced.
    Maintenance,
    /// Output up, electricity down in the last month (产值电量背离).
    Divergence,
    /// Its last-month row is first sent wrong, then revised.
    Revision,
}

/// Where the planted enterprises sit among `n` above-scale ones (ranked by size).
pub fn role_of(index: u64, n: u64) -> Role {
    if n < 40 {
        return Role::Ordinary;
    }
    match index {
        2 => Role::Maintenance,
        i if i == n / 5 => Role::Divergence,
        i if i == n / 10 => Role::Revision,
        _ => Role::Ordinary,
    }
}

/// Last year's output of the enterprise at size rank `u` in (0, 1): a floor at the 2000 万元
/// threshold, a broad body and a Pareto tail of index 2, shaped so that the largest 13% (100
/// of 765) make about 30% of output. Only `sqrt` is used, for reproducible bits.
pub fn size_at(u: f64) -> f64 {
    let body = 1.0 - u;
    2_400.0 + 8_000.0 * body * body + 1_100.0 * (1.0 / u.sqrt() - 1.0)
}

/// With probability `risk` (about 0.45 for above-scale enterprises, more for small ones) an
/// enterprise has a bad spell this year: a quarter of those stop (停产), a quarter half stop
/// (半停产), half cut back (减产); some spells are over by the last month (recovering), some
/// have lasted many months. Five draws are always made, to keep the stream aligned.
pub fn draw_episode(r: &mut Rng, last_month: u32, risk: f64, role: Role) -> Option<Episode> {
    let (happens, kind, start, len, depth) = (r.unit(), r.below(4), r.unit(), r.below(8), r.unit());
    if role == Role::Maintenance {
        return Some(Episode {
            first: last_month.saturating_sub(1).max(1),
            last: last_month,
            factor: 0.0,
        });
    }
    if role != Role::Ordinary || happens >= risk {
        return None;
    }
    let earliest = 3.min(last_month);
    let first = earliest + (start * f64::from(last_month - earliest + 1)) as u32;
    let factor = match kind {
        0 => 0.0,
        1 => 0.15 + 0.3 * depth,
        _ => 0.55 + 0.3 * depth,
    };
    Some(Episode {
        first: first.min(last_month),
        last: (first + len as u32).min(12),
        factor,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_start_above_the_threshold_and_fall_with_rank() {
        assert!(size_at(0.999_999) > 2_000.0);
        assert!(size_at(0.001) > 10.0 * size_at(0.9));
        assert!((1..100).all(|i| size_at(i as f64 / 100.0) > size_at((i + 1) as f64 / 100.0)));
    }

    #[test]
    fn spells_stay_inside_the_year_and_maintenance_covers_the_last_two_months() {
        let mut r = Rng::new(11);
        let mut kinds = [0; 3];
        for _ in 0..2_000 {
            if let Some(e) = draw_episode(&mut r, 10, 0.5, Role::Ordinary) {
                assert!(3 <= e.first && e.first <= 10 && e.first <= e.last && e.last <= 12);
                kinds[usize::from(e.factor > 0.0) + usize::from(e.factor >= 0.5)] += 1;
            }
        }
        assert!(kinds.iter().all(|k| *k > 100), "{kinds:?}");
        let m = draw_episode(&mut r, 10, 0.0, Role::Maintenance).unwrap();
        assert_eq!((m.first, m.last, m.factor), (9, 10, 0.0));
        assert_eq!(draw_episode(&mut r, 10, 1.0, Role::Divergence), None);
    }
}
