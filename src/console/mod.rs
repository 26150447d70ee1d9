//! The officials' web console of `indmon serve`, on a listener of its own (`[console]`):
//! server-rendered pages (minijinja, autoescaped), readable on a phone, no JavaScript.
//!
//! Reading order: [`config`] (the keys), [`secret`] (tokens, hashes, CSRF), [`client`] (the
//! client address and the sign-in rate limits), [`session`] (cookies, the signed-in official,
//! the CSRF guard on every POST), [`scope`] (what an official may see), [`signin`] (the one-time
//! link), [`pages`] (我的待办, the alert page, the city overview), [`render`] (templates).
//!
//! Routes (stable; the cases work and the 反馈表 upload plug in beside them):
//! - `GET /signin`, `POST /signin` (email) — ask for a link; the same answer for any address
//! - `GET /signin/confirm?token=…` — the confirmation page; `POST /signin/confirm` signs in
//! - `POST /signout`
//! - `GET /` → `/todo`; `GET /todo` 我的待办; `GET /alerts/{id}`; `GET /city` (city officials)
//! - `GET /cases/workbook` the official's 反馈表; `GET`/`POST /cases/upload` a filled one
//!   ([`upload`])
//!
//! Every POST carries the CSRF token (form field `csrf`, or the query `?csrf=` for a multipart
//! upload, or the `X-CSRF-Token` header); [`session::csrf_guard`] refuses any other with 403
//! before a handler runs.

pub mod client;
pub mod config;
pub mod pages;
pub mod render;
pub mod scope;
pub mod secret;
pub mod session;
pub mod signin;
pub mod upload;

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

/// 我的待办 shows at most this many items (the worst first) and says how many there are.
pub const TODO_SHOWN: usize = 200;
/// How long the open alerts read for the pages are reused: they change only when an evaluation
/// runs, and reading a province's thousands of alerts on every page view would be the cost of
/// the page.
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
    /// The open alerts read last, and when (one reader refreshes; the others wait for it).
    open: tokio::sync::Mutex<Option<(std::time::Instant, OpenAlerts)>>,
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
            open: tokio::sync::Mutex::new(None),
        })
    }

    /// The open (firing or acknowledged) alerts and the unit names, read at most every
    /// [`OPEN_ALERTS_TTL`]; scope is applied by the caller.
    pub async fn open_alerts(&self) -> anyhow::Result<OpenAlerts> {
        let mut held = self.open.lock().await;
        if let Some((at, data)) = held.as_ref()
            && at.elapsed() < OPEN_ALERTS_TTL
        {
            return Ok(data.clone());
        }
        let store = self
            .ctx
            .store
            .get()
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
        let data = (Arc::new(alerts), Arc::new(units));
        *held = Some((std::time::Instant::now(), data.clone()));
        Ok(data)
    }
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
        .route("/todo", get(pages::todo))
        .route("/alerts/{id}", get(pages::alert))
        .route("/city", get(pages::city))
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
                    tracing::warn!(error = %format!("{e:#}"), "无法清理过期会话 (cannot purge expired sessions)")
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}
