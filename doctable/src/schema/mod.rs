//! Creating tables, and keeping an existing table in step with its struct.

mod diff;
mod rebuild;
mod reflect;

pub use diff::{SchemaChange, SchemaDiff};
pub use rebuild::RebuildReport;
pub use reflect::{ColumnInfo, ForeignKeyInfo, IndexInfo, TableSchema, list_tables, reflect_table};

use rusqlite::Connection;

use crate::conn::{Conn, atomically};
use crate::dialect::{SqlType, push_ident, push_ident_list};
use crate::error::{Error, Result, SqlContext};
use crate::table::{ColumnMeta, DocTable, IndexMeta, TableMeta};

/// `CREATE TABLE IF NOT EXISTS "name" (...)` for a table's columns.
pub(crate) fn create_table_sql(meta: &TableMeta, name: &str) -> String {
    let mut sql = String::from("CREATE TABLE IF NOT EXISTS ");
    push_ident(&mut sql, name);
    sql.push_str(" (\n");
    for (i, column) in meta.columns.iter().enumerate() {
        if i > 0 {
            sql.push_str(",\n");
        }
        sql.push_str("    ");
        push_column_def(&mut sql, column);
    }
    for check in meta.checks {
        sql.push_str(",\n    CHECK (");
        sql.push_str(check);
        sql.push(')');
    }
    sql.push_str("\n)");
    sql
}

/// A column's definition, as in `CREATE TABLE`.
pub(crate) fn column_definition(column: &ColumnMeta) -> String {
    let mut sql = String::new();
    push_column_def(&mut sql, column);
    sql
}

/// `"name" TYPE [PRIMARY KEY [AUTOINCREMENT]] [NOT NULL] [UNIQUE] [DEFAULT (...)]`.
fn push_column_def(sql: &mut String, column: &ColumnMeta) {
    push_ident(sql, column.name);
    sql.push(' ');
    sql.push_str(column.sql_type.name());
    if column.primary_key {
        sql.push_str(" PRIMARY KEY");
        if column.autoincrement {
            sql.push_str(" AUTOINCREMENT");
        }
    }
    // An INTEGER PRIMARY KEY is the rowid and never NULL; other keys need saying so,
    // because SQLite lets a non-integer primary key hold NULL.
    let rowid_alias = column.primary_key && column.sql_type == SqlType::Integer;
    if !column.nullable && !rowid_alias {
        sql.push_str(" NOT NULL");
    }
    if column.unique {
        sql.push_str(" UNIQUE");
    }
    if let Some(default) = column.default {
        sql.push_str(" DEFAULT (");
        sql.push_str(default);
        sql.push(')');
    }
    if let Some(check) = column.check {
        sql.push_str(" CHECK (");
        sql.push_str(check);
        sql.push(')');
    }
    if let Some(fk) = &column.references {
        sql.push_str(" REFERENCES ");
        push_ident(sql, fk.table);
        sql.push_str(" (");
        push_ident(sql, fk.column);
        sql.push(')');
        for (clause, action) in [(" ON DELETE ", fk.on_delete), (" ON UPDATE ", fk.on_update)] {
            if action != NO_ACTION {
                sql.push_str(clause);
                sql.push_str(action);
            }
        }
    }
}

/// SQLite's default foreign key action.
pub(crate) const NO_ACTION: &str = "NO ACTION";

fn create_index_sql(table: &str, index: &IndexMeta) -> String {
    let mut sql = String::from(if index.unique {
        "CREATE UNIQUE INDEX IF NOT EXISTS "
    } else {
        "CREATE INDEX IF NOT EXISTS "
    });
    push_ident(&mut sql, index.name);
    sql.push_str(" ON ");
    push_ident(&mut sql, table);
    sql.push_str(" (");
    push_ident_list(&mut sql, index.columns.iter().copied());
    sql.push(')');
    sql
}

/// Whether an index on disk is the one declared.
pub(crate) fn index_matches(declared: &IndexMeta, found: &IndexInfo) -> bool {
    declared.unique == found.unique
        && declared.columns.len() == found.columns.len()
        && declared
            .columns
            .iter()
            .zip(&found.columns)
            .all(|(a, b)| a.eq_ignore_ascii_case(b))
}

fn execute(conn: &Connection, table: &str, sql: &str) -> Result<()> {
    conn.execute_batch(sql).in_sql(Some(table), sql)
}

fn create_indexes(conn: &Connection, meta: &TableMeta) -> Result<()> {
    for index in meta.indexes {
        execute(conn, meta.name, &create_index_sql(meta.name, index))?;
    }
    Ok(())
}

/// The diff of `meta` against the file, with declared indexes whose names
/// another table's index already holds turned into mismatches: index names are
/// shared by the whole database, so `CREATE INDEX IF NOT EXISTS` would do nothing.
fn diff_in_file(conn: &Connection, meta: &TableMeta) -> Result<SchemaDiff> {
    let schema = reflect::reflect(conn, meta.name)?;
    let mut diff = diff::diff(meta, schema.as_ref());
    let sql =
        "SELECT tbl_name FROM sqlite_schema WHERE type = 'index' AND name = ?1 COLLATE NOCASE";
    for index in meta.indexes {
        let mut stmt = conn.prepare_cached(sql).in_sql(Some(meta.name), sql)?;
        let mut rows = stmt.query([index.name]).in_sql(Some(meta.name), sql)?;
        let Some(row) = rows.next().in_sql(Some(meta.name), sql)? else {
            continue;
        };
        let owner: String = row.get(0).in_sql(Some(meta.name), sql)?;
        if owner.eq_ignore_ascii_case(meta.name) {
            continue;
        }
        diff.changes.retain(
            |c| !matches!(c, SchemaChange::CreateIndex { index: name } if name == index.name),
        );
        diff.changes.push(SchemaChange::Mismatch {
            column: index.name.to_owned(),
            expected: format!("an index named \"{}\" on this table", index.name),
            found: format!(
                "an index of that name on table `{owner}` (index names are shared by the whole database: name this one yourself, with `#[doctable(index = \"...\")]` on the field or `#[doctable(index(name = [field]))]` on the struct)"
            ),
        });
    }
    Ok(diff)
}

pub(crate) fn create_table<T: DocTable>(conn: &impl Conn) -> Result<()> {
    let meta = T::META;
    conn.with_connection(|c| {
        // One write transaction: two processes creating or extending the same
        // table at once take turns, and the second sees the first one's work.
        atomically(c, Some(meta.name), |c| {
            let diff = diff_in_file(c, meta)?;
            if let Some(SchemaChange::Mismatch {
                column,
                expected,
                found,
            }) = diff
                .changes
                .iter()
                .find(|c| matches!(c, SchemaChange::Mismatch { .. }))
            {
                return Err(Error::SchemaMismatch {
                    table: meta.name.to_owned(),
                    column: column.clone(),
                    expected: expected.clone(),
                    found: found.clone(),
                });
            }
            for change in &diff.changes {
                match change {
                    SchemaChange::CreateTable => {
                        execute(c, meta.name, &create_table_sql(meta, meta.name))?;
                    }
                    SchemaChange::AddColumn { definition, .. } => {
                        let mut sql = String::from("ALTER TABLE ");
                        push_ident(&mut sql, meta.name);
                        sql.push_str(" ADD COLUMN ");
                        sql.push_str(definition);
                        execute(c, meta.name, &sql)?;
                    }
                    SchemaChange::CreateIndex { .. } | SchemaChange::Mismatch { .. } => {}
                }
            }
            create_indexes(c, meta)
        })
    })
}

pub(crate) fn schema_diff<T: DocTable>(conn: &impl Conn) -> Result<SchemaDiff> {
    let meta = T::META;
    conn.with_connection(|c| diff_in_file(c, meta))
}

pub(crate) use rebuild::rebuild_table;

pub(crate) fn drop_table<T: DocTable>(conn: &impl Conn) -> Result<()> {
    let mut sql = String::from("DROP TABLE IF EXISTS ");
    push_ident(&mut sql, T::META.name);
    conn.with_connection(|c| execute(c, T::META.name, &sql))
}
