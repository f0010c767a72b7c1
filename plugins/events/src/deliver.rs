//! PutEvents and delivery. PutEvents validates each entry, archives the
//! events and matches them against the bus's enabled rules. SQS targets
//! are sent to within the request, as SNS does (the message is in the
//! queue when PutEvents returns; a failure retries as a task and never
//! fails the entry). Any other target waits for a `deliver` task (after
//! 0 ms) that runs once the request's unit has committed, so PutEvents
//! never waits on a slow target. The task matches the events again and
//! invokes every target but those, through `services.call` (SNS, Lambda,
//! Step Functions, Kinesis, Firehose, CloudWatch Logs, another bus) or the
//! `http` capability (API destinations). A failed invocation is retried with
//! backoff as a `retry` task under the target's RetryPolicy; when retries
//! or the event's age run out, the event goes to the target's SQS
//! dead-letter queue with AWS's error attributes.

use std::borrow::Cow;
use std::rc::Rc;
use std::time::Duration;

use ministack_sdk::json::{self, RawJson};
use ministack_sdk::prelude::*;
use ministack_sdk::services::{self, Target};
use ministack_sdk::store::{ParseCache, Scan, keys};
use ministack_sdk::{ids, metrics, tasks, time};
use serde_json::{Value, json};

use crate::event::{Event, Spans};
use crate::model::*;
use crate::targets::{self, Delivery, Failure};
use crate::{archives, connections, pattern, transform};

pub const DELIVER: &str = "deliver";
pub const RETRY: &str = "retry";
/// PutEvents' request size limit (AWS: 256 KB).
const MAX_REQUEST_BYTES: usize = 256 * 1024;
const DEFAULT_MAX_RETRIES: u64 = 185;
const DEFAULT_MAX_AGE_SECS: u64 = 86_400;

/// One PutEvents entry, borrowed from the request's text where it has no
/// escapes (an ordered map per entry cost more than the rest of matching);
/// written back as it came when forwarded to another account.
#[derive(Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct EntryIn<'a> {
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    source: Option<Cow<'a, str>>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    detail_type: Option<Cow<'a, str>>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    detail: Option<Cow<'a, str>>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    resources: Option<Vec<Cow<'a, str>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    time: Option<f64>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    event_bus_name: Option<Cow<'a, str>>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    trace_header: Option<Cow<'a, str>>,
}

/// The size AWS counts for an entry.
fn entry_size(e: &EntryIn) -> usize {
    let mut n = 0;
    if e.time.is_some() {
        n += 14;
    }
    for k in [&e.source, &e.detail_type, &e.detail] {
        n += k.as_deref().map_or(0, str::len);
    }
    if let Some(rs) = &e.resources {
        n += rs.iter().map(|r| r.len()).sum::<usize>();
    }
    n
}

fn entry_error(code: &str, message: &str) -> Value {
    json!({"ErrorCode": code, "ErrorMessage": message})
}

/// The payload of a `deliver` task: events put on one bus.
#[derive(Serialize, Deserialize)]
pub struct Batch {
    pub bus: String,
    pub events: Vec<Value>,
    /// Only these rules (a replay's FilterArns); empty = all.
    #[serde(default)]
    pub rule_arns: Vec<String>,
}

/// [`Batch`] as the `deliver` task reads it (the same JSON): each event
/// kept as its text too, so the stand-in record is written without
/// serializing the events again and a target taking the whole event gets
/// that text as is.
#[derive(Serialize, Deserialize)]
pub struct RawBatch {
    pub bus: String,
    pub events: Vec<RawJson>,
    #[serde(default)]
    pub rule_arns: Vec<String>,
    /// PutEvents matched these events and sent to the SQS targets itself:
    /// the task invokes only the others, and counts no rule metrics again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sent_to_queues: bool,
    /// Where each event's top-level fields sit in its text while PutEvents
    /// has them ([`Event::written`]); not in the task's record.
    #[serde(skip)]
    pub tops: Vec<Spans>,
}

/// The event envelope of one entry, in AWS's field order.
struct Envelope<'a> {
    version: &'static str,
    id: String,
    detail_type: &'a str,
    source: &'a str,
    account: &'a str,
    time: String,
    region: &'a str,
    resources: &'a [Cow<'a, str>],
    /// The entry's `Detail`, compacted (an object).
    detail: String,
}

/// An event's text being written, and where each field's value sits.
struct EventText {
    out: String,
    spans: Spans,
}

impl EventText {
    /// Appends `head` (a field's name and punctuation) and `value` as a
    /// JSON string, and notes where the value sits.
    #[inline(always)]
    fn string(&mut self, head: &str, name: &'static str, value: &str) {
        self.out.push_str(head);
        let at = self.out.len();
        json::push_str(&mut self.out, value);
        self.spans.push((name, at..self.out.len()));
    }
}

impl Envelope<'_> {
    /// The event's text, as serializing the envelope would write it, and
    /// where each field's value sits in it: matching parses only the
    /// fields its patterns name ([`Event::written`]).
    fn write(&self) -> (RawJson, Spans) {
        // The names and punctuation are 126 bytes; a string grows only when
        // escaped.
        let strings = [self.version, &self.id, self.detail_type, self.source]
            .into_iter()
            .chain([self.account, &self.time, self.region])
            .chain(self.resources.iter().map(|r| &**r));
        let size = 160 + self.detail.len() + strings.map(|s| s.len() + 3).sum::<usize>();
        let mut w = EventText {
            out: String::with_capacity(size),
            spans: Vec::with_capacity(9),
        };
        // Each field: its name and punctuation as one literal, then its
        // value. Written out, not looped over a list of the fields: the
        // loop cost ~8 k instructions more a PutEvents (ten envelopes).
        w.string("{\"version\":", "version", self.version);
        w.string(",\"id\":", "id", &self.id);
        w.string(",\"detail-type\":", "detail-type", self.detail_type);
        w.string(",\"source\":", "source", self.source);
        w.string(",\"account\":", "account", self.account);
        w.string(",\"time\":", "time", &self.time);
        w.string(",\"region\":", "region", self.region);
        let EventText { mut out, mut spans } = w;
        out.push_str(",\"resources\":[");
        let at = out.len() - 1;
        for (i, r) in self.resources.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            json::push_str(&mut out, r);
        }
        out.push(']');
        spans.push(("resources", at..out.len()));
        out.push_str(",\"detail\":");
        let at = out.len();
        out.push_str(&self.detail);
        spans.push(("detail", at..out.len()));
        out.push('}');
        (RawJson::from_written(out), spans)
    }
}

/// Builds the event envelope of one entry, or its per-entry error;
/// `now_text` (the request's clock, read and formatted once) is its time
/// unless the entry gives one.
fn envelope<'a>(
    ctx: &'a Context,
    e: &'a EntryIn<'a>,
    partner: bool,
    now_text: &str,
) -> Result<Envelope<'a>, Value> {
    let strict_sources = ctx.setting("reject_aws_sources") == Some("true");
    let missing = |k: &str| {
        entry_error(
            "InvalidArgument",
            &format!("Parameter {k} is not valid. Reason: {k} is a required argument."),
        )
    };
    let present = |v: &'a Option<Cow<'a, str>>| v.as_deref().filter(|x| !x.is_empty());
    let source = present(&e.source).ok_or_else(|| missing("Source"))?;
    let detail_type = present(&e.detail_type).ok_or_else(|| missing("DetailType"))?;
    let detail_text = present(&e.detail).ok_or_else(|| missing("Detail"))?;
    // Compacted as a parse into a `Value` and back would write it, without
    // building the `Value` (json::compact_into).
    let mut detail = String::with_capacity(detail_text.len());
    if json::compact_into(&mut detail, detail_text).is_err() || !detail.starts_with('{') {
        return Err(entry_error("MalformedDetail", "Detail is malformed."));
    }
    // AWS refuses `aws.*` sources from customers; plugins (S3's
    // EventBridgeConfiguration) put them through the same PutEvents, and
    // the host does not tell a plugin's call from a client's, so the check
    // is opt-in (docs/services/events.md).
    if !partner && strict_sources && source.starts_with("aws.") {
        return Err(entry_error(
            "NotAuthorizedForSourceException",
            "Not authorized for the source.",
        ));
    }
    let time = match e.time {
        // The request's clock reading is formatted once for all its entries.
        None => now_text.to_string(),
        Some(at) => time::iso8601(at.max(0.0) as u64),
    };
    Ok(Envelope {
        version: "0",
        id: ids::uuid(),
        detail_type,
        source,
        account: &ctx.account,
        time,
        region: &ctx.region,
        resources: e.resources.as_deref().unwrap_or_default(),
        detail,
    })
}

/// Entries (with their index in the request) for one other account and region.
type RemoteEntries<'a, 'e> = (String, String, Vec<(usize, &'e EntryIn<'a>)>);

/// PutEvents' answer for one entry.
#[derive(Serialize)]
#[serde(untagged)]
enum EntryResult {
    Put {
        #[serde(rename = "EventId")]
        event_id: String,
    },
    /// An entry's error, or another account's answer for it.
    Other(Value),
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutEventsOutput {
    failed_entry_count: usize,
    entries: Vec<EntryResult>,
}

/// PutEvents, reading its entries from the request's text (`Router::op_text`).
pub fn put_events(ctx: &Context, input: &str) -> Result<PutEventsOutput, AwsError> {
    #[derive(Deserialize)]
    struct Input<'a> {
        #[serde(rename = "Entries", borrow, default)]
        entries: Vec<EntryIn<'a>>,
    }
    let entries = serde_json::from_str::<Input>(input)
        .map_err(|e| AwsError::validation(format!("Invalid PutEvents input: {e}")))?
        .entries;
    if entries.iter().map(entry_size).sum::<usize>() > MAX_REQUEST_BYTES {
        return Err(AwsError::validation(
            "Total size of the entries in the request is over the limit.",
        ));
    }
    let mut results = Vec::with_capacity(entries.len());
    let now_text = time::iso8601(time::now().max(0.0) as u64);
    let mut failed = 0;
    // Events per bus, in entry order, already as the text the `deliver`
    // task reads: no ordered map is built for an envelope.
    let mut batches: Vec<RawBatch> = Vec::new();
    // Entries for buses in other accounts or regions: forwarded there.
    let mut remote: Vec<RemoteEntries> = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let bus_ref = e.event_bus_name.as_deref();
        if let Some(a) = bus_ref.and_then(Arn::parse)
            && (a.account != ctx.account || a.region != ctx.region)
        {
            match remote
                .iter_mut()
                .find(|r| r.0 == a.account && r.1 == a.region)
            {
                Some(r) => r.2.push((i, e)),
                None => remote.push((a.account.clone(), a.region.clone(), vec![(i, e)])),
            }
            results.push(EntryResult::Other(Value::Null));
            continue;
        }
        let bus = bus_name(bus_ref);
        if !batches.iter().any(|b| b.bus == bus) && !bus_exists(&bus) {
            failed += 1;
            results.push(EntryResult::Other(entry_error(
                "ResourceNotFoundException",
                &format!("Event bus {bus} does not exist."),
            )));
            continue;
        }
        match envelope(ctx, e, false, &now_text) {
            Ok(event) => {
                // Written once as text, not checked again by a parse.
                let (text, top) = event.write();
                results.push(EntryResult::Put { event_id: event.id });
                match batches.iter_mut().find(|b| b.bus == bus) {
                    Some(b) => {
                        b.events.push(text);
                        b.tops.push(top);
                    }
                    None => batches.push(RawBatch {
                        bus,
                        events: vec![text],
                        rule_arns: vec![],
                        sent_to_queues: false,
                        tops: vec![top],
                    }),
                }
            }
            Err(err) => {
                failed += 1;
                results.push(EntryResult::Other(err));
            }
        }
    }
    for b in &mut batches {
        archives::archive_raw(&b.bus, &b.events)?;
        let events: Vec<Event> = b
            .events
            .iter()
            .zip(std::mem::take(&mut b.tops))
            .map(|(raw, top)| Event::written(raw.get(), top))
            .collect();
        let (now, later): (Vec<Attempt>, Vec<Attempt>) =
            first_attempts(&b.bus, &[], &events, true)?
                .into_iter()
                .partition(sent_in_request);
        if !later.is_empty() {
            b.sent_to_queues = true;
            tasks::schedule(Duration::ZERO, DELIVER, &*b)?;
        }
        run_attempts(ctx, now);
    }
    for (account, region, items) in remote {
        #[derive(Serialize)]
        struct Forwarded<'a, 'e> {
            #[serde(rename = "Entries")]
            entries: Vec<&'e EntryIn<'a>>,
        }
        let input = Forwarded {
            entries: items.iter().map(|(_, e)| *e).collect(),
        };
        let answer = services::call_json(
            &Target::at("events", &account, &region),
            "PutEvents",
            &serde_json::to_string(&input).unwrap_or_default(),
        );
        let answer: Option<Value> = answer.ok().and_then(|a| serde_json::from_str(&a).ok());
        for (j, (i, _)) in items.iter().enumerate() {
            let r = answer
                .as_ref()
                .and_then(|a| a["Entries"].get(j).cloned())
                .unwrap_or_else(|| {
                    entry_error("InternalFailure", "The cross-account PutEvents failed.")
                });
            if r.member("ErrorCode").is_some() {
                failed += 1;
            }
            results[*i] = EntryResult::Other(r);
        }
    }
    Ok(PutEventsOutput {
        failed_entry_count: failed,
        entries: results,
    })
}

pub fn put_partner_events(ctx: &Context, v: Value) -> Result<Value, AwsError> {
    let entries = v
        .member("Entries")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut results = Vec::new();
    let now_text = time::iso8601(time::now().max(0.0) as u64);
    let mut failed = 0;
    let mut batches: Vec<Batch> = Vec::new();
    for e in &entries {
        let source = s(e, "Source").unwrap_or_default();
        // The partner bus of the source lives in the account the source
        // was created for.
        let Some(src) = crate::sources::find_source_by_name(source)? else {
            failed += 1;
            results.push(entry_error(
                "InvalidArgument",
                &format!("Event source {source} does not exist."),
            ));
            continue;
        };
        let target_ctx = Context {
            account: src.account.clone(),
            ..ctx.clone()
        };
        let entry = EntryIn::deserialize(e).unwrap_or_default();
        let event = envelope(&target_ctx, &entry, true, &now_text)
            .map(|e| serde_json::from_str::<Value>(e.write().0.get()).unwrap_or_default());
        match event {
            Ok(event) => {
                results.push(json!({"EventId": event["id"]}));
                if src.account == ctx.account && BUSES.contains(source) {
                    match batches.iter_mut().find(|b| b.bus == source) {
                        Some(b) => b.events.push(event),
                        None => batches.push(Batch {
                            bus: source.to_string(),
                            events: vec![event],
                            rule_arns: vec![],
                        }),
                    }
                }
            }
            Err(err) => {
                failed += 1;
                results.push(err);
            }
        }
    }
    for b in &batches {
        archives::archive(&b.bus, &b.events)?;
        tasks::schedule(Duration::ZERO, DELIVER, b)?;
    }
    Ok(json!({"FailedEntryCount": failed, "Entries": results}))
}

/// Whether PutEvents sends to this target itself: an SQS queue, a local
/// call as quick as the task's own record would be.
fn sent_in_request(a: &Attempt) -> bool {
    s(&a.target, "Arn").is_some_and(|arn| arn.starts_with("arn:aws:sqs:"))
}

/// The `deliver` task. Its record is removed with its first unit, which the
/// first target call commits; a stand-in record of the same batch, due
/// after `EVENTS_DELIVERY_STAND_IN_SECS` (30 s), delivers the batch again if
/// the gateway stops before all targets were invoked, and is cancelled when
/// they were (at least once, as AWS).
pub fn deliver_task(ctx: &Context, batch: RawBatch) -> Result<(), AwsError> {
    let events: Vec<Event> = batch
        .events
        .iter()
        .map(|raw| Event::from_text(raw.get()))
        .collect();
    let mut attempts =
        first_attempts(&batch.bus, &batch.rule_arns, &events, !batch.sent_to_queues)?;
    if batch.sent_to_queues {
        attempts.retain(|a| !sent_in_request(a));
    }
    deliver_with(ctx, attempts, Some(&batch))
}

/// Delivers `batch` to the matching rules' targets now (a replay's chunk).
pub fn deliver(ctx: &Context, batch: Batch) -> Result<(), AwsError> {
    let events: Vec<Event> = batch.events.into_iter().map(Event::parsed).collect();
    let attempts = first_attempts(&batch.bus, &batch.rule_arns, &events, true)?;
    deliver_with(ctx, attempts, None)
}

fn stand_in_after(ctx: &Context) -> Duration {
    // A negative or NaN setting made `from_secs_f64` panic (a trap).
    ctx.setting_secs("EVENTS_DELIVERY_STAND_IN_SECS", 30.0, 0.0)
}

/// A bus's rules that have a valid pattern, each with its pattern parsed
/// and its targets, in key order.
struct RuleSet {
    rules: Vec<(Rule, Value, Vec<Rc<Value>>)>,
}

thread_local! {
    /// The last bus's rule set, kept while its stored rows are the same
    /// bytes: a PutEvents then decodes no rule, pattern or target (they
    /// were ~4 % of a PutEvents → SQS).
    static RULE_SETS: ParseCache<RuleSet> = const { ParseCache::new() };
}

/// The rules of `bus` and their targets: two scans, parsed only when
/// their rows changed since the last call.
fn rule_set(bus: &str) -> Result<Rc<RuleSet>, AwsError> {
    let range = Scan::prefix(keys::prefix(&[bus])).key_range();
    let rules = RULES.raw().scan(&range, 0);
    let targets = TARGETS.raw().scan(&range, 0);
    // The cache's key: the number of rules, then every row of both scans
    // with each part length-prefixed (no two different scans give the
    // same bytes).
    let mut rows = (rules.len() as u32).to_le_bytes().to_vec();
    for (k, v) in rules.iter().chain(&targets) {
        for part in [k, v] {
            rows.extend_from_slice(&(part.len() as u32).to_le_bytes());
            rows.extend_from_slice(part);
        }
    }
    RULE_SETS.with(|cache| cache.get(rows, |_| parse_rule_set(&rules, &targets)))
}

fn parse_rule_set(
    rules: &[(Vec<u8>, Vec<u8>)],
    targets: &[(Vec<u8>, Vec<u8>)],
) -> Result<RuleSet, AwsError> {
    // A target's key is (bus, rule, id): its targets by rule, in key order.
    let mut by_rule: std::collections::HashMap<&str, Vec<Rc<Value>>> = Default::default();
    for (key, bytes) in targets {
        let Some(rule) = std::str::from_utf8(key)
            .ok()
            .and_then(|k| keys::split(k).get(1).copied())
        else {
            continue;
        };
        if let Ok(target) = TARGETS.decode_row(bytes) {
            by_rule.entry(rule).or_default().push(Rc::new(target));
        }
    }
    let mut parsed = Vec::new();
    for (_, bytes) in rules {
        let rule = RULES.decode_row(bytes)?;
        let Some(pattern) = rule
            .event_pattern
            .as_deref()
            .and_then(|p| pattern::parse(p).ok())
        else {
            continue;
        };
        let list = by_rule.remove(rule.name.as_str()).unwrap_or_default();
        parsed.push((rule, pattern, list));
    }
    Ok(RuleSet { rules: parsed })
}

/// Matches `events` against the bus's enabled rules (only `rule_arns` when
/// given): the first attempt of every target of each matching rule. With
/// `count`, the match's rule metrics go with the unit.
fn first_attempts(
    bus: &str,
    rule_arns: &[String],
    events: &[Event],
    count: bool,
) -> Result<Vec<Attempt>, AwsError> {
    let set = rule_set(bus)?;
    let chosen: Vec<&(Rule, Value, Vec<Rc<Value>>)> = set
        .rules
        .iter()
        .filter(|(r, _, _)| r.enabled())
        .filter(|(r, _, _)| rule_arns.is_empty() || rule_arns.contains(&r.arn))
        .collect();
    // Each event is matched as the fields the patterns name, parsed.
    let mut names = Vec::new();
    for (_, p, _) in &chosen {
        pattern::fields(p, &mut names);
    }
    let now = time::now_millis();
    let mut attempts = Vec::new();
    let mut matched: Vec<&str> = Vec::new();
    for event in events {
        let fields = event.fields(&names);
        for (rule, p, rule_targets) in &chosen {
            if pattern::matches_fields(p, &fields) {
                matched.push(&rule.name);
                for target in rule_targets {
                    attempts.push(Attempt {
                        rule_arn: rule.arn.clone(),
                        rule_name: rule.name.clone(),
                        target: Rc::clone(target),
                        event: event.clone(),
                        retries: 0,
                        first_ms: now,
                        slotted: false,
                    });
                }
            }
        }
    }
    if count && !matched.is_empty() {
        rule_metrics(&matched, &attempts)?;
    }
    Ok(attempts)
}

/// Runs `attempts`; `stand_in`: the task's own payload, written again as
/// the stand-in record while they run.
fn deliver_with(
    ctx: &Context,
    attempts: Vec<Attempt>,
    stand_in: Option<&RawBatch>,
) -> Result<(), AwsError> {
    if attempts.is_empty() {
        return Ok(());
    }
    let stand_in = match stand_in {
        Some(batch) => Some(tasks::schedule(stand_in_after(ctx), DELIVER, batch)?),
        None => None,
    };
    run_attempts(ctx, attempts);
    if let Some(id) = stand_in {
        tasks::cancel(&id);
    }
    Ok(())
}

/// Runs first attempts; several events for the same standard SQS queue go
/// in one `SendMessageBatch` (what the queue receives is the same as with
/// one `SendMessage` each; a failed entry retries on its own).
fn run_attempts(ctx: &Context, attempts: Vec<Attempt>) {
    let mut by_queue: Vec<(String, Vec<Attempt>)> = Vec::new();
    for a in attempts {
        let arn = s(&a.target, "Arn").unwrap_or_default().to_string();
        if arn.starts_with("arn:aws:sqs:") && !arn.ends_with(".fifo") {
            // One batch per queue and rule: each is sent for its rule.
            match by_queue
                .iter_mut()
                // One rule's target is one `Rc` for all its events: most
                // attempts match without comparing ARNs byte by byte.
                .find(|(q, list)| {
                    Rc::ptr_eq(&list[0].target, &a.target)
                        || (*q == arn && list[0].rule_arn == a.rule_arn)
                }) {
                Some((_, list)) => list.push(a),
                None => by_queue.push((arn, vec![a])),
            }
        } else {
            run_attempt(ctx, a);
        }
    }
    for (arn, list) in by_queue {
        if list.len() == 1 {
            list.into_iter().for_each(|a| run_attempt(ctx, a));
            continue;
        }
        let Some(queue) = Arn::parse(&arn) else {
            list.into_iter().for_each(|a| run_attempt(ctx, a));
            continue;
        };
        let mut list = list;
        while !list.is_empty() {
            let chunk: Vec<Attempt> = list.drain(..list.len().min(10)).collect();
            send_batch(ctx, &queue, chunk);
        }
    }
}

fn send_batch(ctx: &Context, queue: &Arn, chunk: Vec<Attempt>) {
    // Written straight to text, each body attached as it is
    // (`targets::push_sqs_body`).
    let mut input = services::Input::new();
    input.json.push_str("{\"QueueUrl\":");
    input.json.push_str(
        &ministack_sdk::json::to_string(&targets::queue_url(&ctx.endpoint, queue))
            .unwrap_or_default(),
    );
    input.json.push_str(",\"Entries\":[");
    for (i, a) in chunk.iter().enumerate() {
        if i > 0 {
            input.json.push(',');
        }
        // A chunk holds at most ten entries: the id is one digit.
        input.json.push_str("{\"Id\":\"");
        input.json.push(char::from(b'0' + i as u8));
        input.json.push_str("\",");
        match event_as_is(a) {
            Some(event) => targets::push_sqs_body(&mut input, event),
            None => targets::push_sqs_body(&mut input, &target_input(a)),
        }
        input.json.push('}');
    }
    // Only failures are read (below).
    input.json.push_str("],\"ReportFailuresOnly\":true}");
    let out = services::call_from(
        &rule_source(&chunk[0]),
        &Target::at("sqs", &queue.account, &queue.region),
        "SendMessageBatch",
        &input.into_text(),
    );
    match out {
        // SQS writes `Failed` last: an answer ending in an empty `Failed`
        // (a key, as a string followed by `:` is, of the object the final
        // `}` closes) has no failures, and its ten `Successful` entries need
        // no scan (~2 % of a PutEvents).
        Ok(out) if out.ends_with("\"Failed\":[]}") => {}
        Ok(out) => {
            // Only the failed entries matter (the successful ones are skipped unparsed).
            #[derive(Deserialize, Default)]
            struct Answer {
                #[serde(rename = "Failed", default)]
                failed: Vec<Value>,
            }
            let out: Answer = serde_json::from_str(&out).unwrap_or_default();
            for f in &out.failed {
                let Some(a) = s(f, "Id")
                    .and_then(|i| i.parse::<usize>().ok())
                    .and_then(|i| chunk.get(i))
                else {
                    continue;
                };
                let failure = Failure {
                    code: s(f, "Code").unwrap_or("InternalError").to_string(),
                    message: s(f, "Message").unwrap_or_default().to_string(),
                    retryable: f["SenderFault"] != json!(true),
                };
                failed_attempt(ctx, a.clone(), failure);
            }
        }
        Err(e) => {
            for a in chunk {
                failed_attempt(ctx, a, targets::failure(e.clone()));
            }
        }
    }
}

/// One attempt pending for one target (the `retry` task's payload).
#[derive(Serialize, Deserialize, Clone)]
pub struct Attempt {
    pub rule_arn: String,
    pub rule_name: String,
    pub target: Rc<Value>,
    pub event: Event,
    /// Retries made so far.
    pub retries: u64,
    /// When the event was first attempted (epoch ms).
    pub first_ms: u64,
    /// An API destination invocation slot is already reserved for this run.
    #[serde(default)]
    pub slotted: bool,
}

/// `MatchedEvents` / `TriggeredRules` per matched (rule, event) and
/// `Invocations` per target attempt, per `RuleName` (AWS/Events), counted
/// per rule here: thirty datums built and compared for one rule and ten
/// events were ~2 % of a PutEvents → SQS.
fn rule_metrics(matched: &[&str], attempts: &[Attempt]) -> Result<(), AwsError> {
    // (rule, events matched, target invocations), in first-seen order.
    let mut per_rule: Vec<(&str, u32, u32)> = Vec::new();
    fn named<'r>(per_rule: &mut Vec<(&'r str, u32, u32)>, rule: &'r str) -> usize {
        match per_rule.iter().position(|(r, _, _)| *r == rule) {
            Some(i) => i,
            None => {
                per_rule.push((rule, 0, 0));
                per_rule.len() - 1
            }
        }
    }
    for &rule in matched {
        let i = named(&mut per_rule, rule);
        per_rule[i].1 += 1;
    }
    for a in attempts {
        let i = named(&mut per_rule, &a.rule_name);
        per_rule[i].2 += 1;
    }
    let dims: Vec<[(&str, &str); 1]> = per_rule
        .iter()
        .map(|(r, _, _)| [("RuleName", *r)])
        .collect();
    let mut data = Vec::with_capacity(per_rule.len() * 3);
    for (&(_, events, invocations), d) in per_rule.iter().zip(&dims) {
        data.push((
            metrics::Datum::count("AWS/Events", "MatchedEvents", d),
            events,
        ));
        data.push((
            metrics::Datum::count("AWS/Events", "TriggeredRules", d),
            events,
        ));
        data.push((
            metrics::Datum::count("AWS/Events", "Invocations", d),
            invocations,
        ));
    }
    metrics::emit_counted(&data)
}

/// Invokes every target of a rule with `event`; failures retry as tasks.
pub fn to_rule_targets(ctx: &Context, rule: &Rule, event: &Value) {
    let targets = targets_of(&rule.bus, &rule.name).unwrap_or_default();
    let now = time::now_millis();
    let dims = [("RuleName", rule.name.as_str())];
    let mut data = vec![metrics::Datum::count("AWS/Events", "TriggeredRules", &dims)];
    data.extend(
        targets
            .iter()
            .map(|_| metrics::Datum::count("AWS/Events", "Invocations", &dims)),
    );
    if let Err(e) = metrics::emit(&data) {
        ministack_sdk::warn!("rule metrics not recorded: {}", e.message);
    }
    let event = Event::parsed(event.clone());
    for target in targets {
        run_attempt(
            ctx,
            Attempt {
                rule_arn: rule.arn.clone(),
                rule_name: rule.name.clone(),
                target: Rc::new(target),
                event: event.clone(),
                retries: 0,
                first_ms: now,
                slotted: false,
            },
        );
    }
}

/// The `retry` task.
pub fn retry(ctx: &Context, a: Attempt) -> Result<(), AwsError> {
    run_attempt(ctx, a);
    Ok(())
}

fn run_attempt(ctx: &Context, a: Attempt) {
    // API destinations invoke at most InvocationRateLimitPerSecond: an
    // attempt early for its slot waits for it (not a retry).
    if !a.slotted
        && let Some(wait_ms) = api_destination_slot(&a)
    {
        let a = Attempt { slotted: true, ..a };
        if let Err(e) = tasks::schedule(Duration::from_millis(wait_ms), RETRY, &a) {
            ministack_sdk::warn!("cannot schedule a rate-limited delivery: {}", e.message);
        }
        return;
    }
    let Err(f) = invoke(ctx, &a) else {
        return;
    };
    failed_attempt(ctx, a, f);
}

/// A failed attempt: the next retry, or the DLQ when retries ran out.
fn failed_attempt(ctx: &Context, a: Attempt, f: Failure) {
    let policy = a.target.member("RetryPolicy");
    let max_retries = policy
        .and_then(|p| p.member("MaximumRetryAttempts"))
        .and_then(Value::as_u64)
        .unwrap_or(DEFAULT_MAX_RETRIES);
    let max_age = policy
        .and_then(|p| p.member("MaximumEventAgeInSeconds"))
        .and_then(Value::as_u64)
        .unwrap_or(DEFAULT_MAX_AGE_SECS);
    let target_arn = s(&a.target, "Arn").unwrap_or_default().to_string();
    let backoff_ms = (1000u64 << a.retries.min(6)).min(60_000);
    let age_after = time::now_millis() + backoff_ms - a.first_ms;
    let exhausted = if !f.retryable || a.retries >= max_retries {
        Some("MaximumRetryAttemptsExhausted")
    } else if age_after > max_age * 1000 {
        Some("MaximumEventAgeExhausted")
    } else {
        None
    };
    if exhausted.is_some() {
        let dims = [("RuleName", a.rule_name.as_str())];
        if let Err(e) = metrics::emit(&[metrics::Datum::count(
            "AWS/Events",
            "FailedInvocations",
            &dims,
        )]) {
            ministack_sdk::warn!("rule metrics not recorded: {}", e.message);
        }
    }
    let Some(condition) = exhausted else {
        ministack_sdk::info!(
            "delivery to {target_arn} failed ({}: {}); retry {} in {backoff_ms} ms",
            f.code,
            f.message,
            a.retries + 1
        );
        let next = Attempt {
            retries: a.retries + 1,
            slotted: false,
            ..a
        };
        if let Err(e) = tasks::schedule(Duration::from_millis(backoff_ms), RETRY, &next) {
            ministack_sdk::warn!("cannot schedule a retry: {}", e.message);
        }
        return;
    };
    let Some(dlq) = a
        .target
        .member("DeadLetterConfig")
        .and_then(|d| s(d, "Arn"))
        .and_then(Arn::parse)
    else {
        ministack_sdk::warn!(
            "delivery of {} to {target_arn} failed ({}: {}); dropped",
            a.event["id"],
            f.code,
            f.message
        );
        return;
    };
    let attr = |v: String| json!({"DataType": "String", "StringValue": v});
    let input = json!({
        "QueueUrl": queue_url(ctx, &dlq),
        "MessageBody": a.event.to_string(),
        "MessageAttributes": {
            "RULE_ARN": attr(a.rule_arn.clone()),
            "TARGET_ARN": attr(target_arn.clone()),
            "ERROR_CODE": attr(f.code.clone()),
            "ERROR_MESSAGE": attr(f.message.chars().take(256).collect()),
            "EXHAUSTED_RETRY_CONDITION": attr(condition.to_string()),
            "RETRY_ATTEMPTS": attr(a.retries.to_string()),
        },
    });
    // The DLQ's policy must allow the rule too (no role: EventBridge's own).
    if let Err(e) = services::call_from(
        &services::Source::resource(&a.rule_arn, &rule_account(&a)),
        &Target::at("sqs", &dlq.account, &dlq.region),
        "SendMessage",
        &input.to_string(),
    ) {
        ministack_sdk::warn!("cannot send to the dead-letter queue {dlq}: {}", e.message);
    }
}

fn rule_account(a: &Attempt) -> String {
    Arn::parse(&a.rule_arn)
        .map(|r| r.account)
        .unwrap_or_default()
}

/// What EventBridge delivers for: the rule, as `events.amazonaws.com`
/// (the target's resource policy must allow it, `aws:SourceArn` the rule),
/// or as the target's role when it names one.
fn rule_source(a: &Attempt) -> services::Source {
    services::Source::resource(&a.rule_arn, &rule_account(a)).with_role(s(&a.target, "RoleArn"))
}

/// For an API destination target: takes the next invocation slot of the
/// destination; `Some(ms)` when the slot is that far in the future.
fn api_destination_slot(a: &Attempt) -> Option<u64> {
    let arn = Arn::parse(s(&a.target, "Arn")?)?;
    if arn.service != "events" || !arn.resource.starts_with("api-destination/") {
        return None;
    }
    let name = arn.resource.split('/').nth(1)?;
    let rate = connections::API_DESTINATIONS
        .get(name)
        .ok()
        .flatten()?
        .member("InvocationRateLimitPerSecond")
        .and_then(Value::as_u64)
        .unwrap_or(300)
        .max(1);
    let now = time::now_millis();
    let slot = connections::RATE_SLOTS
        .get(name)
        .ok()
        .flatten()
        .unwrap_or(0)
        .max(now);
    connections::RATE_SLOTS
        .put(name, &(slot + 1000 / rate))
        .ok()?;
    (slot > now).then(|| slot - now)
}

fn queue_url(ctx: &Context, queue: &Arn) -> String {
    format!(
        "{}/{}/{}",
        ctx.endpoint.trim_end_matches('/'),
        queue.account,
        queue.resource
    )
}

/// Whether a target receives the event as it is (`target_input`'s last
/// case): no `Input`, `InputPath` or `InputTransformer` makes its text.
fn takes_the_event(t: &Value) -> bool {
    s(t, "Input").is_none() && s(t, "InputPath").is_none() && t.member("InputTransformer").is_none()
}

/// The text a target receives (Input, InputPath, InputTransformer or the event).
pub fn target_input(a: &Attempt) -> String {
    let t = &a.target;
    if let Some(input) = s(t, "Input") {
        return input.to_string();
    }
    if let Some(path) = s(t, "InputPath") {
        return transform::at_path(&a.event, path)
            .map(Value::to_string)
            .unwrap_or_default();
    }
    if let Some(tr) = t.member("InputTransformer") {
        let paths = tr
            .member("InputPathsMap")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let ingestion = time::iso8601(a.first_ms / 1000);
        return transform::transform(
            &a.event,
            &paths,
            s(tr, "InputTemplate").unwrap_or_default(),
            &transform::Predefined {
                rule_arn: &a.rule_arn,
                rule_name: &a.rule_name,
                ingestion_time: &ingestion,
            },
        );
    }
    // `takes_the_event`.
    match a.event.text() {
        Some(text) => text.to_string(),
        None => serde_json::to_string(&*a.event).unwrap_or_default(),
    }
}

/// The event's own JSON text when the target is given the event as it is
/// (no `Input`, `InputPath` or `InputTransformer`): an object's text.
fn event_as_is(a: &Attempt) -> Option<&str> {
    if !takes_the_event(&a.target) {
        return None;
    }
    a.event
        .text()
        .filter(|text| text.starts_with('{') && text.ends_with('}'))
}

fn invoke(ctx: &Context, a: &Attempt) -> Result<(), Failure> {
    let arn_text = s(&a.target, "Arn").unwrap_or_default();
    let arn = Arn::parse(arn_text).ok_or_else(|| Failure {
        code: "InvalidArn".into(),
        message: format!("Target ARN {arn_text} is not valid."),
        retryable: false,
    })?;
    let body = target_input(a);
    if arn.service == "events" && arn.resource.starts_with("api-destination/") {
        return connections::invoke_api_destination(ctx, &arn, &a.target, body)
            .map(|_| ())
            .map_err(|message| Failure {
                code: "SDK_CLIENT_ERROR".into(),
                message,
                retryable: true,
            });
    }
    let event_id = a.event["id"].as_str().unwrap_or_default().to_string();
    let e = &a.event;
    targets::send(&Delivery {
        arn: arn_text.to_string(),
        body,
        endpoint: ctx.endpoint.clone(),
        message_group_id: Some(
            a.target
                .member("SqsParameters")
                .and_then(|p| s(p, "MessageGroupId"))
                .unwrap_or(&a.rule_name)
                .to_string(),
        ),
        deduplication_id: event_id.clone(),
        partition_key: a
            .target
            .member("KinesisParameters")
            .and_then(|p| s(p, "PartitionKeyPath"))
            .and_then(|p| transform::at_path(&a.event, p))
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string())
            })
            .unwrap_or_else(|| event_id.clone()),
        synchronous: false,
        // One stream per event, as EventBridge writes them.
        log_stream: event_id,
        bus_entry: Some(json!({
            "Source": e["source"],
            "DetailType": e["detail-type"],
            "Detail": e["detail"].to_string(),
            "Resources": e["resources"],
        })),
        source: Some(rule_source(a)),
    })
}

/// A replayed event: the same envelope with `replay-name` added.
pub fn replay_event(event: &Value, replay: &str) -> Value {
    let mut e = event.clone();
    if let Some(o) = e.as_object_mut() {
        o.insert("replay-name".into(), json!(replay));
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An event's text is what serializing its envelope writes, and each
    /// span is where its field's value sits (matching parses those).
    #[test]
    fn an_envelope_is_written_with_its_fields_spans() {
        let resources = [Cow::Borrowed("arn:aws:s3:::b"), Cow::Borrowed("r\"2")];
        for resources in [&resources[..], &resources[..1], &[]] {
            let envelope = Envelope {
                version: "0",
                id: "e1".into(),
                detail_type: "t \"x\"\n",
                source: "src",
                account: "000000000000",
                time: "2026-01-01T00:00:00Z".into(),
                region: "us-east-1",
                resources,
                detail: r#"{"b":[1,{"c":null}],"a":"é"}"#.into(),
            };
            let (text, spans) = envelope.write();
            let expected = json!({
                "version": "0", "id": "e1", "detail-type": "t \"x\"\n", "source": "src",
                "account": "000000000000", "time": "2026-01-01T00:00:00Z", "region": "us-east-1",
                "resources": resources, "detail": {"b": [1, {"c": null}], "a": "é"},
            });
            assert_eq!(text.get(), serde_json::to_string(&expected).unwrap());
            let parsed: Vec<(String, Value)> =
                expected.as_object().unwrap().clone().into_iter().collect();
            let from_spans: Vec<(String, Value)> = spans
                .into_iter()
                .map(|(k, at)| {
                    (
                        k.to_string(),
                        serde_json::from_str(&text.get()[at]).unwrap(),
                    )
                })
                .collect();
            assert_eq!(from_spans, parsed);
        }
    }

    fn attempt(target: Value) -> Attempt {
        Attempt {
            rule_arn: "arn:aws:events:us-east-1:000000000000:rule/r".into(),
            rule_name: "r".into(),
            target: Rc::new(target),
            event: Event::parsed(json!({"id": "e1", "source": "s", "detail": {"a": 1, "b": "x"}})),
            retries: 0,
            first_ms: 1_700_000_000_000,
            slotted: false,
        }
    }

    #[test]
    fn what_a_target_receives() {
        let whole = target_input(&attempt(json!({"Id": "t", "Arn": "a"})));
        assert_eq!(serde_json::from_str::<Value>(&whole).unwrap()["id"], "e1");
        assert_eq!(
            target_input(&attempt(json!({"Input": "{\"k\": 2}"}))),
            "{\"k\": 2}"
        );
        assert_eq!(
            target_input(&attempt(json!({"InputPath": "$.detail"}))),
            "{\"a\":1,\"b\":\"x\"}"
        );
        assert_eq!(target_input(&attempt(json!({"InputPath": "$.nope"}))), "");
        let t = json!({"InputTransformer": {
            "InputPathsMap": {"b": "$.detail.b"},
            "InputTemplate": "{\"b\": <b>, \"rule\": \"<aws.events.rule-name>\", \"at\": \"<aws.events.event.ingestion-time>\"}"
        }});
        assert_eq!(
            target_input(&attempt(t)),
            "{\"b\": \"x\", \"rule\": \"r\", \"at\": \"2023-11-14T22:13:20Z\"}"
        );
    }

    #[test]
    fn entry_sizes_count_as_aws_does() {
        let text = r#"{"Time": 1.5, "Source": "abc", "DetailType": "de", "Detail": "{}",
                       "Resources": ["r1", "r22"], "TraceHeader": "t"}"#;
        let e: EntryIn = serde_json::from_str(text).unwrap();
        assert_eq!(entry_size(&e), 14 + 3 + 2 + 2 + 2 + 3);
        // Forwarded to another account as it came.
        let back: Value = serde_json::from_str(&serde_json::to_string(&e).unwrap()).unwrap();
        assert_eq!(back, serde_json::from_str::<Value>(text).unwrap());
    }
}
