//! Messages: SendMessage(+Batch), ReceiveMessage (visibility, long polling,
//! FIFO groups, redrive), DeleteMessage(+Batch), ChangeMessageVisibility(+Batch).

use std::collections::{BTreeMap, HashSet};
use std::rc::Rc;
use std::time::Duration;

use ministack_sdk::hash::{md5_hex, sha256_hex};
use ministack_sdk::prelude::*;
use ministack_sdk::services::Attached;
use ministack_sdk::{ids, services, tasks, time};

use crate::checks::{
    Attributes, attribute_selected, attributes_size, check_attribute, md5_of_attributes,
    parse_receipt_handle, receipt_handle, valid_batch_id, valid_body,
};
use crate::queues::{QUEUES, Queue, load, parse_redrive};

/// A message, keyed `(queue, order)`; order sorts by send time (standard)
/// or sequence number (FIFO).
#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct Message {
    pub id: String,
    pub body: String,
    pub md5_body: String,
    #[serde(default, with = "stored_attributes")]
    pub attributes: Attributes,
    #[serde(default, with = "stored_attributes")]
    pub system_attributes: Attributes,
    pub sent: f64,
    pub sender: String,
    /// When the message can next be received (delay or visibility).
    pub visible_at: f64,
    pub receive_count: u64,
    #[serde(default)]
    pub first_receive: Option<f64>,
    #[serde(default)]
    pub group_id: Option<String>,
    #[serde(default)]
    pub dedup_id: Option<String>,
    #[serde(default)]
    pub sequence: Option<String>,
    /// Token of the latest receive: older receipt handles are stale.
    #[serde(default)]
    pub token: String,
    /// ARN of the queue a dead-lettered message came from.
    #[serde(default)]
    pub source: Option<String>,
}

/// Rows in postcard: a message's body is stored as its bytes, not escaped
/// into JSON (an EventBridge event is all quotes). JSON rows of older builds
/// still read.
pub const MESSAGES: Table<Message> = Table::new("messages").compact();

/// A message's attributes as its row stores them. JSON rows (older builds)
/// hold the wire map, whose values leave out their empty members; postcard
/// cannot leave a member out, so a compact row holds every member in order.
mod stored_attributes {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::checks::{AttributeValue, Attributes};

    type Stored = (
        String,
        Option<String>,
        Option<String>,
        Vec<String>,
        Vec<String>,
    );

    pub fn serialize<S: Serializer>(attrs: &Attributes, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            return attrs.serialize(s);
        }
        s.collect_map(attrs.iter().map(|(name, v)| {
            (
                name,
                (
                    &v.data_type,
                    &v.string_value,
                    &v.binary_value,
                    &v.string_list_values,
                    &v.binary_list_values,
                ),
            )
        }))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Attributes, D::Error> {
        if d.is_human_readable() {
            return Attributes::deserialize(d);
        }
        let stored = std::collections::BTreeMap::<String, Stored>::deserialize(d)?;
        Ok(stored
            .into_iter()
            .map(
                |(name, (data_type, string_value, binary_value, strings, binaries))| {
                    let value = AttributeValue {
                        data_type,
                        string_value,
                        binary_value,
                        string_list_values: strings,
                        binary_list_values: binaries,
                    };
                    (name, value)
                },
            )
            .collect())
    }
}
/// The visibility index: `(queue, visible_at µs, order)` for every message.
/// A receive reads the messages visible now, in the order they became
/// visible, without stepping over the ones in flight or delayed (a deep
/// queue with thousands in flight stays as fast as an empty one).
pub const BY_VISIBILITY: Table<()> = Table::new("messages-by-visibility");

fn visibility_key(queue: &str, visible_at: f64, order: &str) -> String {
    keys::join(&[
        queue,
        &keys::u64((visible_at.max(0.0) * 1_000_000.0) as u64),
        order,
    ])
}

/// The first visibility-index key of `queue` not visible at `now`: the
/// entries visible then sort before it.
pub fn hidden_from(queue: &str, now: f64) -> String {
    keys::prefix(&[queue, &keys::u64((now * 1_000_000.0) as u64 + 1)])
}

/// Writes a message and keeps the visibility index in step; `before` is the
/// stored message's `visible_at` when it is an update.
pub fn store_message(
    queue: &str,
    order: &str,
    m: &Message,
    before: Option<f64>,
) -> Result<(), AwsError> {
    let key = visibility_key(queue, m.visible_at, order);
    match before {
        Some(b) if visibility_key(queue, b, order) == key => {}
        Some(b) => {
            BY_VISIBILITY.delete(&visibility_key(queue, b, order));
            BY_VISIBILITY.put(&key, &())?;
        }
        None => BY_VISIBILITY.put(&key, &())?,
    }
    MESSAGES.put(&keys::join(&[queue, order]), m)
}

/// Deletes a message (by its row key) and its index entry.
pub fn remove_message(key: &str, m: &Message) {
    let parts = keys::split(key);
    if let [queue, order] = parts[..] {
        BY_VISIBILITY.delete(&visibility_key(queue, m.visible_at, order));
    }
    MESSAGES.delete(key);
}
/// FIFO deduplication: `(queue, scope key)` → (message id, sequence, expiry).
pub const DEDUP: Table<(String, String, f64)> = Table::new("dedup");

const DEDUP_WINDOW: f64 = 300.0;
/// Rows a receive reads at a time from a standard queue.
const PAGE: u32 = 32;
/// Rows a receive reads at a time from a FIFO queue, which it reads in
/// sequence order past blocked groups.
const FIFO_PAGE: u32 = 256;

/// The topic notified when messages of `queue` may have become available
/// (sent, or made visible again): long polls wait on it, and so can other
/// plugins granted `listens = ["sqs"]` (`queue:<QueueName>` in the queue's
/// account and region; docs/tasks.md).
pub fn topic(queue: &str) -> String {
    ["queue:", queue].concat()
}

fn invalid_param(msg: impl Into<String>) -> AwsError {
    AwsError::new("InvalidParameterValue", msg)
}

/// What one send asks for: SendMessage's input, and each batch entry (which
/// has an `Id` and no `QueueUrl`). One struct rather than SendMessage's
/// members flattened around it: a `#[serde(flatten)]` member is read
/// through serde's buffer, a copy of every member first.
#[derive(Deserialize, Clone, Default)]
#[serde(rename_all = "PascalCase")]
pub struct SendEntry {
    #[serde(default)]
    queue_url: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    message_body: String,
    /// The body as text attached to the call (`services::Input`), from
    /// another plugin: an EventBridge event, JSON already, which as a
    /// string here would have each quote escaped there and unescaped here,
    /// and as a JSON value would be scanned token by token to capture it.
    /// Not in the model, so clients cannot send it: the host drops members
    /// the model does not name.
    #[serde(default, rename = "MessageBodyAttached")]
    message_body_attached: Option<Attached>,
    delay_seconds: Option<i64>,
    #[serde(default)]
    message_attributes: Attributes,
    #[serde(default)]
    message_system_attributes: Attributes,
    message_deduplication_id: Option<String>,
    message_group_id: Option<String>,
}

impl SendEntry {
    /// Puts the body in `message_body`, however it was given.
    fn body_to_text(&mut self) {
        if let Some(Attached(body)) = self.message_body_attached.take() {
            self.message_body = body;
        }
    }
}

#[derive(Serialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct SendResult {
    #[serde(skip_serializing_if = "String::is_empty")]
    id: String,
    message_id: String,
    #[serde(rename = "MD5OfMessageBody")]
    md5_of_message_body: String,
    #[serde(
        rename = "MD5OfMessageAttributes",
        skip_serializing_if = "Option::is_none"
    )]
    md5_of_message_attributes: Option<String>,
    #[serde(
        rename = "MD5OfMessageSystemAttributes",
        skip_serializing_if = "Option::is_none"
    )]
    md5_of_message_system_attributes: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sequence_number: Option<String>,
}

/// When a message is sent: the time, and the microsecond its order key
/// holds. A batch reads the clock once (a host call each, ~1 % of a
/// PutEvents → SQS) and gives its i-th entry the i-th microsecond after, so
/// the keys still keep the entries' order.
#[derive(Clone, Copy)]
struct SentAt {
    secs: f64,
    micros: u64,
}

impl SentAt {
    fn now() -> Self {
        let secs = time::now();
        SentAt {
            secs,
            micros: (secs.max(0.0) * 1_000_000.0) as u64,
        }
    }

    fn nth(self, i: usize) -> Self {
        SentAt {
            secs: self.secs + i as f64 / 1_000_000.0,
            micros: self.micros + i as u64,
        }
    }
}

/// Validates and enqueues one message.
fn send_one(
    ctx: &Context,
    q: &mut Rc<Queue>,
    e: SendEntry,
    at: SentAt,
) -> Result<SendResult, AwsError> {
    if e.message_body.is_empty() {
        return Err(AwsError::new(
            "MissingParameter",
            "The request must contain the parameter MessageBody.",
        ));
    }
    if !valid_body(&e.message_body) {
        return Err(AwsError::new(
            "InvalidMessageContents",
            "Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF",
        ));
    }
    if e.message_attributes.len() > 10 {
        return Err(invalid_param(
            "Number of message attributes [11] exceeds the allowed maximum [10].",
        ));
    }
    for (n, v) in &e.message_attributes {
        check_attribute(n, v).map_err(invalid_param)?;
    }
    for n in e.message_system_attributes.keys() {
        if n != "AWSTraceHeader" {
            return Err(invalid_param(format!(
                "Message system attribute name '{n}' is invalid."
            )));
        }
    }
    let max = q.attr_i64("MaximumMessageSize", 1_048_576) as usize;
    let size = e.message_body.len() + attributes_size(&e.message_attributes);
    if size > max {
        return Err(invalid_param(format!(
            "One or more parameters are invalid. Reason: Message must be shorter than {max} bytes."
        )));
    }
    let now = at.secs;
    let fifo = q.fifo();
    let delay = match e.delay_seconds {
        Some(d) if fifo => {
            if d != 0 {
                return Err(invalid_param(
                    "Value 1 for parameter DelaySeconds is invalid. Reason: The request include parameter that is not valid for this queue type.",
                ));
            }
            q.attr_i64("DelaySeconds", 0)
        }
        Some(d) if !(0..=900).contains(&d) => {
            return Err(invalid_param(format!(
                "Value {d} for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900."
            )));
        }
        Some(d) => d,
        None => q.attr_i64("DelaySeconds", 0),
    };
    let md5_body = md5_hex(e.message_body.as_bytes());
    let md5_attrs = md5_of_attributes(&e.message_attributes);
    let md5_sys = md5_of_attributes(&e.message_system_attributes);
    let mut msg = Message {
        id: ids::uuid(),
        body: e.message_body,
        md5_body: md5_body.clone(),
        attributes: e.message_attributes,
        system_attributes: e.message_system_attributes,
        sent: now,
        sender: sender_id(ctx),
        visible_at: now + delay as f64,
        ..Default::default()
    };
    let order;
    if fifo {
        let group = e.message_group_id.ok_or_else(|| {
            AwsError::new(
                "MissingParameter",
                "The request must contain the parameter MessageGroupId.",
            )
        })?;
        let dedup = match e.message_deduplication_id {
            Some(d) => d,
            None if q
                .attributes
                .get("ContentBasedDeduplication")
                .map(String::as_str)
                == Some("true") =>
            {
                sha256_hex(msg.body.as_bytes())
            }
            None => {
                return Err(invalid_param(
                    "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly",
                ));
            }
        };
        let scope_key =
            if q.attributes.get("DeduplicationScope").map(String::as_str) == Some("messageGroup") {
                keys::join(&[&q.name, &group, &dedup])
            } else {
                keys::join(&[&q.name, &dedup])
            };
        if let Some((id, seq, expires)) = DEDUP.get(&scope_key)?
            && expires > now
        {
            return Ok(SendResult {
                message_id: id,
                md5_of_message_body: md5_body,
                md5_of_message_attributes: md5_attrs,
                md5_of_message_system_attributes: md5_sys,
                sequence_number: Some(seq),
                ..Default::default()
            });
        }
        // Only a FIFO send changes the queue (and clones the shared one).
        let q = Rc::make_mut(q);
        q.sequence += 1;
        let seq = format!("{:020}", 18_000_000_000_000_000_000u64 + q.sequence);
        order = seq.clone();
        DEDUP.put(
            &scope_key,
            &(msg.id.clone(), seq.clone(), now + DEDUP_WINDOW),
        )?;
        msg.group_id = Some(group);
        msg.dedup_id = Some(dedup);
        msg.sequence = Some(seq);
    } else {
        if e.message_group_id.is_some() || e.message_deduplication_id.is_some() {
            // Standard queues accept MessageGroupId (fair queues); a
            // deduplication id is only for FIFO queues.
            if e.message_deduplication_id.is_some() {
                return Err(invalid_param(
                    "Value for parameter MessageDeduplicationId is invalid. Reason: The request includes a parameter that is not valid for this queue type.",
                ));
            }
            msg.group_id = e.message_group_id;
        }
        // Pushed, not `format!`ed: fmt's machinery cost ~1 % of a send in wasm.
        let mut key = keys::u64(at.micros);
        key.push_str(&msg.id[..8]);
        order = key;
    }
    store_message(&q.name, &order, &msg, None)?;
    Ok(SendResult {
        message_id: msg.id,
        md5_of_message_body: md5_body,
        md5_of_message_attributes: md5_attrs,
        md5_of_message_system_attributes: md5_sys,
        sequence_number: msg.sequence,
        ..Default::default()
    })
}

fn sender_id(ctx: &Context) -> String {
    if ctx.access_key_id.is_empty() {
        ctx.account.clone()
    } else {
        ctx.access_key_id.clone()
    }
}

pub fn send_message(ctx: &Context, mut input: SendEntry) -> Result<SendResult, AwsError> {
    input.body_to_text();
    let mut q = load(&std::mem::take(&mut input.queue_url))?;
    let out = send_one(ctx, &mut q, input, SentAt::now())?;
    if q.fifo() {
        QUEUES.put(&q.name, &q)?;
    }
    tasks::notify(&topic(&q.name));
    Ok(out)
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchError {
    id: String,
    sender_fault: bool,
    code: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    message: String,
}

impl BatchError {
    fn of(id: &str, e: AwsError) -> Self {
        BatchError {
            id: id.to_string(),
            sender_fault: e.sender_fault,
            code: e.code,
            message: e.message,
        }
    }
}

/// The checks every batch request makes on its entry ids.
fn check_batch_ids<'a>(ids: impl Iterator<Item = &'a str>) -> Result<(), AwsError> {
    let ids: Vec<&str> = ids.collect();
    if ids.is_empty() {
        return Err(AwsError::new(
            "EmptyBatchRequest",
            "There should be at least one SendMessageBatchRequestEntry in the request.",
        ));
    }
    if ids.len() > 10 {
        return Err(AwsError::new(
            "TooManyEntriesInBatchRequest",
            format!(
                "Maximum number of entries per request are 10. You have sent {}.",
                ids.len()
            ),
        ));
    }
    // At most ten: comparing each with those before costs less than hashing.
    for (i, id) in ids.iter().enumerate() {
        if !valid_batch_id(id) {
            return Err(AwsError::new(
                "InvalidBatchEntryId",
                "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.",
            ));
        }
        if ids[..i].contains(id) {
            return Err(AwsError::new(
                "BatchEntryIdsNotDistinct",
                format!("Id {id} repeated."),
            ));
        }
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SendMessageBatchRequest {
    queue_url: String,
    #[serde(default)]
    entries: Vec<SendEntry>,
    /// Answer with the failed entries only: another plugin's delivery
    /// (EventBridge) reads nothing else, and writing ten successful
    /// entries was 2 % of a PutEvents → SQS. Not in the model, so only
    /// plugins send it (as `MessageBodyAttached`).
    #[serde(default, rename = "ReportFailuresOnly")]
    failures_only: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SendMessageBatchResult {
    successful: Vec<SendResult>,
    failed: Vec<BatchError>,
}

pub fn send_message_batch(
    ctx: &Context,
    mut input: SendMessageBatchRequest,
) -> Result<SendMessageBatchResult, AwsError> {
    let mut q = load(&input.queue_url)?;
    input.entries.iter_mut().for_each(SendEntry::body_to_text);
    check_batch_ids(input.entries.iter().map(|e| e.id.as_str()))?;
    let total: usize = input
        .entries
        .iter()
        .map(|e| e.message_body.len() + attributes_size(&e.message_attributes))
        .sum();
    // The batch as a whole is limited to 1 MiB, whatever the queue's
    // MaximumMessageSize (which each message is checked against).
    const MAX_BATCH: usize = 1_048_576;
    if total > MAX_BATCH {
        return Err(AwsError::new(
            "BatchRequestTooLong",
            format!(
                "Batch requests cannot be longer than {MAX_BATCH} bytes. You have sent {total} bytes."
            ),
        ));
    }
    let mut successful = Vec::new();
    let mut failed = Vec::new();
    let mut sent = false;
    let start = SentAt::now();
    for (i, e) in input.entries.into_iter().enumerate() {
        let id = e.id.clone();
        match send_one(ctx, &mut q, e, start.nth(i)) {
            Ok(_) if input.failures_only => sent = true,
            Ok(mut r) => {
                r.id = id;
                successful.push(r);
                sent = true;
            }
            Err(err) => failed.push(BatchError::of(&id, err)),
        }
    }
    if q.fifo() {
        QUEUES.put(&q.name, &q)?;
    }
    if sent {
        tasks::notify(&topic(&q.name));
    }
    Ok(SendMessageBatchResult { successful, failed })
}

// ---- receive ----

#[derive(Deserialize, Serialize, Clone)]
#[serde(rename_all = "PascalCase")]
pub struct ReceiveMessageRequest {
    queue_url: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    attribute_names: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    message_system_attribute_names: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    message_attribute_names: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_number_of_messages: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    visibility_timeout: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    wait_time_seconds: Option<i64>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReceivedMessage {
    message_id: String,
    receipt_handle: String,
    #[serde(rename = "MD5OfBody")]
    md5_of_body: String,
    body: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    attributes: BTreeMap<String, String>,
    #[serde(
        rename = "MD5OfMessageAttributes",
        skip_serializing_if = "Option::is_none"
    )]
    md5_of_message_attributes: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    message_attributes: Attributes,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReceiveMessageResult {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    messages: Vec<ReceivedMessage>,
}

fn system_attributes(m: &Message, wanted: &[String]) -> BTreeMap<String, String> {
    let all = wanted.iter().any(|w| w == "All");
    let want = |n: &str| all || wanted.iter().any(|w| w == n);
    let mut out = BTreeMap::new();
    let millis = |t: f64| ((t * 1000.0) as u64).to_string();
    if want("SenderId") {
        out.insert("SenderId".into(), m.sender.clone());
    }
    if want("SentTimestamp") {
        out.insert("SentTimestamp".into(), millis(m.sent));
    }
    if want("ApproximateReceiveCount") {
        out.insert(
            "ApproximateReceiveCount".into(),
            m.receive_count.to_string(),
        );
    }
    if want("ApproximateFirstReceiveTimestamp") {
        out.insert(
            "ApproximateFirstReceiveTimestamp".into(),
            millis(m.first_receive.unwrap_or(m.sent)),
        );
    }
    if want("AWSTraceHeader")
        && let Some(v) = m
            .system_attributes
            .get("AWSTraceHeader")
            .and_then(|v| v.string_value.clone())
    {
        out.insert("AWSTraceHeader".into(), v);
    }
    for (name, v) in [
        ("MessageGroupId", &m.group_id),
        ("MessageDeduplicationId", &m.dedup_id),
        ("SequenceNumber", &m.sequence),
    ] {
        if want(name)
            && let Some(v) = v
        {
            out.insert(name.into(), v.clone());
        }
    }
    out
}

/// One receive: the request's choices and the queue's settings, read once,
/// and what it has taken so far.
struct Receive<'a> {
    ctx: &'a Context,
    q: &'a Queue,
    input: &'a ReceiveMessageRequest,
    max: usize,
    visibility: i64,
    now: f64,
    retention: f64,
    redrive: Option<(String, i64)>,
    fifo: bool,
    wanted_system: Vec<String>,
    /// Row keys taken: with VisibilityTimeout=0 a received message is
    /// visible again at once, and a later page could offer it twice.
    taken: HashSet<String>,
    /// FIFO groups with a message in flight.
    blocked: HashSet<String>,
    out: Vec<ReceivedMessage>,
}

impl Receive<'_> {
    fn full(&self) -> bool {
        self.out.len() >= self.max
    }

    /// Offers one stored message: drops it when expired, skips it when not
    /// visible (blocking its FIFO group) or in a blocked group, moves it to
    /// the dead-letter queue over maxReceiveCount, else takes it.
    fn offer(&mut self, key: String, mut m: Message) -> Result<(), AwsError> {
        if self.taken.contains(&key) {
            return Ok(());
        }
        if m.sent + self.retention <= self.now {
            remove_message(&key, &m);
            return Ok(());
        }
        if m.visible_at > self.now {
            if self.fifo {
                self.blocked.extend(m.group_id.clone());
            }
            return Ok(());
        }
        if self.fifo
            && let Some(g) = &m.group_id
            && self.blocked.contains(g)
        {
            return Ok(());
        }
        if let Some((target, max_receives)) = &self.redrive
            && m.receive_count >= *max_receives as u64
            && move_to_dlq(self.ctx, self.q, target, &key, &m)?
        {
            return Ok(());
        }
        let before_visible_at = m.visible_at;
        m.receive_count += 1;
        m.first_receive.get_or_insert(self.now);
        m.visible_at = self.now + self.visibility as f64;
        m.token = ids::alnum(12);
        let order = keys::last(&key);
        store_message(&self.q.name, order, &m, Some(before_visible_at))?;
        let selected: Attributes = m
            .attributes
            .iter()
            .filter(|(n, _)| attribute_selected(n, &self.input.message_attribute_names))
            .map(|(n, v)| (n.clone(), v.clone()))
            .collect();
        let attributes = system_attributes(&m, &self.wanted_system);
        self.out.push(ReceivedMessage {
            receipt_handle: receipt_handle(&self.q.name, order, &m.token),
            message_id: m.id,
            md5_of_body: m.md5_body,
            body: m.body,
            attributes,
            md5_of_message_attributes: md5_of_attributes(&selected),
            message_attributes: selected,
        });
        self.taken.insert(key);
        Ok(())
    }
}

/// One pass over the queue: takes up to `max` receivable messages, moving
/// those over maxReceiveCount to the dead-letter queue and dropping expired
/// ones.
fn receive_once(
    ctx: &Context,
    q: &Queue,
    input: &ReceiveMessageRequest,
    max: usize,
    visibility: i64,
) -> Result<Vec<ReceivedMessage>, AwsError> {
    let now = time::now();
    let mut r = Receive {
        ctx,
        q,
        input,
        max,
        visibility,
        now,
        retention: q.attr_i64("MessageRetentionPeriod", 345_600) as f64,
        redrive: q
            .attributes
            .get("RedrivePolicy")
            .and_then(|p| parse_redrive(p)),
        fifo: q.fifo(),
        wanted_system: input
            .attribute_names
            .iter()
            .chain(&input.message_system_attribute_names)
            .cloned()
            .collect(),
        taken: HashSet::new(),
        blocked: HashSet::new(),
        out: Vec::new(),
    };
    let prefix = keys::prefix(&[&q.name]);
    if r.fifo {
        // A group with a message in flight is blocked, wherever that
        // message sits: the ones not visible now, from the index, first.
        let hidden = Scan::prefix(prefix.clone()).from(hidden_from(&q.name, now));
        BY_VISIBILITY.scan_pages(&hidden, FIFO_PAGE, |index| {
            for (vkey, ()) in index {
                let key = keys::join(&[&q.name, keys::last(&vkey)]);
                if let Some(m) = MESSAGES.get(&key)?
                    && m.visible_at > now
                    && m.receive_count > 0
                {
                    r.blocked.extend(m.group_id);
                }
            }
            Ok(true)
        })?;
        // Then the messages in sequence order, a page at a time (a queue
        // larger than the plugin's memory stays receivable), until full.
        MESSAGES.scan_pages(&Scan::prefix(prefix), FIFO_PAGE, |rows| {
            for (key, m) in rows {
                if r.full() {
                    break;
                }
                r.offer(key, m)?;
            }
            Ok(!r.full())
        })?;
        return Ok(r.out);
    }
    // Standard queues through the visibility index, and only as far as the
    // receive needs: the first page is `max` entries, so a receive reads
    // (and conflicts with) no more than the messages it takes, and decodes
    // only those.
    let visible_before = hidden_from(&q.name, now);
    let mut after: Option<String> = None;
    let mut limit = max as u32;
    loop {
        let mut scan = Scan::prefix(prefix.clone())
            .to(visible_before.clone())
            .limit(limit);
        if let Some(a) = after.take() {
            scan = scan.start_after(a);
        }
        let index = BY_VISIBILITY.scan(&scan)?;
        let more = index.len() == limit as usize;
        after = index.last().map(|(k, _)| k.clone());
        for (vkey, ()) in index {
            if r.full() {
                break;
            }
            let order = keys::last(&vkey);
            let key = keys::join(&[&q.name, order]);
            if r.taken.contains(&key) {
                continue;
            }
            match MESSAGES.get(&key)? {
                // Only the entry for the message's current visibility: a
                // stale one would offer (or dead-letter) the message twice.
                Some(m) if visibility_key(&q.name, m.visible_at, order) == vkey => {
                    r.offer(key, m)?
                }
                // An entry without its message, or a stale one: drop it.
                _ => {
                    BY_VISIBILITY.delete(&vkey);
                }
            }
        }
        if r.full() || !more {
            return Ok(r.out);
        }
        limit = PAGE;
    }
}

/// Moves a message to the dead-letter queue named by `target` (an ARN in
/// this account and region). False when that queue does not exist.
fn move_to_dlq(
    ctx: &Context,
    from: &Queue,
    target: &str,
    key: &str,
    m: &Message,
) -> Result<bool, AwsError> {
    let name = target.rsplit(':').next().unwrap_or_default();
    let Some(dlq) = QUEUES.get(name)? else {
        return Ok(false);
    };
    let mut moved = m.clone();
    moved.source = Some(from.arn(ctx));
    enqueue_moved(dlq, moved)?;
    remove_message(key, m);
    Ok(true)
}

/// Puts an existing message at the end of `dest` (redrive and move tasks).
pub fn enqueue_moved(mut dlq: Queue, mut moved: Message) -> Result<(), AwsError> {
    let now = time::now();
    moved.visible_at = now;
    moved.token = String::new();
    if dlq.moved_sent_min.is_none_or(|m| moved.sent < m) {
        dlq.moved_sent_min = Some(moved.sent);
        if !dlq.fifo() {
            QUEUES.put(&dlq.name, &dlq)?;
        }
    }
    let order = if dlq.fifo() {
        dlq.sequence += 1;
        QUEUES.put(&dlq.name, &dlq)?;
        let seq = format!("{:020}", 18_000_000_000_000_000_000u64 + dlq.sequence);
        moved.sequence = Some(seq.clone());
        seq
    } else {
        format!(
            "{}{}",
            keys::u64((now * 1_000_000.0) as u64),
            &moved.id[..8]
        )
    };
    store_message(&dlq.name, &order, &moved, None)?;
    Ok(())
}

/// A receive's answer: what this request took, or what the retry after a
/// long-poll wait answered (already JSON).
#[derive(Serialize)]
#[serde(untagged)]
pub enum ReceiveOutput {
    Taken(ReceiveMessageResult),
    Retried(serde_json::Value),
}

pub fn receive_message(
    ctx: &Context,
    input: ReceiveMessageRequest,
) -> Result<ReceiveOutput, AwsError> {
    let q = load(&input.queue_url)?;
    let max = input.max_number_of_messages.unwrap_or(1);
    if !(1..=10).contains(&max) {
        return Err(AwsError::new(
            "InvalidParameterValue",
            format!(
                "Value {max} for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided."
            ),
        ));
    }
    let visibility = input
        .visibility_timeout
        .unwrap_or_else(|| q.attr_i64("VisibilityTimeout", 30));
    if !(0..=43_200).contains(&visibility) {
        return Err(invalid_param(format!(
            "Value {visibility} for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200."
        )));
    }
    let wait = input
        .wait_time_seconds
        .unwrap_or_else(|| q.attr_i64("ReceiveMessageWaitTimeSeconds", 0));
    if !(0..=20).contains(&wait) {
        return Err(invalid_param(format!(
            "Value {wait} for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided."
        )));
    }
    let messages = receive_once(ctx, &q, &input, max as usize, visibility)?;
    if !messages.is_empty() || wait == 0 {
        return Ok(ReceiveOutput::Taken(ReceiveMessageResult { messages }));
    }
    // Long polling. After a wait the request is in a new store unit that
    // could no longer be re-run on a conflict, so each retry is a fresh
    // request (a ReceiveMessage without wait, through services.call) that
    // the host re-runs on conflicts like any other.
    let deadline = time::now() + wait as f64;
    let topic = topic(&q.name);
    let again = ReceiveMessageRequest {
        max_number_of_messages: Some(max),
        visibility_timeout: Some(visibility),
        wait_time_seconds: Some(0),
        ..input
    };
    let again = serde_json::to_string(&again)
        .map_err(|e| AwsError::internal(format!("cannot encode ReceiveMessage: {e}")))?;
    let me = services::Target::at("sqs", &ctx.account, &ctx.region);
    loop {
        let left = deadline - time::now();
        if left <= 0.0 {
            return Ok(ReceiveOutput::Taken(ReceiveMessageResult {
                messages: Vec::new(),
            }));
        }
        // Wake on a send, or at the latest every half second (delayed or
        // in-flight messages becoming visible).
        tasks::wait(&topic, Duration::from_secs_f64(left.min(0.5)));
        let out: serde_json::Value =
            serde_json::from_str(&services::call_json(&me, "ReceiveMessage", &again)?).map_err(
                |e| AwsError::internal(format!("unexpected ReceiveMessage output: {e}")),
            )?;
        if out["Messages"].as_array().is_some_and(|m| !m.is_empty()) {
            return Ok(ReceiveOutput::Retried(out));
        }
    }
}

// ---- delete and visibility ----

/// The row a receipt handle names, if the handle is still the latest one.
fn by_handle(q: &Queue, handle: &str) -> Result<Option<(String, Message)>, AwsError> {
    let (queue, order, token) = parse_receipt_handle(handle).ok_or_else(|| {
        AwsError::new(
            "ReceiptHandleIsInvalid",
            format!("The input receipt handle \"{handle}\" is not a valid receipt handle."),
        )
    })?;
    if queue != q.name {
        return Err(AwsError::new(
            "ReceiptHandleIsInvalid",
            format!("The input receipt handle \"{handle}\" is not a valid receipt handle."),
        ));
    }
    let key = keys::join(&[&queue, &order]);
    Ok(MESSAGES
        .get(&key)?
        .filter(|m| m.token == token)
        .map(|m| (key, m)))
}

fn delete_one(q: &Queue, handle: &str) -> Result<(), AwsError> {
    // A stale handle (the message was received again or deleted) deletes
    // nothing and succeeds, as in AWS.
    if let Some((key, m)) = by_handle(q, handle)? {
        remove_message(&key, &m);
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteMessageRequest {
    queue_url: String,
    receipt_handle: String,
}

pub fn delete_message(_ctx: &Context, input: DeleteMessageRequest) -> Result<Empty, AwsError> {
    let q = load(&input.queue_url)?;
    delete_one(&q, &input.receipt_handle)?;
    Ok(Empty::default())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HandleEntry {
    id: String,
    receipt_handle: String,
    visibility_timeout: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HandleBatchRequest {
    queue_url: String,
    #[serde(default)]
    entries: Vec<HandleEntry>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct IdResult {
    id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct HandleBatchResult {
    successful: Vec<IdResult>,
    failed: Vec<BatchError>,
}

pub fn delete_message_batch(
    _ctx: &Context,
    input: HandleBatchRequest,
) -> Result<HandleBatchResult, AwsError> {
    let q = load(&input.queue_url)?;
    check_batch_ids(input.entries.iter().map(|e| e.id.as_str()))?;
    let mut successful = Vec::new();
    let mut failed = Vec::new();
    for e in input.entries {
        match delete_one(&q, &e.receipt_handle) {
            Ok(()) => successful.push(IdResult { id: e.id }),
            Err(err) => failed.push(BatchError::of(&e.id, err)),
        }
    }
    Ok(HandleBatchResult { successful, failed })
}

fn change_one(q: &Queue, handle: &str, timeout: i64) -> Result<(), AwsError> {
    if !(0..=43_200).contains(&timeout) {
        return Err(invalid_param(format!(
            "Value {timeout} for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200."
        )));
    }
    let now = time::now();
    match by_handle(q, handle)? {
        Some((key, mut m)) if m.visible_at > now && m.receive_count > 0 => {
            let before = m.visible_at;
            m.visible_at = now + timeout as f64;
            store_message(&q.name, keys::last(&key), &m, Some(before))?;
            Ok(())
        }
        _ => Err(AwsError::new(
            "MessageNotInflight",
            "The message referred to isn't in flight.",
        )),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChangeVisibilityRequest {
    queue_url: String,
    receipt_handle: String,
    visibility_timeout: i64,
}

pub fn change_message_visibility(
    _: &Context,
    input: ChangeVisibilityRequest,
) -> Result<Empty, AwsError> {
    let q = load(&input.queue_url)?;
    change_one(&q, &input.receipt_handle, input.visibility_timeout)?;
    if input.visibility_timeout == 0 {
        tasks::notify(&topic(&q.name));
    }
    Ok(Empty::default())
}

pub fn change_message_visibility_batch(
    _: &Context,
    input: HandleBatchRequest,
) -> Result<HandleBatchResult, AwsError> {
    let q = load(&input.queue_url)?;
    check_batch_ids(input.entries.iter().map(|e| e.id.as_str()))?;
    let mut successful = Vec::new();
    let mut failed = Vec::new();
    for e in input.entries {
        match change_one(&q, &e.receipt_handle, e.visibility_timeout.unwrap_or(0)) {
            Ok(()) => successful.push(IdResult { id: e.id }),
            Err(err) => failed.push(BatchError::of(&e.id, err)),
        }
    }
    tasks::notify(&topic(&q.name));
    Ok(HandleBatchResult { successful, failed })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::AttributeValue;

    /// An attribute of `data_type` with no value set.
    fn typed(data_type: &str) -> AttributeValue {
        AttributeValue {
            data_type: data_type.into(),
            ..Default::default()
        }
    }

    fn message() -> Message {
        let attributes = Attributes::from([
            (
                "s".to_string(),
                AttributeValue {
                    string_value: Some("{\"quoted\": \"event\"}".into()),
                    ..typed("String")
                },
            ),
            (
                "b".to_string(),
                AttributeValue {
                    binary_value: Some("AAEC".into()),
                    ..typed("Binary.custom")
                },
            ),
            (
                "l".to_string(),
                AttributeValue {
                    string_list_values: vec!["x".into(), "y".into()],
                    binary_list_values: vec!["AA==".into()],
                    ..typed("String")
                },
            ),
        ]);
        let system_attributes = Attributes::from([(
            "AWSTraceHeader".to_string(),
            AttributeValue {
                string_value: Some("Root=1-5759e988-bd862e3fe1be46a994272793".into()),
                ..typed("String")
            },
        )]);
        Message {
            id: "5fea7756-0ea4-451a-a703-a558b933e274".into(),
            body: "{\"detail\": {\"a\": \"\\u00e9\\n\"}}".into(),
            md5_body: md5_hex(b"body"),
            attributes,
            system_attributes,
            sent: 1_795_771_591.662_345_6,
            sender: "000000000000".into(),
            visible_at: 1_795_771_621.662_345_6,
            receive_count: 2,
            first_receive: Some(1_795_771_600.5),
            group_id: Some("g".into()),
            dedup_id: Some("d".into()),
            sequence: Some("18889999999999999999".into()),
            token: "tok".into(),
            source: Some("arn:aws:sqs:us-east-1:000000000000:src".into()),
        }
    }

    fn same(a: &Message, b: &Message) {
        assert_eq!(
            serde_json::to_value(a).unwrap(),
            serde_json::to_value(b).unwrap()
        );
        assert_eq!(a.sent.to_bits(), b.sent.to_bits());
        assert_eq!(a.visible_at.to_bits(), b.visible_at.to_bits());
    }

    #[test]
    fn message_rows_round_trip_compact() {
        for m in [message(), Message::default()] {
            let bytes = MESSAGES.encode_row(&m).unwrap();
            assert!(bytes.len() < serde_json::to_vec(&m).unwrap().len());
            same(&MESSAGES.decode_row(&bytes).unwrap(), &m);
        }
    }

    /// Rows an older build wrote as JSON (attributes as the wire map, empty
    /// members left out, no `source`) still read.
    #[test]
    fn json_message_rows_still_read() {
        let m = message();
        let mut old = serde_json::to_value(&m).unwrap();
        old.as_object_mut().unwrap().remove("source");
        assert_eq!(
            old["attributes"]["s"],
            serde_json::json!({"DataType": "String", "StringValue": "{\"quoted\": \"event\"}"})
        );
        let back = MESSAGES
            .decode_row(&serde_json::to_vec(&old).unwrap())
            .unwrap();
        let mut expected = m;
        expected.source = None;
        same(&back, &expected);
    }
}
