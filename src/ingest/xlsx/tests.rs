//! Workbooks built here, hostile ones included, read through [`XlsxRows`].

use std::io::Write;

use super::*;

const NS: &str = r#"xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships""#;

/// A workbook of one sheet named 月报 holding `sheet_data` (the inside of `<sheetData>`), with
/// `shared` strings and a date style `s="1"`.
pub(super) fn workbook(sheet_data: &str, shared: &[&str]) -> Vec<u8> {
    let sheet = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><worksheet {NS}><dimension ref="A1:XFD1048576"/><sheetData>{sheet_data}</sheetData></worksheet>"#
    );
    let strings: String = shared
        .iter()
        .map(|s| format!("<si><t>{s}</t></si>"))
        .collect();
    zip_of(&[
        (
            "xl/workbook.xml",
            format!(r#"<workbook {NS}><sheets><sheet name="月报" sheetId="1" r:id="rId1"/></sheets></workbook>"#),
        ),
        (
            "xl/_rels/workbook.xml.rels",
            r#"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/><Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="/xl/styles.xml"/></Relationships>"#.into(),
        ),
        ("xl/worksheets/sheet1.xml", sheet),
        (
            "xl/sharedStrings.xml",
            format!(r#"<sst {NS} count="4000000000" uniqueCount="4000000000">{strings}</sst>"#),
        ),
        (
            "xl/styles.xml",
            format!(r#"<styleSheet {NS}><numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy&quot;年&quot;m&quot;月&quot;"/></numFmts><cellStyleXfs count="1"><xf numFmtId="14"/></cellStyleXfs><cellXfs count="3"><xf numFmtId="0"/><xf numFmtId="164"/><xf numFmtId="4"/></cellXfs></styleSheet>"#),
        ),
    ])
}

pub(super) fn zip_of(parts: &[(&str, String)]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, text) in parts {
        zip.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(text.as_bytes()).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// Rewrites the uncompressed size the zip declares for entry `name`, in its local header and
/// in the central directory: a lie about its size.
fn declare_size(bytes: &mut [u8], name: &str, size: u32) {
    let n = name.as_bytes();
    let le16 = |b: &[u8], at: usize| u16::from_le_bytes([b[at], b[at + 1]]) as usize;
    let mut patched = 0;
    for i in 0..bytes.len().saturating_sub(46) {
        let (size_at, name_len_at, name_at) = match &bytes[i..i + 4] {
            b"PK\x03\x04" => (22, 26, 30),
            b"PK\x01\x02" => (24, 28, 46),
            _ => continue,
        };
        if le16(bytes, i + name_len_at) == n.len() && bytes[i + name_at..].starts_with(n) {
            bytes[i + size_at..i + size_at + 4].copy_from_slice(&size.to_le_bytes());
            patched += 1;
        }
    }
    assert_eq!(patched, 2, "local and central headers of {name}");
}

fn read_all(bytes: Vec<u8>, limits: XlsxLimits) -> Result<Vec<(Row, Vec<CellFault>)>, TableError> {
    let mut rows = XlsxRows::open(std::io::Cursor::new(bytes), limits)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next() {
        let r = r?;
        out.push((r, rows.take_faults()));
    }
    Ok(out)
}

fn error(bytes: Vec<u8>, limits: XlsxLimits) -> TableError {
    match read_all(bytes, limits) {
        Ok(rows) => panic!("read {} rows, expected a rejection", rows.len()),
        Err(e) => e,
    }
}

fn cells(r: &Row) -> Vec<&str> {
    r.cells.iter().map(String::as_str).collect()
}

#[test]
fn values_shared_and_inline_strings_dates_and_gaps_are_read() {
    let data = r#"<row r="2"><c r="A2" t="s"><v>0</v></c><c r="C2" t="inlineStr"><is><r><t>工业</t></r><r><t xml:space="preserve">总产值</t></r><rPh><t>こう</t></rPh></is></c></row>
<row r="3"><c r="A3"><v>1.50</v></c><c r="B3" s="1"><v>46296</v></c><c r="C3" t="b"><v>1</v></c><c r="D3" t="str"><v>a&amp;b_x000D_</v></c><c r="E3" s="2"/></row>
<row r="6"><c r="B6" t="s"><v>1</v></c></row>"#;
    let rows = read_all(
        workbook(data, &["统一社会信用代码", "合 计"]),
        XlsxLimits::default(),
    )
    .unwrap();
    let got: Vec<(u64, Vec<&str>)> = rows.iter().map(|(r, _)| (r.line, cells(r))).collect();
    assert_eq!(
        got,
        vec![
            (2, vec!["统一社会信用代码", "", "工业总产值"]),
            (3, vec!["1.5", "2026-10", "true", "a&b\r"]),
            // The gap of rows 4 and 5 reads as one blank row, as a typed blank row would.
            (4, vec![]),
            (6, vec!["", "合 计"]),
        ]
    );
    assert!(rows.iter().all(|(_, f)| f.is_empty()));
}

#[test]
fn a_formula_without_its_result_is_a_fault_never_a_blank() {
    // As openpyxl writes them: no <v>; a shared formula's other cells carry only its index,
    // which may be anything (it sizes nothing).
    let data = r#"<row r="2"><c r="A2"><v>7</v></c><c r="B2"><f>50+50</f></c><c r="C2"><f>50+50</f><v>100</v></c></row>
<row r="3"><c r="B3"><f t="shared" si="4000000000"/></c><c r="C3" t="e"><f>1/0</f><v>#DIV/0!</v></c><c r="D3" t="str"><f>"x"</f><v></v></c></row>"#;
    let rows = read_all(workbook(data, &[]), XlsxLimits::default()).unwrap();
    assert_eq!(cells(&rows[0].0), ["7", "", "100"]);
    let f = &rows[0].1;
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(
        (f[0].column, f[0].cell.as_str(), f[0].value.as_str()),
        (1, "B2", "=50+50")
    );
    assert!(f[0].reason.contains("公式没有计算结果"), "{}", f[0].reason);
    let f: Vec<(usize, &str)> = rows[1]
        .1
        .iter()
        .map(|f| (f.column, f.cell.as_str()))
        .collect();
    assert_eq!(f, [(1, "B3"), (2, "C3")]);
    assert!(rows[1].1[1].reason.contains("#DIV/0!"));
    // A formula whose cached result is an empty text has a value: the empty text.
    assert!(cells(&rows[1].0).iter().all(|c| c.is_empty()));
    assert_eq!(rows[1].1.len(), 2);
}

#[test]
fn the_far_cell_xfd1048576_is_rejected_without_sizing_anything_by_it() {
    let data = r#"<row r="1"><c r="A1" t="inlineStr"><is><t>x</t></is></c></row><row r="1048576"><c r="XFD1048576"><v>1</v></c></row>"#;
    let e = error(workbook(data, &[]), XlsxLimits::default());
    assert_eq!(e.line, 1048576);
    for part in ["月报", "XFD1048576", "1024", "max_columns"] {
        assert!(e.reason.contains(part), "{part}: {}", e.reason);
    }
    // Within Excel's own limits the cell is read, in a row no wider than it.
    let wide = XlsxLimits {
        max_columns: EXCEL_MAX_COLUMNS,
        ..XlsxLimits::default()
    };
    let rows = read_all(workbook(data, &[]), wide.clone()).unwrap();
    let last = &rows.last().unwrap().0;
    assert_eq!((last.line, last.cells.len()), (1048576, 16384));
    // Beyond them, and past a lower row limit, it is not.
    let e = error(
        workbook(r#"<row r="1"><c r="XFE1"><v>1</v></c></row>"#, &[]),
        wide.clone(),
    );
    assert!(e.reason.contains("XFE1"), "{}", e.reason);
    let low = XlsxLimits {
        max_rows: 1000,
        ..XlsxLimits::default()
    };
    let e = error(workbook(data, &[]), low);
    assert!(e.reason.contains("max_rows"), "{}", e.reason);
}

#[test]
fn a_sheet_over_the_cell_limit_is_rejected_at_the_cell_that_passes_it() {
    let row = |r: u32| {
        format!(
            r#"<row r="{r}"><c r="A{r}"><v>1</v></c><c r="B{r}"><v>1</v></c><c r="C{r}"><v>1</v></c><c r="D{r}"><v>1</v></c></row>"#
        )
    };
    let data: String = (1..=3).map(row).collect();
    let limits = XlsxLimits {
        max_cells: 10,
        ..XlsxLimits::default()
    };
    let e = error(workbook(&data, &[]), limits.clone());
    assert_eq!(e.line, 3);
    for part in ["月报", "C3", "10", "max_cells"] {
        assert!(e.reason.contains(part), "{part}: {}", e.reason);
    }
    // Blank cells left of a far one count: they are what a row would hold.
    let e = error(
        workbook(r#"<row r="1"><c r="L1"><v>1</v></c></row>"#, &[]),
        limits,
    );
    assert!(e.reason.contains("L1"), "{}", e.reason);
}

#[test]
fn a_shared_or_inline_string_over_the_cell_limit_is_rejected_naming_its_cell() {
    let long = "长".repeat(400); // 1,200 bytes
    let limits = XlsxLimits {
        max_cell_kib: 1,
        ..XlsxLimits::default()
    };
    // An oversized string nobody uses is no problem…
    let unused = workbook(
        r#"<row r="1"><c r="A1" t="s"><v>0</v></c></row>"#,
        &["短", &long],
    );
    assert_eq!(read_all(unused, limits.clone()).unwrap().len(), 1);
    // …the cell that shows it is rejected.
    let used = workbook(
        r#"<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>"#,
        &["短", &long],
    );
    let e = error(used, limits.clone());
    for part in ["月报", "B1", "1 KiB", "max_cell_kib"] {
        assert!(e.reason.contains(part), "{part}: {}", e.reason);
    }
    let inline = format!(r#"<row r="4"><c r="C4" t="inlineStr"><is><t>{long}</t></is></c></row>"#);
    let e = error(workbook(&inline, &[]), limits.clone());
    assert!(e.reason.contains("C4") && e.line == 4, "{e}");
    // Rich-text runs count together, and up to the limit they are read.
    let run = "长".repeat(133); // 399 bytes
    let runs = format!(
        r#"<row r="6"><c r="A6" t="inlineStr"><is><r><t>{run}</t></r><r><t>{run}</t></r></is></c></row>"#
    );
    let rows = read_all(workbook(&runs, &[]), limits.clone()).unwrap();
    assert_eq!(rows[0].0.cells[0].len(), 798);
    let three = runs.replace("</is>", &format!("<r><t>{run}</t></r></is>"));
    assert!(
        error(workbook(&three, &[]), limits.clone())
            .reason
            .contains("A6")
    );
    let value = format!(r#"<row r="5"><c r="A5" t="str"><v>{long}</v></c></row>"#);
    assert!(error(workbook(&value, &[]), limits).reason.contains("A5"));
}

#[test]
fn a_part_over_the_entry_limit_is_rejected_whether_its_size_is_declared_or_hidden() {
    let limits = XlsxLimits {
        max_entry_mib: 1,
        ..XlsxLimits::default()
    };
    let data: String = (1..=30_000)
        .map(|r| format!(r#"<row r="{r}"><c r="A{r}"><v>{r}</v></c></row>"#))
        .collect();
    assert!(data.len() > 1 << 20);
    let honest = workbook(&data, &[]);
    let e = error(honest.clone(), limits.clone());
    for part in ["xl/worksheets/sheet1.xml", "1 MiB", "max_entry_mib", "声明"] {
        assert!(e.reason.contains(part), "{part}: {}", e.reason);
    }
    // The headers say 1,000 bytes: reading stops there (the zip crate holds an entry to its
    // declared size; [`zipxml::Bounded`] holds it to the limit).
    let mut lying = honest;
    declare_size(&mut lying, "xl/worksheets/sheet1.xml", 1_000);
    let e = error(lying, limits.clone());
    for part in ["xl/worksheets/sheet1.xml", "大小与声明不符", "拒收"] {
        assert!(e.reason.contains(part), "{part}: {}", e.reason);
    }
    // The shared strings are bounded the same way.
    let many: Vec<String> = (0..200_000).map(|i| format!("s{i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let e = error(workbook("", &many), limits);
    assert!(e.reason.contains("xl/sharedStrings.xml"), "{}", e.reason);
}

#[test]
fn broken_workbooks_are_rejected_not_read_as_empty() {
    let good = workbook(r#"<row r="1"><c r="A1"><v>1</v></c></row>"#, &[]);
    let e = error(good[..good.len() / 2].to_vec(), XlsxLimits::default());
    assert!(e.reason.contains("无法打开 XLSX"), "{}", e.reason);
    let cut = zip_of(&[
        (
            "xl/workbook.xml",
            format!(r#"<workbook {NS}><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>"#),
        ),
        (
            "xl/_rels/workbook.xml.rels",
            r#"<Relationships><Relationship Id="rId1" Type="x/worksheet" Target="s.xml"/></Relationships>"#.into(),
        ),
        ("xl/s.xml", r#"<worksheet><sheetData><row r="1"><c r="A1"><v>1</v></c></row>"#.into()),
    ]);
    let e = error(cut, XlsxLimits::default());
    assert!(e.reason.contains("不完整"), "{}", e.reason);
    let e = error(
        workbook(r#"<row r="1"><c r="1A"><v>1</v></c></row>"#, &[]),
        XlsxLimits::default(),
    );
    assert!(e.reason.contains("无效"), "{}", e.reason);
}

#[test]
fn peeked_rows_come_back_once() {
    let data: String = (1..=5)
        .map(|r| format!(r#"<row r="{r}"><c r="A{r}"><v>{r}</v></c></row>"#))
        .collect();
    let mut rows = XlsxRows::open(
        std::io::Cursor::new(workbook(&data, &[])),
        XlsxLimits::default(),
    )
    .unwrap();
    assert_eq!(rows.peek(3).unwrap().len(), 3);
    rows.drop_peeked(2);
    let rest: Vec<u64> = rows.map(|r| r.unwrap().line).collect();
    assert_eq!(rest, [3, 4, 5]);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

    /// Whatever a sheet holds, it is read or rejected: never a panic, never a hang.
    #[test]
    fn any_sheet_is_read_or_rejected_never_a_panic(parts in proptest::collection::vec(
        proptest::prop_oneof![
            proptest::strategy::Just("<row>".to_string()),
            proptest::strategy::Just("</row>".to_string()),
            proptest::strategy::Just(r#"<row r="1048577">"#.to_string()),
            proptest::strategy::Just(r#"<row r="0"/>"#.to_string()),
            proptest::strategy::Just(r#"<c r="A1">"#.to_string()),
            proptest::strategy::Just("<c>".to_string()),
            proptest::strategy::Just("</c>".to_string()),
            proptest::strategy::Just("<v>1</v>".to_string()),
            proptest::strategy::Just(r#"<f t="shared" si="99999999999"/>"#.to_string()),
            proptest::strategy::Just("<is><t>a_x00</t></is>".to_string()),
            proptest::strategy::Just(r#"<c r="ZZZZZZZZZZZZ1"/>"#.to_string()),
            proptest::strategy::Just(r#"<c t="s"><v>99999999999999999999</v></c>"#.to_string()),
            proptest::strategy::Just(r#"<c s="99999999999" t="n"><v>1e308</v></c>"#.to_string()),
            proptest::strategy::Just(r#"<c s="1"><v>-1e300</v></c>"#.to_string()),
            "[a-z<>/=\" &;#0-9_]{0,8}",
        ],
        0..40,
    )) {
        let limits = XlsxLimits { max_cells: 50, max_columns: 30, ..XlsxLimits::default() };
        let _ = read_all(workbook(&parts.concat(), &["a"]), limits);
    }
}
