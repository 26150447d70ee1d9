//! The alerts of a range with their history: the table of alerts (one row each, as they stand)
//! and the table of their events (every event of each alert listed, oldest first). An alert
//! belongs to the range when its life overlaps it: opened at or before the range's last period
//! and not resolved before its first.

use std::collections::HashMap;

use super::cell::{Cell, Column, Kind, Table};
use super::sink::Sink;
use super::{Range, Scope};
use crate::alerts::{Alert, AlertState, EventKind};
use crate::alerts::{AlertFilter, Event};
use crate::rules::rule_zh;
use crate::store::Store;

/// The two tables: alerts, then their events.
pub fn tables() -> Vec<Table> {
    let c = Column::new;
    vec![
        Table {
            file: "alerts",
            sheet: "预警",
            columns: vec![
                c("预警编号", "id", Kind::Number),
                c("等级", "severity_zh", Kind::Code),
                c("预警类型", "rule_zh", Kind::Name),
                c("状态", "state_zh", Kind::Code),
                c("对象代码", "subject", Kind::Code),
                c("对象名称", "subject_name", Kind::Name),
                c("指标", "indicator", Kind::Code),
                c("责任单位代码", "unit_code", Kind::Code),
                c("责任单位", "unit_name", Kind::Name),
                c("包抓领导", "owner", Kind::Code),
                c("连续期数", "consecutive", Kind::Number),
                c("最近报告期", "period", Kind::Code),
                c("说明", "message", Kind::Name),
                c("依据", "values", Kind::Name),
                c("首次预警时间", "opened_at", Kind::Time),
                c("最近更新时间", "updated_at", Kind::Time),
                c("认领人", "acknowledged_by", Kind::Code),
                c("认领时间", "acknowledged_at", Kind::Time),
                c("销号人", "resolved_by", Kind::Code),
                c("销号时间", "resolved_at", Kind::Time),
                c("备注", "note", Kind::Name),
                c("规则代码", "rule", Kind::Code),
                c("等级代码", "severity", Kind::Code),
                c("状态代码", "state", Kind::Code),
            ],
        },
        Table {
            file: "alert_events",
            sheet: "预警历史",
            columns: vec![
                c("预警编号", "alert_id", Kind::Number),
                c("事件编号", "id", Kind::Number),
                c("时间", "at", Kind::Time),
                c("报告期", "period", Kind::Code),
                c("事件", "kind_zh", Kind::Code),
                c("等级", "severity_zh", Kind::Code),
                c("连续期数", "consecutive", Kind::Number),
                c("预警类型", "rule_zh", Kind::Name),
                c("对象名称", "subject_name", Kind::Name),
                c("说明", "message", Kind::Name),
                c("操作人", "actor", Kind::Code),
                c("备注", "note", Kind::Name),
                c("事件代码", "kind", Kind::Code),
            ],
        },
    ]
}

/// Whether the alert's life (its first event to its resolution, if resolved) overlaps `range`.
fn overlaps(a: &Alert, events: &[&Event], range: &Range) -> bool {
    let (from, to) = (range.from.to_string(), range.to.to_string());
    let opened = events
        .iter()
        .map(|e| e.period.as_str())
        .min()
        .unwrap_or_default()
        .min(&a.period.to_string())
        .to_string();
    let resolved = (a.state == AlertState::Resolved).then(|| {
        events
            .iter()
            .filter(|e| e.kind == EventKind::Resolved)
            .map(|e| e.period.clone())
            .max()
            .unwrap_or_else(|| a.period.to_string())
    });
    opened <= to && resolved.is_none_or(|r| r >= from)
}

fn alert_cells(a: &Alert, units: &HashMap<String, String>) -> Vec<Cell> {
    vec![
        Cell::Int(a.id),
        Cell::text(a.severity.zh()),
        Cell::text(rule_zh(&a.rule)),
        Cell::text(a.state.zh()),
        Cell::text(&a.subject),
        Cell::text(&a.subject_name),
        Cell::text(&a.indicator),
        Cell::text(&a.unit_code),
        Cell::opt_text(units.get(&a.unit_code).cloned()),
        Cell::opt_text(a.owner.clone()),
        Cell::Int(i64::from(a.consecutive)),
        Cell::Text(a.period.to_string()),
        Cell::text(&a.message),
        Cell::Text(serde_json::Value::Object(a.values.clone()).to_string()),
        Cell::Time(a.opened_at),
        Cell::Time(a.updated_at),
        Cell::opt_text(a.acknowledged_by.clone()),
        Cell::opt_time(a.acknowledged_at),
        Cell::opt_text(a.resolved_by.clone()),
        Cell::opt_time(a.resolved_at),
        Cell::opt_text(a.note.clone()),
        Cell::text(&a.rule),
        Cell::text(a.severity.as_str()),
        Cell::text(a.state.as_str()),
    ]
}

fn event_cells(e: &Event, a: &Alert) -> Vec<Cell> {
    vec![
        Cell::Int(e.alert_id),
        Cell::Int(e.id),
        Cell::Time(e.at),
        Cell::text(&e.period),
        Cell::text(e.kind.zh()),
        Cell::text(e.severity.zh()),
        Cell::Int(i64::from(e.consecutive)),
        Cell::text(rule_zh(&a.rule)),
        Cell::text(&a.subject_name),
        Cell::text(&e.message),
        Cell::text(&e.actor),
        Cell::text(&e.note),
        Cell::text(e.kind.as_str()),
    ]
}

/// Writes the alerts of `range` seen in `scope`, by id, then their events. Returns the alerts
/// and the events written.
pub async fn export(
    store: &Store,
    range: &Range,
    scope: &Scope,
    sink: &mut dyn Sink,
) -> anyhow::Result<(u64, u64)> {
    let units: HashMap<String, String> = store
        .units()
        .await?
        .into_iter()
        .map(|u| (u.code, u.name))
        .collect();
    let filter = AlertFilter {
        unit: scope.filter().map(String::from),
        ..AlertFilter::default()
    };
    let mut alerts = store.alerts(&filter).await?;
    alerts.sort_unstable_by_key(|a| a.id);
    let events = store.alert_events(0, None).await?;
    let mut by_alert: HashMap<i64, Vec<&Event>> = HashMap::new();
    for e in &events {
        by_alert.entry(e.alert_id).or_default().push(e);
    }
    let none = Vec::new();
    let kept: Vec<(&Alert, &Vec<&Event>)> = alerts
        .iter()
        .map(|a| (a, by_alert.get(&a.id).unwrap_or(&none)))
        .filter(|(a, ev)| overlaps(a, ev, range))
        .collect();
    let [alert_table, event_table] = <[Table; 2]>::try_from(tables())
        .map_err(|_| anyhow::anyhow!("the alert export has two tables"))?;
    sink.begin(&alert_table)?;
    for (a, _) in &kept {
        sink.row(&alert_cells(a, &units))?;
    }
    sink.begin(&event_table)?;
    let mut n_events = 0u64;
    for (a, ev) in &kept {
        for e in ev.iter() {
            sink.row(&event_cells(e, a))?;
            n_events += 1;
        }
    }
    Ok((kept.len() as u64, n_events))
}
