//! The case pages of the console against a real `indmon serve` on loopback, on both backends:
//! the owner answers (反馈) and requests 销号 through the forms, the city returns (退回) and
//! approves (销号); another unit's id, an action that is not theirs, a stale form and a missing
//! CSRF token are refused with their status; typed markup comes back inert; 我的待办 puts
//! overdue cases first; the city sees overdue cases by unit and the audit log; the snapshots
//! are served from the database.

mod common;
#[path = "common/console.rs"]
mod console_support;

use chrono::TimeZone;
use chrono_tz::Asia::Shanghai;
use common::TestDb;
use common::mail::{BEIGANG, NANHU, seed};
use common::smtp::SmtpServer;
use console_support::{Answer, Browser, Serve, config, free_port, link_in_mail, open_cases};
use indmon::cases::{Case, CaseError, CaseState, Desk, UnitCounts, Who, by_unit};
use indmon::config::Config;
use indmon::console::{Console, secret};
use indmon::daemon::runner::{Clock, Ctx};
use indmon::store::Store;

struct Cases {
    nanhu: Case,
    unit: Case,
    beigang: Case,
}

/// The units, the three alerts and their cases.
async fn seeded(db: &TestDb) -> Cases {
    common::registry(&db.store).await;
    seed(&db.store).await;
    let cases = open_cases(&db.store).await;
    let find = |subject: &str| {
        cases
            .iter()
            .find(|c| c.subject == subject)
            .cloned()
            .expect("case")
    };
    Cases {
        nanhu: find(NANHU),
        unit: find("330781"),
        beigang: find(BEIGANG),
    }
}

async fn exec(store: &Store, sql: &str) {
    let sql = sqlx::AssertSqlSafe(sql.to_string());
    let done = match store {
        Store::Sqlite(p) => sqlx::query(sql).execute(p).await.map(|_| ()),
        Store::Postgres(p) => sqlx::query(sql).execute(p).await.map(|_| ()),
    };
    done.expect("exec");
}

/// Dates case `id`: due at `due_at`, 督办 at `escalate_at` (ms).
async fn set_due(store: &Store, id: i64, due_at: i64, escalate_at: i64) {
    exec(
        store,
        &format!(
            "UPDATE alert_case SET due_at = {due_at}, escalate_at = {escalate_at} WHERE id = {id}"
        ),
    )
    .await;
}

async fn case(store: &Store, id: i64) -> Case {
    store.case(id).await.expect("case").expect("exists")
}

/// A browser signed in as the official of `email`.
async fn signed_in(serve: &Serve, smtp: &SmtpServer, email: &str, seen: usize) -> Browser {
    let mut b = Browser::new(serve);
    b.ask_link(email).await;
    let link = link_in_mail(smtp, email, seen).await;
    assert_eq!(b.confirm(&link).await.status, 303);
    b
}

const HOSTILE: &str = "订单减少<script>alert(2)</script>，两条线停产";

/// Posts the answer form of the case page `page` (its token and version), with `situation`.
async fn answer(b: &mut Browser, page: &Answer, id: i64, situation: &str) -> Answer {
    let version = page.field("version").expect("version on the form");
    answer_as(b, page, &version, id, situation).await
}

/// Posts an answer with `version`, as a form built by hand (where the page has none).
async fn answer_as(
    b: &mut Browser,
    page: &Answer,
    version: &str,
    id: i64,
    situation: &str,
) -> Answer {
    let csrf = page.field("csrf").expect("csrf");
    b.post(
        &format!("/cases/{id}/answer"),
        &[
            ("csrf", &csrf),
            ("version", version),
            ("cause", "资金紧张"),
            ("situation", situation),
            ("measures", "协调银行续贷"),
            ("resume_month", "2027-01"),
            ("coordination", "需市级协调电力增容"),
        ],
        &[],
    )
    .await
}

/// Posts a note form (申请销号, 销号, 退回) with the token and version of the page `page`.
async fn note(b: &mut Browser, page: &Answer, path: &str, extra: &[(&str, &str)]) -> Answer {
    let version = page.field("version").expect("version");
    note_as(b, page, &version, path, extra).await
}

async fn note_as(
    b: &mut Browser,
    page: &Answer,
    version: &str,
    path: &str,
    extra: &[(&str, &str)],
) -> Answer {
    let csrf = page.field("csrf").expect("csrf");
    let mut fields = vec![("csrf", csrf.as_str()), ("version", version)];
    fields.extend_from_slice(extra);
    b.post(path, &fields, &[]).await
}

#[tokio::test]
async fn the_owner_answers_and_requests_close_and_the_city_returns_and_approves() {
    for db in TestDb::all().await {
        let cases = seeded(&db).await;
        let id = cases.nanhu.id;
        let smtp = SmtpServer::start().await;
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let serve = Serve::start(dir.path(), &db.url, &config(smtp.port, port, ""), port).await;

        // 李副市长 owns the 南湖 case: it is in 我的待办, marked as owing an answer.
        let mut li = signed_in(&serve, &smtp, "li@example.cn", 0).await;
        let todo = li.get("/todo").await;
        assert_eq!(todo.status, 200, "{}", todo.body);
        assert!(todo.body.contains(&format!("/cases/{id}")), "{}", todo.body);
        assert!(todo.body.contains("待您反馈"), "{}", todo.body);
        assert!(
            !todo.body.contains(&format!("/cases/{}", cases.beigang.id)),
            "{}",
            todo.body
        );

        // The case page: the warning, the causes to choose from, the version on the form.
        let page = li.get(&format!("/cases/{id}")).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(
            page.body
                .contains("<option value=\"资金紧张\">资金紧张</option>")
        );
        assert!(page.body.contains("同比下降100.0%"), "{}", page.body);
        assert_eq!(page.field("version"), Some(cases.nanhu.version.to_string()));

        // Without the CSRF token the answer is refused before anything is read.
        let forged = li
            .post(
                &format!("/cases/{id}/answer"),
                &[("version", "1"), ("cause", "资金紧张")],
                &[],
            )
            .await;
        assert_eq!(forged.status, 403, "{}", db.name);

        // The answer, with markup typed in 情况说明: accepted, shown as text.
        let done = answer(&mut li, &page, id, HOSTILE).await;
        assert_eq!(done.status, 303, "{}: {}", db.name, done.body);
        assert_eq!(
            done.location.as_deref(),
            Some(format!("/cases/{id}?done=answered").as_str())
        );
        let after = li.get(&format!("/cases/{id}?done=answered")).await;
        assert!(after.body.contains("反馈已提交"), "{}", after.body);
        assert!(
            after
                .body
                .contains("订单减少&lt;script&gt;alert(2)&lt;&#x2f;script&gt;，两条线停产"),
            "{}",
            after.body
        );
        assert!(!after.body.contains("<script>"), "{}", after.body);
        assert_eq!(case(&db.store, id).await.state, CaseState::Answered);

        // The same form again (its version is now old): refused with 409, the text kept.
        let stale = answer(&mut li, &page, id, "第二次填写的说明").await;
        assert_eq!(stale.status, 409, "{}: {}", db.name, stale.body);
        assert!(
            stale.body.contains("请以最新情况重新填写"),
            "{}",
            stale.body
        );
        assert!(stale.body.contains("第二次填写的说明"), "{}", stale.body);
        assert_eq!(
            db.store.case_answers(id).await.expect("answers").len(),
            1,
            "{}: the stale answer was not written",
            db.name
        );

        // A cause outside the list: 422, nothing written.
        let fresh = li.get(&format!("/cases/{id}")).await;
        let csrf = fresh.field("csrf").expect("csrf");
        let version = fresh.field("version").expect("version");
        let bad = li
            .post(
                &format!("/cases/{id}/answer"),
                &[
                    ("csrf", &csrf),
                    ("version", &version),
                    ("cause", "天气不好"),
                    ("situation", "x"),
                    ("measures", "y"),
                ],
                &[],
            )
            .await;
        assert_eq!(bad.status, 422, "{}", bad.body);
        assert!(bad.body.contains("原因："), "{}", bad.body);

        // 申请销号; the owner may not approve it.
        let requested = note(&mut li, &fresh, &format!("/cases/{id}/close-request"), &[]).await;
        assert_eq!(requested.status, 303, "{}", requested.body);
        assert_eq!(case(&db.store, id).await.state, CaseState::CloseRequested);
        let page = li.get(&format!("/cases/{id}")).await;
        assert!(!page.body.contains("/approve"), "{}", page.body);
        let current = case(&db.store, id).await.version.to_string();
        let refused = note_as(
            &mut li,
            &page,
            &current,
            &format!("/cases/{id}/approve"),
            &[],
        )
        .await;
        assert_eq!(refused.status, 403, "{}", db.name);

        // 东城区 sees the case (its unit) but does not own it: 403. 西城区 does not see it:
        // 404, the same answer as an id that does not exist, and nothing changes.
        let mut dc = signed_in(&serve, &smtp, "dc@example.cn", 0).await;
        let seen = dc.get(&format!("/cases/{id}")).await;
        assert_eq!(seen.status, 200);
        assert!(
            !seen.body.contains("/answer\""),
            "no answer form: {}",
            seen.body
        );
        let not_theirs = answer_as(&mut dc, &seen, &current, id, "越权").await;
        assert_eq!(not_theirs.status, 403, "{}", db.name);
        let mut xc = signed_in(&serve, &smtp, "xc@example.cn", 0).await;
        let theirs = xc.get(&format!("/cases/{id}")).await;
        let none = xc.get("/cases/99999999").await;
        assert_eq!(theirs.status, 404, "{}", db.name);
        assert_eq!((theirs.status, &theirs.body), (none.status, &none.body));
        let own = xc.get(&format!("/cases/{}", cases.beigang.id)).await;
        assert_eq!(own.status, 200, "西城区 sees its own case");
        let forged = answer_as(&mut xc, &own, &current, id, "越权").await;
        assert_eq!(forged.status, 404, "{}", db.name);
        assert_eq!(xc.get("/city/requests").await.status, 404);
        assert_eq!(
            case(&db.store, id).await.state,
            CaseState::CloseRequested,
            "{}",
            db.name
        );

        // The city sees the request with the answer, and returns it with a new due date.
        let mut city = signed_in(&serve, &smtp, "city@gxj.example.cn", 0).await;
        let requests = city.get("/city/requests").await;
        assert_eq!(requests.status, 200, "{}", requests.body);
        assert!(requests.body.contains(&format!("/cases/{id}/approve")));
        assert!(requests.body.contains("协调银行续贷"));
        let page = city.get(&format!("/cases/{id}")).await;
        let due = (chrono::Utc::now() + chrono::Duration::days(10))
            .with_timezone(&Shanghai)
            .date_naive();
        let returned = note(
            &mut city,
            &page,
            &format!("/cases/{id}/return"),
            &[("note", "请补充复产计划"), ("due", &due.to_string())],
        )
        .await;
        assert_eq!(returned.status, 303, "{}: {}", db.name, returned.body);
        let now = case(&db.store, id).await;
        assert_eq!(now.state, CaseState::Returned);
        let at_18 = Shanghai
            .from_local_datetime(&due.and_hms_opt(18, 0, 0).expect("18:00"))
            .single()
            .expect("time");
        assert_eq!(now.due_at, Some(at_18.timestamp_millis()), "{}", db.name);
        // The city's form of before the return is now stale.
        let again = note(&mut city, &page, &format!("/cases/{id}/approve"), &[]).await;
        assert_eq!(again.status, 409, "{}: {}", db.name, again.body);

        // The owner answers again and asks again; the city approves.
        let page = li.get(&format!("/cases/{id}")).await;
        assert!(page.body.contains("请补充复产计划"), "{}", page.body);
        assert_eq!(
            answer(&mut li, &page, id, "已补充：2027年1月复产")
                .await
                .status,
            303
        );
        let page = li.get(&format!("/cases/{id}")).await;
        let asked = note(&mut li, &page, &format!("/cases/{id}/close-request"), &[]).await;
        assert_eq!(asked.status, 303);
        let page = city.get(&format!("/cases/{id}")).await;
        let approved = note(
            &mut city,
            &page,
            &format!("/cases/{id}/approve"),
            &[("note", "同意")],
        )
        .await;
        assert_eq!(approved.status, 303, "{}: {}", db.name, approved.body);
        assert_eq!(case(&db.store, id).await.state, CaseState::Closed);
        let todo = li.get("/todo").await;
        assert!(
            !todo.body.contains(&format!("/cases/{id}\"")),
            "a closed case leaves 我的待办"
        );

        // Every change is in the audit log with its official and address; the city reads it.
        let log = db.store.audit_log(Some(id)).await.expect("audit");
        let actions: Vec<(&str, &str)> = log
            .iter()
            .map(|e| (e.actor.as_str(), e.action.as_str()))
            .collect();
        assert_eq!(
            actions,
            vec![
                ("li", "answered"),
                ("li", "close_requested"),
                ("city", "returned"),
                ("li", "answered"),
                ("li", "close_requested"),
                ("city", "closed"),
            ],
            "{}",
            db.name
        );
        assert!(
            log.iter()
                .all(|e| e.client_addr.as_deref() == Some("127.0.0.1"))
        );
        let audit = city.get("/audit").await;
        assert_eq!(audit.status, 200, "{}", audit.body);
        assert!(audit.body.contains("退回") && audit.body.contains("李副市长"));
        assert_eq!(li.get("/audit").await.status, 404);

        drop(serve);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn overdue_cases_come_first_and_the_city_counts_them_by_unit() {
    for db in TestDb::all().await {
        let cases = seeded(&db).await;
        // The unit case was due two days ago; the 南湖 case is due in a week.
        let now = chrono::Utc::now().timestamp_millis();
        let day = 86_400_000;
        set_due(&db.store, cases.unit.id, now - 2 * day, now + day).await;
        set_due(&db.store, cases.nanhu.id, now + 7 * day, now + 10 * day).await;
        let smtp = SmtpServer::start().await;
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let serve = Serve::start(dir.path(), &db.url, &config(smtp.port, port, ""), port).await;

        let mut dc = signed_in(&serve, &smtp, "dc@example.cn", 0).await;
        let todo = dc.get("/todo").await;
        assert_eq!(todo.status, 200, "{}", todo.body);
        let overdue = todo
            .body
            .find(&format!("/cases/{}\"", cases.unit.id))
            .expect("the overdue case");
        let later = todo
            .body
            .find(&format!("/cases/{}\"", cases.nanhu.id))
            .expect("the other case");
        assert!(overdue < later, "{}: overdue first", db.name);
        assert!(todo.body.contains("其中超期1项"), "{}", todo.body);
        assert!(todo.body.contains("<span class=\"tag over\">超期</span>"));

        // The city: overdue by unit on /city, and the overdue filter of every unit's cases.
        let mut city = signed_in(&serve, &smtp, "city@gxj.example.cn", 0).await;
        let page = city.get("/city").await;
        assert_eq!(page.status, 200, "{}", page.body);
        let table = &page.body[page.body.find("id=\"overdue\"").expect("table")..];
        let row = &table[table.find("东岭区").expect("东岭区 row")..];
        let row = &row[..row.find("</tr>").expect("row end")];
        assert!(
            row.contains("<td class=\"n\">2</td><td class=\"n\">1</td>"),
            "{}: 2 open, 1 overdue: {row}",
            db.name
        );
        let listed = city.get("/city/cases?unit=330781&show=overdue").await;
        assert_eq!(listed.status, 200, "{}", listed.body);
        assert!(listed.body.contains(&format!("/cases/{}\"", cases.unit.id)));
        assert!(
            !listed
                .body
                .contains(&format!("/cases/{}\"", cases.nanhu.id))
        );
        let all = city.get("/city/cases").await;
        assert!(all.body.contains(&format!("/cases/{}\"", cases.beigang.id)));
        assert_eq!(dc.get("/city/cases").await.status, 404);

        drop(serve);
        db.cleanup().await;
    }
}

/// GETs `path` with `b`'s cookies and returns the status, the headers and the raw bytes.
async fn raw(serve: &Serve, b: &Browser, path: &str) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let cookie: Vec<String> = b.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let r = reqwest::Client::new()
        .get(serve.url(path))
        .header("cookie", cookie.join("; "))
        .send()
        .await
        .expect("request");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.bytes().await.expect("body").to_vec())
}

#[tokio::test]
async fn snapshots_are_served_from_the_database_to_city_officials() {
    for db in TestDb::all().await {
        seeded(&db).await;
        let html = "<!doctype html><title>2026年11月上半月</title>"
            .as_bytes()
            .to_vec();
        let xlsx: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
        let files = vec![
            ("report.html".to_string(), b"old".to_vec()),
            ("report.xlsx".to_string(), xlsx.clone()),
        ];
        db.store
            .keep_snapshot("2026-11-H1", "2026-10", "abc", &files, 1)
            .await
            .expect("keep");
        // Writing the half again replaces its files.
        let files = vec![
            ("report.html".to_string(), html.clone()),
            ("report.xlsx".to_string(), xlsx.clone()),
        ];
        db.store
            .keep_snapshot("2026-11-H1", "2026-10", "abd", &files, 2)
            .await
            .expect("keep again");
        let smtp = SmtpServer::start().await;
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let serve = Serve::start(dir.path(), &db.url, &config(smtp.port, port, ""), port).await;

        let mut city = signed_in(&serve, &smtp, "city@gxj.example.cn", 0).await;
        let list = city.get("/snapshots").await;
        assert_eq!(list.status, 200, "{}", list.body);
        assert!(list.body.contains("2026年11月上半月"), "{}", list.body);
        assert!(list.body.contains("/snapshots/2026-11-H1/report.xlsx"));
        let (status, headers, body) = raw(&serve, &city, "/snapshots/2026-11-H1/report.xlsx").await;
        assert_eq!(status, 200, "{}", db.name);
        assert_eq!(body, xlsx, "{}: the bytes as kept", db.name);
        assert_eq!(
            headers["content-disposition"],
            "attachment; filename=\"2026-11-H1-report.xlsx\""
        );
        let (status, headers, body) = raw(&serve, &city, "/snapshots/2026-11-H1/report.html").await;
        assert_eq!((status, body), (200, html.clone()), "{}", db.name);
        assert_eq!(headers["content-type"], "text/html; charset=utf-8");
        for missing in [
            "/snapshots/2026-11-H1/report.docx",
            "/snapshots/2026-11-H2/report.html",
            "/snapshots/2026-11-H1/..%2Fconsole.toml",
            "/snapshots/x/report.html",
        ] {
            assert_eq!(raw(&serve, &city, missing).await.0, 404, "{missing}");
        }

        // A district official: the archive does not exist for them.
        let mut dc = signed_in(&serve, &smtp, "dc@example.cn", 0).await;
        assert_eq!(dc.get("/snapshots").await.status, 404);
        assert_eq!(
            raw(&serve, &dc, "/snapshots/2026-11-H1/report.html")
                .await
                .0,
            404
        );

        drop(serve);
        db.cleanup().await;
    }
}

const DAY: i64 = 86_400_000;

/// Seeds `n` more firing alerts with a case each, over three units and one the registry lacks
/// (330799), by alert id: overdue, overdue past 督办, returned and overdue, answered late or on
/// time, awaiting 销号, closed, or due later; a few delivered but not dated yet (the desk dates
/// them before it counts).
async fn bulk_cases(store: &Store, n: u32, now: i64) {
    let unit =
        "CASE i % 5 WHEN 1 THEN '330782' WHEN 2 THEN 'ZK01' WHEN 3 THEN '330799' ELSE '330781' END";
    exec(store, &format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n})
         INSERT INTO alert (rule, subject, indicator, subject_name, unit_code, state, severity, consecutive, period, message, values_json, opened_at, updated_at)
         SELECT 'enterprise_stalled', 'BULK' || i, 'output', '批量企业' || i, {unit}, 'firing', 'yellow', 1, '2026-10', '', '{{}}', {now}, {now} FROM n"
    )).await;
    exec(store, "INSERT INTO alert_scope (alert_id, unit_code, ordinal) SELECT id, unit_code, 0 FROM alert WHERE subject LIKE 'BULK%'").await;
    let k = "id % 8";
    exec(store, &format!(
        "INSERT INTO alert_case (alert_id, rule, subject, subject_name, unit_code, state, severity, period, opened_at, answer_days, escalate_days, delivered_at, due_at, escalate_at, answered_at, late, closed_at, close_reason, updated_at)
         SELECT id, rule, subject, subject_name, unit_code,
           CASE {k} WHEN 0 THEN 'assigned' WHEN 1 THEN 'assigned' WHEN 2 THEN 'returned' WHEN 3 THEN 'answered'
             WHEN 4 THEN 'answered' WHEN 5 THEN 'close_requested' WHEN 6 THEN 'closed' ELSE 'assigned' END,
           severity, period, {now}, 5, 3, {now} - 9 * {DAY},
           {now} + (CASE {k} WHEN 0 THEN -2 WHEN 1 THEN -5 WHEN 2 THEN -1 WHEN 3 THEN -5 WHEN 4 THEN 3 WHEN 5 THEN -10 WHEN 6 THEN -10 ELSE 4 END) * {DAY},
           {now} + (CASE {k} WHEN 0 THEN 1 WHEN 1 THEN -2 WHEN 2 THEN 2 WHEN 3 THEN -2 WHEN 4 THEN 6 WHEN 5 THEN -7 WHEN 6 THEN -7 ELSE 7 END) * {DAY},
           CASE WHEN {k} IN (3, 4, 5, 6) THEN {now} - 4 * {DAY} END,
           CASE WHEN {k} = 3 THEN 1 ELSE 0 END,
           CASE WHEN {k} = 6 THEN {now} - {DAY} END,
           CASE WHEN {k} = 6 THEN 'approved' END,
           {now}
         FROM alert WHERE subject LIKE 'BULK%'"
    )).await;
    exec(
        store,
        &format!(
        "UPDATE alert_case SET delivered_at = {now} - 3 * {DAY}, due_at = NULL, escalate_at = NULL
         WHERE subject LIKE 'BULK%' AND state = 'assigned' AND id % 500 = 7"
    ),
    )
    .await;
}

/// `n` audit lines, `批量[1]` oldest, a millisecond apart before `now`.
async fn bulk_audit(store: &Store, n: u32, now: i64) {
    exec(
        store,
        &format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n})
         INSERT INTO audit (at, actor, action, case_id, client_addr, detail)
         SELECT {now} - {n} + i, 'li', 'answered', NULL, '127.0.0.1', '批量[' || i || ']' FROM n"
        ),
    )
    .await;
}

/// The cells of a unit's row of `/city`: open, overdue, 督办, awaiting 销号.
fn city_row(u: &UnitCounts) -> String {
    [u.open, u.overdue, u.escalated, u.close_requested]
        .map(|n| format!("<td class=\"n\">{n}</td>"))
        .concat()
}

async fn timed(b: &mut Browser, path: &str) -> (Answer, std::time::Duration) {
    let t = std::time::Instant::now();
    let page = b.get(path).await;
    let took = t.elapsed();
    assert_eq!(page.status, 200, "{path}: {}", page.body);
    (page, took)
}

#[tokio::test]
async fn the_city_counts_and_the_audit_log_hold_a_province() {
    const N: u32 = 20_000;
    for db in TestDb::all().await {
        seeded(&db).await;
        let now = chrono::Utc::now();
        let seeding = std::time::Instant::now();
        bulk_cases(&db.store, N, now.timestamp_millis()).await;
        bulk_audit(&db.store, N, now.timestamp_millis()).await;
        eprintln!(
            "{}: {N} cases and audit lines seeded in {:?}",
            db.name,
            seeding.elapsed()
        );
        let smtp = SmtpServer::start().await;
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let text = config(smtp.port, port, "");
        let serve = Serve::start(dir.path(), &db.url, &text, port).await;
        let mut city = signed_in(&serve, &smtp, "city@gxj.example.cn", 0).await;

        // /city counts every unit's open cases as the list of them does, at the same time.
        let (_, first) = timed(&mut city, "/city").await;
        let (page, again) = timed(&mut city, "/city").await;
        let desk =
            Desk::new(db.store.clone(), &Config::parse(&text).expect("config")).expect("desk");
        let who = Who::recipient("city", None);
        let open = desk.list(&who, None, true, now).await.expect("list");
        let expected = by_unit(&open, now.timestamp_millis());
        assert_eq!(expected.len(), 4, "{}: {expected:?}", db.name);
        assert!(
            expected
                .iter()
                .all(|u| u.overdue > 0 && u.escalated > 0 && u.close_requested > 0)
        );
        let counted = desk.unit_counts(&who, true, now).await.expect("counts");
        assert_eq!(
            counted, expected,
            "{}: the grouped query counts as by_unit",
            db.name
        );
        let all = desk.list(&who, None, false, now).await.expect("all");
        let counted = desk
            .unit_counts(&who, false, now)
            .await
            .expect("all counts");
        assert_eq!(
            counted,
            by_unit(&all, now.timestamp_millis()),
            "{}",
            db.name
        );
        // A district official's counts are of the cases their list holds.
        let dc = Who::recipient("dongcheng", None);
        let theirs = desk.list(&dc, None, true, now).await.expect("theirs");
        assert!(!theirs.is_empty() && theirs.len() < open.len());
        let counted = desk
            .unit_counts(&dc, true, now)
            .await
            .expect("their counts");
        assert_eq!(
            counted,
            by_unit(&theirs, now.timestamp_millis()),
            "{}",
            db.name
        );
        assert!(matches!(
            desk.audit_page(&dc, (0, 100)).await,
            Err(CaseError::Forbidden)
        ));
        for u in &expected {
            let name = match u.unit.as_str() {
                "330781" => "东岭区",
                "330782" => "西湖县",
                "ZK01" => "示例经济开发区",
                other => other,
            };
            let row = &page.body[page.body.find(&format!(">{name}</a>")).expect(name)..];
            let row = &row[..row.find("</tr>").expect("row end")];
            assert!(row.contains(&city_row(u)), "{}: {u:?}: {row}", db.name);
        }

        // /audit: the newest hundred first, the next hundred on page 2, every line counted.
        let mut log = db.store.audit_log(None).await.expect("audit");
        log.reverse();
        let (one, audit_took) = timed(&mut city, "/audit").await;
        let (two, _) = timed(&mut city, "/audit?page=2").await;
        let pages = log.len().div_ceil(100);
        assert!(
            one.body.contains(&format!("共{}条", log.len())),
            "{}",
            db.name
        );
        assert!(one.body.contains(&format!("第1/{pages}页")), "{}", db.name);
        assert!(two.body.contains(&format!("第2/{pages}页")), "{}", db.name);
        let shown = |body: &str, e: &indmon::cases::AuditEntry| {
            body.contains(&format!("<td>{}</td>", e.detail))
        };
        let bulk: Vec<_> = log
            .iter()
            .enumerate()
            .filter(|(_, e)| e.detail.starts_with("批量["))
            .collect();
        for (i, e) in &bulk {
            let (on_one, on_two) = (*i < 100, (100..200).contains(i));
            if *i < 210 {
                assert_eq!(shown(&one.body, e), on_one, "{}: line {i}", db.name);
                assert_eq!(shown(&two.body, e), on_two, "{}: line {i}", db.name);
            }
        }
        let beyond = timed(&mut city, &format!("/audit?page={}", u64::MAX))
            .await
            .0;
        assert!(
            !beyond.body.contains("批量["),
            "{}: nothing past the end",
            db.name
        );
        let newest = one
            .body
            .find(&format!("<td>{}</td>", bulk[0].1.detail))
            .expect("newest");
        let next = one
            .body
            .find(&format!("<td>{}</td>", bulk[1].1.detail))
            .expect("next");
        assert!(newest < next, "{}: newest first", db.name);
        eprintln!(
            "{}: {N} cases: /city {first:?} first, {again:?} again; /audit {audit_took:?}",
            db.name
        );

        drop(serve);
        db.cleanup().await;
    }
}

/// The console of `store` (with its read pool) served in this process on a loopback port, as
/// `indmon serve` serves it; the shutdown sender stops it when dropped.
async fn console_in_process(
    store: &Store,
) -> (
    String,
    tokio::sync::watch::Sender<bool>,
    std::sync::Arc<Ctx>,
) {
    indmon::notify::transport::install_crypto_provider();
    let text = config(1, free_port(), "");
    let config = Config::parse(&text).expect("config");
    let limits = config.daemon.limits();
    let ctx = std::sync::Arc::new(Ctx::new(config, Vec::new(), Clock::default()));
    let reads = store.open_reads().await.expect("read pool");
    ctx.reads.set(reads).expect("reads set once");
    ctx.store.set(store.clone()).expect("store set once");
    let console = std::sync::Arc::new(Console::new(ctx.clone()).expect("console"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(indmon::daemon::listen::serve(
        listener,
        indmon::console::router(console),
        limits,
        stopped,
    ));
    (base, stop, ctx)
}

/// A session of `recipient` written as sign-in writes it, last seen `idle_ms` ago; its cookie.
async fn session_of(store: &Store, recipient: &str, idle_ms: i64) -> String {
    let id = secret::random().expect("random");
    let now = chrono::Utc::now().timestamp_millis();
    store
        .insert_session(
            &secret::hash(&id),
            recipient,
            "127.0.0.1",
            now - idle_ms,
            now + 86_400_000,
        )
        .await
        .expect("session");
    format!("indmon_session={id}")
}

/// GETs `base` + `path` with `cookie`, within 5 s (a page waiting for the writer would take
/// the 30 s of the pool's acquire timeout).
async fn get_soon(base: &str, path: &str, cookie: &str) -> (u16, String) {
    let asked = reqwest::Client::new()
        .get(format!("{base}{path}"))
        .header("Cookie", cookie)
        .send();
    let r = tokio::time::timeout(std::time::Duration::from_secs(5), asked)
        .await
        .unwrap_or_else(|_| panic!("{path} waited for the writer"))
        .expect("request");
    let status = r.status().as_u16();
    (status, r.text().await.expect("body"))
}

#[tokio::test]
async fn reads_proceed_while_the_writer_is_in_a_transaction_and_see_each_commit() {
    let db = TestDb::sqlite().await;
    let cases = seeded(&db).await;
    let reads = db.store.open_reads().await.expect("read pool");
    let Store::Sqlite(writer) = &db.store else {
        unreachable!("TestDb::sqlite")
    };

    // The writer's only connection is in a transaction with an uncommitted change, as a long
    // import or evaluation holds it: reads answer at once, without that change.
    let mut tx = writer.begin().await.expect("begin");
    exec_in(
        &mut tx,
        &format!(
            "UPDATE alert_case SET subject_name = '未提交' WHERE id = {}",
            cases.nanhu.id
        ),
    )
    .await;
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        reads.case(cases.nanhu.id),
    )
    .await
    .expect("a read does not wait for the writer")
    .expect("read")
    .expect("case");
    assert_eq!(read.subject_name, cases.nanhu.subject_name);
    // A write sent to the read pool is refused, never queued behind the writer.
    let refused = reads
        .touch_session("0".repeat(64).as_str(), 1)
        .await
        .expect_err("the read pool is read-only");
    assert!(format!("{refused:#}").contains("readonly"), "{refused:#}");
    tx.commit().await.expect("commit");
    // Every read that begins after the commit sees it, on each of the pool's connections.
    for _ in 0..2 * indmon::store::READ_CONNECTIONS {
        let read = reads
            .case(cases.nanhu.id)
            .await
            .expect("read")
            .expect("case");
        assert_eq!(read.subject_name, "未提交");
    }
    db.cleanup().await;
}

async fn exec_in(tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>, sql: &str) {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(&mut **tx)
        .await
        .expect("exec");
}

#[tokio::test]
async fn console_pages_answer_while_the_writer_is_held_and_show_what_was_just_written() {
    let db = TestDb::sqlite().await;
    let cases = seeded(&db).await;
    let (base, stop, _ctx) = console_in_process(&db.store).await;
    // Last seen two minutes ago: the page also records the session's activity (a write).
    let dc = session_of(&db.store, "dongcheng", 120_000).await;
    let li = session_of(&db.store, "li", 120_000).await;
    let Store::Sqlite(writer) = &db.store else {
        unreachable!("TestDb::sqlite")
    };
    let tx = writer.begin().await.expect("begin");
    let (status, todo) = get_soon(&base, "/todo", &dc).await;
    assert_eq!(status, 200, "{todo}");
    assert!(
        todo.contains(&format!("/cases/{}\"", cases.unit.id)),
        "{todo}"
    );
    let (status, page) = get_soon(&base, &format!("/cases/{}", cases.nanhu.id), &li).await;
    assert_eq!(status, 200, "{page}");
    let (status, page) = get_soon(&base, &format!("/alerts/{}", cases.nanhu.alert_id), &li).await;
    assert_eq!(status, 200, "{page}");
    let (status, _) = get_soon(&base, &format!("/cases/{}", cases.beigang.id), &li).await;
    assert_eq!(status, 404, "another unit's case is still refused");
    tx.rollback().await.expect("rollback");

    // Delivered just now and not dated yet: the page's own request dates it on the writer and
    // shows the due time it read back on the read pool.
    let delivered = chrono::Utc::now().timestamp_millis() - 60_000;
    exec(
        &db.store,
        &format!(
            "UPDATE alert_case SET delivered_at = {delivered}, due_at = NULL, escalate_at = NULL WHERE id = {}",
            cases.nanhu.id
        ),
    )
    .await;
    let (status, page) = get_soon(&base, &format!("/cases/{}", cases.nanhu.id), &li).await;
    assert_eq!(status, 200, "{page}");
    let due = case(&db.store, cases.nanhu.id)
        .await
        .due_at
        .expect("dated by the page");
    assert!(page.contains(&indmon::console::view::when(due)), "{page}");

    // An answer posted, then the pages read right after it show it.
    let csrf = field_of(&page, "csrf");
    let version = field_of(&page, "version");
    let posted = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .post(format!("{base}/cases/{}/answer", cases.nanhu.id))
        .header("Cookie", &li)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form(&[
            ("csrf", csrf.as_str()),
            ("version", version.as_str()),
            ("cause", "资金紧张"),
            ("situation", "刚刚写入的情况说明"),
            ("measures", "协调银行续贷"),
            ("resume_month", "2027-01"),
            ("coordination", ""),
        ]))
        .send()
        .await
        .expect("post");
    assert_eq!(
        posted.status().as_u16(),
        303,
        "{}",
        posted.text().await.unwrap_or_default()
    );
    let (_, page) = get_soon(&base, &format!("/cases/{}", cases.nanhu.id), &li).await;
    assert!(page.contains("刚刚写入的情况说明"), "{page}");
    let (_, todo) = get_soon(&base, "/todo", &li).await;
    let line = &todo[todo
        .find(&format!("/cases/{}\"", cases.nanhu.id))
        .expect("listed")..];
    assert!(
        line[..line.find("</div>").unwrap_or(line.len())].contains("已反馈"),
        "{todo}"
    );
    drop(stop);
    db.cleanup().await;
}

/// The value of the hidden field `name` in `page`.
fn field_of(page: &str, name: &str) -> String {
    let key = format!("name=\"{name}\" value=\"");
    let start = page.find(&key).map(|i| i + key.len()).expect("field");
    page[start..start + page[start..].find('"').expect("end")].to_string()
}

#[tokio::test]
async fn a_city_officials_todo_puts_the_answers_awaiting_closing_first() {
    for db in TestDb::all().await {
        let cases = seeded(&db).await;
        let now = chrono::Utc::now().timestamp_millis();
        let day = 86_400_000;
        // The unit case is overdue; the 北港 case is answered and awaits 销号.
        set_due(&db.store, cases.unit.id, now - 2 * day, now + day).await;
        exec(
            &db.store,
            &format!(
                "UPDATE alert_case SET state = 'close_requested', answered_at = {now} WHERE id = {}",
                cases.beigang.id
            ),
        )
        .await;
        let (base, stop, _ctx) = console_in_process(&db.store).await;
        let city = session_of(&db.store, "city", 0).await;
        let (status, todo) = get_soon(&base, "/todo", &city).await;
        assert_eq!(status, 200, "{todo}");
        let at = |id: i64| {
            todo.find(&format!("/cases/{id}\""))
                .unwrap_or_else(|| panic!("{}: case {id} listed: {todo}", db.name))
        };
        assert!(
            at(cases.beigang.id) < at(cases.unit.id) && at(cases.unit.id) < at(cases.nanhu.id),
            "{}: awaiting 销号, then overdue, then the rest: {todo}",
            db.name
        );
        assert!(
            todo.contains("其中超期1项，待销号1项"),
            "{}: {todo}",
            db.name
        );
        assert_eq!(todo.matches("待您销号").count(), 1, "{}", db.name);
        // A district official's list keeps overdue first and has no 销号 to give.
        let dc = session_of(&db.store, "dongcheng", 0).await;
        let (_, theirs) = get_soon(&base, "/todo", &dc).await;
        assert!(
            !theirs.contains("待销号") && !theirs.contains("待您销号"),
            "{theirs}"
        );
        drop(stop);
        db.cleanup().await;
    }
}

fn form(fields: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(fields).expect("form")
}
