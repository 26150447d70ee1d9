-- Delivery that is never abandoned (issue 17): what a digest tells counts as told when the
-- digest is delivered, not when it is queued.

-- What each queued message tells, applied to `notified` in the transaction that records its
-- delivery. While the message is pending or sending these rows count as told (so the next
-- dispatch does not queue the same items again); when it is refused for good (`failed`) they
-- are not applied, and the items are told again in the recipient's next digest.
CREATE TABLE outbox_cover (
    outbox_id BIGINT NOT NULL REFERENCES outbox (id),
    recipient TEXT NOT NULL,
    alert_id BIGINT NOT NULL,
    severity TEXT NOT NULL,
    state TEXT NOT NULL,
    escalated BIGINT NOT NULL DEFAULT 0,
    last_at BIGINT NOT NULL,
    PRIMARY KEY (outbox_id, alert_id)
);

-- 1 when the current (or last) claim took over a row that a dead sender left in `sending`: the
-- server may have accepted it already, so it is resent with the same Message-ID.
ALTER TABLE outbox ADD COLUMN unknown_fate BIGINT NOT NULL DEFAULT 0;
-- The digest that told the recipient this message had been delivered late (延迟送达).
ALTER TABLE outbox ADD COLUMN delay_noted_in BIGINT;
