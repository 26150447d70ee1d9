//! The digest email: subject, plain-text and HTML bodies grouped by severity and rule, and the
//! detail attachment, assembled into one RFC 5322 message that the outbox stores as sent. The
//! HTML is rendered from `templates/digest.html` with autoescaping, so every field that came
//! from data is escaped: an enterprise name is text, never markup.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart};
use serde::Serialize;

use super::attachment;
use super::config::{AttachmentKind, RecipientConfig};
use super::outbox::{Delayed, OutboxWrite};
use super::plan::{Item, ItemKind};
use super::summary::{Summary, case_link};
use crate::power::Xun;
use crate::rules::{Severity, rule_zh};

/// Names to print instead of codes.
#[derive(Clone, Debug, Default)]
pub struct Names {
    /// Recipient id → name, to say who is responsible (包抓领导).
    pub people: HashMap<String, String>,
    /// Unit code → name (东城区).
    pub units: HashMap<String, String>,
}

/// What the digest needs besides its items.
pub struct Context<'a> {
    pub from: &'a str,
    /// The city's name, for the attachment's title.
    pub city: &'a str,
    pub names: &'a Names,
    pub now: DateTime<Utc>,
    pub attachment: AttachmentKind,
    /// The recipient's messages delivered late and not yet told about (延迟送达).
    pub delayed: &'a [Delayed],
    /// The recipient's 反馈表 ([`attachment::feedback_workbooks`]), attached beside the detail.
    pub feedback: Option<&'a [u8]>,
    pub answer: Loop<'a>,
    /// How the 旬s of the 旬 warnings among the items were released
    /// (`power::release::Release::sentence`), oldest first; empty in a monthly digest.
    pub xun: &'a [String],
}

/// The answer loop in a digest: the console's address (each item links to its case page), each
/// alert's case, and the summary the digest opens with. The default is a digest without them.
#[derive(Clone, Copy, Debug, Default)]
pub struct Loop<'a> {
    /// The console's public address (`[console] public_url`), when there is a console.
    pub console: Option<&'a str>,
    /// Alert id → the id of its newest case.
    pub cases: Option<&'a HashMap<i64, i64>>,
    pub summary: Option<&'a Summary>,
}

impl Loop<'_> {
    /// The link to the case page of the item's alert.
    pub fn link(&self, i: &Item) -> Option<String> {
        let case = self.cases?.get(&i.alert.id)?;
        case_link(self.console, *case)
    }

    /// How to answer, the footer's sentence: in the console when there is one, else by reply.
    pub fn how_to_answer(&self) -> String {
        match self.console {
            Some(base) => format!(
                "请逐条反馈：点击各条的“办理”链接，或打开我的待办 {}/todo ，登录后填写原因、帮扶措施和预计恢复时间并申请销号；也可填写附件反馈表后回复本邮件。",
                base.trim_end_matches('/')
            ),
            None => "请填写附件反馈表（原因、帮扶措施、预计恢复时间），回复本邮件反馈。".into(),
        }
    }
}

/// The subject: `【工业运行预警】1—10月 东城区：红色2项 橙色3项`.
pub fn subject(r: &RecipientConfig, items: &[Item]) -> String {
    let (tag, period) = match only_xun(items) {
        Some(x) => ("旬预警", format!("{} ", x.label())),
        None => (
            "工业运行预警",
            items
                .iter()
                .map(|i| i.alert.period)
                .max()
                .map(|p| format!("{} ", p.ytd_label()))
                .unwrap_or_default(),
        ),
    };
    let label = r.label.as_deref().unwrap_or(&r.name);
    let mut counts: BTreeMap<std::cmp::Reverse<Severity>, usize> = BTreeMap::new();
    let mut resolved = 0;
    for i in items {
        if i.kind == ItemKind::Resolved {
            resolved += 1;
        } else {
            *counts
                .entry(std::cmp::Reverse(i.alert.severity))
                .or_default() += 1;
        }
    }
    let mut parts: Vec<String> = counts
        .iter()
        .map(|(s, n)| format!("{}{n}项", s.0.zh()))
        .collect();
    if resolved > 0 {
        parts.push(format!("销号{resolved}项"));
    }
    format!("【{tag}】{period}{label}：{}", parts.join(" "))
}

/// The 旬 of a 旬 rule's item (its finding's `xun` value).
pub fn item_xun(i: &Item) -> Option<Xun> {
    i.alert.values.get("xun")?.as_str()?.parse().ok()
}

/// The newest 旬 of the items when every one is a 旬 warning: a 旬 digest (`【旬预警】`).
fn only_xun(items: &[Item]) -> Option<Xun> {
    let xuns: Option<Vec<Xun>> = items.iter().map(item_xun).collect();
    xuns?.into_iter().max()
}

/// Who should act on an alert: its 包抓领导 when there is one, and its unit. A 包抓领导 is named;
/// an id that no configured recipient has is left out rather than shown ("包抓领导 leader12"
/// tells an official nothing).
pub fn responsible(i: &Item, names: &Names) -> String {
    let code = &i.alert.unit_code;
    let unit = match names.units.get(code) {
        Some(n) => format!("{n}（{code}）"),
        None => code.clone(),
    };
    let owner = i.alert.owner.as_ref().and_then(|o| names.people.get(o));
    match owner {
        Some(name) => format!("包抓领导 {name}；责任单位 {unit}"),
        None => format!("责任单位 {unit}"),
    }
}

/// One line of the digest: what happened, by how much, against what, and who acts.
fn line(i: &Item, names: &Names) -> String {
    let a = &i.alert;
    let mut s = format!(
        "[{}] {}（{}）：{}",
        i.kind.zh(),
        a.subject_name,
        a.subject,
        a.message
    );
    if let Some(p) = i.previous {
        let _ = write!(s, "（由{}升为{}）", p.zh(), a.severity.zh());
    }
    if a.consecutive > 1 {
        let _ = write!(s, "（已连续{}期）", a.consecutive);
    }
    let _ = write!(s, " {}", responsible(i, names));
    s
}

/// Items grouped as the digest shows them: open alerts by severity (red first) then rule,
/// resolutions last.
fn groups(items: &[Item]) -> Vec<(String, Vec<&Item>)> {
    let mut open: BTreeMap<(std::cmp::Reverse<Severity>, &str), Vec<&Item>> = BTreeMap::new();
    let mut resolved = Vec::new();
    for i in items {
        if i.kind == ItemKind::Resolved {
            resolved.push(i);
        } else {
            open.entry((std::cmp::Reverse(i.alert.severity), i.alert.rule.as_str()))
                .or_default()
                .push(i);
        }
    }
    let mut out: Vec<(String, Vec<&Item>)> = open
        .into_iter()
        .map(|((s, rule), v)| (format!("{}预警 · {}", s.0.zh(), rule_zh(rule)), v))
        .collect();
    if !resolved.is_empty() {
        out.push(("已销号（事事有回音）".into(), resolved));
    }
    out
}

/// Shanghai time of day as the digests show it: `11月22日 10:00`.
fn shown_at(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|d| {
            d.with_timezone(&chrono_tz::Asia::Shanghai)
                .format("%-m月%-d日 %H:%M")
                .to_string()
        })
        .unwrap_or_default()
}

/// The 延迟送达 lines: which earlier messages arrived late, written when, delivered when.
fn delay_lines(delayed: &[Delayed]) -> Vec<String> {
    delayed
        .iter()
        .map(|d| {
            format!(
                "《{}》{}生成，因邮件服务器故障延迟至{}送达",
                d.subject,
                shown_at(d.created_at),
                shown_at(d.sent_at)
            )
        })
        .collect()
}

/// The plain-text body.
pub fn text(
    r: &RecipientConfig,
    items: &[Item],
    names: &Names,
    delayed: &[Delayed],
    answer: &Loop<'_>,
    xun: &[String],
) -> String {
    let mut s = format!("{}：\n\n", r.name);
    for l in xun {
        let _ = writeln!(s, "【旬预警】{l}");
    }
    if !xun.is_empty() {
        s.push('\n');
    }
    if let Some(sum) = answer.summary.filter(|s| !s.is_empty()) {
        s.push_str("【概况】\n");
        for l in sum.text_lines() {
            let _ = writeln!(s, "{l}");
        }
        s.push('\n');
    }
    if !delayed.is_empty() {
        let _ = writeln!(
            s,
            "【延迟送达】此前有{}封邮件未能按时送达，已补发：",
            delayed.len()
        );
        for l in delay_lines(delayed) {
            let _ = writeln!(s, "  - {l}");
        }
        s.push('\n');
    }
    s.push_str("自上次通报以来，您负责范围内的预警变化如下：\n");
    for (title, v) in groups(items) {
        let _ = write!(s, "\n【{title}】{}项\n", v.len());
        for i in v {
            let _ = writeln!(s, "  - {}", line(i, names));
            if let Some(l) = answer.link(i) {
                let _ = writeln!(s, "    办理：{l}");
            }
        }
    }
    let _ = writeln!(
        s,
        "\n明细见附件（可用 Excel 打开）。{}",
        answer.how_to_answer()
    );
    s.push_str("本邮件由工业运行监测系统自动发送。\n");
    s
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

fn colour(s: Severity) -> &'static str {
    match s {
        Severity::Red => "#c00000",
        Severity::Orange => "#e07000",
        Severity::Yellow => "#b09000",
        Severity::Blue => "#1f5fbf",
    }
}

/// The digest's HTML template; its `.html` name turns autoescaping on.
const TEMPLATE: &str = include_str!("templates/digest.html");

/// One row of a group's table.
#[derive(Serialize)]
struct Row<'a> {
    kind: &'static str,
    name: &'a str,
    subject: &'a str,
    /// The message with the raise and the streak, as in the text body.
    what: String,
    responsible: String,
    /// The case page, when the console is configured and the alert has a case.
    link: Option<String>,
}

/// One group's heading and table.
#[derive(Serialize)]
struct Group<'a> {
    title: String,
    colour: &'static str,
    rows: Vec<Row<'a>>,
}

/// Writes a value into the template escaped as [`escape_html`] does, the escaping the digest has
/// always had (minijinja's own also escapes `/`, which would change every message with
/// 停产/半停产/减产); values outside autoescaping, or marked safe, as minijinja writes them.
fn escape_as_before(
    out: &mut minijinja::Output,
    state: &minijinja::State,
    value: &minijinja::Value,
) -> Result<(), minijinja::Error> {
    if state.auto_escape() == minijinja::AutoEscape::Html && !value.is_safe() {
        out.write_str(&escape_html(&value.to_string()))?;
        return Ok(());
    }
    minijinja::escape_formatter(out, state, value)
}

/// The HTML body: the same content as the text, one table per group.
pub fn html(
    r: &RecipientConfig,
    items: &[Item],
    names: &Names,
    delayed: &[Delayed],
    answer: &Loop<'_>,
    xun: &[String],
) -> anyhow::Result<String> {
    let tables: Vec<Group> = groups(items)
        .into_iter()
        .map(|(title, v)| Group {
            title,
            colour: v.first().map_or("#444", |i| colour(i.alert.severity)),
            rows: v.into_iter().map(|i| row(i, names, answer)).collect(),
        })
        .collect();
    let summary = answer.summary.filter(|s| !s.is_empty());
    let mut env = minijinja::Environment::new();
    env.set_formatter(escape_as_before);
    env.add_template("digest.html", TEMPLATE)?;
    let html = env
        .get_template("digest.html")?
        .render(minijinja::context! {
            name => r.name,
            xun => xun,
            delayed => delay_lines(delayed),
            groups => tables,
            summary => summary,
            overdue_line => summary.and_then(Summary::overdue_line),
            console => answer.console.is_some(),
            how_to_answer => answer.how_to_answer(),
        })?;
    Ok(html)
}

/// An item as a row of the HTML table.
fn row<'a>(i: &'a Item, names: &Names, answer: &Loop<'_>) -> Row<'a> {
    let a = &i.alert;
    let mut what = a.message.clone();
    if let Some(p) = i.previous {
        let _ = write!(what, "（由{}升为{}）", p.zh(), a.severity.zh());
    }
    if a.consecutive > 1 {
        let _ = write!(what, "（已连续{}期）", a.consecutive);
    }
    Row {
        kind: i.kind.zh(),
        name: &a.subject_name,
        subject: &a.subject,
        what,
        responsible: responsible(i, names),
        link: answer.link(i),
    }
}

/// A Message-ID unique to this digest: time, recipient and content hashed, at the sender's domain.
fn message_id(r: &RecipientConfig, items: &[Item], from: &Mailbox, now: DateTime<Utc>) -> String {
    let mut seed = r.id.as_bytes().to_vec();
    for i in items {
        seed.extend(i.alert.id.to_le_bytes());
        seed.push(i.kind as u8);
    }
    unique_message_id(&seed, from, now)
}

/// `<indmon.{ms}.{hash}@{domain}>`: the time, and a hash of `seed` (for whom, about what) and
/// the time, at the sender's domain.
pub(super) fn unique_message_id(seed: &[u8], from: &Mailbox, now: DateTime<Utc>) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(seed);
    h.update(now.timestamp_nanos_opt().unwrap_or(0).to_le_bytes());
    let hex = format!("{:x}", h.finalize());
    format!(
        "<indmon.{}.{}@{}>",
        now.timestamp_millis(),
        &hex[..16],
        from.email.domain()
    )
}

/// Who a message is from and to: the configured sender and one official.
pub(super) struct Envelope {
    pub recipient: String,
    pub from: Mailbox,
    pub to: Mailbox,
}

/// The envelope of a message to `r`, with the key to blame when an address is malformed.
pub(super) fn envelope(from: &str, r: &RecipientConfig) -> anyhow::Result<Envelope> {
    let from: Mailbox = from
        .parse()
        .map_err(|e| anyhow::anyhow!("mail.from: {e}"))?;
    let to = Mailbox::new(
        Some(r.name.clone()),
        r.email
            .parse()
            .map_err(|e| anyhow::anyhow!("recipients.{}.email: {e}", r.id))?,
    );
    Ok(Envelope {
        recipient: r.id.clone(),
        from,
        to,
    })
}

/// The outbox row of one message: headers (From, To, Subject, Date, Message-ID) and body,
/// listing `items` things. What it covers, if anything, is the caller's to add.
pub(super) fn compose(
    env: &Envelope,
    subject: String,
    message_id: String,
    now: DateTime<Utc>,
    body: MultiPart,
    items: usize,
) -> anyhow::Result<OutboxWrite> {
    let message = lettre::Message::builder()
        .from(env.from.clone())
        .to(env.to.clone())
        .subject(subject.clone())
        .date(now.into())
        .message_id(Some(message_id.clone()))
        .multipart(body)?;
    Ok(OutboxWrite {
        recipient: env.recipient.clone(),
        to_addr: env.to.email.to_string(),
        from_addr: env.from.email.to_string(),
        subject,
        message: message.formatted(),
        message_id,
        items,
        covers: Vec::new(),
        notes_delayed: Vec::new(),
    })
}

/// Builds the whole message for one recipient, as its outbox row (without what it covers).
pub fn build(
    r: &RecipientConfig,
    items: &[Item],
    ctx: &Context<'_>,
) -> anyhow::Result<OutboxWrite> {
    let env = envelope(ctx.from, r)?;
    let id = message_id(r, items, &env.from, ctx.now);
    let period = items.iter().map(|i| i.alert.period).max();
    let stem = format!(
        "indmon-alerts-{}",
        period.map_or_else(|| "all".to_string(), |p| p.to_string())
    );
    let (file, bytes, mime) = match ctx.attachment {
        AttachmentKind::Csv => (
            format!("{stem}.csv"),
            attachment::csv(items, ctx.names),
            "text/csv; charset=utf-8",
        ),
        AttachmentKind::Xlsx => (
            format!("{stem}.xlsx"),
            attachment::xlsx(items, ctx.names, &attachment::heading(ctx.city, r, items))?,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
    };
    let mut body = MultiPart::mixed()
        .multipart(MultiPart::alternative_plain_html(
            text(r, items, ctx.names, ctx.delayed, &ctx.answer, ctx.xun),
            html(r, items, ctx.names, ctx.delayed, &ctx.answer, ctx.xun)?,
        ))
        .singlepart(Attachment::new(file).body(bytes, ContentType::parse(mime)?));
    if let Some(book) = ctx.feedback {
        body = body.singlepart(attachment::feedback_part(book, ctx.now)?);
    }
    let mut w = compose(&env, subject(r, items), id, ctx.now, body, items.len())?;
    w.notes_delayed = ctx.delayed.iter().map(|d| d.id).collect();
    Ok(w)
}

#[cfg(test)]
mod tests {
    use serde_json::Map;

    use super::*;
    use crate::alerts::{Alert, AlertState};

    /// The HTML of [`fixed`] as the string-built body wrote it before the template.
    const GOLDEN: &str = include_str!("../../tests/fixtures/digest_golden.html");

    fn alert(id: i64, rule: &str, severity: Severity, name: &str, message: &str) -> Alert {
        Alert {
            id,
            rule: rule.parse().unwrap(),
            subject: format!("91330781MA2XXXX{id:02}H"),
            indicator: "output".into(),
            subject_name: name.into(),
            unit_code: "330781".into(),
            scope: vec!["330781".into(), "3307".into()],
            owner: None,
            state: AlertState::Firing,
            severity,
            consecutive: 1,
            period: "2026-10".parse().unwrap(),
            message: message.into(),
            values: Map::new(),
            opened_at: 0,
            updated_at: 0,
            acknowledged_by: None,
            acknowledged_at: None,
            resolved_at: None,
            resolved_by: None,
            note: None,
        }
    }

    /// A digest with every part: delayed mail, three groups, a raise, a streak, an owner, a
    /// resolution, and text typed by officials and enterprises that looks like markup.
    fn fixed() -> (RecipientConfig, Vec<Item>, Names, Vec<Delayed>) {
        let r: RecipientConfig = toml::from_str(
            "id = \"d1\"\nname = \"东城区<工信局> & 'R'\"\nemail = \"d1@example.cn\"\nrole = \"district\"\n",
        )
        .unwrap();
        let mut stalled = alert(
            1,
            "enterprise_stalled",
            Severity::Red,
            "南湖<script>alert(1)</script>机械",
            "10月工业总产值0.0万元，停产/半停产/减产 \"已连续\" & 'x'",
        );
        stalled.consecutive = 4;
        stalled.owner = Some("leader1".into());
        let mut raised = alert(
            2,
            "enterprise_reduced",
            Severity::Orange,
            "东方&纺织",
            "减产",
        );
        raised.owner = Some("unknown".into());
        let below = alert(
            3,
            "unit_below_target",
            Severity::Orange,
            "东城区",
            "增速<目标",
        );
        let mut gone = alert(4, "enterprise_stalled", Severity::Red, "复产厂", "已恢复");
        gone.unit_code = "999".into();
        let items = vec![
            Item {
                alert: stalled,
                kind: ItemKind::New,
                previous: None,
            },
            Item {
                alert: raised,
                kind: ItemKind::Raised,
                previous: Some(Severity::Yellow),
            },
            Item {
                alert: below,
                kind: ItemKind::Reminder,
                previous: None,
            },
            Item {
                alert: gone,
                kind: ItemKind::Resolved,
                previous: None,
            },
        ];
        let mut names = Names::default();
        names.people.insert("leader1".into(), "王<副>市长".into());
        names.units.insert("330781".into(), "东城区".into());
        let delayed = vec![
            Delayed {
                id: 7,
                recipient: "d1".into(),
                subject: "【工业运行预警】<旧> & '邮件'".into(),
                created_at: 1_790_000_000_000,
                sent_at: 1_790_003_600_000,
            },
            Delayed {
                id: 8,
                recipient: "d1".into(),
                subject: "第二封".into(),
                created_at: 1_790_100_000_000,
                sent_at: 1_790_200_000_000,
            },
        ];
        (r, items, names, delayed)
    }

    #[test]
    fn the_html_of_a_fixed_digest_is_unchanged() {
        let (r, items, names, delayed) = fixed();
        let got = html(&r, &items, &names, &delayed, &Loop::default(), &[]).unwrap();
        assert_eq!(got, GOLDEN);
        let (r, items, names, _) = fixed();
        let got = html(&r, &items, &names, &[], &Loop::default(), &[]).unwrap();
        assert!(!got.contains("延迟送达"), "{got}");
    }

    #[test]
    fn a_leader_is_named_and_an_unknown_id_is_never_shown() {
        let (r, items, names, delayed) = fixed();
        let got = html(&r, &items, &names, &delayed, &Loop::default(), &[]).unwrap();
        assert!(got.contains("包抓领导 王&lt;副&gt;市长"), "{got}");
        assert!(!got.contains("unknown"), "{got}");
        assert!(!got.contains("leader1"), "{got}");
    }

    #[test]
    fn everything_typed_outside_is_escaped_in_the_html() {
        let (r, items, names, delayed) = fixed();
        let got = html(&r, &items, &names, &delayed, &Loop::default(), &[]).unwrap();
        for raw in [
            "<script>",
            "<工信局>",
            "<副>",
            "<旧>",
            "& '",
            "\"已连续\"",
            "增速<目标",
        ] {
            assert!(!got.contains(raw), "{raw} unescaped");
        }
        assert!(got.contains("南湖&lt;script&gt;alert(1)&lt;/script&gt;机械"));
        assert!(got.contains("东方&amp;纺织"));
        assert!(got.contains("&quot;已连续&quot; &amp; &#39;x&#39;"));
    }

    /// With a console, an item with a case links to its page, one without has no link, the
    /// summary opens the body with its overdue cases linked, and officials' text stays text.
    #[test]
    fn items_link_to_their_case_pages_and_the_summary_opens_the_digest() {
        let (r, items, names, _) = fixed();
        let cases: HashMap<i64, i64> = [(1, 12), (3, 14)].into_iter().collect();
        let summary = Summary {
            units: vec!["东城区1—10月规上工业产值增长5.0%。".into()],
            new: Some("本次新增预警1项（红色1项）。".into()),
            overdue_total: 6,
            escalated_total: 1,
            overdue: vec![crate::notify::summary::OverdueCase {
                id: 14,
                name: "<b>超期</b>厂".into(),
                due: "11月9日".into(),
                escalated: true,
                link: Some("https://jc.example.cn/cases/14".into()),
            }],
            calendar_note: None,
        };
        let answer = Loop {
            console: Some("https://jc.example.cn/"),
            cases: Some(&cases),
            summary: Some(&summary),
        };
        let got = html(&r, &items, &names, &[], &answer, &[]).unwrap();
        assert!(got.contains("<th>办理</th>"), "{got}");
        assert!(
            got.contains("<a href=\"https://jc.example.cn/cases/12\">办理</a>"),
            "{got}"
        );
        assert_eq!(got.matches("cases/12").count(), 1);
        assert!(!got.contains("cases/2\""), "no case, no link");
        assert!(got.contains("&lt;b&gt;超期&lt;/b&gt;厂"), "{got}");
        assert!(got.contains("另有5件，见我的待办"), "{got}");
        assert!(got.contains("https://jc.example.cn/todo"), "{got}");
        let at = |s: &str| got.find(s).unwrap();
        assert!(at("【概况】") < at("自上次通报以来"));
        let t = text(&r, &items, &names, &[], &answer, &[]);
        assert!(t.contains("办理：https://jc.example.cn/cases/12\n"), "{t}");
        assert!(
            t.contains(
                "  · <b>超期</b>厂（期限11月9日，已超督办期限） https://jc.example.cn/cases/14"
            ),
            "{t}"
        );
        assert!(!t.contains("indmon alerts"), "{t}");
    }
}
