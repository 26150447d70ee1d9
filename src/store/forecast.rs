//! Reads for the nowcast (`forecast`): submissions' output and daily electricity as they were
//! known at a cut-off. A figure's revision known at a cut-off is the one with the largest
//! `received_at` not after it: the current row when it was received by then, else the
//! history row received by then and superseded after it (a revision is superseded when the
//! next one is received, so at most one row of an enterprise-month or -day qualifies).
//!
//! The nowcast reads once and cuts at each of its 16 cut-offs, without holding enterprise rows:
//! - output summed in SQL by the enterprise's unit and zone (today's registry), period and
//!   revision (when received, when superseded) — [`OutputGroups`]; sums add up, so a unit's
//!   figure known at a cut-off is the sum of the groups whose revision was known then (a month
//!   without the form's 上年同期 takes the enterprise's own report a year earlier: such a pair is
//!   a group of its own, known while both revisions were);
//! - electricity read by enterprise, 旬 and revision a slice of enterprises at a time
//!   ([`CHUNK`]) and summed by unit at each cut-off ([`PowerSums`]): a unit's electricity growth
//!   sums each enterprise's average over the days present, with four fifths of the days on both
//!   sides, which a sum by unit in SQL cannot give.
//!
//! Months past `[power] daily_retention_months` have no days left: their 旬s are read from
//! `power_xun_total` ([`PRUNED`]) as the same sums by enterprise and 旬 — the days present and
//! their kWh, the working days and theirs — each the 旬's final revision, known from the day
//! after the 旬 ended ([`pruned_known_ms`]: the retention keeps at least 24 months before the
//! current one, so the nowcast's cut-offs, at most 16 spans back, read a pruned month only
//! months after it, when its days had long been in). The working days of a pruned 旬 are those
//! of the calendar when it was pruned (`[calendar]` then); the partial compares working days
//! only for 旬s with public holidays, whose official calendar was published years before.

use std::collections::{BTreeMap, HashMap};

use chrono::{NaiveDate, TimeZone};
use chrono_tz::Asia::Shanghai;
use sqlx::Row;

use super::forecast_power::{self, XunSum};
use super::{Store, on_pool};
use crate::calendar::Calendar;
use crate::forecast::assemble::{self, MonthSums, OutputRow, PowerSums, Reading, XunPower};
use crate::forecast::{HISTORY_MONTHS, Known, Span, UnitInput};
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

/// Daily electricity of the days `$1..=$2` received by `$3` of the enterprises after `$4`
/// (`{upto}`: and up to `$6`), summed by enterprise, 旬 and revision's receipt (and
/// supersession): all days, and the working days — those not in `$5`, a JSON array of the days
/// off (`assemble::off_days`). PostgreSQL's; SQLite's days are summed as they are read
/// (`forecast_power`), which its sorter would take far longer to group. The key of the days is
/// (day, credit code): the slice is looked up under each day of the span in turn (`LATERAL`, in
/// that day's month's partition alone), as a nested loop ([`SLICE_PLAN`]) — by a hash or merge
/// join the planner would read every day of the span (4 years, 3 months' partitions at 500,000
/// enterprises: 1.7 s a slice against 0.2 s); naming the days in one array (`day = ANY`) looked
/// each of them up in every month's partition.
const POWER: &str = "SELECT credit_code, substr(day, 1, 7) AS period,
       CAST(CASE WHEN substr(day, 9, 2) <= '10' THEN 1 WHEN substr(day, 9, 2) <= '20' THEN 2 ELSE 3 END AS BIGINT) AS xun,
       CAST(COUNT(*) AS BIGINT), CAST(SUM(kwh) AS BIGINT),
       CAST(SUM(CASE WHEN day IN ({off}) THEN 0 ELSE 1 END) AS BIGINT),
       CAST(SUM(CASE WHEN day IN ({off}) THEN 0 ELSE kwh END) AS BIGINT),
       received_at, CAST(NULL AS BIGINT)
     FROM generate_series(CAST($1 AS DATE), CAST($2 AS DATE), INTERVAL '1 day') AS g,
       LATERAL (SELECT credit_code, day, kwh, received_at FROM power_daily
         WHERE day = to_char(g, 'YYYY-MM-DD') AND received_at <= $3 AND credit_code > $4{upto}) AS d
     GROUP BY credit_code, substr(day, 1, 7),
       CASE WHEN substr(day, 9, 2) <= '10' THEN 1 WHEN substr(day, 9, 2) <= '20' THEN 2 ELSE 3 END, received_at
     UNION ALL
     SELECT credit_code, substr(day, 1, 7) AS period,
       CAST(CASE WHEN substr(day, 9, 2) <= '10' THEN 1 WHEN substr(day, 9, 2) <= '20' THEN 2 ELSE 3 END AS BIGINT) AS xun,
       CAST(COUNT(*) AS BIGINT), CAST(SUM(kwh) AS BIGINT),
       CAST(SUM(CASE WHEN day IN ({off}) THEN 0 ELSE 1 END) AS BIGINT),
       CAST(SUM(CASE WHEN day IN ({off}) THEN 0 ELSE kwh END) AS BIGINT),
       received_at, superseded_at
     FROM power_daily_history WHERE day >= $1 AND day <= $2 AND received_at <= $3
       AND credit_code > $4{upto}
     GROUP BY credit_code, substr(day, 1, 7),
       CASE WHEN substr(day, 9, 2) <= '10' THEN 1 WHEN substr(day, 9, 2) <= '20' THEN 2 ELSE 3 END,
       received_at, superseded_at";

/// How [`POWER`] is planned: a nested loop over the days of the span, its sums in memory
/// (25,000 groups a slice), and not compiled (the JIT spent 0.25 s a slice; without it a
/// 4-year slice of 5,000 enterprises takes 0.33 s, 0.43 s before the key changed).
const SLICE_PLAN: [&str; 4] = [
    "SET LOCAL enable_hashjoin = off",
    "SET LOCAL enable_mergejoin = off",
    "SET LOCAL work_mem = '64MB'",
    "SET LOCAL jit = off",
];

/// [`POWER`] with an upper end of the slice or without.
fn power_sql(bounded: bool) -> String {
    POWER
        .replace(
            "{off}",
            "SELECT jsonb_array_elements_text(CAST($5 AS JSONB))",
        )
        .replace(
            "{upto}",
            if bounded {
                " AND credit_code <= $6"
            } else {
                ""
            },
        )
}

/// The pruned 旬s (`power_xun_total`, `store::power_prune`) of the periods `$1..=$2` of the
/// enterprises after `$3` (`{upto}`: and up to `$4`): the same sums [`POWER`] gives of days, the
/// working days' as the calendar stood when they were pruned.
const PRUNED: &str =
    "SELECT credit_code, period, CAST(xun AS BIGINT), CAST(days_present AS BIGINT),
       kwh, CAST(workdays_present AS BIGINT), workday_kwh
     FROM power_xun_total WHERE period >= $1 AND period <= $2 AND credit_code > $3{upto}";

type PrunedTuple = (String, String, i64, i64, i64, i64, i64);

/// When a pruned 旬 counts as known: from the start (Asia/Shanghai) of the day after it ended,
/// the earliest its electricity could be known, as its final revision. Its days, and so when
/// they were received and revised, are gone; and a month is pruned only past the retention (at
/// least 25 months with the current one: `power::MIN_RETENTION_MONTHS`), while the nowcast's
/// cut-offs lie at most [`SPANS_BACK`] + 1 spans before its as-of time, so that every cut-off
/// reading a pruned month came at least eight months after it ended — long after its days
/// and, but for a rare late correction, their last revision had been received.
pub fn pruned_known_ms(xun: Xun) -> i64 {
    let next = xun.last_day().succ_opt().unwrap_or(NaiveDate::MAX);
    Shanghai
        .from_local_datetime(&next.and_time(chrono::NaiveTime::MIN))
        .earliest()
        .map_or(i64::MAX, |t| t.timestamp_millis())
}

/// When a figure was known: received, and superseded (none for the current revision).
type When = (i64, Option<i64>);

/// One enterprise's 旬 from a row of [`POWER`] or [`PRUNED`]; none when a figure is out of range.
fn xun_power(
    credit_code: String,
    period: &str,
    part: i64,
    days: i64,
    kwh: i64,
    work_days: i64,
    work_kwh: i64,
) -> Option<XunPower> {
    Some(XunPower {
        credit_code,
        xun: Xun::new(period.parse().ok()?, u8::try_from(part).ok()?)?,
        days: u32::try_from(days).ok()?,
        kwh,
        work_days: u32::try_from(work_days).ok()?,
        work_kwh,
    })
}

/// Whether a revision was the one known at `cutoff`.
fn known_at((received, superseded): When, cutoff: i64) -> bool {
    received <= cutoff && superseded.is_none_or(|s| s > cutoff)
}

/// Every revision of enterprises' figures, cut at any cut-off ([`Stock::at`]): what
/// [`Store::forecast_reading`] reads.
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
        Reading {
            outputs,
            power: power_at(&self.power, from, to, cutoff),
        }
    }
}

/// Each enterprise's 旬s of the periods `from..=to` as known at `cutoff`: the revisions known
/// then summed (a 旬's days may come in several deliveries).
fn power_at(rows: &[(XunPower, When)], from: Period, to: Period, cutoff: i64) -> Vec<XunPower> {
    let within = |p: Period| from <= p && p <= to;
    let mut sums: BTreeMap<(&str, Xun), (u32, i64, u32, i64)> = BTreeMap::new();
    for (r, w) in rows {
        if within(r.xun.period()) && known_at(*w, cutoff) {
            let e = sums.entry((r.credit_code.as_str(), r.xun)).or_default();
            e.0 += r.days;
            e.1 += r.kwh;
            e.2 += r.work_days;
            e.3 += r.work_kwh;
        }
    }
    sums.into_iter()
        .map(|((c, xun), (days, kwh, work_days, work_kwh))| XunPower {
            credit_code: c.to_string(),
            xun,
            days,
            kwh,
            work_days,
            work_kwh,
        })
        .collect()
}

/// Output summed by the enterprise's unit and zone (today's registry), period, figure (the
/// month, `ytd` 0, or 1—N月, 1), whether last year's figure is the enterprise's own report a
/// year earlier (`via` 1: the form had no 上年同期), and the revision's receipt and
/// supersession — for a `via` pair, the later receipt and the earlier supersession of the two,
/// when both were known. The periods `$1..=$2`, received by `$3`; above-scale enterprises.
const OUTPUT_GROUPS: &str = "WITH rev AS (
       SELECT credit_code, period, output, output_prev, output_ytd, output_ytd_prev,
         received_at AS rec, CAST(NULL AS BIGINT) AS sup FROM submission
       WHERE period >= $1 AND period <= $2 AND received_at <= $3
       UNION ALL
       SELECT credit_code, period, output, output_prev, output_ytd, output_ytd_prev,
         received_at, superseded_at FROM submission_history
       WHERE period >= $1 AND period <= $2 AND received_at <= $3),
     ago AS (
       SELECT r.*, y.output AS y_output, y.output_ytd AS y_ytd,
         CASE WHEN y.rec > r.rec THEN y.rec ELSE r.rec END AS both_rec,
         CASE WHEN r.sup IS NULL THEN y.sup WHEN y.sup IS NULL THEN r.sup
              WHEN y.sup < r.sup THEN y.sup ELSE r.sup END AS both_sup
       FROM rev r JOIN rev y ON y.credit_code = r.credit_code
         AND y.period = CAST(CAST(substr(r.period, 1, 4) AS INTEGER) - 1 AS TEXT) || substr(r.period, 5)
       WHERE r.output_prev IS NULL OR r.output_ytd_prev IS NULL),
     piece AS (
       SELECT credit_code, period, 0 AS ytd, 0 AS via, rec, sup, output AS v, output_prev AS vp
       FROM rev WHERE output IS NOT NULL AND output_prev IS NOT NULL
       UNION ALL
       SELECT credit_code, period, 1, 0, rec, sup, output_ytd, output_ytd_prev
       FROM rev WHERE output_ytd IS NOT NULL AND output_ytd_prev IS NOT NULL
       UNION ALL
       SELECT credit_code, period, 0, 1, both_rec, both_sup, output, y_output
       FROM ago WHERE output IS NOT NULL AND output_prev IS NULL AND y_output IS NOT NULL
       UNION ALL
       SELECT credit_code, period, 1, 1, both_rec, both_sup, output_ytd, y_ytd
       FROM ago WHERE output_ytd IS NOT NULL AND output_ytd_prev IS NULL AND y_ytd IS NOT NULL)
     SELECT e.unit_code, e.zone_code, p.period, CAST(p.ytd AS BIGINT), CAST(p.via AS BIGINT),
       p.rec, p.sup, CAST(SUM(p.v) AS BIGINT), CAST(SUM(p.vp) AS BIGINT), CAST(COUNT(*) AS BIGINT)
     FROM piece p JOIN enterprise e ON e.credit_code = p.credit_code
     WHERE e.scale = 'above'
     GROUP BY e.unit_code, e.zone_code, p.period, p.ytd, p.via, p.rec, p.sup";

/// One row of [`OUTPUT_GROUPS`], its unit and zone resolved to the units it counts in.
#[derive(Clone, Debug)]
struct OutputGroup {
    units: Vec<String>,
    period: Period,
    ytd: bool,
    via: bool,
    when: When,
    sum: i64,
    sum_prev: i64,
    count: i64,
}

/// Output summed by unit, period and revision: what the nowcast's months are cut from.
#[derive(Clone, Debug, Default)]
pub struct OutputGroups(Vec<OutputGroup>);

impl OutputGroups {
    /// Each unit's months of the periods `from..=to` as known at `cutoff` (as
    /// `assemble::known_by_unit` gives them from enterprise rows read over `from..=to`: a
    /// month's own report a year earlier counts when it lies in the range).
    pub fn months_at(
        &self,
        from: Period,
        to: Period,
        cutoff: i64,
    ) -> BTreeMap<String, Vec<crate::forecast::Month>> {
        let mut acc: BTreeMap<(&str, Period), MonthSums> = BTreeMap::new();
        for g in &self.0 {
            let base_within = !g.via || g.period.year_ago() >= from;
            if g.period < from || g.period > to || !base_within || !known_at(g.when, cutoff) {
                continue;
            }
            let (i, j, n) = if g.ytd { (2, 3, 5) } else { (0, 1, 4) };
            for u in &g.units {
                let a = acc.entry((u.as_str(), g.period)).or_default();
                a[i] += g.sum;
                a[j] += g.sum_prev;
                a[n] += g.count;
            }
        }
        assemble::months_from_sums(acc.into_iter().map(|((u, p), a)| ((u.to_string(), p), a)))
    }
}

/// The units an above-scale enterprise counts in: its own, its zone, the city.
fn member_units(unit: &str, zone: Option<&str>, city: Option<&str>) -> Vec<String> {
    let mut m = vec![unit.to_string()];
    m.extend(zone.filter(|z| *z != unit).map(str::to_string));
    m.extend(
        city.filter(|c| !m.iter().any(|u| u == c))
            .map(str::to_string),
    );
    m
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

/// Enterprises whose electricity the nowcast holds at a time: about 108 旬 rows each (36
/// months), a few hundred bytes.
const CHUNK: usize = 5_000;

fn parse_period(s: &str) -> anyhow::Result<Period> {
    s.parse()
        .map_err(|e| anyhow::anyhow!("submission.period {s}: {e}"))
}

/// Epoch milliseconds of the start of a month in Asia/Shanghai.
pub fn month_start_ms(p: Period) -> i64 {
    Shanghai
        .with_ymd_and_hms(p.year(), p.month(), 1, 0, 0, 0)
        .single()
        .map_or(0, |t| t.timestamp_millis())
}

/// The first and last day of the periods `from..=to`.
fn days_of(from: Period, to: Period) -> (NaiveDate, NaiveDate) {
    let first = Xun::new(from, 1).map_or(NaiveDate::MIN, Xun::first_day);
    let last = Xun::new(to, 3).map_or(NaiveDate::MIN, Xun::last_day);
    (first, last)
}

/// The days off of the periods `from..=to` (`assemble::off_days`) as `YYYY-MM-DD`.
fn off_days(from: Period, to: Period, calendar: Option<&Calendar>) -> Vec<String> {
    let (first, last) = days_of(from, to);
    assemble::off_days(first, last, calendar)
        .iter()
        .map(ToString::to_string)
        .collect()
}

/// The day (Asia/Shanghai) of an epoch-milliseconds instant.
fn local_day(ms: i64) -> NaiveDate {
    Shanghai
        .timestamp_millis_opt(ms)
        .single()
        .map_or(NaiveDate::MIN, |t| t.date_naive())
}

impl Store {
    /// Output and daily electricity of the periods `from..=to` as known at `cutoff_ms`, working
    /// days by `calendar`. (The nowcast reads from a year before its history: the base of its
    /// first months — the reports that give a month without 上年同期 its base, and last year's
    /// days.)
    pub async fn forecast_reading(
        &self,
        from: Period,
        to: Period,
        cutoff_ms: i64,
        calendar: Option<&Calendar>,
    ) -> anyhow::Result<Reading> {
        Ok(self
            .forecast_stock(from, to, cutoff_ms, calendar)
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
        calendar: Option<&Calendar>,
    ) -> anyhow::Result<Stock> {
        let rows: Vec<OutputTuple> = on_pool!(self, p => sqlx::query_as(OUTPUTS)
            .bind(from.to_string()).bind(to.to_string()).bind(until_ms).fetch_all(p).await?);
        let mut outputs = Vec::with_capacity(rows.len());
        for (code, period, output, output_prev, output_ytd, output_ytd_prev, rec, sup) in rows {
            let row = OutputRow {
                credit_code: code,
                period: parse_period(&period)?,
                output,
                output_prev,
                output_ytd,
                output_ytd_prev,
            };
            outputs.push((row, (rec, sup)));
        }
        let off = off_days(from, to, calendar);
        let power = self
            .power_revisions(from, to, until_ms, &off, "", None)
            .await?;
        Ok(Stock { outputs, power })
    }

    /// Every revision of the 旬 electricity of the periods `from..=to` received by `until_ms`
    /// of the enterprises after `after` up to `upto` (none: all after `after`), the days `off`
    /// ([`off_days`]) left out of the working days' figures.
    async fn power_revisions(
        &self,
        from: Period,
        to: Period,
        until_ms: i64,
        off: &[String],
        after: &str,
        upto: Option<&str>,
    ) -> anyhow::Result<Vec<(XunPower, When)>> {
        let (first, last) = days_of(from, to);
        let (first, last) = (first.to_string(), last.to_string());
        let power: Vec<XunSum> = match self {
            Store::Sqlite(p) => {
                let slice = forecast_power::Slice {
                    first: &first,
                    last: &last,
                    until_ms,
                    after,
                    upto,
                };
                forecast_power::read(&mut *p.acquire().await?, &slice, off).await?
            }
            Store::Postgres(p) => {
                let sql = power_sql(upto.is_some());
                let q = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                    .bind(first)
                    .bind(last)
                    .bind(until_ms)
                    .bind(after.to_string())
                    .bind(serde_json::to_string(off)?);
                let mut tx = p.begin().await?;
                for set in SLICE_PLAN {
                    sqlx::query(set).execute(&mut *tx).await?;
                }
                let rows = match upto {
                    Some(u) => q.bind(u.to_string()).fetch_all(&mut *tx).await?,
                    None => q.fetch_all(&mut *tx).await?,
                };
                tx.commit().await?;
                rows
            }
        };
        let mut out: Vec<(XunPower, When)> = power
            .into_iter()
            .filter_map(|(code, period, part, days, kwh, wdays, wkwh, rec, sup)| {
                let row = xun_power(code, &period, part, days, kwh, wdays, wkwh)?;
                Some((row, (rec, sup)))
            })
            .collect();
        out.extend(self.pruned_xuns(from, to, until_ms, after, upto).await?);
        Ok(out)
    }

    /// The pruned 旬s of the periods `from..=to` known by `until_ms` ([`pruned_known_ms`]) of
    /// the enterprises after `after` up to `upto`, each as one final revision.
    async fn pruned_xuns(
        &self,
        from: Period,
        to: Period,
        until_ms: i64,
        after: &str,
        upto: Option<&str>,
    ) -> anyhow::Result<Vec<(XunPower, When)>> {
        let sql = PRUNED.replace(
            "{upto}",
            if upto.is_some() {
                " AND credit_code <= $4"
            } else {
                ""
            },
        );
        let rows: Vec<PrunedTuple> = on_pool!(self, p => {
            let q = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(from.to_string()).bind(to.to_string()).bind(after.to_string());
            match upto {
                Some(u) => q.bind(u.to_string()).fetch_all(p).await?,
                None => q.fetch_all(p).await?,
            }
        });
        Ok(rows
            .into_iter()
            .filter_map(|(code, period, part, days, kwh, wdays, wkwh)| {
                let row = xun_power(code, &period, part, days, kwh, wdays, wkwh)?;
                let known = pruned_known_ms(row.xun);
                (known <= until_ms).then_some((row, (known, None)))
            })
            .collect())
    }

    /// Output of the periods `from..=to` received by `until_ms`, summed by unit, period and
    /// revision ([`OUTPUT_GROUPS`]).
    pub async fn forecast_output_groups(
        &self,
        from: Period,
        to: Period,
        until_ms: i64,
    ) -> anyhow::Result<OutputGroups> {
        let city = self.city_code().await?;
        let rows = on_pool!(self, p => sqlx::query(OUTPUT_GROUPS)
            .bind(from.to_string()).bind(to.to_string()).bind(until_ms).fetch_all(p).await?
            .iter().map(|r| Ok((r.try_get::<String, _>(0)?, r.try_get::<Option<String>, _>(1)?,
                r.try_get::<String, _>(2)?, r.try_get::<i64, _>(3)?, r.try_get::<i64, _>(4)?,
                r.try_get::<i64, _>(5)?, r.try_get::<Option<i64>, _>(6)?,
                r.try_get::<Option<i64>, _>(7)?, r.try_get::<Option<i64>, _>(8)?,
                r.try_get::<i64, _>(9)?)))
            .collect::<Result<Vec<_>, sqlx::Error>>()?);
        let mut out = Vec::with_capacity(rows.len());
        for (unit, zone, period, ytd, via, rec, sup, sum, sum_prev, count) in rows {
            out.push(OutputGroup {
                units: member_units(&unit, zone.as_deref(), city.as_deref()),
                period: parse_period(&period)?,
                ytd: ytd == 1,
                via: via == 1,
                when: (rec, sup),
                sum: sum.unwrap_or(0),
                sum_prev: sum_prev.unwrap_or(0),
                count,
            });
        }
        Ok(OutputGroups(out))
    }

    /// Every unit's input to the nowcast of the span containing `period` as of `as_of_ms`: the
    /// span and the [`SPANS_BACK`] spans before it, each read at its own cut-off — as far into
    /// its month as `as_of_ms` is into `period` (into January for a January forecast of 1—2月);
    /// the partials' holidays and working days by `calendar`.
    pub async fn nowcast_inputs(
        &self,
        period: Period,
        as_of_ms: i64,
        calendar: Option<&Calendar>,
    ) -> anyhow::Result<(Span, Vec<UnitInput>)> {
        let target = Span::of(period);
        let offset = as_of_ms - month_start_ms(period);
        let anchor = |s: Span| if period.month() == 1 { s.first } else { s.last };
        let back = |s: Span| s.first.offset(-(HISTORY_MONTHS as i32) - 12);
        let mut spans = vec![target];
        for _ in 0..SPANS_BACK {
            let before = spans[spans.len() - 1].prev();
            spans.push(before);
        }
        // (span, first month read, cut-off)
        let cuts: Vec<(Span, Period, i64)> = spans
            .iter()
            .map(|s| {
                let cutoff = if *s == target {
                    as_of_ms
                } else {
                    (month_start_ms(anchor(*s)) + offset).min(as_of_ms)
                };
                (*s, back(*s), cutoff)
            })
            .collect();
        let known = self.nowcast_known(&cuts, as_of_ms, CHUNK, calendar).await?;
        let mut inputs: BTreeMap<String, UnitInput> = BTreeMap::new();
        for ((s, _, _), known) in cuts.iter().zip(known) {
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

    /// What each unit had at each cut (span, first month read, cut-off) of what was received
    /// by `until_ms`: output summed by unit in SQL, electricity read `chunk` enterprises at a
    /// time. The same as `assemble::known_by_unit` on the enterprise rows of the periods
    /// `first..=span.last` as known at the cut-off.
    pub async fn nowcast_known(
        &self,
        cuts: &[(Span, Period, i64)],
        until_ms: i64,
        chunk: usize,
        calendar: Option<&Calendar>,
    ) -> anyhow::Result<Vec<BTreeMap<String, Known>>> {
        let (Some(from), Some(to)) = (
            cuts.iter().map(|c| c.1).min(),
            cuts.iter().map(|c| c.0.last).max(),
        ) else {
            return Ok(Vec::new());
        };
        let outputs = self.forecast_output_groups(from, to, until_ms).await?;
        let power = self
            .forecast_power_sums(cuts, (from, to), until_ms, chunk, calendar)
            .await?;
        Ok(cuts
            .iter()
            .zip(&power)
            .map(|((s, first, cutoff), sums)| {
                let months = outputs.months_at(*first, s.last, *cutoff);
                assemble::known_from(local_day(*cutoff), months, sums)
            })
            .collect())
    }

    /// The electricity sums of each cut (span, first month read, cut-off), the enterprises
    /// read `chunk` at a time in credit-code order.
    async fn forecast_power_sums(
        &self,
        cuts: &[(Span, Period, i64)],
        (from, to): (Period, Period),
        until_ms: i64,
        chunk: usize,
        calendar: Option<&Calendar>,
    ) -> anyhow::Result<Vec<PowerSums>> {
        let members = self.forecast_members().await?;
        let mut sums: Vec<PowerSums> = cuts.iter().map(|c| PowerSums::new(c.0, calendar)).collect();
        let bounds = self.forecast_chunk_bounds(chunk).await?;
        let off = off_days(from, to, calendar);
        let mut after = String::new();
        for upto in bounds.iter().map(Some).chain([None]) {
            let rows = self
                .power_revisions(from, to, until_ms, &off, &after, upto.map(String::as_str))
                .await?;
            for ((s, first, cutoff), acc) in cuts.iter().zip(&mut sums) {
                acc.add(&power_at(&rows, *first, s.last, *cutoff), &members);
            }
            if let Some(u) = upto {
                after.clone_from(u);
            }
        }
        Ok(sums)
    }

    /// Every `chunk`th credit code in the database's order: the upper ends of the slices of
    /// enterprises the nowcast reads electricity by (the last slice: all after the last).
    async fn forecast_chunk_bounds(&self, chunk: usize) -> anyhow::Result<Vec<String>> {
        let chunk = chunk.max(1);
        let sql = "SELECT credit_code FROM enterprise ORDER BY credit_code";
        let codes: Vec<(String,)> = on_pool!(self, p => sqlx::query_as(sql).fetch_all(p).await?);
        Ok(codes
            .into_iter()
            .skip(chunk - 1)
            .step_by(chunk)
            .map(|c| c.0)
            .collect())
    }

    /// The city's unit code.
    async fn city_code(&self) -> anyhow::Result<Option<String>> {
        Ok(self
            .units()
            .await?
            .into_iter()
            .find(|u| u.kind == UnitKind::City)
            .map(|u| u.code))
    }

    /// Above-scale enterprises → the units they count in: their own, their zone, the city.
    pub async fn forecast_members(&self) -> anyhow::Result<HashMap<String, Vec<String>>> {
        let city = self.city_code().await?;
        let mut out = HashMap::new();
        for e in self.enterprises().await? {
            if e.scale != Scale::Above {
                continue;
            }
            let m = member_units(&e.unit_code, e.zone_code.as_deref(), city.as_deref());
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
