//! Sequence numbers: 56-digit decimal strings, like AWS's.
//!
//! `49` + shard index (10 digits) + per-shard counter (20 digits) + the
//! stream's creation time in ms (24 digits). Equal length, so text order is
//! numeric order; per shard they grow with the counter, and a child shard's
//! (higher index) are above its parents'. The counter of a shard's first
//! record is 1: counter 0 is the shard's starting sequence number.

use ministack_sdk::encoding::put_digits;

/// The sequence number of counter `counter` of shard `index`.
pub fn format(index: u32, counter: u64, stream_created_ms: u64) -> String {
    // Digit by digit: `format!` with padding cost ~2,000 wasm instructions,
    // once per record of a PutRecords.
    let mut out = [0; 56];
    out[..2].copy_from_slice(b"49");
    put_digits(&mut out[2..12], u64::from(index));
    put_digits(&mut out[12..32], counter);
    put_digits(&mut out[32..], stream_created_ms);
    String::from_utf8(out.to_vec()).expect("digits")
}

/// (shard index, counter) of a sequence number this plugin issued.
pub fn parse(seq: &str) -> Option<(u32, u64)> {
    if seq.len() != 56 || !seq.starts_with("49") || !seq.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let index = seq[2..12].parse().ok()?;
    let counter = seq[12..32].parse().ok()?;
    Some((index, counter))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_orders_as_text() {
        let a = format(3, 1, 1_700_000_000_000);
        let b = format(3, 2, 1_700_000_000_000);
        let c = format(4, 1, 1_700_000_000_000);
        assert_eq!(a.len(), 56);
        assert!(a < b && b < c);
        assert_eq!(parse(&b), Some((3, 2)));
        for (i, n, t) in [
            (0, 0, 0),
            (u32::MAX, u64::MAX, u64::MAX),
            (7, 42, 1_700_000_000_123),
        ] {
            assert_eq!(format(i, n, t), std::format!("49{i:010}{n:020}{t:024}"));
        }
        assert_eq!(parse("123"), None);
        assert_eq!(parse(&"9".repeat(56)), None);
    }
}
