//! The 128-bit hash key space: a partition key's MD5 as a big-endian
//! integer picks the shard whose range holds it.

/// The hash key of a partition key.
pub fn of_partition_key(key: &str) -> u128 {
    u128::from_be_bytes(ministack_sdk::hash::md5(key.as_bytes()))
}

/// A decimal hash key (`ExplicitHashKey`, `NewStartingHashKey`); None when
/// it is not an integer in 0..2^128.
pub fn parse(key: &str) -> Option<u128> {
    if key.is_empty() || !key.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    key.parse().ok()
}

/// The `count` even ranges of the key space, as AWS lays out a new stream:
/// range i starts at floor(2^128 * i / count).
pub fn uniform(count: u32) -> Vec<(u128, u128)> {
    let n = count.max(1) as u128;
    let q = u128::MAX / n;
    let r = u128::MAX % n;
    let start = |i: u128| -> u128 { q * i + ((r + 1) * i) / n };
    (0..n)
        .map(|i| {
            let end = if i + 1 == n {
                u128::MAX
            } else {
                start(i + 1) - 1
            };
            (start(i), end)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_shards_split_the_space_like_aws() {
        let r = uniform(4);
        assert_eq!(r[0], (0, 85070591730234615865843651857942052863));
        assert_eq!(r[1].0, 85070591730234615865843651857942052864);
        assert_eq!(r[3].1, u128::MAX);
        let three = uniform(3);
        assert_eq!(three[1].0, three[0].1 + 1);
        assert_eq!(three[2].1, u128::MAX);
        assert_eq!(uniform(1), vec![(0, u128::MAX)]);
    }

    #[test]
    fn partition_keys_hash_with_md5() {
        // md5("a") = 0cc175b9c0f1b6a831c399e269772661
        assert_eq!(
            of_partition_key("a"),
            0x0cc175b9c0f1b6a831c399e269772661u128
        );
        assert_eq!(
            parse("340282366920938463463374607431768211455"),
            Some(u128::MAX)
        );
        assert_eq!(parse("340282366920938463463374607431768211456"), None);
        assert_eq!(parse("-1"), None);
    }
}
