//! Pure logic: queue URLs, names, attribute values, the MD5 digests SQS
//! computes over message attributes, and receipt handles.

use std::collections::BTreeMap;

use ministack_sdk::encoding::{base64_decode, base64url_decode, base64url_encode};
use ministack_sdk::hash::{hex, md5};
use ministack_sdk::words::{self, HIGH_BITS};
use serde::{Deserialize, Serialize};

/// A message attribute as the model shapes it (`MessageAttributeValue`).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct AttributeValue {
    pub data_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub string_value: Option<String>,
    /// Base64 text (the JSON convention for blobs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary_value: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub string_list_values: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub binary_list_values: Vec<String>,
}

pub type Attributes = BTreeMap<String, AttributeValue>;

/// The queue name in a QueueUrl, in any form SDKs send:
/// `http(s)://host[:port]/<account>/<name>` (also without scheme, or a
/// bare name). Returns (account if present, name).
pub fn parse_queue_url(url: &str) -> Option<(Option<String>, String)> {
    // The last URL's answer is kept: every SendMessage reads its QueueUrl
    // twice (its owner, then its queue), and a client sends to the same
    // queue again and again; a parse is ~1.6 k wasm instructions, the
    // compare and the copies a fifth of that. Starts as `""`'s answer.
    type Parsed = Option<(Option<String>, String)>;
    thread_local! {
        static LAST: std::cell::RefCell<(String, Parsed)> =
            const { std::cell::RefCell::new((String::new(), None)) };
    }
    LAST.with_borrow_mut(|(last, parsed)| {
        if last.as_str() != url {
            *parsed = parse_url(url);
            last.clear();
            last.push_str(url);
        }
        parsed.clone()
    })
}

fn parse_url(url: &str) -> Option<(Option<String>, String)> {
    // By byte, not with `split_once("://")` and a collected `Vec` of
    // segments, which cost ~2 % of a SendMessage in wasm.
    let bytes = url.as_bytes();
    let scheme_end = (0..bytes.len().saturating_sub(2))
        .find(|&i| bytes[i] == b':' && bytes[i + 1] == b'/' && bytes[i + 2] == b'/')
        .map(|i| i + 3);
    let rest = &url[scheme_end.unwrap_or(0)..];
    let end = rest
        .bytes()
        .position(|b| b == b'?' || b == b'#')
        .unwrap_or(rest.len());
    // The number of non-empty segments and the last two of them (`/` is
    // ASCII: every cut is a char boundary).
    let path = &rest.as_bytes()[..end];
    let (mut count, mut account, mut name) = (0, 0..0, 0..0);
    let mut i = 0;
    while i < path.len() {
        if path[i] == b'/' {
            i += 1;
            continue;
        }
        let start = i;
        while i < path.len() && path[i] != b'/' {
            i += 1;
        }
        count += 1;
        account = std::mem::replace(&mut name, start..i);
    }
    let (account, name) = (&rest[account], &rest[name]);
    match count {
        0 => None,
        1 if scheme_end.is_none() => Some((None, name.to_string())),
        1 => None,
        _ => {
            let account = (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()))
                .then(|| account.to_string());
            Some((account, name.to_string()))
        }
    }
}

/// Queue names: 1–80 of alphanumerics, `-`, `_`; FIFO queues end `.fifo`.
pub fn valid_queue_name(name: &str) -> bool {
    let base = name.strip_suffix(".fifo").unwrap_or(name);
    !base.is_empty()
        && name.len() <= 80
        && base
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Batch entry ids: up to 80 of alphanumerics, `-`, `_`.
pub fn valid_batch_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 80
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Characters SQS accepts in a message body (XML 1.0's allowed set).
///
/// Checked by byte, not by decoded `char` (a send's body is checked whole,
/// ~1 % of an EventBridge delivery to SQS): a `str` holds no surrogates, so
/// outside ASCII only U+FFFE and U+FFFF (UTF-8 `EF BF BE`/`EF BF BF`) are
/// refused, and every other byte of a multi-byte character is >= 0x80.
pub fn valid_body(body: &str) -> bool {
    let bytes = body.as_bytes();
    // Eight bytes at a time: a run of printable ASCII (0x20..=0x7F) needs
    // no closer look, and in wasm a byte-by-byte loop costs ~20
    // instructions a byte (the loop's epoch check and spills included).
    let mut chunks = bytes.chunks_exact(8);
    let mut ascii = true;
    for chunk in &mut chunks {
        let x = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        if x & HIGH_BITS == 0 && !words::any_byte_below(x, 0x20) {
            continue;
        }
        if !chunk.iter().all(|&b| allowed_byte(b)) {
            return false;
        }
        ascii &= x & HIGH_BITS == 0;
    }
    let rest = chunks.remainder();
    if !rest.iter().all(|&b| allowed_byte(b)) {
        return false;
    }
    (ascii && rest.is_ascii())
        || !bytes
            .windows(3)
            .any(|w| w[0] == 0xEF && w[1] == 0xBF && w[2] >= 0xBE)
}

fn allowed_byte(b: u8) -> bool {
    b >= 0x20 || b == b'\t' || b == b'\n' || b == b'\r'
}

fn push_len_prefixed(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// MD5OfMessageAttributes as AWS computes it: attributes sorted by name,
/// each as len+name, len+type, a transport byte (1 string, 2 binary) and
/// len+value.
pub fn md5_of_attributes(attrs: &Attributes) -> Option<String> {
    if attrs.is_empty() {
        return None;
    }
    let mut buf = Vec::new();
    for (name, v) in attrs {
        push_len_prefixed(&mut buf, name.as_bytes());
        push_len_prefixed(&mut buf, v.data_type.as_bytes());
        if let Some(s) = &v.string_value {
            buf.push(1);
            push_len_prefixed(&mut buf, s.as_bytes());
        } else if let Some(b) = &v.binary_value {
            buf.push(2);
            push_len_prefixed(&mut buf, &base64_decode(b).unwrap_or_default());
        }
    }
    Some(hex(&md5(&buf)))
}

/// Checks one message attribute; the error message when it is invalid.
pub fn check_attribute(name: &str, v: &AttributeValue) -> Result<(), String> {
    if name.is_empty()
        || name.len() > 256
        || name.starts_with('.')
        || name.ends_with('.')
        || name.contains("..")
        || name.to_ascii_lowercase().starts_with("aws.")
        || name.to_ascii_lowercase().starts_with("amazon.")
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
    {
        return Err(format!("The message attribute name '{name}' is invalid."));
    }
    let base = v.data_type.split('.').next().unwrap_or("");
    match base {
        "String" | "Number" => {
            if v.string_value.is_none() {
                return Err(format!(
                    "The message attribute '{name}' with type '{base}' must use field 'String'."
                ));
            }
            if base == "Number" {
                let s = v.string_value.as_deref().unwrap_or("");
                if s.parse::<f64>().is_err() {
                    return Err(format!(
                        "Can't cast the value of message (user) attribute '{name}' to a number."
                    ));
                }
            }
        }
        "Binary" => {
            if v.binary_value.is_none() {
                return Err(format!(
                    "The message attribute '{name}' with type 'Binary' must use field 'Binary'."
                ));
            }
        }
        _ => {
            return Err(format!(
                "The type of message (user) attribute '{name}' is invalid. You must use only the following supported type prefixes: Binary, Number, String."
            ));
        }
    }
    Ok(())
}

/// Bytes an attribute counts towards the message size.
pub fn attributes_size(attrs: &Attributes) -> usize {
    attrs
        .iter()
        .map(|(n, v)| {
            n.len()
                + v.data_type.len()
                + v.string_value.as_ref().map_or(0, |s| s.len())
                + v.binary_value
                    .as_ref()
                    .map_or(0, |b| base64_decode(b).map_or(0, |d| d.len()))
        })
        .sum()
}

/// Whether a message attribute name is selected by ReceiveMessage's
/// MessageAttributeNames (`All`, `.*`, exact names, `prefix.*`).
pub fn attribute_selected(name: &str, wanted: &[String]) -> bool {
    wanted.iter().any(|w| {
        w == "All"
            || w == ".*"
            || w == name
            || w.strip_suffix(".*")
                .is_some_and(|p| name.starts_with(&format!("{p}.")))
    })
}

/// A receipt handle names the message row and the receive that issued it.
pub fn receipt_handle(queue: &str, order: &str, token: &str) -> String {
    base64url_encode(format!("{queue}\n{order}\n{token}").as_bytes())
}

pub fn parse_receipt_handle(handle: &str) -> Option<(String, String, String)> {
    let raw = String::from_utf8(base64url_decode(handle)?).ok()?;
    let mut it = raw.splitn(3, '\n');
    Some((
        it.next()?.to_string(),
        it.next()?.to_string(),
        it.next()?.to_string(),
    ))
}

/// Parses an integer attribute within bounds.
pub fn int_in(value: &str, min: i64, max: i64) -> Option<i64> {
    value
        .parse::<i64>()
        .ok()
        .filter(|v| (min..=max).contains(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kept_answer_is_the_last_urls() {
        let a = "http://localhost:4566/000000000000/qa";
        let b = "http://localhost:4566/111111111111/qb";
        for _ in 0..2 {
            for (url, want) in [
                (a, Some((Some("000000000000".into()), "qa".into()))),
                (a, Some((Some("000000000000".into()), "qa".into()))),
                ("", None),
                (b, Some((Some("111111111111".into()), "qb".into()))),
                ("qb", Some((None, "qb".into()))),
                ("", None),
            ] {
                assert_eq!(parse_queue_url(url), want, "{url}");
                assert_eq!(parse_queue_url(url), parse_url(url), "{url}");
            }
        }
    }

    #[test]
    fn queue_urls_in_every_form() {
        assert_eq!(
            parse_queue_url("http://localhost:4566/000000000000/q1"),
            Some((Some("000000000000".into()), "q1".into()))
        );
        assert_eq!(
            parse_queue_url("https://sqs.us-east-1.amazonaws.com/123456789012/a.fifo"),
            Some((Some("123456789012".into()), "a.fifo".into()))
        );
        assert_eq!(
            parse_queue_url("http://localhost:4566/queue/us-east-1/000000000000/q"),
            Some((Some("000000000000".into()), "q".into()))
        );
        assert_eq!(parse_queue_url("q"), Some((None, "q".into())));
        assert_eq!(parse_queue_url("http://host/"), None);
        assert_eq!(parse_queue_url(""), None);
        assert_eq!(parse_queue_url("://"), None);
        // No scheme, a query or fragment, empty segments, a short account.
        assert_eq!(
            parse_queue_url("localhost:4566//000000000000//q2?x=/y#z"),
            Some((Some("000000000000".into()), "q2".into()))
        );
        assert_eq!(
            parse_queue_url("http://h/12345/q3"),
            Some((None, "q3".into()))
        );
        assert_eq!(
            parse_queue_url("http://h:1/x://y/q4").map(|q| q.1),
            Some("q4".into())
        );
        assert_eq!(parse_queue_url("/q5/"), Some((None, "q5".into())));
        assert_eq!(parse_queue_url("http://q6"), None);
    }

    #[test]
    fn names() {
        assert!(valid_queue_name("a-b_c"));
        assert!(valid_queue_name("x.fifo"));
        assert!(!valid_queue_name(".fifo"));
        assert!(!valid_queue_name("a.b"));
        assert!(!valid_queue_name(&"a".repeat(81)));
    }

    #[test]
    fn attribute_md5_matches_aws() {
        // Value from the AWS SDK test suites: one String attribute.
        let mut a = Attributes::new();
        a.insert(
            "foo".into(),
            AttributeValue {
                data_type: "String".into(),
                string_value: Some("bar".into()),
                ..Default::default()
            },
        );
        let mut buf = Vec::new();
        buf.extend_from_slice(&[0, 0, 0, 3]);
        buf.extend_from_slice(b"foo");
        buf.extend_from_slice(&[0, 0, 0, 6]);
        buf.extend_from_slice(b"String");
        buf.push(1);
        buf.extend_from_slice(&[0, 0, 0, 3]);
        buf.extend_from_slice(b"bar");
        assert_eq!(md5_of_attributes(&a), Some(hex(&md5(&buf))));
        assert_eq!(md5_of_attributes(&Attributes::new()), None);
    }

    #[test]
    fn selection_and_handles() {
        let w = vec!["foo.*".to_string(), "x".to_string()];
        assert!(attribute_selected("foo.bar", &w));
        assert!(attribute_selected("x", &w));
        assert!(!attribute_selected("foobar", &w));
        let h = receipt_handle("q", "0001", "tok");
        assert_eq!(
            parse_receipt_handle(&h),
            Some(("q".into(), "0001".into(), "tok".into()))
        );
        assert_eq!(parse_receipt_handle("!!"), None);
    }

    #[test]
    fn bodies() {
        assert!(valid_body("hello\n"));
        assert!(!valid_body("a\u{1}b"));
        // The byte check answers as the XML 1.0 character ranges do.
        let by_char = |body: &str| {
            body.chars().all(|c| {
                matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
            })
        };
        let mut samples: Vec<String> = [
            "",
            "plain",
            "tab\tcr\rlf\n",
            "\u{7f}",
            "\u{0}",
            "\u{1f}x",
            "é€😀",
            "\u{D7FF}\u{E000}",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for c in [
            '\u{FFFD}',
            '\u{FFFE}',
            '\u{FFFF}',
            '\u{EFBF}',
            '\u{FBF}',
            '\u{10000}',
            '\u{10FFFF}',
            '\u{B}',
            '\u{C}',
        ] {
            samples.push(format!("ab{c}cd"));
            samples.push(c.to_string());
        }
        // Each sample alone and at every offset in longer bodies, across
        // the eight-byte chunks.
        let mut bodies = samples.clone();
        for body in &samples {
            for pad in 0..9 {
                bodies.push(format!("{}{body}{}", "p".repeat(pad), "q".repeat(17 - pad)));
            }
        }
        bodies.push("a plain ASCII body, longer than one chunk".into());
        for body in &bodies {
            assert_eq!(valid_body(body), by_char(body), "{body:?}");
        }
        assert!(!valid_body("x\u{FFFE}"));
        assert!(!valid_body("\u{FFFF}"));
        assert!(valid_body("\u{FFFD}"));
    }
}
