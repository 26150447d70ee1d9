//! What the month's statistics showed of a 旬 warning (DESIGN.md, "Every ten days"): confirmed
//! by a 停产, 半停产 or 减产 finding, cleared by a report without one, or not reported. Pure: the
//! evaluation of a month applies it (`evaluate::xun_check`).

use std::collections::HashMap;

use serde::Serialize;

use crate::rules::{Finding, Rule};

/// What the month showed of a 旬 warning.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// 月度数据证实: a monthly 停产, 半停产 or 减产 finding of the enterprise.
    Confirmed(Rule),
    /// 月度数据未证实: the enterprise reported the month without one.
    Cleared,
    /// 当月未报: the enterprise has no submission for the month.
    Unreported,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Confirmed(_) => "confirmed",
            Outcome::Cleared => "cleared",
            Outcome::Unreported => "unreported",
        }
    }

    /// As the report says it: `月度数据证实（停产）`.
    pub fn zh(self) -> String {
        match self {
            Outcome::Confirmed(r) => format!("月度数据证实（{}）", r.zh()),
            Outcome::Cleared => "月度数据未证实".into(),
            Outcome::Unreported => "当月未报".into(),
        }
    }
}

/// A 旬 warning as stored (`xun_warning`), with its enterprise's and unit's names.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct IssuedWarning {
    pub xun: String,
    pub credit_code: String,
    pub name: Option<String>,
    pub unit_name: Option<String>,
    pub rule: String,
    pub outcome: Option<String>,
    pub monthly_rule: Option<String>,
    /// When it was first issued, epoch milliseconds.
    pub issued_at: i64,
}

/// The 旬 rules whose warnings are checked against the month.
pub fn is_checked(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::EnterprisePowerStalled | Rule::EnterprisePowerDrop
    )
}

/// The monthly rules that confirm a 旬 warning, strongest first.
const CONFIRMING: [Rule; 3] = [
    Rule::EnterpriseStalled,
    Rule::EnterpriseSemiStalled,
    Rule::EnterpriseReduced,
];

/// The outcome of each enterprise the month's findings and coverage speak of: the strongest
/// confirming finding, else unreported when absent, else cleared.
pub fn outcomes<'a>(
    findings: &'a [Finding],
    absent: impl Fn(&str) -> bool + 'a,
) -> impl Fn(&str) -> Outcome + 'a {
    let mut confirmed: HashMap<&str, Rule> = HashMap::new();
    for f in findings.iter().filter(|f| CONFIRMING.contains(&f.rule)) {
        let strongest = |r: Rule| CONFIRMING.iter().position(|c| *c == r);
        let e = confirmed.entry(f.subject.as_str()).or_insert(f.rule);
        if strongest(f.rule) < strongest(*e) {
            *e = f.rule;
        }
    }
    move |code: &str| match confirmed.get(code) {
        Some(r) => Outcome::Confirmed(*r),
        None if absent(code) => Outcome::Unreported,
        None => Outcome::Cleared,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn finding(rule: Rule, subject: &str) -> Finding {
        Finding {
            rule,
            severity: crate::rules::Severity::Orange,
            subject: subject.into(),
            subject_name: String::new(),
            indicator: "output".into(),
            unit: "330781".into(),
            scope: Vec::new(),
            owner: None,
            period: "2026-10".parse().unwrap(),
            consecutive: 1,
            message: String::new(),
            values: serde_json::Map::new(),
        }
    }

    #[test]
    fn the_strongest_monthly_finding_confirms_else_absent_or_cleared() {
        let findings = [
            finding(Rule::EnterpriseReduced, "A"),
            finding(Rule::EnterpriseStalled, "A"),
            finding(Rule::EnterpriseSemiStalled, "B"),
            finding(Rule::DataDivergence, "C"),
        ];
        let absent = HashSet::from(["D".to_string()]);
        let of = outcomes(&findings, |c| absent.contains(c));
        assert_eq!(of("A"), Outcome::Confirmed(Rule::EnterpriseStalled));
        assert_eq!(of("B"), Outcome::Confirmed(Rule::EnterpriseSemiStalled));
        assert_eq!(of("C"), Outcome::Cleared, "divergence confirms nothing");
        assert_eq!(of("D"), Outcome::Unreported);
        assert_eq!(of("A").zh(), "月度数据证实（停产）");
    }
}
