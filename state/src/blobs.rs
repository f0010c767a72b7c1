//! Large payloads held by the host (S3 objects, Lambda zips, request bodies).
//!
//! In memory by default; with S3_PERSIST=1 files under S3_DATA_DIR, written
//! atomically (temp file + fsync + rename). Digests are computed while the
//! bytes stream in. A blob created by a unit that rolls back is deleted; a
//! release takes effect when the unit commits.

use std::path::PathBuf;

/// A blob's identity, size and digests (see the WIT `blob-ref`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobInfo {
    pub id: String,
    pub size: u64,
    pub md5_hex: String,
    /// ("CRC32", base64), ("CRC32C", ...), ("SHA1", ...), ("SHA256", ...), ("CRC64NVME", ...)
    pub checksums: Vec<(String, String)>,
}

#[derive(Clone, Debug)]
pub struct BlobConfig {
    /// S3_PERSIST=1: files under `dir`.
    pub persist: bool,
    pub dir: PathBuf,
}

pub struct BlobStore {}

/// Writes a new blob chunk by chunk, computing digests on the way.
pub struct BlobWriter {}

impl BlobStore {
    pub fn open(_config: BlobConfig) -> Result<Self, crate::StateError> {
        todo!("state helper")
    }
}

impl BlobStore {
    /// Starts a new blob in `plugin`'s namespace.
    pub fn writer(&self, _plugin: &str) -> Result<BlobWriter, crate::StateError> {
        todo!("state helper")
    }
    /// Creates a blob from bytes in one go.
    pub async fn create(&self, _plugin: &str, _bytes: &[u8]) -> Result<BlobInfo, crate::StateError> {
        todo!("state helper")
    }
    pub fn stat(&self, _plugin: &str, _id: &str) -> Option<BlobInfo> {
        todo!("state helper")
    }
    /// Up to `len` bytes from `offset` (fewer at the end; empty past the end).
    pub async fn read(
        &self,
        _plugin: &str,
        _id: &str,
        _offset: u64,
        _len: u64,
    ) -> Result<bytes::Bytes, crate::StateError> {
        todo!("state helper")
    }
    /// A new blob from slices (id, offset, length) of existing ones.
    pub async fn concat(
        &self,
        _plugin: &str,
        _parts: &[(String, u64, u64)],
    ) -> Result<BlobInfo, crate::StateError> {
        todo!("state helper")
    }
    /// Deletes the blob's bytes now (the host defers this to commit).
    pub fn release(&self, _plugin: &str, _id: &str) {
        todo!("state helper")
    }
    /// Ids of every blob of `plugin` (to sweep orphans after a crash).
    pub fn list(&self, _plugin: &str) -> Vec<String> {
        todo!("state helper")
    }
    /// Deletes every blob of `plugin`, or of all plugins when None.
    pub fn reset(&self, _plugin: Option<&str>) -> Result<(), crate::StateError> {
        todo!("state helper")
    }
}

impl BlobWriter {
    pub async fn write(&mut self, _chunk: &[u8]) -> Result<(), crate::StateError> {
        todo!("state helper")
    }
    /// Makes the blob durable (fsync + rename when persistent) and returns it.
    pub async fn finish(self) -> Result<BlobInfo, crate::StateError> {
        todo!("state helper")
    }
}
