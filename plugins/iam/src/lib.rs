//! AWS Identity and Access Management as a ministack plugin.
//!
//! Account-global state (`Table::account`): users, groups, roles, managed
//! policies with versions, inline policies, instance profiles, access keys,
//! login profiles, virtual MFA devices, OIDC and SAML providers, the account
//! alias and password policy. Access keys are registered with the gateway's
//! identity registry (`identity` capability), so a request signed with one
//! acts as its user (STS GetCallerIdentity names it). The policy simulator
//! runs a real evaluator ([`eval`]). AWS managed policies come from a catalog
//! ([`managed`]).
//!
//! Plugin settings (plugins.toml `[plugins.iam.settings]`):
//! - `autocreate_aws_managed = "true"`: any well-formed
//!   `arn:aws:iam::aws:policy/...` ARN resolves, even one the catalog does not
//!   have (its document grants nothing).

use ministack_sdk::prelude::*;

mod access;
mod account;
mod authorize;
mod certs;
mod common;
mod credentials;
mod delegation;
mod entities;
pub mod eval;
mod managed;
mod policies;
mod providers;
mod resources;
mod roles;
mod simulate;
mod users;

pub struct Iam;

impl Service for Iam {
    const NAME: &'static str = "iam";
    const MODEL: &'static str = include_str!("../model/service-2.json");

    fn router() -> Router {
        use policies as p;
        Router::new()
            .resources(resources::types())
            // ENFORCE_IAM: the gateway's question (docs/security.md)
            .op("ministack:authz-evaluate", authorize::evaluate)
            // users
            .op("CreateUser", users::create_user)
            .op("GetUser", users::get_user)
            .op("UpdateUser", users::update_user)
            .op("DeleteUser", users::delete_user)
            .op("ListUsers", users::list_users)
            .op("TagUser", users::tag_user)
            .op("UntagUser", users::untag_user)
            .op("ListUserTags", users::list_user_tags)
            .op(
                "PutUserPermissionsBoundary",
                users::put_user_permissions_boundary,
            )
            .op(
                "DeleteUserPermissionsBoundary",
                users::delete_user_permissions_boundary,
            )
            // groups
            .op("CreateGroup", users::create_group)
            .op("GetGroup", users::get_group)
            .op("UpdateGroup", users::update_group)
            .op("DeleteGroup", users::delete_group)
            .op("ListGroups", users::list_groups)
            .op("AddUserToGroup", users::add_user_to_group)
            .op("RemoveUserFromGroup", users::remove_user_from_group)
            .op("ListGroupsForUser", users::list_groups_for_user)
            // roles
            .op("CreateRole", roles::create_role)
            .op("GetRole", roles::get_role)
            .op("DeleteRole", roles::delete_role)
            .op("ListRoles", roles::list_roles)
            .op("UpdateRole", roles::update_role)
            .op("UpdateRoleDescription", roles::update_role_description)
            .op("UpdateAssumeRolePolicy", roles::update_assume_role_policy)
            .op(
                "PutRolePermissionsBoundary",
                users::put_role_permissions_boundary,
            )
            .op(
                "DeleteRolePermissionsBoundary",
                roles::delete_role_permissions_boundary,
            )
            .op("TagRole", roles::tag_role)
            .op("UntagRole", roles::untag_role)
            .op("ListRoleTags", roles::list_role_tags)
            .op("CreateServiceLinkedRole", roles::create_service_linked_role)
            .op("DeleteServiceLinkedRole", roles::delete_service_linked_role)
            .op(
                "GetServiceLinkedRoleDeletionStatus",
                roles::get_service_linked_role_deletion_status,
            )
            // instance profiles
            .op("CreateInstanceProfile", roles::create_instance_profile)
            .op("GetInstanceProfile", roles::get_instance_profile)
            .op("DeleteInstanceProfile", roles::delete_instance_profile)
            .op("ListInstanceProfiles", roles::list_instance_profiles)
            .op(
                "AddRoleToInstanceProfile",
                roles::add_role_to_instance_profile,
            )
            .op(
                "RemoveRoleFromInstanceProfile",
                roles::remove_role_from_instance_profile,
            )
            .op(
                "ListInstanceProfilesForRole",
                roles::list_instance_profiles_for_role,
            )
            .op("TagInstanceProfile", roles::tag_instance_profile)
            .op("UntagInstanceProfile", roles::untag_instance_profile)
            .op("ListInstanceProfileTags", roles::list_instance_profile_tags)
            // managed policies
            .op("CreatePolicy", p::create_policy)
            .op("GetPolicy", p::get_policy)
            .op("DeletePolicy", p::delete_policy)
            .op("ListPolicies", p::list_policies)
            .op("CreatePolicyVersion", p::create_policy_version)
            .op("GetPolicyVersion", p::get_policy_version)
            .op("ListPolicyVersions", p::list_policy_versions)
            .op("DeletePolicyVersion", p::delete_policy_version)
            .op("SetDefaultPolicyVersion", p::set_default_policy_version)
            .op("ListEntitiesForPolicy", p::list_entities_for_policy)
            .op("TagPolicy", p::tag_policy)
            .op("UntagPolicy", p::untag_policy)
            .op("ListPolicyTags", p::list_policy_tags)
            // attached and inline policies
            .op("AttachUserPolicy", p::attach_user_policy)
            .op("DetachUserPolicy", p::detach_user_policy)
            .op("ListAttachedUserPolicies", p::list_attached_user_policies)
            .op("PutUserPolicy", p::put_user_policy)
            .op("GetUserPolicy", p::get_user_policy)
            .op("DeleteUserPolicy", p::delete_user_policy)
            .op("ListUserPolicies", p::list_user_policies)
            .op("AttachGroupPolicy", p::attach_group_policy)
            .op("DetachGroupPolicy", p::detach_group_policy)
            .op("ListAttachedGroupPolicies", p::list_attached_group_policies)
            .op("PutGroupPolicy", p::put_group_policy)
            .op("GetGroupPolicy", p::get_group_policy)
            .op("DeleteGroupPolicy", p::delete_group_policy)
            .op("ListGroupPolicies", p::list_group_policies)
            .op("AttachRolePolicy", p::attach_role_policy)
            .op("DetachRolePolicy", p::detach_role_policy)
            .op("ListAttachedRolePolicies", p::list_attached_role_policies)
            .op("PutRolePolicy", p::put_role_policy)
            .op("GetRolePolicy", p::get_role_policy)
            .op("DeleteRolePolicy", p::delete_role_policy)
            .op("ListRolePolicies", p::list_role_policies)
            // credentials
            .op("CreateAccessKey", credentials::create_access_key)
            .op("DeleteAccessKey", credentials::delete_access_key)
            .op("UpdateAccessKey", credentials::update_access_key)
            .op("ListAccessKeys", credentials::list_access_keys)
            .op(
                "GetAccessKeyLastUsed",
                credentials::get_access_key_last_used,
            )
            .op("CreateLoginProfile", credentials::create_login_profile)
            .op("GetLoginProfile", credentials::get_login_profile)
            .op("UpdateLoginProfile", credentials::update_login_profile)
            .op("DeleteLoginProfile", credentials::delete_login_profile)
            .op(
                "CreateVirtualMFADevice",
                providers::create_virtual_mfa_device,
            )
            .op("EnableMFADevice", providers::enable_mfa_device)
            .op("DeactivateMFADevice", providers::deactivate_mfa_device)
            .op("ResyncMFADevice", providers::resync_mfa_device)
            .op(
                "DeleteVirtualMFADevice",
                providers::delete_virtual_mfa_device,
            )
            .op("ListMFADevices", providers::list_mfa_devices)
            .op("ListVirtualMFADevices", providers::list_virtual_mfa_devices)
            .op("GetMFADevice", providers::get_mfa_device)
            .op("TagMFADevice", providers::tag_mfa_device)
            .op("UntagMFADevice", providers::untag_mfa_device)
            .op("ListMFADeviceTags", providers::list_mfa_device_tags)
            .op("ChangePassword", credentials::change_password)
            // identity providers
            .op(
                "CreateOpenIDConnectProvider",
                providers::create_open_id_connect_provider,
            )
            .op(
                "GetOpenIDConnectProvider",
                providers::get_open_id_connect_provider,
            )
            .op(
                "DeleteOpenIDConnectProvider",
                providers::delete_open_id_connect_provider,
            )
            .op(
                "ListOpenIDConnectProviders",
                providers::list_open_id_connect_providers,
            )
            .op(
                "AddClientIDToOpenIDConnectProvider",
                providers::add_client_id_to_open_id_connect_provider,
            )
            .op(
                "RemoveClientIDFromOpenIDConnectProvider",
                providers::remove_client_id_from_open_id_connect_provider,
            )
            .op(
                "UpdateOpenIDConnectProviderThumbprint",
                providers::update_open_id_connect_provider_thumbprint,
            )
            .op(
                "TagOpenIDConnectProvider",
                providers::tag_open_id_connect_provider,
            )
            .op(
                "UntagOpenIDConnectProvider",
                providers::untag_open_id_connect_provider,
            )
            .op(
                "ListOpenIDConnectProviderTags",
                providers::list_open_id_connect_provider_tags,
            )
            .op("CreateSAMLProvider", providers::create_saml_provider)
            .op("GetSAMLProvider", providers::get_saml_provider)
            .op("UpdateSAMLProvider", providers::update_saml_provider)
            .op("DeleteSAMLProvider", providers::delete_saml_provider)
            .op("ListSAMLProviders", providers::list_saml_providers)
            .op("TagSAMLProvider", providers::tag_saml_provider)
            .op("UntagSAMLProvider", providers::untag_saml_provider)
            .op("ListSAMLProviderTags", providers::list_saml_provider_tags)
            // account
            .op("CreateAccountAlias", account::create_account_alias)
            .op("DeleteAccountAlias", account::delete_account_alias)
            .op("ListAccountAliases", account::list_account_aliases)
            .op(
                "UpdateAccountPasswordPolicy",
                account::update_account_password_policy,
            )
            .op(
                "GetAccountPasswordPolicy",
                account::get_account_password_policy,
            )
            .op(
                "DeleteAccountPasswordPolicy",
                account::delete_account_password_policy,
            )
            .op("GetAccountSummary", account::get_account_summary)
            .op(
                "GetAccountAuthorizationDetails",
                account::get_account_authorization_details,
            )
            .op(
                "GenerateCredentialReport",
                account::generate_credential_report,
            )
            .op("GetCredentialReport", account::get_credential_report)
            .op(
                "SetSecurityTokenServicePreferences",
                account::set_security_token_service_preferences,
            )
            .op(
                "EnableOutboundWebIdentityFederation",
                account::enable_outbound_web_identity_federation,
            )
            .op(
                "DisableOutboundWebIdentityFederation",
                account::disable_outbound_web_identity_federation,
            )
            .op(
                "GetOutboundWebIdentityFederationInfo",
                account::get_outbound_web_identity_federation_info,
            )
            // policy simulation
            .op(
                "SimulatePrincipalPolicy",
                simulate::simulate_principal_policy,
            )
            .op("SimulateCustomPolicy", simulate::simulate_custom_policy)
            .op(
                "GetContextKeysForCustomPolicy",
                simulate::get_context_keys_for_custom_policy,
            )
            .op(
                "GetContextKeysForPrincipalPolicy",
                simulate::get_context_keys_for_principal_policy,
            )
            .op(
                "ListPoliciesGrantingServiceAccess",
                simulate::list_policies_granting_service_access,
            )
            // access advisor
            .op(
                "GenerateServiceLastAccessedDetails",
                access::generate_service_last_accessed_details,
            )
            .op(
                "GetServiceLastAccessedDetails",
                access::get_service_last_accessed_details,
            )
            .op(
                "GetServiceLastAccessedDetailsWithEntities",
                access::get_service_last_accessed_details_with_entities,
            )
            // delegation requests
            .op(
                "CreateDelegationRequest",
                delegation::create_delegation_request,
            )
            .op("GetDelegationRequest", delegation::get_delegation_request)
            .op(
                "ListDelegationRequests",
                delegation::list_delegation_requests,
            )
            .op(
                "AssociateDelegationRequest",
                delegation::associate_delegation_request,
            )
            .op(
                "AcceptDelegationRequest",
                delegation::accept_delegation_request,
            )
            .op(
                "RejectDelegationRequest",
                delegation::reject_delegation_request,
            )
            .op(
                "UpdateDelegationRequest",
                delegation::update_delegation_request,
            )
            .op("SendDelegationToken", delegation::send_delegation_token)
            // SSH keys, certificates, service-specific credentials
            .op("UploadSSHPublicKey", certs::upload_ssh_public_key)
            .op("GetSSHPublicKey", certs::get_ssh_public_key)
            .op("UpdateSSHPublicKey", certs::update_ssh_public_key)
            .op("DeleteSSHPublicKey", certs::delete_ssh_public_key)
            .op("ListSSHPublicKeys", certs::list_ssh_public_keys)
            .op("UploadServerCertificate", certs::upload_server_certificate)
            .op("GetServerCertificate", certs::get_server_certificate)
            .op("ListServerCertificates", certs::list_server_certificates)
            .op("UpdateServerCertificate", certs::update_server_certificate)
            .op("DeleteServerCertificate", certs::delete_server_certificate)
            .op("TagServerCertificate", certs::tag_server_certificate)
            .op("UntagServerCertificate", certs::untag_server_certificate)
            .op(
                "ListServerCertificateTags",
                certs::list_server_certificate_tags,
            )
            .op(
                "UploadSigningCertificate",
                certs::upload_signing_certificate,
            )
            .op(
                "UpdateSigningCertificate",
                certs::update_signing_certificate,
            )
            .op(
                "DeleteSigningCertificate",
                certs::delete_signing_certificate,
            )
            .op("ListSigningCertificates", certs::list_signing_certificates)
            .op(
                "CreateServiceSpecificCredential",
                certs::create_service_specific_credential,
            )
            .op(
                "ResetServiceSpecificCredential",
                certs::reset_service_specific_credential,
            )
            .op(
                "UpdateServiceSpecificCredential",
                certs::update_service_specific_credential,
            )
            .op(
                "DeleteServiceSpecificCredential",
                certs::delete_service_specific_credential,
            )
            .op(
                "ListServiceSpecificCredentials",
                certs::list_service_specific_credentials,
            )
    }

    fn capabilities() -> Vec<String> {
        vec!["identity".to_string()]
    }
}

export_plugin!(Iam);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_routed_operation_is_in_the_model() {
        assert_eq!(
            ministack_sdk::coverage::<Iam>().unknown,
            Vec::<String>::new()
        );
    }

    #[test]
    fn input_errors_are_validation_errors() {
        let ctx = Context::for_test("123456789012", "us-east-1");
        let router = Iam::router().with_model(Iam::MODEL);
        let e = router
            .dispatch(&ctx, "CreateUser", r#"{"UserName": 5}"#)
            .unwrap_err();
        assert_eq!(e.code, "ValidationError");
        let e = router
            .dispatch(&ctx, "CreateUser", r#"{"UserName": "bad name"}"#)
            .unwrap_err();
        assert!(e.message.contains("at 'userName'"), "{}", e.message);
    }
}
