//! Semimonthly analysis snapshots (每半个月一次工业经济运行分析): the city against its targets,
//! the district and zone ranking, the change since the last period, industries, charts,
//! stalled enterprises, pulls and drags, key projects,
//! alerts and data quality, with analysis text, written as HTML, Word, XLSX and JSON plus a
//! manifest.
//!
//! Data flows one way: the store is read once ([`crate::evaluate::run`] with `dry_run`, so a
//! snapshot never changes an alert, and the alert events of the half), [`model::build`] turns
//! that into a plain [`model::Snapshot`] (pure), and the writers render it. Nothing in the files
//! depends on the wall clock: the half, the period and the data vintage say when, so the same
//! data gives byte-identical files.

pub mod advice;
pub mod answers;
pub mod change;
pub mod charts;
pub mod docx;
pub mod forecast;
pub mod html;
pub mod industry;
pub mod model;
#[cfg(test)]
pub mod sample;
pub mod sections;
pub mod sheet;
pub mod text;
pub mod write;
pub mod xlsx;
pub mod xun;

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use chrono::{DateTime, Datelike, TimeZone, Utc};
use chrono_tz::Asia::Shanghai;

use crate::config::Config;
use crate::evaluate;
use crate::period::Period;
use crate::store::Store;

pub use model::Snapshot;
pub use write::Written;

/// One half of a month: `YYYY-MM-H1` (the 1st–15th) or `YYYY-MM-H2` (the 16th to the end).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Half {
    pub month: Period,
    /// 1 or 2.
    pub half: u8,
}

impl Half {
    /// The half that contains `now` (Asia/Shanghai).
    pub fn containing(now: DateTime<Utc>) -> Half {
        let local = Shanghai.from_utc_datetime(&now.naive_utc());
        Half {
            month: Period::containing(now),
            half: if local.day() <= 15 { 1 } else { 2 },
        }
    }

    /// The half before this one.
    pub fn prev(self) -> Half {
        if self.half == 2 {
            Half { half: 1, ..self }
        } else {
            Half {
                month: self.month.prev(),
                half: 2,
            }
        }
    }

    /// The first moment of the half, Shanghai time.
    pub fn start(self) -> DateTime<Utc> {
        let day = if self.half == 1 { 1 } else { 16 };
        Shanghai
            .with_ymd_and_hms(self.month.year(), self.month.month(), day, 0, 0, 0)
            .single()
            .map_or(DateTime::<Utc>::MIN_UTC, |t| t.with_timezone(&Utc))
    }

    /// The moment the half ends, which is when its snapshot is written (the 16th for H1, the
    /// 1st of the next month for H2).
    pub fn end(self) -> DateTime<Utc> {
        if self.half == 1 {
            Half { half: 2, ..self }.start()
        } else {
            Half {
                month: self.month.next(),
                half: 1,
            }
            .start()
        }
    }

    /// `2026年11月上半月`, as a title says it.
    pub fn zh(self) -> String {
        let which = if self.half == 1 {
            "上半月"
        } else {
            "下半月"
        };
        format!("{}年{}月{which}", self.month.year(), self.month.month())
    }

    /// The latest half that has ended by `now`: the one a scheduled run at `now` writes.
    pub fn latest_ended(now: DateTime<Utc>) -> Half {
        Half::containing(now).prev()
    }
}

impl fmt::Display for Half {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-H{}", self.month, self.half)
    }
}

impl FromStr for Half {
    type Err = String;
    fn from_str(s: &str) -> Result<Half, String> {
        let bad = || format!("half must look like 2026-11-H1 or 2026-11-H2, not {s:?}");
        let (m, h) = s.rsplit_once('-').ok_or_else(bad)?;
        let half = match h {
            "H1" | "h1" => 1,
            "H2" | "h2" => 2,
            _ => return Err(bad()),
        };
        let month = m.parse::<Period>().map_err(|_| bad())?;
        Ok(Half { month, half })
    }
}

/// Builds the snapshot of `half` from the store: the period is the latest whose reporting
/// deadline had passed when the half ended, evaluated as of that moment without touching alerts.
/// The alert events counted are those since the half began; see [`build_since`].
pub async fn build(store: &Store, config: &Config, half: Half) -> anyhow::Result<Snapshot> {
    build_since(store, config, half, None).await
}

/// [`build`], counting as new, raised and closed the alert events since the previous snapshot
/// was written: those after `after`, the last event it counted (its `alerts.events_through`),
/// or without one those since the half began; up to the end of the next half, when the next
/// snapshot is due. A snapshot written late (a catch-up, the demo, by hand) so counts what the
/// digests told officials meanwhile, and the next one does not count it again.
pub async fn build_since(
    store: &Store,
    config: &Config,
    half: Half,
    after: Option<i64>,
) -> anyhow::Result<Snapshot> {
    build_since_at(store, config, half, after, half.end()).await
}

/// The moment a snapshot of `half` written at `now` counts the answer loop at: the half's end,
/// or `now` when written later (a catch-up, the demo), but no later than the next half's end,
/// so that regenerating an old snapshot gives the same section.
pub fn loop_as_of(half: Half, now: DateTime<Utc>) -> DateTime<Utc> {
    let end = half.end();
    now.clamp(end, Half::containing(end).end())
}

/// [`build_since`], with the answer loop counted at `loop_as_of(half, now)`.
pub async fn build_since_at(
    store: &Store,
    config: &Config,
    half: Half,
    after: Option<i64>,
    now: DateTime<Utc>,
) -> anyhow::Result<Snapshot> {
    let at = half.end();
    let period = evaluate::latest_complete_period(at, config.general.report_deadline_day);
    let period = if config.general.jan_feb_combined && period.month() == 1 {
        period.prev()
    } else {
        period
    };
    let (report, ds) = evaluate::run(store, config, period, at, true).await?;
    let from = half.start().timestamp_millis();
    let until = Half::containing(at).end().timestamp_millis();
    let events: Vec<_> = store
        .alert_events(after.unwrap_or(0), None)
        .await?
        .into_iter()
        .filter(|e| e.at < until && (after.is_some() || e.at >= from))
        .collect();
    let mut snap = model::build(half, &report, &ds, &config.rules, &events);
    let people: std::collections::HashMap<&str, &str> = config
        .recipients
        .iter()
        .map(|r| (r.id.as_str(), r.name.as_str()))
        .collect();
    model::name_owners(&mut snap, &people);
    industry::attach(&mut snap, &report, &ds, &config.industry);
    snap.alerts.events_through = events.last().map(|e| e.id).or(after);
    snap.deadline = crate::rules::deadline(period, config.general.report_deadline_day)
        .with_timezone(&Shanghai)
        .format("%Y-%m-%d")
        .to_string();
    snap.answer_loop = answer_loop(store, half, loop_as_of(half, now)).await?;
    snap.xun = xun_watch(store, config, half, loop_as_of(half, now)).await?;
    snap.forecast = forecast_watch(store, config, period, loop_as_of(half, now)).await?;
    let silences = store.silences(None).await?;
    snap.overhaul = sections::overhauls(&snap, &silences, half.start().timestamp_millis());
    // The text marks the enterprises on a planned overhaul it names.
    text::write(&mut snap);
    snap.advice = advice::advise(&advice::findings(&snap));
    Ok(snap)
}

/// 反馈办理情况 at `as_of`: cases closed since the half began (when the previous snapshot was
/// written), resumption expected in the month after the half's.
async fn answer_loop(
    store: &Store,
    half: Half,
    as_of: DateTime<Utc>,
) -> anyhow::Result<answers::AnswerLoop> {
    let as_of = as_of.timestamp_millis();
    let cases = store
        .cases(&crate::store::cases::CaseQuery::default())
        .await?;
    let given = store.answers_before(as_of).await?;
    let names: std::collections::HashMap<String, String> = store
        .units()
        .await?
        .into_iter()
        .map(|u| (u.code, u.name))
        .collect();
    Ok(answers::build(
        &cases,
        &given,
        &names,
        half.start().timestamp_millis(),
        as_of,
        half.month.next(),
    ))
}

/// 预测预警 at `as_of`: the nowcast of the month after the period analysed (its statistics not
/// yet in) from what was known at `as_of`.
async fn forecast_watch(
    store: &Store,
    config: &Config,
    period: Period,
    as_of: DateTime<Utc>,
) -> anyhow::Result<forecast::ForecastWatch> {
    let calendar = config.calendar.load_or_weekdays();
    let (span, inputs) = store
        .nowcast_inputs(period.next(), as_of.timestamp_millis(), calendar.as_ref())
        .await?;
    let units: Vec<_> = inputs
        .iter()
        .map(|u| crate::forecast::forecast_unit(span, u))
        .collect();
    let as_of = as_of
        .with_timezone(&Shanghai)
        .format("%Y-%m-%d %H:%M")
        .to_string();
    Ok(forecast::build(units, &store.units().await?, as_of))
}

/// 按旬监测 at `as_of`: the latest 旬 released before it (its units' growth recomputed without
/// touching alerts) and the 旬 warnings issued since the half began.
async fn xun_watch(
    store: &Store,
    config: &Config,
    half: Half,
    as_of: DateTime<Utc>,
) -> anyhow::Result<xun::XunWatch> {
    let at = as_of.timestamp_millis();
    let units = store.units().await?;
    let latest = match store.latest_release_before(at).await? {
        Some(x) => Some((
            x,
            evaluate::xun::run(store, config, x, as_of, true)
                .await?
                .units,
        )),
        None => None,
    };
    let warnings = store
        .xun_warnings_between(half.start().timestamp_millis(), at)
        .await?;
    Ok(xun::build(latest, &units, warnings))
}

/// The last alert event the previous half's snapshot in `out` counted, if it was written there.
fn previous_through(out: &Path, half: Half) -> Option<i64> {
    let file = out.join(half.prev().to_string()).join("snapshot.json");
    let bytes = std::fs::read(file).ok()?;
    let json: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    json["alerts"]["events_through"].as_i64()
}

/// Builds and writes the snapshot of `half` into `out/<half>/`, atomically, counting the alert
/// events since the previous half's snapshot in `out` was written. The files are kept in the
/// database first (`snapshot_archive`, for the console of any replica), then written to the
/// folder: a failure leaves no folder, so the scheduled job tries again.
pub async fn generate(
    store: &Store,
    config: &Config,
    half: Half,
    out: &Path,
) -> anyhow::Result<Written> {
    generate_at(store, config, half, out, half.end()).await
}

/// [`generate`] written at `now`: the answer loop counted at [`loop_as_of`]. The files are kept
/// in the database (the console's archive) before they are written to `out`.
pub async fn generate_at(
    store: &Store,
    config: &Config,
    half: Half,
    out: &Path,
    now: DateTime<Utc>,
) -> anyhow::Result<Written> {
    let after = previous_through(out, half);
    let snap = build_since_at(store, config, half, after, now).await?;
    let files = write::render(&snap, &config.general.city_name)?;
    let manifest = files
        .last()
        .map(|(_, b)| write::sha256(b))
        .unwrap_or_default();
    store
        .keep_snapshot(
            &snap.half,
            &snap.period,
            &manifest,
            &files,
            Utc::now().timestamp_millis(),
        )
        .await
        .map_err(|e| {
            e.context("无法把快照存入数据库 (cannot keep the snapshot in the database)")
        })?;
    write::write_rendered(&snap, &files, out)
}

/// The scheduled job (1st and 16th): writes the latest half that has ended at `now` unless its
/// folder already holds a manifest, so a catch-up run after downtime does not rewrite it.
pub async fn run_due(
    store: &Store,
    config: &Config,
    now: DateTime<Utc>,
    out: &Path,
) -> anyhow::Result<Option<Written>> {
    let half = Half::latest_ended(now);
    if out.join(half.to_string()).join("manifest.json").is_file() {
        return Ok(None);
    }
    generate_at(store, config, half, out, now).await.map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_parse_order_and_end_where_the_next_begins() {
        let h: Half = "2026-11-H1".parse().unwrap();
        assert_eq!(h.to_string(), "2026-11-H1");
        assert_eq!(h.prev().to_string(), "2026-10-H2");
        assert_eq!(h.prev().end(), h.start());
        assert_eq!(h.end(), Half { half: 2, ..h }.start());
        assert!("2026-11-H3".parse::<Half>().is_err());
        let now = Utc.with_ymd_and_hms(2026, 11, 22, 2, 0, 0).unwrap();
        assert_eq!(Half::latest_ended(now).to_string(), "2026-11-H1");
        assert_eq!(h.zh(), "2026年11月上半月");
        assert_eq!(h.prev().zh(), "2026年10月下半月");
    }
}
