//! Large payloads held by the host (S3 objects, Lambda zips, request bodies).
//!
//! The bytes of a big object never need to enter the plugin: a streaming blob
//! member of an operation's input arrives as a [`BlobRef`] (the host has
//! already stored the request body), and a streaming member of the output can
//! be a [`BlobOut`] that the host streams from its store, with Range support.
//! Blobs created by a request that fails are dropped; a release takes effect
//! when the request's unit commits.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

use crate::AwsError;
use crate::generated::ministack::plugin::blobs as wit;
use crate::generated::ministack::plugin::types::BlobRef as WitBlobRef;

/// A blob the host holds: how a streaming blob member appears in an
/// operation's input JSON (`{"blob-id", "size", "md5-hex", "checksums"}`), and
/// what a plugin keeps in its records.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobRef {
    #[serde(rename = "blob-id")]
    pub id: String,
    #[serde(default)]
    pub size: u64,
    #[serde(rename = "md5-hex", default)]
    pub md5_hex: String,
    /// Algorithm (`CRC32`, `CRC32C`, `SHA1`, `SHA256`, `CRC64NVME`) → base64 digest.
    #[serde(default, deserialize_with = "checksums_from_map_or_pairs")]
    pub checksums: BTreeMap<String, String>,
}

impl BlobRef {
    /// The S3-style ETag: the MD5 in quotes.
    pub fn etag(&self) -> String {
        format!("\"{}\"", self.md5_hex)
    }

    pub fn checksum(&self, algorithm: &str) -> Option<&str> {
        self.checksums
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(algorithm))
            .map(|(_, v)| v.as_str())
    }

    /// The whole blob as a streaming output member.
    pub fn to_output(&self) -> BlobOut {
        BlobOut::whole(&self.id)
    }
}

/// Accepts `{"CRC32": "..."}`, `[["CRC32", "..."]]` or `null`, read in
/// one pass (an untagged enum buffered every stored record's checksums
/// before trying each form: a third of decoding an S3 object record).
fn checksums_from_map_or_pairs<'de, D>(d: D) -> Result<BTreeMap<String, String>, D::Error>
where
    D: Deserializer<'de>,
{
    struct Checksums;

    impl<'de> serde::de::Visitor<'de> for Checksums {
        type Value = BTreeMap<String, String>;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a map or a list of pairs of algorithm and checksum")
        }

        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some((k, v)) = map.next_entry::<String, String>()? {
                out.insert(k, v);
            }
            Ok(out)
        }

        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some((k, v)) = seq.next_element::<(String, String)>()? {
                out.insert(k, v);
            }
            Ok(out)
        }

        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(BTreeMap::new())
        }

        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(BTreeMap::new())
        }
    }

    // A compact (postcard) row is not self-describing: it holds the map.
    if !d.is_human_readable() {
        return BTreeMap::deserialize(d);
    }
    d.deserialize_any(Checksums)
}

impl From<WitBlobRef> for BlobRef {
    fn from(b: WitBlobRef) -> Self {
        BlobRef {
            id: b.id,
            size: b.size,
            md5_hex: b.md5_hex,
            checksums: b.checksums.into_iter().collect(),
        }
    }
}

/// A streaming blob member of an operation's output: the host streams the
/// blob (or the byte range of it) to the client. Only its two fields: so a
/// [`StreamingBlob`] tells it from a [`BlobRef`] (which has a size).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlobOut {
    #[serde(rename = "blob-id")]
    pub id: String,
    /// `[start, end)` byte offsets, end exclusive (docs/json-conventions.md).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub range: Option<[u64; 2]>,
}

impl BlobOut {
    pub fn whole(id: &str) -> Self {
        BlobOut {
            id: id.to_string(),
            range: None,
        }
    }

    /// Bytes `first..=last` (as in an HTTP `Range` header). On the wire
    /// to the host the range is `[start, end)`: end exclusive.
    pub fn range(id: &str, first: u64, last: u64) -> Self {
        BlobOut {
            id: id.to_string(),
            range: Some([first, last.saturating_add(1)]),
        }
    }
}

/// A streaming blob member as generated shapes type it (S3 `Body`, Lambda
/// `Payload`...): on input a host blob (the body the host already stored) or
/// the base64 bytes of a small body; on output bytes, a whole blob or a range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum StreamingBlob {
    /// The bytes, base64 (standard alphabet, padded).
    Base64(String),
    /// A blob or byte range of one for the host to stream out (tried
    /// before `Blob`: a `BlobRef` would take `{"blob-id", "range"}` as a
    /// blob of size 0).
    Out(BlobOut),
    /// A blob the host holds (how a streamed request body arrives).
    Blob(BlobRef),
}

impl Default for StreamingBlob {
    fn default() -> Self {
        StreamingBlob::Base64(String::new())
    }
}

impl StreamingBlob {
    /// Small bytes, carried inline.
    pub fn from_bytes(bytes: &[u8]) -> Self {
        StreamingBlob::Base64(crate::encoding::base64_encode(bytes))
    }

    /// The bytes (read from the host for a blob; whole blob for `Out`
    /// without a range).
    pub fn bytes(&self) -> Result<Vec<u8>, AwsError> {
        match self {
            StreamingBlob::Base64(text) => crate::encoding::base64_decode(text)
                .ok_or_else(|| AwsError::validation("Invalid base64 in a blob member")),
            StreamingBlob::Blob(blob) => read_all(&blob.id, 0, blob.size),
            StreamingBlob::Out(out) => match out.range {
                Some([start, end]) => read_all(&out.id, start, end.saturating_sub(start)),
                None => {
                    let size = stat(&out.id)
                        .ok_or_else(|| AwsError::internal(format!("blob {} is gone", out.id)))?
                        .size;
                    read_all(&out.id, 0, size)
                }
            },
        }
    }
}

impl From<BlobRef> for StreamingBlob {
    fn from(blob: BlobRef) -> Self {
        StreamingBlob::Blob(blob)
    }
}

impl From<BlobOut> for StreamingBlob {
    fn from(out: BlobOut) -> Self {
        StreamingBlob::Out(out)
    }
}

/// The most [`read_all`] reserves up front (a Lambda payload is at most 6 MB).
const MAX_READ_ALL: u64 = 64 << 20;

fn read_all(id: &str, offset: u64, len: u64) -> Result<Vec<u8>, AwsError> {
    // Sized once: growing by doubling would touch up to twice the bytes.
    let mut bytes = Vec::with_capacity(len.min(MAX_READ_ALL) as usize);
    while (bytes.len() as u64) < len {
        let want = (len - bytes.len() as u64).min(1 << 20) as u32;
        let chunk = read(id, offset + bytes.len() as u64, want)?;
        if chunk.is_empty() {
            break;
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// Stores bytes as a new blob.
pub fn create(bytes: &[u8]) -> BlobRef {
    wit::create(bytes).into()
}

/// Reads `len` bytes from `offset` (fewer at the end of the blob).
pub fn read(id: &str, offset: u64, len: u32) -> Result<Vec<u8>, AwsError> {
    wit::read(id, offset, len).map_err(|e| AwsError::internal(format!("blob {id}: {e}")))
}

/// A new blob made of `(id, offset, length)` slices of others, without moving
/// bytes through the plugin (multipart complete, copy with a range).
pub fn concat(parts: &[(String, u64, u64)]) -> Result<BlobRef, AwsError> {
    wit::concat(parts)
        .map(Into::into)
        .map_err(|e| AwsError::internal(format!("blob concat: {e}")))
}

/// Size and digests, or `None` when the blob does not exist.
pub fn stat(id: &str) -> Option<BlobRef> {
    wit::stat(id).map(Into::into)
}

/// Drops the blob when the request's unit commits.
pub fn release(id: &str) {
    wit::release(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_ref_json_forms() {
        let a: BlobRef = serde_json::from_str(
            r#"{"blob-id":"b1","size":3,"md5-hex":"abc","checksums":{"CRC32":"AAAA"}}"#,
        )
        .unwrap();
        let b: BlobRef = serde_json::from_str(
            r#"{"blob-id":"b1","size":3,"md5-hex":"abc","checksums":[["CRC32","AAAA"]]}"#,
        )
        .unwrap();
        assert_eq!(a, b);
        assert_eq!(a.checksum("crc32"), Some("AAAA"));
        assert_eq!(a.etag(), "\"abc\"");
        let c: BlobRef = serde_json::from_str(r#"{"blob-id":"b2"}"#).unwrap();
        assert_eq!(c.size, 0);
        let d: BlobRef = serde_json::from_str(r#"{"blob-id":"b2","checksums":null}"#).unwrap();
        assert_eq!(c, d);
        // Inside an untagged enum (buffered first), as in a StreamingBlob.
        let e: StreamingBlob = serde_json::from_str(
            r#"{"blob-id":"b1","size":3,"md5-hex":"abc","checksums":[["CRC32","AAAA"]]}"#,
        )
        .unwrap();
        assert_eq!(e, StreamingBlob::Blob(a.clone()));
        assert!(serde_json::from_str::<BlobRef>(r#"{"blob-id":"b","checksums":3}"#).is_err());
        assert_eq!(
            serde_json::to_string(&BlobOut::range("b1", 0, 9)).unwrap(),
            r#"{"blob-id":"b1","range":[0,10]}"#
        );
        assert_eq!(
            serde_json::to_string(&BlobOut::whole("b1")).unwrap(),
            r#"{"blob-id":"b1"}"#
        );
    }
}

#[cfg(test)]
mod streaming_tests {
    use super::*;

    #[test]
    fn streaming_blobs_take_every_form_the_codec_uses() {
        let inline: StreamingBlob = serde_json::from_str(r#""aGk=""#).unwrap();
        assert_eq!(inline.bytes().unwrap(), b"hi");
        assert_eq!(StreamingBlob::from_bytes(b"hi"), inline);
        let held: StreamingBlob =
            serde_json::from_str(r#"{"blob-id": "b1", "size": 5, "md5-hex": "ab"}"#).unwrap();
        let StreamingBlob::Blob(blob) = &held else {
            panic!("{held:?}")
        };
        assert_eq!((blob.id.as_str(), blob.size), ("b1", 5));
        let out = StreamingBlob::from(BlobOut::range("b1", 0, 1));
        assert_eq!(
            serde_json::to_string(&out).unwrap(),
            r#"{"blob-id":"b1","range":[0,2]}"#
        );
        // Another plugin's output read back keeps its range.
        let back: StreamingBlob =
            serde_json::from_str(r#"{"blob-id":"b1","range":[0,2]}"#).unwrap();
        assert_eq!(back, out);
        assert_eq!(
            StreamingBlob::default(),
            StreamingBlob::Base64(String::new())
        );
    }
}
