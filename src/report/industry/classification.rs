//! GB/T 4754-2017 《国民经济行业分类》 as far as 规上工业 goes: the sections (门类) B 采矿业,
//! C 制造业 and D 电力、热力、燃气及水生产和供应业, and their 41 divisions (大类, 06–46), with the
//! Chinese names officials print. Shipped as data (`data/gbt4754_2017.csv`) and read once.

use std::sync::OnceLock;

const DATA: &str = include_str!("../../../data/gbt4754_2017.csv");

/// A division (大类): two-digit code, its section letter and its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Division {
    pub code: &'static str,
    pub section: char,
    pub name: &'static str,
}

/// The sections and divisions of the data file, in code order.
#[derive(Debug, Default)]
pub struct Classification {
    pub sections: Vec<(char, &'static str)>,
    pub divisions: Vec<Division>,
    /// Division index by its two-digit number.
    by_number: Vec<Option<usize>>,
}

/// How an enterprise's `industry_code` reads against the classification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Coded<'a> {
    /// A division of sections B–D (index into [`Classification::divisions`]) and the code's
    /// digits (2–4), for matching groups by prefix.
    Division(usize, &'a str),
    /// No code registered.
    Missing,
    /// A code that names no industrial division (or whose section letter is wrong).
    Unknown,
}

/// The classification shipped with indmon.
pub fn classification() -> &'static Classification {
    static C: OnceLock<Classification> = OnceLock::new();
    C.get_or_init(|| parse(DATA))
}

/// Reads `code,section,name` lines; a line with a one-letter code is a section, one with two
/// digits a division. Lines of any other shape are skipped (the tests check there are none).
fn parse(text: &'static str) -> Classification {
    let mut c = Classification {
        by_number: vec![None; 100],
        ..Classification::default()
    };
    for line in text.lines().skip(1) {
        let mut f = line.splitn(3, ',');
        let (Some(code), Some(section), Some(name)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        let Some(letter) = section.chars().next() else {
            continue;
        };
        if code.len() == 1 {
            c.sections.push((letter, name));
        } else if let Ok(n) = code.parse::<usize>()
            && code.len() == 2
            && n < 100
        {
            c.by_number[n] = Some(c.divisions.len());
            c.divisions.push(Division {
                code,
                section: letter,
                name,
            });
        }
    }
    c
}

impl Classification {
    /// The division of an enterprise's code: an optional section letter, then 2–4 digits whose
    /// first two are the division (`C3011`, `3011`, `30` → 30 非金属矿物制品业).
    pub fn read<'a>(&self, code: Option<&'a str>) -> Coded<'a> {
        let Some(code) = code.map(str::trim).filter(|c| !c.is_empty()) else {
            return Coded::Missing;
        };
        let (letter, digits) = match code.as_bytes()[0] {
            b if b.is_ascii_alphabetic() => (Some(b.to_ascii_uppercase() as char), &code[1..]),
            _ => (None, code),
        };
        if !(2..=4).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Coded::Unknown;
        }
        let n = usize::from(digits.as_bytes()[0] - b'0') * 10
            + usize::from(digits.as_bytes()[1] - b'0');
        match self.by_number[n] {
            Some(d) if letter.is_none_or(|l| l == self.divisions[d].section) => {
                Coded::Division(d, digits)
            }
            _ => Coded::Unknown,
        }
    }

    /// The name of a section (门类).
    pub fn section_name(&self, letter: char) -> &'static str {
        self.sections
            .iter()
            .find(|(l, _)| *l == letter)
            .map_or("", |(_, n)| n)
    }
}

/// The digits of a group's code as configured (`C3562` → `3562`), or why it is not one: it
/// must be a code of 2–4 digits inside sections B–D ([`crate::registry::check_industry_code`]).
pub fn group_code(code: &str) -> Result<String, String> {
    let t = crate::registry::check_industry_code(code)?;
    Ok(t.trim_start_matches(|c: char| c.is_ascii_alphabetic())
        .to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_file_holds_the_41_industrial_divisions_in_order() {
        let c = classification();
        assert_eq!(c.divisions.len(), 41);
        let codes: Vec<String> = (6..=46).map(|n| format!("{n:02}")).collect();
        let got: Vec<&str> = c.divisions.iter().map(|d| d.code).collect();
        assert_eq!(got, codes);
        assert_eq!(c.sections.len(), 3);
        for d in &c.divisions {
            let n: u32 = d.code.parse().unwrap();
            let section = match n {
                6..=12 => 'B',
                13..=43 => 'C',
                _ => 'D',
            };
            assert_eq!(d.section, section, "{}", d.code);
        }
        let name = |code: &str| c.divisions.iter().find(|d| d.code == code).unwrap().name;
        assert_eq!(name("13"), "农副食品加工业");
        assert_eq!(name("26"), "化学原料和化学制品制造业");
        assert_eq!(name("39"), "计算机、通信和其他电子设备制造业");
        assert_eq!(name("44"), "电力、热力生产和供应业");
        assert_eq!(c.section_name('D'), "电力、热力、燃气及水生产和供应业");
        assert_eq!(DATA.lines().count(), 1 + 41 + 3, "no line skipped");
    }

    #[test]
    fn codes_of_two_to_four_digits_read_as_their_division() {
        let c = classification();
        let div = |code: &str| match c.read(Some(code)) {
            Coded::Division(d, digits) => Some((c.divisions[d].code, digits.to_string())),
            _ => None,
        };
        let some = |d: &'static str, digits: &str| Some((d, digits.to_string()));
        assert_eq!(div("C3011"), some("30", "3011"));
        assert_eq!(div("c301"), some("30", "301"));
        assert_eq!(div(" 30 "), some("30", "30"));
        assert_eq!(div("B0610"), some("06", "0610"));
        assert_eq!(c.read(None), Coded::Missing);
        assert_eq!(c.read(Some("  ")), Coded::Missing);
        assert_eq!(c.read(Some("5111")), Coded::Unknown, "wholesale");
        assert_eq!(c.read(Some("B3011")), Coded::Unknown, "wrong section");
        assert_eq!(c.read(Some("30111")), Coded::Unknown, "five digits");
        assert_eq!(c.read(Some("3")), Coded::Unknown);
        assert_eq!(c.read(Some("化工")), Coded::Unknown);
    }

    #[test]
    fn group_codes_must_be_industrial_codes_of_two_to_four_digits() {
        assert_eq!(group_code("C3562").unwrap(), "3562");
        assert_eq!(group_code("27").unwrap(), "27");
        assert!(group_code("5").is_err());
        assert!(group_code("51").is_err());
        assert!(group_code("27a").is_err());
    }
}
