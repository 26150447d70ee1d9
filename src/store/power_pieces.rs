//! How the 旬 evaluation's read of daily electricity (`power_read`) is cut into reads that run
//! side by side, one connection each: packed 旬s from `power_xun_days` (`xun_days`), the other
//! days in two halves where they are many — so that both cores parse rows. SQLite reads a
//! range of its key (day, credit code) for each half of the days. PostgreSQL scans a month's
//! partition whole for any of its days (500,000 enterprises, psql: 0.84 s for half of a 旬's
//! days, 1.21 s for all of them), so its halves are halves of the partition's heap instead,
//! by block (a TID range scan each: 0.58 s for 35% of the blocks, 0.97 s for the rest), parted
//! where the span's rows divide ([`parting_block`]).

use std::collections::HashSet;
use std::ops::RangeInclusive;

use chrono::{Datelike, NaiveDate};

use super::Store;
use crate::power::Xun;

/// What one task reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Piece {
    Days(RangeInclusive<NaiveDate>, Split),
    Packed(Xun),
}

/// Which rows of a span's partition a PostgreSQL read takes, by heap block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Split {
    Whole,
    Below(u64),
    From(u64),
}

impl Split {
    /// The condition added to the read's `WHERE`.
    pub(super) fn condition(self) -> String {
        match self {
            Split::Whole => String::new(),
            Split::Below(b) => format!(" AND ctid < '({b},0)'"),
            Split::From(b) => format!(" AND ctid >= '({b},0)'"),
        }
    }
}

/// Spans of at least this many days are read in two halves on SQLite…
const HALVED_FROM_DAYS: i64 = 4;
/// … and partitions of at least this many blocks (8 KiB) on PostgreSQL.
const HALVED_FROM_BLOCKS: u64 = 1_000;

/// The reads of `spans` (disjoint): their packed 旬s, the rest as days, in halves by day
/// where long enough if `halve`.
pub(super) fn pieces(
    spans: &[RangeInclusive<NaiveDate>],
    packed: &HashSet<Xun>,
    halve: bool,
) -> Vec<Piece> {
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
            Some(mid) if halve && len >= HALVED_FROM_DAYS => {
                let below = mid.pred_opt().unwrap_or(mid);
                out.push(Piece::Days(*d.start()..=below, Split::Whole));
                out.push(Piece::Days(mid..=*d.end(), Split::Whole));
            }
            _ => out.push(Piece::Days(d, Split::Whole)),
        }
    }
    out
}

impl Store {
    /// [`pieces`] for this backend: on PostgreSQL a span within one month whose partition is
    /// large is read in two halves of its blocks, and one whose month has no partition (or an
    /// empty one) is not read.
    pub(super) async fn pieces(
        &self,
        spans: &[RangeInclusive<NaiveDate>],
        packed: &HashSet<Xun>,
    ) -> anyhow::Result<Vec<Piece>> {
        let Store::Postgres(p) = self else {
            return Ok(pieces(spans, packed, true));
        };
        let sql = "SELECT COALESCE(pg_relation_size(to_regclass($1)), 0) / current_setting('block_size')::BIGINT";
        let mut out = Vec::new();
        for piece in pieces(spans, packed, false) {
            let Piece::Days(span, _) = &piece else {
                out.push(piece);
                continue;
            };
            let (a, b) = (span.start(), span.end());
            if (a.year(), a.month()) != (b.year(), b.month()) {
                out.push(piece);
                continue;
            }
            let name = super::power::partition_name(a.year(), a.month());
            let blocks: i64 = sqlx::query_scalar(sql).bind(&name).fetch_one(p).await?;
            if blocks == 0 {
                // No partition (or an empty one): no days to read, and no table to read them
                // from (`power_read::span_sql` names the partition).
                continue;
            }
            let blocks = u64::try_from(blocks).unwrap_or(0);
            if blocks < HALVED_FROM_BLOCKS {
                out.push(piece);
                continue;
            }
            let middle = parting_block(p, &name, span, blocks).await?;
            let half = middle
                .filter(|m| (1..blocks).contains(m))
                .unwrap_or(blocks / 2);
            out.push(Piece::Days(span.clone(), Split::Below(half)));
            out.push(Piece::Days(span.clone(), Split::From(half)));
        }
        Ok(out)
    }
}

/// Where to part `partition`'s `blocks` so that the two halves of `span`'s read cost the same,
/// when the span's rows lie between its first and its last row's blocks in the key's order
/// (two index probes), as the imports write them: a 旬's days in the blocks after the 旬
/// before. A block passed over costs about half what one whose rows are read does (the D2
/// read of a month holding D1 and D2, 500,000 enterprises: halves at 1.2 and 1.8 s when parted
/// between the first and the last row, 0.9 and 2.0 s at the heap's middle). Either half still
/// reads every block on its side, so a row anywhere else is read all the same.
async fn parting_block(
    p: &sqlx::PgPool,
    partition: &str,
    span: &RangeInclusive<NaiveDate>,
    blocks: u64,
) -> anyhow::Result<Option<u64>> {
    let block = "(ctid::text::point)[0]::BIGINT";
    let sql = format!(
        "SELECT (SELECT {block} FROM {partition} WHERE day >= $1 ORDER BY day, credit_code LIMIT 1),
                (SELECT {block} FROM {partition} WHERE day <= $2 ORDER BY day DESC, credit_code DESC LIMIT 1)"
    );
    let (first, last): (Option<i64>, Option<i64>) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(span.start().to_string())
        .bind(span.end().to_string())
        .fetch_one(p)
        .await?;
    // Passed over (1 a block) below and above, read (2 a block) from `first` to `last`:
    // m + 2(m - first) = (blocks - m) + 2(last - m).
    Ok(first
        .zip(last)
        .and_then(|(a, b)| u64::try_from(a + b).ok())
        .map(|ends| (blocks + 2 * ends) / 6))
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
        Piece::Days(d(a)..=d(b), Split::Whole)
    }

    #[test]
    fn packed_xuns_are_read_packed_and_the_rest_as_days_in_halves() {
        let packed: HashSet<Xun> = ["2025-10-D1", "2025-12-D2", "2026-10-D2"].map(x).into();
        let spans = [
            d("2025-10-01")..=d("2025-10-10"),
            d("2025-12-01")..=d("2025-12-31"),
            d("2026-10-05")..=d("2026-10-18"),
        ];
        let got = pieces(&spans, &packed, true);
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
        let short = pieces(&[d("2026-10-01")..=d("2026-10-03")], &HashSet::new(), true);
        assert_eq!(short, [days("2026-10-01", "2026-10-03")]);
        let whole = pieces(&spans[1..2], &packed, false);
        assert_eq!(whole[1], days("2025-12-01", "2025-12-10"));
    }

    #[test]
    fn the_halves_of_a_partition_take_every_block_once() {
        assert_eq!(Split::Below(28352).condition(), " AND ctid < '(28352,0)'");
        assert_eq!(Split::From(28352).condition(), " AND ctid >= '(28352,0)'");
        assert_eq!(Split::Whole.condition(), "");
    }
}
