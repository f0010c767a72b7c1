//! Decode + encode of realistic requests/responses, one per protocol.
//! `cargo bench -p ministack-protocol --bench codec`

use criterion::{Criterion, criterion_group, criterion_main};
use ministack_protocol::http::{HeaderMap, HeaderValue, Method};
use ministack_protocol::{
    Protocol, RequestBody, RequestHead, ServiceModel, decode_request, encode_response,
};
use serde_json::{Value, json};
use std::hint::black_box;

fn model(name: &str) -> ServiceModel {
    let p = format!("{}/tests/models/{name}.json", env!("CARGO_MANIFEST_DIR"));
    ServiceModel::from_json(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.insert(*k, HeaderValue::from_static(v));
    }
    h
}

/// One decode of `body` at `method uri` and one encode of `output`.
#[allow(clippy::too_many_arguments)]
fn round(
    m: &ServiceModel,
    method: &Method,
    path: &str,
    query: &str,
    h: &HeaderMap,
    body: &bytes::Bytes,
    protocol: Protocol,
    output: &Value,
) -> usize {
    let head = RequestHead {
        method,
        path,
        query,
        headers: h,
    };
    let d = decode_request(m, &head, RequestBody::Bytes(body.clone())).unwrap();
    let r = encode_response(m, protocol, &d.operation, output, "req-1234").unwrap();
    match r.body {
        ministack_protocol::ResponseBody::Bytes(b) => b.len(),
        _ => 0,
    }
}

fn bench(c: &mut Criterion) {
    let sqs = model("sqs");
    let sts = model("sts");
    let s3 = model("s3");
    let ddb = model("dynamodb");
    let ec2 = model("ec2");
    let post = Method::POST;
    let get = Method::GET;

    let h = headers(&[
        ("content-type", "application/x-amz-json-1.0"),
        ("x-amz-target", "AmazonSQS.SendMessage"),
    ]);
    let body = bytes::Bytes::from_static(
        br#"{"QueueUrl":"http://localhost:4566/000000000000/bench-queue","MessageBody":"hello world, this is a benchmark message","DelaySeconds":0,"MessageAttributes":{"attr":{"DataType":"String","StringValue":"v"}}}"#,
    );
    let out = json!({"MessageId": "5fea7756-0ea4-451a-a703-a558b933e274", "MD5OfMessageBody": "fafb00f5732ab283681e124bf8747ed1", "MD5OfMessageAttributes": "3ae8f24a165a8cedc005670c81a27295"});
    c.bench_function("sqs_send_message_json", |b| {
        b.iter(|| black_box(round(&sqs, &post, "/", "", &h, &body, Protocol::Json, &out)))
    });

    let h = headers(&[(
        "content-type",
        "application/x-www-form-urlencoded; charset=utf-8",
    )]);
    let body = bytes::Bytes::from_static(b"Action=GetCallerIdentity&Version=2011-06-15");
    let out = json!({"UserId": "AKIAIOSFODNN7EXAMPLE", "Account": "000000000000", "Arn": "arn:aws:iam::000000000000:root"});
    c.bench_function("sts_get_caller_identity_query", |b| {
        b.iter(|| {
            black_box(round(
                &sts,
                &post,
                "/",
                "",
                &h,
                &body,
                Protocol::Query,
                &out,
            ))
        })
    });

    let h = headers(&[("host", "localhost:4566")]);
    let empty = bytes::Bytes::new();
    let contents: Vec<Value> = (0..100)
        .map(|i| json!({"Key": format!("photos/2024/{i:05}.jpg"), "LastModified": 1700000000 + i, "ETag": "\"d41d8cd98f00b204e9800998ecf8427e\"", "Size": 1024 * i, "StorageClass": "STANDARD"}))
        .collect();
    let out = json!({"IsTruncated": false, "Contents": contents, "Name": "bench-bucket", "Prefix": "photos/", "MaxKeys": 1000, "KeyCount": 100});
    c.bench_function("s3_list_objects_v2_100_rest_xml", |b| {
        b.iter(|| {
            black_box(round(
                &s3,
                &get,
                "/bench-bucket",
                "list-type=2&prefix=photos%2F&max-keys=1000",
                &h,
                &empty,
                Protocol::RestXml,
                &out,
            ))
        })
    });

    // The REST match alone: S3's PUT templates for a path-style PutObject
    // (the router and the body reader both match, issue 22).
    let h = headers(&[
        ("host", "127.0.0.1:4566"),
        ("content-type", "application/octet-stream"),
        ("x-amz-content-sha256", "UNSIGNED-PAYLOAD"),
        ("x-amz-date", "20260101T000000Z"),
        ("content-length", "1024"),
    ]);
    let put = Method::PUT;
    let head = RequestHead {
        method: &put,
        path: "/bench-bucket/bench-put",
        query: "",
        headers: &h,
    };
    c.bench_function("s3_match_put_object", |b| {
        b.iter(|| black_box(s3.match_rest(black_box(&head)).map(str::len)))
    });

    let h = headers(&[
        ("content-type", "application/x-amz-json-1.0"),
        ("x-amz-target", "DynamoDB_20120810.Query"),
    ]);
    let body = bytes::Bytes::from_static(
        br#"{"TableName":"bench","KeyConditionExpression":"pk = :pk","ExpressionAttributeValues":{":pk":{"S":"user#1"}},"Limit":100}"#,
    );
    let items: Vec<Value> = (0..100)
        .map(|i| json!({"pk": {"S": "user#1"}, "sk": {"S": format!("order#{i:04}")}, "amount": {"N": format!("{}.5", i)}, "tags": {"SS": ["a", "b"]}, "active": {"BOOL": true}}))
        .collect();
    let out = json!({"Items": items, "Count": 100, "ScannedCount": 100});
    c.bench_function("dynamodb_query_100_json", |b| {
        b.iter(|| black_box(round(&ddb, &post, "/", "", &h, &body, Protocol::Json, &out)))
    });

    let h = headers(&[(
        "content-type",
        "application/x-www-form-urlencoded; charset=utf-8",
    )]);
    let body = bytes::Bytes::from_static(
        b"Action=DescribeInstances&Version=2016-11-15&Filter.1.Name=instance-state-name&Filter.1.Value.1=running&MaxResults=50",
    );
    let instances: Vec<Value> = (0..5)
        .map(|i| json!({"InstanceId": format!("i-0{i:016x}"), "ImageId": "ami-12345678", "InstanceType": "t3.micro",
            "LaunchTime": 1700000000, "PrivateIpAddress": "10.0.0.1", "State": {"Code": 16, "Name": "running"},
            "Placement": {"AvailabilityZone": "us-east-1a", "Tenancy": "default"},
            "Tags": [{"Key": "Name", "Value": format!("web-{i}")}], "SecurityGroups": [{"GroupId": "sg-1", "GroupName": "default"}]}))
        .collect();
    let out = json!({"Reservations": [{"ReservationId": "r-1", "OwnerId": "000000000000", "Instances": instances}]});
    c.bench_function("ec2_describe_instances_ec2", |b| {
        b.iter(|| black_box(round(&ec2, &post, "/", "", &h, &body, Protocol::Ec2, &out)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
