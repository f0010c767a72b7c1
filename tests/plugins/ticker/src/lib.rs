//! `ticker`: a test plugin for streamed event-stream responses. Not part of
//! the default bundle.
//!
//! `Subscribe {Count, IntervalMs, FailAfter?}` answers at once with an open
//! event stream; a task then sends `Tick {Seq, SentAt}` every `IntervalMs`
//! (each one reaches the client when the task's `tasks::wait` commits it),
//! and `Done {Total}` at the end. With `FailAfter = n` the task fails after
//! n ticks, which must end the stream with an error frame.

use std::time::Duration;

use ministack_sdk::prelude::*;
use ministack_sdk::tasks;
use serde_json::json;

struct Ticker;

impl Service for Ticker {
    const NAME: &'static str = "ticker";
    const MODEL: &'static str = include_str!("../model/service-2.json");

    fn router() -> Router {
        Router::new().op("Subscribe", subscribe).task("feed", feed)
    }
}

export_plugin!(Ticker);

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SubscribeInput {
    count: u32,
    #[serde(default)]
    interval_ms: Option<u64>,
    #[serde(default)]
    fail_after: Option<u32>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct SubscribeOutput {
    label: String,
    events: EventStream,
}

#[derive(Serialize, Deserialize)]
struct Feed {
    stream: String,
    count: u32,
    interval_ms: u64,
    fail_after: Option<u32>,
}

fn subscribe(ctx: &Context, input: SubscribeInput) -> Result<SubscribeOutput, AwsError> {
    if input.count > 1000 || input.interval_ms.unwrap_or(0) > 60_000 {
        return Err(AwsError::new(
            "InvalidRequestException",
            "Count is at most 1000 and IntervalMs at most 60000",
        ));
    }
    let events = EventStream::open();
    tasks::schedule(
        Duration::ZERO,
        "feed",
        &Feed {
            stream: events.id().to_string(),
            count: input.count,
            interval_ms: input.interval_ms.unwrap_or(1000),
            fail_after: input.fail_after,
        },
    )?;
    Ok(SubscribeOutput {
        label: format!("ticks for {}", ctx.account),
        events,
    })
}

fn feed(_: &Context, job: Feed) -> Result<(), AwsError> {
    let events = EventStream::from_id(&job.stream);
    for seq in 0..job.count {
        if job.fail_after == Some(seq) {
            return Err(AwsError::server(
                "TickerBroke",
                format!("failed after {seq} ticks"),
            ));
        }
        let sent_at = ministack_sdk::time::now();
        if !events.send("Tick", &json!({"Seq": seq, "SentAt": sent_at})) {
            // The client went away.
            return Ok(());
        }
        // Commits this unit (the tick goes out) and sleeps: nothing
        // notifies this topic (a wait may end early when another request
        // of this plugin committed, so wait out the rest).
        let until = ministack_sdk::time::now() + job.interval_ms as f64 / 1000.0;
        loop {
            let left = until - ministack_sdk::time::now();
            if left <= 0.0 {
                break;
            }
            tasks::wait("ticker-never", Duration::from_secs_f64(left));
        }
    }
    events.send("Done", &json!({"Total": job.count}));
    events.close();
    Ok(())
}
