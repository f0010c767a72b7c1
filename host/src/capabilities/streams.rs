//! `streams`: a plugin feeds an event-stream response over time (see
//! [`crate::streams`] for the registry and the pump, docs/streaming.md for
//! the design). Opens, events and closes are effects of the current unit:
//! they reach the client when it commits.

use wasmtime::component::{HasData, Linker};

use super::{HostState, RequestState};
use crate::bindings::ministack::plugin::streams as wit;
use crate::bindings::ministack::plugin::types::AwsError;
use crate::streams::{self, StreamOp};

/// Largest event a plugin may send (AWS's event-stream messages are at most
/// 16 MiB with their headers).
const MAX_EVENT_BYTES: usize = 16 << 20;

pub struct StreamsView<'a>(pub &'a mut RequestState);

struct StreamsCap;
impl HasData for StreamsCap {
    type Data<'a> = StreamsView<'a>;
}

pub fn add_to_linker(
    linker: &mut Linker<HostState>,
    get: fn(&mut HostState) -> StreamsView<'_>,
) -> wasmtime::Result<()> {
    wit::add_to_linker::<HostState, StreamsCap>(linker, get)
}

impl StreamsView<'_> {
    /// Open for this request: committed and not closed, or opened in the
    /// current unit; and not closed in the current unit.
    fn is_open(&self, id: &str) -> bool {
        let ops = &self.0.pending.streams;
        if ops
            .iter()
            .any(|op| matches!(op, StreamOp::Close(c, _) if c == id))
        {
            return false;
        }
        ops.iter()
            .any(|op| matches!(op, StreamOp::Open(o) if o == id))
            || streams::registry().is_open(&self.0.plugin.name, id)
    }
}

impl wit::Host for StreamsView<'_> {
    async fn open(&mut self) -> wasmtime::Result<String> {
        let id = streams::new_id();
        self.0.pending.streams.push(StreamOp::Open(id.clone()));
        Ok(id)
    }

    async fn send(&mut self, stream_id: String, event_json: String) -> wasmtime::Result<bool> {
        if event_json.len() > MAX_EVENT_BYTES || !self.is_open(&stream_id) {
            return Ok(false);
        }
        self.0
            .pending
            .streams
            .push(StreamOp::Send(stream_id, event_json));
        Ok(true)
    }

    async fn close(&mut self, stream_id: String, error: Option<AwsError>) -> wasmtime::Result<()> {
        if self.is_open(&stream_id) {
            let error = error.map(|e| (e.code, e.message));
            self.0
                .pending
                .streams
                .push(StreamOp::Close(stream_id, error));
        }
        Ok(())
    }
}
