//! The 旬 (dekad, DESIGN.md's vocabulary): a third of a month, `YYYY-MM-D1` 上旬 (1st–10th),
//! `D2` 中旬 (11th–20th), `D3` 下旬 (21st to the month's end: 8 to 11 days).

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};

use crate::period::Period;

/// One 旬 of a month. Orders chronologically; prints as `2026-10-D1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Xun {
    period: Period,
    /// 1 上旬, 2 中旬, 3 下旬.
    part: u8,
}

/// Why a text is not a 旬.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "旬“{0}”无效，应为 YYYY-MM-D1/D2/D3 或 2026年10月上旬 (invalid 旬, expected e.g. 2026-10-D1)"
)]
pub struct XunError(pub String);

impl Xun {
    /// The 旬 `part` (1–3) of `period`.
    pub fn new(period: Period, part: u8) -> Option<Xun> {
        (1..=3).contains(&part).then_some(Xun { period, part })
    }

    /// The 旬 a day falls in.
    pub fn containing(day: NaiveDate) -> Option<Xun> {
        let period = Period::new(day.year(), day.month())?;
        Some(Xun {
            period,
            part: part_of_day(day.day()),
        })
    }

    pub fn period(self) -> Period {
        self.period
    }

    /// 1 上旬, 2 中旬, 3 下旬.
    pub fn part(self) -> u8 {
        self.part
    }

    /// `上旬`, `中旬` or `下旬`.
    pub fn part_zh(self) -> &'static str {
        match self.part {
            1 => "上旬",
            2 => "中旬",
            _ => "下旬",
        }
    }

    /// As officials write it: `10月上旬`.
    pub fn label(self) -> String {
        format!("{}月{}", self.period.month(), self.part_zh())
    }

    /// The first day of the 旬.
    pub fn first_day(self) -> NaiveDate {
        let day = 1 + 10 * u32::from(self.part - 1);
        NaiveDate::from_ymd_opt(self.period.year(), self.period.month(), day)
            .unwrap_or(NaiveDate::MIN)
    }

    /// The last day of the 旬: the 10th, the 20th or the month's last day.
    pub fn last_day(self) -> NaiveDate {
        match self.part {
            1 | 2 => NaiveDate::from_ymd_opt(
                self.period.year(),
                self.period.month(),
                10 * u32::from(self.part),
            )
            .unwrap_or(NaiveDate::MIN),
            _ => {
                let next = self.period.next();
                NaiveDate::from_ymd_opt(next.year(), next.month(), 1)
                    .and_then(|d| d.pred_opt())
                    .unwrap_or(NaiveDate::MIN)
            }
        }
    }

    /// How many days the 旬 has: 10, or 8 to 11 for a 下旬.
    pub fn len(self) -> u32 {
        (self.last_day() - self.first_day()).num_days() as u32 + 1
    }

    /// Never empty; for clippy's `len_without_is_empty`.
    pub fn is_empty(self) -> bool {
        false
    }

    /// Its days in order.
    pub fn days(self) -> impl Iterator<Item = NaiveDate> {
        self.first_day().iter_days().take(self.len() as usize)
    }

    /// The 旬 before.
    pub fn prev(self) -> Xun {
        match self.part {
            1 => Xun {
                period: self.period.prev(),
                part: 3,
            },
            p => Xun {
                period: self.period,
                part: p - 1,
            },
        }
    }

    /// The same 旬 a year earlier (上年同旬).
    pub fn year_ago(self) -> Xun {
        Xun {
            period: self.period.year_ago(),
            part: self.part,
        }
    }
}

impl fmt::Display for Xun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-D{}", self.period, self.part)
    }
}

impl serde::Serialize for Xun {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The 旬 (1 上旬, 2 中旬, 3 下旬) of a day of the month: 1–10, 11–20, 21 to the end.
pub fn part_of_day(day: u32) -> u8 {
    match day {
        ..=10 => 1,
        11..=20 => 2,
        _ => 3,
    }
}

/// The part of a 旬 from its words: `D1`/`1`/`上旬`/`上` …
pub fn parse_part(text: &str) -> Option<u8> {
    match text.trim().trim_start_matches(['D', 'd']) {
        "1" | "上旬" | "上" => Some(1),
        "2" | "中旬" | "中" => Some(2),
        "3" | "下旬" | "下" => Some(3),
        _ => None,
    }
}

impl FromStr for Xun {
    type Err = XunError;

    /// Accepts `2026-10-D1`, `2026-10-1`, `2026-10上旬` and `2026年10月上旬`.
    fn from_str(s: &str) -> Result<Xun, XunError> {
        let t = s.trim();
        let err = || XunError(s.to_string());
        for zh in ["上旬", "中旬", "下旬"] {
            if let Some(month) = t.strip_suffix(zh) {
                let period: Period = month.trim_end_matches('-').parse().map_err(|_| err())?;
                return Xun::new(period, parse_part(zh).ok_or_else(err)?).ok_or_else(err);
            }
        }
        let (month, part) = t.rsplit_once('-').ok_or_else(err)?;
        if !month.contains('-') {
            return Err(err());
        }
        let period: Period = month.parse().map_err(|_| err())?;
        Xun::new(period, parse_part(part).ok_or_else(err)?).ok_or_else(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn x(s: &str) -> Xun {
        s.parse().unwrap()
    }

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn the_last_xun_runs_to_the_month_end() {
        // 2025 is no leap year, 2024 is: Feb 21–28 is 8 days, Feb 21–29 is 9.
        assert_eq!(x("2025-02-D3").len(), 8);
        assert_eq!(x("2025-02-D3").last_day(), d("2025-02-28"));
        assert_eq!(x("2024-02-D3").len(), 9);
        assert_eq!(x("2024-02-D3").last_day(), d("2024-02-29"));
        assert_eq!(x("2026-04-D3").len(), 10);
        assert_eq!(x("2026-10-D3").len(), 11);
        assert_eq!(x("2026-12-D3").last_day(), d("2026-12-31"));
        assert_eq!(x("2026-10-D1").len(), 10);
        assert_eq!(x("2026-10-D2").first_day(), d("2026-10-11"));
        assert_eq!(x("2026-10-D2").last_day(), d("2026-10-20"));
        let days: Vec<_> = x("2024-02-D3").days().collect();
        assert_eq!(days.len(), 9);
        assert_eq!(days[8], d("2024-02-29"));
    }

    #[test]
    fn a_day_falls_in_its_xun() {
        assert_eq!(Xun::containing(d("2026-10-10")), Some(x("2026-10-D1")));
        assert_eq!(Xun::containing(d("2026-10-11")), Some(x("2026-10-D2")));
        assert_eq!(Xun::containing(d("2026-10-20")), Some(x("2026-10-D2")));
        assert_eq!(Xun::containing(d("2026-10-31")), Some(x("2026-10-D3")));
        assert_eq!(Xun::containing(d("2024-02-29")), Some(x("2024-02-D3")));
    }

    #[test]
    fn parses_the_forms_officials_write_and_steps_across_years() {
        for s in ["2026-10-D1", "2026-10-1", "2026-10上旬", "2026年10月上旬"] {
            assert_eq!(x(s).to_string(), "2026-10-D1", "{s}");
        }
        assert_eq!(x("2026年1月下旬").label(), "1月下旬");
        for s in ["2026-10", "2026-10-D4", "2026-10-D0", "上旬", "2026-13-D1"] {
            assert!(s.parse::<Xun>().is_err(), "{s}");
        }
        assert_eq!(x("2026-01-D1").prev(), x("2025-12-D3"));
        assert_eq!(x("2026-01-D3").prev(), x("2026-01-D2"));
        assert_eq!(x("2026-02-D3").year_ago(), x("2025-02-D3"));
        assert!(x("2025-12-D3") < x("2026-01-D1"));
    }
}
