//! Query builders: select, count, update, delete.

pub(crate) mod checked;
mod export;
mod join;
mod limit;
mod modify;
mod select;
mod selection;
mod sql_row;
mod stream;
mod subquery;
mod upsert;

#[cfg(feature = "arrow")]
pub use export::DEFAULT_BATCH_ROWS;
#[doc(hidden)]
pub use export::ExportColumn;
#[doc(hidden)]
pub use join::{Append, JoinRead, No, Optional, Step, Tables, Yes};
pub use join::{
    Here, InQuery, Inner, Join, JoinKind, JoinSelection, Joinable, Left, Outer, Picked, Right,
    Whole,
};
pub use limit::RowCount;
pub use modify::{Delete, Filtered, RowsChosen, Unfiltered, Update};
pub use select::{Count, Select};
pub use selection::{AllColumns, Selection};
pub use sql_row::{SqlRow, select_sql};
pub use stream::ScanStep;
pub use subquery::{Comparable, Correlated, Subquery, exists, not_exists};
pub use upsert::{ColumnList, Upsert};

use crate::backend::{Backend, Dialect};
use crate::conn::ConnOf;
use crate::error::{Error, Result};
use crate::exec::Stmt;
use crate::fragment::Fragment;
use crate::meta::TableMeta;
use crate::value::Value;

/// Fails with the first conversion error met while the query was built.
fn check(table: &str, fragment: &Fragment) -> Result<()> {
    match &fragment.error {
        Some(e) if e.usage => Err(Error::Usage(format!("table `{table}`: {}", e.detail))),
        Some(e) => Err(Error::conversion(table, &e.column, &e.detail)),
        None => Ok(()),
    }
}

/// Renders `q` for backend `B`, binds its parameters and calls `each` per row
/// until it returns `false`. `keys` is the table written to, for a write that
/// reads rows back (`RETURNING`).
fn for_rows<B: Backend>(
    conn: &ConnOf<B>,
    table: &str,
    keys: Option<&TableMeta>,
    q: &Fragment,
    each: impl FnMut(&B::Row<'_>) -> Result<bool>,
) -> Result<()> {
    let sql = B::Dialect::render_fragment(q);
    let stmt = Stmt {
        table,
        sql: &sql,
        keys,
    };
    stmt.rows::<B>(conn, |s| stmt.bind_params::<B>(s, &q.params), each)
}

/// [`for_rows`] for a caller that keeps every row it is given and runs no
/// code of the user's between rows (see [`Backend::all_rows`]): the result
/// may be read in one go, and `each` is also given the number of rows in it
/// where the backend knows that before the first (else 0).
fn for_all_rows<B: Backend>(
    conn: &ConnOf<B>,
    table: &str,
    keys: Option<&TableMeta>,
    q: &Fragment,
    each: impl FnMut(&B::Row<'_>, usize) -> Result<bool>,
) -> Result<()> {
    let sql = B::Dialect::render_fragment(q);
    let stmt = Stmt {
        table,
        sql: &sql,
        keys,
    };
    stmt.all_rows::<B>(conn, |s| stmt.bind_params::<B>(s, &q.params), each)
}

/// Makes room for a result of `total` rows before its first is pushed.
#[inline]
pub(crate) fn reserve_once<R>(out: &mut Vec<R>, total: usize) {
    if out.capacity() == 0 {
        out.reserve_exact(total);
    }
}

/// Renders `q` for backend `B`, binds its parameters, executes it as a write
/// to the table of `meta`: the number of rows changed.
fn execute<B: Backend>(conn: &ConnOf<B>, meta: &TableMeta, q: &Fragment) -> Result<usize> {
    let sql = B::Dialect::render_fragment(q);
    let stmt = Stmt::write(meta, &sql);
    stmt.execute::<B>(conn, |s| stmt.bind_params::<B>(s, &q.params))
}

/// `SELECT <all columns> FROM <table> <sql>` with bound parameters.
pub(crate) fn select_sql_tail<C: crate::conn::Conn, T: crate::record::Record>(
    conn: &C,
    sql: &'static str,
    params: Vec<Value>,
) -> Result<Vec<T>> {
    let meta = T::__META;
    let mut q = Fragment::default();
    q.sql.push_str("SELECT ");
    q.sql.push_str(T::__sql().columns(meta));
    q.sql.push_str(" FROM ");
    crate::dialect::push_ident(&mut q.sql, meta.name);
    q.sql.push(' ');
    let base = q.sql.len();
    q.sql.push_str(sql);
    q.slots = crate::dialect::param_slots(sql)
        .into_iter()
        .map(|at| at + base)
        .collect();
    q.params = params;
    let mut out = Vec::new();
    conn.with_connection(|c| {
        crate::files::scope::<C::Backend, _>(conn.files_folder(), c, T::__HAS_FILES, || {
            for_all_rows::<C::Backend>(c, meta.name, None, &q, |row, total| {
                reserve_once(&mut out, total);
                out.push(crate::record::read_row::<C::Backend, T>(row, 0)?);
                Ok(true)
            })
        })
    })?;
    Ok(out)
}
