//! Creating tables, and keeping an existing table in step with its struct.

mod diff;

pub use crate::catalog::{ColumnInfo, ForeignKeyInfo, IndexInfo, RebuildReport, TableSchema};
pub use diff::{SchemaChange, SchemaDiff};

use crate::backend::{Backend, Dialect};
use crate::conn::{Conn, ConnOf, atomically};
use crate::dialect::{push_ident, push_ident_list};
use crate::error::{Error, Result};
use crate::meta::{ColumnMeta, IndexMeta, TableMeta};
use crate::record::{Record, read_row};

/// `CREATE TABLE IF NOT EXISTS "name" (...)` for a table's columns, in dialect `D`.
pub(crate) fn create_table_sql<D: Dialect>(meta: &TableMeta, name: &str) -> String {
    let mut sql = String::from("CREATE TABLE IF NOT EXISTS ");
    push_ident(&mut sql, name);
    sql.push_str(" (\n");
    for (i, column) in meta.columns.iter().enumerate() {
        if i > 0 {
            sql.push_str(",\n");
        }
        sql.push_str("    ");
        push_column_def::<D>(&mut sql, column);
    }
    if meta.has_composite_key() {
        // A key of one column is declared on the column; a composite key is
        // a table constraint (never the rowid or an identity: its values are
        // always given).
        sql.push_str(",\n    PRIMARY KEY (");
        push_ident_list(&mut sql, meta.key_columns().map(|c| c.name));
        sql.push(')');
    }
    for check in meta.checks {
        sql.push_str(",\n    CHECK (");
        sql.push_str(check);
        sql.push(')');
    }
    sql.push_str("\n)");
    sql
}

/// A column's definition, as in `CREATE TABLE`, in dialect `D`.
pub(crate) fn column_definition<D: Dialect>(column: &ColumnMeta) -> String {
    let mut sql = String::new();
    push_column_def::<D>(&mut sql, column);
    sql
}

/// `"name" TYPE [key clause] [NOT NULL] [UNIQUE] [DEFAULT (...)]`.
fn push_column_def<D: Dialect>(sql: &mut String, column: &ColumnMeta) {
    push_ident(sql, column.name);
    sql.push(' ');
    D::push_type_and_key(sql, column);
    if !column.nullable && !D::key_is_not_null(column) {
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

pub(crate) fn execute_ddl<B: Backend>(conn: &ConnOf<B>, table: &str, sql: &str) -> Result<()> {
    B::execute_batch(conn, Some(table), sql)
}

pub(crate) fn create_indexes_in<B: Backend>(conn: &ConnOf<B>, meta: &TableMeta) -> Result<()> {
    for index in meta.indexes {
        execute_ddl::<B>(conn, meta.name, &create_index_sql(meta.name, index))?;
    }
    Ok(())
}

/// The diff of `meta` against the file, with declared indexes whose names
/// another table's index already holds turned into mismatches: index names are
/// shared by the whole database, so `CREATE INDEX IF NOT EXISTS` would do nothing.
fn diff_in_file<B: Backend>(conn: &ConnOf<B>, meta: &TableMeta) -> Result<SchemaDiff> {
    let mut schema = B::reflect(conn, meta.name)?;
    if let Some(schema) = schema.as_mut() {
        B::canonical_checks(conn, meta, schema)?;
    }
    let mut diff = diff::diff::<B::Dialect>(meta, schema.as_ref());
    for index in meta.indexes {
        let Some(owner) = B::index_owner(conn, meta.name, index.name)? else {
            continue;
        };
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

pub(crate) fn create_table<C: Conn, T: Record>(conn: &C) -> Result<()> {
    let meta = T::__META;
    conn.with_connection(|c| {
        // One write transaction: two processes creating or extending the same
        // table at once take turns, and the second sees the first one's work.
        atomically::<C::Backend, _>(c, Some(meta.name), |c| {
            C::Backend::lock_table_schema(c, meta.name)?;
            let diff = diff_in_file::<C::Backend>(c, meta)?;
            let mut mismatches = diff
                .changes
                .iter()
                .filter(|c| matches!(c, SchemaChange::Mismatch { .. }));
            if let Some(SchemaChange::Mismatch {
                column,
                expected,
                found,
            }) = mismatches.next()
            {
                return Err(Error::SchemaMismatch {
                    table: meta.name.to_owned(),
                    column: column.clone(),
                    expected: expected.clone(),
                    found: found.clone(),
                    others: mismatches.map(ToString::to_string).collect(),
                });
            }
            for change in &diff.changes {
                match change {
                    SchemaChange::CreateTable => {
                        execute_ddl::<C::Backend>(
                            c,
                            meta.name,
                            &create_table_sql::<<C::Backend as Backend>::Dialect>(meta, meta.name),
                        )?;
                    }
                    SchemaChange::AddColumn { definition, .. } => {
                        let mut sql = String::from("ALTER TABLE ");
                        push_ident(&mut sql, meta.name);
                        sql.push_str(" ADD COLUMN ");
                        sql.push_str(definition);
                        execute_ddl::<C::Backend>(c, meta.name, &sql)?;
                    }
                    SchemaChange::CreateIndex { .. } | SchemaChange::Mismatch { .. } => {}
                }
            }
            create_indexes_in::<C::Backend>(c, meta)
        })
    })
}

pub(crate) fn schema_diff<C: Conn, T: Record>(conn: &C) -> Result<SchemaDiff> {
    let meta = T::__META;
    conn.with_connection(|c| diff_in_file::<C::Backend>(c, meta))
}

pub(crate) fn rebuild_table<C: Conn, T: Record>(conn: &C) -> Result<RebuildReport> {
    conn.with_connection(|c| {
        C::Backend::rebuild_table(c, T::__META, |row| {
            read_row::<C::Backend, T>(row, 0).map(drop)
        })
    })
}

pub(crate) fn drop_table<C: Conn, T: Record>(conn: &C) -> Result<()> {
    let mut sql = String::from("DROP TABLE IF EXISTS ");
    push_ident(&mut sql, T::__META.name);
    conn.with_connection(|c| execute_ddl::<C::Backend>(c, T::__META.name, &sql))
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
