//! Shared set-up of the notification tests: four officials, three alerts (one with a hostile
//! enterprise name), and helpers that dispatch, send to the loopback SMTP server and parse.

#![allow(dead_code)]

use chrono::{DateTime, Utc};
use indmon::alerts::{Change, EventKind};
use indmon::config::Config;
use indmon::notify::{self, Step, Transport};
use indmon::rules::{Finding, Severity};
use indmon::store::Store;
use mail_parser::MessageParser;

use super::now;
use super::smtp::{self, SmtpServer};

pub const EVIL: &str = "<script>alert(1)</script>南湖机械";
pub const NANHU: &str = "913307811860913921";
pub const BEIGANG: &str = "91330781190937864H";

/// A configuration with four officials: the city, two districts, and an owner (包抓领导) whose
/// supervisor is the city official.
pub fn config(port: u16, extra_mail: &str) -> Config {
    let text = CONFIG_TEXT
        .replace("{port}", &port.to_string())
        .replace("{extra_mail}", extra_mail);
    let c = Config::parse(&text).expect("config");
    let problems = c.validate();
    assert!(problems.is_empty(), "{problems:?}");
    c
}

const CONFIG_TEXT: &str = r#"
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
"#;

pub fn finding(
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
        rule: rule.parse().expect("rule"),
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

pub async fn apply(store: &Store, changes: Vec<Change>, at: DateTime<Utc>) {
    let eval = store
        .begin_evaluation("2026-10".parse().expect("period"), at.timestamp_millis())
        .await
        .expect("evaluation");
    store
        .apply_changes(eval, &changes, at.timestamp_millis())
        .await
        .expect("apply");
}

pub fn open(f: Finding) -> Change {
    Change::Open {
        finding: f,
        events: vec![EventKind::Opened],
    }
}

/// Three alerts: a red stalled enterprise with a hostile name in 东城区 owned by 李副市长, an
/// orange one in 西城区, and a yellow unit alert for 东城区.
pub async fn seed(store: &Store) {
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
pub async fn dispatch_and_send(store: &Store, c: &Config, at: DateTime<Utc>) -> Vec<Step> {
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

pub fn parsed(data: &[u8]) -> mail_parser::Message<'_> {
    MessageParser::default().parse(data).expect("parse message")
}

pub fn to_of(m: &smtp::Received) -> &str {
    m.to.first().map(String::as_str).unwrap_or("")
}

/// Sends what is due and returns the messages received since `before`, by recipient address.
pub async fn delivered(
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

/// The URL a child `indmon` process uses to reach a test database.
pub fn db_url(db: &super::TestDb) -> String {
    match &db.store {
        Store::Sqlite(p) => format!("sqlite://{}", p.connect_options().get_filename().display()),
        Store::Postgres(p) => {
            let o = p.connect_options();
            format!(
                "postgres://{}@{}:{}/{}",
                o.get_username(),
                o.get_host(),
                o.get_port(),
                o.get_database().unwrap_or("postgres")
            )
        }
    }
}

/// Runs `indmon` as a child with this config text at `now` (plus `env`); returns (exit code,
/// stdout, stderr). The exit code is -1 when a signal ended it.
pub fn indmon_at(
    dir: &std::path::Path,
    db: &str,
    config: &str,
    now: DateTime<Utc>,
    env: &[(&str, &str)],
    args: &[&str],
) -> (i32, String, String) {
    let cfg = dir.join("indmon.toml");
    std::fs::write(&cfg, config).expect("write config");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_indmon"))
        .env("INDMON_LOG", "info,sqlx=warn")
        .env("INDMON_NOW", now.to_rfc3339())
        .env_remove("INDMON_DATABASE_URL")
        .envs(env.iter().copied())
        .arg("--config")
        .arg(&cfg)
        .args(["--database", db])
        .args(args)
        .output()
        .expect("run indmon");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The configuration of [`config`] as text, for a child process.
pub fn config_text(port: u16, extra_mail: &str) -> String {
    CONFIG_TEXT
        .replace("{port}", &port.to_string())
        .replace("{extra_mail}", extra_mail)
}

/// The Message-ID of a received message.
pub fn message_id_of(m: &smtp::Received) -> String {
    parsed(&m.data).message_id().unwrap_or("").to_string()
}
