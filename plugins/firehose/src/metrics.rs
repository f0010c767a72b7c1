//! `AWS/Firehose` metrics, per `DeliveryStreamName`, batched through
//! `ministack_sdk::metrics` (one PutMetricData a second, not one per
//! call): what a put accepted (`IncomingRecords`, `IncomingBytes`,
//! `IncomingPutRequests`) and what each delivery attempt did
//! (`DeliveryToS3.Records` / `.Bytes` / `.Success` / `.DataFreshness`, or
//! the same under `DeliveryToHttpEndpoint`). Errors are logged, never
//! returned: a metric lost must not fail a put or a delivery.

use ministack_sdk::metrics::{self, Datum};
use ministack_sdk::time;

use crate::put::decoded_len;
use crate::{Batch, Stream, kind};

const NS: &str = "AWS/Firehose";

fn emit(data: &[Datum]) {
    if let Err(e) = metrics::emit(data) {
        ministack_sdk::warn!("firehose metrics not recorded: {}", e.message);
    }
}

pub fn incoming(stream: &str, records: usize, bytes: usize) {
    let dims = [("DeliveryStreamName", stream)];
    emit(&[
        Datum::count(NS, "IncomingPutRequests", &dims),
        Datum {
            value: records as f64,
            ..Datum::count(NS, "IncomingRecords", &dims)
        },
        Datum {
            value: bytes as f64,
            unit: "Bytes",
            ..Datum::count(NS, "IncomingBytes", &dims)
        },
    ]);
}

pub fn delivery(s: &Stream, batch: &Batch, ok: bool) {
    let prefix = match s.dest_kind.as_str() {
        kind::S3 => "DeliveryToS3",
        kind::HTTP => "DeliveryToHttpEndpoint",
        _ => return,
    };
    let dims = [("DeliveryStreamName", s.name.as_str())];
    let name = |m: &str| format!("{prefix}.{m}");
    let (success, records, bytes, freshness) = (
        name("Success"),
        name("Records"),
        name("Bytes"),
        name("DataFreshness"),
    );
    let oldest = batch.records.iter().map(|r| r.arrival_ms).min();
    let mut data = vec![Datum {
        value: if ok { 1.0 } else { 0.0 },
        ..Datum::count(NS, &success, &dims)
    }];
    if ok {
        let n = batch.records.len() as f64;
        let b: usize = batch.records.iter().map(|r| decoded_len(&r.data)).sum();
        data.push(Datum {
            value: n,
            ..Datum::count(NS, &records, &dims)
        });
        data.push(Datum {
            value: b as f64,
            unit: "Bytes",
            ..Datum::count(NS, &bytes, &dims)
        });
        if let Some(oldest) = oldest {
            data.push(Datum {
                value: time::now_millis().saturating_sub(oldest) as f64 / 1000.0,
                unit: "Seconds",
                ..Datum::count(NS, &freshness, &dims)
            });
        }
    }
    emit(&data);
}
