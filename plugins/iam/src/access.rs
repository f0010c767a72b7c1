//! Access Advisor: GenerateServiceLastAccessedDetails and the reports it
//! makes. The gateway does not track which services an entity called, so a
//! report lists the services the entity's policies allow, none of them
//! accessed (no LastAuthenticated), as AWS reports a new entity.

use ministack_sdk::prelude::*;
use ministack_sdk::{ids, time};
use serde_json::{Value, json};

use crate::common::*;
use crate::entities;
use crate::eval::{self, Policy};
use crate::simulate;

const JOBS: Table<Job> = Table::account("access-advisor-jobs");

/// Namespaces a `*` action stands for in a report.
const COMMON_SERVICES: &[&str] = &[
    "cloudformation",
    "cloudwatch",
    "dynamodb",
    "ec2",
    "ecr",
    "ecs",
    "events",
    "iam",
    "kms",
    "lambda",
    "logs",
    "s3",
    "secretsmanager",
    "sns",
    "sqs",
    "ssm",
    "states",
    "sts",
];

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Job {
    pub id: String,
    pub arn: String,
    pub granularity: String,
    pub created: f64,
    pub services: Vec<String>,
    /// Entities for GetServiceLastAccessedDetailsWithEntities.
    pub entities: Vec<Value>,
}

fn namespaces(policies: &[Policy]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in policies {
        for s in &p.statements {
            if s.effect != eval::Effect::Allow {
                continue;
            }
            for a in &s.actions {
                let ns = a.split(':').next().unwrap_or_default().to_lowercase();
                let list: Vec<String> = if ns.contains('*') || s.not_action {
                    COMMON_SERVICES
                        .iter()
                        .filter(|c| eval::glob(&ns, c, true) || s.not_action)
                        .map(|c| c.to_string())
                        .collect()
                } else {
                    vec![ns]
                };
                for n in list {
                    if !out.contains(&n) {
                        out.push(n);
                    }
                }
            }
        }
    }
    out.sort();
    out
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateRequest {
    arn: String,
    #[serde(default)]
    granularity: Option<String>,
}

pub fn generate_service_last_accessed_details(
    ctx: &Context,
    input: GenerateRequest,
) -> Result<Value, AwsError> {
    let (policies, entities_list) = if input.arn.contains(":policy/") {
        let p = entities::policy(ctx, &input.arn)?;
        let statements =
            eval::parse(p.default_document(), eval::PolicyKind::Identity).unwrap_or_default();
        let usage = entities::usage(&p.arn)?;
        let mut list = Vec::new();
        for u in &usage.users {
            list.push(json!({"EntityInfo": {"Arn": u.arn, "Name": u.name, "Type": "USER", "Id": u.id, "Path": u.path}}));
        }
        for g in &usage.groups {
            list.push(json!({"EntityInfo": {"Arn": g.arn, "Name": g.name, "Type": "GROUP", "Id": g.id, "Path": g.path}}));
        }
        for r in &usage.roles {
            list.push(json!({"EntityInfo": {"Arn": r.arn, "Name": r.name, "Type": "ROLE", "Id": r.id, "Path": r.path}}));
        }
        let policy = Policy {
            id: p.arn.clone(),
            owner: String::new(),
            kind: "managed".into(),
            document: String::new(),
            statements,
        };
        (vec![policy], list)
    } else {
        let (policies, _, _) = simulate::principal_policies(ctx, &input.arn)?;
        let mut list = Vec::new();
        if input.arn.contains(":group/") {
            let g = entities::group(input.arn.rsplit('/').next().unwrap_or_default())?;
            for u in crate::users::members(&g.name)? {
                list.push(json!({"EntityInfo": {"Arn": u.arn, "Name": u.name, "Type": "USER", "Id": u.id, "Path": u.path}}));
            }
        }
        (policies, list)
    };
    let job = Job {
        id: ids::uuid(),
        arn: input.arn,
        granularity: input.granularity.unwrap_or_else(|| "SERVICE_LEVEL".into()),
        created: time::now(),
        services: namespaces(&policies),
        entities: entities_list,
    };
    JOBS.put(&job.id, &job)?;
    Ok(json!({"JobId": job.id}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct JobRequest {
    job_id: String,
    #[serde(default)]
    service_namespace: Option<String>,
    #[serde(default)]
    marker: Option<String>,
    #[serde(default)]
    max_items: Option<i64>,
}

fn job(id: &str) -> Result<Job, AwsError> {
    JOBS.get(id)?
        .ok_or_else(|| no_such_entity(format!("The job with id {id} cannot be found.")))
}

pub fn get_service_last_accessed_details(
    _: &Context,
    input: JobRequest,
) -> Result<Value, AwsError> {
    let job = job(&input.job_id)?;
    let items = job
        .services
        .iter()
        .map(|s| {
            let mut v =
                json!({"ServiceName": s, "ServiceNamespace": s, "TotalAuthenticatedEntities": 0});
            if job.granularity == "ACTION_LEVEL" {
                v["TrackedActionsLastAccessed"] = json!([]);
            }
            (s.clone(), v)
        })
        .collect();
    let mut out =
        page(items, input.marker.as_deref(), input.max_items)?.into_json("ServicesLastAccessed");
    out["JobStatus"] = json!("COMPLETED");
    out["JobType"] = json!(job.granularity);
    out["JobCreationDate"] = json!(job.created);
    out["JobCompletionDate"] = json!(job.created);
    Ok(out)
}

pub fn get_service_last_accessed_details_with_entities(
    _: &Context,
    input: JobRequest,
) -> Result<Value, AwsError> {
    let job = job(&input.job_id)?;
    let ns = input.service_namespace.unwrap_or_default();
    let entities = if job.services.contains(&ns) {
        job.entities.clone()
    } else {
        Vec::new()
    };
    let items = entities
        .into_iter()
        .enumerate()
        .map(|(i, e)| (format!("{i:08}"), e))
        .collect();
    let mut out =
        page(items, input.marker.as_deref(), input.max_items)?.into_json("EntityDetailsList");
    out["JobStatus"] = json!("COMPLETED");
    out["JobCreationDate"] = json!(job.created);
    out["JobCompletionDate"] = json!(job.created);
    Ok(out)
}
