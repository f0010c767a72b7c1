//! `GET /_ministack/logs`: the recent events of each log group of the
//! caller's account and region (newest last), as JSON, or as an HTML page
//! when the browser asks for `text/html`. `?group=<name>` narrows it to one
//! group, `?limit=<n>` (default 20, at most 1,000) events per group.

use ministack_sdk::prelude::*;
use ministack_sdk::{HttpRequest, HttpResponse};
use serde_json::{Value, json};

use crate::events::{for_each_chunk, retention_cutoff};
use crate::groups::GROUPS;
use crate::insights::fmt_time;

fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k == name).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                    out.push(v);
                    i += 3;
                    continue;
                }
                out.push(b'%')
            }
            b'+' => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The newest `limit` events of a group, oldest first.
fn recent(group: &str, cutoff: i64, limit: usize) -> Result<Vec<Value>, AwsError> {
    let mut all: Vec<(i64, String, String)> = Vec::new();
    for_each_chunk(group, None, |stream, _, c| {
        for (ts, msg) in &c.ev {
            if *ts >= cutoff {
                all.push((*ts, stream.to_string(), msg.clone()));
            }
        }
        true
    })?;
    all.sort_by_key(|e| e.0);
    let skip = all.len().saturating_sub(limit);
    Ok(all
        .into_iter()
        .skip(skip)
        .map(|(ts, stream, msg)| json!({"timestamp": ts, "time": fmt_time(ts), "logStream": stream, "message": msg}))
        .collect())
}

pub fn serve(ctx: &Context, req: HttpRequest) -> HttpResponse {
    let path = req.path.trim_end_matches('/');
    if req.method != "GET" || path != "/_ministack/logs" {
        return HttpResponse::not_found();
    }
    let limit = query_param(&req.query, "limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(20)
        .clamp(1, 1000);
    let wanted = query_param(&req.query, "group");
    let groups = match GROUPS.scan(&Scan::all()) {
        Ok(g) => g,
        Err(e) => {
            return HttpResponse::new(
                500,
                "application/json",
                json!({"error": e.message}).to_string(),
            );
        }
    };
    let mut out = serde_json::Map::new();
    for (name, g) in groups {
        if wanted.as_ref().is_some_and(|w| *w != name) {
            continue;
        }
        match recent(&name, retention_cutoff(&g), limit) {
            Ok(events) => {
                out.insert(name, Value::Array(events));
            }
            Err(e) => {
                return HttpResponse::new(
                    500,
                    "application/json",
                    json!({"error": e.message}).to_string(),
                );
            }
        }
    }
    let html = req
        .header("accept")
        .is_some_and(|a| a.contains("text/html"));
    if !html {
        let body = json!({"account": ctx.account, "region": ctx.region, "logGroups": out});
        return HttpResponse::new(200, "application/json", body.to_string());
    }
    let mut page = format!(
        "<!doctype html><meta charset=utf-8><title>CloudWatch Logs</title>\
         <style>body{{font-family:sans-serif}}td{{font-family:monospace;vertical-align:top;padding:0 .5em}}</style>\
         <h1>CloudWatch Logs — {} {}</h1>",
        escape(&ctx.account),
        escape(&ctx.region)
    );
    for (name, events) in &out {
        page.push_str(&format!("<h2>{}</h2><table>", escape(name)));
        for e in events.as_array().into_iter().flatten() {
            page.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(e["time"].as_str().unwrap_or("")),
                escape(e["logStream"].as_str().unwrap_or("")),
                escape(e["message"].as_str().unwrap_or(""))
            ));
        }
        page.push_str("</table>");
    }
    HttpResponse::new(200, "text/html; charset=utf-8", page)
}
