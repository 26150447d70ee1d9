//! The desk: what the console, the 反馈表 and the command line call. Every function takes the
//! actor and checks the actor's scope here, on the server; every write is one transaction with
//! its event and its audit row.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Asia::Shanghai;
use serde::Serialize;

use super::config::CasesConfig;
use super::scope::{ListScope, access, list_scope};
use super::{
    Actor, AnswerInput, AuditEntry, Case, CaseDetail, CaseError, CaseState, UnitCounts, Who,
};
use crate::calendar::{Calendar, at_due_hour};
use crate::config::Config;
use crate::notify::{RecipientConfig, Role};
use crate::rules::Rule;
use crate::store::Store;
use crate::store::cases::{CaseQuery, Transition, Within};

/// Which of an actor's cases to list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListFilter {
    /// Only cases counted in this unit.
    pub unit: Option<String>,
    /// Only cases not closed.
    pub open: bool,
    /// Only cases owing an answer past their due time (超期).
    pub overdue: bool,
    /// Only cases in this state (the city's 待销号: `close_requested`).
    pub state: Option<CaseState>,
    /// (offset, limit).
    pub page: Option<(u64, u64)>,
}

/// A page of cases and how many match in all.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Page {
    pub cases: Vec<Case>,
    pub total: u64,
}

/// 我的待办: a page of open cases, how many are open in all and how many of them overdue.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Todo {
    pub page: Page,
    pub overdue: u64,
    /// Answers awaiting 销号 among them.
    pub close_requested: u64,
}

/// A page of the audit log, newest first, and how many lines it has in all.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    pub total: u64,
}

/// The cases of one configuration and store.
#[derive(Clone, Debug)]
pub struct Desk {
    /// Every write, and the reads of an action (the case it checks, the case it returns).
    store: Store,
    /// The reads of the lists and pages ([`Desk::reading_from`]); `store` unless set.
    reads: Store,
    calendar: Arc<Calendar>,
    cases: CasesConfig,
    recipients: Vec<RecipientConfig>,
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

impl Desk {
    /// A desk for `config`; fails when `[calendar] extra` cannot be read.
    pub fn new(store: Store, config: &Config) -> Result<Desk, CaseError> {
        let calendar = config.calendar.load().map_err(|problems| {
            let shown: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
            CaseError::Invalid {
                field: "calendar.extra",
                message: shown.join("; "),
            }
        })?;
        Ok(Desk::with(
            store,
            config.cases.clone(),
            config.recipients.clone(),
            Arc::new(calendar),
        ))
    }

    pub fn with(
        store: Store,
        cases: CasesConfig,
        recipients: Vec<RecipientConfig>,
        calendar: Arc<Calendar>,
    ) -> Desk {
        Desk {
            reads: store.clone(),
            store,
            calendar,
            cases,
            recipients,
        }
    }

    /// The desk reading its lists and pages from `reads` (the console's read pool,
    /// [`Store::open_reads`]); its writes stay on the store it was made with.
    pub fn reading_from(self, reads: Store) -> Desk {
        Desk { reads, ..self }
    }

    pub fn calendar(&self) -> &Calendar {
        &self.calendar
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The store the lists and pages read from.
    pub fn reads(&self) -> &Store {
        &self.reads
    }

    /// Dates the delivered cases that have no due time yet, before a list or a page shows them.
    /// Looked for on the read pool (one indexed probe, and mostly none), written on the store;
    /// the reads that follow begin after that commit and so see it.
    async fn settle(&self, now: DateTime<Utc>) -> anyhow::Result<()> {
        if self.reads.any_undated_case().await? {
            super::settle_due(&self.store, &self.calendar, now).await?;
        }
        Ok(())
    }

    /// The officials whose scopes the desk checks.
    pub fn recipients(&self) -> &[RecipientConfig] {
        &self.recipients
    }

    /// `[cases]` as this desk applies it (both cause lists, for the 反馈表's drop-downs).
    pub fn cases_config(&self) -> &CasesConfig {
        &self.cases
    }

    /// The causes an answer to `case` chooses from.
    pub fn causes_for(&self, case: &Case) -> &[String] {
        match case.rule.parse::<Rule>() {
            Ok(r) => self.cases.causes_for(r),
            Err(_) => &self.cases.causes,
        }
    }

    /// Opens, closes and dates cases from the alerts as they stand (after an evaluation).
    pub async fn sync(&self, now: DateTime<Utc>) -> anyhow::Result<super::SyncReport> {
        super::sync(
            &self.store,
            &self.cases,
            &self.recipients,
            &self.calendar,
            now,
        )
        .await
    }

    /// The cases `who` may see, open ones first, overdue first among them, then by due time.
    pub async fn list_for(&self, who: &Who, now: DateTime<Utc>) -> Result<Vec<Case>, CaseError> {
        self.list(who, None, false, now).await
    }

    /// As [`Desk::list_for`], limited to one unit's cases or to open ones.
    pub async fn list(
        &self,
        who: &Who,
        unit: Option<&str>,
        open: bool,
        now: DateTime<Utc>,
    ) -> Result<Vec<Case>, CaseError> {
        let filter = ListFilter {
            unit: unit.map(str::to_string),
            open,
            ..ListFilter::default()
        };
        Ok(self.page(who, &filter, now).await?.cases)
    }

    /// One page of the cases `who` may see, in the order of [`Desk::list_for`], with how many
    /// there are in all.
    pub async fn page(
        &self,
        who: &Who,
        filter: &ListFilter,
        now: DateTime<Utc>,
    ) -> Result<Page, CaseError> {
        self.settle(now).await?;
        let Some(within) = self.within(who) else {
            return Ok(Page::default());
        };
        let q = CaseQuery {
            unit: filter.unit.clone(),
            open: filter.open,
            overdue: filter.overdue,
            state: filter.state,
            within,
            worklist_at: Some(ms(now)),
            page: filter.page,
            ..CaseQuery::default()
        };
        let total = match filter.page {
            Some(_) => self.reads.count_cases(&q).await?,
            None => 0,
        };
        // The query is limited to the actor's scope already; the check is kept per case.
        let cases: Vec<Case> = self
            .reads
            .cases(&q)
            .await?
            .into_iter()
            .filter(|c| access(&self.recipients, &who.actor, c).see)
            .collect();
        let total = if filter.page.is_some() {
            total
        } else {
            cases.len() as u64
        };
        Ok(Page { cases, total })
    }

    /// 我的待办: one page `(offset, limit)` of the open cases `who` may see, in the order of
    /// [`Desk::list_for`] — for a city official the answers awaiting their 销号 first — with
    /// how many are open, overdue and awaiting 销号 (counted in one pass; the due times settled
    /// once).
    pub async fn todo(
        &self,
        who: &Who,
        page: (u64, u64),
        now: DateTime<Utc>,
    ) -> Result<Todo, CaseError> {
        self.settle(now).await?;
        let Some(within) = self.within(who) else {
            return Ok(Todo::default());
        };
        let q = CaseQuery {
            open: true,
            within,
            worklist_at: Some(ms(now)),
            requests_first: self.decides(who),
            page: Some(page),
            ..CaseQuery::default()
        };
        let (total, overdue, close_requested) = self.reads.count_worklist(&q).await?;
        let cases = self
            .reads
            .cases(&q)
            .await?
            .into_iter()
            .filter(|c| access(&self.recipients, &who.actor, c).see)
            .collect();
        Ok(Todo {
            page: Page { cases, total },
            overdue,
            close_requested,
        })
    }

    /// Whether `who` is a city official (who approves or returns the answers).
    fn decides(&self, who: &Who) -> bool {
        matches!(&who.actor, Actor::Recipient(id)
            if self.recipients.iter().any(|r| &r.id == id && r.role == Role::City))
    }

    /// The cases `who` may see (only those not closed with `open`) counted by unit at `now`,
    /// as [`super::by_unit`] counts the list of them, by one grouped query.
    pub async fn unit_counts(
        &self,
        who: &Who,
        open: bool,
        now: DateTime<Utc>,
    ) -> Result<Vec<UnitCounts>, CaseError> {
        self.settle(now).await?;
        let Some(within) = self.within(who) else {
            return Ok(Vec::new());
        };
        let q = CaseQuery {
            open,
            within,
            ..CaseQuery::default()
        };
        Ok(self.reads.case_counts(&q, ms(now)).await?)
    }

    /// The limit of `who`'s lists as [`CaseQuery::within`] puts it; `None` when they see nothing.
    fn within(&self, who: &Who) -> Option<Option<Within>> {
        match list_scope(&self.recipients, &who.actor) {
            ListScope::Nothing => None,
            ListScope::Everything => Some(None),
            ListScope::Within {
                owner,
                units,
                subjects,
            } => Some(Some((owner, units, subjects))),
        }
    }

    /// A case with its history and answers, if `who` may see it.
    pub async fn get(
        &self,
        who: &Who,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<CaseDetail, CaseError> {
        self.settle(now).await?;
        let case = self.seen_in(&self.reads, who, id).await?;
        let events = self.reads.case_events(id).await?;
        let answers = self.reads.case_answers(id).await?;
        Ok(CaseDetail {
            case,
            events,
            answers,
        })
    }

    /// The case as the store that writes it has it, if `who` may see it (an action's check).
    async fn visible(&self, who: &Who, id: i64) -> Result<Case, CaseError> {
        self.seen_in(&self.store, who, id).await
    }

    async fn seen_in(&self, store: &Store, who: &Who, id: i64) -> Result<Case, CaseError> {
        let case = store.case(id).await?.ok_or(CaseError::NotFound(id))?;
        if !access(&self.recipients, &who.actor, &case).see {
            return Err(CaseError::Forbidden);
        }
        Ok(case)
    }

    /// 反馈: the owner answers (again, while the city has not decided). Late when the due
    /// time had passed while an answer was owed.
    pub async fn answer(
        &self,
        who: &Who,
        id: i64,
        input: &AnswerInput,
        now: DateTime<Utc>,
    ) -> Result<Case, CaseError> {
        let case = self.visible(who, id).await?;
        if !access(&self.recipients, &who.actor, &case).answer {
            return Err(CaseError::Forbidden);
        }
        let actor = who.actor.name();
        let input = super::answer::check(self.causes_for(&case), input)?;
        let now_ms = ms(now);
        let late = case.overdue(now_ms);
        let detail = format!(
            "原因 cause: {}{}",
            input.cause,
            if late { "（超期反馈 late）" } else { "" }
        );
        let t = Transition {
            answer: Some((&input, late)),
            expected_version: input.expected_version,
            audit_detail: detail,
            ..self.transition(who, &actor, &case, "answered", CaseState::Answered, now_ms)
        };
        self.apply(
            &t,
            &[
                CaseState::Assigned,
                CaseState::Returned,
                CaseState::Answered,
            ],
            "answer",
            "反馈",
        )
        .await
    }

    /// 申请销号: the owner asks the city to close an answered case.
    pub async fn request_close(
        &self,
        who: &Who,
        id: i64,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<Case, CaseError> {
        let case = self.visible(who, id).await?;
        if !access(&self.recipients, &who.actor, &case).answer {
            return Err(CaseError::Forbidden);
        }
        let note = super::answer::checked_text("note", note, false)?;
        let actor = who.actor.name();
        let t = Transition {
            note: &note,
            audit_detail: note.clone(),
            ..self.transition(
                who,
                &actor,
                &case,
                "close_requested",
                CaseState::CloseRequested,
                ms(now),
            )
        };
        self.apply(&t, &[CaseState::Answered], "request_close", "申请销号")
            .await
    }

    /// 销号: a city official approves the request.
    pub async fn approve_close(
        &self,
        who: &Who,
        id: i64,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<Case, CaseError> {
        let case = self.visible(who, id).await?;
        if !access(&self.recipients, &who.actor, &case).decide {
            return Err(CaseError::Forbidden);
        }
        let note = super::answer::checked_text("note", note, false)?;
        let actor = who.actor.name();
        let period = match self.store.alert(case.alert_id).await? {
            Some(a) => a.period.to_string(),
            None => case.period.clone(),
        };
        let t = Transition {
            note: &note,
            closed_period: Some(period.as_str()),
            audit_detail: note.clone(),
            ..self.transition(who, &actor, &case, "closed", CaseState::Closed, ms(now))
        };
        self.apply(&t, &[CaseState::CloseRequested], "approve_close", "销号")
            .await
    }

    /// 退回: a city official sends the case back with a note; it is due again at 18:00 on
    /// `new_due` (Shanghai), or `answer_days` working days from today.
    pub async fn return_case(
        &self,
        who: &Who,
        id: i64,
        note: &str,
        new_due: Option<NaiveDate>,
        now: DateTime<Utc>,
    ) -> Result<Case, CaseError> {
        let case = self.visible(who, id).await?;
        if !access(&self.recipients, &who.actor, &case).decide {
            return Err(CaseError::Forbidden);
        }
        let note = super::answer::checked_text("note", note, true)?;
        let actor = who.actor.name();
        let today = now.with_timezone(&Shanghai).date_naive();
        let due_day = match new_due {
            Some(d) if d < today => {
                return Err(CaseError::Invalid {
                    field: "due",
                    message: format!("新的反馈期限 {d} 早于今天 (the new due date is in the past)"),
                });
            }
            Some(d) => d,
            None => self.calendar.add_workdays(today, case.answer_days)?,
        };
        let escalate_day = self.calendar.add_workdays(due_day, case.escalate_days)?;
        let due = (ms(at_due_hour(due_day)), ms(at_due_hour(escalate_day)));
        let t = Transition {
            note: &note,
            due: Some(due),
            audit_detail: format!("{note}（新期限 due {due_day}）"),
            ..self.transition(who, &actor, &case, "returned", CaseState::Returned, ms(now))
        };
        self.apply(
            &t,
            &[CaseState::Answered, CaseState::CloseRequested],
            "return",
            "退回",
        )
        .await
    }

    /// The audit log (city officials and operators), all of it or one case's.
    pub async fn audit_log(
        &self,
        who: &Who,
        case_id: Option<i64>,
    ) -> Result<Vec<AuditEntry>, CaseError> {
        self.may_audit(who)?;
        Ok(self.reads.audit_log(case_id).await?)
    }

    /// One page `(offset, limit)` of the audit log, newest first, with how many lines it has
    /// (city officials and operators).
    pub async fn audit_page(&self, who: &Who, page: (u64, u64)) -> Result<AuditPage, CaseError> {
        self.may_audit(who)?;
        let (entries, total) = self.reads.audit_page(page).await?;
        Ok(AuditPage { entries, total })
    }

    /// Only city officials and the command line read the audit log.
    fn may_audit(&self, who: &Who) -> Result<(), CaseError> {
        let allowed = match &who.actor {
            Actor::Operator(_) | Actor::System => true,
            Actor::Inbox { .. } => false,
            Actor::Recipient(_) => self.decides(who),
        };
        if allowed {
            Ok(())
        } else {
            Err(CaseError::Forbidden)
        }
    }

    fn transition<'a>(
        &self,
        who: &'a Who,
        actor: &'a str,
        case: &Case,
        kind: &'a str,
        to: CaseState,
        now_ms: i64,
    ) -> Transition<'a> {
        Transition {
            case_id: case.id,
            from: &[],
            to,
            expected_version: None,
            kind,
            actor,
            client: who.client.as_deref(),
            note: "",
            due: None,
            answer: None,
            closed_period: None,
            audit_detail: String::new(),
            now_ms,
        }
    }

    /// Writes `t` from one of `from`; explains a refusal from the case as it is now.
    async fn apply(
        &self,
        t: &Transition<'_>,
        from: &[CaseState],
        action: &'static str,
        action_zh: &'static str,
    ) -> Result<Case, CaseError> {
        let t = Transition { from, ..t.clone() };
        let applied = self.store.case_transition(&t).await?;
        let case = self
            .store
            .case(t.case_id)
            .await?
            .ok_or(CaseError::NotFound(t.case_id))?;
        if applied {
            return Ok(case);
        }
        match t.expected_version {
            Some(v) if v != case.version && from.contains(&case.state) => Err(CaseError::Stale {
                given: v,
                current: case.version,
            }),
            _ => Err(CaseError::WrongState {
                state: case.state,
                action,
                action_zh,
            }),
        }
    }
}
