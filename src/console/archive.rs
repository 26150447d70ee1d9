//! The archive of semimonthly snapshots, served from the database (`snapshot_archive`, written
//! by every `indmon snapshot` and the scheduled snapshot job), so any replica serves them:
//! `/snapshots` lists them, `/snapshots/{half}/{file}` opens the page or the JSON and downloads
//! the Word and Excel versions.
//!
//! City officials only: the snapshot is the city's report, with every unit's figures and
//! ranks; district and zone officials get their own figures in their digests. Others get 404.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::pages::{Me, not_found_page};
use super::session::{self, Signed};
use super::view::{self, when};
use super::{Console, Shared};

/// The files a snapshot has: name, content type, opened in the browser (else downloaded), and
/// what the list calls it.
const FILES: &[(&str, &str, bool, &str)] = &[
    ("report.html", "text/html; charset=utf-8", true, "网页版"),
    (
        "report.docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        false,
        "Word 版",
    ),
    (
        "report.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        false,
        "Excel 明细",
    ),
    ("snapshot.json", "application/json", true, "数据（JSON）"),
    ("manifest.json", "application/json", true, "清单（校验值）"),
];

#[derive(Serialize)]
struct FileLink {
    name: &'static str,
    label: &'static str,
    size: String,
}

#[derive(Serialize)]
struct Kept {
    half: String,
    half_zh: String,
    period: String,
    written: String,
    files: Vec<FileLink>,
}

fn size(bytes: i64) -> String {
    if bytes >= 1 << 20 {
        format!("{:.1} MB", bytes as f64 / f64::from(1 << 20))
    } else {
        format!("{} KB", (bytes + 1023) / 1024)
    }
}

async fn city_official(c: &Console, headers: &HeaderMap) -> Result<Signed, Response> {
    let s = view::signed(c, headers).await?;
    if s.scope.is_city() {
        Ok(s)
    } else {
        Err(not_found_page(c))
    }
}

/// `GET /snapshots`: the kept snapshots, newest first.
pub async fn list(State(c): State<Shared>, headers: HeaderMap) -> Response {
    let s = match city_official(&c, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some(store) = c.ctx.reads() else {
        return session::unavailable(&c);
    };
    let kept = match store.kept_snapshots().await {
        Ok(k) => k,
        Err(e) => return session::internal(&c, &e),
    };
    let kept: Vec<Kept> = kept
        .into_iter()
        .map(|k| Kept {
            half_zh: k
                .half
                .parse::<crate::report::Half>()
                .map(|h| h.zh())
                .unwrap_or_else(|_| k.half.clone()),
            files: FILES
                .iter()
                .filter_map(|(name, _, _, label)| {
                    let (_, bytes) = k.files.iter().find(|(n, _)| n.as_str() == *name)?;
                    Some(FileLink {
                        name,
                        label,
                        size: size(*bytes),
                    })
                })
                .collect(),
            written: when(k.written_at),
            period: k.period,
            half: k.half,
        })
        .collect();
    c.templates.page(
        StatusCode::OK,
        "snapshots.html",
        minijinja::context! { me => Me::of(&s), csrf => s.csrf, kept => kept },
    )
}

/// `GET /snapshots/{half}/{file}`: one file's bytes as kept; 404 for a name not in the list.
pub async fn file(
    State(c): State<Shared>,
    headers: HeaderMap,
    Path((half, name)): Path<(String, String)>,
) -> Response {
    if let Err(r) = city_official(&c, &headers).await {
        return r;
    }
    let Some(&(name, content_type, inline, _)) = FILES.iter().find(|f| f.0 == name) else {
        return not_found_page(&c);
    };
    let Ok(half) = half.parse::<crate::report::Half>() else {
        return not_found_page(&c);
    };
    let Some(store) = c.ctx.reads() else {
        return session::unavailable(&c);
    };
    let kept = match store.kept_file(&half.to_string(), name).await {
        Ok(Some(k)) => k,
        Ok(None) => return not_found_page(&c),
        Err(e) => return session::internal(&c, &e),
    };
    let disposition = format!(
        "{}; filename=\"{half}-{name}\"",
        if inline { "inline" } else { "attachment" }
    );
    let mut r = (StatusCode::OK, kept.content).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", kept.sha256)) {
        h.insert(header::ETAG, v);
    }
    r
}
