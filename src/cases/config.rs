//! `[cases]`: which alerts become cases (交办), how long an owner has to answer (反馈) and when
//! 督办 follows, and the causes an answer chooses from.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::notify::{RecipientConfig, Role};
use crate::rules::{About, Rule, Severity};

/// Causes of an enterprise's stall or reduction (and of a unit's shortfall), as the issue lists.
pub const ENTERPRISE_CAUSES: [&str; 12] = [
    "订单不足/市场需求",
    "资金紧张",
    "原材料或能源供应",
    "设备检修或技改",
    "环保或安全限产",
    "用工",
    "物流",
    "政策调整",
    "搬迁或转产",
    "季节性生产",
    "报送差错",
    "其他",
];

/// Causes of a key project's delay.
pub const PROJECT_CAUSES: [&str; 7] = [
    "用地",
    "资金",
    "审批手续",
    "施工组织",
    "设备到位",
    "市场变化",
    "其他",
];

/// `[cases]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CasesConfig {
    /// Working days to answer, counted from the day the digest that first carried the case was
    /// delivered (day 0); due at 18:00 Shanghai time.
    pub answer_days: u32,
    /// Further working days after the due day before 督办 (the supervisor is told).
    pub escalate_days: u32,
    /// The causes an answer about an enterprise or a unit chooses from.
    pub causes: Vec<String>,
    /// The causes an answer about a key project chooses from.
    pub project_causes: Vec<String>,
    /// Per rule: `[cases.rules.enterprise_stalled] case = true, min_severity = "yellow", …`.
    pub rules: BTreeMap<String, RuleCases>,
}

impl Default for CasesConfig {
    fn default() -> CasesConfig {
        CasesConfig {
            answer_days: 5,
            escalate_days: 3,
            causes: ENTERPRISE_CAUSES.iter().map(|s| s.to_string()).collect(),
            project_causes: PROJECT_CAUSES.iter().map(|s| s.to_string()).collect(),
            rules: BTreeMap::new(),
        }
    }
}

/// `[cases.rules.<rule>]`: what differs from the defaults for one rule.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleCases {
    pub case: Option<bool>,
    pub min_severity: Option<Severity>,
    pub answer_days: Option<u32>,
    pub escalate_days: Option<u32>,
}

/// How alerts of one rule become cases.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CasePolicy {
    pub min_severity: Severity,
    pub answer_days: u32,
    pub escalate_days: u32,
}

/// Whether a rule's alerts become cases when the configuration does not say: enterprise
/// stalls, reductions and missing reports, the unit target rules and the project rules.
pub fn case_by_default(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::EnterpriseStalled
            | Rule::EnterpriseSemiStalled
            | Rule::EnterpriseReduced
            | Rule::EnterpriseMissing
            | Rule::UnitBelowTarget
            | Rule::UnitTargetAtRisk
            | Rule::UnitProgressLagging
            | Rule::UnitConsecutiveLagging
            | Rule::ProjectBehindSchedule
            | Rule::ProjectNotStarted
            | Rule::ProjectIdle
            | Rule::ProjectMissing
    )
}

impl CasesConfig {
    /// The policy of a rule whose alerts become cases; none for the others.
    pub fn policy(&self, rule: Rule) -> Option<CasePolicy> {
        let own = self.rules.get(rule.as_str());
        let on = own
            .and_then(|r| r.case)
            .unwrap_or_else(|| case_by_default(rule));
        on.then(|| CasePolicy {
            min_severity: own.and_then(|r| r.min_severity).unwrap_or(Severity::Yellow),
            answer_days: own.and_then(|r| r.answer_days).unwrap_or(self.answer_days),
            escalate_days: own
                .and_then(|r| r.escalate_days)
                .unwrap_or(self.escalate_days),
        })
    }

    /// Every rule whose alerts become cases, with its policy.
    pub fn case_rules(&self) -> Vec<(Rule, CasePolicy)> {
        Rule::ALL
            .into_iter()
            .filter_map(|r| self.policy(r).map(|p| (r, p)))
            .collect()
    }

    /// The causes an answer about this rule's subject chooses from.
    pub fn causes_for(&self, rule: Rule) -> &[String] {
        match rule.about() {
            About::Project => &self.project_causes,
            _ => &self.causes,
        }
    }

    /// Problems with the values, keyed as in the file.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let days = |key: String, n: u32, out: &mut Vec<(String, String)>| {
            if !(1..=60).contains(&n) {
                out.push((
                    key,
                    "应在1到60个工作日之间 (must be 1–60 working days)".into(),
                ));
            }
        };
        days("cases.answer_days".into(), self.answer_days, &mut out);
        days("cases.escalate_days".into(), self.escalate_days, &mut out);
        for (key, list) in [
            ("cases.causes", &self.causes),
            ("cases.project_causes", &self.project_causes),
        ] {
            if list.is_empty() || list.iter().any(|c| c.trim().is_empty()) {
                out.push((key.into(), "原因不能为空 (causes must be non-empty)".into()));
            }
            let mut seen = std::collections::HashSet::new();
            for c in list {
                if !seen.insert(c.as_str()) {
                    out.push((key.into(), format!("“{c}”重复 (duplicate cause)")));
                }
            }
        }
        for (name, r) in &self.rules {
            let key = format!("cases.rules.{name}");
            match name.parse::<Rule>() {
                Err(e) => out.push((key.clone(), e.to_string())),
                Ok(rule) if rule.about() == About::Source && r.case == Some(true) => out.push((
                    format!("{key}.case"),
                    "数据来源故障由运维处理，不能交办 (source failures are for operators, not cases)"
                        .into(),
                )),
                Ok(_) => {}
            }
            if let Some(n) = r.answer_days {
                days(format!("{key}.answer_days"), n, &mut out);
            }
            if let Some(n) = r.escalate_days {
                days(format!("{key}.escalate_days"), n, &mut out);
            }
        }
        out
    }
}

/// Who owns a case about a subject of `unit` whose 包抓领导 is `subject_owner`: that leader
/// when configured as a recipient, else the recipient marked `case_owner` for the unit.
pub fn owner_for<'a>(
    recipients: &'a [RecipientConfig],
    subject_owner: Option<&str>,
    unit: &str,
) -> Option<&'a RecipientConfig> {
    subject_owner
        .and_then(|o| recipients.iter().find(|r| r.id == o))
        .or_else(|| unit_owner(recipients, unit))
}

/// The recipient marked `case_owner` whose units include `unit`.
pub fn unit_owner<'a>(
    recipients: &'a [RecipientConfig],
    unit: &str,
) -> Option<&'a RecipientConfig> {
    recipients
        .iter()
        .find(|r| r.case_owner && r.units.iter().any(|u| u == unit))
}

/// Problems of `case_owner` in `[[recipients]]`: one owner a unit, and only officials of a unit.
pub fn owner_config_problems(recipients: &[RecipientConfig]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut owned: BTreeMap<&str, &str> = BTreeMap::new();
    for (i, r) in recipients.iter().enumerate() {
        if !r.case_owner {
            continue;
        }
        let key = format!("recipients[{i}].case_owner");
        if r.units.is_empty() || r.role == Role::Owner {
            out.push((
                key.clone(),
                "case_owner 需要 units：负责哪些单位的交办 (case_owner needs the units it owns cases of)".into(),
            ));
        }
        for u in &r.units {
            if let Some(first) = owned.insert(u.as_str(), r.id.as_str()) {
                out.push((
                    key.clone(),
                    format!("单位 {u} 已由“{first}”负责交办，每个单位只能有一个 (unit {u} already has a case owner)"),
                ));
            }
        }
    }
    out
}

/// The units among `units` (those that can get cases: where enterprises report, units with
/// targets, units of key projects) that have no case owner.
pub fn units_without_owner<'a>(
    recipients: &[RecipientConfig],
    units: &'a [String],
) -> Vec<&'a str> {
    units
        .iter()
        .filter(|u| unit_owner(recipients, u).is_none())
        .map(String::as_str)
        .collect()
}
