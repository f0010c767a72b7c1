//! Deliveries that leave no trace elsewhere (email, email-json, sms,
//! application endpoints, firehose) are recorded per account and region and
//! read with `GET /_ministack/sns/messages` (filters `?protocol=`,
//! `?endpoint=`, `?TopicArn=`; `DELETE` clears them). A raw route reads the
//! caller's account and region: sign the request, or the gateway defaults
//! apply. Shape: `{"messages": {account: {region: [delivery, ...]}}}`, as
//! MiniStack's `/_ministack/sqs/messages`.

use ministack_sdk::prelude::*;
use ministack_sdk::{HttpRequest, HttpResponse, ids, time};
use serde_json::{Map, Value, json};

/// Recorded deliveries, keyed by time then id.
pub const DELIVERIES: Table<Delivery> = Table::new("deliveries");

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Delivery {
    pub protocol: String,
    pub endpoint: String,
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub subscription_arn: String,
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub topic_arn: String,
    pub message_id: String,
    /// Notification, SubscriptionConfirmation, ...
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    pub message: String,
    #[serde(skip_serializing_if = "Map::is_empty", default)]
    pub message_attributes: Map<String, Value>,
    /// Platform endpoints: the endpoint's attributes when it was sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<Value>,
    #[serde(default)]
    pub timestamp: String,
}

pub fn record(d: &Delivery) -> Result<(), AwsError> {
    let mut d = d.clone();
    d.timestamp = time::iso8601_millis(time::now());
    let key = keys::join(&[&keys::u64(time::now_millis()), &ids::uuid()]);
    DELIVERIES.put(&key, &d)
}

pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub fn query_param(query: &str, name: &str) -> Option<String> {
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
            b'%' if i + 2 < b.len() => {
                match std::str::from_utf8(&b[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or(())
                {
                    Ok(v) => {
                        out.push(v);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub fn serve(ctx: &Context, req: HttpRequest) -> HttpResponse {
    let json_response =
        |status: u16, v: Value| HttpResponse::new(status, "application/json", v.to_string());
    if req.path.trim_end_matches('/') != "/_ministack/sns/messages" {
        return HttpResponse::not_found();
    }
    match req.method.as_str() {
        "GET" => {}
        "DELETE" => {
            DELIVERIES.delete_range(&Scan::all());
            return json_response(200, json!({"deleted": true}));
        }
        _ => return json_response(405, json!({"error": "use GET or DELETE"})),
    }
    let protocol = query_param(&req.query, "protocol");
    let endpoint = query_param(&req.query, "endpoint");
    let topic = query_param(&req.query, "TopicArn");
    let rows = match DELIVERIES.values("") {
        Ok(v) => v,
        Err(e) => return json_response(500, json!({"error": e.message})),
    };
    let list: Vec<Value> = rows
        .into_iter()
        .filter(|d| protocol.as_ref().is_none_or(|p| *p == d.protocol))
        .filter(|d| endpoint.as_ref().is_none_or(|p| *p == d.endpoint))
        .filter(|d| topic.as_ref().is_none_or(|p| *p == d.topic_arn))
        .map(|d| serde_json::to_value(d).unwrap_or_default())
        .collect();
    json_response(
        200,
        json!({"messages": {ctx.account.clone(): {ctx.region.clone(): list}}}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_encoding_round_trips() {
        let arn = "arn:aws:sns:us-east-1:000000000000:t";
        let enc = url_encode(arn);
        assert_eq!(enc, "arn%3Aaws%3Asns%3Aus-east-1%3A000000000000%3At");
        assert_eq!(
            query_param(&format!("a=1&TopicArn={enc}"), "TopicArn").unwrap(),
            arn
        );
        assert_eq!(query_param("x=%4", "x").unwrap(), "%4");
    }
}
