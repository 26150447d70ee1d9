//! Ordinary least squares of one variable on another: `y = intercept + slope · x`.

use serde::Serialize;

/// A fitted line and the pairs it was fitted on.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Fit {
    pub intercept: f64,
    pub slope: f64,
    pub pairs: usize,
}

impl Fit {
    /// The line's value at `x`.
    pub fn predict(&self, x: f64) -> f64 {
        self.intercept + self.slope * x
    }
}

/// The least-squares line through `(x, y)` pairs: slope `Sxy / Sxx` about the means, intercept
/// `ȳ − slope · x̄`. None for fewer than two pairs or when every `x` is the same.
pub fn fit(pairs: &[(f64, f64)]) -> Option<Fit> {
    if pairs.len() < 2 {
        return None;
    }
    let n = pairs.len() as f64;
    let mx = pairs.iter().map(|p| p.0).sum::<f64>() / n;
    let my = pairs.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = pairs.iter().map(|p| (p.0 - mx) * (p.0 - mx)).sum();
    let sxy: f64 = pairs.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    if sxx <= f64::EPSILON * n {
        return None;
    }
    let slope = sxy / sxx;
    Some(Fit {
        intercept: my - slope * mx,
        slope,
        pairs: pairs.len(),
    })
}
