//! The reporting period (报告期): one calendar month, `YYYY-MM`, in Asia/Shanghai time.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, TimeZone, Utc};
use chrono_tz::Asia::Shanghai;

/// A calendar month. Orders chronologically; prints as `2026-10`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period {
    year: i32,
    month: u32,
}

impl serde::Serialize for Period {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Why a text is not a period.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("报告期“{0}”无效，应为 YYYY-MM，如 2026-10 (invalid period, expected YYYY-MM)")]
pub struct PeriodError(pub String);

impl Period {
    /// A period from a year and a month (1–12).
    pub fn new(year: i32, month: u32) -> Option<Period> {
        ((1..=12).contains(&month) && (1900..=9999).contains(&year))
            .then_some(Period { year, month })
    }

    pub fn year(self) -> i32 {
        self.year
    }

    pub fn month(self) -> u32 {
        self.month
    }

    /// The month before this one.
    pub fn prev(self) -> Period {
        if self.month == 1 {
            Period {
                year: self.year - 1,
                month: 12,
            }
        } else {
            Period {
                year: self.year,
                month: self.month - 1,
            }
        }
    }

    /// The month after this one.
    pub fn next(self) -> Period {
        if self.month == 12 {
            Period {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Period {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    /// Months since year 0, so that periods can be subtracted and indexed.
    pub fn ordinal(self) -> i32 {
        self.year * 12 + self.month as i32 - 1
    }

    /// The period `months` after this one (before it when negative).
    pub fn offset(self, months: i32) -> Period {
        let o = self.ordinal() + months;
        Period {
            year: o.div_euclid(12),
            month: o.rem_euclid(12) as u32 + 1,
        }
    }

    /// How the statistics bureau names the months up to this one: `1—10月` (a long dash, U+2014,
    /// as the bureau prints a range of months), `1月`.
    pub fn ytd_label(self) -> String {
        if self.month == 1 {
            "1月".into()
        } else {
            format!("1—{}月", self.month)
        }
    }

    /// The same month one year earlier (上年同期).
    pub fn year_ago(self) -> Period {
        Period {
            year: self.year - 1,
            month: self.month,
        }
    }

    /// The month that contains `now`, in Asia/Shanghai time.
    pub fn containing(now: chrono::DateTime<Utc>) -> Period {
        let local = Shanghai.from_utc_datetime(&now.naive_utc());
        Period {
            year: local.year(),
            month: local.month(),
        }
    }

    /// Whether the month has ended by `now` (Asia/Shanghai), so that figures for it can exist.
    pub fn has_ended(self, now: chrono::DateTime<Utc>) -> bool {
        self < Period::containing(now)
    }

    /// Finds a period written in a title such as `…主要经济指标（2026年10月）`.
    pub fn find_in_text(text: &str) -> Option<Period> {
        let chars: Vec<char> = text.chars().collect();
        for (i, _) in chars.iter().enumerate().filter(|(_, c)| **c == '年') {
            let year: String = chars[..i]
                .iter()
                .rev()
                .take(4)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            let month: String = chars[i + 1..]
                .iter()
                .take_while(|c| c.is_ascii_digit())
                .collect();
            let closes = chars.get(i + 1 + month.len()) == Some(&'月');
            if year.len() == 4
                && year.chars().all(|c| c.is_ascii_digit())
                && closes
                && let (Ok(y), Ok(m)) = (year.parse(), month.parse())
                && let Some(p) = Period::new(y, m)
            {
                return Some(p);
            }
        }
        None
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl FromStr for Period {
    type Err = PeriodError;

    /// Accepts `2026-10`, `2026-1`, `2026/10`, `2026.10`, `202610` and `2026年10月`.
    fn from_str(s: &str) -> Result<Period, PeriodError> {
        let t = s.trim();
        let err = || PeriodError(s.to_string());
        let (y, m) = if let Some(rest) = t.strip_suffix('月') {
            rest.split_once('年').ok_or_else(err)?
        } else if let Some(pair) = t.split_once(['-', '/', '.']) {
            pair
        } else if t.len() == 6 && t.is_ascii() {
            t.split_at(4)
        } else {
            return Err(err());
        };
        if y.len() != 4 || m.is_empty() || m.len() > 2 {
            return Err(err());
        }
        let year: i32 = y.parse().map_err(|_| err())?;
        let month: u32 = m.parse().map_err(|_| err())?;
        Period::new(year, month).ok_or_else(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_officials_write() {
        for s in [
            "2026-10",
            "2026/10",
            "2026.10",
            "202610",
            "2026年10月",
            " 2026-10 ",
        ] {
            assert_eq!(s.parse::<Period>().unwrap().to_string(), "2026-10", "{s}");
        }
        assert_eq!("2026-3".parse::<Period>().unwrap().to_string(), "2026-03");
        for s in [
            "2026-13",
            "2026-00",
            "26-10",
            "2026",
            "",
            "2026-10-01",
            "abcd-ef",
        ] {
            assert!(s.parse::<Period>().is_err(), "{s}");
        }
    }

    #[test]
    fn steps_across_year_ends() {
        let jan: Period = "2026-01".parse().unwrap();
        assert_eq!(jan.prev().to_string(), "2025-12");
        assert_eq!(jan.prev().next(), jan);
        assert_eq!(jan.year_ago().to_string(), "2025-01");
    }

    #[test]
    fn a_month_ends_at_shanghai_midnight() {
        let oct: Period = "2026-10".parse().unwrap();
        // 2026-10-31 16:00 UTC is 2026-11-01 00:00 in Shanghai.
        let before = Utc.with_ymd_and_hms(2026, 10, 31, 15, 59, 59).unwrap();
        let after = Utc.with_ymd_and_hms(2026, 10, 31, 16, 0, 0).unwrap();
        assert!(!oct.has_ended(before));
        assert!(oct.has_ended(after));
    }

    #[test]
    fn finds_the_period_in_a_title() {
        let t = "东岭区规模以上工业企业主要经济指标（2026年10月）";
        assert_eq!(Period::find_in_text(t).unwrap().to_string(), "2026-10");
        assert_eq!(Period::find_in_text("单位：千元"), None);
    }
}
