//! STS's input constraints, with the messages AWS gives. Pure functions: they
//! are unit-tested natively.

use ministack_sdk::AwsError;
use ministack_sdk::arn::Arn;
use ministack_sdk::validate::{Validator, is_word_or, is_xml_char};

use crate::shapes::{PolicyDescriptorType, ProvidedContext, Tag};

/// `[\w+=,.@-]*`: role session names, source identities, federated user names.
pub const NAME_PATTERN: &str = r"[\w+=,.@-]*";
pub const NAME_CHARS: &[char] = &['+', '=', ',', '.', '@', '-'];
const EXTERNAL_ID_PATTERN: &str = r"[\w+=,.@:\/-]*";
const SERIAL_NUMBER_PATTERN: &str = r"[\w+=/:,.@-]*";
const ARN_PATTERN: &str =
    r"[\u0009\u000A\u000D\u0020-\u007E\u0085\u00A0-\uD7FF\uE000-\uFFFD\u10000-\u10FFFF]+";
const POLICY_PATTERN: &str = r"[\u0009\u000A\u000D\u0020-\u00FF]+";
const TAG_KEY_PATTERN: &str = r"[\p{L}\p{Z}\p{N}_.:/=+\-@]+";
const TAG_VALUE_PATTERN: &str = r"[\p{L}\p{Z}\p{N}_.:/=+\-@]*";

/// Room for session policies and tags, in plaintext characters.
pub const PACKED_POLICY_BUDGET: usize = 2048;

pub fn session_name(v: &mut Validator, member: &str, value: &str, max: usize) {
    v.pattern(member, value, is_word_or(NAME_CHARS), NAME_PATTERN);
    v.length(member, value, 2, max);
}

/// An ARN-typed member (`arnType`: 20 to 2048 characters).
pub fn arn_member(v: &mut Validator, member: &str, value: &str) {
    v.pattern(member, value, is_xml_char, ARN_PATTERN);
    // The pattern is `+`: an empty value fails it too, reported first as AWS does.
    if value.is_empty() {
        v.fail(
            member,
            value,
            &format!("Member must satisfy regular expression pattern: {ARN_PATTERN}"),
        );
    }
    v.length(member, value, 20, 2048);
}

pub fn duration(v: &mut Validator, value: Option<i64>, min: i64, max: i64) {
    if let Some(d) = value {
        v.range("durationSeconds", d, min, max);
    }
}

pub fn policy(v: &mut Validator, policy: Option<&str>) {
    if let Some(p) = policy {
        v.pattern(
            "policy",
            p,
            |c| matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{FF}'),
            POLICY_PATTERN,
        );
        v.length("policy", p, 1, PACKED_POLICY_BUDGET);
    }
}

pub fn policy_arns(v: &mut Validator, arns: &[PolicyDescriptorType]) {
    v.count("policyArns", arns.len(), 0, 10);
    for (i, d) in arns.iter().enumerate() {
        if let Some(arn) = &d.arn {
            arn_member(v, &format!("policyArns.{}.member.arn", i + 1), arn);
        }
    }
}

pub fn tags(v: &mut Validator, tags: &[Tag]) {
    v.count("tags", tags.len(), 0, 50);
    let tag_char = |c: char| c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c);
    for (i, t) in tags.iter().enumerate() {
        let n = i + 1;
        v.pattern(
            &format!("tags.{n}.member.key"),
            &t.key,
            tag_char,
            TAG_KEY_PATTERN,
        );
        v.length(&format!("tags.{n}.member.key"), &t.key, 1, 128);
        v.pattern(
            &format!("tags.{n}.member.value"),
            &t.value,
            tag_char,
            TAG_VALUE_PATTERN,
        );
        v.length(&format!("tags.{n}.member.value"), &t.value, 0, 256);
    }
}

pub fn external_id(v: &mut Validator, value: Option<&str>) {
    if let Some(x) = value {
        v.pattern(
            "externalId",
            x,
            is_word_or(&['+', '=', ',', '.', '@', ':', '/', '-']),
            EXTERNAL_ID_PATTERN,
        );
        v.length("externalId", x, 2, 1224);
    }
}

pub fn mfa(v: &mut Validator, serial_number: Option<&str>, token_code: Option<&str>) {
    if let Some(s) = serial_number {
        v.pattern(
            "serialNumber",
            s,
            is_word_or(&['+', '=', '/', ':', ',', '.', '@', '-']),
            SERIAL_NUMBER_PATTERN,
        );
        v.length("serialNumber", s, 9, 256);
    }
    if let Some(t) = token_code {
        v.pattern("tokenCode", t, |c| c.is_ascii_digit(), r"[\d]*");
        v.length("tokenCode", t, 6, 6);
    }
}

pub fn source_identity(v: &mut Validator, value: Option<&str>) {
    if let Some(s) = value {
        v.pattern("sourceIdentity", s, is_word_or(NAME_CHARS), NAME_PATTERN);
        v.length("sourceIdentity", s, 2, 64);
    }
}

pub fn provided_contexts(v: &mut Validator, contexts: &[ProvidedContext]) {
    v.count("providedContexts", contexts.len(), 0, 5);
    for (i, c) in contexts.iter().enumerate() {
        if let Some(arn) = &c.provider_arn {
            arn_member(
                v,
                &format!("providedContexts.{}.member.providerArn", i + 1),
                arn,
            );
        }
        if let Some(a) = &c.context_assertion {
            v.length(
                &format!("providedContexts.{}.member.contextAssertion", i + 1),
                a,
                4,
                2048,
            );
        }
    }
}

/// Both MFA members or neither (AWS answers AccessDenied).
pub fn mfa_pair(serial_number: Option<&str>, token_code: Option<&str>) -> Result<(), AwsError> {
    match (serial_number, token_code) {
        (Some(_), None) | (None, Some(_)) => Err(AwsError::access_denied(
            "MultiFactorAuthentication failed, must provide both MFA serial number and one time pass code.",
        )),
        _ => Ok(()),
    }
}

/// A source identity may not begin with `aws:`.
pub fn source_identity_prefix(value: Option<&str>) -> Result<(), AwsError> {
    match value {
        Some(s) if s.to_ascii_lowercase().starts_with("aws:") => {
            Err(AwsError::validation_error(format!(
                "1 validation error detected: Value '{s}' at 'sourceIdentity' failed to satisfy constraint: Member must not begin with 'aws:'"
            )))
        }
        _ => Ok(()),
    }
}

/// A role ARN: `arn:<partition>:iam::<12 digits>:role/[<path>/]<name>`.
pub fn parse_role_arn(value: &str) -> Option<Arn> {
    let arn = Arn::parse(value)?;
    let ok = arn.service == "iam"
        && arn.region.is_empty()
        && arn.account.len() == 12
        && arn.account.bytes().all(|b| b.is_ascii_digit())
        && arn.resource.starts_with("role/")
        && is_role_name(arn.resource.rsplit('/').next().unwrap_or(""));
    ok.then_some(arn)
}

/// IAM's role-name pattern `[\w+=,.@-]+`: a colon may appear in the path of
/// a role ARN, never in the name.
fn is_role_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || "+=,.@-".contains(c))
}

/// A SAML provider ARN: `arn:<partition>:iam::<12 digits>:saml-provider/<name>`.
pub fn parse_saml_provider_arn(value: &str) -> Option<Arn> {
    let arn = Arn::parse(value)?;
    let ok = arn.service == "iam"
        && arn.account.len() == 12
        && arn.account.bytes().all(|b| b.is_ascii_digit())
        && arn.resource_type() == "saml-provider"
        && !arn.resource_name().is_empty();
    ok.then_some(arn)
}

/// The session policy must be JSON (AWS parses it before anything else).
pub fn policy_document(policy: Option<&str>) -> Result<Option<serde_json::Value>, AwsError> {
    match policy {
        None => Ok(None),
        Some(p) => serde_json::from_str::<serde_json::Value>(p)
            .ok()
            .filter(|v| v.is_object())
            .map(Some)
            .ok_or_else(|| {
                AwsError::new(
                    "MalformedPolicyDocument",
                    "The policy is not in the valid JSON format.",
                )
            }),
    }
}

/// Duplicate keys (case-insensitive) and transitive keys that are not tags.
pub fn tag_keys(tags: &[Tag], transitive: &[String]) -> Result<(), AwsError> {
    let mut seen = std::collections::HashSet::new();
    for t in tags {
        if !seen.insert(t.key.to_lowercase()) {
            return Err(AwsError::invalid_parameter_value(
                "Duplicate tag keys found. Please note that Tag keys are case insensitive.",
            ));
        }
    }
    for k in transitive {
        if !seen.contains(&k.to_lowercase()) {
            return Err(AwsError::invalid_parameter_value(
                "The specified transitive tag key must be included in the requested tags.",
            ));
        }
    }
    Ok(())
}

/// The percentage of the session-policy budget the request's policy, managed
/// policy ARNs and tags use (AWS packs them into the session token). `None`
/// when the request passes none of them.
pub fn packed_policy_size(
    policy: Option<&serde_json::Value>,
    arns: &[PolicyDescriptorType],
    tags: &[Tag],
) -> Option<u32> {
    if policy.is_none() && arns.is_empty() && tags.is_empty() {
        return None;
    }
    let policy_len = policy.map(|p| p.to_string().len()).unwrap_or(0);
    let arns_len: usize = arns
        .iter()
        .filter_map(|a| a.arn.as_ref())
        .map(|a| a.len())
        .sum();
    let tags_len: usize = tags.iter().map(|t| t.key.len() + t.value.len() + 2).sum();
    let used = policy_len + arns_len + tags_len;
    Some(((used * 100).div_ceil(PACKED_POLICY_BUDGET * 2)).max(1) as u32)
}

/// Fails when the packed size is over 100 %.
pub fn packed_policy_fits(size: Option<u32>, principal: &str) -> Result<(), AwsError> {
    match size {
        Some(s) if s > 100 => Err(AwsError::new(
            "PackedPolicyTooLarge",
            format!(
                "Packed policy consumes {s}% of allotted space, please use smaller policy for {principal}."
            ),
        )),
        _ => Ok(()),
    }
}

/// A name fit for a role session (SAML and web identity fallbacks): invalid
/// characters become `_`, cut to 64.
pub fn sanitize_session_name(raw: &str) -> String {
    let ok = is_word_or(NAME_CHARS);
    let mut s: String = raw
        .chars()
        .map(|c| if ok(c) { c } else { '_' })
        .take(64)
        .collect();
    while s.chars().count() < 2 {
        s.push('_');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(k: &str, v: &str) -> Tag {
        Tag {
            key: k.into(),
            value: v.into(),
        }
    }

    #[test]
    fn session_names() {
        let mut v = Validator::new();
        session_name(&mut v, "roleSessionName", "good-name@x.y", 64);
        assert!(v.is_ok());
        let mut v = Validator::new();
        session_name(&mut v, "roleSessionName", "bad name", 64);
        assert_eq!(
            v.message().unwrap(),
            r"1 validation error detected: Value 'bad name' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]*"
        );
        let mut v = Validator::new();
        session_name(&mut v, "roleSessionName", &"x".repeat(65), 64);
        assert!(
            v.message()
                .unwrap()
                .contains("Member must have length less than or equal to 64")
        );
        let mut v = Validator::new();
        session_name(&mut v, "roleSessionName", "a", 64);
        assert!(v.message().unwrap().contains("greater than or equal to 2"));
    }

    #[test]
    fn durations() {
        let mut v = Validator::new();
        duration(&mut v, Some(899), 900, 43200);
        assert_eq!(
            v.message().unwrap(),
            "1 validation error detected: Value '899' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"
        );
        let mut v = Validator::new();
        duration(&mut v, Some(43201), 900, 43200);
        assert!(v.message().unwrap().contains("less than or equal to 43200"));
        let mut v = Validator::new();
        duration(&mut v, None, 900, 43200);
        assert!(v.is_ok());
    }

    #[test]
    fn role_arns() {
        let a = parse_role_arn("arn:aws:iam::123456789012:role/path/to/Admin").unwrap();
        assert_eq!(a.account, "123456789012");
        assert_eq!(a.resource_name(), "Admin");
        assert!(parse_role_arn("arn:aws:iam::123456789012:user/Bob").is_none());
        assert!(parse_role_arn("arn:aws:iam::12345:role/x").is_none());
        assert!(parse_role_arn("arn:aws:iam:us-east-1:123456789012:role/x").is_none());
        assert!(parse_role_arn("arn:aws:s3:::123456789012:role/x").is_none());
        assert!(parse_role_arn("role/x").is_none());
        assert!(parse_role_arn("arn:aws:iam::123456789012:role/").is_none());
        assert!(parse_saml_provider_arn("arn:aws:iam::123456789012:saml-provider/Okta").is_some());
        let mut v = Validator::new();
        arn_member(&mut v, "roleArn", "");
        assert!(v.message().unwrap().starts_with("2 validation errors detected: Value '' at 'roleArn' failed to satisfy constraint: Member must satisfy regular expression pattern"));
    }

    #[test]
    fn tags_and_policies() {
        assert!(tag_keys(&[tag("a", "1"), tag("A", "2")], &[]).is_err());
        assert!(tag_keys(&[tag("a", "1")], &["b".into()]).is_err());
        assert!(tag_keys(&[tag("a", "1")], &["A".into()]).is_ok());
        let mut v = Validator::new();
        tags(&mut v, &[tag("", "x"), tag("ok key", "v@l")]);
        assert!(v.message().unwrap().contains("tags.1.member.key"));
        assert!(
            policy_document(Some("{\"Version\":\"2012-10-17\"}"))
                .unwrap()
                .is_some()
        );
        assert_eq!(
            policy_document(Some("nope")).unwrap_err().code,
            "MalformedPolicyDocument"
        );
        assert_eq!(packed_policy_size(None, &[], &[]), None);
        let p = serde_json::json!({"Version": "2012-10-17", "Statement": []});
        let s = packed_policy_size(Some(&p), &[], &[]).unwrap();
        assert!((1..10).contains(&s));
        assert!(packed_policy_fits(Some(101), "role r").is_err());
    }

    #[test]
    fn mfa_and_source_identity() {
        assert!(mfa_pair(Some("arn:aws:iam::123456789012:mfa/u"), None).is_err());
        assert!(mfa_pair(None, None).is_ok());
        let mut v = Validator::new();
        mfa(&mut v, None, Some("12a456"));
        assert!(v.message().unwrap().contains("tokenCode"));
        assert!(source_identity_prefix(Some("aws:me")).is_err());
        assert!(source_identity_prefix(Some("alice")).is_ok());
        assert_eq!(sanitize_session_name("alice smith/1"), "alice_smith_1");
        assert_eq!(sanitize_session_name("a"), "a_");
    }
}
