//! Event buses, their resource policies (PutPermission), and tags.

use ministack_sdk::prelude::*;
use ministack_sdk::time;
use serde_json::{Map, Value, json};

use crate::model::*;

pub fn create_event_bus(ctx: &Context, v: Value) -> Result<Value, AwsError> {
    let name = req(&v, "Name")?.to_string();
    check_name("name", &name, true)?;
    if name.contains('/') && !name.starts_with("aws.partner/") {
        return Err(AwsError::validation("Event bus name must not contain '/'."));
    }
    if bus_exists(&name) {
        return Err(exists("Event bus", &name));
    }
    let source = s(&v, "EventSourceName");
    if name.starts_with("aws.") {
        // Partner buses are named after their event source.
        let Some(src) = source.filter(|s| *s == name) else {
            return Err(AwsError::validation(
                "Event bus name starting with 'aws.' must match an event source (EventSourceName).",
            ));
        };
        if crate::sources::SOURCES
            .get(&crate::sources::source_key(ctx, &ctx.account, src))?
            .is_none()
        {
            return Err(not_found("Event source", src));
        }
    }
    let now = time::now();
    let bus = Bus {
        name: name.clone(),
        arn: bus_arn(ctx, &name),
        description: s(&v, "Description").map(str::to_string),
        kms_key_identifier: s(&v, "KmsKeyIdentifier").map(str::to_string),
        dead_letter_config: v.get("DeadLetterConfig").cloned(),
        log_config: v.get("LogConfig").cloned(),
        event_source_name: source.map(str::to_string),
        policy: None,
        created: now,
        modified: now,
    };
    BUSES.put(&name, &bus)?;
    add_tags(&bus.arn, tags_from(&v))?;
    let mut out = Map::new();
    out.insert("EventBusArn".into(), json!(bus.arn));
    put_opt(&mut out, "Description", v.get("Description").cloned());
    put_opt(
        &mut out,
        "KmsKeyIdentifier",
        v.get("KmsKeyIdentifier").cloned(),
    );
    put_opt(
        &mut out,
        "DeadLetterConfig",
        v.get("DeadLetterConfig").cloned(),
    );
    put_opt(&mut out, "LogConfig", v.get("LogConfig").cloned());
    Ok(Value::Object(out))
}

pub fn delete_event_bus(_ctx: &Context, v: Value) -> Result<Value, AwsError> {
    let name = req(&v, "Name")?;
    if name == DEFAULT_BUS {
        return Err(AwsError::validation("Cannot delete event bus default."));
    }
    if let Some(bus) = BUSES.get(name)? {
        RULES.delete_range(&Scan::prefix(keys::prefix(&[name])));
        TARGETS.delete_range(&Scan::prefix(keys::prefix(&[name])));
        TAGS.delete(&bus.arn);
        BUSES.delete(name);
    }
    Ok(json!({}))
}

fn bus_json(bus: &Bus, full: bool) -> Value {
    let mut out = Map::new();
    out.insert("Name".into(), json!(bus.name));
    out.insert("Arn".into(), json!(bus.arn));
    put_opt(
        &mut out,
        "Description",
        bus.description.clone().map(Value::from),
    );
    if full {
        put_opt(
            &mut out,
            "KmsKeyIdentifier",
            bus.kms_key_identifier.clone().map(Value::from),
        );
        put_opt(&mut out, "DeadLetterConfig", bus.dead_letter_config.clone());
        put_opt(&mut out, "LogConfig", bus.log_config.clone());
    }
    put_opt(
        &mut out,
        "Policy",
        bus.policy.as_ref().map(|p| Value::from(p.to_string())),
    );
    out.insert("CreationTime".into(), json!(bus.created));
    out.insert("LastModifiedTime".into(), json!(bus.modified));
    Value::Object(out)
}

pub fn describe_event_bus(ctx: &Context, v: Value) -> Result<Value, AwsError> {
    let name = bus_name(s(&v, "Name"));
    Ok(bus_json(&get_bus(ctx, &name)?, true))
}

pub fn update_event_bus(ctx: &Context, v: Value) -> Result<Value, AwsError> {
    let name = bus_name(s(&v, "Name"));
    let mut bus = get_bus(ctx, &name)?;
    if let Some(d) = s(&v, "Description") {
        bus.description = Some(d.to_string());
    }
    if let Some(k) = s(&v, "KmsKeyIdentifier") {
        bus.kms_key_identifier = Some(k.to_string()).filter(|k| !k.is_empty());
    }
    if let Some(d) = v.get("DeadLetterConfig") {
        bus.dead_letter_config = Some(d.clone());
    }
    if let Some(l) = v.get("LogConfig") {
        bus.log_config = Some(l.clone());
    }
    bus.modified = time::now();
    BUSES.put(&name, &bus)?;
    let mut out = bus_json(&bus, true);
    let o = out.as_object_mut().expect("object");
    o.remove("Policy");
    o.remove("CreationTime");
    o.remove("LastModifiedTime");
    Ok(out)
}

pub fn list_event_buses(ctx: &Context, v: Value) -> Result<Value, AwsError> {
    let prefix = s(&v, "NamePrefix").unwrap_or("");
    // The default bus exists in every account and region: store it so
    // paging sees it like any other.
    if DEFAULT_BUS.starts_with(prefix) && !BUSES.contains(DEFAULT_BUS) {
        BUSES.put(DEFAULT_BUS, &get_bus(ctx, DEFAULT_BUS)?)?;
    }
    let page = BUSES
        .page(
            &Scan::prefix(prefix),
            s(&v, "NextToken"),
            page_size(&v, "Limit"),
        )
        .map_err(token_error)?;
    let buses: Vec<Value> = page.items.iter().map(|(_, b)| bus_json(b, false)).collect();
    let mut out = json!({"EventBuses": buses});
    if let Some(t) = page.next_token {
        out["NextToken"] = json!(t);
    }
    Ok(out)
}

// ----------------------------------------------------------- permissions

pub fn put_permission(ctx: &Context, v: Value) -> Result<Value, AwsError> {
    let name = bus_name(s(&v, "EventBusName"));
    let mut bus = get_bus(ctx, &name)?;
    if let Some(policy) = s(&v, "Policy") {
        let doc: Value = serde_json::from_str(policy)
            .ok()
            .filter(Value::is_object)
            .ok_or_else(|| AwsError::validation("The policy is not valid JSON."))?;
        bus.policy = Some(doc);
    } else {
        let (Some(action), Some(principal), Some(sid)) =
            (s(&v, "Action"), s(&v, "Principal"), s(&v, "StatementId"))
        else {
            return Err(AwsError::validation(
                "Parameter(s) Action, Principal and StatementId must be specified unless Policy is.",
            ));
        };
        if action != "events:PutEvents" {
            return Err(AwsError::validation(format!(
                "Provided value in parameter 'action' is not supported: {action}"
            )));
        }
        let principal_json = if principal == "*" {
            json!("*")
        } else if ministack_sdk::ids::is_account_id(principal) {
            json!({"AWS": format!("arn:{}:iam::{principal}:root", ctx.partition())})
        } else {
            return Err(AwsError::validation(format!(
                "Value {principal} at 'principal' failed to satisfy constraint: Member must be an account id or *"
            )));
        };
        let mut statement = json!({
            "Sid": sid,
            "Effect": "Allow",
            "Principal": principal_json,
            "Action": action,
            "Resource": bus.arn,
        });
        if let Some(c) = v.get("Condition").and_then(Value::as_object) {
            let key = c.get("Key").and_then(Value::as_str).unwrap_or_default();
            let ty = c.get("Type").and_then(Value::as_str).unwrap_or_default();
            let value = c.get("Value").cloned().unwrap_or_default();
            statement["Condition"] = json!({ty: {key: value}});
        } else if principal == "*" {
            return Err(AwsError::validation(
                "A condition is required when the principal is '*'.",
            ));
        }
        let mut doc = bus
            .policy
            .take()
            .unwrap_or_else(|| json!({"Version": "2012-10-17", "Statement": []}));
        let list = doc["Statement"]
            .as_array_mut()
            .ok_or_else(|| AwsError::internal("stored policy without statements"))?;
        list.retain(|st| st["Sid"] != json!(sid));
        list.push(statement);
        bus.policy = Some(doc);
    }
    let doc_len = bus
        .policy
        .as_ref()
        .map(|p| p.to_string().len())
        .unwrap_or(0);
    if doc_len > 10240 {
        return Err(AwsError::new(
            "PolicyLengthExceededException",
            "The policy would exceed the maximum length.",
        ));
    }
    bus.modified = time::now();
    BUSES.put(&name, &bus)?;
    Ok(json!({}))
}

pub fn remove_permission(ctx: &Context, v: Value) -> Result<Value, AwsError> {
    let name = bus_name(s(&v, "EventBusName"));
    let mut bus = get_bus(ctx, &name)?;
    if v.get("RemoveAllPermissions").and_then(Value::as_bool) == Some(true) {
        bus.policy = None;
    } else {
        let sid = s(&v, "StatementId").ok_or_else(|| {
            AwsError::validation(
                "Parameter StatementId is required unless RemoveAllPermissions is true.",
            )
        })?;
        let gone = || {
            AwsError::new(
                "ResourceNotFoundException",
                "Statement with the provided id does not exist.",
            )
        };
        let doc = bus.policy.as_mut().ok_or_else(gone)?;
        let list = doc["Statement"].as_array_mut().ok_or_else(gone)?;
        let before = list.len();
        list.retain(|st| st["Sid"] != json!(sid));
        if list.len() == before {
            return Err(gone());
        }
        if list.is_empty() {
            bus.policy = None;
        }
    }
    bus.modified = time::now();
    BUSES.put(&name, &bus)?;
    Ok(json!({}))
}

// ----------------------------------------------------------------- tags

/// Whether the resource an events ARN names exists (tags need one).
fn resource_exists(ctx: &Context, arn: &str) -> Result<bool, AwsError> {
    let Some(a) = Arn::parse(arn).filter(|a| a.service == "events") else {
        return Ok(false);
    };
    if a.account != ctx.account || a.region != ctx.region {
        return Ok(false);
    }
    let mut parts = a.resource.splitn(2, '/');
    let kind = parts.next().unwrap_or_default();
    let rest = parts.next().unwrap_or_default();
    Ok(match kind {
        "event-bus" => bus_exists(rest),
        "rule" => {
            let (bus, rule) = rest.rsplit_once('/').unwrap_or((DEFAULT_BUS, rest));
            RULES.contains(&keys::join(&[bus, rule]))
        }
        "archive" => crate::archives::ARCHIVES.contains(rest),
        "connection" => {
            crate::connections::CONNECTIONS.contains(rest.split('/').next().unwrap_or_default())
        }
        "api-destination" => crate::connections::API_DESTINATIONS
            .contains(rest.split('/').next().unwrap_or_default()),
        "endpoint" => crate::sources::ENDPOINTS.contains(rest),
        _ => false,
    })
}

fn no_resource(arn: &str) -> AwsError {
    AwsError::new(
        "ResourceNotFoundException",
        format!("Resource {arn} does not exist."),
    )
}

pub fn tag_resource(ctx: &Context, v: Value) -> Result<Value, AwsError> {
    let arn = req(&v, "ResourceARN")?;
    if !resource_exists(ctx, arn)? {
        return Err(no_resource(arn));
    }
    add_tags(arn, tags_from(&v))?;
    Ok(json!({}))
}

pub fn untag_resource(ctx: &Context, v: Value) -> Result<Value, AwsError> {
    let arn = req(&v, "ResourceARN")?;
    if !resource_exists(ctx, arn)? {
        return Err(no_resource(arn));
    }
    let remove: Vec<String> = v
        .get("TagKeys")
        .and_then(|k| serde_json::from_value(k.clone()).ok())
        .unwrap_or_default();
    if let Some(mut tags) = TAGS.get(arn)? {
        tags.retain(|t| !remove.contains(&t.key));
        TAGS.put(arn, &tags)?;
    }
    Ok(json!({}))
}

pub fn list_tags_for_resource(ctx: &Context, v: Value) -> Result<Value, AwsError> {
    let arn = req(&v, "ResourceARN")?;
    if !resource_exists(ctx, arn)? {
        return Err(no_resource(arn));
    }
    Ok(json!({"Tags": TAGS.get(arn)?.unwrap_or_default()}))
}
