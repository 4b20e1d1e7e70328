//! Typed columns and expressions: the pieces of `filter`, `order_by`, `set` and `select_cols`.
//!
//! `Column<T, V>` and `Expr<T, V>` carry the table `T` and the value type `V`
//! in their types, so a filter on another table's column, or a comparison with
//! a value of the wrong type, does not compile.

use std::fmt;
use std::marker::PhantomData;
use std::ops;

use crate::nested::{Comparable, Subquery};
use crate::raw::{RawParams, SqlText};
use crate::value::{SqlType, Value};

use crate::column_type::{ColumnType, Numeric, OrNull, Textual};
pub(crate) use crate::fragment::{DeferredError, Leaf};
pub(crate) use crate::fragment::{Fragment, Operand};
use crate::json::AsStored;
use crate::record::Record;

/// A column of table `T` holding values of type `V`: what `Doc::year` is.
///
/// The derive makes one associated constant per field. Comparison methods
/// (`eq`, `gt`, `like`, ...) build a condition [`Expr<T, bool>`] for `filter`.
///
/// `M` says how `select_cols` reads the column back (see [`ReadAs`](crate::ReadAs)):
/// as the stored type `V` itself ([`AsStored`](crate::AsStored), the default), or,
/// for a `#[doctable(json)]` field, as the field's own type inside the
/// [`Json`](crate::Json) wrapper ([`AsJson`](crate::AsJson)). Filters and `set` see the column as of type `V`.
pub struct Column<T, V, M = AsStored> {
    name: &'static str,
    _marker: Types<T, V, M>,
}

/// What a [`Column`] carries only in its type: its table, value type and read marker.
type Types<T, V, M> = PhantomData<fn() -> (T, V, M)>;

impl<T, V, M> Clone for Column<T, V, M> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T, V, M> Copy for Column<T, V, M> {}

impl<T, V, M> fmt::Debug for Column<T, V, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Column({})", self.name)
    }
}

impl<T, V, M> Column<T, V, M> {
    #[doc(hidden)]
    pub const fn new(name: &'static str) -> Self {
        Column {
            name,
            _marker: PhantomData,
        }
    }

    /// The column's name in the database.
    pub const fn name(&self) -> &'static str {
        self.name
    }
}

/// Something usable where a value of column type `V` of table `T` is expected:
/// a literal of a compatible type, a column of `T`, or an expression over `T`.
///
/// Literals convert as you would expect: `i32` literals to any integer column,
/// `&str` to `String`, `f64` or integer to `f64`, `T` to `Option<T>`, and
/// `None` to `Option<T>` (where `eq(None)` means `IS NULL`). An integer of
/// another type is taken where it always fits the column's (`u32` or `u8`
/// for an `i64` column, `u16` for a `usize` one); a value that may not fit
/// (an `i64` for a `usize` column) does not compile, and is converted first
/// where that can fail: `usize::try_from(n)?`.
#[diagnostic::on_unimplemented(
    message = "expected a value of type `{V}` for a column of table `{T}`, found `{Self}`",
    label = "expected `{V}`, or a column or expression of `{T}` of that type",
    note = "a column takes values of its own type, and also: an integer literal for any integer or float column, an integer of a type that always fits (`u32` for `i64`; convert others first, where that can fail: `usize::try_from(n)?`), `&str` for `String`, `v` or `None` for `Option<v>`"
)]
pub trait IntoOperand<T, V> {
    #[doc(hidden)]
    fn into_operand(self) -> Operand;
}

// The impls for columns and expressions are not recommended in errors: the
// message names the type found (`Column<Author, i64>` says which table it is
// of), and a list of these impls would add nothing to it.
#[diagnostic::do_not_recommend]
impl<T: Record, V, M> IntoOperand<T, V> for Column<T, V, M> {
    fn into_operand(self) -> Operand {
        Operand::Sql(Fragment::column(T::__META.name, self.name))
    }
}

#[diagnostic::do_not_recommend]
impl<T, V> IntoOperand<T, V> for Expr<T, V> {
    fn into_operand(self) -> Operand {
        Operand::Sql(self.fragment)
    }
}

/// A non-null column where its nullable type is expected (`set(Doc::note, Doc::title)`).
#[diagnostic::do_not_recommend]
impl<T: Record, V, M> IntoOperand<T, Option<V>> for Column<T, V, M> {
    fn into_operand(self) -> Operand {
        Operand::Sql(Fragment::column(T::__META.name, self.name))
    }
}

/// A non-null expression where its nullable type is expected.
#[diagnostic::do_not_recommend]
impl<T, V> IntoOperand<T, Option<V>> for Expr<T, V> {
    fn into_operand(self) -> Operand {
        Operand::Sql(self.fragment)
    }
}

impl<T, V: ColumnType> IntoOperand<T, V> for V {
    fn into_operand(self) -> Operand {
        Operand::of(&self)
    }
}

/// A value where its nullable type is expected: `set(Run::finished, Ts(now))`
/// on an `Option<Ts>` column, for every column type, a user's own included.
impl<T, V: ColumnType> IntoOperand<T, Option<V>> for V {
    fn into_operand(self) -> Operand {
        Operand::of(&self)
    }
}

/// A typed SQL expression over table `T` whose value has type `V`.
///
/// Conditions are `Expr<T, bool>` and combine with `and`, `or`, `not`
/// (or `&`, `|`, `!`); arithmetic on numeric columns gives `Expr<T, V>`.
///
/// ```
/// # use doctable::DocTable;
/// #[derive(DocTable)]
/// struct Doc { #[doctable(primary_key)] id: Option<i64>, year: i64, score: f64 }
///
/// let recent_and_low = Doc::year.gt(2000) & Doc::score.lt(0.5);
/// let either = Doc::year.eq(1999).or(!Doc::score.ge(0.9));
/// let bumped = Doc::score * 2.0 + 1;
/// ```
pub struct Expr<T, V> {
    pub(crate) fragment: Fragment,
    _marker: PhantomData<fn() -> (T, V)>,
}

impl<T, V> Clone for Expr<T, V> {
    fn clone(&self) -> Self {
        Expr::from_fragment(self.fragment.clone())
    }
}

impl<T, V> fmt::Debug for Expr<T, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Expr")
            .field("sql", &self.fragment.sql)
            .field("params", &self.fragment.params)
            .finish()
    }
}

impl<T, V> Expr<T, V> {
    pub(crate) fn from_fragment(fragment: Fragment) -> Self {
        Expr {
            fragment,
            _marker: PhantomData,
        }
    }

    /// The SQL text of this expression, with `?` where values are bound.
    pub fn sql(&self) -> &str {
        &self.fragment.sql
    }

    /// Raw SQL with bound parameters: the escape hatch for what the builder
    /// does not cover. The text must be a string literal (see [`SqlText`]:
    /// text made at run time could carry values pasted into it); pass values
    /// as `params`, one per `?`: `()` for none, `[v, ..]`, a `Vec`, or a
    /// tuple of values of different types (see [`RawParams`]).
    ///
    /// Write bare `?` placeholders: each backend renders them as its own
    /// (`?` is found outside string literals, quoted identifiers and comments).
    /// Numbered `?NNN` works on SQLite only.
    ///
    /// ```
    /// # use doctable::{DocTable, Expr};
    /// # #[derive(DocTable)] struct Doc { #[doctable(primary_key)] id: Option<i64>, body: String }
    /// let long: Expr<Doc, bool> = Expr::raw("length(\"body\") > ?", [200]);
    /// let empty: Expr<Doc, bool> = Expr::raw("\"body\" = ''", ());
    /// let both: Expr<Doc, bool> = Expr::raw("length(\"body\") BETWEEN ? AND ? AND \"body\" <> ?", (1, 9, "x"));
    /// ```
    pub fn raw(sql: impl SqlText, params: impl RawParams) -> Self {
        let sql = sql.text();
        let (params, error) = match params.into_values() {
            Ok(params) => (params, None),
            Err(detail) => (
                Vec::new(),
                Some(DeferredError {
                    column: "(raw SQL parameter)".into(),
                    detail,
                    usage: false,
                }),
            ),
        };
        Expr::from_fragment(Fragment {
            // Parenthesised, so operators applied to it keep its meaning:
            // `raw("a OR b").and(c)` is `(a OR b) AND c`.
            sql: format!("({sql})"),
            params,
            // The only text with `?` the builder did not write: found by a
            // quote- and comment-aware scan, shifted past the `(`.
            slots: crate::dialect::param_slots(sql)
                .into_iter()
                .map(|at| at + 1)
                .collect(),
            error,
            column: None,
            leaves: None,
            casts: Vec::new(),
        })
    }

    fn binary<W>(self, op: &str, rhs: Operand) -> Expr<T, W> {
        let label = self.fragment.label("(expression)");
        let mut f = self.fragment;
        f.open_paren();
        f.sql.push_str(op);
        f.push_operand(rhs, label);
        f.sql.push(')');
        Expr::from_fragment(f)
    }

    /// `self op rhs` for arithmetic, as [`binary`](Self::binary) writes it,
    /// noting where the operands whose NULL makes the result NULL are (see
    /// [`Fragment::leaves`]).
    fn arithmetic<W>(mut self, op: &str, rhs: Operand) -> Expr<T, W> {
        let label = self.fragment.label("(expression)");
        let mut f = Fragment::default();
        f.sql.push('(');
        let mut leaves = self.fragment.take_leaves(1, 0);
        f.append(self.fragment);
        f.sql.push_str(op);
        match rhs {
            Operand::Sql(mut g) => {
                f.sql.push('(');
                leaves.extend(g.take_leaves(f.sql.len(), f.params.len()));
                f.append(g);
                f.sql.push(')');
            }
            // `x + NULL` is NULL whatever x is: the `?` bound to NULL is a leaf.
            Operand::Value(Value::Null) => {
                leaves.push(Leaf {
                    sql: f.sql.len()..f.sql.len() + 1,
                    params: f.params.len()..f.params.len() + 1,
                });
                f.push_operand(Operand::Value(Value::Null), label);
            }
            other => f.push_operand(other, label),
        }
        f.sql.push(')');
        f.leaves = Some(leaves);
        Expr::from_fragment(f)
    }

    /// `before` + self + `after`.
    /// `before self after`, cast to `to` by a dialect that casts.
    fn cast<W>(self, before: &str, after: &str, to: SqlType) -> Expr<T, W> {
        let mut f = Fragment::default();
        f.push_cast(before, self.fragment, after, to);
        Expr::from_fragment(f)
    }

    fn wrap<W>(self, before: &str, after: &str) -> Expr<T, W> {
        let mut f = Fragment::default();
        f.sql.push_str(before);
        f.append(self.fragment);
        f.sql.push_str(after);
        Expr::from_fragment(f)
    }

    /// `self = value`; on a nullable column `eq(None)` is `IS NULL`.
    pub fn eq(self, value: impl IntoOperand<T, V>) -> Expr<T, bool> {
        match value.into_operand() {
            Operand::Value(Value::Null) => self.wrap("(", " IS NULL)"),
            other => self.binary::<bool>(" = ", other),
        }
    }

    /// `self <> value`; on a nullable column `ne(None)` is `IS NOT NULL`.
    pub fn ne(self, value: impl IntoOperand<T, V>) -> Expr<T, bool> {
        match value.into_operand() {
            Operand::Value(Value::Null) => self.wrap("(", " IS NOT NULL)"),
            other => self.binary::<bool>(" <> ", other),
        }
    }

    /// `self > value`.
    pub fn gt(self, value: impl IntoOperand<T, V>) -> Expr<T, bool> {
        self.binary::<bool>(" > ", value.into_operand())
    }

    /// `self >= value`.
    pub fn ge(self, value: impl IntoOperand<T, V>) -> Expr<T, bool> {
        self.binary::<bool>(" >= ", value.into_operand())
    }

    /// `self < value`.
    pub fn lt(self, value: impl IntoOperand<T, V>) -> Expr<T, bool> {
        self.binary::<bool>(" < ", value.into_operand())
    }

    /// `self <= value`.
    pub fn le(self, value: impl IntoOperand<T, V>) -> Expr<T, bool> {
        self.binary::<bool>(" <= ", value.into_operand())
    }

    /// `self BETWEEN low AND high` (both ends included).
    pub fn between(
        self,
        low: impl IntoOperand<T, V>,
        high: impl IntoOperand<T, V>,
    ) -> Expr<T, bool> {
        let label = self.fragment.label("(between)");
        let mut f = Fragment::default();
        f.sql.push('(');
        f.append(self.fragment);
        f.sql.push_str(" BETWEEN ");
        f.push_operand(low.into_operand(), label);
        f.sql.push_str(" AND ");
        f.push_operand(high.into_operand(), label);
        f.sql.push(')');
        Expr::from_fragment(f)
    }

    /// `self IN (v1, v2, ...)`; an empty list matches no row, and a `None` in
    /// the list matches NULL (as `eq(None)` does).
    pub fn in_list<I>(self, values: I) -> Expr<T, bool>
    where
        I: IntoIterator,
        I::Item: IntoOperand<T, V>,
    {
        let label = self.fragment.label("(in_list)");
        // `x IN (NULL)` is never true; a None in the list means `x IS NULL`,
        // as `eq(None)` does.
        let mut with_null = false;
        let operands: Vec<Operand> = values
            .into_iter()
            .map(IntoOperand::into_operand)
            .filter(|o| {
                let null = matches!(o, Operand::Value(Value::Null));
                with_null |= null;
                !null
            })
            .collect();
        let mut f = Fragment::default();
        // The column appears a second time only for `OR x IS NULL`.
        let again = with_null.then(|| self.fragment.clone());
        f.sql.push_str("((");
        if operands.is_empty() {
            // `x IN ()` is SQLite's alone (PostgreSQL and standard SQL have no
            // empty list): the comparison that is false for every row, NULL
            // included, as SQLite's `IN ()` is.
            f.sql.push_str("1 = 0");
            f.error = self.fragment.error;
        } else {
            f.append(self.fragment);
            f.sql.push_str(" IN (");
            for (i, operand) in operands.into_iter().enumerate() {
                if i > 0 {
                    f.sql.push_str(", ");
                }
                f.push_operand(operand, label);
            }
            f.sql.push(')');
        }
        f.sql.push(')');
        if let Some(column) = again {
            f.sql.push_str(" OR (");
            f.append(column);
            f.sql.push_str(" IS NULL)");
        }
        f.sql.push(')');
        Expr::from_fragment(f)
    }

    /// `self IS NULL`.
    pub fn is_null(self) -> Expr<T, bool> {
        self.wrap("(", " IS NULL)")
    }

    /// `self IS NOT NULL`.
    pub fn is_not_null(self) -> Expr<T, bool> {
        self.wrap("(", " IS NOT NULL)")
    }

    /// Ascending order, for `order_by`.
    pub fn asc(self) -> Order<T> {
        Order::new(self.fragment, " ASC")
    }

    /// Descending order, for `order_by`.
    pub fn desc(self) -> Order<T> {
        Order::new(self.fragment, " DESC")
    }

    /// `count(self)`: the number of non-NULL values.
    pub fn count(self) -> Expr<T, i64> {
        self.wrap("count(", ")")
    }

    /// `count(DISTINCT self)`.
    pub fn count_distinct(self) -> Expr<T, i64> {
        self.wrap("count(DISTINCT ", ")")
    }

    /// `max(self)`: NULL over no rows.
    pub fn max(self) -> Expr<T, V::Nullable>
    where
        V: OrNull,
    {
        self.wrap("max(", ")")
    }

    /// `min(self)`: NULL over no rows.
    pub fn min(self) -> Expr<T, V::Nullable>
    where
        V: OrNull,
    {
        self.wrap("min(", ")")
    }

    /// `sum(self)`: `Option<i64>` for integer columns, `Option<f64>` for floats; NULL over no rows.
    ///
    /// Cast to the result's type where the engine's differs: PostgreSQL's
    /// `sum` of a `bigint` is `numeric`, so it runs as `CAST(sum(..) AS
    /// BIGINT)` (a sum beyond `i64` is then the server's error 22003, "bigint
    /// out of range", as SQLite's is "integer overflow").
    pub fn sum(self) -> Expr<T, V::Sum>
    where
        V: Numeric,
    {
        self.cast("sum(", ")", <V::Sum as ColumnType>::SQL_TYPE)
    }

    /// `avg(self)`: NULL over no rows. Cast to a float where the engine's
    /// result is not one (PostgreSQL's `avg` of a `bigint` is `numeric`).
    pub fn avg(self) -> Expr<T, Option<f64>>
    where
        V: Numeric,
    {
        self.cast("avg(", ")", SqlType::Real)
    }

    /// `self LIKE pattern`: `%` matches any run of characters, `_` one
    /// character, so the pattern is SQL's, not plain text (for text from a
    /// user, see [`contains`](Self::contains), [`starts_with`](Self::starts_with),
    /// [`ends_with`](Self::ends_with)).
    ///
    /// Case: SQLite's `LIKE` ignores the case of ASCII letters (`'A' LIKE 'a'`
    /// holds, `'Ä' LIKE 'ä'` does not); PostgreSQL's is case-sensitive. The
    /// same goes for `not_like`, `contains`, `starts_with` and `ends_with`.
    pub fn like(self, pattern: &str) -> Expr<T, bool>
    where
        V: Textual,
    {
        self.binary::<bool>(" LIKE ", Operand::Value(Value::Text(pattern.to_owned())))
    }

    /// `self NOT LIKE pattern`: the rows [`like`](Self::like) leaves out (NULL
    /// matches neither).
    pub fn not_like(self, pattern: &str) -> Expr<T, bool>
    where
        V: Textual,
    {
        self.binary::<bool>(
            " NOT LIKE ",
            Operand::Value(Value::Text(pattern.to_owned())),
        )
    }

    /// The text contains `part` as it is written: `%`, `_` and `\` in it
    /// match only themselves (`LIKE '%..%' ESCAPE '\'`, the part escaped).
    /// Case as for [`like`](Self::like).
    pub fn contains(self, part: &str) -> Expr<T, bool>
    where
        V: Textual,
    {
        self.like_escaped("%", part, "%")
    }

    /// The text starts with `prefix` as it is written (see [`contains`](Self::contains)).
    pub fn starts_with(self, prefix: &str) -> Expr<T, bool>
    where
        V: Textual,
    {
        self.like_escaped("", prefix, "%")
    }

    /// The text ends with `suffix` as it is written (see [`contains`](Self::contains)).
    pub fn ends_with(self, suffix: &str) -> Expr<T, bool>
    where
        V: Textual,
    {
        self.like_escaped("%", suffix, "")
    }

    /// `self LIKE before || escaped(text) || after ESCAPE '\'`.
    fn like_escaped(self, before: &str, text: &str, after: &str) -> Expr<T, bool> {
        let mut pattern = String::with_capacity(text.len() + 2);
        pattern.push_str(before);
        for c in text.chars() {
            if matches!(c, '%' | '_' | LIKE_ESCAPE) {
                pattern.push(LIKE_ESCAPE);
            }
            pattern.push(c);
        }
        pattern.push_str(after);
        let label = self.fragment.label("(like)");
        let mut f = Fragment::default();
        f.sql.push('(');
        f.append(self.fragment);
        f.sql.push_str(" LIKE ");
        f.push_operand(Operand::Value(Value::Text(pattern)), label);
        // The same one-character string on both engines (PostgreSQL's
        // standard_conforming_strings, on since 9.1, keeps `\` literal).
        f.sql.push_str(" ESCAPE '\\')");
        Expr::from_fragment(f)
    }
}

/// The escape character of [`Expr::contains`] and its kin.
const LIKE_ESCAPE: char = '\\';

impl<T> Expr<T, bool> {
    /// Both conditions hold.
    pub fn and(self, other: Expr<T, bool>) -> Expr<T, bool> {
        self.binary::<bool>(" AND ", Operand::Sql(other.fragment))
    }

    /// Either condition holds.
    pub fn or(self, other: Expr<T, bool>) -> Expr<T, bool> {
        self.binary::<bool>(" OR ", Operand::Sql(other.fragment))
    }

    /// The condition does not hold.
    #[allow(clippy::should_implement_trait)] // `!` is implemented too; this reads better in chains
    pub fn not(self) -> Expr<T, bool> {
        self.wrap("(NOT ", ")")
    }
}

impl<T> ops::BitAnd for Expr<T, bool> {
    type Output = Expr<T, bool>;
    fn bitand(self, rhs: Self) -> Self::Output {
        self.and(rhs)
    }
}

impl<T> ops::BitOr for Expr<T, bool> {
    type Output = Expr<T, bool>;
    fn bitor(self, rhs: Self) -> Self::Output {
        self.or(rhs)
    }
}

impl<T> ops::Not for Expr<T, bool> {
    type Output = Expr<T, bool>;
    fn not(self) -> Self::Output {
        Expr::not(self)
    }
}

macro_rules! arithmetic {
    ($($trait:ident $method:ident $op:literal),*) => {$(
        impl<T, V: Numeric, R: IntoOperand<T, V>> ops::$trait<R> for Expr<T, V> {
            type Output = Expr<T, V>;
            fn $method(self, rhs: R) -> Self::Output {
                self.arithmetic::<V>($op, rhs.into_operand())
            }
        }
        impl<T: Record, V: Numeric, M, R: IntoOperand<T, V>> ops::$trait<R> for Column<T, V, M> {
            type Output = Expr<T, V>;
            fn $method(self, rhs: R) -> Self::Output {
                self.expr().arithmetic::<V>($op, rhs.into_operand())
            }
        }
    )*};
}
arithmetic!(Add add " + ", Sub sub " - ", Mul mul " * ", Div div " / ");

/// Column methods: the same as [`Expr`]'s, on the column itself.
impl<T: Record, V, M> Column<T, V, M> {
    /// This column as an expression.
    pub fn expr(self) -> Expr<T, V> {
        Expr::from_fragment(Fragment::column(T::__META.name, self.name))
    }

    /// `column = value`; on a nullable column `eq(None)` is `IS NULL`.
    ///
    /// ```
    /// # use doctable::DocTable;
    /// # #[derive(DocTable)] struct Doc { #[doctable(primary_key)] id: Option<i64>, title: String, note: Option<String> }
    /// let by_id = Doc::id.eq(5);
    /// let by_title = Doc::title.eq("x");
    /// let no_note = Doc::note.eq(None);
    /// assert_eq!(no_note.sql(), "(\"doc\".\"note\" IS NULL)");
    /// ```
    pub fn eq(self, value: impl IntoOperand<T, V>) -> Expr<T, bool> {
        self.expr().eq(value)
    }
    /// `column <> value`; on a nullable column `ne(None)` is `IS NOT NULL`.
    pub fn ne(self, value: impl IntoOperand<T, V>) -> Expr<T, bool> {
        self.expr().ne(value)
    }
    /// `column > value`.
    pub fn gt(self, value: impl IntoOperand<T, V>) -> Expr<T, bool> {
        self.expr().gt(value)
    }
    /// `column >= value`.
    pub fn ge(self, value: impl IntoOperand<T, V>) -> Expr<T, bool> {
        self.expr().ge(value)
    }
    /// `column < value`.
    pub fn lt(self, value: impl IntoOperand<T, V>) -> Expr<T, bool> {
        self.expr().lt(value)
    }
    /// `column <= value`.
    pub fn le(self, value: impl IntoOperand<T, V>) -> Expr<T, bool> {
        self.expr().le(value)
    }
    /// `column BETWEEN low AND high` (both ends included).
    pub fn between(
        self,
        low: impl IntoOperand<T, V>,
        high: impl IntoOperand<T, V>,
    ) -> Expr<T, bool> {
        self.expr().between(low, high)
    }
    /// `column IN (...)`; an empty list matches no row, and a `None` in the
    /// list matches NULL (as `eq(None)` does).
    pub fn in_list<I>(self, values: I) -> Expr<T, bool>
    where
        I: IntoIterator,
        I::Item: IntoOperand<T, V>,
    {
        self.expr().in_list(values)
    }
    /// `column IS NULL`.
    pub fn is_null(self) -> Expr<T, bool> {
        self.expr().is_null()
    }
    /// `column IS NOT NULL`.
    pub fn is_not_null(self) -> Expr<T, bool> {
        self.expr().is_not_null()
    }
    /// `column LIKE pattern` (see [`Expr::like`] for case per engine).
    pub fn like(self, pattern: &str) -> Expr<T, bool>
    where
        V: Textual,
    {
        self.expr().like(pattern)
    }
    /// `column NOT LIKE pattern`.
    pub fn not_like(self, pattern: &str) -> Expr<T, bool>
    where
        V: Textual,
    {
        self.expr().not_like(pattern)
    }
    /// The text contains `part` as written (`%`, `_` and `\` escaped).
    ///
    /// ```
    /// # use doctable::DocTable;
    /// # #[derive(DocTable)] struct Pkg { #[doctable(primary_key)] id: Option<i64>, name: String }
    /// let e = Pkg::name.contains("lib_%");
    /// assert_eq!(e.sql(), r#"("pkg"."name" LIKE ? ESCAPE '\')"#);
    /// ```
    pub fn contains(self, part: &str) -> Expr<T, bool>
    where
        V: Textual,
    {
        self.expr().contains(part)
    }
    /// The text starts with `prefix` as written.
    pub fn starts_with(self, prefix: &str) -> Expr<T, bool>
    where
        V: Textual,
    {
        self.expr().starts_with(prefix)
    }
    /// The text ends with `suffix` as written.
    pub fn ends_with(self, suffix: &str) -> Expr<T, bool>
    where
        V: Textual,
    {
        self.expr().ends_with(suffix)
    }
    /// Ascending order.
    pub fn asc(self) -> Order<T> {
        self.expr().asc()
    }
    /// Descending order.
    pub fn desc(self) -> Order<T> {
        self.expr().desc()
    }
    /// `count(column)`: the number of non-NULL values.
    pub fn count(self) -> Expr<T, i64> {
        self.expr().count()
    }
    /// `count(DISTINCT column)`.
    pub fn count_distinct(self) -> Expr<T, i64> {
        self.expr().count_distinct()
    }
    /// `sum(column)`: NULL over no rows.
    pub fn sum(self) -> Expr<T, V::Sum>
    where
        V: Numeric,
    {
        self.expr().sum()
    }
    /// `avg(column)`: NULL over no rows.
    pub fn avg(self) -> Expr<T, Option<f64>>
    where
        V: Numeric,
    {
        self.expr().avg()
    }
    /// `min(column)`: NULL over no rows.
    pub fn min(self) -> Expr<T, V::Nullable>
    where
        V: OrNull,
    {
        self.expr().min()
    }
    /// `max(column)`: NULL over no rows.
    pub fn max(self) -> Expr<T, V::Nullable>
    where
        V: OrNull,
    {
        self.expr().max()
    }
}

/// Something rows of table `T` can be ordered by: a column (ascending), an
/// expression, or `.asc()` / `.desc()` of either.
#[diagnostic::on_unimplemented(
    message = "cannot order rows of table `{T}` by `{Self}`",
    label = "expected a column or expression of table `{T}`, or its `.asc()` / `.desc()`"
)]
pub trait IntoOrder<T> {
    #[doc(hidden)]
    fn into_order(self) -> Order<T>;
}

#[diagnostic::do_not_recommend]
impl<T: Record, V, M> IntoOrder<T> for Column<T, V, M> {
    fn into_order(self) -> Order<T> {
        self.asc()
    }
}

#[diagnostic::do_not_recommend]
impl<T, V> IntoOrder<T> for Expr<T, V> {
    fn into_order(self) -> Order<T> {
        self.asc()
    }
}

#[diagnostic::do_not_recommend]
impl<T> IntoOrder<T> for Order<T> {
    fn into_order(self) -> Order<T> {
        self
    }
}

/// One `ORDER BY` term of table `T`: `Doc::score.desc()`, or a column (ascending).
pub struct Order<T> {
    pub(crate) fragment: Fragment,
    _marker: PhantomData<fn() -> T>,
}

impl<T> Clone for Order<T> {
    fn clone(&self) -> Self {
        Order {
            fragment: self.fragment.clone(),
            _marker: PhantomData,
        }
    }
}

impl<T> fmt::Debug for Order<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Order({})", self.fragment.sql)
    }
}

impl<T> Order<T> {
    fn new(mut fragment: Fragment, direction: &str) -> Self {
        fragment.sql.push_str(direction);
        Order {
            fragment,
            _marker: PhantomData,
        }
    }
}

// The conversions for `order_by` and `group_by` are not recommended, so a term
// of another table is one line ("`From<Order<Author>>` is not implemented for
// `Order<Doc>`") instead of a list of these impls.
#[diagnostic::do_not_recommend]
impl<T: Record, V, M> From<Column<T, V, M>> for Order<T> {
    fn from(column: Column<T, V, M>) -> Self {
        column.asc()
    }
}

#[diagnostic::do_not_recommend]
impl<T, V> From<Expr<T, V>> for Order<T> {
    fn from(expr: Expr<T, V>) -> Self {
        expr.asc()
    }
}

#[diagnostic::do_not_recommend]
impl<T: Record, V, M> From<Column<T, V, M>> for Expr<T, V> {
    fn from(column: Column<T, V, M>) -> Self {
        column.expr()
    }
}

/// Subqueries: `in_query` and `not_in_query` (see also [`exists`](crate::exists)).
impl<T, V> Expr<T, V> {
    /// `self IN (subquery)`: the subquery selects one column of this type
    /// (either may be an `Option` of the other). A NULL among its values
    /// never matches (SQL's `IN`), nor does a NULL `self`.
    ///
    /// ```
    /// use doctable::DocTable;
    /// # use doctable::Persistent;
    /// # #[derive(DocTable, Debug, Clone, PartialEq)]
    /// # struct Author { #[doctable(primary_key)] id: Option<i64>, name: String }
    /// # #[derive(DocTable, Debug, Clone, PartialEq)]
    /// # struct Doc { #[doctable(primary_key)] id: Option<i64>, author_id: i64, title: String }
    /// # let db = Persistent::open_in_memory()?;
    /// # Author::create_table(&db)?; Doc::create_table(&db)?;
    /// # let ada = Author::insert(&db, &Author { id: None, name: "Ada".into() })?;
    /// # let noam = Author::insert(&db, &Author { id: None, name: "Noam".into() })?;
    /// # Doc::insert(&db, &Doc { id: None, author_id: ada, title: "Notes".into() })?;
    /// # Doc::insert(&db, &Doc { id: None, author_id: noam, title: "Syntax".into() })?;
    /// let by_ada: Vec<String> = Doc::select_cols(Doc::title)
    ///     .filter(Doc::author_id.in_query(Author::select_cols(Author::id).filter(Author::name.eq("Ada"))))
    ///     .all(&db)?;
    /// assert_eq!(by_ada, ["Notes"]);
    /// # Ok::<(), doctable::Error>(())
    /// ```
    pub fn in_query<Q>(self, subquery: Q) -> Expr<T, bool>
    where
        Q: Subquery<T>,
        Q::Row: Comparable<V>,
    {
        self.in_or_not(" IN (", subquery)
    }

    /// `self NOT IN (subquery)`. As SQL's `NOT IN`: if the subquery yields a
    /// NULL, no row matches; filter NULLs out of the subquery when they can occur.
    pub fn not_in_query<Q>(self, subquery: Q) -> Expr<T, bool>
    where
        Q: Subquery<T>,
        Q::Row: Comparable<V>,
    {
        self.in_or_not(" NOT IN (", subquery)
    }

    fn in_or_not<Q: Subquery<T>>(self, op: &str, subquery: Q) -> Expr<T, bool> {
        let mut f = Fragment::default();
        f.sql.push('(');
        f.append(self.fragment);
        f.sql.push_str(op);
        f.append(subquery.into_fragment());
        f.sql.push_str("))");
        Expr::from_fragment(f)
    }
}

/// Subqueries on a column: the same as [`Expr`]'s.
impl<T: Record, V, M> Column<T, V, M> {
    /// `column IN (subquery)`: see [`Expr::in_query`].
    pub fn in_query<Q>(self, subquery: Q) -> Expr<T, bool>
    where
        Q: Subquery<T>,
        Q::Row: Comparable<V>,
    {
        self.expr().in_query(subquery)
    }

    /// `column NOT IN (subquery)`: see [`Expr::not_in_query`].
    pub fn not_in_query<Q>(self, subquery: Q) -> Expr<T, bool>
    where
        Q: Subquery<T>,
        Q::Row: Comparable<V>,
    {
        self.expr().not_in_query(subquery)
    }
}
