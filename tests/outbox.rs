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

/// One red alert in 西城区: a digest for the city and one for 西城区.
async fn one_alert(store: &indmon::store::Store, subject: &str, at: chrono::DateTime<chrono::Utc>) {
    apply(
        store,
        vec![open(finding(
            "enterprise_stalled",
            subject,
            "南湖机械",
            "330782",
            None,
            Severity::Red,
            1,
        ))],
        at,
    )
    .await;
}

#[tokio::test]
async fn transient_errors_are_retried_however_long_they_last_and_items_count_once_delivered() {
    for db in TestDb::all().await {
        let server = SmtpServer::start().await;
        server.set(|b| b.temp_fail = true);
        let c = config(server.port, "max_attempts = 3");
        one_alert(&db.store, NANHU, now()).await;
        notify::dispatch(&db.store, &c, now())
            .await
            .expect("dispatch");
        let t = Transport::from_config(c.mail.as_ref().expect("mail")).expect("transport");
        let policy = notify::policy(c.mail.as_ref().expect("mail"));
        // Three days of 451s, tried whenever due: never given up, the wait capped.
        let mut at = now();
        let mut waits = Vec::new();
        let mut tries = 0;
        while at < now() + Duration::days(3) {
            for s in notify::drain(&db.store, &t, &policy, at)
                .await
                .expect("drain")
            {
                match s {
                    Step::Retry {
                        at: next, error, ..
                    } => {
                        assert!(error.contains("451"), "{error}");
                        waits.push(next - at.timestamp_millis());
                        tries += 1;
                    }
                    other => panic!("{}: {other:?}", db.name),
                }
            }
            // Items in flight count as told: a dispatch during the outage queues nothing new.
            let d = notify::dispatch(&db.store, &c, at).await.expect("dispatch");
            assert!(d.digests.is_empty(), "{}: {d:?}", db.name);
            at += Duration::minutes(30);
        }
        assert!(tries > 150, "{}: {tries} attempts", db.name);
        assert!(waits.iter().all(|w| *w >= 48_000), "{waits:?}");
        assert!(
            waits.iter().all(|w| *w <= 36 * 60_000),
            "capped at 30 min ±20%: {waits:?}"
        );
        assert!(db.store.notified().await.expect("notified").is_empty());
        let rows = db.store.outbox_rows(&[]).await.expect("rows");
        assert!(rows.iter().all(|r| r.status == "pending"), "{rows:?}");

        // The server recovers: everything goes, once, and only now counts as told.
        server.set(|b| b.temp_fail = false);
        let steps = notify::drain(&db.store, &t, &policy, at + Duration::hours(1))
            .await
            .expect("drain");
        assert_eq!(steps.len(), 2, "{steps:?}");
        assert_eq!(server.messages().len(), 2);
        assert_eq!(db.store.notified().await.expect("notified").len(), 2);
        let d = notify::dispatch(&db.store, &c, at + Duration::hours(2))
            .await
            .expect("dispatch");
        assert!(
            d.digests.is_empty(),
            "{}: nothing told twice: {d:?}",
            db.name
        );
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_refused_digests_items_are_told_again_in_the_next_digest_and_retry_requeues_it() {
    for db in TestDb::all().await {
        let server = SmtpServer::start().await;
        server.set(|b| b.reject_rcpt = Some("xc@example.cn".into()));
        let c = config(server.port, "");
        one_alert(&db.store, NANHU, now()).await;
        let steps = dispatch_and_send(&db.store, &c, now()).await;
        assert_eq!(
            steps
                .iter()
                .filter(|s| matches!(s, Step::Failed { .. }))
                .count(),
            1,
            "{steps:?}"
        );
        // 西城区 was told nothing: its next digest tells the alert again, with the new one.
        one_alert(&db.store, BEIGANG, now() + Duration::hours(1)).await;
        server.set(|b| b.reject_rcpt = None);
        let later = delivered(&db.store, &c, &server, now() + Duration::hours(2)).await;
        let xc: Vec<_> = later
            .iter()
            .filter(|(to, ..)| to == "xc@example.cn")
            .collect();
        assert_eq!(xc.len(), 1, "{}: {later:?}", db.name);
        assert!(
            xc[0].2.contains(NANHU) && xc[0].2.contains(BEIGANG),
            "{}",
            xc[0].2
        );
        let city: Vec<_> = later
            .iter()
            .filter(|(to, ..)| to == "city@gxj.example.cn")
            .collect();
        assert!(
            city.len() == 1 && !city[0].2.contains(NANHU),
            "the city had it already: {later:?}"
        );

        // The refused message stays visible until requeued; then it goes.
        let failed = db.store.outbox_rows(&["failed"]).await.expect("rows");
        assert_eq!(failed.len(), 1);
        assert_eq!(
            db.store
                .requeue(None, (now() + Duration::hours(3)).timestamp_millis())
                .await
                .expect("requeue"),
            1
        );
        let t = Transport::from_config(c.mail.as_ref().expect("mail")).expect("transport");
        let policy = notify::policy(c.mail.as_ref().expect("mail"));
        let steps = notify::drain(&db.store, &t, &policy, now() + Duration::hours(3))
            .await
            .expect("drain");
        assert_eq!(steps, vec![Step::Sent { id: failed[0].id }]);
        assert!(
            db.store
                .outbox_rows(&["failed", "pending"])
                .await
                .expect("rows")
                .is_empty()
        );
        db.cleanup().await;
    }
}

#[tokio::test]
async fn the_first_digest_after_an_outage_says_what_was_delayed() {
    for db in TestDb::all().await {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        let c = config(port, "");
        one_alert(&db.store, NANHU, now()).await;
        let steps = dispatch_and_send(&db.store, &c, now()).await;
        assert!(
            steps.iter().all(|s| matches!(s, Step::Retry { .. })),
            "{steps:?}"
        );
        let subject = db.store.outbox_rows(&[]).await.expect("rows")[0]
            .subject
            .clone();

        // Three hours later the server is back; the queued digests go as they were.
        let server = SmtpServer::start_on(port).await;
        let back = now() + Duration::hours(3);
        let t = Transport::from_config(c.mail.as_ref().expect("mail")).expect("transport");
        let policy = notify::policy(c.mail.as_ref().expect("mail"));
        notify::drain(&db.store, &t, &policy, back)
            .await
            .expect("drain");
        assert_eq!(server.messages().len(), 2);

        // The next digest of each says which message came late, written when, delivered when.
        one_alert(&db.store, BEIGANG, back).await;
        let next = delivered(&db.store, &c, &server, back + Duration::hours(1)).await;
        assert_eq!(next.len(), 2, "{next:?}");
        for (to, _, text) in &next {
            assert!(
                text.contains("【延迟送达】此前有1封邮件未能按时送达")
                    && text.contains("《【工业运行预警】")
                    && text.contains("》11月22日 10:00生成")
                    && text.contains("延迟至11月22日 13:00送达"),
                "{}: {to}: {text}",
                db.name
            );
            if to == "city@gxj.example.cn" {
                assert!(text.contains(&format!("《{subject}》")), "{text}");
            }
        }
        // Told once.
        one_alert(&db.store, "91330781901092811L", back + Duration::hours(2)).await;
        let after = delivered(&db.store, &c, &server, back + Duration::hours(3)).await;
        assert!(!after.is_empty());
        assert!(
            after.iter().all(|(_, _, t)| !t.contains("延迟送达")),
            "{after:?}"
        );
        db.cleanup().await;
    }
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
        Some("【工业运行预警】1—10月 全市：红色1项 橙色1项 黄色1项")
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

/// Four digests queued from the seeded alerts by a child `indmon dispatch` that the test hook
/// aborts right after the server accepted the second (before it is recorded): the worst
/// moment. A run within the lease leaves that one alone and sends the rest; a run after the
/// lease sends it again with the same Message-ID, says so, and nothing else goes twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_the_servers_250_resends_only_that_message_with_the_same_message_id() {
    for db in TestDb::all().await {
        let dir = tempfile::tempdir().expect("tempdir");
        let server = SmtpServer::start().await;
        let cfg = config_text(server.port, "");
        let url = db_url(&db);
        seed(&db.store).await;
        let crash = [("INDMON_TEST_CRASH_AFTER_ACCEPT", "2")];
        let (code, out, err) = indmon_at(dir.path(), &url, &cfg, now(), &crash, &["dispatch"]);
        assert_eq!(code, -1, "{}: aborted by the hook: {out}{err}", db.name);
        assert_eq!(server.messages().len(), 2);
        let rows = db.store.outbox_rows(&[]).await.expect("rows");
        let status: Vec<&str> = rows.iter().map(|r| r.status.as_str()).collect();
        assert_eq!(
            status,
            ["sent", "sending", "pending", "pending"],
            "{}",
            db.name
        );
        let unknown = rows[1].message_id.trim_matches(['<', '>']).to_string();

        // Within the lease: the two never sent go; the one of unknown fate waits.
        let (code, out, err) = indmon_at(
            dir.path(),
            &url,
            &cfg,
            now() + Duration::minutes(1),
            &[],
            &["dispatch"],
        );
        assert_eq!(code, 0, "{out}{err}");
        assert_eq!(server.messages().len(), 4);

        // After the lease: resent with the same Message-ID, and the log says so.
        let (code, out, err) = indmon_at(
            dir.path(),
            &url,
            &cfg,
            now() + Duration::minutes(11),
            &[],
            &["dispatch"],
        );
        assert_eq!(code, 0, "{out}{err}");
        assert!(
            err.contains("以相同 Message-ID 重发")
                && err.contains("resending with the same Message-ID"),
            "{err}"
        );
        let ids: Vec<String> = server.messages().iter().map(message_id_of).collect();
        assert_eq!(ids.len(), 5, "{ids:?}");
        let twice: Vec<&String> = ids
            .iter()
            .filter(|i| ids.iter().filter(|j| j == i).count() > 1)
            .collect();
        assert_eq!(
            twice,
            [&unknown, &unknown],
            "{}: only the one in flight",
            db.name
        );
        let rows = db.store.outbox_rows(&[]).await.expect("rows");
        assert!(rows.iter().all(|r| r.status == "sent"), "{rows:?}");
        assert!(rows[1].unknown_fate && !rows[0].unknown_fate);
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dispatch_exits_non_zero_while_its_mail_is_undelivered_and_outbox_retry_requeues() {
    for db in TestDb::all().await {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        let cfg = config_text(port, "");
        let url = db_url(&db);
        seed(&db.store).await;
        let run = |at, args: &[&str]| indmon_at(dir.path(), &url, &cfg, at, &[], args);

        // SMTP down: queued for a retry, exit 4, and the list says what waits and why.
        let (code, out, err) = run(now(), &["dispatch"]);
        assert_eq!(code, 4, "{}: {out}{err}", db.name);
        assert!(
            out.contains("待重试 (retry)") && out.contains("尚未送达 4 封"),
            "{out}"
        );
        let (code, out, _) = run(now(), &["outbox", "list"]);
        assert_eq!(code, 0);
        assert_eq!(out.matches("pending").count(), 4, "{out}");
        assert!(out.contains("最近错误 (last error)"), "{out}");
        // A run with nothing new that tries the queue again during the outage: still 4.
        let (code, out, err) = run(now() + Duration::minutes(5), &["dispatch"]);
        assert_eq!(code, 4, "{out}{err}");

        // The server answers but refuses one address for good: exit 1, `failed`.
        let server = SmtpServer::start_on(port).await;
        server.set(|b| b.reject_rcpt = Some("xc@example.cn".into()));
        let (code, out, err) = run(now() + Duration::hours(1), &["dispatch"]);
        assert_eq!(code, 1, "{out}{err}");
        assert_eq!(server.messages().len(), 3);
        let (_, out, _) = run(now() + Duration::hours(1), &["outbox", "list"]);
        assert!(out.contains("failed") && out.contains("550"), "{out}");

        // Fixed: `outbox retry --all-failed` requeues and sends; exit 0, nothing left.
        server.set(|b| b.reject_rcpt = None);
        let (code, out, err) = run(
            now() + Duration::hours(2),
            &["outbox", "retry", "--all-failed"],
        );
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.contains("已重新排队 1 封"), "{out}");
        assert_eq!(server.messages().len(), 4);
        let (code, out, _) = run(now() + Duration::hours(2), &["outbox", "list"]);
        assert!(code == 0 && out.contains("发件箱为空"), "{out}");
        let (code, _, err) = run(now() + Duration::hours(2), &["outbox", "retry", "999"]);
        assert_eq!(code, 1, "{err}");
        db.cleanup().await;
    }
}

/// Figures for issue 17, not a check: `cargo test --test outbox -- --ignored --nocapture
/// kill_dispatch`. Kills a child `indmon dispatch` of 200 digests at random moments (SIGKILL),
/// then lets a run after the lease finish, and counts Message-IDs delivered more than once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn kill_dispatch_at_random_moments_and_count_duplicates() {
    let trials: usize = std::env::var("KILL_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let (mut killed_sending, mut dups_total, mut worst, mut lost) = (0, 0, 0, 0);
    let mut rng = fastrand::Rng::with_seed(17);
    for trial in 0..trials {
        let db = TestDb::sqlite().await;
        let dir = tempfile::tempdir().expect("tempdir");
        let server = SmtpServer::start().await;
        let aiosmtpd = aiosmtpd_config();
        let mut cfg = match &aiosmtpd {
            Some((text, _)) => text.clone(),
            None => config_text(server.port, ""),
        };
        let seen_before = maildir_ids(aiosmtpd.as_ref().map(|a| &a.1)).len();
        for i in 0..196 {
            cfg.push_str(&format!(
                "\n[[recipients]]\nid = \"c{i}\"\nname = \"市级{i}\"\nemail = \"c{i}@example.cn\"\nrole = \"city\"\n"
            ));
        }
        let url = db_url(&db);
        seed(&db.store).await;
        let cfg_path = dir.path().join("indmon.toml");
        std::fs::write(&cfg_path, &cfg).expect("config");
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_indmon"))
            .env("INDMON_LOG", "warn")
            .env("INDMON_NOW", now().to_rfc3339())
            .arg("--config")
            .arg(&cfg_path)
            .args(["--database", &url, "dispatch"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn");
        let delay = rng.u64(20..300);
        tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
        let _ = child.kill();
        let _ = child.wait();
        let rows = db.store.outbox_rows(&[]).await.expect("rows");
        let in_flight = rows.iter().filter(|r| r.status == "sending").count();
        killed_sending += usize::from(in_flight > 0);
        let before = server.messages().len();
        let (code, out, err) = indmon_at(
            dir.path(),
            &url,
            &cfg,
            now() + Duration::minutes(11),
            &[],
            &["dispatch"],
        );
        assert_eq!(code, 0, "{out}{err}");
        let ids: Vec<String> = match &aiosmtpd {
            Some((_, dir)) => maildir_ids(Some(dir))[seen_before..].to_vec(),
            None => server.messages().iter().map(message_id_of).collect(),
        };
        let distinct: std::collections::HashSet<&String> = ids.iter().collect();
        let dups = ids.len() - distinct.len();
        let queued = db.store.outbox_rows(&[]).await.expect("rows").len();
        lost += queued - distinct.len();
        dups_total += dups;
        worst = worst.max(dups);
        eprintln!(
            "trial {trial:2}: killed after {delay:3} ms; before kill {before:2} delivered, {in_flight} sending; after rerun {} messages, {} distinct of {queued}, duplicates {dups}",
            ids.len(),
            distinct.len()
        );
        db.cleanup().await;
    }
    eprintln!(
        "{trials} kills: {killed_sending} left a message in sending; duplicates {dups_total} in all, at most {worst} per kill; lost {lost}"
    );
    assert!(worst <= 1 && lost == 0);
}

/// With `KILL_E2E` and `.ci/run`'s INDMON_TEST_SMTP* set, the trial goes to aiosmtpd
/// (STARTTLS and AUTH): the [mail] text and the Maildir.
fn aiosmtpd_config() -> Option<(String, std::path::PathBuf)> {
    std::env::var("KILL_E2E").ok()?;
    let addr = std::env::var("INDMON_TEST_SMTP").ok()?;
    let (host, port) = addr.rsplit_once(':')?;
    let var = |k: &str| std::env::var(k).unwrap_or_default();
    let text = format!(
        "[mail]\nfrom = \"市工信局 <indmon@gxj.example.cn>\"\nhost = \"{host}\"\nport = {port}\nsecurity = \"starttls\"\ntimeout_secs = 10\nuser = \"{}\"\npassword = {{ file = \"{}\" }}\nca_file = \"{}\"\n\n[[recipients]]\nid = \"city\"\nname = \"王局长\"\nemail = \"city@gxj.example.cn\"\nrole = \"city\"\nlabel = \"全市\"\n",
        var("INDMON_TEST_SMTP_USER"),
        var("INDMON_TEST_SMTP_PASSWORD_FILE"),
        var("INDMON_TEST_SMTP_CA"),
    );
    Some((
        text,
        std::path::PathBuf::from(var("INDMON_TEST_SMTP_MAILDIR")),
    ))
}

/// The Message-IDs in a Maildir's `new/`, oldest file first (empty without one).
fn maildir_ids(dir: Option<&std::path::PathBuf>) -> Vec<String> {
    let Some(dir) = dir else { return Vec::new() };
    let mut files: Vec<_> = std::fs::read_dir(dir.join("new"))
        .map(|d| d.flatten().collect())
        .unwrap_or_default();
    files.sort_by_key(|e| e.metadata().and_then(|m| m.modified()).ok());
    files
        .iter()
        .filter_map(|e| std::fs::read(e.path()).ok())
        .map(|d| parsed(&d).message_id().unwrap_or("").to_string())
        .collect()
}

/// `indmon serve` with every job off: the drain task alone tries the outbox, the undelivered
/// mail shows in /metrics and in /readyz's body while /readyz stays 200, and once the server
/// answers the daemon delivers it without any job running.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_drains_the_outbox_on_its_own_and_shows_what_is_undelivered() {
    for db in TestDb::all().await {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        let mut cfg = config_text(port, "");
        for job in ["evaluate", "dispatch", "snapshot", "reminder", "xun"] {
            cfg.push_str(&format!("\n[jobs.{job}]\nenabled = false\n"));
        }
        let url = db_url(&db);
        seed(&db.store).await;
        let (code, out, err) = indmon_at(
            dir.path(),
            &url,
            &cfg,
            now(),
            &[],
            &["dispatch", "--no-send"],
        );
        assert_eq!(code, 0, "{out}{err}");

        let mut serve = Daemon::start(dir.path(), &url, now());
        let until = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let rows = db.store.outbox_rows(&[]).await.expect("rows");
            if rows
                .iter()
                .all(|r| r.status == "pending" && r.attempts == 1)
            {
                break;
            }
            assert!(
                std::time::Instant::now() < until,
                "{rows:?}\n{}",
                serve.log()
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let (_, m) = serve.get("/metrics").expect("metrics");
        assert!(
            m.contains("indmon_outbox_undelivered{state=\"queued\"} 4"),
            "{m}"
        );
        assert!(
            m.contains("indmon_outbox_undelivered{state=\"failed\"} 0"),
            "{m}"
        );
        assert!(
            m.contains("indmon_outbox_oldest_undelivered_age_seconds "),
            "{m}"
        );
        let (code, body) = serve.get("/readyz").expect("readyz");
        assert_eq!(
            code, 200,
            "undelivered mail does not make the daemon unready: {body}"
        );
        let v: serde_json::Value = serde_json::from_str(&body).expect("json");
        assert_eq!(v["mail"]["undelivered"], 4, "{body}");
        assert!(
            v["mail"]["last_error"]
                .as_str()
                .is_some_and(|e| !e.is_empty()),
            "{body}"
        );
        assert_eq!(serve.stop(), 0, "{}", serve.log());

        // The server is up; a daemon standing after the first retry's backoff delivers all.
        let server = SmtpServer::start_on(port).await;
        let mut serve = Daemon::start(dir.path(), &url, now() + Duration::minutes(5));
        serve.eventually("delivered by the drain", |_| server.messages().len() == 4);
        serve.eventually("metrics show nothing undelivered", |s| {
            s.get("/metrics")
                .is_some_and(|(_, m)| m.contains("indmon_outbox_undelivered{state=\"queued\"} 0"))
        });
        assert_eq!(serve.stop(), 0, "{}", serve.log());
        let ledger = db.store.count("job_run").await.expect("count");
        assert_eq!(ledger, 0, "{}: no job ran", db.name);
        db.cleanup().await;
    }
}

/// A child `indmon serve` on a free port.
struct Daemon {
    child: std::process::Child,
    port: u16,
    log: std::path::PathBuf,
}

impl Daemon {
    fn start(dir: &std::path::Path, db: &str, at: chrono::DateTime<chrono::Utc>) -> Daemon {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        let log = dir.join(format!("serve-{port}.log"));
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_indmon"))
            .env("INDMON_LOG", "info,sqlx=warn")
            .env("INDMON_NOW", at.to_rfc3339())
            .env_remove("INDMON_DATABASE_URL")
            .arg("--config")
            .arg(dir.join("indmon.toml"))
            .args(["--database", db, "serve", "--listen"])
            .arg(format!("127.0.0.1:{port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log"))
            .spawn()
            .expect("spawn serve");
        Daemon { child, port, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// A plain HTTP/1.1 GET: (status, body).
    fn get(&self, path: &str) -> Option<(u16, String)> {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .ok()?;
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        )
        .ok()?;
        let mut raw = String::new();
        s.read_to_string(&mut raw).ok()?;
        let code = raw.split_whitespace().nth(1)?.parse().ok()?;
        Some((code, raw.split_once("\r\n\r\n")?.1.to_string()))
    }

    fn eventually(&mut self, what: &str, f: impl Fn(&Daemon) -> bool) {
        let until = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while !f(self) {
            assert!(
                std::time::Instant::now() < until,
                "timed out: {what}\n{}",
                self.log()
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }

    /// SIGTERM; the exit code.
    fn stop(&mut self) -> i32 {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.child
            .wait()
            .map(|s| s.code().unwrap_or(-1))
            .unwrap_or(-1)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
