//! Base64 for the few API members that are base64 text by definition (a SAML
//! assertion, a JWT's segments, a session token). Blob members need none of
//! this: the host's codec already turns them into base64 strings in JSON.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

pub fn base64_encode(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Standard base64, padding optional, whitespace ignored (MIME-wrapped input).
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let clean: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    STANDARD.decode(clean.as_bytes()).ok().or_else(|| {
        base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(clean.trim_end_matches('='))
            .ok()
    })
}

pub fn base64url_encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// URL-safe base64 (JWT segments), padding optional.
pub fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        assert_eq!(base64_decode(&base64_encode(b"hello?")).unwrap(), b"hello?");
        assert_eq!(base64_decode("aGVs\nbG8=").unwrap(), b"hello");
        assert_eq!(base64_decode("aGVsbG8").unwrap(), b"hello");
        assert_eq!(
            base64url_decode(&base64url_encode(b"\xfb\xff")).unwrap(),
            b"\xfb\xff"
        );
        assert!(base64_decode("@@@").is_none());
    }
}
