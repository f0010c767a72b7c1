//! SigV4: the credential scope `AKID/date/region/service/aws4_request`, from
//! the `Authorization` header or a presigned URL's `X-Amz-Credential`; and the
//! verification of presigned (query-signed) URLs.

use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use sha2::{Digest, Sha256};

use super::{PresignError, Signature};

/// `AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/sts/aws4_request, SignedHeaders=..., Signature=...`
pub fn from_authorization(value: &str) -> Option<Signature> {
    let rest = value.trim_start().strip_prefix("AWS4-HMAC-SHA256")?;
    let credential = rest
        .split(',')
        .map(str::trim)
        .find_map(|part| part.strip_prefix("Credential="))?;
    parse_scope(credential)
}

/// `...?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20240101%2F...`
pub fn from_presigned_query(query: &str) -> Option<Signature> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "X-Amz-Credential")
        .and_then(|(_, v)| parse_scope(&v))
}

fn parse_scope(credential: &str) -> Option<Signature> {
    let mut parts = credential.split('/');
    let access_key_id = parts.next()?.trim();
    if access_key_id.is_empty() {
        return None;
    }
    let _date = parts.next();
    let region = parts.next().map(str::to_string).filter(|r| !r.is_empty());
    let service = parts.next().map(str::to_string).filter(|s| !s.is_empty());
    Some(Signature {
        access_key_id: access_key_id.to_string(),
        region,
        service,
    })
}

/// AWS's URI encoding: everything but the unreserved characters.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The same, keeping `/` (a path's separators).
pub(super) const PATH: &AsciiSet = &UNRESERVED.remove(b'/');

pub(super) fn uri_encode(s: &str) -> String {
    utf8_percent_encode(s, UNRESERVED).to_string()
}

pub(super) fn decode(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

pub(super) fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// A request's SigV4 canonical request up to its payload hash (method,
/// URI, query, signed headers), shared by the presigned, header and
/// enforcement checks; [`Canonical::sign`] completes it for one payload.
pub(super) struct Canonical(String);

impl Canonical {
    /// `query`: name/value pairs already URI-encoded, in any order.
    pub fn new(
        method: &str,
        raw_path: &str,
        s3: bool,
        headers: &http::HeaderMap,
        mut query: Vec<(String, String)>,
        signed_headers: &str,
    ) -> Canonical {
        query.sort();
        let canonical_query = query
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        let path = if raw_path.is_empty() { "/" } else { raw_path };
        // S3 signs the path as sent; other services encode it once more.
        let canonical_uri = if s3 {
            path.to_string()
        } else {
            utf8_percent_encode(path, PATH).to_string()
        };
        let mut canonical_headers = String::new();
        for name in signed_headers.split(';') {
            let values: Vec<String> = headers
                .get_all(name)
                .iter()
                .map(|v| {
                    String::from_utf8_lossy(v.as_bytes())
                        .split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .collect();
            canonical_headers.push_str(&format!("{name}:{}\n", values.join(",")));
        }
        Canonical(format!(
            "{method}\n{canonical_uri}\n{canonical_query}\n{canonical_headers}\n{signed_headers}"
        ))
    }

    /// (canonical request, string to sign) with `payload` as the body's hash.
    pub fn sign(&self, payload: &str, date: &str, scope: &str) -> (String, String) {
        let canonical_request = format!("{}\n{payload}", self.0);
        let string_to_sign = format!(
            "AWS4-HMAC-SHA256\n{date}\n{scope}\n{}",
            sha256_hex(canonical_request.as_bytes())
        );
        (canonical_request, string_to_sign)
    }
}

/// The query of a header-signed request as encoded pairs (`+` is a space).
pub(super) fn header_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                uri_encode(&decode(&k.replace('+', "%20"))),
                uri_encode(&decode(&v.replace('+', "%20"))),
            )
        })
        .collect()
}

/// SigV4's signing key: the secret hashed through the scope's parts.
pub(super) fn signing_key(secret: &str, scope: &str) -> Vec<u8> {
    let mut key = format!("AWS4{secret}").into_bytes();
    for part in scope.split('/') {
        key = hmac(&key, part.as_bytes());
    }
    key
}

/// `20130524T000000Z` → epoch seconds.
pub fn parse_amz_date(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<u64>().ok();
    let (y, m, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (hh, mm, ss) = (num(9..11)?, num(11..13)?, num(13..15)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    Some(days_from_civil(y as i64, m as i64, d as i64) as u64 * 86400 + hh * 3600 + mm * 60 + ss)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

const MISSING_PARAMETERS: &str = "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.";

/// The longest a SigV4 presigned URL may live (7 days).
const MAX_EXPIRES: u64 = 604_800;

/// How far in the future an `X-Amz-Date` may be (AWS's 15-minute skew).
const MAX_SKEW: u64 = 15 * 60;

/// What a presigned SigV4 request is checked against.
pub struct Presigned<'a> {
    pub method: &'a str,
    /// The path as the client sent it (before any virtual-host rewrite).
    pub raw_path: &'a str,
    pub query: &'a str,
    pub headers: &'a http::HeaderMap,
    /// S3 signs the path as sent and an `UNSIGNED-PAYLOAD`; other services
    /// encode the path once more and sign the payload's hash.
    pub s3: bool,
}

/// The secret and expiry check of a SigV4 presigned URL. `None` when the
/// query carries no `X-Amz-Signature`.
pub fn verify_presigned(
    req: &Presigned<'_>,
    now: u64,
    secret_for: &dyn Fn(&str) -> String,
) -> Option<Result<(), PresignError>> {
    let params: Vec<(String, String)> = req
        .query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                decode(&k.replace('+', "%20")),
                decode(&v.replace('+', "%20")),
            )
        })
        .collect();
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let malformed = |m: &str| Some(Err(PresignError::Malformed(m.to_string())));
    let Some(provided) = get("X-Amz-Signature").map(str::to_string) else {
        // A presigned URL with its signature cut off is not an anonymous
        // request: S3 refuses it for the missing parameter.
        let partial = [
            "X-Amz-Algorithm",
            "X-Amz-Credential",
            "X-Amz-Date",
            "X-Amz-SignedHeaders",
        ]
        .iter()
        .any(|p| get(p).is_some());
        return partial.then(|| Err(PresignError::Malformed(MISSING_PARAMETERS.to_string())));
    };
    if get("X-Amz-Algorithm") != Some("AWS4-HMAC-SHA256") {
        return malformed("X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"");
    }
    let (Some(credential), Some(date), Some(signed_headers)) = (
        get("X-Amz-Credential"),
        get("X-Amz-Date"),
        get("X-Amz-SignedHeaders"),
    ) else {
        return malformed(MISSING_PARAMETERS);
    };
    let Some(start) = parse_amz_date(date) else {
        return malformed("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"");
    };
    let expires = match get("X-Amz-Expires").map(str::parse::<u64>) {
        Some(Ok(e)) => e,
        None if !req.s3 => 900,
        _ => return malformed("X-Amz-Expires must be non-negative"),
    };
    if expires > MAX_EXPIRES {
        return malformed("X-Amz-Expires must be less than a week (in seconds) that is 604800");
    }
    let Some((akid, scope)) = credential.split_once('/') else {
        return malformed("Error parsing the X-Amz-Credential parameter");
    };
    let query = params
        .iter()
        .filter(|(k, _)| k != "X-Amz-Signature")
        .map(|(k, v)| (uri_encode(k), uri_encode(v)))
        .collect();
    let canonical = Canonical::new(
        req.method,
        req.raw_path,
        req.s3,
        req.headers,
        query,
        signed_headers,
    );
    let payloads: Vec<String> = match get("X-Amz-Content-Sha256") {
        Some(p) => vec![p.to_string()],
        None if req.s3 => vec!["UNSIGNED-PAYLOAD".to_string()],
        None => vec![sha256_hex(b""), "UNSIGNED-PAYLOAD".to_string()],
    };
    let signing_key = signing_key(&secret_for(akid), scope);
    let mut first = None;
    for payload in payloads {
        let (canonical_request, string_to_sign) = canonical.sign(&payload, date, scope);
        let expected = hex::encode(hmac(&signing_key, string_to_sign.as_bytes()));
        if expected == provided.to_ascii_lowercase() {
            return Some(if now > start.saturating_add(expires) {
                Err(PresignError::Expired)
            } else if start > now.saturating_add(MAX_SKEW) {
                // Signed for later: it would otherwise outlive its expiry.
                Err(PresignError::NotYetValid)
            } else {
                Ok(())
            });
        }
        first.get_or_insert((canonical_request, string_to_sign));
    }
    let (canonical_request, string_to_sign) = first.expect("one payload at least");
    Some(Err(PresignError::Mismatch {
        access_key_id: akid.to_string(),
        string_to_sign,
        canonical_request,
        provided,
    }))
}

/// A request signed in its `Authorization` header, as the check sees it.
pub struct HeaderSigned<'a> {
    pub method: &'a str,
    /// The path as the client sent it.
    pub raw_path: &'a str,
    pub query: &'a str,
    pub headers: &'a http::HeaderMap,
    /// S3 signs the path as sent; other services encode it once more.
    pub s3: bool,
}

/// A header signature that verified: what a streaming body's chunk
/// signatures chain from (ministack_state::chunked::ChunkChain).
#[derive(Debug, PartialEq, Eq)]
pub struct SeedSigned {
    pub access_key_id: String,
    pub signing_key: Vec<u8>,
    pub date: String,
    pub scope: String,
    pub signature: String,
}

/// Checks the SigV4 `Authorization` header of a request against the
/// secret of its access key. `None` when the request is not header-signed
/// with SigV4. The payload hash is `x-amz-content-sha256` as sent (S3 and
/// streaming uploads); the body itself is not hashed here.
pub fn verify_authorization(
    req: &HeaderSigned<'_>,
    secret_for: &dyn Fn(&str) -> String,
) -> Option<Result<SeedSigned, PresignError>> {
    let value = req
        .headers
        .get(http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let rest = value.trim_start().strip_prefix("AWS4-HMAC-SHA256")?;
    let field = |name: &str| {
        rest.split(',')
            .map(str::trim)
            .find_map(|p| p.strip_prefix(name))
            .map(str::trim)
    };
    let malformed = |m: &str| Some(Err(PresignError::Malformed(m.to_string())));
    let (Some(credential), Some(signed_headers), Some(provided)) = (
        field("Credential="),
        field("SignedHeaders="),
        field("Signature="),
    ) else {
        return malformed("The authorization header is malformed.");
    };
    let Some((akid, scope)) = credential.split_once('/') else {
        return malformed("The authorization header is malformed; the Credential is mal-formed.");
    };
    let header = |n: &str| req.headers.get(n).and_then(|v| v.to_str().ok());
    let Some(date) = header("x-amz-date").or_else(|| header("date")) else {
        return malformed("The authorization header requires an X-Amz-Date.");
    };
    let payload = header("x-amz-content-sha256").unwrap_or("UNSIGNED-PAYLOAD");
    let canonical = Canonical::new(
        req.method,
        req.raw_path,
        req.s3,
        req.headers,
        header_query(req.query),
        signed_headers,
    );
    let (canonical_request, string_to_sign) = canonical.sign(payload, date, scope);
    let signing_key = signing_key(&secret_for(akid), scope);
    let expected = hex::encode(hmac(&signing_key, string_to_sign.as_bytes()));
    if !expected.eq_ignore_ascii_case(provided) {
        return Some(Err(PresignError::Mismatch {
            access_key_id: akid.to_string(),
            string_to_sign,
            canonical_request,
            provided: provided.to_string(),
        }));
    }
    Some(Ok(SeedSigned {
        access_key_id: akid.to_string(),
        signing_key,
        date: date.to_string(),
        scope: scope.to_string(),
        signature: expected,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's documented example: GET /test.txt on examplebucket, presigned
    /// for 86400 s (S3 "Authenticating Requests: Using Query Parameters").
    #[test]
    fn verifies_the_documented_example() {
        let mut headers = http::HeaderMap::new();
        headers.insert("host", "examplebucket.s3.amazonaws.com".parse().unwrap());
        let query = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";
        let req = Presigned {
            method: "GET",
            raw_path: "/test.txt",
            query,
            headers: &headers,
            s3: true,
        };
        let secret = |_: &str| "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".to_string();
        let start = parse_amz_date("20130524T000000Z").unwrap();
        assert_eq!(start, 1369353600);
        assert_eq!(verify_presigned(&req, start + 10, &secret), Some(Ok(())));
        assert_eq!(
            verify_presigned(&req, start + 86401, &secret),
            Some(Err(PresignError::Expired))
        );
        let tampered = Presigned {
            raw_path: "/test2.txt",
            ..req
        };
        assert!(matches!(
            verify_presigned(&tampered, start + 10, &secret),
            Some(Err(PresignError::Mismatch { .. }))
        ));
        assert_eq!(
            verify_presigned(&req, start - 16 * 60, &secret),
            Some(Err(PresignError::NotYetValid))
        );
        let unsigned = Presigned {
            query: "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host",
            ..req
        };
        assert!(matches!(
            verify_presigned(&unsigned, start, &secret),
            Some(Err(PresignError::Malformed(_)))
        ));
        let week = Presigned {
            query: "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=604801&X-Amz-SignedHeaders=host&X-Amz-Signature=00",
            ..req
        };
        assert!(matches!(
            verify_presigned(&week, start, &secret),
            Some(Err(PresignError::Malformed(_)))
        ));
        let plain = Presigned {
            query: "a=b",
            ..tampered
        };
        assert_eq!(verify_presigned(&plain, start, &secret), None);
    }

    /// AWS's documented seed request of a chunked upload (S3 "Transferring
    /// payload in multiple chunks"): PUT /examplebucket/chunkObject.txt.
    #[test]
    fn verifies_the_documented_seed_signature() {
        let mut headers = http::HeaderMap::new();
        for (k, v) in [
            ("host", "s3.amazonaws.com"),
            ("x-amz-date", "20130524T000000Z"),
            ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
            (
                "authorization",
                "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
            ),
            ("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"),
            ("content-encoding", "aws-chunked"),
            ("x-amz-decoded-content-length", "66560"),
            ("content-length", "66824"),
        ] {
            headers.insert(k, v.parse().unwrap());
        }
        let req = HeaderSigned {
            method: "PUT",
            raw_path: "/examplebucket/chunkObject.txt",
            query: "",
            headers: &headers,
            s3: true,
        };
        let secret = |_: &str| "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".to_string();
        let seed = verify_authorization(&req, &secret).unwrap().unwrap();
        assert_eq!(seed.scope, "20130524/us-east-1/s3/aws4_request");
        let wrong = |_: &str| "other".to_string();
        assert!(matches!(
            verify_authorization(&req, &wrong),
            Some(Err(PresignError::Mismatch { .. }))
        ));
    }

    #[test]
    fn reads_the_scope_from_the_header() {
        let sig = from_authorization(
            "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
        )
        .unwrap();
        assert_eq!(sig.access_key_id, "AKIAEXAMPLE");
        assert_eq!(sig.region.as_deref(), Some("us-east-1"));
        assert_eq!(sig.service.as_deref(), Some("iam"));
    }

    #[test]
    fn reads_the_scope_from_a_presigned_url() {
        let sig = from_presigned_query(
            "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=test%2F20130524%2Feu-central-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400",
        )
        .unwrap();
        assert_eq!(sig.access_key_id, "test");
        assert_eq!(sig.region.as_deref(), Some("eu-central-1"));
        assert_eq!(sig.service.as_deref(), Some("s3"));
    }

    #[test]
    fn rejects_other_schemes_and_empty_keys() {
        assert!(from_authorization("Bearer abc").is_none());
        assert!(
            from_authorization("AWS4-HMAC-SHA256 Credential=/20150830/us-east-1/iam/aws4_request")
                .is_none()
        );
        assert!(from_authorization("AWS4-HMAC-SHA256 SignedHeaders=host").is_none());
        assert!(from_presigned_query("a=b").is_none());
    }
}
