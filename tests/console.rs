//! The officials' console as they use it: a real `indmon serve` on loopback, sign-in from the
//! link in the mail the loopback SMTP server received, and every refusal with its status code.
//! Storage (links, sessions, alerts) on both backends.

mod common;
#[path = "common/console.rs"]
mod console_support;

use common::TestDb;
use common::mail::{BEIGANG, NANHU, seed};
use common::smtp::SmtpServer;
use console_support::{Browser, Serve, config, free_port, link_in_mail, mails_to};
use indmon::alerts::AlertFilter;
use indmon::store::Store;

/// A database with the fixtures' units, the three notification-test alerts and their cases.
async fn seeded(db: &TestDb) {
    common::registry(&db.store).await;
    seed(&db.store).await;
    console_support::open_cases(&db.store).await;
}

async fn alert_id(store: &Store, subject: &str) -> i64 {
    store
        .alerts(&AlertFilter::default())
        .await
        .expect("alerts")
        .into_iter()
        .find(|a| a.subject == subject)
        .expect("alert")
        .id
}

/// Runs SQL on the test database (to age a session as time would).
async fn exec(store: &Store, sql: &str) {
    let sql = sqlx::AssertSqlSafe(sql.to_string());
    let done = match store {
        Store::Sqlite(p) => sqlx::query(sql).execute(p).await.map(|_| ()),
        Store::Postgres(p) => sqlx::query(sql).execute(p).await.map(|_| ()),
    };
    done.expect("exec");
}

#[tokio::test]
async fn an_official_signs_in_from_the_mailed_link_and_sees_only_their_scope() {
    for db in TestDb::all().await {
        seeded(&db).await;
        let smtp = SmtpServer::start().await;
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let serve = Serve::start(dir.path(), &db.url, &config(smtp.port, port, ""), port).await;
        let mut b = Browser::new(&serve);

        // No session: the page answers 401 with the sign-in form.
        let first = b.get("/todo").await;
        assert_eq!(first.status, 401, "{}", db.name);
        assert!(first.body.contains("发送登录链接"), "{}", first.body);

        // The same answer for a known and an unknown address; mail only to the known one.
        let known = b.ask_link("dc@example.cn").await;
        let unknown = b.ask_link("nobody@example.cn").await;
        assert_eq!(known.status, 200);
        assert_eq!((known.status, &known.body), (unknown.status, &unknown.body));
        let link = link_in_mail(&smtp, "dc@example.cn", 0).await;
        assert!(
            link.starts_with(&serve.url("/signin/confirm?token=")),
            "{link}"
        );

        // Opening the link (as a mail scanner does) signs nobody in.
        let page = b
            .get(link.strip_prefix(&serve.url("")).expect("path"))
            .await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("确认登录"), "{}", page.body);
        assert_eq!(
            b.get("/todo").await.status,
            401,
            "GET of the link signed in"
        );

        // The confirmation's POST does, with a hardened cookie.
        let signed = b.confirm(&link).await;
        assert_eq!(signed.status, 303, "{}", signed.body);
        assert_eq!(signed.location.as_deref(), Some("/todo"));
        let cookie = signed
            .set_cookies
            .iter()
            .find(|c| c.starts_with("indmon_session="))
            .expect("session cookie");
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
            "{cookie}"
        );
        assert!(!cookie.contains("Secure"), "plain http console: {cookie}");

        // 我的待办: the district's cases, worst first, the hostile name inert.
        let todo = b.get("/todo").await;
        assert_eq!(todo.status, 200, "{}", todo.body);
        assert!(
            todo.body
                .contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;南湖机械")
        );
        assert!(!todo.body.contains("<script>"), "{}", todo.body);
        assert!(
            !todo.body.contains("北港化工"),
            "another district's alert shown"
        );
        // Every page's menu leads to the 反馈表 upload.
        assert!(
            todo.body.contains(r#"href="/cases/upload""#),
            "{}",
            todo.body
        );
        let red = todo.body.find("红色").expect("red");
        let yellow = todo.body.find("黄色").expect("yellow");
        assert!(red < yellow, "worst first");

        // The sign-in is in the audit log, with the official and the client address.
        let log = db.store.audit_log(None).await.expect("audit log");
        let signed_in: Vec<_> = log.iter().filter(|e| e.action == "sign_in").collect();
        assert_eq!(signed_in.len(), 1, "{}: {log:?}", db.name);
        assert_eq!(signed_in[0].actor, "dongcheng", "{}", db.name);
        assert_eq!(signed_in[0].client_addr.as_deref(), Some("127.0.0.1"));

        // The link is used: a second POST is refused.
        let again = b.confirm_reused(&link).await;
        assert_eq!(again, 410);

        // An id of another unit answers exactly like one that does not exist.
        let theirs = b
            .get(&format!("/alerts/{}", alert_id(&db.store, BEIGANG).await))
            .await;
        let none = b.get("/alerts/99999999").await;
        assert_eq!(theirs.status, 404);
        assert_eq!((theirs.status, &theirs.body), (none.status, &none.body));
        assert_eq!(b.get("/city").await.status, 404, "city page for a district");
        let mine = b
            .get(&format!("/alerts/{}", alert_id(&db.store, NANHU).await))
            .await;
        assert_eq!(mine.status, 200);
        assert!(
            mine.body
                .contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;南湖机械")
        );
        assert!(mine.body.contains("新增"), "history: {}", mine.body);
        // The alert page leads to its case.
        let nanhu = alert_id(&db.store, NANHU).await;
        let case = db.store.newest_case_of(nanhu).await.expect("case of");
        let case = case.expect("the district's alert is a case");
        let link = format!(r#"href="/cases/{case}""#);
        assert!(mine.body.contains(&link), "{}", mine.body);

        serve_done(serve, db).await;
    }
}

trait Reuse {
    async fn confirm_reused(&mut self, link: &str) -> u16;
}

impl Reuse for Browser {
    /// POSTs a link's token again (its page now refuses, so the form is rebuilt by hand).
    async fn confirm_reused(&mut self, link: &str) -> u16 {
        let token = link.split("token=").nth(1).expect("token");
        let csrf = self.get("/todo").await.field("csrf").expect("csrf");
        let page = self.get(&format!("/signin/confirm?token={token}")).await;
        assert_eq!(page.status, 410, "a used link's page");
        self.post("/signin/confirm", &[("token", token), ("csrf", &csrf)], &[])
            .await
            .status
    }
}

async fn serve_done(serve: Serve, db: TestDb) {
    drop(serve);
    db.cleanup().await;
}

#[tokio::test]
async fn csrf_and_expiry_are_enforced_on_every_session() {
    for db in TestDb::all().await {
        seeded(&db).await;
        let smtp = SmtpServer::start().await;
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let serve = Serve::start(dir.path(), &db.url, &config(smtp.port, port, ""), port).await;

        // A city official: the city page lists every unit.
        let mut city = Browser::new(&serve);
        city.ask_link("city@gxj.example.cn").await;
        let link = link_in_mail(&smtp, "city@gxj.example.cn", 0).await;
        assert_eq!(city.confirm(&link).await.status, 303);
        let page = city.get("/city").await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(
            page.body.contains("东岭区") && page.body.contains("西湖县"),
            "{}",
            page.body
        );
        let csrf = page.field("csrf").expect("csrf");

        // Sign-out without the token, or with another session's, is refused with 403.
        assert_eq!(city.post("/signout", &[], &[]).await.status, 403);
        let wrong = "A".repeat(43);
        assert_eq!(
            city.post("/signout", &[("csrf", &wrong)], &[]).await.status,
            403
        );
        assert_eq!(
            city.get("/city").await.status,
            200,
            "refused POSTs changed nothing"
        );
        // A POST from a page elsewhere carries the cookie but cannot know the token.
        let forged = city
            .post("/signout", &[], &[("origin", "http://evil.example")])
            .await;
        assert_eq!(forged.status, 403);
        let out = city.post("/signout", &[("csrf", &csrf)], &[]).await;
        assert_eq!(out.status, 303);
        assert_eq!(city.get("/city").await.status, 401, "signed out");
        let log = db.store.audit_log(None).await.expect("audit log");
        let outs: Vec<_> = log.iter().filter(|e| e.action == "sign_out").collect();
        assert_eq!(outs.len(), 1, "only the accepted sign-out: {log:?}");

        // Idle for longer than 8 hours: the session is refused.
        let mut dc = Browser::new(&serve);
        dc.ask_link("dc@example.cn").await;
        let link = link_in_mail(&smtp, "dc@example.cn", 0).await;
        assert_eq!(dc.confirm(&link).await.status, 303);
        assert_eq!(dc.get("/todo").await.status, 200);
        exec(
            &db.store,
            "UPDATE console_session SET last_seen_at = last_seen_at - 9 * 3600000",
        )
        .await;
        let idle = dc.get("/todo").await;
        assert_eq!(idle.status, 401);
        assert!(idle.body.contains("登录已过期"), "{}", idle.body);

        // Past the absolute lifetime, however active.
        let mut li = Browser::new(&serve);
        li.ask_link("li@example.cn").await;
        let link = link_in_mail(&smtp, "li@example.cn", 0).await;
        assert_eq!(li.confirm(&link).await.status, 303);
        assert_eq!(li.get("/todo").await.status, 200);
        exec(
            &db.store,
            "UPDATE console_session SET expires_at = created_at",
        )
        .await;
        assert_eq!(li.get("/todo").await.status, 401);
        assert_eq!(mails_to(&smtp, "li@example.cn"), 1);

        // A link past its 15 minutes is refused.
        let mut xc = Browser::new(&serve);
        xc.ask_link("xc@example.cn").await;
        let link = link_in_mail(&smtp, "xc@example.cn", 0).await;
        exec(
            &db.store,
            "UPDATE console_signin SET expires_at = created_at + 1 WHERE used_at IS NULL",
        )
        .await;
        let path = link.strip_prefix(&serve.url("")).expect("path");
        assert_eq!(xc.get(path).await.status, 410);

        serve_done(serve, db).await;
    }
}

/// Asks for links with a different address and `X-Forwarded-For` each time; returns statuses.
async fn ask_many(b: &mut Browser, n: usize, same_xff: bool) -> Vec<u16> {
    let form = b.get("/signin").await;
    let csrf = form.field("csrf").expect("csrf");
    let mut out = Vec::new();
    for i in 0..n {
        let email = format!("someone{i}@example.cn");
        let xff = if same_xff {
            "198.51.100.7".to_string()
        } else {
            format!("198.51.100.{}", i + 1)
        };
        let r = b
            .post(
                "/signin",
                &[("email", &email), ("csrf", &csrf)],
                &[("x-forwarded-for", &xff)],
            )
            .await;
        out.push(r.status);
    }
    out
}

#[tokio::test]
async fn forwarded_for_is_ignored_from_an_untrusted_peer() {
    let db = TestDb::sqlite().await;
    let smtp = SmtpServer::start().await;
    let dir = tempfile::tempdir().expect("tempdir");

    // No trusted proxy: every request counts against the loopback peer, whatever the header.
    let port = free_port();
    let serve = Serve::start(dir.path(), &db.url, &config(smtp.port, port, ""), port).await;
    let mut b = Browser::new(&serve);
    let got = ask_many(&mut b, 11, false).await;
    assert_eq!(&got[..10], &[200; 10]);
    assert_eq!(got[10], 429, "the 11th request from one client");
    drop(serve);

    // Loopback as the trusted proxy: the header names the client.
    let port = free_port();
    let extra = "trusted_proxy = [\"127.0.0.1\"]";
    let serve = Serve::start(dir.path(), &db.url, &config(smtp.port, port, extra), port).await;
    let mut b = Browser::new(&serve);
    assert_eq!(ask_many(&mut b, 11, false).await, vec![200; 11]);
    let same = ask_many(&mut b, 11, true).await;
    assert_eq!(same[10], 429);
    // Nothing was mailed: none of these addresses is an official's.
    assert!(smtp.messages().is_empty());
    drop(serve);
    db.cleanup().await;
}

#[tokio::test]
async fn a_link_is_consumed_exactly_once_even_by_two_racing_posts() {
    for db in TestDb::all().await {
        let s = &db.store;
        let now = 1_000_000;
        s.insert_signin("h1", "dongcheng", "127.0.0.1", now, now + 900_000)
            .await
            .expect("insert");
        assert_eq!(
            s.signin_valid("h1", now + 1)
                .await
                .expect("valid")
                .as_deref(),
            Some("dongcheng")
        );
        let (a, b) = tokio::join!(
            s.consume_signin("h1", now + 1),
            s.consume_signin("h1", now + 1)
        );
        let won: Vec<_> = [a.expect("a"), b.expect("b")]
            .into_iter()
            .flatten()
            .collect();
        assert_eq!(won, vec!["dongcheng".to_string()], "{}", db.name);
        assert_eq!(s.signin_valid("h1", now + 2).await.expect("valid"), None);
        // Past its end, an unused link is refused too.
        s.insert_signin("h2", "city", "127.0.0.1", now, now + 900_000)
            .await
            .expect("insert");
        assert_eq!(
            s.consume_signin("h2", now + 900_000).await.expect("late"),
            None
        );
        // Purging keeps live sessions and drops ended ones.
        s.insert_session("s1", "city", "127.0.0.1", now, now + 1000)
            .await
            .expect("s1");
        s.insert_session("s2", "city", "127.0.0.1", now + 2000, now + 9000)
            .await
            .expect("s2");
        s.purge_console(now + 1500, now).await.expect("purge");
        assert!(s.session("s1").await.expect("s1").is_none());
        assert!(s.session("s2").await.expect("s2").is_some());
        db.cleanup().await;
    }
}
