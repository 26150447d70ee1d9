//! A 钉钉 and 企业微信 group-robot server on loopback (axum), for the robot tests. The 钉钉
//! route checks the access_token, the timestamp (within an hour of the server's clock) and the
//! signature, which it computes itself with an HMAC written here from RFC 2104 over SHA-256
//! (not the crate indmon signs with); the 企业微信 route checks the key and the 4096-byte limit.
//! Both answer like the real services (HTTP 200, errcode), and can be scripted to fail.

#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use sha2::{Digest, Sha256};

/// What the server answers to the next accepted request.
#[derive(Clone, Debug)]
pub enum Reply {
    Status(u16),
    Errcode(i64, &'static str),
    /// Keep the request and never answer.
    Hang,
}

/// One request as received.
#[derive(Clone, Debug)]
pub struct Got {
    /// `dingtalk` or `wecom`.
    pub kind: &'static str,
    pub query: HashMap<String, String>,
    pub body: String,
    /// The errcode answered (0: delivered to the group); `None` when it hung or failed HTTP.
    pub errcode: Option<i64>,
}

#[derive(Default)]
pub struct Inner {
    pub token: String,
    pub secret: String,
    pub key: String,
    /// The server's clock (ms) for the 1-hour timestamp check.
    pub clock_ms: i64,
    pub script: VecDeque<Reply>,
    pub got: Vec<Got>,
}

/// A running robot server.
#[derive(Clone)]
pub struct RobotServer {
    pub port: u16,
    pub inner: Arc<Mutex<Inner>>,
}

/// HMAC-SHA256 (RFC 2104), written out so the check does not share indmon's code.
pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut k = if key.len() > 64 {
        Sha256::digest(key).to_vec()
    } else {
        key.to_vec()
    };
    k.resize(64, 0);
    let pad = |b: u8| k.iter().map(|x| x ^ b).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(msg)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .to_vec()
}

/// The base64 signature 钉钉 expects for this timestamp and secret.
pub fn expected_sign(timestamp: &str, secret: &str) -> String {
    let mac = hmac_sha256(
        secret.as_bytes(),
        format!("{timestamp}\n{secret}").as_bytes(),
    );
    base64::engine::general_purpose::STANDARD.encode(mac)
}

fn errcode(code: i64, msg: &str) -> Response {
    axum::Json(serde_json::json!({"errcode": code, "errmsg": msg})).into_response()
}

impl RobotServer {
    pub async fn start(token: &str, secret: &str, key: &str, clock_ms: i64) -> RobotServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind robot server");
        let port = listener.local_addr().expect("addr").port();
        let inner = Arc::new(Mutex::new(Inner {
            token: token.into(),
            secret: secret.into(),
            key: key.into(),
            clock_ms,
            ..Inner::default()
        }));
        let app = Router::new()
            .route("/robot/send", post(dingtalk))
            .route("/cgi-bin/webhook/send", post(wecom))
            .with_state(inner.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        RobotServer { port, inner }
    }

    pub fn dingtalk_url(&self, token: &str) -> String {
        format!(
            "http://127.0.0.1:{}/robot/send?access_token={token}",
            self.port
        )
    }

    pub fn wecom_url(&self, key: &str) -> String {
        format!(
            "http://127.0.0.1:{}/cgi-bin/webhook/send?key={key}",
            self.port
        )
    }

    pub fn script(&self, replies: &[Reply]) {
        self.inner
            .lock()
            .expect("lock")
            .script
            .extend(replies.iter().cloned());
    }

    pub fn set_clock(&self, ms: i64) {
        self.inner.lock().expect("lock").clock_ms = ms;
    }

    pub fn got(&self) -> Vec<Got> {
        self.inner.lock().expect("lock").got.clone()
    }

    /// The requests that were delivered to the group (errcode 0).
    pub fn delivered(&self) -> Vec<Got> {
        self.got()
            .into_iter()
            .filter(|g| g.errcode == Some(0))
            .collect()
    }
}

type Shared = Arc<Mutex<Inner>>;

/// Records the request, then answers by the script or `check`'s verdict.
async fn answer(
    state: &Shared,
    kind: &'static str,
    query: HashMap<String, String>,
    body: String,
    check: impl FnOnce(&Inner, &HashMap<String, String>, &str) -> Option<(i64, &'static str)>,
) -> Response {
    let reply = {
        let mut s = state.lock().expect("lock");
        let verdict = check(&s, &query, &body);
        let reply = match verdict {
            Some((c, m)) => Reply::Errcode(c, m),
            None => s.script.pop_front().unwrap_or(Reply::Errcode(0, "ok")),
        };
        let errcode = match &reply {
            Reply::Errcode(c, _) => Some(*c),
            _ => None,
        };
        s.got.push(Got {
            kind,
            query,
            body,
            errcode,
        });
        reply
    };
    match reply {
        Reply::Errcode(c, m) => errcode(c, m),
        Reply::Status(code) => StatusCode::from_u16(code)
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            .into_response(),
        Reply::Hang => {
            std::future::pending::<()>().await;
            StatusCode::OK.into_response()
        }
    }
}

async fn dingtalk(
    State(state): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
    body: String,
) -> Response {
    answer(&state, "dingtalk", query, body, |s, q, body| {
        if q.get("access_token") != Some(&s.token) {
            return Some((400101, "access_token不存在"));
        }
        let ts = q.get("timestamp").cloned().unwrap_or_default();
        match ts.parse::<i64>() {
            Ok(t) if (t - s.clock_ms).abs() <= 3_600_000 => {}
            _ => return Some((310000, "invalid timestamp")),
        }
        if q.get("sign") != Some(&expected_sign(&ts, &s.secret)) {
            return Some((310000, "sign not match"));
        }
        match serde_json::from_str::<serde_json::Value>(body) {
            Ok(v) if v["msgtype"] == "markdown" && v["markdown"]["text"].is_string() => None,
            _ => Some((400105, "不支持的消息类型")),
        }
    })
    .await
}

async fn wecom(
    State(state): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
    body: String,
) -> Response {
    answer(&state, "wecom", query, body, |s, q, body| {
        if q.get("key") != Some(&s.key) {
            return Some((93000, "invalid webhook url"));
        }
        match serde_json::from_str::<serde_json::Value>(body) {
            Ok(v) => match v["markdown"]["content"].as_str() {
                Some(c) if c.len() <= 4096 => None,
                Some(_) => Some((40058, "markdown.content exceed max length 4096")),
                None => Some((40008, "invalid message type")),
            },
            Err(_) => Some((40058, "invalid Request Parameter")),
        }
    })
    .await
}
