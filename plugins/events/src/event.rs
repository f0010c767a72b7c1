//! One event of a delivery: the text PutEvents wrote, parsed into a tree
//! only when something needs the whole of it (an input transformer, a
//! dead-letter queue, a retry's record). Matching reads just the top-level
//! fields the bus's patterns name ([`Event::fields`]): parsing every event
//! into an ordered map was the `deliver` task's largest cost.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::fmt;
use std::ops::{Deref, Range};
use std::rc::Rc;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::pattern;

/// Shared by the attempts of one event (one per matched target).
#[derive(Clone)]
pub struct Event(Rc<Inner>);

struct Inner {
    text: Option<Rc<str>>,
    tree: OnceCell<Value>,
    /// Every top-level field and where its value sits in the text, when
    /// whoever wrote the text knew (PutEvents): matching parses just the
    /// values its patterns name, once, instead of reading the whole text.
    top: Vec<Top>,
}

/// Where each top-level field's value sits in an event's text.
pub type Spans = Vec<(&'static str, Range<usize>)>;

/// A top-level field of an event's text.
pub struct Top {
    name: &'static str,
    at: Range<usize>,
    value: OnceCell<Value>,
}

impl Event {
    /// An event already parsed (a replay's, a retry's, a schedule's).
    pub fn parsed(tree: Value) -> Self {
        Event(Rc::new(Inner {
            text: None,
            tree: OnceCell::from(tree),
            top: Vec::new(),
        }))
    }

    /// An event as PutEvents wrote it (valid JSON: it serialized it).
    pub fn from_text(text: &str) -> Self {
        Event::written(text, Vec::new())
    }

    /// An event PutEvents just wrote: its text, and `top`, where each of
    /// its top-level fields' values sits in it (empty: not at hand).
    pub fn written(text: &str, top: Spans) -> Self {
        let top = top
            .into_iter()
            .map(|(name, at)| Top {
                name,
                at,
                value: OnceCell::new(),
            })
            .collect();
        Event(Rc::new(Inner {
            text: Some(Rc::from(text)),
            tree: OnceCell::new(),
            top,
        }))
    }

    /// The event's text when it came as text: a target taking the whole
    /// event gets it as is.
    pub fn text(&self) -> Option<&str> {
        self.0.text.as_deref()
    }

    /// The event's top-level fields for matching against patterns that name
    /// only `names`: the tree when parsed already, the fields at hand when
    /// PutEvents wrote the event (no map built), else just `names` parsed
    /// from the text.
    pub fn fields(&self, names: &[&str]) -> Fields<'_> {
        if let Some(tree) = self.0.tree.get() {
            return Fields::Tree(tree);
        }
        let Some(text) = self.text() else {
            static NULL: Value = Value::Null;
            return Fields::Tree(&NULL);
        };
        if !self.0.top.is_empty() {
            return Fields::Top(&self.0.top, text);
        }
        let mut de = serde_json::Deserializer::from_str(text);
        match Named(names).deserialize(&mut de) {
            Ok(fields) => Fields::Parsed(fields),
            Err(_) => Fields::Tree(self),
        }
    }
}

/// An event's top-level fields as [`Event::fields`] found them.
pub enum Fields<'e> {
    Tree(&'e Value),
    /// The fields' places in the text (second), each parsed when asked for.
    Top(&'e [Top], &'e str),
    Parsed(Map<String, Value>),
}

impl pattern::Fields for Fields<'_> {
    fn field(&self, key: &str) -> Option<&Value> {
        match self {
            Fields::Tree(tree) => tree.get(key),
            Fields::Top(top, text) => top.iter().find(|t| t.name == key).map(|t| {
                t.value.get_or_init(|| {
                    // The writer's own spans: a failed parse is a bug there.
                    serde_json::from_str(text.get(t.at.clone()).unwrap_or_default())
                        .unwrap_or(Value::Null)
                })
            }),
            Fields::Parsed(map) => map.get(key),
        }
    }
}

impl Deref for Event {
    type Target = Value;

    fn deref(&self) -> &Value {
        self.0.tree.get_or_init(|| {
            self.text()
                .and_then(|t| serde_json::from_str(t).ok())
                .unwrap_or(Value::Null)
        })
    }
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (**self).serialize(s)
    }
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Value::deserialize(d).map(Event::parsed)
    }
}

/// An object's fields named in `.0`, parsed; the others skipped unbuilt.
struct Named<'n>(&'n [&'n str]);

impl<'de> DeserializeSeed<'de> for Named<'_> {
    type Value = Map<String, Value>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Named<'_> {
    type Value = Map<String, Value>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an event object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
        let mut out = Map::with_capacity(self.0.len());
        while let Some(Key(k)) = m.next_key()? {
            if self.0.contains(&k.as_ref()) {
                out.insert(k.into_owned(), m.next_value()?);
            } else {
                m.next_value::<IgnoredAny>()?;
            }
        }
        Ok(out)
    }
}

/// A key borrowed from the text when it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(s)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s.to_string())))
            }
        }
        d.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TEXT: &str = r#"{"version":"0","id":"e1","detail-type":"t","source":"a\"b",
        "account":"1","time":"x","region":"r","resources":[],"detail":{"k":[1,{"z":null}]},
        "source":"dup"}"#;

    /// The named fields `f` offers, as an object.
    fn picked(f: &Fields, names: &[&str]) -> Value {
        use crate::pattern::Fields as _;
        let mut out = Map::new();
        for n in names {
            if let Some(v) = f.field(n) {
                out.insert(n.to_string(), v.clone());
            }
        }
        Value::Object(out)
    }

    #[test]
    fn fields_parses_only_the_named_ones() {
        let e = Event::from_text(TEXT);
        let names = ["detail", "source", "absent"];
        let got = e.fields(&names);
        assert!(matches!(got, Fields::Parsed(_)));
        assert_eq!(
            picked(&got, &names),
            json!({"source": "dup", "detail": {"k": [1, {"z": null}]}}),
            "a repeated key keeps its last value, as a full parse does"
        );
        assert_eq!(picked(&e.fields(&[]), &["id", "source"]), json!({}));
        assert!(e.0.tree.get().is_none(), "not parsed whole");
        assert_eq!(e["id"], "e1");
        assert_eq!(e["source"], "dup");
        assert!(
            matches!(e.fields(&["id"]), Fields::Tree(_)),
            "the tree once it is there"
        );
    }

    #[test]
    fn serializes_as_the_tree_and_reads_back() {
        let e = Event::from_text(r#"{"id":"e1","detail":{"b":2,"a":1}}"#);
        let text = serde_json::to_string(&e).unwrap();
        assert_eq!(
            text, r#"{"id":"e1","detail":{"b":2,"a":1}}"#,
            "key order kept"
        );
        let back: Event = serde_json::from_str(&text).unwrap();
        assert_eq!(back.text(), None);
        assert_eq!(back["detail"]["b"], 2);
    }

    #[test]
    fn fields_at_hand_are_the_ones_the_text_has() {
        let text = r#"{"id":"e1","source":"s","detail":{"a":[1]}}"#;
        let span = |value: &str| {
            let at = text.find(value).unwrap();
            (at, at + value.len())
        };
        let top = [
            ("id", "\"e1\""),
            ("source", "\"s\""),
            ("detail", r#"{"a":[1]}"#),
        ]
        .into_iter()
        .map(|(name, value)| {
            let (from, to) = span(value);
            (name, from..to)
        })
        .collect();
        let e = Event::written(text, top);
        assert!(matches!(e.fields(&["id"]), Fields::Top(..)));
        for names in [&["detail", "source", "absent"][..], &["id"], &[]] {
            assert_eq!(
                picked(&e.fields(names), names),
                picked(&Event::from_text(text).fields(names), names),
                "{names:?}"
            );
        }
        assert!(e.0.tree.get().is_none(), "not parsed whole");
        assert_eq!(e.text(), Some(text));
    }

    #[test]
    fn escaped_keys_are_read() {
        let e = Event::from_text(r#"{"sou\u0072ce":"s","x":1}"#);
        assert_eq!(
            picked(&e.fields(&["source"]), &["source"]),
            json!({"source": "s"})
        );
    }
}
