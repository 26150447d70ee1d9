-- Cases (交办 → 反馈 → 销号): alerts assigned to one owner, their answers, their history, and
-- the audit log of what officials did (postgres). `case` is an SQL keyword: the table is alert_case.

-- One case per assignment of a firing alert. A case closed by the city while its condition
-- persists is followed by a new case (previous_case) at a later period's evaluation.
CREATE TABLE alert_case (
    id BIGSERIAL PRIMARY KEY,
    alert_id BIGINT NOT NULL REFERENCES alert (id),
    rule TEXT NOT NULL,
    subject TEXT NOT NULL,
    subject_name TEXT NOT NULL,
    unit_code TEXT NOT NULL,
    -- The recipient id that must answer (包抓领导, else the unit's case_owner); NULL: no owner configured.
    owner TEXT,
    state TEXT NOT NULL CHECK (state IN ('assigned', 'answered', 'close_requested', 'closed', 'returned')),
    severity TEXT NOT NULL,
    -- The alert's period when the case was opened.
    period TEXT NOT NULL,
    opened_at BIGINT NOT NULL,
    answer_days BIGINT NOT NULL,
    escalate_days BIGINT NOT NULL,
    -- When the first digest carrying the alert was delivered (day 0 of the deadline), and which.
    delivered_at BIGINT,
    delivered_outbox BIGINT,
    -- 18:00 Shanghai on the answer_days-th working day after delivery, or as set when returned.
    due_at BIGINT,
    -- 督办: escalate_days working days after due_at.
    escalate_at BIGINT,
    answered_at BIGINT,
    -- 1 once an answer came after due_at.
    late BIGINT NOT NULL DEFAULT 0,
    closed_at BIGINT,
    closed_by TEXT,
    -- approved (销号 by the city) or resolved (the condition cleared).
    close_reason TEXT CHECK (close_reason IN ('approved', 'resolved')),
    -- The alert's period when closed: a new case follows only for a later period.
    closed_period TEXT,
    previous_case BIGINT REFERENCES alert_case (id),
    -- Raised by every answer and every official's transition: a 反馈表 row carries it.
    version BIGINT NOT NULL DEFAULT 1,
    updated_at BIGINT NOT NULL
);
-- One open case per alert, however often the evaluation runs.
CREATE UNIQUE INDEX alert_case_open ON alert_case (alert_id) WHERE state <> 'closed';
CREATE INDEX alert_case_alert ON alert_case (alert_id);
CREATE INDEX alert_case_owner ON alert_case (owner, state);
CREATE INDEX alert_case_unit ON alert_case (unit_code, state);

-- Every transition of a case, in order.
CREATE TABLE case_event (
    id BIGSERIAL PRIMARY KEY,
    case_id BIGINT NOT NULL REFERENCES alert_case (id),
    at BIGINT NOT NULL,
    -- opened, reopened, delivered, answered, close_requested, closed, returned
    kind TEXT NOT NULL,
    -- The case's state after the event.
    state TEXT NOT NULL,
    actor TEXT NOT NULL,
    client_addr TEXT,
    note TEXT NOT NULL DEFAULT '',
    due_at BIGINT
);
CREATE INDEX case_event_case ON case_event (case_id);

-- Answers (反馈), every one kept.
CREATE TABLE case_answer (
    id BIGSERIAL PRIMARY KEY,
    case_id BIGINT NOT NULL REFERENCES alert_case (id),
    cause TEXT NOT NULL,
    -- 情况说明
    situation TEXT NOT NULL,
    -- 帮扶措施
    measures TEXT NOT NULL,
    -- Expected month of resumption (of completion, for a project), YYYY-MM.
    resume_month TEXT,
    -- 需市级协调
    coordination TEXT NOT NULL DEFAULT '',
    answered_by TEXT NOT NULL,
    answered_at BIGINT NOT NULL,
    late BIGINT NOT NULL DEFAULT 0,
    -- console, workbook (反馈表) or inbox
    via TEXT NOT NULL,
    client_addr TEXT
);
CREATE INDEX case_answer_case ON case_answer (case_id);

-- Who did what to which case, when, from which address.
CREATE TABLE audit (
    id BIGSERIAL PRIMARY KEY,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    case_id BIGINT,
    client_addr TEXT,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_case ON audit (case_id);
