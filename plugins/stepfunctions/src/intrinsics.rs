//! The intrinsic functions of the States Language (`States.Format(...)`,
//! ...): a small parser for the call syntax and one function per intrinsic.
//! A failure is `States.IntrinsicFailure` (the caller names the error).

use ministack_sdk::{encoding, hash, ids, rand};
use serde_json::{Value, json};
use sha2::Digest;

use crate::paths::Path;

#[derive(Debug, Clone, PartialEq)]
enum Arg {
    Literal(Value),
    Path(String),
    Call(String, Vec<Arg>),
}

/// Whether a string value is an intrinsic call (`States.` prefix).
pub fn is_intrinsic(s: &str) -> bool {
    s.trim_start().starts_with("States.")
}

/// Parses a call without evaluating it (for validation).
pub fn check(expr: &str) -> Result<(), String> {
    let mut p = Parser {
        s: expr.trim(),
        i: 0,
    };
    let a = p.call()?;
    p.ws();
    if p.i != p.s.len() {
        return Err(format!("unexpected text after the call in '{expr}'"));
    }
    if let Arg::Call(name, _) = a
        && !FUNCTIONS.contains(&name.as_str())
    {
        return Err(format!("unknown intrinsic function {name}"));
    }
    Ok(())
}

const FUNCTIONS: &[&str] = &[
    "States.Format",
    "States.StringToJson",
    "States.JsonToString",
    "States.Array",
    "States.ArrayPartition",
    "States.ArrayContains",
    "States.ArrayRange",
    "States.ArrayGetItem",
    "States.ArrayLength",
    "States.ArrayUnique",
    "States.Base64Encode",
    "States.Base64Decode",
    "States.Hash",
    "States.JsonMerge",
    "States.MathRandom",
    "States.MathAdd",
    "States.StringSplit",
    "States.UUID",
];

/// Evaluates `expr` with `$` = `input` and `$$` = `context`.
pub fn eval(expr: &str, input: &Value, context: &Value) -> Result<Value, String> {
    let mut p = Parser {
        s: expr.trim(),
        i: 0,
    };
    let a = p.call()?;
    p.ws();
    if p.i != p.s.len() {
        return Err(format!("unexpected text after the call in '{expr}'"));
    }
    eval_arg(&a, input, context)
}

fn eval_arg(a: &Arg, input: &Value, context: &Value) -> Result<Value, String> {
    match a {
        Arg::Literal(v) => Ok(v.clone()),
        Arg::Path(p) => {
            let path = Path::parse(p)?;
            path.read_from(input, context).ok_or_else(|| {
                format!("The JsonPath argument '{p}' could not be found in the input")
            })
        }
        Arg::Call(name, args) => {
            let vals = args
                .iter()
                .map(|x| eval_arg(x, input, context))
                .collect::<Result<Vec<_>, _>>()?;
            call(name, &vals)
        }
    }
}

fn n_args(name: &str, args: &[Value], n: usize) -> Result<(), String> {
    if args.len() != n {
        return Err(format!(
            "The function {name} requires {n} argument(s) but got {}",
            args.len()
        ));
    }
    Ok(())
}

fn string<'a>(name: &str, v: &'a Value) -> Result<&'a str, String> {
    v.as_str()
        .ok_or_else(|| format!("The function {name} needs a string argument, got {v}"))
}

fn array<'a>(name: &str, v: &'a Value) -> Result<&'a Vec<Value>, String> {
    v.as_array()
        .ok_or_else(|| format!("The function {name} needs an array argument, got {v}"))
}

fn int(name: &str, v: &Value) -> Result<i64, String> {
    v.as_i64()
        .or_else(|| v.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
        .ok_or_else(|| format!("The function {name} needs an integer argument, got {v}"))
}

fn call(name: &str, args: &[Value]) -> Result<Value, String> {
    match name {
        "States.Format" => {
            let fmt = string(name, args.first().ok_or("States.Format needs a template")?)?;
            let mut out = String::new();
            let mut rest = args[1..].iter();
            let mut chars = fmt.chars().peekable();
            while let Some(c) = chars.next() {
                if c == '{' && chars.peek() == Some(&'}') {
                    chars.next();
                    let v = rest
                        .next()
                        .ok_or("States.Format has more placeholders than arguments")?;
                    match v {
                        Value::String(s) => out.push_str(s),
                        other => out.push_str(&other.to_string()),
                    }
                } else {
                    out.push(c);
                }
            }
            if rest.next().is_some() {
                return Err("States.Format has more arguments than placeholders".into());
            }
            Ok(Value::String(out))
        }
        "States.StringToJson" => {
            n_args(name, args, 1)?;
            serde_json::from_str(string(name, &args[0])?).map_err(|e| e.to_string())
        }
        "States.JsonToString" => {
            n_args(name, args, 1)?;
            Ok(Value::String(args[0].to_string()))
        }
        "States.Array" => Ok(Value::Array(args.to_vec())),
        "States.ArrayPartition" => {
            n_args(name, args, 2)?;
            let a = array(name, &args[0])?;
            let n = int(name, &args[1])?;
            if n <= 0 {
                return Err("States.ArrayPartition needs a chunk size above 0".into());
            }
            Ok(Value::Array(
                a.chunks(n as usize)
                    .map(|c| Value::Array(c.to_vec()))
                    .collect(),
            ))
        }
        "States.ArrayContains" => {
            n_args(name, args, 2)?;
            Ok(Value::Bool(array(name, &args[0])?.contains(&args[1])))
        }
        "States.ArrayRange" => {
            n_args(name, args, 3)?;
            let (a, b, step) = (
                int(name, &args[0])?,
                int(name, &args[1])?,
                int(name, &args[2])?,
            );
            if step == 0 {
                return Err("States.ArrayRange needs a step other than 0".into());
            }
            let mut out = Vec::new();
            let mut x = a;
            while (step > 0 && x <= b) || (step < 0 && x >= b) {
                out.push(json!(x));
                if out.len() > 1000 {
                    return Err("States.ArrayRange may return at most 1000 items".into());
                }
                x += step;
            }
            Ok(Value::Array(out))
        }
        "States.ArrayGetItem" => {
            n_args(name, args, 2)?;
            let a = array(name, &args[0])?;
            let i = int(name, &args[1])?;
            usize::try_from(i)
                .ok()
                .and_then(|i| a.get(i))
                .cloned()
                .ok_or_else(|| format!("States.ArrayGetItem: index {i} is out of range"))
        }
        "States.ArrayLength" => {
            n_args(name, args, 1)?;
            Ok(json!(array(name, &args[0])?.len()))
        }
        "States.ArrayUnique" => {
            n_args(name, args, 1)?;
            let mut out: Vec<Value> = Vec::new();
            for v in array(name, &args[0])? {
                if !out.contains(v) {
                    out.push(v.clone());
                }
            }
            Ok(Value::Array(out))
        }
        "States.Base64Encode" => {
            n_args(name, args, 1)?;
            Ok(Value::String(encoding::base64_encode(
                string(name, &args[0])?.as_bytes(),
            )))
        }
        "States.Base64Decode" => {
            n_args(name, args, 1)?;
            let bytes = encoding::base64_decode(string(name, &args[0])?)
                .ok_or("States.Base64Decode: the argument is not base64")?;
            String::from_utf8(bytes)
                .map(Value::String)
                .map_err(|_| "States.Base64Decode: the data is not UTF-8".into())
        }
        "States.Hash" => {
            n_args(name, args, 2)?;
            let data = match &args[0] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let algo = string(name, &args[1])?;
            Ok(Value::String(hash_hex(data.as_bytes(), algo)?))
        }
        "States.JsonMerge" => {
            n_args(name, args, 3)?;
            if args[2] != Value::Bool(false) {
                return Err("States.JsonMerge supports only a shallow merge (false)".into());
            }
            let (Some(a), Some(b)) = (args[0].as_object(), args[1].as_object()) else {
                return Err("States.JsonMerge merges two objects".into());
            };
            let mut out = a.clone();
            for (k, v) in b {
                out.insert(k.clone(), v.clone());
            }
            Ok(Value::Object(out))
        }
        "States.MathRandom" => {
            if args.len() != 2 && args.len() != 3 {
                return Err("States.MathRandom takes a start, an end and an optional seed".into());
            }
            let (a, b) = (int(name, &args[0])?, int(name, &args[1])?);
            if b <= a {
                return Err("States.MathRandom needs an end above the start".into());
            }
            let span = (b - a) as u64;
            let r = match args.get(2) {
                // A seed gives a repeatable number (splitmix64 of the seed).
                Some(seed) => splitmix(int(name, seed)? as u64) % span,
                None => rand::below(span),
            };
            Ok(json!(a + r as i64))
        }
        "States.MathAdd" => {
            n_args(name, args, 2)?;
            let a = int(name, &args[0])?;
            let b = int(name, &args[1])?;
            Ok(json!(a + b))
        }
        "States.StringSplit" => {
            n_args(name, args, 2)?;
            let s = string(name, &args[0])?;
            let d = string(name, &args[1])?;
            Ok(Value::Array(
                s.split(|c| d.contains(c))
                    .filter(|x| !x.is_empty())
                    .map(|x| Value::String(x.to_string()))
                    .collect(),
            ))
        }
        "States.UUID" => {
            n_args(name, args, 0)?;
            Ok(Value::String(ids::uuid()))
        }
        other => Err(format!("unknown intrinsic function {other}")),
    }
}

fn splitmix(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Hex digest with one of States.Hash's algorithms.
pub fn hash_hex(data: &[u8], algo: &str) -> Result<String, String> {
    Ok(match algo {
        "MD5" => hash::md5_hex(data),
        "SHA-1" => hash::hex(&hash::sha1(data)),
        "SHA-256" => hash::sha256_hex(data),
        "SHA-384" => hash::hex(&sha2::Sha384::digest(data)),
        "SHA-512" => hash::hex(&sha2::Sha512::digest(data)),
        other => {
            return Err(format!(
                "The hash algorithm {other} is not one of MD5, SHA-1, SHA-256, SHA-384, SHA-512"
            ));
        }
    })
}

struct Parser<'a> {
    s: &'a str,
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.s[self.i..].starts_with(' ') {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<char> {
        self.s[self.i..].chars().next()
    }

    fn call(&mut self) -> Result<Arg, String> {
        self.ws();
        let start = self.i;
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || c == '.' {
                self.i += 1;
            } else {
                break;
            }
        }
        let name = self.s[start..self.i].to_string();
        if !name.starts_with("States.") {
            return Err(format!("'{}' is not an intrinsic function call", self.s));
        }
        self.ws();
        if self.peek() != Some('(') {
            return Err(format!("expected '(' after {name}"));
        }
        self.i += 1;
        let mut args = Vec::new();
        self.ws();
        if self.peek() == Some(')') {
            self.i += 1;
            return Ok(Arg::Call(name, args));
        }
        loop {
            args.push(self.arg()?);
            self.ws();
            match self.peek() {
                Some(',') => self.i += 1,
                Some(')') => {
                    self.i += 1;
                    return Ok(Arg::Call(name, args));
                }
                _ => return Err(format!("expected ',' or ')' in {name}")),
            }
        }
    }

    fn arg(&mut self) -> Result<Arg, String> {
        self.ws();
        match self.peek() {
            Some('\'') => {
                self.i += 1;
                let mut out = String::new();
                let mut chars = self.s[self.i..].char_indices();
                while let Some((k, c)) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some((_, n)) = chars.next() {
                                out.push(n);
                            }
                        }
                        '\'' => {
                            self.i += k + 1;
                            return Ok(Arg::Literal(Value::String(out)));
                        }
                        c => out.push(c),
                    }
                }
                Err("unterminated string literal".into())
            }
            Some('$') => {
                let start = self.i;
                let mut depth = 0i32;
                let mut quote = false;
                while let Some(c) = self.peek() {
                    match c {
                        '\'' => quote = !quote,
                        '[' if !quote => depth += 1,
                        ']' if !quote => depth -= 1,
                        ',' | ')' if !quote && depth == 0 => break,
                        _ => {}
                    }
                    self.i += c.len_utf8();
                }
                Ok(Arg::Path(self.s[start..self.i].trim().to_string()))
            }
            Some('S') => self.call(),
            _ => {
                let start = self.i;
                while let Some(c) = self.peek() {
                    if c == ',' || c == ')' {
                        break;
                    }
                    self.i += c.len_utf8();
                }
                let text = self.s[start..self.i].trim();
                serde_json::from_str(text)
                    .map(Arg::Literal)
                    .map_err(|_| format!("bad argument '{text}'"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(e: &str, input: Value) -> Value {
        eval(e, &input, &json!({})).unwrap()
    }

    #[test]
    fn functions() {
        assert_eq!(
            ev("States.Format('Hi {} of {}', $.n, 3)", json!({"n": "Ann"})),
            json!("Hi Ann of 3")
        );
        assert_eq!(
            ev("States.Array(1, 'a', $.x)", json!({"x": true})),
            json!([1, "a", true])
        );
        assert_eq!(
            ev(
                "States.ArrayPartition(States.Array(1,2,3,4,5), 2)",
                json!({})
            ),
            json!([[1, 2], [3, 4], [5]])
        );
        assert_eq!(
            ev("States.ArrayRange(1, 9, 2)", json!({})),
            json!([1, 3, 5, 7, 9])
        );
        assert_eq!(
            ev("States.ArrayLength($.a)", json!({"a": [1, 2]})),
            json!(2)
        );
        assert_eq!(
            ev("States.ArrayUnique($.a)", json!({"a": [1, 2, 1]})),
            json!([1, 2])
        );
        assert_eq!(
            ev("States.ArrayGetItem($.a, 1)", json!({"a": [1, 2]})),
            json!(2)
        );
        assert_eq!(
            ev("States.ArrayContains($.a, 2)", json!({"a": [1, 2]})),
            json!(true)
        );
        assert_eq!(ev("States.Base64Encode('abc')", json!({})), json!("YWJj"));
        assert_eq!(ev("States.Base64Decode('YWJj')", json!({})), json!("abc"));
        assert_eq!(
            ev("States.Hash('input data', 'SHA-1')", json!({})),
            json!("aaff4a450a104cd177d28d18d74485e8cae074b7")
        );
        assert_eq!(
            ev(
                "States.JsonMerge($.a, $.b, false)",
                json!({"a": {"x": 1}, "b": {"y": 2}})
            ),
            json!({"x": 1, "y": 2})
        );
        assert_eq!(ev("States.MathAdd(111, -1)", json!({})), json!(110));
        assert_eq!(
            ev("States.StringSplit('1,2;3', ',;')", json!({})),
            json!(["1", "2", "3"])
        );
        assert_eq!(
            ev("States.StringToJson('{\"a\":1}')", json!({})),
            json!({"a": 1})
        );
        assert_eq!(
            ev("States.JsonToString($.a)", json!({"a": [1]})),
            json!("[1]")
        );
        assert!(eval("States.Nope()", &json!({}), &json!({})).is_err());
        assert!(check("States.UUID()").is_ok());
        assert!(check("States.Nope()").is_err());
    }
}
