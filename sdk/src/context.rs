//! Who is calling and where.

use crate::arn::{self, Arn};
use crate::generated::ministack::plugin::types::Context as WitContext;

/// The caller of one operation, as resolved by the host from the request's
/// signature (SigV4 scope and access key).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    /// 12-digit account id of the caller.
    pub account: String,
    /// Region of the request, e.g. `us-east-1`.
    pub region: String,
    pub request_id: String,
    /// Access key id the request was signed with (`""` when unsigned).
    pub access_key_id: String,
    /// ARN of the caller resolved from the access key (`""` when unknown).
    pub caller_arn: String,
    /// How clients reach the gateway, e.g. `http://localhost:4566`.
    pub endpoint: String,
    /// Plugin settings from plugins.toml (`[plugins.<name>.settings]`).
    pub settings: Vec<(String, String)>,
}

impl Context {
    /// A context for native unit tests.
    pub fn for_test(account: &str, region: &str) -> Self {
        Context {
            account: account.to_string(),
            region: region.to_string(),
            request_id: "00000000-0000-4000-8000-000000000000".to_string(),
            endpoint: "http://localhost:4566".to_string(),
            ..Context::default()
        }
    }

    /// A plugin setting from plugins.toml.
    pub fn setting(&self, name: &str) -> Option<&str> {
        self.settings
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The partition of the request's region (`aws`, `aws-cn`, `aws-us-gov`...).
    pub fn partition(&self) -> &'static str {
        arn::partition_for_region(&self.region)
    }

    /// `arn:<partition>:<service>:<region>:<account>:<resource>` in the caller's
    /// account and region.
    pub fn arn(&self, service: &str, resource: &str) -> Arn {
        Arn::new(
            self.partition(),
            service,
            &self.region,
            &self.account,
            resource,
        )
    }

    /// An ARN in the caller's account without a region (IAM, STS, S3-style).
    pub fn global_arn(&self, service: &str, resource: &str) -> Arn {
        Arn::new(self.partition(), service, "", &self.account, resource)
    }
}

impl From<WitContext> for Context {
    fn from(c: WitContext) -> Self {
        Context {
            account: c.account,
            region: c.region,
            request_id: c.request_id,
            access_key_id: c.access_key_id,
            caller_arn: c.caller_arn,
            endpoint: c.endpoint,
            settings: c.settings,
        }
    }
}

impl From<&Context> for WitContext {
    fn from(c: &Context) -> Self {
        WitContext {
            account: c.account.clone(),
            region: c.region.clone(),
            request_id: c.request_id.clone(),
            access_key_id: c.access_key_id.clone(),
            caller_arn: c.caller_arn.clone(),
            endpoint: c.endpoint.clone(),
            settings: c.settings.clone(),
        }
    }
}
