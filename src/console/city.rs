//! The city officials' case pages: every unit's cases (`/city/cases`, filtered by unit and by
//! open or overdue), the answers awaiting 销号 (`/city/requests`, each with its latest answer
//! and the 同意销号 button), and the audit log (`/audit`). Anyone else gets 404, as for
//! `/city`: the pages do not exist for them. Overdue cases by unit are on `/city`.

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::pages::{Me, not_found_page};
use super::session::{self, Signed};
use super::view::{self, Pager, when};
use super::{Console, Shared};
use crate::cases::{AuditEntry, CaseError, CaseState, ListFilter, UnitCounts, Who};

/// Audit lines on one page.
pub const AUDIT_PER_PAGE: u64 = 100;

/// `/city/cases?unit=&show=open|overdue|all&page=`.
#[derive(Deserialize)]
pub struct CasesQuery {
    pub unit: Option<String>,
    pub show: Option<String>,
    pub page: Option<String>,
}

/// The signed-in city official, or the answer for anyone else.
async fn city_official(c: &Console, headers: &HeaderMap) -> Result<Signed, Response> {
    let s = view::signed(c, headers).await?;
    if s.scope.is_city() {
        Ok(s)
    } else {
        Err(not_found_page(c))
    }
}

fn who(s: &Signed) -> Who {
    Who::recipient(s.scope.id(), None)
}

/// `GET /city/cases`.
pub async fn cases(
    State(c): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<CasesQuery>,
) -> Response {
    let s = match city_official(&c, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    match cases_page(&c, &s, q).await {
        Ok(r) => r,
        Err(e) => session::internal(&c, &e),
    }
}

async fn cases_page(c: &Console, s: &Signed, q: CasesQuery) -> anyhow::Result<Response> {
    let (_, names) = c.open_alerts().await?;
    let unit = q.unit.filter(|u| names.contains_key(u));
    let show = match q.show.as_deref() {
        Some("overdue") => "overdue",
        Some("all") => "all",
        _ => "open",
    };
    let page = view::page_number(q.page.as_deref());
    let filter = ListFilter {
        unit: unit.clone(),
        open: show != "all",
        overdue: show == "overdue",
        page: Some(Pager::window(page)),
        ..ListFilter::default()
    };
    let now = c.ctx.clock.now();
    let listed = c.desk()?.page(&who(s), &filter, now).await?;
    let items = view::lines(c, s, &listed.cases, now.timestamp_millis()).await?;
    let unit_q = unit.clone().unwrap_or_default();
    let pager = Pager::new(page, listed.total, view::PER_PAGE, |n| {
        let n = n.to_string();
        let query = [
            ("unit", unit_q.as_str()),
            ("show", show),
            ("page", n.as_str()),
        ];
        format!(
            "/city/cases?{}",
            serde_urlencoded::to_string(query).unwrap_or_default()
        )
    });
    let units: Vec<(&String, &String)> = names.iter().collect();
    Ok(c.templates.page(
        StatusCode::OK,
        "cases.html",
        minijinja::context! {
            me => Me::of(s), csrf => s.csrf, items => items, total => listed.total, pager => pager,
            units => units, unit => unit, show => show,
        },
    ))
}

/// A case awaiting 销号 with its latest answer.
#[derive(Serialize)]
struct Request {
    case: view::CaseLine,
    cause: String,
    situation: String,
    measures: String,
    resume_month: String,
    coordination: String,
    answered: String,
}

/// `GET /city/requests`: 申请销号 awaiting the city, oldest due first.
pub async fn requests(
    State(c): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<CasesQuery>,
) -> Response {
    let s = match city_official(&c, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    match requests_page(&c, &s, view::page_number(q.page.as_deref())).await {
        Ok(r) => r,
        Err(e) => session::internal(&c, &e),
    }
}

async fn requests_page(c: &Console, s: &Signed, page: u64) -> anyhow::Result<Response> {
    let filter = ListFilter {
        state: Some(CaseState::CloseRequested),
        page: Some(Pager::window(page)),
        ..ListFilter::default()
    };
    let now = c.ctx.clock.now();
    let listed = c.desk()?.page(&who(s), &filter, now).await?;
    let lines = view::lines(c, s, &listed.cases, now.timestamp_millis()).await?;
    let store = c
        .ctx
        .reads()
        .ok_or_else(|| anyhow::anyhow!("数据库未连接 (no database)"))?;
    let mut items = Vec::with_capacity(lines.len());
    for line in lines {
        let answers = store.case_answers(line.id).await?;
        let last = answers.last();
        let text = |f: fn(&crate::cases::Answer) -> String| last.map(f).unwrap_or_default();
        items.push(Request {
            cause: text(|a| a.cause.clone()),
            situation: text(|a| a.situation.clone()),
            measures: text(|a| a.measures.clone()),
            resume_month: text(|a| a.resume_month.clone().unwrap_or_default()),
            coordination: text(|a| a.coordination.clone()),
            answered: text(|a| when(a.answered_at)),
            case: line,
        });
    }
    let pager = Pager::new(page, listed.total, view::PER_PAGE, |n| {
        format!("/city/requests?page={n}")
    });
    Ok(c.templates.page(
        StatusCode::OK,
        "requests.html",
        minijinja::context! {
            me => Me::of(s), csrf => s.csrf, items => items, total => listed.total, pager => pager,
        },
    ))
}

/// One line of the audit page.
#[derive(Serialize)]
struct AuditLine {
    at: String,
    actor: String,
    action_zh: String,
    case_id: Option<i64>,
    client: String,
    detail: String,
}

fn action_zh(action: &str) -> String {
    match action {
        "sign_in" => "登录",
        "sign_out" => "退出",
        "answered" => "反馈",
        "close_requested" => "申请销号",
        "closed" => "销号",
        "returned" => "退回",
        "workbook_upload" => "上传反馈表",
        other => return other.to_string(),
    }
    .to_string()
}

/// `GET /audit?page=`: the audit log, newest first, one page read (city officials; the desk
/// refuses others).
pub async fn audit(
    State(c): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<CasesQuery>,
) -> Response {
    let s = match city_official(&c, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let page = view::page_number(q.page.as_deref());
    let window = (
        page.saturating_sub(1).saturating_mul(AUDIT_PER_PAGE),
        AUDIT_PER_PAGE,
    );
    let log = match c.desk() {
        Ok(desk) => desk.audit_page(&who(&s), window).await,
        Err(e) => return session::internal(&c, &e),
    };
    let log = match log {
        Ok(log) => log,
        Err(CaseError::Forbidden) => return not_found_page(&c),
        Err(e) => return session::internal(&c, &e.into()),
    };
    let lines: Vec<AuditLine> = log.entries.iter().map(|e| audit_line(&c, e)).collect();
    let pager = Pager::new(page, log.total, AUDIT_PER_PAGE, |n| {
        format!("/audit?page={n}")
    });
    c.templates.page(
        StatusCode::OK,
        "audit.html",
        minijinja::context! { me => Me::of(&s), csrf => s.csrf, lines => lines, pager => pager },
    )
}

fn audit_line(c: &Console, e: &AuditEntry) -> AuditLine {
    AuditLine {
        at: when(e.at),
        actor: view::person(c, &e.actor),
        action_zh: action_zh(&e.action),
        case_id: e.case_id,
        client: e.client_addr.clone().unwrap_or_default(),
        detail: e.detail.clone(),
    }
}

/// The open cases of every unit counted at `now` (for `/city`) by one grouped query, the units
/// with overdue cases first, with their names.
pub async fn counts(c: &Console, s: &Signed) -> anyhow::Result<Vec<(String, UnitCounts)>> {
    let now = c.ctx.clock.now();
    let counted = c.desk()?.unit_counts(&who(s), true, now).await?;
    let (_, names) = c.open_alerts().await?;
    let mut counted: Vec<(String, UnitCounts)> = counted
        .into_iter()
        .map(|u| (name(&names, &u.unit), u))
        .collect();
    counted.sort_by_key(|(_, u)| std::cmp::Reverse((u.overdue, u.escalated, u.open)));
    Ok(counted)
}

fn name(names: &BTreeMap<String, String>, code: &str) -> String {
    names.get(code).cloned().unwrap_or_else(|| code.to_string())
}
