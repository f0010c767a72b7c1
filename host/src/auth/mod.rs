//! Who is calling: access key, account, region and signing service; and the
//! check of presigned URLs.
//!
//! Header-signed requests are not verified (as MiniStack): the gateway only
//! reads their credential to scope state. Presigned URLs (SigV4 query auth
//! and S3's SigV2 `AWSAccessKeyId`/`Expires`/`Signature`) are verified and
//! their expiry enforced: a link handed to a browser is the one credential a
//! test wants to see refused. Sources, in MiniStack's order: the SigV4
//! `Authorization` header, the presigned `X-Amz-Credential` query parameter,
//! SigV2 `AWSAccessKeyId` in the query, then the SigV2 `AWS key:sig` header.

pub mod authz;
pub mod enforce;
pub mod sigv2;
pub mod sigv4;

use crate::capabilities::identity::CredentialRegistry;

/// The connection a request came on (a request extension the server sets):
/// the peer's address (`aws:SourceIp`) and whether it is TLS
/// (`aws:SecureTransport`).
#[derive(Clone, Copy, Debug)]
pub struct Peer {
    pub addr: std::net::SocketAddr,
    pub tls: bool,
}

/// Why a presigned URL is refused.
#[derive(Debug, PartialEq, Eq)]
pub enum PresignError {
    Expired,
    /// `X-Amz-Date` further in the future than the allowed clock skew.
    NotYetValid,
    Mismatch {
        access_key_id: String,
        string_to_sign: String,
        canonical_request: String,
        provided: String,
    },
    Malformed(String),
}

impl PresignError {
    /// The error in S3's terms (codes every service's presigned check uses).
    pub fn to_aws_error(&self) -> ministack_protocol::AwsError {
        use ministack_protocol::AwsError;
        match self {
            PresignError::Expired => AwsError::new("AccessDenied", "Request has expired", 403),
            PresignError::NotYetValid => {
                AwsError::new("AccessDenied", "Request is not valid yet", 403)
            }
            PresignError::Malformed(m) => {
                AwsError::new("AuthorizationQueryParametersError", m.clone(), 400)
            }
            PresignError::Mismatch {
                access_key_id,
                string_to_sign,
                canonical_request,
                provided,
            } => {
                let mut extra = serde_json::Map::new();
                extra.insert("AWSAccessKeyId".into(), access_key_id.clone().into());
                extra.insert("StringToSign".into(), string_to_sign.clone().into());
                extra.insert("SignatureProvided".into(), provided.clone().into());
                if !canonical_request.is_empty() {
                    extra.insert("CanonicalRequest".into(), canonical_request.clone().into());
                }
                let mut e = AwsError::new(
                    "SignatureDoesNotMatch",
                    "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
                    403,
                );
                e.extra = Some(extra);
                e
            }
        }
    }
}

/// A request as the presigned-URL check sees it.
pub struct PresignedRequest<'a> {
    pub method: &'a str,
    /// The path as sent.
    pub raw_path: &'a str,
    pub query: &'a str,
    pub headers: &'a http::HeaderMap,
    /// Set for S3: the bucket a virtual-hosted request names in its Host.
    pub s3: bool,
    pub virtual_host_bucket: Option<&'a str>,
}

/// Checks a presigned URL (SigV4 query auth, or S3's SigV2 query auth).
/// `Ok` for requests that are not presigned. `secret_for` gives the secret
/// of an access key.
pub fn verify_presigned(
    req: &PresignedRequest<'_>,
    now: u64,
    secret_for: &dyn Fn(&str) -> String,
) -> Result<(), PresignError> {
    if req.query.is_empty() {
        return Ok(());
    }
    let v4 = sigv4::Presigned {
        method: req.method,
        raw_path: req.raw_path,
        query: req.query,
        headers: req.headers,
        s3: req.s3,
    };
    if let Some(r) = sigv4::verify_presigned(&v4, now, secret_for) {
        return r;
    }
    if req.s3 {
        let resource = match req.virtual_host_bucket {
            Some(b) => format!("/{b}{}", req.raw_path),
            None => req.raw_path.to_string(),
        };
        let v2 = sigv2::Presigned {
            method: req.method,
            resource_path: &resource,
            query: req.query,
            headers: req.headers,
        };
        if let Some(r) = sigv2::verify_presigned(&v2, now, secret_for) {
            return r;
        }
    }
    Ok(())
}

/// What a request's signature says about its caller.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Signature {
    pub access_key_id: String,
    /// From the SigV4 credential scope (absent in SigV2).
    pub region: Option<String>,
    /// Signing name from the SigV4 credential scope, e.g. "sts", "s3".
    pub service: Option<String>,
}

/// The caller of one request, resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub access_key_id: String,
    pub account: String,
    pub region: String,
    pub signing_service: Option<String>,
    /// The endpoint for URLs handed out to this caller (the Host it used),
    /// set by the gateway; None means the configured one.
    pub endpoint: Option<String>,
    /// ARN and user id when the key is one the gateway issued (STS, IAM).
    pub arn: String,
    pub user_id: String,
}

/// Reads the signature of a request from its headers and query string.
pub fn signature(headers: &http::HeaderMap, query: &str) -> Option<Signature> {
    let auth = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if let Some(sig) = auth.and_then(sigv4::from_authorization) {
        return Some(sig);
    }
    if !query.is_empty() {
        if let Some(sig) = sigv4::from_presigned_query(query) {
            return Some(sig);
        }
        if let Some(sig) = sigv2::from_query(query) {
            return Some(sig);
        }
    }
    auth.and_then(sigv2::from_authorization)
}

/// Resolves the caller: a 12-digit access key is the account id; a key the
/// gateway issued acts in its own account; anything else acts in the
/// default account. The region comes from the credential scope.
pub fn resolve(
    sig: Option<Signature>,
    registry: &CredentialRegistry,
    default_account: &str,
    default_region: &str,
) -> Caller {
    let sig = sig.unwrap_or_default();
    let region = sig
        .region
        .clone()
        .filter(|r| is_region(r))
        .unwrap_or_else(|| default_region.to_string());
    if let Some(cred) = registry.lookup(&sig.access_key_id) {
        return Caller {
            access_key_id: sig.access_key_id,
            account: cred.account,
            region,
            signing_service: sig.service,
            endpoint: None,
            arn: cred.arn,
            user_id: cred.user_id,
        };
    }
    let account = if is_account_id(&sig.access_key_id) {
        sig.access_key_id.clone()
    } else {
        default_account.to_string()
    };
    Caller {
        access_key_id: sig.access_key_id,
        arn: String::new(),
        user_id: String::new(),
        account,
        region,
        signing_service: sig.service,
        endpoint: None,
    }
}

pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// A plausible region name (letters, digits, dashes), so a garbage scope
/// never becomes a state key.
fn is_region(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 32
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(auth: &str) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        h.insert(http::header::AUTHORIZATION, auth.parse().unwrap());
        h
    }

    #[test]
    fn twelve_digit_key_is_the_account() {
        let sig = signature(
            &headers(
                "AWS4-HMAC-SHA256 Credential=111122223333/20240101/eu-west-1/sts/aws4_request, SignedHeaders=host, Signature=abc",
            ),
            "",
        );
        let caller = resolve(
            sig,
            &CredentialRegistry::default(),
            "000000000000",
            "us-east-1",
        );
        assert_eq!(caller.account, "111122223333");
        assert_eq!(caller.region, "eu-west-1");
        assert_eq!(caller.signing_service.as_deref(), Some("sts"));
    }

    #[test]
    fn other_keys_use_the_default_account_and_region() {
        let caller = resolve(
            signature(&headers("AWS test:c2lnbmF0dXJl"), ""),
            &CredentialRegistry::default(),
            "000000000000",
            "us-east-1",
        );
        assert_eq!(caller.access_key_id, "test");
        assert_eq!(caller.account, "000000000000");
        assert_eq!(caller.region, "us-east-1");
        let caller = resolve(
            None,
            &CredentialRegistry::default(),
            "123456789012",
            "ap-south-1",
        );
        assert_eq!(
            (caller.account.as_str(), caller.region.as_str()),
            ("123456789012", "ap-south-1")
        );
    }

    #[test]
    fn header_wins_over_query() {
        let sig = signature(
            &headers("AWS4-HMAC-SHA256 Credential=AKIDHEADER/20240101/us-west-2/s3/aws4_request, SignedHeaders=host, Signature=abc"),
            "X-Amz-Credential=AKIDQUERY%2F20240101%2Feu-west-1%2Fs3%2Faws4_request",
        )
        .unwrap();
        assert_eq!(sig.access_key_id, "AKIDHEADER");
    }

    #[test]
    fn garbage_region_falls_back() {
        let sig = Signature {
            access_key_id: "k".into(),
            region: Some("../../etc".into()),
            service: None,
        };
        let caller = resolve(
            Some(sig),
            &CredentialRegistry::default(),
            "000000000000",
            "us-east-1",
        );
        assert_eq!(caller.region, "us-east-1");
    }
}
