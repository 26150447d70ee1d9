//! `GET /cases/{id}`: a case with its warning, its history and every answer, and the forms the
//! official may use on it — the answer (反馈) and 申请销号 for its owner, 销号 and 退回 for a
//! city official. The desk decides who sees it: an id outside the official's scope answers 404,
//! exactly as one that does not exist. Every form carries the case's version, so a form
//! older than the case is refused (409) instead of undoing what someone else did.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::pages::{Me, not_found_page};
use super::session::{self, Signed};
use super::view::{self, when};
use super::{Console, Shared};
use crate::cases::{Answer, CaseDetail, CaseError, CaseState, Who, access};

/// The answer form's fields, as given (kept when a form is refused, so nothing typed is lost).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct AnswerFields {
    #[serde(default)]
    pub cause: String,
    #[serde(default)]
    pub situation: String,
    #[serde(default)]
    pub measures: String,
    #[serde(default)]
    pub resume_month: String,
    #[serde(default)]
    pub coordination: String,
}

impl AnswerFields {
    fn of(a: &Answer) -> AnswerFields {
        AnswerFields {
            cause: a.cause.clone(),
            situation: a.situation.clone(),
            measures: a.measures.clone(),
            resume_month: a.resume_month.clone().unwrap_or_default(),
            coordination: a.coordination.clone(),
        }
    }
}

/// How the page is answered: its status, a refusal or a notice, the answer form's values.
#[derive(Default)]
pub struct Shown {
    pub status: Option<StatusCode>,
    pub error: Option<String>,
    pub notice: Option<&'static str>,
    pub form: Option<AnswerFields>,
}

#[derive(Serialize)]
struct HistoryLine {
    at: String,
    kind_zh: &'static str,
    state_zh: &'static str,
    actor: String,
    note: String,
    due: String,
}

#[derive(Serialize)]
struct AnswerView {
    at: String,
    by: String,
    late: bool,
    via_zh: &'static str,
    fields: AnswerFields,
}

/// `?done=`: what the last POST did (the page after a redirect says so).
#[derive(Deserialize)]
pub struct Done {
    pub done: Option<String>,
}

fn notice(done: Option<&str>) -> Option<&'static str> {
    match done? {
        "answered" => Some("反馈已提交。"),
        "close_requested" => Some("已申请销号，等待市工信局审核。"),
        "approved" => Some("已销号。"),
        "returned" => Some("已退回责任人重新反馈。"),
        _ => None,
    }
}

fn kind_zh(kind: &str) -> &'static str {
    match kind {
        "opened" => "交办",
        "reopened" => "再次交办",
        "assigned" => "指定责任人",
        "delivered" => "预警送达",
        "answered" => "反馈",
        "close_requested" => "申请销号",
        "closed" => "销号",
        "returned" => "退回",
        "reminded" => "超期提醒",
        "escalated" => "督办",
        _ => "其他",
    }
}

fn via_zh(via: &str) -> &'static str {
    match via {
        "workbook" => "反馈表上传",
        "inbox" => "反馈表（收件夹）",
        _ => "控制台",
    }
}

/// `GET /cases/{id}`.
pub async fn page(
    State(c): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(d): Query<Done>,
) -> Response {
    let s = match view::signed(&c, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Ok(id) = id.parse::<i64>() else {
        return not_found_page(&c);
    };
    let shown = Shown {
        notice: notice(d.done.as_deref()),
        ..Shown::default()
    };
    show(&c, &s, id, shown).await
}

/// The case page of `id` for `s`; 404 when the desk refuses to show it.
pub async fn show(c: &Console, s: &Signed, id: i64, shown: Shown) -> Response {
    let who = Who::recipient(s.scope.id(), None);
    let loaded = async {
        let desk = c.desk()?;
        match desk.get(&who, id, c.ctx.clock.now()).await {
            Ok(d) => anyhow::Ok(Some(d)),
            Err(CaseError::NotFound(_) | CaseError::Forbidden) => Ok(None),
            Err(e) => Err(e.into()),
        }
    };
    match loaded.await {
        Ok(Some(detail)) => match render(c, s, &who, detail, shown).await {
            Ok(r) => r,
            Err(e) => session::internal(c, &e),
        },
        Ok(None) => not_found_page(c),
        Err(e) => session::internal(c, &e),
    }
}

async fn render(
    c: &Console,
    s: &Signed,
    who: &Who,
    d: CaseDetail,
    shown: Shown,
) -> anyhow::Result<Response> {
    let desk = c.desk()?;
    let now = c.ctx.clock.now();
    let (_, units) = c.open_alerts().await?;
    let alert = match c.ctx.reads() {
        Some(store) => store.alert(d.case.alert_id).await?,
        None => None,
    };
    let case = view::line(
        c,
        s,
        &d.case,
        alert.as_ref(),
        &units,
        now.timestamp_millis(),
    );
    let may = access(&c.ctx.config.recipients, &who.actor, &d.case);
    let state = d.case.state;
    let history: Vec<HistoryLine> = d
        .events
        .iter()
        .map(|e| HistoryLine {
            at: when(e.at),
            kind_zh: kind_zh(&e.kind),
            state_zh: e.state.zh(),
            actor: view::person(c, &e.actor),
            note: e.note.clone(),
            due: e.due_at.map(when).unwrap_or_default(),
        })
        .collect();
    let answers: Vec<AnswerView> = d
        .answers
        .iter()
        .rev()
        .map(|a| AnswerView {
            at: when(a.answered_at),
            by: view::person(c, &a.answered_by),
            late: a.late,
            via_zh: via_zh(&a.via),
            fields: AnswerFields::of(a),
        })
        .collect();
    let form = shown
        .form
        .or_else(|| d.answers.last().map(AnswerFields::of))
        .unwrap_or_default();
    let today = now
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .format("%Y-%m-%d")
        .to_string();
    Ok(c.templates.page(
        shown.status.unwrap_or(StatusCode::OK),
        "case.html",
        minijinja::context! {
            me => Me::of(s), csrf => s.csrf, case => case, history => history,
            answers => answers, form => form, causes => desk.causes_for(&d.case),
            can_answer => may.answer && matches!(state, CaseState::Assigned | CaseState::Returned | CaseState::Answered),
            can_request => may.answer && state == CaseState::Answered,
            can_approve => may.decide && state == CaseState::CloseRequested,
            can_return => may.decide && matches!(state, CaseState::Answered | CaseState::CloseRequested),
            error => shown.error, notice => shown.notice, today => today,
            alert_id => alert.as_ref().filter(|a| s.scope.sees_alert(a)).map(|a| a.id),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::kind_zh;

    /// The kinds `case_event` is written with (src/cases, src/store/chase.rs): each has its
    /// Chinese label on the case page.
    #[test]
    fn every_event_kind_has_a_label() {
        for k in [
            "opened",
            "reopened",
            "assigned",
            "delivered",
            "answered",
            "close_requested",
            "closed",
            "returned",
            "reminded",
            "escalated",
        ] {
            assert_ne!(kind_zh(k), "其他", "{k}");
        }
    }
}
