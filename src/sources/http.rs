//! HTTP sources: fetch pages (JSON with `next_cursor`/`has_more`, or one CSV/XLSX body),
//! ingest each in its own transaction together with the cursor that follows it, and stop at
//! the first page that cannot be fetched or is rejected, so that no page is skipped.
//!
//! Requests time out, and are retried with capped exponential backoff and jitter after a
//! timeout, a connection error or a 5xx answer, never after a 4xx. Bodies larger than
//! `max_body_mb` are refused while they stream in. TLS is verified (rustls, ring). Tokens and
//! passwords go only into `Authorization` headers marked sensitive; no error or log line
//! carries them, and addresses are shown without user information.

use std::time::Duration;

use anyhow::Context;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use super::{Ended, Tally};
use crate::config::SourceConfig;
use crate::ingest::{Format, ImportOptions, TextEncoding, import_bytes};
use crate::store::Store;

/// Pages one pull follows at most: a source whose `has_more` never ends is an error.
const MAX_PAGES: u64 = 10_000;
/// First retry delay; doubled per attempt up to [`BACKOFF_CAP`].
const BACKOFF_BASE: Duration = Duration::from_millis(500);
const BACKOFF_CAP: Duration = Duration::from_secs(30);
/// The query parameter carrying `next_cursor` when the source names none.
const DEFAULT_CURSOR_PARAM: &str = "cursor";

/// Credentials of a source. `Debug` shows which kind, never the secret.
enum Auth {
    None,
    Bearer(SecretString),
    Basic(String, SecretString),
}

/// A configured HTTP source, ready to send requests.
struct Client {
    http: reqwest::Client,
    url: Url,
    auth: Auth,
    retries: u32,
    timeout: Duration,
    max_body: u64,
}

/// A fetched page.
enum Fetched {
    NotModified,
    Body(Body),
}

struct Body {
    bytes: Vec<u8>,
    etag: Option<String>,
    last_modified: Option<String>,
    content_type: Option<String>,
}

/// Why a request failed, and whether trying again may help.
#[derive(Debug)]
struct FetchError {
    message: String,
    retryable: bool,
}

/// `next_cursor` and `has_more` of a JSON page.
#[derive(Debug, Default, serde::Deserialize)]
struct Paging {
    #[serde(default)]
    next_cursor: Option<serde_json::Value>,
    #[serde(default)]
    has_more: bool,
    /// Only counted: an empty page has nothing to ingest.
    #[serde(default)]
    submissions: Option<Vec<serde::de::IgnoredAny>>,
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

/// Pulls one HTTP source from its stored cursor to the last page.
pub(crate) async fn pull(
    store: &Store,
    src: &SourceConfig,
    base_opts: &ImportOptions,
    tally: &mut Tally,
) -> anyhow::Result<Ended> {
    let client = Client::new(src)?;
    let now_ms = base_opts.now.timestamp_millis();
    let state = store.source_state(&src.name).await?.unwrap_or_default();
    // Only an incremental source (one with `cursor_param`) keeps its cursor between pulls.
    let incremental = src.cursor_param.is_some();
    let param = src.cursor_param.as_deref().unwrap_or(DEFAULT_CURSOR_PARAM);
    let mut cursor = if incremental {
        state.cursor.clone()
    } else {
        None
    };
    let configured_format = src.format.as_deref().and_then(Format::from_name);
    let mut first_validators = None;
    loop {
        anyhow::ensure!(
            tally.pages < MAX_PAGES,
            "已拉取 {MAX_PAGES} 页仍有 has_more = true，疑似来源分页出错 (too many pages; has_more never ends)"
        );
        let mut url = client.url.clone();
        if let Some(c) = &cursor {
            url.query_pairs_mut().append_pair(param, c);
        }
        let shown = shown_url(&url);
        // Validators are sent only for the first request, and only to the address they came from.
        let conditional = (tally.pages == 0 && state.validators_url.as_deref() == Some(&shown))
            .then_some((state.etag.as_deref(), state.last_modified.as_deref()));
        let fetched = client
            .fetch(&url, conditional)
            .await
            .map_err(|e| anyhow::anyhow!("{shown}: {}", e.message))?;
        let body = match fetched {
            Fetched::NotModified => {
                tally
                    .notes
                    .push(format!("{shown}: 304 未修改 (not modified)"));
                return Ok(Ended::default());
            }
            Fetched::Body(b) => b,
        };
        tally.pages += 1;
        tally.bytes += body.bytes.len() as u64;
        if tally.pages == 1 {
            first_validators = Some((shown.clone(), body.etag.clone(), body.last_modified.clone()));
        }
        let format = configured_format
            .or_else(|| {
                body.content_type
                    .as_deref()
                    .and_then(format_of_content_type)
            })
            .unwrap_or_else(|| Format::sniff(&body.bytes));
        // A malformed page has no paging: the import below rejects it with the line and column.
        let paging: Option<Paging> = match format {
            Format::Json => serde_json::from_slice(&body.bytes).ok(),
            _ => None,
        };
        let next_cursor = paging
            .as_ref()
            .and_then(|p| p.next_cursor.as_ref())
            .and_then(cursor_text);
        let has_more = paging.as_ref().is_some_and(|p| p.has_more);
        let empty = paging
            .as_ref()
            .and_then(|p| p.submissions.as_ref())
            .is_some_and(Vec::is_empty);
        let sha = format!("{:x}", Sha256::digest(&body.bytes));
        if empty {
            tally
                .notes
                .push(format!("{shown}: 本页没有新数据 (empty page)"));
            if let (true, Some(c)) = (incremental, &next_cursor) {
                if cursor.as_ref() != Some(c) {
                    store.save_cursor(&src.name, c, now_ms).await?;
                }
            }
        } else if store.last_committed_sha(&src.name, &shown).await? == Some(sha) {
            tally.notes.push(format!(
                "{shown}: 内容与上次入库的完全相同，不再导入 (identical to the content last committed; not ingested again)"
            ));
            if let (true, Some(c)) = (incremental, &next_cursor) {
                store.save_cursor(&src.name, c, now_ms).await?;
            }
        } else {
            let mut opts = base_opts.clone();
            opts.commit_cursor = if incremental {
                next_cursor.clone()
            } else {
                None
            };
            if opts.encoding == TextEncoding::Auto {
                if let Some(e) = body.content_type.as_deref().and_then(charset_of) {
                    opts.encoding = e;
                }
            }
            let report = import_bytes(store, &shown, body.bytes, Some(format), &opts)
                .await
                .with_context(|| format!("导入 {shown} 失败 (import failed)"))?;
            tally.add(&report);
            let mut note = format!("{shown}: {}", crate::ingest::summary_line(&report));
            for r in report.rejects.iter().take(20) {
                note.push_str(&format!("\n    {r}"));
            }
            tally.notes.push(note);
            if !report.committed {
                return Ok(Ended {
                    blocked: Some(format!(
                        "来源“{}”的 {shown} 有 {} 行被拒收，本页未入库，游标停在此页，修正后下次拉取从此页继续 (page rejected: nothing of it committed; the cursor stays before it; see import run {})",
                        src.name, report.rejected, report.run_id
                    )),
                });
            }
        }
        if !has_more {
            break;
        }
        match next_cursor {
            Some(c) if Some(&c) != cursor.as_ref() => cursor = Some(c),
            _ => anyhow::bail!(
                "{shown}: has_more 为 true 但 next_cursor 缺失或未变 (has_more is true but next_cursor is missing or unchanged)"
            ),
        }
    }
    // Validators are kept only after a complete pull: a 304 must never hide unread pages.
    if let Some((url, etag, last_modified)) = first_validators {
        store
            .save_validators(
                &src.name,
                &url,
                etag.as_deref(),
                last_modified.as_deref(),
                now_ms,
            )
            .await?;
    }
    Ok(Ended::default())
}

fn cursor_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) if s.is_empty() => None,
        serde_json::Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

fn format_of_content_type(ct: &str) -> Option<Format> {
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if mime.ends_with("json") {
        Some(Format::Json)
    } else if mime == "text/csv" || mime == "text/plain" {
        Some(Format::Csv)
    } else if mime.contains("spreadsheetml") || mime.contains("ms-excel") {
        Some(Format::Xlsx)
    } else {
        None
    }
}

fn charset_of(ct: &str) -> Option<TextEncoding> {
    ct.split(';')
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("charset"))
        .and_then(|(_, v)| TextEncoding::parse(v.trim_matches('"')))
}

impl Client {
    fn new(src: &SourceConfig) -> anyhow::Result<Client> {
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
    async fn fetch(
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
        if let Some(len) = resp.content_length() {
            if len > self.max_body {
                return Err(self.too_large(Some(len)));
            }
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
        let snippet = match resp.bytes().await {
            Ok(b) => {
                let text = String::from_utf8_lossy(&b[..b.len().min(300)]).into_owned();
                self.scrub(text.trim())
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

    /// Removes the source's secrets from text that came from the server.
    fn scrub(&self, text: &str) -> String {
        match &self.auth {
            Auth::Bearer(s) | Auth::Basic(_, s) if !s.expose_secret().is_empty() => {
                text.replace(s.expose_secret(), "***")
            }
            _ => text.to_string(),
        }
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

    #[test]
    fn content_types_name_format_and_charset() {
        assert_eq!(
            format_of_content_type("application/json; charset=utf-8"),
            Some(Format::Json)
        );
        assert_eq!(charset_of("text/csv; charset=GBK"), Some(TextEncoding::Gbk));
        assert_eq!(charset_of("text/csv"), None);
    }
}
