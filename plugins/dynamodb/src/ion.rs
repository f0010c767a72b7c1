//! The Amazon Ion text that DynamoDB's ION exports write and ImportTable
//! reads: one `$ion_1_0 {Item:{...}}` value per item, attribute values as
//! Ion strings, decimals (numbers), blobs (`{{base64}}`), bools, `null`,
//! lists, structs (maps), and sets as annotated lists
//! (`$dynamodb_SS::[...]`, `$dynamodb_NS::[...]`, `$dynamodb_BS::[...]`).
//! Only that text subset: no binary Ion, no long strings, no comments.

use serde_json::{Map, Value, json};

use crate::expr::Item;

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len()
            && (self.s[self.i].is_ascii_whitespace() || self.s[self.i] == b',')
        {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, b: u8) -> Result<(), String> {
        self.ws();
        if self.peek() == Some(b) {
            self.i += 1;
            Ok(())
        } else {
            Err(format!("expected '{}' at byte {}", b as char, self.i))
        }
    }

    fn word(&mut self) -> String {
        let start = self.i;
        while self.i < self.s.len()
            && (self.s[self.i].is_ascii_alphanumeric() || b"_$.+-".contains(&self.s[self.i]))
        {
            self.i += 1;
        }
        String::from_utf8_lossy(&self.s[start..self.i]).into_owned()
    }

    fn quoted(&mut self, q: u8) -> Result<String, String> {
        self.i += 1;
        let mut out = Vec::new();
        loop {
            let c = self.peek().ok_or("unterminated string")?;
            self.i += 1;
            match c {
                b'\\' => {
                    let e = self.peek().ok_or("unterminated string")?;
                    self.i += 1;
                    let hex = |p: &mut Self, n: usize| -> Result<u32, String> {
                        let h = p.s.get(p.i..p.i + n).ok_or("bad escape")?;
                        p.i += n;
                        u32::from_str_radix(&String::from_utf8_lossy(h), 16)
                            .map_err(|e| e.to_string())
                    };
                    let ch = match e {
                        b'n' => '\n',
                        b't' => '\t',
                        b'r' => '\r',
                        b'0' => '\0',
                        b'x' => char::from_u32(hex(self, 2)?).ok_or("bad escape")?,
                        b'u' => char::from_u32(hex(self, 4)?).ok_or("bad escape")?,
                        b'U' => char::from_u32(hex(self, 8)?).ok_or("bad escape")?,
                        other => other as char,
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
                c if c == q => break,
                c => out.push(c),
            }
        }
        String::from_utf8(out).map_err(|e| e.to_string())
    }

    fn field_name(&mut self) -> Result<String, String> {
        self.ws();
        match self.peek() {
            Some(q @ (b'"' | b'\'')) => self.quoted(q),
            _ => {
                let w = self.word();
                if w.is_empty() {
                    Err(format!("expected a field name at byte {}", self.i))
                } else {
                    Ok(w)
                }
            }
        }
    }

    /// One Ion value as a DynamoDB AttributeValue.
    fn value(&mut self) -> Result<Value, String> {
        self.ws();
        let mut annotation = None;
        // `name::` annotations.
        let save = self.i;
        if matches!(self.peek(), Some(c) if c.is_ascii_alphabetic() || c == b'$' || c == b'_') {
            let w = self.word();
            if self.s.get(self.i..self.i + 2) == Some(b"::") {
                self.i += 2;
                annotation = Some(w);
                self.ws();
            } else {
                self.i = save;
            }
        }
        match self.peek().ok_or("unexpected end")? {
            b'"' => Ok(json!({ "S": self.quoted(b'"')? })),
            b'{' if self.s.get(self.i + 1) == Some(&b'{') => {
                self.i += 2;
                let start = self.i;
                while self.i < self.s.len() && self.s[self.i] != b'}' {
                    self.i += 1;
                }
                let b64: String = String::from_utf8_lossy(&self.s[start..self.i])
                    .chars()
                    .filter(|c| !c.is_whitespace())
                    .collect();
                self.eat(b'}')?;
                self.eat(b'}')?;
                Ok(json!({ "B": b64 }))
            }
            b'{' => Ok(json!({ "M": self.structure()? })),
            b'[' => {
                self.i += 1;
                let mut items = Vec::new();
                loop {
                    self.ws();
                    if self.peek() == Some(b']') {
                        self.i += 1;
                        break;
                    }
                    items.push(self.value()?);
                }
                let set = match annotation.as_deref() {
                    Some("$dynamodb_SS") => Some("S"),
                    Some("$dynamodb_NS") => Some("N"),
                    Some("$dynamodb_BS") => Some("B"),
                    _ => None,
                };
                match set {
                    Some(t) => {
                        let members: Option<Vec<Value>> =
                            items.iter().map(|v| v.get(t).cloned()).collect();
                        let members = members.ok_or("a set member of another type")?;
                        Ok(json!({ format!("{t}S"): members }))
                    }
                    None => Ok(json!({ "L": items })),
                }
            }
            _ => {
                let w = self.word();
                match w.as_str() {
                    "true" => Ok(json!({ "BOOL": true })),
                    "false" => Ok(json!({ "BOOL": false })),
                    "null" => Ok(json!({ "NULL": true })),
                    "" => Err(format!(
                        "unexpected '{}' at byte {}",
                        self.s[self.i] as char, self.i
                    )),
                    n if n.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '.') => {
                        Ok(json!({ "N": n.replace(['d', 'D'], "e") }))
                    }
                    other => Err(format!("unexpected symbol {other}")),
                }
            }
        }
    }

    fn structure(&mut self) -> Result<Map<String, Value>, String> {
        self.eat(b'{')?;
        let mut m = Map::new();
        loop {
            self.ws();
            if self.peek() == Some(b'}') {
                self.i += 1;
                return Ok(m);
            }
            let name = self.field_name()?;
            self.eat(b':')?;
            m.insert(name, self.value()?);
        }
    }
}

/// The items of an ION export file, and how many top-level values were not
/// `{Item: {...}}`. A syntax error ends the file (the rest counts as one
/// error).
pub fn parse_ion(text: &str) -> (Vec<Item>, u64) {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
    };
    let mut items = Vec::new();
    let mut errors = 0;
    loop {
        p.ws();
        if p.i >= p.s.len() {
            break;
        }
        if p.s[p.i..].starts_with(b"$ion_1_0") {
            p.i += 8;
            continue;
        }
        match p.value() {
            Ok(v) => match v
                .get("M")
                .and_then(|m| m.get("Item"))
                .and_then(|i| i.get("M"))
            {
                Some(Value::Object(item)) => items.push(item.clone()),
                _ => errors += 1,
            },
            Err(_) => {
                errors += 1;
                break;
            }
        }
    }
    (items, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_an_ion_export() {
        let text = r#"$ion_1_0 {Item:{pk:"a\"b\u00e9",n:1.5,e:12d-1,b:{{AAE=}},t:true,z:null,
            l:[1,"x",[false]],m:{'odd key':"v"},ss:$dynamodb_SS::["x","y"],ns:$dynamodb_NS::[1,2],bs:$dynamodb_BS::[{{AA==}}]}}
            $ion_1_0 {Item:{pk:"b"}}
            {NotItem:{}}
            {Item:{pk:"c", bad:}}"#;
        let (items, errors) = parse_ion(text);
        assert_eq!(errors, 2);
        assert_eq!(items.len(), 2);
        assert_eq!(
            Value::Object(items[0].clone()),
            json!({
                "pk": {"S": "a\"bé"}, "n": {"N": "1.5"}, "e": {"N": "12e-1"}, "b": {"B": "AAE="},
                "t": {"BOOL": true}, "z": {"NULL": true},
                "l": {"L": [{"N": "1"}, {"S": "x"}, {"L": [{"BOOL": false}]}]},
                "m": {"M": {"odd key": {"S": "v"}}},
                "ss": {"SS": ["x", "y"]}, "ns": {"NS": ["1", "2"]}, "bs": {"BS": ["AA=="]}
            })
        );
        assert_eq!(Value::Object(items[1].clone()), json!({"pk": {"S": "b"}}));
    }
}
