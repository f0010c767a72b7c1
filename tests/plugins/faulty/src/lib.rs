//! `faulty`: a test plugin that misbehaves on request, so the host's tests can
//! check that a panic, an endless loop or an allocation past the memory limit
//! answers that one request with an error and the next request works.
//! Not part of the default bundle.

use ministack_sdk::prelude::*;

struct Faulty;

impl Service for Faulty {
    const NAME: &'static str = "faulty";
    const MODEL: &'static str = include_str!("../model/service-2.json");

    fn router() -> Router {
        Router::new()
            .op("Panic", panic)
            .op("Loop", endless_loop)
            .op("Alloc", alloc)
            .op("Echo", echo)
            .http(raw_echo)
    }

    /// A data-plane route, to test the host's raw routing.
    fn raw_routes() -> Vec<ministack_sdk::RawRoute> {
        vec![ministack_sdk::RawRoute {
            host_suffix: String::new(),
            path_prefix: "/_faulty/".to_string(),
        }]
    }
}

/// Answers a raw HTTP request with what it received (method, path, query,
/// body length and the caller's account).
fn raw_echo(ctx: &Context, request: ministack_sdk::HttpRequest) -> ministack_sdk::HttpResponse {
    let body = serde_json::json!({
        "method": request.method,
        "path": request.path,
        "query": request.query,
        "bodyLength": request.body.len(),
        "account": ctx.account,
    });
    ministack_sdk::HttpResponse::new(201, "application/json", body.to_string())
}

export_plugin!(Faulty);

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PanicInput {
    message: Option<String>,
}

/// Panics (a trap in the host: `wasm unreachable`).
fn panic(_: &Context, input: PanicInput) -> Result<Empty, AwsError> {
    panic!(
        "{}",
        input
            .message
            .unwrap_or_else(|| "guest panic requested".to_string())
    )
}

/// Never returns; only the host's time limit ends it.
fn endless_loop(_: &Context, _: Empty) -> Result<Empty, AwsError> {
    let mut n: u64 = 0;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AllocInput {
    megabytes: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct AllocOutput {
    megabytes: u32,
    checksum: u64,
}

/// Allocates `Megabytes` MiB and writes every page, so the memory is really
/// used (past the host's limit, the allocation fails and the guest aborts).
fn alloc(_: &Context, input: AllocInput) -> Result<AllocOutput, AwsError> {
    let size = input.megabytes as usize * 1024 * 1024;
    let mut buf: Vec<u8> = Vec::with_capacity(size);
    buf.resize(size, 0xA5);
    let checksum = touch_pages(&mut buf);
    Ok(AllocOutput {
        megabytes: input.megabytes,
        checksum,
    })
}

/// Writes one byte per 4 KiB page and sums them back.
fn touch_pages(buf: &mut [u8]) -> u64 {
    for (i, page) in buf.chunks_mut(4096).enumerate() {
        page[0] = (i % 251) as u8;
    }
    std::hint::black_box(&buf);
    buf.chunks(4096).map(|p| p[0] as u64).sum()
}

/// Returns its input unchanged (a codec round-trip test).
fn echo(_: &Context, input: serde_json::Value) -> Result<serde_json::Value, AwsError> {
    Ok(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_and_alloc_work_natively() {
        let ctx = Context::for_test("123456789012", "us-east-1");
        let router = Faulty::router().with_model(Faulty::MODEL);
        let out = router
            .dispatch(&ctx, "Echo", r#"{"Message":"hi","Number":3}"#)
            .unwrap();
        assert_eq!(out, r#"{"Message":"hi","Number":3}"#);
        let out = router
            .dispatch(&ctx, "Alloc", r#"{"Megabytes":1}"#)
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["Megabytes"], 1);
        assert_eq!(
            router.dispatch(&ctx, "Nope", "{}").unwrap_err().code,
            "UnknownOperationException"
        );
    }
}
