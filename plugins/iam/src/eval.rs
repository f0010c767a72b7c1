//! Policy evaluation, as IAM's policy simulator does it: statements with
//! Allow/Deny, Action/NotAction, Resource/NotResource with `*` and `?`
//! wildcards, policy variables (`${aws:username}`) and condition operators
//! (String*, Numeric*, Date*, Bool, Arn*, IpAddress, Null, with `...IfExists`
//! and the `ForAnyValue:` / `ForAllValues:` set qualifiers).
//!
//! Pure: no host calls, unit-tested natively.

use std::collections::BTreeMap;

use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// One statement of a policy document.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub effect: Effect,
    /// `Action`, or `NotAction` when `not_action`.
    pub actions: Vec<String>,
    pub not_action: bool,
    /// `Resource` / `NotResource`; empty with `any_resource` for trust policies.
    pub resources: Vec<String>,
    pub not_resource: bool,
    pub any_resource: bool,
    pub conditions: Vec<Condition>,
    /// Byte range of the statement in the document (for MatchedStatements).
    pub span: (usize, usize),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub operator: String,
    pub key: String,
    pub values: Vec<String>,
}

/// Which kind of policy a document is, for validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    /// Identity-based (managed, inline, boundary): needs Resource.
    Identity,
    /// A role's trust policy: needs Principal, no Resource.
    Trust,
    /// A resource policy: needs Principal and Resource.
    Resource,
}

/// Parses and checks a policy document; the error is the message of
/// `MalformedPolicyDocument`.
pub fn parse(document: &str, kind: PolicyKind) -> Result<Vec<Statement>, String> {
    let value: Value = serde_json::from_str(document)
        .map_err(|_| "This policy contains invalid Json".to_string())?;
    let object = value
        .as_object()
        .ok_or_else(|| "This policy contains invalid Json".to_string())?;
    for key in object.keys() {
        if !matches!(key.as_str(), "Version" | "Statement" | "Id") {
            return Err(format!("Syntax errors in policy. Unknown field {key}"));
        }
    }
    if let Some(version) = object.get("Version") {
        match version.as_str() {
            Some("2012-10-17") | Some("2008-10-17") => {}
            _ => return Err("The policy must contain a valid version string".to_string()),
        }
    }
    let statements = match object.get("Statement") {
        Some(Value::Array(list)) => list.clone(),
        Some(s @ Value::Object(_)) => vec![s.clone()],
        _ => return Err("Syntax errors in policy.".to_string()),
    };
    if statements.is_empty() {
        return Err("Syntax errors in policy.".to_string());
    }
    let sids: Vec<&str> = statements
        .iter()
        .filter_map(|s| s.get("Sid").and_then(Value::as_str))
        .collect();
    if sids.iter().enumerate().any(|(i, a)| sids[..i].contains(a)) {
        return Err("Statement IDs (SID) in a single policy must be unique.".to_string());
    }
    let spans = statement_spans(document, statements.len());
    statements
        .iter()
        .enumerate()
        .map(|(i, s)| parse_statement(s, kind, spans.get(i).copied().unwrap_or((0, 0))))
        .collect()
}

fn parse_statement(
    value: &Value,
    kind: PolicyKind,
    span: (usize, usize),
) -> Result<Statement, String> {
    let object = value
        .as_object()
        .ok_or_else(|| "Syntax errors in policy.".to_string())?;
    for key in object.keys() {
        if !matches!(
            key.as_str(),
            "Sid"
                | "Effect"
                | "Action"
                | "NotAction"
                | "Resource"
                | "NotResource"
                | "Principal"
                | "NotPrincipal"
                | "Condition"
        ) {
            return Err(format!("Syntax errors in policy. Unknown field {key}"));
        }
    }
    let effect = match object.get("Effect").and_then(Value::as_str) {
        Some("Allow") => Effect::Allow,
        Some("Deny") => Effect::Deny,
        _ => return Err("Policy statement must contain a valid Effect.".to_string()),
    };
    let (actions, not_action) = match (object.get("Action"), object.get("NotAction")) {
        (Some(a), None) => (strings(a)?, false),
        (None, Some(a)) => (strings(a)?, true),
        _ => return Err("Policy statement must contain actions.".to_string()),
    };
    for action in &actions {
        if action != "*" && !action.contains(':') {
            return Err(format!(
                "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc. ({action})"
            ));
        }
    }
    let has_principal = object.contains_key("Principal") || object.contains_key("NotPrincipal");
    let (resources, not_resource) = match (object.get("Resource"), object.get("NotResource")) {
        (Some(r), None) => (strings(r)?, false),
        (None, Some(r)) => (strings(r)?, true),
        (None, None) => (Vec::new(), false),
        _ => return Err("Syntax errors in policy.".to_string()),
    };
    let no_resource = resources.is_empty() && !not_resource;
    for r in &resources {
        if r != "*" && !r.starts_with("arn:") {
            return Err(format!("Resource {r} must be in ARN format or \"*\"."));
        }
    }
    match kind {
        PolicyKind::Identity => {
            if has_principal {
                return Err("Policy document should not specify a principal.".to_string());
            }
            if no_resource {
                return Err("Policy statement must contain resources.".to_string());
            }
        }
        PolicyKind::Trust => {
            if !has_principal {
                return Err("Missing required field Principal".to_string());
            }
            if !no_resource {
                return Err("Has prohibited field Resource".to_string());
            }
        }
        PolicyKind::Resource => {
            if !has_principal {
                return Err("Missing required field Principal".to_string());
            }
        }
    }
    for field in ["Principal", "NotPrincipal"] {
        if let Some(p) = object.get(field) {
            check_principal(p)?;
        }
    }
    let conditions = match object.get("Condition") {
        None => Vec::new(),
        Some(Value::Object(ops)) => {
            let mut out = Vec::new();
            for (operator, block) in ops {
                let block = block
                    .as_object()
                    .ok_or_else(|| "Syntax errors in policy.".to_string())?;
                for (key, values) in block {
                    out.push(Condition {
                        operator: operator.clone(),
                        key: key.clone(),
                        values: strings(values)?,
                    });
                }
            }
            out
        }
        Some(_) => return Err("Syntax errors in policy.".to_string()),
    };
    Ok(Statement {
        effect,
        actions,
        not_action,
        resources,
        not_resource,
        any_resource: no_resource,
        conditions,
        span,
    })
}

/// `"*"` or `{"AWS"|"Service"|"Federated"|"CanonicalUser": value(s)}`; AWS
/// principals are `*`, account ids or IAM/STS ARNs.
fn check_principal(principal: &Value) -> Result<(), String> {
    let invalid =
        |kind: &str, value: &str| format!("Invalid principal in policy: \"{kind}\":\"{value}\"");
    match principal {
        Value::String(s) if s == "*" => Ok(()),
        Value::Object(map) if !map.is_empty() => {
            for (kind, values) in map {
                let values = strings(values)?;
                for v in &values {
                    let ok = match kind.as_str() {
                        "AWS" => {
                            v == "*"
                                || (v.len() == 12 && v.chars().all(|c| c.is_ascii_digit()))
                                || v.starts_with("arn:aws:iam::")
                                || v.starts_with("arn:aws:sts::")
                                || v.starts_with("arn:aws-cn:iam::")
                                || v.starts_with("arn:aws-us-gov:iam::")
                        }
                        "Service" | "Federated" | "CanonicalUser" => !v.trim().is_empty(),
                        _ => false,
                    };
                    if !ok {
                        return Err(invalid(kind, v));
                    }
                }
            }
            Ok(())
        }
        other => Err(invalid("", &other.to_string())),
    }
}

/// A string, number or boolean, or a list of them.
fn strings(value: &Value) -> Result<Vec<String>, String> {
    fn one(v: &Value) -> Result<String, String> {
        match v {
            Value::String(s) => Ok(s.clone()),
            Value::Bool(b) => Ok(b.to_string()),
            Value::Number(n) => Ok(n.to_string()),
            _ => Err("Syntax errors in policy.".to_string()),
        }
    }
    match value {
        Value::Array(list) => list.iter().map(one).collect(),
        v => Ok(vec![one(v)?]),
    }
}

/// Byte ranges of the top-level statement objects, found by scanning the
/// text (brace depth outside strings) after `"Statement"`.
fn statement_spans(document: &str, count: usize) -> Vec<(usize, usize)> {
    let Some(at) = document.find("\"Statement\"") else {
        return Vec::new();
    };
    let bytes = document.as_bytes();
    let mut spans = Vec::new();
    let mut depth = 0i32;
    let mut in_string = false;
    let mut escaped = false;
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate().skip(at + 11) {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' => {
                if depth == 0 {
                    start = i;
                }
                depth += 1;
            }
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    spans.push((start, i + 1));
                    if spans.len() == count {
                        break;
                    }
                }
                if depth < 0 {
                    break;
                }
            }
            b']' if depth == 0 => break,
            _ => {}
        }
    }
    spans
}

/// 1-based line and column of a byte offset.
pub fn position(document: &str, offset: usize) -> (i64, i64) {
    let before = &document[..offset.min(document.len())];
    let line = before.matches('\n').count() as i64 + 1;
    let column = before.len() - before.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
    (line, column as i64)
}

/// `*` matches any run of characters, `?` any one character.
pub fn glob(pattern: &str, text: &str, ignore_case: bool) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = if ignore_case {
        (
            pattern.to_lowercase().chars().collect(),
            text.to_lowercase().chars().collect(),
        )
    } else {
        (pattern.chars().collect(), text.chars().collect())
    };
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// The request being evaluated: an action on a resource with context keys
/// (names compared without case).
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub action: String,
    pub resource: String,
    pub context: BTreeMap<String, Vec<String>>,
}

impl Request {
    pub fn new(action: &str, resource: &str) -> Self {
        Request {
            action: action.to_string(),
            resource: resource.to_string(),
            context: BTreeMap::new(),
        }
    }

    pub fn with(mut self, key: &str, values: &[&str]) -> Self {
        self.context.insert(
            key.to_lowercase(),
            values.iter().map(|v| v.to_string()).collect(),
        );
        self
    }

    fn get(&self, key: &str) -> Option<&Vec<String>> {
        self.context.get(&key.to_lowercase())
    }

    /// `${aws:username}` and friends replaced from the context.
    fn substitute(&self, text: &str) -> String {
        if !text.contains("${") {
            return text.to_string();
        }
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let Some(end) = rest[start..].find('}') else {
                out.push_str(&rest[start..]);
                return out;
            };
            let name = &rest[start + 2..start + end];
            let value = match name {
                "*" => "*".to_string(),
                "?" => "?".to_string(),
                "$" => "$".to_string(),
                _ => self
                    .get(name)
                    .and_then(|v| v.first().cloned())
                    .unwrap_or_else(|| format!("${{{name}}}")),
            };
            out.push_str(&value);
            rest = &rest[start + end + 1..];
        }
        out.push_str(rest);
        out
    }
}

/// What one statement says about a request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StatementOutcome {
    /// Action and resource match and the conditions hold.
    pub applies: bool,
    /// Context keys the conditions needed and the request did not give.
    pub missing: Vec<String>,
}

pub fn statement_applies(s: &Statement, request: &Request) -> StatementOutcome {
    let action_listed = s.actions.iter().any(|a| glob(a, &request.action, true));
    if action_listed == s.not_action {
        return StatementOutcome::default();
    }
    if !s.any_resource {
        let listed = s
            .resources
            .iter()
            .any(|r| glob(&request.substitute(r), &request.resource, false));
        if listed == s.not_resource {
            return StatementOutcome::default();
        }
    }
    let mut missing = Vec::new();
    let mut holds = true;
    for c in &s.conditions {
        match condition_holds(c, request) {
            Some(true) => {}
            Some(false) => holds = false,
            None => {
                holds = false;
                missing.push(c.key.clone());
            }
        }
    }
    StatementOutcome {
        applies: holds,
        missing,
    }
}

/// Whether a condition holds; `None` when its key is missing from the context
/// and the operator cannot decide without it.
pub fn condition_holds(c: &Condition, request: &Request) -> Option<bool> {
    let (set, rest) = if let Some(r) = c.operator.strip_prefix("ForAnyValue:") {
        (Some(true), r)
    } else if let Some(r) = c.operator.strip_prefix("ForAllValues:") {
        (Some(false), r)
    } else {
        (None, c.operator.as_str())
    };
    let (base, if_exists) = match rest.strip_suffix("IfExists") {
        Some(b) => (b, true),
        None => (rest, false),
    };
    let present = request.get(&c.key);
    if base == "Null" {
        let want_missing = c.values.iter().any(|v| v.eq_ignore_ascii_case("true"));
        let missing = present.is_none_or(|v| v.is_empty());
        return Some(want_missing == missing);
    }
    let negated = base.contains("Not");
    let Some(actual) = present.filter(|v| !v.is_empty()) else {
        return match set {
            Some(false) => Some(true),
            Some(true) => Some(false),
            None if if_exists || negated => Some(true),
            None => None,
        };
    };
    let positive = base.replace("Not", "");
    let policy_values: Vec<String> = c.values.iter().map(|v| request.substitute(v)).collect();
    let matches_one = |value: &str| policy_values.iter().any(|p| compare(&positive, p, value));
    let result = match set {
        Some(true) => actual.iter().any(|v| matches_one(v)),
        Some(false) => actual.iter().all(|v| matches_one(v)),
        None => actual.iter().any(|v| matches_one(v)),
    };
    Some(if negated { !result } else { result })
}

/// One comparison of a (non-negated) operator: policy value against context value.
fn compare(operator: &str, policy: &str, value: &str) -> bool {
    match operator {
        "StringEquals" => policy == value,
        "StringEqualsIgnoreCase" => policy.eq_ignore_ascii_case(value),
        "StringLike" => glob(policy, value, false),
        "ArnEquals" | "ArnLike" => glob(policy, value, false),
        "Bool" => policy.eq_ignore_ascii_case(value),
        "BinaryEquals" => policy == value,
        "NumericEquals"
        | "NumericLessThan"
        | "NumericLessThanEquals"
        | "NumericGreaterThan"
        | "NumericGreaterThanEquals" => match (policy.parse::<f64>(), value.parse::<f64>()) {
            (Ok(p), Ok(v)) => ordered(operator.trim_start_matches("Numeric"), v, p),
            _ => false,
        },
        "DateEquals"
        | "DateLessThan"
        | "DateLessThanEquals"
        | "DateGreaterThan"
        | "DateGreaterThanEquals" => match (date(policy), date(value)) {
            (Some(p), Some(v)) => ordered(operator.trim_start_matches("Date"), v, p),
            _ => false,
        },
        "IpAddress" => ip_in_cidr(value, policy),
        _ => false,
    }
}

fn ordered(relation: &str, value: f64, policy: f64) -> bool {
    match relation {
        "Equals" => value == policy,
        "LessThan" => value < policy,
        "LessThanEquals" => value <= policy,
        "GreaterThan" => value > policy,
        "GreaterThanEquals" => value >= policy,
        _ => false,
    }
}

fn date(text: &str) -> Option<f64> {
    text.parse::<f64>()
        .ok()
        .or_else(|| ministack_sdk::time::parse_iso8601(text))
}

fn ipv4(text: &str) -> Option<u32> {
    let parts: Vec<u8> = text
        .split('.')
        .map(|p| p.parse::<u8>())
        .collect::<Result<_, _>>()
        .ok()?;
    (parts.len() == 4).then(|| u32::from_be_bytes([parts[0], parts[1], parts[2], parts[3]]))
}

/// IPv4 address in a CIDR block (or equal to a bare address).
pub fn ip_in_cidr(ip: &str, cidr: &str) -> bool {
    let (net, bits) = match cidr.split_once('/') {
        Some((n, b)) => (n, b.parse::<u32>().unwrap_or(33)),
        None => (cidr, 32),
    };
    match (ipv4(ip), ipv4(net)) {
        (Some(ip), Some(net)) if bits <= 32 => {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            ip & mask == net & mask
        }
        _ => ip == cidr,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    ExplicitDeny,
    ImplicitDeny,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allowed => "allowed",
            Decision::ExplicitDeny => "explicitDeny",
            Decision::ImplicitDeny => "implicitDeny",
        }
    }
}

/// A policy taking part in an evaluation.
#[derive(Debug, Clone)]
pub struct Policy {
    pub id: String,
    /// The user, group or role an inline policy belongs to ("" otherwise).
    pub owner: String,
    pub kind: String,
    pub document: String,
    pub statements: Vec<Statement>,
}

/// The statements that decided, with their policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Matched {
    pub policy: usize,
    pub statement: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub decision: Decision,
    pub matched: Vec<Matched>,
    pub missing: Vec<String>,
    /// `Some(allowed)` when permissions boundaries took part.
    pub boundary_allows: Option<bool>,
}

/// Evaluates identity (and resource) policies, then permissions boundaries:
/// an explicit Deny anywhere wins, else an Allow is needed (in the boundary
/// too, when there is one).
pub fn evaluate(policies: &[Policy], boundaries: &[Policy], request: &Request) -> Evaluation {
    let mut allows = Vec::new();
    let mut denies = Vec::new();
    let mut missing = Vec::new();
    for (pi, policy) in policies.iter().enumerate() {
        for (si, s) in policy.statements.iter().enumerate() {
            let outcome = statement_applies(s, request);
            for key in outcome.missing {
                if !missing.contains(&key) {
                    missing.push(key);
                }
            }
            if outcome.applies {
                let m = Matched {
                    policy: pi,
                    statement: si,
                };
                match s.effect {
                    Effect::Allow => allows.push(m),
                    Effect::Deny => denies.push(m),
                }
            }
        }
    }
    let boundary_allows = (!boundaries.is_empty()).then(|| {
        let mut allowed = false;
        for b in boundaries {
            for s in &b.statements {
                if statement_applies(s, request).applies {
                    if s.effect == Effect::Deny {
                        return false;
                    }
                    allowed = true;
                }
            }
        }
        allowed
    });
    let (decision, matched) = if !denies.is_empty() {
        (Decision::ExplicitDeny, denies)
    } else if !allows.is_empty() && boundary_allows != Some(false) {
        (Decision::Allowed, allows)
    } else {
        (Decision::ImplicitDeny, Vec::new())
    };
    Evaluation {
        decision,
        matched,
        missing: if decision == Decision::Allowed {
            Vec::new()
        } else {
            missing
        },
        boundary_allows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(doc: &str) -> Policy {
        Policy {
            id: "p".into(),
            owner: String::new(),
            kind: "user".into(),
            document: doc.into(),
            statements: parse(doc, PolicyKind::Identity).unwrap(),
        }
    }

    #[test]
    fn wildcards() {
        assert!(glob("s3:Get*", "s3:GetObject", false));
        assert!(glob("s3:get*", "S3:GetObject", true));
        assert!(!glob("s3:Get*", "s3:PutObject", false));
        assert!(glob("arn:aws:s3:::b/*", "arn:aws:s3:::b/a/c", false));
        assert!(glob("a?c", "abc", false));
        assert!(!glob("a?c", "ac", false));
        assert!(glob("*", "", false));
        assert!(glob("*a*b*", "xxaxxbxx", false));
    }

    #[test]
    fn allow_deny_and_implicit() {
        let p = policy(
            r#"{"Version":"2012-10-17","Statement":[
                {"Effect":"Allow","Action":"s3:*","Resource":"*"},
                {"Effect":"Deny","Action":"s3:DeleteBucket","Resource":"arn:aws:s3:::prod"}]}"#,
        );
        let e = evaluate(
            std::slice::from_ref(&p),
            &[],
            &Request::new("s3:GetObject", "arn:aws:s3:::x/y"),
        );
        assert_eq!(e.decision, Decision::Allowed);
        assert_eq!(
            e.matched,
            vec![Matched {
                policy: 0,
                statement: 0
            }]
        );
        let e = evaluate(
            std::slice::from_ref(&p),
            &[],
            &Request::new("s3:DeleteBucket", "arn:aws:s3:::prod"),
        );
        assert_eq!(e.decision, Decision::ExplicitDeny);
        let e = evaluate(&[p], &[], &Request::new("sqs:SendMessage", "*"));
        assert_eq!(e.decision, Decision::ImplicitDeny);
    }

    #[test]
    fn not_action_and_not_resource() {
        let p = policy(
            r#"{"Statement":{"Effect":"Allow","NotAction":"iam:*","NotResource":"arn:aws:s3:::secret"}}"#,
        );
        assert_eq!(
            evaluate(
                std::slice::from_ref(&p),
                &[],
                &Request::new("s3:GetObject", "arn:aws:s3:::open")
            )
            .decision,
            Decision::Allowed
        );
        assert_eq!(
            evaluate(
                std::slice::from_ref(&p),
                &[],
                &Request::new("iam:CreateUser", "*")
            )
            .decision,
            Decision::ImplicitDeny
        );
        assert_eq!(
            evaluate(
                &[p],
                &[],
                &Request::new("s3:GetObject", "arn:aws:s3:::secret")
            )
            .decision,
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn conditions() {
        let p = policy(
            r#"{"Statement":[{"Effect":"Allow","Action":"ec2:*","Resource":"*",
               "Condition":{"StringEquals":{"aws:RequestedRegion":["us-east-1","eu-west-1"]},
                            "IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}"#,
        );
        let ok = Request::new("ec2:RunInstances", "*")
            .with("aws:RequestedRegion", &["eu-west-1"])
            .with("aws:SourceIp", &["10.1.2.3"]);
        assert_eq!(
            evaluate(std::slice::from_ref(&p), &[], &ok).decision,
            Decision::Allowed
        );
        let wrong_ip = Request::new("ec2:RunInstances", "*")
            .with("aws:RequestedRegion", &["eu-west-1"])
            .with("aws:SourceIp", &["192.168.0.1"]);
        assert_eq!(
            evaluate(std::slice::from_ref(&p), &[], &wrong_ip).decision,
            Decision::ImplicitDeny
        );
        let e = evaluate(&[p], &[], &Request::new("ec2:RunInstances", "*"));
        assert_eq!(e.decision, Decision::ImplicitDeny);
        assert_eq!(e.missing, vec!["aws:RequestedRegion", "aws:SourceIp"]);
    }

    #[test]
    fn condition_operators() {
        let c = |op: &str, vals: &[&str]| Condition {
            operator: op.into(),
            key: "k".into(),
            values: vals.iter().map(|v| v.to_string()).collect(),
        };
        let r = Request::new("a:b", "*").with("k", &["5"]);
        assert_eq!(
            condition_holds(&c("NumericLessThan", &["10"]), &r),
            Some(true)
        );
        assert_eq!(
            condition_holds(&c("NumericGreaterThan", &["10"]), &r),
            Some(false)
        );
        assert_eq!(
            condition_holds(&c("StringNotEquals", &["5"]), &r),
            Some(false)
        );
        assert_eq!(condition_holds(&c("StringLike", &["*"]), &r), Some(true));
        let empty = Request::new("a:b", "*");
        assert_eq!(condition_holds(&c("Null", &["true"]), &empty), Some(true));
        assert_eq!(condition_holds(&c("Null", &["false"]), &r), Some(true));
        assert_eq!(
            condition_holds(&c("StringEqualsIfExists", &["x"]), &empty),
            Some(true)
        );
        assert_eq!(condition_holds(&c("StringEquals", &["x"]), &empty), None);
        let tags = Request::new("a:b", "*").with("k", &["a", "b"]);
        assert_eq!(
            condition_holds(&c("ForAllValues:StringEquals", &["a", "b", "c"]), &tags),
            Some(true)
        );
        assert_eq!(
            condition_holds(&c("ForAllValues:StringEquals", &["a"]), &tags),
            Some(false)
        );
        assert_eq!(
            condition_holds(&c("ForAnyValue:StringEquals", &["b"]), &tags),
            Some(true)
        );
        let d = Request::new("a:b", "*").with("k", &["2020-01-02T00:00:00Z"]);
        assert_eq!(
            condition_holds(&c("DateGreaterThan", &["2020-01-01T00:00:00Z"]), &d),
            Some(true)
        );
        assert_eq!(
            condition_holds(
                &c("Bool", &["true"]),
                &Request::new("a:b", "*").with("k", &["TRUE"])
            ),
            Some(true)
        );
    }

    #[test]
    fn policy_variables() {
        let p = policy(
            r#"{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::home/${aws:username}/*"}}"#,
        );
        let r =
            Request::new("s3:GetObject", "arn:aws:s3:::home/bob/f").with("aws:username", &["bob"]);
        assert_eq!(
            evaluate(std::slice::from_ref(&p), &[], &r).decision,
            Decision::Allowed
        );
        let r =
            Request::new("s3:GetObject", "arn:aws:s3:::home/al/f").with("aws:username", &["bob"]);
        assert_eq!(evaluate(&[p], &[], &r).decision, Decision::ImplicitDeny);
    }

    #[test]
    fn boundaries_limit() {
        let p = policy(r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#);
        let b = policy(r#"{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#);
        let e = evaluate(
            std::slice::from_ref(&p),
            std::slice::from_ref(&b),
            &Request::new("s3:GetObject", "*"),
        );
        assert_eq!(
            (e.decision, e.boundary_allows),
            (Decision::Allowed, Some(true))
        );
        let e = evaluate(&[p], &[b], &Request::new("iam:CreateUser", "*"));
        assert_eq!(
            (e.decision, e.boundary_allows),
            (Decision::ImplicitDeny, Some(false))
        );
    }

    #[test]
    fn malformed_documents() {
        assert!(parse("{not json", PolicyKind::Identity).is_err());
        assert!(parse(r#"{"Version":"2012-10-17"}"#, PolicyKind::Identity).is_err());
        assert!(
            parse(
                r#"{"Statement":[{"Effect":"Maybe","Action":"s3:*","Resource":"*"}]}"#,
                PolicyKind::Identity
            )
            .is_err()
        );
        assert!(
            parse(
                r#"{"Statement":[{"Effect":"Allow","Action":"s3:*"}]}"#,
                PolicyKind::Identity
            )
            .is_err()
        );
        assert!(
            parse(
                r#"{"Statement":[{"Effect":"Allow","Action":"GetObject","Resource":"*"}]}"#,
                PolicyKind::Identity
            )
            .is_err()
        );
        assert!(parse(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#, PolicyKind::Trust).is_ok());
        assert!(
            parse(
                r#"{"Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]}"#,
                PolicyKind::Trust
            )
            .is_err()
        );
    }

    #[test]
    fn statement_positions() {
        let doc = "{\n  \"Statement\": [\n    {\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\"}\n  ]\n}";
        let s = parse(doc, PolicyKind::Identity).unwrap();
        assert_eq!(position(doc, s[0].span.0), (3, 5));
    }
}
