//! GetSessionToken, GetFederationToken, GetDelegatedAccessToken and
//! GetWebIdentityToken: credentials and tokens for the caller itself (or for
//! whoever a trade-in token names).

use ministack_sdk::authz;
use ministack_sdk::encoding::base64url_encode;
use ministack_sdk::prelude::*;
use ministack_sdk::validate::Validator;
use ministack_sdk::{ids, rand, time};
use serde_json::{Value, json};

use crate::checks;
use crate::sessions::{self, Caller, Principal, SessionExtras, SessionKind};
use crate::shapes::*;

/// GetSessionToken and GetFederationToken last 12 hours unless asked otherwise.
const DEFAULT_USER_SESSION: i64 = 43_200;
const MAX_USER_SESSION: i64 = 129_600;
/// Sessions of an account's root user last at most an hour (longer requests
/// get an hour, as AWS does).
const ROOT_SESSION_LIMIT: i64 = 3600;

pub fn get_session_token(
    ctx: &Context,
    input: GetSessionTokenRequest,
) -> Result<GetSessionTokenResponse, AwsError> {
    let mut v = Validator::new();
    checks::duration(
        &mut v,
        input.duration_seconds.map(i64::from),
        900,
        MAX_USER_SESSION,
    );
    checks::mfa(
        &mut v,
        input.serial_number.as_deref(),
        input.token_code.as_deref(),
    );
    v.finish(AwsError::validation_error)?;
    checks::mfa_pair(input.serial_number.as_deref(), input.token_code.as_deref())?;

    let caller = sessions::caller(ctx)?;
    refuse_session_credentials(&caller, "GetSessionToken")?;
    let duration = user_session_duration(input.duration_seconds.map(i64::from), &caller);
    let credentials = sessions::issue(
        SessionKind::SessionToken,
        &caller.principal(),
        duration,
        SessionExtras::default(),
    )?;
    Ok(GetSessionTokenResponse {
        credentials: Some(credentials),
    })
}

pub fn get_federation_token(
    ctx: &Context,
    input: GetFederationTokenRequest,
) -> Result<GetFederationTokenResponse, AwsError> {
    let mut v = Validator::new();
    checks::session_name(&mut v, "name", &input.name, 32);
    checks::policy(&mut v, input.policy.as_deref());
    checks::policy_arns(&mut v, input.policy_arns.as_deref().unwrap_or_default());
    checks::duration(
        &mut v,
        input.duration_seconds.map(i64::from),
        900,
        MAX_USER_SESSION,
    );
    checks::tags(&mut v, input.tags.as_deref().unwrap_or_default());
    v.finish(AwsError::validation_error)?;
    checks::tag_keys(input.tags.as_deref().unwrap_or_default(), &[])?;
    let policy = checks::policy_document(input.policy.as_deref())?;

    let caller = sessions::caller(ctx)?;
    refuse_session_credentials(&caller, "GetFederationToken")?;
    let duration = user_session_duration(input.duration_seconds.map(i64::from), &caller);
    let packed_policy_size = checks::packed_policy_size(
        policy.as_ref(),
        input.policy_arns.as_deref().unwrap_or_default(),
        input.tags.as_deref().unwrap_or_default(),
    );
    checks::packed_policy_fits(packed_policy_size, "federated user")?;

    let federated_user = FederatedUser {
        federated_user_id: format!("{}:{}", caller.account, input.name),
        arn: format!(
            "arn:{}:sts::{}:federated-user/{}",
            ctx.partition(),
            caller.account,
            input.name
        ),
    };
    let principal = Principal {
        account: caller.account.clone(),
        arn: federated_user.arn.clone(),
        user_id: federated_user.federated_user_id.clone(),
    };
    let credentials = sessions::issue(
        SessionKind::Federated,
        &principal,
        duration,
        SessionExtras {
            tags: input.tags.unwrap_or_default(),
            ..Default::default()
        },
    )?;
    Ok(GetFederationTokenResponse {
        credentials: Some(credentials),
        federated_user: Some(federated_user),
        // Always present for federation tokens, 0 without policies.
        packed_policy_size: Some(packed_policy_size.unwrap_or(0) as i32),
    })
}

pub fn get_delegated_access_token(
    _ctx: &Context,
    input: GetDelegatedAccessTokenRequest,
) -> Result<GetDelegatedAccessTokenResponse, AwsError> {
    let expired = || {
        AwsError::new(
            "ExpiredTradeInTokenException",
            "The trade-in token provided has expired or is not valid.",
        )
    };
    let grant = authz::decode_trade_in_token(&input.trade_in_token).ok_or_else(expired)?;
    if grant.expires <= time::now_secs() {
        return Err(expired());
    }
    let principal = Principal {
        account: grant.account.clone(),
        arn: grant.principal_arn.clone(),
        user_id: grant.principal_arn.clone(),
    };
    let duration = if grant.duration == 0 {
        3600
    } else {
        grant.duration
    };
    let credentials = sessions::issue(
        SessionKind::Delegated,
        &principal,
        duration,
        SessionExtras::default(),
    )?;
    Ok(GetDelegatedAccessTokenResponse {
        credentials: Some(credentials),
        assumed_principal: Some(grant.principal_arn),
        packed_policy_size: None,
    })
}

const SIGNING_ALGORITHMS: &[&str] = &["RS256", "ES384"];
/// The per-account issuer of outbound web identity tokens.
const OUTBOUND_ISSUER: Table<String> = Table::account("outbound-issuer");

pub fn get_web_identity_token(
    ctx: &Context,
    input: GetWebIdentityTokenRequest,
) -> Result<GetWebIdentityTokenResponse, AwsError> {
    let mut v = Validator::new();
    v.count("audience", input.audience.len(), 1, 10);
    for (i, a) in input.audience.iter().enumerate() {
        v.length(&format!("audience.{}.member", i + 1), a, 1, 1000);
    }
    checks::duration(&mut v, input.duration_seconds.map(i64::from), 60, 3600);
    v.length("signingAlgorithm", &input.signing_algorithm, 5, 5);
    checks::tags(&mut v, input.tags.as_deref().unwrap_or_default());
    v.finish(AwsError::validation_error)?;
    if !SIGNING_ALGORITHMS.contains(&input.signing_algorithm.as_str()) {
        return Err(AwsError::validation_error(format!(
            "1 validation error detected: Value '{}' at 'signingAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [RS256, ES384]",
            input.signing_algorithm
        )));
    }
    checks::tag_keys(input.tags.as_deref().unwrap_or_default(), &[])?;

    let caller = sessions::caller(ctx)?;
    let issuer = match OUTBOUND_ISSUER.get("issuer")? {
        Some(i) => i,
        None => {
            let i = format!("https://{}.tokens.sts.global.api.aws", ids::uuid());
            OUTBOUND_ISSUER.put("issuer", &i)?;
            i
        }
    };
    let now = time::now_secs();
    let expiration = now + input.duration_seconds.map(i64::from).unwrap_or(300) as u64;
    let claims = web_identity_claims(ctx, &caller, &issuer, &input, now, expiration);
    Ok(GetWebIdentityTokenResponse {
        web_identity_token: Some(unsigned_jwt(&input.signing_algorithm, &claims)),
        expiration: Some(expiration as f64),
    })
}

fn web_identity_claims(
    ctx: &Context,
    caller: &Caller,
    issuer: &str,
    input: &GetWebIdentityTokenRequest,
    now: u64,
    expiration: u64,
) -> Value {
    let audience = if input.audience.len() == 1 {
        json!(input.audience[0])
    } else {
        json!(input.audience)
    };
    let tags: serde_json::Map<String, Value> = input
        .tags
        .iter()
        .flatten()
        .map(|t| (t.key.clone(), Value::String(t.value.clone())))
        .collect();
    json!({
        "iss": issuer,
        "sub": caller.arn,
        "aud": audience,
        "iat": now,
        "nbf": now,
        "exp": expiration,
        "jti": ids::uuid(),
        "https://sts.amazonaws.com/": {
            "aws_account": caller.account,
            "source_region": ctx.region,
            "principal_id": caller.arn,
            "request_tags": tags,
        }
    })
}

/// A JWT with a random signature: clients only read it, and nothing in the
/// emulator verifies it.
fn unsigned_jwt(algorithm: &str, claims: &Value) -> String {
    let header = json!({"alg": algorithm, "typ": "JWT", "kid": "ministack"});
    let signature_len = if algorithm == "ES384" { 96 } else { 256 };
    format!(
        "{}.{}.{}",
        base64url_encode(header.to_string().as_bytes()),
        base64url_encode(claims.to_string().as_bytes()),
        base64url_encode(&rand::bytes(signature_len))
    )
}

/// GetSessionToken and GetFederationToken need long-term credentials.
fn refuse_session_credentials(caller: &Caller, operation: &str) -> Result<(), AwsError> {
    if caller.session.is_some() {
        return Err(AwsError::access_denied(format!(
            "Cannot call {operation} with session credentials"
        )));
    }
    Ok(())
}

fn user_session_duration(requested: Option<i64>, caller: &Caller) -> u64 {
    let duration = requested.unwrap_or(DEFAULT_USER_SESSION);
    let duration = if caller.is_root() {
        duration.min(ROOT_SESSION_LIMIT)
    } else {
        duration
    };
    duration.max(0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web_identity;

    fn root() -> Caller {
        Caller {
            account: "123456789012".into(),
            arn: "arn:aws:iam::123456789012:root".into(),
            user_id: "123456789012".into(),
            session: None,
        }
    }

    #[test]
    fn root_sessions_last_an_hour() {
        assert_eq!(user_session_duration(None, &root()), 3600);
        let mut user = root();
        user.arn = "arn:aws:iam::123456789012:user/bob".into();
        assert_eq!(user_session_duration(None, &user), 43200);
        assert_eq!(user_session_duration(Some(900), &root()), 900);
    }

    #[test]
    fn outbound_tokens_are_readable_jwts() {
        let ctx = Context::for_test("123456789012", "eu-west-1");
        let input = GetWebIdentityTokenRequest {
            audience: vec!["https://api.example.com".into()],
            duration_seconds: None,
            signing_algorithm: "RS256".into(),
            tags: None,
        };
        let claims = web_identity_claims(
            &ctx,
            &root(),
            "https://x.tokens.sts.global.api.aws",
            &input,
            10,
            310,
        );
        let token = unsigned_jwt("RS256", &claims);
        let read = web_identity::parse_jwt(&token).unwrap();
        assert_eq!(read.audience.as_deref(), Some("https://api.example.com"));
        assert_eq!(
            read.subject.as_deref(),
            Some("arn:aws:iam::123456789012:root")
        );
        assert_eq!(read.expires, Some(310));
    }

    #[test]
    fn session_credentials_cannot_get_session_tokens() {
        let mut c = root();
        assert!(refuse_session_credentials(&c, "GetSessionToken").is_ok());
        c.session = Some(crate::sessions::Session {
            access_key_id: "ASIA".into(),
            kind: SessionKind::AssumedRole,
            account: c.account.clone(),
            arn: c.arn.clone(),
            user_id: c.user_id.clone(),
            issued: 0,
            expires: 0,
            source_identity: None,
            tags: vec![],
            policy: None,
            policy_arns: vec![],
            transitive_tag_keys: vec![],
        });
        let e = refuse_session_credentials(&c, "GetSessionToken").unwrap_err();
        assert_eq!(e.code, "AccessDenied");
    }
}
