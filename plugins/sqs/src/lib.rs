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
mod resources;

/// Small blocks from free lists, not dlmalloc each time (see
/// `ministack_sdk::alloc`; docs/performance.md, "Plugin code").
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: ministack_sdk::alloc::SmallBlocks = ministack_sdk::alloc::SmallBlocks::new();

pub struct Sqs;

impl Service for Sqs {
    const NAME: &'static str = "sqs";
    const MODEL: &'static str = include_str!("../model/service-2.json");

    fn router() -> Router {
        let r = Router::new()
            .resources(resources::types())
            .op("CreateQueue", queues::create_queue)
            .op("GetQueueUrl", queues::get_queue_url)
            .op("ListQueues", queues::list_queues)
            .op("StartMessageMoveTask", moves::start_message_move_task)
            .op("ListMessageMoveTasks", moves::list_message_move_tasks)
            .op("CancelMessageMoveTask", moves::cancel_message_move_task)
            .http(peek::serve);
        // Operations on a QueueUrl: a URL in another account is served
        // there (see `queue_owner`).
        let r = r.op_served_by_owner("DeleteQueue", queue_owner, queues::delete_queue);
        let r = r.op_served_by_owner("PurgeQueue", queue_owner, queues::purge_queue);
        let r = r.op_served_by_owner(
            "GetQueueAttributes",
            queue_owner,
            queues::get_queue_attributes,
        );
        let r = r.op_served_by_owner(
            "SetQueueAttributes",
            queue_owner,
            queues::set_queue_attributes,
        );
        let r = r.op_served_by_owner("TagQueue", queue_owner, queues::tag_queue);
        let r = r.op_served_by_owner("UntagQueue", queue_owner, queues::untag_queue);
        let r = r.op_served_by_owner("ListQueueTags", queue_owner, queues::list_queue_tags);
        let r = r.op_served_by_owner("AddPermission", queue_owner, queues::add_permission);
        let r = r.op_served_by_owner("RemovePermission", queue_owner, queues::remove_permission);
        let r = r.op_served_by_owner(
            "ListDeadLetterSourceQueues",
            queue_owner,
            queues::list_dead_letter_source_queues,
        );
        let r = r.op_served_by_owner("SendMessage", queue_owner, messages::send_message);
        let r = r.op_served_by_owner(
            "SendMessageBatch",
            queue_owner,
            messages::send_message_batch,
        );
        let r = r.op_served_by_owner("ReceiveMessage", queue_owner, messages::receive_message);
        let r = r.op_served_by_owner("DeleteMessage", queue_owner, messages::delete_message);
        let r = r.op_served_by_owner(
            "DeleteMessageBatch",
            queue_owner,
            messages::delete_message_batch,
        );
        let r = r.op_served_by_owner(
            "ChangeMessageVisibility",
            queue_owner,
            messages::change_message_visibility,
        );
        r.op_served_by_owner(
            "ChangeMessageVisibilityBatch",
            queue_owner,
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

/// The owner of the queue a request's `QueueUrl` names, when that is
/// another account: the request is served there, as SQS serves a queue
/// shared with another account. Queue policies are not evaluated.
fn queue_owner(ctx: &Context, input: &serde_json::Value) -> Option<services::Target> {
    input
        .get("QueueUrl")
        .and_then(|u| u.as_str())
        .and_then(checks::parse_queue_url)
        .and_then(|(account, _)| account)
        .filter(|a| *a != ctx.account)
        .map(|account| services::Target::at("sqs", &account, &ctx.region))
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
