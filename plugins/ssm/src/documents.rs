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
const WINDOWS: Table<Value> = Table::new("maintenance-windows");
const OPS_ITEMS: Table<Value> = Table::new("ops-items");
/// `instance/type name` → the inventory item.
const INVENTORY: Table<Value> = Table::new("inventory");

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
    tags: Vec<Value>,
    versions: Vec<DocumentVersion>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default)]
struct DocumentVersion {
    content: String,
    version_name: Option<String>,
    created: f64,
}

fn str_of<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str)
}

fn not_found(code: &str, message: impl Into<String>) -> AwsError {
    AwsError::not_found(code, message)
}

fn invalid_document(name: &str) -> AwsError {
    AwsError::new(
        "InvalidDocument",
        format!("Document with name {name} does not exist."),
    )
}

/// The content as JSON (JSON or YAML documents); YAML is kept as text.
fn parse_content(content: &str, format: &str) -> Result<Value, AwsError> {
    if format == "YAML" || format == "TEXT" {
        return Ok(Value::Null);
    }
    let v: Value = serde_json::from_str(content).map_err(|_| {
        AwsError::new(
            "InvalidDocumentContent",
            "The content for the document is not valid.",
        )
    })?;
    if !v.is_object() {
        return Err(AwsError::new(
            "InvalidDocumentContent",
            "The content for the document is not valid.",
        ));
    }
    Ok(v)
}

impl Document {
    fn version(&self, selector: Option<&str>) -> Result<(u32, &DocumentVersion), AwsError> {
        let n = match selector {
            None | Some("$DEFAULT") => self.default_version,
            Some("$LATEST") => self.versions.len() as u32,
            Some(s) => s.parse::<u32>().map_err(|_| {
                AwsError::new(
                    "InvalidDocumentVersion",
                    "The document version is not valid or does not exist.",
                )
            })?,
        };
        let v = self
            .versions
            .get((n as usize).wrapping_sub(1))
            .ok_or_else(|| {
                AwsError::new(
                    "InvalidDocumentVersion",
                    "The document version is not valid or does not exist.",
                )
            })?;
        Ok((n, v))
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
            "PlatformTypes": ["Windows", "Linux", "MacOS"],
            "DocumentType": self.document_type,
            "SchemaVersion": content["schemaVersion"].as_str().unwrap_or("2.2"),
            "LatestVersion": self.versions.len().to_string(),
            "DefaultVersion": self.default_version.to_string(),
            "DocumentFormat": self.document_format,
            "Tags": self.tags,
        });
        if !params.is_empty() {
            d["Parameters"] = json!(params);
        }
        if let Some(desc) = content["description"].as_str() {
            d["Description"] = json!(desc);
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
}

fn load_document(name: &str) -> Result<Document, AwsError> {
    DOCUMENTS.get(name)?.ok_or_else(|| invalid_document(name))
}

pub fn create_document(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let name = str_of(&input, "Name").unwrap_or_default().to_string();
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
    parse_content(&content, &format)?;
    let now = time::now();
    let doc = Document {
        name: name.clone(),
        document_type: str_of(&input, "DocumentType")
            .unwrap_or("Command")
            .to_string(),
        document_format: format,
        target_type: str_of(&input, "TargetType").map(str::to_string),
        display_name: str_of(&input, "DisplayName").map(str::to_string),
        default_version: 1,
        owner: ctx.account.clone(),
        created: now,
        tags: input["Tags"].as_array().cloned().unwrap_or_default(),
        versions: vec![DocumentVersion {
            content,
            version_name: str_of(&input, "VersionName").map(str::to_string),
            created: now,
        }],
    };
    DOCUMENTS.put(&name, &doc)?;
    Ok(json!({"DocumentDescription": doc.description(1, &doc.versions[0])}))
}

pub fn get_document(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let name = str_of(&input, "Name").unwrap_or_default();
    let doc = load_document(name)?;
    let (n, v) = doc.version(str_of(&input, "DocumentVersion"))?;
    let mut out = json!({
        "Name": doc.name,
        "CreatedDate": v.created,
        "DocumentVersion": n.to_string(),
        "Status": "Active",
        "Content": v.content,
        "DocumentType": doc.document_type,
        "DocumentFormat": doc.document_format,
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
    let (n, v) = doc.version(str_of(&input, "DocumentVersion"))?;
    Ok(json!({"Document": doc.description(n, v)}))
}

pub fn update_document(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let mut doc = load_document(str_of(&input, "Name").unwrap_or_default())?;
    if let Some(requested) = str_of(&input, "DocumentVersion")
        && requested != "$LATEST"
        && requested != doc.versions.len().to_string()
    {
        return Err(AwsError::new(
            "InvalidDocumentVersion",
            "The document version is not valid or does not exist.",
        ));
    }
    let content = str_of(&input, "Content").unwrap_or_default().to_string();
    if let Some(format) = str_of(&input, "DocumentFormat") {
        doc.document_format = format.to_string();
    }
    parse_content(&content, &doc.document_format)?;
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
    let mut doc = load_document(str_of(&input, "Name").unwrap_or_default())?;
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
    let mut doc = load_document(name)?;
    match str_of(&input, "DocumentVersion") {
        None => {
            DOCUMENTS.delete(name);
        }
        Some(_) => {
            let (n, _) = doc.version(str_of(&input, "DocumentVersion"))?;
            if n == doc.default_version {
                return Err(AwsError::new(
                    "InvalidDocumentOperation",
                    "You can't delete the default version of a document.",
                ));
            }
            // Versions keep their numbers: a deleted one leaves an empty slot.
            doc.versions[n as usize - 1].content.clear();
            DOCUMENTS.put(name, &doc)?;
        }
    }
    Ok(json!({}))
}

pub fn list_documents(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let filters: Vec<(String, Vec<String>)> = input["Filters"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            (
                str_of(f, "Key").unwrap_or_default().to_string(),
                f["Values"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect(),
            )
        })
        .collect();
    let mut out = Vec::new();
    for doc in DOCUMENTS.values("")? {
        let keep = filters.iter().all(|(k, vals)| match k.as_str() {
            "Owner" => vals.iter().any(|v| v == "Self" || v == &doc.owner),
            "DocumentType" => vals.contains(&doc.document_type),
            "Name" => vals.iter().any(|v| doc.name.starts_with(v.as_str())),
            _ => true,
        });
        if !keep {
            continue;
        }
        let (n, v) = doc.version(None)?;
        let mut d = json!({
            "Name": doc.name,
            "CreatedDate": doc.created,
            "Owner": doc.owner,
            "PlatformTypes": ["Windows", "Linux", "MacOS"],
            "DocumentVersion": n.to_string(),
            "DocumentType": doc.document_type,
            "SchemaVersion": "2.2",
            "DocumentFormat": doc.document_format,
            "Tags": doc.tags,
        });
        if let Some(vn) = &v.version_name {
            d["VersionName"] = json!(vn);
        }
        out.push(d);
    }
    let _ = ctx;
    Ok(json!({"DocumentIdentifiers": out}))
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
            d
        })
        .collect();
    Ok(json!({"DocumentVersions": versions}))
}

// --- State Manager associations ---

pub fn create_association(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let name = str_of(&input, "Name").unwrap_or_default();
    if !name.starts_with("AWS-") && !name.starts_with("AWS") && !DOCUMENTS.contains(name) {
        return Err(invalid_document(name));
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
        "DocumentVersion": str_of(&input, "DocumentVersion").unwrap_or("$DEFAULT"),
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
    let _ = ctx;
    ASSOCIATIONS.put(&id, &a)?;
    Ok(json!({"AssociationDescription": a}))
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
    Ok(json!({}))
}

pub fn list_associations(_ctx: &Context, _input: Value) -> Result<Value, AwsError> {
    let list: Vec<Value> = ASSOCIATIONS
        .values("")?
        .into_iter()
        .map(|a| {
            let mut out = Map::new();
            for k in [
                "Name",
                "InstanceId",
                "AssociationId",
                "AssociationVersion",
                "DocumentVersion",
                "Targets",
                "Overview",
                "ScheduleExpression",
                "AssociationName",
            ] {
                if let Some(v) = a.get(k) {
                    out.insert(k.into(), v.clone());
                }
            }
            Value::Object(out)
        })
        .collect();
    Ok(json!({"Associations": list}))
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
    for (k, v) in input.as_object().into_iter().flatten() {
        if k != "ClientToken" {
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
    Ok(json!({"WindowId": id}))
}

pub fn describe_maintenance_windows(_ctx: &Context, _input: Value) -> Result<Value, AwsError> {
    let list: Vec<Value> = WINDOWS
        .values("")?
        .into_iter()
        .map(|w| {
            let mut out = Map::new();
            for k in [
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
            ] {
                if let Some(v) = w.get(k) {
                    out.insert(k.into(), v.clone());
                }
            }
            Value::Object(out)
        })
        .collect();
    Ok(json!({"WindowIdentities": list}))
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
    OPS_ITEMS.delete(str_of(&input, "OpsItemId").unwrap_or_default());
    Ok(json!({}))
}

pub fn describe_ops_items(_ctx: &Context, _input: Value) -> Result<Value, AwsError> {
    let list: Vec<Value> = OPS_ITEMS
        .values("")?
        .into_iter()
        .map(|i| {
            let mut out = Map::new();
            for k in [
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
            ] {
                if let Some(v) = i.get(k) {
                    out.insert(k.into(), v.clone());
                }
            }
            Value::Object(out)
        })
        .collect();
    Ok(json!({"OpsItemSummaries": list}))
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

pub fn get_inventory(_ctx: &Context, _input: Value) -> Result<Value, AwsError> {
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
    Ok(json!({"Entities": entities}))
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
    Err(AwsError::new(
        "TargetNotConnected",
        format!(
            "{target} is not connected: Session Manager needs the SSM agent on a managed instance, and ministack runs none."
        ),
    ))
}
