//! The console's sign-in links and sessions (migration 0015). Callers pass hashes, never the
//! plain token or session id, and the clock: expiry is decided in SQL against `now_ms`, so
//! that a link is consumed exactly once even with several replicas on one PostgreSQL.

use sqlx::Row;

use super::{Store, on_pool};

/// A session as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRow {
    pub recipient: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
}

impl Store {
    /// Records a sign-in link's token hash for `recipient`, valid until `expires_at`.
    pub async fn insert_signin(
        &self,
        token_hash: &str,
        recipient: &str,
        client: &str,
        now_ms: i64,
        expires_at: i64,
    ) -> anyhow::Result<()> {
        let sql = "INSERT INTO console_signin (token_hash, recipient, created_at, expires_at, client) VALUES ($1, $2, $3, $4, $5)";
        on_pool!(self, p => sqlx::query(sql).bind(token_hash).bind(recipient).bind(now_ms).bind(expires_at).bind(client).execute(p).await.map(|_| ())?);
        Ok(())
    }

    /// The recipient of a link that is unused and unexpired at `now_ms`, without using it (the
    /// confirmation page's GET).
    pub async fn signin_valid(
        &self,
        token_hash: &str,
        now_ms: i64,
    ) -> anyhow::Result<Option<String>> {
        let sql = "SELECT recipient FROM console_signin WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2";
        let r = on_pool!(self, p => sqlx::query_scalar::<_, String>(sql).bind(token_hash).bind(now_ms).fetch_optional(p).await?);
        Ok(r)
    }

    /// Uses a link: one statement marks it used if it is unused and unexpired, so of two
    /// concurrent uses exactly one gets the recipient.
    pub async fn consume_signin(
        &self,
        token_hash: &str,
        now_ms: i64,
    ) -> anyhow::Result<Option<String>> {
        let sql = "UPDATE console_signin SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING recipient";
        let r = on_pool!(self, p => sqlx::query_scalar::<_, String>(sql).bind(token_hash).bind(now_ms).fetch_optional(p).await?);
        Ok(r)
    }

    /// Starts a session.
    pub async fn insert_session(
        &self,
        id_hash: &str,
        recipient: &str,
        client: &str,
        now_ms: i64,
        expires_at: i64,
    ) -> anyhow::Result<()> {
        let sql = "INSERT INTO console_session (id_hash, recipient, created_at, last_seen_at, expires_at, client) VALUES ($1, $2, $3, $3, $4, $5)";
        on_pool!(self, p => sqlx::query(sql).bind(id_hash).bind(recipient).bind(now_ms).bind(expires_at).bind(client).execute(p).await.map(|_| ())?);
        Ok(())
    }

    /// A session by its id's hash, whatever its age (the caller decides expiry).
    pub async fn session(&self, id_hash: &str) -> anyhow::Result<Option<SessionRow>> {
        let sql = "SELECT recipient, created_at, last_seen_at, expires_at FROM console_session WHERE id_hash = $1";
        let row = on_pool!(self, p => sqlx::query(sql).bind(id_hash).fetch_optional(p).await?.map(|r| {
            Ok::<_, sqlx::Error>(SessionRow {
                recipient: r.try_get(0)?,
                created_at: r.try_get(1)?,
                last_seen_at: r.try_get(2)?,
                expires_at: r.try_get(3)?,
            })
        }).transpose()?);
        Ok(row)
    }

    /// Records activity on a session (extends its idle deadline).
    pub async fn touch_session(&self, id_hash: &str, now_ms: i64) -> anyhow::Result<()> {
        let sql = "UPDATE console_session SET last_seen_at = $2 WHERE id_hash = $1";
        on_pool!(self, p => sqlx::query(sql).bind(id_hash).bind(now_ms).execute(p).await.map(|_| ())?);
        Ok(())
    }

    /// Ends a session (sign-out, or found expired).
    pub async fn delete_session(&self, id_hash: &str) -> anyhow::Result<()> {
        let sql = "DELETE FROM console_session WHERE id_hash = $1";
        on_pool!(self, p => sqlx::query(sql).bind(id_hash).execute(p).await.map(|_| ())?);
        Ok(())
    }

    /// Deletes links expired before `now_ms` and sessions idle since `idle_before` or past
    /// their absolute end; returns how many rows went.
    pub async fn purge_console(&self, now_ms: i64, idle_before: i64) -> anyhow::Result<u64> {
        let a = "DELETE FROM console_signin WHERE expires_at <= $1";
        let b = "DELETE FROM console_session WHERE expires_at <= $1 OR last_seen_at <= $2";
        let n = on_pool!(self, p => {
            let x = sqlx::query(a).bind(now_ms).execute(p).await?.rows_affected();
            x + sqlx::query(b).bind(now_ms).bind(idle_before).execute(p).await?.rows_affected()
        });
        Ok(n)
    }
}
