//! A zip entry read as XML events within the limits: its declared size checked before it is
//! opened, its real size while it is read.

use std::io::{BufReader, Read, Seek};

use quick_xml::events::{BytesRef, BytesStart, Event};
use zip::ZipArchive;
use zip::read::ZipFile;

use super::XlsxLimits;
use crate::ingest::table::TableError;

/// A whole-file problem (line 0: it is about no row).
pub(super) fn fault(reason: String) -> TableError {
    TableError { line: 0, reason }
}

/// A reader that fails once more than `left` bytes come out of it, whatever the zip entry
/// declared: a declared size can lie.
pub(super) struct Bounded<R> {
    inner: R,
    left: u64,
    exceeded: bool,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            let mut one = [0u8; 1];
            return match self.inner.read(&mut one)? {
                0 => Ok(0),
                _ => {
                    self.exceeded = true;
                    Err(std::io::Error::other("zip entry larger than the limit"))
                }
            };
        }
        let room = usize::try_from(self.left)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let n = self.inner.read(&mut buf[..room])?;
        self.left -= n as u64;
        Ok(n)
    }
}

/// One part of the workbook read as XML events, within the limits.
pub(super) struct Xml<'a, R: Read + Seek> {
    reader: quick_xml::Reader<BufReader<Bounded<ZipFile<'a, R>>>>,
    pub entry: String,
    limit: u64,
    buf: Vec<u8>,
}

/// Opens zip entry `name`, or `None` when the workbook has none. Its declared size is checked
/// first and its real size while it is read.
pub(super) fn open_part<'a, R: Read + Seek>(
    zip: &'a mut ZipArchive<R>,
    name: &str,
    limits: &XlsxLimits,
) -> Result<Option<Xml<'a, R>>, TableError> {
    let limit = limits.entry_bytes();
    let file = match zip.by_name(name) {
        Ok(f) => f,
        Err(zip::result::ZipError::FileNotFound) => return Ok(None),
        Err(e) => {
            return Err(fault(format!(
                "无法读取工作簿的 {name} 部分（文件损坏？） (cannot read workbook part {name}): {e}"
            )));
        }
    };
    if file.size() > limit {
        return Err(too_big(name, limits, Some(file.size())));
    }
    let bounded = Bounded {
        inner: file,
        left: limit,
        exceeded: false,
    };
    Ok(Some(Xml {
        reader: quick_xml::Reader::from_reader(BufReader::with_capacity(1 << 16, bounded)),
        entry: name.to_string(),
        limit,
        buf: Vec::with_capacity(1024),
    }))
}

fn too_big(name: &str, limits: &XlsxLimits, declared: Option<u64>) -> TableError {
    let size = declared.map_or_else(String::new, |s| format!("（声明 {s} 字节）"));
    fault(format!(
        "工作簿的 {name} 部分解压后超过 {} MiB 的上限{size}，拒收 (workbook part {name} is larger than the limit of {} MiB uncompressed; [import.xlsx] max_entry_mib)",
        limits.max_entry_mib, limits.max_entry_mib
    ))
}

impl<'a, R: Read + Seek> Xml<'a, R> {
    /// The next XML event.
    pub fn next(&mut self) -> Result<Event<'_>, TableError> {
        self.buf.clear();
        match self.reader.read_event_into(&mut self.buf) {
            Ok(e) => Ok(e),
            Err(e) => {
                if self.reader.get_ref().get_ref().exceeded {
                    let mib = self.limit >> 20;
                    Err(fault(format!(
                        "工作簿的 {} 部分解压后超过 {mib} MiB 的上限，拒收 (workbook part {} is larger than the limit of {mib} MiB uncompressed; [import.xlsx] max_entry_mib)",
                        self.entry, self.entry
                    )))
                } else if let quick_xml::Error::Io(io) = &e {
                    // The zip crate stops an entry at its declared size, and checks its CRC.
                    Err(fault(format!(
                        "工作簿的 {} 部分无法解压（大小与声明不符或数据损坏），拒收 (cannot decompress workbook part {}: {io})",
                        self.entry, self.entry
                    )))
                } else {
                    Err(fault(format!(
                        "工作簿的 {} 部分不是有效的 XML（文件损坏？） (malformed XML in {}): {e}",
                        self.entry, self.entry
                    )))
                }
            }
        }
    }

    /// Appends the text up to the end of element `end` to `out`; `false` when `out` would
    /// pass `max` bytes in all (it keeps what fitted; the element is read to its end).
    pub fn text_until(
        &mut self,
        end: &str,
        out: &mut String,
        max: usize,
    ) -> Result<bool, TableError> {
        let mut over = false;
        loop {
            match self.next()? {
                Event::Text(t) => push_bounded(out, &t.xml10_content(), max, &mut over),
                Event::CData(t) => push_bounded(out, &t.xml10_content(), max, &mut over),
                Event::GeneralRef(r) => {
                    push_bounded(out, &entity(&r)?, max, &mut over);
                }
                Event::End(e) if e.local_name().as_ref() == end => break,
                Event::Eof => return Err(self.truncated()),
                _ => {}
            }
        }
        Ok(!over)
    }

    pub fn truncated(&self) -> TableError {
        fault(format!(
            "工作簿的 {} 部分不完整（文件被截断？） (workbook part {} ends early)",
            self.entry, self.entry
        ))
    }
}

fn push_bounded(out: &mut String, s: &str, max: usize, over: &mut bool) {
    if *over || out.len() + s.len() > max {
        *over = true;
    } else {
        out.push_str(s);
    }
}

/// The text of an entity or character reference (`&amp;`, `&#x4E2D;`).
fn entity(r: &BytesRef<'_>) -> Result<String, TableError> {
    let name = r.xml10_content();
    if let Some(s) = quick_xml::escape::resolve_xml_entity(&name) {
        return Ok(s.to_string());
    }
    match r.resolve_char_ref() {
        Ok(Some(c)) => Ok(c.to_string()),
        _ => Err(fault(format!(
            "工作簿中有无法识别的 XML 实体 &{name}; (unknown XML entity)"
        ))),
    }
}

/// The value of attribute `key`, unescaped; `id` also finds a prefixed `r:id`.
pub(super) fn attr(e: &BytesStart<'_>, key: &str) -> Option<String> {
    e.attributes().with_checks(false).flatten().find_map(|a| {
        let k: &str = a.key.as_ref();
        (k == key || (key == "id" && k.ends_with(":id"))).then(|| {
            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map(|v| v.into_owned())
                .unwrap_or_default()
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bounded_reader_fails_past_its_limit_and_says_so() {
        let mut b = Bounded {
            inner: &b"0123456789"[..],
            left: 5,
            exceeded: false,
        };
        let mut out = Vec::new();
        assert!(b.read_to_end(&mut out).is_err());
        assert!(b.exceeded && out == b"01234");
        let mut exact = Bounded {
            inner: &b"01234"[..],
            left: 5,
            exceeded: false,
        };
        out.clear();
        assert_eq!(exact.read_to_end(&mut out).unwrap(), 5);
        assert!(!exact.exceeded);
    }
}
