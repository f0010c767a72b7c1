//! Encodes ListObjectsV2 with 100 keys N times (for `perf stat`).
use ministack_protocol::{Protocol, ServiceModel, encode_response};
use serde_json::{Value, json};

fn main() {
    let p = format!("{}/tests/models/s3.json", env!("CARGO_MANIFEST_DIR"));
    let m = ServiceModel::from_json(&std::fs::read_to_string(p).unwrap()).unwrap();
    let contents: Vec<Value> = (0..100)
        .map(|i| json!({"Key": format!("photos/2024/{i:05}.jpg"), "LastModified": 1700000000 + i, "ETag": "\"d41d8cd98f00b204e9800998ecf8427e\"", "Size": 1024 * i, "StorageClass": "STANDARD"}))
        .collect();
    let out = json!({"IsTruncated": false, "Contents": contents, "Name": "bench-bucket", "Prefix": "photos/", "MaxKeys": 1000, "KeyCount": 100});
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000);
    let mut total = 0;
    for _ in 0..n {
        let r = encode_response(&m, Protocol::RestXml, "ListObjectsV2", &out, "rid").unwrap();
        if let ministack_protocol::ResponseBody::Bytes(b) = r.body {
            total += b.len();
        }
    }
    println!("{total}");
}
