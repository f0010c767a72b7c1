//! # ministack-sdk: write an AWS service as a ministack plugin
//!
//! A plugin is a WebAssembly component (`wasm32-wasip2`) that the ministack
//! host loads. The host decodes every wire protocol from the service model the
//! plugin carries, so a plugin only ever sees `(operation name, JSON input in
//! the model's input shape)` and answers with JSON in the output shape or an
//! [`AwsError`]. This crate turns the WIT contract (`wit/plugin.wit`) into plain
//! Rust:
//!
//! - [`Service`] + [`export_plugin!`]: what the component exports;
//! - [`Router`]: operation name → typed handler `fn(&Context, In) -> Result<Out, AwsError>`;
//! - [`shapes`]: the input, output and error types `ministack-codegen` generates
//!   from the model at build time ([`include_shapes!`], [`shape_enum!`]);
//! - [`AwsError`]: AWS error codes with the right fault and status;
//! - [`store::Table`]: typed tables (serde) over the host's transactional store;
//! - [`blobs`], [`services`], [`tasks`], [`identity`], [`http`], [`containers`], [`log`]:
//!   the other host capabilities;
//! - [`streams`]: event-stream responses fed over time;
//! - [`ids`], [`arn`], [`time`], [`pagination`], [`rand`]: small helpers every
//!   service needs.
//!
//! ```text
//! use ministack_sdk::prelude::*;
//!
//! struct Sts;
//! impl Service for Sts {
//!     const NAME: &'static str = "sts";
//!     const MODEL: &'static str = include_str!("../model/service-2.json");
//!     fn router() -> Router {
//!         Router::new().op("GetCallerIdentity", get_caller_identity)
//!     }
//! }
//! export_plugin!(Sts);
//! ```
//!
//! Host calls only work inside the host. Natively (unit tests, `cargo clippy`)
//! the bindings compile to stubs that panic when called, so keep pure logic in
//! functions that take plain values and test those natively.

// Lets the generated bindings name `::ministack_sdk::...` from inside this crate too.
extern crate self as ministack_sdk;

#[doc(hidden)]
#[allow(clippy::all, missing_docs, unsafe_op_in_unsafe_fn)]
pub mod generated;

pub mod alloc;
pub mod arn;
pub mod authz;
pub mod blobs;
pub mod containers;
mod context;
pub mod encoding;
mod error;
pub mod hash;
pub mod http;
pub mod identity;
pub mod ids;
pub mod json;
pub mod log;
pub mod members;
pub mod memcmp;
pub mod metrics;
pub mod pagination;
pub mod rand;
pub mod resources;
mod router;
pub mod services;
pub mod shapes;
pub mod store;
pub mod streams;
pub mod tasks;
pub mod time;
pub mod validate;
pub mod words;

pub use context::Context;
pub use error::AwsError;
pub use router::{
    Coverage, Empty, HttpRequest, HttpResponse, Owner, Protocol, RawRoute, Router, Service,
    coverage,
};
pub use store::{RawTable, Scan, Scope, Table};

/// What most plugins import: `use ministack_sdk::prelude::*;`.
pub mod prelude {
    pub use crate::arn::Arn;
    pub use crate::blobs::{BlobOut, BlobRef};
    pub use crate::members::Members;
    pub use crate::resources::{ProgressEvent, ResourceRequest, ResourceType};
    pub use crate::store::{Page, RawTable, Scan, Scope, Table, keys};
    pub use crate::streams::EventStream;
    pub use crate::{AwsError, Context, Empty, Owner, Router, Service, export_plugin};
    pub use serde::{Deserialize, Serialize};
}

/// Used by [`export_plugin!`] and the generated bindings; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::generated::exports::ministack::plugin::service::{
        Descriptor, Guest as ServiceGuest,
    };
    pub use crate::generated::ministack::plugin::types::{
        AwsError as WitAwsError, Call, Context as WitContext, HttpRequest as WitHttpRequest,
        HttpResponse as WitHttpResponse,
    };
    pub use crate::router::glue::{describe, handle, handle_http, on_task};
    pub use serde;
    pub use wit_bindgen;
}

/// Exports a [`Service`] as the component's `service` interface.
///
/// Use it once, at the root of the plugin's `lib.rs`: `export_plugin!(MyService);`.
///
/// The exports exist only in the wasm build: a native build (unit tests,
/// clippy) has nothing to export to, and native linkers reject the
/// component-model export names.
#[macro_export]
macro_rules! export_plugin {
    ($service:ty) => {
        #[cfg(target_arch = "wasm32")]
        #[doc(hidden)]
        #[allow(non_camel_case_types)]
        struct __ministack_exported_service;

        #[cfg(target_arch = "wasm32")]
        impl $crate::__private::ServiceGuest for __ministack_exported_service {
            fn describe() -> $crate::__private::Descriptor {
                $crate::__private::describe::<$service>()
            }
            fn handle(
                call: $crate::__private::Call,
            ) -> ::core::result::Result<::std::string::String, $crate::__private::WitAwsError> {
                $crate::__private::handle::<$service>(call)
            }
            fn on_task(
                ctx: $crate::__private::WitContext,
                name: ::std::string::String,
                payload: ::std::string::String,
            ) -> ::core::result::Result<(), $crate::__private::WitAwsError> {
                $crate::__private::on_task::<$service>(ctx, name, payload)
            }
            fn handle_http(
                request: $crate::__private::WitHttpRequest,
            ) -> $crate::__private::WitHttpResponse {
                $crate::__private::handle_http::<$service>(request)
            }
        }

        // Natively, keep the service and its handlers reachable (no dead-code
        // warnings in tests and clippy).
        #[cfg(not(target_arch = "wasm32"))]
        const _: fn() -> $crate::Router = <$service as $crate::Service>::router;

        #[cfg(target_arch = "wasm32")]
        $crate::__export_plugin_impl!(__ministack_exported_service with_types_in $crate::generated);
    };
}
