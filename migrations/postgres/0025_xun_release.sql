-- When each 旬's early warning went out (issue 21, src/power/release.rs): once the 旬's data
-- reached [power] complete_share of the mapped enterprises ('complete') or [power] cutoff_days
-- after the 旬 ended ('cutoff'), with the counts it was judged on. One row per 旬, written once:
-- the daemon's xun job releases a 旬 only when it has no row here, so its digest goes out once.
-- Electricity of a released 旬 that arrives later is evaluated by the next run (evaluated_at).
CREATE TABLE xun_release (
    xun TEXT PRIMARY KEY,
    reason TEXT NOT NULL CHECK (reason IN ('complete', 'cutoff')),
    mapped BIGINT NOT NULL,
    complete BIGINT NOT NULL,
    evaluation_id BIGINT,
    released_at BIGINT NOT NULL,
    evaluated_at BIGINT NOT NULL
);

-- Every 旬 warning issued (疑似停产, 用电大幅下降), one row per 旬, enterprise and rule, and
-- what the month's statistics later showed (src/evaluate/xun_check.rs): 'confirmed' by a monthly
-- 停产/半停产/减产 finding (monthly_rule), 'cleared' when the enterprise reported the month
-- without one, 'unreported' when it did not report. Set by each evaluation of the month.
CREATE TABLE xun_warning (
    xun TEXT NOT NULL,
    credit_code TEXT NOT NULL,
    rule TEXT NOT NULL,
    unit_code TEXT NOT NULL,
    severity TEXT NOT NULL,
    message TEXT NOT NULL,
    issued_at BIGINT NOT NULL,
    outcome TEXT CHECK (outcome IN ('confirmed', 'cleared', 'unreported')),
    monthly_rule TEXT,
    checked_at BIGINT,
    PRIMARY KEY (xun, credit_code, rule)
);
CREATE INDEX xun_warning_issued ON xun_warning (issued_at);

-- Daily electricity past [power] daily_retention_months, kept by enterprise and 旬 when the days
-- are deleted (src/store/power_prune.rs): the days present and their sum, and the same over the
-- working days of the official calendar (the 旬 rules' basis when a 旬 holds public holidays).
CREATE TABLE power_xun_total (
    credit_code TEXT NOT NULL,
    period TEXT NOT NULL,
    xun INTEGER NOT NULL CHECK (xun IN (1, 2, 3)),
    days_present INTEGER NOT NULL,
    kwh BIGINT NOT NULL,
    workdays_present INTEGER NOT NULL,
    workday_kwh BIGINT NOT NULL,
    pruned_at BIGINT NOT NULL,
    PRIMARY KEY (credit_code, period, xun)
);

-- The 旬 and month views of 0020 again, with the pruned months from power_xun_total (replaced
-- in place, so that grants on them are kept).
CREATE OR REPLACE VIEW indmon_read.v_power_xun AS
SELECT credit_code,
       substr(day, 1, 7) AS period,
       CASE WHEN substr(day, 9, 2) <= '10' THEN 1 WHEN substr(day, 9, 2) <= '20' THEN 2 ELSE 3 END AS xun,
       COUNT(*) AS days_present,
       CAST(SUM(kwh) AS BIGINT) AS kwh,
       CAST(SUM(kwh) / COUNT(*) AS BIGINT) AS kwh_per_day
FROM power_daily
GROUP BY credit_code, substr(day, 1, 7),
         CASE WHEN substr(day, 9, 2) <= '10' THEN 1 WHEN substr(day, 9, 2) <= '20' THEN 2 ELSE 3 END
UNION ALL
SELECT credit_code, period, xun, CAST(days_present AS BIGINT), kwh, kwh / days_present FROM power_xun_total;

CREATE OR REPLACE VIEW indmon_read.v_power_month AS
SELECT credit_code, substr(day, 1, 7) AS period, COUNT(*) AS days_present, CAST(SUM(kwh) AS BIGINT) AS kwh
FROM power_daily
GROUP BY credit_code, substr(day, 1, 7)
UNION ALL
SELECT credit_code, period, CAST(SUM(days_present) AS BIGINT), CAST(SUM(kwh) AS BIGINT)
FROM power_xun_total GROUP BY credit_code, period;

-- 旬 warnings with what the month showed, in Chinese.
CREATE VIEW indmon_read.v_xun_warning AS
SELECT w.xun, w.credit_code, e.name AS enterprise_name, w.unit_code, u.name AS unit_name,
       CASE w.rule WHEN 'enterprise_power_stalled' THEN '疑似停产' ELSE '用电大幅下降' END AS rule_zh,
       w.severity, w.message,
       to_timestamp(w.issued_at / 1000.0) AS issued_at,
       CASE w.outcome WHEN 'confirmed' THEN '月度数据证实' WHEN 'cleared' THEN '月度数据未证实'
                      WHEN 'unreported' THEN '当月未报' ELSE '待月度数据' END AS outcome_zh,
       w.monthly_rule
FROM xun_warning w
LEFT JOIN enterprise e ON e.credit_code = w.credit_code
LEFT JOIN unit u ON u.code = w.unit_code;
COMMENT ON VIEW indmon_read.v_xun_warning IS '旬预警及月度核实 (旬 warnings and what the month showed)';
