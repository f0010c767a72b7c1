//! CloudFormation / Cloud Control resource types of Lambda (see
//! docs/resources.md): Function (inline `ZipFile` code included), Version,
//! Alias, Permission, EventSourceMapping, Url, LayerVersion and
//! LayerVersionPermission, made with the plugin's own operations.

use ministack_sdk::prelude::*;
use ministack_sdk::resources::{ProgressEvent, ResourceRequest, call_own, tags, value_text};
use serde_json::{Map, Value, json};

use crate::Lambda;

pub fn types() -> Vec<ResourceType> {
    vec![
        ResourceType::new("AWS::Lambda::Function", function_create, function_delete)
            .primary_identifier(&["FunctionName"])
            .required(&["Code", "Role"])
            .create_only(&["FunctionName"])
            .attributes(&["Arn", "SnapStartResponse.ApplyOn"])
            .update(function_update),
        ResourceType::new("AWS::Lambda::Version", version_create, version_delete)
            .primary_identifier(&["FunctionArn"])
            .required(&["FunctionName"])
            .create_only(&["FunctionName", "Description", "CodeSha256"])
            .attributes(&["FunctionArn", "Version"]),
        ResourceType::new("AWS::Lambda::Alias", alias_create, alias_delete)
            .primary_identifier(&["AliasArn"])
            .required(&["FunctionName", "FunctionVersion", "Name"])
            .create_only(&["FunctionName", "Name"])
            .attributes(&["AliasArn"])
            .update(alias_update),
        ResourceType::new(
            "AWS::Lambda::Permission",
            permission_create,
            permission_delete,
        )
        .primary_identifier(&["FunctionName", "Id"])
        .required(&["Action", "FunctionName", "Principal"])
        .create_only(&[
            "Action",
            "FunctionName",
            "Principal",
            "SourceAccount",
            "SourceArn",
            "EventSourceToken",
            "FunctionUrlAuthType",
        ]),
        ResourceType::new("AWS::Lambda::EventSourceMapping", esm_create, esm_delete)
            .primary_identifier(&["Id"])
            .required(&["FunctionName"])
            .create_only(&["EventSourceArn", "StartingPosition"])
            .attributes(&["Id", "EventSourceMappingArn"])
            .update(esm_update),
        ResourceType::new("AWS::Lambda::Url", url_create, url_delete)
            .primary_identifier(&["FunctionArn"])
            .required(&["TargetFunctionArn", "AuthType"])
            .create_only(&["TargetFunctionArn", "Qualifier"])
            .attributes(&["FunctionArn", "FunctionUrl"]),
        ResourceType::new("AWS::Lambda::LayerVersion", layer_create, layer_delete)
            .primary_identifier(&["LayerVersionArn"])
            .required(&["Content"])
            .create_only(&[
                "Content",
                "LayerName",
                "Description",
                "CompatibleRuntimes",
                "CompatibleArchitectures",
                "LicenseInfo",
            ])
            .read_only(&["LayerVersionArn"])
            .attributes(&["LayerVersionArn"]),
        ResourceType::new(
            "AWS::Lambda::LayerVersionPermission",
            layer_permission_create,
            layer_permission_delete,
        )
        .primary_identifier(&["Id"])
        .required(&["Action", "LayerVersionArn", "Principal"])
        .create_only(&["Action", "LayerVersionArn", "Principal", "OrganizationId"]),
    ]
}

fn call(ctx: &Context, op: &str, input: Value) -> Result<Value, AwsError> {
    call_own::<Lambda>(ctx, op, &input)
}

fn int(v: &Value) -> Value {
    value_text(v)
        .parse::<i64>()
        .map(Value::from)
        .unwrap_or(Value::Null)
}

/// CRC-32 (IEEE), for the zip an inline `ZipFile` becomes.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & (!(crc & 1)).wrapping_add(1));
        }
    }
    !crc
}

/// A zip archive holding one stored (uncompressed) file.
fn zip_one(name: &str, data: &[u8]) -> Vec<u8> {
    let crc = crc32(data);
    let (n, size) = (name.len() as u16, data.len() as u32);
    let mut out = Vec::new();
    let header = |out: &mut Vec<u8>, central: bool| {
        if central {
            out.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
            out.extend_from_slice(&0x031eu16.to_le_bytes()); // made by: unix
        } else {
            out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        }
        out.extend_from_slice(&20u16.to_le_bytes()); // version needed
        out.extend_from_slice(&0u16.to_le_bytes()); // flags
        out.extend_from_slice(&0u16.to_le_bytes()); // stored
        out.extend_from_slice(&0u32.to_le_bytes()); // time, date
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&n.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes()); // extra
    };
    header(&mut out, false);
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(data);
    let central_start = out.len() as u32;
    header(&mut out, true);
    out.extend_from_slice(&0u16.to_le_bytes()); // comment
    out.extend_from_slice(&0u16.to_le_bytes()); // disk
    out.extend_from_slice(&0u16.to_le_bytes()); // internal attrs
    out.extend_from_slice(&(0o100644u32 << 16).to_le_bytes()); // external attrs
    out.extend_from_slice(&0u32.to_le_bytes()); // local header offset
    out.extend_from_slice(name.as_bytes());
    let central_size = out.len() as u32 - central_start;
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&central_size.to_le_bytes());
    out.extend_from_slice(&central_start.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

/// `Code` as CreateFunction takes it: inline source becomes `index.<ext>` in a zip.
fn code(p: &Map<String, Value>) -> Value {
    let c = p.get("Code").cloned().unwrap_or_else(|| json!({}));
    if let Some(source) = c.get("ZipFile") {
        let runtime = p.get("Runtime").map(value_text).unwrap_or_default();
        let file = if runtime.starts_with("python") {
            "index.py"
        } else if runtime.starts_with("nodejs") {
            "index.js"
        } else if runtime.starts_with("ruby") {
            "index.rb"
        } else {
            "index"
        };
        let zip = zip_one(file, value_text(source).as_bytes());
        return json!({"ZipFile": ministack_sdk::encoding::base64_encode(&zip)});
    }
    let mut out = json!({});
    for k in ["S3Bucket", "S3Key", "S3ObjectVersion", "ImageUri"] {
        if let Some(v) = c.get(k) {
            out[k] = json!(value_text(v));
        }
    }
    out
}

const CONFIG: &[&str] = &[
    "Description",
    "Handler",
    "Runtime",
    "Role",
    "Timeout",
    "MemorySize",
    "Environment",
    "Layers",
    "TracingConfig",
    "DeadLetterConfig",
    "VpcConfig",
    "KmsKeyArn",
    "EphemeralStorage",
    "LoggingConfig",
    "ImageConfig",
    "FileSystemConfigs",
    "SnapStart",
];

fn config(p: &Map<String, Value>, input: &mut Value) {
    for k in CONFIG {
        if let Some(v) = p.get(*k) {
            let key = if *k == "KmsKeyArn" { "KMSKeyArn" } else { k };
            input[key] = match *k {
                "Timeout" | "MemorySize" => int(v),
                "Description" | "Handler" | "Runtime" | "Role" | "KmsKeyArn" => {
                    json!(value_text(v))
                }
                _ => v.clone(),
            };
        }
    }
}

fn function_event(ctx: &Context, name: &str) -> Result<ProgressEvent, AwsError> {
    let out = call(
        ctx,
        "GetFunctionConfiguration",
        json!({"FunctionName": name}),
    )?;
    Ok(ProgressEvent::success(name).attr("Arn", out["FunctionArn"].clone()))
}

fn function_create(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let p = &r.properties;
    let name = r.name_or_generated("FunctionName", 64);
    let mut input = json!({"FunctionName": name, "Code": code(p)});
    config(p, &mut input);
    for k in ["PackageType", "Architectures"] {
        if let Some(v) = p.get(k) {
            input[k] = v.clone();
        }
    }
    let t: Map<String, Value> = tags(p).into_iter().map(|(k, v)| (k, json!(v))).collect();
    if !t.is_empty() {
        input["Tags"] = json!(t);
    }
    call(ctx, "CreateFunction", input)?;
    if let Some(c) = p.get("ReservedConcurrentExecutions") {
        call(
            ctx,
            "PutFunctionConcurrency",
            json!({"FunctionName": name, "ReservedConcurrentExecutions": int(c)}),
        )?;
    }
    function_event(ctx, &name)
}

fn function_update(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let (p, prev, name) = (
        &r.properties,
        &r.previous_properties,
        r.physical_id.as_str(),
    );
    if p.get("Code") != prev.get("Code") {
        let mut input = code(p);
        input["FunctionName"] = json!(name);
        call(ctx, "UpdateFunctionCode", input)?;
    }
    if CONFIG.iter().any(|k| p.get(*k) != prev.get(*k)) {
        let mut input = json!({"FunctionName": name});
        config(p, &mut input);
        call(ctx, "UpdateFunctionConfiguration", input)?;
    }
    if p.get("ReservedConcurrentExecutions") != prev.get("ReservedConcurrentExecutions") {
        match p.get("ReservedConcurrentExecutions") {
            Some(c) => call(
                ctx,
                "PutFunctionConcurrency",
                json!({"FunctionName": name, "ReservedConcurrentExecutions": int(c)}),
            )?,
            None => call(
                ctx,
                "DeleteFunctionConcurrency",
                json!({"FunctionName": name}),
            )?,
        };
    }
    function_event(ctx, name)
}

fn function_delete(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    call(
        ctx,
        "DeleteFunction",
        json!({"FunctionName": r.physical_id}),
    )?;
    Ok(ProgressEvent::success(r.physical_id.clone()))
}

fn version_create(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let mut input = json!({"FunctionName": r.required_str("FunctionName")?});
    if let Some(d) = r.properties.get("Description") {
        input["Description"] = json!(value_text(d));
    }
    let out = call(ctx, "PublishVersion", input)?;
    let arn = value_text(&out["FunctionArn"]);
    Ok(ProgressEvent::success(arn.clone())
        .attr("FunctionArn", arn)
        .attr("Version", out["Version"].clone()))
}

fn version_delete(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let (function, version) = r
        .physical_id
        .rsplit_once(':')
        .unwrap_or((&r.physical_id, ""));
    call(
        ctx,
        "DeleteFunction",
        json!({"FunctionName": function, "Qualifier": version}),
    )?;
    Ok(ProgressEvent::success(r.physical_id.clone()))
}

fn alias_input(r: &ResourceRequest) -> Result<Value, AwsError> {
    let mut input = json!({
        "FunctionName": r.required_str("FunctionName")?,
        "Name": r.required_str("Name")?,
        "FunctionVersion": value_text(&r.properties["FunctionVersion"]),
    });
    if let Some(d) = r.properties.get("Description") {
        input["Description"] = json!(value_text(d));
    }
    if let Some(c) = r.properties.get("RoutingConfig") {
        input["RoutingConfig"] = json!({"AdditionalVersionWeights": c.get("AdditionalVersionWeights").and_then(Value::as_array).map(|a| a.iter().map(|w| (value_text(&w["FunctionVersion"]), w["FunctionWeight"].clone())).collect::<Map<String, Value>>()).unwrap_or_default()});
    }
    Ok(input)
}

fn alias_create(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let out = call(ctx, "CreateAlias", alias_input(r)?)?;
    let arn = value_text(&out["AliasArn"]);
    Ok(ProgressEvent::success(arn.clone()).attr("AliasArn", arn))
}

fn alias_update(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    call(ctx, "UpdateAlias", alias_input(r)?)?;
    Ok(ProgressEvent::success(r.physical_id.clone()).attr("AliasArn", r.physical_id.clone()))
}

fn alias_delete(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    call(
        ctx,
        "DeleteAlias",
        json!({"FunctionName": r.required_str("FunctionName")?, "Name": r.required_str("Name")?}),
    )?;
    Ok(ProgressEvent::success(r.physical_id.clone()))
}

fn permission_create(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let id = r.generated_name(100);
    let mut input = json!({"StatementId": id});
    for k in [
        "FunctionName",
        "Action",
        "Principal",
        "SourceArn",
        "SourceAccount",
        "EventSourceToken",
        "FunctionUrlAuthType",
        "PrincipalOrgID",
    ] {
        if let Some(v) = r.properties.get(k) {
            input[k] = json!(value_text(v));
        }
    }
    call(ctx, "AddPermission", input)?;
    Ok(ProgressEvent::success(id))
}

fn permission_delete(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    call(
        ctx,
        "RemovePermission",
        json!({"FunctionName": r.required_str("FunctionName")?, "StatementId": r.physical_id}),
    )?;
    Ok(ProgressEvent::success(r.physical_id.clone()))
}

const ESM: &[&str] = &[
    "FunctionName",
    "Enabled",
    "BatchSize",
    "FilterCriteria",
    "MaximumBatchingWindowInSeconds",
    "ParallelizationFactor",
    "DestinationConfig",
    "MaximumRecordAgeInSeconds",
    "BisectBatchOnFunctionError",
    "MaximumRetryAttempts",
    "TumblingWindowInSeconds",
    "FunctionResponseTypes",
    "ScalingConfig",
];

fn esm_fields(p: &Map<String, Value>, input: &mut Value) {
    for k in ESM {
        if let Some(v) = p.get(*k) {
            input[*k] = match *k {
                "FunctionName" => json!(value_text(v)),
                "Enabled" | "BisectBatchOnFunctionError" => json!(value_text(v) == "true"),
                "BatchSize"
                | "MaximumBatchingWindowInSeconds"
                | "ParallelizationFactor"
                | "MaximumRecordAgeInSeconds"
                | "MaximumRetryAttempts"
                | "TumblingWindowInSeconds" => int(v),
                _ => v.clone(),
            };
        }
    }
}

fn esm_create(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let mut input = json!({});
    esm_fields(&r.properties, &mut input);
    for k in ["EventSourceArn", "StartingPosition"] {
        if let Some(v) = r.properties.get(k) {
            input[k] = json!(value_text(v));
        }
    }
    let out = call(ctx, "CreateEventSourceMapping", input)?;
    let id = value_text(&out["UUID"]);
    Ok(ProgressEvent::success(id.clone()).attr("Id", id).attr(
        "EventSourceMappingArn",
        out.get("EventSourceMappingArn")
            .cloned()
            .unwrap_or(Value::Null),
    ))
}

fn esm_update(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let mut input = json!({"UUID": r.physical_id});
    esm_fields(&r.properties, &mut input);
    let out = call(ctx, "UpdateEventSourceMapping", input)?;
    Ok(ProgressEvent::success(r.physical_id.clone())
        .attr("Id", r.physical_id.clone())
        .attr(
            "EventSourceMappingArn",
            out.get("EventSourceMappingArn")
                .cloned()
                .unwrap_or(Value::Null),
        ))
}

fn esm_delete(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    call(
        ctx,
        "DeleteEventSourceMapping",
        json!({"UUID": r.physical_id}),
    )?;
    Ok(ProgressEvent::success(r.physical_id.clone()))
}

fn url_create(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let mut input = json!({
        "FunctionName": r.required_str("TargetFunctionArn")?,
        "AuthType": r.required_str("AuthType")?,
    });
    for k in ["Qualifier", "InvokeMode"] {
        if let Some(v) = r.properties.get(k) {
            input[k] = json!(value_text(v));
        }
    }
    if let Some(c) = r.properties.get("Cors") {
        input["Cors"] = c.clone();
    }
    let out = call(ctx, "CreateFunctionUrlConfig", input)?;
    let arn = value_text(&out["FunctionArn"]);
    Ok(ProgressEvent::success(arn.clone())
        .attr("FunctionArn", arn)
        .attr("FunctionUrl", out["FunctionUrl"].clone()))
}

fn url_delete(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let mut input = json!({"FunctionName": r.required_str("TargetFunctionArn")?});
    if let Some(q) = r.properties.get("Qualifier") {
        input["Qualifier"] = json!(value_text(q));
    }
    call(ctx, "DeleteFunctionUrlConfig", input)?;
    Ok(ProgressEvent::success(r.physical_id.clone()))
}

fn layer_create(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let p = &r.properties;
    let name = r.name_or_generated("LayerName", 64);
    let content = p.get("Content").cloned().unwrap_or_else(|| json!({}));
    let mut c = json!({});
    for k in ["S3Bucket", "S3Key", "S3ObjectVersion"] {
        if let Some(v) = content.get(k) {
            c[k] = json!(value_text(v));
        }
    }
    let mut input = json!({"LayerName": name, "Content": c});
    for k in ["Description", "LicenseInfo"] {
        if let Some(v) = p.get(k) {
            input[k] = json!(value_text(v));
        }
    }
    for k in ["CompatibleRuntimes", "CompatibleArchitectures"] {
        if let Some(v) = p.get(k) {
            input[k] = v.clone();
        }
    }
    let out = call(ctx, "PublishLayerVersion", input)?;
    let arn = value_text(&out["LayerVersionArn"]);
    Ok(ProgressEvent::success(arn.clone()).attr("LayerVersionArn", arn))
}

/// `arn:...:layer:<name>:<version>` → (name, version).
fn layer_version_of(arn: &str) -> Result<(String, u64), AwsError> {
    let bad = || AwsError::validation(format!("'{arn}' is not a layer version ARN"));
    let (head, version) = arn.rsplit_once(':').ok_or_else(bad)?;
    let name = head.rsplit_once(":layer:").ok_or_else(bad)?.1;
    Ok((name.to_string(), version.parse().map_err(|_| bad())?))
}

fn layer_delete(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let (name, version) = layer_version_of(&r.physical_id)?;
    call(
        ctx,
        "DeleteLayerVersion",
        json!({"LayerName": name, "VersionNumber": version}),
    )?;
    Ok(ProgressEvent::success(r.physical_id.clone()))
}

/// The id is `<layer version ARN>#<statement id>`.
fn layer_permission_create(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let layer = r.required_str("LayerVersionArn")?.to_string();
    let (name, version) = layer_version_of(&layer)?;
    let sid = r.generated_name(100);
    let mut input = json!({
        "LayerName": name,
        "VersionNumber": version,
        "StatementId": sid,
        "Action": r.required_str("Action")?,
        "Principal": r.required_str("Principal")?,
    });
    if let Some(org) = r.properties.get("OrganizationId") {
        input["OrganizationId"] = json!(value_text(org));
    }
    call(ctx, "AddLayerVersionPermission", input)?;
    Ok(ProgressEvent::success(format!("{layer}#{sid}")))
}

fn layer_permission_delete(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let Some((layer, sid)) = r.physical_id.split_once('#') else {
        return Ok(ProgressEvent::success(r.physical_id.clone()));
    };
    let (name, version) = layer_version_of(layer)?;
    // A layer version deleted first took its policy with it.
    let _ = call(
        ctx,
        "RemoveLayerVersionPermission",
        json!({"LayerName": name, "VersionNumber": version, "StatementId": sid}),
    );
    Ok(ProgressEvent::success(r.physical_id.clone()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn crc_of_a_known_string() {
        assert_eq!(super::crc32(b"123456789"), 0xCBF4_3926);
    }
}
