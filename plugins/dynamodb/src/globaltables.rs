//! Global tables metadata. Version 2019.11.21: UpdateTable's ReplicaUpdates
//! keep the table's `Replicas` (DescribeTable). Version 2017.11.29:
//! CreateGlobalTable, DescribeGlobalTable, ListGlobalTables,
//! UpdateGlobalTable, DescribeGlobalTableSettings, UpdateGlobalTableSettings
//! keep a global table per account. Only metadata: MiniStack replicates no
//! data between regions.

use ministack_sdk::prelude::*;
use serde_json::{Map, Value, json};

use crate::db::{TABLES, str_field, validation};

/// Global table name → `{"Description": GlobalTableDescription, "Settings": {region: settings}}`.
pub const GLOBAL_TABLES: Table<Value> = Table::account("global-tables");

// ---------- version 2019.11.21: UpdateTable ReplicaUpdates ----------

/// Applies UpdateTable's ReplicaUpdates to a table description.
pub fn apply_replica_updates(
    ctx: &Context,
    d: &mut Value,
    updates: &[Value],
) -> Result<(), AwsError> {
    let name = str_field(d, "TableName").unwrap_or("").to_string();
    let account = ctx.account.clone();
    let mut replicas: Vec<Value> = d["Replicas"].as_array().cloned().unwrap_or_default();
    for u in updates {
        if let Some(c) = u.get("Create") {
            let region = str_field(c, "RegionName").unwrap_or("").to_string();
            if region.is_empty() {
                return Err(validation("Replica RegionName must be specified"));
            }
            if region == ctx.region
                || replicas
                    .iter()
                    .any(|r| str_field(r, "RegionName") == Some(&region))
            {
                return Err(validation(format!(
                    "Failed to create a the new replica of table with name: '{name}' because one or more replicas already existed as tables."
                )));
            }
            let mut r = json!({
                "RegionName": region,
                "ReplicaStatus": "ACTIVE",
                "ReplicaArn": format!("arn:{}:dynamodb:{region}:{account}:table/{name}", ctx.partition()),
            });
            for (from, to) in [
                ("KMSMasterKeyId", "KMSMasterKeyId"),
                (
                    "ProvisionedThroughputOverride",
                    "ProvisionedThroughputOverride",
                ),
                ("OnDemandThroughputOverride", "OnDemandThroughputOverride"),
                ("GlobalSecondaryIndexes", "GlobalSecondaryIndexes"),
            ] {
                if let Some(v) = c.get(from) {
                    r[to] = v.clone();
                }
            }
            if let Some(tc) = str_field(c, "TableClassOverride") {
                r["ReplicaTableClassSummary"] = json!({"TableClass": tc});
            }
            replicas.push(r);
        } else if let Some(up) = u.get("Update") {
            let region = str_field(up, "RegionName").unwrap_or("");
            let r = replicas
                .iter_mut()
                .find(|r| str_field(r, "RegionName") == Some(region))
                .ok_or_else(|| replica_missing(&name, region))?;
            for k in [
                "KMSMasterKeyId",
                "ProvisionedThroughputOverride",
                "OnDemandThroughputOverride",
                "GlobalSecondaryIndexes",
            ] {
                if let Some(v) = up.get(k) {
                    r[k] = v.clone();
                }
            }
            if let Some(tc) = str_field(up, "TableClassOverride") {
                r["ReplicaTableClassSummary"] = json!({"TableClass": tc});
            }
        } else if let Some(del) = u.get("Delete") {
            let region = str_field(del, "RegionName").unwrap_or("");
            let before = replicas.len();
            replicas.retain(|r| str_field(r, "RegionName") != Some(region));
            if replicas.len() == before {
                return Err(replica_missing(&name, region));
            }
        }
    }
    if let Some(o) = d.as_object_mut() {
        if replicas.is_empty() {
            o.remove("Replicas");
        } else {
            o.insert("Replicas".into(), Value::Array(replicas));
            o.insert("GlobalTableVersion".into(), json!("2019.11.21"));
        }
    }
    Ok(())
}

fn replica_missing(name: &str, region: &str) -> AwsError {
    validation(format!(
        "Replica specified in the Replica Update or Replica Delete action of the request was not found: table {name} has no replica in region {region}"
    ))
}

// ---------- version 2017.11.29 ----------

fn global_not_found(name: &str) -> AwsError {
    AwsError::new(
        "GlobalTableNotFoundException",
        format!("Global table not found: Global table with name: '{name}' does not exist."),
    )
}

fn load(name: &str) -> Result<Value, AwsError> {
    GLOBAL_TABLES
        .get(name)?
        .ok_or_else(|| global_not_found(name))
}

fn regions(list: &Value) -> Result<Vec<String>, AwsError> {
    let mut out: Vec<String> = Vec::new();
    for r in list.as_array().into_iter().flatten() {
        let region = str_field(r, "RegionName").unwrap_or("").to_string();
        if region.is_empty() {
            return Err(validation("RegionName must be specified"));
        }
        if out.contains(&region) {
            return Err(validation(format!(
                "One or more parameter values were invalid: Duplicate region in the replication group: {region}"
            )));
        }
        out.push(region);
    }
    Ok(out)
}

fn replica(region: &str) -> Value {
    json!({"RegionName": region, "ReplicaStatus": "ACTIVE"})
}

/// The settings a new replica starts with: the local table's, if any.
fn default_settings(name: &str) -> Result<Value, AwsError> {
    let mut s = json!({
        "ReplicaBillingModeSummary": {"BillingMode": "PAY_PER_REQUEST"},
        "ReplicaProvisionedReadCapacityUnits": 0,
        "ReplicaProvisionedWriteCapacityUnits": 0,
    });
    if let Some(meta) = TABLES.get(name)? {
        let d = &meta.desc;
        let mode = str_field(&d["BillingModeSummary"], "BillingMode").unwrap_or("PROVISIONED");
        s["ReplicaBillingModeSummary"] = json!({"BillingMode": mode});
        s["ReplicaProvisionedReadCapacityUnits"] =
            d["ProvisionedThroughput"]["ReadCapacityUnits"].clone();
        s["ReplicaProvisionedWriteCapacityUnits"] =
            d["ProvisionedThroughput"]["WriteCapacityUnits"].clone();
    }
    Ok(s)
}

pub fn create_global_table(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let name = str_field(&input, "GlobalTableName")
        .unwrap_or("")
        .to_string();
    if GLOBAL_TABLES.contains(&name) {
        return Err(AwsError::new(
            "GlobalTableAlreadyExistsException",
            format!("Global table already exists: {name}"),
        ));
    }
    let group = regions(&input["ReplicationGroup"])?;
    if group.contains(&ctx.region) && !TABLES.contains(&name) {
        return Err(AwsError::new(
            "TableNotFoundException",
            format!("Table not found: {name} in region {}", ctx.region),
        ));
    }
    let mut settings = Map::new();
    for r in &group {
        settings.insert(r.clone(), default_settings(&name)?);
    }
    let desc = json!({
        "ReplicationGroup": group.iter().map(|r| replica(r)).collect::<Vec<_>>(),
        "GlobalTableArn": format!("arn:{}:dynamodb::{}:global-table/{name}", ctx.partition(), ctx.account),
        "CreationDateTime": ministack_sdk::time::now(),
        "GlobalTableStatus": "ACTIVE",
        "GlobalTableName": name,
    });
    GLOBAL_TABLES.put(&name, &json!({"Description": desc, "Settings": settings}))?;
    Ok(json!({ "GlobalTableDescription": desc }))
}

pub fn describe_global_table(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let g = load(str_field(&input, "GlobalTableName").unwrap_or(""))?;
    Ok(json!({ "GlobalTableDescription": g["Description"] }))
}

pub fn list_global_tables(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let limit = input["Limit"].as_u64().unwrap_or(100);
    if limit < 1 {
        return Err(validation(
            "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1",
        ));
    }
    let region = str_field(&input, "RegionName");
    let mut scan = Scan::all();
    if let Some(start) = str_field(&input, "ExclusiveStartGlobalTableName") {
        scan = scan.start_after(start);
    }
    let mut out = Vec::new();
    let mut last = None;
    for (name, g) in GLOBAL_TABLES.scan(&scan)? {
        let group: Vec<Value> = g["Description"]["ReplicationGroup"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| json!({"RegionName": r["RegionName"]}))
            .collect();
        if region.is_some_and(|want| !group.iter().any(|r| r["RegionName"] == want)) {
            continue;
        }
        if out.len() as u64 == limit {
            last = out
                .last()
                .and_then(|v: &Value| v["GlobalTableName"].as_str().map(String::from));
            break;
        }
        out.push(json!({"GlobalTableName": name, "ReplicationGroup": group}));
    }
    let mut res = json!({ "GlobalTables": out });
    if let Some(l) = last {
        res["LastEvaluatedGlobalTableName"] = json!(l);
    }
    Ok(res)
}

pub fn update_global_table(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let name = str_field(&input, "GlobalTableName")
        .unwrap_or("")
        .to_string();
    let mut g = load(&name)?;
    for u in input["ReplicaUpdates"].as_array().into_iter().flatten() {
        let group = g["Description"]["ReplicationGroup"]
            .as_array_mut()
            .expect("replication group");
        if let Some(c) = u.get("Create") {
            let region = str_field(c, "RegionName").unwrap_or("").to_string();
            if group
                .iter()
                .any(|r| str_field(r, "RegionName") == Some(&region))
            {
                return Err(AwsError::new(
                    "ReplicaAlreadyExistsException",
                    format!("Replica already exists: {region}"),
                ));
            }
            group.push(replica(&region));
            let s = default_settings(&name)?;
            g["Settings"][&region] = s;
        } else if let Some(d) = u.get("Delete") {
            let region = str_field(d, "RegionName").unwrap_or("").to_string();
            let before = group.len();
            group.retain(|r| str_field(r, "RegionName") != Some(&region));
            if group.len() == before {
                return Err(AwsError::new(
                    "ReplicaNotFoundException",
                    format!("Replica not found: {region}"),
                ));
            }
            if let Some(s) = g["Settings"].as_object_mut() {
                s.remove(&region);
            }
        }
    }
    GLOBAL_TABLES.put(&name, &g)?;
    Ok(json!({ "GlobalTableDescription": g["Description"] }))
}

fn settings_out(name: &str, g: &Value) -> Value {
    let list: Vec<Value> = g["Description"]["ReplicationGroup"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            let region = str_field(r, "RegionName").unwrap_or("");
            let mut s = g["Settings"][region].clone();
            if !s.is_object() {
                s = json!({});
            }
            s["RegionName"] = json!(region);
            s["ReplicaStatus"] = json!("ACTIVE");
            s
        })
        .collect();
    json!({"GlobalTableName": name, "ReplicaSettings": list})
}

pub fn describe_global_table_settings(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let name = str_field(&input, "GlobalTableName")
        .unwrap_or("")
        .to_string();
    let g = load(&name)?;
    Ok(settings_out(&name, &g))
}

pub fn update_global_table_settings(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let name = str_field(&input, "GlobalTableName")
        .unwrap_or("")
        .to_string();
    let mut g = load(&name)?;
    let regions: Vec<String> = g["Settings"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    for u in input["ReplicaSettingsUpdate"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let region = str_field(u, "RegionName").unwrap_or("");
        if !regions.iter().any(|r| r == region) {
            return Err(AwsError::new(
                "ReplicaNotFoundException",
                format!("Replica not found: {region}"),
            ));
        }
    }
    for region in &regions {
        let s = &mut g["Settings"][region];
        if let Some(mode) = str_field(&input, "GlobalTableBillingMode") {
            s["ReplicaBillingModeSummary"] = json!({"BillingMode": mode});
            if mode == "PAY_PER_REQUEST" {
                s["ReplicaProvisionedReadCapacityUnits"] = json!(0);
                s["ReplicaProvisionedWriteCapacityUnits"] = json!(0);
            }
        }
        if let Some(w) = input.get("GlobalTableProvisionedWriteCapacityUnits") {
            s["ReplicaProvisionedWriteCapacityUnits"] = w.clone();
        }
    }
    for u in input["ReplicaSettingsUpdate"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let region = str_field(u, "RegionName").unwrap_or("").to_string();
        let s = &mut g["Settings"][&region];
        if let Some(r) = u.get("ReplicaProvisionedReadCapacityUnits") {
            s["ReplicaProvisionedReadCapacityUnits"] = r.clone();
        }
        if let Some(tc) = str_field(u, "ReplicaTableClass") {
            s["ReplicaTableClassSummary"] = json!({"TableClass": tc});
        }
    }
    GLOBAL_TABLES.put(&name, &g)?;
    Ok(settings_out(&name, &g))
}

// ---------- replica auto scaling (settings stored) ----------

/// An AutoScalingSettingsUpdate as the AutoScalingSettingsDescription it sets.
fn scaling_description(old: &Value, update: &Value) -> Value {
    let mut d = if old.is_object() {
        old.clone()
    } else {
        json!({"AutoScalingDisabled": false})
    };
    for k in [
        "MinimumUnits",
        "MaximumUnits",
        "AutoScalingDisabled",
        "AutoScalingRoleArn",
    ] {
        if let Some(v) = update.get(k) {
            d[k] = v.clone();
        }
    }
    if let Some(p) = update.get("ScalingPolicyUpdate") {
        d["ScalingPolicies"] = json!([{
            "PolicyName": p.get("PolicyName").cloned().unwrap_or_else(|| json!("DynamoDBScalingPolicy")),
            "TargetTrackingScalingPolicyConfiguration": p["TargetTrackingScalingPolicyConfiguration"],
        }]);
    }
    d
}

fn auto_scaling_description(ctx: &Context, meta: &crate::db::Meta) -> Value {
    let d = &meta.desc;
    let a = meta.extra.get("autoscaling").cloned().unwrap_or(json!({}));
    let off = json!({"AutoScalingDisabled": true});
    let or_off = |v: &Value| {
        if v.is_object() {
            v.clone()
        } else {
            off.clone()
        }
    };
    let mut regions = vec![ctx.region.clone()];
    regions.extend(
        d["Replicas"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| str_field(r, "RegionName").map(String::from)),
    );
    let replicas: Vec<Value> = regions
        .iter()
        .map(|region| {
            let ra = &a["Replicas"][region];
            let gsis: Vec<Value> = d["GlobalSecondaryIndexes"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|ix| str_field(ix, "IndexName"))
                .map(|n| {
                    json!({
                        "IndexName": n,
                        "IndexStatus": "ACTIVE",
                        "ProvisionedReadCapacityAutoScalingSettings": or_off(&ra["Indexes"][n]),
                        "ProvisionedWriteCapacityAutoScalingSettings": or_off(&a["Indexes"][n]),
                    })
                })
                .collect();
            json!({
                "RegionName": region,
                "ReplicaStatus": "ACTIVE",
                "GlobalSecondaryIndexes": gsis,
                "ReplicaProvisionedReadCapacityAutoScalingSettings": or_off(&ra["Read"]),
                "ReplicaProvisionedWriteCapacityAutoScalingSettings": or_off(&a["Write"]),
            })
        })
        .collect();
    json!({ "TableAutoScalingDescription": {
        "TableName": d["TableName"],
        "TableStatus": d["TableStatus"],
        "Replicas": replicas,
    }})
}

pub fn describe_table_replica_auto_scaling(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let meta = crate::db::load(&crate::tables::name_of(
        str_field(&input, "TableName").unwrap_or(""),
    ))?;
    Ok(auto_scaling_description(ctx, &meta))
}

pub fn update_table_replica_auto_scaling(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let name = crate::tables::name_of(str_field(&input, "TableName").unwrap_or(""));
    let mut meta = crate::db::load(&name)?;
    let mut a = meta.extra.get("autoscaling").cloned().unwrap_or(json!({}));
    let known_region = |r: &str| {
        r == ctx.region
            || meta.desc["Replicas"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|x| str_field(x, "RegionName") == Some(r))
    };
    let known_index = |n: &str| {
        meta.desc["GlobalSecondaryIndexes"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|x| str_field(x, "IndexName") == Some(n))
    };
    if let Some(u) = input.get("ProvisionedWriteCapacityAutoScalingUpdate") {
        a["Write"] = scaling_description(&a["Write"], u);
    }
    for g in input["GlobalSecondaryIndexUpdates"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let n = str_field(g, "IndexName").unwrap_or("");
        if !known_index(n) {
            return Err(AwsError::resource_not_found(format!(
                "Requested resource not found: Index: {n} not found"
            )));
        }
        if let Some(u) = g.get("ProvisionedWriteCapacityAutoScalingUpdate") {
            a["Indexes"][n] = scaling_description(&a["Indexes"][n], u);
        }
    }
    for r in input["ReplicaUpdates"].as_array().into_iter().flatten() {
        let region = str_field(r, "RegionName").unwrap_or("").to_string();
        if !known_region(&region) {
            return Err(replica_missing(&name, &region));
        }
        if let Some(u) = r.get("ReplicaProvisionedReadCapacityAutoScalingUpdate") {
            a["Replicas"][&region]["Read"] =
                scaling_description(&a["Replicas"][&region]["Read"], u);
        }
        for g in r["ReplicaGlobalSecondaryIndexUpdates"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let n = str_field(g, "IndexName").unwrap_or("");
            if !known_index(n) {
                return Err(AwsError::resource_not_found(format!(
                    "Requested resource not found: Index: {n} not found"
                )));
            }
            if let Some(u) = g.get("ProvisionedReadCapacityAutoScalingUpdate") {
                a["Replicas"][&region]["Indexes"][n] =
                    scaling_description(&a["Replicas"][&region]["Indexes"][n], u);
            }
        }
    }
    meta.extra.insert("autoscaling".into(), a);
    TABLES.put(&name, &meta)?;
    Ok(auto_scaling_description(ctx, &meta))
}
