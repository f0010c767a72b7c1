//! AWS Step Functions as a ministack plugin.
//!
//! State machines (STANDARD and EXPRESS), versions, aliases, activities and
//! tags are records of this plugin; executions run in its interpreter
//! ([`interp`]): JSONPath ([`paths`], [`intrinsics`]) and JSONata
//! ([`jsonata`]). A STANDARD execution progresses in durable tasks: a Wait
//! state or a task waiting for its token stores a checkpoint and a task that
//! resumes it, so executions survive a restart (`PERSIST_STATE=1`). Task
//! states reach every plugin of the bundle through `services.call`
//! ([`integrations`]). Settings: `SFN_WAIT_SCALE` (multiplies every wait and
//! retry interval), `SFN_MOCK_CONFIG` (a Step Functions Local mock config
//! file, used for executions started as `<stateMachineArn>#<TestCase>`).

use ministack_sdk::prelude::*;

mod exec;
mod integrations;
pub mod interp;
pub mod intrinsics;
pub mod jsonata;
mod machines;
pub mod paths;
mod resources;
pub mod validate;

ministack_sdk::include_shapes!(pub mod shapes);

pub struct StepFunctions;

impl Service for StepFunctions {
    const NAME: &'static str = "stepfunctions";
    const MODEL: &'static str = include_str!("../model/service-2.json");

    fn router() -> Router {
        Router::new()
            .resources(resources::types())
            // state machines, versions, aliases
            .op("CreateStateMachine", machines::create_state_machine)
            .op("DescribeStateMachine", machines::describe_state_machine)
            .op("UpdateStateMachine", machines::update_state_machine)
            .op("DeleteStateMachine", machines::delete_state_machine)
            .op("ListStateMachines", machines::list_state_machines)
            .op(
                "PublishStateMachineVersion",
                machines::publish_state_machine_version,
            )
            .op(
                "ListStateMachineVersions",
                machines::list_state_machine_versions,
            )
            .op(
                "DeleteStateMachineVersion",
                machines::delete_state_machine_version,
            )
            .op(
                "CreateStateMachineAlias",
                machines::create_state_machine_alias,
            )
            .op(
                "DescribeStateMachineAlias",
                machines::describe_state_machine_alias,
            )
            .op(
                "UpdateStateMachineAlias",
                machines::update_state_machine_alias,
            )
            .op(
                "DeleteStateMachineAlias",
                machines::delete_state_machine_alias,
            )
            .op(
                "ListStateMachineAliases",
                machines::list_state_machine_aliases,
            )
            .op(
                "ValidateStateMachineDefinition",
                machines::validate_state_machine_definition,
            )
            // activities and tags
            .op("CreateActivity", machines::create_activity)
            .op("DescribeActivity", machines::describe_activity)
            .op("DeleteActivity", machines::delete_activity)
            .op("ListActivities", machines::list_activities)
            .op("TagResource", machines::tag_resource)
            .op("UntagResource", machines::untag_resource)
            .op("ListTagsForResource", machines::list_tags_for_resource)
            // executions
            .op("StartExecution", exec::start_execution)
            .op("StartSyncExecution", exec::start_sync_execution)
            .op("DescribeExecution", exec::describe_execution)
            .op(
                "DescribeStateMachineForExecution",
                exec::describe_state_machine_for_execution,
            )
            .op("StopExecution", exec::stop_execution)
            .op("ListExecutions", exec::list_executions)
            .op("GetExecutionHistory", exec::get_execution_history)
            .op("RedriveExecution", exec::redrive_execution)
            .op("DescribeMapRun", exec::describe_map_run)
            .op("ListMapRuns", exec::list_map_runs)
            .op("UpdateMapRun", exec::update_map_run)
            .op("TestState", exec::test_state)
            // task tokens and activities
            .op("SendTaskSuccess", exec::send_task_success)
            .op("SendTaskFailure", exec::send_task_failure)
            .op("SendTaskHeartbeat", exec::send_task_heartbeat)
            .op("GetActivityTask", exec::get_activity_task)
            // durable progress
            .task(exec::RUN, exec::run_task)
            .task(exec::EXPRESS, exec::express_task)
            .task(exec::WAKE, exec::wake_task)
            .task(exec::RESUME, exec::resume_task)
            .task(exec::TIMEOUT, exec::timeout_task)
            .task(exec::EXEC_TIMEOUT, exec::exec_timeout_task)
            .task(exec::SWEEP, exec::sweep_task)
            .task(ministack_sdk::tasks::START_TASK, exec::on_start)
    }
}

export_plugin!(StepFunctions);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn implements_every_operation_of_the_model() {
        assert_eq!(
            ministack_sdk::coverage::<StepFunctions>(),
            ministack_sdk::Coverage::default()
        );
    }
}
