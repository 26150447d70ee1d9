use super::config::{case_by_default, owner_for};
use super::*;
use crate::config::Config;
use crate::rules::{Rule, Severity};
use crate::store::cases::{CaseHead, LiveAlert};

const RECIPIENTS: &str = r#"
[mail]
from = "m <m@x.cn>"
transport = "file"
file_dir = "/tmp"
[[recipients]]
id = "city"
name = "市工信局"
email = "c@x.cn"
role = "city"
[[recipients]]
id = "east"
name = "东区经信局"
email = "e@x.cn"
role = "district"
units = ["3301"]
case_owner = true
[[recipients]]
id = "zone"
name = "高新区"
email = "z@x.cn"
role = "zone"
units = ["ZK01"]
[[recipients]]
id = "zhang"
name = "张副市长"
email = "zh@x.cn"
role = "owner"
enterprises = ["91330100MA2AAAAA1X"]
"#;

fn config(extra: &str) -> Config {
    Config::parse(&format!("{RECIPIENTS}{extra}")).expect("parse")
}

fn keys(c: &Config) -> Vec<String> {
    c.validate().into_iter().map(|p| p.key).collect()
}

#[test]
fn by_default_stalls_missing_reports_unit_targets_and_projects_are_cases_from_yellow() {
    let c = CasesConfig::default();
    let on: Vec<Rule> = c.case_rules().into_iter().map(|(r, _)| r).collect();
    for r in [
        Rule::EnterpriseStalled,
        Rule::EnterpriseSemiStalled,
        Rule::EnterpriseReduced,
        Rule::EnterpriseMissing,
        Rule::UnitBelowTarget,
        Rule::UnitTargetAtRisk,
        Rule::UnitProgressLagging,
        Rule::UnitConsecutiveLagging,
        Rule::ProjectBehindSchedule,
        Rule::ProjectNotStarted,
        Rule::ProjectIdle,
        Rule::ProjectMissing,
    ] {
        assert!(on.contains(&r), "{r}");
        assert!(case_by_default(r));
    }
    for r in [
        Rule::EnterpriseUpgradeCandidate,
        Rule::DataDivergence,
        Rule::UnitBelowAverage,
        Rule::SourceFailing,
    ] {
        assert!(!on.contains(&r), "{r}");
    }
    let p = c.policy(Rule::EnterpriseStalled).unwrap();
    assert_eq!(
        (p.min_severity, p.answer_days, p.escalate_days),
        (Severity::Yellow, 5, 3)
    );
    assert_eq!(c.causes.len(), 12);
    assert_eq!(c.causes_for(Rule::ProjectIdle)[0], "用地");
    assert_eq!(
        c.causes_for(Rule::EnterpriseStalled)[0],
        "订单不足/市场需求"
    );
}

#[test]
fn a_rule_can_be_switched_and_given_its_own_deadlines() {
    let c = config(
        "[cases]\nanswer_days = 7\n[cases.rules.enterprise_reduced]\ncase = false\n\
         [cases.rules.unit_below_average]\ncase = true\nmin_severity = \"blue\"\nescalate_days = 2\n",
    );
    assert!(keys(&c).is_empty(), "{:?}", c.validate());
    assert_eq!(c.cases.policy(Rule::EnterpriseReduced), None);
    let p = c.cases.policy(Rule::UnitBelowAverage).unwrap();
    assert_eq!(
        (p.min_severity, p.answer_days, p.escalate_days),
        (Severity::Blue, 7, 2)
    );
}

#[test]
fn bad_case_settings_are_rejected_with_their_keys() {
    assert!(Config::parse("[cases]\nanswr_days = 3\n").is_err());
    assert!(Config::parse("[cases.rules.enterprise_stalled]\ncases = true\n").is_err());
    let c = config(
        "[cases]\nanswer_days = 0\ncauses = [\"资金紧张\", \"资金紧张\"]\nproject_causes = []\n\
         [cases.rules.enterprise_stoled]\ncase = true\n\
         [cases.rules.source_failing]\ncase = true\n\
         [cases.rules.project_idle]\nanswer_days = 90\n",
    );
    let k = keys(&c);
    for want in [
        "cases.answer_days",
        "cases.causes",
        "cases.project_causes",
        "cases.rules.enterprise_stoled",
        "cases.rules.source_failing.case",
        "cases.rules.project_idle.answer_days",
    ] {
        assert!(k.contains(&want.to_string()), "{want} in {k:?}");
    }
}

#[test]
fn a_unit_has_one_case_owner_and_an_owner_needs_units() {
    let c = config(
        "[[recipients]]\nid = \"east2\"\nname = \"东区2\"\nemail = \"e2@x.cn\"\nrole = \"district\"\nunits = [\"3301\"]\ncase_owner = true\n\
         [[recipients]]\nid = \"li\"\nname = \"李\"\nemail = \"li@x.cn\"\nrole = \"owner\"\ncase_owner = true\n",
    );
    let problems = c.validate();
    let k: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(
        k,
        ["recipients[4].case_owner", "recipients[5].case_owner"],
        "{problems:?}"
    );
    assert!(problems[0].message.contains("3301"), "{problems:?}");
}

#[test]
fn units_that_can_get_cases_without_an_owner_are_named() {
    let c = config("");
    let units = vec!["3301".to_string(), "3302".to_string(), "ZK01".to_string()];
    assert_eq!(
        config::units_without_owner(&c.recipients, &units),
        ["3302", "ZK01"]
    );
}

#[test]
fn the_owner_is_the_leader_where_set_else_the_units_case_owner() {
    let c = config("");
    let r = &c.recipients;
    assert_eq!(owner_for(r, Some("zhang"), "3301").unwrap().id, "zhang");
    assert_eq!(owner_for(r, None, "3301").unwrap().id, "east");
    // A leader not configured as a recipient: the unit's owner answers.
    assert_eq!(owner_for(r, Some("nobody"), "3301").unwrap().id, "east");
    // Zone officials do not own cases.
    assert!(owner_for(r, None, "ZK01").is_none());
}

fn case(owner: Option<&str>, subject: &str, scope: &[&str]) -> Case {
    Case {
        id: 1,
        alert_id: 1,
        rule: "enterprise_stalled".into(),
        subject: subject.into(),
        subject_name: "甲厂".into(),
        unit_code: scope[0].into(),
        owner: owner.map(str::to_string),
        state: CaseState::Assigned,
        severity: Severity::Orange,
        period: "2026-10".into(),
        opened_at: 0,
        answer_days: 5,
        escalate_days: 3,
        delivered_at: None,
        due_at: Some(1_000),
        escalate_at: Some(2_000),
        answered_at: None,
        late: false,
        closed_at: None,
        closed_by: None,
        close_reason: None,
        closed_period: None,
        previous_case: None,
        version: 1,
        updated_at: 0,
        scope: scope.iter().map(|s| s.to_string()).collect(),
    }
}

#[test]
fn scope_decides_who_sees_answers_and_decides() {
    let c = config("");
    let r = &c.recipients;
    let who = |id: &str| Actor::Recipient(id.into());
    let in_zone = case(Some("east"), "91330100MA2BBBBB2Y", &["3301", "ZK01", "33"]);
    let a = access(r, &who("east"), &in_zone);
    assert_eq!((a.see, a.answer, a.decide), (true, true, false));
    let a = access(r, &who("zone"), &in_zone);
    assert_eq!(
        (a.see, a.answer, a.decide),
        (true, false, false),
        "zone sees, does not own"
    );
    let a = access(r, &who("city"), &in_zone);
    assert_eq!((a.see, a.answer, a.decide), (true, false, true));
    assert!(!access(r, &who("zhang"), &in_zone).see);
    assert!(!access(r, &who("stranger"), &in_zone).see);
    let a = access(r, &Actor::Operator("root".into()), &in_zone);
    assert_eq!((a.see, a.answer, a.decide), (true, false, false));
    let other = case(Some("west"), "91330200MA2CCCCC3Z", &["3302", "33"]);
    assert!(!access(r, &who("east"), &other).see);
    let theirs = case(None, "91330100MA2AAAAA1X", &["3302", "33"]);
    assert!(access(r, &who("zhang"), &theirs).see);
}

#[test]
fn overdue_and_escalated_are_flags_of_an_unanswered_case() {
    let mut c = case(Some("east"), "x", &["3301"]);
    assert!(!c.overdue(1_000) && c.overdue(1_001));
    assert!(!c.escalated(2_000) && c.escalated(2_001));
    c.state = CaseState::Answered;
    assert!(!c.overdue(5_000) && !c.escalated(5_000));
    c.state = CaseState::Returned;
    assert!(c.overdue(5_000));
    c.due_at = None;
    assert!(!c.overdue(5_000), "not delivered yet: not due");
}

fn live(id: i64, rule: Rule, severity: Severity, period: &str) -> LiveAlert {
    LiveAlert {
        id,
        rule: rule.as_str().into(),
        subject: format!("s{id}"),
        subject_name: format!("企业{id}"),
        unit_code: "3301".into(),
        owner: None,
        severity,
        period: period.into(),
        unit_kind: Some("district".into()),
    }
}

fn head(
    id: i64,
    alert_id: i64,
    state: CaseState,
    reason: Option<&str>,
    period: Option<&str>,
) -> CaseHead {
    CaseHead {
        id,
        alert_id,
        state,
        close_reason: reason.map(str::to_string),
        closed_period: period.map(str::to_string),
    }
}

#[test]
fn which_alerts_open_cases() {
    let c = config("");
    let alerts = [
        live(1, Rule::EnterpriseStalled, Severity::Orange, "2026-10"),
        live(2, Rule::EnterpriseReduced, Severity::Blue, "2026-10"),
        live(3, Rule::UnitBelowAverage, Severity::Red, "2026-10"),
        live(4, Rule::EnterpriseStalled, Severity::Yellow, "2026-10"),
        live(5, Rule::EnterpriseStalled, Severity::Yellow, "2026-10"),
        live(6, Rule::EnterpriseStalled, Severity::Yellow, "2026-11"),
        live(7, Rule::EnterpriseStalled, Severity::Yellow, "2026-10"),
        LiveAlert {
            unit_kind: Some("city".into()),
            ..live(8, Rule::UnitBelowTarget, Severity::Red, "2026-10")
        },
    ];
    let heads = [
        head(40, 4, CaseState::Answered, None, None),
        head(50, 5, CaseState::Closed, Some("approved"), Some("2026-10")),
        head(60, 6, CaseState::Closed, Some("approved"), Some("2026-10")),
        head(70, 7, CaseState::Closed, Some("resolved"), Some("2026-09")),
    ];
    let new = sync::to_open(&alerts, &heads, &c.cases, &c.recipients);
    let got: Vec<(i64, Option<i64>, Option<&str>)> = new
        .iter()
        .map(|n| (n.alert.id, n.previous_case, n.owner.as_deref()))
        .collect();
    assert_eq!(
        got,
        [
            (1, None, Some("east")),
            (6, Some(60), Some("east")),
            (7, Some(70), Some("east")),
        ]
    );
}
