//! Templates: parsing (JSON or YAML), parameters, conditions, the
//! intrinsic functions and the dependency graph.

use std::collections::{BTreeMap, BTreeSet};

use ministack_sdk::prelude::*;
use serde_json::{Map, Value, json};

/// Stands for `AWS::NoValue` until the enclosing object or list drops it.
const NO_VALUE: &str = "\u{0}AWS::NoValue";

/// `Template format error: ...` as AWS words it.
pub fn format_error(message: impl std::fmt::Display) -> AwsError {
    AwsError::validation_error(format!("Template format error: {message}"))
}

/// Reads a template body: JSON when it parses as JSON, YAML otherwise.
pub fn parse(body: &str) -> Result<Value, AwsError> {
    let trimmed = body.trim_start();
    let value = if trimmed.starts_with('{') {
        match serde_json::from_str::<Value>(body) {
            Ok(v) => v,
            Err(_) => crate::yaml::parse(body).map_err(format_error)?,
        }
    } else {
        crate::yaml::parse(body).map_err(|e| format_error(format!("YAML not well-formed. {e}")))?
    };
    let Some(obj) = value.as_object() else {
        return Err(format_error("JSON not well-formed."));
    };
    if let Some(version) = obj.get("AWSTemplateFormatVersion")
        && version.as_str() != Some("2010-09-09")
    {
        return Err(format_error(format!(
            "Unsupported AWSTemplateFormatVersion: {}",
            crate::template::text(version)
        )));
    }
    const SECTIONS: &[&str] = &[
        "AWSTemplateFormatVersion",
        "Description",
        "Metadata",
        "Parameters",
        "Rules",
        "Mappings",
        "Conditions",
        "Transform",
        "Resources",
        "Outputs",
        "Hooks",
    ];
    let unknown: Vec<&String> = obj
        .keys()
        .filter(|k| !SECTIONS.contains(&k.as_str()))
        // SAM's Globals, which its transform removes.
        .filter(|k| {
            *k != "Globals"
                || !crate::transform::declared(&value)
                    .iter()
                    .any(|t| t == crate::transform::SERVERLESS)
        })
        .collect();
    if !unknown.is_empty() {
        return Err(format_error(format!(
            "Invalid template property or properties [{}]",
            unknown
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    match obj.get("Resources").and_then(Value::as_object) {
        Some(r) if !r.is_empty() => {}
        _ => {
            return Err(format_error(
                "At least one Resources member must be defined.",
            ));
        }
    }
    for (name, res) in obj["Resources"].as_object().into_iter().flatten() {
        if res.get("Type").and_then(Value::as_str).is_none() && !name.starts_with("Fn::ForEach::") {
            return Err(format_error(format!(
                "[/Resources/{name}] Every Resources object must contain a Type member."
            )));
        }
    }
    Ok(value)
}

/// A value as text (numbers and booleans as written).
pub fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

pub fn section<'a>(template: &'a Value, name: &str) -> &'a Map<String, Value> {
    static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    template
        .get(name)
        .and_then(Value::as_object)
        .unwrap_or_else(|| EMPTY.get_or_init(Map::new))
}

/// What a deployed resource offers to `Ref` and `Fn::GetAtt`.
#[derive(Debug, Clone, Default)]
pub struct Deployed {
    pub physical_id: String,
    pub attributes: Map<String, Value>,
}

/// Everything intrinsics read.
#[derive(Default)]
pub struct Env {
    pub account: String,
    pub region: String,
    pub partition: String,
    pub stack_name: String,
    pub stack_id: String,
    pub parameters: BTreeMap<String, Value>,
    pub mappings: Map<String, Value>,
    pub conditions: BTreeMap<String, bool>,
    pub resources: BTreeMap<String, Deployed>,
    /// Resources declared in the template (a `Ref` to one not yet deployed is "unknown").
    pub declared: BTreeSet<String>,
    pub exports: BTreeMap<String, String>,
    pub notification_arns: Vec<String>,
}

/// Why a value could not be computed.
#[derive(Debug)]
pub enum EvalError {
    /// It refers to a resource that has no physical id yet.
    Unknown(String),
    Invalid(String),
}

impl From<EvalError> for AwsError {
    fn from(e: EvalError) -> AwsError {
        match e {
            EvalError::Unknown(r) => {
                AwsError::validation_error(format!("Resource {r} is not available yet"))
            }
            EvalError::Invalid(m) => format_error(m),
        }
    }
}

type R = Result<Value, EvalError>;

fn invalid(m: impl Into<String>) -> EvalError {
    EvalError::Invalid(m.into())
}

impl Env {
    fn pseudo(&self, name: &str) -> Option<Value> {
        Some(match name {
            "AWS::AccountId" => json!(self.account),
            "AWS::Region" => json!(self.region),
            "AWS::Partition" => json!(self.partition),
            "AWS::StackName" => json!(self.stack_name),
            "AWS::StackId" => json!(self.stack_id),
            "AWS::URLSuffix" => json!("amazonaws.com"),
            "AWS::NoValue" => json!(NO_VALUE),
            "AWS::NotificationARNs" => json!(self.notification_arns),
            _ => return None,
        })
    }

    pub fn reference(&self, name: &str) -> R {
        if let Some(v) = self.parameters.get(name) {
            return Ok(v.clone());
        }
        if let Some(v) = self.pseudo(name) {
            return Ok(v);
        }
        if let Some(r) = self.resources.get(name) {
            return Ok(json!(r.physical_id));
        }
        if self.declared.contains(name) {
            return Err(EvalError::Unknown(name.to_string()));
        }
        Err(invalid(format!(
            "Unresolved resource dependencies [{name}] in the Resources block of the template"
        )))
    }

    pub fn get_att(&self, logical: &str, attr: &str) -> R {
        let Some(r) = self.resources.get(logical) else {
            if self.declared.contains(logical) {
                return Err(EvalError::Unknown(logical.to_string()));
            }
            return Err(invalid(format!(
                "Template error: instance of Fn::GetAtt references undefined resource {logical}"
            )));
        };
        match r.attributes.get(attr) {
            Some(v) => Ok(v.clone()),
            None => Err(invalid(format!(
                "Template error: resource {logical} does not support attribute type {attr} in Fn::GetAtt"
            ))),
        }
    }

    pub fn condition(&self, name: &str) -> Result<bool, EvalError> {
        self.conditions.get(name).copied().ok_or_else(|| {
            invalid(format!(
                "Template error: unresolved condition dependency {name} in Fn::If"
            ))
        })
    }

    /// Evaluates every intrinsic in `v`; `AWS::NoValue` members are dropped.
    pub fn eval(&self, v: &Value) -> R {
        let out = self.eval_inner(v)?;
        Ok(strip_no_value(out).unwrap_or(Value::Null))
    }

    fn eval_inner(&self, v: &Value) -> R {
        match v {
            Value::Object(m) if m.len() == 1 => {
                let (k, arg) = m.iter().next().unwrap();
                if k == "Ref" || k.starts_with("Fn::") || k == "Condition" && !arg.is_object() {
                    return self.intrinsic(k, arg);
                }
                let mut out = Map::new();
                out.insert(k.clone(), self.eval_inner(arg)?);
                Ok(Value::Object(out))
            }
            Value::Object(m) => {
                let mut out = Map::new();
                for (k, v) in m {
                    out.insert(k.clone(), self.eval_inner(v)?);
                }
                Ok(Value::Object(out))
            }
            Value::Array(a) => Ok(Value::Array(
                a.iter()
                    .map(|v| self.eval_inner(v))
                    .collect::<Result<_, _>>()?,
            )),
            other => Ok(other.clone()),
        }
    }

    fn list(&self, arg: &Value, f: &str) -> Result<Vec<Value>, EvalError> {
        match self.eval_inner(arg)? {
            Value::Array(a) => Ok(a),
            other => Err(invalid(format!(
                "Template error: every {f} object requires a list, got {other}"
            ))),
        }
    }

    fn bool_of(&self, v: &Value) -> Result<bool, EvalError> {
        if let Some(c) = v.get("Condition").and_then(Value::as_str) {
            return self.condition(c);
        }
        match self.eval_inner(v)? {
            Value::Bool(b) => Ok(b),
            Value::String(s) if s == "true" => Ok(true),
            Value::String(s) if s == "false" => Ok(false),
            other => Err(invalid(format!("condition value {other} is not a boolean"))),
        }
    }

    fn intrinsic(&self, name: &str, arg: &Value) -> R {
        match name {
            "Ref" => {
                let target = self.eval_inner(arg)?;
                self.reference(&text(&target))
            }
            "Condition" => Ok(Value::Bool(self.condition(&text(arg))?)),
            "Fn::GetAtt" => {
                let (logical, attr) = match arg {
                    Value::Array(a) if a.len() == 2 => {
                        (text(&a[0]), text(&self.eval_inner(&a[1])?))
                    }
                    Value::String(s) => match s.split_once('.') {
                        Some((a, b)) => (a.to_string(), b.to_string()),
                        None => {
                            return Err(invalid("Fn::GetAtt needs a resource and an attribute"));
                        }
                    },
                    _ => {
                        return Err(invalid(
                            "Template error: every Fn::GetAtt object requires two non-empty parameters",
                        ));
                    }
                };
                self.get_att(&logical, &attr)
            }
            "Fn::Join" => {
                let a = self.list(arg, name)?;
                if a.len() != 2 {
                    return Err(invalid(
                        "Template error: every Fn::Join object requires two parameters",
                    ));
                }
                let sep = text(&a[0]);
                let items = match &a[1] {
                    Value::Array(items) => items.clone(),
                    other => return Err(invalid(format!("Fn::Join needs a list, got {other}"))),
                };
                Ok(json!(
                    items
                        .iter()
                        .filter(|v| v.as_str() != Some(NO_VALUE))
                        .map(text)
                        .collect::<Vec<_>>()
                        .join(&sep)
                ))
            }
            "Fn::Select" => {
                let a = self.list(arg, name)?;
                if a.len() != 2 {
                    return Err(invalid(
                        "Template error: Fn::Select requires a list argument with two elements",
                    ));
                }
                let index: usize = text(&a[0])
                    .parse()
                    .map_err(|_| invalid("Template error: Fn::Select requires an integer index"))?;
                let items = match &a[1] {
                    Value::Array(items) => items.clone(),
                    Value::String(s) => s.split(',').map(|x| json!(x)).collect(),
                    _ => Vec::new(),
                };
                items.get(index).cloned().ok_or_else(|| {
                    invalid("Template error: Fn::Select cannot select nonexistent value at index")
                })
            }
            "Fn::Split" => {
                let a = self.list(arg, name)?;
                if a.len() != 2 {
                    return Err(invalid(
                        "Template error: every Fn::Split object requires two parameters",
                    ));
                }
                let sep = text(&a[0]);
                Ok(json!(text(&a[1]).split(sep.as_str()).collect::<Vec<_>>()))
            }
            "Fn::Sub" => self.sub(arg),
            "Fn::If" => {
                let a = match arg {
                    Value::Array(a) if a.len() == 3 => a,
                    _ => {
                        return Err(invalid(
                            "Template error: Fn::If requires a list argument with three elements",
                        ));
                    }
                };
                if self.condition(&text(&a[0]))? {
                    self.eval_inner(&a[1])
                } else {
                    self.eval_inner(&a[2])
                }
            }
            "Fn::Equals" => {
                let a = self.list(arg, name)?;
                if a.len() != 2 {
                    return Err(invalid(
                        "Template error: Fn::Equals requires a list with two elements",
                    ));
                }
                Ok(json!(text(&a[0]) == text(&a[1])))
            }
            "Fn::And" | "Fn::Or" => {
                let a = match arg {
                    Value::Array(a) if (2..=10).contains(&a.len()) => a,
                    _ => {
                        return Err(invalid(format!(
                            "Template error: {name} requires 2 to 10 conditions"
                        )));
                    }
                };
                let mut values = Vec::new();
                for c in a {
                    values.push(self.bool_of(c)?);
                }
                Ok(json!(if name == "Fn::And" {
                    values.iter().all(|b| *b)
                } else {
                    values.iter().any(|b| *b)
                }))
            }
            "Fn::Not" => {
                let a = match arg {
                    Value::Array(a) if a.len() == 1 => a,
                    _ => {
                        return Err(invalid(
                            "Template error: Fn::Not requires a list with one element",
                        ));
                    }
                };
                Ok(json!(!self.bool_of(&a[0])?))
            }
            "Fn::FindInMap" => {
                let a = self.list(arg, name)?;
                if a.len() < 3 {
                    return Err(invalid(
                        "Template error: every Fn::FindInMap object requires three parameters",
                    ));
                }
                let (m, k1, k2) = (text(&a[0]), text(&a[1]), text(&a[2]));
                let found = self
                    .mappings
                    .get(&m)
                    .and_then(|x| x.get(&k1))
                    .and_then(|x| x.get(&k2))
                    .cloned();
                match found {
                    Some(v) => Ok(v),
                    None => match a.get(3).and_then(|d| d.get("DefaultValue")) {
                        Some(d) => Ok(d.clone()),
                        None => Err(invalid(format!(
                            "Template error: Unable to get mapping for {m}::{k1}::{k2}"
                        ))),
                    },
                }
            }
            "Fn::GetAZs" => {
                let region = text(&self.eval_inner(arg)?);
                let region = if region.is_empty() {
                    self.region.clone()
                } else {
                    region
                };
                Ok(json!(
                    ["a", "b", "c"]
                        .iter()
                        .map(|z| format!("{region}{z}"))
                        .collect::<Vec<_>>()
                ))
            }
            "Fn::Base64" => Ok(json!(ministack_sdk::encoding::base64_encode(
                text(&self.eval_inner(arg)?).as_bytes()
            ))),
            "Fn::ImportValue" => {
                let name = text(&self.eval_inner(arg)?);
                self.exports
                    .get(&name)
                    .map(|v| json!(v))
                    .ok_or_else(|| invalid(format!("No export named {name} found.")))
            }
            "Fn::Length" => match self.eval_inner(arg)? {
                Value::Array(a) => Ok(json!(a.len())),
                _ => Err(invalid("Fn::Length requires a list")),
            },
            "Fn::ToJsonString" => Ok(json!(self.eval(arg)?.to_string())),
            "Fn::Cidr" => {
                let a = self.list(arg, name)?;
                if a.len() != 3 {
                    return Err(invalid("Fn::Cidr requires three parameters"));
                }
                cidr(
                    &text(&a[0]),
                    text(&a[1]).parse().unwrap_or(0),
                    text(&a[2]).parse().unwrap_or(0),
                )
                .map(|v| json!(v))
                .ok_or_else(|| invalid("Template error: invalid Fn::Cidr arguments"))
            }
            other => Err(invalid(format!(
                "Template error: encountered unsupported function: {other}"
            ))),
        }
    }

    fn sub(&self, arg: &Value) -> R {
        let (template, vars) = match arg {
            Value::String(s) => (s.clone(), Map::new()),
            Value::Array(a) if a.len() == 2 => {
                let vars = match self.eval_inner(&a[1])? {
                    Value::Object(m) => m,
                    _ => return Err(invalid("Fn::Sub variables must be a map")),
                };
                (text(&a[0]), vars)
            }
            _ => {
                return Err(invalid(
                    "Template error: Fn::Sub requires a string or a list of two",
                ));
            }
        };
        let mut out = String::new();
        let mut rest = template.as_str();
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[start..]);
                rest = "";
                break;
            };
            let name = &after[..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else if let Some(v) = vars.get(name) {
                out.push_str(&text(v));
            } else if let Some((logical, attr)) = name.split_once('.')
                && !self.parameters.contains_key(name)
                && self.pseudo(name).is_none()
            {
                out.push_str(&text(&self.get_att(logical, attr)?));
            } else {
                out.push_str(&text(&self.reference(name)?));
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(json!(out))
    }
}

fn strip_no_value(v: Value) -> Option<Value> {
    match v {
        Value::String(s) if s == NO_VALUE => None,
        Value::Array(a) => Some(Value::Array(
            a.into_iter().filter_map(strip_no_value).collect(),
        )),
        Value::Object(m) => Some(Value::Object(
            m.into_iter()
                .filter_map(|(k, v)| strip_no_value(v).map(|v| (k, v)))
                .collect(),
        )),
        other => Some(other),
    }
}

/// `Fn::Cidr`: `count` subnets of `bits` host bits carved from `block`.
fn cidr(block: &str, count: u32, bits: u32) -> Option<Vec<String>> {
    let (addr, prefix) = block.split_once('/')?;
    let prefix: u32 = prefix.parse().ok()?;
    let octets: Vec<u32> = addr
        .split('.')
        .map(|o| o.parse().ok())
        .collect::<Option<_>>()?;
    if octets.len() != 4 || bits == 0 || bits > 32 - prefix || count == 0 {
        return None;
    }
    let base = octets.iter().fold(0u32, |a, o| (a << 8) | o);
    let new_prefix = 32 - bits;
    let mut out = Vec::new();
    for i in 0..count {
        let net = base.checked_add(i.checked_mul(1u32.checked_shl(bits)?)?)?;
        out.push(format!(
            "{}.{}.{}.{}/{new_prefix}",
            net >> 24,
            (net >> 16) & 255,
            (net >> 8) & 255,
            net & 255
        ));
    }
    Some(out)
}

/// Logical ids a value refers to (`Ref`, `Fn::GetAtt`, `${...}` in `Fn::Sub`).
pub fn references(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, arg) in m {
                match k.as_str() {
                    "Ref" => {
                        if let Some(s) = arg.as_str() {
                            out.insert(s.to_string());
                        }
                    }
                    "Fn::GetAtt" => match arg {
                        Value::Array(a) if !a.is_empty() => {
                            out.insert(text(&a[0]));
                        }
                        Value::String(s) => {
                            out.insert(s.split('.').next().unwrap_or_default().to_string());
                        }
                        _ => {}
                    },
                    "Fn::Sub" => {
                        let (s, vars) = match arg {
                            Value::String(s) => (s.clone(), None),
                            Value::Array(a) if !a.is_empty() => (text(&a[0]), a.get(1)),
                            _ => (String::new(), None),
                        };
                        let mut rest = s.as_str();
                        while let Some(start) = rest.find("${") {
                            let after = &rest[start + 2..];
                            let Some(end) = after.find('}') else { break };
                            let name = &after[..end];
                            if !name.starts_with('!') {
                                out.insert(name.split('.').next().unwrap_or_default().to_string());
                            }
                            rest = &after[end + 1..];
                        }
                        if let Some(vars) = vars {
                            references(vars, out);
                        }
                    }
                    _ => {}
                }
                if k != "Ref" && k != "Fn::GetAtt" {
                    references(arg, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|v| references(v, out)),
        _ => {}
    }
}

/// The resources each resource depends on (declared resources only).
pub fn dependencies(template: &Value) -> BTreeMap<String, BTreeSet<String>> {
    let resources = section(template, "Resources");
    let mut deps = BTreeMap::new();
    for (name, res) in resources {
        let mut refs = BTreeSet::new();
        if let Some(p) = res.get("Properties") {
            references(p, &mut refs);
        }
        match res.get("DependsOn") {
            Some(Value::String(s)) => {
                refs.insert(s.clone());
            }
            Some(Value::Array(a)) => refs.extend(a.iter().map(text)),
            _ => {}
        }
        refs.retain(|r| resources.contains_key(r) && r != name);
        deps.insert(name.clone(), refs);
    }
    deps
}

/// Resources in an order where each comes after what it depends on; an
/// error names a cycle.
pub fn creation_order(template: &Value) -> Result<Vec<String>, AwsError> {
    Ok(creation_levels(template)?.into_iter().flatten().collect())
}

/// Resources by level: each level depends only on earlier ones, so the
/// resources of one level can be made at the same time (and deleted at
/// the same time, last level first). An error names a cycle.
pub fn creation_levels(template: &Value) -> Result<Vec<Vec<String>>, AwsError> {
    let deps = dependencies(template);
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut levels = Vec::new();
    while done.len() < deps.len() {
        let ready: Vec<String> = deps
            .iter()
            .filter(|(n, d)| !done.contains(*n) && d.iter().all(|x| done.contains(x)))
            .map(|(n, _)| n.clone())
            .collect();
        if ready.is_empty() {
            let cycle: Vec<&String> = deps.keys().filter(|n| !done.contains(*n)).collect();
            return Err(AwsError::validation_error(format!(
                "Circular dependency between resources: [{}]",
                cycle
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        done.extend(ready.iter().cloned());
        levels.push(ready);
    }
    Ok(levels)
}

/// Resolves the template's parameters from the given values and defaults.
pub fn resolve_parameters(
    template: &Value,
    given: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, Value>, AwsError> {
    let declared = section(template, "Parameters");
    if let Some(unknown) = given.keys().find(|k| !declared.contains_key(*k)) {
        return Err(AwsError::validation_error(format!(
            "Parameters: [{unknown}] do not exist in the template"
        )));
    }
    let mut out = BTreeMap::new();
    let mut missing = Vec::new();
    for (name, decl) in declared {
        let value = match given.get(name) {
            Some(v) => v.clone(),
            None => match decl.get("Default") {
                Some(d) => text(d),
                None => {
                    missing.push(name.clone());
                    continue;
                }
            },
        };
        check_parameter(name, decl, &value)?;
        let ty = decl.get("Type").map(text).unwrap_or_default();
        let v = if ty == "CommaDelimitedList" || ty.starts_with("List<") {
            json!(value.split(',').map(|s| s.trim()).collect::<Vec<_>>())
        } else {
            json!(value)
        };
        out.insert(name.clone(), v);
    }
    if !missing.is_empty() {
        return Err(AwsError::validation_error(format!(
            "Parameters: [{}] must have values",
            missing.join(", ")
        )));
    }
    Ok(out)
}

fn check_parameter(name: &str, decl: &Value, value: &str) -> Result<(), AwsError> {
    let fail = |why: String| {
        let message = decl.get("ConstraintDescription").map(text).unwrap_or(why);
        Err(AwsError::validation_error(format!(
            "Parameter '{name}' {message}"
        )))
    };
    if let Some(allowed) = decl.get("AllowedValues").and_then(Value::as_array)
        && !allowed.iter().any(|a| text(a) == value)
    {
        return fail("must be one of AllowedValues".to_string());
    }
    let ty = decl.get("Type").map(text).unwrap_or_default();
    if ty == "Number" {
        let Ok(n) = value.parse::<f64>() else {
            return fail("must be a number".to_string());
        };
        if let Some(min) = decl
            .get("MinValue")
            .and_then(|v| text(v).parse::<f64>().ok())
            && n < min
        {
            return fail(format!("must be a number not less than {min}"));
        }
        if let Some(max) = decl
            .get("MaxValue")
            .and_then(|v| text(v).parse::<f64>().ok())
            && n > max
        {
            return fail(format!("must be a number not greater than {max}"));
        }
    }
    let len = value.chars().count();
    if let Some(min) = decl
        .get("MinLength")
        .and_then(|v| text(v).parse::<usize>().ok())
        && len < min
    {
        return fail(format!("must contain at least {min} characters"));
    }
    if let Some(max) = decl
        .get("MaxLength")
        .and_then(|v| text(v).parse::<usize>().ok())
        && len > max
    {
        return fail(format!("must contain at most {max} characters"));
    }
    if let Some(pattern) = decl.get("AllowedPattern").map(text) {
        // The pattern must match the whole value (AWS anchors it).
        let re = regex::Regex::new(&format!("^(?:{pattern})$")).map_err(|e| {
            format_error(format!(
                "Parameter '{name}' has an invalid AllowedPattern: {e}"
            ))
        })?;
        let values: Vec<&str> = if ty == "CommaDelimitedList" || ty.starts_with("List<") {
            value.split(',').map(str::trim).collect()
        } else {
            vec![value]
        };
        if values.iter().any(|v| !re.is_match(v)) {
            return fail(format!("must match pattern {pattern}"));
        }
    }
    Ok(())
}

/// Evaluates the Conditions section.
pub fn resolve_conditions(env: &mut Env, template: &Value) -> Result<(), AwsError> {
    let conditions = section(template, "Conditions").clone();
    // Conditions may refer to each other: evaluate until none is left.
    let mut pending: Vec<(String, Value)> = conditions.into_iter().collect();
    while !pending.is_empty() {
        let before = pending.len();
        let mut next = Vec::new();
        for (name, body) in pending {
            match env.bool_of(&body) {
                Ok(b) => {
                    env.conditions.insert(name, b);
                }
                Err(_) => next.push((name, body)),
            }
        }
        if next.len() == before {
            let (name, body) = &next[0];
            return match env.bool_of(body) {
                Err(e) => Err(AwsError::from(e)),
                Ok(_) => Err(format_error(format!("Unresolved condition {name}"))),
            };
        }
        pending = next;
    }
    Ok(())
}

/// True when the resource's (or output's) Condition holds.
pub fn enabled(env: &Env, item: &Value) -> bool {
    match item.get("Condition").and_then(Value::as_str) {
        Some(c) => env.conditions.get(c).copied().unwrap_or(false),
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Env {
        let mut env = Env {
            account: "123456789012".into(),
            region: "us-east-1".into(),
            partition: "aws".into(),
            stack_name: "s".into(),
            ..Default::default()
        };
        env.parameters.insert("Env".into(), json!("prod"));
        env.resources.insert(
            "Q".into(),
            Deployed {
                physical_id: "http://q".into(),
                attributes: [("Arn".to_string(), json!("arn:q"))].into_iter().collect(),
            },
        );
        env
    }

    #[test]
    fn intrinsics() {
        let e = env();
        let v = e
            .eval(&json!({
                "A": {"Fn::Sub": "${AWS::StackName}-${Env}-${Q.Arn}-${!Lit}"},
                "B": {"Fn::Join": ["/", [{"Ref": "Q"}, "x"]]},
                "C": {"Fn::Select": [1, {"Fn::Split": [",", "a,b,c"]}]},
                "D": {"Ref": "AWS::NoValue"},
                "E": {"Fn::Sub": ["${X}!", {"X": {"Fn::GetAtt": ["Q", "Arn"]}}]},
                "F": {"Fn::Base64": "hi"},
                "G": {"Fn::Cidr": ["10.0.0.0/16", 2, 8]},
            }))
            .unwrap();
        assert_eq!(v["A"], "s-prod-arn:q-${Lit}");
        assert_eq!(v["B"], "http://q/x");
        assert_eq!(v["C"], "b");
        assert!(v.get("D").is_none());
        assert_eq!(v["E"], "arn:q!");
        assert_eq!(v["F"], "aGk=");
        assert_eq!(v["G"], json!(["10.0.0.0/24", "10.0.1.0/24"]));
    }

    #[test]
    fn order_and_conditions() {
        let t = parse(
            r#"{"Conditions":{"P":{"Fn::Equals":[{"Ref":"Env"},"prod"]},"N":{"Fn::Not":[{"Condition":"P"}]}},
            "Resources":{"B":{"Type":"X","Properties":{"Q":{"Ref":"A"}}},"A":{"Type":"X","DependsOn":"C"},"C":{"Type":"X"}}}"#,
        )
        .unwrap();
        assert_eq!(creation_order(&t).unwrap(), vec!["C", "A", "B"]);
        let mut e = env();
        resolve_conditions(&mut e, &t).unwrap();
        assert!(e.conditions["P"]);
        assert!(!e.conditions["N"]);
    }
}
