//! Tags on SSM resources other than parameters (Document, MaintenanceWindow,
//! PatchBaseline, OpsItem, OpsMetadata, Association), kept in one table by
//! `ResourceType/ResourceId`. Parameters keep theirs on the parameter.

use ministack_sdk::prelude::*;

use crate::params::Tag;

const TAGS: Table<Vec<Tag>> = Table::new("resource-tags");

fn key(resource_type: &str, id: &str) -> String {
    format!("{resource_type}/{id}")
}

/// Whether the resource of that type exists (the caller's account and region).
fn exists(resource_type: &str, id: &str) -> Result<bool, AwsError> {
    Ok(match resource_type {
        "Document" => crate::documents::document_is_known(id)?,
        "MaintenanceWindow" => crate::windows::window_exists(id),
        "PatchBaseline" => crate::patch::baseline_exists(id),
        "OpsItem" => crate::documents::ops_item_exists(id),
        "OpsMetadata" => crate::ops::ops_metadata_exists(id),
        "Association" => crate::documents::association_exists(id),
        // No managed node registers and no automation runs locally.
        "ManagedInstance" | "Automation" => false,
        _ => {
            return Err(AwsError::new(
                "InvalidResourceType",
                format!("The resource type {resource_type} is not valid for tagging here."),
            ));
        }
    })
}

fn invalid_id() -> AwsError {
    AwsError::new(
        "InvalidResourceId",
        "The resource ID is not valid. Verify that you entered the correct ID and try again.",
    )
}

pub fn list(resource_type: &str, id: &str) -> Result<Vec<Tag>, AwsError> {
    if !exists(resource_type, id)? {
        return Err(invalid_id());
    }
    Ok(TAGS.get(&key(resource_type, id))?.unwrap_or_default())
}

/// Tags given when a resource is created (no existence check: it is new).
pub fn set(resource_type: &str, id: &str, tags: Vec<Tag>) -> Result<(), AwsError> {
    if tags.is_empty() {
        return Ok(());
    }
    TAGS.put(&key(resource_type, id), &tags)
}

/// Tags of a resource being shown (empty when none).
pub fn of(resource_type: &str, id: &str) -> Vec<Tag> {
    TAGS.get(&key(resource_type, id))
        .ok()
        .flatten()
        .unwrap_or_default()
}

pub fn forget(resource_type: &str, id: &str) {
    TAGS.delete(&key(resource_type, id));
}

pub fn add(resource_type: &str, id: &str, tags: Vec<Tag>) -> Result<(), AwsError> {
    let mut current = list(resource_type, id)?;
    for tag in tags {
        match current.iter_mut().find(|t| t.key == tag.key) {
            Some(t) => t.value = tag.value,
            None => current.push(tag),
        }
    }
    if current.len() > 50 {
        return Err(AwsError::new(
            "TooManyTagsError",
            "The Targets parameter includes too many tags. Remove one or more tags and try the command again.",
        ));
    }
    TAGS.put(&key(resource_type, id), &current)
}

pub fn remove(resource_type: &str, id: &str, keys: &[String]) -> Result<(), AwsError> {
    let mut current = list(resource_type, id)?;
    current.retain(|t| !keys.contains(&t.key));
    TAGS.put(&key(resource_type, id), &current)
}

/// Tags from a request's `Tags` member.
pub fn from_input(v: &serde_json::Value) -> Vec<Tag> {
    serde_json::from_value(v["Tags"].clone()).unwrap_or_default()
}
