//! Configuration: one TOML file, strict (unknown keys are errors), then checked for
//! cross-references. Secrets are named by environment variable or file, never written inline,
//! and never reach `Debug` or a log line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use secrecy::SecretString;
use serde::Deserialize;

use crate::ingest::TextEncoding;

mod parse;
mod validate;

/// The whole configuration.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub general: General,
    #[serde(default)]
    pub database: Database,
    /// Indicators beyond the built-in ones (unit-level figures such as 技改投资).
    #[serde(default)]
    pub indicators: Vec<IndicatorConfig>,
    /// Where submissions come from.
    #[serde(default)]
    pub sources: Vec<SourceConfig>,
    /// Thresholds and severities of the rules.
    #[serde(default)]
    pub rules: crate::rules::RulesConfig,
    /// Thresholds of the 旬 rules on metered electricity (`[power]`).
    #[serde(default)]
    pub power: crate::power::PowerConfig,
    /// How warnings are mailed (`[mail]`); none means no email.
    #[serde(default)]
    pub mail: Option<crate::notify::MailConfig>,
    /// Who receives warnings, and about what.
    #[serde(default)]
    pub recipients: Vec<crate::notify::RecipientConfig>,
    /// Group robots (钉钉, 企业微信) that post a short notice for groups of recipients.
    #[serde(default)]
    pub robots: Vec<crate::notify::robot::RobotConfig>,
    /// How `indmon serve` runs (listen address, grace period, catch-up).
    #[serde(default)]
    pub daemon: crate::daemon::DaemonConfig,
    /// Schedules of the daemon's jobs.
    #[serde(default)]
    pub jobs: crate::daemon::JobsConfig,
    /// How imported files are read (`[import.xlsx]`: the limits of a workbook).
    #[serde(default)]
    pub import: crate::ingest::ImportConfig,
    /// The report's industries: leading divisions and groupings (`[industry]`).
    #[serde(default)]
    pub industry: crate::report::industry::IndustryConfig,
    /// The working-day calendar: years added to the shipped ones (`[calendar]`).
    #[serde(default)]
    pub calendar: crate::calendar::CalendarConfig,
    /// Which alerts become cases, deadlines, causes (`[cases]`).
    #[serde(default)]
    pub cases: crate::cases::CasesConfig,
    /// The officials' web console in `indmon serve` (`[console]`); none means no console.
    #[serde(default)]
    pub console: Option<crate::console::ConsoleConfig>,
    /// Folders where the bureau drops the 反馈表 of one unit (`[[feedback_inbox]]`).
    #[serde(default)]
    pub feedback_inbox: Vec<crate::feedback::FeedbackInbox>,
}

/// Settings of the whole bureau.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct General {
    /// The city's name as printed on reports (示例市).
    pub city_name: String,
    /// IANA time zone for periods, deadlines and schedules.
    pub timezone: String,
    /// Annual main revenue at or above which an enterprise is above-scale, in 万元.
    pub above_scale_threshold: f64,
    /// Analyse January and February together (1-2月), as the statistics bureau publishes them.
    pub jan_feb_combined: bool,
    /// Day of month P+1 by which enterprises must have reported month P.
    pub report_deadline_day: u32,
}

impl Default for General {
    fn default() -> General {
        General {
            city_name: "本市".into(),
            timezone: "Asia/Shanghai".into(),
            above_scale_threshold: 2000.0,
            jan_feb_combined: true,
            report_deadline_day: 10,
        }
    }
}

/// The database; `--database` and `INDMON_DATABASE_URL` override `url`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Database {
    pub url: Option<String>,
    /// Where the PostgreSQL password is kept (env or file), used at connect time instead of one in `url`.
    pub password: Option<SecretRef>,
}

/// A configured indicator.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndicatorConfig {
    pub name: String,
    pub zh: String,
    pub unit: String,
}

/// A source of submissions.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    pub name: String,
    pub kind: SourceKind,
    /// For `http`: the address.
    pub url: Option<String>,
    /// For `dir`: the inbox folder.
    pub path: Option<PathBuf>,
    #[serde(default)]
    pub format: Option<String>,
    #[serde(default)]
    pub encoding: TextEncoding,
    /// Multiplier for money columns, e.g. `0.1` when the source sends 千元.
    pub scale: Option<String>,
    /// Commit the good rows of a file that has rejected rows.
    #[serde(default)]
    pub partial: bool,
    /// Header text or column letter → field (`"工业总产值（当年价格）/本月" = "output"`, `"C" = "output"`).
    #[serde(default)]
    pub column_map: BTreeMap<String, String>,
    /// Bearer token for `http`.
    pub token: Option<SecretRef>,
    /// HTTP basic authentication for `http` (instead of `token`).
    pub basic: Option<BasicAuth>,
    /// Extra request headers for `http` (no secrets here: use `token` or `basic`).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Query parameter carrying the last watermark (`next_cursor`) to an `http` source.
    pub cursor_param: Option<String>,
    /// Seconds one HTTP request may take, body included.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    /// Retries of a request after a timeout, a connection error or a 5xx answer.
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// Largest HTTP body accepted, in MiB.
    #[serde(default = "default_max_body_mb")]
    pub max_body_mb: u64,
    /// Failed pulls in a row after which the city administrators are alerted.
    #[serde(default = "default_failure_alert_after")]
    pub failure_alert_after: u32,
    /// When to pull (cron with seconds, Asia/Shanghai); used by the daemon.
    pub schedule: Option<String>,
    /// For `dir`: a file modified less than this many seconds ago may still be being written.
    #[serde(default = "default_settle_secs")]
    pub settle_secs: u64,
    /// Recipient ids (`[[recipients]]`) told in Chinese which file or page of this source was
    /// refused for its content, and why.
    #[serde(default)]
    pub contact: Vec<String>,
    /// For `dir`: a file that was being read when the process died this many times is refused
    /// (moved to `rejected/`) instead of being read again.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
}

/// HTTP basic authentication: a user name and where the password is kept.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    pub user: String,
    pub password: SecretRef,
}

fn default_timeout_secs() -> u64 {
    30
}
fn default_retries() -> u32 {
    3
}
fn default_max_body_mb() -> u64 {
    64
}
fn default_failure_alert_after() -> u32 {
    3
}
fn default_settle_secs() -> u64 {
    10
}
fn default_max_attempts() -> u32 {
    2
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    Http,
    Dir,
}

/// Where a secret is kept: `{ env = "NAME" }` or `{ file = "/run/secrets/x" }`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretRef {
    pub env: Option<String>,
    pub file: Option<PathBuf>,
}

impl SecretRef {
    /// Reads the secret. The error names where it looked, never what it found.
    pub fn resolve(&self) -> Result<SecretString, String> {
        match (&self.env, &self.file) {
            (Some(var), None) => std::env::var(var)
                .map(SecretString::from)
                .map_err(|_| format!("环境变量 {var} 未设置 (environment variable not set)")),
            (None, Some(path)) => std::fs::read_to_string(path)
                .map(|s| SecretString::from(s.trim_end_matches(['\n', '\r']).to_string()))
                .map_err(|e| {
                    format!(
                        "无法读取密钥文件 {} (cannot read secret file): {e}",
                        path.display()
                    )
                }),
            _ => Err("应且只应写 env 或 file 之一 (give exactly one of env, file)".into()),
        }
    }
}

/// One problem found in a configuration: the key it is about and a plain explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub key: String,
    pub message: String,
}

/// The first of a parse's problems (there is always one).
fn first(problems: Vec<Problem>) -> Problem {
    problems.into_iter().next().unwrap_or_else(|| Problem {
        key: String::new(),
        message: "配置有误 (invalid configuration)".into(),
    })
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

impl Config {
    /// Reads and parses a file; a parse error names the file, line and key.
    pub fn load(path: &Path) -> Result<Config, Problem> {
        Config::load_all(path).map_err(first)
    }

    /// Reads and parses a file; every parse error names the file, line and key.
    pub fn load_all(path: &Path) -> Result<Config, Vec<Problem>> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            vec![Problem {
                key: path.display().to_string(),
                message: format!("无法读取配置文件 (cannot read config): {e}"),
            }]
        })?;
        Config::parse_all(&text).map_err(|problems| {
            problems
                .into_iter()
                .map(|p| Problem {
                    key: format!("{}: {}", path.display(), p.key),
                    message: p.message,
                })
                .collect()
        })
    }

    /// Parses TOML text; the error is the first problem.
    pub fn parse(text: &str) -> Result<Config, Problem> {
        Config::parse_all(text).map_err(first)
    }

    /// Parses TOML text, or returns every syntax error, type error and unknown key, each with
    /// its line and key; a secret's value is never quoted.
    pub fn parse_all(text: &str) -> Result<Config, Vec<Problem>> {
        parse::parse_all(text)
    }

    /// Finds `indmon.toml` in the working directory, else the built-in defaults.
    pub fn load_default_or(path: Option<&Path>) -> Result<(Config, Option<PathBuf>), Vec<Problem>> {
        match path {
            Some(p) => Ok((Config::load_all(p)?, Some(p.to_path_buf()))),
            None if Path::new("indmon.toml").exists() => Ok((
                Config::load_all(Path::new("indmon.toml"))?,
                Some("indmon.toml".into()),
            )),
            None => Ok((Config::default(), None)),
        }
    }

    /// The configured source of that name.
    pub fn source(&self, name: &str) -> Option<&SourceConfig> {
        self.sources.iter().find(|s| s.name == name)
    }

    /// Names of configured indicators, for import validation.
    pub fn extra_indicators(&self) -> Vec<String> {
        self.indicators.iter().map(|i| i.name.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn unknown_keys_are_rejected_with_their_line() {
        let e = Config::parse("[general]\ncity_name = \"x\"\ncity_nmae = \"y\"\n").unwrap_err();
        assert!(e.message.contains("city_nmae"), "{e}");
        assert!(e.key.contains("line 3"), "{e}");
    }

    #[test]
    fn every_problem_is_listed() {
        let c = Config::parse(
            r#"
            [general]
            timezone = "Mars/Olympus"
            report_deadline_day = 40
            [[sources]]
            name = "a"
            kind = "http"
            [[sources]]
            name = "a"
            kind = "dir"
            path = "/tmp"
            scale = "abc"
            column_map = { "C" = "outptu" }
            "#,
        )
        .unwrap();
        let keys: Vec<String> = c.validate().into_iter().map(|p| p.key).collect();
        for k in [
            "general.timezone",
            "general.report_deadline_day",
            "sources[0].url",
            "sources[1].name",
            "sources[1].scale",
            "sources[1].column_map.\"C\"",
        ] {
            assert!(keys.contains(&k.to_string()), "{k} in {keys:?}");
        }
    }

    #[test]
    fn a_source_contact_must_be_a_configured_recipient() {
        let text = |contact: &str, attempts: &str| {
            format!(
                "[mail]\nfrom = \"m <m@x.cn>\"\ntransport = \"file\"\nfile_dir = \"/tmp\"\n\
                 [[recipients]]\nid = \"dl\"\nname = \"甲\"\nemail = \"a@x.cn\"\nrole = \"city\"\n\
                 [[sources]]\nname = \"a\"\nkind = \"dir\"\npath = \"/tmp\"\ncontact = [{contact}]\n{attempts}\n"
            )
        };
        let good = Config::parse(&text("\"dl\"", "")).unwrap();
        assert!(good.validate().is_empty(), "{:?}", good.validate());
        assert_eq!(good.sources[0].max_attempts, 2);
        let bad = Config::parse(&text("\"dl\", \"nobody\"", "max_attempts = 0")).unwrap();
        let problems = bad.validate();
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            ["sources[0].contact", "sources[0].max_attempts"],
            "{problems:?}"
        );
        assert!(problems[0].message.contains("nobody"), "{problems:?}");
    }

    #[test]
    fn source_keys_have_defaults_and_are_checked() {
        let c = Config::parse(
            r#"
            [[sources]]
            name = "a"
            kind = "http"
            url = "https://example.invalid/x"
            token = { env = "INDMON_TEST_NO_SUCH_VAR" }
            basic = { user = "u", password = { env = "INDMON_TEST_NO_SUCH_VAR" } }
            headers = { "Authorization" = "x", "bad header" = "y" }
            cursor_param = "a b"
            timeout_secs = 0
            retries = 99
            max_body_mb = 0
            failure_alert_after = 0
            [[sources]]
            name = "b"
            kind = "dir"
            path = "/tmp"
            "#,
        )
        .unwrap();
        let b = &c.sources[1];
        assert_eq!(
            (
                b.timeout_secs,
                b.retries,
                b.max_body_mb,
                b.failure_alert_after,
                b.settle_secs
            ),
            (30, 3, 64, 3, 10)
        );
        let keys: Vec<String> = c.validate().into_iter().map(|p| p.key).collect();
        for k in [
            "sources[0].basic",
            "sources[0].basic.password",
            "sources[0].headers.\"Authorization\"",
            "sources[0].headers.\"bad header\"",
            "sources[0].cursor_param",
            "sources[0].timeout_secs",
            "sources[0].retries",
            "sources[0].max_body_mb",
            "sources[0].failure_alert_after",
        ] {
            assert!(keys.contains(&k.to_string()), "{k} in {keys:?}");
        }
        assert!(
            !keys.iter().any(|k| k.starts_with("sources[1]")),
            "{keys:?}"
        );
    }

    #[test]
    fn secrets_never_reach_debug() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("token");
        std::fs::write(&f, "hunter2-very-secret\n").unwrap();
        let r = SecretRef {
            env: None,
            file: Some(f),
        };
        let s = r.resolve().unwrap();
        assert_eq!(s.expose_secret(), "hunter2-very-secret");
        assert!(!format!("{s:?}").contains("hunter2"));
        let missing = SecretRef {
            env: Some("INDMON_TEST_NO_SUCH_VAR".into()),
            file: None,
        };
        assert!(
            missing
                .resolve()
                .unwrap_err()
                .contains("INDMON_TEST_NO_SUCH_VAR")
        );
    }

    #[test]
    fn xlsx_limits_are_read_and_checked() {
        let c = Config::parse("[import.xlsx]\nmax_cells = 500\nmax_cell_kib = 4\n").unwrap();
        let x = &c.import.xlsx;
        assert_eq!(
            (x.max_cells, x.cell_bytes(), x.max_entry_mib),
            (500, 4096, 64)
        );
        assert!(c.validate().is_empty());
        assert!(Config::parse("[import.xlsx]\nmax_cell = 1\n").is_err());
        let c = Config::parse(
            "[import.xlsx]\nmax_cells = 0\nmax_rows = 2000000\nmax_columns = 16385\nmax_entry_mib = 0\n",
        )
        .unwrap();
        let keys: Vec<String> = c.validate().into_iter().map(|p| p.key).collect();
        for k in [
            "max_cells",
            "max_rows",
            "max_columns",
            "max_entry_mib",
            "max_cell_kib",
        ] {
            assert!(
                keys.contains(&format!("import.xlsx.{k}")),
                "{k} in {keys:?}"
            );
        }
    }

    #[test]
    fn the_example_config_is_valid() {
        let c = Config::load(Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/config/indmon.example.toml"
        )))
        .unwrap();
        // The example names its secrets by environment variable; those are not set here.
        let problems: Vec<Problem> = c
            .validate()
            .into_iter()
            .filter(|p| {
                !p.key.ends_with(".token")
                    && p.key != "mail.password"
                    && !(p.key.starts_with("robots[")
                        && (p.key.ends_with(".webhook") || p.key.ends_with(".secret"))
                        && p.message.contains("INDMON_ROBOT_"))
            })
            .collect();
        assert!(problems.is_empty(), "{problems:?}");
    }
}
