//! CloudWatch Logs filter patterns (metric filters, subscription filters,
//! FilterLogEvents): terms, quoted phrases, `-exclusion`, `?OR`, `%regex%`,
//! JSON selectors `{ $.a.b = "x" && $.n > 3 }` and space-delimited
//! `[ip, user, ..., status = 4*, bytes > 1000]`.
//!
//! Parsing happens once per request; [`Pattern::matches`] runs per event and
//! returns the extracted fields (`$name` / `$.path` values) for metric values
//! and subscription `extractedFields`.

use std::collections::BTreeMap;

use serde_json::Value;

#[derive(Debug, Clone)]
pub enum Pattern {
    All,
    Terms(Terms),
    Json(JsonExpr),
    Space(Space),
}

#[derive(Debug, Clone, Default)]
pub struct Terms {
    required: Vec<Term>,
    any: Vec<Term>,
    excluded: Vec<Term>,
}

#[derive(Debug, Clone)]
enum Term {
    Text(String),
    Regex(regex::Regex),
}

impl Term {
    fn found(&self, msg: &str) -> bool {
        match self {
            Term::Text(t) => msg.contains(t.as_str()),
            Term::Regex(r) => r.is_match(msg),
        }
    }
}

/// A comparison operator of JSON and space-delimited patterns.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// The right-hand side of a comparison.
#[derive(Debug, Clone)]
pub enum Operand {
    Num(f64),
    Str(String),
    /// `IS NULL`, `IS TRUE`, `IS FALSE`, `NOT EXISTS`.
    Null,
    Bool(bool),
    NotExists,
}

#[derive(Debug, Clone)]
pub enum JsonExpr {
    And(Box<JsonExpr>, Box<JsonExpr>),
    Or(Box<JsonExpr>, Box<JsonExpr>),
    Cmp {
        path: Vec<PathPart>,
        op: Op,
        value: Operand,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum PathPart {
    Key(String),
    Index(usize),
    AnyIndex,
}

#[derive(Debug, Clone)]
pub struct Space {
    /// Field names in order; `None` is `...`.
    fields: Vec<Option<String>>,
    cond: Option<SpaceExpr>,
}

#[derive(Debug, Clone)]
enum SpaceExpr {
    And(Box<SpaceExpr>, Box<SpaceExpr>),
    Or(Box<SpaceExpr>, Box<SpaceExpr>),
    Cmp {
        field: String,
        op: Op,
        value: Operand,
    },
}

/// What a match extracted: `$name` → value (space-delimited), `$.path` →
/// value (JSON).
pub type Extracted = BTreeMap<String, String>;

pub fn parse(pattern: &str) -> Result<Pattern, String> {
    let p = pattern.trim();
    if p.is_empty() || p == "\"\"" {
        return Ok(Pattern::All);
    }
    if p.starts_with('{') {
        if !p.ends_with('}') {
            return Err("unbalanced braces".into());
        }
        let toks = tokenize(&p[1..p.len() - 1])?;
        let mut parser = ExprParser { toks, pos: 0 };
        let e = parser.json_or()?;
        if parser.pos != parser.toks.len() {
            return Err(format!("unexpected {:?}", parser.toks[parser.pos]));
        }
        return Ok(Pattern::Json(e));
    }
    if p.starts_with('[') {
        if !p.ends_with(']') {
            return Err("unbalanced brackets".into());
        }
        return parse_space(&p[1..p.len() - 1]).map(Pattern::Space);
    }
    parse_terms(p).map(Pattern::Terms)
}

fn parse_terms(p: &str) -> Result<Terms, String> {
    let mut terms = Terms::default();
    let chars: Vec<char> = p.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_whitespace() {
            i += 1;
            continue;
        }
        let mut kind = 0; // 0 required, 1 any, 2 excluded
        if chars[i] == '?' {
            kind = 1;
            i += 1;
        } else if chars[i] == '-' && i + 1 < chars.len() && !chars[i + 1].is_whitespace() {
            kind = 2;
            i += 1;
        }
        if i >= chars.len() {
            break;
        }
        let term = if chars[i] == '"' {
            let start = i + 1;
            let mut j = start;
            let mut text = String::new();
            while j < chars.len() && chars[j] != '"' {
                if chars[j] == '\\' && j + 1 < chars.len() {
                    j += 1;
                }
                text.push(chars[j]);
                j += 1;
            }
            if j >= chars.len() {
                return Err("unterminated quoted term".into());
            }
            i = j + 1;
            Term::Text(text)
        } else if chars[i] == '%' {
            let start = i + 1;
            let mut j = start;
            while j < chars.len() && chars[j] != '%' {
                j += 1;
            }
            if j >= chars.len() {
                return Err("unterminated regular expression".into());
            }
            let re: String = chars[start..j].iter().collect();
            i = j + 1;
            Term::Regex(regex::Regex::new(&re).map_err(|e| e.to_string())?)
        } else {
            let start = i;
            while i < chars.len() && !chars[i].is_whitespace() {
                i += 1;
            }
            Term::Text(chars[start..i].iter().collect())
        };
        match kind {
            0 => terms.required.push(term),
            1 => terms.any.push(term),
            _ => terms.excluded.push(term),
        }
    }
    Ok(terms)
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Quoted(String),
    Op(Op),
    And,
    Or,
    LParen,
    RParen,
    Comma,
}

fn tokenize(s: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                out.push(Tok::LParen);
                i += 1
            }
            ')' => {
                out.push(Tok::RParen);
                i += 1
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1
            }
            '&' if next == Some('&') => {
                out.push(Tok::And);
                i += 2
            }
            '|' if next == Some('|') => {
                out.push(Tok::Or);
                i += 2
            }
            '=' => {
                out.push(Tok::Op(Op::Eq));
                i += if next == Some('=') { 2 } else { 1 }
            }
            '!' if next == Some('=') => {
                out.push(Tok::Op(Op::Ne));
                i += 2
            }
            '<' => {
                if next == Some('=') {
                    out.push(Tok::Op(Op::Le));
                    i += 2
                } else {
                    out.push(Tok::Op(Op::Lt));
                    i += 1
                }
            }
            '>' => {
                if next == Some('=') {
                    out.push(Tok::Op(Op::Ge));
                    i += 2
                } else {
                    out.push(Tok::Op(Op::Gt));
                    i += 1
                }
            }
            '"' => {
                let mut j = i + 1;
                let mut text = String::new();
                while j < chars.len() && chars[j] != '"' {
                    if chars[j] == '\\' && j + 1 < chars.len() {
                        j += 1;
                    }
                    text.push(chars[j]);
                    j += 1;
                }
                if j >= chars.len() {
                    return Err("unterminated string".into());
                }
                out.push(Tok::Quoted(text));
                i = j + 1;
            }
            _ => {
                let start = i;
                while i < chars.len() {
                    let c = chars[i];
                    if c.is_whitespace() || "()=!<>,&|\"".contains(c) {
                        break;
                    }
                    i += 1;
                }
                if i == start {
                    return Err(format!("unexpected character {c}"));
                }
                out.push(Tok::Word(chars[start..i].iter().collect()));
            }
        }
    }
    Ok(out)
}

struct ExprParser {
    toks: Vec<Tok>,
    pos: usize,
}

impl ExprParser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn json_or(&mut self) -> Result<JsonExpr, String> {
        let mut left = self.json_and()?;
        while self.peek() == Some(&Tok::Or) {
            self.pos += 1;
            let right = self.json_and()?;
            left = JsonExpr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }
    fn json_and(&mut self) -> Result<JsonExpr, String> {
        let mut left = self.json_primary()?;
        while self.peek() == Some(&Tok::And) {
            self.pos += 1;
            let right = self.json_primary()?;
            left = JsonExpr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }
    fn json_primary(&mut self) -> Result<JsonExpr, String> {
        match self.next() {
            Some(Tok::LParen) => {
                let e = self.json_or()?;
                if self.next() != Some(Tok::RParen) {
                    return Err("missing )".into());
                }
                Ok(e)
            }
            Some(Tok::Word(w)) if w.starts_with('$') => {
                let path = parse_path(&w)?;
                let (op, value) = self.comparison()?;
                Ok(JsonExpr::Cmp { path, op, value })
            }
            other => Err(format!("expected a $.selector, found {other:?}")),
        }
    }

    /// `= value`, `IS NULL`, `NOT EXISTS`, ...
    fn comparison(&mut self) -> Result<(Op, Operand), String> {
        match self.next() {
            Some(Tok::Op(op)) => {
                let v = match self.next() {
                    Some(Tok::Quoted(s)) => Operand::Str(s),
                    Some(Tok::Word(w)) => match w.parse::<f64>() {
                        Ok(n) if op != Op::Eq && op != Op::Ne || !w.contains('*') => {
                            Operand::Num(n)
                        }
                        _ => Operand::Str(w),
                    },
                    other => return Err(format!("expected a value, found {other:?}")),
                };
                if matches!(v, Operand::Str(_)) && !matches!(op, Op::Eq | Op::Ne) {
                    return Err("only = and != compare strings".into());
                }
                Ok((op, v))
            }
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("IS") => match self.next() {
                Some(Tok::Word(v)) if v.eq_ignore_ascii_case("NULL") => Ok((Op::Eq, Operand::Null)),
                Some(Tok::Word(v)) if v.eq_ignore_ascii_case("TRUE") => {
                    Ok((Op::Eq, Operand::Bool(true)))
                }
                Some(Tok::Word(v)) if v.eq_ignore_ascii_case("FALSE") => {
                    Ok((Op::Eq, Operand::Bool(false)))
                }
                other => Err(format!(
                    "expected NULL, TRUE or FALSE after IS, found {other:?}"
                )),
            },
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("NOT") => match self.next() {
                Some(Tok::Word(v)) if v.eq_ignore_ascii_case("EXISTS") => {
                    Ok((Op::Eq, Operand::NotExists))
                }
                other => Err(format!("expected EXISTS after NOT, found {other:?}")),
            },
            other => Err(format!("expected a comparison, found {other:?}")),
        }
    }

    fn space_or(&mut self) -> Result<SpaceExpr, String> {
        let mut left = self.space_and()?;
        while self.peek() == Some(&Tok::Or) {
            self.pos += 1;
            let right = self.space_and()?;
            left = SpaceExpr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }
    fn space_and(&mut self) -> Result<SpaceExpr, String> {
        let mut left = self.space_primary()?;
        while self.peek() == Some(&Tok::And) {
            self.pos += 1;
            let right = self.space_primary()?;
            left = SpaceExpr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }
    fn space_primary(&mut self) -> Result<SpaceExpr, String> {
        match self.next() {
            Some(Tok::LParen) => {
                let e = self.space_or()?;
                if self.next() != Some(Tok::RParen) {
                    return Err("missing )".into());
                }
                Ok(e)
            }
            Some(Tok::Word(field)) => {
                let (op, value) = self.comparison()?;
                Ok(SpaceExpr::Cmp { field, op, value })
            }
            other => Err(format!("expected a field name, found {other:?}")),
        }
    }
}

fn parse_path(w: &str) -> Result<Vec<PathPart>, String> {
    let rest = w
        .strip_prefix("$.")
        .or_else(|| w.strip_prefix('$'))
        .ok_or("a selector starts with $.")?;
    let mut parts = Vec::new();
    for seg in rest.split('.').filter(|s| !s.is_empty()) {
        let mut seg = seg;
        let name_end = seg.find('[').unwrap_or(seg.len());
        if name_end > 0 {
            parts.push(PathPart::Key(seg[..name_end].to_string()));
        }
        seg = &seg[name_end..];
        while let Some(s) = seg.strip_prefix('[') {
            let close = s.find(']').ok_or("missing ] in selector")?;
            let idx = &s[..close];
            parts.push(if idx == "*" {
                PathPart::AnyIndex
            } else {
                PathPart::Index(idx.parse().map_err(|_| format!("bad index {idx}"))?)
            });
            seg = &s[close + 1..];
        }
    }
    Ok(parts)
}

fn parse_space(body: &str) -> Result<Space, String> {
    // Split the slots at top-level commas (not inside quotes).
    let mut slots = Vec::new();
    let mut cur = String::new();
    let mut in_quote = false;
    for c in body.chars() {
        match c {
            '"' => {
                in_quote = !in_quote;
                cur.push(c)
            }
            ',' if !in_quote => slots.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    slots.push(cur);
    let mut fields = Vec::new();
    let mut cond: Option<SpaceExpr> = None;
    for slot in slots {
        let slot = slot.trim();
        if slot.is_empty() {
            if fields.is_empty() && body.trim().is_empty() {
                break;
            }
            return Err("empty field in a space-delimited pattern".into());
        }
        if slot == "..." {
            fields.push(None);
            continue;
        }
        let toks = tokenize(slot)?;
        let name = match toks.first() {
            Some(Tok::Word(w)) => w.clone(),
            _ => return Err(format!("bad field {slot}")),
        };
        fields.push(Some(name));
        if toks.len() > 1 {
            let mut p = ExprParser { toks, pos: 0 };
            let e = p.space_or()?;
            if p.pos != p.toks.len() {
                return Err(format!("unexpected text in field {slot}"));
            }
            cond = Some(match cond {
                None => e,
                Some(c) => SpaceExpr::And(Box::new(c), Box::new(e)),
            });
        }
    }
    Ok(Space { fields, cond })
}

/// Splits a log message into space-delimited fields: `"..."` and `[...]`
/// are one field each (without the enclosing characters).
pub fn split_fields(msg: &str) -> Vec<&str> {
    let b = msg.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b' ' || b[i] == b'\t' {
            i += 1;
            continue;
        }
        let (open_close, start) = match b[i] {
            b'"' => (Some(b'"'), i + 1),
            b'[' => (Some(b']'), i + 1),
            _ => (None, i),
        };
        match open_close {
            Some(close) => match b[start..].iter().position(|&c| c == close) {
                Some(n) => {
                    out.push(&msg[start..start + n]);
                    i = start + n + 1;
                }
                None => {
                    out.push(&msg[start..]);
                    i = b.len();
                }
            },
            None => {
                let n = b[i..]
                    .iter()
                    .position(|&c| c == b' ' || c == b'\t')
                    .unwrap_or(b.len() - i);
                out.push(&msg[i..i + n]);
                i += n;
            }
        }
    }
    out
}

/// `*` matches any run of characters.
pub fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let mut rest = text;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(n) => rest = &rest[n + part.len()..],
                None => return false,
            }
        }
    }
    true
}

fn compare_text(op: Op, actual: &str, value: &Operand) -> bool {
    match value {
        Operand::Str(s) => {
            let eq = if s.contains('*') {
                glob(s, actual)
            } else {
                actual == s
            };
            match op {
                Op::Eq => eq,
                Op::Ne => !eq,
                _ => false,
            }
        }
        Operand::Num(n) => match actual.trim().parse::<f64>() {
            Ok(a) => compare_num(op, a, *n),
            Err(_) => op == Op::Ne,
        },
        _ => false,
    }
}

fn compare_num(op: Op, a: f64, b: f64) -> bool {
    match op {
        Op::Eq => a == b,
        Op::Ne => a != b,
        Op::Lt => a < b,
        Op::Le => a <= b,
        Op::Gt => a > b,
        Op::Ge => a >= b,
    }
}

fn select<'a>(v: &'a Value, path: &[PathPart], out: &mut Vec<&'a Value>) {
    let Some((first, rest)) = path.split_first() else {
        out.push(v);
        return;
    };
    match first {
        PathPart::Key(k) => {
            if let Some(c) = v.get(k.as_str()) {
                select(c, rest, out)
            }
        }
        PathPart::Index(i) => {
            if let Some(c) = v.get(*i) {
                select(c, rest, out)
            }
        }
        PathPart::AnyIndex => {
            if let Some(a) = v.as_array() {
                for c in a {
                    select(c, rest, out)
                }
            }
        }
    }
}

fn path_name(path: &[PathPart]) -> String {
    let mut s = String::from("$");
    for p in path {
        match p {
            PathPart::Key(k) => {
                s.push('.');
                s.push_str(k)
            }
            PathPart::Index(i) => s.push_str(&format!("[{i}]")),
            PathPart::AnyIndex => s.push_str("[*]"),
        }
    }
    s
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn eval_json(e: &JsonExpr, doc: &Value, ex: &mut Extracted) -> bool {
    match e {
        JsonExpr::And(a, b) => eval_json(a, doc, ex) && eval_json(b, doc, ex),
        JsonExpr::Or(a, b) => eval_json(a, doc, ex) || eval_json(b, doc, ex),
        JsonExpr::Cmp { path, op, value } => {
            let mut found = Vec::new();
            select(doc, path, &mut found);
            if let Operand::NotExists = value {
                return found.is_empty();
            }
            let hit = found.iter().find(|v| match value {
                Operand::Null => v.is_null(),
                Operand::Bool(b) => v.as_bool() == Some(*b),
                Operand::Num(n) => match v {
                    Value::Number(x) => x.as_f64().is_some_and(|x| compare_num(*op, x, *n)),
                    Value::String(s) => compare_text(*op, s, value),
                    _ => false,
                },
                Operand::Str(_) => match v {
                    Value::String(s) => compare_text(*op, s, value),
                    Value::Number(_) | Value::Bool(_) => compare_text(*op, &v.to_string(), value),
                    _ => *op == Op::Ne,
                },
                Operand::NotExists => false,
            });
            if let Some(v) = hit {
                ex.insert(path_name(path), value_text(v));
                true
            } else {
                false
            }
        }
    }
}

fn eval_space(e: &SpaceExpr, fields: &BTreeMap<&str, &str>) -> bool {
    match e {
        SpaceExpr::And(a, b) => eval_space(a, fields) && eval_space(b, fields),
        SpaceExpr::Or(a, b) => eval_space(a, fields) || eval_space(b, fields),
        SpaceExpr::Cmp { field, op, value } => match fields.get(field.as_str()) {
            Some(actual) => compare_text(*op, actual, value),
            None => false,
        },
    }
}

impl Pattern {
    /// Whether `msg` matches; the extracted fields when it does.
    pub fn matches(&self, msg: &str) -> Option<Extracted> {
        match self {
            Pattern::All => Some(Extracted::new()),
            Pattern::Terms(t) => {
                let ok = t.required.iter().all(|x| x.found(msg))
                    && (t.any.is_empty() || t.any.iter().any(|x| x.found(msg)))
                    && !t.excluded.iter().any(|x| x.found(msg));
                ok.then(Extracted::new)
            }
            Pattern::Json(e) => {
                let doc: Value = serde_json::from_str(msg.trim()).ok()?;
                if !doc.is_object() && !doc.is_array() {
                    return None;
                }
                let mut ex = Extracted::new();
                eval_json(e, &doc, &mut ex).then_some(ex)
            }
            Pattern::Space(s) => {
                let parts = split_fields(msg);
                let mut bound: BTreeMap<&str, &str> = BTreeMap::new();
                match s.fields.iter().position(Option::is_none) {
                    None => {
                        if parts.len() != s.fields.len() {
                            return None;
                        }
                        for (name, v) in s.fields.iter().zip(&parts) {
                            bound.insert(name.as_deref().unwrap_or(""), v);
                        }
                    }
                    Some(dots) => {
                        let before = &s.fields[..dots];
                        let after: Vec<&String> = s.fields[dots + 1..].iter().flatten().collect();
                        if parts.len() < before.len() + after.len() {
                            return None;
                        }
                        for (name, v) in before.iter().zip(&parts) {
                            bound.insert(name.as_deref().unwrap_or(""), v);
                        }
                        let tail = &parts[parts.len() - after.len()..];
                        for (name, v) in after.iter().zip(tail) {
                            bound.insert(name.as_str(), v);
                        }
                    }
                }
                if let Some(c) = &s.cond
                    && !eval_space(c, &bound)
                {
                    return None;
                }
                Some(
                    bound
                        .into_iter()
                        .filter(|(k, _)| !k.is_empty())
                        .map(|(k, v)| (format!("${k}"), v.to_string()))
                        .collect(),
                )
            }
        }
    }

    /// Whether the pattern names fields (JSON or space-delimited): then
    /// subscription payloads carry `extractedFields`.
    pub fn extracts(&self) -> bool {
        matches!(self, Pattern::Json(_) | Pattern::Space(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, msg: &str) -> bool {
        parse(p).unwrap().matches(msg).is_some()
    }

    #[test]
    fn terms() {
        assert!(m("", "anything"));
        assert!(m("ERROR", "[ERROR] disk"));
        assert!(!m("ERROR", "error disk"));
        assert!(m("ERROR disk", "ERROR: disk full"));
        assert!(!m("ERROR disk", "ERROR: cpu"));
        assert!(m("\"disk full\"", "ERROR: disk full"));
        assert!(!m("\"disk full\"", "full disk"));
        assert!(m("ERROR -cpu", "ERROR disk"));
        assert!(!m("ERROR -cpu", "ERROR cpu"));
        assert!(m("?ERROR ?WARN", "WARN x"));
        assert!(!m("?ERROR ?WARN", "INFO x"));
        assert!(m("%ERR[O0]R%", "ERR0R"));
    }

    #[test]
    fn json() {
        let msg = r#"{"level":"error","latency":250,"user":{"id":"u-7"},"tags":["a","b"],"ok":false,"n":null}"#;
        assert!(m(r#"{ $.level = "error" }"#, msg));
        assert!(m(r#"{ $.level = err* }"#, msg));
        assert!(!m(r#"{ $.level = "info" }"#, msg));
        assert!(m(r#"{ $.latency > 200 && $.user.id = "u-7" }"#, msg));
        assert!(!m(r#"{ $.latency > 300 }"#, msg));
        assert!(m(r#"{ $.latency > 300 || $.level != "info" }"#, msg));
        assert!(m(r#"{ ($.latency >= 250) && ($.tags[1] = "b") }"#, msg));
        assert!(m(r#"{ $.ok IS FALSE }"#, msg));
        assert!(m(r#"{ $.n IS NULL }"#, msg));
        assert!(m(r#"{ $.missing NOT EXISTS }"#, msg));
        assert!(!m(r#"{ $.level = "error" }"#, "not json"));
        let ex = parse("{ $.latency > 1 }").unwrap().matches(msg).unwrap();
        assert_eq!(ex["$.latency"], "250");
    }

    #[test]
    fn space_delimited() {
        let line =
            r#"127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534"#;
        let p = "[ip, user, username, timestamp, request, status_code, bytes]";
        let ex = parse(p).unwrap().matches(line).unwrap();
        assert_eq!(ex["$request"], "GET /index.html HTTP/1.0");
        assert_eq!(ex["$timestamp"], "10/Oct/2000:13:25:15 -0700");
        assert!(m(
            "[ip, user, username, timestamp, request, status_code = 4*, bytes > 1000]",
            line
        ));
        assert!(!m(
            "[ip, user, username, timestamp, request, status_code = 5*, bytes]",
            line
        ));
        assert!(m("[..., status_code = 404, bytes]", line));
        assert!(m("[ip = 127.*, ...]", line));
        assert!(m(
            "[..., status_code = 500 || status_code = 404, bytes]",
            line
        ));
        assert!(!m("[a, b]", line));
        assert!(m(
            r#"[ip, user, username, timestamp, request = "*index*", ...]"#,
            line
        ));
    }
}
