//! A table as its struct declares it: the data the derive emits and every
//! layer (DDL, statements, errors) reads. A leaf: it depends on nothing but
//! the logical [`SqlType`].

use crate::value::SqlType;

/// A table as declared on its struct.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableMeta {
    /// The table's name.
    pub name: &'static str,
    /// The stored columns, in declaration order (skipped fields are absent).
    pub columns: &'static [ColumnMeta],
    /// Indexes into `columns` of the primary key's columns, in key order:
    /// one for a key of one column, several for a composite key
    /// (`PRIMARY KEY ("a", "b")`), none for a table without a key.
    pub primary_key: &'static [usize],
    /// Indexes declared on fields and on the struct.
    pub indexes: &'static [IndexMeta],
    /// Table-level `CHECK` constraints, as SQL conditions.
    pub checks: &'static [&'static str],
    /// The index into `columns` of the `#[doctable(added)]` column: set by
    /// the crate when a row is inserted, never changed by an update.
    pub added: Option<usize>,
    /// The index into `columns` of the `#[doctable(updated)]` column: set by
    /// the crate when a row is inserted and on every update it runs.
    pub updated: Option<usize>,
}

/// A column as declared on its field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnMeta {
    /// The column's name in the database.
    pub name: &'static str,
    /// Its logical type (each backend names it in its DDL).
    pub sql_type: SqlType,
    /// Whether it may hold NULL.
    pub nullable: bool,
    /// Whether it is the table's primary key by itself (a key of one column,
    /// declared on the column). The columns of a composite key say `false`
    /// here: the table's constraint lists them in [`TableMeta::primary_key`].
    pub primary_key: bool,
    /// Whether the key never reuses ids (`AUTOINCREMENT`).
    pub autoincrement: bool,
    /// Whether it has its own `UNIQUE` constraint.
    pub unique: bool,
    /// Its `DEFAULT` expression, as SQL.
    pub default: Option<&'static str>,
    /// Its `CHECK` constraint, as an SQL condition.
    pub check: Option<&'static str>,
    /// The column it references, if it is a foreign key.
    pub references: Option<ForeignKeyMeta>,
}

/// A foreign key as declared with `references`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForeignKeyMeta {
    /// The referenced table.
    pub table: &'static str,
    /// The referenced column.
    pub column: &'static str,
    /// The `ON DELETE` action (`NO ACTION` unless declared).
    pub on_delete: &'static str,
    /// The `ON UPDATE` action (`NO ACTION` unless declared).
    pub on_update: &'static str,
}

/// An index as declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexMeta {
    /// The index's name (index names are shared by all tables of a database).
    pub name: &'static str,
    /// The indexed columns, in order.
    pub columns: &'static [&'static str],
    /// Whether it is a `UNIQUE` index.
    pub unique: bool,
}

impl TableMeta {
    /// The primary key column, if the key is one column.
    pub fn key_column(&self) -> Option<&ColumnMeta> {
        match self.primary_key {
            [only] => self.columns.get(*only),
            _ => None,
        }
    }

    /// The primary key's columns, in key order (none without a key).
    pub fn key_columns(&self) -> impl Iterator<Item = &ColumnMeta> + '_ {
        self.primary_key.iter().filter_map(|i| self.columns.get(*i))
    }

    /// The `added` column, if the table has one.
    pub fn added_column(&self) -> Option<&ColumnMeta> {
        self.added.and_then(|i| self.columns.get(i))
    }

    /// The `updated` column, if the table has one.
    pub fn updated_column(&self) -> Option<&ColumnMeta> {
        self.updated.and_then(|i| self.columns.get(i))
    }

    /// Whether the primary key has more than one column.
    pub fn has_composite_key(&self) -> bool {
        self.primary_key.len() > 1
    }
}
