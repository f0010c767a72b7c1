//! CloudFormation / Cloud Control resource type of ECR (see
//! docs/resources.md): AWS::ECR::Repository, made with the plugin's own
//! operations. `Ref` is the repository name.

use ministack_sdk::prelude::*;
use ministack_sdk::resources::{ProgressEvent, ResourceRequest, call_own, tags, value_text};
use serde_json::{Map, Value, json};

use crate::Ecr;

pub fn types() -> Vec<ResourceType> {
    vec![
        ResourceType::new("AWS::ECR::Repository", repo_create, repo_delete)
            .primary_identifier(&["RepositoryName"])
            .create_only(&["RepositoryName", "EncryptionConfiguration"])
            .read_only(&["Arn", "RepositoryUri"])
            .attributes(&["Arn", "RepositoryUri"])
            .update(repo_update)
            .read(repo_read),
    ]
}

fn call(ctx: &Context, op: &str, input: Value) -> Result<Value, AwsError> {
    call_own::<Ecr>(ctx, op, &input)
}

fn doc(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn scanning(p: &Map<String, Value>) -> Option<Value> {
    p.get("ImageScanningConfiguration").map(
        |c| json!({"scanOnPush": c.get("ScanOnPush").is_some_and(|v| value_text(v) == "true")}),
    )
}

fn exclusion_filters(p: &Map<String, Value>) -> Option<Value> {
    p.get("ImageTagMutabilityExclusionFilters")
        .and_then(Value::as_array)
        .map(|filters| {
            filters
                .iter()
                .map(|f| {
                    json!({
                        "filterType": f.get("ImageTagMutabilityExclusionFilterType").or(f.get("FilterType")).map(value_text),
                        "filter": f.get("ImageTagMutabilityExclusionFilterValue").or(f.get("Filter")).map(value_text),
                    })
                })
                .collect()
        })
}

fn event(out: &Value) -> ProgressEvent {
    let repo = &out["repository"];
    ProgressEvent::success(value_text(&repo["repositoryName"]))
        .attr("Arn", repo["repositoryArn"].clone())
        .attr("RepositoryUri", repo["repositoryUri"].clone())
}

/// Policies and tags, on create and update.
fn attach(ctx: &Context, name: &str, r: &ResourceRequest) -> Result<(), AwsError> {
    let p = &r.properties;
    let prev = &r.previous_properties;
    match p.get("RepositoryPolicyText") {
        Some(policy) => {
            call(
                ctx,
                "SetRepositoryPolicy",
                json!({"repositoryName": name, "policyText": doc(policy)}),
            )?;
        }
        None if prev.contains_key("RepositoryPolicyText") => {
            call(
                ctx,
                "DeleteRepositoryPolicy",
                json!({"repositoryName": name}),
            )?;
        }
        None => {}
    }
    match p
        .get("LifecyclePolicy")
        .and_then(|l| l.get("LifecyclePolicyText"))
    {
        Some(text) => {
            call(
                ctx,
                "PutLifecyclePolicy",
                json!({"repositoryName": name, "lifecyclePolicyText": doc(text)}),
            )?;
        }
        None if prev.contains_key("LifecyclePolicy") => {
            call(
                ctx,
                "DeleteLifecyclePolicy",
                json!({"repositoryName": name}),
            )?;
        }
        None => {}
    }
    Ok(())
}

fn tag_list(p: &Map<String, Value>) -> Vec<Value> {
    tags(p)
        .into_iter()
        .map(|(k, v)| json!({"Key": k, "Value": v}))
        .collect()
}

fn repo_create(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let p = &r.properties;
    // Repository names are lowercase.
    let name = r
        .str("RepositoryName")
        .map(str::to_string)
        .unwrap_or_else(|| r.generated_name(256).to_ascii_lowercase());
    let mut input = json!({"repositoryName": name});
    if let Some(m) = p.get("ImageTagMutability") {
        input["imageTagMutability"] = json!(value_text(m));
    }
    if let Some(f) = exclusion_filters(p) {
        input["imageTagMutabilityExclusionFilters"] = f;
    }
    if let Some(s) = scanning(p) {
        input["imageScanningConfiguration"] = s;
    }
    if let Some(e) = p.get("EncryptionConfiguration") {
        let mut enc = json!({"encryptionType": e.get("EncryptionType").map(value_text).unwrap_or_else(|| "AES256".into())});
        if let Some(k) = e.get("KmsKey") {
            enc["kmsKey"] = json!(value_text(k));
        }
        input["encryptionConfiguration"] = enc;
    }
    let t = tag_list(p);
    if !t.is_empty() {
        input["tags"] = json!(t);
    }
    let out = call(ctx, "CreateRepository", input)?;
    attach(ctx, &name, r)?;
    Ok(event(&out))
}

fn repo_update(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let name = &r.physical_id;
    let p = &r.properties;
    let mut mutability = json!({
        "repositoryName": name,
        "imageTagMutability": p.get("ImageTagMutability").map(value_text).unwrap_or_else(|| "MUTABLE".into()),
    });
    if let Some(f) = exclusion_filters(p) {
        mutability["imageTagMutabilityExclusionFilters"] = f;
    }
    call(ctx, "PutImageTagMutability", mutability)?;
    call(
        ctx,
        "PutImageScanningConfiguration",
        json!({"repositoryName": name, "imageScanningConfiguration": scanning(p).unwrap_or(json!({"scanOnPush": false}))}),
    )?;
    attach(ctx, name, r)?;
    let out = call(
        ctx,
        "DescribeRepositories",
        json!({"repositoryNames": [name]}),
    )?;
    let repo = out["repositories"][0].clone();
    let arn = value_text(&repo["repositoryArn"]);
    let old: Vec<String> = tags(&r.previous_properties)
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    if !old.is_empty() {
        call(
            ctx,
            "UntagResource",
            json!({"resourceArn": arn, "tagKeys": old}),
        )?;
    }
    let t = tag_list(p);
    if !t.is_empty() {
        call(ctx, "TagResource", json!({"resourceArn": arn, "tags": t}))?;
    }
    Ok(event(&json!({"repository": repo})))
}

fn repo_read(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let name = &r.physical_id;
    let out = call(
        ctx,
        "DescribeRepositories",
        json!({"repositoryNames": [name]}),
    )?;
    let repo = out["repositories"][0].clone();
    let mut props = Map::new();
    props.insert("RepositoryName".into(), json!(name));
    props.insert("Arn".into(), repo["repositoryArn"].clone());
    props.insert("RepositoryUri".into(), repo["repositoryUri"].clone());
    props.insert(
        "ImageTagMutability".into(),
        repo["imageTagMutability"].clone(),
    );
    props.insert(
        "ImageScanningConfiguration".into(),
        json!({"ScanOnPush": repo["imageScanningConfiguration"]["scanOnPush"].as_bool().unwrap_or(false)}),
    );
    props.insert(
        "EncryptionConfiguration".into(),
        json!({"EncryptionType": repo["encryptionConfiguration"]["encryptionType"]}),
    );
    if let Ok(policy) = call(ctx, "GetRepositoryPolicy", json!({"repositoryName": name})) {
        let text = value_text(&policy["policyText"]);
        props.insert(
            "RepositoryPolicyText".into(),
            serde_json::from_str(&text).unwrap_or(json!(text)),
        );
    }
    if let Ok(lc) = call(ctx, "GetLifecyclePolicy", json!({"repositoryName": name})) {
        props.insert(
            "LifecyclePolicy".into(),
            json!({"LifecyclePolicyText": lc["lifecyclePolicyText"], "RegistryId": lc["registryId"]}),
        );
    }
    Ok(event(&json!({"repository": repo})).with_properties(props))
}

fn repo_delete(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    // `EmptyOnDelete` needs no work: no repository holds images yet.
    call(
        ctx,
        "DeleteRepository",
        json!({"repositoryName": r.physical_id, "force": true}),
    )?;
    Ok(ProgressEvent::success(r.physical_id.clone()))
}
