//! Reading a table's schema back from the database file.

use rusqlite::Connection;

use crate::backend::Backend;
use crate::conn::Conn;
use crate::error::{Result, SqlContext};

/// A table as it is in the database file: what `PRAGMA table_xinfo`,
/// `index_list`, `index_info` and `foreign_key_list` report.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TableSchema {
    /// The table's name.
    pub name: String,
    /// Its columns, in table order.
    pub columns: Vec<ColumnInfo>,
    /// Its indexes, including those SQLite makes for `UNIQUE` constraints.
    pub indexes: Vec<IndexInfo>,
    /// Its foreign keys.
    pub foreign_keys: Vec<ForeignKeyInfo>,
    /// The `CREATE TABLE` statement stored in `sqlite_schema`.
    pub sql: String,
}

/// One column of a [`TableSchema`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ColumnInfo {
    /// The column's name.
    pub name: String,
    /// The declared type, as written (may be empty).
    pub declared_type: String,
    /// Whether it is declared `NOT NULL`.
    pub not_null: bool,
    /// Its `DEFAULT` expression, as SQL text.
    pub default: Option<String>,
    /// Its position in the primary key (1-based), or 0.
    pub primary_key: u32,
}

/// One index of a [`TableSchema`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IndexInfo {
    /// The index's name (`sqlite_autoindex_...` for constraint indexes).
    pub name: String,
    /// Whether it enforces uniqueness.
    pub unique: bool,
    /// How it was made: `"c"` by `CREATE INDEX`, `"u"` by a `UNIQUE`
    /// constraint, `"pk"` by a `PRIMARY KEY` constraint.
    pub origin: String,
    /// The indexed columns, in order.
    pub columns: Vec<String>,
}

/// One foreign key of a [`TableSchema`] (one row per column of the key).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ForeignKeyInfo {
    /// The column of this table.
    pub from: String,
    /// The referenced table.
    pub table: String,
    /// The referenced column (`None`: the referenced table's primary key).
    pub to: Option<String>,
    /// The `ON UPDATE` action (`NO ACTION`, `CASCADE`, ...).
    pub on_update: String,
    /// The `ON DELETE` action.
    pub on_delete: String,
}

impl TableSchema {
    /// The column named `name` (SQLite compares names without case).
    pub fn column(&self, name: &str) -> Option<&ColumnInfo> {
        self.columns
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))
    }

    /// The index named `name`.
    pub fn index(&self, name: &str) -> Option<&IndexInfo> {
        self.indexes
            .iter()
            .find(|i| i.name.eq_ignore_ascii_case(name))
    }
}

/// The names of the tables in the database (not SQLite's own), sorted.
///
/// ```
/// # use doctable::{DocTable, Persistent};
/// # #[derive(DocTable)] struct Doc { #[doctable(primary_key)] id: Option<i64> }
/// let db = Persistent::open_in_memory()?;
/// Doc::create_table(&db)?;
/// assert_eq!(doctable::list_tables(&db)?, ["doc"]);
/// # Ok::<(), doctable::Error>(())
/// ```
pub fn list_tables<C: Conn>(conn: &C) -> Result<Vec<String>> {
    conn.with_connection(C::Backend::list_tables)
}

/// The user's tables of a SQLite connection, sorted.
pub(crate) fn list(c: &Connection) -> Result<Vec<String>> {
    let sql = "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name";
    let mut stmt = c.prepare_cached(sql).in_sql(None, sql)?;
    let names = stmt
        .query_map([], |r| r.get(0))
        .in_sql(None, sql)?
        .collect::<rusqlite::Result<Vec<String>>>()
        .in_sql(None, sql)?;
    Ok(names)
}

/// The table named `table` as it is in the file, or `None` if there is none.
///
/// ```
/// # use doctable::{DocTable, Persistent};
/// #[derive(DocTable)]
/// struct Doc { #[doctable(primary_key)] id: Option<i64>, #[doctable(unique)] title: String }
///
/// let db = Persistent::open_in_memory()?;
/// Doc::create_table(&db)?;
/// let schema = doctable::reflect_table(&db, "doc")?.expect("created above");
/// assert_eq!(schema.column("title").map(|c| c.not_null), Some(true));
/// assert!(schema.indexes.iter().any(|i| i.unique && i.columns == ["title"]));
/// # Ok::<(), doctable::Error>(())
/// ```
pub fn reflect_table<C: Conn>(conn: &C, table: &str) -> Result<Option<TableSchema>> {
    conn.with_connection(|c| C::Backend::reflect(c, table))
}

pub(crate) fn reflect(conn: &Connection, table: &str) -> Result<Option<TableSchema>> {
    let t = Some(table);
    let sql = "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?1 COLLATE NOCASE";
    let ddl: Option<String> = {
        let mut stmt = conn.prepare_cached(sql).in_sql(t, sql)?;
        let mut rows = stmt.query([table]).in_sql(t, sql)?;
        match rows.next().in_sql(t, sql)? {
            Some(row) => row.get(0).in_sql(t, sql)?,
            None => return Ok(None),
        }
    };

    let sql = "SELECT name, type, \"notnull\", dflt_value, pk, hidden FROM pragma_table_xinfo(?1)";
    let mut stmt = conn.prepare_cached(sql).in_sql(t, sql)?;
    let columns = stmt
        .query_map([table], |r| {
            Ok((
                ColumnInfo {
                    name: r.get(0)?,
                    declared_type: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                    not_null: r.get(2)?,
                    default: r.get(3)?,
                    primary_key: r.get(4)?,
                },
                r.get::<_, i64>(5)?,
            ))
        })
        .in_sql(t, sql)?
        .filter(|row| !matches!(row, Ok((_, 1))))
        .map(|row| row.map(|(column, _)| column))
        .collect::<rusqlite::Result<Vec<_>>>()
        .in_sql(t, sql)?;

    let sql = "SELECT l.name, l.\"unique\", l.origin, i.name FROM pragma_index_list(?1) AS l, \
               pragma_index_info(l.name) AS i ORDER BY l.seq, i.seqno";
    let mut stmt = conn.prepare_cached(sql).in_sql(t, sql)?;
    let rows = stmt
        .query_map([table], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, bool>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
            ))
        })
        .in_sql(t, sql)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .in_sql(t, sql)?;
    let mut indexes: Vec<IndexInfo> = Vec::new();
    for (name, unique, origin, column) in rows {
        let column = column.unwrap_or_else(|| "(expression)".to_owned());
        match indexes.last_mut() {
            Some(last) if last.name == name => last.columns.push(column),
            _ => indexes.push(IndexInfo {
                name,
                unique,
                origin,
                columns: vec![column],
            }),
        }
    }

    let sql = "SELECT \"from\", \"table\", \"to\", on_update, on_delete FROM pragma_foreign_key_list(?1) ORDER BY id, seq";
    let mut stmt = conn.prepare_cached(sql).in_sql(t, sql)?;
    let foreign_keys = stmt
        .query_map([table], |r| {
            Ok(ForeignKeyInfo {
                from: r.get(0)?,
                table: r.get(1)?,
                to: r.get(2)?,
                on_update: r.get(3)?,
                on_delete: r.get(4)?,
            })
        })
        .in_sql(t, sql)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .in_sql(t, sql)?;

    Ok(Some(TableSchema {
        name: table.to_owned(),
        columns,
        indexes,
        foreign_keys,
        sql: ddl.unwrap_or_default(),
    }))
}
