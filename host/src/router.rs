//! Which plugin a request is for. Tables are built once from the loaded
//! plugins' models; the order of the checks is documented in docs/routing.md:
//!
//! 1. raw routes a plugin claims (host suffix + path prefix);
//! 2. `X-Amz-Target: <targetPrefix>.<Operation>` (json protocols);
//! 3. `smithy-protocol: rpc-v2-cbor` with `/service/<name>/operation/<op>`;
//! 4. the SigV4 signing name, when exactly one plugin signs with it;
//!
//! Steps 2–4 also consult the index of every botocore service
//! ([`crate::service_index`]): a target prefix or signing name that belongs
//! to a service with no plugin in the bundle is [`Route::Disabled`], and so
//! is a signed request whose path has the fixed prefix of an unloaded
//! service sharing the signing name (S3 Control's `/v20180820/`, signed `s3`);
//!
//! 5. the Host header `<endpointPrefix>.<region>.amazonaws.com` (and
//!    `.localhost.localstack.cloud`);
//! 6. `Action=` in the query string or form body (query/ec2 protocols);
//! 7. REST URI templates of the REST plugins (S3 last: it is the catch-all);
//! 8. S3, when loaded (unsigned browser-style requests, MiniStack's default).
//!
//! Steps 4–7 keep to the plugins that share the signing name when there are
//! several.

use ministack_protocol::NameMap;
use std::sync::Arc;

use ministack_protocol::{Protocol, RequestHead, ServiceModel};

use crate::plugins::Plugin;
use crate::service_index::{AwsService, INDEX};

/// What the router needs of a plugin: its name, model and raw routes.
pub trait Routable {
    fn name(&self) -> &str;
    fn model(&self) -> &ServiceModel;
    /// (host suffix, path prefix) pairs.
    fn raw_routes(&self) -> &[(String, String)];
}

impl Routable for Plugin {
    fn name(&self) -> &str {
        Plugin::name(self)
    }
    fn model(&self) -> &ServiceModel {
        &self.model
    }
    fn raw_routes(&self) -> &[(String, String)] {
        &self.description.raw_routes
    }
}

/// What the router needs to know about a request.
pub struct RouteInput<'a> {
    pub head: RequestHead<'a>,
    pub host: &'a str,
    pub signing_service: Option<&'a str>,
    /// The form body, when it has been read (query protocols need it).
    pub form_body: Option<&'a [u8]>,
}

pub enum Route<P = Plugin> {
    /// A raw route: the plugin's `handle-http` gets the request as it is.
    Raw(Arc<P>),
    /// A model operation of this plugin.
    Service(Arc<P>),
    /// Only the body can tell (an `Action=` form): read it and route again.
    NeedBody,
    /// A botocore service with no plugin in the bundle.
    Disabled(&'static AwsService),
    None,
}

pub struct Router<P = Plugin> {
    raw: Vec<(String, String, Arc<P>)>,
    by_target_prefix: NameMap<Arc<P>>,
    by_signing_name: NameMap<Vec<Arc<P>>>,
    by_endpoint_prefix: NameMap<Vec<Arc<P>>>,
    /// Query/ec2 action name → plugins whose model has it.
    by_action: NameMap<Vec<Arc<P>>>,
    /// REST plugins, S3 last.
    rest: Vec<Arc<P>>,
    s3: Option<Arc<P>>,
}

fn is_rest<P: Routable + ?Sized>(p: &P) -> bool {
    p.model()
        .metadata()
        .protocols
        .iter()
        .any(|p| matches!(p, Protocol::RestJson | Protocol::RestXml))
}

fn is_query<P: Routable + ?Sized>(p: &P) -> bool {
    p.model()
        .metadata()
        .protocols
        .iter()
        .any(|p| matches!(p, Protocol::Query | Protocol::Ec2))
}

fn is_native_query<P: Routable + ?Sized>(p: &P) -> bool {
    matches!(
        p.model().metadata().protocols.first(),
        Some(Protocol::Query | Protocol::Ec2)
    )
}

impl<P: Routable> Router<P> {
    pub fn new(plugins: &[Arc<P>]) -> Self {
        let mut r = Router {
            raw: Vec::new(),
            by_target_prefix: NameMap::default(),
            by_signing_name: NameMap::default(),
            by_endpoint_prefix: NameMap::default(),
            by_action: NameMap::default(),
            rest: Vec::new(),
            s3: None,
        };
        for p in plugins {
            let meta = p.model().metadata();
            for (host_suffix, path_prefix) in p.raw_routes() {
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
            if is_query(p.as_ref()) {
                for op in p.model().operation_names() {
                    r.by_action
                        .entry(op.to_string())
                        .or_default()
                        .push(p.clone());
                }
            }
            if meta.endpoint_prefix == "s3" && p.name() == "s3" {
                r.s3 = Some(p.clone());
            } else if is_rest(p.as_ref()) {
                r.rest.push(p.clone());
            }
        }
        // An action two services share (SNS and SQS both have AddPermission)
        // goes, unsigned, to the service whose own protocol is query rather
        // than to a json service that also accepts query (awsQueryCompatible).
        for list in r.by_action.values_mut() {
            list.sort_by_key(|p| !is_native_query(p.as_ref()));
        }
        // Longest raw prefixes first, so the most specific claim wins.
        r.raw
            .sort_by_key(|(host, path, _)| std::cmp::Reverse(host.len() + path.len()));
        if let Some(s3) = &r.s3 {
            r.rest.push(s3.clone());
        }
        r
    }

    pub fn route(&self, input: &RouteInput<'_>) -> Route<P> {
        let head = &input.head;
        let host = input.host.split(':').next().unwrap_or("");

        for (suffix, prefix, plugin) in &self.raw {
            // Empty affixes are not compared: see `affix_matches`.
            if affix_matches(suffix, |s| host.ends_with(s))
                && affix_matches(prefix, |p| head.path.starts_with(p))
            {
                return Route::Raw(plugin.clone());
            }
        }
        if let Some(target) = header(head, &X_AMZ_TARGET) {
            let prefix = target.rsplit_once('.').map_or(target, |(p, _)| p);
            if let Some(p) = self.by_target_prefix.get(prefix) {
                return Route::Service(p.clone());
            }
            if let Some(s) = INDEX.by_target_prefix(prefix) {
                return Route::Disabled(s);
            }
        }
        if header(head, &SMITHY_PROTOCOL) == Some("rpc-v2-cbor")
            && let Some(name) = head
                .path
                .strip_prefix("/service/")
                .and_then(|r| r.split('/').next())
        {
            if let Some(p) = self.by_target_prefix.get(name) {
                return Route::Service(p.clone());
            }
            if let Some(s) = INDEX.by_target_prefix(name) {
                return Route::Disabled(s);
            }
        }
        // Candidates: the plugins signing with the request's service name.
        let signed: Option<&Vec<Arc<P>>> = input
            .signing_service
            .and_then(|s| self.by_signing_name.get(s));
        if let Some(name) = input.signing_service {
            let mut known = INDEX.by_signing_name(name);
            if signed.is_none() {
                if let Some(s) = known.next() {
                    return Route::Disabled(s);
                }
            } else if let Some(s) = known.find(|s| {
                s.path_prefix.is_some_and(|p| head.path.starts_with(p))
                    && !self.by_endpoint_prefix.contains_key(s.endpoint_prefix)
            }) {
                return Route::Disabled(s);
            }
        }
        if let Some([only]) = signed.map(Vec::as_slice) {
            return Route::Service(only.clone());
        }
        let allowed = |p: &Arc<P>| signed.is_none_or(|l| l.iter().any(|x| Arc::ptr_eq(x, p)));

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
        // A JSON RPC request (a target no plugin has) is never S3's: S3, the
        // catch-all, would answer its `<Error>` to a JSON client.
        let json_rpc = header(head, &X_AMZ_TARGET).is_some()
            || header(head, &http::header::CONTENT_TYPE)
                .is_some_and(|c| c.starts_with("application/x-amz-json"));
        let is_s3 = |p: &Arc<P>| self.s3.as_ref().is_some_and(|s| Arc::ptr_eq(s, p));
        for p in self
            .rest
            .iter()
            .filter(|p| allowed(p) && !(json_rpc && is_s3(p)))
        {
            // S3 is last and the catch-all: when the fallback below would
            // pick it anyway, its templates need no match here (the body
            // reader matches the operation once, issue 22).
            if is_s3(p) && signed.is_none_or(|l| Arc::ptr_eq(&l[0], p)) {
                return Route::Service(p.clone());
            }
            if p.model().match_rest(head).is_some() {
                return Route::Service(p.clone());
            }
        }
        if let Some(list) = signed {
            return Route::Service(list[0].clone());
        }
        match &self.s3 {
            Some(s3) if !json_rpc => Route::Service(s3.clone()),
            _ => Route::None,
        }
    }
}

/// An empty affix matches everything and is not compared: an empty
/// `String`'s pointer is dangling, and glibc's AVX-512 `memcmp` loads
/// through it under an all-zero mask, a suppressed fault that costs a
/// microcode assist per call (docs/performance.md, "memcmp of nothing").
fn affix_matches(affix: &str, matches: impl FnOnce(&str) -> bool) -> bool {
    affix.is_empty() || matches(affix)
}

// Named once: a lookup by `&str` parses and lowercases the name each time.
const X_AMZ_TARGET: http::HeaderName = http::HeaderName::from_static("x-amz-target");
const SMITHY_PROTOCOL: http::HeaderName = http::HeaderName::from_static("smithy-protocol");

fn header<'a>(head: &'a RequestHead<'_>, name: &http::HeaderName) -> Option<&'a str> {
    head.headers.get(name).and_then(|v| v.to_str().ok())
}

fn is_form(head: &RequestHead<'_>) -> bool {
    head.method == http::Method::POST
        && header(head, &http::header::CONTENT_TYPE)
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

    /// A plugin as the router sees it, with a real (tiny) model.
    struct Fake {
        name: &'static str,
        model: ServiceModel,
        raw: Vec<(String, String)>,
    }

    impl Routable for Fake {
        fn name(&self) -> &str {
            self.name
        }
        fn model(&self) -> &ServiceModel {
            &self.model
        }
        fn raw_routes(&self) -> &[(String, String)] {
            &self.raw
        }
    }

    fn model(
        protocol: &str,
        signing: &str,
        target: Option<&str>,
        ops: &[(&str, &str, &str)],
    ) -> ServiceModel {
        let mut operations = serde_json::Map::new();
        for (name, method, uri) in ops {
            operations.insert(
                name.to_string(),
                serde_json::json!({"name": name, "http": {"method": method, "requestUri": uri}}),
            );
        }
        let mut metadata = serde_json::json!({
            "apiVersion": "2024-01-01", "endpointPrefix": signing, "signingName": signing,
            "protocol": protocol, "protocols": [protocol], "jsonVersion": "1.0", "serviceId": signing,
        });
        if let Some(t) = target {
            metadata["targetPrefix"] = serde_json::json!(t);
        }
        let m = serde_json::json!({"version": "2.0", "metadata": metadata, "operations": operations, "shapes": {}});
        ServiceModel::from_json(&m.to_string()).unwrap()
    }

    fn fake(name: &'static str, model: ServiceModel) -> Arc<Fake> {
        Arc::new(Fake {
            name,
            model,
            raw: Vec::new(),
        })
    }

    fn router() -> Router<Fake> {
        let mut data = Fake {
            name: "data",
            model: model("rest-json", "data", None, &[("Get", "GET", "/data/{Id}")]),
            raw: vec![(String::new(), "/_data/".into())],
        };
        data.raw.push((".execute-api.localhost".into(), "/".into()));
        Router::new(&[
            fake(
                "queue",
                model(
                    "json",
                    "queue",
                    Some("Queue_2024"),
                    &[("Send", "POST", "/")],
                ),
            ),
            fake(
                "ident",
                model("query", "ident", None, &[("WhoAmI", "POST", "/")]),
            ),
            fake(
                "shared-a",
                model("json", "shared", Some("SharedA"), &[("A", "POST", "/")]),
            ),
            fake(
                "shared-b",
                model("rest-json", "shared", None, &[("B", "GET", "/b/{X}")]),
            ),
            fake(
                "s3",
                model(
                    "rest-xml",
                    "s3",
                    None,
                    &[("GetObject", "GET", "/{Bucket}/{Key+}")],
                ),
            ),
            Arc::new(data),
        ])
    }

    fn route(
        r: &Router<Fake>,
        method: &str,
        path: &str,
        query: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Option<(bool, String)> {
        let method: http::Method = method.parse().unwrap();
        let mut map = http::HeaderMap::new();
        for (k, v) in headers {
            map.insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        let signing = headers
            .iter()
            .find(|(k, _)| *k == "authorization")
            .and_then(|(_, v)| crate::auth::sigv4::from_authorization(v))
            .and_then(|s| s.service);
        let host = headers
            .iter()
            .find(|(k, _)| *k == "host")
            .map_or("localhost", |(_, v)| v);
        let input = RouteInput {
            head: RequestHead {
                method: &method,
                path,
                query,
                headers: &map,
            },
            host,
            signing_service: signing.as_deref(),
            form_body: body,
        };
        match r.route(&input) {
            Route::Service(p) => Some((false, p.name.to_string())),
            Route::Raw(p) => Some((true, p.name.to_string())),
            Route::NeedBody => Some((false, "<need body>".into())),
            Route::Disabled(s) => Some((false, format!("<disabled {}>", s.name))),
            Route::None => None,
        }
    }

    fn signed(service: &str) -> String {
        format!(
            "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0"
        )
    }

    #[test]
    fn routes_in_the_documented_order() {
        let r = router();
        // Raw routes first, even when the signing name says otherwise.
        assert_eq!(
            route(
                &r,
                "GET",
                "/_data/x",
                "",
                &[("authorization", &signed("queue"))],
                None
            ),
            Some((true, "data".into()))
        );
        assert_eq!(
            route(
                &r,
                "GET",
                "/",
                "",
                &[("host", "abc.execute-api.localhost:4566")],
                None
            ),
            Some((true, "data".into()))
        );
        // X-Amz-Target.
        assert_eq!(
            route(
                &r,
                "POST",
                "/",
                "",
                &[("x-amz-target", "Queue_2024.Send")],
                None
            ),
            Some((false, "queue".into()))
        );
        // A unique signing name.
        assert_eq!(
            route(
                &r,
                "POST",
                "/",
                "",
                &[("authorization", &signed("ident"))],
                None
            ),
            Some((false, "ident".into()))
        );
        // Host header of the AWS endpoint.
        assert_eq!(
            route(
                &r,
                "POST",
                "/",
                "",
                &[("host", "queue.us-east-1.amazonaws.com")],
                None
            ),
            Some((false, "queue".into()))
        );
        // Action= in a form body: first the router asks for the body.
        let form = [("content-type", "application/x-www-form-urlencoded")];
        assert_eq!(
            route(&r, "POST", "/", "", &form, None),
            Some((false, "<need body>".into()))
        );
        assert_eq!(
            route(&r, "POST", "/", "", &form, Some(b"Action=WhoAmI&Version=1")),
            Some((false, "ident".into()))
        );
        assert_eq!(
            route(&r, "GET", "/", "Action=WhoAmI", &[], None),
            Some((false, "ident".into()))
        );
        // REST templates, S3 last.
        assert_eq!(
            route(&r, "GET", "/data/42", "", &[], None),
            Some((false, "data".into()))
        );
        assert_eq!(
            route(&r, "GET", "/bucket/key", "", &[], None),
            Some((false, "s3".into()))
        );
    }

    #[test]
    fn a_shared_signing_name_narrows_the_candidates() {
        let r = router();
        let auth = signed("shared");
        assert_eq!(
            route(
                &r,
                "POST",
                "/",
                "",
                &[("authorization", &auth), ("x-amz-target", "SharedA.A")],
                None
            ),
            Some((false, "shared-a".into()))
        );
        assert_eq!(
            route(&r, "GET", "/b/1", "", &[("authorization", &auth)], None),
            Some((false, "shared-b".into()))
        );
        // /data/1 matches another plugin's template, but the signature says "shared".
        assert_eq!(
            route(&r, "GET", "/data/1", "", &[("authorization", &auth)], None),
            Some((false, "shared-a".into()))
        );
    }

    #[test]
    fn a_query_compatible_json_service_is_found_by_action() {
        let mut m: serde_json::Value = serde_json::json!({
            "version": "2.0",
            "metadata": {"apiVersion": "2012-11-05", "endpointPrefix": "sqs", "protocol": "json",
                         "protocols": ["json"], "jsonVersion": "1.0", "targetPrefix": "AmazonSQS",
                         "serviceId": "SQS", "awsQueryCompatible": {}},
            "operations": {"AddPermission": {"name": "AddPermission", "http": {"method": "POST", "requestUri": "/"}},
                           "ListQueues": {"name": "ListQueues", "http": {"method": "POST", "requestUri": "/"}}},
            "shapes": {}
        });
        let sqs = ServiceModel::from_json(&m.to_string()).unwrap();
        m["metadata"] = serde_json::json!({"apiVersion": "2010-03-31", "endpointPrefix": "sns",
            "protocol": "query", "serviceId": "SNS"});
        m["operations"]
            .as_object_mut()
            .unwrap()
            .remove("ListQueues");
        let sns = ServiceModel::from_json(&m.to_string()).unwrap();
        let r: Router<Fake> = Router::new(&[fake("sqs", sqs), fake("sns", sns)]);
        let form = [("content-type", "application/x-www-form-urlencoded")];
        assert_eq!(
            route(
                &r,
                "POST",
                "/",
                "",
                &form,
                Some(b"Action=ListQueues&Version=2012-11-05")
            ),
            Some((false, "sqs".into()))
        );
        // A shared action goes to the service whose own protocol is query,
        // unless the signature says otherwise.
        assert_eq!(
            route(&r, "GET", "/", "Action=AddPermission", &[], None),
            Some((false, "sns".into()))
        );
        assert_eq!(
            route(
                &r,
                "GET",
                "/",
                "Action=AddPermission",
                &[("authorization", &signed("sqs"))],
                None
            ),
            Some((false, "sqs".into()))
        );
    }

    #[test]
    fn a_service_with_no_plugin_is_disabled() {
        let r = router();
        let disabled = |name: &str| Some((false, format!("<disabled {name}>")));
        // Lambda's REST path, signed `lambda`: not S3's bucket `2015-03-31`.
        let auth = signed("lambda");
        assert_eq!(
            route(
                &r,
                "GET",
                "/2015-03-31/functions",
                "",
                &[("authorization", &auth)],
                None
            ),
            disabled("lambda")
        );
        // A json target prefix, signed or not.
        assert_eq!(
            route(
                &r,
                "POST",
                "/",
                "",
                &[("x-amz-target", "AWSEvents.PutEvents")],
                None
            ),
            disabled("events")
        );
        // S3 Control signs `s3` too; its fixed path prefix tells it apart.
        let auth = signed("s3");
        assert_eq!(
            route(
                &r,
                "POST",
                "/v20180820/jobs",
                "",
                &[("authorization", &auth)],
                None
            ),
            disabled("s3control")
        );
        assert_eq!(
            route(
                &r,
                "PUT",
                "/bucket/key",
                "",
                &[("authorization", &auth)],
                None
            ),
            Some((false, "s3".into()))
        );
        // Unsigned browser-style requests still go to S3; an unknown
        // signing name is not refused.
        assert_eq!(
            route(&r, "GET", "/2015-03-31/functions", "", &[], None),
            Some((false, "s3".into()))
        );
        assert_eq!(
            route(
                &r,
                "GET",
                "/bucket/k",
                "",
                &[("authorization", &signed("nosuch"))],
                None
            ),
            Some((false, "s3".into()))
        );
    }

    #[test]
    fn without_s3_an_unclaimed_request_is_none() {
        let r: Router<Fake> = Router::new(&[fake(
            "queue",
            model(
                "json",
                "queue",
                Some("Queue_2024"),
                &[("Send", "POST", "/")],
            ),
        )]);
        assert_eq!(route(&r, "GET", "/nothing/here", "", &[], None), None);
    }

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
