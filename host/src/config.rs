//! Gateway configuration from environment variables (MiniStack's names).

use std::net::IpAddr;
use std::path::PathBuf;

use ministack_state::Durability;

/// Everything the gateway reads from its environment, resolved once at start.
#[derive(Clone, Debug)]
pub struct Config {
    /// GATEWAY_PORT, then EDGE_PORT (LocalStack's name), default 4566.
    pub port: u16,
    /// BIND_HOST, default 0.0.0.0.
    pub bind_host: IpAddr,
    /// MINISTACK_HOST: the host name put in URLs we hand out (queue URLs...).
    pub public_host: String,
    /// LOG_LEVEL (tracing filter syntax accepted), default info.
    pub log_level: String,
    /// MINISTACK_ACCOUNT_ID, default 000000000000.
    pub default_account: String,
    /// AWS_SECRET_ACCESS_KEY, default `test`: the secret presigned URLs are
    /// checked against for access keys the gateway did not issue.
    pub default_secret: String,
    /// MINISTACK_REGION, default us-east-1.
    pub default_region: String,
    /// SERVICES=a,b restricts the enabled plugins.
    pub services: Option<Vec<String>>,
    /// MINISTACK_PLUGINS (default ./plugins.toml): the bundle manifest.
    pub plugins_file: PathBuf,
    /// MINISTACK_PLUGINS_FILE: an extra manifest merged over the bundle.
    pub extra_plugins_file: Option<PathBuf>,
    /// PLUGINS_DIR: every `<name>.wasm` in it is loaded as plugin `<name>`.
    pub plugins_dir: Option<PathBuf>,
    /// MINISTACK_PLUGINS_WATCH_MS (default 1000, 0 = off): how often
    /// PLUGINS_DIR is looked at for replaced or new `.wasm` files.
    pub plugins_watch_ms: u64,
    /// MINISTACK_CACHE_DIR: precompiled native code of plugins.
    pub cache_dir: PathBuf,
    /// PERSIST_STATE=1 + STATE_DIR.
    pub persist_state: bool,
    pub state_dir: PathBuf,
    /// S3_PERSIST=1 (or LOCALSTACK_PERSISTENCE=1) + S3_DATA_DIR.
    pub persist_blobs: bool,
    pub blob_dir: PathBuf,
    /// MINISTACK_DURABILITY=relaxed (+ MINISTACK_DURABILITY_WINDOW_MS).
    pub durability: Durability,
    /// MINISTACK_VERSION / MINISTACK_EDITION, reported by health.
    pub version: String,
    pub edition: String,
    /// MINISTACK_MAX_INSTANCES: plugin instances alive at once (pool size).
    pub max_instances: u32,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn flag(name: &str) -> bool {
    matches!(
        var(name).as_deref().map(str::to_ascii_lowercase).as_deref(),
        Some("1" | "true" | "yes" | "on")
    )
}

impl Config {
    pub fn from_env() -> anyhow::Result<Self> {
        let port = match var("GATEWAY_PORT").or_else(|| var("EDGE_PORT")) {
            Some(p) => p
                .parse()
                .map_err(|_| anyhow::anyhow!("GATEWAY_PORT must be a port number, got {p:?}"))?,
            None => 4566,
        };
        let bind_host = match var("BIND_HOST") {
            Some(h) => h
                .parse()
                .map_err(|_| anyhow::anyhow!("BIND_HOST must be an IP address, got {h:?}"))?,
            None => IpAddr::from([0, 0, 0, 0]),
        };
        let cache_dir = var("MINISTACK_CACHE_DIR")
            .map(PathBuf::from)
            .or_else(|| var("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("ministack")))
            .or_else(|| var("HOME").map(|d| PathBuf::from(d).join(".cache/ministack")))
            .unwrap_or_else(|| PathBuf::from("/tmp/ministack-cache"));
        let durability = match var("MINISTACK_DURABILITY").as_deref() {
            None | Some("group") | Some("full") => Durability::Group,
            Some("relaxed") => Durability::Relaxed {
                window_ms: var("MINISTACK_DURABILITY_WINDOW_MS")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(100),
            },
            Some(other) => {
                anyhow::bail!("MINISTACK_DURABILITY must be group or relaxed, got {other:?}")
            }
        };
        Ok(Self {
            port,
            bind_host,
            public_host: var("MINISTACK_HOST").unwrap_or_else(|| "localhost".into()),
            log_level: var("LOG_LEVEL").unwrap_or_else(|| "info".into()),
            default_account: var("MINISTACK_ACCOUNT_ID").unwrap_or_else(|| "000000000000".into()),
            default_secret: var("AWS_SECRET_ACCESS_KEY").unwrap_or_else(|| "test".into()),
            default_region: var("MINISTACK_REGION").unwrap_or_else(|| "us-east-1".into()),
            services: var("SERVICES").map(|s| {
                s.split(',')
                    .map(|x| x.trim().to_ascii_lowercase())
                    .filter(|x| !x.is_empty())
                    .collect()
            }),
            plugins_file: var("MINISTACK_PLUGINS")
                .map(PathBuf::from)
                .unwrap_or_else(|| "plugins.toml".into()),
            extra_plugins_file: var("MINISTACK_PLUGINS_FILE").map(PathBuf::from),
            plugins_dir: var("PLUGINS_DIR").map(PathBuf::from),
            plugins_watch_ms: var("MINISTACK_PLUGINS_WATCH_MS")
                .and_then(|v| v.parse().ok())
                .unwrap_or(1000),
            cache_dir,
            persist_state: flag("PERSIST_STATE"),
            state_dir: var("STATE_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| "/tmp/ministack-state".into()),
            persist_blobs: flag("S3_PERSIST") || flag("LOCALSTACK_PERSISTENCE"),
            blob_dir: var("S3_DATA_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| "/tmp/ministack-data/s3".into()),
            durability,
            version: var("MINISTACK_VERSION").unwrap_or_else(|| env!("CARGO_PKG_VERSION").into()),
            edition: var("MINISTACK_EDITION").unwrap_or_else(|| "light".into()),
            max_instances: var("MINISTACK_MAX_INSTANCES")
                .and_then(|v| v.parse().ok())
                .unwrap_or(256),
        })
    }

    /// The endpoint clients use to reach us, e.g. http://localhost:4566.
    pub fn endpoint(&self) -> String {
        format!("http://{}:{}", self.public_host, self.port)
    }
}
