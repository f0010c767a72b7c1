//! Shared by every fuzz target: the input is an HTTP request as text,
//! `METHOD /path?query\nheader: value\n...\n\nbody`, decoded with one model;
//! a decoded request is then encoded back as a response and as an error, in
//! the request's protocol. A gzipped body goes through the host's inflate
//! step first. Nothing may panic.

use ministack_protocol::http::{HeaderMap, HeaderName, HeaderValue, Method};
use ministack_protocol::{
    AwsError, RequestBody, RequestHead, ServiceModel, decode_request, decode_request_text,
    encode_error, encode_response,
};

pub fn run(model: &ServiceModel, data: &[u8]) {
    let split = data
        .windows(2)
        .position(|w| w == b"\n\n")
        .unwrap_or(data.len());
    let head_text = String::from_utf8_lossy(&data[..split]);
    let body = data.get(split + 2..).unwrap_or(&[]).to_vec();
    let mut lines = head_text.lines();
    let first = lines.next().unwrap_or("");
    let (method, target) = first.split_once(' ').unwrap_or(("POST", "/"));
    let Ok(method) = Method::from_bytes(method.as_bytes()) else {
        return;
    };
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut headers = HeaderMap::new();
    for line in lines {
        if let Some((k, v)) = line.split_once(':')
            && let (Ok(k), Ok(v)) = (
                HeaderName::from_bytes(k.trim().as_bytes()),
                HeaderValue::from_str(v.trim()),
            )
        {
            headers.append(k, v);
        }
    }
    let Ok(body) =
        ministack_protocol::compression::inflate_request(&mut headers, body.into(), 1 << 20)
    else {
        return;
    };
    let head = RequestHead {
        method: &method,
        path,
        query,
        headers: &headers,
    };
    let _ = ministack_protocol::streaming_input(model, &head);
    let decoded = decode_request(model, &head, RequestBody::Bytes(body.clone().into()));
    // The text a plugin reads (one pass for awsJson) agrees with the value.
    let text = decode_request_text(model, &head, RequestBody::Bytes(body.into()), None);
    match (&decoded, &text) {
        (Ok(d), Ok(t)) => assert_eq!(serde_json::to_string(&d.input).unwrap(), t.input_json),
        (Err(a), Err(b)) => assert_eq!(a.1.message, b.1.message),
        _ => panic!("the value and text paths disagree"),
    }
    match decoded {
        Ok(d) => {
            let _ = encode_response(model, d.protocol, &d.operation, &d.input, "fuzz");
            let err = AwsError {
                code: "ValidationException".into(),
                message: "fuzz".into(),
                extra: d.input.as_object().cloned(),
                ..Default::default()
            };
            let _ = encode_error(model, d.protocol, Some(&d.operation), &err, "fuzz");
        }
        Err((protocol, e)) => {
            let _ = encode_error(model, protocol, None, &e, "fuzz");
        }
    }
}
