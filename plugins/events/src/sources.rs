//! Partner event sources (a SaaS partner account creates a source for a
//! customer account, which activates it and creates a partner bus named
//! after it; PutPartnerEvents puts on that bus) and global endpoints
//! (stored and described; PutEvents through an endpoint id is served by
//! the region it is sent to: no failover locally).

use ministack_sdk::prelude::*;
use ministack_sdk::{ids, time};
use serde_json::{Map, Value, json};

use crate::archives::page_of;
use crate::model::*;

/// Partner event sources of every account: `join([region, account, name])`
/// where `account` is the customer account the source is for.
pub const SOURCES: Table<Source> = Table::global("partner_sources");
pub const ENDPOINTS: Table<Value> = Table::new("endpoints");

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Source {
    pub name: String,
    /// The customer account.
    pub account: String,
    pub region: String,
    /// The partner account.
    pub created_by: String,
    pub created: f64,
    pub state: String,
}

pub fn source_key(ctx: &Context, account: &str, name: &str) -> String {
    keys::join(&[&ctx.region, account, name])
}

fn source_arn(ctx: &Context, name: &str) -> String {
    format!(
        "arn:{}:events:{}::event-source/{name}",
        ctx.partition(),
        ctx.region
    )
}

pub fn create_partner_event_source(ctx: &Context, v: Value) -> Result<Value, AwsError> {
    let name = req(&v, "Name")?;
    let account = req(&v, "Account")?;
    if !name.starts_with("aws.partner/") {
        return Err(AwsError::validation(
            "Event source name must start with aws.partner/.",
        ));
    }
    let key = source_key(ctx, account, name);
    if SOURCES.contains(&key) {
        return Err(exists("Event source", name));
    }
    SOURCES.put(
        &key,
        &Source {
            name: name.to_string(),
            account: account.to_string(),
            region: ctx.region.clone(),
            created_by: ctx.account.clone(),
            created: time::now(),
            state: "PENDING".into(),
        },
    )?;
    Ok(json!({"EventSourceArn": source_arn(ctx, name)}))
}

pub fn delete_partner_event_source(ctx: &Context, v: Value) -> Result<Value, AwsError> {
    let key = source_key(ctx, req(&v, "Account")?, req(&v, "Name")?);
    if SOURCES
        .get(&key)?
        .is_some_and(|s| s.created_by == ctx.account)
    {
        SOURCES.delete(&key);
    }
    Ok(json!({}))
}

/// Sources a partner (the caller) created, by name.
fn created_by_me(ctx: &Context, prefix: &str) -> Result<Vec<Source>, AwsError> {
    Ok(SOURCES
        .values(&keys::prefix(&[&ctx.region]))?
        .into_iter()
        .filter(|s| s.created_by == ctx.account && s.name.starts_with(prefix))
        .collect())
}

pub fn describe_partner_event_source(ctx: &Context, v: Value) -> Result<Value, AwsError> {
    let name = req(&v, "Name")?;
    created_by_me(ctx, name)?
        .into_iter()
        .find(|s| s.name == name)
        .map(|s| json!({"Arn": source_arn(ctx, &s.name), "Name": s.name}))
        .ok_or_else(|| not_found("Event source", name))
}

pub fn list_partner_event_sources(ctx: &Context, v: Value) -> Result<Value, AwsError> {
    let mut names: Vec<String> = created_by_me(ctx, req(&v, "NamePrefix")?)?
        .into_iter()
        .map(|s| s.name)
        .collect();
    names.sort();
    names.dedup();
    let (items, next) = page_of(names, &v)?;
    let mut out = json!({"PartnerEventSources": items
        .iter()
        .map(|n| json!({"Arn": source_arn(ctx, n), "Name": n}))
        .collect::<Vec<_>>()});
    if let Some(t) = next {
        out["NextToken"] = json!(t);
    }
    Ok(out)
}

pub fn list_partner_event_source_accounts(ctx: &Context, v: Value) -> Result<Value, AwsError> {
    let name = req(&v, "EventSourceName")?;
    let all: Vec<Source> = created_by_me(ctx, name)?
        .into_iter()
        .filter(|s| s.name == name)
        .collect();
    if all.is_empty() {
        return Err(not_found("Event source", name));
    }
    let (items, next) = page_of(all, &v)?;
    let mut out = json!({"PartnerEventSourceAccounts": items.iter().map(|s| json!({
        "Account": s.account, "CreationTime": s.created, "State": s.state,
    })).collect::<Vec<_>>()});
    if let Some(t) = next {
        out["NextToken"] = json!(t);
    }
    Ok(out)
}

fn source_json(ctx: &Context, s: &Source) -> Value {
    json!({
        "Arn": source_arn(ctx, &s.name),
        "CreatedBy": s.created_by,
        "CreationTime": s.created,
        "Name": s.name,
        "State": s.state,
    })
}

fn my_source(ctx: &Context, name: &str) -> Result<Source, AwsError> {
    SOURCES
        .get(&source_key(ctx, &ctx.account, name))?
        .ok_or_else(|| not_found("Event source", name))
}

pub fn describe_event_source(ctx: &Context, v: Value) -> Result<Value, AwsError> {
    Ok(source_json(ctx, &my_source(ctx, req(&v, "Name")?)?))
}

pub fn list_event_sources(ctx: &Context, v: Value) -> Result<Value, AwsError> {
    let prefix = s(&v, "NamePrefix").unwrap_or("");
    let all: Vec<Source> = SOURCES
        .values(&keys::prefix(&[&ctx.region, &ctx.account]))?
        .into_iter()
        .filter(|s| s.name.starts_with(prefix))
        .collect();
    let (items, next) = page_of(all, &v)?;
    let mut out =
        json!({"EventSources": items.iter().map(|s| source_json(ctx, s)).collect::<Vec<_>>()});
    if let Some(t) = next {
        out["NextToken"] = json!(t);
    }
    Ok(out)
}

fn set_source_state(ctx: &Context, v: Value, state: &str) -> Result<Value, AwsError> {
    let name = req(&v, "Name")?;
    let mut src = my_source(ctx, name)?;
    if src.state == state {
        return Err(AwsError::new(
            "InvalidStateException",
            format!("Event source {name} is already {state}."),
        ));
    }
    src.state = state.to_string();
    SOURCES.put(&source_key(ctx, &ctx.account, name), &src)?;
    Ok(json!({}))
}

pub fn activate_event_source(ctx: &Context, v: Value) -> Result<Value, AwsError> {
    set_source_state(ctx, v, "ACTIVE")
}

pub fn deactivate_event_source(ctx: &Context, v: Value) -> Result<Value, AwsError> {
    set_source_state(ctx, v, "PENDING")
}

/// The source a partner (the caller) puts events with.
pub fn find_source_by_name(name: &str) -> Result<Option<Source>, AwsError> {
    Ok(SOURCES.values("")?.into_iter().find(|s| s.name == name))
}

// -------------------------------------------------------------- endpoints

fn get_endpoint(name: &str) -> Result<Value, AwsError> {
    ENDPOINTS
        .get(name)?
        .ok_or_else(|| not_found("Endpoint", name))
}

const ENDPOINT_KEYS: [&str; 13] = [
    "Name",
    "Description",
    "Arn",
    "RoutingConfig",
    "ReplicationConfig",
    "EventBuses",
    "RoleArn",
    "EndpointId",
    "EndpointUrl",
    "State",
    "StateReason",
    "CreationTime",
    "LastModifiedTime",
];

fn endpoint_json(e: &Value, keys: &[&str]) -> Value {
    let mut out = Map::new();
    for k in keys {
        put_opt(&mut out, k, e.get(*k).cloned());
    }
    Value::Object(out)
}

fn check_endpoint(v: &Value) -> Result<(), AwsError> {
    if let Some(buses) = v.get("EventBuses").and_then(Value::as_array)
        && buses.len() != 2
    {
        return Err(AwsError::validation(
            "An endpoint needs exactly two event buses (primary and secondary regions).",
        ));
    }
    Ok(())
}

pub fn create_endpoint(ctx: &Context, v: Value) -> Result<Value, AwsError> {
    let name = req(&v, "Name")?.to_string();
    check_name("name", &name, false)?;
    if ENDPOINTS.contains(&name) {
        return Err(exists("Endpoint", &name));
    }
    check_endpoint(&v)?;
    let id = format!("{}.{}", ids::lower_alnum(5), ids::lower_alnum(4));
    let now = time::now();
    let mut e = v.as_object().cloned().unwrap_or_default();
    e.insert(
        "Arn".into(),
        json!(ctx.arn("events", &format!("endpoint/{name}")).to_string()),
    );
    e.insert("EndpointId".into(), json!(id));
    e.insert(
        "EndpointUrl".into(),
        json!(format!("https://{id}.endpoint.events.amazonaws.com")),
    );
    e.insert("State".into(), json!("ACTIVE"));
    e.insert("CreationTime".into(), json!(now));
    e.insert("LastModifiedTime".into(), json!(now));
    e.entry("ReplicationConfig")
        .or_insert(json!({"State": "ENABLED"}));
    let e = Value::Object(e);
    ENDPOINTS.put(&name, &e)?;
    Ok(endpoint_json(
        &e,
        &[
            "Name",
            "Arn",
            "RoutingConfig",
            "ReplicationConfig",
            "EventBuses",
            "RoleArn",
            "State",
        ],
    ))
}

pub fn describe_endpoint(_ctx: &Context, v: Value) -> Result<Value, AwsError> {
    Ok(endpoint_json(
        &get_endpoint(req(&v, "Name")?)?,
        &ENDPOINT_KEYS,
    ))
}

pub fn update_endpoint(_ctx: &Context, v: Value) -> Result<Value, AwsError> {
    let name = req(&v, "Name")?;
    let mut e = get_endpoint(name)?;
    check_endpoint(&v)?;
    for k in [
        "Description",
        "RoutingConfig",
        "ReplicationConfig",
        "EventBuses",
        "RoleArn",
    ] {
        if let Some(x) = v.get(k) {
            e[k] = x.clone();
        }
    }
    e["LastModifiedTime"] = json!(time::now());
    ENDPOINTS.put(name, &e)?;
    Ok(endpoint_json(
        &e,
        &[
            "Name",
            "Arn",
            "RoutingConfig",
            "ReplicationConfig",
            "EventBuses",
            "RoleArn",
            "EndpointId",
            "EndpointUrl",
            "State",
        ],
    ))
}

pub fn delete_endpoint(_ctx: &Context, v: Value) -> Result<Value, AwsError> {
    let name = req(&v, "Name")?;
    get_endpoint(name)?;
    ENDPOINTS.delete(name);
    Ok(json!({}))
}

pub fn list_endpoints(_ctx: &Context, v: Value) -> Result<Value, AwsError> {
    let prefix = s(&v, "NamePrefix").unwrap_or("");
    let all = ENDPOINTS.values(prefix)?;
    let (items, next) = page_of(all, &v)?;
    let mut out = json!({"Endpoints": items.iter().map(|e| endpoint_json(e, &ENDPOINT_KEYS)).collect::<Vec<_>>()});
    if let Some(t) = next {
        out["NextToken"] = json!(t);
    }
    Ok(out)
}
