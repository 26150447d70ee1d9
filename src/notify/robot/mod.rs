//! Group robots (群机器人): a short notice in the officials' 钉钉 or 企业微信 work group as a
//! second channel beside the email digest. A dispatch queues one notice per robot whose
//! recipients get a digest, in the dispatch's transaction ([`notices`]); the sender
//! ([`step`]/[`drain`]) posts them under each robot's rate, retrying what the API says may be
//! retried. A notice carries counts, the period and a link to the console — never an
//! enterprise's name, code or figures, since the robot's service is a third party.

pub mod client;
pub mod config;
pub mod notice;
pub mod outbox;
pub mod sign;

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

pub use client::{Failure, Robot, Robots};
pub use config::{RobotConfig, RobotKind, problems};
pub use notice::{Counts, Notice};
pub use outbox::{ClaimedNotice, Policy, RobotStep, drain, step};

use crate::alerts::Alert;
use crate::cases::{Desk, ListFilter, Who};
use crate::config::Config;
use crate::notify::plan::Planned;
use crate::store::Store;

/// Overdue cases (超期未反馈) per robot id, counted over the union of its recipients' scopes:
/// open cases owing an answer past their due time that any of `robot.recipients` sees (a case
/// two of them see counts once). The notice shows "超期未反馈 N 件".
pub async fn overdue_cases(
    store: &Store,
    config: &Config,
    now: DateTime<Utc>,
) -> anyhow::Result<HashMap<String, u32>> {
    let mut out = HashMap::new();
    if config.robots.is_empty() {
        return Ok(out);
    }
    let desk = Desk::new(store.clone(), config)?;
    let filter = ListFilter {
        open: true,
        overdue: true,
        ..ListFilter::default()
    };
    for robot in &config.robots {
        let mut ids = HashSet::new();
        for r in &robot.recipients {
            let page = desk.page(&Who::recipient(r, None), &filter, now).await?;
            ids.extend(page.cases.iter().map(|c| c.id));
        }
        out.insert(
            robot.id.clone(),
            u32::try_from(ids.len()).unwrap_or(u32::MAX),
        );
    }
    Ok(out)
}

/// The notices of one dispatch: one per configured robot that speaks for a recipient with a
/// digest in `planned`. Pure; `overdue` comes from [`overdue_cases`].
pub fn notices(
    config: &Config,
    planned: &[Planned],
    alerts: &[Alert],
    overdue: &HashMap<String, u32>,
) -> Vec<Notice> {
    config
        .robots
        .iter()
        .filter_map(|r| {
            let mut c = notice::counts(r, &config.recipients, planned, alerts)?;
            c.overdue = overdue.get(&r.id).copied();
            // check-config refuses a robot with no link; the placeholder never leaves a test.
            let link = r.link(config.console.as_ref()).unwrap_or("");
            Some(notice::render(r, &c, link))
        })
        .collect()
}

/// Posts what is due (a dispatch job, `indmon dispatch`); the counts of each outcome. Robots
/// that cannot be set up (a missing secret) fail the call; notices stay queued.
pub async fn send_due(store: &Store, config: &Config, now: DateTime<Utc>) -> anyhow::Result<Value> {
    if config.robots.is_empty() {
        return Ok(json!({}));
    }
    let robots = Robots::from_config(&config.robots)?;
    let steps = drain(store, &robots, &Policy::default(), now).await?;
    let count = |f: fn(&RobotStep) -> bool| steps.iter().filter(|s| f(s)).count();
    let u = store.robot_undelivered().await?;
    Ok(json!({
        "sent": count(|s| matches!(s, RobotStep::Sent { .. })),
        "retry": count(|s| matches!(s, RobotStep::Retry { .. })),
        "failed": count(|s| matches!(s, RobotStep::Failed { .. })),
        "unknown": count(|s| matches!(s, RobotStep::Unknown { .. })),
        "queued": u.queued,
    }))
}
