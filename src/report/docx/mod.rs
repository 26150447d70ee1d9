//! `report.docx`: the report as a Word document the bureau edits in WPS or Word before it goes
//! to the leadership — the same analysis text, the main tables and the charts (PNG), laid out
//! as Chinese official documents are: A4 portrait with the GB/T 9704 margins, the title in
//! 黑体 二号, section headings in 黑体 三号, body text in 仿宋_GB2312 三号 at a fixed 28 pt
//! line, tables in 五号.
//!
//! Byte-stable: docx-rs numbers paragraphs and pictures from counters that live as long as the
//! thread or the process, so every paragraph and picture is given its id here, numbered within
//! the document ([`Ids`]); the core properties' dates are the half's start, never the clock. Text is escaped by
//! docx-rs, so an enterprise name is text, never markup.

pub mod content;

use std::io::Cursor;

use anyhow::Context as _;
use docx_rs::{
    AlignmentType, Docx, Footer, LineSpacing, LineSpacingType, PageMargin, PageNum, Paragraph, Pic,
    Run, RunFonts, Shading, SpecialIndentType, Table, TableAlignmentType, TableCell,
    TableLayoutType, TableRow, VAlignType, WidthType,
};

use super::Half;
use super::model::Snapshot;

/// A chart for the document: its title and its PNG bytes.
pub type Chart = (String, Vec<u8>);

/// A4 in twentieths of a point.
const PAGE: (u32, u32) = (11_906, 16_838);
/// GB/T 9704 margins (mm 37, 35, 28, 26) in twips.
const MARGIN: (i32, i32, i32, i32) = (2_098, 1_984, 1_588, 1_474);
/// The width between the margins, in twips.
const TEXT_WIDTH: u32 = PAGE.0 - (MARGIN.2 + MARGIN.3) as u32;
/// Twips to EMU (the unit of drawings).
const EMU_PER_TWIP: u32 = 635;

/// Sizes in half-points: 二号, 三号, 四号, 五号.
const ERHAO: usize = 44;
const SANHAO: usize = 32;
const SIHAO: usize = 28;
const WUHAO: usize = 21;

const BODY: &str = "仿宋_GB2312";
const HEADING: &str = "黑体";
const SUBTITLE: &str = "楷体_GB2312";
const LATIN: &str = "Times New Roman";

/// 一、二、…: the numbers of the sections.
const NUMERALS: [&str; 10] = ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十"];

fn fonts(east_asia: &str) -> RunFonts {
    RunFonts::new()
        .ascii(LATIN)
        .hi_ansi(LATIN)
        .cs(LATIN)
        .east_asia(east_asia)
}

/// Paragraph ids (`w14:paraId`) numbered within the document. docx-rs would take them from a
/// per-thread counter (and keeps ids that are set and unique), so the same document written
/// twice on one thread would differ.
#[derive(Default)]
struct Ids(u32);

impl Ids {
    fn paragraph(&mut self) -> Paragraph {
        self.0 += 1;
        Paragraph::new().id(format!("{:08X}", self.0))
    }
}

fn run(text: &str, font: &str, size: usize) -> Run {
    Run::new().add_text(text).fonts(fonts(font)).size(size)
}

/// A body paragraph: indented two characters, 28 pt exactly, justified.
fn body(ids: &mut Ids, text: &str) -> Paragraph {
    ids.paragraph()
        .add_run(run(text, BODY, SANHAO))
        .indent(None, Some(SpecialIndentType::FirstLine(640)), None, None)
        .line_spacing(
            LineSpacing::new()
                .line(560)
                .line_rule(LineSpacingType::Exact),
        )
        .align(AlignmentType::Both)
}

fn centred(ids: &mut Ids, text: &str, font: &str, size: usize) -> Paragraph {
    ids.paragraph()
        .add_run(run(text, font, size))
        .align(AlignmentType::Center)
}

fn heading(ids: &mut Ids, text: &str) -> Paragraph {
    ids.paragraph()
        .add_run(run(text, HEADING, SANHAO))
        .indent(None, Some(SpecialIndentType::FirstLine(640)), None, None)
        .line_spacing(LineSpacing::new().before(120).after(60))
        .keep_next(true)
}

/// A PNG's width and height from its header, without decoding it.
fn png_size(png: &[u8]) -> anyhow::Result<(u32, u32)> {
    const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    anyhow::ensure!(
        png.len() >= 24 && png[..8] == SIGNATURE && &png[12..16] == b"IHDR",
        "图表不是 PNG 图片 (a chart is not a PNG)"
    );
    let be = |at: usize| u32::from_be_bytes([png[at], png[at + 1], png[at + 2], png[at + 3]]);
    let (w, h) = (be(16), be(20));
    anyhow::ensure!(w > 0 && h > 0, "图表尺寸为零 (a chart has no size)");
    Ok((w, h))
}

/// A chart as a picture the width of the text, its title beneath it; `n` makes its id.
fn chart(ids: &mut Ids, n: usize, (title, png): &Chart) -> anyhow::Result<[Paragraph; 2]> {
    let (w, h) = png_size(png).with_context(|| format!("图表“{title}”"))?;
    let w_emu = TEXT_WIDTH * EMU_PER_TWIP;
    let h_emu = (u64::from(w_emu) * u64::from(h) / u64::from(w)) as u32;
    let pic = Pic::new_with_dimensions(png.clone(), w, h)
        .size(w_emu, h_emu)
        .id(format!("rIdChart{n}"));
    Ok([
        ids.paragraph()
            .add_run(Run::new().add_image(pic))
            .align(AlignmentType::Center)
            .keep_next(true),
        centred(ids, &format!("图{n}　{title}"), HEADING, WUHAO),
    ])
}

/// A table the width of the text, header shaded and repeated in bold.
fn table(ids: &mut Ids, t: &content::Table) -> Table {
    let total: u32 = t.widths.iter().sum::<u32>().max(1);
    let grid: Vec<usize> = t
        .widths
        .iter()
        .map(|w| (TEXT_WIDTH * w / total) as usize)
        .collect();
    let mut cell = |text: &str, col: usize, head: bool| {
        let align = if head {
            AlignmentType::Center
        } else if t.numeric.get(col).copied().unwrap_or(false) {
            AlignmentType::Right
        } else {
            AlignmentType::Left
        };
        let font = if head { HEADING } else { BODY };
        let mut c = TableCell::new()
            .add_paragraph(ids.paragraph().add_run(run(text, font, WUHAO)).align(align))
            .vertical_align(VAlignType::Center)
            .width(grid.get(col).copied().unwrap_or(0), WidthType::Dxa);
        if head {
            c = c.shading(Shading::new().fill("E7E6E6"));
        }
        c
    };
    let mut rows = vec![
        TableRow::new(
            t.head
                .iter()
                .enumerate()
                .map(|(i, h)| cell(h, i, true))
                .collect(),
        )
        .cant_split(),
    ];
    for r in &t.rows {
        let cells = r
            .iter()
            .enumerate()
            .map(|(i, v)| cell(v, i, false))
            .collect();
        rows.push(TableRow::new(cells).cant_split());
    }
    Table::new(rows)
        .set_grid(grid.clone())
        .width(TEXT_WIDTH as usize, WidthType::Dxa)
        .layout(TableLayoutType::Fixed)
        .align(TableAlignmentType::Center)
}

/// The document's bytes. `title` is the page's title; `charts` the report's charts as PNG.
pub fn render(s: &Snapshot, half: Half, title: &str, charts: &[Chart]) -> anyhow::Result<Vec<u8>> {
    let mut ids = Ids::default();
    let stamp = half.start().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let mut doc = Docx::new()
        .page_size(PAGE.0, PAGE.1)
        .page_margin(
            PageMargin::new()
                .top(MARGIN.0)
                .bottom(MARGIN.1)
                .left(MARGIN.2)
                .right(MARGIN.3)
                .header(851)
                .footer(992),
        )
        .default_fonts(fonts(BODY))
        .default_size(SANHAO)
        .created_at(&stamp)
        .updated_at(&stamp)
        .footer(
            Footer::new().add_paragraph(
                ids.paragraph()
                    .add_page_num(PageNum::new())
                    .size(SIHAO)
                    .align(AlignmentType::Center),
            ),
        )
        .add_paragraph(centred(&mut ids, title, HEADING, ERHAO))
        .add_paragraph(centred(
            &mut ids,
            &format!("（数据期：{}）", s.period_label),
            SUBTITLE,
            SANHAO,
        ));
    let mut figure = 0;
    let sections = content::sections(s, charts);
    let shown = sections
        .iter()
        .filter(|x| !x.paragraphs.is_empty() || !x.tables.is_empty() || !x.charts.is_empty());
    for (k, sec) in shown.enumerate() {
        let number = NUMERALS.get(k).copied().unwrap_or("");
        doc = doc.add_paragraph(heading(&mut ids, &format!("{number}、{}", sec.heading)));
        for p in &sec.paragraphs {
            doc = doc.add_paragraph(body(&mut ids, p));
        }
        for c in sec.charts.iter().filter_map(|&i| charts.get(i)) {
            figure += 1;
            for p in chart(&mut ids, figure, c)? {
                doc = doc.add_paragraph(p);
            }
        }
        for t in &sec.tables {
            let caption = centred(&mut ids, &t.caption, HEADING, WUHAO).keep_next(true);
            doc = doc.add_paragraph(caption).add_table(table(&mut ids, t));
        }
    }
    let mut out = Cursor::new(Vec::new());
    doc.build()
        .pack(&mut out)
        .context("无法生成 Word 文档 (cannot write report.docx)")?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests;
