//! The wasmtime engine every plugin runs on, tuned per the measurements in
//! shared/design/wasm-runtime-notes.md: pooling allocator with resident
//! pages reset through PAGEMAP_SCAN (fresh instance per request ≈ 16 µs),
//! epoch interruption for time limits (fuel costs twice as much).

use std::time::Duration;

use wasmtime::{
    Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, ProfilingStrategy,
};

/// How often the epoch advances: the granularity of plugin time limits and
/// of yielding a busy plugin back to the scheduler.
pub const EPOCH_TICK: Duration = Duration::from_millis(5);

#[derive(Clone, Debug, Hash)]
pub struct EngineSettings {
    /// Plugin instances alive at once (requests in flight, incl. long polls).
    pub max_instances: u32,
    /// The largest per-plugin memory cap, in bytes.
    pub max_memory_bytes: u64,
}

pub fn build(settings: &EngineSettings) -> wasmtime::Result<Engine> {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    config.parallel_compilation(true);
    // MINISTACK_WASM_PROFILER=perfmap writes /tmp/perf-<pid>.map, so that
    // perf (and callgrind, by address) can name plugin functions
    // (docs/performance.md, "How it was measured").
    if std::env::var("MINISTACK_WASM_PROFILER").as_deref() == Ok("perfmap") {
        config.profiler(ProfilingStrategy::PerfMap);
    }

    let n = settings.max_instances.max(1);
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(n)
        .total_memories(n)
        .total_stacks(n)
        // A Rust wasip2 component holds ~3 core instances and 2 tables.
        .total_core_instances(n.saturating_mul(8))
        .total_tables(n.saturating_mul(4))
        .max_memory_size(settings.max_memory_bytes as usize)
        .linear_memory_keep_resident(1 << 20)
        .table_keep_resident(64 << 10)
        .max_unused_warm_slots(32)
        .pagemap_scan(Enabled::Auto);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    Engine::new(&config)
}

/// Advances the engine's epoch forever on a small thread of its own.
pub fn start_ticker(engine: &Engine) {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("epoch-ticker".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        })
        .expect("spawn epoch ticker");
}
