//! ExportTableToPointInTime, DescribeExport, ListExports: a full export of
//! a table's items in DYNAMODB_JSON, written into the S3 plugin through
//! `services::call("s3", "PutObject", ...)` (the body as base64 bytes) in
//! AWS's layout:
//!
//! ```text
//! <prefix>/AWSDynamoDB/<exportId>/manifest-summary.json
//! <prefix>/AWSDynamoDB/<exportId>/manifest-summary.md5
//! <prefix>/AWSDynamoDB/<exportId>/manifest-files.json
//! <prefix>/AWSDynamoDB/<exportId>/manifest-files.md5
//! <prefix>/AWSDynamoDB/<exportId>/_started
//! <prefix>/AWSDynamoDB/<exportId>/data/<file>.json.gz   ({"Item": {...}} lines)
//! ```
//!
//! The export runs inside the request (the table is read first, then the
//! objects are written; `services.call` ends the unit, so the items read
//! are the table at the export time). It answers the export's final state:
//! COMPLETED, or FAILED with AWS's failure code when S3 refuses.

use std::io::Write;

use ministack_sdk::prelude::*;
use ministack_sdk::services::{self, Target};
use serde_json::{Value, json};

use crate::db::{ITEMS, RawRange, TABLES, Tbl, item_size, str_field, validation};
use crate::tables::name_of;

/// Export ARN → ExportDescription.
pub const EXPORTS: Table<Value> = Table::new("exports");

fn export_not_found(arn: &str) -> AwsError {
    AwsError::new(
        "ExportNotFoundException",
        format!("Export not found: {arn}"),
    )
}

/// gzip of some bytes.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let _ = enc.write_all(bytes);
    enc.finish().unwrap_or_default()
}

/// One DYNAMODB_JSON line per item.
pub fn dynamodb_json_lines(items: &[Value]) -> String {
    let mut out = String::new();
    for i in items {
        out.push_str(&json!({ "Item": i }).to_string());
        out.push('\n');
    }
    out
}

fn put_object(ctx: &Context, bucket: &str, key: &str, body: &[u8]) -> Result<Value, AwsError> {
    services::call(
        &Target::new("s3", ctx),
        "PutObject",
        &json!({
            "Bucket": bucket,
            "Key": key,
            "Body": ministack_sdk::encoding::base64_encode(body),
        }),
    )
}

pub fn export_table_to_point_in_time(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let table_arn = str_field(&input, "TableArn").unwrap_or("").to_string();
    let name = name_of(&table_arn);
    let meta = TABLES
        .get(&name)?
        .filter(|m| str_field(&m.desc, "TableArn") == Some(table_arn.as_str()))
        .ok_or_else(|| {
            AwsError::new(
                "TableNotFoundException",
                format!("Table not found: {table_arn}"),
            )
        })?;
    if let Some(token) = str_field(&input, "ClientToken") {
        for (_, e) in EXPORTS.scan(&Scan::all())? {
            if str_field(&e, "ClientToken") == Some(token) {
                if str_field(&e, "TableArn") != Some(table_arn.as_str())
                    || str_field(&e, "S3Bucket") != str_field(&input, "S3Bucket")
                {
                    return Err(AwsError::new(
                        "ExportConflictException",
                        "There was a conflicting export request with the same client token",
                    ));
                }
                return Ok(json!({ "ExportDescription": e }));
            }
        }
    }
    if meta.extra.get("pitr").and_then(|p| p["Enabled"].as_bool()) != Some(true) {
        return Err(AwsError::new(
            "PointInTimeRecoveryUnavailableException",
            format!("Point in time recovery is not enabled for table '{name}'"),
        ));
    }
    let format = str_field(&input, "ExportFormat").unwrap_or("DYNAMODB_JSON");
    if format != "DYNAMODB_JSON" {
        return Err(validation(format!(
            "ExportFormat {format} is not supported by MiniStack; use DYNAMODB_JSON"
        )));
    }
    let export_type = str_field(&input, "ExportType").unwrap_or("FULL_EXPORT");
    if export_type != "FULL_EXPORT" {
        return Err(validation(
            "ExportType INCREMENTAL_EXPORT is not supported by MiniStack (no change history is kept); use FULL_EXPORT",
        ));
    }
    let now = ministack_sdk::time::now();
    let export_time = input["ExportTime"].as_f64().unwrap_or(now);
    if export_time > now + 1.0 {
        return Err(AwsError::new(
            "InvalidExportTimeException",
            "Export time cannot be in the future",
        ));
    }
    let bucket = str_field(&input, "S3Bucket").unwrap_or("").to_string();
    let prefix = str_field(&input, "S3Prefix").unwrap_or("").to_string();
    let t = Tbl::from_meta(meta);
    let items: Vec<Value> = ITEMS
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
        .filter_map(|(_, v)| serde_json::from_slice(&v).ok())
        .collect();
    let billed: usize = items
        .iter()
        .filter_map(|i| i.as_object())
        .map(item_size)
        .sum();
    let id = format!(
        "{:014}-{}",
        ministack_sdk::time::now_millis(),
        ministack_sdk::ids::hex(8)
    );
    let arn = format!("{table_arn}/export/{id}");
    let base = if prefix.is_empty() {
        format!("AWSDynamoDB/{id}")
    } else {
        format!("{}/AWSDynamoDB/{id}", prefix.trim_end_matches('/'))
    };
    let mut desc = json!({
        "ExportArn": arn,
        "ExportStatus": "IN_PROGRESS",
        "StartTime": now,
        "TableArn": table_arn,
        "TableId": t.meta.desc["TableId"],
        "ExportTime": export_time,
        "S3Bucket": bucket,
        "S3SseAlgorithm": str_field(&input, "S3SseAlgorithm").unwrap_or("AES256"),
        "ExportFormat": format,
        "ExportType": export_type,
        "ItemCount": items.len(),
        "BilledSizeBytes": billed,
    });
    for k in ["ClientToken", "S3BucketOwner", "S3Prefix", "S3SseKmsKeyId"] {
        if let Some(v) = input.get(k) {
            desc[k] = v.clone();
        }
    }
    EXPORTS.put(&arn, &desc)?;

    // The table is read; from here the objects are written into S3.
    let data = gzip(dynamodb_json_lines(&items).as_bytes());
    let data_key = format!(
        "{base}/data/{}.json.gz",
        ministack_sdk::ids::lower_alnum(26)
    );
    let manifest_files = format!(
        "{}\n",
        json!({
            "itemCount": items.len(),
            "md5Checksum": ministack_sdk::encoding::base64_encode(&ministack_sdk::hash::md5(&data)),
            "etag": ministack_sdk::hash::md5_hex(&data),
            "dataFileS3Key": data_key,
        })
    );
    let end = ministack_sdk::time::now();
    let summary = json!({
        "version": "2020-06-30",
        "exportArn": arn,
        "startTime": ministack_sdk::time::iso8601_millis(now),
        "endTime": ministack_sdk::time::iso8601_millis(end),
        "tableArn": table_arn,
        "tableId": t.meta.desc["TableId"],
        "exportTime": ministack_sdk::time::iso8601_millis(export_time),
        "s3Bucket": bucket,
        "s3Prefix": input.get("S3Prefix").cloned().unwrap_or(Value::Null),
        "s3SseAlgorithm": desc["S3SseAlgorithm"],
        "s3SseKmsKeyId": input.get("S3SseKmsKeyId").cloned().unwrap_or(Value::Null),
        "manifestFilesS3Key": format!("{base}/manifest-files.json"),
        "billedSizeBytes": billed,
        "itemCount": items.len(),
        "outputFormat": format,
        "exportType": export_type,
    })
    .to_string();
    let writes: Vec<(String, Vec<u8>)> = vec![
        (format!("{base}/_started"), Vec::new()),
        (data_key, data),
        (
            format!("{base}/manifest-files.json"),
            manifest_files.clone().into_bytes(),
        ),
        (
            format!("{base}/manifest-files.md5"),
            ministack_sdk::hash::md5_hex(manifest_files.as_bytes()).into_bytes(),
        ),
        (
            format!("{base}/manifest-summary.json"),
            summary.clone().into_bytes(),
        ),
        (
            format!("{base}/manifest-summary.md5"),
            ministack_sdk::hash::md5_hex(summary.as_bytes()).into_bytes(),
        ),
    ];
    let mut failure = None;
    for (key, body) in &writes {
        if let Err(e) = put_object(ctx, &bucket, key, body) {
            failure = Some(e);
            break;
        }
    }
    desc["EndTime"] = json!(ministack_sdk::time::now());
    match failure {
        None => {
            desc["ExportStatus"] = json!("COMPLETED");
            desc["ExportManifest"] = json!(format!("{base}/manifest-summary.json"));
        }
        Some(e) => {
            desc["ExportStatus"] = json!("FAILED");
            desc["FailureCode"] = json!(if e.code == "NoSuchBucket" {
                "S3NoSuchBucket".to_string()
            } else {
                e.code.clone()
            });
            desc["FailureMessage"] = json!(e.message);
        }
    }
    EXPORTS.put(&arn, &desc)?;
    Ok(json!({ "ExportDescription": desc }))
}

pub fn describe_export(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let arn = str_field(&input, "ExportArn").unwrap_or("");
    let d = EXPORTS.get(arn)?.ok_or_else(|| export_not_found(arn))?;
    Ok(json!({ "ExportDescription": d }))
}

pub fn list_exports(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let max = input["MaxResults"].as_u64().unwrap_or(25);
    if !(1..=25).contains(&max) {
        return Err(validation(format!(
            "1 validation error detected: Value '{max}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 25"
        )));
    }
    let table = str_field(&input, "TableArn");
    let mut scan = Scan::all();
    if let Some(tok) = str_field(&input, "NextToken") {
        let after = ministack_sdk::pagination::decode(tok)
            .ok_or_else(|| validation("Invalid NextToken"))?;
        scan = scan.start_after(after);
    }
    let mut out = Vec::new();
    let mut next = None;
    for (arn, e) in EXPORTS.scan(&scan)? {
        if table.is_some_and(|t| str_field(&e, "TableArn") != Some(t)) {
            continue;
        }
        if out.len() as u64 == max {
            next = out
                .last()
                .and_then(|v: &Value| v["ExportArn"].as_str())
                .map(ministack_sdk::pagination::encode);
            break;
        }
        out.push(json!({
            "ExportArn": arn,
            "ExportStatus": e["ExportStatus"],
            "ExportType": e["ExportType"],
        }));
    }
    let mut res = json!({ "ExportSummaries": out });
    if let Some(n) = next {
        res["NextToken"] = json!(n);
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn data_files_are_gzipped_item_lines() {
        let items = vec![
            json!({"pk": {"S": "a"}}),
            json!({"pk": {"S": "b"}, "n": {"N": "1"}}),
        ];
        let gz = gzip(dynamodb_json_lines(&items).as_bytes());
        let mut text = String::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_string(&mut text)
            .unwrap();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            lines,
            vec![json!({"Item": items[0]}), json!({"Item": items[1]})]
        );
    }
}
