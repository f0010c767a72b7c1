//! Host-side bindings generated from `wit/plugin.wit`. Every import may trap
//! (a storage failure or a denied capability ends the call) and is async (a
//! commit, a wait or a call into another plugin does real I/O).

wasmtime::component::bindgen!({
    path: "../wit",
    world: "plugin",
    imports: { default: async | trappable },
    exports: { default: async },
    // A call's context, operation and input are lowered from borrowed
    // strings: owned fields cost a copy of each just to be lowered.
    ownership: Borrowing { duplicate_if_necessary: true },
});

pub use exports::ministack::plugin::service::Descriptor;
pub use ministack::plugin::types::{AwsError, Call, Context, HttpRequest, HttpResponse};

/// The contract version this host implements: `ministack:plugin@0.1.x`.
pub const CONTRACT_PACKAGE: &str = "ministack:plugin";
pub const CONTRACT_VERSION: (u64, u64) = (0, 1);

/// The host's own failure, as the protocol layer answers it.
pub fn internal_failure(message: impl Into<String>) -> ministack_protocol::AwsError {
    ministack_protocol::AwsError {
        code: "InternalFailure".into(),
        message: message.into(),
        status: Some(500),
        sender_fault: false,
        extra: None,
    }
}
