//! Streamed event-stream responses: the streams plugins open and feed
//! (the `streams` capability) and the pump that writes them to the client.
//!
//! A handler opens a stream and names it in its output's event-stream
//! member (`{"stream-id": ".."}`); the encoder turns that into a
//! `ResponseBody::EventStream`, and the gateway hands the body to [`pump`],
//! which writes the events' frames as they arrive. Plugins send events
//! within their store unit: a unit's opens, events and closes reach the
//! registry only when it commits ([`StreamRegistry::apply`]), so a failed
//! or retried request sends nothing. See docs/streaming.md.
//!
//! A leaf module: it knows no plugin, model or body type, so the
//! capabilities and the gateway can both use it without an import loop.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::mpsc;

/// A stream nobody feeds for this long ends with an error frame (clients
/// time out on silent connections anyway; producers send keep-alives).
pub const IDLE_LIMIT: Duration = Duration::from_secs(300);
/// An open stream no response took within this time (its request failed
/// after the open committed) is dropped.
const UNCLAIMED_LIMIT: Duration = Duration::from_secs(600);
/// Frames buffered between the pump and the connection.
const BODY_BUFFER: usize = 16;

/// One effect of a unit on streams, applied when the unit commits.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamOp {
    Open(String),
    /// An event, JSON text with one key (the event member's name).
    Send(String, String),
    /// Closes the stream, with an error frame (code, message) when set.
    Close(String, Option<(String, String)>),
}

/// What a pump receives from the producers.
#[derive(Debug)]
pub enum Msg {
    Events(Vec<String>),
    End(Option<(String, String)>),
}

struct Live {
    plugin: String,
    request_id: String,
    opened: Instant,
    /// None once closed (a closed stream stays until its response takes
    /// the events: a handler may open, fill and close before returning).
    tx: Option<mpsc::UnboundedSender<Msg>>,
    /// Until the response takes it.
    rx: Option<mpsc::UnboundedReceiver<Msg>>,
}

/// Every live stream of the process, by id.
#[derive(Default)]
pub struct StreamRegistry {
    live: Mutex<HashMap<String, Live>>,
}

/// The process's registry (streams outlive the calls that feed them).
pub fn registry() -> &'static StreamRegistry {
    static REGISTRY: OnceLock<StreamRegistry> = OnceLock::new();
    REGISTRY.get_or_init(StreamRegistry::default)
}

/// A new stream id.
pub fn new_id() -> String {
    format!("stream-{}", uuid::Uuid::new_v4().simple())
}

impl StreamRegistry {
    /// Whether `plugin` may still send to `id` (committed and not closed).
    pub fn is_open(&self, plugin: &str, id: &str) -> bool {
        self.live
            .lock()
            .unwrap()
            .get(id)
            .is_some_and(|l| l.plugin == plugin && l.tx.as_ref().is_some_and(|tx| !tx.is_closed()))
    }

    /// Applies a committed unit's stream effects, in order. Consecutive
    /// events of a stream go to its pump as one batch (one write).
    pub fn apply(&self, plugin: &str, request_id: &str, ops: Vec<StreamOp>) {
        if ops.is_empty() {
            return;
        }
        let mut live = self.live.lock().unwrap();
        let mut batches: Vec<(String, Vec<String>)> = Vec::new();
        let flush = |live: &HashMap<String, Live>, batches: &mut Vec<(String, Vec<String>)>| {
            for (id, events) in batches.drain(..) {
                if let Some(tx) = live.get(&id).and_then(|l| l.tx.as_ref()) {
                    let _ = tx.send(Msg::Events(events));
                }
            }
        };
        for op in ops {
            match op {
                StreamOp::Open(id) => {
                    live.retain(|_, l| l.rx.is_none() || l.opened.elapsed() < UNCLAIMED_LIMIT);
                    let (tx, rx) = mpsc::unbounded_channel();
                    live.insert(
                        id,
                        Live {
                            plugin: plugin.to_string(),
                            request_id: request_id.to_string(),
                            opened: Instant::now(),
                            tx: Some(tx),
                            rx: Some(rx),
                        },
                    );
                }
                StreamOp::Send(id, event) => {
                    if !live
                        .get(&id)
                        .is_some_and(|l| l.plugin == plugin && l.tx.is_some())
                    {
                        continue;
                    }
                    match batches.last_mut() {
                        Some((last, events)) if *last == id => events.push(event),
                        _ => batches.push((id, vec![event])),
                    }
                }
                StreamOp::Close(id, error) => {
                    flush(&live, &mut batches);
                    let Some(l) = live.get_mut(&id).filter(|l| l.plugin == plugin) else {
                        continue;
                    };
                    if let Some(tx) = l.tx.take() {
                        let _ = tx.send(Msg::End(error));
                    }
                    if l.rx.is_none() {
                        live.remove(&id);
                    }
                }
            }
        }
        flush(&live, &mut batches);
    }

    /// The events of stream `id`, for the response that names it (once).
    pub fn take(&self, id: &str) -> Option<mpsc::UnboundedReceiver<Msg>> {
        let mut live = self.live.lock().unwrap();
        let l = live.get_mut(id)?;
        let rx = l.rx.take();
        if l.tx.is_none() {
            // Already closed: the receiver holds every event.
            live.remove(id);
        }
        rx
    }

    /// Ends, with an error frame, every stream `request_id` opened in
    /// `plugin` (a task that fed them failed).
    pub fn fail_request(&self, plugin: &str, request_id: &str, code: &str, message: &str) {
        self.live.lock().unwrap().retain(|_, l| {
            let owned = l.plugin == plugin && l.request_id == request_id;
            if owned && let Some(tx) = l.tx.take() {
                let _ = tx.send(Msg::End(Some((code.to_string(), message.to_string()))));
            }
            // Kept until its response takes the events.
            !owned || l.rx.is_some()
        });
    }

    /// Forgets a stream whose response ended (sends now return false).
    pub fn forget(&self, id: &str) {
        self.live.lock().unwrap().remove(id);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.live.lock().unwrap().len()
    }
}

/// Writes a streamed response: `initial` first, then the frames of each
/// batch of events as the producers commit them (`encode` turns a batch
/// into frames; `error` writes an `error` frame), until the stream is
/// closed, its producer fails, it idles past [`IDLE_LIMIT`] or the client
/// goes away. The receiver is the response body's.
pub fn pump<E, F>(
    registry: &'static StreamRegistry,
    id: String,
    initial: Vec<u8>,
    encode: E,
    error: F,
) -> mpsc::Receiver<Result<Bytes, std::io::Error>>
where
    E: Fn(&[serde_json::Value]) -> Vec<u8> + Send + 'static,
    F: Fn(&str, &str) -> Vec<u8> + Send + 'static,
{
    let (tx, body) = mpsc::channel(BODY_BUFFER);
    let events = registry.take(&id);
    tokio::spawn(async move {
        if !initial.is_empty() && tx.send(Ok(initial.into())).await.is_err() {
            registry.forget(&id);
            return;
        }
        let Some(mut events) = events else {
            let frame = error(
                "InternalFailure",
                &format!("the service named an event stream it did not open ({id})"),
            );
            let _ = tx.send(Ok(frame.into())).await;
            return;
        };
        loop {
            let next = tokio::select! {
                next = tokio::time::timeout(IDLE_LIMIT, events.recv()) => next,
                // The client went away: producers learn it from `send`.
                _ = tx.closed() => break,
            };
            let frames = match next {
                Ok(Some(Msg::Events(batch))) => {
                    let values: Vec<serde_json::Value> = batch
                        .iter()
                        .filter_map(|e| match serde_json::from_str(e) {
                            Ok(v) => Some(v),
                            Err(err) => {
                                tracing::warn!(stream = id, "an event is not JSON: {err}");
                                None
                            }
                        })
                        .collect();
                    encode(&values)
                }
                Ok(Some(Msg::End(None))) | Ok(None) => break,
                Ok(Some(Msg::End(Some((code, message))))) => {
                    let _ = tx.send(Ok(error(&code, &message).into())).await;
                    break;
                }
                Err(_) => {
                    let message = format!(
                        "no event for {} s: the service stopped feeding the stream",
                        IDLE_LIMIT.as_secs()
                    );
                    let _ = tx.send(Ok(error("InternalFailure", &message).into())).await;
                    break;
                }
            };
            if !frames.is_empty() && tx.send(Ok(frames.into())).await.is_err() {
                break;
            }
        }
        registry.forget(&id);
    });
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leak() -> &'static StreamRegistry {
        Box::leak(Box::new(StreamRegistry::default()))
    }

    fn encode(events: &[serde_json::Value]) -> Vec<u8> {
        events
            .iter()
            .map(|e| format!("{e};"))
            .collect::<String>()
            .into_bytes()
    }

    fn error(code: &str, message: &str) -> Vec<u8> {
        format!("error {code}: {message};").into_bytes()
    }

    async fn read_all(mut body: mpsc::Receiver<Result<Bytes, std::io::Error>>) -> String {
        let mut out = String::new();
        while let Some(chunk) = body.recv().await {
            out.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
        }
        out
    }

    #[tokio::test]
    async fn events_flow_in_commit_order_until_closed() {
        let reg = leak();
        let id = new_id();
        assert!(!reg.is_open("p", &id));
        reg.apply(
            "p",
            "r1",
            vec![
                StreamOp::Open(id.clone()),
                StreamOp::Send(id.clone(), r#"{"A":{}}"#.into()),
            ],
        );
        assert!(reg.is_open("p", &id));
        assert!(!reg.is_open("other", &id), "only the opener may send");
        let body = pump(reg, id.clone(), b"init;".to_vec(), encode, error);
        // Another plugin's sends are ignored.
        reg.apply("other", "r9", vec![StreamOp::Send(id.clone(), "1".into())]);
        reg.apply(
            "p",
            "r1",
            vec![
                StreamOp::Send(id.clone(), r#"{"B":{}}"#.into()),
                StreamOp::Send(id.clone(), "not json".into()),
                StreamOp::Close(id.clone(), None),
                StreamOp::Send(id.clone(), r#"{"C":{}}"#.into()),
            ],
        );
        assert_eq!(
            read_all(body).await,
            r#"init;{"A":{}};{"B":{}};"#,
            "events after the close are dropped"
        );
        assert!(!reg.is_open("p", &id));
        assert_eq!(reg.len(), 0);
    }

    #[tokio::test]
    async fn a_stream_filled_and_closed_before_the_response_takes_it_is_whole() {
        let reg = leak();
        let id = new_id();
        reg.apply(
            "p",
            "r1",
            vec![
                StreamOp::Open(id.clone()),
                StreamOp::Send(id.clone(), r#"{"A":{}}"#.into()),
                StreamOp::Close(id.clone(), None),
            ],
        );
        assert!(!reg.is_open("p", &id));
        let body = pump(reg, id.clone(), Vec::new(), encode, error);
        assert_eq!(read_all(body).await, r#"{"A":{}};"#);
        assert_eq!(reg.len(), 0);
    }

    #[tokio::test]
    async fn a_failed_producer_ends_its_request_streams_with_an_error() {
        let reg = leak();
        let (mine, other) = (new_id(), new_id());
        reg.apply("p", "r1", vec![StreamOp::Open(mine.clone())]);
        reg.apply("p", "r2", vec![StreamOp::Open(other.clone())]);
        let body = pump(reg, mine.clone(), Vec::new(), encode, error);
        reg.fail_request("p", "r1", "Boom", "the task trapped");
        assert_eq!(read_all(body).await, "error Boom: the task trapped;");
        assert!(reg.is_open("p", &other));
    }

    #[tokio::test]
    async fn an_unknown_stream_is_an_error_frame_and_a_gone_client_closes_the_stream() {
        let reg = leak();
        let body = pump(reg, "stream-nope".into(), Vec::new(), encode, error);
        assert!(read_all(body).await.starts_with("error InternalFailure"));

        let id = new_id();
        reg.apply("p", "r1", vec![StreamOp::Open(id.clone())]);
        let body = pump(reg, id.clone(), Vec::new(), encode, error);
        drop(body);
        for _ in 0..100 {
            if !reg.is_open("p", &id) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(
            !reg.is_open("p", &id),
            "a send after the client left says so"
        );
    }
}
