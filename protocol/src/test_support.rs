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
