//! The rules by name (DESIGN.md, Rules): one enum instead of names repeated as strings, with
//! every fact about a rule that does not depend on the configuration.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::Severity;
use crate::analysis::State;

/// What a rule's findings are about: the kind of their `subject`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum About {
    /// A credit code.
    Enterprise,
    /// A unit code (district, zone or the city).
    Unit,
    /// A data source's name.
    Source,
    /// A key project's id.
    Project,
}

/// A rule indmon evaluates. Stored, serialised and configured by its code name
/// ([`Rule::as_str`]); ordered by that name, as the stored strings are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rule {
    EnterpriseStalled,
    EnterpriseSemiStalled,
    EnterpriseReduced,
    EnterpriseMissing,
    EnterpriseExitRisk,
    EnterpriseUpgradeCandidate,
    DataDivergence,
    DataInconsistent,
    UnitBelowTarget,
    UnitBelowAverage,
    UnitTargetAtRisk,
    UnitProgressLagging,
    UnitLowSubmissionRate,
    UnitConsecutiveLagging,
    SourceFailing,
    ProjectBehindSchedule,
    ProjectNotStarted,
    ProjectIdle,
    ProjectMissing,
    EnterprisePowerStalled,
    EnterprisePowerDrop,
    EnterprisePowerResumed,
}

impl Rule {
    /// Every rule, in the order DESIGN.md lists them (enterprises, units, sources, projects).
    pub const ALL: [Rule; 22] = [
        Rule::EnterpriseStalled,
        Rule::EnterpriseSemiStalled,
        Rule::EnterpriseReduced,
        Rule::EnterpriseMissing,
        Rule::EnterpriseExitRisk,
        Rule::EnterpriseUpgradeCandidate,
        Rule::DataDivergence,
        Rule::DataInconsistent,
        Rule::UnitBelowTarget,
        Rule::UnitBelowAverage,
        Rule::UnitTargetAtRisk,
        Rule::UnitProgressLagging,
        Rule::UnitLowSubmissionRate,
        Rule::UnitConsecutiveLagging,
        Rule::SourceFailing,
        Rule::ProjectBehindSchedule,
        Rule::ProjectNotStarted,
        Rule::ProjectIdle,
        Rule::ProjectMissing,
        Rule::EnterprisePowerStalled,
        Rule::EnterprisePowerDrop,
        Rule::EnterprisePowerResumed,
    ];

    /// The code name: stored in `alert.rule`, printed in JSON, used as a configuration key.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::EnterpriseStalled => "enterprise_stalled",
            Rule::EnterpriseSemiStalled => "enterprise_semi_stalled",
            Rule::EnterpriseReduced => "enterprise_reduced",
            Rule::EnterpriseMissing => "enterprise_missing",
            Rule::EnterpriseExitRisk => "enterprise_exit_risk",
            Rule::EnterpriseUpgradeCandidate => "enterprise_upgrade_candidate",
            Rule::DataDivergence => "data_divergence",
            Rule::DataInconsistent => "data_inconsistent",
            Rule::UnitBelowTarget => "unit_below_target",
            Rule::UnitBelowAverage => "unit_below_average",
            Rule::UnitTargetAtRisk => "unit_target_at_risk",
            Rule::UnitProgressLagging => "unit_progress_lagging",
            Rule::UnitLowSubmissionRate => "unit_low_submission_rate",
            Rule::UnitConsecutiveLagging => "unit_consecutive_lagging",
            Rule::SourceFailing => "source_failing",
            Rule::ProjectBehindSchedule => "project_behind_schedule",
            Rule::ProjectNotStarted => "project_not_started",
            Rule::ProjectIdle => "project_idle",
            Rule::ProjectMissing => "project_missing",
            Rule::EnterprisePowerStalled => "enterprise_power_stalled",
            Rule::EnterprisePowerDrop => "enterprise_power_drop",
            Rule::EnterprisePowerResumed => "enterprise_power_resumed",
        }
    }

    /// The Chinese name officials read.
    pub fn zh(self) -> &'static str {
        match self {
            Rule::EnterpriseStalled => "停产",
            Rule::EnterpriseSemiStalled => "半停产",
            Rule::EnterpriseReduced => "减产",
            Rule::EnterpriseMissing => "未报",
            Rule::EnterpriseExitRisk => "退库风险",
            Rule::EnterpriseUpgradeCandidate => "升规培育",
            Rule::DataDivergence => "产值电量背离",
            Rule::DataInconsistent => "累计数不一致",
            Rule::UnitBelowTarget => "增速低于目标",
            Rule::UnitBelowAverage => "增速低于全市",
            Rule::UnitTargetAtRisk => "全年目标难完成",
            Rule::UnitProgressLagging => "进度滞后",
            Rule::UnitLowSubmissionRate => "报送率低",
            Rule::UnitConsecutiveLagging => "连续落后",
            Rule::SourceFailing => "数据来源故障",
            Rule::ProjectBehindSchedule => "项目投资进度滞后",
            Rule::ProjectNotStarted => "项目逾期未开工",
            Rule::ProjectIdle => "项目建成未投产",
            Rule::ProjectMissing => "项目进度未报",
            Rule::EnterprisePowerStalled => "疑似停产",
            Rule::EnterprisePowerDrop => "用电大幅下降",
            Rule::EnterprisePowerResumed => "复产",
        }
    }

    /// What the rule's findings are about. The two data-quality checks are about enterprises.
    pub fn about(self) -> About {
        match self {
            Rule::EnterpriseStalled
            | Rule::EnterpriseSemiStalled
            | Rule::EnterpriseReduced
            | Rule::EnterpriseMissing
            | Rule::EnterpriseExitRisk
            | Rule::EnterpriseUpgradeCandidate
            | Rule::DataDivergence
            | Rule::DataInconsistent
            | Rule::EnterprisePowerStalled
            | Rule::EnterprisePowerDrop
            | Rule::EnterprisePowerResumed => About::Enterprise,
            Rule::UnitBelowTarget
            | Rule::UnitBelowAverage
            | Rule::UnitTargetAtRisk
            | Rule::UnitProgressLagging
            | Rule::UnitLowSubmissionRate
            | Rule::UnitConsecutiveLagging => About::Unit,
            Rule::SourceFailing => About::Source,
            Rule::ProjectBehindSchedule
            | Rule::ProjectNotStarted
            | Rule::ProjectIdle
            | Rule::ProjectMissing => About::Project,
        }
    }

    /// The severity when `[rules.severity]` does not set one.
    pub fn default_severity(self) -> Severity {
        match self {
            Rule::EnterpriseStalled
            | Rule::DataDivergence
            | Rule::UnitTargetAtRisk
            | Rule::SourceFailing => Severity::Orange,
            Rule::EnterpriseReduced
            | Rule::EnterpriseUpgradeCandidate
            | Rule::UnitBelowAverage
            | Rule::EnterprisePowerDrop
            | Rule::EnterprisePowerResumed => Severity::Blue,
            Rule::UnitConsecutiveLagging => Severity::Red,
            Rule::EnterpriseSemiStalled
            | Rule::EnterpriseMissing
            | Rule::EnterpriseExitRisk
            | Rule::DataInconsistent
            | Rule::UnitBelowTarget
            | Rule::UnitProgressLagging
            | Rule::UnitLowSubmissionRate
            | Rule::ProjectBehindSchedule
            | Rule::ProjectNotStarted
            | Rule::ProjectIdle
            | Rule::ProjectMissing
            | Rule::EnterprisePowerStalled => Severity::Yellow,
        }
    }

    /// The rule of an enterprise's month state (停产, 半停产, 减产); none for a normal month.
    pub fn of_state(state: State) -> Option<Rule> {
        match state {
            State::Normal => None,
            State::Reduced => Some(Rule::EnterpriseReduced),
            State::SemiStalled => Some(Rule::EnterpriseSemiStalled),
            State::Stalled => Some(Rule::EnterpriseStalled),
        }
    }

    /// Whether the rule is judged every 旬 on metered electricity (`rules::power`) rather than
    /// every month.
    pub fn is_xun(self) -> bool {
        matches!(
            self,
            Rule::EnterprisePowerStalled | Rule::EnterprisePowerDrop | Rule::EnterprisePowerResumed
        )
    }

    /// Whether the rule reports a data-quality problem rather than an economic warning.
    pub fn is_quality(self) -> bool {
        matches!(
            self,
            Rule::DataDivergence
                | Rule::DataInconsistent
                | Rule::EnterpriseMissing
                | Rule::UnitLowSubmissionRate
                | Rule::ProjectMissing
        )
    }
}

/// A name that is no rule's code name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownRule(pub String);

impl fmt::Display for UnknownRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "没有名为“{}”的规则 (unknown rule)", self.0)
    }
}

impl std::error::Error for UnknownRule {}

impl FromStr for Rule {
    type Err = UnknownRule;

    fn from_str(s: &str) -> Result<Rule, UnknownRule> {
        Rule::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRule(s.to_string()))
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl AsRef<str> for Rule {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq<str> for Rule {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Rule {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for Rule {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<Rule> for String {
    fn eq(&self, other: &Rule) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<Rule> for str {
    fn eq(&self, other: &Rule) -> bool {
        self == other.as_str()
    }
}

impl PartialOrd for Rule {
    fn partial_cmp(&self, other: &Rule) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Rule {
    /// By code name, so that sorting by rule orders as the stored strings do.
    fn cmp(&self, other: &Rule) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl Serialize for Rule {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Rule {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Rule, D::Error> {
        let name = std::borrow::Cow::<'de, str>::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

/// The Chinese name of a stored rule name (the name itself when no rule has it).
pub fn rule_zh(rule: &str) -> &str {
    rule.parse::<Rule>().map_or(rule, |r| r.zh())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_round_trips_through_its_name_and_json() {
        for r in Rule::ALL {
            assert_eq!(r.as_str().parse::<Rule>(), Ok(r));
            assert_eq!(r.to_string(), r.as_str());
            let json = serde_json::to_string(&r).unwrap();
            assert_eq!(json, format!("\"{}\"", r.as_str()));
            assert_eq!(serde_json::from_str::<Rule>(&json).unwrap(), r);
        }
        let mut names: Vec<&str> = Rule::ALL.iter().map(|r| r.as_str()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Rule::ALL.len(), "names are distinct");
    }

    #[test]
    fn an_unknown_name_is_refused_with_the_name() {
        let e = "enterprise_stoled".parse::<Rule>().unwrap_err();
        assert!(e.to_string().contains("enterprise_stoled"), "{e}");
        assert!(serde_json::from_str::<Rule>("\"enterprise_stoled\"").is_err());
        assert_eq!(rule_zh("enterprise_stoled"), "enterprise_stoled");
        assert_eq!(rule_zh("enterprise_stalled"), "停产");
    }

    #[test]
    fn rules_order_by_name_as_stored_strings_do() {
        let mut rules = Rule::ALL.to_vec();
        rules.sort();
        let mut names: Vec<&str> = Rule::ALL.iter().map(|r| r.as_str()).collect();
        names.sort();
        assert_eq!(rules.iter().map(|r| r.as_str()).collect::<Vec<_>>(), names);
    }

    #[test]
    fn prefixes_agree_with_what_a_rule_is_about() {
        for r in Rule::ALL {
            let by_prefix = match r.as_str().split('_').next() {
                Some("unit") => About::Unit,
                Some("project") => About::Project,
                Some("source") => About::Source,
                _ => About::Enterprise,
            };
            assert_eq!(r.about(), by_prefix, "{r}");
        }
    }
}
