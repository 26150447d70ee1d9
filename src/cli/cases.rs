//! `indmon cases list`, `indmon audit`, and what `check-config` says about cases: units that
//! can get cases without an owner, and a working-day calendar that runs out.

use super::output::out;
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use chrono_tz::Asia::Shanghai;
use clap::Subcommand;

use crate::cases::{Desk, Who};
use crate::causes::Causes;
use crate::config::Config;
use crate::evaluate::pad;
use crate::rules::{About, rule_zh};
use crate::store::Store;

#[derive(Debug, Subcommand)]
pub enum CasesCommand {
    /// List cases (交办事项), open ones first, overdue first among them.
    List {
        /// Only cases counted in this unit.
        #[arg(long)]
        unit: Option<String>,
        /// Only overdue cases (超期).
        #[arg(long)]
        overdue: bool,
        /// Closed cases too.
        #[arg(long)]
        all: bool,
        #[arg(long, value_parser = ["table", "json"], default_value = "table")]
        format: String,
    },
}

#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// Only this case's entries.
    #[arg(long = "case")]
    pub case_id: Option<i64>,
    #[arg(long, value_parser = ["table", "json"], default_value = "table")]
    pub format: String,
}

fn operator() -> Who {
    Who::operator(&std::env::var("USER").unwrap_or_else(|_| "cli".into()))
}

fn time(ms: Option<i64>) -> String {
    ms.and_then(DateTime::<Utc>::from_timestamp_millis)
        .map(|t| {
            t.with_timezone(&Shanghai)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_else(|| "—".into())
}

pub async fn cases(
    store: &Store,
    config: &Config,
    cmd: CasesCommand,
    now: DateTime<Utc>,
) -> anyhow::Result<ExitCode> {
    let CasesCommand::List {
        unit,
        overdue,
        all,
        format,
    } = cmd;
    let desk = Desk::new(store.clone(), config)?;
    let now_ms = now.timestamp_millis();
    let filter = crate::cases::ListFilter {
        unit,
        open: !all,
        overdue,
        state: None,
        page: None,
    };
    let list = desk.page(&operator(), &filter, now).await?.cases;
    if format == "json" {
        out!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(ExitCode::SUCCESS);
    }
    out!(
        "{} {} {} {} {} {} {} 对象",
        pad("编号", 6),
        pad("状态", 10),
        pad("规则", 14),
        pad("单位", 8),
        pad("责任人", 12),
        pad("反馈期限", 17),
        pad("超期", 4)
    );
    for c in &list {
        let flag = if c.escalated(now_ms) {
            "督办"
        } else if c.overdue(now_ms) {
            "超期"
        } else if c.late {
            "迟报"
        } else {
            ""
        };
        out!(
            "{} {} {} {} {} {} {} {}",
            pad(&c.id.to_string(), 6),
            pad(c.state.zh(), 10),
            pad(rule_zh(&c.rule), 14),
            pad(&c.unit_code, 8),
            pad(c.owner.as_deref().unwrap_or("（未配置）"), 12),
            pad(&time(c.due_at), 17),
            pad(flag, 4),
            c.subject_name
        );
    }
    out!("共 {} 件 (cases)", list.len());
    Ok(ExitCode::SUCCESS)
}

pub async fn audit(store: &Store, config: &Config, args: AuditArgs) -> anyhow::Result<ExitCode> {
    let desk = Desk::new(store.clone(), config)?;
    let rows = desk.audit_log(&operator(), args.case_id).await?;
    if args.format == "json" {
        out!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(ExitCode::SUCCESS);
    }
    out!(
        "{} {} {} {} {} {} 说明",
        pad("序号", 6),
        pad("时间", 17),
        pad("操作人", 12),
        pad("操作", 16),
        pad("事项", 6),
        pad("地址", 16)
    );
    for r in &rows {
        out!(
            "{} {} {} {} {} {} {}",
            pad(&r.id.to_string(), 6),
            pad(&time(Some(r.at)), 17),
            pad(&r.actor, 12),
            pad(&r.action, 16),
            pad(&r.case_id.map_or("—".into(), |c| c.to_string()), 6),
            pad(r.client_addr.as_deref().unwrap_or("—"), 16),
            r.detail.replace('\n', " ")
        );
    }
    out!("共 {} 条 (audit entries)", rows.len());
    Ok(ExitCode::SUCCESS)
}

/// What check-config says beyond the configuration itself: warnings (the calendar runs out
/// within 60 days) and problems (units that can get cases with no owner, read from the
/// database when one is there). Never creates a database.
pub async fn check(
    config: &Config,
    url: Option<&str>,
    now: DateTime<Utc>,
) -> (Vec<String>, Vec<String>) {
    let mut warnings = Vec::new();
    let mut problems = Vec::new();
    if let Ok(cal) = config.calendar.load()
        && let Some(note) = cal.coverage_note(now.with_timezone(&Shanghai).date_naive())
    {
        warnings.push(format!("calendar: {note}"));
    }
    let Some(url) = url.filter(|u| database_exists(u)) else {
        return (warnings, problems);
    };
    let units = match owner_units(config, url).await {
        Ok(u) => u,
        Err(e) => {
            warnings.push(format!(
                "未能读取数据库中的单位，未检查交办责任人 (could not read the units; case owners not checked): {}",
                Causes(&e)
            ));
            return (warnings, problems);
        }
    };
    for u in crate::cases::config::units_without_owner(&config.recipients, &units) {
        problems.push(format!(
            "单位 {u} 会产生交办事项，但没有收件人以 case_owner = true 负责它 (unit {u} can get cases but has no case owner)"
        ));
    }
    (warnings, problems)
}

fn database_exists(url: &str) -> bool {
    match url.strip_prefix("sqlite://") {
        Some(path) => std::path::Path::new(path.split('?').next().unwrap_or(path)).exists(),
        None => url.starts_with("postgres"),
    }
}

async fn owner_units(config: &Config, url: &str) -> anyhow::Result<Vec<String>> {
    let password = config
        .database
        .password
        .as_ref()
        .map(|s| {
            s.resolve()
                .map_err(|e| anyhow::anyhow!("database.password: {e}"))
        })
        .transpose()?;
    let store = Store::connect_with_password(url, password.as_ref()).await?;
    let about = |a: About| {
        config
            .cases
            .case_rules()
            .iter()
            .any(|(r, _)| r.about() == a && config.rules.enabled(*r))
    };
    let units = store
        .units_that_can_get_cases(
            about(About::Enterprise),
            about(About::Unit),
            about(About::Project),
        )
        .await;
    store.close().await;
    units
}
