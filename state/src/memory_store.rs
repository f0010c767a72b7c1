//! The in-memory backend, the gateway's default (no PERSIST_STATE): every
//! table an ordered map of keys to their recent versions, no redb.
//!
//! redb in memory paid for a file format nobody reads: every commit copied
//! and zeroed the b-tree pages it touched, checksummed them and wrote a
//! transaction header, and every unit opened a read transaction and each
//! table by name (a third of an SQS SendMessage's CPU, a quarter of an S3
//! PutObject's: docs/performance.md). Here a commit puts the unit's values
//! (already `Arc`s) into the maps under a lock, and a read is a map lookup.
//!
//! Same contract as redb (module `backend`): a unit reads the snapshot of
//! its first read, sees its own writes, and is validated at commit against
//! what committed after its snapshot (module `versions`, shared with redb).
//! Snapshots without copies: each key keeps the versions that a live
//! snapshot may still read ([`Chain`]); the older ones are dropped when the
//! key is written again, or from the [`Core::old`] queue once the last
//! snapshot that needed them is gone. `reset` swaps in empty tables: units
//! that began before it keep reading the tables they began on.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, VecDeque};

use crate::HashMap;
use std::ops::Bound;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use crate::backend::{Backend, BackendDatabase};
use crate::merge::{RangeOps, ReadSet, TableWrites, Value, merge};
use crate::{KeyRange, Row, StateError, check_name, lock, versions};

/// Every plugin's database, in memory.
#[derive(Default)]
pub struct MemoryStores {
    databases: Mutex<HashMap<String, Arc<MemoryDatabase>>>,
}

impl MemoryStores {
    pub fn database(&self, plugin: &str) -> Result<Arc<MemoryDatabase>, StateError> {
        check_name(plugin)?;
        let mut dbs = lock(&self.databases);
        Ok(dbs.entry(plugin.to_string()).or_default().clone())
    }

    pub fn reset_all(&self) -> Result<(), StateError> {
        for db in lock(&self.databases).values() {
            db.reset()?;
        }
        Ok(())
    }
}

/// A key's versions, newest first in effect: `latest` and, while a live
/// snapshot may still read them, `older` ones (ascending sequence). `None`
/// values are deletes.
struct Chain {
    seq: u64,
    value: Option<Value>,
    older: Vec<(u64, Option<Value>)>,
}

impl Chain {
    /// The value a snapshot at `top` sees (`None`: absent then).
    fn at(&self, top: u64) -> Option<&Value> {
        if self.seq <= top {
            return self.value.as_ref();
        }
        let (_, value) = self.older.iter().rev().find(|(s, _)| *s <= top)?;
        value.as_ref()
    }

    /// Drops the versions no snapshot at or after `oldest` can read.
    /// Returns true when the key can go (no snapshot sees it at all).
    fn prune(&mut self, oldest: u64) -> bool {
        if self.seq <= oldest {
            self.older.clear();
        } else if let Some(keep) = self.older.iter().rposition(|(s, _)| *s <= oldest) {
            self.older.drain(..keep);
        }
        self.value.is_none() && self.older.iter().all(|(_, v)| v.is_none())
    }

    /// Whether it still holds what only older snapshots read.
    fn holds_old(&self) -> bool {
        !self.older.is_empty() || self.value.is_none()
    }
}

type Table = BTreeMap<Vec<u8>, Chain>;
type Tables = HashMap<Arc<str>, Table>;

#[derive(Default)]
struct Core {
    /// Sequence of the last committed unit.
    seq: u64,
    /// Tops of the live snapshots (top -> count).
    live: BTreeMap<u64, usize>,
    versions: versions::Versions,
    /// The current tables (replaced, not emptied, by `reset`).
    data: Arc<RwLock<Tables>>,
    /// Keys whose chain keeps old versions or a delete, with the sequence
    /// of that write: pruned once no snapshot at or before it is live.
    old: VecDeque<(u64, Arc<str>, Vec<u8>)>,
    schema: Option<u32>,
}

impl Core {
    /// The oldest snapshot any live unit reads at (or the latest state).
    fn oldest_live(&self) -> u64 {
        self.live.keys().next().copied().unwrap_or(self.seq)
    }

    fn unregister(&mut self, top: u64) {
        if let Some(n) = self.live.get_mut(&top) {
            *n -= 1;
            if *n == 0 {
                self.live.remove(&top);
            }
        }
    }
}

/// One plugin's database, in memory.
#[derive(Default)]
pub struct MemoryDatabase {
    core: Mutex<Core>,
    /// Units that wrote (what `write_transactions` counts for redb).
    commits: AtomicU64,
}

fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(PoisonError::into_inner)
}

impl MemoryDatabase {
    fn core(&self) -> MutexGuard<'_, Core> {
        lock(&self.core)
    }

    pub fn begin(self: &Arc<Self>) -> MemoryUnit {
        MemoryUnit {
            db: self.clone(),
            snapshot: None,
            tables: HashMap::default(),
        }
    }

    /// Units that wrote something, so far.
    pub fn write_transactions(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    /// Removes every table's rows. Units that began before keep their
    /// snapshot; any that read something conflicts at commit.
    pub fn reset(&self) -> Result<(), StateError> {
        let mut core = self.core();
        core.seq += 1;
        let seq = core.seq;
        core.versions.reset(seq);
        core.data = Arc::default();
        core.old.clear();
        Ok(())
    }

    pub fn schema_version(&self) -> Result<Option<u32>, StateError> {
        Ok(self.core().schema)
    }

    pub fn set_schema_version(&self, version: u32) -> Result<(), StateError> {
        self.core().schema = Some(version);
        Ok(())
    }

    /// Versions held beyond each key's latest, and keys queued for pruning
    /// (for tests).
    #[cfg(test)]
    pub(crate) fn held(&self) -> (usize, usize) {
        let core = self.core();
        let data = read(&core.data);
        let older = data
            .values()
            .flat_map(|t| t.values())
            .map(|c| c.older.len() + usize::from(c.value.is_none()))
            .sum();
        (older, core.old.len())
    }

    #[cfg(test)]
    pub(crate) fn indexed(&self) -> usize {
        self.core().versions.indexed()
    }
}

/// Puts one committed write into its table; queues the key when its chain
/// keeps something only older snapshots read.
fn land(
    table: &mut Table,
    name: &Arc<str>,
    key: Vec<u8>,
    value: Option<Value>,
    seq: u64,
    oldest: u64,
    old: &mut VecDeque<(u64, Arc<str>, Vec<u8>)>,
) {
    // One walk of the tree, and the key moved in, not copied (an SQS send
    // writes only new keys: a lookup and then an insert were two walks).
    match table.entry(key) {
        Entry::Occupied(mut found) => {
            let chain = found.get_mut();
            let previous = std::mem::replace(&mut chain.value, value);
            chain.older.push((chain.seq, previous));
            chain.seq = seq;
            if chain.prune(oldest) {
                found.remove();
            } else if chain.holds_old() {
                old.push_back((seq, name.clone(), found.key().clone()));
            }
        }
        Entry::Vacant(_) if value.is_none() => {} // deleting what no snapshot sees
        // A new chain holds one present value: nothing to prune or queue.
        Entry::Vacant(slot) => {
            slot.insert(Chain {
                seq,
                value,
                older: Vec::new(),
            });
        }
    }
}

/// Prunes the queued keys that no live snapshot needs old versions of.
fn prune_old(tables: &mut Tables, old: &mut VecDeque<(u64, Arc<str>, Vec<u8>)>, oldest: u64) {
    while old.front().is_some_and(|(s, _, _)| *s <= oldest) {
        let Some((_, name, key)) = old.pop_front() else {
            break;
        };
        if let Some(table) = tables.get_mut(&name)
            && let Some(chain) = table.get_mut(key.as_slice())
            && chain.prune(oldest)
        {
            table.remove(key.as_slice());
        }
    }
}

struct Snapshot {
    top: u64,
    data: Arc<RwLock<Tables>>,
}

/// One atomic unit of reads and writes on a [`MemoryDatabase`].
pub struct MemoryUnit {
    db: Arc<MemoryDatabase>,
    snapshot: Option<Snapshot>,
    tables: HashMap<String, ReadSet>,
}

impl Drop for MemoryUnit {
    fn drop(&mut self) {
        if let Some(s) = self.snapshot.take() {
            self.db.core().unregister(s.top);
        }
    }
}

impl MemoryUnit {
    /// The unit's snapshot, taken at its first read.
    fn snapshot(&mut self) -> &Snapshot {
        let db = &self.db;
        self.snapshot.get_or_insert_with(|| {
            let mut core = db.core();
            let top = core.seq;
            *core.live.entry(top).or_default() += 1;
            Snapshot {
                top,
                data: core.data.clone(),
            }
        })
    }

    fn table(&mut self, table: &str) -> &mut ReadSet {
        if !self.tables.contains_key(table) {
            self.tables.insert(table.to_string(), ReadSet::default());
        }
        self.tables.get_mut(table).expect("inserted above")
    }

    pub fn get(&mut self, table: &str, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        let t = self.table(table);
        if let Some(own) = t.writes.get(key) {
            return Ok(own.as_deref().map(<[u8]>::to_vec));
        }
        t.points.push(key.to_vec());
        let snap = self.snapshot();
        let data = read(&snap.data);
        Ok(data
            .get(table)
            .and_then(|t| t.get(key))
            .and_then(|c| c.at(snap.top))
            .map(|v| v.to_vec()))
    }

    pub fn put(&mut self, table: &str, key: &[u8], value: &[u8]) -> Result<(), StateError> {
        self.table(table)
            .writes
            .insert(key.to_vec(), Some(Arc::from(value)));
        Ok(())
    }

    pub fn delete(&mut self, table: &str, key: &[u8]) -> Result<bool, StateError> {
        let existed = self.get(table, key)?.is_some();
        self.table(table).writes.insert(key.to_vec(), None);
        Ok(existed)
    }

    /// Walks the unit's view of `range`, recording what it read.
    pub fn is_read_only(&self) -> bool {
        self.tables.values().all(|t| t.writes.is_empty())
    }

    /// Validates and lands the writes. Everything is visible (and, in
    /// memory, as durable as it gets) when this returns.
    pub async fn commit(mut self) -> Result<(), StateError> {
        if self.is_read_only() {
            return Ok(());
        }
        let db = self.db.clone();
        let mut core = db.core();
        let top = self.snapshot.as_ref().map(|s| s.top);
        if let Some(top) = top {
            let reads = self.tables.iter().map(|(name, t)| t.reads(name));
            if core.versions.validate(top, reads).is_err() {
                return Err(StateError::Conflict);
            }
            core.unregister(top);
            self.snapshot = None;
        }
        core.seq += 1;
        let seq = core.seq;
        let oldest = core.oldest_live();
        let core = &mut *core;
        let mut data = write(&core.data);
        for (name, t) in &mut self.tables {
            if t.writes.is_empty() {
                continue;
            }
            let writes: TableWrites = std::mem::take(&mut t.writes);
            core.versions.record(seq, name, writes.keys());
            let name: Arc<str> = match data.get_key_value(name.as_str()) {
                Some((name, _)) => name.clone(),
                None => Arc::from(name.as_str()),
            };
            let table = data.entry(name.clone()).or_default();
            for (key, value) in writes {
                land(table, &name, key, value, seq, oldest, &mut core.old);
            }
        }
        prune_old(&mut data, &mut core.old, oldest);
        core.versions.forget_upto(oldest);
        drop(data);
        db.commits.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

impl RangeOps for MemoryUnit {
    fn visit_bounded(
        &mut self,
        table: &str,
        range: &KeyRange,
        (lo, hi): (Vec<u8>, Option<Vec<u8>>),
        limit: u64,
        f: &mut dyn FnMut(&[u8], &[u8]),
    ) -> Result<(), StateError> {
        self.table(table);
        let snap = self.snapshot();
        let (top, data) = (snap.top, snap.data.clone());
        let data = read(&data);
        let t = self.tables.get_mut(table).expect("made above");
        let upper = hi.as_deref().map_or(Bound::Unbounded, Bound::Excluded);
        let bounds = (Bound::Included(lo.as_slice()), upper);
        let base = data.get(table).map(|rows| {
            rows.range::<[u8], _>(bounds)
                .filter_map(move |(k, c)| Some((k.as_slice(), c.at(top)?.as_ref())))
        });
        let mut base: Box<dyn Iterator<Item = (&[u8], &[u8])>> = match (base, range.reverse) {
            (Some(rows), false) => Box::new(rows),
            (Some(rows), true) => Box::new(rows.rev()),
            (None, _) => Box::new(std::iter::empty()),
        };
        let last = merge(
            std::iter::from_fn(|| base.next().map(Ok::<_, StateError>)),
            &t.writes,
            (&lo, hi.as_deref()),
            range.reverse,
            limit,
            f,
        )?;
        t.record_range(lo, hi, last, range.reverse);
        Ok(())
    }

    fn write_delete(&mut self, table: &str, key: Vec<u8>) {
        self.table(table).writes.insert(key, None);
    }
}

// ---- the backend contract (crate::backend) ----

impl Backend for MemoryStores {
    fn database(&self, plugin: &str) -> Result<Arc<dyn BackendDatabase>, StateError> {
        Ok(MemoryStores::database(self, plugin)?)
    }

    fn reset_all(&self) -> Result<(), StateError> {
        MemoryStores::reset_all(self)
    }
}

crate::backend::database_by_inherent_methods!(MemoryDatabase);
crate::backend::unit_by_inherent_methods!(MemoryUnit, ranges: crate::merge::RangeOps);
