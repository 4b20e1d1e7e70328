//! doctable: a derive-macro ORM for SQLite.
//!
//! Write a plain struct, add `#[derive(DocTable)]`, and get its table's schema
//! and typed `insert`, `select`, `update` and `delete`, with every table access
//! checked by the compiler. One [`Conn`] trait serves three connection
//! strategies: [`Persistent`] (one connection kept open), [`PerQuery`] (a fresh
//! connection per call) and external (your own [`rusqlite::Connection`] or
//! [`rusqlite::Transaction`]).
//!
//! ```
//! use doctable::{DocTable, Persistent};
//!
//! #[derive(DocTable, Debug, Clone, PartialEq)]
//! #[doctable(table = "docs", index(by_year_score = [year, score]))]
//! pub struct Doc {
//!     #[doctable(primary_key)]
//!     pub id: Option<i64>,
//!     #[doctable(unique)]
//!     pub title: String,
//!     pub score: f64,
//!     #[doctable(index)]
//!     pub year: i64,
//!     pub note: Option<String>,
//!     #[doctable(json)]
//!     pub tags: Vec<String>,
//! }
//!
//! let dir = tempfile::tempdir()?;
//! let db = Persistent::open(dir.path().join("docs.db"))?;
//! Doc::create_table(&db)?;
//!
//! let doc = Doc { id: None, title: "Tables".into(), score: 0.25, year: 2001, note: None, tags: vec!["db".into()] };
//! let id = Doc::insert(&db, &doc)?;
//! let hits: Vec<Doc> = Doc::select()
//!     .filter(Doc::year.gt(2000).and(Doc::score.lt(0.5)))
//!     .order_by(Doc::score.desc())
//!     .limit(100)
//!     .all(&db)?;
//! assert_eq!(hits, [Doc { id: Some(id), ..doc }]);
//! assert_eq!(Doc::count().filter(Doc::note.is_null()).get(&db)?, 1);
//! Doc::update().set(Doc::score, Doc::score + 1.0).filter(Doc::year.eq(2001)).run(&db)?;
//! Doc::delete().all_rows().run(&db)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]
// No panics in library code: an unwrap, expect, panic or unchecked index is an
// error here. Each case proven unable to fail is allowed where it stands, with
// the proof in a comment. Unit tests may panic: that is the test failing.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::unreachable,
    clippy::todo,
    clippy::unimplemented
)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

extern crate self as doctable;

mod backend;
mod catalog;
mod column_type;
mod conn;
mod dialect;
mod error;
mod exec;
mod expr;
mod files;
mod fragment;
mod json;
mod key;
mod literal;
mod meta;
mod nested;
#[cfg(feature = "postgres")]
pub mod postgres;
mod query;
mod raw;
mod record;
mod rows;
mod schema;
#[cfg(feature = "sqlite")]
mod sqlite;
mod stamp;
mod statements;
mod table;
mod temporal;
#[cfg(feature = "tokio")]
pub mod tokio;
mod value;

mod private;

/// Items used by the derive's generated code; not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::private::*;
}

pub use backend::{Backend, Dialect};
pub use column_type::{ColumnType, Numeric, OrNull, Textual, ValueError};
pub use conn::{Conn, Tx};
pub use doctable_derive::DocTable;
pub use error::{ConstraintKind, Error, Result};
pub use expr::{Column, Expr, IntoOperand, IntoOrder, Order};
pub use files::{AsFile, CleanReport, FileHash, FileValue, MissingFile};
pub use json::{AsJson, AsStored, Json, JsonValue, ReadAs};
pub use key::IntoKey;
#[cfg(feature = "arrow")]
pub use query::DEFAULT_BATCH_ROWS;
#[doc(hidden)]
pub use query::ExportColumn;
pub use query::{
    AllColumns, ColumnList, Count, Delete, Filtered, InQuery, Inner, Join, JoinKind, Joinable,
    Left, Outer, Right, RowCount, RowsChosen, ScanStep, Select, Selection, Unfiltered, Update,
    Upsert,
};
#[doc(hidden)]
pub use query::{Append, JoinRead, No, Optional, Step, Tables, Yes};
pub use query::{
    Comparable, Correlated, Here, JoinSelection, Picked, SqlRow, Subquery, Whole, exists,
    not_exists, select_sql,
};
pub use raw::{RawParams, SqlText};
pub use schema::{
    ColumnInfo, ForeignKeyInfo, IndexInfo, RebuildReport, SchemaChange, SchemaDiff, TableSchema,
    list_tables, reflect_table,
};
#[cfg(feature = "sqlite")]
pub use sqlite::options::{Options, Synchronous};
#[cfg(feature = "sqlite")]
pub use sqlite::per_query::PerQuery;
#[cfg(feature = "sqlite")]
pub use sqlite::persistent::{BackupProgress, Persistent};
#[cfg(feature = "sqlite")]
pub use sqlite::pool::Pool;
pub use stamp::{Stamp, Timestamp};
pub use table::{ColumnMeta, DocTable, ForeignKeyMeta, HasPrimaryKey, IndexMeta, TableMeta};
pub use value::{IntoValue, SqlType, ToValue, Value, ValueRef};

#[cfg(feature = "sqlite")]
pub use sqlite::{Sqlite, SqliteDialect};

#[cfg(feature = "postgres")]
pub use postgres::{PgDialect, Postgres};

/// The Arrow array crate [`Select::arrow_batches`] builds batches with
/// (feature `arrow`), so its types match the batches'.
#[cfg(feature = "arrow")]
pub use arrow_array;
/// The Arrow schema crate of [`Select::arrow_schema`] (feature `arrow`).
#[cfg(feature = "arrow")]
pub use arrow_schema;
/// The parquet crate [`Select::to_parquet`] writes with (feature `parquet`),
/// for reading files back.
#[cfg(feature = "parquet")]
pub use parquet;

/// The rusqlite version this crate is built on, for the external strategy.
#[cfg(feature = "sqlite")]
pub use rusqlite;
