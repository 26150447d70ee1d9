//! 钉钉 加签: `sign = urlencode(base64(HMAC-SHA256(key = secret, timestamp + "\n" + secret)))`,
//! the timestamp in milliseconds and within an hour of DingTalk's clock, both appended to the
//! webhook URL (../shared/reference/group_robots.md §1.2). Signed afresh for every request.

use base64::Engine;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// The signature in base64, before URL encoding (the URL's query encoder encodes it once).
/// HMAC takes keys of any length, so the error is never seen in practice.
pub fn dingtalk_sign(timestamp_ms: i64, secret: &SecretString) -> Result<String, String> {
    let secret = secret.expose_secret();
    let to_sign = format!("{timestamp_ms}\n{secret}");
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .map_err(|_| "HMAC 密钥无效 (invalid HMAC key)".to_string())?;
    mac.update(to_sign.as_bytes());
    Ok(base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()))
}

/// The webhook URL with `timestamp` and `sign` appended, URL-encoded exactly once.
pub fn signed_url(
    webhook: &reqwest::Url,
    timestamp_ms: i64,
    secret: &SecretString,
) -> Result<reqwest::Url, String> {
    let sign = dingtalk_sign(timestamp_ms, secret)?;
    let mut u = webhook.clone();
    u.query_pairs_mut()
        .append_pair("timestamp", &timestamp_ms.to_string())
        .append_pair("sign", &sign);
    Ok(u)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vector of group_robots.md §1.2 (computed there with Python's hmac, hashlib, base64).
    #[test]
    fn signs_the_reference_vector() {
        let secret = SecretString::from("SECexample0123456789");
        assert_eq!(
            dingtalk_sign(1_700_000_000_000, &secret).expect("sign"),
            "figG6qqCA/lRh0hsGCW2zNtNV5znkAFut5BI0zKhqnQ="
        );
        let hook = reqwest::Url::parse("https://oapi.dingtalk.com/robot/send?access_token=XXX")
            .expect("url");
        assert_eq!(
            signed_url(&hook, 1_700_000_000_000, &secret)
                .expect("sign")
                .as_str(),
            "https://oapi.dingtalk.com/robot/send?access_token=XXX&timestamp=1700000000000\
             &sign=figG6qqCA%2FlRh0hsGCW2zNtNV5znkAFut5BI0zKhqnQ%3D"
        );
    }
}
