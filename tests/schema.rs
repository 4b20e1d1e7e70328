//! Schema evolution: what `create_table` adds, what it refuses (changing
//! nothing), what `rebuild_table` can do, and what is stored afterwards.
//! Struct versions are separate structs over the same table name.
//!
//! The tests whose meaning is the same on both engines are written once and
//! run on every strategy of SQLite and PostgreSQL (`on_every_strategy!`,
//! tests/support/backends.rs; two processes migrating at once through
//! `on_shared!`, tests/support/shared.rs). Where the engines differ, each
//! one's behaviour is asserted: `rebuild_table` is SQLite's table rebuild and
//! a `Usage` error on PostgreSQL (which changes tables with ALTER TABLE);
//! table names ignore case on SQLite and keep it on PostgreSQL. The rest are
//! SQLite's own (the rebuild's details, `Options::read_only`, PRAGMAs; README
//! "What runs on which engine").

use doctable::rusqlite::Connection;
use doctable::{Backend, Conn, DocTable, Error, Options, Persistent, SchemaChange};

#[macro_use]
#[path = "support/backends.rs"]
mod backends;
#[macro_use]
#[path = "support/shared.rs"]
mod shared;
use backends::{BoxError, Engine, Kind, TestResult, kind};
use shared::{Opener, Shared};

mod v1 {
    use doctable::DocTable;
    #[derive(DocTable, Debug, Clone, PartialEq)]
    #[doctable(table = "docs")]
    pub struct Doc {
        #[doctable(primary_key)]
        pub id: Option<i64>,
        #[doctable(unique)]
        pub title: String,
        pub year: i64,
    }
}

mod v2 {
    use doctable::DocTable;
    /// v1 plus a nullable column, a defaulted column and two indexes.
    #[derive(DocTable, Debug, Clone, PartialEq)]
    #[doctable(table = "docs", index(by_year_title = [year, title]))]
    pub struct Doc {
        #[doctable(primary_key)]
        pub id: Option<i64>,
        #[doctable(unique)]
        pub title: String,
        #[doctable(index)]
        pub year: i64,
        pub note: Option<String>,
        #[doctable(default = "'en'")]
        pub lang: String,
    }
}

mod renamed {
    use doctable::DocTable;
    /// v1 with `year` renamed to `published`.
    #[derive(DocTable, Debug, Clone, PartialEq)]
    #[doctable(table = "docs")]
    pub struct Doc {
        #[doctable(primary_key)]
        pub id: Option<i64>,
        #[doctable(unique)]
        pub title: String,
        pub published: i64,
    }
}

mod retyped {
    use doctable::DocTable;
    /// v1 with `year` as text.
    #[derive(DocTable, Debug, Clone, PartialEq)]
    #[doctable(table = "docs")]
    pub struct Doc {
        #[doctable(primary_key)]
        pub id: Option<i64>,
        #[doctable(unique)]
        pub title: String,
        pub year: String,
    }
}

mod slim {
    use doctable::DocTable;
    /// v1 without `year`.
    #[derive(DocTable, Debug, Clone, PartialEq)]
    #[doctable(table = "docs")]
    pub struct Doc {
        #[doctable(primary_key)]
        pub id: Option<i64>,
        #[doctable(unique)]
        pub title: String,
    }
}

fn v1_file() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("schema.db");
    let db = Persistent::open(&path).expect("open");
    v1::Doc::create_table(&db).expect("create v1");
    let rows: Vec<v1::Doc> = (0..3)
        .map(|i| v1::Doc {
            id: None,
            title: format!("t{i}"),
            year: 2000 + i,
        })
        .collect();
    v1::Doc::insert_many(&db, &rows).expect("insert");
    (dir, path)
}

/// Everything that could change: the schema text and every row, as text.
fn snapshot(path: &std::path::Path) -> (Vec<String>, Vec<String>) {
    let c = Connection::open(path).expect("open");
    let schema = c
        .prepare(
            "SELECT type || ' ' || name || ' ' || ifnull(sql, '') FROM sqlite_schema ORDER BY name",
        )
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<Vec<String>, _>>()
        .expect("schema");
    let rows = c
        .prepare(
            "SELECT quote(id) || '|' || quote(title) || '|' || quote(year) FROM docs ORDER BY id",
        )
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<Vec<String>, _>>()
        .expect("rows");
    (schema, rows)
}

// ---------------------------------------------------------------------------
// Helpers for both engines.

/// Creates v1's table and its three rows (ids 1 to 3).
fn v1_seeded<C: Conn<Backend: Engine>>(db: &C) -> TestResult {
    v1::Doc::create_table(db)?;
    let rows: Vec<v1::Doc> = (0..3)
        .map(|i| v1::Doc {
            id: None,
            title: format!("t{i}"),
            year: 2000 + i,
        })
        .collect();
    v1::Doc::insert_many(db, &rows)?;
    Ok(())
}

/// Everything that could change, as text: the schema (SQLite's stored
/// `CREATE` statements; PostgreSQL's columns, indexes and constraints from
/// the catalogs) and every row of `docs`.
fn db_snapshot<C: Conn<Backend: Engine>>(db: &C) -> Result<Vec<Option<String>>, BoxError> {
    let mut out = match kind(db) {
        Kind::Sqlite => backends::raw_texts(
            db,
            "SELECT type || ' ' || name || ' ' || ifnull(sql, '') FROM sqlite_schema ORDER BY name",
        )?,
        Kind::Postgres => {
            let mut all = backends::raw_texts(
                db,
                "SELECT table_name || ' ' || column_name || ' ' || data_type || ' ' || is_nullable \
                 || ' ' || coalesce(column_default, '') FROM information_schema.columns \
                 WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position",
            )?;
            all.extend(backends::raw_texts(
                db,
                "SELECT indexname || ' ' || indexdef FROM pg_indexes \
                 WHERE schemaname = current_schema() ORDER BY indexname",
            )?);
            all.extend(backends::raw_texts(
                db,
                "SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint \
                 WHERE connamespace = current_schema()::regnamespace ORDER BY conname",
            )?);
            all
        }
    };
    out.extend(backends::raw_texts(
        db,
        "SELECT id || '|' || title || '|' || year FROM docs ORDER BY id",
    )?);
    Ok(out)
}

/// What `rebuild_table` does on `db`.
#[derive(Debug, PartialEq)]
enum Rebuild {
    /// SQLite outside a transaction: the table is rebuilt.
    Rebuilds,
    /// SQLite inside a transaction (the caller's): refused, nothing changed.
    RefusedInTransaction,
    /// PostgreSQL: always a `Usage` error that says to use ALTER TABLE.
    UsageOnPostgres,
}

fn rebuild_on<C: Conn<Backend: Engine>>(db: &C) -> Rebuild {
    match kind(db) {
        Kind::Postgres => Rebuild::UsageOnPostgres,
        Kind::Sqlite => {
            let autocommit = db
                .with_connection(|c| Ok(<C::Backend as Backend>::is_autocommit(c)))
                .unwrap_or(true);
            if autocommit {
                Rebuild::Rebuilds
            } else {
                Rebuild::RefusedInTransaction
            }
        }
    }
}

/// Asserts that a refused rebuild said why: SQLite in a transaction, or
/// PostgreSQL (which changes tables with ALTER TABLE, not a rebuild).
fn assert_rebuild_refused(err: &Error, how: &Rebuild) {
    match how {
        Rebuild::RefusedInTransaction => {
            assert!(err.to_string().contains("outside a transaction"), "{err}")
        }
        Rebuild::UsageOnPostgres => assert!(
            matches!(err, Error::Usage(m) if m.contains("ALTER TABLE")),
            "{err:?}"
        ),
        Rebuild::Rebuilds => panic!("the rebuild was expected to run: {err:?}"),
    }
}

/// The engine's DDL name of an `i64` column.
fn integer_type<C: Conn<Backend: Engine>>(db: &C) -> &'static str {
    match kind(db) {
        Kind::Sqlite => "INTEGER",
        Kind::Postgres => "BIGINT",
    }
}

on_every_strategy!(
    new_nullable_and_defaulted_columns_and_indexes_are_added,
    a_rename_is_refused_and_nothing_changes,
    a_type_change_is_refused_and_nothing_changes,
    a_removed_column_is_refused_and_rebuild_drops_it_keeping_the_rest,
    rebuild_inside_a_transaction_is_refused,
    list_tables_and_reflection_see_what_is_there,
    foreign_keys_and_checks_exist_as_declared,
    a_foreign_key_violation_is_a_typed_error_naming_the_key,
    foreign_key_actions_cascade_and_set_null,
    check_constraints_refuse_bad_rows,
    a_json_option_field_stores_none_as_null,
    adding_constraints_is_a_mismatch_that_rebuild_applies,
    a_table_named_in_another_case,
    an_index_name_taken_by_another_table_is_a_mismatch,
    a_changed_or_removed_check_is_a_mismatch,
);

fn new_nullable_and_defaulted_columns_and_indexes_are_added<C: Conn<Backend: Engine>>(
    db: &C,
) -> TestResult {
    v1_seeded(db)?;
    let diff = v2::Doc::schema_diff(db)?;
    assert!(diff.is_safe(), "{diff:?}");
    let added: Vec<&str> = diff
        .changes
        .iter()
        .filter_map(|c| match c {
            SchemaChange::AddColumn { column, .. } => Some(column.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(added, ["note", "lang"]);
    assert!(diff.changes.contains(&SchemaChange::CreateIndex {
        index: "by_year_title".into()
    }));

    v2::Doc::create_table(db)?;
    assert!(v2::Doc::schema_diff(db)?.is_empty());
    let rows = v2::Doc::select().order_by(v2::Doc::id).all(db)?;
    assert_eq!(rows.len(), 3);
    assert!(
        rows.iter().all(|d| d.note.is_none() && d.lang == "en"),
        "{rows:?}"
    );

    let schema = doctable::reflect_table(db, "docs")?.ok_or("no table docs")?;
    let by_year_title = schema.index("by_year_title").ok_or("composite index")?;
    assert_eq!(
        (by_year_title.unique, by_year_title.columns.clone()),
        (false, vec!["year".to_string(), "title".to_string()])
    );
    assert_eq!(
        schema.index("ix_docs_year").map(|i| i.columns.clone()),
        Some(vec!["year".to_string()])
    );
    assert!(
        schema
            .indexes
            .iter()
            .any(|i| i.unique && i.origin == "u" && i.columns == ["title"]),
        "{:?}",
        schema.indexes
    );
    assert_eq!(
        schema
            .column("lang")
            .and_then(|c| c.default.clone())
            .as_deref(),
        Some("'en'")
    );
    // Running it again changes nothing.
    v2::Doc::create_table(db)?;
    Ok(())
}

fn a_rename_is_refused_and_nothing_changes<C: Conn<Backend: Engine>>(db: &C) -> TestResult {
    v1_seeded(db)?;
    let before = db_snapshot(db)?;
    match expect_failure!(db, |c| renamed::Doc::create_table(c)) {
        Error::SchemaMismatch {
            table,
            column,
            expected,
            found,
            ..
        } => {
            assert_eq!((table.as_str(), column.as_str()), ("docs", "published"));
            let declared = format!("\"published\" {} NOT NULL", integer_type(db));
            assert!(expected.contains(&declared), "{expected}");
            assert!(found.contains("no such column"), "{found}");
        }
        other => panic!("expected a schema mismatch, got {other:?}"),
    }
    assert_eq!(db_snapshot(db)?, before);
    Ok(())
}

fn a_type_change_is_refused_and_nothing_changes<C: Conn<Backend: Engine>>(db: &C) -> TestResult {
    v1_seeded(db)?;
    let before = db_snapshot(db)?;
    let err = expect_failure!(db, |c| retyped::Doc::create_table(c));
    assert!(matches!(err, Error::SchemaMismatch { .. }), "{err:?}");
    // Both definitions, in the engine's own words (PostgreSQL's catalog
    // spells types in lower case).
    let text = err.to_string().to_lowercase();
    assert!(
        text.contains("docs")
            && text.contains("year")
            && text.contains("text")
            && text.contains(&integer_type(db).to_lowercase()),
        "{text}"
    );
    assert_eq!(db_snapshot(db)?, before);
    Ok(())
}

/// A removed field is a mismatch for `create_table`. `rebuild_table` drops
/// the column on SQLite (keeping the rest, UNIQUE included); it is refused
/// in a transaction, and on PostgreSQL (use ALTER TABLE), changing nothing.
fn a_removed_column_is_refused_and_rebuild_drops_it_keeping_the_rest<C: Conn<Backend: Engine>>(
    db: &C,
) -> TestResult {
    v1_seeded(db)?;
    let err = expect_failure!(db, |c| slim::Doc::create_table(c));
    assert!(
        matches!(&err, Error::SchemaMismatch { column, .. } if column == "year"),
        "{err:?}"
    );
    let how = rebuild_on(db);
    if how != Rebuild::Rebuilds {
        let before = db_snapshot(db)?;
        let err = expect_failure!(db, |c| slim::Doc::rebuild_table(c));
        assert_rebuild_refused(&err, &how);
        assert_eq!(db_snapshot(db)?, before, "nothing changed");
        return Ok(());
    }
    let report = slim::Doc::rebuild_table(db)?;
    assert_eq!(report.rows, 3);
    assert_eq!(report.dropped_columns, ["year"]);
    let rows = slim::Doc::select().order_by(slim::Doc::id).all(db)?;
    let expected: Vec<slim::Doc> = (0..3)
        .map(|i| slim::Doc {
            id: Some(i + 1),
            title: format!("t{i}"),
        })
        .collect();
    assert_eq!(rows, expected);
    // The unique constraint came through the rebuild.
    let again = slim::Doc {
        id: None,
        title: "t0".into(),
    };
    assert!(slim::Doc::insert(db, &again).is_err());
    assert!(slim::Doc::schema_diff(db)?.is_empty());
    Ok(())
}

fn rebuild_inside_a_transaction_is_refused<C: Conn<Backend: Engine>>(db: &C) -> TestResult {
    v1_seeded(db)?;
    let before = db_snapshot(db)?;
    let err = expect_failure!(db, |c| c
        .atomic(|tx| slim::Doc::rebuild_table(tx).map(|_| ())));
    let how = match kind(db) {
        Kind::Sqlite => Rebuild::RefusedInTransaction,
        Kind::Postgres => Rebuild::UsageOnPostgres,
    };
    assert_rebuild_refused(&err, &how);
    assert_eq!(db_snapshot(db)?, before);
    Ok(())
}

fn list_tables_and_reflection_see_what_is_there<C: Conn<Backend: Engine>>(db: &C) -> TestResult {
    v1_seeded(db)?;
    assert_eq!(doctable::list_tables(db)?, ["docs"]);
    assert_eq!(doctable::reflect_table(db, "nope")?, None);
    let schema = doctable::reflect_table(db, "docs")?.ok_or("no table docs")?;
    let names: Vec<&str> = schema.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["id", "title", "year"]);
    assert_eq!(schema.column("id").map(|c| c.primary_key), Some(1));
    assert_eq!(schema.column("title").map(|c| c.not_null), Some(true));
    assert!(schema.sql.starts_with("CREATE TABLE"), "{}", schema.sql);
    Ok(())
}

fn library_tables<C: Conn<Backend: Engine>>(db: &C) -> TestResult {
    library::Author::create_table(db)?;
    library::Book::create_table(db)?;
    library::Chapter::create_table(db)?;
    Ok(())
}

fn book(author_id: i64, editor_id: Option<i64>) -> library::Book {
    library::Book {
        id: None,
        author_id,
        editor_id,
        score: 1.0,
        first_page: 1,
        last_page: 10,
        tags: None,
    }
}

fn author<C: Conn<Backend: Engine>>(db: &C, name: &str) -> doctable::Result<i64> {
    library::Author::insert(
        db,
        &library::Author {
            id: None,
            name: name.into(),
        },
    )
}

fn foreign_keys_and_checks_exist_as_declared<C: Conn<Backend: Engine>>(db: &C) -> TestResult {
    library_tables(db)?;
    let schema = doctable::reflect_table(db, "books")?.ok_or("no table books")?;
    let mut fks: Vec<(String, String, Option<String>, String)> = schema
        .foreign_keys
        .iter()
        .map(|f| {
            (
                f.from.clone(),
                f.table.clone(),
                f.to.clone(),
                f.on_delete.clone(),
            )
        })
        .collect();
    fks.sort();
    assert_eq!(
        fks,
        [
            (
                "author_id".into(),
                "authors".into(),
                Some("id".into()),
                "CASCADE".into()
            ),
            (
                "editor_id".into(),
                "authors".into(),
                Some("id".into()),
                "SET NULL".into()
            ),
        ]
    );
    // The checks as stored: SQLite keeps the declared text; PostgreSQL its
    // own spelling of the parsed expression.
    let (score, pages) = match kind(db) {
        Kind::Sqlite => ("CHECK (score >= 0)", "CHECK (last_page >= first_page)"),
        Kind::Postgres => (
            "CHECK ((score >= (0)::double precision))",
            "CHECK ((last_page >= first_page))",
        ),
    };
    assert!(schema.sql.contains(score), "{}", schema.sql);
    assert!(schema.sql.contains(pages), "{}", schema.sql);
    assert_eq!(
        schema.column("tags").map(|c| c.not_null),
        Some(false),
        "json Option is nullable"
    );
    let self_ref = doctable::reflect_table(db, "chapters")?.ok_or("no table chapters")?;
    assert_eq!(
        self_ref.foreign_keys.first().map(|f| f.table.as_str()),
        Some("chapters")
    );
    // Declared and stored agree.
    assert!(library::Book::schema_diff(db)?.is_empty());
    assert!(library::Chapter::schema_diff(db)?.is_empty());
    Ok(())
}

fn a_foreign_key_violation_is_a_typed_error_naming_the_key<C: Conn<Backend: Engine>>(
    db: &C,
) -> TestResult {
    library_tables(db)?;
    match expect_failure!(db, |c| library::Book::insert(c, &book(42, None))) {
        Error::Constraint {
            table,
            kind,
            message,
            ..
        } => {
            assert_eq!(
                (table.as_str(), kind),
                ("books", doctable::ConstraintKind::ForeignKey)
            );
            assert!(
                message.contains("`author_id` -> `authors`(`id`)"),
                "{message}"
            );
        }
        other => panic!("expected a foreign key error, got {other:?}"),
    }
    assert_eq!(<library::Book as DocTable>::count().get(db)?, 0);
    Ok(())
}

fn foreign_key_actions_cascade_and_set_null<C: Conn<Backend: Engine>>(db: &C) -> TestResult {
    library_tables(db)?;
    let ada = author(db, "Ada")?;
    let bob = author(db, "Bob")?;
    library::Book::insert_many(db, &[book(ada, Some(bob)), book(bob, Some(ada))])?;
    library::Author::delete()
        .filter(library::Author::id.eq(bob))
        .run(db)?;
    let left = library::Book::select().all(db)?;
    // Bob's own book went with him (cascade); he no longer edits Ada's (set null).
    assert_eq!(left.len(), 1);
    assert_eq!((left[0].author_id, left[0].editor_id), (ada, None));
    Ok(())
}

fn check_constraints_refuse_bad_rows<C: Conn<Backend: Engine>>(db: &C) -> TestResult {
    library_tables(db)?;
    let ada = author(db, "Ada")?;
    let negative = library::Book {
        score: -1.0,
        ..book(ada, None)
    };
    let err = expect_failure!(db, |c| library::Book::insert(c, &negative));
    assert!(
        matches!(
            err,
            Error::Constraint {
                kind: doctable::ConstraintKind::Check,
                ..
            }
        ),
        "{err:?}"
    );
    let backwards = library::Book {
        first_page: 9,
        last_page: 2,
        ..book(ada, None)
    };
    let err = expect_failure!(db, |c| library::Book::insert(c, &backwards));
    // SQLite says "CHECK constraint failed", PostgreSQL "violates check
    // constraint": the kind is said once, in the engine's words.
    assert!(err.to_string().to_lowercase().contains("check"), "{err}");
    assert!(err.to_string().contains("books"), "{err}");
    assert_eq!(<library::Book as DocTable>::count().get(db)?, 0);
    Ok(())
}

fn a_json_option_field_stores_none_as_null<C: Conn<Backend: Engine>>(db: &C) -> TestResult {
    library_tables(db)?;
    let ada = author(db, "Ada")?;
    let tagged = library::Book {
        tags: Some(vec!["a".into(), "b".into()]),
        ..book(ada, None)
    };
    library::Book::insert_many(db, &[book(ada, None), tagged.clone()])?;
    let untagged = library::Book::select()
        .filter(library::Book::tags.is_null())
        .all(db)?;
    assert_eq!(untagged.len(), 1);
    assert_eq!(untagged[0].tags, None);
    let with_tags = library::Book::select()
        .filter(library::Book::tags.is_not_null())
        .all(db)?;
    assert_eq!(
        with_tags.iter().map(|b| b.tags.clone()).collect::<Vec<_>>(),
        [tagged.tags]
    );
    Ok(())
}

fn adding_constraints_is_a_mismatch_that_rebuild_applies<C: Conn<Backend: Engine>>(
    db: &C,
) -> TestResult {
    library::Author::create_table(db)?;
    books_without_fk::Book::create_table(db)?;
    let diff = library::Book::schema_diff(db)?;
    let mismatched: Vec<String> = diff
        .changes
        .iter()
        .filter_map(|c| match c {
            SchemaChange::Mismatch { column, .. } => Some(column.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(mismatched, ["author_id", "editor_id", "CHECK"]);
    let err = expect_failure!(db, |c| library::Book::create_table(c));
    assert!(matches!(err, Error::SchemaMismatch { .. }), "{err:?}");
    let how = rebuild_on(db);
    if how != Rebuild::Rebuilds {
        let err = expect_failure!(db, |c| library::Book::rebuild_table(c));
        assert_rebuild_refused(&err, &how);
        assert!(books_without_fk::Book::schema_diff(db)?.is_empty());
        return Ok(());
    }
    let report = library::Book::rebuild_table(db)?;
    assert_eq!(report.rows, 0);
    assert!(library::Book::schema_diff(db)?.is_empty());
    assert!(matches!(
        library::Book::insert(db, &book(7, None)),
        Err(Error::Constraint {
            kind: doctable::ConstraintKind::ForeignKey,
            ..
        })
    ));
    Ok(())
}

/// A table named `DOCS` where the struct says `docs`. SQLite's names ignore
/// ASCII case, so it is the struct's table, and it does not match: a
/// mismatch. PostgreSQL's quoted names keep their case, so `"DOCS"` is
/// another table: `docs` is created beside it, and `"DOCS"` is left as it is.
fn a_table_named_in_another_case<C: Conn<Backend: Engine>>(db: &C) -> TestResult {
    match kind(db) {
        Kind::Sqlite => {
            backends::raw_batch(
                db,
                "CREATE TABLE \"DOCS\" (id INTEGER PRIMARY KEY, other REAL)",
            )?;
            let err = expect_failure!(db, |c| v1::Doc::create_table(c));
            assert!(matches!(err, Error::SchemaMismatch { .. }), "{err:?}");
            assert!(!v1::Doc::schema_diff(db)?.is_safe());
        }
        Kind::Postgres => {
            backends::raw_batch(
                db,
                "CREATE TABLE \"DOCS\" (id bigint PRIMARY KEY, other double precision)",
            )?;
            assert_eq!(
                v1::Doc::schema_diff(db)?.changes,
                [SchemaChange::CreateTable]
            );
            v1_seeded(db)?;
            let mut tables = doctable::list_tables(db)?;
            tables.sort();
            assert_eq!(tables, ["DOCS", "docs"]);
            assert_eq!(
                backends::raw_i64(db, "SELECT count(*) FROM \"DOCS\"")?,
                0,
                "the other table is untouched"
            );
            assert_eq!(v1::Doc::count().get(db)?, 3);
        }
    }
    Ok(())
}

fn an_index_name_taken_by_another_table_is_a_mismatch<C: Conn<Backend: Engine>>(
    db: &C,
) -> TestResult {
    clash::One::create_table(db)?;
    match expect_failure!(db, |c| clash::Two::create_table(c)) {
        Error::SchemaMismatch { column, found, .. } => {
            assert_eq!(column, "by_year");
            assert!(found.contains("`one`"), "{found}");
        }
        other => panic!("expected a mismatch, got {other:?}"),
    }
    assert_eq!(doctable::list_tables(db)?, ["one"], "`two` was not created");
    Ok(())
}

fn a_changed_or_removed_check_is_a_mismatch<C: Conn<Backend: Engine>>(db: &C) -> TestResult {
    checks::Ten::create_table(db)?;
    assert!(checks::Ten::schema_diff(db)?.is_empty());
    for diff in [
        checks::One::schema_diff(db),
        checks::NoCheck::schema_diff(db),
    ] {
        let diff = diff?;
        assert!(
            matches!(diff.changes.as_slice(), [SchemaChange::Mismatch { column, found, .. }] if column == "CHECK" && found.contains("qty >= 10")),
            "{diff:?}"
        );
    }
    let how = rebuild_on(db);
    if how != Rebuild::Rebuilds {
        let err = expect_failure!(db, |c| checks::NoCheck::rebuild_table(c));
        assert_rebuild_refused(&err, &how);
        assert!(checks::Ten::schema_diff(db)?.is_empty(), "unchanged");
        return Ok(());
    }
    checks::NoCheck::rebuild_table(db)?;
    assert!(checks::NoCheck::schema_diff(db)?.is_empty());
    Ok(())
}

// ---------------------------------------------------------------------------
// Two processes at once, on both engines.

on_shared!(two_processes_migrating_at_once_both_succeed => [persistent, pg_persistent]);

/// Two processes open the same v1 table with the v2 struct at the same
/// moment: both succeed, and each new column exists once.
fn two_processes_migrating_at_once_both_succeed<O: Opener>(s: &Shared<O>) -> TestResult {
    if s.role.is_some() {
        let db = s.open()?;
        let mut go = [0u8; 1];
        std::io::Read::read_exact(&mut std::io::stdin(), &mut go)?;
        v2::Doc::create_table(&db)?;
        return Ok(());
    }
    let db = s.open()?;
    v1_seeded(&db)?;
    let mut children = Vec::new();
    for _ in 0..2 {
        children.push(s.child_command("migrate")?.spawn()?);
    }
    // Both children are started before either is told to go, so they race.
    for child in &mut children {
        if let Some(mut stdin) = child.stdin.take() {
            std::io::Write::write_all(&mut stdin, b"g")?;
        }
    }
    for child in children {
        let out = child.wait_with_output()?;
        assert!(
            out.status.success(),
            "child failed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let schema = doctable::reflect_table(&db, "docs")?.ok_or("no table docs")?;
    let names: Vec<&str> = schema.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["id", "title", "year", "note", "lang"]);
    assert!(v2::Doc::schema_diff(&db)?.is_empty());
    assert_eq!(v2::Doc::count().get(&db)?, 3);
    Ok(())
}

// ---------------------------------------------------------------------------
// SQLite only: the rebuild's own work, and read-only opens.

#[test]
fn rebuild_converts_types_only_when_every_value_converts() {
    let (_dir, path) = v1_file();
    let db = Persistent::open(&path).expect("open");
    // INTEGER -> TEXT: every integer converts.
    let report = retyped::Doc::rebuild_table(&db).expect("rebuild to text");
    assert_eq!(report.converted_columns, ["year"]);
    let years: Vec<String> = retyped::Doc::select_cols(retyped::Doc::year)
        .order_by(retyped::Doc::id)
        .all(&db)
        .expect("read");
    assert_eq!(years, ["2000", "2001", "2002"]);
    // TEXT -> INTEGER with a value that is not a number: refused, nothing changes.
    retyped::Doc::insert(
        &db,
        &retyped::Doc {
            id: None,
            title: "x".into(),
            year: "unknown".into(),
        },
    )
    .expect("insert");
    drop(db);
    let before = snapshot(&path);
    let db = Persistent::open(&path).expect("open");
    match v1::Doc::rebuild_table(&db) {
        Err(Error::Conversion {
            table,
            column,
            detail,
            ..
        }) => {
            assert_eq!((table.as_str(), column.as_str()), ("docs", "year"));
            assert!(detail.contains("1 stored values"), "{detail}");
        }
        other => panic!("expected a conversion error, got {other:?}"),
    }
    drop(db);
    assert_eq!(snapshot(&path), before);
}

#[test]
fn a_read_only_open_reads_but_refuses_every_write() {
    let (_dir, path) = v1_file();
    let db = Persistent::open_with(&path, &Options::new().read_only(true)).expect("open read-only");
    assert_eq!(v1::Doc::select().all(&db).expect("read").len(), 3);
    let doc = v1::Doc {
        id: None,
        title: "new".into(),
        year: 1,
    };
    assert!(matches!(
        v1::Doc::insert(&db, &doc),
        Err(Error::ReadOnly { .. })
    ));
    assert!(matches!(
        v1::Doc::delete().all_rows().run(&db),
        Err(Error::ReadOnly { .. })
    ));
    assert!(v2::Doc::create_table(&db).is_err());
    assert_eq!(v1::Doc::select().all(&db).expect("still readable").len(), 3);
}

mod library {
    use doctable::DocTable;

    #[derive(DocTable, Debug, Clone, PartialEq)]
    #[doctable(table = "authors")]
    pub struct Author {
        #[doctable(primary_key)]
        pub id: Option<i64>,
        pub name: String,
    }

    #[derive(DocTable, Debug, Clone, PartialEq)]
    #[doctable(table = "books", check = "last_page >= first_page")]
    pub struct Book {
        #[doctable(primary_key)]
        pub id: Option<i64>,
        #[doctable(references(Author::id), on_delete = "cascade")]
        pub author_id: i64,
        #[doctable(references = "authors(id)", on_delete = "set null")]
        pub editor_id: Option<i64>,
        #[doctable(check = "score >= 0")]
        pub score: f64,
        pub first_page: i64,
        pub last_page: i64,
        #[doctable(json)]
        pub tags: Option<Vec<String>>,
    }

    /// A table whose key refers to its own table.
    #[derive(DocTable, Debug, Clone, PartialEq)]
    #[doctable(table = "chapters")]
    pub struct Chapter {
        #[doctable(primary_key)]
        pub id: Option<i64>,
        #[doctable(references(Chapter::id))]
        pub parent: Option<i64>,
    }
}

mod books_without_fk {
    use doctable::DocTable;
    /// `books` as first created: no foreign keys, no checks.
    #[derive(DocTable, Debug, Clone, PartialEq)]
    #[doctable(table = "books")]
    pub struct Book {
        #[doctable(primary_key)]
        pub id: Option<i64>,
        pub author_id: i64,
        pub editor_id: Option<i64>,
        pub score: f64,
        pub first_page: i64,
        pub last_page: i64,
        #[doctable(json)]
        pub tags: Option<Vec<String>>,
    }
}

#[test]
fn rebuild_refuses_to_leave_broken_foreign_keys() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("broken.db");
    let db = Persistent::open(&path).expect("open");
    library::Author::create_table(&db).expect("authors");
    books_without_fk::Book::create_table(&db).expect("old books");
    let orphan = books_without_fk::Book {
        id: None,
        author_id: 99,
        editor_id: None,
        score: 1.0,
        first_page: 1,
        last_page: 2,
        tags: None,
    };
    books_without_fk::Book::insert(&db, &orphan).expect("orphan row, no key yet");
    let err = library::Book::rebuild_table(&db).unwrap_err();
    assert!(err.to_string().contains("refers to a missing row"), "{err}");
    // Rolled back: the old table is untouched and foreign keys are enforced again.
    assert!(
        books_without_fk::Book::schema_diff(&db)
            .expect("diff")
            .is_empty()
    );
    let on: i64 = db
        .with_rusqlite(|c| c.query_row("PRAGMA foreign_keys", [], |r| r.get(0)))
        .expect("conn")
        .expect("pragma");
    assert_eq!(on, 1);
}

mod clash {
    use doctable::DocTable;
    #[derive(DocTable)]
    #[doctable(table = "one", index(by_year = [year]))]
    pub struct One {
        #[doctable(primary_key)]
        pub id: Option<i64>,
        pub year: i64,
    }
    #[derive(DocTable)]
    #[doctable(table = "two", index(by_year = [year]))]
    pub struct Two {
        #[doctable(primary_key)]
        pub id: Option<i64>,
        pub year: i64,
    }
}

mod counted {
    use doctable::DocTable;
    #[derive(DocTable, Debug)]
    #[doctable(table = "items")]
    pub struct V1 {
        #[doctable(primary_key, autoincrement)]
        pub id: Option<i64>,
        pub name: String,
        pub old: Option<i64>,
    }
    #[derive(DocTable, Debug)]
    #[doctable(table = "items")]
    pub struct V2 {
        #[doctable(primary_key, autoincrement)]
        pub id: Option<i64>,
        pub name: String,
    }
}

#[test]
fn rebuild_keeps_triggers_foreign_indexes_and_the_autoincrement_sequence() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Persistent::open(dir.path().join("items.db")).expect("open");
    counted::V1::create_table(&db).expect("create");
    for name in ["a", "b", "c"] {
        counted::V1::insert(
            &db,
            &counted::V1 {
                id: None,
                name: name.into(),
                old: None,
            },
        )
        .expect("insert");
    }
    counted::V1::delete()
        .filter(counted::V1::id.gt(1))
        .run(&db)
        .expect("delete");
    db.with_rusqlite(|c| {
        c.execute_batch(
            "CREATE INDEX my_idx ON items (name);
             CREATE TABLE audit (item INTEGER);
             CREATE TRIGGER items_audit AFTER INSERT ON items BEGIN INSERT INTO audit VALUES (new.id); END;",
        )
    })
    .expect("conn")
    .expect("extras");
    let report = counted::V2::rebuild_table(&db).expect("rebuild");
    assert_eq!(report.dropped_columns, ["old"]);
    let mut recreated = report.recreated.clone();
    recreated.sort();
    assert_eq!(recreated, ["items_audit", "my_idx"]);
    let id = counted::V2::insert(
        &db,
        &counted::V2 {
            id: None,
            name: "d".into(),
        },
    )
    .expect("insert");
    assert_eq!(id, 4, "AUTOINCREMENT never reuses ids 2 and 3");
    let audited: i64 = db
        .with_rusqlite(|c| c.query_row("SELECT count(*) FROM audit", [], |r| r.get(0)))
        .expect("conn")
        .expect("audit");
    assert_eq!(audited, 1, "the trigger still fires");
}

#[test]
fn rebuild_refuses_to_lose_an_index_on_a_dropped_column() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Persistent::open(dir.path().join("items.db")).expect("open");
    counted::V1::create_table(&db).expect("create");
    db.with_rusqlite(|c| c.execute_batch("CREATE INDEX on_old ON items (old)"))
        .expect("conn")
        .expect("index");
    let err = counted::V2::rebuild_table(&db).unwrap_err();
    assert!(err.to_string().contains("on_old"), "{err}");
    assert!(
        counted::V1::schema_diff(&db).expect("diff").is_empty(),
        "rolled back"
    );
}

mod checks {
    use doctable::DocTable;
    #[derive(DocTable)]
    #[doctable(table = "stock")]
    pub struct Ten {
        #[doctable(primary_key)]
        pub id: Option<i64>,
        #[doctable(check = "qty >= 10")]
        pub qty: i64,
    }
    #[derive(DocTable)]
    #[doctable(table = "stock")]
    pub struct One {
        #[doctable(primary_key)]
        pub id: Option<i64>,
        #[doctable(check = "qty >= 1")]
        pub qty: i64,
    }
    #[derive(DocTable)]
    #[doctable(table = "stock")]
    pub struct NoCheck {
        #[doctable(primary_key)]
        pub id: Option<i64>,
        pub qty: i64,
    }
}
