//! Functions, their code and configuration, versions and aliases.

use std::collections::BTreeMap;

use ministack_sdk::blobs;
use ministack_sdk::members::str_member as s;
use ministack_sdk::pagination;
use ministack_sdk::prelude::*;
use ministack_sdk::{HttpRequest, HttpResponse, ids};
use serde_json::{Map, Value, json};

use crate::code::{self, Code};
use crate::common::*;
use crate::exec;
use crate::layers;

/// Environment variables may take 4 KB in all (AWS's limit).
fn check_environment(env: &Value) -> Result<(), AwsError> {
    if let Some(vars) = env["Variables"].as_object() {
        let size: usize = vars
            .iter()
            .map(|(k, v)| k.len() + v.as_str().map_or(0, str::len))
            .sum();
        if size > 4096 {
            return Err(invalid(format!(
                "Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: {size}"
            )));
        }
        for k in vars.keys() {
            let ok = k.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !ok {
                return Err(invalid(format!(
                    "Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys or invalid characters: {k}"
                )));
            }
        }
    }
    Ok(())
}

/// Applies the configuration members of a Create/UpdateFunctionConfiguration
/// request onto a FunctionConfiguration.
fn apply_config(ctx: &Context, config: &mut Value, input: &Value) -> Result<Vec<String>, AwsError> {
    for k in ["Role", "Handler", "Description", "Runtime", "KMSKeyArn"] {
        if let Some(v) = s(input, k) {
            config[k] = json!(v);
        }
    }
    for k in ["Timeout", "MemorySize"] {
        if let Some(v) = input[k].as_u64() {
            config[k] = json!(v);
        }
    }
    if let Some(t) = input["Timeout"].as_u64()
        && t > 900
    {
        return Err(invalid(format!(
            "1 validation error detected: Value '{t}' at 'timeout' failed to satisfy constraint: Member must have value less than or equal to 900"
        )));
    }
    if !input["Environment"].is_null() {
        check_environment(&input["Environment"])?;
        let vars = input["Environment"]["Variables"].clone();
        config["Environment"] = json!({"Variables": if vars.is_null() { json!({}) } else { vars }});
    }
    if !input["VpcConfig"].is_null() {
        let v = &input["VpcConfig"];
        config["VpcConfig"] = json!({
            "SubnetIds": v["SubnetIds"].as_array().cloned().unwrap_or_default(),
            "SecurityGroupIds": v["SecurityGroupIds"].as_array().cloned().unwrap_or_default(),
            "Ipv6AllowedForDualStack": v["Ipv6AllowedForDualStack"].as_bool().unwrap_or(false),
            "VpcId": "",
        });
    }
    if !input["DeadLetterConfig"].is_null() {
        config["DeadLetterConfig"] = input["DeadLetterConfig"].clone();
    }
    if let Some(mode) = input["TracingConfig"]["Mode"].as_str() {
        config["TracingConfig"] = json!({"Mode": mode});
    }
    if let Some(size) = input["EphemeralStorage"]["Size"].as_u64() {
        if !(512..=10240).contains(&size) {
            return Err(invalid(format!(
                "1 validation error detected: Value '{size}' at 'ephemeralStorage.size' failed to satisfy constraint: Member must have value between 512 and 10240"
            )));
        }
        config["EphemeralStorage"] = json!({"Size": size});
    }
    if let Some(apply) = input["SnapStart"]["ApplyOn"].as_str() {
        config["SnapStart"] = json!({"ApplyOn": apply, "OptimizationStatus": if apply == "None" { "Off" } else { "On" }});
    }
    if !input["LoggingConfig"].is_null() {
        let mut l = config["LoggingConfig"].clone();
        if let Value::Object(m) = &input["LoggingConfig"] {
            for (k, v) in m {
                l[k] = v.clone();
            }
        }
        config["LoggingConfig"] = l;
    }
    if !input["FileSystemConfigs"].is_null() {
        config["FileSystemConfigs"] = input["FileSystemConfigs"].clone();
    }
    if !input["ImageConfig"].is_null() {
        config["ImageConfigResponse"] = json!({"ImageConfig": input["ImageConfig"].clone()});
    }
    let mut layer_blobs = Vec::new();
    if let Some(list) = input["Layers"].as_array() {
        if list.len() > 5 {
            return Err(invalid("Cannot reference more than 5 layers."));
        }
        let mut refs = Vec::new();
        for arn in list.iter().filter_map(Value::as_str) {
            let (blob, size) = layers::resolve_layer_arn(ctx, arn)?;
            layer_blobs.push(blob);
            refs.push(json!({"Arn": arn, "CodeSize": size}));
        }
        config["Layers"] = json!(refs);
    }
    Ok(layer_blobs)
}

fn default_config(ctx: &Context, name: &str) -> Value {
    json!({
        "FunctionName": name,
        "FunctionArn": function_arn(ctx, name),
        "Description": "",
        "Timeout": 3,
        "MemorySize": 128,
        "Version": LATEST,
        "TracingConfig": {"Mode": "PassThrough"},
        "PackageType": "Zip",
        "Architectures": ["x86_64"],
        "EphemeralStorage": {"Size": 512},
        "SnapStart": {"ApplyOn": "None", "OptimizationStatus": "Off"},
        "LoggingConfig": {"LogFormat": "Text", "LogGroup": format!("/aws/lambda/{name}")},
        "State": "Active",
        "LastUpdateStatus": "Successful",
    })
}

fn set_code(config: &mut Value, code: &Code) {
    config["CodeSha256"] = json!(code.sha256);
    config["CodeSize"] = json!(code.size);
    if let Some(uri) = &code.image_uri {
        config["PackageType"] = json!("Image");
        config.as_object_mut().map(|m| {
            m.remove("Runtime");
            m.remove("Handler")
        });
        let _ = uri;
    }
}

/// The view of a configuration right after a change: AWS reports the
/// transition, later reads see it done (the host prepared the code already).
fn in_transition(mut config: Value, created: bool) -> Value {
    if created {
        config["State"] = json!("Pending");
        config["StateReason"] = json!("The function is being created.");
        config["StateReasonCode"] = json!("Creating");
    } else {
        config["LastUpdateStatus"] = json!("InProgress");
        config["LastUpdateStatusReason"] = json!("The function is being created.");
        config["LastUpdateStatusReasonCode"] = json!("Creating");
    }
    config
}

fn new_code_token(blob: &str) -> Result<String, AwsError> {
    if blob.is_empty() {
        return Ok(String::new());
    }
    let token = ids::lower_alnum(32);
    CODE_LINKS.put(&token, &blob.to_string())?;
    Ok(token)
}

pub fn create_function(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let name_in = s(&input, "FunctionName").unwrap_or_default();
    let r = function_ref(ctx, name_in, None)?;
    if r.qualifier.is_some() {
        return Err(invalid(
            "FunctionName cannot contain a qualifier when creating a function.",
        ));
    }
    let name = r.name;
    let package = s(&input, "PackageType").unwrap_or("Zip");
    if package == "Zip" && (s(&input, "Runtime").is_none() || s(&input, "Handler").is_none()) {
        return Err(invalid(
            "Runtime and Handler are mandatory parameters for functions created with deployment packages.",
        ));
    }
    if package == "Image" && input["Code"]["ImageUri"].is_null() {
        return Err(invalid(
            "Please provide ImageUri when PackageType is Image.",
        ));
    }
    if FUNCTIONS.contains(&name) {
        return Err(conflict(format!("Function already exist: {name}")));
    }
    let code = code::load(ctx, &input["Code"])?;
    // The S3 fetch ended the unit: check again.
    if FUNCTIONS.contains(&name) {
        return Err(conflict(format!("Function already exist: {name}")));
    }
    let mut config = default_config(ctx, &name);
    let layer_blobs = apply_config(ctx, &mut config, &input)?;
    set_code(&mut config, &code);
    if let Some(arch) = input["Architectures"].as_array() {
        config["Architectures"] = json!(arch);
    }
    config["LastModified"] = json!(last_modified());
    config["RevisionId"] = json!(revision_id());
    let token = new_code_token(&code.blob)?;
    let mut f = Function {
        config,
        code_blob: code.blob,
        layer_blobs,
        code_token: token,
        next_version: 1,
        code_signing_config: s(&input, "CodeSigningConfigArn").map(str::to_string),
        created: ministack_sdk::time::now(),
        ..Function::default()
    };
    if let Some(tags) = input["Tags"].as_object() {
        let tags: BTreeMap<String, String> = tags
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
            .collect();
        TAGS.put(&function_arn(ctx, &name), &tags)?;
    }
    let out = if input["Publish"].as_bool() == Some(true) {
        let v = publish(ctx, &name, &mut f, None)?;
        FUNCTIONS.put(&name, &f)?;
        v
    } else {
        FUNCTIONS.put(&name, &f)?;
        f.config.clone()
    };
    Ok(in_transition(out, true))
}

/// Publishes `$LATEST` as a new version (or returns the newest version when
/// nothing changed since, as AWS does).
fn publish(
    ctx: &Context,
    name: &str,
    f: &mut Function,
    description: Option<&str>,
) -> Result<Value, AwsError> {
    if f.next_version > 1 {
        let last = f.next_version - 1;
        if let Some(v) = VERSIONS.get(&keys::join(&[name, &keys::u64(last)]))?
            && same_code_and_config(&v.config, &f.config)
        {
            return Ok(v.config);
        }
    }
    let n = f.next_version;
    f.next_version += 1;
    let mut config = f.config.clone();
    config["Version"] = json!(n.to_string());
    config["FunctionArn"] = json!(format!("{}:{n}", function_arn(ctx, name)));
    config["RevisionId"] = json!(revision_id());
    config["LastModified"] = json!(last_modified());
    if let Some(d) = description {
        config["Description"] = json!(d);
    }
    VERSIONS.put(
        &keys::join(&[name, &keys::u64(n)]),
        &Version {
            config: config.clone(),
            code_blob: f.code_blob.clone(),
            layer_blobs: f.layer_blobs.clone(),
            code_token: f.code_token.clone(),
        },
    )?;
    Ok(config)
}

fn same_code_and_config(a: &Value, b: &Value) -> bool {
    let strip = |v: &Value| {
        let mut v = v.clone();
        if let Value::Object(m) = &mut v {
            for k in [
                "Version",
                "FunctionArn",
                "RevisionId",
                "LastModified",
                "Description",
                "State",
                "LastUpdateStatus",
            ] {
                m.remove(k);
            }
        }
        v
    };
    strip(a) == strip(b)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FunctionQ {
    function_name: String,
    #[serde(default)]
    qualifier: Option<String>,
}

/// Configuration of a function at a qualifier (an alias resolves to its
/// primary version, as GetFunction does).
fn config_at(ctx: &Context, r: &FunctionRef) -> Result<(Function, Resolved), AwsError> {
    let f = load_function(ctx, &r.name)?;
    let q = r.qualifier.clone().unwrap_or_else(|| LATEST.into());
    let version = match alias_of(ctx, &r.name, &q)? {
        Some(alias) => alias["FunctionVersion"]
            .as_str()
            .unwrap_or(LATEST)
            .to_string(),
        None => q,
    };
    let resolved = resolve_version(ctx, &f, &r.name, &version)?;
    Ok((f, resolved))
}

pub fn get_function_configuration(ctx: &Context, input: FunctionQ) -> Result<Value, AwsError> {
    let r = function_ref(ctx, &input.function_name, input.qualifier.as_deref())?;
    Ok(config_at(ctx, &r)?.1.config)
}

pub fn get_function(ctx: &Context, input: FunctionQ) -> Result<Value, AwsError> {
    let r = function_ref(ctx, &input.function_name, input.qualifier.as_deref())?;
    let (f, resolved) = config_at(ctx, &r)?;
    let token = if resolved.version == LATEST {
        f.code_token.clone()
    } else {
        VERSIONS
            .get(&keys::join(&[
                &r.name,
                &keys::u64(resolved.version.parse().unwrap_or(0)),
            ]))?
            .map(|v| v.code_token)
            .unwrap_or_default()
    };
    let code = if resolved.config["PackageType"] == "Image" {
        json!({"RepositoryType": "ECR", "ImageUri": f.config["ImageConfigResponse"]["ImageUri"].clone()})
    } else {
        json!({
            "RepositoryType": "S3",
            "Location": format!("{}/_ministack/lambda-code/{token}.zip", ctx.endpoint.trim_end_matches('/')),
        })
    };
    let mut out = json!({"Configuration": resolved.config, "Code": compact(code)});
    let tags = TAGS.get(&function_arn(ctx, &r.name))?.unwrap_or_default();
    out["Tags"] = json!(tags);
    if let Some(n) = f.reserved {
        out["Concurrency"] = json!({"ReservedConcurrentExecutions": n});
    }
    Ok(out)
}

/// Pages a sorted list by an opaque marker holding the last key returned.
pub fn paginate(
    items: Vec<(String, Value)>,
    marker: Option<&str>,
    max_items: Option<u64>,
    default_max: usize,
) -> Result<(Vec<Value>, Option<String>), AwsError> {
    let after = match marker.filter(|m| !m.is_empty()) {
        Some(m) => Some(pagination::decode(m).ok_or_else(|| invalid("Invalid marker"))?),
        None => None,
    };
    let max = max_items.map_or(default_max, |n| n as usize).max(1);
    let mut out = Vec::new();
    let mut next = None;
    for (k, v) in items
        .into_iter()
        .filter(|(k, _)| after.as_ref().is_none_or(|a| k > a))
    {
        if out.len() == max {
            next = Some(pagination::encode(&k_prev(&out)));
            break;
        }
        out.push((k, v));
    }
    fn k_prev(out: &[(String, Value)]) -> String {
        out.last().map(|(k, _)| k.clone()).unwrap_or_default()
    }
    Ok((out.into_iter().map(|(_, v)| v).collect(), next))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListFunctionsIn {
    #[serde(default)]
    function_version: Option<String>,
    #[serde(default)]
    marker: Option<String>,
    #[serde(default)]
    max_items: Option<u64>,
}

pub fn list_functions(_ctx: &Context, input: ListFunctionsIn) -> Result<Value, AwsError> {
    let all = input.function_version.as_deref() == Some("ALL");
    let mut items = Vec::new();
    for (name, f) in FUNCTIONS.scan(&Scan::all())? {
        items.push((keys::join(&[&name, ""]), f.config));
        if all {
            for (k, v) in VERSIONS.scan(&Scan::prefix(keys::prefix(&[&name])))? {
                items.push((keys::join(&[&name, keys::last(&k)]), v.config));
            }
        }
    }
    let (functions, next) = paginate(items, input.marker.as_deref(), input.max_items, 50)?;
    let mut out = json!({"Functions": functions});
    if let Some(n) = next {
        out["NextMarker"] = json!(n);
    }
    Ok(out)
}

pub fn delete_function(ctx: &Context, input: FunctionQ) -> Result<Value, AwsError> {
    let r = function_ref(ctx, &input.function_name, input.qualifier.as_deref())?;
    let f = load_function(ctx, &r.name)?;
    let name = r.name.as_str();
    if let Some(q) = r.qualifier.as_deref() {
        if q == LATEST {
            return Err(invalid(
                "$LATEST version cannot be deleted without deleting the function.",
            ));
        }
        if !is_version_number(q) {
            return Err(invalid(format!(
                "Deletion of aliases is not supported. Please use the DeleteAlias API. Qualifier: {q}"
            )));
        }
        let key = keys::join(&[name, &keys::u64(q.parse().unwrap_or(0))]);
        let v = VERSIONS
            .get(&key)?
            .ok_or_else(|| function_not_found(&qualified_arn(&function_arn(ctx, name), Some(q))))?;
        let users: Vec<String> = ALIASES
            .scan(&Scan::prefix(keys::prefix(&[name])))?
            .into_iter()
            .filter(|(_, a)| {
                a["FunctionVersion"].as_str() == Some(q)
                    || a["RoutingConfig"]["AdditionalVersionWeights"]
                        .get(q)
                        .is_some()
            })
            .map(|(k, _)| keys::last(&k).to_string())
            .collect();
        if !users.is_empty() {
            return Err(conflict(format!(
                "Unable to delete version because the following aliases reference it: {users:?}"
            )));
        }
        VERSIONS.delete(&key);
        release_unused(&[v.code_blob], &f, name)?;
        return Ok(json!({"StatusCode": 204}));
    }
    let mut blobs_used = vec![f.code_blob.clone()];
    blobs_used.extend(
        VERSIONS
            .values(&keys::prefix(&[name]))?
            .into_iter()
            .map(|v| v.code_blob),
    );
    blobs_used.sort();
    blobs_used.dedup();
    for b in blobs_used.iter().filter(|b| !b.is_empty()) {
        blobs::release(b);
    }
    let p = keys::prefix(&[name]);
    VERSIONS.delete_range(&Scan::prefix(p.clone()));
    ALIASES.delete_range(&Scan::prefix(p.clone()));
    POLICIES.delete_range(&Scan::prefix(p.clone()));
    crate::settings::forget_function(ctx, name)?;
    crate::urls::forget_function(ctx, name)?;
    TAGS.delete(&function_arn(ctx, name));
    FUNCTIONS.delete(name);
    exec::release(&function_arn(ctx, name));
    Ok(json!({"StatusCode": 204}))
}

/// Releases code blobs that no remaining version or `$LATEST` uses.
fn release_unused(candidates: &[String], f: &Function, name: &str) -> Result<(), AwsError> {
    let versions = VERSIONS.values(&keys::prefix(&[name]))?;
    for b in candidates.iter().filter(|b| !b.is_empty()) {
        if *b != f.code_blob && versions.iter().all(|v| v.code_blob != *b) {
            blobs::release(b);
        }
    }
    Ok(())
}

pub fn update_function_code(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let r = function_ref(ctx, s(&input, "FunctionName").unwrap_or_default(), None)?;
    let name = r.name.clone();
    let f = load_function(ctx, &name)?;
    check_revision(s(&input, "RevisionId"), &f.config)?;
    let is_image = f.config["PackageType"] == "Image";
    if is_image && input["ImageUri"].is_null() {
        return Err(invalid(
            "Please provide ImageUri when updating a function with packageType Image.",
        ));
    }
    if !is_image && !input["ImageUri"].is_null() {
        return Err(invalid(
            "Please don't provide ImageUri when updating a function with packageType Zip.",
        ));
    }
    let code = code::load(ctx, &input)?;
    // Loading from S3 ended the unit: read the function again.
    let mut f = load_function(ctx, &name)?;
    if input["DryRun"].as_bool() == Some(true) {
        let mut c = f.config.clone();
        set_code(&mut c, &code);
        return Ok(c);
    }
    let old_blob = std::mem::take(&mut f.code_blob);
    set_code(&mut f.config, &code);
    if let Some(uri) = &code.image_uri {
        f.config["ImageConfigResponse"]["ImageUri"] = json!(uri);
    }
    if let Some(arch) = input["Architectures"].as_array() {
        f.config["Architectures"] = json!(arch);
    }
    f.code_blob = code.blob.clone();
    f.code_token = new_code_token(&code.blob)?;
    f.config["LastModified"] = json!(last_modified());
    f.config["RevisionId"] = json!(revision_id());
    let out = if input["Publish"].as_bool() == Some(true) {
        publish(ctx, &name, &mut f, None)?
    } else {
        f.config.clone()
    };
    FUNCTIONS.put(&name, &f)?;
    release_unused(&[old_blob], &f, &name)?;
    exec::release(&function_arn(ctx, &name));
    Ok(in_transition(out, false))
}

pub fn update_function_configuration(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let r = function_ref(ctx, s(&input, "FunctionName").unwrap_or_default(), None)?;
    let mut f = load_function(ctx, &r.name)?;
    check_revision(s(&input, "RevisionId"), &f.config)?;
    let layer_blobs = apply_config(ctx, &mut f.config, &input)?;
    if !input["Layers"].is_null() {
        f.layer_blobs = layer_blobs;
    }
    f.config["LastModified"] = json!(last_modified());
    f.config["RevisionId"] = json!(revision_id());
    FUNCTIONS.put(&r.name, &f)?;
    exec::release(&function_arn(ctx, &r.name));
    Ok(in_transition(f.config, false))
}

pub fn publish_version(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let r = function_ref(ctx, s(&input, "FunctionName").unwrap_or_default(), None)?;
    let mut f = load_function(ctx, &r.name)?;
    check_revision(s(&input, "RevisionId"), &f.config)?;
    if let Some(sha) = s(&input, "CodeSha256")
        && Some(sha) != f.config["CodeSha256"].as_str()
    {
        return Err(invalid(format!(
            "CodeSHA256 ({sha}) is different from current CodeSHA256 in $LATEST ({}). Please try again with the CodeSHA256 in $LATEST.",
            f.config["CodeSha256"].as_str().unwrap_or_default()
        )));
    }
    let v = publish(ctx, &r.name, &mut f, s(&input, "Description"))?;
    FUNCTIONS.put(&r.name, &f)?;
    Ok(v)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListVersionsIn {
    function_name: String,
    #[serde(default)]
    marker: Option<String>,
    #[serde(default)]
    max_items: Option<u64>,
}

pub fn list_versions_by_function(ctx: &Context, input: ListVersionsIn) -> Result<Value, AwsError> {
    let r = function_ref(ctx, &input.function_name, None)?;
    let f = load_function(ctx, &r.name)?;
    let mut items = vec![(String::new(), f.config)];
    for (k, v) in VERSIONS.scan(&Scan::prefix(keys::prefix(&[&r.name])))? {
        items.push((keys::last(&k).to_string(), v.config));
    }
    let (versions, next) = paginate(items, input.marker.as_deref(), input.max_items, 50)?;
    let mut out = json!({"Versions": versions});
    if let Some(n) = next {
        out["NextMarker"] = json!(n);
    }
    Ok(out)
}

// ---- aliases ----

fn alias_name_ok(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && !is_version_number(name)
        && name != LATEST
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn check_routing(
    ctx: &Context,
    f: &Function,
    name: &str,
    primary: &str,
    routing: &Value,
) -> Result<(), AwsError> {
    let Some(weights) = routing["AdditionalVersionWeights"].as_object() else {
        return Ok(());
    };
    if weights.len() > 1 {
        return Err(invalid(
            "Number of items in AdditionalVersionWeights cannot be greater than 1",
        ));
    }
    for (v, w) in weights {
        let w = w.as_f64().unwrap_or(-1.0);
        if !(0.0..=1.0).contains(&w) {
            return Err(validation(format!(
                "1 validation error detected: Value '{w}' at 'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map value must satisfy constraint: [Member must have value less than or equal to 1.0, Member must have value greater than or equal to 0.0]"
            )));
        }
        if v == primary {
            return Err(invalid(format!(
                "Invalid function version {v}. Function version {v} is already included in routing configuration."
            )));
        }
        if primary == LATEST || !is_version_number(v) {
            return Err(invalid(
                "$LATEST is not supported for an alias pointing to more than 1 version",
            ));
        }
        resolve_version(ctx, f, name, v)?;
    }
    Ok(())
}

pub fn create_alias(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let r = function_ref(ctx, s(&input, "FunctionName").unwrap_or_default(), None)?;
    let f = load_function(ctx, &r.name)?;
    let alias = s(&input, "Name").unwrap_or_default();
    if !alias_name_ok(alias) {
        return Err(validation(format!(
            "1 validation error detected: Value '{alias}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)"
        )));
    }
    let version = s(&input, "FunctionVersion").unwrap_or(LATEST);
    resolve_version(ctx, &f, &r.name, version)?;
    check_routing(ctx, &f, &r.name, version, &input["RoutingConfig"])?;
    let key = keys::join(&[&r.name, alias]);
    let arn = format!("{}:{alias}", function_arn(ctx, &r.name));
    if ALIASES.contains(&key) {
        return Err(conflict(format!("Alias already exists: {arn}")));
    }
    let mut a = json!({
        "AliasArn": arn,
        "Name": alias,
        "FunctionVersion": version,
        "Description": s(&input, "Description").unwrap_or(""),
        "RevisionId": revision_id(),
    });
    if input["RoutingConfig"].is_object() {
        a["RoutingConfig"] = input["RoutingConfig"].clone();
    }
    ALIASES.put(&key, &a)?;
    Ok(a)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AliasQ {
    function_name: String,
    name: String,
}

fn load_alias(
    ctx: &Context,
    function_name: &str,
    alias: &str,
) -> Result<(FunctionRef, Value), AwsError> {
    let r = function_ref(ctx, function_name, None)?;
    load_function(ctx, &r.name)?;
    let a = ALIASES
        .get(&keys::join(&[&r.name, alias]))?
        .ok_or_else(|| {
            not_found(format!(
                "Cannot find alias arn: {}:{alias}",
                function_arn(ctx, &r.name)
            ))
        })?;
    Ok((r, a))
}

pub fn get_alias(ctx: &Context, input: AliasQ) -> Result<Value, AwsError> {
    Ok(load_alias(ctx, &input.function_name, &input.name)?.1)
}

pub fn delete_alias(ctx: &Context, input: AliasQ) -> Result<Empty, AwsError> {
    let r = function_ref(ctx, &input.function_name, None)?;
    load_function(ctx, &r.name)?;
    ALIASES.delete(&keys::join(&[&r.name, &input.name]));
    POLICIES.delete(&keys::join(&[&r.name, &input.name]));
    Ok(Empty {})
}

pub fn update_alias(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let (r, mut a) = load_alias(
        ctx,
        s(&input, "FunctionName").unwrap_or_default(),
        s(&input, "Name").unwrap_or_default(),
    )?;
    check_revision(s(&input, "RevisionId"), &a)?;
    let f = load_function(ctx, &r.name)?;
    if let Some(v) = s(&input, "FunctionVersion") {
        resolve_version(ctx, &f, &r.name, v)?;
        a["FunctionVersion"] = json!(v);
    }
    if let Some(d) = s(&input, "Description") {
        a["Description"] = json!(d);
    }
    if input["RoutingConfig"].is_object() {
        a["RoutingConfig"] = input["RoutingConfig"].clone();
    }
    let primary = a["FunctionVersion"].as_str().unwrap_or(LATEST).to_string();
    check_routing(ctx, &f, &r.name, &primary, &a["RoutingConfig"])?;
    if let Value::Object(m) = &mut a
        && m.get("RoutingConfig").is_some_and(|rc| {
            rc["AdditionalVersionWeights"]
                .as_object()
                .is_none_or(Map::is_empty)
        })
    {
        m.remove("RoutingConfig");
    }
    a["RevisionId"] = json!(revision_id());
    ALIASES.put(
        &keys::join(&[&r.name, s(&a, "Name").unwrap_or_default()]),
        &a,
    )?;
    Ok(a)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListAliasesIn {
    function_name: String,
    #[serde(default)]
    function_version: Option<String>,
    #[serde(default)]
    marker: Option<String>,
    #[serde(default)]
    max_items: Option<u64>,
}

pub fn list_aliases(ctx: &Context, input: ListAliasesIn) -> Result<Value, AwsError> {
    let r = function_ref(ctx, &input.function_name, None)?;
    load_function(ctx, &r.name)?;
    let items: Vec<(String, Value)> = ALIASES
        .scan(&Scan::prefix(keys::prefix(&[&r.name])))?
        .into_iter()
        .filter(|(_, a)| {
            input
                .function_version
                .as_deref()
                .is_none_or(|v| a["FunctionVersion"].as_str() == Some(v))
        })
        .map(|(k, a)| (keys::last(&k).to_string(), a))
        .collect();
    let (aliases, next) = paginate(items, input.marker.as_deref(), input.max_items, 50)?;
    let mut out = json!({"Aliases": aliases});
    if let Some(n) = next {
        out["NextMarker"] = json!(n);
    }
    Ok(out)
}

/// `GET /_ministack/lambda-code/<token>.zip`: the code zip GetFunction's
/// `Code.Location` points at (unsigned, like AWS's presigned S3 URL).
pub fn serve_code(req: &HttpRequest) -> HttpResponse {
    let token = req
        .path
        .trim_start_matches("/_ministack/lambda-code/")
        .trim_end_matches(".zip");
    let Ok(Some(blob)) = CODE_LINKS.get(token) else {
        return HttpResponse::not_found();
    };
    let Some(info) = blobs::stat(&blob) else {
        return HttpResponse::not_found();
    };
    let mut body = Vec::with_capacity(info.size as usize);
    let mut offset = 0u64;
    while offset < info.size {
        match blobs::read(&blob, offset, 4 << 20) {
            Ok(chunk) if !chunk.is_empty() => {
                offset += chunk.len() as u64;
                body.extend_from_slice(&chunk);
            }
            _ => break,
        }
    }
    HttpResponse::new(200, "application/zip", body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paginates_by_marker() {
        let items: Vec<(String, Value)> = (0..5).map(|i| (format!("k{i}"), json!(i))).collect();
        let (page, next) = paginate(items.clone(), None, Some(2), 50).unwrap();
        assert_eq!(page, vec![json!(0), json!(1)]);
        let (page, next) = paginate(items.clone(), next.as_deref(), Some(2), 50).unwrap();
        assert_eq!(page, vec![json!(2), json!(3)]);
        let (page, next) = paginate(items, next.as_deref(), Some(2), 50).unwrap();
        assert_eq!((page, next), (vec![json!(4)], None));
    }

    #[test]
    fn environment_limits() {
        assert!(check_environment(&json!({"Variables": {"A": "b"}})).is_ok());
        assert!(check_environment(&json!({"Variables": {"1A": "b"}})).is_err());
        let big = "x".repeat(5000);
        assert!(check_environment(&json!({"Variables": {"A": big}})).is_err());
    }

    #[test]
    fn republishing_unchanged_code_is_detected() {
        let a = json!({"CodeSha256": "x", "Version": "1", "RevisionId": "a"});
        let b = json!({"CodeSha256": "x", "Version": "$LATEST", "RevisionId": "b"});
        assert!(same_code_and_config(&a, &b));
        let c = json!({"CodeSha256": "y", "Version": "$LATEST"});
        assert!(!same_code_and_config(&a, &c));
    }
}
