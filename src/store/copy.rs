//! PostgreSQL's binary `COPY` format, read and written here for the bulk paths: an evaluation's
//! read of the packed years, and a merge's rewrite of them. Binary output costs the server and
//! this side far less than decimal text.
//!
//! The format: a signature, flags and a header extension; then for each row a field count and
//! every field as a length (−1 for NULL) and its bytes; −1 as the count ends it.

/// The most columns a row may have here.
pub const MAX_COLUMNS: usize = 24;

/// One row's fields (the first `columns` of them), `None` for NULL.
pub type Fields<'a> = [Option<&'a [u8]>; MAX_COLUMNS];

const SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";

/// Reads `COPY … TO STDOUT (FORMAT binary)` output as it arrives.
pub struct BinaryCopyReader {
    columns: usize,
    /// Bytes of an unfinished row (or header) carried to the next chunk.
    carry: Vec<u8>,
    header_read: bool,
    ended: bool,
}

impl BinaryCopyReader {
    /// A reader of rows of exactly `columns` fields.
    pub fn new(columns: usize) -> BinaryCopyReader {
        assert!(
            columns <= MAX_COLUMNS,
            "{columns} columns, at most {MAX_COLUMNS}"
        );
        BinaryCopyReader {
            columns,
            carry: Vec::new(),
            header_read: false,
            ended: false,
        }
    }

    /// Takes the next chunk of output and hands every complete row to `row`.
    pub fn feed(
        &mut self,
        chunk: &[u8],
        mut row: impl FnMut(&Fields<'_>) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        if self.carry.is_empty() {
            let used = self.rows(chunk, &mut row)?;
            self.carry.extend_from_slice(&chunk[used..]);
        } else {
            let mut data = std::mem::take(&mut self.carry);
            data.extend_from_slice(chunk);
            let used = self.rows(&data, &mut row)?;
            data.drain(..used);
            self.carry = data;
        }
        Ok(())
    }

    /// Reads the complete rows at the start of `data`; returns how many bytes they took.
    fn rows(
        &mut self,
        data: &[u8],
        row: &mut impl FnMut(&Fields<'_>) -> anyhow::Result<()>,
    ) -> anyhow::Result<usize> {
        let mut at = 0;
        if !self.header_read {
            let fixed = SIGNATURE.len() + 8;
            if data.len() < fixed {
                return Ok(0);
            }
            anyhow::ensure!(data.starts_with(SIGNATURE), "not binary COPY output");
            let ext = be_u32(&data[fixed - 4..fixed]) as usize;
            if data.len() < fixed + ext {
                return Ok(0);
            }
            at = fixed + ext;
            self.header_read = true;
        }
        while !self.ended {
            let Some(count) = data.get(at..at + 2) else {
                break;
            };
            let count = i16::from_be_bytes([count[0], count[1]]);
            if count == -1 {
                self.ended = true;
                at += 2;
                break;
            }
            anyhow::ensure!(
                count as usize == self.columns,
                "COPY row of {count} fields, {} expected",
                self.columns
            );
            let mut fields: Fields<'_> = [None; MAX_COLUMNS];
            let mut p = at + 2;
            let mut complete = true;
            for f in fields.iter_mut().take(self.columns) {
                let Some(len) = data.get(p..p + 4) else {
                    complete = false;
                    break;
                };
                let len = i32::from_be_bytes([len[0], len[1], len[2], len[3]]);
                p += 4;
                if len < 0 {
                    continue;
                }
                let Some(bytes) = data.get(p..p + len as usize) else {
                    complete = false;
                    break;
                };
                *f = Some(bytes);
                p += len as usize;
            }
            if !complete {
                break;
            }
            row(&fields)?;
            at = p;
        }
        Ok(at)
    }

    /// Whether the output ended properly (the trailer read, nothing left over).
    pub fn finish(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.ended && self.carry.is_empty(),
            "COPY output ended early ({} bytes of an unfinished row)",
            self.carry.len()
        );
        Ok(())
    }
}

/// Builds `COPY … FROM STDIN (FORMAT binary)` input.
pub struct BinaryCopyWriter {
    buf: Vec<u8>,
    rows: u64,
}

impl Default for BinaryCopyWriter {
    fn default() -> BinaryCopyWriter {
        let mut buf = SIGNATURE.to_vec();
        buf.extend_from_slice(&0u32.to_be_bytes());
        buf.extend_from_slice(&0u32.to_be_bytes());
        BinaryCopyWriter { buf, rows: 0 }
    }
}

impl BinaryCopyWriter {
    /// Starts a row of `fields` fields.
    pub fn row(&mut self, fields: i16) {
        self.rows += 1;
        self.buf.extend_from_slice(&fields.to_be_bytes());
    }

    /// Rows started so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// A field of raw bytes (`bytea`, or `text` as UTF-8).
    pub fn bytes(&mut self, b: &[u8]) -> anyhow::Result<()> {
        let len = i32::try_from(b.len())
            .map_err(|_| anyhow::anyhow!("field of {} bytes is too long to COPY", b.len()))?;
        self.buf.extend_from_slice(&len.to_be_bytes());
        self.buf.extend_from_slice(b);
        Ok(())
    }

    /// A field of raw bytes, or NULL.
    pub fn opt_bytes(&mut self, b: Option<&[u8]>) -> anyhow::Result<()> {
        match b {
            Some(b) => self.bytes(b),
            None => {
                self.buf.extend_from_slice(&(-1i32).to_be_bytes());
                Ok(())
            }
        }
    }

    /// A `bigint` (int8) field.
    pub fn int8(&mut self, v: i64) {
        self.buf.extend_from_slice(&8i32.to_be_bytes());
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    /// An `integer` (int4) field.
    pub fn int4(&mut self, v: i32) {
        self.buf.extend_from_slice(&4i32.to_be_bytes());
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    /// The input written so far, to send while the rest is written (the signature with the
    /// first part); [`BinaryCopyWriter::finish`] then gives the rest.
    pub fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }

    /// Bytes written and not taken yet.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// The finished input, with its trailer.
    pub fn finish(mut self) -> Vec<u8> {
        self.buf.extend_from_slice(&(-1i16).to_be_bytes());
        self.buf
    }
}

fn be_u32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// A binary integer field: two, four or eight bytes, big-endian.
pub fn int_field(f: Option<&[u8]>) -> anyhow::Result<Option<i64>> {
    Ok(match f {
        None => None,
        Some(&[a, b]) => Some(i64::from(i16::from_be_bytes([a, b]))),
        Some(&[a, b, c, d]) => Some(i64::from(i32::from_be_bytes([a, b, c, d]))),
        Some(b) if b.len() == 8 => be_i64(b),
        Some(b) => anyhow::bail!("integer field of {} bytes", b.len()),
    })
}

/// Eight bytes as a big-endian signed integer (`int8send`'s form); none for another length.
pub fn be_i64(b: &[u8]) -> Option<i64> {
    b.try_into().ok().map(i64::from_be_bytes)
}

/// A text field, `None` for NULL.
pub fn opt_text_field(f: Option<&[u8]>) -> anyhow::Result<Option<String>> {
    f.map(|b| Ok(std::str::from_utf8(b)?.to_string()))
        .transpose()
}

/// A text field that may not be NULL.
pub fn text_field(f: Option<&[u8]>) -> anyhow::Result<String> {
    opt_text_field(f)?.ok_or_else(|| anyhow::anyhow!("text field is NULL"))
}

/// Runs `COPY (select) TO STDOUT (FORMAT binary)` and hands every row of `columns` fields to
/// `row` as it arrives: for reading a whole table, several times cheaper than sqlx's rows.
/// (COPY takes no parameters: `select` must hold none.)
pub async fn copy_out(
    pool: &sqlx::PgPool,
    select: &str,
    columns: usize,
    row: impl FnMut(&Fields<'_>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut conn = pool.acquire().await?;
    copy_out_on(&mut conn, select, columns, row).await
}

/// [`copy_out`] on a given connection: inside its transaction, or reading its temporary tables.
pub async fn copy_out_on(
    conn: &mut sqlx::PgConnection,
    select: &str,
    columns: usize,
    mut row: impl FnMut(&Fields<'_>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    use futures_util::TryStreamExt;
    let mut stream = conn
        .copy_out_raw(&format!("COPY ({select}) TO STDOUT (FORMAT binary)"))
        .await?;
    let mut reader = BinaryCopyReader::new(columns);
    while let Some(chunk) = stream.try_next().await? {
        reader.feed(&chunk, &mut row)?;
    }
    reader.finish()
}

/// On PostgreSQL, a transaction whose snapshot every read of a `Store::power_day_table` takes
/// (`pg_export_snapshot`), so that they all see the same days: two halves of a partition read
/// from different moments could each miss the other's version of a day revised in between.
pub struct SharedSnapshot {
    pub tx: sqlx::Transaction<'static, sqlx::Postgres>,
    pub id: std::sync::Arc<str>,
}

impl SharedSnapshot {
    pub async fn begin(pool: &sqlx::PgPool) -> anyhow::Result<SharedSnapshot> {
        let mut tx = pool.begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            .execute(&mut *tx)
            .await?;
        let id: String = sqlx::query_scalar("SELECT pg_export_snapshot()")
            .fetch_one(&mut *tx)
            .await?;
        // Formatted into `SET TRANSACTION SNAPSHOT`: hexadecimal digits and dashes only.
        anyhow::ensure!(
            id.chars().all(|c| c.is_ascii_hexdigit() || c == '-'),
            "unexpected snapshot id {id:?}"
        );
        Ok(SharedSnapshot { tx, id: id.into() })
    }
}

/// `select` as binary COPY, in `snapshot` when given.
pub async fn copy_out_in(
    pool: &sqlx::PgPool,
    snapshot: Option<&str>,
    select: &str,
    columns: usize,
    row: impl FnMut(&Fields<'_>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    if snapshot.is_none() {
        return copy_out(pool, select, columns, row).await;
    }
    let mut tx = begin_in(pool, snapshot).await?;
    copy_out_on(&mut tx, select, columns, row).await?;
    tx.rollback().await?;
    Ok(())
}

/// A transaction for reading, in `snapshot` when given (a [`SharedSnapshot`]'s id); the
/// caller rolls it back.
pub async fn begin_in(
    pool: &sqlx::PgPool,
    snapshot: Option<&str>,
) -> anyhow::Result<sqlx::Transaction<'static, sqlx::Postgres>> {
    let mut tx = pool.begin().await?;
    if let Some(id) = snapshot {
        for sql in [
            "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ".to_string(),
            format!("SET TRANSACTION SNAPSHOT '{id}'"),
        ] {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&mut *tx)
                .await?;
        }
    }
    Ok(tx)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Binary COPY output of rows of one text field and nine nullable 8-byte integers,
    /// with a header extension the reader must skip.
    fn copy_output(rows: &[(&str, [Option<i64>; 9])]) -> Vec<u8> {
        let mut out = SIGNATURE.to_vec();
        out.extend_from_slice(&0u32.to_be_bytes());
        out.extend_from_slice(&4u32.to_be_bytes());
        out.extend_from_slice(b"ext!");
        for (code, f) in rows {
            out.extend_from_slice(&10i16.to_be_bytes());
            out.extend_from_slice(&(code.len() as i32).to_be_bytes());
            out.extend_from_slice(code.as_bytes());
            for v in f {
                match v {
                    None => out.extend_from_slice(&(-1i32).to_be_bytes()),
                    Some(v) => {
                        out.extend_from_slice(&8i32.to_be_bytes());
                        out.extend_from_slice(&v.to_be_bytes());
                    }
                }
            }
        }
        out.extend_from_slice(&(-1i16).to_be_bytes());
        out
    }

    #[test]
    fn rows_are_read_whatever_the_chunk_boundaries() {
        let rows = [
            (
                "913307000000000008",
                [
                    Some(120),
                    None,
                    Some(-3),
                    Some(0),
                    None,
                    Some(i64::MAX),
                    Some(i64::MIN),
                    Some(2),
                    Some(17),
                ],
            ),
            ("91330700000000001B", [None; 9]),
        ];
        let out = copy_output(&rows);
        for size in [1, 3, 7, 64, out.len()] {
            let mut r = BinaryCopyReader::new(10);
            let mut got = Vec::new();
            for chunk in out.chunks(size) {
                r.feed(chunk, |f| {
                    let code = String::from_utf8(f[0].unwrap().to_vec()).unwrap();
                    let mut v = [None; 9];
                    for (j, x) in v.iter_mut().enumerate() {
                        *x = int_field(f[j + 1])?;
                    }
                    got.push((code, v));
                    Ok(())
                })
                .unwrap();
            }
            r.finish().unwrap();
            let want: Vec<_> = rows.iter().map(|(c, v)| (c.to_string(), *v)).collect();
            assert_eq!(got, want, "chunks of {size}");
        }
        let mut cut = BinaryCopyReader::new(10);
        cut.feed(&out[..out.len() - 5], |_| Ok(())).unwrap();
        assert!(
            cut.finish().is_err(),
            "a cut stream is an error, not fewer rows"
        );
        assert!(
            BinaryCopyReader::new(9).feed(&out, |_| Ok(())).is_err(),
            "rows of another width"
        );
        assert!(
            BinaryCopyReader::new(10)
                .feed(b"PGCOPY\nXXXXXXXXXXXXXXXXXXXXX", |_| Ok(()))
                .is_err()
        );
        assert_eq!(int_field(Some(&[0, 7])).unwrap(), Some(7));
        assert_eq!(int_field(Some(&[255, 255, 255, 254])).unwrap(), Some(-2));
        assert!(int_field(Some(&[1, 2, 3])).is_err());
    }

    #[test]
    fn what_the_writer_writes_the_reader_reads() {
        let mut w = BinaryCopyWriter::default();
        for (year, code, blob) in [(2026, "甲", vec![1u8, 2, 3]), (-1, "", vec![])] {
            w.row(3);
            w.int4(year);
            w.bytes(code.as_bytes()).unwrap();
            w.bytes(&blob).unwrap();
        }
        let out = w.finish();
        let mut r = BinaryCopyReader::new(3);
        let mut got = Vec::new();
        r.feed(&out, |f| {
            got.push((
                int_field(f[0])?,
                f[1].map(<[u8]>::to_vec),
                f[2].map(<[u8]>::to_vec),
            ));
            Ok(())
        })
        .unwrap();
        r.finish().unwrap();
        assert_eq!(
            got,
            vec![
                (
                    Some(2026),
                    Some("甲".as_bytes().to_vec()),
                    Some(vec![1, 2, 3])
                ),
                (Some(-1), Some(vec![]), Some(vec![])),
            ]
        );
    }
}
