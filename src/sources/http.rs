//! HTTP sources: fetch pages (JSON with `next_cursor`/`has_more`, or one CSV/XLSX body),
//! ingest each in its own transaction together with the cursor that follows it, and stop at
//! the first page that cannot be fetched or is rejected, so that no page is skipped. How one
//! request is made (credentials, retries, body limit) is [`super::fetch`]'s business.

use anyhow::Context;
use sha2::{Digest, Sha256};

use super::fetch::{Client, Fetched, shown_url};
use super::{Ended, Tally};
use crate::config::{Config, SourceConfig};
use crate::ingest::{Format, ImportError, ImportOptions, TextEncoding, import_bytes};
use crate::notify::refused::{LISTED, Refusal, enqueue};
use crate::store::Store;

/// Pages one pull follows at most: a source whose `has_more` never ends is an error.
const MAX_PAGES: u64 = 10_000;
/// The query parameter carrying `next_cursor` when the source names none.
const DEFAULT_CURSOR_PARAM: &str = "cursor";

/// `next_cursor` and `has_more` of a JSON page.
#[derive(Debug, Default, serde::Deserialize)]
struct Paging {
    #[serde(default)]
    next_cursor: Option<serde_json::Value>,
    #[serde(default)]
    has_more: bool,
    /// Only counted: an empty page has nothing to ingest.
    #[serde(default)]
    submissions: Option<Vec<serde::de::IgnoredAny>>,
}

/// Pulls one HTTP source from its stored cursor to the last page.
pub(crate) async fn pull(
    store: &Store,
    config: &Config,
    src: &SourceConfig,
    base_opts: &ImportOptions,
    tally: &mut Tally,
) -> anyhow::Result<Ended> {
    let client = Client::new(src)?;
    let now_ms = base_opts.now.timestamp_millis();
    let state = store.source_state(&src.name).await?.unwrap_or_default();
    // Only an incremental source (one with `cursor_param`) keeps its cursor between pulls.
    let incremental = src.cursor_param.is_some();
    let param = src.cursor_param.as_deref().unwrap_or(DEFAULT_CURSOR_PARAM);
    let mut cursor = if incremental {
        state.cursor.clone()
    } else {
        None
    };
    let configured_format = src.format.as_deref().and_then(Format::from_name);
    let mut first_validators = None;
    loop {
        anyhow::ensure!(
            tally.pages < MAX_PAGES,
            "已拉取 {MAX_PAGES} 页仍有 has_more = true，疑似来源分页出错 (too many pages; has_more never ends)"
        );
        let mut url = client.url.clone();
        if let Some(c) = &cursor {
            url.query_pairs_mut().append_pair(param, c);
        }
        let shown = shown_url(&url);
        // Validators are sent only for the first request, and only to the address they came from.
        let conditional = (tally.pages == 0 && state.validators_url.as_deref() == Some(&shown))
            .then_some((state.etag.as_deref(), state.last_modified.as_deref()));
        let fetched = client
            .fetch(&url, conditional)
            .await
            .map_err(|e| anyhow::anyhow!("{shown}: {}", e.message))?;
        let body = match fetched {
            Fetched::NotModified => {
                tally
                    .notes
                    .push(format!("{shown}: 304 未修改 (not modified)"));
                return Ok(Ended::default());
            }
            Fetched::Body(b) => b,
        };
        tally.pages += 1;
        tally.bytes += body.bytes.len() as u64;
        tracing::debug!(
            pages = tally.pages,
            bytes = tally.bytes,
            "已取得一页 (page fetched)"
        );
        if tally.pages == 1 {
            first_validators = Some((shown.clone(), body.etag.clone(), body.last_modified.clone()));
        }
        let format = configured_format
            .or_else(|| {
                body.content_type
                    .as_deref()
                    .and_then(format_of_content_type)
            })
            .unwrap_or_else(|| Format::sniff(&body.bytes));
        // A malformed page has no paging: the import below rejects it with the line and column.
        let paging: Option<Paging> = match format {
            Format::Json => serde_json::from_slice(&body.bytes).ok(),
            _ => None,
        };
        let next_cursor = paging
            .as_ref()
            .and_then(|p| p.next_cursor.as_ref())
            .and_then(cursor_text);
        let has_more = paging.as_ref().is_some_and(|p| p.has_more);
        let empty = paging
            .as_ref()
            .and_then(|p| p.submissions.as_ref())
            .is_some_and(Vec::is_empty);
        let sha = format!("{:x}", Sha256::digest(&body.bytes));
        if empty {
            tally
                .notes
                .push(format!("{shown}: 本页没有新数据 (empty page)"));
            if let (true, Some(c)) = (incremental, &next_cursor)
                && cursor.as_ref() != Some(c)
            {
                store.save_cursor(&src.name, c, now_ms).await?;
            }
        } else if store
            .last_committed_sha(&src.name, &shown)
            .await?
            .as_deref()
            == Some(sha.as_str())
        {
            tally.notes.push(format!(
                "{shown}: 内容与上次入库的完全相同，不再导入 (identical to the content last committed; not ingested again)"
            ));
            if let (true, Some(c)) = (incremental, &next_cursor) {
                store.save_cursor(&src.name, c, now_ms).await?;
            }
        } else {
            let mut opts = base_opts.clone();
            opts.commit_cursor = if incremental {
                next_cursor.clone()
            } else {
                None
            };
            if opts.encoding == TextEncoding::Auto
                && let Some(e) = body.content_type.as_deref().and_then(charset_of)
            {
                opts.encoding = e;
            }
            let report = match import_bytes(store, &shown, body.bytes, Some(format), &opts).await {
                Ok(r) => r,
                Err(ImportError::Content { reason }) => {
                    tally.rejected += 1;
                    let reasons = [reason];
                    let refusal = Refusal {
                        file: &shown,
                        sha256: &sha,
                        reasons: &reasons,
                        total: 1,
                        moved_to: None,
                        run_id: None,
                    };
                    tell(store, config, src, &refusal, base_opts).await?;
                    return Ok(Ended {
                        blocked: Some(format!(
                            "来源“{}”的 {shown} 无法读取，本页未入库，游标停在此页 (page refused: {}; the cursor stays before it)",
                            src.name, reasons[0]
                        )),
                    });
                }
                Err(e) => {
                    return Err(
                        anyhow::Error::new(e).context(format!("导入 {shown} 失败 (import failed)"))
                    );
                }
            };
            tally.add(&report);
            let mut note = format!("{shown}: {}", crate::ingest::summary_line(&report));
            for r in report.rejects.iter().take(20) {
                note.push_str(&format!("\n    {r}"));
            }
            tally.notes.push(note);
            if !report.committed {
                let reasons: Vec<String> = report
                    .rejects
                    .iter()
                    .take(LISTED)
                    .map(ToString::to_string)
                    .collect();
                let refusal = Refusal {
                    file: &shown,
                    sha256: &sha,
                    reasons: &reasons,
                    total: report.rejected.max(reasons.len() as u64),
                    moved_to: None,
                    run_id: Some(report.run_id),
                };
                tell(store, config, src, &refusal, base_opts).await?;
                return Ok(Ended {
                    blocked: Some(format!(
                        "来源“{}”的 {shown} 有 {} 行被拒收，本页未入库，游标停在此页，修正后下次拉取从此页继续 (page rejected: nothing of it committed; the cursor stays before it; see import run {})",
                        src.name, report.rejected, report.run_id
                    )),
                });
            }
        }
        if !has_more {
            break;
        }
        match next_cursor {
            Some(c) if Some(&c) != cursor.as_ref() => cursor = Some(c),
            _ => anyhow::bail!(
                "{shown}: has_more 为 true 但 next_cursor 缺失或未变 (has_more is true but next_cursor is missing or unchanged)"
            ),
        }
    }
    // Validators are kept only after a complete pull: a 304 must never hide unread pages.
    if let Some((url, etag, last_modified)) = first_validators {
        store
            .save_validators(
                &src.name,
                &url,
                etag.as_deref(),
                last_modified.as_deref(),
                now_ms,
            )
            .await?;
    }
    Ok(Ended::default())
}

/// Tells the source's contacts that a page was refused for its content.
async fn tell(
    store: &Store,
    config: &Config,
    src: &SourceConfig,
    refusal: &Refusal<'_>,
    opts: &ImportOptions,
) -> anyhow::Result<()> {
    enqueue(store, config, src, refusal, opts.now)
        .await
        .with_context(|| {
            format!(
                "无法排队拒收通知 (cannot queue the refusal notice): {}",
                refusal.file
            )
        })?;
    Ok(())
}

fn cursor_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) if s.is_empty() => None,
        serde_json::Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

fn format_of_content_type(ct: &str) -> Option<Format> {
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if mime.ends_with("json") {
        Some(Format::Json)
    } else if mime == "text/csv" || mime == "text/plain" {
        Some(Format::Csv)
    } else if mime.contains("spreadsheetml") || mime.contains("ms-excel") {
        Some(Format::Xlsx)
    } else {
        None
    }
}

fn charset_of(ct: &str) -> Option<TextEncoding> {
    ct.split(';')
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("charset"))
        .and_then(|(_, v)| TextEncoding::parse(v.trim_matches('"')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_name_format_and_charset() {
        assert_eq!(
            format_of_content_type("application/json; charset=utf-8"),
            Some(Format::Json)
        );
        assert_eq!(charset_of("text/csv; charset=GBK"), Some(TextEncoding::Gbk));
        assert_eq!(charset_of("text/csv"), None);
    }
}
