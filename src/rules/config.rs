//! Thresholds and severities of the rules (`[rules]` in the configuration). Every default is the
//! one DESIGN.md gives.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Rule;

/// A warning level, lowest first, like China's warning colours (蓝 黄 橙 红).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Blue,
    Yellow,
    Orange,
    Red,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Blue => "blue",
            Severity::Yellow => "yellow",
            Severity::Orange => "orange",
            Severity::Red => "red",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            Severity::Blue => "蓝色",
            Severity::Yellow => "黄色",
            Severity::Orange => "橙色",
            Severity::Red => "红色",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        match s.trim() {
            "blue" | "蓝" | "蓝色" => Some(Severity::Blue),
            "yellow" | "黄" | "黄色" => Some(Severity::Yellow),
            "orange" | "橙" | "橙色" => Some(Severity::Orange),
            "red" | "红" | "红色" => Some(Severity::Red),
            _ => None,
        }
    }

    /// One level up, capped at red.
    pub fn raised(self, levels: usize) -> Severity {
        const ALL: [Severity; 4] = [
            Severity::Blue,
            Severity::Yellow,
            Severity::Orange,
            Severity::Red,
        ];
        ALL[(self as usize + levels).min(3)]
    }
}

/// `[rules]`: thresholds, severities and switches.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RulesConfig {
    /// Below this share of the base a month is 半停产 (0.5 = 50%).
    pub semi_stalled_ratio: f64,
    /// Below this share of the base a month is 减产.
    pub reduced_ratio: f64,
    /// Months in a row after which an enterprise finding's severity rises one level each.
    pub raise_after: Vec<u32>,
    /// Months in a row from which an alert is escalated to the responsible person's supervisor.
    pub escalate_after: u32,
    /// 退库风险 when annualised revenue is below the above-scale threshold times this.
    pub exit_risk_margin: f64,
    /// 产值电量背离 when output growth exceeds electricity growth by more than this (pp).
    pub divergence_pp: f64,
    /// … and last year's electricity of the month is at least this (万千瓦时).
    pub electricity_floor: f64,
    /// Reported ytd differing from the sum of months by more than this percent.
    pub inconsistent_pct: f64,
    /// Gaps (pp, ≤) at which a unit below target is yellow, orange and red (else blue).
    pub below_target_pp: [f64; 3],
    /// 全年目标难完成 when required growth exceeds the annual target by more than this (pp).
    pub at_risk_pp: f64,
    /// Volume targets lag when completion is below time progress by more than this (pp).
    pub volume_tolerance_pp: f64,
    /// 报送率 below this percent is low.
    pub submission_rate_min: f64,
    /// Periods in a row below target that make a unit 连续落后 (约谈名单).
    pub lagging_periods: u32,
    /// A key project is behind schedule when its ytd investment share of this year's plan is
    /// below time progress by more than this (pp).
    pub project_tolerance_pp: f64,
    /// Months a project may stay completed (竣工) without producing before it is 建成未投产.
    pub project_idle_months: u32,
    /// Rules not evaluated at all.
    pub disabled: Vec<String>,
    /// Base severity per rule, overriding the defaults.
    pub severity: BTreeMap<String, Severity>,
}

impl Default for RulesConfig {
    fn default() -> RulesConfig {
        RulesConfig {
            semi_stalled_ratio: 0.5,
            reduced_ratio: 0.9,
            raise_after: vec![3, 6],
            escalate_after: 3,
            exit_risk_margin: 1.1,
            divergence_pp: 30.0,
            electricity_floor: 10.0,
            inconsistent_pct: 0.5,
            below_target_pp: [-1.0, -2.0, -3.0],
            at_risk_pp: 5.0,
            volume_tolerance_pp: 5.0,
            submission_rate_min: 95.0,
            lagging_periods: 3,
            project_tolerance_pp: 10.0,
            project_idle_months: 3,
            disabled: Vec::new(),
            severity: BTreeMap::new(),
        }
    }
}

/// Converts a ratio such as 0.9 to exact ten-thousandths (9000).
pub fn basis_points(x: f64) -> i64 {
    (x * 10_000.0).round() as i64
}

impl RulesConfig {
    /// The thresholds of 半停产 and 减产 as exact ten-thousandths of the base.
    pub fn state_thresholds(&self) -> crate::analysis::StateThresholds {
        crate::analysis::StateThresholds {
            semi_stalled: basis_points(self.semi_stalled_ratio),
            reduced: basis_points(self.reduced_ratio),
        }
    }

    /// The base severity of a rule: `[rules.severity]`, else the rule's default.
    pub fn severity_of(&self, rule: Rule) -> Severity {
        self.severity
            .get(rule.as_str())
            .copied()
            .unwrap_or_else(|| rule.default_severity())
    }

    /// The base severity raised one level for each `raise_after` step reached.
    pub fn raised(&self, rule: Rule, consecutive: u32) -> Severity {
        let steps = self
            .raise_after
            .iter()
            .filter(|n| consecutive >= **n)
            .count();
        self.severity_of(rule).raised(steps)
    }

    /// Whether the rule is evaluated (not listed in `disabled`).
    pub fn enabled(&self, rule: Rule) -> bool {
        !self.disabled.iter().any(|r| *r == rule)
    }

    /// The rules listed in `disabled` (names that are no rule are left out: `problems` reports
    /// them).
    pub fn disabled_rules(&self) -> impl Iterator<Item = Rule> + '_ {
        self.disabled.iter().filter_map(|r| r.parse().ok())
    }

    /// Problems with the values, keyed as in the file.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let ratio_ok = |x: f64| x > 0.0 && x <= 1.0;
        if !ratio_ok(self.semi_stalled_ratio) || !ratio_ok(self.reduced_ratio) {
            out.push((
                "rules.semi_stalled_ratio".into(),
                "应在 0 到 1 之间 (must be within 0..1)".into(),
            ));
        }
        if self.semi_stalled_ratio >= self.reduced_ratio {
            out.push((
                "rules.reduced_ratio".into(),
                "减产比例应大于半停产比例 (reduced_ratio must exceed semi_stalled_ratio)".into(),
            ));
        }
        if !(self.below_target_pp[0] >= self.below_target_pp[1]
            && self.below_target_pp[1] >= self.below_target_pp[2])
        {
            out.push((
                "rules.below_target_pp".into(),
                "应从大到小，如 [-1, -2, -3] (must descend: yellow, orange, red)".into(),
            ));
        }
        if !(0.0..=100.0).contains(&self.project_tolerance_pp) {
            out.push((
                "rules.project_tolerance_pp".into(),
                "应在 0 到 100 之间 (must be within 0..100 percentage points)".into(),
            ));
        }
        if self.project_idle_months == 0 {
            out.push((
                "rules.project_idle_months".into(),
                "应至少为1个月 (must be at least 1)".into(),
            ));
        }
        for r in &self.disabled {
            if let Err(e) = r.parse::<Rule>() {
                out.push(("rules.disabled".into(), e.to_string()));
            }
        }
        for r in self.severity.keys() {
            if let Err(e) = r.parse::<Rule>() {
                out.push((format!("rules.severity.{r}"), e.to_string()));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_rule_names_are_problems_named_by_their_key() {
        let mut cfg = RulesConfig {
            disabled: vec!["enterprise_stalled".into(), "enterprise_stoled".into()],
            ..RulesConfig::default()
        };
        cfg.severity
            .insert("unit_below_targt".into(), Severity::Red);
        cfg.severity
            .insert("unit_below_target".into(), Severity::Red);
        let problems = cfg.problems();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert_eq!(problems[0].0, "rules.disabled");
        assert!(problems[0].1.contains("enterprise_stoled"), "{problems:?}");
        assert_eq!(problems[1].0, "rules.severity.unit_below_targt");
        assert!(!cfg.enabled(Rule::EnterpriseStalled));
        assert_eq!(cfg.severity_of(Rule::UnitBelowTarget), Severity::Red);
        assert_eq!(cfg.severity_of(Rule::UnitBelowAverage), Severity::Blue);
        assert_eq!(
            cfg.disabled_rules().collect::<Vec<_>>(),
            [Rule::EnterpriseStalled]
        );
    }
}
