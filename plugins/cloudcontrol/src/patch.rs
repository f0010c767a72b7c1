//! JSON Patch (RFC 6902) for UpdateResource's PatchDocument.

use serde_json::Value;

fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

fn tokens(pointer: &str) -> Result<Vec<String>, String> {
    if pointer.is_empty() {
        return Ok(Vec::new());
    }
    let rest = pointer
        .strip_prefix('/')
        .ok_or_else(|| format!("Invalid JSON pointer {pointer}"))?;
    Ok(rest.split('/').map(unescape).collect())
}

fn parent<'a>(doc: &'a mut Value, path: &[String]) -> Result<&'a mut Value, String> {
    let mut cur = doc;
    for t in path {
        cur = match cur {
            Value::Object(m) => m
                .get_mut(t)
                .ok_or_else(|| format!("Path component {t} not found"))?,
            Value::Array(a) => {
                let i: usize = t.parse().map_err(|_| format!("Invalid array index {t}"))?;
                a.get_mut(i)
                    .ok_or_else(|| format!("Array index {t} out of range"))?
            }
            _ => return Err(format!("Path component {t} not found")),
        };
    }
    Ok(cur)
}

fn get(doc: &Value, pointer: &str) -> Result<Value, String> {
    doc.pointer(pointer)
        .cloned()
        .ok_or_else(|| format!("No value at {pointer}"))
}

fn remove(doc: &mut Value, pointer: &str) -> Result<Value, String> {
    let t = tokens(pointer)?;
    let (last, head) = t.split_last().ok_or("Cannot remove the whole document")?;
    match parent(doc, head)? {
        Value::Object(m) => m
            .remove(last)
            .ok_or_else(|| format!("No value at {pointer}")),
        Value::Array(a) => {
            let i: usize = last
                .parse()
                .map_err(|_| format!("Invalid array index {last}"))?;
            if i < a.len() {
                Ok(a.remove(i))
            } else {
                Err(format!("Array index {last} out of range"))
            }
        }
        _ => Err(format!("No value at {pointer}")),
    }
}

fn add(doc: &mut Value, pointer: &str, value: Value, replace: bool) -> Result<(), String> {
    let t = tokens(pointer)?;
    let Some((last, head)) = t.split_last() else {
        *doc = value;
        return Ok(());
    };
    match parent(doc, head)? {
        Value::Object(m) => {
            if replace && !m.contains_key(last) {
                return Err(format!("No value at {pointer} to replace"));
            }
            m.insert(last.clone(), value);
            Ok(())
        }
        Value::Array(a) => {
            if last == "-" && !replace {
                a.push(value);
                return Ok(());
            }
            let i: usize = last
                .parse()
                .map_err(|_| format!("Invalid array index {last}"))?;
            if replace {
                *a.get_mut(i)
                    .ok_or_else(|| format!("Array index {last} out of range"))? = value;
            } else if i <= a.len() {
                a.insert(i, value);
            } else {
                return Err(format!("Array index {last} out of range"));
            }
            Ok(())
        }
        _ => Err(format!("Cannot add at {pointer}")),
    }
}

/// Applies every operation of `patch` to `doc`, or none on an error.
pub fn apply(doc: &mut Value, patch: &Value) -> Result<(), String> {
    let ops = patch.as_array().ok_or("A patch document is a JSON array")?;
    let mut work = doc.clone();
    for op in ops {
        let path = op["path"].as_str().ok_or("Every operation needs a path")?;
        match op["op"].as_str().unwrap_or_default() {
            "add" => add(
                &mut work,
                path,
                op.get("value").cloned().ok_or("add needs a value")?,
                false,
            )?,
            "replace" => add(
                &mut work,
                path,
                op.get("value").cloned().ok_or("replace needs a value")?,
                true,
            )?,
            "remove" => {
                remove(&mut work, path)?;
            }
            "move" => {
                let from = op["from"].as_str().ok_or("move needs from")?;
                let v = remove(&mut work, from)?;
                add(&mut work, path, v, false)?;
            }
            "copy" => {
                let from = op["from"].as_str().ok_or("copy needs from")?;
                let v = get(&work, from)?;
                add(&mut work, path, v, false)?;
            }
            "test" => {
                if get(&work, path)? != op["value"] {
                    return Err(format!("Test failed at {path}"));
                }
            }
            other => return Err(format!("Unknown patch operation {other}")),
        }
    }
    *doc = work;
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn applies_rfc6902_operations() {
        let mut doc = json!({"a": 1, "l": [1, 2], "o": {"x": "y"}});
        super::apply(
            &mut doc,
            &json!([
                {"op": "replace", "path": "/a", "value": 2},
                {"op": "add", "path": "/l/-", "value": 3},
                {"op": "remove", "path": "/o/x"},
                {"op": "add", "path": "/n", "value": "new"},
                {"op": "test", "path": "/a", "value": 2},
            ]),
        )
        .unwrap();
        assert_eq!(doc, json!({"a": 2, "l": [1, 2, 3], "o": {}, "n": "new"}));
        assert!(
            super::apply(
                &mut doc,
                &json!([{"op": "replace", "path": "/missing", "value": 1}])
            )
            .is_err()
        );
        assert_eq!(doc["a"], 2);
    }
}
