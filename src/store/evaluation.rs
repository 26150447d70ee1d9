//! Reads what one period's evaluation needs — the registry, the 24 months of submissions that
//! end at the period (three output figures a month, the rest only for P and P−12), targets,
//! official unit figures and the key projects with their progress reports up to the period —
//! streaming the submission rows into fixed-size arrays.

use std::collections::HashMap;

use futures_util::TryStreamExt;
use sqlx::Row;
use sqlx::postgres::PgPoolCopyExt;

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

/// The submission columns an evaluation reads, in the order [`absorb_row`] takes them.
const COLUMNS: &str = "credit_code, period, output, output_ytd, output_prev, output_ytd_prev, electricity, electricity_prev, revenue_ytd, CAST(revision AS BIGINT), run_id";

/// Stores one submission row's figures at window index `i`: three output figures for every
/// month, the rest only for P and P−12.
fn absorb_row(s: &mut Series, i: usize, f: [Option<i64>; 9]) {
    let get = |v: Option<i64>| v.unwrap_or(NONE);
    s.present |= 1 << i;
    s.output[i] = get(f[0]);
    s.output_ytd[i] = get(f[1]);
    if i >= 12 {
        s.output_prev[i - 12] = get(f[2]);
        s.output_ytd_prev[i - 12] = get(f[3]);
    }
    let revision = f[7].unwrap_or(0);
    if i == WINDOW - 1 {
        s.electricity = get(f[4]);
        s.electricity_prev = get(f[5]);
        s.revenue_ytd = get(f[6]);
        s.revision = revision;
    } else if i == WINDOW - 13 {
        s.electricity_year_ago = get(f[4]);
        s.revision_year_ago = revision;
    }
}

/// Parses one line of `COPY … TO STDOUT` text output: tab-separated, `\\N` for null.
fn parse_copy_line(line: &[u8]) -> anyhow::Result<(&str, &str, [Option<i64>; 9])> {
    let mut cells = line.split(|b| *b == b'\t');
    let mut text = || -> anyhow::Result<&str> {
        let c = cells
            .next()
            .ok_or_else(|| anyhow::anyhow!("COPY line too short"))?;
        Ok(std::str::from_utf8(c)?)
    };
    let code = text()?;
    let period = text()?;
    let mut f = [None; 9];
    for v in f.iter_mut() {
        let c = text()?;
        *v = if c == "\\N" { None } else { Some(c.parse()?) };
    }
    Ok((code, period, f))
}

/// Parses one month of the SQLite packing: `period,f1,…,f9`, an empty cell for null.
fn parse_packed(month: &str) -> anyhow::Result<(&str, [Option<i64>; 9])> {
    let mut cells = month.split(',');
    let period = cells.next().unwrap_or_default();
    let mut f = [None; 9];
    for v in f.iter_mut() {
        let c = cells
            .next()
            .ok_or_else(|| anyhow::anyhow!("packed month too short: {month}"))?;
        *v = if c.is_empty() { None } else { Some(c.parse()?) };
    }
    Ok((period, f))
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
        let mut vintage = 0i64;
        let mut absorb = |code: &str, period: &str, f: [Option<i64>; 9]| {
            let Some(&e) = index.get(code) else { return };
            let Some(i) = period_of(period).and_then(|t| cal.index(t)) else {
                return;
            };
            absorb_row(&mut series[e], i, f);
            vintage = vintage.max(f[8].unwrap_or(0));
        };
        match self {
            Store::Sqlite(p) => {
                // sqlx hands SQLite rows over one at a time (~4 µs each): a million rows cost
                // seconds. SQLite packs each enterprise's months into one text instead
                // (`period,f1,…,f9;…`, empty for null), and Rust reads that.
                let cells = COLUMNS
                    .split(", ")
                    .skip(1)
                    .map(|c| format!("COALESCE({c}, '')"))
                    .collect::<Vec<_>>()
                    .join(" || ',' || ");
                let sql = format!(
                    "SELECT credit_code, group_concat({cells}, ';') FROM submission NOT INDEXED \
                     WHERE period >= $1 AND period <= $2 GROUP BY credit_code"
                );
                let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(&from)
                    .bind(&to)
                    .fetch(p);
                while let Some(r) = rows.try_next().await? {
                    let code: &str = r.try_get(0)?;
                    let packed: &str = r.try_get(1)?;
                    for month in packed.split(';') {
                        let (period, f) = parse_packed(month)?;
                        absorb(code, period, f);
                    }
                }
            }
            Store::Postgres(p) => {
                // COPY out as text is several times faster than decoding a million rows.
                let sql = format!(
                    "COPY (SELECT {COLUMNS} FROM submission WHERE period >= '{from}' AND period <= '{to}') TO STDOUT"
                );
                let mut stream = p.copy_out_raw(&sql).await?;
                let mut carry: Vec<u8> = Vec::new();
                while let Some(chunk) = stream.try_next().await? {
                    carry.extend_from_slice(&chunk);
                    let end = carry.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
                    for line in carry[..end]
                        .split(|b| *b == b'\n')
                        .filter(|l| !l.is_empty())
                    {
                        let (code, period, f) = parse_copy_line(line)?;
                        absorb(code, period, f);
                    }
                    carry.drain(..end);
                }
            }
        }
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
        Ok(Dataset {
            cal,
            projects,
            progress,
            units,
            enterprises,
            series,
            targets,
            unit_figures,
            vintage,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_packed_month_reads_nulls_as_none_and_refuses_a_short_one() {
        let (period, f) = parse_packed("2026-10,120,,-3,0,,,,2,17").unwrap();
        assert_eq!(period, "2026-10");
        assert_eq!(
            f,
            [
                Some(120),
                None,
                Some(-3),
                Some(0),
                None,
                None,
                None,
                Some(2),
                Some(17)
            ]
        );
        assert!(parse_packed("2026-10,1,2").is_err());
        assert!(parse_packed("2026-10,x,,,,,,,1,1").is_err());
    }
}
