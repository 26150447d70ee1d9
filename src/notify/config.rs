//! `[mail]` and `[[recipients]]`: how digests leave the building and who receives what. Parsed
//! strictly like the rest of the configuration; [`problems`] checks what parsing cannot (a
//! supervisor that exists, rules that exist, a transport that has what it needs).

use std::collections::HashSet;
use std::path::PathBuf;

use serde::Deserialize;

use crate::config::SecretRef;
use crate::rules::{Rule, Severity};

/// `[mail]`: the sender, the transport and the retry policy.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailConfig {
    /// The From mailbox, e.g. `市工信局运行监测 <indmon@example.gov.cn>`.
    pub from: String,
    #[serde(default)]
    pub transport: TransportKind,
    pub host: Option<String>,
    /// Default: 587 for starttls, 465 for tls, 25 for plain.
    pub port: Option<u16>,
    #[serde(default)]
    pub security: Security,
    pub user: Option<String>,
    /// The SMTP password, from an environment variable or a file; never logged.
    pub password: Option<SecretRef>,
    /// An extra trusted root certificate (PEM), for a relay with a private CA.
    pub ca_file: Option<PathBuf>,
    /// Bound on one whole SMTP conversation, not only the connect.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    /// For the file transport: where the .eml files go.
    pub file_dir: Option<PathBuf>,
    /// Remind about an alert still unacknowledged after this many hours.
    #[serde(default = "default_repeat")]
    pub repeat_interval_hours: u64,
    /// After this many failed attempts an undelivered message is logged at ERROR level; it is
    /// never given up (transient failures are retried however long they last).
    #[serde(default = "default_attempts")]
    pub max_attempts: u32,
    #[serde(default)]
    pub attachment: AttachmentKind,
    /// How city-level officials receive the semimonthly snapshot.
    #[serde(default)]
    pub snapshot: SnapshotMail,
    /// Where the snapshot folders are published (`{snapshot_url}/{half}/report.html`), for
    /// `snapshot = "link"`.
    pub snapshot_url: Option<String>,
}

fn default_timeout() -> u64 {
    30
}
fn default_repeat() -> u64 {
    72
}
fn default_attempts() -> u32 {
    10
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransportKind {
    #[default]
    Smtp,
    /// Writes .eml files, for demos.
    File,
}

/// How the SMTP connection is protected.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// Plain connection upgraded with STARTTLS (required, not opportunistic).
    #[default]
    Starttls,
    /// TLS from the first byte (SMTPS, port 465).
    Tls,
    /// No encryption: only allowed to a loopback relay.
    Plain,
}

/// The format of the detail attachment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttachmentKind {
    /// UTF-8 CSV with a BOM so that Excel reads the Chinese.
    #[default]
    Csv,
    /// An Excel workbook with string cells only.
    Xlsx,
}

/// How the semimonthly snapshot reaches the city-level officials.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SnapshotMail {
    /// The analysis text in the body, `report.html` and `report.xlsx` attached.
    #[default]
    Attach,
    /// The analysis text and a link under `snapshot_url`.
    Link,
    /// Not emailed.
    Off,
}

/// What an official is: it decides the default scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// 市工信局: sees every alert.
    City,
    District,
    Zone,
    /// 包抓领导: the enterprises and key projects whose `owner` is this recipient's id, plus
    /// `enterprises`.
    Owner,
}

impl Role {
    pub fn zh(self) -> &'static str {
        match self {
            Role::City => "市级",
            Role::District => "县区",
            Role::Zone => "园区",
            Role::Owner => "包抓领导",
        }
    }
}

/// `[[recipients]]`: one official.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecipientConfig {
    /// Stable id; an enterprise or key project whose `owner` equals it routes its alerts here.
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: Role,
    /// What the subject line calls this recipient's scope, e.g. 东城区 (default: the name).
    pub label: Option<String>,
    /// Unit codes whose alerts this recipient sees.
    #[serde(default)]
    pub units: Vec<String>,
    /// Credit codes of enterprises this recipient is responsible for.
    #[serde(default)]
    pub enterprises: Vec<String>,
    /// Only these rules (empty: all).
    #[serde(default)]
    pub rules: Vec<String>,
    #[serde(default = "lowest")]
    pub min_severity: Severity,
    /// The recipient id escalations also go to.
    pub supervisor: Option<String>,
    /// Owns (answers) the cases of its `units` whose enterprise or project has no 包抓领导.
    #[serde(default)]
    pub case_owner: bool,
}

fn lowest() -> Severity {
    Severity::Blue
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Every problem of `[mail]` and `[[recipients]]`, as `(key, message)`.
pub fn problems(
    mail: Option<&MailConfig>,
    recipients: &[RecipientConfig],
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut p = |k: String, m: &str| out.push((k, m.to_string()));
    if let Some(m) = mail {
        if m.from.parse::<lettre::message::Mailbox>().is_err() {
            p(
                "mail.from".into(),
                "不是有效的发件地址 (not a valid mailbox)",
            );
        }
        match m.transport {
            TransportKind::File if m.file_dir.is_none() => p(
                "mail.file_dir".into(),
                "file 方式需要 file_dir (file transport needs file_dir)",
            ),
            TransportKind::Smtp => match &m.host {
                None => p(
                    "mail.host".into(),
                    "smtp 方式需要 host (smtp transport needs host)",
                ),
                Some(h) if m.security == Security::Plain && !is_loopback(h) => p(
                    "mail.security".into(),
                    "明文 SMTP 只允许本机回环地址 (plain SMTP only to a loopback host)",
                ),
                Some(_) => {}
            },
            TransportKind::File => {}
        }
        if m.user.is_some() != m.password.is_some() {
            p(
                "mail.password".into(),
                "user 与 password 应同时设置 (set both user and password)",
            );
        }
        if let Some(s) = &m.password
            && let Err(e) = s.resolve()
        {
            p("mail.password".into(), &e);
        }
        if m.timeout_secs == 0 {
            p("mail.timeout_secs".into(), "应大于0 (must be positive)");
        }
        if m.max_attempts == 0 {
            p("mail.max_attempts".into(), "应大于0 (must be positive)");
        }
        let http = |u: &str| u.starts_with("https://") || u.starts_with("http://");
        match &m.snapshot_url {
            None if m.snapshot == SnapshotMail::Link => p(
                "mail.snapshot_url".into(),
                "snapshot = \"link\" 需要 snapshot_url (link needs snapshot_url)",
            ),
            Some(u) if !http(u) => p(
                "mail.snapshot_url".into(),
                "应以 http:// 或 https:// 开头 (must be an http(s) URL)",
            ),
            _ => {}
        }
    } else if !recipients.is_empty() {
        p(
            "mail".into(),
            "配置了收件人但没有 [mail] (recipients without [mail])",
        );
    }
    let ids: HashSet<&str> = recipients.iter().map(|r| r.id.as_str()).collect();
    let mut seen = HashSet::new();
    for (i, r) in recipients.iter().enumerate() {
        let key = format!("recipients[{i}]");
        if !seen.insert(r.id.as_str()) {
            p(
                format!("{key}.id"),
                "收件人 id 重复 (duplicate recipient id)",
            );
        }
        if r.email.parse::<lettre::Address>().is_err() {
            p(
                format!("{key}.email"),
                "不是有效的邮箱地址 (not a valid email address)",
            );
        }
        match &r.supervisor {
            Some(s) if !ids.contains(s.as_str()) => p(
                format!("{key}.supervisor"),
                "上级不是已配置的收件人 id (supervisor is not a configured recipient id)",
            ),
            Some(s) if *s == r.id => p(
                format!("{key}.supervisor"),
                "不能是自己 (cannot be oneself)",
            ),
            _ => {}
        }
        for rule in &r.rules {
            if rule.parse::<Rule>().is_err() {
                p(
                    format!("{key}.rules"),
                    &format!("未知规则“{rule}” (unknown rule)"),
                );
            }
        }
        if matches!(r.role, Role::District | Role::Zone) && r.units.is_empty() {
            p(
                format!("{key}.units"),
                "县区、园区收件人需要 units (district/zone recipients need units)",
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    fn keys(text: &str) -> Vec<String> {
        Config::parse(text)
            .expect("parse")
            .validate()
            .into_iter()
            .map(|p| p.key)
            .collect()
    }

    #[test]
    fn cross_references_and_transports_are_checked() {
        let k = keys(
            r#"
            [mail]
            from = "not a mailbox"
            host = "smtp.example.cn"
            security = "plain"
            user = "u"
            [[recipients]]
            id = "a"
            name = "甲"
            email = "bad"
            role = "district"
            rules = ["enterprise_stoled"]
            supervisor = "nobody"
            [[recipients]]
            id = "a"
            name = "乙"
            email = "b@example.cn"
            role = "city"
            "#,
        );
        for want in [
            "mail.from",
            "mail.security",
            "mail.password",
            "recipients[0].email",
            "recipients[0].rules",
            "recipients[0].supervisor",
            "recipients[0].units",
            "recipients[1].id",
        ] {
            assert!(k.contains(&want.to_string()), "{want} in {k:?}");
        }
    }

    #[test]
    fn unknown_recipient_keys_are_rejected() {
        let e = Config::parse(
            "[[recipients]]\nid = \"a\"\nname = \"甲\"\nemail = \"a@b.cn\"\nrole = \"city\"\nemial = \"x\"\n",
        )
        .expect_err("unknown key");
        assert!(e.message.contains("emial"), "{e}");
    }

    #[test]
    fn recipients_need_mail() {
        let k = keys(
            "[[recipients]]\nid = \"a\"\nname = \"甲\"\nemail = \"a@b.cn\"\nrole = \"city\"\n",
        );
        assert_eq!(k, vec!["mail".to_string()]);
    }
}
