//! The gateway's own endpoints, MiniStack-compatible:
//! `/_ministack/health` (also `/_localstack/health`, `/health`),
//! `/_ministack/ready`, `POST /_ministack/reset`, `POST /_ministack/config`,
//! `/_ministack/plugins` (what each plugin implements) and
//! `POST /_ministack/plugins/reload[?name=x]` (hot reload, docs/dispatch.md);
//! `GET /` from a browser is a small HTML page of the same facts.

use std::collections::BTreeMap;

use http::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::body::ResponseBody;
use crate::dispatch::Dispatcher;
use crate::respond::json_response;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Health,
    Ready,
    Reset,
    Config,
    Plugins,
    Reload,
    /// `GET /` from a browser: the services page.
    Home,
    /// `/_ministack/resources[/read|/run]`: the resource browser's API.
    Browser(crate::browser::Endpoint),
    /// `/_ministack/tls/ca.pem`: the CA to trust under USE_SSL.
    TlsCa,
    /// `/_localstack/init[/<stage>]`: the init hooks' progress.
    Init(Option<crate::init_hooks::Stage>),
    /// Any other `/_localstack/*` path: a JSON 404 rather than S3.
    UnknownLocalstack,
}

/// Keys POST /_ministack/config accepts (MiniStack's list), each applied as
/// a setting of the plugin that owns it; `<plugin>.<setting>` also works
/// for any setting a plugin's plugins.toml entry has or declares (`env`,
/// `files`), and a bare variable name for every plugin that declared it.
const CONFIG_KEYS: &[(&str, &str, &str)] = &[
    ("athena.ATHENA_ENGINE", "athena", "ATHENA_ENGINE"),
    ("athena.ATHENA_DATA_DIR", "athena", "ATHENA_DATA_DIR"),
    (
        "stepfunctions._sfn_mock_config",
        "stepfunctions",
        "SFN_MOCK_CONFIG",
    ),
    (
        "stepfunctions._SFN_WAIT_SCALE",
        "stepfunctions",
        "SFN_WAIT_SCALE",
    ),
    ("lambda_svc.LAMBDA_EXECUTOR", "lambda", "LAMBDA_EXECUTOR"),
    (
        "cloudtrail._recording_enabled",
        "cloudtrail",
        "CLOUDTRAIL_RECORDING",
    ),
    (
        "alb.TARGET_CONNECT_TIMEOUT",
        "elasticloadbalancing",
        "ALB_TARGET_CONNECT_TIMEOUT_SECONDS",
    ),
    (
        "alb.TARGET_IDLE_TIMEOUT",
        "elasticloadbalancing",
        "ALB_TARGET_IDLE_TIMEOUT_SECONDS",
    ),
];

impl Endpoint {
    /// The endpoint a request is for, if it is the gateway's own.
    pub fn matching(parts: &http::request::Parts) -> Option<Self> {
        if is_browser_home(parts) {
            return Some(Endpoint::Home);
        }
        Self::match_path(&parts.method, parts.uri.path())
    }

    pub fn match_path(method: &Method, path: &str) -> Option<Self> {
        let path = path.trim_end_matches('/');
        // Every service request passes here: all but /health start "/_".
        if !path.starts_with("/_") && path != "/health" {
            return None;
        }
        Some(match path {
            "/_ministack/health" | "/_localstack/health" | "/health" => Endpoint::Health,
            "/_ministack/ready" => Endpoint::Ready,
            "/_ministack/reset" if method == Method::POST => Endpoint::Reset,
            "/_ministack/config" if method == Method::POST => Endpoint::Config,
            "/_ministack/plugins" => Endpoint::Plugins,
            "/_ministack/plugins/reload" if method == Method::POST => Endpoint::Reload,
            "/_localstack/init" | "/_ministack/init" => Endpoint::Init(None),
            "/_ministack/tls/ca.pem" => Endpoint::TlsCa,
            p if crate::browser::Endpoint::match_path(p).is_some_and(|e| {
                let wanted = match e {
                    crate::browser::Endpoint::Run => Method::POST,
                    _ => Method::GET,
                };
                method == wanted
            }) =>
            {
                Endpoint::Browser(crate::browser::Endpoint::match_path(p)?)
            }
            p if init_stage(p).is_some() => Endpoint::Init(init_stage(p)),
            p if p.starts_with("/_localstack/") => Endpoint::UnknownLocalstack,
            _ => return None,
        })
    }
}

/// The stage of `/_localstack/init/<stage>`.
fn init_stage(path: &str) -> Option<crate::init_hooks::Stage> {
    path.strip_prefix("/_localstack/init/")
        .or_else(|| path.strip_prefix("/_ministack/init/"))
        .and_then(crate::init_hooks::Stage::parse)
}

pub async fn handle(
    dispatcher: &Dispatcher,
    endpoint: Endpoint,
    query: &str,
    body: &[u8],
) -> Response<ResponseBody> {
    match endpoint {
        Endpoint::Health => json_response(StatusCode::OK, &health(dispatcher)),
        Endpoint::Ready => {
            json_response(StatusCode::OK, &crate::init_hooks::hooks().ready_summary())
        }
        Endpoint::Browser(e) => crate::browser::handle(dispatcher, e, query, body).await,
        Endpoint::TlsCa => match crate::https::get() {
            Some(h) => {
                let mut r = Response::new(ResponseBody::from_bytes(h.ca_pem.clone()));
                r.headers_mut().insert(
                    http::header::CONTENT_TYPE,
                    http::HeaderValue::from_static("application/x-pem-file"),
                );
                r
            }
            None => json_response(
                StatusCode::NOT_FOUND,
                &json!({"error": "HTTPS is off: start the gateway with USE_SSL=1"}),
            ),
        },
        Endpoint::Init(stage) => {
            json_response(StatusCode::OK, &crate::init_hooks::hooks().status(stage))
        }
        Endpoint::Reset => {
            let only = form_urlencoded::parse(query.as_bytes())
                .find(|(k, _)| k == "service")
                .map(|(_, v)| v.into_owned());
            let reset = dispatcher.reset(only.as_deref());
            if reset.is_ok() {
                dispatcher.shared().reap_machines(only.as_deref()).await;
                // After the reap, which waits for function containers to go.
                if only.is_none() {
                    dispatcher.shared().functions.release_all();
                }
            }
            match reset {
                Ok(()) => json_response(StatusCode::OK, &json!({"reset": "ok"})),
                Err(e) => json_response(StatusCode::BAD_REQUEST, &json!({"error": e.to_string()})),
            }
        }
        Endpoint::Config => match serde_json::from_slice::<serde_json::Map<String, Value>>(body) {
            Ok(map) => json_response(
                StatusCode::OK,
                &json!({"applied": apply_config(dispatcher, map)}),
            ),
            Err(e) => json_response(
                StatusCode::BAD_REQUEST,
                &json!({"error": format!("body must be a JSON object: {e}")}),
            ),
        },
        Endpoint::Plugins => json_response(StatusCode::OK, &plugins(dispatcher).await),
        Endpoint::Reload => {
            let only = form_urlencoded::parse(query.as_bytes())
                .find(|(k, _)| k == "name")
                .map(|(_, v)| v.into_owned());
            match dispatcher.reload(only.as_deref()).await {
                Ok(r) => {
                    let status = if r.errors.is_empty() {
                        StatusCode::OK
                    } else {
                        StatusCode::BAD_REQUEST
                    };
                    json_response(status, &json!({"reloaded": r.reloaded, "errors": r.errors}))
                }
                Err(e) => json_response(StatusCode::NOT_FOUND, &json!({"error": format!("{e:#}")})),
            }
        }
        Endpoint::Home => home_page(dispatcher),
        Endpoint::UnknownLocalstack => json_response(
            StatusCode::NOT_FOUND,
            &json!({"error": "not found", "hint": "this gateway serves /_ministack/health, /_ministack/reset, /_ministack/config and /_ministack/plugins"}),
        ),
    }
}

fn health(dispatcher: &Dispatcher) -> Value {
    let registry = dispatcher.registry();
    let services: BTreeMap<&str, &str> = registry
        .plugins
        .iter()
        .map(|p| (p.name(), "available"))
        .collect();
    // Every plugin is available; its code loads on its first call.
    let loaded: BTreeMap<&str, bool> = registry
        .plugins
        .iter()
        .map(|p| (p.name(), p.is_loaded()))
        .collect();
    json!({
        "services": services,
        "loaded": loaded,
        "edition": dispatcher.config().edition,
        "version": dispatcher.config().version,
        "ready_scripts": crate::init_hooks::hooks().ready_summary(),
        "init": crate::init_hooks::hooks().status(None),
    })
}

/// The CloudFormation / Cloud Control types a plugin provides (its
/// `ministack:resource-types` answer; none from a plugin without handlers),
/// read from the cache beside its code when a gateway asked that wasm
/// before, so the listing loads no plugin that is not in use.
async fn resource_types(
    dispatcher: &Dispatcher,
    plugin: &std::sync::Arc<crate::plugins::Plugin>,
) -> Vec<Value> {
    let cache = dispatcher.runtime.cache();
    if let Some(types) = cache.resource_types(plugin.digest()) {
        return types;
    }
    let call = crate::dispatch::Call {
        target: crate::dispatch::Target::Plugin(plugin),
        caller: crate::dispatch::Caller::Gateway,
        request_id: "resource-types",
        operation: crate::dispatch::RESOURCE_TYPES_OPERATION,
        input_json: "{}".into(),
        blobs: crate::dispatch::OwnedBlobs::none(),
    };
    match dispatcher.call(call).await {
        Ok(reply) => {
            let types = reply.output["Types"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            cache.remember_resource_types(plugin.digest(), &types);
            types
        }
        Err(_) => Vec::new(),
    }
}

async fn plugins(dispatcher: &Dispatcher) -> Value {
    let registry = dispatcher.registry();
    // Before the resource types, which are asked of a plugin (loading it)
    // the first time its wasm is listed.
    let loaded: Vec<bool> = registry.plugins.iter().map(|p| p.is_loaded()).collect();
    let mut types = Vec::new();
    for p in &registry.plugins {
        types.push(resource_types(dispatcher, p).await);
    }
    let list: Vec<Value> = registry
        .plugins
        .iter()
        .zip(types)
        .zip(loaded)
        .map(|((p, types), loaded)| {
            let meta = p.model.metadata();
            let modelled: Vec<&str> = p.model.operation_names().collect();
            let missing: Vec<&str> = modelled
                .iter()
                .copied()
                .filter(|op| !p.description.implemented.contains(*op))
                .collect();
            json!({
                "name": p.name(),
                "version": p.description.version,
                "api_version": meta.api_version,
                "protocols": meta.protocols.iter().map(|p| format!("{p:?}")).collect::<Vec<_>>(),
                "implemented": p.description.implemented,
                "implemented_count": p.description.implemented.len(),
                "operation_count": modelled.len(),
                "not_implemented": missing,
                "capabilities": p.core.entry.capabilities,
                "declared_capabilities": p.description.capabilities,
                "loaded": loaded,
                "loaded_from": p.load_source().map(|s| match s {
                    crate::plugins::cache::Source::Cache => "cache",
                    crate::plugins::cache::Source::Compiled => "compiled",
                }),
                "memory_mb": p.core.entry.memory_mb,
                "timeout_ms": p.core.entry.timeout_ms,
                // Proves read-only requests stay read-only (docs/performance.md).
                "write_transactions": p.core.db.write_transactions(),
                "conflict_reruns": p.core.contention.reruns(),
                "resource_types": types,
            })
        })
        .collect();
    json!({ "plugins": list })
}

/// `GET /` is also S3's ListBuckets, so only an unsigned request that asks
/// for HTML (a browser) gets the page; every SDK call signs its requests.
fn is_browser_home(parts: &http::request::Parts) -> bool {
    if !matches!(parts.method, Method::GET | Method::HEAD) || parts.uri.path() != "/" {
        return false;
    }
    let signed = parts.headers.contains_key(http::header::AUTHORIZATION)
        || parts.uri.query().is_some_and(|q| {
            q.contains("X-Amz-Signature=") || q.contains("Signature=") || q.contains("Action=")
        });
    let wants_html = parts
        .headers
        .get(http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    !signed && wants_html
}

fn home_page(dispatcher: &Dispatcher) -> Response<ResponseBody> {
    let mut rows = String::new();
    let (mut total_implemented, mut total_ops) = (0, 0);
    for p in &dispatcher.registry().plugins {
        let modelled: Vec<&str> = p.model.operation_names().collect();
        let implemented: Vec<&str> = modelled
            .iter()
            .copied()
            .filter(|op| p.description.implemented.contains(*op))
            .collect();
        let missing: Vec<&str> = modelled
            .iter()
            .copied()
            .filter(|op| !p.description.implemented.contains(*op))
            .collect();
        total_implemented += implemented.len();
        total_ops += modelled.len();
        let protocols: Vec<String> = p
            .model
            .metadata()
            .protocols
            .iter()
            .map(|p| format!("{p:?}"))
            .collect();
        rows.push_str(&format!(
            "<tr><td><b>{name}</b></td><td>available</td><td>{protocols}</td>\
             <td>{n} / {m}</td><td><details><summary>operations</summary>\
             <p>{ops}</p>{missing}</details></td></tr>\n",
            name = escape_html(p.name()),
            protocols = escape_html(&protocols.join(", ")),
            n = implemented.len(),
            m = modelled.len(),
            ops = escape_html(&implemented.join(", ")),
            missing = if missing.is_empty() {
                String::new()
            } else {
                format!(
                    "<p class=missing>Not implemented (501): {}</p>",
                    escape_html(&missing.join(", "))
                )
            },
        ));
    }
    let html = format!(
        "<!doctype html>\n<html lang=en><head><meta charset=utf-8>\
         <title>ministack</title><style>\
         body{{font-family:system-ui,sans-serif;margin:2em;max-width:70em}}\
         table{{border-collapse:collapse;width:100%}}\
         td,th{{border-bottom:1px solid #ddd;padding:.4em;text-align:left;vertical-align:top}}\
         .missing{{color:#a33}}</style></head><body>\
         <h1>ministack {version}</h1>\
         <p>A local AWS cloud: every service below answers on this port. \
         {plugins} services, {total_implemented} of {total_ops} modelled operations implemented. \
         Machine-readable: <a href=/_ministack/plugins>/_ministack/plugins</a>, \
         <a href=/_ministack/health>/_ministack/health</a>, \
         <a href=/_ministack/resources>/_ministack/resources</a>.</p>\
         {app}<details id=services><summary>Services and operations</summary>\
         <table><tr><th>Service</th><th>Status</th><th>Protocol</th>\
         <th>Operations</th><th></th></tr>\n{rows}</table></details></body></html>\n",
        app = crate::browser::APP_HTML,
        version = escape_html(&dispatcher.config().version),
        plugins = dispatcher.registry().plugins.len(),
    );
    let mut r = Response::new(ResponseBody::from_bytes(html));
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn apply_config(
    dispatcher: &Dispatcher,
    map: serde_json::Map<String, Value>,
) -> serde_json::Map<String, Value> {
    let registry = dispatcher.registry();
    let mut applied = serde_json::Map::new();
    for (key, value) in map {
        // A whitelisted MiniStack key, `<plugin>.<setting>` for a setting
        // the plugin has or declared (`env`, `files`), or a bare variable
        // name for every plugin that declared it.
        let targets: Vec<(String, String)> =
            if let Some((_, plugin, setting)) = CONFIG_KEYS.iter().find(|(k, _, _)| *k == key) {
                vec![(plugin.to_string(), setting.to_string())]
            } else if let Some((plugin, setting)) = key.split_once('.')
                && let Some(p) = registry.by_name.get(plugin)
            {
                let e = &p.core.entry;
                if e.settings.contains_key(setting) || e.wants_env(setting) {
                    vec![(plugin.to_string(), setting.to_string())]
                } else {
                    Vec::new()
                }
            } else {
                registry
                    .plugins
                    .iter()
                    .filter(|p| p.core.entry.wants_env(&key))
                    .map(|p| (p.name().to_string(), key.clone()))
                    .collect()
            };
        if targets.is_empty() {
            tracing::info!("POST /_ministack/config: ignoring key {key:?} (not whitelisted)");
            continue;
        }
        let text = match &value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        for (plugin, setting) in targets {
            if let Some(p) = registry.by_name.get(&plugin) {
                p.core
                    .settings
                    .write()
                    .unwrap()
                    .insert(setting, text.clone());
            }
        }
        applied.insert(key, value);
    }
    applied
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(
            Endpoint::match_path(&Method::GET, "/_ministack/health"),
            Some(Endpoint::Health)
        );
        assert_eq!(
            Endpoint::match_path(&Method::HEAD, "/health/"),
            Some(Endpoint::Health)
        );
        assert_eq!(
            Endpoint::match_path(&Method::GET, "/_localstack/health"),
            Some(Endpoint::Health)
        );
        assert_eq!(
            Endpoint::match_path(&Method::POST, "/_ministack/reset"),
            Some(Endpoint::Reset)
        );
        assert_eq!(
            Endpoint::match_path(&Method::GET, "/_ministack/reset"),
            None
        );
        assert_eq!(
            Endpoint::match_path(&Method::POST, "/_ministack/plugins/reload"),
            Some(Endpoint::Reload)
        );
        assert_eq!(
            Endpoint::match_path(&Method::GET, "/_localstack/info"),
            Some(Endpoint::UnknownLocalstack)
        );
        assert_eq!(
            Endpoint::match_path(&Method::GET, "/my-bucket/health"),
            None
        );
    }

    fn parts(uri: &str, headers: &[(&str, &str)]) -> http::request::Parts {
        let mut b = http::Request::get(uri);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap().into_parts().0
    }

    #[test]
    fn home_only_for_unsigned_browser_requests() {
        let browser = [("accept", "text/html,application/xhtml+xml")];
        assert_eq!(
            Endpoint::matching(&parts("/", &browser)),
            Some(Endpoint::Home)
        );
        // S3 ListBuckets: signed, no HTML wanted.
        let sdk = [
            ("authorization", "AWS4-HMAC-SHA256 Credential=x"),
            ("accept", "*/*"),
        ];
        assert_eq!(Endpoint::matching(&parts("/", &sdk)), None);
        let mut signed_browser = browser.to_vec();
        signed_browser.push(("authorization", "AWS4-HMAC-SHA256 Credential=x"));
        assert_eq!(Endpoint::matching(&parts("/", &signed_browser)), None);
        assert_eq!(
            Endpoint::matching(&parts("/?X-Amz-Signature=abc", &browser)),
            None
        );
        assert_eq!(Endpoint::matching(&parts("/bucket", &browser)), None);
        assert_eq!(Endpoint::matching(&parts("/", &[])), None);
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape_html("<a href=\"x\">&</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;"
        );
    }
}
