//! Metric math: the expression language of `MetricDataQuery.Expression`.
//!
//! A parser (precedence climbing) and an evaluator over time series (a
//! sorted map timestamp → value). Supported: numbers, query ids, array
//! literals `[m1, m2]`, `+ - * / ^`, comparisons and `AND`/`OR`/`NOT`
//! (1 or 0, for `IF`), and the functions `ABS`, `CEIL`, `FLOOR`, `SUM`,
//! `AVG`, `MIN`, `MAX`, `STDDEV`, `RATE`, `DIFF`, `DIFF_TIME`, `FILL`
//! (a number, `REPEAT` or `LINEAR`), `IF`, `METRICS`, `SEARCH`,
//! `TIME_SERIES`, `PERIOD` and `ANOMALY_DETECTION_BAND` (an approximation:
//! the series' mean ± k standard deviations, see docs/services/cloudwatch.md).
//!
//! Two series combine on the timestamps they share (as AWS does); a
//! function of one series (`SUM(m1)`) is a number, of an array
//! (`SUM(METRICS())`) a series of per-timestamp results.

use std::collections::BTreeMap;

pub type Points = BTreeMap<i64, f64>;

#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub label: String,
    pub points: Points,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Val {
    Num(f64),
    Series(Series),
    Array(Vec<Series>),
    Str(String),
    /// A bare upper-case word (`REPEAT`, `LINEAR`).
    Word(String),
}

/// What an expression can see: the other queries, the stored metrics and
/// the query's time grid.
pub trait Env {
    fn lookup(&self, id: &str) -> Option<Val>;
    /// `METRICS()`: every metric-stat query of the request (math expressions
    /// are not included, as in AWS); with a filter, those whose id contains it.
    fn metrics(&self, filter: Option<&str>) -> Vec<Series>;
    fn search(&self, expr: &str, stat: &str, period: i64) -> Result<Vec<Series>, String>;
    /// The timestamps of the query's periods (for `FILL`, `TIME_SERIES`).
    fn grid(&self) -> Vec<i64>;
    fn period(&self) -> i64;
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Num(f64),
    Ident(String),
    Str(String),
    Op(&'static str),
}

fn tokenize(s: &str) -> Result<Vec<Tok>, String> {
    let b: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < b.len() {
        let c = b[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit()
            || (c == '.' && b.get(i + 1).is_some_and(|d| d.is_ascii_digit()))
        {
            let start = i;
            while i < b.len()
                && (b[i].is_ascii_digit()
                    || b[i] == '.'
                    || ((b[i] == 'e' || b[i] == 'E') && i > start)
                    || ((b[i] == '-' || b[i] == '+') && matches!(b[i - 1], 'e' | 'E')))
            {
                i += 1;
            }
            let text: String = b[start..i].iter().collect();
            out.push(Tok::Num(
                text.parse().map_err(|_| format!("bad number {text}"))?,
            ));
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < b.len() && (b[i].is_alphanumeric() || b[i] == '_') {
                i += 1;
            }
            out.push(Tok::Ident(b[start..i].iter().collect()));
        } else if c == '\'' || c == '"' {
            let mut text = String::new();
            i += 1;
            while i < b.len() && b[i] != c {
                if b[i] == '\\' && i + 1 < b.len() {
                    i += 1;
                }
                text.push(b[i]);
                i += 1;
            }
            if i >= b.len() {
                return Err("unterminated string".into());
            }
            i += 1;
            out.push(Tok::Str(text));
        } else {
            let two: String = b[i..(i + 2).min(b.len())].iter().collect();
            let op = match two.as_str() {
                "<=" => Some("<="),
                ">=" => Some(">="),
                "==" => Some("=="),
                "!=" => Some("!="),
                "&&" => Some("AND"),
                "||" => Some("OR"),
                _ => None,
            };
            if let Some(op) = op {
                out.push(Tok::Op(op));
                i += 2;
                continue;
            }
            let op = match c {
                '+' => "+",
                '-' => "-",
                '*' => "*",
                '/' => "/",
                '^' => "^",
                '(' => "(",
                ')' => ")",
                '[' => "[",
                ']' => "]",
                ',' => ",",
                '<' => "<",
                '>' => ">",
                '!' => "NOT",
                _ => return Err(format!("unexpected character '{c}'")),
            };
            out.push(Tok::Op(op));
            i += 1;
        }
    }
    Ok(out)
}

#[derive(Clone, Debug, PartialEq)]
pub enum Ast {
    Num(f64),
    Str(String),
    Id(String),
    Array(Vec<Ast>),
    Call(String, Vec<Ast>),
    Bin(&'static str, Box<Ast>, Box<Ast>),
    Neg(Box<Ast>),
    Not(Box<Ast>),
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    /// Nesting depth, bounded so a pathological expression cannot exhaust the stack.
    depth: usize,
    operators: usize,
}

const MAX_DEPTH: usize = 64;
const MAX_OPERATORS: usize = 256;

fn binary_prec(t: &Tok) -> Option<(&'static str, u8)> {
    match t {
        Tok::Op(op) => match *op {
            "OR" => Some((op, 1)),
            "AND" => Some((op, 2)),
            "<" | ">" | "<=" | ">=" | "==" | "!=" => Some((op, 3)),
            "+" | "-" => Some((op, 4)),
            "*" | "/" => Some((op, 5)),
            "^" => Some((op, 6)),
            _ => None,
        },
        Tok::Ident(w) if w.eq_ignore_ascii_case("AND") => Some(("AND", 2)),
        Tok::Ident(w) if w.eq_ignore_ascii_case("OR") => Some(("OR", 1)),
        _ => None,
    }
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }
    fn expect(&mut self, op: &str) -> Result<(), String> {
        match self.next() {
            Some(Tok::Op(o)) if o == op => Ok(()),
            other => Err(format!("expected '{op}', found {other:?}")),
        }
    }

    fn expr(&mut self, min_prec: u8) -> Result<Ast, String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err("the expression is nested too deeply".into());
        }
        let out = self.expr_inner(min_prec);
        self.depth -= 1;
        out
    }

    fn expr_inner(&mut self, min_prec: u8) -> Result<Ast, String> {
        let mut lhs = self.unary()?;
        while let Some((op, prec)) = self.peek().and_then(binary_prec) {
            if prec < min_prec {
                break;
            }
            self.pos += 1;
            // `^` is right associative.
            let next = if op == "^" { prec } else { prec + 1 };
            let rhs = self.expr(next)?;
            lhs = Ast::Bin(op, Box::new(lhs), Box::new(rhs));
            // A long chain (a + b + c ...) nests the tree as deeply as it is long.
            self.operators += 1;
            if self.operators > MAX_OPERATORS {
                return Err("the expression has too many operators".into());
            }
        }
        Ok(lhs)
    }

    fn unary(&mut self) -> Result<Ast, String> {
        match self.peek() {
            Some(Tok::Op("-")) => {
                self.pos += 1;
                Ok(Ast::Neg(Box::new(self.expr(6)?)))
            }
            Some(Tok::Op("NOT")) => {
                self.pos += 1;
                Ok(Ast::Not(Box::new(self.expr(3)?)))
            }
            Some(Tok::Ident(w)) if w.eq_ignore_ascii_case("NOT") => {
                self.pos += 1;
                Ok(Ast::Not(Box::new(self.expr(3)?)))
            }
            _ => self.primary(),
        }
    }

    fn list(&mut self, close: &str) -> Result<Vec<Ast>, String> {
        let mut args = Vec::new();
        if self.peek() == Some(&Tok::Op(leak(close))) {
            self.pos += 1;
            return Ok(args);
        }
        loop {
            args.push(self.expr(0)?);
            match self.next() {
                Some(Tok::Op(",")) => continue,
                Some(Tok::Op(o)) if o == close => return Ok(args),
                other => return Err(format!("expected ',' or '{close}', found {other:?}")),
            }
        }
    }

    fn primary(&mut self) -> Result<Ast, String> {
        match self.next() {
            Some(Tok::Num(n)) => Ok(Ast::Num(n)),
            Some(Tok::Str(s)) => Ok(Ast::Str(s)),
            Some(Tok::Op("(")) => {
                let e = self.expr(0)?;
                self.expect(")")?;
                Ok(e)
            }
            Some(Tok::Op("[")) => Ok(Ast::Array(self.list("]")?)),
            Some(Tok::Ident(name)) => {
                if self.peek() == Some(&Tok::Op("(")) {
                    self.pos += 1;
                    let args = self.list(")")?;
                    Ok(Ast::Call(name.to_ascii_uppercase(), args))
                } else {
                    Ok(Ast::Id(name))
                }
            }
            other => Err(format!("unexpected {other:?}")),
        }
    }
}

fn leak(s: &str) -> &'static str {
    match s {
        ")" => ")",
        "]" => "]",
        _ => "",
    }
}

pub fn parse(text: &str) -> Result<Ast, String> {
    let mut p = Parser {
        toks: tokenize(text)?,
        pos: 0,
        depth: 0,
        operators: 0,
    };
    let e = p.expr(0)?;
    if p.pos < p.toks.len() {
        return Err(format!("unexpected {:?}", p.toks[p.pos]));
    }
    Ok(e)
}

/// The ids an expression refers to (to order evaluation).
pub fn references(ast: &Ast, out: &mut Vec<String>) {
    match ast {
        Ast::Id(id) => out.push(id.clone()),
        Ast::Array(a) | Ast::Call(_, a) => a.iter().for_each(|x| references(x, out)),
        Ast::Bin(_, a, b) => {
            references(a, out);
            references(b, out);
        }
        Ast::Neg(a) | Ast::Not(a) => references(a, out),
        Ast::Num(_) | Ast::Str(_) => {}
    }
}

pub fn eval(ast: &Ast, env: &dyn Env) -> Result<Val, String> {
    match ast {
        Ast::Num(n) => Ok(Val::Num(*n)),
        Ast::Str(s) => Ok(Val::Str(s.clone())),
        Ast::Id(id) => {
            if id.chars().all(|c| c.is_ascii_uppercase() || c == '_') && env.lookup(id).is_none() {
                return Ok(Val::Word(id.clone()));
            }
            env.lookup(id)
                .ok_or_else(|| format!("Unrecognized identifier {id}"))
        }
        Ast::Array(items) => {
            let mut out = Vec::new();
            for it in items {
                match eval(it, env)? {
                    Val::Series(s) => out.push(s),
                    Val::Array(a) => out.extend(a),
                    Val::Num(n) => out.push(constant(n, env)),
                    _ => return Err("an array holds time series".into()),
                }
            }
            Ok(Val::Array(out))
        }
        Ast::Neg(a) => unary(eval(a, env)?, |x| Some(-x)),
        Ast::Not(a) => unary(eval(a, env)?, |x| Some(if x == 0.0 { 1.0 } else { 0.0 })),
        Ast::Bin(op, a, b) => {
            let (a, b) = (eval(a, env)?, eval(b, env)?);
            binary(op, a, b)
        }
        Ast::Call(name, args) => call(name, args, env),
    }
}

fn constant(n: f64, env: &dyn Env) -> Series {
    Series {
        label: format!("{n}"),
        points: env.grid().into_iter().map(|t| (t, n)).collect(),
    }
}

fn map_series(s: &Series, f: &dyn Fn(f64) -> Option<f64>) -> Series {
    Series {
        label: s.label.clone(),
        points: s
            .points
            .iter()
            .filter_map(|(t, v)| f(*v).map(|x| (*t, x)))
            .filter(|(_, x)| x.is_finite())
            .collect(),
    }
}

fn unary(v: Val, f: impl Fn(f64) -> Option<f64>) -> Result<Val, String> {
    Ok(match v {
        Val::Num(n) => Val::Num(f(n).unwrap_or(f64::NAN)),
        Val::Series(s) => Val::Series(map_series(&s, &f)),
        Val::Array(a) => Val::Array(a.iter().map(|s| map_series(s, &f)).collect()),
        _ => return Err("expected a number or a time series".into()),
    })
}

fn apply(op: &str, x: f64, y: f64) -> f64 {
    let b = |c: bool| if c { 1.0 } else { 0.0 };
    match op {
        "+" => x + y,
        "-" => x - y,
        "*" => x * y,
        "/" => x / y,
        "^" => x.powf(y),
        "<" => b(x < y),
        ">" => b(x > y),
        "<=" => b(x <= y),
        ">=" => b(x >= y),
        "==" => b(x == y),
        "!=" => b(x != y),
        "AND" => b(x != 0.0 && y != 0.0),
        "OR" => b(x != 0.0 || y != 0.0),
        _ => f64::NAN,
    }
}

fn zip(op: &str, a: &Series, b: &Series) -> Series {
    Series {
        label: a.label.clone(),
        points: a
            .points
            .iter()
            .filter_map(|(t, x)| b.points.get(t).map(|y| (*t, apply(op, *x, *y))))
            .filter(|(_, v)| v.is_finite())
            .collect(),
    }
}

fn binary(op: &str, a: Val, b: Val) -> Result<Val, String> {
    Ok(match (a, b) {
        (Val::Num(x), Val::Num(y)) => Val::Num(apply(op, x, y)),
        (Val::Series(s), Val::Num(y)) => Val::Series(map_series(&s, &|x| Some(apply(op, x, y)))),
        (Val::Num(x), Val::Series(s)) => Val::Series(map_series(&s, &|y| Some(apply(op, x, y)))),
        (Val::Series(a), Val::Series(b)) => Val::Series(zip(op, &a, &b)),
        (Val::Array(a), Val::Num(y)) => Val::Array(
            a.iter()
                .map(|s| map_series(s, &|x| Some(apply(op, x, y))))
                .collect(),
        ),
        (Val::Num(x), Val::Array(a)) => Val::Array(
            a.iter()
                .map(|s| map_series(s, &|y| Some(apply(op, x, y))))
                .collect(),
        ),
        (Val::Array(a), Val::Series(b)) => Val::Array(a.iter().map(|s| zip(op, s, &b)).collect()),
        (Val::Series(a), Val::Array(b)) => Val::Array(b.iter().map(|s| zip(op, &a, s)).collect()),
        _ => return Err(format!("operator {op} does not apply to these operands")),
    })
}

fn reduce(name: &str, xs: &[f64]) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    let n = xs.len() as f64;
    let sum: f64 = xs.iter().sum();
    Some(match name {
        "SUM" => sum,
        "AVG" => sum / n,
        "MIN" => xs.iter().cloned().fold(f64::INFINITY, f64::min),
        "MAX" => xs.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
        // Population standard deviation.
        _ => {
            let mean = sum / n;
            (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt()
        }
    })
}

fn series_fn(v: Val, f: &dyn Fn(&Series) -> Series) -> Result<Val, String> {
    Ok(match v {
        Val::Series(s) => Val::Series(f(&s)),
        Val::Array(a) => Val::Array(a.iter().map(f).collect()),
        _ => return Err("expected a time series".into()),
    })
}

fn pairwise(s: &Series, f: &dyn Fn(i64, f64, i64, f64) -> f64) -> Series {
    let pts: Vec<(i64, f64)> = s.points.iter().map(|(t, v)| (*t, *v)).collect();
    Series {
        label: s.label.clone(),
        points: pts
            .windows(2)
            .map(|w| (w[1].0, f(w[0].0, w[0].1, w[1].0, w[1].1)))
            .filter(|(_, v)| v.is_finite())
            .collect(),
    }
}

fn fill(s: &Series, how: &Val, grid: &[i64]) -> Result<Series, String> {
    let mut points = s.points.clone();
    for &t in grid {
        if points.contains_key(&t) {
            continue;
        }
        let before = s.points.range(..t).next_back();
        let after = s.points.range(t..).next();
        let v = match how {
            Val::Num(n) => Some(*n),
            Val::Word(w) if w == "REPEAT" => before.or(after).map(|x| *x.1),
            Val::Word(w) if w == "LINEAR" => match (before, after) {
                (Some((t0, v0)), Some((t1, v1))) => {
                    Some(v0 + (v1 - v0) * (t - t0) as f64 / (t1 - t0) as f64)
                }
                (Some((_, v)), None) | (None, Some((_, v))) => Some(*v),
                _ => None,
            },
            _ => return Err("FILL takes a number, REPEAT or LINEAR".into()),
        };
        if let Some(v) = v {
            points.insert(t, v);
        }
    }
    Ok(Series {
        label: s.label.clone(),
        points,
    })
}

fn arity(name: &str, args: &[Ast], lo: usize, hi: usize) -> Result<(), String> {
    if args.len() < lo || args.len() > hi {
        return Err(format!(
            "{name} takes {lo} to {hi} arguments, not {}",
            args.len()
        ));
    }
    Ok(())
}

fn call(name: &str, args: &[Ast], env: &dyn Env) -> Result<Val, String> {
    let arg = |i: usize| eval(&args[i], env);
    match name {
        "ABS" | "CEIL" | "FLOOR" | "LOG" | "LOG10" | "SQRT" => {
            arity(name, args, 1, 1)?;
            let f: fn(f64) -> f64 = match name {
                "ABS" => f64::abs,
                "CEIL" => f64::ceil,
                "FLOOR" => f64::floor,
                "LOG" => f64::ln,
                "LOG10" => f64::log10,
                _ => f64::sqrt,
            };
            unary(arg(0)?, |x| Some(f(x)))
        }
        "SUM" | "AVG" | "MIN" | "MAX" | "STDDEV" => {
            arity(name, args, 1, 1)?;
            match arg(0)? {
                Val::Series(s) => Ok(Val::Num(
                    reduce(name, &s.points.values().cloned().collect::<Vec<_>>())
                        .unwrap_or(f64::NAN),
                )),
                Val::Array(a) => {
                    let mut by_time: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
                    for s in &a {
                        for (t, v) in &s.points {
                            by_time.entry(*t).or_default().push(*v);
                        }
                    }
                    Ok(Val::Series(Series {
                        label: String::new(),
                        points: by_time
                            .into_iter()
                            .filter_map(|(t, xs)| reduce(name, &xs).map(|v| (t, v)))
                            .collect(),
                    }))
                }
                Val::Num(n) => Ok(Val::Num(n)),
                _ => Err(format!("{name} takes a time series or an array")),
            }
        }
        "RATE" => {
            arity(name, args, 1, 1)?;
            series_fn(arg(0)?, &|s| {
                pairwise(s, &|t0, v0, t1, v1| (v1 - v0) / (t1 - t0) as f64)
            })
        }
        "DIFF" => {
            arity(name, args, 1, 1)?;
            series_fn(arg(0)?, &|s| pairwise(s, &|_, v0, _, v1| v1 - v0))
        }
        "DIFF_TIME" => {
            arity(name, args, 1, 1)?;
            series_fn(arg(0)?, &|s| pairwise(s, &|t0, _, t1, _| (t1 - t0) as f64))
        }
        "FILL" => {
            arity(name, args, 2, 2)?;
            let how = arg(1)?;
            let grid = env.grid();
            match arg(0)? {
                Val::Series(s) => Ok(Val::Series(fill(&s, &how, &grid)?)),
                Val::Array(a) => Ok(Val::Array(
                    a.iter()
                        .map(|s| fill(s, &how, &grid))
                        .collect::<Result<_, _>>()?,
                )),
                _ => Err("FILL takes a time series".into()),
            }
        }
        "IF" => {
            arity(name, args, 2, 3)?;
            let cond = arg(0)?;
            let yes = arg(1)?;
            let no = if args.len() == 3 { Some(arg(2)?) } else { None };
            let at = |v: &Val, t: i64| -> Option<f64> {
                match v {
                    Val::Num(n) => Some(*n),
                    Val::Series(s) => s.points.get(&t).copied(),
                    _ => None,
                }
            };
            match &cond {
                Val::Num(c) => Ok(if *c != 0.0 {
                    yes
                } else {
                    no.unwrap_or(Val::Series(Series {
                        label: String::new(),
                        points: Points::new(),
                    }))
                }),
                Val::Series(c) => {
                    let label = match &yes {
                        Val::Series(s) => s.label.clone(),
                        _ => c.label.clone(),
                    };
                    let points = c
                        .points
                        .iter()
                        .filter_map(|(t, cv)| {
                            let v = if *cv != 0.0 {
                                at(&yes, *t)
                            } else {
                                no.as_ref().and_then(|n| at(n, *t))
                            };
                            v.map(|v| (*t, v))
                        })
                        .collect();
                    Ok(Val::Series(Series { label, points }))
                }
                _ => Err("IF's condition is a time series or a number".into()),
            }
        }
        "METRICS" => {
            arity(name, args, 0, 1)?;
            let filter = match args.first().map(|a| eval(a, env)).transpose()? {
                Some(Val::Str(s)) => Some(s),
                None => None,
                _ => return Err("METRICS takes a string".into()),
            };
            Ok(Val::Array(env.metrics(filter.as_deref())))
        }
        "SEARCH" => {
            arity(name, args, 2, 3)?;
            let (Val::Str(q), Val::Str(stat)) = (arg(0)?, arg(1)?) else {
                return Err("SEARCH takes a search expression and a statistic".into());
            };
            let period = match args.get(2).map(|a| eval(a, env)).transpose()? {
                Some(Val::Num(p)) => p as i64,
                None => env.period(),
                _ => return Err("SEARCH's period is a number".into()),
            };
            Ok(Val::Array(env.search(&q, &stat, period)?))
        }
        "TIME_SERIES" => {
            arity(name, args, 1, 1)?;
            match arg(0)? {
                Val::Num(n) => Ok(Val::Series(constant(n, env))),
                other => Ok(other),
            }
        }
        "PERIOD" => {
            arity(name, args, 1, 1)?;
            Ok(Val::Num(env.period() as f64))
        }
        "ANOMALY_DETECTION_BAND" => {
            arity(name, args, 1, 2)?;
            let k = match args.get(1).map(|a| eval(a, env)).transpose()? {
                Some(Val::Num(k)) => k,
                None => 2.0,
                _ => return Err("the band's width is a number".into()),
            };
            let Val::Series(s) = arg(0)? else {
                return Err("ANOMALY_DETECTION_BAND takes one time series".into());
            };
            let (lo, hi) = band(&s, k);
            Ok(Val::Array(vec![lo, hi]))
        }
        _ => Err(format!("Unknown function {name}")),
    }
}

/// The approximate anomaly band of a series: at every timestamp, the mean of
/// the series up to and including it ± `k` standard deviations (population),
/// so the band follows a drifting level without a trained model.
pub fn band(s: &Series, k: f64) -> (Series, Series) {
    let (mut lo, mut hi) = (Points::new(), Points::new());
    let (mut n, mut sum, mut sq) = (0.0, 0.0, 0.0);
    for (t, v) in &s.points {
        n += 1.0;
        sum += v;
        sq += v * v;
        let mean = sum / n;
        let sd = (sq / n - mean * mean).max(0.0).sqrt();
        lo.insert(*t, mean - k * sd);
        hi.insert(*t, mean + k * sd);
    }
    (
        Series {
            label: format!("{} (low)", s.label),
            points: lo,
        },
        Series {
            label: format!("{} (high)", s.label),
            points: hi,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    struct TestEnv(BTreeMap<String, Series>);
    impl Env for TestEnv {
        fn lookup(&self, id: &str) -> Option<Val> {
            self.0.get(id).cloned().map(Val::Series)
        }
        fn metrics(&self, filter: Option<&str>) -> Vec<Series> {
            self.0
                .iter()
                .filter(|(k, _)| filter.is_none_or(|f| k.contains(f)))
                .map(|(_, v)| v.clone())
                .collect()
        }
        fn search(&self, _: &str, _: &str, _: i64) -> Result<Vec<Series>, String> {
            Ok(vec![])
        }
        fn grid(&self) -> Vec<i64> {
            vec![0, 60, 120, 180]
        }
        fn period(&self) -> i64 {
            60
        }
    }

    fn env() -> TestEnv {
        let s = |label: &str, pts: &[(i64, f64)]| Series {
            label: label.into(),
            points: pts.iter().cloned().collect(),
        };
        TestEnv(BTreeMap::from([
            ("m1".to_string(), s("a", &[(0, 1.0), (60, 2.0), (180, 4.0)])),
            (
                "m2".to_string(),
                s("b", &[(0, 10.0), (60, 20.0), (120, 30.0)]),
            ),
        ]))
    }

    fn series(text: &str) -> Points {
        match eval(&parse(text).unwrap(), &env()).unwrap() {
            Val::Series(s) => s.points,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn arithmetic_on_shared_timestamps() {
        assert_eq!(series("m1 + m2 * 2"), Points::from([(0, 21.0), (60, 42.0)]));
        assert_eq!(
            series("(m1 + 1) ^ 2"),
            Points::from([(0, 4.0), (60, 9.0), (180, 25.0)])
        );
        assert_eq!(
            series("-m1"),
            Points::from([(0, -1.0), (60, -2.0), (180, -4.0)])
        );
    }

    #[test]
    fn functions() {
        assert_eq!(
            series("SUM(METRICS())"),
            Points::from([(0, 11.0), (60, 22.0), (120, 30.0), (180, 4.0)])
        );
        assert_eq!(series("MAX([m1, m2])")[&60], 20.0);
        assert_eq!(
            series("RATE(m2)"),
            Points::from([(60, 10.0 / 60.0), (120, 10.0 / 60.0)])
        );
        assert_eq!(series("DIFF(m1)"), Points::from([(60, 1.0), (180, 2.0)]));
        assert_eq!(series("FILL(m1, 0)")[&120], 0.0);
        assert_eq!(series("FILL(m1, REPEAT)")[&120], 2.0);
        assert_eq!(series("FILL(m1, LINEAR)")[&120], 3.0);
        assert_eq!(
            series("IF(m2 > 15, m2, 0)"),
            Points::from([(0, 0.0), (60, 20.0), (120, 30.0)])
        );
        assert_eq!(series("m1 / 0"), Points::new());
        match eval(&parse("AVG(m1) + STDDEV(m2)").unwrap(), &env()).unwrap() {
            Val::Num(n) => assert!((n - (7.0 / 3.0 + (200.0f64 / 3.0).sqrt())).abs() < 1e-9),
            other => panic!("{other:?}"),
        }
        assert!(
            matches!(eval(&parse("ANOMALY_DETECTION_BAND(m2, 2)").unwrap(), &env()).unwrap(), Val::Array(a) if a.len() == 2)
        );
    }

    #[test]
    fn errors() {
        assert!(parse("m1 +").is_err());
        assert!(parse("SUM(m1").is_err());
        assert!(eval(&parse("NOPE(m1)").unwrap(), &env()).is_err());
        assert!(eval(&parse("m9").unwrap(), &env()).is_err());
        assert!(parse(&format!("{}m1{}", "(".repeat(500), ")".repeat(500))).is_err());
        assert!(parse(&"-".repeat(500)).is_err());
        assert!(parse(&vec!["m1"; 400].join(" + ")).is_err());
    }
}
