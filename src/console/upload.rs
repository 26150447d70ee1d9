//! The 反馈表 in the console: `GET /cases/workbook` downloads the signed-in official's own
//! (the cases they answer), `GET /cases/upload` is the upload form, and `POST /cases/upload`
//! (multipart, the CSRF token in `?csrf=`) reads a filled one and answers with the rows
//! accepted and rejected, each rejected one with its line, column and reason. The rows are
//! applied as the official, within their scope ([`crate::feedback::apply`]).

use std::net::SocketAddr;

use axum::Extension;
use axum::body::to_bytes;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::client::client_addr;
use super::pages::Me;
use super::session::{self, Signed};
use super::{Console, Shared};
use crate::cases::{Desk, Who};
use crate::feedback::{self, Outcome};

/// Largest upload read, in bytes (a 反馈表 of thousands of cases is a few hundred KiB).
pub const MAX_UPLOAD: usize = 16 << 20;

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The desk, or the page that says why there is none (boxed: a response is large).
fn desk(c: &Console) -> Result<Desk, Box<Response>> {
    let store = c
        .ctx
        .store
        .get()
        .ok_or_else(|| Box::new(session::unavailable(c)))?;
    Desk::new(store.clone(), &c.ctx.config)
        .map_err(|e| Box::new(session::internal(c, &anyhow::anyhow!("{e}"))))
}

fn who(c: &Console, s: &Signed, peer: Option<SocketAddr>, headers: &HeaderMap) -> Who {
    let client = client_addr(peer, headers, &c.proxies).to_string();
    Who::recipient(&s.scope.recipient.id, Some(&client))
}

/// `GET /cases/workbook`: the official's 反馈表, or a page saying there is nothing to answer.
pub async fn workbook(State(c): State<Shared>, headers: HeaderMap) -> Response {
    let s = match session::signed(&c, &headers).await {
        Ok(s) => s,
        Err(why) => return session::refuse(&c, &headers, why),
    };
    let desk = match desk(&c) {
        Ok(d) => d,
        Err(r) => return *r,
    };
    let r = &s.scope.recipient;
    let who = Who::recipient(&r.id, None);
    let label = r.label.as_deref().unwrap_or(&r.name);
    let now = c.ctx.clock.now();
    match feedback::workbook::for_reader(&desk, &who, &c.ctx.config.general.city_name, label, now)
        .await
    {
        Ok(Some(bytes)) => {
            let name = format!(
                "attachment; filename=\"indmon-feedback-{}.xlsx\"",
                now.format("%Y%m%d")
            );
            let mut resp = (StatusCode::OK, bytes).into_response();
            let h = resp.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(XLSX));
            if let Ok(v) = HeaderValue::from_str(&name) {
                h.insert(header::CONTENT_DISPOSITION, v);
            }
            resp
        }
        Ok(None) => c.templates.message(
            StatusCode::OK,
            "没有待反馈的事项",
            "您目前没有需要反馈的交办事项。",
        ),
        Err(e) => session::internal(&c, &anyhow::anyhow!("{e}")),
    }
}

/// `GET /cases/upload`: the form.
pub async fn form(State(c): State<Shared>, headers: HeaderMap) -> Response {
    let s = match session::signed(&c, &headers).await {
        Ok(s) => s,
        Err(why) => return session::refuse(&c, &headers, why),
    };
    page(&c, &s, StatusCode::OK, None, None, "")
}

fn page(
    c: &Console,
    s: &Signed,
    status: StatusCode,
    outcome: Option<&Outcome>,
    error: Option<&str>,
    file: &str,
) -> Response {
    let rejected: Vec<String> = outcome
        .map(|o| o.rejected.iter().map(ToString::to_string).collect())
        .unwrap_or_default();
    c.templates.page(
        status,
        "upload.html",
        minijinja::context! {
            me => Me::of(s), csrf => s.csrf.clone(), outcome => outcome, rejected => rejected,
            summary => outcome.map(Outcome::summary), error => error, file => file,
        },
    )
}

/// `POST /cases/upload?csrf=…`: reads the file, applies the good rows, lists every row's fate.
pub async fn upload(
    State(c): State<Shared>,
    p: Option<Extension<ConnectInfo<SocketAddr>>>,
    request: Request,
) -> Response {
    let headers = request.headers().clone();
    let s = match session::signed(&c, &headers).await {
        Ok(s) => s,
        Err(why) => return session::refuse(&c, &headers, why),
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let Ok(body) = to_bytes(request.into_body(), MAX_UPLOAD).await else {
        let why = format!("文件超过 {} MiB (file too large)", MAX_UPLOAD >> 20);
        return page(&c, &s, StatusCode::PAYLOAD_TOO_LARGE, None, Some(&why), "");
    };
    let Some((file, bytes)) = file_part(&content_type, &body) else {
        let why = "没有收到文件，请选择填好的反馈表后再上传 (no file in the upload)";
        return page(&c, &s, StatusCode::BAD_REQUEST, None, Some(why), "");
    };
    let desk = match desk(&c) {
        Ok(d) => d,
        Err(r) => return *r,
    };
    let limits = feedback::read::limits(&c.ctx.config.import.xlsx);
    let bytes = bytes.to_vec();
    let read = tokio::task::spawn_blocking(move || feedback::read::read(bytes, &limits)).await;
    let sheet = match read {
        Ok(Ok(sheet)) => sheet,
        Ok(Err(e)) => {
            let why = format!("{file}：{e}");
            return page(
                &c,
                &s,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                Some(&why),
                &file,
            );
        }
        Err(e) => {
            let why = format!("{file}：读取程序异常中止 (the reader failed): {e}");
            return page(
                &c,
                &s,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                Some(&why),
                &file,
            );
        }
    };
    let who = who(&c, &s, p.map(|Extension(ConnectInfo(a))| a), &headers);
    let now = c.ctx.clock.now();
    match feedback::apply(&desk, &who, "workbook", &file, sheet, now).await {
        Ok(outcome) => page(&c, &s, StatusCode::OK, Some(&outcome), None, &file),
        Err(e) => session::internal(&c, &e),
    }
}

/// The first part of a `multipart/form-data` body that carries a file: its file name (or
/// `反馈表.xlsx`) and its bytes. `None` for another content type or a body without one.
pub fn file_part<'a>(content_type: &str, body: &'a [u8]) -> Option<(String, &'a [u8])> {
    let (kind, params) = content_type.split_once(';')?;
    if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    let boundary = params.split(';').find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"'))
    })?;
    if boundary.is_empty() || boundary.len() > 200 {
        return None;
    }
    let delimiter = format!("--{boundary}");
    let mut rest = &body[find(body, delimiter.as_bytes())? + delimiter.len()..];
    let end_mark = format!("\r\n{delimiter}");
    loop {
        if rest.starts_with(b"--") {
            return None;
        }
        rest = rest.strip_prefix(b"\r\n")?;
        let head_end = find(rest, b"\r\n\r\n")?;
        let head = String::from_utf8_lossy(&rest[..head_end]);
        let content = &rest[head_end + 4..];
        let end = find(content, end_mark.as_bytes())?;
        if let Some(name) = disposition_file(&head) {
            return Some((name, &content[..end]));
        }
        rest = &content[end + end_mark.len()..];
    }
}

/// The file name of a part whose `Content-Disposition` has one.
fn disposition_file(head: &str) -> Option<String> {
    let line = head
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("content-disposition:"))?;
    let at = line.find("filename=\"")? + "filename=\"".len();
    let name: String = line[at..].chars().take_while(|c| *c != '"').collect();
    let name = name.rsplit(['/', '\\']).next().unwrap_or("").to_string();
    Some(if name.is_empty() {
        "反馈表.xlsx".into()
    } else {
        name
    })
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::file_part;

    #[test]
    fn the_file_part_is_found_among_the_fields() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhi\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"C:\\\\x\\\\\xe5\x8f\x8d.xlsx\"\r\nContent-Type: application/octet-stream\r\n\r\nPK\x03\x04\r\n--\r\nbytes\r\n--XyZ--\r\n";
        let (name, bytes) = file_part("multipart/form-data; boundary=XyZ", body).unwrap();
        assert_eq!(name, "反.xlsx");
        assert_eq!(bytes, b"PK\x03\x04\r\n--\r\nbytes");
        assert!(file_part("multipart/form-data; boundary=XyZ", b"--XyZ--\r\n").is_none());
        assert!(file_part("application/x-www-form-urlencoded", body).is_none());
        assert!(file_part("multipart/form-data; boundary=Q", body).is_none());
    }
}
