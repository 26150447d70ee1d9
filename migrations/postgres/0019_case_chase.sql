-- 督办 (issue 20, postgres): which overdue case was chased, to whom, in which message. A reminder
-- goes to the case's owner once its due time has passed; an escalation to the owner's
-- supervisor once its 督办 time has passed. Each is sent once per deadline: a case returned
-- with a new due date is chased again for the new one. Written in the transaction that queues
-- the message, like outbox_cover; a message refused for good (failed) does not count, and the
-- next dispatch chases again.
CREATE TABLE case_chase (
    case_id BIGINT NOT NULL REFERENCES alert_case (id),
    -- reminder (超期提醒, to the owner) or escalation (督办, to the supervisor).
    kind TEXT NOT NULL CHECK (kind IN ('reminder', 'escalation')),
    -- The deadline chased: the case's due_at (reminder) or escalate_at (escalation).
    deadline BIGINT NOT NULL,
    -- The configured recipient id (recipients[].id) told.
    recipient TEXT NOT NULL,
    outbox_id BIGINT NOT NULL REFERENCES outbox (id),
    at BIGINT NOT NULL,
    PRIMARY KEY (case_id, kind, deadline, recipient)
);
CREATE INDEX case_chase_outbox ON case_chase (outbox_id);
