//! Service state owned by the host.
//!
//! - [`Stores`]: one redb database per plugin, in memory or under STATE_DIR.
//! - [`Unit`]: one atomic, serializable unit of work (one request, or the part
//!   of a request between two waits). Reads see the unit's own writes; commit
//!   validates the reads (optimistic concurrency) and lands the writes in a
//!   group commit; a conflict tells the host to run the request again.
//! - [`blobs::BlobStore`]: large payloads, in memory or under S3_DATA_DIR.
//!
//! PUBLIC API CONTRACT (used by the host; keep these signatures).

use std::path::PathBuf;
use std::sync::Arc;

pub mod blobs;

/// How commits reach the disk when persistence is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// Every acknowledged unit is on disk (fsync), many units per fsync.
    Group,
    /// Opt-in: units are acknowledged before their fsync; at most `window_ms`
    /// of acknowledged writes can be lost on a crash.
    Relaxed { window_ms: u64 },
}

#[derive(Clone, Debug)]
pub struct StateConfig {
    /// PERSIST_STATE=1: databases are files under `state_dir`.
    pub persist: bool,
    pub state_dir: PathBuf,
    pub durability: Durability,
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Another unit changed something this unit read: run it again.
    #[error("conflict with a concurrent request")]
    Conflict,
    /// The stored data was written by a newer schema than the plugin's.
    #[error("{0}")]
    Version(String),
    #[error("storage error: {0}")]
    Storage(String),
}

/// A range of keys (see the WIT `key-range`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyRange {
    pub prefix: Vec<u8>,
    pub start: Option<Vec<u8>>,
    pub end: Option<Vec<u8>>,
    pub reverse: bool,
}

/// Every plugin's database.
pub struct Stores {}

impl Stores {
    pub fn open(_config: StateConfig) -> Result<Self, StateError> {
        todo!("state helper")
    }
    /// The database of one plugin, opened (or created) on first use.
    pub fn database(&self, _plugin: &str) -> Result<Arc<Database>, StateError> {
        todo!("state helper")
    }
    /// Empties every database (and deletes the persisted files' contents).
    pub fn reset_all(&self) -> Result<(), StateError> {
        todo!("state helper")
    }
}

/// One plugin's database.
pub struct Database {}

impl Database {
    /// Starts a unit over the latest committed state.
    pub fn begin(self: &Arc<Self>) -> Unit {
        todo!("state helper")
    }
    /// Removes every table's rows.
    pub fn reset(&self) -> Result<(), StateError> {
        todo!("state helper")
    }
    /// The schema version recorded for this database (None when new).
    pub fn schema_version(&self) -> Result<Option<u32>, StateError> {
        todo!("state helper")
    }
    pub fn set_schema_version(&self, _version: u32) -> Result<(), StateError> {
        todo!("state helper")
    }
}

/// One atomic unit of reads and writes.
pub struct Unit {}

impl Unit {
    pub fn get(&mut self, _table: &str, _key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        todo!("state helper")
    }
    pub fn put(&mut self, _table: &str, _key: &[u8], _value: &[u8]) -> Result<(), StateError> {
        todo!("state helper")
    }
    pub fn delete(&mut self, _table: &str, _key: &[u8]) -> Result<bool, StateError> {
        todo!("state helper")
    }
    pub fn scan(
        &mut self,
        _table: &str,
        _range: &KeyRange,
        _limit: u32,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>, StateError> {
        todo!("state helper")
    }
    pub fn count(&mut self, _table: &str, _range: &KeyRange) -> Result<u64, StateError> {
        todo!("state helper")
    }
    pub fn delete_range(&mut self, _table: &str, _range: &KeyRange) -> Result<u64, StateError> {
        todo!("state helper")
    }
    /// True when the unit has written nothing.
    pub fn is_read_only(&self) -> bool {
        todo!("state helper")
    }
    /// Validates and lands the writes; resolves once they are durable (per
    /// [`Durability`]). `Err(Conflict)` means nothing was written.
    pub async fn commit(self) -> Result<(), StateError> {
        todo!("state helper")
    }
    /// Drops the writes.
    pub fn rollback(self) {}
}
