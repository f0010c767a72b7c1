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

pub mod checks;
mod messages;
mod moves;
mod queues;

pub struct Sqs;

impl Service for Sqs {
    const NAME: &'static str = "sqs";
    const MODEL: &'static str = include_str!("../model/service-2.json");

    fn router() -> Router {
        Router::new()
            .op("CreateQueue", queues::create_queue)
            .op("GetQueueUrl", queues::get_queue_url)
            .op("ListQueues", queues::list_queues)
            .op("DeleteQueue", queues::delete_queue)
            .op("PurgeQueue", queues::purge_queue)
            .op("GetQueueAttributes", queues::get_queue_attributes)
            .op("SetQueueAttributes", queues::set_queue_attributes)
            .op("TagQueue", queues::tag_queue)
            .op("UntagQueue", queues::untag_queue)
            .op("ListQueueTags", queues::list_queue_tags)
            .op("AddPermission", queues::add_permission)
            .op("RemovePermission", queues::remove_permission)
            .op(
                "ListDeadLetterSourceQueues",
                queues::list_dead_letter_source_queues,
            )
            .op("SendMessage", messages::send_message)
            .op("SendMessageBatch", messages::send_message_batch)
            .op("ReceiveMessage", messages::receive_message)
            .op("DeleteMessage", messages::delete_message)
            .op("DeleteMessageBatch", messages::delete_message_batch)
            .op(
                "ChangeMessageVisibility",
                messages::change_message_visibility,
            )
            .op(
                "ChangeMessageVisibilityBatch",
                messages::change_message_visibility_batch,
            )
            .op("StartMessageMoveTask", moves::start_message_move_task)
            .op("ListMessageMoveTasks", moves::list_message_move_tasks)
            .op("CancelMessageMoveTask", moves::cancel_message_move_task)
    }
}

export_plugin!(Sqs);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn implements_every_operation_of_the_model() {
        let model: serde_json::Value = serde_json::from_str(Sqs::MODEL).unwrap();
        let mut modelled: Vec<String> = model["operations"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        modelled.sort();
        assert_eq!(Sqs::router().operations(), modelled);
    }
}
