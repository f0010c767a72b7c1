//! The roles STS hands out sessions for.
//!
//! There is no IAM plugin yet, so any well-formed role ARN can be assumed: the
//! role gets a stable `AROA...` id on first use and the longest session AWS
//! allows. With the plugin setting `check_roles_in_iam = "true"` the role is
//! looked up with IAM `GetRole` instead (its RoleId and MaxSessionDuration;
//! a missing role is AccessDenied, as AWS answers).

use ministack_sdk::ids::{self, IdPrefix};
use ministack_sdk::prelude::*;
use ministack_sdk::services::{self, Target};

use crate::checks;

/// Role ids given to role ARNs when IAM is not consulted.
const ROLE_IDS: Table<String> = Table::global("role-ids");

/// The longest role session AWS allows (a role's MaxSessionDuration ceiling).
pub const MAX_ROLE_SESSION: i64 = 43_200;

#[derive(Debug, Clone)]
pub struct Role {
    pub arn: String,
    pub account: String,
    pub partition: String,
    /// Name without the path.
    pub name: String,
    /// `AROA...`.
    pub role_id: String,
    pub max_session_duration: i64,
}

impl Role {
    /// `arn:<partition>:sts::<account>:assumed-role/<role name>/<session>`.
    pub fn assumed_role_arn(&self, session_name: &str) -> String {
        format!(
            "arn:{}:sts::{}:assumed-role/{}/{}",
            self.partition, self.account, self.name, session_name
        )
    }

    /// `AROA...:<session>`.
    pub fn assumed_role_id(&self, session_name: &str) -> String {
        format!("{}:{}", self.role_id, session_name)
    }
}

/// The role behind `role_arn`, or the error AWS gives the caller.
/// `invalid_message` is the ValidationError text for a malformed ARN.
pub fn resolve(
    ctx: &Context,
    caller_arn: &str,
    role_arn: &str,
    invalid_message: &str,
) -> Result<Role, AwsError> {
    let arn = checks::parse_role_arn(role_arn)
        .ok_or_else(|| AwsError::validation_error(invalid_message.to_string()))?;
    let mut role = Role {
        arn: role_arn.to_string(),
        account: arn.account.clone(),
        partition: arn.partition.clone(),
        name: arn.resource_name().to_string(),
        role_id: String::new(),
        max_session_duration: MAX_ROLE_SESSION,
    };
    if ctx.setting("check_roles_in_iam") == Some("true") {
        let found = from_iam(ctx, &role).map_err(|_| not_authorized(caller_arn, role_arn))?;
        role.role_id = found.role_id;
        role.max_session_duration = found.max_session_duration.unwrap_or(3600);
        return Ok(role);
    }
    role.role_id = match ROLE_IDS.get(role_arn)? {
        Some(id) => id,
        None => {
            let id = ids::aws_id(IdPrefix::Role);
            ROLE_IDS.put(role_arn, &id)?;
            id
        }
    };
    Ok(role)
}

pub fn not_authorized(caller_arn: &str, role_arn: &str) -> AwsError {
    AwsError::access_denied(format!(
        "User: {caller_arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
    ))
}

struct IamRole {
    role_id: String,
    max_session_duration: Option<i64>,
}

/// IAM `GetRole` in the role's account.
fn from_iam(ctx: &Context, role: &Role) -> Result<IamRole, AwsError> {
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct GetRoleRequest<'a> {
        role_name: &'a str,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct GetRoleResponse {
        role: IamRoleShape,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct IamRoleShape {
        role_id: String,
        arn: String,
        #[serde(default)]
        max_session_duration: Option<i64>,
    }
    let out: GetRoleResponse = services::call(
        &Target::at("iam", &role.account, &ctx.region),
        "GetRole",
        &GetRoleRequest {
            role_name: &role.name,
        },
    )?;
    if out.role.arn != role.arn {
        // Same name, another path: not the role the caller named.
        return Err(AwsError::not_found("NoSuchEntity", "role path differs"));
    }
    Ok(IamRole {
        role_id: out.role.role_id,
        max_session_duration: out.role.max_session_duration,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assumed_role_names() {
        let r = Role {
            arn: "arn:aws:iam::123456789012:role/path/Admin".into(),
            account: "123456789012".into(),
            partition: "aws".into(),
            name: "Admin".into(),
            role_id: "AROAABCDEFGHIJKLMNOP".into(),
            max_session_duration: 3600,
        };
        assert_eq!(
            r.assumed_role_arn("s1"),
            "arn:aws:sts::123456789012:assumed-role/Admin/s1"
        );
        assert_eq!(r.assumed_role_id("s1"), "AROAABCDEFGHIJKLMNOP:s1");
    }
}
