//! Email warnings. A dispatch decides, for every configured official, what changed in their
//! scope since they were last told ([`plan`]), builds one digest each ([`digest`]), and writes
//! the digests with the record of what they cover in one transaction (the outbox). A sender
//! ([`outbox::step`]) then delivers them through a [`Transport`], retrying what is retryable.
//! Stages: route (scope) → mute (silences) → dedup (what was told) → outbox → retry → record.

pub mod attachment;
pub mod casework;
pub mod chase;
pub mod config;
pub mod digest;
pub mod outbox;
pub mod plan;
pub mod refused;
pub mod reminder;
pub mod robot;
pub mod signin;
pub mod snapshot;
pub mod summary;
pub mod transport;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

pub use config::{MailConfig, RecipientConfig, Role};
pub use outbox::{
    Claimed, Delayed, Notified, OutboxRow, OutboxWrite, Policy, Step, Undelivered, drain, step,
};
pub use plan::{Item, ItemKind};
pub use transport::{SendError, Transport};

use crate::alerts::AlertFilter;
use crate::causes::Causes;
use crate::config::Config;
use crate::store::Store;

/// A message delivered this much later than it was written is told about in its recipient's
/// next digest (延迟送达): one hour, beyond the retries of a short blip and a crash's lease.
pub const DELAY_NOTICE_MS: i64 = 3_600_000;

/// What one dispatch put in the outbox.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Dispatched {
    /// `(recipient id, outbox id, items)` per digest.
    pub digests: Vec<(String, i64, usize)>,
    /// `(robot id, robot_outbox id)` per group-robot notice ([`robot`]).
    pub notices: Vec<(String, i64)>,
    /// `(recipient id, outbox id, cases)` per 督办 message ([`chase`]).
    pub chases: Vec<(String, i64, usize)>,
}

/// The retry policy `[mail]` asks for.
pub fn policy(m: &MailConfig) -> Policy {
    Policy {
        alarm_after: m.max_attempts,
        ..Policy::default()
    }
}

/// Decides and writes this dispatch's digests (one transaction); sends nothing.
pub async fn dispatch(
    store: &Store,
    config: &Config,
    now: DateTime<Utc>,
) -> anyhow::Result<Dispatched> {
    let mail = config.mail.as_ref().ok_or_else(|| {
        anyhow::anyhow!("没有 [mail] 配置 (no [mail] section in the configuration)")
    })?;
    let now_ms = now.timestamp_millis();
    let alerts = store.alerts(&AlertFilter::default()).await?;
    let cursors: HashMap<String, i64> = store.notification_cursors().await?.into_iter().collect();
    let oldest = config
        .recipients
        .iter()
        .map(|r| cursors.get(&r.id).copied().unwrap_or(0))
        .min()
        .unwrap_or(0);
    // Read the newest event id before the events, so that an event written meanwhile is
    // seen by the next dispatch rather than skipped.
    let last_event = store.last_event_id().await?;
    let events: Vec<_> = store
        .alert_events(oldest, None)
        .await?
        .into_iter()
        .filter(|e| e.id <= last_event)
        .collect();
    // What is in flight counts as told; what was refused for good does not.
    let notified = store.told().await?;
    let delayed = store.delayed_unnoted(DELAY_NOTICE_MS).await?;
    let silences = store.silences(Some(now_ms)).await?;
    let planned = plan::plan(&plan::PlanInput {
        recipients: &config.recipients,
        alerts: &alerts,
        events: &events,
        cursors: &cursors,
        notified: &notified,
        silences: &silences,
        now_ms,
        repeat_ms: i64::try_from(mail.repeat_interval_hours)
            .unwrap_or(i64::MAX / 3_600_000)
            .saturating_mul(3_600_000),
        escalate_after: config.rules.escalate_after,
    });
    let names = digest::Names {
        people: config
            .recipients
            .iter()
            .map(|r| (r.id.clone(), r.name.clone()))
            .collect(),
        units: store
            .units()
            .await?
            .into_iter()
            .map(|u| (u.code, u.name))
            .collect(),
    };
    // The 反馈表 of each reader who answers cases: when they cannot be made, the digests
    // still go, with the detail attachment only.
    let books = attachment::feedback_workbooks(
        store,
        config,
        planned.iter().map(|p| &config.recipients[p.recipient]),
        now,
    )
    .await
    .unwrap_or_else(|e| {
        tracing::warn!(error = %Causes(&e), "无法生成反馈表，邮件不附反馈表 (feedback workbooks not made)");
        HashMap::new()
    });
    let period = planned
        .iter()
        .flat_map(|p| p.items.iter().map(|i| i.alert.period))
        .max();
    let work = if planned.is_empty() {
        casework::Casework::default()
    } else {
        casework::read(store, config, period, now).await
    };
    let releases = xun_releases(store, &planned).await?;
    let mut writes = Vec::new();
    for p in &planned {
        let r = &config.recipients[p.recipient];
        let xun = xun_notes(&p.items, &releases, &config.power);
        let late: Vec<_> = delayed
            .iter()
            .filter(|d| d.recipient == r.id)
            .cloned()
            .collect();
        let summary = work.summary_for(r, &p.items, now).await;
        let ctx = digest::Context {
            from: &mail.from,
            city: &config.general.city_name,
            names: &names,
            now,
            attachment: mail.attachment,
            delayed: &late,
            feedback: books.get(&r.id).map(Vec::as_slice),
            answer: digest::Loop {
                console: work.console.as_deref(),
                cases: Some(&work.cases),
                summary: Some(&summary),
            },
            xun: &xun,
        };
        let mut w = digest::build(r, &p.items, &ctx)?;
        w.covers = p.covers.clone();
        writes.push(w);
    }
    let cursor_rows: Vec<(String, i64)> = config
        .recipients
        .iter()
        .map(|r| (r.id.clone(), last_event))
        .collect();
    // A count the group notices add: when it cannot be made, the digests still go, and the
    // notices leave the line out rather than say a wrong number.
    let overdue = robot::overdue_cases(store, config, now)
        .await
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "无法统计超期案件，群通知不含此项 (overdue cases not counted for the robots' notices)");
            std::collections::HashMap::new()
        });
    let notices = robot::notices(config, &planned, &alerts, &overdue);
    let (ids, notice_ids) = store
        .write_dispatch(&writes, &notices, &cursor_rows, now_ms)
        .await?;
    // After the digests: an overdue case's first reminder follows the digest that dated it.
    let chases = chase::dispatch(store, config, &mail.from, now).await?;
    Ok(Dispatched {
        digests: planned
            .iter()
            .zip(ids)
            .map(|(p, id)| (config.recipients[p.recipient].id.clone(), id, p.items.len()))
            .collect(),
        notices: notices
            .iter()
            .map(|n| n.robot.clone())
            .zip(notice_ids)
            .collect(),
        chases,
    })
}

/// The releases of the 旬s the planned 旬 warnings belong to.
async fn xun_releases(
    store: &Store,
    planned: &[plan::Planned],
) -> anyhow::Result<HashMap<crate::power::Xun, crate::power::release::Release>> {
    let xuns: std::collections::BTreeSet<_> = planned
        .iter()
        .flat_map(|p| p.items.iter().filter_map(digest::item_xun))
        .collect();
    store
        .xun_releases(&xuns.into_iter().collect::<Vec<_>>())
        .await
}

/// The 旬 digest's opening sentences: how each 旬 among `items` was released, oldest first.
fn xun_notes(
    items: &[Item],
    releases: &HashMap<crate::power::Xun, crate::power::release::Release>,
    pc: &crate::power::PowerConfig,
) -> Vec<String> {
    let xuns: std::collections::BTreeSet<_> = items.iter().filter_map(digest::item_xun).collect();
    xuns.iter()
        .filter_map(|x| releases.get(x))
        .map(|r| r.sentence(pc))
        .collect()
}
