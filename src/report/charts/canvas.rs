//! The drawing surface the charts share: a plotters drawing area addressed in logical units (the
//! SVG's viewBox units, [`WIDTH`] of them across ≈ 170 mm of an A4 page), scaled by `k` device
//! pixels per unit for the PNG. Only the few shapes the charts need, in black, white and greys,
//! so that a chart reads the same printed in black and white. Text is placed by anchor, never
//! measured: the SVG's text is left to the viewer's fonts, and for the PNG the labels are
//! collected and set afterwards with the CJK font ([`super::ChartFont`]).

use std::cell::RefCell;

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontDesc, FontFamily, FontStyle};

/// Logical width of every chart: 680 units ≈ 170 mm (4 units a millimetre).
pub const WIDTH: f64 = 680.0;

/// Text sizes in logical units. plotters writes an SVG font size of size / 1.24, so these are
/// the printed sizes times 1.24 written out (9, 11 and 14 units).
#[derive(Clone, Copy, Debug)]
pub enum Size {
    Small,
    Normal,
    Title,
}

impl Size {
    fn plotters(self) -> f64 {
        match self {
            Size::Small => 11.16,
            Size::Normal => 13.64,
            Size::Title => 17.36,
        }
    }

    /// The printed size in units, for estimating widths.
    pub fn units(self) -> f64 {
        match self {
            Size::Small => 9.0,
            Size::Normal => 11.0,
            Size::Title => 14.0,
        }
    }
}

/// Greys: black for what matters most, white with an outline for the least.
pub const BLACK_INK: RGBColor = RGBColor(0, 0, 0);
pub const DARK: RGBColor = RGBColor(0x40, 0x40, 0x40);
pub const MID: RGBColor = RGBColor(0x90, 0x90, 0x90);
pub const GRID: RGBColor = RGBColor(0xe0, 0xe0, 0xe0);
pub const PAPER: RGBColor = RGBColor(0xff, 0xff, 0xff);

/// Where text hangs from its point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Anchor {
    Left,
    Centre,
    Right,
    /// Centred horizontally, the point at the text's bottom (labels above a bar).
    Above,
    /// Centred horizontally, the point at the text's top (axis labels under a tick).
    Below,
}

impl Anchor {
    fn pos(self) -> Pos {
        match self {
            Anchor::Left => Pos::new(HPos::Left, VPos::Center),
            Anchor::Centre => Pos::new(HPos::Center, VPos::Center),
            Anchor::Right => Pos::new(HPos::Right, VPos::Center),
            Anchor::Above => Pos::new(HPos::Center, VPos::Bottom),
            Anchor::Below => Pos::new(HPos::Center, VPos::Top),
        }
    }
}

/// A text to set on a bitmap, in device pixels.
#[derive(Clone, Debug)]
pub struct Label {
    pub text: String,
    pub at: (f64, f64),
    /// The em, in pixels.
    pub px: f64,
    pub anchor: Anchor,
    pub bold: bool,
    pub ink: RGBColor,
}

/// Where a canvas's text goes: drawn by plotters (SVG, the viewer's fonts), or collected to be
/// set on the bitmap afterwards.
pub enum Texts<'a> {
    Svg(&'a str),
    Collect(&'a RefCell<Vec<Label>>),
}

/// A chart being drawn.
pub struct Canvas<'a, DB: DrawingBackend> {
    area: &'a DrawingArea<DB, Shift>,
    /// Device pixels per logical unit.
    k: f64,
    texts: Texts<'a>,
}

/// What drawing returns; plotters' error, which names the backend's, as text.
pub type Drawn = anyhow::Result<()>;

fn failed<E: std::error::Error + Send + Sync>(e: DrawingAreaErrorKind<E>) -> anyhow::Error {
    anyhow::anyhow!("drawing a chart: {e}")
}

impl<'a, DB: DrawingBackend> Canvas<'a, DB> {
    pub fn new(area: &'a DrawingArea<DB, Shift>, k: f64, texts: Texts<'a>) -> Self {
        Canvas { area, k, texts }
    }

    fn at(&self, (x, y): (f64, f64)) -> (i32, i32) {
        ((x * self.k).round() as i32, (y * self.k).round() as i32)
    }

    fn width(&self, w: f64) -> u32 {
        (w * self.k).round().max(1.0) as u32
    }

    pub fn clear(&self) -> Drawn {
        self.area.fill(&PAPER).map_err(failed)
    }

    /// A solid line through `points`.
    pub fn line(&self, points: &[(f64, f64)], ink: RGBColor, width: f64) -> Drawn {
        let pts: Vec<(i32, i32)> = points.iter().map(|p| self.at(*p)).collect();
        self.area
            .draw(&PathElement::new(pts, ink.stroke_width(self.width(width))))
            .map_err(failed)
    }

    /// A dashed line through `points`: dashes of `dash` units with `gap` units between them.
    pub fn dashed(
        &self,
        points: &[(f64, f64)],
        (dash, gap): (f64, f64),
        ink: RGBColor,
        width: f64,
    ) -> Drawn {
        let pts: Vec<(i32, i32)> = points.iter().map(|p| self.at(*p)).collect();
        self.area
            .draw(&DashedPathElement::new(
                pts,
                dash * self.k,
                gap * self.k,
                ink.stroke_width(self.width(width)),
            ))
            .map_err(failed)
    }

    /// A filled rectangle between two corners, outlined in black when `outline`.
    pub fn rect(&self, a: (f64, f64), b: (f64, f64), fill: RGBColor, outline: bool) -> Drawn {
        let (a, b) = (self.at(a), self.at(b));
        self.area
            .draw(&Rectangle::new([a, b], fill.filled()))
            .map_err(failed)?;
        if outline {
            self.area
                .draw(&Rectangle::new(
                    [a, b],
                    BLACK_INK.stroke_width(self.width(0.8)),
                ))
                .map_err(failed)?;
        }
        Ok(())
    }

    /// A white rectangle with black diagonal hatching and an outline: the pattern that marks a
    /// bar apart from the grey ones without colour.
    pub fn hatched(&self, a: (f64, f64), b: (f64, f64)) -> Drawn {
        let (x0, x1) = (a.0.min(b.0), a.0.max(b.0));
        let (y0, y1) = (a.1.min(b.1), a.1.max(b.1));
        self.rect((x0, y0), (x1, y1), PAPER, true)?;
        for (p, q) in hatch_segments((x0, y0), (x1, y1), 4.0) {
            self.line(&[p, q], BLACK_INK, 0.6)?;
        }
        Ok(())
    }

    pub fn dot(&self, c: (f64, f64), r: f64, fill: RGBColor) -> Drawn {
        let r = (r * self.k).round().max(1.0) as u32;
        self.area
            .draw(&Circle::new(self.at(c), r, fill.filled()))
            .map_err(failed)?;
        self.area
            .draw(&Circle::new(
                self.at(c),
                r,
                BLACK_INK.stroke_width(self.width(0.8)),
            ))
            .map_err(failed)
    }

    pub fn text(&self, s: &str, at: (f64, f64), size: Size, anchor: Anchor) -> Drawn {
        self.styled(s, at, (size, FontStyle::Normal, BLACK_INK), anchor)
    }

    pub fn bold(&self, s: &str, at: (f64, f64), size: Size, anchor: Anchor) -> Drawn {
        self.styled(s, at, (size, FontStyle::Bold, BLACK_INK), anchor)
    }

    /// White text, for a label inside a black bar.
    pub fn reversed(&self, s: &str, at: (f64, f64), size: Size, anchor: Anchor) -> Drawn {
        self.styled(s, at, (size, FontStyle::Normal, PAPER), anchor)
    }

    fn styled(
        &self,
        s: &str,
        at: (f64, f64),
        (size, fs, ink): (Size, FontStyle, RGBColor),
        anchor: Anchor,
    ) -> Drawn {
        if s.is_empty() {
            return Ok(());
        }
        let family = match &self.texts {
            Texts::Svg(family) => family,
            Texts::Collect(labels) => {
                labels.borrow_mut().push(Label {
                    text: s.to_string(),
                    at: (at.0 * self.k, at.1 * self.k),
                    px: size.units() * self.k,
                    anchor,
                    bold: matches!(fs, FontStyle::Bold),
                    ink,
                });
                return Ok(());
            }
        };
        let style = TextStyle {
            font: FontDesc::new(FontFamily::Name(family), size.plotters() * self.k, fs),
            color: ink.to_backend_color(),
            pos: anchor.pos(),
        };
        self.area
            .draw(&Text::new(s, self.at(at), style))
            .map_err(failed)
    }
}

/// Segments of 45° lines `step` apart, clipped to the rectangle between `a` (top left) and `b`
/// (bottom right), rising to the right.
pub fn hatch_segments(a: (f64, f64), b: (f64, f64), step: f64) -> Vec<((f64, f64), (f64, f64))> {
    let ((x0, y0), (x1, y1)) = (a, b);
    let mut out = Vec::new();
    // Each line is x + y = c; c runs over the rectangle's corners.
    let mut c = x0 + y0 + step;
    while c < x1 + y1 {
        let xs = x0.max(c - y1);
        let xe = x1.min(c - y0);
        if xe > xs {
            out.push(((xs, c - xs), (xe, c - xe)));
        }
        c += step;
    }
    out
}

/// The width text takes in units, estimated: a CJK character is one em, others about half.
/// Used only to size the name column and to keep labels apart, never to centre text.
pub fn text_width(s: &str, size: Size) -> f64 {
    s.chars()
        .map(|c| if c.is_ascii() { 0.55 } else { 1.0 })
        .sum::<f64>()
        * size.units()
}

/// A round step for about `n` intervals over `span`.
pub fn step(span: f64, n: f64) -> f64 {
    let raw = (span / n).max(1e-9);
    let mag = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag)
}

/// An axis range over `values`, with zero in it, widened to whole `step`s.
pub fn axis(values: impl Iterator<Item = f64>, n: f64) -> (f64, f64, f64) {
    let (lo, hi) = values.fold((0.0f64, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let hi = if hi - lo < 1e-9 { lo + 1.0 } else { hi };
    let st = step(hi - lo, n);
    ((lo / st).floor() * st, (hi / st).ceil() * st, st)
}

/// A tick label without needless decimals: 2.5, 10, −5.
pub fn tick(v: f64) -> String {
    let t = format!("{v:.2}");
    let t = t.trim_end_matches('0').trim_end_matches('.');
    let t = if t == "-0" { "0" } else { t };
    t.replace('-', "−")
}
