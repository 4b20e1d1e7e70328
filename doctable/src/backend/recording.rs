//! A test-only second backend: it renders statements in a PostgreSQL-like
//! dialect (`$N` placeholders, `BIGINT ... IDENTITY` keys, `ON CONFLICT DO
//! NOTHING`, `BOOLEAN`, `JSONB`) and records each statement with its bound
//! values instead of running it. It returns no rows.
//!
//! It is a test of the seam, not a product: it proves that a select, an
//! insert, an upsert and `create_table` render through another dialect
//! without touching the SQLite code.

use std::cell::{Cell, RefCell};

use crate::backend::{Backend, Conflict, Dialect, RowCheck, sealed};
use crate::catalog::{RebuildReport, TableSchema};
use crate::conn::{Conn, Sealed};
use crate::error::{Error, Result};
use crate::meta::{ColumnMeta, TableMeta};
use crate::value::{SqlType, ToValue, Value, ValueRef};

/// One statement as it would have run.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Recorded {
    pub(crate) sql: String,
    pub(crate) params: Vec<Value>,
}

/// The "connection": the log of statements, and the transaction depth.
#[derive(Debug, Default)]
pub(crate) struct Log {
    statements: RefCell<Vec<Recorded>>,
    depth: Cell<usize>,
}

/// A connection strategy over the recording backend.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    log: Log,
}

impl Recorder {
    /// Every statement recorded so far, and clears the log.
    pub(crate) fn take(&self) -> Vec<Recorded> {
        self.log.statements.take()
    }
}

impl Sealed for Recorder {}
impl Conn for Recorder {
    type Backend = Recording;
    fn with_connection<R>(&self, f: impl FnOnce(&Log) -> Result<R>) -> Result<R> {
        f(&self.log)
    }
}

/// A statement being bound.
pub(crate) struct Binder<'s> {
    log: &'s Log,
    sql: String,
    params: Vec<Value>,
    offset: usize,
}

/// The recording backend.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Recording {}

impl sealed::Sealed for Recording {}

impl Backend for Recording {
    type Connection = Log;
    type Binder<'s> = Binder<'s>;
    type Row<'r> = Vec<Value>;
    type Dialect = DollarDialect;
    const SLOT: usize = 1 + cfg!(feature = "postgres") as usize;

    fn bind(binder: &mut Binder<'_>, index: usize, value: ToValue<'_>, _: &str) -> Result<()> {
        let index = index + binder.offset;
        if binder.params.len() < index {
            binder.params.resize(index, Value::Null);
        }
        if let Some(slot) = binder.params.get_mut(index - 1) {
            *slot = value.into_owned();
        }
        Ok(())
    }

    fn value_at<'r>(row: &'r Vec<Value>, index: usize, table: &str) -> Result<ValueRef<'r>> {
        row.get(index)
            .map(Value::as_ref)
            .ok_or_else(|| Error::Usage(format!("table `{table}`: no column {index}")))
    }

    fn with_statement<R>(
        conn: &Log,
        _: Option<&str>,
        sql: &str,
        f: impl FnOnce(&mut Binder<'_>) -> Result<R>,
    ) -> Result<R> {
        f(&mut Binder {
            log: conn,
            sql: sql.to_owned(),
            params: Vec::new(),
            offset: 0,
        })
    }

    fn set_bind_offset(binder: &mut Binder<'_>, offset: usize) {
        binder.offset = offset;
    }

    /// The distinct `$N` of the text.
    fn parameter_count(binder: &Binder<'_>) -> usize {
        let mut highest = 0;
        for (i, _) in binder.sql.match_indices('$') {
            let digits: String = binder.sql[i + 1..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            highest = highest.max(digits.parse().unwrap_or(0));
        }
        highest
    }

    fn execute(binder: &mut Binder<'_>, _: Option<&str>, _: &str) -> Result<usize> {
        binder.log.statements.borrow_mut().push(Recorded {
            sql: binder.sql.clone(),
            params: std::mem::take(&mut binder.params),
        });
        Ok(1)
    }

    fn each_row(
        binder: &mut Binder<'_>,
        table: Option<&str>,
        sql: &str,
        _: impl FnMut(&Vec<Value>) -> Result<bool>,
    ) -> Result<()> {
        Self::execute(binder, table, sql).map(|_| ())
    }

    fn execute_batch(conn: &Log, _: Option<&str>, sql: &str) -> Result<()> {
        match sql {
            DollarDialect::BEGIN_WRITE | DollarDialect::SAVEPOINT => {
                conn.depth.set(conn.depth.get() + 1)
            }
            DollarDialect::COMMIT
            | DollarDialect::ROLLBACK
            | DollarDialect::RELEASE
            | DollarDialect::ROLLBACK_TO => conn.depth.set(conn.depth.get().saturating_sub(1)),
            _ => {}
        }
        conn.statements.borrow_mut().push(Recorded {
            sql: sql.to_owned(),
            params: Vec::new(),
        });
        Ok(())
    }

    fn last_insert_id(_: &Log) -> i64 {
        0
    }

    fn is_autocommit(conn: &Log) -> bool {
        conn.depth.get() == 0
    }

    /// Nothing runs, so no error ends a transaction by itself.
    fn ended_by_error(_: &Log, _error: &Error) -> bool {
        false
    }

    /// No table exists yet: `create_table` creates it.
    fn reflect(_: &Log, _: &str) -> Result<Option<TableSchema>> {
        Ok(None)
    }

    fn list_tables(_: &Log) -> Result<Vec<String>> {
        Ok(Vec::new())
    }

    fn index_owner(_: &Log, _: &str, _: &str) -> Result<Option<String>> {
        Ok(None)
    }

    fn rebuild_table(
        _: &Log,
        meta: &'static TableMeta,
        _: RowCheck<Self>,
    ) -> Result<RebuildReport> {
        Err(Error::Usage(format!(
            "table `{}`: the recording backend does not rebuild",
            meta.name
        )))
    }
}

/// A PostgreSQL-like dialect, for the recording backend.
#[derive(Debug, Clone, Copy)]
pub(crate) enum DollarDialect {}

impl Dialect for DollarDialect {
    fn push_placeholder(out: &mut String, n: usize) {
        out.push('$');
        out.push_str(&n.to_string());
    }

    fn insert_suffix(conflict: Conflict) -> &'static str {
        match conflict {
            Conflict::Fail => "",
            Conflict::Ignore | Conflict::Replace => " ON CONFLICT DO NOTHING",
        }
    }

    fn type_name(ty: SqlType) -> &'static str {
        match ty {
            SqlType::Integer => "BIGINT",
            SqlType::Real => "DOUBLE PRECISION",
            SqlType::Bool => "BOOLEAN",
            SqlType::Text => "TEXT",
            SqlType::Blob => "BYTEA",
            SqlType::Json => "JSONB",
            SqlType::Timestamp => "TIMESTAMPTZ",
            SqlType::DateTime => "TIMESTAMP",
            SqlType::Date => "DATE",
            SqlType::Uuid => "UUID",
        }
    }

    fn push_type_and_key(out: &mut String, column: &ColumnMeta) {
        out.push_str(Self::type_name(column.sql_type));
        if column.primary_key {
            if column.sql_type == SqlType::Integer {
                out.push_str(" GENERATED BY DEFAULT AS IDENTITY");
            }
            out.push_str(" PRIMARY KEY");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DocTable, Expr};

    #[derive(crate::DocTable, Debug, Clone, PartialEq)]
    #[doctable(table = "docs")]
    struct Doc {
        #[doctable(primary_key)]
        id: Option<i64>,
        #[doctable(unique)]
        title: String,
        #[doctable(index)]
        year: i64,
        score: f64,
        flag: bool,
        #[doctable(rename = "what?")]
        odd: Option<String>,
        #[doctable(json)]
        tags: Vec<String>,
    }

    fn doc() -> Doc {
        Doc {
            id: None,
            title: "On Tables".into(),
            year: 2001,
            score: 0.5,
            flag: true,
            odd: None,
            tags: vec!["db".into()],
        }
    }

    const COLUMNS: &str = r#""docs"."id", "docs"."title", "docs"."year", "docs"."score", "docs"."flag", "docs"."what?", "docs"."tags""#;

    fn one(rec: &Recorder) -> Recorded {
        let mut all = rec.take();
        assert_eq!(all.len(), 1, "{all:?}");
        all.remove(0)
    }

    #[test]
    fn a_select_renders_dollar_placeholders_limit_and_offset() {
        let rec = Recorder::default();
        let rows = Doc::select()
            .filter(Doc::year.gt(2000).and(Doc::odd.eq("a?b")))
            .filter(Expr::raw("length(\"title\") > ? AND \"title\" <> '?'", [3]))
            .order_by(Doc::score.desc())
            .limit(10)
            .offset(5)
            .all(&rec)
            .unwrap();
        assert!(rows.is_empty());
        let got = one(&rec);
        assert_eq!(
            got.sql,
            format!(
                "SELECT {COLUMNS} FROM \"docs\" WHERE (((\"docs\".\"year\" > $1) AND ((\"docs\".\"what?\" = $2))) \
                 AND (length(\"title\") > $3 AND \"title\" <> '?')) ORDER BY \"docs\".\"score\" DESC LIMIT 10 OFFSET 5"
            )
        );
        assert_eq!(
            got.params,
            [
                Value::Integer(2000),
                Value::Text("a?b".into()),
                Value::Integer(3)
            ]
        );

        // An offset alone: no SQLite `LIMIT -1`.
        Doc::select().offset(5).all(&rec).unwrap();
        assert_eq!(
            one(&rec).sql,
            format!("SELECT {COLUMNS} FROM \"docs\" OFFSET 5")
        );
    }

    #[test]
    fn aggregates_are_cast_around_their_placeholders() {
        let rec = Recorder::default();
        let rows = Doc::select_cols((Doc::year, (Doc::year * 2).sum(), Doc::score.avg()))
            .filter(Doc::year.gt(2000))
            .group_by(Doc::year)
            .having(Doc::year.sum().gt(5))
            .all(&rec)
            .unwrap();
        assert!(rows.is_empty());
        let got = one(&rec);
        assert_eq!(
            got.sql,
            "SELECT \"docs\".\"year\", CAST(sum((\"docs\".\"year\" * $1)) AS BIGINT), \
             CAST(avg(\"docs\".\"score\") AS DOUBLE PRECISION) FROM \"docs\" WHERE \
             (\"docs\".\"year\" > $2) GROUP BY \"docs\".\"year\" HAVING \
             (CAST(sum(\"docs\".\"year\") AS BIGINT) > $3)"
        );
        assert_eq!(
            got.params,
            [Value::Integer(2), Value::Integer(2000), Value::Integer(5)]
        );
        // A sum as an operand: its cast travels with it.
        Doc::select_cols(Doc::score.sum() + 1.5).all(&rec).unwrap();
        assert_eq!(
            one(&rec).sql,
            "SELECT (CAST(sum(\"docs\".\"score\") AS DOUBLE PRECISION) + $1) FROM \"docs\""
        );
    }

    #[test]
    fn inserts_render_dollar_placeholders_and_on_conflict() {
        let rec = Recorder::default();
        Doc::insert(&rec, &doc()).unwrap();
        let got = one(&rec);
        assert_eq!(
            got.sql,
            "INSERT INTO \"docs\" (\"id\", \"title\", \"year\", \"score\", \"flag\", \"what?\", \"tags\") \
             VALUES ($1, $2, $3, $4, $5, $6, $7)"
        );
        assert_eq!(
            got.params,
            [
                Value::Null,
                Value::Text("On Tables".into()),
                Value::Integer(2001),
                Value::Real(0.5),
                Value::Bool(true),
                Value::Null,
                Value::Text("[\"db\"]".into()),
            ]
        );
        Doc::insert_or_ignore(&rec, &doc()).unwrap();
        assert!(
            one(&rec)
                .sql
                .ends_with("VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING")
        );
    }

    #[test]
    fn an_upsert_renders_its_conflict_clause() {
        let rec = Recorder::default();
        Doc::upsert()
            .on_conflict(Doc::title)
            .update((Doc::score, Doc::flag))
            .run(&rec, &doc())
            .unwrap();
        assert!(one(&rec).sql.ends_with(
            "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (\"title\") DO UPDATE SET \
                 \"score\" = excluded.\"score\", \"flag\" = excluded.\"flag\""
        ));
    }

    #[test]
    fn create_table_renders_the_dialects_types_keys_and_transaction() {
        let rec = Recorder::default();
        Doc::create_table(&rec).unwrap();
        let sql: Vec<String> = rec.take().into_iter().map(|r| r.sql).collect();
        assert_eq!(
            sql,
            [
                "BEGIN",
                "CREATE TABLE IF NOT EXISTS \"docs\" (\n    \
                 \"id\" BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,\n    \
                 \"title\" TEXT NOT NULL UNIQUE,\n    \
                 \"year\" BIGINT NOT NULL,\n    \
                 \"score\" DOUBLE PRECISION NOT NULL,\n    \
                 \"flag\" BOOLEAN NOT NULL,\n    \
                 \"what?\" TEXT,\n    \
                 \"tags\" JSONB NOT NULL\n)",
                "CREATE INDEX IF NOT EXISTS \"ix_docs_year\" ON \"docs\" (\"year\")",
                "COMMIT",
            ]
        );
    }

    #[test]
    fn get_and_update_row_number_their_parameters() {
        let rec = Recorder::default();
        Doc::get(&rec, 7).unwrap();
        let got = one(&rec);
        assert_eq!(
            got.sql,
            "SELECT \"id\", \"title\", \"year\", \"score\", \"flag\", \"what?\", \"tags\" \
             FROM \"docs\" WHERE \"id\" = $1"
        );
        assert_eq!(got.params, [Value::Integer(7)]);
        Doc::update()
            .set(Doc::score, Doc::score + 1.0)
            .filter(Doc::title.eq("x"))
            .run(&rec)
            .unwrap();
        let got = one(&rec);
        assert_eq!(
            got.sql,
            "UPDATE \"docs\" SET \"score\" = ((\"docs\".\"score\" + $1)) WHERE (\"docs\".\"title\" = $2)"
        );
    }

    #[derive(crate::DocTable, Debug, Clone, PartialEq)]
    #[doctable(table = "counts")]
    struct Count {
        #[doctable(primary_key)]
        id: Option<i64>,
        small: Option<i32>,
        ratio: f64,
    }

    #[test]
    fn computed_sets_are_plain_expressions_in_the_standard_dialect() {
        // The default `push_checked`: the engine raises its own errors, so
        // the expression is written once, numbered in order with the filter.
        let rec = Recorder::default();
        Count::update()
            .set(Count::small, Count::small + 5)
            .set(Count::ratio, Count::ratio * 2.0)
            .filter(Count::id.eq(9))
            .run(&rec)
            .unwrap();
        let got = one(&rec);
        assert_eq!(
            got.sql,
            "UPDATE \"counts\" SET \"small\" = ((\"counts\".\"small\" + $1)), \
             \"ratio\" = ((\"counts\".\"ratio\" * $2)) WHERE (\"counts\".\"id\" = $3)"
        );
        assert_eq!(
            got.params,
            [Value::Integer(5), Value::Real(2.0), Value::Integer(9)]
        );
    }

    #[test]
    fn returning_runs_in_a_transaction_of_the_backend() {
        let rec = Recorder::default();
        let rows = Count::update()
            .set(Count::ratio, 1.5)
            .all_rows()
            .returning(&rec)
            .unwrap();
        assert!(rows.is_empty());
        let sql: Vec<String> = rec.take().into_iter().map(|r| r.sql).collect();
        assert_eq!(sql.len(), 3, "{sql:?}");
        assert_eq!(sql[0], "BEGIN");
        assert!(sql[1].starts_with("UPDATE \"counts\" SET \"ratio\" = $1 RETURNING "));
        assert_eq!(sql[2], "COMMIT");
    }

    #[test]
    #[cfg(feature = "sqlite")]
    fn sqlites_checked_set_keeps_every_parameter_slot() {
        // SQLite's check writes the expression several times; each copy has
        // its own slots, bound to its own copy of the values, so another
        // dialect's numbering (here `$N` by the recorded slots) lines up.
        let update = Count::update()
            .set(
                Count::small,
                Count::small + Expr::<Count, Option<i32>>::raw("length(?) + '?'", ["ab"]) + 7,
            )
            .filter(Count::id.eq(9));
        let q = update.build::<crate::SqliteDialect>().unwrap();
        assert_eq!(q.slots.len(), q.params.len());
        for &at in &q.slots {
            assert_eq!(q.sql.as_bytes()[at], b'?', "{}", q.sql);
        }
        let rendered = DollarDialect::render(&q.sql, &q.slots);
        let e = "((\"counts\".\"small\" + ((length($A) + '?'))) + $B)";
        let leaves = "(\"counts\".\"small\") IS NULL OR ((length($A) + '?')) IS NULL";
        let expected = format!(
            "UPDATE \"counts\" SET \"small\" = CASE typeof({e}) WHEN 'integer' THEN \
             CASE WHEN ({e}) BETWEEN -2147483648 AND 2147483647 THEN ({e}) \
             ELSE json_extract('{{}}', 'doctable check 0.r') END \
             WHEN 'null' THEN CASE WHEN {leaves} THEN NULL \
             ELSE json_extract('{{}}', 'doctable check 0.n') END \
             ELSE json_extract('{{}}', 'doctable check 0.t') END WHERE (\"counts\".\"id\" = $C)"
        );
        // Number the expected text's `$A`, `$B`, `$C` in order of appearance.
        let mut numbered = String::new();
        let mut rest = expected.as_str();
        let mut n = 0;
        while let Some(at) = rest.find('$') {
            n += 1;
            numbered.push_str(&rest[..at]);
            numbered.push_str(&format!("${n}"));
            rest = &rest[at + 2..];
        }
        numbered.push_str(rest);
        assert_eq!(rendered, numbered);
        let ab = Value::Text("ab".into());
        let seven = Value::Integer(7);
        let mut params = Vec::new();
        for _ in 0..3 {
            params.extend([ab.clone(), seven.clone()]);
        }
        params.extend([ab, Value::Integer(9)]);
        assert_eq!(q.params, params);
    }
}
