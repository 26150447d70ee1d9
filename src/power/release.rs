//! When a 旬's early warning goes out (DESIGN.md, "Every ten days"): after the 旬's data is
//! complete enough — `complete_share` of the mapped enterprises with every day of the 旬 — or
//! `cutoff_days` after the 旬 ended, whichever comes first; the warning says which. Pure: the
//! counts come from the store (`Store::xun_completeness`), the daemon's `xun` job acts on it.

use chrono::{Days, NaiveDate};
use serde::Serialize;

use super::{PowerConfig, Xun};

/// How many of the mapped enterprises (those with a power account) have every day of a 旬.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Completeness {
    pub mapped: u64,
    pub complete: u64,
}

impl Completeness {
    /// The complete share in basis points (10000 = all), rounded down; 0 with nothing mapped.
    pub fn share_bp(self) -> u64 {
        (self.complete.min(self.mapped) * 10_000)
            .checked_div(self.mapped)
            .unwrap_or(0)
    }

    /// The share as officials read it: `96.3%`.
    pub fn share_text(self) -> String {
        let bp = self.share_bp();
        format!("{}.{}%", bp / 100, (bp % 100) / 10)
    }
}

/// Why a 旬's warning went out when it did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// The data reached `complete_share`.
    Complete,
    /// `cutoff_days` passed with the data still short of it.
    CutOff,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Complete => "complete",
            Trigger::CutOff => "cutoff",
        }
    }

    pub fn parse(text: &str) -> Option<Trigger> {
        match text {
            "complete" => Some(Trigger::Complete),
            "cutoff" => Some(Trigger::CutOff),
            _ => None,
        }
    }
}

/// A 旬 whose warning went out, with what it was judged on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Release {
    pub xun: Xun,
    pub trigger: Trigger,
    pub completeness: Completeness,
}

impl Release {
    /// The sentence the 旬 digest opens with, e.g. `10月上旬用电数据完整率96.3%，已达95%，提前发布。`
    pub fn sentence(&self, pc: &PowerConfig) -> String {
        let share = self.completeness.share_text();
        let wanted = format!("{}%", (pc.complete_share * 100.0).round());
        match self.trigger {
            Trigger::Complete => format!(
                "{}用电数据完整率{share}，已达{wanted}，据此发布。",
                self.xun.label()
            ),
            Trigger::CutOff => format!(
                "{}用电数据截至旬后第{}天完整率{share}，未达{wanted}，按截止时间发布，未到数据的企业未予研判。",
                self.xun.label(),
                pc.cutoff_days
            ),
        }
    }
}

/// The day from which a 旬 goes out whatever its data: `cutoff_days` after its last day.
pub fn cutoff_day(xun: Xun, pc: &PowerConfig) -> NaiveDate {
    xun.last_day()
        .checked_add_days(Days::new(u64::from(pc.cutoff_days)))
        .unwrap_or(NaiveDate::MAX)
}

/// Whether the 旬 goes out on `today` (Shanghai) with `c`, and why; `None` while it waits.
/// A 旬 not yet ended never goes out, and neither does one without a single complete
/// enterprise: released, it could never be judged on the data still to come.
pub fn decide(xun: Xun, c: Completeness, today: NaiveDate, pc: &PowerConfig) -> Option<Trigger> {
    if today <= xun.last_day() || c.complete == 0 {
        return None;
    }
    let wanted_bp = (pc.complete_share * 10_000.0).round() as u64;
    if c.share_bp() >= wanted_bp {
        Some(Trigger::Complete)
    } else if today >= cutoff_day(xun, pc) {
        Some(Trigger::CutOff)
    } else {
        None
    }
}

/// The 旬s that may still be waiting on `today`: the `lookback` latest ended ones, oldest first.
pub fn candidates(today: NaiveDate, lookback: usize) -> Vec<Xun> {
    let Some(current) = Xun::containing(today) else {
        return Vec::new();
    };
    let mut out: Vec<Xun> = std::iter::successors(Some(current.prev()), |x| Some(x.prev()))
        .take(lookback)
        .collect();
    out.reverse();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn xun(s: &str) -> Xun {
        s.parse().unwrap()
    }

    fn counts(mapped: u64, complete: u64) -> Completeness {
        Completeness { mapped, complete }
    }

    #[test]
    fn a_xun_goes_out_at_95_percent_or_at_the_cutoff_whichever_first() {
        let pc = PowerConfig::default();
        let d1 = xun("2026-10-D1");
        // 190 of 200 is exactly 95%: complete; 189 is 94.5%: waits until the 15th.
        assert_eq!(
            decide(d1, counts(200, 190), day("2026-10-11"), &pc),
            Some(Trigger::Complete)
        );
        assert_eq!(decide(d1, counts(200, 189), day("2026-10-14"), &pc), None);
        assert_eq!(
            decide(d1, counts(200, 189), day("2026-10-15"), &pc),
            Some(Trigger::CutOff)
        );
        // Not before the 旬 has ended, however complete; with no complete enterprise, never.
        assert_eq!(decide(d1, counts(200, 200), day("2026-10-10"), &pc), None);
        assert_eq!(decide(d1, counts(0, 0), day("2026-11-30"), &pc), None);
        assert_eq!(decide(d1, counts(200, 0), day("2026-11-30"), &pc), None);
    }

    #[test]
    fn a_february_xia_xun_ends_on_the_28th_and_cuts_off_five_days_later() {
        let pc = PowerConfig::default();
        let d3 = xun("2026-02-D3");
        assert_eq!(cutoff_day(d3, &pc), day("2026-03-05"));
        assert_eq!(decide(d3, counts(10, 1), day("2026-03-04"), &pc), None);
        assert_eq!(
            decide(d3, counts(10, 1), day("2026-03-05"), &pc),
            Some(Trigger::CutOff)
        );
    }

    #[test]
    fn the_candidates_are_the_latest_ended_xuns_oldest_first() {
        let got: Vec<String> = candidates(day("2026-11-03"), 3)
            .into_iter()
            .map(|x| x.to_string())
            .collect();
        assert_eq!(got, ["2026-10-D1", "2026-10-D2", "2026-10-D3"]);
    }

    #[test]
    fn the_sentence_says_which_trigger_and_the_share() {
        let pc = PowerConfig::default();
        let r = Release {
            xun: xun("2026-10-D1"),
            trigger: Trigger::CutOff,
            completeness: counts(1000, 873),
        };
        assert_eq!(
            r.sentence(&pc),
            "10月上旬用电数据截至旬后第5天完整率87.3%，未达95%，按截止时间发布，未到数据的企业未予研判。"
        );
        let r = Release {
            trigger: Trigger::Complete,
            completeness: counts(3, 3),
            ..r
        };
        assert_eq!(
            r.sentence(&pc),
            "10月上旬用电数据完整率100.0%，已达95%，据此发布。"
        );
    }
}
