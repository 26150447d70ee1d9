//! Text encodings: files arrive as UTF-8 (with or without BOM), GBK or GB18030, and are read
//! as a stream so that a file of any size is decoded in constant memory.

use std::io::{Chain, Cursor, Read};

use encoding_rs::{Encoding, GB18030, UTF_8};
use encoding_rs_io::DecodeReaderBytesBuilder;

/// How a source says its files are encoded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TextEncoding {
    /// Sniff: BOM, else valid UTF-8, else GB18030 (a superset of GBK).
    #[default]
    Auto,
    Utf8,
    Gbk,
    Gb18030,
}

impl TextEncoding {
    pub fn parse(s: &str) -> Option<TextEncoding> {
        match s
            .trim()
            .to_ascii_lowercase()
            .replace(['-', '_'], "")
            .as_str()
        {
            "auto" => Some(TextEncoding::Auto),
            "utf8" => Some(TextEncoding::Utf8),
            "gbk" | "gb2312" | "cp936" => Some(TextEncoding::Gbk),
            "gb18030" => Some(TextEncoding::Gb18030),
            _ => None,
        }
    }
}

/// How many bytes are looked at to decide the encoding.
const SNIFF: usize = 1 << 20;

/// A reader of UTF-8 text, and the encoding it was decoded from.
pub struct Decoded {
    pub reader: Box<dyn Read + Send>,
    pub encoding: &'static Encoding,
}

/// Why a file's bytes cannot be read as text.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error(
        "文件编码无法识别：既不是 UTF-8 也不是 GBK/GB18030（第{line}行附近） (unrecognised encoding near line {line})"
    )]
    Unrecognised { line: usize },
    #[error("读取文件失败 (read failed): {0}")]
    Io(#[from] std::io::Error),
}

/// Wraps `input` so that it yields UTF-8, deciding the encoding from its first megabyte.
pub fn decode<R: Read + Send + 'static>(
    mut input: R,
    declared: TextEncoding,
) -> Result<Decoded, DecodeError> {
    let mut head = Vec::with_capacity(8192);
    (&mut input).take(SNIFF as u64).read_to_end(&mut head)?;
    let encoding = match declared {
        TextEncoding::Utf8 => UTF_8,
        TextEncoding::Gbk | TextEncoding::Gb18030 => GB18030,
        TextEncoding::Auto => sniff(&head)?,
    };
    let stream: Chain<Cursor<Vec<u8>>, R> = Cursor::new(head).chain(input);
    let reader: Box<dyn Read + Send> = if encoding == UTF_8 {
        // Strip a BOM; invalid bytes later in the file are caught line by line by the reader.
        Box::new(
            DecodeReaderBytesBuilder::new()
                .encoding(Some(UTF_8))
                .bom_sniffing(true)
                .utf8_passthru(true)
                .strip_bom(true)
                .build(stream),
        )
    } else {
        Box::new(
            DecodeReaderBytesBuilder::new()
                .encoding(Some(encoding))
                .bom_sniffing(true)
                .strip_bom(true)
                .build(stream),
        )
    };
    Ok(Decoded { reader, encoding })
}

fn sniff(head: &[u8]) -> Result<&'static Encoding, DecodeError> {
    if let Some((enc, _)) = Encoding::for_bom(head) {
        return Ok(enc);
    }
    match std::str::from_utf8(head) {
        Ok(_) => return Ok(UTF_8),
        // Cut off mid-character at the end of the sniffed window: still UTF-8.
        Err(e) if e.error_len().is_none() => return Ok(UTF_8),
        Err(_) => {}
    }
    let (_, had_errors) = GB18030.decode_without_bom_handling(head);
    if !had_errors {
        return Ok(GB18030);
    }
    // Name the first line that neither encoding reads, so the user can look at it.
    let bad_line = head
        .split(|b| *b == b'\n')
        .position(|line| {
            std::str::from_utf8(line).is_err() && GB18030.decode_without_bom_handling(line).1
        })
        .unwrap_or(0);
    Err(DecodeError::Unrecognised { line: bad_line + 1 })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(bytes: Vec<u8>) -> (String, &'static str) {
        let mut d = decode(Cursor::new(bytes), TextEncoding::Auto).unwrap();
        let mut s = String::new();
        d.reader.read_to_string(&mut s).unwrap();
        (s, d.encoding.name())
    }

    #[test]
    fn reads_utf8_with_and_without_bom() {
        assert_eq!(
            text("报告期,x\n".as_bytes().to_vec()),
            ("报告期,x\n".into(), "UTF-8")
        );
        let mut bom = vec![0xEF, 0xBB, 0xBF];
        bom.extend_from_slice("报告期".as_bytes());
        assert_eq!(text(bom).0, "报告期");
    }

    #[test]
    fn reads_gbk() {
        let (bytes, _, _) = encoding_rs::GBK.encode("统一社会信用代码,报告期\n");
        assert_eq!(
            text(bytes.into_owned()),
            ("统一社会信用代码,报告期\n".into(), "gb18030")
        );
    }

    #[test]
    fn refuses_bytes_no_encoding_reads() {
        let bytes = b"a,b\n\x80\x80\xff\xfe\xfd\n".to_vec();
        let err = decode(Cursor::new(bytes), TextEncoding::Auto)
            .err()
            .unwrap();
        assert!(err.to_string().contains("第2行"), "{err}");
    }
}
