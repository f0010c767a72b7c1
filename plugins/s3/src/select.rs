//! SelectObjectContent: a small, honest subset of S3 Select, answered as an
//! event stream fed through the host's `streams` capability (Records events
//! of at most 64 KiB of output, then Stats and End).
//!
//! Supported: `SELECT * | s._N, ... | s.name, ... FROM S3Object [s] [LIMIT n]`
//! over CSV (FileHeaderInfo NONE / IGNORE / USE, custom field and record
//! delimiters, quoted fields) or JSON LINES input, written as CSV or JSON
//! lines. Anything else (WHERE, functions, aggregates, Parquet, compressed
//! input, ScanRange) is refused with S3's error before any event.

use ministack_sdk::blobs;
use ministack_sdk::encoding::base64_encode;
use ministack_sdk::prelude::*;
use serde_json::{Map, Value, json};

use crate::objects::read_target;
use crate::s3_error;
use crate::util::s;

/// Output bytes per Records event.
const RECORDS_CHUNK: usize = 64 << 10;
/// Bytes read from the object at a time.
const READ_CHUNK: u32 = 1 << 20;

/// The parsed query.
#[derive(Debug, PartialEq)]
pub struct Query {
    /// None for `*`.
    pub columns: Option<Vec<Column>>,
    pub limit: Option<u64>,
}

#[derive(Debug, PartialEq, Clone)]
pub enum Column {
    /// `_N`, 1-based.
    Index(usize),
    Name(String),
}

fn unsupported(message: impl Into<String>) -> AwsError {
    s3_error("UnsupportedSyntax", message, 400)
}

/// Parses the supported subset; `UnsupportedSyntax` for the rest.
pub fn parse(sql: &str) -> Result<Query, AwsError> {
    let tokens: Vec<String> = tokenize(sql);
    let upper: Vec<String> = tokens.iter().map(|t| t.to_ascii_uppercase()).collect();
    let mut i = 0;
    if upper.first().map(String::as_str) != Some("SELECT") {
        return Err(unsupported("The SQL expression must begin with SELECT."));
    }
    i += 1;
    let from = upper
        .iter()
        .position(|t| t == "FROM")
        .ok_or_else(|| unsupported("The SQL expression has no FROM clause."))?;
    let projection = &tokens[i..from];
    let columns = if projection.len() == 1 && projection[0] == "*" {
        None
    } else {
        let mut cols = Vec::new();
        for (n, item) in projection.split(|t| t == ",").enumerate() {
            let [name] = item else {
                return Err(unsupported(format!(
                    "Only column references are supported in the projection (item {}).",
                    n + 1
                )));
            };
            cols.push(column(name)?);
        }
        Some(cols)
    };
    i = from + 1;
    if upper.get(i).map(String::as_str) != Some("S3OBJECT") {
        return Err(unsupported("The FROM clause must name S3Object."));
    }
    i += 1;
    // An optional alias.
    if let Some(t) = upper.get(i)
        && t != "LIMIT"
    {
        if t == "AS" {
            i += 1;
        }
        if !tokens
            .get(i)
            .is_some_and(|a| a.chars().all(|c| c.is_alphanumeric() || c == '_'))
        {
            return Err(unsupported(format!(
                "Unsupported clause near {:?}: only LIMIT may follow FROM S3Object.",
                tokens.get(i).map(String::as_str).unwrap_or("")
            )));
        }
        i += 1;
    }
    let mut limit = None;
    if upper.get(i).map(String::as_str) == Some("LIMIT") {
        let n = tokens
            .get(i + 1)
            .and_then(|t| t.parse::<u64>().ok())
            .ok_or_else(|| unsupported("LIMIT needs a non-negative integer."))?;
        limit = Some(n);
        i += 2;
    }
    if let Some(rest) = tokens.get(i) {
        return Err(unsupported(format!(
            "Unsupported clause near {rest:?}: this gateway's S3 Select supports SELECT ... FROM S3Object [LIMIT n]."
        )));
    }
    Ok(Query { columns, limit })
}

fn column(token: &str) -> Result<Column, AwsError> {
    // `s._1`, `_1`, `s.name`, `name`, `s."name"`.
    let name = token.rsplit_once('.').map_or(token, |(_, n)| n);
    let name = name.trim_matches('"');
    if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
        return Err(unsupported(format!(
            "Only column references are supported in the projection, not {token:?}."
        )));
    }
    if let Some(n) = name.strip_prefix('_').and_then(|n| n.parse::<usize>().ok()) {
        if n == 0 {
            return Err(s3_error(
                "InvalidColumnIndex",
                "The column index is invalid.",
                400,
            ));
        }
        return Ok(Column::Index(n));
    }
    Ok(Column::Name(name.to_string()))
}

fn tokenize(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in sql.trim().trim_end_matches(';').chars() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            c if !quoted && c.is_whitespace() => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            ',' | '(' | ')' | '*' | '=' | '<' | '>' if !quoted => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                out.push(c.to_string());
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// How the input is read.
pub enum Input {
    Csv {
        header: HeaderInfo,
        field: char,
        record: char,
        quote: char,
    },
    JsonLines,
}

#[derive(Clone, Copy, PartialEq, Debug)]
pub enum HeaderInfo {
    None,
    Ignore,
    Use,
}

/// How records are written.
pub enum Output {
    Csv { field: String, record: String },
    Json { record: String },
}

/// One record: named or positional values.
pub type Record = Vec<(String, Value)>;

/// Splits CSV text into rows of fields (quotes and doubled quotes honoured).
pub fn csv_rows(text: &str, field: char, record: char, quote: char) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            if c == quote {
                if chars.peek() == Some(&quote) {
                    cur.push(quote);
                    chars.next();
                } else {
                    quoted = false;
                }
            } else {
                cur.push(c);
            }
        } else if c == quote {
            quoted = true;
        } else if c == field {
            row.push(std::mem::take(&mut cur));
        } else if c == record {
            if cur.ends_with('\r') && record == '\n' {
                cur.pop();
            }
            row.push(std::mem::take(&mut cur));
            rows.push(std::mem::take(&mut row));
        } else {
            cur.push(c);
        }
    }
    if !cur.is_empty() || !row.is_empty() {
        row.push(cur);
        rows.push(row);
    }
    rows
}

/// The records of the object, as the query's FROM sees them.
pub fn records(text: &str, input: &Input) -> Result<Vec<Record>, AwsError> {
    match input {
        Input::Csv {
            header,
            field,
            record,
            quote,
        } => {
            let mut rows = csv_rows(text, *field, *record, *quote).into_iter();
            let names: Option<Vec<String>> = match header {
                HeaderInfo::None => None,
                HeaderInfo::Ignore => {
                    rows.next();
                    None
                }
                HeaderInfo::Use => rows.next(),
            };
            Ok(rows
                .filter(|r| !(r.len() == 1 && r[0].is_empty()))
                .map(|r| {
                    r.into_iter()
                        .enumerate()
                        .map(|(i, v)| {
                            let name = names
                                .as_ref()
                                .and_then(|n| n.get(i).cloned())
                                .unwrap_or_else(|| format!("_{}", i + 1));
                            (name, Value::String(v))
                        })
                        .collect()
                })
                .collect())
        }
        Input::JsonLines => text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| match serde_json::from_str::<Value>(l) {
                Ok(Value::Object(m)) => Ok(m.into_iter().collect()),
                _ => Err(s3_error(
                    "JSONParsingError",
                    "Encountered an error parsing the JSON file. Check the file and try again.",
                    400,
                )),
            })
            .collect(),
    }
}

/// Projects a record onto the query's columns.
pub fn project(record: &Record, columns: &Option<Vec<Column>>) -> Result<Record, AwsError> {
    let Some(columns) = columns else {
        return Ok(record.clone());
    };
    columns
        .iter()
        .map(|c| match c {
            Column::Index(n) => Ok((
                format!("_{n}"),
                record
                    .get(n - 1)
                    .map(|(_, v)| v.clone())
                    .unwrap_or(Value::Null),
            )),
            Column::Name(name) => Ok((
                name.clone(),
                record
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.clone())
                    .unwrap_or(Value::Null),
            )),
        })
        .collect()
}

/// One record in the output format.
pub fn write(record: &Record, output: &Output) -> String {
    match output {
        Output::Csv { field, record: end } => {
            let fields: Vec<String> = record
                .iter()
                .map(|(_, v)| {
                    let text = match v {
                        Value::String(s) => s.clone(),
                        Value::Null => String::new(),
                        other => other.to_string(),
                    };
                    if text.contains(field.as_str()) || text.contains('"') || text.contains('\n') {
                        format!("\"{}\"", text.replace('"', "\"\""))
                    } else {
                        text
                    }
                })
                .collect();
            format!("{}{end}", fields.join(field))
        }
        Output::Json { record: end } => {
            let obj: Map<String, Value> = record
                .iter()
                .filter(|(_, v)| !v.is_null())
                .cloned()
                .collect();
            format!("{}{end}", Value::Object(obj))
        }
    }
}

fn one_char(v: Option<String>, default: char) -> Result<char, AwsError> {
    match v {
        None => Ok(default),
        Some(s) => {
            let mut chars = s.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => Ok(c),
                (None, _) => Ok(default),
                _ => Err(s3_error(
                    "InvalidDataSource",
                    format!("A delimiter must be one character, got {s:?}."),
                    400,
                )),
            }
        }
    }
}

fn input_of(v: &Value) -> Result<Input, AwsError> {
    let not_implemented = |what: &str| {
        AwsError::new(
            "NotImplemented",
            format!("{what} is not supported by this gateway's S3 Select."),
        )
        .with_status(501)
    };
    if let Some(c) = s(v, "CompressionType")
        && c != "NONE"
    {
        return Err(not_implemented("CompressionType GZIP/BZIP2"));
    }
    if v.get("Parquet").is_some() {
        return Err(not_implemented("Parquet input"));
    }
    if let Some(csv) = v.get("CSV") {
        let header = match s(csv, "FileHeaderInfo").as_deref() {
            None | Some("NONE") => HeaderInfo::None,
            Some("IGNORE") => HeaderInfo::Ignore,
            Some("USE") => HeaderInfo::Use,
            Some(other) => {
                return Err(s3_error(
                    "InvalidFileHeaderInfo",
                    format!(
                        "The FileHeaderInfo {other:?} is invalid. Only NONE, USE, and IGNORE are supported."
                    ),
                    400,
                ));
            }
        };
        return Ok(Input::Csv {
            header,
            field: one_char(s(csv, "FieldDelimiter"), ',')?,
            record: one_char(s(csv, "RecordDelimiter"), '\n')?,
            quote: one_char(s(csv, "QuoteCharacter"), '"')?,
        });
    }
    if let Some(j) = v.get("JSON") {
        return match s(j, "Type").as_deref() {
            Some("LINES") => Ok(Input::JsonLines),
            _ => Err(not_implemented("JSON DOCUMENT input (use LINES)")),
        };
    }
    Err(s3_error(
        "MissingRequiredParameter",
        "The SelectRequest entity is missing a required parameter: InputSerialization format.",
        400,
    ))
}

fn output_of(v: &Value) -> Result<Output, AwsError> {
    if let Some(csv) = v.get("CSV") {
        return Ok(Output::Csv {
            field: s(csv, "FieldDelimiter").unwrap_or_else(|| ",".into()),
            record: s(csv, "RecordDelimiter").unwrap_or_else(|| "\n".into()),
        });
    }
    if let Some(j) = v.get("JSON") {
        return Ok(Output::Json {
            record: s(j, "RecordDelimiter").unwrap_or_else(|| "\n".into()),
        });
    }
    Err(s3_error(
        "MissingRequiredParameter",
        "The SelectRequest entity is missing a required parameter: OutputSerialization format.",
        400,
    ))
}

pub fn select_object_content(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    if s(&input, "ExpressionType").as_deref() != Some("SQL") {
        return Err(s3_error(
            "InvalidExpressionType",
            "The ExpressionType value is not valid. Only SQL expressions are supported.",
            400,
        ));
    }
    if input.get("ScanRange").is_some() {
        return Err(AwsError::new(
            "NotImplemented",
            "ScanRange is not supported by this gateway's S3 Select.",
        )
        .with_status(501));
    }
    let query = parse(&s(&input, "Expression").unwrap_or_default())?;
    let format_in = input_of(input.get("InputSerialization").unwrap_or(&Value::Null))?;
    let format_out = output_of(input.get("OutputSerialization").unwrap_or(&Value::Null))?;
    let (_, object) = read_target(&input)?;
    let mut bytes = Vec::with_capacity(object.size as usize);
    if let Some(blob) = &object.blob {
        while (bytes.len() as u64) < object.size {
            let chunk = blobs::read(&blob.id, bytes.len() as u64, READ_CHUNK)?;
            if chunk.is_empty() {
                break;
            }
            bytes.extend(chunk);
        }
    }
    let text = String::from_utf8_lossy(&bytes);
    let all = records(&text, &format_in)?;
    let mut out = String::new();
    let limit = query.limit.unwrap_or(u64::MAX) as usize;
    for record in all.iter().take(limit) {
        out.push_str(&write(&project(record, &query.columns)?, &format_out));
    }
    // Every check passed: from here on the answer is a stream.
    let stream = EventStream::open();
    let mut rest = out.as_bytes();
    while !rest.is_empty() {
        let mut cut = rest.len().min(RECORDS_CHUNK);
        while !out.is_char_boundary(out.len() - rest.len() + cut) {
            cut -= 1;
        }
        let (chunk, tail) = rest.split_at(cut);
        stream.send("Records", &json!({"Payload": base64_encode(chunk)}));
        rest = tail;
    }
    stream.send(
        "Stats",
        &json!({"Details": {
            "BytesScanned": object.size,
            "BytesProcessed": object.size,
            "BytesReturned": out.len(),
        }}),
    );
    stream.send("End", &json!({}));
    stream.clone().close();
    Ok(json!({ "Payload": stream }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_supported_subset() {
        assert_eq!(
            parse("SELECT * FROM S3Object").unwrap(),
            Query {
                columns: None,
                limit: None
            }
        );
        assert_eq!(
            parse("select s._1, s._3 from S3Object s limit 2").unwrap(),
            Query {
                columns: Some(vec![Column::Index(1), Column::Index(3)]),
                limit: Some(2)
            }
        );
        assert_eq!(
            parse("SELECT s.name FROM S3Object AS s").unwrap().columns,
            Some(vec![Column::Name("name".into())])
        );
        for bad in [
            "SELECT * FROM S3Object s WHERE s._1 = 'a'",
            "SELECT count(*) FROM S3Object",
            "DELETE FROM S3Object",
            "SELECT * FROM elsewhere",
            "SELECT * FROM S3Object LIMIT x",
        ] {
            assert_eq!(parse(bad).unwrap_err().code, "UnsupportedSyntax", "{bad}");
        }
        assert_eq!(
            parse("SELECT s._0 FROM S3Object s").unwrap_err().code,
            "InvalidColumnIndex"
        );
    }

    #[test]
    fn reads_csv_with_quotes_and_headers_and_writes_both_formats() {
        let text = "name,city\n\"Smith, J\",Paris\nLee,\"Ha \"\"Noi\"\"\"\r\n";
        let input = Input::Csv {
            header: HeaderInfo::Use,
            field: ',',
            record: '\n',
            quote: '"',
        };
        let rows = records(text, &input).unwrap();
        assert_eq!(rows.len(), 2);
        let q = parse("SELECT s.city, s.name FROM S3Object s").unwrap();
        let json_out = Output::Json {
            record: "\n".into(),
        };
        assert_eq!(
            write(&project(&rows[1], &q.columns).unwrap(), &json_out),
            "{\"city\":\"Ha \\\"Noi\\\"\",\"name\":\"Lee\"}\n"
        );
        let csv_out = Output::Csv {
            field: ",".into(),
            record: "\n".into(),
        };
        assert_eq!(write(&rows[0], &csv_out), "\"Smith, J\",Paris\n");
        let positional = parse("SELECT s._2 FROM S3Object s").unwrap();
        assert_eq!(
            write(&project(&rows[0], &positional.columns).unwrap(), &csv_out),
            "Paris\n"
        );
    }

    #[test]
    fn reads_json_lines() {
        let rows = records("{\"a\":1,\"b\":\"x\"}\n\n{\"a\":2}\n", &Input::JsonLines).unwrap();
        let q = parse("SELECT s.a FROM S3Object s").unwrap();
        let out = Output::Json {
            record: "\n".into(),
        };
        let lines: Vec<String> = rows
            .iter()
            .map(|r| write(&project(r, &q.columns).unwrap(), &out))
            .collect();
        assert_eq!(lines, vec!["{\"a\":1}\n", "{\"a\":2}\n"]);
        assert_eq!(
            records("not json\n", &Input::JsonLines).unwrap_err().code,
            "JSONParsingError"
        );
    }
}
