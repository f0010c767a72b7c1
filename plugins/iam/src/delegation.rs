//! Delegation requests: a partner account asks an owner account for
//! temporary access. CreateDelegationRequest (partner) → UNASSIGNED;
//! AssociateDelegationRequest (an identity of the owner account) → ASSIGNED;
//! AcceptDelegationRequest → ACCEPTED (the approver is recorded);
//! SendDelegationToken → FINALIZED; RejectDelegationRequest before that →
//! REJECTED. Requests cross accounts, so they live in one global table.

use ministack_sdk::prelude::*;
use ministack_sdk::{ids, time};
use serde_json::{Value, json};

use crate::common::*;

const REQUESTS: Table<DelegationRequest> = Table::global("delegation-requests");

/// Requests not finalized expire after a week.
const EXPIRY_SECS: f64 = 7.0 * 86400.0;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DelegationRequest {
    pub id: String,
    pub requestor: String,
    #[serde(default)]
    pub owner_account: Option<String>,
    #[serde(default)]
    pub owner_id: Option<String>,
    #[serde(default)]
    pub approver_id: Option<String>,
    pub description: String,
    #[serde(default)]
    pub message: Option<String>,
    pub permissions: Value,
    pub state: String,
    pub session_duration: i64,
    #[serde(default)]
    pub redirect_url: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    pub rejection_reason: Option<String>,
    pub only_send_by_owner: bool,
    pub created: f64,
    pub updated: f64,
}

impl DelegationRequest {
    fn state_now(&self) -> &str {
        let open = matches!(
            self.state.as_str(),
            "UNASSIGNED" | "ASSIGNED" | "PENDING_APPROVAL"
        );
        if open && time::now() > self.created + EXPIRY_SECS {
            "EXPIRED"
        } else {
            &self.state
        }
    }

    fn shape(&self) -> Value {
        let mut v = json!({
            "DelegationRequestId": self.id, "Description": self.description,
            "Permissions": self.permissions, "State": self.state_now(),
            "ExpirationTime": self.created + EXPIRY_SECS, "RequestorId": self.requestor,
            "CreateDate": self.created, "SessionDuration": self.session_duration,
            "OnlySendByOwner": self.only_send_by_owner, "UpdatedTime": self.updated,
        });
        let optional = [
            ("OwnerAccountId", &self.owner_account),
            ("OwnerId", &self.owner_id),
            ("ApproverId", &self.approver_id),
            ("RequestMessage", &self.message),
            ("RedirectUrl", &self.redirect_url),
            ("Notes", &self.notes),
            ("RejectionReason", &self.rejection_reason),
        ];
        for (member, value) in optional {
            if let Some(x) = value {
                v[member] = json!(x);
            }
        }
        v
    }

    /// The requestor and the owner account see a request.
    fn visible_to(&self, account: &str) -> bool {
        self.requestor == account || self.owner_account.as_deref() == Some(account)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateRequest {
    #[serde(default)]
    owner_account_id: Option<String>,
    description: String,
    permissions: Value,
    #[serde(default)]
    request_message: Option<String>,
    requestor_workflow_id: String,
    #[serde(default)]
    redirect_url: Option<String>,
    notification_channel: String,
    session_duration: i64,
    #[serde(default)]
    only_send_by_owner: Option<bool>,
}

pub fn create_delegation_request(ctx: &Context, input: CreateRequest) -> Result<Value, AwsError> {
    let mut v = ministack_sdk::validate::Validator::new();
    v.range("sessionDuration", input.session_duration, 900, 43200);
    v.length("requestorWorkflowId", &input.requestor_workflow_id, 1, 400);
    v.length("notificationChannel", &input.notification_channel, 1, 1011);
    v.finish(AwsError::validation_error)?;
    if let Some(o) = &input.owner_account_id
        && !ids::is_account_id(o)
    {
        return Err(invalid_input(format!("Invalid owner account id {o}.")));
    }
    let now = time::now();
    let request = DelegationRequest {
        id: format!("dr-{}", ids::hex(24)),
        requestor: ctx.account.clone(),
        owner_account: input.owner_account_id,
        owner_id: None,
        approver_id: None,
        description: input.description,
        message: input.request_message,
        permissions: input.permissions,
        state: "UNASSIGNED".into(),
        session_duration: input.session_duration,
        redirect_url: input.redirect_url,
        notes: None,
        rejection_reason: None,
        only_send_by_owner: input.only_send_by_owner.unwrap_or(false),
        created: now,
        updated: now,
    };
    REQUESTS.put(&request.id, &request)?;
    Ok(json!({
        "DelegationRequestId": request.id,
        "ConsoleDeepLink": format!("https://console.aws.amazon.com/iam/home#/delegation-requests/{}", request.id),
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IdRequest {
    delegation_request_id: String,
    #[serde(default)]
    notes: Option<String>,
    #[serde(default)]
    delegation_permission_check: Option<bool>,
}

fn load(ctx: &Context, id: &str) -> Result<DelegationRequest, AwsError> {
    REQUESTS
        .get(id)?
        .filter(|r| r.visible_to(&ctx.account) || r.owner_account.is_none())
        .ok_or_else(|| no_such_entity(format!("Delegation request {id} cannot be found.")))
}

fn caller_arn(ctx: &Context) -> String {
    if ctx.caller_arn.is_empty() {
        format!("arn:{}:iam::{}:root", ctx.partition(), ctx.account)
    } else {
        ctx.caller_arn.clone()
    }
}

/// Moves a request of the owner account from one of `from` to `to`.
fn transition(
    ctx: &Context,
    id: &str,
    from: &[&str],
    to: &str,
    change: impl FnOnce(&mut DelegationRequest),
) -> Result<Empty, AwsError> {
    let mut r = load(ctx, id)?;
    if r.owner_account.as_deref() != Some(ctx.account.as_str()) {
        return Err(no_such_entity(format!(
            "Delegation request {id} cannot be found."
        )));
    }
    let state = r.state_now().to_string();
    if !from.contains(&state.as_str()) {
        return Err(invalid_input(format!(
            "Delegation request {id} is in state {state} and cannot move to {to}."
        )));
    }
    r.state = to.to_string();
    r.updated = time::now();
    change(&mut r);
    REQUESTS.put(&r.id.clone(), &r)?;
    Ok(Empty {})
}

pub fn associate_delegation_request(ctx: &Context, input: IdRequest) -> Result<Empty, AwsError> {
    let mut r = load(ctx, &input.delegation_request_id)?;
    if r.owner_account.as_deref().is_some_and(|o| o != ctx.account) {
        return Err(no_such_entity(format!(
            "Delegation request {} cannot be found.",
            r.id
        )));
    }
    if r.state_now() != "UNASSIGNED" {
        return Err(invalid_input(format!(
            "Delegation request {} is already associated.",
            r.id
        )));
    }
    r.owner_account = Some(ctx.account.clone());
    r.owner_id = Some(caller_arn(ctx));
    r.state = "ASSIGNED".into();
    r.updated = time::now();
    REQUESTS.put(&r.id.clone(), &r)?;
    Ok(Empty {})
}

pub fn accept_delegation_request(ctx: &Context, input: IdRequest) -> Result<Empty, AwsError> {
    let approver = caller_arn(ctx);
    transition(
        ctx,
        &input.delegation_request_id,
        &["ASSIGNED", "PENDING_APPROVAL"],
        "ACCEPTED",
        |r| r.approver_id = Some(approver),
    )
}

pub fn reject_delegation_request(ctx: &Context, input: IdRequest) -> Result<Empty, AwsError> {
    transition(
        ctx,
        &input.delegation_request_id,
        &["ASSIGNED", "PENDING_APPROVAL", "ACCEPTED"],
        "REJECTED",
        |r| r.rejection_reason = input.notes,
    )
}

pub fn send_delegation_token(ctx: &Context, input: IdRequest) -> Result<Empty, AwsError> {
    transition(
        ctx,
        &input.delegation_request_id,
        &["ACCEPTED"],
        "FINALIZED",
        |_| {},
    )
}

pub fn update_delegation_request(ctx: &Context, input: IdRequest) -> Result<Empty, AwsError> {
    let mut r = load(ctx, &input.delegation_request_id)?;
    if matches!(r.state_now(), "FINALIZED" | "REJECTED" | "EXPIRED") {
        return Err(invalid_input(format!(
            "Delegation request {} can no longer be updated.",
            r.id
        )));
    }
    r.notes = input.notes;
    r.updated = time::now();
    REQUESTS.put(&r.id.clone(), &r)?;
    Ok(Empty {})
}

pub fn get_delegation_request(ctx: &Context, input: IdRequest) -> Result<Value, AwsError> {
    let r = load(ctx, &input.delegation_request_id)?;
    let mut out = json!({"DelegationRequest": r.shape()});
    if input.delegation_permission_check == Some(true) {
        // The gateway does not enforce permissions, so it cannot tell.
        out["PermissionCheckStatus"] = json!("COMPLETE");
        out["PermissionCheckResult"] = json!("UNSURE");
    }
    Ok(out)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListRequest {
    #[serde(default)]
    owner_id: Option<String>,
    #[serde(default)]
    marker: Option<String>,
    #[serde(default)]
    max_items: Option<i64>,
}

pub fn list_delegation_requests(ctx: &Context, input: ListRequest) -> Result<Value, AwsError> {
    let items = REQUESTS
        .scan(&Scan::all())?
        .into_iter()
        .filter(|(_, r)| r.visible_to(&ctx.account))
        .filter(|(_, r)| {
            input
                .owner_id
                .as_deref()
                .is_none_or(|o| r.owner_id.as_deref() == Some(o))
        })
        .map(|(k, r)| (k, r.shape()))
        .collect();
    let listing = page(items, input.marker.as_deref(), input.max_items)?;
    let mut out = json!({"DelegationRequests": listing.items, "isTruncated": listing.is_truncated});
    if let Some(m) = listing.marker {
        out["Marker"] = json!(m);
    }
    Ok(out)
}
