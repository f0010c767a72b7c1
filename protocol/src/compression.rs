//! Request compression: a body the client gzipped (`Content-Encoding: gzip`;
//! botocore and the Smithy SDKs compress operations with the
//! `requestcompression` trait, e.g. CloudWatch PutMetricData, above 10 KB).
//! The host inflates it before routing and decoding, and `gzip` leaves the
//! header, so the codec and a member bound to `Content-Encoding` see what the
//! caller sent before the SDK compressed it.

use std::io::Read as _;

use bytes::Bytes;
use http::HeaderMap;
use http::header::{CONTENT_ENCODING, CONTENT_LENGTH, HeaderValue};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InflateError {
    #[error("the gzip body does not inflate: {0}")]
    Corrupt(String),
    #[error("the inflated body is larger than {0} bytes")]
    TooLarge(usize),
}

fn is_gzip(coding: &str) -> bool {
    coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip")
}

/// Inflates a gzipped request body (at most `limit` bytes out) and takes
/// `gzip` out of `Content-Encoding`; other bodies pass through untouched.
pub fn inflate_request(
    headers: &mut HeaderMap,
    body: Bytes,
    limit: usize,
) -> Result<Bytes, InflateError> {
    let Some(encoding) = headers.get(CONTENT_ENCODING).and_then(|v| v.to_str().ok()) else {
        return Ok(body);
    };
    let codings: Vec<&str> = encoding
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    if !codings.iter().any(|c| is_gzip(c)) {
        return Ok(body);
    }
    let rest = codings
        .into_iter()
        .filter(|c| !is_gzip(c))
        .collect::<Vec<_>>()
        .join(", ");
    let mut out = Vec::with_capacity(body.len().saturating_mul(4).min(limit));
    flate2::read::MultiGzDecoder::new(&body[..])
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| InflateError::Corrupt(e.to_string()))?;
    if out.len() > limit {
        return Err(InflateError::TooLarge(limit));
    }
    match HeaderValue::from_str(&rest) {
        Ok(v) if !rest.is_empty() => {
            headers.insert(CONTENT_ENCODING, v);
        }
        _ => {
            headers.remove(CONTENT_ENCODING);
        }
    }
    headers.remove(CONTENT_LENGTH);
    Ok(Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    fn gzip(data: &[u8]) -> Bytes {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(data).unwrap();
        Bytes::from(enc.finish().unwrap())
    }

    fn encoded(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(CONTENT_ENCODING, value.parse().unwrap());
        h
    }

    #[test]
    fn gzip_bodies_are_inflated_and_leave_the_header() {
        let body = b"Action=PutMetricData&Version=2010-08-01";
        let mut h = encoded("gzip");
        assert_eq!(
            inflate_request(&mut h, gzip(body), 1 << 20).unwrap(),
            &body[..]
        );
        assert!(h.get(CONTENT_ENCODING).is_none());
        // The caller's own coding stays: botocore appends gzip after it.
        let mut h = encoded("custom, gzip");
        inflate_request(&mut h, gzip(body), 1 << 20).unwrap();
        assert_eq!(h.get(CONTENT_ENCODING).unwrap(), "custom");
    }

    #[test]
    fn other_bodies_pass_through() {
        let mut plain = HeaderMap::new();
        assert_eq!(
            inflate_request(&mut plain, Bytes::from_static(b"{}"), 10).unwrap(),
            "{}"
        );
        let mut h = encoded("br");
        assert_eq!(
            inflate_request(&mut h, Bytes::from_static(b"x"), 10).unwrap(),
            "x"
        );
        assert_eq!(h.get(CONTENT_ENCODING).unwrap(), "br");
    }

    #[test]
    fn bad_or_huge_bodies_are_errors_not_panics() {
        let mut h = encoded("gzip");
        assert!(matches!(
            inflate_request(&mut h, Bytes::from_static(b"not gzip"), 10),
            Err(InflateError::Corrupt(_))
        ));
        let mut h = encoded("gzip");
        assert_eq!(
            inflate_request(&mut h, gzip(&[0u8; 100]), 10),
            Err(InflateError::TooLarge(10))
        );
    }
}
