//! The working-day calendar (工作日历): China's official holiday arrangements — public holidays
//! and the weekend days worked in exchange (调休) — shipped as data (`data/cn_workdays.csv`,
//! from the State Council's notices), plus years an operator adds (`[calendar] extra`).
//!
//! Deadlines of cases count working days on it. A computation that reaches past the covered
//! years is an error, never a guess: the notice for a year is published late in the year
//! before, and until an operator adds it indmon cannot know which days are worked.

mod file;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Asia::Shanghai;
use serde::Deserialize;

pub use file::{FileProblem, HEADER};

/// The official arrangements shipped with indmon.
const OFFICIAL: &str = include_str!("../../data/cn_workdays.csv");

/// How far ahead the calendar should reach; less is reported (check-config, health, digest).
pub const LOOKAHEAD_DAYS: u64 = 60;

/// The hour (Asia/Shanghai) at which a case falls due on its due day.
pub const DUE_HOUR: u32 = 18;

/// What a listed day is. Days not listed are worked Monday to Friday and free at weekends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DayKind {
    /// 放假: a day off inside an official holiday period.
    Holiday,
    /// 调休上班: a Saturday or Sunday worked in exchange for a holiday.
    Workday,
}

/// `[calendar]` in the configuration.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CalendarConfig {
    /// A file of further years (same columns as `data/cn_workdays.csv`), e.g. the next year's
    /// arrangements once the State Council has published them.
    pub extra: Option<PathBuf>,
}

impl CalendarConfig {
    /// The calendar this configuration gives: the official years and the extra file's.
    pub fn load(&self) -> Result<Calendar, Vec<FileProblem>> {
        Calendar::load(self.extra.as_deref())
    }

    /// The calendar, or none (weekends alone are days off) when the extra file cannot be read —
    /// logged: what the 旬 rules and the nowcast judge holidays by.
    pub fn load_or_weekdays(&self) -> Option<Calendar> {
        match self.load() {
            Ok(c) => Some(c),
            Err(problems) => {
                tracing::warn!(
                    problems = problems.len(),
                    "工作日历无法读取，按周末判断工作日 (calendar unreadable; weekdays used)"
                );
                None
            }
        }
    }

    /// Problems of the extra file, keyed as configuration problems.
    pub fn problems(&self) -> Vec<(String, String)> {
        match self.load() {
            Ok(_) => Vec::new(),
            Err(problems) => problems
                .into_iter()
                .map(|p| ("calendar.extra".to_string(), p.to_string()))
                .collect(),
        }
    }
}

/// A date the calendar does not cover.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "工作日历未覆盖 {date}（现有 {from} 至 {through}），请在 [calendar] extra 中补充该年的放假安排 (the working-day calendar does not cover {date}: add that year's arrangements)"
)]
pub struct NotCovered {
    pub date: NaiveDate,
    pub from: NaiveDate,
    pub through: NaiveDate,
}

/// Working days of the covered years.
#[derive(Clone, Debug)]
pub struct Calendar {
    special: BTreeMap<NaiveDate, DayKind>,
    first_year: i32,
    last_year: i32,
}

impl Calendar {
    /// The official arrangements shipped with indmon.
    pub fn official() -> Result<Calendar, Vec<FileProblem>> {
        Calendar::load(None)
    }

    /// The official arrangements and the years of `extra`, which must be new years that follow
    /// on without a gap.
    pub fn load(extra: Option<&Path>) -> Result<Calendar, Vec<FileProblem>> {
        let official = file::parse("data/cn_workdays.csv", OFFICIAL)?;
        let mut years: Vec<i32> = official.keys().map(|d| d.year()).collect();
        let mut special: BTreeMap<NaiveDate, DayKind> =
            official.into_iter().map(|(d, e)| (d, e.kind)).collect();
        if let Some(path) = extra {
            let shown = path.display().to_string();
            let text = std::fs::read_to_string(path).map_err(|e| {
                vec![FileProblem {
                    file: shown.clone(),
                    line: 0,
                    column: "",
                    message: format!("无法读取 (cannot read): {e}"),
                }]
            })?;
            let added = file::parse(&shown, &text)?;
            let (first, last) = (years.first().copied(), years.last().copied());
            let mut problems = Vec::new();
            for (date, entry) in added {
                if first.is_some_and(|f| date.year() >= f) && last.is_some_and(|l| date.year() <= l)
                {
                    problems.push(FileProblem {
                        file: shown.clone(),
                        line: entry.line,
                        column: "A",
                        message: format!(
                            "{} 年已内置，只能补充新的年份 (that year is built in; add new years only)",
                            date.year()
                        ),
                    });
                    continue;
                }
                years.push(date.year());
                special.insert(date, entry.kind);
            }
            if !problems.is_empty() {
                return Err(problems);
            }
        }
        years.sort_unstable();
        years.dedup();
        let (Some(&first_year), Some(&last_year)) = (years.first(), years.last()) else {
            return Err(vec![FileProblem {
                file: "data/cn_workdays.csv".into(),
                line: 1,
                column: "",
                message: "日历没有任何年份 (the calendar has no year)".into(),
            }]);
        };
        if let Some(w) = years.windows(2).find(|w| w[1] != w[0] + 1) {
            return Err(vec![FileProblem {
                file: extra.map_or("data/cn_workdays.csv".into(), |p| p.display().to_string()),
                line: 0,
                column: "",
                message: format!(
                    "年份不连续：缺少 {} 年 (the years must follow on: {} is missing)",
                    w[0] + 1,
                    w[0] + 1
                ),
            }]);
        }
        Ok(Calendar {
            special,
            first_year,
            last_year,
        })
    }

    /// The first day covered.
    pub fn covered_from(&self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.first_year, 1, 1).unwrap_or(NaiveDate::MIN)
    }

    /// The last day covered (31 December of the last year listed).
    pub fn covered_through(&self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.last_year, 12, 31).unwrap_or(NaiveDate::MAX)
    }

    fn check(&self, date: NaiveDate) -> Result<(), NotCovered> {
        if (self.first_year..=self.last_year).contains(&date.year()) {
            Ok(())
        } else {
            Err(NotCovered {
                date,
                from: self.covered_from(),
                through: self.covered_through(),
            })
        }
    }

    /// Whether `date` is worked: a weekday that is no holiday, or a make-up workday.
    pub fn is_workday(&self, date: NaiveDate) -> Result<bool, NotCovered> {
        self.check(date)?;
        Ok(match self.special.get(&date) {
            Some(DayKind::Holiday) => false,
            Some(DayKind::Workday) => true,
            None => !matches!(date.weekday(), Weekday::Sat | Weekday::Sun),
        })
    }

    /// Whether `date` is a day off inside an official holiday period (放假), weekends in the
    /// period included; an ordinary weekend is not.
    pub fn is_holiday(&self, date: NaiveDate) -> Result<bool, NotCovered> {
        self.check(date)?;
        Ok(self.special.get(&date) == Some(&DayKind::Holiday))
    }

    /// The `n`-th working day after `from` (`from` is day 0, worked or not; `n = 0` is `from`).
    pub fn add_workdays(&self, from: NaiveDate, n: u32) -> Result<NaiveDate, NotCovered> {
        self.check(from)?;
        let mut day = from;
        let mut left = n;
        while left > 0 {
            day = day.checked_add_days(Days::new(1)).ok_or(NotCovered {
                date: day,
                from: self.covered_from(),
                through: self.covered_through(),
            })?;
            if self.is_workday(day)? {
                left -= 1;
            }
        }
        Ok(day)
    }

    /// When something delivered at `delivered` falls due: 18:00 Shanghai time on the `n`-th
    /// working day after the day of delivery (in Shanghai).
    pub fn due_at(&self, delivered: DateTime<Utc>, n: u32) -> Result<DateTime<Utc>, NotCovered> {
        let day0 = delivered.with_timezone(&Shanghai).date_naive();
        let due = self.add_workdays(day0, n)?;
        Ok(at_due_hour(due))
    }

    /// Whether the calendar reaches `LOOKAHEAD_DAYS` past `today`.
    pub fn covers_lookahead(&self, today: NaiveDate) -> bool {
        today
            .checked_add_days(Days::new(LOOKAHEAD_DAYS))
            .is_some_and(|d| d <= self.covered_through())
    }

    /// A sentence for check-config, the health detail and the city's digest when the calendar
    /// does not reach `LOOKAHEAD_DAYS` past `today`; none while it does.
    pub fn coverage_note(&self, today: NaiveDate) -> Option<String> {
        if self.covers_lookahead(today) {
            return None;
        }
        let next = self.last_year + 1;
        Some(format!(
            "工作日历只覆盖到 {}，不足未来{LOOKAHEAD_DAYS}天；请在国务院办公厅公布 {next} 年放假安排后，用 [calendar] extra 补充 (the working-day calendar ends on {}, less than {LOOKAHEAD_DAYS} days ahead: add {next} with [calendar] extra)",
            self.covered_through(),
            self.covered_through()
        ))
    }
}

/// 18:00 Shanghai time on `day`, in UTC.
pub fn at_due_hour(day: NaiveDate) -> DateTime<Utc> {
    let t = day.and_time(NaiveTime::from_hms_opt(DUE_HOUR, 0, 0).unwrap_or(NaiveTime::MIN));
    // Shanghai has had no daylight saving since 1991: every local time maps to one instant.
    Shanghai
        .from_local_datetime(&t)
        .single()
        .map_or_else(|| t.and_utc(), |d| d.with_timezone(&Utc))
}
