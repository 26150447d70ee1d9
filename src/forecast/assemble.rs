//! From enterprise rows as known at a cut-off to each unit's [`Known`]: output summed over the
//! enterprises that reported both years (同口径), and electricity growth summed as the 旬 rules
//! sum it — each enterprise's average daily consumption over the days present, this year and
//! the same days last year, both with at least 80% of their days (a missing day is no zero).
//!
//! The partial (the span's 旬s present at the cut-off) is compared as the 旬 rules compare a 旬
//! (`rules::power`): when one of its 旬s, or the same 旬 last year, has a public holiday, by the
//! average over working days on both sides (issue 21: "a 旬 with public-holiday days is
//! compared by the average over working days"), so that a holiday falling in last year's 上旬
//! and this year's 中旬 does not swing the month's estimate. Whole months (the regression's
//! history) stay on all days: a month's output carries its holidays, and so do all its days.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::NaiveDate;
use serde::Serialize;

use super::{HISTORY_MONTHS, Known, Month, Partial, Span};
use crate::calendar::Calendar;
use crate::period::Period;
use crate::power::Xun;
use crate::power::level::{self, Basis};

/// Share of a span's days an enterprise needs on both sides to count, in tenths.
const COVERAGE_TENTHS: u32 = 8;

/// One enterprise-month's output figures as known at a cut-off, ten-thousandths of 万元.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OutputRow {
    pub credit_code: String,
    pub period: Period,
    pub output: Option<i64>,
    pub output_prev: Option<i64>,
    pub output_ytd: Option<i64>,
    pub output_ytd_prev: Option<i64>,
}

/// One enterprise's metered electricity of one 旬 as known at a cut-off: the days present and
/// their sum (ten-thousandths of kWh), and the working days among them and their sum (by the
/// working-day calendar: [`off_days`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct XunPower {
    pub credit_code: String,
    pub xun: Xun,
    pub days: u32,
    pub kwh: i64,
    pub work_days: u32,
    pub work_kwh: i64,
}

/// The days of `first..=last` not worked (weekends, public holidays; not the weekend days worked
/// in exchange), by `calendar` where it covers them and by the weekday elsewhere — the days
/// [`XunPower::work_days`] leaves out.
pub fn off_days(first: NaiveDate, last: NaiveDate, calendar: Option<&Calendar>) -> Vec<NaiveDate> {
    first
        .iter_days()
        .take_while(|d| *d <= last)
        .filter(|d| !level::is_workday(calendar, *d))
        .collect()
}

/// Whether the 旬s `xs` are compared on working days: one of them or the same 旬 last year has
/// a public holiday (as `rules::power` decides for a 旬).
pub fn basis_of(xs: &[Xun], calendar: Option<&Calendar>) -> Basis {
    let holiday = xs.iter().any(|x| {
        level::has_holiday(calendar, &level::xun_span(*x))
            || level::has_holiday(calendar, &level::xun_span(x.year_ago()))
    });
    if holiday {
        Basis::WorkingDays
    } else {
        Basis::AllDays
    }
}

/// What the store read at one cut-off.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Reading {
    pub outputs: Vec<OutputRow>,
    pub power: Vec<XunPower>,
}

/// The 旬s of a span in order.
pub fn xuns(span: Span) -> Vec<Xun> {
    span.periods()
        .flat_map(|p| (1..=3).filter_map(move |k| Xun::new(p, k)))
        .collect()
}

/// The leading 旬s of `span` that ended before `cutoff_day` and have some electricity.
pub fn present_xuns(span: Span, cutoff_day: NaiveDate, seen: &BTreeSet<Xun>) -> Vec<Xun> {
    xuns(span)
        .into_iter()
        .take_while(|x| x.last_day() < cutoff_day && seen.contains(x))
        .collect()
}

/// `10月上中旬`, `1月上旬—2月中旬`.
pub fn xuns_label(xs: &[Xun]) -> String {
    let (Some(first), Some(last)) = (xs.first(), xs.last()) else {
        return String::new();
    };
    if first.period() != last.period() {
        return format!("{}—{}", first.label(), last.label());
    }
    let parts: String = xs
        .iter()
        .map(|x| x.part_zh().chars().next().unwrap_or(' '))
        .collect();
    format!("{}月{parts}旬", first.period().month())
}

/// Each unit's [`Known`] for the span `span` at a cut-off on `cutoff_day` (Asia/Shanghai):
/// `members` gives the units each enterprise counts in, `calendar` the holidays.
pub fn known_by_unit(
    span: Span,
    cutoff_day: NaiveDate,
    reading: &Reading,
    members: &HashMap<String, Vec<String>>,
    calendar: Option<&Calendar>,
) -> BTreeMap<String, Known> {
    let mut power = PowerSums::new(span, calendar);
    power.add(&reading.power, members);
    known_from(cutoff_day, months_by_unit(reading, members), &power)
}

/// Each unit's [`Known`] from its months and the electricity sums of its enterprises.
pub fn known_from(
    cutoff_day: NaiveDate,
    months: BTreeMap<String, Vec<Month>>,
    power: &PowerSums,
) -> BTreeMap<String, Known> {
    let mut out: BTreeMap<String, Known> = BTreeMap::new();
    for (unit, months) in months {
        out.entry(unit).or_default().months = months;
    }
    power.apply(cutoff_day, &mut out);
    out
}

/// The electricity of a span's units summed over enterprises, as the 旬 rules sum it: each
/// enterprise's average daily consumption this year and the same days last year. Sums over
/// disjoint sets of enterprises add up ([`PowerSums::add`] once per set), so that the
/// enterprises can be read a slice at a time.
#[derive(Clone, Debug)]
pub struct PowerSums {
    span: Span,
    /// The trailing spans (by their last month) and then every leading part of `span` (its
    /// first 旬, its first two, …): which of these is the span's partial depends on the 旬s
    /// seen over all enterprises, known only when all are added. Each with the days its
    /// averages are over: all for the trailing spans, [`basis_of`] for the leading parts.
    spans: Vec<(Option<Period>, Vec<Xun>, Basis)>,
    /// 旬s with some electricity.
    seen: BTreeSet<Xun>,
    /// unit → span index → (Σ this year's daily averages, Σ last year's, enterprises).
    by_unit: HashMap<String, Vec<(f64, f64, u32)>>,
}

impl PowerSums {
    pub fn new(span: Span, calendar: Option<&Calendar>) -> PowerSums {
        let mut spans: Vec<(Option<Period>, Vec<Xun>, Basis)> = span
            .trailing(HISTORY_MONTHS)
            .into_iter()
            .map(|s| (Some(s.last), xuns(s), Basis::AllDays))
            .collect();
        let all = xuns(span);
        for n in 1..=all.len() {
            let part = all[..n].to_vec();
            let basis = basis_of(&part, calendar);
            spans.push((None, part, basis));
        }
        PowerSums {
            span,
            spans,
            seen: BTreeSet::new(),
            by_unit: HashMap::new(),
        }
    }

    /// Adds the enterprises of `power` (each enterprise's 旬s all in it).
    pub fn add(&mut self, power: &[XunPower], members: &HashMap<String, Vec<String>>) {
        let table: HashMap<(&str, Xun), &XunPower> = power
            .iter()
            .map(|r| ((r.credit_code.as_str(), r.xun), r))
            .collect();
        self.seen.extend(power.iter().map(|r| r.xun));
        let codes: BTreeSet<&str> = power.iter().map(|r| r.credit_code.as_str()).collect();
        let n = self.spans.len();
        for code in codes {
            let Some(units) = members.get(code) else {
                continue;
            };
            for (i, (_, xs, basis)) in self.spans.iter().enumerate() {
                let Some((a, b)) = averages(code, xs, *basis, &table) else {
                    continue;
                };
                for u in units {
                    let v = self
                        .by_unit
                        .entry(u.clone())
                        .or_insert_with(|| vec![(0.0, 0.0, 0); n]);
                    v[i].0 += a;
                    v[i].1 += b;
                    v[i].2 += 1;
                }
            }
        }
    }

    /// Each unit's electricity growth of the trailing spans and of the span's 旬s present
    /// before `cutoff_day`, into `out`.
    pub fn apply(&self, cutoff_day: NaiveDate, out: &mut BTreeMap<String, Known>) {
        let partial = present_xuns(self.span, cutoff_day, &self.seen);
        let trailing = self.spans.iter().filter(|s| s.0.is_some()).count();
        let mut used: Vec<usize> = (0..trailing).collect();
        if !partial.is_empty() {
            used.push(trailing + partial.len() - 1);
        }
        for (unit, v) in &self.by_unit {
            if used.iter().all(|i| v[*i].2 == 0) {
                continue;
            }
            let k = out.entry(unit.clone()).or_default();
            for i in &used {
                let (a, b, _) = v[*i];
                if b <= 0.0 {
                    continue;
                }
                let g = (a / b - 1.0) * 100.0;
                match self.spans[*i].0 {
                    Some(last) => {
                        k.power.insert(last, g);
                    }
                    None => {
                        k.partial = Some(Partial {
                            growth_pct: g,
                            label: xuns_label(&partial),
                        })
                    }
                }
            }
        }
    }
}

/// An enterprise's average daily kWh over the 旬s `xs` and over the same 旬s a year earlier,
/// over all the days present or the working days among them (`basis`), when both have 80% of
/// their days present and last year's is above zero.
fn averages(
    code: &str,
    xs: &[Xun],
    basis: Basis,
    table: &HashMap<(&str, Xun), &XunPower>,
) -> Option<(f64, f64)> {
    let level = |year_ago: bool| {
        let (mut span_days, mut present, mut used, mut kwh) = (0u32, 0u32, 0u32, 0i64);
        for x in xs {
            let x = if year_ago { x.year_ago() } else { *x };
            span_days += x.len();
            if let Some(r) = table.get(&(code, x)) {
                present += r.days;
                let (d, k) = match basis {
                    Basis::AllDays => (r.days, r.kwh),
                    Basis::WorkingDays => (r.work_days, r.work_kwh),
                };
                used += d;
                kwh += k;
            }
        }
        (used > 0 && present * 10 >= COVERAGE_TENTHS * span_days)
            .then(|| kwh as f64 / f64::from(used))
    };
    let (a, b) = (level(false)?, level(true)?);
    (b > 0.0).then_some((a, b))
}

/// Each unit's months: output and output a year earlier over the enterprises with both, and the
/// year to date likewise, in 万元. A year earlier is the form's 上年同期 figure where given, else
/// the enterprise's own report of that month a year before (同口径: the same enterprises).
fn months_by_unit(
    reading: &Reading,
    members: &HashMap<String, Vec<String>>,
) -> BTreeMap<String, Vec<Month>> {
    // (unit, period) → [output, prev, ytd, ytd_prev, months counted, ytd counted].
    let mut acc: BTreeMap<(&str, Period), MonthSums> = BTreeMap::new();
    let by_key: HashMap<(&str, Period), &OutputRow> = reading
        .outputs
        .iter()
        .map(|r| ((r.credit_code.as_str(), r.period), r))
        .collect();
    for r in &reading.outputs {
        let Some(units) = members.get(&r.credit_code) else {
            continue;
        };
        // The form's 上年同期 where given, else the enterprise's own report a year earlier.
        let year_ago = by_key.get(&(r.credit_code.as_str(), r.period.year_ago()));
        let prev = r.output_prev.or_else(|| year_ago.and_then(|y| y.output));
        let ytd_prev = r
            .output_ytd_prev
            .or_else(|| year_ago.and_then(|y| y.output_ytd));
        let month = r.output.zip(prev);
        let ytd = r.output_ytd.zip(ytd_prev);
        if month.is_none() && ytd.is_none() {
            continue;
        }
        for u in units {
            let a = acc.entry((u.as_str(), r.period)).or_default();
            if let Some((o, p)) = month {
                a[0] += o;
                a[1] += p;
                a[4] += 1;
            }
            if let Some((o, p)) = ytd {
                a[2] += o;
                a[3] += p;
                a[5] += 1;
            }
        }
    }
    months_from_sums(acc.into_iter().map(|((u, p), a)| ((u.to_string(), p), a)))
}

/// Sums of enterprise figures of a unit and period: output, output a year earlier, 1—N月 output
/// this and last year, the enterprises counted in the first two and in the last two
/// (ten-thousandths of 万元).
pub type MonthSums = [i64; 6];

/// Each unit's months from its sums, in period order: a month needs an enterprise with both
/// years' output; its 1—N月 figures one with both years' 1—N月 output.
pub fn months_from_sums(
    sums: impl IntoIterator<Item = ((String, Period), MonthSums)>,
) -> BTreeMap<String, Vec<Month>> {
    let mut out: BTreeMap<String, Vec<Month>> = BTreeMap::new();
    let wan = |raw: i64| raw as f64 / 10_000.0;
    for ((unit, period), a) in sums {
        if a[4] == 0 {
            continue;
        }
        out.entry(unit).or_default().push(Month {
            period,
            output: wan(a[0]),
            output_prev: wan(a[1]),
            ytd: (a[5] > 0).then(|| (wan(a[2]), wan(a[3]))),
        });
    }
    out
}
