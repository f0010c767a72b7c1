//! SigV2 (and S3's legacy `AWS key:signature`): only the access key; SigV2
//! carries no region or service.

use super::Signature;

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

#[cfg(test)]
mod tests {
    use super::*;

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
