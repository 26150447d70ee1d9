//! Exact amounts. Figures are kept as integers in ten-thousandths of their display unit
//! (for 万元 that is one 元), so sums and threshold comparisons are exact — an enterprise at
//! exactly 90% of its base is exactly there, not a float's hair below it.

use std::fmt;
use std::str::FromStr;

/// Ten-thousandths of the display unit per display unit.
pub const SCALE: i64 = 10_000;

/// An exact amount with four decimal places, e.g. 6646.1 万元 is `Amount(66_461_000)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Amount(pub i64);

/// Why a cell is not a number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("“{0}”不是数字 (not a number)")]
    NotANumber(String),
    #[error("“{0}”超出可表示范围 (out of range)")]
    OutOfRange(String),
}

impl Amount {
    pub const ZERO: Amount = Amount(0);

    /// The raw ten-thousandths, as stored.
    pub fn raw(self) -> i64 {
        self.0
    }

    /// As a float, for display and ratios only (never for comparisons at thresholds).
    pub fn to_f64(self) -> f64 {
        self.0 as f64 / SCALE as f64
    }

    pub fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// Parses a cell as officials type it: thousands separators (`59,346.0`), full-width digits
    /// (`１２３`), a leading sign, surrounding spaces. Returns `Ok(None)` for a blank cell and the
    /// dashes that mean "not reported" (`—`, `-`, `--`, `/`). The value is multiplied by
    /// `scale` (e.g. 0.1 for 千元 → 万元) and rounded half away from zero to four decimals.
    pub fn parse_cell(text: &str, scale: Scale) -> Result<Option<Amount>, AmountError> {
        // Most cells are plain ASCII: fold full-width characters only when there are any.
        let folded;
        let t = if text.is_ascii() {
            text.trim()
        } else {
            folded = normalize(text);
            folded.trim()
        };
        if t.is_empty() || matches!(t, "-" | "--" | "—" | "——" | "–" | "/" | "无" | "N/A" | "NA")
        {
            return Ok(None);
        }
        let bad = || AmountError::NotANumber(text.trim().to_string());
        let (negative, body) = match t.as_bytes()[0] {
            b'-' => (true, &t[1..]),
            b'+' => (false, &t[1..]),
            _ => (false, t),
        };
        // mantissa × 10^-decimals, exactly, in i128; then × scale and round to 10^-4.
        let (mut mantissa, mut decimals, mut digits, mut seen_point) = (0i128, 0u32, 0u32, false);
        for b in body.bytes() {
            match b {
                b'0'..=b'9' => {
                    if digits >= 30 {
                        return Err(AmountError::OutOfRange(text.trim().to_string()));
                    }
                    mantissa = mantissa * 10 + i128::from(b - b'0');
                    digits += u32::from(mantissa != 0);
                    decimals += u32::from(seen_point);
                }
                b'.' if !seen_point => seen_point = true,
                b',' | b' ' if !seen_point => {}
                _ => return Err(bad()),
            }
        }
        if body.bytes().all(|b| !b.is_ascii_digit()) {
            return Err(bad());
        }
        let exp = decimals + scale.exp;
        if exp > 36 {
            return Err(AmountError::OutOfRange(text.trim().to_string()));
        }
        let numerator = mantissa * scale.mantissa as i128 * 10_000;
        // Nearly every cell fits 64 bits, whose division is a machine instruction where
        // 128-bit division is a library call: the difference is seen in a large import.
        let q = match i64::try_from(numerator) {
            Ok(n) if exp <= 18 => {
                let d = 10_i64.pow(exp);
                i128::from(n / d + i64::from((n % d) * 2 >= d))
            }
            _ => {
                let d = 10_i128.pow(exp);
                numerator / d + i128::from((numerator % d) * 2 >= d)
            }
        };
        let q = if negative { -q } else { q };
        i64::try_from(q)
            .map(|v| Some(Amount(v)))
            .map_err(|_| AmountError::OutOfRange(text.trim().to_string()))
    }

    /// Parses a float cell (XLSX numbers) through its shortest exact decimal text.
    pub fn from_f64(value: f64, scale: Scale) -> Result<Option<Amount>, AmountError> {
        if !value.is_finite() {
            return Err(AmountError::NotANumber(value.to_string()));
        }
        Amount::parse_cell(&value.to_string(), scale)
    }
}

impl std::ops::Add for Amount {
    type Output = Amount;
    fn add(self, rhs: Amount) -> Amount {
        Amount(self.0 + rhs.0)
    }
}

impl std::ops::Sub for Amount {
    type Output = Amount;
    fn sub(self, rhs: Amount) -> Amount {
        Amount(self.0 - rhs.0)
    }
}

impl std::iter::Sum for Amount {
    fn sum<I: Iterator<Item = Amount>>(iter: I) -> Amount {
        Amount(iter.map(|a| a.0).sum())
    }
}

impl fmt::Display for Amount {
    /// Shortest exact decimal: `6646.1`, `12507`, `-3.25`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let (int, frac) = (abs / SCALE as u64, abs % SCALE as u64);
        if frac == 0 {
            write!(f, "{sign}{int}")
        } else {
            let frac = format!("{frac:04}");
            write!(f, "{sign}{int}.{}", frac.trim_end_matches('0'))
        }
    }
}

impl FromStr for Amount {
    type Err = AmountError;
    fn from_str(s: &str) -> Result<Amount, AmountError> {
        Amount::parse_cell(s, Scale::ONE)?.ok_or_else(|| AmountError::NotANumber(s.to_string()))
    }
}

impl serde::Serialize for Amount {
    /// Serialised as a JSON number with at most four decimals.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.to_f64())
    }
}

/// A decimal multiplier applied to a column on import, e.g. `0.1` for 千元 → 万元.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scale {
    mantissa: u64,
    exp: u32,
}

impl Scale {
    pub const ONE: Scale = Scale {
        mantissa: 1,
        exp: 0,
    };
    /// 千元 → 万元.
    pub const THOUSAND_TO_TEN_THOUSAND: Scale = Scale {
        mantissa: 1,
        exp: 1,
    };
    /// 元 → 万元.
    pub const ONE_TO_TEN_THOUSAND: Scale = Scale {
        mantissa: 1,
        exp: 4,
    };
    /// 万 → one (万千瓦时 → kWh).
    pub const TEN_THOUSAND: Scale = Scale {
        mantissa: 10_000,
        exp: 0,
    };
}

impl FromStr for Scale {
    type Err = AmountError;
    /// A positive decimal such as `0.1`, `1`, `0.0001` or `10000`.
    fn from_str(s: &str) -> Result<Scale, AmountError> {
        let bad = || AmountError::NotANumber(s.to_string());
        let (int, frac) = s.trim().split_once('.').unwrap_or((s.trim(), ""));
        let frac = frac.trim_end_matches('0');
        let mantissa: u64 = format!("{int}{frac}").parse().map_err(|_| bad())?;
        if mantissa == 0 || frac.len() > 8 {
            return Err(bad());
        }
        Ok(Scale {
            mantissa,
            exp: frac.len() as u32,
        })
    }
}

/// Folds full-width digits and punctuation (`１２，３４５．６`) to ASCII.
pub fn normalize(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '０'..='９' => char::from(b'0' + (c as u32 - '０' as u32) as u8),
            '，' => ',',
            '．' | '。' => '.',
            '－' | '−' => '-',
            '＋' => '+',
            '\u{3000}' | '\u{a0}' => ' ',
            _ => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Option<Amount> {
        Amount::parse_cell(s, Scale::ONE).unwrap()
    }

    #[test]
    fn reads_what_officials_type() {
        assert_eq!(p("6646.1"), Some(Amount(66_461_000)));
        assert_eq!(p("59,346.0"), Some(Amount(593_460_000)));
        assert_eq!(p("１２，３４５．６"), Some(Amount(123_456_000)));
        assert_eq!(p(" -3.25 "), Some(Amount(-32_500)));
        assert_eq!(p("0"), Some(Amount::ZERO));
        assert_eq!(p(".5"), Some(Amount(5_000)));
        for blank in ["", "  ", "—", "-", "--", "/"] {
            assert_eq!(p(blank), None, "{blank:?}");
        }
        for bad in ["abc", "1.2.3", "12a", "1e5", "- 3x", "."] {
            assert!(Amount::parse_cell(bad, Scale::ONE).is_err(), "{bad}");
        }
    }

    #[test]
    fn scales_thousand_yuan_exactly() {
        let s = Scale::THOUSAND_TO_TEN_THOUSAND;
        assert_eq!(
            Amount::parse_cell("776,733", s).unwrap(),
            Some(Amount(776_733_000))
        );
        assert_eq!(
            Amount::parse_cell("66461", s).unwrap().unwrap().to_string(),
            "6646.1"
        );
        assert_eq!("0.1".parse::<Scale>().unwrap(), s);
        // 0.12345 万元 rounds half away from zero to 0.1235 (one 元 and a half → two).
        assert_eq!(p("0.12345"), Some(Amount(1_235)));
        assert_eq!(p("-0.12345"), Some(Amount(-1_235)));
    }

    #[test]
    fn floats_from_spreadsheets_are_exact() {
        assert_eq!(
            Amount::from_f64(1027.11, Scale::ONE).unwrap(),
            Some(Amount(10_271_100))
        );
        assert_eq!(
            Amount::from_f64(0.1 + 0.2, Scale::ONE).unwrap(),
            Some(Amount(3_000))
        );
    }

    #[test]
    fn displays_shortest() {
        assert_eq!(Amount(66_461_000).to_string(), "6646.1");
        assert_eq!(Amount(125_070_000).to_string(), "12507");
        assert_eq!(Amount(-32_500).to_string(), "-3.25");
        assert_eq!(Amount(1).to_string(), "0.0001");
    }

    #[test]
    fn rounds_alike_on_both_sides_of_the_64_bit_path() {
        // Rounding half away from zero, in the 64-bit path and past it (a numerator beyond
        // i64, or a divisor beyond 10^18).
        assert_eq!(p("0.00005"), Some(Amount(1)));
        assert_eq!(p("-0.00005"), Some(Amount(-1)));
        assert_eq!(p("0.00004999"), Some(Amount(0)));
        assert_eq!(p("922337203685477.5807"), Some(Amount(i64::MAX)));
        assert_eq!(p("922337203685477.58065"), Some(Amount(i64::MAX)));
        assert_eq!(p("922337203685477.58064"), Some(Amount(i64::MAX - 1)));
        assert_eq!(p("0.0000000000000000000005"), Some(Amount(0)));
        assert_eq!(p("1.00000000000000000000005"), Some(Amount(10_000)));
        assert!(matches!(
            Amount::parse_cell("922337203685477.58075", Scale::ONE),
            Err(AmountError::OutOfRange(_))
        ));
    }

    #[test]
    fn rejects_overflow() {
        assert!(matches!(
            Amount::parse_cell("99999999999999999999999", Scale::ONE),
            Err(AmountError::OutOfRange(_))
        ));
    }
}
