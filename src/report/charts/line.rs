//! Chart 1: the city's cumulative growth by month (1—2月 … 1-N月). This year is a solid black
//! line with filled points, each labelled with its value; last year, when known, a grey line of
//! short dashes with open points; the annual target a horizontal line of long dashes labelled at
//! its end. Nothing depends on colour.

use plotters::prelude::DrawingBackend;

use super::GrowthChart;
use super::canvas::{
    Anchor, BLACK_INK, Canvas, DARK, Drawn, GRID, MID, PAPER, Size, WIDTH, axis, tick,
};
use crate::analysis::fmt_pct;

pub const HEIGHT: f64 = 300.0;

const LEFT: f64 = 44.0;
const RIGHT: f64 = WIDTH - 78.0;
const TOP: f64 = 56.0;
const BOTTOM: f64 = HEIGHT - 28.0;

/// Dash patterns (dash, gap): the target's long dashes, last year's short ones.
pub const TARGET_DASH: (f64, f64) = (9.0, 4.0);
pub const LAST_YEAR_DASH: (f64, f64) = (3.0, 3.0);

pub fn draw<DB: DrawingBackend>(c: &Canvas<DB>, g: &GrowthChart) -> Drawn {
    c.bold(&g.title, (10.0, 16.0), Size::Title, Anchor::Left)?;
    legend(c, g)?;
    let values = g
        .this_year
        .iter()
        .chain(&g.last_year)
        .flatten()
        .copied()
        .chain(g.target_pct);
    let (lo, hi, st) = axis(values, 5.0);
    let y = |v: f64| BOTTOM - (v - lo) / (hi - lo) * (BOTTOM - TOP);
    let n = g.labels.len().max(1) as f64;
    let x = |i: usize| LEFT + (i as f64 + 0.5) * (RIGHT - LEFT) / n;
    let mut v = lo;
    while v <= hi + st * 0.01 {
        let ink = if v.abs() < st * 0.01 { DARK } else { GRID };
        c.line(&[(LEFT, y(v)), (RIGHT, y(v))], ink, 0.8)?;
        c.text(&tick(v), (LEFT - 5.0, y(v)), Size::Small, Anchor::Right)?;
        v += st;
    }
    for (i, l) in g.labels.iter().enumerate() {
        c.text(l, (x(i), BOTTOM + 6.0), Size::Small, Anchor::Below)?;
    }
    if let Some(t) = g.target_pct {
        c.dashed(&[(LEFT, y(t)), (RIGHT, y(t))], TARGET_DASH, DARK, 1.5)?;
        let label = format!("目标{}", fmt_pct(t));
        c.text(&label, (RIGHT + 4.0, y(t)), Size::Small, Anchor::Left)?;
    }
    for run in runs(&g.last_year) {
        let pts: Vec<(f64, f64)> = run.iter().map(|(i, v)| (x(*i), y(*v))).collect();
        c.dashed(&pts, LAST_YEAR_DASH, MID, 1.5)?;
        for p in pts {
            c.dot(p, 2.5, PAPER)?;
        }
    }
    for run in runs(&g.this_year) {
        let pts: Vec<(f64, f64)> = run.iter().map(|(i, v)| (x(*i), y(*v))).collect();
        if pts.len() > 1 {
            c.line(&pts, BLACK_INK, 2.0)?;
        }
        for (&(i, v), p) in run.iter().zip(pts) {
            c.dot(p, 3.0, BLACK_INK)?;
            // Above the point, unless the target line runs just above it: then below.
            let under = g.target_pct.is_some_and(|t| v < t && y(v) - y(t) < 20.0);
            let (at, anchor) = if under {
                ((x(i), p.1 + 6.0), Anchor::Below)
            } else {
                ((x(i), p.1 - 6.0), Anchor::Above)
            };
            c.text(&fmt_pct(v), at, Size::Small, anchor)?;
        }
    }
    if g.this_year.iter().all(Option::is_none) {
        let mid = ((LEFT + RIGHT) / 2.0, (TOP + BOTTOM) / 2.0);
        c.text("暂无数据", mid, Size::Normal, Anchor::Centre)?;
    }
    Ok(())
}

/// A key under the title: a sample of each line with its name.
fn legend<DB: DrawingBackend>(c: &Canvas<DB>, g: &GrowthChart) -> Drawn {
    let y = 36.0;
    let mut x = 10.0;
    c.line(&[(x, y), (x + 24.0, y)], BLACK_INK, 2.0)?;
    c.dot((x + 12.0, y), 3.0, BLACK_INK)?;
    c.text("本年", (x + 28.0, y), Size::Small, Anchor::Left)?;
    x += 70.0;
    if g.last_year.iter().any(Option::is_some) {
        c.dashed(&[(x, y), (x + 24.0, y)], LAST_YEAR_DASH, MID, 1.5)?;
        c.dot((x + 12.0, y), 2.5, PAPER)?;
        c.text("上年", (x + 28.0, y), Size::Small, Anchor::Left)?;
        x += 70.0;
    }
    if g.target_pct.is_some() {
        c.dashed(&[(x, y), (x + 26.0, y)], TARGET_DASH, DARK, 1.5)?;
        c.text("全年目标", (x + 30.0, y), Size::Small, Anchor::Left)?;
    }
    Ok(())
}

/// The runs of consecutive known values, each as (index, value): a month without a figure
/// breaks the line rather than being drawn as zero.
fn runs(values: &[Option<f64>]) -> Vec<Vec<(usize, f64)>> {
    let mut out: Vec<Vec<(usize, f64)>> = Vec::new();
    let mut cur = Vec::new();
    for (i, v) in values.iter().enumerate() {
        match v {
            Some(v) => cur.push((i, *v)),
            None if !cur.is_empty() => out.push(std::mem::take(&mut cur)),
            None => {}
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}
