//! Charts 2 and 4: horizontal bars, fastest at the top, each labelled with its value. The
//! average (全市) is a line of short dashes labelled above the bars, the target a line of long
//! dashes labelled below them; bars of units below their own target are hatched, the others
//! grey, and a key says so — all of it readable in black and white.

use plotters::prelude::DrawingBackend;

use super::BarChart;
use super::canvas::{Anchor, BLACK_INK, Canvas, DARK, Drawn, MID, Size, WIDTH, axis, text_width};
use crate::analysis::fmt_pct;

const TOP: f64 = 62.0;
const ROW: f64 = 20.0;
const BAR: f64 = 12.0;
/// Room for a value label beside the longest bar.
const LABEL_ROOM: f64 = 48.0;

/// Dash patterns (dash, gap) of the two reference lines.
pub const AVERAGE_DASH: (f64, f64) = (4.0, 3.0);
pub const TARGET_DASH: (f64, f64) = (12.0, 4.0);

/// The chart's height in units: a row per bar, a label row above and below.
pub fn height(b: &BarChart) -> f64 {
    TOP + ROW * b.bars.len().max(1) as f64 + 24.0
}

pub fn draw<DB: DrawingBackend>(c: &Canvas<DB>, b: &BarChart) -> Drawn {
    c.bold(&b.title, (10.0, 16.0), Size::Title, Anchor::Left)?;
    legend(c, b)?;
    let names = b
        .bars
        .iter()
        .map(|x| text_width(&x.label, Size::Normal))
        .fold(40.0f64, f64::max)
        .min(200.0);
    let values = b.bars.iter().filter_map(|x| x.value);
    let marks = b.average.iter().chain(&b.target).map(|m| m.value);
    let (lo, hi, _) = axis(values.chain(marks), 5.0);
    let left = 16.0 + names + if lo < 0.0 { LABEL_ROOM } else { 0.0 };
    let right = WIDTH - LABEL_ROOM - 6.0;
    let x = |v: f64| left + (v - lo) / (hi - lo) * (right - left);
    let bottom = TOP + ROW * b.bars.len().max(1) as f64;
    c.line(&[(x(0.0), TOP - 2.0), (x(0.0), bottom + 2.0)], DARK, 1.0)?;
    for (i, bar) in b.bars.iter().enumerate() {
        let mid = TOP + ROW * (i as f64 + 0.5);
        c.text(&bar.label, (12.0 + names, mid), Size::Normal, Anchor::Right)?;
        let Some(v) = bar.value else {
            c.text("无数据", (x(0.0) + 4.0, mid), Size::Small, Anchor::Left)?;
            continue;
        };
        let (a, z) = ((x(0.0), mid - BAR / 2.0), (x(v), mid + BAR / 2.0));
        if bar.below_target {
            c.hatched(a, z)?;
        } else {
            c.rect(a, z, MID, false)?;
        }
        let (at, anchor) = if v < 0.0 {
            ((x(v) - 4.0, mid), Anchor::Right)
        } else {
            ((x(v) + 4.0, mid), Anchor::Left)
        };
        c.text(&fmt_pct(v), at, Size::Normal, anchor)?;
    }
    if let Some(m) = &b.average {
        let line = [(x(m.value), TOP - 4.0), (x(m.value), bottom + 2.0)];
        c.dashed(&line, AVERAGE_DASH, BLACK_INK, 1.2)?;
        let label = format!("{}{}", m.label, fmt_pct(m.value));
        c.text(&label, (x(m.value), TOP - 6.0), Size::Small, Anchor::Above)?;
    }
    if let Some(m) = &b.target {
        let line = [(x(m.value), TOP - 2.0), (x(m.value), bottom + 4.0)];
        c.dashed(&line, TARGET_DASH, BLACK_INK, 1.2)?;
        let label = format!("{}{}", m.label, fmt_pct(m.value));
        c.text(
            &label,
            (x(m.value), bottom + 6.0),
            Size::Small,
            Anchor::Below,
        )?;
    }
    if b.bars.is_empty() {
        c.text(
            "暂无数据",
            (WIDTH / 2.0, TOP + ROW / 2.0),
            Size::Normal,
            Anchor::Centre,
        )?;
    }
    Ok(())
}

/// The key under the title: what grey and hatched bars mean, and the two lines.
fn legend<DB: DrawingBackend>(c: &Canvas<DB>, b: &BarChart) -> Drawn {
    let y = 34.0;
    let mut x = 10.0;
    if b.bars.iter().any(|x| x.below_target) {
        c.rect((x, y - 5.0), (x + 14.0, y + 5.0), MID, false)?;
        x = key(c, "达到目标", (x + 14.0, y))?;
        c.hatched((x, y - 5.0), (x + 14.0, y + 5.0))?;
        x = key(c, "低于目标", (x + 14.0, y))?;
    }
    if let Some(m) = &b.average {
        c.dashed(&[(x, y), (x + 22.0, y)], AVERAGE_DASH, BLACK_INK, 1.2)?;
        x = key(c, &format!("{}平均", m.label), (x + 22.0, y))?;
    }
    if let Some(m) = &b.target {
        c.dashed(&[(x, y), (x + 26.0, y)], TARGET_DASH, BLACK_INK, 1.2)?;
        key(c, &m.label, (x + 26.0, y))?;
    }
    Ok(())
}

/// A key's name after its sample (which ends at `at`); returns where the next sample starts.
fn key<DB: DrawingBackend>(c: &Canvas<DB>, name: &str, at: (f64, f64)) -> anyhow::Result<f64> {
    c.text(name, (at.0 + 4.0, at.1), Size::Small, Anchor::Left)?;
    Ok(at.0 + 16.0 + text_width(name, Size::Small))
}
