//! Gateway configuration from environment variables (MiniStack's names).

use std::net::IpAddr;
use std::path::PathBuf;

use ministack_state::Durability;

/// MINISTACK_HTTP_MAX_RESPONSE_BYTES when unset: 1 MiB.
pub const DEFAULT_HTTP_MAX_RESPONSE_BYTES: usize = 1 << 20;

/// Everything the gateway reads from its environment, resolved once at start.
#[derive(Clone, Debug)]
pub struct Config {
    /// GATEWAY_PORT, then EDGE_PORT (LocalStack's name), default 4566.
    pub port: u16,
    /// BIND_HOST, default 0.0.0.0.
    pub bind_host: IpAddr,
    /// MINISTACK_HOST: the host name put in URLs we hand out (queue URLs...).
    pub public_host: String,
    /// Whether MINISTACK_HOST was set; when not, URLs follow the request's
    /// Host header ([`Config::endpoint_for`]).
    pub public_host_fixed: bool,
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
    /// MINISTACK_INSTANCE_REUSE (default on): keep idle plugin instances
    /// for the next call of the same plugin and account (plugins/pool.rs);
    /// `0` gives every call a fresh instance.
    pub instance_reuse: bool,
    /// MINISTACK_CA_BUNDLE: PEM certificates outbound HTTPS trusts besides
    /// the platform's roots (a private CA). Checked at start.
    pub ca_bundle: Option<PathBuf>,
    /// MINISTACK_HTTP_MAX_RESPONSE_BYTES: the largest response body the
    /// `http` capability hands a plugin, default 1 MiB.
    pub http_max_response_bytes: usize,
    /// How long the server waits on clients (see [`ServerLimits`]).
    pub limits: ServerLimits,
    /// What signed requests must prove (see [`Enforcement`]).
    pub enforcement: Enforcement,
}

/// Opt-in authentication and authorization (docs/security.md).
#[derive(Clone, Debug, Default)]
pub struct Enforcement {
    /// ENFORCE_IAM=1 (or MiniStack's AUTH=true): every request's signature
    /// is verified and its action evaluated against IAM policies.
    pub enabled: bool,
    /// ENFORCE_IAM_DEFAULT_CREDENTIALS (default 1): requests signed with a key
    /// the gateway did not issue (`test`, a 12-digit account id) act as their
    /// account's root user, allowed by identity. 0: such keys are refused as
    /// unknown, so only IAM access keys and STS sessions get in.
    pub default_credentials: bool,
}

/// What a connection may cost the server before it is closed.
#[derive(Clone, Debug)]
pub struct ServerLimits {
    /// MINISTACK_HEADER_TIMEOUT_SECONDS (default 30, 0 = none): the time a
    /// client has to send a request's headers, counted from when the
    /// connection is ready for a request, so it is also the keep-alive idle
    /// timeout (hyper runs one timer for both).
    pub header_timeout: Option<std::time::Duration>,
    /// MINISTACK_BODY_IDLE_TIMEOUT_SECONDS (default 60, 0 = none): the
    /// longest pause while a request body is arriving.
    pub body_idle_timeout: Option<std::time::Duration>,
    /// MINISTACK_MAX_CONNECTIONS (default 4096): connections served at once;
    /// more are accepted and closed at once.
    pub max_connections: usize,
    /// MINISTACK_MAX_HEADER_BYTES (default: hyper's ~400 KiB read buffer):
    /// request line plus headers; more is answered 431 Request Header
    /// Fields Too Large. It sizes the connection's read buffer, so it is at
    /// least 8192.
    pub max_header_bytes: Option<usize>,
}

impl ServerLimits {
    fn from_env() -> anyhow::Result<Self> {
        let seconds = |name: &str, default: u64| -> anyhow::Result<Option<std::time::Duration>> {
            let n = match var(name) {
                None => default,
                Some(v) => v
                    .parse::<u64>()
                    .map_err(|_| anyhow::anyhow!("{name} must be whole seconds, got {v:?}"))?,
            };
            Ok((n > 0).then(|| std::time::Duration::from_secs(n)))
        };
        let count = |name: &str, default: usize, min: usize| -> anyhow::Result<usize> {
            match var(name) {
                None => Ok(default),
                Some(v) => match v.parse::<usize>() {
                    Ok(n) if n >= min => Ok(n),
                    _ => anyhow::bail!("{name} must be a number of at least {min}, got {v:?}"),
                },
            }
        };
        Ok(Self {
            header_timeout: seconds("MINISTACK_HEADER_TIMEOUT_SECONDS", 30)?,
            body_idle_timeout: seconds("MINISTACK_BODY_IDLE_TIMEOUT_SECONDS", 60)?,
            max_connections: count("MINISTACK_MAX_CONNECTIONS", 4096, 1)?,
            // hyper's smallest read buffer is 8 KiB.
            max_header_bytes: match var("MINISTACK_MAX_HEADER_BYTES") {
                None => None,
                Some(_) => Some(count("MINISTACK_MAX_HEADER_BYTES", 0, 8192)?),
            },
        })
    }
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
        let ca_bundle = var("MINISTACK_CA_BUNDLE").map(PathBuf::from);
        if let Some(path) = &ca_bundle {
            crate::tls::read_ca_bundle(path)?;
        }
        let http_max_response_bytes = match var("MINISTACK_HTTP_MAX_RESPONSE_BYTES") {
            Some(v) => v.parse().map_err(|_| {
                anyhow::anyhow!("MINISTACK_HTTP_MAX_RESPONSE_BYTES must be a byte count, got {v:?}")
            })?,
            None => DEFAULT_HTTP_MAX_RESPONSE_BYTES,
        };
        Ok(Self {
            port,
            bind_host,
            public_host: var("MINISTACK_HOST").unwrap_or_else(|| "localhost".into()),
            public_host_fixed: var("MINISTACK_HOST").is_some(),
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
            instance_reuse: !matches!(
                var("MINISTACK_INSTANCE_REUSE")
                    .as_deref()
                    .map(str::to_ascii_lowercase)
                    .as_deref(),
                Some("0" | "false" | "no" | "off")
            ),
            ca_bundle,
            http_max_response_bytes,
            limits: ServerLimits::from_env()?,
            enforcement: Enforcement {
                enabled: flag("ENFORCE_IAM") || flag("AUTH"),
                default_credentials: var("ENFORCE_IAM_DEFAULT_CREDENTIALS")
                    .is_none_or(|_| flag("ENFORCE_IAM_DEFAULT_CREDENTIALS")),
            },
        })
    }

    /// The endpoint clients use to reach us, e.g. http://localhost:4566.
    pub fn endpoint(&self) -> String {
        format!("http://{}:{}", self.public_host, self.port)
    }

    /// The endpoint for URLs handed out in answer to a request that came
    /// with this Host header: the host the client used (`127.0.0.1:4566`,
    /// `host.docker.internal:4566`), unless MINISTACK_HOST fixes it. A Host
    /// with anything but host[:port] characters is ignored.
    pub fn endpoint_for(&self, host: Option<&str>) -> String {
        match host {
            Some(h) if !self.public_host_fixed && is_host_port(h) => {
                // Every request builds one: no format machinery.
                let mut url = String::with_capacity(7 + h.len());
                url.push_str("http://");
                url.push_str(h);
                url
            }
            _ => self.endpoint(),
        }
    }
}

/// `name`, `name:port`, `1.2.3.4:port`, `[::1]:port`: nothing a URL could
/// be tricked with (no `/`, `@`, `?`, `#`, spaces).
fn is_host_port(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 255
        && !h.starts_with([':', '.', '-'])
        && h.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]_".contains(&b))
}
