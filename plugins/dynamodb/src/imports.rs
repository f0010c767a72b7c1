//! ImportTable, DescribeImport, ListImports: a new table filled from S3
//! objects read through the s3 plugin (`services::call`: ListObjectsV2
//! under `S3KeyPrefix`, then GetObject per key). GetObject's body comes
//! back as a blob ref shared into this plugin's namespace: read with
//! `blobs::read`, then released (`blobs::release`), as the caller owns it.
//!
//! Input formats: DYNAMODB_JSON (`{"Item": {...}}` lines, as exports write
//! them), CSV (`InputFormatOptions.Csv`: Delimiter, HeaderList) and ION
//! text as ION exports write it ([`crate::ion`]); plain, GZIP or ZSTD
//! (pure-Rust `ruzstd`).
//!
//! The import runs inside the request: the table is created first (its
//! parameters validated as CreateTable's), the objects are read (each
//! `services.call` ends a store unit), and the items are written in the
//! last unit with the import's final record. A line that cannot be parsed
//! or an item that does not fit the key schema counts in `ErrorCount`; a
//! bucket that cannot be read makes the import FAILED (the table is
//! removed again), as on AWS. Everything is held in memory at once, so an
//! import is bounded by the per-request time and memory limits.

use std::io::Read;

use ministack_sdk::prelude::*;
use ministack_sdk::services::{self, Target};
use serde_json::{Value, json};

use crate::db::{self, TABLES, Tbl, str_field, validation};
use crate::expr::Item;
use crate::tables;

/// Import ARN → the import's record.
pub const IMPORTS: Table<ImportRecord> = Table::new("imports");

/// An import: what DescribeImport answers, and the request it came from
/// (without the ClientToken), for ClientToken idempotency.
#[derive(Serialize, Deserialize, Clone)]
pub struct ImportRecord {
    pub desc: Value,
    pub request: Value,
}

/// Size of one `blobs::read`.
const CHUNK: u64 = 1 << 20;

/// The bytes of an S3 object after `InputCompressionType` (GZIP or NONE).
pub fn decompress(bytes: &[u8], compression: &str) -> Result<Vec<u8>, String> {
    match compression {
        "NONE" | "" => Ok(bytes.to_vec()),
        "GZIP" => {
            let mut out = Vec::new();
            flate2::read::MultiGzDecoder::new(bytes)
                .read_to_end(&mut out)
                .map_err(|e| format!("not a gzip file: {e}"))?;
            Ok(out)
        }
        "ZSTD" => {
            // One or more concatenated frames.
            let mut out = Vec::new();
            let mut rest = bytes;
            while !rest.is_empty() {
                let mut dec = ruzstd::decoding::StreamingDecoder::new(&mut rest)
                    .map_err(|e| format!("not a zstd file: {e}"))?;
                dec.read_to_end(&mut out)
                    .map_err(|e| format!("not a zstd file: {e}"))?;
            }
            Ok(out)
        }
        other => Err(format!("InputCompressionType {other} is not supported")),
    }
}

/// Items parsed from one file, and how many records could not be parsed.
#[derive(Debug, Default)]
pub struct Parsed {
    pub items: Vec<Item>,
    pub errors: u64,
}

/// DYNAMODB_JSON: one `{"Item": {...}}` object per line; a line that is not
/// one is an error.
pub fn parse_dynamodb_json(text: &str) -> Parsed {
    let mut out = Parsed::default();
    for line in text.lines() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Value>(line)
            .ok()
            .and_then(|v| v.get("Item").and_then(|i| i.as_object()).cloned())
        {
            Some(item) => out.items.push(item),
            None => out.errors += 1,
        }
    }
    out
}

/// CSV records split on `delim`, with `"` quoting (`""` inside quotes,
/// line breaks inside quotes kept); `\r\n` or `\n` ends a record.
fn csv_records(text: &str, delim: char) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            c if c == delim && !quoted => fields.push(std::mem::take(&mut cur)),
            '\r' if !quoted && chars.peek() == Some(&'\n') => {}
            '\n' if !quoted => {
                fields.push(std::mem::take(&mut cur));
                records.push(std::mem::take(&mut fields));
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() || !fields.is_empty() {
        fields.push(cur);
        records.push(fields);
    }
    records
        .into_iter()
        .filter(|r| !(r.len() == 1 && r[0].trim().is_empty()))
        .collect()
}

/// CSV: the header (the first record, or `header` from `HeaderList`) names
/// the attributes; attributes of `key_types` (name → S / N / B: the table's
/// and its indexes' keys) take that type, every other value is a string
/// (as on AWS), and empty values are left out. A record with more fields
/// than the header is an error.
pub fn parse_csv(
    text: &str,
    delim: char,
    header: Option<Vec<String>>,
    key_types: &[(String, String)],
) -> Parsed {
    let mut records = csv_records(text, delim).into_iter();
    let mut out = Parsed::default();
    let header = match header {
        Some(h) => h,
        None => match records.next() {
            Some(h) => h,
            None => return out,
        },
    };
    for fields in records {
        if fields.len() > header.len() {
            out.errors += 1;
            continue;
        }
        let mut item = Item::new();
        for (name, value) in header.iter().zip(fields) {
            if value.is_empty() {
                continue;
            }
            let ty = key_types
                .iter()
                .find(|(k, _)| k == name)
                .map_or("S", |(_, t)| t.as_str());
            item.insert(name.clone(), json!({ ty: value }));
        }
        out.items.push(item);
    }
    out
}

fn import_not_found(arn: &str) -> AwsError {
    AwsError::new(
        "ImportNotFoundException",
        format!("Import not found: {arn}"),
    )
}

/// ListImports' NextToken: the last ARN in hex, zero-padded to whole
/// 16-digit groups of at least 112 digits (the model's pattern).
pub fn encode_token(arn: &str) -> String {
    let mut hex: String = arn.bytes().map(|b| format!("{b:02x}")).collect();
    while hex.len() < 112 || !hex.len().is_multiple_of(16) {
        hex.push_str("00");
    }
    hex
}

pub fn decode_token(token: &str) -> Option<String> {
    if !token.len().is_multiple_of(2) {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..token.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(token.get(i..i + 2)?, 16).ok())
        .collect();
    let mut bytes = bytes?;
    while bytes.last() == Some(&0) {
        bytes.pop();
    }
    String::from_utf8(bytes).ok()
}

/// The whole body of a GetObject answer (`{"blob-id", "range"?}`), then
/// the blob released: the host shared it into this plugin, which owns it.
fn read_body(body: &Value) -> Result<Vec<u8>, AwsError> {
    let id = str_field(body, "blob-id")
        .ok_or_else(|| AwsError::internal("GetObject answered no Body"))?
        .to_string();
    let (start, end) = match body["range"].as_array() {
        Some(r) => (
            r.first().and_then(Value::as_u64).unwrap_or(0),
            r.get(1).and_then(Value::as_u64).unwrap_or(u64::MAX),
        ),
        None => (0, u64::MAX),
    };
    let mut out = Vec::new();
    let mut off = start;
    let result = loop {
        let want = CHUNK.min(end - off);
        if want == 0 {
            break Ok(());
        }
        match ministack_sdk::blobs::read(&id, off, want as u32) {
            Ok(chunk) => {
                let n = chunk.len() as u64;
                out.extend_from_slice(&chunk);
                off += n;
                if n < want {
                    break Ok(());
                }
            }
            Err(e) => break Err(e),
        }
    };
    ministack_sdk::blobs::release(&id);
    result.map(|()| out)
}

/// S3's answer when the bucket is not `owner`'s (as `ExpectedBucketOwner`):
/// the bucket must be among the buckets ListBuckets answers that account.
fn check_owner(ctx: &Context, bucket: &str, owner: &str) -> Result<(), AwsError> {
    let listed: Value = services::call(
        &Target::at("s3", owner, &ctx.region),
        "ListBuckets",
        &json!({ "Prefix": bucket }),
    )?;
    let owned = listed["Buckets"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|b| str_field(b, "Name") == Some(bucket));
    if owned {
        Ok(())
    } else {
        Err(AwsError::new("AccessDenied", "Access Denied"))
    }
}

/// Every object under the prefix: (key, bytes).
fn read_objects(
    ctx: &Context,
    bucket: &str,
    prefix: &str,
    owner: Option<&str>,
) -> Result<Vec<(String, Vec<u8>)>, AwsError> {
    let s3 = Target::new("s3", ctx);
    let mut keys = Vec::new();
    let mut token: Option<String> = None;
    let mut first = true;
    loop {
        let mut req = json!({ "Bucket": bucket, "Prefix": prefix });
        if let Some(t) = &token {
            req["ContinuationToken"] = json!(t);
        }
        let page: Value = services::call(&s3, "ListObjectsV2", &req)?;
        if first && let Some(owner) = owner {
            check_owner(ctx, bucket, owner)?;
        }
        first = false;
        for o in page["Contents"].as_array().into_iter().flatten() {
            if let Some(k) = str_field(o, "Key")
                && !k.ends_with('/')
            {
                keys.push(k.to_string());
            }
        }
        token = str_field(&page, "NextContinuationToken").map(String::from);
        if page["IsTruncated"].as_bool() != Some(true) || token.is_none() {
            break;
        }
    }
    let mut out = Vec::new();
    for key in keys {
        let o: Value = services::call(&s3, "GetObject", &json!({ "Bucket": bucket, "Key": key }))?;
        out.push((key, read_body(&o["Body"])?));
    }
    Ok(out)
}

/// AWS's FailureCode for an S3 error.
fn failure_code(code: &str) -> String {
    match code {
        "NoSuchBucket" => "S3NoSuchBucket".into(),
        "AccessDenied" => "S3AccessDenied".into(),
        other => other.into(),
    }
}

/// The attribute types of the table's and its GSIs' keys (CSV columns
/// that keep their type).
fn key_types(params: &Value) -> Vec<(String, String)> {
    params["AttributeDefinitions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| {
            Some((
                str_field(d, "AttributeName")?.to_string(),
                str_field(d, "AttributeType")?.to_string(),
            ))
        })
        .collect()
}

pub fn import_table(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let mut request = input.clone();
    if let Some(o) = request.as_object_mut() {
        o.remove("ClientToken");
    }
    let token = str_field(&input, "ClientToken").map(String::from);
    if let Some(token) = &token {
        for (_, r) in IMPORTS.scan(&Scan::all())? {
            if str_field(&r.desc, "ClientToken") == Some(token.as_str()) {
                if r.request != request {
                    return Err(AwsError::new(
                        "ImportConflictException",
                        "There was a conflict when importing from the specified S3 source: a previous import request had the same client token and different parameters",
                    ));
                }
                return Ok(json!({ "ImportTableDescription": r.desc }));
            }
        }
    }
    let source = input["S3BucketSource"].clone();
    let bucket = str_field(&source, "S3Bucket").unwrap_or("").to_string();
    let prefix = str_field(&source, "S3KeyPrefix").unwrap_or("").to_string();
    if let Some(owner) = str_field(&source, "S3BucketOwner")
        && !ministack_sdk::ids::is_account_id(owner)
    {
        return Err(AwsError::validation(format!(
            "1 validation error detected: Value '{owner}' at 's3BucketSource.s3BucketOwner' failed to satisfy constraint: Member must satisfy regular expression pattern: [0-9]{{12}}"
        )));
    }
    let format = str_field(&input, "InputFormat").unwrap_or("").to_string();
    match format.as_str() {
        "DYNAMODB_JSON" | "CSV" | "ION" => {}
        other => {
            return Err(AwsError::validation(format!(
                "1 validation error detected: Value '{other}' at 'inputFormat' failed to satisfy constraint: Member must satisfy enum value set: [DYNAMODB_JSON, ION, CSV]"
            )));
        }
    }
    let compression = str_field(&input, "InputCompressionType")
        .unwrap_or("NONE")
        .to_string();
    match compression.as_str() {
        "GZIP" | "ZSTD" | "NONE" => {}
        other => {
            return Err(AwsError::validation(format!(
                "1 validation error detected: Value '{other}' at 'inputCompressionType' failed to satisfy constraint: Member must satisfy enum value set: [GZIP, ZSTD, NONE]"
            )));
        }
    }
    let csv = &input["InputFormatOptions"]["Csv"];
    let delimiter = str_field(csv, "Delimiter").unwrap_or(",");
    let mut chars = delimiter.chars();
    let delim = match (chars.next(), chars.next()) {
        (Some(c), None) if ",;:|\t ".contains(c) => c,
        _ => {
            return Err(AwsError::validation(format!(
                "1 validation error detected: Value '{delimiter}' at 'inputFormatOptions.csv.delimiter' failed to satisfy constraint: Member must satisfy regular expression pattern: [,;:|\\t ]"
            )));
        }
    };
    let header: Option<Vec<String>> = csv["HeaderList"].as_array().map(|h| {
        h.iter()
            .filter_map(|v| v.as_str().map(String::from))
            .collect()
    });
    if header.as_ref().is_some_and(|h| h.is_empty()) {
        return Err(AwsError::validation(
            "1 validation error detected: Value '[]' at 'inputFormatOptions.csv.headerList' failed to satisfy constraint: Member must have length greater than or equal to 1",
        ));
    }
    let params = input["TableCreationParameters"].clone();
    let name = str_field(&params, "TableName").unwrap_or("").to_string();
    if TABLES.contains(&name) {
        return Err(AwsError::new(
            "ResourceInUseException",
            format!("Table already exists: {name}"),
        ));
    }
    // CreateTable's validation and table; committed by the first S3 call.
    let created = tables::create_table(ctx, params.clone())?;
    let table_arn = created["TableDescription"]["TableArn"].clone();
    let id = format!(
        "{:014}-{}",
        ministack_sdk::time::now_millis(),
        ministack_sdk::ids::hex(8)
    );
    let arn = format!("{}/import/{id}", table_arn.as_str().unwrap_or(""));
    let mut desc = json!({
        "ImportArn": arn,
        "ImportStatus": "IN_PROGRESS",
        "TableArn": table_arn,
        "TableId": created["TableDescription"]["TableId"],
        "S3BucketSource": source,
        "ErrorCount": 0,
        "CloudWatchLogGroupArn": ctx.arn("logs", "log-group:/aws-dynamodb/imports:*").to_string(),
        "InputFormat": format,
        "InputCompressionType": compression,
        "TableCreationParameters": params,
        "StartTime": ministack_sdk::time::now(),
        "ProcessedSizeBytes": 0,
        "ProcessedItemCount": 0,
        "ImportedItemCount": 0,
    });
    if let Some(t) = &token {
        desc["ClientToken"] = json!(t);
    }
    if let Some(o) = input.get("InputFormatOptions") {
        desc["InputFormatOptions"] = o.clone();
    }
    IMPORTS.put(
        &arn,
        &ImportRecord {
            desc: desc.clone(),
            request: request.clone(),
        },
    )?;

    let owner = str_field(&source, "S3BucketOwner").map(String::from);
    let objects = read_objects(ctx, &bucket, &prefix, owner.as_deref());
    // A new unit: the table as created, the import IN_PROGRESS.
    desc["EndTime"] = json!(ministack_sdk::time::now());
    match objects {
        Err(e) => {
            TABLES.delete(&name);
            desc["ImportStatus"] = json!("FAILED");
            desc["FailureCode"] = json!(failure_code(&e.code));
            desc["FailureMessage"] = json!(e.message);
        }
        Ok(objects) => {
            let t = Tbl::open(&name)?;
            let types = key_types(&desc["TableCreationParameters"]);
            let (mut size, mut processed, mut imported, mut errors) = (0u64, 0u64, 0u64, 0u64);
            for (_key, bytes) in objects {
                size += bytes.len() as u64;
                if bytes.is_empty() {
                    // Nothing to read (e.g. an export's `_started` marker).
                    continue;
                }
                let Ok(data) = decompress(&bytes, &compression) else {
                    errors += 1;
                    continue;
                };
                let text = String::from_utf8_lossy(&data);
                let parsed = match format.as_str() {
                    "CSV" => parse_csv(&text, delim, header.clone(), &types),
                    "ION" => {
                        let (items, errors) = crate::ion::parse_ion(&text);
                        Parsed { items, errors }
                    }
                    _ => parse_dynamodb_json(&text),
                };
                processed += parsed.errors + parsed.items.len() as u64;
                errors += parsed.errors;
                for item in parsed.items {
                    let written = db::clean_item(&item).and_then(|item| {
                        db::check_size(&item)?;
                        let key = t.check_item_key(&item)?;
                        let old = t.get(&key);
                        t.write(&key, old.as_ref(), Some(&item));
                        Ok(())
                    });
                    match written {
                        Ok(()) => imported += 1,
                        Err(_) => errors += 1,
                    }
                }
            }
            desc["ImportStatus"] = json!("COMPLETED");
            desc["ProcessedSizeBytes"] = json!(size);
            desc["ProcessedItemCount"] = json!(processed);
            desc["ImportedItemCount"] = json!(imported);
            desc["ErrorCount"] = json!(errors);
        }
    }
    IMPORTS.put(
        &arn,
        &ImportRecord {
            desc: desc.clone(),
            request,
        },
    )?;
    Ok(json!({ "ImportTableDescription": desc }))
}

pub fn describe_import(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let arn = str_field(&input, "ImportArn").unwrap_or("");
    let r = IMPORTS.get(arn)?.ok_or_else(|| import_not_found(arn))?;
    Ok(json!({ "ImportTableDescription": r.desc }))
}

pub fn list_imports(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let max = input["PageSize"].as_u64().unwrap_or(25);
    if !(1..=25).contains(&max) {
        return Err(AwsError::validation(format!(
            "1 validation error detected: Value '{max}' at 'pageSize' failed to satisfy constraint: Member must have value less than or equal to 25"
        )));
    }
    let table = str_field(&input, "TableArn");
    let mut scan = match table {
        Some(t) => Scan::prefix(format!("{t}/import/")),
        None => Scan::all(),
    };
    if let Some(tok) = str_field(&input, "NextToken") {
        let after = decode_token(tok).ok_or_else(|| validation("Invalid NextToken"))?;
        scan = scan.start_after(after);
    }
    let mut out = Vec::new();
    let mut next = None;
    for (arn, r) in IMPORTS.scan(&scan)? {
        if out.len() as u64 == max {
            next = out
                .last()
                .and_then(|v: &Value| v["ImportArn"].as_str())
                .map(encode_token);
            break;
        }
        let d = &r.desc;
        let mut s = json!({
            "ImportArn": arn,
            "ImportStatus": d["ImportStatus"],
            "TableArn": d["TableArn"],
            "S3BucketSource": d["S3BucketSource"],
            "CloudWatchLogGroupArn": d["CloudWatchLogGroupArn"],
            "InputFormat": d["InputFormat"],
            "StartTime": d["StartTime"],
        });
        if let Some(e) = d.get("EndTime") {
            s["EndTime"] = e.clone();
        }
        out.push(s);
    }
    let mut res = json!({ "ImportSummaryList": out });
    if let Some(n) = next {
        res["NextToken"] = json!(n);
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exports::{dynamodb_json_lines, gzip};

    #[test]
    fn reads_what_an_export_writes() {
        let items = vec![json!({"pk": {"S": "a"}, "n": {"N": "1"}})];
        let gz = gzip(dynamodb_json_lines(&items).as_bytes());
        let text = String::from_utf8(decompress(&gz, "GZIP").unwrap()).unwrap();
        let back = parse_dynamodb_json(&text);
        assert_eq!(Value::Object(back.items[0].clone()), items[0]);
        assert_eq!(back.errors, 0);
        let bad =
            parse_dynamodb_json("{\"pk\": 1}\nnot json\n\n{\"Item\": {\"a\": {\"S\": \"x\"}}}\n");
        assert_eq!((bad.items.len(), bad.errors), (1, 2));
        assert!(decompress(b"plain", "GZIP").is_err());
        assert!(decompress(b"x", "ZSTD").is_err());
        assert!(decompress(b"x", "LZ4").is_err());
        let level = ruzstd::encoding::CompressionLevel::Fastest;
        let mut two = ruzstd::encoding::compress_to_vec(&b"first\n"[..], level);
        two.extend(ruzstd::encoding::compress_to_vec(&b"second\n"[..], level));
        assert_eq!(decompress(&two, "ZSTD").unwrap(), b"first\nsecond\n");
    }

    #[test]
    fn csv_types_keys_and_quotes() {
        let text =
            "pk,sk,note\r\na,1,\"hello, \"\"world\"\"\"\nb,2,\nc,3,\"two\nlines\"\nd,4,x,extra\n";
        let keys = vec![
            ("pk".to_string(), "S".to_string()),
            ("sk".to_string(), "N".to_string()),
        ];
        let p = parse_csv(text, ',', None, &keys);
        assert_eq!(p.errors, 1);
        assert_eq!(p.items.len(), 3);
        assert_eq!(
            Value::Object(p.items[0].clone()),
            json!({"pk": {"S": "a"}, "sk": {"N": "1"}, "note": {"S": "hello, \"world\""}})
        );
        assert_eq!(
            Value::Object(p.items[1].clone()),
            json!({"pk": {"S": "b"}, "sk": {"N": "2"}})
        );
        assert_eq!(p.items[2]["note"], json!({"S": "two\nlines"}));
        let p = parse_csv("x|1\n", '|', Some(vec!["pk".into(), "v".into()]), &keys);
        assert_eq!(
            Value::Object(p.items[0].clone()),
            json!({"pk": {"S": "x"}, "v": {"S": "1"}})
        );
        assert!(parse_csv("", ',', None, &keys).items.is_empty());
    }

    #[test]
    fn next_tokens_fit_the_model_pattern() {
        let arn = "arn:aws:dynamodb:us-east-1:000000000000:table/t/import/01234567890123-abcd";
        let t = encode_token(arn);
        assert!(t.len() >= 112 && t.len().is_multiple_of(16));
        assert!(
            t.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert_eq!(decode_token(&t).as_deref(), Some(arn));
        assert_eq!(decode_token(&encode_token("a")).as_deref(), Some("a"));
        assert!(decode_token("zz").is_none());
    }
}
