//! Opt-in authentication (ENFORCE_IAM=1): every request must carry a valid
//! signature. Presigned URLs are checked for every request already
//! ([`super::verify_presigned`]); this adds the `Authorization` header
//! (SigV4, and S3's SigV2 `AWS key:signature`), the clock-skew check and
//! the refusal of unsigned requests. Errors are in each protocol's terms.

use super::sigv2;
use super::sigv4::{self, hmac, sha256_hex};
use ministack_protocol::{AwsError, Protocol};

/// How far a request's date may be from the server's clock (AWS: 15 min).
pub const MAX_SKEW_SECS: u64 = 15 * 60;

/// Why a request is not authenticated.
#[derive(Debug, PartialEq, Eq)]
pub enum AuthFailure {
    /// No signature at all.
    Missing,
    /// A signature that does not parse.
    Malformed(String),
    /// A signature that does not verify.
    Mismatch {
        string_to_sign: String,
        canonical_request: String,
    },
    /// Signed more than 15 minutes away from now.
    Skewed { signed: String, now: u64 },
    /// A key the gateway did not issue, when default credentials are off.
    UnknownKey,
}

/// The family of a service's error codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// awsQuery (and query-compatible JSON services such as SQS): codes
    /// without the `Exception` suffix.
    Query,
    /// awsJson and restJson: `...Exception` codes.
    Json,
    /// S3.
    S3,
}

impl Family {
    pub fn of(model: &ministack_protocol::ServiceModel) -> Self {
        let meta = model.metadata();
        if meta.endpoint_prefix == "s3" {
            Family::S3
        } else if meta.aws_query_compatible
            || matches!(
                meta.protocols.first(),
                Some(Protocol::Query | Protocol::Ec2)
            )
        {
            Family::Query
        } else {
            Family::Json
        }
    }
}

const MISMATCH: &str = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

impl AuthFailure {
    pub fn to_aws_error(&self, family: Family) -> AwsError {
        use Family::*;
        match (self, family) {
            (AuthFailure::Missing, S3) => AwsError::new("AccessDenied", "Access Denied", 403),
            (AuthFailure::Missing, Query) => AwsError::new(
                "MissingAuthenticationToken",
                "Request is missing Authentication Token",
                403,
            ),
            (AuthFailure::Missing, Json) => AwsError::new(
                "MissingAuthenticationTokenException",
                "Missing Authentication Token",
                403,
            ),
            (AuthFailure::Malformed(m), S3) => {
                AwsError::new("AuthorizationHeaderMalformed", m.clone(), 400)
            }
            (AuthFailure::Malformed(m), Query) => {
                AwsError::new("IncompleteSignature", m.clone(), 400)
            }
            (AuthFailure::Malformed(m), Json) => {
                AwsError::new("IncompleteSignatureException", m.clone(), 400)
            }
            (
                AuthFailure::Mismatch {
                    string_to_sign,
                    canonical_request,
                },
                S3,
            ) => {
                let mut e = AwsError::new(
                    "SignatureDoesNotMatch",
                    "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
                    403,
                );
                let mut extra = serde_json::Map::new();
                extra.insert("StringToSign".into(), string_to_sign.clone().into());
                if !canonical_request.is_empty() {
                    extra.insert("CanonicalRequest".into(), canonical_request.clone().into());
                }
                e.extra = Some(extra);
                e
            }
            (AuthFailure::Mismatch { .. }, Query) => {
                AwsError::new("SignatureDoesNotMatch", MISMATCH, 403)
            }
            (AuthFailure::Mismatch { .. }, Json) => {
                AwsError::new("InvalidSignatureException", MISMATCH, 403)
            }
            (AuthFailure::Skewed { .. }, S3) => AwsError::new(
                "RequestTimeTooSkewed",
                "The difference between the request time and the current time is too large.",
                403,
            ),
            (AuthFailure::Skewed { signed, now }, f) => {
                let message = format!(
                    "Signature expired: {signed} is now earlier than {} ({} - 15 min.)",
                    amz_date(now - MAX_SKEW_SECS.min(*now)),
                    amz_date(*now)
                );
                let code = if f == Query {
                    "SignatureDoesNotMatch"
                } else {
                    "InvalidSignatureException"
                };
                AwsError::new(code, message, 403)
            }
            (AuthFailure::UnknownKey, S3) => AwsError::new(
                "InvalidAccessKeyId",
                "The AWS Access Key Id you provided does not exist in our records.",
                403,
            ),
            (AuthFailure::UnknownKey, Query) => AwsError::new(
                "InvalidClientTokenId",
                "The security token included in the request is invalid.",
                403,
            ),
            (AuthFailure::UnknownKey, Json) => AwsError::new(
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
                403,
            ),
        }
    }
}

/// Epoch seconds → `20130524T000000Z`.
pub fn amz_date(secs: u64) -> String {
    let days = (secs / 86400) as i64;
    let rem = secs % 86400;
    // Civil from days (Howard Hinnant), the inverse of sigv4::days_from_civil.
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// A request as the header check sees it.
pub struct Request<'a> {
    pub method: &'a str,
    /// The path as the client sent it.
    pub raw_path: &'a str,
    pub query: &'a str,
    pub headers: &'a http::HeaderMap,
    pub s3: bool,
    /// S3 virtual-hosted bucket (SigV2's resource starts with it).
    pub virtual_host_bucket: Option<&'a str>,
    /// The body, when buffered (its hash is signed by non-S3 services).
    pub body: Option<&'a [u8]>,
    /// The body's SHA-256 (hex) when it was stored in a blob instead.
    pub body_sha256: Option<&'a str>,
}

/// Whether the query carries a presigned signature that
/// [`super::verify_presigned`] checked: SigV4 query auth, or S3's SigV2
/// (`AWSAccessKeyId`, `Signature`, `Expires`, no `SignatureVersion`).
pub fn is_presigned(query: &str, s3: bool) -> bool {
    if query.is_empty() {
        return false;
    }
    let mut v2 = [false; 3];
    for (k, _) in form_urlencoded::parse(query.as_bytes()) {
        match k.as_ref() {
            "X-Amz-Signature" => return true,
            "AWSAccessKeyId" => v2[0] = true,
            "Signature" => v2[1] = true,
            "Expires" => v2[2] = true,
            "SignatureVersion" => return false,
            _ => {}
        }
    }
    s3 && v2 == [true; 3]
}

/// Checks the request's `Authorization` header. Returns the access key on
/// success. Presigned requests are not looked at here.
pub fn verify_header(
    req: &Request<'_>,
    now: u64,
    secret_for: &dyn Fn(&str) -> String,
) -> Result<String, AuthFailure> {
    let auth = req
        .headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .ok_or(AuthFailure::Missing)?;
    if let Some(rest) = auth.strip_prefix("AWS4-HMAC-SHA256") {
        return verify_v4(req, rest, now, secret_for);
    }
    if let Some(rest) = auth.strip_prefix("AWS ")
        && req.s3
    {
        return verify_v2(req, rest, now, secret_for);
    }
    Err(AuthFailure::Malformed(
        "Authorization header requires the AWS4-HMAC-SHA256 algorithm.".into(),
    ))
}

fn header<'a>(headers: &'a http::HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn check_skew(signed_at: u64, signed: &str, now: u64) -> Result<(), AuthFailure> {
    if signed_at.abs_diff(now) > MAX_SKEW_SECS {
        return Err(AuthFailure::Skewed {
            signed: signed.to_string(),
            now,
        });
    }
    Ok(())
}

fn verify_v4(
    req: &Request<'_>,
    rest: &str,
    now: u64,
    secret_for: &dyn Fn(&str) -> String,
) -> Result<String, AuthFailure> {
    let field = |name: &str| {
        rest.split(',')
            .map(str::trim)
            .find_map(|p| p.strip_prefix(name))
            .map(str::trim)
    };
    let (Some(credential), Some(signed_headers), Some(provided)) = (
        field("Credential="),
        field("SignedHeaders="),
        field("Signature="),
    ) else {
        return Err(AuthFailure::Malformed(
            "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters.".into(),
        ));
    };
    let Some((akid, scope)) = credential.split_once('/') else {
        return Err(AuthFailure::Malformed(
            "Credential should be scoped to a valid region.".into(),
        ));
    };
    let Some(date) = header(req.headers, "x-amz-date") else {
        return Err(AuthFailure::Malformed(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
                .into(),
        ));
    };
    let Some(signed_at) = sigv4::parse_amz_date(date) else {
        return Err(AuthFailure::Malformed(format!(
            "Invalid X-Amz-Date: {date}"
        )));
    };
    check_skew(signed_at, date, now)?;
    let payload = match header(req.headers, "x-amz-content-sha256") {
        Some(p) => p.to_string(),
        None => match (req.body, req.body_sha256) {
            (Some(body), _) => sha256_hex(body),
            (None, Some(hash)) => hash.to_string(),
            (None, None) => "UNSIGNED-PAYLOAD".into(),
        },
    };
    let canonical = sigv4::Canonical::new(
        req.method,
        req.raw_path,
        req.s3,
        req.headers,
        sigv4::header_query(req.query),
        signed_headers,
    );
    let (canonical_request, string_to_sign) = canonical.sign(&payload, date, scope);
    let key = sigv4::signing_key(&secret_for(akid), scope);
    let expected = hex::encode(hmac(&key, string_to_sign.as_bytes()));
    if !expected.eq_ignore_ascii_case(provided) {
        return Err(AuthFailure::Mismatch {
            string_to_sign,
            canonical_request,
        });
    }
    Ok(akid.to_string())
}

/// S3's SigV2 header: `AWS AKID:base64(hmac-sha1(secret, StringToSign))`.
fn verify_v2(
    req: &Request<'_>,
    rest: &str,
    now: u64,
    secret_for: &dyn Fn(&str) -> String,
) -> Result<String, AuthFailure> {
    let Some((akid, provided)) = rest.trim().split_once(':') else {
        return Err(AuthFailure::Malformed(
            "The authorization header you provided is invalid.".into(),
        ));
    };
    let amz_date = header(req.headers, "x-amz-date");
    let date = amz_date
        .or_else(|| header(req.headers, "date"))
        .unwrap_or("");
    // RFC 1123 with a numeric zone (`+0000`) as S3's examples write it.
    let signed_at = httpdate::parse_http_date(&date.replace("+0000", "GMT"))
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs());
    let Some(signed_at) = signed_at else {
        return Err(AuthFailure::Malformed(
            "AWS authentication requires a valid Date or x-amz-date header".into(),
        ));
    };
    check_skew(signed_at, date, now)?;
    let resource_path = match req.virtual_host_bucket {
        Some(b) => format!("/{b}{}", req.raw_path),
        None => req.raw_path.to_string(),
    };
    let string_to_sign = sigv2::string_to_sign(
        req.method,
        req.headers,
        if amz_date.is_some() { "" } else { date },
        &resource_path,
        &sigv2::query_pairs(req.query),
    );
    let expected = sigv2::signature(&secret_for(akid), &string_to_sign);
    if expected != provided {
        return Err(AuthFailure::Mismatch {
            string_to_sign,
            canonical_request: String::new(),
        });
    }
    Ok(akid.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's SigV4 test suite `get-vanilla` (service/host/date fixed).
    #[test]
    fn verifies_get_vanilla() {
        let mut h = http::HeaderMap::new();
        h.insert("host", "example.amazonaws.com".parse().unwrap());
        h.insert("x-amz-date", "20150830T123600Z".parse().unwrap());
        h.insert("authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31".parse().unwrap());
        let req = Request {
            method: "GET",
            raw_path: "/",
            query: "",
            headers: &h,
            s3: false,
            virtual_host_bucket: None,
            body: Some(b""),
            body_sha256: None,
        };
        let secret = |_: &str| "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".to_string();
        let at = sigv4::parse_amz_date("20150830T123600Z").unwrap();
        assert_eq!(verify_header(&req, at, &secret), Ok("AKIDEXAMPLE".into()));
        assert!(matches!(
            verify_header(&req, at + 16 * 60, &secret),
            Err(AuthFailure::Skewed { .. })
        ));
        let wrong = |_: &str| "x".to_string();
        assert!(matches!(
            verify_header(&req, at, &wrong),
            Err(AuthFailure::Mismatch { .. })
        ));
    }

    /// The S3 developer guide's SigV2 `GET /photos/puppy.jpg` example.
    #[test]
    fn verifies_sigv2_header() {
        let mut h = http::HeaderMap::new();
        h.insert("host", "johnsmith.s3.amazonaws.com".parse().unwrap());
        h.insert("date", "Tue, 27 Mar 2007 19:36:42 +0000".parse().unwrap());
        h.insert(
            "authorization",
            "AWS AKIAIOSFODNN7EXAMPLE:bWq2s1WEIj+Ydj0vQ697zp+IXMU="
                .parse()
                .unwrap(),
        );
        let req = Request {
            method: "GET",
            raw_path: "/photos/puppy.jpg",
            query: "",
            headers: &h,
            s3: true,
            virtual_host_bucket: Some("johnsmith"),
            body: None,
            body_sha256: None,
        };
        let secret = |_: &str| "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".to_string();
        assert_eq!(
            verify_header(&req, 1175024202, &secret),
            Ok("AKIAIOSFODNN7EXAMPLE".into())
        );
    }

    #[test]
    fn dates_round_trip() {
        let at = sigv4::parse_amz_date("20240229T235959Z").unwrap();
        assert_eq!(amz_date(at), "20240229T235959Z");
    }

    #[test]
    fn presigned_queries() {
        assert!(is_presigned("X-Amz-Signature=abc&x=1", false));
        assert!(is_presigned("AWSAccessKeyId=a&Signature=b&Expires=1", true));
        // Only S3's SigV2 query auth is verified as presigned.
        assert!(!is_presigned(
            "AWSAccessKeyId=a&Signature=b&Expires=1",
            false
        ));
        assert!(!is_presigned(
            "AWSAccessKeyId=a&Signature=b&Expires=1&SignatureVersion=2",
            true
        ));
        assert!(!is_presigned("AWSAccessKeyId=a", true));
        assert!(!is_presigned("", true));
    }
}
