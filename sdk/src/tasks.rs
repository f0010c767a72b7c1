//! Work later, and waiting for events.
//!
//! A scheduled task runs the handler registered with
//! [`crate::Router::task`] in the caller's account and region.

use std::time::Duration;

use serde::Serialize;

use crate::AwsError;
use crate::generated::ministack::plugin::tasks as wit;

/// Runs task `name` with `payload` (serialized as JSON) after `after`;
/// returns the task id (for [`cancel`]).
pub fn schedule<P: Serialize>(
    after: Duration,
    name: &str,
    payload: &P,
) -> Result<String, AwsError> {
    let payload = serde_json::to_string(payload)
        .map_err(|e| AwsError::internal(format!("cannot encode task {name}: {e}")))?;
    Ok(schedule_raw(after, name, &payload))
}

/// [`schedule`] with a payload string as is.
pub fn schedule_raw(after: Duration, name: &str, payload: &str) -> String {
    wit::schedule(
        after.as_millis().min(u64::MAX as u128) as u64,
        name,
        payload,
    )
}

pub fn cancel(task_id: &str) {
    wit::cancel(task_id)
}

/// Wakes every waiter on `topic` (e.g. long polls on a queue).
pub fn notify(topic: &str) {
    wit::notify(topic)
}

/// Waits until `topic` is notified (true) or `timeout` passes (false). Ends
/// the current store unit: writes so far commit, and the next reads see
/// other requests' writes.
pub fn wait(topic: &str, timeout: Duration) -> bool {
    wit::wait(topic, timeout.as_millis().min(u64::MAX as u128) as u64)
}
