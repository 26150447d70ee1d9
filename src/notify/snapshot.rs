//! The semimonthly snapshot by email to the city-level officials (市级): the analysis paragraphs
//! in the body, and the report either attached (`report.html`, `report.docx`, `report.xlsx`) or
//! linked (`mail.snapshot_url`), as `mail.snapshot` says.
//!
//! The message is built from the written folder, so it says exactly what the files say, and its
//! Message-ID is fixed per half and recipient: a run that finds it already in the outbox does
//! nothing, so a crash between writing the snapshot and queueing its mail is mended by the next
//! run, and no run sends it twice.

use std::path::Path;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use lettre::message::header::ContentType;
use lettre::message::{Attachment, MultiPart};
use serde::Deserialize;

use super::config::{Role, SnapshotMail};
use super::digest::{compose, envelope, escape_html};
use crate::config::Config;
use crate::report::Half;
use crate::store::Store;

/// What the message needs of `snapshot.json`.
#[derive(Debug, Deserialize)]
struct Head {
    half: String,
    period_label: String,
    paragraphs: Vec<String>,
}

/// `2026年11月上半月`.
fn half_zh(h: Half) -> String {
    format!(
        "{}年{}月{}",
        h.month.year(),
        h.month.month(),
        if h.half == 1 {
            "上半月"
        } else {
            "下半月"
        }
    )
}

/// Queues the snapshot in `dir` for every city-level official not yet sent it; returns how many
/// messages were queued. Nothing when `mail.snapshot = "off"` or there is no `[mail]`.
pub async fn enqueue(
    store: &Store,
    config: &Config,
    dir: &Path,
    now: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let Some(mail) = &config.mail else {
        return Ok(0);
    };
    if mail.snapshot == SnapshotMail::Off {
        return Ok(0);
    }
    let json = dir.join("snapshot.json");
    let head: Head = serde_json::from_slice(
        &std::fs::read(&json).with_context(|| format!("reading {}", json.display()))?,
    )
    .with_context(|| format!("reading {}", json.display()))?;
    let half: Half = head.half.parse().map_err(anyhow::Error::msg)?;
    let city = &config.general.city_name;
    let subject = format!(
        "【运行分析】{city}工业经济运行分析 {}（数据期{}）",
        half_zh(half),
        head.period_label
    );
    let files: Vec<(String, Vec<u8>, &str)> = match mail.snapshot {
        SnapshotMail::Attach => [
            ("html", "text/html; charset=utf-8"),
            (
                "docx",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            ),
            (
                "xlsx",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ),
        ]
        .into_iter()
        .map(|(ext, mime)| {
            let p = dir.join(format!("report.{ext}"));
            let bytes = std::fs::read(&p).with_context(|| format!("reading {}", p.display()))?;
            Ok((format!("{city}工业经济运行分析-{half}.{ext}"), bytes, mime))
        })
        .collect::<anyhow::Result<_>>()?,
        _ => Vec::new(),
    };
    let link = mail
        .snapshot_url
        .as_deref()
        .filter(|_| mail.snapshot == SnapshotMail::Link)
        .map(|base| format!("{}/{half}/report.html", base.trim_end_matches('/')));

    let mut writes = Vec::new();
    for r in config.recipients.iter().filter(|r| r.role == Role::City) {
        let env = envelope(&mail.from, r)?;
        let id = format!(
            "<indmon.snapshot.{half}.{}@{}>",
            r.id,
            env.from.email.domain()
        );
        if store.outbox_has(&id).await? {
            continue;
        }
        let mut text = format!("{}：\n\n", r.name);
        let mut html = format!(
            "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"></head><body style=\"font-family:sans-serif\"><p>{}：</p>",
            escape_html(&r.name)
        );
        for p in &head.paragraphs {
            text.push_str(&format!("{p}\n\n"));
            html.push_str(&format!("<p>{}</p>", escape_html(p)));
        }
        match &link {
            Some(l) => {
                text.push_str(&format!("完整报告：{l}\n"));
                html.push_str(&format!(
                    "<p>完整报告：<a href=\"{0}\">{0}</a></p>",
                    escape_html(l)
                ));
            }
            None => {
                text.push_str("完整报告（网页版、可编辑的 Word 文档与 Excel 工作簿）见附件。\n");
                html.push_str(
                    "<p>完整报告（网页版、可编辑的 Word 文档与 Excel 工作簿）见附件。</p>",
                );
            }
        }
        text.push_str("本邮件由工业运行监测系统自动发送。\n");
        html.push_str("<p><small>本邮件由工业运行监测系统自动发送。</small></p></body></html>");
        let mut body = MultiPart::mixed().multipart(MultiPart::alternative_plain_html(text, html));
        for (name, bytes, mime) in &files {
            body = body.singlepart(
                Attachment::new(name.clone()).body(bytes.clone(), ContentType::parse(mime)?),
            );
        }
        writes.push(compose(&env, subject.clone(), id, now, body, 1)?);
    }
    store
        .write_digests(&writes, &[], now.timestamp_millis())
        .await?;
    Ok(writes.len())
}
