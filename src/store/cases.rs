//! Cases, their events and answers, and the audit log as stored (migration 0014). Every write
//! of an official's action is one transaction with its event and its audit row; the state it
//! starts from and the version the official saw are checked in the UPDATE itself, so two
//! concurrent actions cannot both apply.

use sqlx::Row;

use super::{Store, on_pool};
use crate::cases::{Answer, AnswerInput, AuditEntry, Case, CaseEvent, CaseState, UnitCounts};
use crate::rules::Severity;

const CASE_COLUMNS: &str = "c.id, c.alert_id, c.rule, c.subject, c.subject_name, c.unit_code, c.owner, c.state, c.severity, c.period, c.opened_at, c.answer_days, c.escalate_days, c.delivered_at, c.due_at, c.escalate_at, c.answered_at, c.late, c.closed_at, c.closed_by, c.close_reason, c.closed_period, c.previous_case, c.version, c.updated_at,
    (SELECT string_agg(s.unit_code, ',' ORDER BY s.ordinal) FROM alert_scope s WHERE s.alert_id = c.alert_id)";

/// An official's part of the cases: their own, those counted in their units, those about their
/// enterprises (see [`CaseQuery::within`]).
pub type Within = (String, Vec<String>, Vec<String>);

/// Which cases to read.
#[derive(Clone, Debug, Default)]
pub struct CaseQuery {
    pub id: Option<i64>,
    /// Cases counted in this unit.
    pub unit: Option<String>,
    /// Only cases not closed.
    pub open: bool,
    /// Only cases in this state.
    pub state: Option<CaseState>,
    /// Limits the cases to those owned by `.0`, counted in one of `.1`, or about one of `.2`.
    pub within: Option<Within>,
    /// With a time (ms): ordered as an official's list (open first, overdue at that time
    /// first, then by due time); without, by id.
    pub worklist_at: Option<i64>,
    /// Only cases owing an answer past their due time at `worklist_at`.
    pub overdue: bool,
    /// In the worklist order, the cases awaiting 销号 (申请销号) before all others: a city
    /// official's 我的待办, where those are theirs to decide.
    pub requests_first: bool,
    /// A page: (offset, limit).
    pub page: Option<(u64, u64)>,
}

/// A live alert of a case rule, as the sync reads it.
#[derive(Clone, Debug)]
pub struct LiveAlert {
    pub id: i64,
    pub rule: String,
    pub subject: String,
    pub subject_name: String,
    pub unit_code: String,
    pub owner: Option<String>,
    pub severity: Severity,
    pub period: String,
    /// The kind of `unit_code` (`city`, `district`, `zone`) where the unit is registered.
    pub unit_kind: Option<String>,
}

/// The newest case of an alert.
#[derive(Clone, Debug)]
pub struct CaseHead {
    pub id: i64,
    pub alert_id: i64,
    pub state: CaseState,
    pub close_reason: Option<String>,
    pub closed_period: Option<String>,
}

/// A case to open.
#[derive(Clone, Debug)]
pub struct NewCase {
    pub alert: LiveAlert,
    pub owner: Option<String>,
    pub answer_days: u32,
    pub escalate_days: u32,
    pub previous_case: Option<i64>,
}

/// An official's action on a case, written with its event and audit row.
#[derive(Clone, Debug)]
pub struct Transition<'a> {
    pub case_id: i64,
    pub from: &'a [CaseState],
    pub to: CaseState,
    pub expected_version: Option<i64>,
    /// The event's kind: answered, close_requested, closed, returned.
    pub kind: &'a str,
    pub actor: &'a str,
    pub client: Option<&'a str>,
    pub note: &'a str,
    /// A new due time and 督办 time (退回).
    pub due: Option<(i64, i64)>,
    /// An answer and whether it is late.
    pub answer: Option<(&'a AnswerInput, bool)>,
    /// Closing by the city: the alert's period then.
    pub closed_period: Option<&'a str>,
    pub audit_detail: String,
    pub now_ms: i64,
}

fn opt_u32(v: i64) -> u32 {
    u32::try_from(v).unwrap_or(0)
}

fn decode_case<R: Row>(r: &R) -> Result<Case, sqlx::Error>
where
    usize: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    let bad = |what: &str, v: &str| sqlx::Error::Decode(format!("case {what} “{v}”").into());
    let state: String = r.try_get(7)?;
    let severity: String = r.try_get(8)?;
    let scope: Option<String> = r.try_get(25)?;
    Ok(Case {
        id: r.try_get(0)?,
        alert_id: r.try_get(1)?,
        rule: r.try_get(2)?,
        subject: r.try_get(3)?,
        subject_name: r.try_get(4)?,
        unit_code: r.try_get(5)?,
        owner: r.try_get(6)?,
        state: CaseState::parse(&state).ok_or_else(|| bad("state", &state))?,
        severity: Severity::parse(&severity).ok_or_else(|| bad("severity", &severity))?,
        period: r.try_get(9)?,
        opened_at: r.try_get(10)?,
        answer_days: opt_u32(r.try_get(11)?),
        escalate_days: opt_u32(r.try_get(12)?),
        delivered_at: r.try_get(13)?,
        due_at: r.try_get(14)?,
        escalate_at: r.try_get(15)?,
        answered_at: r.try_get(16)?,
        late: r.try_get::<i64, _>(17)? != 0,
        closed_at: r.try_get(18)?,
        closed_by: r.try_get(19)?,
        close_reason: r.try_get(20)?,
        closed_period: r.try_get(21)?,
        previous_case: r.try_get(22)?,
        version: r.try_get(23)?,
        updated_at: r.try_get(24)?,
        scope: scope
            .unwrap_or_default()
            .split(',')
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
    })
}

/// The columns [`decode_answer`] reads, in its order.
pub(super) const ANSWER_COLUMNS: &str = "id, case_id, cause, situation, measures, resume_month, coordination, answered_by, answered_at, late, via, client_addr";

pub(super) fn decode_answer<R: Row>(r: &R) -> Result<Answer, sqlx::Error>
where
    usize: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<String>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    Ok(Answer {
        id: r.try_get(0)?,
        case_id: r.try_get(1)?,
        cause: r.try_get(2)?,
        situation: r.try_get(3)?,
        measures: r.try_get(4)?,
        resume_month: r.try_get(5)?,
        coordination: r.try_get(6)?,
        answered_by: r.try_get(7)?,
        answered_at: r.try_get(8)?,
        late: r.try_get::<i64, _>(9)? != 0,
        via: r.try_get(10)?,
        client_addr: r.try_get(11)?,
    })
}

const AUDIT_COLUMNS: &str = "id, at, actor, action, case_id, client_addr, detail";

fn decode_audit<R: Row>(r: &R) -> Result<AuditEntry, sqlx::Error>
where
    usize: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    Ok(AuditEntry {
        id: r.try_get(0)?,
        at: r.try_get(1)?,
        actor: r.try_get(2)?,
        action: r.try_get(3)?,
        case_id: r.try_get(4)?,
        client_addr: r.try_get(5)?,
        detail: r.try_get(6)?,
    })
}

/// The sums of [`UnitCounts`] at `now` (ms), in its field order, by the rules of
/// [`crate::cases::by_unit`]: overdue and 督办 only while an answer is owed, past the time (a
/// case not dated yet is neither); answered on time or late once answered.
fn counted_sql(now: i64) -> String {
    let owing = "c.state IN ('assigned', 'returned')";
    [
        "c.state <> 'closed'".to_string(),
        format!("{owing} AND c.due_at < {now}"),
        format!("{owing} AND c.escalate_at < {now}"),
        "c.answered_at IS NOT NULL AND c.late = 0".to_string(),
        "c.answered_at IS NOT NULL AND c.late <> 0".to_string(),
        "c.state = 'close_requested'".to_string(),
        "c.state = 'closed'".to_string(),
    ]
    .map(|when| format!("SUM(CASE WHEN {when} THEN 1 ELSE 0 END)"))
    .join(", ")
}

fn decode_counts<R: Row>(r: &R) -> Result<UnitCounts, sqlx::Error>
where
    usize: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    let n = |i: usize| -> Result<usize, sqlx::Error> {
        Ok(usize::try_from(r.try_get::<i64, _>(i)?).unwrap_or(0))
    };
    Ok(UnitCounts {
        unit: r.try_get(0)?,
        open: n(1)?,
        overdue: n(2)?,
        escalated: n(3)?,
        answered_on_time: n(4)?,
        answered_late: n(5)?,
        close_requested: n(6)?,
        closed: n(7)?,
    })
}

/// `$n, $n+1, …` for `count` more binds after `binds`.
fn placeholders(binds: &mut Vec<String>, values: &[String]) -> String {
    values
        .iter()
        .map(|v| {
            binds.push(v.clone());
            format!("${}", binds.len())
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The WHERE clause of `q` and its binds (every bind is text; numbers are formatted in).
pub(super) fn query_sql(q: &CaseQuery) -> (String, Vec<String>) {
    let (filter, binds) = filter_sql(q);
    let mut sql = format!("SELECT {CASE_COLUMNS} FROM alert_case c WHERE {filter}");
    match q.worklist_at {
        Some(now) => sql.push_str(&format!(
            " ORDER BY {}CASE WHEN c.state = 'closed' THEN 1 ELSE 0 END,
                       CASE WHEN c.state IN ('assigned', 'returned') AND c.due_at < {now} THEN 0 ELSE 1 END,
                       COALESCE(c.due_at, {}), c.id",
            if q.requests_first {
                "CASE WHEN c.state = 'close_requested' THEN 0 ELSE 1 END, "
            } else {
                ""
            },
            i64::MAX
        )),
        None => sql.push_str(" ORDER BY c.id"),
    }
    if let Some((offset, limit)) = q.page {
        sql.push_str(&format!(" LIMIT {limit} OFFSET {offset}"));
    }
    (sql, binds)
}

/// The ids of the cases within `(owner, units, subjects)` (only those not closed with `open`):
/// a UNION of one indexed read per part — by `alert_case_owner`, by `alert_scope_unit` then
/// the case of each alert, by `alert_case_subject` — rather than an OR across the columns,
/// which made both backends read every case for each official's list.
fn within_ids((owner, units, subjects): &Within, open: bool, binds: &mut Vec<String>) -> String {
    let open = |t: &str| {
        if open {
            format!(" AND {t}.state <> 'closed'")
        } else {
            String::new()
        }
    };
    binds.push(owner.clone());
    let mut ids = vec![format!(
        "SELECT o.id FROM alert_case o WHERE o.owner = ${}{}",
        binds.len(),
        open("o")
    )];
    if !units.is_empty() {
        let list = placeholders(binds, units);
        ids.push(format!(
            "SELECT u.id FROM alert_scope s JOIN alert_case u ON u.alert_id = s.alert_id WHERE s.unit_code IN ({list}){}",
            open("u")
        ));
    }
    if !subjects.is_empty() {
        let list = placeholders(binds, subjects);
        ids.push(format!(
            "SELECT e.id FROM alert_case e WHERE e.subject IN ({list}){}",
            open("e")
        ));
    }
    ids.join(" UNION ")
}

fn filter_sql(q: &CaseQuery) -> (String, Vec<String>) {
    let mut binds = Vec::new();
    let mut sql = "1 = 1".to_string();
    if q.overdue {
        let now = q.worklist_at.unwrap_or(i64::MAX);
        sql.push_str(&format!(
            " AND c.state IN ('assigned', 'returned') AND c.due_at < {now}"
        ));
    }
    if let Some(id) = q.id {
        sql.push_str(&format!(" AND c.id = {id}"));
    }
    if q.open {
        sql.push_str(" AND c.state <> 'closed'");
    }
    if let Some(state) = q.state {
        sql.push_str(&format!(" AND c.state = '{}'", state.as_str()));
    }
    if let Some(u) = &q.unit {
        binds.push(u.clone());
        sql.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM alert_scope s WHERE s.alert_id = c.alert_id AND s.unit_code = ${})",
            binds.len()
        ));
    }
    if let Some(within) = &q.within {
        let ids = within_ids(within, q.open, &mut binds);
        sql.push_str(&format!(" AND c.id IN ({ids})"));
    }
    (sql, binds)
}

impl Store {
    /// Cases matching `q`, in its order.
    pub async fn cases(&self, q: &CaseQuery) -> anyhow::Result<Vec<Case>> {
        let (sql, binds) = query_sql(q);
        Ok(on_pool!(self, p => {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()));
            for b in &binds {
                query = query.bind(b);
            }
            query.fetch_all(p).await?.iter().map(decode_case).collect::<Result<Vec<_>, sqlx::Error>>()?
        }))
    }

    /// How many cases match `q` (its page aside).
    pub async fn count_cases(&self, q: &CaseQuery) -> anyhow::Result<u64> {
        let (filter, binds) = filter_sql(q);
        let sql = format!("SELECT COUNT(*) FROM alert_case c WHERE {filter}");
        let n: i64 = on_pool!(self, p => {
            let mut query = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.as_str()));
            for b in &binds {
                query = query.bind(b);
            }
            query.fetch_one(p).await?
        });
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// How many cases match `q` (its page aside), how many of them owe an answer past their
    /// due time at `q.worklist_at` (超期) and how many await 销号, in one pass.
    pub async fn count_worklist(&self, q: &CaseQuery) -> anyhow::Result<(u64, u64, u64)> {
        let (filter, binds) = filter_sql(q);
        let now = q.worklist_at.unwrap_or(i64::MAX);
        let sum = |when: &str| format!("COALESCE(SUM(CASE WHEN {when} THEN 1 ELSE 0 END), 0)");
        let sql = format!(
            "SELECT COUNT(*), {}, {} FROM alert_case c WHERE {filter}",
            sum(&format!(
                "c.state IN ('assigned', 'returned') AND c.due_at < {now}"
            )),
            sum("c.state = 'close_requested'")
        );
        let (n, overdue, requested): (i64, i64, i64) = on_pool!(self, p => {
            let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()));
            for b in &binds {
                query = query.bind(b);
            }
            query.fetch_one(p).await?
        });
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        Ok((count(n), count(overdue), count(requested)))
    }

    /// One case by id.
    pub async fn case(&self, id: i64) -> anyhow::Result<Option<Case>> {
        let q = CaseQuery {
            id: Some(id),
            ..CaseQuery::default()
        };
        Ok(self.cases(&q).await?.into_iter().next())
    }

    /// A case's history, oldest first.
    pub async fn case_events(&self, case_id: i64) -> anyhow::Result<Vec<CaseEvent>> {
        let sql = "SELECT id, case_id, at, kind, state, actor, client_addr, note, due_at FROM case_event WHERE case_id = $1 ORDER BY id";
        Ok(
            on_pool!(self, p => sqlx::query(sql).bind(case_id).fetch_all(p).await?.iter().map(|r| {
            let state: String = r.try_get(4)?;
            Ok(CaseEvent {
                id: r.try_get(0)?,
                case_id: r.try_get(1)?,
                at: r.try_get(2)?,
                kind: r.try_get(3)?,
                state: CaseState::parse(&state).ok_or_else(|| sqlx::Error::Decode(format!("case state {state}").into()))?,
                actor: r.try_get(5)?,
                client_addr: r.try_get(6)?,
                note: r.try_get(7)?,
                due_at: r.try_get(8)?,
            })
        }).collect::<Result<Vec<_>, sqlx::Error>>()?),
        )
    }

    /// A case's answers, oldest first.
    pub async fn case_answers(&self, case_id: i64) -> anyhow::Result<Vec<Answer>> {
        let sql =
            format!("SELECT {ANSWER_COLUMNS} FROM case_answer WHERE case_id = $1 ORDER BY id");
        let sql = sqlx::AssertSqlSafe(sql);
        Ok(
            on_pool!(self, p => sqlx::query(sql).bind(case_id).fetch_all(p).await?.iter()
                .map(decode_answer).collect::<Result<Vec<_>, sqlx::Error>>()?),
        )
    }

    /// The audit log, oldest first; `case_id` limits it to one case.
    pub async fn audit_log(&self, case_id: Option<i64>) -> anyhow::Result<Vec<AuditEntry>> {
        let sql = match case_id {
            Some(id) => {
                format!("SELECT {AUDIT_COLUMNS} FROM audit WHERE case_id = {id} ORDER BY id")
            }
            None => format!("SELECT {AUDIT_COLUMNS} FROM audit ORDER BY id"),
        };
        Ok(
            on_pool!(self, p => sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .fetch_all(p).await?.iter().map(decode_audit).collect::<Result<Vec<_>, sqlx::Error>>()?),
        )
    }

    /// One page `(offset, limit)` of the audit log, newest first, and how many lines it has.
    pub async fn audit_page(&self, page: (u64, u64)) -> anyhow::Result<(Vec<AuditEntry>, u64)> {
        let sql = format!("SELECT {AUDIT_COLUMNS} FROM audit ORDER BY id DESC LIMIT $1 OFFSET $2");
        let big = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        let (offset, limit) = (big(page.0), big(page.1));
        let (lines, total): (Vec<AuditEntry>, i64) = on_pool!(self, p => {
            let lines = sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(limit).bind(offset)
                .fetch_all(p).await?.iter().map(decode_audit).collect::<Result<Vec<_>, sqlx::Error>>()?;
            (lines, sqlx::query_scalar("SELECT COUNT(*) FROM audit").fetch_one(p).await?)
        });
        Ok((lines, u64::try_from(total).unwrap_or(0)))
    }

    /// The cases matching `q` counted by the unit they report under at `now_ms`, as
    /// [`crate::cases::by_unit`] counts a list of them, units in code order; one grouped query.
    pub async fn case_counts(&self, q: &CaseQuery, now_ms: i64) -> anyhow::Result<Vec<UnitCounts>> {
        let (filter, binds) = filter_sql(q);
        let sql = format!(
            "SELECT c.unit_code, {} FROM alert_case c WHERE {filter} GROUP BY c.unit_code",
            counted_sql(now_ms)
        );
        let mut counts = on_pool!(self, p => {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()));
            for b in &binds {
                query = query.bind(b);
            }
            query.fetch_all(p).await?.iter().map(decode_counts).collect::<Result<Vec<_>, sqlx::Error>>()?
        });
        // By bytes, as `by_unit`'s map orders them, whatever the database's collation.
        counts.sort_by(|a, b| a.unit.cmp(&b.unit));
        Ok(counts)
    }

    /// Writes an official's action: the guarded UPDATE, the answer if any, the event and the
    /// audit row, in one transaction. `false` when the case was not in a `from` state or had
    /// another version (nothing written).
    pub async fn case_transition(&self, t: &Transition<'_>) -> anyhow::Result<bool> {
        let states: Vec<String> = t.from.iter().map(|s| format!("'{}'", s.as_str())).collect();
        // Every placeholder is used whatever the action, so that one text serves both backends.
        let mut sql = format!(
            "UPDATE alert_case SET state = $1, version = version + 1, updated_at = $2,
               due_at = CASE WHEN $3 > 0 THEN $3 ELSE due_at END,
               escalate_at = CASE WHEN $4 > 0 THEN $4 ELSE escalate_at END,
               answered_at = CASE WHEN $8 > 0 THEN $2 ELSE answered_at END,
               late = CASE WHEN $9 > 0 THEN 1 ELSE late END,
               closed_at = CASE WHEN $6 <> '' THEN $2 ELSE closed_at END,
               closed_by = CASE WHEN $6 <> '' THEN $5 ELSE closed_by END,
               close_reason = CASE WHEN $6 <> '' THEN 'approved' ELSE close_reason END,
               closed_period = CASE WHEN $6 <> '' THEN $6 ELSE closed_period END
             WHERE id = $7 AND state IN ({})",
            states.join(", ")
        );
        if let Some(v) = t.expected_version {
            sql.push_str(&format!(" AND version = {v}"));
        }
        let answered = i64::from(t.answer.is_some());
        let late = i64::from(t.answer.is_some_and(|(_, late)| late));
        let (due, escalate) = t.due.unwrap_or((0, 0));
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            let n = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(t.to.as_str()).bind(t.now_ms).bind(due).bind(escalate)
                .bind(t.actor).bind(t.closed_period.unwrap_or("")).bind(t.case_id)
                .bind(answered).bind(late)
                .execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                return Ok(false);
            }
            if let Some((a, late)) = t.answer {
                sqlx::query("INSERT INTO case_answer (case_id, cause, situation, measures, resume_month, coordination, answered_by, answered_at, late, via, client_addr) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)")
                    .bind(t.case_id).bind(&a.cause).bind(&a.situation).bind(&a.measures).bind(&a.resume_month)
                    .bind(&a.coordination).bind(t.actor).bind(t.now_ms).bind(i64::from(late)).bind(&a.via).bind(t.client)
                    .execute(&mut *tx).await?;
            }
            sqlx::query("INSERT INTO case_event (case_id, at, kind, state, actor, client_addr, note, due_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
                .bind(t.case_id).bind(t.now_ms).bind(t.kind).bind(t.to.as_str()).bind(t.actor).bind(t.client)
                .bind(t.note).bind(t.due.map(|d| d.0))
                .execute(&mut *tx).await?;
            sqlx::query("INSERT INTO audit (at, actor, action, case_id, client_addr, detail) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(t.now_ms).bind(t.actor).bind(t.kind).bind(t.case_id).bind(t.client).bind(&t.audit_detail)
                .execute(&mut *tx).await?;
            tx.commit().await?;
        });
        Ok(true)
    }

    /// Records a read or another action with no case change in the audit log.
    pub async fn audit(
        &self,
        actor: &str,
        action: &str,
        case_id: Option<i64>,
        client: Option<&str>,
        detail: &str,
        now_ms: i64,
    ) -> anyhow::Result<()> {
        let sql = "INSERT INTO audit (at, actor, action, case_id, client_addr, detail) VALUES ($1, $2, $3, $4, $5, $6)";
        on_pool!(self, p => sqlx::query(sql).bind(now_ms).bind(actor).bind(action).bind(case_id).bind(client).bind(detail).execute(p).await.map(|_| ())?);
        Ok(())
    }
}
