//! Which plugin a request is for. Tables are built once from the loaded
//! plugins' models; the order of the checks is documented in docs/routing.md:
//!
//! 1. raw routes a plugin claims (host suffix + path prefix);
//! 2. `X-Amz-Target: <targetPrefix>.<Operation>` (json protocols);
//! 3. `smithy-protocol: rpc-v2-cbor` with `/service/<name>/operation/<op>`;
//! 4. the SigV4 signing name, when exactly one plugin signs with it;
//! 5. the Host header `<endpointPrefix>.<region>.amazonaws.com` (and
//!    `.localhost.localstack.cloud`);
//! 6. `Action=` in the query string or form body (query/ec2 protocols);
//! 7. REST URI templates of the REST plugins (S3 last: it is the catch-all);
//! 8. S3, when loaded (unsigned browser-style requests, MiniStack's default).
//!
//! Steps 4–7 keep to the plugins that share the signing name when there are
//! several.

use std::collections::HashMap;
use std::sync::Arc;

use ministack_protocol::{Protocol, RequestHead};

use crate::plugins::Plugin;

/// What the router needs to know about a request.
pub struct RouteInput<'a> {
    pub head: RequestHead<'a>,
    pub host: &'a str,
    pub signing_service: Option<&'a str>,
    /// The form body, when it has been read (query protocols need it).
    pub form_body: Option<&'a [u8]>,
}

pub enum Route {
    /// A raw route: the plugin's `handle-http` gets the request as it is.
    Raw(Arc<Plugin>),
    /// A model operation of this plugin.
    Service(Arc<Plugin>),
    /// Only the body can tell (an `Action=` form): read it and route again.
    NeedBody,
    None,
}

pub struct Router {
    raw: Vec<(String, String, Arc<Plugin>)>,
    by_target_prefix: HashMap<String, Arc<Plugin>>,
    by_signing_name: HashMap<String, Vec<Arc<Plugin>>>,
    by_endpoint_prefix: HashMap<String, Vec<Arc<Plugin>>>,
    /// Query/ec2 action name → plugins whose model has it.
    by_action: HashMap<String, Vec<Arc<Plugin>>>,
    /// REST plugins, S3 last.
    rest: Vec<Arc<Plugin>>,
    s3: Option<Arc<Plugin>>,
}

fn is_rest(p: &Plugin) -> bool {
    p.model
        .metadata()
        .protocols
        .iter()
        .any(|p| matches!(p, Protocol::RestJson | Protocol::RestXml))
}

fn is_query(p: &Plugin) -> bool {
    p.model
        .metadata()
        .protocols
        .iter()
        .any(|p| matches!(p, Protocol::Query | Protocol::Ec2))
}

impl Router {
    pub fn new(plugins: &[Arc<Plugin>]) -> Self {
        let mut r = Router {
            raw: Vec::new(),
            by_target_prefix: HashMap::new(),
            by_signing_name: HashMap::new(),
            by_endpoint_prefix: HashMap::new(),
            by_action: HashMap::new(),
            rest: Vec::new(),
            s3: None,
        };
        for p in plugins {
            let meta = p.model.metadata();
            for (host_suffix, path_prefix) in &p.description.raw_routes {
                r.raw
                    .push((host_suffix.clone(), path_prefix.clone(), p.clone()));
            }
            if let Some(t) = &meta.target_prefix {
                r.by_target_prefix.insert(t.clone(), p.clone());
            }
            let signing = meta
                .signing_name
                .clone()
                .unwrap_or_else(|| meta.endpoint_prefix.clone());
            r.by_signing_name
                .entry(signing)
                .or_default()
                .push(p.clone());
            r.by_endpoint_prefix
                .entry(meta.endpoint_prefix.clone())
                .or_default()
                .push(p.clone());
            if is_query(p) {
                for op in p.model.operation_names() {
                    r.by_action
                        .entry(op.to_string())
                        .or_default()
                        .push(p.clone());
                }
            }
            if meta.endpoint_prefix == "s3" && p.name() == "s3" {
                r.s3 = Some(p.clone());
            } else if is_rest(p) {
                r.rest.push(p.clone());
            }
        }
        // Longest raw prefixes first, so the most specific claim wins.
        r.raw
            .sort_by_key(|(host, path, _)| std::cmp::Reverse(host.len() + path.len()));
        if let Some(s3) = &r.s3 {
            r.rest.push(s3.clone());
        }
        r
    }

    pub fn route(&self, input: &RouteInput<'_>) -> Route {
        let head = &input.head;
        let host = input.host.split(':').next().unwrap_or("");

        for (suffix, prefix, plugin) in &self.raw {
            if host.ends_with(suffix.as_str()) && head.path.starts_with(prefix.as_str()) {
                return Route::Raw(plugin.clone());
            }
        }
        if let Some(target) = header(head, "x-amz-target") {
            let prefix = target.rsplit_once('.').map_or(target, |(p, _)| p);
            if let Some(p) = self.by_target_prefix.get(prefix) {
                return Route::Service(p.clone());
            }
        }
        if header(head, "smithy-protocol") == Some("rpc-v2-cbor")
            && let Some(name) = head
                .path
                .strip_prefix("/service/")
                .and_then(|r| r.split('/').next())
            && let Some(p) = self.by_target_prefix.get(name)
        {
            return Route::Service(p.clone());
        }
        // Candidates: the plugins signing with the request's service name.
        let signed: Option<&Vec<Arc<Plugin>>> = input
            .signing_service
            .and_then(|s| self.by_signing_name.get(s));
        if let Some([only]) = signed.map(Vec::as_slice) {
            return Route::Service(only.clone());
        }
        let allowed = |p: &Arc<Plugin>| signed.is_none_or(|l| l.iter().any(|x| Arc::ptr_eq(x, p)));

        if let Some(p) = aws_host_service(host)
            .and_then(|prefix| self.by_endpoint_prefix.get(prefix))
            .and_then(|l| l.iter().find(|p| allowed(p)))
        {
            return Route::Service(p.clone());
        }
        let action = form_value(head.query, "Action")
            .or_else(|| input.form_body.and_then(|b| form_value_bytes(b, "Action")));
        if let Some(action) = action {
            if let Some(p) = self
                .by_action
                .get(&action)
                .and_then(|l| l.iter().find(|p| allowed(p)))
            {
                return Route::Service(p.clone());
            }
        } else if input.form_body.is_none() && is_form(head) {
            return Route::NeedBody;
        }
        for p in self.rest.iter().filter(|p| allowed(p)) {
            if p.model.match_rest(head).is_some() {
                return Route::Service(p.clone());
            }
        }
        if let Some(list) = signed {
            return Route::Service(list[0].clone());
        }
        match &self.s3 {
            Some(s3) => Route::Service(s3.clone()),
            None => Route::None,
        }
    }
}

fn header<'a>(head: &'a RequestHead<'_>, name: &str) -> Option<&'a str> {
    head.headers.get(name).and_then(|v| v.to_str().ok())
}

fn is_form(head: &RequestHead<'_>) -> bool {
    head.method == http::Method::POST
        && header(head, "content-type")
            .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"))
}

fn form_value(query: &str, key: &str) -> Option<String> {
    form_value_bytes(query.as_bytes(), key)
}

fn form_value_bytes(body: &[u8], key: &str) -> Option<String> {
    form_urlencoded::parse(body)
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// `sqs.us-east-1.amazonaws.com`, `sts.amazonaws.com`,
/// `sqs.us-east-1.localhost.localstack.cloud` → the endpoint prefix.
fn aws_host_service(host: &str) -> Option<&str> {
    let rest = host
        .strip_suffix(".amazonaws.com")
        .or_else(|| host.strip_suffix(".amazonaws.com.cn"))
        .or_else(|| host.strip_suffix(".localhost.localstack.cloud"))?;
    rest.split('.').next().filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_hosts() {
        assert_eq!(aws_host_service("sqs.us-east-1.amazonaws.com"), Some("sqs"));
        assert_eq!(aws_host_service("sts.amazonaws.com"), Some("sts"));
        assert_eq!(
            aws_host_service("dynamodb.eu-west-1.localhost.localstack.cloud"),
            Some("dynamodb")
        );
        assert_eq!(aws_host_service("localhost"), None);
        assert_eq!(aws_host_service("amazonaws.com"), None);
    }

    #[test]
    fn form_values() {
        assert_eq!(
            form_value("Action=GetCallerIdentity&Version=2011-06-15", "Action").as_deref(),
            Some("GetCallerIdentity")
        );
        assert_eq!(
            form_value_bytes(b"Version=1&Action=Send%4dessage", "Action").as_deref(),
            Some("SendMessage")
        );
        assert_eq!(form_value("a=b", "Action"), None);
    }
}
