//! Whole-row operations: insert, insert_many, get, update_row.

use crate::backend::{Backend, Dialect};
use crate::conn::Conn;
use crate::error::{Error, Result};
use crate::exec::Stmt;
use crate::key::IntoKey;
use crate::record::{Record, read_row};
use crate::stamp::Write;
use crate::statements::{InsertKind, multi_row_insert};
use crate::table::HasPrimaryKey;
use crate::value::{ToValue, Value};

/// Runs the insert `sql` for one row: returns (rows changed, last inserted key).
pub(crate) fn write_one<C: Conn, T: Record>(conn: &C, sql: &str, row: &T) -> Result<(usize, i64)> {
    write_one_skipping(conn, sql, row, 0)
}

/// [`write_one`], the binder skipping parameter `skip` (0: none; see
/// [`Backend::set_bind_skip`]).
fn write_one_skipping<C: Conn, T: Record>(
    conn: &C,
    sql: &str,
    row: &T,
    skip: usize,
) -> Result<(usize, i64)> {
    let write = Write::insert(T::__META);
    conn.with_connection(|c| {
        crate::files::scope::<C::Backend, _>(conn.files_folder(), c, T::__HAS_FILES, || {
            let changed = Stmt::write(T::__META, sql).execute::<C::Backend>(c, |s| {
                C::Backend::set_bind_skip(s, skip);
                row.__bind::<C::Backend>(s, write)
            })?;
            Ok((changed, C::Backend::last_insert_id(c)))
        })
    })
}

/// Runs the insert `sql` once per row, in one transaction with one prepared
/// statement: all rows or none, all with one stamp. Returns the total of
/// rows changed.
pub(crate) fn write_many<'r, C: Conn, T: Record>(
    conn: &C,
    sql: &str,
    rows: impl IntoIterator<Item = &'r T>,
) -> Result<usize> {
    let write = Write::insert(T::__META);
    conn.with_connection(|c| {
        crate::files::scope::<C::Backend, _>(conn.files_folder(), c, T::__HAS_FILES, || {
            Stmt::write(T::__META, sql)
                .execute_each::<C::Backend, _>(c, rows, |s, row| row.__bind::<C::Backend>(s, write))
        })
    })
}

pub(crate) fn insert<C: Conn, T: Record>(
    conn: &C,
    row: &T,
    kind: InsertKind,
) -> Result<(usize, i64)> {
    // A row without its key, on an engine that reads the key back: the
    // statement that leaves the key to its identity default (a constant
    // `false` on SQLite, where the branch goes away).
    if <C::Backend as Backend>::Dialect::INSERT_RETURNS_KEY
        && row.__key_absent()
        && let Some((sql, skip)) = T::__sql().insert_keyless::<C::Backend>(T::__META, kind)
    {
        return write_one_skipping(conn, sql, row, skip);
    }
    write_one(conn, T::__sql().insert::<C::Backend>(T::__META, kind), row)
}

pub(crate) fn insert_many<'r, C: Conn, T: Record>(
    conn: &C,
    rows: impl IntoIterator<Item = &'r T>,
    kind: InsertKind,
) -> Result<usize> {
    if C::Backend::BULK_INSERT {
        return conn.with_connection(|c| {
            crate::files::scope::<C::Backend, _>(conn.files_folder(), c, T::__HAS_FILES, || {
                C::Backend::insert_rows::<T>(c, rows, kind.conflict())
            })
        });
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
    let write = Write::insert(T::__META);
    Stmt::write(T::__META, T::__sql().insert::<B>(T::__META, kind)).execute_each::<B, _>(
        conn,
        rows,
        |s, row| row.__bind::<B>(s, write),
    )
}

/// The multi-row `insert_many` of a backend with a bulk form
/// ([`Backend::BULK_INSERT`]): the rows in chunks of `per_chunk` rows, each
/// chunk one `INSERT ... VALUES (..), (..)` ([`multi_row_insert`]), one cached
/// statement for the full chunks and at most one for the remainder, all in
/// one transaction (a savepoint inside an open one): all rows or none. A
/// batch of fewer than `single_below` rows takes the per-row path
/// ([`insert_each`]), which is faster there (see BENCHMARKS.md).
pub(crate) fn insert_chunked<'r, B: Backend, T: Record + 'r>(
    conn: &crate::conn::ConnOf<B>,
    rows: impl IntoIterator<Item = &'r T>,
    conflict: crate::backend::Conflict,
    per_chunk: usize,
    single_below: usize,
) -> Result<usize> {
    let meta = T::__META;
    let columns = meta.columns.len();
    let rows: Vec<&T> = rows.into_iter().collect();
    if columns == 0 || rows.len() < single_below {
        return insert_each::<B, T>(conn, rows, conflict);
    }
    let per_chunk = per_chunk.max(1);
    let write = Write::insert(meta);
    let mut full: Option<String> = None;
    crate::conn::atomically::<B, _>(conn, Some(meta.name), |c| {
        let mut total = 0;
        for chunk in rows.chunks(per_chunk) {
            let remainder;
            let sql: &str = if chunk.len() == per_chunk {
                full.get_or_insert_with(|| multi_row_insert::<B>(meta, conflict, per_chunk))
            } else {
                remainder = multi_row_insert::<B>(meta, conflict, chunk.len());
                &remainder
            };
            total += Stmt::write(meta, sql)
                .execute::<B>(c, |s| {
                    for (k, row) in chunk.iter().enumerate() {
                        B::set_bind_offset(s, k * columns);
                        row.__bind::<B>(s, write)?;
                    }
                    B::set_bind_offset(s, 0);
                    Ok(())
                })
                .map_err(|e| shorten_sql(e, chunk.len()))?;
        }
        Ok(total)
    })
}

/// An error of a multi-row insert of `rows` rows, its SQL cut to the first
/// row's values (a full statement runs to thousands of placeholders).
pub(crate) fn shorten_sql(mut error: Error, rows: usize) -> Error {
    if rows < 2 {
        return error;
    }
    if let Error::Constraint { sql, .. }
    | Error::Sqlite { sql, .. }
    | Error::Busy { sql, .. }
    | Error::Locked { sql, .. }
    | Error::ReadOnly { sql, .. }
    | Error::Postgres { sql, .. }
    | Error::Serialization { sql, .. } = &mut error
        && let Some(end) = sql.find("), (")
    {
        sql.truncate(end + 1);
        sql.push_str(&format!(", ... ({rows} rows in one statement)"));
    }
    error
}

pub(crate) fn insert_returning<C: Conn, T: Record>(conn: &C, row: &T) -> Result<T> {
    let meta = T::__META;
    let sql = T::__sql().insert::<C::Backend>(meta, InsertKind::Returning);
    let write = Write::insert(meta);
    let mut stored = None;
    conn.with_connection(|c| {
        crate::files::scope::<C::Backend, _>(conn.files_folder(), c, T::__HAS_FILES, || {
            Stmt::write(meta, sql).all_rows::<C::Backend>(
                c,
                |s| row.__bind::<C::Backend>(s, write),
                |r, _| {
                    stored = Some(read_row::<C::Backend, T>(r, 0)?);
                    Ok(false)
                },
            )
        })
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
        crate::files::scope::<C::Backend, _>(conn.files_folder(), c, T::__HAS_FILES, || {
            Stmt::read(meta.name, sql).all_rows::<C::Backend>(
                c,
                |s| bind_key::<C::Backend>(s, key.as_ref(), meta.name),
                |row, _| {
                    found = Some(read_row::<C::Backend, T>(row, 0)?);
                    Ok(false)
                },
            )
        })
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
    let write = Write::update(meta);
    let changed = conn.with_connection(|c| {
        crate::files::scope::<C::Backend, _>(conn.files_folder(), c, T::__HAS_FILES, || {
            Stmt::write(meta, sql).execute::<C::Backend>(c, |s| row.__bind::<C::Backend>(s, write))
        })
    })?;
    if changed == 0 {
        return Err(Error::NotFound {
            table: meta.name.to_owned(),
            key: row.__describe_key(),
        });
    }
    Ok(())
}
