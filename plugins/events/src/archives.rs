//! Archives (events put on a bus that match the archive's pattern are
//! stored) and replays (a `replay` task re-delivers the archived events of
//! a time range to the bus's rules, with `replay-name` set).

use std::time::Duration;

use ministack_sdk::json::RawJson;
use ministack_sdk::prelude::*;
use ministack_sdk::{tasks, time};
use serde_json::{Map, Value, json};

use crate::deliver::{self, Batch};
use crate::model::*;
use crate::pattern;

pub const ARCHIVES: Table<Archive> = Table::new("archives");
/// Archived events by `join([archive, u64(event ms), event id])`.
pub const ARCHIVED: Table<Value> = Table::new("archived");
pub const REPLAYS: Table<Replay> = Table::new("replays");
pub const REPLAY: &str = "replay";

#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct Archive {
    pub name: String,
    pub arn: String,
    pub source_arn: String,
    pub bus: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_pattern: Option<String>,
    #[serde(default)]
    pub retention_days: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_identifier: Option<String>,
    pub state: String,
    pub size_bytes: u64,
    pub event_count: u64,
    pub created: f64,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct Replay {
    pub name: String,
    pub arn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_reason: Option<String>,
    pub source_arn: String,
    pub destination: Value,
    pub event_start: f64,
    pub event_end: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_replayed: Option<f64>,
    pub replay_start: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay_end: Option<f64>,
}

fn event_millis(event: &Value) -> u64 {
    event["time"]
        .as_str()
        .and_then(time::parse_iso8601)
        .map(|t| (t * 1000.0) as u64)
        .unwrap_or_else(time::now_millis)
}

/// Stores each of `events` (put on `bus`) in every enabled archive of the
/// bus whose pattern it matches. Replayed events are not archived again.
pub fn archive(bus: &str, events: &[Value]) -> Result<(), AwsError> {
    archive_into(enabled_archives(bus)?, events)
}

/// [`archive`] of events still as text: parsed only when the bus has an
/// archive (most have none).
pub fn archive_raw(bus: &str, events: &[RawJson]) -> Result<(), AwsError> {
    let archives = enabled_archives(bus)?;
    if archives.is_empty() {
        return Ok(());
    }
    let events: Vec<Value> = events
        .iter()
        .filter_map(|e| serde_json::from_str(e.get()).ok())
        .collect();
    archive_into(archives, &events)
}

fn enabled_archives(bus: &str) -> Result<Vec<(String, Archive)>, AwsError> {
    Ok(ARCHIVES
        .scan(&Scan::all())?
        .into_iter()
        .filter(|(_, a)| a.bus == bus && a.state == "ENABLED")
        .collect())
}

fn archive_into(archives: Vec<(String, Archive)>, events: &[Value]) -> Result<(), AwsError> {
    for (key, mut a) in archives {
        let p = match a.event_pattern.as_deref() {
            Some(p) => Some(pattern::parse(p).map_err(|r| bad_pattern(&r))?),
            None => None,
        };
        if a.retention_days > 0 {
            // Events past the retention period go when the archive is next written.
            let cutoff = time::now_millis().saturating_sub(a.retention_days * 86_400_000);
            let expired = ARCHIVED.delete_range(
                &Scan::prefix(keys::prefix(&[&a.name]))
                    .to(keys::join(&[&a.name, &keys::u64(cutoff)])),
            );
            if expired > 0 {
                a.event_count = a.event_count.saturating_sub(expired);
                ARCHIVES.put(&key, &a)?;
            }
        }
        let mut changed = false;
        for event in events {
            if event.get("replay-name").is_some()
                || p.as_ref().is_some_and(|p| !pattern::matches(p, event))
            {
                continue;
            }
            let id = event["id"].as_str().unwrap_or_default();
            ARCHIVED.put(
                &keys::join(&[&a.name, &keys::u64(event_millis(event)), id]),
                event,
            )?;
            a.event_count += 1;
            a.size_bytes += event.to_string().len() as u64;
            changed = true;
        }
        if changed {
            ARCHIVES.put(&key, &a)?;
        }
    }
    Ok(())
}

pub fn create_archive(ctx: &Context, v: Value) -> Result<Value, AwsError> {
    let name = req(&v, "ArchiveName")?.to_string();
    check_name("archiveName", &name, false)?;
    let source = req(&v, "EventSourceArn")?.to_string();
    let bus = bus_name(Some(&source));
    let arn_ok =
        Arn::parse(&source).is_some_and(|a| a.account == ctx.account && a.region == ctx.region);
    if !arn_ok || !bus_exists(&bus) {
        return Err(no_bus(&bus));
    }
    if ARCHIVES.contains(&name) {
        return Err(exists("Archive", &name));
    }
    if let Some(p) = s(&v, "EventPattern") {
        pattern::parse(p).map_err(|r| bad_pattern(&r))?;
    }
    let a = Archive {
        arn: ctx.arn("events", &format!("archive/{name}")).to_string(),
        name: name.clone(),
        source_arn: source,
        bus,
        description: s(&v, "Description").map(str::to_string),
        event_pattern: s(&v, "EventPattern").map(str::to_string),
        retention_days: v.get("RetentionDays").and_then(Value::as_u64).unwrap_or(0),
        kms_key_identifier: s(&v, "KmsKeyIdentifier").map(str::to_string),
        state: "ENABLED".into(),
        size_bytes: 0,
        event_count: 0,
        created: time::now(),
    };
    ARCHIVES.put(&name, &a)?;
    Ok(json!({"ArchiveArn": a.arn, "State": a.state, "CreationTime": a.created}))
}

fn get_archive(name: &str) -> Result<Archive, AwsError> {
    ARCHIVES
        .get(name)?
        .ok_or_else(|| not_found("Archive", name))
}

fn archive_json(a: &Archive, full: bool) -> Value {
    let mut out = Map::new();
    if full {
        out.insert("ArchiveArn".into(), json!(a.arn));
    }
    out.insert("ArchiveName".into(), json!(a.name));
    out.insert("EventSourceArn".into(), json!(a.source_arn));
    if full {
        put_opt(
            &mut out,
            "Description",
            a.description.clone().map(Value::from),
        );
        put_opt(
            &mut out,
            "EventPattern",
            a.event_pattern.clone().map(Value::from),
        );
        put_opt(
            &mut out,
            "KmsKeyIdentifier",
            a.kms_key_identifier.clone().map(Value::from),
        );
    }
    out.insert("State".into(), json!(a.state));
    out.insert("RetentionDays".into(), json!(a.retention_days));
    out.insert("SizeBytes".into(), json!(a.size_bytes));
    out.insert("EventCount".into(), json!(a.event_count));
    out.insert("CreationTime".into(), json!(a.created));
    Value::Object(out)
}

pub fn describe_archive(_ctx: &Context, v: Value) -> Result<Value, AwsError> {
    Ok(archive_json(&get_archive(req(&v, "ArchiveName")?)?, true))
}

pub fn update_archive(_ctx: &Context, v: Value) -> Result<Value, AwsError> {
    let mut a = get_archive(req(&v, "ArchiveName")?)?;
    if let Some(p) = s(&v, "EventPattern") {
        pattern::parse(p).map_err(|r| bad_pattern(&r))?;
        a.event_pattern = Some(p.to_string());
    }
    if let Some(d) = s(&v, "Description") {
        a.description = Some(d.to_string());
    }
    if let Some(r) = v.get("RetentionDays").and_then(Value::as_u64) {
        a.retention_days = r;
    }
    if let Some(k) = s(&v, "KmsKeyIdentifier") {
        a.kms_key_identifier = Some(k.to_string());
    }
    ARCHIVES.put(&a.name, &a)?;
    Ok(json!({"ArchiveArn": a.arn, "State": a.state, "CreationTime": a.created}))
}

pub fn delete_archive(_ctx: &Context, v: Value) -> Result<Value, AwsError> {
    let a = get_archive(req(&v, "ArchiveName")?)?;
    ARCHIVED.delete_range(&Scan::prefix(keys::prefix(&[&a.name])));
    ARCHIVES.delete(&a.name);
    Ok(json!({}))
}

pub fn list_archives(_ctx: &Context, v: Value) -> Result<Value, AwsError> {
    let prefix = s(&v, "NamePrefix").unwrap_or("");
    let source = s(&v, "EventSourceArn");
    let state = s(&v, "State");
    let all: Vec<Archive> = ARCHIVES
        .values(prefix)?
        .into_iter()
        .filter(|a| source.is_none_or(|s| s == a.source_arn))
        .filter(|a| state.is_none_or(|s| s == a.state))
        .collect();
    let (items, next) = page_of(all, &v)?;
    let mut out =
        json!({"Archives": items.iter().map(|a| archive_json(a, false)).collect::<Vec<_>>()});
    if let Some(t) = next {
        out["NextToken"] = json!(t);
    }
    Ok(out)
}

/// Index paging over an already filtered list.
pub fn page_of<T>(all: Vec<T>, v: &Value) -> Result<(Vec<T>, Option<String>), AwsError> {
    let start = match s(v, "NextToken") {
        Some(t) => ministack_sdk::pagination::decode(t)
            .and_then(|k| k.parse::<usize>().ok())
            .ok_or_else(|| AwsError::validation("The NextToken provided is invalid."))?,
        None => 0,
    };
    let size = v
        .get("Limit")
        .or_else(|| v.get("MaxResults"))
        .and_then(Value::as_u64)
        .map(|n| n as u32);
    let end = (start + limit(size) as usize).min(all.len());
    let next = (end < all.len()).then(|| ministack_sdk::pagination::encode(&end.to_string()));
    let items = all
        .into_iter()
        .skip(start)
        .take(end.saturating_sub(start))
        .collect();
    Ok((items, next))
}

// ---------------------------------------------------------------- replays

pub fn start_replay(ctx: &Context, v: Value) -> Result<Value, AwsError> {
    let name = req(&v, "ReplayName")?.to_string();
    check_name("replayName", &name, false)?;
    if REPLAYS.contains(&name) {
        return Err(exists("Replay", &name));
    }
    let source = req(&v, "EventSourceArn")?.to_string();
    let archive_name = Arn::parse(&source)
        .and_then(|a| a.resource.strip_prefix("archive/").map(str::to_string))
        .ok_or_else(|| {
            AwsError::validation(format!(
                "Parameter EventSourceArn is not valid. Reason: {source} is not an archive ARN."
            ))
        })?;
    let archive = get_archive(&archive_name)?;
    let start = v
        .get("EventStartTime")
        .and_then(Value::as_f64)
        .unwrap_or(0.0);
    let end = v.get("EventEndTime").and_then(Value::as_f64).unwrap_or(0.0);
    if start >= end {
        return Err(AwsError::validation(
            "Parameter EventStartTime is not valid. Reason: EventStartTime must be before EventEndTime.",
        ));
    }
    if end > time::now() + 1.0 {
        return Err(AwsError::validation(
            "Parameter EventEndTime is not valid. Reason: EventEndTime cannot be in the future.",
        ));
    }
    let destination = v.get("Destination").cloned().unwrap_or_default();
    let dest_bus = bus_name(s(&destination, "Arn"));
    if dest_bus != archive.bus {
        return Err(AwsError::validation(
            "Parameter Destination.Arn is not valid. Reason: Cross event bus replay is not permitted.",
        ));
    }
    get_bus(ctx, &dest_bus)?;
    let r = Replay {
        arn: ctx.arn("events", &format!("replay/{name}")).to_string(),
        name: name.clone(),
        description: s(&v, "Description").map(str::to_string),
        state: "STARTING".into(),
        state_reason: None,
        source_arn: source,
        destination,
        event_start: start,
        event_end: end,
        last_replayed: None,
        replay_start: time::now(),
        replay_end: None,
    };
    REPLAYS.put(&name, &r)?;
    tasks::schedule(
        Duration::ZERO,
        REPLAY,
        &json!({"name": name, "archive": archive_name}),
    )?;
    Ok(json!({"ReplayArn": r.arn, "State": r.state, "ReplayStartTime": r.replay_start}))
}

#[derive(Serialize, Deserialize)]
pub struct ReplayTask {
    pub name: String,
    pub archive: String,
    /// Resumed by the boot hook: a RUNNING replay goes on after its
    /// `last_replayed` event.
    #[serde(default)]
    pub resume: bool,
}

/// The `replay` task: the archived events of the range, in time order,
/// delivered to the destination bus (only the FilterArns rules if given).
/// Progress is kept after each chunk, so a replay cut off by a stop goes on
/// from there after the restart (`resume_replays`).
pub fn replay(ctx: &Context, t: ReplayTask) -> Result<(), AwsError> {
    let Some(mut r) = REPLAYS.get(&t.name)? else {
        return Ok(());
    };
    if !(r.state == "STARTING" || (t.resume && r.state == "RUNNING")) {
        return Ok(());
    }
    let bus = bus_name(s(&r.destination, "Arn"));
    let start_ms = match (t.resume, r.last_replayed) {
        // From the last delivered millisecond again: its other events may
        // not have gone (at least once, as AWS).
        (true, Some(done)) => (done * 1000.0) as u64,
        _ => (r.event_start * 1000.0) as u64,
    };
    let from = keys::join(&[&t.archive, &keys::u64(start_ms)]);
    let to = keys::join(&[&t.archive, &keys::u64((r.event_end * 1000.0) as u64)]);
    let events: Vec<Value> = ARCHIVED
        .scan(&Scan::prefix(keys::prefix(&[&t.archive])).from(from).to(to))?
        .into_iter()
        .map(|(_, e)| deliver::replay_event(&e, &t.name))
        .collect();
    let rule_arns: Vec<String> = r
        .destination
        .get("FilterArns")
        .and_then(|f| serde_json::from_value(f.clone()).ok())
        .unwrap_or_default();
    r.state = "RUNNING".into();
    REPLAYS.put(&r.name, &r)?;
    for chunk in events.chunks(10) {
        // The progress commits with the chunk's first delivery call.
        if let Some(mut r) = REPLAYS.get(&t.name)? {
            r.last_replayed = chunk.last().map(|e| event_millis(e) as f64 / 1000.0);
            REPLAYS.put(&r.name, &r)?;
        }
        deliver::deliver(
            ctx,
            Batch {
                bus: bus.clone(),
                events: chunk.to_vec(),
                rule_arns: rule_arns.clone(),
            },
        )?;
    }
    if let Some(mut r) = REPLAYS.get(&t.name)? {
        if r.state == "RUNNING" {
            r.state = "COMPLETED".into();
        } else if r.state == "CANCELLING" {
            r.state = "CANCELLED".into();
        }
        r.replay_end = Some(time::now());
        REPLAYS.put(&r.name, &r)?;
    }
    Ok(())
}

/// The boot hook: replays that were RUNNING when the gateway stopped (their
/// task record went with their first delivery) go on in their own account
/// and region; a STARTING one still has its record.
pub fn on_start(_ctx: &Context, _: ()) -> Result<(), AwsError> {
    for (account, region) in tasks::contexts(REPLAYS.name()) {
        tasks::schedule_in(&account, &region, Duration::ZERO, RESUME_REPLAYS, &())?;
    }
    Ok(())
}

pub const RESUME_REPLAYS: &str = "resume-replays";

pub fn resume_replays(_ctx: &Context, _: ()) -> Result<(), AwsError> {
    for (_, mut r) in REPLAYS.scan(&Scan::all())? {
        match r.state.as_str() {
            "RUNNING" => {
                tasks::schedule(
                    Duration::ZERO,
                    REPLAY,
                    &ReplayTask {
                        name: r.name.clone(),
                        archive: r
                            .source_arn
                            .rsplit('/')
                            .next()
                            .unwrap_or_default()
                            .to_string(),
                        resume: true,
                    },
                )?;
            }
            "CANCELLING" => {
                r.state = "CANCELLED".into();
                r.replay_end = Some(time::now());
                REPLAYS.put(&r.name.clone(), &r)?;
            }
            _ => {}
        }
    }
    Ok(())
}

fn replay_json(r: &Replay, full: bool) -> Value {
    let mut out = Map::new();
    out.insert("ReplayName".into(), json!(r.name));
    if full {
        out.insert("ReplayArn".into(), json!(r.arn));
        put_opt(
            &mut out,
            "Description",
            r.description.clone().map(Value::from),
        );
        out.insert("Destination".into(), r.destination.clone());
    }
    out.insert("EventSourceArn".into(), json!(r.source_arn));
    out.insert("State".into(), json!(r.state));
    put_opt(
        &mut out,
        "StateReason",
        r.state_reason.clone().map(Value::from),
    );
    out.insert("EventStartTime".into(), json!(r.event_start));
    out.insert("EventEndTime".into(), json!(r.event_end));
    put_opt(
        &mut out,
        "EventLastReplayedTime",
        r.last_replayed.map(Value::from),
    );
    out.insert("ReplayStartTime".into(), json!(r.replay_start));
    put_opt(&mut out, "ReplayEndTime", r.replay_end.map(Value::from));
    Value::Object(out)
}

pub fn describe_replay(_ctx: &Context, v: Value) -> Result<Value, AwsError> {
    let name = req(&v, "ReplayName")?;
    let r = REPLAYS
        .get(name)?
        .ok_or_else(|| not_found("Replay", name))?;
    Ok(replay_json(&r, true))
}

pub fn cancel_replay(_ctx: &Context, v: Value) -> Result<Value, AwsError> {
    let name = req(&v, "ReplayName")?;
    let mut r = REPLAYS
        .get(name)?
        .ok_or_else(|| not_found("Replay", name))?;
    if !matches!(r.state.as_str(), "STARTING" | "RUNNING") {
        return Err(AwsError::new(
            "IllegalStatusException",
            format!("Replay {name} is not in a valid state for this operation."),
        ));
    }
    r.state = if r.state == "STARTING" {
        "CANCELLED"
    } else {
        "CANCELLING"
    }
    .into();
    r.state_reason = Some("Cancelled by the caller.".into());
    REPLAYS.put(name, &r)?;
    Ok(json!({"ReplayArn": r.arn, "State": r.state}))
}

pub fn list_replays(_ctx: &Context, v: Value) -> Result<Value, AwsError> {
    let prefix = s(&v, "NamePrefix").unwrap_or("");
    let source = s(&v, "EventSourceArn");
    let state = s(&v, "State");
    let all: Vec<Replay> = REPLAYS
        .values(prefix)?
        .into_iter()
        .filter(|r| source.is_none_or(|s| s == r.source_arn))
        .filter(|r| state.is_none_or(|s| s == r.state))
        .collect();
    let (items, next) = page_of(all, &v)?;
    let mut out =
        json!({"Replays": items.iter().map(|r| replay_json(r, false)).collect::<Vec<_>>()});
    if let Some(t) = next {
        out["NextToken"] = json!(t);
    }
    Ok(out)
}
