//! Enhanced fan-out: stream consumers and SubscribeToShard.
//!
//! SubscribeToShard answers at once with an open event stream (the
//! platform's streamed responses, docs/streaming.md); a task then pushes a
//! `SubscribeToShardEvent` with every record put into the shard, waiting on
//! the shard's topic between reads, an empty event every 5 seconds of
//! silence (AWS keeps the connection alive the same way), and ends the
//! stream after 5 minutes, or after the last record of a closed shard with
//! its `ChildShards`.

use std::collections::BTreeMap;
use std::time::Duration;

use ministack_sdk::prelude::*;
use ministack_sdk::{tasks, time};

use crate::records::{self, shard_topic};
use crate::shapes::{
    Consumer, ConsumerDescription, ConsumerStatus, DeregisterStreamConsumerInput,
    DeregisterStreamConsumerOutput, DescribeStreamConsumerInput, DescribeStreamConsumerOutput,
    LimitExceededException, ListStreamConsumersInput, ListStreamConsumersOutput,
    RegisterStreamConsumerInput, RegisterStreamConsumerOutput, SubscribeToShardEvent,
    SubscribeToShardInput,
};
use crate::streams::{STREAMS, find, name_of_arn};
use crate::{in_use, invalid_argument, not_found};

/// Consumers: (stream ARN, consumer name) → consumer.
pub const CONSUMERS: Table<ConsumerRecord> = Table::new("consumers");
pub const FEED_TASK: &str = "subscribe-feed";
/// Registered consumers per stream (AWS: 20).
const MAX_CONSUMERS: usize = 20;
/// How long one subscription lasts (AWS: 5 minutes).
const SUBSCRIPTION_MS: u64 = 5 * 60 * 1000;
/// An empty event after this much silence.
const HEARTBEAT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConsumerRecord {
    pub name: String,
    pub arn: String,
    pub stream_arn: String,
    pub created: f64,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

impl ConsumerRecord {
    fn shape(&self) -> Consumer {
        Consumer {
            consumer_name: self.name.clone(),
            consumer_arn: self.arn.clone(),
            consumer_status: ConsumerStatus::Active,
            consumer_creation_timestamp: self.created,
        }
    }
}

pub fn of_stream(stream_arn: &str) -> Result<Vec<(String, ConsumerRecord)>, AwsError> {
    CONSUMERS.scan(&Scan::prefix(keys::prefix(&[stream_arn])))
}

/// `<stream ARN>/consumer/<name>:<created>` → (stream ARN, name).
fn split_consumer_arn(arn: &str) -> Option<(&str, &str)> {
    let (stream_arn, rest) = arn.split_once("/consumer/")?;
    let (name, created) = rest.rsplit_once(':')?;
    (!created.is_empty() && created.bytes().all(|b| b.is_ascii_digit()))
        .then_some((stream_arn, name))
}

/// The consumer named by its ARN, or by stream ARN and name.
pub fn find_consumer(
    ctx: &Context,
    stream_arn: Option<&str>,
    name: Option<&str>,
    consumer_arn: Option<&str>,
) -> Result<(String, ConsumerRecord), AwsError> {
    let (stream_arn, name) = match (consumer_arn, stream_arn, name) {
        (Some(arn), _, _) => split_consumer_arn(arn)
            .map(|(s, n)| (s.to_string(), n.to_string()))
            .ok_or_else(|| invalid_argument(format!("Invalid ConsumerARN: {arn}")))?,
        (None, Some(s), Some(n)) => (s.to_string(), n.to_string()),
        _ => {
            return Err(invalid_argument(
                "Either ConsumerARN or both StreamARN and ConsumerName must be provided.",
            ));
        }
    };
    name_of_arn(ctx, &stream_arn)?;
    let key = keys::join(&[&stream_arn, &name]);
    let consumer = CONSUMERS
        .get(&key)?
        .filter(|c| consumer_arn.is_none_or(|a| a == c.arn))
        .ok_or_else(|| {
            not_found(format!(
                "Consumer {name} under stream {stream_arn} not found."
            ))
        })?;
    Ok((key, consumer))
}

pub fn register(
    ctx: &Context,
    input: RegisterStreamConsumerInput,
) -> Result<RegisterStreamConsumerOutput, AwsError> {
    let stream = find(ctx, None, Some(&input.stream_arn))?;
    let key = keys::join(&[&stream.arn, &input.consumer_name]);
    if CONSUMERS.contains(&key) {
        return Err(in_use(format!(
            "Consumer {} under stream {} already exists.",
            input.consumer_name, stream.arn
        )));
    }
    if of_stream(&stream.arn)?.len() >= MAX_CONSUMERS {
        return Err(LimitExceededException::new(format!(
            "Stream {} already has {MAX_CONSUMERS} registered consumers.",
            stream.name
        ))
        .into());
    }
    if let Some(tags) = &input.tags {
        crate::extras::check_tags(tags)?;
    }
    let created = time::now_secs();
    let consumer = ConsumerRecord {
        arn: format!("{}/consumer/{}:{created}", stream.arn, input.consumer_name),
        name: input.consumer_name.clone(),
        stream_arn: stream.arn.clone(),
        created: created as f64,
        tags: input.tags.unwrap_or_default(),
    };
    CONSUMERS.put(&key, &consumer)?;
    Ok(RegisterStreamConsumerOutput {
        consumer: consumer.shape(),
    })
}

pub fn deregister(
    ctx: &Context,
    input: DeregisterStreamConsumerInput,
) -> Result<DeregisterStreamConsumerOutput, AwsError> {
    let (key, consumer) = find_consumer(
        ctx,
        input.stream_arn.as_deref(),
        input.consumer_name.as_deref(),
        input.consumer_arn.as_deref(),
    )?;
    CONSUMERS.delete(&key);
    crate::extras::POLICIES.delete(&consumer.arn);
    Ok(DeregisterStreamConsumerOutput::default())
}

pub fn describe(
    ctx: &Context,
    input: DescribeStreamConsumerInput,
) -> Result<DescribeStreamConsumerOutput, AwsError> {
    let (_, c) = find_consumer(
        ctx,
        input.stream_arn.as_deref(),
        input.consumer_name.as_deref(),
        input.consumer_arn.as_deref(),
    )?;
    Ok(DescribeStreamConsumerOutput {
        consumer_description: ConsumerDescription {
            consumer_name: c.name.clone(),
            consumer_arn: c.arn.clone(),
            consumer_status: ConsumerStatus::Active,
            consumer_creation_timestamp: c.created,
            stream_arn: c.stream_arn.clone(),
        },
    })
}

pub fn list(
    ctx: &Context,
    input: ListStreamConsumersInput,
) -> Result<ListStreamConsumersOutput, AwsError> {
    let stream = find(ctx, None, Some(&input.stream_arn))?;
    let limit = input.max_results.unwrap_or(100).clamp(1, 10000) as u32;
    let page = CONSUMERS
        .page(
            &Scan::prefix(keys::prefix(&[&stream.arn])),
            input.next_token.as_deref(),
            limit,
        )
        .map_err(|_| invalid_argument("Invalid NextToken."))?;
    Ok(ListStreamConsumersOutput {
        consumers: Some(page.items.iter().map(|(_, c)| c.shape()).collect()),
        next_token: page.next_token,
    })
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SubscribeOutput {
    event_stream: EventStream,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Feed {
    /// The event stream's id.
    pub events: String,
    pub stream: String,
    pub stream_id: String,
    pub shard: String,
    pub consumer_key: String,
    /// Counter of the next record to send.
    pub next: u64,
    pub until_ms: u64,
}

pub fn subscribe(ctx: &Context, input: SubscribeToShardInput) -> Result<SubscribeOutput, AwsError> {
    let (consumer_key, consumer) = find_consumer(ctx, None, None, Some(&input.consumer_arn))?;
    let name = name_of_arn(ctx, &consumer.stream_arn)?;
    let stream = STREAMS
        .get(&name)?
        .ok_or_else(|| crate::streams::stream_not_found(ctx, &name))?;
    let shard = stream.shard(&input.shard_id)?;
    let start = &input.starting_position;
    let next = records::start_counter(
        &stream,
        shard,
        &start.r#type,
        start.sequence_number.as_deref(),
        start.timestamp,
    )?;
    let events = EventStream::open();
    tasks::schedule(
        Duration::ZERO,
        FEED_TASK,
        &Feed {
            events: events.id().to_string(),
            stream: stream.name.clone(),
            stream_id: stream.id.clone(),
            shard: shard.id.clone(),
            consumer_key,
            next,
            until_ms: time::now_millis() + SUBSCRIPTION_MS,
        },
    )?;
    Ok(SubscribeOutput {
        event_stream: events,
    })
}

/// The task feeding one subscription.
pub fn feed(ctx: &Context, mut job: Feed) -> Result<(), AwsError> {
    let events = EventStream::from_id(&job.events);
    let topic = shard_topic(&job.stream_id, &job.shard);
    let mut seen = tasks::topic_generation(crate::Kinesis::NAME, &topic)?;
    let mut first = true;
    loop {
        let stream = STREAMS.get(&job.stream)?.filter(|s| s.id == job.stream_id);
        let (Some(stream), true) = (stream, CONSUMERS.contains(&job.consumer_key)) else {
            events.send(
                "ResourceNotFoundException",
                &serde_json::json!({"message": "The stream or the consumer was deleted."}),
            );
            events.close();
            return Ok(());
        };
        let shard = stream.shard(&job.shard)?.clone();
        let batch = records::read(ctx, &stream, &shard, job.next, 10_000)?;
        job.next = batch.next;
        let finished = !shard.is_open() && batch.at_tip;
        if first || !batch.records.is_empty() || finished {
            first = false;
            let event = SubscribeToShardEvent {
                records: batch.records,
                continuation_sequence_number: stream.seq(&shard, job.next - 1),
                millis_behind_latest: batch.millis_behind,
                child_shards: finished.then(|| stream.children(&shard.id)),
            };
            if !events.send("SubscribeToShardEvent", &event) {
                return Ok(());
            }
        }
        let now = time::now_millis();
        if finished || now >= job.until_ms {
            events.close();
            return Ok(());
        }
        if !batch.at_tip {
            // More to read: commit this event and go on at once.
            tasks::wait("kinesis-never", Duration::ZERO);
            continue;
        }
        let timeout = HEARTBEAT.min(Duration::from_millis(job.until_ms - now));
        let woken = tasks::wait_on(crate::Kinesis::NAME, &topic, seen, timeout)?;
        if woken == seen {
            // Silence: a keep-alive event.
            first = true;
        }
        seen = woken;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consumer_arns_split_into_stream_and_name() {
        let arn = "arn:aws:kinesis:us-east-1:123456789012:stream/s1/consumer/c1:1700000000";
        assert_eq!(
            split_consumer_arn(arn),
            Some(("arn:aws:kinesis:us-east-1:123456789012:stream/s1", "c1"))
        );
        assert_eq!(split_consumer_arn("arn:aws:kinesis:x:1:stream/s1"), None);
    }
}
