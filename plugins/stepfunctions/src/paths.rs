//! JSONPath as the Amazon States Language uses it: reference paths
//! (`$.a.b[0]`, `$['a']`, `$$.Execution.Id`) for reading and for
//! `ResultPath`, plus `[*]`, slices, `..` and filters (`[?(@.x > 1)]`) when
//! reading (`InputPath`, `ItemsPath`, `Parameters` values). A path that
//! matches nothing is an error the caller turns into `States.Runtime`.

use serde_json::{Map, Value};

/// One step of a path.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Field(String),
    Index(i64),
    Wildcard,
    Slice(Option<i64>, Option<i64>),
    Descend(String),
    Filter(Filter),
}

#[derive(Debug, Clone, PartialEq)]
struct Filter {
    path: Vec<Step>,
    op: Option<(String, Value)>,
}

/// A parsed path: `$` (the state's input), `$$` (the context object) or
/// `$name` (a variable set by `Assign`).
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    pub context: bool,
    pub variable: Option<String>,
    steps: Vec<Step>,
}

/// Where the interpreter keeps variables inside the context object it
/// hands to path reads (the context never reaches a client with them).
pub const VARS_KEY: &str = "__variables";

impl Path {
    pub fn parse(text: &str) -> Result<Path, String> {
        let t = text.trim();
        let (context, rest) = if let Some(r) = t.strip_prefix("$$") {
            (true, r)
        } else if let Some(r) = t.strip_prefix('$') {
            (false, r)
        } else {
            return Err(format!("The path '{text}' does not begin with '$'"));
        };
        let mut variable = None;
        let mut rest = rest;
        if !context && rest.starts_with(|c: char| c.is_alphabetic() || c == '_') {
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            variable = Some(rest[..end].to_string());
            rest = &rest[end..];
        }
        let steps = parse_steps(rest).map_err(|e| format!("Invalid path '{text}': {e}"))?;
        Ok(Path {
            context,
            variable,
            steps,
        })
    }

    /// The value the path starts from: the input, the context object, or a
    /// variable (kept in the context under [`VARS_KEY`]).
    pub fn root<'v>(&self, input: &'v Value, context: &'v Value) -> Option<&'v Value> {
        match &self.variable {
            Some(name) => context.get(VARS_KEY)?.get(name),
            None if self.context => Some(context),
            None => Some(input),
        }
    }

    /// Reads the path from its root.
    pub fn read_from(&self, input: &Value, context: &Value) -> Option<Value> {
        self.read(self.root(input, context)?)
    }

    /// A reference path: only fields and indexes (what ResultPath accepts).
    pub fn is_reference(&self) -> bool {
        self.steps
            .iter()
            .all(|s| matches!(s, Step::Field(_) | Step::Index(_)))
    }

    /// Whether the path can match several values (so the result is a list).
    fn is_definite(&self) -> bool {
        self.is_reference()
    }

    /// Reads the path from `root`; `None` when nothing matches.
    pub fn read(&self, root: &Value) -> Option<Value> {
        if self.is_definite() {
            let mut cur = root;
            for s in &self.steps {
                cur = match s {
                    Step::Field(f) => cur.as_object()?.get(f)?,
                    Step::Index(i) => {
                        let a = cur.as_array()?;
                        let i = if *i < 0 { a.len() as i64 + i } else { *i };
                        a.get(usize::try_from(i).ok()?)?
                    }
                    _ => unreachable!(),
                };
            }
            return Some(cur.clone());
        }
        let mut cur: Vec<&Value> = vec![root];
        for s in &self.steps {
            let mut next = Vec::new();
            for v in cur {
                apply(s, v, &mut next);
            }
            cur = next;
        }
        Some(Value::Array(cur.into_iter().cloned().collect()))
    }

    /// Sets the path in `root` to `value` (ResultPath), creating objects on
    /// the way.
    pub fn write(&self, root: Value, value: Value) -> Result<Value, String> {
        if self.steps.is_empty() {
            return Ok(value);
        }
        let mut root = root;
        if !root.is_object() && matches!(self.steps[0], Step::Field(_)) {
            return Err("Unable to apply ResultPath: the state input is not an object".into());
        }
        write_into(&mut root, &self.steps, value)?;
        Ok(root)
    }
}

fn write_into(node: &mut Value, steps: &[Step], value: Value) -> Result<(), String> {
    let (first, rest) = steps.split_first().expect("not empty");
    match first {
        Step::Field(f) => {
            if node.is_null() {
                *node = Value::Object(Map::new());
            }
            let obj = node
                .as_object_mut()
                .ok_or_else(|| format!("Unable to apply ResultPath: '{f}' is not in an object"))?;
            if rest.is_empty() {
                obj.insert(f.clone(), value);
                Ok(())
            } else {
                let child = obj.entry(f.clone()).or_insert(Value::Null);
                if !child.is_object() && !child.is_array() {
                    *child = Value::Object(Map::new());
                }
                write_into(child, rest, value)
            }
        }
        Step::Index(i) => {
            let arr = node
                .as_array_mut()
                .ok_or_else(|| "Unable to apply ResultPath: not an array".to_string())?;
            let idx = usize::try_from(*i).map_err(|_| "negative index".to_string())?;
            let slot = arr
                .get_mut(idx)
                .ok_or_else(|| format!("Unable to apply ResultPath: index {i} out of range"))?;
            if rest.is_empty() {
                *slot = value;
                Ok(())
            } else {
                write_into(slot, rest, value)
            }
        }
        _ => Err("ResultPath must be a reference path".into()),
    }
}

fn apply<'a>(s: &Step, v: &'a Value, out: &mut Vec<&'a Value>) {
    match s {
        Step::Field(f) => {
            if let Some(x) = v.as_object().and_then(|o| o.get(f)) {
                out.push(x)
            }
        }
        Step::Index(i) => {
            if let Some(a) = v.as_array() {
                let i = if *i < 0 { a.len() as i64 + i } else { *i };
                if let Some(x) = usize::try_from(i).ok().and_then(|i| a.get(i)) {
                    out.push(x)
                }
            }
        }
        Step::Wildcard => match v {
            Value::Array(a) => out.extend(a.iter()),
            Value::Object(o) => out.extend(o.values()),
            _ => {}
        },
        Step::Slice(from, to) => {
            if let Some(a) = v.as_array() {
                let n = a.len() as i64;
                let norm = |x: i64| if x < 0 { (n + x).max(0) } else { x.min(n) };
                let f = norm(from.unwrap_or(0));
                let t = norm(to.unwrap_or(n));
                for i in f..t {
                    out.push(&a[i as usize]);
                }
            }
        }
        Step::Descend(name) => descend(v, name, out),
        Step::Filter(f) => {
            if let Some(a) = v.as_array() {
                for x in a {
                    if filter_matches(f, x) {
                        out.push(x)
                    }
                }
            }
        }
    }
}

fn descend<'a>(v: &'a Value, name: &str, out: &mut Vec<&'a Value>) {
    match v {
        Value::Object(o) => {
            if name == "*" {
                out.extend(o.values());
            } else if let Some(x) = o.get(name) {
                out.push(x);
            }
            for c in o.values() {
                descend(c, name, out);
            }
        }
        Value::Array(a) => {
            for c in a {
                descend(c, name, out);
            }
        }
        _ => {}
    }
}

fn filter_matches(f: &Filter, item: &Value) -> bool {
    let p = Path {
        context: false,
        variable: None,
        steps: f.path.clone(),
    };
    let Some(v) = p.read(item) else { return false };
    let Some((op, rhs)) = &f.op else {
        return true;
    };
    let ord = match (&v, rhs) {
        (Value::Number(a), Value::Number(b)) => a.as_f64().partial_cmp(&b.as_f64()),
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        (a, b) => {
            return match op.as_str() {
                "==" => a == b,
                "!=" => a != b,
                _ => false,
            };
        }
    };
    let Some(ord) = ord else { return false };
    use std::cmp::Ordering::*;
    match op.as_str() {
        "==" => ord == Equal,
        "!=" => ord != Equal,
        "<" => ord == Less,
        "<=" => ord != Greater,
        ">" => ord == Greater,
        ">=" => ord != Less,
        _ => false,
    }
}

fn parse_steps(mut s: &str) -> Result<Vec<Step>, String> {
    let mut steps = Vec::new();
    while !s.is_empty() {
        if let Some(r) = s.strip_prefix("..") {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            let name = &r[..end];
            if name.is_empty() {
                return Err("empty name after '..'".into());
            }
            steps.push(Step::Descend(name.to_string()));
            s = &r[end..];
        } else if let Some(r) = s.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            let name = &r[..end];
            if name.is_empty() {
                return Err("empty field name".into());
            }
            steps.push(if name == "*" {
                Step::Wildcard
            } else {
                Step::Field(name.to_string())
            });
            s = &r[end..];
        } else if let Some(r) = s.strip_prefix('[') {
            let end = matching_bracket(r).ok_or("unclosed '['")?;
            let inner = r[..end].trim();
            s = &r[end + 1..];
            steps.push(parse_bracket(inner)?);
        } else {
            return Err(format!("unexpected '{s}'"));
        }
    }
    Ok(steps)
}

fn matching_bracket(r: &str) -> Option<usize> {
    let mut depth = 0;
    let mut quote: Option<char> = None;
    for (i, c) in r.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '[') => depth += 1,
            (None, ']') if depth == 0 => return Some(i),
            (None, ']') => depth -= 1,
            _ => {}
        }
    }
    None
}

fn parse_bracket(inner: &str) -> Result<Step, String> {
    if inner == "*" {
        return Ok(Step::Wildcard);
    }
    if (inner.starts_with('\'') && inner.ends_with('\'') && inner.len() >= 2)
        || (inner.starts_with('"') && inner.ends_with('"') && inner.len() >= 2)
    {
        return Ok(Step::Field(inner[1..inner.len() - 1].to_string()));
    }
    if let Some(f) = inner.strip_prefix("?(").and_then(|x| x.strip_suffix(')')) {
        let f = f.trim();
        let body = f.strip_prefix('@').ok_or("a filter begins with '@'")?;
        for op in ["==", "!=", "<=", ">=", "<", ">"] {
            if let Some(pos) = body.find(op) {
                let path = parse_steps(body[..pos].trim())?;
                let rhs_text = body[pos + op.len()..].trim();
                let rhs: Value = if rhs_text.starts_with('\'') {
                    Value::String(rhs_text.trim_matches('\'').to_string())
                } else {
                    serde_json::from_str(rhs_text).map_err(|_| "bad filter value")?
                };
                return Ok(Step::Filter(Filter {
                    path,
                    op: Some((op.to_string(), rhs)),
                }));
            }
        }
        return Ok(Step::Filter(Filter {
            path: parse_steps(body.trim())?,
            op: None,
        }));
    }
    if let Some((a, b)) = inner.split_once(':') {
        let num = |x: &str| -> Result<Option<i64>, String> {
            let x = x.trim();
            if x.is_empty() {
                Ok(None)
            } else {
                x.parse()
                    .map(Some)
                    .map_err(|_| format!("bad slice '{inner}'"))
            }
        };
        return Ok(Step::Slice(num(a)?, num(b)?));
    }
    inner
        .parse::<i64>()
        .map(Step::Index)
        .map_err(|_| format!("bad subscript '[{inner}]'"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_and_writes() {
        let v = json!({"a": {"b": [1, 2, {"c": "x"}]}, "k": [{"p": 1}, {"p": 5}]});
        assert_eq!(
            Path::parse("$.a.b[2].c").unwrap().read(&v),
            Some(json!("x"))
        );
        assert_eq!(
            Path::parse("$['a']['b'][0]").unwrap().read(&v),
            Some(json!(1))
        );
        assert_eq!(
            Path::parse("$.a.b[-1]").unwrap().read(&v),
            Some(json!({"c": "x"}))
        );
        assert_eq!(
            Path::parse("$.k[*].p").unwrap().read(&v),
            Some(json!([1, 5]))
        );
        assert_eq!(
            Path::parse("$.k[?(@.p > 2)]").unwrap().read(&v),
            Some(json!([{"p": 5}]))
        );
        assert_eq!(Path::parse("$..p").unwrap().read(&v), Some(json!([1, 5])));
        assert_eq!(
            Path::parse("$.a.b[0:2]").unwrap().read(&v),
            Some(json!([1, 2]))
        );
        assert_eq!(Path::parse("$.nope").unwrap().read(&v), None);
        let w = Path::parse("$.r.s")
            .unwrap()
            .write(json!({"a": 1}), json!(2))
            .unwrap();
        assert_eq!(w, json!({"a": 1, "r": {"s": 2}}));
        assert_eq!(
            Path::parse("$").unwrap().write(json!(1), json!(2)).unwrap(),
            json!(2)
        );
        assert!(Path::parse("a.b").is_err());
        let ctx = json!({VARS_KEY: {"total": {"n": 3}}});
        assert_eq!(
            Path::parse("$total.n").unwrap().read_from(&v, &ctx),
            Some(json!(3))
        );
        assert_eq!(Path::parse("$nope").unwrap().read_from(&v, &ctx), None);
    }
}
