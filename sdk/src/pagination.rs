//! Opaque pagination tokens: base64 (URL-safe, unpadded) of the last key
//! returned, so a token survives query strings unescaped.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

pub fn encode(last_key: &str) -> String {
    URL_SAFE_NO_PAD.encode(last_key.as_bytes())
}

/// The key in a token, or `None` for a token we did not issue.
pub fn decode(token: &str) -> Option<String> {
    let bytes = URL_SAFE_NO_PAD.decode(token.trim_end_matches('=')).ok()?;
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trip() {
        let t = super::encode("queue\0orders/\u{e9}");
        assert!(!t.contains('+') && !t.contains('/') && !t.contains('='));
        assert_eq!(super::decode(&t).as_deref(), Some("queue\0orders/\u{e9}"));
        assert_eq!(super::decode("***"), None);
    }
}
