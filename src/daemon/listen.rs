//! Serving a router on a listener with limits, so that no client can starve the endpoints:
//! a connection must send its request header within `header_timeout` (also the time an idle
//! keep-alive connection is kept), a request must be answered within `request_timeout`, and at
//! most `max_connections` are open at once — beyond that, new connections wait in the kernel's
//! accept queue until one closes, rather than taking file descriptors the process needs. At
//! shutdown a silent or idle connection is closed at once, so it cannot hold SIGTERM up.
//!
//! axum's own `serve` sets no timeout and no limit; this is the one way indmon serves HTTP, so
//! every listener (the health endpoints and the officials' console) gets the same; handlers find
//! the TCP peer as `ConnectInfo<SocketAddr>` in the request's extensions.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper::service::Service as _;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tracing::{debug, warn};

/// File descriptors kept free for the database, log and data files when the process's limit
/// is lower than `max_connections`.
const FD_RESERVE: usize = 128;

/// At stop, how long a connection with no request in progress may take to finish writing.
const FLUSH_AT_STOP: Duration = Duration::from_millis(300);

/// The limits of one listener (`[daemon]` keys of the same names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub header_timeout: Duration,
    pub request_timeout: Duration,
    pub max_connections: usize,
}

/// Serves `router` on `listener` under `limits` until `stop` turns true; then stops accepting,
/// lets the requests in progress finish (each bounded by the request timeout) and returns.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) {
    let max = effective_max_connections(limits.max_connections, open_files_limit());
    let permits = Arc::new(Semaphore::new(max));
    let router = router.layer(axum::middleware::from_fn_with_state(
        limits.request_timeout,
        request_timeout,
    ));
    let mut conns = JoinSet::new();
    loop {
        // A permit first: past the limit, connections stay queued in the kernel.
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => p,
            _ = stopped(&mut stop) => break,
        };
        let Ok(permit) = permit else { break };
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stopped(&mut stop) => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file descriptors and the like: wait, do not spin.
                warn!(error = %e, "无法接受连接，稍后重试 (cannot accept a connection, retrying)");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let router = router.clone();
        let stop = stop.clone();
        conns.spawn(async move {
            connection(stream, router, limits, stop).await;
            drop(permit);
        });
        // Reap finished connections so the set does not grow.
        while conns.try_join_next().is_some() {}
    }
    while conns.join_next().await.is_some() {}
}

/// One connection: HTTP/1.1 with the header timeout. When `stop` turns true, a connection
/// with no request in progress (silent, still sending a header, or idle between requests) is
/// closed at once; one with a request lets it finish, within the request timeout.
async fn connection(
    stream: tokio::net::TcpStream,
    router: Router,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) {
    let in_progress = Arc::new(AtomicUsize::new(0));
    let peer = stream.peer_addr().ok();
    let service = {
        let inner = TowerToHyperService::new(router);
        let in_progress = in_progress.clone();
        hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
            // The TCP peer, for handlers that need the client address (the console's limits).
            if let Some(p) = peer {
                request
                    .extensions_mut()
                    .insert(axum::extract::ConnectInfo(p));
            }
            let counted = InProgress::enter(&in_progress);
            let response = inner.call(request);
            async move {
                let r = response.await;
                drop(counted);
                r
            }
        })
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let result = tokio::select! {
        r = conn.as_mut() => r,
        _ = stopped(&mut stop) => {
            conn.as_mut().graceful_shutdown();
            // With no request in progress, only a response still being written is waited for.
            let bound = if in_progress.load(Ordering::SeqCst) == 0 {
                FLUSH_AT_STOP
            } else {
                limits.request_timeout
            };
            match tokio::time::timeout(bound, conn.as_mut()).await {
                Ok(r) => r,
                Err(_) => return,
            }
        }
    };
    if let Err(e) = result {
        debug!(error = %e, "连接已关闭 (connection closed)");
    }
}

/// Counts a request in progress on a connection for as long as it lives.
struct InProgress(Arc<AtomicUsize>);

impl InProgress {
    fn enter(count: &Arc<AtomicUsize>) -> InProgress {
        count.fetch_add(1, Ordering::SeqCst);
        InProgress(count.clone())
    }
}

impl Drop for InProgress {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Resolves once `stop` is true (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// Answers 503 when a handler takes longer than the request timeout.
async fn request_timeout(
    axum::extract::State(limit): axum::extract::State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "请求处理超时 (request timed out)\n",
        )
            .into_response(),
    }
}

/// The connection limit the process can honour: the configured one, lowered (with a warning)
/// when the open-files limit would run out first.
pub fn effective_max_connections(configured: usize, open_files: Option<usize>) -> usize {
    match open_files {
        Some(n) if n.saturating_sub(FD_RESERVE) < configured => {
            let max = n.saturating_sub(FD_RESERVE).max(1);
            warn!(
                configured,
                open_files = n,
                effective = max,
                "打开文件数上限低于 daemon.max_connections，已按上限收紧；请提高 LimitNOFILE \
                 (open-files limit below daemon.max_connections; limit lowered, raise LimitNOFILE)"
            );
            max
        }
        _ => configured,
    }
}

/// The process's soft limit of open files (Linux), if it can be read.
fn open_files_limit() -> Option<usize> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    type Server = (
        std::net::SocketAddr,
        watch::Sender<bool>,
        tokio::task::JoinHandle<()>,
    );

    /// A server with a fast `/` and a `/slow` that takes 2 s, under `limits`.
    async fn server(limits: Limits) -> Server {
        let router = Router::new()
            .route("/", axum::routing::get(|| async { "ok" }))
            .route(
                "/slow",
                axum::routing::get(|| async {
                    tokio::time::sleep(Duration::from_secs(2)).await;
                    "late"
                }),
            );
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, rx) = watch::channel(false);
        let task = tokio::spawn(serve(listener, router, limits, rx));
        (addr, stop, task)
    }

    async fn status(addr: std::net::SocketAddr, path: &str) -> String {
        let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        s.write_all(req.as_bytes()).await.expect("write");
        let mut out = String::new();
        s.read_to_string(&mut out).await.expect("read");
        out.lines().next().unwrap_or_default().to_string()
    }

    #[tokio::test]
    async fn past_the_limit_a_client_waits_for_a_place_freed_by_the_header_timeout() {
        let limits = Limits {
            header_timeout: Duration::from_secs(1),
            request_timeout: Duration::from_secs(1),
            max_connections: 2,
        };
        let (addr, stop, _) = server(limits).await;
        // Two silent connections take both places.
        let _a = tokio::net::TcpStream::connect(addr).await.expect("a");
        let _b = tokio::net::TcpStream::connect(addr).await.expect("b");
        tokio::time::sleep(Duration::from_millis(100)).await;
        let started = Instant::now();
        assert_eq!(status(addr, "/").await, "HTTP/1.1 200 OK");
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(700) && waited < Duration::from_secs(3),
            "{waited:?}"
        );
        // A handler slower than the request timeout gets a 503 at the timeout.
        let started = Instant::now();
        assert_eq!(
            status(addr, "/slow").await,
            "HTTP/1.1 503 Service Unavailable"
        );
        assert!(started.elapsed() < Duration::from_secs(3));
        stop.send_replace(true);
    }

    #[test]
    fn the_connection_limit_leaves_file_descriptors_for_the_rest() {
        assert_eq!(effective_max_connections(1024, Some(65536)), 1024);
        assert_eq!(effective_max_connections(1024, None), 1024);
        // systemd's default soft limit: the connections must not take every descriptor.
        assert_eq!(
            effective_max_connections(1024, Some(1024)),
            1024 - FD_RESERVE
        );
        assert_eq!(effective_max_connections(1024, Some(10)), 1);
        assert!(open_files_limit().is_some_and(|n| n > 0));
    }

    #[tokio::test]
    async fn at_stop_idle_connections_close_at_once_and_a_request_in_progress_finishes() {
        let limits = Limits {
            header_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(10),
            max_connections: 16,
        };
        let (addr, stop, task) = server(limits).await;
        let mut silent = tokio::net::TcpStream::connect(addr).await.expect("silent");
        let mut half = tokio::net::TcpStream::connect(addr).await.expect("half");
        half.write_all(b"GET / HTTP/1.1\r\nHo")
            .await
            .expect("half a header");
        let slow = tokio::spawn(status(addr, "/slow"));
        tokio::time::sleep(Duration::from_millis(300)).await;
        let started = Instant::now();
        stop.send_replace(true);
        let mut buf = [0u8; 64];
        for s in [&mut silent, &mut half] {
            let n = tokio::time::timeout(Duration::from_secs(1), s.read(&mut buf)).await;
            assert!(matches!(n, Ok(Ok(0)) | Ok(Err(_))), "{n:?}");
        }
        assert!(started.elapsed() < Duration::from_secs(1));
        assert_eq!(slow.await.expect("slow"), "HTTP/1.1 200 OK");
        tokio::time::timeout(Duration::from_secs(2), task)
            .await
            .expect("serve returns once the request is answered")
            .expect("serve");
    }
}
