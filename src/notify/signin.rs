//! 登录链接: the console's one-time sign-in link, mailed through the outbox like a digest, so it
//! is retried while SMTP is down and survives a restart. The message carries the link itself,
//! so the outbox row holds it too; the link is single-use and expires after 15 minutes, after
//! which the stored copy opens nothing.

use chrono::{DateTime, Utc};
use chrono_tz::Asia::Shanghai;
use lettre::message::MultiPart;

use super::RecipientConfig;
use super::digest::{compose, envelope, escape_html};
use crate::store::Store;

/// Queues the sign-in mail with `link` (valid until `expires`) to `who`; returns its outbox id.
pub async fn enqueue(
    store: &Store,
    from: &str,
    who: &RecipientConfig,
    link: &str,
    token_hash: &str,
    expires: DateTime<Utc>,
    now: DateTime<Utc>,
) -> anyhow::Result<i64> {
    let env = envelope(from, who)?;
    // Unique per link; the token's hash, not the token, so the header reveals nothing.
    let message_id = format!(
        "<indmon.signin.{}@{}>",
        &token_hash[..32.min(token_hash.len())],
        env.from.email.domain()
    );
    let until = expires.with_timezone(&Shanghai).format("%H:%M");
    let text = format!(
        "{name}：\n\n请打开以下链接登录工业运行监测控制台（{until}前有效，只能使用一次）：\n\n{link}\n\n\
         打开后请点击页面上的“确认登录”按钮。如非本人操作，请忽略本邮件，链接过期后自动失效。\n",
        name = who.name
    );
    let html = format!(
        "<p>{name}：</p><p>请打开以下链接登录工业运行监测控制台（{until}前有效，只能使用一次）：</p>\
         <p><a href=\"{href}\">{href}</a></p>\
         <p>打开后请点击页面上的“确认登录”按钮。如非本人操作，请忽略本邮件，链接过期后自动失效。</p>",
        name = escape_html(&who.name),
        href = escape_html(link)
    );
    let w = compose(
        &env,
        "【工业运行监测】登录链接".to_string(),
        message_id,
        now,
        MultiPart::alternative_plain_html(text, html),
        0,
    )?;
    let ids = store
        .write_digests(&[w], &[], now.timestamp_millis())
        .await?;
    ids.first()
        .copied()
        .ok_or_else(|| anyhow::anyhow!("发件箱未返回编号 (outbox returned no id)"))
}
