#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use ministack_protocol::ServiceModel;

#[path = "common.rs"]
mod common;

static MODEL: LazyLock<ServiceModel> =
    LazyLock::new(|| ServiceModel::from_json(include_str!("../../protocol/tests/models/s3.json")).expect("model"));

fuzz_target!(|data: &[u8]| common::run(&MODEL, data));
