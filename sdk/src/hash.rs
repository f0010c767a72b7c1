//! Digests services put in their responses (SQS `MD5OfMessageBody`, SAML
//! `NameQualifier`, ETags). Hex or raw bytes.

use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::words::hex4;

pub fn md5(data: &[u8]) -> [u8; 16] {
    Md5::digest(data).into()
}

pub fn sha1(data: &[u8]) -> [u8; 20] {
    Sha1::digest(data).into()
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// Lowercase hex of bytes, four at a step ([`crate::words::hex4`]):
/// `hex::encode_to_slice`, or a table lookup a nibble, cost 30–55 wasm
/// instructions a byte, a quarter of SQS's MD5OfMessageBody.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = Vec::with_capacity(bytes.len() * 2);
    let mut words = bytes.chunks_exact(4);
    for w in &mut words {
        out.extend_from_slice(&hex4([w[0], w[1], w[2], w[3]]));
    }
    for &b in words.remainder() {
        out.extend_from_slice(&hex4([b, 0, 0, 0])[..2]);
    }
    // SAFETY: hex4 writes only the digits 0-9 and a-f.
    unsafe { crate::words::ascii_string(out) }
}

pub fn md5_hex(data: &[u8]) -> String {
    hex(&md5(data))
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex(&sha256(data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_of_any_length() {
        for len in [0, 1, 16, 31, 32, 33, 64, 100] {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let want: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(hex(&bytes), want);
        }
    }

    #[test]
    fn known_digests() {
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(
            hex(&sha1(b"abc")),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
