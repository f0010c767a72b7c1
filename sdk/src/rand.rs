//! Randomness: WASI `random` inside the host, the OS natively (through `getrandom`).

use std::cell::RefCell;

/// Random bytes drawn from the host at a time for small requests: each
/// draw is a host call (~2 k instructions, as much as the rest of a UUID),
/// and SQS and EventBridge make a UUID per message. The pool starts empty
/// in every fresh instance, so no two instances share bytes; a reused
/// instance (one account, one plugin) goes on with its own.
const POOL: usize = 256;

/// Fills `buf` from the host in one call. getrandom's WASI backend calls
/// `get-random-u64` once per eight bytes (it avoids the list's allocation),
/// which made the pool no cheaper than a draw per UUID: two host calls,
/// ~1.3 k instructions, where one `get-random-bytes` now serves sixteen.
#[cfg(target_arch = "wasm32")]
fn draw(buf: &mut [u8]) {
    let bytes = wasip2::random::random::get_random_bytes(buf.len() as u64);
    match bytes.get(..buf.len()) {
        Some(b) => buf.copy_from_slice(b),
        // A host that answered short: the slow way rather than a panic.
        None => getrandom::fill(buf).expect("random source"),
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn draw(buf: &mut [u8]) {
    getrandom::fill(buf).expect("random source");
}

thread_local! {
    static POOLED: RefCell<(usize, [u8; POOL])> = const { RefCell::new((POOL, [0; POOL])) };
}

/// Fills `buf` with random bytes.
pub fn fill(buf: &mut [u8]) {
    if buf.len() > POOL / 4 {
        return draw(buf);
    }
    POOLED.with_borrow_mut(|(at, pool)| {
        if *at + buf.len() > POOL {
            draw(pool);
            *at = 0;
        }
        let taken = &mut pool[*at..*at + buf.len()];
        buf.copy_from_slice(taken);
        // Handed out once only.
        taken.fill(0);
        *at += buf.len();
    });
}

pub fn bytes(n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    fill(&mut v);
    v
}

pub fn u64() -> u64 {
    let mut b = [0; 8];
    fill(&mut b);
    u64::from_le_bytes(b)
}

pub fn u32() -> u32 {
    let mut b = [0; 4];
    fill(&mut b);
    u32::from_le_bytes(b)
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

/// `len` characters drawn uniformly from `alphabet` (ASCII, at most 256).
/// One random byte per character, bytes at or above the largest multiple
/// of the alphabet's size thrown away (no modulo bias); drawn in one call
/// for the whole string, not one per character (each is a host call).
pub fn string_from(alphabet: &[u8], len: usize) -> String {
    let n = alphabet.len();
    assert!((1..=256).contains(&n), "rand::string_from: alphabet of {n}");
    let zone = 256 - 256 % n;
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        // Enough for the rest in one draw but for rare throw-aways.
        let want = (len - out.len() + len / 2 + 4).min(buf.len());
        fill(&mut buf[..want]);
        for &b in &buf[..want] {
            if usize::from(b) < zone {
                out.push(char::from(alphabet[usize::from(b) % n]));
                if out.len() == len {
                    break;
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pooled_draws_do_not_repeat() {
        // Sizes that cross the pool's refills at varying offsets.
        let mut seen = std::collections::HashSet::new();
        for i in 0..2_000 {
            let mut b = vec![0u8; 8 + i % 9];
            fill(&mut b);
            assert!(seen.insert(b), "a draw came out twice");
        }
        let big = bytes(POOL);
        assert_ne!(big, vec![0; POOL]);
    }

    #[test]
    fn strings_use_the_whole_alphabet_evenly() {
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let s = string_from(alphabet, 62_000);
        assert_eq!(s.len(), 62_000);
        for &c in alphabet {
            // 1,000 expected, standard deviation ~31.
            let seen = s.bytes().filter(|&b| b == c).count();
            assert!(
                (800..1200).contains(&seen),
                "{} seen {seen} times",
                char::from(c)
            );
        }
        assert!(s.bytes().all(|b| alphabet.contains(&b)));
        assert_eq!(string_from(b"x", 3), "xxx");
        assert_eq!(string_from(alphabet, 0), "");
    }
}
