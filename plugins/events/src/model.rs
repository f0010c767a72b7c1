//! Stored records, their tables, names ↔ ARNs, and the common errors.

use ministack_sdk::prelude::*;
use ministack_sdk::time;
use serde_json::Value;

pub const DEFAULT_BUS: &str = "default";

/// Event buses by name (the default bus is made on first use).
pub const BUSES: Table<Bus> = Table::new("buses");
/// Rules by `join([bus, rule])`.
pub const RULES: Table<Rule> = Table::new("rules");
/// Targets (the Target JSON as given) by `join([bus, rule, target id])`.
pub const TARGETS: Table<Value> = Table::new("targets");
/// Tags by resource ARN.
pub const TAGS: Table<Vec<Tag>> = Table::new("tags");

#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct Bus {
    pub name: String,
    pub arn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_identifier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dead_letter_config: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_config: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_source_name: Option<String>,
    /// The resource policy document (PutPermission).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<Value>,
    pub created: f64,
    pub modified: f64,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct Rule {
    pub name: String,
    pub bus: String,
    pub arn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_pattern: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule_expression: Option<String>,
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_by: Option<String>,
    pub created_by: String,
    pub created: f64,
    /// A new random value whenever the schedule changes, so stale fire
    /// tasks stop.
    #[serde(default)]
    pub generation: u64,
    /// The last fire time run (epoch s): tasks run at least once, so a
    /// fire that runs again is skipped.
    #[serde(default)]
    pub last_fire: i64,
}

impl Rule {
    pub fn enabled(&self) -> bool {
        self.state != "DISABLED"
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    pub key: String,
    pub value: String,
}

pub fn bus_arn(ctx: &Context, name: &str) -> String {
    ctx.arn("events", &format!("event-bus/{name}")).to_string()
}

pub fn rule_arn(ctx: &Context, bus: &str, name: &str) -> String {
    if bus == DEFAULT_BUS {
        ctx.arn("events", &format!("rule/{name}")).to_string()
    } else {
        ctx.arn("events", &format!("rule/{bus}/{name}")).to_string()
    }
}

/// A bus name from a name or an event-bus ARN (`None` when omitted: default).
pub fn bus_name(name_or_arn: Option<&str>) -> String {
    match name_or_arn {
        None | Some("") => DEFAULT_BUS.to_string(),
        Some(s) => match Arn::parse(s) {
            Some(a) => a
                .resource
                .strip_prefix("event-bus/")
                .unwrap_or(&a.resource)
                .to_string(),
            None => s.to_string(),
        },
    }
}

pub fn no_bus(name: &str) -> AwsError {
    AwsError::new(
        "ResourceNotFoundException",
        format!("Event bus {name} does not exist."),
    )
}

pub fn no_rule(rule: &str, bus: &str) -> AwsError {
    AwsError::new(
        "ResourceNotFoundException",
        format!("Rule {rule} does not exist on EventBus {bus}."),
    )
}

pub fn not_found(kind: &str, name: &str) -> AwsError {
    AwsError::new(
        "ResourceNotFoundException",
        format!("{kind} {name} does not exist."),
    )
}

pub fn exists(kind: &str, name: &str) -> AwsError {
    AwsError::new(
        "ResourceAlreadyExistsException",
        format!("{kind} {name} already exists."),
    )
}

pub fn bad_pattern(reason: &str) -> AwsError {
    AwsError::new(
        "InvalidEventPatternException",
        crate::pattern::error_message(reason),
    )
}

/// The default bus, made on first use in each account and region.
fn default_bus(ctx: &Context) -> Bus {
    let now = time::now();
    Bus {
        name: DEFAULT_BUS.into(),
        arn: bus_arn(ctx, DEFAULT_BUS),
        created: now,
        modified: now,
        ..Bus::default()
    }
}

pub fn find_bus(ctx: &Context, name: &str) -> Result<Option<Bus>, AwsError> {
    match BUSES.get(name)? {
        Some(b) => Ok(Some(b)),
        None if name == DEFAULT_BUS => Ok(Some(default_bus(ctx))),
        None => Ok(None),
    }
}

/// Whether the bus exists (the default one always does), without
/// decoding its record: what PutEvents asks once per bus.
pub fn bus_exists(name: &str) -> bool {
    name == DEFAULT_BUS || BUSES.contains(name)
}

pub fn get_bus(ctx: &Context, name: &str) -> Result<Bus, AwsError> {
    find_bus(ctx, name)?.ok_or_else(|| no_bus(name))
}

pub fn get_rule(bus: &str, name: &str) -> Result<Rule, AwsError> {
    RULES
        .get(&keys::join(&[bus, name]))?
        .ok_or_else(|| no_rule(name, bus))
}

pub fn targets_of(bus: &str, rule: &str) -> Result<Vec<Value>, AwsError> {
    TARGETS.values(&keys::prefix(&[bus, rule]))
}

/// A page size from an optional `Limit` (AWS's default is 100).
pub fn limit(l: Option<u32>) -> u32 {
    l.unwrap_or(100).clamp(1, 100)
}

/// Our own pagination errors speak EventBridge's ValidationException.
pub fn token_error(e: AwsError) -> AwsError {
    if e.code == "InvalidNextToken" || e.code.contains("Token") {
        AwsError::validation("The NextToken provided is invalid.")
    } else {
        e
    }
}

/// A string member of a JSON input.
pub fn s<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.str_member(key)
}

/// A required string member (the host has checked it is present).
pub fn req<'a>(v: &'a Value, key: &str) -> Result<&'a str, AwsError> {
    s(v, key).ok_or_else(|| {
        AwsError::validation(format!(
            "1 validation error detected: Value null at '{key}' failed to satisfy constraint: Member must not be null"
        ))
    })
}

pub fn page_size(v: &Value, key: &str) -> u32 {
    limit(v.get(key).and_then(Value::as_u64).map(|n| n as u32))
}

/// Puts `value` under `key` in an output object unless it is null.
pub fn put_opt(out: &mut serde_json::Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(v) = value.filter(|v| !v.is_null()) {
        out.insert(key.to_string(), v);
    }
}

pub fn tags_from(v: &Value) -> Vec<Tag> {
    v.get("Tags")
        .and_then(|t| serde_json::from_value(t.clone()).ok())
        .unwrap_or_default()
}

/// Merges tags into a resource's tag set (same key: new value).
pub fn add_tags(arn: &str, tags: Vec<Tag>) -> Result<(), AwsError> {
    if tags.is_empty() {
        return Ok(());
    }
    TAGS.update(arn, |old| {
        let mut all = old.unwrap_or_default();
        for t in tags {
            all.retain(|o| o.key != t.key);
            all.push(t);
        }
        Ok(all)
    })?;
    Ok(())
}

/// Checks a resource name against the model's pattern (`[\.\-_A-Za-z0-9]+`,
/// with `/` for bus names), answering AWS's validation message.
pub fn check_name(member: &str, value: &str, slash: bool) -> Result<(), AwsError> {
    use ministack_sdk::validate::{Validator, is_word_or};
    let mut v = Validator::new();
    if slash {
        v.pattern(
            member,
            value,
            is_word_or(&['/', '.', '-']),
            r"[/\.\-_A-Za-z0-9]+",
        );
    } else {
        v.pattern(member, value, is_word_or(&['.', '-']), r"[\.\-_A-Za-z0-9]+");
    }
    v.finish(AwsError::validation)
}
