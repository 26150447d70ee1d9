-- Electricity and 旬报 (issue 21, postgres): the power company's daily electricity per enterprise,
-- the mapping of its account numbers (户号) to credit codes, and key enterprises' 旬报, each with
-- its revisions like submissions. Days are 'YYYY-MM-DD' text, periods 'YYYY-MM'; electricity is
-- BIGINT ten-thousandths of kWh (daily) or of 万千瓦时 (旬报), money ten-thousandths of 万元.

-- Which enterprise each of the power company's accounts belongs to (an enterprise may have
-- several). Changes are logged in registry_change (entity 'power_account').
CREATE TABLE power_account (
    account TEXT PRIMARY KEY,
    credit_code TEXT NOT NULL,
    run_id BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX power_account_enterprise ON power_account (credit_code);

-- An enterprise's metered electricity of one day: the sum of its accounts in the file that
-- delivered it. Partitioned by month (about 180M rows a year at 500,000 enterprises): the
-- import creates the month's partition `power_daily_yYYYYmMM` before writing to it, and a month
-- of old days can be detached or dropped whole.
CREATE TABLE power_daily (
    credit_code TEXT NOT NULL,
    day TEXT NOT NULL,
    kwh BIGINT NOT NULL,
    revision INTEGER NOT NULL,
    run_id BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (credit_code, day)
) PARTITION BY RANGE (day);
CREATE INDEX power_daily_day ON power_daily (day);

-- Earlier revisions of a day, kept when it is delivered again with another figure.
CREATE TABLE power_daily_history (
    credit_code TEXT NOT NULL,
    day TEXT NOT NULL,
    kwh BIGINT NOT NULL,
    revision INTEGER NOT NULL,
    run_id BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    superseded_at BIGINT NOT NULL,
    superseded_by BIGINT NOT NULL,
    PRIMARY KEY (credit_code, day, revision)
);

-- A key enterprise's 旬报: the figures of the 旬 itself (xun 1 上旬 1st–10th, 2 中旬 11th–20th,
-- 3 下旬 21st–end), never cumulative ones.
CREATE TABLE xun_report (
    credit_code TEXT NOT NULL,
    period TEXT NOT NULL,
    xun INTEGER NOT NULL CHECK (xun IN (1, 2, 3)),
    output BIGINT,
    sales BIGINT,
    electricity BIGINT,
    revision INTEGER NOT NULL,
    run_id BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (credit_code, period, xun)
);
CREATE INDEX xun_report_period ON xun_report (period, xun);

CREATE TABLE xun_report_history (
    credit_code TEXT NOT NULL,
    period TEXT NOT NULL,
    xun INTEGER NOT NULL,
    output BIGINT,
    sales BIGINT,
    electricity BIGINT,
    revision INTEGER NOT NULL,
    run_id BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    superseded_at BIGINT NOT NULL,
    superseded_by BIGINT NOT NULL,
    PRIMARY KEY (credit_code, period, xun, revision)
);

-- Daily electricity by enterprise and 旬, for reading with sqlite3 or a BI tool: the days
-- present, their sum and the average over them (a missing day is no zero).
CREATE VIEW indmon_read.v_power_xun AS
SELECT credit_code,
       substr(day, 1, 7) AS period,
       CASE WHEN substr(day, 9, 2) <= '10' THEN 1 WHEN substr(day, 9, 2) <= '20' THEN 2 ELSE 3 END AS xun,
       COUNT(*) AS days_present,
       CAST(SUM(kwh) AS BIGINT) AS kwh,
       CAST(SUM(kwh) / COUNT(*) AS BIGINT) AS kwh_per_day
FROM power_daily
GROUP BY credit_code, substr(day, 1, 7),
         CASE WHEN substr(day, 9, 2) <= '10' THEN 1 WHEN substr(day, 9, 2) <= '20' THEN 2 ELSE 3 END;

-- … and by month.
COMMENT ON VIEW indmon_read.v_power_xun IS '旬用电 (daily electricity by enterprise and 旬): days present, sum and average, ten-thousandths of kWh.';

CREATE VIEW indmon_read.v_power_month AS
SELECT credit_code, substr(day, 1, 7) AS period, COUNT(*) AS days_present, CAST(SUM(kwh) AS BIGINT) AS kwh
FROM power_daily
GROUP BY credit_code, substr(day, 1, 7);
COMMENT ON VIEW indmon_read.v_power_month IS '月用电 (daily electricity by enterprise and month), ten-thousandths of kWh.';

-- The alert views of 0013 again, with the Chinese names of the 旬 rules (replaced in place, so
-- that grants on them are kept).
CREATE OR REPLACE VIEW indmon_read.v_alert AS
SELECT
    a.id,
    a.rule,
    CASE a.rule
        WHEN 'enterprise_stalled' THEN '停产'
        WHEN 'enterprise_semi_stalled' THEN '半停产'
        WHEN 'enterprise_reduced' THEN '减产'
        WHEN 'enterprise_missing' THEN '未报'
        WHEN 'enterprise_exit_risk' THEN '退库风险'
        WHEN 'enterprise_upgrade_candidate' THEN '升规培育'
        WHEN 'data_divergence' THEN '产值电量背离'
        WHEN 'data_inconsistent' THEN '累计数不一致'
        WHEN 'unit_below_target' THEN '增速低于目标'
        WHEN 'unit_below_average' THEN '增速低于全市'
        WHEN 'unit_target_at_risk' THEN '全年目标难完成'
        WHEN 'unit_progress_lagging' THEN '进度滞后'
        WHEN 'unit_low_submission_rate' THEN '报送率低'
        WHEN 'unit_consecutive_lagging' THEN '连续落后'
        WHEN 'source_failing' THEN '数据来源故障'
        WHEN 'project_behind_schedule' THEN '项目投资进度滞后'
        WHEN 'project_not_started' THEN '项目逾期未开工'
        WHEN 'project_idle' THEN '项目建成未投产'
        WHEN 'project_missing' THEN '项目进度未报'
        WHEN 'enterprise_power_stalled' THEN '疑似停产'
        WHEN 'enterprise_power_drop' THEN '用电大幅下降'
        WHEN 'enterprise_power_resumed' THEN '复产'
    END AS rule_zh,
    a.subject,
    a.subject_name,
    e.name AS enterprise_name,
    a.indicator,
    a.unit_code,
    u.name AS unit_name,
    a.owner,
    a.state,
    CASE a.state
        WHEN 'firing' THEN '预警中'
        WHEN 'acknowledged' THEN '已认领'
        WHEN 'resolved' THEN '已销号'
    END AS state_zh,
    a.severity,
    CASE a.severity
        WHEN 'red' THEN '红色'
        WHEN 'orange' THEN '橙色'
        WHEN 'yellow' THEN '黄色'
        WHEN 'blue' THEN '蓝色'
    END AS severity_zh,
    a.consecutive,
    a.period,
    a.message,
    a.values_json,
    to_timestamp(a.opened_at / 1000.0) AS opened_at,
    to_timestamp(a.updated_at / 1000.0) AS updated_at,
    a.acknowledged_by,
    to_timestamp(a.acknowledged_at / 1000.0) AS acknowledged_at,
    a.resolved_by,
    to_timestamp(a.resolved_at / 1000.0) AS resolved_at,
    a.note
FROM alert a
LEFT JOIN unit u ON u.code = a.unit_code
LEFT JOIN enterprise e ON e.credit_code = a.subject;
COMMENT ON VIEW indmon_read.v_alert IS '预警 (alerts) with unit and enterprise names and state, severity and rule in Chinese.';

CREATE OR REPLACE VIEW indmon_read.v_alert_event AS
SELECT
    ev.id,
    ev.alert_id,
    a.rule,
    CASE a.rule
        WHEN 'enterprise_stalled' THEN '停产'
        WHEN 'enterprise_semi_stalled' THEN '半停产'
        WHEN 'enterprise_reduced' THEN '减产'
        WHEN 'enterprise_missing' THEN '未报'
        WHEN 'enterprise_exit_risk' THEN '退库风险'
        WHEN 'enterprise_upgrade_candidate' THEN '升规培育'
        WHEN 'data_divergence' THEN '产值电量背离'
        WHEN 'data_inconsistent' THEN '累计数不一致'
        WHEN 'unit_below_target' THEN '增速低于目标'
        WHEN 'unit_below_average' THEN '增速低于全市'
        WHEN 'unit_target_at_risk' THEN '全年目标难完成'
        WHEN 'unit_progress_lagging' THEN '进度滞后'
        WHEN 'unit_low_submission_rate' THEN '报送率低'
        WHEN 'unit_consecutive_lagging' THEN '连续落后'
        WHEN 'source_failing' THEN '数据来源故障'
        WHEN 'project_behind_schedule' THEN '项目投资进度滞后'
        WHEN 'project_not_started' THEN '项目逾期未开工'
        WHEN 'project_idle' THEN '项目建成未投产'
        WHEN 'project_missing' THEN '项目进度未报'
        WHEN 'enterprise_power_stalled' THEN '疑似停产'
        WHEN 'enterprise_power_drop' THEN '用电大幅下降'
        WHEN 'enterprise_power_resumed' THEN '复产'
    END AS rule_zh,
    a.subject,
    a.subject_name,
    a.unit_code,
    u.name AS unit_name,
    to_timestamp(ev.at / 1000.0) AS at,
    ev.period,
    ev.kind,
    CASE ev.kind
        WHEN 'opened' THEN '新增'
        WHEN 'reopened' THEN '再次出现'
        WHEN 'severity_raised' THEN '等级升高'
        WHEN 'severity_lowered' THEN '等级降低'
        WHEN 'escalated' THEN '升级督办'
        WHEN 'acknowledged' THEN '已认领'
        WHEN 'resolved' THEN '已销号'
    END AS kind_zh,
    ev.severity,
    CASE ev.severity
        WHEN 'red' THEN '红色'
        WHEN 'orange' THEN '橙色'
        WHEN 'yellow' THEN '黄色'
        WHEN 'blue' THEN '蓝色'
    END AS severity_zh,
    ev.consecutive,
    ev.message,
    ev.actor,
    ev.note,
    ev.evaluation_id
FROM alert_event ev
JOIN alert a ON a.id = ev.alert_id
LEFT JOIN unit u ON u.code = a.unit_code;
COMMENT ON VIEW indmon_read.v_alert_event IS '预警历史 (alert events): everything that happened to each alert, in order.';
