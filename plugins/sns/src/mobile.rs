//! Platform applications (APNS, GCM/FCM, ADM, ...) and their endpoints.
//! Nothing is pushed to a real platform: a publish to an endpoint is
//! recorded and readable at `/_ministack/sns/messages?protocol=application`.

use crate::topics::ListInput;
use std::collections::BTreeMap;

use ministack_sdk::ids;
use ministack_sdk::prelude::*;
use serde_json::json;

use crate::inspect::{self, Delivery};
use crate::model::*;
use crate::publish::Outgoing;
use crate::topics::AttributesOutput;

/// Applications by `join(platform, name)`.
const APPLICATIONS: Table<Application> = Table::new("platform-applications");
/// Endpoints by `join(platform, application name, id)`.
const ENDPOINTS: Table<Endpoint> = Table::new("platform-endpoints");

const PLATFORMS: &[&str] = &[
    "ADM",
    "APNS",
    "APNS_SANDBOX",
    "APNS_VOIP",
    "APNS_VOIP_SANDBOX",
    "MACOS",
    "MACOS_SANDBOX",
    "BAIDU",
    "GCM",
    "MPNS",
    "WNS",
];

/// Attributes never returned by GetPlatformApplicationAttributes.
const SECRET: &[&str] = &["PlatformCredential", "PlatformPrincipal"];

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Application {
    arn: String,
    attributes: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Endpoint {
    arn: String,
    attributes: BTreeMap<String, String>,
}

/// `arn:...:app/PLATFORM/name` → (platform, name).
fn app_key(ctx: &Context, arn: &str) -> Result<String, AwsError> {
    let bad = || invalid("Invalid parameter: PlatformApplicationArn Reason: Wrong format");
    let parsed = Arn::parse(arn)
        .filter(|a| a.service == "sns")
        .ok_or_else(bad)?;
    let parts: Vec<&str> = parsed.resource.split('/').collect();
    if parts.len() != 3 || parts[0] != "app" {
        return Err(bad());
    }
    if parsed.account != ctx.account || parsed.region != ctx.region {
        return Err(not_found("PlatformApplication"));
    }
    Ok(keys::join(&[parts[1], parts[2]]))
}

fn endpoint_key(ctx: &Context, arn: &str) -> Result<String, AwsError> {
    let bad = || invalid("Invalid parameter: EndpointArn Reason: Wrong format");
    let parsed = Arn::parse(arn)
        .filter(|a| a.service == "sns")
        .ok_or_else(bad)?;
    let parts: Vec<&str> = parsed.resource.split('/').collect();
    if parts.len() != 4 || parts[0] != "endpoint" {
        return Err(bad());
    }
    if parsed.account != ctx.account || parsed.region != ctx.region {
        return Err(not_found("Endpoint"));
    }
    Ok(keys::join(&[parts[1], parts[2], parts[3]]))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateApplicationInput {
    name: String,
    platform: String,
    #[serde(default)]
    attributes: BTreeMap<String, String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateApplicationOutput {
    platform_application_arn: String,
}

pub fn create_platform_application(
    ctx: &Context,
    input: CreateApplicationInput,
) -> Result<CreateApplicationOutput, AwsError> {
    if !PLATFORMS.contains(&input.platform.as_str()) {
        return Err(invalid(
            "Invalid parameter: Platform Reason: Platform is not supported",
        ));
    }
    let name_ok = !input.name.is_empty()
        && input.name.len() <= 256
        && input
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if !name_ok {
        return Err(invalid(
            "Invalid parameter: Name Reason: must be 1 to 256 alphanumeric characters, hyphens, underscores or periods",
        ));
    }
    if input.platform != "GCM" && !input.attributes.contains_key("PlatformCredential") {
        return Err(invalid(
            "Invalid parameter: Attributes Reason: PlatformCredential attribute is required",
        ));
    }
    let arn = ctx
        .arn("sns", &format!("app/{}/{}", input.platform, input.name))
        .to_string();
    let mut attributes = input.attributes;
    attributes
        .entry("Enabled".into())
        .or_insert_with(|| "true".into());
    APPLICATIONS.put(
        &keys::join(&[&input.platform, &input.name]),
        &Application {
            arn: arn.clone(),
            attributes,
        },
    )?;
    Ok(CreateApplicationOutput {
        platform_application_arn: arn,
    })
}

fn load_app(ctx: &Context, arn: &str) -> Result<(String, Application), AwsError> {
    let key = app_key(ctx, arn)?;
    let app = APPLICATIONS
        .get(&key)?
        .ok_or_else(|| not_found("PlatformApplication"))?;
    Ok((key, app))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ApplicationArnInput {
    platform_application_arn: String,
}

fn public(attributes: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    attributes
        .iter()
        .filter(|(k, _)| !SECRET.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

pub fn get_platform_application_attributes(
    ctx: &Context,
    input: ApplicationArnInput,
) -> Result<AttributesOutput, AwsError> {
    let (_, app) = load_app(ctx, &input.platform_application_arn)?;
    Ok(AttributesOutput {
        attributes: public(&app.attributes),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SetApplicationAttributesInput {
    platform_application_arn: String,
    attributes: BTreeMap<String, String>,
}

pub fn set_platform_application_attributes(
    ctx: &Context,
    input: SetApplicationAttributesInput,
) -> Result<Empty, AwsError> {
    let (key, mut app) = load_app(ctx, &input.platform_application_arn)?;
    app.attributes.extend(input.attributes);
    APPLICATIONS.put(&key, &app)?;
    Ok(Empty {})
}

pub fn delete_platform_application(
    ctx: &Context,
    input: ApplicationArnInput,
) -> Result<Empty, AwsError> {
    // Deleting one that does not exist succeeds.
    let key = app_key(ctx, &input.platform_application_arn)?;
    if APPLICATIONS.delete(&key) {
        let parts = keys::split(&key);
        ENDPOINTS.delete_range(&Scan::prefix(keys::prefix(&parts)));
    }
    Ok(Empty {})
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ApplicationView {
    platform_application_arn: String,
    attributes: BTreeMap<String, String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListApplicationsOutput {
    platform_applications: Vec<ApplicationView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

pub fn list_platform_applications(
    _ctx: &Context,
    input: ListInput,
) -> Result<ListApplicationsOutput, AwsError> {
    let page = APPLICATIONS
        .page(&Scan::all(), input.next_token.as_deref(), 100)
        .map_err(|_| invalid("Invalid parameter: NextToken"))?;
    Ok(ListApplicationsOutput {
        platform_applications: page
            .items
            .into_iter()
            .map(|(_, a)| ApplicationView {
                platform_application_arn: a.arn,
                attributes: public(&a.attributes),
            })
            .collect(),
        next_token: page.next_token,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateEndpointInput {
    platform_application_arn: String,
    token: String,
    custom_user_data: Option<String>,
    #[serde(default)]
    attributes: BTreeMap<String, String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EndpointArnOutput {
    endpoint_arn: String,
}

pub fn create_platform_endpoint(
    ctx: &Context,
    input: CreateEndpointInput,
) -> Result<EndpointArnOutput, AwsError> {
    let (key, _app) = load_app(ctx, &input.platform_application_arn)?;
    if input.token.is_empty() {
        return Err(invalid("Invalid parameter: Token Reason: cannot be empty"));
    }
    let mut attributes = input.attributes;
    attributes.insert("Token".into(), input.token.clone());
    if let Some(data) = input.custom_user_data {
        attributes.insert("CustomUserData".into(), data);
    }
    attributes
        .entry("Enabled".into())
        .or_insert_with(|| "true".into());
    let parts = keys::split(&key);
    let (platform, app_name) = (parts[0].to_string(), parts[1].to_string());
    for (_, existing) in ENDPOINTS.scan(&Scan::prefix(keys::prefix(&[&platform, &app_name])))? {
        if existing.attributes.get("Token") == Some(&input.token) {
            if existing.attributes == attributes {
                return Ok(EndpointArnOutput {
                    endpoint_arn: existing.arn,
                });
            }
            return Err(invalid(format!(
                "Invalid parameter: Token Reason: Endpoint {} already exists with the same Token, but different attributes.",
                existing.arn
            )));
        }
    }
    let id = ids::uuid();
    let arn = ctx
        .arn("sns", &format!("endpoint/{platform}/{app_name}/{id}"))
        .to_string();
    ENDPOINTS.put(
        &keys::join(&[&platform, &app_name, &id]),
        &Endpoint {
            arn: arn.clone(),
            attributes,
        },
    )?;
    Ok(EndpointArnOutput { endpoint_arn: arn })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EndpointArnInput {
    endpoint_arn: String,
}

fn load_endpoint(ctx: &Context, arn: &str) -> Result<(String, Endpoint), AwsError> {
    let key = endpoint_key(ctx, arn)?;
    let e = ENDPOINTS.get(&key)?.ok_or_else(|| not_found("Endpoint"))?;
    Ok((key, e))
}

pub fn get_endpoint_attributes(
    ctx: &Context,
    input: EndpointArnInput,
) -> Result<AttributesOutput, AwsError> {
    let (_, e) = load_endpoint(ctx, &input.endpoint_arn)?;
    Ok(AttributesOutput {
        attributes: e.attributes,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SetEndpointAttributesInput {
    endpoint_arn: String,
    attributes: BTreeMap<String, String>,
}

pub fn set_endpoint_attributes(
    ctx: &Context,
    input: SetEndpointAttributesInput,
) -> Result<Empty, AwsError> {
    let (key, mut e) = load_endpoint(ctx, &input.endpoint_arn)?;
    if let Some(v) = input.attributes.get("Enabled")
        && bool_attr(v).is_none()
    {
        return Err(invalid(
            "Invalid parameter: Attributes Reason: Enabled must be true or false",
        ));
    }
    e.attributes.extend(input.attributes);
    ENDPOINTS.put(&key, &e)?;
    Ok(Empty {})
}

pub fn delete_endpoint(ctx: &Context, input: EndpointArnInput) -> Result<Empty, AwsError> {
    let key = endpoint_key(ctx, &input.endpoint_arn)?;
    ENDPOINTS.delete(&key);
    Ok(Empty {})
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListEndpointsInput {
    platform_application_arn: String,
    next_token: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EndpointView {
    endpoint_arn: String,
    attributes: BTreeMap<String, String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListEndpointsOutput {
    endpoints: Vec<EndpointView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

pub fn list_endpoints_by_platform_application(
    ctx: &Context,
    input: ListEndpointsInput,
) -> Result<ListEndpointsOutput, AwsError> {
    let (key, _) = load_app(ctx, &input.platform_application_arn)?;
    let parts = keys::split(&key);
    let page = ENDPOINTS
        .page(
            &Scan::prefix(keys::prefix(&parts)),
            input.next_token.as_deref(),
            100,
        )
        .map_err(|_| invalid("Invalid parameter: NextToken"))?;
    Ok(ListEndpointsOutput {
        endpoints: page
            .items
            .into_iter()
            .map(|(_, e)| EndpointView {
                endpoint_arn: e.arn,
                attributes: e.attributes,
            })
            .collect(),
        next_token: page.next_token,
    })
}

/// Publish to a platform endpoint (TargetArn, or an `application`
/// subscription): recorded with the endpoint's token.
pub fn publish_to_endpoint(
    ctx: &Context,
    arn: &str,
    out: &Outgoing,
    sub: Option<&Subscription>,
) -> Result<(), AwsError> {
    let (key, e) = load_endpoint(ctx, arn)?;
    if e.attributes.get("Enabled").map(String::as_str) == Some("false") {
        return Err(AwsError::new("EndpointDisabled", "Endpoint is disabled"));
    }
    let platform = keys::split(&key)[0].to_string();
    inspect::record(&Delivery {
        protocol: "application".into(),
        endpoint: e.arn.clone(),
        subscription_arn: sub.map(|s| s.arn.clone()).unwrap_or_default(),
        topic_arn: sub.map(|s| s.topic_arn.clone()).unwrap_or_default(),
        message_id: out.message_id.clone(),
        kind: "Notification".into(),
        subject: out.subject.clone(),
        message: out.message_for(&platform),
        platform: Some(json!({"Platform": platform, "Attributes": e.attributes})),
        ..Default::default()
    })
}
