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

#[cfg(test)]
mod tests {
    use super::*;

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
