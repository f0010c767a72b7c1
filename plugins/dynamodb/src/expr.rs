//! The expression language: condition, filter and key-condition
//! expressions, update expressions and projection expressions, with
//! ExpressionAttributeNames (`#n`) and ExpressionAttributeValues (`:v`)
//! substituted while parsing. A hand-written recursive-descent parser.

use std::cmp::Ordering;
use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::num::Num;

pub type Item = Map<String, Value>;

#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Attr(String),
    Index(usize),
}

pub type Path = Vec<Step>;

#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Path(Path),
    Value(Value),
    Size(Path),
    IfNotExists(Path, Box<Operand>),
    ListAppend(Box<Operand>, Box<Operand>),
    Plus(Box<Operand>, Box<Operand>),
    Minus(Box<Operand>, Box<Operand>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    Cmp(Cmp, Operand, Operand),
    Between(Operand, Operand, Operand),
    In(Operand, Vec<Operand>),
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
    Not(Box<Cond>),
    Exists(Path),
    NotExists(Path),
    Type(Path, Operand),
    BeginsWith(Operand, Operand),
    Contains(Operand, Operand),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Set(Path, Operand),
    Remove(Path),
    Add(Path, Value),
    Delete(Path, Value),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Name(String),
    Val(String),
    Int(usize),
    Sym(&'static str),
}

fn tokenize(s: &str) -> Result<Vec<Tok>, String> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    let word = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && (b[*i].is_ascii_alphanumeric() || b[*i] == b'_') {
            *i += 1;
        }
        s[start..*i].to_string()
    };
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'#' {
            i += 1;
            let w = word(&mut i);
            out.push(Tok::Name(format!("#{w}")));
        } else if c == b':' {
            i += 1;
            let w = word(&mut i);
            out.push(Tok::Val(format!(":{w}")));
        } else if c.is_ascii_digit() {
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            out.push(Tok::Int(
                s[start..i].parse().map_err(|_| "bad index".to_string())?,
            ));
        } else if c.is_ascii_alphabetic() || c == b'_' {
            out.push(Tok::Ident(word(&mut i)));
        } else {
            let two = if i + 1 < b.len() { &s[i..i + 2] } else { "" };
            let sym = match two {
                "<>" => Some("<>"),
                "<=" => Some("<="),
                ">=" => Some(">="),
                _ => None,
            };
            if let Some(sym) = sym {
                out.push(Tok::Sym(sym));
                i += 2;
                continue;
            }
            let sym = match c {
                b'=' => "=",
                b'<' => "<",
                b'>' => ">",
                b'(' => "(",
                b')' => ")",
                b'[' => "[",
                b']' => "]",
                b',' => ",",
                b'.' => ".",
                b'+' => "+",
                b'-' => "-",
                _ => {
                    let ch = s[i..].chars().next().unwrap_or('?');
                    return Err(format!(
                        "Syntax error; token: \"{ch}\", near: \"{}\"",
                        &s[i..]
                    ));
                }
            };
            out.push(Tok::Sym(sym));
            i += 1;
        }
    }
    Ok(out)
}

/// Reserved words most often hit (AWS has ~570; these are the usual ones).
const RESERVED: &[&str] = &[
    "ABORT",
    "ACTION",
    "ADD",
    "ALL",
    "AND",
    "ANY",
    "AS",
    "ASC",
    "BETWEEN",
    "BINARY",
    "BOOLEAN",
    "BY",
    "CASE",
    "COLUMN",
    "COMMENT",
    "COUNT",
    "CREATE",
    "DATA",
    "DATE",
    "DAY",
    "DELETE",
    "DESC",
    "DOUBLE",
    "DROP",
    "DURATION",
    "EACH",
    "ELSE",
    "END",
    "EXISTS",
    "FALSE",
    "FIRST",
    "FLOAT",
    "FOR",
    "FROM",
    "GROUP",
    "HASH",
    "HOUR",
    "IF",
    "IN",
    "INDEX",
    "INSERT",
    "INTEGER",
    "INTO",
    "IS",
    "ITEM",
    "ITEMS",
    "KEY",
    "KEYS",
    "LAST",
    "LEVEL",
    "LIKE",
    "LIMIT",
    "LIST",
    "LOCATION",
    "MAP",
    "MAX",
    "MIN",
    "MINUTE",
    "MONTH",
    "NAME",
    "NAMES",
    "NOT",
    "NULL",
    "NUMBER",
    "OF",
    "ON",
    "OR",
    "ORDER",
    "OWNER",
    "PASSWORD",
    "PATH",
    "PERCENT",
    "POSITION",
    "PRIMARY",
    "RANGE",
    "REMOVE",
    "ROLE",
    "SECOND",
    "SELECT",
    "SET",
    "SIZE",
    "SOURCE",
    "STATE",
    "STATUS",
    "STRING",
    "SUM",
    "TABLE",
    "TEXT",
    "TIME",
    "TIMESTAMP",
    "TO",
    "TOTAL",
    "TRUE",
    "TTL",
    "TYPE",
    "UPDATE",
    "USER",
    "USERS",
    "VALUE",
    "VALUES",
    "VIEW",
    "WHERE",
    "WITH",
    "YEAR",
    "ZONE",
];

/// What a parse used of the expression attribute maps.
pub struct Ctx<'a> {
    pub names: Option<&'a Map<String, Value>>,
    pub values: Option<&'a Map<String, Value>>,
    pub used_names: BTreeSet<String>,
    pub used_values: BTreeSet<String>,
}

impl<'a> Ctx<'a> {
    pub fn new(
        names: Option<&'a Map<String, Value>>,
        values: Option<&'a Map<String, Value>>,
    ) -> Self {
        Ctx {
            names,
            values,
            used_names: BTreeSet::new(),
            used_values: BTreeSet::new(),
        }
    }

    /// AWS's complaint about names or values that no expression used.
    pub fn check_unused(&self) -> Result<(), String> {
        if let Some(names) = self.names {
            let unused: Vec<&String> = names
                .keys()
                .filter(|k| !self.used_names.contains(*k))
                .collect();
            if !unused.is_empty() {
                return Err(format!(
                    "Value provided in ExpressionAttributeNames unused in expressions: keys: {{{}}}",
                    unused
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        if let Some(values) = self.values {
            let unused: Vec<&String> = values
                .keys()
                .filter(|k| !self.used_values.contains(*k))
                .collect();
            if !unused.is_empty() {
                return Err(format!(
                    "Value provided in ExpressionAttributeValues unused in expressions: keys: {{{}}}",
                    unused
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        Ok(())
    }
}

struct Parser<'c, 'a> {
    toks: Vec<Tok>,
    pos: usize,
    ctx: &'c mut Ctx<'a>,
    src: String,
}

impl Parser<'_, '_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn syntax(&self) -> String {
        match self.toks.get(self.pos) {
            Some(t) => format!(
                "Syntax error; token: \"{}\", near: \"{}\"",
                tok_text(t),
                self.near()
            ),
            None => "Syntax error; token: <EOF>, near: \"\"".to_string(),
        }
    }

    fn near(&self) -> String {
        let a = self.pos.saturating_sub(1);
        let b = (self.pos + 2).min(self.toks.len());
        self.toks[a..b]
            .iter()
            .map(tok_text)
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn is_kw(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(w)) if w.eq_ignore_ascii_case(kw))
    }

    fn is_sym(&self, s: &str) -> bool {
        matches!(self.peek(), Some(Tok::Sym(x)) if *x == s)
    }

    fn expect_sym(&mut self, s: &str) -> Result<(), String> {
        if self.is_sym(s) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.syntax())
        }
    }

    fn name(&mut self, t: &str) -> Result<String, String> {
        let v = self.ctx.names.and_then(|m| m.get(t)).and_then(|v| v.as_str()).ok_or_else(|| {
            format!("An expression attribute name used in the document path is not defined; attribute name: {t}")
        })?;
        self.ctx.used_names.insert(t.to_string());
        Ok(v.to_string())
    }

    fn value(&mut self, t: &str) -> Result<Value, String> {
        let v = self.ctx.values.and_then(|m| m.get(t)).cloned().ok_or_else(|| {
            format!("An expression attribute value used in expression is not defined; attribute value: {t}")
        })?;
        self.ctx.used_values.insert(t.to_string());
        Ok(v)
    }

    fn path(&mut self) -> Result<Path, String> {
        let mut path = Vec::new();
        path.push(Step::Attr(self.path_name()?));
        loop {
            if self.is_sym(".") {
                self.pos += 1;
                path.push(Step::Attr(self.path_name()?));
            } else if self.is_sym("[") {
                self.pos += 1;
                match self.next() {
                    Some(Tok::Int(n)) => path.push(Step::Index(n)),
                    _ => {
                        self.pos -= 1;
                        return Err(self.syntax());
                    }
                }
                self.expect_sym("]")?;
            } else {
                return Ok(path);
            }
        }
    }

    fn path_name(&mut self) -> Result<String, String> {
        match self.next() {
            Some(Tok::Name(n)) => self.name(&n),
            Some(Tok::Ident(w)) => {
                if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(&w)) {
                    return Err(format!(
                        "Attribute name is a reserved keyword; reserved keyword: {w}"
                    ));
                }
                Ok(w)
            }
            _ => {
                self.pos -= 1;
                Err(self.syntax())
            }
        }
    }

    fn func_args(&mut self) -> Result<Vec<Operand>, String> {
        self.expect_sym("(")?;
        let mut args = vec![self.operand()?];
        while self.is_sym(",") {
            self.pos += 1;
            args.push(self.operand()?);
        }
        self.expect_sym(")")?;
        Ok(args)
    }

    /// path | :value | size(path) | if_not_exists(path, v) | list_append(a, b)
    fn operand(&mut self) -> Result<Operand, String> {
        match self.peek().cloned() {
            Some(Tok::Val(v)) => {
                self.pos += 1;
                Ok(Operand::Value(self.value(&v)?))
            }
            Some(Tok::Ident(w)) if self.toks.get(self.pos + 1) == Some(&Tok::Sym("(")) => {
                self.pos += 1;
                let args = self.func_args()?;
                let path_arg = |a: &Operand| match a {
                    Operand::Path(p) => Ok(p.clone()),
                    _ => Err(format!("Invalid function name; function: {w}")),
                };
                match (w.as_str(), args.len()) {
                    ("size", 1) => Ok(Operand::Size(path_arg(&args[0])?)),
                    ("if_not_exists", 2) => Ok(Operand::IfNotExists(
                        path_arg(&args[0])?,
                        Box::new(args[1].clone()),
                    )),
                    ("list_append", 2) => Ok(Operand::ListAppend(
                        Box::new(args[0].clone()),
                        Box::new(args[1].clone()),
                    )),
                    ("size" | "if_not_exists" | "list_append", n) => Err(format!(
                        "Incorrect number of operands for operator or function; operator or function: {w}, number of operands: {n}"
                    )),
                    _ => Err(format!("Invalid function name; function: {w}")),
                }
            }
            Some(Tok::Ident(_)) | Some(Tok::Name(_)) => Ok(Operand::Path(self.path()?)),
            _ => Err(self.syntax()),
        }
    }

    fn cond(&mut self) -> Result<Cond, String> {
        let mut left = self.and()?;
        while self.is_kw("OR") {
            self.pos += 1;
            left = Cond::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Cond, String> {
        let mut left = self.not()?;
        while self.is_kw("AND") {
            self.pos += 1;
            left = Cond::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Cond, String> {
        if self.is_kw("NOT") {
            self.pos += 1;
            return Ok(Cond::Not(Box::new(self.not()?)));
        }
        self.primary()
    }

    /// `((x))`: a group whose only content is another group.
    fn redundant_parens(&self) -> bool {
        if !(self.is_sym("(") && self.toks.get(self.pos + 1) == Some(&Tok::Sym("("))) {
            return false;
        }
        // Find the close of the inner group: redundant when the outer one
        // closes right after it.
        let mut depth = 0usize;
        for (i, t) in self.toks.iter().enumerate().skip(self.pos + 1) {
            match t {
                Tok::Sym("(") => depth += 1,
                Tok::Sym(")") => {
                    depth -= 1;
                    if depth == 0 {
                        return self.toks.get(i + 1) == Some(&Tok::Sym(")"));
                    }
                }
                _ => {}
            }
        }
        false
    }

    fn primary(&mut self) -> Result<Cond, String> {
        if self.is_sym("(") {
            if self.redundant_parens() {
                return Err("The expression has redundant parentheses;".to_string());
            }
            self.pos += 1;
            let c = self.cond()?;
            self.expect_sym(")")?;
            return Ok(c);
        }
        if let Some(Tok::Ident(w)) = self.peek().cloned()
            && self.toks.get(self.pos + 1) == Some(&Tok::Sym("("))
        {
            let f = w.as_str();
            if matches!(
                f,
                "attribute_exists"
                    | "attribute_not_exists"
                    | "attribute_type"
                    | "begins_with"
                    | "contains"
            ) {
                self.pos += 1;
                let args = self.func_args()?;
                let want = if matches!(f, "attribute_exists" | "attribute_not_exists") {
                    1
                } else {
                    2
                };
                if args.len() != want {
                    return Err(format!(
                        "Incorrect number of operands for operator or function; operator or function: {f}, number of operands: {}",
                        args.len()
                    ));
                }
                let path0 = || match &args[0] {
                    Operand::Path(p) => Ok(p.clone()),
                    _ => Err(format!(
                        "Incorrect operand type for operator or function; operator or function: {f}, operand type: M"
                    )),
                };
                if matches!(f, "begins_with" | "contains") {
                    distinct(f, &args[0], &args[1..])?;
                }
                return Ok(match f {
                    "attribute_exists" => Cond::Exists(path0()?),
                    "attribute_not_exists" => Cond::NotExists(path0()?),
                    "attribute_type" => Cond::Type(path0()?, args[1].clone()),
                    "begins_with" => Cond::BeginsWith(args[0].clone(), args[1].clone()),
                    _ => Cond::Contains(args[0].clone(), args[1].clone()),
                });
            }
        }
        let left = self.operand()?;
        if self.is_kw("BETWEEN") {
            self.pos += 1;
            let lo = self.operand()?;
            if !self.is_kw("AND") {
                return Err(self.syntax());
            }
            self.pos += 1;
            let hi = self.operand()?;
            distinct("BETWEEN", &left, &[lo.clone(), hi.clone()])?;
            return Ok(Cond::Between(left, lo, hi));
        }
        if self.is_kw("IN") {
            self.pos += 1;
            let list = self.func_args()?;
            distinct("IN", &left, &list)?;
            return Ok(Cond::In(left, list));
        }
        let op = match self.next() {
            Some(Tok::Sym("=")) => Cmp::Eq,
            Some(Tok::Sym("<>")) => Cmp::Ne,
            Some(Tok::Sym("<")) => Cmp::Lt,
            Some(Tok::Sym("<=")) => Cmp::Le,
            Some(Tok::Sym(">")) => Cmp::Gt,
            Some(Tok::Sym(">=")) => Cmp::Ge,
            _ => {
                self.pos -= 1;
                return Err(self.syntax());
            }
        };
        let right = self.operand()?;
        let sym = match op {
            Cmp::Eq => "=",
            Cmp::Ne => "<>",
            Cmp::Lt => "<",
            Cmp::Le => "<=",
            Cmp::Gt => ">",
            Cmp::Ge => ">=",
        };
        distinct(sym, &left, std::slice::from_ref(&right))?;
        Ok(Cond::Cmp(op, left, right))
    }

    /// A SET value: an operand, `a + b`, `a - b`, any of them in
    /// parentheses (once: doubled parentheses are redundant).
    fn set_value(&mut self) -> Result<Operand, String> {
        if self.is_sym("(") {
            if self.redundant_parens() {
                return Err("The expression has redundant parentheses;".to_string());
            }
            self.pos += 1;
            let inner = self.set_value()?;
            self.expect_sym(")")?;
            return Ok(inner);
        }
        let left = self.operand()?;
        if self.is_sym("+") {
            self.pos += 1;
            return Ok(Operand::Plus(Box::new(left), Box::new(self.operand()?)));
        }
        if self.is_sym("-") {
            self.pos += 1;
            return Ok(Operand::Minus(Box::new(left), Box::new(self.operand()?)));
        }
        Ok(left)
    }

    fn done(&self) -> Result<(), String> {
        if self.pos < self.toks.len() {
            Err(self.syntax())
        } else {
            Ok(())
        }
    }
}

/// DynamoDB refuses an operator or function whose first operand is the
/// same document path as another of its operands (`contains(a, a)`).
fn distinct(op: &str, first: &Operand, rest: &[Operand]) -> Result<(), String> {
    if let Operand::Path(p) = first
        && rest.iter().any(|o| o == first)
    {
        return Err(format!(
            "The first operand must be distinct from the remaining operands for this operator or function; operator: {op}, first operand: [{}]",
            path_text(p)
        ));
    }
    Ok(())
}

fn tok_text(t: &Tok) -> String {
    match t {
        Tok::Ident(s) | Tok::Name(s) | Tok::Val(s) => s.clone(),
        Tok::Int(n) => n.to_string(),
        Tok::Sym(s) => s.to_string(),
    }
}

fn parser<'c, 'a>(src: &str, ctx: &'c mut Ctx<'a>) -> Result<Parser<'c, 'a>, String> {
    Ok(Parser {
        toks: tokenize(src)?,
        pos: 0,
        ctx,
        src: src.to_string(),
    })
}

pub fn parse_condition(src: &str, ctx: &mut Ctx) -> Result<Cond, String> {
    let mut p = parser(src, ctx)?;
    if p.toks.is_empty() {
        return Err("The expression can not be empty;".to_string());
    }
    let c = p.cond()?;
    p.done()?;
    let _ = &p.src;
    Ok(c)
}

pub fn parse_projection(src: &str, ctx: &mut Ctx) -> Result<Vec<Path>, String> {
    let mut p = parser(src, ctx)?;
    if p.toks.is_empty() {
        return Err("The expression can not be empty;".to_string());
    }
    let mut out = vec![p.path()?];
    while p.is_sym(",") {
        p.pos += 1;
        out.push(p.path()?);
    }
    p.done()?;
    Ok(out)
}

pub fn parse_update(src: &str, ctx: &mut Ctx) -> Result<Vec<Action>, String> {
    let mut p = parser(src, ctx)?;
    if p.toks.is_empty() {
        return Err("The expression can not be empty;".to_string());
    }
    let mut actions = Vec::new();
    let mut seen = BTreeSet::new();
    while p.peek().is_some() {
        let clause = match p.next() {
            Some(Tok::Ident(w)) => w.to_ascii_uppercase(),
            _ => {
                p.pos -= 1;
                return Err(p.syntax());
            }
        };
        if !matches!(clause.as_str(), "SET" | "REMOVE" | "ADD" | "DELETE") {
            p.pos -= 1;
            return Err(p.syntax());
        }
        if !seen.insert(clause.clone()) {
            return Err(format!(
                "The \"{clause}\" section can only be used once in an update expression;"
            ));
        }
        loop {
            let path = p.path()?;
            match clause.as_str() {
                "SET" => {
                    p.expect_sym("=")?;
                    actions.push(Action::Set(path, p.set_value()?));
                }
                "REMOVE" => actions.push(Action::Remove(path)),
                _ => {
                    let v = match p.operand()? {
                        Operand::Value(v) => v,
                        _ => return Err(p.syntax()),
                    };
                    actions.push(if clause == "ADD" {
                        Action::Add(path, v)
                    } else {
                        Action::Delete(path, v)
                    });
                }
            }
            if p.is_sym(",") {
                p.pos += 1;
            } else {
                break;
            }
        }
    }
    // Two actions on overlapping paths are an error.
    let paths: Vec<&Path> = actions
        .iter()
        .map(|a| match a {
            Action::Set(p, _) | Action::Remove(p) | Action::Add(p, _) | Action::Delete(p, _) => p,
        })
        .collect();
    for (i, a) in paths.iter().enumerate() {
        for b in &paths[i + 1..] {
            let n = a.len().min(b.len());
            if a[..n] == b[..n] {
                return Err(format!(
                    "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [{}], path two: [{}]",
                    path_text(a),
                    path_text(b)
                ));
            }
        }
    }
    Ok(actions)
}

pub fn path_text(p: &Path) -> String {
    p.iter()
        .map(|s| match s {
            Step::Attr(a) => a.clone(),
            Step::Index(i) => format!("[{i}]"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

// ---------- evaluation ----------

pub fn get<'v>(item: &'v Item, path: &Path) -> Option<&'v Value> {
    let mut cur: Option<&Value> = None;
    for (i, step) in path.iter().enumerate() {
        cur = match (i, step) {
            (0, Step::Attr(a)) => item.get(a),
            (_, Step::Attr(a)) => cur?.get("M")?.get(a),
            (_, Step::Index(n)) => cur?.get("L")?.get(*n),
        };
        cur?;
    }
    cur
}

fn type_of(v: &Value) -> &str {
    v.as_object()
        .and_then(|o| o.keys().next())
        .map(|s| s.as_str())
        .unwrap_or("")
}

/// The type names DynamoDB's operand errors use.
pub fn type_name(t: &str) -> &str {
    match t {
        "S" => "STRING",
        "N" => "NUMBER",
        "B" => "BINARY",
        "SS" => "STRING_SET",
        "NS" => "NUMBER_SET",
        "BS" => "BINARY_SET",
        "BOOL" => "BOOLEAN",
        "NULL" => "NULL",
        "L" => "LIST",
        "M" => "MAP",
        other => other,
    }
}

fn num_of(v: &Value) -> Option<Num> {
    Num::parse(v.get("N")?.as_str()?).ok()
}

fn b64(v: &Value) -> Vec<u8> {
    ministack_sdk::encoding::base64_decode(v.as_str().unwrap_or("")).unwrap_or_default()
}

/// DynamoDB equality: numbers by value, sets as sets.
pub fn equal(a: &Value, b: &Value) -> bool {
    match (type_of(a), type_of(b)) {
        ("N", "N") => num_of(a) == num_of(b),
        ("NS", "NS") => {
            let s = |v: &Value| -> BTreeSet<String> {
                v["NS"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|x| Num::parse(x.as_str()?).ok())
                    .map(|n| n.to_string())
                    .collect()
            };
            s(a) == s(b)
        }
        ("SS", "SS") | ("BS", "BS") => {
            let t = type_of(a);
            let s = |v: &Value| -> BTreeSet<String> {
                v[t].as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|x| x.as_str().map(String::from))
                    .collect()
            };
            s(a) == s(b)
        }
        ("L", "L") => {
            let (x, y) = (a["L"].as_array(), b["L"].as_array());
            match (x, y) {
                (Some(x), Some(y)) => {
                    x.len() == y.len() && x.iter().zip(y).all(|(p, q)| equal(p, q))
                }
                _ => false,
            }
        }
        ("M", "M") => {
            let (x, y) = (a["M"].as_object(), b["M"].as_object());
            match (x, y) {
                (Some(x), Some(y)) => {
                    x.len() == y.len()
                        && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| equal(v, w)))
                }
                _ => false,
            }
        }
        (s, t) if s == t => a == b,
        _ => false,
    }
}

/// Order of two scalars of the same type (N, S, B); `None` otherwise.
pub fn order(a: &Value, b: &Value) -> Option<Ordering> {
    match (type_of(a), type_of(b)) {
        ("N", "N") => Some(num_of(a)?.cmp(&num_of(b)?)),
        ("S", "S") => Some(a["S"].as_str()?.as_bytes().cmp(b["S"].as_str()?.as_bytes())),
        ("B", "B") => Some(b64(&a["B"]).cmp(&b64(&b["B"]))),
        _ => None,
    }
}

fn eval(op: &Operand, item: &Item) -> Result<Option<Value>, String> {
    Ok(match op {
        Operand::Path(p) => get(item, p).cloned(),
        Operand::Value(v) => Some(v.clone()),
        Operand::Size(p) => match get(item, p) {
            None => None,
            Some(v) => {
                let n = match type_of(v) {
                    // Strings are measured in UTF-16 code units.
                    "S" => v["S"].as_str().unwrap_or("").encode_utf16().count(),
                    "B" => b64(&v["B"]).len(),
                    "SS" | "NS" | "BS" | "L" => v[type_of(v)].as_array().map_or(0, |a| a.len()),
                    "M" => v["M"].as_object().map_or(0, |m| m.len()),
                    t => {
                        return Err(format!(
                            "Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: size, operand type: {}",
                            type_name(t)
                        ));
                    }
                };
                Some(serde_json::json!({"N": n.to_string()}))
            }
        },
        Operand::IfNotExists(p, d) => match get(item, p) {
            Some(v) => Some(v.clone()),
            None => eval(d, item)?,
        },
        Operand::ListAppend(a, b) => {
            let (a, b) = (eval(a, item)?, eval(b, item)?);
            let list = |v: &Option<Value>, which: &str| -> Result<Vec<Value>, String> {
                match v {
                    Some(v) if type_of(v) == "L" => {
                        Ok(v["L"].as_array().cloned().unwrap_or_default())
                    }
                    Some(v) => Err(format!(
                        "Invalid UpdateExpression: Incorrect operand type for operator or function; operator or function: list_append, operand type: {}",
                        type_name(type_of(v))
                    )),
                    None => Err(format!(
                        "The provided expression refers to an attribute that does not exist in the item{which}"
                    )),
                }
            };
            let mut l = list(&a, "")?;
            l.extend(list(&b, "")?);
            Some(serde_json::json!({ "L": l }))
        }
        Operand::Plus(a, b) | Operand::Minus(a, b) => {
            let (x, y) = (eval(a, item)?, eval(b, item)?);
            let (Some(x), Some(y)) = (x, y) else {
                return Err("The provided expression refers to an attribute that does not exist in the item".into());
            };
            let sym = if matches!(op, Operand::Plus(..)) {
                "+"
            } else {
                "-"
            };
            let (Some(p), Some(q)) = (num_of(&x), num_of(&y)) else {
                let bad = if type_of(&x) != "N" {
                    type_of(&x)
                } else {
                    type_of(&y)
                };
                return Err(format!(
                    "Invalid UpdateExpression: Incorrect operand type for operator or function; operator: {sym}, operand type: {}",
                    type_name(bad)
                ));
            };
            let r = if sym == "+" { p.add(&q) } else { p.sub(&q) };
            r.check()?;
            Some(serde_json::json!({"N": r.to_string()}))
        }
    })
}

pub fn test(c: &Cond, item: &Item) -> Result<bool, String> {
    Ok(match c {
        Cond::And(a, b) => test(a, item)? && test(b, item)?,
        Cond::Or(a, b) => test(a, item)? || test(b, item)?,
        Cond::Not(a) => !test(a, item)?,
        Cond::Exists(p) => get(item, p).is_some(),
        Cond::NotExists(p) => get(item, p).is_none(),
        Cond::Type(p, t) => {
            let t = eval(t, item)?;
            let want = t
                .as_ref()
                .and_then(|t| t.get("S"))
                .and_then(|s| s.as_str())
                .unwrap_or("");
            if !matches!(
                want,
                "S" | "SS" | "N" | "NS" | "B" | "BS" | "BOOL" | "NULL" | "L" | "M"
            ) {
                return Err(format!(
                    "Invalid ConditionExpression: Invalid attribute type name found; type: {want}, valid types: {{ B,NULL,SS,BOOL,L,BS,N,NS,S,M }}"
                ));
            }
            get(item, p).is_some_and(|v| type_of(v) == want)
        }
        Cond::BeginsWith(a, b) => match (eval(a, item)?, eval(b, item)?) {
            (Some(x), Some(y)) => match (type_of(&x), type_of(&y)) {
                ("S", "S") => x["S"]
                    .as_str()
                    .unwrap_or("")
                    .starts_with(y["S"].as_str().unwrap_or("")),
                ("B", "B") => b64(&x["B"]).starts_with(&b64(&y["B"])),
                _ => false,
            },
            _ => false,
        },
        Cond::Contains(a, b) => match (eval(a, item)?, eval(b, item)?) {
            (Some(x), Some(y)) => match type_of(&x) {
                "S" => {
                    type_of(&y) == "S"
                        && x["S"]
                            .as_str()
                            .unwrap_or("")
                            .contains(y["S"].as_str().unwrap_or(""))
                }
                "B" => {
                    let (h, n) = (b64(&x["B"]), b64(&y["B"]));
                    type_of(&y) == "B" && (n.is_empty() || h.windows(n.len()).any(|w| w == n))
                }
                "SS" | "NS" | "BS" => {
                    let elem = &type_of(&x)[..1];
                    type_of(&y) == elem
                        && x[type_of(&x)]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .any(|e| equal(&serde_json::json!({ elem: e }), &y))
                }
                "L" => x["L"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|e| equal(e, &y)),
                _ => false,
            },
            _ => false,
        },
        Cond::Cmp(op, a, b) => {
            let (Some(x), Some(y)) = (eval(a, item)?, eval(b, item)?) else {
                return Ok(false);
            };
            match op {
                Cmp::Eq => equal(&x, &y),
                Cmp::Ne => !equal(&x, &y),
                _ => match order(&x, &y) {
                    None => false,
                    Some(o) => match op {
                        Cmp::Lt => o == Ordering::Less,
                        Cmp::Le => o != Ordering::Greater,
                        Cmp::Gt => o == Ordering::Greater,
                        _ => o != Ordering::Less,
                    },
                },
            }
        }
        Cond::Between(a, lo, hi) => {
            let (Some(x), Some(l), Some(h)) = (eval(a, item)?, eval(lo, item)?, eval(hi, item)?)
            else {
                return Ok(false);
            };
            if let Some(Ordering::Greater) = order(&l, &h) {
                return Err(format!(
                    "Invalid ConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {{{}}}, upper bound operand: AttributeValue: {{{}}}",
                    short(&l),
                    short(&h)
                ));
            }
            matches!(order(&x, &l), Some(Ordering::Greater | Ordering::Equal))
                && matches!(order(&x, &h), Some(Ordering::Less | Ordering::Equal))
        }
        Cond::In(a, list) => {
            let Some(x) = eval(a, item)? else {
                return Ok(false);
            };
            let mut found = false;
            for o in list {
                if let Some(y) = eval(o, item)?
                    && equal(&x, &y)
                {
                    found = true;
                }
            }
            found
        }
    })
}

fn short(v: &Value) -> String {
    let t = type_of(v);
    format!("{t}:{}", v[t].as_str().unwrap_or(""))
}

/// Where a path's parent is: a map entry or a list slot.
fn parent_mut<'v>(item: &'v mut Item, path: &Path) -> Option<&'v mut Value> {
    let (first, rest) = path.split_first()?;
    let Step::Attr(a) = first else { return None };
    let mut cur = item.get_mut(a)?;
    for step in &rest[..rest.len().saturating_sub(1)] {
        cur = match step {
            Step::Attr(a) => cur.get_mut("M")?.get_mut(a)?,
            Step::Index(n) => cur.get_mut("L")?.get_mut(*n)?,
        };
    }
    Some(cur)
}

const BAD_PATH: &str = "The document path provided in the update expression is invalid for update";

fn set_path(item: &mut Item, path: &Path, v: Value) -> Result<(), String> {
    if path.len() == 1 {
        if let Step::Attr(a) = &path[0] {
            item.insert(a.clone(), v);
        }
        return Ok(());
    }
    let parent = parent_mut(item, path).ok_or(BAD_PATH)?;
    match path.last() {
        Some(Step::Attr(a)) => {
            let m = parent
                .get_mut("M")
                .and_then(|m| m.as_object_mut())
                .ok_or(BAD_PATH)?;
            m.insert(a.clone(), v);
        }
        Some(Step::Index(n)) => {
            let l = parent
                .get_mut("L")
                .and_then(|m| m.as_array_mut())
                .ok_or(BAD_PATH)?;
            if *n < l.len() {
                l[*n] = v;
            } else {
                l.push(v);
            }
        }
        None => {}
    }
    Ok(())
}

fn remove_path(item: &mut Item, path: &Path) -> Option<Value> {
    if path.len() == 1 {
        if let Step::Attr(a) = &path[0] {
            return item.remove(a);
        }
        return None;
    }
    let parent = parent_mut(item, path)?;
    match path.last()? {
        Step::Attr(a) => parent.get_mut("M")?.as_object_mut()?.remove(a),
        Step::Index(n) => {
            let l = parent.get_mut("L")?.as_array_mut()?;
            if *n < l.len() {
                Some(l.remove(*n))
            } else {
                None
            }
        }
    }
}

fn set_elems(v: &Value) -> Option<(&str, Vec<Value>)> {
    let t = type_of(v);
    if matches!(t, "SS" | "NS" | "BS") {
        Some((t, v[t].as_array()?.clone()))
    } else {
        None
    }
}

fn same_elem(t: &str, a: &Value, b: &Value) -> bool {
    if t == "NS" {
        a.as_str().and_then(|x| Num::parse(x).ok()) == b.as_str().and_then(|x| Num::parse(x).ok())
    } else {
        a == b
    }
}

/// Apply an update's actions: every value is computed on the item as it was
/// before the update, then written.
pub fn apply(actions: &[Action], item: &mut Item) -> Result<(), String> {
    let before = item.clone();
    let mut removes: Vec<&Path> = Vec::new();
    for a in actions {
        match a {
            Action::Set(p, op) => {
                let v = eval(op, &before)?.ok_or(
                    "The provided expression refers to an attribute that does not exist in the item",
                )?;
                set_path(item, p, v)?;
            }
            Action::Remove(p) => removes.push(p),
            Action::Add(p, v) => {
                // ADD takes a number or a set, whatever the attribute holds.
                if !matches!(type_of(v), "N" | "SS" | "NS" | "BS") {
                    return Err(format!(
                        "Invalid UpdateExpression: Incorrect operand type for operator or function; operator: ADD, operand type: {}",
                        type_name(type_of(v))
                    ));
                }
                let cur = get(&before, p).cloned();
                let new = match (type_of(v), cur) {
                    ("N", None) => v.clone(),
                    ("N", Some(c)) if type_of(&c) == "N" => {
                        let r = num_of(&c).unwrap_or_else(Num::zero).add(&num_of(v).unwrap_or_else(Num::zero));
                        r.check()?;
                        serde_json::json!({"N": r.to_string()})
                    }
                    ("SS" | "NS" | "BS", None) => v.clone(),
                    (t @ ("SS" | "NS" | "BS"), Some(c)) if type_of(&c) == t => {
                        let (_, mut have) = set_elems(&c).unwrap_or_default();
                        for e in set_elems(v).map(|s| s.1).unwrap_or_default() {
                            if !have.iter().any(|h| same_elem(t, h, &e)) {
                                have.push(e);
                            }
                        }
                        serde_json::json!({ t: have })
                    }
                    (_, Some(_)) => {
                        return Err("An operand in the update expression has an incorrect data type".to_string());
                    }
                    _ => return Err("Invalid UpdateExpression: Incorrect operand type for operator or function; operator: ADD, operand type: ".to_string() + type_name(type_of(v))),
                };
                set_path(item, p, new)?;
            }
            Action::Delete(p, v) => {
                let Some((t, del)) = set_elems(v) else {
                    return Err(format!(
                        "Invalid UpdateExpression: Incorrect operand type for operator or function; operator: DELETE, operand type: {}",
                        type_name(type_of(v))
                    ));
                };
                match get(&before, p).cloned() {
                    None => {}
                    Some(c) if type_of(&c) == t => {
                        let (_, have) = set_elems(&c).unwrap_or_default();
                        let left: Vec<Value> = have
                            .into_iter()
                            .filter(|h| !del.iter().any(|d| same_elem(t, h, d)))
                            .collect();
                        if left.is_empty() {
                            remove_path(item, p);
                        } else {
                            set_path(item, p, serde_json::json!({ t: left }))?;
                        }
                    }
                    Some(_) => {
                        return Err(
                            "An operand in the update expression has an incorrect data type".into(),
                        );
                    }
                }
            }
        }
    }
    // List elements go highest index first, so indexes name the old positions.
    removes.sort_by(|a, b| {
        let idx = |p: &Path| match p.last() {
            Some(Step::Index(n)) => *n as i64,
            _ => -1,
        };
        idx(b).cmp(&idx(a))
    });
    for p in removes {
        remove_path(item, p);
    }
    Ok(())
}

/// The attributes named by a projection, nested structure kept.
pub fn project(item: &Item, paths: &[Path]) -> Item {
    let mut out = Item::new();
    // List elements come out in index order.
    let mut paths: Vec<&Path> = paths.iter().collect();
    paths.sort_by(|a, b| {
        for (x, y) in a.iter().zip(b.iter()) {
            let o = match (x, y) {
                (Step::Index(i), Step::Index(j)) => i.cmp(j),
                (Step::Attr(i), Step::Attr(j)) => i.cmp(j),
                (Step::Attr(_), Step::Index(_)) => Ordering::Less,
                (Step::Index(_), Step::Attr(_)) => Ordering::Greater,
            };
            if o != Ordering::Equal {
                return o;
            }
        }
        a.len().cmp(&b.len())
    });
    for p in paths {
        let Some(v) = get(item, p) else { continue };
        let Step::Attr(first) = &p[0] else { continue };
        if p.len() == 1 {
            out.insert(first.clone(), v.clone());
            continue;
        }
        // Rebuild the path's containers in `out`.
        let mut cur = out.entry(first.clone()).or_insert_with(|| container(&p[1]));
        for (i, step) in p[1..].iter().enumerate() {
            let last = i + 2 == p.len();
            let next = if last {
                v.clone()
            } else {
                container(&p[i + 2])
            };
            cur = match step {
                Step::Attr(a) => {
                    let m = cur.get_mut("M").and_then(|m| m.as_object_mut());
                    match m {
                        Some(m) => m.entry(a.clone()).or_insert(next),
                        None => break,
                    }
                }
                Step::Index(_) => {
                    let l = cur.get_mut("L").and_then(|m| m.as_array_mut());
                    match l {
                        Some(l) => {
                            l.push(next);
                            l.last_mut().unwrap()
                        }
                        None => break,
                    }
                }
            };
        }
    }
    out
}

fn container(step: &Step) -> Value {
    match step {
        Step::Attr(_) => serde_json::json!({"M": {}}),
        Step::Index(_) => serde_json::json!({"L": []}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(v: Value) -> Item {
        v.as_object().unwrap().clone()
    }

    fn cond(src: &str, names: Value, values: Value, it: &Item) -> Result<bool, String> {
        let (n, v) = (names.as_object().cloned(), values.as_object().cloned());
        let mut ctx = Ctx::new(n.as_ref(), v.as_ref());
        let c = parse_condition(src, &mut ctx)?;
        ctx.check_unused()?;
        test(&c, it)
    }

    fn update(src: &str, values: Value, it: &mut Item) -> Result<(), String> {
        let v = values.as_object().cloned();
        let names = json!({"#s": "status"});
        let n = names.as_object().cloned();
        let mut ctx = Ctx::new(n.as_ref(), v.as_ref());
        let a = parse_update(src, &mut ctx)?;
        apply(&a, it)
    }

    fn sample() -> Item {
        item(json!({
            "id": {"S": "a1"}, "n": {"N": "10"}, "tags": {"SS": ["x", "y"]},
            "m": {"M": {"inner": {"M": {"deep": {"S": "hello"}}}, "l": {"L": [{"N": "1"}, {"N": "2"}, {"N": "3"}]}}},
            "status": {"S": "on"}, "b": {"B": "AAEC"}
        }))
    }

    #[test]
    fn comparisons_and_functions() {
        let it = sample();
        let e = json!({});
        assert!(cond("n > :a", e.clone(), json!({":a": {"N": "9.5"}}), &it).unwrap());
        assert!(!cond("n < :a", e.clone(), json!({":a": {"N": "9.5"}}), &it).unwrap());
        assert!(cond("n = :a", e.clone(), json!({":a": {"N": "10.0"}}), &it).unwrap());
        assert!(
            cond(
                "n BETWEEN :a AND :b",
                e.clone(),
                json!({":a": {"N": "1"}, ":b": {"N": "10"}}),
                &it
            )
            .unwrap()
        );
        assert!(
            cond(
                "id IN (:a, :b)",
                e.clone(),
                json!({":a": {"S": "zz"}, ":b": {"S": "a1"}}),
                &it
            )
            .unwrap()
        );
        assert!(
            cond(
                "attribute_exists(m.inner.deep) AND attribute_not_exists(m.nope)",
                e.clone(),
                json!({}),
                &it
            )
            .unwrap()
        );
        assert!(
            cond(
                "begins_with(m.inner.deep, :p)",
                e.clone(),
                json!({":p": {"S": "hel"}}),
                &it
            )
            .unwrap()
        );
        assert!(
            cond(
                "contains(tags, :t) AND contains(m.l, :one)",
                e.clone(),
                json!({":t": {"S": "x"}, ":one": {"N": "1"}}),
                &it
            )
            .unwrap()
        );
        assert!(
            cond(
                "size(m.l) = :three AND size(id) = :two",
                e.clone(),
                json!({":three": {"N": "3"}, ":two": {"N": "2"}}),
                &it
            )
            .unwrap()
        );
        assert!(
            cond(
                "attribute_type(tags, :ss)",
                e.clone(),
                json!({":ss": {"S": "SS"}}),
                &it
            )
            .unwrap()
        );
        assert!(
            cond(
                "NOT (n < :a OR n > :b)",
                e.clone(),
                json!({":a": {"N": "1"}, ":b": {"N": "100"}}),
                &it
            )
            .unwrap()
        );
        assert!(cond("m.l[1] = :two", e.clone(), json!({":two": {"N": "2"}}), &it).unwrap());
        assert!(
            cond(
                "#s = :on",
                json!({"#s": "status"}),
                json!({":on": {"S": "on"}}),
                &it
            )
            .unwrap()
        );
        // Different types never order.
        assert!(!cond("id < :n", e.clone(), json!({":n": {"N": "1"}}), &it).unwrap());
        assert!(cond("id <> :n", e.clone(), json!({":n": {"N": "1"}}), &it).unwrap());
        assert!(cond("b = :b", e.clone(), json!({":b": {"B": "AAEC"}}), &it).unwrap());
    }

    #[test]
    fn validation_messages() {
        let it = sample();
        let e = json!({});
        assert_eq!(
            cond("status = :v", e.clone(), json!({":v": {"S": "on"}}), &it).unwrap_err(),
            "Attribute name is a reserved keyword; reserved keyword: status"
        );
        assert!(
            cond("id = :nope", e.clone(), json!({}), &it)
                .unwrap_err()
                .contains("attribute value: :nope")
        );
        assert!(
            cond("#x = :v", e.clone(), json!({":v": {"S": "a"}}), &it)
                .unwrap_err()
                .contains("attribute name: #x")
        );
        assert_eq!(
            cond(
                "id = :v",
                json!({"#u": "x"}),
                json!({":v": {"S": "a"}}),
                &it
            )
            .unwrap_err(),
            "Value provided in ExpressionAttributeNames unused in expressions: keys: {#u}"
        );
        assert!(
            cond(
                "id = :v",
                e.clone(),
                json!({":v": {"S": "a"}, ":w": {"S": "b"}}),
                &it
            )
            .unwrap_err()
            .contains("keys: {:w}")
        );
        assert!(
            cond("id = ", e.clone(), json!({}), &it)
                .unwrap_err()
                .starts_with("Syntax error")
        );
        assert!(
            cond("id = :v :v", e.clone(), json!({":v": {"S": "a"}}), &it)
                .unwrap_err()
                .starts_with("Syntax error")
        );
        assert!(
            cond(
                "n BETWEEN :b AND :a",
                e,
                json!({":a": {"N": "1"}, ":b": {"N": "5"}}),
                &it
            )
            .unwrap_err()
            .contains("BETWEEN")
        );
    }

    #[test]
    fn update_set_arithmetic_and_functions() {
        let mut it = sample();
        update(
            "SET n = n + :one, m.inner.deep = :w, newl = list_append(if_not_exists(newl, :empty), :l), c = if_not_exists(c, :one)",
            json!({":one": {"N": "1"}, ":w": {"S": "world"}, ":empty": {"L": []}, ":l": {"L": [{"S": "a"}]}}),
            &mut it,
        )
        .unwrap();
        assert_eq!(it["n"], json!({"N": "11"}));
        assert_eq!(it["c"], json!({"N": "1"}));
        assert_eq!(it["m"]["M"]["inner"]["M"]["deep"], json!({"S": "world"}));
        assert_eq!(it["newl"], json!({"L": [{"S": "a"}]}));
        update("SET n = :five - n", json!({":five": {"N": "5"}}), &mut it).unwrap();
        assert_eq!(it["n"], json!({"N": "-6"}));
        assert!(
            update(
                "SET x = nope + :five",
                json!({":five": {"N": "5"}}),
                &mut it
            )
            .is_err()
        );
        assert!(
            update(
                "SET m.missing.x = :five",
                json!({":five": {"N": "5"}}),
                &mut it
            )
            .unwrap_err()
            .contains("document path")
        );
        assert!(update("SET #s = :v", json!({":v": {"S": "off"}}), &mut it).is_ok());
        assert_eq!(it["status"], json!({"S": "off"}));
    }

    #[test]
    fn remove_list_indexes_by_old_positions() {
        let mut it = sample();
        update("REMOVE m.l[0], m.l[2], tags", json!({}), &mut it).unwrap();
        assert_eq!(it["m"]["M"]["l"], json!({"L": [{"N": "2"}]}));
        assert!(!it.contains_key("tags"));
    }

    #[test]
    fn add_and_delete_on_sets_and_numbers() {
        let mut it = sample();
        update(
            "ADD tags :t, n :two, fresh :two DELETE b2 :none",
            json!({":t": {"SS": ["y", "z"]}, ":two": {"N": "2"}, ":none": {"SS": ["q"]}}),
            &mut it,
        )
        .unwrap();
        assert_eq!(it["tags"], json!({"SS": ["x", "y", "z"]}));
        assert_eq!(it["n"], json!({"N": "12"}));
        assert_eq!(it["fresh"], json!({"N": "2"}));
        update("DELETE tags :t", json!({":t": {"SS": ["x", "z"]}}), &mut it).unwrap();
        assert_eq!(it["tags"], json!({"SS": ["y"]}));
        update("DELETE tags :t", json!({":t": {"SS": ["y"]}}), &mut it).unwrap();
        assert!(!it.contains_key("tags"));
        assert!(update("ADD id :two", json!({":two": {"N": "2"}}), &mut it).is_err());
    }

    #[test]
    fn overlapping_paths_and_repeated_clauses_are_errors() {
        let mut it = sample();
        assert!(
            update("SET n = :a REMOVE n", json!({":a": {"N": "1"}}), &mut it)
                .unwrap_err()
                .contains("overlap")
        );
        assert!(
            update("SET n = :a SET c = :a", json!({":a": {"N": "1"}}), &mut it)
                .unwrap_err()
                .contains("only be used once")
        );
    }

    #[test]
    fn projection_keeps_nested_structure() {
        let it = sample();
        let mut ctx = Ctx::new(None, None);
        let p = parse_projection("id, m.inner.deep, m.l[2], m.l[1]", &mut ctx).unwrap();
        let out = project(&it, &p);
        assert_eq!(
            Value::Object(out),
            json!({"id": {"S": "a1"}, "m": {"M": {"inner": {"M": {"deep": {"S": "hello"}}}, "l": {"L": [{"N": "2"}, {"N": "3"}]}}}})
        );
    }
}
