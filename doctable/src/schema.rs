//! Creating tables, and checking an existing table against its struct.

use rusqlite::Connection;

use crate::conn::{Conn, atomically};
use crate::dialect::{SqlType, push_ident};
use crate::error::{Error, Result, SqlContext};
use crate::table::{ColumnMeta, DocTable, IndexMeta, TableMeta};

/// `CREATE TABLE IF NOT EXISTS ...` for a table.
pub(crate) fn create_table_sql(meta: &TableMeta) -> String {
    let mut sql = String::from("CREATE TABLE IF NOT EXISTS ");
    push_ident(&mut sql, meta.name);
    sql.push_str(" (\n");
    for (i, column) in meta.columns.iter().enumerate() {
        if i > 0 {
            sql.push_str(",\n");
        }
        sql.push_str("    ");
        push_column_def(&mut sql, column);
    }
    sql.push_str("\n)");
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
}

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
    for (i, column) in index.columns.iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        push_ident(&mut sql, column);
    }
    sql.push(')');
    sql
}

pub(crate) fn create_table<T: DocTable>(conn: &impl Conn) -> Result<()> {
    let meta = T::META;
    conn.with_connection(|c| {
        // One write transaction: two processes creating or extending the same
        // table at once take turns, and the second sees the first one's work.
        atomically(c, |c| {
            let existing = reflect_columns(c, meta.name)?;
            if existing.is_empty() {
                let sql = create_table_sql(meta);
                c.execute_batch(&sql).in_sql(Some(meta.name), &sql)?;
            } else {
                evolve(c, meta, &existing)?;
            }
            for index in meta.indexes {
                let sql = create_index_sql(meta.name, index);
                c.execute_batch(&sql).in_sql(Some(meta.name), &sql)?;
            }
            Ok(())
        })
    })
}

pub(crate) fn drop_table<T: DocTable>(conn: &impl Conn) -> Result<()> {
    let mut sql = String::from("DROP TABLE IF EXISTS ");
    push_ident(&mut sql, T::META.name);
    conn.with_connection(|c| c.execute_batch(&sql).in_sql(Some(T::META.name), &sql))
}

/// A column as it is in the database file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DiskColumn {
    pub(crate) name: String,
    pub(crate) declared_type: String,
    pub(crate) not_null: bool,
    pub(crate) primary_key: bool,
}

/// The table's columns from `PRAGMA table_xinfo` (empty when the table does not exist).
pub(crate) fn reflect_columns(conn: &Connection, table: &str) -> Result<Vec<DiskColumn>> {
    let sql = "SELECT name, type, \"notnull\", pk, hidden FROM pragma_table_xinfo(?1)";
    let mut stmt = conn.prepare_cached(sql).in_sql(Some(table), sql)?;
    let rows = stmt
        .query_map([table], |r| {
            Ok((
                DiskColumn {
                    name: r.get(0)?,
                    declared_type: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                    not_null: r.get(2)?,
                    primary_key: r.get::<_, i64>(3)? > 0,
                },
                r.get::<_, i64>(4)?,
            ))
        })
        .in_sql(Some(table), sql)?;
    let mut columns = Vec::new();
    for row in rows {
        let (column, hidden) = row.in_sql(Some(table), sql)?;
        // Hidden columns of virtual tables are not part of the row.
        if hidden != 1 {
            columns.push(column);
        }
    }
    Ok(columns)
}

fn describe_meta(column: &ColumnMeta) -> String {
    let mut text = String::new();
    push_column_def(&mut text, column);
    text
}

fn describe_disk(column: &DiskColumn) -> String {
    let mut text = format!("\"{}\" {}", column.name, column.declared_type);
    if column.primary_key {
        text.push_str(" PRIMARY KEY");
    }
    if column.not_null {
        text.push_str(" NOT NULL");
    }
    text
}

/// Brings an existing table in line with the struct where that is safe (adding
/// nullable or defaulted columns), and refuses every other difference.
/// Checks everything before changing anything.
fn evolve(conn: &Connection, meta: &TableMeta, existing: &[DiskColumn]) -> Result<()> {
    let mismatch = |column: &str, expected: String, found: String| Error::SchemaMismatch {
        table: meta.name.to_owned(),
        column: column.to_owned(),
        expected,
        found,
    };
    let mut to_add = Vec::new();
    for column in meta.columns {
        match existing
            .iter()
            .find(|d| d.name.eq_ignore_ascii_case(column.name))
        {
            Some(disk) => {
                let rowid_alias = column.primary_key && column.sql_type == SqlType::Integer;
                let same_type = SqlType::affinity_of(&disk.declared_type) == Some(column.sql_type);
                let same_null = disk.not_null == !column.nullable || rowid_alias;
                if !same_type || !same_null || disk.primary_key != column.primary_key {
                    return Err(mismatch(
                        column.name,
                        describe_meta(column),
                        describe_disk(disk),
                    ));
                }
            }
            None if column.primary_key || column.unique => {
                return Err(mismatch(
                    column.name,
                    describe_meta(column),
                    "no such column (a key or UNIQUE column cannot be added to an existing table)"
                        .into(),
                ));
            }
            None if column.nullable || column.default.is_some() => to_add.push(column),
            None => {
                return Err(mismatch(
                    column.name,
                    describe_meta(column),
                    "no such column (it can be added only if it is an Option or has a default)"
                        .into(),
                ));
            }
        }
    }
    if let Some(extra) = existing.iter().find(|d| {
        !meta
            .columns
            .iter()
            .any(|c| c.name.eq_ignore_ascii_case(&d.name))
    }) {
        return Err(mismatch(
            &extra.name,
            "no such column".into(),
            describe_disk(extra),
        ));
    }
    for column in to_add {
        let mut sql = String::from("ALTER TABLE ");
        push_ident(&mut sql, meta.name);
        sql.push_str(" ADD COLUMN ");
        push_column_def(&mut sql, column);
        conn.execute_batch(&sql).in_sql(Some(meta.name), &sql)?;
    }
    Ok(())
}
