//! awsJson 1.1 with CBOR bodies: `Content-Type: application/x-amz-cbor-1.1`.
//!
//! The AWS SDK for Java (v1 and v2) and the KCL talk to Kinesis this way by
//! default: the same `POST /` with `X-Amz-Target: Kinesis_20131202.<Op>` as
//! awsJson, but the body is a CBOR map with the model's member names. Blobs
//! are CBOR byte strings. Timestamps differ from rpc-v2-cbor: tag 1 wrapping
//! **epoch milliseconds** as an integer (the Java SDK's `SdkCborGenerator`
//! writes `date.getTime()`, and its CBOR unmarshaller reads milliseconds), so
//! this codec converts them around the shared CBOR shape walkers in
//! `cbor.rs`. Responses and errors answer in kind (`__type` in the body and
//! `x-amzn-ErrorType`, like awsJson). An event-stream output
//! (SubscribeToShard) is answered with awsJson event frames.

use ciborium::value::Value as Cbor;
use serde_json::{Map, Value};

use crate::cbor;
use crate::model::Operation;
use crate::{AwsError, ErrorContext, HttpResponse, RequestHead, ResponseBody, ServiceModel};

pub(crate) const CONTENT_TYPE: &str = "application/x-amz-cbor-1.1";

/// Whether a request of an awsJson service carries a CBOR body.
pub(crate) fn is_cbor(content_type: &str) -> bool {
    content_type.starts_with("application/x-amz-cbor")
}

/// Epoch milliseconds of a tag-1 integer above this are milliseconds; below,
/// seconds (10^11 s is the year 5138, 10^11 ms is 1973).
const MILLIS_FLOOR: i128 = 100_000_000_000;

/// Tag-1 timestamps in milliseconds → seconds, which `cbor.rs` reads.
fn millis_to_seconds(v: Cbor) -> Cbor {
    match v {
        Cbor::Tag(1, inner) => match *inner {
            Cbor::Integer(i) if i128::from(i).abs() >= MILLIS_FLOOR => {
                Cbor::Tag(1, Box::new(Cbor::Float(i128::from(i) as f64 / 1000.0)))
            }
            other => Cbor::Tag(1, Box::new(other)),
        },
        Cbor::Tag(t, inner) => Cbor::Tag(t, Box::new(millis_to_seconds(*inner))),
        Cbor::Array(a) => Cbor::Array(a.into_iter().map(millis_to_seconds).collect()),
        Cbor::Map(m) => Cbor::Map(
            m.into_iter()
                .map(|(k, v)| (k, millis_to_seconds(v)))
                .collect(),
        ),
        other => other,
    }
}

/// Tag-1 timestamps in seconds (what `cbor.rs` writes) → integer millis.
fn seconds_to_millis(v: Cbor) -> Cbor {
    match v {
        Cbor::Tag(1, inner) => {
            let secs = match *inner {
                Cbor::Integer(i) => i128::from(i) as f64,
                Cbor::Float(f) => f,
                other => return Cbor::Tag(1, Box::new(other)),
            };
            Cbor::Tag(
                1,
                Box::new(Cbor::Integer(((secs * 1000.0).round() as i64).into())),
            )
        }
        Cbor::Array(a) => Cbor::Array(a.into_iter().map(seconds_to_millis).collect()),
        Cbor::Map(m) => Cbor::Map(
            m.into_iter()
                .map(|(k, v)| (k, seconds_to_millis(v)))
                .collect(),
        ),
        other => other,
    }
}

fn serialization_error(msg: impl Into<String>) -> AwsError {
    AwsError::new("SerializationException", msg, 400)
}

pub(crate) fn decode<'m>(
    model: &'m ServiceModel,
    head: &RequestHead<'_>,
    bytes: &[u8],
) -> Result<(&'m Operation, Value), AwsError> {
    let target = head
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if target.is_empty() {
        return Err(AwsError::new(
            "UnknownOperationException",
            "Missing X-Amz-Target header",
            400,
        ));
    }
    let name = target.rsplit('.').next().unwrap_or(target);
    let op = model.operation(name).ok_or_else(|| {
        AwsError::new(
            "UnknownOperationException",
            format!("Unknown operation {target}"),
            400,
        )
    })?;
    let Some(input) = &op.input else {
        return Ok((op, Value::Object(Map::new())));
    };
    if bytes.is_empty() {
        return Ok((op, Value::Object(Map::new())));
    }
    let wire: Cbor = ciborium::from_reader(bytes)
        .map_err(|e| serialization_error(format!("Malformed CBOR body: {e}")))?;
    let v = cbor::from_wire(&model.model, input.shape, millis_to_seconds(wire), "input")
        .map_err(serialization_error)?;
    Ok((op, v))
}

pub(crate) fn encode_output(
    model: &ServiceModel,
    op: &Operation,
    output: &Value,
) -> Result<HttpResponse, AwsError> {
    let m = &model.model;
    let streams = op.output.as_ref().is_some_and(|r| {
        m.shape(r.shape)
            .members
            .iter()
            .any(|mm| m.shape(mm.shape).eventstream)
    });
    if streams {
        return crate::json::encode_output(model, op, output);
    }
    let body = match &op.output {
        Some(r) => seconds_to_millis(cbor::to_wire(m, r.shape, output)),
        None => Cbor::Map(vec![]),
    };
    Ok(HttpResponse {
        status: 200,
        headers: vec![("Content-Type".into(), CONTENT_TYPE.into())],
        body: ResponseBody::Bytes(cbor::to_bytes(&body)),
    })
}

pub(crate) fn encode_error(
    model: &ServiceModel,
    error: &AwsError,
    ctx: &ErrorContext,
) -> HttpResponse {
    let type_name = crate::json::error_type_name(model, error, ctx);
    let body = crate::json::error_body(model, error, ctx, &type_name);
    let body = Cbor::Map(
        body.iter()
            .map(|(k, v)| (Cbor::Text(k.clone()), cbor::generic_to_cbor(v)))
            .collect(),
    );
    let mut headers = vec![
        ("Content-Type".into(), CONTENT_TYPE.into()),
        ("x-amzn-errortype".into(), type_name),
    ];
    headers.extend(crate::json::query_error_header(model, error, ctx));
    HttpResponse {
        status: ctx.status,
        headers,
        body: ResponseBody::Bytes(cbor::to_bytes(&body)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Protocol, RequestBody, decode_request, encode_error, encode_response};

    const MODEL: &str = r#"{
      "version": "2.0",
      "metadata": {"apiVersion": "2013-12-02", "endpointPrefix": "kinesis", "jsonVersion": "1.1",
        "protocol": "json", "protocols": ["json"], "serviceId": "Kinesis", "signatureVersion": "v4",
        "targetPrefix": "Kinesis_20131202"},
      "operations": {
        "PutRecord": {"name": "PutRecord", "http": {"method": "POST", "requestUri": "/"},
          "input": {"shape": "PutRecordInput"}, "output": {"shape": "PutRecordOutput"},
          "errors": [{"shape": "ResourceNotFoundException"}]}
      },
      "shapes": {
        "PutRecordInput": {"type": "structure", "required": ["Data", "PartitionKey"], "members": {
          "StreamName": {"shape": "S"}, "Data": {"shape": "B"}, "PartitionKey": {"shape": "S"},
          "At": {"shape": "T"}}},
        "PutRecordOutput": {"type": "structure", "members": {
          "SequenceNumber": {"shape": "S"}, "Data": {"shape": "B"}, "At": {"shape": "T"}}},
        "ResourceNotFoundException": {"type": "structure", "members": {"message": {"shape": "S"}},
          "exception": true},
        "S": {"type": "string"}, "B": {"type": "blob"}, "T": {"type": "timestamp"}
      }
    }"#;

    fn model() -> ServiceModel {
        ServiceModel::from_json(MODEL).unwrap()
    }

    fn cbor_bytes(v: &Cbor) -> Vec<u8> {
        cbor::to_bytes(v)
    }

    #[test]
    fn decodes_cbor_bodies_with_blobs_and_millisecond_timestamps() {
        let m = model();
        let mut headers = http::HeaderMap::new();
        headers.insert("content-type", CONTENT_TYPE.parse().unwrap());
        headers.insert(
            "x-amz-target",
            "Kinesis_20131202.PutRecord".parse().unwrap(),
        );
        let body = Cbor::Map(vec![
            (Cbor::Text("StreamName".into()), Cbor::Text("s".into())),
            (Cbor::Text("Data".into()), Cbor::Bytes(b"hi".to_vec())),
            (Cbor::Text("PartitionKey".into()), Cbor::Text("k".into())),
            (
                Cbor::Text("At".into()),
                Cbor::Tag(1, Box::new(Cbor::Integer(1_700_000_000_500i64.into()))),
            ),
        ]);
        let method = http::Method::POST;
        let head = RequestHead {
            method: &method,
            path: "/",
            query: "",
            headers: &headers,
        };
        let d = decode_request(&m, &head, RequestBody::Bytes(cbor_bytes(&body).into())).unwrap();
        assert_eq!(d.protocol, Protocol::JsonCbor);
        assert_eq!(d.operation, "PutRecord");
        assert_eq!(d.input["Data"], "aGk=");
        assert_eq!(d.input["At"].as_f64(), Some(1_700_000_000.5));
        // A body that is not CBOR is a SerializationException.
        let e =
            decode_request(&m, &head, RequestBody::Bytes(b"\xff\x00".to_vec().into())).unwrap_err();
        assert_eq!(e.1.code, "SerializationException");
    }

    #[test]
    fn encodes_outputs_and_errors_as_cbor() {
        let m = model();
        let out = serde_json::json!({"SequenceNumber": "1", "Data": "aGk=", "At": 1700000000.25});
        let r = encode_response(&m, Protocol::JsonCbor, "PutRecord", &out, "rid").unwrap();
        assert!(
            r.headers
                .contains(&("Content-Type".into(), CONTENT_TYPE.into()))
        );
        let ResponseBody::Bytes(b) = r.body else {
            panic!("bytes")
        };
        let v: Cbor = ciborium::from_reader(&b[..]).unwrap();
        let map = v.as_map().unwrap();
        let get = |k: &str| {
            map.iter()
                .find(|(mk, _)| mk.as_text() == Some(k))
                .map(|(_, v)| v)
        };
        assert_eq!(get("Data"), Some(&Cbor::Bytes(b"hi".to_vec())));
        assert_eq!(
            get("At"),
            Some(&Cbor::Tag(
                1,
                Box::new(Cbor::Integer(1_700_000_000_250i64.into()))
            ))
        );
        let e = AwsError::new("ResourceNotFoundException", "gone", 400);
        let r = encode_error(&m, Protocol::JsonCbor, Some("PutRecord"), &e, "rid");
        assert_eq!(r.status, 400);
        let ResponseBody::Bytes(b) = r.body else {
            panic!("bytes")
        };
        let v: Cbor = ciborium::from_reader(&b[..]).unwrap();
        let map = v.as_map().unwrap();
        assert!(map.iter().any(|(k, v)| k.as_text() == Some("__type")
            && v.as_text() == Some("ResourceNotFoundException")));
        assert!(
            map.iter()
                .any(|(k, v)| k.as_text() == Some("message") && v.as_text() == Some("gone"))
        );
    }

    #[test]
    fn small_tag_one_integers_stay_seconds() {
        let v = millis_to_seconds(Cbor::Tag(
            1,
            Box::new(Cbor::Integer(1_700_000_000i64.into())),
        ));
        assert_eq!(
            v,
            Cbor::Tag(1, Box::new(Cbor::Integer(1_700_000_000i64.into())))
        );
    }
}
