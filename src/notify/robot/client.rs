//! Posting a notice to a robot's webhook and reading its answer. Both APIs answer HTTP 200 with
//! `{"errcode":…,"errmsg":…}`; the errcode decides (group_robots.md §1.5, §2.5): rate limits and
//! "system busy" are retried later, everything else is refused for good. A request that may
//! have reached the robot without an answer (timeout, connection lost) has an unknown fate and
//! is not sent again: a group sees a notice at most once.

use std::collections::HashMap;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use super::config::{RobotConfig, RobotKind, check_webhook};
use super::sign::signed_url;

/// How a send ended, when it did not succeed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Not delivered; worth another try after the usual backoff (connect error, 5xx, busy).
    Transient(String),
    /// The robot is throttling: no message to it for `hold_ms`.
    RateLimited { error: String, hold_ms: i64 },
    /// Refused for good (wrong key, signature, disabled robot, rejected content).
    Permanent(String),
    /// The request may have been delivered: not sent again.
    Unknown(String),
}

impl Failure {
    pub fn message(&self) -> &str {
        match self {
            Failure::Transient(e)
            | Failure::Permanent(e)
            | Failure::Unknown(e)
            | Failure::RateLimited { error: e, .. } => e,
        }
    }
}

/// 钉钉 blocks a robot 10 minutes after it exceeds its rate.
const DINGTALK_THROTTLE_MS: i64 = 10 * 60_000;
/// 企业微信 documents no throttle time: at least a minute.
const WECOM_THROTTLE_MS: i64 = 60_000;
/// 钉钉 90030: the organisation's monthly webhook quota is used up; do not retry soon.
const QUOTA_HOLD_MS: i64 = 6 * 3_600_000;

/// Decides what an answer means: the HTTP status first, then the errcode.
pub fn classify(kind: RobotKind, status: u16, body: &[u8]) -> Result<(), Failure> {
    if status == 429 {
        return Err(Failure::RateLimited {
            error: "HTTP 429".into(),
            hold_ms: WECOM_THROTTLE_MS,
        });
    }
    if status >= 500 {
        return Err(Failure::Transient(format!("HTTP {status}")));
    }
    if !(200..300).contains(&status) {
        return Err(Failure::Permanent(format!("HTTP {status}")));
    }
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Err(Failure::Unknown(format!(
            "HTTP {status}，答复不是 JSON (the reply is not JSON)"
        )));
    };
    let code = v.get("errcode").and_then(serde_json::Value::as_i64);
    let msg: String = v
        .get("errmsg")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("")
        .chars()
        .take(160)
        .collect();
    let error = |c: i64| format!("errcode {c}: {msg}");
    match (kind, code) {
        (_, Some(0)) => Ok(()),
        (_, None) => Err(Failure::Unknown(format!(
            "HTTP {status}，答复没有 errcode (no errcode in the reply)"
        ))),
        (_, Some(c @ -1)) => Err(Failure::Transient(error(c))),
        (RobotKind::Dingtalk, Some(c @ (410100 | 130101))) => Err(Failure::RateLimited {
            error: error(c),
            hold_ms: DINGTALK_THROTTLE_MS,
        }),
        (RobotKind::Dingtalk, Some(c @ 90030)) => Err(Failure::RateLimited {
            error: error(c),
            hold_ms: QUOTA_HOLD_MS,
        }),
        (RobotKind::Wecom, Some(c @ 45009)) => Err(Failure::RateLimited {
            error: error(c),
            hold_ms: WECOM_THROTTLE_MS,
        }),
        (_, Some(c)) => Err(Failure::Permanent(error(c))),
    }
}

/// A configured robot, ready to post. Its `Debug` names the robot, never the webhook.
pub struct Robot {
    pub id: String,
    pub name: String,
    pub kind: RobotKind,
    pub max_per_minute: u32,
    webhook: reqwest::Url,
    secret: Option<SecretString>,
    http: reqwest::Client,
}

impl std::fmt::Debug for Robot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Robot({} {:?})", self.id, self.kind)
    }
}

impl Robot {
    /// Reads the webhook and the secret now; errors name the key, never the value.
    pub fn from_config(r: &RobotConfig) -> anyhow::Result<Robot> {
        let key = |k: &str| format!("robots.{}.{k}", r.id);
        let url = r
            .webhook
            .resolve()
            .map_err(|e| anyhow::anyhow!("{}: {e}", key("webhook")))?;
        let webhook =
            check_webhook(r.kind, &url).map_err(|e| anyhow::anyhow!("{}: {e}", key("webhook")))?;
        let secret = match &r.secret {
            Some(s) => Some(
                s.resolve()
                    .map_err(|e| anyhow::anyhow!("{}: {e}", key("secret")))?,
            ),
            None => None,
        };
        crate::notify::transport::install_crypto_provider();
        let timeout = Duration::from_secs(r.timeout_secs.max(1));
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("indmon/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| anyhow::anyhow!("无法创建 HTTP 客户端 (cannot build HTTP client): {e}"))?;
        Ok(Robot {
            id: r.id.clone(),
            name: r.name.clone(),
            kind: r.kind,
            max_per_minute: r.max_per_minute,
            webhook,
            secret,
            http,
        })
    }

    /// The JSON body of a Markdown notice in this robot's API.
    pub fn payload(&self, title: &str, body: &str) -> serde_json::Value {
        match self.kind {
            RobotKind::Dingtalk => {
                json!({"msgtype": "markdown", "markdown": {"title": title, "text": body}})
            }
            RobotKind::Wecom => json!({"msgtype": "markdown", "markdown": {"content": body}}),
        }
    }

    /// Posts one notice, signed at `now_ms` for 钉钉.
    pub async fn send(&self, title: &str, body: &str, now_ms: i64) -> Result<(), Failure> {
        let url = match (self.kind, &self.secret) {
            (RobotKind::Dingtalk, Some(s)) => {
                signed_url(&self.webhook, now_ms, s).map_err(Failure::Permanent)?
            }
            _ => self.webhook.clone(),
        };
        let bytes = serde_json::to_vec(&self.payload(title, body))
            .map_err(|e| Failure::Permanent(e.to_string()))?;
        let sent = self
            .http
            .post(url)
            .header("content-type", "application/json; charset=utf-8")
            .body(bytes)
            .send()
            .await;
        let resp = match sent {
            Ok(r) => r,
            Err(e) => return Err(self.network(e)),
        };
        let status = resp.status().as_u16();
        match resp.bytes().await {
            Ok(b) => classify(self.kind, status, &b).map_err(|f| self.scrubbed(f)),
            Err(e) => Err(self.network(e)),
        }
    }

    /// A reqwest error without its URL: not sent (retry) when the connection was never made,
    /// else of unknown fate.
    fn network(&self, e: reqwest::Error) -> Failure {
        let connect = e.is_connect();
        let text = format!("{:#}", anyhow::Error::new(e.without_url()));
        let f = if connect {
            Failure::Transient(format!("无法连接机器人 (cannot connect): {text}"))
        } else {
            Failure::Unknown(format!(
                "请求已发出但未得到答复，不再重发 (no answer to a sent request; not resent): {text}"
            ))
        };
        self.scrubbed(f)
    }

    /// The failure with every credential of this robot replaced, in case a reply quotes one.
    fn scrubbed(&self, f: Failure) -> Failure {
        let mut secrets: Vec<String> = self
            .webhook
            .query_pairs()
            .map(|(_, v)| v.into_owned())
            .filter(|v| v.len() >= 6)
            .collect();
        secrets.extend(self.secret.as_ref().map(|s| s.expose_secret().to_string()));
        let clean = |t: &str| {
            secrets
                .iter()
                .fold(t.to_string(), |acc, s| acc.replace(s.as_str(), "***"))
        };
        match f {
            Failure::Transient(e) => Failure::Transient(clean(&e)),
            Failure::Permanent(e) => Failure::Permanent(clean(&e)),
            Failure::Unknown(e) => Failure::Unknown(clean(&e)),
            Failure::RateLimited { error, hold_ms } => Failure::RateLimited {
                error: clean(&error),
                hold_ms,
            },
        }
    }
}

/// The configured robots by id.
#[derive(Debug, Default)]
pub struct Robots(pub HashMap<String, Robot>);

impl Robots {
    pub fn from_config(robots: &[RobotConfig]) -> anyhow::Result<Robots> {
        let mut m = HashMap::new();
        for r in robots {
            m.insert(r.id.clone(), Robot::from_config(r)?);
        }
        Ok(Robots(m))
    }

    /// The robots in id order (a stable order for the sender's round).
    pub fn sorted(&self) -> Vec<&Robot> {
        let mut v: Vec<&Robot> = self.0.values().collect();
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errcodes_are_sorted_into_retry_and_refusal() {
        let d = RobotKind::Dingtalk;
        let w = RobotKind::Wecom;
        let r = |k, s, b: &str| classify(k, s, b.as_bytes());
        assert_eq!(r(d, 200, r#"{"errcode":0,"errmsg":"ok"}"#), Ok(()));
        assert!(matches!(
            r(
                d,
                200,
                r#"{"errcode":410100,"errmsg":"发送速度太快而限流"}"#
            ),
            Err(Failure::RateLimited {
                hold_ms: 600_000,
                ..
            })
        ));
        assert!(matches!(
            r(d, 200, r#"{"errcode":130101,"errmsg":"send too fast"}"#),
            Err(Failure::RateLimited { .. })
        ));
        assert!(matches!(
            r(
                w,
                200,
                r#"{"errcode":45009,"errmsg":"api freq out of limit"}"#
            ),
            Err(Failure::RateLimited {
                hold_ms: 60_000,
                ..
            })
        ));
        assert!(matches!(
            r(d, 200, r#"{"errcode":-1,"errmsg":"系统繁忙"}"#),
            Err(Failure::Transient(_))
        ));
        for refused in [310000, 400101, 400102, 430104] {
            let body = format!(r#"{{"errcode":{refused},"errmsg":"x"}}"#);
            assert!(
                matches!(r(d, 200, &body), Err(Failure::Permanent(_))),
                "{refused}"
            );
        }
        assert!(matches!(
            r(w, 200, r#"{"errcode":93000,"errmsg":"invalid webhook url"}"#),
            Err(Failure::Permanent(e)) if e.contains("93000")
        ));
        assert!(matches!(r(w, 502, ""), Err(Failure::Transient(_))));
        assert!(matches!(r(w, 429, ""), Err(Failure::RateLimited { .. })));
        assert!(matches!(r(w, 404, ""), Err(Failure::Permanent(_))));
        assert!(matches!(r(w, 200, "<html>"), Err(Failure::Unknown(_))));
    }
}
