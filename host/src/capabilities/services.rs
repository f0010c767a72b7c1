//! `services`: one plugin calls another service's operation through the same
//! dispatcher HTTP requests use (SNS → SQS, S3 → notifications, ...).
//!
//! Blob refs in the input and output are handed across (dispatch/handoff.rs).
//! The call ends the caller's current unit first, so the callee sees what
//! the caller wrote, and begins a new unit after it returns.

use std::time::Instant;

use wasmtime::component::{HasData, Linker};

use super::{CallSource, HostState, HostTrap, RequestState, ServiceTarget};
use crate::bindings::ministack::plugin::services::{self as wit, Source, Target};
use crate::bindings::ministack::plugin::types::AwsError;

/// services.call nesting limit (a cycle between plugins ends here).
pub const MAX_DEPTH: u32 = 16;

pub struct ServicesView<'a>(pub &'a mut RequestState);

struct ServicesCap;
impl HasData for ServicesCap {
    type Data<'a> = ServicesView<'a>;
}

pub fn add_to_linker(
    linker: &mut Linker<HostState>,
    get: fn(&mut HostState) -> ServicesView<'_>,
) -> wasmtime::Result<()> {
    wit::add_to_linker::<HostState, ServicesCap>(linker, get)
}

impl ServicesView<'_> {
    /// services.call and call-from: one call through the dispatcher.
    async fn call_one(
        &mut self,
        target: Target,
        operation: String,
        input_json: String,
        source: Option<CallSource>,
    ) -> wasmtime::Result<Result<String, AwsError>> {
        let req = &mut *self.0;
        if req.ctx.depth + 1 >= MAX_DEPTH {
            return Err(wasmtime::Error::new(HostTrap::TooDeep(MAX_DEPTH)));
        }
        req.commit_unit().await.map_err(wasmtime::Error::new)?;
        // The callee may change state: from here on a re-run would repeat it.
        req.visible = true;
        let caller = req.plugin.name.clone();
        let began = Instant::now();
        let target = service_target(target);
        let shared = req.shared.clone();
        let check = match (&source, shared.delivery_check()) {
            (Some(source), Some(check)) => {
                Box::pin(check.check(&caller, &req.ctx, &target, &operation, &input_json, source))
                    .await
            }
            _ => Ok(()),
        };
        let result = match check {
            Ok(()) => {
                Box::pin(shared.call_service(&caller, &req.ctx, target, &operation, &input_json))
                    .await
            }
            Err(e) => Err(e),
        };
        req.waited += began.elapsed();
        req.next_unit().await.map_err(wasmtime::Error::new)?;
        // Blobs the callee handed back are the caller's from now on.
        let result = match result {
            Ok((output, blobs)) => {
                for id in &blobs {
                    req.adopt_blob(id).map_err(wasmtime::Error::new)?;
                }
                Ok(output)
            }
            Err(e) => Err(e),
        };
        Ok(result.map_err(wit_error))
    }
}

fn service_target(t: Target) -> ServiceTarget {
    ServiceTarget {
        service: t.service,
        account: t.account,
        region: t.region,
    }
}

fn call_source(s: Source) -> CallSource {
    CallSource {
        arn: s.arn,
        account: s.account,
        role_arn: s.role_arn.filter(|r| !r.is_empty()),
    }
}

impl wit::Host for ServicesView<'_> {
    async fn call(
        &mut self,
        target: Target,
        operation: String,
        input_json: String,
    ) -> wasmtime::Result<Result<String, AwsError>> {
        self.call_one(target, operation, input_json, None).await
    }

    async fn call_from(
        &mut self,
        source: Source,
        target: Target,
        operation: String,
        input_json: String,
    ) -> wasmtime::Result<Result<String, AwsError>> {
        self.call_one(target, operation, input_json, Some(call_source(source)))
            .await
    }

    async fn authorize_from(
        &mut self,
        source: Source,
        target: Target,
        operation: String,
        input_json: String,
    ) -> wasmtime::Result<Result<(), AwsError>> {
        let req = &mut *self.0;
        // Without enforcement there is nothing to ask (and nothing to pay).
        let Some(check) = req.shared.delivery_check().cloned() else {
            return Ok(Ok(()));
        };
        // The policy reads call other plugins: end the unit as a call does.
        req.commit_unit().await.map_err(wasmtime::Error::new)?;
        let caller = req.plugin.name.clone();
        let began = Instant::now();
        let result = Box::pin(check.check(
            &caller,
            &req.ctx,
            &service_target(target),
            &operation,
            &input_json,
            &call_source(source),
        ))
        .await;
        req.waited += began.elapsed();
        req.next_unit().await.map_err(wasmtime::Error::new)?;
        Ok(result.map_err(wit_error))
    }

    async fn call_all(
        &mut self,
        calls: Vec<(Target, String, String)>,
    ) -> wasmtime::Result<Vec<Result<String, AwsError>>> {
        let req = &mut *self.0;
        if req.ctx.depth + 1 >= MAX_DEPTH {
            return Err(wasmtime::Error::new(HostTrap::TooDeep(MAX_DEPTH)));
        }
        req.commit_unit().await.map_err(wasmtime::Error::new)?;
        req.visible = true;
        let caller = req.plugin.name.clone();
        let began = Instant::now();
        // Each call is a task of its own, so the callees run on every core.
        let handles: Vec<_> = calls
            .into_iter()
            .map(|(target, operation, input_json)| {
                let shared = req.shared.clone();
                let ctx = req.ctx.clone();
                let caller = caller.clone();
                tokio::spawn(async move {
                    shared
                        .call_service(
                            &caller,
                            &ctx,
                            service_target(target),
                            &operation,
                            &input_json,
                        )
                        .await
                })
            })
            .collect();
        let mut results = Vec::with_capacity(handles.len());
        for handle in handles {
            let result = match handle.await {
                Ok(result) => result,
                Err(e) => Err(ministack_protocol::AwsError::new(
                    "InternalFailure",
                    format!("services.call-all: a call panicked: {e}"),
                    500,
                )),
            };
            results.push(result);
        }
        req.waited += began.elapsed();
        req.next_unit().await.map_err(wasmtime::Error::new)?;
        let mut out = Vec::with_capacity(results.len());
        for result in results {
            out.push(match result {
                Ok((output, blobs)) => {
                    for id in &blobs {
                        req.adopt_blob(id).map_err(wasmtime::Error::new)?;
                    }
                    Ok(output)
                }
                Err(e) => Err(wit_error(e)),
            });
        }
        Ok(out)
    }
}

fn wit_error(e: ministack_protocol::AwsError) -> AwsError {
    AwsError {
        code: e.code,
        message: e.message,
        status: e.status,
        sender_fault: e.sender_fault,
        extra_json: e.extra.map(|m| serde_json::Value::Object(m).to_string()),
    }
}
