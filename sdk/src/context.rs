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

    /// A setting holding seconds (fractions allowed), as a duration:
    /// `default` when unset or not a finite number, and never below `min`.
    pub fn setting_secs(&self, name: &str, default: f64, min: f64) -> std::time::Duration {
        let secs = self
            .setting(name)
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|v| v.is_finite())
            .unwrap_or(default);
        std::time::Duration::from_secs_f64(secs.max(min).max(0.0))
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn seconds_settings_fall_back_and_clamp() {
        let mut ctx = Context::for_test("000000000000", "us-east-1");
        ctx.settings = vec![
            ("half".into(), " 0.5 ".into()),
            ("negative".into(), "-3".into()),
            ("nan".into(), "NaN".into()),
            ("word".into(), "soon".into()),
        ];
        assert_eq!(
            ctx.setting_secs("half", 30.0, 0.1),
            Duration::from_millis(500)
        );
        assert_eq!(ctx.setting_secs("half", 30.0, 1.0), Duration::from_secs(1));
        assert_eq!(ctx.setting_secs("negative", 30.0, 0.0), Duration::ZERO);
        assert_eq!(ctx.setting_secs("nan", 30.0, 0.0), Duration::from_secs(30));
        assert_eq!(ctx.setting_secs("word", 2.0, 0.0), Duration::from_secs(2));
        assert_eq!(ctx.setting_secs("unset", 5.0, 0.1), Duration::from_secs(5));
    }
}
