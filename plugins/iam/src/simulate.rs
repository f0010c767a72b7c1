//! SimulatePrincipalPolicy and SimulateCustomPolicy: the policy simulator,
//! over the evaluator in [`crate::eval`].

use std::collections::BTreeMap;

use ministack_sdk::prelude::*;
use serde_json::{Value, json};

use crate::common::*;
use crate::entities::{self, GROUPS};
use crate::eval::{self, Policy, PolicyKind, Request};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContextEntry {
    #[serde(default)]
    context_key_name: Option<String>,
    #[serde(default)]
    context_key_values: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SimulateRequest {
    #[serde(default)]
    policy_source_arn: Option<String>,
    #[serde(default)]
    policy_input_list: Vec<String>,
    #[serde(default)]
    permissions_boundary_policy_input_list: Vec<String>,
    action_names: Vec<String>,
    #[serde(default)]
    resource_arns: Vec<String>,
    #[serde(default)]
    resource_policy: Option<String>,
    #[serde(default)]
    caller_arn: Option<String>,
    #[serde(default)]
    context_entries: Vec<ContextEntry>,
    #[serde(default)]
    marker: Option<String>,
    #[serde(default)]
    max_items: Option<i64>,
}

fn parsed(
    id: String,
    kind: &str,
    document: &str,
    doc_kind: PolicyKind,
) -> Result<Policy, AwsError> {
    let statements = eval::parse(document, doc_kind).map_err(malformed)?;
    Ok(Policy {
        id,
        owner: String::new(),
        kind: kind.to_string(),
        document: document.to_string(),
        statements,
    })
}

pub(crate) fn managed_policy(ctx: &Context, arn: &str) -> Result<Option<Policy>, AwsError> {
    let Some(p) = entities::find_policy(ctx, arn)? else {
        return Ok(None);
    };
    let kind = if p.is_aws_managed() {
        "aws-managed"
    } else {
        "user-managed"
    };
    Ok(Some(parsed(
        p.arn.clone(),
        kind,
        p.default_document(),
        PolicyKind::Identity,
    )?))
}

/// The identity policies of a user, group or role, its permissions boundary
/// (an ARN) and, for a user, its name (`aws:username`).
pub type PrincipalPolicies = (Vec<Policy>, Option<String>, Option<String>);

pub fn principal_policies(ctx: &Context, arn: &str) -> Result<PrincipalPolicies, AwsError> {
    let invalid = || invalid_input(format!("Invalid ARN: {arn}"));
    let parsed_arn = Arn::parse(arn).ok_or_else(invalid)?;
    let name = parsed_arn
        .resource
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string();
    let mut out = Vec::new();
    let add_held = |out: &mut Vec<Policy>,
                    kind: &str,
                    owner: &str,
                    inline: &BTreeMap<String, String>,
                    attached: &[String]|
     -> Result<(), AwsError> {
        for (n, d) in inline {
            let mut p = parsed(n.clone(), kind, d, PolicyKind::Identity)?;
            p.owner = owner.to_string();
            out.push(p);
        }
        for a in attached {
            if let Some(p) = managed_policy(ctx, a)? {
                out.push(p);
            }
        }
        Ok(())
    };
    if parsed_arn.resource.starts_with("user/") {
        let u = entities::user(&name)?;
        add_held(&mut out, "user", &u.name, &u.inline, &u.attached)?;
        for g in &u.groups {
            if let Some(group) = GROUPS.get(&key(g))? {
                add_held(
                    &mut out,
                    "group",
                    &group.name,
                    &group.inline,
                    &group.attached,
                )?;
            }
        }
        Ok((out, u.boundary, Some(u.name)))
    } else if parsed_arn.resource.starts_with("role/") {
        let r = entities::role(&name)?;
        add_held(&mut out, "role", &r.name, &r.inline, &r.attached)?;
        Ok((out, r.boundary, None))
    } else if parsed_arn.resource.starts_with("group/") {
        let g = entities::group(&name)?;
        add_held(&mut out, "group", &g.name, &g.inline, &g.attached)?;
        Ok((out, None, None))
    } else {
        Err(invalid())
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContextKeysRequest {
    #[serde(default)]
    policy_source_arn: Option<String>,
    #[serde(default)]
    policy_input_list: Vec<String>,
}

/// The condition keys (and policy variables) a set of policies uses.
fn context_keys(policies: &[Policy]) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    let mut add = |k: &str| {
        if !keys.iter().any(|x| x.eq_ignore_ascii_case(k)) {
            keys.push(k.to_string());
        }
    };
    for p in policies {
        for s in &p.statements {
            for c in &s.conditions {
                add(&c.key);
            }
            for r in &s.resources {
                let mut rest = r.as_str();
                while let Some(start) = rest.find("${") {
                    let Some(end) = rest[start..].find('}') else {
                        break;
                    };
                    let name = &rest[start + 2..start + end];
                    if name.contains(':') {
                        add(name);
                    }
                    rest = &rest[start + end + 1..];
                }
            }
        }
    }
    keys
}

fn input_policies(list: &[String]) -> Result<Vec<Policy>, AwsError> {
    list.iter()
        .enumerate()
        .map(|(i, d)| {
            parsed(
                format!("PolicyInputList.{}", i + 1),
                "none",
                d,
                PolicyKind::Identity,
            )
        })
        .collect()
}

pub fn get_context_keys_for_custom_policy(
    _: &Context,
    input: ContextKeysRequest,
) -> Result<Value, AwsError> {
    let policies = input_policies(&input.policy_input_list)?;
    Ok(json!({"ContextKeyNames": context_keys(&policies)}))
}

pub fn get_context_keys_for_principal_policy(
    ctx: &Context,
    input: ContextKeysRequest,
) -> Result<Value, AwsError> {
    let (mut policies, _, _) =
        principal_policies(ctx, input.policy_source_arn.as_deref().unwrap_or_default())?;
    policies.extend(input_policies(&input.policy_input_list)?);
    Ok(json!({"ContextKeyNames": context_keys(&policies)}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GrantingRequest {
    arn: String,
    service_namespaces: Vec<String>,
    #[serde(default)]
    marker: Option<String>,
}

/// ListPoliciesGrantingServiceAccess: the policies of a user (with its
/// groups'), group or role that allow some action of each service.
pub fn list_policies_granting_service_access(
    ctx: &Context,
    input: GrantingRequest,
) -> Result<Value, AwsError> {
    let (policies, _, _) = principal_policies(ctx, &input.arn)?;
    let owner = |p: &Policy| -> (String, Option<String>) {
        match p.kind.as_str() {
            "user" => ("USER".into(), None),
            "group" => ("GROUP".into(), None),
            "role" => ("ROLE".into(), None),
            _ => (String::new(), Some(p.id.clone())),
        }
    };
    let mut out = Vec::new();
    for ns in &input.service_namespaces {
        let mut list = Vec::new();
        for p in &policies {
            let grants = p.statements.iter().any(|s| {
                s.effect == eval::Effect::Allow
                    && !s.not_action
                    && s.actions.iter().any(|a| {
                        a == "*"
                            || a.split_once(':')
                                .is_some_and(|(svc, _)| eval::glob(svc, ns, true))
                    })
            });
            if !grants {
                continue;
            }
            let (entity_type, arn) = owner(p);
            let mut v = match &arn {
                Some(a) => json!({
                    "PolicyName": a.rsplit('/').next().unwrap_or_default(),
                    "PolicyType": "MANAGED", "PolicyArn": a,
                }),
                None => {
                    json!({"PolicyName": p.id, "PolicyType": "INLINE", "EntityType": entity_type})
                }
            };
            if arn.is_none() {
                v["EntityName"] = json!(p.owner);
            }
            list.push(v);
        }
        out.push(json!({"ServiceNamespace": ns, "Policies": list}));
    }
    let _ = input.marker;
    Ok(json!({"PoliciesGrantingServiceAccess": out, "IsTruncated": false}))
}

pub fn simulate_principal_policy(ctx: &Context, input: SimulateRequest) -> Result<Value, AwsError> {
    let source = input.policy_source_arn.clone().unwrap_or_default();
    let (mut policies, boundary, user_name) = principal_policies(ctx, &source)?;
    for (i, d) in input.policy_input_list.iter().enumerate() {
        policies.push(parsed(
            format!("PolicyInputList.{}", i + 1),
            "none",
            d,
            PolicyKind::Identity,
        )?);
    }
    let mut boundaries = Vec::new();
    if !input.permissions_boundary_policy_input_list.is_empty() {
        for (i, d) in input
            .permissions_boundary_policy_input_list
            .iter()
            .enumerate()
        {
            boundaries.push(parsed(
                format!("PermissionsBoundaryPolicyInputList.{}", i + 1),
                "none",
                d,
                PolicyKind::Identity,
            )?);
        }
    } else if let Some(b) = boundary
        && let Some(p) = managed_policy(ctx, &b)?
    {
        boundaries.push(p);
    }
    let mut base = BTreeMap::new();
    if let Some(n) = user_name {
        base.insert("aws:username".to_string(), vec![n]);
    }
    simulate(policies, boundaries, base, input)
}

pub fn simulate_custom_policy(_: &Context, input: SimulateRequest) -> Result<Value, AwsError> {
    if input.policy_input_list.is_empty() {
        return Err(AwsError::validation_error(
            "1 validation error detected: Value null at 'policyInputList' failed to satisfy constraint: Member must not be null",
        ));
    }
    let mut policies = Vec::new();
    for (i, d) in input.policy_input_list.iter().enumerate() {
        policies.push(parsed(
            format!("PolicyInputList.{}", i + 1),
            "none",
            d,
            PolicyKind::Identity,
        )?);
    }
    let mut boundaries = Vec::new();
    for (i, d) in input
        .permissions_boundary_policy_input_list
        .iter()
        .enumerate()
    {
        boundaries.push(parsed(
            format!("PermissionsBoundaryPolicyInputList.{}", i + 1),
            "none",
            d,
            PolicyKind::Identity,
        )?);
    }
    simulate(policies, boundaries, BTreeMap::new(), input)
}

fn simulate(
    mut policies: Vec<Policy>,
    boundaries: Vec<Policy>,
    mut context: BTreeMap<String, Vec<String>>,
    input: SimulateRequest,
) -> Result<Value, AwsError> {
    if let Some(rp) = &input.resource_policy {
        policies.push(parsed(
            "ResourcePolicy".into(),
            "resource",
            rp,
            PolicyKind::Resource,
        )?);
    }
    for e in &input.context_entries {
        if let Some(k) = &e.context_key_name {
            context.insert(k.to_lowercase(), e.context_key_values.clone());
        }
    }
    if let Some(c) = &input.caller_arn {
        context.insert("aws:principalarn".into(), vec![c.clone()]);
    }
    let resources = if input.resource_arns.is_empty() {
        vec!["*".to_string()]
    } else {
        input.resource_arns.clone()
    };
    let mut results = Vec::new();
    for action in &input.action_names {
        for resource in &resources {
            let request = Request {
                action: action.clone(),
                resource: resource.clone(),
                context: context.clone(),
            };
            let e = eval::evaluate(&policies, &boundaries, &request);
            let matched: Vec<Value> = e
                .matched
                .iter()
                .map(|m| {
                    let p = &policies[m.policy];
                    let span = p.statements[m.statement].span;
                    let (sl, sc) = eval::position(&p.document, span.0);
                    let (el, ec) = eval::position(&p.document, span.1);
                    json!({
                        "SourcePolicyId": p.id, "SourcePolicyType": p.kind,
                        "StartPosition": {"Line": sl, "Column": sc},
                        "EndPosition": {"Line": el, "Column": ec},
                    })
                })
                .collect();
            let mut r = json!({
                "EvalActionName": action, "EvalResourceName": resource,
                "EvalDecision": e.decision.as_str(),
                "MatchedStatements": matched,
                "MissingContextValues": e.missing,
            });
            if let Some(allowed) = e.boundary_allows {
                r["PermissionsBoundaryDecisionDetail"] =
                    json!({"AllowedByPermissionsBoundary": allowed});
            }
            results.push((format!("{:08}", results.len()), r));
        }
    }
    Ok(page(results, input.marker.as_deref(), input.max_items)?.into_json("EvaluationResults"))
}
