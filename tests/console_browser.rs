//! The sign-in flow in a real headless Chromium (Debian's chromium, driven by its chromedriver
//! over WebDriver): ask for a link, open it from the mail the loopback SMTP server received,
//! press 确认登录, land on 我的待办 with the hostile enterprise name shown as text; then the
//! case's owner answers it through the form, the markup they typed shown as text. Skipped with
//! a NOTICE where chromium or chromedriver is not installed (`.ci/run` installs both).

mod common;
#[path = "common/console.rs"]
mod console_support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::TestDb;
use common::mail::{EVIL, NANHU, seed};
use common::smtp::SmtpServer;
use console_support::{Serve, config, free_port, link_in_mail};
use fantoccini::{ClientBuilder, Locator};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// chromedriver on a loopback port, killed when dropped.
struct Driver(Child, u16);

impl Driver {
    async fn start() -> Driver {
        let port = free_port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn chromedriver");
        let until = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < until, "chromedriver did not listen");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Driver(child, port)
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What the browser types in 情况说明.
const TYPED: &str = "订单减少<script>alert(3)</script>停产";

/// Signs `email` in through the forms and the mailed link, landing on 我的待办.
async fn sign_in(b: &fantoccini::Client, serve: &Serve, smtp: &SmtpServer, email: &str) {
    b.goto(&serve.url("/signin")).await.expect("goto");
    b.find(Locator::Css("input[name=email]"))
        .await
        .expect("form")
        .send_keys(email)
        .await
        .expect("type");
    b.find(Locator::Css("main button[type=submit]"))
        .await
        .expect("button")
        .click()
        .await
        .expect("click");
    b.wait()
        .for_element(Locator::XPath("//h1[normalize-space()='请查收邮件']"))
        .await
        .expect("answer");
    let link = link_in_mail(smtp, email, 0).await;
    b.goto(&link).await.expect("open link");
    b.find(Locator::Id("confirm"))
        .await
        .expect("确认登录")
        .click()
        .await
        .expect("click");
    let want = serve.url("/todo");
    let until = Instant::now() + Duration::from_secs(20);
    while b.current_url().await.expect("url").as_str() != want {
        assert!(Instant::now() < until, "did not land on 我的待办");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn an_official_signs_in_from_the_mail_in_headless_chromium() {
    if !std::path::Path::new(CHROMIUM).exists() || !std::path::Path::new(CHROMEDRIVER).exists() {
        eprintln!("NOTICE: chromium or chromedriver not installed; browser test skipped");
        return;
    }
    let db = TestDb::sqlite().await;
    common::registry(&db.store).await;
    seed(&db.store).await;
    let cases = console_support::open_cases(&db.store).await;
    let smtp = SmtpServer::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let serve = Serve::start(dir.path(), &db.url, &config(smtp.port, port, ""), port).await;
    let driver = Driver::start().await;

    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": CHROMIUM,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=390,844"],
        }),
    );
    let b = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.1))
        .await
        .expect("a Chromium session");

    // A page without a session shows the sign-in form.
    b.goto(&serve.url("/todo")).await.expect("goto");
    let email = b
        .find(Locator::Css("input[name=email]"))
        .await
        .expect("form");
    email.send_keys("dc@example.cn").await.expect("type");
    b.find(Locator::Css("button[type=submit]"))
        .await
        .expect("button")
        .click()
        .await
        .expect("click");
    // The form's own page has an <h1> too: wait for the answer's, not whichever is there
    // (the old one goes stale when the answer arrives).
    let h1 = b
        .wait()
        .for_element(Locator::XPath("//h1[normalize-space()='请查收邮件']"))
        .await
        .expect("answer");
    assert_eq!(h1.text().await.expect("text"), "请查收邮件");

    // The link from the mail opens the confirmation; its button signs in.
    let link = link_in_mail(&smtp, "dc@example.cn", 0).await;
    b.goto(&link).await.expect("open link");
    b.find(Locator::Id("confirm"))
        .await
        .expect("确认登录")
        .click()
        .await
        .expect("click");
    let want = serve.url("/todo");
    let until = Instant::now() + Duration::from_secs(20);
    while b.current_url().await.expect("url").as_str() != want {
        assert!(Instant::now() < until, "did not land on 我的待办");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let h1 = b.find(Locator::Css("h1")).await.expect("h1");
    assert!(h1.text().await.expect("text").starts_with("我的待办"));

    // The hostile name is text on the page, not a script that ran.
    let first = b.find(Locator::Css(".card a")).await.expect("an item");
    assert_eq!(first.text().await.expect("text"), EVIL);
    let scripts = b.find_all(Locator::Css("script")).await.expect("scripts");
    assert!(scripts.is_empty(), "no script element on the page");

    // Reloading keeps the session (the cookie was stored); signing out ends it.
    b.refresh().await.expect("reload");
    b.find(Locator::Css("header form button"))
        .await
        .expect("退出")
        .click()
        .await
        .expect("click");
    b.wait()
        .for_element(Locator::Css("input[name=email]"))
        .await
        .expect("back to the sign-in form");
    b.goto(&serve.url("/todo")).await.expect("goto");
    assert!(b.find(Locator::Css("input[name=email]")).await.is_ok());

    // 李副市长 answers the 南湖 case through its form, with markup typed in 情况说明.
    let nanhu = cases.iter().find(|c| c.subject == NANHU).expect("case").id;
    sign_in(&b, &serve, &smtp, "li@example.cn").await;
    b.goto(&serve.url(&format!("/cases/{nanhu}")))
        .await
        .expect("goto");
    b.find(Locator::Css("select[name=cause]"))
        .await
        .expect("cause")
        .select_by_value("资金紧张")
        .await
        .expect("select");
    for (field, text) in [
        ("textarea[name=situation]", TYPED),
        ("textarea[name=measures]", "协调银行续贷"),
        ("input[name=resume_month]", "2027-01"),
    ] {
        b.find(Locator::Css(field))
            .await
            .expect(field)
            .send_keys(text)
            .await
            .expect("type");
    }
    b.find(Locator::Id("submit-answer"))
        .await
        .expect("提交反馈")
        .click()
        .await
        .expect("click");
    let notice = b
        .wait()
        .for_element(Locator::Css("p.notice"))
        .await
        .expect("the case page again");
    assert_eq!(notice.text().await.expect("text"), "反馈已提交。");
    let shown = b.find(Locator::Css(".card .text")).await.expect("情况说明");
    assert_eq!(
        shown.text().await.expect("text"),
        format!("情况说明：{TYPED}")
    );
    let scripts = b.find_all(Locator::Css("script")).await.expect("scripts");
    assert!(scripts.is_empty(), "the typed markup is text");
    let case = db.store.case(nanhu).await.expect("case").expect("exists");
    assert_eq!(case.state, indmon::cases::CaseState::Answered);

    b.close().await.expect("close");
    drop(driver);
    drop(serve);
    db.cleanup().await;
}
