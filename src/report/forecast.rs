//! 十、预测预警, the snapshot's section on the nowcast (`crate::forecast`): the city's growth of
//! output in the month whose statistics are not yet in, estimated from its 旬 electricity (or
//! at last month's growth, as the backtest decided), with its interval and measured error, both
//! methods' errors, and each district's year-end projection against its target. Pure: the
//! store read and the forecasts are done by `report::build_since_at`.

use serde::Serialize;

use crate::analysis::fmt_pct;
use crate::analysis::rounding::{fixed, signed};
use crate::forecast::{Estimate, Method, NoForecast, UnitForecast};
use crate::registry::{Unit, UnitKind};

/// One unit's row of the section's table.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ForecastRow {
    pub code: String,
    pub name: String,
    /// The month's estimate shown, percent, and its 80% interval.
    pub month: Option<Estimate>,
    /// 用电测算 or 上月增速: the forecast shown.
    pub method_zh: String,
    /// The shown forecast's mean absolute error on the backtest's later half, percentage points.
    pub error_pp: Option<f64>,
    /// The year-end growth at the recent trend, percent.
    pub year_end_pct: Option<f64>,
    pub target_pct: Option<f64>,
    /// `year_end − target`, percentage points.
    pub gap_pp: Option<f64>,
    /// Why there is no forecast (for officials, operators' English in brackets).
    pub reason: String,
}

/// The section, serialised as `forecast` in `snapshot.json`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ForecastWatch {
    /// `2026年10月`, the span nowcast; empty when no nowcast was made.
    pub span_zh: String,
    /// The cut-off (Asia/Shanghai), `2026-11-01 00:00`.
    pub as_of: String,
    /// The city first, then its districts in code order.
    pub units: Vec<ForecastRow>,
    /// Districts whose year-end projection is below their target.
    pub below_target: Vec<String>,
    /// Every unit's forecast as computed (backtest months included), for machines.
    pub detail: Vec<UnitForecast>,
    /// The section's text.
    pub paragraphs: Vec<String>,
}

/// Builds the section from every unit's forecast (city first) and the registry's units.
pub fn build(forecasts: Vec<UnitForecast>, registry: &[Unit], as_of: String) -> ForecastWatch {
    let kind = |code: &str| registry.iter().find(|u| u.code == code).map(|u| u.kind);
    let mut w = ForecastWatch {
        as_of,
        ..ForecastWatch::default()
    };
    for f in &forecasts {
        match kind(&f.code) {
            Some(UnitKind::City) => w.units.insert(0, row(f)),
            Some(UnitKind::District) => w.units.push(row(f)),
            _ => continue,
        }
    }
    let city = forecasts
        .iter()
        .find(|f| kind(&f.code) == Some(UnitKind::City));
    if let Some(c) = city {
        w.span_zh = format!("{}年{}", c.span.last.year(), c.label);
    }
    w.below_target = w.units[w.units.len().min(1)..]
        .iter()
        .filter(|u| u.gap_pp.is_some_and(|g| g < 0.0))
        .map(|u| u.name.clone())
        .collect();
    w.paragraphs = paragraphs(city, &w);
    w.detail = forecasts;
    w
}

fn row(f: &UnitForecast) -> ForecastRow {
    let year_end = f.year_end.as_ref();
    ForecastRow {
        code: f.code.clone(),
        name: f.name.clone(),
        month: f.month,
        method_zh: f.shown.map_or(String::new(), |m| m.zh().to_string()),
        error_pp: f.shown.and(f.backtest.chosen_mae),
        year_end_pct: year_end.map(|y| y.trend.pct),
        target_pct: year_end.and_then(|y| y.target_pct),
        gap_pp: year_end.and_then(|y| y.gap_pp),
        reason: f.reason.as_ref().map_or(String::new(), NoForecast::message),
    }
}

/// `4.8%（区间3.9%—5.7%，近6个月平均误差0.6个百分点）`, signed as growth or decline.
fn estimate_zh(e: &Estimate, months: usize, error: Option<f64>) -> String {
    let verb = if e.pct < 0.0 { "下降" } else { "增长" };
    let mut inner = Vec::new();
    if let (Some(l), Some(h)) = (e.low, e.high) {
        inner.push(format!("区间{}—{}", fmt_pct(l), fmt_pct(h)));
    }
    if let Some(err) = error {
        inner.push(format!("近{months}个月平均误差{}个百分点", fixed(err, 1)));
    }
    let tail = if inner.is_empty() {
        String::new()
    } else {
        format!("（{}）", inner.join("，"))
    };
    format!("{verb}约{}{tail}", fmt_pct(e.pct.abs()))
}

/// The text: the city's estimate and how it is made, both methods' errors, the year end.
fn paragraphs(city: Option<&UnitForecast>, w: &ForecastWatch) -> Vec<String> {
    let Some(c) = city else {
        return vec!["本期未作预测（全市无预测结果 no nowcast for the city）。".into()];
    };
    let (Some(m), Some(method)) = (c.month, c.shown) else {
        return vec![no_forecast(c)];
    };
    let bt = &c.backtest;
    let later = bt.months.len() - bt.split;
    let basis = match (method, &c.partial) {
        (Method::Model, Some(p)) => format!("按{}用电测算", p.label),
        (Method::Model, None) => "按旬用电测算".into(),
        (Method::Naive, _) => "按上月增速推算".into(),
    };
    let mut out = vec![format!(
        "{basis}，{}全市规上工业产值{}。",
        c.label,
        estimate_zh(&m, later, bt.chosen_mae)
    )];
    let mae = |x: Option<f64>| x.map_or("—".into(), |v| format!("{}个百分点", fixed(v, 1)));
    out.push(format!(
        "回测近{}个月（只用各月截止时已知数据）：用电测算平均误差{}，上月增速平均误差{}；按前{}个月误差较小者选用{}，误差按后{}个月计。估算为产值口径，非增加值。",
        bt.months.len(),
        mae(bt.model.mae),
        mae(bt.naive.mae),
        bt.split,
        method.zh(),
        later
    ));
    out.push(year_end_text(c, w));
    out
}

/// The one sentence said instead of a forecast.
fn no_forecast(c: &UnitForecast) -> String {
    match &c.reason {
        Some(NoForecast::ShortHistory { months }) => format!(
            "用电与产值配对历史不足24个月（现有{months}个月），{}暂不作预测。",
            c.label
        ),
        Some(r) => format!("{}暂不作预测：{}。", c.label, r.message()),
        None => format!("{}暂不作预测。", c.label),
    }
}

/// The city's year end and the districts likely to miss their target.
fn year_end_text(c: &UnitForecast, w: &ForecastWatch) -> String {
    let mut s = match &c.year_end {
        Some(y) => {
            let mut s = format!("按近期趋势，全年全市产值预计增长{}", fmt_pct(y.trend.pct));
            if let (Some(t), Some(g)) = (y.target_pct, y.gap_pp) {
                s.push_str(&format!(
                    "，目标{}，差距{}个百分点",
                    fmt_pct(t),
                    signed(g, 1)
                ));
            }
            s
        }
        None => "全市全年预计暂无".into(),
    };
    if w.below_target.is_empty() {
        s.push_str("；各县区全年预计均不低于目标（或未设目标）。");
    } else {
        s.push_str(&format!(
            "；{}全年预计低于目标，需重点关注。",
            w.below_target.join("、")
        ));
    }
    s
}

/// The header of the workbook's sheet.
pub const SHEET_HEAD: [&str; 9] = [
    "单位",
    "估算(%)",
    "区间下限(%)",
    "区间上限(%)",
    "选用方法",
    "平均误差(百分点)",
    "全年预计(%)",
    "目标(%)",
    "差距(百分点)",
];

/// 预测预警: each unit's estimate, method, error and year end; the reason where none.
pub fn sheet_rows(w: &ForecastWatch) -> Vec<Vec<crate::report::sheet::Cell>> {
    use crate::report::sheet::{PCT1, num, text};
    w.units
        .iter()
        .map(|u| {
            vec![
                text(&u.name),
                num(u.month.map(|m| m.pct), PCT1),
                num(u.month.and_then(|m| m.low), PCT1),
                num(u.month.and_then(|m| m.high), PCT1),
                text(if u.reason.is_empty() {
                    u.method_zh.clone()
                } else {
                    u.reason.clone()
                }),
                num(u.error_pp, PCT1),
                num(u.year_end_pct, PCT1),
                num(u.target_pct, PCT1),
                num(u.gap_pp, PCT1),
            ]
        })
        .collect()
}

#[cfg(test)]
mod tests;
