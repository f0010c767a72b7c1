//! The smaller resources of CloudWatch Logs: anomaly detectors, index
//! policies and field indexes, OpenSearch integrations, scheduled queries,
//! lookup tables, bearer-token authentication, and the operations that
//! name things that cannot exist locally (import tasks from CloudTrail
//! Lake, S3 Tables integrations, data sources), which answer AWS's
//! `ResourceNotFoundException`.

use ministack_sdk::prelude::*;
use ministack_sdk::{encoding, ids, time};
use serde_json::json;

use crate::groups::{GROUPS, load_group, name_from_identifier, page_vec};
use crate::shapes::*;
use crate::vended::{conflict, validation};
use crate::{exists, invalid, not_found};

// ---- anomaly detectors ----

/// Key: the detector's id (the last part of its ARN).
const DETECTORS: Table<AnomalyDetector> = Table::new("anomaly-detectors");

fn detector_key(arn: &str) -> &str {
    arn.rsplit(':').next().unwrap_or(arn)
}

fn load_detector(arn: &str) -> Result<AnomalyDetector, AwsError> {
    DETECTORS
        .get(detector_key(arn))?
        .ok_or_else(|| not_found("The anomaly detector does not exist."))
}

pub fn create_log_anomaly_detector(
    ctx: &Context,
    input: CreateLogAnomalyDetectorInput,
) -> Result<CreateLogAnomalyDetectorOutput, AwsError> {
    if input.log_group_arn_list.len() != 1 {
        return Err(invalid(
            "An anomaly detector watches exactly one log group.",
        ));
    }
    for arn in &input.log_group_arn_list {
        load_group(&name_from_identifier(arn))?;
    }
    if let Some(p) = &input.filter_pattern {
        crate::pattern::parse(p).map_err(|e| invalid(format!("Invalid filter pattern: {e}")))?;
    }
    let id = ids::uuid();
    let arn = ctx
        .arn("logs", &format!("anomaly-detector:{id}"))
        .to_string();
    let now = time::now_millis() as i64;
    let d = AnomalyDetector {
        anomaly_detector_arn: Some(arn.clone()),
        detector_name: input.detector_name,
        log_group_arn_list: Some(input.log_group_arn_list),
        evaluation_frequency: input.evaluation_frequency,
        filter_pattern: input.filter_pattern,
        anomaly_detector_status: Some(AnomalyDetectorStatus::Analyzing),
        kms_key_id: input.kms_key_id,
        creation_time_stamp: Some(now),
        last_modified_time_stamp: Some(now),
        anomaly_visibility_time: Some(input.anomaly_visibility_time.unwrap_or(21)),
    };
    DETECTORS.put(&id, &d)?;
    Ok(CreateLogAnomalyDetectorOutput {
        anomaly_detector_arn: Some(arn),
    })
}

pub fn get_log_anomaly_detector(
    _: &Context,
    input: GetLogAnomalyDetectorInput,
) -> Result<GetLogAnomalyDetectorOutput, AwsError> {
    let d = load_detector(&input.anomaly_detector_arn)?;
    Ok(GetLogAnomalyDetectorOutput {
        detector_name: d.detector_name,
        log_group_arn_list: d.log_group_arn_list,
        evaluation_frequency: d.evaluation_frequency,
        filter_pattern: d.filter_pattern,
        anomaly_detector_status: d.anomaly_detector_status,
        kms_key_id: d.kms_key_id,
        creation_time_stamp: d.creation_time_stamp,
        last_modified_time_stamp: d.last_modified_time_stamp,
        anomaly_visibility_time: d.anomaly_visibility_time,
    })
}

pub fn list_log_anomaly_detectors(
    _: &Context,
    input: ListLogAnomalyDetectorsInput,
) -> Result<ListLogAnomalyDetectorsOutput, AwsError> {
    let all: Vec<AnomalyDetector> = DETECTORS
        .values("")?
        .into_iter()
        .filter(|d| {
            input.filter_log_group_arn.as_ref().is_none_or(|g| {
                d.log_group_arn_list
                    .iter()
                    .flatten()
                    .any(|a| name_from_identifier(a) == name_from_identifier(g))
            })
        })
        .collect();
    let (page, next) = page_vec(
        all,
        input.next_token.as_deref(),
        input.limit.unwrap_or(50).clamp(1, 50) as u32,
    )?;
    Ok(ListLogAnomalyDetectorsOutput {
        anomaly_detectors: Some(page),
        next_token: next,
    })
}

pub fn update_log_anomaly_detector(
    _: &Context,
    input: UpdateLogAnomalyDetectorInput,
) -> Result<Empty, AwsError> {
    let mut d = load_detector(&input.anomaly_detector_arn)?;
    if let Some(p) = &input.filter_pattern {
        crate::pattern::parse(p).map_err(|e| invalid(format!("Invalid filter pattern: {e}")))?;
        d.filter_pattern = Some(p.clone());
    }
    if input.evaluation_frequency.is_some() {
        d.evaluation_frequency = input.evaluation_frequency;
    }
    if input.anomaly_visibility_time.is_some() {
        d.anomaly_visibility_time = input.anomaly_visibility_time;
    }
    d.anomaly_detector_status = Some(if input.enabled {
        AnomalyDetectorStatus::Analyzing
    } else {
        AnomalyDetectorStatus::Paused
    });
    d.last_modified_time_stamp = Some(time::now_millis() as i64);
    DETECTORS.put(detector_key(&input.anomaly_detector_arn), &d)?;
    Ok(Empty {})
}

pub fn delete_log_anomaly_detector(
    _: &Context,
    input: DeleteLogAnomalyDetectorInput,
) -> Result<Empty, AwsError> {
    if !DETECTORS.delete(detector_key(&input.anomaly_detector_arn)) {
        return Err(not_found("The anomaly detector does not exist."));
    }
    Ok(Empty {})
}

/// Detectors do not learn patterns locally: there are never anomalies.
pub fn list_anomalies(
    _: &Context,
    input: ListAnomaliesInput,
) -> Result<ListAnomaliesOutput, AwsError> {
    if let Some(arn) = &input.anomaly_detector_arn {
        load_detector(arn)?;
    }
    Ok(ListAnomaliesOutput {
        anomalies: Some(Vec::new()),
        next_token: None,
    })
}

pub fn update_anomaly(_: &Context, input: UpdateAnomalyInput) -> Result<Empty, AwsError> {
    load_detector(&input.anomaly_detector_arn)?;
    match (&input.anomaly_id, &input.pattern_id) {
        (None, None) => Err(invalid("Specify anomalyId or patternId.")),
        (Some(_), _) => Err(not_found("The anomaly does not exist.")),
        // A pattern-level suppression is accepted: no pattern ever matches.
        (None, Some(_)) => Ok(Empty {}),
    }
}

// ---- index policies and field indexes ----

/// Key: log group name.
pub const INDEX_POLICIES: Table<IndexPolicy> = Table::new("index-policies");

fn index_fields(doc: &str) -> Result<Vec<String>, AwsError> {
    let v: serde_json::Value = serde_json::from_str(doc)
        .map_err(|e| invalid(format!("The policy document is not valid JSON: {e}")))?;
    let fields = v
        .get("Fields")
        .and_then(|f| f.as_array())
        .ok_or_else(|| invalid("The index policy needs a Fields list."))?;
    let fields: Vec<String> = fields
        .iter()
        .map(|f| f.as_str().map(str::to_string))
        .collect::<Option<_>>()
        .ok_or_else(|| invalid("Fields holds field names (strings)."))?;
    if fields.len() > 20 {
        return Err(crate::limit_exceeded(
            "An index policy indexes at most 20 fields.",
        ));
    }
    Ok(fields)
}

pub fn put_index_policy(
    _: &Context,
    input: PutIndexPolicyInput,
) -> Result<PutIndexPolicyOutput, AwsError> {
    index_fields(&input.policy_document)?;
    let name = name_from_identifier(&input.log_group_identifier);
    load_group(&name)?;
    let p = IndexPolicy {
        log_group_identifier: Some(input.log_group_identifier),
        last_update_time: Some(time::now_millis() as i64),
        policy_document: Some(input.policy_document),
        policy_name: None,
        source: Some(IndexSource::LogGroup),
    };
    INDEX_POLICIES.put(&name, &p)?;
    Ok(PutIndexPolicyOutput {
        index_policy: Some(p),
    })
}

/// The policy of a group: its own, else the account's `FIELD_INDEX_POLICY`.
fn effective_policy(id: &str) -> Result<Option<IndexPolicy>, AwsError> {
    let name = name_from_identifier(id);
    load_group(&name)?;
    if let Some(p) = INDEX_POLICIES.get(&name)? {
        return Ok(Some(p));
    }
    let account = crate::policies::account_policies("FIELD_INDEX_POLICY")?;
    Ok(account.into_iter().next().map(|p| IndexPolicy {
        log_group_identifier: Some(id.to_string()),
        last_update_time: p.last_updated_time,
        policy_document: p.policy_document,
        policy_name: p.policy_name,
        source: Some(IndexSource::Account),
    }))
}

pub fn describe_index_policies(
    _: &Context,
    input: DescribeIndexPoliciesInput,
) -> Result<DescribeIndexPoliciesOutput, AwsError> {
    if input.log_group_identifiers.len() != 1 {
        return Err(invalid("logGroupIdentifiers names exactly one log group."));
    }
    let mut out = Vec::new();
    for id in &input.log_group_identifiers {
        out.extend(effective_policy(id)?);
    }
    Ok(DescribeIndexPoliciesOutput {
        index_policies: Some(out),
        next_token: None,
    })
}

pub fn delete_index_policy(_: &Context, input: DeleteIndexPolicyInput) -> Result<Empty, AwsError> {
    let name = name_from_identifier(&input.log_group_identifier);
    load_group(&name)?;
    if !INDEX_POLICIES.delete(&name) {
        return Err(not_found("The log group has no index policy."));
    }
    Ok(Empty {})
}

pub fn describe_field_indexes(
    _: &Context,
    input: DescribeFieldIndexesInput,
) -> Result<DescribeFieldIndexesOutput, AwsError> {
    if input.log_group_identifiers.is_empty() || input.log_group_identifiers.len() > 100 {
        return Err(invalid("logGroupIdentifiers names 1 to 100 log groups."));
    }
    let now = time::now_millis() as i64;
    let mut out = Vec::new();
    for id in &input.log_group_identifiers {
        let Some(p) = effective_policy(id)? else {
            continue;
        };
        for f in index_fields(p.policy_document.as_deref().unwrap_or("{}"))? {
            out.push(FieldIndex {
                log_group_identifier: Some(id.clone()),
                field_index_name: Some(f),
                last_scan_time: Some(now),
                r#type: Some(IndexType::FieldIndex),
                ..Default::default()
            });
        }
    }
    Ok(DescribeFieldIndexesOutput {
        field_indexes: Some(out),
        next_token: None,
    })
}

// ---- integrations ----

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct IntegrationRec {
    summary: IntegrationSummary,
    config: ResourceConfig,
}

/// Key: integration name.
const INTEGRATIONS: Table<IntegrationRec> = Table::new("integrations");

pub fn put_integration(
    _: &Context,
    input: PutIntegrationInput,
) -> Result<PutIntegrationOutput, AwsError> {
    if input.resource_config.open_search_resource_config.is_none() {
        return Err(validation("resourceConfig needs openSearchResourceConfig."));
    }
    if INTEGRATIONS.contains(&input.integration_name) {
        return Err(validation("An integration with this name already exists."));
    }
    let rec = IntegrationRec {
        summary: IntegrationSummary {
            integration_name: Some(input.integration_name.clone()),
            integration_type: Some(input.integration_type),
            integration_status: Some(IntegrationStatus::Active),
        },
        config: input.resource_config,
    };
    INTEGRATIONS.put(&input.integration_name, &rec)?;
    Ok(PutIntegrationOutput {
        integration_name: Some(input.integration_name),
        integration_status: Some(IntegrationStatus::Active),
    })
}

pub fn get_integration(
    _: &Context,
    input: GetIntegrationInput,
) -> Result<GetIntegrationOutput, AwsError> {
    let r = INTEGRATIONS
        .get(&input.integration_name)?
        .ok_or_else(|| not_found("The integration does not exist."))?;
    Ok(GetIntegrationOutput {
        integration_name: r.summary.integration_name,
        integration_type: r.summary.integration_type,
        integration_status: r.summary.integration_status,
        integration_details: None,
    })
}

pub fn list_integrations(
    _: &Context,
    input: ListIntegrationsInput,
) -> Result<ListIntegrationsOutput, AwsError> {
    let prefix = input.integration_name_prefix.unwrap_or_default();
    let out = INTEGRATIONS
        .values(&prefix)?
        .into_iter()
        .map(|r| r.summary)
        .filter(|s| {
            input
                .integration_type
                .as_ref()
                .is_none_or(|t| s.integration_type.as_ref() == Some(t))
                && input
                    .integration_status
                    .as_ref()
                    .is_none_or(|t| s.integration_status.as_ref() == Some(t))
        })
        .collect();
    Ok(ListIntegrationsOutput {
        integration_summaries: Some(out),
    })
}

pub fn delete_integration(_: &Context, input: DeleteIntegrationInput) -> Result<Empty, AwsError> {
    if !INTEGRATIONS.delete(&input.integration_name) {
        return Err(not_found("The integration does not exist."));
    }
    Ok(Empty {})
}

// ---- scheduled queries ----

/// Key: query name.
const SCHEDULED: Table<GetScheduledQueryOutput> = Table::new("scheduled-queries");

fn scheduled_name(identifier: &str) -> &str {
    identifier
        .rsplit_once(":scheduled-query:")
        .map_or(identifier, |(_, n)| n)
}

fn load_scheduled(identifier: &str) -> Result<GetScheduledQueryOutput, AwsError> {
    SCHEDULED
        .get(scheduled_name(identifier))?
        .ok_or_else(|| not_found("The scheduled query does not exist."))
}

fn check_schedule(expr: &str, language: &QueryLanguage, query: &str) -> Result<(), AwsError> {
    let ok = (expr.starts_with("cron(") || expr.starts_with("rate(")) && expr.ends_with(')');
    if !ok {
        return Err(validation(format!(
            "Invalid schedule expression: {expr} (cron(...) or rate(...))"
        )));
    }
    if *language == QueryLanguage::Cwli {
        crate::insights::parse_query(query)
            .map_err(|e| validation(format!("Invalid query: {e}")))?;
    }
    Ok(())
}

pub fn create_scheduled_query(
    ctx: &Context,
    input: CreateScheduledQueryInput,
) -> Result<CreateScheduledQueryOutput, AwsError> {
    check_schedule(
        &input.schedule_expression,
        &input.query_language,
        &input.query_string,
    )?;
    if SCHEDULED.contains(&input.name) {
        return Err(conflict("A scheduled query with this name already exists."));
    }
    let now = time::now_millis() as i64;
    let arn = ctx
        .arn("logs", &format!("scheduled-query:{}", input.name))
        .to_string();
    let state = input.state.unwrap_or(ScheduledQueryState::Enabled);
    let q = GetScheduledQueryOutput {
        scheduled_query_arn: Some(arn.clone()),
        name: Some(input.name.clone()),
        description: input.description,
        query_language: Some(input.query_language),
        query_string: Some(input.query_string),
        log_group_identifiers: input.log_group_identifiers,
        schedule_expression: Some(input.schedule_expression),
        timezone: input.timezone,
        start_time_offset: input.start_time_offset,
        destination_configuration: input.destination_configuration,
        state: Some(state.clone()),
        schedule_start_time: input.schedule_start_time,
        schedule_end_time: input.schedule_end_time,
        execution_role_arn: Some(input.execution_role_arn),
        creation_time: Some(now),
        last_updated_time: Some(now),
        ..Default::default()
    };
    SCHEDULED.put(&input.name, &q)?;
    Ok(CreateScheduledQueryOutput {
        scheduled_query_arn: Some(arn),
        state: Some(state),
    })
}

pub fn get_scheduled_query(
    _: &Context,
    input: GetScheduledQueryInput,
) -> Result<GetScheduledQueryOutput, AwsError> {
    load_scheduled(&input.identifier)
}

pub fn list_scheduled_queries(
    _: &Context,
    input: ListScheduledQueriesInput,
) -> Result<ListScheduledQueriesOutput, AwsError> {
    let all: Vec<ScheduledQuerySummary> = SCHEDULED
        .values("")?
        .into_iter()
        .filter(|q| {
            input
                .state
                .as_ref()
                .is_none_or(|s| q.state.as_ref() == Some(s))
        })
        .map(|q| ScheduledQuerySummary {
            scheduled_query_arn: q.scheduled_query_arn,
            name: q.name,
            state: q.state,
            last_triggered_time: q.last_triggered_time,
            last_execution_status: q.last_execution_status,
            schedule_expression: q.schedule_expression,
            timezone: q.timezone,
            destination_configuration: q.destination_configuration,
            creation_time: q.creation_time,
            last_updated_time: q.last_updated_time,
        })
        .collect();
    let (page, next) = page_vec(
        all,
        input.next_token.as_deref(),
        input.max_results.unwrap_or(1000).clamp(1, 1000) as u32,
    )?;
    Ok(ListScheduledQueriesOutput {
        scheduled_queries: Some(page),
        next_token: next,
    })
}

pub fn update_scheduled_query(
    _: &Context,
    input: UpdateScheduledQueryInput,
) -> Result<UpdateScheduledQueryOutput, AwsError> {
    let mut q = load_scheduled(&input.identifier)?;
    check_schedule(
        &input.schedule_expression,
        &input.query_language,
        &input.query_string,
    )?;
    q.description = input.description.or(q.description);
    q.query_language = Some(input.query_language);
    q.query_string = Some(input.query_string);
    q.log_group_identifiers = input.log_group_identifiers.or(q.log_group_identifiers);
    q.schedule_expression = Some(input.schedule_expression);
    q.timezone = input.timezone.or(q.timezone);
    q.start_time_offset = input.start_time_offset.or(q.start_time_offset);
    q.destination_configuration = input
        .destination_configuration
        .or(q.destination_configuration);
    q.schedule_start_time = input.schedule_start_time.or(q.schedule_start_time);
    q.schedule_end_time = input.schedule_end_time.or(q.schedule_end_time);
    q.execution_role_arn = Some(input.execution_role_arn);
    q.state = input.state.or(q.state);
    q.last_updated_time = Some(time::now_millis() as i64);
    SCHEDULED.put(scheduled_name(&input.identifier), &q)?;
    // The same members as GetScheduledQuery's output.
    serde_json::from_value(serde_json::to_value(&q).map_err(|e| AwsError::internal(e.to_string()))?)
        .map_err(|e| AwsError::internal(e.to_string()))
}

pub fn delete_scheduled_query(
    _: &Context,
    input: DeleteScheduledQueryInput,
) -> Result<Empty, AwsError> {
    if !SCHEDULED.delete(scheduled_name(&input.identifier)) {
        return Err(not_found("The scheduled query does not exist."));
    }
    Ok(Empty {})
}

/// Scheduled queries are stored, not run: the history is empty.
pub fn get_scheduled_query_history(
    _: &Context,
    input: GetScheduledQueryHistoryInput,
) -> Result<GetScheduledQueryHistoryOutput, AwsError> {
    let q = load_scheduled(&input.identifier)?;
    if input.end_time < input.start_time {
        return Err(validation("endTime must not be before startTime."));
    }
    Ok(GetScheduledQueryHistoryOutput {
        name: q.name,
        scheduled_query_arn: q.scheduled_query_arn,
        trigger_history: Some(Vec::new()),
        next_token: None,
    })
}

// ---- lookup tables ----

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct LookupRec {
    table: LookupTable,
    body: String,
}

/// Key: table name.
const LOOKUP_TABLES: Table<LookupRec> = Table::new("lookup-tables");

fn lookup_name(arn: &str) -> &str {
    arn.rsplit_once(":lookup-table:").map_or(arn, |(_, n)| n)
}

/// The CSV body's header fields and record count.
fn read_table(body: &str) -> Result<(Vec<String>, i64), AwsError> {
    let mut lines = body.lines().filter(|l| !l.trim().is_empty());
    let header = lines
        .next()
        .ok_or_else(|| invalid("The table body needs a CSV header line."))?;
    let fields: Vec<String> = header.split(',').map(|f| f.trim().to_string()).collect();
    if fields.iter().any(|f| f.is_empty()) {
        return Err(invalid("The CSV header has an empty field name."));
    }
    Ok((fields, lines.count() as i64))
}

pub fn create_lookup_table(
    ctx: &Context,
    input: CreateLookupTableInput,
) -> Result<CreateLookupTableOutput, AwsError> {
    if LOOKUP_TABLES.contains(&input.lookup_table_name) {
        return Err(exists("A lookup table with this name already exists."));
    }
    let (fields, count) = read_table(&input.table_body)?;
    let arn = ctx
        .arn("logs", &format!("lookup-table:{}", input.lookup_table_name))
        .to_string();
    let now = time::now_millis() as i64;
    let rec = LookupRec {
        table: LookupTable {
            lookup_table_arn: Some(arn.clone()),
            lookup_table_name: Some(input.lookup_table_name.clone()),
            description: input.description,
            table_fields: Some(fields),
            records_count: Some(count),
            size_bytes: Some(input.table_body.len() as i64),
            last_updated_time: Some(now),
            kms_key_id: input.kms_key_id,
        },
        body: input.table_body,
    };
    LOOKUP_TABLES.put(&input.lookup_table_name, &rec)?;
    Ok(CreateLookupTableOutput {
        lookup_table_arn: Some(arn),
        created_at: Some(now),
    })
}

fn load_lookup(arn: &str) -> Result<LookupRec, AwsError> {
    LOOKUP_TABLES
        .get(lookup_name(arn))?
        .ok_or_else(|| not_found("The lookup table does not exist."))
}

pub fn get_lookup_table(
    _: &Context,
    input: GetLookupTableInput,
) -> Result<GetLookupTableOutput, AwsError> {
    let r = load_lookup(&input.lookup_table_arn)?;
    Ok(GetLookupTableOutput {
        lookup_table_arn: r.table.lookup_table_arn,
        lookup_table_name: r.table.lookup_table_name,
        description: r.table.description,
        table_body: Some(r.body),
        size_bytes: r.table.size_bytes,
        last_updated_time: r.table.last_updated_time,
        kms_key_id: r.table.kms_key_id,
    })
}

pub fn describe_lookup_tables(
    _: &Context,
    input: DescribeLookupTablesInput,
) -> Result<DescribeLookupTablesOutput, AwsError> {
    let prefix = input.lookup_table_name_prefix.unwrap_or_default();
    let page = LOOKUP_TABLES.page(
        &Scan::prefix(prefix),
        input.next_token.as_deref(),
        input.max_results.unwrap_or(50).clamp(1, 100) as u32,
    )?;
    Ok(DescribeLookupTablesOutput {
        lookup_tables: Some(page.items.into_iter().map(|(_, r)| r.table).collect()),
        next_token: page.next_token,
    })
}

pub fn update_lookup_table(
    _: &Context,
    input: UpdateLookupTableInput,
) -> Result<UpdateLookupTableOutput, AwsError> {
    let mut r = load_lookup(&input.lookup_table_arn)?;
    let (fields, count) = read_table(&input.table_body)?;
    let now = time::now_millis() as i64;
    r.table.table_fields = Some(fields);
    r.table.records_count = Some(count);
    r.table.size_bytes = Some(input.table_body.len() as i64);
    r.table.last_updated_time = Some(now);
    if input.description.is_some() {
        r.table.description = input.description;
    }
    if input.kms_key_id.is_some() {
        r.table.kms_key_id = input.kms_key_id;
    }
    r.body = input.table_body;
    LOOKUP_TABLES.put(lookup_name(&input.lookup_table_arn), &r)?;
    Ok(UpdateLookupTableOutput {
        lookup_table_arn: r.table.lookup_table_arn,
        last_updated_time: Some(now),
    })
}

pub fn delete_lookup_table(_: &Context, input: DeleteLookupTableInput) -> Result<Empty, AwsError> {
    if !LOOKUP_TABLES.delete(lookup_name(&input.lookup_table_arn)) {
        return Err(not_found("The lookup table does not exist."));
    }
    Ok(Empty {})
}

// ---- things that do not exist locally ----

/// Imports read CloudTrail Lake event data stores, which ministack has not.
pub fn create_import_task(
    _: &Context,
    input: CreateImportTaskInput,
) -> Result<CreateImportTaskOutput, AwsError> {
    Err(not_found(&format!(
        "The import source {} does not exist.",
        input.import_source_arn
    )))
}

pub fn describe_import_tasks(
    _: &Context,
    input: DescribeImportTasksInput,
) -> Result<DescribeImportTasksOutput, AwsError> {
    if let Some(id) = input.import_id {
        return Err(not_found(&format!("The import task {id} does not exist.")));
    }
    Ok(DescribeImportTasksOutput {
        imports: Some(Vec::new()),
        next_token: None,
    })
}

pub fn describe_import_task_batches(
    _: &Context,
    input: DescribeImportTaskBatchesInput,
) -> Result<DescribeImportTaskBatchesOutput, AwsError> {
    Err(not_found(&format!(
        "The import task {} does not exist.",
        input.import_id
    )))
}

pub fn cancel_import_task(
    _: &Context,
    input: CancelImportTaskInput,
) -> Result<CancelImportTaskOutput, AwsError> {
    Err(not_found(&format!(
        "The import task {} does not exist.",
        input.import_id
    )))
}

fn no_s3_table_integration(arn: &str) -> AwsError {
    not_found(&format!("The S3 Tables integration {arn} does not exist."))
}

pub fn associate_source_to_s3_table_integration(
    _: &Context,
    input: AssociateSourceToS3TableIntegrationInput,
) -> Result<AssociateSourceToS3TableIntegrationOutput, AwsError> {
    Err(no_s3_table_integration(&input.integration_arn))
}

pub fn disassociate_source_from_s3_table_integration(
    _: &Context,
    input: DisassociateSourceFromS3TableIntegrationInput,
) -> Result<DisassociateSourceFromS3TableIntegrationOutput, AwsError> {
    Err(not_found(&format!(
        "The S3 Tables integration source {} does not exist.",
        input.identifier
    )))
}

pub fn list_sources_for_s3_table_integration(
    _: &Context,
    input: ListSourcesForS3TableIntegrationInput,
) -> Result<ListSourcesForS3TableIntegrationOutput, AwsError> {
    Err(no_s3_table_integration(&input.integration_arn))
}

/// Data sources are what AWS services' vended logs are classified as;
/// local log groups have none.
pub fn get_log_fields(
    _: &Context,
    input: GetLogFieldsInput,
) -> Result<GetLogFieldsOutput, AwsError> {
    Err(not_found(&format!(
        "The data source {}/{} does not exist.",
        input.data_source_name, input.data_source_type
    )))
}

pub fn list_aggregate_log_group_summaries(
    _: &Context,
    _input: ListAggregateLogGroupSummariesInput,
) -> Result<ListAggregateLogGroupSummariesOutput, AwsError> {
    Ok(ListAggregateLogGroupSummariesOutput {
        aggregate_log_group_summaries: Some(Vec::new()),
        next_token: None,
    })
}

pub fn put_bearer_token_authentication(
    _: &Context,
    input: PutBearerTokenAuthenticationInput,
) -> Result<Empty, AwsError> {
    let name = name_from_identifier(&input.log_group_identifier);
    let mut g = load_group(&name)?;
    g.info.bearer_token_authentication_enabled = Some(input.bearer_token_authentication_enabled);
    GROUPS.put(&name, &g)?;
    Ok(Empty {})
}

pub fn list_log_groups_for_query(
    ctx: &Context,
    input: ListLogGroupsForQueryInput,
) -> Result<ListLogGroupsForQueryOutput, AwsError> {
    let q = crate::queries::QUERIES
        .get(&input.query_id)?
        .ok_or_else(|| not_found("The query does not exist."))?;
    let arns = q
        .groups
        .iter()
        .map(|g| crate::groups::group_arn(ctx, g))
        .collect();
    let (page, next) = page_vec(
        arns,
        input.next_token.as_deref(),
        input.max_results.unwrap_or(500).clamp(1, 500) as u32,
    )?;
    Ok(ListLogGroupsForQueryOutput {
        log_group_identifiers: Some(page),
        next_token: next,
    })
}

#[derive(Serialize)]
pub struct GetLogObjectOut {
    #[serde(rename = "fieldStream")]
    field_stream: EventStream,
}

/// The record a pointer (an Insights `@ptr`) names, streamed as one
/// `fields` event holding its JSON.
pub fn get_log_object(
    ctx: &Context,
    input: GetLogObjectInput,
) -> Result<GetLogObjectOut, AwsError> {
    let record = crate::policies::get_log_record(
        ctx,
        GetLogRecordInput {
            log_record_pointer: input.log_object_pointer,
            unmask: input.unmask,
        },
    )?
    .log_record
    .unwrap_or_default();
    let data = json!(record).to_string();
    let stream = EventStream::open();
    stream.send(
        "fields",
        &json!({"data": encoding::base64_encode(data.as_bytes())}),
    );
    stream.clone().close();
    Ok(GetLogObjectOut {
        field_stream: stream,
    })
}
