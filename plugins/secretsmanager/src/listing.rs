//! ListSecrets and BatchGetSecretValue: filters and pages.

use ministack_sdk::prelude::*;
use ministack_sdk::time;

use crate::secrets::{DescribeSecretResponse, description};
use crate::shapes::*;
use crate::versions::{SecretValue, paginate, read_value};

#[derive(Deserialize, Clone)]
#[serde(rename_all = "PascalCase")]
pub struct Filter {
    key: Option<String>,
    #[serde(default)]
    values: Vec<String>,
}

/// Words of an `all` search: split on punctuation and on changes from
/// lower to upper case or between letters and digits; lowercased.
fn words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev: Option<char> = None;
    for c in s.chars() {
        if !c.is_ascii_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev = None;
            continue;
        }
        if let Some(p) = prev {
            let boundary = (p.is_ascii_lowercase() && c.is_ascii_uppercase())
                || (p.is_ascii_alphabetic() != c.is_ascii_alphabetic());
            if boundary && !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
        }
        cur.push(c.to_ascii_lowercase());
        prev = Some(c);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn value_matches(secret: &Secret, key: &str, value: &str) -> bool {
    let starts = |s: &str| s.starts_with(value);
    match key {
        "name" => starts(&secret.name),
        "description" => secret
            .description
            .as_deref()
            .is_some_and(|d| d.to_lowercase().starts_with(&value.to_lowercase())),
        "tag-key" => secret.tags.iter().any(|t| starts(&t.key)),
        "tag-value" => secret.tags.iter().any(|t| starts(&t.value)),
        "primary-region" => secret.primary_region.as_deref().is_some_and(starts),
        "owning-service" => false,
        "all" => {
            let mut attrs: Vec<String> = words(&secret.name);
            if let Some(d) = &secret.description {
                attrs.extend(words(d));
            }
            for t in &secret.tags {
                attrs.extend(words(&t.key));
                attrs.extend(words(&t.value));
            }
            words(value)
                .iter()
                .all(|w| attrs.iter().any(|a| a.starts_with(w.as_str())))
        }
        _ => false,
    }
}

/// Filters are ANDed; the values of one filter are ORed, and a value
/// starting with `!` must not match.
pub fn matches(secret: &Secret, filters: &[Filter]) -> bool {
    filters.iter().all(|f| {
        let key = f.key.as_deref().unwrap_or("all");
        let (negated, positive): (Vec<&String>, Vec<&String>) =
            f.values.iter().partition(|v| v.starts_with('!'));
        let none_negated = negated.iter().all(|v| !value_matches(secret, key, &v[1..]));
        let any_positive =
            positive.is_empty() || positive.iter().any(|v| value_matches(secret, key, v));
        none_negated && any_positive
    })
}

fn check_filters(filters: &[Filter]) -> Result<(), AwsError> {
    for f in filters {
        let key = f.key.as_deref().unwrap_or("");
        if ![
            "description",
            "name",
            "tag-key",
            "tag-value",
            "primary-region",
            "owning-service",
            "all",
        ]
        .contains(&key)
        {
            return Err(invalid_parameter(format!("Invalid filter key: {key}")));
        }
        if f.values.is_empty() || f.values.len() > 10 {
            return Err(invalid_parameter(
                "A filter must have between 1 and 10 values.",
            ));
        }
    }
    Ok(())
}

/// Live secrets (and, when asked, those scheduled for deletion) in name order.
fn all_secrets(include_deleted: bool) -> Result<Vec<Secret>, AwsError> {
    let now = time::now();
    let mut out = Vec::new();
    for secret in SECRETS.values("")? {
        if secret.deletion_date.is_some_and(|d| d <= now) {
            SECRETS.delete(&secret.name);
            continue;
        }
        if secret.is_deleted() && !include_deleted {
            continue;
        }
        out.push(secret);
    }
    Ok(out)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListSecretsRequest {
    #[serde(default)]
    include_planned_deletion: bool,
    max_results: Option<usize>,
    next_token: Option<String>,
    #[serde(default)]
    filters: Vec<Filter>,
    sort_order: Option<String>,
    sort_by: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListSecretsResponse {
    secret_list: Vec<DescribeSecretResponse>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

pub fn list_secrets(
    _ctx: &Context,
    input: ListSecretsRequest,
) -> Result<ListSecretsResponse, AwsError> {
    check_filters(&input.filters)?;
    let mut secrets: Vec<Secret> = all_secrets(input.include_planned_deletion)?
        .into_iter()
        .filter(|s| matches(s, &input.filters))
        .collect();
    // Newest first by default, as AWS lists them.
    match input.sort_by.as_deref().unwrap_or("created-date") {
        "name" => secrets.sort_by(|a, b| a.name.cmp(&b.name)),
        "last-accessed-date" => secrets.sort_by(|a, b| {
            a.last_accessed
                .unwrap_or(0.0)
                .total_cmp(&b.last_accessed.unwrap_or(0.0))
        }),
        "last-changed-date" => secrets.sort_by(|a, b| a.last_changed.total_cmp(&b.last_changed)),
        _ => secrets.sort_by(|a, b| a.created.total_cmp(&b.created)),
    }
    let descending = match input.sort_order.as_deref() {
        Some("asc") => false,
        Some("desc") => true,
        _ => input.sort_by.as_deref().unwrap_or("created-date") != "name",
    };
    if descending {
        secrets.reverse();
    }
    let (page, next_token) = paginate(secrets, input.max_results, input.next_token.as_deref())?;
    Ok(ListSecretsResponse {
        secret_list: page
            .iter()
            .map(|s| description(s, "SecretVersionsToStages"))
            .collect(),
        next_token,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchGetSecretValueRequest {
    secret_id_list: Option<Vec<String>>,
    filters: Option<Vec<Filter>>,
    max_results: Option<usize>,
    next_token: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ApiError {
    secret_id: String,
    error_code: String,
    message: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchGetSecretValueResponse {
    secret_values: Vec<SecretValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
    errors: Vec<ApiError>,
}

pub fn batch_get_secret_value(
    ctx: &Context,
    input: BatchGetSecretValueRequest,
) -> Result<BatchGetSecretValueResponse, AwsError> {
    let mut values = Vec::new();
    let mut errors = Vec::new();
    let mut next_token = None;
    match (input.secret_id_list, input.filters) {
        (Some(_), Some(_)) => {
            return Err(invalid_parameter(
                "Either 'SecretIdList' or 'Filters' must be provided, but not both.",
            ));
        }
        (None, None) => {
            return Err(invalid_parameter(
                "Either 'SecretIdList' or 'Filters' must be provided.",
            ));
        }
        (Some(ids), None) => {
            if input.max_results.is_some() {
                return Err(invalid_parameter(
                    "'MaxResults' is only valid together with 'Filters'.",
                ));
            }
            if ids.is_empty() || ids.len() > 20 {
                return Err(invalid_parameter(
                    "SecretIdList must have between 1 and 20 secret ids.",
                ));
            }
            for id in ids {
                let got = find(ctx, &id).and_then(|mut s| {
                    let v = read_value(&mut s, None, None)?;
                    save(ctx, &s)?;
                    Ok(v)
                });
                match got {
                    Ok(v) => values.push(v),
                    Err(e) => errors.push(ApiError {
                        secret_id: id,
                        error_code: e.code,
                        message: e.message,
                    }),
                }
            }
        }
        (None, Some(filters)) => {
            check_filters(&filters)?;
            let secrets: Vec<Secret> = all_secrets(false)?
                .into_iter()
                .filter(|s| matches(s, &filters))
                .collect();
            let limit = input.max_results.unwrap_or(20);
            if !(1..=20).contains(&limit) {
                return Err(invalid_parameter("MaxResults must be between 1 and 20."));
            }
            let (page, token) = paginate(secrets, Some(limit), input.next_token.as_deref())?;
            next_token = token;
            for mut s in page {
                match read_value(&mut s, None, None) {
                    Ok(v) => {
                        save(ctx, &s)?;
                        values.push(v);
                    }
                    Err(e) => errors.push(ApiError {
                        secret_id: s.name.clone(),
                        error_code: e.code,
                        message: e.message,
                    }),
                }
            }
        }
    }
    Ok(BatchGetSecretValueResponse {
        secret_values: values,
        next_token,
        errors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_search_splits_words() {
        assert_eq!(words("credsDatabase#892"), vec!["creds", "database", "892"]);
        assert_eq!(words("my_secret"), vec!["my", "secret"]);
    }

    #[test]
    fn filters_and_negation() {
        let s = Secret {
            name: "prod/db".into(),
            description: Some("Main Database".into()),
            tags: vec![Tag {
                key: "env".into(),
                value: "prod".into(),
            }],
            ..Secret::default()
        };
        let f = |key: &str, values: &[&str]| Filter {
            key: Some(key.into()),
            values: values.iter().map(|v| v.to_string()).collect(),
        };
        assert!(matches(&s, &[f("name", &["prod/"])]));
        assert!(!matches(&s, &[f("name", &["Prod/"])]));
        assert!(matches(&s, &[f("description", &["main"])]));
        assert!(!matches(&s, &[f("name", &["!prod"])]));
        assert!(matches(&s, &[f("tag-key", &["nope", "en"])]));
        assert!(matches(&s, &[f("all", &["database"])]));
        assert!(!matches(
            &s,
            &[f("name", &["prod"]), f("tag-value", &["dev"])]
        ));
    }
}
