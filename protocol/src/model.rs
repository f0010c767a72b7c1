//! Loading a botocore `service-2.json` into an indexed, resolved model.
//!
//! The JSON is deserialized straight into small typed structs (serde skips the
//! `documentation` strings without allocating them), then shape names are
//! resolved to indices once, so the codecs never look a shape up by name.

use std::collections::{BTreeMap, HashMap};

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
}

impl Shape {
    pub fn member(&self, name: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.name == name)
    }
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
}

/// The resolved model: shapes by index, operations by name.
pub(crate) struct Model {
    pub shapes: Vec<Shape>,
    pub operations: BTreeMap<String, Operation>,
    /// Error shapes by wire code (the shape name and `error.code`).
    pub errors_by_code: HashMap<String, ShapeId>,
    /// REST operations ordered most specific first, for routing.
    pub rest_order: Vec<String>,
}

impl Model {
    pub fn shape(&self, id: ShapeId) -> &Shape {
        &self.shapes[id as usize]
    }
}

// ---------------------------------------------------------------- raw serde

#[derive(Deserialize)]
struct RawModel {
    metadata: RawMetadata,
    #[serde(default)]
    operations: HashMap<String, RawOperation>,
    #[serde(default)]
    shapes: Ordered<RawShape>,
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
    event_payload: bool,
    event_header: bool,
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

pub(crate) fn parse(json: &str) -> Result<(Metadata, Model), ModelError> {
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

    let index: HashMap<String, ShapeId> = raw
        .shapes
        .0
        .iter()
        .enumerate()
        .map(|(i, (n, _))| (n.clone(), i as ShapeId))
        .collect();
    let lookup = |name: &str| -> Result<ShapeId, ModelError> {
        index
            .get(name)
            .copied()
            .ok_or_else(|| ModelError(format!("unknown shape {name}")))
    };
    let member = |name: String, r: RawMember, required: bool| -> Result<Member, ModelError> {
        Ok(Member {
            name,
            shape: lookup(&r.shape)?,
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
        })
    };

    let mut shapes = Vec::with_capacity(raw.shapes.0.len());
    for (name, s) in raw.shapes.0 {
        let kind = Kind::parse(&s.kind)
            .ok_or_else(|| ModelError(format!("shape {name}: unknown type {}", s.kind)))?;
        let mut members = Vec::with_capacity(s.members.0.len());
        for (mname, r) in s.members.0 {
            let req = s.required.contains(&mname);
            members.push(member(mname, r, req)?);
        }
        let boxed = |n: &str, r: Option<RawMember>| -> Result<Option<Box<Member>>, ModelError> {
            r.map(|r| member(n.to_string(), r, false).map(Box::new))
                .transpose()
        };
        let (error_code, error_status, error_sender_fault) = match s.error {
            Some(e) => (e.code, e.http_status_code, e.sender_fault),
            None => (None, None, None),
        };
        shapes.push(Shape {
            kind: if s.document { Kind::Document } else { kind },
            members,
            member: boxed("member", s.member)?,
            key: boxed("key", s.key)?,
            value: boxed("value", s.value)?,
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
        });
    }
    if shapes.iter().any(|s| {
        (s.kind == Kind::List && s.member.is_none())
            || (s.kind == Kind::Map && (s.key.is_none() || s.value.is_none()))
    }) {
        return Err(ModelError(
            "list or map shape without member/key/value".into(),
        ));
    }

    let sref = |r: RawRef| -> Result<ShapeRef, ModelError> {
        Ok(ShapeRef {
            shape: lookup(&r.shape)?,
            location_name: r.location_name,
            xml_namespace: r.xml_namespace.map(RawXmlNs::resolve),
            result_wrapper: r.result_wrapper,
        })
    };
    let mut errors_by_code = HashMap::new();
    for (i, s) in shapes.iter().enumerate() {
        if s.exception {
            errors_by_code.insert(s.name.clone(), i as ShapeId);
            if let Some(c) = &s.error_code {
                errors_by_code.insert(c.clone(), i as ShapeId);
            }
        }
    }
    let mut operations = BTreeMap::new();
    for (key, o) in raw.operations {
        let name = o.name.unwrap_or_else(|| key.clone());
        let request_uri = o.http.request_uri.unwrap_or_else(|| "/".into());
        let op = Operation {
            template: UriTemplate::parse(&request_uri),
            name: name.clone(),
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
        };
        operations.insert(name, op);
    }
    let mut rest_order: Vec<String> = operations.keys().cloned().collect();
    rest_order.sort_by(|a, b| {
        let (ta, tb) = (&operations[a].template, &operations[b].template);
        tb.specificity().cmp(&ta.specificity()).then(a.cmp(b))
    });
    Ok((
        metadata,
        Model {
            shapes,
            operations,
            errors_by_code,
            rest_order,
        },
    ))
}
