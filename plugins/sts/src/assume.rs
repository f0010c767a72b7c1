//! AssumeRole, AssumeRoleWithWebIdentity, AssumeRoleWithSAML and AssumeRoot:
//! sessions that act as another principal (a role, or an account's root).

use ministack_sdk::prelude::*;
use ministack_sdk::time;
use ministack_sdk::validate::Validator;

use crate::checks;
use crate::roles::{self, Role};
use crate::saml;
use crate::sessions::{self, Caller, Principal, SessionExtras, SessionKind};
use crate::shapes::*;
use crate::web_identity;

/// Role sessions last an hour unless asked otherwise.
const DEFAULT_ROLE_SESSION: i64 = 3600;
/// A role session started from another role session lasts at most an hour.
const ROLE_CHAINING_LIMIT: i64 = 3600;

pub fn assume_role(
    ctx: &Context,
    input: AssumeRoleRequest,
) -> Result<AssumeRoleResponse, AwsError> {
    let mut v = Validator::new();
    checks::arn_member(&mut v, "roleArn", &input.role_arn);
    checks::session_name(&mut v, "roleSessionName", &input.role_session_name, 64);
    checks::policy_arns(&mut v, input.policy_arns.as_deref().unwrap_or_default());
    checks::policy(&mut v, input.policy.as_deref());
    checks::duration(
        &mut v,
        input.duration_seconds.map(i64::from),
        900,
        roles::MAX_ROLE_SESSION,
    );
    checks::tags(&mut v, input.tags.as_deref().unwrap_or_default());
    v.count(
        "transitiveTagKeys",
        input.transitive_tag_keys.as_ref().map_or(0, Vec::len),
        0,
        50,
    );
    checks::external_id(&mut v, input.external_id.as_deref());
    checks::mfa(
        &mut v,
        input.serial_number.as_deref(),
        input.token_code.as_deref(),
    );
    checks::source_identity(&mut v, input.source_identity.as_deref());
    checks::provided_contexts(
        &mut v,
        input.provided_contexts.as_deref().unwrap_or_default(),
    );
    v.finish(AwsError::validation_error)?;
    checks::source_identity_prefix(input.source_identity.as_deref())?;
    checks::mfa_pair(input.serial_number.as_deref(), input.token_code.as_deref())?;
    checks::tag_keys(
        input.tags.as_deref().unwrap_or_default(),
        input.transitive_tag_keys.as_deref().unwrap_or_default(),
    )?;
    let policy = checks::policy_document(input.policy.as_deref())?;

    let caller = sessions::caller(ctx)?;
    let role = roles::resolve(
        ctx,
        &caller.arn,
        &input.role_arn,
        &format!("{} is invalid", input.role_arn),
    )?;
    let duration = role_session_duration(input.duration_seconds.map(i64::from), &role, &caller)?;
    let (tags, transitive_tag_keys) = session_tags(
        &caller,
        input.tags.as_deref().unwrap_or_default(),
        input.transitive_tag_keys.as_deref().unwrap_or_default(),
    )?;
    let source_identity = chained_source_identity(&caller, &role, input.source_identity)?;
    let packed_policy_size = checks::packed_policy_size(
        policy.as_ref(),
        input.policy_arns.as_deref().unwrap_or_default(),
        input.tags.as_deref().unwrap_or_default(),
    );
    checks::packed_policy_fits(packed_policy_size, &format!("role {}", role.arn))?;

    let (principal, assumed_role_user) = role_principal(&role, &input.role_session_name);
    let credentials = sessions::issue(
        SessionKind::AssumedRole,
        &principal,
        duration,
        SessionExtras {
            source_identity: source_identity.clone(),
            tags,
            transitive_tag_keys,
            policy: input.policy.clone(),
            policy_arns: session_policy_arns(input.policy_arns.as_deref()),
        },
    )?;
    Ok(AssumeRoleResponse {
        credentials: Some(credentials),
        assumed_role_user: Some(assumed_role_user),
        packed_policy_size: packed_policy_size.map(|n| n as i32),
        source_identity,
    })
}

pub fn assume_role_with_web_identity(
    ctx: &Context,
    input: AssumeRoleWithWebIdentityRequest,
) -> Result<AssumeRoleWithWebIdentityResponse, AwsError> {
    let mut v = Validator::new();
    checks::arn_member(&mut v, "roleArn", &input.role_arn);
    checks::session_name(&mut v, "roleSessionName", &input.role_session_name, 64);
    v.length_hidden("webIdentityToken", &input.web_identity_token, 4, 20_000);
    if let Some(p) = &input.provider_id {
        v.length("providerId", p, 4, 2048);
    }
    checks::policy_arns(&mut v, input.policy_arns.as_deref().unwrap_or_default());
    checks::policy(&mut v, input.policy.as_deref());
    checks::duration(
        &mut v,
        input.duration_seconds.map(i64::from),
        900,
        roles::MAX_ROLE_SESSION,
    );
    v.finish(AwsError::validation_error)?;
    let policy = checks::policy_document(input.policy.as_deref())?;

    // OpenID Connect ID tokens are JWTs and their claims are read; any other
    // token (OAuth 2.0 access tokens, or the placeholder a local setup
    // passes: no identity provider exists here) is accepted as an opaque
    // credential, a local convenience.
    let claims = match web_identity::parse_jwt(&input.web_identity_token) {
        Some(claims) => claims,
        None => web_identity::WebIdentityClaims {
            subject: Some(opaque_subject(&input.web_identity_token)),
            ..Default::default()
        },
    };
    // Signatures are never checked; expiry only when the plugin is told to.
    if ctx.setting("check_web_identity_expiry") == Some("true")
        && let Some(exp) = claims.expires
        && exp < time::now_secs()
    {
        return Err(AwsError::new(
            "ExpiredTokenException",
            format!(
                "Token expired: current date/time {} must be before the expiration date/time {}",
                time::now_secs(),
                exp
            ),
        ));
    }

    // Unsigned calls are allowed: the token is the credential.
    let caller = sessions::caller(ctx)?;
    let role = roles::resolve(
        ctx,
        &caller.arn,
        &input.role_arn,
        &format!("{} is invalid", input.role_arn),
    )?;
    let duration = within_role_limit(
        input
            .duration_seconds
            .map(i64::from)
            .unwrap_or(DEFAULT_ROLE_SESSION),
        &role,
    )?;
    let packed_policy_size = checks::packed_policy_size(
        policy.as_ref(),
        input.policy_arns.as_deref().unwrap_or_default(),
        &[],
    );
    checks::packed_policy_fits(packed_policy_size, &format!("role {}", role.arn))?;

    let (principal, assumed_role_user) = role_principal(&role, &input.role_session_name);
    let credentials = sessions::issue(
        SessionKind::WebIdentity,
        &principal,
        duration,
        SessionExtras {
            source_identity: claims.source_identity.clone(),
            policy: input.policy.clone(),
            policy_arns: session_policy_arns(input.policy_arns.as_deref()),
            ..Default::default()
        },
    )?;
    Ok(AssumeRoleWithWebIdentityResponse {
        credentials: Some(credentials),
        subject_from_web_identity_token: claims.subject,
        assumed_role_user: Some(assumed_role_user),
        packed_policy_size: packed_policy_size.map(|n| n as i32),
        provider: input.provider_id.or(claims.issuer),
        audience: claims.audience,
        source_identity: claims.source_identity,
    })
}

pub fn assume_role_with_saml(
    ctx: &Context,
    input: AssumeRoleWithSAMLRequest,
) -> Result<AssumeRoleWithSAMLResponse, AwsError> {
    let mut v = Validator::new();
    checks::arn_member(&mut v, "roleArn", &input.role_arn);
    checks::arn_member(&mut v, "principalArn", &input.principal_arn);
    v.length_hidden("sAMLAssertion", &input.saml_assertion, 4, 100_000);
    checks::policy_arns(&mut v, input.policy_arns.as_deref().unwrap_or_default());
    checks::policy(&mut v, input.policy.as_deref());
    checks::duration(
        &mut v,
        input.duration_seconds.map(i64::from),
        900,
        roles::MAX_ROLE_SESSION,
    );
    v.finish(AwsError::validation_error)?;
    let policy = checks::policy_document(input.policy.as_deref())?;

    let provider = checks::parse_saml_provider_arn(&input.principal_arn)
        .ok_or_else(|| AwsError::validation_error("Request ARN is invalid"))?;
    let caller = sessions::caller(ctx)?;
    let role = roles::resolve(ctx, &caller.arn, &input.role_arn, "Request ARN is invalid")?;
    let assertion = saml::parse(&input.saml_assertion).ok_or_else(|| {
        AwsError::new(
            "InvalidIdentityToken",
            "The SAML assertion is not a valid base64-encoded SAML response.",
        )
    })?;

    let requested = input
        .duration_seconds
        .map(i64::from)
        .or(assertion
            .session_duration
            .map(|d| d.clamp(900, roles::MAX_ROLE_SESSION)))
        .unwrap_or(DEFAULT_ROLE_SESSION);
    let duration = within_role_limit(requested, &role)?;
    let packed_policy_size = checks::packed_policy_size(
        policy.as_ref(),
        input.policy_arns.as_deref().unwrap_or_default(),
        &[],
    );
    checks::packed_policy_fits(packed_policy_size, &format!("role {}", role.arn))?;

    let session_name = checks::sanitize_session_name(
        assertion
            .role_session_name
            .as_deref()
            .or(assertion.subject.as_deref())
            .unwrap_or("saml-session"),
    );
    let name_qualifier = assertion
        .issuer
        .as_deref()
        .map(|issuer| saml::name_qualifier(issuer, &provider.account, provider.resource_name()));
    let (principal, assumed_role_user) = role_principal(&role, &session_name);
    let credentials = sessions::issue(
        SessionKind::Saml,
        &principal,
        duration,
        SessionExtras {
            source_identity: assertion.source_identity.clone(),
            policy: input.policy.clone(),
            policy_arns: session_policy_arns(input.policy_arns.as_deref()),
            ..Default::default()
        },
    )?;
    Ok(AssumeRoleWithSAMLResponse {
        credentials: Some(credentials),
        assumed_role_user: Some(assumed_role_user),
        packed_policy_size: packed_policy_size.map(|n| n as i32),
        subject: assertion.subject,
        subject_type: assertion.subject_type,
        issuer: assertion.issuer,
        audience: assertion.audience,
        name_qualifier,
        source_identity: assertion.source_identity,
    })
}

/// The ARNs of an assume call's `PolicyArns` (session policies).
fn session_policy_arns(list: Option<&[crate::shapes::PolicyDescriptorType]>) -> Vec<String> {
    list.unwrap_or_default()
        .iter()
        .filter_map(|d| d.arn.clone())
        .collect()
}

/// The task policies AssumeRoot accepts (`arn:aws:iam::aws:policy/root-task/<name>`).
const ROOT_TASK_POLICIES: &[&str] = &[
    "IAMAuditRootUserCredentials",
    "IAMCreateRootUserPassword",
    "IAMDeleteRootUserCredentials",
    "S3UnlockBucketPolicy",
    "SQSUnlockQueuePolicy",
];

pub fn assume_root(
    ctx: &Context,
    input: AssumeRootRequest,
) -> Result<AssumeRootResponse, AwsError> {
    let task_policy = input.task_policy_arn.arn.clone().unwrap_or_default();
    let mut v = Validator::new();
    v.length("targetPrincipal", &input.target_principal, 12, 2048);
    checks::arn_member(&mut v, "taskPolicyArn.arn", &task_policy);
    if let Some(d) = input.duration_seconds.map(i64::from) {
        v.range("durationSeconds", d, 0, 900);
    }
    v.finish(AwsError::validation_error)?;

    let target_account = root_target_account(&input.target_principal).ok_or_else(|| {
        AwsError::validation_error(format!(
            "The specified TargetPrincipal {} is not a valid account ID or principal ARN.",
            input.target_principal
        ))
    })?;
    if !is_root_task_policy(&task_policy) {
        return Err(AwsError::validation_error(format!(
            "The specified TaskPolicyArn {task_policy} is not a valid root task policy."
        )));
    }

    let caller = sessions::caller(ctx)?;
    let source_identity = caller
        .session
        .as_ref()
        .and_then(|s| s.source_identity.clone());
    let principal = Principal {
        arn: sessions::root_arn(ctx.partition(), &target_account),
        user_id: target_account.clone(),
        account: target_account,
    };
    let credentials = sessions::issue(
        SessionKind::Root,
        &principal,
        input.duration_seconds.map(i64::from).unwrap_or(900).max(0) as u64,
        SessionExtras {
            source_identity: source_identity.clone(),
            ..Default::default()
        },
    )?;
    Ok(AssumeRootResponse {
        credentials: Some(credentials),
        source_identity,
    })
}

/// An account id, or the account of a principal ARN.
fn root_target_account(target: &str) -> Option<String> {
    if ministack_sdk::ids::is_account_id(target) {
        return Some(target.to_string());
    }
    Arn::parse(target)
        .map(|a| a.account)
        .filter(|a| ministack_sdk::ids::is_account_id(a))
}

fn is_root_task_policy(arn: &str) -> bool {
    Arn::parse(arn).is_some_and(|a| {
        a.service == "iam"
            && a.account == "aws"
            && a.resource
                .strip_prefix("policy/root-task/")
                .is_some_and(|name| ROOT_TASK_POLICIES.contains(&name))
    })
}

/// The session of `role` named `session_name`: who it acts as, and the
/// AssumedRoleUser member of the response.
fn role_principal(role: &Role, session_name: &str) -> (Principal, AssumedRoleUser) {
    let principal = Principal {
        account: role.account.clone(),
        arn: role.assumed_role_arn(session_name),
        user_id: role.assumed_role_id(session_name),
    };
    let user = AssumedRoleUser {
        assumed_role_id: principal.user_id.clone(),
        arn: principal.arn.clone(),
    };
    (principal, user)
}

/// DurationSeconds for AssumeRole: the role's limit, and an hour when the
/// caller is itself a role session (role chaining).
fn role_session_duration(
    requested: Option<i64>,
    role: &Role,
    caller: &Caller,
) -> Result<u64, AwsError> {
    let duration = requested.unwrap_or(DEFAULT_ROLE_SESSION);
    if caller.session_kind().is_some_and(|k| k.is_role()) && duration > ROLE_CHAINING_LIMIT {
        return Err(AwsError::validation_error(
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
        ));
    }
    within_role_limit(duration, role)
}

fn within_role_limit(duration: i64, role: &Role) -> Result<u64, AwsError> {
    if duration > role.max_session_duration {
        return Err(AwsError::validation_error(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
        ));
    }
    Ok(duration.max(0) as u64)
}

/// Session tags: the caller's transitive tags carry over and cannot be
/// overridden; the request's tags are added.
fn session_tags(
    caller: &Caller,
    requested: &[Tag],
    requested_transitive: &[String],
) -> Result<(Vec<Tag>, Vec<String>), AwsError> {
    let inherited = caller
        .session
        .as_ref()
        .map(|s| s.transitive_tags())
        .unwrap_or_default();
    if requested
        .iter()
        .any(|t| inherited.iter().any(|i| i.key.eq_ignore_ascii_case(&t.key)))
    {
        return Err(AwsError::invalid_parameter_value(
            "One of the specified transitive tag keys can't be set because it conflicts with a transitive tag key from the calling session.",
        ));
    }
    let mut keys: Vec<String> = inherited.iter().map(|t| t.key.clone()).collect();
    keys.extend(requested_transitive.iter().cloned());
    let mut tags = inherited;
    tags.extend(requested.iter().cloned());
    Ok((tags, keys))
}

/// A source identity, once set, stays with every chained session.
fn chained_source_identity(
    caller: &Caller,
    role: &Role,
    requested: Option<String>,
) -> Result<Option<String>, AwsError> {
    let inherited = caller
        .session
        .as_ref()
        .and_then(|s| s.source_identity.clone());
    match (inherited, requested) {
        (Some(had), Some(asked)) if had != asked => Err(AwsError::access_denied(format!(
            "User: {} is not authorized to perform: sts:SetSourceIdentity on resource: {} (the source identity of a session cannot change)",
            caller.arn, role.arn
        ))),
        (Some(had), _) => Ok(Some(had)),
        (None, asked) => Ok(asked),
    }
}

/// A stable subject for an opaque OAuth 2.0 token.
fn opaque_subject(token: &str) -> String {
    ministack_sdk::hash::hex(&ministack_sdk::hash::sha256(token.as_bytes())[..10])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sessions::Session;

    fn role(max: i64) -> Role {
        Role {
            arn: "arn:aws:iam::123456789012:role/R".into(),
            account: "123456789012".into(),
            partition: "aws".into(),
            name: "R".into(),
            role_id: "AROAABCDEFGHIJKLMNOP".into(),
            max_session_duration: max,
        }
    }

    fn caller(
        kind: Option<SessionKind>,
        tags: Vec<Tag>,
        transitive: Vec<String>,
        si: Option<&str>,
    ) -> Caller {
        Caller {
            account: "123456789012".into(),
            arn: "arn:aws:sts::123456789012:assumed-role/A/s".into(),
            user_id: "AROA:s".into(),
            session: kind.map(|kind| Session {
                access_key_id: "ASIA".into(),
                kind,
                account: "123456789012".into(),
                arn: "x".into(),
                user_id: "y".into(),
                issued: 0,
                expires: 0,
                source_identity: si.map(str::to_string),
                tags,
                policy: None,
                policy_arns: vec![],
                transitive_tag_keys: transitive,
            }),
        }
    }

    fn tag(k: &str, v: &str) -> Tag {
        Tag {
            key: k.into(),
            value: v.into(),
        }
    }

    #[test]
    fn durations_and_chaining() {
        let plain = caller(None, vec![], vec![], None);
        assert_eq!(
            role_session_duration(None, &role(43200), &plain).unwrap(),
            3600
        );
        assert_eq!(
            role_session_duration(Some(43200), &role(43200), &plain).unwrap(),
            43200
        );
        let e = role_session_duration(Some(7200), &role(3600), &plain).unwrap_err();
        assert!(e.message.contains("MaxSessionDuration"));
        let chained = caller(Some(SessionKind::AssumedRole), vec![], vec![], None);
        let e = role_session_duration(Some(7200), &role(43200), &chained).unwrap_err();
        assert!(e.message.contains("role chaining"));
        let federated = caller(Some(SessionKind::Federated), vec![], vec![], None);
        assert!(role_session_duration(Some(7200), &role(43200), &federated).is_ok());
    }

    #[test]
    fn tags_and_source_identity_chain() {
        let c = caller(
            Some(SessionKind::AssumedRole),
            vec![tag("Project", "p"), tag("Other", "o")],
            vec!["Project".into()],
            Some("alice"),
        );
        let (tags, keys) = session_tags(&c, &[tag("Team", "t")], &["Team".into()]).unwrap();
        assert_eq!(tags, vec![tag("Project", "p"), tag("Team", "t")]);
        assert_eq!(keys, vec!["Project".to_string(), "Team".to_string()]);
        assert!(session_tags(&c, &[tag("project", "x")], &[]).is_err());
        assert_eq!(
            chained_source_identity(&c, &role(1), None)
                .unwrap()
                .as_deref(),
            Some("alice")
        );
        assert!(chained_source_identity(&c, &role(1), Some("bob".into())).is_err());
        let plain = caller(None, vec![], vec![], None);
        assert_eq!(
            chained_source_identity(&plain, &role(1), Some("bob".into()))
                .unwrap()
                .as_deref(),
            Some("bob")
        );
    }

    #[test]
    fn root_targets_and_policies() {
        assert_eq!(
            root_target_account("111122223333").as_deref(),
            Some("111122223333")
        );
        assert_eq!(
            root_target_account("arn:aws:iam::111122223333:root").as_deref(),
            Some("111122223333")
        );
        assert_eq!(root_target_account("not-an-account"), None);
        assert!(is_root_task_policy(
            "arn:aws:iam::aws:policy/root-task/S3UnlockBucketPolicy"
        ));
        assert!(!is_root_task_policy(
            "arn:aws:iam::aws:policy/AdministratorAccess"
        ));
    }

    #[test]
    fn role_principals() {
        let (p, u) = role_principal(&role(3600), "sess");
        assert_eq!(p.account, "123456789012");
        assert_eq!(u.arn, "arn:aws:sts::123456789012:assumed-role/R/sess");
        assert_eq!(u.assumed_role_id, "AROAABCDEFGHIJKLMNOP:sess");
        assert_eq!(opaque_subject("tok").len(), 20);
    }
}
