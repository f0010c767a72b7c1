//! Pure helpers: bucket names, ranges, conditions, listing encodings.

use ministack_sdk::members::Members;

/// A string member of a decoded input (a tree or a typed input), owned.
pub fn s<I: Members + ?Sized>(v: &I, name: &str) -> Option<String> {
    v.str_member(name).map(str::to_string)
}

/// AWS's bucket naming rules (general purpose buckets).
pub fn valid_bucket_name(name: &str) -> bool {
    let b = name.as_bytes();
    if b.len() < 3 || b.len() > 63 {
        return false;
    }
    let ok = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    if !ok(b[0]) || !ok(b[b.len() - 1]) {
        return false;
    }
    if !b.iter().all(|&c| ok(c) || c == b'.' || c == b'-') {
        return false;
    }
    if name.contains("..") || name.contains(".-") || name.contains("-.") {
        return false;
    }
    let parts: Vec<&str> = name.split('.').collect();
    if parts.len() == 4 && parts.iter().all(|p| p.parse::<u8>().is_ok()) {
        return false;
    }
    !name.starts_with("xn--") && !name.ends_with("-s3alias")
}

/// A single byte range of an HTTP `Range` header against an object of
/// `size` bytes: `Ok(None)` when the header is absent or not understood
/// (AWS then serves the whole object), `Err(Unsatisfiable)` when it starts past the end.
/// A range that starts past the end of the object (416).
#[derive(Debug, PartialEq, Eq)]
pub struct Unsatisfiable;

pub fn parse_range(header: Option<&str>, size: u64) -> Result<Option<(u64, u64)>, Unsatisfiable> {
    let Some(h) = header else { return Ok(None) };
    let Some(spec) = h.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((a, b)) = spec.split_once('-') else {
        return Ok(None);
    };
    let (a, b) = (a.trim(), b.trim());
    if a.is_empty() {
        let Ok(n) = b.parse::<u64>() else {
            return Ok(None);
        };
        if n == 0 || size == 0 {
            return Err(Unsatisfiable);
        }
        let n = n.min(size);
        return Ok(Some((size - n, size - 1)));
    }
    let Ok(first) = a.parse::<u64>() else {
        return Ok(None);
    };
    let last = if b.is_empty() {
        u64::MAX
    } else {
        match b.parse::<u64>() {
            Ok(l) if l >= first => l,
            _ => return Ok(None),
        }
    };
    if first >= size {
        return Err(Unsatisfiable);
    }
    Ok(Some((first, last.min(size - 1))))
}

/// Outcome of the conditional headers of a read.
#[derive(Debug, PartialEq, Eq)]
pub enum Condition {
    Proceed,
    NotModified,
    PreconditionFailed,
}

fn etag_matches(list: &str, etag: &str) -> bool {
    let bare = etag.trim_matches('"');
    list.split(',')
        .map(|s| s.trim().trim_start_matches("W/").trim_matches('"'))
        .any(|s| s == "*" || s == bare)
}

/// RFC 7232 evaluation as S3 does it (If-Match wins over
/// If-Unmodified-Since, If-None-Match over If-Modified-Since).
pub fn evaluate(
    etag: &str,
    last_modified: u64,
    if_match: Option<&str>,
    if_none_match: Option<&str>,
    if_modified_since: Option<f64>,
    if_unmodified_since: Option<f64>,
) -> Condition {
    let lm = last_modified as f64;
    match if_match {
        Some(m) if !etag_matches(m, etag) => return Condition::PreconditionFailed,
        Some(_) => {}
        None => {
            if let Some(t) = if_unmodified_since
                && lm > t
            {
                return Condition::PreconditionFailed;
            }
        }
    }
    match if_none_match {
        Some(m) if etag_matches(m, etag) => return Condition::NotModified,
        Some(_) => {}
        None => {
            if let Some(t) = if_modified_since
                && lm <= t
            {
                return Condition::NotModified;
            }
        }
    }
    Condition::Proceed
}

/// Percent-encoding of `encoding-type=url` (unreserved characters and `/` kept).
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &c in s.as_bytes() {
        if c.is_ascii_alphanumeric() || b"-_.~/".contains(&c) {
            out.push(c as char);
        } else {
            out.push_str(&format!("%{c:02X}"));
        }
    }
    out
}

/// Percent-decoding (for `x-amz-copy-source`).
pub fn url_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) =
                u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `a=1&b=2` (the `x-amz-tagging` header) as pairs.
pub fn parse_tagging(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                url_decode(&k.replace('+', " ")),
                url_decode(&v.replace('+', " ")),
            )
        })
        .collect()
}

/// Bytes of a lowercase hex string.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

/// The part of `key` after `prefix` up to and including the first
/// `delimiter`, as a CommonPrefix, if any.
pub fn common_prefix(key: &str, prefix: &str, delimiter: &str) -> Option<String> {
    if delimiter.is_empty() {
        return None;
    }
    let rest = key.strip_prefix(prefix)?;
    rest.find(delimiter)
        .map(|i| format!("{prefix}{}", &rest[..i + delimiter.len()]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s_is_an_owned_string_member() {
        let small = serde_json::json!({"Key": "k", "ContentMD5": null, "Size": 1});
        assert_eq!(s(&small, "Key").as_deref(), Some("k"));
        assert_eq!(s(&small, "ContentMD5"), None);
        assert_eq!(s(&small, "Size"), None);
    }

    #[test]
    fn bucket_names() {
        assert!(valid_bucket_name("my-bucket.1"));
        assert!(!valid_bucket_name("ab"));
        assert!(!valid_bucket_name("My-Bucket"));
        assert!(!valid_bucket_name("a..b"));
        assert!(!valid_bucket_name("192.168.1.1"));
        assert!(!valid_bucket_name("-abc"));
        assert!(!valid_bucket_name("abc_def"));
    }

    #[test]
    fn ranges() {
        assert_eq!(parse_range(Some("bytes=0-4"), 10), Ok(Some((0, 4))));
        assert_eq!(parse_range(Some("bytes=5-"), 10), Ok(Some((5, 9))));
        assert_eq!(parse_range(Some("bytes=-3"), 10), Ok(Some((7, 9))));
        assert_eq!(parse_range(Some("bytes=8-100"), 10), Ok(Some((8, 9))));
        assert_eq!(parse_range(Some("bytes=10-"), 10), Err(Unsatisfiable));
        assert_eq!(parse_range(Some("bytes=5-2"), 10), Ok(None));
        assert_eq!(parse_range(Some("junk"), 10), Ok(None));
        assert_eq!(parse_range(None, 10), Ok(None));
    }

    #[test]
    fn conditions() {
        let e = "\"abc\"";
        assert_eq!(
            evaluate(e, 100, Some("\"abc\""), None, None, None),
            Condition::Proceed
        );
        assert_eq!(
            evaluate(e, 100, Some("\"x\""), None, None, None),
            Condition::PreconditionFailed
        );
        assert_eq!(
            evaluate(e, 100, None, Some("abc"), None, None),
            Condition::NotModified
        );
        assert_eq!(
            evaluate(e, 100, None, None, Some(100.0), None),
            Condition::NotModified
        );
        assert_eq!(
            evaluate(e, 100, None, None, Some(50.0), None),
            Condition::Proceed
        );
        assert_eq!(
            evaluate(e, 100, None, None, None, Some(50.0)),
            Condition::PreconditionFailed
        );
        assert_eq!(
            evaluate(e, 100, Some("*"), None, None, Some(50.0)),
            Condition::Proceed
        );
    }

    #[test]
    fn encodings() {
        assert_eq!(url_encode("a b+c/é"), "a%20b%2Bc/%C3%A9");
        assert_eq!(url_decode("a%20b%2Bc/%C3%A9"), "a b+c/é");
        assert_eq!(
            parse_tagging("a=1&b=x%20y"),
            vec![("a".into(), "1".into()), ("b".into(), "x y".into())]
        );
        assert_eq!(
            common_prefix("photos/2024/a.jpg", "photos/", "/"),
            Some("photos/2024/".into())
        );
        assert_eq!(common_prefix("photos/a.jpg", "photos/", "/"), None);
        assert_eq!(unhex("0aff"), Some(vec![10, 255]));
    }
}
