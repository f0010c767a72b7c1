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
//!
//! Inputs and outputs are the shapes generated from the model at build time
//! (`build.rs`, module [`shapes`]): input that does not fit the model is
//! refused here, and the answer is checked against the output shape.

use ministack_sdk::prelude::*;
use ministack_sdk::services::{self, Target};
use serde::de::DeserializeOwned;

ministack_sdk::include_shapes!(pub mod shapes);

use shapes::{
    DescribeStreamInput, DescribeStreamOutput, GetRecordsInput, GetRecordsOutput,
    GetShardIteratorInput, GetShardIteratorOutput, ListStreamsInput, ListStreamsOutput,
};

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
fn forward<In: Serialize, Out: DeserializeOwned>(
    ctx: &Context,
    operation: &str,
    input: &In,
) -> Result<Out, AwsError> {
    let input = serde_json::to_string(input)
        .map_err(|e| AwsError::internal(format!("cannot encode {operation}: {e}")))?;
    let out: InternalOutput = services::call(
        &Target::new("dynamodb", ctx),
        INTERNAL_OPERATION,
        &InternalInput { operation, input },
    )?;
    parse_output(operation, &out.output)
}

/// The dynamodb plugin's answer as the operation's output shape.
fn parse_output<Out: DeserializeOwned>(operation: &str, json: &str) -> Result<Out, AwsError> {
    serde_json::from_str(json)
        .map_err(|e| AwsError::internal(format!("bad {operation} answer from dynamodb: {e}")))
}

pub fn list_streams(ctx: &Context, input: ListStreamsInput) -> Result<ListStreamsOutput, AwsError> {
    forward(ctx, "ListStreams", &input)
}

pub fn describe_stream(
    ctx: &Context,
    input: DescribeStreamInput,
) -> Result<DescribeStreamOutput, AwsError> {
    forward(ctx, "DescribeStream", &input)
}

pub fn get_shard_iterator(
    ctx: &Context,
    input: GetShardIteratorInput,
) -> Result<GetShardIteratorOutput, AwsError> {
    forward(ctx, "GetShardIterator", &input)
}

pub fn get_records(ctx: &Context, input: GetRecordsInput) -> Result<GetRecordsOutput, AwsError> {
    forward(ctx, "GetRecords", &input)
}

#[cfg(test)]
mod tests {
    use super::*;
    use shapes::{OperationType, ShardIteratorType, StreamStatus, StreamViewType};

    #[test]
    fn implements_every_operation_of_the_model() {
        assert_eq!(
            ministack_sdk::coverage::<DynamoDbStreams>(),
            ministack_sdk::Coverage::default()
        );
        assert_eq!(shapes::OPERATIONS.len(), 4);
    }

    #[test]
    fn input_that_does_not_fit_the_model_is_refused_before_any_call() {
        let ctx = Context::for_test("123456789012", "us-east-1");
        let router = DynamoDbStreams::router().with_model(DynamoDbStreams::MODEL);
        let e = router
            .dispatch(
                &ctx,
                "GetShardIterator",
                r#"{"StreamArn": "a", "ShardId": "s"}"#,
            )
            .unwrap_err();
        assert_eq!(e.code, "ValidationException");
        assert_eq!(
            e.message,
            "1 validation error detected: Value null at 'shardIteratorType' failed to satisfy constraint: Member must not be null"
        );
        let e = router
            .dispatch(
                &ctx,
                "GetRecords",
                r#"{"ShardIterator": "i", "Limit": "ten"}"#,
            )
            .unwrap_err();
        assert_eq!(e.code, "ValidationException");
    }

    #[test]
    fn inputs_carry_enums_and_keep_member_names() {
        let input: GetShardIteratorInput = serde_json::from_str(
            r#"{"StreamArn":"arn","ShardId":"s1","ShardIteratorType":"AFTER_SEQUENCE_NUMBER","SequenceNumber":"7"}"#,
        )
        .unwrap();
        assert_eq!(
            input.shard_iterator_type,
            ShardIteratorType::AfterSequenceNumber
        );
        assert_eq!(
            serde_json::to_string(&input).unwrap(),
            r#"{"StreamArn":"arn","ShardId":"s1","ShardIteratorType":"AFTER_SEQUENCE_NUMBER","SequenceNumber":"7"}"#
        );
    }

    /// What the dynamodb plugin answers reads back whole.
    #[test]
    fn dynamodb_answers_parse_into_the_output_shapes() {
        let records: GetRecordsOutput = parse_output(
            "GetRecords",
            r#"{"Records":[{"eventID":"e1","eventName":"INSERT","eventVersion":"1.1",
                "eventSource":"aws:dynamodb","awsRegion":"us-east-1",
                "dynamodb":{"ApproximateCreationDateTime":1700000000,"Keys":{"pk":{"S":"a"}},
                  "NewImage":{"pk":{"S":"a"},"n":{"N":"1"},"l":{"L":[{"B":"AQ=="},{"NULL":true}]}},
                  "SequenceNumber":"000000000000000000001","SizeBytes":12,"StreamViewType":"NEW_IMAGE"}}],
               "NextShardIterator":"next"}"#,
        )
        .unwrap();
        let record = &records.records.as_ref().unwrap()[0];
        assert_eq!(record.event_name, Some(OperationType::Insert));
        let d = record.dynamodb.as_ref().unwrap();
        assert_eq!(d.approximate_creation_date_time, Some(1_700_000_000.0));
        assert_eq!(d.stream_view_type, Some(StreamViewType::NewImage));
        let image = d.new_image.as_ref().unwrap();
        assert_eq!(image["n"].n.as_deref(), Some("1"));
        let list = image["l"].l.as_ref().unwrap();
        assert_eq!(list[0].b.as_deref(), Some("AQ=="));
        assert_eq!(list[1].null, Some(true));
        let back = serde_json::to_value(&records).unwrap();
        assert_eq!(back["Records"][0]["dynamodb"]["Keys"]["pk"]["S"], "a");
        assert!(back["Records"][0].get("userIdentity").is_none());

        let described: DescribeStreamOutput = parse_output(
            "DescribeStream",
            r#"{"StreamDescription":{"StreamArn":"arn","StreamStatus":"ENABLED",
                "StreamViewType":"KEYS_ONLY","CreationRequestDateTime":1700000000.5,
                "TableName":"t","KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}],"Shards":[]}}"#,
        )
        .unwrap();
        let description = described.stream_description.unwrap();
        assert_eq!(description.stream_status, Some(StreamStatus::Enabled));
        assert_eq!(
            description.creation_request_date_time,
            Some(1_700_000_000.5)
        );
        assert!(parse_output::<DescribeStreamOutput>("DescribeStream", "\"text\"").is_err());
    }
}
