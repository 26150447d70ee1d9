//! Reads an evaluation window ([`Window`]: whose months, which months, which figures — the
//! analysis declares it) from the packed years (`submission_year`, at most three rows an
//! enterprise rather than 24), decoded straight into the analysis's fixed-size arrays. Each
//! backend has its fast path behind [`Store::load_window`]: SQLite stepped directly, PostgreSQL
//! by binary COPY in two halves; either way the rows are read on one thread and decoded on
//! another, since reading and decoding take about as long as each other.

use anyhow::Context;
use futures_util::TryStreamExt;
use sqlx::{PgPool, SqlitePool};

use super::copy::{BinaryCopyReader, int_field};
use super::locator::Locator;
use super::{Store, packed, sqlite_raw};
use crate::analysis::Calendar;
use crate::analysis::window::{self, Month, Scope, Window, WindowData};
use crate::period::Period;

// A packed month's fields are the analysis's figures of a month, numbered alike.
const _: () = assert!(
    packed::N_FIELDS == window::FIGURES
        && packed::REVISION == window::REVISION
        && packed::RUN_ID == window::RUN
);

/// Bytes of rows handed from the reading thread to the decoding one at a time.
const READ_BATCH: usize = 256 << 10;

/// Turns packed years into the series of a window's enterprises.
struct Absorber {
    cal: Calendar,
    locate: Locator,
    data: WindowData,
    packs: u64,
}

impl Absorber {
    fn new(w: &Window) -> Absorber {
        Absorber {
            cal: w.cal,
            locate: Locator::new(w.enterprises()),
            data: WindowData::new(w),
            packs: 0,
        }
    }

    /// One packed year of one enterprise, read from stream `k`.
    fn pack(&mut self, k: usize, code: &[u8], year: i64, pack: &[u8]) -> anyhow::Result<()> {
        self.packs += 1;
        let Some(e) = self.locate.find(k, code) else {
            return Ok(());
        };
        let year = i32::try_from(year)?;
        let (cal, data) = (&self.cal, &mut self.data);
        let index = |month| Period::new(year, month).and_then(|t| cal.index(t));
        packed::decode_some(
            pack,
            |month| index(month).map_or(0, Window::figures),
            |month, present, values| {
                if let Some(i) = index(month) {
                    data.absorb(e, i, Month { present, values });
                }
            },
        )
        .with_context(|| format!("submission_year {year} {}", String::from_utf8_lossy(code)))
    }

    /// Every row of a batch written by [`copy_row`], read from stream `k`.
    fn batch(&mut self, k: usize, batch: &[u8]) -> anyhow::Result<()> {
        each_copied(batch, |code, year, pack| self.pack(k, code, year, pack))
    }
}

/// Appends one `submission_year` row to a batch: the code's length and bytes, the year, the
/// pack's length and bytes.
fn copy_row(batch: &mut Vec<u8>, code: &[u8], year: i64, pack: &[u8]) -> anyhow::Result<()> {
    batch.push(u8::try_from(code.len())?);
    batch.extend_from_slice(code);
    batch.extend_from_slice(&year.to_le_bytes());
    batch.extend_from_slice(&u32::try_from(pack.len())?.to_le_bytes());
    batch.extend_from_slice(pack);
    Ok(())
}

/// Calls `f` with each row of a batch written by [`copy_row`].
fn each_copied(
    batch: &[u8],
    mut f: impl FnMut(&[u8], i64, &[u8]) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let cut = || anyhow::anyhow!("a batch of packed years is cut short");
    let mut rest = batch;
    while let Some((&n, tail)) = rest.split_first() {
        let (code, tail) = tail.split_at_checked(usize::from(n)).ok_or_else(cut)?;
        let (year, tail) = tail.split_first_chunk::<8>().ok_or_else(cut)?;
        let (len, tail) = tail.split_first_chunk::<4>().ok_or_else(cut)?;
        let (pack, tail) = tail
            .split_at_checked(u32::from_le_bytes(*len) as usize)
            .ok_or_else(cut)?;
        f(code, i64::from_le_bytes(*year), pack)?;
        rest = tail;
    }
    Ok(())
}

fn new_batch() -> Vec<u8> {
    Vec::with_capacity(READ_BATCH + 4096)
}

impl Store {
    /// Reads the months of a window: one series per enterprise of its scope, in the scope's
    /// order, with the figures the window names.
    pub async fn load_window(&self, w: &Window<'_>) -> anyhow::Result<WindowData> {
        let started = std::time::Instant::now();
        let (first_year, last_year) = w.years();
        let select = format!(
            "SELECT credit_code, year, months FROM submission_year WHERE year >= {first_year} AND year <= {last_year}"
        );
        let absorber = Absorber::new(w);
        let absorber = match (self, w.scope) {
            (_, Scope::Few(few)) => self.read_by_key(absorber, few, w.years()).await?,
            (Store::Sqlite(p), Scope::Registry(_)) => scan_sqlite(p, absorber, &select).await?,
            (Store::Postgres(p), Scope::Registry(_)) => copy_postgres(p, absorber, &select).await?,
        };
        tracing::debug!(
            enterprises = absorber.data.series.len(),
            packs = absorber.packs,
            ms = started.elapsed().as_millis() as u64,
            "evaluation: packed years {first_year} to {last_year} read"
        );
        Ok(absorber.data)
    }

    /// A few enterprises' packed years, looked up by key.
    async fn read_by_key(
        &self,
        mut absorber: Absorber,
        few: &[crate::registry::Enterprise],
        (first_year, last_year): (i32, i32),
    ) -> anyhow::Result<Absorber> {
        let codes: Vec<String> = few.iter().map(|e| e.credit_code.to_string()).collect();
        let rows: Vec<(String, i64, Vec<u8>)> = match self {
            Store::Sqlite(p) => {
                sqlx::query_as(
                    "SELECT credit_code, year, months FROM submission_year \
                     WHERE year >= $1 AND year <= $2 \
                     AND credit_code IN (SELECT value FROM json_each($3))",
                )
                .bind(first_year)
                .bind(last_year)
                .bind(serde_json::to_string(&codes)?)
                .fetch_all(p)
                .await?
            }
            Store::Postgres(p) => {
                sqlx::query_as(
                    "SELECT credit_code, year::BIGINT, months FROM submission_year \
                     WHERE year >= $1 AND year <= $2 AND credit_code = ANY($3)",
                )
                .bind(first_year)
                .bind(last_year)
                .bind(&codes)
                .fetch_all(p)
                .await?
            }
        };
        for (code, year, pack) in &rows {
            absorber.pack(0, code.as_bytes(), *year, pack)?;
        }
        Ok(absorber)
    }
}

/// SQLite: every row of `select` stepped directly (sqlx would cost ~4 µs a row), copied into
/// batches that another thread decodes.
async fn scan_sqlite(
    p: &SqlitePool,
    mut absorber: Absorber,
    select: &str,
) -> anyhow::Result<Absorber> {
    let mut conn = p.acquire().await?;
    let (batches, received) = std::sync::mpsc::sync_channel::<Vec<u8>>(4);
    sqlite_raw::with_handle(&mut conn, |h| {
        let mut q = sqlite_raw::Statement::prepare(h, select)?;
        std::thread::scope(|scope| {
            let absorber = &mut absorber;
            let decoder = scope.spawn(move || -> anyhow::Result<()> {
                for batch in received {
                    absorber.batch(0, &batch)?;
                }
                Ok(())
            });
            let mut read = || -> anyhow::Result<()> {
                let mut batch = new_batch();
                let mut code = Vec::with_capacity(18);
                while q.step()? {
                    // One column borrowed at a time (sqlite_raw's readers take `&mut`): the
                    // code is copied out first.
                    code.clear();
                    code.extend_from_slice(q.text(0));
                    let year = q.int(1).unwrap_or_default();
                    copy_row(&mut batch, &code, year, q.blob(2))?;
                    // A closed channel: the decoder stopped on an error, which join returns.
                    if batch.len() >= READ_BATCH
                        && batches
                            .send(std::mem::replace(&mut batch, new_batch()))
                            .is_err()
                    {
                        return Ok(());
                    }
                }
                let _ = batches.send(batch);
                Ok(())
            };
            let read = read();
            drop(batches);
            let decoded = decoder
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            read.and(decoded)
        })
    })
    .await?;
    Ok(absorber)
}

/// PostgreSQL: binary COPY is several times faster than decoding rows, and the two halves of
/// the table come from two server processes at once, both reading the snapshot the first one
/// took; a blocking thread decodes while the rows arrive.
async fn copy_postgres(
    p: &PgPool,
    mut absorber: Absorber,
    select: &str,
) -> anyhow::Result<Absorber> {
    let begin = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
    let mut first = p.begin_with(begin).await?;
    let snapshot: String = sqlx::query_scalar("SELECT pg_export_snapshot()")
        .fetch_one(&mut *first)
        .await?;
    let mut second = p.begin_with(begin).await?;
    let set = format!("SET TRANSACTION SNAPSHOT '{snapshot}'");
    sqlx::query(sqlx::AssertSqlSafe(set))
        .execute(&mut *second)
        .await?;
    // Split by position in the table (each process scans half of it by TID range).
    let pages: i64 = sqlx::query_scalar(
        "SELECT GREATEST(relpages, 0)::BIGINT FROM pg_class WHERE oid = 'submission_year'::regclass",
    )
    .fetch_one(&mut *first)
    .await?;
    let half = format!("'({},0)'::tid", pages / 2);
    let copy = |part: &str| format!("COPY ({select} AND {part}) TO STDOUT (FORMAT binary)");
    let front = first.copy_out_raw(&copy(&format!("ctid < {half}"))).await?;
    let back = second
        .copy_out_raw(&copy(&format!("ctid >= {half}")))
        .await?;
    let both = futures_util::stream::select(front.map_ok(|c| (0, c)), back.map_ok(|c| (1, c)));
    // The decoder owns the series while it runs, and hands them back.
    let (batches, mut received) = tokio::sync::mpsc::channel::<(usize, Vec<u8>)>(4);
    let decoder = tokio::task::spawn_blocking(move || -> anyhow::Result<Absorber> {
        while let Some((k, batch)) = received.blocking_recv() {
            absorber.batch(k, &batch)?;
        }
        Ok(absorber)
    });
    let read = read_copies(both, batches).await;
    let absorber = decoder.await??;
    read?;
    first.rollback().await?;
    second.rollback().await?;
    Ok(absorber)
}

/// Turns the two COPY streams into batches of rows (tagged with their stream) for the decoder;
/// waits only while the decoder is behind.
async fn read_copies<B: AsRef<[u8]>>(
    mut both: impl futures_util::Stream<Item = sqlx::Result<(usize, B)>> + Unpin,
    batches: tokio::sync::mpsc::Sender<(usize, Vec<u8>)>,
) -> anyhow::Result<()> {
    let mut readers = [BinaryCopyReader::new(3), BinaryCopyReader::new(3)];
    let mut out = [new_batch(), new_batch()];
    while let Some((k, chunk)) = both.try_next().await? {
        let batch = &mut out[k];
        readers[k].feed(chunk.as_ref(), |fields| {
            let year = int_field(fields[1])?.unwrap_or_default();
            copy_row(
                batch,
                fields[0].unwrap_or_default(),
                year,
                fields[2].unwrap_or_default(),
            )
        })?;
        // A closed channel: the decoder stopped on an error, which its join returns.
        if batch.len() >= READ_BATCH {
            let full = std::mem::replace(batch, new_batch());
            if batches.send((k, full)).await.is_err() {
                return Ok(());
            }
        }
    }
    for r in &readers {
        r.finish()?;
    }
    for (k, batch) in out.into_iter().enumerate() {
        let _ = batches.send((k, batch)).await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copied_rows_come_back_whole_and_a_cut_batch_is_an_error() {
        let mut batch = Vec::new();
        copy_row(&mut batch, b"9133078152601815XT", 2026, &[1, 2, 3]).unwrap();
        copy_row(&mut batch, b"913307811860913921", -1, &[]).unwrap();
        let mut got = Vec::new();
        each_copied(&batch, |c, y, p| {
            got.push((String::from_utf8(c.to_vec()).unwrap(), y, p.to_vec()));
            Ok(())
        })
        .unwrap();
        assert_eq!(
            got,
            vec![
                ("9133078152601815XT".to_string(), 2026, vec![1, 2, 3]),
                ("913307811860913921".to_string(), -1, vec![]),
            ]
        );
        for cut in 1..batch.len() {
            if cut == 34 {
                continue; // the end of the first row
            }
            assert!(
                each_copied(&batch[..cut], |_, _, _| Ok(())).is_err(),
                "{cut}"
            );
        }
    }
}
