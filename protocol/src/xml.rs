//! XML shared by query, ec2 and rest-xml: a small DOM read with quick-xml,
//! a writer, and the shape walking both ways.

use quick_xml::Reader;
use quick_xml::escape::{escape, unescape};
use quick_xml::events::Event;
use serde_json::{Map, Value};

use crate::model::{Kind, Location, Member, Model, ShapeId, TsFormat};
use crate::scalar::{field, parse_text, short_eq, to_text};

/// One XML element (names without namespace prefixes).
#[derive(Debug, Default, Clone)]
pub(crate) struct Element {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Element>,
    pub text: String,
}

fn local(name: &[u8]) -> String {
    let s = String::from_utf8_lossy(name);
    match s.rsplit_once(':') {
        Some((_, l)) => l.to_string(),
        None => s.into_owned(),
    }
}

/// Deepest element nesting accepted in a request body.
const MAX_DEPTH: usize = 128;

/// Parses a document into its root element.
pub(crate) fn parse(bytes: &[u8]) -> Result<Element, String> {
    let mut reader = Reader::from_reader(bytes);
    let mut stack: Vec<Element> = Vec::new();
    let mut buf = Vec::new();
    let open = |e: &quick_xml::events::BytesStart| -> Result<Element, String> {
        let mut el = Element {
            name: local(e.name().as_ref()),
            ..Default::default()
        };
        for a in e.attributes() {
            let a = a.map_err(|e| e.to_string())?;
            let v = a.unescape_value().map_err(|e| e.to_string())?.into_owned();
            el.attrs
                .push((String::from_utf8_lossy(a.key.as_ref()).into_owned(), v));
        }
        Ok(el)
    };
    loop {
        match reader
            .read_event_into(&mut buf)
            .map_err(|e| e.to_string())?
        {
            Event::Start(e) => {
                // Bounded depth: the shape walk that follows recurses.
                if stack.len() >= MAX_DEPTH {
                    return Err("XML nested too deeply".into());
                }
                stack.push(open(&e)?)
            }
            Event::Empty(e) => {
                let el = open(&e)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => return Ok(el),
                }
            }
            Event::End(_) => {
                let el = stack.pop().ok_or("unbalanced XML")?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => return Ok(el),
                }
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    let raw = String::from_utf8_lossy(t.as_ref()).into_owned();
                    let un = unescape(&raw).map_err(|e| e.to_string())?;
                    top.text.push_str(&un);
                }
            }
            Event::GeneralRef(r) => {
                if let Some(top) = stack.last_mut() {
                    let name = String::from_utf8_lossy(r.as_ref()).into_owned();
                    let entity = format!("&{name};");
                    let un = unescape(&entity).map_err(|e| e.to_string())?;
                    top.text.push_str(&un);
                }
            }
            Event::CData(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&String::from_utf8_lossy(t.as_ref()));
                }
            }
            Event::Eof => return Err("unexpected end of XML".into()),
            _ => {}
        }
        buf.clear();
    }
}

/// Replacement texts, indexed by [`ESCAPE`]. `\r` is escaped so it
/// survives XML end-of-line normalisation.
const ESCAPES: [&str; 7] = ["", "&lt;", "&gt;", "&amp;", "&quot;", "&apos;", "&#xD;"];

/// Per byte: 0 to copy as is, else the index of its replacement in [`ESCAPES`].
const ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    t[b'<' as usize] = 1;
    t[b'>' as usize] = 2;
    t[b'&' as usize] = 3;
    t[b'"' as usize] = 4;
    t[b'\'' as usize] = 5;
    t[b'\r' as usize] = 6;
    t
};

/// An XML text builder.
pub(crate) struct Writer {
    pub out: String,
}

impl Default for Writer {
    fn default() -> Self {
        // Most documents fit; bigger ones grow from here.
        Writer {
            out: String::with_capacity(2048),
        }
    }
}

impl Writer {
    pub fn start(&mut self, name: &str, attrs: &[(String, String)]) {
        self.out.push('<');
        self.out.push_str(name);
        for (k, v) in attrs {
            self.out.push(' ');
            self.out.push_str(k);
            self.out.push_str("=\"");
            self.out.push_str(&escape(v.as_str()));
            self.out.push('"');
        }
        self.out.push('>');
    }
    pub fn end(&mut self, name: &str) {
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
    }
    pub fn text(&mut self, t: &str) {
        // Copy the runs between special bytes in one go (all of them are
        // ASCII, so byte offsets are char boundaries); a table lookup per
        // byte keeps the scan a tight loop.
        let bytes = t.as_bytes();
        let mut start = 0;
        let mut i = 0;
        while i < bytes.len() {
            let class = ESCAPE[bytes[i] as usize];
            if class == 0 {
                i += 1;
                continue;
            }
            self.out.push_str(&t[start..i]);
            self.out.push_str(ESCAPES[class as usize]);
            i += 1;
            start = i;
        }
        self.out.push_str(&t[start..]);
    }
    pub fn leaf(&mut self, name: &str, text: &str) {
        self.start(name, &[]);
        self.text(text);
        self.end(name);
    }
}

/// Timestamps in XML default to ISO 8601.
fn ts_format(m: &Model, id: ShapeId, member_ts: Option<TsFormat>) -> TsFormat {
    member_ts
        .or(m.shape(id).timestamp_format)
        .unwrap_or(TsFormat::Iso8601)
}

fn ns_attr(ns: &crate::model::XmlNs) -> (String, String) {
    match &ns.prefix {
        Some(p) => (format!("xmlns:{p}"), ns.uri.clone()),
        None => ("xmlns".into(), ns.uri.clone()),
    }
}

/// Element name of a member inside a structure. A list flattened by its
/// own shape (the older models: S3's `ObjectList`, SimpleDB, query-era SQS)
/// names its items after the list's member (botocore `_member_key_name`);
/// a member flattened where it is used (Smithy's `@xmlFlattened`) names
/// them after that member, whatever the list's member is called.
fn member_element_name<'a>(m: &'a Model, member: &'a Member) -> &'a str {
    let shape = m.shape(member.shape);
    if shape.kind == Kind::List
        && shape.flattened
        && !member.flattened
        && let Some(n) = shape
            .member
            .as_deref()
            .and_then(|x| x.location_name.as_deref())
    {
        return n;
    }
    member.wire_name()
}

/// The value of member `name` among the entries not matched yet (`rest`).
/// Plugins serialize structures in the model's member order, so the next
/// entry is the likely one; an absent member costs a scan of what is left,
/// and nothing once every entry has been matched.
fn next_field<'a>(rest: &mut serde_json::map::Iter<'a>, name: &str) -> Option<&'a Value> {
    let mut peek = rest.clone();
    match peek.next() {
        None => None,
        Some((k, v)) if short_eq(k.as_bytes(), name.as_bytes()) => {
            *rest = peek;
            Some(v)
        }
        Some(_) => peek
            .find(|(k, _)| short_eq(k.as_bytes(), name.as_bytes()))
            .map(|(_, v)| v),
    }
}

/// Writes the members of a structure value (not its own element).
pub(crate) fn write_members(w: &mut Writer, m: &Model, id: ShapeId, v: &Value, body_only: bool) {
    let shape = m.shape(id);
    let Value::Object(obj) = v else { return };
    let small = obj.len() <= 24;
    let mut rest = obj.iter();
    for member in &shape.members {
        if member.xml_attribute || (body_only && !member.location.in_output_body()) {
            continue;
        }
        let val = if small {
            next_field(&mut rest, &member.name)
        } else {
            obj.get(&member.name)
        };
        let Some(val) = val.filter(|v| !v.is_null()) else {
            continue;
        };
        let target = m.shape(member.shape);
        let name = member_element_name(m, member);
        let flattened = member.flattened || target.flattened;
        write_value(w, m, member, name, val, flattened);
    }
}

/// Attributes (xmlAttribute members, and namespaces) of a structure element.
pub(crate) fn struct_attrs(
    m: &Model,
    id: ShapeId,
    v: &Value,
    member_ns: Option<&crate::model::XmlNs>,
) -> Vec<(String, String)> {
    let shape = m.shape(id);
    let mut attrs = Vec::new();
    if let Some(ns) = member_ns.or(shape.xml_namespace.as_ref()) {
        attrs.push(ns_attr(ns));
    }
    if let Value::Object(obj) = v {
        for member in shape.members.iter().filter(|mm| mm.xml_attribute) {
            if let Some(val) = field(obj, &member.name).filter(|v| !v.is_null()) {
                let t = m.shape(member.shape);
                if let Some(text) = to_text(
                    t.kind,
                    ts_format(m, member.shape, member.timestamp_format),
                    val,
                ) {
                    if let Some(ns) = &member.xml_namespace {
                        attrs.push(ns_attr(ns));
                    }
                    attrs.push((member.wire_name().to_string(), text));
                }
            }
        }
    }
    attrs
}

/// Writes one member (element `name`), expanding flattened lists and maps.
pub(crate) fn write_value(
    w: &mut Writer,
    m: &Model,
    member: &Member,
    name: &str,
    v: &Value,
    flattened: bool,
) {
    let shape = m.shape(member.shape);
    match shape.kind {
        Kind::List => {
            let Value::Array(items) = v else { return };
            let item_member = shape.member.as_deref().expect("resolved list");
            if flattened {
                for item in items.iter().filter(|i| !i.is_null()) {
                    write_value(w, m, item_member, name, item, false);
                }
            } else {
                let mut attrs = Vec::new();
                if let Some(ns) = member.xml_namespace.as_ref() {
                    attrs.push(ns_attr(ns));
                }
                w.start(name, &attrs);
                let inner = item_member.location_name.as_deref().unwrap_or("member");
                let inner_flat = m.shape(item_member.shape).flattened;
                for item in items.iter().filter(|i| !i.is_null()) {
                    write_value(w, m, item_member, inner, item, inner_flat);
                }
                w.end(name);
            }
        }
        Kind::Map => {
            let Value::Object(obj) = v else { return };
            let key = shape.key.as_deref().expect("resolved map");
            let value = shape.value.as_deref().expect("resolved map");
            let kname = key.location_name.as_deref().unwrap_or("key");
            let vname = value.location_name.as_deref().unwrap_or("value");
            let entry = |w: &mut Writer, k: &str, val: &Value| {
                let mut kattrs = Vec::new();
                if let Some(ns) = &key.xml_namespace {
                    kattrs.push(ns_attr(ns));
                }
                w.start(kname, &kattrs);
                w.text(k);
                w.end(kname);
                if !val.is_null() {
                    write_value(w, m, value, vname, val, false);
                }
            };
            if flattened {
                for (k, val) in obj {
                    w.start(name, &[]);
                    entry(w, k, val);
                    w.end(name);
                }
            } else {
                let mut attrs = Vec::new();
                if let Some(ns) = member.xml_namespace.as_ref() {
                    attrs.push(ns_attr(ns));
                }
                w.start(name, &attrs);
                for (k, val) in obj {
                    w.start("entry", &[]);
                    entry(w, k, val);
                    w.end("entry");
                }
                w.end(name);
            }
        }
        Kind::Structure => {
            let attrs = struct_attrs(m, member.shape, v, member.xml_namespace.as_ref());
            w.start(name, &attrs);
            write_members(w, m, member.shape, v, false);
            w.end(name);
        }
        kind => {
            let ts = match kind {
                Kind::Timestamp => ts_format(m, member.shape, member.timestamp_format),
                _ => TsFormat::Iso8601,
            };
            let mut attrs = Vec::new();
            if let Some(ns) = member
                .xml_namespace
                .as_ref()
                .or(shape.xml_namespace.as_ref())
            {
                attrs.push(ns_attr(ns));
            }
            // Fast paths for the common leaves write straight into the
            // buffer; everything else goes through `to_text`.
            match (kind, v) {
                (Kind::String, Value::String(s)) => {
                    w.start(name, &attrs);
                    w.text(s);
                }
                (Kind::Timestamp, Value::Number(n)) if ts == TsFormat::Iso8601 => {
                    w.start(name, &attrs);
                    crate::timestamp::write_iso8601_number(&mut w.out, n);
                }
                (k, Value::Number(n)) if k.is_integer() => {
                    w.start(name, &attrs);
                    use std::fmt::Write as _;
                    let _ = write!(w.out, "{n}");
                }
                _ => {
                    let Some(text) = to_text(kind, ts, v) else {
                        return;
                    };
                    w.start(name, &attrs);
                    w.text(&text);
                }
            }
            w.end(name);
        }
    }
}

// ---------------------------------------------------------------- reading

fn children_named<'a>(el: &'a Element, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
    el.children.iter().filter(move |c| c.name == name)
}

/// Reads the members of a structure from element `el`.
pub(crate) fn read_struct(
    m: &Model,
    id: ShapeId,
    el: &Element,
    path: &str,
) -> Result<Map<String, Value>, String> {
    let shape = m.shape(id);
    let mut out = Map::new();
    for member in &shape.members {
        if member.location != Location::Body {
            continue;
        }
        if member.xml_attribute {
            let wire = member.wire_name();
            if let Some((_, v)) = el
                .attrs
                .iter()
                .find(|(k, _)| k == wire || local(k.as_bytes()) == wire)
            {
                let t = m.shape(member.shape);
                let val = parse_text(
                    t.kind,
                    ts_format(m, member.shape, member.timestamp_format),
                    v,
                )
                .map_err(|e| format!("{path}.{}: expected {e}", member.name))?;
                out.insert(member.name.clone(), val);
            }
            continue;
        }
        let target = m.shape(member.shape);
        let name = member_element_name(m, member);
        let p = format!("{path}.{}", member.name);
        let flattened = member.flattened || target.flattened;
        if flattened && matches!(target.kind, Kind::List | Kind::Map) {
            // Clients name flattened list items after the member (botocore's
            // serializer) or after the list's member (its parser): take either.
            let mut nodes: Vec<&Element> = children_named(el, member.wire_name()).collect();
            if nodes.is_empty() {
                nodes = children_named(el, name).collect();
            }
            if nodes.is_empty() {
                continue;
            }
            let v = if target.kind == Kind::List {
                let item = target.member.as_deref().expect("resolved list");
                Value::Array(
                    nodes
                        .iter()
                        .map(|n| read_value(m, item, n, &p))
                        .collect::<Result<_, _>>()?,
                )
            } else {
                let mut map = Map::new();
                for n in nodes {
                    read_map_entry(m, member.shape, n, &mut map, &p)?;
                }
                Value::Object(map)
            };
            out.insert(member.name.clone(), v);
        } else if let Some(node) = children_named(el, name).next() {
            out.insert(member.name.clone(), read_value(m, member, node, &p)?);
        }
    }
    Ok(out)
}

fn read_map_entry(
    m: &Model,
    map_id: ShapeId,
    entry: &Element,
    out: &mut Map<String, Value>,
    path: &str,
) -> Result<(), String> {
    let shape = m.shape(map_id);
    let key = shape.key.as_deref().expect("resolved map");
    let value = shape.value.as_deref().expect("resolved map");
    let kname = key.location_name.as_deref().unwrap_or("key");
    let vname = value.location_name.as_deref().unwrap_or("value");
    let k = children_named(entry, kname)
        .next()
        .map(|e| e.text.clone())
        .unwrap_or_default();
    let v = match children_named(entry, vname).next() {
        Some(n) => read_value(m, value, n, path)?,
        None => Value::Null,
    };
    out.insert(k, v);
    Ok(())
}

/// Reads the value of `member` from its element.
pub(crate) fn read_value(
    m: &Model,
    member: &Member,
    el: &Element,
    path: &str,
) -> Result<Value, String> {
    let shape = m.shape(member.shape);
    match shape.kind {
        Kind::Structure => read_struct(m, member.shape, el, path).map(Value::Object),
        Kind::List => {
            let item = shape.member.as_deref().expect("resolved list");
            let inner = item.location_name.as_deref().unwrap_or("member");
            Ok(Value::Array(
                children_named(el, inner)
                    .map(|n| read_value(m, item, n, path))
                    .collect::<Result<_, _>>()?,
            ))
        }
        Kind::Map => {
            let mut map = Map::new();
            for entry in children_named(el, "entry") {
                read_map_entry(m, member.shape, entry, &mut map, path)?;
            }
            Ok(Value::Object(map))
        }
        kind => parse_text(
            kind,
            ts_format(m, member.shape, member.timestamp_format),
            &el.text,
        )
        .map_err(|e| format!("{path}: expected {e}")),
    }
}
