//! The backend seam seen from outside: every write path explains a foreign
//! key violation the same way (one execution path), existing bool and JSON
//! columns still match their struct (the logical `SqlType` is named by the
//! SQLite dialect as before), and raw SQL placeholders inside quotes are left alone.

use doctable::{DocTable, Error, Persistent, SqlType};

#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "authors")]
struct Author {
    #[doctable(primary_key)]
    id: Option<i64>,
    name: String,
}

#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "books")]
struct Book {
    #[doctable(primary_key)]
    id: Option<i64>,
    #[doctable(references(Author::id))]
    author_id: i64,
    title: String,
}

fn db() -> (tempfile::TempDir, Persistent) {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Persistent::open(dir.path().join("seam.db")).expect("open");
    Author::create_table(&db).expect("authors");
    Book::create_table(&db).expect("books");
    (dir, db)
}

fn foreign_key_message(result: doctable::Result<impl std::fmt::Debug>) -> String {
    match result {
        Err(Error::Constraint {
            kind: doctable::ConstraintKind::ForeignKey,
            message,
            ..
        }) => message,
        other => panic!("expected a foreign key violation, got {other:?}"),
    }
}

#[test]
fn update_row_names_the_tables_foreign_keys_like_every_other_write() {
    let (_dir, db) = db();
    let ada = Author::insert(
        &db,
        &Author {
            id: None,
            name: "Ada".into(),
        },
    )
    .expect("author");
    let id = Book::insert(
        &db,
        &Book {
            id: None,
            author_id: ada,
            title: "Notes".into(),
        },
    )
    .expect("book");

    let moved = Book {
        id: Some(id),
        author_id: ada + 100,
        title: "Notes".into(),
    };
    let by_update_row = foreign_key_message(Book::update_row(&db, &moved));
    let by_insert = foreign_key_message(Book::insert(
        &db,
        &Book {
            id: None,
            ..moved.clone()
        },
    ));
    let detail = "(the table's foreign keys: `author_id` -> `authors`(`id`))";
    assert!(by_update_row.ends_with(detail), "{by_update_row}");
    assert!(by_insert.ends_with(detail), "{by_insert}");
    // Each quotes its own statement with the values it bound (the value that
    // failed, 101, among them).
    for (message, statement) in [(&by_update_row, "UPDATE"), (&by_insert, "INSERT")] {
        let prefix =
            format!("FOREIGN KEY constraint failed (the statement with its values: {statement} ");
        assert!(message.starts_with(&prefix), "{message}");
        assert!(message.contains("101"), "{message}");
    }
}

#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "flags")]
struct Flags {
    #[doctable(primary_key)]
    id: Option<i64>,
    on: bool,
    #[doctable(json)]
    tags: Vec<String>,
}

#[test]
fn bool_and_json_are_logical_types_stored_as_before() {
    assert_eq!(<bool as doctable::ColumnType>::SQL_TYPE, SqlType::Bool);
    assert_eq!(Flags::META.columns[2].sql_type, SqlType::Json);

    // A table made before the seam (INTEGER for bool, TEXT for JSON) matches.
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("old.db");
    let conn = doctable::rusqlite::Connection::open(&path).expect("open");
    conn.execute_batch(
        "CREATE TABLE \"flags\" (\"id\" INTEGER PRIMARY KEY, \"on\" INTEGER NOT NULL, \"tags\" TEXT NOT NULL);
         INSERT INTO \"flags\" VALUES (1, 1, '[\"a\"]');",
    )
    .expect("old table");
    assert!(Flags::schema_diff(&conn).expect("diff").is_empty());
    Flags::create_table(&conn).expect("no mismatch");
    assert_eq!(
        Flags::get(&conn, 1).expect("get"),
        Some(Flags {
            id: Some(1),
            on: true,
            tags: vec!["a".into()]
        })
    );
    let created: String = conn
        .query_row(
            "SELECT sql FROM sqlite_schema WHERE name = 'flags'",
            [],
            |r| r.get(0),
        )
        .expect("ddl");
    assert!(created.contains("\"on\" INTEGER"), "{created}");

    // Through the crate: stored as INTEGER 0/1 and TEXT, as before.
    let db = Persistent::open_in_memory().expect("db");
    Flags::create_table(&db).expect("create");
    Flags::insert(
        &db,
        &Flags {
            id: None,
            on: false,
            tags: vec![],
        },
    )
    .expect("insert");
    let stored: (String, i64) = db
        .with_rusqlite(|c| {
            c.query_row("SELECT typeof(\"on\"), \"on\" FROM \"flags\"", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
        })
        .expect("conn")
        .expect("row");
    assert_eq!(stored, ("integer".to_owned(), 0));
}

#[test]
fn raw_sql_question_marks_inside_quotes_are_not_parameters() {
    let (_dir, db) = db();
    Author::insert(
        &db,
        &Author {
            id: None,
            name: "who?".into(),
        },
    )
    .expect("author");
    let found = Author::select_sql("WHERE \"name\" = 'who?' AND \"id\" > ?", [0], &db)
        .expect("one parameter");
    assert_eq!(found.len(), 1);
    let raw: doctable::Expr<Author, bool> =
        doctable::Expr::raw("\"name\" <> '?' AND \"id\" = ?", [1]);
    assert_eq!(Author::select().filter(raw).all(&db).expect("raw").len(), 1);
}
