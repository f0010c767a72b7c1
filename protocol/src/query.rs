//! awsQuery: form-encoded requests (`Action=...&Version=...`), XML responses
//! `<OpResponse><OpResult>..</OpResult><ResponseMetadata>`. The ec2 variant
//! shares the request reader (with its own naming rules, see ec2.rs).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::json_text::Fallback;
use crate::model::{Kind, Member, Model, Operation, ShapeId, TsFormat};
use crate::rest::{form_pairs, parse_query};
use crate::scalar::parse_text;
use crate::xml::{Writer, struct_attrs, write_members};
use crate::{
    AwsError, ErrorContext, HttpResponse, Protocol, RequestHead, ResponseBody, ServiceModel,
};

pub(crate) type Params = BTreeMap<String, String>;

const MAX_KEY_DEPTH: usize = 64;

fn invalid(msg: impl Into<String>) -> AwsError {
    AwsError::new("InvalidParameterValue", msg, 400)
}

/// The form parameters of a query request: the query string, then the body.
pub(crate) fn params(head: &RequestHead<'_>, body: &[u8]) -> Params {
    let mut p: Params = parse_query(head.query).into_iter().collect();
    p.extend(form_pairs(body));
    // Keys nest by dots and the reader recurses per level: no real request
    // nests anywhere near this deep.
    p.retain(|k, _| k.bytes().filter(|&b| b == b'.').count() <= MAX_KEY_DEPTH);
    p
}

pub(crate) fn decode<'m>(
    model: &'m ServiceModel,
    protocol: Protocol,
    head: &RequestHead<'_>,
    body: &[u8],
) -> Result<(&'m Operation, Value), AwsError> {
    let params = params(head, body);
    let action = params.get("Action").map(String::as_str).unwrap_or("");
    if action.is_empty() {
        return Err(AwsError::new(
            "MissingAction",
            "Missing Action parameter",
            400,
        ));
    }
    let op = model.operation(action).ok_or_else(|| {
        AwsError::new(
            "InvalidAction",
            format!("The action {action} is not valid for this web service."),
            400,
        )
    })?;
    let ec2 = protocol == Protocol::Ec2;
    let qm = model.query_model();
    let mut input = match &op.input {
        Some(r) => read_struct(qm, r.shape, "", &params, ec2, "")?,
        None => Map::new(),
    };
    if let Some(r) = &op.input
        && !input.contains_key("QueueUrl")
        && qm.shape(r.shape).member("QueueUrl").is_some()
        && crate::quirks::sqs::is_sqs(model.metadata())
        && let Some(url) = crate::quirks::sqs::queue_url_from_path(head)
    {
        input.insert("QueueUrl".into(), Value::String(url));
    }
    Ok((op, Value::Object(input)))
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

/// Is there any parameter at `key` or below it?
fn present(params: &Params, key: &str) -> bool {
    params
        .range(key.to_string()..)
        .next()
        .is_some_and(|(k, _)| {
            k == key || (k.starts_with(key) && k.as_bytes().get(key.len()) == Some(&b'.'))
        })
        || params
            .range(format!("{key}.")..)
            .next()
            .is_some_and(|(k, _)| k.starts_with(&format!("{key}.")))
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The query key of a structure member.
fn member_key(member: &Member, ec2: bool) -> String {
    if ec2 {
        if let Some(q) = &member.query_name {
            return q.clone();
        }
        return capitalize(member.wire_name());
    }
    member.wire_name().to_string()
}

fn read_struct(
    m: &Model,
    id: ShapeId,
    prefix: &str,
    params: &Params,
    ec2: bool,
    path: &str,
) -> Result<Map<String, Value>, AwsError> {
    let shape = m.shape(id);
    let mut out = Map::new();
    for member in &shape.members {
        let mut key = join(prefix, &member_key(member, ec2));
        if ec2 && member.query_name.is_none() && member.location_name.is_none() {
            // botocore capitalizes only a `locationName`: a bare member name
            // goes out as it is (`encoding=`, where Smithy says `Encoding=`).
            let bare = join(prefix, &member.name);
            if !present(params, &key) && present(params, &bare) {
                key = bare;
            }
        }
        let p = join(path, &member.name);
        if let Some(v) = read_value(m, member, &key, params, ec2, &p)? {
            out.insert(member.name.clone(), v);
        }
    }
    Ok(out)
}

fn read_value(
    m: &Model,
    member: &Member,
    key: &str,
    params: &Params,
    ec2: bool,
    path: &str,
) -> Result<Option<Value>, AwsError> {
    let shape = m.shape(member.shape);
    match shape.kind {
        Kind::Structure => {
            if !present(params, key) {
                return Ok(None);
            }
            read_struct(m, member.shape, key, params, ec2, path).map(|s| Some(Value::Object(s)))
        }
        Kind::List => {
            let item = shape.member.as_deref().expect("resolved list");
            let list_prefix = if ec2 {
                key.to_string()
            } else if member.flattened || shape.flattened {
                // Items are `Key.N`; botocore instead names them after the
                // list's member (`item.N`), so accept that too.
                match &item.location_name {
                    Some(n) if !present(params, key) => match key.rsplit_once('.') {
                        Some((parent, _)) => format!("{parent}.{n}"),
                        None => n.clone(),
                    },
                    _ => key.to_string(),
                }
            } else {
                format!(
                    "{key}.{}",
                    item.location_name.as_deref().unwrap_or("member")
                )
            };
            if !present(params, &list_prefix) {
                // An empty list is sent as `Key=`.
                return Ok(params.contains_key(key).then(|| Value::Array(vec![])));
            }
            let mut items = Vec::new();
            for i in 1.. {
                let k = format!("{list_prefix}.{i}");
                if !present(params, &k) {
                    break;
                }
                let v = read_value(m, item, &k, params, ec2, &format!("{path}[{i}]"))?;
                items.push(v.unwrap_or(Value::Null));
            }
            Ok(Some(Value::Array(items)))
        }
        Kind::Map => {
            let kmem = shape.key.as_deref().expect("resolved map");
            let vmem = shape.value.as_deref().expect("resolved map");
            let base = if member.flattened || shape.flattened || ec2 {
                key.to_string()
            } else {
                format!("{key}.entry")
            };
            if !present(params, &base) {
                return Ok(params.contains_key(key).then(|| Value::Object(Map::new())));
            }
            let kname = kmem.location_name.as_deref().unwrap_or("key");
            let vname = vmem.location_name.as_deref().unwrap_or("value");
            let mut out = Map::new();
            for i in 1.. {
                let e = format!("{base}.{i}");
                if !present(params, &e) {
                    break;
                }
                let Some(k) = params.get(&format!("{e}.{kname}")) else {
                    continue;
                };
                let v = read_value(m, vmem, &format!("{e}.{vname}"), params, ec2, path)?;
                out.insert(k.clone(), v.unwrap_or(Value::Null));
            }
            Ok(Some(Value::Object(out)))
        }
        kind => {
            let Some(text) = params.get(key) else {
                return Ok(None);
            };
            let ts = member
                .timestamp_format
                .or(shape.timestamp_format)
                .unwrap_or(TsFormat::Iso8601);
            parse_text(kind, ts, text).map(Some).map_err(|e| {
                invalid(format!(
                    "Value ({text}) for parameter {path} is invalid. Expected {e}."
                ))
            })
        }
    }
}

/// The xmlns of query responses: the model's, else AWS's usual doc URI.
fn namespace(model: &ServiceModel) -> String {
    if let Some(ns) = crate::quirks::sqs::query_namespace(model.metadata()) {
        return ns.to_string();
    }
    model.metadata.xml_namespace.clone().unwrap_or_else(|| {
        format!(
            "https://{}.amazonaws.com/doc/{}/",
            model.metadata.endpoint_prefix, model.metadata.api_version
        )
    })
}

pub(crate) fn encode_output(
    model: &ServiceModel,
    op: &Operation,
    output: &Value,
    request_id: &str,
) -> Result<HttpResponse, AwsError> {
    let body = document(model, op, output, request_id, |w, m, id| {
        write_members(w, m, id, output, false);
        Ok(())
    });
    // The value path never gives up (its `members` always succeeds).
    Ok(response(body.unwrap_or_default()))
}

/// [`encode_output`] of the output's JSON text, without parsing it into a
/// `Value` (xml_text.rs): the same response, or `None` when the text path
/// cannot promise it.
pub(crate) fn encode_output_text(
    model: &ServiceModel,
    op: &Operation,
    text: &str,
    request_id: &str,
) -> Option<HttpResponse> {
    // An operation without an output still answers only for a text the
    // value path parses.
    if op.output.is_none() {
        crate::json_text::check_text(text).ok()?;
    }
    // The wrapper's attributes are read from a value only when its shape
    // has any, which the text path gives up on before writing.
    let body = document(model, op, &Value::Null, request_id, |w, m, id| {
        crate::xml_text::write_members_text(w, m, id, text)
    });
    body.ok().map(response)
}

/// The response document around the output's members (`members` writes
/// them; `output` gives the wrapper's attributes).
fn document(
    model: &ServiceModel,
    op: &Operation,
    output: &Value,
    request_id: &str,
    members: impl FnOnce(&mut Writer, &Model, ShapeId) -> Result<(), Fallback>,
) -> Result<Vec<u8>, Fallback> {
    let m = model.query_model();
    let mut w = Writer::default();
    // Joined, not `format!`ed: fmt's machinery is ~1 % of a small call.
    let root = [op.name.as_str(), "Response"].concat();
    w.start(&root, &[("xmlns".into(), namespace(model))]);
    if let Some(r) = &op.output {
        // awsQuery always wraps the output in `<{Operation}Result>`; botocore
        // models say so with resultWrapper, models converted from other
        // protocols (SQS's json-era model) do not.
        let default_wrapper;
        let wrapper = match &r.result_wrapper {
            Some(w) => w.as_str(),
            None => {
                default_wrapper = [op.name.as_str(), "Result"].concat();
                &default_wrapper
            }
        };
        let attrs = struct_attrs(m, r.shape, output, None);
        w.start(wrapper, &attrs);
        members(&mut w, m, r.shape)?;
        w.end(wrapper);
    }
    w.start("ResponseMetadata", &[]);
    w.leaf("RequestId", request_id);
    w.end("ResponseMetadata");
    w.end(&root);
    Ok(w.into_bytes())
}

fn response(body: Vec<u8>) -> HttpResponse {
    HttpResponse {
        status: 200,
        headers: vec![("Content-Type".into(), "text/xml".into())],
        body: ResponseBody::Bytes(body),
    }
}

/// The code on the query wire: the shape's `error.code` when it has one.
pub(crate) fn query_code(model: &ServiceModel, error: &AwsError, ctx: &ErrorContext) -> String {
    ctx.shape
        .and_then(|id| model.model.shape(id).error_code.clone())
        .unwrap_or_else(|| error.code.clone())
}

/// Writes Code, Message and the extra members of an error.
pub(crate) fn write_error_fields(
    w: &mut Writer,
    model: &ServiceModel,
    code: &str,
    error: &AwsError,
    ctx: &ErrorContext,
) {
    w.leaf("Code", code);
    w.leaf("Message", &error.message);
    if let Some(extra) = &error.extra {
        let mut extra = extra.clone();
        extra.retain(|k, _| !k.eq_ignore_ascii_case("message") && k != "Code" && k != "Type");
        // Modelled members by the error shape; anything else as plain
        // elements (S3's NoSuchBucket carries BucketName without modelling it).
        let modelled = |k: &str| {
            ctx.shape
                .is_some_and(|id| model.model.shape(id).member(k).is_some())
        };
        if let Some(id) = ctx.shape {
            write_members(w, &model.model, id, &Value::Object(extra.clone()), true);
        }
        for (k, v) in extra.iter().filter(|(k, _)| !modelled(k)) {
            let text = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            w.leaf(k, &text);
        }
    }
}

pub(crate) fn encode_error(
    model: &ServiceModel,
    error: &AwsError,
    ctx: &ErrorContext,
) -> HttpResponse {
    let mut w = Writer::default();
    w.start("ErrorResponse", &[("xmlns".into(), namespace(model))]);
    w.start("Error", &[]);
    w.leaf("Type", if ctx.sender { "Sender" } else { "Receiver" });
    write_error_fields(&mut w, model, &query_code(model, error, ctx), error, ctx);
    w.end("Error");
    w.leaf("RequestId", ctx.request_id);
    w.end("ErrorResponse");
    HttpResponse {
        status: ctx.status,
        headers: vec![("Content-Type".into(), "text/xml".into())],
        body: ResponseBody::Bytes(w.into_bytes()),
    }
}
