//! CloudFormation / Cloud Control resource types of S3 (see
//! docs/resources.md): AWS::S3::Bucket (versioning, tags, CORS, encryption,
//! public access block, website, lifecycle, notifications) and
//! AWS::S3::BucketPolicy, made with the plugin's own operations.

use ministack_sdk::prelude::*;
use ministack_sdk::resources::{
    ProgressEvent, ResourceList, ResourceRequest, call_own, tags, value_text,
};
use serde_json::{Map, Value, json};

use crate::S3;

pub fn types() -> Vec<ResourceType> {
    vec![
        ResourceType::new("AWS::S3::Bucket", bucket_create, bucket_delete)
            .primary_identifier(&["BucketName"])
            .create_only(&["BucketName", "ObjectLockEnabled"])
            .read_only(&[
                "Arn",
                "DomainName",
                "DualStackDomainName",
                "RegionalDomainName",
                "WebsiteURL",
            ])
            .attributes(&[
                "Arn",
                "DomainName",
                "DualStackDomainName",
                "RegionalDomainName",
                "WebsiteURL",
            ])
            .update(bucket_update)
            .list(bucket_list),
        ResourceType::new("AWS::S3::BucketPolicy", policy_create, policy_delete)
            .primary_identifier(&["Bucket"])
            .required(&["Bucket", "PolicyDocument"])
            .create_only(&["Bucket"])
            .update(policy_create),
    ]
}

fn call(ctx: &Context, op: &str, input: Value) -> Result<Value, AwsError> {
    call_own::<S3>(ctx, op, &input)
}

fn event(ctx: &Context, name: &str) -> ProgressEvent {
    let region = &ctx.region;
    ProgressEvent::success(name)
        .attr("Arn", format!("arn:{}:s3:::{name}", ctx.partition()))
        .attr("DomainName", format!("{name}.s3.amazonaws.com"))
        .attr(
            "RegionalDomainName",
            format!("{name}.s3.{region}.amazonaws.com"),
        )
        .attr(
            "DualStackDomainName",
            format!("{name}.s3.dualstack.{region}.amazonaws.com"),
        )
        .attr(
            "WebsiteURL",
            format!("http://{name}.s3-website-{region}.amazonaws.com"),
        )
}

/// Booleans written as text in templates ("true") as booleans.
fn booleans(v: &Value) -> Value {
    match v {
        Value::String(s) if s == "true" => json!(true),
        Value::String(s) if s == "false" => json!(false),
        Value::Object(m) => {
            Value::Object(m.iter().map(|(k, v)| (k.clone(), booleans(v))).collect())
        }
        Value::Array(a) => Value::Array(a.iter().map(booleans).collect()),
        other => other.clone(),
    }
}

fn number(v: &Value) -> Value {
    value_text(v)
        .parse::<i64>()
        .map(Value::from)
        .unwrap_or(Value::Null)
}

fn cors(c: &Value) -> Value {
    let rules: Vec<Value> = c["CorsRules"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            let mut o = json!({"AllowedMethods": r["AllowedMethods"], "AllowedOrigins": r["AllowedOrigins"]});
            for (from, to) in [("AllowedHeaders", "AllowedHeaders"), ("ExposedHeaders", "ExposeHeaders"), ("Id", "ID")] {
                if let Some(v) = r.get(from) {
                    o[to] = v.clone();
                }
            }
            if let Some(v) = r.get("MaxAge") {
                o["MaxAgeSeconds"] = number(v);
            }
            o
        })
        .collect();
    json!({"CORSRules": rules})
}

fn encryption(c: &Value) -> Value {
    let rules: Vec<Value> = c["ServerSideEncryptionConfiguration"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            let mut o = json!({});
            if let Some(d) = r.get("ServerSideEncryptionByDefault") {
                o["ApplyServerSideEncryptionByDefault"] = d.clone();
            }
            if let Some(b) = r.get("BucketKeyEnabled") {
                o["BucketKeyEnabled"] = booleans(b);
            }
            o
        })
        .collect();
    json!({"Rules": rules})
}

fn website(c: &Value) -> Value {
    let mut o = json!({});
    if let Some(i) = c.get("IndexDocument") {
        o["IndexDocument"] = json!({"Suffix": value_text(i)});
    }
    if let Some(e) = c.get("ErrorDocument") {
        o["ErrorDocument"] = json!({"Key": value_text(e)});
    }
    if let Some(r) = c.get("RedirectAllRequestsTo") {
        o["RedirectAllRequestsTo"] = r.clone();
    }
    if let Some(r) = c.get("RoutingRules") {
        o["RoutingRules"] = r.clone();
    }
    o
}

fn lifecycle(c: &Value) -> Value {
    let rules: Vec<Value> = c["Rules"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            let mut o = json!({"Status": r["Status"], "Filter": {"Prefix": r.get("Prefix").map(value_text).unwrap_or_default()}});
            if let Some(id) = r.get("Id") {
                o["ID"] = id.clone();
            }
            if let Some(d) = r.get("ExpirationInDays") {
                o["Expiration"] = json!({"Days": number(d)});
            }
            if let Some(d) = r.get("ExpirationDate") {
                o["Expiration"] = json!({"Date": d});
            }
            if let Some(d) = r.get("NoncurrentVersionExpirationInDays") {
                o["NoncurrentVersionExpiration"] = json!({"NoncurrentDays": number(d)});
            }
            if let Some(a) = r.get("AbortIncompleteMultipartUpload") {
                o["AbortIncompleteMultipartUpload"] = json!({"DaysAfterInitiation": number(&a["DaysAfterInitiation"])});
            }
            if let Some(t) = r.get("Transitions").and_then(Value::as_array) {
                o["Transitions"] = json!(t
                    .iter()
                    .map(|t| json!({"Days": number(&t["TransitionInDays"]), "StorageClass": t["StorageClass"]}))
                    .collect::<Vec<_>>());
            }
            o
        })
        .collect();
    json!({"Rules": rules})
}

fn notification_filter(f: Option<&Value>) -> Option<Value> {
    let rules = f?.get("S3Key")?.get("Rules")?.clone();
    Some(json!({"Key": {"FilterRules": rules}}))
}

fn notifications(c: &Value) -> Value {
    let mut out = json!({});
    for (from, to, target_from, target_to) in [
        (
            "QueueConfigurations",
            "QueueConfigurations",
            "Queue",
            "QueueArn",
        ),
        (
            "TopicConfigurations",
            "TopicConfigurations",
            "Topic",
            "TopicArn",
        ),
        (
            "LambdaConfigurations",
            "LambdaFunctionConfigurations",
            "Function",
            "LambdaFunctionArn",
        ),
    ] {
        let list: Vec<Value> = c
            .get(from)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|n| {
                let mut o = json!({target_to: n[target_from], "Events": [n["Event"]]});
                if let Some(f) = notification_filter(n.get("Filter")) {
                    o["Filter"] = f;
                }
                o
            })
            .collect();
        if !list.is_empty() {
            out[to] = json!(list);
        }
    }
    if c.get("EventBridgeConfiguration").is_some() {
        out["EventBridgeConfiguration"] = json!({});
    }
    out
}

/// Writes every configuration the properties set and removes the ones
/// `previous` set and the properties no longer do.
fn configure(
    ctx: &Context,
    name: &str,
    props: &Map<String, Value>,
    previous: &Map<String, Value>,
) -> Result<(), AwsError> {
    let changed = |k: &str| props.get(k) != previous.get(k);
    let removed = |k: &str| props.get(k).is_none() && previous.get(k).is_some();
    if changed("VersioningConfiguration")
        && let Some(v) = props.get("VersioningConfiguration")
    {
        call(
            ctx,
            "PutBucketVersioning",
            json!({"Bucket": name, "VersioningConfiguration": {"Status": v["Status"]}}),
        )?;
    }
    if changed("Tags") {
        let set: Vec<Value> = tags(props)
            .into_iter()
            .map(|(k, v)| json!({"Key": k, "Value": v}))
            .collect();
        if set.is_empty() {
            call(ctx, "DeleteBucketTagging", json!({"Bucket": name}))?;
        } else {
            call(
                ctx,
                "PutBucketTagging",
                json!({"Bucket": name, "Tagging": {"TagSet": set}}),
            )?;
        }
    }
    type Put = fn(&Value) -> Value;
    let configs: [(&str, &str, &str, &str, Put); 5] = [
        (
            "CorsConfiguration",
            "PutBucketCors",
            "CORSConfiguration",
            "DeleteBucketCors",
            cors,
        ),
        (
            "BucketEncryption",
            "PutBucketEncryption",
            "ServerSideEncryptionConfiguration",
            "DeleteBucketEncryption",
            encryption,
        ),
        (
            "WebsiteConfiguration",
            "PutBucketWebsite",
            "WebsiteConfiguration",
            "DeleteBucketWebsite",
            website,
        ),
        (
            "LifecycleConfiguration",
            "PutBucketLifecycleConfiguration",
            "LifecycleConfiguration",
            "DeleteBucketLifecycle",
            lifecycle,
        ),
        (
            "PublicAccessBlockConfiguration",
            "PutPublicAccessBlock",
            "PublicAccessBlockConfiguration",
            "DeletePublicAccessBlock",
            booleans,
        ),
    ];
    for (prop, put, member, delete, convert) in configs {
        if removed(prop) {
            call(ctx, delete, json!({"Bucket": name}))?;
        } else if changed(prop)
            && let Some(v) = props.get(prop)
        {
            call(ctx, put, json!({"Bucket": name, member: convert(v)}))?;
        }
    }
    if changed("NotificationConfiguration") {
        let config = props
            .get("NotificationConfiguration")
            .map(notifications)
            .unwrap_or_else(|| json!({}));
        call(
            ctx,
            "PutBucketNotificationConfiguration",
            json!({"Bucket": name, "NotificationConfiguration": config}),
        )?;
    }
    Ok(())
}

fn bucket_create(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let name = match r.str("BucketName") {
        Some(n) => n.to_string(),
        None => r
            .generated_name(63)
            .to_ascii_lowercase()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '-'
                }
            })
            .collect(),
    };
    let mut input = json!({"Bucket": name});
    if ctx.region != "us-east-1" {
        input["CreateBucketConfiguration"] = json!({"LocationConstraint": ctx.region});
    }
    if r.properties
        .get("ObjectLockEnabled")
        .is_some_and(|v| value_text(v) == "true")
    {
        input["ObjectLockEnabledForBucket"] = json!(true);
    }
    call(ctx, "CreateBucket", input)?;
    if let Err(e) = configure(ctx, &name, &r.properties, &Map::new()) {
        // Leave nothing half made behind.
        let _ = call(ctx, "DeleteBucket", json!({"Bucket": name}));
        return Err(e);
    }
    Ok(event(ctx, &name))
}

fn bucket_update(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    configure(ctx, &r.physical_id, &r.properties, &r.previous_properties)?;
    Ok(event(ctx, &r.physical_id))
}

fn bucket_list(ctx: &Context, _: &ResourceRequest) -> Result<ResourceList, AwsError> {
    let out = call(ctx, "ListBuckets", json!({}))?;
    let resources = out["Buckets"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|b| {
            let name = value_text(&b["Name"]);
            let mut props = Map::new();
            props.insert("BucketName".into(), json!(name));
            event(ctx, &name).with_properties(props)
        })
        .collect();
    Ok(ResourceList {
        resources,
        next_token: None,
    })
}

fn bucket_delete(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    call(ctx, "DeleteBucket", json!({"Bucket": r.physical_id}))?;
    Ok(ProgressEvent::success(r.physical_id.clone()))
}

fn policy_create(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let bucket = r.required_str("Bucket")?.to_string();
    let doc = match &r.properties["PolicyDocument"] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    call(
        ctx,
        "PutBucketPolicy",
        json!({"Bucket": bucket, "Policy": doc}),
    )?;
    Ok(ProgressEvent::success(bucket))
}

fn policy_delete(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    call(ctx, "DeleteBucketPolicy", json!({"Bucket": r.physical_id}))?;
    Ok(ProgressEvent::success(r.physical_id.clone()))
}
