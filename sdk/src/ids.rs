//! Identifiers in AWS's formats.

use crate::rand;

pub const LOWER_HEX: &[u8] = b"0123456789abcdef";
pub const UPPER_ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
pub const LOWER_ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
pub const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/// The alphabet of secret access keys.
pub const SECRET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Prefixes of IAM unique ids and access keys
/// (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-unique-ids>).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdPrefix {
    /// Long-term access key (IAM user, root).
    AccessKey,
    /// Temporary (STS) access key.
    TemporaryAccessKey,
    Role,
    User,
    ManagedPolicy,
    Group,
    InstanceProfile,
}

impl IdPrefix {
    pub fn as_str(self) -> &'static str {
        match self {
            IdPrefix::AccessKey => "AKIA",
            IdPrefix::TemporaryAccessKey => "ASIA",
            IdPrefix::Role => "AROA",
            IdPrefix::User => "AIDA",
            IdPrefix::ManagedPolicy => "ANPA",
            IdPrefix::Group => "AGPA",
            IdPrefix::InstanceProfile => "AIPA",
        }
    }
}

/// `n` lowercase hex characters.
pub fn hex(n: usize) -> String {
    rand::string_from(LOWER_HEX, n)
}

/// `n` characters of `[A-Za-z0-9]`.
pub fn alnum(n: usize) -> String {
    rand::string_from(ALNUM, n)
}

/// `n` characters of `[a-z0-9]`.
pub fn lower_alnum(n: usize) -> String {
    rand::string_from(LOWER_ALNUM, n)
}

/// `n` characters of `[A-Z0-9]`.
pub fn upper_alnum(n: usize) -> String {
    rand::string_from(UPPER_ALNUM, n)
}

/// An AWS-style id: the prefix and 16 uppercase letters and digits, e.g.
/// `AROA` + `3XFRBF535PLBIFPI` (20 characters, the length of an access key id).
pub fn aws_id(prefix: IdPrefix) -> String {
    format!("{}{}", prefix.as_str(), upper_alnum(16))
}

/// A 40-character secret access key.
pub fn secret_access_key() -> String {
    rand::string_from(SECRET, 40)
}

/// A random (version 4) UUID, lowercase: `8-4-4-4-12` hex digits.
pub fn uuid() -> String {
    let mut b = [0u8; 16];
    rand::fill(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    // Written straight into one buffer: SQS and EventBridge make one per
    // message (`String::push` checked the capacity per character).
    let mut out = [b'-'; 36];
    let digits = |at: usize| crate::words::hex4([b[at], b[at + 1], b[at + 2], b[at + 3]]);
    let (d0, d1, d2, d3) = (digits(0), digits(4), digits(8), digits(12));
    out[..8].copy_from_slice(&d0);
    out[9..13].copy_from_slice(&d1[..4]);
    out[14..18].copy_from_slice(&d1[4..]);
    out[19..23].copy_from_slice(&d2[..4]);
    out[24..28].copy_from_slice(&d2[4..]);
    out[28..].copy_from_slice(&d3);
    // SAFETY: hex4's digits (0-9, a-f) and dashes only.
    unsafe { crate::words::ascii_string(out.to_vec()) }
}

/// A request id as AWS writes them (a UUID).
pub fn request_id() -> String {
    uuid()
}

/// True for a 12-digit account id.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_ids_have_prefix_and_16_upper_alnum() {
        for p in [
            IdPrefix::AccessKey,
            IdPrefix::TemporaryAccessKey,
            IdPrefix::Role,
            IdPrefix::User,
            IdPrefix::ManagedPolicy,
            IdPrefix::Group,
            IdPrefix::InstanceProfile,
        ] {
            let id = aws_id(p);
            assert_eq!(id.len(), 20);
            assert!(id.starts_with(p.as_str()));
            assert!(id[4..].bytes().all(|b| UPPER_ALNUM.contains(&b)));
        }
        assert_eq!(aws_id(IdPrefix::Role)[..4], *"AROA");
    }

    #[test]
    fn secrets_and_uuids() {
        let s = secret_access_key();
        assert_eq!(s.len(), 40);
        let u = uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"));
        assert_eq!(u.matches('-').count(), 4);
        for (i, c) in u.char_indices() {
            match i {
                8 | 13 | 18 | 23 => assert_eq!(c, '-', "{u}"),
                _ => assert!(c.is_ascii_hexdigit() && !c.is_ascii_uppercase(), "{u}"),
            }
        }
        assert_ne!(uuid(), uuid());
        assert_eq!(hex(7).len(), 7);
        assert!(is_account_id("123456789012"));
        assert!(!is_account_id("12345678901a"));
    }
}
