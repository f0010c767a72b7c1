//! Layers and layer versions, with their permissions.

use ministack_sdk::prelude::*;
use serde_json::{Value, json};

use crate::code;
use crate::common::*;
use crate::functions::paginate;
use crate::policy;

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct LayerVersion {
    /// GetLayerVersion's answer, Content.Location aside.
    pub info: Value,
    pub blob: String,
    pub code_token: String,
    #[serde(default)]
    pub statements: Vec<Value>,
    #[serde(default)]
    pub revision: String,
}

/// (layer, version as keys::u64) -> LayerVersion.
pub const LAYER_VERSIONS: Table<LayerVersion> = Table::new("layer-versions");
/// Layer name -> the next version number (numbers are never reused).
pub const LAYER_NEXT: Table<u64> = Table::new("layer-next");

fn layer_arn(ctx: &Context, name: &str) -> String {
    ctx.arn("lambda", &format!("layer:{name}")).to_string()
}

fn check_layer_name(name: &str) -> Result<(), AwsError> {
    let ok = !name.is_empty()
        && name.len() <= 140
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(validation(format!(
            "1 validation error detected: Value '{name}' at 'layerName' failed to satisfy constraint: Member must satisfy regular expression pattern: (arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\\d{{12}}:layer:[a-zA-Z0-9-_]+)|[a-zA-Z0-9-_]+"
        )))
    }
}

/// A LayerName member may be a name or a layer ARN.
fn layer_name(input: &str) -> String {
    match input.rsplit_once(":layer:") {
        Some((_, name)) => name.to_string(),
        None => input.to_string(),
    }
}

fn with_location(ctx: &Context, lv: &LayerVersion) -> Value {
    let mut v = lv.info.clone();
    v["Content"]["Location"] = json!(format!(
        "{}/_ministack/lambda-code/{}.zip",
        ctx.endpoint.trim_end_matches('/'),
        lv.code_token
    ));
    v
}

fn version_not_found() -> AwsError {
    not_found("The resource you requested does not exist.")
}

/// The blob and size of a layer version named by ARN (this account and region).
pub fn resolve_layer_arn(ctx: &Context, arn: &str) -> Result<(String, u64), AwsError> {
    let bad = || invalid(format!("Layer version {arn} does not exist."));
    let parsed = Arn::parse(arn).ok_or_else(bad)?;
    let rest = parsed.resource.strip_prefix("layer:").ok_or_else(bad)?;
    let (name, version) = rest.rsplit_once(':').ok_or_else(bad)?;
    let version: u64 = version.parse().map_err(|_| bad())?;
    if parsed.account != ctx.account || parsed.region != ctx.region {
        return Err(bad());
    }
    let lv = LAYER_VERSIONS
        .get(&keys::join(&[name, &keys::u64(version)]))?
        .ok_or_else(bad)?;
    Ok((
        lv.blob,
        lv.info["Content"]["CodeSize"].as_u64().unwrap_or(0),
    ))
}

pub fn publish_layer_version(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let name = layer_name(input["LayerName"].as_str().unwrap_or_default());
    check_layer_name(&name)?;
    if input["Content"]["ImageUri"].is_string() {
        return Err(invalid(
            "Layers take a zip: provide ZipFile or S3Bucket and S3Key.",
        ));
    }
    let c = code::load(ctx, &input["Content"])?;
    let n = LAYER_NEXT.get(&name)?.unwrap_or(1);
    LAYER_NEXT.put(&name, &(n + 1))?;
    let arn = layer_arn(ctx, &name);
    let mut info = json!({
        "Content": {"CodeSha256": c.sha256, "CodeSize": c.size},
        "LayerArn": arn,
        "LayerVersionArn": format!("{arn}:{n}"),
        "Description": input["Description"].as_str().unwrap_or(""),
        "CreatedDate": last_modified(),
        "Version": n,
    });
    for k in [
        "CompatibleRuntimes",
        "LicenseInfo",
        "CompatibleArchitectures",
    ] {
        if !input[k].is_null() {
            info[k] = input[k].clone();
        }
    }
    let token = ministack_sdk::ids::lower_alnum(32);
    CODE_LINKS.put(&token, &c.blob)?;
    let lv = LayerVersion {
        info,
        blob: c.blob,
        code_token: token,
        statements: Vec::new(),
        revision: revision_id(),
    };
    LAYER_VERSIONS.put(&keys::join(&[&name, &keys::u64(n)]), &lv)?;
    Ok(with_location(ctx, &lv))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LayerVersionQ {
    layer_name: String,
    version_number: u64,
}

fn load_version(name: &str, n: u64) -> Result<LayerVersion, AwsError> {
    LAYER_VERSIONS
        .get(&keys::join(&[name, &keys::u64(n)]))?
        .ok_or_else(version_not_found)
}

pub fn get_layer_version(ctx: &Context, input: LayerVersionQ) -> Result<Value, AwsError> {
    let name = layer_name(&input.layer_name);
    Ok(with_location(
        ctx,
        &load_version(&name, input.version_number)?,
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ByArn {
    arn: String,
}

pub fn get_layer_version_by_arn(ctx: &Context, input: ByArn) -> Result<Value, AwsError> {
    let bad = || {
        validation(format!(
            "1 validation error detected: Value '{}' at 'arn' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\\d{{12}}:layer:[a-zA-Z0-9-_]+:[0-9]+",
            input.arn
        ))
    };
    let parsed = Arn::parse(&input.arn).ok_or_else(bad)?;
    let rest = parsed.resource.strip_prefix("layer:").ok_or_else(bad)?;
    let (name, v) = rest.rsplit_once(':').ok_or_else(bad)?;
    let n: u64 = v.parse().map_err(|_| bad())?;
    if parsed.account != ctx.account || parsed.region != ctx.region {
        return Err(version_not_found());
    }
    Ok(with_location(ctx, &load_version(name, n)?))
}

pub fn delete_layer_version(_ctx: &Context, input: LayerVersionQ) -> Result<Empty, AwsError> {
    let name = layer_name(&input.layer_name);
    let key = keys::join(&[&name, &keys::u64(input.version_number)]);
    // Functions keep using a deleted version's code (AWS keeps a copy for
    // them), so the blob stays; deleting is idempotent.
    LAYER_VERSIONS.delete(&key);
    Ok(Empty {})
}

fn list_item(lv: &LayerVersion) -> Value {
    let mut v = lv.info.clone();
    if let Value::Object(m) = &mut v {
        m.remove("Content");
        m.remove("LayerArn");
    }
    v
}

fn compatible(lv: &LayerVersion, runtime: Option<&str>, arch: Option<&str>) -> bool {
    let has = |k: &str, want: Option<&str>| {
        want.is_none_or(|w| {
            lv.info[k]
                .as_array()
                .is_some_and(|l| l.iter().any(|x| x.as_str() == Some(w)))
        })
    };
    has("CompatibleRuntimes", runtime) && has("CompatibleArchitectures", arch)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListLayersIn {
    #[serde(default)]
    layer_name: Option<String>,
    #[serde(default)]
    compatible_runtime: Option<String>,
    #[serde(default)]
    compatible_architecture: Option<String>,
    #[serde(default)]
    marker: Option<String>,
    #[serde(default)]
    max_items: Option<u64>,
}

pub fn list_layers(ctx: &Context, input: ListLayersIn) -> Result<Value, AwsError> {
    let mut latest: std::collections::BTreeMap<String, LayerVersion> = Default::default();
    for (k, lv) in LAYER_VERSIONS.scan(&Scan::all())? {
        if !compatible(
            &lv,
            input.compatible_runtime.as_deref(),
            input.compatible_architecture.as_deref(),
        ) {
            continue;
        }
        let name = keys::split(&k)[0].to_string();
        latest.insert(name, lv);
    }
    let items = latest
        .into_iter()
        .map(|(name, lv)| {
            let v = json!({
                "LayerName": name,
                "LayerArn": layer_arn(ctx, &name),
                "LatestMatchingVersion": list_item(&lv),
            });
            (name, v)
        })
        .collect();
    let (layers, next) = paginate(items, input.marker.as_deref(), input.max_items, 50)?;
    let mut out = json!({"Layers": layers});
    if let Some(n) = next {
        out["NextMarker"] = json!(n);
    }
    Ok(out)
}

pub fn list_layer_versions(_ctx: &Context, input: ListLayersIn) -> Result<Value, AwsError> {
    let name = layer_name(input.layer_name.as_deref().unwrap_or_default());
    let mut items: Vec<(String, Value)> = LAYER_VERSIONS
        .scan(&Scan::prefix(keys::prefix(&[&name])))?
        .into_iter()
        .filter(|(_, lv)| {
            compatible(
                lv,
                input.compatible_runtime.as_deref(),
                input.compatible_architecture.as_deref(),
            )
        })
        .map(|(k, lv)| {
            (
                keys::u64_desc(keys::parse_u64(keys::last(&k), false).unwrap_or(0)),
                list_item(&lv),
            )
        })
        .collect();
    // Newest first, as AWS lists them.
    items.sort_by(|a, b| a.0.cmp(&b.0));
    let (versions, next) = paginate(items, input.marker.as_deref(), input.max_items, 50)?;
    let mut out = json!({"LayerVersions": versions});
    if let Some(n) = next {
        out["NextMarker"] = json!(n);
    }
    Ok(out)
}

pub fn add_layer_version_permission(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let name = layer_name(input["LayerName"].as_str().unwrap_or_default());
    let n = input["VersionNumber"].as_u64().unwrap_or(0);
    let key = keys::join(&[&name, &keys::u64(n)]);
    let mut lv = load_version(&name, n)?;
    if let Some(r) = input["RevisionId"].as_str()
        && r != lv.revision
    {
        return Err(precondition_failed());
    }
    let sid = input["StatementId"].as_str().unwrap_or_default();
    if lv.statements.iter().any(|s| s["Sid"] == sid) {
        return Err(conflict(format!(
            "The statement id ({sid}) provided already exists. Please provide a new statement id, or remove the existing statement."
        )));
    }
    let principal = input["Principal"].as_str().unwrap_or("*");
    let mut st = json!({
        "Sid": sid,
        "Effect": "Allow",
        "Principal": if principal == "*" { json!("*") } else { json!({"AWS": policy::aws_principal(ctx, principal)}) },
        "Action": input["Action"].as_str().unwrap_or("lambda:GetLayerVersion"),
        "Resource": lv.info["LayerVersionArn"].clone(),
    });
    if let Some(org) = input["OrganizationId"].as_str() {
        st["Condition"] = json!({"StringEquals": {"aws:PrincipalOrgID": org}});
    }
    lv.statements.push(st.clone());
    lv.revision = revision_id();
    LAYER_VERSIONS.put(&key, &lv)?;
    Ok(json!({"Statement": st.to_string(), "RevisionId": lv.revision}))
}

pub fn get_layer_version_policy(_ctx: &Context, input: LayerVersionQ) -> Result<Value, AwsError> {
    let name = layer_name(&input.layer_name);
    let lv = load_version(&name, input.version_number)?;
    if lv.statements.is_empty() {
        return Err(not_found(
            "No policy is associated with the given resource.",
        ));
    }
    let doc = json!({"Version": "2012-10-17", "Id": "default", "Statement": lv.statements});
    Ok(json!({"Policy": doc.to_string(), "RevisionId": lv.revision}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RemoveLayerPermIn {
    layer_name: String,
    version_number: u64,
    statement_id: String,
    #[serde(default)]
    revision_id: Option<String>,
}

pub fn remove_layer_version_permission(
    _ctx: &Context,
    input: RemoveLayerPermIn,
) -> Result<Empty, AwsError> {
    let name = layer_name(&input.layer_name);
    let key = keys::join(&[&name, &keys::u64(input.version_number)]);
    let mut lv = load_version(&name, input.version_number)?;
    if input
        .revision_id
        .as_deref()
        .is_some_and(|r| r != lv.revision)
    {
        return Err(precondition_failed());
    }
    let before = lv.statements.len();
    lv.statements
        .retain(|s| s["Sid"] != input.statement_id.as_str());
    if lv.statements.len() == before {
        return Err(not_found(format!(
            "Statement {} is not found in resource policy.",
            input.statement_id
        )));
    }
    lv.revision = revision_id();
    LAYER_VERSIONS.put(&key, &lv)?;
    Ok(Empty {})
}
