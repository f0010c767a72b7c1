//! S3's CORS evaluation (AWS's rules, "Troubleshooting CORS" / "How Amazon
//! S3 evaluates the CORS configuration on a bucket"): the first rule whose
//! AllowedOrigins match the Origin (one `*` wildcard allowed), whose
//! AllowedMethods contain the method and, for a preflight, whose
//! AllowedHeaders match every header in Access-Control-Request-Headers.

use serde_json::Value;

/// One `CORSRule` of GetBucketCors' output.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rule {
    pub allowed_origins: Vec<String>,
    pub allowed_methods: Vec<String>,
    pub allowed_headers: Vec<String>,
    pub expose_headers: Vec<String>,
    pub max_age_seconds: Option<i64>,
}

fn strings(v: &Value, name: &str) -> Vec<String> {
    v.get(name)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The rules of a GetBucketCors output (`{"CORSRules": [...]}`).
pub fn rules(output: &Value) -> Vec<Rule> {
    output
        .get("CORSRules")
        .and_then(Value::as_array)
        .map(|rules| {
            rules
                .iter()
                .map(|r| Rule {
                    allowed_origins: strings(r, "AllowedOrigins"),
                    allowed_methods: strings(r, "AllowedMethods"),
                    allowed_headers: strings(r, "AllowedHeaders"),
                    expose_headers: strings(r, "ExposeHeaders"),
                    max_age_seconds: r.get("MaxAgeSeconds").and_then(Value::as_i64),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `pattern` with at most one `*` matching any run of characters.
fn wildcard(pattern: &str, value: &str, case_insensitive: bool) -> bool {
    let (p, v) = if case_insensitive {
        (pattern.to_ascii_lowercase(), value.to_ascii_lowercase())
    } else {
        (pattern.to_string(), value.to_string())
    };
    match p.split_once('*') {
        None => p == v,
        Some((prefix, suffix)) => {
            v.len() >= prefix.len() + suffix.len() && v.starts_with(prefix) && v.ends_with(suffix)
        }
    }
}

/// The CORS headers S3 answers with, for a preflight or an actual request.
pub fn evaluate(
    rules: &[Rule],
    origin: &str,
    method: &str,
    request_headers: Option<&str>,
) -> Option<Vec<(&'static str, String)>> {
    let requested: Vec<&str> = request_headers
        .map(|h| {
            h.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let rule = rules.iter().find(|r| {
        r.allowed_origins.iter().any(|o| wildcard(o, origin, false))
            && r.allowed_methods.iter().any(|m| m == method)
            && requested
                .iter()
                .all(|h| r.allowed_headers.iter().any(|a| wildcard(a, h, true)))
    })?;
    let any_origin = rule.allowed_origins.iter().any(|o| o == "*");
    let mut out = vec![
        (
            "access-control-allow-origin",
            if any_origin {
                "*".into()
            } else {
                origin.into()
            },
        ),
        (
            "access-control-allow-methods",
            rule.allowed_methods.join(", "),
        ),
        (
            "vary",
            "Origin, Access-Control-Request-Headers, Access-Control-Request-Method".into(),
        ),
    ];
    if !any_origin {
        out.push(("access-control-allow-credentials", "true".into()));
    }
    if request_headers.is_some() && !requested.is_empty() {
        out.push((
            "access-control-allow-headers",
            requested
                .iter()
                .map(|h| h.to_ascii_lowercase())
                .collect::<Vec<_>>()
                .join(", "),
        ));
    }
    if !rule.expose_headers.is_empty() {
        out.push((
            "access-control-expose-headers",
            rule.expose_headers.join(", "),
        ));
    }
    if let Some(age) = rule.max_age_seconds {
        out.push(("access-control-max-age", age.to_string()));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Vec<Rule> {
        rules(&json!({"CORSRules": [
            {"AllowedOrigins": ["http://www.example.com"], "AllowedMethods": ["PUT", "POST", "DELETE"],
             "AllowedHeaders": ["*"], "ExposeHeaders": ["x-amz-request-id"], "MaxAgeSeconds": 3000},
            {"AllowedOrigins": ["https://*.example.org"], "AllowedMethods": ["GET"],
             "AllowedHeaders": ["x-amz-*", "Content-Type"]},
            {"AllowedOrigins": ["*"], "AllowedMethods": ["HEAD"]}
        ]}))
    }

    fn get<'a>(h: &'a [(&'static str, String)], name: &str) -> Option<&'a str> {
        h.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_str())
    }

    #[test]
    fn first_matching_rule_answers() {
        let h = evaluate(
            &sample(),
            "http://www.example.com",
            "PUT",
            Some("Content-Type, X-Custom"),
        )
        .unwrap();
        assert_eq!(
            get(&h, "access-control-allow-origin"),
            Some("http://www.example.com")
        );
        assert_eq!(
            get(&h, "access-control-allow-methods"),
            Some("PUT, POST, DELETE")
        );
        assert_eq!(
            get(&h, "access-control-allow-headers"),
            Some("content-type, x-custom")
        );
        assert_eq!(
            get(&h, "access-control-expose-headers"),
            Some("x-amz-request-id")
        );
        assert_eq!(get(&h, "access-control-max-age"), Some("3000"));
        assert_eq!(get(&h, "access-control-allow-credentials"), Some("true"));
    }

    #[test]
    fn wildcards_in_origins_and_headers() {
        let r = sample();
        assert!(evaluate(&r, "https://app.example.org", "GET", Some("x-amz-date")).is_some());
        assert!(evaluate(&r, "https://app.example.org", "GET", Some("content-type")).is_some());
        assert!(evaluate(&r, "https://app.example.org", "GET", Some("authorization")).is_none());
        assert!(evaluate(&r, "http://app.example.org", "GET", None).is_none());
        assert!(evaluate(&r, "https://example.org", "GET", None).is_none());
        let h = evaluate(&r, "http://anything", "HEAD", None).unwrap();
        assert_eq!(get(&h, "access-control-allow-origin"), Some("*"));
        assert_eq!(get(&h, "access-control-allow-credentials"), None);
    }

    #[test]
    fn no_rule_for_the_method_or_origin() {
        let r = sample();
        assert!(evaluate(&r, "http://www.example.com", "GET", None).is_none());
        assert!(evaluate(&r, "http://evil.com", "PUT", None).is_none());
        assert!(evaluate(&[], "http://www.example.com", "PUT", None).is_none());
    }
}
