//! Reading a table's schema back from the database file.

use rusqlite::Connection;

pub(crate) use crate::catalog::{ColumnInfo, ForeignKeyInfo, IndexInfo, TableSchema};
use crate::error::{Result, SqlContext};

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
