//! ENFORCE_IAM=1 at the gateway (above the dispatcher, whose calls it
//! makes; auth/ stays below it): authenticate a request (its signature),
//! then authorize its operation: the resource's policy is read from its
//! plugin, an STS session's policies from STS, and the IAM plugin's
//! evaluator decides (`ministack:authz-evaluate`).

use std::collections::BTreeMap;

use ministack_protocol::AwsError;
use serde_json::{Value, json};

use crate::auth::authz::{self, PolicySource};
use crate::auth::enforce::{self, AuthFailure, Family};
use crate::capabilities::{BoxFuture, CallContext, CallSource, CheckDelivery, ServiceTarget};
use crate::dispatch::{Call, Caller, Dispatcher, OwnedBlobs, Target};
use crate::plugins::Plugin;

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The signature check. Presigned URLs were verified already
/// (`Gateway::check_presigned`); here a request must carry one or a valid
/// `Authorization` header, dated within 15 minutes.
#[allow(clippy::result_large_err)]
pub fn authenticate(
    d: &Dispatcher,
    plugin: &Plugin,
    req: &enforce::Request<'_>,
    access_key_id: &str,
) -> Result<(), AwsError> {
    let family = Family::of(&plugin.model);
    let identity = &d.shared().identity;
    let enforcement = &d.config().enforcement;
    let known = identity.lookup(access_key_id);
    if !enforcement.default_credentials && known.is_none() && !access_key_id.is_empty() {
        return Err(AuthFailure::UnknownKey.to_aws_error(family));
    }
    if enforce::is_presigned(req.query, req.s3) {
        return Ok(());
    }
    let default_secret = &d.config().default_secret;
    let secret_for = |akid: &str| {
        identity
            .lookup(akid)
            .map_or_else(|| default_secret.clone(), |c| c.secret_access_key)
    };
    enforce::verify_header(req, now(), &secret_for)
        .map(|_| ())
        .map_err(|e| e.to_aws_error(family))
}

/// Asks the IAM plugin's evaluator (`ministack:authz-evaluate`) in
/// `account`/`region`; `Err(reason)` when it denies.
async fn evaluate(
    d: &Dispatcher,
    caller: &crate::auth::Caller,
    account: &str,
    region: &str,
    request: &Value,
    request_id: &str,
) -> Result<Result<(), String>, AwsError> {
    let decision = call_as(
        d,
        caller,
        account,
        region,
        "iam",
        "ministack:authz-evaluate",
        request,
        request_id,
    )
    .await?;
    if decision.get("Allowed").and_then(Value::as_bool) == Some(true) {
        return Ok(Ok(()));
    }
    let reason = decision.get("Reason").and_then(Value::as_str);
    Ok(Err(reason.unwrap_or_default().to_string()))
}

/// A call of the gateway's own in `account`/`region` (policy reads,
/// evaluation).
#[allow(clippy::too_many_arguments)]
async fn call_as(
    d: &Dispatcher,
    caller: &crate::auth::Caller,
    account: &str,
    region: &str,
    service: &str,
    operation: &str,
    input: &Value,
    request_id: &str,
) -> Result<Value, AwsError> {
    let as_caller = crate::auth::Caller {
        account: account.to_string(),
        region: region.to_string(),
        endpoint: None,
        ..caller.clone()
    };
    let input_json = input.to_string();
    d.call(Call {
        target: Target::Service(service),
        caller: Caller::GatewayAs(as_caller),
        request_id,
        operation,
        input_json: input_json.into(),
        blobs: OwnedBlobs::none(),
    })
    .await
    .map(|r| r.output)
}

/// The resource's policy and its owning account (when the ARN does not say).
async fn resource_policy(
    d: &Dispatcher,
    caller: &crate::auth::Caller,
    source: &PolicySource,
    owner: Option<&str>,
    request_id: &str,
) -> (Option<String>, Option<String>) {
    let (service, operation, input) = authz::policy_call(source);
    if !d.registry().by_name.contains_key(service) {
        return (None, None);
    }
    let account = owner.unwrap_or(&caller.account);
    let mut found_owner = None;
    if let PolicySource::S3Bucket { bucket } = source {
        // Buckets are global: their owner is the account GetBucketAcl names.
        match call_as(
            d,
            caller,
            account,
            &caller.region,
            "s3",
            "GetBucketAcl",
            &json!({ "Bucket": bucket }),
            request_id,
        )
        .await
        {
            Ok(acl) => {
                let id = acl
                    .get("Owner")
                    .and_then(|o| o.get("ID"))
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                found_owner = Some(if id == authz::s3_canonical_id(&caller.account) {
                    caller.account.clone()
                } else {
                    // Another account's: which one does not matter here.
                    format!("s3-owner:{id}")
                });
            }
            Err(_) => return (None, None),
        }
    }
    let output = call_as(
        d,
        caller,
        account,
        &caller.region,
        service,
        operation,
        &input,
        request_id,
    )
    .await;
    let document = output.ok().and_then(|o| authz::policy_document(source, &o));
    (document, found_owner)
}

/// What the request's connection says for the global condition keys.
#[derive(Default)]
pub struct Conditions {
    /// `aws:SecureTransport`: over TLS (USE_SSL), or a proxy's
    /// `X-Forwarded-Proto: https`.
    pub secure_transport: bool,
    /// `aws:SourceIp`: the peer's address.
    pub source_ip: Option<std::net::IpAddr>,
    /// Keys the operation adds (`lambda:FunctionUrlAuthType`...).
    pub extra: Vec<(String, String)>,
}

impl Conditions {
    pub fn of(parts: &http::request::Parts) -> Self {
        let peer = parts.extensions.get::<crate::auth::Peer>();
        let forwarded_https = parts
            .headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            == Some("https");
        Conditions {
            secure_transport: forwarded_https || peer.is_some_and(|p| p.tls),
            source_ip: peer.map(|p| p.addr.ip().to_canonical()),
            extra: Vec::new(),
        }
    }
}

/// A raw route (a request the plugin answers itself) under ENFORCE_IAM.
/// The plugin says what AWS would authorize (`ministack:authz-raw`: a
/// function URL with AuthType AWS_IAM is `lambda:InvokeFunctionUrl`, S3
/// Control's tagging routes are `s3:TagResource`...) or that the route is
/// open (AuthType NONE, the gateway's own `/_ministack/` routes); a plugin
/// without that operation keeps its raw routes open.
#[allow(clippy::result_large_err)]
pub async fn authorize_raw(
    d: &Dispatcher,
    plugin: &Plugin,
    parts: &http::request::Parts,
    req: &enforce::Request<'_>,
    caller: &crate::auth::Caller,
    request_id: &str,
) -> Result<(), AwsError> {
    let host = parts
        .headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let ask = json!({
        "Method": parts.method.as_str(),
        "Host": host,
        "Path": parts.uri.path(),
        "Query": parts.uri.query().unwrap_or(""),
    });
    let Ok(answer) = call_as(
        d,
        caller,
        &caller.account,
        &caller.region,
        plugin.name(),
        "ministack:authz-raw",
        &ask,
        request_id,
    )
    .await
    else {
        return Ok(());
    };
    let Some(operation) = answer.get("Operation").and_then(Value::as_str) else {
        return Ok(());
    };
    authenticate(d, plugin, req, &caller.access_key_id)?;
    let mut conditions = Conditions::of(parts);
    if let Some(keys) = answer.get("Context").and_then(Value::as_object) {
        for (k, v) in keys {
            if let Some(v) = v.as_str() {
                conditions.extra.push((k.clone(), v.to_string()));
            }
        }
    }
    let input = answer.get("Input").cloned().unwrap_or_else(|| json!({}));
    authorize(
        d,
        plugin,
        operation,
        &input,
        caller,
        &conditions,
        request_id,
    )
    .await
}

/// Evaluates the request's operation; `Err` is AWS's AccessDenied.
#[allow(clippy::too_many_arguments)]
pub async fn authorize(
    d: &Dispatcher,
    plugin: &Plugin,
    operation: &str,
    input: &Value,
    caller: &crate::auth::Caller,
    conditions: &Conditions,
    request_id: &str,
) -> Result<(), AwsError> {
    let meta = plugin.model.metadata();
    let prefix = meta
        .signing_name
        .clone()
        .unwrap_or_else(|| meta.endpoint_prefix.clone());
    // Always allowed by AWS, whatever the policies say.
    if prefix == "sts" && operation == "GetCallerIdentity" {
        return Ok(());
    }
    let target = authz::target(&prefix, operation, input, &caller.account, &caller.region);
    let principal = if caller.arn.is_empty() {
        format!("arn:aws:iam::{}:root", caller.account)
    } else {
        caller.arn.clone()
    };
    let mut owner = target.owner.clone();
    let mut document = None;
    if let Some(source) = &target.policy {
        let (doc, found_owner) =
            resource_policy(d, caller, source, owner.as_deref(), request_id).await;
        document = doc;
        if owner.is_none() {
            owner = found_owner;
        }
    }
    let is_root = principal.ends_with(":root");
    let same_account = owner.as_deref().is_none_or(|o| o == caller.account);
    let policy_required = target.policy.as_ref().is_some_and(PolicySource::required);
    // Root acting in its own account on a resource without a policy:
    // nothing can deny it, skip the evaluator.
    if is_root && same_account && document.is_none() && !policy_required {
        return Ok(());
    }
    let family = Family::of(&plugin.model);
    if !d.registry().by_name.contains_key("iam") {
        return if is_root && same_account {
            Ok(())
        } else {
            Err(authz::denied(family, &principal, &target, ""))
        };
    }
    let mut session = json!({});
    if principal.contains(":assumed-role/")
        && !caller.access_key_id.is_empty()
        && d.registry().by_name.contains_key("sts")
    {
        session = call_as(
            d,
            caller,
            &caller.account,
            &caller.region,
            "sts",
            "ministack:authz-session",
            &json!({ "AccessKeyId": caller.access_key_id }),
            request_id,
        )
        .await
        .unwrap_or_default();
    }
    let mut context: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let t = now();
    context.insert("aws:PrincipalArn", vec![principal.clone()]);
    context.insert("aws:PrincipalAccount", vec![caller.account.clone()]);
    context.insert(
        "aws:SecureTransport",
        vec![conditions.secure_transport.to_string()],
    );
    if let Some(ip) = conditions.source_ip {
        context.insert("aws:SourceIp", vec![ip.to_string()]);
    }
    for (k, v) in &conditions.extra {
        context.insert(k, vec![v.clone()]);
    }
    context.insert("aws:RequestedRegion", vec![caller.region.clone()]);
    context.insert("aws:EpochTime", vec![t.to_string()]);
    context.insert("aws:CurrentTime", vec![iso8601(t)]);
    if !caller.user_id.is_empty() {
        context.insert("aws:userid", vec![caller.user_id.clone()]);
    }
    let request = json!({
        "Principal": principal,
        "PrincipalAccount": caller.account,
        "Action": target.action,
        "Resource": target.resource,
        "ResourceAccount": owner,
        "ResourcePolicy": document,
        "ResourcePolicyRequired": policy_required,
        "SessionPolicy": session.get("Policy"),
        "SessionPolicyArns": session.get("PolicyArns").cloned().unwrap_or(json!([])),
        "Context": context,
    });
    evaluate(
        d,
        caller,
        &caller.account,
        &caller.region,
        &request,
        request_id,
    )
    .await?
    .map_err(|reason| authz::denied(family, &principal, &target, &reason))
}

/// The delivery check the services capability runs under ENFORCE_IAM
/// (registered by [`register`]; the capability cannot name the dispatcher).
struct DeliveryCheck(std::sync::Weak<Dispatcher>);

impl CheckDelivery for DeliveryCheck {
    fn check<'a>(
        &'a self,
        caller: &'a str,
        parent: &'a CallContext,
        target: &'a ServiceTarget,
        operation: &'a str,
        input_json: &'a str,
        source: &'a CallSource,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        Box::pin(async move {
            let Some(d) = self.0.upgrade() else {
                return Ok(());
            };
            authorize_service(&d, caller, parent, target, operation, input_json, source).await
        })
    }
}

/// Under ENFORCE_IAM, deliveries between services are authorized from now
/// on; without it nothing is registered and they cost nothing.
pub fn register(d: &std::sync::Arc<Dispatcher>) {
    if d.config().enforcement.enabled {
        d.shared()
            .set_delivery_check(std::sync::Arc::new(DeliveryCheck(
                std::sync::Arc::downgrade(d),
            )));
    }
}

/// A delivery between services under ENFORCE_IAM (services.call-from):
/// SNS to a queue, an S3 notification, an EventBridge target. AWS makes it
/// as the calling service's principal (`sns.amazonaws.com`), which only the
/// target's resource policy can allow, with `aws:SourceArn` /
/// `aws:SourceAccount` naming the topic, bucket or rule; or, when the
/// source names a role (a target's `RoleArn`), as a session of that role.
#[allow(clippy::too_many_arguments)]
pub async fn authorize_service(
    d: &Dispatcher,
    caller_plugin: &str,
    parent: &CallContext,
    target: &ServiceTarget,
    operation: &str,
    input_json: &str,
    source: &CallSource,
) -> Result<(), AwsError> {
    let registry = d.registry();
    // A service that is not loaded answers the call itself.
    let Some(plugin) = registry.by_name.get(&target.service) else {
        return Ok(());
    };
    let or = |v: &str, parent: &str| {
        if v.is_empty() {
            parent.to_string()
        } else {
            v.to_string()
        }
    };
    let account = or(&target.account, &parent.account);
    let region = or(&target.region, &parent.region);
    let input: Value = serde_json::from_str(crate::dispatch::handoff::json_part(input_json))
        .unwrap_or_else(|_| json!({}));
    let request_id = &parent.request_id;
    if let Some(role_arn) = &source.role_arn {
        // The role's session: its identity policies, and the target's
        // resource policy as for any caller.
        let role_account = authz::arn_account(role_arn).unwrap_or_else(|| account.clone());
        let role_name = role_arn.rsplit('/').next().unwrap_or_default();
        let caller = service_caller(
            &role_account,
            &region,
            format!("arn:aws:sts::{role_account}:assumed-role/{role_name}/{caller_plugin}"),
        );
        let conditions = Conditions {
            secure_transport: true,
            ..Default::default()
        };
        return authorize(
            d,
            plugin,
            operation,
            &input,
            &caller,
            &conditions,
            request_id,
        )
        .await;
    }
    let meta = plugin.model.metadata();
    let prefix = meta
        .signing_name
        .clone()
        .unwrap_or_else(|| meta.endpoint_prefix.clone());
    let principal = match registry.by_name.get(caller_plugin) {
        Some(p) => {
            let m = p.model.metadata();
            let name = m.signing_name.as_deref().unwrap_or(&m.endpoint_prefix);
            format!("{name}.amazonaws.com")
        }
        None => format!("{caller_plugin}.amazonaws.com"),
    };
    let t = authz::target(&prefix, operation, &input, &account, &region);
    let family = Family::of(&plugin.model);
    let as_target = service_caller(&account, &region, String::new());
    let (document, found_owner) = match &t.policy {
        Some(policy) => {
            resource_policy(d, &as_target, policy, t.owner.as_deref(), request_id).await
        }
        None => (None, None),
    };
    // A service principal holds no identity policies: without a resource
    // policy nothing allows it.
    let Some(document) = document else {
        return Err(authz::denied(
            family,
            &principal,
            &t,
            &format!(
                "because no resource-based policy allows the {} action",
                t.action
            ),
        ));
    };
    if !registry.by_name.contains_key("iam") {
        return Err(authz::denied(family, &principal, &t, ""));
    }
    let t_now = now();
    let mut context: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    context.insert("aws:SourceArn", vec![source.arn.clone()]);
    context.insert("aws:SourceAccount", vec![source.account.clone()]);
    context.insert("aws:PrincipalServiceName", vec![principal.clone()]);
    context.insert("aws:PrincipalIsAWSService", vec!["true".into()]);
    // AWS's services call each other over TLS.
    context.insert("aws:SecureTransport", vec!["true".into()]);
    context.insert("aws:RequestedRegion", vec![region.clone()]);
    context.insert("aws:EpochTime", vec![t_now.to_string()]);
    context.insert("aws:CurrentTime", vec![iso8601(t_now)]);
    let request = json!({
        "Principal": principal,
        "PrincipalAccount": source.account,
        "Action": t.action,
        "Resource": t.resource,
        "ResourceAccount": t.owner.clone().or(found_owner),
        "ResourcePolicy": document,
        "Context": context,
    });
    evaluate(
        d,
        &as_target,
        &account,
        &as_target.region,
        &request,
        request_id,
    )
    .await?
    .map_err(|reason| authz::denied(family, &principal, &t, &reason))
}

/// The caller a service's call acts as (no access key: nothing signed it).
fn service_caller(account: &str, region: &str, arn: String) -> crate::auth::Caller {
    crate::auth::Caller {
        access_key_id: String::new(),
        account: account.to_string(),
        region: region.to_string(),
        signing_service: None,
        endpoint: None,
        arn,
        user_id: String::new(),
    }
}

fn iso8601(secs: u64) -> String {
    let d = enforce::amz_date(secs);
    format!(
        "{}-{}-{}T{}:{}:{}Z",
        &d[0..4],
        &d[4..6],
        &d[6..8],
        &d[9..11],
        &d[11..13],
        &d[13..15]
    )
}
