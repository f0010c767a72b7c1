//! Amazon Elastic Container Registry as a ministack plugin.
//!
//! Repositories (tag mutability, scanning and encryption configuration),
//! repository policies, lifecycle policies (a preview answers "no images
//! expire"), tags and registry authorization tokens. Images cannot be pushed
//! yet (the registry's Docker HTTP API is a later issue), so the image
//! operations that read answer empty and every other operation of the model
//! is `NotImplemented` from the host. Inputs and outputs are the shapes
//! generated from the model at build time (module [`shapes`]).

use ministack_sdk::prelude::*;

ministack_sdk::include_shapes!(pub mod shapes);

mod images;
mod repositories;
mod resources;

use shapes::{Repository, RepositoryNotFoundException, Tag};

pub struct Ecr;

impl Service for Ecr {
    const NAME: &'static str = "ecr";
    const MODEL: &'static str = include_str!("../model/service-2.json");

    fn router() -> Router {
        use images::*;
        use repositories::*;
        Router::new()
            .resources(resources::types())
            .op("CreateRepository", create_repository)
            .op("DescribeRepositories", describe_repositories)
            .op("DeleteRepository", delete_repository)
            .op("PutImageTagMutability", put_image_tag_mutability)
            .op(
                "PutImageScanningConfiguration",
                put_image_scanning_configuration,
            )
            .op("SetRepositoryPolicy", set_repository_policy)
            .op("GetRepositoryPolicy", get_repository_policy)
            .op("DeleteRepositoryPolicy", delete_repository_policy)
            .op("PutLifecyclePolicy", put_lifecycle_policy)
            .op("GetLifecyclePolicy", get_lifecycle_policy)
            .op("DeleteLifecyclePolicy", delete_lifecycle_policy)
            .op(
                "StartLifecyclePolicyPreview",
                start_lifecycle_policy_preview,
            )
            .op("GetLifecyclePolicyPreview", get_lifecycle_policy_preview)
            .op("TagResource", tag_resource)
            .op("UntagResource", untag_resource)
            .op("ListTagsForResource", list_tags_for_resource)
            .op("GetAuthorizationToken", get_authorization_token)
            .op("DescribeRegistry", describe_registry)
            .op("DescribeImages", describe_images)
            .op("ListImages", list_images)
            .op("BatchGetImage", batch_get_image)
            .op("BatchDeleteImage", batch_delete_image)
    }
}

export_plugin!(Ecr);

/// Repositories of the caller's account and region, by name.
pub(crate) const REPOS: Table<Repo> = Table::new("repositories");

/// A repository as `DescribeRepositories` shows it, plus what other
/// operations attach to it.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub(crate) struct Repo {
    pub repository: Repository,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub policy: Option<String>,
    #[serde(default)]
    pub lifecycle_policy: Option<String>,
    /// The policy text of the last `StartLifecyclePolicyPreview`.
    #[serde(default)]
    pub preview: Option<String>,
}

/// The registry id the caller names, or its account.
pub(crate) fn registry(ctx: &Context, registry_id: &Option<String>) -> String {
    registry_id.clone().unwrap_or_else(|| ctx.account.clone())
}

pub(crate) fn repo_not_found(name: &str, registry: &str) -> AwsError {
    RepositoryNotFoundException::new(format!(
        "The repository with name '{name}' does not exist in the registry with id '{registry}'"
    ))
    .into()
}

/// The stored repository `name`, or `RepositoryNotFoundException`.
pub(crate) fn load(
    ctx: &Context,
    name: &str,
    registry_id: &Option<String>,
) -> Result<Repo, AwsError> {
    let registry = registry(ctx, registry_id);
    match REPOS.get(name)? {
        Some(repo) if registry == ctx.account => Ok(repo),
        _ => Err(repo_not_found(name, &registry)),
    }
}

/// The registry's host name: `<account>.dkr.ecr.<region>.amazonaws.com`.
pub(crate) fn registry_host(ctx: &Context) -> String {
    let suffix = if ctx.region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    format!("{}.dkr.ecr.{}.{suffix}", ctx.account, ctx.region)
}
