//! Executions: start (asynchronous and synchronous), describe, stop, list,
//! history, redrive; task tokens and activities; the durable tasks that
//! drive STANDARD executions; and the world the interpreter acts on.

use std::collections::BTreeMap;
use std::time::Duration;

use ministack_sdk::prelude::*;
use ministack_sdk::services::{self, Target};
use ministack_sdk::store::keys;
use ministack_sdk::{ids, metrics, tasks, time};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::integrations;
use crate::interp::{
    Checkpoint, Effects, History, Pause, Resume, Runner, StateError, Stop, TokenWait,
};
use crate::machines::{self, MACHINES, Machine};
use crate::shapes::*;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Execution {
    pub arn: String,
    pub machine_arn: String,
    pub name: String,
    pub status: String,
    pub input: String,
    #[serde(default)]
    pub output: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub cause: Option<String>,
    pub start: f64,
    #[serde(default)]
    pub stop: Option<f64>,
    pub definition: String,
    pub role_arn: String,
    #[serde(default)]
    pub version_arn: Option<String>,
    #[serde(default)]
    pub alias_arn: Option<String>,
    #[serde(default)]
    pub history: Vec<Value>,
    #[serde(default)]
    pub checkpoint: Option<Checkpoint>,
    /// Where it failed (state, raw input, variables), for a redrive.
    #[serde(default)]
    pub failed_at: Option<Checkpoint>,
    #[serde(default)]
    pub test_case: Option<String>,
    #[serde(default)]
    pub mock_counts: BTreeMap<String, u32>,
    #[serde(default)]
    pub redrive_count: i32,
    #[serde(default)]
    pub redrive_date: Option<f64>,
    /// The machine's logging configuration when it logs (level not OFF).
    #[serde(default)]
    pub logging: Option<LoggingConfiguration>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenRec {
    pub exec_arn: String,
    pub state: String,
    pub done: Option<Result<Value, StateError>>,
    pub activity: Option<String>,
    pub input: Value,
    pub created_ms: u64,
    pub last_beat_ms: u64,
    pub timeout_ms: Option<u64>,
    pub heartbeat_ms: Option<u64>,
    pub suspended: bool,
    #[serde(default)]
    pub started: bool,
}

pub const EXECUTIONS: Table<Execution> = Table::new("executions");
pub const TOKENS: Table<TokenRec> = Table::new("tokens");
/// Activity tasks waiting for a worker: key activity ARN + sequence.
const ACTIVITY_QUEUE: Table<String> = Table::new("activity_queue");

pub const RUN: &str = "run";
pub const RESUME: &str = "resume";
pub const WAKE: &str = "wake";
pub const TIMEOUT: &str = "timeout";
pub const EXPRESS: &str = "express";
pub const EXEC_TIMEOUT: &str = "execution-timeout";
pub const SWEEP: &str = "sweep";

#[derive(Debug, Serialize, Deserialize)]
pub struct ExecRef {
    pub arn: String,
    #[serde(default)]
    pub token: Option<String>,
    #[serde(default)]
    pub due_ms: Option<u64>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ExpressRun {
    pub exec: Execution,
}

fn no_execution(arn: &str) -> AwsError {
    ExecutionDoesNotExist::new(format!("Execution Does Not Exist: '{arn}'")).into()
}

fn wait_scale(ctx: &Context) -> f64 {
    ctx.setting("SFN_WAIT_SCALE")
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|s| *s >= 0.0)
        .unwrap_or(1.0)
}

/// The world of one execution.
pub struct World<'c> {
    pub ctx: &'c Context,
    pub exec_arn: String,
    pub stored: bool,
    pub test_case: Option<String>,
    pub machine_name: String,
    pub mock_counts: BTreeMap<String, u32>,
    mock_config: Option<Value>,
}

impl<'c> World<'c> {
    pub fn new(ctx: &'c Context, exec: &Execution, stored: bool) -> Self {
        let mock_config = exec.test_case.as_ref().and_then(|_| {
            ctx.setting("SFN_MOCK_CONFIG:content")
                .and_then(|t| serde_json::from_str(t).ok())
        });
        World {
            ctx,
            exec_arn: exec.arn.clone(),
            stored,
            test_case: exec.test_case.clone(),
            machine_name: exec
                .machine_arn
                .rsplit(':')
                .next()
                .unwrap_or_default()
                .to_string(),
            mock_counts: exec.mock_counts.clone(),
            mock_config,
        }
    }
}

impl Effects for World<'_> {
    fn invoke(
        &mut self,
        resource: &str,
        params: &Value,
        _state: &str,
    ) -> Result<Value, StateError> {
        integrations::invoke(self.ctx, resource, params)
    }

    fn new_token(&mut self, _state: &str) -> String {
        // Opaque, long like AWS's (which are ~600 characters of base64).
        ministack_sdk::encoding::base64_encode(
            format!("{}#{}", self.exec_arn, ids::uuid()).as_bytes(),
        )
    }

    fn register_wait(&mut self, w: &TokenWait, suspending: bool) -> Result<(), StateError> {
        let now = time::now_millis();
        let rec = TokenRec {
            exec_arn: self.exec_arn.clone(),
            state: String::new(),
            done: None,
            activity: w.activity.clone(),
            input: w.input.clone(),
            created_ms: now,
            last_beat_ms: now,
            timeout_ms: w.timeout_secs.map(|s| (s * 1000.0) as u64),
            heartbeat_ms: w.heartbeat_secs.map(|s| (s * 1000.0) as u64),
            suspended: suspending,
            started: false,
        };
        let internal = |e: AwsError| StateError::new("States.Runtime", e.message);
        TOKENS.put(&w.token, &rec).map_err(internal)?;
        if let Some(a) = &w.activity {
            let key = keys::join(&[a, &keys::u64(now), &ids::hex(8)]);
            ACTIVITY_QUEUE.put(&key, &w.token).map_err(internal)?;
            tasks::notify(&format!("activity:{a}"));
        }
        if suspending {
            for ms in [rec.timeout_ms, rec.heartbeat_ms].into_iter().flatten() {
                tasks::schedule(
                    Duration::from_millis(ms),
                    TIMEOUT,
                    &ExecRef {
                        arn: self.exec_arn.clone(),
                        token: Some(w.token.clone()),
                        due_ms: None,
                    },
                )
                .map_err(internal)?;
            }
        }
        Ok(())
    }

    fn block_on_token(&mut self, w: &TokenWait) -> Result<Value, StateError> {
        let topic = format!("token:{}", w.token);
        loop {
            let rec = TOKENS
                .get(&w.token)
                .map_err(|e| StateError::new("States.Runtime", e.message))?
                .ok_or_else(|| StateError::new("States.Runtime", "the task token vanished"))?;
            if let Some(done) = rec.done {
                TOKENS.delete(&w.token);
                return done;
            }
            let now = time::now_millis();
            let left = remaining(&rec, now);
            match left {
                Some((0, e)) => {
                    TOKENS.delete(&w.token);
                    return Err(StateError::new(e, "The task timed out"));
                }
                Some((ms, _)) => {
                    tasks::wait(&topic, Duration::from_millis(ms.min(60_000)));
                }
                None => {
                    tasks::wait(&topic, Duration::from_secs(60));
                }
            }
            if self.stored && aborted(&self.exec_arn) {
                return Err(StateError::new("States.Runtime", "aborted"));
            }
        }
    }

    fn sleep(&mut self, secs: f64) {
        let topic = format!("sleep:{}", ids::uuid());
        tasks::wait(&topic, Duration::from_secs_f64(secs.min(86_400.0 * 365.0)));
    }

    fn now(&self) -> f64 {
        time::now()
    }

    fn mock(&mut self, state: &str) -> Option<Result<Value, StateError>> {
        let cfg = self.mock_config.as_ref()?;
        let case = self.test_case.as_ref()?;
        let response_name = cfg
            .pointer(&format!(
                "/StateMachines/{}/TestCases/{case}/{state}",
                self.machine_name
            ))?
            .as_str()?;
        let responses = cfg
            .get("MockedResponses")?
            .get(response_name)?
            .as_object()?;
        let n = self.mock_counts.entry(state.to_string()).or_insert(0);
        let attempt = *n;
        *n += 1;
        for (range, r) in responses {
            let (a, b) = match range.split_once('-') {
                Some((a, b)) => (a.parse::<u32>().ok()?, b.parse::<u32>().ok()?),
                None => {
                    let x = range.parse::<u32>().ok()?;
                    (x, x)
                }
            };
            if (a..=b).contains(&attempt) {
                if let Some(ret) = r.get("Return") {
                    return Some(Ok(ret.clone()));
                }
                if let Some(t) = r.get("Throw") {
                    return Some(Err(StateError::new(
                        t.get("Error")
                            .and_then(Value::as_str)
                            .unwrap_or("States.TaskFailed"),
                        t.get("Cause").and_then(Value::as_str).unwrap_or_default(),
                    )));
                }
            }
        }
        None
    }

    fn aborted(&mut self) -> bool {
        self.stored && aborted(&self.exec_arn)
    }

    fn read_s3(&mut self, bucket: &str, key: &str) -> Result<String, StateError> {
        integrations::read_s3(self.ctx, bucket, key)
    }

    fn write_s3(&mut self, bucket: &str, key: &str, body: &[u8]) -> Result<(), StateError> {
        integrations::write_s3(self.ctx, bucket, key, body)
    }

    fn list_s3(&mut self, params: &Value) -> Result<Vec<Value>, StateError> {
        integrations::list_s3(self.ctx, params)
    }
}

fn aborted(arn: &str) -> bool {
    EXECUTIONS
        .get(arn)
        .ok()
        .flatten()
        .is_some_and(|e| e.status != "RUNNING")
}

/// Milliseconds left before the token times out, and which timeout.
fn remaining(rec: &TokenRec, now: u64) -> Option<(u64, &'static str)> {
    let mut best: Option<(u64, &'static str)> = None;
    if let Some(t) = rec.timeout_ms {
        best = Some(((rec.created_ms + t).saturating_sub(now), "States.Timeout"));
    }
    if let Some(h) = rec.heartbeat_ms {
        let left = (rec.last_beat_ms + h).saturating_sub(now);
        if best.is_none_or(|b| left < b.0) {
            best = Some((left, "States.HeartbeatTimeout"));
        }
    }
    best
}

/// The context object (`$$`). The execution's input is in it only when the
/// definition mentions `Execution.Input`: every state clones the context,
/// and a Map over a large input would copy that input once per item.
fn context_object(exec: &Execution) -> Value {
    let machine_name = exec.machine_arn.rsplit(':').next().unwrap_or_default();
    let input = if exec.definition.contains("Execution.Input") {
        serde_json::from_str::<Value>(&exec.input).unwrap_or(Value::Null)
    } else {
        Value::Null
    };
    json!({
        "Execution": {
            "Id": exec.arn,
            "Input": input,
            "Name": exec.name,
            "RoleArn": exec.role_arn,
            "StartTime": time::iso8601_millis(exec.start),
            "RedriveCount": exec.redrive_count,
        },
        "StateMachine": {"Id": exec.machine_arn, "Name": machine_name},
    })
}

/// Runs an execution (from its start, or a checkpoint with `resume`);
/// stores the outcome when `durable`.
pub fn drive(
    ctx: &Context,
    mut exec: Execution,
    resume: Option<Resume>,
    durable: bool,
) -> Result<Execution, AwsError> {
    let def: Value =
        serde_json::from_str(&exec.definition).map_err(|e| AwsError::internal(e.to_string()))?;
    let input: Value = serde_json::from_str(&exec.input).unwrap_or(json!({}));
    let mut world = World::new(ctx, &exec, durable);
    let history = History {
        enabled: durable || exec.logging.is_some(),
        events: std::mem::take(&mut exec.history),
        transitions: 0,
    };
    let checkpoint = exec.checkpoint.take();
    let vars = checkpoint
        .as_ref()
        .map(|c| c.vars.clone())
        .unwrap_or_default();
    let mut runner = Runner {
        fx: &mut world,
        history,
        context: context_object(&exec),
        wait_scale: wait_scale(ctx),
        durable,
        vars,
        last: None,
    };
    let result = match (checkpoint, resume) {
        (Some(cp), Some(r)) => {
            let state = cp.state.clone();
            let input = cp.input.clone();
            runner.run(&def, Some(&state), input, true, Some((r, cp)))
        }
        (Some(cp), None) => {
            // A step (or a redrive): run the checkpoint's state afresh.
            let state = cp.state.clone();
            let input = cp.input.clone();
            runner.run(&def, Some(&state), input, true, Some((Resume::Step, cp)))
        }
        (None, _) => runner.run(&def, None, input, true, None),
    };
    let last = runner.last.take();
    let vars = runner.vars.clone();
    let mut history = std::mem::take(&mut runner.history);
    let counts = std::mem::take(&mut world.mock_counts);
    exec.mock_counts = counts;
    let now = time::now();
    match result {
        Ok(out) => {
            history.push(
                now,
                "ExecutionSucceeded",
                Some((
                    "executionSucceededEventDetails",
                    json!({"output": out.to_string()}),
                )),
            );
            exec.status = "SUCCEEDED".into();
            exec.output = Some(out.to_string());
            exec.stop = Some(now);
        }
        Err(Stop::Fail(e)) => {
            history.push(
                now,
                "ExecutionFailed",
                Some((
                    "executionFailedEventDetails",
                    json!({"error": e.error, "cause": e.cause}),
                )),
            );
            exec.status = "FAILED".into();
            exec.error = Some(e.error);
            exec.cause = Some(e.cause);
            exec.stop = Some(now);
            exec.failed_at = last.map(|(state, input)| Checkpoint {
                state,
                input,
                kind: Pause::Step,
                attempts: vec![],
                vars,
            });
        }
        Err(Stop::Suspend(cp)) => {
            if cp.kind == Pause::Step {
                tasks::schedule(
                    Duration::ZERO,
                    RUN,
                    &ExecRef {
                        arn: exec.arn.clone(),
                        token: None,
                        due_ms: Some(0),
                    },
                )?;
            }
            if let Pause::Wait { due_ms } = cp.kind {
                let after = due_ms.saturating_sub(time::now_millis());
                tasks::schedule(
                    Duration::from_millis(after),
                    WAKE,
                    &ExecRef {
                        arn: exec.arn.clone(),
                        token: None,
                        due_ms: Some(due_ms),
                    },
                )?;
            }
            exec.checkpoint = Some(*cp);
        }
        Err(Stop::Aborted) => {
            // StopExecution wrote the outcome: keep it.
            if let Some(cur) = EXECUTIONS.get(&exec.arn)? {
                return Ok(cur);
            }
        }
    }
    if exec.status != "RUNNING"
        && let Some(l) = &exec.logging
    {
        write_logs(&exec, l, &history.events);
    }
    exec.history = if durable { history.events } else { Vec::new() };
    if durable {
        // StopExecution may have landed meanwhile: it wins.
        if let Some(cur) = EXECUTIONS.get(&exec.arn)?
            && cur.status != "RUNNING"
        {
            return Ok(cur);
        }
        EXECUTIONS.put(&exec.arn, &exec)?;
        if exec.status != "RUNNING" {
            tasks::notify(&format!("execution:{}", exec.arn));
            status_event(ctx, &exec);
        }
    }
    Ok(exec)
}

/// "Step Functions Execution Status Change" to the default event bus
/// (ignored when there is no events plugin).
pub fn status_event(ctx: &Context, exec: &Execution) {
    execution_metrics(exec);
    let detail = json!({
        "executionArn": exec.arn,
        "stateMachineArn": exec.machine_arn,
        "name": exec.name,
        "status": exec.status,
        "startDate": (exec.start * 1000.0) as i64,
        "stopDate": exec.stop.map(|s| (s * 1000.0) as i64),
        "input": exec.input,
        "output": exec.output,
        "error": exec.error,
        "cause": exec.cause,
    });
    let entry = json!({"Entries": [{
        "Source": "aws.states",
        "DetailType": "Step Functions Execution Status Change",
        "Detail": detail.to_string(),
        "Resources": [exec.arn],
    }]});
    let _ = services::call_json(&Target::new("events", ctx), "PutEvents", &entry.to_string());
}

/// AWS/States execution metrics per `StateMachineArn` (batched by
/// ministack_sdk::metrics): the count of the status reached and, for a
/// finished execution, `ExecutionTime` in milliseconds.
fn execution_metrics(exec: &Execution) {
    let name = match exec.status.as_str() {
        "RUNNING" => "ExecutionsStarted",
        "SUCCEEDED" => "ExecutionsSucceeded",
        "FAILED" => "ExecutionsFailed",
        "ABORTED" => "ExecutionsAborted",
        "TIMED_OUT" => "ExecutionsTimedOut",
        _ => return,
    };
    let dims = [("StateMachineArn", exec.machine_arn.as_str())];
    let mut data = vec![metrics::Datum::count("AWS/States", name, &dims)];
    if let Some(stop) = exec.stop {
        data.push(metrics::Datum {
            value: ((stop - exec.start) * 1000.0).max(0.0),
            unit: "Milliseconds",
            ..metrics::Datum::count("AWS/States", "ExecutionTime", &dims)
        });
    }
    if let Err(e) = metrics::emit(&data) {
        ministack_sdk::warn!("execution metrics not recorded: {}", e.message);
    }
}

fn new_execution(
    ctx: &Context,
    sm_arn: &str,
    name: Option<String>,
    input: Option<String>,
) -> Result<(Execution, Machine), AwsError> {
    let (arn_part, test_case) = match sm_arn.split_once('#') {
        Some((a, t)) => (a, Some(t.to_string())),
        None => (sm_arn, None),
    };
    let (machine, alias) = machines::resolve(arn_part)?;
    let input = input.unwrap_or_else(|| "{}".into());
    if serde_json::from_str::<Value>(&input).is_err() {
        return Err(InvalidExecutionInput::new(format!(
            "Invalid State Machine Execution Input: '{input}'"
        ))
        .into());
    }
    let name = name.unwrap_or_else(ids::uuid);
    if name.is_empty()
        || name.len() > 80
        || name
            .chars()
            .any(|c| c.is_whitespace() || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(c))
    {
        return Err(InvalidName::new(format!("Invalid Name: '{name}'")).into());
    }
    let base = machine
        .version_of
        .clone()
        .unwrap_or_else(|| machine.arn.clone());
    let sm_name = base.rsplit(':').next().unwrap_or_default();
    let kind = if machine.kind == "EXPRESS" {
        "express"
    } else {
        "execution"
    };
    let arn = ctx
        .arn("states", &format!("{kind}:{sm_name}:{name}"))
        .to_string();
    let exec = Execution {
        arn,
        machine_arn: base,
        name,
        status: "RUNNING".into(),
        input,
        output: None,
        error: None,
        cause: None,
        start: time::now(),
        stop: None,
        definition: machine.definition.clone(),
        role_arn: machine.role_arn.clone(),
        version_arn: machine.version_of.as_ref().map(|_| machine.arn.clone()),
        alias_arn: alias,
        history: vec![],
        checkpoint: None,
        failed_at: None,
        test_case,
        mock_counts: BTreeMap::new(),
        redrive_count: 0,
        redrive_date: None,
        logging: machine
            .logging
            .clone()
            .filter(|l| l.level.as_ref().is_some_and(|v| v.as_str() != "OFF")),
    };
    Ok((exec, machine))
}

pub fn start_execution(
    ctx: &Context,
    input: StartExecutionInput,
) -> Result<StartExecutionOutput, AwsError> {
    let (mut exec, machine) =
        new_execution(ctx, &input.state_machine_arn, input.name, input.input)?;
    if machine.kind == "EXPRESS" {
        tasks::schedule(Duration::ZERO, EXPRESS, &ExpressRun { exec: exec.clone() })?;
        return Ok(StartExecutionOutput {
            execution_arn: exec.arn,
            start_date: exec.start,
        });
    }
    if let Some(old) = EXECUTIONS.get(&exec.arn)? {
        if old.status == "RUNNING" && old.input == exec.input {
            return Ok(StartExecutionOutput {
                execution_arn: old.arn,
                start_date: old.start,
            });
        }
        return Err(ExecutionAlreadyExists::new(format!(
            "Execution Already Exists: '{}'",
            exec.arn
        ))
        .into());
    }
    exec.history.push(json!({
        "timestamp": exec.start, "type": "ExecutionStarted", "id": 1, "previousEventId": 0,
        "executionStartedEventDetails": {"input": exec.input, "inputDetails": {"truncated": false}, "roleArn": exec.role_arn},
    }));
    EXECUTIONS.put(&exec.arn, &exec)?;
    tasks::schedule(
        Duration::ZERO,
        RUN,
        &ExecRef {
            arn: exec.arn.clone(),
            token: None,
            due_ms: None,
        },
    )?;
    // The machine's TimeoutSeconds (scaled like every wait).
    let def: Value = serde_json::from_str(&exec.definition).unwrap_or(Value::Null);
    if let Some(t) = def.get("TimeoutSeconds").and_then(Value::as_f64) {
        tasks::schedule(
            Duration::from_secs_f64((t * wait_scale(ctx)).max(0.0)),
            EXEC_TIMEOUT,
            &ExecRef {
                arn: exec.arn.clone(),
                token: None,
                due_ms: None,
            },
        )?;
    }
    let out = StartExecutionOutput {
        execution_arn: exec.arn.clone(),
        start_date: exec.start,
    };
    status_event(ctx, &exec);
    Ok(out)
}

/// The machine's TimeoutSeconds passed: TIMED_OUT if still running.
pub fn exec_timeout_task(ctx: &Context, r: ExecRef) -> Result<(), AwsError> {
    let Some(mut e) = EXECUTIONS.get(&r.arn)? else {
        return Ok(());
    };
    if e.status != "RUNNING" {
        return Ok(());
    }
    let now = time::now();
    e.status = "TIMED_OUT".into();
    e.stop = Some(now);
    e.error = Some("States.Timeout".into());
    e.cause = Some("The execution timed out".into());
    let id = e.history.len() as u64 + 1;
    e.history.push(json!({"timestamp": now, "type": "ExecutionTimedOut", "id": id, "previousEventId": id - 1,
        "executionTimedOutEventDetails": {"error": "States.Timeout", "cause": "The execution timed out"}}));
    if let Some(Checkpoint {
        kind: Pause::Token { token },
        ..
    }) = &e.checkpoint
    {
        TOKENS.delete(token);
    }
    e.failed_at = e.checkpoint.take();
    EXECUTIONS.put(&e.arn, &e)?;
    tasks::notify(&format!("execution:{}", e.arn));
    status_event(ctx, &e);
    Ok(())
}

/// The boot hook: executions left RUNNING with nothing scheduled to move
/// them (a crash after a unit of their run task committed) run again from
/// their last checkpoint, or from the start.
pub fn on_start(_: &Context, _: ()) -> Result<(), AwsError> {
    let pending: Vec<String> = tasks::list("")
        .into_iter()
        .filter_map(|t| {
            serde_json::from_str::<ExecRef>(&t.payload)
                .ok()
                .map(|r| r.arn)
        })
        .collect();
    for (account, region) in tasks::contexts(EXECUTIONS.name()) {
        tasks::schedule_in(&account, &region, Duration::ZERO, SWEEP, &pending)?;
    }
    Ok(())
}

/// One account and region of the boot sweep.
pub fn sweep_task(_: &Context, pending: Vec<String>) -> Result<(), AwsError> {
    for e in EXECUTIONS.values("")? {
        if e.status != "RUNNING" || pending.contains(&e.arn) {
            continue;
        }
        let r = match &e.checkpoint {
            None => ExecRef {
                arn: e.arn.clone(),
                token: None,
                due_ms: None,
            },
            Some(Checkpoint {
                kind: Pause::Wait { due_ms },
                ..
            }) => {
                let after = due_ms.saturating_sub(time::now_millis());
                tasks::schedule(
                    Duration::from_millis(after),
                    WAKE,
                    &ExecRef {
                        arn: e.arn.clone(),
                        token: None,
                        due_ms: Some(*due_ms),
                    },
                )?;
                continue;
            }
            Some(Checkpoint {
                kind: Pause::Step, ..
            }) => ExecRef {
                arn: e.arn.clone(),
                token: None,
                due_ms: Some(0),
            },
            // Waiting for a token: SendTask* or its timeout task moves it.
            Some(_) => continue,
        };
        tasks::schedule(Duration::ZERO, RUN, &r)?;
    }
    Ok(())
}

pub fn start_sync_execution(
    ctx: &Context,
    input: StartSyncExecutionInput,
) -> Result<StartSyncExecutionOutput, AwsError> {
    let (exec, machine) = new_execution(ctx, &input.state_machine_arn, input.name, input.input)?;
    if machine.kind != "EXPRESS" {
        return Err(StateMachineTypeNotSupported::new(
            "This operation is not supported by this type of state machine",
        )
        .into());
    }
    let done = drive(ctx, exec, None, false)?;
    let status = match done.status.as_str() {
        "SUCCEEDED" => "SUCCEEDED",
        "RUNNING" => "TIMED_OUT",
        _ => "FAILED",
    };
    Ok(StartSyncExecutionOutput {
        execution_arn: done.arn,
        state_machine_arn: Some(done.machine_arn),
        name: Some(done.name),
        start_date: done.start,
        stop_date: done.stop.unwrap_or_else(time::now),
        status: SyncExecutionStatus::from(status),
        error: done.error,
        cause: done.cause,
        input: Some(done.input),
        input_details: Some(CloudWatchEventsExecutionDataDetails {
            included: Some(true),
        }),
        output: done.output,
        output_details: Some(CloudWatchEventsExecutionDataDetails {
            included: Some(true),
        }),
        trace_header: input.trace_header,
        billing_details: Some(BillingDetails {
            billed_memory_used_in_mb: Some(64),
            billed_duration_in_milliseconds: Some(100),
        }),
    })
}

pub fn run_task(ctx: &Context, r: ExecRef) -> Result<(), AwsError> {
    let Some(exec) = EXECUTIONS.get(&r.arn)? else {
        return Ok(());
    };
    // A run task that comes again (at least once) after the execution
    // suspended leaves it alone; a redrive (due 0) restarts from its checkpoint.
    if exec.status != "RUNNING" || (exec.checkpoint.is_some() && r.due_ms != Some(0)) {
        return Ok(());
    }
    drive(ctx, exec, None, true)?;
    Ok(())
}

pub fn express_task(ctx: &Context, r: ExpressRun) -> Result<(), AwsError> {
    drive(ctx, r.exec, None, false)?;
    Ok(())
}

pub fn wake_task(ctx: &Context, r: ExecRef) -> Result<(), AwsError> {
    let Some(exec) = EXECUTIONS.get(&r.arn)? else {
        return Ok(());
    };
    let due = match &exec.checkpoint {
        Some(Checkpoint {
            kind: Pause::Wait { due_ms },
            ..
        }) => *due_ms,
        _ => return Ok(()),
    };
    if exec.status != "RUNNING" || Some(due) != r.due_ms {
        return Ok(());
    }
    drive(ctx, exec, Some(Resume::WaitOver), true)?;
    Ok(())
}

pub fn resume_task(ctx: &Context, r: ExecRef) -> Result<(), AwsError> {
    let Some(exec) = EXECUTIONS.get(&r.arn)? else {
        return Ok(());
    };
    let token = match &exec.checkpoint {
        Some(Checkpoint {
            kind: Pause::Token { token },
            ..
        }) => token.clone(),
        _ => return Ok(()),
    };
    if exec.status != "RUNNING" || Some(&token) != r.token.as_ref() {
        return Ok(());
    }
    let Some(rec) = TOKENS.get(&token)? else {
        return Ok(());
    };
    let Some(done) = rec.done else { return Ok(()) };
    TOKENS.delete(&token);
    drive(ctx, exec, Some(Resume::TaskDone(done)), true)?;
    Ok(())
}

/// A token's timeout or heartbeat deadline came: fail the task if it is
/// still pending and past it.
pub fn timeout_task(_: &Context, r: ExecRef) -> Result<(), AwsError> {
    let Some(token) = r.token else { return Ok(()) };
    let Some(mut rec) = TOKENS.get(&token)? else {
        return Ok(());
    };
    if rec.done.is_some() {
        return Ok(());
    }
    let now = time::now_millis();
    match remaining(&rec, now) {
        Some((0, e)) => {
            rec.done = Some(Err(StateError::new(e, "The task timed out")));
            finish_token(&token, rec)?;
        }
        // A heartbeat moved the deadline: look again then.
        Some((left, _)) => {
            tasks::schedule(
                Duration::from_millis(left),
                TIMEOUT,
                &ExecRef {
                    arn: r.arn,
                    token: Some(token),
                    due_ms: None,
                },
            )?;
        }
        None => {}
    }
    Ok(())
}

fn finish_token(token: &str, rec: TokenRec) -> Result<(), AwsError> {
    let suspended = rec.suspended;
    let exec_arn = rec.exec_arn.clone();
    TOKENS.put(token, &rec)?;
    tasks::notify(&format!("token:{token}"));
    if suspended {
        tasks::schedule(
            Duration::ZERO,
            RESUME,
            &ExecRef {
                arn: exec_arn,
                token: Some(token.to_string()),
                due_ms: None,
            },
        )?;
    }
    Ok(())
}

fn pending_token(token: &str) -> Result<TokenRec, AwsError> {
    if token.is_empty() || token.len() > 2048 {
        return Err(InvalidToken::new("Invalid token").into());
    }
    match TOKENS.get(token)? {
        Some(r) if r.done.is_none() => {
            if let Some((0, _)) = remaining(&r, time::now_millis()) {
                return Err(TaskTimedOut::new("Task Timed Out").into());
            }
            Ok(r)
        }
        Some(_) => Err(TaskDoesNotExist::new("Task Does Not Exist").into()),
        None => {
            if ministack_sdk::encoding::base64_decode(token).is_none() {
                return Err(InvalidToken::new("Invalid token").into());
            }
            Err(TaskDoesNotExist::new("Task Does Not Exist").into())
        }
    }
}

pub fn send_task_success(
    _: &Context,
    input: SendTaskSuccessInput,
) -> Result<SendTaskSuccessOutput, AwsError> {
    let mut rec = pending_token(&input.task_token)?;
    let out: Value = serde_json::from_str(&input.output).map_err(|_| {
        AwsError::from(InvalidOutput::new(format!(
            "Invalid Output: '{}'",
            input.output
        )))
    })?;
    rec.done = Some(Ok(out));
    finish_token(&input.task_token, rec)?;
    Ok(SendTaskSuccessOutput::default())
}

pub fn send_task_failure(
    _: &Context,
    input: SendTaskFailureInput,
) -> Result<SendTaskFailureOutput, AwsError> {
    let mut rec = pending_token(&input.task_token)?;
    rec.done = Some(Err(StateError::new(
        input.error.as_deref().unwrap_or(""),
        input.cause.unwrap_or_default(),
    )));
    finish_token(&input.task_token, rec)?;
    Ok(SendTaskFailureOutput::default())
}

pub fn send_task_heartbeat(
    _: &Context,
    input: SendTaskHeartbeatInput,
) -> Result<SendTaskHeartbeatOutput, AwsError> {
    let mut rec = pending_token(&input.task_token)?;
    rec.last_beat_ms = time::now_millis();
    if rec.suspended
        && let Some(h) = rec.heartbeat_ms
    {
        tasks::schedule(
            Duration::from_millis(h),
            TIMEOUT,
            &ExecRef {
                arn: rec.exec_arn.clone(),
                token: Some(input.task_token.clone()),
                due_ms: None,
            },
        )?;
    }
    TOKENS.put(&input.task_token, &rec)?;
    Ok(SendTaskHeartbeatOutput::default())
}

pub fn get_activity_task(
    _: &Context,
    input: GetActivityTaskInput,
) -> Result<GetActivityTaskOutput, AwsError> {
    let arn = input.activity_arn.clone();
    if !machines::ACTIVITIES.contains(&arn) {
        return Err(ActivityDoesNotExist::new(format!("Activity Does Not Exist: '{arn}'")).into());
    }
    let topic = format!("activity:{arn}");
    let deadline = time::now_millis() + 60_000;
    loop {
        let next = ACTIVITY_QUEUE.scan(&Scan::prefix(keys::prefix(&[&arn])).limit(1))?;
        if let Some((key, token)) = next.into_iter().next() {
            ACTIVITY_QUEUE.delete(&key);
            if let Some(mut rec) = TOKENS.get(&token)?
                && rec.done.is_none()
            {
                rec.started = true;
                rec.last_beat_ms = time::now_millis();
                TOKENS.put(&token, &rec)?;
                // ActivityStarted, when the execution is suspended on it (its
                // history is the stored one then).
                if rec.suspended
                    && let Some(mut e) = EXECUTIONS.get(&rec.exec_arn)?
                    && e.status == "RUNNING"
                {
                    let id = e.history.len() as u64 + 1;
                    e.history.push(json!({"timestamp": time::now(), "type": "ActivityStarted", "id": id,
                        "previousEventId": id - 1,
                        "activityStartedEventDetails": {"workerName": input.worker_name.clone().unwrap_or_default()}}));
                    EXECUTIONS.put(&e.arn, &e)?;
                }
                return Ok(GetActivityTaskOutput {
                    task_token: Some(token),
                    input: Some(rec.input.to_string()),
                });
            }
            continue;
        }
        let now = time::now_millis();
        if now >= deadline {
            return Ok(GetActivityTaskOutput::default());
        }
        tasks::wait(&topic, Duration::from_millis(deadline - now));
    }
}

fn get_exec(arn: &str) -> Result<Execution, AwsError> {
    if !arn.starts_with("arn:") || !arn.contains(":execution:") && !arn.contains(":express:") {
        return Err(InvalidArn::new(format!("Invalid Arn: '{arn}'")).into());
    }
    EXECUTIONS.get(arn)?.ok_or_else(|| no_execution(arn))
}

pub fn describe_execution(
    _: &Context,
    input: DescribeExecutionInput,
) -> Result<DescribeExecutionOutput, AwsError> {
    let e = get_exec(&input.execution_arn)?;
    Ok(DescribeExecutionOutput {
        execution_arn: e.arn,
        state_machine_arn: e.machine_arn,
        name: Some(e.name),
        status: ExecutionStatus::from(e.status.as_str()),
        start_date: e.start,
        stop_date: e.stop,
        input: Some(e.input),
        input_details: Some(CloudWatchEventsExecutionDataDetails {
            included: Some(true),
        }),
        output: e.output.clone(),
        output_details: e.output.map(|_| CloudWatchEventsExecutionDataDetails {
            included: Some(true),
        }),
        error: e.error,
        cause: e.cause,
        state_machine_version_arn: e.version_arn,
        state_machine_alias_arn: e.alias_arn,
        redrive_count: Some(e.redrive_count),
        redrive_date: e.redrive_date,
        ..Default::default()
    })
}

pub fn describe_state_machine_for_execution(
    _: &Context,
    input: DescribeStateMachineForExecutionInput,
) -> Result<DescribeStateMachineForExecutionOutput, AwsError> {
    let e = get_exec(&input.execution_arn)?;
    Ok(DescribeStateMachineForExecutionOutput {
        state_machine_arn: e.machine_arn.clone(),
        name: e
            .machine_arn
            .rsplit(':')
            .next()
            .unwrap_or_default()
            .to_string(),
        definition: e.definition,
        role_arn: e.role_arn,
        update_date: e.start,
        ..Default::default()
    })
}

pub fn stop_execution(
    ctx: &Context,
    input: StopExecutionInput,
) -> Result<StopExecutionOutput, AwsError> {
    let mut e = get_exec(&input.execution_arn)?;
    let now = time::now();
    if e.status == "RUNNING" {
        e.status = "ABORTED".into();
        e.stop = Some(now);
        e.error = input.error.clone();
        e.cause = input.cause.clone();
        let id = e.history.len() as u64 + 1;
        e.history.push(json!({"timestamp": now, "type": "ExecutionAborted", "id": id, "previousEventId": id - 1,
            "executionAbortedEventDetails": {"error": input.error, "cause": input.cause}}));
        if let Some(Checkpoint {
            kind: Pause::Token { token },
            ..
        }) = &e.checkpoint
        {
            TOKENS.delete(token);
        }
        e.checkpoint = None;
        EXECUTIONS.put(&e.arn, &e)?;
        tasks::notify(&format!("execution:{}", e.arn));
        status_event(ctx, &e);
    }
    Ok(StopExecutionOutput {
        stop_date: e.stop.unwrap_or(now),
    })
}

pub fn list_executions(
    _: &Context,
    input: ListExecutionsInput,
) -> Result<ListExecutionsOutput, AwsError> {
    let Some(sm) = input.state_machine_arn.clone() else {
        if input.map_run_arn.is_some() {
            return Ok(ListExecutionsOutput::default());
        }
        return Err(AwsError::validation(
            "Must provide a StateMachine ARN or MapRun ARN",
        ));
    };
    let (base, version) = match MACHINES.get(&sm)? {
        Some(m) if m.kind == "EXPRESS" => {
            return Err(StateMachineTypeNotSupported::new(
                "This operation is not supported by this type of state machine",
            )
            .into());
        }
        Some(m) => (
            m.version_of.clone().unwrap_or(m.arn.clone()),
            m.version_of.map(|_| sm.clone()),
        ),
        None => {
            if !sm.contains(":stateMachine:") {
                return Err(InvalidArn::new(format!("Invalid Arn: '{sm}'")).into());
            }
            return Err(StateMachineDoesNotExist::new(format!(
                "State Machine Does Not Exist: '{sm}'"
            ))
            .into());
        }
    };
    let parts: Vec<&str> = base.split(':').collect();
    let prefix = format!(
        "arn:{}:states:{}:{}:execution:{}:",
        parts[1], parts[3], parts[4], parts[6]
    );
    let mut items: Vec<Execution> = EXECUTIONS
        .values(&prefix)?
        .into_iter()
        .filter(|e| {
            input
                .status_filter
                .as_ref()
                .is_none_or(|s| s.as_str() == e.status)
        })
        .filter(|e| version.is_none() || e.version_arn == version)
        .collect();
    items.sort_by(|a, b| {
        b.start
            .partial_cmp(&a.start)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let limit = machines::limit(input.max_results) as usize;
    let start: usize = match &input.next_token {
        Some(t) => ministack_sdk::pagination::decode(t)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| AwsError::from(InvalidToken::new("Invalid token")))?,
        None => 0,
    };
    let next = (items.len() > start + limit)
        .then(|| ministack_sdk::pagination::encode(&(start + limit).to_string()));
    Ok(ListExecutionsOutput {
        executions: items
            .into_iter()
            .skip(start)
            .take(limit)
            .map(|e| ExecutionListItem {
                execution_arn: e.arn,
                state_machine_arn: e.machine_arn,
                name: e.name,
                status: ExecutionStatus::from(e.status.as_str()),
                start_date: e.start,
                stop_date: e.stop,
                state_machine_version_arn: e.version_arn,
                state_machine_alias_arn: e.alias_arn,
                redrive_count: Some(e.redrive_count),
                ..Default::default()
            })
            .collect(),
        next_token: next,
    })
}

pub fn get_execution_history(
    _: &Context,
    input: GetExecutionHistoryInput,
) -> Result<GetExecutionHistoryOutput, AwsError> {
    let e = get_exec(&input.execution_arn)?;
    let mut events = e.history;
    if input.reverse_order == Some(true) {
        events.reverse();
    }
    if input.include_execution_data == Some(false) {
        for ev in &mut events {
            if let Some(o) = ev.as_object_mut() {
                for (_, d) in o.iter_mut() {
                    if let Some(d) = d.as_object_mut() {
                        d.remove("input");
                        d.remove("output");
                    }
                }
            }
        }
    }
    let limit = machines::limit(input.max_results) as usize;
    let start: usize = match &input.next_token {
        Some(t) => ministack_sdk::pagination::decode(t)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| AwsError::from(InvalidToken::new("Invalid token")))?,
        None => 0,
    };
    let next = (events.len() > start + limit)
        .then(|| ministack_sdk::pagination::encode(&(start + limit).to_string()));
    let page: Vec<HistoryEvent> = events
        .into_iter()
        .skip(start)
        .take(limit)
        .map(|v| serde_json::from_value(v).map_err(|e| AwsError::internal(e.to_string())))
        .collect::<Result<_, _>>()?;
    Ok(GetExecutionHistoryOutput {
        events: page,
        next_token: next,
    })
}

pub fn redrive_execution(
    _: &Context,
    input: RedriveExecutionInput,
) -> Result<RedriveExecutionOutput, AwsError> {
    let mut e = get_exec(&input.execution_arn)?;
    if e.status == "RUNNING" || e.status == "SUCCEEDED" {
        return Err(ExecutionNotRedrivable::new(format!(
            "Execution is {}: only FAILED, TIMED_OUT and ABORTED executions can be redriven",
            e.status
        ))
        .into());
    }
    let Some(at) = e.failed_at.take() else {
        return Err(ExecutionNotRedrivable::new(
            "The execution has no failed state to redrive from",
        )
        .into());
    };
    let now = time::now();
    e.status = "RUNNING".into();
    e.error = None;
    e.cause = None;
    e.stop = None;
    e.redrive_count += 1;
    e.redrive_date = Some(now);
    e.checkpoint = Some(at);
    let id = e.history.len() as u64 + 1;
    e.history.push(
        json!({"timestamp": now, "type": "ExecutionRedriven", "id": id, "previousEventId": id - 1,
        "executionRedrivenEventDetails": {"redriveCount": e.redrive_count}}),
    );
    EXECUTIONS.put(&e.arn, &e)?;
    tasks::schedule(
        Duration::ZERO,
        RUN,
        &ExecRef {
            arn: e.arn.clone(),
            token: None,
            due_ms: Some(0),
        },
    )?;
    Ok(RedriveExecutionOutput { redrive_date: now })
}

pub fn describe_map_run(
    _: &Context,
    input: DescribeMapRunInput,
) -> Result<DescribeMapRunOutput, AwsError> {
    Err(ResourceNotFound::new(format!("Resource not found: '{}' (map runs are not recorded: distributed Map states run inside their execution)", input.map_run_arn)).into())
}

pub fn list_map_runs(_: &Context, input: ListMapRunsInput) -> Result<ListMapRunsOutput, AwsError> {
    get_exec(&input.execution_arn)?;
    Ok(ListMapRunsOutput::default())
}

pub fn update_map_run(
    _: &Context,
    input: UpdateMapRunInput,
) -> Result<UpdateMapRunOutput, AwsError> {
    Err(ResourceNotFound::new(format!("Resource not found: '{}'", input.map_run_arn)).into())
}

pub fn test_state(ctx: &Context, input: TestStateInput) -> Result<TestStateOutput, AwsError> {
    let state: Value = serde_json::from_str(&input.definition).map_err(|e| {
        AwsError::from(InvalidDefinition::new(format!(
            "Invalid State Machine Definition: '{e}'"
        )))
    })?;
    let name = input
        .state_name
        .clone()
        .unwrap_or_else(|| "TestState".into());
    let (def, name) = if state.get("States").is_some() {
        let n = input
            .state_name
            .clone()
            .or_else(|| {
                state
                    .get("StartAt")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .unwrap_or_default();
        (state, n)
    } else {
        (json!({"StartAt": name, "States": {&name: state}}), name)
    };
    let data: Value = serde_json::from_str(input.input.as_deref().unwrap_or("{}"))
        .map_err(|_| AwsError::from(InvalidExecutionInput::new("Invalid input")))?;
    let exec = Execution {
        arn: ctx.arn("states", "execution:TestState:test").to_string(),
        machine_arn: ctx.arn("states", "stateMachine:TestState").to_string(),
        name: "test".into(),
        status: "RUNNING".into(),
        input: data.to_string(),
        output: None,
        error: None,
        cause: None,
        start: time::now(),
        stop: None,
        definition: def.to_string(),
        role_arn: input.role_arn.clone().unwrap_or_default(),
        version_arn: None,
        alias_arn: None,
        history: vec![],
        checkpoint: None,
        failed_at: None,
        test_case: None,
        mock_counts: BTreeMap::new(),
        redrive_count: 0,
        redrive_date: None,
        logging: None,
    };
    let mut world = World::new(ctx, &exec, false);
    let mut runner = Runner {
        fx: &mut world,
        history: History::default(),
        context: context_object(&exec),
        wait_scale: 0.0,
        durable: false,
        vars: Default::default(),
        last: None,
    };
    let state_def = def["States"][&name].clone();
    match runner.test_state(&def, &name, &state_def, data) {
        Ok((out, next)) => Ok(TestStateOutput {
            output: Some(out.to_string()),
            next_state: next,
            status: Some(TestExecutionStatus::from("SUCCEEDED")),
            ..Default::default()
        }),
        Err(e) => Ok(TestStateOutput {
            error: Some(e.error),
            cause: Some(e.cause),
            status: Some(TestExecutionStatus::from("FAILED")),
            ..Default::default()
        }),
    }
}

/// Writes the execution's events to the CloudWatch Logs group of the
/// machine's logging configuration (ALL: every event; ERROR: failures;
/// FATAL: execution failures). Failures to log are ignored, as AWS does.
fn write_logs(exec: &Execution, l: &LoggingConfiguration, events: &[Value]) {
    let level = l
        .level
        .as_ref()
        .map(|v| v.as_str().to_string())
        .unwrap_or_default();
    let keep = |t: &str| match level.as_str() {
        "ALL" => true,
        "ERROR" => t.ends_with("Failed") || t.ends_with("TimedOut") || t.ends_with("Aborted"),
        "FATAL" => matches!(
            t,
            "ExecutionFailed" | "ExecutionTimedOut" | "ExecutionAborted"
        ),
        _ => false,
    };
    let with_data = l.include_execution_data == Some(true);
    for d in l.destinations.iter().flatten() {
        let Some(arn) = d
            .cloud_watch_logs_log_group
            .as_ref()
            .and_then(|g| g.log_group_arn.clone())
        else {
            continue;
        };
        // arn:aws:logs:<region>:<account>:log-group:<name>[:*]
        let parts: Vec<&str> = arn.split(':').collect();
        let Some(group) = parts.get(6) else { continue };
        let target = Target::at(
            "logs",
            parts.get(4).unwrap_or(&""),
            parts.get(3).unwrap_or(&""),
        );
        let stream = format!(
            "states/{}/{}",
            exec.machine_arn.rsplit(':').next().unwrap_or_default(),
            exec.name
        );
        let _ = services::call_json(
            &target,
            "CreateLogStream",
            &json!({"logGroupName": group, "logStreamName": stream}).to_string(),
        );
        let log_events: Vec<Value> = events
            .iter()
            .filter(|e| keep(e["type"].as_str().unwrap_or_default()))
            .map(|e| {
                let mut details = Value::Null;
                if let Some(o) = e.as_object() {
                    for (k, v) in o {
                        if k.ends_with("EventDetails") {
                            details = v.clone();
                        }
                    }
                }
                if !with_data && let Some(d) = details.as_object_mut() {
                    d.remove("input");
                    d.remove("output");
                }
                let ts = (e["timestamp"].as_f64().unwrap_or_else(time::now) * 1000.0) as i64;
                let msg = json!({"id": e["id"].to_string(), "type": e["type"], "details": details,
                    "previous_event_id": e["previousEventId"].to_string(), "event_timestamp": ts.to_string(),
                    "execution_arn": exec.arn});
                json!({"timestamp": ts, "message": msg.to_string()})
            })
            .collect();
        if log_events.is_empty() {
            continue;
        }
        let _ = services::call_json(
            &target,
            "PutLogEvents",
            &json!({"logGroupName": group, "logStreamName": stream, "logEvents": log_events})
                .to_string(),
        );
    }
}
