//! The host's `functions` capability (prepare / invoke / release), wrapped
//! in plain Rust. Natively (unit tests) the bindings are stubs that panic.

use ministack_sdk::AwsError;
use ministack_sdk::generated::ministack::plugin::functions as wit;

/// What to run (see `function-spec` in wit/plugin.wit).
#[derive(Debug, Clone, Default)]
pub struct Spec {
    pub function_id: String,
    pub revision: String,
    pub function_name: String,
    pub version: String,
    pub runtime: String,
    pub handler: String,
    pub code_blob: String,
    pub image_uri: String,
    pub layers: Vec<String>,
    pub environment: Vec<(String, String)>,
    pub memory_mb: u32,
    pub timeout_seconds: u32,
    pub architecture: String,
    pub reserved_concurrency: Option<u32>,
    pub log_group: String,
    pub log_stream: String,
}

pub struct CodeInfo {
    pub sha256_base64: String,
    pub size: u64,
}

pub struct Outcome {
    pub payload: Vec<u8>,
    pub function_error: Option<String>,
    pub logs: String,
}

/// Checks and unpacks a code zip; AWS's errors for a bad one.
pub fn prepare(code_blob: &str) -> Result<CodeInfo, AwsError> {
    let info = wit::prepare(code_blob).map_err(AwsError::from)?;
    Ok(CodeInfo {
        sha256_base64: info.sha256_base64,
        size: info.size,
    })
}

/// Runs one invocation and waits for it; a streamed response goes to `stream` as
/// `PayloadChunk` events while the function runs (the outcome's payload is
/// then empty), a buffered one is the outcome's payload.
pub fn invoke_into(
    spec: &Spec,
    payload: &[u8],
    invoked_arn: &str,
    request_id: &str,
    client_context: &str,
    stream: Option<&str>,
) -> Result<Outcome, AwsError> {
    let s = spec.clone();
    let request = wit::InvokeRequest {
        spec: wit::FunctionSpec {
            function_id: s.function_id,
            revision: s.revision,
            function_name: s.function_name,
            version: s.version,
            runtime: s.runtime,
            handler: s.handler,
            code_blob: s.code_blob,
            image_uri: s.image_uri,
            layers: s.layers,
            environment: s.environment,
            memory_mb: s.memory_mb,
            timeout_seconds: s.timeout_seconds,
            architecture: s.architecture,
            reserved_concurrency: s.reserved_concurrency,
            log_group: s.log_group,
            log_stream: s.log_stream,
        },
        payload: payload.to_vec(),
        invoked_arn: invoked_arn.to_string(),
        request_id: request_id.to_string(),
        client_context: client_context.to_string(),
    };
    let r = match stream {
        Some(id) => wit::invoke_to_stream(&request, id),
        None => wit::invoke(&request),
    }
    .map_err(AwsError::from)?;
    Ok(Outcome {
        payload: r.payload,
        function_error: r.function_error,
        logs: r.logs,
    })
}

/// Stops the warm workers of a function.
pub fn release(function_id: &str) {
    wit::release(function_id)
}
