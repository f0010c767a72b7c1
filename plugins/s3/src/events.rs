//! Event notifications: the bucket's notification configuration names SQS
//! queues, SNS topics, Lambda functions and EventBridge; each matching event
//! is delivered through `services::call` in AWS's event JSON. A target that
//! is missing or fails is logged and skipped: the object operation has
//! already succeeded. Lambda and EventBridge are called with their own
//! operations (Invoke, PutEvents), so they need no change here when those
//! plugins arrive.

use ministack_sdk::prelude::*;
use ministack_sdk::services::{self, Target};
use ministack_sdk::{ids, time};
use serde_json::{Value, json};

use crate::buckets::Bucket;
use crate::util;

/// What happened to which object version.
pub struct Event<'a> {
    /// `ObjectCreated:Put`, `ObjectRemoved:Delete`, ...
    pub name: &'a str,
    pub key: &'a str,
    pub size: u64,
    pub etag: &'a str,
    pub version_id: Option<&'a str>,
}

/// `s3:ObjectCreated:*` matches `ObjectCreated:Put`.
pub fn event_matches(pattern: &str, name: &str) -> bool {
    let pattern = pattern.strip_prefix("s3:").unwrap_or(pattern);
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => pattern == name,
    }
}

/// The key filter of a configuration (prefix/suffix rules).
pub fn filter_matches(config: &Value, key: &str) -> bool {
    let rules = config
        .pointer("/Filter/Key/FilterRules")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    rules.iter().all(|r| {
        let value = r["Value"].as_str().unwrap_or_default();
        match r["Name"]
            .as_str()
            .unwrap_or_default()
            .to_lowercase()
            .as_str()
        {
            "prefix" => key.starts_with(value),
            "suffix" => key.ends_with(value),
            _ => true,
        }
    })
}

fn record(ctx: &Context, b: &Bucket, e: &Event, configuration_id: &str) -> Value {
    let mut object = json!({
        "key": util::url_encode(e.key),
        "size": e.size,
        "eTag": e.etag.trim_matches('"'),
        "sequencer": format!("{:016X}", (time::now() * 1_000_000.0) as u64),
    });
    if let Some(v) = e.version_id {
        object["versionId"] = json!(v);
    }
    if e.name.starts_with("ObjectRemoved") {
        object.as_object_mut().map(|o| o.remove("size"));
        object.as_object_mut().map(|o| o.remove("eTag"));
    }
    let principal = format!("AWS:{}", ctx.account);
    json!({"Records": [{
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": b.region,
        "eventTime": time::iso8601_millis(time::now()),
        "eventName": e.name,
        "userIdentity": {"principalId": principal},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": ctx.request_id, "x-amz-id-2": ids::alnum(60)},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": configuration_id,
            "bucket": {"name": b.name, "ownerIdentity": {"principalId": crate::canonical_id(&b.account)},
                       "arn": format!("arn:aws:s3:::{}", b.name)},
            "object": object,
        },
    }]})
}

fn arn_target(service: &str, arn: &str, ctx: &Context) -> Option<(Target, String)> {
    let a: Arn = arn.parse().ok()?;
    let account = if a.account.is_empty() {
        ctx.account.clone()
    } else {
        a.account.clone()
    };
    let region = if a.region.is_empty() {
        ctx.region.clone()
    } else {
        a.region.clone()
    };
    let name = a.resource.clone();
    Some((Target::at(service, &account, &region), name))
}

/// Delivers `e` to every matching destination of the bucket's configuration.
/// Call it last in a handler: a service call commits the request's writes.
pub fn notify(ctx: &Context, b: &Bucket, e: &Event) {
    let Some(config) = b.config.get("notification") else {
        return;
    };
    let matching = |list: &str| -> Vec<Value> {
        config[list]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|c| {
                        c["Events"].as_array().is_some_and(|ev| {
                            ev.iter()
                                .any(|p| event_matches(p.as_str().unwrap_or(""), e.name))
                        }) && filter_matches(c, e.key)
                    })
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    };
    let id = |c: &Value| c["Id"].as_str().unwrap_or("notification").to_string();
    for c in matching("QueueConfigurations") {
        let body = record(ctx, b, e, &id(&c)).to_string();
        if let Some((t, name)) = arn_target("sqs", c["QueueArn"].as_str().unwrap_or(""), ctx) {
            let url = queue_url(ctx, &t.account, &name);
            deliver(
                Some(&bucket_source(b)),
                &t,
                "SendMessage",
                json!({"QueueUrl": url, "MessageBody": body}),
            );
        }
    }
    for c in matching("TopicConfigurations") {
        let body = record(ctx, b, e, &id(&c)).to_string();
        if let Some((t, _)) = arn_target("sns", c["TopicArn"].as_str().unwrap_or(""), ctx) {
            deliver(
                Some(&bucket_source(b)),
                &t,
                "Publish",
                json!({"TopicArn": c["TopicArn"], "Message": body,
                                          "Subject": "Amazon S3 Notification"}),
            );
        }
    }
    for c in matching("LambdaFunctionConfigurations") {
        let body = record(ctx, b, e, &id(&c)).to_string();
        if let Some((t, _)) =
            arn_target("lambda", c["LambdaFunctionArn"].as_str().unwrap_or(""), ctx)
        {
            deliver(
                Some(&bucket_source(b)),
                &t,
                "Invoke",
                json!({"FunctionName": c["LambdaFunctionArn"], "InvocationType": "Event",
                                         "Payload": ministack_sdk::encoding::base64_encode(body.as_bytes())}),
            );
        }
    }
    if config.get("EventBridgeConfiguration").is_some() {
        let detail_type = if e.name.starts_with("ObjectCreated") {
            "Object Created"
        } else {
            "Object Deleted"
        };
        let mut detail = json!({"version": "0", "bucket": {"name": b.name},
                            "object": {"key": e.key, "size": e.size, "etag": e.etag.trim_matches('"'),
                                       "sequencer": format!("{:016X}", time::now_millis())},
                            "request-id": ctx.request_id, "requester": ctx.account,
                            "source-ip-address": "127.0.0.1", "reason": eventbridge_reason(e.name)});
        if let Some(v) = e.version_id {
            detail["object"]["version-id"] = json!(v);
        }
        if detail_type == "Object Deleted" {
            detail["deletion-type"] = json!(if e.name == "ObjectRemoved:DeleteMarkerCreated" {
                "Delete Marker Created"
            } else {
                "Permanently Deleted"
            });
            if let Some(o) = detail["object"].as_object_mut() {
                o.remove("size");
                o.remove("etag");
            }
        }
        // The account's default bus takes S3's events without a policy.
        let t = Target::new("events", ctx);
        deliver(
            None,
            &t,
            "PutEvents",
            json!({"Entries": [{"Source": "aws.s3", "DetailType": detail_type,
            "Detail": detail.to_string(), "EventBusName": "default",
            "Resources": [format!("arn:aws:s3:::{}", b.name)]}]}),
        );
    }
}

/// The API that caused an event, as EventBridge's `reason` names it.
fn eventbridge_reason(event: &str) -> &'static str {
    match event {
        "ObjectCreated:Copy" => "CopyObject",
        "ObjectCreated:CompleteMultipartUpload" => "CompleteMultipartUpload",
        "ObjectCreated:Post" => "POST Object",
        e if e.starts_with("ObjectRemoved") => "DeleteObject",
        _ => "PutObject",
    }
}

/// The `s3:TestEvent` message S3 sends to each queue and topic of a
/// notification configuration when it is put.
pub fn test_event(ctx: &Context, b: &Bucket) {
    let Some(config) = b.config.get("notification") else {
        return;
    };
    let message = json!({
        "Service": "Amazon S3",
        "Event": "s3:TestEvent",
        "Time": time::iso8601_millis(time::now()),
        "Bucket": b.name,
        "RequestId": ctx.request_id,
        "HostId": ids::alnum(60),
    })
    .to_string();
    let mut seen = std::collections::BTreeSet::new();
    for c in config["QueueConfigurations"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let arn = c["QueueArn"].as_str().unwrap_or("");
        if seen.insert(arn.to_string())
            && let Some((t, name)) = arn_target("sqs", arn, ctx)
        {
            let url = queue_url(ctx, &t.account, &name);
            deliver(
                Some(&bucket_source(b)),
                &t,
                "SendMessage",
                json!({"QueueUrl": url, "MessageBody": message}),
            );
        }
    }
    for c in config["TopicConfigurations"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let arn = c["TopicArn"].as_str().unwrap_or("");
        if seen.insert(arn.to_string())
            && let Some((t, _)) = arn_target("sns", arn, ctx)
        {
            deliver(
                Some(&bucket_source(b)),
                &t,
                "Publish",
                json!({"TopicArn": arn, "Message": message, "Subject": "Amazon S3 Notification"}),
            );
        }
    }
}

/// What S3 delivers for: under ENFORCE_IAM the destination's policy must
/// allow `s3.amazonaws.com`, with `aws:SourceArn` the bucket's ARN and
/// `aws:SourceAccount` its owner.
fn bucket_source(b: &Bucket) -> services::Source {
    services::Source::resource(&format!("arn:aws:s3:::{}", b.name), &b.account)
}

fn deliver(source: Option<&services::Source>, t: &Target, operation: &str, input: Value) {
    let input = input.to_string();
    let result = match source {
        Some(source) => services::call_from(source, t, operation, &input),
        None => services::call_json(t, operation, &input),
    };
    if let Err(err) = result {
        ministack_sdk::warn!(
            "s3 notification to {}:{operation} failed: {}",
            t.service,
            err.message
        );
    }
}

/// The URL of queue `name` in `account`, as this gateway serves it.
fn queue_url(ctx: &Context, account: &str, name: &str) -> String {
    format!("{}/{account}/{name}", ctx.endpoint.trim_end_matches('/'))
}

/// PutBucketNotificationConfiguration's checks of its destinations, as S3
/// makes them: a well-formed ARN of the service the configuration names, in
/// the bucket's region and an account S3 can reach (the bucket owner's; a
/// queue, topic or function there may be created later).
pub fn validate_configuration(ctx: &Context, b: &Bucket, config: &Value) -> Result<(), AwsError> {
    const KINDS: &[(&str, &str, &str)] = &[
        ("QueueConfigurations", "QueueArn", "sqs"),
        ("TopicConfigurations", "TopicArn", "sns"),
        (
            "LambdaFunctionConfigurations",
            "LambdaFunctionArn",
            "lambda",
        ),
    ];
    let invalid = |message: &str, name: &str, value: &str| {
        crate::s3_error("InvalidArgument", message, 400)
            .with_member("ArgumentName", name)
            .with_member("ArgumentValue", value)
    };
    let mut seen_ids = std::collections::BTreeSet::new();
    for (list, member, service) in KINDS {
        for c in config[*list].as_array().into_iter().flatten() {
            let arn = c[*member].as_str().unwrap_or_default();
            let parts: Vec<&str> = arn.splitn(6, ':').collect();
            let well_formed = parts.len() == 6
                && parts[0] == "arn"
                && parts[1].starts_with("aws")
                && !parts[3].is_empty()
                && parts[4].len() == 12
                && parts[4].bytes().all(|c| c.is_ascii_digit())
                && !parts[5].is_empty();
            if !well_formed {
                return Err(invalid("The ARN is not well formed", member, arn));
            }
            if parts[2] != *service {
                return Err(invalid("The ARN is not well formed", member, arn));
            }
            if parts[3] != b.region {
                return Err(invalid(
                    "The notification destination service region is not valid for the bucket location constraint",
                    member,
                    arn,
                ));
            }
            if parts[4] != b.account {
                return Err(invalid(
                    "Unable to validate the following destination configurations",
                    arn,
                    "Permissions on the destination do not allow S3 to publish notifications from this bucket",
                ));
            }
            // Under ENFORCE_IAM, the destination's policy must let S3
            // deliver from this bucket (AWS checks it here, not later).
            if let Some((t, name)) = arn_target(service, arn, ctx) {
                let (operation, input, what) = match *service {
                    "sqs" => (
                        "SendMessage",
                        json!({"QueueUrl": queue_url(ctx, &t.account, &name)}),
                        "Permissions on the destination queue do not allow S3 to publish notifications from this bucket".to_string(),
                    ),
                    "sns" => (
                        "Publish",
                        json!({"TopicArn": arn}),
                        "Permissions on the destination topic do not allow S3 to publish notifications from this bucket".to_string(),
                    ),
                    _ => (
                        "Invoke",
                        json!({"FunctionName": arn}),
                        format!("Not authorized to invoke function [{arn}]"),
                    ),
                };
                let allowed =
                    services::authorize_from(&bucket_source(b), &t, operation, &input.to_string());
                if allowed.is_err() {
                    return Err(invalid(
                        "Unable to validate the following destination configurations",
                        arn,
                        &what,
                    ));
                }
            }
            if let Some(id) = c["Id"].as_str()
                && !seen_ids.insert(id.to_string())
            {
                return Err(invalid("Configuration ID must be unique.", "Id", id));
            }
            let mut names = std::collections::BTreeSet::new();
            for r in c
                .pointer("/Filter/Key/FilterRules")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let name = r["Name"].as_str().unwrap_or_default().to_lowercase();
                if !names.insert(name.clone()) {
                    return Err(invalid(
                        &format!("Cannot specify more than one {name} rule in a filter."),
                        "FilterRule",
                        &name,
                    ));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_and_filter_matching() {
        assert!(event_matches("s3:ObjectCreated:*", "ObjectCreated:Put"));
        assert!(event_matches(
            "s3:ObjectRemoved:Delete",
            "ObjectRemoved:Delete"
        ));
        assert!(!event_matches("s3:ObjectRemoved:*", "ObjectCreated:Copy"));
        let c = json!({"Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "in/"}, {"Name": "Suffix", "Value": ".jpg"}]}}});
        assert!(filter_matches(&c, "in/a.jpg"));
        assert!(!filter_matches(&c, "in/a.png"));
        assert!(!filter_matches(&c, "out/a.jpg"));
        assert!(filter_matches(&json!({}), "x"));
    }
}
