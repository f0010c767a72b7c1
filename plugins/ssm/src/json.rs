//! Small readers over the untyped JSON inputs and records of this plugin.

use serde_json::{Map, Value};

pub fn str_of<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str)
}

/// The input's `Filters` (`[{"Key", "Values": [...]}]`) as (key, values).
pub fn value_filters(input: &Value) -> Vec<(String, Vec<Value>)> {
    input["Filters"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            (
                str_of(f, "Key").unwrap_or_default().to_string(),
                f["Values"].as_array().cloned().unwrap_or_default(),
            )
        })
        .collect()
}

/// [`value_filters`] with the string values only.
pub fn string_filters(input: &Value) -> Vec<(String, Vec<String>)> {
    value_filters(input)
        .into_iter()
        .map(|(k, vals)| {
            let vals = vals
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect();
            (k, vals)
        })
        .collect()
}

/// The members `keys` of the object `v` that are present, in that order.
pub fn pick(v: &Value, keys: &[&str]) -> Map<String, Value> {
    keys.iter()
        .filter_map(|k| Some((k.to_string(), v.get(*k)?.clone())))
        .collect()
}
