//! AWS Security Token Service as a ministack plugin.
//!
//! Every operation of the 2011-06-15 model is implemented. Credentials are
//! `ASIA...` keys with 40-character secrets and long session tokens; each is
//! registered with the gateway's identity registry, so a request signed with
//! it acts in its account as the principal GetCallerIdentity reports. Tokens
//! (web identity JWTs, SAML assertions) are read but never verified, and any
//! well-formed role ARN may be assumed until an IAM plugin exists (see
//! [`roles`]).
//!
//! Plugin settings (plugins.toml `[plugins.sts.settings]`):
//! - `check_roles_in_iam = "true"`: look roles up with IAM GetRole;
//! - `check_web_identity_expiry = "true"`: refuse expired web identity tokens.

use ministack_sdk::prelude::*;

mod assume;
mod checks;
mod info;
pub mod roles;
mod saml;
mod sessions;
mod tokens;
mod web_identity;

ministack_sdk::include_shapes!(pub mod shapes);

// A request's strings and small maps: free lists in front of dlmalloc
// (ministack_sdk::alloc).
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: ministack_sdk::alloc::SmallBlocks = ministack_sdk::alloc::SmallBlocks::new();

pub struct Sts;

impl Service for Sts {
    const NAME: &'static str = "sts";
    const MODEL: &'static str = include_str!("../model/service-2.json");

    fn router() -> Router {
        Router::new()
            .op("AssumeRole", assume::assume_role)
            // ENFORCE_IAM: a session's policies (docs/security.md)
            .op("ministack:authz-session", sessions::session_policies)
            .op(
                "AssumeRoleWithWebIdentity",
                assume::assume_role_with_web_identity,
            )
            .op("AssumeRoleWithSAML", assume::assume_role_with_saml)
            .op("AssumeRoot", assume::assume_root)
            .op("GetSessionToken", tokens::get_session_token)
            .op("GetFederationToken", tokens::get_federation_token)
            .op(
                "GetDelegatedAccessToken",
                tokens::get_delegated_access_token,
            )
            .op("GetWebIdentityToken", tokens::get_web_identity_token)
            .op("GetCallerIdentity", info::get_caller_identity)
            .op("GetAccessKeyInfo", info::get_access_key_info)
            .op(
                "DecodeAuthorizationMessage",
                info::decode_authorization_message,
            )
            .task(sessions::FORGET_SESSION, sessions::forget_session)
    }

    fn capabilities() -> Vec<String> {
        vec!["identity".to_string()]
    }
}

export_plugin!(Sts);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn implements_every_operation_of_the_model() {
        assert_eq!(
            ministack_sdk::coverage::<Sts>(),
            ministack_sdk::Coverage::default()
        );
    }

    #[test]
    fn input_errors_are_validation_errors() {
        let ctx = Context::for_test("123456789012", "us-east-1");
        let router = Sts::router().with_model(Sts::MODEL);
        let e = router
            .dispatch(&ctx, "AssumeRole", r#"{"RoleArn": 5}"#)
            .unwrap_err();
        assert_eq!(e.code, "ValidationError");
        let e = router.dispatch(&ctx, "Nope", "{}").unwrap_err();
        assert_eq!(e.code, "InvalidAction");
    }

    #[test]
    fn validation_comes_before_any_host_call() {
        let ctx = Context::for_test("123456789012", "us-east-1");
        let router = Sts::router().with_model(Sts::MODEL);
        let e = router
            .dispatch(
                &ctx,
                "AssumeRole",
                r#"{"RoleArn":"arn:aws:iam::123456789012:role/R","RoleSessionName":"bad name","DurationSeconds":100}"#,
            )
            .unwrap_err();
        assert_eq!(e.code, "ValidationError");
        assert!(
            e.message
                .starts_with("2 validation errors detected: Value 'bad name' at 'roleSessionName'")
        );
        assert!(e.message.contains("Value '100' at 'durationSeconds'"));
        let e = router
            .dispatch(&ctx, "GetAccessKeyInfo", r#"{"AccessKeyId":"short"}"#)
            .unwrap_err();
        assert!(e.message.contains("greater than or equal to 16"));
        let e = router
            .dispatch(
                &ctx,
                "DecodeAuthorizationMessage",
                r#"{"EncodedMessage":"garbage"}"#,
            )
            .unwrap_err();
        assert_eq!(e.code, "InvalidAuthorizationMessageException");
        let e = router
            .dispatch(
                &ctx,
                "GetWebIdentityToken",
                r#"{"Audience":["a"],"SigningAlgorithm":"HS256"}"#,
            )
            .unwrap_err();
        assert!(e.message.contains("enum value set"));
    }
}
