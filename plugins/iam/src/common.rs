//! What every IAM operation shares: names and paths, errors, tags, listing
//! pages (Marker / MaxItems / IsTruncated) and policy documents.

use ministack_sdk::pagination;
use ministack_sdk::prelude::*;
use ministack_sdk::validate::Validator;
use serde_json::{Value, json};

use crate::eval::{self, PolicyKind};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// Record keys: IAM names are unique without regard to case.
pub fn key(name: &str) -> String {
    name.to_lowercase()
}

pub fn arn(ctx: &Context, kind: &str, path: &str, name: &str) -> String {
    format!(
        "arn:{}:iam::{}:{kind}{path}{name}",
        ctx.partition(),
        ctx.account
    )
}

pub fn no_such_entity(message: impl Into<String>) -> AwsError {
    AwsError::new("NoSuchEntity", message)
}

pub fn already_exists(message: impl Into<String>) -> AwsError {
    AwsError::new("EntityAlreadyExists", message)
}

pub fn delete_conflict(message: impl Into<String>) -> AwsError {
    AwsError::new("DeleteConflict", message)
}

pub fn limit_exceeded(message: impl Into<String>) -> AwsError {
    AwsError::new("LimitExceeded", message)
}

pub fn malformed(message: impl Into<String>) -> AwsError {
    AwsError::new("MalformedPolicyDocument", message)
}

pub fn invalid_input(message: impl Into<String>) -> AwsError {
    AwsError::new("InvalidInput", message)
}

/// Name members: `[\w+=,.@-]+` of at most `max` characters.
pub fn check_name(v: &mut Validator, member: &str, name: &str, max: usize) {
    v.length(member, name, 1, max);
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))
    {
        v.fail(
            member,
            name,
            "Member must satisfy regular expression pattern: [\\w+=,.@-]+",
        );
    }
}

/// A path: `/` or `/a/b/`, at most 512 characters.
pub fn check_path(v: &mut Validator, member: &str, path: &str) {
    v.length(member, path, 1, 512);
    if !(path.starts_with('/') && path.ends_with('/'))
        || path.chars().any(|c| !('!'..='~').contains(&c))
    {
        v.fail(
            member,
            path,
            "Member must satisfy regular expression pattern: (\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)",
        );
    }
}

pub fn check_tags(v: &mut Validator, tags: &[Tag]) {
    v.count("tags", tags.len(), 0, 50);
    for (i, t) in tags.iter().enumerate() {
        v.length(&format!("tags.{}.member.key", i + 1), &t.key, 1, 128);
        v.length(&format!("tags.{}.member.value", i + 1), &t.value, 0, 256);
    }
}

/// Adds or replaces tags (keys compared without case); at most 50.
pub fn merge_tags(current: &mut Vec<Tag>, new: Vec<Tag>) -> Result<(), AwsError> {
    for tag in new {
        match current
            .iter_mut()
            .find(|t| t.key.eq_ignore_ascii_case(&tag.key))
        {
            Some(t) => t.value = tag.value,
            None => current.push(tag),
        }
    }
    if current.len() > 50 {
        return Err(limit_exceeded(
            "The number of tags has reached the maximum limit.",
        ));
    }
    Ok(())
}

pub fn remove_tags(current: &mut Vec<Tag>, keys: &[String]) {
    current.retain(|t| !keys.iter().any(|k| k.eq_ignore_ascii_case(&t.key)));
}

pub fn no_duplicate_tag_keys(tags: &[Tag]) -> Result<(), AwsError> {
    for (i, t) in tags.iter().enumerate() {
        if tags[..i].iter().any(|o| o.key.eq_ignore_ascii_case(&t.key)) {
            return Err(invalid_input(
                "Duplicate tag keys found. Please note that Tag keys are case insensitive.",
            ));
        }
    }
    Ok(())
}

/// One page of a listing: `items` sorted by key; the Marker is the last key
/// of the previous page.
pub struct Listing<T> {
    pub items: Vec<T>,
    pub is_truncated: bool,
    pub marker: Option<String>,
}

pub fn page<T>(
    mut items: Vec<(String, T)>,
    marker: Option<&str>,
    max_items: Option<i64>,
) -> Result<Listing<T>, AwsError> {
    let max = max_items.unwrap_or(100);
    if !(1..=1000).contains(&max) {
        return Err(AwsError::validation_error(format!(
            "1 validation error detected: Value '{max}' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 1000"
        )));
    }
    items.sort_by(|a, b| a.0.cmp(&b.0));
    if let Some(m) = marker.filter(|m| !m.is_empty()) {
        let after =
            pagination::decode(m).ok_or_else(|| AwsError::validation_error("Invalid Marker."))?;
        items.retain(|(k, _)| k.as_str() > after.as_str());
    }
    let is_truncated = items.len() > max as usize;
    items.truncate(max as usize);
    let marker = if is_truncated {
        items.last().map(|(k, _)| pagination::encode(k))
    } else {
        None
    };
    Ok(Listing {
        items: items.into_iter().map(|(_, v)| v).collect(),
        is_truncated,
        marker,
    })
}

impl<T: Serialize> Listing<T> {
    /// `{<member>: [...], IsTruncated, Marker?}`.
    pub fn into_json(self, member: &str) -> Value {
        let mut out = json!({ member: self.items, "IsTruncated": self.is_truncated });
        if let Some(m) = self.marker {
            out["Marker"] = json!(m);
        }
        out
    }
}

pub fn path_matches(path: &str, prefix: Option<&str>) -> bool {
    prefix.is_none_or(|p| path.starts_with(p))
}

/// Policy documents leave IAM URL-encoded (RFC 3986), as AWS sends them.
pub fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Checks a policy document (size and grammar).
pub fn check_policy(document: &str, kind: PolicyKind) -> Result<(), AwsError> {
    if document.trim().is_empty() {
        return Err(malformed("Syntax errors in policy."));
    }
    let limit = match kind {
        PolicyKind::Trust => 2048,
        _ => 6144,
    };
    let size = document.chars().filter(|c| !c.is_whitespace()).count();
    if size > limit {
        return Err(limit_exceeded(format!(
            "Cannot exceed quota for PolicySize: {limit}"
        )));
    }
    eval::parse(document, kind).map(|_| ()).map_err(malformed)
}

pub fn permissions_boundary(arn: &Option<String>) -> Option<Value> {
    arn.as_ref().map(|a| {
        json!({"PermissionsBoundaryType": "PermissionsBoundaryPolicy", "PermissionsBoundaryArn": a})
    })
}

/// Inserts `value` under `member` when it is there.
pub fn put_opt(out: &mut Value, member: &str, value: Option<Value>) {
    if let Some(v) = value {
        out[member] = v;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_documents() {
        assert_eq!(url_encode("{\"a\": 1}"), "%7B%22a%22%3A%201%7D");
    }

    #[test]
    fn pages() {
        let items: Vec<(String, u32)> = (0..5).map(|i| (format!("k{i}"), i)).collect();
        let first = page(items.clone(), None, Some(2)).unwrap();
        assert_eq!(first.items, vec![0, 1]);
        assert!(first.is_truncated);
        let second = page(items.clone(), first.marker.as_deref(), Some(2)).unwrap();
        assert_eq!(second.items, vec![2, 3]);
        let last = page(items, second.marker.as_deref(), Some(2)).unwrap();
        assert_eq!(last.items, vec![4]);
        assert!(!last.is_truncated && last.marker.is_none());
    }

    #[test]
    fn names_and_paths() {
        let mut v = Validator::new();
        check_name(&mut v, "userName", "good.name@x", 64);
        check_path(&mut v, "path", "/a/b/");
        assert!(v.is_ok());
        check_path(&mut v, "path", "a/");
        check_name(&mut v, "userName", "bad name", 64);
        assert!(!v.is_ok());
    }
}
