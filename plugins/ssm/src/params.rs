//! Parameters: the stored record, names and selectors, PutParameter,
//! GetParameter(s), DeleteParameter(s), labels and tags.

use ministack_sdk::prelude::*;
use ministack_sdk::services::{self, Target};
use ministack_sdk::{encoding, rand, time};
use serde_json::Value;

use crate::public;

/// Parameters of the caller's account and region, by name.
pub const PARAMS: Table<Param> = Table::new("parameters");

pub const MAX_VERSIONS: usize = 100;
pub const DEFAULT_KEY: &str = "alias/aws/ssm";

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    pub key: String,
    pub value: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct Policy {
    pub policy_text: String,
    pub policy_type: String,
    pub policy_status: String,
}

/// One version of a parameter, with everything PutParameter set.
#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct ParamVersion {
    pub version: u64,
    pub kind: String,
    pub value: String,
    /// What a SecureString reads as without decryption.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ciphertext: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_pattern: Option<String>,
    pub tier: String,
    #[serde(default)]
    pub policies: Vec<Policy>,
    pub data_type: String,
    #[serde(default)]
    pub labels: Vec<String>,
    pub modified: f64,
    pub user: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct Param {
    pub name: String,
    #[serde(default)]
    pub tags: Vec<Tag>,
    /// Oldest first; the last is the current version.
    pub versions: Vec<ParamVersion>,
}

impl Param {
    pub fn current(&self) -> &ParamVersion {
        self.versions.last().expect("a parameter has a version")
    }
}

/// True once an Expiration policy's timestamp has passed: Parameter Store
/// then deletes the parameter.
pub fn expired(param: &Param) -> bool {
    let now = time::now();
    param.current().policies.iter().any(|p| {
        p.policy_type == "Expiration"
            && serde_json::from_str::<Value>(&p.policy_text)
                .ok()
                .and_then(|v| {
                    v["Attributes"]["Timestamp"]
                        .as_str()
                        .and_then(time::parse_iso8601)
                })
                .is_some_and(|t| t <= now)
    })
}

/// A parameter by name; an expired one is deleted and not found.
pub fn load(name: &str) -> Result<Option<Param>, AwsError> {
    match PARAMS.get(name)? {
        Some(p) if expired(&p) => {
            PARAMS.delete(name);
            Ok(None)
        }
        other => Ok(other),
    }
}

// --- errors ---

pub fn parameter_not_found(name: &str) -> AwsError {
    AwsError::not_found("ParameterNotFound", format!("Parameter {name} not found."))
}

pub fn version_not_found(message: impl Into<String>) -> AwsError {
    AwsError::not_found("ParameterVersionNotFound", message)
}

// --- names ---

pub fn arn_of(ctx: &Context, name: &str) -> String {
    let resource = if name.starts_with('/') {
        format!("parameter{name}")
    } else {
        format!("parameter/{name}")
    };
    ctx.arn("ssm", &resource).to_string()
}

/// The parameter name in a Name member: a plain name or an ARN
/// (`arn:aws:ssm:<region>:<account>:parameter/<name>`).
pub fn plain_name(name: &str) -> String {
    if name.starts_with("arn:")
        && let Some(pos) = name.find(":parameter/")
    {
        let rest = &name[pos + ":parameter".len()..];
        // A hierarchical name keeps its leading slash.
        return if rest[1..].contains('/') {
            rest.to_string()
        } else {
            rest[1..].to_string()
        };
    }
    name.to_string()
}

/// A parameter ARN must name the endpoint's own region: another region's
/// parameter is a `ValidationException`; another account's, not shared
/// with the caller, is `AccessDeniedException`.
pub fn check_arn_scope(ctx: &Context, name: &str, operation: &str) -> Result<(), AwsError> {
    let Some(arn) = Arn::parse(name) else {
        return Ok(());
    };
    if arn.service != "ssm" || !arn.resource.starts_with("parameter/") {
        return Ok(());
    }
    if arn.region != ctx.region {
        return Err(AwsError::validation(format!(
            "The parameter ARN {name} is in region {}; this endpoint serves region {}.",
            arn.region, ctx.region
        )));
    }
    if arn.account != ctx.account {
        return Err(AwsError::access_denied_exception(format!(
            "User: {} is not authorized to perform: ssm:{operation} on resource: {name} because no resource-based policy allows the ssm:{operation} action",
            user_of(ctx)
        )));
    }
    Ok(())
}

/// Splits `name:selector` (a version number or a label).
pub fn split_selector(name: &str) -> (String, Option<String>) {
    let plain = plain_name(name);
    match plain.rsplit_once(':') {
        Some((n, sel)) if !sel.is_empty() => (n.to_string(), Some(sel.to_string())),
        _ => (plain, None),
    }
}

/// Checks a name for PutParameter.
pub fn check_name(name: &str) -> Result<(), AwsError> {
    if name.is_empty() || name.len() > 1011 {
        return Err(AwsError::validation(
            "Parameter name must be between 1 and 1011 characters.",
        ));
    }
    let bare = name.trim_start_matches('/');
    let lower = bare.to_ascii_lowercase();
    // AWS words the two reserved prefixes differently: `aws` is an access
    // question, `ssm` a naming rule.
    if lower.starts_with("aws") {
        return Err(AwsError::access_denied_exception(format!(
            "No access to reserved parameter name: {name}."
        )));
    }
    if lower.starts_with("ssm") {
        return Err(AwsError::validation(
            "Parameter name: can't be prefixed with \"ssm\" (case-insensitive). If formed as a path, it can consist of sub-paths divided by slash symbol; each sub-path can be formed as a mix of letters, numbers and the following 3 symbols .-_",
        ));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_.-/".contains(c))
    {
        return Err(AwsError::validation(
            "Parameter name: can't contain characters other than a-zA-Z0-9_.-/",
        ));
    }
    if name.contains('/') && !name.starts_with('/') {
        return Err(AwsError::validation(
            "Parameter name must be a fully qualified name: a hierarchy begins with a forward slash (/).",
        ));
    }
    if name.contains("//") || (name.len() > 1 && name.ends_with('/')) {
        return Err(AwsError::validation(format!(
            "Parameter name is not valid: {name}"
        )));
    }
    if name.matches('/').count() > 15 {
        return Err(AwsError::new(
            "HierarchyLevelLimitExceededException",
            "A hierarchy can have a maximum of 15 levels.",
        ));
    }
    Ok(())
}

/// The ciphertext a SecureString reads as without decryption: KMS Encrypt
/// under the parameter's key with the `PARAMETER_ARN` encryption context
/// (as Parameter Store does), so KMS Decrypt opens it. A key KMS refuses is
/// `InvalidKeyId`; without a KMS plugin, an opaque blob of the same look.
fn encrypt(ctx: &Context, name: &str, key_id: &str, value: &str) -> Result<String, AwsError> {
    let input = serde_json::json!({
        "KeyId": key_id,
        "Plaintext": encoding::base64_encode(value.as_bytes()),
        "EncryptionContext": {"PARAMETER_ARN": arn_of(ctx, name)},
    });
    match services::call::<Value, Value>(&Target::new("kms", ctx), "Encrypt", &input) {
        Ok(out) => out["CiphertextBlob"]
            .as_str()
            .map(String::from)
            .ok_or_else(|| AwsError::internal("KMS Encrypt returned no CiphertextBlob")),
        Err(e) if e.code == "ServiceUnavailable" || e.status == Some(501) => {
            Ok(looks_like_ciphertext(key_id, value))
        }
        Err(e) => Err(AwsError::new(
            "InvalidKeyId",
            format!("The KMS key {key_id} can't be used: {}", e.message),
        )),
    }
}

fn looks_like_ciphertext(key_id: &str, value: &str) -> String {
    let mut bytes = vec![1u8, 2, 2, 0, 0x78];
    bytes.extend(rand::bytes(20));
    bytes.extend(key_id.as_bytes());
    bytes.extend(value.bytes().map(|b| b ^ 0x5a));
    encoding::base64_encode(&bytes)
}

/// Validates and normalizes the Policies member (a JSON array).
pub fn parse_policies(text: &str) -> Result<Vec<Policy>, AwsError> {
    let invalid = || {
        AwsError::new(
            "InvalidPolicyTypeException",
            "The policy type is not supported. Parameter Store supports the following policy types: Expiration, ExpirationNotification, and NoChangeNotification.",
        )
    };
    let doc: Value = serde_json::from_str(text).map_err(|_| invalid())?;
    let items = doc.as_array().ok_or_else(invalid)?;
    if items.len() > 10 {
        return Err(AwsError::new(
            "PoliciesLimitExceededException",
            "You specified more than the maximum number of allowed policies for the parameter. The maximum is 10.",
        ));
    }
    let mut out = Vec::new();
    for p in items {
        let kind = p["Type"].as_str().unwrap_or_default();
        if ![
            "Expiration",
            "ExpirationNotification",
            "NoChangeNotification",
        ]
        .contains(&kind)
        {
            return Err(invalid());
        }
        if kind == "Expiration"
            && p["Attributes"]["Timestamp"]
                .as_str()
                .and_then(time::parse_iso8601)
                .is_none()
        {
            return Err(AwsError::new(
                "InvalidPolicyAttributeException",
                "A policy attribute or its value is invalid: Expiration needs an ISO 8601 Timestamp.",
            ));
        }
        if !p["Attributes"].is_object() {
            return Err(AwsError::new(
                "InvalidPolicyAttributeException",
                format!("A policy attribute or its value is invalid: {kind} needs Attributes."),
            ));
        }
        if out.iter().any(|o: &Policy| o.policy_type == kind) {
            return Err(AwsError::new(
                "IncompatiblePolicyException",
                format!(
                    "There is a conflict in the policies specified for this parameter: more than one {kind} policy."
                ),
            ));
        }
        out.push(Policy {
            policy_text: p.to_string(),
            policy_type: kind.to_string(),
            policy_status: "Pending".to_string(),
        });
    }
    Ok(out)
}

fn check_data_type(data_type: &str, kind: &str, value: &str) -> Result<(), AwsError> {
    match data_type {
        "text" | "aws:ssm:integration" => Ok(()),
        "aws:ec2:image" => {
            if kind != "String" {
                return Err(AwsError::validation(
                    "The aws:ec2:image data type is only supported for String parameters.",
                ));
            }
            let ok = value.strip_prefix("ami-").is_some_and(|h| {
                (8..=17).contains(&h.len()) && h.chars().all(|c| c.is_ascii_hexdigit())
            });
            if ok {
                Ok(())
            } else {
                Err(AwsError::validation(format!(
                    "Parameter value, {value}, is not a valid Amazon Machine Image (AMI) ID: the value must have the format ami-12345abcdeEXAMPLE."
                )))
            }
        }
        other => Err(AwsError::validation(format!(
            "The following data type is not supported: {other} (Data type names are all lowercase.)"
        ))),
    }
}

pub fn check_pattern(pattern: &str, value: &str) -> Result<(), AwsError> {
    let re = regex::Regex::new(&format!("^(?:{pattern})$")).map_err(|_| {
        AwsError::new(
            "InvalidAllowedPatternException",
            format!("The allowed pattern {pattern} is not a valid regular expression."),
        )
    })?;
    if re.is_match(value) {
        Ok(())
    } else {
        Err(AwsError::new(
            "ParameterPatternMismatchException",
            format!(
                "Parameter value, {value}, failed to satisfy constraint specified by: {pattern}"
            ),
        ))
    }
}

fn check_tags(tags: &[Tag]) -> Result<(), AwsError> {
    if tags.len() > 50 {
        return Err(AwsError::new(
            "TooManyTagsError",
            "The Targets parameter includes too many tags. Remove one or more tags and try the command again.",
        ));
    }
    for t in tags {
        if t.key.is_empty() || t.key.len() > 128 || t.value.len() > 256 {
            return Err(AwsError::validation(format!("Invalid tag: {}", t.key)));
        }
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutParameterRequest {
    name: String,
    description: Option<String>,
    value: String,
    #[serde(rename = "Type")]
    kind: Option<String>,
    key_id: Option<String>,
    #[serde(default)]
    overwrite: bool,
    allowed_pattern: Option<String>,
    tags: Option<Vec<Tag>>,
    tier: Option<String>,
    policies: Option<String>,
    data_type: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutParameterResponse {
    version: u64,
    tier: String,
}

pub fn put_parameter(
    ctx: &Context,
    input: PutParameterRequest,
) -> Result<PutParameterResponse, AwsError> {
    let name = plain_name(&input.name);
    check_name(&name)?;
    let existing = load(&name)?;
    if existing.is_some() && !input.overwrite {
        return Err(AwsError::already_exists(
            "ParameterAlreadyExists",
            "The parameter already exists. To overwrite this request value, set the overwrite option in the request to true.",
        ));
    }
    if input.overwrite && input.tags.as_ref().is_some_and(|t| !t.is_empty()) && existing.is_some() {
        return Err(AwsError::validation(
            "Invalid request: tags and overwrite can't be used together. To create a parameter with tags, please remove overwrite flag. To update tags for an existing parameter, please use AddTagsToResource or RemoveTagsFromResource.",
        ));
    }
    let previous = existing.as_ref().map(|p| p.current().clone());
    let kind = match (&input.kind, &previous) {
        (Some(k), _) => k.clone(),
        (None, Some(p)) => p.kind.clone(),
        (None, None) => {
            return Err(AwsError::validation(
                "A parameter type is required when you create a parameter.",
            ));
        }
    };
    if !["String", "StringList", "SecureString"].contains(&kind.as_str()) {
        return Err(AwsError::new(
            "UnsupportedParameterType",
            format!("The parameter type {kind} is not supported."),
        ));
    }
    if input.value.is_empty() {
        return Err(AwsError::validation(
            "1 validation error detected: Value '' at 'value' failed to satisfy constraint: Member must have length greater than or equal to 1",
        ));
    }
    if input.key_id.is_some() && kind != "SecureString" {
        return Err(AwsError::validation(
            "KeyId is only valid for a SecureString parameter.",
        ));
    }
    let key_id = (kind == "SecureString").then(|| {
        input
            .key_id
            .clone()
            .or_else(|| previous.as_ref().and_then(|p| p.key_id.clone()))
            .unwrap_or_else(|| DEFAULT_KEY.to_string())
    });
    if let Some(k) = &key_id
        && k.trim().is_empty()
    {
        return Err(AwsError::new("InvalidKeyId", "The KeyId is not valid."));
    }
    let data_type = input
        .data_type
        .clone()
        .or_else(|| previous.as_ref().map(|p| p.data_type.clone()))
        .unwrap_or_else(|| "text".to_string());
    check_data_type(&data_type, &kind, &input.value)?;
    // An empty AllowedPattern (Terraform always sends one) means none.
    let allowed_pattern = input
        .allowed_pattern
        .clone()
        .filter(|p| !p.is_empty())
        .or_else(|| previous.as_ref().and_then(|p| p.allowed_pattern.clone()));
    if let Some(p) = &allowed_pattern {
        if p.len() > 1024 {
            return Err(AwsError::new(
                "InvalidAllowedPatternException",
                "The allowed pattern is too long.",
            ));
        }
        check_pattern(p, &input.value)?;
    }
    let policies = match &input.policies {
        Some(text) => parse_policies(text)?,
        None => previous
            .as_ref()
            .map(|p| p.policies.clone())
            .unwrap_or_default(),
    };
    let previous_tier = previous.as_ref().map(|p| p.tier.clone());
    let requested = input
        .tier
        .clone()
        .unwrap_or_else(|| previous_tier.clone().unwrap_or_else(|| "Standard".into()));
    let needs_advanced = input.value.len() > 4096 || !policies.is_empty();
    let tier = match requested.as_str() {
        "Standard" => {
            if previous_tier.as_deref() == Some("Advanced") {
                return Err(AwsError::validation(
                    "This parameter uses the advanced-parameter tier. You can't downgrade a parameter from the advanced-parameter tier to the standard-parameter tier. If necessary, you can delete the advanced parameter and recreate it as a standard parameter.",
                ));
            }
            if !policies.is_empty() {
                return Err(AwsError::validation(
                    "Standard tier parameters can't be configured to use parameter policies. To use parameter policies, upgrade the parameter to the advanced-parameter tier.",
                ));
            }
            if input.value.len() > 4096 {
                return Err(AwsError::validation(
                    "Standard tier parameters support a maximum parameter value of 4096 characters. To create a larger parameter value, upgrade the parameter to use the advanced-parameter tier. For more information, see https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html",
                ));
            }
            "Standard"
        }
        "Advanced" => "Advanced",
        "Intelligent-Tiering" => {
            if needs_advanced || previous_tier.as_deref() == Some("Advanced") {
                "Advanced"
            } else {
                "Standard"
            }
        }
        other => {
            return Err(AwsError::validation(format!(
                "1 validation error detected: Value '{other}' at 'tier' failed to satisfy constraint: Member must satisfy enum value set: [Advanced, Intelligent-Tiering, Standard]"
            )));
        }
    };
    if input.value.len() > 8192 {
        return Err(AwsError::validation(
            "Advanced tier parameters support a maximum parameter value of 8192 characters.",
        ));
    }
    let mut param = existing.unwrap_or_else(|| Param {
        name: name.clone(),
        ..Param::default()
    });
    if let Some(tags) = input.tags {
        check_tags(&tags)?;
        param.tags = tags;
    }
    if param.versions.len() >= MAX_VERSIONS {
        if !param.versions[0].labels.is_empty() {
            return Err(AwsError::new(
                "ParameterMaxVersionLimitExceeded",
                format!(
                    "You attempted to create a new version of {name} by calling the PutParameter API with the overwrite flag. Version {}, the oldest version, can't be deleted because it has a label associated with it. Move the label to another version of the parameter, and try again.",
                    param.versions[0].version
                ),
            ));
        }
        param.versions.remove(0);
    }
    let version = previous.as_ref().map(|p| p.version + 1).unwrap_or(1);
    let ciphertext = match &key_id {
        Some(k) => Some(encrypt(ctx, &name, k, &input.value)?),
        None => None,
    };
    param.versions.push(ParamVersion {
        version,
        kind,
        value: input.value,
        ciphertext,
        description: input
            .description
            .or_else(|| previous.as_ref().and_then(|p| p.description.clone())),
        key_id,
        allowed_pattern,
        tier: tier.to_string(),
        policies,
        data_type,
        labels: Vec::new(),
        modified: time::now(),
        user: user_of(ctx),
    });
    PARAMS.put(&name, &param)?;
    Ok(PutParameterResponse {
        version,
        tier: tier.to_string(),
    })
}

pub fn user_of(ctx: &Context) -> String {
    if ctx.caller_arn.is_empty() {
        format!("arn:aws:iam::{}:root", ctx.account)
    } else {
        ctx.caller_arn.clone()
    }
}

/// A Parameter in GetParameter's shape.
#[derive(Serialize, Clone)]
#[serde(rename_all = "PascalCase")]
pub struct ParameterOut {
    pub name: String,
    #[serde(rename = "Type")]
    pub kind: String,
    pub value: String,
    pub version: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
    pub last_modified_date: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_result: Option<String>,
    #[serde(rename = "ARN")]
    pub arn: String,
    pub data_type: String,
}

pub fn value_of(v: &ParamVersion, with_decryption: bool) -> String {
    match (&v.ciphertext, with_decryption) {
        (Some(c), false) => c.clone(),
        _ => v.value.clone(),
    }
}

pub fn parameter_out(
    ctx: &Context,
    name: &str,
    v: &ParamVersion,
    selector: Option<String>,
    with_decryption: bool,
) -> ParameterOut {
    ParameterOut {
        name: name.to_string(),
        kind: v.kind.clone(),
        value: value_of(v, with_decryption),
        version: v.version,
        selector: selector.map(|s| format!(":{s}")),
        last_modified_date: v.modified,
        source_result: None,
        arn: arn_of(ctx, name),
        data_type: v.data_type.clone(),
    }
}

/// Resolves a name with an optional `:version` or `:label` selector.
pub fn resolve(
    ctx: &Context,
    name_with_selector: &str,
    with_decryption: bool,
) -> Result<ParameterOut, AwsError> {
    check_arn_scope(ctx, name_with_selector, "GetParameter")?;
    let (name, selector) = split_selector(name_with_selector);
    if let Some(secret_id) = name.strip_prefix(SECRET_REFERENCE) {
        return secret_reference(ctx, &name, secret_id, selector, with_decryption);
    }
    if name.starts_with("/aws/") {
        return public::get(ctx, &name)
            .filter(|_| selector.as_deref().is_none_or(|s| s == "1"))
            .ok_or_else(|| parameter_not_found(name_with_selector));
    }
    let param = load(&name)?.ok_or_else(|| parameter_not_found(name_with_selector))?;
    let version = match &selector {
        None => param.current(),
        Some(s) if s.chars().all(|c| c.is_ascii_digit()) => {
            let n: u64 = s.parse().unwrap_or(0);
            param
                .versions
                .iter()
                .find(|v| v.version == n)
                .ok_or_else(|| {
                    version_not_found(format!(
                        "Systems Manager could not find version {n} of {name}. Verify the version and try again."
                    ))
                })?
        }
        Some(label) => param
            .versions
            .iter()
            .find(|v| v.labels.contains(label))
            .ok_or_else(|| {
                version_not_found(format!(
                    "Systems Manager could not find label {label} of {name}. Verify the label and try again."
                ))
            })?,
    };
    Ok(parameter_out(
        ctx,
        &name,
        version,
        selector,
        with_decryption,
    ))
}

/// Parameter names that read a Secrets Manager secret.
pub const SECRET_REFERENCE: &str = "/aws/reference/secretsmanager/";

/// `/aws/reference/secretsmanager/<secret>[:<version id or stage>]`: the
/// secret's value through Secrets Manager GetSecretValue, as a SecureString
/// with the whole GetSecretValue answer in SourceResult. Needs
/// WithDecryption, as AWS does.
fn secret_reference(
    ctx: &Context,
    name: &str,
    secret_id: &str,
    selector: Option<String>,
    with_decryption: bool,
) -> Result<ParameterOut, AwsError> {
    if !with_decryption {
        return Err(AwsError::validation(
            "WithDecryption flag must be True for retrieving a Secret Manager secret.",
        ));
    }
    let mut input = serde_json::json!({"SecretId": secret_id});
    if let Some(sel) = &selector {
        let is_version_id =
            sel.len() >= 32 && sel.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
        input[if is_version_id {
            "VersionId"
        } else {
            "VersionStage"
        }] = Value::String(sel.clone());
    }
    let out: Value = services::call(
        &Target::new("secretsmanager", ctx),
        "GetSecretValue",
        &input,
    )
    .map_err(|e| match e.code.as_str() {
        "ResourceNotFoundException" | "ServiceUnavailable" => parameter_not_found(name),
        _ => e,
    })?;
    let value = out["SecretString"]
        .as_str()
        .or_else(|| out["SecretBinary"].as_str())
        .unwrap_or_default()
        .to_string();
    Ok(ParameterOut {
        name: name.to_string(),
        kind: "SecureString".to_string(),
        value,
        version: 0,
        selector: selector.map(|s| format!(":{s}")),
        last_modified_date: out["CreatedDate"].as_f64().unwrap_or_else(time::now),
        source_result: Some(out.to_string()),
        arn: out["ARN"].as_str().unwrap_or_default().to_string(),
        data_type: "text".to_string(),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetParameterRequest {
    name: String,
    #[serde(default)]
    with_decryption: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetParameterResponse {
    parameter: ParameterOut,
}

pub fn get_parameter(
    ctx: &Context,
    input: GetParameterRequest,
) -> Result<GetParameterResponse, AwsError> {
    Ok(GetParameterResponse {
        parameter: resolve(ctx, &input.name, input.with_decryption)?,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetParametersRequest {
    names: Vec<String>,
    #[serde(default)]
    with_decryption: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetParametersResponse {
    parameters: Vec<ParameterOut>,
    invalid_parameters: Vec<String>,
}

pub fn get_parameters(
    ctx: &Context,
    input: GetParametersRequest,
) -> Result<GetParametersResponse, AwsError> {
    if input.names.is_empty() || input.names.len() > 10 {
        return Err(AwsError::validation(
            "1 validation error detected: Value at 'names' failed to satisfy constraint: Member must have length less than or equal to 10",
        ));
    }
    let mut parameters = Vec::new();
    let mut invalid = Vec::new();
    for n in input.names {
        if parameters.iter().any(|p: &ParameterOut| {
            p.name == split_selector(&n).0
                && p.selector == split_selector(&n).1.map(|s| format!(":{s}"))
        }) || invalid.contains(&n)
        {
            continue;
        }
        match resolve(ctx, &n, input.with_decryption) {
            Ok(p) => parameters.push(p),
            Err(e) if e.code == "ParameterNotFound" || e.code == "ParameterVersionNotFound" => {
                invalid.push(n)
            }
            Err(e) => return Err(e),
        }
    }
    Ok(GetParametersResponse {
        parameters,
        invalid_parameters: invalid,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteParameterRequest {
    name: String,
}

pub fn delete_parameter(_ctx: &Context, input: DeleteParameterRequest) -> Result<Empty, AwsError> {
    // DeleteParameter(s) take the name itself: an ARN names no parameter.
    let name = &input.name;
    if load(name)?.is_none() || !PARAMS.delete(name) {
        return Err(parameter_not_found(&input.name));
    }
    Ok(Empty {})
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteParametersRequest {
    names: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteParametersResponse {
    deleted_parameters: Vec<String>,
    invalid_parameters: Vec<String>,
}

pub fn delete_parameters(
    _ctx: &Context,
    input: DeleteParametersRequest,
) -> Result<DeleteParametersResponse, AwsError> {
    if input.names.is_empty() || input.names.len() > 10 {
        return Err(AwsError::validation(
            "1 validation error detected: Value at 'names' failed to satisfy constraint: Member must have length less than or equal to 10",
        ));
    }
    let mut deleted = Vec::new();
    let mut invalid = Vec::new();
    for n in input.names {
        if load(&n)?.is_some() && PARAMS.delete(&n) {
            deleted.push(n);
        } else if !deleted.contains(&n) {
            invalid.push(n);
        }
    }
    Ok(DeleteParametersResponse {
        deleted_parameters: deleted,
        invalid_parameters: invalid,
    })
}

// --- labels ---

/// A label: 1-100 of letters, digits, `.-_`; not a number first, not `aws`/`ssm`.
pub fn label_is_valid(label: &str) -> bool {
    let lower = label.to_ascii_lowercase();
    !label.is_empty()
        && label.len() <= 100
        && !label.starts_with(|c: char| c.is_ascii_digit())
        && !lower.starts_with("aws")
        && !lower.starts_with("ssm")
        && label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LabelParameterVersionRequest {
    name: String,
    parameter_version: Option<u64>,
    labels: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LabelParameterVersionResponse {
    invalid_labels: Vec<String>,
    parameter_version: u64,
}

fn find_version(param: &mut Param, version: Option<u64>) -> Result<&mut ParamVersion, AwsError> {
    let name = param.name.clone();
    match version {
        None => Ok(param.versions.last_mut().expect("a parameter has a version")),
        Some(n) => param
            .versions
            .iter_mut()
            .find(|v| v.version == n)
            .ok_or_else(|| {
                version_not_found(format!(
                    "Systems Manager could not find version {n} of {name}. Verify the version and try again."
                ))
            }),
    }
}

pub fn label_parameter_version(
    _ctx: &Context,
    input: LabelParameterVersionRequest,
) -> Result<LabelParameterVersionResponse, AwsError> {
    let name = plain_name(&input.name);
    let mut param = load(&name)?.ok_or_else(|| parameter_not_found(&input.name))?;
    let (valid, invalid): (Vec<String>, Vec<String>) =
        input.labels.into_iter().partition(|l| label_is_valid(l));
    let target = find_version(&mut param, input.parameter_version)?.version;
    for v in param.versions.iter_mut() {
        if v.version != target {
            v.labels.retain(|l| !valid.contains(l));
        }
    }
    let v = find_version(&mut param, Some(target))?;
    for l in valid {
        if !v.labels.contains(&l) {
            v.labels.push(l);
        }
    }
    if v.labels.len() > 10 {
        return Err(AwsError::new(
            "ParameterVersionLabelLimitExceeded",
            "A parameter version can have maximum 10 labels. Move one or more labels to another version and try again.",
        ));
    }
    PARAMS.put(&name, &param)?;
    Ok(LabelParameterVersionResponse {
        invalid_labels: invalid,
        parameter_version: target,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UnlabelParameterVersionRequest {
    name: String,
    parameter_version: u64,
    labels: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UnlabelParameterVersionResponse {
    removed_labels: Vec<String>,
    invalid_labels: Vec<String>,
}

pub fn unlabel_parameter_version(
    _ctx: &Context,
    input: UnlabelParameterVersionRequest,
) -> Result<UnlabelParameterVersionResponse, AwsError> {
    let name = plain_name(&input.name);
    let mut param = load(&name)?.ok_or_else(|| parameter_not_found(&input.name))?;
    let v = find_version(&mut param, Some(input.parameter_version))?;
    let (removed, invalid): (Vec<String>, Vec<String>) =
        input.labels.into_iter().partition(|l| v.labels.contains(l));
    v.labels.retain(|l| !removed.contains(l));
    PARAMS.put(&name, &param)?;
    Ok(UnlabelParameterVersionResponse {
        removed_labels: removed,
        invalid_labels: invalid,
    })
}

// --- tags ---

fn tagged_parameter(resource_type: &str, resource_id: &str) -> Result<Param, AwsError> {
    if resource_type != "Parameter" {
        return Err(AwsError::new(
            "InvalidResourceType",
            format!(
                "Tags on resource type {resource_type} are not supported here; only Parameter."
            ),
        ));
    }
    load(&plain_name(resource_id))?.ok_or_else(|| {
        AwsError::new(
            "InvalidResourceId",
            "The resource ID is not valid. Verify that you entered the correct ID and try again.",
        )
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AddTagsToResourceRequest {
    resource_type: String,
    resource_id: String,
    tags: Vec<Tag>,
}

pub fn add_tags_to_resource(
    _ctx: &Context,
    input: AddTagsToResourceRequest,
) -> Result<Empty, AwsError> {
    if input.resource_type != "Parameter" {
        crate::tags::add(&input.resource_type, &input.resource_id, input.tags)?;
        return Ok(Empty {});
    }
    let mut param = tagged_parameter(&input.resource_type, &input.resource_id)?;
    for tag in input.tags {
        match param.tags.iter_mut().find(|t| t.key == tag.key) {
            Some(t) => t.value = tag.value,
            None => param.tags.push(tag),
        }
    }
    check_tags(&param.tags)?;
    PARAMS.put(&param.name, &param)?;
    Ok(Empty {})
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RemoveTagsFromResourceRequest {
    resource_type: String,
    resource_id: String,
    tag_keys: Vec<String>,
}

pub fn remove_tags_from_resource(
    _ctx: &Context,
    input: RemoveTagsFromResourceRequest,
) -> Result<Empty, AwsError> {
    if input.resource_type != "Parameter" {
        crate::tags::remove(&input.resource_type, &input.resource_id, &input.tag_keys)?;
        return Ok(Empty {});
    }
    let mut param = tagged_parameter(&input.resource_type, &input.resource_id)?;
    param.tags.retain(|t| !input.tag_keys.contains(&t.key));
    PARAMS.put(&param.name, &param)?;
    Ok(Empty {})
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListTagsForResourceRequest {
    resource_type: String,
    resource_id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListTagsForResourceResponse {
    tag_list: Vec<Tag>,
}

pub fn list_tags_for_resource(
    _ctx: &Context,
    input: ListTagsForResourceRequest,
) -> Result<ListTagsForResourceResponse, AwsError> {
    if input.resource_type != "Parameter" {
        return Ok(ListTagsForResourceResponse {
            tag_list: crate::tags::list(&input.resource_type, &input.resource_id)?,
        });
    }
    let param = tagged_parameter(&input.resource_type, &input.resource_id)?;
    Ok(ListTagsForResourceResponse {
        tag_list: param.tags,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_selectors_and_arns() {
        assert_eq!(split_selector("/a/b:3"), ("/a/b".into(), Some("3".into())));
        assert_eq!(
            split_selector("/a/b:prod"),
            ("/a/b".into(), Some("prod".into()))
        );
        assert_eq!(split_selector("plain"), ("plain".into(), None));
        assert_eq!(
            plain_name("arn:aws:ssm:us-east-1:000000000000:parameter/a/b"),
            "/a/b"
        );
        assert_eq!(
            plain_name("arn:aws:ssm:us-east-1:000000000000:parameter/top"),
            "top"
        );
        assert!(check_name("/app/db/url").is_ok());
        assert!(check_name("/aws/x").is_err());
        assert!(check_name("SSMthing").is_err());
        assert!(check_name("a/b").is_err());
        assert!(check_name("/bad name").is_err());
        let deep = "/a".repeat(16);
        assert_eq!(
            check_name(&deep).unwrap_err().code,
            "HierarchyLevelLimitExceededException"
        );
    }

    #[test]
    fn labels_and_patterns() {
        assert!(label_is_valid("prod"));
        assert!(!label_is_valid("1prod"));
        assert!(!label_is_valid("awsprod"));
        assert!(!label_is_valid("a/b"));
        assert!(check_pattern(r"\d+", "123").is_ok());
        assert_eq!(
            check_pattern(r"\d+", "12a").unwrap_err().code,
            "ParameterPatternMismatchException"
        );
        assert_eq!(
            check_pattern(r"(", "x").unwrap_err().code,
            "InvalidAllowedPatternException"
        );
    }

    #[test]
    fn expiration_timestamps() {
        assert!(time::parse_iso8601("2030-12-02T21:34:33.000Z").is_some());
        assert!(
            parse_policies(
                r#"[{"Type":"Expiration","Version":"1.0","Attributes":{"Timestamp":"soon"}}]"#
            )
            .is_err()
        );
        let past = parse_policies(
            r#"[{"Type":"Expiration","Version":"1.0","Attributes":{"Timestamp":"2020-01-01T00:00:00.000Z"}}]"#,
        )
        .unwrap();
        let param = Param {
            name: "/p".into(),
            tags: Vec::new(),
            versions: vec![ParamVersion {
                policies: past,
                ..ParamVersion::default()
            }],
        };
        assert!(expired(&param));
    }

    #[test]
    fn data_types() {
        assert!(check_data_type("aws:ec2:image", "String", "ami-0123456789abcdef0").is_ok());
        assert!(check_data_type("aws:ec2:image", "String", "ami-xyz").is_err());
        assert!(check_data_type("Text", "String", "x").is_err());
    }
}
