//! Function URLs: their configs, and serving them on the gateway at
//! `/_aws/lambda-url/<url-id>/...` and `<url-id>.lambda-url.<region>.localhost`
//! with the payload format 2.0 event and response mapping.

use std::collections::BTreeMap;

use ministack_sdk::encoding::{base64_decode, base64_encode};
use ministack_sdk::members::str_member as s;
use ministack_sdk::prelude::*;
use ministack_sdk::services::{self, Target};
use ministack_sdk::{HttpRequest, HttpResponse, ids, time};
use serde_json::{Value, json};

use crate::common::*;
use crate::functions::paginate;

/// (function, qualifier or "") -> url id.
pub const URL_CONFIGS: Table<String> = Table::new("url-configs");
/// url id -> where it points and its config (global: URLs are served
/// without knowing the owner's account).
pub const URLS: Table<UrlRecord> = Table::global("urls");

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UrlRecord {
    pub account: String,
    pub region: String,
    pub function: String,
    pub qualifier: String,
    /// The FunctionUrlConfig as GetFunctionUrlConfig returns it.
    pub config: Value,
}

pub const PATH_PREFIX: &str = "/_aws/lambda-url/";

pub fn forget_function(_ctx: &Context, name: &str) -> Result<(), AwsError> {
    for (_, id) in URL_CONFIGS.scan(&Scan::prefix(keys::prefix(&[name])))? {
        URLS.delete(&id);
    }
    URL_CONFIGS.delete_range(&Scan::prefix(keys::prefix(&[name])));
    Ok(())
}

/// `http://<id>.lambda-url.<region>.localhost:<port>/`, on the gateway's port.
pub fn url_for(ctx: &Context, id: &str) -> String {
    let port = ctx
        .endpoint
        .rsplit_once(':')
        .map(|(_, p)| p.trim_end_matches('/'))
        .filter(|p| p.chars().all(|c| c.is_ascii_digit()))
        .unwrap_or("4566");
    format!("http://{id}.lambda-url.{}.localhost:{port}/", ctx.region)
}

fn url_target(ctx: &Context, input: &Value) -> Result<(FunctionRef, String), AwsError> {
    let r = function_ref(
        ctx,
        s(input, "FunctionName").unwrap_or_default(),
        s(input, "Qualifier"),
    )?;
    let f = load_function(ctx, &r.name)?;
    let q = r.qualifier.clone().unwrap_or_default();
    if is_version_number(&q) {
        return Err(invalid(
            "Function URLs can only be configured on $LATEST or an alias.",
        ));
    }
    check_qualifier(ctx, &f, &r.name, r.qualifier.as_deref())?;
    Ok((r, q))
}

fn url_missing() -> AwsError {
    not_found("The resource you requested does not exist.")
}

pub fn create_function_url_config(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let (r, q) = url_target(ctx, &input)?;
    let key = keys::join(&[&r.name, &q]);
    let arn = qualified_arn(
        &function_arn(ctx, &r.name),
        Some(&q).filter(|q| !q.is_empty()).map(|s| s.as_str()),
    );
    if URL_CONFIGS.contains(&key) {
        return Err(conflict(format!(
            "Failed to create function url config for [functionArn = {arn}]. Error message:  FunctionUrlConfig exists for this Lambda function"
        )));
    }
    let id = ids::lower_alnum(32);
    let now = last_modified();
    let mut config = json!({
        "FunctionUrl": url_for(ctx, &id),
        "FunctionArn": arn,
        "AuthType": s(&input, "AuthType").unwrap_or("NONE"),
        "CreationTime": now,
        "LastModifiedTime": now,
        "InvokeMode": s(&input, "InvokeMode").unwrap_or("BUFFERED"),
    });
    if input["Cors"].is_object() {
        config["Cors"] = input["Cors"].clone();
    }
    URL_CONFIGS.put(&key, &id)?;
    URLS.put(
        &id,
        &UrlRecord {
            account: ctx.account.clone(),
            region: ctx.region.clone(),
            function: r.name,
            qualifier: q,
            config: config.clone(),
        },
    )?;
    let mut out = config;
    out.as_object_mut().map(|m| m.remove("LastModifiedTime"));
    Ok(out)
}

fn load(ctx: &Context, input: &Value) -> Result<(String, UrlRecord), AwsError> {
    let (r, q) = url_target(ctx, input)?;
    let id = URL_CONFIGS
        .get(&keys::join(&[&r.name, &q]))?
        .ok_or_else(url_missing)?;
    let rec = URLS.get(&id)?.ok_or_else(url_missing)?;
    Ok((id, rec))
}

pub fn get_function_url_config(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    Ok(load(ctx, &input)?.1.config)
}

pub fn update_function_url_config(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let (id, mut rec) = load(ctx, &input)?;
    for k in ["AuthType", "InvokeMode"] {
        if let Some(v) = s(&input, k) {
            rec.config[k] = json!(v);
        }
    }
    if input["Cors"].is_object() {
        rec.config["Cors"] = input["Cors"].clone();
    }
    rec.config["LastModifiedTime"] = json!(last_modified());
    URLS.put(&id, &rec)?;
    Ok(rec.config)
}

pub fn delete_function_url_config(ctx: &Context, input: Value) -> Result<Empty, AwsError> {
    let (r, q) = url_target(ctx, &input)?;
    let key = keys::join(&[&r.name, &q]);
    let id = URL_CONFIGS.get(&key)?.ok_or_else(url_missing)?;
    URL_CONFIGS.delete(&key);
    URLS.delete(&id);
    Ok(Empty {})
}

pub fn list_function_url_configs(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let r = function_ref(ctx, s(&input, "FunctionName").unwrap_or_default(), None)?;
    load_function(ctx, &r.name)?;
    let mut items = Vec::new();
    for (k, id) in URL_CONFIGS.scan(&Scan::prefix(keys::prefix(&[&r.name])))? {
        if let Some(rec) = URLS.get(&id)? {
            items.push((k, rec.config));
        }
    }
    let (list, next) = paginate(items, s(&input, "Marker"), input["MaxItems"].as_u64(), 50)?;
    let mut out = json!({"FunctionUrlConfigs": list});
    if let Some(n) = next {
        out["NextMarker"] = json!(n);
    }
    Ok(out)
}

// ---- serving ----

/// The url id and the path after it, from the Host header or the path.
pub fn url_id_and_path(host: &str, path: &str) -> Option<(String, String)> {
    if let Some(rest) = path.strip_prefix(PATH_PREFIX) {
        let (id, tail) = rest.split_once('/').unwrap_or((rest, ""));
        return Some((id.to_string(), format!("/{tail}")));
    }
    let host = host.split(':').next().unwrap_or("");
    let (id, rest) = host.split_once('.')?;
    rest.starts_with("lambda-url.").then(|| {
        (
            id.to_string(),
            if path.is_empty() {
                "/".into()
            } else {
                path.to_string()
            },
        )
    })
}

/// `ministack:authz-raw`, the gateway's question under ENFORCE_IAM: what a
/// request on a raw route needs. A URL with AuthType AWS_IAM is
/// `lambda:InvokeFunctionUrl` on its function (AWS's
/// `lambda:FunctionUrlAuthType` condition key set); AuthType NONE, the code
/// download route and unknown URLs (answered 404) are open.
pub fn authz_raw(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let host = s(&input, "Host").unwrap_or_default();
    let path = s(&input, "Path").unwrap_or_default();
    let Some((id, _)) = url_id_and_path(host, path) else {
        return Ok(json!({}));
    };
    let Ok(Some(rec)) = URLS.get(&id) else {
        return Ok(json!({}));
    };
    if rec.config["AuthType"] != "AWS_IAM" {
        return Ok(json!({}));
    }
    let arn = format!(
        "arn:aws:lambda:{}:{}:function:{}",
        rec.region, rec.account, rec.function
    );
    Ok(json!({
        "Operation": "InvokeFunctionUrl",
        "Input": { "FunctionName": arn },
        "Context": { "lambda:FunctionUrlAuthType": "AWS_IAM" },
    }))
}

fn text_response(status: u16, message: &str) -> HttpResponse {
    HttpResponse::new(
        status,
        "application/json",
        json!({"Message": message}).to_string(),
    )
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The payload format 2.0 event of a request.
pub fn event_v2(req: &HttpRequest, id: &str, path: &str, account: &str, request_id: &str) -> Value {
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    let mut cookies = Vec::new();
    for (k, v) in &req.headers {
        let k = k.to_ascii_lowercase();
        if k == "cookie" {
            cookies.extend(
                v.split(';')
                    .map(|c| c.trim().to_string())
                    .filter(|c| !c.is_empty()),
            );
            continue;
        }
        headers
            .entry(k)
            .and_modify(|e| {
                e.push(',');
                e.push_str(v)
            })
            .or_insert_with(|| v.clone());
    }
    let mut query: BTreeMap<String, String> = BTreeMap::new();
    for kv in req.query.split('&').filter(|s| !s.is_empty()) {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        query
            .entry(percent_decode(k))
            .and_modify(|e| {
                e.push(',');
                e.push_str(&percent_decode(v))
            })
            .or_insert_with(|| percent_decode(v));
    }
    let host = headers.get("host").cloned().unwrap_or_default();
    let now = time::now();
    let mut event = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": req.query,
        "headers": headers,
        "requestContext": {
            "accountId": if account.is_empty() { "anonymous" } else { account },
            "apiId": id,
            "domainName": host.split(':').next().unwrap_or(""),
            "domainPrefix": id,
            "http": {
                "method": req.method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": req.header("x-forwarded-for").and_then(|v| v.split(',').next()).unwrap_or("127.0.0.1").trim(),
                "userAgent": req.header("user-agent").unwrap_or(""),
            },
            "requestId": request_id,
            "routeKey": "$default",
            "stage": "$default",
            "time": time::http_date(now as u64),
            "timeEpoch": (now * 1000.0) as u64,
        },
        "isBase64Encoded": false,
    });
    if !cookies.is_empty() {
        event["cookies"] = json!(cookies);
    }
    if !query.is_empty() {
        event["queryStringParameters"] = json!(query);
    }
    if !req.body.is_empty() {
        match std::str::from_utf8(&req.body) {
            Ok(text) => event["body"] = json!(text),
            Err(_) => {
                event["body"] = json!(base64_encode(&req.body));
                event["isBase64Encoded"] = json!(true);
            }
        }
    }
    event
}

/// A RESPONSE_STREAM URL's answer (collected whole: the gateway's HTTP
/// answers from plugins are not streamed): with
/// `awslambda.HttpResponseStream.from(stream, prelude)` the body starts
/// with the JSON prelude (statusCode, headers, cookies) and eight NUL
/// bytes; anything else is a 200 `application/octet-stream` body.
pub fn streamed_response_from(payload: &[u8]) -> HttpResponse {
    const SEPARATOR: &[u8] = &[0; 8];
    let prelude = payload
        .windows(SEPARATOR.len())
        .position(|w| w == SEPARATOR)
        .and_then(|at| {
            let v: Value = serde_json::from_slice(&payload[..at]).ok()?;
            v.is_object().then_some((v, at))
        });
    let Some((v, at)) = prelude else {
        return HttpResponse::new(200, "application/octet-stream", payload.to_vec());
    };
    let status = v["statusCode"].as_u64().unwrap_or(200) as u16;
    let mut r = HttpResponse::new(
        status,
        "application/octet-stream",
        payload[at + 8..].to_vec(),
    );
    if let Some(h) = v["headers"].as_object() {
        for (k, val) in h {
            let val = match val {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let k = k.to_ascii_lowercase();
            r.headers.retain(|(have, _)| *have != k);
            r.headers.push((k, val));
        }
    }
    for cookie in v["cookies"].as_array().into_iter().flatten() {
        if let Some(c) = cookie.as_str() {
            r.headers.push(("set-cookie".into(), c.to_string()));
        }
    }
    r
}

/// Maps a function's answer to the HTTP response: an object with
/// `statusCode` is taken apart; anything else is a 200 JSON body.
pub fn response_from(payload: &[u8]) -> HttpResponse {
    let v: Value = match serde_json::from_slice(payload) {
        Ok(v) => v,
        Err(_) => return HttpResponse::new(200, "application/json", payload.to_vec()),
    };
    let Some(status) = v
        .get("statusCode")
        .and_then(Value::as_u64)
        .filter(|_| v.is_object())
    else {
        return HttpResponse::new(200, "application/json", payload.to_vec());
    };
    let mut headers: Vec<(String, String)> = Vec::new();
    if let Some(h) = v["headers"].as_object() {
        for (k, val) in h {
            let val = match val {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            headers.push((k.to_ascii_lowercase(), val));
        }
    }
    if let Some(c) = v["cookies"].as_array() {
        for cookie in c.iter().filter_map(Value::as_str) {
            headers.push(("set-cookie".into(), cookie.to_string()));
        }
    }
    let body = match &v["body"] {
        Value::String(s) if v["isBase64Encoded"].as_bool() == Some(true) => {
            base64_decode(s).unwrap_or_default()
        }
        Value::String(s) => s.clone().into_bytes(),
        Value::Null => Vec::new(),
        other => other.to_string().into_bytes(),
    };
    if !headers.iter().any(|(k, _)| k == "content-type") {
        headers.push(("content-type".into(), "application/json".into()));
    }
    HttpResponse {
        status: status as u16,
        headers,
        body,
    }
}

fn cors_list(cors: &Value, k: &str) -> Vec<String> {
    cors[k]
        .as_array()
        .map(|l| {
            l.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// CORS headers for a request from `origin` under the URL's config.
fn cors_headers(cors: &Value, origin: Option<&str>, preflight: bool) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let Some(origin) = origin else { return out };
    if !cors.is_object() {
        return out;
    }
    let origins = cors_list(cors, "AllowOrigins");
    if !origins
        .iter()
        .any(|o| o == "*" || o.eq_ignore_ascii_case(origin))
    {
        return out;
    }
    let allow =
        if origins.iter().any(|o| o == "*") && cors["AllowCredentials"].as_bool() != Some(true) {
            "*".to_string()
        } else {
            origin.to_string()
        };
    out.push(("access-control-allow-origin".into(), allow));
    if cors["AllowCredentials"].as_bool() == Some(true) {
        out.push(("access-control-allow-credentials".into(), "true".into()));
    }
    if preflight {
        let methods = cors_list(cors, "AllowMethods");
        if !methods.is_empty() {
            out.push(("access-control-allow-methods".into(), methods.join(",")));
        }
        let headers = cors_list(cors, "AllowHeaders");
        if !headers.is_empty() {
            out.push(("access-control-allow-headers".into(), headers.join(",")));
        }
        if let Some(age) = cors["MaxAge"].as_u64() {
            out.push(("access-control-max-age".into(), age.to_string()));
        }
    } else {
        let expose = cors_list(cors, "ExposeHeaders");
        if !expose.is_empty() {
            out.push(("access-control-expose-headers".into(), expose.join(",")));
        }
    }
    out
}

pub fn serve(ctx: &Context, req: &HttpRequest, id: &str, path: &str) -> HttpResponse {
    let rec = match URLS.get(id) {
        Ok(Some(r)) => r,
        _ => return text_response(404, "Not Found"),
    };
    let cors = rec.config["Cors"].clone();
    let origin = req.header("origin");
    if req.method == "OPTIONS"
        && req.header("access-control-request-method").is_some()
        && cors.is_object()
    {
        let mut r = HttpResponse::new(200, "text/plain", Vec::new());
        r.headers.extend(cors_headers(&cors, origin, true));
        return r;
    }
    if rec.config["AuthType"] == "AWS_IAM" && ctx.access_key_id.is_empty() {
        return text_response(403, "Forbidden");
    }
    let request_id = if ctx.request_id.is_empty() {
        ids::uuid()
    } else {
        ctx.request_id.clone()
    };
    let event = event_v2(req, id, path, &ctx.account, &request_id);
    let mut input = json!({
        "FunctionName": rec.function,
        "Payload": base64_encode(event.to_string().as_bytes()),
    });
    if !rec.qualifier.is_empty() {
        input["Qualifier"] = json!(rec.qualifier);
    }
    let out = services::call_json(
        &Target::at("lambda", &rec.account, &rec.region),
        "Invoke",
        &input.to_string(),
    );
    let mut response = match out {
        Err(e) if e.code == "ResourceNotFoundException" => text_response(404, "Not Found"),
        Err(e) if e.code == "TooManyRequestsException" => text_response(429, "Too Many Requests"),
        Err(e) if e.code == "RequestTooLargeException" => text_response(413, "Request Too Large"),
        Err(_) => text_response(502, "Internal Server Error"),
        Ok(text) => {
            let v: Value = serde_json::from_str(&text).unwrap_or_default();
            let payload = v["Payload"]
                .as_str()
                .and_then(base64_decode)
                .unwrap_or_default();
            if v["FunctionError"].is_string() {
                text_response(502, "Internal Server Error")
            } else if rec.config["InvokeMode"] == "RESPONSE_STREAM" {
                streamed_response_from(&payload)
            } else {
                response_from(&payload)
            }
        }
    };
    response
        .headers
        .push(("x-amzn-requestid".into(), request_id));
    response.headers.extend(cors_headers(&cors, origin, false));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_streamed_answer_with_a_prelude_is_taken_apart() {
        let mut payload = br#"{"statusCode":201,"headers":{"X-A":"1"},"cookies":["c=1"]}"#.to_vec();
        payload.extend_from_slice(&[0; 8]);
        payload.extend_from_slice(b"body");
        let r = streamed_response_from(&payload);
        assert_eq!((r.status, &r.body[..]), (201, &b"body"[..]));
        assert!(r.headers.contains(&("x-a".into(), "1".into())));
        assert!(r.headers.contains(&("set-cookie".into(), "c=1".into())));
        let plain = streamed_response_from(b"just bytes");
        assert_eq!((plain.status, &plain.body[..]), (200, &b"just bytes"[..]));
    }

    #[test]
    fn finds_the_url_id_in_host_or_path() {
        assert_eq!(
            url_id_and_path("", "/_aws/lambda-url/abc/x/y"),
            Some(("abc".into(), "/x/y".into()))
        );
        assert_eq!(
            url_id_and_path("", "/_aws/lambda-url/abc"),
            Some(("abc".into(), "/".into()))
        );
        assert_eq!(
            url_id_and_path("abc.lambda-url.us-east-1.localhost:4566", "/p"),
            Some(("abc".into(), "/p".into()))
        );
        assert_eq!(url_id_and_path("localhost:4566", "/p"), None);
    }

    #[test]
    fn maps_responses() {
        let r = response_from(
            br#"{"statusCode": 201, "headers": {"X-A": "1"}, "body": "hi", "cookies": ["a=b"]}"#,
        );
        assert_eq!(r.status, 201);
        assert_eq!(r.body, b"hi");
        assert!(r.headers.contains(&("x-a".into(), "1".into())));
        assert!(r.headers.contains(&("set-cookie".into(), "a=b".into())));
        let r = response_from(br#"{"statusCode": 200, "body": "aGk=", "isBase64Encoded": true}"#);
        assert_eq!(r.body, b"hi");
        let r = response_from(br#"{"hello": "world"}"#);
        assert_eq!(
            (r.status, r.body.as_slice()),
            (200, &br#"{"hello": "world"}"#[..])
        );
        let r = response_from(b"\"text\"");
        assert_eq!(r.status, 200);
    }

    #[test]
    fn builds_the_v2_event() {
        let req = HttpRequest {
            method: "POST".into(),
            path: "/_aws/lambda-url/id1/a".into(),
            query: "x=1&x=2&y=a%20b".into(),
            headers: vec![
                ("Host".into(), "h:1".into()),
                ("Cookie".into(), "a=1; b=2".into()),
            ],
            body: b"{\"k\":1}".to_vec(),
        };
        let e = event_v2(&req, "id1", "/a", "", "rid");
        assert_eq!(e["rawPath"], "/a");
        assert_eq!(e["queryStringParameters"]["x"], "1,2");
        assert_eq!(e["queryStringParameters"]["y"], "a b");
        assert_eq!(e["cookies"], json!(["a=1", "b=2"]));
        assert_eq!(e["requestContext"]["http"]["method"], "POST");
        assert_eq!(e["body"], "{\"k\":1}");
        assert_eq!(e["isBase64Encoded"], false);
    }

    #[test]
    fn cors_preflight_and_simple() {
        let cors = json!({"AllowOrigins": ["https://a.example"], "AllowMethods": ["GET", "POST"], "MaxAge": 60});
        let h = cors_headers(&cors, Some("https://a.example"), true);
        assert!(h.contains(&(
            "access-control-allow-origin".into(),
            "https://a.example".into()
        )));
        assert!(h.contains(&("access-control-allow-methods".into(), "GET,POST".into())));
        assert!(cors_headers(&cors, Some("https://b.example"), true).is_empty());
    }
}
