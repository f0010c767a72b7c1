//! Web identity tokens (OIDC JWTs), read without verifying the signature: the
//! emulator trusts any identity provider, and takes the claims as they are.

use ministack_sdk::encoding::base64url_decode;
use serde_json::{Map, Value};

/// The claims AssumeRoleWithWebIdentity reports back.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WebIdentityClaims {
    /// `sub`.
    pub subject: Option<String>,
    /// `aud` (the first one when it is a list; `azp` when there is none).
    pub audience: Option<String>,
    /// `iss`.
    pub issuer: Option<String>,
    /// `exp`, epoch seconds.
    pub expires: Option<u64>,
    /// `https://aws.amazon.com/source_identity`.
    pub source_identity: Option<String>,
}

/// The claims of a JWT (`header.payload.signature`, base64url JSON), or
/// `None` when the token is not one.
pub fn parse_jwt(token: &str) -> Option<WebIdentityClaims> {
    let mut parts = token.trim().split('.');
    let header = parts.next()?;
    let payload = parts.next()?;
    let _signature = parts.next()?;
    if parts.next().is_some() {
        return None; // a JWE has five parts; we cannot read those
    }
    let header: Map<String, Value> = serde_json::from_slice(&base64url_decode(header)?).ok()?;
    header.get("alg")?;
    let claims: Map<String, Value> = serde_json::from_slice(&base64url_decode(payload)?).ok()?;
    let text = |name: &str| -> Option<String> {
        match claims.get(name)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    };
    let audience = match claims.get("aud") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Array(a)) => a.iter().find_map(|v| v.as_str().map(str::to_string)),
        _ => None,
    }
    .or_else(|| text("azp"));
    Some(WebIdentityClaims {
        subject: text("sub"),
        audience,
        issuer: text("iss"),
        expires: claims.get("exp").and_then(|v| v.as_f64()).map(|f| f as u64),
        source_identity: text("https://aws.amazon.com/source_identity"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ministack_sdk::encoding::base64url_encode;

    fn jwt(claims: &str) -> String {
        format!(
            "{}.{}.{}",
            base64url_encode(br#"{"alg":"RS256","typ":"JWT"}"#),
            base64url_encode(claims.as_bytes()),
            base64url_encode(b"signature")
        )
    }

    #[test]
    fn reads_claims() {
        let t = jwt(
            r#"{"iss":"https://oidc.example.com","sub":"user-123456","aud":["client-1","x"],"exp":1900000000}"#,
        );
        let c = parse_jwt(&t).unwrap();
        assert_eq!(c.subject.as_deref(), Some("user-123456"));
        assert_eq!(c.audience.as_deref(), Some("client-1"));
        assert_eq!(c.issuer.as_deref(), Some("https://oidc.example.com"));
        assert_eq!(c.expires, Some(1_900_000_000));
        let t =
            jwt(r#"{"sub":"abcdef","aud":"app","https://aws.amazon.com/source_identity":"alice"}"#);
        let c = parse_jwt(&t).unwrap();
        assert_eq!(c.audience.as_deref(), Some("app"));
        assert_eq!(c.source_identity.as_deref(), Some("alice"));
        assert_eq!(c.issuer, None);
    }

    #[test]
    fn rejects_non_jwts() {
        assert!(parse_jwt("not-a-token").is_none());
        assert!(parse_jwt("a.b.c").is_none());
        assert!(parse_jwt(&format!("{}.e30.", base64url_encode(b"{}"))).is_none()); // no alg
        assert!(parse_jwt(&format!("{}.e30.", base64url_encode(br#"{"alg":"none"}"#))).is_some());
    }
}
