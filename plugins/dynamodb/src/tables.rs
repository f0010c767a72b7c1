//! Control plane: CreateTable, DescribeTable, UpdateTable, DeleteTable,
//! ListTables, tags, TTL, DescribeLimits, DescribeEndpoints.

use ministack_sdk::prelude::*;
use serde_json::{Value, json};

use crate::db::{self, INDEXES, ITEMS, Meta, RawRange, TABLES, Tbl, str_field, validation};
use crate::streams;

fn table_name(input: &Value) -> Result<String, AwsError> {
    let name = str_field(input, "TableName").unwrap_or("");
    check_name(name, "tableName")?;
    Ok(name.to_string())
}

fn check_name(name: &str, member: &str) -> Result<(), AwsError> {
    if name.len() < 3
        || name.len() > 255
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
    {
        return Err(AwsError::validation(format!(
            "1 validation error detected: Value '{name}' at '{member}' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"
        )));
    }
    Ok(())
}

/// Table name from a name or an ARN (`arn:aws:dynamodb:r:a:table/NAME`).
pub fn name_of(arn_or_name: &str) -> String {
    match arn_or_name.split_once(":table/") {
        Some((_, rest)) => rest.split('/').next().unwrap_or("").to_string(),
        None => arn_or_name.to_string(),
    }
}

fn key_schema_check(ks: &Value, defs: &[String], what: &str) -> Result<(), AwsError> {
    let ks = ks.as_array().cloned().unwrap_or_default();
    if ks.is_empty() || ks.len() > 2 {
        return Err(validation(format!(
            "1 validation error detected: Value at '{what}' failed to satisfy constraint: Member must have length less than or equal to 2"
        )));
    }
    if str_field(&ks[0], "KeyType") != Some("HASH") {
        return Err(validation(
            "Invalid KeySchema: The first KeySchemaElement is not a HASH key type",
        ));
    }
    if ks.len() == 2 && str_field(&ks[1], "KeyType") != Some("RANGE") {
        return Err(validation(
            "Invalid KeySchema: The second KeySchemaElement is not a RANGE key type",
        ));
    }
    for k in &ks {
        let n = str_field(k, "AttributeName").unwrap_or("");
        if !defs.iter().any(|d| d == n) {
            return Err(validation(format!(
                "One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [{}], AttributeDefinitions: [{}]",
                ks.iter()
                    .filter_map(|k| str_field(k, "AttributeName"))
                    .collect::<Vec<_>>()
                    .join(", "),
                defs.join(", ")
            )));
        }
    }
    Ok(())
}

fn throughput(pt: &Value) -> Value {
    json!({
        "ReadCapacityUnits": pt.get("ReadCapacityUnits").and_then(|v| v.as_i64()).unwrap_or(0),
        "WriteCapacityUnits": pt.get("WriteCapacityUnits").and_then(|v| v.as_i64()).unwrap_or(0),
        "NumberOfDecreasesToday": 0
    })
}

fn index_desc(ix: &Value, table_arn: &str, billing: &str) -> Result<Value, AwsError> {
    let name = str_field(ix, "IndexName").unwrap_or("");
    check_name(name, "indexName")?;
    let projection = ix
        .get("Projection")
        .cloned()
        .unwrap_or_else(|| json!({"ProjectionType": "ALL"}));
    let mut d = json!({
        "IndexName": name,
        "KeySchema": ix["KeySchema"],
        "Projection": projection,
        "IndexSizeBytes": 0,
        "ItemCount": 0,
        "IndexArn": format!("{table_arn}/index/{name}"),
    });
    if billing == "PROVISIONED"
        && ix.get("ProvisionedThroughput").is_none()
        && ix.get("IndexStatus").is_none()
    {
        // LSIs share the table's throughput; GSIs need their own.
    }
    if let Some(pt) = ix.get("ProvisionedThroughput") {
        d["ProvisionedThroughput"] = throughput(pt);
    }
    Ok(d)
}

pub fn create_table(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let name = table_name(&input)?;
    if TABLES.contains(&name) {
        return Err(AwsError::already_exists(
            "ResourceInUseException",
            format!("Table already exists: {name}"),
        ));
    }
    let defs: Vec<String> = input["AttributeDefinitions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| str_field(d, "AttributeName").map(String::from))
        .collect();
    for d in input["AttributeDefinitions"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if !matches!(str_field(d, "AttributeType"), Some("S" | "N" | "B")) {
            return Err(validation(format!(
                "1 validation error detected: Value '{}' at 'attributeDefinitions.1.member.attributeType' failed to satisfy constraint: Member must satisfy enum value set: [B, N, S]",
                str_field(d, "AttributeType").unwrap_or("")
            )));
        }
    }
    key_schema_check(&input["KeySchema"], &defs, "keySchema")?;
    let billing = str_field(&input, "BillingMode")
        .unwrap_or("PROVISIONED")
        .to_string();
    let pt = input.get("ProvisionedThroughput");
    if billing == "PROVISIONED" && pt.is_none() {
        return Err(validation(
            "One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED",
        ));
    }
    if billing == "PAY_PER_REQUEST" && pt.is_some() {
        return Err(validation(
            "One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST",
        ));
    }
    let arn = ctx.arn("dynamodb", &format!("table/{name}")).to_string();
    let now = ministack_sdk::time::now();
    let mut used: Vec<String> = Vec::new();
    let mut collect = |ks: &Value| {
        for k in ks.as_array().into_iter().flatten() {
            if let Some(n) = str_field(k, "AttributeName")
                && !used.iter().any(|u| u == n)
            {
                used.push(n.to_string());
            }
        }
    };
    collect(&input["KeySchema"]);
    let mut desc = json!({
        "AttributeDefinitions": input["AttributeDefinitions"],
        "TableName": name,
        "KeySchema": input["KeySchema"],
        "TableStatus": "ACTIVE",
        "CreationDateTime": now,
        "ProvisionedThroughput": throughput(pt.unwrap_or(&Value::Null)),
        "TableSizeBytes": 0,
        "ItemCount": 0,
        "TableArn": arn,
        "TableId": ministack_sdk::ids::uuid(),
        "DeletionProtectionEnabled": input.get("DeletionProtectionEnabled").and_then(|v| v.as_bool()).unwrap_or(false),
    });
    if billing == "PAY_PER_REQUEST" {
        desc["BillingModeSummary"] =
            json!({"BillingMode": "PAY_PER_REQUEST", "LastUpdateToPayPerRequestDateTime": now});
    } else {
        desc["BillingModeSummary"] = json!({"BillingMode": "PROVISIONED"});
    }
    let table_has_range = input["KeySchema"]
        .as_array()
        .is_some_and(|ks| ks.iter().any(|k| k["KeyType"] == "RANGE"));
    if !table_has_range
        && input["LocalSecondaryIndexes"]
            .as_array()
            .is_some_and(|l| !l.is_empty())
    {
        return Err(validation(
            "One or more parameter values were invalid: Table KeySchema does not have a range key, which is required when specifying a LocalSecondaryIndex",
        ));
    }
    let mut names = std::collections::BTreeSet::new();
    for (field, global) in [
        ("GlobalSecondaryIndexes", true),
        ("LocalSecondaryIndexes", false),
    ] {
        let Some(list) = input.get(field).and_then(|v| v.as_array()) else {
            continue;
        };
        let mut out = Vec::new();
        for ix in list {
            key_schema_check(&ix["KeySchema"], &defs, "keySchema")?;
            collect(&ix["KeySchema"]);
            let n = str_field(ix, "IndexName").unwrap_or("").to_string();
            if !names.insert(n.clone()) {
                return Err(validation(format!(
                    "One or more parameter values were invalid: Duplicate index name: {n}"
                )));
            }
            if !global {
                let hash = ix["KeySchema"][0]["AttributeName"].clone();
                if hash != input["KeySchema"][0]["AttributeName"]
                    || ix["KeySchema"].as_array().map_or(0, |a| a.len()) != 2
                {
                    let why = if input["KeySchema"].as_array().map_or(0, |a| a.len()) < 2 {
                        "Table KeySchema does not have a range key, which is required when specifying a LocalSecondaryIndex"
                    } else {
                        "Index KeySchema does not have the same leading hash key as table KeySchema"
                    };
                    return Err(validation(format!(
                        "One or more parameter values were invalid: {why}"
                    )));
                }
            }
            if global && billing == "PROVISIONED" && ix.get("ProvisionedThroughput").is_none() {
                return Err(validation(format!(
                    "One or more parameter values were invalid: ProvisionedThroughput must be specified for index: {n}"
                )));
            }
            let mut d = index_desc(ix, &arn, &billing)?;
            if global {
                d["IndexStatus"] = json!("ACTIVE");
                if billing == "PAY_PER_REQUEST" {
                    d["ProvisionedThroughput"] = throughput(&Value::Null);
                }
            }
            out.push(d);
        }
        desc[field] = Value::Array(out);
    }
    if used.len() != defs.len() {
        return Err(validation(
            "One or more parameter values were invalid: Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions",
        ));
    }
    set_stream(&mut desc, input.get("StreamSpecification"), &arn)?;
    if streams::enabled_arn(&desc).is_some() {
        streams::open(&desc)?;
    }
    if let Some(sse) = input.get("SSESpecification")
        && sse.get("Enabled").and_then(|v| v.as_bool()) == Some(true)
    {
        desc["SSEDescription"] = json!({
            "Status": "ENABLED",
            "SSEType": str_field(sse, "SSEType").unwrap_or("KMS"),
            "KMSMasterKeyArn": str_field(sse, "KMSMasterKeyId").map(String::from).unwrap_or_else(|| ctx.arn("kms", "key/aws-dynamodb").to_string()),
        });
    }
    if let Some(tc) = str_field(&input, "TableClass") {
        desc["TableClassSummary"] = json!({"TableClass": tc});
    }
    if let Some(o) = input.get("OnDemandThroughput") {
        desc["OnDemandThroughput"] = o.clone();
    }
    let meta = Meta {
        desc: desc.clone(),
        tags: input["Tags"].as_array().cloned().unwrap_or_default(),
        ttl: None,
        extra: Default::default(),
    };
    TABLES.put(&name, &meta)?;
    Ok(json!({ "TableDescription": desc }))
}

fn set_stream(desc: &mut Value, spec: Option<&Value>, arn: &str) -> Result<(), AwsError> {
    let Some(spec) = spec else { return Ok(()) };
    let enabled = spec
        .get("StreamEnabled")
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    if enabled {
        let Some(view) = str_field(spec, "StreamViewType") else {
            return Err(validation(
                "One or more parameter values were invalid: StreamViewType must be specified when StreamEnabled is true",
            ));
        };
        let label = ministack_sdk::time::iso8601_millis(ministack_sdk::time::now())
            .trim_end_matches('Z')
            .to_string();
        desc["StreamSpecification"] = json!({"StreamEnabled": true, "StreamViewType": view});
        desc["LatestStreamLabel"] = json!(label);
        desc["LatestStreamArn"] = json!(format!("{arn}/stream/{label}"));
    } else if let Some(o) = desc.as_object_mut() {
        o.remove("StreamSpecification");
    }
    Ok(())
}

/// The description with live counts.
pub fn describe(t: &Tbl) -> Value {
    let mut d = t.meta.desc.clone();
    let range = RawRange {
        prefix: t.prefix(),
        start: None,
        end: None,
        reverse: false,
    };
    let rows = ITEMS.scan(&range, 0);
    d["ItemCount"] = json!(rows.len());
    d["TableSizeBytes"] = json!(rows.iter().map(|(_, v)| v.len()).sum::<usize>());
    for field in ["GlobalSecondaryIndexes", "LocalSecondaryIndexes"] {
        if let Some(list) = d.get_mut(field).and_then(|v| v.as_array_mut()) {
            for ix in list {
                let name = str_field(ix, "IndexName").unwrap_or("").to_string();
                let r = RawRange {
                    prefix: t.index_prefix(&name),
                    start: None,
                    end: None,
                    reverse: false,
                };
                let rows = INDEXES.scan(&r, 0);
                ix["ItemCount"] = json!(rows.len());
                ix["IndexSizeBytes"] = json!(rows.iter().map(|(_, v)| v.len()).sum::<usize>());
            }
        }
    }
    d
}

pub fn describe_table(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let t = Tbl::open(&name_of(str_field(&input, "TableName").unwrap_or("")))?;
    Ok(json!({ "Table": describe(&t) }))
}

pub fn delete_table(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let name = name_of(str_field(&input, "TableName").unwrap_or(""));
    let t = Tbl::open(&name)?;
    if t.meta.desc["DeletionProtectionEnabled"].as_bool() == Some(true) {
        return Err(validation(
            "Resource cannot be deleted as it is currently protected against deletion. Disable deletion protection first.",
        ));
    }
    let mut d = describe(&t);
    d["TableStatus"] = json!("DELETING");
    let all = |prefix| RawRange {
        prefix,
        start: None,
        end: None,
        reverse: false,
    };
    if let Some(arn) = streams::enabled_arn(&t.meta.desc) {
        streams::close(arn)?;
    }
    ITEMS.delete_range(&all(t.prefix()));
    INDEXES.delete_range(&all(t.prefix()));
    TABLES.delete(&name);
    Ok(json!({ "TableDescription": d }))
}

pub fn list_tables(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let limit = input.get("Limit").and_then(|v| v.as_u64()).unwrap_or(100);
    if !(1..=100).contains(&limit) {
        return Err(AwsError::validation(format!(
            "1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 100"
        )));
    }
    let mut scan = Scan::all().limit(limit as u32 + 1);
    if let Some(start) = str_field(&input, "ExclusiveStartTableName") {
        scan = scan.start_after(start);
    }
    let rows = TABLES.scan(&scan)?;
    let mut names: Vec<String> = rows.into_iter().map(|(k, _)| k).collect();
    let mut out = json!({});
    if names.len() as u64 > limit {
        names.truncate(limit as usize);
        out["LastEvaluatedTableName"] = json!(names.last());
    }
    out["TableNames"] = json!(names);
    Ok(out)
}

pub fn update_table(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let name = name_of(str_field(&input, "TableName").unwrap_or(""));
    let mut meta = db::load(&name)?;
    let arn = str_field(&meta.desc, "TableArn").unwrap_or("").to_string();
    let d = &mut meta.desc;
    let now = ministack_sdk::time::now();
    // AttributeDefinitions only describe the keys of indexes being created.
    let changes = [
        "BillingMode",
        "ProvisionedThroughput",
        "GlobalSecondaryIndexUpdates",
        "StreamSpecification",
        "SSESpecification",
        "ReplicaUpdates",
        "TableClass",
        "DeletionProtectionEnabled",
        "OnDemandThroughput",
        "WarmThroughput",
        "MultiRegionConsistency",
        "GlobalTableWitnessUpdates",
    ];
    if !changes.iter().any(|c| input.get(*c).is_some()) {
        return Err(validation(
            "At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, GlobalSecondaryIndexUpdates or SSESpecification or ReplicaUpdates is required",
        ));
    }
    if let Some(pt) = input.get("ProvisionedThroughput")
        && input.get("BillingMode").is_none_or(|b| b == "PROVISIONED")
        && str_field(&d["BillingModeSummary"], "BillingMode") != Some("PAY_PER_REQUEST")
    {
        let units = |v: &Value, k: &str| v.get(k).and_then(Value::as_i64).unwrap_or(0);
        let current = &d["ProvisionedThroughput"];
        let (cr, cw) = (
            units(current, "ReadCapacityUnits"),
            units(current, "WriteCapacityUnits"),
        );
        let (rr, rw) = (
            units(pt, "ReadCapacityUnits"),
            units(pt, "WriteCapacityUnits"),
        );
        let other_changes = changes[2..].iter().any(|c| input.get(*c).is_some());
        if (cr, cw) == (rr, rw) && !other_changes {
            return Err(validation(format!(
                "The provisioned throughput for the table will not change. The requested value equals the current value. Current ReadCapacityUnits provisioned for the table: {cr}. Requested ReadCapacityUnits: {rr}. Current WriteCapacityUnits provisioned for the table: {cw}. Requested WriteCapacityUnits: {rw}. Refer to the Amazon DynamoDB Developer Guide for current limits and how to request higher limits."
            )));
        }
    }
    if let Some(defs) = input.get("AttributeDefinitions").and_then(|v| v.as_array()) {
        let have = d["AttributeDefinitions"]
            .as_array_mut()
            .expect("definitions");
        for def in defs {
            if !have
                .iter()
                .any(|h| h["AttributeName"] == def["AttributeName"])
            {
                have.push(def.clone());
            }
        }
    }
    if let Some(b) = str_field(&input, "BillingMode") {
        if b == "PAY_PER_REQUEST" {
            d["BillingModeSummary"] =
                json!({"BillingMode": b, "LastUpdateToPayPerRequestDateTime": now});
            d["ProvisionedThroughput"] = throughput(&Value::Null);
        } else {
            if input.get("ProvisionedThroughput").is_none() {
                return Err(validation(
                    "One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED",
                ));
            }
            d["BillingModeSummary"] = json!({"BillingMode": b});
        }
    }
    if let Some(pt) = input.get("ProvisionedThroughput") {
        if str_field(&d["BillingModeSummary"], "BillingMode") == Some("PAY_PER_REQUEST") {
            return Err(validation(
                "One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST",
            ));
        }
        d["ProvisionedThroughput"] = throughput(pt);
    }
    if let Some(p) = input.get("DeletionProtectionEnabled") {
        d["DeletionProtectionEnabled"] = p.clone();
    }
    if let Some(tc) = str_field(&input, "TableClass") {
        d["TableClassSummary"] = json!({"TableClass": tc});
    }
    if let Some(o) = input.get("OnDemandThroughput") {
        d["OnDemandThroughput"] = o.clone();
    }
    if let Some(updates) = input.get("ReplicaUpdates").and_then(|v| v.as_array()) {
        crate::globaltables::apply_replica_updates(ctx, d, updates)?;
    }
    let mut input = input;
    if d.get("Replicas").is_some()
        && input.get("StreamSpecification").is_none()
        && streams::enabled_arn(d).is_none()
    {
        // A 2019.11.21 global table replicates through a NEW_AND_OLD_IMAGES stream.
        input["StreamSpecification"] =
            json!({"StreamEnabled": true, "StreamViewType": "NEW_AND_OLD_IMAGES"});
    }
    let old_stream = streams::enabled_arn(d).map(String::from);
    if let Some(spec) = input.get("StreamSpecification") {
        let enable = spec["StreamEnabled"].as_bool().unwrap_or(false);
        if enable && old_stream.is_some() {
            return Err(validation(format!(
                "Table already has an enabled stream: TableName: {name}"
            )));
        }
        if !enable && old_stream.is_none() {
            return Err(validation(format!(
                "Table already has no enabled stream: TableName: {name}"
            )));
        }
    }
    set_stream(d, input.get("StreamSpecification"), &arn)?;
    if input.get("StreamSpecification").is_some() {
        match &old_stream {
            Some(old) => streams::close(old)?,
            None => streams::open(d)?,
        }
    }
    let billing = str_field(&d["BillingModeSummary"], "BillingMode")
        .unwrap_or("PROVISIONED")
        .to_string();
    let mut created = Vec::new();
    for upd in input["GlobalSecondaryIndexUpdates"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let defs: Vec<String> = d["AttributeDefinitions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| str_field(x, "AttributeName").map(String::from))
            .collect();
        if let Some(c) = upd.get("Create") {
            key_schema_check(&c["KeySchema"], &defs, "keySchema")?;
            let n = str_field(c, "IndexName").unwrap_or("").to_string();
            let exists = ["GlobalSecondaryIndexes", "LocalSecondaryIndexes"]
                .iter()
                .any(|f| {
                    d[*f]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|i| str_field(i, "IndexName") == Some(&n))
                });
            if exists {
                return Err(validation(format!(
                    "Attempting to create an index which already exists: {n}"
                )));
            }
            let mut ix = index_desc(c, &arn, &billing)?;
            ix["IndexStatus"] = json!("ACTIVE");
            if ix.get("ProvisionedThroughput").is_none() {
                ix["ProvisionedThroughput"] = throughput(&Value::Null);
            }
            if !d["GlobalSecondaryIndexes"].is_array() {
                d["GlobalSecondaryIndexes"] = json!([]);
            }
            d["GlobalSecondaryIndexes"]
                .as_array_mut()
                .expect("array")
                .push(ix);
            created.push(n);
        } else if let Some(del) = upd.get("Delete") {
            let n = str_field(del, "IndexName").unwrap_or("").to_string();
            let list = d["GlobalSecondaryIndexes"].as_array_mut();
            let Some(list) =
                list.filter(|l| l.iter().any(|i| str_field(i, "IndexName") == Some(&n)))
            else {
                return Err(AwsError::resource_not_found(format!(
                    "Requested resource not found: Index: {n} not found"
                )));
            };
            list.retain(|i| str_field(i, "IndexName") != Some(&n));
            let t = Tbl::from_meta(Meta {
                desc: json!({"TableName": name}),
                tags: vec![],
                ttl: None,
                extra: Default::default(),
            });
            INDEXES.delete_range(&RawRange {
                prefix: t.index_prefix(&n),
                start: None,
                end: None,
                reverse: false,
            });
        } else if let Some(u) = upd.get("Update") {
            let n = str_field(u, "IndexName").unwrap_or("").to_string();
            if let Some(ix) = d["GlobalSecondaryIndexes"]
                .as_array_mut()
                .into_iter()
                .flatten()
                .find(|i| str_field(i, "IndexName") == Some(&n))
            {
                if let Some(pt) = u.get("ProvisionedThroughput") {
                    ix["ProvisionedThroughput"] = throughput(pt);
                }
            } else {
                return Err(AwsError::resource_not_found(format!(
                    "Requested resource not found: Index: {n} not found"
                )));
            }
        }
    }
    TABLES.put(&name, &meta)?;
    let t = Tbl::from_meta(meta);
    for n in created {
        if let Ok(ix) = t.index(&n) {
            t.backfill(ix);
        }
    }
    let _ = ctx;
    Ok(json!({ "TableDescription": describe(&t) }))
}

// ---------- tags ----------

fn table_of_arn(arn: &str) -> Result<(String, Meta), AwsError> {
    let name = name_of(arn);
    let meta = TABLES
        .get(&name)?
        .filter(|m| str_field(&m.desc, "TableArn") == Some(arn))
        .ok_or_else(|| {
            AwsError::resource_not_found(format!(
                "Requested resource not found: ResourcArn: {arn} not found"
            ))
        })?;
    Ok((name, meta))
}

pub fn tag_resource(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let (name, mut meta) = table_of_arn(str_field(&input, "ResourceArn").unwrap_or(""))?;
    for tag in input["Tags"].as_array().into_iter().flatten() {
        meta.tags.retain(|t| t["Key"] != tag["Key"]);
        meta.tags.push(tag.clone());
    }
    if meta.tags.len() > 50 {
        return Err(AwsError::limit_exceeded(
            "LimitExceededException",
            "The number of tags exceeds the limit of 50",
        ));
    }
    TABLES.put(&name, &meta)?;
    Ok(json!({}))
}

pub fn untag_resource(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let (name, mut meta) = table_of_arn(str_field(&input, "ResourceArn").unwrap_or(""))?;
    let keys: Vec<&Value> = input["TagKeys"].as_array().into_iter().flatten().collect();
    meta.tags.retain(|t| !keys.contains(&&t["Key"]));
    TABLES.put(&name, &meta)?;
    Ok(json!({}))
}

pub fn list_tags_of_resource(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let (_, meta) = table_of_arn(str_field(&input, "ResourceArn").unwrap_or(""))?;
    Ok(json!({ "Tags": meta.tags }))
}

// ---------- TTL ----------

pub fn update_time_to_live(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let name = name_of(str_field(&input, "TableName").unwrap_or(""));
    let mut meta = db::load(&name)?;
    let spec = input["TimeToLiveSpecification"].clone();
    let enabled = spec["Enabled"].as_bool().unwrap_or(false);
    let attr = str_field(&spec, "AttributeName").unwrap_or("").to_string();
    let current = meta.ttl.clone();
    let on = current
        .as_ref()
        .and_then(|t| t["Enabled"].as_bool())
        .unwrap_or(false);
    if enabled && on {
        return Err(validation("TimeToLive is already enabled"));
    }
    if !enabled && !on {
        return Err(validation("TimeToLive is already disabled"));
    }
    if !enabled
        && current.as_ref().and_then(|t| str_field(t, "AttributeName")) != Some(attr.as_str())
    {
        return Err(validation(
            "The provided attribute name does not match the current TimeToLive attribute name",
        ));
    }
    let generation = current
        .as_ref()
        .and_then(|t| t["Generation"].as_u64())
        .unwrap_or(0)
        + 1;
    meta.ttl = Some(json!({"Enabled": enabled, "AttributeName": attr, "Generation": generation}));
    TABLES.put(&name, &meta)?;
    if enabled {
        ministack_sdk::tasks::schedule(
            sweep_interval(_ctx),
            TTL_SWEEP,
            &TtlSweep {
                table: name,
                generation,
            },
        )?;
    }
    Ok(json!({ "TimeToLiveSpecification": {"Enabled": enabled, "AttributeName": attr} }))
}

/// Task: delete the items whose TTL attribute (epoch seconds) has passed,
/// then sweep again later while TTL stays enabled (same generation).
pub const TTL_SWEEP: &str = "ttl-sweep";

#[derive(Serialize, Deserialize)]
pub struct TtlSweep {
    pub table: String,
    pub generation: u64,
}

/// Seconds between sweeps: plugin setting `ttl_sweep_seconds` (default 5,
/// so tests see expired items go within seconds; AWS takes up to days).
fn sweep_interval(ctx: &Context) -> std::time::Duration {
    ctx.setting_secs("ttl_sweep_seconds", 5.0, 0.1)
}

pub fn ttl_sweep(ctx: &Context, job: TtlSweep) -> Result<(), AwsError> {
    let Some(meta) = TABLES.get(&job.table)? else {
        return Ok(());
    };
    let Some(ttl) = meta.ttl.clone() else {
        return Ok(());
    };
    if ttl["Enabled"].as_bool() != Some(true) || ttl["Generation"].as_u64() != Some(job.generation)
    {
        return Ok(());
    }
    let attr = str_field(&ttl, "AttributeName").unwrap_or("").to_string();
    let t = Tbl::from_meta(meta);
    let now = crate::num::Num::parse(&ministack_sdk::time::now_secs().to_string())
        .unwrap_or_else(|_| crate::num::Num::zero());
    // AWS leaves alone items whose expiry is more than five years past
    // (most likely a timestamp in another unit).
    let five_years_ago = crate::num::Num::parse(
        &ministack_sdk::time::now_secs()
            .saturating_sub(5 * 365 * 24 * 3600)
            .to_string(),
    )
    .unwrap_or_else(|_| crate::num::Num::zero());
    let range = RawRange {
        prefix: t.prefix(),
        start: None,
        end: None,
        reverse: false,
    };
    let plen = t.prefix().len();
    for (k, v) in ITEMS.scan(&range, 0) {
        let Ok(item) = serde_json::from_slice::<crate::expr::Item>(&v) else {
            continue;
        };
        let expired = item
            .get(&attr)
            .and_then(|a| a.get("N"))
            .and_then(|n| n.as_str())
            .and_then(|n| crate::num::Num::parse(n).ok())
            .is_some_and(|n| n <= now && n >= five_years_ago);
        if expired {
            t.write_as(&k[plen..], Some(&item), None, true);
        }
    }
    ministack_sdk::tasks::schedule(sweep_interval(ctx), TTL_SWEEP, &job)?;
    Ok(())
}

pub fn describe_time_to_live(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let meta = db::load(&name_of(str_field(&input, "TableName").unwrap_or("")))?;
    let d = match &meta.ttl {
        Some(t) if t["Enabled"].as_bool() == Some(true) => {
            json!({"TimeToLiveStatus": "ENABLED", "AttributeName": t["AttributeName"]})
        }
        _ => json!({"TimeToLiveStatus": "DISABLED"}),
    };
    Ok(json!({ "TimeToLiveDescription": d }))
}

pub fn describe_limits(_ctx: &Context, _input: Value) -> Result<Value, AwsError> {
    Ok(json!({
        "AccountMaxReadCapacityUnits": 80000,
        "AccountMaxWriteCapacityUnits": 80000,
        "TableMaxReadCapacityUnits": 40000,
        "TableMaxWriteCapacityUnits": 40000
    }))
}

pub fn describe_endpoints(ctx: &Context, _input: Value) -> Result<Value, AwsError> {
    Ok(json!({
        "Endpoints": [{"Address": format!("dynamodb.{}.amazonaws.com", ctx.region), "CachePeriodInMinutes": 1440}]
    }))
}
