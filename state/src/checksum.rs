//! The digests S3 reports for an object: MD5 (the ETag of a single-part
//! upload, hex) and the `x-amz-checksum-*` family (base64 of the big-endian
//! digest): CRC32, CRC32C, SHA1, SHA256, CRC64NVME.
//!
//! [`Digests`] is fed while bytes stream in; [`Digest`] is the finished set.
//! [`verify_header`] and [`content_md5_matches`] let the host check the
//! checksums a client sent against a finished blob.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use md5::Digest as _;

/// CRC-64/NVME (the polynomial S3 calls CRC64NVME), slice-by-16 tables.
const CRC64_NVME: crc::Crc<u64, crc::Table<16>> =
    crc::Crc::<u64, crc::Table<16>>::new(&crc::CRC_64_NVME);

/// Slices at least this long are hashed on two threads.
const PARALLEL_BYTES: usize = 256 * 1024;

/// The names S3 uses for its checksum algorithms, in the order [`Digest::checksums`] lists them.
pub const ALGORITHMS: [&str; 5] = ["CRC32", "CRC32C", "SHA1", "SHA256", "CRC64NVME"];

/// Running digests over a stream of bytes.
pub struct Digests {
    md5: md5::Md5,
    crc32: crc32fast::Hasher,
    crc32c: u32,
    sha1: sha1::Sha1,
    sha256: sha2::Sha256,
    crc64: crc::Digest<'static, u64, crc::Table<16>>,
    len: u64,
}

impl Default for Digests {
    fn default() -> Self {
        Self::new()
    }
}

impl Digests {
    pub fn new() -> Self {
        Self {
            md5: md5::Md5::new(),
            crc32: crc32fast::Hasher::new(),
            crc32c: 0,
            sha1: sha1::Sha1::new(),
            sha256: sha2::Sha256::new(),
            crc64: CRC64_NVME.digest(),
            len: 0,
        }
    }

    /// Feeds bytes. A large slice is hashed on two threads (MD5 and the CRCs
    /// here, SHA1 and SHA256 on a scoped helper): MD5 alone is the slowest
    /// digest, so this nearly halves the wall time of a big upload.
    pub fn update(&mut self, bytes: &[u8]) {
        let Self {
            md5,
            crc32,
            crc32c,
            sha1,
            sha256,
            crc64,
            len,
        } = self;
        *len += bytes.len() as u64;
        let mut rest = || {
            md5.update(bytes);
            crc32.update(bytes);
            *crc32c = crc32c::crc32c_append(*crc32c, bytes);
            crc64.update(bytes);
        };
        if bytes.len() >= PARALLEL_BYTES {
            let spawned = std::thread::scope(|s| {
                let helper = std::thread::Builder::new().spawn_scoped(s, || {
                    sha1.update(bytes);
                    sha256.update(bytes);
                });
                rest();
                match helper {
                    Ok(h) => h.join().map_err(std::panic::resume_unwind).is_ok(),
                    Err(_) => false,
                }
            });
            if spawned {
                return;
            }
        } else {
            rest();
        }
        sha1.update(bytes);
        sha256.update(bytes);
    }

    /// Bytes seen so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn finish(self) -> Digest {
        Digest {
            size: self.len,
            md5: self.md5.finalize().into(),
            crc32: self.crc32.finalize(),
            crc32c: self.crc32c,
            sha1: self.sha1.finalize().into(),
            sha256: self.sha256.finalize().into(),
            crc64nvme: self.crc64.finalize(),
        }
    }

    /// The digests of `bytes` in one go.
    pub fn of(bytes: &[u8]) -> Digest {
        let mut d = Self::new();
        d.update(bytes);
        d.finish()
    }
}

/// The finished digests of a byte string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Digest {
    pub size: u64,
    pub md5: [u8; 16],
    pub crc32: u32,
    pub crc32c: u32,
    pub sha1: [u8; 20],
    pub sha256: [u8; 32],
    pub crc64nvme: u64,
}

/// Length of [`Digest::to_bytes`].
pub const DIGEST_BYTES: usize = 8 + 16 + 4 + 4 + 20 + 32 + 8;

impl Digest {
    pub fn md5_hex(&self) -> String {
        hex::encode(self.md5)
    }

    /// The base64 value S3 reports in `x-amz-checksum-<algorithm>`.
    /// `algorithm` is one of [`ALGORITHMS`], in any case.
    pub fn checksum(&self, algorithm: &str) -> Option<String> {
        let value = match algorithm.to_ascii_uppercase().as_str() {
            "CRC32" => BASE64.encode(self.crc32.to_be_bytes()),
            "CRC32C" => BASE64.encode(self.crc32c.to_be_bytes()),
            "SHA1" => BASE64.encode(self.sha1),
            "SHA256" => BASE64.encode(self.sha256),
            "CRC64NVME" => BASE64.encode(self.crc64nvme.to_be_bytes()),
            _ => return None,
        };
        Some(value)
    }

    /// (algorithm, base64) for every algorithm, as in [`crate::blobs::BlobInfo`].
    pub fn checksums(&self) -> Vec<(String, String)> {
        ALGORITHMS
            .iter()
            .map(|a| (a.to_string(), self.checksum(a).unwrap_or_default()))
            .collect()
    }

    /// A fixed-size binary form (stored in a blob file's trailer).
    pub fn to_bytes(&self) -> [u8; DIGEST_BYTES] {
        let mut out = [0u8; DIGEST_BYTES];
        let mut at = 0;
        let mut put = |b: &[u8]| {
            out[at..at + b.len()].copy_from_slice(b);
            at += b.len();
        };
        put(&self.size.to_be_bytes());
        put(&self.md5);
        put(&self.crc32.to_be_bytes());
        put(&self.crc32c.to_be_bytes());
        put(&self.sha1);
        put(&self.sha256);
        put(&self.crc64nvme.to_be_bytes());
        out
    }

    pub fn from_bytes(b: &[u8; DIGEST_BYTES]) -> Self {
        let mut at = 0;
        let mut take = |n: usize| {
            let s = &b[at..at + n];
            at += n;
            s
        };
        let size = u64::from_be_bytes(take(8).try_into().unwrap_or_default());
        let md5 = take(16).try_into().unwrap_or_default();
        let crc32 = u32::from_be_bytes(take(4).try_into().unwrap_or_default());
        let crc32c = u32::from_be_bytes(take(4).try_into().unwrap_or_default());
        let sha1 = take(20).try_into().unwrap_or_default();
        let sha256 = take(32).try_into().unwrap_or_default();
        let crc64nvme = u64::from_be_bytes(take(8).try_into().unwrap_or_default());
        Self {
            size,
            md5,
            crc32,
            crc32c,
            sha1,
            sha256,
            crc64nvme,
        }
    }
}

/// The algorithm named by a `x-amz-checksum-<algorithm>` header, upper case.
pub fn algorithm_of_header(header: &str) -> Option<&'static str> {
    let suffix = header.to_ascii_lowercase();
    let suffix = suffix.strip_prefix("x-amz-checksum-")?;
    ALGORITHMS
        .iter()
        .copied()
        .find(|a| a.eq_ignore_ascii_case(suffix))
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChecksumError {
    /// S3: InvalidRequest / BadDigest depending on the header.
    #[error("the {algorithm} checksum you specified did not match the calculated checksum")]
    Mismatch { algorithm: String },
    #[error("unknown checksum header {0}")]
    UnknownAlgorithm(String),
}

/// Checks a `x-amz-checksum-*` request header against a finished blob's
/// checksums (`checksums` as in `BlobInfo::checksums`).
pub fn verify_header(
    checksums: &[(String, String)],
    header: &str,
    value: &str,
) -> Result<(), ChecksumError> {
    let algorithm = algorithm_of_header(header)
        .ok_or_else(|| ChecksumError::UnknownAlgorithm(header.to_string()))?;
    let ours = checksums
        .iter()
        .find(|(a, _)| a.eq_ignore_ascii_case(algorithm))
        .map(|(_, v)| v.as_str());
    if ours == Some(value.trim()) {
        Ok(())
    } else {
        Err(ChecksumError::Mismatch {
            algorithm: algorithm.to_string(),
        })
    }
}

/// Whether a `Content-MD5` header (base64 of the 16-byte digest) matches
/// `md5_hex`. A header that is not valid base64 of 16 bytes does not match
/// (S3 answers InvalidDigest for that; BadDigest for a mismatch).
pub fn content_md5_matches(md5_hex: &str, header_b64: &str) -> bool {
    match BASE64.decode(header_b64.trim()) {
        Ok(raw) if raw.len() == 16 => hex::encode(raw).eq_ignore_ascii_case(md5_hex),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64_be32(v: u32) -> String {
        BASE64.encode(v.to_be_bytes())
    }

    #[test]
    fn check_values_of_the_crc_catalogue() {
        // The standard "123456789" check values (crc catalogue / RFC 3720).
        let d = Digests::of(b"123456789");
        assert_eq!(d.crc32, 0xCBF4_3926);
        assert_eq!(d.crc32c, 0xE306_9283);
        assert_eq!(d.crc64nvme, 0xAE8B_1486_0A79_9888);
        assert_eq!(d.checksum("crc32").unwrap(), b64_be32(0xCBF4_3926));
        assert_eq!(
            d.checksum("CRC64NVME").unwrap(),
            BASE64.encode(0xAE8B_1486_0A79_9888u64.to_be_bytes())
        );
        // RFC 3720 B.4: 32 bytes of zeros.
        assert_eq!(Digests::of(&[0u8; 32]).crc32c, 0x8A91_36AA);
    }

    #[test]
    fn matches_botocore() {
        // python3 -c 'import botocore.httpchecksum as h; c=h.Crc32Checksum(); c.update(b"Hello world"); ...'
        let d = Digests::of(b"Hello world");
        assert_eq!(d.checksum("CRC32").unwrap(), "i9aeUg==");
        assert_eq!(d.checksum("SHA1").unwrap(), "e1AsOh9IyGCa4hLN+2Od7jlnP14=");
        assert_eq!(
            d.checksum("SHA256").unwrap(),
            "ZOyIygCyaOW6GjVnihtTFtIS9PNmskdyMlNKiuyjfzw="
        );
        assert_eq!(d.md5_hex(), "3e25960a79dbc69b674cd4ec67a72c62");
        assert_eq!(
            Digests::of(b"").checksum("SHA256").unwrap(),
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
        assert_eq!(
            Digests::of(b"").md5_hex(),
            "d41d8cd98f00b204e9800998ecf8427e"
        );
    }

    #[test]
    fn streaming_equals_one_shot_and_round_trips() {
        // Above PARALLEL_BYTES: the one-shot digest takes the two-thread path.
        let data: Vec<u8> = (0..600_000u32).map(|i| (i * 7 + i / 13) as u8).collect();
        let mut d = Digests::new();
        for piece in data.chunks(777) {
            d.update(piece);
        }
        let streamed = d.finish();
        assert_eq!(streamed, Digests::of(&data));
        assert_eq!(streamed.size, 600_000);
        assert_eq!(Digest::from_bytes(&streamed.to_bytes()), streamed);
    }

    #[test]
    fn verifies_request_headers() {
        let d = Digests::of(b"Hello world");
        let sums = d.checksums();
        assert_eq!(sums.len(), 5);
        assert!(verify_header(&sums, "x-amz-checksum-crc32", "i9aeUg==").is_ok());
        assert!(verify_header(&sums, "X-Amz-Checksum-CRC32", "i9aeUg==").is_ok());
        assert_eq!(
            verify_header(&sums, "x-amz-checksum-sha1", "AAAA"),
            Err(ChecksumError::Mismatch {
                algorithm: "SHA1".into()
            })
        );
        assert!(matches!(
            verify_header(&sums, "x-amz-checksum-md7", "x"),
            Err(ChecksumError::UnknownAlgorithm(_))
        ));
        let md5_b64 = BASE64.encode(d.md5);
        assert!(content_md5_matches(&d.md5_hex(), &md5_b64));
        assert!(!content_md5_matches(&d.md5_hex(), "bm90IGFuIG1kNQ=="));
        assert!(!content_md5_matches(&d.md5_hex(), "%%%"));
    }
}
