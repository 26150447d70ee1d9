//! Cases (交办 → 反馈 → 销号) on both backends: opened from firing alerts once, dated from the
//! delivery of the first digest on the working-day calendar, answered, requested, approved or
//! returned by the actors allowed to, closed by themselves when the alert resolves, and
//! followed by a new case when the city closed one whose condition persists.

mod common;

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use common::{TestDb, shanghai};
use indmon::alerts::{Change, EventKind};
use indmon::calendar::Calendar;
use indmon::cases::{AnswerInput, CaseError, CaseState, Desk, ListFilter, Who};
use indmon::config::Config;
use indmon::notify::outbox::{Notified, OutboxWrite};
use indmon::period::Period;
use indmon::rules::{Finding, Rule, Severity};
use indmon::store::Store;

const CONFIG: &str = r#"
[mail]
from = "m <m@x.cn>"
transport = "file"
file_dir = "/tmp"
[[recipients]]
id = "city"
name = "市工信局"
email = "c@x.cn"
role = "city"
[[recipients]]
id = "east"
name = "东区经信局"
email = "e@x.cn"
role = "district"
units = ["3301"]
case_owner = true
[[recipients]]
id = "west"
name = "西区经信局"
email = "w@x.cn"
role = "district"
units = ["3302"]
case_owner = true
[[recipients]]
id = "zone"
name = "高新区"
email = "z@x.cn"
role = "zone"
units = ["ZK01"]
"#;

const E1: &str = "91330100MA2AAAAA1X";
const E2: &str = "91330200MA2BBBBB2Y";
const E3: &str = "91330100MA2CCCCC3Z";

fn finding(rule: Rule, subject: &str, unit: &str, severity: Severity, period: &str) -> Finding {
    let mut scope = vec![unit.to_string()];
    if unit == "3301" {
        scope.push("ZK01".into());
    }
    scope.push("33".into());
    Finding {
        rule,
        severity,
        subject: subject.into(),
        subject_name: format!("企业{}", &subject[14..]),
        indicator: "output".into(),
        unit: unit.into(),
        scope,
        owner: None,
        period: period.parse::<Period>().unwrap(),
        consecutive: 1,
        message: "停产".into(),
        values: serde_json::Map::new(),
    }
}

/// [`CONFIG`] with three 企业微信 group robots: the west district's, the east's, and one
/// speaking for the city and the west district together.
fn robot_config() -> Config {
    let mut text = CONFIG.to_string();
    for (id, recipients) in [
        ("west-group", r#"["west"]"#),
        ("east-group", r#"["east"]"#),
        ("city-group", r#"["city", "west"]"#),
    ] {
        text.push_str(&format!(
            "[[robots]]\nid = \"{id}\"\nname = \"群\"\nkind = \"wecom\"\n\
             webhook = {{ env = \"INDMON_TEST_ROBOT_WEBHOOK\" }}\n\
             recipients = {recipients}\nconsole_url = \"https://c.example.cn/\"\n"
        ));
    }
    Config::parse(&text).unwrap()
}

fn desk(store: &Store) -> Desk {
    let config = Config::parse(CONFIG).unwrap();
    assert!(config.validate().is_empty(), "{:?}", config.validate());
    Desk::with(
        store.clone(),
        config.cases.clone(),
        config.recipients.clone(),
        Arc::new(Calendar::official().unwrap()),
    )
}

/// Writes `changes` as an evaluation would.
async fn evaluate(store: &Store, changes: &[Change], now: DateTime<Utc>) {
    let period = match &changes[0] {
        Change::Open { finding, .. }
        | Change::Reopen { finding, .. }
        | Change::Update { finding, .. } => finding.period,
        Change::Resolve { period, .. } => *period,
    };
    let id = store
        .begin_evaluation(period, now.timestamp_millis())
        .await
        .unwrap();
    store
        .apply_changes(id, changes, now.timestamp_millis())
        .await
        .unwrap();
}

fn open(f: Finding) -> Change {
    Change::Open {
        finding: f,
        events: vec![EventKind::Opened],
    }
}

/// Queues a digest to `recipient` covering `alert_ids` and delivers it at `at`.
async fn deliver(store: &Store, recipient: &str, alert_ids: &[i64], at: DateTime<Utc>) {
    let ms = at.timestamp_millis();
    let covers = alert_ids
        .iter()
        .map(|&alert_id| Notified {
            recipient: recipient.into(),
            alert_id,
            severity: Severity::Orange,
            state: "firing".into(),
            escalated: false,
            last_at: ms,
        })
        .collect();
    let w = OutboxWrite {
        recipient: recipient.into(),
        to_addr: "e@x.cn".into(),
        from_addr: "m@x.cn".into(),
        subject: "预警".into(),
        message: b"x".to_vec(),
        message_id: format!("<{recipient}-{ms}@x>"),
        items: alert_ids.len(),
        covers,
        notes_delayed: Vec::new(),
    };
    store.write_digests(&[w], &[], ms).await.unwrap();
    let c = store.claim_outbox(ms, ms).await.unwrap().expect("claimed");
    store.mark_sent(c.id, ms).await.unwrap();
}

fn answer(cause: &str, version: Option<i64>) -> AnswerInput {
    AnswerInput {
        cause: cause.into(),
        situation: "订单减少，<script>alert(1)</script> 生产线停了两条".into(),
        measures: "=HYPERLINK(\"x\") 协调银行续贷".into(),
        resume_month: Some("2026-12".into()),
        coordination: "需市级协调电力增容".into(),
        expected_version: version,
        via: "console".into(),
    }
}

async fn alert_id(store: &Store, subject: &str) -> i64 {
    store
        .alerts(&Default::default())
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.subject == subject)
        .unwrap()
        .id
}

/// The cases of both enterprises are opened once, owned by their districts, dated from the
/// delivery over the 2026 National Day and 中秋 holidays; the owner answers, requests 销号, and
/// the city approves; other officials are refused.
#[tokio::test]
async fn a_case_is_answered_requested_and_approved_by_those_allowed() {
    for db in TestDb::all().await {
        let s = &db.store;
        let d = desk(s);
        let t0 = shanghai(2026, 9, 24, 10);
        evaluate(
            s,
            &[
                open(finding(
                    Rule::EnterpriseStalled,
                    E1,
                    "3301",
                    Severity::Orange,
                    "2026-08",
                )),
                open(finding(
                    Rule::EnterpriseStalled,
                    E2,
                    "3302",
                    Severity::Yellow,
                    "2026-08",
                )),
                open(finding(
                    Rule::EnterpriseReduced,
                    E3,
                    "3301",
                    Severity::Blue,
                    "2026-08",
                )),
            ],
            t0,
        )
        .await;
        let first = d.sync(t0).await.unwrap();
        assert_eq!(first.opened, 2, "{}: blue 减产 makes no case", db.name);
        let again = d.sync(t0).await.unwrap();
        assert_eq!(again.opened, 0, "{}: one case per alert", db.name);
        let city = Who::recipient("city", Some("203.0.113.9"));
        let east = Who::recipient("east", Some("198.51.100.7"));
        let all = d.list_for(&city, t0).await.unwrap();
        assert_eq!(all.len(), 2, "{}", db.name);
        let second = ListFilter {
            page: Some((1, 1)),
            ..ListFilter::default()
        };
        let page = d.page(&city, &second, t0).await.unwrap();
        assert_eq!(page.total, 2);
        assert_eq!(page.cases.len(), 1);
        assert_eq!(
            page.cases[0].id, all[1].id,
            "{}: the same order, paged",
            db.name
        );
        let (a1, a2) = (alert_id(s, E1).await, alert_id(s, E2).await);
        let c1 = all.iter().find(|c| c.alert_id == a1).unwrap().clone();
        let c2 = all.iter().find(|c| c.alert_id == a2).unwrap().clone();
        assert_eq!(c1.owner.as_deref(), Some("east"));
        assert_eq!(c2.owner.as_deref(), Some("west"));
        assert_eq!(c1.due_at, None, "not delivered: no deadline yet");

        // Delivered on Friday 25 September, itself 中秋节: day 0. Working days follow on
        // 28, 29, 30 September, 8 and 9 October (1–7 October off): due 9 October 18:00; 督办
        // after Saturday 10 October (调休上班), 12 and 13 October.
        deliver(s, "east", &[a1], shanghai(2026, 9, 25, 9)).await;
        let mine = d.list_for(&east, t0).await.unwrap();
        assert_eq!(mine.len(), 1, "{}: east sees its own case only", db.name);
        assert_eq!(mine[0].id, c1.id);
        assert_eq!(
            mine[0].due_at,
            Some(shanghai(2026, 10, 9, 18).timestamp_millis())
        );
        assert_eq!(
            mine[0].escalate_at,
            Some(shanghai(2026, 10, 13, 18).timestamp_millis())
        );

        let zone = Who::recipient("zone", None);
        assert_eq!(d.list_for(&zone, t0).await.unwrap().len(), 1, "{}", db.name);
        assert!(d.get(&zone, c1.id, t0).await.is_ok());
        let refused = d.answer(&zone, c1.id, &answer("资金紧张", None), t0).await;
        assert!(
            matches!(refused, Err(CaseError::Forbidden)),
            "{}: zone does not own",
            db.name
        );
        let refused = d.get(&east, c2.id, t0).await;
        assert!(
            matches!(refused, Err(CaseError::Forbidden)),
            "{}: cross-scope read",
            db.name
        );
        let refused = d.answer(&east, c2.id, &answer("资金紧张", None), t0).await;
        assert!(
            matches!(refused, Err(CaseError::Forbidden)),
            "{}: cross-scope write",
            db.name
        );
        assert!(matches!(
            d.get(&east, 999_999, t0).await,
            Err(CaseError::NotFound(_))
        ));
        let bad = d.answer(&east, c1.id, &answer("天气不好", None), t0).await;
        assert!(
            matches!(bad, Err(CaseError::Invalid { field: "cause", .. })),
            "{}",
            db.name
        );

        let on_time = shanghai(2026, 10, 9, 17);
        let answered = d
            .answer(&east, c1.id, &answer("资金紧张", Some(c1.version)), on_time)
            .await
            .unwrap();
        assert_eq!(answered.state, CaseState::Answered);
        assert!(!answered.late, "{}", db.name);
        let refused = d.approve_close(&east, c1.id, "", on_time).await;
        assert!(matches!(refused, Err(CaseError::Forbidden)), "{}", db.name);
        let refused = d.approve_close(&city, c1.id, "", on_time).await;
        assert!(
            matches!(
                refused,
                Err(CaseError::WrongState {
                    state: CaseState::Answered,
                    ..
                })
            ),
            "{}: 销号 needs a request",
            db.name
        );
        let requested = d
            .request_close(&east, c1.id, "已复产", on_time)
            .await
            .unwrap();
        assert_eq!(requested.state, CaseState::CloseRequested);
        let closed = d
            .approve_close(&city, c1.id, "同意销号", on_time)
            .await
            .unwrap();
        assert_eq!(closed.state, CaseState::Closed);
        assert_eq!(closed.close_reason.as_deref(), Some("approved"));
        assert_eq!(closed.closed_by.as_deref(), Some("city"));

        let detail = d.get(&east, c1.id, on_time).await.unwrap();
        let kinds: Vec<&str> = detail.events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "opened",
                "delivered",
                "answered",
                "close_requested",
                "closed"
            ]
        );
        assert_eq!(detail.answers.len(), 1);
        let a = &detail.answers[0];
        assert!(
            a.situation.contains("<script>"),
            "stored as given, escaped where shown"
        );
        assert_eq!(a.resume_month.as_deref(), Some("2026-12"));
        assert_eq!(a.client_addr.as_deref(), Some("198.51.100.7"));
        let audit = d.audit_log(&city, Some(c1.id)).await.unwrap();
        let rows: Vec<(&str, &str, Option<&str>)> = audit
            .iter()
            .map(|e| {
                (
                    e.actor.as_str(),
                    e.action.as_str(),
                    e.client_addr.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            rows,
            [
                ("east", "answered", Some("198.51.100.7")),
                ("east", "close_requested", Some("198.51.100.7")),
                ("city", "closed", Some("203.0.113.9")),
            ]
        );
        assert!(matches!(
            d.audit_log(&east, None).await,
            Err(CaseError::Forbidden)
        ));
        db.cleanup().await;
    }
}

/// An answer after the due time is counted late; the city returns the answer with a new due
/// date; an answer written against the version before the return (an old 反馈表) is refused.
#[tokio::test]
async fn a_late_answer_is_late_and_a_returned_case_refuses_a_stale_answer() {
    for db in TestDb::all().await {
        let s = &db.store;
        let d = desk(s);
        let t0 = shanghai(2026, 11, 2, 10);
        evaluate(
            s,
            &[open(finding(
                Rule::EnterpriseStalled,
                E2,
                "3302",
                Severity::Yellow,
                "2026-10",
            ))],
            t0,
        )
        .await;
        d.sync(t0).await.unwrap();
        let a2 = alert_id(s, E2).await;
        deliver(s, "west", &[a2], t0).await;
        let west = Who::recipient("west", Some("192.0.2.1"));
        let city = Who::recipient("city", None);
        // Monday 2 November + 5 working days: Monday 9 November, 18:00.
        let late_at = shanghai(2026, 11, 9, 19);
        let list = d.list_for(&west, late_at).await.unwrap();
        assert_eq!(
            list[0].due_at,
            Some(shanghai(2026, 11, 9, 18).timestamp_millis())
        );
        assert!(list[0].overdue(late_at.timestamp_millis()), "{}", db.name);
        let overdue = ListFilter {
            overdue: true,
            page: Some((0, 10)),
            ..ListFilter::default()
        };
        let page = d.page(&city, &overdue, late_at).await.unwrap();
        assert_eq!((page.total, page.cases.len()), (1, 1), "{}", db.name);
        let before = d
            .page(&city, &overdue, shanghai(2026, 11, 9, 17))
            .await
            .unwrap();
        assert_eq!((before.total, before.cases.len()), (0, 0), "{}", db.name);
        // The group robots count it as 超期未反馈 for the groups that see it, once each.
        let robots = robot_config();
        let overdue_at = |t| indmon::notify::robot::overdue_cases(s, &robots, t);
        let counts = overdue_at(late_at).await.unwrap();
        assert_eq!(counts.get("west-group"), Some(&1), "{}", db.name);
        assert_eq!(counts.get("east-group"), Some(&0), "{}", db.name);
        assert_eq!(counts.get("city-group"), Some(&1), "{}", db.name);
        let counts = overdue_at(shanghai(2026, 11, 9, 17)).await.unwrap();
        assert_eq!(counts.get("west-group"), Some(&0), "{}", db.name);
        let v1 = list[0].version;
        let c = d
            .answer(
                &west,
                list[0].id,
                &answer("订单不足/市场需求", Some(v1)),
                late_at,
            )
            .await
            .unwrap();
        assert!(c.late, "{}", db.name);
        assert!(
            !c.overdue(late_at.timestamp_millis()),
            "answered: no longer overdue"
        );
        d.request_close(&west, c.id, "", late_at).await.unwrap();
        let new_due = NaiveDate::from_ymd_opt(2026, 11, 16).unwrap();
        let returned = d
            .return_case(&city, c.id, "措施不具体，请补充", Some(new_due), late_at)
            .await
            .unwrap();
        assert_eq!(returned.state, CaseState::Returned);
        assert_eq!(
            returned.due_at,
            Some(shanghai(2026, 11, 16, 18).timestamp_millis())
        );
        assert_eq!(
            returned.escalate_at,
            Some(shanghai(2026, 11, 19, 18).timestamp_millis())
        );
        let empty_note = d.return_case(&city, c.id, " ", None, late_at).await;
        assert!(matches!(
            empty_note,
            Err(CaseError::Invalid { field: "note", .. })
        ));
        let refused = d.request_close(&west, c.id, "", late_at).await;
        assert!(matches!(
            refused,
            Err(CaseError::WrongState {
                state: CaseState::Returned,
                ..
            })
        ));
        let stale = d
            .answer(&west, c.id, &answer("资金紧张", Some(v1)), late_at)
            .await;
        assert!(
            matches!(stale, Err(CaseError::Stale { given, current }) if given == v1 && current == returned.version),
            "{}: {stale:?}",
            db.name
        );
        let again = d
            .answer(
                &west,
                c.id,
                &answer("资金紧张", Some(returned.version)),
                shanghai(2026, 11, 12, 9),
            )
            .await
            .unwrap();
        assert_eq!(again.state, CaseState::Answered);
        let answers = d.get(&west, c.id, late_at).await.unwrap().answers;
        assert_eq!(
            answers.iter().map(|a| a.late).collect::<Vec<_>>(),
            [true, false]
        );
        db.cleanup().await;
    }
}

/// 销号 by the city while the enterprise is still stalled: the same period evaluated again
/// opens nothing; the next period that still finds it opens a new case linked to the old one.
#[tokio::test]
async fn a_case_closed_while_the_condition_persists_reopens_at_the_next_period() {
    for db in TestDb::all().await {
        let s = &db.store;
        let d = desk(s);
        let t0 = shanghai(2026, 11, 2, 10);
        let oct = finding(
            Rule::EnterpriseStalled,
            E1,
            "3301",
            Severity::Orange,
            "2026-10",
        );
        evaluate(s, &[open(oct.clone())], t0).await;
        d.sync(t0).await.unwrap();
        let east = Who::recipient("east", None);
        let city = Who::recipient("city", None);
        let c = d.list_for(&east, t0).await.unwrap().remove(0);
        d.answer(&east, c.id, &answer("设备检修或技改", None), t0)
            .await
            .unwrap();
        d.request_close(&east, c.id, "", t0).await.unwrap();
        d.approve_close(&city, c.id, "", t0).await.unwrap();
        assert_eq!(
            d.sync(t0).await.unwrap().opened,
            0,
            "{}: same period",
            db.name
        );

        let a1 = alert_id(s, E1).await;
        let nov = Finding {
            period: "2026-11".parse().unwrap(),
            consecutive: 2,
            ..oct
        };
        let t1 = shanghai(2026, 12, 2, 10);
        evaluate(
            s,
            &[Change::Update {
                id: a1,
                finding: nov,
                events: vec![],
                rescope: true,
            }],
            t1,
        )
        .await;
        let r = d.sync(t1).await.unwrap();
        assert_eq!((r.opened, r.reopened), (1, 1), "{}", db.name);
        let list = d.list_for(&east, t1).await.unwrap();
        assert_eq!(list.len(), 2);
        let new = &list[0];
        assert_eq!(new.state, CaseState::Assigned, "open cases come first");
        assert_eq!(new.previous_case, Some(c.id));
        assert_eq!(new.period, "2026-11");
        let kinds: Vec<String> = d
            .get(&east, new.id, t1)
            .await
            .unwrap()
            .events
            .into_iter()
            .map(|e| e.kind)
            .collect();
        assert_eq!(kinds, ["reopened"]);
        assert_eq!(d.sync(t1).await.unwrap().opened, 0, "{}: twice", db.name);
        db.cleanup().await;
    }
}

/// When the alert resolves (the enterprise produces again), its case closes by itself; when it
/// fires again later, a new case opens.
#[tokio::test]
async fn a_case_closes_by_itself_when_its_alert_resolves() {
    for db in TestDb::all().await {
        let s = &db.store;
        let d = desk(s);
        let t0 = shanghai(2026, 11, 2, 10);
        let oct = finding(
            Rule::EnterpriseSemiStalled,
            E1,
            "3301",
            Severity::Yellow,
            "2026-10",
        );
        evaluate(s, &[open(oct.clone())], t0).await;
        d.sync(t0).await.unwrap();
        let a1 = alert_id(s, E1).await;
        let east = Who::recipient("east", None);
        let c = d.list_for(&east, t0).await.unwrap().remove(0);
        d.answer(&east, c.id, &answer("用工", None), t0)
            .await
            .unwrap();

        let t1 = shanghai(2026, 12, 2, 10);
        let nov: Period = "2026-11".parse().unwrap();
        evaluate(
            s,
            &[Change::Resolve {
                id: a1,
                period: nov,
            }],
            t1,
        )
        .await;
        let r = d.sync(t1).await.unwrap();
        assert_eq!((r.closed, r.opened), (1, 0), "{}", db.name);
        let closed = d.get(&east, c.id, t1).await.unwrap();
        assert_eq!(closed.case.state, CaseState::Closed);
        assert_eq!(closed.case.close_reason.as_deref(), Some("resolved"));
        assert_eq!(closed.case.closed_by.as_deref(), Some("indmon"));
        assert_eq!(closed.events.last().unwrap().kind, "closed");
        assert!(
            d.audit_log(&Who::operator("root"), Some(c.id))
                .await
                .unwrap()
                .len()
                == 1,
            "the answer only"
        );

        let dec = Finding {
            period: "2026-12".parse().unwrap(),
            ..oct
        };
        // The alert was told before it fires again: the new case is delivered when it opens.
        deliver(s, "east", &[a1], shanghai(2026, 11, 3, 9)).await;
        evaluate(
            s,
            &[Change::Reopen {
                id: a1,
                finding: dec,
                events: vec![EventKind::Reopened],
            }],
            t1,
        )
        .await;
        let r = d.sync(t1).await.unwrap();
        assert_eq!((r.opened, r.dated), (1, 1), "{}", db.name);
        let list = d.list_for(&east, t1).await.unwrap();
        assert_eq!(list[0].previous_case, Some(c.id));
        assert_eq!(list[0].delivered_at, Some(t1.timestamp_millis()));
        assert_eq!(
            list[0].due_at,
            Some(shanghai(2026, 12, 9, 18).timestamp_millis())
        );
        db.cleanup().await;
    }
}

fn indmon(dir: &std::path::Path, args: &[&str]) -> (i32, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_indmon"))
        .current_dir(dir)
        .env_remove("INDMON_DATABASE_URL")
        .env("INDMON_NOW", "2026-12-03T02:00:00Z")
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

/// check-config reads the units of the database: a unit where enterprises report and no
/// recipient owns cases is rejected; it warns that the calendar ends within 60 days. `cases
/// list` and `audit` print their tables.
#[test]
fn check_config_rejects_a_unit_with_cases_and_no_owner_and_warns_of_the_calendar() {
    let dir = tempfile::tempdir().unwrap();
    let db = ["--database", "sqlite://cases.db"];
    let fixture = |n: &str| format!("{}/tests/fixtures/{n}", env!("CARGO_MANIFEST_DIR"));
    let (code, out) = indmon(
        dir.path(),
        &[
            db[0],
            db[1],
            "import",
            &fixture("units.csv"),
            &fixture("enterprises.csv"),
        ],
    );
    assert_eq!(code, 0, "{out}");
    let base = "[mail]\nfrom = \"m <m@x.cn>\"\ntransport = \"file\"\nfile_dir = \"mail\"\n\
                [[recipients]]\nid = \"east\"\nname = \"东岭区\"\nemail = \"e@x.cn\"\nrole = \"district\"\nunits = [\"330781\"]\n";
    std::fs::write(dir.path().join("indmon.toml"), base).unwrap();
    let (code, out) = indmon(dir.path(), &[db[0], db[1], "check-config"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("330781") && out.contains("case_owner"),
        "{out}"
    );
    assert!(
        out.contains("2026-12-31") && out.contains("2027"),
        "calendar warning: {out}"
    );

    std::fs::write(
        dir.path().join("indmon.toml"),
        format!("{base}case_owner = true\n"),
    )
    .unwrap();
    let (code, out) = indmon(dir.path(), &[db[0], db[1], "check-config"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("注意 (warning)"), "{out}");

    let extra = dir.path().join("2027.csv");
    std::fs::write(&extra, "date,kind,name\n2027-01-01,holiday,元旦\n").unwrap();
    std::fs::write(
        dir.path().join("indmon.toml"),
        format!(
            "{base}case_owner = true\n[calendar]\nextra = \"{}\"\n",
            extra.display()
        ),
    )
    .unwrap();
    let (code, out) = indmon(dir.path(), &[db[0], db[1], "check-config"]);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("注意 (warning)"), "{out}");

    let (code, out) = indmon(dir.path(), &[db[0], db[1], "cases", "list", "--overdue"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("共 0 件"), "{out}");
    let (code, out) = indmon(dir.path(), &[db[0], db[1], "audit"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("共 0 条"), "{out}");
}

/// Not a check: the time one sync takes to open a province's cases (`cargo test --test cases
/// -- --ignored --nocapture`; debug build).
#[tokio::test]
#[ignore]
async fn time_the_sync_of_a_province() {
    let n: usize = std::env::var("INDMON_CASES_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000);
    for db in TestDb::all().await {
        let s = &db.store;
        let d = desk(s);
        let t0 = shanghai(2026, 11, 2, 10);
        let changes: Vec<Change> = (0..n)
            .map(|i| {
                let code = format!("9133010{i:011}");
                let unit = if i % 2 == 0 { "3301" } else { "3302" };
                open(finding(
                    Rule::EnterpriseStalled,
                    &code,
                    unit,
                    Severity::Orange,
                    "2026-10",
                ))
            })
            .collect();
        evaluate(s, &changes, t0).await;
        let started = std::time::Instant::now();
        let r = d.sync(t0).await.unwrap();
        let first = started.elapsed();
        let started = std::time::Instant::now();
        let again = d.sync(t0).await.unwrap();
        let second = started.elapsed();
        let started = std::time::Instant::now();
        let all = d.list_for(&Who::recipient("city", None), t0).await.unwrap();
        let list = started.elapsed();
        let started = std::time::Instant::now();
        let filter = ListFilter {
            open: true,
            page: Some((100, 50)),
            ..ListFilter::default()
        };
        let page = d
            .page(&Who::recipient("city", None), &filter, t0)
            .await
            .unwrap();
        eprintln!(
            "{}: a page of {} of {}: {:?}",
            db.name,
            page.cases.len(),
            page.total,
            started.elapsed()
        );
        eprintln!(
            "{}: {n} alerts: first sync {:?} ({} opened), again {:?} ({} opened), city list {:?} ({})",
            db.name,
            first,
            r.opened,
            second,
            again.opened,
            list,
            all.len()
        );
        db.cleanup().await;
    }
}

/// `indmon evaluate` opens the cases of its alerts (those of 东岭区 owned by its case owner,
/// the enterprises' leaders not being recipients; none about the city itself), once:
/// evaluating again opens none, a dry run touches none. Every rule but source failures makes
/// cases from blue here, so that the sample city's October has some.
#[tokio::test]
async fn an_evaluation_opens_the_cases_of_its_alerts_once() {
    for db in TestDb::all().await {
        let s = &db.store;
        let files = ["units.csv", "enterprises.csv", "submissions_gbk.csv"].map(common::fixture);
        let paths: Vec<&std::path::Path> = files.iter().map(|p| p.as_path()).collect();
        common::import_ok(s, &paths).await;
        // A thirteenth enterprise of 东岭区 that has not reported October (未报).
        let dir = tempfile::tempdir().unwrap();
        let late = indmon::credit_code::CreditCode::with_check("91330781MA0000099").unwrap();
        let late_csv = dir.path().join("late.csv");
        std::fs::write(
            &late_csv,
            format!("credit_code,name,unit_code,zone_code,industry_code,scale,key,owner\n{late},迟报实业有限公司,330781,,C3411,above,否,leader09\n"),
        )
        .unwrap();
        common::import_ok(s, &[late_csv.as_path()]).await;
        let mut text = "[mail]\nfrom = \"m <m@x.cn>\"\ntransport = \"file\"\nfile_dir = \"/tmp\"\n\
             [[recipients]]\nid = \"dl\"\nname = \"东岭区\"\nemail = \"d@x.cn\"\nrole = \"district\"\nunits = [\"330781\"]\ncase_owner = true\n"
            .to_string();
        for r in Rule::ALL.iter().filter(|r| **r != Rule::SourceFailing) {
            text.push_str(&format!(
                "[cases.rules.{r}]\ncase = true\nmin_severity = \"blue\"\n"
            ));
        }
        let config = Config::parse(&text).unwrap();
        assert!(config.validate().is_empty(), "{:?}", config.validate());
        let oct: Period = "2026-10".parse().unwrap();
        let (dry, _) = indmon::evaluate::run(s, &config, oct, common::now(), true)
            .await
            .unwrap();
        assert!(dry.cases.is_none());
        let (report, _) = indmon::evaluate::run(s, &config, oct, common::now(), false)
            .await
            .unwrap();
        let alerts = s.alerts(&Default::default()).await.unwrap();
        let about_city = |a: &indmon::alerts::Alert| a.unit_code == "3307" && a.subject == "3307";
        let expected = alerts
            .iter()
            .filter(|a| a.rule != "source_failing" && !about_city(a))
            .count();
        let in_dl = alerts
            .iter()
            .filter(|a| a.unit_code == "330781" && !about_city(a))
            .count();
        assert!(
            in_dl > 0,
            "{}: the sample city has case alerts: {alerts:?}",
            db.name
        );
        let synced = report.cases.expect("cases synced");
        assert_eq!(synced.opened, expected, "{}", db.name);
        let d = Desk::new(s.clone(), &config).unwrap();
        let mine: Vec<_> = d
            .list_for(&Who::recipient("dl", None), common::now())
            .await
            .unwrap()
            .into_iter()
            .filter(|c| c.owner.as_deref() == Some("dl"))
            .collect();
        assert_eq!(mine.len(), in_dl, "{}", db.name);
        let (again, _) = indmon::evaluate::run(s, &config, oct, common::now(), false)
            .await
            .unwrap();
        assert_eq!(again.cases.map(|c| c.opened), Some(0), "{}", db.name);
        db.cleanup().await;
    }
}

/// A case opened while its unit had no case owner gets one at the first sync after the
/// configuration names one; the answer is then the new owner's.
#[tokio::test]
async fn a_case_without_an_owner_gets_one_once_the_configuration_names_it() {
    for db in TestDb::all().await {
        let s = &db.store;
        let t0 = shanghai(2026, 11, 2, 10);
        evaluate(
            s,
            &[open(finding(
                Rule::EnterpriseMissing,
                E3,
                "3303",
                Severity::Yellow,
                "2026-10",
            ))],
            t0,
        )
        .await;
        let r = desk(s).sync(t0).await.unwrap();
        assert_eq!((r.opened, r.unowned.len()), (1, 1), "{}", db.name);
        let later = Config::parse(&format!(
            "{CONFIG}[[recipients]]\nid = \"north\"\nname = \"北区\"\nemail = \"n@x.cn\"\nrole = \"district\"\nunits = [\"3303\"]\ncase_owner = true\n"
        ))
        .unwrap();
        let d = Desk::with(
            s.clone(),
            later.cases.clone(),
            later.recipients.clone(),
            Arc::new(Calendar::official().unwrap()),
        );
        let r = d.sync(t0).await.unwrap();
        assert_eq!((r.opened, r.assigned), (0, 1), "{}", db.name);
        assert_eq!(d.sync(t0).await.unwrap().assigned, 0);
        let north = Who::recipient("north", None);
        let c = d.list_for(&north, t0).await.unwrap().remove(0);
        assert_eq!(c.owner.as_deref(), Some("north"));
        let kinds: Vec<String> = d
            .get(&north, c.id, t0)
            .await
            .unwrap()
            .events
            .into_iter()
            .map(|e| e.kind)
            .collect();
        assert_eq!(kinds, ["opened", "assigned"]);
        d.answer(&north, c.id, &answer("报送差错", None), t0)
            .await
            .unwrap();
        db.cleanup().await;
    }
}
