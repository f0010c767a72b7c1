//! ImportTable's input formats, ready for the day the plugin can read S3
//! objects: DYNAMODB_JSON (`{"Item": {...}}` lines, as exports write them)
//! and CSV, plain or GZIP. ImportTable / DescribeImport / ListImports are
//! not routed yet (501): through `services.call`, S3 GetObject answers its
//! body as a blob reference of the s3 plugin, which this plugin cannot read
//! (see docs/services/dynamodb.md). Only the parsing is here, unit-tested.

use std::io::Read;

use serde_json::{Value, json};

use crate::expr::Item;

/// The bytes of an S3 object after `InputCompressionType` (GZIP or NONE).
pub fn decompress(bytes: &[u8], compression: &str) -> Result<Vec<u8>, String> {
    match compression {
        "NONE" | "" => Ok(bytes.to_vec()),
        "GZIP" => {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(bytes)
                .read_to_end(&mut out)
                .map_err(|e| format!("not a gzip file: {e}"))?;
            Ok(out)
        }
        other => Err(format!("InputCompressionType {other} is not supported")),
    }
}

/// DYNAMODB_JSON: one `{"Item": {...}}` object per line.
pub fn parse_dynamodb_json(text: &str) -> Result<Vec<Item>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: Value =
            serde_json::from_str(line).map_err(|e| format!("line {}: not JSON: {e}", n + 1))?;
        let item = v
            .get("Item")
            .and_then(|i| i.as_object())
            .ok_or_else(|| format!("line {}: no \"Item\" object", n + 1))?;
        out.push(item.clone());
    }
    Ok(out)
}

/// One CSV record split on `delim`, with `"` quoting (`""` inside quotes).
fn csv_fields(line: &str, delim: char) -> Vec<String> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            c if c == delim && !quoted => fields.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    fields.push(cur);
    fields
}

/// CSV: the header (the first line, or `header` from `HeaderList`) names
/// the attributes; key attributes take their type from the key schema
/// (`key_types`: name → S / N / B), every other value is a string, and
/// empty values are left out.
pub fn parse_csv(
    text: &str,
    delim: char,
    header: Option<Vec<String>>,
    key_types: &[(String, String)],
) -> Result<Vec<Item>, String> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header = match header {
        Some(h) => h,
        None => csv_fields(lines.next().ok_or("empty CSV file")?, delim),
    };
    let mut out = Vec::new();
    for line in lines {
        let fields = csv_fields(line, delim);
        if fields.len() > header.len() {
            return Err(format!(
                "a row has {} fields, the header {}",
                fields.len(),
                header.len()
            ));
        }
        let mut item = Item::new();
        for (name, value) in header.iter().zip(fields) {
            if value.is_empty() {
                continue;
            }
            let ty = key_types
                .iter()
                .find(|(k, _)| k == name)
                .map_or("S", |(_, t)| t.as_str());
            item.insert(name.clone(), json!({ ty: value }));
        }
        out.push(item);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exports::{dynamodb_json_lines, gzip};

    #[test]
    fn reads_what_an_export_writes() {
        let items = vec![json!({"pk": {"S": "a"}, "n": {"N": "1"}})];
        let gz = gzip(dynamodb_json_lines(&items).as_bytes());
        let text = String::from_utf8(decompress(&gz, "GZIP").unwrap()).unwrap();
        let back = parse_dynamodb_json(&text).unwrap();
        assert_eq!(Value::Object(back[0].clone()), items[0]);
        assert!(parse_dynamodb_json("{\"pk\": 1}").is_err());
        assert!(decompress(b"plain", "GZIP").is_err());
    }

    #[test]
    fn csv_types_keys_and_quotes() {
        let text = "pk,sk,note\na,1,\"hello, \"\"world\"\"\"\nb,2,\n";
        let keys = vec![
            ("pk".to_string(), "S".to_string()),
            ("sk".to_string(), "N".to_string()),
        ];
        let items = parse_csv(text, ',', None, &keys).unwrap();
        assert_eq!(
            Value::Object(items[0].clone()),
            json!({"pk": {"S": "a"}, "sk": {"N": "1"}, "note": {"S": "hello, \"world\""}})
        );
        assert_eq!(
            Value::Object(items[1].clone()),
            json!({"pk": {"S": "b"}, "sk": {"N": "2"}})
        );
        let items = parse_csv("x|1\n", '|', Some(vec!["pk".into(), "v".into()]), &keys).unwrap();
        assert_eq!(
            Value::Object(items[0].clone()),
            json!({"pk": {"S": "x"}, "v": {"S": "1"}})
        );
    }
}
