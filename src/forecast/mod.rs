//! 预测 (DESIGN.md, "Every ten days", nowcasts and projections): each unit's growth of output of a
//! month estimated (估算: output, not value added) from the month's 旬 electricity, before the
//! month's statistics arrive, with the error a backtest measured; its 1—N月 growth; and the
//! year-end growth against the target. Pure: what was known at each cut-off comes in
//! ([`UnitInput`], read by `store::forecast`), forecasts go out.
//!
//! - The model ([`ols`]): a per-unit ordinary least squares of a month's output growth on its
//!   metered electricity growth (average daily consumption, year on year) over the trailing 24
//!   months before the month forecast, applied to the month's electricity growth over the 旬s
//!   present at the cut-off. Fewer than 24 months with both figures: no forecast.
//! - The naive forecast: the latest published month's growth as known at the cut-off.
//! - January and February are one month here (1—2月, [`Span`]), as the bureau publishes them.
//! - The backtest ([`backtest`]) forecasts each of the last 12 months with that history from
//!   what was known at its own cut-off, and compares with the final figure; it gives the
//!   intervals (the 10th and 90th percentiles of earlier errors), the mean absolute errors and
//!   the choice of the forecast shown (decided on its earlier half, reported on its later half).
//!   Months whose daily electricity was pruned (`[power] daily_retention_months`) enter as
//!   their 旬 sums, each known from the day after its 旬 ended (`store::forecast`): every
//!   cut-off that reads one is months after it, so the nowcast and its backtest are the same
//!   with or without the days.
//! - [`year`]: the 1—N月 estimate and the year-end projection.

pub mod assemble;
pub mod backtest;
pub mod ols;
mod span;
mod unit;
pub mod year;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::period::Period;

pub use backtest::{Backtest, BacktestMonth, Method, Score};
pub use span::Span;
pub use unit::{
    Estimate, NoForecast, UnitForecast, YearEnd, forecast_unit, model_forecast, naive_forecast,
};

/// Months of paired history (output and electricity growth) the model needs before a month:
/// issue 21's "a per-unit regression over the last 24 months" and "no forecast is shown with
/// fewer than 24 months of paired history" (DESIGN.md, "Every ten days": no forecast without
/// enough history).
pub const HISTORY_MONTHS: u32 = 24;

/// Backtest months at most: the report's "近12个月平均误差" (issue 21).
pub const BACKTEST_MONTHS: usize = 12;

/// Earlier errors an interval needs: from fewer, its percentiles would be a guess.
pub const MIN_ERRORS: usize = 5;

/// The interval's percentiles of the errors: 10th and 90th (issue 21's "an 80% interval from
/// its backtest errors"; DESIGN.md, "Every ten days": each figure with an interval).
pub const INTERVAL: (f64, f64) = (0.1, 0.9);

/// One month of a unit as published (as known at some cut-off): output summed over its
/// enterprises that reported both this month and the same month last year, in any one unit
/// (万元), and the year to date summed likewise.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Month {
    pub period: Period,
    pub output: f64,
    pub output_prev: f64,
    /// 1—N月 output this year and last year of the enterprises that reported both.
    pub ytd: Option<(f64, f64)>,
}

/// The metered electricity growth of the span forecast, over the 旬s present at its cut-off.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Partial {
    /// Percent, year on year, on average daily consumption.
    pub growth_pct: f64,
    /// The days it covers as officials write them: `10月上中旬`, `1月及2月上旬`.
    pub label: String,
}

/// What was known of a unit at one cut-off.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Known {
    /// Months whose figures had been received by the cut-off (their revisions as of then).
    pub months: Vec<Month>,
    /// Electricity growth (percent) of whole spans before the cut-off, by the span's last month.
    pub power: BTreeMap<Period, f64>,
    /// The span forecast, over its 旬s present at the cut-off.
    pub partial: Option<Partial>,
}

impl Known {
    /// The published months by period.
    pub fn by_period(&self) -> BTreeMap<Period, &Month> {
        self.months.iter().map(|m| (m.period, m)).collect()
    }
}

/// Everything forecast for one unit reads.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct UnitInput {
    pub code: String,
    pub name: String,
    /// The unit's annual growth target of the year, percent.
    pub target_pct: Option<f64>,
    /// The figures as known at the latest cut-off: what a backtest compares with.
    pub finals: Vec<Month>,
    /// What was known at the cut-off of each span (by its last month): the span forecast and
    /// the backtest's.
    pub vintages: BTreeMap<Period, Known>,
}

/// `Σ output / Σ output_prev − 1` in percent over the months of `span`, all of them present.
pub fn growth(span: Span, months: &BTreeMap<Period, &Month>) -> Option<f64> {
    let (mut cur, mut prev) = (0.0, 0.0);
    for p in span.periods() {
        let m = months.get(&p)?;
        cur += m.output;
        prev += m.output_prev;
    }
    (prev > 0.0).then(|| (cur / prev - 1.0) * 100.0)
}
