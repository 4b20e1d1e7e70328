//! Whole-row operations: insert, insert_many, get, update_row.

use rusqlite::types::Value;

use crate::column_type::ColumnType;
use crate::conn::{Conn, atomically};
use crate::error::{Error, Result, SqlContext};
use crate::expr::{IntoOperand, Operand};
use crate::statements::InsertKind;
use crate::table::{DocTable, HasPrimaryKey};

/// Runs the row statement `sql` for one row: returns (rows changed, last rowid).
pub(crate) fn write_one<T: DocTable>(conn: &impl Conn, sql: &str, row: &T) -> Result<(usize, i64)> {
    let table = T::META.name;
    conn.with_connection(|c| {
        let mut stmt = c.prepare_cached(sql).in_sql(Some(table), sql)?;
        row.__bind(&mut stmt)?;
        let changed = stmt.raw_execute().in_sql(Some(table), sql)?;
        Ok((changed, c.last_insert_rowid()))
    })
    .map_err(|e| e.with_foreign_keys(T::META))
}

/// Runs the row statement `sql` once per row, in one transaction with one
/// prepared statement: all rows or none. Returns the total of rows changed.
pub(crate) fn write_many<'r, T: DocTable>(
    conn: &impl Conn,
    sql: &str,
    rows: impl IntoIterator<Item = &'r T>,
) -> Result<usize> {
    let table = T::META.name;
    conn.with_connection(|c| {
        atomically(c, Some(table), |c| {
            let mut stmt = c.prepare_cached(sql).in_sql(Some(table), sql)?;
            let mut changed = 0;
            for row in rows {
                row.__bind(&mut stmt)?;
                changed += stmt.raw_execute().in_sql(Some(table), sql)?;
            }
            Ok(changed)
        })
    })
    .map_err(|e| e.with_foreign_keys(T::META))
}

pub(crate) fn insert<T: DocTable>(
    conn: &impl Conn,
    row: &T,
    kind: InsertKind,
) -> Result<(usize, i64)> {
    write_one(conn, T::__sql().insert(T::META, kind), row)
}

pub(crate) fn insert_many<'r, T: DocTable>(
    conn: &impl Conn,
    rows: impl IntoIterator<Item = &'r T>,
    kind: InsertKind,
) -> Result<usize> {
    write_many(conn, T::__sql().insert(T::META, kind), rows)
}

pub(crate) fn insert_returning<T: DocTable>(conn: &impl Conn, row: &T) -> Result<T> {
    let meta = T::META;
    let sql = T::__sql().insert(meta, InsertKind::Returning);
    conn.with_connection(|c| {
        let mut stmt = c.prepare_cached(sql).in_sql(Some(meta.name), sql)?;
        row.__bind(&mut stmt)?;
        let mut rows = stmt.raw_query();
        match rows.next().in_sql(Some(meta.name), sql)? {
            Some(stored) => crate::table::read_row::<T>(stored, 0),
            None => Err(Error::Usage(format!(
                "table `{}`: INSERT ... RETURNING returned no row",
                meta.name
            ))),
        }
    })
    .map_err(|e| e.with_foreign_keys(meta))
}

fn key_name<T: HasPrimaryKey>() -> &'static str {
    T::KEY.name()
}

pub(crate) fn get<T: HasPrimaryKey>(
    conn: &impl Conn,
    key: impl IntoOperand<T, T::Key>,
) -> Result<Option<T>> {
    let meta = T::META;
    let sql = T::__sql().get(meta, key_name::<T>());
    let key = match key.into_operand() {
        Operand::Value(v) => v,
        Operand::Invalid(detail) => {
            return Err(Error::conversion(meta.name, key_name::<T>(), detail));
        }
        Operand::Sql(_) => {
            return Err(Error::Usage(format!(
                "table `{}`: `get` takes a key value, not a column or expression; use `select().filter(..)`",
                meta.name
            )));
        }
    };
    conn.with_connection(|c| {
        let mut stmt = c.prepare_cached(sql).in_sql(Some(meta.name), sql)?;
        stmt.raw_bind_parameter(1, &key)
            .in_sql(Some(meta.name), sql)?;
        let mut rows = stmt.raw_query();
        match rows.next().in_sql(Some(meta.name), sql)? {
            Some(row) => crate::table::read_row::<T>(row, 0).map(Some),
            None => Ok(None),
        }
    })
}

pub(crate) fn update_row<T: HasPrimaryKey>(conn: &impl Conn, row: &T) -> Result<()> {
    let meta = T::META;
    let Some(key_index) = meta.primary_key else {
        return Err(Error::Usage(format!(
            "table `{}` has no primary key",
            meta.name
        )));
    };
    let sql = T::__sql().update_row(meta, key_index);
    conn.with_connection(|c| {
        let mut stmt = c.prepare_cached(sql).in_sql(Some(meta.name), sql)?;
        row.__bind(&mut stmt)?;
        let changed = stmt.raw_execute().in_sql(Some(meta.name), sql)?;
        if changed == 0 {
            return Err(Error::NotFound {
                table: meta.name.to_owned(),
                key: describe(row.__key()),
            });
        }
        Ok(())
    })
}

/// A key value as SQL would print it, for messages.
fn describe<V: ColumnType>(key: &V) -> String {
    match Operand::of(key) {
        Operand::Value(Value::Null) => "NULL (the row's key is not set)".to_owned(),
        Operand::Value(value) => crate::error::sql_literal((&value).into()),
        Operand::Sql(_) | Operand::Invalid(_) => "(unprintable key)".to_owned(),
    }
}
