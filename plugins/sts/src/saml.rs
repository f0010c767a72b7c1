//! SAML 2.0 assertions, read loosely: no signature check, no schema, just the
//! elements and attributes AssumeRoleWithSAML reports back. Namespace prefixes
//! (`saml2:`, `saml:`, none) are ignored.

use ministack_sdk::encoding::{base64_decode, base64_encode};
use ministack_sdk::hash;

const ATTR_ROLE_SESSION_NAME: &str = "https://aws.amazon.com/SAML/Attributes/RoleSessionName";
const ATTR_SESSION_DURATION: &str = "https://aws.amazon.com/SAML/Attributes/SessionDuration";
const ATTR_SOURCE_IDENTITY: &str = "https://aws.amazon.com/SAML/Attributes/SourceIdentity";
const NAMEID_FORMAT_PREFIX: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:";

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SamlAssertion {
    pub issuer: Option<String>,
    /// `NameID` of the `Subject`.
    pub subject: Option<String>,
    /// `Format` of the `NameID`, without the `urn:oasis:...:nameid-format:` prefix.
    pub subject_type: Option<String>,
    /// `Recipient` of the `SubjectConfirmationData` (else the `Audience`).
    pub audience: Option<String>,
    pub role_session_name: Option<String>,
    pub session_duration: Option<i64>,
    pub source_identity: Option<String>,
}

/// The assertion in a base64 `SAMLResponse`; `None` when it is not base64 of
/// something that looks like SAML.
pub fn parse(saml_assertion_base64: &str) -> Option<SamlAssertion> {
    let bytes = base64_decode(saml_assertion_base64)?;
    let xml = String::from_utf8(bytes).ok()?;
    if !xml.contains('<')
        || (find_element(&xml, "Assertion").is_none() && find_element(&xml, "Response").is_none())
    {
        return None;
    }
    let subject_block = find_element(&xml, "Subject").map(|e| e.inner);
    let name_id = subject_block.and_then(|s| find_element(s, "NameID"));
    let audience = find_element(&xml, "SubjectConfirmationData")
        .and_then(|e| attribute(e.open_tag, "Recipient"))
        .or_else(|| find_element(&xml, "Audience").map(|e| unescape(e.inner.trim())));
    Some(SamlAssertion {
        issuer: find_element(&xml, "Issuer").map(|e| unescape(e.inner.trim())),
        subject: name_id.as_ref().map(|e| unescape(e.inner.trim())),
        subject_type: name_id
            .as_ref()
            .and_then(|e| attribute(e.open_tag, "Format"))
            .map(|f| {
                f.strip_prefix(NAMEID_FORMAT_PREFIX)
                    .map(str::to_string)
                    .unwrap_or(f)
            }),
        audience,
        role_session_name: attribute_value(&xml, ATTR_ROLE_SESSION_NAME),
        session_duration: attribute_value(&xml, ATTR_SESSION_DURATION)
            .and_then(|d| d.trim().parse().ok()),
        source_identity: attribute_value(&xml, ATTR_SOURCE_IDENTITY),
    })
}

/// AWS's `NameQualifier`: base64(SHA-1(issuer + account id + "/" + provider name)).
pub fn name_qualifier(issuer: &str, account: &str, provider_name: &str) -> String {
    base64_encode(&hash::sha1(
        format!("{issuer}{account}/{provider_name}").as_bytes(),
    ))
}

struct Element<'a> {
    /// `<prefix:Name attr="...">`
    open_tag: &'a str,
    inner: &'a str,
}

/// The first element whose local name is `name`.
fn find_element<'a>(xml: &'a str, name: &str) -> Option<Element<'a>> {
    let mut from = 0;
    while let Some(rel) = xml[from..].find('<') {
        let start = from + rel;
        let tag_end = start + xml[start..].find('>')?;
        let open_tag = &xml[start..=tag_end];
        let tag_name = open_tag[1..]
            .split(|c: char| c.is_whitespace() || c == '>' || c == '/')
            .next()
            .unwrap_or("");
        let local = tag_name.rsplit(':').next().unwrap_or(tag_name);
        if local == name && !tag_name.starts_with('/') && !tag_name.starts_with('?') {
            if open_tag.ends_with("/>") {
                return Some(Element {
                    open_tag,
                    inner: "",
                });
            }
            let close = format!("</{tag_name}>");
            let inner_start = tag_end + 1;
            let inner_end = inner_start + xml[inner_start..].find(&close)?;
            return Some(Element {
                open_tag,
                inner: &xml[inner_start..inner_end],
            });
        }
        from = tag_end + 1;
    }
    None
}

/// The value of `name="..."` (or `'...'`) in an opening tag.
fn attribute(open_tag: &str, name: &str) -> Option<String> {
    let mut rest = open_tag;
    while let Some(i) = rest.find(name) {
        let before_ok = i > 0 && rest[..i].ends_with(|c: char| c.is_whitespace() || c == ':');
        let after = rest[i + name.len()..].trim_start();
        if before_ok && let Some(after_eq) = after.strip_prefix('=') {
            let after_eq = after_eq.trim_start();
            let quote = after_eq.chars().next()?;
            if quote == '"' || quote == '\'' {
                let value = &after_eq[1..];
                let end = value.find(quote)?;
                return Some(unescape(&value[..end]));
            }
        }
        rest = &rest[i + name.len()..];
    }
    None
}

/// The first `AttributeValue` of the `Attribute` named `name`.
fn attribute_value(xml: &str, name: &str) -> Option<String> {
    let mut rest = xml;
    while let Some(attr) = find_element(rest, "Attribute") {
        if attribute(attr.open_tag, "Name").as_deref() == Some(name) {
            return find_element(attr.inner, "AttributeValue").map(|v| unescape(v.inner.trim()));
        }
        let consumed = attr.inner.as_ptr() as usize - rest.as_ptr() as usize + attr.inner.len();
        rest = &rest[consumed..];
    }
    None
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    const RESPONSE: &str = r#"<?xml version="1.0"?>
<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_1" Version="2.0">
  <saml2:Issuer xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion">https://idp.example.com/saml</saml2:Issuer>
  <saml2:Assertion xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion">
    <saml2:Issuer>https://idp.example.com/saml</saml2:Issuer>
    <saml2:Subject>
      <saml2:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">alice@example.com</saml2:NameID>
      <saml2:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">
        <saml2:SubjectConfirmationData NotOnOrAfter="2030-01-01T00:00:00Z" Recipient="https://signin.aws.amazon.com/saml"/>
      </saml2:SubjectConfirmation>
    </saml2:Subject>
    <saml2:AttributeStatement>
      <saml2:Attribute Name="https://aws.amazon.com/SAML/Attributes/Role">
        <saml2:AttributeValue>arn:aws:iam::123456789012:role/R,arn:aws:iam::123456789012:saml-provider/Okta</saml2:AttributeValue>
      </saml2:Attribute>
      <saml2:Attribute Name="https://aws.amazon.com/SAML/Attributes/RoleSessionName">
        <saml2:AttributeValue>alice</saml2:AttributeValue>
      </saml2:Attribute>
      <saml2:Attribute Name="https://aws.amazon.com/SAML/Attributes/SessionDuration">
        <saml2:AttributeValue>1800</saml2:AttributeValue>
      </saml2:Attribute>
    </saml2:AttributeStatement>
  </saml2:Assertion>
</samlp:Response>"#;

    #[test]
    fn reads_an_assertion() {
        let a = parse(&base64_encode(RESPONSE.as_bytes())).unwrap();
        assert_eq!(a.issuer.as_deref(), Some("https://idp.example.com/saml"));
        assert_eq!(a.subject.as_deref(), Some("alice@example.com"));
        assert_eq!(a.subject_type.as_deref(), Some("persistent"));
        assert_eq!(
            a.audience.as_deref(),
            Some("https://signin.aws.amazon.com/saml")
        );
        assert_eq!(a.role_session_name.as_deref(), Some("alice"));
        assert_eq!(a.session_duration, Some(1800));
        assert_eq!(a.source_identity, None);
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse("@@not base64@@").is_none());
        assert!(parse(&base64_encode(b"just text")).is_none());
    }

    #[test]
    fn name_qualifier_is_base64_sha1() {
        let q = name_qualifier("https://example.com/saml", "123456789012", "MySAMLIdP");
        assert_eq!(q.len(), 28);
        assert_eq!(
            q,
            name_qualifier("https://example.com/saml", "123456789012", "MySAMLIdP")
        );
    }
}
