//! Invoke (RequestResponse, Event, DryRun), InvokeAsync,
//! InvokeWithResponseStream, and asynchronous delivery: retries with
//! AWS's backoff, OnSuccess/OnFailure destinations and the dead-letter queue.

use std::time::Duration;

use ministack_sdk::blobs::StreamingBlob;
use ministack_sdk::encoding::{base64_decode, base64_encode};
use ministack_sdk::prelude::*;
use ministack_sdk::services::{self, Target};
use ministack_sdk::{blobs, ids, metrics, tasks, time};
use serde_json::{Value, json};

use crate::common::*;
use crate::exec::{self, Outcome};
use crate::settings;

/// AWS's payload limits: 6 MB for a synchronous invoke, 256 KB for an event.
pub const MAX_SYNC_PAYLOAD: usize = 6 * 1024 * 1024;
pub const MAX_ASYNC_PAYLOAD: usize = 256 * 1024;
/// LogType Tail returns the last 4 KB of the log.
const TAIL_BYTES: usize = 4096;

/// The function version one invoke runs.
#[derive(Debug, Clone)]
pub struct Target2 {
    pub name: String,
    /// The qualifier as invoked ("" when none).
    pub qualifier: String,
    pub resolved: Resolved,
    pub reserved: Option<u32>,
    pub invoked_arn: String,
}

/// Resolves a FunctionName (+ Qualifier) to the version to run; an alias
/// picks a version by its routing weights.
pub fn target(
    ctx: &Context,
    function_name: &str,
    qualifier: Option<&str>,
) -> Result<Target2, AwsError> {
    let r = function_ref(ctx, function_name, qualifier)?;
    let f = load_function(ctx, &r.name)?;
    let q = r.qualifier.clone().unwrap_or_default();
    let version = if q.is_empty() {
        LATEST.to_string()
    } else {
        match alias_of(ctx, &r.name, &q)? {
            Some(alias) => route_alias(&alias, roll()),
            None => q.clone(),
        }
    };
    let resolved = resolve_version(ctx, &f, &r.name, &version)?;
    let arn = function_arn(ctx, &r.name);
    Ok(Target2 {
        invoked_arn: qualified_arn(&arn, r.qualifier.as_deref()),
        name: r.name,
        qualifier: q,
        resolved,
        reserved: f.reserved,
    })
}

fn spec(ctx: &Context, t: &Target2) -> exec::Spec {
    let c = &t.resolved.config;
    let env = c["Environment"]["Variables"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default();
    let now = time::iso8601(time::now_secs());
    exec::Spec {
        function_id: function_arn(ctx, &t.name),
        revision: c["RevisionId"].as_str().unwrap_or_default().to_string(),
        function_name: t.name.clone(),
        version: t.resolved.version.clone(),
        runtime: c["Runtime"].as_str().unwrap_or_default().to_string(),
        handler: c["Handler"].as_str().unwrap_or_default().to_string(),
        code_blob: t.resolved.code_blob.clone(),
        image_uri: c["ImageConfigResponse"]["ImageUri"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        layers: t.resolved.layer_blobs.clone(),
        environment: env,
        memory_mb: c["MemorySize"].as_u64().unwrap_or(128) as u32,
        timeout_seconds: c["Timeout"].as_u64().unwrap_or(3) as u32,
        architecture: c["Architectures"][0]
            .as_str()
            .unwrap_or("x86_64")
            .to_string(),
        reserved_concurrency: t.reserved,
        log_group: c["LoggingConfig"]["LogGroup"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| format!("/aws/lambda/{}", t.name)),
        log_stream: format!(
            "{}/{}/{}/[{}]{}",
            &now[0..4],
            &now[5..7],
            &now[8..10],
            t.resolved.version,
            ids::hex(32)
        ),
    }
}

fn too_many_requests() -> AwsError {
    AwsError::new("TooManyRequestsException", "Rate Exceeded.")
        .with_status(429)
        .with_member("Type", "User")
        .with_member(
            "Reason",
            "ReservedFunctionConcurrentInvocationLimitExceeded",
        )
}

/// Runs the function once and waits.
pub fn run(
    ctx: &Context,
    t: &Target2,
    payload: &[u8],
    request_id: &str,
    client_context: &str,
) -> Result<Outcome, AwsError> {
    run_into(ctx, t, payload, request_id, client_context, None)
}

/// [`run`], streaming a streamed response into `stream` as it comes.
fn run_into(
    ctx: &Context,
    t: &Target2,
    payload: &[u8],
    request_id: &str,
    client_context: &str,
    stream: Option<&str>,
) -> Result<Outcome, AwsError> {
    let dims = [("FunctionName", t.name.as_str())];
    if t.reserved == Some(0) {
        metrics::emit(&[metrics::Datum::count("AWS/Lambda", "Throttles", &dims)])?;
        return Err(too_many_requests());
    }
    let spec = spec(ctx, t);
    let started = time::now();
    let result = exec::invoke_into(
        &spec,
        payload,
        &t.invoked_arn,
        request_id,
        client_context,
        stream,
    );
    let ms = (time::now() - started) * 1000.0;
    let mut out = match result {
        Ok(out) => out,
        Err(e) => {
            if e.code == "TooManyRequestsException" {
                metrics::emit(&[metrics::Datum::count("AWS/Lambda", "Throttles", &dims)])?;
            }
            return Err(e);
        }
    };
    // Service metrics, batched (ministack_sdk::metrics): per function and
    // for the account (no dimension), as AWS publishes them.
    let errors = if out.function_error.is_some() {
        1.0
    } else {
        0.0
    };
    let mut data = Vec::new();
    for d in [&dims[..], &[][..]] {
        data.push(metrics::Datum::count("AWS/Lambda", "Invocations", d));
        data.push(metrics::Datum {
            value: errors,
            ..metrics::Datum::count("AWS/Lambda", "Errors", d)
        });
        data.push(metrics::Datum {
            value: ms,
            unit: "Milliseconds",
            ..metrics::Datum::count("AWS/Lambda", "Duration", d)
        });
    }
    metrics::emit(&data)?;
    crate::logs::ship(&spec.log_group, &spec.log_stream, &out.logs);
    if out.function_error.is_none() && out.payload.len() > MAX_SYNC_PAYLOAD {
        out.payload = json!({
            "errorMessage": format!("Response payload size ({} bytes) exceeded maximum allowed payload size ({MAX_SYNC_PAYLOAD} bytes).", out.payload.len()),
            "errorType": "Function.ResponseSizeTooLarge",
        })
        .to_string()
        .into_bytes();
        out.function_error = Some("Unhandled".into());
    }
    Ok(out)
}

fn too_large(limit: usize) -> AwsError {
    AwsError::new(
        "RequestTooLargeException",
        format!("Request must be smaller than {limit} bytes for the InvokeFunction operation"),
    )
    .with_status(413)
    .with_member("Type", "User")
}

/// The event must be JSON text (or empty).
fn check_json(payload: &[u8]) -> Result<(), AwsError> {
    if payload.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    serde_json::from_slice::<serde::de::IgnoredAny>(payload)
        .map(|_| ())
        .map_err(|e| {
            AwsError::new(
                "InvalidRequestContentException",
                format!(
                    "Could not parse request body into json: Could not parse payload into json: {e}"
                ),
            )
            .with_status(400)
            .with_member("Type", "User")
        })
}

pub fn log_tail(logs: &str) -> String {
    let b = logs.as_bytes();
    base64_encode(&b[b.len().saturating_sub(TAIL_BYTES)..])
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InvokeIn {
    function_name: String,
    #[serde(default)]
    invocation_type: Option<String>,
    #[serde(default)]
    log_type: Option<String>,
    #[serde(default)]
    client_context: Option<String>,
    /// Base64, or a blob the gateway stored a large payload in.
    #[serde(default)]
    payload: Option<StreamingBlob>,
    #[serde(default)]
    qualifier: Option<String>,
}

/// The payload's bytes; a blob the gateway stored it in is released once
/// read (the function gets the bytes).
fn decode_payload(p: Option<StreamingBlob>) -> Result<Vec<u8>, AwsError> {
    let Some(p) = p else {
        return Ok(Vec::new());
    };
    let bytes = p.bytes()?;
    if let StreamingBlob::Blob(blob) = &p {
        blobs::release(&blob.id);
    }
    Ok(bytes)
}

pub fn invoke(ctx: &Context, mut input: InvokeIn) -> Result<Value, AwsError> {
    // The base64 text is dropped here, not kept beside the decoded bytes
    // while the function runs (a 6 MB payload is 8 MB of text).
    let payload = decode_payload(input.payload.take())?;
    let kind = input
        .invocation_type
        .as_deref()
        .unwrap_or("RequestResponse");
    let limit = if kind == "Event" {
        MAX_ASYNC_PAYLOAD
    } else {
        MAX_SYNC_PAYLOAD
    };
    if payload.len() > limit {
        return Err(too_large(limit));
    }
    let t = target(ctx, &input.function_name, input.qualifier.as_deref())?;
    check_json(&payload)?;
    match kind {
        "DryRun" => Ok(json!({"StatusCode": 204, "ExecutedVersion": t.resolved.version})),
        "Event" => {
            enqueue(ctx, &t, &payload, &ctx.request_id)?;
            Ok(json!({"StatusCode": 202}))
        }
        _ => {
            let out = run(
                ctx,
                &t,
                &payload,
                &ctx.request_id,
                input.client_context.as_deref().unwrap_or(""),
            )?;
            let mut v = json!({
                "StatusCode": 200,
                "Payload": base64_encode(&out.payload),
                "ExecutedVersion": t.resolved.version,
            });
            if let Some(e) = out.function_error {
                v["FunctionError"] = json!(e);
            }
            if input.log_type.as_deref() == Some("Tail") {
                v["LogResult"] = json!(log_tail(&out.logs));
            }
            Ok(v)
        }
    }
}

pub fn invoke_with_response_stream(ctx: &Context, mut input: InvokeIn) -> Result<Value, AwsError> {
    let payload = decode_payload(input.payload.take())?;
    if payload.len() > MAX_SYNC_PAYLOAD {
        return Err(too_large(MAX_SYNC_PAYLOAD));
    }
    let t = target(ctx, &input.function_name, input.qualifier.as_deref())?;
    check_json(&payload)?;
    if input.invocation_type.as_deref() == Some("DryRun") {
        return Ok(
            json!({"StatusCode": 204, "ExecutedVersion": t.resolved.version, "EventStream": []}),
        );
    }
    if t.reserved == Some(0) {
        return Err(too_many_requests());
    }
    // The answer (status, headers) goes out now; a task runs the function
    // and feeds the stream while it runs (docs/streaming.md).
    let events = EventStream::open();
    let job = StreamedInvoke {
        stream: events.id().to_string(),
        function: t.name.clone(),
        version: t.resolved.version.clone(),
        invoked_arn: t.invoked_arn.clone(),
        payload: base64_encode(&payload),
        request_id: ctx.request_id.clone(),
        client_context: input.client_context.unwrap_or_default(),
        tail: input.log_type.as_deref() == Some("Tail"),
    };
    tasks::schedule(Duration::ZERO, STREAM_TASK, &job)?;
    Ok(json!({
        "StatusCode": 200,
        "ExecutedVersion": t.resolved.version,
        "ResponseStreamContentType": "application/octet-stream",
        "EventStream": events,
    }))
}

/// The task that runs a streamed invoke.
pub const STREAM_TASK: &str = "stream-invoke";

/// One InvokeWithResponseStream being answered (the task's payload).
#[derive(Debug, Serialize, Deserialize)]
pub struct StreamedInvoke {
    stream: String,
    function: String,
    /// The version the answer named (an alias was resolved already).
    version: String,
    invoked_arn: String,
    payload: String,
    request_id: String,
    client_context: String,
    tail: bool,
}

/// Runs the function of a streamed invoke: the pieces of a streamed
/// response reach the client as the function writes them (the host sends
/// them); a buffered response is one `PayloadChunk`. Then `InvokeComplete`.
pub fn run_streamed(ctx: &Context, job: StreamedInvoke) -> Result<(), AwsError> {
    let events = EventStream::from_id(&job.stream);
    let mut t = target(ctx, &job.function, Some(&job.version))?;
    t.invoked_arn = job.invoked_arn.clone();
    let payload = base64_decode(&job.payload).unwrap_or_default();
    let out = match run_into(
        ctx,
        &t,
        &payload,
        &job.request_id,
        &job.client_context,
        Some(&job.stream),
    ) {
        Ok(out) => out,
        Err(e) => {
            events.fail(e);
            return Ok(());
        }
    };
    let mut complete = json!({});
    if out.function_error.is_some() {
        let err: Value = serde_json::from_slice(&out.payload).unwrap_or(Value::Null);
        complete["ErrorCode"] = json!(err["errorType"].as_str().unwrap_or("Unhandled"));
        complete["ErrorDetails"] = json!(err["errorMessage"].as_str().unwrap_or_default());
    } else if !out.payload.is_empty() {
        events.send(
            "PayloadChunk",
            &json!({"Payload": base64_encode(&out.payload)}),
        );
    }
    if job.tail {
        complete["LogResult"] = json!(log_tail(&out.logs));
    }
    events.send("InvokeComplete", &complete);
    events.close();
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InvokeAsyncIn {
    function_name: String,
    invoke_args: BlobRef,
}

pub fn invoke_async(ctx: &Context, input: InvokeAsyncIn) -> Result<Value, AwsError> {
    if input.invoke_args.size as usize > MAX_ASYNC_PAYLOAD {
        return Err(too_large(MAX_ASYNC_PAYLOAD));
    }
    let payload = blobs::read(&input.invoke_args.id, 0, MAX_ASYNC_PAYLOAD as u32 + 1)?;
    let t = target(ctx, &input.function_name, None)?;
    check_json(&payload)?;
    enqueue(ctx, &t, &payload, &ctx.request_id)?;
    Ok(json!({"Status": 202}))
}

// ---- asynchronous delivery ----

/// One queued event (the `async-invoke` task's payload).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Event {
    pub function: String,
    /// Qualifier as invoked ("" for none): decides the event invoke config.
    pub qualifier: String,
    pub payload: String,
    pub request_id: String,
    /// Attempts made so far.
    pub attempts: u32,
    /// When the event was queued (epoch seconds).
    pub queued_at: f64,
    /// A stand-in record: runs the event only if the attempt it stands in
    /// for was cut off by a restart (see `run_event`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stand_in: bool,
}

/// Attempts running now: `<request id>:<attempt>` -> the gateway run
/// ([`crate::esm::boot_id`]) they started in; removed when they end.
const IN_FLIGHT: Table<u64> = Table::new("async-in-flight");

fn in_flight_key(e: &Event) -> String {
    format!("{}:{}", e.request_id, e.attempts)
}

pub fn enqueue(
    ctx: &Context,
    t: &Target2,
    payload: &[u8],
    request_id: &str,
) -> Result<(), AwsError> {
    let e = Event {
        function: t.name.clone(),
        qualifier: t.qualifier.clone(),
        payload: String::from_utf8_lossy(payload).into_owned(),
        request_id: if request_id.is_empty() {
            ids::uuid()
        } else {
            request_id.to_string()
        },
        attempts: 0,
        queued_at: time::now(),
        stand_in: false,
    };
    let _ = ctx;
    tasks::schedule(Duration::ZERO, "async-invoke", &e)?;
    Ok(())
}

/// Seconds after a function's timeout before an interrupted asynchronous
/// attempt runs again (the gateway stopped while it ran).
const ASYNC_STAND_IN_MARGIN_SECS: u64 = 2;

/// Delay before retry `n` (1-based): AWS waits 1 minute, then 2 minutes.
/// `LAMBDA_ASYNC_RETRY_DELAYS` (seconds, comma-separated) overrides them.
pub fn retry_delay(ctx: &Context, n: u32) -> Duration {
    let delays: Vec<f64> = ctx
        .setting("LAMBDA_ASYNC_RETRY_DELAYS")
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .filter(|v: &Vec<f64>| !v.is_empty())
        .unwrap_or_else(|| vec![60.0, 120.0]);
    let i = (n.max(1) as usize - 1).min(delays.len() - 1);
    Duration::from_secs_f64(delays[i].max(0.0))
}

/// The `async-invoke` task: one attempt, then a retry, a destination or the DLQ.
pub fn run_event(ctx: &Context, mut e: Event) -> Result<(), AwsError> {
    let boot = crate::esm::boot_id();
    if e.stand_in {
        match IN_FLIGHT.get(&in_flight_key(&e))? {
            // The attempt ended (its cancel of this record came too late).
            None => return Ok(()),
            // It still runs in this gateway (a slow cold start): look again
            // later rather than run the event twice.
            Some(b) if b == boot => {
                tasks::schedule(
                    Duration::from_secs(ASYNC_STAND_IN_MARGIN_SECS),
                    "async-invoke",
                    &e,
                )?;
                return Ok(());
            }
            // A restart cut it off: this is the next attempt.
            Some(_) => {
                IN_FLIGHT.delete(&in_flight_key(&e));
                e.stand_in = false;
            }
        }
    }
    let t = match target(
        ctx,
        &e.function,
        Some(&e.qualifier)
            .filter(|q| !q.is_empty())
            .map(|s| s.as_str()),
    ) {
        Ok(t) => t,
        // The function (or its alias) is gone: the event is dropped.
        Err(_) => return Ok(()),
    };
    let config_q = if e.qualifier.is_empty() {
        LATEST
    } else {
        e.qualifier.as_str()
    };
    let eic = settings::event_invoke_config(&e.function, config_q).unwrap_or(Value::Null);
    let max_retries = eic["MaximumRetryAttempts"].as_u64().unwrap_or(2) as u32;
    let max_age = eic["MaximumEventAgeInSeconds"].as_f64().unwrap_or(21600.0);
    e.attempts += 1;
    // The invoke commits this task's unit (and with it the removal of its
    // record) before the function runs: a stand-in record, due after the
    // function's timeout, runs the event again if the gateway stops before
    // the outcome is known (an in-flight mark tells a cut-off attempt from
    // a slow one). Both are removed below.
    let timeout = t.resolved.config["Timeout"].as_u64().unwrap_or(3);
    IN_FLIGHT.put(&in_flight_key(&e), &boot)?;
    let stand_in = tasks::schedule(
        Duration::from_secs(timeout + ASYNC_STAND_IN_MARGIN_SECS),
        "async-invoke",
        &Event {
            stand_in: true,
            ..e.clone()
        },
    )?;
    let result = run(ctx, &t, e.payload.as_bytes(), &e.request_id, "");
    tasks::cancel(&stand_in);
    IN_FLIGHT.delete(&in_flight_key(&e));
    let (ok, response, function_error, error_message) = match &result {
        Ok(out) => {
            let body: Value = serde_json::from_slice(&out.payload)
                .unwrap_or_else(|_| json!(String::from_utf8_lossy(&out.payload)));
            let msg = body["errorMessage"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            (
                out.function_error.is_none(),
                body,
                out.function_error.clone(),
                msg,
            )
        }
        Err(err) => (false, Value::Null, None, err.message.clone()),
    };
    if ok {
        if let Some(dest) = eic["DestinationConfig"]["OnSuccess"]["Destination"].as_str() {
            let record = destination_record(&e, &t, "Success", &response, None);
            deliver(ctx, dest, &record, true);
        }
        return Ok(());
    }
    let age = time::now() - e.queued_at;
    if e.attempts <= max_retries {
        let delay = retry_delay(ctx, e.attempts);
        if age + delay.as_secs_f64() <= max_age {
            tasks::schedule(delay, "async-invoke", &e)?;
            return Ok(());
        }
    }
    let condition = if e.attempts <= max_retries {
        "EventAgeExceeded"
    } else {
        "RetriesExhausted"
    };
    if let Some(dest) = eic["DestinationConfig"]["OnFailure"]["Destination"].as_str() {
        let record = destination_record(&e, &t, condition, &response, function_error.as_deref());
        deliver(ctx, dest, &record, false);
    } else if let Some(dlq) = t.resolved.config["DeadLetterConfig"]["TargetArn"].as_str() {
        dead_letter(ctx, dlq, &e, &error_message);
    }
    Ok(())
}

/// AWS's invocation record for destinations.
fn destination_record(
    e: &Event,
    t: &Target2,
    condition: &str,
    response: &Value,
    function_error: Option<&str>,
) -> Value {
    let request: Value = serde_json::from_str(&e.payload).unwrap_or_else(|_| json!(e.payload));
    let mut rc = json!({"statusCode": 200, "executedVersion": t.resolved.version});
    if let Some(fe) = function_error {
        rc["functionError"] = json!(fe);
    }
    let arn = if t.qualifier.is_empty() {
        qualified_arn(&t.invoked_arn, Some(LATEST))
    } else {
        t.invoked_arn.clone()
    };
    json!({
        "version": "1.0",
        "timestamp": time::iso8601_millis(time::now()),
        "requestContext": {
            "requestId": e.request_id,
            "functionArn": arn,
            "condition": condition,
            "approximateInvokeCount": e.attempts,
        },
        "requestPayload": request,
        "responseContext": rc,
        "responsePayload": response,
    })
}

/// Sends a destination record to SQS, SNS, Lambda or EventBridge. Failures
/// are logged (AWS drops them too, after its own retries).
fn deliver(ctx: &Context, dest: &str, record: &Value, success: bool) {
    let Some(arn) = Arn::parse(dest) else { return };
    let body = record.to_string();
    let result = match arn.service.as_str() {
        "sqs" => send_sqs(&arn, &body, None),
        "sns" => services::call_json(
            &Target::at("sns", &arn.account, &arn.region),
            "Publish",
            &json!({"TopicArn": dest, "Message": body}).to_string(),
        )
        .map(|_| ()),
        "lambda" => services::call_json(
            &Target::at("lambda", &arn.account, &arn.region),
            "Invoke",
            &json!({"FunctionName": dest, "InvocationType": "Event", "Payload": base64_encode(body.as_bytes())}).to_string(),
        )
        .map(|_| ()),
        "events" => services::call_json(
            &Target::at("events", &arn.account, &arn.region),
            "PutEvents",
            &json!({"Entries": [{
                "Source": "lambda",
                "DetailType": if success { "Lambda Function Invocation Result - Success" } else { "Lambda Function Invocation Result - Failure" },
                "Detail": body,
                "EventBusName": dest,
                "Resources": [record["requestContext"]["functionArn"]],
            }]})
            .to_string(),
        )
        .map(|_| ()),
        other => Err(AwsError::internal(format!("unsupported destination service {other}"))),
    };
    if let Err(err) = result {
        ministack_sdk::warn!(
            "lambda destination {dest} failed: {} {}",
            err.code,
            err.message
        );
    }
    let _ = ctx;
}

fn send_sqs(arn: &Arn, body: &str, attributes: Option<Value>) -> Result<(), AwsError> {
    let target = Target::at("sqs", &arn.account, &arn.region);
    let url: Value = services::call(
        &target,
        "GetQueueUrl",
        &json!({"QueueName": arn.resource, "QueueOwnerAWSAccountId": arn.account}),
    )?;
    let mut input = json!({"QueueUrl": url["QueueUrl"], "MessageBody": body});
    if let Some(a) = attributes {
        input["MessageAttributes"] = a;
    }
    services::call_json(&target, "SendMessage", &input.to_string()).map(|_| ())
}

/// The dead-letter queue gets the event itself with AWS's attributes.
fn dead_letter(_ctx: &Context, target_arn: &str, e: &Event, error_message: &str) {
    let Some(arn) = Arn::parse(target_arn) else {
        return;
    };
    let attrs = json!({
        "RequestID": {"DataType": "String", "StringValue": e.request_id},
        "ErrorCode": {"DataType": "Number", "StringValue": "200"},
        "ErrorMessage": {"DataType": "String", "StringValue": if error_message.is_empty() { "Unhandled" } else { error_message }},
    });
    let result = match arn.service.as_str() {
        "sqs" => send_sqs(&arn, &e.payload, Some(attrs)),
        "sns" => services::call_json(
            &Target::at("sns", &arn.account, &arn.region),
            "Publish",
            &json!({"TopicArn": target_arn, "Message": e.payload, "MessageAttributes": attrs})
                .to_string(),
        )
        .map(|_| ()),
        _ => Ok(()),
    };
    if let Err(err) = result {
        ministack_sdk::warn!(
            "lambda DLQ {target_arn} failed: {} {}",
            err.code,
            err.message
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_default_to_aws_and_can_be_set() {
        let ctx = Context::for_test("000000000000", "us-east-1");
        assert_eq!(retry_delay(&ctx, 1), Duration::from_secs(60));
        assert_eq!(retry_delay(&ctx, 2), Duration::from_secs(120));
        assert_eq!(retry_delay(&ctx, 5), Duration::from_secs(120));
        let mut ctx = ctx;
        ctx.settings
            .push(("LAMBDA_ASYNC_RETRY_DELAYS".into(), "0.1,0.2".into()));
        assert_eq!(retry_delay(&ctx, 1), Duration::from_millis(100));
        assert_eq!(retry_delay(&ctx, 2), Duration::from_millis(200));
    }

    #[test]
    fn payload_must_be_json() {
        assert!(check_json(b"").is_ok());
        assert!(check_json(b"{\"a\": 1}").is_ok());
        assert!(check_json(b"\"x\"").is_ok());
        assert_eq!(
            check_json(b"{nope").unwrap_err().code,
            "InvalidRequestContentException"
        );
    }

    #[test]
    fn log_tail_keeps_the_last_4k() {
        let logs = "a".repeat(5000) + "END";
        let tail = base64_decode(&log_tail(&logs)).unwrap();
        assert_eq!(tail.len(), 4096);
        assert!(tail.ends_with(b"END"));
    }
}
