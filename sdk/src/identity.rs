//! Credentials the gateway knows (STS sessions, IAM access keys): a request
//! signed with a registered key acts in its account as its principal, and
//! presigned URLs are verified with its secret. Granted to sts and iam.

use serde::{Deserialize, Serialize};

use crate::generated::ministack::plugin::identity as wit;

/// One access key and who it stands for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credential {
    pub access_key_id: String,
    pub secret_access_key: String,
    /// 12-digit account the key acts in.
    pub account: String,
    /// What GetCallerIdentity reports, e.g. `arn:aws:sts::123456789012:assumed-role/r/s`.
    pub arn: String,
    /// Principal id, e.g. `AROA...:session` or `AIDA...`.
    pub user_id: String,
    /// Epoch seconds after which the key stops resolving; 0 for never.
    pub expires: u64,
}

impl From<wit::Credential> for Credential {
    fn from(c: wit::Credential) -> Self {
        Credential {
            access_key_id: c.access_key_id,
            secret_access_key: c.secret_access_key,
            account: c.account,
            arn: c.arn,
            user_id: c.user_id,
            expires: c.expires,
        }
    }
}

impl From<&Credential> for wit::Credential {
    fn from(c: &Credential) -> Self {
        wit::Credential {
            access_key_id: c.access_key_id.clone(),
            secret_access_key: c.secret_access_key.clone(),
            account: c.account.clone(),
            arn: c.arn.clone(),
            user_id: c.user_id.clone(),
            expires: c.expires,
        }
    }
}

pub fn register(credential: &Credential) {
    wit::register(&credential.into())
}

pub fn revoke(access_key_id: &str) {
    wit::revoke(access_key_id)
}

/// The credential of a key, if the gateway knows it (and it has not expired).
pub fn lookup(access_key_id: &str) -> Option<Credential> {
    if access_key_id.is_empty() {
        return None;
    }
    wit::lookup(access_key_id).map(Into::into)
}
