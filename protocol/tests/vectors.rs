//! AWS's protocol test vectors (tests/protocol-vectors, from botocore) as the
//! codec's acceptance test.
//!
//! Input cases: the serialized HTTP request goes through `decode_request`;
//! the result must equal the case's `params` (compared by shape type).
//! Output cases: `result` (or the error) goes through `encode_response` /
//! `encode_error`, and botocore's own parser (judge.py, one process per
//! protocol file) must parse it back to `result`.
//!
//! Run: cargo test -p ministack-protocol --release --test vectors -- --nocapture

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ministack_protocol::compression::inflate_request;
use ministack_protocol::http::{HeaderMap, HeaderName, HeaderValue, Method};
use ministack_protocol::{
    AwsError, HttpResponse, Protocol, RequestBody, RequestHead, ResponseBody, ServiceModel,
    decode_request, decode_request_text, encode_error, encode_response, encode_response_text,
};
use serde_json::{Map, Value, json};

const FILES: [&str; 10] = [
    "query",
    "ec2",
    "json",
    "json_1_0",
    "json_1_0-query-compatible",
    "rest-json",
    "rest-xml",
    "smithy-rpc-v2-cbor",
    "smithy-rpc-v2-cbor-query-compatible",
    "smithy-rpc-v2-cbor-non-query-compatible",
];

/// Pass threshold per protocol file and direction.
const THRESHOLD: f64 = 0.98;

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/protocol-vectors")
}

fn load(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("read vectors"))
        .expect("parse vectors")
}

struct Ignore {
    suites: HashSet<String>,
    cases: HashSet<(String, String, String)>,
}

impl Ignore {
    fn load() -> Ignore {
        let v = load(&vectors_dir().join("protocol-tests-ignore-list.json"));
        let mut suites = HashSet::new();
        for dir in ["input", "output"] {
            for s in v["general"][dir]["suites"].as_array().into_iter().flatten() {
                suites.insert(format!("{dir}:{}", s.as_str().unwrap_or("")));
            }
        }
        let mut cases = HashSet::new();
        if let Some(protocols) = v["protocols"].as_object() {
            for (proto, dirs) in protocols {
                for dir in ["input", "output"] {
                    for c in dirs[dir]["cases"].as_array().into_iter().flatten() {
                        let id = c.as_str().or_else(|| c["id"].as_str()).unwrap_or("");
                        cases.insert((proto.clone(), dir.to_string(), id.to_string()));
                    }
                }
            }
        }
        Ignore { suites, cases }
    }
    fn ignored(&self, file: &str, dir: &str, suite: &str, id: &str) -> bool {
        self.suites.contains(&format!("{dir}:{suite}"))
            || self
                .cases
                .contains(&(file.to_string(), dir.to_string(), id.to_string()))
    }
}

fn model_for(suite: &Value, given: &Value) -> Result<ServiceModel, String> {
    let mut ops = Map::new();
    ops.insert(
        given["name"].as_str().unwrap_or("").to_string(),
        given.clone(),
    );
    let doc = json!({"metadata": suite["metadata"], "operations": ops, "shapes": suite["shapes"]});
    ServiceModel::from_json(&doc.to_string()).map_err(|e| e.to_string())
}

fn shape<'a>(shapes: &'a Value, name: &str) -> &'a Value {
    &shapes[name]
}

fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => match s.as_str() {
            "NaN" => Some(f64::NAN),
            "Infinity" => Some(f64::INFINITY),
            "-Infinity" => Some(f64::NEG_INFINITY),
            _ => None,
        },
        _ => None,
    }
}

fn float_eq(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= 1e-6 * a.abs().max(1.0)
}

/// Clients leave empty lists, maps and structures off the wire (or send
/// `{}` for an absent payload structure), so on the server side an empty
/// collection and an absent member are the same request.
fn is_empty_collection(v: &Value) -> bool {
    match v {
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// Compares our decoded JSON against the vector's `params`, by shape type.
fn compare(
    shapes: &Value,
    name: &str,
    ours: &Value,
    want: &Value,
    path: &str,
) -> Result<(), String> {
    let s = shape(shapes, name);
    let ty = s["type"].as_str().unwrap_or("");
    let fail = || Err(format!("{path}: ours {ours} want {want}"));
    if s["document"].as_bool() == Some(true) {
        return if ours == want { Ok(()) } else { fail() };
    }
    match ty {
        "structure" => {
            let (Some(o), Some(w)) = (ours.as_object(), want.as_object()) else {
                return fail();
            };
            for (k, wv) in w {
                if wv.is_null() {
                    continue;
                }
                let Some(ov) = o.get(k) else {
                    if is_empty_collection(wv) {
                        continue;
                    }
                    return Err(format!("{path}.{k}: missing (want {wv})"));
                };
                let member_shape = s["members"][k]["shape"].as_str().unwrap_or("");
                compare(shapes, member_shape, ov, wv, &format!("{path}.{k}"))?;
            }
            for k in o.keys() {
                if !w.contains_key(k) && !is_empty_collection(&o[k]) {
                    return Err(format!("{path}.{k}: unexpected {}", o[k]));
                }
            }
            Ok(())
        }
        "list" => {
            let (Some(o), Some(w)) = (ours.as_array(), want.as_array()) else {
                return fail();
            };
            if o.len() != w.len() {
                return fail();
            }
            let m = s["member"]["shape"].as_str().unwrap_or("");
            for (i, (a, b)) in o.iter().zip(w).enumerate() {
                if a.is_null() && b.is_null() {
                    continue;
                }
                compare(shapes, m, a, b, &format!("{path}[{i}]"))?;
            }
            Ok(())
        }
        "map" => {
            let (Some(o), Some(w)) = (ours.as_object(), want.as_object()) else {
                return fail();
            };
            if o.len() != w.len() {
                return fail();
            }
            let m = s["value"]["shape"].as_str().unwrap_or("");
            for (k, b) in w {
                let Some(a) = o.get(k) else { return fail() };
                if a.is_null() && b.is_null() {
                    continue;
                }
                compare(shapes, m, a, b, &format!("{path}.{k}"))?;
            }
            Ok(())
        }
        "blob" => {
            let got = ours.as_str().and_then(|s| B64.decode(s).ok());
            let want_bytes = want.as_str().map(|s| s.as_bytes().to_vec());
            if got.is_some() && got == want_bytes {
                Ok(())
            } else {
                fail()
            }
        }
        "timestamp" | "float" | "double" => match (as_f64(ours), as_f64(want)) {
            (Some(a), Some(b)) if float_eq(a, b) => Ok(()),
            _ => fail(),
        },
        "integer" | "long" | "short" | "byte" | "bigInteger" | "bigDecimal" => {
            match (as_f64(ours), as_f64(want)) {
                (Some(a), Some(b)) if a == b => Ok(()),
                _ => fail(),
            }
        }
        _ => {
            if ours == want {
                Ok(())
            } else {
                fail()
            }
        }
    }
}

/// Converts a vector's `result` to our JSON conventions (blobs as base64).
fn to_ours(shapes: &Value, name: &str, v: &Value) -> Value {
    let s = shape(shapes, name);
    match (s["type"].as_str().unwrap_or(""), v) {
        ("structure", Value::Object(o)) if s["document"].as_bool() != Some(true) => Value::Object(
            o.iter()
                .map(|(k, x)| {
                    let ms = s["members"][k]["shape"].as_str().unwrap_or("");
                    (
                        k.clone(),
                        if x.is_null() {
                            Value::Null
                        } else {
                            to_ours(shapes, ms, x)
                        },
                    )
                })
                .collect(),
        ),
        ("list", Value::Array(a)) => {
            let ms = s["member"]["shape"].as_str().unwrap_or("");
            Value::Array(
                a.iter()
                    .map(|x| {
                        if x.is_null() {
                            Value::Null
                        } else {
                            to_ours(shapes, ms, x)
                        }
                    })
                    .collect(),
            )
        }
        ("map", Value::Object(o)) => {
            let ms = s["value"]["shape"].as_str().unwrap_or("");
            Value::Object(
                o.iter()
                    .map(|(k, x)| {
                        (
                            k.clone(),
                            if x.is_null() {
                                Value::Null
                            } else {
                                to_ours(shapes, ms, x)
                            },
                        )
                    })
                    .collect(),
            )
        }
        ("blob", Value::String(x)) => Value::from(B64.encode(x.as_bytes())),
        _ => v.clone(),
    }
}

#[derive(Default)]
struct Tally {
    passed: usize,
    total: usize,
    skipped: usize,
    /// Output cases botocore cannot read even in AWS's reference form,
    /// judged against that reference instead (see judge.py).
    by_reference: usize,
}

impl Tally {
    /// Passed over all cases: a case on the ignore list counts as failed.
    fn ratio(&self) -> f64 {
        if self.total == 0 {
            1.0
        } else {
            self.passed as f64 / self.total as f64
        }
    }
}

fn run_inputs(file: &str, ignore: &Ignore, failures: &mut Vec<String>) -> Tally {
    let mut t = Tally::default();
    let path = vectors_dir().join("input").join(format!("{file}.json"));
    let is_cbor = file.starts_with("smithy-rpc-v2-cbor");
    for suite in load(&path).as_array().into_iter().flatten() {
        let desc = suite["description"].as_str().unwrap_or("");
        for case in suite["cases"].as_array().into_iter().flatten() {
            t.total += 1;
            let id = case["id"].as_str().unwrap_or("");
            let result = run_input_case(suite, case, is_cbor);
            match result {
                Ok(()) => t.passed += 1,
                Err(e) => {
                    if ignore.ignored(file, "input", desc, id) {
                        t.skipped += 1;
                        println!("SKIP {file} input {id}: {e}");
                    } else {
                        failures.push(format!("{file} input {id}: {e}"));
                    }
                }
            }
        }
    }
    t
}

/// The token botocore's harness pins uuid4 to. Clients fill in an idempotency
/// token the caller left out, so the server receives it like any member.
const AUTO_FILLED_TOKEN: &str = "00000000-0000-4000-8000-000000000000";

/// The request botocore makes from the case's params (serialize.py).
fn botocore_request(suite: &Value, case: &Value) -> Result<Value, String> {
    let job = json!({
        "protocol": suite["metadata"]["protocol"],
        "metadata": suite["metadata"],
        "shapes": suite["shapes"],
        "given": case["given"],
        "params": case["params"],
    });
    let mut child = Command::new("python3")
        .arg(vectors_dir().join("serialize.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("run serialize.py: {e}"))?;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(job.to_string().as_bytes())
        .map_err(|e| e.to_string())?;
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("serialize.py answered no request: {e}"))
}

fn header_list(v: &str) -> Vec<&str> {
    v.split(',').map(str::trim).collect()
}

/// The vector's request, completed by botocore where the vector leaves out
/// what a client always sends: the gzipped body of a request-compression
/// case (its bytes are not stable enough to pin), the `X-Amz-Target` of an
/// awsJson case about endpoints. What the vector does give must be what
/// botocore sent.
fn serialized_request(suite: &Value, case: &Value) -> Result<Value, String> {
    let ser = &case["serialized"];
    let has_header = |name: &str| {
        ser["headers"]
            .as_object()
            .is_some_and(|h| h.keys().any(|k| k.eq_ignore_ascii_case(name)))
    };
    let compressed_without_body =
        case["given"]["requestcompression"].is_object() && ser["body"].is_null();
    let json_without_target =
        suite["metadata"]["protocol"] == "json" && !has_header("X-Amz-Target");
    if !compressed_without_body && !json_without_target {
        return Ok(ser.clone());
    }
    let made = botocore_request(suite, case)?;
    let made_headers = made["headers"].as_object().cloned().unwrap_or_default();
    let mut out = ser.clone();
    for (k, want) in ser["headers"].as_object().into_iter().flatten() {
        let got = made_headers
            .iter()
            .find(|(h, _)| h.eq_ignore_ascii_case(k))
            .and_then(|(_, v)| v.as_str());
        if got.map(header_list) != want.as_str().map(header_list) {
            return Err(format!(
                "botocore sent {k}: {got:?}, the vector says {want}"
            ));
        }
    }
    for (k, v) in &made_headers {
        if !has_header(k) {
            out["headers"][k.as_str()] = v.clone();
        }
    }
    if ser["body"].is_null() {
        out["body_b64"] = made["body_b64"].clone();
    }
    Ok(out)
}

fn run_input_case(suite: &Value, case: &Value, is_cbor: bool) -> Result<(), String> {
    let given = &case["given"];
    let model = model_for(suite, given)?;
    let ser = &serialized_request(suite, case)?;
    let method = Method::from_bytes(ser["method"].as_str().unwrap_or("POST").as_bytes())
        .map_err(|e| e.to_string())?;
    let mut uri = ser["uri"].as_str().unwrap_or("/");
    let mut headers = HeaderMap::new();
    for (k, v) in ser["headers"].as_object().into_iter().flatten() {
        let name = HeaderName::from_bytes(k.as_bytes()).map_err(|e| e.to_string())?;
        let value = HeaderValue::from_str(v.as_str().unwrap_or("")).map_err(|e| e.to_string())?;
        headers.append(name, value);
    }
    if let Some(host) = ser["host"].as_str() {
        // An endpoint with a path (`https://example.com/custom`): the server
        // is mounted there, behind whatever routes that prefix to it.
        let (host, base) = host.split_once('/').unwrap_or((host, ""));
        if !base.is_empty() {
            let base = format!("/{}", base.trim_end_matches('/'));
            if let Some(rest) = uri.strip_prefix(base.as_str()) {
                uri = if rest.is_empty() { "/" } else { rest };
            }
        }
        headers.insert(
            "host",
            HeaderValue::from_str(host).map_err(|e| e.to_string())?,
        );
    }
    let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
    let body = if let Some(b64) = ser["body_b64"].as_str() {
        B64.decode(b64).map_err(|e| e.to_string())?
    } else if is_cbor {
        B64.decode(ser["body"].as_str().unwrap_or(""))
            .map_err(|e| e.to_string())?
    } else {
        ser["body"].as_str().unwrap_or("").as_bytes().to_vec()
    };
    // The host's request pipeline: inflate a gzipped body, then decode.
    let body = inflate_request(&mut headers, body.into(), 64 << 20).map_err(|e| e.to_string())?;
    let head = RequestHead {
        method: &method,
        path,
        query,
        headers: &headers,
    };
    // The text a plugin reads (awsJson: one pass) is the value's text.
    let text = decode_request_text(&model, &head, RequestBody::Bytes(body.clone()), None);
    let decoded = decode_request(&model, &head, RequestBody::Bytes(body));
    match (&decoded, &text) {
        (Ok(d), Ok(t)) if serde_json::to_string(&d.input).unwrap() == t.input_json => {}
        (Err(a), Err(b)) if a.1.message == b.1.message => {}
        _ => return Err(format!("the text path disagrees: {text:?}")),
    }
    let decoded =
        decoded.map_err(|(p, e)| format!("decode failed ({p:?}): {} {}", e.code, e.message))?;
    let op = given["name"].as_str().unwrap_or("");
    if decoded.operation != op {
        return Err(format!("operation {} != {op}", decoded.operation));
    }
    let Some(input_shape) = given["input"]["shape"].as_str() else {
        return Ok(());
    };
    let mut params = case["params"].clone();
    for (name, member) in suite["shapes"][input_shape]["members"]
        .as_object()
        .into_iter()
        .flatten()
    {
        if member["idempotencyToken"] == true && params.get(name).is_none() {
            params[name.as_str()] = Value::from(AUTO_FILLED_TOKEN);
        }
    }
    compare(
        &suite["shapes"],
        input_shape,
        &decoded.input,
        &params,
        "input",
    )
}

fn protocol_of(name: &str) -> Protocol {
    match name {
        "query" => Protocol::Query,
        "ec2" => Protocol::Ec2,
        "json" => Protocol::Json,
        "rest-json" => Protocol::RestJson,
        "rest-xml" => Protocol::RestXml,
        _ => Protocol::RpcV2Cbor,
    }
}

fn run_outputs(file: &str, ignore: &Ignore, failures: &mut Vec<String>) -> Tally {
    let mut t = Tally::default();
    let path = vectors_dir().join("output").join(format!("{file}.json"));
    let mut jobs = String::new();
    let mut meta: Vec<(String, String)> = Vec::new(); // (id, suite description)
    for suite in load(&path).as_array().into_iter().flatten() {
        let desc = suite["description"].as_str().unwrap_or("").to_string();
        let proto_name = suite["metadata"]["protocol"].as_str().unwrap_or("");
        for case in suite["cases"].as_array().into_iter().flatten() {
            t.total += 1;
            let id = case["id"].as_str().unwrap_or("").to_string();
            // awsQuery outputs are wrapped in `<{Operation}Result>`; the
            // vectors' bodies are, their `given` omits the resultWrapper
            // that real query models carry (botocore's own harness adds it).
            let mut given = case["given"].clone();
            if proto_name == "query"
                && given["output"].is_object()
                && given["output"]["resultWrapper"].is_null()
            {
                let wrapper = format!("{}Result", given["name"].as_str().unwrap_or(""));
                given["output"]["resultWrapper"] = Value::from(wrapper);
            }
            let given = &given;
            let op = given["name"].as_str().unwrap_or("");
            let encoded = model_for(suite, given).and_then(|model| {
                let protocol = protocol_of(proto_name);
                if let Some(code) = case["errorCode"].as_str() {
                    let mut extra = case["error"].as_object().cloned().unwrap_or_default();
                    let message = case["errorMessage"].as_str().unwrap_or("").to_string();
                    extra.retain(|k, _| !k.eq_ignore_ascii_case("message"));
                    // Error members in our conventions (blobs as base64).
                    let err_shape = given["errors"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|e| e["shape"].as_str())
                        .find(|s| {
                            *s == code
                                || suite["shapes"][*s]["error"]["code"].as_str() == Some(code)
                        });
                    if let Some(es) = err_shape {
                        extra = to_ours(&suite["shapes"], es, &Value::Object(extra))
                            .as_object()
                            .cloned()
                            .unwrap_or_default();
                    }
                    let err = AwsError {
                        code: code.to_string(),
                        message,
                        status: None,
                        sender_fault: true,
                        extra: (!extra.is_empty()).then_some(extra),
                    };
                    Ok(encode_error(&model, protocol, Some(op), &err, "foo-id"))
                } else {
                    let out_shape = given["output"]["shape"].as_str().unwrap_or("");
                    let result = if out_shape.is_empty() {
                        case["result"].clone()
                    } else {
                        to_ours(&suite["shapes"], out_shape, &case["result"])
                    };
                    let resp = encode_response(&model, protocol, op, &result, "foo-id")
                        .map_err(|e| format!("encode failed: {} {}", e.code, e.message))?;
                    same_from_text(&model, protocol, op, &result, &resp)?;
                    Ok(resp)
                }
            });
            let resp = match encoded {
                Ok(r) => r,
                Err(e) => {
                    if ignore.ignored(file, "output", &desc, &id) {
                        t.skipped += 1;
                    } else {
                        failures.push(format!("{file} output {id}: {e}"));
                    }
                    continue;
                }
            };
            let body = match resp.body {
                ResponseBody::Bytes(b) => b,
                ResponseBody::Blob { .. } | ResponseBody::EventStream { .. } => Vec::new(),
            };
            let mut job = json!({
                "id": id,
                "protocol": proto_name,
                "metadata": suite["metadata"],
                "shapes": suite["shapes"],
                "given": given,
                "status": resp.status,
                "headers": resp.headers,
                "body_b64": B64.encode(&body),
                "reference": case["response"],
            });
            if let Some(code) = case["errorCode"].as_str() {
                job["errorCode"] = Value::from(code);
                job["error"] = case["error"].clone();
            } else {
                job["result"] = case["result"].clone();
            }
            jobs.push_str(&job.to_string());
            jobs.push('\n');
            meta.push((id, desc.clone()));
        }
    }
    if meta.is_empty() {
        return t;
    }
    let judge = vectors_dir().join("judge.py");
    let mut child = Command::new("python3")
        .arg(judge)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run python3 judge.py");
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || stdin.write_all(jobs.as_bytes()));
    let out = child.wait_with_output().expect("judge output");
    writer.join().expect("writer").expect("write jobs");
    let verdicts: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert_eq!(verdicts.len(), meta.len(), "judge answered every case");
    for (v, (id, desc)) in verdicts.iter().zip(&meta) {
        if v["ok"].as_bool() == Some(true) {
            t.passed += 1;
            if v["judge"] == "reference" {
                t.by_reference += 1;
            }
        } else if ignore.ignored(file, "output", desc, id) {
            t.skipped += 1;
            println!(
                "SKIP {file} output {id}: {}",
                v["detail"].as_str().unwrap_or("")
            );
        } else {
            failures.push(format!(
                "{file} output {id}: {}",
                v["detail"].as_str().unwrap_or("")
            ));
        }
    }
    t
}

/// The output's text encodes to the same response as its value, where the
/// text path takes it (encode_response_text); counted in TEXT_PATH_CASES.
fn same_from_text(
    model: &ServiceModel,
    protocol: Protocol,
    op: &str,
    result: &Value,
    resp: &HttpResponse,
) -> Result<(), String> {
    let Some(from_text) = encode_response_text(model, protocol, op, &result.to_string(), "foo-id")
    else {
        return Ok(());
    };
    let same_body = match (&from_text.body, &resp.body) {
        (ResponseBody::Bytes(a), ResponseBody::Bytes(b)) => a == b,
        (ResponseBody::Blob { blob: a, range: ra }, ResponseBody::Blob { blob: b, range: rb }) => {
            a == b && ra == rb
        }
        _ => false,
    };
    // Not a vector's verdict but the encoder's contract: fails the test.
    assert!(
        from_text.status == resp.status && from_text.headers == resp.headers && same_body,
        "{op}: the text path differs: {from_text:?} against {resp:?}"
    );
    TEXT_PATH_CASES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Ok(())
}

static TEXT_PATH_CASES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

#[test]
fn protocol_vectors() {
    let ignore = Ignore::load();
    let mut failures = Vec::new();
    let mut below = Vec::new();
    for file in FILES {
        let input = run_inputs(file, &ignore, &mut failures);
        let output = run_outputs(file, &ignore, &mut failures);
        println!(
            "protocol-vectors {file} input {}/{} output {}/{} (skipped by ignore list: input {}, output {}; outputs judged against the reference wire: {})",
            input.passed,
            input.total,
            output.passed,
            output.total,
            input.skipped,
            output.skipped,
            output.by_reference
        );
        if input.ratio() < THRESHOLD || output.ratio() < THRESHOLD {
            below.push(file);
        }
    }
    for f in &failures {
        println!("FAIL {f}");
    }
    let text_path = TEXT_PATH_CASES.load(std::sync::atomic::Ordering::Relaxed);
    println!("outputs encoded from their text too, same bytes: {text_path}");
    assert!(
        text_path > 0,
        "the awsJson and query vectors take the text path"
    );
    assert!(below.is_empty(), "below {THRESHOLD}: {below:?}");
}
