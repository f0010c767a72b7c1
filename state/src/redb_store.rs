//! The redb backend: one redb database per plugin, units with optimistic
//! concurrency and group commit. The crate's [`Stores`](crate::Stores) /
//! [`Database`](crate::Database) / [`Unit`](crate::Unit) use it directly (no
//! dynamic dispatch); it also implements the [`crate::backend`] traits, the
//! contract any other backend meets.
//!
//! # How a commit works
//!
//! Every unit reads from a snapshot taken at its first read. Commit takes the
//! database's lock, checks that nothing the unit read (keys, absent keys and
//! scanned ranges) was written after its snapshot (module `versions`), gives the
//! unit the next sequence number and queues its writes. Queued writes are
//! visible at once to units that begin afterwards (module `pending`), so a hot key
//! takes many updates per redb transaction; nobody is answered before the
//! transaction holding its writes has landed. Who writes the queue:
//! - with [`Durability::Group`] (persistent): the committer thread, in one
//!   `Durability::Immediate` transaction (one fsync) per batch;
//! - in memory and with [`Durability::Relaxed`]: the committing unit itself
//!   when nobody else is writing (no thread hop for a lone request), else the
//!   current writer; `Durability::None`, one transaction per batch. The
//!   relaxed mode's flusher makes them durable every window.

use std::collections::BTreeMap;

use crate::HashMap;
use std::ops::Bound;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use redb::{ReadOnlyTable, ReadableDatabase, TableDefinition, TableError};

use crate::backend::{Backend, BackendDatabase};
use crate::merge::{RangeOps, ReadSet, TableWrites, merge};
use crate::{
    Durability, KeyRange, Row, StateConfig, StateError, check_name, lock, pending, storage,
    versions,
};

/// Every plugin's database.
pub struct RedbStores {
    config: StateConfig,
    databases: Mutex<HashMap<String, Arc<RedbDatabase>>>,
}

impl RedbStores {
    pub fn open(config: StateConfig) -> Result<Self, StateError> {
        if config.persist {
            std::fs::create_dir_all(&config.state_dir)
                .map_err(|e| StateError::Storage(format!("{}: {e}", config.state_dir.display())))?;
        }
        Ok(Self {
            config,
            databases: Mutex::new(HashMap::default()),
        })
    }

    /// The database of one plugin, opened (or created) on first use.
    pub fn database(&self, plugin: &str) -> Result<Arc<RedbDatabase>, StateError> {
        check_name(plugin)?;
        let mut dbs = lock(&self.databases);
        if let Some(db) = dbs.get(plugin) {
            return Ok(db.clone());
        }
        let path = self
            .config
            .persist
            .then(|| self.config.state_dir.join(format!("{plugin}.redb")));
        let db = Arc::new(RedbDatabase::open(path.as_deref(), self.config.durability)?);
        dbs.insert(plugin.to_string(), db.clone());
        Ok(db)
    }

    /// Empties every database (and deletes the persisted files' contents).
    pub fn reset_all(&self) -> Result<(), StateError> {
        let dbs = lock(&self.databases);
        for db in dbs.values() {
            db.reset()?;
        }
        if self.config.persist {
            // Files of plugins not opened in this process.
            let entries = std::fs::read_dir(&self.config.state_dir).map_err(storage)?;
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if let Some(plugin) = name.strip_suffix(".redb")
                    && !dbs.contains_key(plugin)
                {
                    std::fs::remove_file(entry.path()).map_err(storage)?;
                }
            }
        }
        Ok(())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// Apply under the lock, `Durability::None` (memory, relaxed).
    Inline,
    /// Queue for the committer thread, `Durability::Immediate`.
    Group,
}

/// Name of a plugin table in redb (plugin names cannot clash with ours).
fn table_name(table: &str) -> String {
    format!("t:{table}")
}
const META_TABLE: &str = "m:meta";
/// redb's page cache for an in-memory database (its default, 1 GiB, is for
/// files).
const MEMORY_CACHE_BYTES: usize = 4 << 20;

/// An empty in-memory database.
fn memory_database() -> Result<redb::Database, StateError> {
    // In memory, redb's cache would hold a second copy of pages that are a
    // memcpy away: keep it small (hot pages of small tables).
    redb::Database::builder()
        .set_cache_size(MEMORY_CACHE_BYTES)
        .create_with_backend(crate::memory::SparseMemory::default())
        .map_err(storage)
}
const SCHEMA_KEY: &[u8] = b"schema_version";

type WriteSet = Vec<(String, TableWrites)>;
type Reader = ReadOnlyTable<&'static [u8], &'static [u8]>;

fn def(name: &str) -> TableDefinition<'_, &'static [u8], &'static [u8]> {
    TableDefinition::new(name)
}

/// A unit waiting for the committer.
struct Queued {
    seq: u64,
    writes: WriteSet,
    done: tokio::sync::oneshot::Sender<Result<(), StateError>>,
}

pub(crate) struct Core {
    /// Last sequence given to a validated unit.
    seq: u64,
    /// Tops of the live snapshots (top -> count): what validation may still
    /// need from `versions`.
    live: BTreeMap<u64, usize>,
    pub(crate) versions: versions::Versions,
    pending: pending::Pending,
    queue: Vec<Queued>,
    /// The committer is writing a batch.
    busy: bool,
    shutdown: bool,
    /// Highest sequence of a batch that failed to land.
    last_failure: u64,
}

pub(crate) struct Shared {
    /// A file is opened at once; an in-memory database is created on first
    /// use, so an unused plugin holds no redb (its page cache and first
    /// pages are ~95 KiB).
    redb: OnceLock<redb::Database>,
    mode: Mode,
    persist: bool,
    /// Highest sequence that redb holds.
    applied: AtomicU64,
    core: Mutex<Core>,
    /// Wakes the committer / flusher.
    work: Condvar,
    /// Signalled when a batch has landed (reset waits for an idle committer).
    idle: Condvar,
    applied_tx: tokio::sync::watch::Sender<u64>,
    /// redb write transactions committed (batches, flushes, resets): what
    /// proves a read-only unit wrote nothing.
    write_txns: AtomicU64,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, Core> {
        lock(&self.core)
    }

    fn redb(&self) -> &redb::Database {
        self.redb.get_or_init(|| {
            // Only an in-memory database is left to create here; its
            // backend fails no write but out of range, which redb never does.
            memory_database().expect("creating an in-memory redb database")
        })
    }

    fn set_applied(&self, seq: u64) {
        self.applied.store(seq, Ordering::Release);
        self.applied_tx.send_replace(seq);
    }

    async fn wait_applied(&self, seq: u64) {
        let mut rx = self.applied_tx.subscribe();
        let _ = rx.wait_for(|a| *a >= seq).await;
    }
}

/// One plugin's database.
pub struct RedbDatabase {
    pub(crate) shared: Arc<Shared>,
    worker: Mutex<Option<JoinHandle<()>>>,
}

impl RedbDatabase {
    fn open(path: Option<&Path>, durability: Durability) -> Result<Self, StateError> {
        let redb = match path {
            Some(path) => OnceLock::from(
                redb::Database::builder()
                    .create(path)
                    .map_err(|e| StateError::Storage(format!("{}: {e}", path.display())))?,
            ),
            None => OnceLock::new(),
        };
        let persist = path.is_some();
        let mode = if persist && durability == Durability::Group {
            Mode::Group
        } else {
            Mode::Inline
        };
        let shared = Arc::new(Shared {
            redb,
            mode,
            persist,
            applied: AtomicU64::new(0),
            core: Mutex::new(Core {
                seq: 0,
                live: BTreeMap::new(),
                versions: Default::default(),
                pending: Default::default(),
                queue: Vec::new(),
                busy: false,
                shutdown: false,
                last_failure: 0,
            }),
            work: Condvar::new(),
            idle: Condvar::new(),
            applied_tx: tokio::sync::watch::channel(0).0,
            write_txns: AtomicU64::new(0),
        });
        let worker = match (persist, durability) {
            (false, _) => None,
            (true, Durability::Group) => {
                let s = shared.clone();
                Some(spawn("ministack-commit", move || committer(s))?)
            }
            (true, Durability::Relaxed { window_ms }) => {
                let s = shared.clone();
                let window = Duration::from_millis(window_ms.max(1));
                Some(spawn("ministack-flush", move || flusher(s, window))?)
            }
        };
        Ok(Self {
            shared,
            worker: Mutex::new(worker),
        })
    }

    /// Starts a unit over the latest committed state.
    pub fn begin(self: &Arc<Self>) -> RedbUnit {
        RedbUnit {
            db: self.clone(),
            snapshot: None,
            tables: HashMap::default(),
        }
    }

    /// Whether its redb exists (an in-memory one is made on first write).
    #[cfg(test)]
    pub(crate) fn created(&self) -> bool {
        self.shared.redb.get().is_some()
    }

    /// How many redb write transactions this database has committed.
    pub fn write_transactions(&self) -> u64 {
        self.shared.write_txns.load(Ordering::Relaxed)
    }

    /// Removes every table's rows.
    pub fn reset(&self) -> Result<(), StateError> {
        self.exclusive(true, |txn| {
            let names: Vec<String> = txn
                .list_tables()
                .map_err(storage)?
                .map(|h| redb::TableHandle::name(&h).to_string())
                .filter(|n| n.starts_with("t:"))
                .collect();
            for name in names {
                txn.delete_table(def(&name)).map_err(storage)?;
            }
            Ok(())
        })
    }

    /// The schema version recorded for this database (None when new).
    pub fn schema_version(&self) -> Result<Option<u32>, StateError> {
        let Some(redb) = self.shared.redb.get() else {
            return Ok(None); // in memory, not used yet
        };
        let txn = redb.begin_read().map_err(storage)?;
        let table = match txn.open_table(def(META_TABLE)) {
            Ok(t) => t,
            Err(TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(storage(e)),
        };
        let Some(value) = table.get(SCHEMA_KEY).map_err(storage)? else {
            return Ok(None);
        };
        let bytes: [u8; 4] = value
            .value()
            .try_into()
            .map_err(|_| StateError::Version("schema version record is corrupt".into()))?;
        Ok(Some(u32::from_be_bytes(bytes)))
    }

    pub fn set_schema_version(&self, version: u32) -> Result<(), StateError> {
        self.exclusive(false, |txn| {
            let mut t = txn.open_table(def(META_TABLE)).map_err(storage)?;
            t.insert(SCHEMA_KEY, version.to_be_bytes().as_slice())
                .map_err(storage)?;
            Ok(())
        })
    }

    /// Runs `f` in a write transaction of its own once the committer is idle,
    /// durable when persistent. Blocks commits meanwhile.
    fn exclusive(
        &self,
        reset: bool,
        f: impl FnOnce(&redb::WriteTransaction) -> Result<(), StateError>,
    ) -> Result<(), StateError> {
        let shared = &self.shared;
        let mut core = shared.lock();
        while core.busy || !core.queue.is_empty() {
            core = shared
                .idle
                .wait(core)
                .unwrap_or_else(PoisonError::into_inner);
        }
        if reset && shared.redb.get().is_none() {
            return Ok(()); // in memory and never used: nothing to empty
        }
        let mut txn = shared.redb().begin_write().map_err(storage)?;
        let durability = if shared.persist {
            redb::Durability::Immediate
        } else {
            redb::Durability::None
        };
        txn.set_durability(durability).map_err(storage)?;
        f(&txn)?;
        txn.commit().map_err(storage)?;
        shared.write_txns.fetch_add(1, Ordering::Relaxed);
        core.seq += 1;
        let seq = core.seq;
        if reset {
            core.versions.reset(seq);
        }
        shared.set_applied(seq);
        core.pending.prune(seq);
        Ok(())
    }
}

impl Drop for RedbDatabase {
    fn drop(&mut self) {
        self.shared.lock().shutdown = true;
        self.shared.work.notify_all();
        if let Some(worker) = lock(&self.worker).take() {
            let _ = worker.join();
        }
    }
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> Result<JoinHandle<()>, StateError> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(f)
        .map_err(storage)
}

/// Writes write sets, in order, in one redb transaction.
fn apply<'a>(
    redb: &redb::Database,
    durability: redb::Durability,
    sets: impl Iterator<Item = &'a WriteSet>,
) -> Result<(), StateError> {
    let mut txn = redb.begin_write().map_err(storage)?;
    txn.set_durability(durability).map_err(storage)?;
    {
        let mut open: HashMap<&str, redb::Table<&'static [u8], &'static [u8]>> = HashMap::default();
        for set in sets {
            for (table, writes) in set {
                let t = match open.entry(table.as_str()) {
                    std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                    std::collections::hash_map::Entry::Vacant(e) => {
                        e.insert(txn.open_table(def(&table_name(table))).map_err(storage)?)
                    }
                };
                for (key, value) in writes {
                    match value {
                        Some(v) => t.insert(key.as_slice(), &**v).map(drop),
                        None => t.remove(key.as_slice()).map(drop),
                    }
                    .map_err(storage)?;
                }
            }
        }
    }
    txn.commit().map_err(storage)
}

/// Writes the queued units in one transaction, publishes them and answers
/// their `commit()`. The caller has set `busy`.
fn land_batch(shared: &Shared, durability: redb::Durability) {
    let batch = std::mem::take(&mut shared.lock().queue);
    let Some(last) = batch.last().map(|q| q.seq) else {
        return;
    };
    let result = apply(shared.redb(), durability, batch.iter().map(|q| &q.writes));
    shared.write_txns.fetch_add(1, Ordering::Relaxed);
    let mut dropped = Vec::new();
    {
        let mut core = shared.lock();
        let mut applied = last;
        if result.is_err() {
            // Units queued since may have read the lost writes: run them again.
            core.last_failure = last;
            dropped = std::mem::take(&mut core.queue);
            applied = core.seq;
        }
        shared.set_applied(applied);
        core.pending.prune(applied);
    }
    for q in batch {
        let r = match &result {
            Ok(()) => Ok(()),
            Err(e) => Err(StateError::Storage(e.to_string())),
        };
        let _ = q.done.send(r);
    }
    for q in dropped {
        let _ = q.done.send(Err(StateError::Conflict));
    }
    if let Err(e) = result {
        tracing::error!("commit failed: {e}");
    }
}

/// True (and still `busy`) when units are queued; otherwise clears `busy`.
fn more_work(shared: &Shared) -> bool {
    let mut core = shared.lock();
    if core.queue.is_empty() {
        core.busy = false;
        shared.idle.notify_all();
        false
    } else {
        true
    }
}

/// Group commit: writes every queued unit in one fsync'd transaction.
fn committer(shared: Arc<Shared>) {
    loop {
        {
            let mut core = shared.lock();
            while core.queue.is_empty() {
                if core.shutdown {
                    return;
                }
                core = shared
                    .work
                    .wait(core)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            core.busy = true;
        }
        loop {
            land_batch(&shared, redb::Durability::Immediate);
            if !more_work(&shared) {
                break;
            }
        }
    }
}

/// In memory and relaxed: the unit that finds nobody writing writes the
/// queue itself (its own unit included), so a lone request pays no thread
/// hop. What queued up meanwhile goes to a blocking task, so this request
/// can answer; under load that task keeps landing batches, one redb
/// transaction for many units.
fn lead(shared: &Arc<Shared>) {
    land_batch(shared, redb::Durability::None);
    if !more_work(shared) {
        return;
    }
    let rest = {
        let shared = shared.clone();
        move || {
            loop {
                land_batch(&shared, redb::Durability::None);
                if !more_work(&shared) {
                    break;
                }
            }
        }
    };
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => drop(handle.spawn_blocking(rest)),
        Err(_) => rest(),
    }
}

/// Relaxed durability: commits land with `Durability::None`; this makes them
/// durable every `window`.
fn flusher(shared: Arc<Shared>, window: Duration) {
    let mut flushed = shared.applied.load(Ordering::Acquire);
    loop {
        let stop = {
            let core = shared.lock();
            if core.shutdown {
                true
            } else {
                let (core, _) = shared
                    .work
                    .wait_timeout(core, window)
                    .unwrap_or_else(PoisonError::into_inner);
                core.shutdown
            }
        };
        let applied = shared.applied.load(Ordering::Acquire);
        if applied > flushed {
            match flush(shared.redb()) {
                Ok(()) => {
                    shared.write_txns.fetch_add(1, Ordering::Relaxed);
                    flushed = applied;
                }
                Err(e) => tracing::error!("state flush failed: {e}"),
            }
        }
        if stop {
            return;
        }
    }
}

/// An empty durable commit: makes every earlier `Durability::None` commit durable.
fn flush(redb: &redb::Database) -> Result<(), StateError> {
    let mut txn = redb.begin_write().map_err(storage)?;
    txn.set_durability(redb::Durability::Immediate)
        .map_err(storage)?;
    txn.commit().map_err(storage)
}

struct Snapshot {
    /// None: an in-memory database nothing was written to yet (no redb).
    txn: Option<redb::ReadTransaction>,
    /// redb holds at least everything up to `base`.
    base: u64,
    /// The unit sees everything up to `top` (pending versions fill the gap).
    top: u64,
}

#[derive(Default)]
struct TableUnit {
    /// None: not opened yet; Some(None): the table does not exist.
    reader: Option<Option<Reader>>,
    set: ReadSet,
}

/// One atomic unit of reads and writes.
pub struct RedbUnit {
    db: Arc<RedbDatabase>,
    snapshot: Option<Snapshot>,
    tables: HashMap<String, TableUnit>,
}

impl Drop for RedbUnit {
    fn drop(&mut self) {
        if let Some(s) = self.snapshot.take() {
            let mut core = self.db.shared.lock();
            if let Some(n) = core.live.get_mut(&s.top) {
                *n -= 1;
                if *n == 0 {
                    core.live.remove(&s.top);
                }
            }
            if s.top > s.base {
                core.pending.unregister(s.base);
                let applied = self.db.shared.applied.load(Ordering::Acquire);
                core.pending.prune(applied);
            }
        }
    }
}

fn snapshot<'s>(
    shared: &Shared,
    slot: &'s mut Option<Snapshot>,
) -> Result<&'s Snapshot, StateError> {
    if slot.is_none() {
        // Under the lock so that redb cannot move past `top`.
        let mut core = shared.lock();
        let base = shared.applied.load(Ordering::Acquire);
        let top = core.seq;
        // Reading creates no database: one never written to reads as empty.
        let txn = match shared.redb.get() {
            Some(redb) => Some(redb.begin_read().map_err(storage)?),
            None => None,
        };
        if top > base {
            core.pending.register(base);
        }
        *core.live.entry(top).or_default() += 1;
        let snap = Snapshot { txn, base, top };
        *slot = Some(snap);
    }
    slot.as_ref().ok_or_else(|| storage("no snapshot"))
}

fn reader<'t>(
    shared: &Shared,
    slot: &mut Option<Snapshot>,
    table: &str,
    reader: &'t mut Option<Option<Reader>>,
) -> Result<Option<&'t Reader>, StateError> {
    if reader.is_none() {
        let snap = snapshot(shared, slot)?;
        let Some(txn) = &snap.txn else {
            *reader = Some(None);
            return Ok(None);
        };
        let opened = match txn.open_table(def(&table_name(table))) {
            Ok(t) => Some(t),
            Err(TableError::TableDoesNotExist(_)) => None,
            Err(e) => return Err(storage(e)),
        };
        *reader = Some(opened);
    }
    Ok(reader.as_ref().and_then(Option::as_ref))
}

impl RedbUnit {
    /// Makes sure `table` has an entry (allocating its name once per unit).
    fn table(&mut self, table: &str) {
        if !self.tables.contains_key(table) {
            self.tables.insert(table.to_string(), TableUnit::default());
        }
    }

    pub fn get(&mut self, table: &str, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        self.table(table);
        let RedbUnit {
            db,
            snapshot: slot,
            tables,
        } = self;
        let Some(tu) = tables.get_mut(table) else {
            return Ok(None);
        };
        if let Some(own) = tu.set.writes.get(key) {
            return Ok(own.as_deref().map(<[u8]>::to_vec));
        }
        tu.set.points.push(key.to_vec());
        let shared = &db.shared;
        let base = reader(shared, slot, table, &mut tu.reader)?;
        if let Some(s) = slot.as_ref()
            && s.top > s.base
            && let Some(value) = shared.lock().pending.get(s.base, s.top, table, key)
        {
            return Ok(value);
        }
        match base {
            Some(t) => Ok(t.get(key).map_err(storage)?.map(|v| v.value().to_vec())),
            None => Ok(None),
        }
    }

    fn write(&mut self, table: &str, key: Vec<u8>, value: Option<crate::merge::Value>) {
        self.table(table);
        if let Some(t) = self.tables.get_mut(table) {
            t.set.writes.insert(key, value);
        }
    }

    pub fn put(&mut self, table: &str, key: &[u8], value: &[u8]) -> Result<(), StateError> {
        self.write(table, key.to_vec(), Some(Arc::from(value)));
        Ok(())
    }

    pub fn delete(&mut self, table: &str, key: &[u8]) -> Result<bool, StateError> {
        let existed = self.get(table, key)?.is_some();
        self.write(table, key.to_vec(), None);
        Ok(existed)
    }

    /// Walks the unit's view of `range`, recording what it read.
    pub fn is_read_only(&self) -> bool {
        self.tables.values().all(|t| t.set.writes.is_empty())
    }

    /// Validates and lands the writes; resolves once they are durable (per
    /// [`Durability`]). `Err(Conflict)` means nothing was written.
    ///
    /// Validation happens on the first poll. A unit that passed it is queued
    /// and lands even if this future is then dropped (a timeout around the
    /// commit does not undo it); only `Ok` says it is durable.
    pub async fn commit(mut self) -> Result<(), StateError> {
        let shared = self.db.shared.clone();
        let (base, top) = self.snapshot.as_ref().map_or((0, 0), |s| (s.base, s.top));
        if self.is_read_only() {
            if top > base {
                // It saw writes that are not durable yet: wait for them.
                shared.wait_applied(top).await;
                if shared.lock().last_failure > base {
                    return Err(StateError::Conflict);
                }
            }
            return Ok(());
        }
        // Release the read transaction before waiting.
        for t in self.tables.values_mut() {
            t.reader = None;
        }
        let mut writes: WriteSet = Vec::new();
        for (name, t) in &mut self.tables {
            if !t.set.writes.is_empty() {
                writes.push((name.clone(), std::mem::take(&mut t.set.writes)));
            }
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        let lead_now = {
            let mut core = shared.lock();
            let stale = self.snapshot.is_some() && core.last_failure > base;
            if stale
                || core
                    .versions
                    .validate(top, self.tables.iter().map(|(n, t)| t.set.reads(n)))
                    .is_err()
            {
                return Err(StateError::Conflict);
            }
            core.seq += 1;
            let seq = core.seq;
            let core = &mut *core;
            for (table, w) in &writes {
                core.versions.record(seq, table, w.keys());
                core.pending.add(seq, table, w.iter());
            }
            // No live snapshot predates this: older versions are not needed.
            let oldest = core.live.keys().next().copied().unwrap_or(seq);
            core.versions.forget_upto(oldest);
            core.queue.push(Queued {
                seq,
                writes,
                done: tx,
            });
            match shared.mode {
                Mode::Group => {
                    shared.work.notify_one();
                    false
                }
                Mode::Inline if core.busy => false,
                Mode::Inline => {
                    core.busy = true;
                    true
                }
            }
        };
        drop(self);
        if lead_now {
            lead(&shared);
        }
        rx.await
            .unwrap_or_else(|_| Err(storage("the committer stopped")))
    }

    /// Drops the writes.
    pub fn rollback(self) {}
}

impl RangeOps for RedbUnit {
    fn visit_bounded(
        &mut self,
        table: &str,
        range: &KeyRange,
        (lo, hi): (Vec<u8>, Option<Vec<u8>>),
        limit: u64,
        f: &mut dyn FnMut(&[u8], &[u8]),
    ) -> Result<(), StateError> {
        self.table(table);
        let RedbUnit {
            db,
            snapshot: slot,
            tables,
        } = self;
        let Some(tu) = tables.get_mut(table) else {
            return Ok(());
        };
        let shared = &db.shared;
        let base = reader(shared, slot, table, &mut tu.reader)?;
        let merged;
        let mut own = &tu.set.writes;
        if let Some(s) = slot.as_ref()
            && s.top > s.base
        {
            merged = shared
                .lock()
                .pending
                .overlay(s.base, s.top, table, &lo, hi.as_deref(), own);
            own = &merged;
        }
        // redb's rows, as byte slices.
        struct Bytes(redb::AccessGuard<'static, &'static [u8]>);
        impl AsRef<[u8]> for Bytes {
            fn as_ref(&self) -> &[u8] {
                self.0.value()
            }
        }
        let upper = hi.as_deref().map_or(Bound::Unbounded, Bound::Excluded);
        let rows: Box<dyn Iterator<Item = Result<(Bytes, Bytes), StateError>>> = match base {
            Some(t) => {
                let rows = t
                    .range::<&[u8]>((Bound::Included(lo.as_slice()), upper))
                    .map_err(storage)?
                    .map(|r| r.map(|(k, v)| (Bytes(k), Bytes(v))).map_err(storage));
                if range.reverse {
                    Box::new(rows.rev())
                } else {
                    Box::new(rows)
                }
            }
            None => Box::new(std::iter::empty()),
        };
        let last = merge(rows, own, (&lo, hi.as_deref()), range.reverse, limit, f)?;
        tu.set.record_range(lo, hi, last, range.reverse);
        Ok(())
    }

    fn write_delete(&mut self, table: &str, key: Vec<u8>) {
        self.write(table, key, None);
    }
}

// ---- the backend contract (crate::backend), as the redb backend meets it ----

impl Backend for RedbStores {
    fn database(&self, plugin: &str) -> Result<Arc<dyn BackendDatabase>, StateError> {
        Ok(RedbStores::database(self, plugin)?)
    }

    fn reset_all(&self) -> Result<(), StateError> {
        RedbStores::reset_all(self)
    }
}

crate::backend::database_by_inherent_methods!(RedbDatabase);
crate::backend::unit_by_inherent_methods!(RedbUnit, ranges: crate::merge::RangeOps);
