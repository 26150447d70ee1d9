//! The backtest: each of the last [`BACKTEST_MONTHS`] spans with a full history forecast from
//! what was known at its own cut-off (`UnitInput::vintages`), by the model and by the naive
//! forecast, and compared with the final figure.
//!
//! - An error is `final − forecast`, percentage points.
//! - A month's 80% interval is its forecast plus the 10th and 90th percentiles of the errors of
//!   the backtest months before it (at least [`MIN_ERRORS`] of them); it held when the final
//!   figure lies within it, ends included. The nowcast's interval takes all the backtest errors.
//! - The months are split in an earlier half (`split` = half, rounded down) and a later half.
//!   The forecast shown is the one with the lower mean absolute error on the earlier half (the
//!   naive one on a tie: the simpler wins), and its error is reported on the later half, which
//!   did not choose it.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{
    BACKTEST_MONTHS, INTERVAL, MIN_ERRORS, Month, Span, UnitInput, growth, model_forecast,
    naive_forecast,
};
use crate::period::Period;

/// Which forecast.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// The regression on electricity (用电测算).
    Model,
    /// Last month's published growth (上月增速).
    Naive,
}

impl Method {
    pub fn zh(self) -> &'static str {
        match self {
            Method::Model => "用电测算",
            Method::Naive => "上月增速",
        }
    }
}

/// One backtest month.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BacktestMonth {
    pub span: Span,
    pub label: String,
    /// The final figure, percent.
    pub actual: f64,
    pub model: f64,
    pub naive: f64,
    /// From the errors of the months before it, when there were enough.
    pub model_interval: Option<(f64, f64)>,
    pub naive_interval: Option<(f64, f64)>,
}

/// How one forecast did over the backtest months.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Score {
    /// Mean absolute error, percentage points: all months, the earlier and the later half.
    pub mae: Option<f64>,
    pub mae_earlier: Option<f64>,
    pub mae_later: Option<f64>,
    /// Months with an interval, and how many of them held the final figure.
    pub intervals: u32,
    pub held: u32,
}

/// The whole backtest of one unit.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Backtest {
    /// Oldest first.
    pub months: Vec<BacktestMonth>,
    /// `months[..split]` chose, `months[split..]` measured.
    pub split: usize,
    pub model: Score,
    pub naive: Score,
    /// None with fewer than two months (no half to choose on and another to measure on).
    pub choice: Option<Method>,
    /// The chosen forecast's mean absolute error on the later half.
    pub chosen_mae: Option<f64>,
}

impl Backtest {
    /// Errors (`final − forecast`) of a method, oldest first.
    pub fn errors(&self, m: Method) -> Vec<f64> {
        self.months
            .iter()
            .map(|b| {
                b.actual
                    - match m {
                        Method::Model => b.model,
                        Method::Naive => b.naive,
                    }
            })
            .collect()
    }

    pub fn score(&self, m: Method) -> &Score {
        match m {
            Method::Model => &self.model,
            Method::Naive => &self.naive,
        }
    }
}

/// The `p`-quantile of sorted figures, linearly interpolated between order statistics (the
/// usual "type 7": position `(n − 1) · p`).
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let h = last as f64 * p;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(last);
    Some(sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo]))
}

/// The 10th and 90th percentiles of `errors`, with at least [`MIN_ERRORS`] of them.
pub fn error_band(errors: &[f64]) -> Option<(f64, f64)> {
    if errors.len() < MIN_ERRORS {
        return None;
    }
    let mut s = errors.to_vec();
    s.sort_by(f64::total_cmp);
    Some((percentile(&s, INTERVAL.0)?, percentile(&s, INTERVAL.1)?))
}

/// The mean of the absolute values; none when empty.
pub fn mae(errors: &[f64]) -> Option<f64> {
    (!errors.is_empty()).then(|| errors.iter().map(|e| e.abs()).sum::<f64>() / errors.len() as f64)
}

/// The backtest of the span `target`: the last [`BACKTEST_MONTHS`] spans before it with a
/// final figure, a model forecast and a naive one at their own cut-off.
pub fn run(target: Span, input: &UnitInput) -> Backtest {
    let finals: BTreeMap<Period, &Month> = input.finals.iter().map(|m| (m.period, m)).collect();
    let mut months = Vec::new();
    for (last, known) in input.vintages.range(..target.first).rev() {
        let s = Span::of(*last);
        if s.last != *last {
            continue;
        }
        let (Ok((model, _)), Some(naive), Some(actual)) = (
            model_forecast(s, known),
            naive_forecast(s, known),
            growth(s, &finals),
        ) else {
            continue;
        };
        months.push(BacktestMonth {
            span: s,
            label: s.label(),
            actual,
            model,
            naive,
            model_interval: None,
            naive_interval: None,
        });
        if months.len() == BACKTEST_MONTHS {
            break;
        }
    }
    months.reverse();
    score(months)
}

/// Intervals, scores and the choice of a backtest's months.
pub fn score(mut months: Vec<BacktestMonth>) -> Backtest {
    let mut bt = Backtest {
        split: months.len() / 2,
        ..Backtest::default()
    };
    for i in 0..months.len() {
        let (before, rest) = months.split_at_mut(i);
        let b = &mut rest[0];
        let errs = |f: fn(&BacktestMonth) -> f64| {
            before.iter().map(|m| m.actual - f(m)).collect::<Vec<_>>()
        };
        b.model_interval = error_band(&errs(|m| m.model)).map(|(l, h)| (b.model + l, b.model + h));
        b.naive_interval = error_band(&errs(|m| m.naive)).map(|(l, h)| (b.naive + l, b.naive + h));
    }
    bt.months = months;
    for m in [Method::Model, Method::Naive] {
        let e = bt.errors(m);
        let mut s = Score {
            mae: mae(&e),
            mae_earlier: mae(&e[..bt.split]),
            mae_later: mae(&e[bt.split..]),
            ..Score::default()
        };
        for b in &bt.months {
            let interval = match m {
                Method::Model => b.model_interval,
                Method::Naive => b.naive_interval,
            };
            if let Some((lo, hi)) = interval {
                s.intervals += 1;
                s.held += u32::from(lo <= b.actual && b.actual <= hi);
            }
        }
        match m {
            Method::Model => bt.model = s,
            Method::Naive => bt.naive = s,
        }
    }
    if let (Some(m), Some(n)) = (bt.model.mae_earlier, bt.naive.mae_earlier)
        && bt.split < bt.months.len()
    {
        let choice = if m < n { Method::Model } else { Method::Naive };
        bt.chosen_mae = bt.score(choice).mae_later;
        bt.choice = Some(choice);
    }
    bt
}
