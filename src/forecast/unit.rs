//! One unit's nowcast: the model's and the naive forecast of a span, the backtest that chooses
//! between them and measures the choice, and the 1—N月 and year-end figures from the one shown.

use serde::Serialize;

use super::backtest::{self, Backtest, Method};
use super::ols::{self, Fit};
use super::{HISTORY_MONTHS, Known, Partial, Span, UnitInput, growth, year};

/// Why the model gives no forecast.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NoForecast {
    /// Fewer than [`HISTORY_MONTHS`] months with both growth figures before the span.
    ShortHistory { months: u32 },
    /// The span has no electricity at its cut-off.
    NoElectricity,
    /// Every month of the history had the same electricity growth: no line through them.
    FlatElectricity,
    /// Fewer than two backtest months: nothing to choose on and measure with.
    ShortBacktest { months: usize },
    /// The forecast chosen cannot be made at the cut-off (the naive one without a published
    /// month).
    ChosenMissing,
}

impl NoForecast {
    /// For officials, with the operators' English in brackets.
    pub fn message(&self) -> String {
        match self {
            NoForecast::ShortHistory { months } => {
                format!("历史不足24个月 (fewer than 24 months of paired history): 仅{months}个月")
            }
            NoForecast::NoElectricity => {
                "截止时尚无该月旬用电 (no 旬 electricity at the cut-off)".into()
            }
            NoForecast::FlatElectricity => {
                "历史用电增速无变化 (electricity growth never varied)".into()
            }
            NoForecast::ShortBacktest { months } => {
                format!("回测月份不足 (fewer than 2 backtest months): {months}个月")
            }
            NoForecast::ChosenMissing => {
                "截止时无上月增速 (no published month at the cut-off)".into()
            }
        }
    }
}

/// A figure with its 80% interval, percent.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Estimate {
    pub pct: f64,
    pub low: Option<f64>,
    pub high: Option<f64>,
}

impl Estimate {
    /// `f` at the point and at the interval's ends (for a figure increasing in this one).
    fn map(self, f: impl Fn(f64) -> Option<f64>) -> Option<Estimate> {
        Some(Estimate {
            pct: f(self.pct)?,
            low: self.low.and_then(&f),
            high: self.high.and_then(&f),
        })
    }
}

/// The year-end projection against the target.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct YearEnd {
    /// The rest of the year at the recent trend.
    pub trend: Estimate,
    /// The rest of the year at the 1—N月 growth.
    pub naive: Estimate,
    pub target_pct: Option<f64>,
    /// `trend − target`, percentage points.
    pub gap_pp: Option<f64>,
}

/// Everything forecast for one unit.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct UnitForecast {
    pub code: String,
    pub name: String,
    pub span: Span,
    pub label: String,
    pub partial: Option<Partial>,
    pub fit: Option<Fit>,
    pub model: Option<Estimate>,
    pub naive: Option<Estimate>,
    pub backtest: Backtest,
    /// The forecast shown and its figures; none with `reason`.
    pub shown: Option<Method>,
    pub month: Option<Estimate>,
    pub ytd: Option<Estimate>,
    pub year_end: Option<YearEnd>,
    pub reason: Option<NoForecast>,
}

/// The model's forecast of `span` from what `known` had: the least-squares line of the trailing
/// [`HISTORY_MONTHS`] months' output growth on their electricity growth, at the span's
/// electricity growth so far.
pub fn model_forecast(span: Span, known: &Known) -> Result<(f64, Fit), NoForecast> {
    let by = known.by_period();
    let mut pairs = Vec::new();
    let mut months = 0;
    for s in span.trailing(HISTORY_MONTHS) {
        if let (Some(y), Some(x)) = (growth(s, &by), known.power.get(&s.last)) {
            pairs.push((*x, y));
            months += s.months();
        }
    }
    if months < HISTORY_MONTHS {
        return Err(NoForecast::ShortHistory { months });
    }
    let x = known.partial.as_ref().ok_or(NoForecast::NoElectricity)?;
    let fit = ols::fit(&pairs).ok_or(NoForecast::FlatElectricity)?;
    Ok((fit.predict(x.growth_pct), fit))
}

/// The naive forecast: the growth of the latest span published at the cut-off, within a year.
pub fn naive_forecast(span: Span, known: &Known) -> Option<f64> {
    let by = known.by_period();
    let mut s = span.prev();
    for _ in 0..12 {
        if let Some(g) = growth(s, &by) {
            return Some(g);
        }
        s = s.prev();
    }
    None
}

/// `point` with the interval of `errors` around it.
fn with_band(point: f64, errors: &[f64]) -> Estimate {
    let band = backtest::error_band(errors);
    Estimate {
        pct: point,
        low: band.map(|b| point + b.0),
        high: band.map(|b| point + b.1),
    }
}

/// The nowcast of `span` for one unit, from what was known at its cut-off.
pub fn forecast_unit(span: Span, input: &UnitInput) -> UnitForecast {
    let empty = Known::default();
    let known = input.vintages.get(&span.last).unwrap_or(&empty);
    let bt = backtest::run(span, input);
    let model = model_forecast(span, known);
    let naive = naive_forecast(span, known).map(|p| with_band(p, &bt.errors(Method::Naive)));
    let mut out = UnitForecast {
        code: input.code.clone(),
        name: input.name.clone(),
        span,
        label: span.label(),
        partial: known.partial.clone(),
        fit: model.as_ref().ok().map(|m| m.1),
        model: model
            .as_ref()
            .ok()
            .map(|m| with_band(m.0, &bt.errors(Method::Model))),
        naive,
        shown: None,
        month: None,
        ytd: None,
        year_end: None,
        reason: None,
        backtest: bt,
    };
    let chosen = match (&model, out.backtest.choice) {
        (Err(e), _) => Err(e.clone()),
        (Ok(_), None) => Err(NoForecast::ShortBacktest {
            months: out.backtest.months.len(),
        }),
        (Ok(_), Some(m)) => match m {
            Method::Model => out.model.ok_or(NoForecast::NoElectricity),
            Method::Naive => out.naive.ok_or(NoForecast::ChosenMissing),
        }
        .map(|e| (m, e)),
    };
    match chosen {
        Err(e) => out.reason = Some(e),
        Ok((m, e)) => {
            out.shown = Some(m);
            out.month = Some(e);
            out.ytd = e.map(|g| year::ytd(span, g, known));
            let trend = e.map(|g| year::year_end(span, g, known));
            if let (Some(trend), Some(naive)) = (trend, out.ytd) {
                out.year_end = Some(YearEnd {
                    trend,
                    naive,
                    target_pct: input.target_pct,
                    gap_pp: input.target_pct.map(|t| trend.pct - t),
                });
            }
        }
    }
    out
}
