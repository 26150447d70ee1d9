//! The registry tables: units, enterprises, targets, official unit figures, key projects and
//! their monthly progress, with every change kept in `registry_change` — or, for progress
//! reports, the earlier revision in `project_progress_history`, as submissions keep theirs.
//! All but the enterprises are small (a few thousand projects), so they are compared in memory
//! and written row by row; the enterprises (~50k a province, ~500k a nation) are written in
//! bulk, in batches as their file is read (`enterprise_import.rs`, `enterprises.rs`).

use std::collections::HashMap;

use anyhow::Context;
use serde_json::json;
use sqlx::Row;

use super::runs::write_run_end;
use super::{RunEnd, Store, on_pool};
use crate::record::Record;
use crate::registry::{
    Enterprise, ProjectProgress, ProjectStatus, Scale, Target, TargetKind, Unit, UnitKind,
    format_milestones, parse_milestones,
};

/// What applying a batch of registry records changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    pub accepted: u64,
    pub revised: u64,
    pub unchanged: u64,
}

/// A registry record as stored: its table, key, SQL parameters and a JSON image for the change log.
struct Image {
    entity: &'static str,
    key: String,
    json: serde_json::Value,
}

fn image(r: &Record) -> Option<Image> {
    Some(match r {
        Record::Unit(u) => Image {
            entity: "unit",
            key: u.code.clone(),
            json: json!({"code": u.code, "name": u.name, "kind": u.kind.as_str(), "parent": u.parent}),
        },
        Record::Target(t) => Image {
            entity: "target",
            key: format!(
                "{}/{}/{}/{}",
                t.year,
                t.unit_code,
                t.indicator,
                t.kind.as_str()
            ),
            json: json!({"year": t.year, "unit_code": t.unit_code, "indicator": t.indicator, "kind": t.kind.as_str(),
                "annual": t.annual.raw(), "milestones": format_milestones(&t.milestones)}),
        },
        Record::UnitIndicator {
            unit_code,
            period,
            indicator,
            value,
            ..
        } => Image {
            entity: "unit_indicator",
            key: format!("{unit_code}/{period}/{indicator}"),
            json: json!({"unit_code": unit_code, "period": period.to_string(), "indicator": indicator, "value": value.raw()}),
        },
        Record::Project(pr) => Image {
            entity: "project",
            key: pr.id.clone(),
            json: json!({"id": pr.id, "name": pr.name, "unit_code": pr.unit_code, "owner": pr.owner,
                "total_investment": pr.total_investment.raw(), "planned_year": pr.planned_year.map(|a| a.raw()),
                "planned_start": pr.planned_start.map(|p| p.to_string()),
                "planned_completion": pr.planned_completion.map(|p| p.to_string()),
                "planned_production": pr.planned_production.map(|p| p.to_string()),
                "status": pr.status.as_str()}),
        },
        Record::ProjectProgress(g) => Image {
            entity: "project_progress",
            key: format!("{}/{}", g.project_id, g.period),
            json: json!({"project_id": g.project_id, "period": g.period.to_string(),
                "invested_month": g.invested_month.map(|a| a.raw()),
                "invested_ytd": g.invested_ytd.map(|a| a.raw()),
                "status": g.status.map(ProjectStatus::as_str)}),
        },
        // Enterprises are compared and written in bulk (`enterprises.rs`).
        Record::Enterprise(_) | Record::Submission(_) => return None,
    })
}

/// A progress report with the columns its file lacked taken from the stored report, so that an
/// absent column keeps the stored value (a blank cell clears it).
fn fill_absent(g: &ProjectProgress, stored: Option<&serde_json::Value>) -> ProjectProgress {
    let mut out = g.clone();
    let Some(st) = stored else { return out };
    let amount = |k: &str| st[k].as_i64().map(crate::amount::Amount);
    if !g.present[0] {
        out.invested_month = amount("invested_month");
    }
    if !g.present[1] {
        out.invested_ytd = amount("invested_ytd");
    }
    if !g.present[2] {
        out.status = st["status"].as_str().and_then(ProjectStatus::parse);
    }
    out.present = [true; 3];
    out
}

impl Store {
    /// All units, by code.
    pub async fn units(&self) -> anyhow::Result<Vec<Unit>> {
        let sql = "SELECT code, name, kind, parent FROM unit ORDER BY code";
        let rows = on_pool!(self, p => sqlx::query(sql).fetch_all(p).await?.iter().map(|r| {
            Ok(Unit {
                code: r.try_get(0)?,
                name: r.try_get(1)?,
                kind: UnitKind::parse(&r.try_get::<String, _>(2)?).unwrap_or(UnitKind::District),
                parent: r.try_get(3)?,
            })
        }).collect::<Result<Vec<_>, sqlx::Error>>()?);
        Ok(rows)
    }

    /// All enterprises, by credit code (streamed: a province has hundreds of thousands).
    pub async fn enterprises(&self) -> anyhow::Result<Vec<Enterprise>> {
        // Read in table order and sorted here: in key order SQLite walks the key's index and
        // looks each row up, PostgreSQL sorts half a million rows on disk.
        let sql = "SELECT credit_code, name, unit_code, zone_code, industry_code, scale, is_key, owner FROM enterprise";
        let mut out = Vec::new();
        let scale = |s: &[u8]| {
            if s == b"below" {
                Scale::Below
            } else {
                Scale::Above
            }
        };
        let code = |c: &[u8]| {
            let c = std::str::from_utf8(c)?;
            c.parse::<crate::credit_code::CreditCode>()
                .with_context(|| format!("enterprise {c}"))
        };
        match self {
            Store::Sqlite(p) => {
                // Stepped directly (see sqlite_raw): through sqlx a province's registry costs
                // seconds.
                let mut conn = p.acquire().await?;
                super::sqlite_raw::with_handle(&mut conn, |h| {
                    let mut q = super::sqlite_raw::Statement::prepare(h, sql)?;
                    while q.step()? {
                        out.push(Enterprise {
                            credit_code: code(q.text(0))?,
                            name: q.str(1)?.to_string(),
                            unit_code: q.str(2)?.to_string(),
                            zone_code: q.opt_str(3)?.map(String::from),
                            industry_code: q.opt_str(4)?.map(String::from),
                            scale: scale(q.text(5)),
                            key: q.int(6).unwrap_or(0) != 0,
                            owner: q.opt_str(7)?.map(String::from),
                        });
                    }
                    Ok(())
                })
                .await?;
            }
            Store::Postgres(p) => {
                // Binary COPY: through sqlx rows the registry cost half a second.
                use super::copy::{int_field, opt_text_field, text_field};
                super::copy::copy_out(p, sql, 8, |f| {
                    out.push(Enterprise {
                        credit_code: code(f[0].unwrap_or_default())?,
                        name: text_field(f[1])?,
                        unit_code: text_field(f[2])?,
                        zone_code: opt_text_field(f[3])?,
                        industry_code: opt_text_field(f[4])?,
                        scale: scale(f[5].unwrap_or_default()),
                        key: int_field(f[6])?.unwrap_or(0) != 0,
                        owner: opt_text_field(f[7])?,
                    });
                    Ok(())
                })
                .await?;
            }
        }
        if !out.is_sorted_by_key(|e| e.credit_code) {
            out.sort_unstable_by_key(|e| e.credit_code);
        }
        Ok(out)
    }

    /// All targets.
    pub async fn targets(&self) -> anyhow::Result<Vec<Target>> {
        let sql = "SELECT year, unit_code, indicator, kind, annual, milestones FROM target ORDER BY year, unit_code, indicator, kind";
        let rows = on_pool!(self, p => sqlx::query(sql).fetch_all(p).await?.iter().map(|r| {
            Ok(Target {
                year: r.try_get(0)?,
                unit_code: r.try_get(1)?,
                indicator: r.try_get(2)?,
                kind: if r.try_get::<String, _>(3)? == "volume" { TargetKind::Volume } else { TargetKind::Growth },
                annual: crate::amount::Amount(r.try_get(4)?),
                milestones: parse_milestones(&r.try_get::<String, _>(5)?).unwrap_or_default(),
            })
        }).collect::<Result<Vec<_>, sqlx::Error>>()?);
        Ok(rows)
    }

    /// The JSON images currently stored for one entity, by key.
    async fn stored_images(
        &self,
        entity: &str,
    ) -> anyhow::Result<HashMap<String, serde_json::Value>> {
        let mut out = HashMap::new();
        match entity {
            "unit" => {
                for u in self.units().await? {
                    let i = image(&Record::Unit(u)).ok_or_else(|| anyhow::anyhow!("no image"))?;
                    out.insert(i.key, i.json);
                }
            }
            "target" => {
                for t in self.targets().await? {
                    let i = image(&Record::Target(t)).ok_or_else(|| anyhow::anyhow!("no image"))?;
                    out.insert(i.key, i.json);
                }
            }
            "project" => {
                for pr in self.projects().await? {
                    let i =
                        image(&Record::Project(pr)).ok_or_else(|| anyhow::anyhow!("no image"))?;
                    out.insert(i.key, i.json);
                }
            }
            "project_progress" => {
                for (id, g) in self.project_progress(None).await? {
                    let record = Record::ProjectProgress(ProjectProgress {
                        line: 0,
                        project_id: id,
                        period: g.period,
                        invested_month: g.invested_month.map(crate::amount::Amount),
                        invested_ytd: g.invested_ytd.map(crate::amount::Amount),
                        status: g.status,
                        present: [true; 3],
                    });
                    let i = image(&record).ok_or_else(|| anyhow::anyhow!("no image"))?;
                    out.insert(i.key, i.json);
                }
            }
            _ => {
                let sql = "SELECT unit_code, period, indicator, value FROM unit_indicator";
                let rows: Vec<(String, String, String, i64)> =
                    on_pool!(self, p => sqlx::query_as(sql).fetch_all(p).await?);
                for (u, per, ind, v) in rows {
                    out.insert(
                        format!("{u}/{per}/{ind}"),
                        json!({"unit_code": u, "period": per, "indicator": ind, "value": v}),
                    );
                }
            }
        }
        Ok(out)
    }

    /// Writes registry records other than enterprises (those are written in batches as their
    /// file is read: [`super::EnterpriseImport`]) in one transaction: new ones inserted, changed ones updated and
    /// logged in `registry_change` (in the order given), identical ones left alone. The same
    /// transaction stores a pulled page's `cursor` (`(source, cursor)`) and closes import run
    /// `run_id` with `end(counts)`, so that the run and its source's cursor say exactly what was
    /// committed.
    pub async fn apply_registry<'e>(
        &self,
        run_id: i64,
        records: &[Record],
        now_ms: i64,
        cursor: Option<(&str, &str)>,
        end: impl Fn(Applied) -> RunEnd<'e>,
    ) -> anyhow::Result<Applied> {
        let stored = match records.iter().find_map(image) {
            Some(first) => self.stored_images(first.entity).await?,
            None => HashMap::new(),
        };
        let mut applied = Applied::default();
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            for r in records {
                let filled;
                let r = match r {
                    Record::ProjectProgress(g) => {
                        let key = format!("{}/{}", g.project_id, g.period);
                        filled = Record::ProjectProgress(fill_absent(g, stored.get(&key)));
                        &filled
                    }
                    other => other,
                };
                let Some(img) = image(r) else { continue };
                let before = stored.get(&img.key);
                if before == Some(&img.json) {
                    applied.unchanged += 1;
                    continue;
                }
                if before.is_some() { applied.revised += 1 } else { applied.accepted += 1 }
                let q = match r {
                    Record::Unit(u) => sqlx::query(
                        "INSERT INTO unit (code, name, kind, parent, updated_at) VALUES ($1, $2, $3, $4, $5)
                         ON CONFLICT (code) DO UPDATE SET name = excluded.name, kind = excluded.kind, parent = excluded.parent, updated_at = excluded.updated_at",
                    ).bind(&u.code).bind(&u.name).bind(u.kind.as_str()).bind(&u.parent).bind(now_ms),
                    Record::Target(t) => sqlx::query(
                        "INSERT INTO target (year, unit_code, indicator, kind, annual, milestones, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
                         ON CONFLICT (year, unit_code, indicator, kind) DO UPDATE SET annual = excluded.annual, milestones = excluded.milestones, updated_at = excluded.updated_at",
                    ).bind(t.year).bind(&t.unit_code).bind(&t.indicator).bind(t.kind.as_str()).bind(t.annual.raw())
                     .bind(format_milestones(&t.milestones)).bind(now_ms),
                    Record::UnitIndicator { unit_code, period, indicator, value, .. } => sqlx::query(
                        "INSERT INTO unit_indicator (unit_code, period, indicator, value, run_id, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
                         ON CONFLICT (unit_code, period, indicator) DO UPDATE SET value = excluded.value, run_id = excluded.run_id, updated_at = excluded.updated_at",
                    ).bind(unit_code).bind(period.to_string()).bind(indicator).bind(value.raw()).bind(run_id).bind(now_ms),
                    Record::Project(pr) => sqlx::query(
                        "INSERT INTO project (id, name, unit_code, owner, total_investment, planned_year, planned_start, planned_completion, planned_production, status, updated_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                         ON CONFLICT (id) DO UPDATE SET name = excluded.name, unit_code = excluded.unit_code, owner = excluded.owner,
                           total_investment = excluded.total_investment, planned_year = excluded.planned_year, planned_start = excluded.planned_start,
                           planned_completion = excluded.planned_completion, planned_production = excluded.planned_production,
                           status = excluded.status, updated_at = excluded.updated_at",
                    ).bind(&pr.id).bind(&pr.name).bind(&pr.unit_code).bind(&pr.owner).bind(pr.total_investment.raw())
                     .bind(pr.planned_year.map(|a| a.raw())).bind(pr.planned_start.map(|p| p.to_string()))
                     .bind(pr.planned_completion.map(|p| p.to_string())).bind(pr.planned_production.map(|p| p.to_string()))
                     .bind(pr.status.as_str()).bind(now_ms),
                    Record::ProjectProgress(g) => {
                        // A revision: the report it replaces goes to the history first.
                        if before.is_some() {
                            sqlx::query(
                                "INSERT INTO project_progress_history (project_id, period, invested_month, invested_ytd, status, revision, run_id, received_at, superseded_at, superseded_by)
                                 SELECT project_id, period, invested_month, invested_ytd, status, revision, run_id, received_at, $1, $2
                                 FROM project_progress WHERE project_id = $3 AND period = $4",
                            ).bind(now_ms).bind(run_id).bind(&g.project_id).bind(g.period.to_string())
                             .execute(&mut *tx).await?;
                        }
                        sqlx::query(
                            "INSERT INTO project_progress (project_id, period, invested_month, invested_ytd, status, revision, run_id, received_at)
                             VALUES ($1, $2, $3, $4, $5, 1, $6, $7)
                             ON CONFLICT (project_id, period) DO UPDATE SET invested_month = excluded.invested_month, invested_ytd = excluded.invested_ytd,
                               status = excluded.status, revision = project_progress.revision + 1, run_id = excluded.run_id, received_at = excluded.received_at",
                        ).bind(&g.project_id).bind(g.period.to_string()).bind(g.invested_month.map(|a| a.raw()))
                         .bind(g.invested_ytd.map(|a| a.raw())).bind(g.status.map(ProjectStatus::as_str)).bind(run_id).bind(now_ms)
                         .execute(&mut *tx).await?;
                        continue;
                    }
                    Record::Enterprise(_) | Record::Submission(_) => continue,
                };
                q.execute(&mut *tx).await?;
                sqlx::query("INSERT INTO registry_change (run_id, entity, entity_key, before_json, after_json, changed_at) VALUES ($1, $2, $3, $4, $5, $6)")
                    .bind(run_id).bind(img.entity).bind(&img.key).bind(before.map(|b| b.to_string())).bind(img.json.to_string()).bind(now_ms)
                    .execute(&mut *tx).await?;
            }
            if let Some((source, cursor)) = cursor {
                sqlx::query(super::sources::ENSURE).bind(source).bind(now_ms).execute(&mut *tx).await?;
                sqlx::query("UPDATE source_state SET cursor = $1, updated_at = $2 WHERE source = $3")
                    .bind(cursor).bind(now_ms).bind(source).execute(&mut *tx).await?;
            }
            write_run_end!(tx, run_id, &end(applied));
            tx.commit().await?;
        });
        Ok(applied)
    }
}
