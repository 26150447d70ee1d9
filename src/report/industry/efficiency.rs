//! Efficiency and demand (效益): revenue and profit against the same enterprises a year earlier,
//! loss-makers (亏损面), 产销率 (sales / output of the year to date), export delivery value, and
//! the month's electricity beside the month's output — for the city and each unit, from the
//! figures every enterprise reported with the period (read through the evaluation's window).

use crate::analysis::{Dataset, Growth, NONE, Series, WINDOW};

/// A figure summed over the enterprises that have it and its base (同口径).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pair {
    pub cur: i64,
    pub prev: i64,
    pub enterprises: u32,
}

impl Pair {
    fn add(&mut self, v: Option<(i64, i64)>) {
        if let Some((c, p)) = v {
            self.cur += c;
            self.prev += p;
            self.enterprises += 1;
        }
    }

    /// Growth, none without a positive base (a loss a year ago has no growth rate).
    pub fn growth(&self) -> Option<Growth> {
        Growth::ratio(self.cur, self.prev)
    }
}

/// One unit's efficiency sums.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Efficiency {
    pub revenue: Pair,
    pub profit: Pair,
    pub export: Pair,
    /// The month's electricity (万千瓦时, same scale) against the same month a year earlier.
    pub electricity: Pair,
    /// Sales and output of the year to date, over the enterprises that reported both (产销率).
    pub sales: Pair,
    pub output: Pair,
    /// The enterprises that reported a profit figure, and those with a loss (亏损).
    pub profit_reported: u32,
    pub loss_making: u32,
}

/// 产销率: sales / output × 100, in percent; none without output.
pub fn sales_ratio(sales: i64, output: i64) -> Option<f64> {
    (output > 0).then(|| sales as f64 / output as f64 * 100.0)
}

impl Efficiency {
    /// 产销率 of the year to date.
    pub fn sales_ratio(&self) -> Option<f64> {
        sales_ratio(self.sales.cur, self.output.cur)
    }

    /// 产销率 of the same months a year earlier, over the enterprises that reported both bases.
    pub fn sales_ratio_prev(&self) -> Option<f64> {
        sales_ratio(self.sales.prev, self.output.prev)
    }

    /// 亏损面: loss-makers among those that reported a profit figure, in percent.
    pub fn loss_share(&self) -> Option<f64> {
        (self.profit_reported > 0)
            .then(|| self.loss_making as f64 / self.profit_reported as f64 * 100.0)
    }
}

/// The month's electricity and its base: the 上年同月 reported with it, else the figure of P−12
/// (as the divergence rule reads them).
fn electricity(s: &Series) -> Option<(i64, i64)> {
    let base = if s.electricity_prev != NONE {
        s.electricity_prev
    } else {
        s.electricity_year_ago
    };
    (s.electricity != NONE && base != NONE).then_some((s.electricity, base))
}

/// Adds one enterprise's figures of the period.
fn add(acc: &mut Efficiency, ds: &Dataset, s: &Series) {
    let (cal, last) = (&ds.cal, WINDOW - 1);
    let o = &s.others;
    acc.revenue.add(o.revenue.with_base());
    acc.profit.add(o.profit.with_base());
    acc.export
        .add(o.export.with_base().filter(|&(c, p)| c != 0 || p != 0));
    acc.electricity.add(electricity(s));
    if let Some((sales, output)) = o.sales.value().zip(s.ytd(cal, last)) {
        acc.sales.cur += sales;
        acc.output.cur += output;
        acc.sales.enterprises += 1;
        acc.output.enterprises += 1;
    }
    if let Some((sales, output)) = o.sales.base().zip(s.ytd_prev(cal, last)) {
        acc.sales.prev += sales;
        acc.output.prev += output;
    }
    if let Some(p) = o.profit.value() {
        acc.profit_reported += 1;
        acc.loss_making += u32::from(p < 0);
    }
}

/// Each unit's efficiency sums (parallel to `ds.units`), over the above-scale enterprises that
/// reported the period.
pub fn by_unit(ds: &Dataset, members: &[Vec<usize>]) -> Vec<Efficiency> {
    let mut out = vec![Efficiency::default(); ds.units.len()];
    for (e, s) in ds.series.iter().enumerate() {
        if !ds.is_above(e) || !s.is_present(WINDOW - 1) {
            continue;
        }
        for &u in &members[e] {
            add(&mut out[u], ds, s);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sales_ratio_is_sales_over_output_in_percent() {
        assert_eq!(sales_ratio(97, 100), Some(97.0));
        assert_eq!(sales_ratio(1_950_000, 2_000_000), Some(97.5));
        assert_eq!(sales_ratio(5, 0), None);
    }
}
