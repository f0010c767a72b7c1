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
        let r = r.op_served_by_owner("DeleteQueue", QUEUE_OWNER, queues::delete_queue);
        let r = r.op_served_by_owner("PurgeQueue", QUEUE_OWNER, queues::purge_queue);
        let r = r.op_served_by_owner(
            "GetQueueAttributes",
            QUEUE_OWNER,
            queues::get_queue_attributes,
        );
        let r = r.op_served_by_owner(
            "SetQueueAttributes",
            QUEUE_OWNER,
            queues::set_queue_attributes,
        );
        let r = r.op_served_by_owner("TagQueue", QUEUE_OWNER, queues::tag_queue);
        let r = r.op_served_by_owner("UntagQueue", QUEUE_OWNER, queues::untag_queue);
        let r = r.op_served_by_owner("ListQueueTags", QUEUE_OWNER, queues::list_queue_tags);
        let r = r.op_served_by_owner("AddPermission", QUEUE_OWNER, queues::add_permission);
        let r = r.op_served_by_owner("RemovePermission", QUEUE_OWNER, queues::remove_permission);
        let r = r.op_served_by_owner(
            "ListDeadLetterSourceQueues",
            QUEUE_OWNER,
            queues::list_dead_letter_source_queues,
        );
        let r = r.op_served_by_owner("SendMessage", QUEUE_OWNER, messages::send_message);
        let r = r.op_served_by_owner(
            "SendMessageBatch",
            QUEUE_OWNER,
            messages::send_message_batch,
        );
        let r = r.op_served_by_owner("ReceiveMessage", QUEUE_OWNER, messages::receive_message);
        let r = r.op_served_by_owner("DeleteMessage", QUEUE_OWNER, messages::delete_message);
        let r = r.op_served_by_owner(
            "DeleteMessageBatch",
            QUEUE_OWNER,
            messages::delete_message_batch,
        );
        let r = r.op_served_by_owner(
            "ChangeMessageVisibility",
            QUEUE_OWNER,
            messages::change_message_visibility,
        );
        r.op_served_by_owner(
            "ChangeMessageVisibilityBatch",
            QUEUE_OWNER,
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
const QUEUE_OWNER: Owner = Owner {
    member: "QueueUrl",
    of: queue_owner,
};

fn queue_owner(ctx: &Context, queue_url: &str) -> Option<services::Target> {
    checks::parse_queue_url(queue_url)
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
