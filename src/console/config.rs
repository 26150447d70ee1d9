//! `[console]`: where the officials' web console listens, the address officials reach it at,
//! which proxy's `X-Forwarded-For` is believed, and how long a session lasts.

use std::net::{IpAddr, SocketAddr};

use serde::Deserialize;

/// `[console]`; absent means no console.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleConfig {
    /// The console's own listener (IP:port), apart from the operator's `daemon.listen`.
    pub listen: String,
    /// The address officials open, as the browser sees it (`https://indmon.gxj.example.gov.cn`);
    /// sign-in links in mail start with it. Default: `http://{listen}`.
    pub public_url: Option<String>,
    /// Addresses of the reverse proxies whose `X-Forwarded-For` is believed; any other peer's
    /// header is ignored and the peer address is the client.
    #[serde(default)]
    pub trusted_proxy: Vec<String>,
    /// Hours without a request after which a session ends.
    #[serde(default = "default_idle")]
    pub session_idle_hours: u64,
    /// Days after sign-in after which a session ends however active.
    #[serde(default = "default_max_days")]
    pub session_max_days: u64,
    /// Mark the cookie `Secure` (sent over HTTPS only). Default: whether `public_url` is https.
    pub secure_cookies: Option<bool>,
}

fn default_idle() -> u64 {
    8
}
fn default_max_days() -> u64 {
    7
}

impl ConsoleConfig {
    /// The base of the links in mail, without a trailing slash.
    pub fn base_url(&self) -> String {
        match &self.public_url {
            Some(u) => u.trim_end_matches('/').to_string(),
            None => format!("http://{}", self.listen),
        }
    }

    /// Whether cookies carry `Secure`.
    pub fn secure(&self) -> bool {
        self.secure_cookies
            .unwrap_or_else(|| self.base_url().starts_with("https://"))
    }

    /// Idle lifetime in milliseconds.
    pub fn idle_ms(&self) -> i64 {
        i64::try_from(self.session_idle_hours).unwrap_or(0) * 3_600_000
    }

    /// Absolute lifetime in milliseconds.
    pub fn max_ms(&self) -> i64 {
        i64::try_from(self.session_max_days).unwrap_or(0) * 86_400_000
    }

    /// The trusted proxies that parse (check-config reports the others).
    pub fn proxies(&self) -> Vec<IpAddr> {
        self.trusted_proxy
            .iter()
            .filter_map(|a| a.parse().ok())
            .collect()
    }
}

/// Every problem of `[console]`, as `(key, message)`.
pub fn problems(c: &ConsoleConfig, daemon_listen: &str, has_mail: bool) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut p = |k: &str, m: String| out.push((format!("console.{k}"), m));
    match c.listen.parse::<SocketAddr>() {
        Err(_) => p(
            "listen",
            format!(
                "“{}”应为 IP:端口，如 127.0.0.1:8080 (must be IP:port)",
                c.listen
            ),
        ),
        Ok(a) if daemon_listen.parse::<SocketAddr>().is_ok_and(|d| d == a) => p(
            "listen",
            "不能与 daemon.listen 相同：运维端点与官员控制台分开监听 (must differ from daemon.listen)"
                .into(),
        ),
        Ok(_) => {}
    }
    if let Some(u) = &c.public_url {
        let rest = u
            .strip_prefix("https://")
            .or_else(|| u.strip_prefix("http://"));
        if rest.is_none_or(|r| r.is_empty() || r.contains(['?', '#', ' '])) {
            p(
                "public_url",
                "应为 http(s)://主机[/路径]，不含 ? 或 # (must be an http(s) URL without query)"
                    .into(),
            );
        }
    }
    if c.secure_cookies == Some(true) && c.base_url().starts_with("http://") {
        p(
            "secure_cookies",
            "public_url 为 http 时浏览器不会回传 Secure Cookie，无法登录 (Secure cookies need an https public_url)"
                .into(),
        );
    }
    for (i, a) in c.trusted_proxy.iter().enumerate() {
        if a.parse::<IpAddr>().is_err() {
            p(
                &format!("trusted_proxy[{i}]"),
                format!("“{a}”不是 IP 地址 (not an IP address)"),
            );
        }
    }
    if !(1..=720).contains(&c.session_idle_hours) {
        p(
            "session_idle_hours",
            "应在1到720小时之间 (must be 1–720)".into(),
        );
    }
    if !(1..=90).contains(&c.session_max_days) {
        p("session_max_days", "应在1到90天之间 (must be 1–90)".into());
    } else if c.session_idle_hours > c.session_max_days * 24 {
        p(
            "session_idle_hours",
            "不应长于 session_max_days (must not exceed the absolute lifetime)".into(),
        );
    }
    if !has_mail {
        p(
            "listen",
            "控制台以邮件发送登录链接，需要 [mail] (the console mails sign-in links: needs [mail])"
                .into(),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    const MAIL: &str = "[mail]\nfrom = \"a@b.cn\"\ntransport = \"file\"\nfile_dir = \"/tmp\"\n";

    fn keys(text: &str) -> Vec<String> {
        Config::parse(text)
            .expect("parse")
            .validate()
            .into_iter()
            .map(|p| p.key)
            .collect()
    }

    #[test]
    fn a_good_console_section_is_accepted_with_its_defaults() {
        let c = Config::parse(&format!(
            "{MAIL}[console]\nlisten = \"127.0.0.1:8080\"\npublic_url = \"https://jc.example.cn/\"\n"
        ))
        .expect("parse");
        assert!(c.validate().is_empty(), "{:?}", c.validate());
        let k = c.console.expect("console");
        assert_eq!(k.base_url(), "https://jc.example.cn");
        assert!(k.secure());
        assert_eq!(k.idle_ms(), 8 * 3_600_000);
        assert_eq!(k.max_ms(), 7 * 86_400_000);
    }

    #[test]
    fn check_config_names_every_bad_console_key() {
        let k = keys(
            "[console]\nlisten = \"127.0.0.1:9464\"\npublic_url = \"ftp://x\"\ntrusted_proxy = [\"10.0.0.1\", \"proxy\"]\nsession_idle_hours = 0\nsession_max_days = 91\n",
        );
        for want in [
            "console.listen",
            "console.public_url",
            "console.trusted_proxy[1]",
            "console.session_idle_hours",
            "console.session_max_days",
        ] {
            assert!(k.contains(&want.to_string()), "{want} in {k:?}");
        }
        assert!(!k.contains(&"console.trusted_proxy[0]".to_string()));
        let k = keys(&format!(
            "{MAIL}[console]\nlisten = \"127.0.0.1:8080\"\nsecure_cookies = true\n"
        ));
        assert_eq!(k, vec!["console.secure_cookies".to_string()]);
        assert!(Config::parse("[console]\nlisten = \"x\"\nlsten = \"y\"\n").is_err());
    }
}
