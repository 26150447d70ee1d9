//! Group-robot notices (issue 20) against 钉钉 and 企业微信 servers on loopback: signed and
//! keyed webhooks, counts without enterprises, 20 a minute per robot, retries of what the APIs
//! call retryable, and at most one delivery per notice across a sender killed mid-request.

mod common;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use common::mail::*;
use common::robots::{Reply, RobotServer};
use common::smtp::SmtpServer;
use common::{TestDb, now};
use indmon::config::Config;
use indmon::notify;
use indmon::notify::robot::{self, Notice, Policy, RobotStep, Robots};
use indmon::store::Store;

const TOKEN: &str = "tok-5d41402abc4b2a76";
const SECRET: &str = "SECd0e1f2a3b4c5d6e7f8";
const KEY: &str = "693a91f6-7aaa-4bc4-97a0-0ec2sifa5aaa";

/// Secret files for two robots on `server`: 东城区's 钉钉 group and the city's 企业微信 group.
struct Secrets {
    dir: tempfile::TempDir,
}

impl Secrets {
    fn new(server: &RobotServer, token: &str, secret: &str, key: &str) -> Secrets {
        let dir = tempfile::tempdir().expect("tempdir");
        for (name, text) in [
            ("dc-hook", server.dingtalk_url(token)),
            ("dc-secret", secret.to_string()),
            ("city-hook", server.wecom_url(key)),
        ] {
            std::fs::write(dir.path().join(name), format!("{text}\n")).expect("write");
        }
        Secrets { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    /// The `[[robots]]` text.
    fn robots(&self, timeout: u64) -> String {
        format!(
            r#"
[[robots]]
id = "dc-group"
name = "东城区工业运行工作群"
kind = "dingtalk"
webhook = {{ file = '{}' }}
secret = {{ file = '{}' }}
recipients = ["dongcheng"]
console_url = "https://console.gxj.example.cn/"
timeout_secs = {timeout}

[[robots]]
id = "city-group"
name = "市局运行监测群"
kind = "wecom"
webhook = {{ file = '{}' }}
recipients = ["city"]
console_url = "https://console.gxj.example.cn/"
timeout_secs = {timeout}
"#,
            self.path("dc-hook"),
            self.path("dc-secret"),
            self.path("city-hook"),
        )
    }
}

fn config_with(smtp: u16, secrets: &Secrets, timeout: u64) -> Config {
    let text = format!("{}{}", config_text(smtp, ""), secrets.robots(timeout));
    let c = Config::parse(&text).expect("config");
    let problems = c.validate();
    assert!(problems.is_empty(), "{problems:?}");
    c
}

async fn drain(store: &Store, c: &Config, at: DateTime<Utc>) -> Vec<RobotStep> {
    let robots = Robots::from_config(&c.robots).expect("robots");
    robot::drain(store, &robots, &Policy::default(), at)
        .await
        .expect("drain")
}

fn notice(robot: &str, n: usize) -> Notice {
    Notice {
        robot: robot.into(),
        title: "工业运行监测提示".into(),
        body: format!("#### 工业运行监测提示\n- 第{n}条"),
        period: Some("2026-10".into()),
    }
}

#[tokio::test]
async fn dispatch_posts_signed_and_keyed_notices_with_counts_and_no_enterprise() {
    for db in TestDb::all().await {
        let smtp = SmtpServer::start().await;
        let server = RobotServer::start(TOKEN, SECRET, KEY, now().timestamp_millis()).await;
        let secrets = Secrets::new(&server, TOKEN, SECRET, KEY);
        let c = config_with(smtp.port, &secrets, 5);
        seed(&db.store).await;
        let d = notify::dispatch(&db.store, &c, now())
            .await
            .expect("dispatch");
        assert_eq!(d.notices.len(), 2, "{}: {d:?}", db.name);
        let steps = drain(&db.store, &c, now()).await;
        assert_eq!(steps.len(), 2, "{steps:?}");
        let got = server.delivered();
        assert_eq!(got.len(), 2, "both accepted: {:?}", server.got());

        // 钉钉: the server checked token, timestamp and signature (it computes the HMAC).
        let dc = got.iter().find(|g| g.kind == "dingtalk").expect("dingtalk");
        assert_eq!(dc.query["timestamp"], now().timestamp_millis().to_string());
        let v: serde_json::Value = serde_json::from_str(&dc.body).expect("json");
        let text = v["markdown"]["text"].as_str().expect("text");
        assert_eq!(v["markdown"]["title"], "工业运行监测提示");
        assert!(text.contains("**报告期：2026年10月**"), "{text}");
        assert!(text.contains("- 新增预警 2 项：红色1，黄色1"), "{text}");
        assert!(text.contains("- 尚未销号预警共 2 项"), "{text}");
        assert!(
            text.contains("](https://console.gxj.example.cn/)"),
            "links to the console: {text}"
        );
        // 企业微信: the city's group counts the whole city.
        let city = got.iter().find(|g| g.kind == "wecom").expect("wecom");
        let v: serde_json::Value = serde_json::from_str(&city.body).expect("json");
        let content = v["markdown"]["content"].as_str().expect("content");
        assert!(
            content.contains("- 新增预警 3 项：红色1，橙色1，黄色1"),
            "{content}"
        );

        // Never an enterprise's name, credit code, unit code or figure.
        for g in server.got() {
            for leak in [
                "南湖",
                "北港",
                "script",
                NANHU,
                BEIGANG,
                "330781",
                "330782",
                "1200",
                "李副市长",
            ] {
                assert!(!g.body.contains(leak), "{leak} in {}", g.body);
            }
        }
        // Nothing new, nothing posted.
        let d = notify::dispatch(&db.store, &c, now() + Duration::hours(1))
            .await
            .expect("dispatch");
        assert!(d.notices.is_empty(), "{d:?}");
        assert!(
            drain(&db.store, &c, now() + Duration::hours(1))
                .await
                .is_empty()
        );
        assert_eq!(server.got().len(), 2);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_wrong_secret_or_key_is_refused_for_good_and_not_retried() {
    for db in TestDb::all().await {
        let smtp = SmtpServer::start().await;
        let server = RobotServer::start(TOKEN, SECRET, KEY, now().timestamp_millis()).await;
        let secrets = Secrets::new(&server, TOKEN, "SECnot-the-robots-secret", "wrong-key-123");
        let c = config_with(smtp.port, &secrets, 5);
        seed(&db.store).await;
        notify::dispatch(&db.store, &c, now())
            .await
            .expect("dispatch");
        let steps = drain(&db.store, &c, now()).await;
        assert_eq!(steps.len(), 2, "{}: {steps:?}", db.name);
        assert!(
            steps.iter().all(|s| matches!(s, RobotStep::Failed { .. })),
            "{steps:?}"
        );
        let codes: Vec<Option<i64>> = server.got().iter().map(|g| g.errcode).collect();
        assert!(
            codes.contains(&Some(310000)) && codes.contains(&Some(93000)),
            "{codes:?}"
        );
        let rows = db.store.robot_rows().await.expect("rows");
        assert!(rows.iter().all(|r| r.status == "failed"), "{rows:?}");
        let errors = format!("{rows:?}");
        assert!(
            errors.contains("310000") && errors.contains("sign not match"),
            "{errors}"
        );
        for secret in ["SECnot-the-robots-secret", "wrong-key-123", TOKEN] {
            assert!(!errors.contains(secret), "{secret} in {errors}");
        }
        let u = db.store.robot_undelivered().await.expect("undelivered");
        assert_eq!((u.queued, u.failed), (0, 2));
        // Refused for good: a later pass does not try again.
        assert!(
            drain(&db.store, &c, now() + Duration::hours(2))
                .await
                .is_empty()
        );
        assert_eq!(server.got().len(), 2);

        // A timestamp more than an hour off DingTalk's clock is refused too.
        let server2 = RobotServer::start(TOKEN, SECRET, KEY, 0).await;
        let secrets_c2 = Secrets::new(&server2, TOKEN, SECRET, KEY);
        let c2 = config_with(smtp.port, &secrets_c2, 5);
        db.store
            .enqueue_robot_notices(&[notice("dc-group", 1)], now().timestamp_millis())
            .await
            .expect("enqueue");
        drain(&db.store, &c2, now()).await;
        assert_eq!(server2.got()[0].errcode, Some(310000));
        db.cleanup().await;
    }
}

#[tokio::test]
async fn at_most_twenty_notices_a_minute_per_robot() {
    for db in TestDb::all().await {
        let smtp = SmtpServer::start().await;
        let t0 = now();
        let server = RobotServer::start(TOKEN, SECRET, KEY, t0.timestamp_millis()).await;
        let secrets_c = Secrets::new(&server, TOKEN, SECRET, KEY);
        let c = config_with(smtp.port, &secrets_c, 5);
        let mut many: Vec<Notice> = (0..25).map(|n| notice("dc-group", n)).collect();
        many.push(notice("city-group", 99));
        db.store
            .enqueue_robot_notices(&many, t0.timestamp_millis())
            .await
            .expect("enqueue");
        drain(&db.store, &c, t0).await;
        let first = server.delivered();
        let dc = first.iter().filter(|g| g.kind == "dingtalk").count();
        assert_eq!(dc, 20, "{}: 20 in the first minute", db.name);
        assert_eq!(
            first.len(),
            21,
            "the other robot is not held by this one's rate"
        );
        assert!(
            drain(&db.store, &c, t0 + Duration::seconds(59))
                .await
                .is_empty()
        );
        assert_eq!(server.got().len(), 21);
        let later = drain(&db.store, &c, t0 + Duration::seconds(61)).await;
        assert_eq!(later.len(), 5, "{later:?}");
        assert_eq!(server.delivered().len(), 26, "each once");
        let bodies: std::collections::HashSet<String> =
            server.got().into_iter().map(|g| g.body).collect();
        assert_eq!(bodies.len(), 26, "no notice twice");
        db.cleanup().await;
    }
}

#[tokio::test]
async fn server_errors_busy_and_rate_limit_replies_are_retried_later() {
    for db in TestDb::all().await {
        let smtp = SmtpServer::start().await;
        let t0 = now();
        let server = RobotServer::start(TOKEN, SECRET, KEY, t0.timestamp_millis()).await;
        let secrets_c = Secrets::new(&server, TOKEN, SECRET, KEY);
        let c = config_with(smtp.port, &secrets_c, 5);
        server.script(&[
            Reply::Status(503),
            Reply::Errcode(410100, "发送速度太快而限流"),
            Reply::Errcode(-1, "系统繁忙"),
        ]);
        let ids = db
            .store
            .enqueue_robot_notices(&[notice("dc-group", 1)], t0.timestamp_millis())
            .await
            .expect("enqueue");
        let s = drain(&db.store, &c, t0).await;
        let RobotStep::Retry {
            at: at1, ref error, ..
        } = s[0]
        else {
            panic!("{}: {s:?}", db.name)
        };
        assert!(error.contains("503"), "{error}");
        assert!(
            at1 >= t0.timestamp_millis() + 60_000,
            "backs off at least a minute"
        );
        assert!(
            drain(&db.store, &c, t0 + Duration::seconds(30))
                .await
                .is_empty()
        );

        let t1 = DateTime::<Utc>::from_timestamp_millis(at1).expect("time");
        let s = drain(&db.store, &c, t1).await;
        let RobotStep::Retry { at: at2, .. } = s[0] else {
            panic!("{s:?}")
        };
        assert!(at2 >= at1 + 600_000, "410100 holds the robot ten minutes");
        // A notice queued meanwhile waits for the hold as well.
        db.store
            .enqueue_robot_notices(&[notice("dc-group", 2)], at1)
            .await
            .expect("enqueue");
        db.store.robot_hold("dc-group", at2).await.expect("hold");
        assert!(
            drain(&db.store, &c, t1 + Duration::minutes(5))
                .await
                .is_empty()
        );

        server.set_clock(at2);
        let t2 = DateTime::<Utc>::from_timestamp_millis(at2).expect("time");
        let s = drain(&db.store, &c, t2).await;
        assert!(
            matches!(s[..], [RobotStep::Retry { .. }, RobotStep::Sent { .. }]),
            "-1 is busy, it holds nothing else: {s:?}"
        );
        let t3 = t2 + Duration::minutes(5);
        server.set_clock(t3.timestamp_millis());
        let s = drain(&db.store, &c, t3).await;
        assert!(matches!(s[..], [RobotStep::Sent { .. }]), "{s:?}");
        assert_eq!(server.delivered().len(), 2);
        let rows = db.store.robot_rows().await.expect("rows");
        assert_eq!(rows[0].id, ids[0]);
        assert_eq!((rows[0].status.as_str(), rows[0].attempts), ("sent", 4));
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_sender_killed_mid_request_or_timed_out_never_sends_twice() {
    for db in TestDb::all().await {
        let smtp = SmtpServer::start().await;
        let t0 = now();
        let server = RobotServer::start(TOKEN, SECRET, KEY, t0.timestamp_millis()).await;
        let secrets_c = Secrets::new(&server, TOKEN, SECRET, KEY);
        let c = Arc::new(config_with(smtp.port, &secrets_c, 30));
        seed(&db.store).await;
        notify::dispatch(&db.store, &c, t0).await.expect("dispatch");
        server.script(&[Reply::Hang]);
        // The sender is killed while its request is at the robot.
        let (store, cfg) = (db.store.clone(), c.clone());
        let task = tokio::spawn(async move {
            let robots = Robots::from_config(&cfg.robots).expect("robots");
            robot::step(&store, &robots, &Policy::default(), t0).await
        });
        for _ in 0..200 {
            if !server.got().is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        task.abort();
        let _ = task.await;
        assert_eq!(server.got().len(), 1, "{}", db.name);

        // A new process on the same database: the other notice (queued, not lost) goes out
        // once; the one in flight is not resent, and after the lease it is marked unknown.
        let store = Store::connect(&db.url).await.expect("reconnect");
        let s = drain(&store, &c, t0 + Duration::minutes(1)).await;
        assert_eq!(s.len(), 1, "{s:?}");
        assert!(matches!(s[0], RobotStep::Sent { .. }), "{s:?}");
        let s = drain(&store, &c, t0 + Duration::minutes(11)).await;
        assert!(matches!(s[..], [RobotStep::Unknown { .. }]), "{s:?}");
        assert!(drain(&store, &c, t0 + Duration::hours(1)).await.is_empty());
        assert_eq!(server.got().len(), 2, "each notice reached the server once");
        let u = store.robot_undelivered().await.expect("undelivered");
        assert_eq!((u.queued, u.unknown), (0, 1));

        // A reply that never comes within the timeout: unknown, not retried.
        let secrets_c1 = Secrets::new(&server, TOKEN, SECRET, KEY);
        let c1 = config_with(smtp.port, &secrets_c1, 1);
        server.script(&[Reply::Hang]);
        store
            .enqueue_robot_notices(&[notice("dc-group", 7)], t0.timestamp_millis())
            .await
            .expect("enqueue");
        let s = drain(&store, &c1, t0 + Duration::minutes(30)).await;
        assert!(matches!(s[..], [RobotStep::Unknown { .. }]), "{s:?}");
        assert!(drain(&store, &c1, t0 + Duration::hours(2)).await.is_empty());
        assert_eq!(server.got().len(), 3);
        store.close().await;
        db.cleanup().await;
    }
}

/// Runs `indmon serve` on `db` with every job off, so that only the drains work.
fn serve(dir: &std::path::Path, db: &str, config: &str, port: u16) -> std::process::Child {
    let jobs = "[jobs.evaluate]\nenabled = false\n[jobs.dispatch]\nenabled = false\n\
                [jobs.reminder]\nenabled = false\n[jobs.snapshot]\nenabled = false\n";
    let cfg = dir.join("serve.toml");
    std::fs::write(&cfg, format!("{config}\n{jobs}")).expect("write config");
    std::process::Command::new(env!("CARGO_BIN_EXE_indmon"))
        .arg("--config")
        .arg(&cfg)
        .args(["--database", db, "serve", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .env("INDMON_LOG", "info,sqlx=warn")
        .env_remove("INDMON_NOW")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.join("serve.log")).expect("log"))
        .spawn()
        .expect("spawn indmon serve")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_delivers_notices_another_process_queued_and_reports_them() {
    for db in TestDb::all().await {
        let smtp = SmtpServer::start().await;
        let t0 = Utc::now();
        let server = RobotServer::start(TOKEN, SECRET, KEY, t0.timestamp_millis()).await;
        let secrets = Secrets::new(&server, TOKEN, SECRET, KEY);
        let text = format!("{}{}", config_text(smtp.port, ""), secrets.robots(5));
        let c = config_with(smtp.port, &secrets, 5);
        seed(&db.store).await;
        let d = notify::dispatch(&db.store, &c, t0).await.expect("dispatch");
        assert_eq!(d.notices.len(), 2);
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("port")
            .port();
        let dir = tempfile::tempdir().expect("tempdir");
        let mut child = serve(dir.path(), &db.url, &text, port);
        let mut waited = 0;
        while server.delivered().len() < 2 && waited < 300 {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            waited += 1;
        }
        let log = || std::fs::read_to_string(dir.path().join("serve.log")).unwrap_or_default();
        assert_eq!(server.delivered().len(), 2, "{}: {}", db.name, log());
        indmon::notify::transport::install_crypto_provider();
        let body = reqwest::get(format!("http://127.0.0.1:{port}/readyz"))
            .await
            .expect("readyz")
            .text()
            .await
            .expect("body");
        let v: serde_json::Value = serde_json::from_str(&body).expect("json");
        assert_eq!(v["robots"]["queued"], 0, "{body}");
        assert_eq!(v["robots"]["failed"], 0, "{body}");
        let metrics = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
            .await
            .expect("metrics")
            .text()
            .await
            .expect("body");
        assert!(
            metrics.contains("indmon_robot_undelivered{state=\"unknown\"} 0"),
            "{metrics}"
        );
        let _ = child.kill();
        let _ = child.wait();
        for leak in [TOKEN, SECRET, KEY] {
            assert!(!log().contains(leak), "{leak} in the log");
        }
        assert_eq!(server.got().len(), 2, "sent once each");
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn indmon_dispatch_killed_mid_request_does_not_post_twice_when_run_again() {
    for db in TestDb::all().await {
        let smtp = SmtpServer::start().await;
        let t0 = now();
        let server = RobotServer::start(TOKEN, SECRET, KEY, t0.timestamp_millis()).await;
        let secrets = Secrets::new(&server, TOKEN, SECRET, KEY);
        let text = format!("{}{}", config_text(smtp.port, ""), secrets.robots(30));
        seed(&db.store).await;
        server.script(&[Reply::Hang]);
        let dir = tempfile::tempdir().expect("tempdir");
        let cfg = dir.path().join("indmon.toml");
        std::fs::write(&cfg, &text).expect("config");
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_indmon"))
            .arg("--config")
            .arg(&cfg)
            .args(["--database", &db.url, "dispatch"])
            .env("INDMON_NOW", t0.to_rfc3339())
            .env("INDMON_LOG", "info,sqlx=warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn dispatch");
        let mut waited = 0;
        while server.got().is_empty() && waited < 300 {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            waited += 1;
        }
        assert_eq!(
            server.got().len(),
            1,
            "{}: the request is at the robot",
            db.name
        );
        child.kill().expect("SIGKILL");
        let _ = child.wait();

        let later = t0 + Duration::minutes(11);
        let (code, out, err) = indmon_at(dir.path(), &db.url, &text, later, &[], &["dispatch"]);
        assert_eq!(
            code, 1,
            "the notice of unknown fate is reported: {out}{err}"
        );
        assert!(out.contains("robot sent"), "{out}");
        assert!(err.contains("不再重发"), "{err}");
        assert_eq!(server.got().len(), 2, "the killed one was not posted again");
        let rows = db.store.robot_rows().await.expect("rows");
        let states: Vec<(&str, &str)> = rows
            .iter()
            .map(|r| (r.robot.as_str(), r.status.as_str()))
            .collect();
        assert_eq!(
            states,
            [("dc-group", "sent"), ("city-group", "unknown")],
            "the city's notice was in flight (robots go in id order)"
        );
        db.cleanup().await;
    }
}
