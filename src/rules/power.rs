//! The 旬 rules (DESIGN.md, "Every ten days") on metered electricity, all on the average daily
//! consumption over the days present (a missing day is not a zero; a 旬 needs `min_coverage`
//! of its days, and so does its reference):
//! - `enterprise_power_stalled` 疑似停产: below `stalled_ratio` of the reference (the same 旬 last
//!   year, or last December's daily average); exactly at it is not. An enterprise stalled
//!   before stays 疑似停产 until it resumes.
//! - `enterprise_power_resumed` 复产: an enterprise stalled before whose every day of the 旬 is
//!   above `resumed_ratio` of its reference.
//! - `enterprise_power_drop` 用电大幅下降: not stalled, and down more than `drop_ratio` on the
//!   same 旬 last year.
//!
//! A 旬 with public holidays, or a reference with them, is compared by the average over working
//! days on both sides, so that a holiday is not a citywide 疑似停产. Pure: data, configuration
//! and calendar in, findings out.

use std::collections::{HashMap, HashSet};
use std::ops::RangeInclusive;

use chrono::NaiveDate;
use serde_json::{Map, json};

use super::{Finding, Rule, RulesConfig, basis_points, num};
use crate::analysis::fmt_pct;
use crate::calendar::Calendar;
use crate::credit_code::CreditCode;
use crate::period::Period;
use crate::power::level::{self, Basis, Level, Workdays};
use crate::power::{DailyTable, EnterpriseDays};
use crate::power::{PowerConfig, Reference, Xun};
use crate::registry::Enterprise;

/// What the 旬 rules read.
pub struct XunData<'a> {
    pub xun: Xun,
    pub enterprises: &'a [Enterprise],
    /// Unit code → name, for messages.
    pub unit_names: &'a HashMap<String, String>,
    /// The city's unit code, added to every finding's scope.
    pub city: Option<&'a str>,
    /// Daily electricity by enterprise: the 旬, the same 旬 last year and last December; made
    /// in the order of `enterprises` (any other order is looked up).
    pub daily: &'a DailyTable,
    /// Enterprises with a firing or acknowledged `enterprise_power_stalled` alert.
    pub stalled_before: &'a HashSet<String>,
    pub calendar: Option<&'a Calendar>,
}

/// A unit's electricity growth of the 旬 (上年同旬 = 100), over the enterprises judged on both.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct UnitXun {
    pub code: String,
    pub enterprises: u32,
    /// Sum of the enterprises' daily averages this 旬 and the same 旬 last year, kWh.
    pub daily_kwh: f64,
    pub daily_kwh_prev: f64,
    pub growth_pct: Option<f64>,
}

/// What the 旬 rules found.
#[derive(Clone, Debug, Default)]
pub struct XunOutcome {
    pub findings: Vec<Finding>,
    /// The enterprises whose 旬 had enough days to be judged.
    pub judged: HashSet<CreditCode, foldhash::fast::RandomState>,
    pub units: Vec<UnitXun>,
}

/// The spans the 旬 rules read for `x`: the 旬, the same 旬 last year and last December.
pub fn spans(x: Xun) -> [RangeInclusive<NaiveDate>; 3] {
    let december = Period::new(x.period().year() - 1, 12)
        .map_or(NaiveDate::MIN..=NaiveDate::MIN, level::month_span);
    [level::xun_span(x), level::xun_span(x.year_ago()), december]
}

/// The spans of [`spans`] the rules look at under `pc`: last December only when it is the
/// reference (at 500,000 enterprises its 31 days are 15M rows no rule would read).
pub fn spans_read(x: Xun, pc: &PowerConfig) -> Vec<RangeInclusive<NaiveDate>> {
    let [cur, year_ago, december] = spans(x);
    match pc.reference {
        Reference::SameXunLastYear => vec![cur, year_ago],
        Reference::LastDecember => vec![cur, year_ago, december],
    }
}

/// The levels one enterprise is judged on.
struct Judged {
    basis: Basis,
    cur: Level,
    yoy: Option<Level>,
    reference: Option<Level>,
}

/// What every enterprise of a 旬 is judged over: the spans, the basis of the averages (working
/// days when the 旬, the same 旬 last year or the reference has a public holiday) and the
/// calendar's working days, looked up once a run.
struct Frame<'a> {
    spans: [RangeInclusive<NaiveDate>; 3],
    basis: Basis,
    worked: Workdays<'a>,
}

impl Frame<'_> {
    fn new<'a>(x: Xun, pc: &PowerConfig, cal: Option<&'a Calendar>) -> Frame<'a> {
        let spans = spans(x);
        let ref_span = reference_span(&spans, pc);
        let holidays = level::has_holiday(cal, &spans[0])
            || level::has_holiday(cal, &spans[1])
            || level::has_holiday(cal, ref_span);
        let basis = if holidays {
            Basis::WorkingDays
        } else {
            Basis::AllDays
        };
        let worked = Workdays::new(cal, &spans);
        Frame {
            spans,
            basis,
            worked,
        }
    }

    fn level(&self, days: EnterpriseDays<'_>, span: &RangeInclusive<NaiveDate>) -> Level {
        level::level_of(days.within(span), span, self.basis, |d| {
            self.worked.is_worked(d)
        })
    }
}

fn reference_span<'s>(
    spans: &'s [RangeInclusive<NaiveDate>; 3],
    pc: &PowerConfig,
) -> &'s RangeInclusive<NaiveDate> {
    match pc.reference {
        Reference::SameXunLastYear => &spans[1],
        Reference::LastDecember => &spans[2],
    }
}

fn judge(days: EnterpriseDays<'_>, f: &Frame<'_>, pc: &PowerConfig) -> Option<Judged> {
    let basis = f.basis;
    let min = basis_points(pc.min_coverage);
    let cur = f.level(days, &f.spans[0]);
    if !cur.covered(min) {
        return None;
    }
    let usable = |l: Level| (l.covered(min) && l.total > 0).then_some(l);
    let yoy = usable(f.level(days, &f.spans[1]));
    let reference = match pc.reference {
        Reference::SameXunLastYear => yoy,
        Reference::LastDecember => usable(f.level(days, reference_span(&f.spans, pc))),
    };
    Some(Judged {
        basis,
        cur,
        yoy,
        reference,
    })
}

/// Evaluates the 旬 rules for every registered enterprise with electricity in the 旬.
///
/// At half a million enterprises the judging takes most of a second: the registry is cut in
/// one contiguous part per core, judged side by side, and the parts are gathered in registry
/// order, so that the units' sums add up in the same order as on one core.
pub fn findings(data: &XunData<'_>, pc: &PowerConfig, cfg: &RulesConfig) -> XunOutcome {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let part_len = data.enterprises.len().div_ceil(cores).max(MIN_PART);
    findings_in_parts(data, pc, cfg, part_len)
}

/// Parts under this many enterprises are not worth a thread.
const MIN_PART: usize = 10_000;

/// [`findings`] with the registry judged in parts of `part_len` enterprises, one thread each.
fn findings_in_parts(
    data: &XunData<'_>,
    pc: &PowerConfig,
    cfg: &RulesConfig,
    part_len: usize,
) -> XunOutcome {
    let frame = Frame::new(data.xun, pc, data.calendar);
    let ranges = parts(data.enterprises.len(), part_len);
    let judged_parts: Vec<Part> = std::thread::scope(|scope| {
        let Some((first, rest)) = ranges.split_first() else {
            return Vec::new();
        };
        let others: Vec<_> = rest
            .iter()
            .map(|r| {
                let (r, frame) = (r.clone(), &frame);
                scope.spawn(move || judge_part(data, frame, pc, cfg, r))
            })
            .collect();
        let mut all = vec![judge_part(data, &frame, pc, cfg, first.clone())];
        all.extend(others.into_iter().map(|h| {
            h.join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        }));
        all
    });
    gather(data, cfg, judged_parts)
}

/// The registry's indices cut in parts of `part_len`.
fn parts(n: usize, part_len: usize) -> Vec<std::ops::Range<usize>> {
    let len = part_len.max(1);
    (0..n).step_by(len).map(|s| s..(s + len).min(n)).collect()
}

/// What one part of the registry gave: the enterprises judged, each one's daily averages this
/// 旬 and last year's (for the units' growth), and the findings, all in registry order.
#[derive(Default)]
struct Part {
    judged: Vec<CreditCode>,
    averages: Vec<(usize, f64, f64)>,
    findings: Vec<Finding>,
}

fn judge_part(
    data: &XunData<'_>,
    frame: &Frame<'_>,
    pc: &PowerConfig,
    cfg: &RulesConfig,
    range: std::ops::Range<usize>,
) -> Part {
    let mut out = Part::default();
    for i in range {
        let e = &data.enterprises[i];
        let Some(days) = data.daily.get_at(i, &e.credit_code) else {
            continue;
        };
        let Some(j) = judge(days, frame, pc) else {
            continue;
        };
        out.judged.push(e.credit_code);
        if let (Some(a), Some(b)) = (j.cur.average_kwh(), j.yoy.and_then(|y| y.average_kwh())) {
            out.averages.push((i, a, b));
        }
        let subject = Subject { e, data, j: &j, pc };
        if let Some((rule, against)) = subject.rule(days, frame) {
            out.findings.push(subject.finding(rule, against, cfg));
        }
    }
    out
}

/// The parts put together: the judged set, the findings sorted, the units' 旬 growth.
fn gather(data: &XunData<'_>, cfg: &RulesConfig, judged_parts: Vec<Part>) -> XunOutcome {
    let mut out = XunOutcome::default();
    let total = judged_parts.iter().map(|p| p.judged.len()).sum();
    out.judged.reserve(total);
    let mut units: HashMap<&str, (u32, f64, f64), foldhash::fast::RandomState> = HashMap::default();
    for part in judged_parts {
        out.judged.extend(part.judged);
        out.findings.extend(part.findings);
        for (i, a, b) in part.averages {
            for u in scope(&data.enterprises[i], data.city) {
                let entry = units.entry(u).or_default();
                entry.0 += 1;
                entry.1 += a;
                entry.2 += b;
            }
        }
    }
    out.findings.retain(|f| cfg.enabled(f.rule));
    super::sort_findings(&mut out.findings);
    let mut codes: Vec<&str> = units.keys().copied().collect();
    codes.sort_unstable();
    out.units = codes
        .into_iter()
        .map(|c| {
            let (n, a, b) = units[c];
            UnitXun {
                code: c.to_string(),
                enterprises: n,
                daily_kwh: a,
                daily_kwh_prev: b,
                growth_pct: (b > 0.0).then(|| (a - b) * 100.0 / b),
            }
        })
        .collect();
    out
}

/// Whether every day used of the 旬 is above `resumed_ratio` of the reference's average.
fn every_day_above(
    days: EnterpriseDays<'_>,
    f: &Frame<'_>,
    reference: &Level,
    pc: &PowerConfig,
) -> bool {
    let ratio = basis_points(pc.resumed_ratio);
    days.within(&f.spans[0])
        .filter(|(d, _)| f.basis == Basis::AllDays || f.worked.is_worked(*d))
        .all(|(_, kwh)| reference.day_above(kwh, ratio))
}

/// The units whose officials see an enterprise's 旬 findings: its own, its zone, the city.
fn scope<'a>(e: &'a Enterprise, city: Option<&'a str>) -> impl Iterator<Item = &'a str> {
    [Some(e.unit_code.as_str()), e.zone_code.as_deref(), city]
        .into_iter()
        .flatten()
}

struct Subject<'a> {
    e: &'a Enterprise,
    data: &'a XunData<'a>,
    j: &'a Judged,
    pc: &'a PowerConfig,
}

impl<'a> Subject<'a> {
    /// Which rule fires for the enterprise, if any, and what it is measured against: 复产 for
    /// one stalled before whose every day is above the resumed ratio, else 疑似停产 while
    /// below the stalled ratio (or stalled before), else 用电大幅下降.
    fn rule(&self, days: EnterpriseDays<'_>, frame: &Frame<'_>) -> Option<(Rule, &'a Level)> {
        let (j, pc) = (self.j, self.pc);
        let was_stalled = self
            .data
            .stalled_before
            .contains(self.e.credit_code.as_str());
        if let Some(r) = &j.reference {
            if was_stalled && every_day_above(days, frame, r, pc) {
                return Some((Rule::EnterprisePowerResumed, r));
            }
            if was_stalled || j.cur.below(basis_points(pc.stalled_ratio), r) {
                return Some((Rule::EnterprisePowerStalled, r));
            }
        }
        j.yoy
            .as_ref()
            .filter(|y| j.cur.below(10_000 - basis_points(pc.drop_ratio), y))
            .map(|y| (Rule::EnterprisePowerDrop, y))
    }

    fn finding(&self, rule: Rule, against: &Level, cfg: &RulesConfig) -> Finding {
        let x = self.data.xun;
        let (j, pc) = (self.j, self.pc);
        let against_name = if rule == Rule::EnterprisePowerDrop {
            Reference::SameXunLastYear.zh()
        } else {
            pc.reference.zh()
        };
        let pct = j.cur.pct_of(against).unwrap_or(0.0);
        let avg = j.cur.average_kwh().unwrap_or(0.0);
        let ref_avg = against.average_kwh().unwrap_or(0.0);
        let what = match rule {
            Rule::EnterprisePowerStalled => format!(
                "为{against_name}的{}（低于{}），疑似停产",
                fmt_pct(pct),
                fmt_pct(pc.stalled_ratio * 100.0)
            ),
            Rule::EnterprisePowerResumed => format!(
                "每日均高于{against_name}{}的{}，已复产",
                j.basis.zh(),
                fmt_pct(pc.resumed_ratio * 100.0)
            ),
            _ => format!(
                "比上年同旬下降{}（超过{}）",
                fmt_pct(100.0 - pct),
                fmt_pct(pc.drop_ratio * 100.0)
            ),
        };
        let unit_name = self
            .data
            .unit_names
            .get(&self.e.unit_code)
            .map_or("", String::as_str);
        let message = format!(
            "{unit_name}{}：{}{}用电{}千瓦时，{against_name}{}千瓦时，{what}。",
            self.e.name,
            x.label(),
            j.basis.zh(),
            crate::analysis::rounding::fixed(avg, 1),
            crate::analysis::rounding::fixed(ref_avg, 1),
        );
        let mut values = Map::new();
        values.insert("xun".into(), json!(x.to_string()));
        values.insert("basis".into(), json!(j.basis));
        values.insert("days_in_xun".into(), json!(j.cur.days_in_span));
        values.insert("days_present".into(), json!(j.cur.days_present));
        values.insert("days_used".into(), json!(j.cur.days_used));
        values.insert("kwh_per_day".into(), num(avg));
        values.insert(
            "reference".into(),
            json!(if rule == Rule::EnterprisePowerDrop {
                Reference::SameXunLastYear
            } else {
                pc.reference
            }),
        );
        values.insert("reference_kwh_per_day".into(), num(ref_avg));
        values.insert("reference_days_used".into(), json!(against.days_used));
        values.insert("pct_of_reference".into(), num(pct));
        let threshold = match rule {
            Rule::EnterprisePowerStalled => pc.stalled_ratio,
            Rule::EnterprisePowerResumed => pc.resumed_ratio,
            _ => 1.0 - pc.drop_ratio,
        };
        values.insert("threshold_pct".into(), num(threshold * 100.0));
        Finding {
            rule,
            severity: cfg.severity_of(rule),
            subject: self.e.credit_code.to_string(),
            subject_name: self.e.name.clone(),
            indicator: "electricity".into(),
            unit: self.e.unit_code.clone(),
            scope: scope(self.e, self.data.city).map(String::from).collect(),
            owner: self.e.owner.clone(),
            period: x.period(),
            consecutive: 1,
            message,
            values,
        }
    }
}

#[cfg(test)]
#[path = "power_tests.rs"]
mod tests;
