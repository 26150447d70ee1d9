//! The sign-in flow in a real headless Chromium (Debian's chromium, driven by its chromedriver
//! over WebDriver): ask for a link, open it from the mail the loopback SMTP server received,
//! press 确认登录, land on 我的待办 with the hostile enterprise name shown as text. Skipped with
//! a NOTICE where chromium or chromedriver is not installed (`.ci/run` installs both).

mod common;
#[path = "common/console.rs"]
mod console_support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::TestDb;
use common::mail::{EVIL, seed};
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

#[tokio::test]
async fn an_official_signs_in_from_the_mail_in_headless_chromium() {
    if !std::path::Path::new(CHROMIUM).exists() || !std::path::Path::new(CHROMEDRIVER).exists() {
        eprintln!("NOTICE: chromium or chromedriver not installed; browser test skipped");
        return;
    }
    let db = TestDb::sqlite().await;
    common::registry(&db.store).await;
    seed(&db.store).await;
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

    b.close().await.expect("close");
    drop(driver);
    drop(serve);
    db.cleanup().await;
}
