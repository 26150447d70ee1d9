//! The parts of a workbook read before its sheet: the list of sheets, the relationships, the
//! styles (which cells hold dates) and the shared strings.

use std::collections::HashMap;
use std::io::{Read, Seek};

use quick_xml::events::Event;
use zip::ZipArchive;

use super::XlsxLimits;
use super::zipxml::{attr, fault, open_part};
use crate::ingest::table::TableError;

/// What the workbook says about its first worksheet and its other parts.
pub(super) struct Book {
    pub sheet_name: String,
    pub sheet_path: String,
    pub shared_strings: Option<String>,
    pub styles: Option<String>,
    pub is_1904: bool,
}

/// Reads `xl/workbook.xml` and its relationships.
pub(super) fn read_book<R: Read + Seek>(
    zip: &mut ZipArchive<R>,
    limits: &XlsxLimits,
) -> Result<Book, TableError> {
    let mut sheets = Vec::new();
    let mut is_1904 = false;
    {
        let Some(mut xml) = open_part(zip, "xl/workbook.xml", limits)? else {
            return Err(fault(
                "不是 XLSX 工作簿：缺少 xl/workbook.xml (not an XLSX workbook)".into(),
            ));
        };
        loop {
            match xml.next()? {
                Event::Start(e) | Event::Empty(e) => match e.local_name().as_ref() {
                    "workbookPr" => {
                        is_1904 = matches!(attr(&e, "date1904").as_deref(), Some("1" | "true"));
                    }
                    "sheet" => {
                        if let Some(id) = attr(&e, "id") {
                            sheets.push((attr(&e, "name").unwrap_or_default(), id));
                        }
                    }
                    _ => {}
                },
                Event::Eof => break,
                _ => {}
            }
        }
    }
    let rels = read_rels(zip, limits)?;
    let by_type = |suffix: &str| {
        rels.iter()
            .find(|(_, t, _)| t.ends_with(suffix))
            .map(|(_, _, p)| p.clone())
    };
    let (sheet_name, sheet_path) = sheets
        .iter()
        .find_map(|(name, id)| {
            rels.iter()
                .find(|(rid, t, _)| rid == id && t.ends_with("/worksheet"))
                .map(|(_, _, p)| (name.clone(), p.clone()))
        })
        .ok_or_else(|| fault("工作簿中没有工作表 (no worksheet)".into()))?;
    Ok(Book {
        sheet_name,
        sheet_path,
        shared_strings: by_type("/sharedStrings"),
        styles: by_type("/styles"),
        is_1904,
    })
}

/// `(Id, Type, path in the zip)` of every relationship of the workbook.
fn read_rels<R: Read + Seek>(
    zip: &mut ZipArchive<R>,
    limits: &XlsxLimits,
) -> Result<Vec<(String, String, String)>, TableError> {
    let mut out = Vec::new();
    let Some(mut xml) = open_part(zip, "xl/_rels/workbook.xml.rels", limits)? else {
        return Ok(out);
    };
    loop {
        match xml.next()? {
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == "Relationship" => {
                let target = attr(&e, "Target").unwrap_or_default();
                let path = match target.strip_prefix('/') {
                    Some(abs) => abs.to_string(),
                    None => format!("xl/{target}"),
                };
                out.push((
                    attr(&e, "Id").unwrap_or_default(),
                    attr(&e, "Type").unwrap_or_default(),
                    path,
                ));
            }
            Event::Eof => return Ok(out),
            _ => {}
        }
    }
}

/// For each cell style (`s="…"`), whether it shows a date.
pub(super) fn read_date_styles<R: Read + Seek>(
    zip: &mut ZipArchive<R>,
    path: &str,
    limits: &XlsxLimits,
) -> Result<Vec<bool>, TableError> {
    let mut out = Vec::new();
    let Some(mut xml) = open_part(zip, path, limits)? else {
        return Ok(out);
    };
    let mut custom: HashMap<u32, bool> = HashMap::new();
    let mut in_xfs = false;
    loop {
        match xml.next()? {
            Event::Start(e) | Event::Empty(e) => match e.local_name().as_ref() {
                "numFmt" => {
                    if let Some(id) = attr(&e, "numFmtId").and_then(|v| v.parse().ok()) {
                        let code = attr(&e, "formatCode").unwrap_or_default();
                        custom.insert(id, is_date_format(&code));
                    }
                }
                "cellXfs" => in_xfs = true,
                "xf" if in_xfs => {
                    let id: u32 = attr(&e, "numFmtId")
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0);
                    out.push(custom.get(&id).copied().unwrap_or_else(|| is_date_id(id)));
                }
                _ => {}
            },
            Event::End(e) if e.local_name().as_ref() == "cellXfs" => in_xfs = false,
            Event::Eof => return Ok(out),
            _ => {}
        }
    }
}

/// Excel's built-in number formats that show a date or a time (ECMA-376 18.8.30).
fn is_date_id(id: u32) -> bool {
    matches!(id, 14..=22 | 27..=36 | 45..=47 | 50..=58)
}

/// Whether a custom number format shows a date or a time: a date letter outside quotes,
/// escapes and brackets, in its first section (as calamine and openpyxl decide).
fn is_date_format(code: &str) -> bool {
    let (mut escaped, mut quoted, mut brackets) = (false, false, 0u32);
    let mut prev = ' ';
    for c in code.chars() {
        if escaped {
            escaped = false;
        } else if quoted {
            quoted = c != '"';
        } else {
            match c {
                '\\' | '_' | '*' => escaped = true,
                '"' => quoted = true,
                ';' => return false,
                '[' => brackets += 1,
                ']' if brackets == 1 && matches!(prev, 'h' | 'm' | 's' | 'H' | 'M' | 'S') => {
                    return true;
                }
                ']' => brackets = brackets.saturating_sub(1),
                'd' | 'm' | 'h' | 'y' | 's' | 'D' | 'M' | 'H' | 'Y' | 'S' if brackets == 0 => {
                    return true;
                }
                _ => {}
            }
        }
        prev = c;
    }
    false
}

/// The shared strings, all in one buffer: memory is bounded by the part's size limit whatever
/// the number of strings. A string longer than a cell may be is kept as a mark, not as text.
#[derive(Default)]
pub(super) struct SharedStrings {
    text: String,
    /// Where each string ends in `text`; `u32::MAX` marks one too long to keep.
    ends: Vec<u32>,
}

/// A shared string looked up by a cell.
pub(super) enum Shared<'a> {
    Text(&'a str),
    TooLong,
    Missing,
}

impl SharedStrings {
    pub fn get(&self, i: usize) -> Shared<'_> {
        let Some(&end) = self.ends.get(i) else {
            return Shared::Missing;
        };
        if end == u32::MAX {
            return Shared::TooLong;
        }
        let start = self.ends[..i]
            .iter()
            .rev()
            .find(|e| **e != u32::MAX)
            .map_or(0, |e| *e as usize);
        self.text
            .get(start..end as usize)
            .map_or(Shared::Missing, Shared::Text)
    }
}

/// Reads the shared strings part: the text of each `<si>` (its `<t>` and rich-text runs,
/// without phonetic guides).
pub(super) fn read_shared_strings<R: Read + Seek>(
    zip: &mut ZipArchive<R>,
    path: &str,
    limits: &XlsxLimits,
) -> Result<SharedStrings, TableError> {
    let mut out = SharedStrings::default();
    let Some(mut xml) = open_part(zip, path, limits)? else {
        return Ok(out);
    };
    let max = limits.cell_bytes();
    let (mut start, mut over, mut phonetic) = (0usize, false, 0u32);
    let mut piece = String::new();
    loop {
        match xml.next()? {
            Event::Start(e) => match e.local_name().as_ref() {
                "si" => (start, over, phonetic) = (out.text.len(), false, 0),
                "rPh" => phonetic += 1,
                "t" if phonetic == 0 => {
                    piece.clear();
                    let room = max.saturating_sub(out.text.len() - start);
                    if !xml.text_until("t", &mut piece, room)? {
                        over = true;
                    }
                    if !over {
                        out.text.push_str(&unescape_excel(&piece));
                        over = out.text.len() - start > max;
                    }
                }
                _ => {}
            },
            Event::Empty(e) if e.local_name().as_ref() == "si" => {
                out.ends
                    .push(u32::try_from(out.text.len()).unwrap_or(u32::MAX));
            }
            Event::End(e) => match e.local_name().as_ref() {
                "rPh" => phonetic = phonetic.saturating_sub(1),
                "si" => {
                    if over {
                        out.text.truncate(start);
                        out.ends.push(u32::MAX);
                    } else {
                        out.ends
                            .push(u32::try_from(out.text.len()).unwrap_or(u32::MAX));
                    }
                }
                _ => {}
            },
            Event::Eof => return Ok(out),
            _ => {}
        }
    }
}

/// Excel's own escapes in text: `_x000D_` is a carriage return, `_x005F_` an underscore.
pub(super) fn unescape_excel(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains("_x") {
        return s.into();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find("_x") {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let code = tail
            .get(2..6)
            .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
            .filter(|_| tail.as_bytes().get(6) == Some(&b'_'))
            .and_then(|h| u32::from_str_radix(h, 16).ok());
        match code {
            Some(c) => {
                out.push(char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER));
                rest = &tail[7..];
            }
            None => {
                out.push_str("_x");
                rest = &tail[2..];
            }
        }
    }
    out.push_str(rest);
    out.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_formats_are_told_from_number_formats() {
        for f in [
            "yyyy-mm",
            "yyyy\"年\"m\"月\"",
            "[$-F800]dddd",
            "m/d/yy",
            "[h]:mm",
        ] {
            assert!(is_date_format(f), "{f}");
        }
        for f in ["0.00", "#,##0", "\"元\"0", "0;[Red]-0", "[Red]0.0"] {
            assert!(!is_date_format(f), "{f}");
        }
        assert!(is_date_id(14) && is_date_id(57) && !is_date_id(0) && !is_date_id(49));
    }

    #[test]
    fn excel_escapes_are_undone() {
        assert_eq!(unescape_excel("a_x000D_b"), "a\rb");
        assert_eq!(unescape_excel("_x005F_x000D_"), "_x000D_");
        assert_eq!(unescape_excel("x_xy_"), "x_xy_");
    }
}
