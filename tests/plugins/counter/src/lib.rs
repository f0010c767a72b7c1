//! `counter`: a test plugin for the host's state guarantees. Not part of the
//! default bundle.
//!
//! - `Increment` / `Get`: read-modify-write through the store (a thousand
//!   concurrent increments must give a thousand);
//! - `FailAfterWrite`: writes, then fails; the write must vanish;
//! - `PutBlob` / `GetBlob` (`PUT`/`GET /blobs/{Name}`): a streaming body kept
//!   as a blob reference and streamed back, with an optional Range;
//! - `PutScoped` / `GetScoped`: the same key in each store scope, for
//!   isolation tests across accounts and regions;
//! - `Version`: which build answers (hot reload tests swap builds);
//! - `Settings`: the settings the host handed in (env mapping, file grants).

use ministack_sdk::blobs::{self, BlobOut, BlobRef};
use ministack_sdk::prelude::*;

struct Counter;

impl Service for Counter {
    const NAME: &'static str = "counter";
    const MODEL: &'static str = include_str!("../model/service-2.json");

    fn router() -> Router {
        Router::new()
            .op("Increment", increment)
            .op("Get", get)
            .op("FailAfterWrite", fail_after_write)
            .op("PutBlob", put_blob)
            .op("GetBlob", get_blob)
            .op("PutScoped", put_scoped)
            .op("GetScoped", get_scoped)
            .op("Version", version)
            .op("Settings", settings)
    }
}

export_plugin!(Counter);

const COUNTERS: Table<i64> = Table::new("counters");
const BLOBS: Table<BlobRef> = Table::new("blobs");

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct KeyInput {
    key: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ValueOutput {
    value: i64,
}

fn increment(_: &Context, input: KeyInput) -> Result<ValueOutput, AwsError> {
    let value = COUNTERS.update(&input.key, |v| Ok(v.unwrap_or(0) + 1))?;
    Ok(ValueOutput { value })
}

fn get(_: &Context, input: KeyInput) -> Result<ValueOutput, AwsError> {
    let value = COUNTERS.get(&input.key)?.unwrap_or(0);
    Ok(ValueOutput { value })
}

/// Adds 1000 and then fails: a caller must never see the 1000.
fn fail_after_write(_: &Context, input: KeyInput) -> Result<ValueOutput, AwsError> {
    let value = COUNTERS.update(&input.key, |v| Ok(v.unwrap_or(0) + 1000))?;
    Err(AwsError::new(
        "IntentionalFailure",
        format!("wrote {value} to {} and failed on purpose", input.key),
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutBlobInput {
    name: String,
    body: BlobRef,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct PutBlobOutput {
    size: u64,
    #[serde(rename = "MD5")]
    md5: String,
}

/// Keeps the reference to the body the host already stored; the bytes never
/// enter the plugin. Replacing a blob releases the old one.
fn put_blob(_: &Context, input: PutBlobInput) -> Result<PutBlobOutput, AwsError> {
    if let Some(old) = BLOBS.get(&input.name)?
        && old.id != input.body.id
    {
        blobs::release(&old.id);
    }
    BLOBS.put(&input.name, &input.body)?;
    Ok(PutBlobOutput {
        size: input.body.size,
        md5: input.body.md5_hex,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetBlobInput {
    name: String,
    range: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct GetBlobOutput {
    body: BlobOut,
    content_length: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_range: Option<String>,
}

fn get_blob(_: &Context, input: GetBlobInput) -> Result<GetBlobOutput, AwsError> {
    let blob = BLOBS.get(&input.name)?.ok_or_else(|| {
        AwsError::not_found("NoSuchBlob", format!("No blob named {}", input.name))
    })?;
    match input
        .range
        .as_deref()
        .and_then(|r| parse_range(r, blob.size))
    {
        Some((first, last)) => Ok(GetBlobOutput {
            body: BlobOut::range(&blob.id, first, last),
            content_length: last - first + 1,
            content_range: Some(format!("bytes {first}-{last}/{}", blob.size)),
        }),
        None => Ok(GetBlobOutput {
            body: blob.to_output(),
            content_length: blob.size,
            content_range: None,
        }),
    }
}

/// `bytes=a-b`, `bytes=a-`, `bytes=-n` → inclusive `(first, last)` within `size`.
fn parse_range(header: &str, size: u64) -> Option<(u64, u64)> {
    let spec = header.trim().strip_prefix("bytes=")?;
    let (a, b) = spec.split_once('-')?;
    if size == 0 {
        return None;
    }
    let (first, last) = match (a.trim(), b.trim()) {
        ("", n) => {
            let n: u64 = n.parse().ok()?;
            (size.saturating_sub(n), size - 1)
        }
        (a, "") => (a.parse().ok()?, size - 1),
        (a, b) => (a.parse().ok()?, b.parse::<u64>().ok()?.min(size - 1)),
    };
    (first <= last && first < size).then_some((first, last))
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "kebab-case")]
enum ScopeName {
    AccountRegion,
    Account,
    Global,
}

fn table(scope: ScopeName) -> Table<String> {
    match scope {
        ScopeName::AccountRegion => Table::new("scoped"),
        ScopeName::Account => Table::account("scoped"),
        ScopeName::Global => Table::global("scoped"),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutScopedInput {
    scope: ScopeName,
    key: String,
    value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetScopedInput {
    scope: ScopeName,
    key: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ScopedOutput {
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<String>,
}

fn put_scoped(_: &Context, input: PutScopedInput) -> Result<ScopedOutput, AwsError> {
    table(input.scope).put(&input.key, &input.value)?;
    Ok(ScopedOutput {
        value: Some(input.value),
    })
}

fn get_scoped(_: &Context, input: GetScopedInput) -> Result<ScopedOutput, AwsError> {
    Ok(ScopedOutput {
        value: table(input.scope).get(&input.key)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9", 100), Some((0, 9)));
        assert_eq!(parse_range("bytes=90-", 100), Some((90, 99)));
        assert_eq!(parse_range("bytes=-10", 100), Some((90, 99)));
        assert_eq!(parse_range("bytes=50-500", 100), Some((50, 99)));
        assert_eq!(parse_range("bytes=100-", 100), None);
        assert_eq!(parse_range("items=0-1", 100), None);
    }

    #[test]
    fn scope_names_parse() {
        let i: GetScopedInput =
            serde_json::from_str(r#"{"Scope":"account-region","Key":"k"}"#).unwrap();
        assert!(matches!(i.scope, ScopeName::AccountRegion));
        assert!(serde_json::from_str::<GetScopedInput>(r#"{"Scope":"galaxy","Key":"k"}"#).is_err());
    }

    #[test]
    fn describes_all_operations() {
        let router = Counter::router();
        assert_eq!(router.operations().len(), 7);
    }
}

/// The build's variant: `COUNTER_VARIANT` at build time. The hot-reload
/// test makes a second build by rewriting these bytes in the wasm (same
/// length), so keep the default a unique, fixed-length marker.
const VARIANT: &str = match option_env!("COUNTER_VARIANT") {
    Some(v) => v,
    None => "counter-build-A",
};

#[derive(Deserialize)]
struct Empty {}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct VersionOutput {
    version: &'static str,
}

fn version(_: &Context, _: Empty) -> Result<VersionOutput, AwsError> {
    Ok(VersionOutput { version: VARIANT })
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct SettingsOutput {
    settings: std::collections::BTreeMap<String, String>,
}

fn settings(ctx: &Context, _: Empty) -> Result<SettingsOutput, AwsError> {
    Ok(SettingsOutput {
        settings: ctx.settings.iter().cloned().collect(),
    })
}
