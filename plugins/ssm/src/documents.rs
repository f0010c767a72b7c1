//! SSM documents (CreateDocument, versions, default version), State
//! Manager associations, maintenance windows, OpsItems and inventory: the
//! records are kept and answered as AWS shapes them; nothing runs on a
//! schedule (no managed instances exist locally). Session Manager needs an
//! agent on an instance and answers `TargetNotConnected`.

use ministack_sdk::prelude::*;
use ministack_sdk::{hash, ids, time};
use serde_json::{Map, Value, json};

use crate::params::user_of;

/// Document name → every version (`versions[i]` is version i + 1).
const DOCUMENTS: Table<Document> = Table::new("documents");
const ASSOCIATIONS: Table<Value> = Table::new("associations");
/// `association id/version` → that version of the association.
const ASSOCIATION_VERSIONS: Table<Value> = Table::new("association-versions");
pub(crate) const WINDOWS: Table<Value> = Table::new("maintenance-windows");
const OPS_ITEMS: Table<Value> = Table::new("ops-items");
/// `instance/type name` → the inventory item.
const INVENTORY: Table<Value> = Table::new("inventory");

/// Owner of the documents AWS provides.
const AMAZON: &str = "Amazon";

#[derive(Serialize, Deserialize, Clone, Debug, Default)]
struct Document {
    name: String,
    document_type: String,
    document_format: String,
    target_type: Option<String>,
    display_name: Option<String>,
    default_version: u32,
    owner: String,
    created: f64,
    versions: Vec<DocumentVersion>,
    /// Accounts the document is shared with (`all`: public) → shared version.
    #[serde(default)]
    shared: Vec<(String, String)>,
    /// Review responses (UpdateDocumentMetadata), oldest first, with the
    /// version each concerns.
    #[serde(default)]
    reviews: Vec<(u32, Value)>,
    #[serde(default)]
    author: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default)]
struct DocumentVersion {
    content: String,
    version_name: Option<String>,
    created: f64,
}

use crate::json::{pick, str_of, string_filters, value_filters};

fn not_found(code: &str, message: impl Into<String>) -> AwsError {
    AwsError::not_found(code, message)
}

fn invalid_document(name: &str) -> AwsError {
    AwsError::new(
        "InvalidDocument",
        format!("Document with name {name} does not exist."),
    )
}

fn invalid_content(why: &str) -> AwsError {
    AwsError::new(
        "InvalidDocumentContent",
        format!("The content for the document is not valid. {why}"),
    )
}

/// The content as a JSON value (JSON and YAML documents must be a mapping);
/// TEXT documents are not parsed.
fn parse_content(content: &str, format: &str) -> Result<Value, AwsError> {
    let v = match format {
        "TEXT" => return Ok(Value::Null),
        "YAML" => crate::yaml::parse(content).map_err(|e| invalid_content(&e))?,
        _ => serde_json::from_str(content).map_err(|e| invalid_content(&e.to_string()))?,
    };
    if !v.is_object() {
        return Err(invalid_content(
            "A document is a JSON object or a YAML mapping.",
        ));
    }
    Ok(v)
}

/// Schema versions the document types in common use accept.
fn check_schema(content: &Value, document_type: &str) -> Result<(), AwsError> {
    let supported: &[&str] = match document_type {
        "Command" => &["1.2", "2.0", "2.2"],
        "Automation" | "Automation.ChangeTemplate" => &["0.3"],
        "Session" => &["1.0"],
        _ => return Ok(()),
    };
    let version = match &content["schemaVersion"] {
        Value::String(s) => s.clone(),
        Value::Null => return Err(invalid_content("schemaVersion is required.")),
        other => other.to_string(),
    };
    if !supported.contains(&version.as_str()) {
        return Err(AwsError::new(
            "InvalidDocumentSchemaVersion",
            format!(
                "Document schema version, {version}, is not supported by {document_type} documents ({}).",
                supported.join(", ")
            ),
        ));
    }
    Ok(())
}

/// Documents are at most 64 KB.
fn check_size(content: &str) -> Result<(), AwsError> {
    if content.len() > 64 * 1024 {
        return Err(AwsError::new(
            "MaxDocumentSizeExceeded",
            "The size limit of a document is 64 KB.",
        ));
    }
    Ok(())
}

fn bad_version() -> AwsError {
    AwsError::new(
        "InvalidDocumentVersion",
        "The document version is not valid or does not exist.",
    )
}

impl Document {
    fn from_aws(d: crate::aws_documents::AwsDocument) -> Document {
        // AWS's documents predate any account: a fixed creation date.
        let created = 1_546_300_800.0;
        Document {
            name: d.name.to_string(),
            document_type: d.document_type.to_string(),
            document_format: "JSON".into(),
            target_type: d.target_type.map(str::to_string),
            display_name: None,
            default_version: 1,
            owner: AMAZON.into(),
            created,
            versions: vec![DocumentVersion {
                content: serde_json::to_string_pretty(&d.content).unwrap_or_default(),
                version_name: None,
                created,
            }],
            shared: vec![("all".into(), "$DEFAULT".into())],
            reviews: Vec::new(),
            author: None,
        }
    }

    fn is_aws(&self) -> bool {
        self.owner == AMAZON
    }

    fn version_number(&self, selector: Option<&str>) -> Result<u32, AwsError> {
        match selector {
            None | Some("$DEFAULT") => Ok(self.default_version),
            Some("$LATEST") => Ok(self.versions.len() as u32),
            Some(s) => s.parse::<u32>().map_err(|_| bad_version()),
        }
    }

    /// The version a request names by number/`$DEFAULT`/`$LATEST` and/or VersionName.
    fn select(
        &self,
        number: Option<&str>,
        version_name: Option<&str>,
    ) -> Result<(u32, &DocumentVersion), AwsError> {
        let n = match (number, version_name) {
            (None, Some(vn)) => self
                .versions
                .iter()
                .position(|v| v.version_name.as_deref() == Some(vn) && !v.content.is_empty())
                .map(|i| i as u32 + 1)
                .ok_or_else(bad_version)?,
            (sel, _) => self.version_number(sel)?,
        };
        let v = self
            .versions
            .get((n as usize).wrapping_sub(1))
            .filter(|v| !v.content.is_empty())
            .ok_or_else(bad_version)?;
        if let Some(vn) = version_name
            && v.version_name.as_deref() != Some(vn)
        {
            return Err(bad_version());
        }
        Ok((n, v))
    }

    fn version(&self, selector: Option<&str>) -> Result<(u32, &DocumentVersion), AwsError> {
        self.select(selector, None)
    }

    fn schema_version(&self, v: &DocumentVersion) -> String {
        let content = parse_content(&v.content, &self.document_format).unwrap_or(Value::Null);
        content["schemaVersion"]
            .as_str()
            .map(str::to_string)
            .or_else(|| content["schemaVersion"].as_f64().map(|f| f.to_string()))
            .unwrap_or_else(|| "2.2".into())
    }

    /// The platforms a Command document's plugins run on: shell scripts on
    /// Linux and macOS, PowerShell on Windows; anything else everywhere.
    fn platforms(&self) -> Value {
        let all = json!(["Windows", "Linux", "MacOS"]);
        if self.document_type != "Command" {
            return all;
        }
        let Ok((_, v)) = self.version(None) else {
            return all;
        };
        let content = parse_content(&v.content, &self.document_format).unwrap_or(Value::Null);
        let mut actions: Vec<String> = content["mainSteps"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s["action"].as_str().map(str::to_string))
            .collect();
        actions.extend(
            content["runtimeConfig"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, _)| k.clone()),
        );
        let shell = actions.iter().any(|a| a == "aws:runShellScript");
        let powershell = actions.iter().any(|a| a == "aws:runPowerShellScript");
        match (shell, powershell) {
            (true, false) => json!(["Linux", "MacOS"]),
            (false, true) => json!(["Windows"]),
            _ => all,
        }
    }

    fn description(&self, n: u32, v: &DocumentVersion) -> Value {
        let content = parse_content(&v.content, &self.document_format).unwrap_or(Value::Null);
        let params: Vec<Value> = content["parameters"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(name, p)| {
                let mut out = json!({"Name": name, "Type": p["type"].as_str().unwrap_or("String")});
                if let Some(d) = p["description"].as_str() {
                    out["Description"] = json!(d);
                }
                if let Some(d) = p.get("default") {
                    out["DefaultValue"] = json!(d.as_str().map_or(d.to_string(), str::to_string));
                }
                out
            })
            .collect();
        let mut d = json!({
            "Sha1": hash::sha256_hex(v.content.as_bytes()),
            "Hash": hash::sha256_hex(v.content.as_bytes()),
            "HashType": "Sha256",
            "Name": self.name,
            "Owner": self.owner,
            "CreatedDate": v.created,
            "Status": "Active",
            "DocumentVersion": n.to_string(),
            "PlatformTypes": self.platforms(),
            "DocumentType": self.document_type,
            "SchemaVersion": self.schema_version(v),
            "LatestVersion": self.versions.len().to_string(),
            "DefaultVersion": self.default_version.to_string(),
            "DocumentFormat": self.document_format,
            "Tags": crate::tags::of("Document", &self.name),
        });
        if !params.is_empty() {
            d["Parameters"] = json!(params);
        }
        if let Some(desc) = content["description"].as_str() {
            d["Description"] = json!(desc);
        }
        if let Some(a) = &self.author {
            d["Author"] = json!(a);
        }
        let reviews: Vec<&Value> = self
            .reviews
            .iter()
            .filter(|(v, _)| *v == n)
            .map(|(_, r)| r)
            .collect();
        if let Some(last) = reviews.last() {
            d["ReviewStatus"] = last["ReviewStatus"].clone();
            d["ReviewInformation"] = json!(
                reviews
                    .iter()
                    .map(|r| json!({"ReviewedTime": r["UpdatedTime"], "Status": r["ReviewStatus"], "Reviewer": r["Reviewer"]}))
                    .collect::<Vec<_>>()
            );
        }
        for (k, val) in [
            ("VersionName", &v.version_name),
            ("DisplayName", &self.display_name),
            ("TargetType", &self.target_type),
        ] {
            if let Some(x) = val {
                d[k] = json!(x);
            }
        }
        d
    }

    fn identifier(&self) -> Result<Value, AwsError> {
        let (n, v) = self.version(None)?;
        let mut d = json!({
            "Name": self.name,
            "CreatedDate": self.created,
            "Owner": self.owner,
            "PlatformTypes": self.platforms(),
            "DocumentVersion": n.to_string(),
            "DocumentType": self.document_type,
            "SchemaVersion": self.schema_version(v),
            "DocumentFormat": self.document_format,
            "Tags": crate::tags::of("Document", &self.name),
        });
        for (k, val) in [
            ("VersionName", &v.version_name),
            ("DisplayName", &self.display_name),
            ("TargetType", &self.target_type),
        ] {
            if let Some(x) = val {
                d[k] = json!(x);
            }
        }
        Ok(d)
    }
}

/// A stored document, or one AWS owns.
fn find_document(name: &str) -> Result<Option<Document>, AwsError> {
    // Documents may be named by ARN.
    let name = name.rsplit_once(":document/").map_or(name, |(_, n)| n);
    if let Some(d) = DOCUMENTS.get(name)? {
        return Ok(Some(d));
    }
    Ok(crate::aws_documents::find(name).map(Document::from_aws))
}

fn load_document(name: &str) -> Result<Document, AwsError> {
    find_document(name)?.ok_or_else(|| invalid_document(name))
}

/// Prefixes of the names of documents AWS publishes (hundreds; only a few
/// are kept here with their content).
const AWS_PREFIXES: &[&str] = &[
    "AWS-",
    "AWSEC2-",
    "AWSSupport-",
    "AWSConfigRemediation-",
    "AWSFleetManager-",
    "AWSQuickSetupType-",
    "AmazonCloudWatch-",
    "AmazonInspector",
];

/// Whether SendCommand, associations and window tasks may name this
/// document: a stored one, or any name AWS publishes documents under (a
/// local convenience: their content is not all known here).
pub fn document_exists(name: &str) -> Result<bool, AwsError> {
    let plain = name.rsplit_once(":document/").map_or(name, |(_, n)| n);
    Ok(AWS_PREFIXES.iter().any(|p| plain.starts_with(p)) || find_document(name)?.is_some())
}

/// Whether tags may be put on this document: only one that exists here.
pub fn document_is_known(name: &str) -> Result<bool, AwsError> {
    Ok(find_document(name)?.is_some())
}

/// The caller's own document, which it may change.
fn own_document(name: &str) -> Result<Document, AwsError> {
    let doc = load_document(name)?;
    if doc.is_aws() {
        return Err(AwsError::new(
            "InvalidDocumentOperation",
            format!("You can't change or delete the document {name}: it is owned by AWS."),
        ));
    }
    Ok(doc)
}

pub fn create_document(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let name = str_of(&input, "Name").unwrap_or_default().to_string();
    let name_ok = (3..=128).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.');
    if !name_ok {
        return Err(AwsError::validation(format!(
            "1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9_\\-.]{{3,128}}$"
        )));
    }
    let lower = name.to_ascii_lowercase();
    if lower.starts_with("aws") || lower.starts_with("amazon") || lower.starts_with("amzn") {
        return Err(AwsError::validation(format!(
            "Document name {name} can't start with a reserved prefix (aws, amazon or amzn)."
        )));
    }
    if DOCUMENTS.contains(&name) {
        return Err(AwsError::new(
            "DocumentAlreadyExists",
            "Document with same name already exists.",
        ));
    }
    let format = str_of(&input, "DocumentFormat")
        .unwrap_or("JSON")
        .to_string();
    let content = str_of(&input, "Content").unwrap_or_default().to_string();
    check_size(&content)?;
    let document_type = str_of(&input, "DocumentType").unwrap_or("Command");
    check_schema(&parse_content(&content, &format)?, document_type)?;
    let now = time::now();
    let doc = Document {
        name: name.clone(),
        document_type: document_type.to_string(),
        document_format: format,
        target_type: str_of(&input, "TargetType").map(str::to_string),
        display_name: str_of(&input, "DisplayName").map(str::to_string),
        default_version: 1,
        owner: ctx.account.clone(),
        created: now,
        versions: vec![DocumentVersion {
            content,
            version_name: str_of(&input, "VersionName").map(str::to_string),
            created: now,
        }],
        shared: Vec::new(),
        reviews: Vec::new(),
        author: Some(user_of(ctx)),
    };
    DOCUMENTS.put(&name, &doc)?;
    crate::tags::set("Document", &name, crate::tags::from_input(&input))?;
    Ok(json!({"DocumentDescription": doc.description(1, &doc.versions[0])}))
}

pub fn get_document(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let name = str_of(&input, "Name").unwrap_or_default();
    let doc = load_document(name)?;
    let (n, v) = doc.select(
        str_of(&input, "DocumentVersion"),
        str_of(&input, "VersionName"),
    )?;
    let (content, format) = match str_of(&input, "DocumentFormat") {
        Some("JSON") if doc.document_format == "YAML" => {
            let parsed = parse_content(&v.content, "YAML")?;
            (
                serde_json::to_string_pretty(&parsed).unwrap_or_default(),
                "JSON",
            )
        }
        // JSON is YAML too: a JSON document asked for as YAML reads as it is.
        Some(f) if f != "TEXT" => (v.content.clone(), f),
        _ => (v.content.clone(), doc.document_format.as_str()),
    };
    let mut out = json!({
        "Name": doc.name,
        "CreatedDate": v.created,
        "DocumentVersion": n.to_string(),
        "Status": "Active",
        "Content": content,
        "DocumentType": doc.document_type,
        "DocumentFormat": format,
    });
    if let Some(vn) = &v.version_name {
        out["VersionName"] = json!(vn);
    }
    if let Some(dn) = &doc.display_name {
        out["DisplayName"] = json!(dn);
    }
    Ok(out)
}

pub fn describe_document(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let doc = load_document(str_of(&input, "Name").unwrap_or_default())?;
    let (n, v) = doc.select(
        str_of(&input, "DocumentVersion"),
        str_of(&input, "VersionName"),
    )?;
    Ok(json!({"Document": doc.description(n, v)}))
}

pub fn update_document(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let mut doc = own_document(str_of(&input, "Name").unwrap_or_default())?;
    if let Some(requested) = str_of(&input, "DocumentVersion")
        && requested != "$LATEST"
        && requested != doc.versions.len().to_string()
    {
        return Err(bad_version());
    }
    let content = str_of(&input, "Content").unwrap_or_default().to_string();
    if let Some(format) = str_of(&input, "DocumentFormat") {
        doc.document_format = format.to_string();
    }
    check_size(&content)?;
    check_schema(
        &parse_content(&content, &doc.document_format)?,
        &doc.document_type,
    )?;
    if doc.versions.iter().any(|v| v.content == content) {
        return Err(AwsError::new(
            "DuplicateDocumentContent",
            "The content of the association document matches another document. Change the content of the document and try again.",
        ));
    }
    let version_name = str_of(&input, "VersionName").map(str::to_string);
    if version_name.is_some() && doc.versions.iter().any(|v| v.version_name == version_name) {
        return Err(AwsError::new(
            "DuplicateDocumentVersionName",
            "The specified version name is a duplicate.",
        ));
    }
    if doc.versions.len() >= 1000 {
        return Err(AwsError::new(
            "DocumentVersionLimitExceeded",
            "The document has too many versions.",
        ));
    }
    if let Some(t) = str_of(&input, "TargetType") {
        doc.target_type = Some(t.to_string());
    }
    if let Some(d) = str_of(&input, "DisplayName") {
        doc.display_name = Some(d.to_string());
    }
    doc.versions.push(DocumentVersion {
        content,
        version_name,
        created: time::now(),
    });
    DOCUMENTS.put(&doc.name, &doc)?;
    let n = doc.versions.len() as u32;
    Ok(json!({"DocumentDescription": doc.description(n, &doc.versions[n as usize - 1])}))
}

pub fn update_document_default_version(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let mut doc = own_document(str_of(&input, "Name").unwrap_or_default())?;
    let (n, v) = doc.version(str_of(&input, "DocumentVersion"))?;
    let version_name = v.version_name.clone();
    doc.default_version = n;
    DOCUMENTS.put(&doc.name, &doc)?;
    let mut d = json!({"Name": doc.name, "DefaultVersion": n.to_string()});
    if let Some(vn) = version_name {
        d["DefaultVersionName"] = json!(vn);
    }
    Ok(json!({"Description": d}))
}

pub fn delete_document(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let name = str_of(&input, "Name").unwrap_or_default();
    let mut doc = own_document(name)?;
    if str_of(&input, "DocumentVersion").is_none() && str_of(&input, "VersionName").is_none() {
        let associated = ASSOCIATIONS
            .values("")?
            .iter()
            .any(|a| str_of(a, "Name") == Some(doc.name.as_str()) && a.get("InstanceId").is_some());
        if associated && input["Force"].as_bool() != Some(true) {
            return Err(AwsError::new(
                "AssociatedInstances",
                "You must disassociate a document from all managed nodes before you can delete it.",
            ));
        }
        DOCUMENTS.delete(&doc.name);
        crate::tags::forget("Document", &doc.name);
        return Ok(json!({}));
    }
    let (n, _) = doc.select(
        str_of(&input, "DocumentVersion"),
        str_of(&input, "VersionName"),
    )?;
    if n == doc.default_version {
        return Err(AwsError::new(
            "InvalidDocumentOperation",
            "You can't delete the default version of a document.",
        ));
    }
    // Versions keep their numbers: a deleted one leaves an empty slot.
    doc.versions[n as usize - 1].content.clear();
    DOCUMENTS.put(&doc.name, &doc)?;
    Ok(json!({}))
}

fn matches_filters(doc: &Document, account: &str, filters: &[(String, Vec<String>)]) -> bool {
    filters.iter().all(|(k, vals)| match k.as_str() {
        "Owner" => vals.iter().any(|v| match v.as_str() {
            "Self" => doc.owner == account,
            "Amazon" => doc.is_aws(),
            "All" => true,
            "Private" => doc.owner == account && doc.shared.is_empty(),
            "Public" => doc.shared.iter().any(|(a, _)| a == "all"),
            "ThirdParty" => false,
            other => doc.owner == other,
        }),
        "DocumentType" => vals.contains(&doc.document_type),
        "Name" => vals.iter().any(|v| doc.name.starts_with(v.as_str())),
        "PlatformTypes" => vals.iter().any(|v| {
            doc.platforms()
                .as_array()
                .is_some_and(|p| p.contains(&json!(v)))
        }),
        "SearchKeyword" => vals.iter().any(|v| doc.name.contains(v.as_str())),
        "TargetType" => vals.iter().any(|v| doc.target_type.as_deref() == Some(v)),
        k if k.starts_with("tag:") => {
            let key = &k[4..];
            crate::tags::of("Document", &doc.name)
                .iter()
                .any(|t| t.key == key && (vals.is_empty() || vals.contains(&t.value)))
        }
        "tag-key" => crate::tags::of("Document", &doc.name)
            .iter()
            .any(|t| vals.contains(&t.key)),
        _ => true,
    })
}

pub fn list_documents(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let mut filters: Vec<(String, Vec<String>)> = string_filters(&input);
    // The older DocumentFilterList: one value per key.
    for f in input["DocumentFilterList"].as_array().into_iter().flatten() {
        filters.push((
            str_of(f, "key").unwrap_or_default().to_string(),
            vec![str_of(f, "value").unwrap_or_default().to_string()],
        ));
    }
    let mut docs: Vec<Document> = DOCUMENTS.values("")?;
    docs.extend(
        crate::aws_documents::all()
            .into_iter()
            .map(Document::from_aws),
    );
    docs.sort_by(|a, b| a.name.cmp(&b.name));
    let max = input["MaxResults"].as_u64().unwrap_or(50).clamp(1, 50) as usize;
    let start = match str_of(&input, "NextToken") {
        Some(t) => ministack_sdk::pagination::decode(t).ok_or_else(|| {
            AwsError::new("InvalidNextToken", "The specified token is not valid.")
        })?,
        None => String::new(),
    };
    let mut out = Vec::new();
    let mut next = None;
    for doc in docs.iter().filter(|d| d.name > start || start.is_empty()) {
        if !matches_filters(doc, &ctx.account, &filters) {
            continue;
        }
        if out.len() == max {
            next = out
                .last()
                .and_then(|d: &Value| str_of(d, "Name"))
                .map(ministack_sdk::pagination::encode);
            break;
        }
        out.push(doc.identifier()?);
    }
    let mut resp = json!({"DocumentIdentifiers": out});
    if let Some(t) = next {
        resp["NextToken"] = json!(t);
    }
    Ok(resp)
}

pub fn list_document_versions(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let doc = load_document(str_of(&input, "Name").unwrap_or_default())?;
    let versions: Vec<Value> = doc
        .versions
        .iter()
        .enumerate()
        .filter(|(_, v)| !v.content.is_empty())
        .map(|(i, v)| {
            let n = i as u32 + 1;
            let mut d = json!({
                "Name": doc.name,
                "DocumentVersion": n.to_string(),
                "CreatedDate": v.created,
                "IsDefaultVersion": n == doc.default_version,
                "DocumentFormat": doc.document_format,
                "Status": "Active",
            });
            if let Some(vn) = &v.version_name {
                d["VersionName"] = json!(vn);
            }
            if let Some(dn) = &doc.display_name {
                d["DisplayName"] = json!(dn);
            }
            d
        })
        .collect();
    crate::paging::page(
        json!({"DocumentVersions": versions}),
        "DocumentVersions",
        &input,
        50,
    )
}

pub fn describe_document_permission(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let doc = load_document(str_of(&input, "Name").unwrap_or_default())?;
    let ids: Vec<&str> = doc.shared.iter().map(|(a, _)| a.as_str()).collect();
    let info: Vec<Value> = doc
        .shared
        .iter()
        .map(|(a, v)| json!({"AccountId": a, "SharedDocumentVersion": v}))
        .collect();
    Ok(json!({"AccountIds": ids, "AccountSharingInfoList": info}))
}

pub fn modify_document_permission(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let mut doc = own_document(str_of(&input, "Name").unwrap_or_default())?;
    let list = |k: &str| -> Vec<String> {
        input[k]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect()
    };
    let (add, remove) = (list("AccountIdsToAdd"), list("AccountIdsToRemove"));
    for id in add.iter().chain(&remove) {
        let ok = id.eq_ignore_ascii_case("all")
            || (id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()));
        if !ok {
            return Err(AwsError::validation(format!(
                "1 validation error detected: Value '{id}' at 'accountIdsToAdd' failed to satisfy constraint: Member must satisfy regular expression pattern: (?i)all|[0-9]{{12}}"
            )));
        }
    }
    let version = match str_of(&input, "SharedDocumentVersion") {
        Some(v) if v != "$DEFAULT" && v != "$LATEST" => {
            doc.version(Some(v))?;
            v.to_string()
        }
        Some(v) => v.to_string(),
        None => "$DEFAULT".to_string(),
    };
    doc.shared
        .retain(|(a, _)| !remove.iter().any(|r| r.eq_ignore_ascii_case(a)));
    for id in add {
        let id = if id.eq_ignore_ascii_case("all") {
            "all".to_string()
        } else {
            id
        };
        match doc.shared.iter_mut().find(|(a, _)| *a == id) {
            Some(entry) => entry.1 = version.clone(),
            None => doc.shared.push((id, version.clone())),
        }
    }
    if doc.shared.len() > 1000 {
        return Err(AwsError::new(
            "DocumentPermissionLimit",
            "The document cannot be shared with more AWS accounts.",
        ));
    }
    DOCUMENTS.put(&doc.name, &doc)?;
    Ok(json!({}))
}

// --- State Manager associations ---

pub fn create_association(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let a = new_association(&input)?;
    Ok(json!({"AssociationDescription": a}))
}

fn new_association(input: &Value) -> Result<Value, AwsError> {
    let name = str_of(input, "Name").unwrap_or_default();
    if !document_exists(name)? {
        return Err(invalid_document(name));
    }
    if let Some(schedule) = str_of(input, "ScheduleExpression") {
        let well_formed = ["cron(", "rate(", "at("]
            .iter()
            .any(|p| schedule.starts_with(p))
            && schedule.ends_with(')')
            && schedule.len() > 6;
        if !well_formed {
            return Err(AwsError::new(
                "InvalidSchedule",
                format!(
                    "The schedule expression {schedule} is not valid: use cron(...), rate(...) or at(...)."
                ),
            ));
        }
    }
    if let Some(instance) = str_of(input, "InstanceId")
        && ASSOCIATIONS
            .values("")?
            .iter()
            .any(|a| str_of(a, "Name") == Some(name) && str_of(a, "InstanceId") == Some(instance))
    {
        return Err(AwsError::new(
            "AssociationAlreadyExists",
            "The specified association already exists.",
        ));
    }
    if input.get("InstanceId").is_some() && input.get("Targets").is_some() {
        return Err(AwsError::new(
            "InvalidTarget",
            "You can specify either InstanceId or Targets, not both.",
        ));
    }
    let id = ids::uuid();
    let now = time::now();
    let mut a = json!({
        "Name": name,
        "AssociationId": id,
        "AssociationVersion": "1",
        "Date": now,
        "LastUpdateAssociationDate": now,
        "Overview": {"Status": "Pending", "DetailedStatus": "Creating"},
        "DocumentVersion": str_of(input, "DocumentVersion").unwrap_or("$DEFAULT"),
        "ApplyOnlyAtCronInterval": input.get("ApplyOnlyAtCronInterval").cloned().unwrap_or(json!(false)),
    });
    for k in [
        "InstanceId",
        "Parameters",
        "Targets",
        "ScheduleExpression",
        "OutputLocation",
        "AssociationName",
        "AutomationTargetParameterName",
        "MaxErrors",
        "MaxConcurrency",
        "ComplianceSeverity",
        "SyncCompliance",
        "ScheduleOffset",
        "Duration",
        "TargetMaps",
    ] {
        if let Some(v) = input.get(k) {
            a[k] = v.clone();
        }
    }
    ASSOCIATIONS.put(&id, &a)?;
    ASSOCIATION_VERSIONS.put(&format!("{id}/{:010}", 1), &a)?;
    crate::tags::set("Association", &id, crate::tags::from_input(input))?;
    Ok(a)
}

pub fn association_exists(id: &str) -> bool {
    ASSOCIATIONS.contains(id)
}

pub fn create_association_batch(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let mut ok = Vec::new();
    let mut failed = Vec::new();
    for entry in input["Entries"].as_array().into_iter().flatten() {
        match new_association(entry) {
            Ok(a) => ok.push(a),
            Err(e) => failed.push(json!({"Entry": entry, "Message": e.message, "Fault": "Client"})),
        }
    }
    Ok(json!({"Successful": ok, "Failed": failed}))
}

pub fn list_association_versions(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let id = str_of(&input, "AssociationId").unwrap_or_default();
    load_association(id)?;
    let versions: Vec<Value> = ASSOCIATION_VERSIONS
        .values(&format!("{id}/"))?
        .into_iter()
        .map(|a| {
            let mut out = pick(
                &a,
                &[
                    "AssociationId",
                    "AssociationVersion",
                    "Name",
                    "DocumentVersion",
                    "Parameters",
                    "Targets",
                    "ScheduleExpression",
                    "OutputLocation",
                    "AssociationName",
                    "MaxErrors",
                    "MaxConcurrency",
                    "ComplianceSeverity",
                    "SyncCompliance",
                    "ApplyOnlyAtCronInterval",
                    "CalendarNames",
                    "TargetLocations",
                    "ScheduleOffset",
                    "Duration",
                    "TargetMaps",
                ],
            );
            out.insert("CreatedDate".into(), a["LastUpdateAssociationDate"].clone());
            Value::Object(out)
        })
        .collect();
    crate::paging::page(
        json!({"AssociationVersions": versions}),
        "AssociationVersions",
        &input,
        50,
    )
}

/// Nothing runs an association locally: no execution is ever recorded.
pub fn describe_association_executions(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    load_association(str_of(&input, "AssociationId").unwrap_or_default())?;
    Ok(json!({"AssociationExecutions": []}))
}

pub fn describe_association_execution_targets(
    _ctx: &Context,
    input: Value,
) -> Result<Value, AwsError> {
    load_association(str_of(&input, "AssociationId").unwrap_or_default())?;
    Err(not_found(
        "AssociationExecutionDoesNotExist",
        "The specified execution ID does not exist. Verify the ID number and try again.",
    ))
}

pub fn start_associations_once(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    for id in input["AssociationIds"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        load_association(id)?;
    }
    Ok(json!({}))
}

fn load_association(id: &str) -> Result<Value, AwsError> {
    ASSOCIATIONS.get(id)?.ok_or_else(|| {
        not_found(
            "AssociationDoesNotExist",
            "The specified association does not exist.",
        )
    })
}

pub fn describe_association(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let a = match str_of(&input, "AssociationId") {
        Some(id) => load_association(id)?,
        None => {
            let name = str_of(&input, "Name").unwrap_or_default();
            let instance = str_of(&input, "InstanceId");
            ASSOCIATIONS
                .values("")?
                .into_iter()
                .find(|a| str_of(a, "Name") == Some(name) && str_of(a, "InstanceId") == instance)
                .ok_or_else(|| {
                    not_found(
                        "AssociationDoesNotExist",
                        "The specified association does not exist.",
                    )
                })?
        }
    };
    Ok(json!({"AssociationDescription": a}))
}

pub fn update_association(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let id = str_of(&input, "AssociationId").unwrap_or_default();
    let mut a = load_association(id)?;
    for (k, v) in input.as_object().into_iter().flatten() {
        if k != "AssociationId" && k != "AssociationVersion" {
            a[k] = v.clone();
        }
    }
    let version = str_of(&a, "AssociationVersion")
        .and_then(|v| v.parse::<u32>().ok())
        .unwrap_or(1)
        + 1;
    a["AssociationVersion"] = json!(version.to_string());
    a["LastUpdateAssociationDate"] = json!(time::now());
    ASSOCIATIONS.put(id, &a)?;
    ASSOCIATION_VERSIONS.put(&format!("{id}/{version:010}"), &a)?;
    Ok(json!({"AssociationDescription": a}))
}

pub fn delete_association(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let id = match str_of(&input, "AssociationId") {
        Some(id) => id.to_string(),
        None => {
            let a = describe_association(_ctx, input.clone())?;
            str_of(&a["AssociationDescription"], "AssociationId")
                .unwrap_or_default()
                .to_string()
        }
    };
    load_association(&id)?;
    ASSOCIATIONS.delete(&id);
    ASSOCIATION_VERSIONS.delete_range(&Scan::prefix(format!("{id}/")));
    crate::tags::forget("Association", &id);
    Ok(json!({}))
}

pub fn list_associations(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let filters: Vec<(String, String)> = input["AssociationFilterList"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            (
                str_of(f, "key").unwrap_or_default().to_string(),
                str_of(f, "value").unwrap_or_default().to_string(),
            )
        })
        .collect();
    let list: Vec<Value> = ASSOCIATIONS
        .values("")?
        .into_iter()
        .filter(|a| {
            filters.iter().all(|(k, v)| match k.as_str() {
                "InstanceId" => {
                    str_of(a, "InstanceId") == Some(v)
                        || a["Targets"].as_array().into_iter().flatten().any(|t| {
                            t["Key"] == "InstanceIds"
                                && t["Values"]
                                    .as_array()
                                    .is_some_and(|vs| vs.contains(&json!(v)))
                        })
                }
                "Name" => str_of(a, "Name") == Some(v),
                "AssociationId" => str_of(a, "AssociationId") == Some(v),
                "AssociationName" => str_of(a, "AssociationName") == Some(v),
                "AssociationStatusName" => a["Overview"]["Status"] == json!(v),
                "ResourceGroupName" => a["Targets"].as_array().into_iter().flatten().any(|t| {
                    t["Key"] == "resource-groups:Name"
                        && t["Values"]
                            .as_array()
                            .is_some_and(|vs| vs.contains(&json!(v)))
                }),
                _ => true,
            })
        })
        .map(|a| {
            let out = pick(
                &a,
                &[
                    "Name",
                    "InstanceId",
                    "AssociationId",
                    "AssociationVersion",
                    "DocumentVersion",
                    "Targets",
                    "Overview",
                    "ScheduleExpression",
                    "AssociationName",
                    "ScheduleOffset",
                    "Duration",
                    "TargetMaps",
                    "LastExecutionDate",
                ],
            );
            Value::Object(out)
        })
        .collect();
    crate::paging::page(json!({"Associations": list}), "Associations", &input, 50)
}

// --- maintenance windows ---

fn window_not_found(id: &str) -> AwsError {
    not_found(
        "DoesNotExistException",
        format!("Maintenance window {id} does not exist"),
    )
}

pub fn create_maintenance_window(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let duration = input["Duration"].as_i64().unwrap_or(0);
    let cutoff = input["Cutoff"].as_i64().unwrap_or(0);
    if cutoff >= duration {
        return Err(AwsError::validation(
            "The cutoff time must be less than the duration of the maintenance window.",
        ));
    }
    let id = format!("mw-{}", ids::hex(17));
    let mut w = json!({"WindowId": id, "Enabled": true, "CreatedDate": time::now()});
    crate::tags::set("MaintenanceWindow", &id, crate::tags::from_input(&input))?;
    for (k, v) in input.as_object().into_iter().flatten() {
        if k != "ClientToken" && k != "Tags" {
            w[k] = v.clone();
        }
    }
    w["ModifiedDate"] = w["CreatedDate"].clone();
    WINDOWS.put(&id, &w)?;
    Ok(json!({"WindowId": id}))
}

fn load_window(id: &str) -> Result<Value, AwsError> {
    WINDOWS.get(id)?.ok_or_else(|| window_not_found(id))
}

pub fn get_maintenance_window(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let mut w = load_window(str_of(&input, "WindowId").unwrap_or_default())?;
    if let Some(o) = w.as_object_mut() {
        o.remove("Tags");
    }
    Ok(w)
}

pub fn update_maintenance_window(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let id = str_of(&input, "WindowId").unwrap_or_default();
    let mut w = load_window(id)?;
    // Replace: the optional members not given are cleared.
    if input["Replace"].as_bool() == Some(true)
        && let Some(o) = w.as_object_mut()
    {
        for k in [
            "Description",
            "StartDate",
            "EndDate",
            "ScheduleTimezone",
            "ScheduleOffset",
        ] {
            if input.get(k).is_none() {
                o.remove(k);
            }
        }
    }
    let duration = input["Duration"]
        .as_i64()
        .or(w["Duration"].as_i64())
        .unwrap_or(0);
    let cutoff = input["Cutoff"]
        .as_i64()
        .or(w["Cutoff"].as_i64())
        .unwrap_or(0);
    if cutoff >= duration {
        return Err(AwsError::validation(
            "The cutoff time must be less than the duration of the maintenance window.",
        ));
    }
    for (k, v) in input.as_object().into_iter().flatten() {
        if k != "Replace" {
            w[k] = v.clone();
        }
    }
    w["ModifiedDate"] = json!(time::now());
    WINDOWS.put(id, &w)?;
    let mut out = w.clone();
    for k in ["CreatedDate", "ModifiedDate", "Tags"] {
        if let Some(o) = out.as_object_mut() {
            o.remove(k);
        }
    }
    Ok(out)
}

pub fn delete_maintenance_window(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let id = str_of(&input, "WindowId").unwrap_or_default();
    load_window(id)?;
    WINDOWS.delete(id);
    crate::windows::forget_window(id);
    crate::tags::forget("MaintenanceWindow", id);
    Ok(json!({"WindowId": id}))
}

pub fn describe_maintenance_windows(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let filters: Vec<(String, Vec<Value>)> = value_filters(&input);
    let list: Vec<Value> = WINDOWS
        .values("")?
        .into_iter()
        .filter(|w| {
            filters.iter().all(|(k, vals)| match k.as_str() {
                "Name" => vals.contains(&w["Name"]),
                "Enabled" => {
                    vals.contains(&json!(w["Enabled"].as_bool().unwrap_or(true).to_string()))
                }
                _ => true,
            })
        })
        .map(|w| {
            let out = pick(
                &w,
                &[
                    "WindowId",
                    "Name",
                    "Description",
                    "Enabled",
                    "Duration",
                    "Cutoff",
                    "Schedule",
                    "ScheduleTimezone",
                    "ScheduleOffset",
                    "EndDate",
                    "StartDate",
                ],
            );
            Value::Object(out)
        })
        .collect();
    crate::paging::page(
        json!({"WindowIdentities": list}),
        "WindowIdentities",
        &input,
        50,
    )
}

// --- OpsItems ---

pub fn create_ops_item(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let id = format!("oi-{}", ids::hex(12));
    let now = time::now();
    let mut item = json!({
        "OpsItemId": id,
        "OpsItemArn": ctx.arn("ssm", &format!("opsitem/{id}")).to_string(),
        "CreatedBy": user_of(ctx),
        "LastModifiedBy": user_of(ctx),
        "CreatedTime": now,
        "LastModifiedTime": now,
        "Status": "Open",
        "Version": ids::uuid(),
    });
    for (k, v) in input.as_object().into_iter().flatten() {
        if k != "Tags" && k != "AccountId" {
            item[k] = v.clone();
        }
    }
    OPS_ITEMS.put(&id, &item)?;
    crate::tags::set("OpsItem", &id, crate::tags::from_input(&input))?;
    Ok(json!({"OpsItemId": id, "OpsItemArn": item["OpsItemArn"]}))
}

fn load_ops_item(id: &str) -> Result<Value, AwsError> {
    OPS_ITEMS.get(id)?.ok_or_else(|| {
        not_found(
            "OpsItemNotFoundException",
            format!("OpsItem with id {id} does not exist."),
        )
    })
}

pub fn get_ops_item(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    Ok(json!({"OpsItem": load_ops_item(str_of(&input, "OpsItemId").unwrap_or_default())?}))
}

pub fn update_ops_item(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let id = str_of(&input, "OpsItemId").unwrap_or_default();
    let mut item = load_ops_item(id)?;
    for (k, v) in input.as_object().into_iter().flatten() {
        match k.as_str() {
            "OperationalData" => {
                let mut data = item["OperationalData"]
                    .as_object()
                    .cloned()
                    .unwrap_or_default();
                data.extend(v.as_object().cloned().unwrap_or_default());
                item["OperationalData"] = Value::Object(data);
            }
            "OperationalDataToDelete" => {
                if let Some(data) = item["OperationalData"].as_object_mut() {
                    for key in v.as_array().into_iter().flatten().filter_map(Value::as_str) {
                        data.remove(key);
                    }
                }
            }
            "OpsItemArn" => {}
            _ => item[k] = v.clone(),
        }
    }
    item["LastModifiedTime"] = json!(time::now());
    item["LastModifiedBy"] = json!(user_of(ctx));
    item["Version"] = json!(ids::uuid());
    OPS_ITEMS.put(id, &item)?;
    Ok(json!({}))
}

pub fn delete_ops_item(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let id = str_of(&input, "OpsItemId").unwrap_or_default();
    OPS_ITEMS.delete(id);
    RELATED_ITEMS.delete_range(&Scan::prefix(format!("{id}/")));
    crate::tags::forget("OpsItem", id);
    Ok(json!({}))
}

pub fn ops_item_exists(id: &str) -> bool {
    OPS_ITEMS.contains(id)
}

/// `OpsItem id/association id` → the related item.
const RELATED_ITEMS: Table<Value> = Table::new("ops-item-related-items");

pub fn associate_ops_item_related_item(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let ops_item = str_of(&input, "OpsItemId").unwrap_or_default();
    load_ops_item(ops_item)?;
    let uri = str_of(&input, "ResourceUri").unwrap_or_default();
    if RELATED_ITEMS
        .values(&format!("{ops_item}/"))?
        .iter()
        .any(|r| str_of(r, "ResourceUri") == Some(uri))
    {
        return Err(AwsError::new(
            "OpsItemRelatedItemAlreadyExistsException",
            format!("The resource {uri} is already associated with the OpsItem {ops_item}."),
        )
        .with_member("ResourceUri", json!(uri))
        .with_member("OpsItemId", json!(ops_item)));
    }
    let id = ids::uuid();
    let now = time::now();
    let who = json!({"Arn": user_of(ctx)});
    let item = json!({
        "OpsItemId": ops_item,
        "AssociationId": id,
        "ResourceType": str_of(&input, "ResourceType"),
        "AssociationType": str_of(&input, "AssociationType"),
        "ResourceUri": uri,
        "CreatedBy": who,
        "CreatedTime": now,
        "LastModifiedBy": who,
        "LastModifiedTime": now,
    });
    RELATED_ITEMS.put(&format!("{ops_item}/{id}"), &item)?;
    Ok(json!({"AssociationId": id}))
}

pub fn disassociate_ops_item_related_item(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let ops_item = str_of(&input, "OpsItemId").unwrap_or_default();
    load_ops_item(ops_item)?;
    let id = str_of(&input, "AssociationId").unwrap_or_default();
    if !RELATED_ITEMS.delete(&format!("{ops_item}/{id}")) {
        return Err(not_found(
            "OpsItemRelatedItemAssociationNotFoundException",
            "The association wasn't found using the parameters you specified in the call. Verify the information and try again.",
        ));
    }
    Ok(json!({}))
}

pub fn list_ops_item_related_items(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let prefix = match str_of(&input, "OpsItemId") {
        Some(id) => format!("{id}/"),
        None => String::new(),
    };
    crate::paging::page(
        json!({"Summaries": RELATED_ITEMS.values(&prefix)?}),
        "Summaries",
        &input,
        50,
    )
}

/// OpsItem events come from EventBridge rules AWS runs; none exist locally.
pub fn list_ops_item_events(_ctx: &Context, _input: Value) -> Result<Value, AwsError> {
    Ok(json!({"Summaries": []}))
}

/// One OpsItemFilter: Equal / Contains on text, GreaterThan / LessThan on
/// numbers (Priority) and times.
fn ops_filter_matches(item: &Value, f: &Value) -> bool {
    let field = match str_of(f, "Key").unwrap_or_default() {
        "OpsItemId" | "Title" | "Source" | "Status" | "Priority" | "Severity" | "Category"
        | "OpsItemType" | "CreatedTime" | "LastModifiedTime" => {
            str_of(f, "Key").unwrap_or_default()
        }
        "CreatedBy" => "CreatedBy",
        _ => return true,
    };
    let value = &item[field];
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let number = value.as_f64();
    f["Values"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .any(|want| match str_of(f, "Operator").unwrap_or("Equal") {
            "Contains" => text.contains(want),
            "GreaterThan" => match (number, want.parse::<f64>()) {
                (Some(n), Ok(w)) => n > w,
                _ => text.as_str() > want,
            },
            "LessThan" => match (number, want.parse::<f64>()) {
                (Some(n), Ok(w)) => n < w,
                _ => text.as_str() < want,
            },
            _ => text == want,
        })
}

pub fn describe_ops_items(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let filters: Vec<Value> = input["OpsItemFilters"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let list: Vec<Value> = OPS_ITEMS
        .values("")?
        .into_iter()
        .filter(|i| filters.iter().all(|f| ops_filter_matches(i, f)))
        .map(|i| {
            let out = pick(
                &i,
                &[
                    "OpsItemId",
                    "Title",
                    "Source",
                    "Status",
                    "Priority",
                    "Severity",
                    "Category",
                    "OpsItemType",
                    "CreatedBy",
                    "CreatedTime",
                    "LastModifiedBy",
                    "LastModifiedTime",
                    "OperationalData",
                ],
            );
            Value::Object(out)
        })
        .collect();
    crate::paging::page(
        json!({"OpsItemSummaries": list}),
        "OpsItemSummaries",
        &input,
        50,
    )
}

// --- inventory ---

pub fn put_inventory(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let instance = str_of(&input, "InstanceId").unwrap_or_default();
    for item in input["Items"].as_array().into_iter().flatten() {
        let type_name = str_of(item, "TypeName").unwrap_or_default();
        if !(type_name.starts_with("AWS:") || type_name.starts_with("Custom:")) {
            return Err(AwsError::new(
                "InvalidTypeNameException",
                format!("The type name {type_name} is not valid."),
            ));
        }
        INVENTORY.put(&format!("{instance}/{type_name}"), item)?;
    }
    Ok(json!({}))
}

/// The inventory types AWS defines, with their attributes.
const AWS_INVENTORY_TYPES: &[(&str, &[(&str, &str)])] = &[
    (
        "AWS:Application",
        &[
            ("Name", "string"),
            ("ApplicationType", "string"),
            ("Publisher", "string"),
            ("Version", "string"),
            ("InstalledTime", "string"),
            ("Architecture", "string"),
            ("URL", "string"),
        ],
    ),
    (
        "AWS:AWSComponent",
        &[
            ("Name", "string"),
            ("ApplicationType", "string"),
            ("Publisher", "string"),
            ("Version", "string"),
            ("InstalledTime", "string"),
            ("Architecture", "string"),
            ("URL", "string"),
        ],
    ),
    (
        "AWS:Network",
        &[
            ("Name", "string"),
            ("SubnetMask", "string"),
            ("Gateway", "string"),
            ("DHCPServer", "string"),
            ("DNSServer", "string"),
            ("MacAddress", "string"),
            ("IPV4", "string"),
            ("IPV6", "string"),
        ],
    ),
    (
        "AWS:WindowsUpdate",
        &[
            ("HotFixId", "string"),
            ("Description", "string"),
            ("InstalledTime", "string"),
            ("InstalledBy", "string"),
        ],
    ),
    (
        "AWS:InstanceInformation",
        &[
            ("AgentType", "string"),
            ("AgentVersion", "string"),
            ("ComputerName", "string"),
            ("InstanceId", "string"),
            ("IpAddress", "string"),
            ("PlatformName", "string"),
            ("PlatformType", "string"),
            ("PlatformVersion", "string"),
            ("ResourceType", "string"),
        ],
    ),
];

pub fn get_inventory_schema(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let wanted = str_of(&input, "TypeName");
    let mut schemas: Vec<Value> = AWS_INVENTORY_TYPES
        .iter()
        .map(|(name, attrs)| {
            let attrs: Vec<Value> = attrs
                .iter()
                .map(|(n, t)| json!({"Name": n, "DataType": t}))
                .collect();
            json!({"TypeName": name, "Version": "1.0", "Attributes": attrs})
        })
        .collect();
    // Custom types: the attributes are the keys their items carry.
    let mut custom: std::collections::BTreeMap<
        String,
        (String, std::collections::BTreeSet<String>),
    > = Default::default();
    for (key, item) in INVENTORY.scan(&Scan::prefix(""))? {
        let type_name = key.split_once('/').map_or("", |(_, t)| t).to_string();
        if !type_name.starts_with("Custom:") {
            continue;
        }
        let entry = custom.entry(type_name).or_default();
        entry.0 = str_of(&item, "SchemaVersion").unwrap_or("1.0").to_string();
        for row in item["Content"].as_array().into_iter().flatten() {
            entry.1.extend(
                row.as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, _)| k.clone()),
            );
        }
    }
    for (name, (version, attrs)) in custom {
        let attrs: Vec<Value> = attrs
            .iter()
            .map(|n| json!({"Name": n, "DataType": "string"}))
            .collect();
        schemas.push(json!({"TypeName": name, "Version": version, "Attributes": attrs}));
    }
    if let Some(t) = wanted {
        schemas.retain(|s| s["TypeName"] == t);
        if schemas.is_empty() && !(t.starts_with("AWS:") || t.starts_with("Custom:")) {
            return Err(AwsError::new(
                "InvalidTypeNameException",
                format!("The type name {t} is not valid."),
            ));
        }
    }
    Ok(json!({"Schemas": schemas}))
}

/// Deletions finish at once (there is no fleet to sweep): id → record.
const INVENTORY_DELETIONS: Table<Value> = Table::new("inventory-deletions");

pub fn delete_inventory(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let type_name = str_of(&input, "TypeName").unwrap_or_default();
    if !type_name.starts_with("Custom:") {
        return Err(AwsError::new(
            "InvalidTypeNameException",
            format!("Only custom inventory types can be deleted; {type_name} is not one."),
        ));
    }
    let keys: Vec<String> = INVENTORY
        .scan(&Scan::prefix(""))?
        .into_iter()
        .map(|(k, _)| k)
        .filter(|k| k.split_once('/').is_some_and(|(_, t)| t == type_name))
        .collect();
    let count = keys.len();
    if input["DryRun"].as_bool() != Some(true) {
        for k in &keys {
            INVENTORY.delete(k);
        }
    }
    let id = ids::uuid();
    let summary = json!({
        "TotalCount": count,
        "RemainingCount": 0,
        "SummaryItems": [{"Version": "1.0", "Count": count, "RemainingCount": 0}],
    });
    let now = time::now();
    INVENTORY_DELETIONS.put(
        &id,
        &json!({
            "DeletionId": id,
            "TypeName": type_name,
            "DeletionStartTime": now,
            "LastStatus": "Complete",
            "LastStatusMessage": "Deletion is successful",
            "DeletionSummary": summary,
            "LastStatusUpdateTime": now,
        }),
    )?;
    Ok(json!({"DeletionId": id, "TypeName": type_name, "DeletionSummary": summary}))
}

pub fn describe_inventory_deletions(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let list = match str_of(&input, "DeletionId") {
        Some(id) => vec![INVENTORY_DELETIONS.get(id)?.ok_or_else(|| {
            AwsError::new(
                "InvalidDeletionIdException",
                "The ID specified for the delete operation does not exist or is not valid. Verify the ID and try again.",
            )
        })?],
        None => INVENTORY_DELETIONS.values("")?,
    };
    crate::paging::page(
        json!({"InventoryDeletions": list}),
        "InventoryDeletions",
        &input,
        50,
    )
}

pub fn get_inventory(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let mut by_instance: std::collections::BTreeMap<String, Map<String, Value>> =
        Default::default();
    for (key, item) in INVENTORY.scan(&Scan::prefix(""))? {
        let (instance, type_name) = key.split_once('/').unwrap_or((&key, ""));
        by_instance
            .entry(instance.to_string())
            .or_default()
            .insert(type_name.to_string(), item);
    }
    let entities: Vec<Value> = by_instance
        .into_iter()
        .map(|(id, data)| json!({"Id": id, "Data": data}))
        .collect();
    crate::paging::page(json!({"Entities": entities}), "Entities", &input, 50)
}

pub fn list_inventory_entries(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let instance = str_of(&input, "InstanceId").unwrap_or_default();
    let type_name = str_of(&input, "TypeName").unwrap_or_default();
    let item = INVENTORY
        .get(&format!("{instance}/{type_name}"))?
        .unwrap_or(Value::Null);
    let mut out = json!({
        "TypeName": type_name,
        "InstanceId": instance,
        "Entries": item.get("Content").cloned().unwrap_or(json!([])),
    });
    for k in ["SchemaVersion", "CaptureTime"] {
        if let Some(v) = item.get(k) {
            out[k] = v.clone();
        }
    }
    Ok(out)
}

// --- Session Manager ---

/// Sessions need the SSM agent on a managed instance; none exists here.
pub fn start_session(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let target = str_of(&input, "Target").unwrap_or_default();
    if let Some(doc) = str_of(&input, "DocumentName") {
        load_document(doc)?;
    }
    Err(AwsError::new(
        "TargetNotConnected",
        format!(
            "{target} is not connected: Session Manager needs the SSM agent on a managed instance, and ministack runs none."
        ),
    ))
}

// --- associations seen from one instance ---

/// Associations that name the instance directly or by an InstanceIds target.
fn associations_of(instance: &str) -> Result<Vec<Value>, AwsError> {
    Ok(ASSOCIATIONS
        .values("")?
        .into_iter()
        .filter(|a| {
            str_of(a, "InstanceId") == Some(instance)
                || a["Targets"].as_array().into_iter().flatten().any(|t| {
                    t["Key"] == "InstanceIds"
                        && t["Values"]
                            .as_array()
                            .is_some_and(|v| v.contains(&json!(instance)))
                })
        })
        .collect())
}

pub fn describe_effective_instance_associations(
    _ctx: &Context,
    input: Value,
) -> Result<Value, AwsError> {
    let instance = str_of(&input, "InstanceId").unwrap_or_default();
    let mut out = Vec::new();
    for a in associations_of(instance)? {
        // An AWS document whose content is not kept here reads as `{}`.
        let content = match find_document(str_of(&a, "Name").unwrap_or_default())? {
            Some(doc) => doc
                .version(str_of(&a, "DocumentVersion"))
                .map(|(_, v)| v.content.clone())
                .unwrap_or_default(),
            None => "{}".to_string(),
        };
        out.push(json!({
            "AssociationId": a["AssociationId"],
            "InstanceId": instance,
            "Content": content,
            "AssociationVersion": a["AssociationVersion"],
        }));
    }
    Ok(json!({"Associations": out}))
}

pub fn describe_instance_associations_status(
    _ctx: &Context,
    input: Value,
) -> Result<Value, AwsError> {
    let instance = str_of(&input, "InstanceId").unwrap_or_default();
    let out: Vec<Value> = associations_of(instance)?
        .into_iter()
        .map(|a| {
            let status = a["Status"]["Name"]
                .as_str()
                .or(a["Overview"]["Status"].as_str())
                .unwrap_or("Pending")
                .to_string();
            let mut s = json!({
                "AssociationId": a["AssociationId"],
                "Name": a["Name"],
                "DocumentVersion": a["DocumentVersion"],
                "AssociationVersion": a["AssociationVersion"],
                "InstanceId": instance,
                "ExecutionDate": a["LastUpdateAssociationDate"],
                "Status": status,
                "DetailedStatus": status,
            });
            if let Some(n) = a.get("AssociationName") {
                s["AssociationName"] = n.clone();
            }
            s
        })
        .collect();
    Ok(json!({"InstanceAssociationStatusInfos": out}))
}

pub fn update_association_status(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let name = str_of(&input, "Name").unwrap_or_default();
    let instance = str_of(&input, "InstanceId").unwrap_or_default();
    let mut a = ASSOCIATIONS
        .values("")?
        .into_iter()
        .find(|a| str_of(a, "Name") == Some(name) && str_of(a, "InstanceId") == Some(instance))
        .ok_or_else(|| {
            not_found(
                "AssociationDoesNotExist",
                "The specified association does not exist.",
            )
        })?;
    let status = input["AssociationStatus"].clone();
    if a["Status"]["Name"] == status["Name"] && a["Status"]["Message"] == status["Message"] {
        return Err(AwsError::new(
            "StatusUnchanged",
            "The updated status is the same as the current status.",
        ));
    }
    a["Status"] = status.clone();
    a["Overview"] = json!({"Status": status["Name"], "DetailedStatus": status["Name"]});
    a["LastUpdateAssociationDate"] = json!(time::now());
    let id = str_of(&a, "AssociationId").unwrap_or_default().to_string();
    ASSOCIATIONS.put(&id, &a)?;
    Ok(json!({"AssociationDescription": a}))
}

// --- Change Calendar ---

/// A calendar is open unless its type is DEFAULT_CLOSED (events, which
/// would flip it for their duration, are not evaluated).
pub fn get_calendar_state(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let mut state = "OPEN";
    for name in input["CalendarNames"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        let doc = load_document(name)?;
        if doc.document_type != "ChangeCalendar" {
            return Err(AwsError::new(
                "InvalidDocumentType",
                format!("The document {name} is not a change calendar."),
            ));
        }
        let (_, v) = doc.version(None)?;
        if v.content.contains("X-CALENDAR-TYPE:DEFAULT_CLOSED") {
            state = "CLOSED";
        }
    }
    let at = str_of(&input, "AtTime")
        .map(str::to_string)
        .unwrap_or_else(|| time::iso8601(time::now_secs()));
    Ok(json!({"State": state, "AtTime": at}))
}

// --- document reviews (Change Manager) ---

pub fn update_document_metadata(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let mut doc = own_document(str_of(&input, "Name").unwrap_or_default())?;
    let (n, _) = doc.version(str_of(&input, "DocumentVersion"))?;
    let review = &input["DocumentReviews"];
    let status = match str_of(review, "Action").unwrap_or_default() {
        "Approve" => "APPROVED",
        "Reject" => "REJECTED",
        _ => "PENDING",
    };
    let now = time::now();
    let mut response = json!({
        "CreateTime": now,
        "UpdatedTime": now,
        "ReviewStatus": status,
        "Reviewer": user_of(ctx),
    });
    if let Some(c) = review.get("Comment") {
        response["Comment"] = c.clone();
    }
    doc.reviews.push((n, response));
    DOCUMENTS.put(&doc.name, &doc)?;
    Ok(json!({}))
}

pub fn list_document_metadata_history(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let doc = load_document(str_of(&input, "Name").unwrap_or_default())?;
    let (n, _) = doc.version(str_of(&input, "DocumentVersion"))?;
    let responses: Vec<&Value> = doc
        .reviews
        .iter()
        .filter(|(v, _)| *v == n)
        .map(|(_, r)| r)
        .collect();
    let mut out = json!({
        "Name": doc.name,
        "DocumentVersion": n.to_string(),
        "Metadata": {"ReviewerResponse": responses},
    });
    if let Some(a) = &doc.author {
        out["Author"] = json!(a);
    }
    Ok(out)
}
