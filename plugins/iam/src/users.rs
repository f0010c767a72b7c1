//! Users and groups: CreateUser, GetUser, UpdateUser, DeleteUser, ListUsers,
//! user tags and boundaries; CreateGroup, GetGroup, UpdateGroup, DeleteGroup,
//! ListGroups, AddUserToGroup, RemoveUserFromGroup, ListGroupsForUser.

use ministack_sdk::ids::{self, IdPrefix};
use ministack_sdk::prelude::*;
use ministack_sdk::time;
use ministack_sdk::validate::Validator;
use serde_json::{Value, json};

use crate::common::*;
use crate::credentials;
use crate::entities::{self, GROUPS, Group, USERS, User};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateUserRequest {
    user_name: String,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    permissions_boundary: Option<String>,
    #[serde(default)]
    tags: Vec<Tag>,
}

pub fn create_user(ctx: &Context, input: CreateUserRequest) -> Result<Value, AwsError> {
    let path = input.path.unwrap_or_else(|| "/".into());
    let mut v = Validator::new();
    check_name(&mut v, "userName", &input.user_name, 64);
    check_path(&mut v, "path", &path);
    check_tags(&mut v, &input.tags);
    v.finish(AwsError::validation_error)?;
    no_duplicate_tag_keys(&input.tags)?;
    if USERS.contains(&key(&input.user_name)) {
        return Err(already_exists(format!(
            "User with name {} already exists.",
            input.user_name
        )));
    }
    if let Some(b) = &input.permissions_boundary {
        entities::policy(ctx, b)?;
    }
    let user = User {
        arn: arn(ctx, "user", &path, &input.user_name),
        path,
        name: input.user_name,
        id: ids::aws_id(IdPrefix::User),
        created: time::now(),
        tags: input.tags,
        boundary: input.permissions_boundary,
        attached: Vec::new(),
        inline: Default::default(),
        groups: Vec::new(),
        password_last_used: None,
    };
    USERS.put(&key(&user.name), &user)?;
    Ok(json!({"User": user.shape()}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OptionalUser {
    #[serde(default)]
    user_name: Option<String>,
}

pub fn get_user(ctx: &Context, input: OptionalUser) -> Result<Value, AwsError> {
    match credentials::user_or_caller(ctx, input.user_name)? {
        Some(user) => Ok(json!({"User": user.shape()})),
        // The root user, as AWS answers it: no name or path.
        None => Ok(json!({"User": {
            "UserId": ctx.account,
            "Arn": format!("arn:{}:iam::{}:root", ctx.partition(), ctx.account),
            "CreateDate": 0,
        }})),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateUserRequest {
    user_name: String,
    #[serde(default)]
    new_path: Option<String>,
    #[serde(default)]
    new_user_name: Option<String>,
}

pub fn update_user(ctx: &Context, input: UpdateUserRequest) -> Result<Empty, AwsError> {
    let mut v = Validator::new();
    if let Some(p) = &input.new_path {
        check_path(&mut v, "newPath", p);
    }
    if let Some(n) = &input.new_user_name {
        check_name(&mut v, "newUserName", n, 64);
    }
    v.finish(AwsError::validation_error)?;
    let mut user = entities::user(&input.user_name)?;
    let old_key = key(&user.name);
    if let Some(p) = input.new_path {
        user.path = p;
    }
    if let Some(n) = input.new_user_name {
        if key(&n) != old_key && USERS.contains(&key(&n)) {
            return Err(already_exists(format!(
                "User with name {n} already exists."
            )));
        }
        credentials::rename_user(&user.name, &n)?;
        user.name = n;
    }
    user.arn = arn(ctx, "user", &user.path, &user.name);
    USERS.delete(&old_key);
    USERS.put(&key(&user.name), &user)?;
    credentials::reregister_keys(ctx, &user)?;
    Ok(Empty {})
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UserNameInput {
    pub user_name: String,
}

pub fn delete_user(_: &Context, input: UserNameInput) -> Result<Empty, AwsError> {
    let user = entities::user(&input.user_name)?;
    if !user.inline.is_empty() {
        return Err(delete_conflict(
            "Cannot delete entity, must delete policies first.",
        ));
    }
    if !user.attached.is_empty() {
        return Err(delete_conflict(
            "Cannot delete entity, must detach all policies first.",
        ));
    }
    if !user.groups.is_empty() {
        return Err(delete_conflict(
            "Cannot delete entity, must remove users from group first.",
        ));
    }
    credentials::check_user_deletable(&user.name)?;
    USERS.delete(&key(&user.name));
    Ok(Empty {})
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListRequest {
    #[serde(default)]
    pub path_prefix: Option<String>,
    #[serde(default)]
    pub marker: Option<String>,
    #[serde(default)]
    pub max_items: Option<i64>,
}

pub fn list_users(_: &Context, input: ListRequest) -> Result<Value, AwsError> {
    let items = USERS
        .scan(&Scan::all())?
        .into_iter()
        .filter(|(_, u)| path_matches(&u.path, input.path_prefix.as_deref()))
        .map(|(k, u)| (k, u.brief()))
        .collect();
    Ok(page(items, input.marker.as_deref(), input.max_items)?.into_json("Users"))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagUserRequest {
    user_name: String,
    tags: Vec<Tag>,
}

pub fn tag_user(_: &Context, input: TagUserRequest) -> Result<Empty, AwsError> {
    let mut v = Validator::new();
    check_tags(&mut v, &input.tags);
    v.finish(AwsError::validation_error)?;
    no_duplicate_tag_keys(&input.tags)?;
    let mut user = entities::user(&input.user_name)?;
    merge_tags(&mut user.tags, input.tags)?;
    USERS.put(&key(&user.name), &user)?;
    Ok(Empty {})
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UntagUserRequest {
    user_name: String,
    tag_keys: Vec<String>,
}

pub fn untag_user(_: &Context, input: UntagUserRequest) -> Result<Empty, AwsError> {
    let mut user = entities::user(&input.user_name)?;
    remove_tags(&mut user.tags, &input.tag_keys);
    USERS.put(&key(&user.name), &user)?;
    Ok(Empty {})
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListTagsRequest {
    #[serde(default)]
    marker: Option<String>,
    #[serde(default)]
    max_items: Option<i64>,
}

pub fn tags_page(
    tags: Vec<Tag>,
    marker: Option<&str>,
    max: Option<i64>,
) -> Result<Value, AwsError> {
    let items = tags
        .into_iter()
        .enumerate()
        .map(|(i, t)| (ministack_sdk::store::keys::u64(i as u64), t))
        .collect();
    Ok(page(items, marker, max)?.into_json("Tags"))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListUserTagsRequest {
    user_name: String,
    #[serde(flatten)]
    list: ListTagsRequest,
}

pub fn list_user_tags(_: &Context, input: ListUserTagsRequest) -> Result<Value, AwsError> {
    let user = entities::user(&input.user_name)?;
    tags_page(
        user.tags,
        input.list.marker.as_deref(),
        input.list.max_items,
    )
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BoundaryRequest {
    #[serde(default)]
    user_name: Option<String>,
    #[serde(default)]
    role_name: Option<String>,
    permissions_boundary: String,
}

pub fn put_user_permissions_boundary(
    ctx: &Context,
    input: BoundaryRequest,
) -> Result<Empty, AwsError> {
    let mut user = entities::user(input.user_name.as_deref().unwrap_or_default())?;
    entities::policy(ctx, &input.permissions_boundary)?;
    user.boundary = Some(input.permissions_boundary);
    USERS.put(&key(&user.name), &user)?;
    Ok(Empty {})
}

pub fn put_role_permissions_boundary(
    ctx: &Context,
    input: BoundaryRequest,
) -> Result<Empty, AwsError> {
    let mut role = entities::role(input.role_name.as_deref().unwrap_or_default())?;
    entities::policy(ctx, &input.permissions_boundary)?;
    role.boundary = Some(input.permissions_boundary);
    entities::ROLES.put(&key(&role.name), &role)?;
    Ok(Empty {})
}

pub fn delete_user_permissions_boundary(
    _: &Context,
    input: UserNameInput,
) -> Result<Empty, AwsError> {
    let mut user = entities::user(&input.user_name)?;
    user.boundary = None;
    USERS.put(&key(&user.name), &user)?;
    Ok(Empty {})
}

// ---- groups ----

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateGroupRequest {
    group_name: String,
    #[serde(default)]
    path: Option<String>,
}

pub fn create_group(ctx: &Context, input: CreateGroupRequest) -> Result<Value, AwsError> {
    let path = input.path.unwrap_or_else(|| "/".into());
    let mut v = Validator::new();
    check_name(&mut v, "groupName", &input.group_name, 128);
    check_path(&mut v, "path", &path);
    v.finish(AwsError::validation_error)?;
    if GROUPS.contains(&key(&input.group_name)) {
        return Err(already_exists(format!(
            "Group with name {} already exists.",
            input.group_name
        )));
    }
    let group = Group {
        arn: arn(ctx, "group", &path, &input.group_name),
        path,
        name: input.group_name,
        id: ids::aws_id(IdPrefix::Group),
        created: time::now(),
        attached: Vec::new(),
        inline: Default::default(),
    };
    GROUPS.put(&key(&group.name), &group)?;
    Ok(json!({"Group": group.shape()}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetGroupRequest {
    group_name: String,
    #[serde(default)]
    marker: Option<String>,
    #[serde(default)]
    max_items: Option<i64>,
}

pub fn members(group: &str) -> Result<Vec<User>, AwsError> {
    Ok(USERS
        .values("")?
        .into_iter()
        .filter(|u| u.groups.iter().any(|g| g.eq_ignore_ascii_case(group)))
        .collect())
}

pub fn get_group(_: &Context, input: GetGroupRequest) -> Result<Value, AwsError> {
    let group = entities::group(&input.group_name)?;
    let items = members(&group.name)?
        .into_iter()
        .map(|u| (key(&u.name), u.brief()))
        .collect();
    let mut out = page(items, input.marker.as_deref(), input.max_items)?.into_json("Users");
    out["Group"] = group.shape();
    Ok(out)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateGroupRequest {
    group_name: String,
    #[serde(default)]
    new_path: Option<String>,
    #[serde(default)]
    new_group_name: Option<String>,
}

pub fn update_group(ctx: &Context, input: UpdateGroupRequest) -> Result<Empty, AwsError> {
    let mut v = Validator::new();
    if let Some(p) = &input.new_path {
        check_path(&mut v, "newPath", p);
    }
    if let Some(n) = &input.new_group_name {
        check_name(&mut v, "newGroupName", n, 128);
    }
    v.finish(AwsError::validation_error)?;
    let mut group = entities::group(&input.group_name)?;
    let old_key = key(&group.name);
    if let Some(p) = input.new_path {
        group.path = p;
    }
    if let Some(n) = input.new_group_name {
        if key(&n) != old_key && GROUPS.contains(&key(&n)) {
            return Err(already_exists(format!(
                "Group with name {n} already exists."
            )));
        }
        for mut u in members(&group.name)? {
            for g in u.groups.iter_mut() {
                if g.eq_ignore_ascii_case(&group.name) {
                    *g = n.clone();
                }
            }
            USERS.put(&key(&u.name), &u)?;
        }
        group.name = n;
    }
    group.arn = arn(ctx, "group", &group.path, &group.name);
    GROUPS.delete(&old_key);
    GROUPS.put(&key(&group.name), &group)?;
    Ok(Empty {})
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GroupNameInput {
    pub group_name: String,
}

pub fn delete_group(_: &Context, input: GroupNameInput) -> Result<Empty, AwsError> {
    let group = entities::group(&input.group_name)?;
    if !members(&group.name)?.is_empty() {
        return Err(delete_conflict(
            "Cannot delete entity, must remove users from group first.",
        ));
    }
    if !group.inline.is_empty() {
        return Err(delete_conflict(
            "Cannot delete entity, must delete policies first.",
        ));
    }
    if !group.attached.is_empty() {
        return Err(delete_conflict(
            "Cannot delete entity, must detach all policies first.",
        ));
    }
    GROUPS.delete(&key(&group.name));
    Ok(Empty {})
}

pub fn list_groups(_: &Context, input: ListRequest) -> Result<Value, AwsError> {
    let items = GROUPS
        .scan(&Scan::all())?
        .into_iter()
        .filter(|(_, g)| path_matches(&g.path, input.path_prefix.as_deref()))
        .map(|(k, g)| (k, g.shape()))
        .collect();
    Ok(page(items, input.marker.as_deref(), input.max_items)?.into_json("Groups"))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MembershipRequest {
    group_name: String,
    user_name: String,
}

pub fn add_user_to_group(_: &Context, input: MembershipRequest) -> Result<Empty, AwsError> {
    let group = entities::group(&input.group_name)?;
    let mut user = entities::user(&input.user_name)?;
    if !user
        .groups
        .iter()
        .any(|g| g.eq_ignore_ascii_case(&group.name))
    {
        if user.groups.len() >= 10 {
            return Err(limit_exceeded("Cannot exceed quota for GroupsPerUser: 10"));
        }
        user.groups.push(group.name);
        USERS.put(&key(&user.name), &user)?;
    }
    Ok(Empty {})
}

pub fn remove_user_from_group(_: &Context, input: MembershipRequest) -> Result<Empty, AwsError> {
    let group = entities::group(&input.group_name)?;
    let mut user = entities::user(&input.user_name)?;
    let before = user.groups.len();
    user.groups.retain(|g| !g.eq_ignore_ascii_case(&group.name));
    if user.groups.len() == before {
        return Err(no_such_entity(format!(
            "User {} is not in group {}.",
            user.name, group.name
        )));
    }
    USERS.put(&key(&user.name), &user)?;
    Ok(Empty {})
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListGroupsForUserRequest {
    user_name: String,
    #[serde(default)]
    marker: Option<String>,
    #[serde(default)]
    max_items: Option<i64>,
}

pub fn list_groups_for_user(
    _: &Context,
    input: ListGroupsForUserRequest,
) -> Result<Value, AwsError> {
    let user = entities::user(&input.user_name)?;
    let mut items = Vec::new();
    for g in &user.groups {
        if let Some(group) = GROUPS.get(&key(g))? {
            items.push((key(g), group.shape()));
        }
    }
    Ok(page(items, input.marker.as_deref(), input.max_items)?.into_json("Groups"))
}
