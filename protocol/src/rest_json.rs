//! restJson1: HTTP bindings + a JSON body (or a payload member).

use serde_json::{Map, Value};

use crate::bindings::{self, encode_bindings, has_body_members, payload_member};
use crate::json::{decode_body, error_body, error_type_name, to_wire, write_wire};
use crate::model::{Kind, Operation};
use crate::rest::Labels;
use crate::{
    AwsError, ErrorContext, HttpResponse, RequestBody, RequestHead, ResponseBody, ServiceModel,
};

pub(crate) fn decode(
    model: &ServiceModel,
    op: &Operation,
    labels: Labels,
    head: &RequestHead<'_>,
    body: RequestBody,
) -> Result<Value, AwsError> {
    let m = &model.model;
    let (input, mut out, bytes) = match bindings::start_rest_decode(
        model,
        op,
        &labels,
        head,
        body,
        crate::Protocol::RestJson,
    )? {
        bindings::RestStart::Done(v) => return Ok(v),
        bindings::RestStart::Body {
            input,
            bound,
            bytes,
        } => (input, bound, bytes),
    };
    match payload_member(m, input) {
        Some(pm) => {
            if !bytes.is_empty() {
                let v = match m.shape(pm.shape).kind {
                    Kind::Blob | Kind::String => bindings::raw_payload(m, pm, &bytes),
                    Kind::Document => serde_json::from_slice(&bytes)
                        .map_err(|e| AwsError::new("SerializationException", e.to_string(), 400))?,
                    _ => decode_body(m, pm.shape, &bytes)?,
                };
                out.insert(pm.name.clone(), v);
            }
        }
        None => {
            if has_body_members(m, input)
                && let Value::Object(b) = decode_body(m, input, &bytes)?
            {
                out.extend(b);
            }
        }
    }
    Ok(Value::Object(out))
}

pub(crate) fn encode_output(
    model: &ServiceModel,
    op: &Operation,
    output: &Value,
) -> Result<HttpResponse, AwsError> {
    let m = &model.model;
    let mut status = op.response_code.unwrap_or(200);
    let Some(out_ref) = &op.output else {
        return Ok(HttpResponse {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: ResponseBody::Bytes(b"{}".to_vec()),
        });
    };
    let empty = Map::new();
    let fields = output.as_object().unwrap_or(&empty);
    if let Some(unframed) = bindings::encode_unframed(model, op, out_ref.shape, fields) {
        return unframed;
    }
    let b = encode_bindings(m, out_ref.shape, output);
    status = b.status.unwrap_or(status);
    let mut headers = b.headers;
    // A blob or string payload was sent raw above.
    let body = match payload_member(m, out_ref.shape) {
        Some(pm) => {
            let value = output.get(&pm.name).filter(|v| !v.is_null());
            if m.shape(pm.shape).eventstream {
                bindings::event_stream_out(m, pm, value, &mut headers, bindings::EventBody::Json)
            } else {
                bindings::default_content_type(&mut headers, "application/json");
                let v = match value {
                    Some(v) => to_wire(m, pm.shape, None, v),
                    None => Value::Object(Map::new()),
                };
                ResponseBody::Bytes(serde_json::to_vec(&v).unwrap_or_default())
            }
        }
        // Members in the body (else the output was unframed, above).
        None => {
            bindings::default_content_type(&mut headers, "application/json");
            let mut body = Vec::with_capacity(256);
            write_wire(&mut body, m, out_ref.shape, None, output);
            ResponseBody::Bytes(body)
        }
    };
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

pub(crate) fn encode_error(
    model: &ServiceModel,
    error: &AwsError,
    ctx: &ErrorContext,
) -> HttpResponse {
    let type_name = error_type_name(model, error, ctx);
    let mut headers = vec![
        ("Content-Type".into(), "application/json".into()),
        ("x-amzn-errortype".into(), type_name.clone()),
    ];
    if let (Some(id), Some(extra)) = (ctx.shape, &error.extra) {
        headers.extend(encode_bindings(&model.model, id, &Value::Object(extra.clone())).headers);
    }
    let mut body = error_body(model, error, ctx, &type_name);
    body.remove("__type");
    body.insert("code".into(), Value::from(type_name));
    HttpResponse {
        status: ctx.status,
        headers,
        body: ResponseBody::Bytes(serde_json::to_vec(&Value::Object(body)).unwrap_or_default()),
    }
}
