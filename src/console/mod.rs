//! The officials' web console of `indmon serve`, on a listener of its own (`[console]`):
//! server-rendered pages (minijinja, autoescaped), readable on a phone, no JavaScript.
//!
//! Reading order: [`config`] (the keys), [`secret`] (tokens, hashes, CSRF), [`client`] (the
//! client address and the sign-in rate limits), [`session`] (cookies, the signed-in official,
//! the CSRF guard on every POST), [`scope`] (what an official may see), [`signin`] (the one-time
//! link), [`view`] (what the case pages share), [`todo`] (我的待办), [`case`] (a case's page),
//! [`actions`] (its POSTs), [`city`] (the city's case lists and the audit log), [`archive`]
//! (the snapshots kept in the database), [`pages`] (the alert page, the city overview),
//! [`shared_read`] (the open alerts every page reads, refreshed in the background),
//! [`render`] (templates).
//!
//! Routes (stable: digests link to `/cases/{id}`):
//! - `GET /signin`, `POST /signin` (email) — ask for a link; the same answer for any address
//! - `GET /signin/confirm?token=…` — the confirmation page; `POST /signin/confirm` signs in
//! - `POST /signout`
//! - `GET /` → `/todo`; `GET /todo?page=` 我的待办: the open cases the official sees (a city
//!   official's answers awaiting 销号 first), overdue first, then by due time
//! - `GET /cases/{id}`: the case, its warning, history and answers, and the forms its
//!   official may use; `POST /cases/{id}/answer` (反馈: cause, situation, measures,
//!   resume_month, coordination, version), `POST /cases/{id}/close-request` (申请销号: note,
//!   version) — the owner; `POST /cases/{id}/approve` (销号: note, version), `POST
//!   /cases/{id}/return` (退回: note, due `YYYY-MM-DD` or empty, version) — city officials.
//!   Outside the scope 404 (as an unknown id); seen but not theirs to do 403; an older version
//!   than the case's 409; a field refused 422; done: 303 to `/cases/{id}?done=…`
//! - `GET /alerts/{id}`
//! - city officials only (404 to others): `GET /city` (open and overdue cases by unit, open
//!   alerts by severity), `GET /city/cases?unit=&show=open|overdue|all&page=`, `GET
//!   /city/requests` (awaiting 销号), `GET /audit?page=` (the audit log, newest first),
//!   `GET /snapshots`, `GET /snapshots/{half}/{file}` (report.html, report.docx, report.xlsx,
//!   snapshot.json, manifest.json, from the database)
//! - `GET /cases/workbook` the official's 反馈表; `GET`/`POST /cases/upload` a filled one
//!   ([`upload`])
//!
//! Every POST carries the CSRF token (form field `csrf`, or the query `?csrf=` for a multipart
//! upload, or the `X-CSRF-Token` header); [`session::csrf_guard`] refuses any other with 403
//! before a handler runs.

pub mod actions;
pub mod archive;
pub mod case;
pub mod city;
pub mod client;
pub mod config;
pub mod pages;
pub mod render;
pub mod scope;
pub mod secret;
pub mod session;
pub mod shared_read;
pub mod signin;
pub mod todo;
pub mod upload;
pub mod view;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::routing::{get, post};

pub use config::ConsoleConfig;
pub use scope::Scope;
pub use session::Signed;

use crate::causes::Causes;
use crate::daemon::runner::Ctx;
use client::Limiter;

/// Sign-in links asked per client address in [`LIMIT_WINDOW`].
pub const LIMIT_PER_CLIENT: usize = 10;
/// Sign-in links asked per email address in [`LIMIT_WINDOW`].
pub const LIMIT_PER_ADDRESS: usize = 3;
/// The window of the sign-in rate limits.
pub const LIMIT_WINDOW: Duration = Duration::from_secs(15 * 60);
/// How long a sign-in link is valid.
pub const LINK_VALID_MS: i64 = 15 * 60_000;

/// How long the open alerts read for the pages are reused before a page starts a refresh in the
/// background ([`shared_read`]): they change only when an evaluation runs, and reading a
/// province's thousands of alerts on every page view would be the cost of the page.
pub const OPEN_ALERTS_TTL: Duration = Duration::from_secs(10);

/// The open alerts and the unit names, as read at one moment.
type OpenAlerts = (
    Arc<Vec<crate::alerts::Alert>>,
    Arc<BTreeMap<String, String>>,
);

/// What the console's handlers share.
pub struct Console {
    pub ctx: Arc<Ctx>,
    pub config: ConsoleConfig,
    pub templates: render::Templates,
    pub proxies: Vec<IpAddr>,
    pub per_client: Limiter,
    pub per_address: Limiter,
    /// The open alerts read last (refreshed in the background; no page waits for it).
    open: shared_read::SharedRead<OpenAlerts>,
    /// The cases desk, made once the database is reached.
    desk: std::sync::OnceLock<crate::cases::Desk>,
}

/// The handlers' state.
pub type Shared = Arc<Console>;

impl Console {
    /// The console of a daemon whose configuration has `[console]`.
    pub fn new(ctx: Arc<Ctx>) -> anyhow::Result<Console> {
        let config = ctx
            .config
            .console
            .clone()
            .ok_or_else(|| anyhow::anyhow!("没有 [console] 配置 (no [console] section)"))?;
        Ok(Console {
            proxies: config.proxies(),
            config,
            ctx,
            templates: render::Templates::new()?,
            per_client: Limiter::new(LIMIT_PER_CLIENT, LIMIT_WINDOW),
            per_address: Limiter::new(LIMIT_PER_ADDRESS, LIMIT_WINDOW),
            open: shared_read::SharedRead::new(OPEN_ALERTS_TTL),
            desk: std::sync::OnceLock::new(),
        })
    }

    /// The cases desk (every read and write of a case goes through it, with the official's
    /// scope checked there; its lists and pages read from the read pool, its actions write on
    /// the writer); an error while the database is not reached yet.
    pub fn desk(&self) -> anyhow::Result<&crate::cases::Desk> {
        if let Some(d) = self.desk.get() {
            return Ok(d);
        }
        let store = self
            .ctx
            .store
            .get()
            .ok_or_else(|| anyhow::anyhow!("数据库未连接 (no database)"))?;
        let reads = self.ctx.reads().unwrap_or(store).clone();
        let desk = crate::cases::Desk::new(store.clone(), &self.ctx.config)
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .reading_from(reads);
        Ok(self.desk.get_or_init(|| desk))
    }

    /// The open (firing or acknowledged) alerts and the unit names, read at most every
    /// [`OPEN_ALERTS_TTL`] and then refreshed in the background while pages are served the
    /// previous read ([`shared_read`]); scope is applied by the caller.
    pub async fn open_alerts(&self) -> anyhow::Result<OpenAlerts> {
        let ctx = self.ctx.clone();
        self.open.get(move || read_open_alerts(ctx)).await
    }
}

/// Reads the open alerts and the unit names from the read pool.
async fn read_open_alerts(ctx: Arc<Ctx>) -> anyhow::Result<OpenAlerts> {
    let store = ctx
        .reads()
        .ok_or_else(|| anyhow::anyhow!("数据库未连接 (no database)"))?;
    let filter = crate::alerts::AlertFilter {
        states: vec![
            crate::alerts::AlertState::Firing,
            crate::alerts::AlertState::Acknowledged,
        ],
        ..crate::alerts::AlertFilter::default()
    };
    let alerts = store.alerts(&filter).await?;
    let units = store
        .units()
        .await?
        .into_iter()
        .map(|u| (u.code, u.name))
        .collect();
    Ok((Arc::new(alerts), Arc::new(units)))
}

/// The console's router: its routes, the CSRF guard on every POST and the security headers on
/// every answer.
pub fn router(console: Shared) -> Router {
    Router::new()
        .route("/", get(pages::home))
        .route("/signin", get(signin::form).post(signin::request))
        .route(
            "/signin/confirm",
            get(signin::confirm_page).post(signin::confirm),
        )
        .route("/signout", post(signin::sign_out))
        .route("/todo", get(todo::todo))
        .route("/cases/{id}", get(case::page))
        .route("/cases/{id}/answer", post(actions::answer))
        .route("/cases/{id}/close-request", post(actions::request_close))
        .route("/cases/{id}/approve", post(actions::approve))
        .route("/cases/{id}/return", post(actions::return_case))
        .route("/alerts/{id}", get(pages::alert))
        .route("/city", get(pages::city))
        .route("/city/cases", get(city::cases))
        .route("/city/requests", get(city::requests))
        .route("/audit", get(city::audit))
        .route("/snapshots", get(archive::list))
        .route("/snapshots/{half}/{file}", get(archive::file))
        .route("/cases/upload", get(upload::form).post(upload::upload))
        .route("/cases/workbook", get(upload::workbook))
        .fallback(pages::not_found)
        .layer(axum::middleware::from_fn_with_state(
            console.clone(),
            session::csrf_guard,
        ))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(console)
}

/// No caching (pages are per official), no framing, no referrer (a confirmation URL carries
/// its token), and a policy that allows only the page's own inline style and forms to itself.
async fn security_headers(mut r: axum::response::Response) -> axum::response::Response {
    let h = r.headers_mut();
    for (name, value) in [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-store"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ] {
        h.insert(name, HeaderValue::from_static(value));
    }
    r
}

/// Deletes expired sign-in links and ended sessions every hour until shutdown (the checks on
/// each request do not depend on it; it only keeps the tables small).
pub async fn purge_loop(ctx: Arc<Ctx>) {
    let Some(cfg) = ctx.config.console.clone() else {
        return;
    };
    let mut stop = ctx.shutdown.subscribe();
    loop {
        if let Some(store) = ctx.store.get() {
            let now = ctx.clock.now().timestamp_millis();
            match store.purge_console(now, now - cfg.idle_ms()).await {
                Ok(n) if n > 0 => {
                    tracing::debug!(
                        rows = n,
                        "已清理过期的登录链接和会话 (expired links and sessions purged)"
                    )
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %Causes(&e), "无法清理过期会话 (cannot purge expired sessions)")
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}
