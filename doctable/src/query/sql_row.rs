//! A whole statement of raw SQL read into any row shape:
//! `select_sql::<(String, i64)>("SELECT ..", params, &db)`.

use super::for_all_rows;
use crate::backend::Backend;
use crate::column_type::ColumnType;
use crate::conn::Conn;
use crate::error::{Error, Result};
use crate::fragment::Fragment;
use crate::raw::{RawParams, SqlText};
use crate::record::Record;

/// What one row of [`select_sql`] reads as: a tuple of up to 12 column types
/// (`(String, i64)`, `(Option<i64>,)` for one column), or a
/// `#[derive(DocTable)]` struct (its stored columns in declaration order).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a row of `select_sql`",
    label = "expected a tuple of column types or a `#[derive(DocTable)]` struct",
    note = "one column reads as a 1-tuple: `select_sql::<(i64,)>(..)`"
)]
pub trait SqlRow: Sized {
    /// How many columns a row has.
    #[doc(hidden)]
    fn columns() -> usize;
    /// The table named in an error: the struct's, or `(select_sql)`.
    #[doc(hidden)]
    fn label() -> &'static str;
    /// Reads one row.
    #[doc(hidden)]
    fn read<B: Backend>(row: &B::Row<'_>) -> Result<Self>;
}

impl<T: Record> SqlRow for T {
    fn columns() -> usize {
        T::__META.columns.len()
    }
    fn label() -> &'static str {
        T::__META.name
    }
    fn read<B: Backend>(row: &B::Row<'_>) -> Result<T> {
        crate::record::read_row::<B, T>(row, 0)
    }
}

/// The table name raw statements read into tuples are reported under.
const LABEL: &str = "(select_sql)";

/// Reads column `index` of a tuple row: a value that does not fit is a
/// conversion error naming the column as the statement names it.
fn read_column<B: Backend, V: ColumnType>(row: &B::Row<'_>, index: usize) -> Result<V> {
    let value = B::value_at(row, index, LABEL)?;
    V::from_sql(value).map_err(|e| {
        let column = B::column_name(row, index).unwrap_or_else(|| format!("column {}", index + 1));
        e.at(LABEL, &column)
    })
}

macro_rules! tuple_row {
    ($count:literal: $($name:ident $index:tt),+) => {
        impl<$($name: ColumnType),+> SqlRow for ($($name,)+) {
            fn columns() -> usize {
                $count
            }
            fn label() -> &'static str {
                LABEL
            }
            fn read<__B: Backend>(row: &__B::Row<'_>) -> Result<Self> {
                Ok(($(read_column::<__B, $name>(row, $index)?,)+))
            }
        }
    };
}
tuple_row!(1: A 0);
tuple_row!(2: A 0, B 1);
tuple_row!(3: A 0, B 1, C 2);
tuple_row!(4: A 0, B 1, C 2, D 3);
tuple_row!(5: A 0, B 1, C 2, D 3, E 4);
tuple_row!(6: A 0, B 1, C 2, D 3, E 4, F 5);
tuple_row!(7: A 0, B 1, C 2, D 3, E 4, F 5, G 6);
tuple_row!(8: A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
tuple_row!(9: A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8);
tuple_row!(10: A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9);
tuple_row!(11: A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10);
tuple_row!(12: A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11);

/// Runs a whole statement of raw SQL and reads every row as `R`: a tuple of
/// column types or a `#[derive(DocTable)]` struct (see [`SqlRow`]). The
/// escape hatch for a query the typed builder cannot write (a self-join, a
/// window function, a `UNION`).
///
/// The text must be a string literal (see [`SqlText`]); values go in
/// `params`, one per `?` (see [`RawParams`]; `()` for none). Each backend
/// renders the `?` as its own placeholders. The statement must give exactly
/// the columns `R` reads ([`Error::Usage`] otherwise), and a value that does
/// not fit is [`Error::Conversion`] naming the column as the statement names
/// it (for a struct: its table and field), as the typed queries do.
///
/// ```
/// use doctable::{DocTable, Persistent, select_sql};
///
/// #[derive(DocTable, Debug, Clone, PartialEq)]
/// #[doctable(table = "words")]
/// struct Word { #[doctable(primary_key)] id: Option<i64>, text: String, count: i64 }
///
/// let db = Persistent::open_in_memory()?;
/// Word::create_table(&db)?;
/// Word::insert_many(&db, &[
///     Word { id: None, text: "a".into(), count: 3 },
///     Word { id: None, text: "bb".into(), count: 4 },
/// ])?;
///
/// let per_length: Vec<(i64, i64)> = select_sql(
///     "SELECT length(\"text\"), sum(\"count\") FROM \"words\" GROUP BY 1 ORDER BY 1",
///     (),
///     &db,
/// )?;
/// assert_eq!(per_length, [(1, 3), (2, 4)]);
///
/// // Into a struct: its columns, in order.
/// let long = select_sql::<Word>(
///     "SELECT \"id\", upper(\"text\"), \"count\" FROM \"words\" WHERE \"count\" > ?",
///     [3],
///     &db,
/// )?;
/// assert_eq!(long, [Word { id: Some(2), text: "BB".into(), count: 4 }]);
/// # Ok::<(), doctable::Error>(())
/// ```
pub fn select_sql<R: SqlRow>(
    sql: impl SqlText,
    params: impl RawParams,
    conn: &impl Conn,
) -> Result<Vec<R>> {
    let sql = sql.text();
    let label = R::label();
    let params = params
        .into_values()
        .map_err(|detail| Error::conversion(label, "(select_sql parameter)", detail))?;
    let q = Fragment {
        sql: sql.to_owned(),
        slots: crate::dialect::param_slots(sql),
        params,
        ..Fragment::default()
    };
    run(conn, label, &q)
}

fn run<C: Conn, R: SqlRow>(conn: &C, label: &'static str, q: &Fragment) -> Result<Vec<R>> {
    let mut out = Vec::new();
    conn.with_connection(|c| {
        for_all_rows::<C::Backend>(c, label, None, q, |row, total| {
            if out.is_empty() {
                super::reserve_once(&mut out, total);
                check_width::<C::Backend, R>(row, q)?;
            }
            out.push(R::read::<C::Backend>(row)?);
            Ok(true)
        })
    })?;
    Ok(out)
}

/// Whether the statement's rows have exactly the columns `R` reads (checked
/// on the first row).
fn check_width<B: Backend, R: SqlRow>(row: &B::Row<'_>, q: &Fragment) -> Result<()> {
    let n = R::columns();
    let has = |i: usize| B::column_name(row, i).is_some();
    if n > 0 && !has(n - 1) {
        let given = (0..n).take_while(|&i| has(i)).count();
        return Err(Error::Usage(format!(
            "select_sql: the statement gives {given} column(s), but the row type reads {n}: {}",
            q.sql
        )));
    }
    if has(n) {
        let given = (n..).take_while(|&i| has(i)).count() + n;
        return Err(Error::Usage(format!(
            "select_sql: the statement gives {given} columns, but the row type reads {n}: {}",
            q.sql
        )));
    }
    Ok(())
}
