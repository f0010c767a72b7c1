//! Order-preserving key encoding: the bytewise order of an encoded key is
//! DynamoDB's order (numbers numerically, strings and binary bytewise).
//!
//! - Strings and binary: the bytes with every `00` written `00 FF`, then the
//!   terminator `00 01`; a prefix of the raw bytes is a prefix of the code
//!   (what `begins_with` scans).
//! - Numbers: `01` negative, `02` zero, `03` positive; then the exponent as a
//!   biased big-endian u16 and the digits as `d + 1` ending in `00`; for
//!   negatives both exponent and digits are inverted and the end is `FF`.

use crate::num::Num;

/// The escaped bytes of a string or binary, without the terminator.
pub fn escape(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + 2);
    for &b in bytes {
        out.push(b);
        if b == 0 {
            out.push(0xFF);
        }
    }
    out
}

pub fn bytes(bytes: &[u8]) -> Vec<u8> {
    let mut out = escape(bytes);
    out.extend_from_slice(&[0, 1]);
    out
}

pub fn number(n: &Num) -> Vec<u8> {
    if n.is_zero() {
        return vec![2];
    }
    let biased = (n.exp + 32768) as u16;
    if n.neg {
        let mut out = vec![1];
        out.extend_from_slice(&(0xFFFF - biased).to_be_bytes());
        out.extend(n.digits.iter().map(|d| 0xFE - d));
        out.push(0xFF);
        out
    } else {
        let mut out = vec![3];
        out.extend_from_slice(&biased.to_be_bytes());
        out.extend(n.digits.iter().map(|d| d + 1));
        out.push(0);
        out
    }
}

/// The smallest byte string greater than every string starting with `p`
/// (`None`: there is none, scan to the end).
pub fn successor(p: &[u8]) -> Option<Vec<u8>> {
    let mut v = p.to_vec();
    while let Some(last) = v.pop() {
        if last < 0xFF {
            v.push(last + 1);
            return Some(v);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Vec<u8> {
        number(&Num::parse(s).unwrap())
    }

    #[test]
    fn numbers_sort_numerically() {
        let vals = [
            "-1e125", "-100", "-10", "-9.99", "-1.5", "-1", "-0.5", "-0.05", "0", "1e-130", "0.05",
            "0.5", "1", "1.5", "2", "9.99", "10", "11", "100", "1e125",
        ];
        for w in vals.windows(2) {
            assert!(n(w[0]) < n(w[1]), "{} < {}", w[0], w[1]);
        }
        assert_eq!(n("1.0"), n("1"));
        assert_eq!(n("-0"), n("0"));
    }

    #[test]
    fn strings_and_binary_sort_bytewise_with_prefixes_first() {
        let vals: [&[u8]; 7] = [b"", b"\x00", b"\x00\x00", b"\x00\x01", b"a", b"ab", b"b"];
        for w in vals.windows(2) {
            assert!(bytes(w[0]) < bytes(w[1]), "{:?} < {:?}", w[0], w[1]);
        }
        assert!(bytes(b"\xff") > bytes(b"\xfe\xff"));
        assert!(bytes("é".as_bytes()) > bytes(b"z"));
    }

    #[test]
    fn a_raw_prefix_is_an_encoded_prefix() {
        assert!(bytes(b"abc").starts_with(&escape(b"ab")));
        assert!(bytes(b"a\x00b").starts_with(&escape(b"a\x00")));
        assert!(!bytes(b"ab").starts_with(&escape(b"abc")));
    }

    #[test]
    fn composite_keys_keep_the_partition_first() {
        let k = |p: &[u8], s: &str| [bytes(p), n(s)].concat();
        assert!(k(b"a", "100") < k(b"ab", "-5"));
        assert!(k(b"a", "-5") < k(b"a", "100"));
    }

    #[test]
    fn successor_bounds_every_extension() {
        let p = n("5");
        let s = successor(&p).unwrap();
        assert!(s > [p.clone(), vec![0xFF, 0xFF]].concat());
        assert!(s <= n("6"));
        assert_eq!(successor(&[1, 0xFF]), Some(vec![2]));
        assert_eq!(successor(&[0xFF]), None);
    }
}
