//! Logs Insights queries (StartQuery runs the query in a task; the results
//! wait in the store for GetQueryResults) and saved query definitions.

use std::collections::BTreeMap;
use std::time::Duration;

use ministack_sdk::prelude::*;
use ministack_sdk::{encoding, ids, tasks, time};

use crate::events::{for_each_chunk, retention_cutoff};
use crate::groups::{GROUPS, name_from_identifier, page_vec};
use crate::insights::{self, Record, Val};
use crate::shapes::*;
use crate::{invalid, not_found};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct QueryRec {
    pub info: QueryInfo,
    pub groups: Vec<String>,
    pub start_ms: i64,
    pub end_ms: i64,
    pub limit: Option<i32>,
    pub results: Vec<Vec<ResultField>>,
    pub statistics: QueryStatistics,
}

pub const QUERIES: Table<QueryRec> = Table::new("queries");
pub const QUERY_DEFINITIONS: Table<QueryDefinition> = Table::new("query-definitions");

fn malformed(msg: String) -> AwsError {
    AwsError::new("MalformedQueryException", msg.clone())
        .with_status(400)
        .with_member(
            "queryCompileError",
            serde_json::json!({"location": {"startCharOffset": 0, "endCharOffset": 0}, "message": msg}),
        )
}

pub fn start_query(ctx: &Context, input: StartQueryInput) -> Result<StartQueryOutput, AwsError> {
    let given = [
        input.log_group_name.is_some(),
        input.log_group_names.is_some(),
        input.log_group_identifiers.is_some(),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if given > 1 {
        return Err(invalid(
            "Only one of logGroupName, logGroupNames and logGroupIdentifiers may be given.",
        ));
    }
    let mut groups: Vec<String> = Vec::new();
    groups.extend(input.log_group_name.clone());
    groups.extend(input.log_group_names.clone().unwrap_or_default());
    groups.extend(
        input
            .log_group_identifiers
            .iter()
            .flatten()
            .map(|i| name_from_identifier(i)),
    );
    // `SOURCE logGroups(...)`-less queries need at least one group.
    if groups.is_empty() {
        return Err(invalid("At least one log group is required."));
    }
    for g in &groups {
        if !GROUPS.contains(g) {
            return Err(not_found(&format!("Log group '{g}' does not exist")));
        }
    }
    if input.end_time < input.start_time {
        return Err(invalid("End time should not be before the start time."));
    }
    insights::parse_query(&input.query_string).map_err(malformed)?;
    let id = ids::uuid();
    let rec = QueryRec {
        info: QueryInfo {
            query_language: Some(QueryLanguage::Cwli),
            query_id: Some(id.clone()),
            query_string: Some(input.query_string.clone()),
            status: Some(QueryStatus::Scheduled),
            create_time: Some(time::now_millis() as i64),
            log_group_name: groups.first().cloned(),
            user_identity: Some(ctx.caller_arn.clone()),
            ..Default::default()
        },
        groups,
        start_ms: input.start_time.saturating_mul(1000),
        end_ms: input.end_time.saturating_mul(1000).saturating_add(999),
        limit: input.limit,
        ..Default::default()
    };
    QUERIES.put(&id, &rec)?;
    tasks::schedule(Duration::ZERO, "query", &id)?;
    Ok(StartQueryOutput { query_id: Some(id) })
}

/// The task that runs a query.
pub fn run_query(ctx: &Context, id: String) -> Result<(), AwsError> {
    let Some(mut rec) = QUERIES.get(&id)? else {
        return Ok(());
    };
    if rec.info.status.as_ref() != Some(&QueryStatus::Scheduled) {
        return Ok(());
    }
    let started = time::now_millis() as i64;
    let query_string = rec.info.query_string.clone().unwrap_or_default();
    let q = match insights::parse_query(&query_string) {
        Ok(q) => q,
        Err(_) => {
            rec.info.status = Some(QueryStatus::Failed);
            QUERIES.put(&id, &rec)?;
            return Ok(());
        }
    };
    let mut runner = insights::Runner::new(&q);
    // Aggregated rows have no pointer: skip making one per event. The
    // other system fields are made only when the query names them (a
    // million records each spared three allocations).
    let with_ptr = !runner.aggregates();
    let want_stream = query_string.contains("@logStream");
    let want_log = query_string.replace("@logStream", "").contains("@log");
    let want_ingestion = query_string.contains("@ingestionTime");
    let mut bytes = 0f64;
    for group in rec.groups.clone() {
        let Some(g) = GROUPS.get(&group)? else {
            continue;
        };
        let start = rec.start_ms.max(retention_cutoff(&g));
        let end = rec.end_ms;
        let log = format!("{}:{group}", ctx.account);
        for_each_chunk(&group, None, |stream, seq, c| {
            if c.hi < start || c.lo > end {
                return true;
            }
            for (idx, (ts, msg)) in c.ev.iter().enumerate() {
                if *ts < start || *ts > end {
                    continue;
                }
                bytes += msg.len() as f64;
                let mut r = Record::with_capacity(8);
                r.insert("@timestamp".into(), Val::Num(*ts as f64));
                r.insert("@message".into(), Val::Str(msg.clone()));
                if want_stream {
                    r.insert("@logStream".into(), Val::Str(stream.to_string()));
                }
                if want_log {
                    r.insert("@log".into(), Val::Str(log.clone()));
                }
                if want_ingestion {
                    r.insert("@ingestionTime".into(), Val::Num(c.ing as f64));
                }
                if with_ptr {
                    r.insert(
                        "@ptr".into(),
                        Val::Str(encoding::base64_encode(
                            format!("{group}\n{stream}\n{seq}\n{idx}").as_bytes(),
                        )),
                    );
                }
                let mut fields = BTreeMap::new();
                insights::discover_fields(msg, &mut fields);
                r.extend(fields);
                runner.push(r);
                if !runner.wants_more() {
                    return false;
                }
            }
            true
        })?;
    }
    let (matched, scanned) = (runner.matched, runner.scanned);
    let limit = rec.limit.map(|l| l as usize).unwrap_or(10_000);
    let (rows, cols) = runner.finish(limit);

    rec.results = rows
        .iter()
        .map(|r| {
            let mut out: Vec<ResultField> = cols
                .iter()
                .filter_map(|c| {
                    let v = r.get(c)?;
                    if *v == Val::Null {
                        return None;
                    }
                    let text = match (c.as_str(), v) {
                        ("@timestamp" | "@ingestionTime", Val::Num(ms)) => {
                            insights::fmt_time(*ms as i64)
                        }
                        _ => v.text(),
                    };
                    Some(ResultField {
                        field: Some(c.clone()),
                        value: Some(text),
                    })
                })
                .collect();
            if with_ptr && let Some(p) = r.get("@ptr") {
                out.push(ResultField {
                    field: Some("@ptr".into()),
                    value: Some(p.text()),
                });
            }
            out
        })
        .collect();
    rec.statistics = QueryStatistics {
        records_matched: Some(matched as f64),
        records_scanned: Some(scanned as f64),
        bytes_scanned: Some(bytes),
        log_groups_scanned: Some(rec.groups.len() as f64),
        ..Default::default()
    };
    rec.info.bytes_scanned = Some(bytes);
    rec.info.query_duration = Some(time::now_millis() as i64 - started);
    // A StopQuery that landed meanwhile wins.
    if let Some(now) = QUERIES.get(&id)?
        && now.info.status.as_ref() == Some(&QueryStatus::Cancelled)
    {
        return Ok(());
    }
    rec.info.status = Some(QueryStatus::Complete);
    QUERIES.put(&id, &rec)?;
    Ok(())
}

pub fn get_query_results(
    _: &Context,
    input: GetQueryResultsInput,
) -> Result<GetQueryResultsOutput, AwsError> {
    let rec = QUERIES
        .get(&input.query_id)?
        .ok_or_else(|| not_found("Query does not exist."))?;
    Ok(GetQueryResultsOutput {
        query_language: rec.info.query_language.clone(),
        results: Some(rec.results),
        statistics: Some(rec.statistics),
        status: rec.info.status,
        encryption_key: None,
        next_token: None,
    })
}

pub fn stop_query(_: &Context, input: StopQueryInput) -> Result<StopQueryOutput, AwsError> {
    let mut rec = QUERIES
        .get(&input.query_id)?
        .ok_or_else(|| not_found("Query does not exist."))?;
    let running = matches!(
        rec.info.status,
        Some(QueryStatus::Scheduled) | Some(QueryStatus::Running)
    );
    if running {
        rec.info.status = Some(QueryStatus::Cancelled);
        QUERIES.put(&input.query_id, &rec)?;
    }
    Ok(StopQueryOutput {
        success: Some(running),
    })
}

pub fn describe_queries(
    _: &Context,
    input: DescribeQueriesInput,
) -> Result<DescribeQueriesOutput, AwsError> {
    let mut all: Vec<QueryInfo> = QUERIES
        .values("")?
        .into_iter()
        .map(|r| r.info)
        .filter(|i| input.status.is_none() || i.status == input.status)
        .filter(|i| input.log_group_name.is_none() || i.log_group_name == input.log_group_name)
        .collect();
    all.sort_by_key(|i| std::cmp::Reverse(i.create_time));
    let max = input.max_results.unwrap_or(1000).clamp(1, 1000) as u32;
    let (page, next) = page_vec(all, input.next_token.as_deref(), max)?;
    Ok(DescribeQueriesOutput {
        queries: Some(page),
        next_token: next,
    })
}

pub fn put_query_definition(
    _: &Context,
    input: PutQueryDefinitionInput,
) -> Result<PutQueryDefinitionOutput, AwsError> {
    let id = match &input.query_definition_id {
        Some(id) => {
            if !QUERY_DEFINITIONS.contains(id) {
                return Err(not_found("The specified query definition does not exist."));
            }
            id.clone()
        }
        None => ids::uuid(),
    };
    let def = QueryDefinition {
        query_language: Some(input.query_language.unwrap_or(QueryLanguage::Cwli)),
        query_definition_id: Some(id.clone()),
        name: Some(input.name),
        query_string: Some(input.query_string),
        last_modified: Some(time::now_millis() as i64),
        log_group_names: input.log_group_names,
        parameters: input.parameters,
    };
    QUERY_DEFINITIONS.put(&id, &def)?;
    Ok(PutQueryDefinitionOutput {
        query_definition_id: Some(id),
    })
}

pub fn delete_query_definition(
    _: &Context,
    input: DeleteQueryDefinitionInput,
) -> Result<DeleteQueryDefinitionOutput, AwsError> {
    if !QUERY_DEFINITIONS.delete(&input.query_definition_id) {
        return Err(not_found("The specified query definition does not exist."));
    }
    Ok(DeleteQueryDefinitionOutput {
        success: Some(true),
    })
}

pub fn describe_query_definitions(
    _: &Context,
    input: DescribeQueryDefinitionsInput,
) -> Result<DescribeQueryDefinitionsOutput, AwsError> {
    let mut all: Vec<QueryDefinition> = QUERY_DEFINITIONS
        .values("")?
        .into_iter()
        .filter(|d| {
            input
                .query_definition_name_prefix
                .as_ref()
                .is_none_or(|p| d.name.as_deref().unwrap_or("").starts_with(p.as_str()))
        })
        .collect();
    all.sort_by(|a, b| a.name.cmp(&b.name));
    let max = input.max_results.unwrap_or(1000).clamp(1, 1000) as u32;
    let (page, next) = page_vec(all, input.next_token.as_deref(), max)?;
    Ok(DescribeQueryDefinitionsOutput {
        query_definitions: Some(page),
        next_token: next,
    })
}
