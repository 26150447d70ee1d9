//! 督办: a case still unanswered past its due time is chased — its owner gets a reminder (超期
//! 提醒) — and past its 督办 time its owner's supervisor is told (督办), or the city's officials
//! when the owner has no supervisor. Each once per deadline (a case returned with a new due date
//! is chased again for it), recorded with the message in one transaction (`case_chase`), so a
//! second dispatch never sends the same again.
//!
//! [`plan`] is pure (the overdue cases, the recipients, what was chased and the clock in; one
//! message per recipient and kind out); [`dispatch`] reads, plans, builds and queues.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use lettre::message::MultiPart;
use serde::Serialize;

use super::config::{RecipientConfig, Role};
use super::digest::{compose, envelope, escape_html, unique_message_id};
use super::summary::{case_link, shown_date};
use crate::cases::Case;
use crate::config::Config;
use crate::store::Store;
use crate::store::cases::CaseQuery;
use crate::store::chase::{ChaseRow, ChaseWrite};

/// Which deadline a message chases.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Kind {
    /// Past the due time: the owner is reminded.
    Reminder,
    /// Past the 督办 time: the supervisor is told.
    Escalation,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Reminder => "reminder",
            Kind::Escalation => "escalation",
        }
    }

    /// The deadline of `c` this kind chases.
    fn deadline(self, c: &Case) -> Option<i64> {
        match self {
            Kind::Reminder => c.due_at,
            Kind::Escalation => c.escalate_at,
        }
    }
}

/// One message to be: a recipient (index into the configuration), a kind, its cases.
#[derive(Clone, Debug, PartialEq)]
pub struct Planned {
    pub recipient: usize,
    pub kind: Kind,
    pub cases: Vec<Case>,
}

/// Who is told of an escalated case owned by `owner`: the owner's supervisor, else the city.
fn supervisors(recipients: &[RecipientConfig], owner: &str) -> Vec<usize> {
    let sup = recipients
        .iter()
        .find(|r| r.id == owner)
        .and_then(|o| o.supervisor.as_deref());
    recipients
        .iter()
        .enumerate()
        .filter(|(_, r)| match sup {
            Some(s) => r.id == s,
            None => r.role == Role::City && r.id != owner,
        })
        .map(|(i, _)| i)
        .collect()
}

/// The messages to send: for each overdue case not chased yet for its current deadline, a
/// reminder to its owner; for each case past its 督办 time, an escalation to the supervisors.
/// Cases without an owner, or whose owner is not configured, are chased by nobody.
pub fn plan(
    cases: &[Case],
    recipients: &[RecipientConfig],
    chased: &[ChaseRow],
    now_ms: i64,
) -> Vec<Planned> {
    let done: HashSet<(i64, &str, i64, &str)> = chased
        .iter()
        .map(|c| (c.case_id, c.kind, c.deadline, c.recipient.as_str()))
        .collect();
    let mut out: BTreeMap<(usize, Kind), Vec<Case>> = BTreeMap::new();
    for c in cases {
        let Some(owner) = c.owner.as_deref() else {
            continue;
        };
        let Some(oi) = recipients.iter().position(|r| r.id == owner) else {
            continue;
        };
        let mut to = Vec::new();
        if c.overdue(now_ms) {
            to.push((oi, Kind::Reminder));
        }
        if c.escalated(now_ms) {
            to.extend(
                supervisors(recipients, owner)
                    .into_iter()
                    .map(|i| (i, Kind::Escalation)),
            );
        }
        for (ri, kind) in to {
            let Some(deadline) = kind.deadline(c) else {
                continue;
            };
            if !done.contains(&(c.id, kind.as_str(), deadline, recipients[ri].id.as_str())) {
                out.entry((ri, kind)).or_default().push(c.clone());
            }
        }
    }
    out.into_iter()
        .map(|((recipient, kind), cases)| Planned {
            recipient,
            kind,
            cases,
        })
        .collect()
}

/// What the message says about one case: `南湖机械（东城区经信局，期限11月9日）`.
fn case_line(c: &Case, recipients: &[RecipientConfig]) -> String {
    let owner = c
        .owner
        .as_deref()
        .and_then(|o| recipients.iter().find(|r| r.id == o))
        .map_or("未指定", |r| r.name.as_str());
    let mut s = format!(
        "{}（{}，责任人 {owner}，反馈期限{}",
        c.subject_name,
        crate::rules::rule_zh(&c.rule),
        c.due_at.map(shown_date).unwrap_or_default()
    );
    if let Some(e) = c.escalate_at {
        let _ = write!(s, "，督办期限{}", shown_date(e));
    }
    s.push('）');
    s
}

/// The subject: `【督办】超期未反馈提醒：2件` or `【督办】超过督办期限未反馈：1件`.
pub fn subject(p: &Planned) -> String {
    match p.kind {
        Kind::Reminder => format!("【督办】超期未反馈提醒：{}件", p.cases.len()),
        Kind::Escalation => format!("【督办】超过督办期限未反馈：{}件", p.cases.len()),
    }
}

/// The opening sentence.
fn opening(p: &Planned) -> String {
    match p.kind {
        Kind::Reminder => format!(
            "以下{}件交办事项已超过反馈期限，尚未反馈。请尽快反馈原因、帮扶措施和预计恢复时间：",
            p.cases.len()
        ),
        Kind::Escalation => format!(
            "以下{}件交办事项已超过督办期限，责任人仍未反馈，请督促办理：",
            p.cases.len()
        ),
    }
}

/// The plain-text and HTML bodies.
fn bodies(r: &RecipientConfig, p: &Planned, cfg: &Config) -> (String, String) {
    let console = cfg.console.as_ref().map(|c| c.base_url());
    let how = super::digest::Loop {
        console: console.as_deref(),
        ..Default::default()
    }
    .how_to_answer();
    let mut text = format!("{}：\n\n{}\n", r.name, opening(p));
    let mut html = format!(
        "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"></head><body style=\"font-family:sans-serif\"><p>{}：</p><p>{}</p><ul>",
        escape_html(&r.name),
        escape_html(&opening(p))
    );
    for c in &p.cases {
        let line = case_line(c, &cfg.recipients);
        let link = case_link(console.as_deref(), c.id);
        let _ = writeln!(text, "  - {line}");
        match &link {
            Some(l) => {
                let _ = writeln!(text, "    办理：{l}");
                let _ = write!(
                    html,
                    "<li>{} <a href=\"{}\">办理</a></li>",
                    escape_html(&line),
                    escape_html(l)
                );
            }
            None => {
                let _ = write!(html, "<li>{}</li>", escape_html(&line));
            }
        }
    }
    let _ = write!(text, "\n{how}\n本邮件由工业运行监测系统自动发送。\n");
    let _ = write!(
        html,
        "</ul><p>{}</p><p><small>本邮件由工业运行监测系统自动发送。</small></p></body></html>",
        escape_html(&how)
    );
    (text, html)
}

/// The message of one planned chase, with the rows it records.
pub fn build(
    p: &Planned,
    cfg: &Config,
    from: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<ChaseWrite> {
    let r = &cfg.recipients[p.recipient];
    let env = envelope(from, r)?;
    let mut seed = format!("chase:{}:{}", r.id, p.kind.as_str()).into_bytes();
    for c in &p.cases {
        seed.extend(c.id.to_le_bytes());
    }
    let id = unique_message_id(&seed, &env.from, now);
    let (text, html) = bodies(r, p, cfg);
    let body = MultiPart::alternative_plain_html(text, html);
    let message = compose(&env, subject(p), id, now, body, p.cases.len())?;
    let rows = p
        .cases
        .iter()
        .filter_map(|c| {
            Some(ChaseRow {
                case_id: c.id,
                kind: p.kind.as_str(),
                deadline: p.kind.deadline(c)?,
                recipient: r.id.clone(),
            })
        })
        .collect();
    Ok(ChaseWrite { message, rows })
}

/// Reads the overdue cases, plans and queues the 督办 messages; `(recipient, outbox id, cases)`
/// per message.
pub async fn dispatch(
    store: &Store,
    config: &Config,
    from: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<(String, i64, usize)>> {
    let now_ms = now.timestamp_millis();
    // Cases whose first digest was delivered since the last look get their deadlines first.
    let desk = crate::cases::Desk::new(store.clone(), config)?;
    crate::cases::settle_due(store, desk.calendar(), now).await?;
    let q = CaseQuery {
        open: true,
        overdue: true,
        worklist_at: Some(now_ms),
        ..CaseQuery::default()
    };
    let cases = store.cases(&q).await?;
    if cases.is_empty() {
        return Ok(Vec::new());
    }
    let chased = store.chased().await?;
    let planned = plan(&cases, &config.recipients, &chased, now_ms);
    let writes = planned
        .iter()
        .map(|p| build(p, config, from, now))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let ids = store.write_chases(&writes, now_ms).await?;
    Ok(planned
        .iter()
        .zip(ids)
        .map(|(p, id)| (config.recipients[p.recipient].id.clone(), id, p.cases.len()))
        .collect())
}
