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

/// Writes `n` in decimal into all of `out`, zero-padded (its last digits
/// when `n` is wider). By hand: a padded `format!` costs ~1,000 wasm
/// instructions, and keys, timestamps and sequence numbers are built per
/// row.
pub fn put_digits(out: &mut [u8], mut n: u64) {
    // Two digits a division: wasm has no 64-bit multiply-high, so each is
    // a real `div` (an SQS send writes four 20-digit keys per message).
    let mut end = out.len();
    while end >= 2 {
        let pair = 2 * (n % 100) as usize;
        n /= 100;
        out[end - 2..end].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
        end -= 2;
    }
    if end == 1 {
        out[0] = b'0' + (n % 10) as u8;
    }
}

const DIGIT_PAIRS: &[u8; 200] = b"\
0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

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

    #[test]
    fn digits_are_zero_padded_or_cut_to_the_width() {
        let mut out = [b'x'; 6];
        put_digits(&mut out, 42);
        assert_eq!(&out, b"000042");
        put_digits(&mut out[..3], 12_345);
        assert_eq!(&out, b"345042", "the last digits when wider");
        let mut full = [0; 20];
        put_digits(&mut full, u64::MAX);
        assert_eq!(&full, b"18446744073709551615");
        // Every width, odd and even, against format!.
        for n in [0u64, 7, 10, 99, 100, 12_345, 987_654_321, u64::MAX - 1] {
            for width in 0..=21 {
                let mut out = vec![b'x'; width];
                put_digits(&mut out, n);
                let padded = format!("{n:021}");
                assert_eq!(out, padded.as_bytes()[21 - width..], "{n} in {width}");
            }
        }
    }
}
