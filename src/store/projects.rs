//! Reading key projects (重点项目) and their monthly progress reports.

use sqlx::Row;

use super::{Store, on_pool};
use crate::amount::Amount;
use crate::analysis::ProgressReport;
use crate::period::Period;
use crate::registry::{Project, ProjectStatus};

fn month(text: Option<String>) -> Option<Period> {
    text.and_then(|t| t.parse().ok())
}

impl Store {
    /// All registered projects, by id.
    pub async fn projects(&self) -> anyhow::Result<Vec<Project>> {
        let sql = "SELECT id, name, unit_code, owner, total_investment, planned_year, planned_start, planned_completion, planned_production, status
                   FROM project ORDER BY id";
        let rows = on_pool!(self, p => sqlx::query(sql).fetch_all(p).await?.iter().map(|r| {
            Ok(Project {
                id: r.try_get(0)?,
                name: r.try_get(1)?,
                unit_code: r.try_get(2)?,
                owner: r.try_get(3)?,
                total_investment: Amount(r.try_get(4)?),
                planned_year: r.try_get::<Option<i64>, _>(5)?.map(Amount),
                planned_start: month(r.try_get(6)?),
                planned_completion: month(r.try_get(7)?),
                planned_production: month(r.try_get(8)?),
                status: ProjectStatus::parse(&r.try_get::<String, _>(9)?).unwrap_or(ProjectStatus::Planned),
            })
        }).collect::<Result<Vec<_>, sqlx::Error>>()?);
        Ok(rows)
    }

    /// The ids of all registered projects.
    pub async fn project_ids(&self) -> anyhow::Result<Vec<String>> {
        let sql = "SELECT id FROM project ORDER BY id";
        Ok(on_pool!(self, p => sqlx::query_scalar(sql).fetch_all(p).await?))
    }

    /// Every progress report up to `until` (all of them when `None`), by project and period.
    pub async fn project_progress(
        &self,
        until: Option<Period>,
    ) -> anyhow::Result<Vec<(String, ProgressReport)>> {
        let sql = "SELECT project_id, period, invested_month, invested_ytd, status, CAST(revision AS BIGINT), run_id
                   FROM project_progress WHERE period <= $1 ORDER BY project_id, period";
        let until = until.map_or_else(|| "9999-12".to_string(), |p| p.to_string());
        let rows = on_pool!(self, p => sqlx::query(sql).bind(&until).fetch_all(p).await?.iter().filter_map(|r| {
            let row = || -> Result<Option<(String, ProgressReport)>, sqlx::Error> {
                let Some(period) = month(r.try_get(1)?) else { return Ok(None) };
                let status: Option<String> = r.try_get(4)?;
                Ok(Some((r.try_get(0)?, ProgressReport {
                    period,
                    invested_month: r.try_get(2)?,
                    invested_ytd: r.try_get(3)?,
                    status: status.as_deref().and_then(ProjectStatus::parse),
                    revision: r.try_get(5)?,
                    run_id: r.try_get(6)?,
                })))
            };
            row().transpose()
        }).collect::<Result<Vec<_>, sqlx::Error>>()?);
        Ok(rows)
    }
}
