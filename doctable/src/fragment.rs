//! SQL under construction: text with a `?` at each parameter slot, its bound
//! values, and the first error met while building it. Backend-neutral, and a
//! leaf below the backends (a dialect writes into a [`Fragment`]).

use std::ops::Range;

use crate::column_type::ColumnType;
use crate::dialect;
use crate::value::{SqlType, ToValue, Value};

/// Some SQL with its bound parameters, and the first error met while building
/// it (reported when the query runs, with the table name).
///
/// The text is backend-neutral: quoted identifiers, operators, and a `?` at
/// each parameter slot, whose byte offsets are recorded in `slots` as the
/// builder writes them; each backend's dialect renders the slots as its
/// placeholders when the statement runs (SQLite runs the `?` as they are).
#[derive(Clone, Debug, Default)]
#[doc(hidden)]
pub struct Fragment {
    pub(crate) sql: String,
    pub(crate) params: Vec<Value>,
    /// The byte offset in `sql` of each parameter slot, in order.
    pub(crate) slots: Vec<usize>,
    pub(crate) error: Option<DeferredError>,
    /// The column's name while this is exactly one column: what a value
    /// compared with it is reported against when it cannot be converted.
    pub(crate) column: Option<&'static str>,
    /// For an arithmetic expression (`+ - * /`), its operands that are not
    /// arithmetic themselves (columns, raw SQL, NULL): its result is NULL
    /// because one of them is, or else because SQLite computed NaN or divided
    /// by zero. `None` for anything but arithmetic.
    pub(crate) leaves: Option<Vec<Leaf>>,
    /// Casts the dialect writes when it renders the text (zero-width marks in
    /// `sql`, in order): an aggregate whose result type differs by engine
    /// (PostgreSQL's `sum` of a `bigint` is `numeric`). SQLite's rendering
    /// ignores them.
    pub(crate) casts: Vec<Cast>,
}

/// A zero-width mark in a [`Fragment`]'s text where a cast starts or ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Cast {
    /// The byte offset in the fragment's `sql`.
    pub(crate) at: usize,
    /// `None` where the cast starts; where it ends, the type cast to.
    pub(crate) to: Option<SqlType>,
}

/// Where an operand of an arithmetic expression is in its fragment.
#[derive(Clone, Debug)]
pub(crate) struct Leaf {
    /// Its SQL, in the fragment's `sql`.
    pub(crate) sql: Range<usize>,
    /// Its parameters, in the fragment's `params`.
    pub(crate) params: Range<usize>,
}

impl Leaf {
    pub(crate) fn shifted(self, sql: usize, params: usize) -> Leaf {
        Leaf {
            sql: self.sql.start + sql..self.sql.end + sql,
            params: self.params.start + params..self.params.end + params,
        }
    }
}

/// A value that could not be converted while an expression was built.
#[derive(Clone, Debug)]
pub(crate) struct DeferredError {
    pub(crate) column: String,
    pub(crate) detail: String,
    /// A query that cannot be written as asked (an [`Error::Usage`](crate::Error::Usage)),
    /// rather than a value that cannot be converted.
    pub(crate) usage: bool,
}

impl Fragment {
    /// The column `name` of the table `table`, qualified by its table.
    pub(crate) fn column(table: &'static str, name: &'static str) -> Self {
        let mut sql = String::new();
        dialect::push_qualified(&mut sql, table, name);
        Fragment {
            sql,
            column: Some(name),
            ..Fragment::default()
        }
    }

    /// The name to report a bad value compared with this fragment against.
    pub(crate) fn label(&self, otherwise: &'static str) -> &'static str {
        self.column.unwrap_or(otherwise)
    }

    /// Makes this fragment the start of a new one, `(` + itself, keeping its
    /// buffers (an operator and its other operand are then pushed after it):
    /// what `Fragment::default()` + `(` + [`append`](Self::append) gives,
    /// without copying the text and parameters into new buffers.
    pub(crate) fn open_paren(&mut self) {
        self.column = None;
        self.leaves = None;
        self.sql.insert(0, '(');
        for at in &mut self.slots {
            *at += 1;
        }
        for cast in &mut self.casts {
            cast.at += 1;
        }
    }

    /// [`append`](Self::append) of a fragment that stays where it is (its
    /// parameters are cloned, nothing else is).
    pub(crate) fn append_ref(&mut self, other: &Fragment) {
        self.append_text(other);
        self.params.extend(other.params.iter().cloned());
        if self.error.is_none() {
            self.error.clone_from(&other.error);
        }
    }

    pub(crate) fn append(&mut self, other: Fragment) {
        self.append_text(&other);
        self.params.extend(other.params);
        if self.error.is_none() {
            self.error = other.error;
        }
    }

    /// The part of [`append`](Self::append) that copies either way: `other`'s
    /// text, and its parameter slots and casts moved past this text.
    fn append_text(&mut self, other: &Fragment) {
        self.column = None;
        let base = self.sql.len();
        self.sql.push_str(&other.sql);
        self.slots.extend(other.slots.iter().map(|at| at + base));
        self.casts.extend(other.casts.iter().map(|c| Cast {
            at: c.at + base,
            to: c.to,
        }));
    }

    /// The leaves of this fragment as an operand of arithmetic, placed at
    /// `sql` and `params` in the new fragment: its own leaves if it is
    /// arithmetic, else itself.
    pub(crate) fn take_leaves(&mut self, sql: usize, params: usize) -> Vec<Leaf> {
        match self.leaves.take() {
            Some(leaves) => leaves
                .into_iter()
                .map(|leaf| leaf.shifted(sql, params))
                .collect(),
            None => vec![Leaf {
                sql: sql..sql + self.sql.len(),
                params: params..params + self.params.len(),
            }],
        }
    }

    /// Appends `before`, `inner` and `after`, cast as a whole to `to` where
    /// the dialect casts ([`Dialect::render_fragment`](crate::Dialect::render_fragment)).
    pub(crate) fn push_cast(&mut self, before: &str, inner: Fragment, after: &str, to: SqlType) {
        self.casts.push(Cast {
            at: self.sql.len(),
            to: None,
        });
        self.sql.push_str(before);
        self.append(inner);
        self.sql.push_str(after);
        self.casts.push(Cast {
            at: self.sql.len(),
            to: Some(to),
        });
    }

    /// Appends a parameter slot (`?`) bound to `value`.
    pub(crate) fn push_param(&mut self, value: Value) {
        self.slots.push(self.sql.len());
        self.sql.push('?');
        self.params.push(value);
    }

    /// Appends a copy of the part `sql` of `from`'s text, with the parameter
    /// slots inside it and `from`'s parameters `params` (the ones those slots
    /// are bound to): written twice, a part's parameters are two slots, each
    /// bound to its own copy of the value. The ranges are `from`'s own (a
    /// [`Leaf`], or the whole of it); one out of bounds appends nothing.
    pub(crate) fn push_part(&mut self, from: &Fragment, sql: Range<usize>, params: Range<usize>) {
        let base = self.sql.len();
        self.sql
            .push_str(from.sql.get(sql.clone()).unwrap_or_default());
        self.slots.extend(
            from.slots
                .iter()
                .filter(|at| sql.contains(at))
                .map(|at| at - sql.start + base),
        );
        // Both ends of a cast are in a part that holds what is cast (a
        // leaf is an operand, never half of an aggregate).
        self.casts.extend(
            from.casts
                .iter()
                .filter(|c| c.at >= sql.start && c.at <= sql.end)
                .map(|c| Cast {
                    at: c.at - sql.start + base,
                    to: c.to,
                }),
        );
        self.params
            .extend_from_slice(from.params.get(params).unwrap_or_default());
    }

    /// Appends a copy of the whole of `from` (text, slots, parameters).
    pub(crate) fn push_copy(&mut self, from: &Fragment) {
        self.push_part(from, 0..from.sql.len(), 0..from.params.len());
    }

    /// Appends an operand: a `?` with its value, or the operand's SQL.
    pub(crate) fn push_operand(&mut self, operand: Operand, column: &str) {
        match operand {
            Operand::Value(v) => self.push_param(v),
            Operand::Sql(f) => {
                self.sql.push('(');
                self.append(f);
                self.sql.push(')');
            }
            Operand::Invalid(detail) => {
                self.sql.push_str("NULL");
                if self.error.is_none() {
                    self.error = Some(DeferredError {
                        column: column.to_owned(),
                        detail,
                        usage: false,
                    });
                }
            }
        }
    }
}

/// The right-hand side of a comparison or assignment, made by [`IntoOperand`].
#[doc(hidden)]
pub enum Operand {
    /// A value, bound as a parameter.
    Value(Value),
    /// Another column or an expression.
    Sql(Fragment),
    /// A value that could not be converted (reported when the query runs).
    Invalid(String),
}

impl Operand {
    /// A column value, converted through its [`ColumnType`].
    pub fn of<V: ColumnType>(value: &V) -> Operand {
        match value.to_sql().map(ToValue::into_owned) {
            Ok(v) => Operand::Value(v),
            Err(e) => Operand::Invalid(e.to_string()),
        }
    }
}
