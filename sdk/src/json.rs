//! JSON text out: byte for byte what `serde_json::to_string` writes
//! (compact), written the way wasm runs fastest.
//!
//! serde_json is the parser and the `Value` every plugin uses; only its
//! writer is replaced, because of what it costs in wasm. It escapes a
//! string one byte at a time (~17 instructions a byte once wasmtime's
//! epoch check sits in the loop), and every piece it writes — a quote, a
//! colon, a comma, a run of text — goes through `io::Write::write_all`,
//! a `memory.copy` that wasmtime runs as a host libcall of ~40
//! instructions even for one byte. A field cost ~350 instructions that
//! way, ~12 % of an EventBridge PutEvents → SQS (docs/performance.md,
//! "Eighteenth sitting"). Here a string is checked eight bytes at a step
//! for the bytes JSON escapes, a string without them is copied once, and
//! punctuation is pushed a byte at a time.
//!
//! The output is the same text serde_json writes for every value (the
//! tests compare them), so either may write what the other reads.

use serde::ser::{self, Impossible, Serialize};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use crate::words;

mod compact;

pub use compact::compact_into;
pub use serde_json::{Error, Result};

/// `value` as compact JSON text (what `serde_json::to_string` returns).
pub fn to_string<T: ?Sized + Serialize>(value: &T) -> Result<String> {
    let mut out = String::with_capacity(128);
    value.serialize(&mut Writer { out: &mut out })?;
    Ok(out)
}

/// `value` as compact JSON bytes (what `serde_json::to_vec` returns).
pub fn to_vec<T: ?Sized + Serialize>(value: &T) -> Result<Vec<u8>> {
    to_string(value).map(String::into_bytes)
}

/// JSON text written once and kept as text: serialized as is, as
/// serde_json's `RawValue` is, and read back as the text of one value.
/// Made only by serializing ([`RawJson::written`]), by reading JSON, or
/// from text its caller wrote as JSON ([`RawJson::from_written`]), so it
/// always holds one valid value.
///
/// A `String`, not a `Box<str>`: boxing shrank each text written by hand,
/// a reallocation and a copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawJson(String);

impl RawJson {
    /// `value` written as JSON text.
    pub fn written<T: ?Sized + Serialize>(value: &T) -> Result<Self> {
        to_string(value).map(RawJson)
    }

    /// Text its caller wrote as one JSON value itself (literal punctuation,
    /// [`push_str`], [`compact_into`]), kept without parsing it again;
    /// debug builds check that it parses.
    pub fn from_written(text: String) -> Self {
        debug_assert!(
            serde_json::from_str::<serde::de::IgnoredAny>(&text).is_ok(),
            "not one JSON value: {text}"
        );
        RawJson(text)
    }

    pub fn get(&self) -> &str {
        &self.0
    }
}

impl Serialize for RawJson {
    fn serialize<S: ser::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        // The struct both writers (serde_json's and this one) print as its
        // text: what `RawValue` serializes as.
        use ser::SerializeStruct;
        let mut raw = s.serialize_struct(RAW_VALUE, 1)?;
        raw.serialize_field(RAW_VALUE, &*self.0)?;
        raw.end()
    }
}

impl<'de> Deserialize<'de> for RawJson {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        Box::<RawValue>::deserialize(d).map(|raw| RawJson(Box::<str>::from(raw).into()))
    }
}

/// The struct name serde_json's `RawValue` serializes as, which its writer
/// prints verbatim (`raw_json_is_written_as_is_by_serde_json_too` checks
/// that serde_json still does).
const RAW_VALUE: &str = "$serde_json::private::RawValue";

/// For each byte, the letter after the backslash that escapes it (`u`:
/// `\u00XX`), or 0 when it is written as is: the control characters, `"`
/// and `\`, as serde_json escapes them.
const ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = b'u';
        b += 1;
    }
    t[0x08] = b'b';
    t[0x09] = b't';
    t[0x0a] = b'n';
    t[0x0c] = b'f';
    t[0x0d] = b'r';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t
};

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Whether any of the eight bytes of `w` needs escaping (below 0x20, `"`
/// or `\`).
#[inline(always)]
fn needs_escape(w: u64) -> bool {
    words::any_byte_below(w, 0x20) | words::any_byte_is(w, b'"') | words::any_byte_is(w, b'\\')
}

/// The eight bytes of `b` from `at`.
#[inline(always)]
fn word(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("eight bytes"))
}

/// The four bytes of `b` from `at`.
#[inline(always)]
fn half(b: &[u8], at: usize) -> u64 {
    u64::from(u32::from_le_bytes(
        b[at..at + 4].try_into().expect("four bytes"),
    ))
}

/// Whether no byte of `b` needs escaping, in words: a string's last word
/// overlaps the one before rather than being read a byte at a time, and
/// four to seven bytes are two overlapping halves of one word.
#[inline(always)]
fn clean(b: &[u8]) -> bool {
    let n = b.len();
    if n >= 8 {
        let mut at = 0;
        while at + 8 <= n {
            if needs_escape(word(b, at)) {
                return false;
            }
            at += 8;
        }
        at == n || !needs_escape(word(b, n - 8))
    } else if n >= 4 {
        !needs_escape(half(b, 0) | (half(b, n - 4) << 32))
    } else {
        b.iter().all(|&c| ESCAPE[usize::from(c)] == 0)
    }
}

/// Appends `s` to `out` as a JSON string (for text written by hand, such
/// as an EventBridge event whose field positions are kept).
pub fn push_str(out: &mut String, s: &str) {
    write_str(out, s);
}

/// Writes `s` as a JSON string.
#[inline]
fn write_str(out: &mut String, s: &str) {
    if clean(s.as_bytes()) {
        push_quoted(out, s);
    } else {
        write_escaped(out, s);
    }
}

/// Appends `"s"`: one capacity check, and a short `s` copied in words.
/// Through `push`/`push_str` each piece checked the capacity again and the
/// text was a `memory.copy`, a wasmtime libcall of ~40 instructions; a
/// string of an event's envelope cost ~210 instructions in all.
#[inline(always)]
fn push_quoted(out: &mut String, s: &str) {
    let n = s.len();
    // SAFETY: the bytes appended are `s` (UTF-8) between two ASCII quotes,
    // so `out` stays UTF-8; `reserve` made room for all n + 2 of them, and
    // `set_len` covers exactly the bytes written.
    unsafe {
        let v = out.as_mut_vec();
        v.reserve(n + 2);
        let len = v.len();
        let dst = v.as_mut_ptr().add(len);
        *dst = b'"';
        copy_short(s.as_ptr(), dst.add(1), n);
        *dst.add(n + 1) = b'"';
        v.set_len(len + n + 2);
    }
}

/// Copies `n` bytes; up to 32 as (overlapping) words and halves, which
/// wasm runs inline, longer ones as one `memory.copy`.
///
/// # Safety
/// `src` is readable and `dst` writable for `n` bytes, not overlapping.
#[inline(always)]
unsafe fn copy_short(src: *const u8, dst: *mut u8, n: usize) {
    // SAFETY (each branch): every access lies within the first `n` bytes.
    unsafe {
        let word = |at: usize| src.add(at).cast::<u64>().read_unaligned();
        let put = |at: usize, w: u64| dst.add(at).cast::<u64>().write_unaligned(w);
        match n {
            0 => {}
            1..=3 => {
                *dst = *src;
                *dst.add(n / 2) = *src.add(n / 2);
                *dst.add(n - 1) = *src.add(n - 1);
            }
            4..=7 => {
                let a = src.cast::<u32>().read_unaligned();
                let b = src.add(n - 4).cast::<u32>().read_unaligned();
                dst.cast::<u32>().write_unaligned(a);
                dst.add(n - 4).cast::<u32>().write_unaligned(b);
            }
            8..=16 => {
                let (a, b) = (word(0), word(n - 8));
                put(0, a);
                put(n - 8, b);
            }
            17..=32 => {
                let (a, b, c, d) = (word(0), word(8), word(n - 16), word(n - 8));
                put(0, a);
                put(8, b);
                put(n - 16, c);
                put(n - 8, d);
            }
            _ => std::ptr::copy_nonoverlapping(src, dst, n),
        }
    }
}

/// Writes `s`, which has bytes to escape, as a JSON string.
#[inline(never)]
fn write_escaped(out: &mut String, s: &str) {
    out.reserve(s.len() + 8);
    out.push('"');
    // The start of the run not written yet.
    let mut run = 0;
    for (i, &byte) in s.as_bytes().iter().enumerate() {
        let escape = ESCAPE[usize::from(byte)];
        if escape == 0 {
            continue;
        }
        // Escaped bytes are ASCII: the runs between them are whole UTF-8.
        out.push_str(&s[run..i]);
        out.push('\\');
        out.push(char::from(escape));
        if escape == b'u' {
            out.push_str("00");
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0xf)]));
        }
        run = i + 1;
    }
    out.push_str(&s[run..]);
    out.push('"');
}

fn write_f64(out: &mut String, v: f64) {
    if v.is_finite() {
        out.push_str(zmij::Buffer::new().format_finite(v));
    } else {
        out.push_str("null");
    }
}

fn write_f32(out: &mut String, v: f32) {
    if v.is_finite() {
        out.push_str(zmij::Buffer::new().format_finite(v));
    } else {
        out.push_str("null");
    }
}

fn key_must_be_a_string() -> Error {
    ser::Error::custom("key must be a string")
}

/// The compact JSON writer (a `serde::Serializer`).
pub struct Writer<'a> {
    out: &'a mut String,
}

/// An array or object being written, and what ends it.
pub struct Compound<'w, 'a> {
    w: &'w mut Writer<'a>,
    first: bool,
    close: Close,
}

/// What ends a [`Compound`]: pushed a byte at a time (a `&str` of either
/// length would be a `memory.copy`).
#[derive(Clone, Copy)]
enum Close {
    Array,
    Object,
    /// An enum variant's array or object, inside `{"variant":…}`.
    ArrayInVariant,
    ObjectInVariant,
    /// A [`RawJson`]'s text: nothing.
    Raw,
}

impl Compound<'_, '_> {
    #[inline(always)]
    fn comma(&mut self) {
        if !self.first {
            self.w.out.push(',');
        }
        self.first = false;
    }

    #[inline]
    fn close(self) -> Result<()> {
        let out = &mut *self.w.out;
        match self.close {
            Close::Array => out.push(']'),
            Close::Object => out.push('}'),
            Close::ArrayInVariant => {
                out.push(']');
                out.push('}');
            }
            Close::ObjectInVariant => {
                out.push('}');
                out.push('}');
            }
            Close::Raw => {}
        }
        Ok(())
    }
}

impl<'w, 'a> Writer<'a> {
    #[inline]
    fn open(&'w mut self, open: char, close: Close) -> Compound<'w, 'a> {
        self.out.push(open);
        Compound {
            w: self,
            first: true,
            close,
        }
    }

    /// `{"variant":` then what `open` opens.
    fn open_variant(&'w mut self, variant: &str, open: char, close: Close) -> Compound<'w, 'a> {
        self.out.push('{');
        write_str(self.out, variant);
        self.out.push(':');
        self.open(open, close)
    }
}

macro_rules! integers {
    ($($f:ident: $t:ty),*) => {$(
        fn $f(self, v: $t) -> Result<()> {
            self.out.push_str(itoa::Buffer::new().format(v));
            Ok(())
        }
    )*};
}

impl<'w, 'a> ser::Serializer for &'w mut Writer<'a> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'w, 'a>;
    type SerializeTuple = Compound<'w, 'a>;
    type SerializeTupleStruct = Compound<'w, 'a>;
    type SerializeTupleVariant = Compound<'w, 'a>;
    type SerializeMap = Compound<'w, 'a>;
    type SerializeStruct = Compound<'w, 'a>;
    type SerializeStructVariant = Compound<'w, 'a>;

    #[inline]
    fn serialize_bool(self, v: bool) -> Result<()> {
        self.out.push_str(if v { "true" } else { "false" });
        Ok(())
    }

    integers!(serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64,
        serialize_i128: i128, serialize_u8: u8, serialize_u16: u16, serialize_u32: u32,
        serialize_u64: u64, serialize_u128: u128);

    fn serialize_f32(self, v: f32) -> Result<()> {
        write_f32(self.out, v);
        Ok(())
    }

    fn serialize_f64(self, v: f64) -> Result<()> {
        write_f64(self.out, v);
        Ok(())
    }

    fn serialize_char(self, v: char) -> Result<()> {
        write_str(self.out, v.encode_utf8(&mut [0; 4]));
        Ok(())
    }

    #[inline]
    fn serialize_str(self, v: &str) -> Result<()> {
        write_str(self.out, v);
        Ok(())
    }

    fn serialize_bytes(self, v: &[u8]) -> Result<()> {
        use ser::SerializeSeq;
        let mut seq = self.serialize_seq(Some(v.len()))?;
        for b in v {
            seq.serialize_element(b)?;
        }
        seq.end()
    }

    fn serialize_none(self) -> Result<()> {
        self.serialize_unit()
    }

    #[inline]
    fn serialize_some<T: ?Sized + Serialize>(self, v: &T) -> Result<()> {
        v.serialize(self)
    }

    fn serialize_unit(self) -> Result<()> {
        self.out.push_str("null");
        Ok(())
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<()> {
        self.serialize_unit()
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<()> {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        v: &T,
    ) -> Result<()> {
        v.serialize(self)
    }

    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<()> {
        self.out.push('{');
        write_str(self.out, variant);
        self.out.push(':');
        v.serialize(&mut *self)?;
        self.out.push('}');
        Ok(())
    }

    #[inline]
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq> {
        Ok(self.open('[', Close::Array))
    }

    fn serialize_tuple(self, len: usize) -> Result<Self::SerializeTuple> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleStruct> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant> {
        Ok(self.open_variant(variant, '[', Close::ArrayInVariant))
    }

    #[inline]
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap> {
        Ok(self.open('{', Close::Object))
    }

    #[inline]
    fn serialize_struct(self, name: &'static str, len: usize) -> Result<Self::SerializeStruct> {
        if name == RAW_VALUE {
            return Ok(Compound {
                w: self,
                first: true,
                close: Close::Raw,
            });
        }
        self.serialize_map(Some(len))
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant> {
        Ok(self.open_variant(variant, '{', Close::ObjectInVariant))
    }
}

impl ser::SerializeSeq for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;

    #[inline]
    fn serialize_element<T: ?Sized + Serialize>(&mut self, v: &T) -> Result<()> {
        self.comma();
        v.serialize(&mut *self.w)
    }

    #[inline]
    fn end(self) -> Result<()> {
        self.close()
    }
}

/// Tuples are arrays: their elements go as a sequence's do.
macro_rules! arrays {
    ($($kind:ident::$element:ident),*) => {$(
        impl ser::$kind for Compound<'_, '_> {
            type Ok = ();
            type Error = Error;

            #[inline]
            fn $element<T: ?Sized + Serialize>(&mut self, v: &T) -> Result<()> {
                ser::SerializeSeq::serialize_element(self, v)
            }

            #[inline]
            fn end(self) -> Result<()> {
                self.close()
            }
        }
    )*};
}

arrays!(
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

impl ser::SerializeMap for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;

    #[inline]
    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<()> {
        self.comma();
        key.serialize(MapKey { out: self.w.out })
    }

    #[inline]
    fn serialize_value<T: ?Sized + Serialize>(&mut self, v: &T) -> Result<()> {
        self.w.out.push(':');
        v.serialize(&mut *self.w)
    }

    #[inline]
    fn end(self) -> Result<()> {
        self.close()
    }
}

impl ser::SerializeStruct for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;

    #[inline]
    fn serialize_field<T: ?Sized + Serialize>(&mut self, key: &'static str, v: &T) -> Result<()> {
        if let Close::Raw = self.close {
            return v.serialize(RawText { out: self.w.out });
        }
        self.comma();
        write_str(self.w.out, key);
        self.w.out.push(':');
        v.serialize(&mut *self.w)
    }

    #[inline]
    fn end(self) -> Result<()> {
        self.close()
    }
}

impl ser::SerializeStructVariant for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;

    #[inline]
    fn serialize_field<T: ?Sized + Serialize>(&mut self, key: &'static str, v: &T) -> Result<()> {
        ser::SerializeStruct::serialize_field(self, key, v)
    }

    #[inline]
    fn end(self) -> Result<()> {
        self.close()
    }
}

/// Refuses every value with `$error`: the shapes a map key or a raw
/// value's text cannot be.
macro_rules! refuse {
    ($error:expr; $($f:ident($($a:ty),*)),*) => {$(
        fn $f(self, $(_: $a),*) -> Result<()> {
            Err($error)
        }
    )*};
}

macro_rules! refuse_compounds {
    ($error:expr) => {
        fn serialize_seq(self, _: Option<usize>) -> Result<Impossible<(), Error>> {
            Err($error)
        }
        fn serialize_tuple(self, _: usize) -> Result<Impossible<(), Error>> {
            Err($error)
        }
        fn serialize_tuple_struct(
            self,
            _: &'static str,
            _: usize,
        ) -> Result<Impossible<(), Error>> {
            Err($error)
        }
        fn serialize_tuple_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Impossible<(), Error>> {
            Err($error)
        }
        fn serialize_map(self, _: Option<usize>) -> Result<Impossible<(), Error>> {
            Err($error)
        }
        fn serialize_struct(self, _: &'static str, _: usize) -> Result<Impossible<(), Error>> {
            Err($error)
        }
        fn serialize_struct_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Impossible<(), Error>> {
            Err($error)
        }
        fn serialize_newtype_variant<T: ?Sized + Serialize>(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: &T,
        ) -> Result<()> {
            Err($error)
        }
    };
}

/// A map key: a string, or a number or bool written as one (as serde_json
/// writes them).
struct MapKey<'a> {
    out: &'a mut String,
}

impl MapKey<'_> {
    fn quoted(self, text: &str) -> Result<()> {
        self.out.push('"');
        self.out.push_str(text);
        self.out.push('"');
        Ok(())
    }
}

macro_rules! integer_keys {
    ($($f:ident: $t:ty),*) => {$(
        fn $f(self, v: $t) -> Result<()> {
            self.quoted(itoa::Buffer::new().format(v))
        }
    )*};
}

impl ser::Serializer for MapKey<'_> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Impossible<(), Error>;
    type SerializeTuple = Impossible<(), Error>;
    type SerializeTupleStruct = Impossible<(), Error>;
    type SerializeTupleVariant = Impossible<(), Error>;
    type SerializeMap = Impossible<(), Error>;
    type SerializeStruct = Impossible<(), Error>;
    type SerializeStructVariant = Impossible<(), Error>;

    #[inline]
    fn serialize_str(self, v: &str) -> Result<()> {
        write_str(self.out, v);
        Ok(())
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<()> {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        v: &T,
    ) -> Result<()> {
        v.serialize(self)
    }

    #[inline]
    fn serialize_some<T: ?Sized + Serialize>(self, v: &T) -> Result<()> {
        v.serialize(self)
    }

    #[inline]
    fn serialize_bool(self, v: bool) -> Result<()> {
        self.quoted(if v { "true" } else { "false" })
    }

    integer_keys!(serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64,
        serialize_i128: i128, serialize_u8: u8, serialize_u16: u16, serialize_u32: u32,
        serialize_u64: u64, serialize_u128: u128);

    fn serialize_f32(self, v: f32) -> Result<()> {
        if !v.is_finite() {
            return Err(ser::Error::custom(
                "float key must be finite (got NaN or +/-inf)",
            ));
        }
        self.quoted(zmij::Buffer::new().format_finite(v))
    }

    fn serialize_f64(self, v: f64) -> Result<()> {
        if !v.is_finite() {
            return Err(ser::Error::custom(
                "float key must be finite (got NaN or +/-inf)",
            ));
        }
        self.quoted(zmij::Buffer::new().format_finite(v))
    }

    fn serialize_char(self, v: char) -> Result<()> {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }

    refuse!(key_must_be_a_string(); serialize_bytes(&[u8]), serialize_unit(),
        serialize_unit_struct(&'static str), serialize_none());

    refuse_compounds!(key_must_be_a_string());
}

/// A [`RawJson`]'s (or `RawValue`'s) text, written as it is.
struct RawText<'a> {
    out: &'a mut String,
}

fn not_raw_text() -> Error {
    ser::Error::custom("expected RawValue")
}

impl ser::Serializer for RawText<'_> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Impossible<(), Error>;
    type SerializeTuple = Impossible<(), Error>;
    type SerializeTupleStruct = Impossible<(), Error>;
    type SerializeTupleVariant = Impossible<(), Error>;
    type SerializeMap = Impossible<(), Error>;
    type SerializeStruct = Impossible<(), Error>;
    type SerializeStructVariant = Impossible<(), Error>;

    #[inline]
    fn serialize_str(self, v: &str) -> Result<()> {
        self.out.push_str(v);
        Ok(())
    }

    refuse!(not_raw_text(); serialize_bool(bool), serialize_i8(i8), serialize_i16(i16),
        serialize_i32(i32), serialize_i64(i64), serialize_u8(u8), serialize_u16(u16),
        serialize_u32(u32), serialize_u64(u64), serialize_f32(f32), serialize_f64(f64),
        serialize_char(char), serialize_bytes(&[u8]), serialize_unit(), serialize_none(),
        serialize_unit_struct(&'static str), serialize_unit_variant(&'static str, u32, &'static str));

    fn serialize_some<T: ?Sized + Serialize>(self, _: &T) -> Result<()> {
        Err(not_raw_text())
    }

    fn serialize_newtype_struct<T: ?Sized + Serialize>(self, _: &'static str, _: &T) -> Result<()> {
        Err(not_raw_text())
    }

    refuse_compounds!(not_raw_text());
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;
    use serde_json::{Value, json};
    use std::collections::BTreeMap;

    /// Every test value: the same text as serde_json's.
    fn same<T: Serialize + ?Sized>(v: &T) {
        assert_eq!(to_string(v).unwrap(), serde_json::to_string(v).unwrap());
    }

    #[test]
    fn strings_escape_as_serde_json_does() {
        let mut all_bytes = String::new();
        for c in 0u8..0x80 {
            all_bytes.push(char::from(c));
        }
        for s in [
            "",
            "a",
            "plain ascii text longer than eight bytes",
            "\"",
            "\\",
            "quote \" in the middle of a long enough string",
            "ends with a backslash \\",
            "\u{0}\u{1}\u{1f}\u{7f}\u{8}\t\n\u{c}\r",
            "1234567\"",
            "12345678\"",
            "123456789\n",
            "abc\"",
            "ab",
            "\"ab",
            "abcd\n",
            "\nabcdefghijklmno",
            "abcdefghijklmnop\u{1}",
            "abcdefghijklmno\\",
            "ünïcödé ✓ 𝄞 and \"escapes\" \u{2028}",
            "{\"detail\": {\"i\": 0}}",
            &all_bytes,
        ] {
            same(s);
            same(&json!({ s: s }));
        }
    }

    #[test]
    fn clean_strings_of_every_length_are_copied_whole() {
        let text: String = (0..80u8).map(|i| char::from(b'a' + i % 26)).collect();
        for n in 0..=text.len() {
            for start in ["", "x", "prefix of seven"] {
                let mut out = String::from(start);
                push_str(&mut out, &text[..n]);
                assert_eq!(out, format!("{start}\"{}\"", &text[..n]), "{n}");
            }
        }
        let mut out = String::new();
        push_str(&mut out, "ünï ✓");
        assert_eq!(out, "\"ünï ✓\"");
    }

    #[test]
    fn the_eight_byte_check_finds_exactly_the_bytes_to_escape() {
        // Every byte value in every lane, against neighbours that need
        // escaping and neighbours that do not.
        for fill in [b'a', 0xff, 0x80, 0x21, 0x1f, b'"'] {
            for lane in 0..8 {
                for b in 0..=255u8 {
                    let mut word = [fill; 8];
                    word[lane] = b;
                    let expected = word.iter().any(|&x| ESCAPE[usize::from(x)] != 0);
                    assert_eq!(needs_escape(u64::from_le_bytes(word)), expected, "{word:?}");
                }
            }
        }
    }

    #[test]
    fn a_string_is_clean_when_no_byte_needs_escaping_at_any_length() {
        for n in 0..=24 {
            for at in 0..n {
                for b in [0x00, 0x1f, b'"', b'\\', b' ', b'a', 0x7f, 0xc3] {
                    let mut s = vec![b'x'; n];
                    s[at] = b;
                    let expected = s.iter().all(|&c| ESCAPE[usize::from(c)] == 0);
                    assert_eq!(clean(&s), expected, "{s:?}");
                }
            }
        }
    }

    #[test]
    fn numbers_and_scalars() {
        same(&json!([
            0,
            -1,
            1,
            i64::MIN,
            i64::MAX,
            u64::MAX,
            0.5,
            -0.0,
            1e300,
            1.0,
            2.71e-5,
            1e-7
        ]));
        same(&(
            1u8,
            -2i16,
            3u32,
            -4i64,
            5u128,
            -6i128,
            1.5f32,
            0.1f32,
            f64::NAN,
            f32::INFINITY,
        ));
        same(&(true, false, (), 'x', '"', Some(1), None::<u8>));
        same(&[f64::NEG_INFINITY, f64::MIN_POSITIVE, f64::MAX]);
        same(&Bytes(&[0, 1, 255]));
    }

    struct Bytes<'a>(&'a [u8]);

    impl Serialize for Bytes<'_> {
        fn serialize<S: ser::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
            s.serialize_bytes(self.0)
        }
    }

    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Output<'a> {
        failed_entry_count: usize,
        entries: Vec<Entry<'a>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        next: Option<String>,
        map: BTreeMap<u32, &'a str>,
        bools: BTreeMap<bool, u8>,
        unit: Unit,
        empty: Vec<u8>,
        tuple: (u8, &'a str),
        raw: Box<RawValue>,
    }

    #[derive(Serialize)]
    struct Unit;

    #[derive(Serialize)]
    enum Entry<'a> {
        Put {
            #[serde(rename = "EventId")]
            event_id: &'a str,
        },
        Failed(String),
        Pair(u8, u8),
        Nothing,
    }

    #[test]
    fn structs_enums_maps_and_raw_values() {
        let out = Output {
            failed_entry_count: 1,
            entries: vec![
                Entry::Put { event_id: "a-b" },
                Entry::Failed("no \"bus\"".into()),
                Entry::Pair(1, 2),
                Entry::Nothing,
            ],
            next: None,
            map: [(1, "one"), (20, "twenty")].into(),
            bools: [(true, 1), (false, 0)].into(),
            unit: Unit,
            empty: vec![],
            tuple: (7, "seven"),
            raw: RawValue::from_string("{\"kept\": [1, 2]}".into()).unwrap(),
        };
        same(&out);
        let v: Value = serde_json::from_str(&serde_json::to_string(&out).unwrap()).unwrap();
        same(&v);
        same(&json!({"nested": {"deep": [[], {}, [{"x": null}]]}, "s": "\u{1}"}));
    }

    #[test]
    fn keys_that_are_not_strings_are_refused_as_serde_json_does() {
        let mut m = BTreeMap::new();
        m.insert(vec![1u8], 1);
        assert!(to_string(&m).is_err());
        assert!(serde_json::to_string(&m).is_err());
        let nan: BTreeMap<String, f64> = BTreeMap::new();
        same(&nan);
    }

    #[test]
    fn raw_json_is_written_as_is_by_serde_json_too() {
        let raw = RawJson::written(&json!({"a": [1, "two"]})).unwrap();
        assert_eq!(raw.get(), r#"{"a":[1,"two"]}"#);
        let wrapped = json!({"x": 1});
        let both = (raw.clone(), &wrapped);
        assert_eq!(to_string(&both).unwrap(), r#"[{"a":[1,"two"]},{"x":1}]"#);
        same(&both);
        let back: Vec<RawJson> = serde_json::from_str(r#"[ {"a" : 1}, "s" ]"#).unwrap();
        assert_eq!(back[0].get(), r#"{"a" : 1}"#);
        assert_eq!(back[1].get(), r#""s""#);
    }
}
