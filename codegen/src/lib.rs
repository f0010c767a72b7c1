//! # ministack-codegen: typed shapes from a plugin's botocore model
//!
//! A plugin's `build.rs` turns `model/service-2.json` into serde types, written
//! to `OUT_DIR` and included with `ministack_sdk::include_shapes!`:
//!
//! ```text
//! // build.rs
//! fn main() {
//!     ministack_codegen::Codegen::new("model/service-2.json").write("shapes.rs");
//! }
//! // src/lib.rs
//! ministack_sdk::include_shapes!(pub mod shapes);
//! use shapes::{CreateQueueInput, CreateQueueOutput};
//! fn create_queue(ctx: &Context, input: CreateQueueInput) -> Result<CreateQueueOutput, AwsError> { .. }
//! ```
//!
//! What comes out (the JSON form of docs/json-conventions.md):
//!
//! - a `struct` per structure shape reachable from the operations (and every
//!   error shape), fields in model order, `#[serde(rename = "<member>")]`;
//!   required members are plain fields, optional ones `Option` left out of
//!   the output when `None`; required lists and maps are plain and default
//!   to empty (the query protocol cannot tell an empty list from none);
//!   a member that would make a structure contain itself is boxed;
//! - a string shape with an `enum` list becomes a Rust enum through
//!   `ministack_sdk::shape_enum!` (`as_str`, `From<&str>`, `Display`, serde
//!   as the string; values the model does not list land in `Unknown(String)`);
//! - lists `Vec<T>`, maps `BTreeMap<K, V>` (sorted: deterministic output),
//!   integers `i32`, longs `i64`, floats and doubles `f64`, booleans `bool`,
//!   timestamps `f64` epoch seconds, blobs base64 `String`, streaming blobs
//!   `ministack_sdk::blobs::StreamingBlob` (a host blob reference or base64),
//!   documents `ministack_sdk::shapes::Value`; unions and event-stream
//!   shapes are structures with every member optional (one set); an
//!   event-stream member is a `Vec` of events;
//! - error shapes also get `new(message)` and `From<Shape> for AwsError`, so
//!   `Err(QueueDoesNotExist::new("...").into())` or `?` on them works;
//! - per operation, `<Op>Input` / `<Op>Output` aliases of the model's input
//!   and output shapes (`ministack_sdk::Empty` when there is none), and
//!   `OPERATIONS`, every operation's name.
//!
//! Output is deterministic (sorted by shape name) and depends on nothing but
//! the model, so it reruns only when the model changes.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

/// Generates the shapes of one model (builder; see the crate docs).
#[derive(Debug, Clone)]
pub struct Codegen {
    model: PathBuf,
    operations: Option<BTreeSet<String>>,
    sdk: String,
    needed_derives: bool,
}

impl Codegen {
    /// The model file, relative to the crate's manifest directory (as build
    /// scripts run) or absolute.
    pub fn new(model: impl AsRef<Path>) -> Self {
        Codegen {
            model: model.as_ref().to_path_buf(),
            operations: None,
            sdk: "::ministack_sdk".to_string(),
            needed_derives: false,
        }
    }

    /// Generates only the shapes these operations reach (plus every error
    /// shape): less code to compile for a plugin that uses few operations of a
    /// big model.
    pub fn operations(mut self, operations: &[&str]) -> Self {
        self.operations = Some(operations.iter().map(|s| s.to_string()).collect());
        self
    }

    /// Derives only what a plugin needs: `Deserialize` for the shapes its
    /// inputs reach, `Serialize` for those its outputs and errors reach
    /// (both for shapes used both ways). Less to compile; a plugin that also
    /// serializes an input or reads an output (a forwarder, a test) keeps
    /// the default, both on every structure.
    pub fn only_needed_derives(mut self) -> Self {
        self.needed_derives = true;
        self
    }

    /// How the generated code names the SDK crate (`::ministack_sdk`).
    pub fn sdk_path(mut self, path: &str) -> Self {
        self.sdk = path.to_string();
        self
    }

    /// The generated Rust source.
    pub fn generate(&self) -> Result<String, String> {
        let text = std::fs::read_to_string(&self.model)
            .map_err(|e| format!("cannot read {}: {e}", self.model.display()))?;
        let label = self
            .model
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        generate_shapes(
            &text,
            self.operations.as_ref(),
            &self.sdk,
            &label,
            self.needed_derives,
        )
    }

    /// For `build.rs`: writes the source to `$OUT_DIR/<file_name>` (only when
    /// it changed, so nothing recompiles needlessly) and tells cargo to rerun
    /// when the model changes. Panics with the reason on a bad model: a build
    /// script has no better way to fail.
    pub fn write(&self, file_name: &str) {
        println!("cargo:rerun-if-changed={}", self.model.display());
        let out_dir = std::env::var_os("OUT_DIR").expect("OUT_DIR is set for build scripts");
        let path = Path::new(&out_dir).join(file_name);
        let code = self
            .generate()
            .unwrap_or_else(|e| panic!("ministack-codegen: {e}"));
        if std::fs::read_to_string(&path).ok().as_deref() != Some(code.as_str()) {
            std::fs::write(&path, code).unwrap_or_else(|e| {
                panic!("ministack-codegen: cannot write {}: {e}", path.display())
            });
        }
    }
}

/// Generates the shapes of a model given as JSON text. `operations` limits the
/// roots (every operation when `None`); `sdk` is the path of the SDK crate in
/// the generated code; `label` names the model in the header comment.
pub fn generate(
    model_json: &str,
    operations: Option<&BTreeSet<String>>,
    sdk: &str,
    label: &str,
) -> Result<String, String> {
    generate_shapes(model_json, operations, sdk, label, false)
}

fn generate_shapes(
    model_json: &str,
    operations: Option<&BTreeSet<String>>,
    sdk: &str,
    label: &str,
    needed_derives: bool,
) -> Result<String, String> {
    let model: Value =
        serde_json::from_str(model_json).map_err(|e| format!("model is not JSON: {e}"))?;
    let shapes = model
        .get("shapes")
        .and_then(Value::as_object)
        .ok_or("model has no shapes")?;
    let ops = model
        .get("operations")
        .and_then(Value::as_object)
        .ok_or("model has no operations")?;
    if let Some(wanted) = operations {
        for name in wanted {
            if !ops.contains_key(name) {
                return Err(format!("operation {name} is not in the model"));
            }
        }
    }
    let selected: BTreeMap<&str, &Value> = ops
        .iter()
        .filter(|(name, _)| operations.is_none_or(|w| w.contains(name.as_str())))
        .map(|(name, op)| (name.as_str(), op))
        .collect();
    let mut generator = Generator::new(shapes, sdk)?;
    let mut roots = BTreeSet::new();
    let mut input_roots = BTreeSet::new();
    for op in selected.values() {
        for key in ["input", "output"] {
            if let Some(shape) = op.get(key).and_then(shape_ref) {
                roots.insert(shape.to_string());
                if key == "input" {
                    input_roots.insert(shape.to_string());
                }
            }
        }
        for e in op
            .get("errors")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(shape) = shape_ref(e) {
                roots.insert(shape.to_string());
            }
        }
    }
    for (name, shape) in shapes {
        if shape.get("exception").and_then(Value::as_bool) == Some(true) {
            roots.insert(name.clone());
        }
    }
    let mut reachable = BTreeSet::new();
    for root in &roots {
        generator.walk(root, &mut reachable)?;
    }
    if needed_derives {
        // Shapes reached from inputs deserialize; from outputs and errors, serialize.
        let mut from_inputs = BTreeSet::new();
        for root in &input_roots {
            generator.walk(root, &mut from_inputs)?;
        }
        let mut from_outputs = BTreeSet::new();
        for root in roots.difference(&input_roots) {
            generator.walk(root, &mut from_outputs)?;
        }
        generator.derives = Some((from_inputs, from_outputs));
    }

    let metadata = model.get("metadata").cloned().unwrap_or(Value::Null);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "// Generated by ministack-codegen from {label} ({} {}). Do not edit: change the model or the generator.",
        metadata
            .get("serviceId")
            .and_then(Value::as_str)
            .unwrap_or("?"),
        metadata
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("?"),
    );
    out.push('\n');
    for name in &reachable {
        let shape = &shapes[name.as_str()];
        match shape_type(shape) {
            "structure" | "union" => generator.emit_structure(&mut out, name, shape)?,
            "string" if shape.get("enum").is_some() => generator.emit_enum(&mut out, name, shape),
            _ => {}
        }
    }
    generator.emit_operations(&mut out, &selected);
    Ok(out)
}

fn shape_ref(v: &Value) -> Option<&str> {
    v.get("shape").and_then(Value::as_str)
}

fn shape_type(shape: &Value) -> &str {
    shape.get("type").and_then(Value::as_str).unwrap_or("")
}

fn flag(v: &Value, key: &str) -> bool {
    v.get(key).and_then(Value::as_bool) == Some(true)
}

struct Generator<'m> {
    shapes: &'m Map<String, Value>,
    sdk: &'m str,
    /// Shape name → Rust type name, for the shapes that become types.
    type_names: BTreeMap<&'m str, String>,
    /// With `only_needed_derives`: the shapes that deserialize (reached from
    /// inputs) and those that serialize (from outputs and errors).
    derives: Option<(BTreeSet<String>, BTreeSet<String>)>,
}

/// Names a generated type must not take: they would shadow what the
/// generated code itself uses.
const RESERVED_TYPES: &[&str] = &[
    "Box",
    "Clone",
    "Debug",
    "Default",
    "Deserialize",
    "Empty",
    "Eq",
    "Err",
    "From",
    "Into",
    "None",
    "Ok",
    "Option",
    "PartialEq",
    "Result",
    "Self",
    "Serialize",
    "Some",
    "String",
    "ToString",
    "Value",
    "Vec",
];

impl<'m> Generator<'m> {
    fn new(shapes: &'m Map<String, Value>, sdk: &'m str) -> Result<Self, String> {
        let mut type_names = BTreeMap::new();
        let mut taken = BTreeSet::new();
        for (name, shape) in shapes {
            let becomes_type = matches!(shape_type(shape), "structure" | "union")
                || (shape_type(shape) == "string" && shape.get("enum").is_some());
            if !becomes_type {
                continue;
            }
            let mut rust = type_ident(name);
            if RESERVED_TYPES.contains(&rust.as_str()) {
                rust.push_str("Shape");
            }
            while !taken.insert(rust.clone()) {
                rust.push('_');
            }
            type_names.insert(name.as_str(), rust);
        }
        Ok(Generator {
            shapes,
            sdk,
            type_names,
            derives: None,
        })
    }

    fn shape(&self, name: &str) -> Result<&'m Value, String> {
        self.shapes
            .get(name)
            .ok_or_else(|| format!("shape {name} is referenced but not defined"))
    }

    /// Adds `name` and every shape it refers to.
    fn walk(&self, name: &str, seen: &mut BTreeSet<String>) -> Result<(), String> {
        if !seen.insert(name.to_string()) {
            return Ok(());
        }
        let shape = self.shape(name)?;
        let mut next = Vec::new();
        match shape_type(shape) {
            "structure" | "union" => {
                for member in members(shape) {
                    next.extend(shape_ref(member.1));
                }
            }
            "list" => next.extend(shape.get("member").and_then(shape_ref)),
            "map" => {
                next.extend(shape.get("key").and_then(shape_ref));
                next.extend(shape.get("value").and_then(shape_ref));
            }
            _ => {}
        }
        for n in next {
            self.walk(n, seen)?;
        }
        Ok(())
    }

    /// The Rust type of a member (or list/map element) `reference`.
    fn rust_type(&self, reference: &Value) -> Result<String, String> {
        let name = shape_ref(reference).ok_or("a member has no shape")?;
        let shape = self.shape(name)?;
        let sdk = self.sdk;
        Ok(match shape_type(shape) {
            "structure" | "union" if flag(shape, "eventstream") => {
                format!("Vec<{}>", self.type_names[name])
            }
            "structure" | "union" => self.type_names[name].clone(),
            "list" => {
                let element = self.rust_type(shape.get("member").ok_or("list without member")?)?;
                if flag(shape, "sparse") {
                    format!("Vec<Option<{element}>>")
                } else {
                    format!("Vec<{element}>")
                }
            }
            "map" => {
                let key = self.rust_type(shape.get("key").ok_or("map without key")?)?;
                let value = self.rust_type(shape.get("value").ok_or("map without value")?)?;
                let value = if flag(shape, "sparse") {
                    format!("Option<{value}>")
                } else {
                    value
                };
                format!("::std::collections::BTreeMap<{key}, {value}>")
            }
            "string" if shape.get("enum").is_some() => self.type_names[name].clone(),
            "string" => "String".to_string(),
            "integer" | "short" | "byte" => "i32".to_string(),
            "long" | "bigInteger" => "i64".to_string(),
            "float" | "double" | "bigDecimal" => "f64".to_string(),
            "boolean" => "bool".to_string(),
            "timestamp" => "f64".to_string(),
            "blob" if flag(reference, "streaming") || flag(shape, "streaming") => {
                format!("{sdk}::blobs::StreamingBlob")
            }
            "blob" => "String".to_string(),
            "document" => format!("{sdk}::shapes::Value"),
            other => return Err(format!("shape {name} has unknown type {other:?}")),
        })
    }

    /// Whether every value of the shape compares with `Eq` (no floats,
    /// timestamps or documents anywhere inside), so the type can derive it.
    fn is_eq(&self, name: &str, visiting: &mut BTreeSet<String>) -> bool {
        if !visiting.insert(name.to_string()) {
            return true; // a cycle: decided by the other members
        }
        let Some(shape) = self.shapes.get(name) else {
            return false;
        };
        let children: Vec<&str> = match shape_type(shape) {
            "structure" | "union" => members(shape).filter_map(|(_, m)| shape_ref(m)).collect(),
            "list" => shape
                .get("member")
                .and_then(shape_ref)
                .into_iter()
                .collect(),
            "map" => [shape.get("key"), shape.get("value")]
                .into_iter()
                .flatten()
                .filter_map(shape_ref)
                .collect(),
            "float" | "double" | "bigDecimal" | "timestamp" | "document" => return false,
            _ => Vec::new(),
        };
        children.into_iter().all(|c| self.is_eq(c, visiting))
    }

    /// The structures `name` contains directly (not through a list or map),
    /// i.e. the ones whose size it includes.
    fn direct_structures(&self, name: &str) -> Vec<&'m str> {
        let Some(shape) = self.shapes.get(name) else {
            return Vec::new();
        };
        members(shape)
            .filter_map(|(_, m)| shape_ref(m))
            .filter(|target| {
                self.shapes.get(*target).is_some_and(|s| {
                    matches!(shape_type(s), "structure" | "union") && !flag(s, "eventstream")
                })
            })
            .collect()
    }

    /// Whether `from` contains `to` directly, at any depth (then a member of
    /// `to` holding `from` needs a `Box`).
    fn contains(&self, from: &str, to: &str) -> bool {
        let mut stack = vec![from];
        let mut seen = BTreeSet::new();
        while let Some(n) = stack.pop() {
            if n == to {
                return true;
            }
            if seen.insert(n) {
                stack.extend(self.direct_structures(n));
            }
        }
        false
    }

    fn emit_structure(&self, out: &mut String, name: &str, shape: &Value) -> Result<(), String> {
        let rust = &self.type_names[name];
        let is_error = flag(shape, "exception");
        let all_optional = matches!(shape_type(shape), "union")
            || flag(shape, "union")
            || flag(shape, "eventstream");
        let required: BTreeSet<&str> = if all_optional {
            BTreeSet::new()
        } else {
            shape
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect()
        };
        let kind = if is_error {
            "error shape"
        } else if flag(shape, "eventstream") {
            "event stream: one member set per event"
        } else if all_optional {
            "union: one member set"
        } else {
            "structure"
        };
        let _ = writeln!(out, "/// `{name}` ({kind}).");
        let eq = if self.is_eq(name, &mut BTreeSet::new()) {
            "PartialEq, Eq"
        } else {
            "PartialEq"
        };
        let serde = match &self.derives {
            None => "::serde::Serialize, ::serde::Deserialize",
            Some((de, ser)) => match (ser.contains(name), de.contains(name)) {
                (true, false) => "::serde::Serialize",
                (false, true) => "::serde::Deserialize",
                _ => "::serde::Serialize, ::serde::Deserialize",
            },
        };
        let _ = writeln!(out, "#[derive(Debug, Clone, Default, {eq}, {serde})]");
        let _ = writeln!(out, "pub struct {rust} {{");
        let mut fields = BTreeSet::new();
        let mut message_field = None;
        for (member, reference) in members(shape) {
            let mut ty = self.rust_type(reference)?;
            let target = shape_ref(reference).unwrap_or_default();
            let target_shape = self.shape(target)?;
            let target_type = shape_type(target_shape);
            if matches!(target_type, "structure" | "union")
                && !flag(target_shape, "eventstream")
                && self.contains(target, name)
            {
                ty = format!("Box<{ty}>");
            }
            let mut field = field_ident(member);
            while !fields.insert(field.clone()) {
                field.push('_');
            }
            let is_collection = matches!(target_type, "list" | "map") || ty.starts_with("Vec<");
            let attrs;
            if required.contains(member.as_str()) && !is_collection {
                attrs = format!("rename = \"{member}\"");
            } else if required.contains(member.as_str()) {
                attrs = format!("rename = \"{member}\", default");
            } else {
                attrs = format!(
                    "rename = \"{member}\", default, skip_serializing_if = \"Option::is_none\""
                );
                ty = format!("Option<{ty}>");
            }
            if let Some(doc) = constraints(target_shape) {
                let _ = writeln!(out, "    /// {doc}");
            }
            let _ = writeln!(out, "    #[serde({attrs})]");
            let _ = writeln!(out, "    pub {field}: {ty},");
            if member.eq_ignore_ascii_case("message") && (ty == "String" || ty == "Option<String>")
            {
                message_field = Some((field, ty));
            }
        }
        let _ = writeln!(out, "}}\n");
        if is_error {
            self.emit_error(out, name, shape, message_field);
        }
        Ok(())
    }

    fn emit_error(
        &self,
        out: &mut String,
        name: &str,
        shape: &Value,
        message_field: Option<(String, String)>,
    ) {
        let rust = &self.type_names[name];
        let sdk = self.sdk;
        let error = shape.get("error");
        let status = error
            .and_then(|e| e.get("httpStatusCode"))
            .and_then(Value::as_u64);
        let sender_fault = match error
            .and_then(|e| e.get("senderFault"))
            .and_then(Value::as_bool)
        {
            Some(fault) => fault,
            None => status.is_none_or(|s| s < 500),
        };
        if let Some((field, ty)) = message_field {
            let value = if ty == "String" {
                "message.into()"
            } else {
                "Some(message.into())"
            };
            let _ = writeln!(out, "impl {rust} {{");
            let _ = writeln!(
                out,
                "    /// The error with this message (other members unset)."
            );
            let _ = writeln!(out, "    pub fn new(message: impl Into<String>) -> Self {{");
            let _ = writeln!(out, "        {rust} {{");
            let _ = writeln!(out, "            {field}: {value},");
            if members(shape).count() > 1 {
                let _ = writeln!(out, "            ..Default::default()");
            }
            let _ = writeln!(out, "        }}");
            let _ = writeln!(out, "    }}");
            let _ = writeln!(out, "}}\n");
        }
        let _ = writeln!(out, "impl From<{rust}> for {sdk}::AwsError {{");
        let _ = writeln!(out, "    fn from(error: {rust}) -> Self {{");
        let _ = writeln!(
            out,
            "        {sdk}::shapes::aws_error(\"{name}\", {sender_fault}, &error)"
        );
        let _ = writeln!(out, "    }}");
        let _ = writeln!(out, "}}\n");
    }

    fn emit_enum(&self, out: &mut String, name: &str, shape: &Value) {
        let rust = &self.type_names[name];
        let values: Vec<&str> = shape
            .get("enum")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let mut variants = BTreeSet::new();
        let _ = writeln!(out, "{}::shape_enum! {{", self.sdk);
        let _ = writeln!(out, "    /// `{name}` (enum).");
        let _ = writeln!(out, "    {rust} {{");
        for value in values {
            let mut variant = variant_ident(value);
            if variant == "Unknown" {
                variant.push_str("Value");
            }
            while !variants.insert(variant.clone()) {
                variant.push('_');
            }
            let _ = writeln!(out, "        {variant} = {value:?},");
        }
        let _ = writeln!(out, "    }}");
        let _ = writeln!(out, "}}\n");
    }

    fn emit_operations(&self, out: &mut String, ops: &BTreeMap<&str, &Value>) {
        let sdk = self.sdk;
        let _ = writeln!(out, "// ---- operations: <Op>Input and <Op>Output ----\n");
        let taken: BTreeSet<&str> = self.type_names.values().map(String::as_str).collect();
        for (op, def) in ops {
            for (key, suffix) in [("input", "Input"), ("output", "Output")] {
                let alias = format!("{}{suffix}", type_ident(op));
                let target = match def.get(key).and_then(shape_ref) {
                    Some(shape) => self.type_names[shape].clone(),
                    None => format!("{sdk}::Empty"),
                };
                // A model that already names the shape so needs no alias;
                // one that uses the name for another shape keeps its own.
                if target == alias || taken.contains(alias.as_str()) {
                    continue;
                }
                let _ = writeln!(out, "pub type {alias} = {target};");
            }
        }
        let _ = writeln!(
            out,
            "\n/// Every operation of the model these shapes were generated for."
        );
        let _ = writeln!(out, "pub const OPERATIONS: &[&str] = &[");
        for op in ops.keys() {
            let _ = writeln!(out, "    {op:?},");
        }
        let _ = writeln!(out, "];");
    }
}

fn members(shape: &Value) -> impl Iterator<Item = (&String, &Value)> {
    shape
        .get("members")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
}

/// A short doc line for a member's constraints (`length 1..=80`, `pattern`).
fn constraints(shape: &Value) -> Option<String> {
    let min = shape.get("min").and_then(Value::as_f64);
    let max = shape.get("max").and_then(Value::as_f64);
    let what = match shape_type(shape) {
        "string" | "blob" => "length",
        "list" | "map" => "count",
        _ => "value",
    };
    let mut parts = Vec::new();
    match (min, max) {
        (Some(a), Some(b)) => parts.push(format!("{what} {a}..={b}")),
        (Some(a), None) => parts.push(format!("{what} >= {a}")),
        (None, Some(b)) => parts.push(format!("{what} <= {b}")),
        (None, None) => {}
    }
    if let Some(p) = shape.get("pattern").and_then(Value::as_str) {
        parts.push(format!("pattern `{}`", p.replace('`', "'")));
    }
    if shape_type(shape) == "timestamp" {
        parts.push("epoch seconds".to_string());
    }
    (!parts.is_empty()).then(|| parts.join(", ").replace(['\n', '\r'], " "))
}

const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "do", "dyn",
    "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl", "in", "let",
    "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref", "return",
    "static", "struct", "trait", "true", "try", "type", "typeof", "unsafe", "unsized", "use",
    "virtual", "where", "while", "yield",
];

/// `QueueURL` → `queue_url`, `MD5OfBody` → `md5_of_body`, `type` → `r#type`.
fn field_ident(member: &str) -> String {
    let chars: Vec<char> = member.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            if !out.is_empty() && !out.ends_with('_') {
                out.push('_');
            }
            continue;
        }
        if c.is_ascii_uppercase() && i > 0 {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            let boundary = prev.is_ascii_lowercase()
                || prev.is_ascii_digit()
                || (prev.is_ascii_uppercase() && next_lower);
            if boundary && !out.is_empty() && !out.ends_with('_') {
                out.push('_');
            }
        }
        out.push(c.to_ascii_lowercase());
    }
    let out = out.trim_end_matches('_').to_string();
    let out = if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        format!("m_{out}")
    } else {
        out
    };
    match out.as_str() {
        "self" | "super" | "crate" => format!("{out}_"),
        k if KEYWORDS.contains(&k) => format!("r#{out}"),
        _ => out,
    }
}

/// A shape name as a type: `__listOfString` → `ListOfString`.
fn type_ident(shape: &str) -> String {
    let cleaned: String = shape
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let trimmed = cleaned.trim_start_matches('_');
    let mut chars = trimmed.chars();
    let ident = match chars.next() {
        Some(first) if first.is_ascii_digit() => format!("T{trimmed}"),
        Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
        None => "Shape".to_string(),
    };
    ident.replace('_', "")
}

/// An enum value as a variant: `STANDARD_IA` → `StandardIa`, `aws:kms` →
/// `AwsKms`, `AES256` → `Aes256`, `ApproximateNumberOfMessages` unchanged.
fn variant_ident(value: &str) -> String {
    let mut out = String::new();
    for segment in value.split(|c: char| !c.is_ascii_alphanumeric()) {
        if segment.is_empty() {
            continue;
        }
        let all_upper = !segment.chars().any(|c| c.is_ascii_lowercase());
        let mut chars = segment.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            if all_upper {
                out.extend(chars.map(|c| c.to_ascii_lowercase()));
            } else {
                out.push_str(chars.as_str());
            }
        }
    }
    if out.is_empty() {
        "Empty".to_string()
    } else if out.starts_with(|c: char| c.is_ascii_digit()) {
        format!("V{out}")
    } else if out == "Self" {
        // `SELF` (CloudFormation's CallAs): `Self` cannot name a variant.
        "SelfValue".to_string()
    } else {
        out
    }
}

#[cfg(test)]
mod tests;
