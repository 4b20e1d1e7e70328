//! A table as the database holds it, and what a rebuild did: plain data,
//! the same for every backend. A leaf: it depends on nothing in the crate.

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

/// What [`DocTable::rebuild_table`](crate::DocTable::rebuild_table) did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RebuildReport {
    /// Rows copied into the rebuilt table.
    pub rows: usize,
    /// Columns of the old table that the struct no longer has: their data is gone.
    pub dropped_columns: Vec<String>,
    /// Columns whose type changed; every value converted exactly (a value
    /// that would not convert, or would change, stops the rebuild).
    pub converted_columns: Vec<String>,
    /// Columns the struct added (filled with their default, or NULL).
    pub added_columns: Vec<String>,
    /// Indexes and triggers made outside the struct (by other programs or by
    /// hand), recreated on the rebuilt table; triggers of the connection's
    /// temporary schema included.
    pub recreated: Vec<String>,
    /// Views, and triggers on other tables, that name the table (directly or
    /// through such a view): kept as they were written, and checked to still
    /// compile against the rebuilt table.
    pub dependents: Vec<String>,
}
