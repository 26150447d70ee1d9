//! 我的待办: the open cases the signed-in official sees ([`crate::cases::Desk::todo`], the
//! scope decided there) — a city official's answers awaiting 销号 first — overdue first, then
//! by due time; the ones they owe an answer, or a 销号, marked.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::pages::Me;
use super::session;
use super::view::{self, Pager};
use super::{Console, Shared};
use crate::cases::Who;

/// `?page=`.
#[derive(Deserialize)]
pub struct PageQuery {
    pub page: Option<String>,
}

/// `GET /todo`.
pub async fn todo(
    State(c): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Response {
    let s = match view::signed(&c, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let page = view::page_number(q.page.as_deref());
    match render(&c, &s, page).await {
        Ok(r) => r,
        Err(e) => session::internal(&c, &e),
    }
}

async fn render(c: &Console, s: &session::Signed, page: u64) -> anyhow::Result<Response> {
    let desk = c.desk()?;
    let who = Who::recipient(s.scope.id(), None);
    let now = c.ctx.clock.now();
    let todo = desk.todo(&who, Pager::window(page), now).await?;
    let listed = todo.page;
    let items = view::lines(c, s, &listed.cases, now.timestamp_millis()).await?;
    let pager = Pager::new(page, listed.total, view::PER_PAGE, |n| {
        format!("/todo?page={n}")
    });
    Ok(c.templates.page(
        StatusCode::OK,
        "todo.html",
        minijinja::context! {
            me => Me::of(s), csrf => s.csrf, items => items, total => listed.total,
            overdue => todo.overdue, requested => todo.close_requested, pager => pager,
        },
    ))
}
