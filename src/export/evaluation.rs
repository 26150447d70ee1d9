//! Evaluation results recomputed on the current data: for each period of the range the same
//! evaluation as `indmon evaluate --dry-run` (no alert is changed), written from the very JSON
//! that `indmon evaluate --format json` prints, so the two cannot disagree. Three tables: units,
//! findings (预警) and key projects; each row also says its period.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::cell::{Cell, Column, Kind, Table};
use super::sink::Sink;
use super::{Range, Scope};
use crate::alerts::AlertState;
use crate::config::Config;
use crate::evaluate;
use crate::registry::ProjectStatus;
use crate::rules::{Severity, rule_zh};
use crate::store::Store;

/// Columns as (JSON key, Chinese heading, kind); a dotted key reads a nested object.
type Spec = (&'static str, &'static str, Kind);

const UNITS: &[Spec] = &[
    ("period", "报告期", Kind::Code),
    ("code", "单位代码", Kind::Code),
    ("name", "单位名称", Kind::Name),
    ("kind", "单位类型", Kind::Code),
    ("indicator", "指标", Kind::Code),
    ("ytd", "本年累计（万元）", Kind::Money),
    ("ytd_prev", "上年同期累计（万元）", Kind::Money),
    ("growth_pct", "累计增速（%）", Kind::Number),
    ("target_pct", "目标增速（%）", Kind::Number),
    ("gap_pp", "与目标差距（百分点）", Kind::Number),
    ("rank", "排名", Kind::Number),
    ("required_pct", "完成目标需增速（%）", Kind::Number),
    ("submission_rate", "报送率（%）", Kind::Number),
    ("estimated", "按企业产值估算", Kind::Code),
    ("month_growth_pct", "当月增速（%）", Kind::Number),
    ("target_basis", "目标口径", Kind::Code),
    ("milestone", "节点目标", Kind::Code),
    ("expected", "应报企业数", Kind::Number),
    ("reported", "已报企业数", Kind::Number),
    ("counted", "计入比较企业数", Kind::Number),
    ("excluded", "未计入企业数", Kind::Number),
    ("month_excluded", "当月未计入企业数", Kind::Number),
    ("growing_pct", "增长企业占比（%）", Kind::Number),
    ("declining_pct", "下降企业占比（%）", Kind::Number),
    ("below_target_streak", "连续低于目标期数", Kind::Number),
    ("projects.total", "重点项目数", Kind::Number),
    ("projects.planned", "未开工项目数", Kind::Number),
    ("projects.started", "在建项目数", Kind::Number),
    ("projects.completed", "竣工未投产项目数", Kind::Number),
    ("projects.producing", "已投产项目数", Kind::Number),
    ("projects.reported", "本月报送项目数", Kind::Number),
    (
        "projects.planned_year",
        "项目年度计划投资（万元）",
        Kind::Money,
    ),
    (
        "projects.invested_ytd",
        "项目累计完成投资（万元）",
        Kind::Money,
    ),
    ("projects.progress_pct", "项目投资完成率（%）", Kind::Number),
];

const FINDINGS: &[Spec] = &[
    ("period", "报告期", Kind::Code),
    ("severity_zh", "等级", Kind::Code),
    ("rule_zh", "预警类型", Kind::Name),
    ("state_zh", "状态", Kind::Code),
    ("subject", "对象代码", Kind::Code),
    ("subject_name", "对象名称", Kind::Name),
    ("unit", "责任单位代码", Kind::Code),
    ("indicator", "指标", Kind::Code),
    ("owner", "包抓领导", Kind::Code),
    ("consecutive", "连续期数", Kind::Number),
    ("message", "说明", Kind::Name),
    ("values", "依据", Kind::Name),
    ("rule", "规则代码", Kind::Code),
    ("severity", "等级代码", Kind::Code),
    ("state", "状态代码", Kind::Code),
];

const PROJECTS: &[Spec] = &[
    ("period", "报告期", Kind::Code),
    ("id", "项目编号", Kind::Code),
    ("name", "项目名称", Kind::Name),
    ("unit", "县区代码", Kind::Code),
    ("owner", "包抓领导", Kind::Code),
    ("status_zh", "状态", Kind::Code),
    ("status_since", "状态起始", Kind::Code),
    ("reported", "本月报送", Kind::Code),
    ("total_investment", "总投资（万元）", Kind::Money),
    ("planned_year", "年度计划投资（万元）", Kind::Money),
    ("invested_month", "本月完成投资（万元）", Kind::Money),
    ("invested_ytd", "累计完成投资（万元）", Kind::Money),
    ("progress_pct", "投资完成率（%）", Kind::Number),
    ("time_progress_pct", "时间进度（%）", Kind::Number),
    ("planned_start", "计划开工", Kind::Code),
    ("planned_completion", "计划竣工", Kind::Code),
    ("planned_production", "计划投产", Kind::Code),
    ("changes", "状态变化", Kind::Name),
    ("revision", "修订次数", Kind::Number),
    ("status", "状态代码", Kind::Code),
];

fn table(file: &'static str, sheet: &'static str, spec: &[Spec]) -> Table {
    Table {
        file,
        sheet,
        columns: spec
            .iter()
            .map(|(key, zh, kind)| Column::new(*zh, *key, *kind))
            .collect(),
    }
}

/// The three tables: units, findings, projects.
pub fn tables() -> Vec<Table> {
    vec![
        table("evaluation_units", "单位评估", UNITS),
        table("evaluation_alerts", "评估预警", FINDINGS),
        table("evaluation_projects", "重点项目", PROJECTS),
    ]
}

/// A JSON value as a cell: amounts back to their exact integer (a JSON 万元 figure is the
/// nearest double to raw / 10 000, so rounding recovers raw), whole numbers as integers,
/// booleans as 是/否, objects and arrays as JSON text.
fn cell(v: &Value, kind: Kind) -> Cell {
    match v {
        Value::Null => Cell::Empty,
        Value::Bool(b) => Cell::text(if *b { "是" } else { "否" }),
        Value::Number(n) if kind == Kind::Money => n
            .as_f64()
            .map_or(Cell::Empty, |x| Cell::Amount((x * 10_000.0).round() as i64)),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Cell::Int(i),
            None => n.as_f64().map_or(Cell::Empty, Cell::Num),
        },
        Value::String(s) => Cell::text(s),
        other => Cell::Text(other.to_string()),
    }
}

fn lookup<'a>(obj: &'a Value, key: &str) -> &'a Value {
    key.split('.')
        .fold(obj, |v, k| v.get(k).unwrap_or(&Value::Null))
}

fn row(obj: &Value, spec: &[Spec]) -> Vec<Cell> {
    spec.iter()
        .map(|(key, _, kind)| cell(lookup(obj, key), *kind))
        .collect()
}

/// Adds the Chinese words for the codes of a finding or a project.
fn with_words(mut obj: Value, period: &str) -> Value {
    let word = |k: &str, f: &dyn Fn(&str) -> Option<String>| {
        obj.get(k).and_then(Value::as_str).and_then(f)
    };
    let words = [
        ("rule_zh", word("rule", &|s| Some(rule_zh(s).to_string()))),
        (
            "severity_zh",
            word("severity", &|s| {
                Severity::parse(s).map(|x| x.zh().to_string())
            }),
        ),
        (
            "state_zh",
            word("state", &|s| {
                AlertState::parse(s).map(|x| x.zh().to_string())
            }),
        ),
        (
            "status_zh",
            word("status", &|s| {
                ProjectStatus::parse(s).map(|x| x.zh().to_string())
            }),
        ),
    ];
    if let Some(o) = obj.as_object_mut() {
        o.entry("period").or_insert_with(|| Value::from(period));
        for (k, w) in words {
            if let Some(w) = w {
                o.insert(k.into(), Value::from(w));
            }
        }
    }
    obj
}

/// The rows of one period's evaluation seen in `scope`: units, findings, projects.
fn period_rows(report: &evaluate::Report, scope: &Scope) -> [Vec<Vec<Cell>>; 3] {
    let json = evaluate::to_json(report);
    let period = report.period.to_string();
    let list = |k: &str| {
        json.get(k)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let units = list("units").into_iter().zip(&report.units);
    let findings = list("alerts").into_iter().zip(&report.findings);
    let projects = list("projects").into_iter().zip(&report.projects);
    [
        units
            .filter(|(_, u)| scope.filter().is_none_or(|c| c == u.code))
            .map(|(v, _)| row(&with_words(v, &period), UNITS))
            .collect(),
        findings
            .filter(|(_, f)| scope.sees(&f.unit, &f.scope))
            .map(|(v, _)| row(&with_words(v, &period), FINDINGS))
            .collect(),
        projects
            .filter(|(_, (p, _))| scope.sees(&p.unit_code, &[]))
            .map(|(v, _)| row(&with_words(v, &period), PROJECTS))
            .collect(),
    ]
}

/// Evaluates every period of `range` (January is left out of a longer range when it is
/// analysed with February) without changing any alert, and writes the results seen in
/// `scope`. Returns the rows written.
pub async fn export(
    store: &Store,
    config: &Config,
    range: &Range,
    scope: &Scope,
    now: DateTime<Utc>,
    sink: &mut dyn Sink,
) -> anyhow::Result<u64> {
    let combined = config.general.jan_feb_combined;
    let periods: Vec<_> = range.periods();
    let mut tables: [Vec<Vec<Cell>>; 3] = Default::default();
    for p in &periods {
        if combined && p.month() == 1 && periods.len() > 1 {
            continue;
        }
        let (report, _) = evaluate::run(store, config, *p, now, true).await?;
        for (all, rows) in tables.iter_mut().zip(period_rows(&report, scope)) {
            all.extend(rows);
        }
    }
    let mut n = 0u64;
    for (table, rows) in self::tables().iter().zip(&tables) {
        sink.begin(table)?;
        for r in rows {
            sink.row(r)?;
            n += 1;
        }
    }
    Ok(n)
}
