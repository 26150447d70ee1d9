//! The runs merged back ([`super::year_runs::Merged`]) on a blocking thread, a share of the
//! buffer at a time, while the import writes the share before into the database. Without it
//! the database waited for each share to be read from the runs, and the runs for the database:
//! 500,000 enterprises × 25 months took 33.7–33.9 s on SQLite and 32.9–34.0 s on PostgreSQL,
//! against 30.8–32.0 s and 31.7–32.6 s with it (2026-12-06, three runs each, alternated).
//!
//! Two shares are held at once, the one being written and the one being filled, as the parse
//! holds two runs' rows; their room goes back and forth between them.

use tokio::task::JoinHandle;

use super::held::Held;
use super::year_runs::{Merged, Repeat};

/// What filling a share gives back: its years, the months repeated between runs found
/// meanwhile, and the merge unless it ended.
type Filled = anyhow::Result<(Held, Vec<Repeat>, Option<Merged>)>;

/// The merge of the runs, and the share being filled from it.
pub(super) struct MergeFeed {
    filling: Option<JoinHandle<Filled>>,
    /// Bytes a share holds: once past them it is handed over.
    share: usize,
}

impl MergeFeed {
    /// Starts filling the first share of `share` bytes from `merged`, into `room`.
    pub(super) fn start(merged: Merged, room: Held, share: usize) -> MergeFeed {
        let mut feed = MergeFeed {
            filling: None,
            share,
        };
        feed.fill(merged, room);
        feed
    }

    /// The next share, once filled (`None` once the runs are merged), and the one after it
    /// starts filling into `room`, the rows of the share before let go. Months found repeated
    /// between runs go to `repeats`.
    pub(super) async fn next(
        &mut self,
        room: Held,
        repeats: &mut Vec<Repeat>,
    ) -> anyhow::Result<Option<Held>> {
        let Some(filling) = self.filling.take() else {
            return Ok(None);
        };
        let (held, more, merged) = filling.await??;
        repeats.extend(more);
        if let Some(merged) = merged {
            self.fill(merged, room);
        }
        Ok(Some(held))
    }

    fn fill(&mut self, mut merged: Merged, mut held: Held) {
        let share = self.share;
        self.filling = Some(tokio::task::spawn_blocking(move || {
            let mut repeats = Vec::new();
            while let Some((key, year)) = merged.next(&mut repeats)? {
                held.add_year(key, &year)?;
                merged.recycle(year);
                if held.bytes() > share {
                    return Ok((held, repeats, Some(merged)));
                }
            }
            Ok((held, repeats, None))
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::super::year_runs::{Runs, YearKey};
    use super::*;
    use crate::indicator::N_FIELDS;
    use crate::store::packed::Figures;

    fn key(i: usize) -> YearKey {
        let mut code = [0u8; 18];
        code.copy_from_slice(format!("{i:018}").as_bytes());
        YearKey { code, year: 2026 }
    }

    /// Three runs of 3,000 enterprises, month `r + 1` of each in run `r`, and month 1 of
    /// enterprise 7 again in the last run, from line 1,000,000.
    fn runs() -> Runs {
        let mut runs = Runs::default();
        let mut line = 1;
        for r in 0..3u32 {
            let mut held = Held::new(1 << 20);
            for i in 0..3_000 {
                line += 1;
                let mut figures: Figures = [None; N_FIELDS];
                figures[0] = Some(i as i64 * 10 + i64::from(r));
                held.add(key(i), r + 1, line, &figures).unwrap();
            }
            if r == 2 {
                held.add(key(7), 1, 1_000_000, &[Some(-1); N_FIELDS])
                    .unwrap();
            }
            runs.write(&held, &mut Vec::new()).unwrap();
        }
        runs
    }

    /// The shares come in key order, each holding whole years, none much past its bytes,
    /// and together every year and month of the runs once, the first figure of a repeated
    /// month standing and the repeat reported.
    #[tokio::test]
    async fn the_shares_hold_every_year_once_in_key_order() {
        let share = 32 << 10;
        let mut feed = MergeFeed::start(runs().merge().unwrap(), Held::new(share), share);
        let (mut repeats, mut seen, mut shares) = (Vec::new(), Vec::new(), 0);
        let mut room = Held::new(share);
        while let Some(mut held) = feed.next(room, &mut repeats).await.unwrap() {
            shares += 1;
            assert!(
                held.bytes() <= 2 * share,
                "a share of {} bytes",
                held.bytes()
            );
            let mut keys: Vec<YearKey> = held.keys().copied().collect();
            keys.sort_unstable();
            for k in &keys {
                let mut months = Vec::new();
                held.each_month(held.get(k).unwrap(), |m, _, f| months.push((m, f[0])))
                    .unwrap();
                months.sort_unstable();
                seen.push((*k, months));
            }
            held.clear();
            room = held;
        }
        assert!(shares > 2, "{shares} shares");
        assert_eq!(seen.len(), 3_000);
        for (i, (k, months)) in seen.iter().enumerate() {
            assert_eq!(*k, key(i), "in key order");
            let expected: Vec<_> = (0..3)
                .map(|r| (r + 1, Some(i as i64 * 10 + i64::from(r))))
                .collect();
            assert_eq!(*months, expected, "enterprise {i}");
        }
        assert_eq!(repeats.len(), 1);
        let r = &repeats[0];
        assert_eq!((r.key, r.month, r.line, r.first), (key(7), 1, 1_000_000, 9));
    }
}
