//! Workbooks written byte by byte, as other tools write them (openpyxl saves formulas without
//! their results) or as a hostile file would be made.

#![allow(dead_code)]

use std::io::Write;

const NS: &str = r#"xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships""#;

/// A workbook of one sheet, `Sheet1`, whose `<sheetData>` holds `rows`, with `shared` strings.
pub fn workbook(rows: &str, shared: &[&str]) -> Vec<u8> {
    let strings: String = shared
        .iter()
        .map(|s| format!("<si><t>{s}</t></si>"))
        .collect();
    let parts = [
        (
            "[Content_Types].xml",
            r#"<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/></Types>"#.to_string(),
        ),
        (
            "_rels/.rels",
            r#"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#.to_string(),
        ),
        (
            "xl/workbook.xml",
            format!(r#"<workbook {NS}><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"#),
        ),
        (
            "xl/_rels/workbook.xml.rels",
            r#"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>"#.to_string(),
        ),
        (
            "xl/worksheets/sheet1.xml",
            format!(r#"<worksheet {NS}><dimension ref="A1:XFD1048576"/><sheetData>{rows}</sheetData></worksheet>"#),
        ),
        (
            "xl/sharedStrings.xml",
            format!(r#"<sst {NS}>{strings}</sst>"#),
        ),
    ];
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, text) in parts {
        zip.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(text.as_bytes()).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// A row of inline strings and bare cell XML: `("t", "credit_code")` is a text cell, `("x",
/// "<f>50+50</f>")` a cell written as given.
pub fn row(r: u32, cells: &[(&str, &str)]) -> String {
    let mut out = format!(r#"<row r="{r}">"#);
    for (i, (kind, text)) in cells.iter().enumerate() {
        let at = format!("{}{r}", (b'A' + i as u8) as char);
        match *kind {
            "t" => out += &format!(r#"<c r="{at}" t="inlineStr"><is><t>{text}</t></is></c>"#),
            _ => out += &format!(r#"<c r="{at}">{text}</c>"#),
        }
    }
    out + "</row>"
}

/// The cells of `sheet`, the workbook's first, as text (empty cells as "").
pub fn first_sheet_cells(book: &[u8], sheet: &str) -> Vec<Vec<String>> {
    use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
    let mut wb: Xlsx<_> =
        open_workbook_from_rs(std::io::Cursor::new(book.to_vec())).expect("a workbook");
    assert_eq!(wb.sheet_names()[0], sheet, "{sheet} is the first sheet");
    let range = wb.worksheet_range(sheet).expect("the sheet");
    let (h, w) = range.end().expect("cells");
    (0..=h)
        .map(|r| {
            (0..=w)
                .map(|c| match range.get_value((r, c)) {
                    Some(Data::Empty) | None => String::new(),
                    Some(v) => v.to_string(),
                })
                .collect()
        })
        .collect()
}
