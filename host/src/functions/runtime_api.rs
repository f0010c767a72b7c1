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
}

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

/// The invoker's side of one worker's Runtime API.
pub struct Channel {
    queue: mpsc::Sender<Invocation>,
    next: tokio::sync::Mutex<mpsc::Receiver<Invocation>>,
    /// The invocation the worker is running: its id and where to reply.
    current: Mutex<Option<(String, oneshot::Sender<Outcome>)>>,
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
            } else if let Some((_, tx)) = channel.current.lock().unwrap().take() {
                let _ = tx.send(outcome);
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
    *channel.current.lock().unwrap() = Some((inv.request_id, inv.reply));
    let _ = inv.picked.send(());
    response
}

fn finish(channel: &Channel, id: &str, outcome: Outcome) -> Response<Full<Bytes>> {
    let mut current = channel.current.lock().unwrap();
    match current.take() {
        Some((cur, tx)) if cur == id => {
            let too_large = matches!(outcome, Outcome::TooLarge);
            let _ = tx.send(outcome);
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
