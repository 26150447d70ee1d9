//! Sign-in by a one-time link. The form asks for an email; if it belongs to a configured
//! recipient, a link with a fresh token goes out through the outbox (the token stored only as
//! its hash, valid 15 minutes). The answer is the same page whether the address is known or not,
//! and it is sent before the lookup and the mail are done, so its timing tells nothing either.
//! Opening the link only shows a confirmation page: mail gateways open links to scan them, and
//! only the page's POST uses the token and starts a session.

use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use serde::Deserialize;

use super::client::client_addr;
use super::session::{self, cookie_names, form_token, set_cookie};
use super::{Console, LINK_VALID_MS, Shared, secret};
use crate::causes::Causes;

/// The sign-in form, with `status` and an optional notice (401 when a page needed a session).
pub fn form_page(
    c: &Console,
    headers: &HeaderMap,
    status: StatusCode,
    notice: Option<&str>,
) -> Response {
    let (csrf, pre) = form_token(c, headers);
    let mut r = c.templates.page(
        status,
        "signin.html",
        minijinja::context! { csrf => csrf, notice => notice },
    );
    if let Some(v) = pre {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

/// `GET /signin`: the form, or 我的待办 for an official already signed in.
pub async fn form(State(c): State<Shared>, headers: HeaderMap) -> Response {
    match session::signed(&c, &headers).await {
        Ok(_) => Redirect::to("/todo").into_response(),
        Err(_) => form_page(&c, &headers, StatusCode::OK, None),
    }
}

#[derive(Deserialize)]
pub struct EmailForm {
    #[serde(default)]
    email: String,
}

/// The peer address put in the request by the listener.
type Peer = Option<Extension<ConnectInfo<SocketAddr>>>;

fn peer(p: Peer) -> Option<SocketAddr> {
    p.map(|Extension(ConnectInfo(a))| a)
}

/// `POST /signin`: rate limits, then the same answer for every address; the link is made and
/// queued in a task of its own.
pub async fn request(
    State(c): State<Shared>,
    p: Peer,
    headers: HeaderMap,
    Form(f): Form<EmailForm>,
) -> Response {
    if c.ctx.store.get().is_none() {
        return session::unavailable(&c);
    }
    let client = client_addr(peer(p), &headers, &c.proxies).to_string();
    let email = f.email.trim().to_lowercase();
    let now = Instant::now();
    if !c.per_client.allow(&client, now) || !c.per_address.allow(&email, now) {
        tracing::warn!(client = %client, "登录链接申请过于频繁，已拒绝 (sign-in requests over the rate limit)");
        return c.templates.message(
            StatusCode::TOO_MANY_REQUESTS,
            "请求过于频繁",
            "申请登录链接的次数过多，请15分钟后再试。",
        );
    }
    let task = c.clone();
    tokio::spawn(async move {
        if let Err(e) = send_link(&task, &email, &client).await {
            tracing::error!(error = %Causes(&e), "无法发送登录链接 (cannot queue a sign-in link)");
        }
    });
    c.templates
        .page(StatusCode::OK, "sent.html", minijinja::context! {})
}

/// Makes and queues a link for `email` if it is a configured recipient's address.
async fn send_link(c: &Console, email: &str, client: &str) -> anyhow::Result<()> {
    let Some(who) = c
        .ctx
        .config
        .recipients
        .iter()
        .find(|r| r.email.trim().to_lowercase() == email)
    else {
        tracing::info!(client = %client, "登录链接申请：邮箱未登记 (sign-in asked for an unknown address)");
        return Ok(());
    };
    let (Some(store), Some(mail)) = (c.ctx.store.get(), c.ctx.config.mail.as_ref()) else {
        anyhow::bail!("数据库或 [mail] 不可用 (database or [mail] unavailable)");
    };
    let now = c.ctx.clock.now();
    let expires = now + chrono::Duration::milliseconds(LINK_VALID_MS);
    let token = secret::random()?;
    let hash = secret::hash(&token);
    store
        .insert_signin(
            &hash,
            &who.id,
            client,
            now.timestamp_millis(),
            expires.timestamp_millis(),
        )
        .await?;
    let link = format!("{}/signin/confirm?token={token}", c.config.base_url());
    let id =
        crate::notify::signin::enqueue(store, &mail.from, who, &link, &hash, expires, now).await?;
    c.ctx.outbox_now.notify_one();
    tracing::info!(recipient = %who.id, client = %client, outbox = id, "登录链接已放入发件箱 (sign-in link queued)");
    Ok(())
}

#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    token: String,
}

fn link_invalid(c: &Console) -> Response {
    c.templates.message(
        StatusCode::GONE,
        "链接无效",
        "该登录链接已使用、已过期或不存在。请重新申请登录链接。",
    )
}

/// `GET /signin/confirm?token=…`: the confirmation page; uses nothing.
pub async fn confirm_page(
    State(c): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<TokenForm>,
) -> Response {
    let Some(store) = c.ctx.store.get() else {
        return session::unavailable(&c);
    };
    if !secret::well_formed(&q.token) {
        return link_invalid(&c);
    }
    let now = c.ctx.clock.now().timestamp_millis();
    let who = match store.signin_valid(&secret::hash(&q.token), now).await {
        Ok(Some(id)) => c.ctx.config.recipients.iter().find(|r| r.id == id),
        Ok(None) => None,
        Err(e) => return session::internal(&c, &e),
    };
    let Some(who) = who else {
        return link_invalid(&c);
    };
    let (csrf, pre) = form_token(&c, &headers);
    let mut r = c.templates.page(
        StatusCode::OK,
        "confirm.html",
        minijinja::context! { csrf => csrf, token => q.token, name => who.name },
    );
    if let Some(v) = pre {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

/// `POST /signin/confirm`: uses the link (once) and starts a session.
pub async fn confirm(
    State(c): State<Shared>,
    p: Peer,
    headers: HeaderMap,
    Form(f): Form<TokenForm>,
) -> Response {
    let Some(store) = c.ctx.store.get() else {
        return session::unavailable(&c);
    };
    if !secret::well_formed(&f.token) {
        return link_invalid(&c);
    }
    let client = client_addr(peer(p), &headers, &c.proxies).to_string();
    let now = c.ctx.clock.now().timestamp_millis();
    let started = async {
        let Some(id) = store.consume_signin(&secret::hash(&f.token), now).await? else {
            return Ok(None);
        };
        if !c.ctx.config.recipients.iter().any(|r| r.id == id) {
            return Ok(None);
        }
        let sid = secret::random()?;
        let expires = now + c.config.max_ms();
        store
            .insert_session(&secret::hash(&sid), &id, &client, now, expires)
            .await?;
        store
            .audit(&id, AUDIT_SIGN_IN, None, Some(&client), "", now)
            .await?;
        anyhow::Ok(Some((id, sid)))
    };
    match started.await {
        Ok(Some((id, sid))) => {
            tracing::info!(recipient = %id, client = %client, "官员已登录控制台 (official signed in)");
            let secure = c.config.secure();
            let (name, _) = cookie_names(secure);
            let cookie = set_cookie(name, &sid, secure, Some(c.config.max_ms() / 1000));
            let mut r = Redirect::to("/todo").into_response();
            r.headers_mut().append(header::SET_COOKIE, cookie);
            r
        }
        Ok(None) => link_invalid(&c),
        Err(e) => session::internal(&c, &e),
    }
}

/// The audit log's actions for a console sign-in and sign-out (`indmon audit`, 操作记录).
pub const AUDIT_SIGN_IN: &str = "sign_in";
pub const AUDIT_SIGN_OUT: &str = "sign_out";

/// `POST /signout`: ends the session and forgets the cookie.
pub async fn sign_out(State(c): State<Shared>, p: Peer, headers: HeaderMap) -> Response {
    if let Ok(s) = session::signed(&c, &headers).await
        && let Some(store) = c.ctx.store.get()
    {
        let client = client_addr(peer(p), &headers, &c.proxies).to_string();
        let now = c.ctx.clock.now().timestamp_millis();
        let ended = async {
            store.delete_session(&s.id_hash).await?;
            let id = s.scope.id();
            store
                .audit(id, AUDIT_SIGN_OUT, None, Some(&client), "", now)
                .await
        };
        if let Err(e) = ended.await {
            return session::internal(&c, &e);
        }
        tracing::info!(recipient = %s.scope.id(), "官员已退出控制台 (official signed out)");
    }
    let secure = c.config.secure();
    let (name, _) = cookie_names(secure);
    let mut r = Redirect::to("/signin").into_response();
    r.headers_mut()
        .append(header::SET_COOKIE, set_cookie(name, "", secure, Some(0)));
    r
}
