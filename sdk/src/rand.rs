//! Randomness: WASI `random` inside the host (through `getrandom`), the OS natively.

/// Fills `buf` with random bytes.
pub fn fill(buf: &mut [u8]) {
    getrandom::fill(buf).expect("random source")
}

pub fn bytes(n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    fill(&mut v);
    v
}

pub fn u64() -> u64 {
    getrandom::u64().expect("random source")
}

pub fn u32() -> u32 {
    getrandom::u32().expect("random source")
}

/// Uniform in `0..n` (`n > 0`), without modulo bias.
pub fn below(n: u64) -> u64 {
    assert!(n > 0, "rand::below(0)");
    let zone = u64::MAX - (u64::MAX % n);
    loop {
        let v = u64();
        if v < zone {
            return v % n;
        }
    }
}

/// `len` characters drawn uniformly from `alphabet` (ASCII).
pub fn string_from(alphabet: &[u8], len: usize) -> String {
    let n = alphabet.len() as u64;
    (0..len)
        .map(|_| alphabet[below(n) as usize] as char)
        .collect()
}
