//! Names, ARNs, errors and the records every part of the plugin shares.

use std::collections::BTreeMap;

use ministack_sdk::prelude::*;
use ministack_sdk::{ids, time};
use serde_json::Value;

/// `$LATEST` as AWS spells it.
pub const LATEST: &str = "$LATEST";

/// A function's `$LATEST` record with what the API does not show.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Function {
    /// The `$LATEST` FunctionConfiguration as the API returns it.
    pub config: Value,
    /// Blob of the code zip ("" for an image).
    pub code_blob: String,
    /// Blobs of the layer zips, in order.
    #[serde(default)]
    pub layer_blobs: Vec<String>,
    /// Token of the GetFunction code location URL.
    #[serde(default)]
    pub code_token: String,
    /// Number the next PublishVersion gets.
    pub next_version: u64,
    #[serde(default)]
    pub reserved: Option<u32>,
    #[serde(default)]
    pub code_signing_config: Option<String>,
    #[serde(default)]
    pub recursion: Option<String>,
    #[serde(default)]
    pub runtime_management: Option<Value>,
    /// When the function was created (epoch seconds).
    #[serde(default)]
    pub created: f64,
}

/// A published version: its frozen configuration and code.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Version {
    pub config: Value,
    pub code_blob: String,
    #[serde(default)]
    pub layer_blobs: Vec<String>,
    #[serde(default)]
    pub code_token: String,
}

pub const FUNCTIONS: Table<Function> = Table::new("functions");
/// (function, version number as keys::u64) -> Version.
pub const VERSIONS: Table<Version> = Table::new("versions");
/// (function, alias) -> AliasConfiguration.
pub const ALIASES: Table<Value> = Table::new("aliases");
/// (function, qualifier or "") -> policy statements (a JSON list).
pub const POLICIES: Table<Vec<Value>> = Table::new("policies");
/// Resource ARN -> tags.
pub const TAGS: Table<BTreeMap<String, String>> = Table::new("tags");
/// Code location token -> blob id: the URL GetFunction returns is fetched
/// unsigned, so the token is looked up across accounts.
pub const CODE_LINKS: Table<String> = Table::global("code-links");

/// A reference to a function as the API accepts it: a name, a partial ARN
/// (`123456789012:function:name`) or a full ARN, each with an optional
/// `:qualifier`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionRef {
    pub name: String,
    pub qualifier: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn valid_qualifier(s: &str) -> bool {
    s == LATEST
        || (!s.is_empty()
            && s.len() <= 128
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
}

/// Parses a FunctionName member; None when it fits no accepted form.
pub fn parse_function_ref(s: &str) -> Option<FunctionRef> {
    let parts: Vec<&str> = s.split(':').collect();
    let (account, region, rest): (Option<&str>, Option<&str>, &[&str]) = match parts.as_slice() {
        [
            "arn",
            _partition,
            "lambda",
            region,
            account,
            "function",
            rest @ ..,
        ] => (Some(*account), Some(*region), rest),
        [account, "function", rest @ ..] if ids::is_account_id(account) => {
            (Some(*account), None, rest)
        }
        rest => (None, None, rest),
    };
    let (name, qualifier) = match rest {
        [name] => (*name, None),
        [name, q] => (*name, Some(*q)),
        _ => return None,
    };
    if !valid_name(name) || qualifier.is_some_and(|q| !valid_qualifier(q)) {
        return None;
    }
    if account.is_some_and(|a| !ids::is_account_id(a)) {
        return None;
    }
    Some(FunctionRef {
        name: name.to_string(),
        qualifier: qualifier.map(str::to_string),
        account: account.map(str::to_string),
        region: region.map(str::to_string),
    })
}

/// The function a request names, with its qualifier merged from the
/// `Qualifier` member. Names in another account or region are not found
/// here (each account and region keeps its own functions).
pub fn function_ref(
    ctx: &Context,
    function_name: &str,
    qualifier: Option<&str>,
) -> Result<FunctionRef, AwsError> {
    let mut r = parse_function_ref(function_name).ok_or_else(|| {
        validation(format!(
            "1 validation error detected: Value '{function_name}' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{{2}}(-gov)?-[a-z]+-\\d{{1}}:)?(\\d{{12}}:)?(function:)?([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?"
        ))
    })?;
    if let Some(q) = qualifier.filter(|q| !q.is_empty()) {
        match &r.qualifier {
            Some(existing) if existing != q => {
                return Err(invalid(
                    "The derived qualifier from the function name does not match the specified qualifier.",
                ));
            }
            _ => r.qualifier = Some(q.to_string()),
        }
    }
    if r.account.as_deref().is_some_and(|a| a != ctx.account)
        || r.region.as_deref().is_some_and(|g| g != ctx.region)
    {
        // Another account's or region's function: not visible here.
        return Err(function_not_found(&qualified_arn(
            &Arn::new(
                ctx.partition(),
                "lambda",
                r.region.as_deref().unwrap_or(&ctx.region),
                r.account.as_deref().unwrap_or(&ctx.account),
                &format!("function:{}", r.name),
            )
            .to_string(),
            r.qualifier.as_deref(),
        )));
    }
    Ok(r)
}

pub fn function_arn(ctx: &Context, name: &str) -> String {
    ctx.arn("lambda", &format!("function:{name}")).to_string()
}

pub fn qualified_arn(arn: &str, qualifier: Option<&str>) -> String {
    match qualifier {
        Some(q) => format!("{arn}:{q}"),
        None => arn.to_string(),
    }
}

/// AWS's errors carry `Type: User` besides the message.
fn user(e: AwsError) -> AwsError {
    e.with_member("Type", "User")
}

pub fn function_not_found(arn: &str) -> AwsError {
    user(AwsError::new(
        "ResourceNotFoundException",
        format!("Function not found: {arn}"),
    ))
}

pub fn not_found(message: impl Into<String>) -> AwsError {
    user(AwsError::new("ResourceNotFoundException", message))
}

pub fn conflict(message: impl Into<String>) -> AwsError {
    user(AwsError::new("ResourceConflictException", message))
}

pub fn invalid(message: impl Into<String>) -> AwsError {
    user(AwsError::new("InvalidParameterValueException", message))
}

pub fn validation(message: impl Into<String>) -> AwsError {
    AwsError::validation(message)
}

pub fn precondition_failed() -> AwsError {
    user(AwsError::new(
        "PreconditionFailedException",
        "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id",
    ))
}

/// Checks an optional RevisionId against the current one.
pub fn check_revision(given: Option<&str>, current: &Value) -> Result<(), AwsError> {
    match given {
        Some(r) if Some(r) != current["RevisionId"].as_str() => Err(precondition_failed()),
        _ => Ok(()),
    }
}

/// `2024-05-01T12:00:00.000+0000`, the format of FunctionConfiguration.LastModified.
pub fn last_modified() -> String {
    let t = time::iso8601_millis(time::now());
    format!("{}+0000", t.trim_end_matches('Z'))
}

pub fn revision_id() -> String {
    ids::uuid()
}

/// The `$LATEST` record of a function, or AWS's not-found error.
pub fn load_function(ctx: &Context, name: &str) -> Result<Function, AwsError> {
    FUNCTIONS
        .get(name)?
        .ok_or_else(|| function_not_found(&function_arn(ctx, name)))
}

/// The configuration, code and layers an invoke of `qualifier` runs.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub config: Value,
    pub code_blob: String,
    pub layer_blobs: Vec<String>,
    /// `$LATEST` or a version number.
    pub version: String,
}

pub fn is_version_number(q: &str) -> bool {
    !q.is_empty() && q.chars().all(|c| c.is_ascii_digit())
}

/// Looks up a version (or `$LATEST`) of a function.
pub fn resolve_version(
    ctx: &Context,
    f: &Function,
    name: &str,
    version: &str,
) -> Result<Resolved, AwsError> {
    if version == LATEST {
        return Ok(Resolved {
            config: f.config.clone(),
            code_blob: f.code_blob.clone(),
            layer_blobs: f.layer_blobs.clone(),
            version: LATEST.into(),
        });
    }
    let n: u64 = version
        .parse()
        .map_err(|_| function_not_found(&qualified_arn(&function_arn(ctx, name), Some(version))))?;
    let v = VERSIONS
        .get(&keys::join(&[name, &keys::u64(n)]))?
        .ok_or_else(|| {
            function_not_found(&qualified_arn(&function_arn(ctx, name), Some(version)))
        })?;
    Ok(Resolved {
        config: v.config,
        code_blob: v.code_blob,
        layer_blobs: v.layer_blobs,
        version: version.to_string(),
    })
}

/// A qualifier as a (version, alias) pair: the alias is None for a version
/// or `$LATEST`. Unknown aliases are not found.
pub fn alias_of(ctx: &Context, name: &str, qualifier: &str) -> Result<Option<Value>, AwsError> {
    if qualifier == LATEST || is_version_number(qualifier) {
        return Ok(None);
    }
    ALIASES
        .get(&keys::join(&[name, qualifier]))?
        .map(Some)
        .ok_or_else(|| {
            function_not_found(&qualified_arn(&function_arn(ctx, name), Some(qualifier)))
        })
}

/// Checks that a qualifier (version, alias or `$LATEST`) exists.
pub fn check_qualifier(
    ctx: &Context,
    f: &Function,
    name: &str,
    qualifier: Option<&str>,
) -> Result<(), AwsError> {
    let Some(q) = qualifier else { return Ok(()) };
    if alias_of(ctx, name, q)?.is_none() {
        resolve_version(ctx, f, name, q)?;
    }
    Ok(())
}

/// The version an alias routes one invoke to, given a random number in [0, 1).
pub fn route_alias(alias: &Value, roll: f64) -> String {
    let primary = alias["FunctionVersion"]
        .as_str()
        .unwrap_or(LATEST)
        .to_string();
    let mut acc = 0.0;
    if let Some(weights) = alias["RoutingConfig"]["AdditionalVersionWeights"].as_object() {
        for (version, w) in weights {
            acc += w.as_f64().unwrap_or(0.0);
            if roll < acc {
                return version.clone();
            }
        }
    }
    primary
}

/// A uniform random number in [0, 1).
pub fn roll() -> f64 {
    (ministack_sdk::rand::u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// Leaves out nulls (AWS omits absent members).
pub fn compact(mut v: Value) -> Value {
    if let Value::Object(m) = &mut v {
        m.retain(|_, x| !x.is_null());
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_every_function_name_form() {
        let r = parse_function_ref("my-fn").unwrap();
        assert_eq!((r.name.as_str(), r.qualifier), ("my-fn", None));
        let r = parse_function_ref("my-fn:prod").unwrap();
        assert_eq!(r.qualifier.as_deref(), Some("prod"));
        let r = parse_function_ref("123456789012:function:f:$LATEST").unwrap();
        assert_eq!(r.account.as_deref(), Some("123456789012"));
        assert_eq!(r.qualifier.as_deref(), Some("$LATEST"));
        let r = parse_function_ref("arn:aws:lambda:eu-west-1:123456789012:function:f:3").unwrap();
        assert_eq!(r.region.as_deref(), Some("eu-west-1"));
        assert_eq!((r.name.as_str(), r.qualifier.as_deref()), ("f", Some("3")));
        assert!(parse_function_ref("bad name").is_none());
        assert!(parse_function_ref("a:b:c").is_none());
        assert!(parse_function_ref("").is_none());
    }

    #[test]
    fn qualifier_in_the_name_must_match_the_member() {
        let ctx = Context::for_test("000000000000", "us-east-1");
        assert!(function_ref(&ctx, "f:1", Some("1")).is_ok());
        let e = function_ref(&ctx, "f:1", Some("2")).unwrap_err();
        assert_eq!(e.code, "InvalidParameterValueException");
        assert_eq!(
            function_ref(&ctx, "f", Some("prod"))
                .unwrap()
                .qualifier
                .as_deref(),
            Some("prod")
        );
    }

    #[test]
    fn alias_routing_follows_the_weights() {
        let alias = json!({"FunctionVersion": "1", "RoutingConfig": {"AdditionalVersionWeights": {"2": 0.3}}});
        assert_eq!(route_alias(&alias, 0.1), "2");
        assert_eq!(route_alias(&alias, 0.29), "2");
        assert_eq!(route_alias(&alias, 0.5), "1");
        assert_eq!(route_alias(&json!({"FunctionVersion": "4"}), 0.0), "4");
    }

    #[test]
    fn revision_checks() {
        let cur = json!({"RevisionId": "a"});
        assert!(check_revision(None, &cur).is_ok());
        assert!(check_revision(Some("a"), &cur).is_ok());
        assert_eq!(
            check_revision(Some("b"), &cur).unwrap_err().code,
            "PreconditionFailedException"
        );
    }
}
