-- Notification: the outbox of digests and what each recipient has been told (postgres).

-- One digest email per row, written in the same transaction that records what it covers, so
-- that a crash can neither lose a digest nor tell a recipient twice.
CREATE TABLE outbox (
    id BIGSERIAL PRIMARY KEY,
    -- The configured recipient id (recipients[].id).
    recipient TEXT NOT NULL,
    to_addr TEXT NOT NULL,
    from_addr TEXT NOT NULL,
    subject TEXT NOT NULL,
    -- The complete RFC 5322 message as sent; a retry sends the same bytes and Message-ID.
    message BYTEA NOT NULL,
    message_id TEXT NOT NULL,
    -- How many alerts the digest covers.
    items BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    -- pending → sending → sent; sending → pending (transient error) or failed (permanent, or
    -- attempts exhausted). A row left in sending by a crash is taken again after a lease.
    status TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    claimed_at BIGINT,
    last_error TEXT,
    sent_at BIGINT
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);

-- The newest alert event each recipient's last digest had seen.
CREATE TABLE notification_cursor (
    recipient TEXT PRIMARY KEY,
    last_event_id BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- What each recipient was last told about each alert: the basis of "what changed since".
CREATE TABLE notified (
    recipient TEXT NOT NULL,
    alert_id BIGINT NOT NULL REFERENCES alert (id),
    -- Severity and state as told (state resolved once the 销号 was told).
    severity TEXT NOT NULL,
    state TEXT NOT NULL,
    -- 1 once the escalation (consecutive ≥ N) was told; reset when the alert is reopened.
    escalated BIGINT NOT NULL DEFAULT 0,
    last_at BIGINT NOT NULL,
    outbox_id BIGINT NOT NULL,
    PRIMARY KEY (recipient, alert_id)
);
