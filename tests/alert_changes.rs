//! An evaluation's alert changes written in bulk (`Store::apply_changes`), on both backends:
//! new, updated, reopened and resolved alerts in one call, each with its fields, scope and
//! events as the one-statement-an-alert writes left them; a change naming no alert writes
//! nothing of its evaluation.

mod common;

use common::TestDb;
use indmon::alerts::{Alert, AlertFilter, AlertState, Applied, Change, EventKind, SYSTEM};
use indmon::period::Period;
use indmon::rules::{Finding, Rule, Severity};
use indmon::store::Store;

const T1: i64 = 1_790_000_000_000;
const T2: i64 = T1 + 86_400_000;

fn finding(subject: &str, period: &str, severity: Severity, scope: &[&str]) -> Finding {
    let mut values = serde_json::Map::new();
    values.insert("period".into(), period.into());
    Finding {
        rule: Rule::EnterpriseStalled,
        severity,
        subject: subject.into(),
        subject_name: format!("企业{subject}"),
        indicator: "output".into(),
        unit: scope[0].into(),
        scope: scope.iter().map(|s| s.to_string()).collect(),
        owner: Some(format!("领导{subject}")),
        period: period.parse::<Period>().unwrap(),
        consecutive: 1,
        message: format!("{subject} 停产 {period}"),
        values,
    }
}

fn open(f: Finding) -> Change {
    Change::Open {
        finding: f,
        events: vec![EventKind::Opened],
    }
}

async fn apply(store: &Store, changes: &[Change], now: i64) -> anyhow::Result<Applied> {
    let period = "2026-10".parse::<Period>().unwrap();
    let id = store.begin_evaluation(period, now).await?;
    store.apply_changes(id, changes, now).await
}

async fn by_subject(store: &Store, subject: &str) -> Alert {
    let all = store.alerts(&AlertFilter::default()).await.unwrap();
    all.into_iter().find(|a| a.subject == subject).unwrap()
}

/// A, B and C opened in September; B acknowledged and C resolved by hand.
async fn september(store: &Store) -> [i64; 3] {
    let red = Severity::Red;
    let opens: Vec<Change> = ["A", "B", "C"]
        .iter()
        .map(|s| open(finding(s, "2026-09", red, &["3301", "33"])))
        .collect();
    let applied = apply(store, &opens, T1).await.unwrap();
    assert_eq!(
        (applied.opened, applied.changed, applied.resolved),
        (3, 0, 0)
    );
    let ids = [
        by_subject(store, "A").await.id,
        by_subject(store, "B").await.id,
        by_subject(store, "C").await.id,
    ];
    let ack = AlertState::Acknowledged;
    store
        .set_alert_state(ids[1], ack, "王科长", "已联系", T1)
        .await
        .unwrap();
    let resolved = AlertState::Resolved;
    store
        .set_alert_state(ids[2], resolved, "王科长", "已复产", T1)
        .await
        .unwrap();
    ids
}

#[tokio::test]
async fn updates_reopens_and_resolves_are_written_with_their_events_in_order() {
    for db in TestDb::all().await {
        let s = &db.store;
        let [a, b, c] = september(s).await;
        let before = s.alert_events(0, None).await.unwrap().len();
        let mut moved = finding("A", "2026-10", Severity::Orange, &["3302", "ZK01", "33"]);
        moved.owner = None;
        moved.consecutive = 2;
        let changes = [
            open(finding("D", "2026-10", Severity::Yellow, &["3301", "33"])),
            Change::Update {
                id: a,
                finding: moved,
                events: vec![EventKind::SeverityLowered],
                rescope: true,
            },
            Change::Reopen {
                id: c,
                finding: finding("C", "2026-10", Severity::Red, &["3301", "33"]),
                events: vec![EventKind::Reopened, EventKind::Escalated],
            },
            Change::Resolve {
                id: b,
                period: "2026-10".parse().unwrap(),
            },
        ];
        let applied = apply(s, &changes, T2).await.unwrap();
        assert_eq!(
            (applied.opened, applied.changed, applied.resolved),
            (2, 1, 1),
            "{}",
            db.name
        );

        let got = by_subject(s, "A").await;
        assert_eq!(got.scope, ["3302", "ZK01", "33"], "{}", db.name);
        assert_eq!(got.unit_code, "3302");
        assert_eq!(
            (got.owner, got.severity, got.consecutive),
            (None, Severity::Orange, 2)
        );
        assert_eq!(
            (got.state, got.opened_at, got.updated_at),
            (AlertState::Firing, T1, T2)
        );
        assert_eq!(got.message, "A 停产 2026-10");
        assert_eq!(
            got.values.get("period").and_then(|v| v.as_str()),
            Some("2026-10")
        );

        let got = by_subject(s, "C").await;
        assert_eq!(
            (got.state, got.opened_at, got.updated_at),
            (AlertState::Firing, T2, T2),
            "{}",
            db.name
        );
        assert_eq!(
            (got.resolved_at, got.resolved_by, got.note),
            (None, None, None)
        );
        assert_eq!(got.owner.as_deref(), Some("领导C"));

        let got = by_subject(s, "B").await;
        assert_eq!(got.state, AlertState::Resolved, "{}", db.name);
        assert_eq!(
            (got.resolved_at, got.resolved_by.as_deref()),
            (Some(T2), Some(SYSTEM))
        );
        assert_eq!(got.period.to_string(), "2026-10");
        assert_eq!(got.acknowledged_by.as_deref(), Some("王科长"), "kept");
        assert_eq!(by_subject(s, "D").await.state, AlertState::Firing);

        let events = s.alert_events(0, None).await.unwrap();
        let new: Vec<(i64, EventKind, &str, Severity, u32, &str)> = events[before..]
            .iter()
            .map(|e| {
                (
                    e.alert_id,
                    e.kind,
                    e.period.as_str(),
                    e.severity,
                    e.consecutive,
                    e.message.as_str(),
                )
            })
            .collect();
        let d = by_subject(s, "D").await.id;
        assert_eq!(
            new,
            [
                (
                    d,
                    EventKind::Opened,
                    "2026-10",
                    Severity::Yellow,
                    1,
                    "D 停产 2026-10"
                ),
                (
                    a,
                    EventKind::SeverityLowered,
                    "2026-10",
                    Severity::Orange,
                    2,
                    "A 停产 2026-10"
                ),
                (
                    c,
                    EventKind::Reopened,
                    "2026-10",
                    Severity::Red,
                    1,
                    "C 停产 2026-10"
                ),
                (
                    c,
                    EventKind::Escalated,
                    "2026-10",
                    Severity::Red,
                    1,
                    "C 停产 2026-10"
                ),
                // The resolved alert's own figures: September's message, as it stood.
                (
                    b,
                    EventKind::Resolved,
                    "2026-10",
                    Severity::Red,
                    1,
                    "B 停产 2026-09"
                ),
            ],
            "{}",
            db.name
        );
        assert!(
            events[before..]
                .iter()
                .all(|e| e.at == T2 && e.actor == SYSTEM)
        );
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_change_naming_no_alert_writes_nothing_of_its_evaluation() {
    for db in TestDb::all().await {
        let s = &db.store;
        let [a, _, _] = september(s).await;
        let before = s.alert_events(0, None).await.unwrap().len();
        for missing in [
            Change::Update {
                id: 999_999,
                finding: finding("X", "2026-10", Severity::Red, &["3301", "33"]),
                events: vec![],
                rescope: false,
            },
            Change::Resolve {
                id: 999_999,
                period: "2026-10".parse().unwrap(),
            },
        ] {
            let changes = [
                open(finding("D", "2026-10", Severity::Yellow, &["3301", "33"])),
                Change::Update {
                    id: a,
                    finding: finding("A", "2026-10", Severity::Red, &["3302", "33"]),
                    events: vec![],
                    rescope: true,
                },
                missing,
            ];
            let err = apply(s, &changes, T2).await.unwrap_err();
            assert!(format!("{err:#}").contains("alert"), "{err:#}");
            let all = s.alerts(&AlertFilter::default()).await.unwrap();
            assert_eq!(all.len(), 3, "{}: nothing opened", db.name);
            let got = by_subject(s, "A").await;
            assert_eq!(
                (got.period.to_string(), got.scope.clone()),
                ("2026-09".into(), vec!["3301".to_string(), "33".into()]),
                "{}",
                db.name
            );
            assert_eq!(
                s.alert_events(0, None).await.unwrap().len(),
                before,
                "{}",
                db.name
            );
        }
        db.cleanup().await;
    }
}

/// Thousands of updates in one call, as the evaluation after the first writes them.
#[tokio::test]
async fn thousands_of_updates_in_one_evaluation() {
    for db in TestDb::all().await {
        let s = &db.store;
        let n = 3_000;
        let subjects: Vec<String> = (0..n).map(|i| format!("E{i:05}")).collect();
        let opens: Vec<Change> = subjects
            .iter()
            .map(|e| open(finding(e, "2026-09", Severity::Red, &["3301", "33"])))
            .collect();
        apply(s, &opens, T1).await.unwrap();
        let all = s.alerts(&AlertFilter::default()).await.unwrap();
        // Every third alert's scope in another order: its rows rewritten, the others kept.
        let scope = |a: &Alert| -> &[&str] {
            if a.id % 3 == 0 {
                &["33", "3301"]
            } else {
                &["3301", "33"]
            }
        };
        let updates: Vec<Change> = all
            .iter()
            .map(|a| Change::Update {
                id: a.id,
                finding: finding(&a.subject, "2026-10", Severity::Red, scope(a)),
                events: vec![],
                rescope: a.id % 3 == 0,
            })
            .collect();
        let applied = apply(s, &updates, T2).await.unwrap();
        assert_eq!(applied.changed, n as u64, "{}", db.name);
        let all = s.alerts(&AlertFilter::default()).await.unwrap();
        assert!(
            all.iter().all(|a| a.period.to_string() == "2026-10"
                && a.updated_at == T2
                && a.message.ends_with("2026-10")),
            "{}",
            db.name
        );
        assert!(all.iter().all(|a| a.scope == scope(a)), "{}", db.name);
        db.cleanup().await;
    }
}

/// PostgreSQL keeps half of each page of `alert` free (migration 0034): an evaluation that
/// finds every alert again updates each in its own page, without touching the indexes (a
/// heap-only update). In full pages every new version went to another page.
#[tokio::test]
async fn an_update_of_every_alert_leaves_each_in_its_page_on_postgres() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let Store::Postgres(pool) = &db.store else {
        panic!("a PostgreSQL store");
    };
    let scope = ["3301", "33"];
    let opens: Vec<Change> = (0..400)
        .map(|i| {
            open(finding(
                &format!("E{i:04}"),
                "2026-09",
                Severity::Red,
                &scope,
            ))
        })
        .collect();
    apply(&db.store, &opens, T1).await.unwrap();
    let pages =
        "SELECT subject, CAST((ctid::TEXT::POINT)[0] AS BIGINT) FROM alert ORDER BY subject";
    let before: Vec<(String, i64)> = sqlx::query_as(pages).fetch_all(pool).await.unwrap();
    let alerts = db.store.alerts(&AlertFilter::default()).await.unwrap();
    let updates: Vec<Change> = alerts
        .iter()
        .map(|a| Change::Update {
            id: a.id,
            finding: finding(&a.subject, "2026-10", Severity::Red, &scope),
            events: Vec::new(),
            rescope: false,
        })
        .collect();
    let applied = apply(&db.store, &updates, T2).await.unwrap();
    assert_eq!(applied.changed, 400);
    let after: Vec<(String, i64)> = sqlx::query_as(pages).fetch_all(pool).await.unwrap();
    let pages_of = |v: &[(String, i64)]| {
        v.iter()
            .map(|(_, p)| *p)
            .collect::<std::collections::BTreeSet<_>>()
            .len()
    };
    assert!(pages_of(&before) > 10, "the alerts fill many pages");
    assert_eq!(after, before, "every alert's row stays in its page");
    db.cleanup().await;
}
