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
        kind: kind.to_string(),
        document: document.to_string(),
        statements,
    })
}

fn managed_policy(ctx: &Context, arn: &str) -> Result<Option<Policy>, AwsError> {
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
type PrincipalPolicies = (Vec<Policy>, Option<String>, Option<String>);

fn principal_policies(ctx: &Context, arn: &str) -> Result<PrincipalPolicies, AwsError> {
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
                    inline: &BTreeMap<String, String>,
                    attached: &[String]|
     -> Result<(), AwsError> {
        for (n, d) in inline {
            out.push(parsed(n.clone(), kind, d, PolicyKind::Identity)?);
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
        add_held(&mut out, "user", &u.inline, &u.attached)?;
        for g in &u.groups {
            if let Some(group) = GROUPS.get(&key(g))? {
                add_held(&mut out, "group", &group.inline, &group.attached)?;
            }
        }
        Ok((out, u.boundary, Some(u.name)))
    } else if parsed_arn.resource.starts_with("role/") {
        let r = entities::role(&name)?;
        add_held(&mut out, "role", &r.inline, &r.attached)?;
        Ok((out, r.boundary, None))
    } else if parsed_arn.resource.starts_with("group/") {
        let g = entities::group(&name)?;
        add_held(&mut out, "group", &g.inline, &g.attached)?;
        Ok((out, None, None))
    } else {
        Err(invalid())
    }
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
