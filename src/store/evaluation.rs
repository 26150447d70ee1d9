//! Reads what one period's evaluation needs: the registry, its window of months (read through
//! [`Store::load_window`], the figures as the analysis declares them), targets, official unit
//! figures and the key projects with their progress reports up to the period. The few
//! enterprises whose streak (停产/半停产/减产) reaches back past the 24 months get older windows
//! read too, twelve months at a time, until the streak ends: a streak counts as far back as the
//! data goes and depends on nothing but the data (not on which periods were evaluated before).

use std::collections::HashMap;

use super::{Store, on_pool};
use crate::amount::Amount;
use crate::analysis::window::{Scope, Window};
use crate::analysis::{Calendar, Dataset, ProgressReport, StateThresholds};
use crate::period::Period;
use crate::registry::Project;

/// Parses `YYYY-MM` without allocating (the hot path reads a million of them).
fn period_of(s: &str) -> Option<Period> {
    let b = s.as_bytes();
    if b.len() != 7 || b[4] != b'-' {
        return s.parse().ok();
    }
    let d = |c: u8| (c as char).to_digit(10);
    let year = d(b[0])? * 1000 + d(b[1])? * 100 + d(b[2])? * 10 + d(b[3])?;
    let month = d(b[5])? * 10 + d(b[6])?;
    Period::new(year as i32, month)
}

impl Store {
    /// Loads the dataset for evaluating `period`; `th` decides which streaks need older months.
    pub async fn load_dataset(
        &self,
        period: Period,
        jan_feb_combined: bool,
        th: StateThresholds,
    ) -> anyhow::Result<Dataset> {
        let cal = Calendar {
            period,
            jan_feb_combined,
        };
        // Packs whose rows changed behind indmon's back are rebuilt first (see `stale.rs`).
        self.refresh_stale_years().await?;
        let started = std::time::Instant::now();
        let units = self.units().await?;
        let enterprises = self.enterprises().await?;
        tracing::debug!(
            enterprises = enterprises.len(),
            ms = started.elapsed().as_millis() as u64,
            "evaluation: registry read"
        );
        let window = Window {
            cal,
            scope: Scope::Registry(&enterprises),
        };
        let months = self.load_window(&window).await?;
        let targets = self
            .targets()
            .await?
            .into_iter()
            .filter(|t| t.year == period.year())
            .collect();
        let unit_figures = self.unit_figures(cal.at(0), period).await?;
        let (projects, progress) = self.projects_at(period).await?;
        let mut ds = Dataset {
            cal,
            projects,
            progress,
            units,
            enterprises,
            series: months.series,
            earlier: HashMap::new(),
            targets,
            unit_figures,
            vintage: months.vintage,
        };
        self.read_earlier(&mut ds, th).await?;
        Ok(ds)
    }

    /// The official unit figures of the months `from` to `to`.
    async fn unit_figures(
        &self,
        from: Period,
        to: Period,
    ) -> anyhow::Result<HashMap<(String, Period, String), Amount>> {
        let (from, to) = (from.to_string(), to.to_string());
        let sql = "SELECT unit_code, period, indicator, value FROM unit_indicator WHERE period >= $1 AND period <= $2";
        let rows: Vec<(String, String, String, i64)> =
            on_pool!(self, p => sqlx::query_as(sql).bind(&from).bind(&to).fetch_all(p).await?);
        Ok(rows
            .into_iter()
            .filter_map(|(u, t, ind, v)| Some(((u, period_of(&t)?, ind), Amount(v))))
            .collect())
    }

    /// The key projects and, parallel to them, their progress reports up to `period`.
    async fn projects_at(
        &self,
        period: Period,
    ) -> anyhow::Result<(Vec<Project>, Vec<Vec<ProgressReport>>)> {
        let projects = self.projects().await?;
        let mut progress = vec![Vec::new(); projects.len()];
        let at: HashMap<&str, usize> = projects
            .iter()
            .enumerate()
            .map(|(i, pr)| (pr.id.as_str(), i))
            .collect();
        for (id, report) in self.project_progress(Some(period)).await? {
            if let Some(&i) = at.get(id.as_str()) {
                progress[i].push(report);
            }
        }
        Ok((projects, progress))
    }

    /// Reads older windows, twelve months further back each round, for the enterprises whose
    /// streak in the period (or the period before, for the snapshot's 复产) reaches back past
    /// the months read, until every streak has ended or the data has.
    async fn read_earlier(&self, ds: &mut Dataset, th: StateThresholds) -> anyhow::Result<()> {
        let p = ds.period();
        let before = ds.cal.prev_analysed(p);
        let open = |ds: &Dataset, e: usize| {
            ds.standing(e, th).reaches_edge || ds.standing_at(e, th, before).reaches_edge
        };
        let mut wanted: Vec<usize> = (0..ds.series.len()).filter(|&e| open(ds, e)).collect();
        let mut round = 1;
        while !wanted.is_empty() {
            let few: Vec<_> = wanted.iter().map(|&e| ds.enterprises[e].clone()).collect();
            let window = Window {
                cal: Calendar {
                    period: p.offset(-12 * round),
                    ..ds.cal
                },
                scope: Scope::Few(&few),
            };
            let months = self.load_window(&window).await?;
            ds.vintage = ds.vintage.max(months.vintage);
            // With no month read, no streak can reach further back.
            let none_read = months.series.iter().all(|s| s.present == 0);
            for (&e, s) in wanted.iter().zip(months.series) {
                ds.earlier.entry(e).or_default().push(s);
            }
            if none_read {
                break;
            }
            wanted.retain(|&e| open(ds, e));
            round += 1;
        }
        Ok(())
    }
}
