//! XML shared by query, ec2 and rest-xml: a small DOM read with quick-xml,
//! a writer, and the shape walking both ways.

use quick_xml::Reader;
use quick_xml::escape::unescape;
use quick_xml::events::Event;
use serde_json::{Map, Value};

use crate::model::{Kind, Location, Member, Model, Shape, ShapeId, TsFormat};
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
/// survives XML end-of-line normalisation; the other control characters
/// (an S3 key may hold any, `%00` included) as numeric references, as S3
/// writes them (`EncodingType=url` is the client's way to a parseable
/// listing); tab and line feed stay as they are.
const ESCAPES: [&str; 38] = [
    "", "&lt;", "&gt;", "&amp;", "&quot;", "&apos;", "&#x0;", "&#x1;", "&#x2;", "&#x3;", "&#x4;",
    "&#x5;", "&#x6;", "&#x7;", "&#x8;", "&#x9;", "&#xA;", "&#xB;", "&#xC;", "&#xD;", "&#xE;",
    "&#xF;", "&#x10;", "&#x11;", "&#x12;", "&#x13;", "&#x14;", "&#x15;", "&#x16;", "&#x17;",
    "&#x18;", "&#x19;", "&#x1A;", "&#x1B;", "&#x1C;", "&#x1D;", "&#x1E;", "&#x1F;",
];

/// Per byte: 0 to copy as is, else the index of its replacement in [`ESCAPES`].
const ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    t[b'<' as usize] = 1;
    t[b'>' as usize] = 2;
    t[b'&' as usize] = 3;
    t[b'"' as usize] = 4;
    t[b'\'' as usize] = 5;
    let mut c = 0;
    while c < 32 {
        if c != b'\t' as usize && c != b'\n' as usize {
            t[c] = 6 + c as u8;
        }
        c += 1;
    }
    t
};

/// Bit 7 of the first byte of `w` (little-endian) that needs escaping is
/// set (higher bits may be noise; the lowest is exact). Each test is "has
/// a zero byte" on `w` xor a character; `&`/`'` and `<`/`>` differ in one
/// bit, so four tests cover the six characters.
#[inline]
fn special_mask(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS;
    // Bytes below 0x20 (tab and line feed among them: the caller skips
    // what [`ESCAPE`] leaves alone).
    let control = w.wrapping_sub(ONES * 0x20) & !w & HIGHS;
    zero(w ^ (ONES * u64::from(b'"')))
        | control
        | zero((w | ONES) ^ (ONES * u64::from(b'\'')))
        | zero((w | (ONES * 2)) ^ (ONES * u64::from(b'>')))
}

/// An XML text builder. Bytes, not a `String`: everything written is
/// UTF-8 already, and the body leaves as bytes.
pub(crate) struct Writer {
    out: Vec<u8>,
    days: crate::timestamp::DayCache,
}

thread_local! {
    /// The size of the last document this thread wrote: the next one starts
    /// with that much room, so a long listing is not copied through every
    /// doubling of its buffer on each request.
    static LAST_SIZE: std::cell::Cell<usize> = const { std::cell::Cell::new(MIN_CAPACITY) };
}
const MIN_CAPACITY: usize = 2048;
const MAX_CAPACITY_HINT: usize = 256 << 10;

impl Default for Writer {
    fn default() -> Self {
        Writer {
            out: Vec::with_capacity(LAST_SIZE.get()),
            days: Default::default(),
        }
    }
}

impl Writer {
    pub fn into_bytes(self) -> Vec<u8> {
        LAST_SIZE.set(self.out.len().clamp(MIN_CAPACITY, MAX_CAPACITY_HINT));
        self.out
    }
    pub fn raw(&mut self, s: &str) {
        self.out.extend_from_slice(s.as_bytes());
    }
    /// `<name>`: one reservation, no attribute loop.
    pub fn open(&mut self, name: &str) {
        self.out.reserve(name.len() + 2);
        self.out.push(b'<');
        self.out.extend_from_slice(name.as_bytes());
        self.out.push(b'>');
    }
    pub fn start(&mut self, name: &str, attrs: &[(String, String)]) {
        if attrs.is_empty() {
            return self.open(name);
        }
        self.out.push(b'<');
        self.out.extend_from_slice(name.as_bytes());
        for (k, v) in attrs {
            self.out.push(b' ');
            self.out.extend_from_slice(k.as_bytes());
            self.out.extend_from_slice(b"=\"");
            self.text(v);
            self.out.push(b'"');
        }
        self.out.push(b'>');
    }
    pub fn end(&mut self, name: &str) {
        self.out.reserve(name.len() + 3);
        self.out.extend_from_slice(b"</");
        self.out.extend_from_slice(name.as_bytes());
        self.out.push(b'>');
    }
    pub fn text(&mut self, t: &str) {
        // Eight bytes at a time: find the next byte to escape, copy the run
        // before it in one go. The last word is zero-padded (NUL needs no
        // escaping).
        let bytes = t.as_bytes();
        let mut start = 0;
        let mut i = 0;
        while let Some(chunk) = bytes.get(i..i + 8) {
            let mask = special_mask(u64::from_le_bytes(chunk.try_into().unwrap_or_default()));
            if mask == 0 {
                i += 8;
                continue;
            }
            let at = i + (mask.trailing_zeros() / 8) as usize;
            let class = ESCAPE[bytes[at] as usize];
            if class != 0 {
                self.out.extend_from_slice(&bytes[start..at]);
                self.out
                    .extend_from_slice(ESCAPES[class as usize].as_bytes());
                start = at + 1;
            }
            i = at + 1;
        }
        // The last few bytes one by one.
        for (at, &b) in bytes.iter().enumerate().skip(i) {
            let class = ESCAPE[b as usize];
            if class != 0 {
                self.out.extend_from_slice(&bytes[start..at]);
                self.out
                    .extend_from_slice(ESCAPES[class as usize].as_bytes());
                start = at + 1;
            }
        }
        self.out.extend_from_slice(&bytes[start..]);
    }
    pub fn leaf(&mut self, name: &str, text: &str) {
        self.start(name, &[]);
        self.text(text);
        self.end(name);
    }
    fn integer(&mut self, n: &serde_json::Number) {
        let mut buf = itoa::Buffer::new();
        let text = match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => buf.format(u),
            (None, Some(i)) => buf.format(i),
            _ => return self.raw(&n.to_string()),
        };
        self.out.extend_from_slice(text.as_bytes());
    }
    fn timestamp(&mut self, n: &serde_json::Number) {
        crate::timestamp::write_iso8601_number(&mut self.out, n, &mut self.days);
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
pub(crate) fn member_element_name<'a>(shape: &'a Shape, member: &'a Member) -> &'a str {
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
        write_member(
            w,
            m,
            member,
            target,
            member_element_name(target, member),
            val,
        );
    }
}

/// One member of a structure (`target` its shape, `name` its element), not
/// null: a plain leaf in one step, else the general path.
#[inline(always)]
pub(crate) fn write_member(
    w: &mut Writer,
    m: &Model,
    member: &Member,
    target: &Shape,
    name: &str,
    val: &Value,
) {
    if write_plain_leaf(w, member, target, name, val) {
        return;
    }
    let flattened = member.flattened || target.flattened;
    write_shape_value(w, m, member, target, name, val, flattened);
}

/// The leaves most responses are made of (strings, integers, ISO 8601
/// timestamps, no namespace), written in one step; false for anything else,
/// which takes the general path.
#[inline(always)]
fn write_plain_leaf(w: &mut Writer, member: &Member, shape: &Shape, name: &str, v: &Value) -> bool {
    if member.xml_namespace.is_some() || shape.xml_namespace.is_some() {
        return false;
    }
    match (shape.kind, v) {
        (Kind::String, Value::String(s)) => return write_string_leaf(w, member, shape, name, s),
        (Kind::Timestamp, Value::Number(n))
            if matches!(
                member.timestamp_format.or(shape.timestamp_format),
                None | Some(TsFormat::Iso8601)
            ) =>
        {
            w.out.reserve(2 * name.len() + 29);
            w.open(name);
            w.timestamp(n);
        }
        (k, Value::Number(n)) if k.is_integer() => {
            w.out.reserve(2 * name.len() + 25);
            w.open(name);
            w.integer(n);
        }
        _ => return false,
    }
    w.end(name);
    true
}

/// A string member's plain leaf (a string shape, no namespace), from its
/// text; false for anything else. Shared with the text path (xml_text.rs).
#[inline(always)]
pub(crate) fn write_string_leaf(
    w: &mut Writer,
    member: &Member,
    shape: &Shape,
    name: &str,
    s: &str,
) -> bool {
    if shape.kind != Kind::String || member.xml_namespace.is_some() || shape.xml_namespace.is_some()
    {
        return false;
    }
    w.out.reserve(2 * name.len() + 5 + s.len());
    w.open(name);
    w.text(s);
    w.end(name);
    true
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
    if !shape.has_xml_attributes {
        return attrs;
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
    write_shape_value(w, m, member, m.shape(member.shape), name, v, flattened)
}

/// [`write_value`] with the member's shape already looked up.
fn write_shape_value(
    w: &mut Writer,
    m: &Model,
    member: &Member,
    shape: &Shape,
    name: &str,
    v: &Value,
    flattened: bool,
) {
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
            if member.xml_namespace.is_none()
                && shape.xml_namespace.is_none()
                && !shape.has_xml_attributes
            {
                w.open(name);
            } else {
                let attrs = struct_attrs(m, member.shape, v, member.xml_namespace.as_ref());
                w.start(name, &attrs);
            }
            write_members(w, m, member.shape, v, false);
            w.end(name);
        }
        kind => {
            if write_plain_leaf(w, member, shape, name, v) {
                return;
            }
            let ts = match kind {
                Kind::Timestamp => member
                    .timestamp_format
                    .or(shape.timestamp_format)
                    .unwrap_or(TsFormat::Iso8601),
                _ => TsFormat::Iso8601,
            };
            let Some(text) = to_text(kind, ts, v) else {
                return;
            };
            let mut attrs = Vec::new();
            if let Some(ns) = member
                .xml_namespace
                .as_ref()
                .or(shape.xml_namespace.as_ref())
            {
                attrs.push(ns_attr(ns));
            }
            w.start(name, &attrs);
            w.text(&text);
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
        let name = member_element_name(target, member);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(t: &str) -> String {
        let mut w = Writer::default();
        w.text(t);
        String::from_utf8(w.into_bytes()).unwrap()
    }

    fn naive(t: &str) -> String {
        t.chars()
            .map(|c| match c {
                '<' => "&lt;".to_string(),
                '>' => "&gt;".to_string(),
                '&' => "&amp;".to_string(),
                '"' => "&quot;".to_string(),
                '\'' => "&apos;".to_string(),
                '\t' | '\n' => c.to_string(),
                c if (c as u32) < 0x20 => format!("&#x{:X};", c as u32),
                c => c.to_string(),
            })
            .collect()
    }

    #[test]
    fn text_escapes_each_special_character_wherever_it_falls() {
        // Specials, their one-bit neighbours (which the word test must not
        // take for them), and multi-byte characters.
        let probes = [
            '<', '>', '&', '"', '\'', '\r', '=', '?', ':', '$', '%', '.', '\u{c}', '\n', '!', '#',
            '¢', '¦', '😹', '\0', '\t', '\u{1}', '\u{1f}', ' ', '\u{7f}',
        ];
        for len in 0..24 {
            for pos in 0..len {
                for c in probes {
                    let t: String = (0..len)
                        .map(|i| {
                            if i == pos {
                                c
                            } else {
                                (b'a' + (i % 26) as u8) as char
                            }
                        })
                        .collect();
                    assert_eq!(escaped(&t), naive(&t), "{t:?}");
                    let doubled = format!("{t}{c}{t}");
                    assert_eq!(escaped(&doubled), naive(&doubled), "{doubled:?}");
                }
            }
        }
        let etag = "\"d41d8cd98f00b204e9800998ecf8427e\"";
        assert_eq!(
            escaped(etag),
            "&quot;d41d8cd98f00b204e9800998ecf8427e&quot;"
        );
    }

    #[test]
    fn timestamps_on_the_same_and_other_days() {
        let mut w = Writer::default();
        for secs in [
            1_398_796_238_i64,
            1_398_796_239,
            951_782_400,
            0,
            -1,
            1_398_796_240,
        ] {
            w.timestamp(&serde_json::Number::from(secs));
            w.raw(" ");
        }
        assert_eq!(
            String::from_utf8(w.into_bytes()).unwrap(),
            "2014-04-29T18:30:38Z 2014-04-29T18:30:39Z 2000-02-29T00:00:00Z \
             1970-01-01T00:00:00Z 1969-12-31T23:59:59Z 2014-04-29T18:30:40Z "
        );
    }
}
