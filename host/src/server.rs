//! The listener: HTTP/1.1 and h2c (prior knowledge) on one port, with a
//! graceful shutdown on SIGINT/SIGTERM, and the limits that keep a slow or
//! idle client from holding the server's resources (config::ServerLimits).

use std::net::SocketAddr;
use std::sync::Arc;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

use crate::body::WireBody;
use crate::gateway::Gateway;
use crate::self_wake::RepollSelfWakes;

pub async fn serve(listener: TcpListener, gateway: Arc<Gateway>) -> anyhow::Result<()> {
    let graceful = GracefulShutdown::new();
    let limits = gateway.limits().clone();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .keep_alive(true)
        .title_case_headers(false)
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    if let Some(max) = limits.max_header_bytes {
        // The read buffer bounds the head: hyper answers 431 when it fills
        // before the headers end.
        builder.http1().max_buf_size(max);
    }
    let https = crate::https::get();
    let connections = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    // On SIGTERM/SIGINT the shutdown.d init hooks run first, while the
    // gateway still answers them; then the listener stops.
    let shutdown = async {
        shutdown_signal().await;
        crate::init_hooks::hooks()
            .run(crate::init_hooks::Stage::Shutdown)
            .await;
    };
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer): (_, SocketAddr) = match accepted {
                    Ok(x) => x,
                    Err(e) => {
                        tracing::warn!("accept failed: {e}");
                        continue;
                    }
                };
                // Over the limit: closed at once (dropping the stream).
                let Ok(permit) = connections.clone().try_acquire_owned() else {
                    tracing::warn!("connection refused: {} open (MINISTACK_MAX_CONNECTIONS)", limits.max_connections);
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let gateway = gateway.clone();
                let rewrite_gateway = gateway.clone();
                let rewrite: crate::wire::Rewrite =
                    Arc::new(move |status, head| rewrite_gateway.wire_error(status, head));
                let body_idle = limits.body_idle_timeout;
                // The connection, for aws:SourceIp and aws:SecureTransport.
                let make_service = move |tls: bool| {
                    service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let gateway = gateway.clone();
                        let mut req = req.map(|b| WireBody::new(b, body_idle));
                        req.extensions_mut().insert(crate::auth::Peer { addr: peer, tls });
                        async move { Ok::<_, std::convert::Infallible>(gateway.handle(req).await) }
                    })
                };
                let watcher = graceful.watcher();
                let builder = builder.clone();
                let https = https.clone();
                let peek_timeout = limits.header_timeout;
                tokio::spawn(async move {
                    let _permit = permit;
                    // A client that never sends a byte would otherwise hold its
                    // permit for ever: hyper's header timeout starts only once
                    // the auto builder has read enough to pick HTTP/1 or HTTP/2.
                    let Some(first) = first_byte(&stream, peek_timeout).await else {
                        return;
                    };
                    // USE_SSL: HTTPS and HTTP on one port (crate::https).
                    let ended = match https {
                        Some(h) if crate::https::starts_tls(first) => {
                            let handshake = h.acceptor.accept(stream);
                            let tls = match peek_timeout {
                                Some(t) => tokio::time::timeout(t, handshake).await.ok(),
                                None => Some(handshake.await),
                            };
                            match tls {
                                Some(Ok(tls)) => {
                                    let conn = builder.serve_connection_with_upgrades(TokioIo::new(crate::wire::RewriteErrors::new(tls, rewrite)), make_service(true));
                                    let conn = std::pin::pin!(watcher.watch(conn.into_owned()));
                                    RepollSelfWakes::new(conn).await
                                }
                                Some(Err(e)) => {
                                    tracing::debug!("TLS handshake failed: {e}");
                                    return;
                                }
                                None => {
                                    tracing::debug!("TLS handshake timed out");
                                    return;
                                }
                            }
                        }
                        _ => {
                            let conn = builder.serve_connection_with_upgrades(TokioIo::new(crate::wire::RewriteErrors::new(stream, rewrite)), make_service(false));
                            let conn = std::pin::pin!(watcher.watch(conn.into_owned()));
                            RepollSelfWakes::new(conn).await
                        }
                    };
                    if let Err(e) = ended {
                        tracing::debug!("connection ended: {e}");
                    }
                });
            }
            _ = &mut shutdown => break,
        }
    }
    tracing::info!("shutting down");
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(std::time::Duration::from_secs(5)) => {
            tracing::warn!("connections still open after 5 s; closing");
        }
    }
    Ok(())
}

/// The first byte of a new connection, peeked (left in the socket), or
/// None when the client closes or sends nothing within `timeout`.
async fn first_byte(
    stream: &tokio::net::TcpStream,
    timeout: Option<std::time::Duration>,
) -> Option<u8> {
    let mut first = [0u8; 1];
    let peek = stream.peek(&mut first);
    let n = match timeout {
        Some(t) => tokio::time::timeout(t, peek).await.ok()?.ok()?,
        None => peek.await.ok()?,
    };
    (n == 1).then_some(first[0])
}

async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
