//! The outbox and the transports: SMTP down, a crash between send and mark, permanent and
//! transient errors, timeouts, secrets. `smtp_e2e_starttls_and_auth` talks to Debian's
//! aiosmtpd with STARTTLS and AUTH when `.ci/run` has started it (INDMON_TEST_SMTP).

mod common;

use chrono::Duration;
use common::mail::*;
use common::smtp::SmtpServer;
use common::{TestDb, now};
use indmon::config::Config;
use indmon::notify::{self, Step, Transport};
use indmon::rules::Severity;

#[tokio::test]
async fn smtp_down_loses_nothing_and_the_digest_is_sent_later() {
    let db = TestDb::sqlite().await;
    // A port with nothing listening: the connection is refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let c = config(port, "");
    seed(&db.store).await;
    let steps = dispatch_and_send(&db.store, &c, now()).await;
    assert_eq!(steps.len(), 4);
    assert!(
        steps.iter().all(|s| matches!(s, Step::Retry { .. })),
        "{steps:?}"
    );
    let rows = db.store.outbox_rows(&[]).await.expect("rows");
    assert!(
        rows.iter()
            .all(|r| r.status == "pending" && r.attempts == 1 && r.last_error.is_some())
    );
    assert!(
        rows.iter()
            .all(|r| r.next_attempt_at > now().timestamp_millis())
    );

    // Not due yet: nothing is tried.
    let t = Transport::from_config(c.mail.as_ref().expect("mail")).expect("transport");
    let policy = notify::policy(c.mail.as_ref().expect("mail"));
    assert_eq!(
        notify::step(&db.store, &t, &policy, now())
            .await
            .expect("step"),
        Step::Empty
    );

    // The server comes up; the next pass after the backoff delivers every digest once.
    let server = SmtpServer::start_on(port).await;
    let later = now() + Duration::minutes(5);
    let steps = notify::drain(&db.store, &t, &policy, later)
        .await
        .expect("drain");
    assert_eq!(steps.len(), 4);
    assert!(
        steps.iter().all(|s| matches!(s, Step::Sent { .. })),
        "{steps:?}"
    );
    assert_eq!(server.messages().len(), 4);
    let rows = db.store.outbox_rows(&[]).await.expect("rows");
    assert!(rows.iter().all(|r| r.status == "sent" && r.attempts == 2));
    db.cleanup().await;
}

#[tokio::test]
async fn a_restart_between_send_and_mark_neither_loses_nor_duplicates_the_digest_id() {
    for db in TestDb::all().await {
        let server = SmtpServer::start().await;
        let c = config(server.port, "");
        apply(
            &db.store,
            vec![open(finding(
                "enterprise_stalled",
                NANHU,
                "南湖机械",
                "330782",
                None,
                Severity::Red,
                1,
            ))],
            now(),
        )
        .await;
        let d = notify::dispatch(&db.store, &c, now())
            .await
            .expect("dispatch");
        assert_eq!(d.digests.len(), 2, "city and 西城区");
        let t = Transport::from_config(c.mail.as_ref().expect("mail")).expect("transport");
        let policy = notify::policy(c.mail.as_ref().expect("mail"));
        let at = now().timestamp_millis();

        // Sender A claims the first digest and dies before sending: nothing went out.
        let a = db
            .store
            .claim_outbox(at, at - policy.lease_ms)
            .await
            .expect("claim")
            .expect("row");
        // Sender B claims the second, sends it, and dies before marking it.
        let b = db
            .store
            .claim_outbox(at, at - policy.lease_ms)
            .await
            .expect("claim")
            .expect("row");
        assert_ne!(a.id, b.id);
        t.send(&b.from_addr, &b.to_addr, &b.message)
            .await
            .expect("send");
        assert_eq!(server.messages().len(), 1);

        // Within the lease nobody takes them again.
        assert_eq!(
            notify::step(&db.store, &t, &policy, now())
                .await
                .expect("step"),
            Step::Empty
        );
        // After the lease a new sender takes both over and marks them sent.
        let later = now() + Duration::minutes(11);
        let steps = notify::drain(&db.store, &t, &policy, later)
            .await
            .expect("drain");
        assert_eq!(steps.len(), 2, "{steps:?}");
        let rows = db.store.outbox_rows(&[]).await.expect("rows");
        assert!(
            rows.iter().all(|r| r.status == "sent" && r.attempts == 2),
            "{rows:?}"
        );
        let got = server.messages();
        // The digest that never went out went once; the one whose mark was lost went again
        // with the same Message-ID (SMTP cannot tell), which mail clients show as one message.
        assert_eq!(got.iter().filter(|m| to_of(m) == a.to_addr).count(), 1);
        let copies: Vec<_> = got.iter().filter(|m| to_of(m) == b.to_addr).collect();
        assert_eq!(copies.len(), 2);
        assert_eq!(
            parsed(&copies[0].data).message_id(),
            parsed(&copies[1].data).message_id()
        );
        // Once marked sent, nothing is sent again.
        assert!(
            notify::drain(&db.store, &t, &policy, later + Duration::days(1))
                .await
                .expect("drain")
                .is_empty()
        );
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_bad_address_fails_for_good_while_others_are_sent() {
    let db = TestDb::sqlite().await;
    let server = SmtpServer::start().await;
    server.set(|b| b.reject_rcpt = Some("xc@example.cn".into()));
    let c = config(server.port, "");
    seed(&db.store).await;
    let steps = dispatch_and_send(&db.store, &c, now()).await;
    let failed: Vec<_> = steps
        .iter()
        .filter(|s| matches!(s, Step::Failed { .. }))
        .collect();
    assert_eq!(failed.len(), 1, "{steps:?}");
    assert_eq!(server.messages().len(), 3);
    let rows = db.store.outbox_rows(&["failed"]).await.expect("rows");
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].to_addr.as_str(), rows[0].attempts),
        ("xc@example.cn", 1)
    );
    assert!(
        rows[0]
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("550")),
        "{rows:?}"
    );
    // Not retried later either.
    let t = Transport::from_config(c.mail.as_ref().expect("mail")).expect("transport");
    let policy = notify::policy(c.mail.as_ref().expect("mail"));
    assert!(
        notify::drain(&db.store, &t, &policy, now() + Duration::days(2))
            .await
            .expect("drain")
            .is_empty()
    );
    db.cleanup().await;
}

#[tokio::test]
async fn transient_errors_are_retried_with_backoff_until_max_attempts() {
    let db = TestDb::sqlite().await;
    let server = SmtpServer::start().await;
    server.set(|b| b.temp_fail = true);
    let c = config(server.port, "max_attempts = 3");
    apply(
        &db.store,
        vec![open(finding(
            "enterprise_stalled",
            NANHU,
            "南湖机械",
            "330782",
            None,
            Severity::Red,
            1,
        ))],
        now(),
    )
    .await;
    notify::dispatch(&db.store, &c, now())
        .await
        .expect("dispatch");
    let t = Transport::from_config(c.mail.as_ref().expect("mail")).expect("transport");
    let policy = notify::policy(c.mail.as_ref().expect("mail"));
    let mut at = now();
    let mut waits = Vec::new();
    for attempt in 1..=3 {
        let steps = notify::drain(&db.store, &t, &policy, at)
            .await
            .expect("drain");
        assert_eq!(steps.len(), 2, "attempt {attempt}: {steps:?}");
        for s in &steps {
            match s {
                Step::Retry {
                    at: next, error, ..
                } if attempt < 3 => {
                    assert!(error.contains("451"), "{error}");
                    waits.push(next - at.timestamp_millis());
                }
                Step::Failed { error, .. } if attempt == 3 => {
                    assert!(error.contains("3"), "{error}")
                }
                other => panic!("attempt {attempt}: {other:?}"),
            }
        }
        at += Duration::hours(1);
    }
    assert!(waits.iter().all(|w| *w >= 48_000), "{waits:?}");
    let rows = db.store.outbox_rows(&[]).await.expect("rows");
    assert!(
        rows.iter().all(|r| r.status == "failed" && r.attempts == 3),
        "{rows:?}"
    );
    assert!(server.messages().is_empty());
    db.cleanup().await;
}

#[tokio::test]
async fn a_server_that_never_answers_is_bounded_by_the_timeout() {
    let db = TestDb::sqlite().await;
    let server = SmtpServer::start().await;
    server.set(|b| b.silent = true);
    let c = config(server.port, "");
    seed(&db.store).await;
    notify::dispatch(&db.store, &c, now())
        .await
        .expect("dispatch");
    let t = Transport::from_config(c.mail.as_ref().expect("mail")).expect("transport");
    let started = std::time::Instant::now();
    let s = notify::step(
        &db.store,
        &t,
        &notify::policy(c.mail.as_ref().expect("mail")),
        now(),
    )
    .await
    .expect("step");
    assert!(matches!(s, Step::Retry { .. }), "{s:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    db.cleanup().await;
}

#[tokio::test]
async fn the_smtp_password_never_reaches_logs_errors_or_debug() {
    let db = TestDb::sqlite().await;
    let server = SmtpServer::start().await;
    server.set(|b| b.refuse_auth = true);
    let dir = tempfile::tempdir().expect("tempdir");
    let pw = dir.path().join("smtp-password");
    std::fs::write(&pw, "S3cr3t-smtp-pw\n").expect("write");
    let c = config(
        server.port,
        &format!(
            "user = \"indmon\"\npassword = {{ file = \"{}\" }}",
            pw.display()
        ),
    );
    seed(&db.store).await;
    let steps = dispatch_and_send(&db.store, &c, now()).await;
    assert!(
        !server.auth_lines.lock().expect("lock").is_empty(),
        "the client did try to log in"
    );
    let t = Transport::from_config(c.mail.as_ref().expect("mail")).expect("transport");
    let shown = format!(
        "{steps:?} {t:?} {:?} {:?}",
        c.mail,
        db.store.outbox_rows(&[]).await.expect("rows")
    );
    assert!(shown.contains("535"), "{shown}");
    assert!(!shown.contains("S3cr3t"), "{shown}");
    db.cleanup().await;
}

/// Against Debian's aiosmtpd with STARTTLS and AUTH, started by `.ci/run`.
#[tokio::test]
async fn smtp_e2e_starttls_and_auth() {
    let Ok(addr) = std::env::var("INDMON_TEST_SMTP") else {
        eprintln!(
            "NOTICE: INDMON_TEST_SMTP not set; aiosmtpd end-to-end test skipped (.ci/run sets it)"
        );
        return;
    };
    let var = |k: &str| {
        std::env::var(k).unwrap_or_else(|_| panic!("{k} must be set with INDMON_TEST_SMTP"))
    };
    let (host, port) = addr.rsplit_once(':').expect("host:port");
    let maildir = std::path::PathBuf::from(var("INDMON_TEST_SMTP_MAILDIR"));
    let config_with = |password_file: &str| {
        let text = format!(
            "[mail]\nfrom = \"市工信局 <indmon@gxj.example.cn>\"\nhost = \"{host}\"\nport = {port}\nsecurity = \"starttls\"\ntimeout_secs = 10\nuser = \"{}\"\npassword = {{ file = \"{password_file}\" }}\nca_file = \"{}\"\n\n[[recipients]]\nid = \"city\"\nname = \"王局长\"\nemail = \"city@gxj.example.cn\"\nrole = \"city\"\nlabel = \"全市\"\n",
            var("INDMON_TEST_SMTP_USER"),
            var("INDMON_TEST_SMTP_CA"),
        );
        Config::parse(&text).expect("config")
    };
    let c = config_with(&var("INDMON_TEST_SMTP_PASSWORD_FILE"));
    assert!(c.validate().is_empty(), "{:?}", c.validate());
    let db = TestDb::sqlite().await;
    seed(&db.store).await;
    let steps = dispatch_and_send(&db.store, &c, now()).await;
    assert!(matches!(steps.as_slice(), [Step::Sent { .. }]), "{steps:?}");
    let rows = db.store.outbox_rows(&[]).await.expect("rows");
    let id = rows[0].message_id.trim_matches(['<', '>']).to_string();
    let mut found = None;
    for _ in 0..50 {
        for e in std::fs::read_dir(maildir.join("new"))
            .expect("maildir/new")
            .flatten()
        {
            let data = std::fs::read(e.path()).expect("read");
            if String::from_utf8_lossy(&data).contains(&id) {
                found = Some(data);
            }
        }
        if found.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let data = found.expect("aiosmtpd stored the digest");
    let m = parsed(&data);
    assert_eq!(
        m.subject(),
        Some("【工业运行预警】1-10月 全市：红色1项 橙色1项 黄色1项")
    );
    assert!(m.body_html(0).is_some_and(|h| h.contains("&lt;script&gt;")));
    assert!(m.attachments().next().is_some());
    db.cleanup().await;

    // A wrong password is refused over TLS (535): permanent, and the password is nowhere.
    let dir = tempfile::tempdir().expect("tempdir");
    let wrong = dir.path().join("wrong");
    std::fs::write(&wrong, "Wr0ng-pw-e2e\n").expect("write");
    let c = config_with(&wrong.display().to_string());
    let db = TestDb::sqlite().await;
    seed(&db.store).await;
    let steps = dispatch_and_send(&db.store, &c, now()).await;
    let rows = db.store.outbox_rows(&[]).await.expect("rows");
    let shown = format!("{steps:?} {rows:?}");
    assert!(matches!(steps.as_slice(), [Step::Failed { .. }]), "{shown}");
    assert!(shown.contains("535") && !shown.contains("Wr0ng"), "{shown}");
    db.cleanup().await;
}
