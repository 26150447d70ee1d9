-- Group-robot notices (issue 20, sqlite): a short notice per dispatch to a 钉钉 or 企业微信 group
-- robot, beside the email digests. Written in the dispatch's transaction, like the outbox.

-- One notice per row. Delivery is at most once: a row a dead sender left in 'sending' is not
-- sent again (the robot APIs have no message id to drop a copy) but marked 'unknown'.
CREATE TABLE robot_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- The configured robot id (robots[].id); the webhook and its secret stay in the config.
    robot TEXT NOT NULL,
    -- The notice as shown: its title (钉钉's conversation list) and Markdown text. Counts and a
    -- link only, never an enterprise's name or figures.
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    -- The report period the counts are about (YYYY-MM), for reading.
    period TEXT,
    created_at BIGINT NOT NULL,
    -- pending → sending → sent; sending → pending (network, 5xx, rate limit) or failed (the
    -- robot refused it: errcode, 4xx) or unknown (the sender died or timed out mid-request).
    status TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'unknown')),
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    -- When the last attempt started: the per-robot rate limit counts these.
    claimed_at BIGINT,
    -- The last errcode or error, without the webhook or its secret.
    last_error TEXT,
    sent_at BIGINT
);
CREATE INDEX robot_outbox_due ON robot_outbox (status, next_attempt_at);
CREATE INDEX robot_outbox_recent ON robot_outbox (robot, claimed_at);
