//! Query builders: select, count, update, delete.

mod join;
mod modify;
mod select;
mod selection;
mod upsert;

pub use join::{InQuery, Inner, Join, JoinKind, Joinable, Left, Outer, Right};
pub use modify::{Delete, Filtered, RowsChosen, Unfiltered, Update};
pub use select::{Count, Select};
pub use selection::{AllColumns, Selection};
pub use upsert::{ColumnList, Upsert};

use rusqlite::types::Value;
use rusqlite::{Connection, Row};

use crate::error::{Error, Result, SqlContext};
use crate::expr::Fragment;

/// Fails with the first conversion error met while the query was built.
fn check(table: &str, fragment: &Fragment) -> Result<()> {
    match &fragment.error {
        Some(e) => Err(Error::conversion(table, &e.column, &e.detail)),
        None => Ok(()),
    }
}

/// Binds every parameter, after checking there is exactly one value per
/// placeholder (raw SQL could otherwise leave one silently NULL).
fn bind_all(
    stmt: &mut rusqlite::Statement<'_>,
    table: &str,
    sql: &str,
    params: &[Value],
) -> Result<()> {
    let expected = stmt.parameter_count();
    if expected != params.len() {
        return Err(Error::Usage(format!(
            "table `{table}`: the SQL has {expected} parameter(s) but {} value(s) were given\n    SQL: {sql}",
            params.len()
        )));
    }
    for (i, p) in params.iter().enumerate() {
        stmt.raw_bind_parameter(i + 1, p).in_sql(Some(table), sql)?;
    }
    Ok(())
}

/// Prepares (cached) `sql`, binds `params` and calls `each` per row until it returns `false`.
fn for_rows(
    conn: &Connection,
    table: &str,
    sql: &str,
    params: &[Value],
    mut each: impl FnMut(&Row<'_>) -> Result<bool>,
) -> Result<()> {
    let mut stmt = conn.prepare_cached(sql).in_sql(Some(table), sql)?;
    bind_all(&mut stmt, table, sql, params)?;
    let mut rows = stmt.raw_query();
    while let Some(row) = rows.next().in_sql(Some(table), sql)? {
        if !each(row)? {
            break;
        }
    }
    Ok(())
}

/// Prepares (cached) `sql`, binds `params`, executes, returns the changed row count.
fn execute(conn: &Connection, table: &str, sql: &str, params: &[Value]) -> Result<usize> {
    let mut stmt = conn.prepare_cached(sql).in_sql(Some(table), sql)?;
    bind_all(&mut stmt, table, sql, params)?;
    stmt.raw_execute().in_sql(Some(table), sql)
}

/// `SELECT <all columns> FROM <table> <sql>` with bound parameters.
pub(crate) fn select_sql<T: crate::table::DocTable>(
    conn: &impl crate::conn::Conn,
    sql: &'static str,
    params: &[Value],
) -> Result<Vec<T>> {
    let meta = T::META;
    let mut text = String::from("SELECT ");
    text.push_str(T::__sql().columns(meta));
    text.push_str(" FROM ");
    crate::dialect::push_ident(&mut text, meta.name);
    text.push(' ');
    text.push_str(sql);
    let mut out = Vec::new();
    conn.with_connection(|c| {
        for_rows(c, meta.name, &text, params, |row| {
            out.push(crate::table::read_row::<T>(row, 0)?);
            Ok(true)
        })
    })?;
    Ok(out)
}
