//! The ec2 protocol: query-style requests (names capitalized, lists always
//! flattened: `Filter.1.Name`), XML responses without a Result wrapper and
//! with a lower-case `requestId`; errors in `<Response><Errors>`.

use serde_json::Value;

use crate::model::Operation;
use crate::query::{query_code, write_error_fields};
use crate::xml::{Writer, write_members};
use crate::{AwsError, ErrorContext, HttpResponse, ResponseBody, ServiceModel};

fn namespace(model: &ServiceModel) -> String {
    model.metadata.xml_namespace.clone().unwrap_or_else(|| {
        format!(
            "http://ec2.amazonaws.com/doc/{}/",
            model.metadata.api_version
        )
    })
}

pub(crate) fn encode_output(
    model: &ServiceModel,
    op: &Operation,
    output: &Value,
    request_id: &str,
) -> Result<HttpResponse, AwsError> {
    let mut w = Writer::default();
    let root = format!("{}Response", op.name);
    w.start(&root, &[("xmlns".into(), namespace(model))]);
    w.leaf("requestId", request_id);
    if let Some(r) = &op.output {
        write_members(&mut w, &model.model, r.shape, output, false);
    }
    w.end(&root);
    Ok(HttpResponse {
        status: 200,
        headers: vec![("Content-Type".into(), "text/xml;charset=UTF-8".into())],
        body: ResponseBody::Bytes(w.into_bytes()),
    })
}

pub(crate) fn encode_error(
    model: &ServiceModel,
    error: &AwsError,
    ctx: &ErrorContext,
) -> HttpResponse {
    let mut w = Writer::default();
    w.start("Response", &[]);
    w.start("Errors", &[]);
    w.start("Error", &[]);
    write_error_fields(&mut w, model, &query_code(model, error, ctx), error, ctx);
    w.end("Error");
    w.end("Errors");
    w.leaf("RequestID", ctx.request_id);
    w.end("Response");
    HttpResponse {
        status: ctx.status,
        headers: vec![("Content-Type".into(), "text/xml;charset=UTF-8".into())],
        body: ResponseBody::Bytes(w.into_bytes()),
    }
}
