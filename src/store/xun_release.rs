//! When each 旬's early warning went out (migration 0025, `power::release`): the counts a 旬
//! is judged complete on, the one row per 旬 that records its release, and the 旬 warnings
//! with what the month later showed (`evaluate::xun_check`).

use std::collections::HashMap;

use super::{Store, on_pool};
use crate::period::Period;
use crate::power::Xun;
use crate::power::confirm::{IssuedWarning, Outcome};
use crate::power::release::{Completeness, Release, Trigger};

/// A stored release: 旬, reason, mapped, complete.
type ReleaseRow = (String, String, i64, i64);

fn decode((xun, reason, mapped, complete): ReleaseRow) -> Option<Release> {
    Some(Release {
        xun: xun.parse().ok()?,
        trigger: Trigger::parse(&reason)?,
        completeness: Completeness {
            mapped: u64::try_from(mapped).ok()?,
            complete: u64::try_from(complete).ok()?,
        },
    })
}

impl Store {
    /// How many enterprises have a power account, and how many of them have every day of `x`.
    pub async fn xun_completeness(&self, x: Xun) -> anyhow::Result<Completeness> {
        let mapped_sql = "SELECT COUNT(DISTINCT credit_code) FROM power_account";
        let complete_sql = "SELECT COUNT(*) FROM (
              SELECT d.credit_code FROM power_daily d
              WHERE d.day >= $1 AND d.day <= $2
                AND EXISTS (SELECT 1 FROM power_account a WHERE a.credit_code = d.credit_code)
              GROUP BY d.credit_code HAVING COUNT(*) = $3) AS full_xun";
        let (first, last) = (x.first_day().to_string(), x.last_day().to_string());
        let days = i64::from(x.len());
        let (mapped, complete): (i64, i64) = on_pool!(self, p => {
            let m = sqlx::query_scalar::<_, i64>(mapped_sql).fetch_one(p).await?;
            let c = sqlx::query_scalar::<_, i64>(complete_sql)
                .bind(&first).bind(&last).bind(days).fetch_one(p).await?;
            (m, c)
        });
        Ok(Completeness {
            mapped: u64::try_from(mapped).unwrap_or(0),
            complete: u64::try_from(complete).unwrap_or(0),
        })
    }

    /// The releases of the 旬s `xuns` (those released), by 旬.
    pub async fn xun_releases(&self, xuns: &[Xun]) -> anyhow::Result<HashMap<Xun, Release>> {
        let sql = "SELECT xun, reason, mapped, complete FROM xun_release WHERE xun = $1";
        let mut out = HashMap::new();
        for x in xuns {
            let row: Option<ReleaseRow> = on_pool!(self, p => sqlx::query_as(sql)
                .bind(x.to_string()).fetch_optional(p).await?);
            if let Some(r) = row.and_then(decode) {
                out.insert(r.xun, r);
            }
        }
        Ok(out)
    }

    /// Records that `r` went out; `false` when the 旬 had been released already (the row is
    /// written once, so a second job run never releases a 旬 again).
    pub async fn record_xun_release(
        &self,
        r: &Release,
        evaluation_id: Option<i64>,
        now_ms: i64,
    ) -> anyhow::Result<bool> {
        let sql = "INSERT INTO xun_release (xun, reason, mapped, complete, evaluation_id, released_at, evaluated_at)
                   VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (xun) DO NOTHING";
        let c = r.completeness;
        let done = on_pool!(self, p => sqlx::query(sql)
            .bind(r.xun.to_string()).bind(r.trigger.as_str())
            .bind(i64::try_from(c.mapped).unwrap_or(i64::MAX))
            .bind(i64::try_from(c.complete).unwrap_or(i64::MAX))
            .bind(evaluation_id).bind(now_ms).execute(p).await?.rows_affected());
        Ok(done == 1)
    }
}

impl Store {
    /// Whether electricity of the released 旬 `x` arrived after it was last evaluated.
    pub async fn xun_has_late_days(&self, x: Xun) -> anyhow::Result<bool> {
        let sql = "SELECT COUNT(*) FROM power_daily d, xun_release r
                   WHERE r.xun = $1 AND d.day >= $2 AND d.day <= $3 AND d.received_at > r.evaluated_at";
        let (first, last) = (x.first_day().to_string(), x.last_day().to_string());
        let n: i64 = on_pool!(self, p => sqlx::query_scalar(sql)
            .bind(x.to_string()).bind(&first).bind(&last).fetch_one(p).await?);
        Ok(n > 0)
    }

    /// Stamps the released 旬 `x` as evaluated at `now_ms`.
    pub async fn xun_evaluated(&self, x: Xun, now_ms: i64) -> anyhow::Result<()> {
        let sql = "UPDATE xun_release SET evaluated_at = $1 WHERE xun = $2";
        on_pool!(self, p => sqlx::query(sql).bind(now_ms).bind(x.to_string()).execute(p).await?.rows_affected());
        Ok(())
    }

    /// The 旬 warnings of the 旬s of `period`: 旬, credit code, rule.
    pub async fn xun_warnings_of(
        &self,
        period: Period,
    ) -> anyhow::Result<Vec<(String, String, String)>> {
        let sql = "SELECT xun, credit_code, rule FROM xun_warning WHERE substr(xun, 1, 7) = $1 ORDER BY xun, credit_code, rule";
        Ok(on_pool!(self, p => sqlx::query_as(sql).bind(period.to_string()).fetch_all(p).await?))
    }

    /// Writes what the month showed of each 旬 warning, in one transaction.
    pub async fn set_xun_outcomes(
        &self,
        decided: &[(String, String, String, Outcome)],
        now_ms: i64,
    ) -> anyhow::Result<()> {
        let sql = "UPDATE xun_warning SET outcome = $1, monthly_rule = $2, checked_at = $3
                   WHERE xun = $4 AND credit_code = $5 AND rule = $6";
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            for (xun, code, rule, o) in decided {
                let monthly = match o {
                    Outcome::Confirmed(r) => Some(r.as_str()),
                    _ => None,
                };
                sqlx::query(sql).bind(o.as_str()).bind(monthly).bind(now_ms)
                    .bind(xun).bind(code).bind(rule).execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }
}

impl Store {
    /// The newest 旬 released before `before_ms`.
    pub async fn latest_release_before(&self, before_ms: i64) -> anyhow::Result<Option<Xun>> {
        let sql = "SELECT xun FROM xun_release WHERE released_at < $1 ORDER BY xun DESC LIMIT 1";
        let x: Option<String> =
            on_pool!(self, p => sqlx::query_scalar(sql).bind(before_ms).fetch_optional(p).await?);
        Ok(x.and_then(|x| x.parse().ok()))
    }

    /// The 旬 warnings first issued in `[from_ms, to_ms)`, in 旬, unit and enterprise order,
    /// with names and what the month showed.
    pub async fn xun_warnings_between(
        &self,
        from_ms: i64,
        to_ms: i64,
    ) -> anyhow::Result<Vec<IssuedWarning>> {
        let sql = "SELECT w.xun, w.credit_code, e.name AS name, u.name AS unit_name, w.rule, w.outcome, w.monthly_rule, w.issued_at
                   FROM xun_warning w
                   LEFT JOIN enterprise e ON e.credit_code = w.credit_code
                   LEFT JOIN unit u ON u.code = w.unit_code
                   WHERE w.issued_at >= $1 AND w.issued_at < $2
                   ORDER BY w.xun, w.unit_code, w.credit_code, w.rule";
        Ok(on_pool!(self, p => sqlx::query_as(sql)
            .bind(from_ms).bind(to_ms).fetch_all(p).await?))
    }
}
