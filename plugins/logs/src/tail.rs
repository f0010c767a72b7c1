//! StartLiveTail: a streamed response (docs/streaming.md). The handler
//! opens the event stream and sends `sessionStart`; a `tail` task then
//! waits on the groups' `tail:<group>` topics (PutLogEvents notifies them)
//! and sends the new events of each stream as `sessionUpdate`s, reading a
//! stream's chunks from the batch number it had last seen. The session ends
//! after 3 hours with `SessionTimeoutException`, as AWS's does, or when
//! the client goes away.

use std::collections::BTreeMap;
use std::time::Duration;

use ministack_sdk::prelude::*;
use ministack_sdk::{ids, tasks, time};
use serde_json::json;

use crate::events::CHUNKS;
use crate::groups::{GROUPS, STREAMS, name_from_identifier};
use crate::shapes::StartLiveTailInput;
use crate::{invalid, not_found, pattern};

const SESSION_MS: i64 = 3 * 3600 * 1000;
/// Events a session update carries at most (AWS: 500, sampled beyond).
const MAX_UPDATE: usize = 500;

#[derive(Serialize)]
pub struct StartLiveTailOut {
    #[serde(rename = "responseStream")]
    response_stream: EventStream,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TailJob {
    stream: String,
    /// (identifier as given, group name).
    groups: Vec<(String, String)>,
    streams: Option<Vec<String>>,
    prefixes: Option<Vec<String>>,
    pattern: String,
    started: i64,
    /// group → log stream → next batch number to read.
    cursor: BTreeMap<String, BTreeMap<String, u64>>,
}

pub fn topic(group: &str) -> String {
    format!("tail:{group}")
}

fn stream_seqs(group: &str) -> Result<BTreeMap<String, u64>, AwsError> {
    Ok(STREAMS
        .scan(&Scan::prefix(keys::prefix(&[group])))?
        .into_iter()
        .map(|(k, s)| (keys::last(&k).to_string(), s.seq))
        .collect())
}

pub fn start_live_tail(
    ctx: &Context,
    input: StartLiveTailInput,
) -> Result<StartLiveTailOut, AwsError> {
    if input.log_group_identifiers.is_empty() || input.log_group_identifiers.len() > 10 {
        return Err(invalid("logGroupIdentifiers must name 1 to 10 log groups."));
    }
    if input.log_stream_names.is_some() && input.log_stream_name_prefixes.is_some() {
        return Err(invalid(
            "logStreamNames and logStreamNamePrefixes are mutually exclusive parameters.",
        ));
    }
    let pattern_text = input.log_event_filter_pattern.clone().unwrap_or_default();
    pattern::parse(&pattern_text).map_err(|e| invalid(format!("Invalid filter pattern: {e}")))?;
    let mut groups = Vec::new();
    let mut cursor = BTreeMap::new();
    for id in &input.log_group_identifiers {
        let name = name_from_identifier(id);
        if !GROUPS.contains(&name) {
            return Err(not_found(&format!("Log group {id} does not exist")));
        }
        cursor.insert(name.clone(), stream_seqs(&name)?);
        groups.push((id.clone(), name));
    }
    let events = EventStream::open();
    let start = json!({
        "requestId": ctx.request_id,
        "sessionId": ids::uuid(),
        "logGroupIdentifiers": input.log_group_identifiers,
        "logStreamNames": input.log_stream_names,
        "logStreamNamePrefixes": input.log_stream_name_prefixes,
        "logEventFilterPattern": pattern_text,
    });
    events.send("sessionStart", &start);
    tasks::schedule(
        Duration::ZERO,
        "tail",
        &TailJob {
            stream: events.id().to_string(),
            groups,
            streams: input.log_stream_names,
            prefixes: input.log_stream_name_prefixes,
            pattern: pattern_text,
            started: time::now_millis() as i64,
            cursor,
        },
    )?;
    Ok(StartLiveTailOut {
        response_stream: events,
    })
}

fn wanted(streams: &Option<Vec<String>>, prefixes: &Option<Vec<String>>, stream: &str) -> bool {
    streams
        .as_ref()
        .is_none_or(|names| names.iter().any(|n| n == stream))
        && prefixes
            .as_ref()
            .is_none_or(|ps| ps.iter().any(|p| stream.starts_with(p.as_str())))
}

pub fn tail(_: &Context, mut job: TailJob) -> Result<(), AwsError> {
    let events = EventStream::from_id(&job.stream);
    let p = pattern::parse(&job.pattern).unwrap_or(pattern::Pattern::All);
    let mut idle_ticks = 0u32;
    loop {
        if time::now_millis() as i64 - job.started > SESSION_MS {
            events.send(
                "SessionTimeoutException",
                &json!({"message": "Session timed out after 3 hours"}),
            );
            events.close();
            return Ok(());
        }
        let mut results = Vec::new();
        let mut total = 0usize;
        for (id, group) in job.groups.clone() {
            let seqs = stream_seqs(&group)?;
            let cur = job.cursor.entry(group.clone()).or_default();
            for (stream, next) in seqs {
                let from = cur.get(&stream).copied().unwrap_or(0);
                if next <= from {
                    continue;
                }
                cur.insert(stream.clone(), next);
                if !wanted(&job.streams, &job.prefixes, &stream) {
                    continue;
                }
                let scan = Scan::prefix(keys::prefix(&[&group, &stream])).from(keys::join(&[
                    &group,
                    &stream,
                    &keys::u64(from),
                ]));
                for (_, c) in CHUNKS.scan(&scan)? {
                    for (ts, msg) in &c.ev {
                        if p.matches(msg).is_none() {
                            continue;
                        }
                        total += 1;
                        if results.len() < MAX_UPDATE {
                            results.push(json!({
                                "logStreamName": stream,
                                "logGroupIdentifier": id,
                                "message": msg,
                                "timestamp": ts,
                                "ingestionTime": c.ing,
                            }));
                        }
                    }
                }
            }
        }
        // Updates with events at once; an empty one every 10 s keeps the
        // session (and the host's idle timer) alive.
        if !results.is_empty() || idle_ticks >= 10 {
            idle_ticks = 0;
            let update = json!({
                "sessionMetadata": {"sampled": total > results.len()},
                "sessionResults": results,
            });
            if !events.send("sessionUpdate", &update) {
                return Ok(());
            }
        } else {
            idle_ticks += 1;
        }
        // Commits the sends; wakes on new events of the first group (the
        // others are read on the next tick, at most a second later).
        let first = job
            .groups
            .first()
            .map(|(_, g)| topic(g))
            .unwrap_or_default();
        tasks::wait(&first, Duration::from_secs(1));
    }
}
