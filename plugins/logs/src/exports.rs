//! Export tasks to S3: CreateExportTask schedules an `export` task that
//! writes, per log stream, `<prefix>/<taskId>/<stream>/000000.gz` (gzip'd
//! lines `<ISO-8601 timestamp> <message>`, as AWS's exports) through the
//! `s3` plugin's PutObject.

use std::collections::BTreeMap;
use std::time::Duration;

use ministack_sdk::prelude::*;
use ministack_sdk::services::{self, Target};
use ministack_sdk::{blobs, ids, tasks, time};
use serde_json::json;

use crate::deliver::gzip;
use crate::events::{for_each_chunk, retention_cutoff};
use crate::groups::{GROUPS, load_group, page_vec};
use crate::shapes::*;
use crate::{invalid, not_found};

const EXPORTS: Table<ExportTask> = Table::new("exports");

fn status(code: ExportTaskStatusCode, message: &str) -> Option<ExportTaskStatus> {
    Some(ExportTaskStatus {
        code: Some(code),
        message: Some(message.to_string()),
    })
}

pub fn create_export_task(
    _: &Context,
    input: CreateExportTaskInput,
) -> Result<CreateExportTaskOutput, AwsError> {
    load_group(&input.log_group_name)?;
    if input.to < input.from {
        return Err(invalid("The 'to' time must not be before the 'from' time."));
    }
    let active = EXPORTS.values("")?.into_iter().any(|t| {
        matches!(
            t.status.as_ref().and_then(|s| s.code.as_ref()),
            Some(ExportTaskStatusCode::Pending) | Some(ExportTaskStatusCode::Running)
        )
    });
    if active {
        // AWS: one active export task per account.
        return Err(AwsError::limit_exceeded(
            "LimitExceededException",
            "Resource limit exceeded.",
        ));
    }
    let id = ids::uuid();
    let task = ExportTask {
        task_id: Some(id.clone()),
        task_name: input.task_name,
        log_group_name: Some(input.log_group_name),
        from: Some(input.from),
        to: Some(input.to),
        destination: Some(input.destination),
        destination_prefix: Some(
            input
                .destination_prefix
                .unwrap_or_else(|| "exportedlogs".to_string()),
        ),
        status: status(ExportTaskStatusCode::Pending, "Pending"),
        execution_info: Some(ExportTaskExecutionInfo {
            creation_time: Some(time::now_millis() as i64),
            completion_time: None,
        }),
    };
    EXPORTS.put(&id, &task)?;
    tasks::schedule(Duration::ZERO, "export", &id)?;
    Ok(CreateExportTaskOutput { task_id: Some(id) })
}

/// The task that writes the objects.
pub fn run_export(ctx: &Context, id: String) -> Result<(), AwsError> {
    let Some(mut task) = EXPORTS.get(&id)? else {
        return Ok(());
    };
    if task.status.as_ref().and_then(|s| s.code.as_ref()) != Some(&ExportTaskStatusCode::Pending) {
        return Ok(());
    }
    let group = task.log_group_name.clone().unwrap_or_default();
    let (from, to) = (task.from.unwrap_or(0), task.to.unwrap_or(i64::MAX));
    let mut per_stream: BTreeMap<String, Vec<(i64, String)>> = BTreeMap::new();
    if let Some(g) = GROUPS.get(&group)? {
        let from = from.max(retention_cutoff(&g));
        for_each_chunk(&group, None, |stream, _, c| {
            if c.hi >= from && c.lo < to {
                let lines = per_stream.entry(stream.to_string()).or_default();
                lines.extend(
                    c.ev.iter()
                        .filter(|(ts, _)| *ts >= from && *ts < to)
                        .cloned(),
                );
            }
            true
        })?;
    }
    let bucket = task.destination.clone().unwrap_or_default();
    let prefix = task.destination_prefix.clone().unwrap_or_default();
    let s3 = Target::new("s3", ctx);
    let mut outcome = Ok(());
    for (stream, mut lines) in per_stream {
        lines.sort_by_key(|(ts, _)| *ts);
        let mut text = String::new();
        for (ts, msg) in &lines {
            text.push_str(&time::iso8601_millis(*ts as f64 / 1000.0));
            text.push(' ');
            text.push_str(msg);
            text.push('\n');
        }
        let body = blobs::create(&gzip(text.as_bytes()));
        let key = format!("{prefix}/{id}/{stream}/000000.gz");
        let put = json!({"Bucket": bucket, "Key": key, "Body": body, "ContentEncoding": "gzip"});
        if let Err(e) = services::call_json(&s3, "PutObject", &put.to_string()) {
            outcome = Err(e);
            break;
        }
    }
    // Reload: a CancelExportTask may have landed while writing.
    let mut now = EXPORTS.get(&id)?.unwrap_or(task.clone());
    if now.status.as_ref().and_then(|s| s.code.as_ref()) == Some(&ExportTaskStatusCode::Cancelled) {
        return Ok(());
    }
    now.status = match outcome {
        Ok(()) => status(ExportTaskStatusCode::Completed, "Completed successfully"),
        Err(e) => status(
            ExportTaskStatusCode::Failed,
            &format!("{}: {}", e.code, e.message),
        ),
    };
    if let Some(info) = now.execution_info.as_mut() {
        info.completion_time = Some(time::now_millis() as i64);
    }
    task = now;
    EXPORTS.put(&id, &task)?;
    Ok(())
}

pub fn describe_export_tasks(
    _: &Context,
    input: DescribeExportTasksInput,
) -> Result<DescribeExportTasksOutput, AwsError> {
    let mut all: Vec<ExportTask> = EXPORTS
        .values("")?
        .into_iter()
        .filter(|t| input.task_id.is_none() || t.task_id == input.task_id)
        .filter(|t| {
            input.status_code.is_none()
                || t.status.as_ref().and_then(|s| s.code.as_ref()) == input.status_code.as_ref()
        })
        .collect();
    all.sort_by_key(|t| std::cmp::Reverse(t.execution_info.as_ref().and_then(|i| i.creation_time)));
    let max = input.limit.unwrap_or(50).clamp(1, 50) as u32;
    let (page, next) = page_vec(all, input.next_token.as_deref(), max)?;
    Ok(DescribeExportTasksOutput {
        export_tasks: Some(page),
        next_token: next,
    })
}

pub fn cancel_export_task(_: &Context, input: CancelExportTaskInput) -> Result<Empty, AwsError> {
    let mut t = EXPORTS
        .get(&input.task_id)?
        .ok_or_else(|| not_found("The specified export task does not exist."))?;
    match t.status.as_ref().and_then(|s| s.code.as_ref()) {
        Some(ExportTaskStatusCode::Pending) | Some(ExportTaskStatusCode::Running) => {}
        _ => {
            return Err(AwsError::new(
                "InvalidOperationException",
                "The export task is not active and cannot be cancelled.",
            )
            .with_status(400));
        }
    }
    t.status = status(ExportTaskStatusCode::Cancelled, "Cancelled by user");
    EXPORTS.put(&input.task_id, &t)?;
    Ok(Empty {})
}
