//! Line numbers of CSV records, counted from the decoded text itself. The csv crate's
//! `Position::line` is one short after every CRLF terminator (BurntSushi/rust-csv#395), which
//! is what Excel and most offices write; its byte offsets are right. [`LineScan`] watches the
//! bytes the CSV parser reads and tells, for a record's starting byte, the line its first
//! field is on. It also follows CSV quoting as the parser does (`"` opens a field, `""` inside
//! one is a quote), so that a quote left open to the end of the file is reported as such.

use std::collections::VecDeque;
use std::io::Read;

/// Where a quoted field began: its byte offset, line and 1-based field number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuoteStart {
    pub byte: u64,
    pub line: u64,
    pub field: usize,
}

/// The CSV parser's states, as far as quoting and record boundaries go (csv-core's defaults:
/// `,` between fields, `"` quotes, `""` a quote inside quotes, `\r`, `\n` or `\r\n` ends a record).
const START_RECORD: u8 = 0;
const START_FIELD: u8 = 1;
const IN_FIELD: u8 = 2;
const IN_QUOTED: u8 = 3;
/// A `"` inside a quoted field: a second `"` escapes it, anything else closes the field.
const QUOTE_IN_QUOTED: u8 = 4;

/// Byte classes.
const OTHER: u8 = 0;
const QUOTE: u8 = 1;
const COMMA: u8 = 2;
const TERMINATOR: u8 = 3;

const CLASS: [u8; 256] = {
    let mut c = [OTHER; 256];
    c[b'"' as usize] = QUOTE;
    c[b',' as usize] = COMMA;
    c[b'\n' as usize] = TERMINATOR;
    c[b'\r' as usize] = TERMINATOR;
    c
};

/// The next state, by state and byte class.
const NEXT: [[u8; 4]; 5] = [
    [IN_FIELD, IN_QUOTED, START_FIELD, START_RECORD],
    [IN_FIELD, IN_QUOTED, START_FIELD, START_RECORD],
    [IN_FIELD, IN_FIELD, START_FIELD, START_RECORD],
    [IN_QUOTED, QUOTE_IN_QUOTED, IN_QUOTED, IN_QUOTED],
    [IN_FIELD, IN_QUOTED, START_FIELD, START_RECORD],
];

/// A reader that records where records start as the bytes pass through. Memory is bounded by
/// how far the CSV parser reads ahead (its buffer), since [`LineScan::line_at`] drops what
/// it has passed.
pub struct LineScan<R> {
    inner: R,
    /// Bytes read so far.
    offset: u64,
    /// The line of the byte before `offset` (1-based).
    line: u64,
    /// The byte before `offset` (a line ends after a `\n`, or a `\r` not followed by one).
    prev: u8,
    state: u8,
    /// Field number within the current record (1-based).
    field: usize,
    /// The first byte of each record read ahead of the parser, with its line.
    starts: VecDeque<(u64, u64)>,
    /// The quoted field being read.
    quote: Option<QuoteStart>,
    /// The end of the input was reached.
    eof: bool,
}

impl<R: Read> LineScan<R> {
    pub fn new(inner: R) -> LineScan<R> {
        LineScan {
            inner,
            offset: 0,
            line: 1,
            prev: 0,
            state: START_RECORD,
            field: 1,
            starts: VecDeque::new(),
            quote: None,
            eof: false,
        }
    }

    /// The line of the record that starts at byte `byte` (the parser's position before it
    /// read the record: blank lines and the `\n` of a CRLF may come first). Calls must come in
    /// increasing order of `byte`.
    pub fn line_at(&mut self, byte: u64) -> u64 {
        while self.starts.front().is_some_and(|(b, _)| *b < byte) {
            self.starts.pop_front();
        }
        self.starts.front().map_or(self.line, |(_, l)| *l)
    }

    /// The quoted field that was still open when the input ended, if any.
    pub fn unclosed_quote(&self) -> Option<QuoteStart> {
        (self.eof && self.state == IN_QUOTED)
            .then_some(self.quote)
            .flatten()
    }

    /// Follows the parser's states through `buf` (the next bytes), noting where records and
    /// quoted fields start. Runs of ordinary bytes inside a field are skipped as a whole: this
    /// reads every byte of every CSV file.
    fn scan(&mut self, buf: &[u8]) {
        let (mut line, mut prev, mut state) = (self.line, self.prev, self.state);
        let mut i = 0;
        while i < buf.len() {
            if (state == IN_FIELD || state == IN_QUOTED) && prev != b'\n' && prev != b'\r' {
                let run = buf[i..]
                    .iter()
                    .position(|&c| CLASS[c as usize] != OTHER)
                    .unwrap_or(buf.len() - i);
                if run > 0 {
                    prev = buf[i + run - 1];
                    i += run;
                    continue;
                }
            }
            let b = buf[i];
            line += u64::from((prev == b'\n') | ((prev == b'\r') & (b != b'\n')));
            prev = b;
            let class = CLASS[b as usize];
            let next = NEXT[state as usize][class as usize];
            if state <= START_FIELD || class == COMMA {
                let at = self.offset + i as u64;
                if state == START_RECORD && class != TERMINATOR {
                    self.starts.push_back((at, line));
                    self.field = 1;
                }
                if class == COMMA && state != IN_QUOTED {
                    self.field += 1;
                }
                if next == IN_QUOTED && state <= START_FIELD {
                    self.quote = Some(QuoteStart {
                        byte: at,
                        line,
                        field: self.field,
                    });
                }
            }
            state = next;
            i += 1;
        }
        self.offset += buf.len() as u64;
        (self.line, self.prev, self.state) = (line, prev, state);
    }
}

impl<R: Read> Read for LineScan<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() {
            self.eof = true;
        }
        self.scan(&buf[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The line of every record, read through a real csv reader as `CsvRows` reads.
    fn lines(text: &[u8]) -> Vec<u64> {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .buffer_capacity(3)
            .from_reader(LineScan::new(text));
        let mut rec = csv::ByteRecord::new();
        let mut out = Vec::new();
        loop {
            let start = rdr.position().byte();
            if !rdr.read_byte_record(&mut rec).unwrap() {
                break;
            }
            out.push(rdr.get_mut().line_at(start));
        }
        out
    }

    #[test]
    fn lf_crlf_and_lone_cr_give_the_same_lines() {
        assert_eq!(lines(b"a,b\n1,2\n\n3,4\n"), [1, 2, 4]);
        assert_eq!(lines(b"a,b\r\n1,2\r\n\r\n3,4\r\n"), [1, 2, 4]);
        assert_eq!(lines(b"a,b\r1,2\r\r3,4"), [1, 2, 4]);
    }

    #[test]
    fn a_record_with_a_quoted_newline_is_on_its_first_line() {
        let text = b"a,b\r\n\"x\r\ny\",2\r\n\"q\"\"\nz\",3\r\n4,5\r\n";
        assert_eq!(lines(text), [1, 2, 4, 6]);
    }

    #[test]
    fn an_open_quote_is_found_with_its_line_and_field() {
        let text = b"a,b\r\n1,2\r\n3,\"x\r\n4,5\r\n";
        let mut scan = LineScan::new(&text[..]);
        std::io::copy(&mut scan, &mut std::io::sink()).unwrap();
        let q = scan.unclosed_quote().unwrap();
        assert_eq!((q.line, q.field), (3, 2));
        let mut closed = LineScan::new(&b"a,\"b\"\"\"\n5\"x,y\n"[..]);
        std::io::copy(&mut closed, &mut std::io::sink()).unwrap();
        assert_eq!(closed.unclosed_quote(), None);
    }
}
