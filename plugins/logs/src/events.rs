//! Log events: PutLogEvents (AWS's batch rules), GetLogEvents (tokens),
//! FilterLogEvents (filter patterns), retention, and the chunk store the
//! other readers (Insights) share.

use std::collections::BTreeMap;
use std::time::Duration;

use ministack_sdk::prelude::*;
use ministack_sdk::{pagination, tasks, time};

use crate::deliver::{self, DeliveryEvent};
use crate::groups::{GROUPS, METRIC_FILTERS, STREAMS, SUBSCRIPTIONS, group_name_of, load_group};
use crate::shapes::*;
use crate::{invalid, not_found, pattern};

/// One accepted PutLogEvents batch of one stream, in time order.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Chunk {
    /// Ingestion time (epoch ms) of the batch.
    pub ing: i64,
    /// Lowest and highest timestamp.
    pub lo: i64,
    pub hi: i64,
    /// (timestamp, message) in time order.
    pub ev: Vec<(i64, String)>,
}

/// Key: group, stream, batch sequence number of the stream.
pub const CHUNKS: Table<Chunk> = Table::new("chunks");

const MAX_BATCH_BYTES: usize = 1_048_576;
const EVENT_OVERHEAD: usize = 26;
const MAX_EVENT_BYTES: usize = 1_048_576 - EVENT_OVERHEAD;
const DAY_MS: i64 = 86_400_000;

/// An event as readers see it.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    pub stream: &'a str,
    pub seq: u64,
    pub idx: usize,
    pub ts: i64,
    pub ing: i64,
    pub msg: &'a str,
}

impl Event<'_> {
    /// Position in a stream: timestamp, then batch, then index (fixed width,
    /// so text order is time order).
    pub fn pos(&self) -> String {
        format!("{:020}{:020}{:05}", self.ts.max(0), self.seq, self.idx)
    }

    pub fn event_id(&self) -> String {
        // A per-stream discriminator keeps ids of two streams apart.
        let h = self.stream.bytes().fold(0xcbf29ce484222325u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x100000001b3)
        });
        format!("{}{:010}", self.pos(), h % 10_000_000_000)
    }
}

/// The oldest timestamp still kept by the group's retention (0: forever).
pub fn retention_cutoff(g: &crate::groups::GroupRec) -> i64 {
    match g.info.retention_in_days {
        Some(d) if d > 0 => time::now_millis() as i64 - d as i64 * DAY_MS,
        _ => i64::MIN,
    }
}

/// Visits the chunks of a group (or one stream of it) in key order, a page
/// at a time so a large group is never read in one piece.
pub fn for_each_chunk(
    group: &str,
    stream: Option<&str>,
    mut f: impl FnMut(&str, u64, &Chunk) -> bool,
) -> Result<(), AwsError> {
    let prefix = match stream {
        Some(s) => keys::prefix(&[group, s]),
        None => keys::prefix(&[group]),
    };
    let mut after: Option<String> = None;
    loop {
        let mut scan = Scan::prefix(prefix.clone()).limit(64);
        if let Some(a) = &after {
            scan = scan.start_after(a.clone());
        }
        let page = CHUNKS.scan(&scan)?;
        let n = page.len();
        for (k, c) in &page {
            let parts = keys::split(k);
            let s = parts.get(1).copied().unwrap_or("");
            let seq = parts
                .get(2)
                .and_then(|p| keys::parse_u64(p, false))
                .unwrap_or(0);
            if !f(s, seq, c) {
                return Ok(());
            }
        }
        if n < 64 {
            return Ok(());
        }
        after = page.last().map(|(k, _)| k.clone());
    }
}

pub fn put_log_events(
    ctx: &Context,
    input: PutLogEventsInput,
) -> Result<PutLogEventsOutput, AwsError> {
    let group_name = &input.log_group_name;
    let stream_name = &input.log_stream_name;
    let events = &input.log_events;
    if events.is_empty() || events.len() > 10_000 {
        return Err(invalid(format!(
            "1 validation error detected: Value at 'logEvents' failed to satisfy constraint: Member must have length less than or equal to 10000 and greater than or equal to 1 (got {})",
            events.len()
        )));
    }
    let mut bytes = 0;
    for e in events {
        let n = e.message.len() + EVENT_OVERHEAD;
        if e.message.is_empty() {
            return Err(invalid("Log event message cannot be empty."));
        }
        if n - EVENT_OVERHEAD > MAX_EVENT_BYTES {
            return Err(invalid(format!(
                "Log event too large: {n} bytes exceeds limit of {}",
                MAX_EVENT_BYTES + EVENT_OVERHEAD
            )));
        }
        bytes += n;
    }
    if bytes > MAX_BATCH_BYTES {
        return Err(invalid(format!(
            "Upload too large: {bytes} bytes exceeds limit of {MAX_BATCH_BYTES}"
        )));
    }
    for w in events.windows(2) {
        if w[1].timestamp < w[0].timestamp {
            return Err(invalid(
                "Log events in a single PutLogEvents request must be in chronological order.",
            ));
        }
    }
    if events[events.len() - 1].timestamp - events[0].timestamp > DAY_MS {
        return Err(invalid(
            "The batch of log events in a single PutLogEvents request cannot span more than 24 hours.",
        ));
    }
    let group = load_group(group_name)?;
    let stream_key = keys::join(&[group_name, stream_name]);
    let mut stream = STREAMS
        .get(&stream_key)?
        .ok_or_else(|| not_found("The specified log stream does not exist."))?;

    let now = time::now_millis() as i64;
    let too_new_start = events
        .iter()
        .position(|e| e.timestamp > now + 2 * 3_600_000);
    let too_old_end = events.iter().rposition(|e| e.timestamp < now - 14 * DAY_MS);
    let cutoff = retention_cutoff(&group);
    let expired_end = events.iter().rposition(|e| e.timestamp < cutoff);
    let first = too_old_end.max(expired_end).map(|i| i + 1).unwrap_or(0);
    let last = too_new_start.unwrap_or(events.len());
    let accepted = if first < last {
        &events[first..last]
    } else {
        &[][..]
    };

    let seq = stream.seq;
    if !accepted.is_empty() {
        let chunk = Chunk {
            ing: now,
            lo: accepted[0].timestamp,
            hi: accepted[accepted.len() - 1].timestamp,
            ev: accepted
                .iter()
                .map(|e| {
                    let msg = match &group.transformer {
                        Some(t) => crate::transform::apply(t, &e.message),
                        None => e.message.clone(),
                    };
                    (e.timestamp, msg)
                })
                .collect(),
        };
        CHUNKS.put(
            &keys::join(&[group_name, stream_name, &keys::u64(seq)]),
            &chunk,
        )?;
        let s = &mut stream.info;
        s.first_event_timestamp = Some(
            s.first_event_timestamp
                .map_or(chunk.lo, |f| f.min(chunk.lo)),
        );
        s.last_event_timestamp = Some(s.last_event_timestamp.map_or(chunk.hi, |l| l.max(chunk.hi)));
        s.last_ingestion_time = Some(now);
        stream.seq += 1;
        apply_filters(ctx, group_name, stream_name, seq, &chunk)?;
        // Live tail sessions of the group read the new chunk.
        tasks::notify(&crate::tail::topic(group_name));
    }
    let token = format!("{:056}", stream.seq);
    stream.info.upload_sequence_token = Some(token.clone());
    STREAMS.put(&stream_key, &stream)?;

    let rejected = (too_new_start.is_some() || too_old_end.is_some() || expired_end.is_some())
        .then(|| RejectedLogEventsInfo {
            too_new_log_event_start_index: too_new_start.map(|i| i as i32),
            too_old_log_event_end_index: too_old_end.map(|i| i as i32),
            expired_log_event_end_index: expired_end.map(|i| i as i32),
        });
    Ok(PutLogEventsOutput {
        next_sequence_token: Some(token),
        rejected_log_events_info: rejected,
        rejected_entity_info: None,
    })
}

/// Metric filters and subscription filters of the group, on one new chunk:
/// what they produce goes to tasks that run after this request commits.
fn apply_filters(
    ctx: &Context,
    group: &str,
    stream: &str,
    seq: u64,
    chunk: &Chunk,
) -> Result<(), AwsError> {
    let prefix = keys::prefix(&[group]);
    let metric_filters = METRIC_FILTERS.values(&prefix)?;
    if !metric_filters.is_empty() {
        let mut by_namespace: BTreeMap<String, Vec<serde_json::Value>> = BTreeMap::new();
        for f in &metric_filters {
            let Ok(p) = pattern::parse(f.filter_pattern.as_deref().unwrap_or("")) else {
                continue;
            };
            for t in f.metric_transformations.iter().flatten() {
                let data = deliver::metric_data(&p, t, &chunk.ev);
                by_namespace
                    .entry(t.metric_namespace.clone())
                    .or_default()
                    .extend(data);
            }
        }
        for (namespace, data) in by_namespace {
            for part in data.chunks(1000) {
                tasks::schedule(
                    Duration::ZERO,
                    "metrics",
                    &deliver::MetricsJob {
                        namespace: namespace.clone(),
                        data: part.to_vec(),
                    },
                )?;
            }
        }
    }
    for f in SUBSCRIPTIONS.values(&prefix)? {
        let Ok(p) = pattern::parse(f.filter_pattern.as_deref().unwrap_or("")) else {
            continue;
        };
        let mut matched = Vec::new();
        for (idx, (ts, msg)) in chunk.ev.iter().enumerate() {
            if let Some(ex) = p.matches(msg) {
                let e = Event {
                    stream,
                    seq,
                    idx,
                    ts: *ts,
                    ing: chunk.ing,
                    msg,
                };
                matched.push(DeliveryEvent {
                    id: e.event_id(),
                    timestamp: *ts,
                    message: msg.clone(),
                    extracted_fields: (p.extracts() && !ex.is_empty()).then(|| {
                        ex.into_iter()
                            .map(|(k, v)| (k.trim_start_matches('$').to_string(), v))
                            .collect()
                    }),
                });
            }
        }
        if !matched.is_empty() {
            tasks::schedule(
                Duration::ZERO,
                "deliver",
                &deliver::DeliveryJob {
                    owner: ctx.account.clone(),
                    log_group: group.to_string(),
                    log_stream: stream.to_string(),
                    filter_name: f.filter_name.clone().unwrap_or_default(),
                    destination_arn: f.destination_arn.clone().unwrap_or_default(),
                    events: matched,
                },
            )?;
        }
    }
    Ok(())
}

/// `f/<position>/s` or `b/<position>/s`.
fn parse_token(t: &str) -> Result<(bool, String), AwsError> {
    let bad = || invalid(format!("The specified nextToken is invalid: {t}"));
    let (forward, rest) = if let Some(r) = t.strip_prefix("f/") {
        (true, r)
    } else if let Some(r) = t.strip_prefix("b/") {
        (false, r)
    } else {
        return Err(bad());
    };
    let pos = rest.trim_end_matches("/s");
    if pos.len() != 45 || !pos.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    Ok((forward, pos.to_string()))
}

pub fn get_log_events(
    _: &Context,
    input: GetLogEventsInput,
) -> Result<GetLogEventsOutput, AwsError> {
    let group_name = group_name_of(
        input.log_group_name.as_deref(),
        input.log_group_identifier.as_deref(),
    )?;
    let group = load_group(&group_name)?;
    let stream = &input.log_stream_name;
    if !STREAMS.contains(&keys::join(&[&group_name, stream])) {
        return Err(not_found("The specified log stream does not exist."));
    }
    let token = input.next_token.as_deref().map(parse_token).transpose()?;
    let start = input
        .start_time
        .unwrap_or(i64::MIN)
        .max(retention_cutoff(&group));
    let end = input.end_time.unwrap_or(i64::MAX);
    let limit = input.limit.unwrap_or(10_000).clamp(1, 10_000) as usize;

    let mut chunks: Vec<(u64, Chunk)> = Vec::new();
    for_each_chunk(&group_name, Some(stream), |_, seq, c| {
        if c.hi >= start && c.lo < end {
            chunks.push((seq, c.clone()));
        }
        true
    })?;
    let mut all: Vec<Event> = Vec::new();
    for (seq, c) in &chunks {
        for (idx, (ts, msg)) in c.ev.iter().enumerate() {
            if *ts >= start && *ts < end {
                all.push(Event {
                    stream,
                    seq: *seq,
                    idx,
                    ts: *ts,
                    ing: c.ing,
                    msg,
                });
            }
        }
    }
    all.sort_by_key(|e| (e.ts, e.seq, e.idx));
    let positions: Vec<String> = all.iter().map(Event::pos).collect();
    let head = match &token {
        Some((fwd, _)) => *fwd,
        None => input.start_from_head.unwrap_or(false),
    };
    // The window [from, to) of `all` to answer.
    let (from, to) = match &token {
        Some((true, pos)) => {
            let from = positions.partition_point(|p| p <= pos);
            (from, (from + limit).min(all.len()))
        }
        Some((false, pos)) => {
            let to = positions.partition_point(|p| p < pos);
            (to.saturating_sub(limit), to)
        }
        None if head => (0, limit.min(all.len())),
        None => (all.len().saturating_sub(limit), all.len()),
    };
    // 1 MB of messages at most.
    let (mut from, mut to) = (from, to);
    let mut size = 0;
    if head {
        for (i, e) in all.iter().enumerate().take(to).skip(from) {
            size += e.msg.len() + EVENT_OVERHEAD;
            if size > MAX_BATCH_BYTES {
                to = i;
                break;
            }
        }
    } else {
        for (i, e) in all.iter().enumerate().take(to).skip(from).rev() {
            size += e.msg.len() + EVENT_OVERHEAD;
            if size > MAX_BATCH_BYTES {
                from = i + 1;
                break;
            }
        }
    }
    let page = &all[from..to];
    let zero = format!("{:045}", 0);
    let fwd_pos = match page.last() {
        Some(e) => e.pos(),
        None => match &token {
            Some((_, p)) => p.clone(),
            None if head => zero.clone(),
            None => positions.last().cloned().unwrap_or(zero.clone()),
        },
    };
    let back_pos = match page.first() {
        Some(e) => e.pos(),
        None => match &token {
            Some((_, p)) => p.clone(),
            None => zero,
        },
    };
    Ok(GetLogEventsOutput {
        events: Some(
            page.iter()
                .map(|e| OutputLogEvent {
                    timestamp: Some(e.ts),
                    message: Some(e.msg.to_string()),
                    ingestion_time: Some(e.ing),
                })
                .collect(),
        ),
        next_forward_token: Some(format!("f/{fwd_pos}/s")),
        next_backward_token: Some(format!("b/{back_pos}/s")),
    })
}

pub fn filter_log_events(
    _: &Context,
    input: FilterLogEventsInput,
) -> Result<FilterLogEventsOutput, AwsError> {
    let group_name = group_name_of(
        input.log_group_name.as_deref(),
        input.log_group_identifier.as_deref(),
    )?;
    let group = load_group(&group_name)?;
    if input.log_stream_names.is_some() && input.log_stream_name_prefix.is_some() {
        return Err(invalid(
            "logStreamNames and logStreamNamePrefix are mutually exclusive parameters.",
        ));
    }
    let p = pattern::parse(input.filter_pattern.as_deref().unwrap_or(""))
        .map_err(|e| invalid(format!("Invalid filter pattern: {e}")))?;
    let start = input
        .start_time
        .unwrap_or(i64::MIN)
        .max(retention_cutoff(&group));
    let end = input.end_time.unwrap_or(i64::MAX);
    let limit = input.limit.unwrap_or(10_000).clamp(1, 10_000) as usize;
    // The position after which to continue: (timestamp, stream, batch, index).
    let after: Option<(i64, String, u64, usize)> = match &input.next_token {
        Some(t) => Some(
            pagination::decode(t)
                .and_then(|s| serde_json::from_str(&s).ok())
                .ok_or_else(|| invalid(format!("The specified nextToken is invalid: {t}")))?,
        ),
        None => None,
    };
    let streams: Option<Vec<String>> = input.log_stream_names.clone();
    let prefix = input.log_stream_name_prefix.clone();
    let mut chunks: Vec<(String, u64, Chunk)> = Vec::new();
    let mut searched: Vec<String> = Vec::new();
    let mut keep = |s: &str, seq: u64, c: &Chunk| {
        if c.hi >= start && c.lo < end {
            chunks.push((s.to_string(), seq, c.clone()));
        }
        true
    };
    match &streams {
        Some(names) => {
            for s in names {
                for_each_chunk(&group_name, Some(s), &mut keep)?;
                searched.push(s.clone());
            }
        }
        None => {
            for_each_chunk(&group_name, None, |s, seq, c| {
                if prefix.as_deref().is_none_or(|p| s.starts_with(p)) {
                    keep(s, seq, c);
                }
                true
            })?;
            let sp = keys::prefix(&[&group_name]) + prefix.as_deref().unwrap_or("");
            searched = STREAMS
                .values(&sp)?
                .into_iter()
                .filter_map(|s| s.info.log_stream_name)
                .collect();
        }
    }
    let mut hits: Vec<(Event, Option<()>)> = Vec::new();
    for (s, seq, c) in &chunks {
        for (idx, (ts, msg)) in c.ev.iter().enumerate() {
            if *ts < start || *ts >= end {
                continue;
            }
            if let Some((ats, astream, aseq, aidx)) = &after
                && (*ts, s.as_str(), *seq, idx) <= (*ats, astream.as_str(), *aseq, *aidx)
            {
                continue;
            }
            if p.matches(msg).is_some() {
                hits.push((
                    Event {
                        stream: s,
                        seq: *seq,
                        idx,
                        ts: *ts,
                        ing: c.ing,
                        msg,
                    },
                    None,
                ));
            }
        }
    }
    hits.sort_by(|a, b| {
        (a.0.ts, a.0.stream, a.0.seq, a.0.idx).cmp(&(b.0.ts, b.0.stream, b.0.seq, b.0.idx))
    });
    let mut size = 0;
    let mut take = 0;
    for (e, _) in hits.iter().take(limit) {
        size += e.msg.len() + EVENT_OVERHEAD;
        if size > MAX_BATCH_BYTES && take > 0 {
            break;
        }
        take += 1;
    }
    let next = (take < hits.len()).then(|| {
        let e = &hits[take - 1].0;
        pagination::encode(&serde_json::json!([e.ts, e.stream, e.seq, e.idx]).to_string())
    });
    Ok(FilterLogEventsOutput {
        events: Some(
            hits[..take]
                .iter()
                .map(|(e, _)| FilteredLogEvent {
                    log_stream_name: Some(e.stream.to_string()),
                    timestamp: Some(e.ts),
                    message: Some(e.msg.to_string()),
                    ingestion_time: Some(e.ing),
                    event_id: Some(e.event_id()),
                })
                .collect(),
        ),
        searched_log_streams: Some(
            searched
                .into_iter()
                .map(|s| SearchedLogStream {
                    log_stream_name: Some(s),
                    searched_completely: Some(next.is_none()),
                })
                .collect(),
        ),
        next_token: next,
    })
}

pub fn get_log_group_fields(
    _: &Context,
    input: GetLogGroupFieldsInput,
) -> Result<GetLogGroupFieldsOutput, AwsError> {
    let group_name = group_name_of(
        input.log_group_name.as_deref(),
        input.log_group_identifier.as_deref(),
    )?;
    load_group(&group_name)?;
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut total = 0u64;
    for_each_chunk(&group_name, None, |_, _, c| {
        for (_, msg) in &c.ev {
            total += 1;
            let mut fields = BTreeMap::new();
            crate::insights::discover_fields(msg, &mut fields);
            for k in fields.keys() {
                *counts.entry(k.clone()).or_default() += 1;
            }
            if total >= 10_000 {
                return false;
            }
        }
        true
    })?;
    let mut out = vec![
        LogGroupField {
            name: Some("@timestamp".into()),
            percent: Some(100),
        },
        LogGroupField {
            name: Some("@message".into()),
            percent: Some(100),
        },
    ];
    for (k, n) in counts {
        out.push(LogGroupField {
            name: Some(k),
            percent: Some((n * 100 / total.max(1)) as i32),
        });
    }
    Ok(GetLogGroupFieldsOutput {
        log_group_fields: Some(out),
    })
}

/// The retention sweep of one group: deletes chunks whose newest event is
/// past retention, then runs again in an hour while the policy is set.
pub fn expire(_: &Context, group_name: String) -> Result<(), AwsError> {
    let Some(group) = GROUPS.get(&group_name)? else {
        return Ok(());
    };
    if group.info.retention_in_days.is_none() {
        return Ok(());
    }
    let cutoff = retention_cutoff(&group);
    let mut old = Vec::new();
    let prefix = keys::prefix(&[&group_name]);
    for_each_chunk(&group_name, None, |s, seq, c| {
        if c.hi < cutoff {
            old.push(keys::join(&[&group_name, s, &keys::u64(seq)]));
        }
        true
    })?;
    let _ = prefix;
    for k in old {
        CHUNKS.delete(&k);
    }
    tasks::schedule(Duration::from_secs(3600), "expire", &group_name)?;
    Ok(())
}
