//! The console under test: a real `indmon serve` child on loopback ports with `[console]`, the
//! notification tests' officials and alerts, mail to the loopback SMTP server; and a small
//! browser-like HTTP client that keeps cookies by hand (so the tests see every `Set-Cookie`).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::smtp::SmtpServer;

/// A running `indmon serve` with its console.
pub struct Serve {
    child: Child,
    pub port: u16,
    pub log: std::path::PathBuf,
}

pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// The configuration: [`crate::common::mail::config_text`]'s officials and mail, no scheduled jobs, the
/// console on `port`, plus `console_extra` lines in `[console]`.
pub fn config(smtp_port: u16, port: u16, console_extra: &str) -> String {
    let mut c = crate::common::mail::config_text(smtp_port, "");
    c.push_str(&format!(
        "\n[daemon]\nlisten = \"127.0.0.1:{op}\"\n\n[console]\nlisten = \"127.0.0.1:{port}\"\n{console_extra}\n",
        op = free_port()
    ));
    for job in ["evaluate", "dispatch", "snapshot", "reminder", "xun"] {
        c.push_str(&format!("\n[jobs.{job}]\nenabled = false\n"));
    }
    c
}

impl Serve {
    /// Starts `indmon serve` on `db` and waits until the console answers.
    pub async fn start(dir: &Path, db: &str, config: &str, port: u16) -> Serve {
        let cfg = dir.join("console.toml");
        std::fs::write(&cfg, config).expect("write config");
        let log = dir.join("serve.log");
        let child = Command::new(env!("CARGO_BIN_EXE_indmon"))
            .arg("--config")
            .arg(&cfg)
            .args(["--database", db, "serve"])
            .env("INDMON_LOG", "info,sqlx=warn")
            .env_remove("INDMON_NOW")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("spawn indmon serve");
        let s = Serve { child, port, log };
        indmon::notify::transport::install_crypto_provider();
        // Ready once the database is reached: an unknown link answers 410 rather than 503.
        let probe = s.url(&format!("/signin/confirm?token={}", "A".repeat(43)));
        let until = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = reqwest::get(&probe).await
                && r.status().as_u16() == 410
            {
                return s;
            }
            assert!(
                Instant::now() < until,
                "console not ready; log:\n{}",
                s.logs()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One answer: status, headers' `Set-Cookie` lines, `Location`, body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub set_cookies: Vec<String>,
    pub location: Option<String>,
    pub body: String,
}

impl Answer {
    /// The value of the hidden field `name` in the page's first form that has it.
    pub fn field(&self, name: &str) -> Option<String> {
        let key = format!("name=\"{name}\" value=\"");
        let start = self.body.find(&key)? + key.len();
        let end = self.body[start..].find('"')? + start;
        Some(self.body[start..end].to_string())
    }
}

/// A browser without JavaScript: a cookie jar and the console's address.
pub struct Browser {
    http: reqwest::Client,
    base: String,
    pub cookies: BTreeMap<String, String>,
}

impl Browser {
    pub fn new(serve: &Serve) -> Browser {
        indmon::notify::transport::install_crypto_provider();
        Browser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            base: serve.url(""),
            cookies: BTreeMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> Answer {
        let req = if self.cookies.is_empty() {
            req
        } else {
            req.header("cookie", self.cookie_header())
        };
        let r = req.send().await.expect("request");
        let status = r.status().as_u16();
        let set_cookies: Vec<String> = r
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok().map(String::from))
            .collect();
        for c in &set_cookies {
            let first = c.split(';').next().unwrap_or("");
            if let Some((k, v)) = first.split_once('=') {
                if v.is_empty() || c.contains("Max-Age=0") {
                    self.cookies.remove(k);
                } else {
                    self.cookies.insert(k.to_string(), v.to_string());
                }
            }
        }
        let location = r
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(String::from);
        let body = r.text().await.expect("body");
        Answer {
            status,
            set_cookies,
            location,
            body,
        }
    }

    pub async fn get(&mut self, path: &str) -> Answer {
        let req = self.http.get(format!("{}{path}", self.base));
        self.send(req).await
    }

    /// A form POST with `fields` (urlencoded) and extra headers.
    pub async fn post(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Answer {
        let body = serde_urlencoded::to_string(fields).expect("encode");
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.send(req).await
    }

    /// Asks for a sign-in link for `email` the way the form does; returns the answer.
    pub async fn ask_link(&mut self, email: &str) -> Answer {
        let form = self.get("/signin").await;
        let csrf = form.field("csrf").expect("csrf field on the sign-in form");
        self.post("/signin", &[("email", email), ("csrf", &csrf)], &[])
            .await
    }

    /// Opens a link and presses 确认登录; returns the POST's answer.
    pub async fn confirm(&mut self, link: &str) -> Answer {
        let path = link.strip_prefix(&self.base).expect("link to this console");
        let page = self.get(path).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let csrf = page.field("csrf").expect("csrf");
        let token = page.field("token").expect("token");
        self.post(
            "/signin/confirm",
            &[("token", &token), ("csrf", &csrf)],
            &[],
        )
        .await
    }
}

/// Waits for the next message to `to` beyond the first `seen`, and returns the sign-in link in
/// its plain-text body.
pub async fn link_in_mail(smtp: &SmtpServer, to: &str, seen: usize) -> String {
    let until = Instant::now() + Duration::from_secs(20);
    loop {
        let mine: Vec<_> = smtp
            .messages()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t == to))
            .collect();
        if mine.len() > seen {
            let m = &mine[seen];
            let parsed = crate::common::mail::parsed(&m.data);
            let text = parsed.body_text(0).expect("plain text").to_string();
            let link = text
                .split_whitespace()
                .find(|w| w.contains("/signin/confirm?token="))
                .expect("a link in the mail")
                .to_string();
            return link;
        }
        assert!(Instant::now() < until, "no sign-in mail to {to}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// How many messages went to `to`.
pub fn mails_to(smtp: &SmtpServer, to: &str) -> usize {
    smtp.messages()
        .iter()
        .filter(|m| m.to.iter().any(|t| t == to))
        .count()
}

/// Opens the cases of the seeded alerts as the daemon does after an evaluation (the console
/// tests run `indmon serve` with no scheduled job): the red 南湖 case owned by its 包抓领导
/// 李副市长 (li), the yellow 东城区 unit case and the orange 北港 case without an owner.
pub async fn open_cases(store: &indmon::store::Store) -> Vec<indmon::cases::Case> {
    let config = crate::common::mail::config(1, "");
    let desk = indmon::cases::Desk::new(store.clone(), &config).expect("desk");
    desk.sync(crate::common::now()).await.expect("sync");
    store
        .cases(&indmon::store::cases::CaseQuery::default())
        .await
        .expect("cases")
}
