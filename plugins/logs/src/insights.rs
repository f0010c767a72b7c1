//! The Logs Insights query language: `fields`, `display`, `filter`,
//! `stats` (count, sum, avg, min, max, pct, count_distinct, earliest,
//! latest; `by` fields and `bin()`), `sort`, `limit`, `parse` (glob and
//! regex), `dedup`, with expressions (comparisons, `like`, `=~`, `in`,
//! `and`/`or`/`not`, arithmetic) and the common functions.
//!
//! A query runs over records: `@timestamp`, `@message`, `@logStream`,
//! `@log`, `@ingestionTime` and the fields discovered in JSON messages
//! (flattened with dots, as Insights does).

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use regex::Regex;
use serde_json::Value as Json;

#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Null,
    Num(f64),
    Str(String),
}

impl Val {
    pub fn num(&self) -> Option<f64> {
        match self {
            Val::Num(n) => Some(*n),
            Val::Str(s) => s.trim().parse().ok(),
            Val::Null => None,
        }
    }
    pub fn text(&self) -> String {
        match self {
            Val::Null => String::new(),
            Val::Num(n) => fmt_num(*n),
            Val::Str(s) => s.clone(),
        }
    }
    fn truthy(&self) -> bool {
        match self {
            Val::Null => false,
            Val::Num(n) => *n != 0.0,
            Val::Str(s) => !s.is_empty() && s != "false",
        }
    }
}

fn fmt_num(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

fn cmp_vals(a: &Val, b: &Val) -> Ordering {
    match (a, b) {
        (Val::Null, Val::Null) => Ordering::Equal,
        (Val::Null, _) => Ordering::Less,
        (_, Val::Null) => Ordering::Greater,
        _ => match (a.num(), b.num()) {
            (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
            _ => a.text().cmp(&b.text()),
        },
    }
}

pub type Record = HashMap<String, Val>;

/// Flattens the fields of a JSON message (`a.b.c`, arrays as `a.0`).
pub fn discover_fields(msg: &str, out: &mut BTreeMap<String, Val>) {
    let t = msg.trim_start();
    if !t.starts_with('{') {
        return;
    }
    if let Ok(Json::Object(m)) = serde_json::from_str::<Json>(t.trim_end()) {
        for (k, v) in m {
            flatten(&k, &v, out, 0);
        }
    }
}

fn flatten(prefix: &str, v: &Json, out: &mut BTreeMap<String, Val>, depth: u32) {
    match v {
        Json::Object(m) if depth < 10 => {
            for (k, c) in m {
                flatten(&format!("{prefix}.{k}"), c, out, depth + 1)
            }
        }
        Json::Array(a) if depth < 10 => {
            for (i, c) in a.iter().enumerate().take(100) {
                flatten(&format!("{prefix}.{i}"), c, out, depth + 1)
            }
        }
        Json::Null => {
            out.insert(prefix.to_string(), Val::Null);
        }
        Json::Number(n) => {
            out.insert(prefix.to_string(), Val::Num(n.as_f64().unwrap_or(0.0)));
        }
        Json::String(s) => {
            out.insert(prefix.to_string(), Val::Str(s.clone()));
        }
        other => {
            out.insert(prefix.to_string(), Val::Str(other.to_string()));
        }
    }
}

// ---------------------------------------------------------------- parsing

#[derive(Debug, Clone)]
pub enum Expr {
    Lit(Val),
    Field(String),
    Regex(Regex),
    List(Vec<Expr>),
    Not(Box<Expr>),
    Neg(Box<Expr>),
    Bin(BinOp, Box<Expr>, Box<Expr>),
    Call(String, Vec<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BinOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Like,
    NotLike,
    Match,
    In,
    NotIn,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(f64),
    Str(String),
    Regex(String),
    Ident(String),
    Op(&'static str),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
}

fn duration_ms(unit: &str) -> Option<f64> {
    Some(match unit {
        "ms" => 1.0,
        "s" | "sec" | "second" | "seconds" => 1000.0,
        "m" | "min" | "minute" | "minutes" => 60_000.0,
        "h" | "hr" | "hour" | "hours" => 3_600_000.0,
        "d" | "day" | "days" => 86_400_000.0,
        "w" | "week" | "weeks" => 604_800_000.0,
        _ => return None,
    })
}

fn lex(s: &str) -> Result<Vec<Tok>, String> {
    let c: Vec<char> = s.chars().collect();
    let mut out: Vec<Tok> = Vec::new();
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        if ch.is_whitespace() {
            i += 1;
            continue;
        }
        let regex_ok = matches!(
            out.last(),
            None | Some(Tok::LParen) | Some(Tok::Comma) | Some(Tok::Op("=~"))
        ) || matches!(out.last(), Some(Tok::Ident(w)) if w.eq_ignore_ascii_case("like"));
        match ch {
            '(' => out.push(Tok::LParen),
            ')' => out.push(Tok::RParen),
            '[' => out.push(Tok::LBracket),
            ']' => out.push(Tok::RBracket),
            ',' => out.push(Tok::Comma),
            '\'' | '"' => {
                let mut j = i + 1;
                let mut t = String::new();
                while j < c.len() && c[j] != ch {
                    if c[j] == '\\' && j + 1 < c.len() {
                        j += 1;
                    }
                    t.push(c[j]);
                    j += 1;
                }
                if j >= c.len() {
                    return Err("unterminated string".into());
                }
                out.push(Tok::Str(t));
                i = j;
            }
            '/' if regex_ok => {
                let mut j = i + 1;
                let mut t = String::new();
                while j < c.len() && c[j] != '/' {
                    if c[j] == '\\' && j + 1 < c.len() && c[j + 1] == '/' {
                        j += 1;
                    }
                    t.push(c[j]);
                    j += 1;
                }
                if j >= c.len() {
                    return Err("unterminated regular expression".into());
                }
                // Flags after the closing slash (e.g. /x/i).
                let mut flags = String::new();
                while j + 1 < c.len() && c[j + 1].is_ascii_alphabetic() {
                    flags.push(c[j + 1]);
                    j += 1;
                }
                if flags.contains('i') {
                    t = format!("(?i){t}");
                }
                out.push(Tok::Regex(t));
                i = j;
            }
            '`' => {
                let j = c[i + 1..]
                    .iter()
                    .position(|&x| x == '`')
                    .ok_or("unterminated `")?;
                out.push(Tok::Ident(c[i + 1..i + 1 + j].iter().collect()));
                i += j + 1;
            }
            '0'..='9' => {
                let mut j = i;
                while j < c.len() && (c[j].is_ascii_digit() || c[j] == '.') {
                    j += 1;
                }
                let n: f64 = c[i..j]
                    .iter()
                    .collect::<String>()
                    .parse()
                    .map_err(|_| "bad number")?;
                let mut k = j;
                while k < c.len() && c[k].is_ascii_alphabetic() {
                    k += 1;
                }
                let unit: String = c[j..k].iter().collect();
                if unit.is_empty() {
                    out.push(Tok::Num(n));
                } else {
                    let ms = duration_ms(&unit).ok_or(format!("unknown time unit {unit}"))?;
                    out.push(Tok::Num(n * ms));
                }
                i = k - 1;
            }
            c0 if c0.is_alphanumeric() || c0 == '@' || c0 == '_' || c0 == '$' => {
                let mut j = i;
                while j < c.len()
                    && (c[j].is_alphanumeric() || "@_.$-".contains(c[j]))
                    && !(c[j] == '-' && j + 1 < c.len() && c[j + 1].is_whitespace())
                {
                    j += 1;
                }
                out.push(Tok::Ident(c[i..j].iter().collect()));
                i = j - 1;
            }
            _ => {
                let two: String = c[i..(i + 2).min(c.len())].iter().collect();
                let op: &'static str = match two.as_str() {
                    "!=" => "!=",
                    "<=" => "<=",
                    ">=" => ">=",
                    "=~" => "=~",
                    "==" => "==",
                    _ => match ch {
                        '=' => "=",
                        '<' => "<",
                        '>' => ">",
                        '+' => "+",
                        '-' => "-",
                        '*' => "*",
                        '/' => "/",
                        '%' => "%",
                        '!' => "!",
                        _ => return Err(format!("unexpected character {ch}")),
                    },
                };
                out.push(Tok::Op(op));
                i += op.len() - 1;
            }
        }
        i += 1;
    }
    Ok(out)
}

struct P {
    t: Vec<Tok>,
    i: usize,
}

impl P {
    fn peek(&self) -> Option<&Tok> {
        self.t.get(self.i)
    }
    fn kw(&self, k: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(w)) if w.eq_ignore_ascii_case(k))
    }
    fn eat(&mut self, t: &Tok) -> bool {
        if self.peek() == Some(t) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn or(&mut self) -> Result<Expr, String> {
        let mut l = self.and()?;
        while self.kw("or") || self.peek() == Some(&Tok::Op("|")) {
            self.i += 1;
            l = Expr::Bin(BinOp::Or, Box::new(l), Box::new(self.and()?));
        }
        Ok(l)
    }
    fn and(&mut self) -> Result<Expr, String> {
        let mut l = self.not()?;
        while self.kw("and") {
            self.i += 1;
            l = Expr::Bin(BinOp::And, Box::new(l), Box::new(self.not()?));
        }
        Ok(l)
    }
    fn not(&mut self) -> Result<Expr, String> {
        if self.kw("not") || self.peek() == Some(&Tok::Op("!")) {
            self.i += 1;
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.cmp()
    }
    fn cmp(&mut self) -> Result<Expr, String> {
        let l = self.add()?;
        let op = match self.peek() {
            Some(Tok::Op("=")) | Some(Tok::Op("==")) => BinOp::Eq,
            Some(Tok::Op("!=")) => BinOp::Ne,
            Some(Tok::Op("<")) => BinOp::Lt,
            Some(Tok::Op("<=")) => BinOp::Le,
            Some(Tok::Op(">")) => BinOp::Gt,
            Some(Tok::Op(">=")) => BinOp::Ge,
            Some(Tok::Op("=~")) => BinOp::Match,
            Some(Tok::Ident(w)) if w.eq_ignore_ascii_case("like") => BinOp::Like,
            Some(Tok::Ident(w)) if w.eq_ignore_ascii_case("in") => BinOp::In,
            Some(Tok::Ident(w)) if w.eq_ignore_ascii_case("not") => match self.t.get(self.i + 1) {
                Some(Tok::Ident(x)) if x.eq_ignore_ascii_case("like") => {
                    self.i += 1;
                    BinOp::NotLike
                }
                Some(Tok::Ident(x)) if x.eq_ignore_ascii_case("in") => {
                    self.i += 1;
                    BinOp::NotIn
                }
                _ => return Ok(l),
            },
            _ => return Ok(l),
        };
        self.i += 1;
        let r = self.add()?;
        Ok(Expr::Bin(op, Box::new(l), Box::new(r)))
    }
    fn add(&mut self) -> Result<Expr, String> {
        let mut l = self.mul()?;
        loop {
            let op = match self.peek() {
                Some(Tok::Op("+")) => BinOp::Add,
                Some(Tok::Op("-")) => BinOp::Sub,
                _ => return Ok(l),
            };
            self.i += 1;
            l = Expr::Bin(op, Box::new(l), Box::new(self.mul()?));
        }
    }
    fn mul(&mut self) -> Result<Expr, String> {
        let mut l = self.unary()?;
        loop {
            let op = match self.peek() {
                Some(Tok::Op("*")) => BinOp::Mul,
                Some(Tok::Op("/")) => BinOp::Div,
                Some(Tok::Op("%")) => BinOp::Mod,
                _ => return Ok(l),
            };
            self.i += 1;
            l = Expr::Bin(op, Box::new(l), Box::new(self.unary()?));
        }
    }
    fn unary(&mut self) -> Result<Expr, String> {
        if self.eat(&Tok::Op("-")) {
            return Ok(Expr::Neg(Box::new(self.unary()?)));
        }
        self.primary()
    }
    fn primary(&mut self) -> Result<Expr, String> {
        let t = self
            .t
            .get(self.i)
            .cloned()
            .ok_or("unexpected end of expression")?;
        self.i += 1;
        match t {
            Tok::Num(n) => Ok(Expr::Lit(Val::Num(n))),
            Tok::Str(s) => Ok(Expr::Lit(Val::Str(s))),
            Tok::Regex(r) => Ok(Expr::Regex(Regex::new(&r).map_err(|e| e.to_string())?)),
            Tok::LParen => {
                let e = self.or()?;
                if !self.eat(&Tok::RParen) {
                    return Err("missing )".into());
                }
                Ok(e)
            }
            Tok::LBracket => {
                let mut items = Vec::new();
                if !self.eat(&Tok::RBracket) {
                    loop {
                        items.push(self.or()?);
                        if self.eat(&Tok::RBracket) {
                            break;
                        }
                        if !self.eat(&Tok::Comma) {
                            return Err("expected , or ]".into());
                        }
                    }
                }
                Ok(Expr::List(items))
            }
            Tok::Op("*") => Ok(Expr::Lit(Val::Str("*".into()))),
            Tok::Ident(name) => {
                if self.eat(&Tok::LParen) {
                    let mut args = Vec::new();
                    if !self.eat(&Tok::RParen) {
                        loop {
                            if self.peek() == Some(&Tok::Op("*"))
                                && matches!(self.t.get(self.i + 1), Some(Tok::RParen))
                            {
                                self.i += 1;
                                args.push(Expr::Lit(Val::Str("*".into())));
                            } else {
                                args.push(self.or()?);
                            }
                            if self.eat(&Tok::RParen) {
                                break;
                            }
                            if !self.eat(&Tok::Comma) {
                                return Err("expected , or )".into());
                            }
                        }
                    }
                    Ok(Expr::Call(name.to_lowercase(), args))
                } else if name.eq_ignore_ascii_case("true") {
                    Ok(Expr::Lit(Val::Num(1.0)))
                } else if name.eq_ignore_ascii_case("false") {
                    Ok(Expr::Lit(Val::Num(0.0)))
                } else {
                    Ok(Expr::Field(name))
                }
            }
            other => Err(format!("unexpected {other:?}")),
        }
    }
}

pub fn parse_expr(s: &str) -> Result<Expr, String> {
    let mut p = P { t: lex(s)?, i: 0 };
    let e = p.or()?;
    if p.i != p.t.len() {
        return Err(format!("unexpected {:?} in `{s}`", p.t[p.i]));
    }
    Ok(e)
}

/// Splits at `sep` outside quotes, regexes, brackets and parentheses.
fn split_top(s: &str, sep: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    let mut regex = false;
    for ch in s.chars() {
        if let Some(q) = quote {
            cur.push(ch);
            if ch == q {
                quote = None;
            }
            continue;
        }
        if regex {
            cur.push(ch);
            if ch == '/' {
                regex = false;
            }
            continue;
        }
        match ch {
            '\'' | '"' | '`' => quote = Some(ch),
            '/' => {
                let t = cur.trim_end();
                let last = t
                    .rsplit(char::is_whitespace)
                    .next()
                    .unwrap_or("")
                    .to_lowercase();
                if t.is_empty()
                    || t.ends_with("=~")
                    || t.ends_with('(')
                    || t.ends_with(',')
                    || last == "like"
                    || t.to_lowercase().starts_with("parse") && t.split_whitespace().count() <= 2
                {
                    regex = true;
                }
            }
            '(' | '[' => depth += 1,
            ')' | ']' => depth -= 1,
            _ => {}
        }
        if ch == sep && depth == 0 && !regex {
            out.push(std::mem::take(&mut cur));
            continue;
        }
        cur.push(ch);
    }
    if !cur.trim().is_empty() {
        out.push(cur);
    }
    out
}

/// `expr as name` → (expr text, name).
fn split_as(item: &str) -> (String, String) {
    let lower = item.to_lowercase();
    if let Some(i) = lower.rfind(" as ") {
        let (e, n) = (item[..i].trim(), item[i + 4..].trim());
        if !n.contains(' ') && !n.contains(')') {
            return (e.to_string(), n.trim_matches('`').to_string());
        }
    }
    let t = item.trim().to_string();
    (t.clone(), t.trim_matches('`').to_string())
}

#[derive(Debug, Clone)]
pub struct Named {
    pub name: String,
    pub expr: Expr,
}

#[derive(Debug, Clone)]
pub enum Agg {
    Count(Option<Expr>),
    Sum(Expr),
    Avg(Expr),
    Min(Expr),
    Max(Expr),
    Pct(Expr, f64),
    CountDistinct(Expr),
    Earliest(Expr),
    Latest(Expr),
    Stddev(Expr),
}

#[derive(Debug, Clone)]
pub enum Cmd {
    Fields(Vec<Named>),
    Display(Vec<String>),
    Filter(Expr),
    Stats {
        aggs: Vec<(String, Agg)>,
        by: Vec<Named>,
    },
    Sort(Vec<(Expr, bool)>),
    Limit(usize),
    Parse {
        field: Expr,
        regex: Regex,
        names: Vec<String>,
        /// The literal pieces of a glob (matched without the regex engine,
        /// which captures slowly).
        glob: Option<Vec<String>>,
    },
    Dedup(Vec<String>),
}

#[derive(Debug, Clone)]
pub struct Query {
    pub cmds: Vec<Cmd>,
}

fn parse_agg(e: &Expr) -> Result<Agg, String> {
    let Expr::Call(f, args) = e else {
        return Err("stats takes aggregation functions".into());
    };
    let arg = |i: usize| -> Result<Expr, String> {
        args.get(i).cloned().ok_or(format!("{f} needs an argument"))
    };
    Ok(match f.as_str() {
        "count" => match args.first() {
            None => Agg::Count(None),
            Some(Expr::Lit(Val::Str(s))) if s == "*" => Agg::Count(None),
            Some(a) => Agg::Count(Some(a.clone())),
        },
        "sum" => Agg::Sum(arg(0)?),
        "avg" => Agg::Avg(arg(0)?),
        "min" => Agg::Min(arg(0)?),
        "max" => Agg::Max(arg(0)?),
        "stddev" => Agg::Stddev(arg(0)?),
        "count_distinct" => Agg::CountDistinct(arg(0)?),
        "earliest" => Agg::Earliest(arg(0)?),
        "latest" => Agg::Latest(arg(0)?),
        "pct" | "percentile" => {
            let p = match arg(1)? {
                Expr::Lit(v) => v.num().ok_or("pct needs a number")?,
                _ => return Err("pct needs a number".into()),
            };
            Agg::Pct(arg(0)?, p)
        }
        other => return Err(format!("unknown aggregation function {other}")),
    })
}

/// A `parse` glob: `*` captures, the rest is literal.
fn glob_regex(g: &str) -> String {
    let mut re = String::from("(?s)");
    let parts: Vec<&str> = g.split('*').collect();
    for (i, p) in parts.iter().enumerate() {
        re.push_str(&regex::escape(p));
        if i + 1 < parts.len() {
            re.push_str("(.*?)");
        }
    }
    if g.ends_with('*') {
        // The last capture takes the rest.
        re.truncate(re.len() - "(.*?)".len());
        re.push_str("(.*)");
    }
    re
}

pub fn parse_query(q: &str) -> Result<Query, String> {
    let mut cmds = Vec::new();
    for raw in split_top(q, '|') {
        let raw = raw.trim();
        if raw.is_empty() {
            continue;
        }
        let (verb, rest) = match raw.find(char::is_whitespace) {
            Some(i) => (&raw[..i], raw[i..].trim()),
            None => (raw, ""),
        };
        let cmd = match verb.to_lowercase().as_str() {
            "fields" => Cmd::Fields(
                split_top(rest, ',')
                    .iter()
                    .map(|item| {
                        let (e, name) = split_as(item);
                        Ok(Named {
                            name,
                            expr: parse_expr(&e)?,
                        })
                    })
                    .collect::<Result<_, String>>()?,
            ),
            "display" => Cmd::Display(
                split_top(rest, ',')
                    .iter()
                    .map(|s| s.trim().trim_matches('`').to_string())
                    .collect(),
            ),
            "filter" => Cmd::Filter(parse_expr(rest)?),
            "stats" => {
                let lower = rest.to_lowercase();
                let by_at = find_top_keyword(&lower, " by ");
                let (aggs_text, by_text) = match by_at {
                    Some(i) => (&rest[..i], Some(&rest[i + 4..])),
                    None => (rest, None),
                };
                let mut aggs = Vec::new();
                for item in split_top(aggs_text, ',') {
                    let (e, name) = split_as(&item);
                    aggs.push((name, parse_agg(&parse_expr(&e)?)?));
                }
                let mut by = Vec::new();
                for item in by_text.map(|t| split_top(t, ',')).unwrap_or_default() {
                    let (e, name) = split_as(&item);
                    by.push(Named {
                        name,
                        expr: parse_expr(&e)?,
                    });
                }
                Cmd::Stats { aggs, by }
            }
            "sort" => {
                let mut keys = Vec::new();
                for item in split_top(rest, ',') {
                    let item = item.trim();
                    let lower = item.to_lowercase();
                    let (e, desc) = if let Some(s) = lower.strip_suffix(" desc") {
                        (&item[..s.len()], true)
                    } else if let Some(s) = lower.strip_suffix(" asc") {
                        (&item[..s.len()], false)
                    } else {
                        (item, false)
                    };
                    keys.push((parse_expr(e)?, desc));
                }
                Cmd::Sort(keys)
            }
            "limit" | "head" => Cmd::Limit(
                rest.parse()
                    .map_err(|_| format!("limit takes a number, not {rest}"))?,
            ),
            "dedup" => Cmd::Dedup(
                split_top(rest, ',')
                    .iter()
                    .map(|s| s.trim().to_string())
                    .collect(),
            ),
            "parse" => {
                // `parse [field] 'glob' as a, b` or `parse [field] /regex/`.
                let at = rest
                    .find(['\'', '"', '/'])
                    .ok_or("parse takes a 'glob' or a /regex/")?;
                let name = rest[..at].trim().trim_matches('`');
                let field =
                    Expr::Field(if name.is_empty() { "@message" } else { name }.to_string());
                let toks = lex(&rest[at..])?;
                let pat_at = 0;
                match toks.get(pat_at) {
                    Some(Tok::Str(glob)) => {
                        let names: Vec<String> = toks[pat_at + 1..]
                            .iter()
                            .filter_map(|t| match t {
                                Tok::Ident(w) if !w.eq_ignore_ascii_case("as") => Some(w.clone()),
                                _ => None,
                            })
                            .collect();
                        Cmd::Parse {
                            field,
                            regex: Regex::new(&glob_regex(glob)).map_err(|e| e.to_string())?,
                            names,
                            glob: Some(glob.split('*').map(String::from).collect()),
                        }
                    }
                    Some(Tok::Regex(r)) => {
                        let regex = Regex::new(r).map_err(|e| e.to_string())?;
                        let names = regex.capture_names().flatten().map(String::from).collect();
                        Cmd::Parse {
                            field,
                            regex,
                            names,
                            glob: None,
                        }
                    }
                    _ => return Err("parse takes a 'glob' or a /regex/".into()),
                }
            }
            other => return Err(format!("unknown command {other}")),
        };
        cmds.push(cmd);
    }
    if cmds.is_empty() {
        return Err("the query is empty".into());
    }
    Ok(Query { cmds })
}

fn find_top_keyword(lower: &str, kw: &str) -> Option<usize> {
    let mut depth = 0;
    let mut quote: Option<char> = None;
    let b = lower.as_bytes();
    for (i, ch) in lower.char_indices() {
        if let Some(q) = quote {
            if ch == q {
                quote = None;
            }
            continue;
        }
        match ch {
            '\'' | '"' => quote = Some(ch),
            '(' => depth += 1,
            ')' => depth -= 1,
            _ => {}
        }
        if depth == 0 && b[i..].starts_with(kw.as_bytes()) {
            return Some(i);
        }
    }
    None
}

// ---------------------------------------------------------------- evaluation

fn like(v: &Val, pat: &Expr, rec: &Record) -> bool {
    let text = v.text();
    match pat {
        Expr::Regex(r) => r.is_match(&text),
        other => text.contains(&eval(other, rec).text()),
    }
}

pub fn eval(e: &Expr, rec: &Record) -> Val {
    match e {
        Expr::Lit(v) => v.clone(),
        Expr::Field(f) => rec.get(f).cloned().unwrap_or(Val::Null),
        Expr::Regex(r) => Val::Str(r.as_str().to_string()),
        Expr::List(_) => Val::Null,
        Expr::Not(x) => Val::Num(if eval(x, rec).truthy() { 0.0 } else { 1.0 }),
        Expr::Neg(x) => eval(x, rec).num().map_or(Val::Null, |n| Val::Num(-n)),
        Expr::Bin(op, a, b) => {
            let bool_val = |x: bool| Val::Num(if x { 1.0 } else { 0.0 });
            match op {
                BinOp::Or => bool_val(eval(a, rec).truthy() || eval(b, rec).truthy()),
                BinOp::And => bool_val(eval(a, rec).truthy() && eval(b, rec).truthy()),
                BinOp::Like => bool_val(like(&eval(a, rec), b, rec)),
                BinOp::NotLike => bool_val(!like(&eval(a, rec), b, rec)),
                BinOp::Match => {
                    let v = eval(a, rec);
                    bool_val(match &**b {
                        Expr::Regex(r) => r.is_match(&v.text()),
                        other => Regex::new(&eval(other, rec).text())
                            .map(|r| r.is_match(&v.text()))
                            .unwrap_or(false),
                    })
                }
                BinOp::In | BinOp::NotIn => {
                    let v = eval(a, rec);
                    let found = match &**b {
                        Expr::List(items) => items
                            .iter()
                            .any(|i| cmp_vals(&v, &eval(i, rec)) == Ordering::Equal),
                        _ => false,
                    };
                    bool_val(found == (*op == BinOp::In))
                }
                BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                    let (x, y) = (eval(a, rec), eval(b, rec));
                    if x == Val::Null || y == Val::Null {
                        return bool_val(*op == BinOp::Ne && x != y);
                    }
                    let o = cmp_vals(&x, &y);
                    bool_val(match op {
                        BinOp::Eq => o == Ordering::Equal,
                        BinOp::Ne => o != Ordering::Equal,
                        BinOp::Lt => o == Ordering::Less,
                        BinOp::Le => o != Ordering::Greater,
                        BinOp::Gt => o == Ordering::Greater,
                        _ => o != Ordering::Less,
                    })
                }
                _ => {
                    let (Some(x), Some(y)) = (eval(a, rec).num(), eval(b, rec).num()) else {
                        return Val::Null;
                    };
                    Val::Num(match op {
                        BinOp::Add => x + y,
                        BinOp::Sub => x - y,
                        BinOp::Mul => x * y,
                        BinOp::Div => x / y,
                        _ => x % y,
                    })
                }
            }
        }
        Expr::Call(f, args) => call(f, args, rec),
    }
}

fn call(f: &str, args: &[Expr], rec: &Record) -> Val {
    let a = |i: usize| args.get(i).map(|e| eval(e, rec)).unwrap_or(Val::Null);
    let num1 = |g: fn(f64) -> f64| a(0).num().map_or(Val::Null, |n| Val::Num(g(n)));
    match f {
        "bin" => {
            let period = a(0).num().unwrap_or(60_000.0).max(1.0);
            // A number here (cheap to group by); shown as a time where it
            // becomes a result (`is_bin`).
            match rec.get("@timestamp").and_then(Val::num) {
                Some(ts) => Val::Num((ts / period).floor() * period),
                None => Val::Null,
            }
        }
        "strlen" => Val::Num(a(0).text().chars().count() as f64),
        "tolower" => Val::Str(a(0).text().to_lowercase()),
        "toupper" => Val::Str(a(0).text().to_uppercase()),
        "trim" => Val::Str(a(0).text().trim().to_string()),
        "ltrim" => Val::Str(a(0).text().trim_start().to_string()),
        "rtrim" => Val::Str(a(0).text().trim_end().to_string()),
        "concat" => Val::Str(args.iter().map(|e| eval(e, rec).text()).collect()),
        "substr" => {
            let s: Vec<char> = a(0).text().chars().collect();
            let start = a(1).num().unwrap_or(0.0).max(0.0) as usize;
            let len = a(2).num().map(|l| l.max(0.0) as usize).unwrap_or(s.len());
            Val::Str(s.iter().skip(start).take(len).collect())
        }
        "replace" => Val::Str(a(0).text().replace(&a(1).text(), &a(2).text())),
        "strcontains" => Val::Num(a(0).text().contains(&a(1).text()) as i32 as f64),
        "ispresent" => Val::Num((a(0) != Val::Null) as i32 as f64),
        "isempty" => Val::Num(a(0).text().is_empty() as i32 as f64),
        "isblank" => Val::Num(a(0).text().trim().is_empty() as i32 as f64),
        "coalesce" => args
            .iter()
            .map(|e| eval(e, rec))
            .find(|v| *v != Val::Null)
            .unwrap_or(Val::Null),
        "abs" => num1(f64::abs),
        "ceil" => num1(f64::ceil),
        "floor" => num1(f64::floor),
        "sqrt" => num1(f64::sqrt),
        "log" => num1(f64::ln),
        "exp" => num1(f64::exp),
        "greatest" => args
            .iter()
            .filter_map(|e| eval(e, rec).num())
            .reduce(f64::max)
            .map_or(Val::Null, Val::Num),
        "least" => args
            .iter()
            .filter_map(|e| eval(e, rec).num())
            .reduce(f64::min)
            .map_or(Val::Null, Val::Num),
        "datefloor" => {
            let period = a(1).num().unwrap_or(60_000.0).max(1.0);
            a(0).num().map_or(Val::Null, |t| {
                Val::Str(fmt_time(((t / period).floor() * period) as i64))
            })
        }
        "fromMillis" | "frommillis" => a(0)
            .num()
            .map_or(Val::Null, |t| Val::Str(fmt_time(t as i64))),
        "tomillis" => a(0).num().map_or(Val::Null, Val::Num),
        _ => Val::Null,
    }
}

/// `2024-01-02 03:04:05.678` (UTC), as Insights prints timestamps.
pub fn fmt_time(ms: i64) -> String {
    let iso = ministack_sdk::time::iso8601_millis(ms as f64 / 1000.0);
    // iso8601_millis gives 2024-01-02T03:04:05.678Z
    iso.replace('T', " ").trim_end_matches('Z').to_string()
}

#[derive(Default)]
struct AggState {
    count: u64,
    sum: f64,
    sumsq: f64,
    min: Option<f64>,
    max: Option<f64>,
    values: Vec<f64>,
    distinct: BTreeSet<String>,
    earliest: Option<(f64, Val)>,
    latest: Option<(f64, Val)>,
}

fn agg_add(agg: &Agg, st: &mut AggState, rec: &Record) {
    let arg = match agg {
        Agg::Count(None) => {
            st.count += 1;
            return;
        }
        Agg::Count(Some(e)) => {
            if eval(e, rec) != Val::Null {
                st.count += 1;
            }
            return;
        }
        Agg::Sum(e)
        | Agg::Avg(e)
        | Agg::Min(e)
        | Agg::Max(e)
        | Agg::Pct(e, _)
        | Agg::Stddev(e)
        | Agg::CountDistinct(e)
        | Agg::Earliest(e)
        | Agg::Latest(e) => e,
    };
    let v = eval(arg, rec);
    if v == Val::Null {
        return;
    }
    match agg {
        Agg::CountDistinct(_) => {
            st.distinct.insert(v.text());
        }
        Agg::Earliest(_) | Agg::Latest(_) => {
            let ts = rec.get("@timestamp").and_then(Val::num).unwrap_or(0.0);
            if st.earliest.as_ref().is_none_or(|(t, _)| ts < *t) {
                st.earliest = Some((ts, v.clone()));
            }
            if st.latest.as_ref().is_none_or(|(t, _)| ts >= *t) {
                st.latest = Some((ts, v));
            }
        }
        _ => {
            if let Some(n) = v.num() {
                st.count += 1;
                st.sum += n;
                st.sumsq += n * n;
                st.min = Some(st.min.map_or(n, |m| m.min(n)));
                st.max = Some(st.max.map_or(n, |m| m.max(n)));
                if matches!(agg, Agg::Pct(..)) {
                    st.values.push(n);
                }
            }
        }
    }
}

fn agg_result(agg: &Agg, st: &mut AggState) -> Val {
    match agg {
        Agg::Count(_) => Val::Num(st.count as f64),
        Agg::Sum(_) => Val::Num(st.sum),
        Agg::Avg(_) if st.count > 0 => Val::Num(st.sum / st.count as f64),
        Agg::Min(_) => st.min.map_or(Val::Null, Val::Num),
        Agg::Max(_) => st.max.map_or(Val::Null, Val::Num),
        Agg::Stddev(_) if st.count > 1 => {
            let n = st.count as f64;
            let mean = st.sum / n;
            Val::Num(((st.sumsq - n * mean * mean) / (n - 1.0)).max(0.0).sqrt())
        }
        Agg::Pct(_, p) if !st.values.is_empty() => {
            st.values
                .sort_by(|a, b| a.partial_cmp(b).unwrap_or(Ordering::Equal));
            // Nearest rank.
            let n = st.values.len();
            let rank = ((p / 100.0) * n as f64).ceil().max(1.0) as usize;
            Val::Num(st.values[rank.min(n) - 1])
        }
        Agg::CountDistinct(_) => Val::Num(st.distinct.len() as f64),
        Agg::Earliest(_) => st.earliest.take().map_or(Val::Null, |(_, v)| v),
        Agg::Latest(_) => st.latest.take().map_or(Val::Null, |(_, v)| v),
        _ => Val::Null,
    }
}

/// The state of a running query: records flow through the commands up to
/// the first one that needs them all (`stats`, `sort`, `dedup`); the rest
/// runs on the collected set.
pub struct Runner<'q> {
    q: &'q Query,
    /// Index of the first blocking command.
    split: usize,
    rows: Vec<Record>,
    stream_limit: Option<usize>,
    pub matched: u64,
    pub scanned: u64,
    /// Streaming stats: group key → states.
    groups: HashMap<Vec<String>, (Record, Vec<AggState>)>,
    group_order: Vec<Vec<String>>,
}

impl<'q> Runner<'q> {
    pub fn new(q: &'q Query) -> Self {
        let split = q
            .cmds
            .iter()
            .position(|c| matches!(c, Cmd::Stats { .. } | Cmd::Sort(_) | Cmd::Dedup(_)))
            .unwrap_or(q.cmds.len());
        // A limit before anything blocking ends the scan early.
        let stream_limit = q.cmds[..split].iter().find_map(|c| match c {
            Cmd::Limit(n) => Some(*n),
            _ => None,
        });
        Runner {
            q,
            split,
            rows: Vec::new(),
            stream_limit,
            matched: 0,
            scanned: 0,
            groups: HashMap::new(),
            group_order: Vec::new(),
        }
    }

    /// Whether the query has `stats` (rows are aggregates, not events).
    pub fn aggregates(&self) -> bool {
        self.q.cmds.iter().any(|c| matches!(c, Cmd::Stats { .. }))
    }

    /// Whether more records are wanted.
    pub fn wants_more(&self) -> bool {
        self.stream_limit.is_none_or(|n| self.rows.len() < n)
    }

    pub fn push(&mut self, mut rec: Record) {
        self.scanned += 1;
        for c in &self.q.cmds[..self.split] {
            if !apply_row(c, &mut rec) {
                return;
            }
        }
        self.matched += 1;
        if let Some(Cmd::Stats { aggs, by }) = self.q.cmds.get(self.split) {
            let mut key_rec = Record::new();
            let key: Vec<String> = by
                .iter()
                .map(|n| {
                    let v = eval(&n.expr, &rec);
                    let t = v.text();
                    key_rec.insert(n.name.clone(), v);
                    t
                })
                .collect();
            let entry = self.groups.entry(key.clone()).or_insert_with(|| {
                self.group_order.push(key);
                (key_rec, aggs.iter().map(|_| AggState::default()).collect())
            });
            for ((_, agg), st) in aggs.iter().zip(entry.1.iter_mut()) {
                agg_add(agg, st, &rec);
            }
            return;
        }
        if self.wants_more() {
            self.rows.push(rec);
        }
    }

    /// Runs the blocking commands; the result rows and the fields to show.
    pub fn finish(mut self, default_limit: usize) -> (Vec<Record>, Vec<String>) {
        let mut rows = std::mem::take(&mut self.rows);
        let mut rest = self.split;
        let mut stats_cols: Option<Vec<String>> = None;
        if let Some(Cmd::Stats { aggs, by }) = self.q.cmds.get(self.split) {
            rows = Vec::new();
            for key in std::mem::take(&mut self.group_order) {
                let Some((mut rec, mut states)) = self.groups.remove(&key) else {
                    continue;
                };
                for ((name, agg), st) in aggs.iter().zip(states.iter_mut()) {
                    rec.insert(name.clone(), agg_result(agg, st));
                }
                for n in by.iter().filter(|n| is_bin(&n.expr)) {
                    if let Some(Val::Num(ms)) = rec.get(&n.name) {
                        let t = Val::Str(fmt_time(*ms as i64));
                        rec.insert(n.name.clone(), t);
                    }
                }
                rows.push(rec);
            }
            let mut cols: Vec<String> = by.iter().map(|n| n.name.clone()).collect();
            cols.extend(aggs.iter().map(|(n, _)| n.clone()));
            stats_cols = Some(cols);
            rest += 1;
        }
        let mut sorted = false;
        for c in &self.q.cmds[rest..] {
            match c {
                Cmd::Sort(keys) => {
                    sorted = true;
                    rows.sort_by(|a, b| {
                        for (e, desc) in keys {
                            let o = cmp_vals(&eval(e, a), &eval(e, b));
                            let o = if *desc { o.reverse() } else { o };
                            if o != Ordering::Equal {
                                return o;
                            }
                        }
                        Ordering::Equal
                    })
                }
                Cmd::Limit(n) => rows.truncate(*n),
                Cmd::Dedup(fields) => {
                    let mut seen = BTreeSet::new();
                    rows.retain(|r| {
                        let k: Vec<String> = fields
                            .iter()
                            .map(|f| r.get(f).map(Val::text).unwrap_or_default())
                            .collect();
                        seen.insert(k)
                    });
                }
                Cmd::Stats { .. } => {}
                other => rows.retain_mut(|r| apply_row(other, r)),
            }
        }
        if !sorted && stats_cols.is_none() {
            rows.sort_by(|a, b| {
                cmp_vals(
                    b.get("@timestamp").unwrap_or(&Val::Null),
                    a.get("@timestamp").unwrap_or(&Val::Null),
                )
            });
        }
        rows.truncate(default_limit);
        // What to show: display, else stats columns, else the fields named.
        let display = self.q.cmds.iter().rev().find_map(|c| match c {
            Cmd::Display(f) => Some(f.clone()),
            _ => None,
        });
        let cols = display.or(stats_cols).unwrap_or_else(|| {
            let mut cols: Vec<String> = Vec::new();
            for c in &self.q.cmds {
                let names: Vec<String> = match c {
                    Cmd::Fields(f) => f.iter().map(|n| n.name.clone()).collect(),
                    Cmd::Parse { names, .. } => names.clone(),
                    _ => vec![],
                };
                for n in names {
                    if !cols.contains(&n) {
                        cols.push(n);
                    }
                }
            }
            if cols.is_empty() {
                cols = vec!["@timestamp".into(), "@message".into()];
            }
            cols
        });
        (rows, cols)
    }
}

/// The text between the literal pieces of a glob (`a*b*` → pieces
/// `["a", "b", ""]`): the first piece is searched for, each capture ends at
/// the next piece, a trailing `*` takes the rest.
fn glob_captures<'t>(pieces: &[String], text: &'t str) -> Option<Vec<&'t str>> {
    let (first, rest) = pieces.split_first()?;
    let mut at = text.find(first.as_str())? + first.len();
    let mut out = Vec::with_capacity(rest.len());
    for (i, piece) in rest.iter().enumerate() {
        if piece.is_empty() && i == rest.len() - 1 {
            out.push(&text[at..]);
            at = text.len();
        } else {
            let n = text[at..].find(piece.as_str())?;
            out.push(&text[at..at + n]);
            at += n + piece.len();
        }
    }
    Some(out)
}

fn is_bin(e: &Expr) -> bool {
    matches!(e, Expr::Call(f, _) if f == "bin")
}

/// One non-blocking command on one record: false drops it.
fn apply_row(c: &Cmd, rec: &mut Record) -> bool {
    match c {
        Cmd::Fields(items) => {
            for n in items {
                if !matches!(&n.expr, Expr::Field(f) if *f == n.name) {
                    let v = match (eval(&n.expr, rec), is_bin(&n.expr)) {
                        (Val::Num(ms), true) => Val::Str(fmt_time(ms as i64)),
                        (v, _) => v,
                    };
                    rec.insert(n.name.clone(), v);
                }
            }
            true
        }
        Cmd::Filter(e) => eval(e, rec).truthy(),
        Cmd::Parse {
            field,
            regex,
            names,
            glob,
        } => {
            let text = eval(field, rec).text();
            if let Some(pieces) = glob {
                if let Some(values) = glob_captures(pieces, &text) {
                    for (n, v) in names.iter().zip(values) {
                        rec.insert(n.clone(), Val::Str(v.to_string()));
                    }
                }
            } else if let Some(caps) = regex.captures(&text) {
                let named: Vec<&str> = regex.capture_names().flatten().collect();
                if named.is_empty() {
                    for (i, n) in names.iter().enumerate() {
                        if let Some(m) = caps.get(i + 1) {
                            rec.insert(n.clone(), Val::Str(m.as_str().to_string()));
                        }
                    }
                } else {
                    for n in named {
                        if let Some(m) = caps.name(n) {
                            rec.insert(n.to_string(), Val::Str(m.as_str().to_string()));
                        }
                    }
                }
            }
            true
        }
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(ts: i64, msg: &str) -> Record {
        let mut r = Record::new();
        r.insert("@timestamp".into(), Val::Num(ts as f64));
        r.insert("@message".into(), Val::Str(msg.into()));
        let mut f = BTreeMap::new();
        discover_fields(msg, &mut f);
        r.extend(f);
        r
    }

    fn run(q: &str, recs: Vec<Record>) -> (Vec<Record>, Vec<String>) {
        let q = parse_query(q).unwrap();
        let mut r = Runner::new(&q);
        for x in recs {
            r.push(x);
        }
        r.finish(10_000)
    }

    #[test]
    fn stats_by_bin_and_parse() {
        let recs = vec![
            rec(0, "GET /a 200 12"),
            rec(1_000, "GET /b 500 30"),
            rec(61_000, "POST /a 200 5"),
        ];
        let (rows, cols) = run(
            "parse @message '* * * *' as method, path, status, ms | stats count(*), sum(ms), pct(ms, 50) by bin(1m)",
            recs.clone(),
        );
        assert_eq!(cols, vec!["bin(1m)", "count(*)", "sum(ms)", "pct(ms, 50)"]);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0]["count(*)"], Val::Num(2.0));
        assert_eq!(rows[0]["sum(ms)"], Val::Num(42.0));
        assert_eq!(rows[0]["bin(1m)"].text(), "1970-01-01 00:00:00.000");
        let (rows, _) = run(
            r"parse @message /(?<method>\w+) (?<path>\S+) (?<status>\d+)/ | filter status >= 500 | fields path",
            recs.clone(),
        );
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0]["path"].text(), "/b");
        let (rows, _) = run(
            "filter @message like /POST|500/ | sort @timestamp asc | limit 1",
            recs.clone(),
        );
        assert_eq!(rows[0]["@message"].text(), "GET /b 500 30");
        let (rows, _) = run("stats count_distinct(@message) as n", recs);
        assert_eq!(rows[0]["n"], Val::Num(3.0));
    }

    #[test]
    fn json_fields_and_dedup() {
        let recs = vec![
            rec(1, r#"{"user":{"id":"a"},"ms":10}"#),
            rec(2, r#"{"user":{"id":"a"},"ms":20}"#),
            rec(3, r#"{"user":{"id":"b"},"ms":30}"#),
        ];
        let (rows, _) = run(
            "fields user.id, ms * 2 as double | sort ms desc | dedup user.id",
            recs.clone(),
        );
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0]["double"], Val::Num(60.0));
        let (rows, _) = run(
            "filter user.id in ['a'] and ms > 15 | stats avg(ms), max(ms), min(ms)",
            recs,
        );
        assert_eq!(rows[0]["avg(ms)"], Val::Num(20.0));
    }
}
