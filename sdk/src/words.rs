//! Eight bytes at a step: tests on a `u64` of bytes that let a scan skip
//! the words needing no closer look. In wasm a byte loop costs ~17–20
//! instructions a byte (wasmtime's epoch check and spills included).

/// The top bit of every byte.
pub const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

const ONES: u64 = 0x0101_0101_0101_0101;

/// Whether a byte of `w` is below `limit` (at most 0x80): the "has less
/// than" test of the bit-twiddling hacks, exact as a yes/no (a borrow only
/// crosses from a byte that already matched).
#[inline(always)]
pub fn any_byte_below(w: u64, limit: u8) -> bool {
    debug_assert!(limit <= 0x80);
    w.wrapping_sub(ONES * u64::from(limit)) & !w & HIGH_BITS != 0
}

/// Whether a byte of `w` is `b`.
#[inline(always)]
pub fn any_byte_is(w: u64, b: u8) -> bool {
    any_byte_below(w ^ (ONES * u64::from(b)), 1)
}

/// The lowercase hex digits of four bytes, in order, computed on one word:
/// each nibble spread into a byte of its own, then `'0'` added, and
/// `'a' - '0' - 10` more where the nibble is above 9. A table lookup a
/// nibble cost ~30 wasm instructions a byte (hashes' hex: SQS's
/// MD5OfMessageBody, message ids).
#[inline(always)]
pub fn hex4(bytes: [u8; 4]) -> [u8; 8] {
    // Byte i in the low byte of 16-bit lane i.
    let mut y = u64::from(u32::from_le_bytes(bytes));
    y = (y | y << 16) & 0x0000_ffff_0000_ffff;
    y = (y | y << 8) & 0x00ff_00ff_00ff_00ff;
    // Its high nibble first, then its low one: byte 2i, byte 2i+1.
    let n = (y >> 4) & 0x000f_000f_000f_000f | (y & 0x000f_000f_000f_000f) << 8;
    // Nibbles are at most 15: adding 6 carries into bit 4 exactly for 10–15.
    let letters = ((n + ONES * 6) >> 4) & ONES;
    (n + ONES * u64::from(b'0') + letters * u64::from(b'a' - b'0' - 10)).to_le_bytes()
}

/// Text its caller wrote as ASCII bytes (digits, hex, dashes) as a
/// `String`, without UTF-8's check: `String::from_utf8` walked a UUID's or
/// a key's digits a byte at a time, ~150–190 wasm instructions each.
///
/// # Safety
/// Every byte of `bytes` is ASCII.
pub(crate) unsafe fn ascii_string(bytes: Vec<u8>) -> String {
    debug_assert!(bytes.is_ascii(), "not ASCII: {bytes:?}");
    // SAFETY: ASCII is UTF-8 (the caller's promise).
    unsafe { String::from_utf8_unchecked(bytes) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex4_of_every_byte_in_every_place() {
        for b in 0..=255u8 {
            for at in 0..4 {
                let mut bytes = [0x5a; 4];
                bytes[at] = b;
                let want: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                assert_eq!(hex4(bytes), want.as_bytes(), "{bytes:?}");
            }
        }
    }

    #[test]
    fn every_byte_in_every_lane() {
        for fill in [0u8, 0x1f, 0x20, b'a', 0x7f, 0x80, 0xff] {
            for lane in 0..8 {
                for b in 0..=255u8 {
                    let mut word = [fill; 8];
                    word[lane] = b;
                    let w = u64::from_le_bytes(word);
                    assert_eq!(any_byte_below(w, 0x20), word.iter().any(|&x| x < 0x20));
                    assert_eq!(any_byte_is(w, b'"'), word.contains(&b'"'));
                }
            }
        }
    }
}
