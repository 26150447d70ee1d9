//! Schedules: 6-field cron expressions (with seconds) read in the bureau's time zone, and the
//! pure arithmetic of slots — the next one, and the one missed while the daemon was down.
//!
//! tokio-cron-scheduler fires the schedules ([`super::fire`]), but the daemon computes slots
//! itself (with `croner`, the parser the scheduler uses, read the same way) because the ledger
//! keys every run by its slot: a slot must be the same instant whether it is run on time,
//! caught up after a restart, or attempted by a second replica.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds};
use serde::Deserialize;

/// What to do at start with slots that passed while no daemon was running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CatchUp {
    /// Run the latest missed slot once (older missed slots of the same job are not replayed).
    #[default]
    Once,
    /// Forget missed slots; wait for the next one.
    Skip,
}

/// A parsed cron expression with the time zone it is read in.
#[derive(Debug, Clone)]
pub struct Schedule {
    cron: Cron,
    tz: Tz,
    text: String,
}

impl Schedule {
    /// Parses a 6-field expression (`sec min hour day-of-month month day-of-week`).
    pub fn parse(text: &str, tz: Tz) -> Result<Schedule, String> {
        if text.split_whitespace().count() != 6 {
            return Err(format!(
                "“{text}”应为带秒的6段 cron，如 \"0 30 8 * * *\" (must be a 6-field cron with seconds)"
            ));
        }
        // Day of month and day of week must both match, as tokio-cron-scheduler reads them:
        // the slots computed here are the instants it fires.
        let cron = CronParser::builder()
            .seconds(Seconds::Required)
            .dom_and_dow(true)
            .build()
            .parse(text)
            .map_err(|e| format!("“{text}”不是合法的 cron 表达式 (invalid cron): {e}"))?;
        Ok(Schedule {
            cron,
            tz,
            text: text.to_string(),
        })
    }

    /// The expression as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The first slot strictly after `t`.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron
            .find_next_occurrence(&t.with_timezone(&self.tz), false)
            .ok()
            .map(|d| d.with_timezone(&Utc))
    }

    /// The latest slot at or before `t`.
    pub fn latest_at_or_before(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron
            .find_previous_occurrence(&t.with_timezone(&self.tz), true)
            .ok()
            .map(|d| d.with_timezone(&Utc))
    }

    /// The next `n` slots after `t`, for `check-config` and tests.
    pub fn upcoming(&self, t: DateTime<Utc>, n: usize) -> Vec<DateTime<Utc>> {
        let mut out = Vec::with_capacity(n);
        let mut at = t;
        while out.len() < n {
            match self.next_after(at) {
                Some(s) => {
                    out.push(s);
                    at = s;
                }
                None => break,
            }
        }
        out
    }
}

/// The slot to catch up at start, if any: the latest slot after `last_slot` (the newest slot in
/// the ledger for this job) and at or before `now`, no older than `max_age`.
///
/// A job with no ledger history has missed nothing — a freshly installed daemon does not
/// replay the past. With [`CatchUp::Once`] only the latest missed slot runs, once: a snapshot
/// missed on the 1st and again on the 16th produces the 16th's snapshot, not two.
pub fn missed_slot(
    schedule: &Schedule,
    last_slot: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    policy: CatchUp,
    max_age: Duration,
) -> Option<DateTime<Utc>> {
    if policy == CatchUp::Skip {
        return None;
    }
    let last = last_slot?;
    let slot = schedule.latest_at_or_before(now)?;
    (slot > last && now - slot <= max_age).then_some(slot)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn sh(y: i32, m: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        chrono_tz::Asia::Shanghai
            .with_ymd_and_hms(y, m, d, h, mi, 0)
            .single()
            .expect("valid local time")
            .with_timezone(&Utc)
    }

    fn snapshot() -> Schedule {
        Schedule::parse("0 0 8 1,16 * *", chrono_tz::Asia::Shanghai).expect("parse")
    }

    #[test]
    fn snapshot_slots_are_8am_shanghai_on_the_1st_and_16th_across_month_and_year_ends() {
        let got = snapshot().upcoming(sh(2026, 11, 20, 12, 0), 5);
        assert_eq!(
            got,
            vec![
                sh(2026, 12, 1, 8, 0),
                sh(2026, 12, 16, 8, 0),
                sh(2027, 1, 1, 8, 0),
                sh(2027, 1, 16, 8, 0),
                sh(2027, 2, 1, 8, 0),
            ]
        );
        // 08:00 in Shanghai is midnight UTC: the slot is on the 1st in both.
        assert_eq!(got[0], Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap());
    }

    #[test]
    fn a_midnight_shanghai_slot_falls_on_the_previous_utc_day() {
        let s = Schedule::parse("0 0 0 1 * *", chrono_tz::Asia::Shanghai).unwrap();
        // Midnight of 1 March in Shanghai is 16:00 UTC on the last day of February.
        let next = s.next_after(sh(2027, 2, 10, 0, 0)).unwrap();
        assert_eq!(next, Utc.with_ymd_and_hms(2027, 2, 28, 16, 0, 0).unwrap());
        let leap = s.next_after(sh(2028, 2, 10, 0, 0)).unwrap();
        assert_eq!(leap, Utc.with_ymd_and_hms(2028, 2, 29, 16, 0, 0).unwrap());
    }

    #[test]
    fn day_31_skips_short_months() {
        let s = Schedule::parse("0 0 9 31 * *", chrono_tz::Asia::Shanghai).unwrap();
        let got = s.upcoming(sh(2027, 1, 31, 10, 0), 2);
        assert_eq!(got, vec![sh(2027, 3, 31, 9, 0), sh(2027, 5, 31, 9, 0)]);
    }

    #[test]
    fn day_of_month_and_day_of_week_must_both_match_as_the_scheduler_reads_them() {
        // The first Monday of the month, not every Monday and every 1st–7th.
        let s = Schedule::parse("0 0 9 1-7 * MON", chrono_tz::Asia::Shanghai).unwrap();
        let got = s.upcoming(sh(2026, 11, 20, 12, 0), 3);
        assert_eq!(
            got,
            vec![
                sh(2026, 12, 7, 9, 0),
                sh(2027, 1, 4, 9, 0),
                sh(2027, 2, 1, 9, 0)
            ]
        );
    }

    #[test]
    fn five_field_and_malformed_expressions_are_rejected() {
        let tz = chrono_tz::Asia::Shanghai;
        assert!(Schedule::parse("0 8 * * *", tz).is_err());
        assert!(Schedule::parse("0 0 25 * * *", tz).is_err());
        assert!(Schedule::parse("x y z a b c", tz).is_err());
        assert!(Schedule::parse("*/5 * * * * *", tz).is_ok());
    }

    #[test]
    fn a_missed_16th_snapshot_is_caught_up_once() {
        let s = snapshot();
        let week = Duration::days(7);
        let last = Some(sh(2026, 11, 1, 8, 0));
        let now = sh(2026, 11, 17, 10, 0);
        assert_eq!(
            missed_slot(&s, last, now, CatchUp::Once, week),
            Some(sh(2026, 11, 16, 8, 0))
        );
        // Once it is in the ledger, a second restart finds nothing missed.
        assert_eq!(
            missed_slot(&s, Some(sh(2026, 11, 16, 8, 0)), now, CatchUp::Once, week),
            None
        );
        assert_eq!(missed_slot(&s, last, now, CatchUp::Skip, week), None);
    }

    #[test]
    fn catch_up_runs_only_the_latest_slot_and_not_stale_ones() {
        let s = snapshot();
        let last = Some(sh(2026, 10, 16, 8, 0));
        // Down from 20 Oct to 17 Nov: the 1st and the 16th were missed; only the 16th runs.
        let now = sh(2026, 11, 17, 10, 0);
        assert_eq!(
            missed_slot(&s, last, now, CatchUp::Once, Duration::days(7)),
            Some(sh(2026, 11, 16, 8, 0))
        );
        // Too old for the configured age: skipped.
        assert_eq!(
            missed_slot(&s, last, now, CatchUp::Once, Duration::hours(12)),
            None
        );
        // No history: a new installation replays nothing.
        assert_eq!(
            missed_slot(&s, None, now, CatchUp::Once, Duration::days(7)),
            None
        );
    }
}
