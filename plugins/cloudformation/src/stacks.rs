//! Stored records: stacks, their resources and events, change sets, exports.

use std::collections::BTreeMap;

use ministack_sdk::prelude::*;
use ministack_sdk::resources::ProgressEvent;
use serde_json::{Map, Value, json};

/// Stacks by stack id (ARN).
pub const STACKS: Table<Stack> = Table::new("stacks");
/// Live (not deleted) stack name → stack id.
pub const NAMES: Table<String> = Table::new("names");
/// `<stack id>/<seq>` → event.
pub const EVENTS: Table<Event> = Table::new("events");
/// Change set id → change set.
pub const CHANGE_SETS: Table<ChangeSet> = Table::new("change-sets");
/// Export name → export.
pub const EXPORTS: Table<Export> = Table::new("exports");

/// One resource of a stack.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Resource {
    pub logical_id: String,
    pub type_name: String,
    pub physical_id: String,
    pub status: String,
    pub reason: Option<String>,
    pub timestamp: f64,
    /// Properties as evaluated when last written.
    pub properties: Map<String, Value>,
    pub attributes: Map<String, Value>,
}

/// A deployment in flight (what the durable task works on).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Operation {
    /// CREATE, UPDATE or DELETE.
    pub kind: String,
    pub template_body: String,
    pub template: Value,
    pub parameters: BTreeMap<String, String>,
    /// Resources this operation created (rollback deletes them).
    pub created: Vec<String>,
    /// State before this operation of the resources it updated or replaced.
    pub previous: BTreeMap<String, Resource>,
    /// Old physical resources to delete once the update succeeded.
    pub cleanup: Vec<Resource>,
    pub change_set_id: Option<String>,
    /// Set once the operation failed and rolls back.
    pub failure: Option<String>,
    /// Part of every handler's client token: a resumed operation repeats
    /// its requests with the same tokens (and so the same generated names).
    #[serde(default)]
    pub nonce: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct OutputRecord {
    pub key: String,
    pub value: String,
    pub description: Option<String>,
    pub export_name: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Stack {
    pub stack_id: String,
    pub stack_name: String,
    pub status: String,
    pub status_reason: Option<String>,
    pub description: Option<String>,
    pub creation_time: f64,
    pub last_updated_time: Option<f64>,
    pub deletion_time: Option<f64>,
    pub template_body: String,
    pub template: Value,
    pub parameters: BTreeMap<String, String>,
    pub tags: Vec<(String, String)>,
    pub capabilities: Vec<String>,
    pub notification_arns: Vec<String>,
    pub disable_rollback: bool,
    pub termination_protection: bool,
    pub outputs: Vec<OutputRecord>,
    pub resources: BTreeMap<String, Resource>,
    pub operation: Option<Operation>,
    pub change_set_id: Option<String>,
    pub stack_policy: Option<String>,
    pub event_seq: u64,
    /// Export names this stack imports.
    pub imports: Vec<String>,
    /// A nested stack's parent and root stack ids.
    #[serde(default)]
    pub parent_id: Option<String>,
    /// The deploy task run that owns the stack's operation: a run that
    /// finds another's id here was superseded (resumed after a restart).
    #[serde(default)]
    pub runner: String,
    #[serde(default)]
    pub root_id: Option<String>,
    /// CreateStack's `TimeoutInMinutes`: the create fails (and rolls back)
    /// when its resources are not done this long after the stack's creation.
    #[serde(default)]
    pub timeout_in_minutes: Option<i32>,
    /// CreateStack's `OnFailure=DELETE`: a failed create rolls back, then
    /// the stack is deleted.
    #[serde(default)]
    pub delete_on_failure: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Event {
    pub event_id: String,
    pub stack_id: String,
    pub stack_name: String,
    pub logical_id: String,
    pub physical_id: String,
    pub type_name: String,
    pub timestamp: f64,
    pub status: String,
    pub reason: Option<String>,
    pub properties: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ChangeSet {
    pub id: String,
    pub name: String,
    pub stack_id: String,
    pub stack_name: String,
    pub change_set_type: String,
    pub description: Option<String>,
    pub template_body: String,
    pub parameters: BTreeMap<String, String>,
    pub capabilities: Vec<String>,
    pub tags: Vec<(String, String)>,
    pub changes: Vec<Value>,
    pub status: String,
    pub status_reason: Option<String>,
    pub execution_status: String,
    pub creation_time: f64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Export {
    pub name: String,
    pub value: String,
    pub stack_id: String,
}

impl Stack {
    /// Writes an event (newest is listed first).
    pub fn event(
        &mut self,
        logical: &str,
        physical: &str,
        type_name: &str,
        status: &str,
        reason: Option<&str>,
    ) {
        self.event_seq += 1;
        let event = Event {
            event_id: ministack_sdk::ids::uuid(),
            stack_id: self.stack_id.clone(),
            stack_name: self.stack_name.clone(),
            logical_id: logical.to_string(),
            physical_id: physical.to_string(),
            type_name: type_name.to_string(),
            timestamp: ministack_sdk::time::now(),
            status: status.to_string(),
            reason: reason.map(str::to_string),
            properties: None,
        };
        let key = keys::join(&[&self.stack_id, &keys::u64_desc(self.event_seq)]);
        let _ = EVENTS.put(&key, &event);
    }

    /// An event about the stack itself.
    pub fn stack_event(&mut self, status: &str, reason: Option<&str>) {
        let (id, name) = (self.stack_id.clone(), self.stack_name.clone());
        self.status = status.to_string();
        self.status_reason = reason.map(str::to_string);
        self.event(&name, &id, "AWS::CloudFormation::Stack", status, reason);
    }

    /// Sets a resource's status and writes its event.
    pub fn resource_status(&mut self, logical: &str, status: &str, reason: Option<&str>) {
        let Some(r) = self.resources.get_mut(logical) else {
            return;
        };
        r.status = status.to_string();
        r.reason = reason.map(str::to_string);
        r.timestamp = ministack_sdk::time::now();
        let (physical, type_name) = (r.physical_id.clone(), r.type_name.clone());
        self.event(logical, &physical, &type_name, status, reason);
    }

    pub fn save(&self) -> Result<(), AwsError> {
        // Read in the same unit as the write: a run that another took over
        // stops here (or its unit conflicts with the other's claim).
        if let Some(stored) = STACKS.get(&self.stack_id)?
            && stored.runner != self.runner
        {
            return Err(AwsError::internal(format!(
                "the deployment of {} was taken over by another run",
                self.stack_id
            )));
        }
        STACKS.put(&self.stack_id, self)
    }

    pub fn in_progress(&self) -> bool {
        self.status.ends_with("_IN_PROGRESS") && self.status != "REVIEW_IN_PROGRESS"
    }

    pub fn deleted(&self) -> bool {
        self.status == "DELETE_COMPLETE"
    }

    /// The `Stack` shape of DescribeStacks.
    pub fn describe(&self) -> Value {
        let mut s = json!({
            "StackId": self.stack_id,
            "StackName": self.stack_name,
            "CreationTime": self.creation_time,
            "StackStatus": self.status,
            "DisableRollback": self.disable_rollback,
            "EnableTerminationProtection": self.termination_protection,
            "NotificationARNs": self.notification_arns,
            "Capabilities": self.capabilities,
            "Tags": self.tags.iter().map(|(k, v)| json!({"Key": k, "Value": v})).collect::<Vec<_>>(),
            "DriftInformation": {"StackDriftStatus": "NOT_CHECKED"},
        });
        if let Some(m) = self.timeout_in_minutes {
            s["TimeoutInMinutes"] = json!(m);
        }
        let noecho = crate::template::section(&self.template, "Parameters");
        let params: Vec<Value> = self
            .parameters
            .iter()
            .map(|(k, v)| {
                let hidden = noecho
                    .get(k)
                    .and_then(|d| d.get("NoEcho"))
                    .is_some_and(|n| crate::template::text(n) == "true");
                json!({"ParameterKey": k, "ParameterValue": if hidden { "****" } else { v }})
            })
            .collect();
        if !params.is_empty() {
            s["Parameters"] = json!(params);
        }
        if let Some(d) = &self.description {
            s["Description"] = json!(d);
        }
        if let Some(r) = &self.status_reason {
            s["StackStatusReason"] = json!(r);
        }
        if let Some(t) = self.last_updated_time {
            s["LastUpdatedTime"] = json!(t);
        }
        if let Some(t) = self.deletion_time {
            s["DeletionTime"] = json!(t);
        }
        if let Some(c) = &self.change_set_id {
            s["ChangeSetId"] = json!(c);
        }
        if let Some(p) = &self.parent_id {
            s["ParentId"] = json!(p);
        }
        if let Some(r) = &self.root_id {
            s["RootId"] = json!(r);
        }
        if !self.outputs.is_empty() {
            s["Outputs"] = json!(
                self.outputs
                    .iter()
                    .map(|o| {
                        let mut v = json!({"OutputKey": o.key, "OutputValue": o.value});
                        if let Some(d) = &o.description {
                            v["Description"] = json!(d);
                        }
                        if let Some(e) = &o.export_name {
                            v["ExportName"] = json!(e);
                        }
                        v
                    })
                    .collect::<Vec<_>>()
            );
        }
        s
    }

    pub fn summary(&self) -> Value {
        let mut s = json!({
            "StackId": self.stack_id,
            "StackName": self.stack_name,
            "CreationTime": self.creation_time,
            "StackStatus": self.status,
            "DriftInformation": {"StackDriftStatus": "NOT_CHECKED"},
        });
        if let Some(d) = &self.description {
            s["TemplateDescription"] = json!(d);
        }
        if let Some(r) = &self.status_reason {
            s["StackStatusReason"] = json!(r);
        }
        if let Some(t) = self.last_updated_time {
            s["LastUpdatedTime"] = json!(t);
        }
        if let Some(t) = self.deletion_time {
            s["DeletionTime"] = json!(t);
        }
        s
    }

    pub fn resource_json(&self, r: &Resource) -> Value {
        let mut v = json!({
            "StackName": self.stack_name,
            "StackId": self.stack_id,
            "LogicalResourceId": r.logical_id,
            "ResourceType": r.type_name,
            "Timestamp": r.timestamp,
            "LastUpdatedTimestamp": r.timestamp,
            "ResourceStatus": r.status,
            "DriftInformation": {"StackResourceDriftStatus": "NOT_CHECKED"},
        });
        if !r.physical_id.is_empty() {
            v["PhysicalResourceId"] = json!(r.physical_id);
        }
        if let Some(reason) = &r.reason {
            v["ResourceStatusReason"] = json!(reason);
        }
        v
    }
}

impl Event {
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "StackId": self.stack_id,
            "EventId": self.event_id,
            "StackName": self.stack_name,
            "LogicalResourceId": self.logical_id,
            "ResourceType": self.type_name,
            "Timestamp": self.timestamp,
            "ResourceStatus": self.status,
        });
        if !self.physical_id.is_empty() {
            v["PhysicalResourceId"] = json!(self.physical_id);
        }
        if let Some(r) = &self.reason {
            v["ResourceStatusReason"] = json!(r);
        }
        v
    }
}

/// The stack a StackName member names: a live stack by name, or any stack by id.
pub fn find(name_or_id: &str) -> Result<Option<Stack>, AwsError> {
    if name_or_id.starts_with("arn:") {
        return STACKS.get(name_or_id);
    }
    match NAMES.get(name_or_id)? {
        Some(id) => STACKS.get(&id),
        None => Ok(None),
    }
}

/// Like [`find`], AWS's error when there is none.
pub fn require(name_or_id: &str) -> Result<Stack, AwsError> {
    find(name_or_id)?.ok_or_else(|| missing(name_or_id))
}

pub fn missing(name: &str) -> AwsError {
    AwsError::validation_error(format!("Stack with id {name} does not exist"))
}

/// A handler's answer as the resource's new state.
pub fn apply(r: &mut Resource, event: &ProgressEvent) {
    if !event.physical_id.is_empty() {
        r.physical_id = event.physical_id.clone();
    }
    r.attributes = event.attributes.clone();
}
