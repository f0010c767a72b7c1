//! `http`: outbound HTTP requests from a plugin (SNS HTTP/HTTPS
//! subscriptions, webhooks, API destinations). Granted in plugins.toml.
//!
//! One shared hyper-util client (connection pool) for every plugin,
//! `http://` and `https://` (rustls: the platform's roots plus
//! `MINISTACK_CA_BUNDLE`, see [`crate::tls`]), a time limit for the whole
//! exchange and a cap on the response body (`MINISTACK_HTTP_MAX_RESPONSE_BYTES`).
//! The time spent waiting counts as host wait, not against the plugin's
//! run-time limit.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use wasmtime::component::{HasData, Linker};

use super::{HostState, RequestState};
use crate::bindings::ministack::plugin::http::{self as wit, IncomingResponse, OutgoingRequest};
use crate::config::Config;

/// Time limit when the plugin asks for none (`timeout-ms` 0), and the most
/// it may ask for.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
pub const MAX_TIMEOUT: Duration = Duration::from_secs(60);
/// The shared outbound client.
pub struct OutboundHttp {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    max_response_bytes: usize,
}

impl OutboundHttp {
    /// A client trusting `roots` for https:// URLs.
    pub fn new(roots: rustls::RootCertStore, max_response_bytes: usize) -> anyhow::Result<Self> {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(DEFAULT_TIMEOUT));
        connector.set_nodelay(true);
        // The TLS layer on top decides the scheme.
        connector.enforce_http(false);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(crate::tls::client_config(roots)?)
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(connector);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(https);
        Ok(Self {
            client,
            max_response_bytes,
        })
    }

    /// The client the gateway's configuration asks for.
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let roots = crate::tls::roots(config.ca_bundle.as_deref())?;
        Self::new(roots, config.http_max_response_bytes)
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
            let response = self.client.request(req).await.map_err(|e| {
                // The TLS reason (unknown issuer, name mismatch) sits in the source chain.
                let mut message = format!("request to {} failed: {e}", request.url);
                let mut source = std::error::Error::source(&e);
                while let Some(s) = source {
                    message.push_str(&format!(": {s}"));
                    source = s.source();
                }
                message
            })?;
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
            let body = Limited::new(response.into_body(), self.max_response_bytes)
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

/// Accepts absolute `http://` and `https://` URLs only.
fn check_url(url: &str) -> Result<http::Uri, String> {
    let uri: http::Uri = url
        .parse()
        .map_err(|e| format!("invalid URL {url:?}: {e}"))?;
    match uri.scheme_str() {
        Some("http" | "https") if uri.host().is_some() => Ok(uri),
        _ => Err(format!(
            "invalid URL {url:?}: an absolute http:// or https:// URL is needed"
        )),
    }
}

/// The shared client, built on first use from the gateway's configuration
/// (the CA bundle was already checked when the configuration was read).
fn client(config: &Config) -> Result<&'static OutboundHttp, String> {
    static CLIENT: OnceLock<Result<OutboundHttp, String>> = OnceLock::new();
    CLIENT
        .get_or_init(|| OutboundHttp::from_config(config).map_err(|e| format!("{e:#}")))
        .as_ref()
        .map_err(Clone::clone)
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
        let result = match client(&self.0.shared.config) {
            Ok(client) => client.send(request).await,
            Err(e) => Err(format!("the gateway's HTTP client is unavailable: {e}")),
        };
        self.0.waited += began.elapsed();
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    fn plain() -> OutboundHttp {
        OutboundHttp::new(
            rustls::RootCertStore::empty(),
            crate::config::DEFAULT_HTTP_MAX_RESPONSE_BYTES,
        )
        .unwrap()
    }

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
        let response = plain().send(request(url, 2000)).await.unwrap();
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
        let err = plain().send(request(url, 200)).await.unwrap_err();
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
            let size = 1000 + 10;
            let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {size}\r\n\r\n");
            let _ = sock.write_all(head.as_bytes()).await;
            let _ = sock.write_all(&vec![b'a'; size]).await;
        });
        // The cap is a setting: 1000 bytes here.
        let err = OutboundHttp::new(rustls::RootCertStore::empty(), 1000)
            .unwrap()
            .send(request(url, 5000))
            .await
            .unwrap_err();
        assert!(err.contains("reading the response"), "{err}");
    }

    #[tokio::test]
    async fn refuses_relative_urls_and_reports_refused_connections() {
        let client = plain();
        let err = client
            .send(request("/relative".into(), 100))
            .await
            .unwrap_err();
        assert!(err.contains("absolute http://"), "{err}");
        let err = client
            .send(request("ftp://example.com/".into(), 100))
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

    /// A CA, and a certificate for 127.0.0.1 and localhost signed by it.
    fn ca_and_server_cert() -> (
        rustls_pki_types::CertificateDer<'static>,
        rustls_pki_types::CertificateDer<'static>,
        rustls_pki_types::PrivateKeyDer<'static>,
    ) {
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "ministack test CA");
        ca_params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
        let params =
            rcgen::CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &*ca).unwrap();
        let key_der = rustls_pki_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap();
        (ca.der().clone(), cert.der().clone(), key_der)
    }

    /// An HTTPS server on 127.0.0.1 answering every request with 200 "secure".
    async fn tls_server(
        cert: rustls_pki_types::CertificateDer<'static>,
        key: rustls_pki_types::PrivateKeyDer<'static>,
    ) -> String {
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert], key)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "https://127.0.0.1:{}/hook",
            listener.local_addr().unwrap().port()
        );
        tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    return;
                };
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(sock).await else {
                        return;
                    };
                    let mut buf = vec![0u8; 4096];
                    let mut got = Vec::new();
                    while !String::from_utf8_lossy(&got).contains("hello") {
                        match tls.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => got.extend_from_slice(&buf[..n]),
                        }
                    }
                    let _ = tls
                        .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecure")
                        .await;
                    let _ = tls.shutdown().await;
                });
            }
        });
        url
    }

    #[tokio::test]
    async fn https_is_verified_against_the_configured_roots() {
        let (ca, cert, key) = ca_and_server_cert();
        let url = tls_server(cert, key).await;
        let mut roots = rustls::RootCertStore::empty();
        roots.add(ca).unwrap();
        let trusting =
            OutboundHttp::new(roots, crate::config::DEFAULT_HTTP_MAX_RESPONSE_BYTES).unwrap();
        let response = trusting.send(request(url.clone(), 5000)).await.unwrap();
        assert_eq!(response.status, 200);
        assert_eq!(response.body, b"secure");
        // Without the private CA the server's certificate is refused.
        let err = plain().send(request(url, 5000)).await.unwrap_err();
        assert!(err.to_lowercase().contains("certificate"), "{err}");
    }
}
