//! The file lines of the months an early merge took out of memory, spilled to a temporary file.
//! They are read back only when a later row repeats one of those months, to name the line of
//! the first: a large file's happy path writes them once and never reads them.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, Write};

use super::seen::Code;

/// Bytes of one record: credit code, year, month, line.
const RECORD: usize = 18 + 4 + 1 + 4;

/// An enterprise-month: credit code, year, month.
pub(super) type Month = (Code, i32, u32);

#[derive(Default)]
pub(super) struct LineSpill {
    file: Option<BufWriter<File>>,
}

impl LineSpill {
    /// Records that `month` of `code` in `year` stood on `line`.
    pub(super) fn push(
        &mut self,
        code: &Code,
        year: i32,
        month: u32,
        line: u32,
    ) -> anyhow::Result<()> {
        let out = match &mut self.file {
            Some(out) => out,
            None => self
                .file
                .insert(BufWriter::with_capacity(1 << 16, tempfile::tempfile()?)),
        };
        let mut record = [0u8; RECORD];
        record[..18].copy_from_slice(code);
        record[18..22].copy_from_slice(&year.to_le_bytes());
        record[22] = month as u8;
        record[23..].copy_from_slice(&line.to_le_bytes());
        out.write_all(&record)?;
        Ok(())
    }

    /// The lines of those of `wanted` that were recorded.
    pub(super) fn lines(&mut self, wanted: &HashSet<Month>) -> anyhow::Result<HashMap<Month, u32>> {
        let mut found = HashMap::new();
        let Some(out) = self.file.as_mut() else {
            return Ok(found);
        };
        out.flush()?;
        let file = out.get_mut();
        file.rewind()?;
        let mut read = BufReader::with_capacity(1 << 16, &*file);
        let mut record = [0u8; RECORD];
        loop {
            match read.read_exact(&mut record) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
                Err(e) => return Err(e.into()),
            }
            let mut code = [0u8; 18];
            code.copy_from_slice(&record[..18]);
            let year = i32::from_le_bytes([record[18], record[19], record[20], record[21]]);
            let key = (code, year, u32::from(record[22]));
            if wanted.contains(&key) {
                let line = u32::from_le_bytes([record[23], record[24], record[25], record[26]]);
                found.entry(key).or_insert(line);
            }
        }
        file.seek(std::io::SeekFrom::End(0))?;
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_found_again() {
        let a = *b"91330700MA2A000001";
        let b = *b"91330700MA2A000002";
        let mut spill = LineSpill::default();
        assert!(
            spill
                .lines(&HashSet::from([(a, 2026, 3)]))
                .unwrap()
                .is_empty()
        );
        for line in 2..10_000u32 {
            spill
                .push(
                    if line % 2 == 0 { &a } else { &b },
                    2026,
                    line % 12 + 1,
                    line,
                )
                .unwrap();
        }
        let found = spill
            .lines(&HashSet::from([(a, 2026, 3), (b, 2026, 4), (a, 2025, 3)]))
            .unwrap();
        assert_eq!(found.get(&(a, 2026, 3)), Some(&2));
        assert_eq!(found.get(&(b, 2026, 4)), Some(&3));
        assert_eq!(found.get(&(a, 2025, 3)), None);
        // Writing goes on after a read, at the end.
        spill.push(&a, 2025, 3, 10_001).unwrap();
        let found = spill.lines(&HashSet::from([(a, 2025, 3)])).unwrap();
        assert_eq!(found.get(&(a, 2025, 3)), Some(&10_001));
    }
}
