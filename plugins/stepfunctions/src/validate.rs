//! States Language checks with AWS's diagnostic codes
//! (`INVALID_JSON_DESCRIPTION`, `SCHEMA_VALIDATION_FAILED`,
//! `MISSING_TRANSITION_TARGET`, `NO_TERMINAL_STATE`,
//! `UNREACHABLE_STATE`), each with a location like `/States/A/Next`.

use serde_json::Value;

use crate::intrinsics;

#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    pub code: &'static str,
    pub message: String,
    pub location: String,
    pub warning: bool,
}

const TYPES: &[&str] = &[
    "Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map",
];

/// Every problem of `definition` (errors first, then warnings).
pub fn check(definition: &str) -> Vec<Diagnostic> {
    let v: Value = match serde_json::from_str(definition) {
        Ok(v) => v,
        Err(e) => {
            return vec![Diagnostic {
                code: "INVALID_JSON_DESCRIPTION",
                message: format!("Invalid JSON: {e}"),
                location: String::new(),
                warning: false,
            }];
        }
    };
    let mut out = Vec::new();
    check_machine(&v, "", &mut out);
    out.sort_by_key(|d| d.warning);
    out
}

fn err(out: &mut Vec<Diagnostic>, code: &'static str, message: String, location: String) {
    out.push(Diagnostic {
        code,
        message,
        location,
        warning: false,
    });
}

fn check_machine(v: &Value, at: &str, out: &mut Vec<Diagnostic>) {
    let Some(obj) = v.as_object() else {
        err(
            out,
            "SCHEMA_VALIDATION_FAILED",
            "The state machine must be an object".into(),
            at.into(),
        );
        return;
    };
    let states = match obj.get("States").and_then(Value::as_object) {
        Some(s) => s,
        None => {
            err(
                out,
                "SCHEMA_VALIDATION_FAILED",
                "These fields are required: [States]".into(),
                at.into(),
            );
            return;
        }
    };
    let start = match obj.get("StartAt").and_then(Value::as_str) {
        Some(s) => s,
        None => {
            err(
                out,
                "SCHEMA_VALIDATION_FAILED",
                "These fields are required: [StartAt]".into(),
                at.into(),
            );
            return;
        }
    };
    if !states.contains_key(start) {
        err(
            out,
            "MISSING_TRANSITION_TARGET",
            format!("Missing 'Next' target: {start}"),
            format!("{at}/StartAt"),
        );
    }
    if let Some(ql) = obj.get("QueryLanguage").and_then(Value::as_str)
        && ql != "JSONata"
        && ql != "JSONPath"
    {
        err(
            out,
            "SCHEMA_VALIDATION_FAILED",
            format!("Value is not a valid QueryLanguage: {ql}"),
            format!("{at}/QueryLanguage"),
        );
    }
    let mut terminal = false;
    let mut targets: Vec<&str> = vec![start];
    for (name, s) in states {
        let loc = format!("{at}/States/{name}");
        let Some(so) = s.as_object() else {
            err(
                out,
                "SCHEMA_VALIDATION_FAILED",
                "A state must be an object".into(),
                loc,
            );
            continue;
        };
        let ty = match so.get("Type").and_then(Value::as_str) {
            Some(t) if TYPES.contains(&t) => t,
            Some(t) => {
                err(
                    out,
                    "SCHEMA_VALIDATION_FAILED",
                    format!("Value is not a valid state type: {t}"),
                    format!("{loc}/Type"),
                );
                continue;
            }
            None => {
                err(
                    out,
                    "SCHEMA_VALIDATION_FAILED",
                    "These fields are required: [Type]".into(),
                    loc,
                );
                continue;
            }
        };
        let next = so.get("Next").and_then(Value::as_str);
        let end = so.get("End").and_then(Value::as_bool) == Some(true);
        match ty {
            "Succeed" | "Fail" => terminal = true,
            "Choice" => {
                match so.get("Choices").and_then(Value::as_array) {
                    Some(c) if !c.is_empty() => {
                        for (i, rule) in c.iter().enumerate() {
                            match rule.get("Next").and_then(Value::as_str) {
                                Some(n) => targets.push(n),
                                None => err(
                                    out,
                                    "SCHEMA_VALIDATION_FAILED",
                                    "These fields are required: [Next]".into(),
                                    format!("{loc}/Choices[{i}]"),
                                ),
                            }
                        }
                    }
                    _ => err(
                        out,
                        "SCHEMA_VALIDATION_FAILED",
                        "These fields are required: [Choices]".into(),
                        loc.clone(),
                    ),
                }
                if let Some(d) = so.get("Default").and_then(Value::as_str) {
                    targets.push(d);
                }
            }
            _ => {
                if next.is_some() && end {
                    err(
                        out,
                        "SCHEMA_VALIDATION_FAILED",
                        "Only one of these fields may be set: [Next, End]".into(),
                        loc.clone(),
                    );
                } else if next.is_none() && !end {
                    err(
                        out,
                        "SCHEMA_VALIDATION_FAILED",
                        "These fields are required: [Next | End]".into(),
                        loc.clone(),
                    );
                }
                if end {
                    terminal = true;
                }
            }
        }
        if let Some(n) = next {
            targets.push(n);
        }
        if ty == "Task" && so.get("Resource").and_then(Value::as_str).is_none() {
            err(
                out,
                "SCHEMA_VALIDATION_FAILED",
                "These fields are required: [Resource]".into(),
                loc.clone(),
            );
        }
        if ty == "Wait" {
            let n = ["Seconds", "Timestamp", "SecondsPath", "TimestampPath"]
                .iter()
                .filter(|k| so.contains_key(**k))
                .count();
            if n != 1 {
                err(out, "SCHEMA_VALIDATION_FAILED", "Exactly one of these fields must be set: [Seconds, Timestamp, SecondsPath, TimestampPath]".into(), loc.clone());
            }
        }
        for field in ["Catch"] {
            if let Some(cs) = so.get(field).and_then(Value::as_array) {
                for c in cs {
                    if let Some(n) = c.get("Next").and_then(Value::as_str) {
                        targets.push(n);
                    }
                }
            }
        }
        if let Some(p) = so.get("Parameters") {
            check_template(p, &format!("{loc}/Parameters"), out);
        }
        if ty == "Parallel" {
            match so.get("Branches").and_then(Value::as_array) {
                Some(bs) => {
                    for (i, b) in bs.iter().enumerate() {
                        check_machine(b, &format!("{loc}/Branches[{i}]"), out);
                    }
                }
                None => err(
                    out,
                    "SCHEMA_VALIDATION_FAILED",
                    "These fields are required: [Branches]".into(),
                    loc.clone(),
                ),
            }
        }
        if ty == "Map" {
            match so.get("ItemProcessor").or_else(|| so.get("Iterator")) {
                Some(p) => check_machine(p, &format!("{loc}/ItemProcessor"), out),
                None => err(
                    out,
                    "SCHEMA_VALIDATION_FAILED",
                    "These fields are required: [ItemProcessor]".into(),
                    loc.clone(),
                ),
            }
        }
    }
    for (name, s) in states {
        for key in ["Next", "Default"] {
            if let Some(n) = s.get(key).and_then(Value::as_str)
                && !states.contains_key(n)
            {
                err(
                    out,
                    "MISSING_TRANSITION_TARGET",
                    format!("Missing 'Next' target: {n}"),
                    format!("{at}/States/{name}/{key}"),
                );
            }
        }
        for (list, field) in [("Choices", "Next"), ("Catch", "Next")] {
            if let Some(a) = s.get(list).and_then(Value::as_array) {
                for (i, c) in a.iter().enumerate() {
                    if let Some(n) = c.get(field).and_then(Value::as_str)
                        && !states.contains_key(n)
                    {
                        err(
                            out,
                            "MISSING_TRANSITION_TARGET",
                            format!("Missing 'Next' target: {n}"),
                            format!("{at}/States/{name}/{list}[{i}]/{field}"),
                        );
                    }
                }
            }
        }
    }
    if !terminal && !states.is_empty() {
        err(
            out,
            "NO_TERMINAL_STATE",
            "No terminal state found in machine.".into(),
            format!("{at}/States"),
        );
    }
    for name in states.keys() {
        if !targets.contains(&name.as_str()) {
            out.push(Diagnostic {
                code: "UNREACHABLE_STATE",
                message: format!("State '{name}' is not reachable."),
                location: format!("{at}/States/{name}"),
                warning: false,
            });
        }
    }
}

fn check_template(v: &Value, loc: &str, out: &mut Vec<Diagnostic>) {
    if let Some(o) = v.as_object() {
        for (k, x) in o {
            if k.ends_with(".$")
                && let Some(s) = x.as_str()
            {
                let bad = if intrinsics::is_intrinsic(s) {
                    intrinsics::check(s).err()
                } else if !s.starts_with('$') {
                    Some(format!(
                        "The value for the field '{k}' must be a valid JSONPath or a valid intrinsic function call"
                    ))
                } else {
                    crate::paths::Path::parse(s).err()
                };
                if let Some(m) = bad {
                    err(out, "SCHEMA_VALIDATION_FAILED", m, format!("{loc}/{k}"));
                }
            } else {
                check_template(x, &format!("{loc}/{k}"), out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diagnostics() {
        assert!(check(r#"{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}"#).is_empty());
        assert_eq!(
            check("{nope").first().map(|d| d.code),
            Some("INVALID_JSON_DESCRIPTION")
        );
        let d = check(r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"}}}"#);
        assert!(
            d.iter()
                .any(|d| d.code == "MISSING_TRANSITION_TARGET" && d.location == "/States/A/Next")
        );
        let d = check(r#"{"StartAt":"A","States":{"A":{"Type":"Bogus","End":true}}}"#);
        assert_eq!(d[0].code, "SCHEMA_VALIDATION_FAILED");
        let d = check(
            r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"x.$":"States.Nope()"},"End":true}}}"#,
        );
        assert_eq!(d[0].code, "SCHEMA_VALIDATION_FAILED");
    }
}
