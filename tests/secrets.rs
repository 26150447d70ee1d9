//! "Never logged" at every log level: `indmon dispatch` with SMTP AUTH PLAIN and AUTH LOGIN,
//! and a failing `indmon pull` with HTTP basic and bearer credentials, each run as a child
//! process at `INDMON_LOG=trace` against a real server on loopback. Every output (stdout,
//! stderr, the outbox and source rows) is searched for the secret, its base64 forms, and the
//! decoded form of every base64-looking token in it.

mod common;

use std::path::Path;
use std::process::Command;

use base64::Engine;
use common::mail::{db_url, seed};
use common::smtp::SmtpServer;
use common::{TestDb, write};

const SMTP_PW: &str = "Smtp-S3cret-9f4e";
const HTTP_PW: &str = "Basic-S3cret-77ab";
const TOKEN: &str = "Bearer-T0ken-5c1d";

fn b64(s: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// The forms of `secret` that must not appear: itself, and base64 of it alone, of
/// `user:secret` (HTTP basic) and of `\0user\0secret` (SASL PLAIN).
fn forms(user: &str, secret: &str) -> Vec<String> {
    let mut v = vec![secret.to_string(), b64(secret.as_bytes())];
    v.push(b64(format!("{user}:{secret}").as_bytes()));
    v.push(b64(format!("\0{user}\0{secret}").as_bytes()));
    // Also without padding, as some encoders write it.
    let more: Vec<String> = v[1..]
        .iter()
        .map(|s| s.trim_end_matches('=').to_string())
        .collect();
    v.extend(more);
    v
}

/// Every run of base64 alphabet of 8 or more characters, decoded where it decodes (with or
/// without padding), as lossy text.
fn decoded_tokens(text: &str) -> Vec<String> {
    let is_b64 = |c: char| c.is_ascii_alphanumeric() || c == '+' || c == '/' || c == '=';
    let mut out = Vec::new();
    for tok in text.split(|c: char| !is_b64(c)).filter(|t| t.len() >= 8) {
        let bare = tok.trim_end_matches('=');
        for cand in [
            tok.to_string(),
            format!("{bare}{}", "=".repeat((4 - bare.len() % 4) % 4)),
        ] {
            if let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(&cand) {
                out.push(String::from_utf8_lossy(&bytes).into_owned());
            }
        }
    }
    out
}

/// Panics naming where a secret was found.
fn assert_clean(what: &str, text: &str, user: &str, secret: &str) {
    for f in forms(user, secret) {
        assert!(!text.contains(&f), "{what}: contains {f:?}:\n{text}");
    }
    for d in decoded_tokens(text) {
        assert!(
            !d.contains(secret),
            "{what}: a base64 token decodes to the secret ({d:?}):\n{text}"
        );
    }
}

/// Runs indmon at trace level; returns (exit code, stdout + stderr).
fn indmon_trace(dir: &Path, db: &str, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_indmon"))
        .current_dir(dir)
        .env("INDMON_LOG", "trace")
        .env_remove("INDMON_NOW")
        .env_remove("INDMON_DATABASE_URL")
        .args(["--config", "indmon.toml", "--database", db])
        .args(args)
        .output()
        .expect("run indmon");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// The mail part of the test configuration, logging in as `indmon` with the password file.
fn mail_config(port: u16, pw_file: &Path) -> String {
    format!(
        "[mail]\nfrom = \"市工信局 <indmon@gxj.example.cn>\"\nhost = \"127.0.0.1\"\nport = {port}\nsecurity = \"plain\"\ntimeout_secs = 5\nuser = \"indmon\"\npassword = {{ file = '{}' }}\n\n[[recipients]]\nid = \"city\"\nname = \"王局长\"\nemail = \"city@gxj.example.cn\"\nrole = \"city\"\nlabel = \"全市\"\n",
        pw_file.display()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_auth_plain_and_login_never_reach_any_output_at_trace_level() {
    for mech in ["PLAIN", "LOGIN"] {
        for db in TestDb::all().await {
            let dir = tempfile::tempdir().expect("tempdir");
            let server = SmtpServer::start().await;
            server.set(|b| b.accept_auth = Some((mech, "indmon".into(), SMTP_PW.into())));
            let pw = write(&dir, "smtp-password", format!("{SMTP_PW}\n"));
            write(&dir, "indmon.toml", mail_config(server.port, &pw));
            seed(&db.store).await;
            let url = db_url(&db);
            let (code, out) = indmon_trace(dir.path(), &url, &["dispatch"]);
            assert_eq!(code, 0, "{mech} {}: {out}", db.name);
            assert_eq!(server.messages().len(), 1, "{mech}: logged in and sent");
            assert!(
                out.contains("TRACE") || out.contains("DEBUG"),
                "the run logged at trace level: {out}"
            );
            assert_clean(
                &format!("{mech} {} output", db.name),
                &out,
                "indmon",
                SMTP_PW,
            );
            let rows = format!("{:?}", db.store.outbox_rows(&[]).await.expect("rows"));
            assert_clean("outbox rows", &rows, "indmon", SMTP_PW);

            // A refused login (535) is an error that is stored and printed: still clean.
            server.set(|b| b.accept_auth = Some((mech, "indmon".into(), "other".into())));
            common::mail::apply(
                &db.store,
                vec![common::mail::open(common::mail::finding(
                    "enterprise_stalled",
                    "91330781190937864H",
                    "北港化工",
                    "330782",
                    None,
                    indmon::rules::Severity::Red,
                    1,
                ))],
                common::now(),
            )
            .await;
            let (code, out) = indmon_trace(dir.path(), &url, &["dispatch"]);
            assert_eq!(code, 1, "refused for good: {out}");
            assert!(out.contains("535"), "{out}");
            assert_clean("refused run", &out, "indmon", SMTP_PW);
            let rows = format!("{:?}", db.store.outbox_rows(&[]).await.expect("rows"));
            assert_clean("outbox rows after 535", &rows, "indmon", SMTP_PW);
            db.cleanup().await;
        }
    }
}

/// A loopback HTTP server that refuses every request with `code` (and echoes the
/// Authorization header in its body, as careless servers do).
async fn refusing_server(code: u16) -> String {
    use axum::http::{HeaderMap, StatusCode};
    let app = axum::Router::new().route(
        "/data",
        axum::routing::get(move |h: HeaderMap| async move {
            let echo = h
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            (
                StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                format!("refused: {echo}"),
            )
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/data")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_pull_with_basic_or_bearer_credentials_never_shows_them_at_trace_level() {
    for code in [401_u16, 500] {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = refusing_server(code).await;
        let pw = write(&dir, "basic-password", format!("{HTTP_PW}\n"));
        let tok = write(&dir, "token", format!("{TOKEN}\n"));
        write(
            &dir,
            "indmon.toml",
            format!(
                "[[sources]]\nname = \"basic\"\nkind = \"http\"\nurl = \"{url}\"\nretries = 1\nbasic = {{ user = \"indmon\", password = {{ file = '{}' }} }}\n\n\
                 [[sources]]\nname = \"bearer\"\nkind = \"http\"\nurl = \"{url}\"\nretries = 1\ntoken = {{ file = '{}' }}\n",
                pw.display(),
                tok.display()
            ),
        );
        let db = format!("sqlite://{}", dir.path().join("pull.db").display());
        let (exit, out) = indmon_trace(dir.path(), &db, &["pull"]);
        assert_eq!(exit, 1, "both sources fail: {out}");
        assert!(out.contains(&code.to_string()), "{out}");
        assert!(
            out.contains("TRACE") || out.contains("DEBUG"),
            "the run logged at trace level: {out}"
        );
        assert_clean(&format!("pull {code}"), &out, "indmon", HTTP_PW);
        assert_clean(&format!("pull {code}"), &out, "indmon", TOKEN);
        let (_, status) = indmon_trace(dir.path(), &db, &["sources", "status"]);
        assert_clean("sources status", &status, "indmon", HTTP_PW);
        assert_clean("sources status", &status, "indmon", TOKEN);
        let store = indmon::store::Store::connect(&db).await.expect("db");
        for name in ["basic", "bearer"] {
            let st = format!("{:?}", store.source_state(name).await.expect("state"));
            assert_clean("source state", &st, "indmon", HTTP_PW);
            assert_clean("source state", &st, "indmon", TOKEN);
        }
        store.close().await;
    }
}

const ROBOT_TOKEN: &str = "RobotTok-8c2e51d0a7";
const ROBOT_SECRET: &str = "SECrobot-S3cret-4b19f";
const ROBOT_KEY: &str = "RobotKey-0e7d-44aa-9c1b";

/// Mail to a plain loopback SMTP server, and a 钉钉 and a 企业微信 robot whose webhooks and
/// secret are in files.
fn robots_config(dir: &tempfile::TempDir, smtp: u16, robot_port: u16, secret: &str) -> String {
    let hook = write(
        dir,
        "dc-hook",
        format!("http://127.0.0.1:{robot_port}/robot/send?access_token={ROBOT_TOKEN}\n"),
    );
    let sec = write(dir, "dc-secret", format!("{secret}\n"));
    let key = write(
        dir,
        "city-hook",
        format!("http://127.0.0.1:{robot_port}/cgi-bin/webhook/send?key={ROBOT_KEY}\n"),
    );
    format!(
        "{}\n[[robots]]\nid = \"dc\"\nname = \"东城群\"\nkind = \"dingtalk\"\nwebhook = {{ file = '{}' }}\nsecret = {{ file = '{}' }}\nrecipients = [\"dongcheng\"]\nconsole_url = \"https://console.example.cn/\"\ntimeout_secs = 3\n\n\
         [[robots]]\nid = \"city\"\nname = \"市局群\"\nkind = \"wecom\"\nwebhook = {{ file = '{}' }}\nrecipients = [\"city\"]\nconsole_url = \"https://console.example.cn/\"\ntimeout_secs = 3\n",
        common::mail::config_text(smtp, ""),
        hook.display(),
        sec.display(),
        key.display()
    )
}

/// Checks `text` against every robot credential and the signatures the server saw.
fn assert_robot_clean(what: &str, text: &str, signs: &[String]) {
    for s in [ROBOT_TOKEN, ROBOT_SECRET, ROBOT_KEY, "access_token="] {
        assert_clean(what, text, "indmon", s);
    }
    for s in signs {
        assert!(
            !text.contains(s.as_str()),
            "{what}: contains the signature {s}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn robot_webhooks_and_signing_secret_never_reach_any_output_at_trace_level() {
    use common::robots::RobotServer;
    for db in TestDb::all().await {
        let dir = tempfile::tempdir().expect("tempdir");
        let smtp = SmtpServer::start().await;
        let now_ms = chrono::Utc::now().timestamp_millis();
        let server = RobotServer::start(ROBOT_TOKEN, ROBOT_SECRET, ROBOT_KEY, now_ms).await;
        write(
            &dir,
            "indmon.toml",
            robots_config(&dir, smtp.port, server.port, ROBOT_SECRET),
        );
        seed(&db.store).await;
        let url = db_url(&db);
        let (code, out) = indmon_trace(dir.path(), &url, &["dispatch"]);
        assert_eq!(code, 0, "{}: {out}", db.name);
        assert_eq!(server.delivered().len(), 2, "{out}");
        assert!(out.contains("TRACE") || out.contains("DEBUG"), "{out}");
        let signs: Vec<String> = server
            .got()
            .iter()
            .filter_map(|g| g.query.get("sign").cloned())
            .collect();
        assert_eq!(signs.len(), 1);
        assert_robot_clean("sent run", &out, &signs);

        // A refused signature (310000) is stored and printed: still clean.
        write(
            &dir,
            "indmon.toml",
            robots_config(&dir, smtp.port, server.port, "SECother-secret-00"),
        );
        common::mail::apply(
            &db.store,
            vec![common::mail::open(common::mail::finding(
                "enterprise_stalled",
                "91330781190937864H",
                "北港化工",
                "330781",
                None,
                indmon::rules::Severity::Red,
                1,
            ))],
            common::now(),
        )
        .await;
        let (code, out) = indmon_trace(dir.path(), &url, &["dispatch"]);
        assert_eq!(code, 1, "refused for good: {out}");
        assert!(out.contains("310000"), "{out}");
        assert_robot_clean("refused run", &out, &signs);

        // The robot unreachable (connection refused): retried, still clean.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = closed.local_addr().expect("addr").port();
        drop(closed);
        write(
            &dir,
            "indmon.toml",
            robots_config(&dir, smtp.port, port, ROBOT_SECRET),
        );
        common::mail::apply(
            &db.store,
            vec![common::mail::open(common::mail::finding(
                "unit_below_average",
                "330781",
                "东城区",
                "330781",
                None,
                indmon::rules::Severity::Red,
                3,
            ))],
            common::now(),
        )
        .await;
        let (_, out) = indmon_trace(dir.path(), &url, &["dispatch"]);
        assert!(out.contains("robot retry"), "{out}");
        assert_robot_clean("unreachable run", &out, &signs);
        let rows = format!("{:?}", db.store.robot_rows().await.expect("rows"));
        assert_robot_clean("robot rows", &rows, &signs);
        let c = indmon::config::Config::load(&dir.path().join("indmon.toml")).expect("config");
        let shown = format!(
            "{:?} {:?}",
            c.robots,
            indmon::notify::robot::Robots::from_config(&c.robots).expect("robots")
        );
        assert_robot_clean("Debug", &shown, &signs);
        db.cleanup().await;
    }
}
