-- Readable data (issue 18, sqlite): the alert scope as rows, and views for people and BI tools.
-- Amounts in the tables are BIGINT ten-thousandths of their display unit; the views show the
-- display unit (万元, 万千瓦时, 人, %). deploy/数据字典.md describes every table and view.

-- The row table `submission` is 0011's.

-- Every unit an alert counts in (its own unit, its zone, the city), one row each, in the order
-- the rule gave them (ordinal 0 first). Replaces the delimited string alert.scope.
CREATE TABLE alert_scope (
    alert_id BIGINT NOT NULL REFERENCES alert (id) ON DELETE CASCADE,
    unit_code TEXT NOT NULL,
    ordinal INTEGER NOT NULL,
    PRIMARY KEY (alert_id, unit_code)
) WITHOUT ROWID;
CREATE INDEX alert_scope_unit ON alert_scope (unit_code, alert_id);

-- ",330781,ZK01,3307," becomes (id, '330781', 0), (id, 'ZK01', 1), (id, '3307', 2); a unit
-- named twice keeps its first place.
WITH RECURSIVE split (alert_id, rest, unit_code, ordinal) AS (
    SELECT id, substr(scope, 2), NULL, -1 FROM alert
    UNION ALL
    SELECT alert_id, substr(rest, instr(rest, ',') + 1), substr(rest, 1, instr(rest, ',') - 1), ordinal + 1
    FROM split
    WHERE rest <> ''
)
INSERT INTO alert_scope (alert_id, unit_code, ordinal)
SELECT alert_id, unit_code, MIN(ordinal) FROM split
WHERE unit_code IS NOT NULL AND unit_code <> ''
GROUP BY alert_id, unit_code;

ALTER TABLE alert DROP COLUMN scope;

-- The views (SQLite has no schemas: the prefix v_ marks them). Amounts are REAL (double):
-- rounded to 4 decimals they are the stored value exactly below 10^11 in the display unit.
-- Times are ISO 8601 text in Beijing time with its offset (2026-11-10T09:30:00+08:00).

-- 单位 (units): the city, districts and zones, with the parent's name.
CREATE VIEW v_unit AS
SELECT
    u.code,
    u.name,
    u.kind,
    CASE u.kind
        WHEN 'city' THEN '全市'
        WHEN 'district' THEN '县区'
        WHEN 'zone' THEN '园区'
    END AS kind_zh,
    u.parent,
    p.name AS parent_name,
    strftime('%Y-%m-%dT%H:%M:%S+08:00', u.updated_at / 1000, 'unixepoch', '+8 hours') AS updated_at
FROM unit u
LEFT JOIN unit p ON p.code = u.parent;

-- 企业名录 (enterprises) with the names of their unit and zone.
CREATE VIEW v_enterprise AS
SELECT
    e.credit_code,
    e.name,
    e.unit_code,
    u.name AS unit_name,
    e.zone_code,
    z.name AS zone_name,
    e.industry_code,
    e.scale,
    CASE e.scale
        WHEN 'above' THEN '规上'
        WHEN 'below' THEN '规下'
    END AS scale_zh,
    e.is_key,
    e.owner,
    strftime('%Y-%m-%dT%H:%M:%S+08:00', e.updated_at / 1000, 'unixepoch', '+8 hours') AS updated_at
FROM enterprise e
LEFT JOIN unit u ON u.code = e.unit_code
LEFT JOIN unit z ON z.code = e.zone_code;

-- 企业月报 (submissions): the current figures of each enterprise and month; money in 万元, electricity in 万千瓦时, employees in 人.
CREATE VIEW v_submission AS
SELECT
    s.credit_code,
    e.name AS enterprise_name,
    e.unit_code,
    u.name AS unit_name,
    e.zone_code,
    z.name AS zone_name,
    s.period,
    CAST(substr(s.period, 1, 4) AS INTEGER) AS year,
    CAST(substr(s.period, 6, 2) AS INTEGER) AS month,
    s.output / 10000.0 AS output,
    s.output_ytd / 10000.0 AS output_ytd,
    s.sales_ytd / 10000.0 AS sales_ytd,
    s.revenue_ytd / 10000.0 AS revenue_ytd,
    s.profit_ytd / 10000.0 AS profit_ytd,
    s.electricity / 10000.0 AS electricity,
    s.employees / 10000.0 AS employees,
    s.export_ytd / 10000.0 AS export_ytd,
    s.output_prev / 10000.0 AS output_prev,
    s.output_ytd_prev / 10000.0 AS output_ytd_prev,
    s.sales_ytd_prev / 10000.0 AS sales_ytd_prev,
    s.revenue_ytd_prev / 10000.0 AS revenue_ytd_prev,
    s.profit_ytd_prev / 10000.0 AS profit_ytd_prev,
    s.electricity_prev / 10000.0 AS electricity_prev,
    s.employees_prev / 10000.0 AS employees_prev,
    s.export_ytd_prev / 10000.0 AS export_ytd_prev,
    s.revision,
    s.run_id,
    strftime('%Y-%m-%dT%H:%M:%S+08:00', s.received_at / 1000, 'unixepoch', '+8 hours') AS received_at
FROM submission s
LEFT JOIN enterprise e ON e.credit_code = s.credit_code
LEFT JOIN unit u ON u.code = e.unit_code
LEFT JOIN unit z ON z.code = e.zone_code;

-- 企业月报历史 (superseded revisions of submissions), units as v_submission.
CREATE VIEW v_submission_history AS
SELECT
    s.credit_code,
    e.name AS enterprise_name,
    e.unit_code,
    u.name AS unit_name,
    e.zone_code,
    z.name AS zone_name,
    s.period,
    CAST(substr(s.period, 1, 4) AS INTEGER) AS year,
    CAST(substr(s.period, 6, 2) AS INTEGER) AS month,
    s.output / 10000.0 AS output,
    s.output_ytd / 10000.0 AS output_ytd,
    s.sales_ytd / 10000.0 AS sales_ytd,
    s.revenue_ytd / 10000.0 AS revenue_ytd,
    s.profit_ytd / 10000.0 AS profit_ytd,
    s.electricity / 10000.0 AS electricity,
    s.employees / 10000.0 AS employees,
    s.export_ytd / 10000.0 AS export_ytd,
    s.output_prev / 10000.0 AS output_prev,
    s.output_ytd_prev / 10000.0 AS output_ytd_prev,
    s.sales_ytd_prev / 10000.0 AS sales_ytd_prev,
    s.revenue_ytd_prev / 10000.0 AS revenue_ytd_prev,
    s.profit_ytd_prev / 10000.0 AS profit_ytd_prev,
    s.electricity_prev / 10000.0 AS electricity_prev,
    s.employees_prev / 10000.0 AS employees_prev,
    s.export_ytd_prev / 10000.0 AS export_ytd_prev,
    s.revision,
    s.run_id,
    strftime('%Y-%m-%dT%H:%M:%S+08:00', s.received_at / 1000, 'unixepoch', '+8 hours') AS received_at,
    strftime('%Y-%m-%dT%H:%M:%S+08:00', s.superseded_at / 1000, 'unixepoch', '+8 hours') AS superseded_at,
    s.superseded_by
FROM submission_history s
LEFT JOIN enterprise e ON e.credit_code = s.credit_code
LEFT JOIN unit u ON u.code = e.unit_code
LEFT JOIN unit z ON z.code = e.zone_code;

-- 目标任务 (targets): growth in %, volume in the indicator's unit.
CREATE VIEW v_target AS
SELECT
    t.year,
    t.unit_code,
    u.name AS unit_name,
    t.indicator,
    CASE t.indicator
        WHEN 'output' THEN '工业总产值'
        WHEN 'sales' THEN '工业销售产值'
        WHEN 'revenue' THEN '营业收入'
        WHEN 'profit' THEN '利润总额'
        WHEN 'electricity' THEN '工业用电量'
        WHEN 'employees' THEN '从业人员'
        WHEN 'export' THEN '出口交货值'
        WHEN 'value_added_growth' THEN '规上工业增加值增速'
        WHEN 'investment' THEN '工业投资'
    END AS indicator_zh,
    t.kind,
    CASE t.kind
        WHEN 'growth' THEN '增速'
        WHEN 'volume' THEN '总量'
    END AS kind_zh,
    t.annual / 10000.0 AS annual,
    CASE
        WHEN t.kind = 'growth' THEN '%'
        WHEN t.indicator = 'electricity' THEN '万千瓦时'
        WHEN t.indicator = 'employees' THEN '人'
        ELSE '万元'
    END AS annual_unit,
    t.milestones,
    strftime('%Y-%m-%dT%H:%M:%S+08:00', t.updated_at / 1000, 'unixepoch', '+8 hours') AS updated_at
FROM target t
LEFT JOIN unit u ON u.code = t.unit_code;

-- 单位指标 (official unit-level figures): value_added_growth in %, investment in 万元.
CREATE VIEW v_unit_indicator AS
SELECT
    t.unit_code,
    u.name AS unit_name,
    t.period,
    t.indicator,
    CASE t.indicator
        WHEN 'output' THEN '工业总产值'
        WHEN 'sales' THEN '工业销售产值'
        WHEN 'revenue' THEN '营业收入'
        WHEN 'profit' THEN '利润总额'
        WHEN 'electricity' THEN '工业用电量'
        WHEN 'employees' THEN '从业人员'
        WHEN 'export' THEN '出口交货值'
        WHEN 'value_added_growth' THEN '规上工业增加值增速'
        WHEN 'investment' THEN '工业投资'
    END AS indicator_zh,
    t.value / 10000.0 AS value,
    CASE t.indicator WHEN 'value_added_growth' THEN '%' ELSE '万元' END AS value_unit,
    t.run_id,
    strftime('%Y-%m-%dT%H:%M:%S+08:00', t.updated_at / 1000, 'unixepoch', '+8 hours') AS updated_at
FROM unit_indicator t
LEFT JOIN unit u ON u.code = t.unit_code;

-- 预警 (alerts) with unit and enterprise names and state, severity and rule in Chinese.
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

-- 预警范围 (alert scope): every unit an alert counts in, one row each.
CREATE VIEW v_alert_scope AS
SELECT
    s.alert_id,
    s.ordinal,
    s.unit_code,
    u.name AS unit_name,
    u.kind AS unit_kind
FROM alert_scope s
LEFT JOIN unit u ON u.code = s.unit_code;

-- 预警历史 (alert events): everything that happened to each alert, in order.
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

-- 评估批次 (evaluation runs) with the data vintage each read.
CREATE VIEW v_evaluation_run AS
SELECT
    r.id,
    r.period,
    strftime('%Y-%m-%dT%H:%M:%S+08:00', r.started_at / 1000, 'unixepoch', '+8 hours') AS started_at,
    strftime('%Y-%m-%dT%H:%M:%S+08:00', r.finished_at / 1000, 'unixepoch', '+8 hours') AS finished_at,
    r.status,
    r.findings,
    r.opened,
    r.changed,
    r.resolved,
    r.data_vintage,
    r.message
FROM evaluation_run r;

-- 导入批次 (import runs): one row per file imported.
CREATE VIEW v_import_run AS
SELECT
    r.id,
    r.source,
    r.file,
    r.sha256,
    r.kind,
    r.status,
    strftime('%Y-%m-%dT%H:%M:%S+08:00', r.started_at / 1000, 'unixepoch', '+8 hours') AS started_at,
    strftime('%Y-%m-%dT%H:%M:%S+08:00', r.finished_at / 1000, 'unixepoch', '+8 hours') AS finished_at,
    r.accepted,
    r.revised,
    r.unchanged,
    r.rejected,
    r.message
FROM import_run r;

-- 拒收记录 (rejected rows of imports) with where and why.
CREATE VIEW v_reject AS
SELECT
    j.id,
    j.run_id,
    j.line,
    j.col,
    j.field,
    j.value,
    j.reason
FROM reject j;

-- 重点项目 (key projects); amounts in 万元.
CREATE VIEW v_project AS
SELECT
    p.id,
    p.name,
    p.unit_code,
    u.name AS unit_name,
    p.owner,
    p.total_investment / 10000.0 AS total_investment,
    p.planned_year / 10000.0 AS planned_year,
    p.planned_start,
    p.planned_completion,
    p.planned_production,
    p.status,
    CASE p.status
        WHEN 'planned' THEN '未开工'
        WHEN 'started' THEN '在建'
        WHEN 'completed' THEN '竣工未投产'
        WHEN 'producing' THEN '已投产'
    END AS status_zh,
    strftime('%Y-%m-%dT%H:%M:%S+08:00', p.updated_at / 1000, 'unixepoch', '+8 hours') AS updated_at
FROM project p
LEFT JOIN unit u ON u.code = p.unit_code;

-- 项目进度 (monthly progress of key projects); amounts in 万元.
CREATE VIEW v_project_progress AS
SELECT
    g.project_id,
    p.name AS project_name,
    p.unit_code,
    u.name AS unit_name,
    g.period,
    g.invested_month / 10000.0 AS invested_month,
    g.invested_ytd / 10000.0 AS invested_ytd,
    g.status,
    CASE g.status
        WHEN 'planned' THEN '未开工'
        WHEN 'started' THEN '在建'
        WHEN 'completed' THEN '竣工未投产'
        WHEN 'producing' THEN '已投产'
    END AS status_zh,
    g.revision,
    g.run_id,
    strftime('%Y-%m-%dT%H:%M:%S+08:00', g.received_at / 1000, 'unixepoch', '+8 hours') AS received_at
FROM project_progress g
LEFT JOIN project p ON p.id = g.project_id
LEFT JOIN unit u ON u.code = p.unit_code;

