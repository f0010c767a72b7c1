//! On-demand backups: real copies of a table's items, restorable into a
//! new table (indexes rebuilt from the copied items).

use ministack_sdk::prelude::*;
use serde_json::{Value, json};

use crate::db::{ITEMS, Meta, RawRange, TABLES, Tbl, str_field, validation};
use crate::tables::{describe, name_of};

/// Backup ARN → what DescribeBackup answers, plus the source description.
#[derive(Serialize, Deserialize, Clone)]
pub struct Backup {
    pub details: Value,
    pub source: Value,
}

const BACKUPS: Table<Backup> = Table::new("backups");
/// `backup-arn \0 encoded key` → item JSON.
const BACKUP_ITEMS: RawTable = RawTable::new("backup-items");

fn prefix(arn: &str) -> Vec<u8> {
    let mut p = arn.as_bytes().to_vec();
    p.push(0);
    p
}

fn not_found(arn: &str) -> AwsError {
    AwsError::new(
        "BackupNotFoundException",
        format!("Backup not found: {arn}"),
    )
}

fn description(b: &Backup) -> Value {
    let s = &b.source;
    json!({
        "BackupDetails": b.details,
        "SourceTableDetails": {
            "TableName": s["TableName"], "TableId": s["TableId"], "TableArn": s["TableArn"],
            "TableSizeBytes": s["TableSizeBytes"], "KeySchema": s["KeySchema"],
            "TableCreationDateTime": s["CreationDateTime"], "ProvisionedThroughput": {
                "ReadCapacityUnits": s["ProvisionedThroughput"]["ReadCapacityUnits"],
                "WriteCapacityUnits": s["ProvisionedThroughput"]["WriteCapacityUnits"]},
            "ItemCount": s["ItemCount"],
            "BillingMode": s["BillingModeSummary"]["BillingMode"],
        },
        "SourceTableFeatureDetails": {},
    })
}

pub fn create_backup(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let name = name_of(str_field(&input, "TableName").unwrap_or(""));
    let t = Tbl::open(&name)
        .map_err(|_| AwsError::new("TableNotFoundException", format!("Table not found: {name}")))?;
    let backup_name = str_field(&input, "BackupName").unwrap_or("").to_string();
    let now = ministack_sdk::time::now();
    let arn = format!(
        "{}/backup/{:017}-{}",
        t.arn(),
        ministack_sdk::time::now_millis(),
        ministack_sdk::ids::hex(8)
    );
    let range = RawRange {
        prefix: t.prefix(),
        start: None,
        end: None,
        reverse: false,
    };
    let plen = t.prefix().len();
    let mut size = 0;
    for (k, v) in ITEMS.scan(&range, 0) {
        size += v.len();
        BACKUP_ITEMS.put(&[prefix(&arn), k[plen..].to_vec()].concat(), &v);
    }
    let details = json!({
        "BackupArn": arn, "BackupName": backup_name, "BackupSizeBytes": size,
        "BackupStatus": "AVAILABLE", "BackupType": "USER", "BackupCreationDateTime": now,
    });
    BACKUPS.put(
        &arn,
        &Backup {
            details: details.clone(),
            source: describe(&t),
        },
    )?;
    Ok(json!({ "BackupDetails": details }))
}

pub fn describe_backup(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let arn = str_field(&input, "BackupArn").unwrap_or("");
    let b = BACKUPS.get(arn)?.ok_or_else(|| not_found(arn))?;
    Ok(json!({ "BackupDescription": description(&b) }))
}

pub fn delete_backup(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let arn = str_field(&input, "BackupArn").unwrap_or("");
    let b = BACKUPS.get(arn)?.ok_or_else(|| not_found(arn))?;
    BACKUPS.delete(arn);
    BACKUP_ITEMS.delete_range(&RawRange {
        prefix: prefix(arn),
        start: None,
        end: None,
        reverse: false,
    });
    let mut d = description(&b);
    d["BackupDetails"]["BackupStatus"] = json!("DELETED");
    Ok(json!({ "BackupDescription": d }))
}

pub fn list_backups(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let only = str_field(&input, "TableName").map(name_of);
    let mut out = Vec::new();
    for (_, b) in BACKUPS.scan(&Scan::all())? {
        let table = b.source["TableName"].as_str().unwrap_or("").to_string();
        if only.as_ref().is_some_and(|o| *o != table) {
            continue;
        }
        let d = &b.details;
        out.push(json!({
            "TableName": table, "TableId": b.source["TableId"], "TableArn": b.source["TableArn"],
            "BackupArn": d["BackupArn"], "BackupName": d["BackupName"], "BackupCreationDateTime": d["BackupCreationDateTime"],
            "BackupStatus": d["BackupStatus"], "BackupType": d["BackupType"], "BackupSizeBytes": d["BackupSizeBytes"],
        }));
    }
    Ok(json!({ "BackupSummaries": out }))
}

pub fn restore_table_from_backup(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let arn = str_field(&input, "BackupArn").unwrap_or("");
    let b = BACKUPS.get(arn)?.ok_or_else(|| not_found(arn))?;
    let target = str_field(&input, "TargetTableName")
        .unwrap_or("")
        .to_string();
    if target.len() < 3 {
        return Err(validation(
            "TargetTableName must be at least 3 characters long",
        ));
    }
    if TABLES.contains(&target) {
        return Err(AwsError::new(
            "TableAlreadyExistsException",
            format!("Table already exists: {target}"),
        ));
    }
    let p = prefix(arn);
    let rows = BACKUP_ITEMS.scan(
        &RawRange {
            prefix: p.clone(),
            start: None,
            end: None,
            reverse: false,
        },
        0,
    );
    let rows = rows
        .into_iter()
        .map(|(k, v)| (k[p.len()..].to_vec(), v))
        .collect();
    let summary = json!({
        "SourceBackupArn": arn, "SourceTableArn": b.source["TableArn"],
        "RestoreDateTime": ministack_sdk::time::now(), "RestoreInProgress": false
    });
    let t = restore_into(ctx, &b.source, &target, summary, rows)?;
    Ok(json!({ "TableDescription": describe(&t) }))
}

/// A new table `target` shaped like `source`, holding `rows` (encoded key, item).
fn restore_into(
    ctx: &Context,
    source: &Value,
    target: &str,
    summary: Value,
    rows: Vec<(Vec<u8>, Vec<u8>)>,
) -> Result<Tbl, AwsError> {
    let table_arn = ctx.arn("dynamodb", &format!("table/{target}")).to_string();
    let now = ministack_sdk::time::now();
    let mut desc = source.clone();
    desc["TableName"] = json!(target);
    desc["TableArn"] = json!(table_arn);
    desc["TableId"] = json!(ministack_sdk::ids::uuid());
    desc["CreationDateTime"] = json!(now);
    desc["TableStatus"] = json!("ACTIVE");
    desc["DeletionProtectionEnabled"] = json!(false);
    if let Some(o) = desc.as_object_mut() {
        for k in [
            "LatestStreamArn",
            "LatestStreamLabel",
            "StreamSpecification",
            "RestoreSummary",
        ] {
            o.remove(k);
        }
    }
    for field in ["GlobalSecondaryIndexes", "LocalSecondaryIndexes"] {
        for ix in desc[field].as_array_mut().into_iter().flatten() {
            let n = ix["IndexName"].as_str().unwrap_or("").to_string();
            ix["IndexArn"] = json!(format!("{table_arn}/index/{n}"));
        }
    }
    desc["RestoreSummary"] = summary;
    let meta = Meta {
        desc,
        tags: vec![],
        ttl: None,
        extra: Default::default(),
    };
    TABLES.put(target, &meta)?;
    let t = Tbl::from_meta(meta);
    for (k, v) in rows {
        let Ok(item) = serde_json::from_slice(&v) else {
            continue;
        };
        t.write(&k, None, Some(&item));
    }
    Ok(t)
}

/// Restores the source table's current items: no history is kept, so any
/// RestoreDateTime within the window gives the latest state.
pub fn restore_table_to_point_in_time(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let source_name = str_field(&input, "SourceTableName")
        .map(String::from)
        .or_else(|| str_field(&input, "SourceTableArn").map(name_of))
        .unwrap_or_default();
    let t = Tbl::open(&source_name).map_err(|_| {
        AwsError::new(
            "TableNotFoundException",
            format!("Table not found: {source_name}"),
        )
    })?;
    let pitr_on = t
        .meta
        .extra
        .get("pitr")
        .and_then(|p| p["Enabled"].as_bool())
        == Some(true);
    if !pitr_on {
        return Err(AwsError::new(
            "PointInTimeRecoveryUnavailableException",
            format!("Point in time recovery is not enabled for table '{source_name}'"),
        ));
    }
    let target = str_field(&input, "TargetTableName")
        .unwrap_or("")
        .to_string();
    if TABLES.contains(&target) {
        return Err(AwsError::new(
            "TableAlreadyExistsException",
            format!("Table already exists: {target}"),
        ));
    }
    let plen = t.prefix().len();
    let rows = ITEMS
        .scan(
            &RawRange {
                prefix: t.prefix(),
                start: None,
                end: None,
                reverse: false,
            },
            0,
        )
        .into_iter()
        .map(|(k, v)| (k[plen..].to_vec(), v))
        .collect();
    let summary = json!({
        "SourceTableArn": t.arn(), "RestoreDateTime": ministack_sdk::time::now(), "RestoreInProgress": false
    });
    let source = describe(&t);
    let restored = restore_into(ctx, &source, &target, summary, rows)?;
    Ok(json!({ "TableDescription": describe(&restored) }))
}
