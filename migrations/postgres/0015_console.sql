-- The officials' web console (postgres): one-time sign-in links and sessions. Only the SHA-256 of
-- a link's token or a session's id is stored, so that reading this table does not let anyone
-- sign in; the plain values exist only in the mail (the link) and the browser (the cookie).

-- A sign-in link sent to an official: valid until expires_at, used once.
CREATE TABLE console_signin (
    -- Hex SHA-256 of the link's random 32-byte token.
    token_hash TEXT PRIMARY KEY,
    -- The configured recipient id (recipients[].id) the link signs in.
    recipient TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    -- Set by the one POST that consumed it; a second use is refused.
    used_at BIGINT,
    -- The client address that asked for the link.
    client TEXT NOT NULL
);
CREATE INDEX console_signin_expiry ON console_signin (expires_at);

-- A signed-in browser: ends after idle_hours without a request or max_days after sign-in.
CREATE TABLE console_session (
    -- Hex SHA-256 of the random 32-byte session id kept in the HttpOnly cookie.
    id_hash TEXT PRIMARY KEY,
    recipient TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    -- Absolute end: created_at + the configured maximum lifetime.
    expires_at BIGINT NOT NULL,
    -- The client address that signed in.
    client TEXT NOT NULL
);
CREATE INDEX console_session_expiry ON console_session (expires_at);
