//! What recent commits wrote, kept in memory to validate optimistic units.
//!
//! Every validated unit gets a sequence number; for each key it writes we keep
//! the sequence of its last write. A unit that read at snapshot `v` is valid
//! when nothing it read (point keys, including absent ones, and scanned
//! ranges) was written with a sequence above `v`.
//!
//! Memory stays small: an entry is dropped as soon as no live snapshot is
//! older than it, and at most [`LOG_CAP`] key writes are indexed in any case.
//! Writes older than that are summarised by `floor`; a unit whose snapshot
//! predates `floor` is checked per table instead (conservative: it may get a
//! conflict it did not strictly have, never the reverse).

use std::collections::{BTreeMap, VecDeque, btree_map};

use crate::HashMap;
use std::ops::Bound;
use std::sync::Arc;

/// Key writes indexed for validation.
pub(crate) const LOG_CAP: usize = 1 << 16;

#[derive(Default)]
struct TableVersions {
    /// Sequence of the last write to any key of the table.
    last_write: u64,
    /// Last write sequence of recently written keys.
    keys: BTreeMap<Vec<u8>, u64>,
}

#[derive(Default)]
pub(crate) struct Versions {
    tables: HashMap<Arc<str>, TableVersions>,
    log: VecDeque<(u64, Arc<str>, Vec<u8>)>,
    /// Writes with a sequence at or below this may be missing from the index.
    floor: u64,
    /// Sequence of the last reset: every read before it is stale.
    reset_seq: u64,
}

/// What one unit read from one table.
pub(crate) struct TableReads<'a> {
    pub table: &'a str,
    pub points: &'a [Vec<u8>],
    /// [lo, hi) ranges; `None` is unbounded above.
    pub ranges: &'a [(Vec<u8>, Option<Vec<u8>>)],
}

impl Versions {
    /// `Err(seq)` names a later write that invalidates a read at snapshot `v`.
    pub(crate) fn validate<'a>(
        &self,
        v: u64,
        reads: impl Iterator<Item = TableReads<'a>>,
    ) -> Result<(), u64> {
        let mut any = false;
        for r in reads {
            if r.points.is_empty() && r.ranges.is_empty() {
                continue;
            }
            any = true;
            let Some(t) = self.tables.get(r.table) else {
                continue;
            };
            if t.last_write <= v {
                continue;
            }
            if v < self.floor {
                return Err(t.last_write);
            }
            for key in r.points {
                if let Some(&s) = t.keys.get(key.as_slice())
                    && s > v
                {
                    return Err(s);
                }
            }
            for (lo, hi) in r.ranges {
                let upper = hi.as_deref().map_or(Bound::Unbounded, Bound::Excluded);
                let range = t
                    .keys
                    .range::<[u8], _>((Bound::Included(lo.as_slice()), upper));
                if let Some(s) = range.map(|(_, s)| *s).find(|s| *s > v) {
                    return Err(s);
                }
            }
        }
        if any && self.reset_seq > v {
            return Err(self.reset_seq);
        }
        Ok(())
    }

    /// Records that the unit with sequence `seq` wrote `keys` of `table`.
    pub(crate) fn record<'k>(
        &mut self,
        seq: u64,
        table: &str,
        keys: impl Iterator<Item = &'k Vec<u8>>,
    ) {
        let name: Arc<str> = match self.tables.get_key_value(table) {
            Some((name, _)) => name.clone(),
            None => Arc::from(table),
        };
        let t = self.tables.entry(name.clone()).or_default();
        t.last_write = seq;
        for key in keys {
            t.keys.insert(key.clone(), seq);
            self.log.push_back((seq, name.clone(), key.clone()));
        }
        while self.log.len() > LOG_CAP {
            self.forget_oldest();
        }
    }

    /// Drops the index entries of writes at or below `seq`: no snapshot that
    /// old is alive, so no validation can ask about them.
    pub(crate) fn forget_upto(&mut self, seq: u64) {
        while self.log.front().is_some_and(|(s, _, _)| *s <= seq) {
            self.forget_oldest();
        }
    }

    fn forget_oldest(&mut self) {
        let Some((s, table, key)) = self.log.pop_front() else {
            return;
        };
        // One search of the index, not a lookup and then a removal.
        if let Some(t) = self.tables.get_mut(&table)
            && let btree_map::Entry::Occupied(e) = t.keys.entry(key)
            && *e.get() == s
        {
            e.remove();
        }
        self.floor = self.floor.max(s);
    }

    /// Index entries held (for tests and metrics).
    #[cfg(test)]
    pub(crate) fn indexed(&self) -> usize {
        self.log.len()
    }

    /// Everything was deleted at `seq`.
    pub(crate) fn reset(&mut self, seq: u64) {
        self.reset_seq = seq;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reads<'a>(
        table: &'a str,
        points: &'a [Vec<u8>],
        ranges: &'a [(Vec<u8>, Option<Vec<u8>>)],
    ) -> std::iter::Once<TableReads<'a>> {
        std::iter::once(TableReads {
            table,
            points,
            ranges,
        })
    }

    #[test]
    fn points_ranges_and_floor() {
        let mut v = Versions::default();
        v.record(1, "t", [b"a".to_vec(), b"m".to_vec()].iter());
        v.record(2, "t", [b"x".to_vec()].iter());
        let a = [b"a".to_vec()];
        let b = [b"b".to_vec()];
        // Read at 1: `a` unchanged since, `x` changed at 2.
        assert_eq!(v.validate(1, reads("t", &a, &[])), Ok(()));
        assert_eq!(v.validate(0, reads("t", &a, &[])), Err(1));
        assert_eq!(v.validate(1, reads("t", &b, &[])), Ok(()));
        assert_eq!(v.validate(1, reads("other", &a, &[])), Ok(()));
        let to_n = [(b"a".to_vec(), Some(b"n".to_vec()))];
        let from_n = [(b"n".to_vec(), None)];
        assert_eq!(v.validate(1, reads("t", &[], &to_n)), Ok(()));
        assert_eq!(v.validate(1, reads("t", &[], &from_n)), Err(2));
        // Push `a` and `m` out of the index: old snapshots fall back to the table.
        for s in 3..(LOG_CAP as u64 + 10) {
            v.record(s, "u", [s.to_be_bytes().to_vec()].iter());
        }
        assert!(v.floor >= 2);
        assert_eq!(v.validate(1, reads("t", &b, &[])), Err(2));
        assert_eq!(v.validate(2, reads("t", &b, &[])), Ok(()));
        assert!(v.log.len() <= LOG_CAP);
        v.reset(LOG_CAP as u64 + 20);
        assert!(
            v.validate(LOG_CAP as u64 + 19, reads("zz", &b, &[]))
                .is_err()
        );
        // A blind unit (no reads) is never invalidated.
        assert_eq!(v.validate(0, reads("t", &[], &[])), Ok(()));
    }
}
