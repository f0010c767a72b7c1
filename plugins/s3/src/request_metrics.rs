//! S3 request metrics: CloudWatch `AWS/S3` metrics, dimensions `BucketName`
//! and `FilterId`, for the requests on a bucket that has a metrics
//! configuration (PutBucketMetricsConfiguration) whose filter matches, as
//! AWS emits them (paid, opt-in, 1-minute). Only configured buckets pay:
//! [`saw`] notes a bucket as the request loads it, and [`metered`] emits
//! after the handler from what it noted, with no store read of its own
//! unless a filter names tags.

use std::cell::RefCell;

use ministack_sdk::metrics::{self, Datum};
use ministack_sdk::prelude::*;
use serde_json::Value;

use crate::buckets::Bucket;
use crate::objects::{OBJECTS, object_key};
use crate::request::{BodyMember, Request};
use crate::util;

/// The member of `Bucket::config` holding the metrics configurations by id.
const CONFIGS: &str = "MetricsConfiguration";

thread_local! {
    /// Metrics configurations of the buckets this request loaded, by bucket
    /// name, with when the request first loaded it (the latencies' start:
    /// handlers load their bucket first, and a request on a bucket without
    /// configurations does not read the clock): empty unless one is
    /// configured. Cleared by [`metered`] before each handler (an instance
    /// serves many requests).
    static SEEN: RefCell<Vec<(String, Value, f64)>> = const { RefCell::new(Vec::new()) };
}

/// Called by `buckets::bucket` for every bucket a request loads.
pub fn saw(b: &Bucket) {
    if let Some(configs) = b
        .config
        .get(CONFIGS)
        .filter(|c| c.as_object().is_some_and(|m| !m.is_empty()))
    {
        SEEN.with_borrow_mut(|seen| {
            if !seen.iter().any(|(n, _, _)| *n == b.name) {
                seen.push((b.name.clone(), configs.clone(), ministack_sdk::time::now()));
            }
        });
    }
}

/// What an operation counts as, besides `AllRequests`.
#[derive(Clone, Copy, PartialEq)]
pub enum Kind {
    Get,
    Put,
    Delete,
    Head,
    Post,
    List,
    Select,
    /// Counted in AllRequests only (ListParts, tagging reads, ...).
    Other,
}

impl Kind {
    fn metric(self) -> Option<&'static str> {
        Some(match self {
            Kind::Get => "GetRequests",
            Kind::Put => "PutRequests",
            Kind::Delete => "DeleteRequests",
            Kind::Head => "HeadRequests",
            Kind::Post => "PostRequests",
            Kind::List => "ListRequests",
            Kind::Select => "SelectRequests",
            Kind::Other => return None,
        })
    }
}

/// `handler`, emitting the request metrics of the bucket it names (its
/// input a tree or a typed input, its answer a tree or an `Output`).
pub fn metered<I: Request + 'static, O: Members + 'static>(
    kind: Kind,
    handler: fn(&Context, I) -> Result<O, AwsError>,
) -> impl Fn(&Context, I) -> Result<O, AwsError> + Send + Sync + 'static {
    move |ctx: &Context, input: I| {
        SEEN.with_borrow_mut(Vec::clear);
        let (bucket, key) = (util::s(&input, "Bucket"), util::s(&input, "Key"));
        let uploaded = uploaded_bytes(&input);
        let result = handler(ctx, input);
        let configs = SEEN.with_borrow_mut(|seen| {
            let i = seen
                .iter()
                .position(|(n, _, _)| Some(n) == bucket.as_ref())?;
            let (_, configs, started) = seen.swap_remove(i);
            Some((configs, started))
        });
        if let (Some(bucket), Some((configs, started))) = (bucket, configs) {
            let request = Metered {
                kind,
                bucket: &bucket,
                key: key.as_deref(),
                uploaded,
                started,
            };
            emit(&request, &configs, &result);
        }
        result
    }
}

struct Metered<'a> {
    kind: Kind,
    bucket: &'a str,
    key: Option<&'a str>,
    uploaded: u64,
    started: f64,
}

/// The size of the body a PUT carries (a host blob, or inline base64).
fn uploaded_bytes(input: &impl Request) -> u64 {
    match input.body() {
        BodyMember::Tree(blob) => blob.member("size").and_then(Value::as_u64).unwrap_or(0),
        BodyMember::Blob(blob) => blob.size,
        BodyMember::Base64(b64) => (b64.len() as u64 / 4) * 3,
        BodyMember::None => 0,
    }
}

fn emit<O: Members>(r: &Metered<'_>, configs: &Value, result: &Result<O, AwsError>) {
    let Some(configs) = configs.as_object() else {
        return;
    };
    let tags = std::cell::OnceCell::new();
    let object_tags = || {
        tags.get_or_init(|| {
            r.key
                .and_then(|k| OBJECTS.get(&object_key(r.bucket, k)).ok().flatten())
                .map(|o| o.tags)
                .unwrap_or_default()
        })
    };
    let elapsed_ms = ((ministack_sdk::time::now() - r.started) * 1000.0).max(0.0);
    let (status, downloaded) = match result {
        Ok(out) if r.kind == Kind::Get => (
            200,
            out.member("ContentLength")
                .and_then(Value::as_u64)
                .unwrap_or(0),
        ),
        Ok(_) => (200, 0),
        Err(e) => (
            e.status.unwrap_or(if e.sender_fault { 400 } else { 500 }),
            0,
        ),
    };
    let mut data = Vec::new();
    let dims: Vec<[(&str, &str); 2]> = configs
        .iter()
        .filter(|(_, c)| matches(c.get("Filter"), r.key, &object_tags))
        .map(|(id, _)| [("BucketName", r.bucket), ("FilterId", id.as_str())])
        .collect();
    for d in &dims {
        data.push(Datum::count("AWS/S3", "AllRequests", d));
        if let Some(name) = r.kind.metric() {
            data.push(Datum::count("AWS/S3", name, d));
        }
        match status {
            400..=499 => data.push(Datum::count("AWS/S3", "4xxErrors", d)),
            500..=599 => data.push(Datum::count("AWS/S3", "5xxErrors", d)),
            _ => {}
        }
        if r.uploaded > 0 {
            data.push(Datum {
                value: r.uploaded as f64,
                unit: "Bytes",
                ..Datum::count("AWS/S3", "BytesUploaded", d)
            });
        }
        if downloaded > 0 {
            data.push(Datum {
                value: downloaded as f64,
                unit: "Bytes",
                ..Datum::count("AWS/S3", "BytesDownloaded", d)
            });
        }
        for name in ["FirstByteLatency", "TotalRequestLatency"] {
            data.push(Datum {
                value: elapsed_ms,
                unit: "Milliseconds",
                ..Datum::count("AWS/S3", name, d)
            });
        }
    }
    if !data.is_empty() {
        // Metrics never fail the request they describe.
        let _ = metrics::emit(&data);
    }
}

/// Whether a configuration's filter takes in this request: no filter is
/// the whole bucket; a prefix or tag filter needs an object that matches
/// (requests on the bucket itself, such as listings, match only the whole
/// bucket); an access point filter never matches (no access points here).
fn matches<'t>(
    filter: Option<&Value>,
    key: Option<&str>,
    tags: &impl Fn() -> &'t Vec<(String, String)>,
) -> bool {
    let Some(filter) = filter.filter(|f| f.as_object().is_some_and(|m| !m.is_empty())) else {
        return true;
    };
    let Some(key) = key else {
        return false;
    };
    let (prefix, wanted, access_point) = match filter.get("And") {
        Some(and) => (
            and.get("Prefix"),
            and.get("Tags")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
            and.get("AccessPointArn"),
        ),
        None => (
            filter.get("Prefix"),
            filter.get("Tag").cloned().into_iter().collect(),
            filter.get("AccessPointArn"),
        ),
    };
    if access_point.is_some() {
        return false;
    }
    if prefix
        .and_then(Value::as_str)
        .is_some_and(|p| !key.starts_with(p))
    {
        return false;
    }
    wanted.iter().all(|t| {
        let (k, v) = (
            t.get("Key").and_then(Value::as_str),
            t.get("Value").and_then(Value::as_str),
        );
        tags()
            .iter()
            .any(|(tk, tv)| Some(tk.as_str()) == k && Some(tv.as_str()) == v)
    })
}
