//! Repositories, their policies, lifecycle policies and tags.

use ministack_sdk::prelude::*;
use ministack_sdk::{time, validate::Validator};
use serde_json::Value;

use crate::shapes::*;
use crate::{REPOS, Repo, load, registry, registry_host, repo_not_found};

const NAME_PATTERN: &str =
    "[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*(\\/[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*)*";
const MAX_TAGS: usize = 50;

fn invalid(msg: impl Into<String>) -> AwsError {
    InvalidParameterException::new(msg.into()).into()
}

/// One path component: `[a-z0-9]+` runs joined by `.`, `_`, `__` or `-+`.
fn component_ok(c: &str) -> bool {
    let b = c.as_bytes();
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    if b.is_empty() || !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        if !(sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-')) {
            return false;
        }
    }
    true
}

pub(crate) fn check_name(name: &str) -> Result<(), AwsError> {
    let mut v = Validator::new();
    v.length("repositoryName", name, 2, 256);
    if !name.split('/').all(component_ok) {
        v.fail(
            "repositoryName",
            name,
            &format!("Member must satisfy regular expression pattern: {NAME_PATTERN}"),
        );
    }
    v.finish(invalid)
}

fn check_tags(tags: &[Tag]) -> Result<(), AwsError> {
    for t in tags {
        if t.key.is_empty() || t.key.len() > 128 || t.value.len() > 256 {
            return Err(InvalidTagParameterException::new(format!(
                "Invalid tag: key '{}' must be 1 to 128 characters and its value at most 256",
                t.key
            ))
            .into());
        }
        if t.key.to_ascii_lowercase().starts_with("aws:") {
            return Err(InvalidTagParameterException::new(
                "Tag keys starting with 'aws:' are reserved for AWS use".to_string(),
            )
            .into());
        }
    }
    if tags.len() > MAX_TAGS {
        return Err(TooManyTagsException::new(format!(
            "A repository can have at most {MAX_TAGS} tags"
        ))
        .into());
    }
    Ok(())
}

/// `tags` merged over `into`, a key once (the last value wins).
fn merge_tags(into: &mut Vec<Tag>, tags: Vec<Tag>) {
    for t in tags {
        into.retain(|x| x.key != t.key);
        into.push(t);
    }
}

fn check_encryption(e: &EncryptionConfiguration) -> Result<(), AwsError> {
    let t = e.encryption_type.as_str();
    if !matches!(t, "AES256" | "KMS" | "KMS_DSSE") {
        return Err(invalid(format!(
            "Invalid parameter at 'encryptionType' failed to satisfy constraint: 'Member must satisfy enum value set: [AES256, KMS, KMS_DSSE]' (got '{t}')"
        )));
    }
    if t == "AES256" && e.kms_key.is_some() {
        return Err(invalid(
            "Invalid parameter at 'encryptionConfiguration': a KMS key can only be given with encryption type KMS or KMS_DSSE",
        ));
    }
    Ok(())
}

fn check_mutability(m: &ImageTagMutability) -> Result<(), AwsError> {
    if matches!(m, ImageTagMutability::Unknown(_)) {
        return Err(invalid(format!(
            "Invalid parameter at 'imageTagMutability' failed to satisfy constraint: 'Member must satisfy enum value set: [{}]'",
            ImageTagMutability::VALUES.join(", ")
        )));
    }
    Ok(())
}

pub(crate) fn create_repository(
    ctx: &Context,
    input: CreateRepositoryInput,
) -> Result<CreateRepositoryOutput, AwsError> {
    let name = input.repository_name;
    check_name(&name)?;
    let registry = registry(ctx, &input.registry_id);
    if registry != ctx.account {
        return Err(invalid(format!(
            "Invalid parameter at 'registryId': a repository can only be created in the caller's registry ('{}')",
            ctx.account
        )));
    }
    let tags = input.tags.unwrap_or_default();
    check_tags(&tags)?;
    let mutability = input
        .image_tag_mutability
        .unwrap_or_else(|| ImageTagMutability::from("MUTABLE"));
    check_mutability(&mutability)?;
    let encryption = input
        .encryption_configuration
        .unwrap_or(EncryptionConfiguration {
            encryption_type: EncryptionType::from("AES256"),
            kms_key: None,
        });
    check_encryption(&encryption)?;
    if REPOS.contains(&name) {
        return Err(RepositoryAlreadyExistsException::new(format!(
            "The repository with name '{name}' already exists in the registry with id '{registry}'"
        ))
        .into());
    }
    let repository = Repository {
        repository_arn: Some(ctx.arn("ecr", &format!("repository/{name}")).to_string()),
        registry_id: Some(registry),
        repository_uri: Some(format!("{}/{name}", registry_host(ctx))),
        repository_name: Some(name.clone()),
        created_at: Some(time::now()),
        image_tag_mutability: Some(mutability),
        image_tag_mutability_exclusion_filters: input.image_tag_mutability_exclusion_filters,
        image_scanning_configuration: Some(input.image_scanning_configuration.unwrap_or(
            ImageScanningConfiguration {
                scan_on_push: Some(false),
            },
        )),
        encryption_configuration: Some(encryption),
    };
    let mut stored = Repo {
        repository: repository.clone(),
        ..Default::default()
    };
    merge_tags(&mut stored.tags, tags);
    REPOS.put(&name, &stored)?;
    Ok(CreateRepositoryOutput {
        repository: Some(repository),
    })
}

pub(crate) fn describe_repositories(
    ctx: &Context,
    input: DescribeRepositoriesInput,
) -> Result<DescribeRepositoriesOutput, AwsError> {
    let registry = registry(ctx, &input.registry_id);
    if let Some(names) = input.repository_names.filter(|n| !n.is_empty()) {
        if input.max_results.is_some() || input.next_token.is_some() {
            return Err(invalid(
                "Invalid parameter: maxResults and nextToken cannot be given with repositoryNames",
            ));
        }
        let mut repositories = Vec::new();
        for name in names {
            match REPOS.get(&name)? {
                Some(r) if registry == ctx.account => repositories.push(r.repository),
                _ => return Err(repo_not_found(&name, &registry)),
            }
        }
        return Ok(DescribeRepositoriesOutput {
            repositories: Some(repositories),
            next_token: None,
        });
    }
    if registry != ctx.account {
        return Ok(DescribeRepositoriesOutput {
            repositories: Some(Vec::new()),
            next_token: None,
        });
    }
    let limit = input.max_results.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(invalid(format!(
            "Invalid parameter at 'maxResults' failed to satisfy constraint: 'Member must have value between 1 and 1000' (got {limit})"
        )));
    }
    let page = REPOS
        .page(&Scan::prefix(""), input.next_token.as_deref(), limit as u32)
        .map_err(|_| invalid("Invalid parameter at 'nextToken': the token is not valid"))?;
    Ok(DescribeRepositoriesOutput {
        repositories: Some(page.items.into_iter().map(|(_, r)| r.repository).collect()),
        next_token: page.next_token,
    })
}

pub(crate) fn delete_repository(
    ctx: &Context,
    input: DeleteRepositoryInput,
) -> Result<DeleteRepositoryOutput, AwsError> {
    // No image can be pushed yet, so a repository is always empty and
    // `force` changes nothing.
    let repo = load(ctx, &input.repository_name, &input.registry_id)?;
    REPOS.delete(&input.repository_name);
    Ok(DeleteRepositoryOutput {
        repository: Some(repo.repository),
    })
}

/// Read-modify-write of a repository that must exist.
fn modify(
    ctx: &Context,
    name: &str,
    registry_id: &Option<String>,
    f: impl FnOnce(&mut Repo) -> Result<(), AwsError>,
) -> Result<Repo, AwsError> {
    let mut repo = load(ctx, name, registry_id)?;
    f(&mut repo)?;
    REPOS.put(name, &repo)?;
    Ok(repo)
}

pub(crate) fn put_image_tag_mutability(
    ctx: &Context,
    input: PutImageTagMutabilityInput,
) -> Result<PutImageTagMutabilityOutput, AwsError> {
    check_mutability(&input.image_tag_mutability)?;
    let repo = modify(ctx, &input.repository_name, &input.registry_id, |r| {
        r.repository.image_tag_mutability = Some(input.image_tag_mutability.clone());
        r.repository.image_tag_mutability_exclusion_filters =
            input.image_tag_mutability_exclusion_filters.clone();
        Ok(())
    })?;
    Ok(PutImageTagMutabilityOutput {
        registry_id: repo.repository.registry_id,
        repository_name: repo.repository.repository_name,
        image_tag_mutability: repo.repository.image_tag_mutability,
        image_tag_mutability_exclusion_filters: repo
            .repository
            .image_tag_mutability_exclusion_filters,
    })
}

pub(crate) fn put_image_scanning_configuration(
    ctx: &Context,
    input: PutImageScanningConfigurationInput,
) -> Result<PutImageScanningConfigurationOutput, AwsError> {
    let repo = modify(ctx, &input.repository_name, &input.registry_id, |r| {
        r.repository.image_scanning_configuration =
            Some(input.image_scanning_configuration.clone());
        Ok(())
    })?;
    Ok(PutImageScanningConfigurationOutput {
        registry_id: repo.repository.registry_id,
        repository_name: repo.repository.repository_name,
        image_scanning_configuration: repo.repository.image_scanning_configuration,
    })
}

/// A policy document must be a JSON object with `Statement`.
fn check_policy(text: &str) -> Result<(), AwsError> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(doc)) if doc.contains_key("Statement") => Ok(()),
        _ => Err(invalid(
            "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid repository policy provided'",
        )),
    }
}

pub(crate) fn set_repository_policy(
    ctx: &Context,
    input: SetRepositoryPolicyInput,
) -> Result<SetRepositoryPolicyOutput, AwsError> {
    check_policy(&input.policy_text)?;
    let repo = modify(ctx, &input.repository_name, &input.registry_id, |r| {
        r.policy = Some(input.policy_text.clone());
        Ok(())
    })?;
    Ok(SetRepositoryPolicyOutput {
        registry_id: repo.repository.registry_id,
        repository_name: repo.repository.repository_name,
        policy_text: repo.policy,
    })
}

fn policy_not_found(name: &str, registry: &str) -> AwsError {
    RepositoryPolicyNotFoundException::new(format!(
        "Repository policy does not exist for the repository with name '{name}' in the registry with id '{registry}'"
    ))
    .into()
}

pub(crate) fn get_repository_policy(
    ctx: &Context,
    input: GetRepositoryPolicyInput,
) -> Result<GetRepositoryPolicyOutput, AwsError> {
    let repo = load(ctx, &input.repository_name, &input.registry_id)?;
    let registry = registry(ctx, &input.registry_id);
    let policy = repo
        .policy
        .ok_or_else(|| policy_not_found(&input.repository_name, &registry))?;
    Ok(GetRepositoryPolicyOutput {
        registry_id: Some(registry),
        repository_name: Some(input.repository_name),
        policy_text: Some(policy),
    })
}

pub(crate) fn delete_repository_policy(
    ctx: &Context,
    input: DeleteRepositoryPolicyInput,
) -> Result<DeleteRepositoryPolicyOutput, AwsError> {
    let registry = registry(ctx, &input.registry_id);
    let mut old = None;
    modify(ctx, &input.repository_name, &input.registry_id, |r| {
        old = r.policy.take();
        Ok(())
    })?;
    let policy = old.ok_or_else(|| policy_not_found(&input.repository_name, &registry))?;
    Ok(DeleteRepositoryPolicyOutput {
        registry_id: Some(registry),
        repository_name: Some(input.repository_name),
        policy_text: Some(policy),
    })
}

/// A lifecycle policy is a JSON object with a non-empty `rules` list, each
/// rule with `rulePriority`, `selection` and `action`.
fn check_lifecycle(text: &str) -> Result<(), AwsError> {
    let bad = || {
        invalid(
            "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy validation failure'",
        )
    };
    let doc: Value = serde_json::from_str(text).map_err(|_| bad())?;
    let rules = doc.get("rules").and_then(Value::as_array).ok_or_else(bad)?;
    if rules.is_empty() {
        return Err(bad());
    }
    for rule in rules {
        if rule.get("rulePriority").and_then(Value::as_i64).is_none()
            || !rule.get("selection").is_some_and(Value::is_object)
            || !rule.get("action").is_some_and(Value::is_object)
        {
            return Err(bad());
        }
    }
    Ok(())
}

fn lifecycle_not_found(name: &str, registry: &str) -> AwsError {
    LifecyclePolicyNotFoundException::new(format!(
        "Lifecycle policy does not exist for the repository with name '{name}' in the registry with id '{registry}'"
    ))
    .into()
}

pub(crate) fn put_lifecycle_policy(
    ctx: &Context,
    input: PutLifecyclePolicyInput,
) -> Result<PutLifecyclePolicyOutput, AwsError> {
    check_lifecycle(&input.lifecycle_policy_text)?;
    let repo = modify(ctx, &input.repository_name, &input.registry_id, |r| {
        r.lifecycle_policy = Some(input.lifecycle_policy_text.clone());
        Ok(())
    })?;
    Ok(PutLifecyclePolicyOutput {
        registry_id: repo.repository.registry_id,
        repository_name: repo.repository.repository_name,
        lifecycle_policy_text: repo.lifecycle_policy,
    })
}

pub(crate) fn get_lifecycle_policy(
    ctx: &Context,
    input: GetLifecyclePolicyInput,
) -> Result<GetLifecyclePolicyOutput, AwsError> {
    let repo = load(ctx, &input.repository_name, &input.registry_id)?;
    let registry = registry(ctx, &input.registry_id);
    let text = repo
        .lifecycle_policy
        .ok_or_else(|| lifecycle_not_found(&input.repository_name, &registry))?;
    Ok(GetLifecyclePolicyOutput {
        registry_id: Some(registry),
        repository_name: Some(input.repository_name),
        lifecycle_policy_text: Some(text),
        last_evaluated_at: None,
    })
}

pub(crate) fn delete_lifecycle_policy(
    ctx: &Context,
    input: DeleteLifecyclePolicyInput,
) -> Result<DeleteLifecyclePolicyOutput, AwsError> {
    let registry = registry(ctx, &input.registry_id);
    let mut old = None;
    modify(ctx, &input.repository_name, &input.registry_id, |r| {
        old = r.lifecycle_policy.take();
        Ok(())
    })?;
    let text = old.ok_or_else(|| lifecycle_not_found(&input.repository_name, &registry))?;
    Ok(DeleteLifecyclePolicyOutput {
        registry_id: Some(registry),
        repository_name: Some(input.repository_name),
        lifecycle_policy_text: Some(text),
        last_evaluated_at: None,
    })
}

pub(crate) fn start_lifecycle_policy_preview(
    ctx: &Context,
    input: StartLifecyclePolicyPreviewInput,
) -> Result<StartLifecyclePolicyPreviewOutput, AwsError> {
    let registry = registry(ctx, &input.registry_id);
    if let Some(text) = &input.lifecycle_policy_text {
        check_lifecycle(text)?;
    }
    let repo = modify(ctx, &input.repository_name, &input.registry_id, |r| {
        let text = input
            .lifecycle_policy_text
            .clone()
            .or_else(|| r.lifecycle_policy.clone())
            .ok_or_else(|| lifecycle_not_found(&input.repository_name, &registry))?;
        r.preview = Some(text);
        Ok(())
    })?;
    // The repository holds no images, so the preview is complete at once.
    Ok(StartLifecyclePolicyPreviewOutput {
        registry_id: Some(registry),
        repository_name: Some(input.repository_name),
        lifecycle_policy_text: repo.preview,
        status: Some(LifecyclePolicyPreviewStatus::from("COMPLETE")),
    })
}

pub(crate) fn get_lifecycle_policy_preview(
    ctx: &Context,
    input: GetLifecyclePolicyPreviewInput,
) -> Result<GetLifecyclePolicyPreviewOutput, AwsError> {
    let repo = load(ctx, &input.repository_name, &input.registry_id)?;
    let registry = registry(ctx, &input.registry_id);
    let text = repo.preview.ok_or_else(|| -> AwsError {
        LifecyclePolicyPreviewNotFoundException::new(format!(
            "There is no lifecycle policy preview for the repository with name '{}' in the registry with id '{registry}'",
            input.repository_name
        ))
        .into()
    })?;
    Ok(GetLifecyclePolicyPreviewOutput {
        registry_id: Some(registry),
        repository_name: Some(input.repository_name),
        lifecycle_policy_text: Some(text),
        status: Some(LifecyclePolicyPreviewStatus::from("COMPLETE")),
        next_token: None,
        preview_results: Some(Vec::new()),
        summary: Some(LifecyclePolicyPreviewSummary {
            expiring_image_total_count: Some(0),
            ..Default::default()
        }),
    })
}

/// The repository name of a repository ARN of the caller's registry.
fn repo_of_arn(ctx: &Context, arn: &str) -> Result<String, AwsError> {
    let bad = || {
        invalid(format!(
            "Invalid parameter at 'resourceArn': '{arn}' is not a valid repository ARN"
        ))
    };
    let parsed: Arn = arn.parse().map_err(|_| bad())?;
    let name = parsed
        .resource
        .strip_prefix("repository/")
        .ok_or_else(bad)?
        .to_string();
    if parsed.service != "ecr" || parsed.account != ctx.account || parsed.region != ctx.region {
        return Err(repo_not_found(&name, &parsed.account));
    }
    Ok(name)
}

pub(crate) fn tag_resource(
    ctx: &Context,
    input: TagResourceInput,
) -> Result<TagResourceOutput, AwsError> {
    let name = repo_of_arn(ctx, &input.resource_arn)?;
    check_tags(&input.tags)?;
    modify(ctx, &name, &None, |r| {
        merge_tags(&mut r.tags, input.tags.clone());
        check_tags(&r.tags)
    })?;
    Ok(TagResourceOutput::default())
}

pub(crate) fn untag_resource(
    ctx: &Context,
    input: UntagResourceInput,
) -> Result<UntagResourceOutput, AwsError> {
    let name = repo_of_arn(ctx, &input.resource_arn)?;
    modify(ctx, &name, &None, |r| {
        r.tags.retain(|t| !input.tag_keys.contains(&t.key));
        Ok(())
    })?;
    Ok(UntagResourceOutput::default())
}

pub(crate) fn list_tags_for_resource(
    ctx: &Context,
    input: ListTagsForResourceInput,
) -> Result<ListTagsForResourceOutput, AwsError> {
    let name = repo_of_arn(ctx, &input.resource_arn)?;
    let repo = load(ctx, &name, &None)?;
    Ok(ListTagsForResourceOutput {
        tags: Some(repo.tags),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in [
            "ab",
            "a/b",
            "cdk-hnb659fds-container-assets-1-us-east-1",
            "a__b",
            "a--b.c_d/e",
        ] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in ["a", "Ab", "a/", "/a", "a_", "a___b", "a.-b", "a//b"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}
