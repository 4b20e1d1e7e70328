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
    /// Index into `columns` of the primary key, if any.
    pub primary_key: Option<usize>,
    /// Indexes declared on fields and on the struct.
    pub indexes: &'static [IndexMeta],
    /// Table-level `CHECK` constraints, as SQL conditions.
    pub checks: &'static [&'static str],
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
    /// Whether it is the primary key.
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
    /// The primary key column, if any.
    pub fn key_column(&self) -> Option<&ColumnMeta> {
        self.primary_key.and_then(|i| self.columns.get(i))
    }
}
