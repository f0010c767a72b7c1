//! The storage backend contract: what a store must do so that plugins keep
//! their semantics on it (docs/scale-out.md discusses which distributed
//! stores can).
//!
//! The host reaches state only through [`Stores`](crate::Stores) →
//! [`Database`](crate::Database) (one per plugin) → [`Unit`](crate::Unit)
//! (one atomic unit of work). Those dispatch to the built-in redb backend
//! statically, or to any `Box<dyn Backend>` given to
//! [`Stores::with_backend`](crate::Stores::with_backend): adding a backend
//! touches neither the host's capabilities nor any plugin.
//!
//! What a backend promises (the tests in `backend_tests.rs` check it on the
//! redb backend, through these traits):
//!
//! - **Units are serializable.** A unit reads a consistent snapshot and sees
//!   its own writes. Commit fails with [`StateError::Conflict`] (and writes
//!   nothing) if anything the unit read — present keys, absent keys, scanned
//!   ranges up to where a limited scan stopped — was changed by a unit that
//!   committed after the snapshot; the host then runs the request again.
//!   Blind writes never conflict.
//! - **Keys are bytes, ordered bytewise.** [`KeyRange`] scans go forward or
//!   in reverse, with a limit, over `prefix` ∩ [`start`, `end`).
//! - **`count` and `delete_range`** act on a range without the plugin
//!   moving rows in and out (a backend may do them server-side).
//! - **`delete` says whether the key existed** (read, so it conflicts like
//!   a read).
//! - **Tables are created on first write**; an absent table reads empty.
//! - **A database per plugin**, emptied by `reset`, with a schema version the
//!   host checks before a plugin's migration runs.
//! - **`commit` resolves only when durable** under the backend's durability
//!   setting; a commit that passed validation lands even if its future is
//!   dropped.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::{KeyRange, Row, StateError};

/// The result of [`BackendUnit::commit`].
pub type CommitFuture = Pin<Box<dyn Future<Output = Result<(), StateError>> + Send + 'static>>;

/// Every plugin's database on one storage system.
pub trait Backend: Send + Sync {
    /// The database of one plugin (a file, a keyspace, a directory, a
    /// schema...), opened or created on first use. Plugin names are checked
    /// by the caller: ASCII letters, digits, `-`, `_`, `.`, at most 64.
    fn database(&self, plugin: &str) -> Result<Arc<dyn BackendDatabase>, StateError>;

    /// Empties every plugin's database, including ones not opened yet.
    fn reset_all(&self) -> Result<(), StateError>;
}

/// One plugin's database.
pub trait BackendDatabase: Send + Sync {
    /// Starts a unit over the latest committed state (the snapshot may be
    /// taken lazily, at the first read).
    fn begin_unit(self: Arc<Self>) -> Box<dyn BackendUnit>;

    /// Removes every table's rows (`POST /_ministack/reset`).
    fn reset(&self) -> Result<(), StateError>;

    /// The schema version recorded for this database (None when new).
    fn schema_version(&self) -> Result<Option<u32>, StateError>;

    /// Records the schema version, durably.
    fn set_schema_version(&self, version: u32) -> Result<(), StateError>;
}

/// One atomic unit of reads and writes (one request, or the part of a request
/// between two waits). Dropping it without `commit` discards its writes.
/// `Sync` because capability futures hold `&RequestState` (and so the unit)
/// across awaits.
pub trait BackendUnit: Send + Sync {
    fn get(&mut self, table: &str, key: &[u8]) -> Result<Option<Vec<u8>>, StateError>;

    fn put(&mut self, table: &str, key: &[u8], value: &[u8]) -> Result<(), StateError>;

    /// Whether the key existed.
    fn delete(&mut self, table: &str, key: &[u8]) -> Result<bool, StateError>;

    /// Up to `limit` rows of `range`, in key order (reverse if asked).
    fn scan(&mut self, table: &str, range: &KeyRange, limit: u32) -> Result<Vec<Row>, StateError>;

    fn count(&mut self, table: &str, range: &KeyRange) -> Result<u64, StateError>;

    /// Deletes every row of `range`; how many there were.
    fn delete_range(&mut self, table: &str, range: &KeyRange) -> Result<u64, StateError>;

    /// True when the unit has written nothing.
    fn is_read_only(&self) -> bool;

    /// Validates and lands the writes (see the module docs).
    fn commit(self: Box<Self>) -> CommitFuture;
}

/// Implements [`BackendUnit`] for a unit whose inherent methods already have
/// the trait's names and signatures (the built-in units and `Unit`).
/// The built-in units take `scan`, `count` and `delete_range` from
/// [`crate::merge::RangeOps`] (`ranges: crate::merge::RangeOps`).
macro_rules! unit_by_inherent_methods {
    ($unit:ident) => {
        $crate::backend::unit_by_inherent_methods!($unit, ranges: $unit);
    };
    ($unit:ident, ranges: $($ranges:ident)::+) => {
        impl $crate::backend::BackendUnit for $unit {
            fn get(&mut self, table: &str, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
                <$unit>::get(self, table, key)
            }
            fn put(&mut self, table: &str, key: &[u8], value: &[u8]) -> Result<(), StateError> {
                <$unit>::put(self, table, key, value)
            }
            fn delete(&mut self, table: &str, key: &[u8]) -> Result<bool, StateError> {
                <$unit>::delete(self, table, key)
            }
            fn scan(
                &mut self,
                table: &str,
                range: &KeyRange,
                limit: u32,
            ) -> Result<Vec<Row>, StateError> {
                $($ranges)::+::scan(self, table, range, limit)
            }
            fn count(&mut self, table: &str, range: &KeyRange) -> Result<u64, StateError> {
                $($ranges)::+::count(self, table, range)
            }
            fn delete_range(&mut self, table: &str, range: &KeyRange) -> Result<u64, StateError> {
                $($ranges)::+::delete_range(self, table, range)
            }
            fn is_read_only(&self) -> bool {
                <$unit>::is_read_only(self)
            }
            fn commit(self: Box<Self>) -> $crate::backend::CommitFuture {
                Box::pin((*self).commit())
            }
        }
    };
}

/// Implements [`BackendDatabase`] for a built-in database (inherent
/// `begin(self: &Arc<Self>)`, `reset`, `schema_version`, `set_schema_version`).
macro_rules! database_by_inherent_methods {
    ($db:ty) => {
        impl $crate::backend::BackendDatabase for $db {
            fn begin_unit(self: Arc<Self>) -> Box<dyn $crate::backend::BackendUnit> {
                Box::new(self.begin())
            }
            fn reset(&self) -> Result<(), StateError> {
                <$db>::reset(self)
            }
            fn schema_version(&self) -> Result<Option<u32>, StateError> {
                <$db>::schema_version(self)
            }
            fn set_schema_version(&self, version: u32) -> Result<(), StateError> {
                <$db>::set_schema_version(self, version)
            }
        }
    };
}

pub(crate) use {database_by_inherent_methods, unit_by_inherent_methods};
