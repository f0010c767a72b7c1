//! `application/vnd.amazon.eventstream` output (Lambda
//! InvokeWithResponseStream, S3 SelectObjectContent, Logs StartLiveTail).
//!
//! The plugin returns the event-stream member as a JSON list of events, each
//! an object with one key, the event's member name:
//! `[{"Records": {"Payload": "<base64>"}}, {"End": {}}]`. Each event becomes
//! one frame, written by aws-smithy-eventstream (the AWS SDK's own framing
//! code, with its prelude and message CRCs).
//!
//! Or the member is `{"stream-id": ".."}`: the plugin feeds the events over
//! time (the `streams` capability) and the host writes each batch with
//! [`crate::EventStreamOut::encode_events`] as it arrives (docs/streaming.md).

use aws_smithy_eventstream::frame::write_message_to;
use aws_smithy_types::DateTime;
use aws_smithy_types::event_stream::{Header, HeaderValue, Message};
use serde_json::{Map, Value};

use crate::bindings::EventBody;
use crate::json::to_wire;
use crate::model::{Kind, Model, ShapeId};
use crate::scalar::{b64_decode, timestamp_of};
use crate::xml::{Writer, struct_attrs, write_members};

fn str_header(name: &'static str, v: &str) -> Header {
    Header::new(name, HeaderValue::String(v.to_string().into()))
}

/// Encodes a list of events for the event-stream shape `stream`.
pub(crate) fn encode_events(
    m: &Model,
    stream: ShapeId,
    events: &Value,
    format: EventBody,
) -> Vec<u8> {
    let mut out = Vec::new();
    let Value::Array(events) = events else {
        return out;
    };
    let shape = m.shape(stream);
    for event in events {
        let Value::Object(obj) = event else { continue };
        let Some((name, body)) = obj.iter().next() else {
            continue;
        };
        let Some(member) = shape.member(name) else {
            continue;
        };
        let msg = encode_event(m, member.shape, name, body, format);
        // Writing to a Vec only fails on oversized headers; skip such an event.
        let _ = write_message_to(&msg, &mut out);
    }
    out
}

fn encode_event(m: &Model, id: ShapeId, name: &str, body: &Value, format: EventBody) -> Message {
    let shape = m.shape(id);
    let empty = Map::new();
    let fields = body.as_object().unwrap_or(&empty);
    let mut headers = if shape.exception {
        vec![
            str_header(":message-type", "exception"),
            str_header(":exception-type", name),
        ]
    } else {
        vec![
            str_header(":message-type", "event"),
            str_header(":event-type", name),
        ]
    };
    for member in shape.members.iter().filter(|mm| mm.event_header) {
        let Some(v) = fields.get(&member.name).filter(|v| !v.is_null()) else {
            continue;
        };
        let value = match m.shape(member.shape).kind {
            Kind::Boolean => v.as_bool().map(HeaderValue::Bool),
            Kind::Byte => v.as_i64().map(|i| HeaderValue::Byte(i as i8)),
            Kind::Short => v.as_i64().map(|i| HeaderValue::Int16(i as i16)),
            Kind::Integer => v.as_i64().map(|i| HeaderValue::Int32(i as i32)),
            Kind::Long => v.as_i64().map(HeaderValue::Int64),
            Kind::Blob => v
                .as_str()
                .and_then(b64_decode)
                .map(|b| HeaderValue::ByteArray(b.into())),
            Kind::Timestamp => {
                timestamp_of(v).map(|s| HeaderValue::Timestamp(DateTime::from_secs_f64(s)))
            }
            _ => v
                .as_str()
                .map(|s| HeaderValue::String(s.to_string().into())),
        };
        if let Some(value) = value {
            headers.push(Header::new(member.wire_name().to_string(), value));
        }
    }
    let (content_type, payload): (&str, Vec<u8>) =
        match shape.members.iter().find(|mm| mm.event_payload) {
            Some(pm) => {
                let v = fields.get(&pm.name).filter(|v| !v.is_null());
                let target = m.shape(pm.shape);
                match (target.kind, v) {
                    (_, None) => ("application/octet-stream", Vec::new()),
                    (Kind::Blob, Some(v)) => (
                        "application/octet-stream",
                        v.as_str().and_then(b64_decode).unwrap_or_default(),
                    ),
                    (Kind::String, Some(v)) => {
                        ("text/plain", v.as_str().unwrap_or("").as_bytes().to_vec())
                    }
                    (_, Some(v)) => match format {
                        EventBody::Json => (
                            "application/json",
                            serde_json::to_vec(&to_wire(m, pm.shape, None, v)).unwrap_or_default(),
                        ),
                        EventBody::Xml => {
                            let mut w = Writer::default();
                            let el = pm.location_name.as_deref().unwrap_or(&target.name);
                            w.start(el, &struct_attrs(m, pm.shape, v, None));
                            write_members(&mut w, m, pm.shape, v, false);
                            w.end(el);
                            ("text/xml", w.into_bytes())
                        }
                    },
                }
            }
            None => {
                let mut body_fields = fields.clone();
                for mm in shape.members.iter().filter(|mm| mm.event_header) {
                    body_fields.remove(&mm.name);
                }
                let v = Value::Object(body_fields);
                match format {
                    EventBody::Json => (
                        "application/json",
                        serde_json::to_vec(&to_wire(m, id, None, &v)).unwrap_or_default(),
                    ),
                    EventBody::Xml => {
                        let mut w = Writer::default();
                        w.start(name, &[]);
                        write_members(&mut w, m, id, &v, false);
                        w.end(name);
                        ("text/xml", w.into_bytes())
                    }
                }
            }
        };
    headers.push(str_header(":content-type", content_type));
    Message::new_from_parts(headers, payload)
}

/// An `error` message: ends a stream on a failure the stream's union does
/// not model (SDKs raise it with `:error-code` as the code).
pub(crate) fn error_frame(code: &str, message: &str) -> Vec<u8> {
    let msg = Message::new_from_parts(
        vec![
            str_header(":message-type", "error"),
            Header::new(":error-code", HeaderValue::String(code.to_string().into())),
            Header::new(
                ":error-message",
                HeaderValue::String(message.to_string().into()),
            ),
        ],
        Vec::new(),
    );
    let mut out = Vec::new();
    let _ = write_message_to(&msg, &mut out);
    out
}

/// The `initial-response` frame that awsJson event streams start with: the
/// JSON of the output's other members.
pub(crate) fn initial_response(json_payload: Vec<u8>) -> Vec<u8> {
    let msg = Message::new_from_parts(
        vec![
            str_header(":message-type", "event"),
            str_header(":event-type", "initial-response"),
            str_header(":content-type", "application/json"),
        ],
        json_payload,
    );
    let mut out = Vec::new();
    let _ = write_message_to(&msg, &mut out);
    out
}
