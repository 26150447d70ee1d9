//! One HTTP request of a source, with its credentials, retries and body limit.
//!
//! Requests time out (`timeout_secs`, body included) and are retried with capped exponential
//! backoff and jitter after a timeout, a connection error or a 5xx answer, never after a 4xx.
//! Bodies larger than `max_body_mb` are refused while they stream in. TLS is verified (rustls
//! with ring). Tokens and passwords go only into `Authorization` headers that reqwest marks
//! sensitive; no error or log line carries them, and addresses are shown without user information.

use std::time::Duration;

use anyhow::Context;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};

use crate::config::SourceConfig;

/// First retry delay; doubled per attempt up to [`BACKOFF_CAP`].
const BACKOFF_BASE: Duration = Duration::from_millis(500);
const BACKOFF_CAP: Duration = Duration::from_secs(30);

/// Credentials of a source; deliberately without `Debug`.
enum Auth {
    None,
    Bearer(SecretString),
    Basic(String, SecretString),
}

/// A configured HTTP source, ready to send requests.
pub(super) struct Client {
    http: reqwest::Client,
    pub(super) url: Url,
    auth: Auth,
    retries: u32,
    timeout: Duration,
    max_body: u64,
}

/// A fetched page.
pub(super) enum Fetched {
    NotModified,
    Body(Body),
}

pub(super) struct Body {
    pub(super) bytes: Vec<u8>,
    pub(super) etag: Option<String>,
    pub(super) last_modified: Option<String>,
    pub(super) content_type: Option<String>,
}

/// Why a request failed, and whether trying again may help.
#[derive(Debug)]
pub(super) struct FetchError {
    pub(super) message: String,
    retryable: bool,
}

/// The delay before retry number `attempt` (0-based): `base · 2^attempt`, at most `cap`, of which
/// a random half is dropped (`jitter` in 0..1) so that many clients do not retry in step.
pub fn backoff(attempt: u32, base: Duration, cap: Duration, jitter: f64) -> Duration {
    let exp = base.saturating_mul(1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX));
    let capped = exp.min(cap);
    capped.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
}

/// An address as it may be shown: without user name or password.
pub fn shown_url(url: &Url) -> String {
    let mut u = url.clone();
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.to_string()
}

impl Client {
    pub(super) fn new(src: &SourceConfig) -> anyhow::Result<Client> {
        let name = &src.name;
        let raw = src
            .url
            .as_deref()
            .with_context(|| format!("来源“{name}”没有 url (http source without url)"))?;
        let url = Url::parse(raw)
            .map_err(|e| anyhow::anyhow!("来源“{name}”的 url 无效 (invalid url): {e}"))?;
        let auth = match (&src.token, &src.basic) {
            (Some(t), _) => Auth::Bearer(
                t.resolve()
                    .map_err(|e| anyhow::anyhow!("来源“{name}”的 token: {e}"))?,
            ),
            (None, Some(b)) => Auth::Basic(
                b.user.clone(),
                b.password
                    .resolve()
                    .map_err(|e| anyhow::anyhow!("来源“{name}”的 basic.password: {e}"))?,
            ),
            (None, None) => Auth::None,
        };
        let mut headers = HeaderMap::new();
        for (k, v) in &src.headers {
            let key = HeaderName::from_bytes(k.as_bytes()).map_err(|_| {
                anyhow::anyhow!("来源“{name}”的请求头“{k}”无效 (invalid header name)")
            })?;
            let value = HeaderValue::from_str(v).map_err(|_| {
                anyhow::anyhow!("来源“{name}”的请求头“{k}”的值无效 (invalid header value)")
            })?;
            headers.insert(key, value);
        }
        // Only ring is compiled in; install it as the process default (a no-op if done already).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let timeout = Duration::from_secs(src.timeout_secs.max(1));
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .default_headers(headers)
            .user_agent(concat!("indmon/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| anyhow::anyhow!("无法创建 HTTP 客户端 (cannot build HTTP client): {e}"))?;
        Ok(Client {
            http,
            url,
            auth,
            retries: src.retries,
            timeout,
            max_body: src.max_body_mb.saturating_mul(1 << 20),
        })
    }

    /// Fetches `url`, retrying what may succeed on a second try.
    pub(super) async fn fetch(
        &self,
        url: &Url,
        conditional: Option<(Option<&str>, Option<&str>)>,
    ) -> Result<Fetched, FetchError> {
        let mut attempt = 0;
        loop {
            match self.fetch_once(url, conditional).await {
                Ok(f) => return Ok(f),
                Err(e) if e.retryable && attempt < self.retries => {
                    let delay = backoff(attempt, BACKOFF_BASE, BACKOFF_CAP, fastrand::f64());
                    tracing::warn!(
                        url = %shown_url(url),
                        attempt = attempt + 1,
                        retry_in_ms = delay.as_millis() as u64,
                        error = %e.message,
                        "请求失败，稍后重试 (request failed; retrying)"
                    );
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                Err(mut e) => {
                    if attempt > 0 {
                        e.message.push_str(&format!(
                            "（共尝试 {} 次） (after {} attempts)",
                            attempt + 1,
                            attempt + 1
                        ));
                    }
                    return Err(e);
                }
            }
        }
    }

    async fn fetch_once(
        &self,
        url: &Url,
        conditional: Option<(Option<&str>, Option<&str>)>,
    ) -> Result<Fetched, FetchError> {
        let mut req = self.http.get(url.clone());
        req = match &self.auth {
            Auth::None => req,
            Auth::Bearer(t) => req.bearer_auth(t.expose_secret()),
            Auth::Basic(u, p) => req.basic_auth(u, Some(p.expose_secret())),
        };
        if let Some((etag, last_modified)) = conditional {
            if let Some(e) = etag {
                req = req.header(reqwest::header::IF_NONE_MATCH, e);
            }
            if let Some(m) = last_modified {
                req = req.header(reqwest::header::IF_MODIFIED_SINCE, m);
            }
        }
        let mut resp = req.send().await.map_err(|e| self.transport_error(e))?;
        let status = resp.status();
        if status == StatusCode::NOT_MODIFIED {
            return Ok(Fetched::NotModified);
        }
        if !status.is_success() {
            return Err(self.status_error(status, resp).await);
        }
        if let Some(len) = resp.content_length()
            && len > self.max_body
        {
            return Err(self.too_large(Some(len)));
        }
        let header = |name| {
            resp.headers()
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
                .map(str::to_string)
        };
        let etag = header(reqwest::header::ETAG);
        let last_modified = header(reqwest::header::LAST_MODIFIED);
        let content_type = header(reqwest::header::CONTENT_TYPE);
        let mut bytes = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.transport_error(e))? {
            if bytes.len() as u64 + chunk.len() as u64 > self.max_body {
                return Err(self.too_large(None));
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(Fetched::Body(Body {
            bytes,
            etag,
            last_modified,
            content_type,
        }))
    }

    fn transport_error(&self, e: reqwest::Error) -> FetchError {
        let e = e.without_url();
        if e.is_timeout() {
            FetchError {
                message: format!(
                    "请求超时（{}秒） (request timed out after {}s)",
                    self.timeout.as_secs(),
                    self.timeout.as_secs()
                ),
                retryable: true,
            }
        } else if e.is_connect() {
            FetchError {
                message: format!("无法连接 (connection failed): {}", error_chain(&e)),
                retryable: true,
            }
        } else {
            FetchError {
                message: format!("请求失败 (request failed): {}", error_chain(&e)),
                retryable: e.is_body() || e.is_request(),
            }
        }
    }

    async fn status_error(&self, status: StatusCode, resp: reqwest::Response) -> FetchError {
        let code = status.as_u16();
        let reason = status.canonical_reason().unwrap_or("");
        if code == 401 || code == 403 {
            // The body of an authentication failure is not shown: some servers echo credentials.
            return FetchError {
                message: format!(
                    "HTTP {code} {reason}：身份验证失败，请检查来源的 token 或 basic 配置 (authentication rejected; check the source's token or basic credentials)"
                ),
                retryable: false,
            };
        }
        // Scrubbed whole, then cut: a cut first could leave part of an encoded secret.
        let snippet = match resp.bytes().await {
            Ok(b) => {
                let text = String::from_utf8_lossy(&b[..b.len().min(64 * 1024)]).into_owned();
                self.scrub(text.trim()).chars().take(300).collect()
            }
            Err(_) => String::new(),
        };
        let server = status.is_server_error();
        FetchError {
            message: format!(
                "HTTP {code} {reason}{}{} ({})",
                if snippet.is_empty() { "" } else { "：" },
                snippet,
                if server {
                    "服务器错误 server error"
                } else {
                    "请求被拒绝，不重试 client error, not retried"
                }
            ),
            retryable: server,
        }
    }

    fn too_large(&self, len: Option<u64>) -> FetchError {
        FetchError {
            message: format!(
                "响应体{}超过上限 max_body_mb = {} MiB (body larger than max_body_mb)",
                len.map(|l| format!("（{l} 字节）")).unwrap_or_default(),
                self.max_body >> 20
            ),
            retryable: false,
        }
    }

    /// Removes the source's secrets from text that came from the server: as written, and in
    /// base64 (alone, and as `user:password`, the form an echoed basic header carries).
    fn scrub(&self, text: &str) -> String {
        use base64::Engine;
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let forms = match &self.auth {
            Auth::Bearer(s) if !s.expose_secret().is_empty() => {
                vec![b64(s.expose_secret()), s.expose_secret().to_string()]
            }
            Auth::Basic(u, s) if !s.expose_secret().is_empty() => vec![
                b64(&format!("{u}:{}", s.expose_secret())),
                b64(s.expose_secret()),
                s.expose_secret().to_string(),
            ],
            _ => return text.to_string(),
        };
        let mut out = text.to_string();
        for f in forms {
            out = out.replace(&f, "***");
            // Unpadded, as some servers echo it.
            let bare = f.trim_end_matches('=');
            if bare.len() != f.len() {
                out = out.replace(bare, "***");
            }
        }
        out
    }
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter_within_half() {
        let base = Duration::from_millis(500);
        let cap = Duration::from_secs(30);
        assert_eq!(backoff(0, base, cap, 1.0), Duration::from_millis(500));
        assert_eq!(backoff(3, base, cap, 1.0), Duration::from_secs(4));
        assert_eq!(backoff(3, base, cap, 0.0), Duration::from_secs(2));
        assert_eq!(backoff(20, base, cap, 1.0), cap);
        assert_eq!(backoff(u32::MAX, base, cap, 0.5), cap.mul_f64(0.75));
    }

    #[test]
    fn shown_addresses_carry_no_credentials() {
        let u = Url::parse("https://user:pa55@example.invalid/api?cursor=x").unwrap();
        assert_eq!(shown_url(&u), "https://example.invalid/api?cursor=x");
    }
}
