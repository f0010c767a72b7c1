//! State machines, versions, aliases, activities, tags and validation.

use std::collections::BTreeMap;

use ministack_sdk::prelude::*;
use ministack_sdk::{ids, time};
use serde::{Deserialize, Serialize};

use crate::shapes::*;
use crate::validate;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Machine {
    pub arn: String,
    pub name: String,
    pub definition: String,
    pub role_arn: String,
    pub kind: String,
    pub created: f64,
    pub updated: f64,
    pub revision_id: String,
    #[serde(default)]
    pub logging: Option<LoggingConfiguration>,
    #[serde(default)]
    pub tracing: Option<TracingConfiguration>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub next_version: u32,
    /// Set on a version: the machine it belongs to.
    #[serde(default)]
    pub version_of: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Alias {
    pub arn: String,
    pub name: String,
    pub description: Option<String>,
    pub routing: Vec<(String, i32)>,
    pub created: f64,
    pub updated: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Activity {
    pub arn: String,
    pub name: String,
    pub created: f64,
}

/// Machines and their versions (key: ARN).
pub const MACHINES: Table<Machine> = Table::new("machines");
pub const ALIASES: Table<Alias> = Table::new("aliases");
pub const ACTIVITIES: Table<Activity> = Table::new("activities");
/// Tags by resource ARN.
pub const TAGS: Table<BTreeMap<String, String>> = Table::new("tags");

fn does_not_exist(arn: &str) -> AwsError {
    StateMachineDoesNotExist::new(format!("State Machine Does Not Exist: '{arn}'")).into()
}

fn check_name(name: &str) -> Result<(), AwsError> {
    let bad = name.is_empty()
        || name.len() > 80
        || name
            .chars()
            .any(|c| c.is_whitespace() || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(c) || c.is_control());
    if bad {
        return Err(InvalidName::new(format!("Invalid Name: '{name}'")).into());
    }
    Ok(())
}

fn check_arn(arn: &str, kind: &str) -> Result<(), AwsError> {
    let parts: Vec<&str> = arn.split(':').collect();
    if parts.len() < 7 || parts[0] != "arn" || parts[2] != "states" || parts[5] != kind {
        return Err(InvalidArn::new(format!("Invalid Arn: '{arn}'")).into());
    }
    Ok(())
}

/// The definition's problems as InvalidDefinition (errors only).
pub fn check_definition(definition: &str) -> Result<(), AwsError> {
    let errors: Vec<_> = validate::check(definition)
        .into_iter()
        .filter(|d| !d.warning && d.code != "UNREACHABLE_STATE")
        .collect();
    if errors.is_empty() {
        return Ok(());
    }
    let list = errors
        .iter()
        .map(|d| {
            format!(
                "{}: {} at {}",
                d.code,
                d.message,
                if d.location.is_empty() {
                    "/"
                } else {
                    &d.location
                }
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    Err(InvalidDefinition::new(format!("Invalid State Machine Definition: '{list}'")).into())
}

fn put_tags(arn: &str, tags: &[Tag]) -> Result<(), AwsError> {
    if tags.is_empty() {
        return Ok(());
    }
    TAGS.update(arn, |old| {
        let mut m = old.unwrap_or_default();
        for t in tags {
            m.insert(
                t.key.clone().unwrap_or_default(),
                t.value.clone().unwrap_or_default(),
            );
        }
        if m.len() > 50 {
            return Err(TooManyTags::new("Too many tags").into());
        }
        Ok(m)
    })?;
    Ok(())
}

/// Resolves a machine, version or alias ARN to the machine record to run
/// (an alias picks a version by weight), with the alias ARN if any.
pub fn resolve(arn: &str) -> Result<(Machine, Option<String>), AwsError> {
    if let Some(m) = MACHINES.get(arn)? {
        return Ok((m, None));
    }
    if let Some(a) = ALIASES.get(arn)? {
        let total: i32 = a.routing.iter().map(|r| r.1).sum();
        let mut pick = ministack_sdk::rand::below(total.max(1) as u64) as i32;
        for (v, w) in &a.routing {
            if pick < *w {
                let m = MACHINES.get(v)?.ok_or_else(|| does_not_exist(v))?;
                return Ok((m, Some(a.arn.clone())));
            }
            pick -= w;
        }
    }
    Err(does_not_exist(arn))
}

pub fn create_state_machine(
    ctx: &Context,
    input: CreateStateMachineInput,
) -> Result<CreateStateMachineOutput, AwsError> {
    check_name(&input.name)?;
    check_definition(&input.definition)?;
    let kind = input
        .r#type
        .map(|t| t.as_str().to_string())
        .unwrap_or_else(|| "STANDARD".into());
    let arn = ctx
        .arn("states", &format!("stateMachine:{}", input.name))
        .to_string();
    if let Some(old) = MACHINES.get(&arn)? {
        if old.definition != input.definition || old.role_arn != input.role_arn || old.kind != kind
        {
            return Err(StateMachineAlreadyExists::new(format!(
                "State Machine Already Exists: '{arn}'"
            ))
            .into());
        }
        return Ok(CreateStateMachineOutput {
            state_machine_arn: arn,
            creation_date: old.created,
            state_machine_version_arn: None,
        });
    }
    let now = time::now();
    let mut m = Machine {
        arn: arn.clone(),
        name: input.name,
        definition: input.definition,
        role_arn: input.role_arn,
        kind,
        created: now,
        updated: now,
        revision_id: ids::uuid(),
        logging: input.logging_configuration,
        tracing: input.tracing_configuration,
        description: None,
        next_version: 1,
        version_of: None,
    };
    let version = if input.publish == Some(true) {
        Some(publish(&mut m, input.version_description)?)
    } else {
        None
    };
    MACHINES.put(&arn, &m)?;
    put_tags(&arn, input.tags.as_deref().unwrap_or_default())?;
    Ok(CreateStateMachineOutput {
        state_machine_arn: arn,
        creation_date: now,
        state_machine_version_arn: version,
    })
}

fn publish(m: &mut Machine, description: Option<String>) -> Result<String, AwsError> {
    let n = m.next_version.max(1);
    m.next_version = n + 1;
    let varn = format!("{}:{n}", m.arn);
    let v = Machine {
        arn: varn.clone(),
        version_of: Some(m.arn.clone()),
        description,
        created: time::now(),
        ..m.clone()
    };
    MACHINES.put(&varn, &v)?;
    Ok(varn)
}

fn describe(m: &Machine) -> DescribeStateMachineOutput {
    DescribeStateMachineOutput {
        state_machine_arn: m.arn.clone(),
        name: m.name.clone(),
        status: Some(StateMachineStatus::from("ACTIVE")),
        definition: m.definition.clone(),
        role_arn: m.role_arn.clone(),
        r#type: StateMachineType::from(m.kind.as_str()),
        creation_date: m.created,
        logging_configuration: Some(m.logging.clone().unwrap_or(LoggingConfiguration {
            level: Some(LogLevel::from("OFF")),
            include_execution_data: Some(false),
            destinations: None,
        })),
        tracing_configuration: Some(m.tracing.clone().unwrap_or(TracingConfiguration {
            enabled: Some(false),
        })),
        revision_id: m.version_of.as_ref().map(|_| m.revision_id.clone()),
        description: m.description.clone(),
        ..Default::default()
    }
}

pub fn describe_state_machine(
    _: &Context,
    input: DescribeStateMachineInput,
) -> Result<DescribeStateMachineOutput, AwsError> {
    check_arn(&input.state_machine_arn, "stateMachine")?;
    let m = MACHINES
        .get(&input.state_machine_arn)?
        .ok_or_else(|| does_not_exist(&input.state_machine_arn))?;
    Ok(describe(&m))
}

pub fn update_state_machine(
    _: &Context,
    input: UpdateStateMachineInput,
) -> Result<UpdateStateMachineOutput, AwsError> {
    let arn = input.state_machine_arn.clone();
    let mut m = MACHINES.get(&arn)?.ok_or_else(|| does_not_exist(&arn))?;
    if m.version_of.is_some() {
        return Err(AwsError::validation(
            "Cannot update a state machine version",
        ));
    }
    if input.definition.is_none()
        && input.role_arn.is_none()
        && input.logging_configuration.is_none()
        && input.tracing_configuration.is_none()
        && input.publish.is_none()
    {
        return Err(MissingRequiredParameter::new("Either the definition, the role ARN, the LoggingConfiguration, or the TracingConfiguration must be specified").into());
    }
    if let Some(d) = input.definition {
        check_definition(&d)?;
        m.definition = d;
    }
    if let Some(r) = input.role_arn {
        m.role_arn = r;
    }
    if input.logging_configuration.is_some() {
        m.logging = input.logging_configuration;
    }
    if input.tracing_configuration.is_some() {
        m.tracing = input.tracing_configuration;
    }
    m.updated = time::now();
    m.revision_id = ids::uuid();
    let version = if input.publish == Some(true) {
        Some(publish(&mut m, input.version_description)?)
    } else {
        None
    };
    MACHINES.put(&arn, &m)?;
    Ok(UpdateStateMachineOutput {
        update_date: m.updated,
        revision_id: Some(m.revision_id),
        state_machine_version_arn: version,
    })
}

pub fn delete_state_machine(
    _: &Context,
    input: DeleteStateMachineInput,
) -> Result<DeleteStateMachineOutput, AwsError> {
    check_arn(&input.state_machine_arn, "stateMachine")?;
    let arn = &input.state_machine_arn;
    MACHINES.delete(arn);
    TAGS.delete(arn);
    for (k, v) in MACHINES.scan(&Scan::prefix(format!("{arn}:")))? {
        if v.version_of.as_deref() == Some(arn) {
            MACHINES.delete(&k);
        }
    }
    for (k, _) in ALIASES.scan(&Scan::prefix(format!("{arn}:")))? {
        ALIASES.delete(&k);
    }
    Ok(DeleteStateMachineOutput::default())
}

pub fn list_state_machines(
    _: &Context,
    input: ListStateMachinesInput,
) -> Result<ListStateMachinesOutput, AwsError> {
    let page = MACHINES.page(
        &Scan::default(),
        input.next_token.as_deref(),
        limit(input.max_results),
    )?;
    Ok(ListStateMachinesOutput {
        state_machines: page
            .items
            .into_iter()
            .filter(|(_, m)| m.version_of.is_none())
            .map(|(_, m)| StateMachineListItem {
                state_machine_arn: m.arn,
                name: m.name,
                r#type: StateMachineType::from(m.kind.as_str()),
                creation_date: m.created,
            })
            .collect(),
        next_token: page.next_token,
    })
}

pub fn limit(max: Option<i32>) -> u32 {
    match max {
        Some(n) if n > 0 => n.min(1000) as u32,
        _ => 100,
    }
}

pub fn publish_state_machine_version(
    _: &Context,
    input: PublishStateMachineVersionInput,
) -> Result<PublishStateMachineVersionOutput, AwsError> {
    let arn = input.state_machine_arn.clone();
    let mut m = MACHINES.get(&arn)?.ok_or_else(|| does_not_exist(&arn))?;
    if let Some(r) = &input.revision_id
        && *r != m.revision_id
    {
        return Err(
            ConflictException::new("The revision id does not match the state machine's").into(),
        );
    }
    let v = publish(&mut m, input.description)?;
    MACHINES.put(&arn, &m)?;
    Ok(PublishStateMachineVersionOutput {
        creation_date: time::now(),
        state_machine_version_arn: v,
    })
}

pub fn list_state_machine_versions(
    _: &Context,
    input: ListStateMachineVersionsInput,
) -> Result<ListStateMachineVersionsOutput, AwsError> {
    let arn = &input.state_machine_arn;
    let mut items: Vec<Machine> = MACHINES
        .values(&format!("{arn}:"))?
        .into_iter()
        .filter(|v| v.version_of.as_deref() == Some(arn.as_str()))
        .collect();
    items.sort_by_key(|v| {
        std::cmp::Reverse(v.arn.rsplit(':').next().and_then(|n| n.parse::<u32>().ok()))
    });
    Ok(ListStateMachineVersionsOutput {
        state_machine_versions: items
            .into_iter()
            .map(|v| StateMachineVersionListItem {
                state_machine_version_arn: v.arn,
                creation_date: v.created,
            })
            .collect(),
        next_token: None,
    })
}

pub fn delete_state_machine_version(
    _: &Context,
    input: DeleteStateMachineVersionInput,
) -> Result<DeleteStateMachineVersionOutput, AwsError> {
    let arn = &input.state_machine_version_arn;
    for a in ALIASES.values("")? {
        if a.routing.iter().any(|r| r.0 == *arn) {
            return Err(ConflictException::new(format!(
                "Version {arn} is referenced by alias {}",
                a.arn
            ))
            .into());
        }
    }
    MACHINES.delete(arn);
    Ok(DeleteStateMachineVersionOutput::default())
}

fn routing(items: Vec<RoutingConfigurationListItem>) -> Result<Vec<(String, i32)>, AwsError> {
    if items.is_empty() || items.len() > 2 || items.iter().map(|r| r.weight).sum::<i32>() != 100 {
        return Err(AwsError::validation(
            "The routing configuration must have one or two versions whose weights add up to 100",
        ));
    }
    for r in &items {
        if !MACHINES.contains(&r.state_machine_version_arn) {
            return Err(ResourceNotFound::new(format!(
                "Resource not found: '{}'",
                r.state_machine_version_arn
            ))
            .into());
        }
    }
    Ok(items
        .into_iter()
        .map(|r| (r.state_machine_version_arn, r.weight))
        .collect())
}

pub fn create_state_machine_alias(
    _: &Context,
    input: CreateStateMachineAliasInput,
) -> Result<CreateStateMachineAliasOutput, AwsError> {
    check_name(&input.name)?;
    let routes = routing(input.routing_configuration)?;
    let first = &routes[0].0;
    let machine = first
        .rsplit_once(':')
        .map(|(m, _)| m.to_string())
        .unwrap_or_default();
    let arn = format!("{machine}:{}", input.name);
    if ALIASES.contains(&arn) {
        return Err(ConflictException::new(format!("Alias {arn} already exists")).into());
    }
    let now = time::now();
    ALIASES.put(
        &arn,
        &Alias {
            arn: arn.clone(),
            name: input.name,
            description: input.description,
            routing: routes,
            created: now,
            updated: now,
        },
    )?;
    Ok(CreateStateMachineAliasOutput {
        state_machine_alias_arn: arn,
        creation_date: now,
    })
}

fn alias(arn: &str) -> Result<Alias, AwsError> {
    ALIASES
        .get(arn)?
        .ok_or_else(|| ResourceNotFound::new(format!("Resource not found: '{arn}'")).into())
}

fn routing_out(a: &Alias) -> Vec<RoutingConfigurationListItem> {
    a.routing
        .iter()
        .map(|(v, w)| RoutingConfigurationListItem {
            state_machine_version_arn: v.clone(),
            weight: *w,
        })
        .collect()
}

pub fn describe_state_machine_alias(
    _: &Context,
    input: DescribeStateMachineAliasInput,
) -> Result<DescribeStateMachineAliasOutput, AwsError> {
    let a = alias(&input.state_machine_alias_arn)?;
    Ok(DescribeStateMachineAliasOutput {
        state_machine_alias_arn: Some(a.arn.clone()),
        name: Some(a.name.clone()),
        description: a.description.clone(),
        routing_configuration: Some(routing_out(&a)),
        creation_date: Some(a.created),
        update_date: Some(a.updated),
    })
}

pub fn update_state_machine_alias(
    _: &Context,
    input: UpdateStateMachineAliasInput,
) -> Result<UpdateStateMachineAliasOutput, AwsError> {
    let mut a = alias(&input.state_machine_alias_arn)?;
    if let Some(r) = input.routing_configuration {
        a.routing = routing(r)?;
    }
    if input.description.is_some() {
        a.description = input.description;
    }
    a.updated = time::now();
    ALIASES.put(&a.arn, &a)?;
    Ok(UpdateStateMachineAliasOutput {
        update_date: a.updated,
    })
}

pub fn delete_state_machine_alias(
    _: &Context,
    input: DeleteStateMachineAliasInput,
) -> Result<DeleteStateMachineAliasOutput, AwsError> {
    ALIASES.delete(&input.state_machine_alias_arn);
    Ok(DeleteStateMachineAliasOutput::default())
}

pub fn list_state_machine_aliases(
    _: &Context,
    input: ListStateMachineAliasesInput,
) -> Result<ListStateMachineAliasesOutput, AwsError> {
    let arn = &input.state_machine_arn;
    let base = arn.splitn(8, ':').take(7).collect::<Vec<_>>().join(":");
    Ok(ListStateMachineAliasesOutput {
        state_machine_aliases: ALIASES
            .values(&format!("{base}:"))?
            .into_iter()
            .map(|a| StateMachineAliasListItem {
                state_machine_alias_arn: a.arn,
                creation_date: a.created,
            })
            .collect(),
        next_token: None,
    })
}

pub fn create_activity(
    ctx: &Context,
    input: CreateActivityInput,
) -> Result<CreateActivityOutput, AwsError> {
    check_name(&input.name)?;
    let arn = ctx
        .arn("states", &format!("activity:{}", input.name))
        .to_string();
    let a = match ACTIVITIES.get(&arn)? {
        Some(a) => a,
        None => {
            let a = Activity {
                arn: arn.clone(),
                name: input.name,
                created: time::now(),
            };
            ACTIVITIES.put(&arn, &a)?;
            a
        }
    };
    put_tags(&arn, input.tags.as_deref().unwrap_or_default())?;
    Ok(CreateActivityOutput {
        activity_arn: arn,
        creation_date: a.created,
    })
}

pub fn describe_activity(
    _: &Context,
    input: DescribeActivityInput,
) -> Result<DescribeActivityOutput, AwsError> {
    check_arn(&input.activity_arn, "activity")?;
    let a = ACTIVITIES.get(&input.activity_arn)?.ok_or_else(|| {
        AwsError::from(ActivityDoesNotExist::new(format!(
            "Activity Does Not Exist: '{}'",
            input.activity_arn
        )))
    })?;
    Ok(DescribeActivityOutput {
        activity_arn: a.arn,
        name: a.name,
        creation_date: a.created,
        encryption_configuration: None,
    })
}

pub fn delete_activity(
    _: &Context,
    input: DeleteActivityInput,
) -> Result<DeleteActivityOutput, AwsError> {
    check_arn(&input.activity_arn, "activity")?;
    ACTIVITIES.delete(&input.activity_arn);
    TAGS.delete(&input.activity_arn);
    Ok(DeleteActivityOutput::default())
}

pub fn list_activities(
    _: &Context,
    input: ListActivitiesInput,
) -> Result<ListActivitiesOutput, AwsError> {
    let page = ACTIVITIES.page(
        &Scan::default(),
        input.next_token.as_deref(),
        limit(input.max_results),
    )?;
    Ok(ListActivitiesOutput {
        activities: page
            .items
            .into_iter()
            .map(|(_, a)| ActivityListItem {
                activity_arn: a.arn,
                name: a.name,
                creation_date: a.created,
            })
            .collect(),
        next_token: page.next_token,
    })
}

fn tagged_exists(arn: &str) -> Result<(), AwsError> {
    if MACHINES.contains(arn) || ACTIVITIES.contains(arn) {
        return Ok(());
    }
    Err(ResourceNotFound::new(format!("Resource not found: '{arn}'")).into())
}

pub fn tag_resource(_: &Context, input: TagResourceInput) -> Result<TagResourceOutput, AwsError> {
    tagged_exists(&input.resource_arn)?;
    put_tags(&input.resource_arn, &input.tags)?;
    Ok(TagResourceOutput::default())
}

pub fn untag_resource(
    _: &Context,
    input: UntagResourceInput,
) -> Result<UntagResourceOutput, AwsError> {
    tagged_exists(&input.resource_arn)?;
    if let Some(mut m) = TAGS.get(&input.resource_arn)? {
        for k in &input.tag_keys {
            m.remove(k);
        }
        TAGS.put(&input.resource_arn, &m)?;
    }
    Ok(UntagResourceOutput::default())
}

pub fn list_tags_for_resource(
    _: &Context,
    input: ListTagsForResourceInput,
) -> Result<ListTagsForResourceOutput, AwsError> {
    tagged_exists(&input.resource_arn)?;
    let m = TAGS.get(&input.resource_arn)?.unwrap_or_default();
    Ok(ListTagsForResourceOutput {
        tags: Some(
            m.into_iter()
                .map(|(k, v)| Tag {
                    key: Some(k),
                    value: Some(v),
                })
                .collect(),
        ),
    })
}

pub fn validate_state_machine_definition(
    _: &Context,
    input: ValidateStateMachineDefinitionInput,
) -> Result<ValidateStateMachineDefinitionOutput, AwsError> {
    let diags = validate::check(&input.definition);
    let max = input.max_results.filter(|m| *m > 0).unwrap_or(100) as usize;
    let fail = diags.iter().any(|d| !d.warning);
    let truncated = diags.len() > max;
    Ok(ValidateStateMachineDefinitionOutput {
        result: ValidateStateMachineDefinitionResultCode::from(if fail { "FAIL" } else { "OK" }),
        diagnostics: diags
            .into_iter()
            .take(max)
            .map(|d| ValidateStateMachineDefinitionDiagnostic {
                severity: ValidateStateMachineDefinitionSeverity::from(if d.warning {
                    "WARNING"
                } else {
                    "ERROR"
                }),
                code: d.code.to_string(),
                message: d.message,
                location: (!d.location.is_empty()).then_some(d.location),
            })
            .collect(),
        truncated: Some(truncated),
    })
}
