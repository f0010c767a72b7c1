//! Registry authorization and the image operations that read. No image can
//! be pushed yet, so every repository is empty: listings answer empty and
//! an image asked for by id is not found.

use ministack_sdk::prelude::*;
use ministack_sdk::{encoding, ids, time};

use crate::shapes::*;
use crate::{load, registry, registry_host};

/// Authorization tokens are valid for 12 hours.
const TOKEN_TTL_SECS: f64 = 12.0 * 3600.0;

pub(crate) fn get_authorization_token(
    ctx: &Context,
    input: GetAuthorizationTokenInput,
) -> Result<GetAuthorizationTokenOutput, AwsError> {
    // `docker login` reads the token as `AWS:<password>`; nothing checks the
    // password until images can be pushed.
    let token = encoding::base64_encode(format!("AWS:{}", ids::alnum(64)).as_bytes());
    let registries = input
        .registry_ids
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| vec![ctx.account.clone()]);
    let data = registries
        .into_iter()
        .map(|account| {
            let host = registry_host(ctx).replacen(&ctx.account, &account, 1);
            AuthorizationData {
                authorization_token: Some(token.clone()),
                expires_at: Some(time::now() + TOKEN_TTL_SECS),
                proxy_endpoint: Some(format!("https://{host}")),
            }
        })
        .collect();
    Ok(GetAuthorizationTokenOutput {
        authorization_data: Some(data),
    })
}

pub(crate) fn describe_registry(
    ctx: &Context,
    _: DescribeRegistryInput,
) -> Result<DescribeRegistryOutput, AwsError> {
    Ok(DescribeRegistryOutput {
        registry_id: Some(ctx.account.clone()),
        replication_configuration: Some(ReplicationConfiguration { rules: Vec::new() }),
    })
}

fn describe_id(id: &ImageIdentifier) -> String {
    format!(
        "{{imageDigest:'{}', imageTag:'{}'}}",
        id.image_digest.as_deref().unwrap_or("null"),
        id.image_tag.as_deref().unwrap_or("null")
    )
}

pub(crate) fn describe_images(
    ctx: &Context,
    input: DescribeImagesInput,
) -> Result<DescribeImagesOutput, AwsError> {
    load(ctx, &input.repository_name, &input.registry_id)?;
    if let Some(id) = input.image_ids.as_ref().and_then(|ids| ids.first()) {
        return Err(ImageNotFoundException::new(format!(
            "The image with imageId {} does not exist within the repository with name '{}' in the registry with id '{}'",
            describe_id(id),
            input.repository_name,
            registry(ctx, &input.registry_id)
        ))
        .into());
    }
    Ok(DescribeImagesOutput {
        image_details: Some(Vec::new()),
        next_token: None,
    })
}

pub(crate) fn list_images(
    ctx: &Context,
    input: ListImagesInput,
) -> Result<ListImagesOutput, AwsError> {
    load(ctx, &input.repository_name, &input.registry_id)?;
    Ok(ListImagesOutput {
        image_ids: Some(Vec::new()),
        next_token: None,
    })
}

fn not_found(ids: Vec<ImageIdentifier>) -> Vec<ImageFailure> {
    ids.into_iter()
        .map(|id| {
            let (code, reason) = if id.image_digest.is_none() && id.image_tag.is_none() {
                (
                    "MissingDigestAndTag",
                    "Invalid request parameters: both tag and digest cannot be null",
                )
            } else {
                ("ImageNotFound", "Requested image not found")
            };
            ImageFailure {
                image_id: Some(id),
                failure_code: Some(ImageFailureCode::from(code)),
                failure_reason: Some(reason.to_string()),
            }
        })
        .collect()
}

pub(crate) fn batch_get_image(
    ctx: &Context,
    input: BatchGetImageInput,
) -> Result<BatchGetImageOutput, AwsError> {
    load(ctx, &input.repository_name, &input.registry_id)?;
    Ok(BatchGetImageOutput {
        images: Some(Vec::new()),
        failures: Some(not_found(input.image_ids)),
    })
}

pub(crate) fn batch_delete_image(
    ctx: &Context,
    input: BatchDeleteImageInput,
) -> Result<BatchDeleteImageOutput, AwsError> {
    load(ctx, &input.repository_name, &input.registry_id)?;
    Ok(BatchDeleteImageOutput {
        image_ids: Some(Vec::new()),
        failures: Some(not_found(input.image_ids)),
    })
}
