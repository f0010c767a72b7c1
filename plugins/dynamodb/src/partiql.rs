//! PartiQL for DynamoDB: SELECT, INSERT, UPDATE and DELETE statements with
//! `?` parameters, evaluated with the same conditions and update actions as
//! the expression language.

use ministack_sdk::prelude::*;
use serde_json::{Map, Value, json};

use crate::db::{Tbl, check_size, clean_item, clean_value, str_field, validation};
use crate::expr::{self, Action, Cmp, Cond, Item, Operand, Step};

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Quoted(String),
    Str(String),
    Num(String),
    Param,
    Sym(&'static str),
}

fn tokenize(s: &str) -> Result<Vec<Tok>, String> {
    let c: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < c.len() {
        let ch = c[i];
        if ch.is_whitespace() {
            i += 1;
        } else if ch == '\'' || ch == '"' {
            let mut text = String::new();
            i += 1;
            loop {
                if i >= c.len() {
                    return Err(
                        "Statement wasn't well formed, can't be processed: unterminated quote"
                            .into(),
                    );
                }
                if c[i] == ch {
                    if i + 1 < c.len() && c[i + 1] == ch {
                        text.push(ch);
                        i += 2;
                        continue;
                    }
                    i += 1;
                    break;
                }
                text.push(c[i]);
                i += 1;
            }
            out.push(if ch == '\'' {
                Tok::Str(text)
            } else {
                Tok::Quoted(text)
            });
        } else if ch.is_ascii_digit() || (ch == '-' && i + 1 < c.len() && c[i + 1].is_ascii_digit())
        {
            let start = i;
            i += 1;
            while i < c.len()
                && (c[i].is_ascii_alphanumeric()
                    || c[i] == '.'
                    || ((c[i] == '-' || c[i] == '+') && matches!(c[i - 1], 'e' | 'E')))
            {
                i += 1;
            }
            out.push(Tok::Num(c[start..i].iter().collect()));
        } else if ch.is_alphabetic() || ch == '_' {
            let start = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            out.push(Tok::Word(c[start..i].iter().collect()));
        } else if ch == '?' {
            out.push(Tok::Param);
            i += 1;
        } else {
            let two: String = c[i..(i + 2).min(c.len())].iter().collect();
            let sym = match two.as_str() {
                "<=" => Some("<="),
                ">=" => Some(">="),
                "<>" => Some("<>"),
                "!=" => Some("<>"),
                "<<" => Some("<<"),
                ">>" => Some(">>"),
                _ => None,
            };
            if let Some(s) = sym {
                out.push(Tok::Sym(s));
                i += 2;
                continue;
            }
            let s = match ch {
                '*' => "*",
                ',' => ",",
                '.' => ".",
                '(' => "(",
                ')' => ")",
                '[' => "[",
                ']' => "]",
                '{' => "{",
                '}' => "}",
                ':' => ":",
                '=' => "=",
                '<' => "<",
                '>' => ">",
                _ => {
                    return Err(format!(
                        "Statement wasn't well formed, can't be processed: Unexpected token: {ch}"
                    ));
                }
            };
            out.push(Tok::Sym(s));
            i += 1;
        }
    }
    Ok(out)
}

#[derive(Debug)]
pub enum Statement {
    Select {
        table: String,
        index: Option<String>,
        projection: Option<Vec<expr::Path>>,
        filter: Option<Cond>,
    },
    Insert {
        table: String,
        item: Item,
    },
    Update {
        table: String,
        actions: Vec<Action>,
        filter: Cond,
        returning: Option<Returning>,
    },
    Delete {
        table: String,
        filter: Cond,
        returning: Option<Returning>,
    },
}

/// `RETURNING (ALL | MODIFIED) (OLD | NEW) *`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Returning {
    pub all: bool,
    pub new: bool,
}

struct P {
    toks: Vec<Tok>,
    pos: usize,
    params: Vec<Value>,
    next_param: usize,
}

fn malformed(what: &str) -> String {
    format!("Statement wasn't well formed, can't be processed: {what}")
}

impl P {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    fn kw(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(x)) if x.eq_ignore_ascii_case(w))
    }
    fn eat_kw(&mut self, w: &str) -> Result<(), String> {
        if self.kw(w) {
            self.pos += 1;
            Ok(())
        } else {
            Err(malformed(&format!("expected {w}")))
        }
    }
    fn sym(&self, s: &str) -> bool {
        matches!(self.peek(), Some(Tok::Sym(x)) if *x == s)
    }
    fn eat_sym(&mut self, s: &str) -> Result<(), String> {
        if self.sym(s) {
            self.pos += 1;
            Ok(())
        } else {
            Err(malformed(&format!("expected {s}")))
        }
    }
    fn name(&mut self) -> Result<String, String> {
        match self.toks.get(self.pos).cloned() {
            Some(Tok::Word(w)) | Some(Tok::Quoted(w)) => {
                self.pos += 1;
                Ok(w)
            }
            _ => Err(malformed("expected a name")),
        }
    }
    fn table(&mut self) -> Result<(String, Option<String>), String> {
        let t = self.name()?;
        if self.sym(".") {
            self.pos += 1;
            return Ok((t, Some(self.name()?)));
        }
        Ok((t, None))
    }
    fn path(&mut self) -> Result<expr::Path, String> {
        let mut p = vec![Step::Attr(self.name()?)];
        loop {
            if self.sym(".") {
                self.pos += 1;
                p.push(Step::Attr(self.name()?));
            } else if self.sym("[") {
                self.pos += 1;
                match self.toks.get(self.pos).cloned() {
                    Some(Tok::Num(n)) => {
                        p.push(Step::Index(n.parse().map_err(|_| malformed("bad index"))?))
                    }
                    Some(Tok::Str(s)) => p.push(Step::Attr(s)),
                    _ => return Err(malformed("bad index")),
                }
                self.pos += 1;
                self.eat_sym("]")?;
            } else {
                return Ok(p);
            }
        }
    }
    fn literal(&mut self) -> Result<Value, String> {
        let t = self
            .toks
            .get(self.pos)
            .cloned()
            .ok_or_else(|| malformed("unexpected end"))?;
        self.pos += 1;
        Ok(match t {
            Tok::Str(s) => json!({"S": s}),
            Tok::Num(n) => json!({"N": n}),
            Tok::Param => {
                let v = self.params.get(self.next_param).cloned().ok_or_else(|| {
                    "Number of parameters in request and statement don't match.".to_string()
                })?;
                self.next_param += 1;
                v
            }
            Tok::Word(w) if w.eq_ignore_ascii_case("true") => json!({"BOOL": true}),
            Tok::Word(w) if w.eq_ignore_ascii_case("false") => json!({"BOOL": false}),
            Tok::Word(w) if w.eq_ignore_ascii_case("null") => json!({"NULL": true}),
            Tok::Sym("[") => {
                let mut l = Vec::new();
                while !self.sym("]") {
                    l.push(self.literal()?);
                    if self.sym(",") {
                        self.pos += 1;
                    }
                }
                self.pos += 1;
                json!({ "L": l })
            }
            Tok::Sym("{") => {
                let mut m = Map::new();
                while !self.sym("}") {
                    let k = match self.toks.get(self.pos).cloned() {
                        Some(Tok::Str(s)) | Some(Tok::Quoted(s)) | Some(Tok::Word(s)) => s,
                        _ => return Err(malformed("expected a map key")),
                    };
                    self.pos += 1;
                    self.eat_sym(":")?;
                    m.insert(k, self.literal()?);
                    if self.sym(",") {
                        self.pos += 1;
                    }
                }
                self.pos += 1;
                json!({ "M": m })
            }
            Tok::Sym("<<") => {
                let mut elems = Vec::new();
                while !self.sym(">>") {
                    elems.push(self.literal()?);
                    if self.sym(",") {
                        self.pos += 1;
                    }
                }
                self.pos += 1;
                let ty = elems
                    .first()
                    .and_then(|e| e.as_object())
                    .and_then(|o| o.keys().next().cloned())
                    .unwrap_or_default();
                let vals: Vec<Value> = elems.iter().filter_map(|e| e.get(&ty).cloned()).collect();
                json!({ format!("{ty}S"): vals })
            }
            _ => return Err(malformed("unexpected token")),
        })
    }
    fn operand(&mut self) -> Result<Operand, String> {
        match self.peek() {
            Some(Tok::Word(w))
                if !matches!(w.to_ascii_lowercase().as_str(), "true" | "false" | "null") =>
            {
                if self.toks.get(self.pos + 1) == Some(&Tok::Sym("("))
                    && w.eq_ignore_ascii_case("size")
                {
                    self.pos += 2;
                    let p = self.path()?;
                    self.eat_sym(")")?;
                    return Ok(Operand::Size(p));
                }
                Ok(Operand::Path(self.path()?))
            }
            Some(Tok::Quoted(_)) => Ok(Operand::Path(self.path()?)),
            _ => Ok(Operand::Value(self.literal()?)),
        }
    }
    fn cond(&mut self) -> Result<Cond, String> {
        let mut l = self.and()?;
        while self.kw("OR") {
            self.pos += 1;
            l = Cond::Or(Box::new(l), Box::new(self.and()?));
        }
        Ok(l)
    }
    fn and(&mut self) -> Result<Cond, String> {
        let mut l = self.not()?;
        while self.kw("AND") {
            self.pos += 1;
            l = Cond::And(Box::new(l), Box::new(self.not()?));
        }
        Ok(l)
    }
    fn not(&mut self) -> Result<Cond, String> {
        if self.kw("NOT") {
            self.pos += 1;
            return Ok(Cond::Not(Box::new(self.not()?)));
        }
        if self.sym("(") {
            self.pos += 1;
            let c = self.cond()?;
            self.eat_sym(")")?;
            return Ok(c);
        }
        if let Some(Tok::Word(w)) = self.peek().cloned()
            && self.toks.get(self.pos + 1) == Some(&Tok::Sym("("))
        {
            let f = w.to_ascii_lowercase();
            if matches!(
                f.as_str(),
                "begins_with"
                    | "contains"
                    | "attribute_exists"
                    | "attribute_not_exists"
                    | "attribute_type"
            ) {
                self.pos += 2;
                let a = self.operand()?;
                let b = if self.sym(",") {
                    self.pos += 1;
                    Some(self.operand()?)
                } else {
                    None
                };
                self.eat_sym(")")?;
                let path = |o: &Operand| match o {
                    Operand::Path(p) => Ok(p.clone()),
                    _ => Err(malformed("expected a path")),
                };
                return Ok(match (f.as_str(), b) {
                    ("begins_with", Some(b)) => Cond::BeginsWith(a, b),
                    ("contains", Some(b)) => Cond::Contains(a, b),
                    ("attribute_type", Some(b)) => Cond::Type(path(&a)?, b),
                    ("attribute_exists", None) => Cond::Exists(path(&a)?),
                    ("attribute_not_exists", None) => Cond::NotExists(path(&a)?),
                    _ => return Err(malformed("wrong number of arguments")),
                });
            }
        }
        let left = self.operand()?;
        if self.kw("IS") {
            self.pos += 1;
            let neg = self.kw("NOT");
            if neg {
                self.pos += 1;
            }
            self.eat_kw("MISSING")?;
            let Operand::Path(p) = left else {
                return Err(malformed("IS MISSING needs a path"));
            };
            return Ok(if neg {
                Cond::Exists(p)
            } else {
                Cond::NotExists(p)
            });
        }
        if self.kw("BETWEEN") {
            self.pos += 1;
            let lo = self.operand()?;
            self.eat_kw("AND")?;
            return Ok(Cond::Between(left, lo, self.operand()?));
        }
        if self.kw("IN") {
            self.pos += 1;
            let open = if self.sym("[") { "]" } else { ")" };
            self.pos += 1;
            let mut list = Vec::new();
            while !self.sym(open) {
                list.push(self.operand()?);
                if self.sym(",") {
                    self.pos += 1;
                }
            }
            self.pos += 1;
            return Ok(Cond::In(left, list));
        }
        let op = match self.peek() {
            Some(Tok::Sym("=")) => Cmp::Eq,
            Some(Tok::Sym("<>")) => Cmp::Ne,
            Some(Tok::Sym("<")) => Cmp::Lt,
            Some(Tok::Sym("<=")) => Cmp::Le,
            Some(Tok::Sym(">")) => Cmp::Gt,
            Some(Tok::Sym(">=")) => Cmp::Ge,
            _ => return Err(malformed("expected a comparison")),
        };
        self.pos += 1;
        Ok(Cond::Cmp(op, left, self.operand()?))
    }
    fn where_(&mut self) -> Result<Option<Cond>, String> {
        if self.kw("WHERE") {
            self.pos += 1;
            return Ok(Some(self.cond()?));
        }
        Ok(None)
    }
    fn returning(&mut self) -> Result<Option<Returning>, String> {
        if !self.kw("RETURNING") {
            return Ok(None);
        }
        self.pos += 1;
        let all = if self.kw("ALL") {
            true
        } else if self.kw("MODIFIED") {
            false
        } else {
            return Err(malformed("RETURNING takes ALL or MODIFIED"));
        };
        self.pos += 1;
        let new = if self.kw("NEW") {
            true
        } else if self.kw("OLD") {
            false
        } else {
            return Err(malformed("RETURNING takes OLD or NEW"));
        };
        self.pos += 1;
        self.eat_sym("*")?;
        Ok(Some(Returning { all, new }))
    }

    fn end(&self) -> Result<(), String> {
        if self.pos < self.toks.len() {
            return Err(malformed("unexpected tokens at the end"));
        }
        if self.next_param != self.params.len() {
            return Err("Number of parameters in request and statement don't match.".into());
        }
        Ok(())
    }
}

pub fn parse(src: &str, params: Vec<Value>) -> Result<Statement, String> {
    let mut p = P {
        toks: tokenize(src)?,
        pos: 0,
        params,
        next_param: 0,
    };
    let st = if p.kw("SELECT") {
        p.pos += 1;
        let projection = if p.sym("*") {
            p.pos += 1;
            None
        } else {
            let mut v = vec![p.path()?];
            while p.sym(",") {
                p.pos += 1;
                v.push(p.path()?);
            }
            Some(v)
        };
        p.eat_kw("FROM")?;
        let (table, index) = p.table()?;
        let filter = p.where_()?;
        Statement::Select {
            table,
            index,
            projection,
            filter,
        }
    } else if p.kw("INSERT") {
        p.pos += 1;
        p.eat_kw("INTO")?;
        let table = p.name()?;
        p.eat_kw("VALUE")?;
        let v = p.literal()?;
        let item = v
            .get("M")
            .and_then(|m| m.as_object())
            .cloned()
            .ok_or_else(|| malformed("VALUE must be a map"))?;
        Statement::Insert { table, item }
    } else if p.kw("UPDATE") {
        p.pos += 1;
        let table = p.name()?;
        let mut actions = Vec::new();
        loop {
            if p.kw("SET") {
                p.pos += 1;
                let path = p.path()?;
                p.eat_sym("=")?;
                actions.push(Action::Set(path, p.operand()?));
            } else if p.kw("REMOVE") {
                p.pos += 1;
                actions.push(Action::Remove(p.path()?));
            } else {
                break;
            }
            while p.sym(",") {
                p.pos += 1;
                let path = p.path()?;
                if p.sym("=") {
                    p.pos += 1;
                    actions.push(Action::Set(path, p.operand()?));
                } else {
                    actions.push(Action::Remove(path));
                }
            }
        }
        let filter = p
            .where_()?
            .ok_or_else(|| malformed("UPDATE needs a WHERE clause"))?;
        let returning = p.returning()?;
        Statement::Update {
            table,
            actions,
            filter,
            returning,
        }
    } else if p.kw("DELETE") {
        p.pos += 1;
        p.eat_kw("FROM")?;
        let table = p.name()?;
        let filter = p
            .where_()?
            .ok_or_else(|| malformed("DELETE needs a WHERE clause"))?;
        let returning = p.returning()?;
        // A deleted item has only an old image, all of it.
        if returning.is_some_and(|r| !r.all || r.new) {
            return Err(malformed("DELETE supports only RETURNING ALL OLD *"));
        }
        Statement::Delete {
            table,
            filter,
            returning,
        }
    } else {
        return Err(malformed("unsupported statement"));
    };
    p.end()?;
    Ok(st)
}

/// The `attr = value` equalities at the top level of a WHERE clause.
fn equalities(c: &Cond, out: &mut Item) {
    match c {
        Cond::And(a, b) => {
            equalities(a, out);
            equalities(b, out);
        }
        Cond::Cmp(Cmp::Eq, Operand::Path(p), Operand::Value(v))
        | Cond::Cmp(Cmp::Eq, Operand::Value(v), Operand::Path(p))
            if p.len() == 1 =>
        {
            if let Step::Attr(a) = &p[0] {
                out.insert(a.clone(), v.clone());
            }
        }
        _ => {}
    }
}

fn key_of(t: &Tbl, filter: &Cond) -> Result<Vec<u8>, AwsError> {
    let mut eq = Item::new();
    equalities(filter, &mut eq);
    let key: Item = t
        .schema
        .names()
        .iter()
        .filter_map(|n| eq.get(*n).map(|v| (n.to_string(), v.clone())))
        .collect();
    if key.len() != t.schema.names().len() {
        return Err(validation(
            "Where clause does not contain a mandatory equality on all key attributes",
        ));
    }
    t.check_key(&key)
}

fn failed() -> AwsError {
    AwsError::new(
        "ConditionalCheckFailedException",
        "The conditional request failed",
    )
}

fn holds(c: &Cond, item: &Item) -> Result<bool, AwsError> {
    expr::test(c, item).map_err(validation)
}

/// Run one statement; SELECT answers its items.
pub fn run(st: &Statement) -> Result<Vec<Item>, AwsError> {
    match st {
        Statement::Select {
            table,
            index,
            projection,
            filter,
        } => {
            let t = Tbl::open(table)?;
            let mut prefix = match index {
                Some(i) => {
                    t.index(i)?;
                    t.index_prefix(i)
                }
                None => t.prefix(),
            };
            // An equality on the partition key narrows the scan to it.
            let schema = match index {
                Some(i) => &t.index(i)?.schema,
                None => &t.schema,
            };
            let mut eq = Item::new();
            if let Some(f) = filter {
                equalities(f, &mut eq);
            }
            if let Some(v) = eq.get(&schema.hash.0)
                && let Some(enc) = crate::db::encode_attr(v, &schema.hash.1)
            {
                prefix.extend(enc);
            }
            let range = crate::db::RawRange {
                prefix,
                start: None,
                end: None,
                reverse: false,
            };
            let rows = if index.is_some() {
                crate::db::INDEXES.scan(&range, 0)
            } else {
                crate::db::ITEMS.scan(&range, 0)
            };
            let mut out = Vec::new();
            for (_, v) in rows {
                let Ok(item) = serde_json::from_slice::<Item>(&v) else {
                    continue;
                };
                if let Some(f) = filter
                    && !holds(f, &item)?
                {
                    continue;
                }
                out.push(match projection {
                    Some(p) => expr::project(&item, p),
                    None => item,
                });
            }
            Ok(out)
        }
        Statement::Insert { table, item } => {
            let t = Tbl::open(table)?;
            let item = clean_item(item)?;
            let key = t.check_item_key(&item)?;
            check_size(&item)?;
            if t.get(&key).is_some() {
                return Err(AwsError::new(
                    "DuplicateItemException",
                    "Duplicate primary key exists in table",
                ));
            }
            t.write(&key, None, Some(&item));
            Ok(vec![])
        }
        Statement::Update {
            table,
            actions,
            filter,
            returning,
        } => {
            let t = Tbl::open(table)?;
            let key = key_of(&t, filter)?;
            let old = t.get(&key).ok_or_else(failed)?;
            if !holds(filter, &old)? {
                return Err(failed());
            }
            for a in actions {
                if let Action::Set(p, _) | Action::Remove(p) = a
                    && let Some(Step::Attr(first)) = p.first()
                    && t.schema.names().contains(&first.as_str())
                {
                    return Err(validation(format!(
                        "One or more parameter values were invalid: Cannot update attribute {first}. This attribute is part of the key"
                    )));
                }
            }
            let mut new = old.clone();
            expr::apply(actions, &mut new).map_err(validation)?;
            let new = clean_item(&new)?;
            t.check_item_key(&new)?;
            check_size(&new)?;
            t.write(&key, Some(&old), Some(&new));
            let Some(r) = returning else {
                return Ok(vec![]);
            };
            let image = if r.new { new } else { old };
            if r.all {
                return Ok(vec![image]);
            }
            let paths: Vec<expr::Path> = actions
                .iter()
                .map(|a| match a {
                    Action::Set(p, _)
                    | Action::Remove(p)
                    | Action::Add(p, _)
                    | Action::Delete(p, _) => p.clone(),
                })
                .collect();
            Ok(vec![expr::project(&image, &paths)])
        }
        Statement::Delete {
            table,
            filter,
            returning,
        } => {
            let t = Tbl::open(table)?;
            let key = key_of(&t, filter)?;
            let Some(old) = t.get(&key) else {
                return Ok(vec![]);
            };
            if !holds(filter, &old)? {
                return Err(failed());
            }
            t.write(&key, Some(&old), None);
            Ok(if returning.is_some() {
                vec![old]
            } else {
                vec![]
            })
        }
    }
}

fn statement(input: &Value, field: &str) -> Result<Statement, AwsError> {
    let src = input.get(field).and_then(|v| v.as_str()).unwrap_or("");
    let params: Vec<Value> = input["Parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .map(clean_value)
        .collect::<Result<_, _>>()?;
    parse(src, params).map_err(validation)
}

pub fn execute_statement(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let st = statement(&input, "Statement")?;
    let items = run(&st)?;
    let table = match &st {
        Statement::Select { table, .. }
        | Statement::Insert { table, .. }
        | Statement::Update { table, .. }
        | Statement::Delete { table, .. } => table.clone(),
    };
    if !matches!(st, Statement::Select { .. }) {
        let mut out = json!({ "Items": items });
        crate::capacity::single(
            &input,
            &table,
            &crate::capacity::Capacity {
                write: true,
                ..crate::capacity::Capacity::table(1.0)
            },
            &mut out,
        );
        return Ok(out);
    }
    // Pages of a SELECT: Limit items or 1 MB; NextToken names the statement
    // (text and parameters) and where the next page starts.
    let limit = match input.get("Limit").and_then(|v| v.as_i64()) {
        Some(l) if l < 1 => {
            return Err(validation(format!(
                "1 validation error detected: Value '{l}' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"
            )));
        }
        Some(l) => l as usize,
        None => usize::MAX,
    };
    let which = ministack_sdk::hash::sha256_hex(
        format!("{}\0{}", input["Statement"], input["Parameters"]).as_bytes(),
    )[..16]
        .to_string();
    let start = match str_field(&input, "NextToken") {
        Some(tok) => ministack_sdk::pagination::decode(tok)
            .and_then(|t| {
                let (h, off) = t.split_once(':')?;
                (h == which).then(|| off.parse::<usize>().ok()).flatten()
            })
            .ok_or_else(|| validation("Invalid NextToken"))?,
        None => 0,
    };
    let mut page = Vec::new();
    let mut read = 0;
    let mut end = start;
    for item in items.iter().skip(start) {
        if page.len() >= limit || read >= crate::reads::PAGE_BYTES {
            break;
        }
        read += crate::db::item_size(item);
        page.push(item.clone());
        end += 1;
    }
    let mut out = json!({ "Items": page });
    let units = ((end - start) as f64 * crate::items::read_units(&input)).max(0.5);
    crate::capacity::single(
        &input,
        &table,
        &crate::capacity::Capacity::table(units),
        &mut out,
    );
    if end < items.len() {
        out["NextToken"] = json!(ministack_sdk::pagination::encode(&format!("{which}:{end}")));
    }
    Ok(out)
}

pub fn batch_execute_statement(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let list = input["Statements"].as_array().cloned().unwrap_or_default();
    if list.len() > 25 {
        return Err(validation(
            "Member must have length less than or equal to 25",
        ));
    }
    let mut out = Vec::new();
    for s in &list {
        let st = statement(s, "Statement")?;
        if matches!(st, Statement::Select { .. })
            && !matches!(
                &st,
                Statement::Select {
                    filter: Some(_),
                    ..
                }
            )
        {
            return Err(validation(
                "BatchExecuteStatement SELECT must specify the full primary key",
            ));
        }
        let table = match &st {
            Statement::Select { table, .. }
            | Statement::Insert { table, .. }
            | Statement::Update { table, .. }
            | Statement::Delete { table, .. } => table.clone(),
        };
        match run(&st) {
            Ok(items) => {
                let mut r = json!({ "TableName": table });
                if let Some(i) = items.into_iter().next() {
                    r["Item"] = Value::Object(i);
                }
                out.push(r);
            }
            Err(e) if e.code == "ResourceNotFoundException" || e.code == "InternalServerError" => return Err(e),
            Err(e) => out.push(json!({ "TableName": table, "Error": {"Code": e.code.trim_end_matches("Exception"), "Message": e.message} })),
        }
    }
    Ok(json!({ "Responses": out }))
}

pub fn execute_transaction(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let list = input["TransactStatements"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if list.is_empty() || list.len() > 100 {
        return Err(validation(
            "Member must have length less than or equal to 100",
        ));
    }
    let stmts: Vec<Statement> = list
        .iter()
        .map(|s| statement(s, "Statement"))
        .collect::<Result<_, _>>()?;
    let mut reasons = Vec::new();
    let mut responses = Vec::new();
    let mut failed_any = false;
    for st in &stmts {
        match run(st) {
            Ok(items) => {
                reasons.push(json!({"Code": "None"}));
                responses.push(match items.into_iter().next() {
                    Some(i) => json!({ "Item": i }),
                    None => json!({}),
                });
            }
            Err(e)
                if matches!(
                    e.code.as_str(),
                    "ConditionalCheckFailedException" | "DuplicateItemException"
                ) =>
            {
                failed_any = true;
                let code = if e.code == "DuplicateItemException" {
                    "DuplicateItem"
                } else {
                    "ConditionalCheckFailed"
                };
                reasons.push(json!({"Code": code, "Message": e.message}));
            }
            Err(e) => return Err(e),
        }
    }
    if failed_any {
        let codes: Vec<&str> = reasons
            .iter()
            .map(|r| r["Code"].as_str().unwrap_or("None"))
            .collect();
        return Err(AwsError::new(
            "TransactionCanceledException",
            format!("Transaction cancelled, please refer cancellation reasons for specific reasons [{}]", codes.join(", ")),
        )
        .with_member("CancellationReasons", reasons));
    }
    Ok(json!({ "Responses": responses }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_four_statements() {
        let s = parse(
            r#"SELECT a, b.c FROM "t"."ix" WHERE pk = ? AND n > 5"#,
            vec![json!({"S": "x"})],
        )
        .unwrap();
        assert!(
            matches!(s, Statement::Select { ref index, projection: Some(ref p), filter: Some(_), .. } if index.as_deref() == Some("ix") && p.len() == 2)
        );
        let s = parse(
            "INSERT INTO t VALUE {'pk': 'a', 'n': 1, 'l': [1, 'x'], 's': <<'p', 'q'>>}",
            vec![],
        )
        .unwrap();
        let Statement::Insert { item, .. } = s else {
            panic!()
        };
        assert_eq!(item["n"], json!({"N": "1"}));
        assert_eq!(item["s"], json!({"SS": ["p", "q"]}));
        assert_eq!(item["l"], json!({"L": [{"N": "1"}, {"S": "x"}]}));
        let s = parse(
            "UPDATE t SET a = 'x' SET b = ? REMOVE c WHERE pk = 'k'",
            vec![json!({"N": "2"})],
        )
        .unwrap();
        let Statement::Update { actions, .. } = s else {
            panic!()
        };
        assert_eq!(actions.len(), 3);
        assert!(parse("DELETE FROM t WHERE pk = 'it''s'", vec![]).is_ok());
        assert!(
            parse("SELECT * FROM t WHERE pk = ?", vec![])
                .unwrap_err()
                .contains("parameters")
        );
        assert!(parse("DROP TABLE t", vec![]).is_err());
    }
}
