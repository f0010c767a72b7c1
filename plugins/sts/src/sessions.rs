//! Temporary credentials: issuing them, remembering them, and who is calling.
//!
//! Every credential STS issues is registered with the gateway's identity
//! registry (so requests signed with it act in its account, as its principal)
//! and kept in [`SESSIONS`] (so STS knows what kind of session a caller holds:
//! role chaining, session tags, source identity, GetAccessKeyInfo).

use std::time::Duration;

use ministack_sdk::encoding::base64_encode;
use ministack_sdk::identity::{self, Credential};
use ministack_sdk::ids::{self, IdPrefix};
use ministack_sdk::prelude::*;
use ministack_sdk::{rand, tasks, time};

use crate::shapes::{Credentials, Tag};

/// Issued sessions by access key id. Global: a key is looked up whatever
/// account asks about it (GetAccessKeyInfo).
pub const SESSIONS: Table<Session> = Table::global("sessions");

/// How long after expiry a session's record is kept (GetAccessKeyInfo still
/// answers for expired keys, as AWS does).
const KEEP_AFTER_EXPIRY: Duration = Duration::from_secs(24 * 3600);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SessionKind {
    AssumedRole,
    WebIdentity,
    Saml,
    Root,
    Federated,
    SessionToken,
    Delegated,
}

impl SessionKind {
    /// Sessions of a role: assuming another role from one is role chaining.
    pub fn is_role(self) -> bool {
        matches!(
            self,
            SessionKind::AssumedRole | SessionKind::WebIdentity | SessionKind::Saml
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub access_key_id: String,
    pub kind: SessionKind,
    /// Account the credentials act in.
    pub account: String,
    /// What GetCallerIdentity reports.
    pub arn: String,
    pub user_id: String,
    pub issued: u64,
    pub expires: u64,
    #[serde(default)]
    pub source_identity: Option<String>,
    /// Session tags (role sessions and federated users).
    #[serde(default)]
    pub tags: Vec<Tag>,
    /// Keys of the tags that pass on to chained role sessions.
    #[serde(default)]
    pub transitive_tag_keys: Vec<String>,
    /// Session policies (the `Policy` document and `PolicyArns` of the
    /// assume call): they limit what the session may do under ENFORCE_IAM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policy_arns: Vec<String>,
}

impl Session {
    /// The tags that pass on to a role this session assumes.
    pub fn transitive_tags(&self) -> Vec<Tag> {
        self.tags
            .iter()
            .filter(|t| {
                self.transitive_tag_keys
                    .iter()
                    .any(|k| k.eq_ignore_ascii_case(&t.key))
            })
            .cloned()
            .collect()
    }
}

/// Who a new session stands for.
#[derive(Debug, Clone)]
pub struct Principal {
    pub account: String,
    pub arn: String,
    pub user_id: String,
}

/// What else a new session carries.
#[derive(Debug, Clone, Default)]
pub struct SessionExtras {
    pub source_identity: Option<String>,
    pub tags: Vec<Tag>,
    pub transitive_tag_keys: Vec<String>,
    pub policy: Option<String>,
    pub policy_arns: Vec<String>,
}

/// Makes, registers and records a new set of temporary credentials.
pub fn issue(
    kind: SessionKind,
    principal: &Principal,
    duration_secs: u64,
    extras: SessionExtras,
) -> Result<Credentials, AwsError> {
    let access_key_id = ids::aws_id(IdPrefix::TemporaryAccessKey);
    let secret_access_key = ids::secret_access_key();
    let session_token = session_token();
    let issued = time::now_secs();
    let expires = issued + duration_secs;

    identity::register(&Credential {
        access_key_id: access_key_id.clone(),
        secret_access_key: secret_access_key.clone(),
        account: principal.account.clone(),
        arn: principal.arn.clone(),
        user_id: principal.user_id.clone(),
        expires,
    });
    SESSIONS.put(
        &access_key_id,
        &Session {
            access_key_id: access_key_id.clone(),
            kind,
            account: principal.account.clone(),
            arn: principal.arn.clone(),
            user_id: principal.user_id.clone(),
            issued,
            expires,
            source_identity: extras.source_identity,
            tags: extras.tags,
            transitive_tag_keys: extras.transitive_tag_keys,
            policy: extras.policy,
            policy_arns: extras.policy_arns,
        },
    )?;
    tasks::schedule(
        Duration::from_secs(duration_secs) + KEEP_AFTER_EXPIRY,
        FORGET_SESSION,
        &access_key_id,
    )?;

    Ok(Credentials {
        access_key_id,
        secret_access_key,
        session_token,
        expiration: expires as f64,
    })
}

/// Task: drop the record of an expired session.
pub const FORGET_SESSION: &str = "forget-session";

pub fn forget_session(_: &Context, access_key_id: String) -> Result<(), AwsError> {
    if let Some(s) = SESSIONS.get(&access_key_id)?
        && s.expires <= time::now_secs()
    {
        SESSIONS.delete(&access_key_id);
    }
    Ok(())
}

/// A session token shaped like AWS's: a long base64 string that begins like
/// the tokens STS hands out today.
pub fn session_token() -> String {
    format!("IQoJb3JpZ2luX2Vj{}", base64_encode(&rand::bytes(320)))
}

/// The caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub account: String,
    pub arn: String,
    pub user_id: String,
    /// The STS session the caller signed with, if it is one of ours.
    pub session: Option<Session>,
}

impl Caller {
    pub fn is_root(&self) -> bool {
        self.arn.ends_with(":root")
    }

    pub fn principal(&self) -> Principal {
        Principal {
            account: self.account.clone(),
            arn: self.arn.clone(),
            user_id: self.user_id.clone(),
        }
    }

    /// The session's kind when the caller signed with temporary credentials.
    pub fn session_kind(&self) -> Option<SessionKind> {
        self.session.as_ref().map(|s| s.kind)
    }
}

/// Resolves the caller: a credential the gateway knows (STS sessions, IAM
/// keys), else the ARN the host resolved, else the account's root user (as
/// MiniStack and LocalStack report any unknown key).
pub fn caller(ctx: &Context) -> Result<Caller, AwsError> {
    // Only keys `issue` made are sessions, and they all start `ASIA`: a
    // long-term key is not looked up (a store read, ~3 % of the call).
    let session = if ctx
        .access_key_id
        .starts_with(IdPrefix::TemporaryAccessKey.as_str())
    {
        SESSIONS.get(&ctx.access_key_id)?
    } else {
        None
    };
    if let Some(c) = identity::lookup(&ctx.access_key_id) {
        return Ok(Caller {
            account: c.account,
            arn: c.arn,
            user_id: c.user_id,
            session,
        });
    }
    if !ctx.caller_arn.is_empty() {
        return Ok(Caller {
            account: ctx.account.clone(),
            arn: ctx.caller_arn.clone(),
            user_id: ctx.account.clone(),
            session: None,
        });
    }
    Ok(Caller {
        account: ctx.account.clone(),
        arn: root_arn(ctx.partition(), &ctx.account),
        user_id: ctx.account.clone(),
        session: None,
    })
}

pub fn root_arn(partition: &str, account: &str) -> String {
    // Joined, not `format!`ed: fmt's machinery in wasm was 2 % of a call.
    ["arn:", partition, ":iam::", account, ":root"].concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_look_like_aws() {
        let t = session_token();
        assert!(t.starts_with("IQoJb3JpZ2luX2Vj"));
        assert!(t.len() > 400);
    }

    #[test]
    fn transitive_tags_pass_on() {
        let s = Session {
            access_key_id: "ASIA".into(),
            kind: SessionKind::AssumedRole,
            account: "123456789012".into(),
            arn: "arn".into(),
            user_id: "id".into(),
            issued: 0,
            expires: 0,
            source_identity: None,
            tags: vec![
                Tag {
                    key: "Project".into(),
                    value: "x".into(),
                },
                Tag {
                    key: "Team".into(),
                    value: "y".into(),
                },
            ],
            transitive_tag_keys: vec!["project".into()],
            policy: None,
            policy_arns: vec![],
        };
        assert_eq!(
            s.transitive_tags(),
            vec![Tag {
                key: "Project".into(),
                value: "x".into()
            }]
        );
        assert!(s.kind.is_role());
        assert!(!SessionKind::Federated.is_role());
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SessionPoliciesRequest {
    access_key_id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SessionPolicies {
    #[serde(skip_serializing_if = "Option::is_none")]
    policy: Option<String>,
    policy_arns: Vec<String>,
}

/// `ministack:authz-session`, the gateway's read of a session's policies
/// under ENFORCE_IAM (docs/security.md).
pub fn session_policies(
    _: &Context,
    input: SessionPoliciesRequest,
) -> Result<SessionPolicies, AwsError> {
    let session = SESSIONS.get(&input.access_key_id)?;
    Ok(SessionPolicies {
        policy: session.as_ref().and_then(|s| s.policy.clone()),
        policy_arns: session.map(|s| s.policy_arns).unwrap_or_default(),
    })
}
