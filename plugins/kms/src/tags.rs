//! Tags: TagResource, UntagResource, ListResourceTags.

use std::collections::BTreeMap;

use ministack_sdk::prelude::*;
use serde_json::{Value, json};

use crate::keys::{self, KEYS, Tag};

fn tag_error(message: String) -> AwsError {
    AwsError::new("TagException", message)
}

/// Validates tags and returns them as a map (the last value of a key wins).
pub fn check_tags(tags: &[Tag]) -> Result<BTreeMap<String, String>, AwsError> {
    let mut out = BTreeMap::new();
    for t in tags {
        if t.tag_key.is_empty() || t.tag_key.chars().count() > 128 {
            return Err(tag_error(format!(
                "Tag key length must be 1 to 128: {}",
                t.tag_key
            )));
        }
        if t.tag_value.chars().count() > 256 {
            return Err(tag_error(format!(
                "Tag value length must be at most 256: {}",
                t.tag_key
            )));
        }
        if t.tag_key.starts_with("aws:") {
            return Err(tag_error(format!(
                "Tags beginning with aws: are reserved: {}",
                t.tag_key
            )));
        }
        out.insert(t.tag_key.clone(), t.tag_value.clone());
    }
    Ok(out)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagResourceRequest {
    key_id: String,
    tags: Vec<Tag>,
}

pub fn tag_resource(ctx: &Context, input: TagResourceRequest) -> Result<Empty, AwsError> {
    let mut key = keys::find(ctx, &input.key_id)?;
    key.not_pending_deletion()?;
    let tags = check_tags(&input.tags)?;
    key.tags.extend(tags);
    if key.tags.len() > 50 {
        return Err(AwsError::new(
            "LimitExceededException",
            "A key can have at most 50 tags.",
        ));
    }
    KEYS.put(&key.key_id, &key)?;
    Ok(Empty {})
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UntagResourceRequest {
    key_id: String,
    tag_keys: Vec<String>,
}

pub fn untag_resource(ctx: &Context, input: UntagResourceRequest) -> Result<Empty, AwsError> {
    let mut key = keys::find(ctx, &input.key_id)?;
    key.not_pending_deletion()?;
    for k in &input.tag_keys {
        key.tags.remove(k);
    }
    KEYS.put(&key.key_id, &key)?;
    Ok(Empty {})
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListResourceTagsRequest {
    key_id: String,
    #[serde(flatten)]
    list: keys::ListRequest,
}

pub fn list_resource_tags(
    ctx: &Context,
    input: ListResourceTagsRequest,
) -> Result<Value, AwsError> {
    let limit = keys::limit(input.list.limit)? as usize;
    let key = keys::find(ctx, &input.key_id)?;
    let all: Vec<(&String, &String)> = key.tags.iter().collect();
    let start = crate::index_marker(input.list.marker.as_deref())?;
    let end = (start + limit).min(all.len());
    let items: Vec<Value> = all[start.min(all.len())..end]
        .iter()
        .map(|(k, v)| json!({"TagKey": k, "TagValue": v}))
        .collect();
    let next = (end < all.len()).then(|| crate::index_token(end));
    Ok(keys::paged("Tags", items, next))
}
