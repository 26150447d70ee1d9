//! Direct SQLite calls for the bulk paths, where sqlx's per-row cost would dominate: the
//! evaluation's reads (the registry, the packed years, every alert) and its writes of new
//! alerts, an import's merge into `submission_year` (`submissions.rs`), and the packing of an
//! older database's rows (`years.rs`). sqlx hands every row across to its worker thread (~4 µs
//! each), so a million rows cost seconds, while a statement stepped here costs well under a
//! microsecond a row.
//!
//! sqlx supports this: [`SqliteConnection::lock_handle`] takes the database handle from its
//! worker for as long as the returned guard lives, and no other call can use the connection
//! meanwhile. [`with_handle`] runs a closure with that handle on the current thread (moving the
//! runtime's other tasks off it when it can, since the work lasts seconds); [`Statement`] wraps
//! the few C calls those paths need, so that the `unsafe` code stays in this file.
#![allow(unsafe_code)]

use std::ffi::{CStr, c_int};
use std::marker::PhantomData;
use std::ptr::{self, NonNull};

use anyhow::anyhow;
use libsqlite3_sys as ffi;
use sqlx::SqliteConnection;

/// The raw database handle of a locked connection, valid for the closure given it.
pub struct Handle<'a> {
    db: NonNull<ffi::sqlite3>,
    _locked: PhantomData<&'a mut ()>,
}

/// Runs `f` with the connection's database handle, blocking the current thread for the work
/// (on a multi-threaded runtime its other tasks move to other workers meanwhile).
pub async fn with_handle<T>(
    conn: &mut SqliteConnection,
    f: impl FnOnce(&mut Handle<'_>) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    // The worker takes the handle back (`UnlockDb`) only after it has run every command sent
    // before: a round trip first makes sure it holds the handle and has nothing queued, so the
    // lock below is granted by our own `UnlockDb` and never while the worker is between
    // commands (without it, `early_merges_partial_and_refused_imports_keep_rows_and_packs_equal`
    // hung about once in ten runs, the worker parked on the lock).
    sqlx::Connection::ping(&mut *conn).await?;
    let mut locked = conn.lock_handle().await?;
    let mut handle = Handle {
        db: locked.as_raw_handle(),
        _locked: PhantomData,
    };
    let run = move || f(&mut handle);
    let result = match tokio::runtime::Handle::current().runtime_flavor() {
        tokio::runtime::RuntimeFlavor::MultiThread => tokio::task::block_in_place(run),
        _ => run(),
    };
    drop(locked);
    result
}

/// A prepared statement; finalized when dropped. Text and bytes read from a row borrow the
/// statement mutably, so that the borrow checker lets them live neither past the next
/// [`Statement::step`] or [`Statement::reset`] nor past another read of the row, which may
/// convert a column and free the buffer of an earlier one (SQLite's `sqlite3_column_blob`
/// documentation): copy a column out before reading the next. [`Statement::int`] and
/// [`Statement::opt_string`] return owned values and need only `&self`.
pub struct Statement<'h> {
    stmt: NonNull<ffi::sqlite3_stmt>,
    db: NonNull<ffi::sqlite3>,
    _handle: PhantomData<&'h Handle<'h>>,
}

fn error(db: NonNull<ffi::sqlite3>, code: c_int, sql: Option<&str>) -> anyhow::Error {
    // SAFETY: `db` is the open handle of a locked connection; sqlite3_errmsg returns a
    // NUL-terminated string owned by SQLite, copied out here before any further call.
    let msg = unsafe { CStr::from_ptr(ffi::sqlite3_errmsg(db.as_ptr())) }
        .to_string_lossy()
        .into_owned();
    match sql {
        Some(sql) => anyhow!("SQLite error {code}: {msg} (in: {sql})"),
        None => anyhow!("SQLite error {code}: {msg}"),
    }
}

impl<'h> Statement<'h> {
    /// Prepares one SQL statement.
    pub fn prepare(handle: &'h Handle<'_>, sql: &str) -> anyhow::Result<Statement<'h>> {
        let db = handle.db;
        let len = c_int::try_from(sql.len()).map_err(|_| anyhow!("SQL text too long"))?;
        let mut stmt = ptr::null_mut();
        // SAFETY: `db` is valid while `handle` is borrowed; the SQL pointer and length describe
        // a live UTF-8 buffer; SQLite writes the new statement (or null) into `stmt`.
        let rc = unsafe {
            ffi::sqlite3_prepare_v2(
                db.as_ptr(),
                sql.as_ptr().cast(),
                len,
                &mut stmt,
                ptr::null_mut(),
            )
        };
        if rc != ffi::SQLITE_OK {
            return Err(error(db, rc, Some(sql)));
        }
        let stmt = NonNull::new(stmt).ok_or_else(|| anyhow!("empty SQL statement: {sql}"))?;
        Ok(Statement {
            stmt,
            db,
            _handle: PhantomData,
        })
    }

    fn check(&self, rc: c_int) -> anyhow::Result<()> {
        if rc == ffi::SQLITE_OK {
            Ok(())
        } else {
            Err(error(self.db, rc, None))
        }
    }

    /// Binds text to parameter `i` (1-based); SQLite copies it.
    pub fn bind_text(&mut self, i: c_int, s: &str) -> anyhow::Result<()> {
        let len = c_int::try_from(s.len()).map_err(|_| anyhow!("text too long to bind"))?;
        // SAFETY: the statement is live; SQLITE_TRANSIENT makes SQLite copy the bytes before
        // returning, so the borrow of `s` may end here.
        let rc = unsafe {
            ffi::sqlite3_bind_text(
                self.stmt.as_ptr(),
                i,
                s.as_ptr().cast(),
                len,
                ffi::SQLITE_TRANSIENT(),
            )
        };
        self.check(rc)
    }

    /// Binds an integer to parameter `i` (1-based).
    pub fn bind_int(&mut self, i: c_int, v: i64) -> anyhow::Result<()> {
        // SAFETY: the statement is live.
        let rc = unsafe { ffi::sqlite3_bind_int64(self.stmt.as_ptr(), i, v) };
        self.check(rc)
    }

    /// Binds a text or NULL to parameter `i` (1-based).
    pub fn bind_opt_text(&mut self, i: c_int, s: Option<&str>) -> anyhow::Result<()> {
        match s {
            Some(s) => self.bind_text(i, s),
            None => {
                // SAFETY: the statement is live.
                let rc = unsafe { ffi::sqlite3_bind_null(self.stmt.as_ptr(), i) };
                self.check(rc)
            }
        }
    }

    /// Binds an integer or NULL to parameter `i` (1-based).
    pub fn bind_opt_int(&mut self, i: c_int, v: Option<i64>) -> anyhow::Result<()> {
        match v {
            Some(v) => self.bind_int(i, v),
            None => {
                // SAFETY: the statement is live.
                let rc = unsafe { ffi::sqlite3_bind_null(self.stmt.as_ptr(), i) };
                self.check(rc)
            }
        }
    }

    /// Binds a blob to parameter `i` (1-based); SQLite copies it.
    pub fn bind_blob(&mut self, i: c_int, b: &[u8]) -> anyhow::Result<()> {
        let len = c_int::try_from(b.len()).map_err(|_| anyhow!("blob too long to bind"))?;
        // SAFETY: as for `bind_text`: SQLITE_TRANSIENT copies the bytes before returning.
        let rc = unsafe {
            ffi::sqlite3_bind_blob(
                self.stmt.as_ptr(),
                i,
                b.as_ptr().cast(),
                len,
                ffi::SQLITE_TRANSIENT(),
            )
        };
        self.check(rc)
    }

    /// Makes the statement ready to run again (its bindings stay until bound anew).
    pub fn reset(&mut self) -> anyhow::Result<()> {
        // SAFETY: the statement is live; no text or blob read from it outlives this `&mut`.
        let rc = unsafe { ffi::sqlite3_reset(self.stmt.as_ptr()) };
        self.check(rc)
    }

    /// Runs the statement to its next row: `true` when a row is ready to read, `false` when done.
    pub fn step(&mut self) -> anyhow::Result<bool> {
        // SAFETY: the statement is live and used from one thread at a time (`&mut self`).
        match unsafe { ffi::sqlite3_step(self.stmt.as_ptr()) } {
            ffi::SQLITE_ROW => Ok(true),
            ffi::SQLITE_DONE => Ok(false),
            rc => Err(error(self.db, rc, None)),
        }
    }

    /// The rowid of the last row the connection inserted (an `INTEGER PRIMARY KEY`).
    pub fn last_insert_rowid(&self) -> i64 {
        // SAFETY: `db` is the open handle of the locked connection this statement belongs to.
        unsafe { ffi::sqlite3_last_insert_rowid(self.db.as_ptr()) }
    }

    /// Rows the connection's last finished INSERT, UPDATE or DELETE changed.
    pub fn changes(&self) -> i64 {
        // SAFETY: `db` is the open handle of the locked connection this statement belongs to.
        unsafe { ffi::sqlite3_changes64(self.db.as_ptr()) }
    }

    /// Column `i` (0-based) of the current row as an integer, `None` for NULL.
    pub fn int(&self, i: c_int) -> Option<i64> {
        // SAFETY: called after `step` returned a row (or on a finished statement, where SQLite
        // answers NULL); column indexes out of range also answer NULL. NULL reads as 0, so
        // the type is asked only then (the bulk reads ask millions of columns).
        unsafe {
            let v = ffi::sqlite3_column_int64(self.stmt.as_ptr(), i);
            if v == 0 && ffi::sqlite3_column_type(self.stmt.as_ptr(), i) == ffi::SQLITE_NULL {
                None
            } else {
                Some(v)
            }
        }
    }

    /// Column `i` (0-based) of the current row as UTF-8 text (empty for NULL).
    pub fn str(&mut self, i: c_int) -> anyhow::Result<&str> {
        std::str::from_utf8(self.text(i)).map_err(|e| anyhow!("column {i}: {e}"))
    }

    /// Column `i` (0-based) as text, `None` for NULL.
    pub fn opt_str(&mut self, i: c_int) -> anyhow::Result<Option<&str>> {
        if self.is_null(i) {
            return Ok(None);
        }
        self.str(i).map(Some)
    }

    /// Column `i` (0-based) as an owned text, `None` for NULL.
    pub fn opt_string(&self, i: c_int) -> anyhow::Result<Option<String>> {
        if self.is_null(i) {
            return Ok(None);
        }
        // SAFETY: as for `text`; the bytes are copied before this call returns, and no other
        // call on the statement can run meanwhile.
        let bytes = unsafe { self.column_text(i) };
        String::from_utf8(bytes.to_vec())
            .map(Some)
            .map_err(|e| anyhow!("column {i}: {e}"))
    }

    fn is_null(&self, i: c_int) -> bool {
        // SAFETY: as for `int`.
        unsafe { ffi::sqlite3_column_type(self.stmt.as_ptr(), i) == ffi::SQLITE_NULL }
    }

    /// Column `i` (0-based) of the current row as text bytes (empty for NULL), valid until the
    /// statement steps again or another column is read.
    pub fn text(&mut self, i: c_int) -> &[u8] {
        // SAFETY: the returned slice borrows `self` mutably, so no step, reset, finalize or
        // other read of the row can happen while it lives.
        unsafe { self.column_text(i) }
    }

    /// The text buffer of column `i`, of any lifetime the caller picks.
    ///
    /// # Safety
    /// The slice must not be used after the statement steps, resets, is finalized, or reads
    /// a column again (a conversion may free it).
    unsafe fn column_text<'b>(&self, i: c_int) -> &'b [u8] {
        // SAFETY: sqlite3_column_text returns a buffer owned by the statement, valid as the
        // caller promises. The length comes from sqlite3_column_bytes, called after the text
        // conversion as SQLite's documentation requires.
        unsafe {
            let p = ffi::sqlite3_column_text(self.stmt.as_ptr(), i);
            if p.is_null() {
                return &[];
            }
            let n = ffi::sqlite3_column_bytes(self.stmt.as_ptr(), i);
            std::slice::from_raw_parts(p, usize::try_from(n).unwrap_or(0))
        }
    }

    /// Column `i` (0-based) of the current row as bytes (empty for NULL), valid until the
    /// statement steps again or another column is read.
    pub fn blob(&mut self, i: c_int) -> &[u8] {
        // SAFETY: as for `text`: the buffer belongs to the statement until the next step,
        // reset, finalize or conversion, none of which can happen while the slice borrows
        // `self` mutably; its length is asked after it.
        unsafe {
            let p = ffi::sqlite3_column_blob(self.stmt.as_ptr(), i);
            if p.is_null() {
                return &[];
            }
            let n = ffi::sqlite3_column_bytes(self.stmt.as_ptr(), i);
            std::slice::from_raw_parts(p.cast::<u8>(), usize::try_from(n).unwrap_or(0))
        }
    }
}

impl Drop for Statement<'_> {
    fn drop(&mut self) {
        // SAFETY: the statement was prepared on this handle and is finalized exactly once.
        unsafe {
            ffi::sqlite3_finalize(self.stmt.as_ptr());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::Connection;

    #[tokio::test]
    async fn statements_bind_step_and_read_rows_and_report_errors_with_their_sql() {
        let mut conn = SqliteConnection::connect("sqlite::memory:").await.unwrap();
        sqlx::query("CREATE TABLE t (code TEXT NOT NULL, v BIGINT)")
            .execute(&mut conn)
            .await
            .unwrap();
        for (code, v) in [
            ("甲", Some(-7)),
            ("b", None),
            ("c", Some(i64::MAX)),
            ("d", Some(0)),
        ] {
            sqlx::query("INSERT INTO t (code, v) VALUES ($1, $2)")
                .bind(code)
                .bind(v)
                .execute(&mut conn)
                .await
                .unwrap();
        }
        // What sqlx wrote is what the raw calls read.
        let rows = with_handle(&mut conn, |h| {
            let mut q = Statement::prepare(h, "SELECT code, v FROM t ORDER BY rowid")?;
            let mut out = Vec::new();
            while q.step()? {
                out.push((q.str(0)?.to_string(), q.int(1)));
            }
            Ok(out)
        })
        .await
        .unwrap();
        assert_eq!(
            rows,
            vec![
                ("甲".to_string(), Some(-7)),
                ("b".to_string(), None),
                ("c".to_string(), Some(i64::MAX)),
                ("d".to_string(), Some(0))
            ]
        );
        let read = with_handle(&mut conn, |h| {
            let mut q = Statement::prepare(
                h,
                "SELECT code, v FROM t WHERE (v IS NULL OR v < 1) AND code <> ?1 ORDER BY rowid",
            )?;
            q.bind_text(1, "c")?;
            let mut out = Vec::new();
            while q.step()? {
                out.push((String::from_utf8(q.text(0).to_vec())?, q.int(1)));
            }
            Ok(out)
        })
        .await
        .unwrap();
        assert_eq!(
            read,
            vec![
                ("甲".to_string(), Some(-7)),
                ("b".to_string(), None),
                ("d".to_string(), Some(0))
            ],
            "a stored zero is not NULL"
        );
        let err = with_handle(&mut conn, |h| {
            Statement::prepare(h, "SELECT nope FROM t").map(|_| ())
        })
        .await
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("no such column: nope") && err.contains("SELECT nope FROM t"),
            "{err}"
        );
        let err = with_handle(&mut conn, |h| {
            let mut ins = Statement::prepare(h, "INSERT INTO t (code, v) VALUES (NULL, 1)")?;
            ins.step().map(|_| ())
        })
        .await
        .unwrap_err()
        .to_string();
        assert!(err.contains("NOT NULL"), "{err}");
        // The connection still works for sqlx afterwards.
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM t")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(n, 4);
    }

    #[tokio::test]
    async fn a_statement_reset_and_bound_again_writes_integers_and_blobs_sqlx_reads_back() {
        let mut conn = SqliteConnection::connect("sqlite::memory:").await.unwrap();
        sqlx::query("CREATE TABLE b (k BIGINT NOT NULL, v BLOB NOT NULL)")
            .execute(&mut conn)
            .await
            .unwrap();
        let rows: Vec<(i64, Vec<u8>)> =
            vec![(1, vec![0, 1, 2]), (-5, vec![]), (i64::MIN, vec![255; 300])];
        with_handle(&mut conn, |h| {
            let mut ins = Statement::prepare(h, "INSERT INTO b (k, v) VALUES (?1, ?2)")?;
            for (k, v) in &rows {
                ins.bind_int(1, *k)?;
                ins.bind_blob(2, v)?;
                assert!(!ins.step()?);
                ins.reset()?;
            }
            Ok(())
        })
        .await
        .unwrap();
        let stored: Vec<(i64, Vec<u8>)> = sqlx::query_as("SELECT k, v FROM b ORDER BY rowid")
            .fetch_all(&mut conn)
            .await
            .unwrap();
        assert_eq!(stored, rows);
        let read = with_handle(&mut conn, |h| {
            let mut q = Statement::prepare(h, "SELECT v FROM b ORDER BY rowid")?;
            let mut out = Vec::new();
            while q.step()? {
                out.push(q.blob(0).to_vec());
            }
            Ok(out)
        })
        .await
        .unwrap();
        assert_eq!(read, rows.iter().map(|r| r.1.clone()).collect::<Vec<_>>());
    }
}
