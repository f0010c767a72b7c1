//! The AWS SDK for Rust against a running gateway, configured the way a
//! user's program is: `AWS_ENDPOINT_URL`, credentials and region from the
//! environment. Each check prints `ok <name>`; any failure panics (exit
//! code 101), which tests/e2e/test_client_rust.py reports.

use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumMode};
use aws_sdk_sqs::types::MessageAttributeValue;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    // Run names unique per process: the gateway may be shared with others.
    let run = format!("rs{}", std::process::id());
    // Plain HTTP: the gateway listens on 127.0.0.1 without TLS, so the
    // client needs no TLS stack (which keeps the cold build short).
    let http = aws_smithy_http_client::Builder::new().build_http();
    let shared = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        .load()
        .await;
    assert!(
        shared.endpoint_url().is_some(),
        "AWS_ENDPOINT_URL is not set"
    );

    s3(&shared, &run).await;
    dynamodb(&shared, &run).await;
    sqs(&shared, &run).await;
}

async fn s3(shared: &aws_config::SdkConfig, run: &str) {
    let config = aws_sdk_s3::config::Builder::from(shared)
        .force_path_style(true)
        .build();
    let s3 = aws_sdk_s3::Client::from_conf(config);
    let bucket = format!("{run}-bucket");
    s3.create_bucket().bucket(&bucket).send().await.unwrap();

    // The SDK's default: a CRC32 trailer on an aws-chunked upload.
    let body = b"hello from the rust sdk".repeat(1000);
    let put = s3
        .put_object()
        .bucket(&bucket)
        .key("default.txt")
        .body(ByteStream::from(body.clone()))
        .send()
        .await
        .unwrap();
    assert!(put.checksum_crc32().is_some(), "no CRC32 answered: {put:?}");

    // An explicit SHA-256: stored, and validated by the SDK on the way
    // back when the checksum mode is on.
    let put = s3
        .put_object()
        .bucket(&bucket)
        .key("sha.txt")
        .checksum_algorithm(ChecksumAlgorithm::Sha256)
        .body(ByteStream::from_static(b"checked bytes"))
        .send()
        .await
        .unwrap();
    let sha = put
        .checksum_sha256()
        .expect("no SHA-256 answered")
        .to_string();
    let got = s3
        .get_object()
        .bucket(&bucket)
        .key("sha.txt")
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .unwrap();
    assert_eq!(got.checksum_sha256(), Some(sha.as_str()));
    let bytes = got.body.collect().await.unwrap().into_bytes();
    assert_eq!(&bytes[..], b"checked bytes");
    let got = s3
        .get_object()
        .bucket(&bucket)
        .key("default.txt")
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .unwrap();
    let bytes = got.body.collect().await.unwrap().into_bytes();
    assert_eq!(bytes.len(), body.len());
    assert_eq!(&bytes[..], &body[..]);
    println!("ok s3 put/get with checksums");

    // A wrong checksum given by the caller is refused, with S3's code.
    let err = s3
        .put_object()
        .bucket(&bucket)
        .key("bad.txt")
        .checksum_crc32("AAAAAA==")
        .body(ByteStream::from_static(b"not what the checksum says"))
        .send()
        .await
        .expect_err("a wrong CRC32 was accepted");
    let code = err.as_service_error().and_then(|e| {
        use aws_sdk_s3::error::ProvideErrorMetadata;
        e.code().map(str::to_string)
    });
    assert_eq!(code.as_deref(), Some("BadDigest"), "{err:?}");
    println!("ok s3 wrong checksum refused");

    let listed = s3.list_objects_v2().bucket(&bucket).send().await.unwrap();
    let keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, ["default.txt", "sha.txt"]);

    // A missing key is the SDK's typed NoSuchKey.
    let err = s3
        .get_object()
        .bucket(&bucket)
        .key("missing")
        .send()
        .await
        .expect_err("a missing key was found");
    assert!(
        matches!(
            err.as_service_error(),
            Some(aws_sdk_s3::operation::get_object::GetObjectError::NoSuchKey(_))
        ),
        "{err:?}"
    );
    println!("ok s3 typed NoSuchKey");
}

async fn dynamodb(shared: &aws_config::SdkConfig, run: &str) {
    let ddb = aws_sdk_dynamodb::Client::new(shared);
    let table = format!("{run}-table");
    ddb.create_table()
        .table_name(&table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("sk")
                .attribute_type(ScalarAttributeType::N)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("sk")
                .key_type(KeyType::Range)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    for n in 1..=3 {
        ddb.put_item()
            .table_name(&table)
            .item("pk", AttributeValue::S("user".into()))
            .item("sk", AttributeValue::N(n.to_string()))
            .item(
                "tags",
                AttributeValue::Ss(vec!["a".into(), format!("t{n}")]),
            )
            .item("blob", AttributeValue::B(vec![0u8, 255, n as u8].into()))
            .send()
            .await
            .unwrap();
    }
    let got = ddb
        .get_item()
        .table_name(&table)
        .key("pk", AttributeValue::S("user".into()))
        .key("sk", AttributeValue::N("2".into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    let item = got.item().expect("item 2 not found");
    let mut tags = item["tags"].as_ss().unwrap().clone();
    tags.sort();
    assert_eq!(tags, ["a", "t2"]);
    assert_eq!(item["blob"].as_b().unwrap().as_ref(), &[0u8, 255, 2]);
    let page = ddb
        .query()
        .table_name(&table)
        .key_condition_expression("pk = :p AND sk > :n")
        .expression_attribute_values(":p", AttributeValue::S("user".into()))
        .expression_attribute_values(":n", AttributeValue::N("1".into()))
        .scan_index_forward(false)
        .send()
        .await
        .unwrap();
    let order: Vec<&str> = page
        .items()
        .iter()
        .map(|i| i["sk"].as_n().unwrap().as_str())
        .collect();
    assert_eq!(order, ["3", "2"]);
    println!("ok dynamodb put/get/query");

    // A failed condition is the SDK's typed ConditionalCheckFailedException.
    let err = ddb
        .put_item()
        .table_name(&table)
        .item("pk", AttributeValue::S("user".into()))
        .item("sk", AttributeValue::N("1".into()))
        .condition_expression("attribute_not_exists(pk)")
        .send()
        .await
        .expect_err("the condition held on an existing item");
    assert!(
        matches!(
            err.as_service_error(),
            Some(aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(_))
        ),
        "{err:?}"
    );
    println!("ok dynamodb typed ConditionalCheckFailedException");
}

async fn sqs(shared: &aws_config::SdkConfig, run: &str) {
    let sqs = aws_sdk_sqs::Client::new(shared);
    let url = sqs
        .create_queue()
        .queue_name(format!("{run}-queue"))
        .send()
        .await
        .unwrap()
        .queue_url
        .expect("no queue URL");
    sqs.send_message()
        .queue_url(&url)
        .message_body("from rust")
        .message_attributes(
            "kind",
            MessageAttributeValue::builder()
                .data_type("String")
                .string_value("greeting")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let got = sqs
        .receive_message()
        .queue_url(&url)
        .message_attribute_names("All")
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    let [message] = got.messages() else {
        panic!("expected one message: {got:?}")
    };
    assert_eq!(message.body(), Some("from rust"));
    let kind = message
        .message_attributes()
        .and_then(|a| a.get("kind"))
        .and_then(|v| v.string_value());
    assert_eq!(kind, Some("greeting"));
    sqs.delete_message()
        .queue_url(&url)
        .receipt_handle(message.receipt_handle().unwrap())
        .send()
        .await
        .unwrap();
    println!("ok sqs send/receive/delete");

    let err = sqs
        .get_queue_url()
        .queue_name(format!("{run}-missing"))
        .send()
        .await
        .expect_err("a missing queue was found");
    assert!(
        matches!(
            err.as_service_error(),
            Some(aws_sdk_sqs::operation::get_queue_url::GetQueueUrlError::QueueDoesNotExist(_))
        ),
        "{err:?}"
    );
    println!("ok sqs typed QueueDoesNotExist");
}
