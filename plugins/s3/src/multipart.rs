//! Multipart uploads: create, upload part (and copy), complete, abort, list.

use ministack_sdk::blobs;
use ministack_sdk::hash::{hex, md5};
use ministack_sdk::prelude::*;
use ministack_sdk::time;
use serde_json::{Map, Value, json};

use crate::buckets::bucket;
use crate::encryption;
use crate::objects::{self, Object};
use crate::util::s;
use crate::{owner, s3_error, util};

/// Uploads in progress, by `bucket \0 key \0 upload id`.
pub const UPLOADS: Table<Upload> = Table::global("uploads");
/// Parts, by `upload id \0 part number`.
pub const PARTS: Table<Part> = Table::global("parts");
/// The answers of completed uploads, by `bucket \0 key \0 upload id`: S3
/// answers a retried CompleteMultipartUpload as it answered the first one.
pub const COMPLETED: Table<Value> = Table::global("completed-uploads");

pub const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Upload {
    pub bucket: String,
    pub key: String,
    pub upload_id: String,
    pub initiated: u64,
    pub account: String,
    /// The object the upload will become (metadata, headers, tags; no blob yet).
    pub object: Object,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Part {
    pub number: u64,
    pub blob: BlobRef,
    pub etag: String,
    pub last_modified: u64,
}

fn upload(input: &Value) -> Result<(String, Upload), AwsError> {
    let b = bucket(&s(input, "Bucket").unwrap_or_default())?;
    let key = s(input, "Key").unwrap_or_default();
    let id = s(input, "UploadId").unwrap_or_default();
    let ukey = keys::join(&[&b.name, &key, &id]);
    let u = UPLOADS.get(&ukey)?.ok_or_else(|| {
        s3_error(
            "NoSuchUpload",
            "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
            404,
        )
        .with_member("UploadId", &id)
    })?;
    Ok((ukey, u))
}

/// A composite checksum: the algorithm over the concatenated part
/// checksums, then `-<part count>` (S3's "checksum of checksums").
pub fn composite_checksum(alg: &str, parts: &[Vec<u8>]) -> Option<String> {
    let all: Vec<u8> = parts.concat();
    let digest: Vec<u8> = match alg {
        "SHA256" => ministack_sdk::hash::sha256(&all).to_vec(),
        "SHA1" => ministack_sdk::hash::sha1(&all).to_vec(),
        "CRC32" => crc32fast::hash(&all).to_be_bytes().to_vec(),
        "CRC32C" => crc32c::crc32c(&all).to_be_bytes().to_vec(),
        _ => return None,
    };
    Some(format!(
        "{}-{}",
        ministack_sdk::encoding::base64_encode(&digest),
        parts.len()
    ))
}

pub fn create_multipart_upload(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let b = bucket(&s(&input, "Bucket").unwrap_or_default())?;
    let key = s(&input, "Key").unwrap_or_default();
    objects::check_key(&key)?;
    let upload_id = ministack_sdk::encoding::base64url_encode(&ministack_sdk::rand::bytes(48));
    let mut object = objects::new_object(&input, &key, BlobRef::default());
    object.blob = None;
    object.checksums.clear();
    encryption::apply(&b, &input, &mut object.headers)?;
    object.acl = crate::acl::for_write(&b, &input, &b.account)?;
    objects::default_retention(&b, &mut object);
    if let Some(alg) = &object.checksum_algorithm {
        // CRC64NVME is always a full-object checksum; the others default to
        // a composite (checksum of the parts' checksums).
        let default = if alg == "CRC64NVME" {
            "FULL_OBJECT"
        } else {
            "COMPOSITE"
        };
        let kind = s(&input, "ChecksumType").unwrap_or_else(|| default.into());
        if kind == "COMPOSITE" && alg == "CRC64NVME" {
            return Err(s3_error(
                "InvalidRequest",
                "The COMPOSITE checksum type cannot be used with the crc64nvme checksum algorithm.",
                400,
            ));
        }
        object.checksum_type = Some(kind);
    }
    UPLOADS.put(
        &keys::join(&[&b.name, &key, &upload_id]),
        &Upload {
            bucket: b.name.clone(),
            key: key.clone(),
            upload_id: upload_id.clone(),
            initiated: time::now_secs(),
            account: ctx.account.clone(),
            object: object.clone(),
        },
    )?;
    let mut out = json!({"Bucket": b.name, "Key": key, "UploadId": upload_id});
    if let Some(a) = &object.checksum_algorithm {
        out["ChecksumAlgorithm"] = json!(a);
        out["ChecksumType"] = json!(object.checksum_type);
    }
    if let Value::Object(m) = &mut out {
        encryption::echo(&object.headers, m);
    }
    Ok(out)
}

fn part_number(input: &Value) -> Result<u64, AwsError> {
    match input.get("PartNumber").and_then(Value::as_u64) {
        Some(n) if (1..=10_000).contains(&n) => Ok(n),
        _ => Err(s3_error(
            "InvalidArgument",
            "Part number must be an integer between 1 and 10000, inclusive",
            400,
        )
        .with_member("ArgumentName", "partNumber")),
    }
}

fn save_part(u: &Upload, number: u64, blob: BlobRef) -> Result<Part, AwsError> {
    let pkey = keys::join(&[&u.upload_id, &keys::u64(number)]);
    if let Some(old) = PARTS.get(&pkey)? {
        blobs::release(&old.blob.id);
    }
    let part = Part {
        number,
        etag: blob.etag(),
        blob,
        last_modified: time::now_secs(),
    };
    PARTS.put(&pkey, &part)?;
    Ok(part)
}

pub fn upload_part(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let (_, u) = upload(&input)?;
    let number = part_number(&input)?;
    // Every part is written with the upload's SSE-C key.
    encryption::check_read(&u.object.headers, &input, "SSECustomer")?;
    let blob = objects::body_blob(&input)?;
    objects::check_integrity(&input, &blob)?;
    let mut out = json!({});
    if let Value::Object(m) = &mut out {
        encryption::echo(&u.object.headers, m);
    }
    if let Some(alg) = objects::requested_checksum(&input)
        && let Some(c) = blob.checksum(&alg)
    {
        out[format!("Checksum{alg}")] = json!(c);
    }
    let part = save_part(&u, number, blob)?;
    out["ETag"] = json!(part.etag);
    Ok(out)
}

pub fn upload_part_copy(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let (_, u) = upload(&input)?;
    let number = part_number(&input)?;
    encryption::check_read(&u.object.headers, &input, "SSECustomer")?;
    let src = objects::copy_source(&input)?;
    let src_blob = src.blob.clone().unwrap_or_default();
    let (first, len) = match s(&input, "CopySourceRange") {
        None => (0, src.size),
        Some(r) => match util::parse_range(Some(&r), src.size) {
            // The range must lie inside the source (no clamping, unlike Range).
            Ok(Some((a, b)))
                if r.starts_with("bytes=") && !r.contains("=-") && !r.ends_with('-') =>
            {
                let last = r
                    .rsplit('-')
                    .next()
                    .and_then(|l| l.trim().parse::<u64>().ok())
                    .unwrap_or(b);
                if last >= src.size {
                    return Err(s3_error(
                        "InvalidArgument",
                        format!(
                            "Range specified is not valid for source object of size: {}",
                            src.size
                        ),
                        400,
                    )
                    .with_member("ArgumentName", "x-amz-copy-source-range")
                    .with_member("ArgumentValue", r.clone()));
                }
                (a, b - a + 1)
            }
            Err(util::Unsatisfiable) => {
                return Err(s3_error(
                    "InvalidArgument",
                    format!(
                        "Range specified is not valid for source object of size: {}",
                        src.size
                    ),
                    400,
                )
                .with_member("ArgumentName", "x-amz-copy-source-range")
                .with_member("ArgumentValue", r.clone()));
            }
            _ => {
                return Err(s3_error(
                    "InvalidArgument",
                    "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy",
                    400,
                )
                .with_member("ArgumentName", "x-amz-copy-source-range"));
            }
        },
    };
    let blob = objects::copy_blob(&src_blob, first, len)?;
    let part = save_part(&u, number, blob)?;
    let mut out =
        json!({"CopyPartResult": {"ETag": part.etag, "LastModified": part.last_modified}});
    if let Some(v) = &src.version_id {
        out["CopySourceVersionId"] = json!(v);
    }
    if let Value::Object(m) = &mut out {
        encryption::echo(&u.object.headers, m);
    }
    Ok(out)
}

/// `"md5-of-md5s-N"`: the MD5 of the parts' binary MD5s, then the part count.
pub fn multipart_etag(part_md5_hex: &[String]) -> String {
    let mut all = Vec::with_capacity(part_md5_hex.len() * 16);
    for h in part_md5_hex {
        all.extend(util::unhex(h).unwrap_or_default());
    }
    format!("\"{}-{}\"", hex(&md5(&all)), part_md5_hex.len())
}

fn all_parts(upload_id: &str) -> Result<Vec<Part>, AwsError> {
    PARTS.values(&keys::prefix(&[upload_id]))
}

fn drop_upload(ukey: &str, u: &Upload, keep: &[String]) -> Result<(), AwsError> {
    for p in all_parts(&u.upload_id)? {
        if !keep.contains(&p.blob.id) {
            blobs::release(&p.blob.id);
        }
    }
    PARTS.delete_range(&Scan::prefix(keys::prefix(&[&u.upload_id])));
    UPLOADS.delete(ukey);
    Ok(())
}

pub fn complete_multipart_upload(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let b = bucket(&s(&input, "Bucket").unwrap_or_default())?;
    let (ukey, u) = match upload(&input) {
        Ok(found) => found,
        Err(e) => {
            let done = keys::join(&[
                &b.name,
                &s(&input, "Key").unwrap_or_default(),
                &s(&input, "UploadId").unwrap_or_default(),
            ]);
            return match COMPLETED.get(&done)? {
                Some(answer) => Ok(answer),
                None => Err(e),
            };
        }
    };
    let requested = input
        .pointer("/MultipartUpload/Parts")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if requested.is_empty() {
        return Err(s3_error(
            "MalformedXML",
            "The XML you provided was not well-formed or did not validate against our published schema",
            400,
        ));
    }
    let invalid_part = || {
        s3_error(
            "InvalidPart",
            "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
            400,
        )
    };
    let mut chosen = Vec::new();
    let mut last = 0;
    for r in &requested {
        let n = r["PartNumber"].as_u64().unwrap_or(0);
        if n <= last {
            return Err(s3_error(
                "InvalidPartOrder",
                "The list of parts was not in ascending order. Parts must be ordered by part number.",
                400,
            ));
        }
        last = n;
        let p = PARTS
            .get(&keys::join(&[&u.upload_id, &keys::u64(n)]))?
            .ok_or_else(invalid_part)?;
        if let Some(etag) = r["ETag"].as_str()
            && etag.trim_matches('"') != p.etag.trim_matches('"')
        {
            return Err(invalid_part()
                .with_member("PartNumber", n)
                .with_member("ETag", etag));
        }
        chosen.push(p);
    }
    for p in &chosen[..chosen.len() - 1] {
        if p.blob.size < MIN_PART_SIZE {
            return Err(s3_error(
                "EntityTooSmall",
                "Your proposed upload is smaller than the minimum allowed size",
                400,
            )
            .with_member("ProposedSize", p.blob.size)
            .with_member("MinSizeAllowed", MIN_PART_SIZE));
        }
    }
    let current = objects::current(&b, &u.key)?;
    objects::check_write_conditions(&input, current.as_ref())?;
    let slices: Vec<(String, u64, u64)> = chosen
        .iter()
        .filter(|p| p.blob.size > 0)
        .map(|p| (p.blob.id.clone(), 0, p.blob.size))
        .collect();
    let blob = if slices.is_empty() {
        blobs::create(&[])
    } else {
        blobs::concat(&slices)?
    };
    let etag = multipart_etag(
        &chosen
            .iter()
            .map(|p| p.blob.md5_hex.clone())
            .collect::<Vec<_>>(),
    );
    let mut obj = u.object.clone();
    obj.size = blob.size;
    obj.etag = etag.clone();
    obj.last_modified = time::now_secs();
    obj.parts_count = Some(chosen.len() as u64);
    obj.checksums.clear();
    if let Some(alg) = obj.checksum_algorithm.clone() {
        let composite = obj.checksum_type.as_deref() == Some("COMPOSITE");
        let parts: Vec<Vec<u8>> = chosen
            .iter()
            .filter_map(|p| p.blob.checksum(&alg))
            .filter_map(ministack_sdk::encoding::base64_decode)
            .collect();
        let value = if composite && parts.len() == chosen.len() {
            composite_checksum(&alg, &parts)
        } else {
            obj.checksum_type = Some("FULL_OBJECT".into());
            blob.checksum(&alg).map(str::to_string)
        };
        if let Some(v) = value {
            obj.checksums.insert(alg, v);
        }
    }
    obj.blob = Some(blob);
    objects::default_checksum(&mut obj);
    let mut out = Map::new();
    encryption::echo(&obj.headers, &mut out);
    let checksums = obj.checksums.clone();
    let checksum_type = obj.checksum_type.clone();
    drop_upload(&ukey, &u, &[])?;
    let size = obj.size;
    let vid = objects::store_over(&b, obj, current)?;
    if let Some(v) = objects::reported_version(&vid) {
        out.insert("VersionId".into(), json!(v));
    }
    out.insert(
        "Location".into(),
        json!(format!(
            "{}/{}/{}",
            ctx.endpoint,
            b.name,
            util::url_encode(&u.key)
        )),
    );
    out.insert("Bucket".into(), json!(b.name));
    out.insert("Key".into(), json!(u.key));
    out.insert("ETag".into(), json!(etag));
    for (alg, v) in checksums {
        out.insert(format!("Checksum{alg}"), json!(v));
        out.insert("ChecksumType".into(), json!(checksum_type));
    }
    COMPLETED.put(&ukey, &Value::Object(out.clone()))?;
    crate::events::notify(
        ctx,
        &b,
        &crate::events::Event {
            name: "ObjectCreated:CompleteMultipartUpload",
            key: &u.key,
            size,
            etag: &etag,
            version_id: vid.as_deref(),
        },
    );
    Ok(Value::Object(out))
}

pub fn abort_multipart_upload(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let (ukey, u) = upload(&input)?;
    drop_upload(&ukey, &u, &[])?;
    Ok(json!({}))
}

pub fn list_parts(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let (_, u) = upload(&input)?;
    let max = input
        .get("MaxParts")
        .and_then(Value::as_u64)
        .unwrap_or(1000)
        .min(1000) as usize;
    let marker = input
        .get("PartNumberMarker")
        .and_then(|v| {
            v.as_u64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        })
        .unwrap_or(0);
    let mut scan = Scan::prefix(keys::prefix(&[&u.upload_id])).limit(max as u32 + 1);
    if marker > 0 {
        scan = scan.start_after(keys::join(&[&u.upload_id, &keys::u64(marker)]));
    }
    let mut parts: Vec<Part> = PARTS.scan(&scan)?.into_iter().map(|(_, p)| p).collect();
    let truncated = parts.len() > max;
    parts.truncate(max);
    let mut out = json!({
        "Bucket": u.bucket, "Key": u.key, "UploadId": u.upload_id,
        "PartNumberMarker": marker, "MaxParts": max, "IsTruncated": truncated,
        "Initiator": {"ID": crate::canonical_id(&u.account), "DisplayName": "webfile"},
        "Owner": owner(&u.account),
        "StorageClass": u.object.storage_class.clone().unwrap_or_else(|| "STANDARD".into()),
        "Parts": parts.iter().map(|p| {
            let mut part = json!({
                "PartNumber": p.number, "LastModified": p.last_modified, "ETag": p.etag, "Size": p.blob.size,
            });
            if let Some(alg) = &u.object.checksum_algorithm
                && let Some(c) = p.blob.checksum(alg)
            {
                part[format!("Checksum{alg}")] = json!(c);
            }
            part
        }).collect::<Vec<_>>(),
    });
    if let Some(t) = &u.object.checksum_type {
        out["ChecksumType"] = json!(t);
    }
    if let Some(p) = parts.last() {
        out["NextPartNumberMarker"] = json!(p.number);
    }
    if let Some(a) = &u.object.checksum_algorithm {
        out["ChecksumAlgorithm"] = json!(a);
    }
    Ok(out)
}

pub fn list_multipart_uploads(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let b = bucket(&s(&input, "Bucket").unwrap_or_default())?;
    let prefix = s(&input, "Prefix").unwrap_or_default();
    let delimiter = s(&input, "Delimiter").unwrap_or_default();
    let max = input
        .get("MaxUploads")
        .and_then(Value::as_u64)
        .unwrap_or(1000)
        .min(1000) as usize;
    let key_marker = s(&input, "KeyMarker").unwrap_or_default();
    let base = keys::prefix(&[&b.name]);
    let mut uploads = Vec::new();
    let mut prefixes: Vec<String> = Vec::new();
    let mut truncated = false;
    let mut next: Option<(String, String)> = None;
    for (_, u) in UPLOADS.scan(&Scan::prefix(format!("{base}{prefix}")))? {
        if !key_marker.is_empty() && u.key <= key_marker {
            continue;
        }
        let cp = util::common_prefix(&u.key, &prefix, &delimiter);
        if let Some(cp) = &cp
            && prefixes.last() == Some(cp)
        {
            continue;
        }
        if uploads.len() + prefixes.len() == max {
            truncated = true;
            break;
        }
        next = Some((u.key.clone(), u.upload_id.clone()));
        match cp {
            Some(cp) => prefixes.push(cp),
            None => uploads.push(json!({
                "UploadId": u.upload_id, "Key": u.key, "Initiated": u.initiated,
                "StorageClass": u.object.storage_class.clone().unwrap_or_else(|| "STANDARD".into()),
                "Owner": owner(&u.account),
                "Initiator": {"ID": crate::canonical_id(&u.account), "DisplayName": "webfile"},
            })),
        }
    }
    let mut out = json!({
        "Bucket": b.name, "KeyMarker": key_marker, "UploadIdMarker": s(&input, "UploadIdMarker").unwrap_or_default(),
        "Prefix": prefix, "MaxUploads": max, "IsTruncated": truncated,
    });
    if !uploads.is_empty() {
        out["Uploads"] = Value::Array(uploads);
    }
    if !prefixes.is_empty() {
        out["CommonPrefixes"] =
            Value::Array(prefixes.into_iter().map(|p| json!({"Prefix": p})).collect());
    }
    if !delimiter.is_empty() {
        out["Delimiter"] = json!(delimiter);
    }
    if truncated && let Some((k, id)) = next {
        out["NextKeyMarker"] = json!(k);
        out["NextUploadIdMarker"] = json!(id);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {

    #[test]
    fn composite_checksum_is_a_checksum_of_checksums() {
        let parts = vec![sha256(b"a"), sha256(b"b")];
        let mut all = parts[0].clone();
        all.extend(&parts[1]);
        let expected = ministack_sdk::encoding::base64_encode(&ministack_sdk::hash::sha256(&all));
        assert_eq!(
            super::composite_checksum("SHA256", &parts),
            Some(format!("{expected}-2"))
        );
        assert_eq!(
            super::composite_checksum("CRC32", &[vec![0, 0, 0, 0]]).unwrap(),
            format!(
                "{}-1",
                ministack_sdk::encoding::base64_encode(
                    &crc32fast::hash(&[0, 0, 0, 0]).to_be_bytes()
                )
            )
        );
        assert_eq!(super::composite_checksum("CRC64NVME", &parts), None);
    }

    fn sha256(data: &[u8]) -> Vec<u8> {
        ministack_sdk::hash::sha256(data).to_vec()
    }

    use super::*;

    #[test]
    fn etag_of_parts() {
        // Two parts "a" and "b": md5(md5("a") || md5("b"))-2.
        let a = hex(&md5(b"a"));
        let b = hex(&md5(b"b"));
        let mut both = md5(b"a").to_vec();
        both.extend(md5(b"b"));
        assert_eq!(
            multipart_etag(&[a, b]),
            format!("\"{}-2\"", hex(&md5(&both)))
        );
    }
}
