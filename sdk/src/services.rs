//! Calls into other services through the host's dispatcher (the same path as
//! HTTP, without the wire). A call ends the current store unit: what the
//! handler wrote so far commits, and later writes form a new unit.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::generated::ministack::plugin::services as wit;
use crate::{AwsError, Context};

/// Which service, in which account and region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Plugin name, e.g. `"sqs"`.
    pub service: String,
    pub account: String,
    pub region: String,
}

impl Target {
    /// `service` in the caller's account and region.
    pub fn new(service: &str, ctx: &Context) -> Self {
        Target {
            service: service.to_string(),
            account: ctx.account.clone(),
            region: ctx.region.clone(),
        }
    }

    /// `service` in another account or region (e.g. from a resource ARN).
    pub fn at(service: &str, account: &str, region: &str) -> Self {
        Target {
            service: service.to_string(),
            account: account.to_string(),
            region: region.to_string(),
        }
    }
}

/// Calls `operation` with typed input and output.
///
/// ```text
/// let role: GetRoleResponse = services::call(&Target::new("iam", ctx), "GetRole", &GetRole { role_name })?;
/// ```
pub fn call<In: Serialize, Out: DeserializeOwned>(
    target: &Target,
    operation: &str,
    input: &In,
) -> Result<Out, AwsError> {
    let input_json = crate::json::to_string(input)
        .map_err(|e| AwsError::internal(format!("cannot encode input of {operation}: {e}")))?;
    let output = call_json(target, operation, &input_json)?;
    serde_json::from_str(&output).map_err(|e| {
        AwsError::internal(format!(
            "unexpected output of {}:{operation}: {e}",
            target.service
        ))
    })
}

/// Calls `operation` with JSON input; JSON output.
pub fn call_json(target: &Target, operation: &str, input_json: &str) -> Result<String, AwsError> {
    wit::call(&wit_target(target), operation, input_json).map_err(Into::into)
}

/// The resource a delivery is made for (an SNS topic, a bucket, an
/// EventBridge rule): under ENFORCE_IAM=1 the host authorizes
/// [`call_from`] as AWS does, as the calling service's principal
/// (`sns.amazonaws.com`) with `aws:SourceArn` / `aws:SourceAccount`, or as
/// `role_arn` when AWS assumes a role for the call.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Source {
    pub arn: String,
    pub account: String,
    pub role_arn: Option<String>,
}

impl Source {
    /// The service principal acting for resource `arn` of `account`.
    pub fn resource(arn: &str, account: &str) -> Self {
        Source {
            arn: arn.to_string(),
            account: account.to_string(),
            role_arn: None,
        }
    }

    /// The same source, acting as `role_arn` when there is one.
    pub fn with_role(mut self, role_arn: Option<&str>) -> Self {
        self.role_arn = role_arn.filter(|r| !r.is_empty()).map(str::to_string);
        self
    }

    fn wit(&self) -> wit::Source {
        wit::Source {
            arn: self.arn.clone(),
            account: self.account.clone(),
            role_arn: self.role_arn.clone(),
        }
    }
}

fn wit_target(target: &Target) -> wit::Target {
    wit::Target {
        service: target.service.clone(),
        account: target.account.clone(),
        region: target.region.clone(),
    }
}

/// [`call_json`] made for `source` (a delivery): refused with AWS's
/// AccessDenied under ENFORCE_IAM=1 when the target does not allow it.
pub fn call_from(
    source: &Source,
    target: &Target,
    operation: &str,
    input_json: &str,
) -> Result<String, AwsError> {
    wit::call_from(&source.wit(), &wit_target(target), operation, input_json).map_err(Into::into)
}

/// Would [`call_from`] be allowed? Always `Ok` without ENFORCE_IAM=1. Does
/// not make the call (S3 validates notification destinations this way).
pub fn authorize_from(
    source: &Source,
    target: &Target,
    operation: &str,
    input_json: &str,
) -> Result<(), AwsError> {
    wit::authorize_from(&source.wit(), &wit_target(target), operation, input_json)
        .map_err(Into::into)
}

/// One call of [`call_all`].
pub struct Call {
    pub target: Target,
    pub operation: String,
    pub input_json: String,
}

/// Runs several calls concurrently (the host runs each as a task of its
/// own); one result per call, in order. Like [`call_json`] it ends the
/// current store unit first and begins a new one when all have returned.
/// Needs a host with `services.call-all` (ministack:plugin@0.1, minor).
pub fn call_all(calls: &[Call]) -> Vec<Result<String, AwsError>> {
    if calls.is_empty() {
        return Vec::new();
    }
    let list: Vec<(wit::Target, String, String)> = calls
        .iter()
        .map(|c| {
            (
                wit::Target {
                    service: c.target.service.clone(),
                    account: c.target.account.clone(),
                    region: c.target.region.clone(),
                },
                c.operation.clone(),
                c.input_json.clone(),
            )
        })
        .collect();
    wit::call_all(&list)
        .into_iter()
        .map(|r| r.map_err(Into::into))
        .collect()
}
