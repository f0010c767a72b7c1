//! AWS's Lambda Runtime API (2018-06-01), served to one worker on its own
//! port, so that any runtime client (ours, AWS's, a `provided` bootstrap in
//! Go or Rust) finds it at `AWS_LAMBDA_RUNTIME_API=<host>:<port>`.
//!
//! The worker long-polls `/invocation/next`; the invoker hands it one
//! [`Invocation`] at a time through a channel and waits for the
//! [`Outcome`] the worker posts to `/response`, `/error` or `/init/error`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

/// Largest response or error body a function may post (AWS: 6 MB).
pub const MAX_RESPONSE_BYTES: usize = 6 * 1024 * 1024;
const PREFIX: &str = "/2018-06-01/runtime/";

/// One event handed to a worker.
pub struct Invocation {
    pub request_id: String,
    pub payload: Bytes,
    pub timeout: Duration,
    pub invoked_arn: String,
    pub trace_id: String,
    pub client_context: String,
    /// Fired when the worker takes the event (its deadline starts then).
    pub picked: oneshot::Sender<()>,
    pub reply: oneshot::Sender<Outcome>,
    /// Where the pieces of a streamed response go as they arrive (the
    /// runtime posts `/response` with `Lambda-Runtime-Function-Response-Mode:
    /// streaming`); the outcome is then an empty `Response`. None: a streamed
    /// response is collected whole, as a buffered one.
    pub chunks: Option<mpsc::UnboundedSender<Bytes>>,
}

/// Largest streamed response (AWS's soft limit for response streaming).
pub const MAX_STREAMED_BYTES: usize = 20 * 1024 * 1024;

/// What a worker reported for an invocation.
#[derive(Debug)]
pub enum Outcome {
    Response(Bytes),
    /// `/invocation/{id}/error`: the function failed (AWS error JSON).
    Error {
        body: Bytes,
        error_type: Option<String>,
    },
    /// `/init/error`: the runtime could not start the function.
    InitError {
        body: Bytes,
        error_type: Option<String>,
    },
    /// The answer was larger than AWS allows.
    TooLarge,
}

/// The invocation a worker is running.
struct Current {
    id: String,
    reply: oneshot::Sender<Outcome>,
    chunks: Option<mpsc::UnboundedSender<Bytes>>,
}

/// The invoker's side of one worker's Runtime API.
pub struct Channel {
    queue: mpsc::Sender<Invocation>,
    next: tokio::sync::Mutex<mpsc::Receiver<Invocation>>,
    /// The invocation the worker is running: its id and where to reply.
    current: Mutex<Option<Current>>,
    /// An init error posted before any invocation was waiting.
    early_init_error: Mutex<Option<Outcome>>,
}

impl Channel {
    /// Hands an invocation to the worker; false when the worker is gone.
    pub async fn send(&self, invocation: Invocation) -> bool {
        if let Some(outcome) = self.early_init_error.lock().unwrap().take() {
            let _ = invocation.reply.send(outcome);
            return true;
        }
        self.queue.send(invocation).await.is_ok()
    }
}

/// Binds a listener on `ip` (port chosen by the system) and serves the
/// Runtime API on it until the returned task is aborted.
pub async fn serve(
    ip: std::net::IpAddr,
) -> std::io::Result<(Arc<Channel>, SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind((ip, 0)).await?;
    let addr = listener.local_addr()?;
    let (queue, rx) = mpsc::channel(1);
    let channel = Arc::new(Channel {
        queue,
        next: tokio::sync::Mutex::new(rx),
        current: Mutex::new(None),
        early_init_error: Mutex::new(None),
    });
    let served = channel.clone();
    let task = tokio::spawn(async move {
        let mut connections = tokio::task::JoinSet::new();
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            let channel = served.clone();
            connections.spawn(async move {
                let service = service_fn(move |req| {
                    let channel = channel.clone();
                    async move { Ok::<_, Infallible>(handle(&channel, req).await) }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
            // Reap finished connection tasks as we go.
            while connections.try_join_next().is_some() {}
        }
    });
    Ok((channel, addr, task))
}

fn reply(status: StatusCode, body: &str) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

fn error_reply(status: StatusCode, kind: &str, message: &str) -> Response<Full<Bytes>> {
    let body = serde_json::json!({"errorType": kind, "errorMessage": message});
    reply(status, &body.to_string())
}

fn epoch_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

async fn read_body(req: Request<Incoming>) -> Result<Bytes, ()> {
    match Limited::new(req.into_body(), MAX_RESPONSE_BYTES)
        .collect()
        .await
    {
        Ok(c) => Ok(c.to_bytes()),
        Err(_) => Err(()),
    }
}

async fn handle(channel: &Channel, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_string();
    let Some(rest) = path.strip_prefix(PREFIX) else {
        return error_reply(StatusCode::NOT_FOUND, "InvalidRequest", "unknown path");
    };
    let parts: Vec<&str> = rest.split('/').collect();
    match (req.method(), parts.as_slice()) {
        (&Method::GET, ["invocation", "next"]) => next(channel).await,
        (&Method::POST, ["invocation", id, "response"])
            if header(&req, "lambda-runtime-function-response-mode")
                .is_some_and(|m| m.eq_ignore_ascii_case("streaming")) =>
        {
            let id = id.to_string();
            let outcome = streamed(channel, &id, req).await;
            finish(channel, &id, outcome)
        }
        (&Method::POST, ["invocation", id, "response"]) => {
            let id = id.to_string();
            let outcome = match read_body(req).await {
                Ok(body) => Outcome::Response(body),
                Err(()) => Outcome::TooLarge,
            };
            finish(channel, &id, outcome)
        }
        (&Method::POST, ["invocation", id, "error"]) => {
            let id = id.to_string();
            let error_type = header(&req, "lambda-runtime-function-error-type");
            let outcome = match read_body(req).await {
                Ok(body) => Outcome::Error { body, error_type },
                Err(()) => Outcome::TooLarge,
            };
            finish(channel, &id, outcome)
        }
        (&Method::POST, ["init", "error"]) => {
            let error_type = header(&req, "lambda-runtime-function-error-type");
            let body = read_body(req).await.unwrap_or_default();
            let outcome = Outcome::InitError { body, error_type };
            // The invocation may still be queued (init failed before /next).
            let queued = channel
                .next
                .try_lock()
                .ok()
                .and_then(|mut rx| rx.try_recv().ok());
            if let Some(inv) = queued {
                let _ = inv.picked.send(());
                let _ = inv.reply.send(outcome);
            } else if let Some(cur) = channel.current.lock().unwrap().take() {
                let _ = cur.reply.send(outcome);
            } else {
                *channel.early_init_error.lock().unwrap() = Some(outcome);
            }
            reply(StatusCode::ACCEPTED, r#"{"status":"OK"}"#)
        }
        _ => error_reply(
            StatusCode::NOT_FOUND,
            "InvalidRequest",
            &format!("{} {path} is not a Runtime API route", req.method()),
        ),
    }
}

fn header(req: &Request<Incoming>, name: &str) -> Option<String> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

async fn next(channel: &Channel) -> Response<Full<Bytes>> {
    let invocation = {
        let mut rx = channel.next.lock().await;
        rx.recv().await
    };
    let Some(inv) = invocation else {
        return error_reply(StatusCode::GONE, "WorkerStopped", "the worker is stopping");
    };
    let deadline = epoch_ms() + inv.timeout.as_millis();
    let mut builder = Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/json")
        .header("lambda-runtime-aws-request-id", &inv.request_id)
        .header("lambda-runtime-deadline-ms", deadline.to_string())
        .header("lambda-runtime-invoked-function-arn", &inv.invoked_arn)
        .header("lambda-runtime-trace-id", &inv.trace_id);
    if !inv.client_context.is_empty() {
        builder = builder.header("lambda-runtime-client-context", &inv.client_context);
    }
    let response = builder.body(Full::new(inv.payload)).unwrap();
    *channel.current.lock().unwrap() = Some(Current {
        id: inv.request_id,
        reply: inv.reply,
        chunks: inv.chunks,
    });
    let _ = inv.picked.send(());
    response
}

/// A streamed `/response`: each body frame goes to the invocation's chunk
/// sender as it arrives (or is collected when nobody streams). Errors the
/// runtime reports mid-stream come as trailers
/// (`Lambda-Runtime-Function-Error-Type`, `-Error-Body` in base64).
async fn streamed(channel: &Channel, id: &str, req: Request<Incoming>) -> Outcome {
    let chunks = match channel.current.lock().unwrap().as_ref() {
        Some(cur) if cur.id == id => cur.chunks.clone(),
        // finish() answers InvalidRequestID; the body is not read.
        _ => None,
    };
    let mut body = req.into_body();
    let mut collected = Vec::new();
    let mut total = 0usize;
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else { break };
        match frame.into_data() {
            Ok(data) => {
                total += data.len();
                if total > MAX_STREAMED_BYTES {
                    return Outcome::TooLarge;
                }
                match &chunks {
                    Some(tx) if !data.is_empty() => {
                        let _ = tx.send(data);
                    }
                    Some(_) => {}
                    None => collected.extend_from_slice(&data),
                }
            }
            Err(frame) => {
                let Ok(trailers) = frame.into_trailers() else {
                    continue;
                };
                let get = |n: &str| {
                    trailers
                        .get(n)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string)
                };
                if let Some(error_type) = get("lambda-runtime-function-error-type") {
                    let body = get("lambda-runtime-function-error-body")
                        .and_then(|b| {
                            use base64::Engine;
                            base64::engine::general_purpose::STANDARD.decode(b).ok()
                        })
                        .unwrap_or_default();
                    return Outcome::Error {
                        body: Bytes::from(body),
                        error_type: Some(error_type),
                    };
                }
            }
        }
    }
    Outcome::Response(Bytes::from(collected))
}

fn finish(channel: &Channel, id: &str, outcome: Outcome) -> Response<Full<Bytes>> {
    let mut current = channel.current.lock().unwrap();
    match current.take() {
        Some(cur) if cur.id == id => {
            let too_large = matches!(outcome, Outcome::TooLarge);
            let _ = cur.reply.send(outcome);
            if too_large {
                return error_reply(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "RequestEntityTooLarge",
                    &format!("the response is larger than {MAX_RESPONSE_BYTES} bytes"),
                );
            }
            reply(StatusCode::ACCEPTED, r#"{"status":"OK"}"#)
        }
        other => {
            *current = other;
            error_reply(
                StatusCode::BAD_REQUEST,
                "InvalidRequestID",
                &format!("no invocation {id} is running"),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// Reads from the worker's connection until `needle` has arrived.
    async fn read_until(s: &mut tokio::net::TcpStream, needle: &str) -> String {
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while !String::from_utf8_lossy(&got).contains(needle) {
            let n = s.read(&mut buf).await.unwrap();
            assert!(
                n > 0,
                "closed before {needle:?}: {}",
                String::from_utf8_lossy(&got)
            );
            got.extend_from_slice(&buf[..n]);
        }
        String::from_utf8_lossy(&got).into_owned()
    }

    #[tokio::test]
    async fn a_worker_takes_an_event_and_answers_it() {
        let (channel, addr, server) = serve(std::net::IpAddr::from([127, 0, 0, 1])).await.unwrap();
        let (picked_tx, picked_rx) = oneshot::channel();
        let (reply_tx, reply_rx) = oneshot::channel();
        let sender = channel.clone();
        tokio::spawn(async move {
            sender
                .send(Invocation {
                    request_id: "r1".into(),
                    payload: Bytes::from_static(b"{\"a\":1}"),
                    timeout: Duration::from_secs(3),
                    invoked_arn: "arn:aws:lambda:us-east-1:000000000000:function:f".into(),
                    trace_id: "Root=1-x".into(),
                    client_context: String::new(),
                    picked: picked_tx,
                    reply: reply_tx,
                    chunks: None,
                })
                .await
        });
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: w\r\n\r\n")
            .await
            .unwrap();
        let next = read_until(&mut s, "{\"a\":1}").await.to_ascii_lowercase();
        assert!(next.contains("lambda-runtime-aws-request-id: r1"), "{next}");
        assert!(next.contains("lambda-runtime-deadline-ms: "), "{next}");
        picked_rx.await.unwrap();
        // An answer for another invocation is refused; the right one lands.
        s.write_all(
            b"POST /2018-06-01/runtime/invocation/zz/response HTTP/1.1\r\nHost: w\r\nContent-Length: 2\r\n\r\nno",
        )
        .await
        .unwrap();
        assert!(
            read_until(&mut s, "InvalidRequestID")
                .await
                .starts_with("HTTP/1.1 400")
        );
        s.write_all(
            b"POST /2018-06-01/runtime/invocation/r1/response HTTP/1.1\r\nHost: w\r\nContent-Length: 2\r\n\r\nok",
        )
        .await
        .unwrap();
        assert!(
            read_until(&mut s, "\"OK\"")
                .await
                .starts_with("HTTP/1.1 202")
        );
        match reply_rx.await.unwrap() {
            Outcome::Response(body) => assert_eq!(&body[..], b"ok"),
            other => panic!("unexpected {other:?}"),
        }
        server.abort();
    }

    #[tokio::test]
    async fn a_streamed_response_arrives_piece_by_piece() {
        let (channel, addr, server) = serve(std::net::IpAddr::from([127, 0, 0, 1])).await.unwrap();
        let (picked_tx, picked_rx) = oneshot::channel();
        let (reply_tx, reply_rx) = oneshot::channel();
        let (chunk_tx, mut chunk_rx) = mpsc::unbounded_channel();
        let sender = channel.clone();
        tokio::spawn(async move {
            sender
                .send(Invocation {
                    request_id: "r2".into(),
                    payload: Bytes::from_static(b"{}"),
                    timeout: Duration::from_secs(3),
                    invoked_arn: "arn:aws:lambda:us-east-1:000000000000:function:f".into(),
                    trace_id: "Root=1-x".into(),
                    client_context: String::new(),
                    picked: picked_tx,
                    reply: reply_tx,
                    chunks: Some(chunk_tx),
                })
                .await
        });
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: w\r\n\r\n")
            .await
            .unwrap();
        read_until(&mut s, "{}").await;
        picked_rx.await.unwrap();
        s.write_all(
            b"POST /2018-06-01/runtime/invocation/r2/response HTTP/1.1\r\nHost: w\r\n\
              Lambda-Runtime-Function-Response-Mode: streaming\r\nTransfer-Encoding: chunked\r\n\r\n\
              3\r\none\r\n",
        )
        .await
        .unwrap();
        // The first piece is out before the body ends.
        assert_eq!(&chunk_rx.recv().await.unwrap()[..], b"one");
        s.write_all(b"3\r\ntwo\r\n0\r\n\r\n").await.unwrap();
        assert_eq!(&chunk_rx.recv().await.unwrap()[..], b"two");
        match reply_rx.await.unwrap() {
            Outcome::Response(body) => assert!(body.is_empty()),
            other => panic!("unexpected {other:?}"),
        }
        assert!(
            read_until(&mut s, "\"OK\"")
                .await
                .starts_with("HTTP/1.1 202")
        );
        server.abort();
    }
}
