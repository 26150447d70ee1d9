//! Sessions and CSRF. The session id lives only in an HttpOnly, SameSite=Lax cookie (Secure
//! and `__Host-` prefixed behind TLS) and, hashed, in the database; a session ends after the
//! idle or the absolute lifetime, or at sign-out. Before sign-in an anonymous cookie plays the
//! same part for the sign-in forms, so every form has a token bound to its browser.
//!
//! [`csrf_guard`] checks every request that is not GET or HEAD before any handler sees it: the
//! token given (form field `csrf`, query `csrf` or header `X-CSRF-Token`) must equal the one
//! derived from the browser's cookie; otherwise 403.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{Scope, Shared, secret};
use crate::causes::Causes;
use crate::store::Store;

/// Largest urlencoded form the guard reads to find the token.
const FORM_LIMIT: usize = 1 << 20;
/// Activity is written back at most this often per session.
const TOUCH_EVERY_MS: i64 = 60_000;

/// The cookie names: `__Host-` when Secure, so no subdomain can set them.
pub fn cookie_names(secure: bool) -> (&'static str, &'static str) {
    if secure {
        ("__Host-indmon_session", "__Host-indmon_pre")
    } else {
        ("indmon_session", "indmon_pre")
    }
}

/// The value of cookie `name` in the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
        .filter(|v| secret::well_formed(v))
}

/// A `Set-Cookie` value; `max_age` none for a browser-session cookie, 0 to delete.
pub fn set_cookie(name: &str, value: &str, secure: bool, max_age: Option<i64>) -> HeaderValue {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if secure {
        c.push_str("; Secure");
    }
    if let Some(s) = max_age {
        c.push_str(&format!("; Max-Age={s}"));
    }
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The CSRF token the browser's forms must carry, and the anonymous cookie to set when the
/// browser has neither cookie yet.
pub fn form_token(c: &super::Console, headers: &HeaderMap) -> (String, Option<HeaderValue>) {
    let secure = c.config.secure();
    let (session, pre) = cookie_names(secure);
    if let Some(id) = cookie(headers, session).or_else(|| cookie(headers, pre)) {
        return (secret::csrf_for(id), None);
    }
    match secret::random() {
        Ok(id) => (
            secret::csrf_for(&id),
            Some(set_cookie(pre, &id, secure, None)),
        ),
        // No randomness: a form that cannot be submitted; the POST answers 403.
        Err(_) => (String::new(), None),
    }
}

/// The signed-in official of a request.
#[derive(Clone, Debug)]
pub struct Signed {
    pub scope: Scope,
    /// The CSRF token for this session's forms.
    pub csrf: String,
    /// The hash of the session id (to end the session).
    pub id_hash: String,
}

/// Why a request has no signed-in official.
pub enum NotSigned {
    /// No cookie, or a session that ended (expired, signed out, recipient removed).
    Anonymous {
        expired: bool,
    },
    /// The database is not reachable yet.
    Unavailable,
    Error(anyhow::Error),
}

/// The signed-in official of a request, checking the idle and absolute lifetimes.
pub async fn signed(c: &super::Console, headers: &HeaderMap) -> Result<Signed, NotSigned> {
    let (name, _) = cookie_names(c.config.secure());
    let Some(id) = cookie(headers, name) else {
        return Err(NotSigned::Anonymous { expired: false });
    };
    let store: &Store = c.ctx.store.get().ok_or(NotSigned::Unavailable)?;
    let reads = c.ctx.reads().unwrap_or(store);
    let id_hash = secret::hash(id);
    let row = reads.session(&id_hash).await.map_err(NotSigned::Error)?;
    let Some(row) = row else {
        return Err(NotSigned::Anonymous { expired: true });
    };
    let now = c.ctx.clock.now().timestamp_millis();
    let scope = Scope::of(&c.ctx.config.recipients, &row.recipient);
    let alive = now < row.expires_at && now - row.last_seen_at < c.config.idle_ms();
    let Some(scope) = scope.filter(|_| alive) else {
        store
            .delete_session(&id_hash)
            .await
            .map_err(NotSigned::Error)?;
        return Err(NotSigned::Anonymous { expired: true });
    };
    if now - row.last_seen_at >= TOUCH_EVERY_MS {
        touch_later(store.clone(), id_hash.clone(), now);
    }
    Ok(Signed {
        scope,
        csrf: secret::csrf_for(id),
        id_hash,
    })
}

/// Writes a session's activity without making its page wait: the single writer may be in a
/// long transaction (an import, an evaluation), and the idle deadline is hours away.
fn touch_later(store: Store, id_hash: String, now: i64) {
    tokio::spawn(async move {
        if let Err(e) = store.touch_session(&id_hash, now).await {
            tracing::warn!(error = %Causes(&e), "无法记录会话活动 (cannot record session activity)");
        }
    });
}

/// The answer to a request that needs a signed-in official and has none: 401 with the sign-in
/// form, 503 while the database is unreachable, 500 on an error.
pub fn refuse(c: &super::Console, headers: &HeaderMap, why: NotSigned) -> Response {
    match why {
        NotSigned::Anonymous { expired } => {
            let notice = expired.then_some("登录已过期，请重新登录。");
            super::signin::form_page(c, headers, StatusCode::UNAUTHORIZED, notice)
        }
        NotSigned::Unavailable => unavailable(c),
        NotSigned::Error(e) => internal(c, &e),
    }
}

/// 503 while the database is not reachable.
pub fn unavailable(c: &super::Console) -> Response {
    c.templates.message(
        StatusCode::SERVICE_UNAVAILABLE,
        "暂时无法访问",
        "数据库暂不可用，请稍后再试。",
    )
}

/// 500, the cause logged for the operator and not shown.
pub fn internal(c: &super::Console, e: &anyhow::Error) -> Response {
    tracing::error!(error = %Causes(e), "控制台请求失败 (console request failed)");
    c.templates.message(
        StatusCode::INTERNAL_SERVER_ERROR,
        "页面出错",
        "处理请求时出错，请稍后再试；如持续出现请联系管理员。",
    )
}

/// Refuses with 403 every non-GET request whose CSRF token does not match its cookie.
pub async fn csrf_guard(State(c): State<Shared>, request: Request, next: Next) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD) {
        return next.run(request).await;
    }
    let (session, pre) = cookie_names(c.config.secure());
    let expected = cookie(request.headers(), session)
        .or_else(|| cookie(request.headers(), pre))
        .map(secret::csrf_for);
    let (request, given) = match token_given(request).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    match (expected, given) {
        (Some(e), Some(g)) if secret::same(&e, &g) => next.run(request).await,
        _ => c.templates.message(
            StatusCode::FORBIDDEN,
            "请求被拒绝",
            "表单已失效或来源不明（CSRF 校验失败）。请返回上一页刷新后重试。",
        ),
    }
}

/// The token a request carries, and the request rebuilt if its body had to be read.
async fn token_given(request: Request) -> Result<(Request, Option<String>), Response> {
    if let Some(t) = request
        .headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
    {
        let t = t.to_string();
        return Ok((request, Some(t)));
    }
    if let Some(t) = request
        .uri()
        .query()
        .and_then(|q| field(q.as_bytes(), "csrf"))
    {
        return Ok((request, Some(t)));
    }
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Ok((request, None));
    }
    let (parts, body) = request.into_parts();
    let bytes = to_bytes(body, FORM_LIMIT).await.map_err(|_| {
        (StatusCode::PAYLOAD_TOO_LARGE, "表单过大 (form too large)\n").into_response()
    })?;
    let given = field(&bytes, "csrf");
    Ok((Request::from_parts(parts, Body::from(bytes)), given))
}

/// The first value of `name` in an urlencoded string.
fn field(encoded: &[u8], name: &str) -> Option<String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(encoded)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}
