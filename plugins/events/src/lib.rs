//! Amazon EventBridge as a ministack plugin.
//!
//! Buses, rules, targets, archives, replays, connections, API destinations,
//! endpoints and partner event sources live per account and region (partner
//! sources in a global table, as they cross accounts). PutEvents commits the
//! events and schedules their delivery as a task, so it never waits on
//! targets; targets are other plugins reached through `services.call` (any
//! account and region) or HTTP endpoints (API destinations, the `http`
//! capability). Scheduled rules compute their next fire time and schedule a
//! task for exactly then. The pattern language (`pattern`), schedule
//! expressions (`schedule`) and input transformation (`transform`) are pure
//! modules with their own tests.

use ministack_sdk::prelude::*;

mod archives;
mod buses;
mod connections;
mod deliver;
mod event;
mod model;
pub mod pattern;
mod resources;
mod rules;
pub mod schedule;
mod sources;

/// Small blocks from free lists, not dlmalloc each time (see
/// `ministack_sdk::alloc`; docs/performance.md, "Plugin code").
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: ministack_sdk::alloc::SmallBlocks = ministack_sdk::alloc::SmallBlocks::new();
pub mod targets;
pub mod transform;

pub struct Events;

impl Service for Events {
    const NAME: &'static str = "events";
    const MODEL: &'static str = include_str!("../model/service-2.json");

    fn router() -> Router {
        Router::new()
            .resources(resources::types())
            // buses, permissions, tags
            .op("CreateEventBus", buses::create_event_bus)
            .op("DeleteEventBus", buses::delete_event_bus)
            .op("DescribeEventBus", buses::describe_event_bus)
            .op("UpdateEventBus", buses::update_event_bus)
            .op("ListEventBuses", buses::list_event_buses)
            .op("PutPermission", buses::put_permission)
            .op("RemovePermission", buses::remove_permission)
            .op("TagResource", buses::tag_resource)
            .op("UntagResource", buses::untag_resource)
            .op("ListTagsForResource", buses::list_tags_for_resource)
            // rules and targets
            .op("PutRule", rules::put_rule)
            .op("DescribeRule", rules::describe_rule)
            .op("DeleteRule", rules::delete_rule)
            .op("EnableRule", rules::enable_rule)
            .op("DisableRule", rules::disable_rule)
            .op("ListRules", rules::list_rules)
            .op("PutTargets", rules::put_targets)
            .op("RemoveTargets", rules::remove_targets)
            .op("ListTargetsByRule", rules::list_targets_by_rule)
            .op("ListRuleNamesByTarget", rules::list_rule_names_by_target)
            .op("TestEventPattern", rules::test_event_pattern)
            // events
            .op_text("PutEvents", deliver::put_events)
            .op("PutPartnerEvents", deliver::put_partner_events)
            // archives and replays
            .op("CreateArchive", archives::create_archive)
            .op("DescribeArchive", archives::describe_archive)
            .op("UpdateArchive", archives::update_archive)
            .op("DeleteArchive", archives::delete_archive)
            .op("ListArchives", archives::list_archives)
            .op("StartReplay", archives::start_replay)
            .op("DescribeReplay", archives::describe_replay)
            .op("CancelReplay", archives::cancel_replay)
            .op("ListReplays", archives::list_replays)
            // connections and API destinations
            .op("CreateConnection", connections::create_connection)
            .op("DescribeConnection", connections::describe_connection)
            .op("UpdateConnection", connections::update_connection)
            .op("DeauthorizeConnection", connections::deauthorize_connection)
            .op("DeleteConnection", connections::delete_connection)
            .op("ListConnections", connections::list_connections)
            .op("CreateApiDestination", connections::create_api_destination)
            .op(
                "DescribeApiDestination",
                connections::describe_api_destination,
            )
            .op("UpdateApiDestination", connections::update_api_destination)
            .op("DeleteApiDestination", connections::delete_api_destination)
            .op("ListApiDestinations", connections::list_api_destinations)
            .op(
                connections::INTERNAL_INVOKE,
                connections::internal_invoke_api_destination,
            )
            .op(
                connections::INTERNAL_FETCH_OAUTH_TOKEN,
                connections::internal_fetch_oauth_token,
            )
            // partner event sources and endpoints
            .op(
                "CreatePartnerEventSource",
                sources::create_partner_event_source,
            )
            .op(
                "DeletePartnerEventSource",
                sources::delete_partner_event_source,
            )
            .op(
                "DescribePartnerEventSource",
                sources::describe_partner_event_source,
            )
            .op(
                "ListPartnerEventSources",
                sources::list_partner_event_sources,
            )
            .op(
                "ListPartnerEventSourceAccounts",
                sources::list_partner_event_source_accounts,
            )
            .op("DescribeEventSource", sources::describe_event_source)
            .op("ListEventSources", sources::list_event_sources)
            .op("ActivateEventSource", sources::activate_event_source)
            .op("DeactivateEventSource", sources::deactivate_event_source)
            .op("CreateEndpoint", sources::create_endpoint)
            .op("DescribeEndpoint", sources::describe_endpoint)
            .op("UpdateEndpoint", sources::update_endpoint)
            .op("DeleteEndpoint", sources::delete_endpoint)
            .op("ListEndpoints", sources::list_endpoints)
            // tasks
            .task(deliver::DELIVER, deliver::deliver_task)
            .task(deliver::RETRY, deliver::retry)
            .task(rules::FIRE, rules::fire)
            .task(archives::REPLAY, archives::replay)
            .task(archives::RESUME_REPLAYS, archives::resume_replays)
            .task(ministack_sdk::tasks::START_TASK, archives::on_start)
    }
}

export_plugin!(Events);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn implements_every_operation_of_the_model() {
        assert_eq!(
            ministack_sdk::coverage::<Events>(),
            ministack_sdk::Coverage::default()
        );
    }
}
