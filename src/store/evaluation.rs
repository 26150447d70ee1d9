//! Reads what one period's evaluation needs — the registry, the 24 months of submissions that
//! end at the period (three output figures a month, the rest only for P and P−12), targets and
//! official unit figures — streaming the submission rows into fixed-size arrays.

use std::collections::HashMap;

use futures_util::TryStreamExt;
use sqlx::Row;

use super::{Store, on_pool};
use crate::amount::Amount;
use crate::analysis::{Calendar, Dataset, NONE, Series, WINDOW};
use crate::period::Period;

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
    /// Loads the dataset for evaluating `period`.
    pub async fn load_dataset(
        &self,
        period: Period,
        jan_feb_combined: bool,
    ) -> anyhow::Result<Dataset> {
        let cal = Calendar {
            period,
            jan_feb_combined,
        };
        let units = self.units().await?;
        let enterprises = self.enterprises().await?;
        let index: HashMap<&str, usize> = enterprises
            .iter()
            .enumerate()
            .map(|(i, e)| (e.credit_code.as_str(), i))
            .collect();
        let mut series = vec![Series::default(); enterprises.len()];
        let from = period.offset(-(WINDOW as i32 - 1)).to_string();
        let to = period.to_string();
        let sql = "SELECT credit_code, period, output, output_ytd, output_prev, output_ytd_prev, electricity, electricity_prev, revenue_ytd, revision, run_id
                   FROM submission WHERE period >= $1 AND period <= $2";
        let mut vintage = 0i64;
        let get = |v: Option<i64>| v.unwrap_or(NONE);
        on_pool!(self, p => {
            let mut rows = sqlx::query(sql).bind(&from).bind(&to).fetch(p);
            while let Some(r) = rows.try_next().await? {
                let code: &str = r.try_get(0)?;
                let Some(&e) = index.get(code) else { continue };
                let Some(i) = period_of(r.try_get(1)?).and_then(|t| cal.index(t)) else { continue };
                let s = &mut series[e];
                s.present |= 1 << i;
                s.output[i] = get(r.try_get(2)?);
                s.output_ytd[i] = get(r.try_get(3)?);
                if i >= 12 {
                    s.output_prev[i - 12] = get(r.try_get(4)?);
                    s.output_ytd_prev[i - 12] = get(r.try_get(5)?);
                }
                let revision: i64 = r.try_get::<i64, _>(9).or_else(|_| r.try_get::<i32, _>(9).map(i64::from))?;
                if i == WINDOW - 1 {
                    s.electricity = get(r.try_get(6)?);
                    s.electricity_prev = get(r.try_get(7)?);
                    s.revenue_ytd = get(r.try_get(8)?);
                    s.revision = revision;
                } else if i == WINDOW - 13 {
                    s.electricity_year_ago = get(r.try_get(6)?);
                    s.revision_year_ago = revision;
                }
                vintage = vintage.max(r.try_get(10)?);
            }
        });
        let targets = self
            .targets()
            .await?
            .into_iter()
            .filter(|t| t.year == period.year())
            .collect();
        let sql = "SELECT unit_code, period, indicator, value FROM unit_indicator WHERE period >= $1 AND period <= $2";
        let rows: Vec<(String, String, String, i64)> =
            on_pool!(self, p => sqlx::query_as(sql).bind(&from).bind(&to).fetch_all(p).await?);
        let unit_figures = rows
            .into_iter()
            .filter_map(|(u, t, ind, v)| Some(((u, period_of(&t)?, ind), Amount(v))))
            .collect();
        Ok(Dataset {
            cal,
            units,
            enterprises,
            series,
            targets,
            unit_figures,
            vintage,
        })
    }
}
