//! `functions`: run function code (Lambda and what invokes it). Granted in
//! plugins.toml. The work is in `crate::functions`; this is the WIT side:
//! grants, blob ownership, and the store unit around an invoke (ended
//! before, begun after, as services.call does).

use std::time::Instant;

use wasmtime::component::{HasData, Linker};

use super::{HostState, HostTrap, RequestState};
use crate::bindings::ministack::plugin::functions::{
    self as wit, CodeInfo, InvokeRequest, InvokeResult,
};
use crate::bindings::ministack::plugin::types::AwsError as WitError;
use crate::capabilities::blobs::REGISTRY_TABLE;
use crate::streams::{self, StreamOp};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

pub struct FunctionsView<'a>(pub &'a mut RequestState);

struct FunctionsCap;
impl HasData for FunctionsCap {
    type Data<'a> = FunctionsView<'a>;
}

pub fn add_to_linker(
    linker: &mut Linker<HostState>,
    get: fn(&mut HostState) -> FunctionsView<'_>,
) -> wasmtime::Result<()> {
    wit::add_to_linker::<HostState, FunctionsCap>(linker, get)
}

fn to_wit(e: ministack_protocol::AwsError) -> WitError {
    WitError {
        code: e.code,
        message: e.message,
        status: e.status,
        sender_fault: e.sender_fault,
        extra_json: e.extra.map(|m| serde_json::Value::Object(m).to_string()),
    }
}

fn trap(e: impl Into<HostTrap>) -> wasmtime::Error {
    wasmtime::Error::new(e.into())
}

impl FunctionsView<'_> {
    /// A plugin may only run code from blobs it holds.
    fn check_blob(&mut self, id: &str) -> wasmtime::Result<Result<(), WitError>> {
        if self
            .0
            .unit()
            .get(REGISTRY_TABLE, id.as_bytes())
            .map_err(trap)?
            .is_none()
        {
            return Ok(Err(to_wit(crate::functions::code::invalid_parameter(
                format!("No code blob {id:?}"),
            ))));
        }
        Ok(Ok(()))
    }
}

impl wit::Host for FunctionsView<'_> {
    async fn prepare(&mut self, code_blob: String) -> wasmtime::Result<Result<CodeInfo, WitError>> {
        self.0.granted("functions").map_err(wasmtime::Error::new)?;
        if let Err(e) = self.check_blob(&code_blob)? {
            return Ok(Err(e));
        }
        let req = &mut *self.0;
        let began = Instant::now();
        let result = req
            .shared
            .functions
            .prepare(&req.shared.blobs, &req.plugin.name, &code_blob)
            .await;
        req.waited += began.elapsed();
        Ok(result.map_err(to_wit))
    }

    async fn invoke(
        &mut self,
        request: InvokeRequest,
    ) -> wasmtime::Result<Result<InvokeResult, WitError>> {
        self.run(request, None).await
    }

    async fn release(&mut self, function_id: String) -> wasmtime::Result<()> {
        self.0.granted("functions").map_err(wasmtime::Error::new)?;
        self.0.shared.functions.release(&function_id);
        Ok(())
    }

    async fn invoke_to_stream(
        &mut self,
        request: InvokeRequest,
        stream_id: String,
    ) -> wasmtime::Result<Result<InvokeResult, WitError>> {
        self.run(request, Some(stream_id)).await
    }
}

impl FunctionsView<'_> {
    /// `invoke` and `invoke-to-stream`: with a stream, the pieces of a
    /// streamed response are written to it as they arrive. They bypass the
    /// store unit (none is open while the function runs), so they go
    /// straight to the stream registry.
    async fn run(
        &mut self,
        request: InvokeRequest,
        stream_id: Option<String>,
    ) -> wasmtime::Result<Result<InvokeResult, WitError>> {
        self.0.granted("functions").map_err(wasmtime::Error::new)?;
        let blobs: Vec<String> = std::iter::once(request.spec.code_blob.clone())
            .chain(request.spec.layers.iter().cloned())
            .filter(|b| !b.is_empty())
            .collect();
        for b in &blobs {
            if let Err(e) = self.check_blob(b)? {
                return Ok(Err(e));
            }
        }
        let req = &mut *self.0;
        req.commit_unit().await.map_err(wasmtime::Error::new)?;
        // The function may call the gateway: a re-run would repeat that.
        req.visible = true;
        let began = Instant::now();
        let plugin = req.plugin.name.clone();
        let (chunk_tx, mut chunk_rx) = tokio::sync::mpsc::unbounded_channel::<bytes::Bytes>();
        let chunks = stream_id
            .as_ref()
            .filter(|id| streams::registry().is_open(&plugin, id))
            .map(|_| chunk_tx);
        let forward = |chunk: bytes::Bytes| {
            if let Some(id) = &stream_id {
                let event =
                    serde_json::json!({"PayloadChunk": {"Payload": STANDARD.encode(&chunk)}});
                streams::registry().apply(
                    &plugin,
                    "",
                    vec![StreamOp::Send(id.clone(), event.to_string())],
                );
            }
        };
        let result = {
            let invoke = req.shared.functions.invoke(
                &req.shared.blobs,
                &plugin,
                &req.ctx.account,
                &req.ctx.region,
                request,
                chunks,
            );
            tokio::pin!(invoke);
            loop {
                tokio::select! {
                    result = &mut invoke => {
                        // Pieces posted before the outcome are already queued.
                        while let Ok(chunk) = chunk_rx.try_recv() {
                            forward(chunk);
                        }
                        break result;
                    }
                    Some(chunk) = chunk_rx.recv() => forward(chunk),
                }
            }
        };
        req.waited += began.elapsed();
        req.next_unit().await.map_err(wasmtime::Error::new)?;
        Ok(result.map_err(to_wit))
    }
}
