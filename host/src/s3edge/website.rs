//! The website endpoint: `<bucket>.s3-website.localhost`,
//! `<bucket>.s3-website-<region>.localhost`, `<bucket>.s3-website.<region>.localhost`
//! (and the same under `localhost.localstack.cloud` / `amazonaws.com`).
//! GET and HEAD only; index documents for `/` and `dir/`, the error document
//! with the error's status, routing rules and RedirectAllRequestsTo as
//! redirects, and HTML error pages, as AWS's website endpoint answers.

use std::sync::Arc;

use crate::body::WireBody;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use ministack_protocol::{self as protocol, AwsError, Protocol};
use serde_json::{Value, json};

use super::{call, caller};
use crate::auth;
use crate::body::ResponseBody;
use crate::dispatch::{Caller, Dispatcher, OwnedBlobs};
use crate::plugins::Plugin;
use crate::respond::Encoder;

/// The bucket a website-endpoint Host names.
pub fn bucket(host: &str) -> Option<String> {
    let name = host.split(':').next().unwrap_or(host);
    if !(name.contains(".s3-website.") || name.contains(".s3-website-")) {
        return None;
    }
    protocol::s3_virtual_host_bucket(name).map(str::to_string)
}

/// AWS's HTML error page.
pub fn html_error(
    status: u16,
    code: &str,
    message: &str,
    extra: &[(&str, &str)],
    request_id: &str,
) -> Response<ResponseBody> {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::NOT_FOUND);
    let title = format!(
        "{} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    );
    let mut items = format!(
        "<li>Code: {}</li>\n<li>Message: {}</li>\n",
        esc(code),
        esc(message)
    );
    for (k, v) in extra {
        items.push_str(&format!("<li>{}: {}</li>\n", esc(k), esc(v)));
    }
    items.push_str(&format!(
        "<li>RequestId: {request_id}</li>\n<li>HostId: {request_id}</li>\n"
    ));
    let body = format!(
        "<html>\n<head><title>{title}</title></head>\n<body>\n<h1>{title}</h1>\n<ul>\n{items}</ul>\n<hr/>\n</body>\n</html>\n"
    );
    let mut r = Response::new(ResponseBody::from_bytes(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r
}

fn redirect(status: u16, location: &str) -> Response<ResponseBody> {
    let mut r = Response::new(ResponseBody::empty());
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::MOVED_PERMANENTLY);
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(http::header::LOCATION, v);
    }
    r
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for p in path {
        cur = cur.get(*p)?;
    }
    cur.as_str().filter(|s| !s.is_empty())
}

/// The redirect a routing rule asks for: (status, location).
pub fn rule_redirect(rule: &Value, key: &str, host: &str) -> (u16, String) {
    let r = rule.get("Redirect").cloned().unwrap_or(Value::Null);
    let proto = str_at(&r, &["Protocol"]).unwrap_or("http");
    let to_host = str_at(&r, &["HostName"]).unwrap_or(host);
    let new_key = if let Some(k) = r.get("ReplaceKeyWith").and_then(Value::as_str) {
        k.to_string()
    } else if let Some(p) = r.get("ReplaceKeyPrefixWith").and_then(Value::as_str) {
        let prefix = str_at(rule, &["Condition", "KeyPrefixEquals"]).unwrap_or("");
        format!("{p}{}", key.strip_prefix(prefix).unwrap_or(key))
    } else {
        key.to_string()
    };
    let status = str_at(&r, &["HttpRedirectCode"])
        .and_then(|c| c.parse().ok())
        .unwrap_or(301);
    (status, format!("{proto}://{to_host}/{new_key}"))
}

/// The first rule whose condition holds for `key` and the error code
/// (`None` before the object is read).
pub fn matching_rule<'a>(rules: &'a [Value], key: &str, error: Option<u16>) -> Option<&'a Value> {
    rules.iter().find(|rule| {
        let cond = rule.get("Condition");
        let prefix_ok = cond
            .and_then(|c| c.get("KeyPrefixEquals"))
            .and_then(Value::as_str)
            .is_none_or(|p| key.starts_with(p));
        let code = cond
            .and_then(|c| c.get("HttpErrorCodeReturnedEquals"))
            .and_then(Value::as_str);
        let code_ok = match (code, error) {
            (None, _) => true,
            (Some(c), Some(e)) => c == e.to_string(),
            (Some(_), None) => false,
        };
        prefix_ok && code_ok
    })
}

struct Site<'a> {
    dispatcher: &'a Dispatcher,
    encoder: &'a Encoder,
    plugin: Arc<Plugin>,
    bucket: &'a str,
    request_id: &'a str,
    caller: auth::Caller,
    head: bool,
}

impl Site<'_> {
    async fn object(
        &self,
        key: &str,
        status: Option<u16>,
    ) -> Result<Response<ResponseBody>, AwsError> {
        self.object_as(key, status, self.head).await
    }

    async fn object_as(
        &self,
        key: &str,
        status: Option<u16>,
        head: bool,
    ) -> Result<Response<ResponseBody>, AwsError> {
        let op = if head { "HeadObject" } else { "GetObject" };
        let out = call(
            self.dispatcher,
            &self.plugin,
            Caller::Client(self.caller.clone()),
            self.request_id,
            op,
            &json!({"Bucket": self.bucket, "Key": key}),
            OwnedBlobs::none(),
        )
        .await?;
        let resp = protocol::encode_response(
            &self.plugin.model,
            Protocol::RestXml,
            op,
            &out,
            self.request_id,
        )?;
        let mut resp = self.encoder.to_http(&self.plugin, resp);
        if let Some(s) = status.and_then(|s| StatusCode::from_u16(s).ok()) {
            *resp.status_mut() = s;
        }
        Ok(resp)
    }
}

pub async fn serve(
    dispatcher: &Dispatcher,
    encoder: &Encoder,
    req: Request<WireBody>,
    bucket: &str,
    request_id: &str,
) -> Response<ResponseBody> {
    let Some(plugin) = dispatcher.registry().by_name.get("s3").cloned() else {
        return html_error(
            404,
            "NoSuchBucket",
            "The specified bucket does not exist",
            &[("BucketName", bucket)],
            request_id,
        );
    };
    let head = req.method() == Method::HEAD;
    if !head && req.method() != Method::GET {
        let method = req.method().to_string();
        return html_error(
            405,
            "MethodNotAllowed",
            "The specified method is not allowed against this resource.",
            &[("Method", method.as_str()), ("ResourceType", "OBJECT")],
            request_id,
        );
    }
    let host = req
        .headers()
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
        .to_string();
    let caller = caller(dispatcher, req.headers(), "");
    let site = Site {
        dispatcher,
        encoder,
        plugin: plugin.clone(),
        bucket,
        request_id,
        caller: caller.clone(),
        head,
    };
    let config = match call(
        dispatcher,
        &plugin,
        Caller::Client(caller),
        request_id,
        "GetBucketWebsite",
        &json!({"Bucket": bucket}),
        OwnedBlobs::none(),
    )
    .await
    {
        Ok(c) => c,
        Err(e) if e.code == "NoSuchBucket" => {
            return html_error(
                404,
                "NoSuchBucket",
                "The specified bucket does not exist",
                &[("BucketName", bucket)],
                request_id,
            );
        }
        Err(e) if e.code == "NoSuchWebsiteConfiguration" => {
            return html_error(
                404,
                "NoSuchWebsiteConfiguration",
                "The specified bucket does not have a website configuration",
                &[("BucketName", bucket)],
                request_id,
            );
        }
        Err(e) => {
            return html_error(
                e.status.unwrap_or(500),
                &e.code,
                &e.message,
                &[],
                request_id,
            );
        }
    };
    let path = req.uri().path();
    if let Some(to) = config.get("RedirectAllRequestsTo") {
        let proto = str_at(to, &["Protocol"]).unwrap_or("http");
        let to_host = str_at(to, &["HostName"]).unwrap_or(&host);
        return redirect(301, &format!("{proto}://{to_host}{path}"));
    }
    let key = percent_encoding::percent_decode_str(path.strip_prefix('/').unwrap_or(path))
        .decode_utf8_lossy()
        .into_owned();
    let rules: Vec<Value> = config
        .get("RoutingRules")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if let Some(rule) = matching_rule(&rules, &key, None) {
        let (status, location) = rule_redirect(rule, &key, &host);
        return redirect(status, &location);
    }
    let index = str_at(&config, &["IndexDocument", "Suffix"]).unwrap_or("index.html");
    let object_key = if key.is_empty() || key.ends_with('/') {
        format!("{key}{index}")
    } else {
        key.clone()
    };
    let error = match site.object(&object_key, None).await {
        Ok(resp) => return resp,
        Err(e) => e,
    };
    let status = error.status.unwrap_or(404);
    if error.code == "NoSuchKey" && !key.is_empty() && !key.ends_with('/') {
        // `dir` answers with a redirect to `dir/` when `dir/index.html` exists.
        let dir_index = format!("{key}/{index}");
        if site.object_as(&dir_index, None, true).await.is_ok() {
            return redirect(302, &format!("/{key}/"));
        }
    }
    if !matches!(status, 403 | 404) {
        return encoder.error(&plugin, Protocol::RestXml, None, &error, request_id);
    }
    if let Some(rule) = matching_rule(&rules, &key, Some(status)) {
        let (s, location) = rule_redirect(rule, &key, &host);
        return redirect(s, &location);
    }
    if let Some(doc) = str_at(&config, &["ErrorDocument", "Key"])
        && let Ok(resp) = site.object(doc, Some(status)).await
    {
        return resp;
    }
    let extra: Vec<(&str, &str)> = if error.code == "NoSuchKey" {
        vec![("Key", object_key.as_str())]
    } else {
        vec![]
    };
    html_error(status, &error.code, &error.message, &extra, request_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn website_hosts() {
        assert_eq!(
            bucket("site.s3-website.localhost:4566").as_deref(),
            Some("site")
        );
        assert_eq!(
            bucket("site.s3-website-us-east-1.localhost").as_deref(),
            Some("site")
        );
        assert_eq!(
            bucket("my.site.s3-website.eu-west-1.localhost").as_deref(),
            Some("my.site")
        );
        assert_eq!(bucket("site.s3.localhost"), None);
        assert_eq!(bucket("localhost:4566"), None);
    }

    #[test]
    fn routing_rules() {
        let rules = vec![
            json!({"Condition": {"KeyPrefixEquals": "docs/"}, "Redirect": {"ReplaceKeyPrefixWith": "documents/"}}),
            json!({"Condition": {"HttpErrorCodeReturnedEquals": "404"}, "Redirect": {"HostName": "example.com", "ReplaceKeyWith": "missing.html", "HttpRedirectCode": "302"}}),
        ];
        let r = matching_rule(&rules, "docs/a.html", None).unwrap();
        assert_eq!(
            rule_redirect(r, "docs/a.html", "h:1"),
            (301, "http://h:1/documents/a.html".into())
        );
        assert!(matching_rule(&rules, "other", None).is_none());
        let r = matching_rule(&rules, "other", Some(404)).unwrap();
        assert_eq!(
            rule_redirect(r, "other", "h"),
            (302, "http://example.com/missing.html".into())
        );
    }
}
