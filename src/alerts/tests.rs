use serde_json::Map;

use super::*;
use crate::rules::{Coverage, Finding, Rule, Severity};

const CODE: &str = "91330781MA2XXXXX0H";

fn p(s: &str) -> Period {
    s.parse().unwrap()
}

fn finding(period: &str, severity: Severity, consecutive: u32) -> Finding {
    Finding {
        rule: Rule::EnterpriseStalled,
        severity,
        subject: CODE.into(),
        subject_name: "某公司".into(),
        indicator: "output".into(),
        unit: "330781".into(),
        scope: vec!["330781".into(), "3307".into()],
        owner: None,
        period: p(period),
        consecutive,
        message: format!("停产 {consecutive}"),
        values: Map::new(),
    }
}

fn stored(id: i64, f: &Finding, state: AlertState) -> Alert {
    Alert {
        id,
        rule: f.rule.to_string(),
        subject: f.subject.clone(),
        indicator: f.indicator.clone(),
        subject_name: f.subject_name.clone(),
        unit_code: f.unit.clone(),
        scope: f.scope.clone(),
        owner: f.owner.clone(),
        state,
        severity: f.severity,
        consecutive: f.consecutive,
        period: f.period,
        message: f.message.clone(),
        values: f.values.clone(),
        opened_at: 0,
        updated_at: 0,
        acknowledged_by: None,
        acknowledged_at: None,
        resolved_at: None,
        resolved_by: (state == AlertState::Resolved).then(|| SYSTEM.to_string()),
        note: None,
    }
}

fn covered() -> Coverage {
    let mut c = Coverage {
        deadline_passed: true,
        ..Coverage::default()
    };
    c.enterprises.insert(code());
    c
}

fn code() -> crate::credit_code::CreditCode {
    CODE.parse().expect("a valid credit code")
}

#[test]
fn a_new_condition_opens_and_escalates_when_already_long() {
    let f = finding("2026-10", Severity::Red, 3);
    let ch = reconcile(&[], std::slice::from_ref(&f), &covered(), p("2026-10"), 3);
    assert_eq!(
        ch,
        vec![Change::Open {
            finding: f,
            events: vec![EventKind::Opened, EventKind::Escalated]
        }]
    );
}

#[test]
fn the_same_period_with_the_same_data_changes_nothing() {
    let f = finding("2026-10", Severity::Orange, 1);
    let a = stored(7, &f, AlertState::Firing);
    assert!(reconcile(&[a], &[f], &covered(), p("2026-10"), 3).is_empty());
}

#[test]
fn a_persisting_condition_updates_with_severity_and_escalation_events() {
    let before = finding("2026-09", Severity::Orange, 2);
    let a = stored(7, &before, AlertState::Acknowledged);
    let now = finding("2026-10", Severity::Red, 3);
    let ch = reconcile(
        &[a],
        std::slice::from_ref(&now),
        &covered(),
        p("2026-10"),
        3,
    );
    assert_eq!(
        ch,
        vec![Change::Update {
            id: 7,
            finding: now,
            events: vec![EventKind::SeverityRaised, EventKind::Escalated],
            rescope: false,
        }]
    );
}

#[test]
fn an_update_rewrites_the_scope_only_when_it_changed() {
    let before = finding("2026-09", Severity::Orange, 1);
    let a = stored(7, &before, AlertState::Firing);
    let mut moved = finding("2026-10", Severity::Orange, 1);
    moved.scope.reverse();
    let same = finding("2026-10", Severity::Orange, 1);
    let rescope = |f: &Finding| match reconcile(
        std::slice::from_ref(&a),
        std::slice::from_ref(f),
        &covered(),
        p("2026-10"),
        3,
    )
    .as_slice()
    {
        [Change::Update { rescope, .. }] => *rescope,
        other => panic!("{other:?}"),
    };
    assert!(rescope(&moved));
    assert!(!rescope(&same));
}

#[test]
fn a_cleared_condition_resolves_but_not_when_the_data_is_missing() {
    let a = stored(
        7,
        &finding("2026-09", Severity::Orange, 1),
        AlertState::Firing,
    );
    let ch = reconcile(std::slice::from_ref(&a), &[], &covered(), p("2026-10"), 3);
    assert_eq!(
        ch,
        vec![Change::Resolve {
            id: 7,
            period: p("2026-10")
        }]
    );
    let mut absent = covered();
    absent.absent.insert(code());
    assert!(reconcile(&[a], &[], &absent, p("2026-10"), 3).is_empty());
}

#[test]
fn an_older_period_never_touches_a_newer_alert() {
    let a = stored(7, &finding("2026-10", Severity::Red, 4), AlertState::Firing);
    // September had no finding: must not resolve October's alert.
    assert!(reconcile(std::slice::from_ref(&a), &[], &covered(), p("2026-09"), 3).is_empty());
    // September had a milder finding: must not lower October's severity.
    let old = finding("2026-09", Severity::Orange, 3);
    assert!(reconcile(&[a], &[old], &covered(), p("2026-09"), 3).is_empty());
    let r = stored(
        8,
        &finding("2026-10", Severity::Red, 4),
        AlertState::Resolved,
    );
    let old = finding("2026-09", Severity::Red, 3);
    assert!(reconcile(&[r], &[old], &covered(), p("2026-09"), 3).is_empty());
}

#[test]
fn a_resolved_alert_reopens_when_the_condition_returns_but_not_after_a_manual_resolve_of_the_same_period()
 {
    let mut r = stored(
        8,
        &finding("2026-09", Severity::Red, 1),
        AlertState::Resolved,
    );
    let f = finding("2026-10", Severity::Orange, 1);
    let ch = reconcile(
        std::slice::from_ref(&r),
        std::slice::from_ref(&f),
        &covered(),
        p("2026-10"),
        3,
    );
    assert!(matches!(&ch[..], [Change::Reopen { id: 8, .. }]));
    r.period = p("2026-10");
    r.resolved_by = Some("张科长".into());
    assert!(reconcile(&[r], &[f], &covered(), p("2026-10"), 3).is_empty());
}

#[test]
fn silences_match_on_rule_subject_and_unit_while_in_force() {
    let a = stored(1, &finding("2026-10", Severity::Red, 1), AlertState::Firing);
    let s = Silence {
        id: 1,
        matcher: SilenceMatcher {
            rule: Some("enterprise_stalled".into()),
            subject: None,
            unit: Some("3307".into()),
        },
        starts_at: 100,
        ends_at: 200,
        reason: "计划检修".into(),
        author: "a".into(),
        created_at: 0,
        expired_at: None,
    };
    assert!(silenced_by(std::slice::from_ref(&s), &a, 150).is_some());
    assert!(
        silenced_by(std::slice::from_ref(&s), &a, 200).is_none(),
        "ended"
    );
    assert!(
        silenced_by(std::slice::from_ref(&s), &a, 99).is_none(),
        "not begun"
    );
    let mut expired = s.clone();
    expired.expired_at = Some(120);
    assert!(silenced_by(&[expired], &a, 150).is_none());
    let mut other = s;
    other.matcher.unit = Some("330782".into());
    assert!(silenced_by(&[other], &a, 150).is_none());
}

#[test]
fn coverage_knows_an_enterprise_by_its_code_exactly_as_the_findings_write_it() {
    let c = covered();
    assert!(c.covers("enterprise_stalled", CODE));
    // The same code in lower case or padded parses to it, but no finding names it so.
    assert!(!c.covers("enterprise_stalled", &CODE.to_ascii_lowercase()));
    assert!(!c.covers("enterprise_stalled", &format!(" {CODE}")));
}
