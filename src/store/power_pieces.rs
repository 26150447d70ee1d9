//! How the 旬 evaluation's read of daily electricity (`power_read`) is cut into reads that run
//! side by side, one connection each: packed 旬s from `power_xun_days` (`xun_days`), the other
//! days in two halves where they are many — so that both cores parse rows. SQLite reads a
//! range of its key (day, credit code) for each half; PostgreSQL reads each day of a half
//! through its partition's key (`power_read::read_days_postgres`).

use std::collections::HashSet;
use std::ops::RangeInclusive;

use chrono::NaiveDate;

use crate::power::Xun;

/// What one task reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Piece {
    Days(RangeInclusive<NaiveDate>),
    Packed(Xun),
}

/// Spans of at least this many days are read in two halves.
const HALVED_FROM_DAYS: i64 = 4;

/// The reads of `spans` (disjoint): their packed 旬s, the rest as days, in halves by day
/// where long enough.
pub(super) fn pieces(spans: &[RangeInclusive<NaiveDate>], packed: &HashSet<Xun>) -> Vec<Piece> {
    let mut days: Vec<RangeInclusive<NaiveDate>> = Vec::new();
    let mut out = Vec::new();
    for span in spans {
        let mut run: Option<RangeInclusive<NaiveDate>> = None;
        let mut day = *span.start();
        while day <= *span.end() {
            let Some(x) = Xun::containing(day) else { break };
            let end = x.last_day().min(*span.end());
            if packed.contains(&x) && day == x.first_day() && end == x.last_day() {
                days.extend(run.take());
                out.push(Piece::Packed(x));
            } else {
                run = Some(run.map_or(day..=end, |r| *r.start()..=end));
            }
            let Some(next) = end.succ_opt() else { break };
            day = next;
        }
        days.extend(run);
    }
    for d in days {
        let len = (*d.end() - *d.start()).num_days() + 1;
        match d
            .start()
            .checked_add_days(chrono::Days::new((len / 2) as u64))
        {
            Some(mid) if len >= HALVED_FROM_DAYS => {
                let below = mid.pred_opt().unwrap_or(mid);
                out.push(Piece::Days(*d.start()..=below));
                out.push(Piece::Days(mid..=*d.end()));
            }
            _ => out.push(Piece::Days(d)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn x(s: &str) -> Xun {
        s.parse().unwrap()
    }

    fn days(a: &str, b: &str) -> Piece {
        Piece::Days(d(a)..=d(b))
    }

    #[test]
    fn packed_xuns_are_read_packed_and_the_rest_as_days_in_halves() {
        let packed: HashSet<Xun> = ["2025-10-D1", "2025-12-D2", "2026-10-D2"].map(x).into();
        let spans = [
            d("2025-10-01")..=d("2025-10-10"),
            d("2025-12-01")..=d("2025-12-31"),
            d("2026-10-05")..=d("2026-10-18"),
        ];
        let got = pieces(&spans, &packed);
        let want = [
            Piece::Packed(x("2025-10-D1")),
            Piece::Packed(x("2025-12-D2")),
            days("2025-12-01", "2025-12-05"),
            days("2025-12-06", "2025-12-10"),
            days("2025-12-21", "2025-12-25"),
            days("2025-12-26", "2025-12-31"),
            // 2026-10-D2 is packed but only part of the last span is in it: read as days.
            days("2026-10-05", "2026-10-11"),
            days("2026-10-12", "2026-10-18"),
        ];
        assert_eq!(got, want);
        let short = pieces(&[d("2026-10-01")..=d("2026-10-03")], &HashSet::new());
        assert_eq!(short, [days("2026-10-01", "2026-10-03")]);
    }
}
