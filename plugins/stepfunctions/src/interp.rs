//! The States Language interpreter.
//!
//! [`Runner::run`] walks a state machine from a state with an input. At the
//! top level of a durable (STANDARD, asynchronous) execution a Wait state,
//! a `.waitForTaskToken` task or an activity *suspends* the run: it returns
//! a [`Checkpoint`] that the caller stores with a task scheduled to resume
//! it, so the execution survives a restart. Inside Parallel and Map
//! branches, and in EXPRESS or synchronous runs, such waits block in place
//! (`tasks::wait`). Effects on other services go through the
//! [`Effects`] trait, so the interpreter itself is testable natively.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::intrinsics;
use crate::jsonata;
use crate::paths::Path;

/// A failure inside the machine: an error name and cause.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateError {
    pub error: String,
    pub cause: String,
}

impl StateError {
    pub fn new(error: &str, cause: impl Into<String>) -> Self {
        StateError {
            error: error.to_string(),
            cause: cause.into(),
        }
    }
    fn runtime(cause: impl Into<String>) -> Self {
        Self::new("States.Runtime", cause)
    }
    fn intrinsic(cause: impl Into<String>) -> Self {
        Self::new("States.IntrinsicFailure", cause)
    }
}

/// Where a suspended run continues.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The state the run stopped in.
    pub state: String,
    /// For a Wait: its output; for a task: the state's raw input.
    pub input: Value,
    pub kind: Pause,
    /// Retry attempts so far, per retrier of the state.
    #[serde(default)]
    pub attempts: Vec<u32>,
    /// Variables (`Assign`) in scope.
    #[serde(default)]
    pub vars: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Pause {
    /// A Wait state, due at epoch ms.
    Wait { due_ms: u64 },
    /// A task waiting for its token.
    Token { token: String },
    /// Before a top-level Task state of a durable run: the state is
    /// committed as the place to start from before the task calls out, so a
    /// crash during the call runs that task again, not the whole execution.
    Step,
}

/// What resumes a checkpoint.
#[derive(Debug, Clone)]
pub enum Resume {
    WaitOver,
    /// Run the checkpoint's state afresh (after a [`Pause::Step`]).
    Step,
    TaskDone(Result<Value, StateError>),
}

pub enum Stop {
    Fail(StateError),
    Suspend(Box<Checkpoint>),
    /// The execution was stopped (StopExecution) or timed out meanwhile.
    Aborted,
}

impl From<StateError> for Stop {
    fn from(e: StateError) -> Self {
        Stop::Fail(e)
    }
}

/// How a task waits for its token.
pub struct TokenWait {
    pub token: String,
    pub timeout_secs: Option<f64>,
    pub heartbeat_secs: Option<f64>,
    /// For an activity: its ARN (the task is queued for GetActivityTask).
    pub activity: Option<String>,
    pub input: Value,
}

/// What the interpreter needs from the world.
pub trait Effects {
    /// Calls a task resource (integration, Lambda, aws-sdk); `None` resource
    /// result for `.waitForTaskToken` means "now wait for the token".
    fn invoke(&mut self, resource: &str, params: &Value, state: &str) -> Result<Value, StateError>;
    /// Makes a task token, registered for this execution and state.
    fn new_token(&mut self, state: &str) -> String;
    /// Registers the token wait (queues activity tasks, arms timeouts when
    /// suspending).
    fn register_wait(&mut self, wait: &TokenWait, suspending: bool) -> Result<(), StateError>;
    /// Blocks until the token completes or times out.
    fn block_on_token(&mut self, wait: &TokenWait) -> Result<Value, StateError>;
    /// Blocks for `secs` (already scaled).
    fn sleep(&mut self, secs: f64);
    fn now(&self) -> f64;
    /// The mocked result of a task state (SFN_MOCK_CONFIG), by attempt.
    fn mock(&mut self, state: &str) -> Option<Result<Value, StateError>>;
    /// Whether the execution was stopped meanwhile.
    fn aborted(&mut self) -> bool;
    /// Reads an S3 object's text (Distributed Map `ItemReader`).
    fn read_s3(&mut self, bucket: &str, key: &str) -> Result<String, StateError>;
    /// Writes an S3 object (Distributed Map `ResultWriter`).
    fn write_s3(&mut self, bucket: &str, key: &str, body: &[u8]) -> Result<(), StateError>;
    /// Lists S3 objects (ItemReader `s3:listObjectsV2`).
    fn list_s3(&mut self, params: &Value) -> Result<Vec<Value>, StateError>;
}

/// Execution history, as AWS emits it (ids from 1, previous event id).
#[derive(Debug, Default)]
pub struct History {
    pub enabled: bool,
    pub events: Vec<Value>,
    pub transitions: u64,
}

impl History {
    pub fn push(&mut self, now: f64, kind: &str, details: Option<(&str, Value)>) -> u64 {
        let id = self.events.len() as u64 + 1;
        if !self.enabled {
            return id;
        }
        let mut e = json!({
            "timestamp": now,
            "type": kind,
            "id": id,
            "previousEventId": id - 1,
        });
        if let Some((k, v)) = details {
            e[k] = v;
        }
        self.events.push(e);
        id
    }
}

pub struct Runner<'a, E: Effects> {
    pub fx: &'a mut E,
    pub history: History,
    /// `$$` without State, Task and Map.
    pub context: Value,
    pub wait_scale: f64,
    /// Whether the top level may suspend.
    pub durable: bool,
    pub vars: Map<String, Value>,
    /// The top-level state running last, with its input (for a redrive).
    pub last: Option<(String, Value)>,
}

enum Flow {
    Next(String, Value),
    End(Value),
}

fn jsonata_mode(machine: &Value, state: &Value) -> bool {
    state
        .get("QueryLanguage")
        .or_else(|| machine.get("QueryLanguage"))
        .and_then(Value::as_str)
        == Some("JSONata")
}

fn str_field<'v>(v: &'v Value, k: &str) -> Option<&'v str> {
    v.get(k).and_then(Value::as_str)
}

/// `$` path read, with States.Runtime when nothing matches.
fn read_path(path: &str, input: &Value, ctx: &Value) -> Result<Value, StateError> {
    let p = Path::parse(path).map_err(StateError::runtime)?;
    p.read_from(input, ctx).ok_or_else(|| {
        StateError::runtime(format!(
            "Invalid path '{path}' : No results for path: $['{}']",
            path.trim_start_matches("$.").trim_start_matches('$')
        ))
    })
}

/// Fills a `Parameters`-style template: `key.$` values are paths or
/// intrinsic functions.
pub fn fill_template(tpl: &Value, input: &Value, ctx: &Value) -> Result<Value, StateError> {
    match tpl {
        Value::Object(o) => {
            let mut out = Map::new();
            for (k, v) in o {
                if let Some(name) = k.strip_suffix(".$") {
                    let expr = v.as_str().ok_or_else(|| {
                        StateError::runtime(format!("The value of {k} must be a string"))
                    })?;
                    let val = if intrinsics::is_intrinsic(expr) {
                        intrinsics::eval(expr, input, ctx).map_err(StateError::intrinsic)?
                    } else {
                        read_path(expr, input, ctx)?
                    };
                    out.insert(name.to_string(), val);
                } else {
                    out.insert(k.clone(), fill_template(v, input, ctx)?);
                }
            }
            Ok(Value::Object(out))
        }
        Value::Array(a) => Ok(Value::Array(
            a.iter()
                .map(|x| fill_template(x, input, ctx))
                .collect::<Result<_, _>>()?,
        )),
        other => Ok(other.clone()),
    }
}

fn apply_input_path(state: &Value, raw: &Value, ctx: &Value) -> Result<Value, StateError> {
    match state.get("InputPath") {
        Some(Value::Null) => Ok(json!({})),
        Some(Value::String(p)) => read_path(p, raw, ctx),
        _ => Ok(raw.clone()),
    }
}

fn apply_output_path(state: &Value, v: Value, ctx: &Value) -> Result<Value, StateError> {
    match state.get("OutputPath") {
        Some(Value::Null) => Ok(json!({})),
        Some(Value::String(p)) => read_path(p, &v, ctx),
        _ => Ok(v),
    }
}

fn apply_result_path(state: &Value, raw: &Value, result: Value) -> Result<Value, StateError> {
    match state.get("ResultPath") {
        Some(Value::Null) => Ok(raw.clone()),
        Some(Value::String(p)) => {
            let path = Path::parse(p).map_err(StateError::runtime)?;
            path.write(raw.clone(), result).map_err(StateError::runtime)
        }
        _ => Ok(result),
    }
}

fn error_output(e: &StateError) -> Value {
    json!({"Error": e.error, "Cause": e.cause})
}

fn error_matches(names: &Value, error: &str) -> bool {
    names.as_array().is_some_and(|a| {
        a.iter().filter_map(Value::as_str).any(|n| {
            n == error
                || (n == "States.ALL" && error != "States.Runtime")
                || (n == "States.TaskFailed"
                    && error != "States.Timeout"
                    && error != "States.HeartbeatTimeout"
                    && error != "States.Runtime")
        })
    })
}

impl<'a, E: Effects> Runner<'a, E> {
    fn now(&self) -> f64 {
        self.fx.now()
    }

    fn event(&mut self, kind: &str, details: Option<(&str, Value)>) -> u64 {
        let now = self.now();
        self.history.push(now, kind, details)
    }

    fn state_context(&self, name: &str, retry: u32, extra: Option<(&str, Value)>) -> Value {
        let mut c = self.context.clone();
        c["State"] = json!({
            "Name": name,
            "EnteredTime": ministack_sdk::time::iso8601_millis(self.now()),
            "RetryCount": retry,
        });
        if let Some((k, v)) = extra {
            c[k] = v;
        }
        if !self.vars.is_empty() {
            c[crate::paths::VARS_KEY] = Value::Object(self.vars.clone());
        }
        c
    }

    /// `Assign` of a JSONPath state: a `Parameters`-style template over
    /// `base` (the result of Task, Parallel and Map; the input otherwise).
    fn assign_jsonpath(
        &mut self,
        assign: Option<&Value>,
        base: &Value,
        ctx: &Value,
    ) -> Result<(), StateError> {
        if let Some(a @ Value::Object(_)) = assign
            && let Value::Object(values) = fill_template(a, base, ctx)?
        {
            self.vars.extend(values);
        }
        Ok(())
    }

    fn states_var(
        &self,
        ctx: &Value,
        input: &Value,
        result: Option<&Value>,
        err: Option<&Value>,
    ) -> Map<String, Value> {
        let mut vars = self.vars.clone();
        let mut ctx = ctx.clone();
        if let Some(o) = ctx.as_object_mut() {
            o.remove(crate::paths::VARS_KEY);
        }
        let mut states = json!({"input": input, "context": ctx});
        if let Some(r) = result {
            states["result"] = r.clone();
        }
        if let Some(e) = err {
            states["errorOutput"] = e.clone();
        }
        vars.insert("states".into(), states);
        vars
    }

    fn jsonata_value(&self, v: &Value, vars: &Map<String, Value>) -> Result<Value, StateError> {
        jsonata::template(v, vars).map_err(|e| StateError::new("States.QueryEvaluationError", e))
    }

    /// Runs `machine` (an object with `StartAt` and `States`) from
    /// `start` (or StartAt) until it ends.
    pub fn run(
        &mut self,
        machine: &Value,
        start: Option<&str>,
        input: Value,
        top: bool,
        mut resume: Option<(Resume, Checkpoint)>,
    ) -> Result<Value, Stop> {
        let states = machine
            .get("States")
            .and_then(Value::as_object)
            .ok_or_else(|| StateError::runtime("The machine has no States"))?;
        let mut current = start
            .map(str::to_string)
            .or_else(|| str_field(machine, "StartAt").map(str::to_string))
            .ok_or_else(|| StateError::runtime("The machine has no StartAt"))?;
        let mut input = input;
        loop {
            if top && self.fx.aborted() {
                return Err(Stop::Aborted);
            }
            let state = states.get(&current).ok_or_else(|| {
                StateError::runtime(format!("The state {current} does not exist"))
            })?;
            let stepping = matches!(resume, Some((Resume::Step, _)));
            if stepping {
                resume = None;
            } else if top
                && self.durable
                && resume.is_none()
                && str_field(state, "Type") == Some("Task")
            {
                return Err(Stop::Suspend(Box::new(Checkpoint {
                    state: current,
                    input,
                    kind: Pause::Step,
                    attempts: vec![],
                    vars: self.vars.clone(),
                })));
            }
            self.history.transitions += 1;
            if top {
                self.last = Some((current.clone(), input.clone()));
            }
            let flow = self.run_state(machine, &current, state, input, top, resume.take())?;
            match flow {
                Flow::Next(next, out) => {
                    current = next;
                    input = out;
                }
                Flow::End(out) => return Ok(out),
            }
        }
    }

    /// Runs one state alone (TestState): its output and next state.
    pub fn test_state(
        &mut self,
        machine: &Value,
        name: &str,
        state: &Value,
        input: Value,
    ) -> Result<(Value, Option<String>), StateError> {
        match self.run_state(machine, name, state, input, false, None) {
            Ok(Flow::Next(n, v)) => Ok((v, Some(n))),
            Ok(Flow::End(v)) => Ok((v, None)),
            Err(Stop::Fail(e)) => Err(e),
            Err(_) => Err(StateError::runtime("The state did not finish")),
        }
    }

    fn after(&self, state: &Value, out: Value) -> Result<Flow, StateError> {
        if state.get("End").and_then(Value::as_bool) == Some(true) {
            return Ok(Flow::End(out));
        }
        match str_field(state, "Next") {
            Some(n) => Ok(Flow::Next(n.to_string(), out)),
            None => Ok(Flow::End(out)),
        }
    }

    fn entered(&mut self, kind: &str, name: &str, input: &Value) {
        if self.history.enabled {
            self.event(
                &format!("{kind}StateEntered"),
                Some((
                    "stateEnteredEventDetails",
                    json!({"name": name, "input": input.to_string()}),
                )),
            );
        }
    }

    fn exited(&mut self, kind: &str, name: &str, output: &Value) {
        if self.history.enabled {
            self.event(
                &format!("{kind}StateExited"),
                Some((
                    "stateExitedEventDetails",
                    json!({"name": name, "output": output.to_string()}),
                )),
            );
        }
    }

    /// Assign (JSONata and JSONPath): variables from `$states`.
    fn assign(
        &mut self,
        assign: Option<&Value>,
        vars: &Map<String, Value>,
    ) -> Result<(), StateError> {
        if let Some(Value::Object(a)) = assign {
            let mut new = Vec::new();
            for (k, v) in a {
                new.push((k.clone(), self.jsonata_value(v, vars)?));
            }
            for (k, v) in new {
                self.vars.insert(k, v);
            }
        }
        Ok(())
    }

    fn run_state(
        &mut self,
        machine: &Value,
        name: &str,
        state: &Value,
        raw: Value,
        top: bool,
        resume: Option<(Resume, Checkpoint)>,
    ) -> Result<Flow, Stop> {
        let kind = str_field(state, "Type").unwrap_or("");
        let jsonata = jsonata_mode(machine, state);
        let ctx = self.state_context(name, 0, None);
        let resuming = resume.is_some();
        let kind_name = match kind {
            "Pass" | "Task" | "Choice" | "Wait" | "Succeed" | "Fail" | "Parallel" | "Map" => kind,
            other => {
                return Err(StateError::runtime(format!("Unknown state type {other}")).into());
            }
        };
        if !resuming {
            self.entered(kind_name, name, &raw);
        }
        match kind {
            "Pass" => {
                let out = if jsonata {
                    let vars = self.states_var(&ctx, &raw, None, None);
                    let out = match state.get("Output") {
                        Some(o) => self.jsonata_value(o, &vars)?,
                        None => raw.clone(),
                    };
                    self.assign(state.get("Assign"), &vars)?;
                    out
                } else {
                    let eff = apply_input_path(state, &raw, &ctx)?;
                    let result = match (state.get("Result"), state.get("Parameters")) {
                        (Some(r), _) => r.clone(),
                        (None, Some(p)) => fill_template(p, &eff, &ctx)?,
                        _ => eff,
                    };
                    let v = apply_result_path(state, &raw, result)?;
                    let out = apply_output_path(state, v, &ctx)?;
                    self.assign_jsonpath(state.get("Assign"), &raw, &ctx)?;
                    out
                };
                self.exited("Pass", name, &out);
                Ok(self.after(state, out)?)
            }
            "Succeed" => {
                let out = if jsonata {
                    let vars = self.states_var(&ctx, &raw, None, None);
                    match state.get("Output") {
                        Some(o) => self.jsonata_value(o, &vars)?,
                        None => raw.clone(),
                    }
                } else {
                    let eff = apply_input_path(state, &raw, &ctx)?;
                    apply_output_path(state, eff, &ctx)?
                };
                self.exited("Succeed", name, &out);
                Ok(Flow::End(out))
            }
            "Fail" => {
                let (error, cause) = if jsonata {
                    let vars = self.states_var(&ctx, &raw, None, None);
                    let e = state
                        .get("Error")
                        .map(|v| self.jsonata_value(v, &vars))
                        .transpose()?;
                    let c = state
                        .get("Cause")
                        .map(|v| self.jsonata_value(v, &vars))
                        .transpose()?;
                    (e, c)
                } else {
                    let e = match str_field(state, "ErrorPath") {
                        Some(p) => Some(self.path_or_intrinsic(p, &raw, &ctx)?),
                        None => state.get("Error").cloned(),
                    };
                    let c = match str_field(state, "CausePath") {
                        Some(p) => Some(self.path_or_intrinsic(p, &raw, &ctx)?),
                        None => state.get("Cause").cloned(),
                    };
                    (e, c)
                };
                let text = |v: Option<Value>| match v {
                    Some(Value::String(s)) => s,
                    Some(other) => other.to_string(),
                    None => String::new(),
                };
                Err(Stop::Fail(StateError {
                    error: text(error),
                    cause: text(cause),
                }))
            }
            "Choice" => {
                let (eff, vars) = if jsonata {
                    (raw.clone(), Some(self.states_var(&ctx, &raw, None, None)))
                } else {
                    (apply_input_path(state, &raw, &ctx)?, None)
                };
                let choices = state
                    .get("Choices")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                let mut next = None;
                for rule in &choices {
                    let hit = match &vars {
                        Some(v) => self.condition(rule, v)?,
                        None => choice_matches(rule, &eff, &ctx)?,
                    };
                    if hit {
                        match &vars {
                            Some(v) => self.assign(rule.get("Assign"), v)?,
                            None => self.assign_jsonpath(rule.get("Assign"), &raw, &ctx)?,
                        }
                        next = str_field(rule, "Next").map(str::to_string);
                        break;
                    }
                }
                let next = match next.or_else(|| str_field(state, "Default").map(str::to_string)) {
                    Some(n) => n,
                    None => {
                        return Err(StateError::new(
                            "States.NoChoiceMatched",
                            format!("No Matches! for state {name}"),
                        )
                        .into());
                    }
                };
                let out = match &vars {
                    Some(v) => match state.get("Output") {
                        Some(o) => self.jsonata_value(o, v)?,
                        None => raw.clone(),
                    },
                    None => apply_output_path(state, eff, &ctx)?,
                };
                self.exited("Choice", name, &out);
                Ok(Flow::Next(next, out))
            }
            "Wait" => self.wait_state(machine, name, state, raw, top, resume, jsonata, &ctx),
            "Task" => self.task_state(name, state, raw, top, resume, jsonata),
            "Parallel" | "Map" => self.branch_state(name, kind, state, raw, jsonata),
            _ => unreachable!(),
        }
    }

    fn path_or_intrinsic(&self, p: &str, input: &Value, ctx: &Value) -> Result<Value, StateError> {
        if intrinsics::is_intrinsic(p) {
            intrinsics::eval(p, input, ctx).map_err(StateError::intrinsic)
        } else {
            read_path(p, input, ctx)
        }
    }

    fn condition(&self, rule: &Value, vars: &Map<String, Value>) -> Result<bool, StateError> {
        let cond = rule
            .get("Condition")
            .ok_or_else(|| StateError::runtime("A JSONata choice rule needs a Condition"))?;
        match self.jsonata_value(cond, vars)? {
            Value::Bool(b) => Ok(b),
            other => Err(StateError::new(
                "States.QueryEvaluationError",
                format!("The Condition did not give a boolean: {other}"),
            )),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn wait_state(
        &mut self,
        _machine: &Value,
        name: &str,
        state: &Value,
        raw: Value,
        top: bool,
        resume: Option<(Resume, Checkpoint)>,
        jsonata: bool,
        ctx: &Value,
    ) -> Result<Flow, Stop> {
        if let Some((_, cp)) = resume {
            self.exited("Wait", name, &cp.input);
            return Ok(self.after(state, cp.input)?);
        }
        let (eff, secs) = if jsonata {
            let vars = self.states_var(ctx, &raw, None, None);
            let secs = match (state.get("Seconds"), state.get("Timestamp")) {
                (Some(s), _) => Some(number_secs(&self.jsonata_value(s, &vars)?)?),
                (None, Some(t)) => {
                    Some(timestamp_secs(&self.jsonata_value(t, &vars)?)? - self.now())
                }
                _ => None,
            };
            let out = match state.get("Output") {
                Some(o) => self.jsonata_value(o, &vars)?,
                None => raw.clone(),
            };
            self.assign(state.get("Assign"), &vars)?;
            (out, secs)
        } else {
            let eff = apply_input_path(state, &raw, ctx)?;
            let secs = if let Some(s) = state.get("Seconds") {
                Some(number_secs(s)?)
            } else if let Some(t) = state.get("Timestamp") {
                Some(timestamp_secs(t)? - self.now())
            } else if let Some(p) = str_field(state, "SecondsPath") {
                Some(number_secs(&read_path(p, &eff, ctx)?)?)
            } else if let Some(p) = str_field(state, "TimestampPath") {
                Some(timestamp_secs(&read_path(p, &eff, ctx)?)? - self.now())
            } else {
                None
            };
            (apply_output_path(state, eff, ctx)?, secs)
        };
        let secs = secs.unwrap_or(0.0).max(0.0) * self.wait_scale;
        if top && self.durable && secs > 0.0 {
            let due_ms = ((self.now() + secs) * 1000.0) as u64;
            return Err(Stop::Suspend(Box::new(Checkpoint {
                state: name.to_string(),
                input: eff,
                kind: Pause::Wait { due_ms },
                attempts: vec![],
                vars: self.vars.clone(),
            })));
        }
        if secs > 0.0 {
            self.fx.sleep(secs);
        }
        self.exited("Wait", name, &eff);
        Ok(self.after(state, eff)?)
    }

    /// Retry (true: run again) or give up.
    fn should_retry(&mut self, state: &Value, attempts: &mut Vec<u32>, e: &StateError) -> bool {
        let Some(retriers) = state.get("Retry").and_then(Value::as_array) else {
            return false;
        };
        attempts.resize(retriers.len(), 0);
        for (i, r) in retriers.iter().enumerate() {
            if !error_matches(r.get("ErrorEquals").unwrap_or(&Value::Null), &e.error) {
                continue;
            }
            let max = r.get("MaxAttempts").and_then(Value::as_u64).unwrap_or(3) as u32;
            if attempts[i] >= max {
                return false;
            }
            let interval = r
                .get("IntervalSeconds")
                .and_then(Value::as_f64)
                .unwrap_or(1.0);
            let rate = r.get("BackoffRate").and_then(Value::as_f64).unwrap_or(2.0);
            let mut delay = interval * rate.powi(attempts[i] as i32);
            if let Some(m) = r.get("MaxDelaySeconds").and_then(Value::as_f64) {
                delay = delay.min(m);
            }
            if str_field(r, "JitterStrategy") == Some("FULL") {
                delay *= ministack_sdk::rand::u32() as f64 / u32::MAX as f64;
            }
            attempts[i] += 1;
            let secs = delay * self.wait_scale;
            if secs > 0.0 {
                self.fx.sleep(secs);
            }
            return true;
        }
        false
    }

    /// Catch: the next state and its input, or None.
    fn catch(
        &mut self,
        state: &Value,
        raw: &Value,
        e: &StateError,
        jsonata: bool,
        ctx: &Value,
    ) -> Result<Option<Flow>, StateError> {
        let Some(catchers) = state.get("Catch").and_then(Value::as_array) else {
            return Ok(None);
        };
        for c in catchers {
            if !error_matches(c.get("ErrorEquals").unwrap_or(&Value::Null), &e.error) {
                continue;
            }
            let next = str_field(c, "Next").unwrap_or_default().to_string();
            let err_out = error_output(e);
            let out = if jsonata {
                let vars = self.states_var(ctx, raw, None, Some(&err_out));
                let out = match c.get("Output") {
                    Some(o) => self.jsonata_value(o, &vars)?,
                    None => err_out,
                };
                self.assign(c.get("Assign"), &vars)?;
                out
            } else {
                apply_result_path(c, raw, err_out)?
            };
            return Ok(Some(Flow::Next(next, out)));
        }
        Ok(None)
    }

    fn task_state(
        &mut self,
        name: &str,
        state: &Value,
        raw: Value,
        top: bool,
        resume: Option<(Resume, Checkpoint)>,
        jsonata: bool,
    ) -> Result<Flow, Stop> {
        let mut attempts: Vec<u32> = vec![];
        let mut pending: Option<Result<Value, StateError>> = None;
        if let Some((r, cp)) = resume {
            attempts = cp.attempts;
            if let Resume::TaskDone(res) = r {
                pending = Some(res);
            }
        }
        let resource = str_field(state, "Resource").unwrap_or_default().to_string();
        loop {
            let retry_count = attempts.iter().sum::<u32>();
            let ctx = self.state_context(name, retry_count, None);
            let result = match pending.take() {
                Some(r) => {
                    // The token's answer, after a suspension.
                    if let Ok(v) = &r {
                        self.task_succeeded_event(&resource, v);
                    }
                    r
                }
                None => match self
                    .invoke_task(name, state, &raw, &resource, &ctx, jsonata, top, &attempts)
                {
                    Err(Stop::Fail(e)) => Err(e),
                    Err(other) => return Err(other),
                    Ok(v) => Ok(v),
                },
            };
            let result = result.and_then(|v| self.task_output(state, &raw, v, jsonata, &ctx));
            match result {
                Ok(out) => {
                    self.exited("Task", name, &out);
                    return Ok(self.after(state, out)?);
                }
                Err(e) => {
                    if self.history.enabled {
                        let timed_out =
                            e.error == "States.Timeout" || e.error == "States.HeartbeatTimeout";
                        let activity = resource.contains(":activity:");
                        let (kind, key) = match (activity, timed_out) {
                            (true, true) => ("ActivityTimedOut", "activityTimedOutEventDetails"),
                            (true, false) => ("ActivityFailed", "activityFailedEventDetails"),
                            (false, true) => ("TaskTimedOut", "taskTimedOutEventDetails"),
                            (false, false) => ("TaskFailed", "taskFailedEventDetails"),
                        };
                        let mut details = json!({"error": e.error, "cause": e.cause});
                        if !activity {
                            details["resource"] = json!(resource_name(&resource));
                            details["resourceType"] = json!(resource_type(&resource));
                        }
                        self.event(kind, Some((key, details)));
                    }
                    if self.should_retry(state, &mut attempts, &e) {
                        continue;
                    }
                    if let Some(flow) = self.catch(state, &raw, &e, jsonata, &ctx)? {
                        return Ok(flow);
                    }
                    return Err(Stop::Fail(e));
                }
            }
        }
    }

    fn task_output(
        &mut self,
        state: &Value,
        raw: &Value,
        result: Value,
        jsonata: bool,
        ctx: &Value,
    ) -> Result<Value, StateError> {
        if jsonata {
            let vars = self.states_var(ctx, raw, Some(&result), None);
            let out = match state.get("Output") {
                Some(o) => self.jsonata_value(o, &vars)?,
                None => result,
            };
            self.assign(state.get("Assign"), &vars)?;
            return Ok(out);
        }
        let selected = match state.get("ResultSelector") {
            Some(sel) => fill_template(sel, &result, ctx)?,
            None => result,
        };
        let v = apply_result_path(state, raw, selected.clone())?;
        let out = apply_output_path(state, v, ctx)?;
        self.assign_jsonpath(state.get("Assign"), &selected, ctx)?;
        Ok(out)
    }

    #[allow(clippy::too_many_arguments)]
    fn invoke_task(
        &mut self,
        name: &str,
        state: &Value,
        raw: &Value,
        resource: &str,
        ctx: &Value,
        jsonata: bool,
        top: bool,
        attempts: &[u32],
    ) -> Result<Value, Stop> {
        let wait_token = resource.ends_with(".waitForTaskToken");
        let activity = resource.contains(":activity:");
        let token = if wait_token || activity {
            Some(self.fx.new_token(name))
        } else {
            None
        };
        let mut ctx = ctx.clone();
        if let Some(t) = &token {
            ctx["Task"] = json!({"Token": t});
        }
        let params = if jsonata {
            let vars = self.states_var(&ctx, raw, None, None);
            match state.get("Arguments") {
                Some(a) => self.jsonata_value(a, &vars)?,
                None => raw.clone(),
            }
        } else {
            let eff = apply_input_path(state, raw, &ctx)?;
            match state.get("Parameters") {
                Some(p) => fill_template(p, &eff, &ctx)?,
                None => eff,
            }
        };
        let secs = |k: &str, kp: &str, this: &Self| -> Result<Option<f64>, StateError> {
            match (state.get(k), str_field(state, kp)) {
                (Some(v), _) if jsonata && v.is_string() => {
                    let vars = this.states_var(&ctx, raw, None, None);
                    Ok(this.jsonata_value(v, &vars)?.as_f64())
                }
                (Some(v), _) => Ok(v.as_f64()),
                (None, Some(p)) => Ok(read_path(p, raw, &ctx)?.as_f64()),
                _ => Ok(None),
            }
        };
        let timeout = secs("TimeoutSeconds", "TimeoutSecondsPath", self)?;
        let heartbeat = secs("HeartbeatSeconds", "HeartbeatSecondsPath", self)?;
        if self.history.enabled {
            if activity {
                self.event(
                    "ActivityScheduled",
                    Some((
                        "activityScheduledEventDetails",
                        json!({"resource": resource, "input": params.to_string()}),
                    )),
                );
            } else {
                self.event(
                    "TaskScheduled",
                    Some((
                        "taskScheduledEventDetails",
                        json!({"resource": resource_name(resource), "resourceType": resource_type(resource), "region": "", "parameters": params.to_string()}),
                    )),
                );
                self.event(
                    "TaskStarted",
                    Some(("taskStartedEventDetails", json!({"resource": resource_name(resource), "resourceType": resource_type(resource)}))),
                );
            }
        }
        if let Some(mocked) = self.fx.mock(name) {
            let v = mocked?;
            self.task_succeeded_event(resource, &v);
            return Ok(v);
        }
        if let Some(token) = token {
            if !activity {
                self.fx.invoke(
                    resource.trim_end_matches(".waitForTaskToken"),
                    &params,
                    name,
                )?;
                if self.history.enabled {
                    self.event(
                        "TaskSubmitted",
                        Some(("taskSubmittedEventDetails", json!({"resource": resource_name(resource), "resourceType": resource_type(resource), "output": "{}"}))),
                    );
                }
            }
            let wait = TokenWait {
                token: token.clone(),
                timeout_secs: timeout.map(|t| t * self.wait_scale.max(0.001)),
                heartbeat_secs: heartbeat.map(|t| t * self.wait_scale.max(0.001)),
                activity: activity.then(|| resource.to_string()),
                input: params,
            };
            let suspending = top && self.durable;
            self.fx.register_wait(&wait, suspending)?;
            if suspending {
                return Err(Stop::Suspend(Box::new(Checkpoint {
                    state: name.to_string(),
                    input: raw.clone(),
                    kind: Pause::Token { token },
                    attempts: attempts.to_vec(),
                    vars: self.vars.clone(),
                })));
            }
            let v = self.fx.block_on_token(&wait)?;
            self.task_succeeded_event(resource, &v);
            return Ok(v);
        }
        let v = self.fx.invoke(resource, &params, name)?;
        self.task_succeeded_event(resource, &v);
        Ok(v)
    }

    pub fn task_succeeded_event(&mut self, resource: &str, v: &Value) {
        if self.history.enabled {
            if resource.contains(":activity:") {
                self.event(
                    "ActivitySucceeded",
                    Some((
                        "activitySucceededEventDetails",
                        json!({"output": v.to_string()}),
                    )),
                );
            } else {
                self.event(
                    "TaskSucceeded",
                    Some(("taskSucceededEventDetails", json!({"resource": resource_name(resource), "resourceType": resource_type(resource), "output": v.to_string()}))),
                );
            }
        }
    }

    fn branch_state(
        &mut self,
        name: &str,
        kind: &str,
        state: &Value,
        raw: Value,
        jsonata: bool,
    ) -> Result<Flow, Stop> {
        let mut attempts = vec![];
        loop {
            let ctx = self.state_context(name, attempts.iter().sum(), None);
            let result = match self.run_branches(name, kind, state, &raw, jsonata, &ctx) {
                Ok(v) => self
                    .task_output(state, &raw, v, jsonata, &ctx)
                    .map_err(Stop::Fail),
                Err(e) => Err(e),
            };
            match result {
                Ok(out) => {
                    if self.history.enabled {
                        self.event(&format!("{kind}StateSucceeded"), None);
                    }
                    self.exited(kind, name, &out);
                    return Ok(self.after(state, out)?);
                }
                Err(Stop::Fail(e)) => {
                    if self.history.enabled {
                        self.event(&format!("{kind}StateFailed"), None);
                    }
                    if self.should_retry(state, &mut attempts, &e) {
                        continue;
                    }
                    if let Some(flow) = self.catch(state, &raw, &e, jsonata, &ctx)? {
                        return Ok(flow);
                    }
                    return Err(Stop::Fail(e));
                }
                Err(other) => return Err(other),
            }
        }
    }

    fn run_branches(
        &mut self,
        name: &str,
        kind: &str,
        state: &Value,
        raw: &Value,
        jsonata: bool,
        ctx: &Value,
    ) -> Result<Value, Stop> {
        let vars = self.states_var(ctx, raw, None, None);
        if kind == "Parallel" {
            let eff = if jsonata {
                match state.get("Arguments") {
                    Some(a) => self.jsonata_value(a, &vars)?,
                    None => raw.clone(),
                }
            } else {
                let eff = apply_input_path(state, raw, ctx)?;
                match state.get("Parameters") {
                    Some(p) => fill_template(p, &eff, ctx)?,
                    None => eff,
                }
            };
            if self.history.enabled {
                self.event("ParallelStateStarted", None);
            }
            let branches = state
                .get("Branches")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let mut out = Vec::new();
            for b in &branches {
                let saved = self.vars.clone();
                let r = self.run(b, None, eff.clone(), false, None);
                self.vars = saved;
                out.push(r?);
            }
            return Ok(Value::Array(out));
        }
        // Map
        let eff = if jsonata {
            raw.clone()
        } else {
            apply_input_path(state, raw, ctx)?
        };
        let mut items: Vec<Value> = if let Some(reader) = state.get("ItemReader") {
            self.read_items(reader, &eff, ctx, jsonata, &vars)?
        } else if jsonata {
            match state.get("Items") {
                Some(i) => self.jsonata_value(i, &vars)?,
                None => eff.clone(),
            }
            .as_array()
            .cloned()
            .ok_or_else(|| StateError::runtime("The Map state's Items is not an array"))?
        } else {
            let path = str_field(state, "ItemsPath").unwrap_or("$");
            read_path(path, &eff, ctx)?
                .as_array()
                .cloned()
                .ok_or_else(|| {
                    StateError::runtime(format!("Invalid path '{path}': the value is not an array"))
                })?
        };
        if let Some(b) = state.get("ItemBatcher") {
            let max = b
                .get("MaxItemsPerBatch")
                .and_then(Value::as_u64)
                .unwrap_or(items.len().max(1) as u64)
                .max(1) as usize;
            let batch_input = match b.get("BatchInput") {
                Some(bi) if !jsonata => fill_template(bi, &eff, ctx)?,
                Some(bi) => self.jsonata_value(bi, &vars)?,
                None => json!({}),
            };
            items = items
                .chunks(max)
                .map(|c| {
                    let mut o = json!({"Items": c});
                    if let Some(bo) = batch_input.as_object() {
                        for (k, v) in bo {
                            o[k] = v.clone();
                        }
                    }
                    o
                })
                .collect();
        }
        let processor = state
            .get("ItemProcessor")
            .or_else(|| state.get("Iterator"))
            .cloned()
            .ok_or_else(|| {
                StateError::runtime(format!("The Map state {name} has no ItemProcessor"))
            })?;
        let selector = state
            .get("ItemSelector")
            .or_else(|| state.get("Parameters"));
        let tolerated_count = state.get("ToleratedFailureCount").and_then(Value::as_u64);
        let tolerated_pct = state
            .get("ToleratedFailurePercentage")
            .and_then(Value::as_f64);
        let distributed = processor
            .get("ProcessorConfig")
            .and_then(|p| str_field(p, "Mode"))
            == Some("DISTRIBUTED");
        if self.history.enabled {
            self.event(
                "MapStateStarted",
                Some((
                    "mapStateStartedEventDetails",
                    json!({"length": items.len()}),
                )),
            );
        }
        let writer = state.get("ResultWriter");
        let mut written: Vec<(&str, Value)> = Vec::new();
        let mut out = Vec::with_capacity(items.len());
        let mut failures = 0u64;
        let total = items.len();
        let mut last_error = None;
        for (i, item) in items.into_iter().enumerate() {
            let item_ctx = {
                let mut c = ctx.clone();
                c["Map"] = json!({"Item": {"Index": i, "Value": item}});
                c
            };
            let input = match selector {
                Some(sel) if jsonata => {
                    let mut v = self.states_var(&item_ctx, raw, None, None);
                    v.insert("states".into(), {
                        let mut s = v["states"].clone();
                        s["context"] = item_ctx.clone();
                        s
                    });
                    self.jsonata_value(sel, &v)?
                }
                Some(sel) => fill_template(sel, &eff, &item_ctx)?,
                None => item,
            };
            if self.history.enabled {
                self.event(
                    "MapIterationStarted",
                    Some((
                        "mapIterationStartedEventDetails",
                        json!({"name": name, "index": i}),
                    )),
                );
            }
            let saved = self.vars.clone();
            let item_input = writer.is_some().then(|| input.clone());
            let r = self.run(&processor, None, input, false, None);
            self.vars = saved;
            if let Some(inp) = item_input {
                let (status, output) = match &r {
                    Ok(v) => ("SUCCEEDED", v.clone()),
                    Err(Stop::Fail(e)) => ("FAILED", json!({"Error": e.error, "Cause": e.cause})),
                    Err(_) => ("ABORTED", Value::Null),
                };
                written.push((
                    status,
                    json!({
                        "Input": inp.to_string(),
                        "Output": output.to_string(),
                        "Status": status,
                        "Name": format!("{i}"),
                    }),
                ));
            }
            match r {
                Ok(v) => {
                    if self.history.enabled {
                        self.event(
                            "MapIterationSucceeded",
                            Some((
                                "mapIterationSucceededEventDetails",
                                json!({"name": name, "index": i}),
                            )),
                        );
                    }
                    out.push(v);
                }
                Err(Stop::Fail(e)) => {
                    if self.history.enabled {
                        self.event(
                            "MapIterationFailed",
                            Some((
                                "mapIterationFailedEventDetails",
                                json!({"name": name, "index": i}),
                            )),
                        );
                    }
                    if !distributed && tolerated_count.is_none() && tolerated_pct.is_none() {
                        return Err(Stop::Fail(e));
                    }
                    failures += 1;
                    out.push(json!({"Error": e.error, "Cause": e.cause}));
                    last_error = Some(e);
                }
                Err(other) => return Err(other),
            }
        }
        if failures > 0 {
            let ok_count = tolerated_count.is_some_and(|c| failures <= c);
            let ok_pct = tolerated_pct
                .is_some_and(|p| (failures as f64) * 100.0 / (total.max(1) as f64) <= p);
            if !ok_count && !ok_pct {
                let e = last_error.unwrap_or_else(|| StateError::runtime("failed"));
                return Err(Stop::Fail(StateError::new(
                    "States.ExceedToleratedFailureThreshold",
                    format!(
                        "The specified tolerated failure threshold was exceeded ({failures} of {total} items failed; last: {}: {})",
                        e.error, e.cause
                    ),
                )));
            }
        }
        if let Some(w) = writer {
            return Ok(self.write_results(name, w, written, &eff, ctx, jsonata)?);
        }
        Ok(Value::Array(out))
    }

    /// ResultWriter: the items' results as `SUCCEEDED_0.json` /
    /// `FAILED_0.json` and a `manifest.json` under
    /// `<Prefix>/<map run id>/`; the state's result names the manifest.
    fn write_results(
        &mut self,
        name: &str,
        writer: &Value,
        written: Vec<(&str, Value)>,
        eff: &Value,
        ctx: &Value,
        jsonata: bool,
    ) -> Result<Value, StateError> {
        let params = match writer.get("Parameters").or_else(|| writer.get("Arguments")) {
            Some(p) if jsonata => {
                let vars = self.states_var(ctx, eff, None, None);
                self.jsonata_value(p, &vars)?
            }
            Some(p) => fill_template(p, eff, ctx)?,
            None => json!({}),
        };
        let bucket = str_field(&params, "Bucket").unwrap_or_default().to_string();
        let prefix = str_field(&params, "Prefix")
            .unwrap_or_default()
            .trim_end_matches('/')
            .to_string();
        let exec_id = ctx
            .pointer("/Execution/Id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let run_id = ministack_sdk::ids::uuid();
        let map_run_arn = format!(
            "{}/{name}:{run_id}",
            exec_id
                .replace(":execution:", ":mapRun:")
                .replace(":express:", ":mapRun:")
        );
        let base = if prefix.is_empty() {
            run_id.clone()
        } else {
            format!("{prefix}/{run_id}")
        };
        let mut files = json!({"FAILED": [], "PENDING": [], "SUCCEEDED": []});
        for status in ["SUCCEEDED", "FAILED"] {
            let rows: Vec<&Value> = written
                .iter()
                .filter(|(s, _)| *s == status)
                .map(|(_, v)| v)
                .collect();
            if rows.is_empty() {
                continue;
            }
            let key = format!("{base}/{status}_0.json");
            let body = serde_json::to_vec(&rows).unwrap_or_default();
            self.fx.write_s3(&bucket, &key, &body)?;
            files[status] = json!([{"Key": key, "Size": body.len()}]);
        }
        let manifest_key = format!("{base}/manifest.json");
        let manifest =
            json!({"DestinationBucket": bucket, "MapRunArn": map_run_arn, "ResultFiles": files});
        self.fx
            .write_s3(&bucket, &manifest_key, manifest.to_string().as_bytes())?;
        Ok(
            json!({"MapRunArn": map_run_arn, "ResultWriterDetails": {"Bucket": bucket, "Key": manifest_key}}),
        )
    }

    fn read_items(
        &mut self,
        reader: &Value,
        eff: &Value,
        ctx: &Value,
        jsonata: bool,
        vars: &Map<String, Value>,
    ) -> Result<Vec<Value>, Stop> {
        let resource = str_field(reader, "Resource").unwrap_or_default();
        let params = match reader.get("Parameters").or_else(|| reader.get("Arguments")) {
            Some(p) if jsonata => self.jsonata_value(p, vars)?,
            Some(p) => fill_template(p, eff, ctx)?,
            None => json!({}),
        };
        let cfg = reader.get("ReaderConfig").cloned().unwrap_or(json!({}));
        let max = cfg
            .get("MaxItems")
            .and_then(Value::as_u64)
            .map(|m| m as usize);
        let mut items = if resource.ends_with("s3:listObjectsV2") {
            self.fx.list_s3(&params)?
        } else if resource.ends_with("s3:getObject") {
            let bucket = str_field(&params, "Bucket").unwrap_or_default().to_string();
            let key = str_field(&params, "Key").unwrap_or_default().to_string();
            let text = self.fx.read_s3(&bucket, &key)?;
            match str_field(&cfg, "InputType").unwrap_or("JSON") {
                "CSV" => parse_csv(&text, &cfg)?,
                "JSONL" => text
                    .lines()
                    .filter(|l| !l.trim().is_empty())
                    .map(|l| {
                        serde_json::from_str(l)
                            .map_err(|e| StateError::new("States.ItemReaderFailed", e.to_string()))
                    })
                    .collect::<Result<_, _>>()?,
                _ => serde_json::from_str::<Value>(&text)
                    .map_err(|e| StateError::new("States.ItemReaderFailed", e.to_string()))?
                    .as_array()
                    .cloned()
                    .ok_or_else(|| {
                        StateError::new(
                            "States.ItemReaderFailed",
                            "The JSON object is not an array",
                        )
                    })?,
            }
        } else {
            return Err(StateError::new(
                "States.ItemReaderFailed",
                format!("Unsupported ItemReader resource {resource}"),
            )
            .into());
        };
        if let Some(m) = max {
            items.truncate(m);
        }
        Ok(items)
    }
}

fn parse_csv(text: &str, cfg: &Value) -> Result<Vec<Value>, StateError> {
    let delim = match str_field(cfg, "CSVDelimiter").unwrap_or("COMMA") {
        "PIPE" => '|',
        "SEMICOLON" => ';',
        "SPACE" => ' ',
        "TAB" => '\t',
        _ => ',',
    };
    let mut lines = text.lines().filter(|l| !l.is_empty());
    let headers: Vec<String> = match cfg.get("CSVHeaders").and_then(Value::as_array) {
        Some(h) if str_field(cfg, "CSVHeaderLocation") == Some("GIVEN") => h
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => split_csv(lines.next().unwrap_or_default(), delim),
    };
    Ok(lines
        .map(|l| {
            let cells = split_csv(l, delim);
            let mut o = Map::new();
            for (i, h) in headers.iter().enumerate() {
                o.insert(
                    h.clone(),
                    Value::String(cells.get(i).cloned().unwrap_or_default()),
                );
            }
            Value::Object(o)
        })
        .collect())
}

fn split_csv(line: &str, delim: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            c if c == delim && !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}

fn number_secs(v: &Value) -> Result<f64, StateError> {
    v.as_f64()
        .ok_or_else(|| StateError::runtime(format!("The wait seconds {v} is not a number")))
}

fn timestamp_secs(v: &Value) -> Result<f64, StateError> {
    v.as_str()
        .and_then(ministack_sdk::time::parse_iso8601)
        .ok_or_else(|| {
            StateError::runtime(format!("The timestamp {v} is not an ISO 8601 timestamp"))
        })
}

pub fn resource_type(resource: &str) -> String {
    // arn:aws:states:::lambda:invoke → lambda; aws-sdk:dynamodb:putItem → aws-sdk:dynamodb
    let parts: Vec<&str> = resource.split(':').collect();
    match parts.get(2) {
        Some(&"states") if parts.len() >= 7 => {
            if parts[5] == "aws-sdk" {
                format!("aws-sdk:{}", parts[6])
            } else {
                parts[5].to_string()
            }
        }
        Some(s) => s.to_string(),
        None => String::new(),
    }
}

pub fn resource_name(resource: &str) -> String {
    let parts: Vec<&str> = resource.split(':').collect();
    if parts.get(2) == Some(&"states") && parts.len() >= 7 {
        parts[parts.len() - 1].to_string()
    } else {
        resource.to_string()
    }
}

fn cmp_values(a: &Value, b: &Value, kind: &str) -> Option<std::cmp::Ordering> {
    match kind {
        "String" => Some(a.as_str()?.cmp(b.as_str()?)),
        "Numeric" => a.as_f64()?.partial_cmp(&b.as_f64()?),
        "Boolean" => Some(a.as_bool()?.cmp(&b.as_bool()?)),
        "Timestamp" => ministack_sdk::time::parse_iso8601(a.as_str()?)
            .partial_cmp(&Some(ministack_sdk::time::parse_iso8601(b.as_str()?)?)),
        _ => None,
    }
}

fn glob(pattern: &str, s: &str) -> bool {
    // `*` matches any run of characters; `\*` is a literal star.
    let mut parts: Vec<String> = vec![String::new()];
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    parts.last_mut().expect("one").push(n);
                }
            }
            '*' => parts.push(String::new()),
            c => parts.last_mut().expect("one").push(c),
        }
    }
    if parts.len() == 1 {
        return parts[0] == s;
    }
    let mut rest = s;
    let first = &parts[0];
    if !rest.starts_with(first.as_str()) {
        return false;
    }
    rest = &rest[first.len()..];
    let last = parts.last().expect("two").clone();
    for p in &parts[1..parts.len() - 1] {
        match rest.find(p.as_str()) {
            Some(i) => rest = &rest[i + p.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last.as_str())
}

/// A JSONPath choice rule (with And, Or, Not) against the state input.
pub fn choice_matches(rule: &Value, input: &Value, ctx: &Value) -> Result<bool, StateError> {
    if let Some(all) = rule.get("And").and_then(Value::as_array) {
        for r in all {
            if !choice_matches(r, input, ctx)? {
                return Ok(false);
            }
        }
        return Ok(true);
    }
    if let Some(any) = rule.get("Or").and_then(Value::as_array) {
        for r in any {
            if choice_matches(r, input, ctx)? {
                return Ok(true);
            }
        }
        return Ok(false);
    }
    if let Some(not) = rule.get("Not") {
        return Ok(!choice_matches(not, input, ctx)?);
    }
    let var = str_field(rule, "Variable")
        .ok_or_else(|| StateError::runtime("A choice rule has no Variable"))?;
    let p = Path::parse(var).map_err(StateError::runtime)?;
    let value = p.read_from(input, ctx);
    let obj = rule.as_object().expect("rule object");
    for (k, expected) in obj {
        if k == "Variable" || k == "Next" || k == "Comment" {
            continue;
        }
        let present = value.is_some();
        let v = value.clone().unwrap_or(Value::Null);
        let is_ts = |v: &Value| {
            v.as_str()
                .and_then(ministack_sdk::time::parse_iso8601)
                .is_some()
        };
        let t = |b: bool| Ok(expected.as_bool() == Some(b));
        match k.as_str() {
            "IsPresent" => return t(present),
            "IsNull" => return t(present && v.is_null()),
            "IsNumeric" => return t(v.is_number()),
            "IsString" => return t(v.is_string()),
            "IsBoolean" => return t(v.is_boolean()),
            "IsTimestamp" => return t(is_ts(&v)),
            _ => {}
        }
        if !present {
            return Err(StateError::runtime(format!(
                "Invalid path '{var}': The choice state's condition path references an invalid value."
            )));
        }
        let (op, via_path) = match k.strip_suffix("Path") {
            Some(o) => (o, true),
            None => (k.as_str(), false),
        };
        let rhs = if via_path {
            let ep = expected.as_str().unwrap_or_default();
            read_path(ep, input, ctx)?
        } else {
            expected.clone()
        };
        if op == "StringMatches" {
            return Ok(match (v.as_str(), rhs.as_str()) {
                (Some(s), Some(pat)) => glob(pat, s),
                _ => false,
            });
        }
        for kind in ["String", "Numeric", "Boolean", "Timestamp"] {
            if let Some(cmp) = op.strip_prefix(kind) {
                let Some(ord) = cmp_values(&v, &rhs, kind) else {
                    return Ok(false);
                };
                use std::cmp::Ordering::*;
                return Ok(match cmp {
                    "Equals" => ord == Equal,
                    "LessThan" => ord == Less,
                    "GreaterThan" => ord == Greater,
                    "LessThanEquals" => ord != Greater,
                    "GreaterThanEquals" => ord != Less,
                    _ => return Err(StateError::runtime(format!("Unknown comparison {k}"))),
                });
            }
        }
        return Err(StateError::runtime(format!("Unknown comparison {k}")));
    }
    Err(StateError::runtime("A choice rule has no comparison"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A world whose only task resource fails `fails` times, then echoes.
    struct Fake {
        fails: u32,
        calls: u32,
        slept: f64,
    }

    impl Effects for Fake {
        fn invoke(&mut self, _: &str, params: &Value, _: &str) -> Result<Value, StateError> {
            self.calls += 1;
            if self.calls <= self.fails {
                return Err(StateError::new("Flaky", "try again"));
            }
            Ok(json!({"echo": params}))
        }
        fn new_token(&mut self, _: &str) -> String {
            "tok".into()
        }
        fn register_wait(&mut self, _: &TokenWait, _: bool) -> Result<(), StateError> {
            Ok(())
        }
        fn block_on_token(&mut self, _: &TokenWait) -> Result<Value, StateError> {
            Ok(json!("answered"))
        }
        fn sleep(&mut self, secs: f64) {
            self.slept += secs;
        }
        fn now(&self) -> f64 {
            1_700_000_000.0
        }
        fn mock(&mut self, _: &str) -> Option<Result<Value, StateError>> {
            None
        }
        fn aborted(&mut self) -> bool {
            false
        }
        fn read_s3(&mut self, _: &str, _: &str) -> Result<String, StateError> {
            Ok("a,b\n1,2\n".into())
        }
        fn write_s3(&mut self, _: &str, _: &str, _: &[u8]) -> Result<(), StateError> {
            Ok(())
        }
        fn list_s3(&mut self, _: &Value) -> Result<Vec<Value>, StateError> {
            Ok(vec![])
        }
    }

    fn run_with(
        fake: &mut Fake,
        def: Value,
        input: Value,
        durable: bool,
    ) -> (Result<Value, Stop>, Vec<String>) {
        let mut r = Runner {
            fx: fake,
            history: History {
                enabled: true,
                ..Default::default()
            },
            context: json!({"Execution": {"Id": "arn:aws:states:us-east-1:1:execution:m:e"}}),
            wait_scale: 1.0,
            durable,
            vars: Map::new(),
            last: None,
        };
        let out = r.run(&def, None, input, true, None);
        let types = r
            .history
            .events
            .iter()
            .map(|e| e["type"].as_str().unwrap().to_string())
            .collect();
        (out, types)
    }

    #[test]
    fn retry_backoff_then_success_and_history() {
        let def = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:x:y",
            "Parameters": {"v.$": "$.v"}, "ResultSelector": {"got.$": "$.echo.v"}, "ResultPath": "$.r",
            "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 2, "BackoffRate": 3, "MaxAttempts": 2}], "End": true}}});
        let mut fake = Fake {
            fails: 2,
            calls: 0,
            slept: 0.0,
        };
        let (out, types) = run_with(&mut fake, def, json!({"v": 5}), false);
        assert_eq!(out.ok().unwrap(), json!({"v": 5, "r": {"got": 5}}));
        assert_eq!(fake.slept, 2.0 + 6.0);
        assert_eq!(types.iter().filter(|t| *t == "TaskFailed").count(), 2);
        assert_eq!(types.first().map(String::as_str), Some("TaskStateEntered"));
        assert_eq!(types.last().map(String::as_str), Some("TaskStateExited"));
    }

    #[test]
    fn exhausted_retries_are_caught_and_waits_suspend_at_the_top() {
        let def = json!({"StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": "r", "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 1}],
                  "Catch": [{"ErrorEquals": ["Flaky"], "ResultPath": "$.e", "Next": "W"}], "End": true},
            "W": {"Type": "Wait", "Seconds": 30, "End": true}}});
        let mut fake = Fake {
            fails: 9,
            calls: 0,
            slept: 0.0,
        };
        // A durable run first commits the task state as its place to start.
        let (out, _) = run_with(&mut fake, def.clone(), json!({}), true);
        let Err(Stop::Suspend(cp)) = out else {
            panic!("expected a suspension")
        };
        assert_eq!(
            (cp.state.as_str(), &cp.kind, fake.calls),
            ("T", &Pause::Step, 0)
        );
        let mut r = Runner {
            fx: &mut fake,
            history: History::default(),
            context: json!({}),
            wait_scale: 1.0,
            durable: true,
            vars: Map::new(),
            last: None,
        };
        let out = r.run(&def, Some("T"), json!({}), true, Some((Resume::Step, *cp)));
        let Err(Stop::Suspend(cp)) = out else {
            panic!("expected a suspension")
        };
        assert_eq!(cp.state, "W");
        assert_eq!(cp.input["e"]["Error"], json!("Flaky"));
        assert_eq!(
            cp.kind,
            Pause::Wait {
                due_ms: 1_700_000_030_000
            }
        );
        // Not durable: the wait blocks in place.
        let mut fake = Fake {
            fails: 9,
            calls: 0,
            slept: 0.0,
        };
        let (out, _) = run_with(&mut fake, def, json!({}), false);
        assert!(out.is_ok());
        assert_eq!(fake.slept, 1.0 + 30.0);
    }

    #[test]
    fn map_reads_csv_and_batches() {
        let def = json!({"StartAt": "M", "States": {"M": {"Type": "Map",
            "ItemReader": {"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "CSV"},
                           "Parameters": {"Bucket": "b", "Key": "k"}},
            "ItemBatcher": {"MaxItemsPerBatch": 5},
            "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}, "End": true}}});
        let mut fake = Fake {
            fails: 0,
            calls: 0,
            slept: 0.0,
        };
        let (out, _) = run_with(&mut fake, def, json!({}), false);
        assert_eq!(
            out.ok().unwrap(),
            json!([{"Items": [{"a": "1", "b": "2"}]}])
        );
    }

    #[test]
    fn choice_rules() {
        let ctx = json!({});
        let input = json!({"n": 5, "s": "abc.log", "b": true, "t": "2024-01-01T00:00:00Z", "m": 5});
        let m = |r: Value| choice_matches(&r, &input, &ctx).unwrap();
        assert!(m(json!({"Variable": "$.n", "NumericGreaterThan": 3})));
        assert!(m(json!({"Variable": "$.n", "NumericEqualsPath": "$.m"})));
        assert!(m(json!({"Variable": "$.s", "StringMatches": "*.log"})));
        assert!(!m(json!({"Variable": "$.s", "StringMatches": "*.txt"})));
        assert!(m(json!({"Variable": "$.b", "BooleanEquals": true})));
        assert!(m(
            json!({"Variable": "$.t", "TimestampLessThan": "2025-01-01T00:00:00Z"})
        ));
        assert!(m(json!({"Variable": "$.zz", "IsPresent": false})));
        assert!(m(json!({"Not": {"Variable": "$.n", "NumericLessThan": 3}})));
        assert!(m(
            json!({"And": [{"Variable": "$.n", "IsNumeric": true}, {"Variable": "$.s", "IsString": true}]})
        ));
        assert!(m(
            json!({"Or": [{"Variable": "$.n", "StringEquals": "x"}, {"Variable": "$.s", "StringEquals": "abc.log"}]})
        ));
    }

    #[test]
    fn templates_and_paths() {
        let input = json!({"a": {"b": 1}, "list": [1, 2]});
        let ctx = json!({"Execution": {"Id": "x"}});
        let t = fill_template(
            &json!({"x.$": "$.a.b", "id.$": "$$.Execution.Id", "n.$": "States.ArrayLength($.list)", "k": {"y.$": "$.list[0]"}}),
            &input,
            &ctx,
        )
        .unwrap();
        assert_eq!(t, json!({"x": 1, "id": "x", "n": 2, "k": {"y": 1}}));
        let s = json!({"ResultPath": "$.r"});
        assert_eq!(
            apply_result_path(&s, &input, json!(3)).unwrap()["r"],
            json!(3)
        );
        assert!(error_matches(&json!(["States.ALL"]), "Custom"));
        assert!(error_matches(
            &json!(["States.TaskFailed"]),
            "Lambda.Unknown"
        ));
        assert!(!error_matches(
            &json!(["States.TaskFailed"]),
            "States.Timeout"
        ));
        assert_eq!(split_csv("a,\"b,c\",d", ','), vec!["a", "b,c", "d"]);
        assert!(glob("a*c", "abbbc"));
    }
}
