//! Reads for the nowcast (`forecast`): submissions' output and daily electricity as they were
//! known at a cut-off. A figure's revision known at a cut-off is the one with the largest
//! `received_at` not after it: the current row when it was received by then, else the
//! history row received by then and superseded after it (a revision is superseded when the
//! next one is received, so at most one row of an enterprise-month or -day qualifies). The
//! nowcast reads every revision once ([`Stock`]) and cuts it at each of its cut-offs.

use std::collections::{BTreeMap, HashMap};

use chrono::{NaiveDate, TimeZone};
use chrono_tz::Asia::Shanghai;
use sqlx::Row;

use super::{Store, on_pool};
use crate::forecast::assemble::{self, OutputRow, Reading, XunPower};
use crate::forecast::{HISTORY_MONTHS, Span, UnitInput};
use crate::period::Period;
use crate::power::Xun;
use crate::registry::{Scale, TargetKind, UnitKind};

/// Output figures of the periods `$1..=$2` received by `$3`, with when each was received and,
/// for an earlier revision, superseded.
const OUTPUTS: &str =
    "SELECT credit_code, period, output, output_prev, output_ytd, output_ytd_prev,
       received_at, CAST(NULL AS BIGINT) FROM submission
     WHERE period >= $1 AND period <= $2 AND received_at <= $3
     UNION ALL
     SELECT credit_code, period, output, output_prev, output_ytd, output_ytd_prev,
       received_at, superseded_at FROM submission_history
     WHERE period >= $1 AND period <= $2 AND received_at <= $3";

/// Daily electricity of the days `$1..=$2` received by `$3`, summed by enterprise, 旬 and
/// revision's receipt (and supersession).
const POWER: &str = "SELECT credit_code, substr(day, 1, 7) AS period,
       CAST(CASE WHEN substr(day, 9, 2) <= '10' THEN 1 WHEN substr(day, 9, 2) <= '20' THEN 2 ELSE 3 END AS BIGINT) AS xun,
       CAST(COUNT(*) AS BIGINT), CAST(SUM(kwh) AS BIGINT), received_at, CAST(NULL AS BIGINT)
     FROM power_daily WHERE day >= $1 AND day <= $2 AND received_at <= $3
     GROUP BY credit_code, substr(day, 1, 7),
       CASE WHEN substr(day, 9, 2) <= '10' THEN 1 WHEN substr(day, 9, 2) <= '20' THEN 2 ELSE 3 END, received_at
     UNION ALL
     SELECT credit_code, substr(day, 1, 7) AS period,
       CAST(CASE WHEN substr(day, 9, 2) <= '10' THEN 1 WHEN substr(day, 9, 2) <= '20' THEN 2 ELSE 3 END AS BIGINT) AS xun,
       CAST(COUNT(*) AS BIGINT), CAST(SUM(kwh) AS BIGINT), received_at, superseded_at
     FROM power_daily_history WHERE day >= $1 AND day <= $2 AND received_at <= $3
     GROUP BY credit_code, substr(day, 1, 7),
       CASE WHEN substr(day, 9, 2) <= '10' THEN 1 WHEN substr(day, 9, 2) <= '20' THEN 2 ELSE 3 END,
       received_at, superseded_at";

/// When a figure was known: received, and superseded (none for the current revision).
type When = (i64, Option<i64>);

/// Whether a revision was the one known at `cutoff`.
fn known_at((received, superseded): When, cutoff: i64) -> bool {
    received <= cutoff && superseded.is_none_or(|s| s > cutoff)
}

/// What the nowcast may read, read once and cut at each cut-off ([`Stock::at`]).
#[derive(Clone, Debug, Default)]
pub struct Stock {
    outputs: Vec<(OutputRow, When)>,
    power: Vec<(XunPower, When)>,
}

impl Stock {
    /// The figures of the periods `from..=to` as known at `cutoff`.
    pub fn at(&self, from: Period, to: Period, cutoff: i64) -> Reading {
        let within = |p: Period| from <= p && p <= to;
        let outputs = self
            .outputs
            .iter()
            .filter(|(r, w)| within(r.period) && known_at(*w, cutoff))
            .map(|(r, _)| r.clone())
            .collect();
        let mut sums: BTreeMap<(&str, Xun), (u32, i64)> = BTreeMap::new();
        for (r, w) in &self.power {
            if within(r.xun.period()) && known_at(*w, cutoff) {
                let e = sums.entry((r.credit_code.as_str(), r.xun)).or_default();
                e.0 += r.days;
                e.1 += r.kwh;
            }
        }
        let power = sums
            .into_iter()
            .map(|((c, xun), (days, kwh))| XunPower {
                credit_code: c.to_string(),
                xun,
                days,
                kwh,
            })
            .collect();
        Reading { outputs, power }
    }
}

type OutputTuple = (
    String,
    String,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    i64,
    Option<i64>,
);

/// Backtest spans read before the span forecast: a few more than the backtest uses, for spans
/// it skips.
const SPANS_BACK: usize = 15;

/// Epoch milliseconds of the start of a month in Asia/Shanghai.
pub fn month_start_ms(p: Period) -> i64 {
    Shanghai
        .with_ymd_and_hms(p.year(), p.month(), 1, 0, 0, 0)
        .single()
        .map_or(0, |t| t.timestamp_millis())
}

/// The day (Asia/Shanghai) of an epoch-milliseconds instant.
fn local_day(ms: i64) -> NaiveDate {
    Shanghai
        .timestamp_millis_opt(ms)
        .single()
        .map_or(NaiveDate::MIN, |t| t.date_naive())
}

impl Store {
    /// Output and daily electricity of the periods `from..=to` as known at `cutoff_ms`. (The
    /// nowcast reads from a year before its history: the base of its first months — the reports
    /// that give a month without 上年同期 its base, and last year's days.)
    pub async fn forecast_reading(
        &self,
        from: Period,
        to: Period,
        cutoff_ms: i64,
    ) -> anyhow::Result<Reading> {
        Ok(self
            .forecast_stock(from, to, cutoff_ms)
            .await?
            .at(from, to, cutoff_ms))
    }

    /// Every revision of output and daily electricity of the periods `from..=to` received by
    /// `until_ms`, with when it was received and superseded.
    pub async fn forecast_stock(
        &self,
        from: Period,
        to: Period,
        until_ms: i64,
    ) -> anyhow::Result<Stock> {
        let rows: Vec<OutputTuple> = on_pool!(self, p => sqlx::query_as(OUTPUTS)
            .bind(from.to_string()).bind(to.to_string()).bind(until_ms).fetch_all(p).await?);
        let mut outputs = Vec::with_capacity(rows.len());
        for (code, period, output, output_prev, output_ytd, output_ytd_prev, rec, sup) in rows {
            let period: Period = period
                .parse()
                .map_err(|e| anyhow::anyhow!("submission.period {period}: {e}"))?;
            let row = OutputRow {
                credit_code: code,
                period,
                output,
                output_prev,
                output_ytd,
                output_ytd_prev,
            };
            outputs.push((row, (rec, sup)));
        }
        let first = Xun::new(from, 1).map_or(NaiveDate::MIN, Xun::first_day);
        let last = Xun::new(to, 3).map_or(NaiveDate::MIN, Xun::last_day);
        let power = on_pool!(self, p => sqlx::query(POWER)
            .bind(first.to_string()).bind(last.to_string()).bind(until_ms).fetch_all(p).await?
            .iter().map(|r| Ok((r.try_get::<String, _>(0)?, r.try_get::<String, _>(1)?,
                r.try_get::<i64, _>(2)?, r.try_get::<i64, _>(3)?, r.try_get::<i64, _>(4)?,
                r.try_get::<i64, _>(5)?, r.try_get::<Option<i64>, _>(6)?)))
            .collect::<Result<Vec<_>, sqlx::Error>>()?);
        let power = power
            .into_iter()
            .filter_map(|(code, period, part, days, kwh, rec, sup)| {
                let xun = Xun::new(period.parse().ok()?, u8::try_from(part).ok()?)?;
                let row = XunPower {
                    credit_code: code,
                    xun,
                    days: u32::try_from(days).ok()?,
                    kwh,
                };
                Some((row, (rec, sup)))
            })
            .collect();
        Ok(Stock { outputs, power })
    }

    /// Every unit's input to the nowcast of the span containing `period` as of `as_of_ms`: the
    /// span and the [`SPANS_BACK`] spans before it, each read at its own cut-off — as far into
    /// its month as `as_of_ms` is into `period` (into January for a January forecast of 1—2月).
    pub async fn nowcast_inputs(
        &self,
        period: Period,
        as_of_ms: i64,
    ) -> anyhow::Result<(Span, Vec<UnitInput>)> {
        let target = Span::of(period);
        let offset = as_of_ms - month_start_ms(period);
        let anchor = |s: Span| if period.month() == 1 { s.first } else { s.last };
        let members = self.forecast_members().await?;
        let mut spans = vec![target];
        for _ in 0..SPANS_BACK {
            let before = spans[spans.len() - 1].prev();
            spans.push(before);
        }
        let mut inputs: BTreeMap<String, UnitInput> = BTreeMap::new();
        let back = |s: Span| s.first.offset(-(HISTORY_MONTHS as i32) - 12);
        let oldest = spans.iter().map(|s| back(*s)).min().unwrap_or(target.first);
        let stock = self.forecast_stock(oldest, target.last, as_of_ms).await?;
        for s in &spans {
            let cutoff = if *s == target {
                as_of_ms
            } else {
                (month_start_ms(anchor(*s)) + offset).min(as_of_ms)
            };
            let reading = stock.at(back(*s), s.last, cutoff);
            let known = assemble::known_by_unit(*s, local_day(cutoff), &reading, &members);
            for (unit, k) in known {
                let input = inputs.entry(unit.clone()).or_default();
                if *s == target {
                    input.finals = k.months.clone();
                }
                input.vintages.insert(s.last, k);
            }
        }
        let year = target.last.year();
        let targets = self.targets().await?;
        let mut out = Vec::new();
        for u in self.units().await? {
            let mut input = inputs.remove(&u.code).unwrap_or_default();
            input.code = u.code.clone();
            input.name = u.name.clone();
            input.target_pct = growth_target(&targets, year, &u.code);
            if u.kind == UnitKind::City {
                out.insert(0, input);
            } else {
                out.push(input);
            }
        }
        Ok((target, out))
    }

    /// Above-scale enterprises → the units they count in: their own, their zone, the city.
    async fn forecast_members(&self) -> anyhow::Result<HashMap<String, Vec<String>>> {
        let city = self
            .units()
            .await?
            .into_iter()
            .find(|u| u.kind == UnitKind::City)
            .map(|u| u.code);
        let mut out = HashMap::new();
        for e in self.enterprises().await? {
            if e.scale != Scale::Above {
                continue;
            }
            let mut m = vec![e.unit_code.clone()];
            m.extend(e.zone_code.clone().filter(|z| *z != e.unit_code));
            m.extend(city.clone().filter(|c| !m.contains(c)));
            out.insert(e.credit_code.to_string(), m);
        }
        Ok(out)
    }
}

/// A unit's annual growth target of the year: value added's where set, else another growth
/// target's; percent.
fn growth_target(targets: &[crate::registry::Target], year: i32, unit: &str) -> Option<f64> {
    let mine = || {
        targets
            .iter()
            .filter(|t| t.year == year && t.unit_code == unit && t.kind == TargetKind::Growth)
    };
    mine()
        .find(|t| t.indicator == crate::analysis::VALUE_ADDED_GROWTH)
        .or_else(|| mine().next())
        .map(|t| t.annual.to_f64())
}
