//! Statement texts that depend only on the table, built once per table and kept.

use std::sync::OnceLock;

use crate::backend::{BACKENDS, Backend, Conflict, Dialect};
use crate::dialect::{push_ident, push_ident_list, push_qualified};
use crate::meta::TableMeta;

/// The INSERT statements of a table: what happens on a uniqueness conflict,
/// and whether the stored row is read back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InsertKind {
    /// A conflict is an error.
    Plain,
    /// A conflicting row is skipped.
    OrIgnore,
    /// A conflicting row replaces the old one.
    OrReplace,
    /// A conflict is an error; the stored row is returned.
    Returning,
}

impl InsertKind {
    const COUNT: usize = 4;

    fn slot(self) -> usize {
        self as usize
    }

    /// The insert without read-back for `conflict`.
    pub(crate) fn of_conflict(conflict: Conflict) -> Self {
        match conflict {
            Conflict::Fail => InsertKind::Plain,
            Conflict::Ignore => InsertKind::OrIgnore,
            Conflict::Replace => InsertKind::OrReplace,
        }
    }

    pub(crate) fn conflict(self) -> Conflict {
        match self {
            InsertKind::Plain | InsertKind::Returning => Conflict::Fail,
            InsertKind::OrIgnore => Conflict::Ignore,
            InsertKind::OrReplace => Conflict::Replace,
        }
    }
}

/// The statements of one table rendered for one backend.
#[derive(Debug)]
struct Rendered {
    inserts: [OnceLock<String>; InsertKind::COUNT],
    /// The plain and the or-ignore insert without the key column.
    keyless: [OnceLock<Option<(String, usize)>>; 2],
    get: OnceLock<String>,
    update_row: OnceLock<String>,
    delete_key: OnceLock<String>,
}

impl Rendered {
    const fn new() -> Self {
        Rendered {
            inserts: [const { OnceLock::new() }; InsertKind::COUNT],
            keyless: [const { OnceLock::new() }; 2],
            get: OnceLock::new(),
            update_row: OnceLock::new(),
            delete_key: OnceLock::new(),
        }
    }
}

/// The static statements of one table, rendered once per backend. The derive
/// makes one `static` of these per table.
#[doc(hidden)]
#[derive(Debug)]
pub struct StaticSql {
    columns: OnceLock<String>,
    backends: [Rendered; BACKENDS],
}

impl Default for StaticSql {
    fn default() -> Self {
        Self::new()
    }
}

impl StaticSql {
    /// Nothing built yet.
    pub const fn new() -> Self {
        StaticSql {
            columns: OnceLock::new(),
            backends: [const { Rendered::new() }; BACKENDS],
        }
    }

    /// The statements rendered for backend `B`.
    #[inline]
    fn of<B: Backend>(&self) -> &Rendered {
        // In range: `backends` has `BACKENDS` slots and every backend's
        // `SLOT` is below it; were it not, the first slot would serve.
        let [first, ..] = &self.backends;
        self.backends.get(B::SLOT).unwrap_or(first)
    }

    /// `"t"."a", "t"."b", ...`: every stored column, qualified, in declaration order.
    pub(crate) fn columns(&self, meta: &TableMeta) -> &str {
        self.columns.get_or_init(|| {
            let mut sql = String::new();
            for (i, c) in meta.columns.iter().enumerate() {
                if i > 0 {
                    sql.push_str(", ");
                }
                push_qualified(&mut sql, meta.name, c.name);
            }
            sql
        })
    }

    /// `INSERT [OR ...] INTO "t" ("a", ...) VALUES (?1, ...) [RETURNING ...]`.
    pub(crate) fn insert<B: Backend>(&self, meta: &TableMeta, kind: InsertKind) -> &str {
        // In range: `inserts` has `InsertKind::COUNT` slots, one per variant,
        // and `slot()` is the variant's discriminant.
        #[allow(clippy::indexing_slicing)]
        let slot = &self.of::<B>().inserts[kind.slot()];
        slot.get_or_init(|| {
            self.build_insert::<B>(meta, kind, B::Dialect::INSERT_RETURNS_KEY, None)
        })
    }

    /// For a dialect that reads the assigned key back
    /// ([`Dialect::INSERT_RETURNS_KEY`]): the plain (or or-ignore) insert of
    /// a row whose single integer key is absent, which leaves the key column
    /// out so that it takes its identity default, `INSERT INTO "t" ("b", ..)
    /// VALUES ($1, ..) RETURNING "k"`, and the key's parameter number in the
    /// full insert (the one the binder skips, [`Backend::set_bind_skip`]).
    /// The full insert serves the same row through `COALESCE($1, nextval(..))`,
    /// which costs the server a catalog lookup per row. `None` for another
    /// kind, or a table without such a key.
    pub(crate) fn insert_keyless<B: Backend>(
        &self,
        meta: &TableMeta,
        kind: InsertKind,
    ) -> Option<(&str, usize)> {
        let [plain, ignore] = &self.of::<B>().keyless;
        let cell = match kind {
            InsertKind::Plain => plain,
            InsertKind::OrIgnore => ignore,
            InsertKind::OrReplace | InsertKind::Returning => return None,
        };
        cell.get_or_init(|| {
            let &[index] = meta.primary_key else {
                return None;
            };
            let key = meta.columns.get(index)?;
            (key.sql_type == crate::value::SqlType::Integer).then(|| {
                (
                    self.build_insert::<B>(meta, kind, true, Some(index)),
                    index + 1,
                )
            })
        })
        .as_ref()
        .map(|(sql, skipped)| (sql.as_str(), *skipped))
    }

    /// The plain insert without the key read back, for an upsert to add its
    /// own `ON CONFLICT` to.
    pub(crate) fn insert_for_upsert<B: Backend>(&self, meta: &TableMeta) -> String {
        if B::Dialect::INSERT_RETURNS_KEY {
            self.build_insert::<B>(meta, InsertKind::Plain, false, None)
        } else {
            self.insert::<B>(meta, InsertKind::Plain).to_owned()
        }
    }

    /// The insert of `kind`, reading the integer key back when `key`,
    /// without column `skipped` (its later columns' parameters numbered one
    /// lower) when given.
    fn build_insert<B: Backend>(
        &self,
        meta: &TableMeta,
        kind: InsertKind,
        key: bool,
        skipped: Option<usize>,
    ) -> String {
        let conflict = kind.conflict();
        let kept = || {
            meta.columns
                .iter()
                .enumerate()
                .filter(move |&(i, _)| Some(i) != skipped)
        };
        let mut sql = String::from(B::Dialect::insert_prefix(conflict));
        push_ident(&mut sql, meta.name);
        sql.push_str(" (");
        push_ident_list(&mut sql, kept().map(|(_, c)| c.name));
        sql.push_str(") VALUES (");
        for (n, (i, _)) in kept().enumerate() {
            if n > 0 {
                sql.push_str(", ");
            }
            B::Dialect::push_row_value(&mut sql, meta, i, n + 1);
        }
        sql.push(')');
        B::Dialect::push_insert_suffix(&mut sql, meta, conflict);
        if kind == InsertKind::Returning {
            sql.push_str(B::Dialect::RETURNING);
            sql.push_str(self.columns(meta));
        } else if key
            && let Some(column) = meta
                .key_column()
                .filter(|c| c.sql_type == crate::value::SqlType::Integer)
        {
            sql.push_str(B::Dialect::RETURNING);
            push_ident(&mut sql, column.name);
        }
        sql
    }

    /// `SELECT <columns> FROM "t" WHERE "t"."k1" = ?1 AND "t"."k2" = ?2 ...`:
    /// one parameter per key column, in key order.
    pub(crate) fn get<B: Backend>(&self, meta: &TableMeta) -> &str {
        self.of::<B>().get.get_or_init(|| {
            // One table: its columns unqualified, which SQLite prepares in
            // fewer instructions (what a `PerQuery` call pays every time).
            let mut sql = String::from("SELECT ");
            push_ident_list(&mut sql, meta.columns.iter().map(|c| c.name));
            sql.push_str(" FROM ");
            push_ident(&mut sql, meta.name);
            sql.push_str(" WHERE ");
            for (n, key) in meta.key_columns().enumerate() {
                if n > 0 {
                    sql.push_str(" AND ");
                }
                push_ident(&mut sql, key.name);
                sql.push_str(" = ");
                B::Dialect::push_placeholder(&mut sql, n + 1);
            }
            sql
        })
    }

    /// `UPDATE "t" SET "a" = ?1, ... WHERE "k1" = ?k1 AND ...`, numbered by
    /// declaration order, so the same binding as `insert` serves; the key
    /// columns (`meta.primary_key`, one or several) are not set. The `added`
    /// column is kept: `"added" = COALESCE("added", ?i)`, its parameter bound
    /// to NULL on an update (it keeps its place in the numbering, which
    /// PostgreSQL needs every parameter of to have a type).
    pub(crate) fn update_row<B: Backend>(&self, meta: &TableMeta) -> &str {
        self.of::<B>().update_row.get_or_init(|| {
            let is_key = |i: usize| meta.primary_key.contains(&i);
            let mut sql = String::from("UPDATE ");
            push_ident(&mut sql, meta.name);
            sql.push_str(" SET ");
            let mut first = true;
            for (i, c) in meta.columns.iter().enumerate() {
                if is_key(i) {
                    continue;
                }
                if !first {
                    sql.push_str(", ");
                }
                first = false;
                push_ident(&mut sql, c.name);
                sql.push_str(" = ");
                if meta.added == Some(i) {
                    sql.push_str("COALESCE(");
                    push_ident(&mut sql, c.name);
                    sql.push_str(", ");
                    B::Dialect::push_placeholder(&mut sql, i + 1);
                    sql.push(')');
                } else {
                    B::Dialect::push_placeholder(&mut sql, i + 1);
                }
            }
            if first {
                // Only key columns: there is nothing to set, but the row must exist.
                if let Some(&i) = meta.primary_key.first()
                    && let Some(c) = meta.columns.get(i)
                {
                    push_ident(&mut sql, c.name);
                    sql.push_str(" = ");
                    B::Dialect::push_placeholder(&mut sql, i + 1);
                }
            }
            sql.push_str(" WHERE ");
            push_key_condition::<B>(&mut sql, meta);
            sql
        })
    }

    /// `DELETE FROM "t" WHERE "k1" = ?1 AND "k2" = ?2 ...`: one parameter
    /// per key column, in key order.
    pub(crate) fn delete_key<B: Backend>(&self, meta: &TableMeta) -> &str {
        self.of::<B>().delete_key.get_or_init(|| {
            let mut sql = String::from("DELETE FROM ");
            push_ident(&mut sql, meta.name);
            sql.push_str(" WHERE ");
            for (n, key) in meta.key_columns().enumerate() {
                if n > 0 {
                    sql.push_str(" AND ");
                }
                push_ident(&mut sql, key.name);
                sql.push_str(" = ");
                B::Dialect::push_placeholder(&mut sql, n + 1);
            }
            sql
        })
    }
}

/// `"k1" = ?i AND "k2" = ?j ...`, each key column's placeholder numbered by
/// its place among all columns (the numbering of `insert`).
fn push_key_condition<B: Backend>(sql: &mut String, meta: &TableMeta) {
    for (n, &i) in meta.primary_key.iter().enumerate() {
        if n > 0 {
            sql.push_str(" AND ");
        }
        // `i` is an index into `meta.columns` (the derive writes both); were
        // it not, the empty name would make the engine refuse the statement.
        push_ident(sql, meta.columns.get(i).map_or("", |c| c.name));
        sql.push_str(" = ");
        B::Dialect::push_placeholder(sql, i + 1);
    }
}

/// `INSERT [OR ...] INTO "t" (..) VALUES (..), (..)` for `rows` rows (at
/// least one), each row's values numbered on from the last's, with the
/// conflict clause for `conflict` and no `RETURNING`: the statement of a
/// multi-row `insert_many`. For one row it is the text of
/// [`StaticSql::insert`] (without a key read back), so the two share a
/// cached statement.
pub(crate) fn multi_row_insert<B: Backend>(
    meta: &TableMeta,
    conflict: Conflict,
    rows: usize,
) -> String {
    let columns = meta.columns.len();
    let mut sql = String::with_capacity(64 + rows * columns * 8);
    sql.push_str(if rows > 1 {
        B::Dialect::multi_row_prefix(conflict)
    } else {
        B::Dialect::insert_prefix(conflict)
    });
    push_ident(&mut sql, meta.name);
    sql.push_str(" (");
    push_ident_list(&mut sql, meta.columns.iter().map(|c| c.name));
    sql.push_str(") VALUES ");
    for row in 0..rows.max(1) {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for i in 0..columns {
            if i > 0 {
                sql.push_str(", ");
            }
            B::Dialect::push_row_value(&mut sql, meta, i, row * columns + i + 1);
        }
        sql.push(')');
    }
    B::Dialect::push_insert_suffix(&mut sql, meta, conflict);
    sql
}
