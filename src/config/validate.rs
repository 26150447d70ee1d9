//! `Config::validate`: everything parsing cannot check, section by section, each problem with
//! the key it is about. The order of the problems is the order of the file's sections.

use std::collections::HashSet;

use super::{Config, General, IndicatorConfig, Problem, SourceConfig, SourceKind};
use crate::amount::Scale;

/// Collects problems as (key, message).
#[derive(Default)]
struct Problems(Vec<Problem>);

impl Problems {
    fn add(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem {
            key: key.into(),
            message: message.into(),
        });
    }

    fn extend(&mut self, found: Vec<(String, String)>) {
        for (key, message) in found {
            self.add(key, message);
        }
    }
}

impl Config {
    /// Checks everything parsing cannot: values in range, names unique, references resolvable,
    /// secrets readable. Returns every problem, not just the first.
    pub fn validate(&self) -> Vec<Problem> {
        let mut p = Problems::default();
        general(&mut p, &self.general);
        if let Some(s) = &self.database.password
            && let Err(e) = s.resolve()
        {
            p.add("database.password", e);
        }
        p.extend(self.rules.problems());
        p.extend(self.power.problems());
        p.extend(crate::notify::config::problems(
            self.mail.as_ref(),
            &self.recipients,
        ));
        p.extend(crate::notify::robot::problems(
            &self.robots,
            &self.recipients,
            self.console.as_ref(),
        ));
        p.extend(crate::daemon::problems(self));
        if let Some(c) = &self.console {
            p.extend(crate::console::config::problems(
                c,
                &self.daemon.listen,
                self.mail.is_some(),
            ));
        }
        p.extend(self.import.xlsx.problems());
        p.extend(self.industry.problems());
        p.extend(self.calendar.problems());
        p.extend(self.cases.problems());
        p.extend(crate::cases::config::owner_config_problems(
            &self.recipients,
        ));
        p.extend(crate::feedback::problems(self));
        indicators(&mut p, &self.indicators);
        let mut names = HashSet::new();
        for (i, s) in self.sources.iter().enumerate() {
            let key = format!("sources[{i}]");
            if !names.insert(s.name.clone()) {
                p.add(
                    format!("{key}.name"),
                    format!("来源“{}”重复 (duplicate source name)", s.name),
                );
            }
            source_location(&mut p, &key, s);
            source_credentials(&mut p, &key, s);
            source_limits(&mut p, &key, s, self);
            if s.kind == SourceKind::Dir
                && (s.token.is_some()
                    || s.basic.is_some()
                    || s.cursor_param.is_some()
                    || !s.headers.is_empty())
            {
                p.add(
                    format!("{key}.kind"),
                    "token、basic、headers、cursor_param 只用于 http 来源 (these keys are for http sources)",
                );
            }
        }
        p.0
    }
}

/// `[general]`: time zone, above-scale threshold, report deadline.
fn general(p: &mut Problems, g: &General) {
    if g.timezone.parse::<chrono_tz::Tz>().is_err() {
        p.add(
            "general.timezone",
            format!(
                "“{}”不是时区名，如 Asia/Shanghai (not an IANA time zone)",
                g.timezone
            ),
        );
    }
    if g.above_scale_threshold.is_nan() || g.above_scale_threshold <= 0.0 {
        p.add(
            "general.above_scale_threshold",
            "应为正数，单位万元 (must be positive, in 万元)",
        );
    }
    if !(1..=28).contains(&g.report_deadline_day) {
        p.add(
            "general.report_deadline_day",
            "应在1到28之间 (must be 1–28)",
        );
    }
}

/// `[[indicators]]`: names new, unique and in lower_snake_case.
fn indicators(p: &mut Problems, list: &[IndicatorConfig]) {
    let mut names = HashSet::new();
    for (i, ind) in list.iter().enumerate() {
        let key = format!("indicators[{i}]");
        if crate::indicator::is_builtin(&ind.name) {
            p.add(
                format!("{key}.name"),
                format!("“{}”是内置指标，不必配置 (built-in indicator)", ind.name),
            );
        }
        if !names.insert(ind.name.clone()) {
            p.add(
                format!("{key}.name"),
                format!("指标“{}”重复 (duplicate indicator)", ind.name),
            );
        }
        if !ind
            .name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            p.add(
                format!("{key}.name"),
                "指标代码只能用小写字母、数字和下划线 (use lower_snake_case)",
            );
        }
    }
}

/// Where a source reads from and what it reads: url or path, format, scale, column map.
fn source_location(p: &mut Problems, key: &str, s: &SourceConfig) {
    match s.kind {
        SourceKind::Http => match &s.url {
            None => p.add(
                format!("{key}.url"),
                "http 来源需要 url (http source needs url)",
            ),
            Some(u) if !(u.starts_with("http://") || u.starts_with("https://")) => p.add(
                format!("{key}.url"),
                format!("“{u}”不是 http(s) 地址 (not an http(s) URL)"),
            ),
            Some(_) => {}
        },
        SourceKind::Dir if s.path.is_none() => p.add(
            format!("{key}.path"),
            "dir 来源需要 path（收件文件夹） (dir source needs path)",
        ),
        SourceKind::Dir => {}
    }
    if let Some(f) = &s.format
        && !["csv", "xlsx", "json"].contains(&f.as_str())
    {
        p.add(
            format!("{key}.format"),
            format!("“{f}”应为 csv、xlsx 或 json (unknown format)"),
        );
    }
    if let Some(sc) = &s.scale
        && sc.parse::<Scale>().is_err()
    {
        p.add(
            format!("{key}.scale"),
            format!("“{sc}”应为正的小数，如 0.1 表示千元折万元 (must be a positive decimal)"),
        );
    }
    for (col, target) in &s.column_map {
        let known = target == "ignore"
            || crate::indicator::field_index(target).is_some()
            || ["credit_code", "period", "name"].contains(&target.as_str());
        if !known {
            p.add(
                format!("{key}.column_map.\"{col}\""),
                format!("“{target}”不是已知字段 (unknown field; see the README's field list)"),
            );
        }
    }
}

/// How an http source signs in and pages: token or basic, headers, the cursor parameter.
fn source_credentials(p: &mut Problems, key: &str, s: &SourceConfig) {
    if let Some(t) = &s.token
        && let Err(e) = t.resolve()
    {
        p.add(format!("{key}.token"), e);
    }
    if let Some(b) = &s.basic {
        if s.token.is_some() {
            p.add(
                format!("{key}.basic"),
                "token 与 basic 只能写一个 (give token or basic, not both)",
            );
        }
        if let Err(e) = b.password.resolve() {
            p.add(format!("{key}.basic.password"), e);
        }
    }
    for (name, value) in &s.headers {
        if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err()
            || reqwest::header::HeaderValue::from_str(value).is_err()
        {
            p.add(
                format!("{key}.headers.\"{name}\""),
                "不是合法的 HTTP 头 (not a valid HTTP header name and value)",
            );
        }
        if name.eq_ignore_ascii_case("authorization") {
            p.add(
                format!("{key}.headers.\"{name}\""),
                "凭据请用 token 或 basic 配置，不要写在 headers 中 (put credentials in token or basic)",
            );
        }
    }
    if let Some(c) = &s.cursor_param
        && (c.is_empty()
            || !c
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c)))
    {
        p.add(
            format!("{key}.cursor_param"),
            format!("“{c}”不是合法的查询参数名 (not a valid query parameter name)"),
        );
    }
}

/// A source's limits and who hears of its failures: timeout, retries, body size, the failure
/// alert, its contacts, attempts per file.
fn source_limits(p: &mut Problems, key: &str, s: &SourceConfig, cfg: &Config) {
    if s.timeout_secs == 0 || s.timeout_secs > 3600 {
        p.add(
            format!("{key}.timeout_secs"),
            "应在1到3600秒之间 (must be 1–3600)",
        );
    }
    if s.retries > 10 {
        p.add(format!("{key}.retries"), "应在0到10之间 (must be 0–10)");
    }
    if s.max_body_mb == 0 || s.max_body_mb > 4096 {
        p.add(
            format!("{key}.max_body_mb"),
            "应在1到4096之间 (must be 1–4096 MiB)",
        );
    }
    if s.failure_alert_after == 0 {
        p.add(
            format!("{key}.failure_alert_after"),
            "应至少为1 (must be at least 1)",
        );
    }
    for c in &s.contact {
        if !cfg.recipients.iter().any(|r| &r.id == c) {
            p.add(
                format!("{key}.contact"),
                format!("“{c}”不是已配置的收件人 id (not a configured recipient id)"),
            );
        }
    }
    if s.max_attempts == 0 || s.max_attempts > 100 {
        p.add(
            format!("{key}.max_attempts"),
            "应在1到100之间 (must be 1–100)",
        );
    }
}
