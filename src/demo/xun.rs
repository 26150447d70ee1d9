//! The demo's 旬 part (issue 21): the power company's mapping and daily files imported as
//! `indmon import` imports them, one 旬 at a time received three days after it ended, the three
//! 旬 of the last month evaluated each on the day its
//! data would be complete (three days after it ends), and the 疑似停产 warnings matched with the
//! monthly stall that confirms them weeks later.

use std::path::Path;

use chrono::{DateTime, Days, NaiveTime, TimeZone, Utc};
use chrono_tz::Asia::Shanghai;

use crate::config::Config;
use crate::evaluate::xun::{self, XunReport};
use crate::ingest::{Format, ImportOptions, ImportReport, import_bytes, import_file};
use crate::period::Period;
use crate::power::Xun;
use crate::power::confirm::IssuedWarning;
use crate::power::release::{Release, decide};
use crate::rules::{Finding, Rule};
use crate::store::Store;

/// What the power files put in the database.
#[derive(Clone, Debug, Default)]
pub struct PowerImport {
    pub accounts: u64,
    /// The 旬 deliveries imported (each 旬's days, received when [`delivered_at`] says).
    pub files: usize,
    /// Enterprise-days stored (an enterprise's accounts summed per day).
    pub days: u64,
}

/// When the power company's file of a 旬's days reaches the bureau in the demo: 08:00 Shanghai
/// time three days after the 旬 ends, two hours before it is evaluated ([`evaluated_at`]).
pub fn delivered_at(x: Xun) -> DateTime<Utc> {
    evaluated_at(x) - chrono::Duration::hours(2)
}

/// A month's daily file split by 旬 (the header on each part), in 旬 order.
fn by_xun(text: &str) -> Vec<(Xun, String)> {
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    let mut parts: Vec<(Xun, String)> = Vec::new();
    for line in lines {
        let day = line
            .split(',')
            .nth(1)
            .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
        let Some(x) = day.and_then(Xun::containing) else {
            continue;
        };
        let i = match parts.iter().position(|(p, _)| *p == x) {
            Some(i) => i,
            None => {
                parts.push((x, format!("{header}\n")));
                parts.len() - 1
            }
        };
        parts[i].1.push_str(line);
        parts[i].1.push('\n');
    }
    parts.sort_by_key(|(x, _)| *x);
    parts
}

/// Imports `power/accounts.csv`, then the days of `power/daily/*.csv` one 旬 at a time, each
/// received when the power company delivers it ([`delivered_at`]) — those delivered by `now`
/// only —, as `indmon import` imports them: what the nowcast's backtest reads as known at each
/// cut-off.
pub async fn import_power(
    store: &Store,
    data: &Path,
    now: DateTime<Utc>,
) -> anyhow::Result<PowerImport> {
    let power = data.join("power");
    let mut out = PowerImport::default();
    if !power.exists() {
        return Ok(out);
    }
    let mut daily: Vec<_> = std::fs::read_dir(power.join("daily"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "csv"))
        .collect();
    daily.sort();
    let mut deliveries = Vec::new();
    for f in &daily {
        let text = std::fs::read_to_string(f)?;
        for (x, part) in by_xun(&text) {
            if delivered_at(x) <= now {
                deliveries.push((format!("{}（{}）", f.display(), x.label()), x, part));
            }
        }
    }
    let first = deliveries.first().map_or(now, |d| delivered_at(d.1));
    let accounts = power.join("accounts.csv");
    let r = import_file(store, &accounts, &ImportOptions::new(first)).await?;
    ensure_clean(&accounts.display().to_string(), &r)?;
    out.accounts = r.accepted;
    for (name, x, part) in deliveries {
        let opts = ImportOptions::new(delivered_at(x));
        let r = import_bytes(store, &name, part.into_bytes(), Some(Format::Csv), &opts).await?;
        ensure_clean(&name, &r)?;
        out.files += 1;
        out.days += r.accepted + r.revised + r.unchanged;
    }
    Ok(out)
}

/// Fails unless every row of the import was committed.
fn ensure_clean(name: &str, r: &ImportReport) -> anyhow::Result<()> {
    anyhow::ensure!(
        r.committed && r.rejected == 0,
        "{name}: {}",
        crate::ingest::summary_line(r)
    );
    Ok(())
}

/// When a 旬 is evaluated in the demo: 10:00 Shanghai time three days after its last day, when
/// the power company's files of its days have arrived.
pub fn evaluated_at(x: Xun) -> DateTime<Utc> {
    let day = x
        .last_day()
        .checked_add_days(Days::new(3))
        .unwrap_or(x.last_day());
    let t = day.and_time(NaiveTime::from_hms_opt(10, 0, 0).unwrap_or(NaiveTime::MIN));
    Shanghai
        .from_local_datetime(&t)
        .single()
        .map_or_else(|| t.and_utc(), |d| d.with_timezone(&Utc))
}

/// Evaluates and releases the three 旬 of `period`, in order, each at [`evaluated_at`] (as the
/// daemon's `xun` job releases a 旬 whose data is complete; a 旬 short of data is evaluated
/// without a release).
pub async fn evaluate_month(
    store: &Store,
    config: &Config,
    period: Period,
) -> anyhow::Result<Vec<XunReport>> {
    let mut out = Vec::new();
    for part in 1..=3 {
        let x = Xun::new(period, part).ok_or_else(|| anyhow::anyhow!("旬 {part}"))?;
        let at = evaluated_at(x);
        let completeness = store.xun_completeness(x).await?;
        let today = at.with_timezone(&Shanghai).date_naive();
        let report = match decide(x, completeness, today, &config.power) {
            Some(trigger) => {
                let release = Release {
                    xun: x,
                    trigger,
                    completeness,
                };
                crate::evaluate::release::release_one(store, config, &release, at).await?
            }
            None => xun::run(store, config, x, at, false).await?,
        };
        out.push(report);
    }
    Ok(out)
}

/// A 疑似停产 warning that the monthly evaluation confirmed as 停产.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Confirmed {
    pub credit_code: String,
    pub name: String,
    /// The first 旬 of the month it was warned about (`10月上旬`).
    pub xun: String,
    pub warned_at: DateTime<Utc>,
    /// Whether the stall is new this month (the plant stopped in it): the 旬 warning came
    /// weeks before anything monthly could say so.
    pub new_this_month: bool,
}

/// The 疑似停产 warnings of `period`'s 旬s as stored (`xun_warning`, 旬 order) whose outcome the
/// monthly evaluation set to confirmed by 停产, each with the first 旬 that warned; new this
/// month when the monthly finding of `monthly` is its first month in a row.
pub fn confirmed(
    warnings: &[IssuedWarning],
    period: Period,
    monthly: &[Finding],
) -> Vec<Confirmed> {
    let mut out: Vec<Confirmed> = Vec::new();
    for w in of_period(warnings, period) {
        let stall = Rule::EnterpriseStalled.as_str();
        if w.rule != Rule::EnterprisePowerStalled.as_str()
            || w.outcome.as_deref() != Some("confirmed")
            || w.monthly_rule.as_deref() != Some(stall)
            || out.iter().any(|c| c.credit_code == w.credit_code)
        {
            continue;
        }
        let new_this_month = monthly.iter().any(|m| {
            m.rule == Rule::EnterpriseStalled && m.subject == w.credit_code && m.consecutive == 1
        });
        out.push(Confirmed {
            credit_code: w.credit_code.clone(),
            name: w.name.clone().unwrap_or_default(),
            xun: w.xun.parse::<Xun>().map_or(w.xun.clone(), |x| x.label()),
            warned_at: DateTime::from_timestamp_millis(w.issued_at).unwrap_or_default(),
            new_this_month,
        });
    }
    out
}

/// The stored warnings of `period`'s 旬s.
fn of_period(warnings: &[IssuedWarning], period: Period) -> impl Iterator<Item = &IssuedWarning> {
    let prefix = format!("{period}-");
    warnings.iter().filter(move |w| w.xun.starts_with(&prefix))
}

/// The enterprises the 旬 warnings of `period` (as stored) name, by rule, each counted once.
pub fn warned_by_rule(warnings: &[IssuedWarning], period: Period) -> Vec<(String, usize)> {
    let mut seen = std::collections::HashSet::new();
    let mut by_rule: std::collections::BTreeMap<String, usize> = Default::default();
    for w in of_period(warnings, period) {
        if seen.insert((w.rule.as_str(), w.credit_code.as_str())) {
            *by_rule.entry(w.rule.clone()).or_default() += 1;
        }
    }
    by_rule.into_iter().collect()
}
