//! Writes that are validated but not yet on disk (group commit only).
//!
//! A validated unit waits for the next fsync. Its writes are visible to units
//! that begin after its validation (so a hot key can be updated many times per
//! fsync instead of once), but nobody is told "done" before the fsync: a unit
//! that read pending data lands in the same or a later batch, and a read-only
//! unit that saw pending data waits for it to be durable before it returns.
//!
//! A snapshot is (redb read transaction, `base`, `top`): redb holds everything
//! up to `base` (maybe more, never beyond `top`), and the pending versions
//! with `base < seq <= top` supply the rest. Versions are kept until no
//! snapshot can need them.

use std::collections::{BTreeMap, VecDeque};

use crate::HashMap;
use std::ops::Bound;
use std::sync::Arc;

use crate::merge::Value;

type Versions = VecDeque<(u64, Option<Value>)>;

#[derive(Default)]
pub(crate) struct Pending {
    tables: HashMap<Arc<str>, BTreeMap<Vec<u8>, Versions>>,
    /// (seq, table, key) in seq order, to drop versions oldest first.
    log: VecDeque<(u64, Arc<str>, Vec<u8>)>,
    /// Bases of live snapshots that see pending versions (base -> count).
    active: BTreeMap<u64, usize>,
}

impl Pending {
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.log.is_empty()
    }

    pub(crate) fn add<'k>(
        &mut self,
        seq: u64,
        table: &str,
        writes: impl Iterator<Item = (&'k Vec<u8>, &'k Option<Value>)>,
    ) {
        let name: Arc<str> = match self.tables.get_key_value(table) {
            Some((name, _)) => name.clone(),
            None => Arc::from(table),
        };
        let t = self.tables.entry(name.clone()).or_default();
        for (key, value) in writes {
            t.entry(key.clone())
                .or_default()
                .push_back((seq, value.clone()));
            self.log.push_back((seq, name.clone(), key.clone()));
        }
    }

    /// The value of `key` as of `top` if a pending version in (base, top]
    /// has it: `Some(None)` is a pending delete, `None` means ask redb.
    pub(crate) fn get(
        &self,
        base: u64,
        top: u64,
        table: &str,
        key: &[u8],
    ) -> Option<Option<Vec<u8>>> {
        let versions = self.tables.get(table)?.get(key)?;
        latest(versions, base, top).map(|v| v.as_deref().map(<[u8]>::to_vec))
    }

    /// Pending entries of [lo, hi) as of `top`, merged under `own` (the
    /// unit's own writes win).
    pub(crate) fn overlay(
        &self,
        base: u64,
        top: u64,
        table: &str,
        lo: &[u8],
        hi: Option<&[u8]>,
        own: &BTreeMap<Vec<u8>, Option<Value>>,
    ) -> BTreeMap<Vec<u8>, Option<Value>> {
        let upper = hi.map_or(Bound::Unbounded, Bound::Excluded);
        let mut merged = BTreeMap::new();
        if let Some(t) = self.tables.get(table) {
            for (key, versions) in t.range::<[u8], _>((Bound::Included(lo), upper)) {
                if let Some(value) = latest(versions, base, top) {
                    merged.insert(key.clone(), value);
                }
            }
        }
        for (key, value) in own.range::<[u8], _>((Bound::Included(lo), upper)) {
            merged.insert(key.clone(), value.clone());
        }
        merged
    }

    pub(crate) fn register(&mut self, base: u64) {
        *self.active.entry(base).or_default() += 1;
    }

    pub(crate) fn unregister(&mut self, base: u64) {
        if let Some(n) = self.active.get_mut(&base) {
            *n -= 1;
            if *n == 0 {
                self.active.remove(&base);
            }
        }
    }

    /// Drops versions that redb holds (seq <= applied) and no live snapshot
    /// needs.
    pub(crate) fn prune(&mut self, applied: u64) {
        let limit = self
            .active
            .keys()
            .next()
            .map_or(applied, |b| applied.min(*b));
        while let Some((seq, _, _)) = self.log.front() {
            if *seq > limit {
                break;
            }
            let Some((_, table, key)) = self.log.pop_front() else {
                break;
            };
            if let Some(t) = self.tables.get_mut(&table)
                && let Some(versions) = t.get_mut(&key)
            {
                versions.pop_front();
                if versions.is_empty() {
                    t.remove(&key);
                }
            }
        }
    }
}

fn latest(versions: &Versions, base: u64, top: u64) -> Option<Option<Value>> {
    versions
        .iter()
        .rev()
        .find(|(seq, _)| *seq <= top)
        .filter(|(seq, _)| *seq > base)
        .map(|(_, value)| value.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_by_snapshot_and_pruning() {
        let mut p = Pending::default();
        let v = |s: &str| Some(Value::from(s.as_bytes()));
        let got = |s: &str| Some(Some(s.as_bytes().to_vec()));
        p.add(1, "t", [(&b"k".to_vec(), &v("one"))].into_iter());
        p.add(2, "t", [(&b"k".to_vec(), &None)].into_iter());
        p.add(
            3,
            "t",
            [(&b"k".to_vec(), &v("three")), (&b"z".to_vec(), &v("z"))].into_iter(),
        );
        assert_eq!(p.get(0, 1, "t", b"k"), got("one"));
        assert_eq!(p.get(0, 2, "t", b"k"), Some(None));
        assert_eq!(p.get(0, 3, "t", b"k"), got("three"));
        // redb already holds seq 1 and the snapshot's top is 1: ask redb.
        assert_eq!(p.get(1, 1, "t", b"k"), None);
        assert_eq!(p.get(0, 3, "t", b"nope"), None);
        let own: BTreeMap<Vec<u8>, Option<Value>> =
            [(b"a".to_vec(), v("own"))].into_iter().collect();
        let merged = p.overlay(0, 3, "t", b"", None, &own);
        assert_eq!(merged.len(), 3);
        assert_eq!(merged[&b"z".to_vec()], v("z"));
        // A snapshot with base 0 keeps everything alive.
        p.register(0);
        p.prune(3);
        assert_eq!(p.get(0, 2, "t", b"k"), Some(None));
        p.unregister(0);
        p.prune(2);
        assert_eq!(p.get(2, 3, "t", b"k"), got("three"));
        p.prune(3);
        assert!(p.is_empty());
        assert!(p.tables["t"].is_empty());
    }
}
