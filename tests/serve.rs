//! `indmon serve` as an operator runs it: real processes, a real port, SIGTERM and SIGKILL, and
//! the job ledger read back from the database.

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use common::{fixture, registry};
use indmon::store::Store;
use sqlx::Connection;

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// One `indmon serve` process with its port and log file.
struct Serve {
    child: Child,
    port: u16,
    log: std::path::PathBuf,
}

fn spawn(dir: &Path, tag: &str, db: &str, config: &str, now: Option<&str>) -> Serve {
    spawn_with(
        Command::new(env!("CARGO_BIN_EXE_indmon")),
        dir,
        tag,
        db,
        config,
        now,
    )
}

/// `indmon serve` with a soft limit of open files, as systemd gives a unit without
/// `LimitNOFILE` (1,024).
fn spawn_with_open_files(dir: &Path, tag: &str, db: &str, config: &str, limit: u32) -> Serve {
    let mut sh = Command::new("sh");
    sh.arg("-c")
        .arg(format!("ulimit -n {limit} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_indmon"));
    spawn_with(sh, dir, tag, db, config, None)
}

fn spawn_with(
    mut cmd: Command,
    dir: &Path,
    tag: &str,
    db: &str,
    config: &str,
    now: Option<&str>,
) -> Serve {
    let cfg = dir.join(format!("{tag}.toml"));
    std::fs::write(&cfg, config).expect("write config");
    let port = free_port();
    let log = dir.join(format!("{tag}.log"));
    cmd.arg("--config")
        .arg(&cfg)
        .arg("--database")
        .arg(db)
        .arg("serve")
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .env("INDMON_LOG", "info,sqlx=warn")
        .env_remove("INDMON_NOW")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log file"));
    if let Some(n) = now {
        cmd.env("INDMON_NOW", n);
    }
    let child = cmd.spawn().expect("spawn indmon serve");
    Serve { child, port, log }
}

impl Serve {
    fn pid(&self) -> i64 {
        i64::from(self.child.id())
    }

    fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends SIGTERM and returns the exit code.
    fn terminate(&mut self, within: Duration) -> i32 {
        let ok = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .expect("kill");
        assert!(ok.success());
        self.wait(within)
    }

    fn wait(&mut self, within: Duration) -> i32 {
        let until = Instant::now() + within;
        loop {
            if let Some(s) = self.child.try_wait().expect("try_wait") {
                return s.code().unwrap_or(-1);
            }
            if Instant::now() > until {
                let _ = self.child.kill();
                panic!("indmon serve did not exit in time; log:\n{}", self.logs());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain HTTP/1.1 GET on loopback: `(status, body)`, or `None` while nothing listens.
fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut raw = String::new();
    s.read_to_string(&mut raw).ok()?;
    let status = raw.split_whitespace().nth(1)?.parse().ok()?;
    let body = raw.split_once("\r\n\r\n").map(|(_, b)| b.to_string())?;
    Some((status, body))
}

async fn eventually<F, Fut>(what: &str, within: Duration, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let until = Instant::now() + within;
    while !f().await {
        assert!(Instant::now() < until, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A strict reader of the Prometheus text format: every sample belongs to a family declared
/// with `# TYPE` before it, names and labels are well-formed, values are numbers.
fn parse_prometheus(text: &str) -> Result<BTreeMap<String, f64>, String> {
    let name_ok = |n: &str| {
        !n.is_empty()
            && n.chars().enumerate().all(|(i, c)| {
                c.is_ascii_alphabetic() || c == '_' || c == ':' || (i > 0 && c.is_ascii_digit())
            })
    };
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut samples = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let at = |m: &str| format!("line {}: {m}: {line}", i + 1);
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            match (parts.next(), parts.next(), parts.next()) {
                (Some("HELP"), Some(n), Some(_)) if name_ok(n) => {}
                (Some("TYPE"), Some(n), Some(t))
                    if name_ok(n)
                        && ["counter", "gauge", "summary", "histogram", "untyped"].contains(&t) =>
                {
                    if types.insert(n.to_string(), t.to_string()).is_some() {
                        return Err(at("family declared twice"));
                    }
                }
                _ => return Err(at("bad comment")),
            }
            continue;
        }
        let (series, value) = line.rsplit_once(' ').ok_or_else(|| at("no value"))?;
        let v: f64 = value.parse().map_err(|_| at("value is not a number"))?;
        let name = series.split('{').next().unwrap_or_default();
        if !name_ok(name) {
            return Err(at("bad metric name"));
        }
        if let Some(labels) = series.strip_prefix(name).filter(|l| !l.is_empty()) {
            let inner = labels
                .strip_prefix('{')
                .and_then(|l| l.strip_suffix('}'))
                .ok_or_else(|| at("bad label braces"))?;
            for pair in inner.split("\",").filter(|p| !p.is_empty()) {
                let (k, v) = pair.split_once("=\"").ok_or_else(|| at("bad label"))?;
                if !name_ok(k) || v.trim_end_matches('"').contains('"') {
                    return Err(at("bad label"));
                }
            }
        }
        let family = ["_sum", "_count", "_bucket", "_total"]
            .iter()
            .find_map(|s| name.strip_suffix(s).filter(|f| types.contains_key(*f)))
            .unwrap_or(name);
        if !types.contains_key(family) && !types.contains_key(name) {
            return Err(at("sample before its # TYPE"));
        }
        samples.insert(series.to_string(), v);
    }
    Ok(samples)
}

/// One sample of a process's `/metrics`.
fn metric(port: u16, series: &str) -> Option<f64> {
    let (_, text) = get(port, "/metrics")?;
    parse_prometheus(&text).ok()?.get(series).copied()
}

fn leads(port: u16) -> bool {
    metric(port, "indmon_leader") == Some(1.0)
}

const QUIET_JOBS: &str = "[jobs.evaluate]\nenabled = false\n[jobs.dispatch]\nenabled = false\n[jobs.reminder]\nenabled = false\n";

fn sh_utc(y: i32, m: u32, d: u32, h: u32) -> chrono::DateTime<Utc> {
    chrono_tz::Asia::Shanghai
        .with_ymd_and_hms(y, m, d, h, 0, 0)
        .single()
        .expect("local time")
        .with_timezone(&Utc)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missed_snapshot_runs_once_after_restart_and_sqlite_allows_one_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("indmon.db").display());
    // The ledger says the 1st's snapshot ran; the daemon was then down over the 16th.
    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let first = sh_utc(2026, 11, 1, 8).timestamp_millis();
    let id = store
        .claim_job_slot("snapshot", first, "schedule", first, "old", 1)
        .await
        .unwrap()
        .unwrap();
    store
        .finish_job_run(id, "ok", first + 1000, Some("{}"), None)
        .await
        .unwrap();
    store.close().await;

    let snapshots = dir.path().join("snapshots");
    let config = format!(
        "[daemon]\ngrace_secs = 5\nsnapshot_dir = \"{}\"\n{QUIET_JOBS}",
        snapshots.display()
    );
    let now = Some("2026-11-17T10:00:00+08:00");
    let mut a = spawn(dir.path(), "a", &url, &config, now);
    let store = Store::connect(&url).await.unwrap();
    // The slot's row is written when it is claimed (`running`) and updated when the run ends:
    // wait for the end, not for the claim.
    eventually(
        "the caught-up snapshot to finish in the ledger",
        Duration::from_secs(30),
        || async {
            let runs = store.job_runs("snapshot").await.unwrap();
            runs.len() == 2 && runs[1].1 != "running"
        },
    )
    .await;
    let runs = store.job_runs("snapshot").await.unwrap();
    let sixteenth = sh_utc(2026, 11, 16, 8).timestamp_millis();
    assert_eq!(runs[1].0, sixteenth, "{runs:?}");
    // The caught-up run wrote the half that had ended by then (2026-11-H1).
    assert_eq!(
        (runs[1].1.as_str(), runs[1].2.as_str()),
        ("ok", "catch_up"),
        "{runs:?}"
    );
    assert!(snapshots.join("2026-11-H1/manifest.json").is_file());

    // A second daemon on the same SQLite file refuses, naming the first one's pid.
    let mut b = spawn(dir.path(), "b", &url, &config, now);
    assert_eq!(b.wait(Duration::from_secs(20)), 1);
    assert!(b.logs().contains(&a.pid().to_string()), "{}", b.logs());

    // Health, readiness (database up, no job failing) and metrics in Prometheus format.
    assert_eq!(get(a.port, "/healthz").map(|r| r.0), Some(200));
    let (code, ready) = get(a.port, "/readyz").unwrap();
    assert_eq!(code, 200, "{ready}");
    assert!(
        ready.contains("\"covered_through\":\"2026-12-31\""),
        "{ready}"
    );
    let (code, text) = get(a.port, "/metrics").unwrap();
    assert_eq!(code, 200);
    let m = parse_prometheus(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(m.get("indmon_leader"), Some(&1.0), "{text}");
    assert_eq!(
        m.get("indmon_job_runs_total{job=\"snapshot\",status=\"ok\"}"),
        Some(&2.0),
        "{text}"
    );
    assert_eq!(m.get("indmon_alerts_firing{severity=\"red\"}"), Some(&0.0));
    assert!(m.contains_key("indmon_job_last_success_timestamp_seconds{job=\"snapshot\"}"));
    assert_eq!(m.get("indmon_outbox_depth"), Some(&0.0), "{text}");
    assert_eq!(m.get("indmon_emails_sent_total"), Some(&0.0), "{text}");

    assert_eq!(a.terminate(Duration::from_secs(20)), 0, "{}", a.logs());

    // Restarted: nothing was missed since, so nothing runs again.
    let mut c = spawn(dir.path(), "c", &url, &config, now);
    eventually(
        "the restarted daemon leads",
        Duration::from_secs(30),
        || async { leads(c.port) },
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(store.job_runs("snapshot").await.unwrap().len(), 2);
    assert_eq!(c.terminate(Duration::from_secs(20)), 0, "{}", c.logs());
    store.close().await;
}

/// An HTTP source whose first page answers at once and whose second answers after `delay`
/// (`None`: never), with no more rows.
async fn hanging_source(
    codes: Vec<String>,
    asked_page_2: Arc<AtomicBool>,
    delay: Option<Duration>,
) -> String {
    use axum::extract::Query;
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(move |Query(q): Query<BTreeMap<String, String>>| {
            let codes = codes.clone();
            let asked = asked_page_2.clone();
            async move {
                if q.contains_key("cursor") {
                    asked.store(true, Ordering::SeqCst);
                    match delay {
                        Some(d) => tokio::time::sleep(d).await,
                        None => std::future::pending::<()>().await,
                    }
                    return axum::Json(
                        serde_json::json!({"submissions": [], "next_cursor": "c2", "has_more": false}),
                    );
                }
                let rows: Vec<serde_json::Value> = codes[0..4]
                    .iter()
                    .map(|c| serde_json::json!({"credit_code": c, "period": "2026-10", "output": 100, "output_ytd": 1000}))
                    .collect();
                axum::Json(serde_json::json!({"submissions": rows, "next_cursor": "c1", "has_more": true}))
            }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await });
    url
}

/// A store with the registry, and the config of one HTTP source pulled every second.
async fn pulling_setup(
    dir: &Path,
    grace: u64,
    delay: Option<Duration>,
) -> (String, Store, String, Arc<AtomicBool>) {
    let url = format!("sqlite://{}", dir.join("indmon.db").display());
    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    registry(&store).await;
    let codes: Vec<String> = std::fs::read_to_string(fixture("enterprises.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').next().map(str::to_string))
        .collect();
    let asked = Arc::new(AtomicBool::new(false));
    let src = hanging_source(codes, asked.clone(), delay).await;
    let config = format!(
        "[daemon]\ngrace_secs = {grace}\n{QUIET_JOBS}[jobs.snapshot]\nenabled = false\n\
         [[sources]]\nname = \"platform\"\nkind = \"http\"\nurl = '{src}'\nformat = \"json\"\n\
         cursor_param = \"cursor\"\nretries = 0\ntimeout_secs = 120\nschedule = \"* * * * * *\"\n"
    );
    (url, store, config, asked)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_a_running_pull_finish_within_the_grace_period() {
    let dir = tempfile::tempdir().unwrap();
    let (url, store, config, asked) =
        pulling_setup(dir.path(), 30, Some(Duration::from_secs(2))).await;
    let mut d = spawn(dir.path(), "d", &url, &config, None);
    eventually(
        "the pull to wait on page 2",
        Duration::from_secs(30),
        || async { asked.load(Ordering::SeqCst) },
    )
    .await;
    assert_eq!(d.terminate(Duration::from_secs(30)), 0, "{}", d.logs());
    let runs = store.job_runs("pull:platform").await.unwrap();
    assert_eq!(runs.len(), 1, "no new job after SIGTERM: {runs:?}");
    assert_eq!(runs[0].1, "ok", "{runs:?}\n{}", d.logs());
    assert_eq!(store.count("submission").await.unwrap(), 4);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_pull_rolls_back_after_the_grace_period_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let (url, store, config, asked) = pulling_setup(dir.path(), 1, None).await;
    let mut d = spawn(dir.path(), "d", &url, &config, None);
    eventually(
        "the pull to hang on page 2",
        Duration::from_secs(30),
        || async { asked.load(Ordering::SeqCst) },
    )
    .await;
    let code = d.terminate(Duration::from_secs(20));
    assert_eq!(code, 0, "{}", d.logs());
    let runs = store.job_runs("pull:platform").await.unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0].1, "interrupted", "{runs:?}");
    // Page 1 was committed whole with its cursor; nothing of the page in flight.
    assert_eq!(store.count("submission").await.unwrap(), 4);
    let state = store.source_state("platform").await.unwrap().unwrap();
    assert_eq!(state.cursor.as_deref(), Some("c1"));
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_on_postgresql_run_each_slot_once_and_the_standby_takes_over() {
    let Ok(admin) = std::env::var("INDMON_TEST_POSTGRES_URL") else {
        eprintln!("NOTICE: INDMON_TEST_POSTGRES_URL not set; replica test skipped");
        return;
    };
    let name = format!("indmon_serve_{}", std::process::id());
    let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .unwrap();
    let url = match admin.rfind('/') {
        Some(i) if admin[..i].ends_with(|c: char| c != '/') => format!("{}/{name}", &admin[..i]),
        _ => format!("{admin}/{name}"),
    };
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox");
    std::fs::create_dir(&inbox).unwrap();
    let config = format!(
        "[daemon]\ngrace_secs = 5\n{QUIET_JOBS}[jobs.snapshot]\nenabled = false\n\
         [[sources]]\nname = \"inbox\"\nkind = \"dir\"\npath = '{}'\nschedule = \"* * * * * *\"\n",
        inbox.display()
    );
    let a = spawn(dir.path(), "a", &url, &config, None);
    eventually("replica a leads", Duration::from_secs(30), || async {
        leads(a.port)
    })
    .await;
    let mut b = spawn(dir.path(), "b", &url, &config, None);
    eventually("replica b answers", Duration::from_secs(30), || async {
        metric(b.port, "indmon_database_up") == Some(1.0)
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(metric(b.port, "indmon_leader"), Some(0.0));
    let store = Store::connect(&url).await.unwrap();
    let runs = store.job_runs("pull:inbox").await.unwrap();
    assert!(
        runs.len() >= 2,
        "{runs:?}\nA:\n{}\nB:\n{}",
        a.logs(),
        b.logs()
    );
    assert!(
        runs.iter().all(|r| r.3 == a.pid()),
        "only the leader runs jobs: {runs:?}"
    );

    // The leader dies without a word; the standby takes the lock and goes on.
    let a_pid = a.pid();
    drop(a);
    eventually("replica b takes over", Duration::from_secs(30), || async {
        store
            .job_runs("pull:inbox")
            .await
            .unwrap()
            .iter()
            .any(|r| r.3 == b.pid())
    })
    .await;
    let runs = store.job_runs("pull:inbox").await.unwrap();
    let slots: Vec<i64> = runs.iter().map(|r| r.0).collect();
    let mut unique = slots.clone();
    unique.dedup();
    assert_eq!(slots, unique, "each slot once");
    assert!(runs.iter().all(|r| r.3 == a_pid || r.3 == b.pid()));
    assert_eq!(b.terminate(Duration::from_secs(20)), 0, "{}", b.logs());
    store.close().await;
    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&mut conn)
    .await;
}

#[tokio::test]
async fn a_slot_is_claimed_once_and_only_an_interrupted_one_again() {
    for db in common::TestDb::all().await {
        let s = &db.store;
        let slot = sh_utc(2026, 11, 16, 8).timestamp_millis();
        let first = s
            .claim_job_slot("snapshot", slot, "schedule", slot, "h", 1)
            .await
            .unwrap();
        assert!(first.is_some(), "{}", db.name);
        // A second replica, or a restarted process, finds it taken.
        assert_eq!(
            s.claim_job_slot("snapshot", slot, "catch_up", slot, "h", 2)
                .await
                .unwrap(),
            None
        );
        assert_eq!(s.last_job_slot("snapshot").await.unwrap(), Some(slot));
        // The process died: the next leader marks the run interrupted, and catch-up may retry it.
        assert_eq!(s.interrupt_running_jobs(slot + 5).await.unwrap(), 1);
        assert_eq!(
            s.last_job_slot("snapshot").await.unwrap(),
            None,
            "{}",
            db.name
        );
        let again = s
            .claim_job_slot("snapshot", slot, "catch_up", slot + 9, "h", 3)
            .await
            .unwrap();
        assert_eq!(again, first, "the same row, attempted again ({})", db.name);
        let id = again.unwrap();
        s.finish_job_run(id, "ok", slot + 20, Some("{}"), None)
            .await
            .unwrap();
        assert_eq!(
            s.claim_job_slot("snapshot", slot, "catch_up", slot, "h", 4)
                .await
                .unwrap(),
            None
        );
        let runs = s.job_runs("snapshot").await.unwrap();
        assert_eq!(
            runs,
            vec![(slot, "ok".to_string(), "catch_up".to_string(), 3)],
            "{}",
            db.name
        );
        let stats = s.job_stats().await.unwrap();
        assert_eq!(stats["snapshot"].duration_count, 1);
        assert_eq!(stats["snapshot"].last_success_ms, Some(slot + 20));
        db.cleanup().await;
    }
}

/// Whether the server closed a connection within `within` (EOF or reset, not a read timeout).
fn closed_by_server(mut s: &std::net::TcpStream, within: Duration) -> bool {
    s.set_read_timeout(Some(within)).expect("read timeout");
    let mut buf = [0u8; 1024];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            // A 408 or other answer may come before the close; keep reading.
            Ok(_) => continue,
            Err(e) => {
                return !matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                );
            }
        }
    }
}

/// Raises this test process's soft limit of open files to `n` (its hard limit permitting, as
/// on Debian's default 1,024 soft / 1,048,576 hard), with util-linux's `prlimit`.
fn open_files_at_least(n: u32) {
    let soft = |text: &str| -> Option<u32> {
        let line = text.lines().find(|l| l.starts_with("Max open files"))?;
        line.split_whitespace().nth(3)?.parse().ok()
    };
    let before = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    if soft(&before).is_some_and(|s| s >= n) {
        return;
    }
    let ok = Command::new("prlimit")
        .arg("--pid")
        .arg(std::process::id().to_string())
        .arg(format!("--nofile={n}:"))
        .status()
        .is_ok_and(|s| s.success());
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    assert!(ok, "cannot raise the open-files limit to {n}:\n{limits}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_answers_while_a_thousand_idle_connections_are_open_and_they_are_closed() {
    open_files_at_least(4096);
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("indmon.db").display());
    let config = format!(
        "[daemon]\ngrace_secs = 5\nheader_timeout_secs = 1\n{QUIET_JOBS}[jobs.snapshot]\nenabled = false\n"
    );
    // The open-files limit a systemd unit without LimitNOFILE gets.
    let mut d = spawn_with_open_files(dir.path(), "d", &url, &config, 1024);
    eventually("the daemon answers", Duration::from_secs(30), || async {
        get(d.port, "/healthz").is_some()
    })
    .await;
    let addr = ("127.0.0.1", d.port);
    // Slowloris: connections that send half a request header and then nothing.
    let half: Vec<std::net::TcpStream> = (0..20)
        .map(|_| {
            let mut s = std::net::TcpStream::connect(addr).expect("connect");
            s.write_all(b"GET /healthz HTTP/1.1\r\nHost: loc")
                .expect("half a header");
            s
        })
        .collect();
    // And 1,100 that connect and say nothing.
    let idle: Vec<std::net::TcpStream> = (0..1100)
        .map(|_| std::net::TcpStream::connect(addr).expect("connect"))
        .collect();
    tokio::time::sleep(Duration::from_millis(200)).await;

    let started = Instant::now();
    let answer = tokio::task::spawn_blocking(move || get(d.port, "/healthz"))
        .await
        .unwrap();
    let took = started.elapsed();
    assert_eq!(
        answer.map(|a| a.0),
        Some(200),
        "/healthz unanswered after {took:?}"
    );
    assert!(took < Duration::from_secs(3), "/healthz took {took:?}");

    // Every half-header and idle connection is closed by the server after the header timeout
    // (1 s here), whether it was accepted at once or waited for a free place.
    let closed = tokio::task::spawn_blocking(move || {
        let half_closed = half
            .iter()
            .filter(|s| closed_by_server(s, Duration::from_secs(8)))
            .count();
        let idle_closed = idle
            .iter()
            .step_by(50)
            .filter(|s| closed_by_server(s, Duration::from_secs(8)))
            .count();
        (half_closed, idle_closed)
    })
    .await
    .unwrap();
    assert_eq!(closed, (20, 22), "{}", d.logs());
    assert_eq!(get(d.port, "/readyz").map(|a| a.0), Some(200));
    assert_eq!(d.terminate(Duration::from_secs(20)), 0, "{}", d.logs());
}

/// The job's runs in the ledger: `(slot, started_at, finished_at, trigger)`, in slot order.
async fn ledger(url: &str, job: &str) -> Vec<(i64, i64, Option<i64>, String)> {
    let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
    let rows: Vec<(i64, i64, Option<i64>, String)> = sqlx::query_as(
        "SELECT slot, started_at, finished_at, trigger FROM job_run WHERE job = $1 ORDER BY slot",
    )
    .bind(job)
    .fetch_all(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fired_run_records_its_slot_and_a_firing_during_a_run_waits_for_it() {
    let dir = tempfile::tempdir().unwrap();
    // Fired every second; each pull takes 2.5 s (its second page is slow).
    let (url, store, config, _) =
        pulling_setup(dir.path(), 10, Some(Duration::from_millis(2500))).await;
    let mut d = spawn(dir.path(), "d", &url, &config, None);
    eventually("three finished pulls", Duration::from_secs(40), || async {
        let runs = store.job_runs("pull:platform").await.unwrap();
        runs.iter().filter(|r| r.1 != "running").count() >= 3
    })
    .await;
    assert_eq!(d.terminate(Duration::from_secs(30)), 0, "{}", d.logs());
    store.close().await;
    let runs = ledger(&url, "pull:platform").await;
    assert!(runs.len() >= 3, "{runs:?}");
    for (slot, started, _, trigger) in &runs {
        // A slot is the schedule's instant (a whole second), not the moment the job started.
        assert_eq!(slot % 1000, 0, "{runs:?}");
        assert!(started >= slot, "{runs:?}");
        assert_eq!(trigger, "schedule", "{runs:?}");
    }
    let mut waited = 0;
    for pair in runs.windows(2) {
        let (_, _, finished, _) = pair[0];
        let (slot, started, _, _) = pair[1];
        let finished = finished.expect("finished");
        // Never two runs of the job at once.
        assert!(started >= finished, "overlap: {runs:?}");
        // A slot fired while the previous run was going ran after it, under its own instant.
        if slot < finished {
            waited += 1;
        }
    }
    assert!(waited >= 1, "no firing during a run was kept: {runs:?}");
}
