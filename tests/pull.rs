//! Pulling sources end to end: a real HTTP server on loopback (axum, port 0) plays the
//! provincial platform, a temp folder plays a district's inbox; every storage assertion runs on
//! SQLite and, when configured, PostgreSQL.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::extract::Query;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use common::*;
use indmon::config::Config;
use indmon::sources::{self, PullReport, PullStatus};
use indmon::store::Store;

const NANHU: &str = "913307811860913921";

/// One request as the server saw it.
#[derive(Clone, Debug)]
struct Seen {
    query: HashMap<String, String>,
    headers: HeaderMap,
}

/// What the server answers: now, or after a delay (to make the client time out).
enum Reply {
    Now(Response),
    After(Duration, Response),
}

type Handler = Arc<dyn Fn(&Seen, usize) -> Reply + Send + Sync>;

/// A loopback HTTP server answering `GET /data` with `handler(request, index)`.
struct TestServer {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl TestServer {
    async fn spawn(handler: impl Fn(&Seen, usize) -> Reply + Send + Sync + 'static) -> TestServer {
        let handler: Handler = Arc::new(handler);
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let log = seen.clone();
        let app = axum::Router::new().route(
            "/data",
            axum::routing::get(
                move |Query(query): Query<HashMap<String, String>>, headers: HeaderMap| {
                    let handler = handler.clone();
                    let log = log.clone();
                    async move {
                        let req = Seen { query, headers };
                        let n = {
                            let mut l = log.lock().unwrap();
                            l.push(req.clone());
                            l.len() - 1
                        };
                        match handler(&req, n) {
                            Reply::Now(r) => r,
                            Reply::After(d, r) => {
                                tokio::time::sleep(d).await;
                                r
                            }
                        }
                    }
                },
            ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        TestServer {
            url: format!("http://{addr}/data"),
            seen,
        }
    }

    fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// The `cursor` parameter of every request so far ("-" for none).
    fn cursors(&self) -> Vec<String> {
        self.requests()
            .iter()
            .map(|r| r.query.get("cursor").cloned().unwrap_or_else(|| "-".into()))
            .collect()
    }
}

fn json(body: String) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// The credit codes of the twelve registered sample enterprises.
fn codes() -> Vec<String> {
    std::fs::read_to_string(fixture("enterprises.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().to_string())
        .collect()
}

/// A JSON page of October submissions for `codes`, as DESIGN.md's HTTP contract has it.
fn page(codes: &[String], output: u32, next: Option<&str>, has_more: bool) -> String {
    let rows: Vec<serde_json::Value> = codes
        .iter()
        .map(|c| {
            serde_json::json!({"credit_code": c, "period": "2026-10", "output": output, "output_ytd": output * 10})
        })
        .collect();
    serde_json::json!({"submissions": rows, "next_cursor": next, "has_more": has_more}).to_string()
}

/// A configuration with one source, written as an administrator would.
fn config(name: &str, kind: &str, location: &str, extra: &str) -> Config {
    let key = if kind == "http" { "url" } else { "path" };
    let text = format!(
        "[[sources]]\nname = \"{name}\"\nkind = \"{kind}\"\n{key} = '{location}'\n{extra}\n"
    );
    let c = Config::parse(&text).unwrap();
    let problems = c.validate();
    assert!(problems.is_empty(), "{problems:?}");
    c
}

async fn pull(store: &Store, config: &Config) -> PullReport {
    sources::pull(store, config, None, now())
        .await
        .unwrap()
        .remove(0)
}

async fn state(store: &Store, name: &str) -> indmon::sources::SourceState {
    store.source_state(name).await.unwrap().unwrap()
}

#[tokio::test]
async fn pages_are_followed_and_a_crashed_pull_resumes_at_its_cursor_without_repeating_or_skipping()
{
    for db in TestDb::all().await {
        let s = &db.store;
        registry(s).await;
        let codes = codes();
        let broken = Arc::new(AtomicBool::new(true));
        let b = broken.clone();
        let c = codes.clone();
        let server = TestServer::spawn(move |req, _| {
            let body = match req.query.get("cursor").map(String::as_str) {
                None => page(&c[0..4], 100, Some("c1"), true),
                Some("c1") => page(&c[4..8], 100, Some("c2"), true),
                Some("c2") if b.load(Ordering::SeqCst) => {
                    return Reply::Now(StatusCode::INTERNAL_SERVER_ERROR.into_response());
                }
                Some("c2") => page(&c[8..12], 100, Some("c3"), false),
                Some(_) => page(&[], 0, Some("c3"), false),
            };
            Reply::Now(json(body))
        })
        .await;
        let cfg = config(
            "平台",
            "http",
            &server.url,
            "format = \"json\"\ncursor_param = \"cursor\"\nretries = 0",
        );

        // Page 3 fails: pages 1 and 2 are committed with their cursor, nothing of page 3.
        let first = pull(s, &cfg).await;
        assert_eq!(first.status, PullStatus::Failed, "{first:?}");
        let err = first.error.clone().unwrap();
        assert!(err.contains("HTTP 500") && err.contains("平台"), "{err}");
        assert!(
            err.contains("cursor=c2"),
            "the failing address is named: {err}"
        );
        assert_eq!((first.pages, first.accepted), (2, 8), "{}", db.name);
        assert_eq!(s.count("submission").await.unwrap(), 8);
        assert_eq!(state(s, "平台").await.cursor.as_deref(), Some("c2"));
        assert_eq!(first.consecutive_failures, 1);

        // The next pull starts at page 3: pages 1–2 are not fetched again, page 3 is not skipped.
        broken.store(false, Ordering::SeqCst);
        let second = pull(s, &cfg).await;
        assert_eq!(second.status, PullStatus::Ok, "{second:?}");
        assert_eq!((second.pages, second.accepted, second.unchanged), (1, 4, 0));
        assert_eq!(server.cursors(), ["-", "c1", "c2", "c2"]);
        assert_eq!(s.count("submission").await.unwrap(), 12);
        let st = state(s, "平台").await;
        assert_eq!(
            (st.cursor.as_deref(), st.consecutive_failures),
            (Some("c3"), 0)
        );
        assert!(st.last_success_at.is_some());

        // Nothing new after the watermark: an empty page, nothing ingested.
        let third = pull(s, &cfg).await;
        assert_eq!(third.status, PullStatus::Unchanged, "{third:?}");
        assert_eq!(server.cursors().last().map(String::as_str), Some("c3"));
        let runs = s.pull_runs(Some("平台"), 10).await.unwrap();
        let statuses: Vec<&str> = runs.iter().map(|r| r.status.as_str()).collect();
        assert_eq!(statuses, ["unchanged", "ok", "failed"]);
        assert_eq!((runs[1].pages, runs[1].accepted), (1, 4));
        assert!(runs[1].bytes > 0 && runs[2].error.is_some());
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_500_is_retried_and_the_next_answer_is_ingested() {
    for db in TestDb::all().await {
        let s = &db.store;
        registry(s).await;
        let c = codes();
        let server = TestServer::spawn(move |_, n| {
            if n == 0 {
                Reply::Now((StatusCode::SERVICE_UNAVAILABLE, "维护中").into_response())
            } else {
                Reply::Now(json(page(&c[0..6], 200, None, false)))
            }
        })
        .await;
        let cfg = config("平台", "http", &server.url, "retries = 2");
        let r = pull(s, &cfg).await;
        assert_eq!(r.status, PullStatus::Ok, "{r:?}");
        assert_eq!((r.pages, r.accepted), (1, 6));
        assert_eq!(server.requests().len(), 2);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_timeout_is_retried_then_fails_the_pull_and_commits_nothing() {
    for db in TestDb::all().await {
        let s = &db.store;
        registry(s).await;
        let c = codes();
        let server = TestServer::spawn(move |_, _| {
            Reply::After(
                Duration::from_secs(3),
                json(page(&c[0..6], 200, None, false)),
            )
        })
        .await;
        let cfg = config("平台", "http", &server.url, "timeout_secs = 1\nretries = 1");
        let r = pull(s, &cfg).await;
        assert_eq!(r.status, PullStatus::Failed, "{r:?}");
        let err = r.error.unwrap();
        assert!(err.contains("超时") && err.contains("timed out"), "{err}");
        assert!(err.contains("2 attempts"), "{err}");
        assert_eq!(server.requests().len(), 2, "a timeout is retried");
        assert_eq!(s.count("submission").await.unwrap(), 0);
        assert_eq!(state(s, "平台").await.consecutive_failures, 1);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_401_is_not_retried_and_its_error_never_contains_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let token = "tok-3f9a-very-secret";
    let token_file = write(&dir, "token", format!("{token}\n"));
    for db in TestDb::all().await {
        let s = &db.store;
        let server = TestServer::spawn(move |req, _| {
            // A careless server that echoes what it was sent.
            let sent = req
                .headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            Reply::Now(
                (StatusCode::UNAUTHORIZED, format!("bad credentials: {sent}")).into_response(),
            )
        })
        .await;
        let cfg = config(
            "平台",
            "http",
            &server.url,
            &format!("token = {{ file = '{}' }}", token_file.display()),
        );
        let r = pull(s, &cfg).await;
        assert_eq!(r.status, PullStatus::Failed);
        let seen = server.requests();
        assert_eq!(seen.len(), 1, "a 4xx is not retried");
        assert_eq!(
            seen[0].headers.get(header::AUTHORIZATION).unwrap(),
            &format!("Bearer {token}")
        );
        let err = r.error.clone().unwrap();
        assert!(err.contains("HTTP 401") && err.contains("平台"), "{err}");
        assert!(err.contains(&server.url), "{err}");
        assert!(!err.contains(token), "{err}");
        assert!(!format!("{r:?}").contains(token));
        let st = state(s, "平台").await;
        assert!(!st.last_error.unwrap().contains(token));
        db.cleanup().await;
    }
}

#[tokio::test]
async fn basic_credentials_are_sent_and_5xx_bodies_are_scrubbed_of_them() {
    let dir = tempfile::tempdir().unwrap();
    let pw = write(&dir, "pw", "pa55-word-secret");
    let db = TestDb::sqlite().await;
    let server = TestServer::spawn(|req, _| {
        let sent = format!("{:?}", req.headers.get(header::AUTHORIZATION));
        Reply::Now(
            (
                StatusCode::BAD_GATEWAY,
                format!("upstream said pa55-word-secret {sent}"),
            )
                .into_response(),
        )
    })
    .await;
    let cfg = config(
        "平台",
        "http",
        &server.url,
        &format!(
            "retries = 0\nbasic = {{ user = \"indmon\", password = {{ file = '{}' }} }}\nheaders = {{ \"X-Org-Code\" = \"3307\" }}",
            pw.display()
        ),
    );
    let r = pull(&db.store, &cfg).await;
    let seen = server.requests();
    // "indmon:pa55-word-secret" in base64.
    assert_eq!(
        seen[0].headers.get(header::AUTHORIZATION).unwrap(),
        "Basic aW5kbW9uOnBhNTUtd29yZC1zZWNyZXQ="
    );
    assert_eq!(seen[0].headers.get("x-org-code").unwrap(), "3307");
    let err = r.error.unwrap();
    assert!(err.contains("HTTP 502"), "{err}");
    assert!(!err.contains("pa55-word-secret"), "{err}");
    db.cleanup().await;
}

#[tokio::test]
async fn an_oversized_body_is_refused_and_nothing_is_committed() {
    for db in TestDb::all().await {
        let s = &db.store;
        registry(s).await;
        let c = codes();
        let server = TestServer::spawn(move |_, _| {
            // A valid page padded past 1 MiB.
            let mut body = page(&c[0..6], 200, None, false);
            body.pop();
            body.push_str(&format!(",\"padding\":\"{}\"}}", "x".repeat(1_200_000)));
            Reply::Now(json(body))
        })
        .await;
        let cfg = config("平台", "http", &server.url, "max_body_mb = 1");
        let r = pull(s, &cfg).await;
        assert_eq!(r.status, PullStatus::Failed, "{r:?}");
        let err = r.error.unwrap();
        assert!(err.contains("max_body_mb"), "{err}");
        assert_eq!(server.requests().len(), 1, "not retried");
        assert_eq!(s.count("submission").await.unwrap(), 0);
        assert_eq!(
            s.count("import_run").await.unwrap(),
            2,
            "only the registry's"
        );
        db.cleanup().await;
    }
}

/// A server that streams an endless chunked body (no Content-Length), 64 KiB at a time.
async fn spawn_endless_chunked() -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
                if sock.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = format!("{:x}\r\n{}\r\n", 65536, " ".repeat(65536));
                while sock.write_all(chunk.as_bytes()).await.is_ok() {}
            });
        }
    });
    format!("http://{addr}/data")
}

#[tokio::test]
async fn a_streamed_body_is_cut_off_at_the_limit() {
    let db = TestDb::sqlite().await;
    let url = spawn_endless_chunked().await;
    let cfg = config("平台", "http", &url, "max_body_mb = 1\nretries = 0");
    let r = pull(&db.store, &cfg).await;
    assert_eq!(r.status, PullStatus::Failed, "{r:?}");
    assert!(r.error.as_deref().unwrap().contains("max_body_mb"), "{r:?}");
    assert_eq!(db.store.count("import_run").await.unwrap(), 0);
    db.cleanup().await;
}

/// An HTTPS server on loopback whose certificate no authority signed (a test-only key in fixtures).
async fn spawn_self_signed_tls() -> String {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cert = CertificateDer::from_pem_file(fixture("selfsigned_cert.pem")).unwrap();
    let key = PrivateKeyDer::from_pem_file(fixture("selfsigned_key.pem")).unwrap();
    let tls = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let _ = acceptor.accept(sock).await;
        }
    });
    format!("https://{addr}/data")
}

#[tokio::test]
async fn tls_certificates_are_verified() {
    let db = TestDb::sqlite().await;
    let url = spawn_self_signed_tls().await;
    let cfg = config("平台", "http", &url, "retries = 0");
    let r = pull(&db.store, &cfg).await;
    assert_eq!(r.status, PullStatus::Failed, "{r:?}");
    let err = r.error.unwrap();
    assert!(err.contains("certificate"), "{err}");
    db.cleanup().await;
}

#[tokio::test]
async fn malformed_json_is_rejected_with_its_position_commits_nothing_and_holds_the_cursor() {
    for db in TestDb::all().await {
        let s = &db.store;
        registry(s).await;
        let c = codes();
        let server = TestServer::spawn(move |req, _| {
            let body = match req.query.get("cursor") {
                None => page(&c[0..4], 100, Some("c1"), true),
                // Cut off mid-record.
                Some(_) => page(&c[4..8], 100, Some("c2"), true)[..120].to_string(),
            };
            Reply::Now(json(body))
        })
        .await;
        let cfg = config(
            "平台",
            "http",
            &server.url,
            "cursor_param = \"cursor\"\nretries = 0",
        );
        let r = pull(s, &cfg).await;
        assert_eq!(r.status, PullStatus::Rejected, "{r:?}");
        assert_eq!((r.accepted, r.rejected), (4, 1));
        assert!(r.error.as_deref().unwrap().contains("游标"), "{r:?}");
        let note = r.notes.last().unwrap();
        assert!(note.contains("JSON") && note.contains("第1行"), "{note}");
        assert_eq!(s.count("submission").await.unwrap(), 4, "page 1 only");
        let st = state(s, "平台").await;
        assert_eq!(st.cursor.as_deref(), Some("c1"), "held before the bad page");
        assert_eq!(st.consecutive_failures, 1, "a stuck source is failing");
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_gbk_csv_source_is_decoded_and_scaled() {
    let gbk = std::fs::read(fixture("submissions_gbk.csv")).unwrap();
    for db in TestDb::all().await {
        let s = &db.store;
        registry(s).await;
        let body = gbk.clone();
        let server = TestServer::spawn(move |_, _| {
            Reply::Now(([(header::CONTENT_TYPE, "text/csv")], body.clone()).into_response())
        })
        .await;
        let cfg = config("东岭区", "http", &server.url, "format = \"csv\"");
        let r = pull(s, &cfg).await;
        assert_eq!(r.status, PullStatus::Ok, "{r:?}");
        assert_eq!((r.accepted, r.rejected), (12, 0));
        assert_eq!(
            value(s, NANHU, "2026-10", "output_ytd").await.as_deref(),
            Some("77673.3")
        );
        db.cleanup().await;
    }
}

#[tokio::test]
async fn an_xlsx_body_is_read_from_memory_with_its_title_unit() {
    let xlsx = std::fs::read(fixture("district_export_2026-10.xlsx")).unwrap();
    for db in TestDb::all().await {
        let s = &db.store;
        registry(s).await;
        let body = xlsx.clone();
        // No format configured and a generic content type: the ZIP signature says XLSX.
        let server = TestServer::spawn(move |_, _| {
            Reply::Now(
                (
                    [(header::CONTENT_TYPE, "application/octet-stream")],
                    body.clone(),
                )
                    .into_response(),
            )
        })
        .await;
        let cfg = config("东岭区", "http", &server.url, "");
        let r = pull(s, &cfg).await;
        assert_eq!(r.status, PullStatus::Ok, "{r:?}");
        assert_eq!((r.accepted, r.rejected), (12, 0));
        // 千元 in the title: 895907 千元 → 89590.7 万元.
        assert_eq!(
            value(s, NANHU, "2026-10", "output_ytd_prev")
                .await
                .as_deref(),
            Some("89590.7")
        );
        db.cleanup().await;
    }
}

#[tokio::test]
async fn an_unchanged_source_answers_304_and_identical_content_is_not_ingested_twice() {
    for db in TestDb::all().await {
        let s = &db.store;
        registry(s).await;
        let c = codes();
        let body = page(&c[0..6], 300, None, false);
        let b = body.clone();
        let etag_server = TestServer::spawn(move |req, _| {
            if req
                .headers
                .get(header::IF_NONE_MATCH)
                .and_then(|v| v.to_str().ok())
                == Some("\"v1\"")
            {
                return Reply::Now(StatusCode::NOT_MODIFIED.into_response());
            }
            Reply::Now(
                (
                    [
                        (header::ETAG, "\"v1\""),
                        (header::CONTENT_TYPE, "application/json"),
                    ],
                    b.clone(),
                )
                    .into_response(),
            )
        })
        .await;
        let cfg = config("平台", "http", &etag_server.url, "");
        assert_eq!(pull(s, &cfg).await.accepted, 6);
        let runs = s.count("import_run").await.unwrap();
        let again = pull(s, &cfg).await;
        assert_eq!(again.status, PullStatus::Unchanged, "{again:?}");
        assert_eq!(again.pages, 0);
        assert_eq!(
            etag_server.requests()[1]
                .headers
                .get(header::IF_NONE_MATCH)
                .unwrap(),
            "\"v1\""
        );
        assert_eq!(s.count("import_run").await.unwrap(), runs);

        // A server without validators: the same bytes again are recognised by their sha256.
        let plain = TestServer::spawn(move |_, _| Reply::Now(json(body.clone()))).await;
        let cfg = config("省平台", "http", &plain.url, "");
        assert_eq!(pull(s, &cfg).await.unchanged, 6);
        let runs = s.count("import_run").await.unwrap();
        let again = pull(s, &cfg).await;
        assert_eq!(again.status, PullStatus::Unchanged, "{again:?}");
        assert_eq!((again.pages, again.unchanged), (1, 0));
        assert!(again.notes[0].contains("identical"), "{:?}", again.notes);
        assert_eq!(s.count("import_run").await.unwrap(), runs);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_source_that_keeps_failing_is_reported_after_n_failures() {
    // A port nobody listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    for db in TestDb::all().await {
        let s = &db.store;
        let cfg = config(
            "平台",
            "http",
            &format!("http://127.0.0.1:{port}/data"),
            "retries = 0\nfailure_alert_after = 2",
        );
        let first = pull(s, &cfg).await;
        assert!(
            !first.alert && first.error.as_deref().unwrap().contains("无法连接"),
            "{first:?}"
        );
        assert!(sources::failing_sources(s, 2).await.unwrap().is_empty());
        let second = pull(s, &cfg).await;
        assert!(second.alert, "{second:?}");
        let failing = sources::failing_sources(s, 2).await.unwrap();
        assert_eq!(failing.len(), 1);
        assert_eq!(
            (failing[0].source.as_str(), failing[0].consecutive_failures),
            ("平台", 2)
        );
        assert!(
            failing[0]
                .last_error
                .as_deref()
                .unwrap()
                .contains("connection failed")
        );
        assert_eq!(s.count("pull_run").await.unwrap(), 2);
        db.cleanup().await;
    }
}

/// Sets a file's modification time into the past, as if it had been dropped a while ago.
fn age(path: &std::path::Path) {
    let f = std::fs::File::options().write(true).open(path).unwrap();
    f.set_modified(SystemTime::now() - Duration::from_secs(120))
        .unwrap();
}

#[tokio::test]
async fn an_inbox_archives_good_files_rejects_bad_ones_and_leaves_unfinished_ones() {
    for db in TestDb::all().await {
        let s = &db.store;
        registry(s).await;
        let inbox = tempfile::tempdir().unwrap();
        let good = write(
            &inbox,
            "a_东岭区10月.csv",
            std::fs::read(fixture("submissions_gbk.csv")).unwrap(),
        );
        let bad = write(
            &inbox,
            "b_西湖县10月.csv",
            format!(
                "credit_code,period,output\n{NANHU},2026-10,8357.9\n91330781000000000X,2026-10,12\n{NANHU},2026-13,1\n"
            ),
        );
        let part = write(&inbox, "c_北港.csv.part", "credit_code,period,output\n");
        let fresh = write(
            &inbox,
            "d_刚放入.csv",
            format!("credit_code,period,output\n{NANHU},2026-09,1\n"),
        );
        for f in [&good, &bad, &part] {
            age(f);
        }
        let cfg = config(
            "东岭区收件箱",
            "dir",
            &inbox.path().display().to_string(),
            "settle_secs = 30",
        );
        let r = pull(s, &cfg).await;
        assert_eq!(r.status, PullStatus::Rejected, "{r:?}");
        assert_eq!((r.pages, r.accepted, r.rejected), (2, 12, 2), "{r:?}");
        assert_eq!(
            r.consecutive_failures, 0,
            "a rejected file is the district's to fix"
        );

        assert!(inbox.path().join("archive/a_东岭区10月.csv").exists());
        assert!(inbox.path().join("rejected/b_西湖县10月.csv").exists());
        let reason =
            std::fs::read_to_string(inbox.path().join("rejected/b_西湖县10月.csv.reason.txt"))
                .unwrap();
        assert!(
            reason.contains("第3行") && reason.contains("第4行"),
            "{reason}"
        );
        assert!(
            reason.contains("nothing of the file was committed"),
            "{reason}"
        );
        // Unfinished files stay where they are.
        assert!(part.exists() && fresh.exists() && !good.exists() && !bad.exists());
        // The bad file's good row was not committed: NANHU's October is the GBK file's.
        assert_eq!(
            value(s, NANHU, "2026-10", "output").await.as_deref(),
            Some("8357.9")
        );
        assert_eq!(value(s, NANHU, "2026-09", "output").await, None);
        assert_eq!(s.count("submission").await.unwrap(), 12);

        // The same file dropped again is archived beside the first, not ingested again.
        let again = write(
            &inbox,
            "a_东岭区10月.csv",
            std::fs::read(fixture("submissions_gbk.csv")).unwrap(),
        );
        age(&again);
        let runs = s.count("import_run").await.unwrap();
        let r = pull(s, &cfg).await;
        assert_eq!(r.status, PullStatus::Unchanged, "{r:?}");
        assert_eq!(s.count("import_run").await.unwrap(), runs);
        let archived = std::fs::read_dir(inbox.path().join("archive"))
            .unwrap()
            .count();
        assert_eq!(archived, 2);
        assert!(!again.exists());
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_missing_inbox_fails_loudly() {
    let db = TestDb::sqlite().await;
    let cfg = config("西湖县收件箱", "dir", "/nonexistent/indmon-inbox", "");
    let r = pull(&db.store, &cfg).await;
    assert_eq!(r.status, PullStatus::Failed);
    let err = r.error.unwrap();
    assert!(
        err.contains("/nonexistent/indmon-inbox") && err.contains("inbox"),
        "{err}"
    );
    assert_eq!(
        state(&db.store, "西湖县收件箱").await.consecutive_failures,
        1
    );
    db.cleanup().await;
}

#[tokio::test]
async fn failure_counts_are_kept_per_source() {
    let db = TestDb::sqlite().await;
    let counter = Arc::new(AtomicUsize::new(0));
    let c = counter.clone();
    let server = TestServer::spawn(move |_, _| {
        c.fetch_add(1, Ordering::SeqCst);
        Reply::Now(StatusCode::NOT_FOUND.into_response())
    })
    .await;
    let cfg = config("平台", "http", &server.url, "");
    let r = pull(&db.store, &cfg).await;
    assert!(r.error.as_deref().unwrap().contains("HTTP 404"));
    assert_eq!(counter.load(Ordering::SeqCst), 1, "a 404 is not retried");
    assert!(db.store.source_state("other").await.unwrap().is_none());
    db.cleanup().await;
}

fn indmon(dir: &std::path::Path, args: &[&str]) -> (i32, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_indmon"))
        .current_dir(dir)
        .env_remove("INDMON_DATABASE_URL")
        .args([
            "--config",
            "indmon.toml",
            "--database",
            "sqlite://scratch.db",
        ])
        .args(args)
        .output()
        .expect("run indmon");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn the_pull_and_sources_status_commands_report_and_exit_as_documented() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox");
    std::fs::create_dir(&inbox).unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    write(
        &dir,
        "indmon.toml",
        format!(
            "[[sources]]\nname = \"收件箱\"\nkind = \"dir\"\npath = '{}'\nsettle_secs = 0\n\n\
             [[sources]]\nname = \"平台\"\nkind = \"http\"\nurl = \"http://127.0.0.1:{port}/data\"\nretries = 0\n",
            inbox.display()
        ),
    );
    let (code, out) = indmon(
        dir.path(),
        &[
            "import",
            &fixture("units.csv").display().to_string(),
            &fixture("enterprises.csv").display().to_string(),
        ],
    );
    assert_eq!(code, 0, "{out}");
    std::fs::copy(fixture("submissions_gbk.csv"), inbox.join("a.csv")).unwrap();
    std::fs::write(
        inbox.join("b.csv"),
        "credit_code,period,output\n913307811860913921,2026-13,1\n",
    )
    .unwrap();

    let (code, out) = indmon(dir.path(), &["pull", "--source", "收件箱"]);
    assert_eq!(code, 3, "rows rejected: {out}");
    assert!(out.contains("新增 12") && out.contains("拒收 1"), "{out}");

    let (code, out) = indmon(dir.path(), &["pull", "--source", "没有这个"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("no such source"), "{out}");

    let (code, out) = indmon(dir.path(), &["pull"]);
    assert_eq!(code, 1, "the http source is down: {out}");
    assert!(
        out.contains("平台") && out.contains("connection failed"),
        "{out}"
    );

    let (code, out) = indmon(dir.path(), &["sources", "status"]);
    assert_eq!(code, 1, "a failing source makes status exit 1: {out}");
    let line = out
        .lines()
        .find(|l| l.starts_with("平台\t"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(line.contains("\thttp\t—\t1\t"), "{line}");
    let line = out
        .lines()
        .find(|l| l.starts_with("收件箱\t"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        line.contains("\tdir\t2026-") && line.contains("\t0\t"),
        "{line}"
    );
}
