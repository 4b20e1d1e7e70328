//! The opt-in rebuild: for changes `ALTER TABLE ADD COLUMN` cannot make.
//!
//! It follows SQLite's procedure for "other kinds of table schema changes"
//! (<https://sqlite.org/lang_altertable.html#otheralter>): foreign key checks
//! off, then in one transaction: create the new table, copy the rows, drop the
//! old table, rename the new one, recreate the indexes, check foreign keys;
//! commit; foreign key checks back as they were.

use rusqlite::Connection;

use super::reflect::{TableSchema, reflect};
use super::{create_indexes, create_table_sql, execute};
use crate::backend::Dialect;
use crate::conn::{Conn, atomically};
use crate::dialect::push_ident;
use crate::error::{Error, Result, SqlContext};
use crate::sqlite::{Affinity, Sqlite, SqliteDialect};
use crate::table::TableMeta;
use crate::value::SqlType;

/// What [`DocTable::rebuild_table`](crate::DocTable::rebuild_table) did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RebuildReport {
    /// Rows copied into the rebuilt table.
    pub rows: usize,
    /// Columns of the old table that the struct no longer has: their data is gone.
    pub dropped_columns: Vec<String>,
    /// Columns whose type changed; every value converted.
    pub converted_columns: Vec<String>,
    /// Columns the struct added (filled with their default, or NULL).
    pub added_columns: Vec<String>,
    /// Indexes and triggers made outside the struct (by other programs or by
    /// hand), recreated on the rebuilt table.
    pub recreated: Vec<String>,
}

/// The `typeof()` results a value may have after conversion to `ty`.
fn storage_names(ty: SqlType) -> &'static str {
    match Affinity::of_type(ty) {
        Affinity::Integer => "'integer'",
        Affinity::Real => "'real', 'integer'",
        Affinity::Text => "'text'",
        Affinity::Blob => "'blob', 'text', 'integer', 'real'",
    }
}

/// Rebuilds the table of `meta` on a SQLite connection.
pub(crate) fn rebuild(conn: &Connection, meta: &TableMeta) -> Result<RebuildReport> {
    conn.with_connection(|c| {
        if !c.is_autocommit() {
            return Err(Error::Usage(format!(
                "table `{}`: rebuild_table must run outside a transaction, because it turns \
                 foreign key checks off while it works (SQLite ignores that inside a transaction)",
                meta.name
            )));
        }
        let fk_sql = "PRAGMA foreign_keys";
        let foreign_keys: bool = c
            .query_row(fk_sql, [], |r| r.get(0))
            .in_sql(Some(meta.name), fk_sql)?;
        c.pragma_update(None, "foreign_keys", false)
            .in_sql(Some(meta.name), "PRAGMA foreign_keys = OFF")?;
        let result =
            atomically::<Sqlite, _>(c, Some(meta.name), |c| match reflect(c, meta.name)? {
                None => {
                    execute(
                        c,
                        meta.name,
                        &create_table_sql::<SqliteDialect>(meta, meta.name),
                    )?;
                    create_indexes(c, meta)?;
                    Ok(RebuildReport::default())
                }
                Some(old) => copy_into_new_table(c, meta, &old),
            });
        let restore = c
            .pragma_update(None, "foreign_keys", foreign_keys)
            .in_sql(Some(meta.name), "PRAGMA foreign_keys");
        let report = result?;
        restore?;
        Ok(report)
    })
}

fn copy_into_new_table(
    c: &Connection,
    meta: &TableMeta,
    old: &TableSchema,
) -> Result<RebuildReport> {
    let table = meta.name;
    let temp = format!("{table}__doctable_rebuild");
    let mut report = RebuildReport::default();
    execute(c, table, &{
        let mut sql = String::from("DROP TABLE IF EXISTS ");
        push_ident(&mut sql, &temp);
        sql
    })?;
    execute(c, table, &create_table_sql::<SqliteDialect>(meta, &temp))?;

    let mut columns = String::new();
    for column in meta.columns {
        match old.column(column.name) {
            Some(disk) => {
                if !columns.is_empty() {
                    columns.push_str(", ");
                }
                push_ident(&mut columns, column.name);
                if !SqliteDialect::same_type(&disk.declared_type, column.sql_type) {
                    report.converted_columns.push(column.name.to_owned());
                }
            }
            None => report.added_columns.push(column.name.to_owned()),
        }
    }
    report.dropped_columns = old
        .columns
        .iter()
        .filter(|d| {
            !meta
                .columns
                .iter()
                .any(|c| c.name.eq_ignore_ascii_case(&d.name))
        })
        .map(|d| d.name.clone())
        .collect();

    let mut copy = String::from("INSERT INTO ");
    push_ident(&mut copy, &temp);
    copy.push_str(" (");
    copy.push_str(&columns);
    copy.push_str(") SELECT ");
    copy.push_str(&columns);
    copy.push_str(" FROM ");
    push_ident(&mut copy, table);
    report.rows = c.execute(&copy, []).in_sql(Some(table), &copy)?;

    // Column affinity converts what it can and keeps the rest as it was; a
    // value left in another storage class did not convert, and the rebuild stops.
    for name in &report.converted_columns {
        let Some(column) = meta.columns.iter().find(|c| c.name == name.as_str()) else {
            continue;
        };
        let mut check = String::from("SELECT count(*) FROM ");
        push_ident(&mut check, &temp);
        check.push_str(" WHERE ");
        push_ident(&mut check, name);
        check.push_str(" IS NOT NULL AND typeof(");
        push_ident(&mut check, name);
        check.push_str(") NOT IN (");
        check.push_str(storage_names(column.sql_type));
        check.push(')');
        let unconverted: i64 = c
            .query_row(&check, [], |r| r.get(0))
            .in_sql(Some(table), &check)?;
        if unconverted > 0 {
            return Err(Error::conversion(
                table,
                name,
                format!(
                    "{unconverted} stored values do not convert to {}; the rebuild was rolled back and nothing changed",
                    SqliteDialect::type_name(column.sql_type)
                ),
            ));
        }
    }

    // What DROP TABLE takes with it besides the rows: indexes the struct does
    // not declare, triggers, and the AUTOINCREMENT high-water mark.
    let others_sql = "SELECT name, sql FROM sqlite_schema WHERE tbl_name = ?1 COLLATE NOCASE \
                      AND type IN ('index', 'trigger') AND sql IS NOT NULL";
    let others: Vec<(String, String)> = {
        let mut stmt = c.prepare(others_sql).in_sql(Some(table), others_sql)?;
        let rows = stmt
            .query_map([table], |r| Ok((r.get(0)?, r.get(1)?)))
            .in_sql(Some(table), others_sql)?;
        rows.collect::<rusqlite::Result<Vec<(String, String)>>>()
            .in_sql(Some(table), others_sql)?
            .into_iter()
            .filter(|(name, _)| {
                !meta
                    .indexes
                    .iter()
                    .any(|i| i.name.eq_ignore_ascii_case(name))
            })
            .collect()
    };
    let sequence: Option<i64> = if reflect(c, "sqlite_sequence")?.is_some() {
        let sql = "SELECT max(seq) FROM sqlite_sequence WHERE name = ?1 COLLATE NOCASE";
        c.query_row(sql, [table], |r| r.get(0))
            .in_sql(Some(table), sql)?
    } else {
        None
    };

    let mut swap = String::from("DROP TABLE ");
    push_ident(&mut swap, table);
    swap.push_str("; ALTER TABLE ");
    push_ident(&mut swap, &temp);
    swap.push_str(" RENAME TO ");
    push_ident(&mut swap, table);
    execute(c, table, &swap)?;
    create_indexes(c, meta)?;
    for (name, sql) in others {
        if let Err(e) = c.execute_batch(&sql) {
            return Err(Error::Usage(format!(
                "table `{table}`: the rebuild cannot keep \"{name}\" ({e}); drop or change it \
                 first; the rebuild was rolled back and nothing changed\n    SQL: {sql}"
            )));
        }
        report.recreated.push(name);
    }
    if let Some(seq) = sequence
        && meta.columns.iter().any(|col| col.autoincrement)
    {
        let sql = "UPDATE sqlite_sequence SET seq = max(seq, ?2) WHERE name = ?1 COLLATE NOCASE";
        let updated = c
            .execute(sql, rusqlite::params![table, seq])
            .in_sql(Some(table), sql)?;
        if updated == 0 {
            let sql = "INSERT INTO sqlite_sequence (name, seq) VALUES (?1, ?2)";
            c.execute(sql, rusqlite::params![table, seq])
                .in_sql(Some(table), sql)?;
        }
    }

    let check = "SELECT \"table\", rowid, parent FROM pragma_foreign_key_check";
    let broken: Option<(String, i64, String)> = {
        let mut stmt = c.prepare(check).in_sql(Some(table), check)?;
        let mut rows = stmt.query([]).in_sql(Some(table), check)?;
        match rows.next().in_sql(Some(table), check)? {
            Some(r) => Some((
                r.get(0).in_sql(Some(table), check)?,
                r.get::<_, Option<i64>>(1)
                    .in_sql(Some(table), check)?
                    .unwrap_or_default(),
                r.get(2).in_sql(Some(table), check)?,
            )),
            None => None,
        }
    };
    if let Some((child, rowid, parent)) = broken {
        return Err(Error::Usage(format!(
            "table `{table}`: after the rebuild, row {rowid} of `{child}` refers to a missing row of `{parent}`; \
             the rebuild was rolled back and nothing changed"
        )));
    }
    Ok(report)
}
