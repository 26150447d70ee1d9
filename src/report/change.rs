//! The change since the last period as the snapshot shows it: each unit's growth against the
//! period before, its month's own growth and that month's change, its rank and how it moved,
//! and the 停产 / 半停产 / 减产 counts of each district and zone against last month. Every change
//! is the difference of the figures as shown (one decimal, 四舍五入), so that "增长5.8%，比1—9月
//! 回落0.7个百分点" adds up with the 6.5% printed for 1—9月.

use serde::Serialize;

use crate::analysis::rounding::rounded;
use crate::analysis::{Growth, Previous, UnitPrevious, UnitResult};
use crate::period::Period;

use super::model::UnitRow;

/// A growth as shown, in tenths of a percent.
fn tenths(g: Growth) -> i64 {
    rounded(g.pct(), 1)
}

/// `now − before` as shown, in percentage points (a multiple of 0.1).
pub fn shown_change(now: Option<Growth>, before: Option<Growth>) -> Option<f64> {
    let (a, b) = (now?, before?);
    Some((tenths(a) - tenths(b)) as f64 / 10.0)
}

/// Fills the change fields of `row` from the unit's result and its figures in the period before.
pub fn fill_unit(row: &mut UnitRow, u: &UnitResult, before: Option<&UnitPrevious>) {
    row.month_growth_pct = u.month_growth.map(Growth::pct);
    let Some(b) = before else {
        return;
    };
    row.growth_prev_pct = b.growth.map(Growth::pct);
    row.growth_change_pp = shown_change(u.growth, b.growth);
    row.month_growth_prev_pct = b.month_growth.map(Growth::pct);
    row.month_growth_change_pp = shown_change(u.month_growth, b.month_growth);
    row.rank_prev = b.rank;
    row.rank_move = u
        .rank
        .zip(b.rank)
        .map(|(now, then)| then as i32 - now as i32);
}

/// Marks the rows that share their rank with another (并列).
pub fn mark_ties(rows: &mut [UnitRow]) {
    let ranks: Vec<Option<u32>> = rows.iter().map(|r| r.rank).collect();
    for r in rows.iter_mut() {
        r.rank_tied = r.rank.is_some() && ranks.iter().filter(|k| **k == r.rank).count() > 1;
    }
}

/// A rank's move as the ranking's 位次变化 column says it: "前移2位", "后移1位", "不变", or "—"
/// without a rank then or now.
pub fn rank_move_zh(moved: Option<i32>) -> String {
    match moved {
        None => "—".into(),
        Some(0) => "不变".into(),
        Some(n) if n > 0 => format!("前移{n}位"),
        Some(n) => format!("后移{}位", n.unsigned_abs()),
    }
}

/// A count's change since last month as a table prints it: "+2", "−1" (a minus sign), "0".
pub fn delta_zh(d: i64) -> String {
    match d {
        0 => "0".into(),
        d if d > 0 => format!("+{d}"),
        d => format!("−{}", d.unsigned_abs()),
    }
}

/// How the snapshot names the periods it compares.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Labels {
    /// 1—(N−1)月 ("1—9月"), none when the period before is last year's.
    pub prev_period_label: Option<String>,
    /// The month whose own growth is shown ("10月", "1—2月" when combined).
    pub month_label: String,
    /// The month it is compared with ("9月", "上年12月").
    pub prev_month_label: Option<String>,
    /// The months left in the year ("11—12月", "12月"), none in December.
    pub remaining_label: Option<String>,
}

/// The month `t` as a report names it, seen from a period of `year`.
fn month_name(t: Period, combined: bool, year: i32) -> String {
    let m = if combined {
        "1—2月".to_string()
    } else {
        format!("{}月", t.month())
    };
    if t.year() == year {
        m
    } else {
        format!("上年{m}")
    }
}

/// The labels of period `p` (`combined`: its month value is 1—2月) against `prev`.
pub fn labels(p: Period, combined: bool, prev: Option<&Previous>) -> Labels {
    let remaining_label = match p.month() {
        12 => None,
        11 => Some("12月".to_string()),
        m => Some(format!("{}—12月", m + 1)),
    };
    Labels {
        prev_period_label: prev.filter(|v| v.same_year).map(|v| v.period.ytd_label()),
        month_label: month_name(p, combined, p.year()),
        prev_month_label: prev.map(|v| month_name(v.period, v.combined, p.year())),
        remaining_label,
    }
}

/// 停产 / 半停产 / 减产 enterprises of a unit in a month.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StateCounts {
    pub stalled: usize,
    pub semi_stalled: usize,
    pub reduced: usize,
    /// The three together.
    pub total: usize,
}

impl StateCounts {
    /// Counts one enterprise in `state` (停产, 半停产 or 减产; a normal one is not counted).
    pub fn add(&mut self, state: crate::analysis::State) {
        use crate::analysis::State;
        match state {
            State::Normal => return,
            State::Stalled => self.stalled += 1,
            State::SemiStalled => self.semi_stalled += 1,
            State::Reduced => self.reduced += 1,
        }
        self.total += 1;
    }

    /// The change from `before` to `self`, each count (positive: more than last month).
    pub fn since(self, before: StateCounts) -> StateChange {
        let d = |a: usize, b: usize| a as i64 - b as i64;
        StateChange {
            stalled: d(self.stalled, before.stalled),
            semi_stalled: d(self.semi_stalled, before.semi_stalled),
            reduced: d(self.reduced, before.reduced),
            total: d(self.total, before.total),
        }
    }
}

/// The change of each count since last month (positive: more).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StateChange {
    pub stalled: i64,
    pub semi_stalled: i64,
    pub reduced: i64,
    pub total: i64,
}

/// A district's or zone's 停产 / 半停产 / 减产 counts now and last month.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UnitStates {
    pub code: String,
    pub name: String,
    /// `district` or `zone`.
    pub kind: String,
    pub now: StateCounts,
    /// None when no enterprise of the city had reported last month (nothing to compare).
    pub last_month: Option<StateCounts>,
    /// `now − last_month`, none without `last_month`.
    pub change: Option<StateChange>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::State;

    fn official(pct_tenths: i64) -> Option<Growth> {
        Some(Growth::Official(pct_tenths * 1_000))
    }

    #[test]
    fn changes_are_differences_of_the_figures_as_shown() {
        // 1—10月 5.85% shows 5.9, 1—9月 6.55% shows 6.6: 回落0.7 (not 0.70 − …).
        let now = Growth::ratio(105_850, 100_000);
        let before = Growth::ratio(106_550, 100_000);
        assert_eq!(shown_change(now, before), Some(-0.7));
        assert_eq!(shown_change(official(58), official(58)), Some(0.0));
        assert_eq!(shown_change(official(-12), official(-25)), Some(1.3));
        assert_eq!(shown_change(now, None), None);
    }

    #[test]
    fn rank_moves_and_count_changes_read_like_the_table() {
        // 1—9月 rank 5, now 3: 5 − 3 = 2 places forward; 2 → 4: two back.
        assert_eq!(rank_move_zh(Some(5 - 3)), "前移2位");
        assert_eq!(rank_move_zh(Some(2 - 4)), "后移2位");
        assert_eq!(rank_move_zh(Some(0)), "不变");
        assert_eq!(rank_move_zh(None), "—");
        assert_eq!(delta_zh(3), "+3");
        assert_eq!(delta_zh(-1), "−1");
        assert_eq!(delta_zh(0), "0");
    }

    fn ranked(name: &str, rank: Option<u32>) -> UnitRow {
        UnitRow {
            name: name.into(),
            rank,
            ..UnitRow::default()
        }
    }

    #[test]
    fn equal_growth_shares_a_rank_and_the_next_is_skipped() {
        // Growth 8.2, 7.4, 7.4, 5.1: ranks 1, 2, 2, 4 (competition ranking, 并列 at 2, no 3).
        let mut rows = vec![
            ranked("甲", Some(1)),
            ranked("乙", Some(2)),
            ranked("丙", Some(2)),
            ranked("丁", Some(4)),
            ranked("戊", None),
        ];
        mark_ties(&mut rows);
        let tied: Vec<bool> = rows.iter().map(|r| r.rank_tied).collect();
        assert_eq!(tied, [false, true, true, false, false]);
    }

    #[test]
    fn months_are_named_as_reports_name_them() {
        let p = |s: &str| s.parse::<Period>().unwrap();
        let sep = Previous {
            period: p("2026-09"),
            same_year: true,
            combined: false,
            units: Vec::new(),
        };
        let l = labels(p("2026-10"), false, Some(&sep));
        assert_eq!(l.prev_period_label.as_deref(), Some("1—9月"));
        assert_eq!(l.month_label, "10月");
        assert_eq!(l.prev_month_label.as_deref(), Some("9月"));
        assert_eq!(l.remaining_label.as_deref(), Some("11—12月"));
        // 1—2月 together: no year to date before it; its month is compared with last December.
        let dec = Previous {
            period: p("2025-12"),
            same_year: false,
            combined: false,
            units: Vec::new(),
        };
        let l = labels(p("2026-02"), true, Some(&dec));
        assert_eq!(l.prev_period_label, None);
        assert_eq!(l.month_label, "1—2月");
        assert_eq!(l.prev_month_label.as_deref(), Some("上年12月"));
        assert_eq!(l.remaining_label.as_deref(), Some("3—12月"));
        assert_eq!(
            labels(p("2026-11"), true, None).remaining_label.as_deref(),
            Some("12月")
        );
        assert_eq!(labels(p("2026-12"), true, None).remaining_label, None);
        // March after a combined February: its month before is 1—2月.
        let feb = Previous {
            period: p("2026-02"),
            same_year: true,
            combined: true,
            units: Vec::new(),
        };
        let l = labels(p("2026-03"), true, Some(&feb));
        assert_eq!(l.prev_period_label.as_deref(), Some("1—2月"));
        assert_eq!(l.prev_month_label.as_deref(), Some("1—2月"));
    }

    #[test]
    fn state_counts_and_their_change() {
        let mut now = StateCounts::default();
        for s in [
            State::Stalled,
            State::Stalled,
            State::Reduced,
            State::Normal,
        ] {
            now.add(s);
        }
        let mut before = StateCounts::default();
        for s in [State::Stalled, State::SemiStalled, State::SemiStalled] {
            before.add(s);
        }
        assert_eq!(
            now,
            StateCounts {
                stalled: 2,
                semi_stalled: 0,
                reduced: 1,
                total: 3
            }
        );
        assert_eq!(
            now.since(before),
            StateChange {
                stalled: 1,
                semi_stalled: -2,
                reduced: 1,
                total: 0
            }
        );
    }
}
