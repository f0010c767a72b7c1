//! Round trips through real AWS models (botocore's, documentation stripped,
//! in tests/models/): a request as an SDK sends it is decoded, an output is
//! encoded and parsed back by botocore with the same real model
//! (tests/protocol-vectors/parse_real.py).

#![allow(clippy::result_large_err)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ministack_protocol::http::{HeaderMap, HeaderValue, Method};
use ministack_protocol::{
    AwsError, HttpResponse, Protocol, RequestBody, RequestHead, ResponseBody, ServiceModel,
    decode_request, decode_request_matched, encode_error, encode_response, streaming_input,
};
use serde_json::{Value, json};

fn model_text(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/models/{name}.json"));
    std::fs::read_to_string(p).expect("model fixture")
}

fn model(name: &str) -> ServiceModel {
    ServiceModel::from_json(&model_text(name)).expect("model parses")
}

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(
            ministack_protocol::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    h
}

fn decode(
    m: &ServiceModel,
    method: &str,
    uri: &str,
    hdrs: &[(&str, &str)],
    body: &[u8],
) -> Result<ministack_protocol::Decoded, (Protocol, AwsError)> {
    let method = Method::from_bytes(method.as_bytes()).unwrap();
    let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
    let h = headers(hdrs);
    let head = RequestHead {
        method: &method,
        path,
        query,
        headers: &h,
    };
    decode_request(m, &head, RequestBody::Bytes(body.to_vec().into()))
}

fn body_bytes(r: &HttpResponse) -> Vec<u8> {
    match &r.body {
        ResponseBody::Bytes(b) => b.clone(),
        ResponseBody::Blob { .. } | ResponseBody::EventStream { .. } => Vec::new(),
    }
}

fn header<'a>(r: &'a HttpResponse, name: &str) -> Option<&'a str> {
    r.headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Parses responses with botocore and the real model of `service`.
fn botocore_parse(cases: &[(&str, &str, &str, &HttpResponse)]) -> Vec<Value> {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/protocol-vectors/parse_real.py");
    let mut input = String::new();
    for (service, protocol, op, r) in cases {
        let line = json!({
            "service": service, "protocol": protocol, "operation": op, "status": r.status,
            "headers": r.headers, "body_b64": B64.encode(body_bytes(r)),
        });
        input.push_str(&line.to_string());
        input.push('\n');
    }
    let mut child = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn model_parse_time() {
    for name in ["sqs", "sts", "dynamodb", "s3", "ec2"] {
        let text = model_text(name);
        let start = Instant::now();
        let runs = 5;
        for _ in 0..runs {
            ServiceModel::from_json(&text).unwrap();
        }
        let per = start.elapsed() / runs;
        println!(
            "model-parse {name}: {:.2} ms ({} KB, documentation stripped)",
            per.as_secs_f64() * 1e3,
            text.len() / 1024
        );
    }
}

#[test]
fn sqs_json_round_trip() {
    let m = model("sqs");
    let d = decode(
        &m,
        "POST",
        "/",
        &[
            ("content-type", "application/x-amz-json-1.0"),
            ("x-amz-target", "AmazonSQS.SendMessage"),
        ],
        br#"{"QueueUrl":"http://localhost:4566/000000000000/q","MessageBody":"hello","DelaySeconds":5,
             "MessageAttributes":{"a":{"DataType":"Binary","BinaryValue":"AAEC"}}}"#,
    )
    .unwrap();
    assert_eq!(d.operation, "SendMessage");
    assert_eq!(d.protocol, Protocol::Json);
    assert_eq!(d.input["DelaySeconds"], 5);
    assert_eq!(d.input["MessageAttributes"]["a"]["BinaryValue"], "AAEC");

    let out = json!({"MessageId": "abc", "MD5OfMessageBody": "5d41402abc4b2a76b9719d911017c592"});
    let r = encode_response(&m, Protocol::Json, "SendMessage", &out, "rid").unwrap();
    assert_eq!(
        header(&r, "content-type"),
        Some("application/x-amz-json-1.0")
    );
    let err = AwsError {
        code: "QueueDoesNotExist".into(),
        message: "The specified queue does not exist.".into(),
        sender_fault: true,
        ..Default::default()
    };
    let e = encode_error(&m, Protocol::Json, Some("SendMessage"), &err, "rid");
    assert_eq!(e.status, 400);
    // SQS is awsQueryCompatible: the query code travels in a header.
    assert_eq!(
        header(&e, "x-amzn-query-error"),
        Some("QueueDoesNotExist;Sender")
    );
    let parsed = botocore_parse(&[
        ("sqs", "json", "SendMessage", &r),
        ("sqs", "json", "SendMessage", &e),
    ]);
    assert_eq!(parsed[0]["MessageId"], "abc");
    assert_eq!(parsed[1]["Error"]["Code"], "QueueDoesNotExist");
    assert_eq!(
        parsed[1]["Error"]["Message"],
        "The specified queue does not exist."
    );
}

#[test]
fn sqs_speaks_query_when_the_model_lists_it() {
    // Older SQS models list both protocols; detection follows the request.
    let text = model_text("sqs").replacen(
        "\"protocols\":[\"json\"]",
        "\"protocols\":[\"json\",\"query\"]",
        1,
    );
    let m = ServiceModel::from_json(&text).unwrap();
    let d = decode(
        &m,
        "POST",
        "/",
        &[("content-type", "application/x-www-form-urlencoded")],
        b"Action=SendMessage&QueueUrl=http%3A%2F%2Flocalhost%2Fq&MessageBody=hi%20there&DelaySeconds=3",
    )
    .unwrap();
    assert_eq!(d.protocol, Protocol::Query);
    assert_eq!(d.input["MessageBody"], "hi there");
    assert_eq!(d.input["DelaySeconds"], 3);
    let r = encode_response(
        &m,
        Protocol::Query,
        "SendMessage",
        &json!({"MessageId": "m1"}),
        "rid",
    )
    .unwrap();
    // The json-era model has no resultWrapper; query clients (whose models
    // have one) expect `<SendMessageResult>` all the same.
    let body = String::from_utf8(body_bytes(&r)).unwrap();
    assert!(
        body.contains("<SendMessageResult><MessageId>m1</MessageId></SendMessageResult><ResponseMetadata><RequestId>rid</RequestId>"),
        "{body}"
    );
    // Missing required member in query → MissingParameter.
    let (p, e) = decode(
        &m,
        "POST",
        "/",
        &[("content-type", "application/x-www-form-urlencoded")],
        b"Action=SendMessage&QueueUrl=q",
    )
    .unwrap_err();
    assert_eq!(p, Protocol::Query);
    assert_eq!(e.code, "MissingParameter");
}

#[test]
fn sts_query_round_trip() {
    let m = model("sts");
    let d = decode(
        &m,
        "POST",
        "/",
        &[(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8",
        )],
        b"Action=GetCallerIdentity&Version=2011-06-15",
    )
    .unwrap();
    assert_eq!(d.operation, "GetCallerIdentity");
    let out = json!({"UserId": "AIDA", "Account": "000000000000", "Arn": "arn:aws:iam::000000000000:root"});
    let r = encode_response(&m, Protocol::Query, "GetCallerIdentity", &out, "req-1").unwrap();
    let body = String::from_utf8(body_bytes(&r)).unwrap();
    assert!(body.starts_with(
        "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult>"
    ));
    let assume = json!({
        "Credentials": {"AccessKeyId": "AKIA", "SecretAccessKey": "s", "SessionToken": "t", "Expiration": 1700000000},
        "AssumedRoleUser": {"AssumedRoleId": "AROA:s", "Arn": "arn:aws:sts::000000000000:assumed-role/r/s"}
    });
    let r2 = encode_response(&m, Protocol::Query, "AssumeRole", &assume, "req-2").unwrap();
    let err = AwsError::new("ExpiredTokenException", "expired", 400);
    let e = encode_error(&m, Protocol::Query, Some("AssumeRole"), &err, "req-3");
    let unknown = encode_error(
        &m,
        Protocol::Query,
        None,
        &AwsError::new("InvalidAction", "no such action", 400),
        "req-4",
    );
    let parsed = botocore_parse(&[
        ("sts", "query", "GetCallerIdentity", &r),
        ("sts", "query", "AssumeRole", &r2),
        ("sts", "query", "AssumeRole", &e),
        ("sts", "query", "GetCallerIdentity", &unknown),
    ]);
    assert_eq!(parsed[0]["Account"], "000000000000");
    assert_eq!(parsed[0]["ResponseMetadata"]["RequestId"], "req-1");
    assert_eq!(parsed[1]["Credentials"]["Expiration"], 1700000000.0);
    assert_eq!(parsed[2]["Error"]["Code"], "ExpiredTokenException");
    assert_eq!(parsed[2]["Error"]["Type"], "Sender");
    assert_eq!(parsed[3]["Error"]["Code"], "InvalidAction");
    // Unknown action.
    let (_, e) = decode(
        &m,
        "POST",
        "/",
        &[("content-type", "application/x-www-form-urlencoded")],
        b"Action=Nope",
    )
    .unwrap_err();
    assert_eq!(e.code, "InvalidAction");
}

#[test]
fn s3_rest_xml_round_trip() {
    let m = model("s3");
    // Path style.
    let d = decode(
        &m,
        "GET",
        "/bucket?list-type=2&prefix=a%2Fb&max-keys=",
        &[("host", "localhost:4566")],
        b"",
    )
    .unwrap();
    assert_eq!(d.operation, "ListObjectsV2");
    assert_eq!(d.input["Bucket"], "bucket");
    assert_eq!(d.input["Prefix"], "a/b");
    assert!(
        d.input.get("MaxKeys").is_none(),
        "empty integer query value is absent"
    );
    // Virtual-hosted style names the same operation.
    for host in [
        "bucket.localhost:4566",
        "bucket.s3.localhost",
        "bucket.s3.us-east-1.localhost",
    ] {
        let d = decode(&m, "GET", "/?list-type=2", &[("host", host)], b"").unwrap();
        assert_eq!(
            (d.operation.as_str(), &d.input["Bucket"]),
            ("ListObjectsV2", &json!("bucket"))
        );
    }
    let d = decode(&m, "GET", "/bucket", &[], b"").unwrap();
    assert_eq!(d.operation, "ListObjects");
    let d = decode(&m, "GET", "/", &[], b"").unwrap();
    assert_eq!(d.operation, "ListBuckets");
    let d = decode(&m, "POST", "/bucket/key?uploads", &[], b"").unwrap();
    assert_eq!(d.operation, "CreateMultipartUpload");
    let d = decode(&m, "GET", "/bucket?tagging", &[], b"").unwrap();
    assert_eq!(d.operation, "GetBucketTagging");
    // Operations sharing `PUT /{Bucket}/{Key+}` are told apart by their
    // required header and query members.
    let d = decode(&m, "PUT", "/bucket/k?partNumber=1&uploadId=u", &[], b"").unwrap();
    assert_eq!(d.operation, "UploadPart");
    assert_eq!(d.input["PartNumber"], 1);
    let d = decode(
        &m,
        "PUT",
        "/bucket/k?partNumber=1&uploadId=u",
        &[("x-amz-copy-source", "b/src")],
        b"",
    )
    .unwrap();
    assert_eq!(d.operation, "UploadPartCopy");
    let d = decode(
        &m,
        "PUT",
        "/bucket/k",
        &[("x-amz-copy-source", "b/src")],
        b"",
    )
    .unwrap();
    assert_eq!(d.operation, "CopyObject");
    let d = decode(&m, "PUT", "/bucket/k", &[], b"data").unwrap();
    assert_eq!(d.operation, "PutObject");
    assert_eq!(d.input["Body"], "ZGF0YQ==");
    // Keys with trailing slashes and odd characters.
    let d = decode(&m, "GET", "/bucket/dir/sub%20dir/", &[], b"").unwrap();
    assert_eq!(d.operation, "GetObject");
    assert_eq!(d.input["Key"], "dir/sub dir/");
    let d = decode(&m, "GET", "/bucket/a%2Bb%3Fc%26d%3D%E2%9C%93", &[], b"").unwrap();
    assert_eq!(d.input["Key"], "a+b?c&d=✓");
    // PutObject streams its body.
    let method = Method::PUT;
    let h = headers(&[("content-length", "5"), ("x-amz-meta-color", "blue")]);
    let head = RequestHead {
        method: &method,
        path: "/bucket/k",
        query: "",
        headers: &h,
    };
    assert_eq!(streaming_input(&m, &head).as_deref(), Some("Body"));
    let blob_ref = json!({"blob-id": "b1", "size": 5});
    let d = decode_request(&m, &head, RequestBody::Blob(blob_ref.clone())).unwrap();
    assert_eq!(d.operation, "PutObject");
    assert_eq!(d.input["Body"], blob_ref);
    assert_eq!(d.input["Metadata"]["color"], "blue");
    assert_eq!(d.input["ContentLength"], 5);
    // Matched once: the decode with the match is the decode without it.
    let matched = m.match_rest_request(&head).expect("a REST match");
    assert_eq!(matched.operation(), "PutObject");
    assert_eq!(matched.streaming_input(&m).as_deref(), Some("Body"));
    let again = decode_request_matched(
        &m,
        &head,
        RequestBody::Blob(blob_ref.clone()),
        Some(matched.clone()),
    )
    .unwrap();
    assert_eq!(again, d);
    // A match of another model is not trusted: matched anew.
    let other = model("s3");
    let d2 =
        decode_request_matched(&other, &head, RequestBody::Blob(blob_ref), Some(matched)).unwrap();
    assert_eq!(d2, d);
    // CreateBucket with an XML body.
    let d = decode(
        &m,
        "PUT",
        "/newbucket",
        &[],
        br#"<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>"#,
    )
    .unwrap();
    assert_eq!(d.operation, "CreateBucket");
    assert_eq!(
        d.input["CreateBucketConfiguration"]["LocationConstraint"],
        "eu-west-1"
    );

    // Responses.
    let contents: Vec<Value> = (0..3)
        .map(|i| json!({"Key": format!("k{i}"), "Size": i, "LastModified": 1700000000, "ETag": "\"e\"", "StorageClass": "STANDARD"}))
        .collect();
    let out = json!({"Name": "bucket", "Prefix": "", "KeyCount": 3, "MaxKeys": 1000, "IsTruncated": false, "Contents": contents});
    let r = encode_response(&m, Protocol::RestXml, "ListObjectsV2", &out, "rid").unwrap();
    let get = json!({"Body": {"blob-id": "b1", "size": 10, "range": [2, 5]}, "ContentLength": 3,
                     "ContentRange": "bytes 2-4/10", "ETag": "\"e\"", "LastModified": 1700000000,
                     "Metadata": {"color": "blue"}});
    let g = encode_response(&m, Protocol::RestXml, "GetObject", &get, "rid").unwrap();
    match &g.body {
        ResponseBody::Blob { blob, range } => {
            assert_eq!(blob["blob-id"], "b1");
            assert_eq!(*range, Some((2, 5)));
        }
        other => panic!("expected a blob body, got {other:?}"),
    }
    assert_eq!(header(&g, "Content-Range"), Some("bytes 2-4/10"));
    assert_eq!(g.status, 206, "a ranged GetObject is Partial Content");
    assert_eq!(
        header(&g, "Last-Modified"),
        Some("Tue, 14 Nov 2023 22:13:20 GMT")
    );
    assert_eq!(header(&g, "x-amz-meta-color"), Some("blue"));
    let small = encode_response(
        &m,
        Protocol::RestXml,
        "GetObject",
        &json!({"Body": "aGVsbG8="}),
        "rid",
    )
    .unwrap();
    let e = encode_error(
        &m,
        Protocol::RestXml,
        Some("GetObject"),
        &AwsError {
            code: "NoSuchKey".into(),
            message: "The specified key does not exist.".into(),
            sender_fault: true,
            extra: Some(serde_json::Map::from_iter([(
                "Key".to_string(),
                json!("k"),
            )])),
            ..Default::default()
        },
        "rid-9",
    );
    assert_eq!(e.status, 404, "status from the model's error shape");
    let ebody = String::from_utf8(body_bytes(&e)).unwrap();
    assert!(
        ebody.starts_with("<Error><Code>NoSuchKey</Code>"),
        "{ebody}"
    );
    assert!(ebody.contains("<RequestId>rid-9</RequestId>"));
    let lbody = String::from_utf8(body_bytes(&r)).unwrap();
    assert!(
        lbody.starts_with("<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"),
        "{lbody}"
    );
    let loc = encode_response(
        &m,
        Protocol::RestXml,
        "GetBucketLocation",
        &json!({"LocationConstraint": "eu-west-1"}),
        "rid",
    )
    .unwrap();
    let nb = encode_error(
        &m,
        Protocol::RestXml,
        Some("ListObjectsV2"),
        &AwsError {
            code: "NoSuchBucket".into(),
            message: "The specified bucket does not exist".into(),
            sender_fault: true,
            extra: Some(serde_json::Map::from_iter([(
                "BucketName".to_string(),
                json!("nope"),
            )])),
            ..Default::default()
        },
        "rid",
    );
    assert!(
        String::from_utf8(body_bytes(&nb))
            .unwrap()
            .contains("<BucketName>nope</BucketName>")
    );
    let parsed = botocore_parse(&[
        ("s3", "rest-xml", "ListObjectsV2", &r),
        ("s3", "rest-xml", "GetObject", &small),
        ("s3", "rest-xml", "GetObject", &e),
        ("s3", "rest-xml", "GetObject", &g),
    ]);
    assert_eq!(parsed[0]["KeyCount"], 3);
    assert_eq!(parsed[0]["Contents"][2]["Key"], "k2");
    assert_eq!(parsed[0]["Contents"][0]["LastModified"], 1700000000.0);
    assert_eq!(parsed[1]["Body"], "hello");
    assert_eq!(parsed[2]["Error"]["Code"], "NoSuchKey");
    assert_eq!(parsed[3]["ContentRange"], "bytes 2-4/10");
    assert_eq!(parsed[3]["Metadata"]["color"], "blue");
    let parsed = botocore_parse(&[
        ("s3", "rest-xml", "GetBucketLocation", &loc),
        ("s3", "rest-xml", "ListObjectsV2", &nb),
    ]);
    assert_eq!(parsed[0]["LocationConstraint"], "eu-west-1");
    assert_eq!(parsed[1]["Error"]["Code"], "NoSuchBucket");
    assert_eq!(parsed[1]["Error"]["BucketName"], "nope");
}

#[test]
fn dynamodb_json_round_trip() {
    let m = model("dynamodb");
    let d = decode(
        &m,
        "POST",
        "/",
        &[
            ("content-type", "application/x-amz-json-1.0"),
            ("x-amz-target", "DynamoDB_20120810.Query"),
        ],
        br#"{"TableName":"t","KeyConditionExpression":"pk = :v","ExpressionAttributeValues":{":v":{"S":"a"}},"Limit":10}"#,
    )
    .unwrap();
    assert_eq!(d.operation, "Query");
    assert_eq!(d.input["ExpressionAttributeValues"][":v"]["S"], "a");
    let items: Vec<Value> = (0..5)
        .map(|i| json!({"pk": {"S": "a"}, "sk": {"N": i.to_string()}, "b": {"B": "AAE="}}))
        .collect();
    let r = encode_response(
        &m,
        Protocol::Json,
        "Query",
        &json!({"Items": items, "Count": 5, "ScannedCount": 5}),
        "rid",
    )
    .unwrap();
    let e = encode_error(
        &m,
        Protocol::Json,
        Some("Query"),
        &AwsError::new(
            "ResourceNotFoundException",
            "Requested resource not found",
            400,
        ),
        "rid",
    );
    let parsed = botocore_parse(&[
        ("dynamodb", "json", "Query", &r),
        ("dynamodb", "json", "Query", &e),
    ]);
    assert_eq!(parsed[0]["Count"], 5);
    assert_eq!(parsed[0]["Items"][4]["sk"]["N"], "4");
    assert_eq!(parsed[0]["Items"][0]["b"]["B"], "\u{0}\u{1}");
    assert_eq!(parsed[1]["Error"]["Code"], "ResourceNotFoundException");
    // Validation: a missing required member and a wrong type.
    let (p, e) = decode(
        &m,
        "POST",
        "/",
        &[
            ("content-type", "application/x-amz-json-1.0"),
            ("x-amz-target", "DynamoDB_20120810.Query"),
        ],
        br#"{"Limit":10}"#,
    )
    .unwrap_err();
    assert_eq!(
        (p, e.code.as_str()),
        (Protocol::Json, "ValidationException")
    );
    let (_, e) = decode(
        &m,
        "POST",
        "/",
        &[
            ("content-type", "application/x-amz-json-1.0"),
            ("x-amz-target", "DynamoDB_20120810.Query"),
        ],
        br#"{"TableName":"t","Limit":"ten"}"#,
    )
    .unwrap_err();
    assert_eq!(e.code, "SerializationException");
    // Range: Limit has min 1.
    let (_, e) = decode(
        &m,
        "POST",
        "/",
        &[
            ("content-type", "application/x-amz-json-1.0"),
            ("x-amz-target", "DynamoDB_20120810.Query"),
        ],
        br#"{"TableName":"t","Limit":0}"#,
    )
    .unwrap_err();
    assert_eq!(e.code, "ValidationException");
    // Enum.
    let (_, e) = decode(
        &m,
        "POST",
        "/",
        &[
            ("content-type", "application/x-amz-json-1.0"),
            ("x-amz-target", "DynamoDB_20120810.Query"),
        ],
        br#"{"TableName":"t","Select":"EVERYTHING"}"#,
    )
    .unwrap_err();
    assert_eq!(e.code, "ValidationException");
    assert!(e.message.contains("enum"), "{}", e.message);
    // Malformed JSON and an unknown operation.
    let (_, e) = decode(
        &m,
        "POST",
        "/",
        &[
            ("content-type", "application/x-amz-json-1.0"),
            ("x-amz-target", "DynamoDB_20120810.Query"),
        ],
        b"{not json",
    )
    .unwrap_err();
    assert_eq!(e.code, "SerializationException");
    let (_, e) = decode(
        &m,
        "POST",
        "/",
        &[
            ("content-type", "application/x-amz-json-1.0"),
            ("x-amz-target", "DynamoDB_20120810.Nope"),
        ],
        b"{}",
    )
    .unwrap_err();
    assert_eq!(e.code, "UnknownOperationException");
    let unknown = encode_error(&m, Protocol::Json, None, &e, "rid");
    assert_eq!(unknown.status, 400);
}

#[test]
fn ec2_round_trip() {
    let m = model("ec2");
    let d = decode(
        &m,
        "POST",
        "/",
        &[("content-type", "application/x-www-form-urlencoded; charset=utf-8")],
        b"Action=DescribeInstances&Version=2016-11-15&Filter.1.Name=instance-state-name&Filter.1.Value.1=running&Filter.1.Value.2=pending&InstanceId.1=i-1&MaxResults=10",
    )
    .unwrap();
    assert_eq!(d.operation, "DescribeInstances");
    assert_eq!(d.protocol, Protocol::Ec2);
    assert_eq!(
        d.input["Filters"][0]["Values"],
        json!(["running", "pending"])
    );
    assert_eq!(d.input["InstanceIds"], json!(["i-1"]));
    let out = json!({"Reservations": [{"ReservationId": "r-1", "OwnerId": "000000000000",
        "Instances": [{"InstanceId": "i-1", "InstanceType": "t2.micro", "LaunchTime": 1700000000,
                       "State": {"Code": 16, "Name": "running"}, "Tags": [{"Key": "k", "Value": "v"}]}]}]});
    let r = encode_response(&m, Protocol::Ec2, "DescribeInstances", &out, "rid-ec2").unwrap();
    let body = String::from_utf8(body_bytes(&r)).unwrap();
    assert!(
        body.contains("<requestId>rid-ec2</requestId><reservationSet><item>"),
        "{body}"
    );
    let e = encode_error(
        &m,
        Protocol::Ec2,
        Some("DescribeInstances"),
        &AwsError::new("InvalidInstanceID.NotFound", "nope", 400),
        "rid-e",
    );
    let ebody = String::from_utf8(body_bytes(&e)).unwrap();
    assert!(ebody.contains("<RequestID>rid-e</RequestID>"));
    let parsed = botocore_parse(&[
        ("ec2", "ec2", "DescribeInstances", &r),
        ("ec2", "ec2", "DescribeInstances", &e),
    ]);
    assert_eq!(
        parsed[0]["Reservations"][0]["Instances"][0]["State"]["Name"],
        "running"
    );
    assert_eq!(
        parsed[0]["Reservations"][0]["Instances"][0]["Tags"][0]["Value"],
        "v"
    );
    assert_eq!(parsed[0]["ResponseMetadata"]["RequestId"], "rid-ec2");
    assert_eq!(parsed[1]["Error"]["Code"], "InvalidInstanceID.NotFound");
}

#[test]
fn s3_select_event_stream_decodes_with_the_sdk_framing() {
    use aws_smithy_eventstream::frame::read_message_from;
    let m = model("s3");
    let out = json!({"Payload": [
        {"Records": {"Payload": B64.encode(b"a,b\n")}},
        {"Stats": {"Details": {"BytesScanned": 10, "BytesProcessed": 10, "BytesReturned": 4}}},
        {"End": {}}
    ]});
    let r = encode_response(&m, Protocol::RestXml, "SelectObjectContent", &out, "rid").unwrap();
    assert_eq!(
        header(&r, "content-type"),
        Some("application/vnd.amazon.eventstream")
    );
    let bytes = body_bytes(&r);
    let mut buf = &bytes[..];
    let mut events = Vec::new();
    while !buf.is_empty() {
        let msg = read_message_from(&mut buf).expect("valid frame with CRCs");
        let ty = msg
            .headers()
            .iter()
            .find(|h| h.name().as_str() == ":event-type")
            .and_then(|h| h.value().as_string().ok())
            .map(|s| s.as_str().to_string())
            .unwrap();
        events.push((ty, String::from_utf8_lossy(msg.payload()).into_owned()));
    }
    assert_eq!(events[0], ("Records".into(), "a,b\n".into()));
    assert_eq!(events[1].0, "Stats");
    assert!(
        events[1].1.contains("<BytesReturned>4</BytesReturned>"),
        "{}",
        events[1].1
    );
    assert_eq!(events[2].0, "End");
    // botocore's own event-stream parser reads the same bytes.
    let parsed = botocore_parse_events(&[("s3", "rest-xml", "SelectObjectContent", &r)]);
    assert_eq!(parsed[0]["events"][0]["Records"]["Payload"], "a,b\n");
    assert_eq!(
        parsed[0]["events"][1]["Stats"]["Details"]["BytesReturned"],
        4
    );
    assert!(
        parsed[0]["events"][2].get("End").is_some(),
        "{:?}",
        parsed[0]
    );
}

#[test]
fn never_panics_on_garbage() {
    let models = [model("s3"), model("sqs"), model("sts"), model("ec2")];
    let bodies: [&[u8]; 6] = [
        b"",
        b"\xff\xfe",
        b"<a><b>",
        b"{\"a\":",
        b"Action=&&&==",
        b"\x9f\xff",
    ];
    for m in &models {
        for body in bodies {
            for (method, uri) in [
                ("GET", "/"),
                ("POST", "/"),
                ("PUT", "/b/k?x=%zz"),
                ("DELETE", "/%"),
            ] {
                for hdrs in [
                    vec![
                        ("content-type", "application/x-amz-json-1.0"),
                        ("x-amz-target", "X.Y"),
                    ],
                    vec![("content-type", "application/x-www-form-urlencoded")],
                    vec![("smithy-protocol", "rpc-v2-cbor")],
                    vec![],
                ] {
                    let _ = decode(m, method, uri, &hdrs, body);
                }
            }
        }
    }
}

#[test]
fn logs_live_tail_json_event_stream() {
    let m = model("logs");
    let out = json!({"responseStream": [
        {"sessionStart": {"requestId": "r", "sessionId": "s", "logGroupIdentifiers": ["g"]}},
        {"sessionUpdate": {"sessionMetadata": {"sampled": false}, "sessionResults": [
            {"logStreamName": "st", "logGroupIdentifier": "g", "message": "hello", "timestamp": 1700000000000_i64, "ingestionTime": 1700000000001_i64}
        ]}}
    ]});
    let r = encode_response(&m, Protocol::Json, "StartLiveTail", &out, "rid").unwrap();
    assert_eq!(
        header(&r, "content-type"),
        Some("application/vnd.amazon.eventstream")
    );
    // botocore reads the initial-response and then the events.
    let parsed = botocore_parse_events(&[("logs", "json", "StartLiveTail", &r)]);
    assert_eq!(parsed[0]["events"][0]["sessionStart"]["sessionId"], "s");
    assert_eq!(
        parsed[0]["events"][1]["sessionUpdate"]["sessionResults"][0]["message"],
        "hello"
    );
}

/// Like [`botocore_parse`], but drains event streams into `events`.
fn botocore_parse_events(cases: &[(&str, &str, &str, &HttpResponse)]) -> Vec<Value> {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/protocol-vectors/parse_real.py");
    let mut input = String::new();
    for (service, protocol, op, r) in cases {
        let line = json!({
            "service": service, "protocol": protocol, "operation": op, "status": r.status,
            "headers": r.headers, "body_b64": B64.encode(body_bytes(r)), "drain_events": true,
        });
        input.push_str(&line.to_string());
        input.push('\n');
    }
    let mut child = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn models_are_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<ServiceModel>();
    // Lazy shape parsing from several threads at once gives the same answers.
    let m = std::sync::Arc::new(model("s3"));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let m = m.clone();
            std::thread::spawn(move || {
                decode(&m, "GET", "/b?list-type=2&prefix=x", &[], b"")
                    .unwrap()
                    .input
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap()["Prefix"], "x");
    }
}

#[test]
fn s3_prefers_current_operations_over_deprecated_ones_on_a_shared_uri() {
    // botocore's full S3 model still has GetBucketLifecycle (deprecated) on
    // `GET /{Bucket}?lifecycle`, beside GetBucketLifecycleConfiguration.
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import botocore, gzip, os, sys; \
             p = os.path.join(os.path.dirname(botocore.__file__), 'data/s3/2006-03-01/service-2.json.gz'); \
             sys.stdout.write(gzip.open(p).read().decode())",
        ])
        .output()
        .expect("python3 with botocore");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = String::from_utf8(out.stdout).unwrap();
    let model = ministack_protocol::ServiceModel::from_json(&json).unwrap();
    let headers = ministack_protocol::http::HeaderMap::new();
    let method = ministack_protocol::http::Method::GET;
    let head = ministack_protocol::RequestHead {
        method: &method,
        path: "/bucket",
        query: "lifecycle",
        headers: &headers,
    };
    assert_eq!(
        model.match_rest(&head),
        Some("GetBucketLifecycleConfiguration")
    );
}

/// A streamed event stream: the output names a stream; the frames written
/// later (initial + batches + the end) read back as the SDK reads one body.
#[test]
fn streamed_event_streams_encode_batches_the_sdk_reads() {
    use ministack_protocol::encode_stream_error;
    let streamed = |m: &ServiceModel, proto, op: &str, out: Value, batches: Vec<Vec<Value>>| {
        let r = encode_response(m, proto, op, &out, "rid").unwrap();
        let ResponseBody::EventStream { initial, stream } = r.body else {
            panic!("expected a streamed body, got {:?}", r.body);
        };
        assert_eq!(stream.stream_id, "stream-1");
        let mut bytes = initial.clone();
        for batch in &batches {
            bytes.extend(stream.encode_events(batch));
        }
        (
            initial,
            HttpResponse {
                status: r.status,
                headers: r.headers,
                body: ResponseBody::Bytes(bytes),
            },
        )
    };
    let s3 = model("s3");
    let (initial, r) = streamed(
        &s3,
        Protocol::RestXml,
        "SelectObjectContent",
        json!({"Payload": {"stream-id": "stream-1"}}),
        vec![
            vec![json!({"Records": {"Payload": B64.encode(b"a,b\n")}})],
            vec![
                json!({"Records": {"Payload": B64.encode(b"c,d\n")}}),
                json!({"End": {}}),
            ],
        ],
    );
    assert!(initial.is_empty(), "rest-xml has no initial-response frame");
    assert_eq!(
        header(&r, "content-type"),
        Some("application/vnd.amazon.eventstream")
    );
    let parsed = botocore_parse_events(&[("s3", "rest-xml", "SelectObjectContent", &r)]);
    assert_eq!(parsed[0]["events"][0]["Records"]["Payload"], "a,b\n");
    assert_eq!(parsed[0]["events"][1]["Records"]["Payload"], "c,d\n");
    assert!(parsed[0]["events"][2].get("End").is_some());

    let logs = model("logs");
    let (initial, r) = streamed(
        &logs,
        Protocol::Json,
        "StartLiveTail",
        json!({"responseStream": {"stream-id": "stream-1"}}),
        vec![vec![
            json!({"sessionStart": {"requestId": "r", "sessionId": "s"}}),
        ]],
    );
    assert!(!initial.is_empty(), "awsJson starts with initial-response");
    let parsed = botocore_parse_events(&[("logs", "json", "StartLiveTail", &r)]);
    assert_eq!(parsed[0]["events"][0]["sessionStart"]["sessionId"], "s");

    // The error frame that ends a failed stream.
    use aws_smithy_eventstream::frame::read_message_from;
    let frame = encode_stream_error("Boom", "it broke");
    let msg = read_message_from(&mut &frame[..]).unwrap();
    let get = |name: &str| {
        msg.headers()
            .iter()
            .find(|h| h.name().as_str() == name)
            .and_then(|h| h.value().as_string().ok())
            .map(|s| s.as_str().to_string())
    };
    assert_eq!(get(":message-type").as_deref(), Some("error"));
    assert_eq!(get(":error-code").as_deref(), Some("Boom"));
    assert_eq!(get(":error-message").as_deref(), Some("it broke"));
}
