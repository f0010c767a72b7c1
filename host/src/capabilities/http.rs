//! `http`: outbound HTTP requests from a plugin (SNS HTTP/HTTPS
//! subscriptions, webhooks). Granted in plugins.toml.
//!
//! One shared hyper-util client (connection pool) for every plugin, plain
//! `http://` only (no TLS client in the host), a time limit for the whole
//! exchange and a cap on the response body. The time spent waiting counts as
//! host wait, not against the plugin's run-time limit.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use wasmtime::component::{HasData, Linker};

use super::{HostState, RequestState};
use crate::bindings::ministack::plugin::http::{self as wit, IncomingResponse, OutgoingRequest};

/// Time limit when the plugin asks for none (`timeout-ms` 0), and the most
/// it may ask for.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
pub const MAX_TIMEOUT: Duration = Duration::from_secs(60);
/// Largest response body handed back to a plugin.
pub const MAX_RESPONSE_BYTES: usize = 1 << 20;

/// The shared outbound client.
pub struct OutboundHttp {
    client: Client<HttpConnector, Full<Bytes>>,
}

impl OutboundHttp {
    pub fn new() -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(DEFAULT_TIMEOUT));
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        Self { client }
    }

    /// Sends one request; the error is a message for the plugin.
    pub async fn send(&self, request: OutgoingRequest) -> Result<IncomingResponse, String> {
        let timeout = match request.timeout_ms {
            0 => DEFAULT_TIMEOUT,
            ms => Duration::from_millis(ms.into()).min(MAX_TIMEOUT),
        };
        let uri = check_url(&request.url)?;
        let method = http::Method::from_bytes(request.method.to_ascii_uppercase().as_bytes())
            .map_err(|_| format!("invalid HTTP method {:?}", request.method))?;
        let mut builder = http::Request::builder().method(method).uri(uri);
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let req = builder
            .body(Full::new(Bytes::from(request.body)))
            .map_err(|e| format!("invalid request: {e}"))?;
        let exchange = async {
            let response = self
                .client
                .request(req)
                .await
                .map_err(|e| format!("request to {} failed: {e}", request.url))?;
            let status = response.status().as_u16();
            let headers = response
                .headers()
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_string(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect();
            let body = Limited::new(response.into_body(), MAX_RESPONSE_BYTES)
                .collect()
                .await
                .map_err(|e| format!("reading the response of {} failed: {e}", request.url))?
                .to_bytes()
                .to_vec();
            Ok(IncomingResponse {
                status,
                headers,
                body,
            })
        };
        match tokio::time::timeout(timeout, exchange).await {
            Ok(result) => result,
            Err(_) => Err(format!(
                "request to {} timed out after {} ms",
                request.url,
                timeout.as_millis()
            )),
        }
    }
}

impl Default for OutboundHttp {
    fn default() -> Self {
        Self::new()
    }
}

/// Accepts absolute `http://` URLs only.
fn check_url(url: &str) -> Result<http::Uri, String> {
    let uri: http::Uri = url
        .parse()
        .map_err(|e| format!("invalid URL {url:?}: {e}"))?;
    match uri.scheme_str() {
        Some("http") if uri.host().is_some() => Ok(uri),
        Some("https") => Err(format!(
            "cannot send to {url}: the gateway has no TLS client (https is not supported)"
        )),
        _ => Err(format!(
            "invalid URL {url:?}: an absolute http:// URL is needed"
        )),
    }
}

fn client() -> &'static OutboundHttp {
    static CLIENT: OnceLock<OutboundHttp> = OnceLock::new();
    CLIENT.get_or_init(OutboundHttp::new)
}

pub struct HttpView<'a>(pub &'a mut RequestState);

struct HttpCap;
impl HasData for HttpCap {
    type Data<'a> = HttpView<'a>;
}

pub fn add_to_linker(
    linker: &mut Linker<HostState>,
    get: fn(&mut HostState) -> HttpView<'_>,
) -> wasmtime::Result<()> {
    wit::add_to_linker::<HostState, HttpCap>(linker, get)
}

impl wit::Host for HttpView<'_> {
    async fn send(
        &mut self,
        request: OutgoingRequest,
    ) -> wasmtime::Result<Result<IncomingResponse, String>> {
        self.0.granted("http").map_err(wasmtime::Error::new)?;
        let began = Instant::now();
        let result = client().send(request).await;
        self.0.waited += began.elapsed();
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    fn request(url: String, timeout_ms: u32) -> OutgoingRequest {
        OutgoingRequest {
            method: "POST".into(),
            url,
            headers: vec![("x-test".into(), "1".into())],
            body: b"hello".to_vec(),
            timeout_ms,
        }
    }

    /// A one-shot server that answers `response` and hands back what it read.
    async fn serve_once(response: &'static [u8]) -> (String, tokio::task::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/path?q=1", listener.local_addr().unwrap());
        let handle = tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            let mut got = Vec::new();
            while !String::from_utf8_lossy(&got).contains("hello") {
                let n = sock.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
            }
            sock.write_all(response).await.unwrap();
            String::from_utf8_lossy(&got).into_owned()
        });
        (url, handle)
    }

    #[tokio::test]
    async fn sends_a_request_and_reads_the_response() {
        let (url, server) =
            serve_once(b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\nX-Reply: yes\r\n\r\nok")
                .await;
        let response = OutboundHttp::new().send(request(url, 2000)).await.unwrap();
        assert_eq!(response.status, 201);
        assert_eq!(response.body, b"ok");
        assert!(
            response
                .headers
                .iter()
                .any(|(k, v)| k == "x-reply" && v == "yes")
        );
        let seen = server.await.unwrap();
        assert!(seen.starts_with("POST /path?q=1 HTTP/1.1"), "{seen}");
        assert!(seen.contains("x-test: 1"), "{seen}");
    }

    #[tokio::test]
    async fn a_slow_endpoint_times_out() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let _keep = tokio::spawn(async move {
            let (_sock, _) = listener.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(5)).await;
        });
        let began = Instant::now();
        let err = OutboundHttp::new()
            .send(request(url, 200))
            .await
            .unwrap_err();
        assert!(err.contains("timed out"), "{err}");
        assert!(began.elapsed() < Duration::from_secs(2));
    }

    #[tokio::test]
    async fn an_oversized_response_is_an_error() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            let _ = sock.read(&mut buf).await;
            let size = MAX_RESPONSE_BYTES + 10;
            let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {size}\r\n\r\n");
            let _ = sock.write_all(head.as_bytes()).await;
            let _ = sock.write_all(&vec![b'a'; size]).await;
        });
        let err = OutboundHttp::new()
            .send(request(url, 5000))
            .await
            .unwrap_err();
        assert!(err.contains("reading the response"), "{err}");
    }

    #[tokio::test]
    async fn refuses_https_and_relative_urls_and_reports_refused_connections() {
        let client = OutboundHttp::new();
        let err = client
            .send(request("https://example.com/".into(), 100))
            .await
            .unwrap_err();
        assert!(err.contains("https is not supported"), "{err}");
        let err = client
            .send(request("/relative".into(), 100))
            .await
            .unwrap_err();
        assert!(err.contains("absolute http://"), "{err}");
        // A port nobody listens on.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let err = client
            .send(request(format!("http://127.0.0.1:{port}/"), 2000))
            .await
            .unwrap_err();
        assert!(err.contains("failed"), "{err}");
    }
}
