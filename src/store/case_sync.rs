//! What `cases::sync` reads and writes after an evaluation: live alerts of case rules, the
//! newest case of each alert, cases to open, cases to close because their alert resolved, and
//! the due times of cases whose first digest was delivered.

use std::collections::HashMap;

use sqlx::Row;

use super::cases::{CaseHead, LiveAlert, NewCase};
use super::{Store, on_pool};
use crate::cases::CaseState;
use crate::rules::Severity;

/// An open case whose alert has resolved: the case, who resolved the alert, its period.
#[derive(Clone, Debug)]
pub struct ResolvedCase {
    pub case_id: i64,
    pub resolved_by: String,
    pub period: String,
}

/// A case whose first digest was delivered and whose due time is not set yet.
#[derive(Clone, Copy, Debug)]
pub struct Undated {
    pub case_id: i64,
    pub delivered_at: i64,
    pub answer_days: u32,
    pub escalate_days: u32,
}

fn rule_list(rules: &[&str]) -> String {
    // Rule names are the code's own constants (lower_snake_case), never user input.
    rules
        .iter()
        .map(|r| format!("'{r}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The cases delivered and not yet dated: read through index `alert_case_undated` (migration
/// 0022), whose condition this must keep, since every console page runs it.
pub(super) const UNDATED: &str =
    "SELECT id, delivered_at, answer_days, escalate_days FROM alert_case
     WHERE due_at IS NULL AND delivered_at IS NOT NULL AND state <> 'closed' ORDER BY id";

impl Store {
    /// Alerts not resolved of the given rules.
    pub async fn live_alerts_of(&self, rules: &[&str]) -> anyhow::Result<Vec<LiveAlert>> {
        if rules.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT id, rule, subject, subject_name, unit_code, owner, severity, period,
               (SELECT u.kind FROM unit u WHERE u.code = alert.unit_code) FROM alert WHERE state <> 'resolved' AND rule IN ({}) ORDER BY id",
            rule_list(rules)
        );
        Ok(
            on_pool!(self, p => sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).fetch_all(p).await?.iter().map(|r| {
            let severity: String = r.try_get(6)?;
            Ok(LiveAlert {
                id: r.try_get(0)?,
                rule: r.try_get(1)?,
                subject: r.try_get(2)?,
                subject_name: r.try_get(3)?,
                unit_code: r.try_get(4)?,
                owner: r.try_get(5)?,
                severity: Severity::parse(&severity).unwrap_or(Severity::Blue),
                period: r.try_get(7)?,
                unit_kind: r.try_get(8)?,
            })
        }).collect::<Result<Vec<_>, sqlx::Error>>()?),
        )
    }

    /// The newest case of every alert that has one.
    pub async fn newest_cases(&self) -> anyhow::Result<Vec<CaseHead>> {
        let sql = "SELECT id, alert_id, state, close_reason, closed_period FROM alert_case
                   WHERE id IN (SELECT MAX(id) FROM alert_case GROUP BY alert_id)";
        Ok(
            on_pool!(self, p => sqlx::query(sql).fetch_all(p).await?.iter().map(|r| {
            let state: String = r.try_get(2)?;
            Ok(CaseHead {
                id: r.try_get(0)?,
                alert_id: r.try_get(1)?,
                state: CaseState::parse(&state).ok_or_else(|| sqlx::Error::Decode(format!("case state {state}").into()))?,
                close_reason: r.try_get(3)?,
                closed_period: r.try_get(4)?,
            })
        }).collect::<Result<Vec<_>, sqlx::Error>>()?),
        )
    }

    /// Opens cases with their first event, in one transaction, a thousand rows a statement; an
    /// alert that has an open case already is left alone (the unique index decides). A case of
    /// an alert some digest has told already counts as delivered now. Returns the ids opened.
    pub async fn open_cases(&self, new: &[NewCase], now_ms: i64) -> anyhow::Result<Vec<i64>> {
        const BATCH: usize = 1000;
        let by_alert: HashMap<i64, &NewCase> = new.iter().map(|n| (n.alert.id, n)).collect();
        let told = "UPDATE alert_case SET delivered_at = $1
                    WHERE opened_at = $1 AND delivered_at IS NULL AND alert_id IN (SELECT alert_id FROM notified)";
        let mut opened = Vec::new();
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            for chunk in new.chunks(BATCH) {
                let mut q = sqlx::QueryBuilder::new(
                    "INSERT INTO alert_case (alert_id, rule, subject, subject_name, unit_code, owner, state, severity, period, opened_at, answer_days, escalate_days, previous_case, updated_at) ",
                );
                q.push_values(chunk, |mut b, n| {
                    let a = &n.alert;
                    b.push_bind(a.id).push_bind(a.rule.clone()).push_bind(a.subject.clone())
                        .push_bind(a.subject_name.clone()).push_bind(a.unit_code.clone()).push_bind(n.owner.clone())
                        .push_bind("assigned").push_bind(a.severity.as_str()).push_bind(a.period.clone())
                        .push_bind(now_ms).push_bind(i64::from(n.answer_days)).push_bind(i64::from(n.escalate_days))
                        .push_bind(n.previous_case).push_bind(now_ms);
                });
                q.push(" ON CONFLICT DO NOTHING RETURNING id, alert_id");
                let rows: Vec<(i64, i64)> = q.build_query_as().fetch_all(&mut *tx).await?;
                if rows.is_empty() {
                    continue;
                }
                let mut e = sqlx::QueryBuilder::new("INSERT INTO case_event (case_id, at, kind, state, actor, note) ");
                e.push_values(&rows, |mut b, (id, alert_id)| {
                    let (kind, note) = opening_event(by_alert.get(alert_id).copied());
                    b.push_bind(*id).push_bind(now_ms).push_bind(kind).push_bind("assigned")
                        .push_bind(crate::alerts::SYSTEM).push_bind(note);
                });
                e.build().execute(&mut *tx).await?;
                opened.extend(rows.iter().map(|(id, _)| *id));
            }
            if !opened.is_empty() {
                sqlx::query(told).bind(now_ms).execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(opened)
    }

    /// Open cases whose alert has resolved.
    pub async fn cases_of_resolved_alerts(&self) -> anyhow::Result<Vec<ResolvedCase>> {
        let sql = "SELECT c.id, COALESCE(a.resolved_by, ''), a.period FROM alert_case c JOIN alert a ON a.id = c.alert_id
                   WHERE c.state <> 'closed' AND a.state = 'resolved' ORDER BY c.id";
        Ok(
            on_pool!(self, p => sqlx::query(sql).fetch_all(p).await?.iter().map(|r| {
            Ok(ResolvedCase { case_id: r.try_get(0)?, resolved_by: r.try_get(1)?, period: r.try_get(2)? })
        }).collect::<Result<Vec<_>, sqlx::Error>>()?),
        )
    }

    /// Closes cases whose condition cleared, each with its event, in one transaction.
    pub async fn close_resolved_cases(
        &self,
        list: &[ResolvedCase],
        now_ms: i64,
    ) -> anyhow::Result<u64> {
        let update = "UPDATE alert_case SET state = 'closed', closed_at = $1, closed_by = $2, close_reason = 'resolved', closed_period = $3, updated_at = $1
                      WHERE id = $4 AND state <> 'closed'";
        let event = "INSERT INTO case_event (case_id, at, kind, state, actor, note) VALUES ($1, $2, 'closed', 'closed', $3, $4)";
        let mut closed = 0;
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            for c in list {
                let by = if c.resolved_by.is_empty() { crate::alerts::SYSTEM } else { c.resolved_by.as_str() };
                let n = sqlx::query(update).bind(now_ms).bind(by).bind(&c.period).bind(c.case_id)
                    .execute(&mut *tx).await?.rows_affected();
                if n == 0 {
                    continue;
                }
                let note = if by == crate::alerts::SYSTEM {
                    "条件已消除，自动销号 (condition cleared)".to_string()
                } else {
                    format!("预警已由 {by} 销号 (alert resolved by {by})")
                };
                sqlx::query(event).bind(c.case_id).bind(now_ms).bind(by).bind(note).execute(&mut *tx).await?;
                closed += 1;
            }
            tx.commit().await?;
        });
        Ok(closed)
    }

    /// Open cases without an owner: (case, the alert's unit, the alert's 包抓领导).
    pub async fn unowned_open_cases(&self) -> anyhow::Result<Vec<(i64, String, Option<String>)>> {
        let sql =
            "SELECT c.id, c.unit_code, a.owner FROM alert_case c JOIN alert a ON a.id = c.alert_id
                   WHERE c.state <> 'closed' AND c.owner IS NULL ORDER BY c.id";
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, (i64, String, Option<String>)>(sql).fetch_all(p).await?),
        )
    }

    /// Gives owners to open cases that had none (the configuration now names one), each with
    /// an `assigned` event, in one transaction.
    pub async fn assign_case_owners(
        &self,
        owners: &[(i64, String)],
        now_ms: i64,
    ) -> anyhow::Result<u64> {
        let update = "UPDATE alert_case SET owner = $1, updated_at = $2 WHERE id = $3 AND owner IS NULL AND state <> 'closed'";
        let event = "INSERT INTO case_event (case_id, at, kind, state, actor, note)
                     SELECT id, $1, 'assigned', state, $2, $3 FROM alert_case WHERE id = $4";
        let mut n = 0;
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            for (id, owner) in owners {
                let done = sqlx::query(update).bind(owner).bind(now_ms).bind(id).execute(&mut *tx).await?.rows_affected();
                if done > 0 {
                    sqlx::query(event).bind(now_ms).bind(crate::alerts::SYSTEM)
                        .bind(format!("交办给 {owner} (assigned to {owner})")).bind(id)
                        .execute(&mut *tx).await?;
                    n += 1;
                }
            }
            tx.commit().await?;
        });
        Ok(n)
    }

    /// Cases delivered whose due time is not set yet.
    pub async fn undated_cases(&self) -> anyhow::Result<Vec<Undated>> {
        let sql = UNDATED;
        Ok(
            on_pool!(self, p => sqlx::query(sql).fetch_all(p).await?.iter().map(|r| {
            Ok(Undated {
                case_id: r.try_get(0)?,
                delivered_at: r.try_get(1)?,
                answer_days: u32::try_from(r.try_get::<i64, _>(2)?).unwrap_or(0),
                escalate_days: u32::try_from(r.try_get::<i64, _>(3)?).unwrap_or(0),
            })
        }).collect::<Result<Vec<_>, sqlx::Error>>()?),
        )
    }

    /// Whether any case waits for its due time ([`Store::undated_cases`] would list one): one
    /// probe of the partial index `alert_case_undated`, as every page asks it first.
    pub async fn any_undated_case(&self) -> anyhow::Result<bool> {
        let sql = "SELECT COUNT(*) FROM (SELECT 1 FROM alert_case
                     WHERE due_at IS NULL AND delivered_at IS NOT NULL AND state <> 'closed' LIMIT 1) u";
        let any: bool =
            on_pool!(self, p => sqlx::query_scalar::<_, i64>(sql).fetch_one(p).await? != 0);
        Ok(any)
    }

    /// Sets the due and 督办 times of a delivered case, with a `delivered` event.
    pub async fn set_case_due(
        &self,
        case_id: i64,
        due_at: i64,
        escalate_at: i64,
        now_ms: i64,
    ) -> anyhow::Result<()> {
        let update = "UPDATE alert_case SET due_at = $1, escalate_at = $2, updated_at = $3 WHERE id = $4 AND due_at IS NULL";
        let event = "INSERT INTO case_event (case_id, at, kind, state, actor, note, due_at)
                     SELECT id, $1, 'delivered', state, $2, $3, due_at FROM alert_case WHERE id = $4";
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            let n = sqlx::query(update).bind(due_at).bind(escalate_at).bind(now_ms).bind(case_id)
                .execute(&mut *tx).await?.rows_affected();
            if n > 0 {
                sqlx::query(event).bind(now_ms).bind(crate::alerts::SYSTEM)
                    .bind("预警已送达，开始计算反馈期限 (delivered: the answer is due)").bind(case_id)
                    .execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// The units that can get cases: where enterprises report, units with targets (not the
    /// city), units of key projects — each only when `enterprises`, `units`, `projects` say
    /// that kind of rule makes cases.
    pub async fn units_that_can_get_cases(
        &self,
        enterprises: bool,
        units: bool,
        projects: bool,
    ) -> anyhow::Result<Vec<String>> {
        let mut parts = Vec::new();
        if enterprises {
            parts.push("SELECT unit_code FROM enterprise WHERE scale = 'above'");
        }
        if units {
            parts.push("SELECT t.unit_code FROM target t JOIN unit u ON u.code = t.unit_code WHERE u.kind <> 'city'");
        }
        if projects {
            parts.push("SELECT unit_code FROM project");
        }
        if parts.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT DISTINCT unit_code FROM ({}) x ORDER BY unit_code",
            parts.join(" UNION ")
        );
        Ok(
            on_pool!(self, p => sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql.as_str())).fetch_all(p).await?),
        )
    }
}

/// The kind and note of a new case's first event.
fn opening_event(n: Option<&NewCase>) -> (&'static str, String) {
    match n.map(|n| (n.previous_case, n.owner.as_deref())) {
        Some((Some(prev), _)) => (
            "reopened",
            format!("情况仍在，接续第 {prev} 号 (condition persists; follows case {prev})"),
        ),
        Some((None, Some(o))) => ("opened", format!("交办给 {o} (assigned to {o})")),
        _ => (
            "opened",
            "未配置责任人 (no case owner configured)".to_string(),
        ),
    }
}
