//! SigV4: the credential scope `AKID/date/region/service/aws4_request`, from
//! the `Authorization` header or a presigned URL's `X-Amz-Credential`.

use super::Signature;

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

#[cfg(test)]
mod tests {
    use super::*;

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
