//! The console's secrets: sign-in tokens and session ids are 32 random bytes from the operating
//! system, given out as base64url and stored only as their SHA-256; the CSRF token of a session
//! is derived from its id, so it needs no storage and cannot be forged without the cookie.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// A fresh random secret (32 bytes, base64url without padding: 43 characters).
pub fn random() -> anyhow::Result<String> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(|e| {
        anyhow::anyhow!("无法取得系统随机数 (cannot read the system's random source): {e}")
    })?;
    Ok(URL_SAFE_NO_PAD.encode(b))
}

/// The stored form of a token or session id: hex SHA-256.
pub fn hash(secret: &str) -> String {
    format!("{:x}", Sha256::digest(secret.as_bytes()))
}

/// The CSRF token of the session whose id is `session_id` (or of an anonymous form's cookie).
pub fn csrf_for(session_id: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"indmon console csrf\0");
    h.update(session_id.as_bytes());
    URL_SAFE_NO_PAD.encode(h.finalize())
}

/// Compares two tokens in time independent of where they differ.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Whether `s` has the shape of a secret from [`random`] (so garbage is refused before SQL).
pub fn well_formed(s: &str) -> bool {
    s.len() == 43
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_well_formed_and_hashed() {
        let a = random().expect("random");
        let b = random().expect("random");
        assert_ne!(a, b);
        assert!(well_formed(&a), "{a}");
        assert!(!well_formed("short"));
        assert_eq!(hash(&a).len(), 64);
        assert_ne!(hash(&a), a);
        assert!(same(&csrf_for(&a), &csrf_for(&a)));
        assert!(!same(&csrf_for(&a), &csrf_for(&b)));
        assert!(!same("abc", "abcd"));
    }
}
