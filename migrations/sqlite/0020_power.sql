-- Electricity and 旬报 (issue 21, sqlite): the power company's daily electricity per enterprise,
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
-- delivered it.
CREATE TABLE power_daily (
    credit_code TEXT NOT NULL,
    day TEXT NOT NULL,
    kwh BIGINT NOT NULL,
    revision INTEGER NOT NULL,
    run_id BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (credit_code, day)
);
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
CREATE VIEW v_power_xun AS
SELECT credit_code,
       substr(day, 1, 7) AS period,
       CASE WHEN substr(day, 9, 2) <= '10' THEN 1 WHEN substr(day, 9, 2) <= '20' THEN 2 ELSE 3 END AS xun,
       COUNT(*) AS days_present,
       SUM(kwh) AS kwh,
       SUM(kwh) / COUNT(*) AS kwh_per_day
FROM power_daily
GROUP BY credit_code, substr(day, 1, 7),
         CASE WHEN substr(day, 9, 2) <= '10' THEN 1 WHEN substr(day, 9, 2) <= '20' THEN 2 ELSE 3 END;

-- … and by month.
CREATE VIEW v_power_month AS
SELECT credit_code, substr(day, 1, 7) AS period, COUNT(*) AS days_present, SUM(kwh) AS kwh
FROM power_daily
GROUP BY credit_code, substr(day, 1, 7);

-- The alert views of 0013 again, with the Chinese names of the 旬 rules.
DROP VIEW v_alert;
CREATE VIEW v_alert AS
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
    strftime('%Y-%m-%dT%H:%M:%S+08:00', a.opened_at / 1000, 'unixepoch', '+8 hours') AS opened_at,
    strftime('%Y-%m-%dT%H:%M:%S+08:00', a.updated_at / 1000, 'unixepoch', '+8 hours') AS updated_at,
    a.acknowledged_by,
    strftime('%Y-%m-%dT%H:%M:%S+08:00', a.acknowledged_at / 1000, 'unixepoch', '+8 hours') AS acknowledged_at,
    a.resolved_by,
    strftime('%Y-%m-%dT%H:%M:%S+08:00', a.resolved_at / 1000, 'unixepoch', '+8 hours') AS resolved_at,
    a.note
FROM alert a
LEFT JOIN unit u ON u.code = a.unit_code
LEFT JOIN enterprise e ON e.credit_code = a.subject;

DROP VIEW v_alert_event;
CREATE VIEW v_alert_event AS
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
    strftime('%Y-%m-%dT%H:%M:%S+08:00', ev.at / 1000, 'unixepoch', '+8 hours') AS at,
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
