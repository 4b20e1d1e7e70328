//! The `DocTable` trait: what the derive implements, and the table operations it gives.

use crate::conn::Conn;
use crate::error::{Error, Result};
#[cfg(doc)]
use crate::expr::Column;
use crate::key::IntoKey;
use crate::query::{
    AllColumns, ColumnList, Count, Delete, Select, Selection, Unfiltered, Update, Upsert,
};
use crate::record::Record;
use crate::schema::{RebuildReport, SchemaDiff};
use crate::statements::InsertKind;

pub use crate::meta::{ColumnMeta, ForeignKeyMeta, IndexMeta, TableMeta};

/// A struct stored as a table. Implement it with `#[derive(DocTable)]`.
///
/// A field named like an operation (a `count` field, say) makes `Doc::count`
/// the column, which shadows the operation of that name on the struct; the
/// operation is still there as `<Doc as DocTable>::count()`.
///
/// The derive fills in the table's description and its row conversions; the
/// operations (`create_table`, `insert`, `select`, ...) are provided methods,
/// so bring the trait into scope with `use doctable::DocTable;` (the same
/// import brings the derive).
///
/// ```
/// use doctable::{DocTable, Persistent};
///
/// #[derive(DocTable, Debug, Clone, PartialEq)]
/// #[doctable(table = "docs")]
/// struct Doc {
///     #[doctable(primary_key)]
///     id: Option<i64>,
///     title: String,
///     year: i64,
///     score: f64,
/// }
///
/// let db = Persistent::open_in_memory()?;
/// Doc::create_table(&db)?;
/// let doc = Doc { id: None, title: "On Tables".into(), year: 2001, score: 0.25 };
/// let id = Doc::insert(&db, &doc)?;
/// let hits = Doc::select().filter(Doc::year.gt(2000)).order_by(Doc::score.desc()).all(&db)?;
/// assert_eq!(hits, vec![Doc { id: Some(id), ..doc }]);
/// # Ok::<(), doctable::Error>(())
/// ```
pub trait DocTable: Record {
    /// The table's name in the database.
    const TABLE: &'static str;

    /// The table's name, columns, keys and indexes, as declared on the struct.
    const META: &'static TableMeta;

    /// Creates the table and its indexes if they are missing. When the table
    /// exists, it is compared with the struct: a new nullable or defaulted column
    /// is added; any other difference is [`Error::SchemaMismatch`](crate::Error::SchemaMismatch)
    /// and nothing is changed.
    fn create_table(conn: &impl Conn) -> Result<()> {
        crate::schema::create_table::<_, Self>(conn)
    }

    /// What differs between the struct and its table in the file, as data:
    /// what `create_table` would do, and what it would refuse.
    fn schema_diff(conn: &impl Conn) -> Result<SchemaDiff> {
        crate::schema::schema_diff::<_, Self>(conn)
    }

    /// Rebuilds the table to match the struct, for changes `create_table`
    /// refuses: dropping a column, changing a column's type (every stored value
    /// must convert exactly, or nothing changes), changing constraints. Rows are
    /// copied into a new table that replaces the old one in one transaction, as
    /// SQLite's documentation prescribes; data in dropped columns is gone, and
    /// the report lists those columns. Indexes, triggers and views that name
    /// the table are kept; one the change would break stops the rebuild, named
    /// in the error. Must run outside a transaction.
    fn rebuild_table(conn: &impl Conn) -> Result<RebuildReport> {
        crate::schema::rebuild_table::<_, Self>(conn)
    }

    /// Drops the table (and its indexes) if it exists.
    fn drop_table(conn: &impl Conn) -> Result<()> {
        crate::schema::drop_table::<_, Self>(conn)
    }

    /// The `INSERT` statement that `insert` and `insert_many` run on SQLite, built once
    /// per table (parameters `?1..?n` are the stored fields in declaration order).
    ///
    /// ```
    /// # use doctable::DocTable;
    /// #[derive(DocTable)]
    /// struct Word { #[doctable(primary_key)] id: Option<i64>, text: String }
    /// assert_eq!(Word::insert_sql(), r#"INSERT INTO "word" ("id", "text") VALUES (?1, ?2)"#);
    /// ```
    #[cfg(feature = "sqlite")]
    fn insert_sql() -> &'static str {
        Self::__sql().insert::<crate::sqlite::Sqlite>(Self::META, InsertKind::Plain)
    }

    /// Inserts one row and returns its rowid. An `Option<i64>` primary key that
    /// is `None` is assigned by SQLite; that id is what is returned. The
    /// `#[doctable(added)]` and `#[doctable(updated)]` columns get the time
    /// of the insert (README "Added and updated timestamps"), on this and
    /// every other insert.
    fn insert(conn: &impl Conn, row: &Self) -> Result<i64> {
        crate::rows::insert(conn, row, InsertKind::Plain).map(|(_, rowid)| rowid)
    }

    /// Inserts many rows in one transaction with one prepared statement, and
    /// returns how many were inserted. All or nothing: on an error none are kept.
    /// On PostgreSQL the rows go as multi-row `INSERT`s of up to 1,000 rows
    /// each (fewer for a table so wide that they would pass 65,535 parameters).
    fn insert_many<'r>(
        conn: &impl Conn,
        rows: impl IntoIterator<Item = &'r Self>,
    ) -> Result<usize> {
        crate::rows::insert_many(conn, rows, InsertKind::Plain)
    }

    /// Inserts one row unless it would break a `UNIQUE` or primary key
    /// constraint: returns its rowid, or `None` when it was skipped
    /// (the ancestor's `ifnotunique="ignore"`).
    fn insert_or_ignore(conn: &impl Conn, row: &Self) -> Result<Option<i64>> {
        crate::rows::insert(conn, row, InsertKind::OrIgnore)
            .map(|(changed, rowid)| (changed > 0).then_some(rowid))
    }

    /// Inserts one row, first deleting any rows it conflicts with on a `UNIQUE`
    /// or primary key constraint (the ancestor's `ifnotunique="replace"`).
    /// The row is new: an `#[doctable(added)]` column gets the time of the
    /// replace (use [`upsert`](DocTable::upsert) to keep it).
    fn insert_or_replace(conn: &impl Conn, row: &Self) -> Result<i64> {
        crate::rows::insert(conn, row, InsertKind::OrReplace).map(|(_, rowid)| rowid)
    }

    /// [`insert_or_ignore`](DocTable::insert_or_ignore) for many rows, in one
    /// transaction; returns how many were inserted.
    fn insert_many_or_ignore<'r>(
        conn: &impl Conn,
        rows: impl IntoIterator<Item = &'r Self>,
    ) -> Result<usize> {
        crate::rows::insert_many(conn, rows, InsertKind::OrIgnore)
    }

    /// [`insert_or_replace`](DocTable::insert_or_replace) for many rows, in one
    /// transaction; returns how many were written.
    fn insert_many_or_replace<'r>(
        conn: &impl Conn,
        rows: impl IntoIterator<Item = &'r Self>,
    ) -> Result<usize> {
        crate::rows::insert_many(conn, rows, InsertKind::OrReplace)
    }

    /// Inserts one row and reads it back as stored, with its assigned key
    /// (`INSERT ... RETURNING`). Every field is written, so a column's
    /// `default` applies only to rows written by others (and to old rows when
    /// `create_table` adds the column), never to a `None` written here.
    fn insert_returning(conn: &impl Conn, row: &Self) -> Result<Self> {
        crate::rows::insert_returning(conn, row)
    }

    /// An insert that updates the existing row, or does nothing, on a
    /// conflict: `Doc::upsert().on_conflict(Doc::title).update((Doc::score,)).run(&db, &doc)`.
    fn upsert() -> Upsert<Self> {
        Upsert::new()
    }

    /// Rows chosen by raw SQL after `SELECT <columns> FROM <table>`. The text
    /// must be a string literal (see [`SqlText`](crate::SqlText): values cannot
    /// be formatted into it); bind them as `params` (see
    /// [`RawParams`](crate::RawParams); `()` for none). For a whole statement
    /// of your own, read into any row shape, see [`select_sql`](crate::select_sql).
    ///
    /// ```
    /// # use doctable::{DocTable, Persistent};
    /// # #[derive(DocTable, Debug)] struct Doc { #[doctable(primary_key)] id: Option<i64>, body: String }
    /// # let db = Persistent::open_in_memory()?; Doc::create_table(&db)?;
    /// # Doc::insert(&db, &Doc { id: None, body: "a long enough body".into() })?;
    /// let long = Doc::select_sql("WHERE length(\"body\") > ? ORDER BY \"id\"", [10], &db)?;
    /// assert_eq!(long.len(), 1);
    /// let all = Doc::select_sql("ORDER BY \"id\"", (), &db)?;
    /// assert_eq!(all.len(), 1);
    /// # Ok::<(), doctable::Error>(())
    /// ```
    fn select_sql(
        sql: impl crate::raw::SqlText,
        params: impl crate::raw::RawParams,
        conn: &impl Conn,
    ) -> Result<Vec<Self>> {
        let params = params.into_values().map_err(|detail| {
            Error::conversion(Self::META.name, "(select_sql parameter)", detail)
        })?;
        crate::query::select_sql_tail(conn, sql.text(), params)
    }

    /// The row with primary key `key`, if there is one. For a composite key,
    /// `key` is a tuple of the key's values in key order:
    /// `Count::get(&db, ("en", "the"))` (see [`IntoKey`]).
    fn get(conn: &impl Conn, key: impl IntoKey<Self, Self::Key>) -> Result<Option<Self>>
    where
        Self: HasPrimaryKey,
    {
        crate::rows::get::<_, Self, _>(conn, key)
    }

    /// Writes every column of `row` to the row with the same primary key
    /// (every key column, for a composite key; the key itself is not changed).
    /// [`Error::NotFound`](crate::Error::NotFound) if there is no such row.
    /// An `#[doctable(added)]` column keeps its stored time and an
    /// `#[doctable(updated)]` one is set to now, whatever `row` holds.
    fn update_row(conn: &impl Conn, row: &Self) -> Result<()>
    where
        Self: HasPrimaryKey,
    {
        crate::rows::update_row(conn, row)
    }

    /// Deletes the row with primary key `key` (a tuple in key order for a
    /// composite key, as for [`get`](DocTable::get)); whether there was one.
    ///
    /// ```
    /// # use doctable::{DocTable, Persistent};
    /// #[derive(DocTable)]
    /// #[doctable(primary_key(lang, word))]
    /// struct Count { lang: String, word: String, n: i64 }
    ///
    /// # let db = Persistent::open_in_memory()?; Count::create_table(&db)?;
    /// Count::insert(&db, &Count { lang: "en".into(), word: "the".into(), n: 7 })?;
    /// assert!(Count::delete_key(&db, ("en", "the"))?);
    /// assert!(!Count::delete_key(&db, ("en", "the"))?);
    /// # Ok::<(), doctable::Error>(())
    /// ```
    fn delete_key(conn: &impl Conn, key: impl IntoKey<Self, Self::Key>) -> Result<bool>
    where
        Self: HasPrimaryKey,
    {
        crate::rows::delete_key::<_, Self, _>(conn, key)
    }

    /// Removes the files of this table's `#[doctable(file)]` columns that no
    /// row refers to (and leftovers of writes that never finished), and
    /// reports them, the bytes freed, and the rows whose file is missing.
    /// Only this table's folder is touched. It waits (up to 30 s) for rows
    /// other connections and processes have written but not yet committed,
    /// so it never removes a file such a row names (README "File-backed
    /// columns"); it cannot run inside a transaction.
    ///
    /// ```
    /// use doctable::{DocTable, Options, Persistent};
    ///
    /// #[derive(DocTable)]
    /// struct Page { #[doctable(primary_key)] id: Option<i64>, #[doctable(file)] body: Vec<u8> }
    ///
    /// let dir = tempfile::tempdir()?;
    /// let db = Persistent::open(dir.path().join("pages.db"))?; // files in pages.db-files/page/
    /// Page::create_table(&db)?;
    /// let id = Page::insert(&db, &Page { id: None, body: vec![1, 2, 3] })?;
    /// Page::delete_key(&db, id)?;
    /// let report = Page::clean_files(&db)?;
    /// assert_eq!((report.removed.len(), report.bytes_freed), (1, 3));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn clean_files<C: Conn>(conn: &C) -> Result<crate::files::CleanReport> {
        let folder = conn.files_folder();
        conn.with_connection(|c| crate::files::clean_files::<C::Backend, Self>(folder, c))
    }

    /// A query for whole rows; add `filter`, `order_by`, `limit`, then `all` or `first`.
    fn select() -> Select<Self, AllColumns> {
        Select::new(AllColumns)
    }

    /// A query for chosen columns or aggregates, read into a tuple per row:
    /// `Doc::select_cols((Doc::id, Doc::title))` gives `Vec<(Option<i64>, String)>`.
    fn select_cols<S: Selection<Self>>(selection: S) -> Select<Self, S> {
        Select::new(selection)
    }

    /// Counts rows: `Doc::count().filter(..).get(&db)`.
    fn count() -> Count<Self> {
        Count::new()
    }

    /// An update: `.set(column, value)`, then `.filter(..)` or `.all_rows()`, then `.run(&db)`.
    fn update() -> Update<Self, Unfiltered> {
        Update::new()
    }

    /// A delete: `.filter(..)` or `.all_rows()`, then `.run(&db)`.
    fn delete() -> Delete<Self, Unfiltered> {
        Delete::new()
    }
}

/// A table with a primary key, which `get`, `update_row` and `delete_key`
/// need. The key is one field marked `#[doctable(primary_key)]`, or several
/// (a composite key: several fields marked, in declaration order, or
/// `#[doctable(primary_key(a, b))]` on the struct, in the order listed).
///
/// A composite key is a `PRIMARY KEY ("a", "b")` table constraint; its
/// values are always given on insert (none is assigned, so `insert` returns
/// no key: SQLite's rowid, or 0 on PostgreSQL).
///
/// ```
/// use doctable::{DocTable, HasPrimaryKey, Persistent};
///
/// #[derive(DocTable, Debug, PartialEq)]
/// struct WordCount {
///     #[doctable(primary_key)]
///     lang: String,
///     #[doctable(primary_key)]
///     word: String,
///     n: i64,
/// }
///
/// let db = Persistent::open_in_memory()?;
/// WordCount::create_table(&db)?;
/// let (lang, word) = WordCount::KEY;
/// assert_eq!((lang.name(), word.name()), ("lang", "word"));
///
/// let mut the = WordCount { lang: "en".into(), word: "the".into(), n: 7 };
/// WordCount::insert(&db, &the)?;
/// the.n = 8;
/// WordCount::update_row(&db, &the)?;
/// let bump = WordCount::upsert().on_conflict(WordCount::KEY).update(WordCount::n);
/// bump.run(&db, &WordCount { lang: "en".into(), word: "the".into(), n: 9 })?;
/// assert_eq!(WordCount::get(&db, ("en", "the"))?.map(|w| w.n), Some(9));
/// assert_eq!(WordCount::get(&db, ("de", "the"))?, None);
/// # Ok::<(), doctable::Error>(())
/// ```
#[diagnostic::on_unimplemented(
    message = "table `{Self}` has no primary key",
    label = "`get`, `update_row` and `delete_key` look rows up by primary key",
    note = "mark one field `#[doctable(primary_key)]`, for example `id: Option<i64>`, or name a composite key on the struct: `#[doctable(primary_key(a, b))]`"
)]
pub trait HasPrimaryKey: DocTable {
    /// The key's type: the key field's type, or for a composite key a tuple
    /// of the key fields' types, in key order.
    type Key;
    /// The type of [`KEY`](HasPrimaryKey::KEY): a [`Column`], or a tuple of
    /// columns for a composite key.
    type KeyColumns: ColumnList<Self>;
    /// The key column, or the tuple of key columns in key order
    /// (`Doc::upsert().on_conflict(Doc::KEY)` names the key as a conflict target).
    const KEY: Self::KeyColumns;
    /// `self`'s key as SQL would print it, for messages.
    #[doc(hidden)]
    fn __describe_key(&self) -> String;
}
