//! Loading a botocore `service-2.json` into an indexed, resolved model.
//!
//! The JSON is deserialized straight into small typed structs (serde skips the
//! `documentation` strings without allocating them), then shape names are
//! resolved to indices once, so the codecs never look a shape up by name.

use std::collections::HashMap;

/// Maps looked up on every request (shapes and error codes here; in the
/// host its router, idle instances, plugins, topics and metric batches):
/// foldhash, not SipHash, which costs ~200 instructions a short key
/// (docs/performance.md, "Twelfth sitting"). The seed is still random per
/// process.
pub type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// A [`FastMap`] by name.
pub type NameMap<V> = FastMap<String, V>;
use std::sync::OnceLock;

use serde::Deserialize;
use serde::de::{IgnoredAny, MapAccess, Visitor};

use crate::rest::UriTemplate;
use crate::{Metadata, ModelError, Protocol};

/// Index of a shape in [`Model::shapes`].
pub(crate) type ShapeId = u32;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Structure,
    List,
    Map,
    String,
    Integer,
    Long,
    Short,
    Byte,
    Float,
    Double,
    BigInteger,
    BigDecimal,
    Boolean,
    Blob,
    Timestamp,
    Document,
}

impl Kind {
    fn parse(s: &str) -> Option<Kind> {
        Some(match s {
            "structure" => Kind::Structure,
            "list" => Kind::List,
            "map" => Kind::Map,
            "string" | "character" => Kind::String,
            "integer" => Kind::Integer,
            "long" => Kind::Long,
            "short" => Kind::Short,
            "byte" => Kind::Byte,
            "float" => Kind::Float,
            "double" => Kind::Double,
            "bigInteger" | "biginteger" => Kind::BigInteger,
            "bigDecimal" | "bigdecimal" => Kind::BigDecimal,
            "boolean" => Kind::Boolean,
            "blob" => Kind::Blob,
            "timestamp" => Kind::Timestamp,
            "document" => Kind::Document,
            _ => return None,
        })
    }
    pub(crate) fn is_integer(self) -> bool {
        matches!(
            self,
            Kind::Integer | Kind::Long | Kind::Short | Kind::Byte | Kind::BigInteger
        )
    }
    pub(crate) fn is_float(self) -> bool {
        matches!(self, Kind::Float | Kind::Double | Kind::BigDecimal)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) enum Location {
    #[default]
    Body,
    Uri,
    QueryString,
    Header,
    Headers,
    StatusCode,
}

impl Location {
    /// In a response, URI and query-string bindings mean nothing: such
    /// members are written in the body.
    pub(crate) fn in_output_body(self) -> bool {
        matches!(self, Location::Body | Location::Uri | Location::QueryString)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TsFormat {
    Iso8601,
    Rfc822,
    UnixTimestamp,
}

impl TsFormat {
    fn parse(s: &str) -> Option<TsFormat> {
        match s {
            "iso8601" => Some(TsFormat::Iso8601),
            "rfc822" => Some(TsFormat::Rfc822),
            "unixTimestamp" => Some(TsFormat::UnixTimestamp),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct XmlNs {
    pub prefix: Option<String>,
    pub uri: String,
}

/// A member of a structure, or the member/key/value of a list or map.
// Every wire-affecting trait is loaded, including ones no codec reads yet.
#[allow(dead_code)]
#[derive(Clone, Debug)]
pub(crate) struct Member {
    pub name: String,
    pub shape: ShapeId,
    pub required: bool,
    pub location: Location,
    pub location_name: Option<String>,
    pub query_name: Option<String>,
    pub flattened: bool,
    pub xml_namespace: Option<XmlNs>,
    pub xml_attribute: bool,
    pub timestamp_format: Option<TsFormat>,
    pub jsonvalue: bool,
    pub host_label: bool,
    pub idempotency_token: bool,
    pub event_payload: bool,
    pub event_header: bool,
    /// `streaming` on the member (S3 puts it there) or on its shape.
    pub streaming: bool,
}

impl Member {
    /// The wire name (locationName, else the member name).
    pub fn wire_name(&self) -> &str {
        self.location_name.as_deref().unwrap_or(&self.name)
    }
}

// Every wire-affecting trait is loaded, including ones no codec reads yet.
#[allow(dead_code)]
#[derive(Clone, Debug)]
pub(crate) struct Shape {
    pub name: String,
    pub kind: Kind,
    pub members: Vec<Member>,
    pub member: Option<Box<Member>>,
    pub key: Option<Box<Member>>,
    pub value: Option<Box<Member>>,
    pub flattened: bool,
    pub location_name: Option<String>,
    pub xml_namespace: Option<XmlNs>,
    pub timestamp_format: Option<TsFormat>,
    pub enum_values: Option<Vec<String>>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub pattern: bool,
    pub streaming: bool,
    pub eventstream: bool,
    pub event: bool,
    pub exception: bool,
    pub fault: bool,
    pub error_code: Option<String>,
    pub error_status: Option<u16>,
    pub error_sender_fault: Option<bool>,
    pub payload: Option<String>,
    pub union: bool,
    pub document: bool,
    pub requires_length: bool,
    pub result_wrapper: Option<String>,
    /// Any member with `xmlAttribute` (the XML writer skips the scan if not).
    pub has_xml_attributes: bool,
    /// Indices of `members` sorted by name: lookups by name without a hash
    /// (S3's PutObject input has 46 members, a request names a handful).
    pub members_by_name: Vec<u16>,
    /// The `header`-bound members' wire names, lowercased (as `http` keeps
    /// a request's names), with their indices, sorted by name: a request's
    /// few headers are looked up here instead of compared with every member.
    pub headers_by_name: Vec<(Box<str>, u16)>,
}

impl Shape {
    pub fn member(&self, name: &str) -> Option<&Member> {
        self.member_index(name).map(|i| &self.members[i])
    }

    /// The position of the member named `name` in `members`.
    pub fn member_index(&self, name: &str) -> Option<usize> {
        self.members_by_name
            .binary_search_by(|&i| self.members[i as usize].name.as_str().cmp(name))
            .ok()
            .map(|found| self.members_by_name[found] as usize)
    }

    /// The positions of the members bound to the header `name` (lowercase).
    pub fn header_members<'a>(&'a self, name: &'a str) -> impl Iterator<Item = usize> + 'a {
        let from = self
            .headers_by_name
            .partition_point(|(n, _)| n.as_ref() < name);
        self.headers_by_name[from..]
            .iter()
            .take_while(move |(n, _)| n.as_ref() == name)
            .map(|&(_, i)| usize::from(i))
    }
}

/// `members`' indices sorted by name.
fn by_name(members: &[Member]) -> Vec<u16> {
    let mut order: Vec<u16> = (0..members.len() as u16).collect();
    order.sort_by(|&a, &b| members[a as usize].name.cmp(&members[b as usize].name));
    order
}

/// The `header` members' lowercased wire names and indices, sorted by name.
fn headers_by_name(members: &[Member]) -> Vec<(Box<str>, u16)> {
    let mut names: Vec<(Box<str>, u16)> = (0..members.len() as u16)
        .filter(|&i| members[usize::from(i)].location == Location::Header)
        .map(|i| {
            let name = members[usize::from(i)].wire_name().to_ascii_lowercase();
            (name.into_boxed_str(), i)
        })
        .collect();
    // Stable: members sharing a name stay in model order.
    names.sort_by(|a, b| a.0.cmp(&b.0));
    names
}

/// The input or output reference of an operation.
#[derive(Clone, Debug)]
pub(crate) struct ShapeRef {
    pub shape: ShapeId,
    pub location_name: Option<String>,
    pub xml_namespace: Option<XmlNs>,
    pub result_wrapper: Option<String>,
}

// Every wire-affecting trait is loaded, including ones no codec reads yet.
#[allow(dead_code)]
#[derive(Clone, Debug)]
pub(crate) struct Operation {
    pub name: String,
    pub method: String,
    pub request_uri: String,
    pub template: UriTemplate,
    pub response_code: Option<u16>,
    pub input: Option<ShapeRef>,
    pub output: Option<ShapeRef>,
    pub errors: Vec<ShapeId>,
    pub host_prefix: Option<String>,
    /// Deprecated operations lose ties on a shared URI (S3's
    /// GetBucketLifecycle vs GetBucketLifecycleConfiguration on `?lifecycle`).
    pub deprecated: bool,
}

/// Where a model's shapes are read from when the text is not kept: it
/// returns the same text the model was parsed from (the host reads its
/// cached model file again).
pub type ShapeLoader = Box<dyn Fn() -> std::io::Result<String> + Send + Sync>;

/// The resolved model: shapes by index, operations by name.
///
/// Startup matters (several plugins' models load before the gateway is
/// ready), so only metadata and operations are parsed up front. Each shape
/// is kept as the byte range of its raw JSON and parsed on first use; with
/// a [`ShapeLoader`], even the text is read only when a shape is first
/// needed (an idle service keeps just its operations).
pub(crate) struct Model {
    source: std::sync::Arc<ShapeSource>,
    /// Parsed shapes by id, allocated on first use.
    shapes: OnceLock<Box<[OnceLock<Shape>]>>,
    /// Operations, most specific REST template first (the order routing
    /// walks them in).
    operations: Vec<Operation>,
    /// Indices of `operations` sorted by name: lookups by name.
    by_name: Vec<u32>,
    /// Error shapes by `error.code`, built on first need.
    error_codes: OnceLock<NameMap<ShapeId>>,
    /// Each HTTP method's range of `operations` (sorted by method, then
    /// most specific template first): a REST request is matched against its
    /// method's operations only.
    rest_methods: Vec<(String, std::ops::Range<usize>)>,
    /// Traits a protocol view adds to each shape as it is parsed (SQS's
    /// query names, see quirks/sqs.rs).
    overlay: Option<fn(&mut Shape)>,
}

/// The shapes' JSON text, as given or read on first use.
struct ShapeSource {
    loader: Option<ShapeLoader>,
    /// What the operations' shape ids were resolved against: the number of
    /// shapes and a hash of their names in order. A reloaded text must
    /// agree.
    count: usize,
    names_hash: u64,
    text: OnceLock<ShapeText>,
}

struct ShapeText {
    text: Box<str>,
    raw_shapes: Vec<(std::ops::Range<usize>, String)>,
    index: NameMap<ShapeId>,
}

impl ShapeSource {
    fn text(&self) -> &ShapeText {
        self.text.get_or_init(|| {
            let loaded = self
                .loader
                .as_ref()
                .map(|load| load())
                .transpose()
                .ok()
                .flatten()
                .and_then(|text| {
                    let table = shape_text(text.into()).ok()?;
                    (table.raw_shapes.len() == self.count
                        && names_hash(table.raw_shapes.iter().map(|(_, n)| n.as_str()))
                            == self.names_hash)
                        .then_some(table)
                });
            // Unreadable (the loader reports why) or not the text the
            // model was parsed from: every shape reads as a document.
            loaded.unwrap_or(ShapeText {
                text: "".into(),
                raw_shapes: Vec::new(),
                index: NameMap::default(),
            })
        })
    }
}

fn names_hash<'a>(names: impl Iterator<Item = &'a str>) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for n in names {
        n.hash(&mut h);
    }
    h.finish()
}

/// The byte range and name of every shape of a model's text, in order.
fn shape_text(text: Box<str>) -> Result<ShapeText, ModelError> {
    #[derive(Deserialize)]
    struct RawShapes<'a> {
        #[serde(default, borrow)]
        shapes: Ordered<&'a serde_json::value::RawValue>,
    }
    let raw: RawShapes = serde_json::from_str(&text).map_err(|e| ModelError(e.to_string()))?;
    let raw_shapes = shape_ranges(&text, raw.shapes);
    let index = shape_index(&raw_shapes);
    Ok(ShapeText {
        text,
        raw_shapes,
        index,
    })
}

fn shape_ranges(
    text: &str,
    shapes: Ordered<&serde_json::value::RawValue>,
) -> Vec<(std::ops::Range<usize>, String)> {
    let base = text.as_ptr() as usize;
    shapes
        .0
        .into_iter()
        .map(|(name, v)| {
            let start = v.get().as_ptr() as usize - base;
            (start..start + v.get().len(), name)
        })
        .collect()
}

fn shape_index(raw_shapes: &[(std::ops::Range<usize>, String)]) -> NameMap<ShapeId> {
    raw_shapes
        .iter()
        .enumerate()
        .map(|(i, (_, n))| (n.clone(), i as ShapeId))
        .collect()
}

impl Model {
    pub fn shape(&self, id: ShapeId) -> &Shape {
        let i = id as usize;
        let source = self.source.text();
        let shapes = self
            .shapes
            .get_or_init(|| source.raw_shapes.iter().map(|_| OnceLock::new()).collect());
        if i >= shapes.len() {
            return fallback_shape();
        }
        shapes[i].get_or_init(|| self.parse_shape(source, i))
    }

    fn parse_shape(&self, source: &ShapeText, i: usize) -> Shape {
        let (range, name) = &source.raw_shapes[i];
        let raw: RawShape = match serde_json::from_str(&source.text[range.clone()]) {
            Ok(r) => r,
            Err(_) => {
                return Shape {
                    name: name.clone(),
                    ..fallback_shape().clone()
                };
            }
        };
        let mut shape = resolve_shape(name.clone(), raw, &|n: &str| {
            source.index.get(n).copied().unwrap_or(UNKNOWN_SHAPE)
        });
        if let Some(overlay) = self.overlay {
            overlay(&mut shape);
            // An overlay may rename members: the header index follows.
            shape.headers_by_name = headers_by_name(&shape.members);
        }
        shape
    }

    /// The same model with `overlay` applied to every shape. Shape ids are
    /// the same in both.
    pub fn view(&self, overlay: fn(&mut Shape)) -> Model {
        Model {
            source: self.source.clone(),
            shapes: OnceLock::new(),
            operations: self.operations.clone(),
            by_name: self.by_name.clone(),
            error_codes: OnceLock::new(),
            rest_methods: self.rest_methods.clone(),
            overlay: Some(overlay),
        }
    }

    /// The operation named `name`.
    pub fn operation(&self, name: &str) -> Option<&Operation> {
        self.by_name
            .binary_search_by(|&i| self.operations[i as usize].name.as_str().cmp(name))
            .ok()
            .map(|at| &self.operations[self.by_name[at] as usize])
    }

    /// Every operation, by name.
    pub fn operations(&self) -> impl Iterator<Item = &Operation> {
        self.by_name.iter().map(|&i| &self.operations[i as usize])
    }

    /// The operations of one HTTP method, most specific REST template
    /// first (for routing).
    pub fn rest_ops(&self, method: &str) -> &[Operation] {
        self.rest_methods
            .iter()
            .find(|(m, _)| m.eq_ignore_ascii_case(method))
            .map_or(&[], |(_, range)| &self.operations[range.clone()])
    }

    /// The exception shape raised with `code` (its name or `error.code`).
    pub fn error_by_code(&self, code: &str) -> Option<ShapeId> {
        let source = self.source.text();
        if let Some(&id) = source.index.get(code)
            && self.shape(id).exception
        {
            return Some(id);
        }
        let codes = self.error_codes.get_or_init(|| {
            let mut map = NameMap::default();
            for (i, (range, _)) in source.raw_shapes.iter().enumerate() {
                // Cheap pre-filter before parsing: only exceptions matter.
                let text = &source.text[range.clone()];
                if text.contains("\"exception\"") && text.contains("\"code\"") {
                    let s = self.shape(i as ShapeId);
                    if let Some(c) = &s.error_code {
                        map.insert(c.clone(), i as ShapeId);
                    }
                }
            }
            map
        });
        codes.get(code).copied()
    }
}

/// A member pointing at a shape the model does not define gets this id.
const UNKNOWN_SHAPE: ShapeId = ShapeId::MAX;

/// What an unknown or malformed shape reads as: a document (passed through).
fn fallback_shape() -> &'static Shape {
    static FALLBACK: OnceLock<Shape> = OnceLock::new();
    FALLBACK.get_or_init(|| Shape {
        name: String::new(),
        kind: Kind::Document,
        members: Vec::new(),
        member: None,
        key: None,
        value: None,
        flattened: false,
        location_name: None,
        xml_namespace: None,
        timestamp_format: None,
        enum_values: None,
        min: None,
        max: None,
        pattern: false,
        streaming: false,
        eventstream: false,
        event: false,
        exception: false,
        fault: false,
        error_code: None,
        error_status: None,
        error_sender_fault: None,
        payload: None,
        union: false,
        document: true,
        requires_length: false,
        result_wrapper: None,
        has_xml_attributes: false,
        members_by_name: Vec::new(),
        headers_by_name: Vec::new(),
    })
}

// ---------------------------------------------------------------- raw serde

#[derive(Deserialize)]
struct RawModel<'a> {
    metadata: RawMetadata,
    #[serde(default)]
    operations: HashMap<String, RawOperation>,
    #[serde(default, borrow)]
    shapes: Ordered<&'a serde_json::value::RawValue>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawMetadata {
    api_version: String,
    protocol: Option<String>,
    protocols: Option<Vec<String>>,
    json_version: Option<String>,
    target_prefix: Option<String>,
    signing_name: Option<String>,
    endpoint_prefix: Option<String>,
    service_id: Option<String>,
    aws_query_compatible: Option<IgnoredAny>,
    xml_namespace: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawOperation {
    name: Option<String>,
    http: RawHttp,
    input: Option<RawRef>,
    output: Option<RawRef>,
    errors: Vec<RawRef>,
    endpoint: Option<RawEndpoint>,
    deprecated: bool,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawEndpoint {
    host_prefix: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawHttp {
    method: Option<String>,
    request_uri: Option<String>,
    response_code: Option<u16>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawRef {
    shape: String,
    location_name: Option<String>,
    xml_namespace: Option<RawXmlNs>,
    result_wrapper: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawXmlNs {
    Uri(String),
    Full {
        prefix: Option<String>,
        uri: Option<String>,
    },
}

impl RawXmlNs {
    fn resolve(self) -> XmlNs {
        match self {
            RawXmlNs::Uri(uri) => XmlNs { prefix: None, uri },
            RawXmlNs::Full { prefix, uri } => XmlNs {
                prefix,
                uri: uri.unwrap_or_default(),
            },
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawMember {
    shape: String,
    location: Option<String>,
    location_name: Option<String>,
    query_name: Option<String>,
    flattened: Option<bool>,
    xml_namespace: Option<RawXmlNs>,
    xml_attribute: bool,
    timestamp_format: Option<String>,
    jsonvalue: bool,
    host_label: bool,
    idempotency_token: bool,
    #[serde(rename = "eventpayload")]
    event_payload: bool,
    #[serde(rename = "eventheader")]
    event_header: bool,
    streaming: bool,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawShape {
    #[serde(rename = "type")]
    kind: String,
    members: Ordered<RawMember>,
    member: Option<RawMember>,
    key: Option<RawMember>,
    value: Option<RawMember>,
    required: Vec<String>,
    flattened: bool,
    location_name: Option<String>,
    xml_namespace: Option<RawXmlNs>,
    timestamp_format: Option<String>,
    #[serde(rename = "enum")]
    enum_values: Option<Vec<String>>,
    min: Option<f64>,
    max: Option<f64>,
    pattern: Option<IgnoredAny>,
    streaming: bool,
    eventstream: bool,
    event: bool,
    exception: bool,
    fault: bool,
    error: Option<RawErrorTrait>,
    payload: Option<String>,
    union: bool,
    document: bool,
    requires_length: bool,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawErrorTrait {
    code: Option<String>,
    http_status_code: Option<u16>,
    sender_fault: Option<bool>,
}

/// A JSON object kept in document order (member order matters for XML).
struct Ordered<T>(Vec<(String, T)>);

impl<T> Default for Ordered<T> {
    fn default() -> Self {
        Ordered(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Ordered<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Ordered<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some((k, v)) = map.next_entry::<String, T>()? {
                    out.push((k, v));
                }
                Ok(Ordered(out))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

// ---------------------------------------------------------------- resolve

pub(crate) fn protocol_from_name(s: &str) -> Option<Protocol> {
    Some(match s {
        "query" => Protocol::Query,
        "ec2" => Protocol::Ec2,
        "json" => Protocol::Json,
        "rest-json" => Protocol::RestJson,
        "rest-xml" => Protocol::RestXml,
        "smithy-rpc-v2-cbor" => Protocol::RpcV2Cbor,
        _ => return None,
    })
}

/// Parses a model's metadata and operations. With a `loader`, the text is
/// not kept: the shapes are read from it on first use.
pub(crate) fn parse(
    json: &str,
    loader: Option<ShapeLoader>,
) -> Result<(Metadata, Model), ModelError> {
    let raw: RawModel = serde_json::from_str(json).map_err(|e| ModelError(e.to_string()))?;
    let m = raw.metadata;
    let mut protocols: Vec<Protocol> = Vec::new();
    if let Some(list) = &m.protocols {
        protocols.extend(list.iter().filter_map(|p| protocol_from_name(p)));
    }
    if let Some(p) = m.protocol.as_deref().and_then(protocol_from_name)
        && !protocols.contains(&p)
    {
        protocols.push(p);
    }
    if protocols.is_empty() {
        return Err(ModelError("metadata names no supported protocol".into()));
    }
    // A service moved from awsQuery to awsJson keeps `awsQueryCompatible`,
    // and AWS still answers its old query clients (SQS): query is accepted
    // too, after the model's own protocols (docs/protocol.md).
    if m.aws_query_compatible.is_some() && !protocols.contains(&Protocol::Query) {
        protocols.push(Protocol::Query);
    }
    let metadata = Metadata {
        api_version: m.api_version,
        protocols,
        json_version: m.json_version,
        target_prefix: m.target_prefix,
        signing_name: m.signing_name,
        endpoint_prefix: m.endpoint_prefix.unwrap_or_default(),
        service_id: m.service_id,
        aws_query_compatible: m.aws_query_compatible.is_some(),
        xml_namespace: m.xml_namespace,
    };

    let raw_shapes = shape_ranges(json, raw.shapes);
    let index = shape_index(&raw_shapes);
    let lookup = |name: &str| -> Result<ShapeId, ModelError> {
        index
            .get(name)
            .copied()
            .ok_or_else(|| ModelError(format!("unknown shape {name}")))
    };
    let sref = |r: RawRef| -> Result<ShapeRef, ModelError> {
        Ok(ShapeRef {
            shape: lookup(&r.shape)?,
            location_name: r.location_name,
            xml_namespace: r.xml_namespace.map(RawXmlNs::resolve),
            result_wrapper: r.result_wrapper,
        })
    };
    let mut operations = Vec::with_capacity(raw.operations.len());
    for (key, o) in raw.operations {
        let name = o.name.unwrap_or(key);
        let request_uri = o.http.request_uri.unwrap_or_else(|| "/".into());
        operations.push(Operation {
            template: UriTemplate::parse(&request_uri),
            name,
            method: o.http.method.unwrap_or_else(|| "POST".into()),
            request_uri,
            response_code: o.http.response_code,
            input: o.input.map(sref).transpose()?,
            output: o.output.map(sref).transpose()?,
            errors: o
                .errors
                .into_iter()
                .map(|r| lookup(&r.shape))
                .collect::<Result<_, _>>()?,
            host_prefix: o.endpoint.and_then(|e| e.host_prefix),
            deprecated: o.deprecated,
        });
    }
    // Routing walks the operations in this order (by method, then most
    // specific first); by name, they are found through `by_name` (one list,
    // no copies).
    operations.sort_by(|oa, ob| {
        (oa.method.to_ascii_uppercase())
            .cmp(&ob.method.to_ascii_uppercase())
            .then_with(|| ob.template.specificity().cmp(&oa.template.specificity()))
            .then(oa.deprecated.cmp(&ob.deprecated))
            .then(oa.name.cmp(&ob.name))
    });
    let mut by_name: Vec<u32> = (0..operations.len() as u32).collect();
    by_name.sort_by(|&a, &b| {
        operations[a as usize]
            .name
            .cmp(&operations[b as usize].name)
    });
    by_name.dedup_by(|a, b| operations[*a as usize].name == operations[*b as usize].name);
    let source = match loader {
        Some(loader) => ShapeSource {
            loader: Some(loader),
            count: raw_shapes.len(),
            names_hash: names_hash(raw_shapes.iter().map(|(_, n)| n.as_str())),
            text: OnceLock::new(),
        },
        None => ShapeSource {
            loader: None,
            count: raw_shapes.len(),
            names_hash: 0,
            text: OnceLock::from(ShapeText {
                text: json.into(),
                raw_shapes,
                index,
            }),
        },
    };
    let mut rest_methods: Vec<(String, std::ops::Range<usize>)> = Vec::new();
    for (i, op) in operations.iter().enumerate() {
        match rest_methods.last_mut() {
            Some((m, range)) if m.eq_ignore_ascii_case(&op.method) => range.end = i + 1,
            _ => rest_methods.push((op.method.to_ascii_uppercase(), i..i + 1)),
        }
    }
    Ok((
        metadata,
        Model {
            source: std::sync::Arc::new(source),
            shapes: OnceLock::new(),
            operations,
            by_name,
            error_codes: OnceLock::new(),
            rest_methods,
            overlay: None,
        },
    ))
}

fn resolve_member(
    name: String,
    r: RawMember,
    required: bool,
    lookup: &dyn Fn(&str) -> ShapeId,
) -> Member {
    Member {
        name,
        shape: lookup(&r.shape),
        required,
        location: match r.location.as_deref() {
            Some("uri") => Location::Uri,
            Some("querystring") => Location::QueryString,
            Some("header") => Location::Header,
            Some("headers") => Location::Headers,
            Some("statusCode") => Location::StatusCode,
            _ => Location::Body,
        },
        location_name: r.location_name,
        query_name: r.query_name,
        flattened: r.flattened.unwrap_or(false),
        xml_namespace: r.xml_namespace.map(RawXmlNs::resolve),
        xml_attribute: r.xml_attribute,
        timestamp_format: r.timestamp_format.as_deref().and_then(TsFormat::parse),
        jsonvalue: r.jsonvalue,
        host_label: r.host_label,
        idempotency_token: r.idempotency_token,
        event_payload: r.event_payload,
        event_header: r.event_header,
        streaming: r.streaming,
    }
}

fn resolve_shape(name: String, s: RawShape, lookup: &dyn Fn(&str) -> ShapeId) -> Shape {
    // An unknown type reads as a document (passed through untouched).
    let kind = Kind::parse(&s.kind).unwrap_or(Kind::Document);
    let mut members = Vec::with_capacity(s.members.0.len());
    for (mname, r) in s.members.0 {
        let req = s.required.contains(&mname);
        members.push(resolve_member(mname, r, req, lookup));
    }
    let boxed = |n: &str, r: Option<RawMember>| {
        r.map(|r| Box::new(resolve_member(n.to_string(), r, false, lookup)))
    };
    let (error_code, error_status, error_sender_fault) = match s.error {
        Some(e) => (e.code, e.http_status_code, e.sender_fault),
        None => (None, None, None),
    };
    let member = boxed("member", s.member);
    let key = boxed("key", s.key);
    let value = boxed("value", s.value);
    // A list or map without its member/key/value is malformed: pass it through.
    let malformed = (kind == Kind::List && member.is_none())
        || (kind == Kind::Map && (key.is_none() || value.is_none()));
    let has_xml_attributes = members.iter().any(|m| m.xml_attribute);
    Shape {
        has_xml_attributes,
        members_by_name: by_name(&members),
        headers_by_name: headers_by_name(&members),
        kind: if s.document || malformed {
            Kind::Document
        } else {
            kind
        },
        members,
        member,
        key,
        value,
        flattened: s.flattened,
        location_name: s.location_name,
        xml_namespace: s.xml_namespace.map(RawXmlNs::resolve),
        timestamp_format: s.timestamp_format.as_deref().and_then(TsFormat::parse),
        enum_values: s.enum_values,
        min: s.min,
        max: s.max,
        pattern: s.pattern.is_some(),
        streaming: s.streaming,
        eventstream: s.eventstream,
        event: s.event,
        exception: s.exception,
        fault: s.fault,
        error_code,
        error_status,
        error_sender_fault,
        payload: s.payload,
        union: s.union,
        document: s.document,
        requires_length: s.requires_length,
        result_wrapper: None,
        name,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use crate::ServiceModel;

    const MODEL: &str = r#"{
      "metadata": {"apiVersion": "2020-01-01", "protocol": "json", "jsonVersion": "1.0",
                   "targetPrefix": "Svc"},
      "operations": {"Put": {"name": "Put", "http": {"method": "POST", "requestUri": "/"},
                             "input": {"shape": "PutInput"}},
                     "Get": {"name": "Get", "http": {"method": "GET", "requestUri": "/{Name}"},
                             "input": {"shape": "PutInput"}}},
      "shapes": {
        "PutInput": {"type": "structure", "required": ["Name"], "members": {
          "Name": {"shape": "Name"}, "Count": {"shape": "Count"}}},
        "Name": {"type": "string", "min": 1, "max": 5},
        "Count": {"type": "integer", "min": 1, "max": 10}
      }
    }"#;

    /// A model whose text comes from `text` on first use, and how many
    /// times it was read.
    fn reloadable(text: &'static str) -> (ServiceModel, Arc<AtomicUsize>) {
        let reads = Arc::new(AtomicUsize::new(0));
        let counted = reads.clone();
        let model = ServiceModel::from_json_reloadable(
            MODEL,
            Box::new(move || {
                counted.fetch_add(1, Ordering::Relaxed);
                Ok(text.to_string())
            }),
        )
        .unwrap();
        (model, reads)
    }

    fn put(model: &ServiceModel, body: &str) -> Result<serde_json::Value, crate::AwsError> {
        crate::test_support::decode_json_put(model, body).map_err(|(_, e)| e)
    }

    #[test]
    fn operations_need_no_text_and_shapes_read_it_once() {
        let (model, reads) = reloadable(MODEL);
        assert!(model.has_operation("Put") && model.has_operation("Get"));
        assert!(!model.has_operation("Delete"));
        assert_eq!(model.operation_names().collect::<Vec<_>>(), ["Get", "Put"]);
        assert_eq!(reads.load(Ordering::Relaxed), 0);
        assert_eq!(
            put(&model, r#"{"Name": "abc", "Count": 3}"#).unwrap()["Count"],
            3
        );
        assert_eq!(
            put(&model, r#"{"Count": 3}"#).unwrap_err().code,
            "ValidationException"
        );
        assert_eq!(reads.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn a_different_text_leaves_shapes_as_documents() {
        // Not the text the operations were resolved against.
        let other = r#"{"shapes": {"Other": {"type": "string"}}}"#;
        let (model, _) = reloadable(other);
        // No validation: the input passes through untouched.
        assert_eq!(
            put(&model, r#"{"Count": 30}"#).unwrap(),
            serde_json::json!({"Count": 30})
        );
    }
}
