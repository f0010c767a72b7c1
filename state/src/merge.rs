//! What both backends' units keep per table, and the walk that lays a unit's
//! own writes over the rows of its snapshot.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

use crate::{StateError, versions};

type Bytes = Vec<u8>;
/// A written value: shared, so a unit's writes are held once between its
/// validation and its landing.
pub(crate) type Value = Arc<[u8]>;
/// A unit's writes to one table (`None`: deleted).
pub(crate) type TableWrites = BTreeMap<Bytes, Option<Value>>;

/// One table's writes and reads in a unit (the reads are validated at commit).
#[derive(Default)]
pub(crate) struct ReadSet {
    pub writes: TableWrites,
    pub points: Vec<Bytes>,
    /// [lo, hi) ranges; `None` is unbounded above.
    pub ranges: Vec<(Bytes, Option<Bytes>)>,
}

impl ReadSet {
    pub(crate) fn reads<'a>(&'a self, table: &'a str) -> versions::TableReads<'a> {
        versions::TableReads {
            table,
            points: &self.points,
            ranges: &self.ranges,
        }
    }

    /// Records a walk of [lo, hi): with a limit, only the part up to `last`
    /// (the last row returned) was read.
    pub(crate) fn record_range(
        &mut self,
        lo: Bytes,
        hi: Option<Bytes>,
        last: Option<Bytes>,
        reverse: bool,
    ) {
        let read = match last {
            Some(last) if reverse => (last, hi),
            Some(mut last) => {
                last.push(0);
                (lo, Some(last))
            }
            None => (lo, hi),
        };
        self.ranges.push(read);
    }
}

/// Walks the live rows of [lo, hi) in order (reverse if asked): `own` (the
/// unit's writes and deletes) over `base` (the snapshot's rows of that
/// range, in the same order), calling `f` for up to `limit` rows. Returns
/// the key of the last row when the limit stopped the walk.
pub(crate) fn merge<K: AsRef<[u8]>, V: AsRef<[u8]>>(
    mut base: impl Iterator<Item = Result<(K, V), StateError>>,
    own: &TableWrites,
    (lo, hi): (&[u8], Option<&[u8]>),
    reverse: bool,
    limit: u64,
    f: &mut dyn FnMut(&[u8], &[u8]),
) -> Result<Option<Bytes>, StateError> {
    let upper = hi.map_or(Bound::Unbounded, Bound::Excluded);
    let own_range = own.range::<[u8], _>((Bound::Included(lo), upper));
    let mut own_rows: Box<dyn Iterator<Item = (&Bytes, &Option<Value>)>> = if reverse {
        Box::new(own_range.rev())
    } else {
        Box::new(own_range)
    };
    let mut seen = 0u64;
    let mut emit = |k: &[u8], v: &[u8]| {
        f(k, v);
        seen += 1;
        seen >= limit
    };
    let mut b = base.next().transpose()?;
    let mut o = own_rows.next();
    loop {
        enum Pick {
            Base,
            Own,
            Both,
        }
        let pick = match (&b, &o) {
            (None, None) => return Ok(None),
            (Some(_), None) => Pick::Base,
            (None, Some(_)) => Pick::Own,
            (Some((bk, _)), Some((ok, _))) => match bk.as_ref().cmp(ok.as_slice()) {
                std::cmp::Ordering::Equal => Pick::Both,
                std::cmp::Ordering::Greater if !reverse => Pick::Own,
                std::cmp::Ordering::Less if reverse => Pick::Own,
                _ => Pick::Base,
            },
        };
        if matches!(pick, Pick::Base) {
            if let Some((k, v)) = b.take()
                && emit(k.as_ref(), v.as_ref())
            {
                return Ok(Some(k.as_ref().to_vec()));
            }
            b = base.next().transpose()?;
            continue;
        }
        if matches!(pick, Pick::Both) {
            // The unit's own write shadows the stored row.
            b = base.next().transpose()?;
        }
        if let Some((k, v)) = o.take()
            && let Some(v) = v
            && emit(k, v)
        {
            return Ok(Some(k.clone()));
        }
        o = own_rows.next();
    }
}

/// A unit's range reads and deletes, the same on both backends: each
/// backend gives its `visit` (its snapshot's rows with the unit's own writes
/// laid over them, recording the range read) and how it records a write.
pub(crate) trait RangeOps {
    /// [`RangeOps::visit_bounded`] of a range that can hold rows, asked for
    /// at least one.
    fn visit(
        &mut self,
        table: &str,
        range: &crate::KeyRange,
        limit: u64,
        f: &mut dyn FnMut(&[u8], &[u8]),
    ) -> Result<(), StateError> {
        let Some(bounds) = range.bounds() else {
            return Ok(());
        };
        if limit == 0 {
            return Ok(());
        }
        self.visit_bounded(table, range, bounds, limit, f)
    }

    /// Calls `f` on at most `limit` rows of `range` (whose key bounds are
    /// `bounds`: from `range.bounds()`) and records the range as read.
    fn visit_bounded(
        &mut self,
        table: &str,
        range: &crate::KeyRange,
        bounds: (Vec<u8>, Option<Vec<u8>>),
        limit: u64,
        f: &mut dyn FnMut(&[u8], &[u8]),
    ) -> Result<(), StateError>;

    /// Records the deletion of `key` in the unit.
    fn write_delete(&mut self, table: &str, key: Bytes);

    fn scan(
        &mut self,
        table: &str,
        range: &crate::KeyRange,
        limit: u32,
    ) -> Result<Vec<crate::Row>, StateError> {
        let mut rows = Vec::new();
        self.visit(table, range, u64::from(limit), &mut |k, v| {
            rows.push((k.to_vec(), v.to_vec()))
        })?;
        Ok(rows)
    }

    fn count(&mut self, table: &str, range: &crate::KeyRange) -> Result<u64, StateError> {
        let mut n = 0;
        self.visit(table, range, u64::MAX, &mut |_, _| n += 1)?;
        Ok(n)
    }

    fn delete_range(&mut self, table: &str, range: &crate::KeyRange) -> Result<u64, StateError> {
        let mut keys = Vec::new();
        self.visit(table, range, u64::MAX, &mut |k, _| keys.push(k.to_vec()))?;
        let n = keys.len() as u64;
        for key in keys {
            self.write_delete(table, key);
        }
        Ok(n)
    }
}
