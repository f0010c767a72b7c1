//! `ministack`: a local AWS cloud whose services are WebAssembly plugins.
//!
//! A request's path through the host, one module each:
//! [`server`] → [`gateway`] → [`internal`] | [`auth`] → [`router`] →
//! protocol decode (`ministack-protocol`) → [`dispatch`] → [`plugins`]
//! (wasm, calling back into [`capabilities`]) → protocol encode
//! ([`respond`]). docs/dispatch.md draws it and the import graph.

mod allocator;
mod auth;
mod bindings;
mod body;
mod boxed;
mod browser;
mod capabilities;
mod config;
mod dispatch;
mod docker;
mod enforcement;
mod functions;
mod gateway;
mod https;
mod init_hooks;
mod internal;
mod manifest;
mod plugins;
mod ports;
mod processes;
mod respond;
mod router;
mod s3edge;
mod self_wake;
mod server;
mod service_index;
mod streams;
mod tls;
mod wire;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use tracing_subscriber::EnvFilter;

fn main() -> anyhow::Result<()> {
    let started = Instant::now();
    let config = config::Config::from_env()?;
    init_tracing(&config.log_level);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let addr = SocketAddr::new(config.bind_host, config.port);
        // Bind first: a busy port fails fast, before any plugin is loaded.
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
        https::init(&config.state_dir, &config.public_host)?;
        let hooks = init_hooks::hooks();
        hooks.set_endpoint(format!("http://127.0.0.1:{}", config.port));
        hooks.run(init_hooks::Stage::Boot).await;
        let dispatcher = dispatch::Dispatcher::start(config).await?;
        let registry = dispatcher.registry();
        let names: Vec<&str> = registry.plugins.iter().map(|p| p.name()).collect();
        tracing::info!(
            "ministack ready on {addr} in {:.1} ms with {} plugins: {}",
            started.elapsed().as_secs_f64() * 1000.0,
            names.len(),
            names.join(", ")
        );
        // Opening the plugins parsed their descriptions on several threads:
        // hand the freed parse buffers back rather than keep them resident.
        allocator::release_free_memory();
        let gateway = Arc::new(gateway::Gateway::new(dispatcher.clone()));
        // start.d then ready.d, while the gateway already answers them.
        tokio::spawn(async move {
            hooks.run(init_hooks::Stage::Start).await;
            hooks.run(init_hooks::Stage::Ready).await;
        });
        server::serve(listener, gateway).await?;
        // The last second of service metrics, while the plugins still run.
        let flush = capabilities::metrics::flush(dispatcher.shared());
        if tokio::time::timeout(std::time::Duration::from_secs(5), flush)
            .await
            .is_err()
        {
            tracing::warn!("service metrics not flushed within 5 s; dropped");
        }
        dispatcher.shared().tasks.cancel_all();
        // Nothing the gateway started outlives it.
        let reap = dispatcher.shared().reap_machines(None);
        if tokio::time::timeout(std::time::Duration::from_secs(20), reap)
            .await
            .is_err()
        {
            tracing::warn!("removing containers and processes took over 20 s; gave up");
        }
        // After the reap (which waits for container removal): local workers.
        dispatcher.shared().functions.release_all();
        Ok(())
    })
}

fn init_tracing(level: &str) {
    // MiniStack takes Python level names; tracing wants lowercase ones.
    let level = match level.to_ascii_uppercase().as_str() {
        "WARNING" => "warn".to_string(),
        "CRITICAL" | "FATAL" => "error".to_string(),
        _ => level.to_ascii_lowercase(),
    };
    let filter = EnvFilter::try_new(&level).unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr)
        .init();
}
