//! Outbound HTTP (SNS HTTP/HTTPS subscriptions, webhooks). Granted in
//! plugins.toml: `capabilities = ["http"]`. `http://` and `https://` URLs
//! (verified against the platform's roots plus the host's
//! `MINISTACK_CA_BUNDLE`); the host applies a time limit (default 10 s, at
//! most 60 s) and caps the response body (`MINISTACK_HTTP_MAX_RESPONSE_BYTES`,
//! default 1 MiB). The current store unit stays open while the request runs,
//! so send from a scheduled task when the caller should not wait.

use std::time::Duration;

use crate::generated::ministack::plugin::http as wit;

/// One request to send.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// None for the host default (10 s).
    pub timeout: Option<Duration>,
}

impl Request {
    pub fn post(url: &str, body: impl Into<Vec<u8>>) -> Self {
        Request {
            method: "POST".into(),
            url: url.to_string(),
            body: body.into(),
            ..Default::default()
        }
    }

    pub fn get(url: &str) -> Self {
        Request {
            method: "GET".into(),
            url: url.to_string(),
            ..Default::default()
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
}

/// What came back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    /// Lower-case names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Sends `request`; `Err` with a message for a bad URL, a refused
/// connection, a TLS failure, a timeout or an oversized response (any HTTP status is `Ok`).
pub fn send(request: &Request) -> Result<Response, String> {
    let r = wit::OutgoingRequest {
        method: request.method.clone(),
        url: request.url.clone(),
        headers: request.headers.clone(),
        body: request.body.clone(),
        timeout_ms: request
            .timeout
            .map(|t| t.as_millis().clamp(1, u32::MAX as u128) as u32)
            .unwrap_or(0),
    };
    wit::send(&r).map(|r| Response {
        status: r.status,
        headers: r.headers,
        body: r.body,
    })
}
