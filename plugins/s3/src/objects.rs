//! Objects: put, get, head, delete, copy, list, tagging, versions.

use std::collections::BTreeMap;
use std::rc::Rc;

use ministack_sdk::blobs;
use ministack_sdk::encoding::base64_decode;
use ministack_sdk::prelude::*;
use ministack_sdk::{ids, pagination, time};
use serde_json::{Map, Value, json};

use crate::buckets::{Bucket, bucket};
use crate::encryption;
use crate::events;
use crate::request::{BodyMember, Field, ObjectReadInput, Output, PutObjectInput, Request};
use crate::util::{self, Condition, s};
use crate::{owner, s3_error};

/// The current version of every object, by `bucket \0 key`. Compact
/// (postcard) rows: decoding a JSON record was a fifth of a GetObject.
pub const OBJECTS: Table<Object> = Table::global("objects").compact();
/// Every version (and delete marker) of objects in buckets that have had
/// versioning, by `bucket \0 key \0 newest-first sequence`.
pub const VERSIONS: Table<Object> = Table::global("versions").compact();

/// Content and server-side headers stored with an object and echoed back.
pub const ECHOED: &[&str] = &[
    "CacheControl",
    "ContentDisposition",
    "ContentEncoding",
    "ContentLanguage",
    "ContentType",
    "Expires",
    "WebsiteRedirectLocation",
    "ServerSideEncryption",
    "SSEKMSKeyId",
    "BucketKeyEnabled",
    "SSECustomerAlgorithm",
    "SSECustomerKeyMD5",
    "ObjectLockMode",
    "ObjectLockRetainUntilDate",
    "ObjectLockLegalHoldStatus",
];

const CHECKSUMS: &[&str] = &["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"];
/// The request members of [`CHECKSUMS`], in the same order.
const CHECKSUM_MEMBERS: &[&str] = &[
    "ChecksumCRC32",
    "ChecksumCRC32C",
    "ChecksumCRC64NVME",
    "ChecksumSHA1",
    "ChecksumSHA256",
];

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Object {
    pub key: String,
    /// `None` for a delete marker.
    pub blob: Option<BlobRef>,
    pub etag: String,
    pub size: u64,
    pub last_modified: u64,
    /// `None`: the object was written while the bucket was unversioned (the `null` version).
    pub version_id: Option<String>,
    #[serde(default)]
    pub delete_marker: bool,
    /// Sequence part of the VERSIONS key.
    #[serde(default)]
    pub seq: String,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    #[serde(default, with = "json_in_compact_rows")]
    pub headers: Headers,
    #[serde(default)]
    pub storage_class: Option<String>,
    #[serde(default)]
    pub tags: Vec<(String, String)>,
    #[serde(default)]
    pub parts_count: Option<u64>,
    /// Checksum algorithm the client asked for (returned with ChecksumMode).
    #[serde(default)]
    pub checksum_algorithm: Option<String>,
    #[serde(default)]
    pub checksum_type: Option<String>,
    /// Checksums to report (composite for multipart objects).
    #[serde(default)]
    pub checksums: BTreeMap<String, String>,
    /// ACL grants (`None`: the owner's full control).
    #[serde(default, with = "json_in_compact_rows")]
    pub acl: Option<Vec<Value>>,
}

/// An object's content and server-side headers ([`ECHOED`], encryption,
/// Object Lock): what a `serde_json::Map` of them held before, in the same
/// order, written and read as the same JSON object, with the same insert
/// (in place, or last) and remove (the last member takes the removed one's
/// place, as `Map::remove` does with `preserve_order`), found by comparing
/// names (a few members) rather than by SipHash in wasm.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Headers(Vec<(String, Value)>);

impl Headers {
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.iter().find_map(|(k, v)| (k == name).then_some(v))
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Sets `name` (in place when present, else last); the value it had.
    pub fn insert(&mut self, name: String, value: Value) -> Option<Value> {
        crate::request::set_member(&mut self.0, name, value)
    }

    /// Removes `name`; the last member takes its place.
    pub fn remove(&mut self, name: &str) -> Option<Value> {
        let i = self.0.iter().position(|(k, _)| k == name)?;
        Some(self.0.swap_remove(i).1)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl Members for Headers {
    fn member(&self, name: &str) -> Option<&Value> {
        self.get(name)
    }
}

impl<'a> IntoIterator for &'a Headers {
    type Item = (&'a String, &'a Value);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (String, Value)>,
        fn(&'a (String, Value)) -> (&'a String, &'a Value),
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl Serialize for Headers {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for Headers {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Headers, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Headers;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map of headers")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<Headers, A::Error> {
                let mut h = Headers(Vec::with_capacity(m.size_hint().unwrap_or(0).min(16)));
                while let Some((k, v)) = m.next_entry::<String, Value>()? {
                    h.insert(k, v);
                }
                Ok(h)
            }
        }
        d.deserialize_map(V)
    }
}

/// A JSON-valued member of a stored [`Object`]: itself in a JSON row (what
/// older builds wrote), its JSON text in a compact row (postcard is not
/// self-describing, so it cannot hold a `Value`).
mod json_in_compact_rows {
    use serde::de::DeserializeOwned;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<T: Serialize, S: Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            return v.serialize(s);
        }
        let text = serde_json::to_string(v).map_err(serde::ser::Error::custom)?;
        s.serialize_str(&text)
    }

    pub fn deserialize<'de, T: DeserializeOwned, D: Deserializer<'de>>(
        d: D,
    ) -> Result<T, D::Error> {
        if d.is_human_readable() {
            return T::deserialize(d);
        }
        let text = String::deserialize(d)?;
        serde_json::from_str(&text).map_err(serde::de::Error::custom)
    }
}

/// The first fields of [`Object`], in its order and with its types: all
/// [`current`] needs. A stored record is read no further, so the headers
/// and ACL after them (JSON text, parsed into maps) are not: that parse was
/// most of reading the record a PutObject replaces. (`key`, `size` and
/// `last_modified` are read only to get past them.)
#[derive(Deserialize)]
#[allow(dead_code)]
struct ObjectHead {
    key: String,
    blob: Option<BlobRef>,
    etag: String,
    size: u64,
    last_modified: u64,
    version_id: Option<String>,
    #[serde(default)]
    delete_marker: bool,
    #[serde(default)]
    seq: String,
}

/// What a write needs of the version it replaces: its ETag (the write's
/// conditions), its blob (to release), whether it is the `null` version.
#[derive(Debug)]
pub struct Current {
    blob: Option<String>,
    pub etag: String,
    version_id: Option<String>,
    seq: String,
}

/// The key's current version as a write needs it (see [`Current`]); read,
/// never written back (it is not the whole record).
pub fn current(b: &Bucket, key: &str) -> Result<Option<Current>, AwsError> {
    let okey = object_key(&b.name, key);
    let Some(bytes) = OBJECTS.raw().get(okey.as_bytes()) else {
        return Ok(None);
    };
    let o: ObjectHead = OBJECTS.decode_prefix(&bytes).map_err(|e| {
        AwsError::internal(format!(
            "stored record objects/{okey} does not decode: {}",
            e.message
        ))
    })?;
    Ok(Some(Current {
        blob: o.blob.map(|b| b.id),
        etag: o.etag,
        version_id: o.version_id,
        seq: o.seq,
    }))
}

impl Object {
    fn version(&self) -> &str {
        self.version_id.as_deref().unwrap_or("null")
    }
}

pub fn object_key(bucket: &str, key: &str) -> String {
    keys::join(&[bucket, key])
}

fn no_such_key(key: &str) -> AwsError {
    s3_error("NoSuchKey", "The specified key does not exist.", 404).with_member("Key", key)
}

fn versioning(b: &Bucket) -> Option<String> {
    b.config
        .get("versioning")
        .and_then(|v| v["Status"].as_str())
        .map(str::to_string)
}

/// Checks the key's length (AWS: 1..=1024 bytes).
pub fn check_key(key: &str) -> Result<(), AwsError> {
    if key.is_empty() || key.len() > 1024 {
        return Err(s3_error("KeyTooLongError", "Your key is too long", 400));
    }
    Ok(())
}

/// The body of an upload as a host blob (a blob ref, small base64 bytes, or nothing).
pub fn body_blob<I: Request + ?Sized>(input: &I) -> Result<BlobRef, AwsError> {
    match input.body() {
        BodyMember::Tree(m) => blob_ref_of(m),
        BodyMember::Blob(b) => Ok(b.clone()),
        BodyMember::Base64(b64) => {
            let bytes = base64_decode(b64)
                .ok_or_else(|| s3_error("InvalidArgument", "Body is not base64", 400))?;
            Ok(blobs::create(&bytes))
        }
        BodyMember::None => Ok(blobs::create(&[])),
    }
}

/// A blob ref member (`{"blob-id", "size", "md5-hex", "checksums"}`), read
/// from the parsed input in place (not cloned into `from_value`).
fn blob_ref_of(m: &Map<String, Value>) -> Result<BlobRef, AwsError> {
    let bad = || AwsError::internal("body: not a blob ref");
    let text = |k: &str| match m.member(k) {
        None => Ok(String::new()),
        Some(v) => v.as_str().map(str::to_string).ok_or_else(bad),
    };
    let mut checksums = BTreeMap::new();
    match m.member("checksums") {
        None | Some(Value::Null) => {}
        Some(Value::Object(c)) => {
            for (alg, v) in c {
                checksums.insert(alg.clone(), v.as_str().ok_or_else(bad)?.to_string());
            }
        }
        Some(Value::Array(pairs)) => {
            for pair in pairs {
                match pair.as_array().map(Vec::as_slice) {
                    Some([Value::String(alg), Value::String(v)]) => {
                        checksums.insert(alg.clone(), v.clone());
                    }
                    _ => return Err(bad()),
                }
            }
        }
        Some(_) => return Err(bad()),
    }
    Ok(BlobRef {
        id: m
            .member("blob-id")
            .and_then(Value::as_str)
            .ok_or_else(bad)?
            .to_string(),
        size: match m.member("size") {
            None => 0,
            Some(v) => v.as_u64().ok_or_else(bad)?,
        },
        md5_hex: text("md5-hex")?,
        checksums,
    })
}

/// Content-MD5 and x-amz-checksum-* checks of an uploaded body.
pub fn check_integrity<I: Members + ?Sized>(input: &I, blob: &BlobRef) -> Result<(), AwsError> {
    if let Some(md5) = s(input, "ContentMD5") {
        let raw = base64_decode(&md5)
            .filter(|b| b.len() == 16)
            .ok_or_else(|| {
                s3_error(
                    "InvalidDigest",
                    "The Content-MD5 you specified was invalid.",
                    400,
                )
            })?;
        if ministack_sdk::hash::hex(&raw) != blob.md5_hex {
            return Err(s3_error(
                "BadDigest",
                "The Content-MD5 you specified did not match what we received.",
                400,
            ));
        }
    }
    for (alg, member) in CHECKSUMS.iter().zip(CHECKSUM_MEMBERS) {
        if let Some(given) = input.member(member).and_then(Value::as_str)
            && let Some(actual) = blob.checksum(alg)
            && given != actual
        {
            return Err(s3_error(
                "BadDigest",
                format!("The {alg} you specified did not match the calculated checksum."),
                400,
            ));
        }
    }
    Ok(())
}

/// The checksum algorithm of an upload: asked for, or implied by a checksum header.
pub fn requested_checksum<I: Members + ?Sized>(input: &I) -> Option<String> {
    s(input, "ChecksumAlgorithm")
        .map(|a| a.to_uppercase())
        .or_else(|| {
            CHECKSUMS
                .iter()
                .zip(CHECKSUM_MEMBERS)
                .find(|(_, member)| input.member(member).is_some())
                .map(|(a, _)| a.to_string())
        })
}

fn headers_of<I: Request + ?Sized>(input: &I) -> Headers {
    let mut h = Headers::default();
    // In ECHOED's order (see `Request::members_among`).
    for (i, v) in input.members_among(ECHOED) {
        h.insert(ECHOED[i].to_string(), v.clone());
    }
    if !h.contains_key("ContentType") {
        h.insert("ContentType".into(), json!("binary/octet-stream"));
    }
    h
}

fn metadata_of<I: Members + ?Sized>(input: &I) -> BTreeMap<String, String> {
    input
        .member("Metadata")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.to_lowercase(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// A fresh object version from an upload's request members.
pub fn new_object<I: Request + ?Sized>(input: &I, key: &str, blob: BlobRef) -> Object {
    let algorithm = requested_checksum(input);
    let mut checksums = BTreeMap::new();
    if let Some(a) = &algorithm
        && let Some(c) = blob.checksum(a)
    {
        checksums.insert(a.clone(), c.to_string());
    }
    Object {
        key: key.to_string(),
        etag: blob.etag(),
        size: blob.size,
        blob: Some(blob),
        last_modified: time::now_secs(),
        metadata: metadata_of(input),
        headers: headers_of(input),
        storage_class: s(input, "StorageClass").filter(|c| c != "STANDARD"),
        tags: s(input, "Tagging")
            .map(|t| util::parse_tagging(&t))
            .unwrap_or_default(),
        checksum_type: algorithm.as_ref().map(|_| "FULL_OBJECT".to_string()),
        checksum_algorithm: algorithm,
        checksums,
        ..Object::default()
    }
}

/// S3's default for an object written without a checksum: its full-object
/// CRC64NVME (the host computes it for every upload).
pub fn default_checksum(obj: &mut Object) {
    if !obj.checksums.is_empty() || obj.checksum_algorithm.is_some() {
        return;
    }
    if let Some(c) = obj.blob.as_ref().and_then(|b| b.checksum("CRC64NVME")) {
        obj.checksums.insert("CRC64NVME".into(), c.to_string());
        obj.checksum_algorithm = Some("CRC64NVME".into());
        obj.checksum_type = Some("FULL_OBJECT".into());
    }
}

fn release(o: &Object) {
    if let Some(b) = &o.blob {
        blobs::release(&b.id);
    }
}

fn version_seq() -> String {
    keys::u64_desc((time::now() * 1_000_000.0) as u64)
}

/// Stores `obj` as the new current version of its key, following the
/// bucket's versioning state; returns the version id (if versioned).
pub fn store(b: &Bucket, obj: Object) -> Result<Option<String>, AwsError> {
    let previous = current(b, &obj.key)?;
    store_over(b, obj, previous)
}

/// [`store`] when the caller has already read the key's current object in
/// this unit (`previous`): the same read, not made twice.
pub fn store_over(
    b: &Bucket,
    mut obj: Object,
    previous: Option<Current>,
) -> Result<Option<String>, AwsError> {
    let okey = object_key(&b.name, &obj.key);
    match versioning(b).as_deref() {
        None => {
            if let Some(id) = previous.and_then(|p| p.blob) {
                blobs::release(&id);
            }
            obj.version_id = None;
            OBJECTS.put(&okey, &obj)?;
            Ok(None)
        }
        Some(state) => {
            // An object from before versioning becomes the `null` version
            // (read whole for it: once per key, on its first versioned write).
            if let Some(p) = &previous
                && p.version_id.is_none()
                && p.seq.is_empty()
                && let Some(mut p) = OBJECTS.get(&okey)?
            {
                p.seq = keys::u64_desc(p.last_modified * 1_000_000);
                VERSIONS.put(&keys::join(&[&b.name, &p.key, &p.seq]), &p)?;
            }
            if state == "Suspended" {
                drop_null_version(b, &obj.key)?;
                obj.version_id = None;
            } else {
                obj.version_id = Some(new_version_id());
            }
            obj.seq = version_seq();
            VERSIONS.put(&keys::join(&[&b.name, &obj.key, &obj.seq]), &obj)?;
            if obj.delete_marker {
                OBJECTS.delete(&okey);
            } else {
                OBJECTS.put(&okey, &obj)?;
            }
            Ok(Some(obj.version().to_string()))
        }
    }
}

/// The version id a write reports: none for the `null` version (an
/// unversioned or suspended bucket).
pub fn reported_version(vid: &Option<String>) -> Option<&str> {
    vid.as_deref().filter(|v| *v != "null")
}

fn new_version_id() -> String {
    ids::alnum(32)
}

fn drop_null_version(b: &Bucket, key: &str) -> Result<(), AwsError> {
    for (k, v) in VERSIONS.scan(&Scan::prefix(keys::prefix(&[&b.name, key])))? {
        if v.version_id.is_none() {
            release(&v);
            VERSIONS.delete(&k);
        }
    }
    Ok(())
}

/// The version named by `version_id`, or the current object.
pub fn find(b: &Bucket, key: &str, version_id: Option<&str>) -> Result<Object, AwsError> {
    let okey = object_key(&b.name, key);
    let Some(vid) = version_id else {
        if let Some(o) = OBJECTS.get(&okey)? {
            return Ok(o);
        }
        // The current version may be a delete marker: S3 says so in headers.
        let newest = VERSIONS
            .scan(&Scan::prefix(keys::prefix(&[&b.name, key])))?
            .into_iter()
            .next();
        return Err(match newest {
            Some((_, m)) if m.delete_marker => no_such_key(key)
                .with_member("DeleteMarker", true)
                .with_member("VersionId", m.version()),
            _ => no_such_key(key),
        });
    };
    if let Some(cur) = OBJECTS.get(&okey)?
        && cur.version() == vid
    {
        return Ok(cur);
    }
    for (_, v) in VERSIONS.scan(&Scan::prefix(keys::prefix(&[&b.name, key])))? {
        if v.version() == vid {
            return Ok(v);
        }
    }
    if vid != "null" && vid.len() != 32 {
        return Err(
            s3_error("InvalidArgument", "Invalid version id specified", 400)
                .with_member("ArgumentName", "versionId")
                .with_member("ArgumentValue", vid),
        );
    }
    Err(s3_error(
        "NoSuchVersion",
        "The specified version does not exist.",
        404,
    )
    .with_member("Key", key)
    .with_member("VersionId", vid))
}

fn read_conditions<I: Members + ?Sized>(input: &I, o: &Object) -> Result<(), AwsError> {
    match util::evaluate(
        &o.etag,
        o.last_modified,
        s(input, "IfMatch").as_deref(),
        s(input, "IfNoneMatch").as_deref(),
        input.member("IfModifiedSince").and_then(Value::as_f64),
        input.member("IfUnmodifiedSince").and_then(Value::as_f64),
    ) {
        Condition::Proceed => Ok(()),
        // A 304 carries the validators only (RFC 9110 §15.4.5).
        Condition::NotModified => Err(s3_error("NotModified", "Not Modified", 304)
            .with_member("ETag", o.etag.clone())
            .with_member("LastModified", o.last_modified)),
        Condition::PreconditionFailed => Err(s3_error(
            "PreconditionFailed",
            "At least one of the pre-conditions you specified did not hold",
            412,
        )
        .with_member("Condition", "If-Match")),
    }
}

/// The members GetObject and HeadObject share.
fn describe(o: &Object, input: &ObjectReadInput) -> Output {
    // The stored headers first, then the inserts a `Map` took before (an
    // `Output` keeps the same members in the same order).
    let mut out = Output::with_capacity(o.headers.len() + 8);
    for (k, v) in &o.headers {
        out.push(k.clone(), v.clone());
    }
    out.insert("AcceptRanges", json!("bytes"));
    out.insert("ETag", json!(o.etag));
    out.insert("LastModified", json!(o.last_modified));
    out.insert("ContentLength", json!(o.size));
    out.insert("Metadata", json!(o.metadata));
    if let Some(v) = &o.version_id {
        out.insert("VersionId", json!(v));
    }
    if let Some(c) = &o.storage_class {
        out.insert("StorageClass", json!(c));
    }
    if !o.tags.is_empty() {
        out.insert("TagCount", json!(o.tags.len()));
    }
    if let Some(n) = o.parts_count
        && input.part_number.is_some()
    {
        out.insert("PartsCount", json!(n));
    }
    if s(input, "ChecksumMode").as_deref() == Some("ENABLED") && input.range.is_none() {
        for (alg, v) in &o.checksums {
            out.insert(format!("Checksum{alg}"), json!(v));
        }
        if let Some(t) = &o.checksum_type {
            out.insert("ChecksumType", json!(t));
        }
    }
    for (q, member) in [
        ("ResponseCacheControl", "CacheControl"),
        ("ResponseContentDisposition", "ContentDisposition"),
        ("ResponseContentEncoding", "ContentEncoding"),
        ("ResponseContentLanguage", "ContentLanguage"),
        ("ResponseContentType", "ContentType"),
        ("ResponseExpires", "Expires"),
    ] {
        if let Some(v) = input.member(q) {
            // response-expires arrives as a timestamp; Expires is an HTTP date.
            let v = match v.as_f64() {
                Some(t) => json!(time::http_date(t as u64)),
                None => v.clone(),
            };
            out.insert(member, v);
        }
    }
    out
}

pub(crate) fn read_target<I: Members + ?Sized>(
    input: &I,
) -> Result<(Rc<Bucket>, Object), AwsError> {
    let b = bucket(&s(input, "Bucket").unwrap_or_default())?;
    let key = s(input, "Key").unwrap_or_default();
    let o = find(&b, &key, s(input, "VersionId").as_deref())?;
    if o.delete_marker {
        return Err(s3_error(
            "MethodNotAllowed",
            "The specified method is not allowed against this resource.",
            405,
        )
        .with_member("Method", "GET")
        .with_member("ResourceType", "DeleteMarker")
        .with_member("DeleteMarker", true)
        .with_member("VersionId", o.version()));
    }
    read_conditions(input, &o)?;
    encryption::check_read(&o.headers, input, "SSECustomer")?;
    Ok((b, o))
}

pub fn put_object(ctx: &Context, input: PutObjectInput) -> Result<Output, AwsError> {
    let b = bucket(&s(&input, "Bucket").unwrap_or_default())?;
    let key = s(&input, "Key").unwrap_or_default();
    check_key(&key)?;
    let blob = body_blob(&input)?;
    check_integrity(&input, &blob)?;
    let current = current(&b, &key)?;
    check_write_conditions(&input, current.as_ref())?;
    let mut obj = new_object(&input, &key, blob);
    default_checksum(&mut obj);
    encryption::apply(&b, &input, &mut obj.headers)?;
    obj.acl = crate::acl::for_write(&b, &input, &b.account)?;
    default_retention(&b, &mut obj);
    let mut out = Output::with_capacity(8);
    out.insert("ETag", json!(obj.etag));
    for (alg, v) in &obj.checksums {
        out.insert(format!("Checksum{alg}"), json!(v));
        out.insert("ChecksumType", json!("FULL_OBJECT"));
    }
    encryption::echo(&obj.headers, &mut out);
    out.insert("Size", json!(obj.size));
    let (size, etag) = (obj.size, obj.etag.clone());
    let vid = store_over(&b, obj, current)?;
    if let Some(v) = reported_version(&vid) {
        out.insert("VersionId", json!(v));
    }
    events::notify(
        ctx,
        &b,
        &events::Event {
            name: "ObjectCreated:Put",
            key: &key,
            size,
            etag: &etag,
            version_id: vid.as_deref(),
        },
    );
    Ok(out)
}

/// The bucket's default Object Lock retention, for a new version that names none.
pub fn default_retention(b: &Bucket, obj: &mut Object) {
    let Some(rule) = b
        .config
        .get("object-lock")
        .and_then(|c| c.pointer("/Rule/DefaultRetention"))
    else {
        return;
    };
    if obj.headers.contains_key("ObjectLockMode") {
        return;
    }
    let days = rule["Days"]
        .as_u64()
        .or_else(|| rule["Years"].as_u64().map(|y| y * 365));
    if let (Some(mode), Some(days)) = (rule["Mode"].as_str(), days) {
        obj.headers.insert("ObjectLockMode".into(), json!(mode));
        obj.headers.insert(
            "ObjectLockRetainUntilDate".into(),
            json!(time::now_secs() + days * 86_400),
        );
    }
}

/// Conditional writes: `If-None-Match: *` and `If-Match: <etag>`.
pub fn check_write_conditions<I: Members + ?Sized>(
    input: &I,
    current: Option<&Current>,
) -> Result<(), AwsError> {
    let failed = || {
        s3_error(
            "PreconditionFailed",
            "At least one of the pre-conditions you specified did not hold",
            412,
        )
    };
    if let Some(inm) = s(input, "IfNoneMatch")
        && inm.trim() == "*"
        && current.is_some()
    {
        return Err(failed().with_member("Condition", "If-None-Match"));
    }
    if let Some(m) = s(input, "IfMatch") {
        match current {
            None => return Err(no_such_key(&s(input, "Key").unwrap_or_default())),
            Some(c) if m.trim() != "*" && m.trim_matches('"') != c.etag.trim_matches('"') => {
                return Err(failed().with_member("Condition", "If-Match"));
            }
            _ => {}
        }
    }
    Ok(())
}

/// The response-* overrides are for signed requests only.
fn check_response_overrides(ctx: &Context, input: &ObjectReadInput) -> Result<(), AwsError> {
    if input.overrides_response() && ctx.access_key_id.is_empty() {
        return Err(s3_error(
            "InvalidRequest",
            "Request specific response headers cannot be used for anonymous GET requests.",
            400,
        ));
    }
    Ok(())
}

/// A `null` version in a versioning-enabled bucket is named as such on reads
/// (clients such as Terraform keep it to delete every version later).
fn name_null_version(b: &Bucket, o: &Object, out: &mut Output) {
    if o.version_id.is_none() && versioning(b).as_deref() == Some("Enabled") {
        out.insert("VersionId", json!("null"));
    }
}

pub fn get_object(ctx: &Context, input: ObjectReadInput) -> Result<Output, AwsError> {
    check_response_overrides(ctx, &input)?;
    let (b, o) = read_target(&input)?;
    let mut out = describe(&o, &input);
    name_null_version(&b, &o, &mut out);
    let blob = o.blob.as_ref().map(|b| b.id.clone()).unwrap_or_default();
    match util::parse_range(s(&input, "Range").as_deref(), o.size) {
        Err(util::Unsatisfiable) => {
            return Err(s3_error(
                "InvalidRange",
                "The requested range is not satisfiable",
                416,
            )
            .with_member("RangeRequested", s(&input, "Range").unwrap_or_default())
            .with_member("ActualObjectSize", o.size.to_string()));
        }
        Ok(Some((first, last))) => {
            out.insert(
                "ContentRange",
                json!(format!("bytes {first}-{last}/{}", o.size)),
            );
            out.insert("ContentLength", json!(last - first + 1));
            out.put("Body", Field::Blob(BlobOut::range(&blob, first, last)));
        }
        Ok(None) => out.put("Body", Field::Blob(BlobOut::whole(&blob))),
    }
    Ok(out)
}

pub fn head_object(ctx: &Context, input: ObjectReadInput) -> Result<Output, AwsError> {
    check_response_overrides(ctx, &input)?;
    let (b, o) = read_target(&input)?;
    let mut out = describe(&o, &input);
    name_null_version(&b, &o, &mut out);
    if let Ok(Some((first, last))) = util::parse_range(s(&input, "Range").as_deref(), o.size) {
        out.insert(
            "ContentRange",
            json!(format!("bytes {first}-{last}/{}", o.size)),
        );
        out.insert("ContentLength", json!(last - first + 1));
    }
    Ok(out)
}

/// Deletes one key (or one version); answers the members of DeleteObject's output.
fn delete_one(
    b: &Bucket,
    key: &str,
    version_id: Option<&str>,
) -> Result<Map<String, Value>, AwsError> {
    let okey = object_key(&b.name, key);
    let mut out = Map::new();
    match (version_id, versioning(b)) {
        (None, None) => {
            if let Some(o) = OBJECTS.get(&okey)? {
                release(&o);
                OBJECTS.delete(&okey);
            }
        }
        (None, Some(_)) => {
            let marker = Object {
                key: key.to_string(),
                delete_marker: true,
                last_modified: time::now_secs(),
                ..Object::default()
            };
            let vid = store(b, marker)?;
            out.insert("DeleteMarker".into(), json!(true));
            if let Some(v) = vid {
                out.insert("VersionId".into(), json!(v));
            }
        }
        (Some(vid), _) => {
            let mut found = None;
            for (k, v) in VERSIONS.scan(&Scan::prefix(keys::prefix(&[&b.name, key])))? {
                if v.version() == vid {
                    found = Some((k, v));
                    break;
                }
            }
            if let Some((k, v)) = found {
                release(&v);
                VERSIONS.delete(&k);
                if v.delete_marker {
                    out.insert("DeleteMarker".into(), json!(true));
                }
                // The newest remaining version becomes current.
                let newest = VERSIONS
                    .scan(&Scan::prefix(keys::prefix(&[&b.name, key])).limit(1))?
                    .into_iter()
                    .next();
                match newest {
                    Some((_, n)) if !n.delete_marker => OBJECTS.put(&okey, &n)?,
                    _ => {
                        OBJECTS.delete(&okey);
                    }
                }
            } else if vid == "null"
                && let Some(o) = OBJECTS.get(&okey)?
                && o.version_id.is_none()
            {
                release(&o);
                OBJECTS.delete(&okey);
            }
            out.insert("VersionId".into(), json!(vid));
        }
    }
    Ok(out)
}

pub fn delete_object(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let b = bucket(&s(&input, "Bucket").unwrap_or_default())?;
    let key = s(&input, "Key").unwrap_or_default();
    if let Some(m) = s(&input, "IfMatch") {
        let cur = OBJECTS.get(&object_key(&b.name, &key))?;
        match cur {
            None => return Err(no_such_key(&key)),
            Some(c) if m.trim() != "*" && c.etag.trim_matches('"') != m.trim_matches('"') => {
                return Err(s3_error(
                    "PreconditionFailed",
                    "At least one of the pre-conditions you specified did not hold",
                    412,
                ));
            }
            _ => {}
        }
    }
    let out = delete_one(&b, &key, s(&input, "VersionId").as_deref())?;
    notify_removed(ctx, &b, &key, &out);
    Ok(Value::Object(out))
}

fn notify_removed(ctx: &Context, b: &Bucket, key: &str, out: &Map<String, Value>) {
    let marker = out.get("DeleteMarker") == Some(&Value::Bool(true));
    events::notify(
        ctx,
        b,
        &events::Event {
            name: if marker {
                "ObjectRemoved:DeleteMarkerCreated"
            } else {
                "ObjectRemoved:Delete"
            },
            key,
            size: 0,
            etag: "",
            version_id: out.get("VersionId").and_then(Value::as_str),
        },
    );
}

pub fn delete_objects(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let b = bucket(&s(&input, "Bucket").unwrap_or_default())?;
    let quiet = input.pointer("/Delete/Quiet") == Some(&Value::Bool(true));
    let items = input
        .pointer("/Delete/Objects")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if items.len() > 1000 {
        return Err(s3_error(
            "MalformedXML",
            "The XML you provided was not well-formed or did not validate against our published schema",
            400,
        ));
    }
    let mut deleted = Vec::new();
    let mut errors = Vec::new();
    let mut removed = Vec::new();
    for it in items {
        let key = s(&it, "Key").unwrap_or_default();
        if key.is_empty() {
            errors.push(json!({"Key": key, "Code": "InvalidArgument", "Message": "Invalid key"}));
            continue;
        }
        let vid = s(&it, "VersionId");
        if let Some(expected) = s(&it, "ETag") {
            let actual = match find(&b, &key, vid.as_deref()) {
                Ok(o) if !o.delete_marker => Some(o.etag),
                _ => None,
            };
            if actual.as_deref().map(|a| a.trim_matches('"')) != Some(expected.trim_matches('"')) {
                let mut e = json!({"Key": key, "Code": "PreconditionFailed",
                    "Message": "At least one of the pre-conditions you specified did not hold"});
                if let Some(v) = &vid {
                    e["VersionId"] = json!(v);
                }
                errors.push(e);
                continue;
            }
        }
        let mut d = delete_one(&b, &key, vid.as_deref())?;
        removed.push((key.clone(), d.clone()));
        if !quiet {
            d.insert("Key".into(), json!(key));
            if let Some(v) = d.remove("VersionId") {
                if d.contains_key("DeleteMarker") && vid.is_none() {
                    d.insert("DeleteMarkerVersionId".into(), v);
                } else {
                    d.insert("VersionId".into(), v);
                }
            }
            deleted.push(Value::Object(d));
        }
    }
    let mut out = Map::new();
    if !deleted.is_empty() {
        out.insert("Deleted".into(), Value::Array(deleted));
    }
    if !errors.is_empty() {
        out.insert("Errors".into(), Value::Array(errors));
    }
    for (key, d) in &removed {
        notify_removed(ctx, &b, key, d);
    }
    Ok(Value::Object(out))
}

/// `bucket/key[?versionId=v]`, percent-encoded, with or without a leading slash.
pub fn parse_copy_source(src: &str) -> Result<(String, String, Option<String>), AwsError> {
    let src = src.strip_prefix('/').unwrap_or(src);
    let (path, version) = match src.split_once("?versionId=") {
        Some((p, v)) => (p, Some(v.to_string())),
        None => (src, None),
    };
    let path = util::url_decode(path);
    match path.split_once('/') {
        Some((b, k)) if !b.is_empty() && !k.is_empty() => Ok((b.into(), k.into(), version)),
        _ => Err(s3_error(
            "InvalidArgument",
            "Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
            400,
        )
        .with_member("ArgumentName", "x-amz-copy-source")),
    }
}

/// The source object of a copy, after the x-amz-copy-source-if-* checks.
pub fn copy_source(input: &Value) -> Result<Object, AwsError> {
    let (sb, sk, sv) = parse_copy_source(&s(input, "CopySource").unwrap_or_default())?;
    let src_bucket = bucket(&sb)?;
    let src = find(&src_bucket, &sk, sv.as_deref())?;
    if src.delete_marker {
        return Err(no_such_key(&sk));
    }
    encryption::check_read(&src.headers, input, "CopySourceSSECustomer")?;
    let cond = util::evaluate(
        &src.etag,
        src.last_modified,
        s(input, "CopySourceIfMatch").as_deref(),
        s(input, "CopySourceIfNoneMatch").as_deref(),
        input
            .get("CopySourceIfModifiedSince")
            .and_then(Value::as_f64),
        input
            .get("CopySourceIfUnmodifiedSince")
            .and_then(Value::as_f64),
    );
    if cond != Condition::Proceed {
        return Err(s3_error(
            "PreconditionFailed",
            "At least one of the pre-conditions you specified did not hold",
            412,
        ));
    }
    Ok(src)
}

/// A new blob with the bytes `[offset, offset+len)` of `blob`.
pub fn copy_blob(blob: &BlobRef, offset: u64, len: u64) -> Result<BlobRef, AwsError> {
    if len == 0 {
        return Ok(blobs::create(&[]));
    }
    blobs::concat(&[(blob.id.clone(), offset, len)])
}

pub fn copy_object(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let b = bucket(&s(&input, "Bucket").unwrap_or_default())?;
    let key = s(&input, "Key").unwrap_or_default();
    check_key(&key)?;
    let src = copy_source(&input)?;
    let replace_meta = s(&input, "MetadataDirective").as_deref() == Some("REPLACE");
    let replace_tags = s(&input, "TaggingDirective").as_deref() == Some("REPLACE");
    let (sb, sk, _) = parse_copy_source(&s(&input, "CopySource").unwrap_or_default())?;
    let to_self = sb == b.name && sk == key;
    let changes = replace_meta
        || input.member("StorageClass").is_some()
        || input.member("ServerSideEncryption").is_some()
        || input.member("SSECustomerAlgorithm").is_some()
        || input.member("WebsiteRedirectLocation").is_some();
    if to_self && !changes && versioning(&b).is_none() {
        return Err(s3_error(
            "InvalidRequest",
            "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
            400,
        ));
    }
    let source_blob = src.blob.clone().unwrap_or_default();
    let blob = copy_blob(&source_blob, 0, src.size)?;
    let mut obj = if replace_meta {
        new_object(&input, &key, blob)
    } else {
        let mut o = new_object(&input, &key, blob);
        o.metadata = src.metadata.clone();
        // The copy is encrypted as the request or the target bucket says,
        // never as the source was.
        for (k, v) in &src.headers {
            if !encryption::MEMBERS.contains(&k.as_str()) && !o.headers.contains_key(k) {
                o.headers.insert(k.clone(), v.clone());
            }
        }
        if input.member("ContentType").is_none()
            && let Some(ct) = src.headers.get("ContentType")
        {
            o.headers.insert("ContentType".into(), ct.clone());
        }
        o
    };
    encryption::apply(&b, &input, &mut obj.headers)?;
    obj.acl = crate::acl::for_write(&b, &input, &b.account)?;
    default_retention(&b, &mut obj);
    obj.etag = src.etag.clone();
    if !replace_tags {
        obj.tags = src.tags.clone();
    }
    if obj.checksums.is_empty() {
        obj.checksums = src.checksums.clone();
        obj.checksum_algorithm = src.checksum_algorithm.clone();
        obj.checksum_type = src.checksum_type.clone();
    }
    default_checksum(&mut obj);
    let current = current(&b, &key)?;
    check_write_conditions(&input, current.as_ref())?;
    let etag = obj.etag.clone();
    let last_modified = obj.last_modified;
    let mut result = json!({"ETag": etag, "LastModified": last_modified});
    for (alg, v) in &obj.checksums {
        result[format!("Checksum{alg}")] = json!(v);
    }
    let mut out = Map::new();
    encryption::echo(&obj.headers, &mut out);
    let size = obj.size;
    let vid = store_over(&b, obj, current)?;
    if let Some(v) = reported_version(&vid) {
        out.insert("VersionId".into(), json!(v));
    }
    if let Some(v) = &src.version_id {
        out.insert("CopySourceVersionId".into(), json!(v));
    }
    out.insert("CopyObjectResult".into(), result);
    events::notify(
        ctx,
        &b,
        &events::Event {
            name: "ObjectCreated:Copy",
            key: &key,
            size,
            etag: &etag,
            version_id: vid.as_deref(),
        },
    );
    Ok(Value::Object(out))
}

/// One page of a listing: objects and common prefixes after `start_after`.
pub struct Listing {
    pub contents: Vec<Object>,
    pub prefixes: Vec<String>,
    pub truncated: bool,
    /// The last key or common prefix returned.
    pub last: Option<String>,
}

pub fn walk(
    bucket: &str,
    prefix: &str,
    delimiter: &str,
    start_after: Option<&str>,
    max_keys: usize,
) -> Result<Listing, AwsError> {
    let base = keys::prefix(&[bucket]);
    let mut after = match start_after {
        Some(a) if a > prefix => Some(format!("{base}{a}")),
        _ => None,
    };
    let mut l = Listing {
        contents: Vec::new(),
        prefixes: Vec::new(),
        truncated: false,
        last: None,
    };
    loop {
        let mut scan = Scan::prefix(format!("{base}{prefix}")).limit(1000);
        if let Some(a) = &after {
            scan = scan.start_after(a.clone());
        }
        let rows = OBJECTS.scan(&scan)?;
        let n = rows.len();
        for (k, o) in rows {
            let key = &k[base.len()..];
            after = Some(k.clone());
            let cp = util::common_prefix(key, prefix, delimiter);
            if let Some(cp) = &cp
                && l.prefixes.last() == Some(cp)
            {
                continue;
            }
            if start_after.is_some_and(|a| {
                cp.as_deref().is_some_and(|c| c <= a) && a.starts_with(cp.as_deref().unwrap_or(""))
            }) {
                continue;
            }
            if l.contents.len() + l.prefixes.len() == max_keys {
                l.truncated = true;
                return Ok(l);
            }
            match cp {
                Some(cp) => {
                    l.last = Some(cp.clone());
                    l.prefixes.push(cp);
                }
                None => {
                    l.last = Some(key.to_string());
                    l.contents.push(o);
                }
            }
        }
        if n < 1000 {
            return Ok(l);
        }
    }
}

fn max_keys(input: &Value) -> usize {
    input
        .get("MaxKeys")
        .and_then(Value::as_i64)
        .map(|n| n.clamp(0, 1000) as usize)
        .unwrap_or(1000)
}

fn summary(o: &Object, url: bool, with_owner: Option<&str>) -> Value {
    let mut v = json!({
        "Key": if url { util::url_encode(&o.key) } else { o.key.clone() },
        "LastModified": o.last_modified,
        "ETag": o.etag,
        "Size": o.size,
        "StorageClass": o.storage_class.clone().unwrap_or_else(|| "STANDARD".into()),
    });
    if let Some(alg) = &o.checksum_algorithm {
        v["ChecksumAlgorithm"] = json!([alg]);
        if let Some(t) = &o.checksum_type {
            v["ChecksumType"] = json!(t);
        }
    }
    if let Some(acct) = with_owner {
        v["Owner"] = owner(acct);
    }
    v
}

fn listing_common(
    input: &Value,
    l: &Listing,
    out: &mut Map<String, Value>,
    url: bool,
    owner_of: Option<&str>,
) {
    let enc = |x: &str| {
        if url {
            util::url_encode(x)
        } else {
            x.to_string()
        }
    };
    out.insert(
        "Contents".into(),
        Value::Array(
            l.contents
                .iter()
                .map(|o| summary(o, url, owner_of))
                .collect(),
        ),
    );
    if !l.prefixes.is_empty() {
        out.insert(
            "CommonPrefixes".into(),
            Value::Array(
                l.prefixes
                    .iter()
                    .map(|p| json!({"Prefix": enc(p)}))
                    .collect(),
            ),
        );
    }
    out.insert("IsTruncated".into(), json!(l.truncated));
    out.insert("MaxKeys".into(), json!(max_keys(input)));
    out.insert(
        "Prefix".into(),
        json!(enc(&s(input, "Prefix").unwrap_or_default())),
    );
    if let Some(d) = s(input, "Delimiter") {
        out.insert("Delimiter".into(), json!(enc(&d)));
    }
    if url {
        out.insert("EncodingType".into(), json!("url"));
    }
    if l.contents.is_empty() {
        out.remove("Contents");
    }
}

fn encoding_url(input: &Value) -> Result<bool, AwsError> {
    match s(input, "EncodingType").as_deref() {
        None => Ok(false),
        Some("url") => Ok(true),
        Some(_) => Err(s3_error(
            "InvalidArgument",
            "Invalid Encoding Method specified in Request",
            400,
        )
        .with_member("ArgumentName", "encoding-type")),
    }
}

pub fn list_objects(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let b = bucket(&s(&input, "Bucket").unwrap_or_default())?;
    let url = encoding_url(&input)?;
    let prefix = s(&input, "Prefix").unwrap_or_default();
    let delimiter = s(&input, "Delimiter").unwrap_or_default();
    let marker = s(&input, "Marker");
    let l = walk(
        &b.name,
        &prefix,
        &delimiter,
        marker.as_deref(),
        max_keys(&input),
    )?;
    let mut out = Map::new();
    out.insert("Name".into(), json!(b.name));
    out.insert("Marker".into(), json!(marker.clone().unwrap_or_default()));
    listing_common(&input, &l, &mut out, url, Some(&b.account));
    if l.truncated
        && !delimiter.is_empty()
        && let Some(last) = &l.last
    {
        out.insert(
            "NextMarker".into(),
            json!(if url {
                util::url_encode(last)
            } else {
                last.clone()
            }),
        );
    }
    Ok(Value::Object(out))
}

pub fn list_objects_v2(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let b = bucket(&s(&input, "Bucket").unwrap_or_default())?;
    let url = encoding_url(&input)?;
    let prefix = s(&input, "Prefix").unwrap_or_default();
    let delimiter = s(&input, "Delimiter").unwrap_or_default();
    let token = s(&input, "ContinuationToken");
    let start = match &token {
        Some(t) => Some(pagination::decode(t).ok_or_else(|| {
            s3_error(
                "InvalidArgument",
                "The continuation token provided is incorrect",
                400,
            )
            .with_member("ArgumentName", "continuation-token")
        })?),
        None => s(&input, "StartAfter"),
    };
    let l = walk(
        &b.name,
        &prefix,
        &delimiter,
        start.as_deref(),
        max_keys(&input),
    )?;
    let fetch_owner = input.member("FetchOwner") == Some(&Value::Bool(true));
    let mut out = Map::new();
    out.insert("Name".into(), json!(b.name));
    listing_common(
        &input,
        &l,
        &mut out,
        url,
        fetch_owner.then_some(b.account.as_str()),
    );
    out.insert(
        "KeyCount".into(),
        json!(l.contents.len() + l.prefixes.len()),
    );
    if let Some(t) = token {
        out.insert("ContinuationToken".into(), json!(t));
    }
    if let Some(sa) = s(&input, "StartAfter") {
        out.insert(
            "StartAfter".into(),
            json!(if url { util::url_encode(&sa) } else { sa }),
        );
    }
    if l.truncated
        && let Some(last) = &l.last
    {
        out.insert(
            "NextContinuationToken".into(),
            json!(pagination::encode(last)),
        );
    }
    Ok(Value::Object(out))
}

pub fn list_object_versions(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let b = bucket(&s(&input, "Bucket").unwrap_or_default())?;
    let prefix = s(&input, "Prefix").unwrap_or_default();
    let max = max_keys(&input);
    let key_marker = s(&input, "KeyMarker").unwrap_or_default();
    let base = keys::prefix(&[&b.name]);
    // (key, newest-first order) → entry; unversioned objects are the `null` version.
    let mut all: Vec<(String, String, Object)> = Vec::new();
    for (k, o) in VERSIONS.scan(&Scan::prefix(format!("{base}{prefix}")))? {
        let rest = &k[base.len()..];
        let key = keys::split(rest)[0].to_string();
        all.push((key, o.seq.clone(), o));
    }
    for (k, o) in OBJECTS.scan(&Scan::prefix(format!("{base}{prefix}")))? {
        if o.version_id.is_none() && o.seq.is_empty() {
            all.push((k[base.len()..].to_string(), String::new(), o));
        }
    }
    all.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut versions = Vec::new();
    let mut markers = Vec::new();
    let mut prefixes: Vec<String> = Vec::new();
    let delimiter = s(&input, "Delimiter").unwrap_or_default();
    let mut truncated = false;
    let mut next = None;
    let mut prev_key: Option<String> = None;
    let version_marker = s(&input, "VersionIdMarker").unwrap_or_default();
    let mut past_version_marker = false;
    for (key, _, o) in all {
        let latest = prev_key.as_deref() != Some(key.as_str());
        prev_key = Some(key.clone());
        if !key_marker.is_empty() && key.as_str() <= key_marker.as_str() {
            // Within the marker's key, the versions after VersionIdMarker.
            if key != key_marker || version_marker.is_empty() || !past_version_marker {
                if key == key_marker && o.version() == version_marker {
                    past_version_marker = true;
                }
                continue;
            }
        }
        let cp = util::common_prefix(&key, &prefix, &delimiter);
        if let Some(cp) = &cp
            && prefixes.last() == Some(cp)
        {
            continue;
        }
        if versions.len() + markers.len() + prefixes.len() == max {
            truncated = true;
            break;
        }
        next = Some((key.clone(), o.version().to_string()));
        if let Some(cp) = cp {
            prefixes.push(cp);
            continue;
        }
        let mut v = json!({
            "Key": key, "VersionId": o.version(), "IsLatest": latest,
            "LastModified": o.last_modified, "Owner": owner(&b.account),
        });
        if o.delete_marker {
            markers.push(v);
        } else {
            v["ETag"] = json!(o.etag);
            v["Size"] = json!(o.size);
            v["StorageClass"] = json!(o.storage_class.clone().unwrap_or_else(|| "STANDARD".into()));
            versions.push(v);
        }
    }
    let mut out = Map::new();
    out.insert("Name".into(), json!(b.name));
    out.insert("Prefix".into(), json!(prefix));
    out.insert("KeyMarker".into(), json!(key_marker));
    if !version_marker.is_empty() {
        out.insert("VersionIdMarker".into(), json!(version_marker));
    }
    out.insert("MaxKeys".into(), json!(max));
    out.insert("IsTruncated".into(), json!(truncated));
    if truncated && let Some((k, v)) = next {
        out.insert("NextKeyMarker".into(), json!(k));
        out.insert("NextVersionIdMarker".into(), json!(v));
    }
    if !versions.is_empty() {
        out.insert("Versions".into(), Value::Array(versions));
    }
    if !markers.is_empty() {
        out.insert("DeleteMarkers".into(), Value::Array(markers));
    }
    if !prefixes.is_empty() {
        out.insert(
            "CommonPrefixes".into(),
            Value::Array(prefixes.into_iter().map(|p| json!({"Prefix": p})).collect()),
        );
    }
    if !delimiter.is_empty() {
        out.insert("Delimiter".into(), json!(delimiter));
    }
    Ok(Value::Object(out))
}

fn tag_set(tags: &[(String, String)]) -> Value {
    Value::Array(
        tags.iter()
            .map(|(k, v)| json!({"Key": k, "Value": v}))
            .collect(),
    )
}

/// Applies `f` to the addressed version of an object (current and stored copies).
pub fn update_object(input: &Value, f: impl Fn(&mut Object)) -> Result<Object, AwsError> {
    let b = bucket(&s(input, "Bucket").unwrap_or_default())?;
    let key = s(input, "Key").unwrap_or_default();
    let mut o = find(&b, &key, s(input, "VersionId").as_deref())?;
    f(&mut o);
    let okey = object_key(&b.name, &key);
    if OBJECTS
        .get(&okey)?
        .is_some_and(|c| c.version() == o.version())
    {
        OBJECTS.put(&okey, &o)?;
    }
    if !o.seq.is_empty() {
        VERSIONS.put(&keys::join(&[&b.name, &key, &o.seq]), &o)?;
    }
    Ok(o)
}

pub fn put_object_tagging(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let tags: Vec<(String, String)> = input
        .pointer("/Tagging/TagSet")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|t| {
                    (
                        s(t, "Key").unwrap_or_default(),
                        s(t, "Value").unwrap_or_default(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    if tags.len() > 10 {
        return Err(s3_error(
            "BadRequest",
            "Object tags cannot be greater than 10",
            400,
        ));
    }
    let o = update_object(&input, |o| o.tags = tags.clone())?;
    Ok(version_member(&o))
}

pub fn version_member(o: &Object) -> Value {
    match &o.version_id {
        Some(v) => json!({"VersionId": v}),
        None => json!({}),
    }
}

pub fn get_object_tagging(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let b = bucket(&s(&input, "Bucket").unwrap_or_default())?;
    let o = find(
        &b,
        &s(&input, "Key").unwrap_or_default(),
        s(&input, "VersionId").as_deref(),
    )?;
    let mut out = version_member(&o);
    out["TagSet"] = tag_set(&o.tags);
    Ok(out)
}

pub fn delete_object_tagging(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let o = update_object(&input, |o| o.tags.clear())?;
    Ok(version_member(&o))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_sources() {
        assert_eq!(
            parse_copy_source("/b/a%20b/c?versionId=v1").unwrap(),
            ("b".into(), "a b/c".into(), Some("v1".into()))
        );
        assert!(parse_copy_source("bucketonly").is_err());
    }

    fn object() -> Object {
        Object {
            key: "a/b \"c\".txt".into(),
            blob: Some(BlobRef {
                id: "blob-1".into(),
                size: 5,
                md5_hex: "5d41402abc4b2a76b9719d911017c592".into(),
                checksums: [("CRC64NVME".to_string(), "M3eFcAZSQlc=".to_string())].into(),
            }),
            etag: "\"5d41402abc4b2a76b9719d911017c592\"".into(),
            size: 5,
            last_modified: 1_700_000_000_123,
            version_id: Some("v1".into()),
            seq: "0001".into(),
            metadata: [("color".to_string(), "blue".to_string())].into(),
            headers: serde_json::from_value(
                serde_json::json!({"ContentType": "text/plain", "BucketKeyEnabled": true, "Expires": 1.7e9}),
            )
            .unwrap(),
            storage_class: Some("STANDARD".into()),
            tags: vec![("k".into(), "v".into())],
            parts_count: Some(2),
            checksum_algorithm: Some("CRC32".into()),
            checksum_type: Some("FULL_OBJECT".into()),
            checksums: [("CRC32".to_string(), "NhCmhg==".to_string())].into(),
            acl: Some(vec![serde_json::json!({"Permission": "READ", "Grantee": {"Type": "Group"}})]),
            ..Object::default()
        }
    }

    /// Both record tables write compact rows; every member reads back,
    /// the JSON-valued ones included.
    #[test]
    fn object_rows_round_trip_compact() {
        for o in [object(), Object::default()] {
            for table in [OBJECTS, VERSIONS] {
                let bytes = table.encode_row(&o).unwrap();
                assert!(bytes.len() < serde_json::to_vec(&o).unwrap().len());
                let back = table.decode_row(&bytes).unwrap();
                assert_eq!(
                    serde_json::to_value(&back).unwrap(),
                    serde_json::to_value(&o).unwrap()
                );
            }
        }
    }

    /// `ObjectHead` is `Object`'s head: its fields read back from a stored
    /// record, compact or JSON (fails when `Object`'s first fields change
    /// order or type without it).
    #[test]
    fn the_head_of_a_record_reads_as_the_record() {
        let o = object();
        let rows = [
            OBJECTS.encode_row(&o).unwrap(),
            VERSIONS.encode_row(&o).unwrap(),
            serde_json::to_vec(&o).unwrap(),
        ];
        for bytes in rows {
            let h: ObjectHead = OBJECTS.decode_prefix(&bytes).unwrap();
            assert_eq!(
                (h.key, h.blob, h.etag, h.size, h.last_modified),
                (
                    o.key.clone(),
                    o.blob.clone(),
                    o.etag.clone(),
                    o.size,
                    o.last_modified
                )
            );
            assert_eq!(
                (h.version_id, h.delete_marker, h.seq),
                (o.version_id.clone(), o.delete_marker, o.seq.clone())
            );
        }
    }

    /// Records an older build wrote as JSON (checksums as pairs, members
    /// left out) still read.
    #[test]
    fn json_object_rows_still_read() {
        let o = object();
        let mut old = serde_json::to_value(&o).unwrap();
        old["blob"]["checksums"] = serde_json::json!([["CRC64NVME", "M3eFcAZSQlc="]]);
        old.as_object_mut().unwrap().remove("acl");
        let back = OBJECTS
            .decode_row(&serde_json::to_vec(&old).unwrap())
            .unwrap();
        assert_eq!(back.blob, o.blob);
        assert_eq!(back.headers, o.headers);
        assert_eq!(back.acl, None);
        assert_eq!(back.metadata, o.metadata);
    }

    /// `Headers` is the `Map` it replaced: the same inserts and removes
    /// leave the same members in the same order, written as the same JSON
    /// text (what a stored record holds), and that text reads back as it.
    #[test]
    fn headers_are_the_map_they_replaced() {
        let mut map = Map::new();
        let mut headers = Headers::default();
        let steps: &[(&str, Option<Value>)] = &[
            ("ContentType", Some(json!("a"))),
            ("ServerSideEncryption", Some(json!("AES256"))),
            ("Expires", Some(json!(1.7e9))),
            ("BucketKeyEnabled", Some(json!(true))),
            ("ContentType", Some(json!("b"))),
            ("ServerSideEncryption", None),
            ("Nope", None),
            ("ObjectLockMode", Some(json!("GOVERNANCE"))),
            ("ContentType", None),
        ];
        for (k, v) in steps {
            match v {
                Some(v) => assert_eq!(
                    headers.insert(k.to_string(), v.clone()),
                    map.insert(k.to_string(), v.clone())
                ),
                None => assert_eq!(headers.remove(k), map.remove(*k)),
            }
            let text = serde_json::to_string(&map).unwrap();
            assert_eq!(serde_json::to_string(&headers).unwrap(), text);
            let back: Headers = serde_json::from_str(&text).unwrap();
            assert_eq!(back, headers);
            assert_eq!(headers.len(), map.len());
            assert!(headers.iter().eq(map.iter()));
        }
        let dup: Headers = serde_json::from_str(r#"{"A": 1, "B": 2, "A": 3}"#).unwrap();
        let dup_map: Map<String, Value> =
            serde_json::from_str(r#"{"A": 1, "B": 2, "A": 3}"#).unwrap();
        assert!(dup.iter().eq(dup_map.iter()));
    }
}
