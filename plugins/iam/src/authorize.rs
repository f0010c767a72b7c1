//! The gateway's authorization question under ENFORCE_IAM=1
//! (`ministack:authz-evaluate`, called only by the gateway, in the calling
//! principal's account): may this principal perform this action on this
//! resource? AWS's evaluation logic for one account, no SCPs: an explicit
//! Deny anywhere wins; the principal's identity policies must allow (the
//! root user's always do), within its permissions boundary and its session
//! policies; a resource policy naming the principal allows on its own in
//! the resource's account; another account's resource needs its resource
//! policy to allow too, and KMS key policies and role trust policies must
//! allow in any case.

use std::collections::BTreeMap;

use ministack_sdk::prelude::*;
use serde_json::Value;

use crate::eval::{self, Decision, Effect, Policy, PolicyKind, Request};
use crate::simulate::{managed_policy, principal_policies};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AuthzRequest {
    principal: String,
    principal_account: String,
    action: String,
    resource: String,
    #[serde(default)]
    resource_account: Option<String>,
    #[serde(default)]
    resource_policy: Option<String>,
    #[serde(default)]
    resource_policy_required: bool,
    #[serde(default)]
    session_policy: Option<String>,
    #[serde(default)]
    session_policy_arns: Vec<String>,
    #[serde(default)]
    context: BTreeMap<String, Vec<String>>,
}

#[derive(Serialize, Debug, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct AuthzResponse {
    allowed: bool,
    /// The tail of AWS's AccessDenied message ("because no identity-based
    /// policy allows the sqs:SendMessage action").
    reason: String,
}

fn policy(id: &str, kind: &str, document: &str, doc_kind: PolicyKind) -> Option<Policy> {
    Some(Policy {
        id: id.to_string(),
        owner: String::new(),
        kind: kind.to_string(),
        document: document.to_string(),
        statements: eval::parse(document, doc_kind).ok()?,
    })
}

/// The IAM entity whose policies a principal holds: a user, or the role of
/// an assumed-role session (`arn:aws:sts::1:assumed-role/R/s` → role `R`).
fn entity_arn(principal: &str, account: &str) -> Option<String> {
    let resource = principal.split(':').nth(5)?;
    if resource.starts_with("user/") {
        return Some(principal.to_string());
    }
    let role = resource.strip_prefix("assumed-role/")?.split('/').next()?;
    Some(format!("arn:aws:iam::{account}:role/{role}"))
}

/// A service principal (`events.amazonaws.com`): a service delivering for
/// one of its resources (services.call-from), never a signed request.
fn is_service(principal: &str) -> bool {
    !principal.contains(':') && principal.ends_with(".amazonaws.com")
}

/// What a resource policy says about a principal.
#[derive(Default, Debug, PartialEq, Eq)]
struct ResourceVerdict {
    deny: bool,
    /// An Allow naming the principal itself (or `*`).
    allow_principal: bool,
    /// An Allow naming the principal's account.
    allow_account: bool,
}

/// Whether a statement's `Principal` names the caller: `Some(true)` for the
/// principal itself (or everyone), `Some(false)` for its account only.
fn principal_match(
    p: &Value,
    principal: &str,
    account: &str,
    role_arn: Option<&str>,
) -> Option<bool> {
    let mut best = None;
    let mut consider = |v: &str| {
        let v = v.trim();
        if v == "*" || v == principal || Some(v) == role_arn {
            best = Some(true);
        } else if best.is_none() && (v == account || v == format!("arn:aws:iam::{account}:root")) {
            best = Some(false);
        }
    };
    match p {
        Value::String(s) => consider(s),
        Value::Object(map) => {
            // `Service` names service principals (`sns.amazonaws.com`),
            // which only a service's own delivery is.
            let keys: &[&str] = if is_service(principal) {
                &["AWS", "Service"]
            } else {
                &["AWS"]
            };
            for key in keys {
                match map.get(*key) {
                    Some(Value::String(s)) => consider(s),
                    Some(Value::Array(list)) => list
                        .iter()
                        .filter_map(Value::as_str)
                        .for_each(&mut consider),
                    _ => {}
                }
            }
        }
        _ => {}
    }
    best
}

fn resource_verdict(
    document: &str,
    request: &Request,
    principal: &str,
    account: &str,
    role_arn: Option<&str>,
) -> ResourceVerdict {
    let mut verdict = ResourceVerdict::default();
    let Ok(statements) = eval::parse(document, PolicyKind::Resource) else {
        return verdict;
    };
    let raw: Vec<Value> = match serde_json::from_str::<Value>(document)
        .ok()
        .and_then(|v| v.get("Statement").cloned())
    {
        Some(Value::Array(list)) => list,
        Some(one @ Value::Object(_)) => vec![one],
        _ => return verdict,
    };
    for (s, raw) in statements.iter().zip(&raw) {
        let named = match (raw.get("Principal"), raw.get("NotPrincipal")) {
            (Some(p), _) => principal_match(p, principal, account, role_arn),
            // NotPrincipal: everyone but those listed.
            (None, Some(p)) => match principal_match(p, principal, account, role_arn) {
                Some(_) => None,
                None => Some(true),
            },
            _ => None,
        };
        let Some(itself) = named else { continue };
        if !eval::statement_applies(s, request).applies {
            continue;
        }
        match s.effect {
            Effect::Deny => verdict.deny = true,
            Effect::Allow if itself => verdict.allow_principal = true,
            Effect::Allow => verdict.allow_account = true,
        }
    }
    verdict
}

pub fn evaluate(ctx: &Context, input: AuthzRequest) -> Result<AuthzResponse, AwsError> {
    let mut request = Request::new(&input.action, &input.resource);
    for (k, v) in &input.context {
        let values: Vec<&str> = v.iter().map(String::as_str).collect();
        request = request.with(k, &values);
    }
    let account = if input.principal_account.is_empty() {
        ctx.account.clone()
    } else {
        input.principal_account.clone()
    };
    let action = &input.action;
    let deny = |kind: &str| AuthzResponse {
        allowed: false,
        reason: format!("with an explicit deny in {kind}"),
    };
    let none_allows = |what: &str| AuthzResponse {
        allowed: false,
        reason: format!("because no {what} allows the {action} action"),
    };

    // A service principal holds no identity policies: the resource policy
    // naming it (or `*`) decides alone, in any account.
    if is_service(&input.principal) {
        let verdict = input
            .resource_policy
            .as_deref()
            .map(|doc| resource_verdict(doc, &request, &input.principal, "", None))
            .unwrap_or_default();
        return Ok(if verdict.deny {
            deny("a resource-based policy")
        } else if verdict.allow_principal {
            AuthzResponse {
                allowed: true,
                reason: String::new(),
            }
        } else {
            none_allows("resource-based policy")
        });
    }

    // Identity: the root user is allowed; a user or role by its policies.
    let is_root = input.principal.ends_with(":root");
    let entity = entity_arn(&input.principal, &account);
    let role_arn = entity.as_deref().filter(|a| a.contains(":role/"));
    let (identity, boundary_allows) = if is_root {
        (Decision::Allowed, None)
    } else if let Some(arn) = &entity {
        match principal_policies(ctx, arn) {
            Ok((policies, boundary, user_name)) => {
                if let Some(name) = &user_name {
                    request = request.with("aws:username", &[name.as_str()]);
                }
                let boundaries: Vec<Policy> = match boundary {
                    Some(b) => managed_policy(ctx, &b)?.into_iter().collect(),
                    None => Vec::new(),
                };
                let e = eval::evaluate(&policies, &boundaries, &request);
                (e.decision, e.boundary_allows)
            }
            // A deleted user or role holds no policies.
            Err(_) => (Decision::ImplicitDeny, None),
        }
    } else {
        (Decision::ImplicitDeny, None)
    };
    if identity == Decision::ExplicitDeny {
        return Ok(deny(if boundary_allows == Some(false) {
            "a permissions boundary"
        } else {
            "an identity-based policy"
        }));
    }

    // Session policies of an assumed role: they limit, never grant.
    let mut session_policies = Vec::new();
    if let Some(doc) = &input.session_policy {
        session_policies.extend(policy("session", "session", doc, PolicyKind::Identity));
    }
    for arn in &input.session_policy_arns {
        session_policies.extend(managed_policy(ctx, arn)?);
    }
    let session = (!session_policies.is_empty())
        .then(|| eval::evaluate(&session_policies, &[], &request).decision);
    if session == Some(Decision::ExplicitDeny) {
        return Ok(deny("a session policy"));
    }

    let verdict = input
        .resource_policy
        .as_deref()
        .map(|doc| resource_verdict(doc, &request, &input.principal, &account, role_arn))
        .unwrap_or_default();
    if verdict.deny {
        return Ok(deny("a resource-based policy"));
    }

    let session_ok = session.is_none_or(|d| d == Decision::Allowed);
    let identity_ok = identity == Decision::Allowed;
    let same_account = input
        .resource_account
        .as_deref()
        .is_none_or(|a| a == account);
    let has_policy = input.resource_policy.is_some();
    let resource_allows = verdict.allow_principal || verdict.allow_account;
    // A required policy that could not be read (no such key or role) lets
    // the operation itself answer.
    let needs_resource = !same_account || input.resource_policy_required && has_policy;
    let why_not_identity = || {
        if boundary_allows == Some(false) {
            none_allows("permissions boundary")
        } else {
            none_allows("identity-based policy")
        }
    };
    if !session_ok {
        return Ok(none_allows("session policy"));
    }
    if needs_resource {
        if !resource_allows {
            return Ok(none_allows("resource-based policy"));
        }
        // In its own account a resource policy naming the principal grants
        // on its own; across accounts the identity must allow too.
        if same_account && verdict.allow_principal || identity_ok {
            return Ok(AuthzResponse {
                allowed: true,
                reason: String::new(),
            });
        }
        return Ok(why_not_identity());
    }
    if identity_ok || verdict.allow_principal {
        return Ok(AuthzResponse {
            allowed: true,
            reason: String::new(),
        });
    }
    Ok(why_not_identity())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn principals_named_by_arn_account_or_star() {
        let p = "arn:aws:iam::111122223333:user/bob";
        let a = "111122223333";
        assert_eq!(principal_match(&json!("*"), p, a, None), Some(true));
        assert_eq!(principal_match(&json!({"AWS": p}), p, a, None), Some(true));
        assert_eq!(
            principal_match(
                &json!({"AWS": ["arn:aws:iam::111122223333:root"]}),
                p,
                a,
                None
            ),
            Some(false)
        );
        assert_eq!(
            principal_match(&json!({"AWS": "111122223333"}), p, a, None),
            Some(false)
        );
        assert_eq!(
            principal_match(&json!({"AWS": "999999999999"}), p, a, None),
            None
        );
        assert_eq!(
            principal_match(&json!({"Service": "sns.amazonaws.com"}), p, a, None),
            None
        );
        let sns = "sns.amazonaws.com";
        assert_eq!(
            principal_match(&json!({"Service": sns}), sns, "", None),
            Some(true)
        );
        assert_eq!(
            principal_match(&json!({"Service": ["s3.amazonaws.com"]}), sns, "", None),
            None
        );
        assert_eq!(principal_match(&json!("*"), sns, "", None), Some(true));
    }

    #[test]
    fn assumed_role_sessions_hold_their_role() {
        assert_eq!(
            entity_arn("arn:aws:sts::1:assumed-role/R/sess", "1").as_deref(),
            Some("arn:aws:iam::1:role/R")
        );
        assert_eq!(
            entity_arn("arn:aws:iam::1:user/path/bob", "1").as_deref(),
            Some("arn:aws:iam::1:user/path/bob")
        );
        assert_eq!(entity_arn("arn:aws:iam::1:root", "1"), None);
    }

    #[test]
    fn resource_deny_for_an_account() {
        let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":{"AWS":"222222222222"},"Action":"s3:*","Resource":"arn:aws:s3:::b/*"},{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}"#;
        let req = Request::new("s3:GetObject", "arn:aws:s3:::b/k");
        let v = resource_verdict(
            doc,
            &req,
            "arn:aws:iam::222222222222:root",
            "222222222222",
            None,
        );
        assert!(v.deny);
        let v = resource_verdict(
            doc,
            &req,
            "arn:aws:iam::333333333333:root",
            "333333333333",
            None,
        );
        assert_eq!(
            v,
            ResourceVerdict {
                deny: false,
                allow_principal: true,
                allow_account: false
            }
        );
    }
}
