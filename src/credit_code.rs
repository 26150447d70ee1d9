//! The enterprise identifier: the 18-character unified social credit code
//! (统一社会信用代码, GB 32100-2015), whose last character is a check character.

use std::fmt;
use std::str::FromStr;

/// The 31 characters a credit code may use (no I, O, S, V, Z), in value order.
const CHARSET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
/// Position weights of GB 32100-2015 (3^i mod 31).
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// A verified credit code, upper case: its 18 ASCII characters, held inline (an import makes
/// one for every row it reads).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct CreditCode([u8; 18]);

/// Why a text is not a credit code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreditCodeError {
    #[error("统一社会信用代码“{0}”应为18位 (credit code must have 18 characters, has {1})")]
    Length(String, usize),
    #[error("统一社会信用代码“{0}”第{1}位“{2}”不是允许的字符 (character not allowed)")]
    Character(String, usize, char),
    #[error("统一社会信用代码“{0}”校验位错误，应为“{1}” (check character wrong, expected {1})")]
    Check(String, char),
}

impl CreditCode {
    pub fn as_str(&self) -> &str {
        // Only checked ASCII is ever stored.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The code's 18 characters.
    pub fn as_bytes(&self) -> &[u8; 18] {
        &self.0
    }

    /// The check character for the first 17 characters (which must be valid charset bytes).
    pub fn check_char(first17: &[u8]) -> Option<char> {
        let mut sum = 0u32;
        for (i, b) in first17.iter().take(17).enumerate() {
            let v = CHARSET.iter().position(|c| c == b)? as u32;
            sum += v * WEIGHTS[i];
        }
        Some(CHARSET[((31 - sum % 31) % 31) as usize] as char)
    }

    /// Completes 17 characters with their check character; used by the demo generator.
    pub fn with_check(first17: &str) -> Option<CreditCode> {
        let c = CreditCode::check_char(first17.as_bytes())?;
        let mut code = [0u8; 18];
        code[..17].copy_from_slice(first17.as_bytes().get(..17)?);
        code[17] = c as u8;
        (first17.len() == 17).then_some(CreditCode(code))
    }
}

/// A code hashes as two integers, its first 16 bytes and its last 2. Hashed as a byte string
/// (the derived hash) it went down foldhash's path for long strings, and a set of half a
/// million codes took four to six times as long to build.
impl std::hash::Hash for CreditCode {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let mut head = [0u8; 16];
        head.copy_from_slice(&self.0[..16]);
        state.write_u128(u128::from_le_bytes(head));
        state.write_u16(u16::from_le_bytes([self.0[16], self.0[17]]));
    }
}

impl FromStr for CreditCode {
    type Err = CreditCodeError;

    fn from_str(s: &str) -> Result<CreditCode, CreditCodeError> {
        // The common case, 18 valid ASCII characters, without an allocation.
        let trimmed = s.trim();
        if let Ok(bytes) = <[u8; 18]>::try_from(trimmed.as_bytes()) {
            let code = bytes.map(|b| b.to_ascii_uppercase());
            if code.iter().all(|b| CHARSET.contains(b))
                && CreditCode::check_char(&code[..17]) == Some(code[17] as char)
            {
                return Ok(CreditCode(code));
            }
        }
        let t = crate::amount::normalize(s).trim().to_ascii_uppercase();
        let n = t.chars().count();
        if n != 18 {
            return Err(CreditCodeError::Length(t, n));
        }
        if let Some((i, c)) = t
            .chars()
            .enumerate()
            .find(|(_, c)| !c.is_ascii() || !CHARSET.contains(&(*c as u8)))
        {
            return Err(CreditCodeError::Character(t.clone(), i + 1, c));
        }
        let expected = CreditCode::check_char(&t.as_bytes()[..17]).unwrap_or('?');
        let mut code = [0u8; 18];
        code.copy_from_slice(t.as_bytes());
        if code[17] as char != expected {
            return Err(CreditCodeError::Check(t, expected));
        }
        Ok(CreditCode(code))
    }
}

impl serde::Serialize for CreditCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl fmt::Display for CreditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for CreditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CreditCode({})", self.as_str())
    }
}

/// Whether a text looks like an attempt at a credit code (18 characters of letters and digits),
/// as opposed to a label such as 合计 or a note under a table.
pub fn looks_like_code(text: &str) -> bool {
    let t = text.trim();
    t.len() == 18 && t.bytes().all(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lower_case_and_padded_codes_are_read_as_upper_case() {
        let c: CreditCode = " 9133078152601815xt ".parse().unwrap();
        assert_eq!(c.as_str(), "9133078152601815XT");
        assert_eq!(c.as_bytes(), b"9133078152601815XT");
        // Full-width characters take the slower path to the same code.
        let c: CreditCode = "９133078152601815XT".parse().unwrap();
        assert_eq!(c.to_string(), "9133078152601815XT");
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"9133078152601815XT\"");
        assert!(matches!(
            "9133078152601815XA".parse::<CreditCode>(),
            Err(CreditCodeError::Check(..))
        ));
        assert!(matches!(
            "913307815260181IXT".parse::<CreditCode>(),
            Err(CreditCodeError::Character(..))
        ));
        assert_eq!(
            CreditCode::with_check("9133078152601815X").map(|c| c.to_string()),
            Some("9133078152601815XT".to_string())
        );
        assert_eq!(CreditCode::with_check("9133078152601815"), None);
        assert_eq!(CreditCode::with_check("9133078152601815XT"), None);
    }

    #[test]
    fn accepts_valid_codes() {
        for c in [
            "9133078152601815XT",
            "913307811860913921",
            "91330781462819483E",
            "91350100M000100Y43",
        ] {
            assert_eq!(c.parse::<CreditCode>().unwrap().as_str(), c);
        }
        // Lower case and full-width spaces are folded.
        assert!(" 9133078152601815xt　".parse::<CreditCode>().is_ok());
    }

    #[test]
    fn names_what_is_wrong() {
        assert!(matches!(
            "9133078152601815XU".parse::<CreditCode>(),
            Err(CreditCodeError::Check(_, 'T'))
        ));
        assert!(matches!(
            "9133078152601815X".parse::<CreditCode>(),
            Err(CreditCodeError::Length(_, 17))
        ));
        assert!(matches!(
            "9133078152601815IT".parse::<CreditCode>(),
            Err(CreditCodeError::Character(_, 17, 'I'))
        ));
        let msg = "9133078152601815XU"
            .parse::<CreditCode>()
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("校验位") && msg.contains("expected T"),
            "{msg}"
        );
    }

    #[test]
    fn completes_a_code() {
        assert_eq!(
            CreditCode::with_check("9133078152601815X")
                .unwrap()
                .as_str(),
            "9133078152601815XT"
        );
    }
}
