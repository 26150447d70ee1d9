//! From enterprise rows as known at a cut-off to each unit's [`Known`]: output summed over the
//! enterprises that reported both years (同口径), and electricity growth summed as the 旬 rules
//! sum it — each enterprise's average daily consumption over the days present, this year and
//! the same days last year, both with at least 80% of their days (a missing day is no zero).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::NaiveDate;
use serde::Serialize;

use super::{HISTORY_MONTHS, Known, Month, Partial, Span};
use crate::period::Period;
use crate::power::Xun;

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
/// their sum (ten-thousandths of kWh).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct XunPower {
    pub credit_code: String,
    pub xun: Xun,
    pub days: u32,
    pub kwh: i64,
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
/// `members` gives the units each enterprise counts in.
pub fn known_by_unit(
    span: Span,
    cutoff_day: NaiveDate,
    reading: &Reading,
    members: &HashMap<String, Vec<String>>,
) -> BTreeMap<String, Known> {
    let mut out: BTreeMap<String, Known> = BTreeMap::new();
    for (unit, months) in months_by_unit(reading, members) {
        out.entry(unit).or_default().months = months;
    }
    let table: HashMap<(&str, Xun), (u32, i64)> = reading
        .power
        .iter()
        .map(|r| ((r.credit_code.as_str(), r.xun), (r.days, r.kwh)))
        .collect();
    let seen: BTreeSet<Xun> = reading.power.iter().map(|r| r.xun).collect();
    let partial = present_xuns(span, cutoff_day, &seen);
    let mut spans: Vec<(Option<Period>, Vec<Xun>)> = span
        .trailing(HISTORY_MONTHS)
        .into_iter()
        .map(|s| (Some(s.last), xuns(s)))
        .collect();
    if !partial.is_empty() {
        spans.push((None, partial.clone()));
    }
    let codes: BTreeSet<&str> = reading
        .power
        .iter()
        .map(|r| r.credit_code.as_str())
        .collect();
    // unit → span index → (Σ this year's daily averages, Σ last year's).
    let mut sums: HashMap<&str, Vec<(f64, f64)>> = HashMap::new();
    for code in codes {
        let Some(units) = members.get(code) else {
            continue;
        };
        for (i, (_, xs)) in spans.iter().enumerate() {
            let Some((a, b)) = averages(code, xs, &table) else {
                continue;
            };
            for u in units {
                let v = sums
                    .entry(u.as_str())
                    .or_insert_with(|| vec![(0.0, 0.0); spans.len()]);
                v[i].0 += a;
                v[i].1 += b;
            }
        }
    }
    for (unit, v) in sums {
        let k = out.entry(unit.to_string()).or_default();
        for ((key, _), (a, b)) in spans.iter().zip(v) {
            if b <= 0.0 {
                continue;
            }
            let g = (a / b - 1.0) * 100.0;
            match key {
                Some(last) => {
                    k.power.insert(*last, g);
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
    out
}

/// An enterprise's average daily kWh over the 旬s `xs` and over the same 旬s a year earlier,
/// when both have 80% of their days and last year's is above zero.
fn averages(
    code: &str,
    xs: &[Xun],
    table: &HashMap<(&str, Xun), (u32, i64)>,
) -> Option<(f64, f64)> {
    let level = |year_ago: bool| {
        let (mut span_days, mut days, mut kwh) = (0u32, 0u32, 0i64);
        for x in xs {
            let x = if year_ago { x.year_ago() } else { *x };
            span_days += x.len();
            if let Some((d, k)) = table.get(&(code, x)) {
                days += d;
                kwh += k;
            }
        }
        (days > 0 && days * 10 >= COVERAGE_TENTHS * span_days).then(|| kwh as f64 / f64::from(days))
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
    let mut acc: BTreeMap<(&str, Period), [i64; 6]> = BTreeMap::new();
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
    let mut out: BTreeMap<String, Vec<Month>> = BTreeMap::new();
    let wan = |raw: i64| raw as f64 / 10_000.0;
    for ((unit, period), a) in acc {
        if a[4] == 0 {
            continue;
        }
        out.entry(unit.to_string()).or_default().push(Month {
            period,
            output: wan(a[0]),
            output_prev: wan(a[1]),
            ytd: (a[5] > 0).then(|| (wan(a[2]), wan(a[3]))),
        });
    }
    out
}
