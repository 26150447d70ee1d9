//! `indmon evaluate`, `indmon alerts …` and `indmon silence …`.

use super::output::out;
use std::process::ExitCode;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Asia::Shanghai;
use clap::Subcommand;

use crate::alerts::{AlertFilter, AlertState, SilenceMatcher, silenced_by};
use crate::config::Config;
use crate::evaluate::{self, pad};
use crate::period::Period;
use crate::rules::rule_zh;
use crate::store::Store;

#[derive(Debug, clap::Args)]
pub struct EvaluateArgs {
    /// Period to evaluate, e.g. 2026-10 (default: the latest whose reporting deadline has passed).
    #[arg(long)]
    pub period: Option<Period>,
    #[arg(long, value_parser = ["table", "json"], default_value = "table")]
    pub format: String,
    /// Compute and print, but change no alert.
    #[arg(long)]
    pub dry_run: bool,
    /// Evaluate a 旬 on metered electricity instead (疑似停产, 用电大幅下降, 复产), e.g. 2026-10-D1.
    #[arg(long, conflicts_with = "period")]
    pub xun: Option<crate::power::Xun>,
    /// Release the 旬s that are due, as the daemon's xun job does: each recent 旬 whose data
    /// is complete enough ([power] complete_share) or whose cut-off has passed, once.
    #[arg(long, conflicts_with_all = ["period", "xun", "dry_run"])]
    pub xun_due: bool,
}

#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// List alerts (default: those not yet resolved).
    List {
        /// firing, acknowledged, resolved, open (firing or acknowledged) or all.
        #[arg(long, default_value = "open")]
        state: String,
        /// Only alerts whose subject counts in this unit.
        #[arg(long)]
        unit: Option<String>,
        #[arg(long, value_parser = ["table", "json"], default_value = "table")]
        format: String,
    },
    /// Show one alert with its history.
    Show { id: i64 },
    /// Acknowledge (认领) an alert.
    Ack {
        id: i64,
        #[arg(long)]
        by: String,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Resolve (销号) an alert by hand.
    Resolve {
        id: i64,
        #[arg(long)]
        by: String,
        #[arg(long)]
        note: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum SilenceCommand {
    /// Add a silence: matching alerts stay listed but are not sent.
    Add {
        #[arg(long)]
        rule: Option<String>,
        /// Credit code, unit code or project id.
        #[arg(long)]
        subject: Option<String>,
        #[arg(long)]
        unit: Option<String>,
        /// Start (default now): 2026-11-01, "2026-11-01 08:00" (Asia/Shanghai) or RFC 3339.
        #[arg(long)]
        from: Option<String>,
        /// End: a date/time as for --from, or a duration such as 30d or 12h.
        #[arg(long)]
        until: String,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        by: String,
    },
    /// List silences (default: those in force).
    List {
        #[arg(long)]
        all: bool,
        #[arg(long, value_parser = ["table", "json"], default_value = "table")]
        format: String,
    },
    /// End a silence now.
    Expire {
        id: i64,
        #[arg(long)]
        by: String,
    },
}

/// Parses a time as officials type it, in Asia/Shanghai; a bare date means its start.
pub fn parse_time(s: &str, now: DateTime<Utc>) -> anyhow::Result<DateTime<Utc>> {
    let t = s.trim();
    if let Some(n) = t.strip_suffix('d').and_then(|n| n.parse::<i64>().ok()) {
        return Ok(now + chrono::Duration::days(n));
    }
    if let Some(n) = t.strip_suffix('h').and_then(|n| n.parse::<i64>().ok()) {
        return Ok(now + chrono::Duration::hours(n));
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Ok(d.with_timezone(&Utc));
    }
    let local = NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M")
        .or_else(|_| {
            NaiveDate::parse_from_str(t, "%Y-%m-%d").map(|d| d.and_time(chrono::NaiveTime::MIN))
        })
        .map_err(|_| {
            anyhow::anyhow!(
                "时间“{t}”无效，应如 2026-12-31、\"2026-12-31 08:00\" 或 30d (invalid time)"
            )
        })?;
    Shanghai
        .from_local_datetime(&local)
        .earliest()
        .map(|d| d.with_timezone(&Utc))
        .ok_or_else(|| anyhow::anyhow!("时间“{t}”不存在 (no such local time)"))
}

fn show_time(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|d| {
            d.with_timezone(&Shanghai)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_default()
}

pub async fn evaluate(
    store: &Store,
    config: &Config,
    args: EvaluateArgs,
    now: DateTime<Utc>,
) -> anyhow::Result<ExitCode> {
    if args.xun_due {
        let r = evaluate::release::release_due(store, config, now).await?;
        if args.format == "json" {
            out!("{}", serde_json::to_string_pretty(&r)?);
        } else {
            let table = evaluate::release::to_table(&r, &config.power);
            out!("{}", table.strip_suffix('\n').unwrap_or(&table));
        }
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(x) = args.xun {
        let report = evaluate::xun::run(store, config, x, now, args.dry_run).await?;
        if args.format == "json" {
            out!(
                "{}",
                serde_json::to_string_pretty(&evaluate::xun::to_json(&report))?
            );
        } else {
            let table = evaluate::xun::to_table(&report);
            out!("{}", table.strip_suffix('\n').unwrap_or(&table));
        }
        return Ok(ExitCode::SUCCESS);
    }
    let period = args.period.unwrap_or_else(|| {
        evaluate::latest_complete_period(now, config.general.report_deadline_day)
    });
    let period = if config.general.jan_feb_combined && period.month() == 1 && args.period.is_none()
    {
        period.prev()
    } else {
        period
    };
    let (report, _) = match evaluate::run(store, config, period, now, args.dry_run).await {
        Ok(r) => r,
        Err(e) if e.downcast_ref::<evaluate::EvaluateError>().is_some() => {
            eprintln!("{e}");
            return Ok(ExitCode::from(2));
        }
        Err(e) => return Err(e),
    };
    if args.format == "json" {
        out!(
            "{}",
            serde_json::to_string_pretty(&evaluate::to_json(&report))?
        );
    } else {
        let table = evaluate::to_table(&report);
        out!("{}", table.strip_suffix('\n').unwrap_or(&table));
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn alerts(
    store: &Store,
    cmd: AlertsCommand,
    now: DateTime<Utc>,
) -> anyhow::Result<ExitCode> {
    let now_ms = now.timestamp_millis();
    match cmd {
        AlertsCommand::List {
            state,
            unit,
            format,
        } => {
            let states = match state.as_str() {
                "open" => vec![AlertState::Firing, AlertState::Acknowledged],
                "all" => vec![],
                s => vec![AlertState::parse(s).ok_or_else(|| {
                    anyhow::anyhow!("--state 应为 firing、acknowledged、resolved、open 或 all (unknown state “{s}”)")
                })?],
            };
            let list = store
                .alerts(&AlertFilter {
                    states,
                    unit,
                    id: None,
                })
                .await?;
            let silences = store.silences(Some(now_ms)).await?;
            if format == "json" {
                let rows: Vec<serde_json::Value> = list
                    .iter()
                    .map(|a| {
                        let mut v = serde_json::to_value(a).unwrap_or_default();
                        if let Some(o) = v.as_object_mut() {
                            o.insert(
                                "silenced_by".into(),
                                silenced_by(&silences, a, now_ms).map(|s| s.id).into(),
                            );
                        }
                        v
                    })
                    .collect();
                out!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                out!(
                    "{} {} {} {} {} 内容",
                    pad("编号", 6),
                    pad("等级", 6),
                    pad("状态", 8),
                    pad("规则", 14),
                    pad("报告期", 8)
                );
                for a in &list {
                    let muted = if silenced_by(&silences, a, now_ms).is_some() {
                        "（静默）"
                    } else {
                        ""
                    };
                    out!(
                        "{} {} {} {} {} {}{muted}",
                        pad(&a.id.to_string(), 6),
                        pad(a.severity.zh(), 6),
                        pad(a.state.zh(), 8),
                        pad(rule_zh(&a.rule), 14),
                        pad(&a.period.to_string(), 8),
                        a.message
                    );
                }
                out!("共 {} 条 (alerts)", list.len());
            }
        }
        AlertsCommand::Show { id } => {
            let a = store
                .alert(id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("没有编号为 {id} 的预警 (no alert with id {id})"))?;
            out!(
                "#{} [{}] {} {} — {}",
                a.id,
                a.severity.zh(),
                rule_zh(&a.rule),
                a.state.zh(),
                a.message
            );
            out!(
                "  依据 (values): {}",
                serde_json::Value::Object(a.values.clone())
            );
            for e in store.alert_events(0, Some(id)).await? {
                out!(
                    "  {} {} {} {}（{}）{}",
                    show_time(e.at),
                    e.period,
                    e.kind.zh(),
                    e.severity.zh(),
                    e.actor,
                    e.note
                );
            }
        }
        AlertsCommand::Ack { id, by, note } => {
            let a = store
                .set_alert_state(id, AlertState::Acknowledged, &by, &note, now_ms)
                .await?;
            out!("预警 {} 已由 {by} 认领 (acknowledged): {}", a.id, a.message);
        }
        AlertsCommand::Resolve { id, by, note } => {
            let a = store
                .set_alert_state(id, AlertState::Resolved, &by, &note, now_ms)
                .await?;
            out!("预警 {} 已由 {by} 销号 (resolved): {}", a.id, a.message);
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn silence(
    store: &Store,
    cmd: SilenceCommand,
    now: DateTime<Utc>,
) -> anyhow::Result<ExitCode> {
    let now_ms = now.timestamp_millis();
    match cmd {
        SilenceCommand::Add {
            rule,
            subject,
            unit,
            from,
            until,
            reason,
            by,
        } => {
            if let Some(r) = &rule {
                r.parse::<crate::rules::Rule>()?;
            }
            let starts = match &from {
                Some(f) => parse_time(f, now)?,
                None => now,
            };
            let ends = parse_time(&until, now)?;
            let m = SilenceMatcher {
                rule,
                subject,
                unit,
            };
            let id = store
                .add_silence(
                    &m,
                    starts.timestamp_millis(),
                    ends.timestamp_millis(),
                    &reason,
                    &by,
                    now_ms,
                )
                .await?;
            out!(
                "已添加静默 {id}，{} 至 {} (silence added)",
                show_time(starts.timestamp_millis()),
                show_time(ends.timestamp_millis())
            );
        }
        SilenceCommand::List { all, format } => {
            let list = store
                .silences(if all { None } else { Some(now_ms) })
                .await?;
            if format == "json" {
                out!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                for s in &list {
                    let m = &s.matcher;
                    out!(
                        "{}  规则={} 对象={} 单位={}  {} 至 {}  {}（{}）{}",
                        s.id,
                        m.rule.as_deref().unwrap_or("*"),
                        m.subject.as_deref().unwrap_or("*"),
                        m.unit.as_deref().unwrap_or("*"),
                        show_time(s.starts_at),
                        show_time(s.ends_at),
                        s.reason,
                        s.author,
                        if s.is_active(now_ms) {
                            ""
                        } else {
                            " [已失效 expired]"
                        }
                    );
                }
                out!("共 {} 条 (silences)", list.len());
            }
        }
        SilenceCommand::Expire { id, by } => {
            store.expire_silence(id, &by, now_ms).await?;
            out!("静默 {id} 已由 {by} 结束 (silence expired)");
        }
    }
    Ok(ExitCode::SUCCESS)
}
