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

use std::cmp::Ordering;
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
    let mut out = Vec::with_capacity(64);
    value.serialize(Writer {
        out: &mut out,
        depth: 0,
    })?;
    // Every byte written is serde_json's output for a `&str`, a number or
    // punctuation, so this is UTF-8; checked rather than assumed.
    String::from_utf8(out).map_err(|_| ser::Error::custom("the JSON text is not UTF-8"))
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
    out: &'a mut Vec<u8>,
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

fn write_plain<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> Result<(), Error> {
    serde_json::to_writer(out, value)
}

macro_rules! plain {
    ($($method:ident: $ty:ty),*) => {$(
        fn $method(self, value: $ty) -> Result<(), Error> {
            write_plain(self.out, &value)
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

    plain!(
        serialize_bool: bool,
        serialize_i8: i8,
        serialize_i16: i16,
        serialize_i32: i32,
        serialize_i64: i64,
        serialize_i128: i128,
        serialize_u8: u8,
        serialize_u16: u16,
        serialize_u32: u32,
        serialize_u64: u64,
        serialize_u128: u128,
        serialize_str: &str
    );

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
        write_plain(self.out, value.encode_utf8(&mut [0; 4]))
    }

    fn serialize_bytes(self, value: &[u8]) -> Result<(), Error> {
        // serde_json writes bytes as an array of numbers.
        self.inside(1)?;
        self.out.push(b'[');
        for (i, byte) in value.iter().enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            write_plain(self.out, byte)?;
        }
        self.out.push(b']');
        Ok(())
    }

    fn serialize_none(self) -> Result<(), Error> {
        self.out.extend_from_slice(b"null");
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
        write_plain(self.out, variant)
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
        self.out.push(b'{');
        write_plain(self.out, variant)?;
        self.out.push(b':');
        value.serialize(Writer {
            out: self.out,
            depth,
        })?;
        self.out.push(b'}');
        Ok(())
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<Seq<'a>, Error> {
        let depth = self.inside(1)?;
        self.out.push(b'[');
        Ok(Seq {
            out: self.out,
            depth,
            first: true,
            close: b"]",
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
        self.out.push(b'{');
        write_plain(self.out, variant)?;
        self.out.extend_from_slice(b":[");
        Ok(Seq {
            out: self.out,
            depth,
            first: true,
            close: b"]}",
        })
    }

    fn serialize_map(self, len: Option<usize>) -> Result<Map<'a>, Error> {
        let depth = self.inside(1)?;
        Ok(Map {
            out: self.out,
            depth,
            text: Vec::new(),
            raw: Vec::new(),
            entries: Vec::with_capacity(len.unwrap_or(0)),
        })
    }

    fn serialize_struct(self, name: &'static str, _len: usize) -> Result<Struct<'a>, Error> {
        if RAW_TOKENS.contains(&name) {
            return Ok(Struct {
                out: self.out,
                depth: self.depth,
                first: true,
                close: b"",
                raw: true,
            });
        }
        let depth = self.inside(1)?;
        self.out.push(b'{');
        Ok(Struct {
            out: self.out,
            depth,
            first: true,
            close: b"}",
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
        self.out.push(b'{');
        write_plain(self.out, variant)?;
        self.out.extend_from_slice(b":{");
        Ok(Struct {
            out: self.out,
            depth,
            first: true,
            close: b"}}",
            raw: false,
        })
    }
}

/// An array (or the array of a tuple variant) being written.
struct Seq<'a> {
    out: &'a mut Vec<u8>,
    depth: usize,
    first: bool,
    close: &'static [u8],
}

impl Seq<'_> {
    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        value.serialize(Writer {
            out: self.out,
            depth: self.depth,
        })
    }

    fn close(self) -> Result<(), Error> {
        self.out.extend_from_slice(self.close);
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
    out: &'a mut Vec<u8>,
    depth: usize,
    first: bool,
    close: &'static [u8],
    raw: bool,
}

impl Struct<'_> {
    fn field<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<(), Error> {
        if self.raw {
            let mut quoted = Vec::new();
            value.serialize(Writer {
                out: &mut quoted,
                depth: self.depth,
            })?;
            let text: String = serde_json::from_slice(&quoted)?;
            self.out.extend_from_slice(text.as_bytes());
            return Ok(());
        }
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        write_plain(self.out, key)?;
        self.out.push(b':');
        value.serialize(Writer {
            out: self.out,
            depth: self.depth,
        })
    }

    fn close(self) -> Result<(), Error> {
        self.out.extend_from_slice(self.close);
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
    /// The key's text, unescaped (in `Map::raw`), for `KeyOrder::Text`.
    raw: Range<usize>,
    /// The key as JSON (in `Map::text`).
    key: Range<usize>,
    /// The value as JSON (in `Map::text`).
    value: Range<usize>,
}

/// A map being written: its entries are collected, then written sorted.
struct Map<'a> {
    out: &'a mut Vec<u8>,
    depth: usize,
    text: Vec<u8>,
    raw: Vec<u8>,
    entries: Vec<Entry>,
}

impl Map<'_> {
    fn compare(&self, a: &Entry, b: &Entry) -> Ordering {
        a.order
            .cmp(&b.order)
            .then_with(|| self.raw[a.raw.clone()].cmp(&self.raw[b.raw.clone()]))
            .then_with(|| self.text[a.key.clone()].cmp(&self.text[b.key.clone()]))
            .then_with(|| self.text[a.value.clone()].cmp(&self.text[b.value.clone()]))
    }
}

impl ser::SerializeMap for Map<'_> {
    type Ok = ();
    type Error = Error;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        let key_start = self.text.len();
        let raw_start = self.raw.len();
        let order = key.serialize(KeyWriter {
            text: &mut self.text,
            raw: &mut self.raw,
        })?;
        self.entries.push(Entry {
            order,
            raw: raw_start..self.raw.len(),
            key: key_start..self.text.len(),
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

    fn end(mut self) -> Result<(), Error> {
        let mut entries = std::mem::take(&mut self.entries);
        if entries
            .windows(2)
            .any(|w| self.compare(&w[0], &w[1]) == Ordering::Greater)
        {
            entries.sort_unstable_by(|a, b| self.compare(a, b));
        }
        self.out.push(b'{');
        for (i, entry) in entries.iter().enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            self.out.extend_from_slice(&self.text[entry.key.clone()]);
            self.out.push(b':');
            self.out.extend_from_slice(&self.text[entry.value.clone()]);
        }
        self.out.push(b'}');
        Ok(())
    }
}

/// Writes a map key as a JSON string, as serde_json's own key writer does,
/// and says where it sorts.
struct KeyWriter<'k> {
    text: &'k mut Vec<u8>,
    raw: &'k mut Vec<u8>,
}

impl KeyWriter<'_> {
    fn text(self, key: &str) -> Result<KeyOrder, Error> {
        write_plain(self.text, key)?;
        self.raw.extend_from_slice(key.as_bytes());
        Ok(KeyOrder::Text)
    }

    /// A number or bool key: its JSON text, quoted.
    fn quoted<T: Serialize>(self, value: &T, order: KeyOrder) -> Result<KeyOrder, Error> {
        self.text.push(b'"');
        let start = self.text.len();
        write_plain(self.text, value)?;
        if order == KeyOrder::Text {
            self.raw.extend_from_slice(&self.text[start..]);
        }
        self.text.push(b'"');
        Ok(order)
    }
}

macro_rules! int_keys {
    ($($method:ident: $ty:ty),*) => {$(
        fn $method(self, value: $ty) -> Result<KeyOrder, Error> {
            self.quoted(&value, KeyOrder::Int(i128::from(value)))
        }
    )*};
}

impl ser::Serializer for KeyWriter<'_> {
    type Ok = KeyOrder;
    type Error = Error;
    type SerializeSeq = Impossible<KeyOrder, Error>;
    type SerializeTuple = Impossible<KeyOrder, Error>;
    type SerializeTupleStruct = Impossible<KeyOrder, Error>;
    type SerializeTupleVariant = Impossible<KeyOrder, Error>;
    type SerializeMap = Impossible<KeyOrder, Error>;
    type SerializeStruct = Impossible<KeyOrder, Error>;
    type SerializeStructVariant = Impossible<KeyOrder, Error>;

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

    fn serialize_u128(self, value: u128) -> Result<KeyOrder, Error> {
        let order = match i128::try_from(value) {
            Ok(v) => KeyOrder::Int(v),
            Err(_) => KeyOrder::Big(value),
        };
        self.quoted(&value, order)
    }

    fn serialize_bool(self, value: bool) -> Result<KeyOrder, Error> {
        self.quoted(&value, KeyOrder::Text)
    }

    fn serialize_f32(self, value: f32) -> Result<KeyOrder, Error> {
        if !value.is_finite() {
            return Err(not_finite(f64::from(value)));
        }
        self.quoted(&value, KeyOrder::Text)
    }

    fn serialize_f64(self, value: f64) -> Result<KeyOrder, Error> {
        if !value.is_finite() {
            return Err(not_finite(value));
        }
        self.quoted(&value, KeyOrder::Text)
    }

    fn serialize_char(self, value: char) -> Result<KeyOrder, Error> {
        self.text(value.encode_utf8(&mut [0; 4]))
    }

    fn serialize_str(self, value: &str) -> Result<KeyOrder, Error> {
        self.text(value)
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<KeyOrder, Error> {
        self.text(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<KeyOrder, Error> {
        value.serialize(self)
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<KeyOrder, Error> {
        value.serialize(self)
    }

    fn serialize_bytes(self, _value: &[u8]) -> Result<KeyOrder, Error> {
        Err(key_error("bytes"))
    }

    fn serialize_none(self) -> Result<KeyOrder, Error> {
        Err(key_error("None"))
    }

    fn serialize_unit(self) -> Result<KeyOrder, Error> {
        Err(key_error("()"))
    }

    fn serialize_unit_struct(self, name: &'static str) -> Result<KeyOrder, Error> {
        Err(key_error(name))
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _value: &T,
    ) -> Result<KeyOrder, Error> {
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
