//! `rebuild_table` under hostile conditions (issue 9, items 4, 7 and 15):
//! conversions that SQLite would not make or would make lossily, a user's
//! table that has the rebuild's scratch name, and views and triggers that name
//! the rebuilt table.
//!
//! What must hold: a rebuild that returns `Ok` left a table whose every value
//! the struct reads back, equal to what was stored before; a rebuild that
//! cannot keep that promise returns an error naming the table, the column (or
//! the view or trigger) and an example row, and the file is exactly as it was.

use std::path::{Path, PathBuf};

use doctable::rusqlite::{self, Connection};
use doctable::{DocTable, Error, Persistent};

/// Every schema entry and every row of every table, as text: what "nothing
/// changed" compares.
fn snapshot(path: &Path) -> Vec<String> {
    let c = Connection::open(path).expect("open");
    let mut out: Vec<String> = c
        .prepare("SELECT type || ' ' || name || ' ' || ifnull(sql, '') FROM sqlite_schema ORDER BY type, name")
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("schema");
    let tables: Vec<String> = c
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("tables");
    for table in tables {
        let columns: Vec<String> = c
            .prepare("SELECT name FROM pragma_table_info(?1)")
            .expect("prepare")
            .query_map([&table], |r| r.get(0))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("columns");
        let list = columns
            .iter()
            .map(|c| format!("quote(\"{c}\")"))
            .collect::<Vec<_>>()
            .join(" || '|' || ");
        let sql = format!("SELECT {list} FROM \"{table}\" ORDER BY 1");
        let rows: Vec<String> = c
            .prepare(&sql)
            .expect("prepare")
            .query_map([], |r| r.get(0))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows");
        out.extend(rows.into_iter().map(|r| format!("{table}: {r}")));
    }
    out
}

fn temp_db() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("rebuild.db");
    (dir, path)
}

fn raw(db: &Persistent, sql: &str) {
    db.with_rusqlite(|c| c.execute_batch(sql))
        .expect("connection")
        .expect(sql);
}

fn typeofs(db: &Persistent, sql: &str) -> Vec<String> {
    db.with_rusqlite(|c| {
        c.prepare(sql)?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()
    })
    .expect("connection")
    .expect(sql)
}

/// Asserts a conversion refusal naming `table`.`column` and a row, whose
/// detail mentions `value`.
fn assert_refused(result: doctable::Result<doctable::RebuildReport>, column: &str, value: &str) {
    match result {
        Err(Error::Conversion {
            table,
            column: col,
            row,
            detail,
        }) => {
            assert_eq!((table.as_str(), col.as_str()), ("notes", column));
            assert!(row.is_some(), "an example row is named: {detail}");
            assert!(detail.contains(value), "{detail}");
            assert!(detail.contains("nothing changed"), "{detail}");
        }
        other => panic!("expected a conversion error for {column}, got {other:?}"),
    }
}

mod text_to_bytes {
    use doctable::DocTable;
    #[derive(DocTable, Debug, Clone, PartialEq)]
    #[doctable(table = "notes")]
    pub struct Text {
        #[doctable(primary_key)]
        pub id: Option<i64>,
        pub body: String,
    }
    #[derive(DocTable, Debug, Clone, PartialEq)]
    #[doctable(table = "notes")]
    pub struct Bytes {
        #[doctable(primary_key)]
        pub id: Option<i64>,
        pub body: Vec<u8>,
    }
}

#[test]
fn string_to_bytes_converts_every_value_and_reads_back() {
    use text_to_bytes::{Bytes, Text};
    let (_dir, path) = temp_db();
    let db = Persistent::open(&path).expect("open");
    Text::create_table(&db).expect("create");
    let bodies = ["hello", "héllo wörld", "", "line\nbreak"];
    for body in bodies {
        Text::insert(
            &db,
            &Text {
                id: None,
                body: body.into(),
            },
        )
        .expect("insert");
    }
    let report = Bytes::rebuild_table(&db).expect("rebuild to bytes");
    assert_eq!(report.converted_columns, ["body"]);
    assert_eq!(report.rows, bodies.len());
    assert_eq!(
        typeofs(&db, "SELECT DISTINCT typeof(body) FROM notes"),
        ["blob"]
    );
    let read: Vec<Vec<u8>> = Bytes::select_cols(Bytes::body)
        .order_by(Bytes::id)
        .all(&db)
        .expect("every value reads back as bytes");
    let expected: Vec<Vec<u8>> = bodies.iter().map(|b| b.as_bytes().to_vec()).collect();
    assert_eq!(read, expected);

    // And back: valid UTF-8 bytes become text again.
    Text::rebuild_table(&db).expect("rebuild back to text");
    let read: Vec<String> = Text::select_cols(Text::body)
        .order_by(Text::id)
        .all(&db)
        .expect("read text");
    assert_eq!(read, bodies);
}

#[test]
fn bytes_that_are_not_utf8_are_not_turned_into_text() {
    use text_to_bytes::{Bytes, Text};
    let (_dir, path) = temp_db();
    let db = Persistent::open(&path).expect("open");
    Bytes::create_table(&db).expect("create");
    for body in [b"fine".to_vec(), vec![0xff, 0xfe, 0x41]] {
        Bytes::insert(&db, &Bytes { id: None, body }).expect("insert");
    }
    drop(db);
    let before = snapshot(&path);
    let db = Persistent::open(&path).expect("open");
    assert_refused(Text::rebuild_table(&db), "body", "UTF-8");
    drop(db);
    assert_eq!(snapshot(&path), before);
}

mod numbers {
    use doctable::DocTable;
    #[derive(DocTable, Debug, Clone, PartialEq)]
    #[doctable(table = "notes")]
    pub struct Int {
        #[doctable(primary_key)]
        pub id: Option<i64>,
        pub n: i64,
    }
    #[derive(DocTable, Debug, Clone, PartialEq)]
    #[doctable(table = "notes")]
    pub struct Float {
        #[doctable(primary_key)]
        pub id: Option<i64>,
        pub n: f64,
    }
    #[derive(DocTable, Debug, Clone, PartialEq)]
    #[doctable(table = "notes")]
    pub struct Text {
        #[doctable(primary_key)]
        pub id: Option<i64>,
        pub n: String,
    }
}

fn ints(path: &Path, values: &[i64]) -> Persistent {
    let db = Persistent::open(path).expect("open");
    numbers::Int::create_table(&db).expect("create");
    for &n in values {
        numbers::Int::insert(&db, &numbers::Int { id: None, n }).expect("insert");
    }
    db
}

#[test]
fn i64_to_f64_that_would_round_is_refused_and_nothing_changes() {
    const TWO_53_PLUS_1: i64 = (1 << 53) + 1;
    for lossy in [TWO_53_PLUS_1, i64::MAX, -TWO_53_PLUS_1] {
        let (_dir, path) = temp_db();
        drop(ints(&path, &[1, lossy, 3]));
        let before = snapshot(&path);
        let db = Persistent::open(&path).expect("open");
        assert_refused(numbers::Float::rebuild_table(&db), "n", &lossy.to_string());
        drop(db);
        assert_eq!(snapshot(&path), before, "unchanged after refusing {lossy}");
    }
}

#[test]
fn i64_to_f64_that_is_exact_converts() {
    let (_dir, path) = temp_db();
    let values = [0, -5, 1 << 53, -(1 << 53), 1 << 60, i64::MIN];
    let db = ints(&path, &values);
    let report = numbers::Float::rebuild_table(&db).expect("exact conversion");
    assert_eq!(report.converted_columns, ["n"]);
    assert_eq!(
        typeofs(&db, "SELECT DISTINCT typeof(n) FROM notes"),
        ["real"]
    );
    let read: Vec<f64> = numbers::Float::select_cols(numbers::Float::n)
        .order_by(numbers::Float::id)
        .all(&db)
        .expect("read");
    let expected: Vec<f64> = values.iter().map(|&v| v as f64).collect();
    assert_eq!(read, expected);
    // Each one is the integer exactly.
    for (f, i) in read.iter().zip(values) {
        assert_eq!(*f as i64, i);
    }
}

#[test]
fn f64_to_i64_with_a_fraction_is_refused_and_a_whole_number_converts() {
    let (_dir, path) = temp_db();
    let db = Persistent::open(&path).expect("open");
    numbers::Float::create_table(&db).expect("create");
    for n in [2.0, 1.5, -7.0] {
        numbers::Float::insert(&db, &numbers::Float { id: None, n }).expect("insert");
    }
    drop(db);
    let before = snapshot(&path);
    let db = Persistent::open(&path).expect("open");
    assert_refused(numbers::Int::rebuild_table(&db), "n", "1.5");
    drop(db);
    assert_eq!(snapshot(&path), before);

    // Beyond i64's range, SQLite's CAST would saturate: refused as well.
    let db = Persistent::open(&path).expect("open");
    numbers::Float::update()
        .set(numbers::Float::n, 9.3e18)
        .filter(numbers::Float::n.eq(1.5))
        .run(&db)
        .expect("update");
    assert_refused(numbers::Int::rebuild_table(&db), "n", "9.3");

    numbers::Float::delete()
        .filter(numbers::Float::n.gt(1e18))
        .run(&db)
        .expect("delete");
    numbers::Int::rebuild_table(&db).expect("whole numbers convert");
    let read: Vec<i64> = numbers::Int::select_cols(numbers::Int::n)
        .order_by(numbers::Int::id)
        .all(&db)
        .expect("read");
    assert_eq!(read, [2, -7]);
}

#[test]
fn numbers_and_text_convert_only_when_they_convert_back() {
    let (_dir, path) = temp_db();
    // REAL -> TEXT: SQLite writes 15 significant digits, so 0.1 + 0.2 would
    // come back as 0.3: refused. 0.5 converts.
    let db = Persistent::open(&path).expect("open");
    numbers::Float::create_table(&db).expect("create");
    for n in [0.5, 0.1 + 0.2] {
        numbers::Float::insert(&db, &numbers::Float { id: None, n }).expect("insert");
    }
    assert_refused(numbers::Text::rebuild_table(&db), "n", "0.3");
    numbers::Float::delete()
        .filter(numbers::Float::n.ne(0.5))
        .run(&db)
        .expect("delete");
    numbers::Text::rebuild_table(&db).expect("0.5 converts");
    let read: Vec<String> = numbers::Text::select_cols(numbers::Text::n)
        .all(&db)
        .expect("read");
    assert_eq!(read, ["0.5"]);

    // TEXT -> INTEGER: "007" would become 7 and lose its zeros: refused.
    numbers::Text::insert(
        &db,
        &numbers::Text {
            id: None,
            n: "007".into(),
        },
    )
    .expect("insert");
    numbers::Text::delete()
        .filter(numbers::Text::n.eq("0.5"))
        .run(&db)
        .expect("delete");
    assert_refused(numbers::Int::rebuild_table(&db), "n", "007");
    // TEXT -> REAL: "3" is 3.0 exactly; "9007199254740993" is not.
    numbers::Text::update()
        .set(numbers::Text::n, "3")
        .all_rows()
        .run(&db)
        .expect("update");
    numbers::Float::rebuild_table(&db).expect("3 converts");
    let read: Vec<f64> = numbers::Float::select_cols(numbers::Float::n)
        .all(&db)
        .expect("read");
    assert_eq!(read, [3.0]);
    numbers::Text::rebuild_table(&db).expect("back to text");
    numbers::Text::update()
        .set(numbers::Text::n, "9007199254740993")
        .all_rows()
        .run(&db)
        .expect("update");
    assert_refused(numbers::Float::rebuild_table(&db), "n", "9007199254740993");
}

mod narrow {
    use doctable::DocTable;
    #[derive(DocTable, Debug, Clone, PartialEq)]
    #[doctable(table = "notes")]
    pub struct Small {
        #[doctable(primary_key)]
        pub id: Option<i64>,
        pub n: i8,
    }
}

#[test]
fn a_rebuild_whose_rows_would_not_read_back_is_refused() {
    // i64 -> i8 keeps the storage class, so no value is "converted"; 300 would
    // still be stored, and every read of its row would fail.
    let (_dir, path) = temp_db();
    drop(ints(&path, &[1, 300]));
    let before = snapshot(&path);
    let db = Persistent::open(&path).expect("open");
    match narrow::Small::rebuild_table(&db) {
        Err(Error::Conversion {
            table,
            column,
            row,
            detail,
        }) => {
            assert_eq!((table.as_str(), column.as_str()), ("notes", "n"));
            assert_eq!(row.as_deref(), Some("2"));
            assert!(detail.contains("300"), "{detail}");
            assert!(detail.contains("nothing changed"), "{detail}");
        }
        other => panic!("expected a conversion error, got {other:?}"),
    }
    drop(db);
    assert_eq!(snapshot(&path), before);
}

mod scratch {
    use doctable::DocTable;
    #[derive(DocTable, Debug, Clone, PartialEq)]
    #[doctable(table = "docs")]
    pub struct V1 {
        #[doctable(primary_key)]
        pub id: Option<i64>,
        pub title: String,
        pub year: i64,
    }
    #[derive(DocTable, Debug, Clone, PartialEq)]
    #[doctable(table = "docs")]
    pub struct V2 {
        #[doctable(primary_key)]
        pub id: Option<i64>,
        pub title: String,
    }
}

#[test]
fn a_user_table_with_the_scratch_name_survives_with_its_rows() {
    let (_dir, path) = temp_db();
    let db = Persistent::open(&path).expect("open");
    scratch::V1::create_table(&db).expect("create");
    scratch::V1::insert(
        &db,
        &scratch::V1 {
            id: None,
            title: "kept".into(),
            year: 2001,
        },
    )
    .expect("insert");
    raw(
        &db,
        "CREATE TABLE docs__doctable_rebuild (who TEXT, what TEXT);
         INSERT INTO docs__doctable_rebuild VALUES ('alice', 'mine'), ('bob', 'also mine');
         CREATE TABLE \"DOCS__doctable_rebuild_2\" (x INTEGER);
         INSERT INTO \"DOCS__doctable_rebuild_2\" VALUES (42);
         CREATE TEMP TABLE docs__doctable_rebuild_3 (y INTEGER);
         INSERT INTO docs__doctable_rebuild_3 VALUES (7);",
    );
    let report = scratch::V2::rebuild_table(&db).expect("rebuild");
    assert_eq!(report.dropped_columns, ["year"]);
    let rows = typeofs(
        &db,
        "SELECT who || '=' || what FROM docs__doctable_rebuild ORDER BY who",
    );
    assert_eq!(rows, ["alice=mine", "bob=also mine"]);
    assert_eq!(
        typeofs(&db, "SELECT CAST(x AS TEXT) FROM DOCS__doctable_rebuild_2"),
        ["42"]
    );
    assert_eq!(
        typeofs(
            &db,
            "SELECT CAST(y AS TEXT) FROM temp.docs__doctable_rebuild_3"
        ),
        ["7"]
    );
    let titles: Vec<String> = scratch::V2::select_cols(scratch::V2::title)
        .all(&db)
        .expect("read");
    assert_eq!(titles, ["kept"]);
    let names = typeofs(
        &db,
        "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name",
    );
    assert_eq!(
        names,
        ["DOCS__doctable_rebuild_2", "docs", "docs__doctable_rebuild"],
        "no scratch table left behind"
    );
}

mod authors {
    use doctable::DocTable;
    #[derive(DocTable, Debug, Clone, PartialEq)]
    #[doctable(table = "authors")]
    pub struct V1 {
        #[doctable(primary_key)]
        pub id: Option<i64>,
        pub name: String,
        pub born: i64,
    }
    #[derive(DocTable, Debug, Clone, PartialEq)]
    #[doctable(table = "authors")]
    pub struct V2 {
        #[doctable(primary_key)]
        pub id: Option<i64>,
        pub name: String,
        pub country: Option<String>,
    }
}

fn authors_file(path: &Path) -> Persistent {
    let db = Persistent::open(path).expect("open");
    authors::V1::create_table(&db).expect("create");
    for (name, born) in [("Ada", 1815), ("Alan", 1912)] {
        authors::V1::insert(
            &db,
            &authors::V1 {
                id: None,
                name: name.into(),
                born,
            },
        )
        .expect("insert");
    }
    db
}

#[test]
fn views_and_triggers_that_stay_valid_survive_the_rebuild() {
    let (_dir, path) = temp_db();
    let db = authors_file(&path);
    raw(
        &db,
        "CREATE VIEW author_names AS SELECT name FROM authors;
         CREATE VIEW \"Shouting\" AS SELECT upper(name) AS loud FROM author_names;
         CREATE TABLE requests (name TEXT);
         CREATE TRIGGER add_author AFTER INSERT ON requests
             BEGIN INSERT INTO Authors (name) VALUES (new.name); END;
         CREATE TABLE audit (what TEXT);
         CREATE TRIGGER authors_audit AFTER INSERT ON authors
             BEGIN INSERT INTO audit VALUES (new.name); END;
         CREATE TRIGGER rename_author INSTEAD OF UPDATE OF name ON author_names
             BEGIN UPDATE authors SET name = new.name WHERE name = old.name; END;",
    );
    let report = authors::V2::rebuild_table(&db).expect("rebuild with dependent views");
    let mut dependents = report.dependents.clone();
    dependents.sort();
    assert_eq!(
        dependents,
        ["Shouting", "add_author", "author_names", "rename_author"]
    );
    assert_eq!(report.recreated, ["authors_audit"]);
    assert_eq!(
        typeofs(&db, "SELECT name FROM author_names ORDER BY name"),
        ["Ada", "Alan"]
    );
    assert_eq!(
        typeofs(&db, "SELECT loud FROM Shouting ORDER BY loud"),
        ["ADA", "ALAN"]
    );
    // Both triggers still fire.
    raw(&db, "INSERT INTO requests VALUES ('Grace')");
    assert_eq!(
        typeofs(&db, "SELECT name FROM author_names ORDER BY name"),
        ["Ada", "Alan", "Grace"]
    );
    assert_eq!(typeofs(&db, "SELECT what FROM audit"), ["Grace"]);
    raw(
        &db,
        "UPDATE author_names SET name = 'Ada L.' WHERE name = 'Ada'",
    );
    assert_eq!(
        typeofs(&db, "SELECT name FROM authors ORDER BY id"),
        ["Ada L.", "Alan", "Grace"]
    );
    // The views' SQL is as the user wrote it.
    assert_eq!(
        typeofs(
            &db,
            "SELECT sql FROM sqlite_schema WHERE name = 'author_names'"
        ),
        ["CREATE VIEW author_names AS SELECT name FROM authors"]
    );
}

#[test]
fn a_view_over_a_dropped_column_refuses_the_rebuild_naming_it() {
    let (_dir, path) = temp_db();
    let db = authors_file(&path);
    raw(
        &db,
        "CREATE VIEW author_names AS SELECT name FROM authors;
         CREATE VIEW author_ages AS SELECT name, 2025 - born AS age FROM authors;",
    );
    drop(db);
    let before = snapshot(&path);
    let db = Persistent::open(&path).expect("open");
    let err = authors::V2::rebuild_table(&db).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("author_ages"), "{msg}");
    assert!(msg.contains("born"), "{msg}");
    assert!(
        !msg.contains("author_names"),
        "the valid view is not blamed: {msg}"
    );
    assert!(msg.contains("nothing changed"), "{msg}");
    drop(db);
    assert_eq!(snapshot(&path), before);
}

#[test]
fn a_trigger_over_a_dropped_column_refuses_the_rebuild_naming_it() {
    let (_dir, path) = temp_db();
    let db = authors_file(&path);
    raw(
        &db,
        "CREATE TABLE audit (what INTEGER);
         CREATE TRIGGER audit_born AFTER UPDATE OF name ON authors
             BEGIN INSERT INTO audit VALUES (new.born); END;",
    );
    drop(db);
    let before = snapshot(&path);
    let db = Persistent::open(&path).expect("open");
    let err = authors::V2::rebuild_table(&db).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("audit_born"), "{msg}");
    assert!(msg.contains("nothing changed"), "{msg}");
    drop(db);
    assert_eq!(snapshot(&path), before);
}

#[test]
fn a_view_that_was_already_broken_does_not_block_the_rebuild() {
    let (_dir, path) = temp_db();
    let db = authors_file(&path);
    raw(
        &db,
        "CREATE VIEW stale AS SELECT name, nickname FROM authors;
         CREATE VIEW author_names AS SELECT name FROM authors;",
    );
    let report = authors::V2::rebuild_table(&db).expect("rebuild");
    let mut dependents = report.dependents.clone();
    dependents.sort();
    assert_eq!(dependents, ["author_names", "stale"]);
    assert_eq!(
        typeofs(&db, "SELECT count(*) || '' FROM author_names"),
        ["2"]
    );
}

#[test]
fn temp_triggers_and_views_of_the_connection_are_kept() {
    let (_dir, path) = temp_db();
    let db = authors_file(&path);
    raw(
        &db,
        "CREATE TEMP TABLE seen (what TEXT);
         CREATE TEMP TRIGGER authors_seen AFTER INSERT ON main.authors
             BEGIN INSERT INTO seen VALUES (new.name); END;
         CREATE TEMP VIEW names AS SELECT name FROM main.authors;",
    );
    let report = authors::V2::rebuild_table(&db).expect("rebuild");
    assert_eq!(report.recreated, ["authors_seen"]);
    assert_eq!(report.dependents, ["names"]);
    authors::V2::insert(
        &db,
        &authors::V2 {
            id: None,
            name: "Grace".into(),
            country: None,
        },
    )
    .expect("insert");
    assert_eq!(typeofs(&db, "SELECT what FROM seen"), ["Grace"]);
    assert_eq!(
        typeofs(
            &db,
            "SELECT type || ' ' || name FROM temp.sqlite_schema ORDER BY name"
        ),
        ["trigger authors_seen", "view names", "table seen"],
        "still temporary, not moved into the file"
    );
    assert_eq!(typeofs(&db, "SELECT count(*) || '' FROM names"), ["3"]);
}

#[test]
fn legacy_alter_table_is_left_as_the_caller_set_it() {
    for setting in [0, 1] {
        let (_dir, path) = temp_db();
        let db = authors_file(&path);
        raw(
            &db,
            &format!(
                "PRAGMA legacy_alter_table = {setting};
                 CREATE VIEW author_names AS SELECT name FROM authors;"
            ),
        );
        authors::V2::rebuild_table(&db).expect("rebuild");
        assert_eq!(
            typeofs(
                &db,
                "SELECT CAST(legacy_alter_table AS TEXT) FROM pragma_legacy_alter_table"
            ),
            [setting.to_string()]
        );
        assert_eq!(
            typeofs(&db, "SELECT count(*) || '' FROM author_names"),
            ["2"]
        );
    }
}

#[test]
fn a_temporary_table_hiding_the_table_is_refused() {
    let (_dir, path) = temp_db();
    let db = authors_file(&path);
    raw(
        &db,
        "CREATE TEMP TABLE authors (x); INSERT INTO temp.authors VALUES (1);",
    );
    let err = authors::V2::rebuild_table(&db).unwrap_err();
    assert!(err.to_string().contains("temporary table"), "{err}");
    raw(&db, "DROP TABLE temp.authors");
    assert!(
        authors::V1::schema_diff(&db).expect("diff").is_empty(),
        "unchanged"
    );
    assert_eq!(authors::V1::select().all(&db).expect("read").len(), 2);
}
