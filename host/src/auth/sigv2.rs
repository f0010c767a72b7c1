//! SigV2 (and S3's legacy `AWS key:signature`): only the access key; SigV2
//! carries no region or service.

use base64::Engine;
use hmac::{Hmac, Mac};
use percent_encoding::percent_decode_str;

use super::{PresignError, Signature};

/// `Authorization: AWS AKID:signature`
pub fn from_authorization(value: &str) -> Option<Signature> {
    let rest = value.trim_start().strip_prefix("AWS ")?;
    let (key, _sig) = rest.split_once(':')?;
    let key = key.trim();
    (!key.is_empty()).then(|| Signature {
        access_key_id: key.to_string(),
        region: None,
        service: None,
    })
}

/// `?AWSAccessKeyId=AKID&Signature=...&Expires=...` (presigned SigV2, or the
/// SigV2 query signing of old query-protocol clients).
pub fn from_query(query: &str) -> Option<Signature> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, v)| k == "AWSAccessKeyId" && !v.is_empty())
        .map(|(_, v)| Signature {
            access_key_id: v.into_owned(),
            region: None,
            service: None,
        })
}

/// The query parameters S3 includes in SigV2's canonicalized resource.
pub(super) const SUBRESOURCES: [&str; 39] = [
    "accelerate",
    "acl",
    "analytics",
    "cors",
    "defaultObjectAcl",
    "delete",
    "inventory",
    "legal-hold",
    "lifecycle",
    "location",
    "logging",
    "metrics",
    "notification",
    "object-lock",
    "partNumber",
    "policy",
    "replication",
    "requestPayment",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "response-content-language",
    "response-content-type",
    "response-expires",
    "restore",
    "retention",
    "select",
    "select-type",
    "storageClass",
    "tagging",
    "torrent",
    "uploadId",
    "uploads",
    "versionId",
    "versioning",
    "versions",
    "website",
    "intelligent-tiering",
    "ownershipControls",
];

/// An S3 SigV2 presigned URL (`AWSAccessKeyId`, `Expires`, `Signature`).
pub struct Presigned<'a> {
    pub method: &'a str,
    /// `/bucket/key` as sent (the bucket prepended for virtual-hosted URLs).
    pub resource_path: &'a str,
    pub query: &'a str,
    pub headers: &'a http::HeaderMap,
}

/// Checks an S3 SigV2 presigned URL; `None` when the query is not one
/// (query-protocol SigV2 signing carries `SignatureVersion` and no `Expires`).
pub fn verify_presigned(
    req: &Presigned<'_>,
    now: u64,
    secret_for: &dyn Fn(&str) -> String,
) -> Option<Result<(), PresignError>> {
    let pairs = query_pairs(req.query);
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.as_deref())
    };
    let (Some(akid), Some(expires), Some(provided)) =
        (get("AWSAccessKeyId"), get("Expires"), get("Signature"))
    else {
        // A SigV2 URL with its signature cut off is not anonymous.
        let partial = get("AWSAccessKeyId").is_some() && get("SignatureVersion").is_none();
        return partial.then(|| {
            Err(PresignError::Malformed(
                "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters".into(),
            ))
        });
    };
    if get("SignatureVersion").is_some() {
        return None;
    }
    let Ok(expires_at) = expires.parse::<u64>() else {
        return Some(Err(PresignError::Malformed(
            "Invalid date (should be seconds since epoch)".into(),
        )));
    };
    let string_to_sign =
        string_to_sign(req.method, req.headers, expires, req.resource_path, &pairs);
    let expected = signature(&secret_for(akid), &string_to_sign);
    Some(if expected != provided {
        Err(PresignError::Mismatch {
            access_key_id: akid.to_string(),
            string_to_sign,
            canonical_request: String::new(),
            provided: provided.to_string(),
        })
    } else if now > expires_at {
        Err(PresignError::Expired)
    } else {
        Ok(())
    })
}

/// The query as decoded (name, value) pairs; a name alone has no value.
pub(super) fn query_pairs(query: &str) -> Vec<(String, Option<String>)> {
    let dec = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (dec(k), Some(dec(&v.replace('+', " ")))),
            None => (dec(p), None),
        })
        .collect()
}

/// S3's SigV2 string to sign. `date` is the Date line: the header's date,
/// empty when `x-amz-date` is signed instead, or a presigned URL's Expires.
/// `resource_path` is `/bucket/key` as sent; the sub-resources of `pairs`
/// are appended to it.
pub(super) fn string_to_sign(
    method: &str,
    headers: &http::HeaderMap,
    date: &str,
    resource_path: &str,
    pairs: &[(String, Option<String>)],
) -> String {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .trim()
    };
    let mut amz: Vec<(String, String)> = headers
        .iter()
        .filter(|(k, _)| k.as_str().starts_with("x-amz-"))
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).trim().to_string(),
            )
        })
        .collect();
    amz.sort();
    let mut resource = resource_path.to_string();
    let mut sub: Vec<&(String, Option<String>)> = pairs
        .iter()
        .filter(|(k, _)| SUBRESOURCES.contains(&k.as_str()))
        .collect();
    sub.sort_by(|a, b| a.0.cmp(&b.0));
    if !sub.is_empty() {
        let parts: Vec<String> = sub
            .iter()
            .map(|(k, v)| match v {
                Some(v) => format!("{k}={v}"),
                None => k.clone(),
            })
            .collect();
        resource = format!("{resource}?{}", parts.join("&"));
    }
    let mut string_to_sign = format!(
        "{method}\n{}\n{}\n{date}\n",
        header("content-md5"),
        header("content-type")
    );
    for (k, v) in &amz {
        string_to_sign.push_str(&format!("{k}:{v}\n"));
    }
    string_to_sign.push_str(&resource);
    string_to_sign
}

/// base64(HMAC-SHA1(secret, string to sign)).
pub(super) fn signature(secret: &str, string_to_sign: &str) -> String {
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(string_to_sign.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The S3 developer guide's SigV2 query-string example.
    #[test]
    fn verifies_the_documented_example() {
        let headers = http::HeaderMap::new();
        let req = Presigned {
            method: "GET",
            resource_path: "/johnsmith/photos/puppy.jpg",
            query: "AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D&Expires=1175139620",
            headers: &headers,
        };
        let secret = |_: &str| "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".to_string();
        assert_eq!(verify_presigned(&req, 1175139000, &secret), Some(Ok(())));
        assert_eq!(
            verify_presigned(&req, 1175139621, &secret),
            Some(Err(PresignError::Expired))
        );
        let other = Presigned {
            resource_path: "/johnsmith/photos/kitten.jpg",
            ..req
        };
        assert!(matches!(
            verify_presigned(&other, 1175139000, &secret),
            Some(Err(PresignError::Mismatch { .. }))
        ));
    }

    #[test]
    fn header_and_query_forms() {
        assert_eq!(
            from_authorization("AWS AKIDEXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=")
                .unwrap()
                .access_key_id,
            "AKIDEXAMPLE"
        );
        assert_eq!(
            from_query("AWSAccessKeyId=111122223333&Expires=1141889120&Signature=vjbyPxybdZaNmGa%2ByT272YEAiv4%3D")
                .unwrap()
                .access_key_id,
            "111122223333"
        );
        assert!(from_authorization("AWS4-HMAC-SHA256 Credential=x").is_none());
        assert!(from_authorization("AWS :sig").is_none());
        assert!(from_query("AWSAccessKeyId=").is_none());
    }
}
