//! The power company's side of the synthetic city (issue 21): a mapping of power accounts to
//! credit codes (`power/accounts.csv`, kind power-accounts) and metered daily electricity, one
//! file per month (`power/daily/YYYY-MM.csv`, kind power-daily), written enterprise by
//! enterprise like the submissions.
//!
//! Most above-scale enterprises have an account, a few two; every account is mapped. A month's
//! metered kWh is the enterprise's reported electricity times its own meter factor (so
//! electricity ≈ output × an enterprise-specific intensity), spread over the month's days by
//! [`DayShape`]: Sundays and Saturdays lower, public holidays low, the Spring Festival lowest
//! with a ramp around it, all from the working-day calendar, so the dip moves with the
//! festival; then ±[`DAY_NOISE`] per day ([`month_days`]). The month's output follows the same
//! days ([`month_factor`], `enterprise`): a month with more days off makes less, the Spring
//! Festival's month least, so that the month's electricity and output carry the same holidays
//! and a plant's working day runs at its season's rate whichever year it is. A bad spell runs
//! at 0.1 + 0.9 × its factor of the normal level (a stalled plant keeps a 10% base load); one
//! that starts in the last month starts on [`STOP_DAY`], so the 上旬 already shows it.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::ops::RangeInclusive;
use std::path::Path;
use std::sync::OnceLock;

use chrono::{Datelike, NaiveDate, Weekday};

use super::GenSpec;
use super::enterprise::{Month, Profile};
use super::rng::Rng;
use crate::calendar::Calendar;
use crate::period::Period;

/// Stream kinds of the power data (after the enterprise's own 1–4).
const METER: u64 = 5;
const DAILY: u64 = 6;

/// The day of the last month on which a bad spell starting in that month begins.
pub const STOP_DAY: u32 = 3;
/// Relative noise of one day's kWh (triangular, mean 0).
pub const DAY_NOISE: f64 = 0.04;
/// Share of above-scale enterprises with a power account.
const METERED: f64 = 0.92;
/// Share of metered enterprises with two accounts.
const TWO_ACCOUNTS: f64 = 0.12;

/// An enterprise's accounts with their shares of its consumption, and its meter factor
/// (metered kWh over reported electricity).
#[derive(Clone, Debug, PartialEq)]
pub struct Meter {
    pub accounts: Vec<(String, f64)>,
    pub factor: f64,
}

/// The account number of an enterprise's `k`-th account (1-based): unique, ten digits.
pub fn account_number(index: u64, k: u64) -> String {
    format!("31{index:07}{k}")
}

/// The accounts of enterprise `e`, if it has any (above-scale ones only).
pub fn meter(spec: &GenSpec, e: &Profile) -> Option<Meter> {
    let mut r = Rng::stream(spec.seed, METER, e.index);
    let (has, two, share, factor) = (r.unit(), r.unit(), r.range(0.55, 0.8), r.range(0.9, 1.12));
    if !e.above || has >= METERED {
        return None;
    }
    let first = account_number(e.index, 1);
    let accounts = if two < TWO_ACCOUNTS {
        vec![(first, share), (account_number(e.index, 2), 1.0 - share)]
    } else {
        vec![(first, 1.0)]
    };
    Some(Meter { accounts, factor })
}

/// The shape of consumption over the days: weights relative to an ordinary working day.
pub struct DayShape {
    calendar: Option<Calendar>,
    /// The Spring Festival's days off, per covered year.
    spring: Vec<RangeInclusive<NaiveDate>>,
    /// The weights from a first day on, computed once for a generator's span.
    cache: Option<(NaiveDate, Vec<f64>)>,
}

impl DayShape {
    /// On the shipped calendar; weekends only where it does not reach.
    pub fn official() -> DayShape {
        let calendar = Calendar::official().ok();
        let spring = calendar.as_ref().map(spring_festivals).unwrap_or_default();
        DayShape {
            calendar,
            spring,
            cache: None,
        }
    }

    /// The same with the weights of `span` computed once (every enterprise reads them).
    pub fn cached(mut self, span: RangeInclusive<NaiveDate>) -> DayShape {
        let weights = span
            .start()
            .iter_days()
            .take_while(|d| d <= span.end())
            .map(|d| self.weight(d))
            .collect();
        self.cache = Some((*span.start(), weights));
        self
    }

    fn is_workday(&self, day: NaiveDate) -> bool {
        crate::power::level::is_workday(self.calendar.as_ref(), day)
    }

    fn is_holiday(&self, day: NaiveDate) -> bool {
        self.calendar
            .as_ref()
            .is_some_and(|c| c.is_holiday(day).unwrap_or(false))
    }

    /// The weight of `day`.
    pub fn weight(&self, day: NaiveDate) -> f64 {
        if let Some((first, weights)) = &self.cache
            && let Some(w) = usize::try_from((day - *first).num_days())
                .ok()
                .and_then(|i| weights.get(i))
        {
            return *w;
        }
        if self.spring.iter().any(|s| s.contains(&day)) {
            return 0.22;
        }
        if self.is_holiday(day) {
            return 0.45;
        }
        if !self.is_workday(day) {
            return if day.weekday() == Weekday::Sun {
                0.72
            } else {
                0.88
            };
        }
        // Working days around the festival: winding down before, back slowly after.
        for s in &self.spring {
            let before = (*s.start() - day).num_days();
            let after = (day - *s.end()).num_days();
            if (1..=7).contains(&before) {
                return 0.85;
            }
            if (1..=10).contains(&after) {
                return 0.5 + 0.05 * after as f64;
            }
        }
        1.0
    }
}

/// How much a month makes against its season for where its days off fall: the sum of its days'
/// [`DayShape`] weights over the mean of the same calendar month's sums in the years the shipped
/// calendar covers (a January with the Spring Festival well below 1, the February after a
/// January festival above); 1 outside those years, where the days' weights know no holidays.
pub fn month_factor(p: Period) -> f64 {
    static FACTORS: OnceLock<HashMap<Period, f64>> = OnceLock::new();
    FACTORS
        .get_or_init(month_factors)
        .get(&p)
        .copied()
        .unwrap_or(1.0)
}

/// [`month_factor`] of every month of the shipped calendar's years.
fn month_factors() -> HashMap<Period, f64> {
    let shape = DayShape::official();
    let Some(calendar) = &shape.calendar else {
        return HashMap::new();
    };
    let years = calendar.covered_from().year()..=calendar.covered_through().year();
    let weight = |p: Period| -> f64 { days_of(p).into_iter().map(|d| shape.weight(d)).sum() };
    let mut out = HashMap::new();
    for month in 1..=12 {
        let sums: Vec<(Period, f64)> = years
            .clone()
            .filter_map(|y| Period::new(y, month))
            .map(|p| (p, weight(p)))
            .collect();
        let mean = sums.iter().map(|s| s.1).sum::<f64>() / sums.len().max(1) as f64;
        if mean > 0.0 {
            out.extend(sums.into_iter().map(|(p, w)| (p, w / mean)));
        }
    }
    out
}

/// The Spring Festival's days off of each covered year: the holidays between 15 January and
/// the end of February (元旦 ends by 3 January).
fn spring_festivals(c: &Calendar) -> Vec<RangeInclusive<NaiveDate>> {
    let mut out = Vec::new();
    for year in c.covered_from().year()..=c.covered_through().year() {
        let (Some(from), Some(to)) = (
            NaiveDate::from_ymd_opt(year, 1, 15),
            NaiveDate::from_ymd_opt(year, 2, 28),
        ) else {
            continue;
        };
        let days: Vec<NaiveDate> = from
            .iter_days()
            .take_while(|d| *d <= to)
            .filter(|d| c.is_holiday(*d).unwrap_or(false))
            .collect();
        if let (Some(first), Some(last)) = (days.first(), days.last()) {
            out.push(*first..=*last);
        }
    }
    out
}

/// The days of month `p`.
pub fn days_of(p: Period) -> Vec<NaiveDate> {
    let span = crate::power::level::month_span(p);
    span.start()
        .iter_days()
        .take_while(|d| d <= span.end())
        .collect()
}

/// An enterprise's metered kWh per day of month `m`: its reported electricity times `factor`
/// at the normal level, spread over its days by `shape` (the reported figure already carries
/// the month's days off: [`month_factor`]); the days from `stop` on (see [`stop_day`]) at its
/// spell's level. One draw per day.
pub fn month_days(
    shape: &DayShape,
    m: &Month,
    stop: u32,
    factor: f64,
    r: &mut Rng,
) -> Vec<(NaiveDate, i64)> {
    // Reported electricity is in raw 万千瓦时 units: ten-thousandths of 万 kWh, i.e. kWh.
    let normal = m.figures.electricity as f64 / spell(m) * factor;
    let days: Vec<(NaiveDate, f64, f64)> = days_of(m.period)
        .into_iter()
        .map(|d| {
            let level = if d.day() < stop { 1.0 } else { spell(m) };
            (d, shape.weight(d), level)
        })
        .collect();
    let sum: f64 = days.iter().map(|(_, w, _)| w).sum();
    days.iter()
        .map(|(d, w, level)| {
            let kwh = normal * w / sum * level * (1.0 + r.noise(DAY_NOISE));
            (*d, kwh.round().max(0.0) as i64)
        })
        .collect()
}

/// The level a month with a bad spell runs at, relative to normal (a stalled plant's base load
/// is 10%).
pub fn spell(m: &Month) -> f64 {
    0.1 + 0.9 * m.factor
}

/// The day from which month `m`'s spell applies: [`STOP_DAY`] when a spell starts in the last
/// month, else the 1st.
pub fn stop_day(spec: &GenSpec, e: &Profile, m: &Month) -> u32 {
    match e.episode {
        Some(ep)
            if m.period == spec.months_to
                && ep.first == m.period.month()
                && m.period.year() == spec.months_to.year() =>
        {
            STOP_DAY
        }
        _ => 1,
    }
}

/// One day's kWh split over the accounts by their shares (the last takes the rest).
fn write_day(
    w: &mut BufWriter<File>,
    accounts: &[(String, f64)],
    day: NaiveDate,
    kwh: i64,
) -> anyhow::Result<()> {
    let mut left = kwh;
    for (i, (account, share)) in accounts.iter().enumerate() {
        let part = if i + 1 == accounts.len() {
            left
        } else {
            (kwh as f64 * share).round() as i64
        };
        left -= part;
        writeln!(w, "{account},{day},{part}")?;
    }
    Ok(())
}

fn create(path: &Path) -> anyhow::Result<BufWriter<File>> {
    use anyhow::Context;
    Ok(BufWriter::with_capacity(
        1 << 16,
        File::create(path)
            .with_context(|| format!("无法创建 {} (cannot create file)", path.display()))?,
    ))
}

/// The power files being written: the mapping and one daily file per month from `from`.
pub struct PowerFiles {
    from: Period,
    /// The last day written (the days after it have not happened yet).
    until: NaiveDate,
    accounts: BufWriter<File>,
    months: Vec<BufWriter<File>>,
    shape: DayShape,
    pub rows: u64,
    pub metered: u64,
}

impl PowerFiles {
    /// Files for the months `from..=to`, `to` written up to its day `to_days` (its whole
    /// month when beyond it, 0 meaning whole as well: the last month of submissions).
    pub fn create(
        out: &Path,
        from: Period,
        to: Period,
        to_days: u32,
    ) -> anyhow::Result<PowerFiles> {
        let dir = out.join("power").join("daily");
        std::fs::create_dir_all(&dir)?;
        let mut accounts = create(&out.join("power").join("accounts.csv"))?;
        writeln!(accounts, "account,credit_code,name")?;
        let mut months = Vec::new();
        let mut p = from;
        while p <= to {
            let mut w = create(&dir.join(format!("{p}.csv")))?;
            writeln!(w, "account,day,kwh")?;
            months.push(w);
            p = p.next();
        }
        let to_end = *crate::power::level::month_span(to).end();
        let until = match to_days {
            0 => to_end,
            d => {
                NaiveDate::from_ymd_opt(to.year(), to.month(), d).map_or(to_end, |u| u.min(to_end))
            }
        };
        Ok(PowerFiles {
            from,
            until,
            accounts,
            months,
            shape: DayShape::official().cached(
                crate::power::level::month_span(from).start().to_owned()
                    ..=*crate::power::level::month_span(to).end(),
            ),
            rows: 0,
            metered: 0,
        })
    }

    /// Writes enterprise `e`'s accounts and days; `months` must reach back to `from`.
    pub fn add(&mut self, spec: &GenSpec, e: &Profile, months: &[Month]) -> anyhow::Result<()> {
        let Some(meter) = meter(spec, e) else {
            return Ok(());
        };
        self.metered += 1;
        for (account, _) in &meter.accounts {
            writeln!(self.accounts, "{account},{},{}", e.credit_code, e.name)?;
        }
        let mut r = Rng::stream(spec.seed, DAILY, e.index);
        for m in months.iter().filter(|m| m.period >= self.from) {
            let stop = stop_day(spec, e, m);
            for (day, kwh) in month_days(&self.shape, m, stop, meter.factor, &mut r) {
                if day > self.until {
                    continue;
                }
                let Some(p) = Period::new(day.year(), day.month()) else {
                    continue;
                };
                let i = (p.year() - self.from.year()) * 12 + p.month() as i32
                    - self.from.month() as i32;
                let Some(w) = usize::try_from(i).ok().and_then(|i| self.months.get_mut(i)) else {
                    continue;
                };
                write_day(w, &meter.accounts, day, kwh)?;
                self.rows += meter.accounts.len() as u64;
            }
        }
        Ok(())
    }

    pub fn finish(mut self) -> anyhow::Result<()> {
        self.accounts.flush()?;
        for w in &mut self.months {
            w.flush()?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "power_tests.rs"]
mod tests;
