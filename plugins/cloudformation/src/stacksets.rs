//! StackSets: one template deployed as a stack instance (a real stack) in
//! each target account and region. The stack set, its instances and its
//! operations live in the administrator's account and region; an
//! operation is the durable task `stack-set-operation`, which creates,
//! updates or deletes the instances' stacks through this plugin's own
//! CreateStack / UpdateStack / DeleteStack in the target account and
//! region (`services.call` may act for any account and region), batch by
//! batch as the OperationPreferences say, and polls them with
//! DescribeStacks. A restart resumes a running operation (the boot hook).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use ministack_sdk::prelude::*;
use ministack_sdk::services::{self, Target};
use ministack_sdk::tasks;
use serde_json::{Value, json};

use crate::shapes::*;

/// Stack sets by id (`<name>:<uuid>`), deleted ones too.
const SETS: Table<StackSetRecord> = Table::new("stack-sets");
/// Live stack set name → id.
const SET_NAMES: Table<String> = Table::new("stack-set-names");
/// `<set id>/<account>/<region>` → instance.
const INSTANCES: Table<Instance> = Table::new("stack-instances");
/// `<set id>/<operation id>` → operation.
const OPERATIONS: Table<SetOperation> = Table::new("stack-set-operations");
/// `<set id>/<operation id>` of operations asked to stop (a table of its
/// own: the running task rewrites the operation record).
const STOPS: Table<bool> = Table::new("stack-set-stops");

pub const OPERATION_TASK: &str = "stack-set-operation";
pub const RESUME_TASK: &str = "resume-stack-set-operations";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StackSetRecord {
    id: String,
    name: String,
    arn: String,
    description: Option<String>,
    status: String,
    template_body: String,
    parameters: Vec<Parameter>,
    capabilities: Vec<String>,
    tags: Vec<Tag>,
    administration_role_arn: Option<String>,
    execution_role_name: Option<String>,
    permission_model: String,
    auto_deployment: Option<AutoDeployment>,
    managed_execution: Option<ManagedExecution>,
    organizational_unit_ids: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Instance {
    set_id: String,
    account: String,
    region: String,
    organizational_unit_id: Option<String>,
    stack_name: String,
    stack_id: Option<String>,
    /// CURRENT, OUTDATED or INOPERABLE.
    status: String,
    /// PENDING, RUNNING, SUCCEEDED, FAILED, CANCELLED, INOPERABLE.
    detailed_status: String,
    reason: Option<String>,
    overrides: Vec<Parameter>,
    last_operation_id: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TargetResult {
    account: String,
    region: String,
    organizational_unit_id: Option<String>,
    /// PENDING, RUNNING, SUCCEEDED, FAILED, CANCELLED.
    status: String,
    reason: Option<String>,
    /// The target's stack operation was accepted (now polled).
    started: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SetOperation {
    id: String,
    set_id: String,
    /// CREATE, UPDATE or DELETE.
    action: String,
    /// RUNNING, SUCCEEDED, FAILED, STOPPING, STOPPED.
    status: String,
    status_reason: Option<String>,
    preferences: StackSetOperationPreferences,
    retain_stacks: Option<bool>,
    deployment_targets: Option<DeploymentTargets>,
    created: f64,
    ended: Option<f64>,
    results: Vec<TargetResult>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct OperationPayload {
    set_id: String,
    operation_id: String,
}

fn not_found(name: &str) -> AwsError {
    AwsError::new(
        "StackSetNotFoundException",
        format!("StackSet {name} not found"),
    )
    .with_status(404)
}

fn find_set(name_or_id: &str) -> Result<StackSetRecord, AwsError> {
    let id = if name_or_id.contains(':') {
        Some(name_or_id.to_string())
    } else {
        SET_NAMES.get(name_or_id)?
    };
    match id {
        Some(id) => SETS.get(&id)?.ok_or_else(|| not_found(name_or_id)),
        None => Err(not_found(name_or_id)),
    }
}

fn live_set(name_or_id: &str) -> Result<StackSetRecord, AwsError> {
    let set = find_set(name_or_id)?;
    if set.status == "DELETED" {
        return Err(not_found(name_or_id));
    }
    Ok(set)
}

fn operations_of(set_id: &str) -> Result<Vec<SetOperation>, AwsError> {
    let mut ops = OPERATIONS.values(&format!("{set_id}/"))?;
    ops.sort_by(|a, b| b.created.total_cmp(&a.created));
    Ok(ops)
}

fn instances_of(set_id: &str) -> Result<Vec<Instance>, AwsError> {
    INSTANCES.values(&format!("{set_id}/"))
}

fn instance_key(set_id: &str, account: &str, region: &str) -> String {
    format!("{set_id}/{account}/{region}")
}

fn require_idle(set: &StackSetRecord) -> Result<(), AwsError> {
    if operations_of(&set.id)?
        .iter()
        .any(|o| o.status == "RUNNING" || o.status == "STOPPING")
    {
        return Err(AwsError::new(
            "OperationInProgressException",
            format!("Another Operation on StackSet {} is in progress", set.arn),
        )
        .with_status(409));
    }
    Ok(())
}

/// Checks a stack set's template as CreateStack would (parse, transforms,
/// capabilities, known types).
fn check_template(
    ctx: &Context,
    body: &str,
    parameters: &[Parameter],
    capabilities: &[String],
) -> Result<(), AwsError> {
    let given = crate::ops::given_parameters(Some(parameters.to_vec()), None)?;
    let tpl = crate::ops::load(ctx, body, &given, Some(capabilities))?;
    crate::ops::check_capabilities(&tpl, capabilities)?;
    crate::ops::check_types(ctx, &tpl)
}

fn permission_model(p: Option<&PermissionModels>) -> String {
    p.map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "SELF_MANAGED".to_string())
}

pub fn create_stack_set(ctx: &Context, input: CreateStackSetInput) -> Result<Value, AwsError> {
    let name = input.stack_set_name;
    let valid = !name.is_empty()
        && name.len() <= 128
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !valid {
        return Err(AwsError::validation_error(format!(
            "1 validation error detected: Value '{name}' at 'stackSetName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z][-a-zA-Z0-9]*"
        )));
    }
    if SET_NAMES.get(&name)?.is_some() {
        return Err(AwsError::new(
            "NameAlreadyExistsException",
            format!("StackSet {name} already exists"),
        )
        .with_status(409));
    }
    let body = match (input.template_body, input.template_url, input.stack_id) {
        (None, None, Some(stack)) => crate::stacks::require(&stack)?.template_body,
        (body, url, _) => crate::ops::body_of(body, url)?,
    };
    let capabilities = crate::ops::caps(input.capabilities);
    let parameters = input.parameters.unwrap_or_default();
    check_template(ctx, &body, &parameters, &capabilities)?;
    let model = permission_model(input.permission_model.as_ref());
    if model == "SERVICE_MANAGED" && input.auto_deployment.is_none() {
        return Err(AwsError::validation_error(
            "Auto deployment must be specified for SERVICE_MANAGED permission model",
        ));
    }
    let id = format!("{name}:{}", ministack_sdk::ids::uuid());
    let set = StackSetRecord {
        arn: format!(
            "arn:{}:cloudformation:{}:{}:stackset/{id}",
            ctx.partition(),
            ctx.region,
            ctx.account
        ),
        id: id.clone(),
        name: name.clone(),
        description: input.description,
        status: "ACTIVE".into(),
        template_body: body,
        parameters,
        capabilities,
        tags: input.tags.unwrap_or_default(),
        administration_role_arn: if model == "SELF_MANAGED" {
            Some(input.administration_role_arn.unwrap_or_else(|| {
                format!(
                    "arn:{}:iam::{}:role/AWSCloudFormationStackSetAdministrationRole",
                    ctx.partition(),
                    ctx.account
                )
            }))
        } else {
            None
        },
        execution_role_name: (model == "SELF_MANAGED").then(|| {
            input
                .execution_role_name
                .unwrap_or_else(|| "AWSCloudFormationStackSetExecutionRole".into())
        }),
        permission_model: model,
        auto_deployment: input.auto_deployment,
        managed_execution: input.managed_execution,
        organizational_unit_ids: Vec::new(),
    };
    SETS.put(&id, &set)?;
    SET_NAMES.put(&name, &id)?;
    Ok(json!({"StackSetId": id}))
}

fn describe_set(set: &StackSetRecord) -> Result<Value, AwsError> {
    let regions: BTreeSet<String> = instances_of(&set.id)?
        .into_iter()
        .map(|i| i.region)
        .collect();
    let mut v = json!({
        "StackSetName": set.name,
        "StackSetId": set.id,
        "StackSetARN": set.arn,
        "Status": set.status,
        "TemplateBody": set.template_body,
        "Parameters": set.parameters,
        "Capabilities": set.capabilities,
        "Tags": set.tags,
        "PermissionModel": set.permission_model,
        "Regions": regions,
        "ManagedExecution": set.managed_execution.clone().unwrap_or(ManagedExecution { active: Some(false) }),
    });
    if let Some(d) = &set.description {
        v["Description"] = json!(d);
    }
    if let Some(r) = &set.administration_role_arn {
        v["AdministrationRoleARN"] = json!(r);
    }
    if let Some(r) = &set.execution_role_name {
        v["ExecutionRoleName"] = json!(r);
    }
    if let Some(a) = &set.auto_deployment {
        v["AutoDeployment"] = json!(a);
    }
    if set.permission_model == "SERVICE_MANAGED" {
        v["OrganizationalUnitIds"] = json!(set.organizational_unit_ids);
    }
    Ok(v)
}

pub fn describe_stack_set(_: &Context, input: DescribeStackSetInput) -> Result<Value, AwsError> {
    let set = find_set(&input.stack_set_name)?;
    Ok(json!({"StackSet": describe_set(&set)?}))
}

/// One page of `items` (already in order, each with its key): the items
/// after the token's key, at most `max`.
fn page<T>(
    items: Vec<(String, T)>,
    token: Option<String>,
    max: Option<i32>,
) -> Result<(Vec<T>, Option<String>), AwsError> {
    let max = max.unwrap_or(100).clamp(1, 100) as usize;
    let start = match token {
        None => 0,
        Some(t) => {
            let key = ministack_sdk::pagination::decode(&t)
                .ok_or_else(|| AwsError::validation_error("Invalid NextToken"))?;
            items
                .iter()
                .position(|(k, _)| *k == key)
                .map(|p| p + 1)
                .unwrap_or(items.len())
        }
    };
    let rest: Vec<(String, T)> = items.into_iter().skip(start).collect();
    let more = rest.len() > max;
    let mut out = Vec::new();
    let mut last = None;
    for (k, v) in rest.into_iter().take(max) {
        last = Some(k);
        out.push(v);
    }
    let next = if more {
        last.map(|k| ministack_sdk::pagination::encode(&k))
    } else {
        None
    };
    Ok((out, next))
}

pub fn list_stack_sets(_: &Context, input: ListStackSetsInput) -> Result<Value, AwsError> {
    let status = input.status.map(|s| s.as_str().to_string());
    let mut sets: Vec<StackSetRecord> = SETS
        .values("")?
        .into_iter()
        .filter(|s| status.as_ref().is_none_or(|f| *f == s.status))
        .collect();
    sets.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    let items = sets
        .into_iter()
        .map(|s| {
            let mut v = json!({
                "StackSetName": s.name,
                "StackSetId": s.id,
                "Status": s.status,
                "PermissionModel": s.permission_model,
                "DriftStatus": "NOT_CHECKED",
                "ManagedExecution": s.managed_execution.clone().unwrap_or(ManagedExecution { active: Some(false) }),
            });
            if let Some(d) = &s.description {
                v["Description"] = json!(d);
            }
            if let Some(a) = &s.auto_deployment {
                v["AutoDeployment"] = json!(a);
            }
            (s.id, v)
        })
        .collect();
    let (summaries, next) = page(items, input.next_token, input.max_results)?;
    let mut out = json!({"Summaries": summaries});
    if let Some(n) = next {
        out["NextToken"] = json!(n);
    }
    Ok(out)
}

pub fn delete_stack_set(_: &Context, input: DeleteStackSetInput) -> Result<Value, AwsError> {
    let Ok(mut set) = live_set(&input.stack_set_name) else {
        return Ok(json!({}));
    };
    require_idle(&set)?;
    if !instances_of(&set.id)?.is_empty() {
        return Err(AwsError::new(
            "StackSetNotEmptyException",
            format!(
                "StackSet is not empty: {} still has stack instances",
                set.name
            ),
        )
        .with_status(409));
    }
    set.status = "DELETED".into();
    SETS.put(&set.id, &set)?;
    SET_NAMES.delete(&set.name);
    Ok(json!({}))
}

/// The (account, organizational unit) pairs an operation targets.
/// SELF_MANAGED: `Accounts` (or `DeploymentTargets.Accounts`). SERVICE_MANAGED:
/// `DeploymentTargets` with `OrganizationalUnitIds`; no Organizations
/// service runs here, so the OUs' members are the accounts given in
/// `DeploymentTargets.Accounts` (INTERSECTION and UNION deploy to them,
/// DIFFERENCE and NONE to none). `existing`: for updates and deletes,
/// the instances an OU selects.
fn resolve_accounts(
    set: &StackSetRecord,
    accounts: Option<Vec<String>>,
    targets: Option<&DeploymentTargets>,
    existing: &[Instance],
) -> Result<Vec<(String, Option<String>)>, AwsError> {
    let target_accounts = targets.and_then(|t| t.accounts.clone()).unwrap_or_default();
    let ous = targets
        .and_then(|t| t.organizational_unit_ids.clone())
        .unwrap_or_default();
    if targets.is_some_and(|t| t.accounts_url.is_some()) {
        return Err(AwsError::validation_error(
            "AccountsUrl is not supported by this gateway: list the accounts in Accounts",
        ));
    }
    let out: Vec<(String, Option<String>)> = if set.permission_model == "SERVICE_MANAGED" {
        if accounts.is_some() {
            return Err(AwsError::validation_error(
                "StackSets with SERVICE_MANAGED permission model can only have OrganizationalUnit as target",
            ));
        }
        if ous.is_empty() {
            return Err(AwsError::validation_error(
                "OrganizationalUnitIds are required for StackSets with SERVICE_MANAGED permission model",
            ));
        }
        for ou in &ous {
            let ok = (ou.starts_with("ou-") || ou.starts_with("r-")) && ou.len() > 4;
            if !ok {
                return Err(AwsError::validation_error(format!(
                    "1 validation error detected: Value '{ou}' at 'deploymentTargets.organizationalUnitIds' failed to satisfy constraint: Member must satisfy regular expression pattern: ^(ou-[a-z0-9]{{4,32}}-[a-z0-9]{{8,32}}|r-[a-z0-9]{{4,32}})$"
                )));
            }
        }
        let filter = targets
            .and_then(|t| t.account_filter_type.as_ref())
            .map(|f| f.as_str().to_string())
            .unwrap_or_else(|| "NONE".into());
        let mut out: Vec<(String, Option<String>)> = match filter.as_str() {
            "INTERSECTION" | "UNION" => target_accounts
                .iter()
                .map(|a| (a.clone(), Some(ous[0].clone())))
                .collect(),
            _ => Vec::new(),
        };
        // The OUs also select the instances already deployed under them.
        for i in existing {
            if let Some(ou) = &i.organizational_unit_id
                && ous.contains(ou)
                && filter != "DIFFERENCE"
                && !out.iter().any(|(a, _)| *a == i.account)
            {
                out.push((i.account.clone(), Some(ou.clone())));
            }
        }
        out
    } else {
        if !ous.is_empty() {
            return Err(AwsError::validation_error(
                "StackSets with SELF_MANAGED permission model can only have accounts as target",
            ));
        }
        let list = match accounts {
            Some(a) => a,
            None => target_accounts,
        };
        if list.is_empty() {
            return Err(AwsError::validation_error(
                "Either Accounts or DeploymentTargets should be specified",
            ));
        }
        list.into_iter().map(|a| (a, None)).collect()
    };
    for (a, _) in &out {
        if !ministack_sdk::ids::is_account_id(a) {
            return Err(AwsError::validation_error(format!(
                "1 validation error detected: Value '[{a}]' at 'accounts' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy regular expression pattern: ^[0-9]{{12}}$]"
            )));
        }
    }
    let mut seen = BTreeSet::new();
    Ok(out
        .into_iter()
        .filter(|(a, _)| seen.insert(a.clone()))
        .collect())
}

fn check_regions(regions: &[String]) -> Result<(), AwsError> {
    if regions.is_empty() {
        return Err(AwsError::validation_error(
            "1 validation error detected: Value '[]' at 'regions' failed to satisfy constraint: Member must have length greater than or equal to 1",
        ));
    }
    for r in regions {
        let ok = !r.is_empty()
            && r.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && r.contains('-');
        if !ok {
            return Err(AwsError::validation_error(format!(
                "The region {r} is not a valid region"
            )));
        }
    }
    Ok(())
}

fn check_preferences(p: &StackSetOperationPreferences) -> Result<(), AwsError> {
    if p.failure_tolerance_count.is_some() && p.failure_tolerance_percentage.is_some() {
        return Err(AwsError::validation_error(
            "FailureToleranceCount and FailureTolerancePercentage cannot both be specified",
        ));
    }
    if p.max_concurrent_count.is_some() && p.max_concurrent_percentage.is_some() {
        return Err(AwsError::validation_error(
            "MaxConcurrentCount and MaxConcurrentPercentage cannot both be specified",
        ));
    }
    Ok(())
}

/// Starts an operation over `targets` × `regions`.
#[allow(clippy::too_many_arguments)]
fn begin(
    set: &StackSetRecord,
    action: &str,
    operation_id: Option<String>,
    preferences: Option<StackSetOperationPreferences>,
    deployment_targets: Option<DeploymentTargets>,
    retain_stacks: Option<bool>,
    targets: Vec<(String, Option<String>, String)>,
) -> Result<String, AwsError> {
    let id = operation_id.unwrap_or_else(ministack_sdk::ids::uuid);
    if OPERATIONS.get(&format!("{}/{id}", set.id))?.is_some() {
        return Err(AwsError::new(
            "OperationIdAlreadyExistsException",
            format!("The operation id {id} already exists"),
        )
        .with_status(409));
    }
    let preferences = preferences.unwrap_or_default();
    check_preferences(&preferences)?;
    let op = SetOperation {
        id: id.clone(),
        set_id: set.id.clone(),
        action: action.into(),
        status: "RUNNING".into(),
        preferences,
        retain_stacks,
        deployment_targets,
        created: ministack_sdk::time::now(),
        results: targets
            .into_iter()
            .map(|(account, ou, region)| TargetResult {
                account,
                region,
                organizational_unit_id: ou,
                status: "PENDING".into(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    OPERATIONS.put(&format!("{}/{id}", set.id), &op)?;
    tasks::schedule(
        Duration::ZERO,
        OPERATION_TASK,
        &OperationPayload {
            set_id: set.id.clone(),
            operation_id: id.clone(),
        },
    )?;
    Ok(id)
}

fn pending_instance(
    set: &StackSetRecord,
    account: &str,
    region: &str,
    ou: Option<String>,
    op_id: &str,
) -> Instance {
    Instance {
        set_id: set.id.clone(),
        account: account.into(),
        region: region.into(),
        organizational_unit_id: ou,
        stack_name: format!("StackSet-{}-{}", set.name, ministack_sdk::ids::uuid()),
        status: "OUTDATED".into(),
        detailed_status: "PENDING".into(),
        last_operation_id: op_id.into(),
        ..Default::default()
    }
}

pub fn create_stack_instances(
    _: &Context,
    input: CreateStackInstancesInput,
) -> Result<Value, AwsError> {
    let mut set = live_set(&input.stack_set_name)?;
    require_idle(&set)?;
    check_regions(&input.regions)?;
    let accounts = resolve_accounts(&set, input.accounts, input.deployment_targets.as_ref(), &[])?;
    let mut targets = Vec::new();
    for (account, ou) in &accounts {
        for region in &input.regions {
            targets.push((account.clone(), ou.clone(), region.clone()));
        }
    }
    let op_id = begin(
        &set,
        "CREATE",
        input.operation_id,
        input.operation_preferences,
        input.deployment_targets.clone(),
        None,
        targets.clone(),
    )?;
    let overrides = input.parameter_overrides.unwrap_or_default();
    for (account, ou, region) in targets {
        let key = instance_key(&set.id, &account, &region);
        let mut instance = INSTANCES
            .get(&key)?
            .unwrap_or_else(|| pending_instance(&set, &account, &region, ou.clone(), &op_id));
        instance.status = "OUTDATED".into();
        instance.detailed_status = "PENDING".into();
        instance.last_operation_id = op_id.clone();
        if !overrides.is_empty() {
            instance.overrides = overrides.clone();
        }
        INSTANCES.put(&key, &instance)?;
    }
    if let Some(ous) = input
        .deployment_targets
        .and_then(|t| t.organizational_unit_ids)
    {
        for ou in ous {
            if !set.organizational_unit_ids.contains(&ou) {
                set.organizational_unit_ids.push(ou);
            }
        }
        SETS.put(&set.id, &set)?;
    }
    Ok(json!({"OperationId": op_id}))
}

/// The existing instances an update or delete of instances targets.
fn selected_instances(
    set: &StackSetRecord,
    accounts: Option<Vec<String>>,
    targets: Option<&DeploymentTargets>,
    regions: &[String],
    must_exist: bool,
) -> Result<Vec<Instance>, AwsError> {
    let existing = instances_of(&set.id)?;
    let wanted = resolve_accounts(set, accounts, targets, &existing)?;
    let mut out = Vec::new();
    for (account, _) in &wanted {
        for region in regions {
            match INSTANCES.get(&instance_key(&set.id, account, region))? {
                Some(i) => out.push(i),
                None if must_exist => {
                    return Err(AwsError::new(
                        "StackInstanceNotFoundException",
                        format!(
                            "Stack instance with account {account} and region {region} not found in StackSet {}",
                            set.id
                        ),
                    )
                    .with_status(404));
                }
                None => {}
            }
        }
    }
    Ok(out)
}

fn mark(instances: &[Instance], op_id: &str) -> Result<(), AwsError> {
    for i in instances {
        let mut i = i.clone();
        i.status = "OUTDATED".into();
        i.detailed_status = "PENDING".into();
        i.last_operation_id = op_id.into();
        INSTANCES.put(&instance_key(&i.set_id, &i.account, &i.region), &i)?;
    }
    Ok(())
}

fn instance_targets(instances: &[Instance]) -> Vec<(String, Option<String>, String)> {
    instances
        .iter()
        .map(|i| {
            (
                i.account.clone(),
                i.organizational_unit_id.clone(),
                i.region.clone(),
            )
        })
        .collect()
}

pub fn update_stack_instances(
    _: &Context,
    input: UpdateStackInstancesInput,
) -> Result<Value, AwsError> {
    let set = live_set(&input.stack_set_name)?;
    require_idle(&set)?;
    check_regions(&input.regions)?;
    let instances = selected_instances(
        &set,
        input.accounts,
        input.deployment_targets.as_ref(),
        &input.regions,
        true,
    )?;
    let op_id = begin(
        &set,
        "UPDATE",
        input.operation_id,
        input.operation_preferences,
        input.deployment_targets,
        None,
        instance_targets(&instances),
    )?;
    mark(&instances, &op_id)?;
    if let Some(overrides) = input.parameter_overrides {
        for i in &instances {
            let key = instance_key(&i.set_id, &i.account, &i.region);
            INSTANCES.update(&key, |cur| {
                let mut cur = cur.unwrap_or_default();
                cur.overrides = overrides.clone();
                Ok(cur)
            })?;
        }
    }
    Ok(json!({"OperationId": op_id}))
}

pub fn delete_stack_instances(
    _: &Context,
    input: DeleteStackInstancesInput,
) -> Result<Value, AwsError> {
    let set = live_set(&input.stack_set_name)?;
    require_idle(&set)?;
    check_regions(&input.regions)?;
    let instances = selected_instances(
        &set,
        input.accounts,
        input.deployment_targets.as_ref(),
        &input.regions,
        false,
    )?;
    let op_id = begin(
        &set,
        "DELETE",
        input.operation_id,
        input.operation_preferences,
        input.deployment_targets,
        Some(input.retain_stacks),
        instance_targets(&instances),
    )?;
    mark(&instances, &op_id)?;
    Ok(json!({"OperationId": op_id}))
}

pub fn update_stack_set(ctx: &Context, input: UpdateStackSetInput) -> Result<Value, AwsError> {
    let mut set = live_set(&input.stack_set_name)?;
    require_idle(&set)?;
    let body = if input.use_previous_template == Some(true) {
        set.template_body.clone()
    } else {
        match (input.template_body, input.template_url) {
            (None, None) => set.template_body.clone(),
            (b, u) => crate::ops::body_of(b, u)?,
        }
    };
    let capabilities = match input.capabilities {
        Some(c) => crate::ops::caps(Some(c)),
        None => set.capabilities.clone(),
    };
    // UsePreviousValue keeps the set's value of a parameter.
    let parameters = match input.parameters {
        Some(list) => list
            .into_iter()
            .map(|p| {
                if p.use_previous_value == Some(true) {
                    set.parameters
                        .iter()
                        .find(|o| o.parameter_key == p.parameter_key)
                        .cloned()
                        .unwrap_or(p)
                } else {
                    p
                }
            })
            .collect(),
        None => set.parameters.clone(),
    };
    check_template(ctx, &body, &parameters, &capabilities)?;
    let existing = instances_of(&set.id)?;
    // Accounts/DeploymentTargets with Regions limit the update to those instances.
    let instances = match &input.regions {
        Some(regions) if input.accounts.is_some() || input.deployment_targets.is_some() => {
            check_regions(regions)?;
            selected_instances(
                &set,
                input.accounts.clone(),
                input.deployment_targets.as_ref(),
                regions,
                true,
            )?
        }
        _ => existing,
    };
    set.template_body = body;
    set.parameters = parameters;
    set.capabilities = capabilities;
    if let Some(d) = input.description {
        set.description = Some(d);
    }
    if let Some(t) = input.tags {
        set.tags = t;
    }
    if let Some(r) = input.administration_role_arn {
        set.administration_role_arn = Some(r);
    }
    if let Some(r) = input.execution_role_name {
        set.execution_role_name = Some(r);
    }
    if let Some(a) = input.auto_deployment {
        set.auto_deployment = Some(a);
    }
    if let Some(m) = input.managed_execution {
        set.managed_execution = Some(m);
    }
    if let Some(p) = input.permission_model {
        set.permission_model = p.as_str().to_string();
    }
    SETS.put(&set.id, &set)?;
    let op_id = begin(
        &set,
        "UPDATE",
        input.operation_id,
        input.operation_preferences,
        input.deployment_targets,
        None,
        instance_targets(&instances),
    )?;
    mark(&instances, &op_id)?;
    Ok(json!({"OperationId": op_id}))
}

fn instance_json(i: &Instance, full: bool) -> Value {
    let mut v = json!({
        "StackSetId": i.set_id,
        "Region": i.region,
        "Account": i.account,
        "Status": i.status,
        "StackInstanceStatus": {"DetailedStatus": i.detailed_status},
        "DriftStatus": "NOT_CHECKED",
        "LastOperationId": i.last_operation_id,
    });
    if let Some(id) = &i.stack_id {
        v["StackId"] = json!(id);
    }
    if let Some(r) = &i.reason {
        v["StatusReason"] = json!(r);
    }
    if let Some(ou) = &i.organizational_unit_id {
        v["OrganizationalUnitId"] = json!(ou);
    }
    if full {
        v["ParameterOverrides"] = json!(i.overrides);
    }
    v
}

pub fn list_stack_instances(
    _: &Context,
    input: ListStackInstancesInput,
) -> Result<Value, AwsError> {
    let set = find_set(&input.stack_set_name)?;
    let filters: Vec<(String, String)> = input
        .filters
        .unwrap_or_default()
        .into_iter()
        .filter_map(|f| Some((f.name?.as_str().to_string(), f.values?)))
        .collect();
    let items = instances_of(&set.id)?
        .into_iter()
        .filter(|i| {
            input
                .stack_instance_account
                .as_ref()
                .is_none_or(|a| *a == i.account)
        })
        .filter(|i| {
            input
                .stack_instance_region
                .as_ref()
                .is_none_or(|r| *r == i.region)
        })
        .filter(|i| {
            filters.iter().all(|(name, value)| match name.as_str() {
                "DETAILED_STATUS" => i.detailed_status == *value,
                "LAST_OPERATION_ID" => i.last_operation_id == *value,
                "DRIFT_STATUS" => value == "NOT_CHECKED",
                _ => true,
            })
        })
        .map(|i| {
            (
                instance_key(&i.set_id, &i.account, &i.region),
                instance_json(&i, false),
            )
        })
        .collect();
    let (summaries, next) = page(items, input.next_token, input.max_results)?;
    let mut out = json!({"Summaries": summaries});
    if let Some(n) = next {
        out["NextToken"] = json!(n);
    }
    Ok(out)
}

pub fn describe_stack_instance(
    _: &Context,
    input: DescribeStackInstanceInput,
) -> Result<Value, AwsError> {
    let set = find_set(&input.stack_set_name)?;
    let key = instance_key(
        &set.id,
        &input.stack_instance_account,
        &input.stack_instance_region,
    );
    let i = INSTANCES.get(&key)?.ok_or_else(|| {
        AwsError::new(
            "StackInstanceNotFoundException",
            format!(
                "Stack instance with account {} and region {} not found in StackSet {}",
                input.stack_instance_account, input.stack_instance_region, set.id
            ),
        )
        .with_status(404)
    })?;
    Ok(json!({"StackInstance": instance_json(&i, true)}))
}

fn failed_count(op: &SetOperation) -> usize {
    op.results.iter().filter(|r| r.status == "FAILED").count()
}

fn operation_json(op: &SetOperation, set: &StackSetRecord, full: bool) -> Value {
    let mut v = json!({
        "OperationId": op.id,
        "Action": op.action,
        "Status": op.status,
        "CreationTimestamp": op.created,
        "OperationPreferences": op.preferences,
        "StatusDetails": {"FailedStackInstancesCount": failed_count(op)},
    });
    if let Some(t) = op.ended {
        v["EndTimestamp"] = json!(t);
    }
    if let Some(r) = &op.status_reason {
        v["StatusReason"] = json!(r);
    }
    if full {
        v["StackSetId"] = json!(set.id);
        if let Some(r) = op.retain_stacks {
            v["RetainStacks"] = json!(r);
        }
        if let Some(r) = &set.administration_role_arn {
            v["AdministrationRoleARN"] = json!(r);
        }
        if let Some(r) = &set.execution_role_name {
            v["ExecutionRoleName"] = json!(r);
        }
        if let Some(t) = &op.deployment_targets {
            v["DeploymentTargets"] = json!(t);
        }
    }
    v
}

fn find_operation(set: &StackSetRecord, id: &str) -> Result<SetOperation, AwsError> {
    OPERATIONS.get(&format!("{}/{id}", set.id))?.ok_or_else(|| {
        AwsError::new(
            "OperationNotFoundException",
            format!("Operation {id} not found"),
        )
        .with_status(404)
    })
}

pub fn list_stack_set_operations(
    _: &Context,
    input: ListStackSetOperationsInput,
) -> Result<Value, AwsError> {
    let set = find_set(&input.stack_set_name)?;
    let items = operations_of(&set.id)?
        .into_iter()
        .map(|o| (o.id.clone(), operation_json(&o, &set, false)))
        .collect();
    let (summaries, next) = page(items, input.next_token, input.max_results)?;
    let mut out = json!({"Summaries": summaries});
    if let Some(n) = next {
        out["NextToken"] = json!(n);
    }
    Ok(out)
}

pub fn describe_stack_set_operation(
    _: &Context,
    input: DescribeStackSetOperationInput,
) -> Result<Value, AwsError> {
    let set = find_set(&input.stack_set_name)?;
    let op = find_operation(&set, &input.operation_id)?;
    Ok(json!({"StackSetOperation": operation_json(&op, &set, true)}))
}

pub fn list_stack_set_operation_results(
    _: &Context,
    input: ListStackSetOperationResultsInput,
) -> Result<Value, AwsError> {
    let set = find_set(&input.stack_set_name)?;
    let op = find_operation(&set, &input.operation_id)?;
    let wanted: Vec<String> = input
        .filters
        .unwrap_or_default()
        .into_iter()
        .filter_map(|f| f.values)
        .collect();
    let items = op
        .results
        .iter()
        .filter(|r| wanted.is_empty() || wanted.contains(&r.status))
        .map(|r| {
            let mut v = json!({
                "Account": r.account,
                "Region": r.region,
                "Status": r.status,
                "AccountGateResult": {"Status": "SKIPPED", "StatusReason": "Function not found: arn:aws:lambda:::function:AWSCloudFormationStackSetAccountGate"},
            });
            if let Some(reason) = &r.reason {
                v["StatusReason"] = json!(reason);
            }
            if let Some(ou) = &r.organizational_unit_id {
                v["OrganizationalUnitId"] = json!(ou);
            }
            (format!("{}/{}", r.account, r.region), v)
        })
        .collect();
    let (summaries, next) = page(items, input.next_token, input.max_results)?;
    let mut out = json!({"Summaries": summaries});
    if let Some(n) = next {
        out["NextToken"] = json!(n);
    }
    Ok(out)
}

pub fn stop_stack_set_operation(
    _: &Context,
    input: StopStackSetOperationInput,
) -> Result<Value, AwsError> {
    let set = find_set(&input.stack_set_name)?;
    let mut op = find_operation(&set, &input.operation_id)?;
    if op.status != "RUNNING" && op.status != "STOPPING" {
        return Err(AwsError::new(
            "InvalidOperationException",
            format!(
                "Operation {} cannot be stopped: its status is {}",
                op.id, op.status
            ),
        )
        .with_status(400));
    }
    let key = format!("{}/{}", set.id, op.id);
    STOPS.put(&key, &true)?;
    op.status = "STOPPING".into();
    OPERATIONS.put(&key, &op)?;
    Ok(json!({}))
}

// ---- the operation task ----

/// Accounts acted upon at once in a region of `n` targets of which
/// `failed` failed so far, and the failures a region tolerates.
fn limits(p: &StackSetOperationPreferences, n: usize, failed: usize) -> (usize, usize) {
    let tolerance = match (p.failure_tolerance_count, p.failure_tolerance_percentage) {
        (Some(c), _) => c.max(0) as usize,
        (None, Some(pct)) => n * pct.clamp(0, 100) as usize / 100,
        _ => 0,
    };
    let mut concurrency = match (p.max_concurrent_count, p.max_concurrent_percentage) {
        (Some(c), _) => c.max(1) as usize,
        (None, Some(pct)) => (n * pct.clamp(1, 100) as usize / 100).max(1),
        _ => 1,
    };
    let soft = p
        .concurrency_mode
        .as_ref()
        .is_some_and(|m| m.as_str() == "SOFT_FAILURE_TOLERANCE");
    if !soft {
        // STRICT_FAILURE_TOLERANCE: at most the tolerance plus one at
        // once, lowered by each failure (so failures never pass it by more).
        concurrency = concurrency.min((tolerance + 1).saturating_sub(failed).max(1));
    }
    (concurrency, tolerance)
}

/// The regions of an operation in the order it goes through them:
/// `RegionOrder` first, then the others as given.
fn region_order(op: &SetOperation) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in op.preferences.region_order.iter().flatten() {
        if op.results.iter().any(|x| x.region == *r) && !out.contains(r) {
            out.push(r.clone());
        }
    }
    for x in &op.results {
        if !out.contains(&x.region) {
            out.push(x.region.clone());
        }
    }
    out
}

fn save_op(op: &SetOperation) -> Result<(), AwsError> {
    OPERATIONS.put(&format!("{}/{}", op.set_id, op.id), op)
}

/// The stack parameters of an instance: the set's, then its overrides.
fn stack_parameters(set: &StackSetRecord, instance: &Instance) -> Vec<Value> {
    let mut map: BTreeMap<String, String> = BTreeMap::new();
    for p in set.parameters.iter().chain(instance.overrides.iter()) {
        if let Some(k) = &p.parameter_key {
            map.insert(k.clone(), p.parameter_value.clone().unwrap_or_default());
        }
    }
    map.into_iter()
        .map(|(k, v)| json!({"ParameterKey": k, "ParameterValue": v}))
        .collect()
}

fn target(account: &str, region: &str) -> Target {
    Target::at(crate::CloudFormation::NAME, account, region)
}

fn describe_target(account: &str, region: &str, stack: &str) -> Option<Value> {
    let out: Value = services::call(
        &target(account, region),
        "DescribeStacks",
        &json!({"StackName": stack}),
    )
    .ok()?;
    out["Stacks"].get(0).cloned()
}

/// Starts the target stack's part of the operation. Ok(true): started
/// (poll it); Ok(false): nothing to wait for (done).
fn start_target(
    set: &StackSetRecord,
    op: &SetOperation,
    instance: &mut Instance,
) -> Result<bool, String> {
    let (account, region) = (instance.account.clone(), instance.region.clone());
    let t = target(&account, &region);
    let current = instance
        .stack_id
        .as_ref()
        .and_then(|id| describe_target(&account, &region, id));
    let status = current
        .as_ref()
        .and_then(|s| s["StackStatus"].as_str())
        .unwrap_or("")
        .to_string();
    if op.action == "DELETE" {
        if op.retain_stacks == Some(true) || current.is_none() || status == "DELETE_COMPLETE" {
            return Ok(false);
        }
        let id = instance.stack_id.clone().unwrap_or_default();
        return services::call::<_, Value>(&t, "DeleteStack", &json!({"StackName": id}))
            .map(|_| true)
            .map_err(|e| e.message);
    }
    let mut input = json!({
        "TemplateBody": set.template_body,
        "Parameters": stack_parameters(set, instance),
        "Capabilities": set.capabilities,
        "Tags": set.tags,
    });
    let live = !status.is_empty() && status != "DELETE_COMPLETE" && status != "ROLLBACK_COMPLETE";
    if live {
        input["StackName"] = json!(instance.stack_id.clone().unwrap_or_default());
        return match services::call::<_, Value>(&t, "UpdateStack", &input) {
            Ok(_) => Ok(true),
            Err(e) if e.message.contains("No updates are to be performed") => Ok(false),
            Err(e) if status.ends_with("_IN_PROGRESS") => {
                // Started by a run before a restart.
                let _ = e;
                Ok(true)
            }
            Err(e) => Err(e.message),
        };
    }
    if status == "ROLLBACK_COMPLETE" {
        // A failed create is replaced by a new stack of a new name.
        let _ = services::call::<_, Value>(
            &t,
            "DeleteStack",
            &json!({"StackName": instance.stack_id.clone().unwrap_or_default()}),
        );
        instance.stack_name = format!("StackSet-{}-{}", set.name, ministack_sdk::ids::uuid());
        instance.stack_id = None;
    }
    input["StackName"] = json!(instance.stack_name);
    match services::call::<_, Value>(&t, "CreateStack", &input) {
        Ok(out) => {
            instance.stack_id = out["StackId"].as_str().map(str::to_string);
            Ok(true)
        }
        Err(e) if e.code == "AlreadyExistsException" => {
            // Created by a run before a restart: take it over.
            instance.stack_id = describe_target(&account, &region, &instance.stack_name)
                .and_then(|s| s["StackId"].as_str().map(str::to_string));
            Ok(true)
        }
        Err(e) => Err(e.message),
    }
}

/// Where a started target is: None while in progress, else Ok / Err(reason).
fn poll_target(op: &SetOperation, instance: &Instance) -> Option<Result<(), String>> {
    let Some(id) = &instance.stack_id else {
        return Some(Err("The stack instance has no stack".into()));
    };
    let Some(stack) = describe_target(&instance.account, &instance.region, id) else {
        return Some(if op.action == "DELETE" {
            Ok(())
        } else {
            Err(format!("Stack {id} does not exist"))
        });
    };
    let status = stack["StackStatus"].as_str().unwrap_or("");
    if status.ends_with("_IN_PROGRESS") {
        return None;
    }
    let reason = stack["StackStatusReason"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| format!("Stack {id} is {status}"));
    Some(match (op.action.as_str(), status) {
        ("DELETE", "DELETE_COMPLETE") => Ok(()),
        ("DELETE", _) => Err(reason),
        (_, "CREATE_COMPLETE" | "UPDATE_COMPLETE") => Ok(()),
        _ => Err(format!(
            "ResourceLogicalId:{}, ResourceType:AWS::CloudFormation::Stack, ResourceStatusReason:{reason}",
            stack["StackName"].as_str().unwrap_or("")
        )),
    })
}

fn finish_instance(set: &StackSetRecord, op: &SetOperation, r: &TargetResult) {
    let key = instance_key(&set.id, &r.account, &r.region);
    if op.action == "DELETE" && r.status == "SUCCEEDED" {
        INSTANCES.delete(&key);
        return;
    }
    let _ = INSTANCES.update(&key, |cur| {
        let mut i = cur.unwrap_or_default();
        i.detailed_status = r.status.clone();
        i.reason = r.reason.clone();
        i.status = if r.status == "SUCCEEDED" {
            "CURRENT".into()
        } else {
            "OUTDATED".into()
        };
        Ok(i)
    });
}

/// Runs an operation to its end: each round polls the started targets,
/// then starts the next batch (per region, `MaxConcurrent*` at once,
/// regions one after another in `RegionOrder` or all at once with
/// `RegionConcurrencyType: PARALLEL`); a region whose failures exceed the
/// tolerance fails the operation and cancels what has not started.
pub fn run_operation(_: &Context, payload: OperationPayload) -> Result<(), AwsError> {
    let key = format!("{}/{}", payload.set_id, payload.operation_id);
    let Some(set) = SETS.get(&payload.set_id)? else {
        return Ok(());
    };
    let mut rounds = 0u32;
    loop {
        let Some(mut op) = OPERATIONS.get(&key)? else {
            return Ok(());
        };
        if op.status != "RUNNING" && op.status != "STOPPING" {
            return Ok(());
        }
        rounds += 1;
        // Poll what runs.
        let mut running = false;
        for idx in 0..op.results.len() {
            let r = op.results[idx].clone();
            if r.status != "RUNNING" || !r.started {
                continue;
            }
            let ikey = instance_key(&set.id, &r.account, &r.region);
            let instance = INSTANCES.get(&ikey)?.unwrap_or_default();
            match poll_target(&op, &instance) {
                None => running = true,
                Some(outcome) => {
                    op.results[idx].status = if outcome.is_ok() {
                        "SUCCEEDED".into()
                    } else {
                        "FAILED".into()
                    };
                    op.results[idx].reason = outcome.err();
                    finish_instance(&set, &op, &op.results[idx]);
                }
            }
        }
        let stop = STOPS.get(&key)?.unwrap_or(false);
        if stop {
            op.status = "STOPPING".into();
        }
        let regions = region_order(&op);
        let parallel = op
            .preferences
            .region_concurrency_type
            .as_ref()
            .is_some_and(|t| t.as_str() == "PARALLEL");
        // Failure tolerance, per region.
        let mut exceeded = None;
        for region in &regions {
            let n = op.results.iter().filter(|r| r.region == *region).count();
            let failed = op
                .results
                .iter()
                .filter(|r| r.region == *region && r.status == "FAILED")
                .count();
            let (_, tolerance) = limits(&op.preferences, n, failed);
            if failed > tolerance {
                exceeded = Some(region.clone());
            }
        }
        if stop || exceeded.is_some() {
            for idx in 0..op.results.len() {
                if op.results[idx].status == "PENDING" {
                    op.results[idx].status = "CANCELLED".into();
                    op.results[idx].reason = Some(if stop {
                        "Cancelled since the operation was stopped".into()
                    } else {
                        "Cancelled since failure tolerance has exceeded".into()
                    });
                    finish_instance(&set, &op, &op.results[idx]);
                }
            }
        }
        if !running && !op.results.iter().any(|r| r.status == "PENDING") {
            op.status = if stop {
                "STOPPED".into()
            } else if exceeded.is_some() {
                "FAILED".into()
            } else {
                "SUCCEEDED".into()
            };
            if exceeded.is_some() && !stop {
                op.status_reason =
                    Some("The Operation failed to meet the failure tolerance".into());
            }
            op.ended = Some(ministack_sdk::time::now());
            save_op(&op)?;
            STOPS.delete(&key);
            return Ok(());
        }
        // The next batch: per region (the first unfinished one unless
        // PARALLEL), as many as the concurrency leaves room for.
        let mut batch: Vec<usize> = Vec::new();
        if !stop && exceeded.is_none() {
            for region in &regions {
                let n = op.results.iter().filter(|r| r.region == *region).count();
                let failed = op
                    .results
                    .iter()
                    .filter(|r| r.region == *region && r.status == "FAILED")
                    .count();
                let (concurrency, _) = limits(&op.preferences, n, failed);
                let busy = op
                    .results
                    .iter()
                    .filter(|r| r.region == *region && r.status == "RUNNING")
                    .count();
                let pending: Vec<usize> = op
                    .results
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| r.region == *region && r.status == "PENDING")
                    .map(|(i, _)| i)
                    .collect();
                batch.extend(pending.iter().take(concurrency.saturating_sub(busy)));
                let unfinished = busy > 0 || !pending.is_empty();
                if unfinished && !parallel {
                    break;
                }
            }
        }
        // Marked RUNNING (and committed: the next call ends the unit)
        // before the targets' stacks are asked for.
        for &idx in &batch {
            op.results[idx].status = "RUNNING".into();
            let ikey = instance_key(&set.id, &op.results[idx].account, &op.results[idx].region);
            INSTANCES.update(&ikey, |cur| {
                let mut i = cur.unwrap_or_default();
                i.detailed_status = "RUNNING".into();
                Ok(i)
            })?;
        }
        // Started before a restart but not yet recorded as started.
        let restart: Vec<usize> = op
            .results
            .iter()
            .enumerate()
            .filter(|(i, r)| r.status == "RUNNING" && !r.started && !batch.contains(i))
            .map(|(i, _)| i)
            .collect();
        save_op(&op)?;
        for idx in batch.into_iter().chain(restart) {
            let r = op.results[idx].clone();
            let ikey = instance_key(&set.id, &r.account, &r.region);
            let mut instance = INSTANCES.get(&ikey)?.unwrap_or_default();
            match start_target(&set, &op, &mut instance) {
                Ok(true) => op.results[idx].started = true,
                Ok(false) => op.results[idx].status = "SUCCEEDED".into(),
                Err(reason) => {
                    op.results[idx].status = "FAILED".into();
                    op.results[idx].reason = Some(reason);
                }
            }
            INSTANCES.put(&ikey, &instance)?;
            if op.results[idx].status != "RUNNING" {
                finish_instance(&set, &op, &op.results[idx]);
            }
            save_op(&op)?;
        }
        save_op(&op)?;
        // Stacks take a few rounds; polling slows down after the first.
        let delay = if rounds < 50 { 50 } else { 250 };
        tasks::wait(&format!("stack-set-op:{key}"), Duration::from_millis(delay));
    }
}

/// Boot hook part: every account and region with stack set operations
/// looks for running ones.
pub fn on_start() -> Result<(), AwsError> {
    for (account, region) in tasks::contexts(OPERATIONS.name()) {
        tasks::schedule_in(&account, &region, Duration::ZERO, RESUME_TASK, &())?;
    }
    Ok(())
}

/// Schedules the operation task again for each running operation of this
/// account and region that has none pending.
pub fn resume(ctx: &Context, _: ()) -> Result<(), AwsError> {
    let pending: BTreeSet<String> = tasks::list(OPERATION_TASK)
        .into_iter()
        .filter(|t| t.name == OPERATION_TASK && t.account == ctx.account && t.region == ctx.region)
        .filter_map(|t| serde_json::from_str::<OperationPayload>(&t.payload).ok())
        .map(|p| p.operation_id)
        .collect();
    for op in OPERATIONS.values("")? {
        if (op.status == "RUNNING" || op.status == "STOPPING") && !pending.contains(&op.id) {
            ministack_sdk::info!("resuming stack set operation {}", op.id);
            tasks::schedule(
                Duration::ZERO,
                OPERATION_TASK,
                &OperationPayload {
                    set_id: op.set_id.clone(),
                    operation_id: op.id.clone(),
                },
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefs(v: Value) -> StackSetOperationPreferences {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn concurrency_and_tolerance() {
        // Defaults: one at a time, no failure tolerated.
        assert_eq!(limits(&prefs(json!({})), 10, 0), (1, 0));
        // Strict mode: at most the tolerance plus one, less after failures.
        let p = prefs(json!({"MaxConcurrentCount": 5, "FailureToleranceCount": 2}));
        assert_eq!(limits(&p, 10, 0), (3, 2));
        assert_eq!(limits(&p, 10, 1), (2, 2));
        let soft = prefs(json!({"MaxConcurrentCount": 5, "FailureToleranceCount": 2,
            "ConcurrencyMode": "SOFT_FAILURE_TOLERANCE"}));
        assert_eq!(limits(&soft, 10, 1), (5, 2));
        // Percentages round down; concurrency is at least one.
        let pct = prefs(
            json!({"MaxConcurrentPercentage": 10, "FailureTolerancePercentage": 25,
            "ConcurrencyMode": "SOFT_FAILURE_TOLERANCE"}),
        );
        assert_eq!(limits(&pct, 7, 0), (1, 1));
        assert_eq!(limits(&pct, 40, 0), (4, 10));
    }

    #[test]
    fn region_order_first_then_the_rest() {
        let op = SetOperation {
            preferences: prefs(json!({"RegionOrder": ["eu-west-1", "ap-south-1"]})),
            results: ["us-east-1", "eu-west-1", "us-west-2"]
                .iter()
                .map(|r| TargetResult {
                    region: r.to_string(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        };
        assert_eq!(region_order(&op), ["eu-west-1", "us-east-1", "us-west-2"]);
    }
}
