//! Settings DynamoDB stores and reports without further effect here:
//! resource policies, point-in-time recovery, contributor insights.

use ministack_sdk::prelude::*;
use serde_json::{Value, json};

use crate::db::{self, Meta, TABLES, str_field, validation};
use crate::tables::name_of;

fn by_arn(arn: &str) -> Result<(String, Meta), AwsError> {
    let name = name_of(arn);
    let meta = TABLES
        .get(&name)?
        .filter(|m| str_field(&m.desc, "TableArn") == Some(arn))
        .ok_or_else(|| {
            AwsError::resource_not_found(format!(
                "Requested resource not found: ResourceArn: {arn} not found"
            ))
        })?;
    Ok((name, meta))
}

pub fn put_resource_policy(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let arn = str_field(&input, "ResourceArn").unwrap_or("");
    let (name, mut meta) = by_arn(arn)?;
    let policy = str_field(&input, "Policy").unwrap_or("");
    if serde_json::from_str::<Value>(policy)
        .map(|p| !p.is_object())
        .unwrap_or(true)
    {
        return Err(validation(
            "Invalid policy document: the policy is not valid JSON",
        ));
    }
    let current = meta
        .extra
        .get("policy")
        .and_then(|p| str_field(p, "RevisionId"))
        .map(String::from);
    if let Some(expected) = str_field(&input, "ExpectedRevisionId")
        && current.as_deref() != Some(expected)
    {
        return Err(AwsError::new(
            "PolicyNotFoundException",
            format!(
                "Resource-based policy not found for the provided ResourceArn: Requested update for policy revision id {expected}, but the policy associated to target table {name} has revision id {}.",
                current.unwrap_or_default()
            ),
        ));
    }
    // The same document again is no new revision.
    if let Some(rev) = &current
        && meta.extra["policy"]["Policy"].as_str() == Some(policy)
    {
        return Ok(json!({ "RevisionId": rev }));
    }
    let revision = ministack_sdk::time::now_millis().to_string();
    meta.extra.insert(
        "policy".into(),
        json!({"Policy": policy, "RevisionId": revision}),
    );
    TABLES.put(&name, &meta)?;
    Ok(json!({ "RevisionId": revision }))
}

fn no_policy(arn: &str) -> AwsError {
    AwsError::new(
        "PolicyNotFoundException",
        format!("Resource-based policy not found for the provided ResourceArn: {arn}"),
    )
}

pub fn get_resource_policy(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let arn = str_field(&input, "ResourceArn").unwrap_or("");
    let (_, meta) = by_arn(arn)?;
    meta.extra
        .get("policy")
        .cloned()
        .ok_or_else(|| no_policy(arn))
}

pub fn delete_resource_policy(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let arn = str_field(&input, "ResourceArn").unwrap_or("");
    let (name, mut meta) = by_arn(arn)?;
    // The answer names the revision that was deleted.
    let removed = meta.extra.remove("policy").ok_or_else(|| no_policy(arn))?;
    TABLES.put(&name, &meta)?;
    Ok(json!({ "RevisionId": removed["RevisionId"] }))
}

fn pitr_description(meta: &Meta) -> Value {
    let pitr = meta.extra.get("pitr");
    let mut d = json!({"PointInTimeRecoveryStatus": "DISABLED"});
    if let Some(p) = pitr
        && p["Enabled"].as_bool() == Some(true)
    {
        let now = ministack_sdk::time::now();
        d = json!({
            "PointInTimeRecoveryStatus": "ENABLED",
            "RecoveryPeriodInDays": p["RecoveryPeriodInDays"],
            "EarliestRestorableDateTime": p["Since"],
            "LatestRestorableDateTime": now - 300.0,
        });
    }
    json!({ "ContinuousBackupsDescription": {"ContinuousBackupsStatus": "ENABLED", "PointInTimeRecoveryDescription": d} })
}

pub fn describe_continuous_backups(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let meta = db::load(&name_of(str_field(&input, "TableName").unwrap_or(""))).map_err(|_| {
        AwsError::new(
            "TableNotFoundException",
            format!(
                "Table not found: {}",
                str_field(&input, "TableName").unwrap_or("")
            ),
        )
    })?;
    Ok(pitr_description(&meta))
}

pub fn update_continuous_backups(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let name = name_of(str_field(&input, "TableName").unwrap_or(""));
    let mut meta = db::load(&name)
        .map_err(|_| AwsError::new("TableNotFoundException", format!("Table not found: {name}")))?;
    let spec = &input["PointInTimeRecoverySpecification"];
    let enabled = spec["PointInTimeRecoveryEnabled"]
        .as_bool()
        .unwrap_or(false);
    let days = spec
        .get("RecoveryPeriodInDays")
        .and_then(|v| v.as_u64())
        .unwrap_or(35);
    if !(1..=35).contains(&days) {
        return Err(validation("RecoveryPeriodInDays must be between 1 and 35"));
    }
    meta.extra.insert(
        "pitr".into(),
        json!({"Enabled": enabled, "RecoveryPeriodInDays": days, "Since": ministack_sdk::time::now()}),
    );
    TABLES.put(&name, &meta)?;
    Ok(pitr_description(&meta))
}

fn insights_of(meta: &Meta, index: &str) -> &'static str {
    match meta
        .extra
        .get("insights")
        .and_then(|m| m.get(index))
        .and_then(|v| v.as_str())
    {
        Some("ENABLED") => "ENABLED",
        _ => "DISABLED",
    }
}

pub fn update_contributor_insights(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let name = name_of(str_field(&input, "TableName").unwrap_or(""));
    let mut meta = db::load(&name)?;
    let index = str_field(&input, "IndexName").unwrap_or("").to_string();
    if !index.is_empty() {
        crate::db::Tbl::from_meta(meta.clone())
            .index(&index)
            .map_err(|_| db::not_found())?;
    }
    let status = match str_field(&input, "ContributorInsightsAction") {
        Some("ENABLE") => "ENABLED",
        Some("DISABLE") => "DISABLED",
        _ => {
            return Err(validation(
                "ContributorInsightsAction must be ENABLE or DISABLE",
            ));
        }
    };
    let entry = meta.extra.entry("insights").or_insert_with(|| json!({}));
    entry[&index] = json!(status);
    TABLES.put(&name, &meta)?;
    let mut out = json!({"TableName": name, "ContributorInsightsStatus": status});
    if !index.is_empty() {
        out["IndexName"] = json!(index);
    }
    Ok(out)
}

pub fn describe_contributor_insights(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let name = name_of(str_field(&input, "TableName").unwrap_or(""));
    let meta = db::load(&name)?;
    let index = str_field(&input, "IndexName").unwrap_or("");
    let status = insights_of(&meta, index);
    let mut out = json!({"TableName": name, "ContributorInsightsStatus": status, "ContributorInsightsRuleList": []});
    if status == "ENABLED" {
        out["ContributorInsightsRuleList"] = json!([
            format!("DynamoDBContributorInsights-PKC-{name}"),
            format!("DynamoDBContributorInsights-PKT-{name}")
        ]);
    }
    if !index.is_empty() {
        out["IndexName"] = json!(index);
    }
    Ok(out)
}

pub fn list_contributor_insights(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let only = str_field(&input, "TableName").map(name_of);
    let mut out = Vec::new();
    for (name, meta) in TABLES.scan(&Scan::all())? {
        if only.as_ref().is_some_and(|o| o != &name) {
            continue;
        }
        for (index, status) in meta
            .extra
            .get("insights")
            .and_then(|m| m.as_object())
            .into_iter()
            .flatten()
        {
            let mut s = json!({"TableName": name, "ContributorInsightsStatus": status});
            if !index.is_empty() {
                s["IndexName"] = json!(index);
            }
            out.push(s);
        }
    }
    Ok(json!({ "ContributorInsightsSummaries": out }))
}

fn destinations(meta: &Meta) -> Vec<Value> {
    meta.extra
        .get("kinesis")
        .and_then(|v| v.as_array())
        .cloned()
        .unwrap_or_default()
}

fn set_destination(input: &Value, status: &str, answer: &str) -> Result<Value, AwsError> {
    let name = name_of(str_field(input, "TableName").unwrap_or(""));
    let mut meta = db::load(&name)?;
    let stream = str_field(input, "StreamArn").unwrap_or("").to_string();
    if !stream.starts_with("arn:") || !stream.contains(":kinesis:") {
        return Err(validation(format!("Invalid StreamArn: {stream}")));
    }
    let mut list = destinations(&meta);
    let precision = input["EnableKinesisStreamingConfiguration"]["ApproximateCreationDateTimePrecision"]
        .as_str()
        .or(input["UpdateKinesisStreamingConfiguration"]["ApproximateCreationDateTimePrecision"].as_str())
        .map(String::from);
    let existing = list
        .iter_mut()
        .find(|d| str_field(d, "StreamArn") == Some(&stream));
    match existing {
        Some(d) => {
            if status == "ACTIVE" && str_field(d, "DestinationStatus") == Some("ACTIVE") && answer == "ENABLING" {
                return Err(validation("Table is already streaming to the destination"));
            }
            d["DestinationStatus"] = json!(status);
            if let Some(p) = &precision {
                d["ApproximateCreationDateTimePrecision"] = json!(p);
            }
        }
        None if status == "ACTIVE" => list.push(json!({
            "StreamArn": stream, "DestinationStatus": status,
            "ApproximateCreationDateTimePrecision": precision.clone().unwrap_or_else(|| "MILLISECOND".into()),
        })),
        None => return Err(validation(format!("No streaming destination with StreamArn: {stream} found for table {name}"))),
    }
    meta.extra.insert("kinesis".into(), Value::Array(list));
    TABLES.put(&name, &meta)?;
    let mut out = json!({"TableName": name, "StreamArn": stream, "DestinationStatus": answer});
    for k in [
        "EnableKinesisStreamingConfiguration",
        "UpdateKinesisStreamingConfiguration",
    ] {
        if let Some(v) = input.get(k) {
            out[k] = v.clone();
        }
    }
    Ok(out)
}

pub fn enable_kinesis_streaming_destination(
    _ctx: &Context,
    input: Value,
) -> Result<Value, AwsError> {
    set_destination(&input, "ACTIVE", "ENABLING")
}

pub fn disable_kinesis_streaming_destination(
    _ctx: &Context,
    input: Value,
) -> Result<Value, AwsError> {
    set_destination(&input, "DISABLED", "DISABLING")
}

pub fn update_kinesis_streaming_destination(
    _ctx: &Context,
    input: Value,
) -> Result<Value, AwsError> {
    set_destination(&input, "ACTIVE", "UPDATING")
}

pub fn describe_kinesis_streaming_destination(
    _ctx: &Context,
    input: Value,
) -> Result<Value, AwsError> {
    let name = name_of(str_field(&input, "TableName").unwrap_or(""));
    let meta = db::load(&name)?;
    Ok(json!({ "TableName": name, "KinesisDataStreamDestinations": destinations(&meta) }))
}
