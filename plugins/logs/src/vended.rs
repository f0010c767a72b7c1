//! Vended logs: delivery sources, delivery destinations (and their
//! policies) and the deliveries joining them. Stored and described with
//! AWS's checks (the source and destination must exist, one delivery per
//! pair, a source or destination in use cannot be deleted). Local
//! resources do not produce vended logs, so nothing flows through a
//! delivery.

use ministack_sdk::arn::Arn;
use ministack_sdk::ids;
use ministack_sdk::prelude::*;

use crate::not_found;
use crate::shapes::*;

/// Key: source name.
const SOURCES: Table<DeliverySource> = Table::new("delivery-sources");
/// Key: destination name.
const DESTINATIONS: Table<DeliveryDestination> = Table::new("delivery-destinations");
/// Key: destination name.
const DESTINATION_POLICIES: Table<String> = Table::new("delivery-destination-policies");
/// Key: delivery id.
const DELIVERIES: Table<Delivery> = Table::new("deliveries");

pub(crate) fn validation(msg: impl Into<String>) -> AwsError {
    AwsError::new("ValidationException", msg.into()).with_status(400)
}

pub(crate) fn conflict(msg: impl Into<String>) -> AwsError {
    AwsError::new("ConflictException", msg.into()).with_status(400)
}

fn check_name(name: &str) -> Result<(), AwsError> {
    let ok = !name.is_empty()
        && name.len() <= 60
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(validation(format!(
            "1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w-]*"
        )))
    }
}

fn limit(l: Option<i32>) -> Result<u32, AwsError> {
    match l {
        None => Ok(50),
        Some(n) if (1..=50).contains(&n) => Ok(n as u32),
        Some(n) => Err(validation(format!(
            "1 validation error detected: Value '{n}' at 'limit' failed to satisfy constraint: Member must have value between 1 and 50"
        ))),
    }
}

pub fn put_delivery_source(
    ctx: &Context,
    input: PutDeliverySourceInput,
) -> Result<PutDeliverySourceOutput, AwsError> {
    check_name(&input.name)?;
    let resource: Arn = input
        .resource_arn
        .parse()
        .map_err(|_| validation(format!("Invalid resource ARN: {}", input.resource_arn)))?;
    if let Some(old) = SOURCES.get(&input.name)? {
        let same = old.resource_arns.as_deref() == Some(std::slice::from_ref(&input.resource_arn))
            && old.log_type.as_deref() == Some(input.log_type.as_str());
        if !same {
            return Err(conflict(
                "A delivery source with this name exists for another resource or log type.",
            ));
        }
    }
    let source = DeliverySource {
        name: Some(input.name.clone()),
        arn: Some(
            ctx.arn("logs", &format!("delivery-source:{}", input.name))
                .to_string(),
        ),
        resource_arns: Some(vec![input.resource_arn.clone()]),
        service: Some(resource.service.clone()),
        log_type: Some(input.log_type),
        tags: input.tags,
        delivery_source_configuration: input.delivery_source_configuration,
        ..Default::default()
    };
    SOURCES.put(&input.name, &source)?;
    Ok(PutDeliverySourceOutput {
        delivery_source: Some(source),
    })
}

pub fn get_delivery_source(
    _: &Context,
    input: GetDeliverySourceInput,
) -> Result<GetDeliverySourceOutput, AwsError> {
    Ok(GetDeliverySourceOutput {
        delivery_source: Some(
            SOURCES
                .get(&input.name)?
                .ok_or_else(|| not_found("The delivery source does not exist."))?,
        ),
    })
}

pub fn describe_delivery_sources(
    _: &Context,
    input: DescribeDeliverySourcesInput,
) -> Result<DescribeDeliverySourcesOutput, AwsError> {
    let page = SOURCES.page(
        &Scan::prefix(""),
        input.next_token.as_deref(),
        limit(input.limit)?,
    )?;
    Ok(DescribeDeliverySourcesOutput {
        delivery_sources: Some(page.items.into_iter().map(|(_, v)| v).collect()),
        next_token: page.next_token,
    })
}

pub fn delete_delivery_source(
    _: &Context,
    input: DeleteDeliverySourceInput,
) -> Result<Empty, AwsError> {
    if !SOURCES.contains(&input.name) {
        return Err(not_found("The delivery source does not exist."));
    }
    if DELIVERIES
        .values("")?
        .iter()
        .any(|d| d.delivery_source_name.as_deref() == Some(input.name.as_str()))
    {
        return Err(conflict(
            "The delivery source is used by a delivery; delete the delivery first.",
        ));
    }
    SOURCES.delete(&input.name);
    Ok(Empty {})
}

fn destination_type(resource_arn: &str) -> Result<DeliveryDestinationType, AwsError> {
    let arn: Arn = resource_arn
        .parse()
        .map_err(|_| validation(format!("Invalid destination ARN: {resource_arn}")))?;
    Ok(match arn.service.as_str() {
        "s3" => DeliveryDestinationType::S3,
        "logs" => DeliveryDestinationType::Cwl,
        "firehose" => DeliveryDestinationType::Fh,
        other => {
            return Err(validation(format!(
                "Delivery destinations are S3 buckets, log groups or Firehose streams, not {other}."
            )));
        }
    })
}

pub fn put_delivery_destination(
    ctx: &Context,
    input: PutDeliveryDestinationInput,
) -> Result<PutDeliveryDestinationOutput, AwsError> {
    check_name(&input.name)?;
    let kind = match (
        &input.delivery_destination_configuration,
        input.delivery_destination_type,
    ) {
        (_, Some(DeliveryDestinationType::Xray)) => DeliveryDestinationType::Xray,
        (Some(c), _) => destination_type(&c.destination_resource_arn)?,
        (None, _) => {
            return Err(validation(
                "deliveryDestinationConfiguration is required unless deliveryDestinationType is XRAY.",
            ));
        }
    };
    if let Some(old) = DESTINATIONS.get(&input.name)?
        && old.delivery_destination_type.as_ref() != Some(&kind)
    {
        return Err(conflict(
            "A delivery destination with this name exists with another type.",
        ));
    }
    let default_format = match kind {
        DeliveryDestinationType::S3 => OutputFormat::Json,
        DeliveryDestinationType::Fh => OutputFormat::Json,
        _ => OutputFormat::Json,
    };
    let dest = DeliveryDestination {
        name: Some(input.name.clone()),
        arn: Some(
            ctx.arn("logs", &format!("delivery-destination:{}", input.name))
                .to_string(),
        ),
        delivery_destination_type: Some(kind),
        output_format: Some(input.output_format.unwrap_or(default_format)),
        delivery_destination_configuration: input.delivery_destination_configuration,
        tags: input.tags,
    };
    DESTINATIONS.put(&input.name, &dest)?;
    Ok(PutDeliveryDestinationOutput {
        delivery_destination: Some(dest),
    })
}

pub fn get_delivery_destination(
    _: &Context,
    input: GetDeliveryDestinationInput,
) -> Result<GetDeliveryDestinationOutput, AwsError> {
    Ok(GetDeliveryDestinationOutput {
        delivery_destination: Some(
            DESTINATIONS
                .get(&input.name)?
                .ok_or_else(|| not_found("The delivery destination does not exist."))?,
        ),
    })
}

pub fn describe_delivery_destinations(
    _: &Context,
    input: DescribeDeliveryDestinationsInput,
) -> Result<DescribeDeliveryDestinationsOutput, AwsError> {
    let page = DESTINATIONS.page(
        &Scan::prefix(""),
        input.next_token.as_deref(),
        limit(input.limit)?,
    )?;
    Ok(DescribeDeliveryDestinationsOutput {
        delivery_destinations: Some(page.items.into_iter().map(|(_, v)| v).collect()),
        next_token: page.next_token,
    })
}

pub fn delete_delivery_destination(
    _: &Context,
    input: DeleteDeliveryDestinationInput,
) -> Result<Empty, AwsError> {
    let dest = DESTINATIONS
        .get(&input.name)?
        .ok_or_else(|| not_found("The delivery destination does not exist."))?;
    if DELIVERIES
        .values("")?
        .iter()
        .any(|d| d.delivery_destination_arn == dest.arn)
    {
        return Err(conflict(
            "The delivery destination is used by a delivery; delete the delivery first.",
        ));
    }
    DESTINATIONS.delete(&input.name);
    DESTINATION_POLICIES.delete(&input.name);
    Ok(Empty {})
}

pub fn put_delivery_destination_policy(
    _: &Context,
    input: PutDeliveryDestinationPolicyInput,
) -> Result<PutDeliveryDestinationPolicyOutput, AwsError> {
    if !DESTINATIONS.contains(&input.delivery_destination_name) {
        return Err(not_found("The delivery destination does not exist."));
    }
    serde_json::from_str::<serde_json::Value>(&input.delivery_destination_policy)
        .map_err(|e| validation(format!("The policy is not valid JSON: {e}")))?;
    DESTINATION_POLICIES.put(
        &input.delivery_destination_name,
        &input.delivery_destination_policy,
    )?;
    Ok(PutDeliveryDestinationPolicyOutput {
        policy: Some(Policy {
            delivery_destination_policy: Some(input.delivery_destination_policy),
        }),
    })
}

pub fn get_delivery_destination_policy(
    _: &Context,
    input: GetDeliveryDestinationPolicyInput,
) -> Result<GetDeliveryDestinationPolicyOutput, AwsError> {
    if !DESTINATIONS.contains(&input.delivery_destination_name) {
        return Err(not_found("The delivery destination does not exist."));
    }
    Ok(GetDeliveryDestinationPolicyOutput {
        policy: Some(Policy {
            delivery_destination_policy: DESTINATION_POLICIES
                .get(&input.delivery_destination_name)?,
        }),
    })
}

pub fn delete_delivery_destination_policy(
    _: &Context,
    input: DeleteDeliveryDestinationPolicyInput,
) -> Result<Empty, AwsError> {
    if !DESTINATION_POLICIES.delete(&input.delivery_destination_name) {
        return Err(not_found(
            "The delivery destination or its policy does not exist.",
        ));
    }
    Ok(Empty {})
}

pub fn create_delivery(
    ctx: &Context,
    input: CreateDeliveryInput,
) -> Result<CreateDeliveryOutput, AwsError> {
    if !SOURCES.contains(&input.delivery_source_name) {
        return Err(not_found("The delivery source does not exist."));
    }
    let dest = DESTINATIONS
        .values("")?
        .into_iter()
        .find(|d| d.arn.as_deref() == Some(input.delivery_destination_arn.as_str()))
        .ok_or_else(|| not_found("The delivery destination does not exist."))?;
    if DELIVERIES.values("")?.iter().any(|d| {
        d.delivery_source_name.as_deref() == Some(input.delivery_source_name.as_str())
            && d.delivery_destination_arn.as_deref()
                == Some(input.delivery_destination_arn.as_str())
    }) {
        return Err(conflict(
            "A delivery already exists for this source and destination.",
        ));
    }
    let id = ids::alnum(16);
    let delivery = Delivery {
        id: Some(id.clone()),
        arn: Some(ctx.arn("logs", &format!("delivery:{id}")).to_string()),
        delivery_source_name: Some(input.delivery_source_name),
        delivery_destination_arn: Some(input.delivery_destination_arn),
        delivery_destination_type: dest.delivery_destination_type,
        record_fields: input.record_fields,
        field_delimiter: input.field_delimiter,
        s3_delivery_configuration: input.s3_delivery_configuration,
        tags: input.tags,
    };
    DELIVERIES.put(&id, &delivery)?;
    Ok(CreateDeliveryOutput {
        delivery: Some(delivery),
    })
}

pub fn get_delivery(_: &Context, input: GetDeliveryInput) -> Result<GetDeliveryOutput, AwsError> {
    Ok(GetDeliveryOutput {
        delivery: Some(
            DELIVERIES
                .get(&input.id)?
                .ok_or_else(|| not_found("The delivery does not exist."))?,
        ),
    })
}

pub fn describe_deliveries(
    _: &Context,
    input: DescribeDeliveriesInput,
) -> Result<DescribeDeliveriesOutput, AwsError> {
    let page = DELIVERIES.page(
        &Scan::prefix(""),
        input.next_token.as_deref(),
        limit(input.limit)?,
    )?;
    Ok(DescribeDeliveriesOutput {
        deliveries: Some(page.items.into_iter().map(|(_, v)| v).collect()),
        next_token: page.next_token,
    })
}

pub fn delete_delivery(_: &Context, input: DeleteDeliveryInput) -> Result<Empty, AwsError> {
    if !DELIVERIES.delete(&input.id) {
        return Err(not_found("The delivery does not exist."));
    }
    Ok(Empty {})
}

pub fn update_delivery_configuration(
    _: &Context,
    input: UpdateDeliveryConfigurationInput,
) -> Result<Empty, AwsError> {
    let mut d = DELIVERIES
        .get(&input.id)?
        .ok_or_else(|| not_found("The delivery does not exist."))?;
    if input.record_fields.is_some() {
        d.record_fields = input.record_fields;
    }
    if input.field_delimiter.is_some() {
        d.field_delimiter = input.field_delimiter;
    }
    if input.s3_delivery_configuration.is_some() {
        d.s3_delivery_configuration = input.s3_delivery_configuration;
    }
    DELIVERIES.put(&input.id, &d)?;
    Ok(Empty {})
}

/// No AWS service emits vended logs locally, so there are no templates.
pub fn describe_configuration_templates(
    _: &Context,
    input: DescribeConfigurationTemplatesInput,
) -> Result<DescribeConfigurationTemplatesOutput, AwsError> {
    limit(input.limit)?;
    Ok(DescribeConfigurationTemplatesOutput {
        configuration_templates: Some(Vec::new()),
        next_token: None,
    })
}
