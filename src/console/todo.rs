//! 我的待办: the open cases the signed-in official sees ([`crate::cases::Desk::page`], the
//! scope decided there), overdue first, then by due time; the ones they owe an answer marked.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::pages::Me;
use super::session;
use super::view::{self, Pager};
use super::{Console, Shared};
use crate::cases::{ListFilter, Who};

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
    let filter = ListFilter {
        open: true,
        page: Some(Pager::window(page)),
        ..ListFilter::default()
    };
    let listed = desk.page(&who, &filter, now).await?;
    let overdue = ListFilter {
        open: true,
        overdue: true,
        page: Some((0, 0)),
        ..ListFilter::default()
    };
    let overdue = desk.page(&who, &overdue, now).await?.total;
    let items = view::lines(c, s, &listed.cases, now.timestamp_millis()).await?;
    let pager = Pager::new(page, listed.total, view::PER_PAGE, |n| {
        format!("/todo?page={n}")
    });
    Ok(c.templates.page(
        StatusCode::OK,
        "todo.html",
        minijinja::context! {
            me => Me::of(s), csrf => s.csrf, items => items, total => listed.total,
            overdue => overdue, pager => pager,
        },
    ))
}
