//! Chart 3: 停产 / 半停产 / 减产 enterprises in each month of the window, as stacked bars —
//! 停产 black at the foot, 半停产 grey, 减产 white with an outline — with each part's count inside
//! it where it fits and the month's total above the bar; a month that could not be judged (no
//! figures a year earlier) shows a dash, not a zero.

use plotters::prelude::DrawingBackend;

use super::StateChart;
use super::canvas::{
    Anchor, BLACK_INK, Canvas, DARK, Drawn, GRID, MID, PAPER, Size, WIDTH, step, tick,
};

pub const HEIGHT: f64 = 300.0;

const LEFT: f64 = 40.0;
const RIGHT: f64 = WIDTH - 16.0;
const TOP: f64 = 62.0;
const BOTTOM: f64 = HEIGHT - 28.0;
/// A part shorter than this (units) carries no count inside; the total above still counts it.
const MIN_LABELLED: f64 = 12.0;

/// The three parts from the foot of a bar up: name, fill, outlined, white text.
const PARTS: [(&str, plotters::style::RGBColor, bool, bool); 3] = [
    ("停产", BLACK_INK, false, true),
    ("半停产", MID, false, false),
    ("减产", PAPER, true, false),
];

pub fn draw<DB: DrawingBackend>(c: &Canvas<DB>, s: &StateChart) -> Drawn {
    c.bold(&s.title, (10.0, 16.0), Size::Title, Anchor::Left)?;
    legend(c)?;
    let total = |m: &super::StateCounts| m.stalled + m.semi_stalled + m.reduced;
    let max = s.months.iter().map(total).max().unwrap_or(0) as f64;
    let st = step(max.max(1.0), 4.0).max(1.0).ceil();
    let hi = (max / st).ceil().max(1.0) * st;
    let y = |v: f64| BOTTOM - v / hi * (BOTTOM - TOP);
    let mut v = 0.0;
    while v <= hi + 0.01 {
        let ink = if v == 0.0 { DARK } else { GRID };
        c.line(&[(LEFT, y(v)), (RIGHT, y(v))], ink, 0.8)?;
        c.text(&tick(v), (LEFT - 5.0, y(v)), Size::Small, Anchor::Right)?;
        v += st;
    }
    let n = s.months.len().max(1) as f64;
    let slot = (RIGHT - LEFT) / n;
    let half = (slot * 0.3).min(18.0);
    for (i, m) in s.months.iter().enumerate() {
        let cx = LEFT + slot * (i as f64 + 0.5);
        c.text(&m.label, (cx, BOTTOM + 6.0), Size::Small, Anchor::Below)?;
        if m.judged == 0 {
            // No base a year earlier: nothing to count, which is not zero.
            c.text("—", (cx, y(0.0) - 3.0), Size::Small, Anchor::Above)?;
            continue;
        }
        let mut base = 0.0;
        for (count, (_, fill, outline, white)) in [m.stalled, m.semi_stalled, m.reduced]
            .into_iter()
            .zip(PARTS)
        {
            if count == 0 {
                continue;
            }
            let top = base + f64::from(count);
            c.rect((cx - half, y(top)), (cx + half, y(base)), fill, outline)?;
            let mid = (cx, (y(top) + y(base)) / 2.0);
            if y(base) - y(top) >= MIN_LABELLED {
                if white {
                    c.reversed(&count.to_string(), mid, Size::Small, Anchor::Centre)?;
                } else {
                    c.text(&count.to_string(), mid, Size::Small, Anchor::Centre)?;
                }
            }
            base = top;
        }
        c.text(
            &total(m).to_string(),
            (cx, y(base) - 3.0),
            Size::Small,
            Anchor::Above,
        )?;
        c.text(&m.label, (cx, BOTTOM + 6.0), Size::Small, Anchor::Below)?;
    }
    if s.months.is_empty() {
        let mid = ((LEFT + RIGHT) / 2.0, (TOP + BOTTOM) / 2.0);
        c.text("暂无数据", mid, Size::Normal, Anchor::Centre)?;
    }
    Ok(())
}

/// The key under the title: a swatch of each part with its name.
fn legend<DB: DrawingBackend>(c: &Canvas<DB>) -> Drawn {
    let y = 34.0;
    let mut x = 10.0;
    for (name, fill, outline, _) in PARTS {
        c.rect((x, y - 5.0), (x + 14.0, y + 5.0), fill, outline)?;
        c.text(name, (x + 18.0, y), Size::Small, Anchor::Left)?;
        x += 30.0 + super::canvas::text_width(name, Size::Small);
    }
    Ok(())
}
