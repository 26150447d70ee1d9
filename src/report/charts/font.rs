//! The CJK font the PNG charts are written with. An SVG leaves text to the viewer's fonts, but a
//! bitmap needs the glyphs: a font file is read (a configured path, else the usual places of
//! Noto Sans CJK, WenQuanYi, Microsoft YaHei, PingFang) and checked to hold Chinese characters.
//! Without one the PNG is not drawn and the caller is told why; a chart with boxes for
//! characters is never produced.
//!
//! The text of a PNG is set here with ab_glyph rather than by plotters: plotters 0.3.7 places
//! each glyph's bitmap at the pen without its side bearing, which spaces Chinese text unevenly
//! (目 标) and pushes full-width brackets apart. plotters draws the shapes, then the labels it
//! collected are set on the pixels with the bearings and kerning of the font.

use std::path::{Path, PathBuf};

use ab_glyph::{Font, FontArc, FontVec, GlyphId, PxScale, ScaleFont, point};
use anyhow::{Context, bail};

use super::canvas::{Anchor, Label};

/// Where CJK fonts are found when no path is configured; the first that exists is used.
pub const CJK_FONT_PATHS: &[&str] = &[
    // Debian and Ubuntu: fonts-noto-cjk.
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    // Fedora: google-noto-sans-cjk-fonts; Arch: noto-fonts-cjk.
    "/usr/share/fonts/google-noto-sans-cjk-fonts/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    // Debian: fonts-wqy-microhei.
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    // Windows and macOS.
    "C:\\Windows\\Fonts\\msyh.ttc",
    "/System/Library/Fonts/PingFang.ttc",
];

/// Characters a font must have to set the charts' labels.
const PROBE: &str = "年月停产增速全市目标";

/// A font with Chinese glyphs, loaded from a file.
#[derive(Clone)]
pub struct ChartFont {
    font: FontArc,
    path: PathBuf,
}

impl std::fmt::Debug for ChartFont {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChartFont")
            .field("path", &self.path)
            .finish()
    }
}

impl ChartFont {
    /// The configured font if given, else the first of [`CJK_FONT_PATHS`] that exists.
    pub fn find(configured: Option<&Path>) -> anyhow::Result<ChartFont> {
        if let Some(p) = configured {
            return ChartFont::load(p);
        }
        Self::find_in(CJK_FONT_PATHS.iter().map(Path::new))
    }

    /// The first of `paths` that exists, loaded.
    pub fn find_in<'a>(paths: impl IntoIterator<Item = &'a Path>) -> anyhow::Result<ChartFont> {
        let mut tried = Vec::new();
        for p in paths {
            if p.is_file() {
                return ChartFont::load(p);
            }
            tried.push(p.display().to_string());
        }
        bail!(
            "图表缺少中文字体，未生成图片 (no CJK font for the PNG charts; tried {}; install fonts-noto-cjk or configure a font file)",
            tried.join(", ")
        )
    }

    /// Reads the font file at `path`: TrueType, OpenType, or a collection whose first face is
    /// used.
    pub fn load(path: &Path) -> anyhow::Result<ChartFont> {
        let bytes = std::fs::read(path)
            .with_context(|| format!("reading the chart font {}", path.display()))?;
        let font = FontVec::try_from_vec(bytes).map_err(|_| {
            anyhow::anyhow!(
                "chart font {}: not a TrueType/OpenType font",
                path.display()
            )
        })?;
        let missing: String = PROBE
            .chars()
            .filter(|c| font.glyph_id(*c) == GlyphId(0))
            .collect();
        if !missing.is_empty() {
            bail!(
                "chart font {}: no Chinese glyphs (missing {missing})",
                path.display()
            );
        }
        Ok(ChartFont {
            font: FontArc::from(font),
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Sets `labels` on an RGB image of `width` pixels a row.
    pub(super) fn set(&self, pixels: &mut [u8], width: u32, labels: &[Label]) {
        for l in labels {
            self.set_one(pixels, width, l);
            if l.bold {
                // No bold face is loaded: the title is set twice, a pixel apart.
                let moved = Label {
                    at: (l.at.0 + 1.0, l.at.1),
                    bold: false,
                    ..l.clone()
                };
                self.set_one(pixels, width, &moved);
            }
        }
    }

    fn set_one(&self, pixels: &mut [u8], width: u32, l: &Label) {
        // A CSS font size is the em; ab_glyph scales by the height from descender to ascender.
        let em = self.font.units_per_em().unwrap_or(1000.0);
        let scale = PxScale::from(l.px as f32 * self.font.height_unscaled() / em);
        let font = self.font.as_scaled(scale);
        let mut glyphs = Vec::new();
        let mut pen = 0.0f32;
        let mut prev: Option<GlyphId> = None;
        for c in l.text.chars() {
            let id = font.glyph_id(c);
            if let Some(p) = prev {
                pen += font.kern(p, id);
            }
            glyphs.push(id.with_scale_and_position(scale, point(pen, 0.0)));
            pen += font.h_advance(id);
            prev = Some(id);
        }
        let x = l.at.0 as f32
            - match l.anchor {
                Anchor::Left => 0.0,
                Anchor::Right => pen,
                Anchor::Centre | Anchor::Above | Anchor::Below => pen / 2.0,
            };
        // The baseline: the em box centred on the point, or hanging from it, or standing on it.
        let em_px = l.px as f32;
        let baseline = l.at.1 as f32
            + match l.anchor {
                Anchor::Above => -0.12 * em_px,
                Anchor::Below => 0.88 * em_px,
                _ => 0.38 * em_px,
            };
        let height = pixels.len() / 3 / width as usize;
        for g in glyphs {
            let Some(outline) = self.font.outline_glyph(ab_glyph::Glyph {
                position: point(g.position.x + x, g.position.y + baseline),
                ..g
            }) else {
                continue;
            };
            let b = outline.px_bounds();
            outline.draw(|gx, gy, cov| {
                let (px, py) = (
                    b.min.x as i64 + i64::from(gx),
                    b.min.y as i64 + i64::from(gy),
                );
                if px < 0 || py < 0 || px >= i64::from(width) || py >= height as i64 {
                    return;
                }
                let i = (py as usize * width as usize + px as usize) * 3;
                let ink = [l.ink.0, l.ink.1, l.ink.2];
                for (ch, ink) in pixels[i..i + 3].iter_mut().zip(ink) {
                    let v = f32::from(*ch) * (1.0 - cov) + f32::from(ink) * cov;
                    *ch = v.round().clamp(0.0, 255.0) as u8;
                }
            });
        }
    }
}
