//! 报送提醒: before the reporting deadline, each official is told which above-scale enterprises in
//! their scope have not reported the period yet, so that the district can chase them while there
//! is still time. After the deadline the same gap is an `enterprise_missing` alert instead.
//!
//! [`plan`] is pure (recipients, registry, who reported, in; one list per official out); the
//! messages go through the same outbox as the digests, so a reminder is retried and never lost.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use chrono_tz::Asia::Shanghai;
use lettre::message::MultiPart;
use serde::Serialize;

use super::config::RecipientConfig;
use super::digest::{compose, envelope, escape_html, unique_message_id};
use super::plan::in_scope;
use crate::config::Config;
use crate::period::Period;
use crate::registry::{Enterprise, Scale, UnitKind};
use crate::rules::{Rule, Severity, deadline};
use crate::store::Store;

/// The period a reminder sent at `now` is about: last month, while its deadline has not passed.
/// `None` after the deadline: then the gap is an alert, not a reminder.
pub fn period_due(now: DateTime<Utc>, deadline_day: u32) -> Option<Period> {
    let p = Period::containing(now).prev();
    (now <= deadline(p, deadline_day)).then_some(p)
}

/// Whether the official asked to hear about missing reports: reminders are informational
/// (blue), and a recipient who filtered rules must have kept `enterprise_missing`.
fn wants_reminders(r: &RecipientConfig) -> bool {
    r.min_severity <= Severity::Blue
        && (r.rules.is_empty() || r.rules.iter().any(|x| *x == Rule::EnterpriseMissing))
}

/// Whether the enterprise is expected to report and has not: only above-scale ones report.
fn unreported(e: &Enterprise, reported: &HashSet<String>) -> bool {
    e.scale == Scale::Above && !reported.contains(e.credit_code.as_str())
}

/// One official's reminder: the indexes (into the enterprise list) of those not yet reported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Planned {
    pub recipient: usize,
    pub enterprises: Vec<usize>,
}

/// Who is reminded of what. Only above-scale enterprises are expected to report; an enterprise
/// counts in its unit, its zone and the city, like its alerts.
pub fn plan(
    recipients: &[RecipientConfig],
    enterprises: &[Enterprise],
    reported: &HashSet<String>,
    city: Option<&str>,
) -> Vec<Planned> {
    let pending: Vec<(usize, Vec<String>)> = enterprises
        .iter()
        .enumerate()
        .filter(|(_, e)| unreported(e, reported))
        .map(|(i, e)| {
            let mut scope: Vec<String> = e.zone_code.iter().cloned().collect();
            scope.extend(city.map(str::to_string));
            (i, scope)
        })
        .collect();
    recipients
        .iter()
        .enumerate()
        .filter(|(_, r)| wants_reminders(r))
        .filter_map(|(ri, r)| {
            let mine: Vec<usize> = pending
                .iter()
                .filter(|(i, scope)| {
                    let e = &enterprises[*i];
                    in_scope(
                        r,
                        &e.unit_code,
                        scope,
                        e.credit_code.as_str(),
                        e.owner.as_deref(),
                    )
                })
                .map(|(i, _)| *i)
                .collect();
            (!mine.is_empty()).then_some(Planned {
                recipient: ri,
                enterprises: mine,
            })
        })
        .collect()
}

/// What one reminder pass wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Reminded {
    /// The period the reminders are about (`None`: its deadline had passed; nothing written).
    pub period: Option<String>,
    /// Above-scale enterprises that had not reported.
    pub pending: usize,
    /// `(recipient id, outbox id, enterprises)` per reminder.
    pub messages: Vec<(String, i64, usize)>,
}

/// Decides and writes this pass's reminders to the outbox (one transaction); sends nothing.
pub async fn remind(
    store: &Store,
    config: &Config,
    period: Option<Period>,
    now: DateTime<Utc>,
) -> anyhow::Result<Reminded> {
    let mail = config.mail.as_ref().ok_or_else(|| {
        anyhow::anyhow!("没有 [mail] 配置 (no [mail] section in the configuration)")
    })?;
    let deadline_day = config.general.report_deadline_day;
    let Some(period) = period.or_else(|| period_due(now, deadline_day)) else {
        return Ok(Reminded::default());
    };
    let units = store.units().await?;
    let city = units.iter().find(|u| u.kind == UnitKind::City);
    let unit_names: HashMap<&str, &str> = units
        .iter()
        .map(|u| (u.code.as_str(), u.name.as_str()))
        .collect();
    let enterprises = store.enterprises().await?;
    let reported = store.reported(period).await?;
    let planned = plan(
        &config.recipients,
        &enterprises,
        &reported,
        city.map(|c| c.code.as_str()),
    );
    let people: HashMap<&str, &str> = config
        .recipients
        .iter()
        .map(|r| (r.id.as_str(), r.name.as_str()))
        .collect();
    let ctx = Context {
        period,
        due: deadline(period, deadline_day),
        now,
        units: &unit_names,
        people: &people,
    };
    let mut writes = Vec::new();
    for p in &planned {
        let r = &config.recipients[p.recipient];
        let list: Vec<&Enterprise> = p.enterprises.iter().map(|i| &enterprises[*i]).collect();
        let env = envelope(&mail.from, r)?;
        let mut seed = format!("reminder/{}/{period}", r.id).into_bytes();
        for e in &list {
            seed.extend(e.credit_code.as_str().as_bytes());
        }
        let id = unique_message_id(&seed, &env.from, now);
        let body = MultiPart::alternative_plain_html(text(r, &list, &ctx), html(r, &list, &ctx));
        writes.push(compose(
            &env,
            subject(r, &list, &ctx),
            id,
            now,
            body,
            list.len(),
        )?);
    }
    let ids = store
        .write_digests(&writes, &[], now.timestamp_millis())
        .await?;
    let pending = enterprises
        .iter()
        .filter(|e| unreported(e, &reported))
        .count();
    Ok(Reminded {
        period: Some(period.to_string()),
        pending,
        messages: planned
            .iter()
            .zip(ids)
            .map(|(p, id)| {
                (
                    config.recipients[p.recipient].id.clone(),
                    id,
                    p.enterprises.len(),
                )
            })
            .collect(),
    })
}

/// What the message text needs besides the list.
struct Context<'a> {
    period: Period,
    due: DateTime<Utc>,
    now: DateTime<Utc>,
    units: &'a HashMap<&'a str, &'a str>,
    people: &'a HashMap<&'a str, &'a str>,
}

impl Context<'_> {
    fn period_zh(&self) -> String {
        format!("{}年{}月", self.period.year(), self.period.month())
    }

    /// `11月10日24时` — the end of the deadline day, in Shanghai time.
    fn due_zh(&self) -> String {
        self.due
            .with_timezone(&Shanghai)
            .format("%-m月%-d日24时")
            .to_string()
    }

    fn unit(&self, code: &str) -> String {
        match self.units.get(code) {
            Some(n) => format!("{n}（{code}）"),
            None => code.to_string(),
        }
    }

    /// The enterprise's 包抓领导 by name; none for an id no configured recipient has.
    fn owner(&self, e: &Enterprise) -> Option<String> {
        e.owner
            .as_deref()
            .and_then(|o| self.people.get(o))
            .map(|n| n.to_string())
    }
}

/// `【报送提醒】2026年10月 东城区：12家规上企业尚未报送（11月10日24时截止）`.
fn subject(r: &RecipientConfig, list: &[&Enterprise], ctx: &Context<'_>) -> String {
    format!(
        "【报送提醒】{} {}：{}家规上企业尚未报送（{}截止）",
        ctx.period_zh(),
        r.label.as_deref().unwrap_or(&r.name),
        list.len(),
        ctx.due_zh()
    )
}

/// The list grouped by the unit each enterprise reports under, units in code order.
fn by_unit<'e>(list: &[&'e Enterprise]) -> BTreeMap<&'e str, Vec<&'e Enterprise>> {
    let mut out: BTreeMap<&str, Vec<&Enterprise>> = BTreeMap::new();
    for e in list {
        out.entry(e.unit_code.as_str()).or_default().push(e);
    }
    out
}

fn intro(list: &[&Enterprise], ctx: &Context<'_>) -> String {
    format!(
        "截至{}，您负责范围内有{}家规上企业尚未报送{}数据，报送截止时间为{}。请督促以下企业按时报送：",
        ctx.now.with_timezone(&Shanghai).format("%-m月%-d日%H:%M"),
        list.len(),
        ctx.period_zh(),
        ctx.due_zh()
    )
}

const AFTER: &str = "逾期仍未报送的企业将列入“未报”预警（enterprise_missing）并通报。";
const FOOTER: &str = "本邮件由工业运行监测系统自动发送。";

fn text(r: &RecipientConfig, list: &[&Enterprise], ctx: &Context<'_>) -> String {
    let mut s = format!("{}：\n\n{}\n", r.name, intro(list, ctx));
    for (unit, es) in by_unit(list) {
        let _ = write!(s, "\n【{}】{}家\n", ctx.unit(unit), es.len());
        for e in es {
            let _ = write!(s, "  - {}（{}）", e.name, e.credit_code.as_str());
            if let Some(o) = ctx.owner(e) {
                let _ = write!(s, " 包抓领导 {o}");
            }
            s.push('\n');
        }
    }
    let _ = write!(s, "\n{AFTER}\n{FOOTER}\n");
    s
}

fn html(r: &RecipientConfig, list: &[&Enterprise], ctx: &Context<'_>) -> String {
    let e = escape_html;
    let mut s = String::from(
        "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"></head><body style=\"font-family:sans-serif\">",
    );
    let _ = write!(s, "<p>{}：</p><p>{}</p>", e(&r.name), e(&intro(list, ctx)));
    for (unit, es) in by_unit(list) {
        let _ = write!(s, "<h3>{}（{}家）</h3>", e(&ctx.unit(unit)), es.len());
        s.push_str("<table border=\"1\" cellspacing=\"0\" cellpadding=\"4\"><tr><th>企业</th><th>统一社会信用代码</th><th>包抓领导</th></tr>");
        for x in es {
            let _ = write!(
                s,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                e(&x.name),
                e(x.credit_code.as_str()),
                e(&ctx.owner(x).unwrap_or_default())
            );
        }
        s.push_str("</table>");
    }
    let _ = write!(
        s,
        "<p>{}</p><p><small>{}</small></p></body></html>",
        e(AFTER),
        e(FOOTER)
    );
    s
}

#[cfg(test)]
mod tests;
