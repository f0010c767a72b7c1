//! Blob refs crossing `services.call`: each plugin reads only the blobs of
//! its own namespace, so a ref in a call's input (the caller's blob) or
//! output (the callee's) is shared into the other side's namespace under a
//! new id (no bytes copied) and the JSON rewritten to name it.

use std::borrow::Cow;

use ministack_state::blobs::BlobStore;
use serde_json::Value;

/// A call's `text` (its JSON, and any text attached after it) with every
/// `{"blob-id": ...}` object of plugin `from` re-pointed at a new blob of
/// plugin `to`; also returns the new ids, which `to` owns.
pub fn share_blob_refs<'a>(
    blobs: &BlobStore,
    text: &'a str,
    from: &str,
    to: &str,
) -> Result<(Cow<'a, str>, Vec<String>), String> {
    // Text a plugin attached after the JSON is opaque: only the JSON names
    // blobs.
    let attached = split_attachments(text);
    let json = attached.map_or(text, |(json, _)| json);
    // Most calls carry no blob: skip the parse, keep the text.
    if !json.contains("\"blob-id\"") {
        return Ok((Cow::Borrowed(text), Vec::new()));
    }
    let mut value: Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
    let shared = share_value_refs(blobs, &mut value, from, to)?;
    let json = value.to_string();
    let text = match attached {
        Some((_, attachments)) => join_attachments(&json, attachments),
        None => json,
    };
    Ok((Cow::Owned(text), shared))
}

/// A call input's JSON and the text attached after it, when a plugin
/// attached some (the SDK's `services::Input`: a NUL byte, the JSON's
/// length in decimal, a NUL byte, the JSON, the attachments); `None` for
/// plain JSON. A JSON text never begins with NUL.
pub fn split_attachments(text: &str) -> Option<(&str, &str)> {
    let (len, rest) = text.strip_prefix('\0')?.split_once('\0')?;
    let n: usize = len.parse().ok()?;
    Some((rest.get(..n)?, rest.get(n..)?))
}

/// A call input of `json` with `attachments` after it: what
/// [`split_attachments`] reads.
pub fn join_attachments(json: &str, attachments: &str) -> String {
    format!("\0{}\0{json}{attachments}", json.len())
}

/// The JSON of a call input, without what is attached after it.
pub fn json_part(text: &str) -> &str {
    split_attachments(text).map_or(text, |(json, _)| json)
}

/// [`share_blob_refs`] on parsed JSON, rewritten in place.
pub fn share_value_refs(
    blobs: &BlobStore,
    value: &mut Value,
    from: &str,
    to: &str,
) -> Result<Vec<String>, String> {
    let mut shared = Vec::new();
    let result = walk(value, &mut |id| {
        let info = blobs
            .share(from, id, to)
            .map_err(|_| format!("no blob {id:?} to hand to {to}"))?;
        shared.push(info.id.clone());
        Ok(info.id)
    });
    if let Err(e) = result {
        for id in &shared {
            blobs.release(to, id);
        }
        return Err(e);
    }
    Ok(shared)
}

fn walk(
    value: &mut Value,
    share: &mut impl FnMut(&str) -> Result<String, String>,
) -> Result<(), String> {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(id)) = map.get("blob-id") {
                let new = share(id)?;
                map.insert("blob-id".into(), Value::String(new));
                return Ok(());
            }
            map.values_mut().try_for_each(|v| walk(v, share))
        }
        Value::Array(items) => items.iter_mut().try_for_each(|v| walk(v, share)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ministack_state::blobs::BlobConfig;

    #[tokio::test]
    async fn refs_are_shared_and_rewritten() {
        let store = BlobStore::open(BlobConfig::in_memory()).unwrap();
        let a = store.create("s3", b"object bytes").await.unwrap();
        let plain = r#"{"Bucket":"b"}"#;
        assert_eq!(
            share_blob_refs(&store, plain, "s3", "dynamodb").unwrap(),
            (Cow::Borrowed(plain), vec![])
        );

        let out = format!(
            r#"{{"Body":{{"blob-id":"{}","size":12,"range":[0,5]}},"List":[{{"blob-id":"{}"}}]}}"#,
            a.id, a.id
        );
        let (json, ids) = share_blob_refs(&store, &out, "s3", "dynamodb").unwrap();
        assert_eq!(ids.len(), 2);
        let v: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["Body"]["blob-id"], ids[0].as_str());
        assert_eq!(v["Body"]["range"], serde_json::json!([0, 5]));
        assert_eq!(v["List"][0]["blob-id"], ids[1].as_str());
        assert_eq!(
            store.read("dynamodb", &ids[0], 0, 6).await.unwrap(),
            &b"object"[..]
        );

        // Attached text stays as it is, after the rewritten JSON.
        let attached = join_attachments(&out, "[\"blob-id\"]");
        assert_eq!(
            split_attachments(&attached),
            Some((out.as_str(), "[\"blob-id\"]"))
        );
        let (text, more) = share_blob_refs(&store, &attached, "s3", "dynamodb").unwrap();
        assert_eq!(more.len(), 2);
        let (json, rest) = split_attachments(&text).unwrap();
        let v: Value = serde_json::from_str(json).unwrap();
        assert_eq!(v["Body"]["blob-id"], more[0].as_str());
        assert_eq!(rest, "[\"blob-id\"]");
        assert_eq!(json_part(plain), plain);
        assert_eq!(split_attachments("\u{0}99\u{0}{}"), None);

        // A ref the caller does not have fails, and shares nothing.
        let bad = format!(
            r#"{{"A":{{"blob-id":"{}"}},"B":{{"blob-id":"b0000000000000000000000000000000f"}}}}"#,
            a.id
        );
        assert!(share_blob_refs(&store, &bad, "s3", "sqs").is_err());
        assert!(store.list("sqs").is_empty());
    }
}
