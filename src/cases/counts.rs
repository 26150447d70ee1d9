//! Cases counted by unit: what the city's console page of overdue cases, the digests' summary
//! and the snapshot's 反馈及时率 read. Pure: a list and the clock in, counts out.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Case, CaseState};

/// The cases of one unit (the unit the subject reports under).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct UnitCounts {
    pub unit: String,
    /// Not closed.
    pub open: usize,
    /// Owing an answer past the due time (超期).
    pub overdue: usize,
    /// Owing an answer past the 督办 time.
    pub escalated: usize,
    /// Answered at least once, on time.
    pub answered_on_time: usize,
    /// Answered at least once, late.
    pub answered_late: usize,
    /// Waiting for the city's decision (申请销号).
    pub close_requested: usize,
    pub closed: usize,
}

impl UnitCounts {
    /// 反馈及时率: answered on time among the cases that were answered or are overdue, in
    /// percent; none while there are none.
    pub fn on_time_pct(&self) -> Option<f64> {
        let judged = self.answered_on_time + self.answered_late + self.overdue;
        (judged > 0).then(|| self.answered_on_time as f64 * 100.0 / judged as f64)
    }
}

/// Counts `cases` by unit at `now_ms`, units in code order.
pub fn by_unit(cases: &[Case], now_ms: i64) -> Vec<UnitCounts> {
    let mut out: BTreeMap<&str, UnitCounts> = BTreeMap::new();
    for c in cases {
        let u = out
            .entry(c.unit_code.as_str())
            .or_insert_with(|| UnitCounts {
                unit: c.unit_code.clone(),
                ..UnitCounts::default()
            });
        if c.state == CaseState::Closed {
            u.closed += 1;
        } else {
            u.open += 1;
        }
        u.overdue += usize::from(c.overdue(now_ms));
        u.escalated += usize::from(c.escalated(now_ms));
        u.close_requested += usize::from(c.state == CaseState::CloseRequested);
        if c.answered_at.is_some() {
            if c.late {
                u.answered_late += 1;
            } else {
                u.answered_on_time += 1;
            }
        }
    }
    out.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::Severity;

    fn case(unit: &str, state: CaseState, answered: bool, late: bool) -> Case {
        Case {
            id: 1,
            alert_id: 1,
            rule: "enterprise_stalled".into(),
            subject: "x".into(),
            subject_name: "x".into(),
            unit_code: unit.into(),
            owner: None,
            state,
            severity: Severity::Yellow,
            period: "2026-10".into(),
            opened_at: 0,
            answer_days: 5,
            escalate_days: 3,
            delivered_at: Some(0),
            due_at: Some(100),
            escalate_at: Some(200),
            answered_at: answered.then_some(50),
            late,
            closed_at: None,
            closed_by: None,
            close_reason: None,
            closed_period: None,
            previous_case: None,
            version: 1,
            updated_at: 0,
            scope: vec![unit.into()],
        }
    }

    #[test]
    fn units_count_their_overdue_and_timely_answers() {
        let list = [
            case("3302", CaseState::Assigned, false, false),
            case("3301", CaseState::Assigned, false, false),
            case("3301", CaseState::Answered, true, false),
            case("3301", CaseState::CloseRequested, true, true),
            case("3301", CaseState::Closed, true, false),
        ];
        let counts = by_unit(&list, 150);
        assert_eq!(counts.len(), 2);
        let east = &counts[0];
        assert_eq!(east.unit, "3301");
        assert_eq!(
            (
                east.open,
                east.overdue,
                east.escalated,
                east.answered_on_time,
                east.answered_late,
                east.close_requested,
                east.closed
            ),
            (3, 1, 0, 2, 1, 1, 1)
        );
        assert_eq!(east.on_time_pct(), Some(50.0));
        assert_eq!(by_unit(&list, 250)[1].escalated, 1);
        assert_eq!(by_unit(&list, 50)[1].on_time_pct(), None);
    }
}
