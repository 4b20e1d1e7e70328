//! Columns stored as JSON text.
//!
//! What is written is what reads back: the text is made by `writer`, which
//! refuses what serde_json would write but not read back equal (a NaN or an
//! infinity, which it writes as `null`; nesting deeper than its reader's
//! recursion limit) and writes every map's entries in one order (sorted by
//! key), so equal maps are equal text whatever order they iterate in.

mod writer;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::column_type::{ColumnType, ValueError};
use crate::value::{SqlType, ToValue, Value, ValueRef};

/// A value stored as JSON text. `#[doctable(json)]` on a field means the field
/// is stored through this type; it can also be used as a field type directly.
///
/// What is written reads back equal, or is refused on write with
/// [`Error::Json`](crate::Error::Json) naming the table and column: a NaN or
/// an infinity anywhere in the value (JSON has none; serde_json would write
/// `null`), and nesting deeper than 127 arrays and objects (serde_json's
/// reader refuses the 128th level). A map's entries are written sorted by
/// key (integer keys as numbers, other keys by their UTF-8 bytes), so equal
/// maps are equal text whatever order they iterate in: `eq` finds them and a
/// `UNIQUE` column refuses a second one. Structs keep their field order.
/// (Rows written before doctable sorted map keys keep their old text until
/// they are written again.)
///
/// ```
/// use std::collections::HashMap;
/// use doctable::{DocTable, Error, Json, Persistent};
///
/// #[derive(DocTable)]
/// struct Stats {
///     #[doctable(primary_key)] id: Option<i64>,
///     counts: Json<HashMap<String, i64>>,
///     #[doctable(json)] weights: Vec<f64>,
/// }
///
/// let db = Persistent::open_in_memory()?;
/// Stats::create_table(&db)?;
/// let counts: HashMap<String, i64> = (0..10).map(|i| (format!("k{i}"), i)).collect();
/// Stats::insert(&db, &Stats { id: None, counts: Json(counts.clone()), weights: vec![0.5] })?;
/// // Another HashMap with the same entries iterates in another order: same text.
/// let again: HashMap<String, i64> = counts.into_iter().collect();
/// assert_eq!(Stats::count().filter(Stats::counts.eq(Json(again))).get(&db)?, 1);
///
/// let nan = Stats { id: None, counts: Json(HashMap::new()), weights: vec![f64::NAN] };
/// assert!(matches!(Stats::insert(&db, &nan), Err(Error::Json { .. })));
/// # Ok::<(), doctable::Error>(())
/// ```
///
/// ```
/// use doctable::{DocTable, Json, Persistent};
///
/// #[derive(DocTable)]
/// struct Doc {
///     #[doctable(primary_key)] id: Option<i64>,
///     #[doctable(json)] tags: Vec<String>,
///     meta: Json<std::collections::BTreeMap<String, i64>>,
/// }
///
/// let db = Persistent::open_in_memory()?;
/// Doc::create_table(&db)?;
/// let meta = Json([("words".to_string(), 12)].into_iter().collect());
/// let id = Doc::insert(&db, &Doc { id: None, tags: vec!["a".into()], meta })?;
/// let doc = Doc::get(&db, id)?.expect("just inserted");
/// assert_eq!(doc.tags, ["a"]);
/// assert_eq!(doc.meta.0["words"], 12);
/// # Ok::<(), doctable::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Json<T>(pub T);

/// A type that a `#[doctable(json)]` field can hold.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be stored as JSON: it needs serde's `Serialize` and `Deserialize`",
    label = "`#[doctable(json)]` needs serde on this type",
    note = "add `#[derive(serde::Serialize, serde::Deserialize)]` to the type"
)]
pub trait JsonValue: Sized {
    /// `self` as JSON text, to bind.
    fn to_json_sql(&self) -> Result<ToValue<'static>, ValueError>;
    /// Reads stored JSON text back.
    fn from_json_sql(value: ValueRef<'_>) -> Result<Self, ValueError>;

    /// An `Option` of `Self` as a nullable JSON column: `None` is SQL NULL.
    #[doc(hidden)]
    fn option_to_json_sql(value: &Option<Self>) -> Result<ToValue<'static>, ValueError> {
        match value {
            Some(v) => v.to_json_sql(),
            None => Ok(ToValue::Owned(Value::Null)),
        }
    }

    /// Reads a nullable JSON column: SQL NULL is `None`.
    #[doc(hidden)]
    fn option_from_json_sql(value: ValueRef<'_>) -> Result<Option<Self>, ValueError> {
        match value {
            ValueRef::Null => Ok(None),
            other => Self::from_json_sql(other).map(Some),
        }
    }
}

#[diagnostic::do_not_recommend]
impl<T: Serialize + DeserializeOwned> JsonValue for T {
    fn to_json_sql(&self) -> Result<ToValue<'static>, ValueError> {
        writer::to_text(self)
            .map(|text| ToValue::Owned(Value::Text(text)))
            .map_err(ValueError::Json)
    }

    fn from_json_sql(value: ValueRef<'_>) -> Result<Self, ValueError> {
        match value {
            ValueRef::Text(bytes) => serde_json::from_slice(bytes).map_err(ValueError::Json),
            other => Err(ValueError::WrongType {
                expected: "JSON TEXT",
                found: other.kind(),
            }),
        }
    }
}

impl<T: JsonValue> ColumnType for Json<T> {
    const SQL_TYPE: SqlType = SqlType::Json;
    fn to_sql(&self) -> Result<ToValue<'_>, ValueError> {
        self.0.to_json_sql()
    }
    fn from_sql(value: ValueRef<'_>) -> Result<Self, ValueError> {
        T::from_json_sql(value).map(Json)
    }
}

/// How a column reads back in `select_cols`: the `M` of
/// [`Column<T, V, M>`](crate::Column), for a column stored as `V`.
///
/// [`AsStored`] reads `V` itself; [`AsJson`], which the derive gives a
/// `#[doctable(json)]` field, reads the field's own type (`Vec<String>`, not
/// `Json<Vec<String>>`; `Option<..>` of it for a nullable one).
///
/// ```
/// use doctable::{DocTable, Persistent};
///
/// #[derive(DocTable)]
/// struct Doc {
///     #[doctable(primary_key)]
///     id: Option<i64>,
///     #[doctable(json)]
///     tags: Vec<String>,
/// }
///
/// let db = Persistent::open_in_memory()?;
/// Doc::create_table(&db)?;
/// Doc::insert(&db, &Doc { id: None, tags: vec!["a".into(), "b".into()] })?;
/// let tags: Vec<Vec<String>> = Doc::select_cols(Doc::tags).all(&db)?;
/// assert_eq!(tags, vec![vec!["a".to_string(), "b".to_string()]]);
/// # Ok::<(), doctable::Error>(())
/// ```
#[diagnostic::on_unimplemented(
    message = "a column stored as `{V}` cannot be read back as `{Self}`",
    note = "columns read back as their stored type (`AsStored`), or a `#[doctable(json)]` field as its own type (`AsJson`)"
)]
pub trait ReadAs<V> {
    /// What one value of the column reads as.
    type Read;
    /// Reads one stored value.
    #[doc(hidden)]
    fn read_value(value: ValueRef<'_>) -> Result<Self::Read, ValueError>;
}

/// Reads a column back as its stored type: the marker of every column but a
/// `#[doctable(json)]` field's (see [`ReadAs`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct AsStored;

/// Reads a `#[doctable(json)]` column back as the field's own type, without
/// the [`Json`] wrapper (see [`ReadAs`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct AsJson;

impl<V: ColumnType> ReadAs<V> for AsStored {
    type Read = V;
    #[inline]
    fn read_value(value: ValueRef<'_>) -> Result<V, ValueError> {
        V::from_sql(value)
    }
}

impl<V: JsonValue> ReadAs<Json<V>> for AsJson {
    type Read = V;
    fn read_value(value: ValueRef<'_>) -> Result<V, ValueError> {
        V::from_json_sql(value)
    }
}

impl<V: JsonValue> ReadAs<Option<Json<V>>> for AsJson {
    type Read = Option<V>;
    fn read_value(value: ValueRef<'_>) -> Result<Option<V>, ValueError> {
        V::option_from_json_sql(value)
    }
}

/// A JSON column's `min` / `max` (and a left join's right side) read as `Option`.
impl<T: JsonValue> crate::column_type::OrNull for Json<T> {
    type Nullable = Option<Json<T>>;
}

impl<T: JsonValue> crate::column_type::OrNull for Option<Json<T>> {
    type Nullable = Option<Json<T>>;
}
