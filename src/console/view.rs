//! What the case pages share: a case as a list line shows it (with its warning's numbers), the
//! Shanghai time, the official as the desk knows them, and paging.

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;

use axum::Extension;
use axum::extract::ConnectInfo;
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Serialize;

use super::pages::{TodoItem, item};
use super::session::{self, Signed};
use super::{Console, client};
use crate::cases::{Case, Who};

/// Cases on one page of a list.
pub const PER_PAGE: u64 = 50;

/// The TCP peer, when the listener records it.
pub type Peer = Option<Extension<ConnectInfo<SocketAddr>>>;

/// Shanghai time of `ms`, to the minute.
pub fn when(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| {
            t.with_timezone(&chrono_tz::Asia::Shanghai)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_default()
}

/// The signed-in official as the desk knows them, with the client address (for the audit).
pub fn who(c: &Console, s: &Signed, peer: Peer, headers: &HeaderMap) -> Who {
    let addr = client::client_addr(peer.map(|p| p.0.0), headers, &c.proxies).to_string();
    Who::recipient(s.scope.id(), Some(&addr))
}

/// The signed-in official of a request, or the answer that refuses (401, 503, 500).
pub async fn signed(c: &Console, headers: &HeaderMap) -> Result<Signed, Response> {
    session::signed(c, headers)
        .await
        .map_err(|why| session::refuse(c, headers, why))
}

/// A recipient's configured name, or the id (an actor since removed, `indmon`, an operator).
pub fn person(c: &Console, id: &str) -> String {
    if id == crate::alerts::SYSTEM {
        return "系统".to_string();
    }
    c.ctx
        .config
        .recipients
        .iter()
        .find(|r| r.id == id)
        .map(|r| r.name.clone())
        .unwrap_or_else(|| id.to_string())
}

/// A case as a list and its page show it.
#[derive(Serialize)]
pub struct CaseLine {
    pub id: i64,
    pub subject: String,
    pub subject_name: String,
    pub unit_name: String,
    pub kind_zh: &'static str,
    pub severity: &'static str,
    pub severity_zh: &'static str,
    pub state: &'static str,
    pub state_zh: &'static str,
    pub period: String,
    /// The due time, Shanghai; empty until the first digest carrying it is delivered.
    pub due: String,
    pub overdue: bool,
    pub escalated: bool,
    pub late: bool,
    /// The signed-in official owns it and owes an answer.
    pub mine: bool,
    /// The signed-in official is of the city and the answer awaits their 销号.
    pub decide: bool,
    pub owner_name: String,
    pub version: i64,
    /// The warning (its message and numbers), while its alert can be read.
    pub alert: Option<TodoItem>,
}

/// `case` as shown to `s` at `now_ms`, with its alert from `alerts` if there.
pub fn line(
    c: &Console,
    s: &Signed,
    case: &Case,
    alert: Option<&crate::alerts::Alert>,
    units: &BTreeMap<String, String>,
    now_ms: i64,
) -> CaseLine {
    CaseLine {
        id: case.id,
        subject: case.subject.clone(),
        subject_name: case.subject_name.clone(),
        unit_name: units
            .get(&case.unit_code)
            .cloned()
            .unwrap_or_else(|| case.unit_code.clone()),
        kind_zh: case
            .rule
            .parse::<crate::rules::Rule>()
            .map(crate::rules::Rule::zh)
            .unwrap_or("预警"),
        severity: case.severity.as_str(),
        severity_zh: case.severity.zh(),
        state: case.state.as_str(),
        state_zh: case.state.zh(),
        period: case.period.clone(),
        due: case.due_at.map(when).unwrap_or_default(),
        overdue: case.overdue(now_ms),
        escalated: case.escalated(now_ms),
        late: case.late,
        mine: case.owner.as_deref() == Some(s.scope.id()) && case.state.awaits_answer(),
        decide: s.scope.is_city() && case.state == crate::cases::CaseState::CloseRequested,
        owner_name: case
            .owner
            .as_deref()
            .map(|o| person(c, o))
            .unwrap_or_else(|| "未配置".to_string()),
        version: case.version,
        alert: alert.map(|a| item(a, units)),
    }
}

/// The lines of `cases`, their alerts read from the console's shared read of the open alerts
/// and, for the few not there (resolved), one by one.
pub async fn lines(
    c: &Console,
    s: &Signed,
    cases: &[Case],
    now_ms: i64,
) -> anyhow::Result<Vec<CaseLine>> {
    let (open, units) = c.open_alerts().await?;
    let wanted: HashSet<i64> = cases.iter().map(|k| k.alert_id).collect();
    let mut found: BTreeMap<i64, crate::alerts::Alert> = open
        .iter()
        .filter(|a| wanted.contains(&a.id))
        .map(|a| (a.id, a.clone()))
        .collect();
    if let Some(store) = c.ctx.reads() {
        for k in cases {
            if !found.contains_key(&k.alert_id)
                && let Some(a) = store.alert(k.alert_id).await?
            {
                found.insert(a.id, a);
            }
        }
    }
    Ok(cases
        .iter()
        .map(|k| line(c, s, k, found.get(&k.alert_id), &units, now_ms))
        .collect())
}

/// Paging of a list: the page shown (from 1), how many pages, and the links around it.
#[derive(Serialize)]
pub struct Pager {
    pub page: u64,
    pub pages: u64,
    pub total: u64,
    pub prev: Option<String>,
    pub next: Option<String>,
}

impl Pager {
    /// The (offset, limit) of page `page` (from 1).
    pub fn window(page: u64) -> (u64, u64) {
        (page.saturating_sub(1) * PER_PAGE, PER_PAGE)
    }

    /// The pager of page `page` of `total` items; `link(n)` is page n's address.
    pub fn new(page: u64, total: u64, per_page: u64, link: impl Fn(u64) -> String) -> Pager {
        let pages = total.div_ceil(per_page.max(1)).max(1);
        Pager {
            page,
            pages,
            total,
            prev: (page > 1).then(|| link(page - 1)),
            next: (page < pages).then(|| link(page + 1)),
        }
    }
}

/// The page number of a `?page=` value: 1 when absent or not a positive number.
pub fn page_number(given: Option<&str>) -> u64 {
    given
        .and_then(|p| p.parse::<u64>().ok())
        .filter(|p| *p >= 1)
        .unwrap_or(1)
}
