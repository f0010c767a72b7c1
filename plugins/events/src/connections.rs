//! Connections (authorization for API destinations: basic, API key,
//! OAuth client credentials; secrets kept, never returned) and API
//! destinations, invoked over the host's `http` capability.

use std::time::Duration;

use ministack_sdk::prelude::*;
use ministack_sdk::services::{self, Target};
use ministack_sdk::{encoding, http, ids, time};
use serde_json::{Map, Value, json};

use crate::archives::page_of;
use crate::model::*;

/// Connections by name: the create request as given plus our fields.
pub const CONNECTIONS: Table<Value> = Table::new("connections");
pub const API_DESTINATIONS: Table<Value> = Table::new("api_destinations");
/// Per API destination: the epoch ms of its next free invocation slot.
pub const RATE_SLOTS: Table<u64> = Table::new("api_destination_slots");
/// OAuth access tokens per connection name: (token, expiry in epoch ms).
pub const OAUTH_TOKENS: Table<(String, u64)> = Table::new("oauth_tokens");
/// Token lifetime when the authorization server does not say (`expires_in`).
const OAUTH_DEFAULT_TTL_MS: u64 = 3_600_000;

fn get_connection(name: &str) -> Result<Value, AwsError> {
    CONNECTIONS
        .get(name)?
        .ok_or_else(|| not_found("Connection", name))
}

/// Auth parameters as Describe shows them: secrets left out.
fn public_auth(auth: &Value) -> Value {
    let mut a = auth.clone();
    if let Some(o) = a.as_object_mut() {
        if let Some(b) = o
            .get_mut("BasicAuthParameters")
            .and_then(Value::as_object_mut)
        {
            b.remove("Password");
        }
        if let Some(k) = o
            .get_mut("ApiKeyAuthParameters")
            .and_then(Value::as_object_mut)
        {
            k.remove("ApiKeyValue");
        }
        if let Some(oa) = o.get_mut("OAuthParameters").and_then(Value::as_object_mut)
            && let Some(c) = oa
                .get_mut("ClientParameters")
                .and_then(Value::as_object_mut)
        {
            c.remove("ClientSecret");
        }
    }
    a
}

fn check_auth(kind: &str, auth: &Value) -> Result<(), AwsError> {
    let member = match kind {
        "BASIC" => "BasicAuthParameters",
        "API_KEY" => "ApiKeyAuthParameters",
        "OAUTH_CLIENT_CREDENTIALS" => "OAuthParameters",
        other => {
            return Err(AwsError::validation(format!(
                "Unsupported AuthorizationType {other}."
            )));
        }
    };
    if auth.get(member).is_none() {
        return Err(AwsError::validation(format!(
            "The AuthParameters for authorization type {kind} must include {member}."
        )));
    }
    Ok(())
}

pub fn create_connection(ctx: &Context, v: Value) -> Result<Value, AwsError> {
    let name = req(&v, "Name")?.to_string();
    check_name("name", &name, false)?;
    if CONNECTIONS.contains(&name) {
        return Err(exists("Connection", &name));
    }
    let kind = req(&v, "AuthorizationType")?;
    let auth = v
        .get("AuthParameters")
        .cloned()
        .unwrap_or_else(|| json!({}));
    check_auth(kind, &auth)?;
    let uuid = ids::uuid();
    let now = time::now();
    let mut c = v.as_object().cloned().unwrap_or_default();
    c.insert(
        "ConnectionArn".into(),
        json!(
            ctx.arn("events", &format!("connection/{name}/{uuid}"))
                .to_string()
        ),
    );
    c.insert(
        "SecretArn".into(),
        json!(
            ctx.arn(
                "secretsmanager",
                &format!("secret:events!connection/{name}/{uuid}")
            )
            .to_string()
        ),
    );
    c.insert("ConnectionState".into(), json!("AUTHORIZED"));
    c.insert("CreationTime".into(), json!(now));
    c.insert("LastModifiedTime".into(), json!(now));
    c.insert("LastAuthorizedTime".into(), json!(now));
    CONNECTIONS.put(&name, &Value::Object(c.clone()))?;
    Ok(json!({
        "ConnectionArn": c["ConnectionArn"],
        "ConnectionState": "AUTHORIZED",
        "CreationTime": now,
        "LastModifiedTime": now,
    }))
}

fn connection_json(c: &Value, full: bool) -> Value {
    let mut out = Map::new();
    let mut keys = vec![
        "ConnectionArn",
        "Name",
        "ConnectionState",
        "StateReason",
        "AuthorizationType",
        "CreationTime",
        "LastModifiedTime",
        "LastAuthorizedTime",
    ];
    if full {
        keys.extend([
            "Description",
            "SecretArn",
            "KmsKeyIdentifier",
            "InvocationConnectivityParameters",
        ]);
    }
    for k in keys {
        put_opt(&mut out, k, c.get(k).cloned());
    }
    if full {
        put_opt(
            &mut out,
            "AuthParameters",
            c.get("AuthParameters").map(public_auth),
        );
    }
    Value::Object(out)
}

pub fn describe_connection(_ctx: &Context, v: Value) -> Result<Value, AwsError> {
    Ok(connection_json(&get_connection(req(&v, "Name")?)?, true))
}

pub fn update_connection(_ctx: &Context, v: Value) -> Result<Value, AwsError> {
    let name = req(&v, "Name")?;
    let mut c = get_connection(name)?;
    // New credentials get a new token.
    OAUTH_TOKENS.delete(name);
    let o = c.as_object_mut().expect("object");
    for k in [
        "Description",
        "AuthorizationType",
        "InvocationConnectivityParameters",
        "KmsKeyIdentifier",
    ] {
        if let Some(x) = v.get(k) {
            o.insert(k.into(), x.clone());
        }
    }
    if let Some(update) = v.get("AuthParameters") {
        merge(
            o.entry("AuthParameters").or_insert_with(|| json!({})),
            update,
        );
    }
    let kind = o
        .get("AuthorizationType")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    check_auth(&kind, o.get("AuthParameters").unwrap_or(&json!({})))?;
    let now = time::now();
    o.insert("LastModifiedTime".into(), json!(now));
    o.insert("ConnectionState".into(), json!("AUTHORIZED"));
    CONNECTIONS.put(name, &c)?;
    Ok(json!({
        "ConnectionArn": c["ConnectionArn"],
        "ConnectionState": c["ConnectionState"],
        "CreationTime": c["CreationTime"],
        "LastModifiedTime": now,
        "LastAuthorizedTime": c["LastAuthorizedTime"],
    }))
}

/// Deep-merges an update object into a stored one.
fn merge(old: &mut Value, new: &Value) {
    match (old, new) {
        (Value::Object(o), Value::Object(n)) => {
            for (k, x) in n {
                match o.get_mut(k) {
                    Some(existing) if existing.is_object() && x.is_object() => merge(existing, x),
                    _ => {
                        o.insert(k.clone(), x.clone());
                    }
                }
            }
        }
        (old, new) => *old = new.clone(),
    }
}

pub fn deauthorize_connection(_ctx: &Context, v: Value) -> Result<Value, AwsError> {
    let name = req(&v, "Name")?;
    let mut c = get_connection(name)?;
    let now = time::now();
    OAUTH_TOKENS.delete(name);
    c["ConnectionState"] = json!("DEAUTHORIZED");
    c["LastModifiedTime"] = json!(now);
    CONNECTIONS.put(name, &c)?;
    Ok(json!({
        "ConnectionArn": c["ConnectionArn"],
        "ConnectionState": "DEAUTHORIZED",
        "CreationTime": c["CreationTime"],
        "LastModifiedTime": now,
        "LastAuthorizedTime": c["LastAuthorizedTime"],
    }))
}

pub fn delete_connection(_ctx: &Context, v: Value) -> Result<Value, AwsError> {
    let name = req(&v, "Name")?;
    let c = get_connection(name)?;
    CONNECTIONS.delete(name);
    OAUTH_TOKENS.delete(name);
    Ok(json!({
        "ConnectionArn": c["ConnectionArn"],
        "ConnectionState": "DELETING",
        "CreationTime": c["CreationTime"],
        "LastModifiedTime": time::now(),
        "LastAuthorizedTime": c["LastAuthorizedTime"],
    }))
}

pub fn list_connections(_ctx: &Context, v: Value) -> Result<Value, AwsError> {
    let prefix = s(&v, "NamePrefix").unwrap_or("");
    let state = s(&v, "ConnectionState");
    let all: Vec<Value> = CONNECTIONS
        .values(prefix)?
        .into_iter()
        .filter(|c| state.is_none_or(|s| c["ConnectionState"] == json!(s)))
        .collect();
    let (items, next) = page_of(all, &v)?;
    let mut out =
        json!({"Connections": items.iter().map(|c| connection_json(c, false)).collect::<Vec<_>>()});
    if let Some(t) = next {
        out["NextToken"] = json!(t);
    }
    Ok(out)
}

// ------------------------------------------------------- API destinations

fn connection_by_arn(arn: &str) -> Result<Value, AwsError> {
    let name = Arn::parse(arn)
        .and_then(|a| a.resource.split('/').nth(1).map(str::to_string))
        .unwrap_or_default();
    CONNECTIONS
        .get(&name)?
        .filter(|c| c["ConnectionArn"] == json!(arn))
        .ok_or_else(|| not_found("Connection", &name))
}

fn get_destination(name: &str) -> Result<Value, AwsError> {
    API_DESTINATIONS
        .get(name)?
        .ok_or_else(|| not_found("ApiDestination", name))
}

const DESTINATION_KEYS: [&str; 10] = [
    "ApiDestinationArn",
    "Name",
    "Description",
    "ApiDestinationState",
    "ConnectionArn",
    "InvocationEndpoint",
    "HttpMethod",
    "InvocationRateLimitPerSecond",
    "CreationTime",
    "LastModifiedTime",
];

fn destination_json(d: &Value, full: bool) -> Value {
    let mut out = Map::new();
    for k in DESTINATION_KEYS {
        if k == "Description" && !full {
            continue;
        }
        put_opt(&mut out, k, d.get(k).cloned());
    }
    Value::Object(out)
}

fn short(d: &Value) -> Value {
    json!({
        "ApiDestinationArn": d["ApiDestinationArn"],
        "ApiDestinationState": d["ApiDestinationState"],
        "CreationTime": d["CreationTime"],
        "LastModifiedTime": d["LastModifiedTime"],
    })
}

pub fn create_api_destination(ctx: &Context, v: Value) -> Result<Value, AwsError> {
    let name = req(&v, "Name")?.to_string();
    check_name("name", &name, false)?;
    if API_DESTINATIONS.contains(&name) {
        return Err(exists("ApiDestination", &name));
    }
    connection_by_arn(req(&v, "ConnectionArn")?)?;
    let endpoint = req(&v, "InvocationEndpoint")?;
    if !endpoint.starts_with("https://") && !endpoint.starts_with("http://") {
        return Err(AwsError::validation(format!(
            "Parameter InvocationEndpoint is not valid. Reason: {endpoint} is not an HTTP(S) URL."
        )));
    }
    let now = time::now();
    let mut d = v.as_object().cloned().unwrap_or_default();
    d.insert(
        "ApiDestinationArn".into(),
        json!(
            ctx.arn("events", &format!("api-destination/{name}/{}", ids::uuid()))
                .to_string()
        ),
    );
    d.insert("ApiDestinationState".into(), json!("ACTIVE"));
    d.entry("InvocationRateLimitPerSecond")
        .or_insert(json!(300));
    d.insert("CreationTime".into(), json!(now));
    d.insert("LastModifiedTime".into(), json!(now));
    let d = Value::Object(d);
    API_DESTINATIONS.put(&name, &d)?;
    Ok(short(&d))
}

pub fn describe_api_destination(_ctx: &Context, v: Value) -> Result<Value, AwsError> {
    Ok(destination_json(&get_destination(req(&v, "Name")?)?, true))
}

pub fn update_api_destination(_ctx: &Context, v: Value) -> Result<Value, AwsError> {
    let name = req(&v, "Name")?;
    let mut d = get_destination(name)?;
    if let Some(c) = s(&v, "ConnectionArn") {
        connection_by_arn(c)?;
    }
    for k in [
        "Description",
        "ConnectionArn",
        "InvocationEndpoint",
        "HttpMethod",
        "InvocationRateLimitPerSecond",
    ] {
        if let Some(x) = v.get(k) {
            d[k] = x.clone();
        }
    }
    d["LastModifiedTime"] = json!(time::now());
    API_DESTINATIONS.put(name, &d)?;
    Ok(short(&d))
}

pub fn delete_api_destination(_ctx: &Context, v: Value) -> Result<Value, AwsError> {
    let name = req(&v, "Name")?;
    get_destination(name)?;
    API_DESTINATIONS.delete(name);
    Ok(json!({}))
}

pub fn list_api_destinations(_ctx: &Context, v: Value) -> Result<Value, AwsError> {
    let prefix = s(&v, "NamePrefix").unwrap_or("");
    let conn = s(&v, "ConnectionArn");
    let all: Vec<Value> = API_DESTINATIONS
        .values(prefix)?
        .into_iter()
        .filter(|d| conn.is_none_or(|c| d["ConnectionArn"] == json!(c)))
        .collect();
    let (items, next) = page_of(all, &v)?;
    let mut out = json!({"ApiDestinations": items.iter().map(|d| destination_json(d, false)).collect::<Vec<_>>()});
    if let Some(t) = next {
        out["NextToken"] = json!(t);
    }
    Ok(out)
}

fn pairs(list: Option<&Value>) -> Vec<(String, String)> {
    list.and_then(Value::as_array)
        .map(|l| {
            l.iter()
                .filter_map(|p| Some((s(p, "Key")?.to_string(), s(p, "Value")?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

fn query_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// One invocation of an API destination (from a delivery task); answers
/// the response body.
pub fn invoke_api_destination(
    ctx: &Context,
    arn: &Arn,
    target: &Value,
    body: String,
) -> Result<Vec<u8>, String> {
    let name = arn.resource.split('/').nth(1).unwrap_or_default();
    let d = get_destination(name).map_err(|e| e.message)?;
    let c = connection_by_arn(d["ConnectionArn"].as_str().unwrap_or_default())
        .map_err(|e| e.message)?;
    if c["ConnectionState"] != json!("AUTHORIZED") {
        return Err(format!("Connection {} is not authorized.", c["Name"]));
    }
    let params = target.get("HttpParameters");
    // `*` in the endpoint takes the path parameter values in order.
    let mut url = String::new();
    let mut values = params
        .and_then(|p| p.get("PathParameterValues"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
        .into_iter();
    for ch in d["InvocationEndpoint"].as_str().unwrap_or_default().chars() {
        if ch == '*' {
            url.push_str(values.next().as_ref().and_then(Value::as_str).unwrap_or(""));
        } else {
            url.push(ch);
        }
    }
    let auth = &c["AuthParameters"];
    let invocation = auth.get("InvocationHttpParameters");
    let mut headers = pairs(invocation.and_then(|i| i.get("HeaderParameters")));
    let mut query = pairs(invocation.and_then(|i| i.get("QueryStringParameters")));
    if let Some(h) = params
        .and_then(|p| p.get("HeaderParameters"))
        .and_then(Value::as_object)
    {
        headers.extend(
            h.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())),
        );
    }
    if let Some(q) = params
        .and_then(|p| p.get("QueryStringParameters"))
        .and_then(Value::as_object)
    {
        query.extend(
            q.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())),
        );
    }
    match c["AuthorizationType"].as_str() {
        Some("BASIC") => {
            let b = &auth["BasicAuthParameters"];
            let token = encoding::base64_encode(
                format!(
                    "{}:{}",
                    b["Username"].as_str().unwrap_or(""),
                    b["Password"].as_str().unwrap_or("")
                )
                .as_bytes(),
            );
            headers.push(("Authorization".into(), format!("Basic {token}")));
        }
        Some("API_KEY") => {
            let k = &auth["ApiKeyAuthParameters"];
            headers.push((
                k["ApiKeyName"].as_str().unwrap_or("x-api-key").to_string(),
                k["ApiKeyValue"].as_str().unwrap_or("").to_string(),
            ));
        }
        Some("OAUTH_CLIENT_CREDENTIALS") => {
            let token = match cached_oauth_token(&c) {
                Some(token) => token,
                None => fetch_oauth_token(ctx, &c)?,
            };
            headers.push(("Authorization".into(), format!("Bearer {token}")));
        }
        _ => {}
    }
    if !query.is_empty() {
        let q: Vec<String> = query
            .iter()
            .map(|(k, v)| format!("{}={}", query_escape(k), query_escape(v)))
            .collect();
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(&q.join("&"));
    }
    if !headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        headers.push((
            "Content-Type".into(),
            "application/json; charset=utf-8".into(),
        ));
    }
    headers.push((
        "User-Agent".into(),
        "Amazon/EventBridge/ApiDestinations".into(),
    ));
    let mut request = http::Request::post(&url, body.into_bytes()).timeout(Duration::from_secs(5));
    request.method = d["HttpMethod"].as_str().unwrap_or("POST").to_string();
    request.headers = headers;
    match http::send(&request) {
        Ok(r) if r.is_success() => Ok(r.body),
        Ok(r) => Err(format!("API destination answered HTTP {}", r.status)),
        Err(e) => Err(e),
    }
}

/// The name of [`internal_invoke_api_destination`] (not in the model):
/// EventBridge Pipes invokes API destinations through it, since the
/// destination and its connection's secrets live in this plugin.
pub const INTERNAL_INVOKE: &str = "MinistackInternalInvokeApiDestination";

/// `{"ApiDestinationArn", "HttpParameters"?, "Body"}` → `{"Body"}` (the
/// response's text), or `ApiDestinationFailure` saying why.
pub fn internal_invoke_api_destination(ctx: &Context, v: Value) -> Result<Value, AwsError> {
    let arn_text = req(&v, "ApiDestinationArn")?;
    let arn = Arn::parse(arn_text)
        .filter(|a| a.resource.starts_with("api-destination/"))
        .ok_or_else(|| {
            AwsError::validation(format!("{arn_text} is not an API destination ARN."))
        })?;
    let target = json!({"HttpParameters": v.get("HttpParameters").cloned().unwrap_or(Value::Null)});
    let body = v["Body"].as_str().unwrap_or_default().to_string();
    match invoke_api_destination(ctx, &arn, &target, body) {
        Ok(out) => Ok(json!({"Body": String::from_utf8_lossy(&out)})),
        Err(e) => Err(AwsError::new("ApiDestinationFailure", e).with_status(400)),
    }
}

/// The name of [`internal_fetch_oauth_token`] (not in AWS's model).
pub const INTERNAL_FETCH_OAUTH_TOKEN: &str = "MinistackInternalFetchOAuthToken";

/// The connection's cached OAuth token, unless it expires within 5 s.
fn cached_oauth_token(c: &Value) -> Option<String> {
    let name = c["Name"].as_str().unwrap_or_default();
    OAUTH_TOKENS
        .get(name)
        .ok()
        .flatten()
        .filter(|(_, expires)| *expires > time::now_millis() + 5_000)
        .map(|(token, _)| token)
}

/// A token from [`internal_fetch_oauth_token`], called as a service call:
/// the call ends this unit and the fetch commits in a unit of its own, so
/// the token is cached before the delivery that needed it reaches its
/// endpoint. Fetched in the delivery's own unit, it was cached only when
/// the delivery committed, after the endpoint had the event, and the next
/// event could fetch a token again.
fn fetch_oauth_token(ctx: &Context, c: &Value) -> Result<String, String> {
    let arn = c["ConnectionArn"].as_str().unwrap_or_default();
    let target = Arn::parse(arn)
        .map(|a| Target::at("events", &a.account, &a.region))
        .unwrap_or_else(|| Target::new("events", ctx));
    let out: Value = services::call(
        &target,
        INTERNAL_FETCH_OAUTH_TOKEN,
        &json!({"ConnectionArn": arn}),
    )
    .map_err(|e| e.message)?;
    Ok(out["AccessToken"].as_str().unwrap_or_default().to_string())
}

/// `{"ConnectionArn"}` → `{"AccessToken"}`: the connection's OAuth token,
/// cached or fetched (and cached), or `ApiDestinationFailure` saying why.
pub fn internal_fetch_oauth_token(_ctx: &Context, v: Value) -> Result<Value, AwsError> {
    let c = connection_by_arn(req(&v, "ConnectionArn")?)?;
    if c["AuthorizationType"] != json!("OAUTH_CLIENT_CREDENTIALS") {
        return Err(AwsError::validation(format!(
            "Connection {} does not use OAuth client credentials.",
            c["Name"].as_str().unwrap_or_default()
        )));
    }
    match oauth_token(&c) {
        Ok(token) => Ok(json!({"AccessToken": token})),
        Err(e) => Err(AwsError::new("ApiDestinationFailure", e).with_status(400)),
    }
}

/// The connection's OAuth client-credentials access token: the cached one,
/// or a new one from its `AuthorizationEndpoint` (client id and secret as
/// Basic credentials, `grant_type=client_credentials` and the
/// `OAuthHttpParameters` body, query and headers), as EventBridge does.
fn oauth_token(c: &Value) -> Result<String, String> {
    if let Some(token) = cached_oauth_token(c) {
        return Ok(token);
    }
    let name = c["Name"].as_str().unwrap_or_default();
    let now = time::now_millis();
    let o = &c["AuthParameters"]["OAuthParameters"];
    let client = &o["ClientParameters"];
    let basic = encoding::base64_encode(
        format!(
            "{}:{}",
            client["ClientID"].as_str().unwrap_or(""),
            client["ClientSecret"].as_str().unwrap_or("")
        )
        .as_bytes(),
    );
    let http_params = o.get("OAuthHttpParameters");
    let mut form = vec![("grant_type".to_string(), "client_credentials".to_string())];
    form.extend(pairs(http_params.and_then(|p| p.get("BodyParameters"))));
    let body: Vec<String> = form
        .iter()
        .map(|(k, v)| format!("{}={}", query_escape(k), query_escape(v)))
        .collect();
    let mut url = o["AuthorizationEndpoint"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let query: Vec<String> = pairs(http_params.and_then(|p| p.get("QueryStringParameters")))
        .iter()
        .map(|(k, v)| format!("{}={}", query_escape(k), query_escape(v)))
        .collect();
    if !query.is_empty() {
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(&query.join("&"));
    }
    let mut request =
        http::Request::post(&url, body.join("&").into_bytes()).timeout(Duration::from_secs(5));
    request.method = o["HttpMethod"].as_str().unwrap_or("POST").to_string();
    request.headers = pairs(http_params.and_then(|p| p.get("HeaderParameters")));
    request
        .headers
        .push(("Authorization".into(), format!("Basic {basic}")));
    request.headers.push((
        "Content-Type".into(),
        "application/x-www-form-urlencoded".into(),
    ));
    let r = http::send(&request).map_err(|e| format!("OAuth token request failed: {e}"))?;
    if !r.is_success() {
        return Err(format!(
            "OAuth authorization endpoint answered HTTP {}",
            r.status
        ));
    }
    let v: Value = serde_json::from_slice(&r.body)
        .map_err(|_| "OAuth authorization endpoint answered no JSON".to_string())?;
    let token = v["access_token"]
        .as_str()
        .ok_or("OAuth authorization endpoint answered no access_token")?
        .to_string();
    let ttl = v["expires_in"]
        .as_u64()
        .map(|s| s * 1000)
        .unwrap_or(OAUTH_DEFAULT_TTL_MS);
    let _ = OAUTH_TOKENS.put(name, &(token.clone(), now + ttl));
    Ok(token)
}
