//! Service state owned by the host.
//!
//! - [`Stores`]: one database per plugin (in memory, or redb files under
//!   STATE_DIR with PERSIST_STATE).
//! - [`Unit`]: one atomic, serializable unit of work (one request, or the part
//!   of a request between two waits). Reads see the unit's own writes; commit
//!   validates the reads (optimistic concurrency) and lands the writes in a
//!   group commit; a conflict tells the host to run the request again.
//! - [`blobs::BlobStore`]: large payloads, in memory or under S3_DATA_DIR.
//! - [`chunked`]: the aws-chunked body decoder; [`checksum`]: S3's digests.
//!
//! PUBLIC API CONTRACT (used by the host; keep these signatures).
//!
//! Backends: [`backend`] is the contract (traits); [`MemoryStores`] (the
//! default) and [`RedbStores`] (PERSIST_STATE; "How a commit works" is in
//! its docs) are the built-in implementations; another
//! backend plugs in with [`Stores::with_backend`] (docs/scale-out.md).
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use ministack_state::{StateConfig, StateError, Stores};
//! let stores = Stores::open(StateConfig::in_memory()).unwrap();
//! let db = stores.database("counter").unwrap();
//! loop {
//!     let mut unit = db.begin();
//!     let n = unit.get("t", b"n").unwrap().map_or(0, |v| v[0]);
//!     unit.put("t", b"n", &[n + 1]).unwrap();
//!     match unit.commit().await {
//!         Err(StateError::Conflict) => continue, // run the request again
//!         other => break other.unwrap(),
//!     }
//! }
//! assert_eq!(db.begin().get("t", b"n").unwrap(), Some(vec![1]));
//! # });
//! ```

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// The state layer's own maps: tables, databases and blobs by name, a
/// couple of dozen lookups a request. Hashed with foldhash instead of
/// SipHash (~200 instructions a short key): the names are the plugins'
/// and the host's, and the seed is still random per process.
pub(crate) type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

pub mod backend;
pub mod blobs;
pub mod checksum;
pub mod chunked;
mod memory;
mod memory_store;
mod merge;
mod pending;
mod redb_store;
mod versions;

pub use backend::{Backend, BackendDatabase, BackendUnit, CommitFuture};
pub use memory_store::{MemoryDatabase, MemoryStores, MemoryUnit};
pub use redb_store::{RedbDatabase, RedbStores, RedbUnit};

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

/// Environment variables read by [`StateConfig::from_env`].
pub const ENV_PERSIST_STATE: &str = "PERSIST_STATE";
pub const ENV_STATE_DIR: &str = "STATE_DIR";
/// `group` (default) or `relaxed`.
pub const ENV_DURABILITY: &str = "MINISTACK_DURABILITY";
/// Flush interval of the relaxed mode, milliseconds (default 100).
pub const ENV_DURABILITY_WINDOW_MS: &str = "MINISTACK_DURABILITY_WINDOW_MS";
pub const DEFAULT_STATE_DIR: &str = "/tmp/ministack-state";
pub const DEFAULT_WINDOW_MS: u64 = 100;

impl StateConfig {
    /// Everything in memory (the default of the gateway).
    pub fn in_memory() -> Self {
        Self {
            persist: false,
            state_dir: PathBuf::from(DEFAULT_STATE_DIR),
            durability: Durability::Group,
        }
    }

    /// Files under `dir`, every acknowledged commit durable.
    pub fn persistent(dir: impl Into<PathBuf>) -> Self {
        Self {
            persist: true,
            state_dir: dir.into(),
            durability: Durability::Group,
        }
    }

    /// PERSIST_STATE (1/true/yes), STATE_DIR, MINISTACK_DURABILITY
    /// (group|relaxed), MINISTACK_DURABILITY_WINDOW_MS.
    pub fn from_env() -> Result<Self, StateError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Result<Self, StateError> {
        let persist = var(ENV_PERSIST_STATE).is_some_and(|v| truthy(&v));
        let state_dir =
            PathBuf::from(var(ENV_STATE_DIR).unwrap_or_else(|| DEFAULT_STATE_DIR.into()));
        let window_ms = match var(ENV_DURABILITY_WINDOW_MS) {
            Some(v) => v
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|ms| *ms > 0)
                .ok_or_else(|| {
                    StateError::Storage(format!(
                        "{ENV_DURABILITY_WINDOW_MS}={v}: expected milliseconds > 0"
                    ))
                })?,
            None => DEFAULT_WINDOW_MS,
        };
        let durability = match var(ENV_DURABILITY).as_deref().map(str::trim) {
            None | Some("") | Some("group") => Durability::Group,
            Some("relaxed") => Durability::Relaxed { window_ms },
            Some(other) => {
                return Err(StateError::Storage(format!(
                    "{ENV_DURABILITY}={other}: expected group or relaxed"
                )));
            }
        };
        Ok(Self {
            persist,
            state_dir,
            durability,
        })
    }
}

pub(crate) fn truthy(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "1" | "true" | "yes" | "on"
    )
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

fn storage(e: impl std::fmt::Display) -> StateError {
    StateError::Storage(e.to_string())
}

/// A (key, value) pair returned by [`Unit::scan`].
pub type Row = (Vec<u8>, Vec<u8>);

/// A range of keys (see the WIT `key-range`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyRange {
    pub prefix: Vec<u8>,
    pub start: Option<Vec<u8>>,
    pub end: Option<Vec<u8>>,
    pub reverse: bool,
}

impl KeyRange {
    /// Every key that begins with `prefix`.
    pub fn prefix(prefix: impl Into<Vec<u8>>) -> Self {
        Self {
            prefix: prefix.into(),
            ..Self::default()
        }
    }

    /// The keys as one interval [lo, hi) (`None`: no upper bound), or None
    /// when the range is empty.
    pub(crate) fn bounds(&self) -> Option<(Vec<u8>, Option<Vec<u8>>)> {
        let mut lo = self.prefix.clone();
        if let Some(start) = &self.start
            && *start > lo
        {
            lo = start.clone();
        }
        let mut hi = prefix_end(&self.prefix);
        if let Some(end) = &self.end {
            hi = Some(match hi {
                Some(h) if h < *end => h,
                _ => end.clone(),
            });
        }
        match &hi {
            Some(h) if *h <= lo => None,
            _ => Some((lo, hi)),
        }
    }
}

/// The first key after every key that begins with `prefix` (None: no such key).
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// Plugin names become file names: keep them plain.
pub(crate) fn check_name(name: &str) -> Result<(), StateError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if ok {
        Ok(())
    } else {
        Err(StateError::Storage(format!("invalid plugin name {name:?}")))
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

// ---- the host's entry points: redb statically, any other backend dynamically ----

/// Every plugin's database.
pub struct Stores(StoresImpl);

enum StoresImpl {
    Memory(MemoryStores),
    Redb(RedbStores),
    Other {
        backend: Box<dyn Backend>,
        databases: Mutex<HashMap<String, Arc<Database>>>,
    },
}

impl Stores {
    /// The built-in backends: in memory ([`MemoryStores`]), or redb files
    /// under `state_dir` with PERSIST_STATE.
    pub fn open(config: StateConfig) -> Result<Self, StateError> {
        if !config.persist {
            return Ok(Self(StoresImpl::Memory(MemoryStores::default())));
        }
        Ok(Self(StoresImpl::Redb(RedbStores::open(config)?)))
    }

    /// Another backend (see [`backend`]).
    pub fn with_backend(backend: Box<dyn Backend>) -> Self {
        Self(StoresImpl::Other {
            backend,
            databases: Mutex::new(HashMap::default()),
        })
    }

    /// The database of one plugin, opened (or created) on first use.
    pub fn database(&self, plugin: &str) -> Result<Arc<Database>, StateError> {
        match &self.0 {
            StoresImpl::Memory(stores) => Ok(Arc::new(Database(DatabaseImpl::Memory(
                stores.database(plugin)?,
            )))),
            StoresImpl::Redb(stores) => Ok(Arc::new(Database(DatabaseImpl::Redb(
                stores.database(plugin)?,
            )))),
            StoresImpl::Other { backend, databases } => {
                check_name(plugin)?;
                let mut dbs = lock(databases);
                if let Some(db) = dbs.get(plugin) {
                    return Ok(db.clone());
                }
                let db = Arc::new(Database(DatabaseImpl::Other(backend.database(plugin)?)));
                dbs.insert(plugin.to_string(), db.clone());
                Ok(db)
            }
        }
    }

    /// Empties every database (and deletes the persisted files' contents).
    pub fn reset_all(&self) -> Result<(), StateError> {
        match &self.0 {
            StoresImpl::Memory(stores) => stores.reset_all(),
            StoresImpl::Redb(stores) => stores.reset_all(),
            StoresImpl::Other { backend, .. } => backend.reset_all(),
        }
    }
}

/// One plugin's database.
pub struct Database(DatabaseImpl);

enum DatabaseImpl {
    Memory(Arc<MemoryDatabase>),
    Redb(Arc<RedbDatabase>),
    Other(Arc<dyn BackendDatabase>),
}

impl Database {
    /// Starts a unit over the latest committed state.
    pub fn begin(self: &Arc<Self>) -> Unit {
        match &self.0 {
            DatabaseImpl::Memory(db) => Unit(UnitImpl::Memory(db.begin())),
            DatabaseImpl::Redb(db) => Unit(UnitImpl::Redb(db.begin())),
            DatabaseImpl::Other(db) => Unit(UnitImpl::Other(db.clone().begin_unit())),
        }
    }

    /// Removes every table's rows.
    pub fn reset(&self) -> Result<(), StateError> {
        match &self.0 {
            DatabaseImpl::Memory(db) => db.reset(),
            DatabaseImpl::Redb(db) => db.reset(),
            DatabaseImpl::Other(db) => db.reset(),
        }
    }

    /// The schema version recorded for this database (None when new).
    pub fn schema_version(&self) -> Result<Option<u32>, StateError> {
        match &self.0 {
            DatabaseImpl::Memory(db) => db.schema_version(),
            DatabaseImpl::Redb(db) => db.schema_version(),
            DatabaseImpl::Other(db) => db.schema_version(),
        }
    }

    pub fn set_schema_version(&self, version: u32) -> Result<(), StateError> {
        match &self.0 {
            DatabaseImpl::Memory(db) => db.set_schema_version(version),
            DatabaseImpl::Redb(db) => db.set_schema_version(version),
            DatabaseImpl::Other(db) => db.set_schema_version(version),
        }
    }

    /// Write transactions committed so far (None for a backend that does
    /// not count them).
    pub fn write_transactions(&self) -> Option<u64> {
        match &self.0 {
            DatabaseImpl::Memory(db) => Some(db.write_transactions()),
            DatabaseImpl::Redb(db) => Some(db.write_transactions()),
            DatabaseImpl::Other(_) => None,
        }
    }

    /// Entries of the validation index (for tests).
    #[cfg(test)]
    pub(crate) fn indexed(&self) -> usize {
        match &self.0 {
            DatabaseImpl::Memory(db) => db.indexed(),
            DatabaseImpl::Redb(db) => db.shared.lock().versions.indexed(),
            DatabaseImpl::Other(_) => panic!("not a built-in database"),
        }
    }

    #[cfg(test)]
    pub(crate) fn memory(&self) -> &MemoryDatabase {
        match &self.0 {
            DatabaseImpl::Memory(db) => db,
            _ => panic!("not an in-memory database"),
        }
    }
}

/// One atomic unit of reads and writes. Its operations are the
/// [`BackendUnit`] trait's (the host's `store` capability calls them through
/// it); the same methods exist inherently so callers need no import.
pub struct Unit(UnitImpl);

// The built-in units stay inline (no allocation per unit); only other
// backends pay for a box.
#[allow(clippy::large_enum_variant)]
enum UnitImpl {
    Memory(MemoryUnit),
    Redb(RedbUnit),
    Other(Box<dyn BackendUnit>),
}

/// Calls `$method` on whichever backend holds the unit.
macro_rules! on_unit {
    ($unit:expr, $method:ident($($arg:expr),*)) => {
        match $unit {
            UnitImpl::Memory(u) => u.$method($($arg),*),
            UnitImpl::Redb(u) => u.$method($($arg),*),
            UnitImpl::Other(u) => u.$method($($arg),*),
        }
    };
}

impl Unit {
    pub fn get(&mut self, table: &str, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        on_unit!(&mut self.0, get(table, key))
    }

    pub fn put(&mut self, table: &str, key: &[u8], value: &[u8]) -> Result<(), StateError> {
        on_unit!(&mut self.0, put(table, key, value))
    }

    pub fn delete(&mut self, table: &str, key: &[u8]) -> Result<bool, StateError> {
        on_unit!(&mut self.0, delete(table, key))
    }

    pub fn scan(
        &mut self,
        table: &str,
        range: &KeyRange,
        limit: u32,
    ) -> Result<Vec<Row>, StateError> {
        on_unit!(&mut self.0, scan(table, range, limit))
    }

    pub fn count(&mut self, table: &str, range: &KeyRange) -> Result<u64, StateError> {
        on_unit!(&mut self.0, count(table, range))
    }

    pub fn delete_range(&mut self, table: &str, range: &KeyRange) -> Result<u64, StateError> {
        on_unit!(&mut self.0, delete_range(table, range))
    }

    /// True when the unit has written nothing.
    pub fn is_read_only(&self) -> bool {
        on_unit!(&self.0, is_read_only())
    }

    /// Validates and lands the writes; resolves once they are durable (per
    /// [`Durability`]). `Err(Conflict)` means nothing was written.
    ///
    /// Validation happens on the first poll. A unit that passed it is queued
    /// and lands even if this future is then dropped (a timeout around the
    /// commit does not undo it); only `Ok` says it is durable.
    pub async fn commit(self) -> Result<(), StateError> {
        match self.0 {
            UnitImpl::Memory(u) => u.commit().await,
            UnitImpl::Redb(u) => u.commit().await,
            UnitImpl::Other(u) => u.commit().await,
        }
    }

    /// Drops the writes.
    pub fn rollback(self) {}
}

backend::unit_by_inherent_methods!(Unit);

#[cfg(test)]
mod backend_tests;
#[cfg(test)]
mod tests;
