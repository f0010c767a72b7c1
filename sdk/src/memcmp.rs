//! `memcmp` for plugins, eight bytes a step.
//!
//! Slice and string comparisons (`==`, `Ord`, map lookups by key) compile
//! to calls of `memcmp`, and wasi-libc's compares one byte a step, ~10 wasm
//! instructions a byte: ~130–240 instructions for the short names and keys
//! a plugin compares, ~23 k of an EventBridge PutEvents → SQS. Defined
//! here, it is the one every plugin links (the linker takes an archive's
//! member only for a symbol still undefined).

/// Compares `n` bytes of `a` and `b` as unsigned bytes: negative, zero or
/// positive as `a` sorts before, with or after `b`.
///
/// # Safety
/// `a` and `b` are readable for `n` bytes.
#[cfg(target_arch = "wasm32")]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    // SAFETY: every read lies within the first `n` bytes of `a` and `b`.
    unsafe { compare(a, b, n) }
}

/// [`memcmp`]'s body, also built natively for its tests.
///
/// # Safety
/// `a` and `b` are readable for `n` bytes.
#[cfg(any(target_arch = "wasm32", test))]
#[inline(always)]
unsafe fn compare(a: *const u8, b: *const u8, n: usize) -> i32 {
    // SAFETY (each read): within the first `n` bytes, as the caller promised.
    unsafe {
        let word = |p: *const u8, at: usize| p.add(at).cast::<u64>().read_unaligned();
        // The first differing byte of two little-endian words that differ.
        let differ = |x: u64, y: u64| {
            let shift = (x ^ y).trailing_zeros() & !7;
            i32::from((x >> shift) as u8) - i32::from((y >> shift) as u8)
        };
        if n >= 8 {
            let mut at = 0;
            while at + 8 < n {
                let (x, y) = (word(a, at), word(b, at));
                if x != y {
                    return differ(x, y);
                }
                at += 8;
            }
            // The last word ends at `n`, overlapping bytes already equal.
            let (x, y) = (word(a, n - 8), word(b, n - 8));
            return if x == y { 0 } else { differ(x, y) };
        }
        let mut at = 0;
        while at < n {
            let (x, y) = (*a.add(at), *b.add(at));
            if x != y {
                return i32::from(x) - i32::from(y);
            }
            at += 1;
        }
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(v: i32) -> i32 {
        v.signum()
    }

    #[test]
    fn orders_as_byte_slices_do() {
        let base: Vec<u8> = (0..40u8)
            .map(|i| i.wrapping_mul(37).wrapping_add(200))
            .collect();
        for n in 0..=base.len() {
            let a = &base[..n];
            // SAFETY: both are n bytes long.
            assert_eq!(unsafe { compare(a.as_ptr(), a.as_ptr(), n) }, 0);
            for at in 0..n {
                for by in [1u8, 0x80, 0xff] {
                    let mut b = a.to_vec();
                    b[at] = b[at].wrapping_add(by);
                    // SAFETY: both are n bytes long.
                    let got = unsafe { compare(a.as_ptr(), b.as_ptr(), n) };
                    assert_eq!(sign(got), a.cmp(&b[..]) as i32, "n {n} at {at} by {by}");
                    // A second difference later does not change the answer.
                    if at + 1 < n {
                        b[n - 1] ^= 0x55;
                        let got = unsafe { compare(a.as_ptr(), b.as_ptr(), n) };
                        assert_eq!(sign(got), a.cmp(&b[..]) as i32, "n {n} at {at} twice");
                    }
                }
            }
        }
    }
}
