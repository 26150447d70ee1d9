//! What a group robot says: counts and a link, never an enterprise's name, code or figures
//! (the robot's service is a third party). Pure: the dispatch's plan and the alerts in, one
//! notice per robot whose recipients have a digest in this dispatch out.

use std::collections::HashSet;
use std::fmt::Write as _;

use crate::alerts::{Alert, AlertState};
use crate::notify::RecipientConfig;
use crate::notify::plan::{ItemKind, Planned, sees, wants};
use crate::period::Period;
use crate::rules::Severity;

use super::config::RobotConfig;

/// The largest notice body sent, in UTF-8 bytes: 企业微信 markdown allows 4096; 钉钉 documents
/// no limit (one client saw 20000), so the same bound is kept for both.
pub const MAX_BODY_BYTES: usize = 4096;

/// What a notice counts, over the union of its recipients' scopes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// New or reopened alerts told in this dispatch, by severity, red first.
    pub new: [u32; 4],
    /// Alerts whose severity rose or that were escalated.
    pub raised: u32,
    /// Alerts closed (销号) since last told.
    pub resolved: u32,
    /// Alerts not yet closed in these scopes.
    pub open: u32,
    /// Overdue cases (超期未反馈) its recipients see (see [`super::overdue_cases`]); `None`: not counted.
    pub overdue: Option<u32>,
    /// The latest report period the dispatch's items are about.
    pub period: Option<Period>,
}

/// One notice to queue for a robot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    pub robot: String,
    pub title: String,
    /// Markdown, at most [`MAX_BODY_BYTES`].
    pub body: String,
    pub period: Option<String>,
}

const ORDER: [Severity; 4] = [
    Severity::Red,
    Severity::Orange,
    Severity::Yellow,
    Severity::Blue,
];

/// The counts for a robot, or `None` when none of its recipients has a digest in this
/// dispatch (a group is told when its officials are).
pub fn counts(
    robot: &RobotConfig,
    recipients: &[RecipientConfig],
    planned: &[Planned],
    alerts: &[Alert],
) -> Option<Counts> {
    let speaks_for = |r: &RecipientConfig| robot.recipients.contains(&r.id);
    let mine: Vec<&Planned> = planned
        .iter()
        .filter(|p| recipients.get(p.recipient).is_some_and(speaks_for))
        .collect();
    if mine.is_empty() {
        return None;
    }
    let mut c = Counts::default();
    let mut seen = HashSet::new();
    for item in mine.iter().flat_map(|p| &p.items) {
        if !seen.insert((item.alert.id, item.kind)) {
            continue;
        }
        c.period = c.period.max(Some(item.alert.period));
        match item.kind {
            ItemKind::New | ItemKind::Reopened => {
                let i = ORDER.iter().position(|s| *s == item.alert.severity);
                if let Some(i) = i {
                    c.new[i] += 1;
                }
            }
            ItemKind::Raised | ItemKind::Escalated => c.raised += 1,
            ItemKind::Resolved => c.resolved += 1,
            ItemKind::Reminder => {}
        }
    }
    let group: Vec<&RecipientConfig> = recipients.iter().filter(|r| speaks_for(r)).collect();
    c.open = alerts
        .iter()
        .filter(|a| a.state != AlertState::Resolved)
        .filter(|a| group.iter().any(|r| sees(r, a) && wants(r, a)))
        .count() as u32;
    Some(c)
}

/// The notice's Markdown: a heading, the period, one line per nonzero count, the link.
/// `link` is the console's address ([`RobotConfig::link`]).
pub fn render(robot: &RobotConfig, c: &Counts, link: &str) -> Notice {
    let mut s = format!("#### {}\n\n", robot.title);
    if let Some(p) = c.period {
        let _ = write!(s, "**报告期：{}年{}月**\n\n", p.year(), p.month());
    }
    let total: u32 = c.new.iter().sum();
    if total > 0 {
        let parts: Vec<String> = ORDER
            .iter()
            .zip(c.new)
            .filter(|(_, n)| *n > 0)
            .map(|(sev, n)| format!("{}{n}", sev.zh()))
            .collect();
        let _ = writeln!(s, "- 新增预警 {total} 项：{}", parts.join("，"));
    }
    if c.raised > 0 {
        let _ = writeln!(s, "- 等级升高或升级督办 {} 项", c.raised);
    }
    if c.resolved > 0 {
        let _ = writeln!(s, "- 已销号 {} 项", c.resolved);
    }
    let _ = writeln!(s, "- 尚未销号预警共 {} 项", c.open);
    if let Some(n) = c.overdue {
        let _ = writeln!(s, "- 超期未反馈 {n} 件");
    }
    let _ = write!(
        s,
        "\n请各责任单位登录平台查看详情并反馈：[打开工业运行监测平台]({})\n\n\
         > 本提示只含数量，企业名单和数据请在平台或预警邮件中查看。",
        link
    );
    Notice {
        robot: robot.id.clone(),
        title: robot.title.clone(),
        body: truncate_bytes(&s, MAX_BODY_BYTES).to_string(),
        period: c.period.map(|p| p.to_string()),
    }
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
pub fn truncate_bytes(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_keeps_whole_characters() {
        let s = "监测".repeat(2000);
        let t = truncate_bytes(&s, 4096);
        assert_eq!(t.len(), 4095, "1365 characters of three bytes");
        assert!(t.chars().all(|c| c == '监' || c == '测'));
        assert_eq!(truncate_bytes("ab", 4096), "ab");
        assert_eq!(truncate_bytes("监", 2), "");
    }
}
