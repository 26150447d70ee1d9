//! `indmon forecast`: each unit's nowcast of a month from its 旬 electricity, with its interval,
//! the backtest's mean absolute errors of the model and the naive forecast, the one chosen, the
//! 1—N月 estimate and the year-end projection against the target.

use std::process::ExitCode;

use chrono::{DateTime, Utc};
use chrono_tz::Asia::Shanghai;

use super::output::out;
use crate::analysis::rounding::{fixed, signed};
use crate::config::Config;
use crate::forecast::{Estimate, UnitForecast, forecast_unit};
use crate::period::Period;
use crate::store::Store;

#[derive(Debug, clap::Args)]
pub struct ForecastArgs {
    /// 预测月份 (the month to nowcast), e.g. 2026-10; January and February give 1—2月.
    #[arg(long)]
    pub period: Period,
    /// 截止时间 (cut-off, RFC 3339): only what was received by then is used (default: now).
    #[arg(long)]
    pub as_of: Option<DateTime<Utc>>,
    /// Print as a table or as JSON (every figure unrounded).
    #[arg(long, value_parser = ["table", "json"], default_value = "table")]
    pub format: String,
}

pub async fn forecast(
    store: &Store,
    config: &Config,
    args: ForecastArgs,
    now: DateTime<Utc>,
) -> anyhow::Result<ExitCode> {
    let as_of = args.as_of.unwrap_or(now);
    let calendar = config.calendar.load_or_weekdays();
    let (span, inputs) = store
        .nowcast_inputs(args.period, as_of.timestamp_millis(), calendar.as_ref())
        .await?;
    let units: Vec<UnitForecast> = inputs.iter().map(|u| forecast_unit(span, u)).collect();
    if args.format == "json" {
        let doc = serde_json::json!({
            "period": args.period,
            "span": span,
            "label": span.label(),
            "as_of": as_of.to_rfc3339(),
            "units": units,
        });
        out!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(ExitCode::SUCCESS);
    }
    out!(
        "{}年{}规上工业产值增长估算 (nowcast of output growth), 截至 (as of) {}",
        span.last.year(),
        span.label(),
        as_of.with_timezone(&Shanghai).format("%Y-%m-%d %H:%M")
    );
    for u in &units {
        for line in table_lines(u) {
            out!("{line}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `4.8%（区间3.9%—5.7%）`.
fn shown(e: &Estimate) -> String {
    match (e.low, e.high) {
        (Some(l), Some(h)) => format!(
            "{}%（区间{}%—{}%）",
            fixed(e.pct, 1),
            fixed(l, 1),
            fixed(h, 1)
        ),
        _ => format!("{}%（无区间 no interval）", fixed(e.pct, 1)),
    }
}

fn mae(x: Option<f64>) -> String {
    x.map_or("—".into(), |v| fixed(v, 1))
}

/// A unit's lines of the table.
pub fn table_lines(u: &UnitForecast) -> Vec<String> {
    let mut lines = vec![format!("{} {}", u.code, u.name)];
    let bt = &u.backtest;
    let based = u
        .partial
        .as_ref()
        .map_or("无旬用电 (no 旬 electricity)".into(), |p| {
            format!("按{}用电（增长{}%）", p.label, fixed(p.growth_pct, 1))
        });
    match (&u.month, u.shown) {
        (Some(m), Some(method)) => lines.push(format!(
            "  {}估算 (nowcast) {}，{}，选用 (shown) {}",
            u.label,
            shown(m),
            based,
            method.zh()
        )),
        _ => lines.push(format!(
            "  不作预测 (no forecast): {}",
            u.reason.as_ref().map_or(String::new(), |r| r.message())
        )),
    }
    lines.push(format!(
        "  回测 (backtest) {}个月: 平均绝对误差 (MAE) 用电测算 {} / 上月增速 {} 个百分点; 区间命中 (interval held) {}/{} 与 {}/{}; 选用者后{}个月误差 {}",
        bt.months.len(),
        mae(bt.model.mae),
        mae(bt.naive.mae),
        bt.model.held,
        bt.model.intervals,
        bt.naive.held,
        bt.naive.intervals,
        bt.months.len() - bt.split,
        mae(bt.chosen_mae),
    ));
    if let Some(y) = &u.ytd {
        lines.push(format!(
            "  {}估算 (ytd) {}",
            u.span.last.ytd_label(),
            shown(y)
        ));
    }
    if let Some(y) = &u.year_end {
        let target = match (y.target_pct, y.gap_pp) {
            (Some(t), Some(g)) => format!(
                "，目标 (target) {}%，差 (gap) {}",
                fixed(t, 1),
                signed(g, 1)
            ),
            _ => String::new(),
        };
        lines.push(format!(
            "  全年预计 (year end) 按近期走势 {}，按累计增速 {}{}",
            shown(&y.trend),
            shown(&y.naive),
            target
        ));
    }
    lines
}
