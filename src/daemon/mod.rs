//! The daemon (`indmon serve`): scheduled jobs with a ledger, catch-up of missed slots, one
//! leader among replicas, graceful shutdown, and `/healthz`, `/readyz`, `/metrics`.
//!
//! Reading order: [`schedule`] (pure slot arithmetic), [`jobs`] (what each job does),
//! [`leader`] (who may run jobs), [`fire`] (tokio-cron-scheduler wakes the jobs), [`runner`]
//! (the loops that tie them to the ledger), [`http`] (what an operator sees) served by
//! [`listen`] (timeouts and a connection limit on every listener).

pub mod drain;
pub mod fire;
pub mod http;
pub mod jobs;
pub mod leader;
pub mod listen;
pub mod robots;
pub mod runner;
pub mod schedule;
pub mod serve;

use chrono_tz::Tz;
use serde::Deserialize;

pub use jobs::JobKind;
pub use schedule::{CatchUp, Schedule};

use crate::config::Config;

/// `[daemon]`: how `indmon serve` runs.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DaemonConfig {
    /// Address of `/healthz`, `/readyz` and `/metrics`; loopback unless a proxy needs more.
    pub listen: String,
    /// Seconds a running job may take to finish after SIGTERM before it is rolled back.
    pub grace_secs: u64,
    /// Default catch-up policy for every job (`once` or `skip`).
    pub catch_up: CatchUp,
    /// Slots older than this many hours are not caught up.
    pub catch_up_max_age_hours: u64,
    /// Where the snapshot job writes its half-month folders.
    pub snapshot_dir: std::path::PathBuf,
    /// Seconds a client may take to send a request's header (also how long an idle
    /// keep-alive connection is kept) before the connection is closed.
    pub header_timeout_secs: u64,
    /// Seconds a request may take to be answered before it gets a 503.
    pub request_timeout_secs: u64,
    /// Connections open at once on the listener; more wait in the kernel's queue.
    pub max_connections: usize,
}

impl DaemonConfig {
    /// The limits of the listener (and of every listener the daemon will open).
    pub fn limits(&self) -> listen::Limits {
        listen::Limits {
            header_timeout: std::time::Duration::from_secs(self.header_timeout_secs),
            request_timeout: std::time::Duration::from_secs(self.request_timeout_secs),
            max_connections: self.max_connections,
        }
    }
}

impl Default for DaemonConfig {
    fn default() -> DaemonConfig {
        DaemonConfig {
            listen: "127.0.0.1:9464".into(),
            grace_secs: 60,
            catch_up: CatchUp::Once,
            catch_up_max_age_hours: 24 * 7,
            snapshot_dir: "snapshots".into(),
            header_timeout_secs: 10,
            request_timeout_secs: 30,
            max_connections: 1024,
        }
    }
}

/// One job's schedule: `{ schedule = "0 30 8 * * *", catch_up = "skip", enabled = false }`;
/// every key may be left out (`[jobs.dispatch]` with only `enabled = false` turns it off).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JobConfig {
    /// 6-field cron with seconds; the job's default when absent.
    pub schedule: Option<String>,
    /// Overrides `daemon.catch_up` for this job.
    pub catch_up: Option<CatchUp>,
    pub enabled: bool,
}

impl Default for JobConfig {
    fn default() -> JobConfig {
        JobConfig {
            schedule: None,
            catch_up: None,
            enabled: true,
        }
    }
}

/// `[jobs.*]`: the jobs that are not per source (pulls use `sources[].schedule`); every job is
/// on by default.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JobsConfig {
    /// Evaluate the latest complete period (also run after a pull brought new data).
    pub evaluate: JobConfig,
    /// Send the alert digests waiting in the outbox.
    pub dispatch: JobConfig,
    /// The semimonthly snapshot (1st and 16th).
    pub snapshot: JobConfig,
    /// Remind officials of the enterprises that have not reported before the deadline day.
    pub reminder: JobConfig,
    /// Release each 旬's electricity warnings once its data is complete enough or its cut-off
    /// has passed, and send the 旬 digest; does nothing without power accounts.
    pub xun: JobConfig,
}

/// Default schedules (Asia/Shanghai unless `general.timezone` says otherwise).
pub const DEFAULT_EVALUATE_SCHEDULE: &str = "0 30 8 * * *";
pub const DEFAULT_DISPATCH_SCHEDULE: &str = "0 0 9 * * *";
pub const DEFAULT_SNAPSHOT_SCHEDULE: &str = "0 0 8 1,16 * *";
pub const DEFAULT_REMINDER_SCHEDULE: &str = "0 0 9 8 * *";
/// After the morning pulls; every day, since a 旬 goes out the day its data is complete.
pub const DEFAULT_XUN_SCHEDULE: &str = "0 30 10 * * *";

/// A source's pull schedule when it names none: every two hours, on the hour.
pub const DEFAULT_PULL_SCHEDULE: &str = "0 0 */2 * * *";

/// A job the daemon will run: what, when, and what to do with a missed slot.
#[derive(Debug, Clone)]
pub struct JobSpec {
    pub kind: JobKind,
    pub schedule: Schedule,
    pub catch_up: CatchUp,
}

/// The time zone schedules are read in (`general.timezone`, Asia/Shanghai by default).
pub fn timezone(config: &Config) -> Tz {
    config
        .general
        .timezone
        .parse()
        .unwrap_or(chrono_tz::Asia::Shanghai)
}

/// Every enabled job of a configuration, or the problems that prevent building them.
pub fn job_specs(config: &Config) -> Result<Vec<JobSpec>, Vec<(String, String)>> {
    let tz = timezone(config);
    let default = config.daemon.catch_up;
    let mut specs = Vec::new();
    let mut problems = Vec::new();
    let mut add =
        |key: String, kind: JobKind, text: &str, catch_up: Option<CatchUp>| match Schedule::parse(
            text, tz,
        ) {
            Ok(schedule) => match fire::accepts(&schedule, tz) {
                Ok(()) => specs.push(JobSpec {
                    kind,
                    schedule,
                    catch_up: catch_up.unwrap_or(default),
                }),
                Err(e) => problems.push((key, e)),
            },
            Err(e) => problems.push((key, e)),
        };
    for (i, s) in config.sources.iter().enumerate() {
        let text = s.schedule.as_deref().unwrap_or(DEFAULT_PULL_SCHEDULE);
        add(
            format!("sources[{i}].schedule"),
            JobKind::Pull {
                source: s.name.clone(),
            },
            text,
            None,
        );
    }
    for (i, f) in config.feedback_inbox.iter().enumerate() {
        let text = f.schedule.as_deref().unwrap_or(DEFAULT_PULL_SCHEDULE);
        add(
            format!("feedback_inbox[{i}].schedule"),
            JobKind::Feedback {
                inbox: f.name().to_string(),
            },
            text,
            None,
        );
    }
    let j = &config.jobs;
    for (name, kind, c, default) in [
        (
            "evaluate",
            JobKind::Evaluate,
            &j.evaluate,
            DEFAULT_EVALUATE_SCHEDULE,
        ),
        (
            "dispatch",
            JobKind::Dispatch,
            &j.dispatch,
            DEFAULT_DISPATCH_SCHEDULE,
        ),
        (
            "snapshot",
            JobKind::Snapshot,
            &j.snapshot,
            DEFAULT_SNAPSHOT_SCHEDULE,
        ),
        (
            "reminder",
            JobKind::Reminder,
            &j.reminder,
            DEFAULT_REMINDER_SCHEDULE,
        ),
        ("xun", JobKind::Xun, &j.xun, DEFAULT_XUN_SCHEDULE),
    ] {
        if c.enabled {
            let text = c.schedule.as_deref().unwrap_or(default);
            add(format!("jobs.{name}.schedule"), kind, text, c.catch_up);
        }
    }
    if problems.is_empty() {
        Ok(specs)
    } else {
        Err(problems)
    }
}

/// The `[daemon]` and `[jobs]` problems `check-config` reports.
pub fn problems(config: &Config) -> Vec<(String, String)> {
    let mut out = match job_specs(config) {
        Ok(_) => Vec::new(),
        Err(p) => p,
    };
    let d = &config.daemon;
    if d.listen.parse::<std::net::SocketAddr>().is_err() {
        out.push((
            "daemon.listen".into(),
            format!(
                "“{}”应为 IP:端口，如 127.0.0.1:9464 (must be IP:port)",
                d.listen
            ),
        ));
    }
    if d.grace_secs == 0 || d.grace_secs > 3600 {
        out.push((
            "daemon.grace_secs".into(),
            "应在1到3600秒之间 (must be 1–3600)".into(),
        ));
    }
    for (key, value) in [
        ("daemon.header_timeout_secs", d.header_timeout_secs),
        ("daemon.request_timeout_secs", d.request_timeout_secs),
    ] {
        if value == 0 || value > 3600 {
            out.push((key.into(), "应在1到3600秒之间 (must be 1–3600)".into()));
        }
    }
    if d.max_connections == 0 || d.max_connections > 1_000_000 {
        out.push((
            "daemon.max_connections".into(),
            "应在1到1000000之间 (must be 1–1000000)".into(),
        ));
    }
    if d.catch_up_max_age_hours == 0 {
        out.push((
            "daemon.catch_up_max_age_hours".into(),
            "应至少为1 (must be at least 1)".into(),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_give_every_job_its_documented_schedule() {
        let specs = job_specs(&Config::default()).expect("defaults are valid");
        let got: Vec<(String, &str)> = specs
            .iter()
            .map(|s| (s.kind.name(), s.schedule.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("evaluate".to_string(), "0 30 8 * * *"),
                ("dispatch".to_string(), "0 0 9 * * *"),
                ("snapshot".to_string(), "0 0 8 1,16 * *"),
                ("reminder".to_string(), "0 0 9 8 * *"),
                ("xun".to_string(), "0 30 10 * * *"),
            ]
        );
        let off = Config::parse("[jobs.reminder]\nenabled = false\n").expect("parses");
        let specs = job_specs(&off).expect("valid");
        assert!(specs.iter().all(|s| s.kind.name() != "reminder"));
        assert_eq!(Config::default().daemon.listen, "127.0.0.1:9464");
    }

    #[test]
    fn check_config_names_bad_schedules_and_daemon_keys() {
        let c = Config::parse(
            r#"
            [daemon]
            listen = "localhost"
            grace_secs = 0
            catch_up = "skip"
            header_timeout_secs = 0
            request_timeout_secs = 3601
            max_connections = 0
            [jobs.snapshot]
            schedule = "0 8 1,16 * *"
            [jobs.dispatch]
            enabled = false
            schedule = "nonsense"
            [[sources]]
            name = "a"
            kind = "dir"
            path = "/tmp"
            schedule = "0 0 25 * * *"
            "#,
        )
        .expect("parses");
        let keys: Vec<String> = c.validate().into_iter().map(|p| p.key).collect();
        for k in [
            "daemon.listen",
            "daemon.grace_secs",
            "daemon.header_timeout_secs",
            "daemon.request_timeout_secs",
            "daemon.max_connections",
            "jobs.snapshot.schedule",
            "sources[0].schedule",
        ] {
            assert!(keys.contains(&k.to_string()), "{k} in {keys:?}");
        }
        // A disabled job's schedule is not checked.
        assert!(
            !keys.iter().any(|k| k.starts_with("jobs.dispatch")),
            "{keys:?}"
        );
        assert!(Config::parse("[jobs.evaluate]\ncron = \"x\"\n").is_err());
    }
}

#[cfg(test)]
mod deploy_tests {
    use crate::config::Config;

    #[test]
    fn the_production_config_example_is_valid() {
        let path = std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/deploy/indmon.production.toml"
        ));
        let c = Config::load(path).expect("parses");
        // Its secrets are files on the server, absent here.
        let problems: Vec<_> = c
            .validate()
            .into_iter()
            .filter(|p| !p.key.ends_with(".token") && p.key != "database.password")
            .collect();
        assert!(problems.is_empty(), "{problems:?}");
    }
}
