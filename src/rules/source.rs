//! Source rule: a source whose pulls keep failing is an alert to the city's administrators
//! (数据来源故障), so that indmon never goes quiet without saying why.

use serde_json::{Map, json};

use super::{Finding, Rule, RulesConfig};
use crate::period::Period;

/// A configured source's failure count, as the store keeps it.
#[derive(Clone, Debug)]
pub struct SourceFailures {
    pub source: String,
    pub consecutive_failures: i64,
    /// From the source's `failure_alert_after`.
    pub threshold: u32,
    pub last_error: Option<String>,
    pub last_success_at: Option<i64>,
}

/// One finding per source that failed `threshold` times in a row or more; red at twice that.
pub fn findings(
    sources: &[SourceFailures],
    city: (&str, &str),
    period: Period,
    cfg: &RulesConfig,
) -> Vec<Finding> {
    let mut out = Vec::new();
    for s in sources {
        let threshold = i64::from(s.threshold.max(1));
        if s.consecutive_failures < threshold {
            continue;
        }
        let mut severity = cfg.severity_of(Rule::SourceFailing);
        if s.consecutive_failures >= 2 * threshold {
            severity = severity.raised(1);
        }
        let last_ok = s
            .last_success_at
            .and_then(chrono::DateTime::<chrono::Utc>::from_timestamp_millis)
            .map(|t| {
                t.with_timezone(&chrono_tz::Asia::Shanghai)
                    .format("%Y-%m-%d %H:%M")
                    .to_string()
            })
            .unwrap_or_else(|| "从未成功".into());
        let message = format!(
            "数据来源“{}”已连续{}次拉取失败（阈值{}次），最近一次成功：{}；最近错误：{}。请检查数据接口或联系报送单位。",
            s.source,
            s.consecutive_failures,
            threshold,
            last_ok,
            s.last_error.as_deref().unwrap_or("—")
        );
        let mut values = Map::new();
        values.insert("consecutive_failures".into(), json!(s.consecutive_failures));
        values.insert("threshold".into(), json!(threshold));
        values.insert("last_success_at".into(), json!(s.last_success_at));
        out.push(Finding {
            rule: Rule::SourceFailing,
            severity,
            subject: s.source.clone(),
            subject_name: s.source.clone(),
            indicator: "pull".into(),
            unit: city.0.to_string(),
            scope: vec![city.0.to_string()],
            owner: None,
            period,
            consecutive: u32::try_from(s.consecutive_failures).unwrap_or(u32::MAX),
            message: format!("{}：{message}", city.1),
            values,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failing(n: i64) -> SourceFailures {
        SourceFailures {
            source: "市直报平台".into(),
            consecutive_failures: n,
            threshold: 3,
            last_error: Some("HTTP 503".into()),
            last_success_at: None,
        }
    }

    #[test]
    fn a_source_alerts_the_city_from_its_threshold_and_turns_red_at_twice_it() {
        let cfg = RulesConfig::default();
        let p: Period = "2026-10".parse().unwrap();
        let city = ("3307", "示例市");
        assert!(findings(&[failing(2)], city, p, &cfg).is_empty());
        let f = findings(&[failing(3)], city, p, &cfg);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, crate::rules::Severity::Orange);
        assert_eq!(f[0].scope, vec!["3307".to_string()]);
        assert!(f[0].message.contains("连续3次") && f[0].message.contains("HTTP 503"));
        let f = findings(&[failing(6)], city, p, &cfg);
        assert_eq!(f[0].severity, crate::rules::Severity::Red);
    }
}
