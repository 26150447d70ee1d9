//! The demo's closing summary: what it did, the findings by rule in an aligned table, where to
//! look, and the command to look again — spelled the way the demo itself was started.

use std::path::Path;

use super::run::DemoSummary;
use crate::evaluate::{pad, width};

/// The lines printed after the demo ran, `program` being how to start indmon again
/// ([`program`]).
pub fn closing_lines(s: &DemoSummary, secs: f64, program: &str) -> Vec<String> {
    let st = &s.plan.states;
    let mut out = vec![
        String::new(),
        format!(
            "云州市（示例）1—10月：拉取 {} 页 {} 行报表，发现 {} 项预警，写出 {} 封摘要邮件和 {} 封快照邮件，用时 {secs:.1} 秒。",
            s.pages, s.rows_pulled, s.findings, s.sent, s.snapshot_mails
        ),
        format!(
            "Synthetic city, Jan–Oct: {} pages / {} rows pulled, {} findings, {} digest and {} snapshot emails written.",
            s.pages, s.rows_pulled, s.findings, s.sent, s.snapshot_mails
        ),
    ];
    if let Some(city) = s
        .units
        .iter()
        .find(|u| u.kind == crate::registry::UnitKind::City)
    {
        if let (Some(g), Some(t)) = (city.growth, city.target) {
            out.push(format!(
                "  全市规上工业增加值增速 {}{}，目标 {}；停产 {} 家、半停产 {} 家、减产 {} 家（按生成计划）。",
                crate::analysis::fmt_pct(g.pct()),
                if city.estimated { "（估算）" } else { "" },
                crate::analysis::fmt_pct(t.pct_raw as f64 / crate::analysis::PCT as f64),
                st.stalled,
                st.semi_stalled,
                st.reduced
            ));
        }
        let c = &city.projects;
        if c.total > 0 {
            out.push(format!(
                "  重点项目 {} 个：未开工 {}、在建 {}、竣工未投产 {}、已投产 {}；本月已报进度 {} 个。",
                c.total, c.planned, c.started, c.completed, c.producing, c.reported
            ));
        }
    }
    out.extend(count_table(&s.by_rule));
    out.extend(xun_lines(s));
    for (i, p) in s.nowcast.iter().enumerate() {
        let head = if i == 0 { "预测预警：" } else { "" };
        out.push(format!("  {head}{p}"));
    }
    out.push(format!(
        "  反馈办理：预置 {} 条反馈（其中 {} 件已销号），1 件超期事项已发督办邮件 {} 封。",
        s.planted.answered.len(),
        s.planted.closed.len(),
        s.chases
    ));
    out.push(String::new());
    out.push("去哪里看 (where to look):".into());
    out.push(format!(
        "  报告 report:      {}",
        s.snapshot_dir.join("report.html").display()
    ));
    out.push(format!("  邮件 emails:      {}", s.mail_dir.display()));
    out.push(format!("  数据库 database:  {}", s.database.display()));
    out.push(format!("  配置 config:      {}", s.config_file.display()));
    out.push(format!(
        "  再看预警 list alerts:  {program} --config {} --database sqlite://{} alerts list",
        s.config_file.display(),
        s.database.display()
    ));
    out.push(format!(
        "  控制台 console:  {program} --config {} --database sqlite://{} serve，再打开 http://{}/ （登录链接邮件写在 {}）",
        s.config_file.display(),
        s.database.display(),
        super::run::DEMO_CONSOLE,
        s.mail_dir.display()
    ));
    if let Some(id) = s.planted.overdue {
        out.push(format!(
            "  超期督办事项 overdue case:  http://{}/cases/{id} （以市工信局运行科 yunxing@demo.invalid 登录）",
            super::run::DEMO_CONSOLE
        ));
    }
    out
}

/// The 旬 warnings of the last month and which of them the monthly stall confirmed.
fn xun_lines(s: &DemoSummary) -> Vec<String> {
    if s.xuns.is_empty() {
        return Vec::new();
    }
    let total: usize = s.xun_by_rule.iter().map(|(_, n)| n).sum();
    let mut out = vec![format!(
        "  按旬预警（{}月上、中、下旬；用电户号 {} 个，按旬到达 {} 批共 {} 户日用电）：{} 户次，其中 {} 户疑似停产经月报确认停产。",
        s.plan
            .months_to
            .get(5..)
            .unwrap_or_default()
            .trim_start_matches('0'),
        s.power.accounts,
        s.power.files,
        s.power.days,
        total,
        s.confirmed.len()
    )];
    out.extend(count_table(&s.xun_by_rule));
    let early: Vec<&super::xun::Confirmed> =
        s.confirmed.iter().filter(|c| c.new_this_month).collect();
    if let Some(first) = early.first() {
        let shanghai = first.warned_at.with_timezone(&chrono_tz::Asia::Shanghai);
        out.push(format!(
            "  本月新停产 {} 户在{}数据后即预警（如{}，{}预警），月报数据到齐后才确认停产。",
            early.len(),
            first.xun,
            first.name,
            shanghai.format("%-m月%-d日")
        ));
    }
    out.push(format!(
        "  旬 warnings: {total} enterprises; {} 疑似停产 confirmed by the monthly stall, {} of them new this month and warned after the first 旬.",
        s.confirmed.len(),
        early.len()
    ));
    out
}

/// Findings by rule, the counts in one column whatever the width of the rule's Chinese name.
fn count_table(by_rule: &[(String, usize)]) -> Vec<String> {
    let names: Vec<&str> = by_rule
        .iter()
        .map(|(rule, _)| crate::rules::rule_zh(rule))
        .collect();
    let w = names.iter().map(|n| width(n)).max().unwrap_or(0);
    names
        .iter()
        .zip(by_rule)
        .map(|(name, (_, n))| format!("  {} {n:>5}", pad(name, w)))
        .collect()
}

/// How to start indmon again: `cargo run --` when the demo was started by `cargo run` (no
/// `indmon` was installed), else the program as it was started.
pub fn program(argv0: &str, via_cargo: bool) -> String {
    if via_cargo {
        let release = Path::new(argv0)
            .components()
            .any(|c| c.as_os_str() == "release");
        return if release {
            "cargo run --release --".into()
        } else {
            "cargo run --".into()
        };
    }
    if argv0.is_empty() {
        "indmon".into()
    } else {
        argv0.into()
    }
}

/// Whether this process was started by `cargo run` of this package.
pub fn started_by_cargo() -> bool {
    std::env::var_os("CARGO").is_some()
        && std::env::var("CARGO_PKG_NAME").is_ok_and(|n| n == env!("CARGO_PKG_NAME"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_line_up_whatever_the_width_of_the_rule_names() {
        let by_rule: Vec<(String, usize)> = [
            ("enterprise_stalled", 12),
            ("enterprise_exit_risk", 3),
            ("project_behind_schedule", 140),
            ("data_divergence", 7),
        ]
        .iter()
        .map(|(r, n)| (r.to_string(), *n))
        .collect();
        let lines = count_table(&by_rule);
        let ends: Vec<usize> = lines.iter().map(|l| width(l)).collect();
        assert!(ends.windows(2).all(|w| w[0] == w[1]), "{lines:#?}");
    }

    #[test]
    fn the_hint_names_the_command_that_started_the_demo() {
        assert_eq!(program("target/debug/indmon", true), "cargo run --");
        assert_eq!(
            program("/src/indmon/target/release/indmon", true),
            "cargo run --release --"
        );
        assert_eq!(program("indmon", false), "indmon");
        assert_eq!(
            program("./target/release/indmon", false),
            "./target/release/indmon"
        );
    }
}
