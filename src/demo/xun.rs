//! The demo's 旬 part (issue 21): the power company's mapping and daily files imported as
//! `indmon import` imports them, the three 旬 of the last month evaluated each on the day its
//! data would be complete (three days after it ends), and the 疑似停产 warnings matched with the
//! monthly stall that confirms them weeks later.

use std::path::Path;

use chrono::{DateTime, Days, NaiveTime, TimeZone, Utc};
use chrono_tz::Asia::Shanghai;

use crate::config::Config;
use crate::evaluate::xun::{self, XunReport};
use crate::ingest::{ImportOptions, import_file};
use crate::period::Period;
use crate::power::Xun;
use crate::power::release::{Release, decide};
use crate::rules::{Finding, Rule};
use crate::store::Store;

/// What the power files put in the database.
#[derive(Clone, Debug, Default)]
pub struct PowerImport {
    pub accounts: u64,
    pub files: usize,
    /// Enterprise-days stored (an enterprise's accounts summed per day).
    pub days: u64,
}

/// The daily files the 旬 rules read for the 旬 of `last` with the default reference (the
/// same 旬 last year): its month and the same month a year earlier.
pub fn xun_window(last: Period) -> Vec<Period> {
    vec![last.year_ago(), last]
}

/// Imports `power/accounts.csv`, then the `power/daily/*.csv` of `months` (every one when
/// none) in month order.
pub async fn import_power(
    store: &Store,
    data: &Path,
    months: Option<&[Period]>,
    now: DateTime<Utc>,
) -> anyhow::Result<PowerImport> {
    let power = data.join("power");
    let mut out = PowerImport::default();
    if !power.exists() {
        return Ok(out);
    }
    let mut files = vec![power.join("accounts.csv")];
    let mut daily: Vec<_> = std::fs::read_dir(power.join("daily"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "csv"))
        .filter(|p| {
            let month = p
                .file_stem()
                .and_then(|s| s.to_str()?.parse::<Period>().ok());
            months.is_none_or(|ms| month.is_some_and(|m| ms.contains(&m)))
        })
        .collect();
    daily.sort();
    files.extend(daily);
    for (i, f) in files.iter().enumerate() {
        let r = import_file(store, f, &ImportOptions::new(now)).await?;
        anyhow::ensure!(
            r.committed && r.rejected == 0,
            "{}: {}",
            f.display(),
            crate::ingest::summary_line(&r)
        );
        if i == 0 {
            out.accounts = r.accepted;
        } else {
            out.files += 1;
            out.days += r.accepted + r.revised + r.unchanged;
        }
    }
    Ok(out)
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

/// The 疑似停产 warnings of `xuns` (in order) confirmed by an `enterprise_stalled` finding of
/// the monthly evaluation, each with the first 旬 that warned.
pub fn confirmed(xuns: &[XunReport], monthly: &[Finding]) -> Vec<Confirmed> {
    let mut out: Vec<Confirmed> = Vec::new();
    for x in xuns {
        for f in x
            .findings
            .iter()
            .filter(|f| f.rule == Rule::EnterprisePowerStalled)
        {
            if out.iter().any(|c| c.credit_code == f.subject) {
                continue;
            }
            let Some(m) = monthly
                .iter()
                .find(|m| m.rule == Rule::EnterpriseStalled && m.subject == f.subject)
            else {
                continue;
            };
            out.push(Confirmed {
                credit_code: f.subject.clone(),
                name: f.subject_name.clone(),
                xun: x.xun.label(),
                warned_at: evaluated_at(x.xun),
                new_this_month: m.consecutive == 1,
            });
        }
    }
    out
}

/// The enterprises (or units) the 旬 evaluations warned about, by rule, each counted once.
pub fn warned_by_rule(xuns: &[XunReport]) -> Vec<(String, usize)> {
    let mut seen = std::collections::HashSet::new();
    let mut by_rule: std::collections::BTreeMap<String, usize> = Default::default();
    for f in xuns.iter().flat_map(|x| &x.findings) {
        if seen.insert((f.rule.as_str(), f.subject.as_str())) {
            *by_rule.entry(f.rule.to_string()).or_default() += 1;
        }
    }
    by_rule.into_iter().collect()
}
