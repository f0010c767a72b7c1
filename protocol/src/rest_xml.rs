//! restXml: HTTP bindings + an XML body (or a payload member). S3's error
//! envelope is a quirk (quirks/s3.rs).

use serde_json::{Map, Value};

use crate::bindings::{self, encode_bindings, has_body_members, payload_member};
use crate::model::{Kind, Operation};
use crate::query::write_error_fields;
use crate::rest::Labels;
use crate::xml::{self, Writer, read_struct, read_value, struct_attrs, write_members};
use crate::{
    AwsError, ErrorContext, HttpResponse, RequestBody, RequestHead, ResponseBody, ServiceModel,
    quirks,
};

fn malformed(e: String) -> AwsError {
    AwsError::new(
        "MalformedXML",
        format!("The XML you provided was not well-formed: {e}"),
        400,
    )
}

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
        crate::Protocol::RestXml,
    )? {
        bindings::RestStart::Done(v) => return Ok(v),
        bindings::RestStart::Body {
            input,
            bound,
            bytes,
        } => (input, bound, bytes),
    };
    let blank = bytes.trim_ascii().is_empty();
    match payload_member(m, input) {
        Some(pm) => {
            let kind = m.shape(pm.shape).kind;
            if matches!(kind, Kind::Blob | Kind::String) {
                if !bytes.is_empty() {
                    out.insert(pm.name.clone(), bindings::raw_payload(m, pm, &bytes));
                }
            } else if !blank {
                let root = xml::parse(&bytes).map_err(malformed)?;
                out.insert(
                    pm.name.clone(),
                    read_value(m, pm, &root, &pm.name).map_err(malformed)?,
                );
            }
        }
        None => {
            if has_body_members(m, input) && !blank {
                let root = xml::parse(&bytes).map_err(malformed)?;
                out.extend(read_struct(m, input, &root, "input").map_err(malformed)?);
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
            headers: vec![],
            body: ResponseBody::Bytes(vec![]),
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
    let default_ns = quirks::s3::default_namespace(model);
    // A blob or string payload was sent raw above.
    let body = match payload_member(m, out_ref.shape) {
        Some(pm) => {
            let value = output.get(&pm.name).filter(|v| !v.is_null());
            let target = m.shape(pm.shape);
            if target.eventstream {
                bindings::event_stream_out(m, pm, value, &mut headers, bindings::EventBody::Xml)
            } else {
                match value {
                    None => ResponseBody::Bytes(vec![]),
                    Some(v) => {
                        bindings::default_content_type(&mut headers, "application/xml");
                        let name = pm
                            .location_name
                            .as_deref()
                            .or(target.location_name.as_deref())
                            .unwrap_or(&pm.name);
                        let mut w = Writer::default();
                        let ns = pm.xml_namespace.clone().or(target.xml_namespace.clone());
                        let mut attrs = struct_attrs(m, pm.shape, v, ns.as_ref());
                        add_default_ns(&mut attrs, default_ns.as_deref());
                        w.start(name, &attrs);
                        write_members(&mut w, m, pm.shape, v, false);
                        w.end(name);
                        ResponseBody::Bytes(w.into_bytes())
                    }
                }
            }
        }
        None => {
            if let Some(body) = quirks::s3::bucket_location_body(model, &op.name, output) {
                bindings::default_content_type(&mut headers, "application/xml");
                ResponseBody::Bytes(body)
            } else {
                // Members in the body (else the output was unframed, above).
                bindings::default_content_type(&mut headers, "application/xml");
                let shape = m.shape(out_ref.shape);
                let name = quirks::s3::result_element(model, &op.name)
                    .or(out_ref.location_name.as_deref())
                    .or(shape.location_name.as_deref())
                    .unwrap_or(&shape.name);
                let mut w = Writer::default();
                let mut attrs =
                    struct_attrs(m, out_ref.shape, output, out_ref.xml_namespace.as_ref());
                add_default_ns(&mut attrs, default_ns.as_deref());
                w.start(name, &attrs);
                write_members(&mut w, m, out_ref.shape, output, true);
                w.end(name);
                ResponseBody::Bytes(w.into_bytes())
            }
        }
    };
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

fn add_default_ns(attrs: &mut Vec<(String, String)>, ns: Option<&str>) {
    if let Some(ns) = ns
        && !attrs.iter().any(|(k, _)| k == "xmlns")
    {
        attrs.insert(0, ("xmlns".into(), ns.into()));
    }
}

pub(crate) fn encode_error(
    model: &ServiceModel,
    error: &AwsError,
    ctx: &ErrorContext,
) -> HttpResponse {
    if let Some(resp) = quirks::s3::not_modified(model, error, ctx.status) {
        return resp;
    }
    let mut headers = vec![("Content-Type".into(), "application/xml".into())];
    if let (Some(id), Some(extra)) = (ctx.shape, &error.extra) {
        headers.extend(encode_bindings(&model.model, id, &Value::Object(extra.clone())).headers);
    }
    let code = crate::query::query_code(model, error, ctx);
    let mut w = Writer::default();
    if quirks::s3::bare_error_envelope(model) {
        w.start("Error", &[]);
        write_error_fields(&mut w, model, &code, error, ctx);
        w.leaf("RequestId", ctx.request_id);
        w.end("Error");
    } else {
        w.start("ErrorResponse", &[]);
        w.start("Error", &[]);
        w.leaf("Type", if ctx.sender { "Sender" } else { "Receiver" });
        write_error_fields(&mut w, model, &code, error, ctx);
        w.end("Error");
        w.leaf("RequestId", ctx.request_id);
        w.end("ErrorResponse");
    }
    HttpResponse {
        status: ctx.status,
        headers,
        body: ResponseBody::Bytes(w.into_bytes()),
    }
}
