//! The 1—N月 estimate and the year-end projection from a month's estimate.
//!
//! Amounts, all as known at the cut-off: `Y` and `Yp`, the published 1—(N−1)月 output of this
//! year and last year (same enterprises); `B_m`, last year's output of month m as published
//! then (its own month's figure). With `g` the span's estimated growth:
//!
//! - 1—N月: `Y_N = Y + Σ B_span · (1 + g)`, `Yp_N = Yp + Σ B_span`, growth `Y_N / Yp_N − 1`
//!   (for 1—2月, `Y = Yp = 0`: the estimate of the span itself).
//! - Year end at the recent trend: the rest of the year's months at `t`, the mean of `g` and of
//!   the published growth of the two spans before it, applied to last year's months:
//!   `(Y_N + R · (1 + t)) / (Yp_N + R) − 1`, `R = Σ B_m` for the months after the span.
//! - Naive year end: the rest of the year at the 1—N月 growth, which gives that growth itself.
//!
//! The intervals of both are these formulas at the ends of the month's interval (each is
//! increasing in `g`): they carry the month's uncertainty, not that of the rest of the year's
//! trend, so they are narrower than the year's true uncertainty, the more so the earlier in the
//! year.

use std::collections::BTreeMap;

use super::{Known, Month, Span, growth};
use crate::period::Period;

/// `Y_N` and `Yp_N` of the span at growth `g` percent.
fn levels(span: Span, g: f64, by: &BTreeMap<Period, &Month>) -> Option<(f64, f64)> {
    let base: f64 = span
        .periods()
        .map(|p| by.get(&p.year_ago()).map(|m| m.output))
        .sum::<Option<f64>>()?;
    let (y, yp) = if span.first.month() == 1 {
        (0.0, 0.0)
    } else {
        by.get(&span.first.prev())?.ytd?
    };
    Some((y + base * (1.0 + g / 100.0), yp + base))
}

/// The 1—N月 growth, percent, with the span at growth `g`.
pub fn ytd(span: Span, g: f64, known: &Known) -> Option<f64> {
    let by = known.by_period();
    let (y, yp) = levels(span, g, &by)?;
    (yp > 0.0).then(|| (y / yp - 1.0) * 100.0)
}

/// The recent trend: the mean of `g` and of the two published spans before `span`.
pub fn trend(span: Span, g: f64, known: &Known) -> Option<f64> {
    let by = known.by_period();
    let a = growth(span.prev(), &by)?;
    let b = growth(span.prev().prev(), &by)?;
    Some((g + a + b) / 3.0)
}

/// The year's growth, percent, with the span at `g` and the months after it at the trend.
pub fn year_end(span: Span, g: f64, known: &Known) -> Option<f64> {
    let by = known.by_period();
    let (y, yp) = levels(span, g, &by)?;
    let t = trend(span, g, known)?;
    let rest: f64 = (span.last.month() + 1..=12)
        .map(|m| {
            Period::new(span.last.year() - 1, m)
                .and_then(|p| by.get(&p))
                .map(|m| m.output)
        })
        .sum::<Option<f64>>()?;
    let total_prev = yp + rest;
    (total_prev > 0.0).then(|| ((y + rest * (1.0 + t / 100.0)) / total_prev - 1.0) * 100.0)
}
