//! Columns stored as JSON text.
//!
//! What is written is what reads back: the text is made by [`writer`], which
//! refuses what serde_json would write but not read back equal (a NaN or an
//! infinity, which it writes as `null`; nesting deeper than its reader's
//! recursion limit) and writes every map's entries in one order (sorted by
//! key), so equal maps are equal text whatever order they iterate in.

mod writer;

use rusqlite::types::{ToSqlOutput, Value, ValueRef};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::column_type::{ColumnType, ValueError};
use crate::dialect::SqlType;

/// A value stored as JSON text. `#[doctable(json)]` on a field means the field
/// is stored through this type; it can also be used as a field type directly.
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
    fn to_json_sql(&self) -> Result<ToSqlOutput<'static>, ValueError>;
    /// Reads stored JSON text back.
    fn from_json_sql(value: ValueRef<'_>) -> Result<Self, ValueError>;

    /// An `Option` of `Self` as a nullable JSON column: `None` is SQL NULL.
    #[doc(hidden)]
    fn option_to_json_sql(value: &Option<Self>) -> Result<ToSqlOutput<'static>, ValueError> {
        match value {
            Some(v) => v.to_json_sql(),
            None => Ok(ToSqlOutput::Owned(Value::Null)),
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
    fn to_json_sql(&self) -> Result<ToSqlOutput<'static>, ValueError> {
        writer::to_text(self)
            .map(|text| ToSqlOutput::Owned(Value::Text(text)))
            .map_err(ValueError::Json)
    }

    fn from_json_sql(value: ValueRef<'_>) -> Result<Self, ValueError> {
        match value {
            ValueRef::Text(bytes) => serde_json::from_slice(bytes).map_err(ValueError::Json),
            other => Err(ValueError::WrongType {
                expected: "JSON TEXT",
                found: crate::column_type::storage_class(other),
            }),
        }
    }
}

impl<T: JsonValue> ColumnType for Json<T> {
    const SQL_TYPE: SqlType = SqlType::Text;
    fn to_sql(&self) -> Result<ToSqlOutput<'_>, ValueError> {
        self.0.to_json_sql()
    }
    fn from_sql(value: ValueRef<'_>) -> Result<Self, ValueError> {
        T::from_json_sql(value).map(Json)
    }
}
