//! `log`: plugin log lines go to the gateway's tracing output, tagged with
//! the plugin's name and the request id.

use wasmtime::component::{HasData, Linker};

use super::{HostState, RequestState};
use crate::bindings::ministack::plugin::log::{self as wit, Level};

pub struct LogView<'a>(pub &'a mut RequestState);

struct LogCap;
impl HasData for LogCap {
    type Data<'a> = LogView<'a>;
}

pub fn add_to_linker(
    linker: &mut Linker<HostState>,
    get: fn(&mut HostState) -> LogView<'_>,
) -> wasmtime::Result<()> {
    wit::add_to_linker::<HostState, LogCap>(linker, get)
}

impl wit::Host for LogView<'_> {
    async fn write(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        let plugin = self.0.plugin.name.as_str();
        let request_id = self.0.ctx.request_id.as_str();
        match level {
            Level::Trace => tracing::trace!(target: "plugin", plugin, request_id, "{message}"),
            Level::Debug => tracing::debug!(target: "plugin", plugin, request_id, "{message}"),
            Level::Info => tracing::info!(target: "plugin", plugin, request_id, "{message}"),
            Level::Warn => tracing::warn!(target: "plugin", plugin, request_id, "{message}"),
            Level::Error => tracing::error!(target: "plugin", plugin, request_id, "{message}"),
        }
        Ok(())
    }
}
