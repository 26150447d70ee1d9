//! The pages of a signed-in official about alerts: the alert page and the city overview (its
//! open alerts by unit and severity, beside the open cases by unit). 我的待办 lists cases
//! ([`super::todo`]); [`todo_items`] is the open alerts in an official's scope, worst first.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono_tz::Asia::Shanghai;
use serde::Serialize;

use super::session::{self, Signed};
use super::{Console, Shared};
use crate::alerts::Alert;
use crate::rules::{Rule, Severity};

/// The header's "who is signed in".
#[derive(Serialize)]
pub struct Me {
    pub name: String,
    pub role: &'static str,
    pub city: bool,
}

impl Me {
    pub fn of(s: &Signed) -> Me {
        Me {
            name: s.scope.recipient.name.clone(),
            role: s.scope.recipient.role.zh(),
            city: s.scope.is_city(),
        }
    }
}

/// One line of 我的待办.
#[derive(Serialize)]
pub struct TodoItem {
    pub href: String,
    pub severity: &'static str,
    pub severity_zh: &'static str,
    pub kind_zh: &'static str,
    pub subject: String,
    pub subject_name: String,
    pub unit_name: String,
    pub period: String,
    pub consecutive: u32,
    pub state_zh: &'static str,
    pub message: String,
    pub opened: String,
    /// The formula's inputs, as (name, value) text.
    pub values: Vec<(String, String)>,
}

fn when(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| {
            t.with_timezone(&Shanghai)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_default()
}

fn rule_zh(rule: &str) -> &'static str {
    rule.parse::<Rule>().map(Rule::zh).unwrap_or("预警")
}

/// An alert as a page shows it.
pub fn item(a: &Alert, units: &BTreeMap<String, String>) -> TodoItem {
    TodoItem {
        href: format!("/alerts/{}", a.id),
        severity: a.severity.as_str(),
        severity_zh: a.severity.zh(),
        kind_zh: rule_zh(&a.rule),
        subject: a.subject.clone(),
        subject_name: a.subject_name.clone(),
        unit_name: units
            .get(&a.unit_code)
            .cloned()
            .unwrap_or_else(|| a.unit_code.clone()),
        period: a.period.to_string(),
        consecutive: a.consecutive,
        state_zh: a.state.zh(),
        message: a.message.clone(),
        opened: when(a.opened_at),
        values: a
            .values
            .iter()
            .map(|(k, v)| {
                let text = match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), text)
            })
            .collect(),
    }
}

/// The open alerts in the official's scope, worst first: severity, then months in a row, then
/// the oldest. Borrowed from the console's shared read ([`Console::open_alerts`]).
pub fn todo_items<'a>(open: &'a [Alert], s: &Signed) -> Vec<&'a Alert> {
    let mut mine: Vec<&Alert> = open.iter().filter(|a| s.scope.sees_alert(a)).collect();
    mine.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(b.consecutive.cmp(&a.consecutive))
            .then(a.opened_at.cmp(&b.opened_at))
            .then(a.id.cmp(&b.id))
    });
    mine
}

/// Unit code → name.
async fn unit_names(c: &Console) -> anyhow::Result<Arc<BTreeMap<String, String>>> {
    Ok(c.open_alerts().await?.1)
}

/// `GET /`.
pub async fn home() -> Redirect {
    Redirect::to("/todo")
}

/// One history line of the alert page.
#[derive(Serialize)]
struct HistoryLine {
    at: String,
    kind_zh: &'static str,
    severity: &'static str,
    severity_zh: &'static str,
    message: String,
    actor: Option<String>,
    note: Option<String>,
}

/// `GET /alerts/{id}`: the alert with its figures and history; 404 outside the scope.
pub async fn alert(
    State(c): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let s = match session::signed(&c, &headers).await {
        Ok(s) => s,
        Err(why) => return session::refuse(&c, &headers, why),
    };
    let Ok(id) = id.parse::<i64>() else {
        return not_found_page(&c);
    };
    let Some(store) = c.ctx.reads() else {
        return session::unavailable(&c);
    };
    let loaded = async {
        let Some(a) = store.alert(id).await?.filter(|a| s.scope.sees_alert(a)) else {
            return anyhow::Ok(None);
        };
        let events = store.alert_events(0, Some(a.id)).await?;
        let case = store.newest_case_of(a.id).await?;
        Ok(Some((a, events, case, unit_names(&c).await?)))
    };
    match loaded.await {
        Ok(Some((a, events, case, units))) => {
            let history: Vec<HistoryLine> = events
                .iter()
                .map(|e| HistoryLine {
                    at: when(e.at),
                    kind_zh: e.kind.zh(),
                    severity: e.severity.as_str(),
                    severity_zh: e.severity.zh(),
                    message: e.message.clone(),
                    actor: Some(e.actor.clone())
                        .filter(|a| !a.is_empty() && a != crate::alerts::SYSTEM),
                    note: Some(e.note.clone()).filter(|n| !n.is_empty()),
                })
                .collect();
            c.templates.page(
                StatusCode::OK,
                "alert.html",
                minijinja::context! { me => Me::of(&s), csrf => s.csrf, a => item(&a, &units), history => history, case => case },
            )
        }
        Ok(None) => not_found_page(&c),
        Err(e) => session::internal(&c, &e),
    }
}

/// One unit's line of the city overview.
#[derive(Serialize, Default)]
struct UnitCounts {
    name: String,
    red: usize,
    orange: usize,
    yellow: usize,
    blue: usize,
    total: usize,
}

/// `GET /city`: every unit's open cases (overdue, 督办, awaiting 销号) and open alerts by
/// severity; 404 to anyone but a city official.
pub async fn city(State(c): State<Shared>, headers: HeaderMap) -> Response {
    let s = match session::signed(&c, &headers).await {
        Ok(s) => s,
        Err(why) => return session::refuse(&c, &headers, why),
    };
    if !s.scope.is_city() {
        return not_found_page(&c);
    }
    let (open, names) = match c.open_alerts().await {
        Ok(x) => x,
        Err(e) => return session::internal(&c, &e),
    };
    let alerts = todo_items(&open, &s);
    let mut by_unit: BTreeMap<String, UnitCounts> = BTreeMap::new();
    for a in alerts.iter() {
        let u = by_unit
            .entry(a.unit_code.clone())
            .or_insert_with(|| UnitCounts {
                name: names
                    .get(&a.unit_code)
                    .cloned()
                    .unwrap_or_else(|| a.unit_code.clone()),
                ..UnitCounts::default()
            });
        match a.severity {
            Severity::Red => u.red += 1,
            Severity::Orange => u.orange += 1,
            Severity::Yellow => u.yellow += 1,
            Severity::Blue => u.blue += 1,
        }
        u.total += 1;
    }
    let mut units: Vec<UnitCounts> = by_unit.into_values().collect();
    units.sort_by_key(|u| std::cmp::Reverse((u.red, u.orange, u.total)));
    let case_units = match super::city::counts(&c, &s).await {
        Ok(x) => x,
        Err(e) => return session::internal(&c, &e),
    };
    let open_cases: usize = case_units.iter().map(|(_, u)| u.open).sum();
    let overdue_cases: usize = case_units.iter().map(|(_, u)| u.overdue).sum();
    c.templates.page(
        StatusCode::OK,
        "city.html",
        minijinja::context! {
            me => Me::of(&s), csrf => s.csrf, units => units, total => alerts.len(),
            case_units => case_units, open_cases => open_cases, overdue_cases => overdue_cases,
        },
    )
}

pub fn not_found_page(c: &Console) -> Response {
    c.templates.message(
        StatusCode::NOT_FOUND,
        "未找到",
        "没有这个页面，或不在您的职责范围内。",
    )
}

/// Any other path: 404.
pub async fn not_found(State(c): State<Shared>) -> impl IntoResponse {
    not_found_page(&c)
}
