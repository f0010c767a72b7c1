//! The digests S3 reports for an object: MD5 (the ETag of a single-part
//! upload, hex) and the `x-amz-checksum-*` family (base64 of the big-endian
//! digest): CRC32, CRC32C, SHA1, SHA256, CRC64NVME.
//!
//! [`Digests`] is fed while bytes stream in; [`Digest`] is the finished set.
//! [`verify_header`] and [`content_md5_matches`] let the host check the
//! checksums a client sent against a finished blob.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

/// The names S3 uses for its checksum algorithms, in the order [`Digest::checksums`] lists them.
pub const ALGORITHMS: [&str; 5] = ["CRC32", "CRC32C", "SHA1", "SHA256", "CRC64NVME"];

/// Which of [`ALGORITHMS`] a blob's digests include (MD5 always is: it is
/// the ETag). One bit per algorithm, in [`ALGORITHMS`] order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Algorithms(u8);

impl Algorithms {
    pub const ALL: Self = Self(0b1_1111);
    pub const NONE: Self = Self(0);
    /// CRC64NVME only: what S3 stores for an upload that names no checksum.
    pub const DEFAULT: Self = Self(1 << 4);

    /// These plus `algorithm` (any case); unknown names add nothing.
    pub fn with(self, algorithm: &str) -> Self {
        match index_of(algorithm.trim()) {
            Some(i) => Self(self.0 | 1 << i),
            None => self,
        }
    }

    pub fn has(self, algorithm: &str) -> bool {
        index_of(algorithm.trim()).is_some_and(|i| self.bit(i))
    }

    fn bit(self, i: usize) -> bool {
        self.0 & (1 << i) != 0
    }

    pub fn bits(self) -> u8 {
        self.0
    }

    pub fn from_bits(bits: u8) -> Self {
        Self(bits & Self::ALL.0)
    }
}

/// Slices at least this long are hashed on two threads by [`Digests::update`].
const PARALLEL_BYTES: usize = 256 * 1024;

/// Running MD5 and the checksums asked for over a stream of bytes.
pub struct Digests {
    md5: md5::Md5,
    rest: Checksums,
}

/// The running checksums of [`Digests`] other than MD5, which can be fed on
/// another thread than MD5 (the slowest digest by far).
pub struct Checksums {
    algorithms: Algorithms,
    crc32: Option<crc32fast::Hasher>,
    crc32c: Option<u32>,
    sha1: Option<sha1::Sha1>,
    sha256: Option<sha2::Sha256>,
    crc64: Option<crc64fast_nvme::Digest>,
    len: u64,
}

impl Checksums {
    pub fn new(algorithms: Algorithms) -> Self {
        let a = algorithms;
        Self {
            algorithms,
            crc32: a.bit(0).then(crc32fast::Hasher::new),
            crc32c: a.bit(1).then_some(0),
            sha1: a.bit(2).then(sha1::Sha1::new),
            sha256: a.bit(3).then(sha2::Sha256::new),
            crc64: a.bit(4).then(crc64fast_nvme::Digest::new),
            len: 0,
        }
    }

    pub fn update(&mut self, bytes: &[u8]) {
        self.len += bytes.len() as u64;
        if let Some(c) = &mut self.crc32 {
            c.update(bytes);
        }
        if let Some(c) = &mut self.crc32c {
            *c = crc32c::crc32c_append(*c, bytes);
        }
        if let Some(h) = &mut self.sha1 {
            h.update(bytes);
        }
        if let Some(h) = &mut self.sha256 {
            h.update(bytes);
        }
        if let Some(c) = &mut self.crc64 {
            c.write(bytes);
        }
    }

    /// The finished digests, with `md5` (of the same bytes) added.
    pub fn finish(self, md5: [u8; 16]) -> Digest {
        Digest {
            size: self.len,
            algorithms: self.algorithms,
            md5,
            crc32: self.crc32.map_or(0, crc32fast::Hasher::finalize),
            crc32c: self.crc32c.unwrap_or(0),
            sha1: self.sha1.map_or([0; 20], |h| h.finalize().into()),
            sha256: self.sha256.map_or([0; 32], |h| h.finalize().into()),
            crc64nvme: self.crc64.map_or(0, |c| c.sum64()),
        }
    }
}

/// The finished MD5 of a hasher from [`md5_hasher`].
pub fn md5_finish(h: md5::Md5) -> [u8; 16] {
    h.finalize().into()
}

pub use md5::{Digest as Md5Update, Md5};

impl Default for Digests {
    fn default() -> Self {
        Self::new()
    }
}

impl Digests {
    /// MD5 and every checksum algorithm.
    pub fn new() -> Self {
        Self::with(Algorithms::ALL)
    }

    /// MD5 and the checksums of `algorithms`.
    pub fn with(algorithms: Algorithms) -> Self {
        Self {
            md5: md5::Md5::new(),
            rest: Checksums::new(algorithms),
        }
    }

    /// Splits into MD5 and the rest (to feed them on two threads).
    pub fn split(self) -> (md5::Md5, Checksums) {
        (self.md5, self.rest)
    }

    /// Feeds bytes. A large slice is hashed on two threads (MD5 here, the
    /// checksums on a scoped helper): MD5 alone is the slowest digest.
    pub fn update(&mut self, bytes: &[u8]) {
        let Self { md5, rest } = self;
        if bytes.len() >= PARALLEL_BYTES {
            let spawned = std::thread::scope(|s| {
                let helper = std::thread::Builder::new().spawn_scoped(s, || rest.update(bytes));
                md5.update(bytes);
                match helper {
                    Ok(h) => h.join().map_err(std::panic::resume_unwind).is_ok(),
                    Err(_) => false,
                }
            });
            if !spawned {
                rest.update(bytes);
            }
        } else {
            md5.update(bytes);
            rest.update(bytes);
        }
    }

    /// Bytes seen so far.
    pub fn len(&self) -> u64 {
        self.rest.len
    }

    pub fn is_empty(&self) -> bool {
        self.rest.len == 0
    }

    pub fn finish(self) -> Digest {
        self.rest.finish(self.md5.finalize().into())
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
    /// The checksums computed (the others are zero and not reported).
    pub algorithms: Algorithms,
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
        let mut hex = [0u8; 32];
        hex::encode_to_slice(self.md5, &mut hex).expect("32 bytes for 16");
        String::from_utf8_lossy(&hex).into_owned()
    }

    /// The base64 value S3 reports in `x-amz-checksum-<algorithm>`.
    /// `algorithm` is one of [`ALGORITHMS`], in any case.
    pub fn checksum(&self, algorithm: &str) -> Option<String> {
        let i = index_of(algorithm)?;
        self.algorithms.bit(i).then(|| self.base64_of(i))
    }

    /// The base64 value of the `i`th of [`ALGORITHMS`].
    fn base64_of(&self, i: usize) -> String {
        match i {
            0 => BASE64.encode(self.crc32.to_be_bytes()),
            1 => BASE64.encode(self.crc32c.to_be_bytes()),
            2 => BASE64.encode(self.sha1),
            3 => BASE64.encode(self.sha256),
            _ => BASE64.encode(self.crc64nvme.to_be_bytes()),
        }
    }

    /// (algorithm, base64) for every algorithm computed, as in [`crate::blobs::BlobInfo`].
    pub fn checksums(&self) -> Vec<(String, String)> {
        (0..ALGORITHMS.len())
            .filter(|&i| self.algorithms.bit(i))
            .map(|i| (ALGORITHMS[i].to_string(), self.base64_of(i)))
            .collect()
    }

    /// A fixed-size binary form (stored in a blob file's trailer; which
    /// algorithms it holds is stored beside it, see [`Self::from_bytes`]).
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

    pub fn from_bytes(b: &[u8; DIGEST_BYTES], algorithms: Algorithms) -> Self {
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
            algorithms,
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
    // Asked of every header of every upload: compared in place, not lowered.
    const PREFIX: &str = "x-amz-checksum-";
    let (prefix, suffix) = header.split_at_checked(PREFIX.len())?;
    if !prefix.eq_ignore_ascii_case(PREFIX) {
        return None;
    }
    index_of(suffix).map(|i| ALGORITHMS[i])
}

/// The position of `name` (any case) in [`ALGORITHMS`].
fn index_of(name: &str) -> Option<usize> {
    ALGORITHMS.iter().position(|a| a.eq_ignore_ascii_case(name))
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

    #[test]
    fn checksum_headers_are_named_in_any_case() {
        assert_eq!(algorithm_of_header("x-amz-checksum-crc32"), Some("CRC32"));
        assert_eq!(algorithm_of_header("X-Amz-Checksum-Sha256"), Some("SHA256"));
        assert_eq!(
            algorithm_of_header("x-amz-checksum-crc64nvme"),
            Some("CRC64NVME")
        );
        for other in [
            "x-amz-checksum-",
            "x-amz-checksum-md5",
            "x-amz-checksum-type",
            "x-amz-checksum",
            "content-type",
            "x-amz-checksumé-crc32",
            "",
        ] {
            assert_eq!(algorithm_of_header(other), None, "{other}");
        }
    }

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
        assert_eq!(
            Digest::from_bytes(&streamed.to_bytes(), Algorithms::ALL),
            streamed
        );
    }

    #[test]
    fn only_the_algorithms_asked_for() {
        let some = Algorithms::DEFAULT.with("sha256").with("md7");
        assert!(some.has("CRC64NVME") && some.has("sha256") && !some.has("CRC32"));
        let mut d = Digests::with(some);
        d.update(b"Hello world");
        let d = d.finish();
        assert_eq!(d.md5_hex(), "3e25960a79dbc69b674cd4ec67a72c62");
        assert_eq!(d.checksum("CRC32"), None);
        let names: Vec<String> = d.checksums().into_iter().map(|(a, _)| a).collect();
        assert_eq!(names, ["SHA256", "CRC64NVME"]);
        assert_eq!(
            d.checksum("SHA256"),
            Digests::of(b"Hello world").checksum("SHA256")
        );
        assert_eq!(Digest::from_bytes(&d.to_bytes(), some), d);
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
