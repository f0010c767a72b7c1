//! GetParametersByPath, DescribeParameters and GetParameterHistory, with
//! ParameterFilters.

use ministack_sdk::pagination;
use ministack_sdk::prelude::*;

use crate::params::*;
use crate::public;

#[derive(Deserialize, Clone, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct ParameterStringFilter {
    pub key: String,
    pub option: Option<String>,
    #[serde(default)]
    pub values: Vec<String>,
}

/// A parameter as filters see it: name, current version, tags.
pub struct View<'a> {
    pub name: &'a str,
    pub version: &'a ParamVersion,
    pub tags: &'a [Tag],
}

fn invalid_filter_option(message: impl Into<String>) -> AwsError {
    AwsError::new("InvalidFilterOption", message)
}

/// Checks filters for an operation (`by_path`: GetParametersByPath, which
/// refuses Name and Path).
pub fn check_filters(filters: &[ParameterStringFilter], by_path: bool) -> Result<(), AwsError> {
    for f in filters {
        let key = f.key.as_str();
        let option = f.option.as_deref().unwrap_or("Equals");
        let known = ["Name", "Path", "Type", "KeyId", "Label", "Tier", "DataType"].contains(&key)
            || key.starts_with("tag:");
        if !known {
            return Err(AwsError::new(
                "InvalidFilterKey",
                format!("The following filter key is not valid: {key}"),
            ));
        }
        if by_path && (key == "Name" || key == "Path" || key == "Tier") {
            return Err(AwsError::new(
                "InvalidFilterKey",
                format!(
                    "The following filter key is not valid: {key}. Valid filter keys include: [Type, KeyId, Label, DataType, tag]."
                ),
            ));
        }
        let allowed: &[&str] = match key {
            "Path" => &["Recursive", "OneLevel"],
            "Name" => &["Equals", "BeginsWith", "Contains"],
            k if k.starts_with("tag:") => &["Equals", "BeginsWith", "Contains"],
            "Type" | "KeyId" | "Tier" | "DataType" => &["Equals", "BeginsWith"],
            _ => &["Equals"],
        };
        let default_ok = f.option.is_none();
        if !default_ok && !allowed.contains(&option) {
            return Err(invalid_filter_option(format!(
                "The filter option is not valid for key {key}: {option}. Valid options include: {allowed:?}."
            )));
        }
        if f.values.is_empty() && !key.starts_with("tag:") {
            return Err(AwsError::new(
                "InvalidFilterValue",
                format!("The filter {key} needs at least one value."),
            ));
        }
    }
    Ok(())
}

fn text_matches(option: &str, candidate: &str, value: &str) -> bool {
    match option {
        "BeginsWith" => candidate.starts_with(value),
        "Contains" => candidate.contains(value),
        _ => candidate == value,
    }
}

pub fn matches(view: &View, filters: &[ParameterStringFilter]) -> bool {
    filters.iter().all(|f| {
        let option = f.option.as_deref().unwrap_or("Equals");
        let any = |candidate: &str| f.values.iter().any(|v| text_matches(option, candidate, v));
        match f.key.as_str() {
            "Name" => {
                // Names match with or without their leading slash.
                let bare = view.name.trim_start_matches('/');
                f.values.iter().any(|v| {
                    let v = v.trim_start_matches('/');
                    text_matches(option, bare, v)
                })
            }
            "Path" => f.values.iter().any(|p| {
                let base = p.trim_end_matches('/');
                let Some(rest) = view.name.strip_prefix(&format!("{base}/")) else {
                    return false;
                };
                option == "Recursive" || !rest.contains('/')
            }),
            "Type" => any(&view.version.kind),
            "KeyId" => view.version.key_id.as_deref().is_some_and(any),
            "Tier" => any(&view.version.tier),
            "DataType" => any(&view.version.data_type),
            "Label" => view.version.labels.iter().any(|l| f.values.contains(l)),
            key => {
                let tag_key = &key["tag:".len()..];
                view.tags
                    .iter()
                    .any(|t| t.key == tag_key && (f.values.is_empty() || any(&t.value)))
            }
        }
    })
}

/// A page of `items` from an offset token.
pub fn paginate<T>(
    items: Vec<T>,
    limit: usize,
    next_token: Option<&str>,
) -> Result<(Vec<T>, Option<String>), AwsError> {
    let start = match next_token.filter(|t| !t.is_empty()) {
        None => 0,
        Some(t) => pagination::decode(t)
            .and_then(|s| s.parse::<usize>().ok())
            .ok_or_else(|| AwsError::new("InvalidNextToken", "The specified token isn't valid."))?,
    };
    let total = items.len();
    let page: Vec<T> = items.into_iter().skip(start).take(limit).collect();
    let next = (start + limit < total).then(|| pagination::encode(&(start + limit).to_string()));
    Ok((page, next))
}

fn limit(max_results: Option<usize>, max: usize, default: usize) -> Result<usize, AwsError> {
    let n = max_results.unwrap_or(default);
    if n < 1 || n > max {
        return Err(AwsError::validation(format!(
            "1 validation error detected: Value '{n}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to {max}"
        )));
    }
    Ok(n)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetParametersByPathRequest {
    path: String,
    #[serde(default)]
    recursive: bool,
    #[serde(default)]
    parameter_filters: Vec<ParameterStringFilter>,
    #[serde(default)]
    with_decryption: bool,
    max_results: Option<usize>,
    next_token: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetParametersByPathResponse {
    parameters: Vec<ParameterOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

fn under_path(path: &str, name: &str, recursive: bool) -> bool {
    let base = path.trim_end_matches('/');
    match name.strip_prefix(&format!("{base}/")) {
        Some(rest) => !rest.is_empty() && (recursive || !rest.contains('/')),
        None => false,
    }
}

pub fn get_parameters_by_path(
    ctx: &Context,
    input: GetParametersByPathRequest,
) -> Result<GetParametersByPathResponse, AwsError> {
    if !input.path.starts_with('/') {
        return Err(AwsError::validation(format!(
            "The parameter doesn't meet the parameter name requirements. The parameter name must begin with a forward slash \"/\". Path: {}",
            input.path
        )));
    }
    check_filters(&input.parameter_filters, true)?;
    let limit = limit(input.max_results, 10, 10)?;
    let base = input.path.trim_end_matches('/');
    let matching: Vec<ParameterOut> = if input.path.starts_with("/aws/") {
        public::all(ctx)
            .into_iter()
            .filter(|p| under_path(&input.path, &p.name, input.recursive))
            .collect()
    } else {
        PARAMS
            .scan(&Scan::prefix(format!("{base}/")))?
            .into_iter()
            .map(|(_, p)| p)
            .filter(|p| !expired(p) || !PARAMS.delete(&p.name))
            .filter(|p| under_path(&input.path, &p.name, input.recursive))
            .filter(|p| {
                matches(
                    &View {
                        name: &p.name,
                        version: p.current(),
                        tags: &p.tags,
                    },
                    &input.parameter_filters,
                )
            })
            .map(|p| parameter_out(ctx, &p.name, p.current(), None, input.with_decryption))
            .collect()
    };
    let (parameters, next_token) = paginate(matching, limit, input.next_token.as_deref())?;
    Ok(GetParametersByPathResponse {
        parameters,
        next_token,
    })
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "PascalCase")]
pub struct ParametersFilter {
    key: String,
    values: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeParametersRequest {
    filters: Option<Vec<ParametersFilter>>,
    parameter_filters: Option<Vec<ParameterStringFilter>>,
    max_results: Option<usize>,
    next_token: Option<String>,
    #[serde(default)]
    shared: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ParameterMetadata {
    name: String,
    #[serde(rename = "ARN")]
    arn: String,
    #[serde(rename = "Type")]
    kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    key_id: Option<String>,
    last_modified_date: f64,
    last_modified_user: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    allowed_pattern: Option<String>,
    version: u64,
    tier: String,
    policies: Vec<Policy>,
    data_type: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeParametersResponse {
    parameters: Vec<ParameterMetadata>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

pub fn describe_parameters(
    ctx: &Context,
    input: DescribeParametersRequest,
) -> Result<DescribeParametersResponse, AwsError> {
    let filters = match (input.filters, input.parameter_filters) {
        (Some(_), Some(_)) => {
            return Err(AwsError::validation(
                "You can use either Filters or ParameterFilters in a single request.",
            ));
        }
        (Some(legacy), None) => {
            for f in &legacy {
                if !["Name", "Type", "KeyId"].contains(&f.key.as_str()) {
                    return Err(AwsError::new(
                        "InvalidFilterKey",
                        format!("The following filter key is not valid: {}", f.key),
                    ));
                }
            }
            // The old Filters: Name matches by prefix, the others exactly.
            legacy
                .into_iter()
                .map(|f| ParameterStringFilter {
                    option: Some(
                        if f.key == "Name" {
                            "BeginsWith"
                        } else {
                            "Equals"
                        }
                        .into(),
                    ),
                    key: f.key,
                    values: f.values,
                })
                .collect()
        }
        (None, Some(f)) => f,
        (None, None) => Vec::new(),
    };
    check_filters(&filters, false)?;
    let limit = limit(input.max_results, 50, 10)?;
    let all = if input.shared {
        Vec::new()
    } else {
        PARAMS.values("")?
    };
    let all: Vec<Param> = all
        .into_iter()
        .filter(|p| !expired(p) || !PARAMS.delete(&p.name))
        .collect();
    let matching: Vec<Param> = all
        .into_iter()
        .filter(|p| {
            matches(
                &View {
                    name: &p.name,
                    version: p.current(),
                    tags: &p.tags,
                },
                &filters,
            )
        })
        .collect();
    let (page, next_token) = paginate(matching, limit, input.next_token.as_deref())?;
    Ok(DescribeParametersResponse {
        parameters: page
            .iter()
            .map(|p| {
                let v = p.current();
                ParameterMetadata {
                    name: p.name.clone(),
                    arn: arn_of(ctx, &p.name),
                    kind: v.kind.clone(),
                    key_id: v.key_id.clone(),
                    last_modified_date: v.modified,
                    last_modified_user: v.user.clone(),
                    description: v.description.clone(),
                    allowed_pattern: v.allowed_pattern.clone(),
                    version: v.version,
                    tier: v.tier.clone(),
                    policies: v.policies.clone(),
                    data_type: v.data_type.clone(),
                }
            })
            .collect(),
        next_token,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetParameterHistoryRequest {
    name: String,
    #[serde(default)]
    with_decryption: bool,
    max_results: Option<usize>,
    next_token: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ParameterHistory {
    name: String,
    #[serde(rename = "Type")]
    kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    key_id: Option<String>,
    last_modified_date: f64,
    last_modified_user: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    value: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    allowed_pattern: Option<String>,
    version: u64,
    labels: Vec<String>,
    tier: String,
    policies: Vec<Policy>,
    data_type: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetParameterHistoryResponse {
    parameters: Vec<ParameterHistory>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

pub fn get_parameter_history(
    _ctx: &Context,
    input: GetParameterHistoryRequest,
) -> Result<GetParameterHistoryResponse, AwsError> {
    let name = plain_name(&input.name);
    let param = load(&name)?.ok_or_else(|| parameter_not_found(&input.name))?;
    let limit = limit(input.max_results, 50, 50)?;
    let (page, next_token) = paginate(param.versions, limit, input.next_token.as_deref())?;
    Ok(GetParameterHistoryResponse {
        parameters: page
            .into_iter()
            .map(|v| ParameterHistory {
                name: name.clone(),
                value: value_of(&v, input.with_decryption),
                kind: v.kind,
                key_id: v.key_id,
                last_modified_date: v.modified,
                last_modified_user: v.user,
                description: v.description,
                allowed_pattern: v.allowed_pattern,
                version: v.version,
                labels: v.labels,
                tier: v.tier,
                policies: v.policies,
                data_type: v.data_type,
            })
            .collect(),
        next_token,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_one_level_and_recursive() {
        assert!(under_path("/app", "/app/a", false));
        assert!(!under_path("/app", "/app/a/b", false));
        assert!(under_path("/app/", "/app/a/b", true));
        assert!(!under_path("/app", "/apple/a", true));
        assert!(under_path("/", "/top", false));
        assert!(!under_path("/", "/top/x", false));
    }

    #[test]
    fn filters() {
        let v = ParamVersion {
            kind: "SecureString".into(),
            key_id: Some("alias/aws/ssm".into()),
            tier: "Standard".into(),
            data_type: "text".into(),
            labels: vec!["prod".into()],
            ..ParamVersion::default()
        };
        let tags = vec![Tag {
            key: "team".into(),
            value: "core".into(),
        }];
        let view = View {
            name: "/app/db/pass",
            version: &v,
            tags: &tags,
        };
        let f = |key: &str, option: Option<&str>, values: &[&str]| ParameterStringFilter {
            key: key.into(),
            option: option.map(Into::into),
            values: values.iter().map(|s| s.to_string()).collect(),
        };
        assert!(matches(&view, &[f("Type", None, &["SecureString"])]));
        assert!(!matches(&view, &[f("Type", None, &["String"])]));
        assert!(matches(
            &view,
            &[f("Name", Some("BeginsWith"), &["app/db"])]
        ));
        assert!(matches(&view, &[f("Name", Some("Contains"), &["db"])]));
        assert!(matches(&view, &[f("Path", Some("Recursive"), &["/app"])]));
        assert!(!matches(&view, &[f("Path", Some("OneLevel"), &["/app"])]));
        assert!(matches(&view, &[f("Label", None, &["prod"])]));
        assert!(matches(&view, &[f("tag:team", None, &["core"])]));
        assert!(matches(&view, &[f("tag:team", None, &[])]));
        assert!(!matches(&view, &[f("tag:other", None, &[])]));
        assert!(check_filters(&[f("Name", None, &["x"])], true).is_err());
        assert_eq!(
            check_filters(&[f("Label", Some("Contains"), &["x"])], false)
                .unwrap_err()
                .code,
            "InvalidFilterOption"
        );
        assert_eq!(
            check_filters(&[f("Bogus", None, &["x"])], false)
                .unwrap_err()
                .code,
            "InvalidFilterKey"
        );
    }
}
