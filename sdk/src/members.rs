//! Members of a decoded input, found by comparing names.
//!
//! serde_json's map keeps insertion order (`preserve_order`: an `IndexMap`)
//! and hashes every name it is asked for with SipHash. A decoded input holds
//! a few members while a handler asks after many names, most of them absent
//! (S3's PutObject asks after ~50): comparing the names one by one is
//! several times cheaper (docs/performance.md, "S3: input members found by
//! name"). Objects of more than [`SCAN_UP_TO`] members still use the hash.

use serde_json::{Map, Value};

/// Largest object searched by comparing names rather than by hash.
pub const SCAN_UP_TO: usize = 16;

/// Member lookups on a JSON object (`None` on anything else).
pub trait Members {
    /// The member `name`, as `Value::get` finds it.
    fn member(&self, name: &str) -> Option<&Value>;

    /// The member `name` when it is a string.
    #[inline]
    fn str_member(&self, name: &str) -> Option<&str> {
        self.member(name).and_then(Value::as_str)
    }
}

// `#[inline]` throughout: the code is then built in each calling crate, at
// its own opt-level (S3, SQS and EventBridge are built at 3, this crate at
// "s"); without it S3's PutObject ran 3.6 % more instructions than with its
// own copy of these few lines.
impl Members for Map<String, Value> {
    #[inline]
    fn member(&self, name: &str) -> Option<&Value> {
        if self.len() > SCAN_UP_TO {
            return self.get(name);
        }
        self.iter().find_map(|(k, v)| (k == name).then_some(v))
    }
}

impl Members for Value {
    #[inline]
    fn member(&self, name: &str) -> Option<&Value> {
        self.as_object()?.member(name)
    }
}

/// [`Members::str_member`] as a function (a plugin's `s(v, "Name")`).
#[inline]
pub fn str_member<'a>(v: &'a Value, name: &str) -> Option<&'a str> {
    v.str_member(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn members_are_found_as_get_finds_them() {
        let small = json!({"Bucket": "b", "Key": "k", "Nothing": null, "Size": 3});
        for name in ["Bucket", "Key", "Nothing", "Size", "Absent", ""] {
            assert_eq!(small.member(name), small.get(name), "{name}");
        }
        assert_eq!(small.str_member("Key"), Some("k"));
        assert_eq!(small.str_member("Size"), None, "not a string");
        assert_eq!(small.str_member("Nothing"), None);

        // Past SCAN_UP_TO the hash answers; the answers are the same.
        let mut big = Map::new();
        for i in 0..40 {
            big.insert(format!("m{i}"), json!(i));
        }
        let big = Value::Object(big);
        for name in ["m0", "m17", "m39", "m40", "x"] {
            assert_eq!(big.member(name), big.get(name), "{name}");
        }

        // Not an object: nothing, as `get` gives.
        for v in [json!([1, 2]), json!("s"), json!(null), json!(1)] {
            assert_eq!(v.member("a"), None);
        }
        assert_eq!(str_member(&small, "Bucket"), Some("b"));
    }
}
