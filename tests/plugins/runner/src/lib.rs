//! `runner`: a test plugin for the host's `functions` capability (a tiny
//! Lambda, until the real one exists). Not part of the default bundle.
//!
//! - `CreateFunction`: keeps the zip (and layer zips) as blobs, checks them
//!   with `functions.prepare`, stores the spec; a new revision each time;
//! - `Invoke`: `functions.invoke` with the stored spec and a JSON payload;
//!   answers the payload, FunctionError and the whole log;
//! - `Prepare`: only checks a zip; `DeleteFunction`: `functions.release`.

use std::collections::BTreeMap;

use ministack_sdk::encoding::base64_decode;
use ministack_sdk::generated::ministack::plugin::functions as wit;
use ministack_sdk::prelude::*;
use ministack_sdk::{blobs, ids};

struct Runner;

impl Service for Runner {
    const NAME: &'static str = "runner";
    const MODEL: &'static str = include_str!("../model/service-2.json");

    fn router() -> Router {
        Router::new()
            .op("CreateFunction", create_function)
            .op("Invoke", invoke)
            .op("Prepare", prepare)
            .op("DeleteFunction", delete_function)
    }

    fn capabilities() -> Vec<String> {
        vec!["functions".into()]
    }
}

export_plugin!(Runner);

#[derive(Serialize, Deserialize, Clone)]
struct Function {
    arn: String,
    name: String,
    revision: String,
    runtime: String,
    handler: String,
    code_blob: String,
    image_uri: String,
    layers: Vec<String>,
    environment: BTreeMap<String, String>,
    memory: u32,
    timeout: u32,
    reserved: Option<u32>,
}

const FUNCTIONS: Table<Function> = Table::new("functions");

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateInput {
    function_name: String,
    runtime: Option<String>,
    handler: Option<String>,
    zip_file: Option<String>,
    #[serde(default)]
    layers: Vec<String>,
    #[serde(default)]
    environment: BTreeMap<String, String>,
    memory_size: Option<u32>,
    timeout: Option<u32>,
    reserved_concurrency: Option<u32>,
    image_uri: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct FunctionOutput {
    function_arn: String,
    revision_id: String,
    code_sha256: String,
    code_size: u64,
    unzipped_size: u64,
}

fn store_zip(b64: &str) -> Result<String, AwsError> {
    let bytes = base64_decode(b64)
        .ok_or_else(|| AwsError::invalid_parameter_value("ZipFile is not base64"))?;
    Ok(blobs::create(&bytes).id)
}

fn prepare_blob(id: &str) -> Result<wit::CodeInfo, AwsError> {
    wit::prepare(id).map_err(Into::into)
}

fn release_blobs(f: &Function) {
    if !f.code_blob.is_empty() {
        blobs::release(&f.code_blob);
    }
    for l in &f.layers {
        blobs::release(l);
    }
}

fn create_function(ctx: &Context, input: CreateInput) -> Result<FunctionOutput, AwsError> {
    let mut info = wit::CodeInfo {
        sha256_base64: String::new(),
        size: 0,
        unzipped_size: 0,
    };
    let code_blob = match &input.zip_file {
        Some(z) => {
            let id = store_zip(z)?;
            info = prepare_blob(&id)?;
            id
        }
        None => String::new(),
    };
    let mut layers = Vec::new();
    for l in &input.layers {
        let id = store_zip(l)?;
        prepare_blob(&id)?;
        layers.push(id);
    }
    let arn = format!(
        "arn:aws:lambda:{}:{}:function:{}",
        ctx.region, ctx.account, input.function_name
    );
    if let Some(old) = FUNCTIONS.get(&input.function_name)? {
        release_blobs(&old);
        wit::release(&old.arn);
    }
    let f = Function {
        arn: arn.clone(),
        name: input.function_name.clone(),
        revision: ids::uuid(),
        runtime: input.runtime.unwrap_or_default(),
        handler: input.handler.unwrap_or_default(),
        code_blob,
        image_uri: input.image_uri.unwrap_or_default(),
        layers,
        environment: input.environment,
        memory: input.memory_size.unwrap_or(128),
        timeout: input.timeout.unwrap_or(3),
        reserved: input.reserved_concurrency,
    };
    FUNCTIONS.put(&input.function_name, &f)?;
    Ok(FunctionOutput {
        function_arn: arn,
        revision_id: f.revision,
        code_sha256: info.sha256_base64,
        code_size: info.size,
        unzipped_size: info.unzipped_size,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct InvokeInput {
    function_name: String,
    payload: Option<String>,
    client_context: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct InvokeOutput {
    status_code: u16,
    payload: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    function_error: Option<String>,
    logs: String,
    request_id: String,
    duration_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    init_duration_ms: Option<f64>,
    max_memory_used_mb: u32,
}

fn not_found(name: &str) -> AwsError {
    AwsError::resource_not_found(format!("Function not found: {name}"))
}

fn invoke(ctx: &Context, input: InvokeInput) -> Result<InvokeOutput, AwsError> {
    let f = FUNCTIONS
        .get(&input.function_name)?
        .ok_or_else(|| not_found(&input.function_name))?;
    let request_id = ids::uuid();
    let request = wit::InvokeRequest {
        spec: wit::FunctionSpec {
            function_id: f.arn.clone(),
            revision: f.revision.clone(),
            function_name: f.name.clone(),
            version: "$LATEST".into(),
            runtime: f.runtime.clone(),
            handler: f.handler.clone(),
            code_blob: f.code_blob.clone(),
            image_uri: f.image_uri.clone(),
            layers: f.layers.clone(),
            environment: f.environment.clone().into_iter().collect(),
            memory_mb: f.memory,
            timeout_seconds: f.timeout,
            architecture: "x86_64".into(),
            reserved_concurrency: f.reserved,
            log_group: format!("/aws/lambda/{}", f.name),
            log_stream: format!("2024/01/01/[$LATEST]{}", ids::hex(32)),
        },
        payload: input.payload.unwrap_or_default().into_bytes(),
        invoked_arn: f.arn.clone(),
        request_id: request_id.clone(),
        client_context: input.client_context.unwrap_or_default(),
    };
    let _ = ctx;
    let result = wit::invoke(&request).map_err(AwsError::from)?;
    Ok(InvokeOutput {
        status_code: 200,
        payload: String::from_utf8_lossy(&result.payload).into_owned(),
        function_error: result.function_error,
        logs: result.logs,
        request_id,
        duration_ms: result.duration_ms,
        init_duration_ms: result.init_duration_ms,
        max_memory_used_mb: result.max_memory_used_mb,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PrepareInput {
    zip_file: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct CodeOutput {
    code_sha256: String,
    code_size: u64,
    unzipped_size: u64,
}

fn prepare(_: &Context, input: PrepareInput) -> Result<CodeOutput, AwsError> {
    let id = store_zip(&input.zip_file)?;
    let info = prepare_blob(&id);
    blobs::release(&id);
    let info = info?;
    Ok(CodeOutput {
        code_sha256: info.sha256_base64,
        code_size: info.size,
        unzipped_size: info.unzipped_size,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct NameInput {
    function_name: String,
}

fn delete_function(_: &Context, input: NameInput) -> Result<Empty, AwsError> {
    let f = FUNCTIONS
        .get(&input.function_name)?
        .ok_or_else(|| not_found(&input.function_name))?;
    FUNCTIONS.delete(&input.function_name);
    release_blobs(&f);
    wit::release(&f.arn);
    Ok(Empty {})
}
