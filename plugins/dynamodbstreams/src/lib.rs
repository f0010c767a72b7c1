//! Amazon DynamoDB Streams as a ministack plugin.
//!
//! The stream records are written by the `dynamodb` plugin, in the same
//! store unit as the item write they describe (so a write and its record
//! commit or vanish together, and a transaction's records are all there or
//! none). This plugin owns the DynamoDB Streams API (its model, its
//! `X-Amz-Target` prefix) and reads streams through the host:
//! `services::call("dynamodb", "MinistackInternalStreamsRead", ...)`, an
//! internal operation of the dynamodb plugin that takes the name and the
//! JSON input of a DynamoDB Streams operation and answers its JSON output.

use ministack_sdk::prelude::*;
use ministack_sdk::services::{self, Target};
use serde_json::Value;

pub struct DynamoDbStreams;

impl Service for DynamoDbStreams {
    const NAME: &'static str = "dynamodbstreams";
    const MODEL: &'static str = include_str!("../model/service-2.json");

    fn router() -> Router {
        Router::new()
            .op("ListStreams", list_streams)
            .op("DescribeStream", describe_stream)
            .op("GetShardIterator", get_shard_iterator)
            .op("GetRecords", get_records)
    }
}

export_plugin!(DynamoDbStreams);

/// The dynamodb plugin's internal operation that serves stream reads.
pub const INTERNAL_OPERATION: &str = "MinistackInternalStreamsRead";

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct InternalInput<'a> {
    operation: &'a str,
    input: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct InternalOutput {
    output: String,
}

/// Forwards one DynamoDB Streams operation to the dynamodb plugin.
fn forward(ctx: &Context, operation: &str, input: &Value) -> Result<Value, AwsError> {
    let out: InternalOutput = services::call(
        &Target::new("dynamodb", ctx),
        INTERNAL_OPERATION,
        &InternalInput {
            operation,
            input: input.to_string(),
        },
    )?;
    serde_json::from_str(&out.output)
        .map_err(|e| AwsError::internal(format!("bad stream answer from dynamodb: {e}")))
}

pub fn list_streams(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    forward(ctx, "ListStreams", &input)
}

pub fn describe_stream(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    forward(ctx, "DescribeStream", &input)
}

pub fn get_shard_iterator(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    forward(ctx, "GetShardIterator", &input)
}

pub fn get_records(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    forward(ctx, "GetRecords", &input)
}
