//! JSONata for `QueryLanguage: JSONata` states, through the `jsonata-rs`
//! crate (it builds for wasm32-wasip2), plus the Step Functions functions
//! `$partition`, `$range`, `$hash`, `$random`, `$uuid` and `$parse`.
//! Values cross as JSON text; `undefined` is `None`.

use std::collections::HashMap;

use bumpalo::Bump;
use jsonata_rs::{ArrayFlags, FunctionContext, JsonAta, Value as JValue};
use serde_json::Value;

/// The expression inside `{% ... %}`, when `text` is one.
pub fn expression(text: &str) -> Option<&str> {
    let t = text.trim();
    t.strip_prefix("{%")?.strip_suffix("%}").map(str::trim)
}

/// Evaluates `expr` with variables `vars` (`states` for `$states`, and the
/// execution's `Assign`ed variables).
pub fn eval(expr: &str, vars: &serde_json::Map<String, Value>) -> Result<Option<Value>, String> {
    let arena = Bump::new();
    let j = JsonAta::new(expr, &arena).map_err(|e| e.to_string())?;
    j.register_function("partition", 2, fn_partition);
    j.register_function("range", 3, fn_range);
    j.register_function("hash", 2, fn_hash);
    j.register_function("random", 0, fn_random);
    j.register_function("uuid", 0, fn_uuid);
    j.register_function("parse", 1, fn_parse);
    let bindings: HashMap<&str, &Value> = vars.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let out = j
        .evaluate(None, Some(&bindings))
        .map_err(|e| e.to_string())?;
    if out.is_undefined() {
        return Ok(None);
    }
    let text = out.serialize(false);
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| format!("the JSONata result is not JSON: {e}"))
}

/// Fills a template: strings that are `{% %}` expressions are evaluated,
/// objects and arrays recursively, anything else as is.
pub fn template(v: &Value, vars: &serde_json::Map<String, Value>) -> Result<Value, String> {
    Ok(match v {
        Value::String(s) => match expression(s) {
            Some(e) => eval(e, vars)?.unwrap_or(Value::Null),
            None => v.clone(),
        },
        Value::Object(o) => {
            let mut out = serde_json::Map::new();
            for (k, x) in o {
                // An expression that is undefined leaves its field out.
                if let Value::String(s) = x
                    && let Some(e) = expression(s)
                {
                    if let Some(r) = eval(e, vars)? {
                        out.insert(k.clone(), r);
                    }
                    continue;
                }
                out.insert(k.clone(), template(x, vars)?);
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|x| template(x, vars))
                .collect::<Result<_, _>>()?,
        ),
        other => other.clone(),
    })
}

type Res<'a> = jsonata_rs::Result<&'a JValue<'a>>;

fn err<'a>(msg: &str) -> Res<'a> {
    Err(jsonata_rs::Error::D3137Error(msg.to_string()))
}

fn to_json<'a>(v: &'a JValue<'a>) -> Value {
    if v.is_undefined() {
        return Value::Null;
    }
    serde_json::from_str(&v.serialize(false)).unwrap_or(Value::Null)
}

fn from_json<'a>(arena: &'a Bump, v: &Value) -> &'a JValue<'a> {
    match v {
        Value::Null => JValue::null(arena),
        Value::Bool(b) => JValue::bool(*b),
        Value::Number(n) => JValue::number(arena, n.as_f64().unwrap_or(0.0)),
        Value::String(s) => JValue::string(arena, s),
        Value::Array(a) => {
            let arr = JValue::array_with_capacity(arena, a.len(), ArrayFlags::empty());
            for x in a {
                arr.push(from_json(arena, x));
            }
            arr
        }
        Value::Object(o) => {
            let obj = JValue::object_with_capacity(arena, o.len());
            for (k, x) in o {
                obj.insert(k, from_json(arena, x));
            }
            obj
        }
    }
}

fn fn_partition<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a JValue<'a>]) -> Res<'a> {
    let a = to_json(args[0]);
    let n = args[1].as_f64() as usize;
    let Some(a) = a.as_array() else {
        return err("$partition needs an array");
    };
    if n == 0 {
        return err("$partition needs a size above 0");
    }
    let parts: Vec<Value> = a.chunks(n).map(|c| Value::Array(c.to_vec())).collect();
    Ok(from_json(ctx.arena, &Value::Array(parts)))
}

fn fn_range<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a JValue<'a>]) -> Res<'a> {
    let (a, b, s) = (
        args[0].as_f64() as i64,
        args[1].as_f64() as i64,
        args[2].as_f64() as i64,
    );
    if s == 0 {
        return err("$range needs a step other than 0");
    }
    let mut out = Vec::new();
    let mut x = a;
    while (s > 0 && x <= b) || (s < 0 && x >= b) {
        out.push(Value::from(x));
        x += s;
    }
    Ok(from_json(ctx.arena, &Value::Array(out)))
}

fn fn_hash<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a JValue<'a>]) -> Res<'a> {
    let data = args[0].as_str().to_string();
    let algo = args[1].as_str().to_string();
    match crate::intrinsics::hash_hex(data.as_bytes(), &algo) {
        Ok(h) => Ok(JValue::string(ctx.arena, &h)),
        Err(e) => err(&e),
    }
}

fn fn_random<'a>(ctx: FunctionContext<'a, '_>, _: &[&'a JValue<'a>]) -> Res<'a> {
    let r = ministack_sdk::rand::u64() as f64 / u64::MAX as f64;
    Ok(JValue::number(ctx.arena, r.min(0.999_999_999)))
}

fn fn_uuid<'a>(ctx: FunctionContext<'a, '_>, _: &[&'a JValue<'a>]) -> Res<'a> {
    Ok(JValue::string(ctx.arena, &ministack_sdk::ids::uuid()))
}

fn fn_parse<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a JValue<'a>]) -> Res<'a> {
    let text = args[0].as_str().to_string();
    match serde_json::from_str::<Value>(&text) {
        Ok(v) => Ok(from_json(ctx.arena, &v)),
        Err(e) => err(&format!("$parse: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn evaluates_with_states() {
        let mut vars = serde_json::Map::new();
        vars.insert(
            "states".into(),
            json!({"input": {"a": [1, 2, 3], "n": "x"}}),
        );
        vars.insert("total".into(), json!(10));
        assert_eq!(
            eval("$sum($states.input.a) + $total", &vars).unwrap(),
            Some(json!(16))
        );
        let t = template(
            &json!({"s": "{% $uppercase($states.input.n) %}", "k": 1, "u": "{% $nothing %}"}),
            &vars,
        )
        .unwrap();
        assert_eq!(t, json!({"s": "X", "k": 1}));
        assert_eq!(
            eval("$partition($states.input.a, 2)", &vars).unwrap(),
            Some(json!([[1, 2], [3]]))
        );
        assert_eq!(
            eval("$range(1, 5, 2)", &vars).unwrap(),
            Some(json!([1, 3, 5]))
        );
        assert_eq!(
            eval("$parse('{\"q\": 2}').q", &vars).unwrap(),
            Some(json!(2))
        );
        assert!(eval("(1 + ", &vars).is_err());
    }
}
