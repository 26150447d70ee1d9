//! Cases (交办 → 反馈 → 销号): a firing alert of a case rule is assigned to one owner, who
//! answers (反馈) by a deadline counted in working days; the city approves the answer (销号) or
//! returns it (退回); a case whose condition clears closes by itself.
//!
//! States: `assigned` → `answered` → `close_requested` → `closed`, with `returned` (back to the
//! owner with a note and a new due date) from `answered` or `close_requested`. Overdue (超期)
//! and 督办 are flags computed from the due times, not states. [`sync`] opens and closes cases
//! after an evaluation; [`Desk`] is what the console, the 反馈表 and the CLI call, with the
//! actor's scope checked on the server for every read and write.

mod answer;
pub mod config;
mod counts;
mod desk;
mod scope;
mod sync;
#[cfg(test)]
mod tests;

use serde::Serialize;

pub use answer::{AnswerInput, MAX_TEXT};
pub use config::{CasePolicy, CasesConfig, ENTERPRISE_CAUSES, PROJECT_CAUSES, RuleCases};
pub use counts::{UnitCounts, by_unit};
pub use desk::{AuditPage, Desk, ListFilter, Page, Todo};
pub use scope::{Access, access};
pub use sync::{SyncReport, settle_due, sync};

use crate::rules::Severity;

/// Where a case is in its lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseState {
    /// 已交办: waiting for the owner's answer.
    Assigned,
    /// 已反馈.
    Answered,
    /// 申请销号: the owner asks the city to close it.
    CloseRequested,
    /// 已销号: by the city, or by itself when the condition cleared.
    Closed,
    /// 已退回: the city wants more; the owner answers again by a new due date.
    Returned,
}

impl CaseState {
    pub const ALL: [CaseState; 5] = [
        CaseState::Assigned,
        CaseState::Answered,
        CaseState::CloseRequested,
        CaseState::Closed,
        CaseState::Returned,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CaseState::Assigned => "assigned",
            CaseState::Answered => "answered",
            CaseState::CloseRequested => "close_requested",
            CaseState::Closed => "closed",
            CaseState::Returned => "returned",
        }
    }

    pub fn parse(s: &str) -> Option<CaseState> {
        CaseState::ALL.into_iter().find(|c| c.as_str() == s)
    }

    pub fn zh(self) -> &'static str {
        match self {
            CaseState::Assigned => "已交办",
            CaseState::Answered => "已反馈",
            CaseState::CloseRequested => "申请销号",
            CaseState::Closed => "已销号",
            CaseState::Returned => "已退回",
        }
    }

    /// Whether the owner still owes an answer.
    pub fn awaits_answer(self) -> bool {
        matches!(self, CaseState::Assigned | CaseState::Returned)
    }
}

/// A case as stored, with the units its alert counts in (for scope checks).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Case {
    pub id: i64,
    pub alert_id: i64,
    pub rule: String,
    pub subject: String,
    pub subject_name: String,
    pub unit_code: String,
    pub owner: Option<String>,
    pub state: CaseState,
    pub severity: Severity,
    pub period: String,
    pub opened_at: i64,
    pub answer_days: u32,
    pub escalate_days: u32,
    pub delivered_at: Option<i64>,
    pub due_at: Option<i64>,
    pub escalate_at: Option<i64>,
    pub answered_at: Option<i64>,
    /// An answer came after the due time.
    pub late: bool,
    pub closed_at: Option<i64>,
    pub closed_by: Option<String>,
    /// `approved` or `resolved`.
    pub close_reason: Option<String>,
    pub closed_period: Option<String>,
    /// The case this one follows (closed by the city while the condition persisted).
    pub previous_case: Option<i64>,
    pub version: i64,
    pub updated_at: i64,
    /// The units the alert counts in (its district, its zone, the city).
    pub scope: Vec<String>,
}

impl Case {
    /// 超期: an answer is owed and the due time has passed.
    pub fn overdue(&self, now_ms: i64) -> bool {
        self.state.awaits_answer() && self.due_at.is_some_and(|d| now_ms > d)
    }

    /// 督办: still unanswered past the second deadline; the supervisor is told.
    pub fn escalated(&self, now_ms: i64) -> bool {
        self.state.awaits_answer() && self.escalate_at.is_some_and(|d| now_ms > d)
    }
}

/// One transition in a case's history.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CaseEvent {
    pub id: i64,
    pub case_id: i64,
    pub at: i64,
    pub kind: String,
    pub state: CaseState,
    pub actor: String,
    pub client_addr: Option<String>,
    pub note: String,
    pub due_at: Option<i64>,
}

/// An answer (反馈) as stored.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Answer {
    pub id: i64,
    pub case_id: i64,
    pub cause: String,
    /// 情况说明.
    pub situation: String,
    /// 帮扶措施.
    pub measures: String,
    /// Expected month of resumption or completion, `YYYY-MM`.
    pub resume_month: Option<String>,
    /// 需市级协调 (empty: nothing).
    pub coordination: String,
    pub answered_by: String,
    pub answered_at: i64,
    pub late: bool,
    pub via: String,
    pub client_addr: Option<String>,
}

/// A row of the audit log.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub case_id: Option<i64>,
    pub client_addr: Option<String>,
    pub detail: String,
}

/// A case with its history and answers, for its page.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CaseDetail {
    pub case: Case,
    pub events: Vec<CaseEvent>,
    pub answers: Vec<Answer>,
}

/// Who acts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    /// An official, by configured recipient id (`[[recipients]] id`).
    Recipient(String),
    /// Someone at the server's command line.
    Operator(String),
    /// indmon itself (opening, closing when the condition clears).
    System,
    /// A 反馈表 inbox folder (`[[feedback_inbox]]`): answers the cases counted in its unit.
    Inbox { name: String, unit: String },
}

impl Actor {
    /// As written in `actor` columns: the recipient id, `operator:NAME`, or `indmon`.
    pub fn name(&self) -> String {
        match self {
            Actor::Recipient(id) => id.clone(),
            Actor::Operator(n) => format!("operator:{n}"),
            Actor::System => crate::alerts::SYSTEM.to_string(),
            Actor::Inbox { name, .. } => format!("inbox:{name}"),
        }
    }
}

/// An actor and the client address the request came from (none at the command line).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Who {
    pub actor: Actor,
    pub client: Option<String>,
}

impl Who {
    pub fn recipient(id: &str, client: Option<&str>) -> Who {
        Who {
            actor: Actor::Recipient(id.to_string()),
            client: client.map(str::to_string),
        }
    }

    /// The 反馈表 inbox `name` of `unit`.
    pub fn inbox(name: &str, unit: &str) -> Who {
        Who {
            actor: Actor::Inbox {
                name: name.to_string(),
                unit: unit.to_string(),
            },
            client: None,
        }
    }

    pub fn operator(name: &str) -> Who {
        Who {
            actor: Actor::Operator(name.to_string()),
            client: None,
        }
    }
}

/// Why a case action was refused.
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    #[error("没有编号为 {0} 的交办事项 (no case {0})")]
    NotFound(i64),
    /// The actor may not see or do this; the console answers 403 or 404 without details.
    #[error("无权查看或办理该事项 (outside your scope)")]
    Forbidden,
    #[error("该事项当前为“{}”，不能{} (a {} case cannot be {})", .state.zh(), .action_zh, .state.as_str(), .action)]
    WrongState {
        state: CaseState,
        action: &'static str,
        action_zh: &'static str,
    },
    /// The answer was written against an older version of the case (an old 反馈表).
    #[error(
        "该事项已有更新的反馈或处理（版本 {current}，所填为 {given}），请以最新情况重新填写 (stale: the case changed since version {given})"
    )]
    Stale { given: i64, current: i64 },
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error(transparent)]
    Calendar(#[from] crate::calendar::NotCovered),
    #[error(transparent)]
    Store(#[from] anyhow::Error),
}
