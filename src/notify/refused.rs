//! 拒收通知: when a source's file or page is refused for its content, the officials named in
//! the source's `contact` learn which one and why, in Chinese, through the same outbox as the
//! digests (so the message is retried and never lost).
//!
//! The Message-ID is fixed per source, file, content and recipient: the same refused content
//! is announced once however often it is dropped again or pulled again, and a crash between
//! queueing the message and moving the file is mended by the next pull without a second one.

use chrono::{DateTime, Utc};
use chrono_tz::Asia::Shanghai;
use lettre::message::MultiPart;
use sha2::{Digest, Sha256};

use super::digest::{compose, envelope, escape_html};
use crate::config::{Config, SourceConfig};
use crate::store::Store;

/// Reasons listed in the message at most; the rest are in the reason file and the database.
pub const LISTED: usize = 20;
/// Characters of one reason shown at most (a reject may quote a huge field).
const REASON_CHARS: usize = 300;

/// A refused file or page.
#[derive(Clone, Debug)]
pub struct Refusal<'a> {
    /// The file's name in the inbox, or the page's address (without credentials).
    pub file: &'a str,
    pub sha256: &'a str,
    /// Why, one line each, in Chinese with the English in brackets.
    pub reasons: &'a [String],
    /// How many reasons there are in all (rows rejected), at least `reasons.len()`.
    pub total: u64,
    /// Where the file is now (`rejected/NAME`), for an inbox.
    pub moved_to: Option<String>,
    /// The import run that recorded it, if any.
    pub run_id: Option<i64>,
}

/// Queues the notice of `r` for each contact of `src` not yet told; returns how many were
/// queued. Nothing without `[mail]` or contacts.
pub async fn enqueue(
    store: &Store,
    config: &Config,
    src: &SourceConfig,
    r: &Refusal<'_>,
    now: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let Some(mail) = &config.mail else {
        return Ok(0);
    };
    let mut writes = Vec::new();
    for id in &src.contact {
        let Some(who) = config.recipients.iter().find(|x| &x.id == id) else {
            // check-config reports an unknown contact; a running daemon skips it.
            tracing::warn!(source = %src.name, contact = %id, "联系人不是已配置的收件人 (contact is not a configured recipient)");
            continue;
        };
        let env = envelope(&mail.from, who)?;
        let message_id = message_id(&src.name, r, &who.id, env.from.email.domain());
        if store.outbox_has(&message_id).await? {
            continue;
        }
        let body = MultiPart::alternative_plain_html(
            text(&who.name, &src.name, r, now),
            html(&who.name, &src.name, r, now),
        );
        writes.push(compose(
            &env,
            subject(&src.name, r),
            message_id,
            now,
            body,
            1,
        )?);
    }
    if !writes.is_empty() {
        store
            .write_digests(&writes, &[], now.timestamp_millis())
            .await?;
    }
    Ok(writes.len())
}

/// `<indmon.refused.HEX@domain>`, the same for the same source, file, content and recipient.
fn message_id(source: &str, r: &Refusal<'_>, recipient: &str, domain: &str) -> String {
    let mut h = Sha256::new();
    for part in [source, r.file, r.sha256, recipient] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    let hex = format!("{:x}", h.finalize());
    format!("<indmon.refused.{}@{domain}>", &hex[..32])
}

/// The last part of a path: what the sender called the file (an address is kept whole).
fn short_name(file: &str) -> &str {
    if file.contains("://") {
        return file;
    }
    std::path::Path::new(file)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(file)
}

/// `【数据拒收】东岭区收件箱：b_西湖县10月.csv`.
fn subject(source: &str, r: &Refusal<'_>) -> String {
    format!("【数据拒收】{source}：{}", short_name(r.file))
}

fn clipped(reason: &str) -> String {
    let mut s: String = reason.chars().take(REASON_CHARS).collect();
    if reason.chars().nth(REASON_CHARS).is_some() {
        s.push('…');
    }
    s
}

/// The message's opening sentence, its reasons, and what follows them; the plain text and the
/// HTML are both made from these.
struct Lines {
    lead: String,
    reasons: Vec<String>,
    after: Vec<String>,
}

fn lines(source: &str, r: &Refusal<'_>, now: DateTime<Utc>) -> Lines {
    let when = now.with_timezone(&Shanghai).format("%Y-%m-%d %H:%M");
    let lead = format!(
        "来源“{source}”的文件“{}”于 {when}（北京时间）被拒收，整份文件未入库。",
        short_name(r.file)
    );
    let mut reasons: Vec<String> = r.reasons.iter().take(LISTED).map(|x| clipped(x)).collect();
    let shown = reasons.len() as u64;
    if r.total > shown {
        reasons.push(format!(
            "……共 {} 条问题，以上为前 {shown} 条，完整明细见拒收说明文件。",
            r.total
        ));
    }
    let mut after = Vec::new();
    match &r.moved_to {
        Some(to) => after.push(format!(
            "文件已移至 {to}，原因写在同名的 .reason.txt 文件中。请修正后重新放入收件文件夹。"
        )),
        None => after.push("请数据平台修正后重新提供；修正前本来源的后续数据不会入库。".into()),
    }
    if let Some(id) = r.run_id {
        after.push(format!("导入批次：{id}"));
    }
    after.push(format!("文件 SHA-256：{}", r.sha256));
    Lines {
        lead,
        reasons,
        after,
    }
}

fn text(name: &str, source: &str, r: &Refusal<'_>, now: DateTime<Utc>) -> String {
    let l = lines(source, r, now);
    let mut s = format!("{name}：\n\n{}\n\n拒收原因：\n", l.lead);
    for x in &l.reasons {
        s.push_str(&format!("  {x}\n"));
    }
    s.push('\n');
    for x in &l.after {
        s.push_str(&format!("{x}\n"));
    }
    s.push_str("\n本邮件由工业运行监测系统自动发送。\n");
    s
}

fn html(name: &str, source: &str, r: &Refusal<'_>, now: DateTime<Utc>) -> String {
    let l = lines(source, r, now);
    let mut s = format!(
        "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"></head><body style=\"font-family:sans-serif\"><p>{}：</p><p>{}</p><p>拒收原因：</p><ul>",
        escape_html(name),
        escape_html(&l.lead)
    );
    for x in &l.reasons {
        s.push_str(&format!("<li>{}</li>", escape_html(x)));
    }
    s.push_str("</ul>");
    for x in &l.after {
        s.push_str(&format!("<p>{}</p>", escape_html(x)));
    }
    s.push_str("<p><small>本邮件由工业运行监测系统自动发送。</small></p></body></html>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal<'a>(reasons: &'a [String], sha: &'a str) -> Refusal<'a> {
        Refusal {
            file: "/srv/inbox/b_西湖县10月.csv",
            sha256: sha,
            reasons,
            total: 25,
            moved_to: Some("/srv/inbox/rejected/b_西湖县10月.csv".into()),
            run_id: Some(7),
        }
    }

    #[test]
    fn the_message_id_is_fixed_per_source_file_content_and_recipient() {
        let reasons = vec!["第3行：坏".to_string()];
        let a = message_id("收件箱", &refusal(&reasons, "aa"), "dl", "x.cn");
        assert_eq!(
            a,
            message_id("收件箱", &refusal(&reasons, "aa"), "dl", "x.cn")
        );
        assert!(a.starts_with("<indmon.refused.") && a.ends_with("@x.cn>") && a.is_ascii());
        assert_ne!(
            a,
            message_id("收件箱", &refusal(&reasons, "bb"), "dl", "x.cn")
        );
        assert_ne!(
            a,
            message_id("收件箱", &refusal(&reasons, "aa"), "xh", "x.cn")
        );
    }

    #[test]
    fn the_text_names_the_file_and_its_reasons_and_clips_long_ones() {
        let reasons = vec!["第3行：坏 (bad)".to_string(), "值".repeat(10_000)];
        let t = text("张三", "收件箱", &refusal(&reasons, "aa"), Utc::now());
        assert!(
            t.contains("“b_西湖县10月.csv”") && t.contains("第3行：坏"),
            "{t}"
        );
        assert!(
            t.contains("共 25 条") && t.contains("rejected/b_西湖县10月.csv"),
            "{t}"
        );
        assert!(
            t.len() < 3_000,
            "a huge reason is clipped: {} bytes",
            t.len()
        );
        let h = html("<b>", "收件箱", &refusal(&reasons, "aa"), Utc::now());
        assert!(h.contains("&lt;b&gt;") && !h.contains("<b>"), "{h}");
    }
}
