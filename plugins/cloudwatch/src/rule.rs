//! The alarm rule language of composite alarms:
//! `ALARM(name)`, `OK(name)`, `INSUFFICIENT_DATA(name)` (name bare, quoted
//! or an alarm ARN), `TRUE`, `FALSE`, `AND`, `OR`, `NOT` and parentheses.

#[derive(Clone, Debug, PartialEq)]
pub enum Rule {
    State(String, String),
    Const(bool),
    And(Box<Rule>, Box<Rule>),
    Or(Box<Rule>, Box<Rule>),
    Not(Box<Rule>),
}

struct P<'a> {
    s: &'a str,
    i: usize,
    /// Nesting depth, bounded so a pathological rule cannot exhaust the stack.
    depth: usize,
}

impl P<'_> {
    fn ws(&mut self) {
        while self.s[self.i..].starts_with(char::is_whitespace) {
            self.i += self.s[self.i..].chars().next().map_or(1, char::len_utf8);
        }
    }
    fn word(&mut self) -> String {
        self.ws();
        let rest = &self.s[self.i..];
        let n = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        self.i += n;
        rest[..n].to_string()
    }
    fn eat(&mut self, c: char) -> bool {
        self.ws();
        if self.s[self.i..].starts_with(c) {
            self.i += c.len_utf8();
            true
        } else {
            false
        }
    }
    fn or(&mut self) -> Result<Rule, String> {
        self.depth += 1;
        if self.depth > 64 {
            return Err("the rule is nested too deeply".into());
        }
        let out = self.or_inner();
        self.depth -= 1;
        out
    }

    fn or_inner(&mut self) -> Result<Rule, String> {
        let mut l = self.and()?;
        loop {
            let save = self.i;
            if self.word() == "OR" {
                l = Rule::Or(Box::new(l), Box::new(self.and()?));
            } else {
                self.i = save;
                return Ok(l);
            }
        }
    }
    fn and(&mut self) -> Result<Rule, String> {
        let mut l = self.not()?;
        loop {
            let save = self.i;
            if self.word() == "AND" {
                l = Rule::And(Box::new(l), Box::new(self.not()?));
            } else {
                self.i = save;
                return Ok(l);
            }
        }
    }
    fn not(&mut self) -> Result<Rule, String> {
        let save = self.i;
        if self.word() == "NOT" {
            self.depth += 1;
            if self.depth > 64 {
                return Err("the rule is nested too deeply".into());
            }
            let inner = self.not();
            self.depth -= 1;
            return Ok(Rule::Not(Box::new(inner?)));
        }
        self.i = save;
        self.atom()
    }
    fn atom(&mut self) -> Result<Rule, String> {
        if self.eat('(') {
            let r = self.or()?;
            if !self.eat(')') {
                return Err("expected ')'".into());
            }
            return Ok(r);
        }
        let w = self.word();
        match w.as_str() {
            "TRUE" => Ok(Rule::Const(true)),
            "FALSE" => Ok(Rule::Const(false)),
            "ALARM" | "OK" | "INSUFFICIENT_DATA" => {
                if !self.eat('(') {
                    return Err(format!("expected '(' after {w}"));
                }
                self.ws();
                let rest = &self.s[self.i..];
                let name = if let Some(q) = rest.strip_prefix('"') {
                    let end = q.find('"').ok_or("unterminated alarm name")?;
                    self.i += end + 2;
                    q[..end].to_string()
                } else {
                    let end = rest.find(')').ok_or("expected ')'")?;
                    self.i += end;
                    rest[..end].trim().to_string()
                };
                if !self.eat(')') {
                    return Err("expected ')'".into());
                }
                // An ARN names the alarm by its last part.
                let name = match name.strip_prefix("arn:") {
                    Some(_) => name.rsplit(":alarm:").next().unwrap_or(&name).to_string(),
                    None => name,
                };
                if name.is_empty() {
                    return Err("an alarm name is empty".into());
                }
                Ok(Rule::State(w, name))
            }
            "" => Err(format!("unexpected input at offset {}", self.i)),
            _ => Err(format!("unknown keyword {w}")),
        }
    }
}

pub fn parse(s: &str) -> Result<Rule, String> {
    let mut p = P { s, i: 0, depth: 0 };
    let r = p.or()?;
    p.ws();
    if p.i != s.len() {
        return Err(format!("unexpected input at offset {}", p.i));
    }
    Ok(r)
}

impl Rule {
    /// `state_of(name)` is the named alarm's state (`None`: no such alarm,
    /// which matches no state).
    pub fn eval(&self, state_of: &dyn Fn(&str) -> Option<String>) -> bool {
        match self {
            Rule::State(want, name) => state_of(name).as_deref() == Some(want.as_str()),
            Rule::Const(b) => *b,
            Rule::And(a, b) => a.eval(state_of) && b.eval(state_of),
            Rule::Or(a, b) => a.eval(state_of) || b.eval(state_of),
            Rule::Not(a) => !a.eval(state_of),
        }
    }

    pub fn alarm_names(&self, out: &mut Vec<String>) {
        match self {
            Rule::State(_, n) => out.push(n.clone()),
            Rule::Const(_) => {}
            Rule::And(a, b) | Rule::Or(a, b) => {
                a.alarm_names(out);
                b.alarm_names(out);
            }
            Rule::Not(a) => a.alarm_names(out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_evaluates() {
        let r = parse(r#"ALARM("cpu high") AND (OK(disk) OR NOT ALARM(arn:aws:cloudwatch:us-east-1:000000000000:alarm:mem))"#).unwrap();
        let states = |n: &str| match n {
            "cpu high" => Some("ALARM".to_string()),
            "disk" => Some("ALARM".to_string()),
            "mem" => Some("OK".to_string()),
            _ => None,
        };
        assert!(r.eval(&states));
        let mut names = vec![];
        r.alarm_names(&mut names);
        assert_eq!(names, ["cpu high", "disk", "mem"]);
        assert!(parse("ALARM(x) AND").is_err());
        assert!(parse("MAYBE(x)").is_err());
        assert!(parse("TRUE").unwrap().eval(&|_| None));
        assert!(parse(&format!("{}TRUE{}", "(".repeat(300), ")".repeat(300))).is_err());
        assert!(parse(&format!("{}TRUE", "NOT ".repeat(300))).is_err());
    }
}
