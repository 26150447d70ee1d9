//! An evaluation window as the analysis asks for it: whose months, which months, and which of
//! each month's figures — declared here, next to the [`Series`] they fill, so that a rule
//! needing another figure edits the analysis and never the store. The store answers a
//! [`Window`] with `Store::load_window`, each backend by its own fast path.

use crate::indicator::{self, field_at};
use crate::period::Period;
use crate::registry::Enterprise;

use super::series::{OtherYtd, YtdFigure};
use super::{Calendar, NONE, Series, WINDOW};

/// The figures of a submitted month: every indicator field in the order of
/// [`indicator::FIELDS`], then the submission's revision and the import run that wrote it.
pub const FIGURES: usize = indicator::N_FIELDS + 2;
/// Index of the submission's revision among a month's figures.
pub const REVISION: usize = FIGURES - 2;
/// Index of the import run among a month's figures.
pub const RUN: usize = FIGURES - 1;

const OUTPUT: usize = field_at("output");
const OUTPUT_YTD: usize = field_at("output_ytd");
const OUTPUT_PREV: usize = field_at("output_prev");
const OUTPUT_YTD_PREV: usize = field_at("output_ytd_prev");
const ELECTRICITY: usize = field_at("electricity");
const ELECTRICITY_PREV: usize = field_at("electricity_prev");
const REVENUE_YTD: usize = field_at("revenue_ytd");
/// The other year-to-date figures (efficiency, 效益): this year's and the form's 上年同期累计.
const OTHER_YTD: [(usize, usize); 4] = [
    (field_at("sales_ytd"), field_at("sales_ytd_prev")),
    (field_at("revenue_ytd"), field_at("revenue_ytd_prev")),
    (field_at("profit_ytd"), field_at("profit_ytd_prev")),
    (field_at("export_ytd"), field_at("export_ytd_prev")),
];

/// One submitted month as a window read hands it over: bit `k` of `present` is set when figure
/// `k` was asked for and is not NULL; `values[k]` means something only then.
#[derive(Clone, Copy, Debug)]
pub struct Month<'a> {
    pub present: u32,
    pub values: &'a [i64; FIGURES],
}

impl Month<'_> {
    fn get(&self, k: usize) -> i64 {
        if self.present & (1 << k) != 0 {
            self.values[k]
        } else {
            NONE
        }
    }
}

/// Whose months a window holds; the series come back in the same order.
#[derive(Clone, Copy, Debug)]
pub enum Scope<'a> {
    /// Every registered enterprise: the evaluation's own window, read by scanning the years.
    Registry(&'a [Enterprise]),
    /// A few of them (older windows for the streaks that reach back), read by key.
    Few(&'a [Enterprise]),
}

/// A request for an evaluation window: the [`WINDOW`] months that end at `cal.period`, of the
/// enterprises in `scope`, with the figures [`Window::figures`] names for each month.
#[derive(Clone, Copy, Debug)]
pub struct Window<'a> {
    pub cal: Calendar,
    pub scope: Scope<'a>,
}

impl Window<'_> {
    /// The enterprises whose months are read.
    pub fn enterprises(&self) -> &[Enterprise] {
        match self.scope {
            Scope::Registry(e) | Scope::Few(e) => e,
        }
    }

    /// The first and the last calendar year the window's months fall in.
    pub fn years(&self) -> (i32, i32) {
        let first = self.cal.at(0).year();
        (first, self.cal.period.year())
    }

    /// The window index of month `month` (1–12) of `year`, if the window holds it.
    pub fn index(&self, year: i32, month: u32) -> Option<usize> {
        Period::new(year, month).and_then(|t| self.cal.index(t))
    }

    /// The figures read of window month `i` (bit `k` for figure `k`): the output figures and
    /// the import run of every month, the prior-year figures of the last twelve (the bases of
    /// the months analysed), everything of P and P−12.
    pub fn figures(i: usize) -> u32 {
        let bit = |k: usize| 1u32 << k;
        if i == WINDOW - 1 || i == WINDOW - 13 {
            u32::MAX
        } else if i >= 12 {
            bit(OUTPUT) | bit(OUTPUT_YTD) | bit(OUTPUT_PREV) | bit(OUTPUT_YTD_PREV) | bit(RUN)
        } else {
            bit(OUTPUT) | bit(OUTPUT_YTD) | bit(RUN)
        }
    }
}

/// A window as read: one series per enterprise of the scope, in its order, and the newest
/// import run among the months read (the data's vintage).
#[derive(Clone, Debug)]
pub struct WindowData {
    pub series: Vec<Series>,
    pub vintage: i64,
}

impl WindowData {
    /// Nothing read yet: every enterprise of the window without a month.
    pub fn new(w: &Window) -> WindowData {
        WindowData {
            series: vec![Series::default(); w.enterprises().len()],
            vintage: 0,
        }
    }

    /// Takes in the figures of enterprise `e`'s month at window index `i`, as
    /// [`Window::figures`] asked for them.
    pub fn absorb(&mut self, e: usize, i: usize, m: Month) {
        self.vintage = self.vintage.max(m.values[RUN]);
        let s = &mut self.series[e];
        s.present |= 1 << i;
        s.output[i] = m.get(OUTPUT);
        s.output_ytd[i] = m.get(OUTPUT_YTD);
        if i >= 12 {
            s.output_prev[i - 12] = m.get(OUTPUT_PREV);
            s.output_ytd_prev[i - 12] = m.get(OUTPUT_YTD_PREV);
        }
        let revision = m.values[REVISION];
        if i == WINDOW - 1 {
            s.electricity = m.get(ELECTRICITY);
            s.electricity_prev = m.get(ELECTRICITY_PREV);
            s.revenue_ytd = m.get(REVENUE_YTD);
            for (f, (cur, prev)) in others(&mut s.others).into_iter().zip(OTHER_YTD) {
                f.cur = m.get(cur);
                f.prev_reported = m.get(prev);
            }
            s.revision = revision;
        } else if i == WINDOW - 13 {
            s.electricity_year_ago = m.get(ELECTRICITY);
            for (f, (cur, _)) in others(&mut s.others).into_iter().zip(OTHER_YTD) {
                f.year_ago = m.get(cur);
            }
            s.revision_year_ago = revision;
        }
    }
}

/// The other year-to-date figures in the order of [`OTHER_YTD`].
fn others(o: &mut OtherYtd) -> [&mut YtdFigure; 4] {
    [&mut o.sales, &mut o.revenue, &mut o.profit, &mut o.export]
}
