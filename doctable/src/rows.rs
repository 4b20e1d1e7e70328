//! Whole-row operations: insert, insert_many, get, update_row.

use crate::backend::Backend;
use crate::conn::Conn;
use crate::error::{Error, Result};
use crate::exec::Stmt;
use crate::key::IntoKey;
use crate::record::{Record, read_row};
use crate::statements::InsertKind;
use crate::table::HasPrimaryKey;
use crate::value::{ToValue, Value};

/// Runs the row statement `sql` for one row: returns (rows changed, last inserted key).
pub(crate) fn write_one<C: Conn, T: Record>(conn: &C, sql: &str, row: &T) -> Result<(usize, i64)> {
    conn.with_connection(|c| {
        let changed = Stmt::write(T::__META, sql)
            .execute::<C::Backend>(c, |s| row.__bind::<C::Backend>(s))?;
        Ok((changed, C::Backend::last_insert_id(c)))
    })
}

/// Runs the row statement `sql` once per row, in one transaction with one
/// prepared statement: all rows or none. Returns the total of rows changed.
pub(crate) fn write_many<'r, C: Conn, T: Record>(
    conn: &C,
    sql: &str,
    rows: impl IntoIterator<Item = &'r T>,
) -> Result<usize> {
    conn.with_connection(|c| {
        Stmt::write(T::__META, sql)
            .execute_each::<C::Backend, _>(c, rows, |s, row| row.__bind::<C::Backend>(s))
    })
}

pub(crate) fn insert<C: Conn, T: Record>(
    conn: &C,
    row: &T,
    kind: InsertKind,
) -> Result<(usize, i64)> {
    write_one(conn, T::__sql().insert::<C::Backend>(T::__META, kind), row)
}

pub(crate) fn insert_many<'r, C: Conn, T: Record>(
    conn: &C,
    rows: impl IntoIterator<Item = &'r T>,
    kind: InsertKind,
) -> Result<usize> {
    if C::Backend::BULK_INSERT {
        return conn.with_connection(|c| C::Backend::insert_rows::<T>(c, rows, kind.conflict()));
    }
    write_many(conn, T::__sql().insert::<C::Backend>(T::__META, kind), rows)
}

/// The per-row `insert_many`: the single-row statement for `conflict`,
/// prepared once and run per row in one transaction.
pub(crate) fn insert_each<'r, B: Backend, T: Record + 'r>(
    conn: &crate::conn::ConnOf<B>,
    rows: impl IntoIterator<Item = &'r T>,
    conflict: crate::backend::Conflict,
) -> Result<usize> {
    let kind = InsertKind::of_conflict(conflict);
    Stmt::write(T::__META, T::__sql().insert::<B>(T::__META, kind)).execute_each::<B, _>(
        conn,
        rows,
        |s, row| row.__bind::<B>(s),
    )
}

pub(crate) fn insert_returning<C: Conn, T: Record>(conn: &C, row: &T) -> Result<T> {
    let meta = T::__META;
    let sql = T::__sql().insert::<C::Backend>(meta, InsertKind::Returning);
    let mut stored = None;
    conn.with_connection(|c| {
        Stmt::write(meta, sql).rows::<C::Backend>(
            c,
            |s| row.__bind::<C::Backend>(s),
            |r| {
                stored = Some(read_row::<C::Backend, T>(r, 0)?);
                Ok(false)
            },
        )
    })?;
    stored.ok_or_else(|| {
        Error::Usage(format!(
            "table `{}`: INSERT ... RETURNING returned no row",
            meta.name
        ))
    })
}

/// Binds the key's values to parameters `1..`.
#[inline(always)]
fn bind_key<B: Backend>(s: &mut B::Binder<'_>, key: &[Value], table: &str) -> Result<()> {
    for (i, value) in key.iter().enumerate() {
        B::bind(s, i + 1, ToValue::Borrowed(value.as_ref()), table)?;
    }
    Ok(())
}

/// The row of `T` whose primary key is `key`.
pub(crate) fn get<C: Conn, T: HasPrimaryKey, K: IntoKey<T, T::Key>>(
    conn: &C,
    key: K,
) -> Result<Option<T>> {
    let meta = T::__META;
    let sql = T::__sql().get::<C::Backend>(meta);
    let key = key.into_key_values(meta)?;
    let mut found = None;
    conn.with_connection(|c| {
        Stmt::read(meta.name, sql).rows::<C::Backend>(
            c,
            |s| bind_key::<C::Backend>(s, key.as_ref(), meta.name),
            |row| {
                found = Some(read_row::<C::Backend, T>(row, 0)?);
                Ok(false)
            },
        )
    })?;
    Ok(found)
}

/// Deletes the row of `T` whose primary key is `key`; whether there was one.
pub(crate) fn delete_key<C: Conn, T: HasPrimaryKey, K: IntoKey<T, T::Key>>(
    conn: &C,
    key: K,
) -> Result<bool> {
    let meta = T::__META;
    let sql = T::__sql().delete_key::<C::Backend>(meta);
    let key = key.into_key_values(meta)?;
    let changed = conn.with_connection(|c| {
        Stmt::write(meta, sql)
            .execute::<C::Backend>(c, |s| bind_key::<C::Backend>(s, key.as_ref(), meta.name))
    })?;
    Ok(changed > 0)
}

/// Writes `row` over the stored row with its primary key.
pub(crate) fn update_row<C: Conn, T: HasPrimaryKey>(conn: &C, row: &T) -> Result<()> {
    let meta = T::__META;
    if meta.primary_key.is_empty() {
        return Err(Error::Usage(format!(
            "table `{}` has no primary key",
            meta.name
        )));
    }
    let sql = T::__sql().update_row::<C::Backend>(meta);
    let changed = conn.with_connection(|c| {
        Stmt::write(meta, sql).execute::<C::Backend>(c, |s| row.__bind::<C::Backend>(s))
    })?;
    if changed == 0 {
        return Err(Error::NotFound {
            table: meta.name.to_owned(),
            key: row.__describe_key(),
        });
    }
    Ok(())
}
