//! The 旬 evaluation's read of daily electricity: every enterprise's days of a few spans
//! (millions of rows at 500,000 enterprises). Stepped directly on SQLite (`sqlite_raw`) and
//! read as binary COPY on PostgreSQL (`copy`): through sqlx every row cost ~4 µs. A row's
//! credit code is matched by its bytes (the rows of a day come in the order of the day
//! before, so the next enterprise is tried first) and parsed once an enterprise; a day's text
//! is parsed once while it repeats.

use std::collections::HashMap;
use std::ops::RangeInclusive;

use chrono::NaiveDate;

use super::Store;
use crate::credit_code::CreditCode;
use crate::power::Days;

/// The days read so far, by enterprise in the order first met.
#[derive(Default)]
struct DaysBuilder {
    index: HashMap<Vec<u8>, u32>,
    codes: Vec<Vec<u8>>,
    days: Vec<Vec<(NaiveDate, i64)>>,
    /// The enterprise after the last row's: the likeliest next.
    next: usize,
    /// The last day's text and what it parsed to.
    day_text: Vec<u8>,
    day: Option<NaiveDate>,
}

impl DaysBuilder {
    /// The index of the enterprise with credit code `code` (its text's bytes).
    fn enterprise(&mut self, code: &[u8]) -> usize {
        let i = match self.codes.get(self.next) {
            Some(c) if c.as_slice() == code => self.next,
            _ => match self.index.get(code) {
                Some(i) => *i as usize,
                None => {
                    let i = self.codes.len();
                    self.index.insert(code.to_vec(), i as u32);
                    self.codes.push(code.to_vec());
                    self.days.push(Vec::with_capacity(16));
                    i
                }
            },
        };
        self.next = i + 1;
        i
    }

    /// `text` as a day; none if it is not one.
    fn day(&mut self, text: &[u8]) -> Option<NaiveDate> {
        if text != self.day_text.as_slice() {
            self.day_text.clear();
            self.day_text.extend_from_slice(text);
            self.day = std::str::from_utf8(text).ok().and_then(|t| t.parse().ok());
        }
        self.day
    }

    /// Adds a row: enterprise `i`'s figure of `day`.
    fn push(&mut self, i: usize, day: Option<NaiveDate>, kwh: Option<i64>) {
        if let (Some(d), Some(k), Some(days)) = (day, kwh, self.days.get_mut(i)) {
            days.push((d, k));
        }
    }

    /// Adds every day of `other` (another span's read).
    fn merge(&mut self, other: DaysBuilder) {
        for (code, days) in other.codes.iter().zip(other.days) {
            let i = self.enterprise(code);
            if let Some(mine) = self.days.get_mut(i) {
                mine.extend(days);
            }
        }
    }

    /// The days by enterprise; rows of a code that does not parse are left out.
    fn finish(self) -> HashMap<CreditCode, Days> {
        let mut out = HashMap::with_capacity(self.codes.len());
        for (code, days) in self.codes.into_iter().zip(self.days) {
            let Some(code) = std::str::from_utf8(&code)
                .ok()
                .and_then(|c| c.parse::<CreditCode>().ok())
            else {
                continue;
            };
            if !days.is_empty() {
                out.insert(code, days.into_iter().collect());
            }
        }
        out
    }
}

impl Store {
    /// Daily electricity of every enterprise on the days of `spans`. Each span is read on a
    /// connection of its own, at once (a SQLite file through [`Store::open_reads`]), so that
    /// the two spans of a 旬's evaluation take both cores.
    pub async fn power_days(
        &self,
        spans: &[RangeInclusive<NaiveDate>],
    ) -> anyhow::Result<HashMap<CreditCode, Days>> {
        let reads = self.open_reads().await?;
        let tasks: Vec<_> = spans
            .iter()
            .map(|span| tokio::spawn(read_span(reads.clone(), span.clone())))
            .collect();
        let mut all = DaysBuilder::default();
        for t in tasks {
            all.merge(t.await??);
        }
        Ok(all.finish())
    }
}

/// One span's rows: stepped directly on SQLite, binary COPY on PostgreSQL.
async fn read_span(store: Store, span: RangeInclusive<NaiveDate>) -> anyhow::Result<DaysBuilder> {
    let mut b = DaysBuilder::default();
    let (first, last) = (span.start().to_string(), span.end().to_string());
    match &store {
        Store::Sqlite(p) => {
            let sql = "SELECT credit_code, day, kwh FROM power_daily WHERE day >= $1 AND day <= $2";
            let mut conn = p.acquire().await?;
            super::sqlite_raw::with_handle(&mut conn, |h| {
                let mut q = super::sqlite_raw::Statement::prepare(h, sql)?;
                q.bind_text(1, &first)?;
                q.bind_text(2, &last)?;
                while q.step()? {
                    let kwh = q.int(2);
                    let i = b.enterprise(q.text(0));
                    let day = b.day(q.text(1));
                    b.push(i, day, kwh);
                }
                Ok(())
            })
            .await?;
        }
        Store::Postgres(p) => {
            // Days formatted here (COPY takes no parameters): `YYYY-MM-DD`, nothing else.
            let sql = format!(
                "SELECT credit_code, day, kwh FROM power_daily WHERE day >= '{first}' AND day <= '{last}'"
            );
            super::copy::copy_out(p, &sql, 3, |f| {
                let kwh = super::copy::int_field(f[2])?;
                let i = b.enterprise(f[0].unwrap_or_default());
                let day = b.day(f[1].unwrap_or_default());
                b.push(i, day, kwh);
                Ok(())
            })
            .await?;
        }
    }
    Ok(b)
}
