//! Account policies and data protection policies (stored and described;
//! masking is not applied), and GetLogRecord (the record an Insights
//! `@ptr` points at).

use std::collections::BTreeMap;

use ministack_sdk::prelude::*;
use ministack_sdk::{encoding, time};

use crate::events::CHUNKS;
use crate::groups::{GROUPS, load_group, name_from_identifier};
use crate::shapes::*;
use crate::{invalid, not_found};

/// Key: policy type, policy name.
const ACCOUNT_POLICIES: Table<AccountPolicy> = Table::new("account-policies");
/// Key: log group name.
const DATA_PROTECTION: Table<PutDataProtectionPolicyOutput> = Table::new("data-protection");

fn check_json(doc: &str) -> Result<(), AwsError> {
    serde_json::from_str::<serde_json::Value>(doc)
        .map(|_| ())
        .map_err(|e| invalid(format!("The policy document is not valid JSON: {e}")))
}

pub fn put_account_policy(
    ctx: &Context,
    input: PutAccountPolicyInput,
) -> Result<PutAccountPolicyOutput, AwsError> {
    check_json(&input.policy_document)?;
    let policy = AccountPolicy {
        policy_name: Some(input.policy_name.clone()),
        policy_document: Some(input.policy_document),
        last_updated_time: Some(time::now_millis() as i64),
        policy_type: Some(input.policy_type.clone()),
        scope: Some(input.scope.unwrap_or(crate::shapes::Scope::All)),
        selection_criteria: input.selection_criteria,
        account_id: Some(ctx.account.clone()),
    };
    ACCOUNT_POLICIES.put(
        &keys::join(&[input.policy_type.as_str(), &input.policy_name]),
        &policy,
    )?;
    Ok(PutAccountPolicyOutput {
        account_policy: Some(policy),
    })
}

/// The account's policies of one type.
pub(crate) fn account_policies(policy_type: &str) -> Result<Vec<AccountPolicy>, AwsError> {
    ACCOUNT_POLICIES.values(&keys::prefix(&[policy_type]))
}

pub fn describe_account_policies(
    _: &Context,
    input: DescribeAccountPoliciesInput,
) -> Result<DescribeAccountPoliciesOutput, AwsError> {
    let prefix = match &input.policy_name {
        Some(n) => keys::join(&[input.policy_type.as_str(), n]),
        None => keys::prefix(&[input.policy_type.as_str()]),
    };
    Ok(DescribeAccountPoliciesOutput {
        account_policies: Some(ACCOUNT_POLICIES.values(&prefix)?),
        next_token: None,
    })
}

pub fn delete_account_policy(
    _: &Context,
    input: DeleteAccountPolicyInput,
) -> Result<Empty, AwsError> {
    if !ACCOUNT_POLICIES.delete(&keys::join(&[
        input.policy_type.as_str(),
        &input.policy_name,
    ])) {
        return Err(not_found("Policy with given name and type does not exist."));
    }
    Ok(Empty {})
}

pub fn put_data_protection_policy(
    _: &Context,
    input: PutDataProtectionPolicyInput,
) -> Result<PutDataProtectionPolicyOutput, AwsError> {
    check_json(&input.policy_document)?;
    let name = name_from_identifier(&input.log_group_identifier);
    let mut g = load_group(&name)?;
    g.info.data_protection_status = Some(DataProtectionStatus::Activated);
    GROUPS.put(&name, &g)?;
    let out = PutDataProtectionPolicyOutput {
        log_group_identifier: Some(input.log_group_identifier),
        policy_document: Some(input.policy_document),
        last_updated_time: Some(time::now_millis() as i64),
    };
    DATA_PROTECTION.put(&name, &out)?;
    Ok(out)
}

pub fn get_data_protection_policy(
    _: &Context,
    input: GetDataProtectionPolicyInput,
) -> Result<GetDataProtectionPolicyOutput, AwsError> {
    let name = name_from_identifier(&input.log_group_identifier);
    load_group(&name)?;
    let p = DATA_PROTECTION.get(&name)?.unwrap_or_default();
    Ok(GetDataProtectionPolicyOutput {
        log_group_identifier: Some(input.log_group_identifier),
        policy_document: p.policy_document,
        last_updated_time: p.last_updated_time,
    })
}

pub fn delete_data_protection_policy(
    _: &Context,
    input: DeleteDataProtectionPolicyInput,
) -> Result<Empty, AwsError> {
    let name = name_from_identifier(&input.log_group_identifier);
    let mut g = load_group(&name)?;
    if !DATA_PROTECTION.delete(&name) {
        return Err(not_found("No data protection policy for the log group."));
    }
    g.info.data_protection_status = Some(DataProtectionStatus::Deleted);
    GROUPS.put(&name, &g)?;
    Ok(Empty {})
}

pub fn get_log_record(
    ctx: &Context,
    input: GetLogRecordInput,
) -> Result<GetLogRecordOutput, AwsError> {
    let bad = || invalid("The log record pointer is not valid.");
    let text = encoding::base64_decode(&input.log_record_pointer)
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(bad)?;
    let parts: Vec<&str> = text.split('\n').collect();
    let [group, stream, seq, idx] = parts.as_slice() else {
        return Err(bad());
    };
    let seq: u64 = seq.parse().map_err(|_| bad())?;
    let idx: usize = idx.parse().map_err(|_| bad())?;
    let chunk = CHUNKS
        .get(&keys::join(&[group, stream, &keys::u64(seq)]))?
        .ok_or_else(|| not_found("The log record does not exist."))?;
    let (ts, msg) = chunk.ev.get(idx).ok_or_else(bad)?;
    let mut record = BTreeMap::new();
    record.insert("@timestamp".to_string(), ts.to_string());
    record.insert("@message".to_string(), msg.clone());
    record.insert("@logStream".to_string(), stream.to_string());
    record.insert("@log".to_string(), format!("{}:{group}", ctx.account));
    record.insert("@ingestionTime".to_string(), chunk.ing.to_string());
    let mut fields = BTreeMap::new();
    crate::insights::discover_fields(msg, &mut fields);
    for (k, v) in fields {
        record.insert(k, v.text());
    }
    Ok(GetLogRecordOutput {
        log_record: Some(record),
    })
}
