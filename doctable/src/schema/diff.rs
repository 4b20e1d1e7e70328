//! What differs between a struct and its table on disk, as data.

use std::fmt;

use super::reflect::{ColumnInfo, TableSchema};
use super::{column_definition, index_matches};
use crate::dialect::SqlType;
use crate::table::{ColumnMeta, TableMeta};

/// What differs between a struct and its table in the database file,
/// from [`DocTable::schema_diff`](crate::DocTable::schema_diff).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SchemaDiff {
    /// The table.
    pub table: String,
    /// Each difference, in column order, then indexes.
    pub changes: Vec<SchemaChange>,
}

/// One difference between a struct and its table.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SchemaChange {
    /// The table does not exist yet: `create_table` creates it.
    CreateTable,
    /// A nullable or defaulted column the file lacks: `create_table` adds it
    /// with `ALTER TABLE ADD COLUMN`.
    AddColumn {
        /// The column.
        column: String,
        /// Its definition, as SQL.
        definition: String,
    },
    /// An index the file lacks: `create_table` creates it.
    CreateIndex {
        /// The index.
        index: String,
    },
    /// A difference `create_table` does not apply; it fails with
    /// [`Error::SchemaMismatch`](crate::Error::SchemaMismatch) and changes
    /// nothing. [`DocTable::rebuild_table`](crate::DocTable::rebuild_table)
    /// can apply some of these.
    Mismatch {
        /// The column (or index) that differs.
        column: String,
        /// What the struct declares.
        expected: String,
        /// What the database file has.
        found: String,
    },
}

impl SchemaDiff {
    /// Whether the struct and the file agree.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Whether `create_table` can apply every change (there is no `Mismatch`).
    pub fn is_safe(&self) -> bool {
        !self
            .changes
            .iter()
            .any(|c| matches!(c, SchemaChange::Mismatch { .. }))
    }
}

impl fmt::Display for SchemaChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SchemaChange::CreateTable => f.write_str("create the table"),
            SchemaChange::AddColumn { definition, .. } => write!(f, "add column {definition}"),
            SchemaChange::CreateIndex { index } => write!(f, "create index \"{index}\""),
            SchemaChange::Mismatch {
                column,
                expected,
                found,
            } => write!(
                f,
                "`{column}`: the struct says {expected}, the file says {found}"
            ),
        }
    }
}

/// The declaration of a column on disk, as text for messages.
pub(crate) fn describe_disk(column: &ColumnInfo, schema: &TableSchema) -> String {
    let mut text = format!("\"{}\" {}", column.name, column.declared_type);
    if column.primary_key > 0 {
        text.push_str(" PRIMARY KEY");
    }
    if column.not_null {
        text.push_str(" NOT NULL");
    }
    if let Some(default) = &column.default {
        text.push_str(" DEFAULT ");
        text.push_str(default);
    }
    for fk in schema
        .foreign_keys
        .iter()
        .filter(|f| f.from.eq_ignore_ascii_case(&column.name))
    {
        text.push_str(&format!(" REFERENCES \"{}\"", fk.table));
        if let Some(to) = &fk.to {
            text.push_str(&format!(" (\"{to}\")"));
        }
        for (clause, action) in [
            (" ON DELETE ", &fk.on_delete),
            (" ON UPDATE ", &fk.on_update),
        ] {
            if action != super::NO_ACTION {
                text.push_str(clause);
                text.push_str(action);
            }
        }
    }
    text
}

/// Drops one layer of parentheses and surrounding space, so `('en')` = `'en'`.
fn normalize_default(sql: &str) -> &str {
    let trimmed = sql.trim();
    trimmed
        .strip_prefix('(')
        .and_then(|s| s.strip_suffix(')'))
        .map_or(trimmed, str::trim)
}

fn column_differs(column: &ColumnMeta, disk: &ColumnInfo, schema: &TableSchema) -> bool {
    let rowid_alias = column.primary_key && column.sql_type == SqlType::Integer;
    let same_type = SqlType::affinity_of(&disk.declared_type) == Some(column.sql_type);
    let same_null = disk.not_null != column.nullable || rowid_alias;
    let same_key = (disk.primary_key > 0) == column.primary_key;
    let disk_unique = schema.indexes.iter().any(|i| {
        i.origin == "u"
            && matches!(i.columns.as_slice(), [only] if only.eq_ignore_ascii_case(&disk.name))
    });
    let same_default =
        column.default.map(normalize_default) == disk.default.as_deref().map(normalize_default);
    let mut disk_fks = schema
        .foreign_keys
        .iter()
        .filter(|f| f.from.eq_ignore_ascii_case(&disk.name));
    let same_fk = match &column.references {
        None => disk_fks.next().is_none(),
        Some(fk) => disk_fks.any(|f| {
            f.table.eq_ignore_ascii_case(fk.table)
                && f.to
                    .as_deref()
                    .is_none_or(|to| to.eq_ignore_ascii_case(fk.column))
                && f.on_delete.eq_ignore_ascii_case(fk.on_delete)
                && f.on_update.eq_ignore_ascii_case(fk.on_update)
        }),
    };
    // CHECK constraints are not reported by any pragma: look for the
    // condition in the stored CREATE TABLE, where `create_table` writes it verbatim.
    let same_check = column.check.is_none_or(|check| schema.sql.contains(check));
    !(same_type
        && same_null
        && same_key
        && disk_unique == column.unique
        && same_default
        && same_fk
        && same_check)
}

pub(crate) fn diff(meta: &TableMeta, schema: Option<&TableSchema>) -> SchemaDiff {
    let mut changes = Vec::new();
    let Some(schema) = schema else {
        return SchemaDiff {
            table: meta.name.to_owned(),
            changes: vec![SchemaChange::CreateTable],
        };
    };
    let mismatch = |column: &str, expected: String, found: String| SchemaChange::Mismatch {
        column: column.to_owned(),
        expected,
        found,
    };
    for column in meta.columns {
        match schema.column(column.name) {
            Some(disk) if column_differs(column, disk, schema) => {
                changes.push(mismatch(
                    column.name,
                    column_definition(column),
                    describe_disk(disk, schema),
                ));
            }
            Some(_) => {}
            None if column.primary_key || column.unique => changes.push(mismatch(
                column.name,
                column_definition(column),
                "no such column (a key or UNIQUE column cannot be added to an existing table)"
                    .into(),
            )),
            None if column.nullable || column.default.is_some() => {
                changes.push(SchemaChange::AddColumn {
                    column: column.name.to_owned(),
                    definition: column_definition(column),
                })
            }
            None => changes.push(mismatch(
                column.name,
                column_definition(column),
                "no such column (it can be added only if it is an Option or has a default)".into(),
            )),
        }
    }
    for disk in &schema.columns {
        if !meta
            .columns
            .iter()
            .any(|c| c.name.eq_ignore_ascii_case(&disk.name))
        {
            changes.push(mismatch(
                &disk.name,
                "no such column".into(),
                describe_disk(disk, schema),
            ));
        }
    }
    for check in meta.checks {
        if !schema.sql.contains(check) {
            changes.push(mismatch(
                "CHECK",
                format!("CHECK ({check})"),
                "no such CHECK constraint (a constraint cannot be added to an existing table)"
                    .into(),
            ));
        }
    }
    for index in meta.indexes {
        match schema.index(index.name) {
            None => changes.push(SchemaChange::CreateIndex {
                index: index.name.to_owned(),
            }),
            Some(found) if !index_matches(index, found) => changes.push(mismatch(
                index.name,
                format!(
                    "{}index on ({})",
                    if index.unique { "a unique " } else { "an " },
                    index.columns.join(", ")
                ),
                format!(
                    "{}index on ({})",
                    if found.unique { "a unique " } else { "an " },
                    found.columns.join(", ")
                ),
            )),
            Some(_) => {}
        }
    }
    SchemaDiff {
        table: meta.name.to_owned(),
        changes,
    }
}
