//! Schema evolution: what `create_table` adds, what it refuses (changing
//! nothing), what `rebuild_table` can do, and what is on disk afterwards.
//! Struct versions are separate structs over the same table name.

use doctable::rusqlite::Connection;
use doctable::{DocTable, Error, Options, Persistent, SchemaChange};

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

#[test]
fn new_nullable_and_defaulted_columns_and_indexes_are_added() {
    let (_dir, path) = v1_file();
    let db = Persistent::open(&path).expect("open");
    let diff = v2::Doc::schema_diff(&db).expect("diff");
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

    v2::Doc::create_table(&db).expect("evolve to v2");
    assert!(v2::Doc::schema_diff(&db).expect("diff").is_empty());
    let rows = v2::Doc::select()
        .order_by(v2::Doc::id)
        .all(&db)
        .expect("read old rows");
    assert_eq!(rows.len(), 3);
    assert!(
        rows.iter().all(|d| d.note.is_none() && d.lang == "en"),
        "{rows:?}"
    );

    let schema = doctable::reflect_table(&db, "docs")
        .expect("reflect")
        .expect("table");
    let by_year_title = schema.index("by_year_title").expect("composite index");
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
            .any(|i| i.unique && i.origin == "u" && i.columns == ["title"])
    );
    assert_eq!(
        schema
            .column("lang")
            .and_then(|c| c.default.clone())
            .as_deref(),
        Some("'en'")
    );
    // Running it again changes nothing.
    v2::Doc::create_table(&db).expect("idempotent");
}

#[test]
fn a_rename_is_refused_and_the_file_is_unchanged() {
    let (_dir, path) = v1_file();
    let before = snapshot(&path);
    let db = Persistent::open(&path).expect("open");
    match renamed::Doc::create_table(&db) {
        Err(Error::SchemaMismatch {
            table,
            column,
            expected,
            found,
            ..
        }) => {
            assert_eq!((table.as_str(), column.as_str()), ("docs", "published"));
            assert!(
                expected.contains("\"published\" INTEGER NOT NULL"),
                "{expected}"
            );
            assert!(found.contains("no such column"), "{found}");
        }
        other => panic!("expected a schema mismatch, got {other:?}"),
    }
    drop(db);
    assert_eq!(snapshot(&path), before);
}

#[test]
fn a_type_change_is_refused_and_the_file_is_unchanged() {
    let (_dir, path) = v1_file();
    let before = snapshot(&path);
    let db = Persistent::open(&path).expect("open");
    let err = retyped::Doc::create_table(&db).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("docs")
            && text.contains("year")
            && text.contains("TEXT")
            && text.contains("INTEGER"),
        "{text}"
    );
    drop(db);
    assert_eq!(snapshot(&path), before);
}

#[test]
fn a_removed_column_is_refused_but_rebuild_drops_it_keeping_the_rest() {
    let (_dir, path) = v1_file();
    let db = Persistent::open(&path).expect("open");
    assert!(
        matches!(slim::Doc::create_table(&db), Err(Error::SchemaMismatch { ref column, .. }) if column == "year")
    );
    let report = slim::Doc::rebuild_table(&db).expect("rebuild");
    assert_eq!(report.rows, 3);
    assert_eq!(report.dropped_columns, ["year"]);
    let rows = slim::Doc::select()
        .order_by(slim::Doc::id)
        .all(&db)
        .expect("read");
    let expected: Vec<slim::Doc> = (0..3)
        .map(|i| slim::Doc {
            id: Some(i + 1),
            title: format!("t{i}"),
        })
        .collect();
    assert_eq!(rows, expected);
    // The unique constraint came through the rebuild.
    assert!(
        slim::Doc::insert(
            &db,
            &slim::Doc {
                id: None,
                title: "t0".into()
            }
        )
        .is_err()
    );
    assert!(slim::Doc::schema_diff(&db).expect("diff").is_empty());
}

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
fn rebuild_inside_a_transaction_is_refused() {
    let (_dir, path) = v1_file();
    let db = Persistent::open(&path).expect("open");
    let err = db
        .transaction(|tx| slim::Doc::rebuild_table(tx).map(|_| ()))
        .unwrap_err();
    assert!(err.to_string().contains("outside a transaction"), "{err}");
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

#[test]
fn list_tables_and_reflection_see_what_is_there() {
    let (_dir, path) = v1_file();
    let db = Persistent::open(&path).expect("open");
    assert_eq!(doctable::list_tables(&db).expect("list"), ["docs"]);
    assert_eq!(doctable::reflect_table(&db, "nope").expect("reflect"), None);
    let schema = doctable::reflect_table(&db, "docs")
        .expect("reflect")
        .expect("table");
    let names: Vec<&str> = schema.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["id", "title", "year"]);
    assert_eq!(schema.column("id").map(|c| c.primary_key), Some(1));
    assert!(schema.sql.starts_with("CREATE TABLE"));
}

/// Two processes open the same v1 file with the v2 struct at the same moment:
/// both succeed, and each new column exists once.
#[test]
fn two_processes_migrating_at_once_both_succeed() {
    if let Ok(path) = std::env::var("DOCTABLE_SCHEMA_CHILD") {
        let db = Persistent::open(&path).expect("child open");
        v2::Doc::create_table(&db).expect("child migrate");
        return;
    }
    let (_dir, path) = v1_file();
    let exe = std::env::current_exe().expect("test binary");
    // Both children are started before either is waited for, so they race.
    let children: Vec<std::process::Child> = (0..2)
        .map(|_| {
            std::process::Command::new(&exe)
                .args([
                    "--exact",
                    "two_processes_migrating_at_once_both_succeed",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env("DOCTABLE_SCHEMA_CHILD", &path)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().expect("wait");
        assert!(
            out.status.success(),
            "child failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let db = Persistent::open(&path).expect("open");
    let schema = doctable::reflect_table(&db, "docs")
        .expect("reflect")
        .expect("table");
    let names: Vec<&str> = schema.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["id", "title", "year", "note", "lang"]);
    assert!(v2::Doc::schema_diff(&db).expect("diff").is_empty());
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

fn library_db() -> (tempfile::TempDir, Persistent) {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Persistent::open(dir.path().join("library.db")).expect("open");
    library::Author::create_table(&db).expect("authors");
    library::Book::create_table(&db).expect("books");
    library::Chapter::create_table(&db).expect("chapters");
    (dir, db)
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

#[test]
fn foreign_keys_and_checks_exist_on_disk_as_declared() {
    let (_dir, db) = library_db();
    let schema = doctable::reflect_table(&db, "books")
        .expect("reflect")
        .expect("table");
    let fks: Vec<(String, String, Option<String>, String)> = schema
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
    assert_eq!(
        fks,
        [
            (
                "editor_id".into(),
                "authors".into(),
                Some("id".into()),
                "SET NULL".into()
            ),
            (
                "author_id".into(),
                "authors".into(),
                Some("id".into()),
                "CASCADE".into()
            ),
        ]
    );
    assert!(schema.sql.contains("CHECK (score >= 0)"), "{}", schema.sql);
    assert!(
        schema.sql.contains("CHECK (last_page >= first_page)"),
        "{}",
        schema.sql
    );
    assert_eq!(
        schema.column("tags").map(|c| c.not_null),
        Some(false),
        "json Option is nullable"
    );
    let self_ref = doctable::reflect_table(&db, "chapters")
        .expect("reflect")
        .expect("table");
    assert_eq!(
        self_ref.foreign_keys.first().map(|f| f.table.as_str()),
        Some("chapters")
    );
    // Declared and on disk agree.
    assert!(library::Book::schema_diff(&db).expect("diff").is_empty());
}

#[test]
fn a_foreign_key_violation_is_a_typed_error_naming_the_key() {
    let (_dir, db) = library_db();
    match library::Book::insert(&db, &book(42, None)) {
        Err(Error::Constraint {
            table,
            kind,
            message,
            ..
        }) => {
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
    assert_eq!(
        <library::Book as DocTable>::count()
            .get(&db)
            .expect("count"),
        0
    );
}

#[test]
fn foreign_key_actions_cascade_and_set_null() {
    let (_dir, db) = library_db();
    let ada = library::Author::insert(
        &db,
        &library::Author {
            id: None,
            name: "Ada".into(),
        },
    )
    .expect("ada");
    let bob = library::Author::insert(
        &db,
        &library::Author {
            id: None,
            name: "Bob".into(),
        },
    )
    .expect("bob");
    library::Book::insert_many(&db, &[book(ada, Some(bob)), book(bob, Some(ada))]).expect("books");
    library::Author::delete()
        .filter(library::Author::id.eq(bob))
        .run(&db)
        .expect("delete bob");
    let left = library::Book::select().all(&db).expect("books");
    // Bob's own book went with him (cascade); he no longer edits Ada's (set null).
    assert_eq!(left.len(), 1);
    assert_eq!((left[0].author_id, left[0].editor_id), (ada, None));
}

#[test]
fn check_constraints_refuse_bad_rows() {
    let (_dir, db) = library_db();
    let ada = library::Author::insert(
        &db,
        &library::Author {
            id: None,
            name: "Ada".into(),
        },
    )
    .expect("ada");
    let negative = library::Book {
        score: -1.0,
        ..book(ada, None)
    };
    assert!(matches!(
        library::Book::insert(&db, &negative),
        Err(Error::Constraint {
            kind: doctable::ConstraintKind::Check,
            ..
        })
    ));
    let backwards = library::Book {
        first_page: 9,
        last_page: 2,
        ..book(ada, None)
    };
    let err = library::Book::insert(&db, &backwards).unwrap_err();
    assert!(err.to_string().contains("CHECK"), "{err}");
}

#[test]
fn a_json_option_field_stores_none_as_null() {
    let (_dir, db) = library_db();
    let ada = library::Author::insert(
        &db,
        &library::Author {
            id: None,
            name: "Ada".into(),
        },
    )
    .expect("ada");
    let tagged = library::Book {
        tags: Some(vec!["a".into(), "b".into()]),
        ..book(ada, None)
    };
    library::Book::insert_many(&db, &[book(ada, None), tagged.clone()]).expect("insert");
    let untagged = library::Book::select()
        .filter(library::Book::tags.is_null())
        .all(&db)
        .expect("null tags");
    assert_eq!(untagged.len(), 1);
    assert_eq!(untagged[0].tags, None);
    let with_tags = library::Book::select()
        .filter(library::Book::tags.is_not_null())
        .all(&db)
        .expect("tags");
    assert_eq!(
        with_tags.iter().map(|b| b.tags.clone()).collect::<Vec<_>>(),
        [tagged.tags]
    );
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
fn adding_constraints_is_a_mismatch_that_rebuild_applies() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Persistent::open(dir.path().join("evolve.db")).expect("open");
    library::Author::create_table(&db).expect("authors");
    books_without_fk::Book::create_table(&db).expect("old books");
    let diff = library::Book::schema_diff(&db).expect("diff");
    let mismatched: Vec<String> = diff
        .changes
        .iter()
        .filter_map(|c| match c {
            SchemaChange::Mismatch { column, .. } => Some(column.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(mismatched, ["author_id", "editor_id", "CHECK"]);
    assert!(matches!(
        library::Book::create_table(&db),
        Err(Error::SchemaMismatch { .. })
    ));
    let report = library::Book::rebuild_table(&db).expect("rebuild");
    assert_eq!(report.rows, 0);
    assert!(library::Book::schema_diff(&db).expect("diff").is_empty());
    assert!(matches!(
        library::Book::insert(&db, &book(7, None)),
        Err(Error::Constraint {
            kind: doctable::ConstraintKind::ForeignKey,
            ..
        })
    ));
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

#[test]
fn a_table_named_in_another_case_is_compared_not_skipped() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Persistent::open(dir.path().join("case.db")).expect("open");
    db.with_rusqlite(|c| {
        c.execute_batch("CREATE TABLE \"DOCS\" (id INTEGER PRIMARY KEY, other REAL)")
    })
    .expect("conn")
    .expect("create");
    assert!(matches!(
        v1::Doc::create_table(&db),
        Err(Error::SchemaMismatch { .. })
    ));
    assert!(!v1::Doc::schema_diff(&db).expect("diff").is_safe());
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

#[test]
fn an_index_name_taken_by_another_table_is_a_mismatch() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Persistent::open(dir.path().join("clash.db")).expect("open");
    clash::One::create_table(&db).expect("first table");
    match clash::Two::create_table(&db) {
        Err(Error::SchemaMismatch { column, found, .. }) => {
            assert_eq!(column, "by_year");
            assert!(found.contains("`one`"), "{found}");
        }
        other => panic!("expected a mismatch, got {other:?}"),
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

#[test]
fn a_changed_or_removed_check_is_a_mismatch() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Persistent::open(dir.path().join("stock.db")).expect("open");
    checks::Ten::create_table(&db).expect("create");
    assert!(checks::Ten::schema_diff(&db).expect("diff").is_empty());
    for diff in [
        checks::One::schema_diff(&db),
        checks::NoCheck::schema_diff(&db),
    ] {
        let diff = diff.expect("diff");
        assert!(
            matches!(diff.changes.as_slice(), [SchemaChange::Mismatch { column, found, .. }] if column == "CHECK" && found.contains("qty >= 10")),
            "{diff:?}"
        );
    }
    checks::NoCheck::rebuild_table(&db).expect("rebuild drops the check");
    assert!(checks::NoCheck::schema_diff(&db).expect("diff").is_empty());
}
