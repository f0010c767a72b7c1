//! Amazon SQS as a ministack plugin.
//!
//! Queues live per account and region; messages are rows keyed by queue and
//! send order (FIFO: sequence number). Visibility timeouts, delays,
//! retention and redrive are evaluated lazily when a queue is read, from
//! `time::now()`; no background task runs. Long polling waits on a
//! per-queue topic that SendMessage notifies.
//!
//! Queue URLs are `{endpoint}/{account}/{name}`; a QueueUrl is accepted in
//! any form whose path ends `/<account>/<name>`.

use ministack_sdk::prelude::*;
use ministack_sdk::services;

pub mod checks;
mod messages;
mod moves;
mod peek;
mod queues;

pub struct Sqs;

impl Service for Sqs {
    const NAME: &'static str = "sqs";
    const MODEL: &'static str = include_str!("../model/service-2.json");

    fn router() -> Router {
        let r = Router::new()
            .op("CreateQueue", queues::create_queue)
            .op("GetQueueUrl", queues::get_queue_url)
            .op("ListQueues", queues::list_queues)
            .op("StartMessageMoveTask", moves::start_message_move_task)
            .op("ListMessageMoveTasks", moves::list_message_move_tasks)
            .op("CancelMessageMoveTask", moves::cancel_message_move_task)
            .http(peek::serve);
        // Operations on a QueueUrl: a URL in another account is served
        // there (see `by_url`).
        let r = by_url(r, "DeleteQueue", queues::delete_queue);
        let r = by_url(r, "PurgeQueue", queues::purge_queue);
        let r = by_url(r, "GetQueueAttributes", queues::get_queue_attributes);
        let r = by_url(r, "SetQueueAttributes", queues::set_queue_attributes);
        let r = by_url(r, "TagQueue", queues::tag_queue);
        let r = by_url(r, "UntagQueue", queues::untag_queue);
        let r = by_url(r, "ListQueueTags", queues::list_queue_tags);
        let r = by_url(r, "AddPermission", queues::add_permission);
        let r = by_url(r, "RemovePermission", queues::remove_permission);
        let r = by_url(
            r,
            "ListDeadLetterSourceQueues",
            queues::list_dead_letter_source_queues,
        );
        let r = by_url(r, "SendMessage", messages::send_message);
        let r = by_url(r, "SendMessageBatch", messages::send_message_batch);
        let r = by_url(r, "ReceiveMessage", messages::receive_message);
        let r = by_url(r, "DeleteMessage", messages::delete_message);
        let r = by_url(r, "DeleteMessageBatch", messages::delete_message_batch);
        let r = by_url(
            r,
            "ChangeMessageVisibility",
            messages::change_message_visibility,
        );
        by_url(
            r,
            "ChangeMessageVisibilityBatch",
            messages::change_message_visibility_batch,
        )
    }

    fn raw_routes() -> Vec<ministack_sdk::RawRoute> {
        vec![ministack_sdk::RawRoute {
            host_suffix: String::new(),
            path_prefix: "/_ministack/sqs/".into(),
        }]
    }
}

/// Registers an operation that names its queue by QueueUrl. When the URL's
/// account is not the caller's, the request is served in that account
/// (`services.call` into this plugin there), as SQS serves a queue shared
/// with another account. Queue policies are not evaluated.
fn by_url<In, Out>(
    router: Router,
    name: &'static str,
    handler: fn(&Context, In) -> Result<Out, AwsError>,
) -> Router
where
    In: serde::de::DeserializeOwned + 'static,
    Out: Serialize + 'static,
{
    router.op(name, move |ctx: &Context, input: serde_json::Value| {
        let owner = input
            .get("QueueUrl")
            .and_then(|u| u.as_str())
            .and_then(checks::parse_queue_url)
            .and_then(|(account, _)| account)
            .filter(|a| *a != ctx.account);
        if let Some(account) = owner {
            let target = services::Target::at("sqs", &account, &ctx.region);
            let out = services::call_json(&target, name, &input.to_string())?;
            return serde_json::from_str::<serde_json::Value>(&out)
                .map_err(|e| AwsError::internal(format!("unexpected output of {name}: {e}")));
        }
        let typed: In = serde_json::from_value(input)
            .map_err(|e| AwsError::validation(format!("Invalid input for {name}: {e}")))?;
        serde_json::to_value(handler(ctx, typed)?)
            .map_err(|e| AwsError::internal(format!("cannot encode the output of {name}: {e}")))
    })
}

export_plugin!(Sqs);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn implements_every_operation_of_the_model() {
        assert_eq!(
            ministack_sdk::coverage::<Sqs>(),
            ministack_sdk::Coverage::default()
        );
    }
}
