//! Inputs and outputs of the STS operations, named as in the model
//! (`model/service-2.json`). Optional output members are left out when absent.

use serde::{Deserialize, Serialize};

// ---- shared shapes ----

#[derive(Debug, Clone, Default, Deserialize)]
pub struct PolicyDescriptorType {
    #[serde(default)]
    pub arn: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProvidedContext {
    #[serde(default)]
    pub provider_arn: Option<String>,
    #[serde(default)]
    pub context_assertion: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    /// Epoch seconds.
    pub expiration: u64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AssumedRoleUser {
    /// `AROA...:<session name>`.
    pub assumed_role_id: String,
    /// `arn:aws:sts::<account>:assumed-role/<role name>/<session name>`.
    pub arn: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct FederatedUser {
    pub federated_user_id: String,
    pub arn: String,
}

// ---- AssumeRole ----

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AssumeRoleRequest {
    #[serde(default)]
    pub role_arn: String,
    #[serde(default)]
    pub role_session_name: String,
    #[serde(default)]
    pub policy_arns: Vec<PolicyDescriptorType>,
    #[serde(default)]
    pub policy: Option<String>,
    #[serde(default)]
    pub duration_seconds: Option<i64>,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub transitive_tag_keys: Vec<String>,
    #[serde(default)]
    pub external_id: Option<String>,
    #[serde(default)]
    pub serial_number: Option<String>,
    #[serde(default)]
    pub token_code: Option<String>,
    #[serde(default)]
    pub source_identity: Option<String>,
    #[serde(default)]
    pub provided_contexts: Vec<ProvidedContext>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AssumeRoleResponse {
    pub credentials: Credentials,
    pub assumed_role_user: AssumedRoleUser,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub packed_policy_size: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_identity: Option<String>,
}

// ---- AssumeRoleWithWebIdentity ----

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AssumeRoleWithWebIdentityRequest {
    #[serde(default)]
    pub role_arn: String,
    #[serde(default)]
    pub role_session_name: String,
    #[serde(default)]
    pub web_identity_token: String,
    #[serde(default)]
    pub provider_id: Option<String>,
    #[serde(default)]
    pub policy_arns: Vec<PolicyDescriptorType>,
    #[serde(default)]
    pub policy: Option<String>,
    #[serde(default)]
    pub duration_seconds: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AssumeRoleWithWebIdentityResponse {
    pub credentials: Credentials,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject_from_web_identity_token: Option<String>,
    pub assumed_role_user: AssumedRoleUser,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub packed_policy_size: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_identity: Option<String>,
}

// ---- AssumeRoleWithSAML ----

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AssumeRoleWithSamlRequest {
    #[serde(default)]
    pub role_arn: String,
    #[serde(default)]
    pub principal_arn: String,
    #[serde(rename = "SAMLAssertion", default)]
    pub saml_assertion: String,
    #[serde(default)]
    pub policy_arns: Vec<PolicyDescriptorType>,
    #[serde(default)]
    pub policy: Option<String>,
    #[serde(default)]
    pub duration_seconds: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AssumeRoleWithSamlResponse {
    pub credentials: Credentials,
    pub assumed_role_user: AssumedRoleUser,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub packed_policy_size: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name_qualifier: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_identity: Option<String>,
}

// ---- AssumeRoot ----

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AssumeRootRequest {
    #[serde(default)]
    pub target_principal: String,
    #[serde(default)]
    pub task_policy_arn: PolicyDescriptorType,
    #[serde(default)]
    pub duration_seconds: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AssumeRootResponse {
    pub credentials: Credentials,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_identity: Option<String>,
}

// ---- GetSessionToken / GetFederationToken ----

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetSessionTokenRequest {
    #[serde(default)]
    pub duration_seconds: Option<i64>,
    #[serde(default)]
    pub serial_number: Option<String>,
    #[serde(default)]
    pub token_code: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetSessionTokenResponse {
    pub credentials: Credentials,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetFederationTokenRequest {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub policy: Option<String>,
    #[serde(default)]
    pub policy_arns: Vec<PolicyDescriptorType>,
    #[serde(default)]
    pub duration_seconds: Option<i64>,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetFederationTokenResponse {
    pub credentials: Credentials,
    pub federated_user: FederatedUser,
    pub packed_policy_size: u32,
}

// ---- GetDelegatedAccessToken ----

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetDelegatedAccessTokenRequest {
    #[serde(default)]
    pub trade_in_token: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetDelegatedAccessTokenResponse {
    pub credentials: Credentials,
    pub assumed_principal: String,
}

// ---- GetWebIdentityToken ----

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetWebIdentityTokenRequest {
    #[serde(default)]
    pub audience: Vec<String>,
    #[serde(default)]
    pub duration_seconds: Option<i64>,
    #[serde(default)]
    pub signing_algorithm: String,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetWebIdentityTokenResponse {
    pub web_identity_token: String,
    pub expiration: u64,
}

// ---- GetCallerIdentity / GetAccessKeyInfo / DecodeAuthorizationMessage ----

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetCallerIdentityResponse {
    pub user_id: String,
    pub account: String,
    pub arn: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetAccessKeyInfoRequest {
    #[serde(default)]
    pub access_key_id: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetAccessKeyInfoResponse {
    pub account: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DecodeAuthorizationMessageRequest {
    #[serde(default)]
    pub encoded_message: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DecodeAuthorizationMessageResponse {
    pub decoded_message: String,
}
