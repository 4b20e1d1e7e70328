//! The JSON text of a JSON column: serde_json's text, with three differences
//! that make it read back equal and compare equal.
//!
//! - A NaN or an infinity is an error (serde_json writes `null`, which then
//!   does not read back as a float, or reads back as `None`).
//! - Nesting deeper than [`MAX_DEPTH`] arrays and objects is an error
//!   (serde_json's reader refuses it: "recursion limit exceeded").
//! - A map's entries are written sorted by key, so equal maps are equal text
//!   whatever order they iterate in (`HashMap`, `IndexMap`). Integer keys sort
//!   as numbers and other keys by their UTF-8 bytes, which is the order a
//!   `BTreeMap<String, _>`, a `BTreeMap` of integers and a `serde_json::Value`
//!   object already iterate in: their text is the same as serde_json's.
//!   Structs keep their field order (it is fixed by the type).
//!
//! Numbers, strings and escapes are written by serde_json itself.

use std::ops::Range;

use serde::Serialize;
use serde::ser::{self, Impossible};
use serde_json::Error;

/// The deepest nesting of arrays and objects that serde_json reads back: its
/// reader counts down from 128 and fails on reaching 0, so 127 levels read
/// and the 128th does not.
pub(crate) const MAX_DEPTH: usize = 127;

/// The struct names serde_json's `RawValue` and `Number` (with the
/// `raw_value` and `arbitrary_precision` features) serialize as, to have their
/// one string field written as raw JSON text.
const RAW_TOKENS: [&str; 2] = [
    "$serde_json::private::RawValue",
    "$serde_json::private::Number",
];

/// `value` as JSON text that reads back equal, or why it cannot be.
pub(crate) fn to_text<T: Serialize + ?Sized>(value: &T) -> Result<String, Error> {
    let mut out = String::with_capacity(128);
    value.serialize(Writer {
        out: &mut out,
        depth: 0,
    })?;
    Ok(out)
}

fn custom(message: String) -> Error {
    ser::Error::custom(message)
}

fn too_deep() -> Error {
    custom(format!(
        "the value nests arrays and objects more than {MAX_DEPTH} deep, which serde_json cannot read back (its recursion limit); nothing was written"
    ))
}

fn not_finite(value: f64) -> Error {
    custom(format!(
        "{value} cannot be stored as JSON: JSON has no NaN or infinity (serde_json would write null, which does not read back); nothing was written"
    ))
}

fn key_error(what: &str) -> Error {
    custom(format!(
        "a JSON object key must be a string, an integer, a finite float, a bool or a char, not {what}"
    ))
}

/// Writes one value at `depth` (the number of arrays and objects around it).
struct Writer<'a> {
    out: &'a mut String,
    depth: usize,
}

impl Writer<'_> {
    /// The depth inside `levels` more containers, if serde_json reads it.
    fn inside(&self, levels: usize) -> Result<usize, Error> {
        let depth = self.depth + levels;
        if depth > MAX_DEPTH {
            Err(too_deep())
        } else {
            Ok(depth)
        }
    }
}

/// serde_json's number writer into a `String`: it writes ASCII digits, a
/// few bytes at a time, checked to be UTF-8 as they come.
struct Utf8Writer<'a>(&'a mut String);

impl std::io::Write for Utf8Writer<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let text = std::str::from_utf8(bytes)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        self.0.push_str(text);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn write_plain<T: Serialize + ?Sized>(out: &mut String, value: &T) -> Result<(), Error> {
    serde_json::to_writer(Utf8Writer(out), value)
}

/// [`escape`] of every byte, looked up per byte of a string.
static ESCAPES: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut byte = 0;
    while byte < 256 {
        // `byte` is below 256, the table's length, and fits a u8.
        #[allow(clippy::indexing_slicing)]
        {
            table[byte] = escape(byte as u8);
        }
        byte += 1;
    }
    table
};

/// Whether and how a JSON string escapes `byte`, as serde_json does: 0 not
/// at all, `u` as `\u00xx`, else the letter after the backslash.
const fn escape(byte: u8) -> u8 {
    match byte {
        0x08 => b'b',
        0x09 => b't',
        0x0a => b'n',
        0x0c => b'f',
        0x0d => b'r',
        0x00..=0x1f => b'u',
        b'"' => b'"',
        b'\\' => b'\\',
        _ => 0,
    }
}

/// [`escape`] of `byte`, from the table.
#[inline]
fn escaped(byte: u8) -> u8 {
    // Every u8 is an index of the 256-entry table: `get` never misses.
    ESCAPES.get(usize::from(byte)).copied().unwrap_or(0)
}

/// Writes `text` as a JSON string, escaped as serde_json escapes it (`"`,
/// `\`, and control characters; `\u00xx` in lower case), and says whether
/// anything needed escaping.
fn write_str(out: &mut String, text: &str) -> bool {
    let bytes = text.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push('"');
    let Some(first) = bytes.iter().position(|&b| escaped(b) != 0) else {
        out.push_str(text);
        out.push('"');
        return false;
    };
    let mut start = 0;
    for (i, &byte) in bytes.iter().enumerate().skip(first) {
        let how = escaped(byte);
        if how == 0 {
            continue;
        }
        // Escaped bytes are ASCII, so `start` and `i` are char boundaries.
        out.push_str(text.get(start..i).unwrap_or_default());
        if how == b'u' {
            out.push_str("\\u00");
            for nibble in [byte >> 4, byte & 0xf] {
                out.push(char::from_digit(u32::from(nibble), 16).unwrap_or('0'));
            }
        } else {
            out.push('\\');
            out.push(char::from(how));
        }
        start = i + 1;
    }
    out.push_str(text.get(start..).unwrap_or_default());
    out.push('"');
    true
}

/// Writes an integer in decimal, as serde_json (itoa) does.
fn write_int(out: &mut String, value: i128) {
    if value < 0 {
        out.push('-');
    }
    let magnitude = value.unsigned_abs();
    // u64 arithmetic where it fits: u128 division is a library call.
    match u64::try_from(magnitude) {
        Ok(v) => {
            let mut power = 1u64;
            while v / power >= 10 {
                power *= 10;
            }
            while power > 0 {
                // A digit is below 10, so the cast cannot truncate.
                out.push(char::from(b'0' + (v / power % 10) as u8));
                power /= 10;
            }
        }
        Err(_) => {
            let mut power = 1u128;
            while magnitude / power >= 10 {
                power *= 10;
            }
            while power > 0 {
                out.push(char::from(b'0' + (magnitude / power % 10) as u8));
                power /= 10;
            }
        }
    }
}

macro_rules! ints {
    ($($method:ident: $ty:ty),*) => {$(
        fn $method(self, value: $ty) -> Result<(), Error> {
            write_int(self.out, i128::from(value));
            Ok(())
        }
    )*};
}

impl<'a> ser::Serializer for Writer<'a> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Seq<'a>;
    type SerializeTuple = Seq<'a>;
    type SerializeTupleStruct = Seq<'a>;
    type SerializeTupleVariant = Seq<'a>;
    type SerializeMap = Map<'a>;
    type SerializeStruct = Struct<'a>;
    type SerializeStructVariant = Struct<'a>;

    ints!(
        serialize_i8: i8,
        serialize_i16: i16,
        serialize_i32: i32,
        serialize_i64: i64,
        serialize_i128: i128,
        serialize_u8: u8,
        serialize_u16: u16,
        serialize_u32: u32,
        serialize_u64: u64
    );

    fn serialize_u128(self, value: u128) -> Result<(), Error> {
        write_plain(self.out, &value)
    }

    fn serialize_bool(self, value: bool) -> Result<(), Error> {
        self.out.push_str(if value { "true" } else { "false" });
        Ok(())
    }

    fn serialize_str(self, value: &str) -> Result<(), Error> {
        write_str(self.out, value);
        Ok(())
    }

    fn serialize_f32(self, value: f32) -> Result<(), Error> {
        if !value.is_finite() {
            return Err(not_finite(f64::from(value)));
        }
        write_plain(self.out, &value)
    }

    fn serialize_f64(self, value: f64) -> Result<(), Error> {
        if !value.is_finite() {
            return Err(not_finite(value));
        }
        write_plain(self.out, &value)
    }

    fn serialize_char(self, value: char) -> Result<(), Error> {
        write_str(self.out, value.encode_utf8(&mut [0; 4]));
        Ok(())
    }

    fn serialize_bytes(self, value: &[u8]) -> Result<(), Error> {
        // serde_json writes bytes as an array of numbers.
        self.inside(1)?;
        self.out.push('[');
        for (i, byte) in value.iter().enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            write_int(self.out, i128::from(*byte));
        }
        self.out.push(']');
        Ok(())
    }

    fn serialize_none(self) -> Result<(), Error> {
        self.out.push_str("null");
        Ok(())
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), Error> {
        self.serialize_none()
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        self.serialize_none()
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        write_str(self.out, variant);
        Ok(())
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        let depth = self.inside(1)?;
        self.out.push('{');
        write_str(self.out, variant);
        self.out.push(':');
        value.serialize(Writer {
            out: self.out,
            depth,
        })?;
        self.out.push('}');
        Ok(())
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<Seq<'a>, Error> {
        let depth = self.inside(1)?;
        self.out.push('[');
        Ok(Seq {
            out: self.out,
            depth,
            first: true,
            close: "]",
        })
    }

    fn serialize_tuple(self, len: usize) -> Result<Seq<'a>, Error> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<Seq<'a>, Error> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Seq<'a>, Error> {
        let depth = self.inside(2)?;
        self.out.push('{');
        write_str(self.out, variant);
        self.out.push_str(":[");
        Ok(Seq {
            out: self.out,
            depth,
            first: true,
            close: "]}",
        })
    }

    fn serialize_map(self, len: Option<usize>) -> Result<Map<'a>, Error> {
        let depth = self.inside(1)?;
        Ok(Map {
            out: self.out,
            depth,
            // About a short key and value per entry; grown when more.
            text: String::with_capacity(len.unwrap_or(0).saturating_mul(24)),
            raw: String::new(),
            entries: Vec::with_capacity(len.unwrap_or(0)),
        })
    }

    fn serialize_struct(self, name: &'static str, _len: usize) -> Result<Struct<'a>, Error> {
        if RAW_TOKENS.contains(&name) {
            return Ok(Struct {
                out: self.out,
                depth: self.depth,
                first: true,
                close: "",
                raw: true,
            });
        }
        let depth = self.inside(1)?;
        self.out.push('{');
        Ok(Struct {
            out: self.out,
            depth,
            first: true,
            close: "}",
            raw: false,
        })
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Struct<'a>, Error> {
        let depth = self.inside(2)?;
        self.out.push('{');
        write_str(self.out, variant);
        self.out.push_str(":{");
        Ok(Struct {
            out: self.out,
            depth,
            first: true,
            close: "}}",
            raw: false,
        })
    }
}

/// An array (or the array of a tuple variant) being written.
struct Seq<'a> {
    out: &'a mut String,
    depth: usize,
    first: bool,
    close: &'static str,
}

impl Seq<'_> {
    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        value.serialize(Writer {
            out: self.out,
            depth: self.depth,
        })
    }

    fn close(self) -> Result<(), Error> {
        self.out.push_str(self.close);
        Ok(())
    }
}

impl ser::SerializeSeq for Seq<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }
    fn end(self) -> Result<(), Error> {
        self.close()
    }
}

impl ser::SerializeTuple for Seq<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }
    fn end(self) -> Result<(), Error> {
        self.close()
    }
}

impl ser::SerializeTupleStruct for Seq<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }
    fn end(self) -> Result<(), Error> {
        self.close()
    }
}

impl ser::SerializeTupleVariant for Seq<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }
    fn end(self) -> Result<(), Error> {
        self.close()
    }
}

/// A struct (or the object of a struct variant) being written: fields in
/// their declared order. In `raw` mode, serde_json's raw-text token struct:
/// its one field is a string written as it is.
struct Struct<'a> {
    out: &'a mut String,
    depth: usize,
    first: bool,
    close: &'static str,
    raw: bool,
}

impl Struct<'_> {
    fn field<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<(), Error> {
        if self.raw {
            let mut quoted = String::new();
            value.serialize(Writer {
                out: &mut quoted,
                depth: self.depth,
            })?;
            let text: String = serde_json::from_str(&quoted)?;
            self.out.push_str(&text);
            return Ok(());
        }
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        write_str(self.out, key);
        self.out.push(':');
        value.serialize(Writer {
            out: self.out,
            depth: self.depth,
        })
    }

    fn close(self) -> Result<(), Error> {
        self.out.push_str(self.close);
        Ok(())
    }
}

impl ser::SerializeStruct for Struct<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.field(key, value)
    }
    fn end(self) -> Result<(), Error> {
        self.close()
    }
}

impl ser::SerializeStructVariant for Struct<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.field(key, value)
    }
    fn end(self) -> Result<(), Error> {
        self.close()
    }
}

/// Where a key sorts: integers by value, everything else by its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum KeyOrder {
    /// An integer key that fits `i128`.
    Int(i128),
    /// A `u128` key above `i128::MAX`.
    Big(u128),
    /// A string (or char, bool, float) key: by its UTF-8 bytes.
    Text,
}

/// One map entry: ranges into the map's buffers.
struct Entry {
    order: KeyOrder,
    /// The key's text, unescaped, for `KeyOrder::Text`: in `Map::raw` when
    /// the key needed escaping, else inside its quotes in `Map::text`.
    raw: Range<usize>,
    escaped: bool,
    /// The key as JSON (in `Map::text`).
    key: Range<usize>,
    /// The value as JSON (in `Map::text`).
    value: Range<usize>,
}

/// A map being written: its entries are collected, then written sorted.
struct Map<'a> {
    out: &'a mut String,
    depth: usize,
    text: String,
    raw: String,
    entries: Vec<Entry>,
}

impl ser::SerializeMap for Map<'_> {
    type Ok = ();
    type Error = Error;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        let key_start = self.text.len();
        let raw_start = self.raw.len();
        let (order, escaped) = key.serialize(KeyWriter {
            text: &mut self.text,
            raw: &mut self.raw,
        })?;
        let key = key_start..self.text.len();
        let raw = if escaped {
            raw_start..self.raw.len()
        } else if order == KeyOrder::Text {
            key.start + 1..key.end - 1
        } else {
            0..0
        };
        self.entries.push(Entry {
            order,
            raw,
            escaped,
            key,
            value: 0..0,
        });
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let start = self.text.len();
        value.serialize(Writer {
            out: &mut self.text,
            depth: self.depth,
        })?;
        let end = self.text.len();
        match self.entries.last_mut() {
            Some(entry) => {
                entry.value = start..end;
                Ok(())
            }
            None => Err(custom("a map value was given before its key".into())),
        }
    }

    fn end(self) -> Result<(), Error> {
        let Map {
            out,
            text,
            raw,
            entries,
            ..
        } = self;
        if entries.is_empty() {
            out.push_str("{}");
            return Ok(());
        }
        let slice = |range: &Range<usize>| text.get(range.clone()).unwrap_or_default();
        // Each entry as (where its key sorts, key text, key JSON, value JSON):
        // the tuple's order is the written order.
        let mut sorted: Vec<(KeyOrder, &[u8], &str, &str)> = entries
            .iter()
            .map(|e| {
                let key_text = if e.escaped { &raw } else { &text };
                let key_text = key_text.as_bytes().get(e.raw.clone()).unwrap_or_default();
                (e.order, key_text, slice(&e.key), slice(&e.value))
            })
            .collect();
        if sorted.windows(2).any(|w| matches!(w, [a, b] if a > b)) {
            sorted.sort_unstable();
        }
        out.reserve(text.len() + sorted.len() + 2);
        out.push('{');
        for (i, (_, _, key, value)) in sorted.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(key);
            out.push(':');
            out.push_str(value);
        }
        out.push('}');
        Ok(())
    }
}

/// Writes a map key as a JSON string, as serde_json's own key writer does,
/// and says where it sorts.
struct KeyWriter<'k> {
    text: &'k mut String,
    raw: &'k mut String,
}

/// Where a key sorts, and whether its text needed escaping (its unescaped
/// text is then in `raw`).
type KeyDone = (KeyOrder, bool);

impl KeyWriter<'_> {
    fn text(self, key: &str) -> Result<KeyDone, Error> {
        let escaped = write_str(self.text, key);
        if escaped {
            self.raw.push_str(key);
        }
        Ok((KeyOrder::Text, escaped))
    }

    /// A number or bool key: its JSON text, quoted (it needs no escaping).
    fn quoted<T: Serialize>(self, value: &T, order: KeyOrder) -> Result<KeyDone, Error> {
        self.text.push('"');
        write_plain(self.text, value)?;
        self.text.push('"');
        Ok((order, false))
    }
}

macro_rules! int_keys {
    ($($method:ident: $ty:ty),*) => {$(
        fn $method(self, value: $ty) -> Result<KeyDone, Error> {
            let value = i128::from(value);
            self.text.push('"');
            write_int(self.text, value);
            self.text.push('"');
            Ok((KeyOrder::Int(value), false))
        }
    )*};
}

impl ser::Serializer for KeyWriter<'_> {
    type Ok = KeyDone;
    type Error = Error;
    type SerializeSeq = Impossible<KeyDone, Error>;
    type SerializeTuple = Impossible<KeyDone, Error>;
    type SerializeTupleStruct = Impossible<KeyDone, Error>;
    type SerializeTupleVariant = Impossible<KeyDone, Error>;
    type SerializeMap = Impossible<KeyDone, Error>;
    type SerializeStruct = Impossible<KeyDone, Error>;
    type SerializeStructVariant = Impossible<KeyDone, Error>;

    int_keys!(
        serialize_i8: i8,
        serialize_i16: i16,
        serialize_i32: i32,
        serialize_i64: i64,
        serialize_i128: i128,
        serialize_u8: u8,
        serialize_u16: u16,
        serialize_u32: u32,
        serialize_u64: u64
    );

    fn serialize_u128(self, value: u128) -> Result<KeyDone, Error> {
        let order = match i128::try_from(value) {
            Ok(v) => KeyOrder::Int(v),
            Err(_) => KeyOrder::Big(value),
        };
        self.quoted(&value, order)
    }

    fn serialize_bool(self, value: bool) -> Result<KeyDone, Error> {
        self.quoted(&value, KeyOrder::Text)
    }

    fn serialize_f32(self, value: f32) -> Result<KeyDone, Error> {
        if !value.is_finite() {
            return Err(not_finite(f64::from(value)));
        }
        self.quoted(&value, KeyOrder::Text)
    }

    fn serialize_f64(self, value: f64) -> Result<KeyDone, Error> {
        if !value.is_finite() {
            return Err(not_finite(value));
        }
        self.quoted(&value, KeyOrder::Text)
    }

    fn serialize_char(self, value: char) -> Result<KeyDone, Error> {
        self.text(value.encode_utf8(&mut [0; 4]))
    }

    fn serialize_str(self, value: &str) -> Result<KeyDone, Error> {
        self.text(value)
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<KeyDone, Error> {
        self.text(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<KeyDone, Error> {
        value.serialize(self)
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<KeyDone, Error> {
        value.serialize(self)
    }

    fn serialize_bytes(self, _value: &[u8]) -> Result<KeyDone, Error> {
        Err(key_error("bytes"))
    }

    fn serialize_none(self) -> Result<KeyDone, Error> {
        Err(key_error("None"))
    }

    fn serialize_unit(self) -> Result<KeyDone, Error> {
        Err(key_error("()"))
    }

    fn serialize_unit_struct(self, name: &'static str) -> Result<KeyDone, Error> {
        Err(key_error(name))
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _value: &T,
    ) -> Result<KeyDone, Error> {
        Err(key_error(variant))
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(key_error("a sequence"))
    }

    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, Error> {
        Err(key_error("a tuple"))
    }

    fn serialize_tuple_struct(
        self,
        name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(key_error(name))
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(key_error(variant))
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(key_error("a map"))
    }

    fn serialize_struct(
        self,
        name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, Error> {
        Err(key_error(name))
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(key_error(variant))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap};

    use super::*;

    fn text<T: Serialize + ?Sized>(value: &T) -> String {
        to_text(value).unwrap_or_else(|e| format!("error: {e}"))
    }

    #[test]
    fn deterministic_values_are_serde_json_text() {
        let mut tree = BTreeMap::new();
        tree.insert("b\"q".to_string(), vec![1.5, -0.0, 1e300]);
        tree.insert("a b".to_string(), vec![]);
        tree.insert("a".to_string(), vec![2.0]);
        let ints: BTreeMap<i64, char> = [(10, 'x'), (-2, 'y'), (2, '"')].into();
        let value = serde_json::json!({"z": [null, true, "é\u{1}"], "a": {"y": 1, "b": -7}});
        assert_eq!(
            text(&tree),
            serde_json::to_string(&tree).unwrap_or_default()
        );
        assert_eq!(
            text(&ints),
            serde_json::to_string(&ints).unwrap_or_default()
        );
        assert_eq!(
            text(&value),
            serde_json::to_string(&value).unwrap_or_default()
        );
        assert_eq!(
            text(&(1u8, b"ab".as_slice(), 'c', ())),
            "[1,[97,98],\"c\",null]"
        );
        let every_ascii: String = (0u8..128)
            .map(char::from)
            .chain("é\u{2028}😀".chars())
            .collect();
        assert_eq!(
            text(&every_ascii),
            serde_json::to_string(&every_ascii).unwrap_or_default()
        );
        let keyed = BTreeMap::from([(every_ascii.clone(), 1), ("\"".into(), 2), ("\\".into(), 3)]);
        assert_eq!(
            text(&keyed),
            serde_json::to_string(&keyed).unwrap_or_default()
        );
        assert_eq!(text(&i128::MIN), i128::MIN.to_string());
        assert_eq!(text(&u128::MAX), u128::MAX.to_string());
    }

    #[test]
    fn maps_are_sorted_by_key_whatever_their_order() {
        let map: HashMap<String, u8> = (0..50).map(|i| (format!("k{i}"), i)).collect();
        let sorted: BTreeMap<String, u8> = map.clone().into_iter().collect();
        assert_eq!(
            text(&map),
            serde_json::to_string(&sorted).unwrap_or_default()
        );
        let ints: HashMap<u128, ()> = [(u128::MAX, ()), (3, ()), (20, ())].into();
        assert_eq!(
            text(&ints),
            format!("{{\"3\":null,\"20\":null,\"{}\":null}}", u128::MAX)
        );
    }

    #[test]
    fn non_finite_floats_and_deep_nesting_are_refused() {
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert!(to_text(&[bad]).is_err());
            assert!(to_text(&Some(bad as f32)).is_err());
            assert!(to_text(&BTreeMap::from([(bad.to_string(), bad)])).is_err());
        }
        let mut deep = serde_json::Value::Null;
        for _ in 0..MAX_DEPTH {
            deep = serde_json::Value::Array(vec![deep]);
        }
        let ok = to_text(&deep).unwrap_or_default();
        assert!(serde_json::from_str::<serde_json::Value>(&ok).is_ok());
        let deeper = serde_json::Value::Array(vec![deep]);
        assert!(to_text(&deeper).is_err());
        assert!(serde_json::from_str::<serde_json::Value>(&deeper.to_string()).is_err());
    }

    #[test]
    fn keys_that_json_cannot_hold_are_refused() {
        let map: BTreeMap<Vec<u8>, u8> = [(vec![1], 1)].into();
        assert!(to_text(&map).is_err());
        let none: BTreeMap<Option<String>, u8> = [(None, 1)].into();
        assert!(to_text(&none).is_err());
        let some: BTreeMap<Option<String>, u8> = [(Some("k".into()), 1)].into();
        assert_eq!(text(&some), r#"{"k":1}"#);
        let back: BTreeMap<Option<String>, u8> =
            serde_json::from_str(&text(&some)).unwrap_or_default();
        assert_eq!(back, some);
    }
}
