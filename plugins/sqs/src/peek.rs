//! `GET /_ministack/sqs/messages`: MiniStack's read-only peek at queued
//! messages (visibility and receive counts unchanged). Filters `?QueueUrl=`,
//! `?account=`, `?region=`; a request reads the caller's account and region
//! (sign it, or the gateway defaults apply), so other accounts answer 400.

use std::collections::BTreeMap;

use ministack_sdk::prelude::*;
use ministack_sdk::{HttpRequest, HttpResponse, time};
use serde_json::{Value, json};

use crate::checks::{md5_of_attributes, parse_queue_url};
use crate::messages::{MESSAGES, Message};
use crate::queues::{QUEUES, Queue};

fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k == name).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => match u8::from_str_radix(&s[i + 1..i + 3], 16) {
                Ok(v) => {
                    out.push(v);
                    i += 3;
                    continue;
                }
                Err(_) => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn view(m: &Message, now: f64) -> Value {
    let mut attributes = BTreeMap::new();
    attributes.insert("SentTimestamp", ((m.sent * 1000.0) as u64).to_string());
    attributes.insert("ApproximateReceiveCount", m.receive_count.to_string());
    attributes.insert("SenderId", m.sender.clone());
    let mut v = json!({
        "MessageId": m.id,
        "Body": m.body,
        "MD5OfBody": m.md5_body,
        "SentTimestamp": (m.sent * 1000.0) as u64,
        "VisibleAt": m.visible_at,
        "IsVisible": m.visible_at <= now,
        "ReceiveCount": m.receive_count,
        "FirstReceiveTimestamp": m.first_receive.map(|t| (t * 1000.0) as u64),
        "MessageAttributes": m.attributes,
        "Attributes": attributes,
        "MessageGroupId": m.group_id,
        "MessageDeduplicationId": m.dedup_id,
        "SequenceNumber": m.sequence,
    });
    if let Some(md5) = md5_of_attributes(&m.attributes) {
        v["MD5OfMessageAttributes"] = json!(md5);
    }
    v
}

pub fn serve(ctx: &Context, req: HttpRequest) -> HttpResponse {
    let json_response =
        |status: u16, v: Value| HttpResponse::new(status, "application/json", v.to_string());
    if req.method != "GET" || req.path.trim_end_matches('/') != "/_ministack/sqs/messages" {
        return HttpResponse::not_found();
    }
    for (param, mine) in [("account", &ctx.account), ("region", &ctx.region)] {
        if let Some(v) = query_param(&req.query, param)
            && v != *mine
        {
            return json_response(
                400,
                json!({"error": format!("this peek reads the caller's {param} ({mine}); sign the request for {v}")}),
            );
        }
    }
    let wanted = query_param(&req.query, "QueueUrl")
        .and_then(|u| parse_queue_url(&u))
        .map(|(_, n)| n);
    let queues: Vec<Queue> = match &wanted {
        Some(name) => match QUEUES.get(name) {
            Ok(q) => q.into_iter().collect(),
            Err(e) => return json_response(500, json!({"error": e.message})),
        },
        None => match QUEUES.values("") {
            Ok(v) => v,
            Err(e) => return json_response(500, json!({"error": e.message})),
        },
    };
    let now = time::now();
    let mut by_url = serde_json::Map::new();
    for q in queues {
        let rows: Vec<Message> = MESSAGES
            .values(&keys::prefix(&[&q.name]))
            .unwrap_or_default();
        by_url.insert(
            q.url(ctx),
            Value::Array(rows.iter().map(|m| view(m, now)).collect()),
        );
    }
    json_response(
        200,
        json!({"messages": {ctx.account.clone(): {ctx.region.clone(): Value::Object(by_url)}}}),
    )
}
