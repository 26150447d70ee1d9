//! Email warnings end to end: alerts in the store → dispatch → outbox → SMTP on loopback → read
//! back with a MIME parser. The in-process server always runs; `smtp_e2e_starttls_and_auth`
//! also talks to Debian's aiosmtpd when `.ci/run` has started it (INDMON_TEST_SMTP).

mod common;
#[path = "common/smtp.rs"]
mod smtp;

use chrono::{DateTime, Duration, Utc};
use common::{TestDb, now};
use indmon::alerts::{Change, EventKind};
use indmon::config::Config;
use indmon::notify::{self, Step, Transport};
use indmon::rules::{Finding, Severity};
use indmon::store::Store;
use mail_parser::{MessageParser, MimeHeaders};
use smtp::SmtpServer;

const EVIL: &str = "<script>alert(1)</script>南湖机械";
const NANHU: &str = "913307811860913921";
const BEIGANG: &str = "91330781190937864H";

/// A configuration with four officials: the city, two districts, and an owner (包抓领导) whose
/// supervisor is the city official.
fn config(port: u16, extra_mail: &str) -> Config {
    let text = format!(
        r#"
[mail]
from = "市工信局运行监测 <indmon@gxj.example.cn>"
transport = "smtp"
host = "127.0.0.1"
port = {port}
security = "plain"
timeout_secs = 2
{extra_mail}

[[recipients]]
id = "city"
name = "王局长"
email = "city@gxj.example.cn"
role = "city"
label = "全市"

[[recipients]]
id = "dongcheng"
name = "东城区经信局"
email = "dc@example.cn"
role = "district"
label = "东城区"
units = ["330781"]
supervisor = "city"

[[recipients]]
id = "xicheng"
name = "西城区经信局"
email = "xc@example.cn"
role = "district"
label = "西城区"
units = ["330782"]

[[recipients]]
id = "li"
name = "李副市长"
email = "li@example.cn"
role = "owner"
min_severity = "orange"
supervisor = "zhang"

[[recipients]]
id = "zhang"
name = "张书记"
email = "zhang@example.cn"
role = "owner"
"#
    );
    let c = Config::parse(&text).expect("config");
    let problems = c.validate();
    assert!(problems.is_empty(), "{problems:?}");
    c
}

fn finding(
    rule: &str,
    subject: &str,
    name: &str,
    unit: &str,
    owner: Option<&str>,
    severity: Severity,
    consecutive: u32,
) -> Finding {
    let mut values = serde_json::Map::new();
    values.insert("v".into(), serde_json::json!(0));
    values.insert("base".into(), serde_json::json!(1200.5));
    Finding {
        rule: rule.into(),
        severity,
        subject: subject.into(),
        subject_name: name.into(),
        indicator: "output".into(),
        unit: unit.into(),
        scope: vec![unit.into(), "3307".into()],
        owner: owner.map(String::from),
        period: "2026-10".parse().expect("period"),
        consecutive,
        message: format!(
            "{name}10月工业总产值为0，上年同期1200.5万元，同比下降100.0%，连续{consecutive}个月停产"
        ),
        values,
    }
}

async fn apply(store: &Store, changes: Vec<Change>, at: DateTime<Utc>) {
    let eval = store
        .begin_evaluation("2026-10".parse().expect("period"), at.timestamp_millis())
        .await
        .expect("evaluation");
    store
        .apply_changes(eval, &changes, at.timestamp_millis())
        .await
        .expect("apply");
}

fn open(f: Finding) -> Change {
    Change::Open {
        finding: f,
        events: vec![EventKind::Opened],
    }
}

/// Three alerts: a red stalled enterprise with a hostile name in 东城区 owned by 李副市长, an
/// orange one in 西城区, and a yellow unit alert for 东城区.
async fn seed(store: &Store) {
    apply(
        store,
        vec![
            open(finding(
                "enterprise_stalled",
                NANHU,
                EVIL,
                "330781",
                Some("li"),
                Severity::Red,
                2,
            )),
            open(finding(
                "enterprise_semi_stalled",
                BEIGANG,
                "=北港化工",
                "330782",
                None,
                Severity::Orange,
                1,
            )),
            open(finding(
                "unit_below_target",
                "330781",
                "东城区",
                "330781",
                None,
                Severity::Yellow,
                1,
            )),
        ],
        now(),
    )
    .await;
}

/// Writes the outbox and drains it at `at`.
async fn dispatch_and_send(store: &Store, c: &Config, at: DateTime<Utc>) -> Vec<Step> {
    notify::dispatch(store, c, at).await.expect("dispatch");
    let t = Transport::from_config(c.mail.as_ref().expect("mail")).expect("transport");
    notify::drain(
        store,
        &t,
        &notify::policy(c.mail.as_ref().expect("mail")),
        at,
    )
    .await
    .expect("drain")
}

fn parsed(data: &[u8]) -> mail_parser::Message<'_> {
    MessageParser::default().parse(data).expect("parse message")
}

fn to_of(m: &smtp::Received) -> &str {
    m.to.first().map(String::as_str).unwrap_or("")
}

#[tokio::test]
async fn digests_read_back_with_a_mime_parser_show_only_the_recipients_scope() {
    for db in TestDb::all().await {
        let server = SmtpServer::start().await;
        let c = config(server.port, "");
        seed(&db.store).await;
        let steps = dispatch_and_send(&db.store, &c, now()).await;
        assert_eq!(steps.len(), 4, "{}: {steps:?}", db.name);
        let got = server.messages();
        assert_eq!(got.len(), 4);

        let dc = got
            .iter()
            .find(|m| to_of(m) == "dc@example.cn")
            .expect("东城区 got mail");
        let m = parsed(&dc.data);
        assert_eq!(
            m.subject(),
            Some("【工业运行预警】1-10月 东城区：红色1项 黄色1项")
        );
        assert!(
            m.message_id()
                .is_some_and(|id| id.ends_with("@gxj.example.cn"))
        );
        assert!(m.date().is_some());
        let text = m.body_text(0).expect("plain part");
        let html = m.body_html(0).expect("html part");
        assert!(
            text.contains(EVIL),
            "the plain part shows the name as it is"
        );
        assert!(text.contains("包抓领导 李副市长"), "{text}");
        assert!(text.contains("上年同期1200.5万元"), "{text}");
        assert!(!html.contains("<script>"), "{html}");
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;南湖机械"),
            "{html}"
        );
        assert!(
            !text.contains("北港化工") && !html.contains("北港化工"),
            "西城区 is out of scope"
        );
        let att = m.attachments().next().expect("attachment");
        assert_eq!(att.attachment_name(), Some("indmon-alerts-2026-10.csv"));
        let csv = att.contents();
        assert!(csv.starts_with(&[0xEF, 0xBB, 0xBF]), "BOM for Excel");
        let mut rows = csv::Reader::from_reader(&csv[3..]);
        let records: Vec<csv::StringRecord> = rows.records().map(|r| r.expect("csv row")).collect();
        assert_eq!(records.len(), 2);
        assert!(records.iter().any(|r| &r[5] == EVIL));
        assert!(!String::from_utf8_lossy(csv).contains(BEIGANG));

        let xc = got
            .iter()
            .find(|m| to_of(m) == "xc@example.cn")
            .expect("西城区 got mail");
        let m = parsed(&xc.data);
        assert_eq!(m.subject(), Some("【工业运行预警】1-10月 西城区：橙色1项"));
        assert!(!m.body_text(0).expect("text").contains("南湖"));
        let csv = m
            .attachments()
            .next()
            .expect("attachment")
            .contents()
            .to_vec();
        let text = String::from_utf8_lossy(&csv);
        assert!(
            text.contains("'=北港化工"),
            "a formula-looking name stays text: {text}"
        );

        // The owner sees the enterprise he is responsible for, at orange and above only.
        let li = got
            .iter()
            .find(|m| to_of(m) == "li@example.cn")
            .expect("owner got mail");
        let m = parsed(&li.data);
        assert_eq!(
            m.subject(),
            Some("【工业运行预警】1-10月 李副市长：红色1项")
        );

        let city = got
            .iter()
            .find(|m| to_of(m) == "city@gxj.example.cn")
            .expect("city");
        assert_eq!(
            parsed(&city.data).subject(),
            Some("【工业运行预警】1-10月 全市：红色1项 橙色1项 黄色1项")
        );
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_second_dispatch_with_nothing_new_sends_nothing() {
    for db in TestDb::all().await {
        let server = SmtpServer::start().await;
        let c = config(server.port, "");
        seed(&db.store).await;
        dispatch_and_send(&db.store, &c, now()).await;
        let d = notify::dispatch(&db.store, &c, now() + Duration::hours(1))
            .await
            .expect("dispatch");
        assert!(d.digests.is_empty(), "{}: {d:?}", db.name);
        assert_eq!(server.messages().len(), 4);
        db.cleanup().await;
    }
}

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

/// Sends what is due and returns the messages received since `before`, by recipient address.
async fn delivered(
    store: &Store,
    c: &Config,
    server: &SmtpServer,
    at: DateTime<Utc>,
) -> Vec<(String, String, String)> {
    let before = server.messages().len();
    dispatch_and_send(store, c, at).await;
    server.messages()[before..]
        .iter()
        .map(|m| {
            let p = parsed(&m.data);
            (
                to_of(m).to_string(),
                p.subject().unwrap_or("").to_string(),
                p.body_text(0).map(|t| t.to_string()).unwrap_or_default(),
            )
        })
        .collect()
}

#[tokio::test]
async fn escalation_reaches_the_supervisor_once() {
    for db in TestDb::all().await {
        let server = SmtpServer::start().await;
        let c = config(server.port, "");
        seed(&db.store).await;
        let first = delivered(&db.store, &c, &server, now()).await;
        assert!(
            first.iter().all(|(to, ..)| to != "zhang@example.cn"),
            "not escalated yet"
        );
        let id = db
            .store
            .alerts(&Default::default())
            .await
            .expect("alerts")
            .into_iter()
            .find(|a| a.subject == NANHU)
            .expect("alert")
            .id;

        let update = |n: u32, events: Vec<EventKind>| Change::Update {
            id,
            finding: finding(
                "enterprise_stalled",
                NANHU,
                EVIL,
                "330781",
                Some("li"),
                Severity::Red,
                n,
            ),
            events,
        };
        apply(
            &db.store,
            vec![update(3, vec![EventKind::Escalated])],
            now() + Duration::hours(1),
        )
        .await;
        let second = delivered(&db.store, &c, &server, now() + Duration::hours(2)).await;
        let zhang: Vec<_> = second
            .iter()
            .filter(|(to, ..)| to == "zhang@example.cn")
            .collect();
        assert_eq!(zhang.len(), 1, "{}: {second:?}", db.name);
        assert_eq!(zhang[0].1, "【工业运行预警】1-10月 张书记：红色1项");
        assert!(
            zhang[0].2.contains("[升级督办]") && zhang[0].2.contains("已连续3期"),
            "{}",
            zhang[0].2
        );
        let li: Vec<_> = second
            .iter()
            .filter(|(to, ..)| to == "li@example.cn")
            .collect();
        assert!(
            li.len() == 1 && li[0].2.contains("[升级督办]"),
            "{second:?}"
        );

        // The streak goes on: nobody is told again.
        apply(
            &db.store,
            vec![update(4, vec![])],
            now() + Duration::hours(3),
        )
        .await;
        let third = delivered(&db.store, &c, &server, now() + Duration::hours(4)).await;
        assert!(third.is_empty(), "{}: {third:?}", db.name);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn silenced_alerts_wait_until_the_silence_ends() {
    let db = TestDb::sqlite().await;
    let server = SmtpServer::start().await;
    let c = config(server.port, "");
    seed(&db.store).await;
    let matcher = indmon::alerts::SilenceMatcher {
        subject: Some(NANHU.into()),
        ..Default::default()
    };
    let t0 = now().timestamp_millis();
    db.store
        .add_silence(
            &matcher,
            t0,
            t0 + 10 * 86_400_000,
            "三年一次的停产检修",
            "王局长",
            t0,
        )
        .await
        .expect("silence");
    let first = delivered(&db.store, &c, &server, now()).await;
    assert!(
        first.iter().all(|(to, ..)| to != "li@example.cn"),
        "{first:?}"
    );
    assert!(
        first.iter().all(|(_, _, text)| !text.contains("南湖机械")),
        "{first:?}"
    );

    let after = delivered(&db.store, &c, &server, now() + Duration::days(11)).await;
    let li: Vec<_> = after
        .iter()
        .filter(|(to, ..)| to == "li@example.cn")
        .collect();
    assert!(li.len() == 1 && li[0].2.contains("[新增]"), "{after:?}");
    db.cleanup().await;
}

#[tokio::test]
async fn unacknowledged_alerts_are_repeated_after_the_interval_and_resolutions_are_told() {
    for db in TestDb::all().await {
        let server = SmtpServer::start().await;
        let c = config(server.port, "repeat_interval_hours = 72");
        seed(&db.store).await;
        delivered(&db.store, &c, &server, now()).await;
        assert!(
            delivered(&db.store, &c, &server, now() + Duration::hours(71))
                .await
                .is_empty()
        );

        let alerts = db.store.alerts(&Default::default()).await.expect("alerts");
        let unit = alerts
            .iter()
            .find(|a| a.subject == "330781")
            .expect("unit alert");
        db.store
            .set_alert_state(
                unit.id,
                indmon::alerts::AlertState::Acknowledged,
                "东城区经信局",
                "已约谈",
                now().timestamp_millis(),
            )
            .await
            .expect("ack");
        let beigang = alerts.iter().find(|a| a.subject == BEIGANG).expect("alert");
        apply(
            &db.store,
            vec![Change::Resolve {
                id: beigang.id,
                period: "2026-10".parse().expect("period"),
            }],
            now() + Duration::hours(72),
        )
        .await;
        let later = delivered(&db.store, &c, &server, now() + Duration::hours(73)).await;
        let dc: Vec<_> = later
            .iter()
            .filter(|(to, ..)| to == "dc@example.cn")
            .collect();
        assert_eq!(dc.len(), 1, "{later:?}");
        assert!(
            dc[0].2.contains("[仍未认领]") && dc[0].2.contains("南湖机械"),
            "{}",
            dc[0].2
        );
        assert!(
            !dc[0].2.contains("东城区（330781）"),
            "an acknowledged alert is not repeated: {}",
            dc[0].2
        );
        let xc: Vec<_> = later
            .iter()
            .filter(|(to, ..)| to == "xc@example.cn")
            .collect();
        assert_eq!(xc.len(), 1, "{later:?}");
        assert_eq!(xc[0].1, "【工业运行预警】1-10月 西城区：销号1项");
        assert!(xc[0].2.contains("[已销号]"), "{}", xc[0].2);
        // The owner was never told about 北港化工 (below his minimum severity): no 销号 either.
        assert!(
            later
                .iter()
                .filter(|(to, ..)| to == "li@example.cn")
                .all(|(_, _, t)| !t.contains("北港"))
        );
        db.cleanup().await;
    }
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
    let extra = format!(
        "user = \"{}\"\npassword = {{ file = \"{}\" }}\nca_file = \"{}\"",
        var("INDMON_TEST_SMTP_USER"),
        var("INDMON_TEST_SMTP_PASSWORD_FILE"),
        var("INDMON_TEST_SMTP_CA"),
    );
    let text = format!(
        "[mail]\nfrom = \"市工信局 <indmon@gxj.example.cn>\"\nhost = \"{host}\"\nport = {port}\nsecurity = \"starttls\"\ntimeout_secs = 10\n{extra}\n\n[[recipients]]\nid = \"city\"\nname = \"王局长\"\nemail = \"city@gxj.example.cn\"\nrole = \"city\"\nlabel = \"全市\"\n"
    );
    let c = Config::parse(&text).expect("config");
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
}
