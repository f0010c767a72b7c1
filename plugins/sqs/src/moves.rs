//! Message move tasks: StartMessageMoveTask, ListMessageMoveTasks,
//! CancelMessageMoveTask. A task moves every message of a dead-letter queue
//! back to its source queue (or to DestinationArn) within the request that
//! starts it, so a task is COMPLETED when StartMessageMoveTask returns.

use ministack_sdk::encoding::{base64url_decode, base64url_encode};
use ministack_sdk::prelude::*;
use ministack_sdk::{ids, time};

use crate::messages::{MESSAGES, Message, enqueue_moved, remove_message};
use crate::queues::{QUEUES, Queue, parse_redrive};

#[derive(Serialize, Deserialize, Clone, Default)]
#[serde(rename_all = "PascalCase")]
pub struct MoveTask {
    task_handle: String,
    status: String,
    source_arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    destination_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_number_of_messages_per_second: Option<i64>,
    approximate_number_of_messages_moved: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    approximate_number_of_messages_to_move: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    failure_reason: Option<String>,
    started_timestamp: u64,
}

/// Tasks keyed `(source queue, newest first)`.
const MOVES: Table<MoveTask> = Table::new("move-tasks");

fn not_found(msg: impl Into<String>) -> AwsError {
    AwsError::new("ResourceNotFoundException", msg)
}

/// The queue an ARN names, in the caller's account and region.
fn queue_of_arn(ctx: &Context, arn: &str) -> Result<Queue, AwsError> {
    let parsed: Arn = arn.parse().map_err(|_| {
        AwsError::new(
            "InvalidParameterValue",
            format!("{arn} is not a valid ARN."),
        )
    })?;
    if parsed.service != "sqs" || parsed.account != ctx.account || parsed.region != ctx.region {
        return Err(not_found(
            "The resource that you specified for the SourceArn parameter doesn't exist.",
        ));
    }
    QUEUES.get(&parsed.resource)?.ok_or_else(|| {
        not_found("The resource that you specified for the SourceArn parameter doesn't exist.")
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StartRequest {
    source_arn: String,
    destination_arn: Option<String>,
    max_number_of_messages_per_second: Option<i64>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StartResult {
    task_handle: String,
}

/// Moves one message of a move task to `destination`, or back to the queue
/// it was dead-lettered from; false when it has neither.
fn move_back(
    ctx: &Context,
    destination: Option<&Queue>,
    key: &str,
    m: &Message,
) -> Result<bool, AwsError> {
    let target = match destination {
        Some(d) => Some(d.clone()),
        None => match &m.source {
            Some(arn) => queue_of_arn(ctx, arn).ok(),
            None => None,
        },
    };
    let Some(target) = target else {
        return Ok(false);
    };
    let mut back = m.clone();
    back.receive_count = 0;
    back.first_receive = None;
    back.source = None;
    // Reload: an earlier move may have bumped its sequence.
    let target = QUEUES.get(&target.name)?.unwrap_or(target);
    enqueue_moved(target, back)?;
    remove_message(key, m);
    Ok(true)
}

pub fn start_message_move_task(
    ctx: &Context,
    input: StartRequest,
) -> Result<StartResult, AwsError> {
    let source = queue_of_arn(ctx, &input.source_arn)?;
    let is_dlq = QUEUES.values("")?.iter().any(|q| {
        q.attributes
            .get("RedrivePolicy")
            .and_then(|p| parse_redrive(p))
            .is_some_and(|(t, _)| t == input.source_arn)
    });
    if !is_dlq {
        return Err(AwsError::new(
            "InvalidParameterValue",
            "Source queue must be configured as a Dead Letter Queue.",
        ));
    }
    if let Some(rate) = input.max_number_of_messages_per_second
        && !(1..=500).contains(&rate)
    {
        return Err(AwsError::new(
            "InvalidParameterValue",
            "Value for parameter MaxNumberOfMessagesPerSecond is invalid. Reason: Must be between 1 and 500.",
        ));
    }
    let destination = match &input.destination_arn {
        Some(arn) => Some(queue_of_arn(ctx, arn)?),
        None => None,
    };
    // In pages: a dead-letter queue larger than the plugin's memory moves
    // too. Up to the last row there now: a move into the queue itself
    // would otherwise come round again.
    let prefix = keys::prefix(&[&source.name]);
    let last_now = MESSAGES.scan(&Scan::prefix(prefix.clone()).reverse().limit(1))?;
    let (mut total, mut moved) = (0, 0);
    if let Some((last_now, _)) = last_now.into_iter().next() {
        let upto = Scan::prefix(prefix).to(format!("{last_now}\0"));
        MESSAGES.scan_pages(&upto, 512, |rows| {
            total += rows.len() as u64;
            for (key, m) in rows {
                if move_back(ctx, destination.as_ref(), &key, &m)? {
                    moved += 1;
                }
            }
            Ok(true)
        })?;
    }
    let started = time::now_millis();
    let id = ids::alnum(16);
    let handle = base64url_encode(
        format!("{}\n{}\n{}", source.name, keys::u64_desc(started), id).as_bytes(),
    );
    let task = MoveTask {
        task_handle: handle.clone(),
        status: "COMPLETED".into(),
        source_arn: input.source_arn,
        destination_arn: input.destination_arn,
        max_number_of_messages_per_second: input.max_number_of_messages_per_second,
        approximate_number_of_messages_moved: moved,
        approximate_number_of_messages_to_move: Some(total),
        failure_reason: None,
        started_timestamp: started,
    };
    MOVES.put(&task_key(&handle).unwrap_or_default(), &task)?;
    Ok(StartResult {
        task_handle: handle,
    })
}

fn task_key(handle: &str) -> Option<String> {
    let raw = String::from_utf8(base64url_decode(handle)?).ok()?;
    let mut it = raw.splitn(3, '\n');
    let (queue, when, id) = (it.next()?, it.next()?, it.next()?);
    Some(keys::join(&[queue, &format!("{when}{id}")]))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListRequest {
    source_arn: String,
    max_results: Option<i64>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListResult {
    results: Vec<MoveTask>,
}

pub fn list_message_move_tasks(ctx: &Context, input: ListRequest) -> Result<ListResult, AwsError> {
    let source = queue_of_arn(ctx, &input.source_arn)?;
    let limit = input.max_results.unwrap_or(1);
    if !(1..=10).contains(&limit) {
        return Err(AwsError::new(
            "InvalidParameterValue",
            "Value for parameter MaxResults is invalid. Reason: Must be between 1 and 10.",
        ));
    }
    let rows = MOVES.scan(&Scan::prefix(keys::prefix(&[&source.name])).limit(limit as u32))?;
    Ok(ListResult {
        results: rows.into_iter().map(|(_, t)| t).collect(),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CancelRequest {
    task_handle: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CancelResult {
    approximate_number_of_messages_moved: u64,
}

pub fn cancel_message_move_task(
    _ctx: &Context,
    input: CancelRequest,
) -> Result<CancelResult, AwsError> {
    let key =
        task_key(&input.task_handle).ok_or_else(|| not_found("The task handle is invalid."))?;
    let task = MOVES
        .get(&key)?
        .ok_or_else(|| not_found("The task does not exist."))?;
    if task.status != "RUNNING" {
        // Tasks here finish within StartMessageMoveTask.
        return Err(AwsError::new(
            "UnsupportedOperation",
            "Only tasks with status RUNNING can be cancelled.",
        ));
    }
    Ok(CancelResult {
        approximate_number_of_messages_moved: task.approximate_number_of_messages_moved,
    })
}
