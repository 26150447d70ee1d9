//! The daemon's `xun` job (`indmon evaluate --xun-due` by hand): each recent 旬 not yet released
//! is evaluated and released once its data is complete enough or its cut-off has passed
//! (`power::release`); the digests that follow open with how it was released.
//!
//! Crash-safe by order: the 旬 is evaluated (idempotent: the same data changes no alert), then
//! its release is recorded; a crash between the two evaluates it again on the next run.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::config::Config;
use crate::power::Xun;
use crate::power::release::{Completeness, Release, candidates, cutoff_day, decide};
use crate::store::Store;

/// How many ended 旬s back a run looks (a month and a half: a daemon down for a week still
/// releases what it missed, one down for months does not flood officials with old 旬s).
pub const LOOKBACK: usize = 4;

/// What one run released and what still waits.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Released {
    /// Each released 旬 with the alerts its evaluation opened, changed and resolved.
    pub released: Vec<(Release, [u64; 3])>,
    /// 旬s ended but still short of data, with their counts.
    pub waiting: Vec<(Xun, Completeness)>,
    /// 旬s past their cut-off without one complete enterprise: not released (nothing could be
    /// judged), and said so, since the power company's data may have stopped.
    pub empty: Vec<Xun>,
    /// Released 旬s evaluated again because more of their electricity arrived since.
    pub reevaluated: Vec<Xun>,
    /// Daily rows past `[power] daily_retention_months`, summed by 旬 and deleted.
    pub pruned: crate::store::Pruned,
}

/// Evaluates and releases the 旬s that are due at `now` (the day read in Asia/Shanghai).
pub async fn release_due(
    store: &Store,
    config: &Config,
    now: DateTime<Utc>,
) -> anyhow::Result<Released> {
    let today = now.with_timezone(&chrono_tz::Asia::Shanghai).date_naive();
    let xuns = candidates(today, LOOKBACK);
    let done = store.xun_releases(&xuns).await?;
    let mut out = Released::default();
    for xun in xuns.iter().copied().filter(|x| done.contains_key(x)) {
        if store.xun_has_late_days(xun).await? {
            super::xun::run(store, config, xun, now, false).await?;
            store.xun_evaluated(xun, now.timestamp_millis()).await?;
            out.reevaluated.push(xun);
        }
    }
    for xun in xuns.into_iter().filter(|x| !done.contains_key(x)) {
        let completeness = store.xun_completeness(xun).await?;
        let Some(trigger) = decide(xun, completeness, today, &config.power) else {
            if completeness.mapped == 0 {
                continue;
            }
            if completeness.complete == 0 && today >= cutoff_day(xun, &config.power) {
                tracing::warn!(xun = %xun, mapped = completeness.mapped,
                    "旬已过截止日仍无一户数据齐全，未发布 (no complete electricity after the cut-off; not released)");
                out.empty.push(xun);
            } else {
                out.waiting.push((xun, completeness));
            }
            continue;
        };
        let release = Release {
            xun,
            trigger,
            completeness,
        };
        let a = release_one(store, config, &release, now).await?.applied;
        out.released
            .push((release, [a.opened, a.changed, a.resolved]));
    }
    out.pruned = prune(store, config, today, now).await?;
    Ok(out)
}

/// Evaluates the 旬 of `release` and records its release (once): what `release_due` does with
/// each 旬 that is due.
pub async fn release_one(
    store: &Store,
    config: &Config,
    release: &Release,
    now: DateTime<Utc>,
) -> anyhow::Result<super::xun::XunReport> {
    let report = super::xun::run(store, config, release.xun, now, false).await?;
    store
        .record_xun_release(release, report.evaluation_id, now.timestamp_millis())
        .await?;
    tracing::info!(
        xun = %release.xun, trigger = release.trigger.as_str(),
        share = %release.completeness.share_text(), opened = report.applied.opened,
        "旬预警已发布 (xun released)"
    );
    Ok(report)
}

/// Sums and deletes the daily rows older than the retention, when one is configured.
async fn prune(
    store: &Store,
    config: &Config,
    today: chrono::NaiveDate,
    now: DateTime<Utc>,
) -> anyhow::Result<crate::store::Pruned> {
    let (Some(months), Some(current)) = (
        config.power.daily_retention_months,
        crate::period::Period::new(
            chrono::Datelike::year(&today),
            chrono::Datelike::month(&today),
        ),
    ) else {
        return Ok(crate::store::Pruned::default());
    };
    let keep_from = (1..months).fold(current, |p, _| p.prev());
    let calendar = config.calendar.load().ok();
    let worked = |d| crate::power::level::is_workday(calendar.as_ref(), d);
    let pruned = store
        .prune_power_days(keep_from, worked, now.timestamp_millis())
        .await?;
    if !pruned.months.is_empty() {
        tracing::info!(months = ?pruned.months, days = pruned.days,
            "日用电量已按旬汇总后删除 (daily electricity past its retention summed by 旬 and deleted)");
    }
    Ok(pruned)
}

/// A few lines for a terminal: what went out, and what still waits with its share.
pub fn to_table(r: &Released, pc: &crate::power::PowerConfig) -> String {
    let mut out = String::new();
    for (release, [opened, changed, resolved]) in &r.released {
        out.push_str(&format!(
            "已发布 {}：{}（新增{opened}，更新{changed}，销号{resolved}） (released)\n",
            release.xun,
            release.sentence(pc)
        ));
    }
    for (xun, c) in &r.waiting {
        out.push_str(&format!(
            "等待 {xun}：数据完整率{}（{}/{}户），截止{} (waiting)\n",
            c.share_text(),
            c.complete,
            c.mapped,
            crate::power::release::cutoff_day(*xun, pc)
        ));
    }
    for xun in &r.empty {
        out.push_str(&format!(
            "无数据 {xun}：已过截止日，没有一户企业数据齐全，未发布 (no complete data)\n"
        ));
    }
    if out.is_empty() {
        out.push_str("没有待发布的旬 (no 旬 due)\n");
    }
    out
}
