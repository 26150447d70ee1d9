//! `[[robots]]`: a 钉钉 or 企业微信 group robot that speaks for a group of recipients. The
//! webhook URL (it carries the access_token or key) and the 钉钉 signing secret are secrets:
//! named by env or file like every secret, never shown by `Debug`, in a log line or an error.

use std::collections::HashSet;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::config::SecretRef;
use crate::console::ConsoleConfig;
use crate::notify::RecipientConfig;

/// Which robot API a webhook speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RobotKind {
    /// 钉钉自定义机器人: `oapi.dingtalk.com/robot/send?access_token=…`, signed (加签).
    Dingtalk,
    /// 企业微信群机器人: `qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…`, no signature.
    Wecom,
}

impl RobotKind {
    pub fn zh(self) -> &'static str {
        match self {
            RobotKind::Dingtalk => "钉钉",
            RobotKind::Wecom => "企业微信",
        }
    }

    /// The query parameter that carries the robot's credential in its webhook URL.
    pub fn credential_param(self) -> &'static str {
        match self {
            RobotKind::Dingtalk => "access_token",
            RobotKind::Wecom => "key",
        }
    }
}

/// `[[robots]]`: one group robot.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RobotConfig {
    /// Stable id, kept on each queued notice.
    pub id: String,
    /// The work group, for logs and `check-config` (东城区工业运行工作群).
    pub name: String,
    pub kind: RobotKind,
    /// The whole webhook URL as the robot's settings page shows it (with its access_token or
    /// key): a secret.
    pub webhook: SecretRef,
    /// 钉钉 加签 secret (`SEC…`); required for `dingtalk`, not allowed for `wecom`.
    pub secret: Option<SecretRef>,
    /// Recipient ids (`[[recipients]]`) whose scopes this group's notice counts.
    pub recipients: Vec<String>,
    /// The officials' console the notice links to; default: `[console] public_url`.
    pub console_url: Option<String>,
    /// The notice's heading (钉钉 shows it in the conversation list); put the robot's
    /// 自定义关键词 here if it uses one.
    #[serde(default = "default_title")]
    pub title: String,
    /// Messages a minute; both APIs allow at most 20 (钉钉 then blocks the robot 10 minutes).
    #[serde(default = "default_per_minute")]
    pub max_per_minute: u32,
    /// Bound on one request, connect to reply.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
}

fn default_title() -> String {
    "工业运行监测提示".into()
}
fn default_per_minute() -> u32 {
    20
}
fn default_timeout() -> u64 {
    10
}

/// The most messages a minute either API accepts from one robot.
pub const API_PER_MINUTE: u32 = 20;

/// Longest request allowed: well inside the sender's lease (a request still running when the
/// lease ends would be taken for a dead sender's).
pub const MAX_TIMEOUT_SECS: u64 = 120;

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Checks a resolved webhook URL; the message never quotes it.
pub fn check_webhook(kind: RobotKind, url: &SecretString) -> Result<reqwest::Url, String> {
    let u = reqwest::Url::parse(url.expose_secret().trim())
        .map_err(|_| "不是有效的网址（值不显示）(not a valid URL; the value is not shown)")?;
    match (u.scheme(), u.host_str()) {
        ("https", Some(_)) => {}
        ("http", Some(h)) if is_loopback(h) => {}
        _ => {
            return Err(
                "应为 https 网址（明文 http 只允许本机回环地址）(must be https; plain http only to loopback)"
                    .into(),
            );
        }
    }
    let param = kind.credential_param();
    if !u.query_pairs().any(|(k, v)| k == param && !v.is_empty()) {
        return Err(format!(
            "{}机器人的 webhook 应含 {param} 参数 (the webhook URL has no {param})",
            kind.zh()
        ));
    }
    Ok(u)
}

impl RobotConfig {
    /// The console the notice links to: its own `console_url`, else `[console] public_url`.
    pub fn link<'a>(&'a self, console: Option<&'a ConsoleConfig>) -> Option<&'a str> {
        self.console_url
            .as_deref()
            .or_else(|| console.and_then(|c| c.public_url.as_deref()))
    }
}

/// Every problem of `[[robots]]`, as `(key, message)`; `console` gives the default link.
pub fn problems(
    robots: &[RobotConfig],
    recipients: &[RecipientConfig],
    console: Option<&ConsoleConfig>,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let known: HashSet<&str> = recipients.iter().map(|r| r.id.as_str()).collect();
    let mut ids = HashSet::new();
    for (i, r) in robots.iter().enumerate() {
        let key = format!("robots[{i}]");
        let mut p = |k: &str, m: String| out.push((format!("{key}.{k}"), m));
        if !ids.insert(r.id.as_str()) {
            p("id", "机器人 id 重复 (duplicate robot id)".into());
        }
        match r.webhook.resolve() {
            Err(e) => p("webhook", e),
            Ok(url) => {
                if let Err(e) = check_webhook(r.kind, &url) {
                    p("webhook", e);
                }
            }
        }
        match (r.kind, &r.secret) {
            (RobotKind::Dingtalk, None) => p(
                "secret",
                "钉钉机器人需要加签密钥 (a dingtalk robot needs its signing secret)".into(),
            ),
            (RobotKind::Dingtalk, Some(s)) => match s.resolve() {
                Err(e) => p("secret", e),
                Ok(v) if !v.expose_secret().starts_with("SEC") => p(
                    "secret",
                    "钉钉加签密钥应以 SEC 开头（值不显示）(the signing secret starts with SEC)"
                        .into(),
                ),
                Ok(_) => {}
            },
            (RobotKind::Wecom, Some(_)) => p(
                "secret",
                "企业微信群机器人不加签，不应配置 secret (wecom robots are not signed)".into(),
            ),
            (RobotKind::Wecom, None) => {}
        }
        if r.recipients.is_empty() {
            p(
                "recipients",
                "应列出本群代表的收件人 (list the recipients this group speaks for)".into(),
            );
        }
        for who in r.recipients.iter().filter(|w| !known.contains(w.as_str())) {
            p(
                "recipients",
                format!("“{who}”不是已配置的收件人 id (not a configured recipient id)"),
            );
        }
        match (&r.console_url, r.link(console)) {
            (_, None) => p(
                "console_url",
                "通知需要平台链接：请配置 console_url 或 [console] public_url (needs console_url or [console] public_url)".into(),
            ),
            (Some(u), _) if !(u.starts_with("https://") || u.starts_with("http://")) => p(
                "console_url",
                "应以 http:// 或 https:// 开头 (must be an http(s) URL)".into(),
            ),
            _ => {}
        }
        if r.title.trim().is_empty() || r.title.chars().count() > 64 {
            p("title", "应为1到64个字 (1 to 64 characters)".into());
        }
        if r.max_per_minute == 0 || r.max_per_minute > API_PER_MINUTE {
            p(
                "max_per_minute",
                format!("应在1到{API_PER_MINUTE}之间 (between 1 and {API_PER_MINUTE})"),
            );
        }
        if r.timeout_secs == 0 || r.timeout_secs > MAX_TIMEOUT_SECS {
            p(
                "timeout_secs",
                format!("应在1到{MAX_TIMEOUT_SECS}之间 (between 1 and {MAX_TIMEOUT_SECS})"),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    #[test]
    fn robots_are_checked_without_showing_their_secrets() {
        let dir = tempfile::tempdir().expect("tempdir");
        let write = |name: &str, text: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).expect("write");
            p.display().to_string()
        };
        let plain = write(
            "plain",
            "http://robot.example.cn/robot/send?access_token=tok-123",
        );
        let no_key = write("no_key", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send");
        let bad_secret = write("secret", "not-sec-456");
        let text = format!(
            r#"
            [mail]
            from = "m <m@x.cn>"
            transport = "file"
            file_dir = "/tmp"
            [[recipients]]
            id = "dc"
            name = "甲"
            email = "a@x.cn"
            role = "city"
            [[robots]]
            id = "a"
            name = "东城群"
            kind = "dingtalk"
            webhook = {{ file = '{plain}' }}
            secret = {{ file = '{bad_secret}' }}
            recipients = ["dc", "nobody"]
            console_url = "console.example.cn"
            max_per_minute = 30
            [[robots]]
            id = "a"
            name = "西城群"
            kind = "wecom"
            webhook = {{ file = '{no_key}' }}
            secret = {{ env = "INDMON_TEST_NO_SUCH_VAR" }}
            recipients = []
            console_url = "https://console.example.cn/"
            timeout_secs = 0
            "#
        );
        let c = Config::parse(&text).expect("parse");
        let problems = c.validate();
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "robots[0].webhook",
                "robots[0].secret",
                "robots[0].recipients",
                "robots[0].console_url",
                "robots[0].max_per_minute",
                "robots[1].id",
                "robots[1].webhook",
                "robots[1].secret",
                "robots[1].recipients",
                "robots[1].timeout_secs",
            ],
            "{problems:?}"
        );
        let all = format!("{problems:?} {:?}", c.robots);
        for secret in ["tok-123", "not-sec-456", "robot.example.cn"] {
            assert!(!all.contains(secret), "{secret} shown: {all}");
        }
    }

    /// A robot without `console_url` links to `[console] public_url`; its own wins; with
    /// neither, check-config names the key.
    #[test]
    fn a_robot_links_to_the_console_public_url_by_default() {
        let dir = tempfile::tempdir().expect("tempdir");
        let hook = dir.path().join("hook");
        std::fs::write(
            &hook,
            "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k",
        )
        .expect("write");
        let robot = |url: &str| {
            format!(
                "[[robots]]\nid = \"r\"\nname = \"群\"\nkind = \"wecom\"\nwebhook = {{ file = '{}' }}\nrecipients = [\"dc\"]\n{url}",
                hook.display()
            )
        };
        let base =
            "[[recipients]]\nid = \"dc\"\nname = \"甲\"\nemail = \"a@x.cn\"\nrole = \"city\"\n";
        let console =
            "[console]\nlisten = \"127.0.0.1:8088\"\npublic_url = \"https://jc.example.cn\"\n";
        let c = Config::parse(&format!("{base}{console}{}", robot(""))).unwrap();
        let keys: Vec<String> = c.validate().into_iter().map(|p| p.key).collect();
        assert!(!keys.iter().any(|k| k.starts_with("robots")), "{keys:?}");
        assert_eq!(
            c.robots[0].link(c.console.as_ref()),
            Some("https://jc.example.cn")
        );
        let own = robot("console_url = \"https://own.example.cn/\"\n");
        let c = Config::parse(&format!("{base}{console}{own}")).unwrap();
        assert_eq!(
            c.robots[0].link(c.console.as_ref()),
            Some("https://own.example.cn/")
        );
        let c = Config::parse(&format!("{base}{}", robot(""))).unwrap();
        let keys: Vec<String> = c.validate().into_iter().map(|p| p.key).collect();
        assert!(
            keys.contains(&"robots[0].console_url".to_string()),
            "{keys:?}"
        );
        assert_eq!(c.robots[0].link(None), None);
    }

    #[test]
    fn an_inline_webhook_is_refused_without_quoting_it() {
        let e = Config::parse(
            "[[robots]]\nid = \"a\"\nname = \"群\"\nkind = \"wecom\"\nwebhook = \"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc-secret-key\"\nrecipients = [\"x\"]\nconsole_url = \"https://c.cn/\"\n",
        )
        .expect_err("inline secret");
        assert!(!e.to_string().contains("abc-secret-key"), "{e}");
        assert!(e.key.contains("robots"), "{e}");
    }
}
