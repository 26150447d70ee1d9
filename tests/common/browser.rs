//! A real headless Chromium for the console tests: Debian's chromium driven by its chromedriver
//! over WebDriver, and the steps every screen shares (sign in from the mailed link, sign out,
//! wait for a text). Every wait is for an element of the page that answers, found by its text
//! or an id only that page has, so that an element of the page before is never read.

#![allow(dead_code)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator, elements::Element};

use crate::common::smtp::SmtpServer;
use crate::console_support::{Serve, free_port, link_in_mail, mails_to};

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Whether chromium and chromedriver are installed (`.ci/run` installs both).
pub fn installed() -> bool {
    std::path::Path::new(CHROMIUM).exists() && std::path::Path::new(CHROMEDRIVER).exists()
}

/// chromedriver on a loopback port, killed when dropped.
pub struct Driver(Child, u16);

impl Driver {
    pub async fn start() -> Driver {
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

    /// A headless Chromium session the size of a phone.
    pub async fn session(&self) -> Client {
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": CHROMIUM,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=390,844"],
            }),
        );
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.1))
            .await
            .expect("a Chromium session")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits for the element `tag` whose whole text is `text`.
pub async fn wait_text(b: &Client, tag: &str, text: &str) -> Element {
    b.wait()
        .for_element(Locator::XPath(&format!(
            "//{tag}[normalize-space()='{text}']"
        )))
        .await
        .unwrap_or_else(|e| panic!("no <{tag}> “{text}”: {e}"))
}

/// Clicks the element with this id.
pub async fn click_id(b: &Client, id: &str) {
    b.find(Locator::Id(id))
        .await
        .unwrap_or_else(|e| panic!("no #{id}: {e}"))
        .click()
        .await
        .expect("click");
}

/// Types `text` into the form field `css`.
pub async fn type_into(b: &Client, css: &str, text: &str) {
    b.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .send_keys(text)
        .await
        .expect("type");
}

/// Waits until the browser is at `url`.
pub async fn wait_url(b: &Client, url: &str) {
    let until = Instant::now() + Duration::from_secs(20);
    while b.current_url().await.expect("url").as_str() != url {
        assert!(Instant::now() < until, "did not reach {url}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Signs `email` in through the forms and the mailed link, landing on 我的待办.
pub async fn sign_in(b: &Client, serve: &Serve, smtp: &SmtpServer, email: &str) {
    let seen = mails_to(smtp, email);
    b.goto(&serve.url("/signin")).await.expect("goto");
    type_into(b, "input[name=email]", email).await;
    b.find(Locator::Css("main button[type=submit]"))
        .await
        .expect("button")
        .click()
        .await
        .expect("click");
    wait_text(b, "h1", "请查收邮件").await;
    let link = link_in_mail(smtp, email, seen).await;
    b.goto(&link).await.expect("open link");
    click_id(b, "confirm").await;
    wait_url(b, &serve.url("/todo")).await;
}

/// Presses 退出 in the header and waits for the sign-in form.
pub async fn sign_out(b: &Client) {
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
}

/// The browser's cookies as one `Cookie` header, for a download outside the browser.
pub async fn cookie_header(b: &Client) -> String {
    b.get_all_cookies()
        .await
        .expect("cookies")
        .iter()
        .map(|c| format!("{}={}", c.name(), c.value()))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Whether the page has any `<script>` element.
pub async fn has_script(b: &Client) -> bool {
    !b.find_all(Locator::Css("script"))
        .await
        .expect("scripts")
        .is_empty()
}
