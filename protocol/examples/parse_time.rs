//! Prints how long `ServiceModel::from_json` takes on a model file.
//! `cargo run -p ministack-protocol --release --example parse_time -- FILE...`
use std::time::Instant;

fn main() {
    for path in std::env::args().skip(1) {
        let text = std::fs::read_to_string(&path).expect("read model");
        let t = Instant::now();
        let v: serde_json::Value = serde_json::from_str(&text).expect("json");
        let value_time = t.elapsed();
        drop(v);
        let t = Instant::now();
        let _: serde::de::IgnoredAny = serde_json::from_str(&text).expect("json");
        println!(
            "  scan only (IgnoredAny): {:.2} ms",
            t.elapsed().as_secs_f64() * 1e3
        );
        let runs = 10;
        let t = Instant::now();
        for _ in 0..runs {
            ministack_protocol::ServiceModel::from_json(&text).expect("model");
        }
        println!(
            "{path}: from_json {:.2} ms (serde_json::Value alone {:.2} ms), {} KB",
            t.elapsed().as_secs_f64() * 1e3 / runs as f64,
            value_time.as_secs_f64() * 1e3,
            text.len() / 1024
        );
    }
}
