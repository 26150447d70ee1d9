//! The POSTs on a case: 反馈 (`/cases/{id}/answer`), 申请销号 (`/close-request`), 销号
//! (`/approve`) and 退回 (`/return`). The CSRF guard has checked the token before these run;
//! the desk checks the official's scope and writes each change with its event and its audit
//! row (actor, client address). A case the official cannot see answers 404, as its page does;
//! one they see but may not act on, 403; a form older than the case (its version), 409 with the
//! page and what was typed kept; a field refused, 422 likewise. Success redirects (303) to the
//! case page, so a reload does not post again.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use serde::Deserialize;

use super::case::{AnswerFields, Shown, show};
use super::pages::not_found_page;
use super::session::{self, Signed};
use super::view::{self, Peer};
use super::{Console, Shared};
use crate::cases::{AnswerInput, CaseError};

/// The answer form.
#[derive(Deserialize)]
pub struct AnswerPost {
    #[serde(default)]
    version: String,
    #[serde(default)]
    cause: String,
    #[serde(default)]
    situation: String,
    #[serde(default)]
    measures: String,
    #[serde(default)]
    resume_month: String,
    #[serde(default)]
    coordination: String,
}

/// The 申请销号, 销号 and 退回 forms (`due` only for 退回).
#[derive(Deserialize)]
pub struct NotePost {
    #[serde(default)]
    version: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    due: String,
}

enum Action {
    Answer(AnswerInput),
    RequestClose(String),
    Approve(String),
    Return(String, Option<NaiveDate>),
}

impl Action {
    /// The `?done=` of the page it redirects to.
    fn done(&self) -> &'static str {
        match self {
            Action::Answer(_) => "answered",
            Action::RequestClose(_) => "close_requested",
            Action::Approve(_) => "approved",
            Action::Return(..) => "returned",
        }
    }
}

/// `POST /cases/{id}/answer`.
pub async fn answer(
    State(c): State<Shared>,
    peer: Peer,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<AnswerPost>,
) -> Response {
    let kept = AnswerFields {
        cause: f.cause,
        situation: f.situation,
        measures: f.measures,
        resume_month: f.resume_month,
        coordination: f.coordination,
    };
    let input = AnswerInput {
        cause: kept.cause.clone(),
        situation: kept.situation.clone(),
        measures: kept.measures.clone(),
        resume_month: Some(kept.resume_month.clone()),
        coordination: kept.coordination.clone(),
        expected_version: None,
        via: "console".into(),
    };
    let act = Action::Answer(input);
    run(&c, peer, &headers, &id, &f.version, act, Some(kept)).await
}

/// `POST /cases/{id}/close-request`.
pub async fn request_close(
    State(c): State<Shared>,
    peer: Peer,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<NotePost>,
) -> Response {
    let act = Action::RequestClose(f.note);
    run(&c, peer, &headers, &id, &f.version, act, None).await
}

/// `POST /cases/{id}/approve` (city officials).
pub async fn approve(
    State(c): State<Shared>,
    peer: Peer,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<NotePost>,
) -> Response {
    let act = Action::Approve(f.note);
    run(&c, peer, &headers, &id, &f.version, act, None).await
}

/// `POST /cases/{id}/return` (city officials): a note, and the new due date or none.
pub async fn return_case(
    State(c): State<Shared>,
    peer: Peer,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<NotePost>,
) -> Response {
    let due = match f.due.trim() {
        "" => None,
        d => match NaiveDate::parse_from_str(d, "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                return c.templates.message(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "无法退回",
                    &format!("新的反馈期限“{d}”应为日期，如 2026-12-01 (expected YYYY-MM-DD)"),
                );
            }
        },
    };
    let act = Action::Return(f.note, due);
    run(&c, peer, &headers, &id, &f.version, act, None).await
}

/// Checks the official sees case `id` and the form's version, then acts through the desk.
async fn run(
    c: &Console,
    peer: Peer,
    headers: &HeaderMap,
    id: &str,
    version: &str,
    act: Action,
    kept: Option<AnswerFields>,
) -> Response {
    let s = match view::signed(c, headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Ok(id) = id.parse::<i64>() else {
        return not_found_page(c);
    };
    let desk = match c.desk() {
        Ok(d) => d,
        Err(e) => return session::internal(c, &e),
    };
    let who = view::who(c, &s, peer, headers);
    let now = c.ctx.clock.now();
    let case = match desk.get(&who, id, now).await {
        Ok(d) => d.case,
        Err(CaseError::NotFound(_) | CaseError::Forbidden) => return not_found_page(c),
        Err(e) => return session::internal(c, &e.into()),
    };
    let Ok(version) = version.trim().parse::<i64>() else {
        return c.templates.message(
            StatusCode::BAD_REQUEST,
            "表单不完整",
            "表单缺少事项版本号，请返回事项页面刷新后重新提交。",
        );
    };
    let done = act.done();
    let result = match act {
        Action::Answer(input) => {
            let input = AnswerInput {
                expected_version: Some(version),
                ..input
            };
            desk.answer(&who, id, &input, now).await
        }
        // The desk checks the state; the version is checked here, so that a decision taken on
        // a page older than the case (a new answer since) is not applied.
        _ if version != case.version => Err(CaseError::Stale {
            given: version,
            current: case.version,
        }),
        Action::RequestClose(note) => desk.request_close(&who, id, &note, now).await,
        Action::Approve(note) => desk.approve_close(&who, id, &note, now).await,
        Action::Return(note, due) => desk.return_case(&who, id, &note, due, now).await,
    };
    match result {
        Ok(_) => Redirect::to(&format!("/cases/{id}?done={done}")).into_response(),
        Err(e) => refused(c, &s, id, e, kept).await,
    }
}

/// The answer to a refused action.
async fn refused(
    c: &Console,
    s: &Signed,
    id: i64,
    e: CaseError,
    kept: Option<AnswerFields>,
) -> Response {
    let (status, error) = match &e {
        CaseError::NotFound(_) => return not_found_page(c),
        CaseError::Forbidden => {
            return c.templates.message(
                StatusCode::FORBIDDEN,
                "无权办理",
                "您可以查看该事项，但不能办理这一步：反馈和申请销号由责任人办理，销号和退回由市工信局办理。",
            );
        }
        CaseError::Stale { .. } | CaseError::WrongState { .. } => {
            (StatusCode::CONFLICT, e.to_string())
        }
        CaseError::Invalid { field, message } => (
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("{}：{message}", field_zh(field)),
        ),
        CaseError::Calendar(_) => (StatusCode::UNPROCESSABLE_ENTITY, e.to_string()),
        CaseError::Store(_) => return session::internal(c, &e.into()),
    };
    let shown = Shown {
        status: Some(status),
        error: Some(error),
        form: kept,
        ..Shown::default()
    };
    show(c, s, id, shown).await
}

fn field_zh(field: &str) -> &'static str {
    match field {
        "cause" => "原因",
        "situation" => "情况说明",
        "measures" => "帮扶措施",
        "resume_month" => "预计复产月份",
        "coordination" => "需市级协调",
        "note" => "说明",
        "due" => "反馈期限",
        _ => "填写内容",
    }
}
