//! Event-stream responses fed over time (S3 SelectObjectContent, Kinesis
//! SubscribeToShard, Logs StartLiveTail, Lambda InvokeWithResponseStream).
//!
//! The handler opens an [`EventStream`] and returns it as the output's
//! event-stream member (it serializes as `{"stream-id": ".."}`); the host
//! answers at once with the other members and keeps the body open. Events
//! sent to the stream reach the client when the store unit that sent them
//! commits: when the handler returns, or at each [`crate::tasks::wait`] of a
//! task that feeds the stream. [`EventStream::close`] ends it.
//!
//! ```text
//! #[derive(Serialize)]
//! #[serde(rename_all = "PascalCase")]
//! struct SubscribeOutput { events: EventStream }
//!
//! fn subscribe(_: &Context, input: SubscribeInput) -> Result<SubscribeOutput, AwsError> {
//!     let events = EventStream::open();
//!     tasks::schedule(Duration::ZERO, "feed", &Feed { stream: events.id().to_string(), .. })?;
//!     Ok(SubscribeOutput { events })
//! }
//!
//! fn feed(_: &Context, job: Feed) -> Result<(), AwsError> {
//!     let events = EventStream::from_id(&job.stream);
//!     for n in 0..job.count {
//!         if !events.send("Tick", &json!({"Seq": n})) {
//!             return Ok(()); // the client went away
//!         }
//!         tasks::wait("never", Duration::from_secs(1)); // commits: the tick goes out
//!     }
//!     events.close();
//!     Ok(())
//! }
//! ```
//!
//! A task that fails ends the streams its request opened with an error
//! frame; a stream nobody feeds for 5 minutes ends the same way.

use serde::{Serialize, Serializer};

use crate::AwsError;
use crate::generated::ministack::plugin::streams as wit;

/// A stream of events for one response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventStream {
    id: String,
}

impl EventStream {
    /// Opens a stream for the current request.
    pub fn open() -> Self {
        EventStream { id: wit::open() }
    }

    /// The stream with this id (in a task fed by the opening request).
    pub fn from_id(id: &str) -> Self {
        EventStream { id: id.to_string() }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Sends one event: `member` is the event's name in the stream's union
    /// (e.g. `"Records"`), `body` its members in the model's shape (blobs as
    /// base64). False when the stream is gone (the client disconnected, or
    /// it was closed): stop producing.
    pub fn send<T: Serialize>(&self, member: &str, body: &T) -> bool {
        match serde_json::to_value(body) {
            Ok(body) => self.send_json(&event_json(member, body)),
            Err(e) => {
                crate::log::warn(&format!("cannot encode event {member}: {e}"));
                true
            }
        }
    }

    /// Sends one event already in the wire JSON (`{"Member": {..}}`).
    pub fn send_json(&self, event: &serde_json::Value) -> bool {
        wit::send(&self.id, &event.to_string())
    }

    /// Ends the stream after the events sent so far.
    pub fn close(self) {
        wit::close(&self.id, None)
    }

    /// Ends the stream with an `error` frame (an unmodelled failure; a
    /// modelled exception is an event of the union: [`EventStream::send`]).
    pub fn fail(self, error: AwsError) {
        wit::close(&self.id, Some(&error.into()))
    }
}

/// `{"<member>": body}`: one event as the host encodes it.
pub fn event_json(member: &str, body: serde_json::Value) -> serde_json::Value {
    let mut event = serde_json::Map::new();
    event.insert(member.to_string(), body);
    serde_json::Value::Object(event)
}

/// In an output, a stream is the reference the host looks for.
impl Serialize for EventStream {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(1))?;
        map.serialize_entry("stream-id", &self.id)?;
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_serializes_as_the_reference_the_host_reads() {
        let s = EventStream::from_id("stream-1");
        assert_eq!(
            serde_json::to_value(&s).unwrap(),
            serde_json::json!({"stream-id": "stream-1"})
        );
        assert_eq!(
            event_json("Records", serde_json::json!({"Payload": "YQ=="})),
            serde_json::json!({"Records": {"Payload": "YQ=="}})
        );
    }
}
