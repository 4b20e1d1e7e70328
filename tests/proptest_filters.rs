//! Differential property test of the expression builder: random filter
//! expressions over random rows select exactly the rows that a plain Rust
//! evaluation of the same expression selects.
//!
//! The Rust oracle models SQL's three-valued logic: a comparison with NULL is
//! unknown, `NOT unknown` is unknown, `false AND unknown` is false, `true OR
//! unknown` is true, and `filter` keeps only rows where the condition is true.
//! `x IN (...)` is true on a match, else unknown if `x` or an element is NULL,
//! else false; `x IN ()` is false. `eq(None)` / `ne(None)` on a nullable
//! column are `IS NULL` / `IS NOT NULL`, never `= NULL`.
//!
//! `PROPTEST_CASES` overrides the case count (64 by default here).

use std::cmp::Ordering;

use doctable::{Column, ColumnType, DocTable, Expr, IntoOperand, Persistent};
use proptest::prelude::*;

#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "data")]
struct Data {
    #[doctable(primary_key)]
    id: Option<i64>,
    n: i64,
    m: Option<i64>,
    x: Option<f64>,
    s: String,
    t: Option<String>,
    b: Option<bool>,
}

// ---------------------------------------------------------------------------
// The expressions, as data.

#[derive(Debug, Clone, Copy, PartialEq)]
enum Col {
    N,
    M,
    X,
    S,
    T,
    B,
}

#[derive(Debug, Clone)]
enum Lit {
    I(i64),
    F(f64),
    S(String),
    B(bool),
}

#[derive(Debug, Clone, Copy)]
enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone)]
enum Cond {
    /// `col <op> value`; a `None` value on a nullable column.
    Cmp(Col, Cmp, Option<Lit>),
    Between(Col, Option<Lit>, Option<Lit>),
    InList(Col, Vec<Option<Lit>>),
    IsNull(Col),
    IsNotNull(Col),
    /// `m <op> n`: a nullable column against another column.
    Columns(Cmp),
    /// `(n + k) <op> v` or `(m + k) <op> v`: arithmetic, NULL in NULL out.
    Plus(Col, i64, Cmp, Option<Lit>),
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
    Not(Box<Cond>),
}

// ---------------------------------------------------------------------------
// Strategies: small domains, so that values collide and comparisons go every way.

const TEXTS: &[&str] = &["", "a", "ab", "b", "B", "é", "a\0b", "'"];
const FLOATS: &[f64] = &[f64::NEG_INFINITY, -1.5, -0.0, 0.0, 0.5, 2.0, f64::INFINITY];

fn int() -> impl Strategy<Value = i64> {
    -4i64..=4
}
fn text() -> impl Strategy<Value = String> {
    prop::sample::select(TEXTS).prop_map(str::to_owned)
}
fn float() -> impl Strategy<Value = f64> {
    prop::sample::select(FLOATS)
}
fn nullable<T: std::fmt::Debug>(s: impl Strategy<Value = T>) -> impl Strategy<Value = Option<T>> {
    prop::option::weighted(0.8, s)
}

/// A literal of `col`'s type: never NULL for the NOT NULL columns.
fn lit(col: Col) -> BoxedStrategy<Option<Lit>> {
    match col {
        Col::N => int().prop_map(|i| Some(Lit::I(i))).boxed(),
        Col::M => nullable(int().prop_map(Lit::I)).boxed(),
        Col::X => nullable(float().prop_map(Lit::F)).boxed(),
        Col::S => text().prop_map(|s| Some(Lit::S(s))).boxed(),
        Col::T => nullable(text().prop_map(Lit::S)).boxed(),
        Col::B => nullable(any::<bool>().prop_map(Lit::B)).boxed(),
    }
}

fn col() -> impl Strategy<Value = Col> {
    prop::sample::select(vec![Col::N, Col::M, Col::X, Col::S, Col::T, Col::B])
}

fn cmp() -> impl Strategy<Value = Cmp> {
    prop::sample::select(vec![Cmp::Eq, Cmp::Ne, Cmp::Lt, Cmp::Le, Cmp::Gt, Cmp::Ge])
}

fn leaf() -> impl Strategy<Value = Cond> {
    let on_column = col().prop_flat_map(|c| {
        prop_oneof![
            4 => (cmp(), lit(c)).prop_map(move |(op, v)| Cond::Cmp(c, op, v)),
            1 => (lit(c), lit(c)).prop_map(move |(lo, hi)| Cond::Between(c, lo, hi)),
            1 => prop::collection::vec(lit(c), 0..4).prop_map(move |l| Cond::InList(c, l)),
            1 => Just(Cond::IsNull(c)),
            1 => Just(Cond::IsNotNull(c)),
        ]
    });
    let plus = (prop::sample::select(vec![Col::N, Col::M]), -2i64..=2, cmp())
        .prop_flat_map(|(c, k, op)| lit(c).prop_map(move |v| Cond::Plus(c, k, op, v)));
    prop_oneof![
        8 => on_column,
        1 => cmp().prop_map(Cond::Columns),
        1 => plus,
    ]
}

fn cond() -> impl Strategy<Value = Cond> {
    leaf().prop_recursive(4, 24, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Cond::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Cond::Or(Box::new(a), Box::new(b))),
            inner.prop_map(|a| Cond::Not(Box::new(a))),
        ]
    })
}

prop_compose! {
    fn data()(
        n in int(),
        m in nullable(int()),
        x in nullable(float()),
        s in text(),
        t in nullable(text()),
        b in nullable(any::<bool>()),
    ) -> Data {
        Data { id: None, n, m, x, s, t, b }
    }
}

// ---------------------------------------------------------------------------
// The oracle: SQL values and three-valued logic in plain Rust.

#[derive(Debug, Clone, PartialEq)]
enum Sql {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
}

fn sql_of(lit: &Option<Lit>) -> Sql {
    match lit {
        None => Sql::Null,
        Some(Lit::I(i)) => Sql::Int(*i),
        Some(Lit::F(f)) => Sql::Real(*f),
        Some(Lit::S(s)) => Sql::Text(s.clone()),
        Some(Lit::B(b)) => Sql::Int(i64::from(*b)),
    }
}

fn value(row: &Data, col: Col) -> Sql {
    match col {
        Col::N => Sql::Int(row.n),
        Col::M => row.m.map_or(Sql::Null, Sql::Int),
        Col::X => row.x.map_or(Sql::Null, Sql::Real),
        Col::S => Sql::Text(row.s.clone()),
        Col::T => row.t.clone().map_or(Sql::Null, Sql::Text),
        Col::B => row.b.map_or(Sql::Null, |b| Sql::Int(i64::from(b))),
    }
}

/// `a <op> b`: unknown (`None`) when either side is NULL. Each column's values
/// share one storage class, so only like is compared with like.
fn compare(a: &Sql, op: Cmp, b: &Sql) -> Option<bool> {
    let order = match (a, b) {
        (Sql::Null, _) | (_, Sql::Null) => return None,
        (Sql::Int(a), Sql::Int(b)) => a.cmp(b),
        (Sql::Real(a), Sql::Real(b)) => a.partial_cmp(b)?,
        (Sql::Text(a), Sql::Text(b)) => a.as_bytes().cmp(b.as_bytes()),
        (a, b) => panic!("the oracle compares {a:?} with {b:?}"),
    };
    Some(match op {
        Cmp::Eq => order == Ordering::Equal,
        Cmp::Ne => order != Ordering::Equal,
        Cmp::Lt => order == Ordering::Less,
        Cmp::Le => order != Ordering::Greater,
        Cmp::Gt => order == Ordering::Greater,
        Cmp::Ge => order != Ordering::Less,
    })
}

fn and(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(false), _) | (_, Some(false)) => Some(false),
        (Some(true), Some(true)) => Some(true),
        _ => None,
    }
}

fn or(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(true), _) | (_, Some(true)) => Some(true),
        (Some(false), Some(false)) => Some(false),
        _ => None,
    }
}

fn eval(cond: &Cond, row: &Data) -> Option<bool> {
    match cond {
        // `eq(None)` / `ne(None)` are IS NULL / IS NOT NULL.
        Cond::Cmp(c, Cmp::Eq, None) => Some(value(row, *c) == Sql::Null),
        Cond::Cmp(c, Cmp::Ne, None) => Some(value(row, *c) != Sql::Null),
        Cond::Cmp(c, op, v) => compare(&value(row, *c), *op, &sql_of(v)),
        Cond::Between(c, lo, hi) => {
            let x = value(row, *c);
            and(
                compare(&x, Cmp::Ge, &sql_of(lo)),
                compare(&x, Cmp::Le, &sql_of(hi)),
            )
        }
        Cond::InList(c, list) => {
            // A None in the list means `x IS NULL` (as `eq(None)` does): the
            // library emits `(x IN (<the other values>) OR x IS NULL)`.
            let x = value(row, *c);
            let values: Vec<Sql> = list
                .iter()
                .map(sql_of)
                .filter(|v| *v != Sql::Null)
                .collect();
            let with_null = values.len() < list.len();
            let in_values = if values.is_empty() {
                Some(false)
            } else if x == Sql::Null {
                None
            } else {
                // Three-valued OR over the list: None (unknown) is not a stop.
                let mut acc = Some(false);
                for v in &values {
                    acc = or(acc, compare(&x, Cmp::Eq, v));
                }
                acc
            };
            if with_null {
                or(in_values, Some(x == Sql::Null))
            } else {
                in_values
            }
        }
        Cond::IsNull(c) => Some(value(row, *c) == Sql::Null),
        Cond::IsNotNull(c) => Some(value(row, *c) != Sql::Null),
        Cond::Columns(op) => compare(&value(row, Col::M), *op, &value(row, Col::N)),
        Cond::Plus(c, k, op, v) => {
            let sum = match value(row, *c) {
                Sql::Int(i) => Sql::Int(i + k),
                _ => Sql::Null,
            };
            match (op, v) {
                // On expressions too, `eq(None)` / `ne(None)` are IS NULL / IS NOT NULL.
                (Cmp::Eq, None) => Some(sum == Sql::Null),
                (Cmp::Ne, None) => Some(sum != Sql::Null),
                _ => compare(&sum, *op, &sql_of(v)),
            }
        }
        Cond::And(a, b) => and(eval(a, row), eval(b, row)),
        Cond::Or(a, b) => or(eval(a, row), eval(b, row)),
        Cond::Not(a) => eval(a, row).map(|v| !v),
    }
}

// ---------------------------------------------------------------------------
// The same expressions, built through the public API.

/// A column value from a literal of the column's own type.
trait FromLit: Sized {
    fn from_lit(lit: &Option<Lit>) -> Self;
}

impl FromLit for i64 {
    fn from_lit(lit: &Option<Lit>) -> Self {
        match lit {
            Some(Lit::I(i)) => *i,
            other => panic!("not an i64: {other:?}"),
        }
    }
}

impl FromLit for String {
    fn from_lit(lit: &Option<Lit>) -> Self {
        match lit {
            Some(Lit::S(s)) => s.clone(),
            other => panic!("not a String: {other:?}"),
        }
    }
}

impl FromLit for f64 {
    fn from_lit(lit: &Option<Lit>) -> Self {
        match lit {
            Some(Lit::F(f)) => *f,
            other => panic!("not an f64: {other:?}"),
        }
    }
}

impl FromLit for bool {
    fn from_lit(lit: &Option<Lit>) -> Self {
        match lit {
            Some(Lit::B(b)) => *b,
            other => panic!("not a bool: {other:?}"),
        }
    }
}

impl<V: FromLit> FromLit for Option<V> {
    fn from_lit(lit: &Option<Lit>) -> Self {
        lit.as_ref().map(|_| V::from_lit(lit))
    }
}

fn compared<V>(e: Expr<Data, V>, op: Cmp, v: impl IntoOperand<Data, V>) -> Expr<Data, bool> {
    match op {
        Cmp::Eq => e.eq(v),
        Cmp::Ne => e.ne(v),
        Cmp::Lt => e.lt(v),
        Cmp::Le => e.le(v),
        Cmp::Gt => e.gt(v),
        Cmp::Ge => e.ge(v),
    }
}

fn on_column<V: ColumnType + FromLit>(column: Column<Data, V>, cond: &Cond) -> Expr<Data, bool> {
    let v = V::from_lit;
    match cond {
        Cond::Cmp(_, op, lit) => compared(column.expr(), *op, v(lit)),
        Cond::Between(_, lo, hi) => column.between(v(lo), v(hi)),
        Cond::InList(_, list) => column.in_list(list.iter().map(v).collect::<Vec<V>>()),
        Cond::IsNull(_) => column.is_null(),
        Cond::IsNotNull(_) => column.is_not_null(),
        other => panic!("not a column condition: {other:?}"),
    }
}

fn build(cond: &Cond) -> Expr<Data, bool> {
    match cond {
        Cond::Cmp(c, ..)
        | Cond::Between(c, ..)
        | Cond::InList(c, _)
        | Cond::IsNull(c)
        | Cond::IsNotNull(c) => match c {
            Col::N => on_column(Data::n, cond),
            Col::M => on_column(Data::m, cond),
            Col::X => on_column(Data::x, cond),
            Col::S => on_column(Data::s, cond),
            Col::T => on_column(Data::t, cond),
            Col::B => on_column(Data::b, cond),
        },
        Cond::Columns(op) => compared(Data::m.expr(), *op, Data::n),
        Cond::Plus(Col::N, k, op, v) => compared(Data::n + *k, *op, i64::from_lit(v)),
        Cond::Plus(_, k, op, v) => compared(Data::m + *k, *op, Option::<i64>::from_lit(v)),
        Cond::And(a, b) => build(a).and(build(b)),
        // The operators, so both spellings are exercised.
        Cond::Or(a, b) => build(a) | build(b),
        Cond::Not(a) => !build(a),
    }
}

// ---------------------------------------------------------------------------

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(64),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn fail(e: doctable::Error) -> TestCaseError {
    TestCaseError::fail(e.to_string())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn filters_select_what_three_valued_logic_selects(
        rows in prop::collection::vec(data(), 0..30),
        conds in prop::collection::vec(cond(), 1..8),
    ) {
        let db = Persistent::open_in_memory().map_err(fail)?;
        Data::create_table(&db).map_err(fail)?;
        Data::insert_many(&db, &rows).map_err(fail)?;
        let stored: Vec<Data> = Data::select().order_by(Data::id).all(&db).map_err(fail)?;

        for (i, cond) in conds.iter().enumerate() {
            let expected: Vec<Option<i64>> = stored
                .iter()
                .filter(|row| eval(cond, row) == Some(true))
                .map(|row| row.id)
                .collect();
            let expr = build(cond);
            let sql = expr.sql().to_owned();
            let got = Data::select_cols(Data::id)
                .filter(expr.clone())
                .order_by(Data::id)
                .all(&db)
                .map_err(fail)?;
            prop_assert_eq!(&got, &expected, "{:?}\nSQL: {}", cond, sql);
            let count = Data::count().filter(expr.clone()).get(&db).map_err(fail)?;
            prop_assert_eq!(count, expected.len() as i64, "count of {:?}", cond);

            // Two filters are ANDed.
            let next = &conds[(i + 1) % conds.len()];
            let both: Vec<Option<i64>> = stored
                .iter()
                .filter(|row| and(eval(cond, row), eval(next, row)) == Some(true))
                .map(|row| row.id)
                .collect();
            let got = Data::select_cols(Data::id)
                .filter(expr)
                .filter(build(next))
                .order_by(Data::id)
                .all(&db)
                .map_err(fail)?;
            prop_assert_eq!(&got, &both, "{:?} and then {:?}", cond, next);
        }

        // An update and a delete with the first filter touch the same rows.
        let first = &conds[0];
        let hits = stored.iter().filter(|row| eval(first, row) == Some(true)).count();
        let changed = Data::update()
            .set(Data::n, Data::n)
            .filter(build(first))
            .run(&db)
            .map_err(fail)?;
        prop_assert_eq!(changed, hits, "update of {:?}", first);
        let deleted = Data::delete().filter(build(first)).run(&db).map_err(fail)?;
        prop_assert_eq!(deleted, hits, "delete of {:?}", first);
        prop_assert_eq!(
            Data::count().get(&db).map_err(fail)?,
            (stored.len() - hits) as i64
        );
    }
}
