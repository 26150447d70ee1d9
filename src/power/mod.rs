//! Electricity and 旬 data (DESIGN.md, "Every ten days"): the 旬 itself, an enterprise's level
//! of electricity over a span of days, and the `[power]` thresholds of the 旬 rules
//! (`rules::power`). Pure: the store reads and writes the rows (`store::power`), the import
//! parses the files (`ingest::power`).

pub mod confirm;
pub mod level;
pub mod release;
pub mod table;
pub mod xun;

pub use level::{Basis, Days, Level};
pub use table::{DailyTable, Day, EnterpriseDays};
pub use xun::{Xun, XunError};

use chrono::NaiveDate;
use serde::Deserialize;

use crate::amount::Amount;
use crate::credit_code::CreditCode;

/// One line of a mapping file (用电户号对照表): a power account and its enterprise.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PowerAccount {
    pub line: u64,
    pub account: String,
    pub credit_code: CreditCode,
}

/// One line of the power company's daily file, before its account is mapped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DailyLine {
    pub line: u64,
    pub account: String,
    pub day: NaiveDate,
    /// Ten-thousandths of kWh.
    pub kwh: i64,
}

/// An enterprise's electricity of one day: the sum of its accounts' lines in one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PowerDay {
    pub credit_code: CreditCode,
    pub day: NaiveDate,
    /// Ten-thousandths of kWh.
    pub kwh: i64,
}

/// A key enterprise's 旬报: the figures of the 旬 itself (not cumulative). `present` says which
/// of output, sales and electricity the file had a column for: a missing column keeps the
/// stored figure, a blank cell clears it (as for submissions).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XunReport {
    pub line: u64,
    pub credit_code: CreditCode,
    pub xun: Xun,
    /// 工业总产值, 万元.
    pub output: Option<Amount>,
    /// 工业销售产值, 万元.
    pub sales: Option<Amount>,
    /// 用电量, 万千瓦时.
    pub electricity: Option<Amount>,
    pub present: [bool; 3],
}

/// What an enterprise's 旬 is compared with for 疑似停产 and 复产.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reference {
    /// The same 旬 last year (上年同旬).
    #[default]
    SameXunLastYear,
    /// Last December's daily average (上年12月日均, 广元's rule for resumption).
    LastDecember,
}

impl Reference {
    pub fn zh(self) -> &'static str {
        match self {
            Reference::SameXunLastYear => "上年同旬",
            Reference::LastDecember => "上年12月",
        }
    }
}

/// The shortest retention of daily rows: the 旬 rules of a 下旬 read last December, up to 23
/// months before, and the same 旬 last year; two full years leave a margin.
pub const MIN_RETENTION_MONTHS: u32 = 25;

/// `[power]`: the thresholds of the 旬 rules. Severities and switches are `[rules.severity]`
/// and `[rules.disabled]`, by the rules' names, as for every other rule.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PowerConfig {
    /// 疑似停产 below this share of the reference's daily average (0.3 = 30%; exactly 30% is not).
    pub stalled_ratio: f64,
    /// 用电大幅下降 when the daily average is down more than this share year on year.
    pub drop_ratio: f64,
    /// 复产 when every day of a 旬 of a stalled enterprise is above this share of its reference.
    pub resumed_ratio: f64,
    /// A 旬 (and its reference) is judged only with at least this share of its days present.
    pub min_coverage: f64,
    /// What 疑似停产 and 复产 compare with.
    pub reference: Reference,
    /// A 旬's warning goes out once this share of the mapped enterprises have all its days…
    pub complete_share: f64,
    /// …or this many days after the 旬 ended, whichever comes first (`power::release`).
    pub cutoff_days: u32,
    /// Daily rows are kept for this many months (the current one included), then summed by
    /// enterprise and 旬 (`power_xun_total`) and deleted by the `xun` job; unset keeps them all.
    pub daily_retention_months: Option<u32>,
}

impl Default for PowerConfig {
    fn default() -> PowerConfig {
        PowerConfig {
            stalled_ratio: 0.3,
            drop_ratio: 0.3,
            resumed_ratio: 0.5,
            min_coverage: 0.8,
            reference: Reference::SameXunLastYear,
            complete_share: 0.95,
            cutoff_days: 5,
            daily_retention_months: None,
        }
    }
}

impl PowerConfig {
    /// Problems with the values, keyed as in the file.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (key, x) in [
            ("power.stalled_ratio", self.stalled_ratio),
            ("power.drop_ratio", self.drop_ratio),
            ("power.resumed_ratio", self.resumed_ratio),
            ("power.min_coverage", self.min_coverage),
            ("power.complete_share", self.complete_share),
        ] {
            if !(x > 0.0 && x <= 1.0) {
                out.push((key.into(), "应在 0 到 1 之间 (must be within 0..1)".into()));
            }
        }
        if !(1..=20).contains(&self.cutoff_days) {
            out.push((
                "power.cutoff_days".into(),
                "应在1到20天之间 (must be 1–20 days)".into(),
            ));
        }
        if self
            .daily_retention_months
            .is_some_and(|m| m < MIN_RETENTION_MONTHS)
        {
            out.push((
                "power.daily_retention_months".into(),
                format!(
                    "至少{MIN_RETENTION_MONTHS}个月：旬规则要比较上年同旬和上年12月 (at least {MIN_RETENTION_MONTHS} months: the 旬 rules read last year's 旬 and last December)"
                ),
            ));
        }
        if self.resumed_ratio < self.stalled_ratio {
            out.push((
                "power.resumed_ratio".into(),
                "复产比例不应低于疑似停产比例 (resumed_ratio must not be below stalled_ratio)"
                    .into(),
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_problems_are_named_by_their_key() {
        let cfg: PowerConfig = toml::from_str("").unwrap();
        assert_eq!(cfg.stalled_ratio, 0.3);
        assert_eq!(cfg.reference, Reference::SameXunLastYear);
        let cfg: PowerConfig =
            toml::from_str("reference = \"last_december\"\nresumed_ratio = 0.2").unwrap();
        assert_eq!(cfg.reference, Reference::LastDecember);
        let p = cfg.problems();
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].0, "power.resumed_ratio");
        assert!(toml::from_str::<PowerConfig>("stall_ratio = 0.3").is_err());
    }
}
