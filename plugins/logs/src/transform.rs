//! Log transformers: PutTransformer / GetTransformer / DeleteTransformer /
//! TestTransformer, and the processors applied to the events PutLogEvents
//! stores in a group that has a transformer (the transformed JSON replaces
//! the message, as AWS stores transformed events).
//!
//! Applied: parseJSON, csv, parseKeyValue, grok (the common patterns),
//! parseVPC, addKeys, copyValue, deleteKeys, moveKeys, renameKeys,
//! lowerCaseString, upperCaseString, trimString, substituteString,
//! splitString, typeConverter, listToMap. Not applied (the event passes
//! through that step unchanged): dateTimeConverter, parseCloudfront,
//! parseRoute53, parseToOCSF, parsePostgres, parseWAF.

use ministack_sdk::prelude::*;
use ministack_sdk::time;
use serde_json::{Map, Value};

use crate::groups::{GROUPS, load_group, name_from_identifier};
use crate::invalid;
use crate::shapes::*;

const MESSAGE: &str = "@message";

fn is_parser(p: &Processor) -> bool {
    p.parse_json.is_some()
        || p.csv.is_some()
        || p.grok.is_some()
        || p.parse_key_value.is_some()
        || p.parse_cloudfront.is_some()
        || p.parse_route53.is_some()
        || p.parse_to_ocsf.is_some()
        || p.parse_postgres.is_some()
        || p.parse_vpc.is_some()
        || p.parse_waf.is_some()
}

/// AWS's rules: 1–20 processors, one kind per entry, a parser first.
fn check(processors: &[Processor]) -> Result<(), AwsError> {
    if processors.is_empty() || processors.len() > 20 {
        return Err(invalid("A transformer has 1 to 20 processors."));
    }
    if !is_parser(&processors[0]) {
        return Err(invalid(
            "The first processor in a transformer must be a parser.",
        ));
    }
    for p in processors {
        let set = serde_json::to_value(p)
            .ok()
            .and_then(|v| v.as_object().map(|o| o.len()))
            .unwrap_or(0);
        if set != 1 {
            return Err(invalid("Each processor sets exactly one processor type."));
        }
        if let Some(g) = &p.grok {
            grok_regex(&g.r#match)?;
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TransformerRec {
    pub processors: Vec<Processor>,
    pub created: i64,
    pub modified: i64,
}

/// Key: log group name.
pub const TRANSFORMERS: Table<TransformerRec> = Table::new("transformers");

pub fn put_transformer(_: &Context, input: PutTransformerInput) -> Result<Empty, AwsError> {
    check(&input.transformer_config)?;
    let name = name_from_identifier(&input.log_group_identifier);
    let mut g = load_group(&name)?;
    let now = time::now_millis() as i64;
    let created = TRANSFORMERS.get(&name)?.map_or(now, |t| t.created);
    TRANSFORMERS.put(
        &name,
        &TransformerRec {
            processors: input.transformer_config.clone(),
            created,
            modified: now,
        },
    )?;
    // Kept on the group too, so PutLogEvents (which reads the group
    // anyway) transforms without another read.
    g.transformer = Some(input.transformer_config);
    GROUPS.put(&name, &g)?;
    Ok(Empty {})
}

pub fn get_transformer(
    _: &Context,
    input: GetTransformerInput,
) -> Result<GetTransformerOutput, AwsError> {
    let name = name_from_identifier(&input.log_group_identifier);
    load_group(&name)?;
    let t = TRANSFORMERS
        .get(&name)?
        .ok_or_else(|| crate::not_found("The log group has no transformer."))?;
    Ok(GetTransformerOutput {
        log_group_identifier: Some(input.log_group_identifier),
        creation_time: Some(t.created),
        last_modified_time: Some(t.modified),
        transformer_config: Some(t.processors),
    })
}

pub fn delete_transformer(_: &Context, input: DeleteTransformerInput) -> Result<Empty, AwsError> {
    let name = name_from_identifier(&input.log_group_identifier);
    let mut g = load_group(&name)?;
    if !TRANSFORMERS.delete(&name) {
        return Err(crate::not_found("The log group has no transformer."));
    }
    g.transformer = None;
    GROUPS.put(&name, &g)?;
    Ok(Empty {})
}

pub fn test_transformer(
    _: &Context,
    input: TestTransformerInput,
) -> Result<TestTransformerOutput, AwsError> {
    check(&input.transformer_config)?;
    if input.log_event_messages.is_empty() || input.log_event_messages.len() > 50 {
        return Err(invalid("logEventMessages has 1 to 50 messages."));
    }
    let logs = input
        .log_event_messages
        .iter()
        .enumerate()
        .map(|(i, m)| TransformedLogRecord {
            event_number: Some(i as i64 + 1),
            event_message: Some(m.clone()),
            transformed_event_message: Some(apply(&input.transformer_config, m)),
        })
        .collect();
    Ok(TestTransformerOutput {
        transformed_logs: Some(logs),
    })
}

/// The message a transformer turns `message` into: the JSON text of the
/// record its processors built, or the message itself when the first
/// parser could not read it.
pub fn apply(processors: &[Processor], message: &str) -> String {
    let mut rec = Map::new();
    rec.insert(MESSAGE.into(), Value::String(message.into()));
    let mut parsed = false;
    for p in processors {
        let ok = step(p, &mut rec);
        if is_parser(p) {
            parsed |= ok;
        }
    }
    if !parsed {
        return message.to_string();
    }
    rec.remove(MESSAGE);
    Value::Object(rec).to_string()
}

fn text_at(rec: &Map<String, Value>, path: &str) -> Option<String> {
    match get(rec, path)? {
        Value::String(s) => Some(s.clone()),
        v => Some(v.to_string()),
    }
}

fn get<'a>(rec: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    if let Some(v) = rec.get(path) {
        return Some(v);
    }
    let mut parts = path.split('.');
    let mut cur = rec.get(parts.next()?)?;
    for p in parts {
        cur = cur.as_object()?.get(p)?;
    }
    Some(cur)
}

fn remove(rec: &mut Map<String, Value>, path: &str) -> Option<Value> {
    if let Some(v) = rec.remove(path) {
        return Some(v);
    }
    let (parent, last) = path.rsplit_once('.')?;
    let mut cur = rec;
    for p in parent.split('.') {
        cur = cur.get_mut(p)?.as_object_mut()?;
    }
    cur.remove(last)
}

/// Sets a dotted path, creating the objects on the way; `overwrite` false
/// leaves an existing value.
fn set(rec: &mut Map<String, Value>, path: &str, v: Value, overwrite: bool) {
    let parts: Vec<&str> = path.split('.').collect();
    let mut cur = rec;
    for p in &parts[..parts.len() - 1] {
        let slot = cur
            .entry(p.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if !slot.is_object() {
            *slot = Value::Object(Map::new());
        }
        cur = slot.as_object_mut().expect("object");
    }
    let last = parts[parts.len() - 1];
    if overwrite || !cur.contains_key(last) {
        cur.insert(last.to_string(), v);
    }
}

fn put_parsed(rec: &mut Map<String, Value>, dest: Option<&str>, fields: Map<String, Value>) {
    match dest {
        Some(d) if !d.is_empty() => set(rec, d, Value::Object(fields), true),
        _ => {
            for (k, v) in fields {
                rec.insert(k, v);
            }
        }
    }
}

fn map_str(rec: &mut Map<String, Value>, keys: &[String], f: impl Fn(&str) -> String) {
    for k in keys {
        if let Some(Value::String(s)) = get(rec, k).cloned() {
            set(rec, k, Value::String(f(&s)), true);
        }
    }
}

/// Applies one processor; false when a parser could not read its source.
fn step(p: &Processor, rec: &mut Map<String, Value>) -> bool {
    if let Some(j) = &p.parse_json {
        let src = j.source.as_deref().unwrap_or(MESSAGE);
        let Some(Value::Object(o)) = text_at(rec, src).and_then(|t| serde_json::from_str(&t).ok())
        else {
            return false;
        };
        put_parsed(rec, j.destination.as_deref(), o);
    } else if let Some(c) = &p.csv {
        let src = c.source.as_deref().unwrap_or(MESSAGE);
        let Some(text) = text_at(rec, src) else {
            return false;
        };
        let delim = c.delimiter.as_deref().unwrap_or(",");
        let quote = c.quote_character.as_deref().unwrap_or("\"");
        let cols = split_quoted(&text, delim, quote);
        let mut o = Map::new();
        for (i, v) in cols.into_iter().enumerate() {
            let name = c
                .columns
                .as_ref()
                .and_then(|cs| cs.get(i).cloned())
                .unwrap_or_else(|| format!("column_{}", i + 1));
            o.insert(name, Value::String(v));
        }
        put_parsed(rec, c.destination.as_deref(), o);
    } else if let Some(kv) = &p.parse_key_value {
        let src = kv.source.as_deref().unwrap_or(MESSAGE);
        let Some(text) = text_at(rec, src) else {
            return false;
        };
        let fd = kv.field_delimiter.as_deref().unwrap_or("&");
        let kd = kv.key_value_delimiter.as_deref().unwrap_or("=");
        let prefix = kv.key_prefix.as_deref().unwrap_or("");
        let mut o = Map::new();
        for part in text.split(fd).filter(|s| !s.is_empty()) {
            match part.split_once(kd) {
                Some((k, v)) => {
                    o.insert(format!("{prefix}{k}"), Value::String(v.into()));
                }
                None => {
                    if let Some(nm) = &kv.non_match_value {
                        o.insert(format!("{prefix}{part}"), Value::String(nm.clone()));
                    }
                }
            }
        }
        let overwrite = kv.overwrite_if_exists.unwrap_or(false);
        match kv.destination.as_deref() {
            Some(d) if !d.is_empty() => set(rec, d, Value::Object(o), true),
            _ => {
                for (k, v) in o {
                    set(rec, &k, v, overwrite);
                }
            }
        }
    } else if let Some(g) = &p.grok {
        let src = g.source.as_deref().unwrap_or(MESSAGE);
        let Some(text) = text_at(rec, src) else {
            return false;
        };
        let Ok(re) = grok_regex(&g.r#match) else {
            return false;
        };
        let Some(caps) = re.captures(&text) else {
            return false;
        };
        for name in re.capture_names().flatten() {
            if let Some(m) = caps.name(name) {
                set(
                    rec,
                    &name.replace("__", "."),
                    Value::String(m.as_str().into()),
                    true,
                );
            }
        }
    } else if let Some(v) = &p.parse_vpc {
        const FIELDS: [&str; 14] = [
            "version",
            "account_id",
            "interface_id",
            "srcaddr",
            "dstaddr",
            "srcport",
            "dstport",
            "protocol",
            "packets",
            "bytes",
            "start",
            "end",
            "action",
            "log_status",
        ];
        let src = v.source.as_deref().unwrap_or(MESSAGE);
        let Some(text) = text_at(rec, src) else {
            return false;
        };
        let parts: Vec<&str> = text.split_whitespace().collect();
        if parts.len() != FIELDS.len() {
            return false;
        }
        for (k, v) in FIELDS.iter().zip(parts) {
            rec.insert(k.to_string(), Value::String(v.into()));
        }
    } else if let Some(a) = &p.add_keys {
        for e in &a.entries {
            let ow = e.overwrite_if_exists.unwrap_or(false);
            set(rec, &e.key, Value::String(e.value.clone()), ow);
        }
    } else if let Some(c) = &p.copy_value {
        for e in &c.entries {
            if let Some(v) = get(rec, &e.source).cloned() {
                set(rec, &e.target, v, e.overwrite_if_exists.unwrap_or(false));
            }
        }
    } else if let Some(d) = &p.delete_keys {
        for k in &d.with_keys {
            remove(rec, k);
        }
    } else if let Some(m) = &p.move_keys {
        for e in &m.entries {
            let ow = e.overwrite_if_exists.unwrap_or(false);
            if get(rec, &e.target).is_some() && !ow {
                continue;
            }
            if let Some(v) = remove(rec, &e.source) {
                set(rec, &e.target, v, true);
            }
        }
    } else if let Some(r) = &p.rename_keys {
        for e in &r.entries {
            let ow = e.overwrite_if_exists.unwrap_or(false);
            let target = match e.key.rsplit_once('.') {
                Some((parent, _)) => format!("{parent}.{}", e.rename_to),
                None => e.rename_to.clone(),
            };
            if get(rec, &target).is_some() && !ow {
                continue;
            }
            if let Some(v) = remove(rec, &e.key) {
                set(rec, &target, v, true);
            }
        }
    } else if let Some(l) = &p.lower_case_string {
        map_str(rec, &l.with_keys, |s| s.to_lowercase());
    } else if let Some(u) = &p.upper_case_string {
        map_str(rec, &u.with_keys, |s| s.to_uppercase());
    } else if let Some(t) = &p.trim_string {
        map_str(rec, &t.with_keys, |s| s.trim().to_string());
    } else if let Some(s) = &p.substitute_string {
        for e in &s.entries {
            if let Ok(re) = regex::Regex::new(&e.from) {
                map_str(rec, std::slice::from_ref(&e.source), |v| {
                    re.replace_all(v, e.to.as_str()).into_owned()
                });
            }
        }
    } else if let Some(s) = &p.split_string {
        for e in &s.entries {
            if let Some(Value::String(v)) = get(rec, &e.source).cloned() {
                let parts = v
                    .split(e.delimiter.as_str())
                    .map(|x| Value::String(x.into()))
                    .collect();
                set(rec, &e.source, Value::Array(parts), true);
            }
        }
    } else if let Some(t) = &p.type_converter {
        for e in &t.entries {
            let Some(v) = get(rec, &e.key).cloned() else {
                continue;
            };
            let text = match &v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let out = match e.r#type.as_str() {
                "integer" => text.trim().parse::<i64>().ok().map(Value::from),
                "double" => text.trim().parse::<f64>().ok().map(Value::from),
                "boolean" => match text.trim().to_ascii_lowercase().as_str() {
                    "true" => Some(Value::Bool(true)),
                    "false" => Some(Value::Bool(false)),
                    _ => None,
                },
                "string" => Some(Value::String(text)),
                _ => None,
            };
            if let Some(out) = out {
                set(rec, &e.key, out, true);
            }
        }
    } else if let Some(l) = &p.list_to_map
        && let Some(Value::Array(items)) = get(rec, &l.source).cloned()
    {
        let mut o = Map::new();
        for item in items {
            let Some(obj) = item.as_object() else {
                continue;
            };
            let Some(k) = obj.get(&l.key).map(|k| match k {
                Value::String(s) => s.clone(),
                v => v.to_string(),
            }) else {
                continue;
            };
            let v = match &l.value_key {
                Some(vk) => obj.get(vk).cloned().unwrap_or(Value::Null),
                None => item.clone(),
            };
            o.insert(k, v);
        }
        let target = l.target.clone().unwrap_or_default();
        if target.is_empty() {
            for (k, v) in o {
                rec.insert(k, v);
            }
        } else {
            set(rec, &target, Value::Object(o), true);
        }
    }
    true
}

fn split_quoted(text: &str, delim: &str, quote: &str) -> Vec<String> {
    let d = delim.chars().next().unwrap_or(',');
    let q = quote.chars().next().unwrap_or('"');
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == q {
            if quoted && chars.peek() == Some(&q) {
                cur.push(q);
                chars.next();
            } else {
                quoted = !quoted;
            }
        } else if c == d && !quoted {
            out.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    out.push(cur);
    out
}

/// The grok patterns people use, as regular expressions.
fn grok_base(name: &str) -> Option<&'static str> {
    Some(match name {
        "WORD" => r"\b\w+\b",
        "NOTSPACE" => r"\S+",
        "SPACE" => r"\s*",
        "DATA" => r".*?",
        "GREEDYDATA" => r".*",
        "INT" => r"[+-]?\d+",
        "POSINT" => r"\d+",
        "NUMBER" | "BASE10NUM" => r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)",
        "IPV4" => r"(?:\d{1,3}\.){3}\d{1,3}",
        "IP" | "IPORHOST" | "HOSTNAME" => r"[0-9A-Za-z][0-9A-Za-z.:_-]*",
        "LOGLEVEL" => {
            r"(?:[Tt]race|TRACE|[Dd]ebug|DEBUG|[Nn]otice|NOTICE|[Ii]nfo|INFO|[Ww]arn(?:ing)?|WARN(?:ING)?|[Ee]rr(?:or)?|ERR(?:OR)?|[Cc]rit(?:ical)?|CRIT(?:ICAL)?|[Ff]atal|FATAL|[Ss]evere|SEVERE|[Ee]merg(?:ency)?|EMERG(?:ENCY)?)"
        }
        "TIMESTAMP_ISO8601" => {
            r"\d{4}-\d{2}-\d{2}[T ]\d{2}:?\d{2}(?::?\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?"
        }
        "UUID" => r"[A-Fa-f0-9]{8}-(?:[A-Fa-f0-9]{4}-){3}[A-Fa-f0-9]{12}",
        "QUOTEDSTRING" => r#""(?:[^"\\]|\\.)*""#,
        "URIPATHPARAM" | "URIPATH" => r"/[^\s?]*(?:\?\S*)?",
        "HTTPDATE" => r"\d{2}/\w{3}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}",
        "USERNAME" | "USER" => r"[a-zA-Z0-9._-]+",
        _ => return None,
    })
}

fn grok_regex(pattern: &str) -> Result<regex::Regex, AwsError> {
    let token = regex::Regex::new(r"%\{(\w+)(?::([\w.@\[\]]+))?(?::\w+)?\}").expect("grok token");
    let mut out = String::new();
    let mut last = 0;
    for c in token.captures_iter(pattern) {
        let m = c.get(0).expect("match");
        out.push_str(&pattern[last..m.start()]);
        last = m.end();
        let base = grok_base(&c[1])
            .ok_or_else(|| invalid(format!("Unsupported grok pattern: {}", &c[1])))?;
        match c.get(2) {
            // Dots in a field name nest; regex group names cannot hold them.
            Some(f) => out.push_str(&format!(
                "(?P<{}>{base})",
                f.as_str().replace('.', "__").replace(['@', '[', ']'], "")
            )),
            None => out.push_str(&format!("(?:{base})")),
        }
    }
    out.push_str(&pattern[last..]);
    regex::Regex::new(&out).map_err(|e| invalid(format!("Invalid grok pattern: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn procs(v: serde_json::Value) -> Vec<Processor> {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn json_then_keys() {
        let p = procs(serde_json::json!([
            {"parseJSON": {}},
            {"addKeys": {"entries": [{"key": "env", "value": "dev"}]}},
            {"renameKeys": {"entries": [{"key": "lvl", "renameTo": "level"}]}},
            {"upperCaseString": {"withKeys": ["level"]}},
            {"typeConverter": {"entries": [{"key": "ms", "type": "integer"}]}},
            {"deleteKeys": {"withKeys": ["secret"]}}
        ]));
        let out: Value =
            serde_json::from_str(&apply(&p, r#"{"lvl":"warn","ms":"12","secret":"x"}"#)).unwrap();
        assert_eq!(out, serde_json::json!({"env":"dev","level":"WARN","ms":12}));
    }

    #[test]
    fn grok_and_kv() {
        let p = procs(serde_json::json!([
            {"grok": {"match": "%{IP:client} %{WORD:method} %{URIPATHPARAM:path} %{NUMBER:status}"}}
        ]));
        let out: Value = serde_json::from_str(&apply(&p, "10.0.0.1 GET /a?b=1 200")).unwrap();
        assert_eq!(out["method"], "GET");
        assert_eq!(out["status"], "200");
        let p = procs(serde_json::json!([{"parseKeyValue": {"fieldDelimiter": " "}}]));
        let out: Value = serde_json::from_str(&apply(&p, "a=1 b=2")).unwrap();
        assert_eq!(out, serde_json::json!({"a":"1","b":"2"}));
        // A message the parser cannot read stays as it was.
        let p = procs(serde_json::json!([{"parseJSON": {}}]));
        assert_eq!(apply(&p, "plain"), "plain");
    }
}
