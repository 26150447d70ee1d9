//! Email warnings, what each official is told: alerts in the store → dispatch → SMTP on
//! loopback → read back with a MIME parser. Scope, escaping, the attachment, and the rules of
//! what changed: nothing twice, escalation once to the supervisor, silences, reminders, 销号.

mod common;

use chrono::Duration;
use common::mail::*;
use common::smtp::SmtpServer;
use common::{TestDb, now};
use indmon::alerts::{Change, EventKind};
use indmon::notify;
use indmon::rules::Severity;
use mail_parser::MimeHeaders;

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
            Some("【工业运行预警】1—10月 东城区：红色1项 黄色1项")
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
        assert_eq!(m.subject(), Some("【工业运行预警】1—10月 西城区：橙色1项"));
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
            Some("【工业运行预警】1—10月 李副市长：红色1项")
        );

        let city = got
            .iter()
            .find(|m| to_of(m) == "city@gxj.example.cn")
            .expect("city");
        assert_eq!(
            parsed(&city.data).subject(),
            Some("【工业运行预警】1—10月 全市：红色1项 橙色1项 黄色1项")
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
            rescope: true,
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
        assert_eq!(zhang[0].1, "【工业运行预警】1—10月 张书记：红色1项");
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
        assert_eq!(xc[0].1, "【工业运行预警】1—10月 西城区：销号1项");
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

/// With `attachment = "xlsx"` the detail opens as a workbook whose cells are all strings, so a
/// name that looks like a formula stays text.
#[tokio::test]
async fn the_xlsx_attachment_opens_with_string_cells() {
    use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
    let db = TestDb::sqlite().await;
    let server = SmtpServer::start().await;
    let c = config(server.port, "attachment = \"xlsx\"");
    // The units registered, so that the 县区 column names them.
    common::registry(&db.store).await;
    seed(&db.store).await;
    dispatch_and_send(&db.store, &c, now()).await;
    let got = server.messages();
    let xc = got
        .iter()
        .find(|m| to_of(m) == "xc@example.cn")
        .expect("西城区 got mail");
    let m = parsed(&xc.data);
    let att = m.attachments().next().expect("attachment");
    assert_eq!(att.attachment_name(), Some("indmon-alerts-2026-10.xlsx"));
    let mut wb: Xlsx<_> =
        open_workbook_from_rs(std::io::Cursor::new(att.contents().to_vec())).expect("xlsx opens");
    let sheet = wb.worksheet_range("预警明细").expect("sheet");
    let rows: Vec<_> = sheet.rows().collect();
    // The title (the city and whose alerts), the note (period, count, unit), the header, the row.
    assert_eq!(rows.len(), 4);
    assert!(matches!(&rows[0][0], Data::String(t) if t.contains("工业运行预警明细（西城区）")));
    assert!(
        matches!(&rows[1][0], Data::String(t) if t.contains("2026年1—10月") && t.contains("共1项"))
    );
    assert_eq!(rows[2][0], Data::String("预警编号".into()));
    assert_eq!(rows[2][6], Data::String("县区".into()));
    assert_eq!(rows[3][5], Data::String("=北港化工".into()));
    assert_eq!(rows[3][6], Data::String("西湖县".into()), "330782 by name");
    assert!(rows[3].iter().all(|c| matches!(c, Data::String(_))));
    db.cleanup().await;
}

#[tokio::test]
async fn before_the_deadline_each_official_is_reminded_of_who_has_not_reported_and_after_it_not() {
    use indmon::daemon::jobs::{self, JobKind};
    for db in TestDb::all().await {
        let server = SmtpServer::start().await;
        let c = config(server.port, "");
        common::registry(&db.store).await;
        // Ten of the twelve report October; 北港化工 and 天成光伏 (both of leader03) do not.
        let unreported = [BEIGANG, "91330781901092811L"];
        let mut csv = String::from("credit_code,period,output\n");
        for line in std::fs::read_to_string(common::fixture("enterprises.csv"))
            .unwrap()
            .lines()
            .skip(1)
        {
            let code = line.split(',').next().unwrap();
            if !unreported.contains(&code) {
                csv.push_str(&format!("{code},2026-10,100\n"));
            }
        }
        let dir = tempfile::tempdir().unwrap();
        common::import_ok(&db.store, &[&common::write(&dir, "oct.csv", csv)]).await;

        // 8 November 09:00 Shanghai, the reminder job's default slot.
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-08T09:00:00+08:00")
            .unwrap()
            .to_utc();
        let out = jobs::run(&JobKind::Reminder, &db.store, &c, at)
            .await
            .expect("reminder job");
        assert_eq!(
            out.counts["period"], "2026-10",
            "{}: {}",
            db.name, out.counts
        );
        assert_eq!(out.counts["pending"], 2, "{}", out.counts);
        // The city and 东城区 (330781); 西城区 has no enterprise missing, 李副市长 wants orange
        // and above, 张书记 is responsible for none of them.
        assert_eq!(out.counts["reminders"], 2, "{}", out.counts);
        assert_eq!(out.counts["sent"], 2, "{}", out.counts);
        let got = server.messages();
        let mut to: Vec<&str> = got.iter().map(to_of).collect();
        to.sort();
        assert_eq!(to, ["city@gxj.example.cn", "dc@example.cn"], "{}", db.name);
        let dc = got.iter().find(|m| to_of(m) == "dc@example.cn").unwrap();
        let m = parsed(&dc.data);
        assert_eq!(
            m.subject(),
            Some("【报送提醒】2026年10月 东城区：2家规上企业尚未报送（11月10日24时截止）")
        );
        let text = m.body_text(0).expect("plain part").to_string();
        assert!(
            text.contains("北港化工有限公司（91330781190937864H）"),
            "{text}"
        );
        assert!(text.contains("天成光伏科技有限公司"), "{text}");
        assert!(
            !text.contains("南湖纺织"),
            "reported enterprises are not listed: {text}"
        );
        assert!(m.body_html(0).is_some_and(|h| h.contains("北港化工")));
        let rows = db.store.outbox_rows(&[]).await.unwrap();
        assert!(
            rows.iter().all(|r| r.items == 2 && r.status == "sent"),
            "{rows:?}"
        );

        // After the deadline the gap is an alert (未报), not a reminder: nothing more is sent.
        let late = at + Duration::days(3);
        let out = jobs::run(&JobKind::Reminder, &db.store, &c, late)
            .await
            .expect("reminder job");
        assert_eq!(
            out.counts["period"],
            serde_json::Value::Null,
            "{}",
            out.counts
        );
        assert_eq!(server.messages().len(), 2);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn thousands_of_new_alerts_are_written_in_batches_each_with_its_own_events() {
    for db in TestDb::all().await {
        // 2,345 alerts: three batches of the multi-row INSERT, the last one partial; every
        // other alert opens already escalated, so events per alert differ.
        let changes: Vec<Change> = (0..2345)
            .map(|i| {
                let f = finding(
                    "enterprise_stalled",
                    &format!("S{i:05}"),
                    &format!("企业{i}"),
                    "330781",
                    None,
                    Severity::Red,
                    1 + i % 3,
                );
                let mut events = vec![EventKind::Opened];
                if i % 2 == 1 {
                    events.push(EventKind::Escalated);
                }
                Change::Open { finding: f, events }
            })
            .collect();
        apply(&db.store, changes, now()).await;
        let alerts = db.store.alerts(&Default::default()).await.unwrap();
        assert_eq!(alerts.len(), 2345, "{}", db.name);
        let events = db.store.alert_events(0, None).await.unwrap();
        assert_eq!(events.len(), 2345 + 1172, "{}", db.name);
        for a in &alerts {
            let i: u32 = a.subject[1..].parse().unwrap();
            let mine: Vec<_> = events.iter().filter(|e| e.alert_id == a.id).collect();
            assert_eq!(
                mine.len(),
                1 + (i % 2) as usize,
                "{}: {}",
                db.name,
                a.subject
            );
            assert!(
                mine.iter()
                    .all(|e| e.message == a.message && e.consecutive == 1 + i % 3)
            );
            assert_eq!(mine[0].kind, EventKind::Opened);
        }
        db.cleanup().await;
    }
}
