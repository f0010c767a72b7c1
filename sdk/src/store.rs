//! Typed tables over the host's store.
//!
//! The host keeps one database per plugin; a table is a name inside it, and a
//! [`Scope`] says which part of the data a key lives in (the caller's account
//! and region by default, the account, or shared by all accounts). Everything
//! one request reads and writes is one atomic unit: it lands when the handler
//! returns `Ok` and vanishes when it returns an error, panics or times out.
//!
//! ```text
//! #[derive(Serialize, Deserialize)]
//! struct Queue { url: String, created: f64 }
//!
//! const QUEUES: Table<Queue> = Table::new("queues");            // account + region
//! const USERS: Table<User> = Table::account("users");           // account, every region
//! const BUCKET_OWNERS: Table<String> = Table::global("buckets"); // all accounts
//!
//! QUEUES.put("orders", &queue)?;
//! let q = QUEUES.get("orders")?.ok_or_else(|| AwsError::not_found("QueueDoesNotExist", "..."))?;
//! let page = QUEUES.page(&Scan::prefix("ord"), next_token.as_deref(), 1000)?;
//! ```
//!
//! Keys are strings (UTF-8 bytes on the wire, ordered bytewise); values are
//! JSON, or postcard in a [`Table::compact`] table. See [`keys`] for
//! composite and ordered keys.

use std::cell::RefCell;
use std::marker::PhantomData;
use std::rc::Rc;

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use crate::generated::ministack::plugin::store::Scope;
use crate::generated::ministack::plugin::store::{self as wit, KeyRange};
use crate::{AwsError, pagination};

/// Which keys a scan, count or delete-range visits.
///
/// Bounds are whole keys (the prefix included) and apply after the prefix
/// filter. `start_after` is the usual pagination bound: in a forward scan the
/// rows after that key, in a reverse scan the rows before it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scan {
    pub prefix: String,
    /// Exclusive bound in the direction of the scan.
    pub start_after: Option<String>,
    /// Inclusive lower bound.
    pub from: Option<String>,
    /// Exclusive upper bound.
    pub to: Option<String>,
    pub reverse: bool,
    /// At most this many rows (0: no limit).
    pub limit: u32,
}

impl Scan {
    /// Every key.
    pub fn all() -> Self {
        Scan::default()
    }

    /// Keys that begin with `prefix`.
    pub fn prefix(prefix: impl Into<String>) -> Self {
        Scan {
            prefix: prefix.into(),
            ..Scan::default()
        }
    }

    /// Rows strictly after `key` in scan order (strictly before it when reversed).
    pub fn start_after(mut self, key: impl Into<String>) -> Self {
        self.start_after = Some(key.into());
        self
    }

    /// Keys `>= key`.
    pub fn from(mut self, key: impl Into<String>) -> Self {
        self.from = Some(key.into());
        self
    }

    /// Keys `< key`.
    pub fn to(mut self, key: impl Into<String>) -> Self {
        self.to = Some(key.into());
        self
    }

    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = limit;
        self
    }

    /// Descending key order.
    pub fn reverse(mut self) -> Self {
        self.reverse = true;
        self
    }

    /// The WIT range: `start_after` folds into the bounds (the smallest key
    /// after `k` is `k` followed by a zero byte).
    pub fn key_range(&self) -> KeyRange {
        let mut start = self.from.clone().map(String::into_bytes);
        let mut end = self.to.clone().map(String::into_bytes);
        if let Some(after) = &self.start_after {
            if self.reverse {
                let bound = after.as_bytes().to_vec();
                end = Some(match end {
                    Some(e) if e < bound => e,
                    _ => bound,
                });
            } else {
                let mut bound = after.as_bytes().to_vec();
                bound.push(0);
                start = Some(match start {
                    Some(s) if s > bound => s,
                    _ => bound,
                });
            }
        }
        KeyRange {
            prefix: self.prefix.as_bytes().to_vec(),
            start,
            end,
            reverse: self.reverse,
        }
    }

    fn wit_limit(&self) -> u32 {
        if self.limit == 0 {
            u32::MAX
        } else {
            self.limit
        }
    }
}

/// One page of a listing and the token for the next (see [`Table::page`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Page<V> {
    pub items: Vec<(String, V)>,
    /// Opaque token for the next page; `None` on the last page.
    pub next_token: Option<String>,
}

/// A table of `V` values (serde, stored as JSON, or postcard when
/// [`compact`](Table::compact)) under string keys.
///
/// `const` tables are the usual form: `const ROLES: Table<Role> = Table::new("roles");`.
pub struct Table<V> {
    name: &'static str,
    scope: Scope,
    compact: bool,
    _values: PhantomData<fn() -> V>,
}

/// The first byte of a row written by a [`Table::compact`] table; JSON
/// never starts with it, so a table that turns compact reads its old rows.
const COMPACT_ROW: u8 = 1;

impl<V> Clone for Table<V> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<V> Copy for Table<V> {}

impl<V> std::fmt::Debug for Table<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Table({:?}, {})", self.scope, self.name)
    }
}

impl<V: Serialize + DeserializeOwned> Table<V> {
    /// A table in the caller's account and region.
    pub const fn new(name: &'static str) -> Self {
        Table::with_scope(name, Scope::AccountRegion)
    }

    /// A table in the caller's account, shared by every region (IAM-style).
    pub const fn account(name: &'static str) -> Self {
        Table::with_scope(name, Scope::Account)
    }

    /// A table shared by every account and region (S3 bucket names, Route 53).
    pub const fn global(name: &'static str) -> Self {
        Table::with_scope(name, Scope::Global)
    }

    pub const fn with_scope(name: &'static str, scope: Scope) -> Self {
        Table {
            name,
            scope,
            compact: false,
            _values: PhantomData,
        }
    }

    /// Rows written in postcard after a format byte instead of JSON: no
    /// escaping of strings, no field names. For hot tables of many small
    /// rows (Kinesis records). Rows written before as JSON still read.
    /// `V` must be a plain serde type: postcard is not self-describing, so
    /// `skip_serializing_if`, `flatten`, `untagged` and `Value` fields do not
    /// round-trip.
    pub const fn compact(self) -> Self {
        Table {
            compact: true,
            ..self
        }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    pub fn scope(&self) -> Scope {
        self.scope
    }

    /// The same table as raw bytes.
    pub fn raw(&self) -> RawTable {
        RawTable::with_scope(self.name, self.scope)
    }

    /// The bytes this table stores for `value`, and back: for a plugin's
    /// unit tests that its row type survives the table's encoding (a
    /// [`compact`](Table::compact) row type must be plain serde).
    pub fn encode_row(&self, value: &V) -> Result<Vec<u8>, AwsError> {
        encode(value, self.compact).map_err(AwsError::internal)
    }

    /// See [`encode_row`](Table::encode_row); reads JSON rows too.
    pub fn decode_row(&self, bytes: &[u8]) -> Result<V, AwsError> {
        decode(self.name, b"", bytes, Whole::Row)
    }

    /// The first fields of a row, as `P`: a struct of `V`'s first fields,
    /// in `V`'s order and with its types. A compact row is read no further
    /// than them (postcard reads fields in order); a JSON row is parsed
    /// whole, its other fields skipped. For a read that needs a few
    /// fields at the head of a large record.
    pub fn decode_prefix<P: DeserializeOwned>(&self, bytes: &[u8]) -> Result<P, AwsError> {
        decode(self.name, b"", bytes, Whole::Prefix)
    }

    /// [`get`](Table::get), reusing `cache`'s parse when the stored bytes
    /// are the ones it was made from (see [`ParseCache`]).
    pub fn get_cached(
        &self,
        key: &str,
        cache: &'static std::thread::LocalKey<ParseCache<V>>,
    ) -> Result<Option<Rc<V>>, AwsError> {
        let Some(bytes) = wit::get(self.scope, self.name, key.as_bytes()) else {
            return Ok(None);
        };
        cache
            .with(|c| c.get(bytes, |b| decode(self.name, key.as_bytes(), b, Whole::Row)))
            .map(Some)
    }

    pub fn get(&self, key: &str) -> Result<Option<V>, AwsError> {
        match wit::get(self.scope, self.name, key.as_bytes()) {
            Some(bytes) => decode(self.name, key.as_bytes(), &bytes, Whole::Row).map(Some),
            None => Ok(None),
        }
    }

    pub fn contains(&self, key: &str) -> bool {
        wit::get(self.scope, self.name, key.as_bytes()).is_some()
    }

    pub fn put(&self, key: &str, value: &V) -> Result<(), AwsError> {
        let bytes = encode(value, self.compact).map_err(|e| {
            AwsError::internal(format!("cannot encode a {} record: {e}", self.name))
        })?;
        wit::put(self.scope, self.name, key.as_bytes(), &bytes);
        Ok(())
    }

    /// Removes the key; true when it was there.
    pub fn delete(&self, key: &str) -> bool {
        wit::delete(self.scope, self.name, key.as_bytes())
    }

    /// Read-modify-write of one record (atomic: the request is one unit).
    /// `f` gets the current value (if any) and returns the new one.
    pub fn update<F>(&self, key: &str, f: F) -> Result<V, AwsError>
    where
        F: FnOnce(Option<V>) -> Result<V, AwsError>,
    {
        let new = f(self.get(key)?)?;
        self.put(key, &new)?;
        Ok(new)
    }

    /// Rows in key order.
    pub fn scan(&self, scan: &Scan) -> Result<Vec<(String, V)>, AwsError> {
        wit::scan(self.scope, self.name, &scan.key_range(), scan.wit_limit())
            .into_iter()
            .map(|(k, v)| {
                let value = decode(self.name, &k, &v, Whole::Row)?;
                Ok((String::from_utf8_lossy(&k).into_owned(), value))
            })
            .collect()
    }

    /// The rows of `scan` in key order, handed to `visit` `page` rows at a
    /// time (`scan`'s own limit is replaced), so a range larger than the
    /// plugin's memory can be read; `visit` answers whether to go on.
    pub fn scan_pages<F>(&self, scan: &Scan, page: u32, mut visit: F) -> Result<(), AwsError>
    where
        F: FnMut(Vec<(String, V)>) -> Result<bool, AwsError>,
    {
        let mut scan = scan.clone().limit(page.max(1));
        loop {
            let rows = self.scan(&scan)?;
            let next = match rows.last() {
                Some((last, _)) if rows.len() == scan.limit as usize => Some(last.clone()),
                _ => None,
            };
            if !visit(rows)? {
                return Ok(());
            }
            match next {
                Some(last) => scan = scan.start_after(last),
                None => return Ok(()),
            }
        }
    }

    /// Values of the keys that begin with `prefix`, in key order.
    pub fn values(&self, prefix: &str) -> Result<Vec<V>, AwsError> {
        Ok(self
            .scan(&Scan::prefix(prefix))?
            .into_iter()
            .map(|(_, v)| v)
            .collect())
    }

    pub fn count(&self, scan: &Scan) -> u64 {
        wit::count(self.scope, self.name, &scan.key_range())
    }

    /// Deletes every key in the range (the limit is ignored); returns how many.
    pub fn delete_range(&self, scan: &Scan) -> u64 {
        wit::delete_range(self.scope, self.name, &scan.key_range())
    }

    /// One page of at most `limit` rows after the position in `next_token`
    /// (a token from a previous page of the same scan, or `None` to begin).
    /// A token we did not issue is [`AwsError::invalid_next_token`]; map it
    /// with `map_err` where the service uses another code.
    pub fn page(
        &self,
        scan: &Scan,
        next_token: Option<&str>,
        limit: u32,
    ) -> Result<Page<V>, AwsError> {
        let mut scan = scan.clone();
        if let Some(token) = next_token.filter(|t| !t.is_empty()) {
            let key = pagination::decode(token).ok_or_else(AwsError::invalid_next_token)?;
            scan.start_after = Some(key);
        }
        let limit = limit.max(1);
        scan.limit = limit.saturating_add(1);
        let mut items = self.scan(&scan)?;
        let next_token = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(|(k, _)| pagination::encode(k))
        } else {
            None
        };
        Ok(Page { items, next_token })
    }
}

/// The parse of the last row read through it, with the stored bytes it was
/// parsed from. Most requests name the table or bucket the previous one
/// did, and parsing its record can be a tenth of the plugin's time.
/// The row is still read in every request's unit (so the read conflicts as
/// any other, and a request sees what it read); only the parse is skipped
/// when the bytes are the same. One per kind of record, in a `thread_local!`:
///
/// ```ignore
/// thread_local! {
///     static LOADED: ParseCache<Bucket> = const { ParseCache::new() };
/// }
/// let bucket = BUCKETS.get_cached(name, &LOADED)?.ok_or_else(no_bucket)?;
/// // or, parsing into something else than the row type:
/// let bytes = TABLES.raw().get(name.as_bytes()).ok_or_else(not_found)?;
/// let table = OPENED.with(|c| c.get(bytes, |b| Ok(Tbl::from_meta(parse(b)?))))?;
/// ```
///
/// Callers that change the record clone it (`Rc::unwrap_or_clone`).
pub struct ParseCache<T> {
    last: RefCell<Option<(Vec<u8>, Rc<T>)>>,
}

impl<T> ParseCache<T> {
    pub const fn new() -> Self {
        ParseCache {
            last: RefCell::new(None),
        }
    }

    /// The parse of `bytes`: the last one when they are the bytes it was
    /// made from, else `parse(&bytes)`, kept for the next call.
    pub fn get(
        &self,
        bytes: Vec<u8>,
        parse: impl FnOnce(&[u8]) -> Result<T, AwsError>,
    ) -> Result<Rc<T>, AwsError> {
        if let Some((_, parsed)) = self.last.borrow().as_ref().filter(|(b, _)| *b == bytes) {
            return Ok(parsed.clone());
        }
        let parsed = Rc::new(parse(&bytes)?);
        *self.last.borrow_mut() = Some((bytes, parsed.clone()));
        Ok(parsed)
    }
}

impl<T> Default for ParseCache<T> {
    fn default() -> Self {
        Self::new()
    }
}

fn encode<V: Serialize>(value: &V, compact: bool) -> Result<Vec<u8>, String> {
    if compact {
        // Room for a typical row up front: grown from one byte, a 300-byte
        // SQS message row was copied five times on its way (serde_json's
        // `to_vec` starts at 128 bytes for the same reason).
        let mut row = Vec::with_capacity(256);
        row.push(COMPACT_ROW);
        postcard::to_extend(value, row).map_err(|e| e.to_string())
    } else {
        crate::json::to_vec(value).map_err(|e| e.to_string())
    }
}

/// Whether a decode reads a whole row or its first fields only.
#[derive(Clone, Copy, PartialEq)]
enum Whole {
    Row,
    Prefix,
}

fn decode<V: DeserializeOwned>(
    table: &str,
    key: &[u8],
    bytes: &[u8],
    whole: Whole,
) -> Result<V, AwsError> {
    let decoded = match bytes.split_first() {
        Some((&COMPACT_ROW, rest)) => match postcard::take_from_bytes(rest) {
            Ok((value, [])) => Ok(value),
            Ok((value, _)) if whole == Whole::Prefix => Ok(value),
            Ok(_) => Err("bytes left over".to_string()),
            Err(e) => Err(e.to_string()),
        },
        _ => serde_json::from_slice(bytes).map_err(|e| e.to_string()),
    };
    decoded.map_err(|e| {
        AwsError::internal(format!(
            "stored record {table}/{} does not decode: {e}",
            String::from_utf8_lossy(key)
        ))
    })
}

/// A table of raw bytes under byte keys (for plugins that encode their own records).
#[derive(Debug, Clone, Copy)]
pub struct RawTable {
    name: &'static str,
    scope: Scope,
}

impl RawTable {
    pub const fn new(name: &'static str) -> Self {
        RawTable::with_scope(name, Scope::AccountRegion)
    }

    pub const fn with_scope(name: &'static str, scope: Scope) -> Self {
        RawTable { name, scope }
    }

    pub fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        wit::get(self.scope, self.name, key)
    }

    pub fn put(&self, key: &[u8], value: &[u8]) {
        wit::put(self.scope, self.name, key, value)
    }

    pub fn delete(&self, key: &[u8]) -> bool {
        wit::delete(self.scope, self.name, key)
    }

    /// Rows in byte order; `limit` 0 means no limit.
    pub fn scan(&self, range: &KeyRange, limit: u32) -> Vec<(Vec<u8>, Vec<u8>)> {
        wit::scan(
            self.scope,
            self.name,
            range,
            if limit == 0 { u32::MAX } else { limit },
        )
    }

    pub fn count(&self, range: &KeyRange) -> u64 {
        wit::count(self.scope, self.name, range)
    }

    pub fn delete_range(&self, range: &KeyRange) -> u64 {
        wit::delete_range(self.scope, self.name, range)
    }
}

pub use crate::generated::ministack::plugin::store::KeyRange as RawRange;

/// Key encodings that keep the store's bytewise order meaningful.
///
/// - Composite keys: [`join`] the parts with a zero byte, so that all keys of
///   one parent are contiguous and sort by their parts in order
///   (`("a", "x") < ("a", "y") < ("ab", "")`). Scan a parent's children with
///   `Scan::prefix(keys::prefix(&[parent]))`. Parts must not contain `\0`
///   (AWS names never do).
/// - Numbers: [`u64`] zero-pads to 20 digits so that text order is numeric
///   order; [`u64_desc`] sorts newest first for timestamps.
pub mod keys {
    /// Separator between the parts of a composite key.
    pub const SEP: char = '\0';

    /// `parts` joined by [`SEP`].
    pub fn join(parts: &[&str]) -> String {
        parts.join("\0")
    }

    /// The prefix of every key under `parts` (the parts and a trailing separator).
    pub fn prefix(parts: &[&str]) -> String {
        let mut p = join(parts);
        p.push(SEP);
        p
    }

    /// The parts of a composite key.
    pub fn split(key: &str) -> Vec<&str> {
        key.split(SEP).collect()
    }

    /// The last part of a composite key (the child's own name).
    pub fn last(key: &str) -> &str {
        key.rsplit(SEP).next().unwrap_or(key)
    }

    /// Fixed-width decimal: text order is numeric order.
    pub fn u64(n: u64) -> String {
        // By hand: `format!("{n:020}")` costs several times more, and hot
        // keys (SQS's visibility index) build one per row.
        let mut digits = [b'0'; 20];
        crate::encoding::put_digits(&mut digits, n);
        // SAFETY: put_digits writes only the digits 0-9.
        unsafe { crate::words::ascii_string(digits.to_vec()) }
    }

    /// Fixed-width decimal of `u64::MAX - n`: larger numbers sort first.
    pub fn u64_desc(n: u64) -> String {
        u64(u64::MAX - n)
    }

    /// Back from [`u64`] / [`u64_desc`].
    pub fn parse_u64(s: &str, descending: bool) -> Option<u64> {
        let n: u64 = s.parse().ok()?;
        Some(if descending { u64::MAX - n } else { n })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records are JSON: a float must read back bit for bit, or a key
    /// derived from a stored timestamp (SQS's visibility index) is not found
    /// again. serde_json is exact only with its `float_roundtrip` feature.
    #[test]
    fn stored_floats_read_back_exactly() {
        let mut x: f64 = 1_795_771_591.662_345_6;
        for _ in 0..100_000 {
            x += 0.000_123_456_789;
            let bytes = serde_json::to_vec(&x).unwrap();
            let back: f64 = decode("t", b"k", &bytes, Whole::Row).unwrap();
            assert_eq!(back.to_bits(), x.to_bits(), "{x}");
        }
    }

    #[test]
    fn compact_rows_round_trip_and_json_rows_still_read() {
        use serde::Deserialize;
        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        struct Row {
            d: String,
            k: String,
            t: u64,
        }
        let row = Row {
            d: "YmJi\"quoted\"".into(),
            k: "key-1".into(),
            t: 1_700_000_000_123,
        };
        let bytes = encode(&row, true).unwrap();
        assert_eq!(bytes[0], COMPACT_ROW);
        assert!(bytes.len() < serde_json::to_vec(&row).unwrap().len());
        assert_eq!(decode::<Row>("t", b"k", &bytes, Whole::Row).unwrap(), row);
        let json = encode(&row, false).unwrap();
        assert_eq!(
            decode::<Row>("t", b"k", &json, Whole::Row).unwrap(),
            row,
            "an older JSON row"
        );
        let mut long = bytes.clone();
        long.push(0);
        assert!(
            decode::<Row>("t", b"k", &long, Whole::Row).is_err(),
            "trailing bytes"
        );
        assert!(
            decode::<Row>("t", b"k", &bytes[..5], Whole::Row).is_err(),
            "cut short"
        );
    }

    #[test]
    fn a_prefix_of_fields_reads_from_both_row_formats() {
        use serde::Deserialize;
        #[derive(Serialize, Deserialize)]
        struct Row {
            d: String,
            k: String,
            t: u64,
        }
        #[derive(Deserialize, PartialEq, Debug)]
        struct Head {
            d: String,
            k: String,
        }
        let row = Row {
            d: "d\"1".into(),
            k: "key-1".into(),
            t: 7,
        };
        let head = Head {
            d: row.d.clone(),
            k: row.k.clone(),
        };
        for compact in [true, false] {
            let bytes = encode(&row, compact).unwrap();
            assert_eq!(
                decode::<Head>("t", b"k", &bytes, Whole::Prefix).unwrap(),
                head
            );
            // A whole-row read still refuses what a prefix read leaves.
            assert_eq!(
                decode::<Head>("t", b"k", &bytes, Whole::Row).is_err(),
                compact
            );
        }
    }

    #[test]
    fn parse_cache_reparses_only_other_bytes() {
        let cache = ParseCache::<String>::new();
        let parses = std::cell::Cell::new(0);
        let parse = |b: &[u8]| {
            parses.set(parses.get() + 1);
            Ok(String::from_utf8_lossy(b).into_owned())
        };
        assert_eq!(*cache.get(b"a".to_vec(), parse).unwrap(), "a");
        assert_eq!(*cache.get(b"a".to_vec(), parse).unwrap(), "a");
        assert_eq!(parses.get(), 1, "the same bytes: the last parse");
        assert_eq!(*cache.get(b"b".to_vec(), parse).unwrap(), "b");
        assert_eq!(parses.get(), 2, "other bytes: parsed again");
        let failed = cache.get(b"c".to_vec(), |_| Err(AwsError::internal("bad")));
        assert!(failed.is_err());
        assert_eq!(*cache.get(b"b".to_vec(), parse).unwrap(), "b");
        assert_eq!(parses.get(), 2, "a failed parse keeps the last good one");
    }

    #[test]
    fn composite_keys_group_children() {
        let mut ks = [
            keys::join(&["ab", ""]),
            keys::join(&["a", "y"]),
            keys::join(&["a", "x"]),
            keys::join(&["a-b", "x"]),
        ];
        ks.sort();
        assert_eq!(ks[0], keys::join(&["a", "x"]));
        assert_eq!(ks[1], keys::join(&["a", "y"]));
        assert!(ks[0].starts_with(&keys::prefix(&["a"])));
        assert!(!ks[2].starts_with(&keys::prefix(&["a"])));
        assert_eq!(keys::split(&ks[1]), vec!["a", "y"]);
        assert_eq!(keys::last(&ks[1]), "y");
    }

    #[test]
    fn numbers_sort_as_text() {
        assert!(keys::u64(9) < keys::u64(10));
        for n in [0, 7, 10, 1_764_000_000_000_000, u64::MAX] {
            assert_eq!(keys::u64(n), format!("{n:020}"));
        }
        assert!(keys::u64_desc(10) < keys::u64_desc(9));
        assert_eq!(keys::parse_u64(&keys::u64_desc(42), true), Some(42));
        assert_eq!(keys::parse_u64(&keys::u64(42), false), Some(42));
    }

    #[test]
    fn start_after_folds_into_bounds() {
        let r = Scan::prefix("p").start_after("pk").key_range();
        assert_eq!(r.start, Some(b"pk\0".to_vec()));
        assert_eq!(r.end, None);
        let r = Scan::prefix("p").start_after("pk").reverse().key_range();
        assert_eq!(r.start, None);
        assert_eq!(r.end, Some(b"pk".to_vec()));
        assert!(r.reverse);
        let r = Scan::all().from("pz").start_after("pk").key_range();
        assert_eq!(r.start, Some(b"pz".to_vec()));
    }
}
