//! Helpers shared by the crate's unit tests.

use crate::http::{HeaderMap, HeaderValue, Method};
use crate::{AwsError, Protocol, RequestBody, RequestHead, ServiceModel, decode_request};

/// Decodes `body` as an awsJson 1.0 request for the test models' `Svc.Put`.
pub(crate) fn decode_json_put(
    model: &ServiceModel,
    body: &str,
) -> Result<serde_json::Value, (Protocol, AwsError)> {
    let mut h = HeaderMap::new();
    h.insert(
        "content-type",
        HeaderValue::from_static("application/x-amz-json-1.0"),
    );
    h.insert("x-amz-target", HeaderValue::from_static("Svc.Put"));
    let head = RequestHead {
        method: &Method::POST,
        path: "/",
        query: "",
        headers: &h,
    };
    decode_request(model, &head, RequestBody::Bytes(body.to_string().into())).map(|d| d.input)
}

/// The shapes the one-pass JSON tests (json_in.rs, json_text.rs) share: a
/// DynamoDB-like item list and one shape of every scalar kind. Their
/// models add a top structure naming these.
pub(crate) const JSON_SHAPES: &str = r#"
    "Items": {"type": "list", "member": {"shape": "Item"}},
    "Item": {"type": "map", "key": {"shape": "Str"}, "value": {"shape": "Attr"}},
    "Attr": {"type": "structure", "members": {
      "S": {"shape": "Str"}, "N": {"shape": "Str"}, "L": {"shape": "Attrs"}, "M": {"shape": "Item"},
      "BOOL": {"shape": "Bool"}, "NULL": {"shape": "Bool"}, "B": {"shape": "Blob"}
    }},
    "Attrs": {"type": "list", "member": {"shape": "Attr"}},
    "Str": {"type": "string"},
    "Int": {"type": "integer"},
    "Dbl": {"type": "double"},
    "Bool": {"type": "boolean"},
    "Blob": {"type": "blob"},
    "Ts": {"type": "timestamp"},
    "Doc": {"type": "structure", "members": {}, "document": true}"#;
