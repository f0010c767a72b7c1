//! Amazon SNS as a ministack plugin.
//!
//! Topics, subscriptions, platform applications and endpoints live per
//! account and region. Publish fans out synchronously to SQS (through
//! `services.call` into the sqs plugin, in the queue's own account and
//! region, so the message is queued when Publish returns), to Lambda
//! (`Invoke` with `InvocationType: Event`; logged and skipped when the function
//! or the lambda plugin is missing), and schedules HTTP/HTTPS POSTs as tasks (the `http`
//! capability) so a slow endpoint does not hold Publish. email, email-json,
//! sms, application endpoints and firehose deliveries are recorded and
//! readable at `GET /_ministack/sns/messages`.
//!
//! Signatures in notifications are placeholders (base64 of random bytes):
//! nothing signs with a real certificate.

use ministack_sdk::prelude::*;
use ministack_sdk::services;

pub mod filter;
mod inspect;
mod mobile;
mod model;
mod publish;
mod resources;
mod sms;
mod subscriptions;
mod topics;

pub struct Sns;

impl Service for Sns {
    const NAME: &'static str = "sns";
    const MODEL: &'static str = include_str!("../model/service-2.json");

    fn router() -> Router {
        let r = Router::new()
            .resources(resources::types())
            .op("CreateTopic", topics::create_topic)
            .op("ListTopics", topics::list_topics)
            .op("ListSubscriptions", subscriptions::list_subscriptions)
            .op(
                "CreatePlatformApplication",
                mobile::create_platform_application,
            )
            .op(
                "GetPlatformApplicationAttributes",
                mobile::get_platform_application_attributes,
            )
            .op(
                "SetPlatformApplicationAttributes",
                mobile::set_platform_application_attributes,
            )
            .op(
                "DeletePlatformApplication",
                mobile::delete_platform_application,
            )
            .op(
                "ListPlatformApplications",
                mobile::list_platform_applications,
            )
            .op("CreatePlatformEndpoint", mobile::create_platform_endpoint)
            .op("GetEndpointAttributes", mobile::get_endpoint_attributes)
            .op("SetEndpointAttributes", mobile::set_endpoint_attributes)
            .op("DeleteEndpoint", mobile::delete_endpoint)
            .op(
                "ListEndpointsByPlatformApplication",
                mobile::list_endpoints_by_platform_application,
            )
            .op("SetSMSAttributes", sms::set_sms_attributes)
            .op("GetSMSAttributes", sms::get_sms_attributes)
            .op(
                "CheckIfPhoneNumberIsOptedOut",
                sms::check_if_phone_number_is_opted_out,
            )
            .op(
                "ListPhoneNumbersOptedOut",
                sms::list_phone_numbers_opted_out,
            )
            .op("OptInPhoneNumber", sms::opt_in_phone_number)
            .op(
                "CreateSMSSandboxPhoneNumber",
                sms::create_sms_sandbox_phone_number,
            )
            .op(
                "VerifySMSSandboxPhoneNumber",
                sms::verify_sms_sandbox_phone_number,
            )
            .op(
                "DeleteSMSSandboxPhoneNumber",
                sms::delete_sms_sandbox_phone_number,
            )
            .op(
                "ListSMSSandboxPhoneNumbers",
                sms::list_sms_sandbox_phone_numbers,
            )
            .op(
                "GetSMSSandboxAccountStatus",
                sms::get_sms_sandbox_account_status,
            )
            .op("ListOriginationNumbers", sms::list_origination_numbers)
            .task(publish::DELIVER_HTTP, publish::deliver_http_task)
            .http(inspect::serve);
        // Operations on a TopicArn: a topic in another account or region is
        // served there (services.call into this plugin), as SNS serves a
        // topic shared through its policy. Topic policies are not evaluated.
        let r = r.op_served_by_owner("DeleteTopic", TOPIC_OWNER, topics::delete_topic);
        let r = r.op_served_by_owner(
            "GetTopicAttributes",
            TOPIC_OWNER,
            topics::get_topic_attributes,
        );
        let r = r.op_served_by_owner(
            "SetTopicAttributes",
            TOPIC_OWNER,
            topics::set_topic_attributes,
        );
        let r = r.op_served_by_owner("AddPermission", TOPIC_OWNER, topics::add_permission);
        let r = r.op_served_by_owner("RemovePermission", TOPIC_OWNER, topics::remove_permission);
        let r = r.op_served_by_owner("Subscribe", TOPIC_OWNER, subscriptions::subscribe);
        let r = r.op_served_by_owner(
            "ConfirmSubscription",
            TOPIC_OWNER,
            subscriptions::confirm_subscription,
        );
        let r = r.op_served_by_owner(
            "ListSubscriptionsByTopic",
            TOPIC_OWNER,
            subscriptions::list_subscriptions_by_topic,
        );
        let r = r.op_served_by_owner("Publish", TOPIC_OWNER, publish::publish);
        let r = r.op_served_by_owner(
            "GetSubscriptionAttributes",
            SUBSCRIPTION_OWNER,
            subscriptions::get_subscription_attributes,
        );
        let r = r.op_served_by_owner(
            "SetSubscriptionAttributes",
            SUBSCRIPTION_OWNER,
            subscriptions::set_subscription_attributes,
        );
        let r = r.op_served_by_owner(
            "Unsubscribe",
            SUBSCRIPTION_OWNER,
            subscriptions::unsubscribe,
        );
        let r = r.op_served_by_owner("TagResource", RESOURCE_OWNER, topics::tag_resource);
        let r = r.op_served_by_owner("UntagResource", RESOURCE_OWNER, topics::untag_resource);
        let r = r.op_served_by_owner(
            "ListTagsForResource",
            RESOURCE_OWNER,
            topics::list_tags_for_resource,
        );
        let r = r.op_served_by_owner(
            "GetDataProtectionPolicy",
            RESOURCE_OWNER,
            topics::get_data_protection_policy,
        );
        let r = r.op_served_by_owner(
            "PutDataProtectionPolicy",
            RESOURCE_OWNER,
            topics::put_data_protection_policy,
        );
        r.op_served_by_owner("PublishBatch", TOPIC_OWNER, publish::publish_batch)
    }

    fn raw_routes() -> Vec<ministack_sdk::RawRoute> {
        vec![ministack_sdk::RawRoute {
            host_suffix: String::new(),
            path_prefix: "/_ministack/sns/".into(),
        }]
    }

    fn capabilities() -> Vec<String> {
        vec!["http".to_string()]
    }
}

/// Where the topic a request's `TopicArn` names lives, when that is another
/// account of this region: the request is served there (`services.call` into
/// this plugin), as SNS serves a topic shared through its policy. Policies
/// are not evaluated.
const TOPIC_OWNER: Owner = Owner {
    member: "TopicArn",
    of: owner_of_arn,
};

/// [`TOPIC_OWNER`] for operations on a subscription.
const SUBSCRIPTION_OWNER: Owner = Owner {
    member: "SubscriptionArn",
    of: owner_of_arn,
};

/// [`TOPIC_OWNER`] for the `ResourceArn` of the tagging operations.
const RESOURCE_OWNER: Owner = Owner {
    member: "ResourceArn",
    of: owner_of_arn,
};

fn owner_of_arn(ctx: &Context, arn: &str) -> Option<services::Target> {
    Arn::parse(arn)
        .filter(|a| a.service == "sns" && ids_ok(a))
        // A regional endpoint serves only its region's topics: another
        // region's ARN is refused here (InvalidParameter), not forwarded.
        // Unsigned requests (the SubscribeURL and UnsubscribeURL links SNS
        // hands out) carry no region of their own and follow the ARN.
        .filter(|a| {
            let elsewhere = a.account != ctx.account || a.region != ctx.region;
            if ctx.access_key_id.is_empty() {
                elsewhere
            } else {
                a.account != ctx.account && a.region == ctx.region
            }
        })
        .map(|arn| services::Target::at("sns", &arn.account, &arn.region))
}

fn ids_ok(a: &Arn) -> bool {
    ministack_sdk::ids::is_account_id(&a.account) && !a.region.is_empty()
}

export_plugin!(Sns);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn implements_every_operation_of_the_model() {
        assert_eq!(
            ministack_sdk::coverage::<Sns>(),
            ministack_sdk::Coverage::default()
        );
    }
}
