//! Round trips of every supported field type and of awkward values, through
//! `insert` + `get` and `insert_many` + `select`; awkward identifiers; and the
//! errors for values that do not fit, in either direction: always
//! `Error::Conversion` or `Error::Json` naming the table and the column, never
//! a panic and never a silent change of value.
//!
//! The round trips, awkward strings, floats, integers and identifiers run on
//! every strategy of both engines (tests/support/backends.rs); the tests that
//! read or write the stored form with raw rusqlite SQL (declared types, JSON
//! text, blobs, values SQLite's dynamic typing lets in that do not fit) are
//! SQLite's only (README, "What runs on which engine").

use std::collections::BTreeMap;

use doctable::rusqlite;
use doctable::{Conn, DocTable, Error, Json, Persistent};
use serde::{Deserialize, Serialize};

#[macro_use]
#[path = "support/backends.rs"]
mod backends;
use backends::{Engine, TestResult};

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
struct Meta {
    source: String,
    pages: u32,
    weights: Vec<f64>,
    extra: BTreeMap<String, String>,
    parent: Option<Box<Meta>>,
}

/// One field of every supported type.
#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "every_type")]
struct Every {
    #[doctable(primary_key)]
    id: Option<i64>,
    v_i8: i8,
    v_i16: i16,
    v_i32: i32,
    v_i64: i64,
    v_isize: isize,
    v_u8: u8,
    v_u16: u16,
    v_u32: u32,
    v_u64: u64,
    v_usize: usize,
    v_f32: f32,
    v_f64: f64,
    v_bool: bool,
    v_string: String,
    v_bytes: Vec<u8>,
    o_i8: Option<i8>,
    o_i32: Option<i32>,
    o_i64: Option<i64>,
    o_u64: Option<u64>,
    o_f32: Option<f32>,
    o_f64: Option<f64>,
    o_bool: Option<bool>,
    o_string: Option<String>,
    o_bytes: Option<Vec<u8>>,
    #[doctable(json)]
    tags: Vec<String>,
    #[doctable(json)]
    meta: Meta,
    #[doctable(json)]
    maybe_meta: Option<Meta>,
    counts: Json<BTreeMap<String, i64>>,
    o_json: Option<Json<Vec<i64>>>,
    #[doctable(rename = "select")]
    chosen: bool,
    /// Not stored: reads back as `Default`.
    #[doctable(skip)]
    scratch: Vec<String>,
}

fn meta(source: &str) -> Meta {
    Meta {
        source: source.to_owned(),
        pages: 12,
        weights: vec![0.25, -1.5, 1e-300],
        extra: [
            ("quote".to_owned(), "\"'".to_owned()),
            ("emoji".to_owned(), "🦀".to_owned()),
        ]
        .into_iter()
        .collect(),
        parent: Some(Box::new(Meta {
            source: "parent".to_owned(),
            ..Meta::default()
        })),
    }
}

/// Every field at its smallest, NULL where nullable.
fn minimum() -> Every {
    Every {
        id: None,
        v_i8: i8::MIN,
        v_i16: i16::MIN,
        v_i32: i32::MIN,
        v_i64: i64::MIN,
        v_isize: isize::MIN,
        v_u8: 0,
        v_u16: 0,
        v_u32: 0,
        v_u64: 0,
        v_usize: 0,
        v_f32: f32::MIN,
        v_f64: f64::NEG_INFINITY,
        v_bool: false,
        v_string: String::new(),
        v_bytes: Vec::new(),
        o_i8: None,
        o_i32: None,
        o_i64: None,
        o_u64: None,
        o_f32: None,
        o_f64: None,
        o_bool: None,
        o_string: None,
        o_bytes: None,
        tags: Vec::new(),
        meta: Meta::default(),
        maybe_meta: None,
        counts: Json(BTreeMap::new()),
        o_json: None,
        chosen: false,
        scratch: Vec::new(),
    }
}

/// Every field at its largest storable value, and nullable fields set.
fn maximum() -> Every {
    Every {
        id: None,
        v_i8: i8::MAX,
        v_i16: i16::MAX,
        v_i32: i32::MAX,
        v_i64: i64::MAX,
        v_isize: isize::MAX,
        v_u8: u8::MAX,
        v_u16: u16::MAX,
        v_u32: u32::MAX,
        v_u64: i64::MAX as u64,
        v_usize: i64::MAX as usize,
        v_f32: f32::MAX,
        v_f64: f64::INFINITY,
        v_bool: true,
        v_string: "x".repeat(100_000),
        v_bytes: vec![0xff; 1024],
        o_i8: Some(i8::MIN),
        o_i32: Some(i32::MAX),
        o_i64: Some(i64::MIN),
        o_u64: Some(i64::MAX as u64),
        o_f32: Some(f32::MIN_POSITIVE),
        o_f64: Some(f64::MAX),
        o_bool: Some(true),
        o_string: Some(String::new()),
        o_bytes: Some(Vec::new()),
        tags: vec!["a".to_owned(), String::new(), "🦀 \" ' \\ \n".to_owned()],
        meta: meta("maximum"),
        maybe_meta: Some(meta("maybe")),
        counts: Json(
            [("words".to_owned(), i64::MAX), ("lines".to_owned(), -1)]
                .into_iter()
                .collect(),
        ),
        o_json: Some(Json(vec![i64::MIN, 0, i64::MAX])),
        chosen: true,
        scratch: Vec::new(),
    }
}

/// Ordinary values, with the awkward floats.
fn mixed() -> Every {
    Every {
        id: None,
        v_i8: -1,
        v_i16: 300,
        v_i32: -70_000,
        v_i64: 1 << 40,
        v_isize: -5,
        v_u8: 7,
        v_u16: 60_000,
        v_u32: 4_000_000_000,
        v_u64: 1 << 62,
        v_usize: 12_345,
        v_f32: 0.1,
        v_f64: 0.1 + 0.2,
        v_bool: true,
        v_string: "plain".to_owned(),
        v_bytes: vec![0, 1, 2, 0],
        o_i8: Some(0),
        o_i32: Some(0),
        o_i64: Some(i64::MAX),
        o_u64: Some(0),
        o_f32: Some(-0.5),
        o_f64: Some(f64::MIN_POSITIVE / 4.0),
        o_bool: Some(false),
        o_string: Some("set".to_owned()),
        o_bytes: Some(vec![0]),
        tags: vec!["one".to_owned()],
        meta: meta("mixed"),
        maybe_meta: None,
        counts: Json([("k".to_owned(), 0)].into_iter().collect()),
        o_json: Some(Json(Vec::new())),
        chosen: false,
        scratch: Vec::new(),
    }
}

fn expect_err<T: std::fmt::Debug>(result: doctable::Result<T>) -> Error {
    match result {
        Ok(value) => panic!("expected an error, got Ok({value:?})"),
        Err(e) => e,
    }
}

/// Checks `err` is `Error::Conversion` for `table.column` whose detail contains
/// `detail`, and that its message names the table and the column.
fn assert_conversion(err: &Error, table: &str, column: &str, detail: &str) {
    match err {
        Error::Conversion {
            table: t,
            column: c,
            detail: d,
            ..
        } => {
            assert_eq!((t.as_str(), c.as_str()), (table, column), "{err}");
            assert!(d.contains(detail), "detail {d:?} lacks {detail:?}");
        }
        other => panic!("expected a conversion error on {table}.{column}, got {other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.contains(&format!("`{table}`")) && text.contains(&format!("`{column}`")),
        "message does not name the table and column: {text}"
    );
}

fn assert_json_error(err: &Error, table: &str, column: &str) {
    assert!(
        matches!(err, Error::Json { table: t, column: c, .. } if t == table && c == column),
        "expected a JSON error on {table}.{column}, got {err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains(&format!("`{table}`")) && text.contains(&format!("`{column}`")),
        "message does not name the table and column: {text}"
    );
}

fn persistent() -> Result<(tempfile::TempDir, Persistent), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let db = Persistent::open(dir.path().join("values.db"))?;
    Ok((dir, db))
}

/// Runs raw SQL on the persistent connection (to write what the crate would not).
fn raw_execute(db: &Persistent, sql: &str) -> TestResult {
    db.with_rusqlite(|c| c.execute_batch(sql))??;
    Ok(())
}

// ---------------------------------------------------------------------------
// Round trips

fn round_trip_every_type<C: Conn>(db: &C) -> TestResult {
    Every::create_table(db)?;
    let samples = [minimum(), maximum(), mixed()];
    for sample in &samples {
        let mut with_scratch = sample.clone();
        with_scratch.scratch = vec!["not stored".to_owned()];
        let id = Every::insert(db, &with_scratch)?;
        let back = Every::get(db, id)?;
        // The skipped field reads back as its Default (empty), not as written.
        assert_eq!(
            back,
            Some(Every {
                id: Some(id),
                ..sample.clone()
            })
        );
    }
    // The same through insert_many and select.
    Every::delete().all_rows().run(db)?;
    assert_eq!(Every::insert_many(db, &samples)?, 3);
    let back = Every::select().order_by(Every::id).all(db)?;
    assert_eq!(back.len(), 3);
    for (got, want) in back.iter().zip(&samples) {
        assert_eq!(
            got,
            &Every {
                id: got.id,
                ..want.clone()
            }
        );
    }
    // And column by column.
    let ints = Every::select_cols((
        Every::v_i8,
        Every::v_i16,
        Every::v_i32,
        Every::v_i64,
        Every::v_isize,
        Every::v_u8,
        Every::v_u16,
        Every::v_u32,
        Every::v_u64,
        Every::v_usize,
    ))
    .filter(Every::chosen.eq(true))
    .all(db)?;
    assert_eq!(
        ints,
        [(
            i8::MAX,
            i16::MAX,
            i32::MAX,
            i64::MAX,
            isize::MAX,
            u8::MAX,
            u16::MAX,
            u32::MAX,
            i64::MAX as u64,
            i64::MAX as usize
        )]
    );
    let floats = Every::select_cols((Every::v_f32, Every::v_f64, Every::o_f32, Every::o_f64))
        .order_by(Every::id)
        .all(db)?;
    assert_eq!(
        floats,
        [
            (f32::MIN, f64::NEG_INFINITY, None, None),
            (
                f32::MAX,
                f64::INFINITY,
                Some(f32::MIN_POSITIVE),
                Some(f64::MAX)
            ),
            (0.1, 0.1 + 0.2, Some(-0.5), Some(f64::MIN_POSITIVE / 4.0)),
        ]
    );
    Ok(())
}

on_every_strategy!(round_trip_every_type);

#[test]
fn columns_have_the_declared_names_and_types() -> TestResult {
    let (_dir, db) = persistent()?;
    Every::create_table(&db)?;
    let columns = db.with_rusqlite(|c| {
        let mut stmt =
            c.prepare("SELECT name, type, \"notnull\" FROM pragma_table_info('every_type')")?;
        stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, bool>(2)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()
    })??;
    let find = |name: &str| columns.iter().find(|c| c.0 == name).cloned();
    assert_eq!(find("id"), Some(("id".into(), "INTEGER".into(), false)));
    assert_eq!(
        find("v_u64"),
        Some(("v_u64".into(), "INTEGER".into(), true))
    );
    assert_eq!(find("v_f32"), Some(("v_f32".into(), "REAL".into(), true)));
    assert_eq!(
        find("v_bool"),
        Some(("v_bool".into(), "INTEGER".into(), true))
    );
    assert_eq!(
        find("v_bytes"),
        Some(("v_bytes".into(), "BLOB".into(), true))
    );
    assert_eq!(
        find("o_string"),
        Some(("o_string".into(), "TEXT".into(), false))
    );
    assert_eq!(find("tags"), Some(("tags".into(), "TEXT".into(), true)));
    assert_eq!(
        find("maybe_meta"),
        Some(("maybe_meta".into(), "TEXT".into(), false)),
        "`json` on an Option field is a nullable column"
    );
    assert_eq!(find("counts"), Some(("counts".into(), "TEXT".into(), true)));
    // `rename` names the column; the field's own name is not a column.
    assert_eq!(
        find("select"),
        Some(("select".into(), "INTEGER".into(), true))
    );
    assert_eq!(find("chosen"), None);
    // A skipped field has no column.
    assert_eq!(find("scratch"), None);
    // `Option<Json<T>>` is a nullable JSON column.
    assert_eq!(
        find("o_json"),
        Some(("o_json".into(), "TEXT".into(), false))
    );
    assert_eq!(columns.len(), 31);
    Ok(())
}

#[test]
fn json_columns_hold_json_text() -> TestResult {
    let (_dir, db) = persistent()?;
    Every::create_table(&db)?;
    let id = Every::insert(&db, &maximum())?;
    let stored = db.with_rusqlite(|c| {
        c.query_row(
            "SELECT tags, json_valid(meta), maybe_meta, counts, typeof(tags) FROM every_type WHERE id = ?",
            [id],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?, r.get::<_, String>(4)?)),
        )
    })??;
    assert_eq!(stored.0, r#"["a","","🦀 \" ' \\ \n"]"#);
    assert!(stored.1, "meta is valid JSON");
    assert!(stored.2.starts_with(r#"{"source":"maybe""#), "{}", stored.2);
    assert_eq!(stored.3, r#"{"lines":-1,"words":9223372036854775807}"#);
    assert_eq!(stored.4, "text");
    // A None in a `json` Option field is SQL NULL, as for any Option.
    let id = Every::insert(&db, &minimum())?;
    let none: Option<String> = db.with_rusqlite(|c| {
        c.query_row(
            "SELECT maybe_meta FROM every_type WHERE id = ?",
            [id],
            |r| r.get(0),
        )
    })??;
    assert_eq!(none, None);
    assert_eq!(
        Every::select()
            .filter(Every::maybe_meta.is_null())
            .all(&db)?
            .len(),
        1
    );
    // `Option<Json<T>>`: None is SQL NULL, Some is JSON text.
    let o_json: Vec<Option<String>> = db.with_rusqlite(|c| {
        let mut stmt = c.prepare("SELECT o_json FROM every_type ORDER BY id")?;
        stmt.query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<_>>>()
    })??;
    assert_eq!(
        o_json,
        [
            Some("[-9223372036854775808,0,9223372036854775807]".to_owned()),
            None
        ]
    );
    assert_eq!(Every::count().filter(Every::o_json.is_null()).get(&db)?, 1);
    // Filters compare JSON columns as their text.
    let hits = Every::select_cols(Every::id)
        .filter(Every::tags.eq(Json(Vec::new())))
        .all(&db)?;
    assert_eq!(hits, [Some(id)]);
    let hits = Every::select_cols(Every::id)
        .filter(Every::counts.eq(Json(BTreeMap::new())))
        .all(&db)?;
    assert_eq!(hits, [Some(id)]);
    Ok(())
}

fn renamed_keyword_column_works_in_every_clause<C: Conn<Backend: Engine>>(db: &C) -> TestResult {
    Every::create_table(&db)?;
    Every::insert_many(&db, &[minimum(), maximum(), mixed()])?;
    assert_eq!(Every::count().filter(Every::chosen.eq(true)).get(&db)?, 1);
    assert_eq!(
        Every::update()
            .set(Every::chosen, true)
            .filter(Every::chosen.eq(false))
            .run(&db)?,
        2
    );
    let chosen = Every::select_cols((Every::chosen, Every::chosen.count()))
        .group_by(Every::chosen)
        .order_by(Every::chosen.desc())
        .all(&db)?;
    assert_eq!(chosen, [(true, 3)]);
    assert_eq!(Every::delete().filter(Every::chosen.eq(true)).run(&db)?, 3);
    Ok(())
}

/// Text and blobs that break naive SQL building or C strings.
#[derive(DocTable, Debug, Clone, PartialEq)]
struct Text {
    #[doctable(primary_key)]
    id: Option<i64>,
    text: String,
    maybe: Option<String>,
}

fn tricky_strings() -> Vec<String> {
    vec![
        String::new(),
        " ".to_owned(),
        "🦀👩‍👩‍👧‍👦🏳️‍🌈".to_owned(),
        "שלום עולם مرحبا بالعالم".to_owned(),
        "\u{202e}reversed\u{202c}".to_owned(),
        "e\u{301}".to_owned(),
        "\u{e9}".to_owned(),
        "Z\u{351}\u{36b}\u{343}\u{36a}\u{302}a\u{306}\u{308}l\u{34a}g\u{344}o".to_owned(),
        "it's \"quoted\" `back` [square]".to_owned(),
        "'; DROP TABLE text; --".to_owned(),
        "\"); DROP TABLE text; --".to_owned(),
        "a\0b".to_owned(),
        "\0".to_owned(),
        "\0\0trailing\0".to_owned(),
        "line\nbreak\r\ntab\t".to_owned(),
        "%_\\".to_owned(),
        "?1 ?2 :name @x $y".to_owned(),
        "NULL".to_owned(),
        "\u{feff}bom".to_owned(),
        "\u{10ffff}\u{fffd}".to_owned(),
        "ü".repeat(100_000),
    ]
}

fn tricky_strings_round_trip_exactly<C: Conn<Backend: Engine>>(db: &C) -> TestResult {
    Text::create_table(&db)?;
    let mut strings = tricky_strings();
    if backends::kind(db) == backends::Kind::Postgres {
        // PostgreSQL's text cannot hold NUL (SQLite's can): each string with
        // one is refused before it is sent, an `Error::Conversion` naming the
        // column, in a row and in a filter alike (README "PostgreSQL").
        for s in strings.iter().filter(|s| s.contains('\0')) {
            let err = expect_err(Text::insert(
                &db,
                &Text {
                    id: None,
                    text: s.clone(),
                    maybe: None,
                },
            ));
            assert!(
                matches!(&err, Error::Conversion { table, column, detail, .. }
                    if table == "text" && column == "text" && detail.contains("NUL")),
                "{err:?}"
            );
            let err = expect_err(Text::select().filter(Text::maybe.eq(s.as_str())).all(&db));
            assert!(
                matches!(&err, Error::Conversion { table, detail, .. }
                    if table == "text" && detail.contains("NUL")),
                "{err:?}"
            );
        }
        assert_eq!(Text::count().get(&db)?, 0);
        strings.retain(|s| !s.contains('\0'));
    }
    let mut expected = Vec::new();
    for s in &strings {
        let row = Text {
            id: None,
            text: s.clone(),
            maybe: Some(s.clone()),
        };
        let id = Text::insert(&db, &row)?;
        let stored = Text {
            id: Some(id),
            ..row
        };
        assert_eq!(Text::get(&db, id)?, Some(stored.clone()), "{s:?}");
        expected.push(stored);
    }
    assert_eq!(Text::select().order_by(Text::id).all(&db)?, expected);
    // A filter on each value finds exactly its own row: values are bound whole,
    // NUL bytes included, and never read as SQL.
    for row in &expected {
        let hits = Text::select_cols(Text::id)
            .filter(Text::text.eq(row.text.as_str()))
            .all(&db)?;
        assert_eq!(hits, [row.id], "{:?}", row.text);
        let hits = Text::select_cols(Text::id)
            .filter(Text::maybe.eq(row.text.as_str()))
            .all(&db)?;
        assert_eq!(hits, [row.id], "{:?}", row.text);
    }
    // Combining marks are not normalised: é (one code point) and e + U+0301 differ.
    let hits = Text::count()
        .filter(Text::text.in_list(["\u{e9}", "e\u{301}"]))
        .get(&db)?;
    assert_eq!(hits, 2);
    // The hostile strings did nothing.
    assert_eq!(Text::count().get(&db)?, strings.len() as i64);

    // insert_many and update carry them the same way.
    Text::delete().all_rows().run(&db)?;
    let rows: Vec<Text> = strings
        .iter()
        .map(|s| Text {
            id: None,
            text: s.clone(),
            maybe: None,
        })
        .collect();
    assert_eq!(Text::insert_many(&db, &rows)?, strings.len());
    assert_eq!(
        Text::select_cols(Text::text).order_by(Text::id).all(&db)?,
        strings
    );
    // (A `String` column is not accepted where an `Option<String>` is: a raw expression serves.)
    let copy_text = doctable::Expr::<Text, Option<String>>::raw("\"text\"", Vec::<i64>::new());
    Text::update()
        .set(Text::maybe, copy_text)
        .all_rows()
        .run(&db)?;
    let pairs = Text::select_cols((Text::text, Text::maybe))
        .order_by(Text::id)
        .all(&db)?;
    for (text, maybe) in pairs {
        assert_eq!(Some(text), maybe);
    }
    Ok(())
}

#[test]
fn empty_string_and_null_stay_distinct() -> TestResult {
    let (_dir, db) = persistent()?;
    Text::create_table(&db)?;
    let empty = Text::insert(
        &db,
        &Text {
            id: None,
            text: String::new(),
            maybe: Some(String::new()),
        },
    )?;
    let null = Text::insert(
        &db,
        &Text {
            id: None,
            text: String::new(),
            maybe: None,
        },
    )?;
    assert_eq!(
        Text::get(&db, empty)?.map(|t| t.maybe),
        Some(Some(String::new()))
    );
    assert_eq!(Text::get(&db, null)?.map(|t| t.maybe), Some(None));
    assert_eq!(
        Text::select_cols(Text::id)
            .filter(Text::maybe.eq(""))
            .all(&db)?,
        [Some(empty)]
    );
    assert_eq!(
        Text::select_cols(Text::id)
            .filter(Text::maybe.eq(None))
            .all(&db)?,
        [Some(null)]
    );
    assert_eq!(
        Text::select_cols(Text::id)
            .filter(Text::maybe.is_null())
            .all(&db)?,
        [Some(null)]
    );
    let types: Vec<String> = db.with_rusqlite(|c| {
        let mut stmt = c.prepare("SELECT typeof(maybe) FROM text ORDER BY id")?;
        stmt.query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<_>>>()
    })??;
    assert_eq!(types, ["text", "null"]);
    Ok(())
}

#[derive(DocTable, Debug, Clone, PartialEq)]
struct Blob {
    #[doctable(primary_key)]
    id: Option<i64>,
    data: Vec<u8>,
    maybe: Option<Vec<u8>>,
}

#[test]
fn blobs_round_trip_exactly() -> TestResult {
    let (_dir, db) = persistent()?;
    Blob::create_table(&db)?;
    let mebibyte: Vec<u8> = (0..1024 * 1024).map(|i| (i % 251) as u8).collect();
    let every_byte: Vec<u8> = (0..=255).collect();
    let rows = vec![
        Blob {
            id: None,
            data: Vec::new(),
            maybe: Some(Vec::new()),
        },
        Blob {
            id: None,
            data: vec![0],
            maybe: None,
        },
        Blob {
            id: None,
            data: vec![0, 0, 0],
            maybe: Some(vec![0, 0, 0]),
        },
        Blob {
            id: None,
            data: every_byte.clone(),
            maybe: Some(every_byte),
        },
        Blob {
            id: None,
            data: mebibyte.clone(),
            maybe: Some(mebibyte.clone()),
        },
        Blob {
            id: None,
            data: b"text-like \xff\xfe bytes".to_vec(),
            maybe: None,
        },
    ];
    let mut stored = Vec::new();
    for row in &rows {
        let id = Blob::insert(&db, row)?;
        let want = Blob {
            id: Some(id),
            ..row.clone()
        };
        assert_eq!(Blob::get(&db, id)?, Some(want.clone()));
        stored.push(want);
    }
    assert_eq!(Blob::select().order_by(Blob::id).all(&db)?, stored);
    Blob::delete().all_rows().run(&db)?;
    assert_eq!(Blob::insert_many(&db, &rows)?, rows.len());
    let back = Blob::select().order_by(Blob::id).all(&db)?;
    assert_eq!(back.len(), rows.len());
    for (got, want) in back.iter().zip(&rows) {
        assert_eq!((&got.data, &got.maybe), (&want.data, &want.maybe));
    }

    // An empty blob is a BLOB, not NULL.
    let types: Vec<(String, String)> = db.with_rusqlite(|c| {
        let mut stmt =
            c.prepare("SELECT typeof(data), typeof(maybe) FROM blob ORDER BY id LIMIT 2")?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()
    })??;
    assert_eq!(
        types,
        [
            ("blob".to_owned(), "blob".to_owned()),
            ("blob".to_owned(), "null".to_owned())
        ]
    );
    assert_eq!(Blob::count().filter(Blob::maybe.is_null()).get(&db)?, 2);
    assert_eq!(Blob::count().filter(Blob::maybe.eq(&[][..])).get(&db)?, 1);
    // Blob filters compare bytes, NULs included.
    assert_eq!(
        Blob::count().filter(Blob::data.eq(&[0u8, 0, 0])).get(&db)?,
        1
    );
    assert_eq!(Blob::count().filter(Blob::data.eq(&mebibyte)).get(&db)?, 1);
    assert_eq!(Blob::count().filter(Blob::data.eq(&[0u8][..])).get(&db)?, 1);
    Ok(())
}

fn float_edge_values_round_trip<C: Conn<Backend: Engine>>(db: &C) -> TestResult {
    #[derive(DocTable, Debug, Clone, PartialEq)]
    struct Float {
        #[doctable(primary_key)]
        id: Option<i64>,
        x: f64,
        y: f32,
    }
    Float::create_table(&db)?;
    let values: [(f64, f32); 10] = [
        (f64::INFINITY, f32::INFINITY),
        (f64::NEG_INFINITY, f32::NEG_INFINITY),
        (f64::MAX, f32::MAX),
        (f64::MIN, f32::MIN),
        (f64::MIN_POSITIVE, f32::MIN_POSITIVE),
        (5e-324, 1e-45),
        (f64::EPSILON, f32::EPSILON),
        (0.1 + 0.2, 0.1),
        (1e300, 1e30),
        (-3.0, 16_777_216.0),
    ];
    for (x, y) in values {
        let id = Float::insert(&db, &Float { id: None, x, y })?;
        let back = Float::get(&db, id)?.map(|f| (f.x.to_bits(), f.y.to_bits()));
        assert_eq!(back, Some((x.to_bits(), y.to_bits())), "{x} {y}");
    }
    // Infinities compare and sort as numbers.
    assert_eq!(Float::count().filter(Float::x.gt(f64::MAX)).get(&db)?, 1);
    assert_eq!(
        Float::count()
            .filter(Float::x.eq(f64::NEG_INFINITY))
            .get(&db)?,
        1
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// Values that cannot be stored

fn integers_above_i64_max_are_refused_naming_table_and_column<C: Conn<Backend: Engine>>(
    db: &C,
) -> TestResult {
    Every::create_table(&db)?;

    let too_big = Every {
        v_u64: i64::MAX as u64 + 1,
        ..mixed()
    };
    let err = expect_err(Every::insert(&db, &too_big));
    assert_conversion(&err, "every_type", "v_u64", "9223372036854775808");

    let too_big = Every {
        v_u64: u64::MAX,
        ..mixed()
    };
    let err = expect_err(Every::insert(&db, &too_big));
    assert_conversion(&err, "every_type", "v_u64", &u64::MAX.to_string());

    let too_big = Every {
        v_usize: usize::MAX,
        ..mixed()
    };
    let err = expect_err(Every::insert(&db, &too_big));
    assert_conversion(&err, "every_type", "v_usize", &usize::MAX.to_string());

    let too_big = Every {
        o_u64: Some(u64::MAX),
        ..mixed()
    };
    let err = expect_err(Every::insert(&db, &too_big));
    assert_conversion(&err, "every_type", "o_u64", &u64::MAX.to_string());

    // In a batch: nothing of it is kept.
    let batch = [
        mixed(),
        Every {
            v_u64: u64::MAX,
            ..mixed()
        },
        mixed(),
    ];
    let err = expect_err(Every::insert_many(&db, &batch));
    assert_conversion(&err, "every_type", "v_u64", &u64::MAX.to_string());
    assert_eq!(Every::count().get(&db)?, 0);

    // In update_row, update, get and filters.
    let id = Every::insert(&db, &mixed())?;
    let row = Every {
        id: Some(id),
        v_u64: u64::MAX,
        ..mixed()
    };
    let err = expect_err(Every::update_row(&db, &row));
    assert_conversion(&err, "every_type", "v_u64", &u64::MAX.to_string());
    let err = expect_err(
        Every::update()
            .set(Every::v_u64, u64::MAX)
            .all_rows()
            .run(&db),
    );
    assert_conversion(&err, "every_type", "v_u64", &u64::MAX.to_string());
    let err = expect_err(Every::select().filter(Every::v_u64.eq(u64::MAX)).all(&db));
    assert_conversion(&err, "every_type", "v_u64", &u64::MAX.to_string());
    let err = expect_err(Every::count().filter(Every::o_u64.gt(u64::MAX)).get(&db));
    assert_conversion(&err, "every_type", "o_u64", &u64::MAX.to_string());
    let err = expect_err(
        Every::delete()
            .filter(Every::v_usize.in_list([1, usize::MAX]))
            .run(&db),
    );
    assert_conversion(&err, "every_type", "v_usize", &usize::MAX.to_string());
    // A literal that does not fit a narrower column.
    let err = expect_err(Every::count().filter(Every::v_u8.eq(300)).get(&db));
    assert_conversion(&err, "every_type", "v_u8", "300");
    let err = expect_err(Every::count().filter(Every::v_u32.eq(-1)).get(&db));
    assert_conversion(&err, "every_type", "v_u32", "-1");
    // Nothing was changed by any of it.
    assert_eq!(
        Every::select().all(&db)?,
        [Every {
            id: Some(id),
            ..mixed()
        }]
    );
    Ok(())
}

#[test]
fn nan_is_refused_naming_table_and_column() -> TestResult {
    let (_dir, db) = persistent()?;
    Every::create_table(&db)?;
    let err = expect_err(Every::insert(
        &db,
        &Every {
            v_f64: f64::NAN,
            ..mixed()
        },
    ));
    assert_conversion(&err, "every_type", "v_f64", "NaN");
    let err = expect_err(Every::insert(
        &db,
        &Every {
            v_f32: f32::NAN,
            ..mixed()
        },
    ));
    assert_conversion(&err, "every_type", "v_f32", "NaN");
    let err = expect_err(Every::insert(
        &db,
        &Every {
            o_f64: Some(-f64::NAN),
            ..mixed()
        },
    ));
    assert_conversion(&err, "every_type", "o_f64", "NaN");
    let err = expect_err(Every::insert_many(
        &db,
        &[
            mixed(),
            Every {
                o_f32: Some(f32::NAN),
                ..mixed()
            },
        ],
    ));
    assert_conversion(&err, "every_type", "o_f32", "NaN");
    assert_eq!(Every::count().get(&db)?, 0);

    let id = Every::insert(&db, &mixed())?;
    let err = expect_err(
        Every::update()
            .set(Every::v_f64, f64::NAN)
            .all_rows()
            .run(&db),
    );
    assert_conversion(&err, "every_type", "v_f64", "NaN");
    let err = expect_err(Every::update_row(
        &db,
        &Every {
            id: Some(id),
            v_f64: f64::NAN,
            ..mixed()
        },
    ));
    assert_conversion(&err, "every_type", "v_f64", "NaN");
    let err = expect_err(Every::select().filter(Every::v_f64.lt(f64::NAN)).all(&db));
    assert_conversion(&err, "every_type", "v_f64", "NaN");
    // NaN made by arithmetic in SQL (infinity times zero) is NULL in SQLite:
    // refused like a NaN value (issue 9, item 6).
    let err = expect_err(
        Every::update()
            .set(Every::v_f64, Every::v_f64 * 1e308 * 1e308 * 0.0)
            .filter(Every::id.eq(id))
            .run(&db),
    );
    assert_conversion(&err, "every_type", "v_f64", "NaN");
    assert_eq!(
        Every::get(&db, id)?,
        Some(Every {
            id: Some(id),
            ..mixed()
        })
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// Values in the file that do not fit the field

/// Reads one column of every row with `select_cols`.
fn read_one_column(db: &Persistent, column: &str) -> doctable::Result<()> {
    match column {
        "v_i64" => Every::select_cols(Every::v_i64).all(db).map(drop),
        "v_i32" => Every::select_cols(Every::v_i32).all(db).map(drop),
        "v_u8" => Every::select_cols(Every::v_u8).all(db).map(drop),
        "v_u32" => Every::select_cols(Every::v_u32).all(db).map(drop),
        "v_bool" => Every::select_cols(Every::v_bool).all(db).map(drop),
        "select" => Every::select_cols(Every::chosen).all(db).map(drop),
        "v_string" => Every::select_cols(Every::v_string).all(db).map(drop),
        "v_f32" => Every::select_cols(Every::v_f32).all(db).map(drop),
        "v_f64" => Every::select_cols(Every::v_f64).all(db).map(drop),
        "v_bytes" => Every::select_cols(Every::v_bytes).all(db).map(drop),
        "tags" => Every::select_cols(Every::tags).all(db).map(drop),
        "counts" => Every::select_cols(Every::counts).all(db).map(drop),
        "o_json" => Every::select_cols(Every::o_json).all(db).map(drop),
        other => panic!("no reader for column {other}"),
    }
}

/// Writes `set` into the one row of `every_type` with raw SQL, reads the row
/// back every way the crate can, and checks each read fails on `column`.
fn assert_read_fails(
    db: &Persistent,
    set: &str,
    column: &str,
    json: bool,
    detail: &str,
) -> TestResult {
    Every::delete().all_rows().run(db)?;
    let id = Every::insert(db, &mixed())?;
    raw_execute(db, &format!("UPDATE every_type SET {set} WHERE id = {id}"))?;
    let check = |err: Error| {
        if json {
            assert_json_error(&err, "every_type", column);
        } else {
            assert_conversion(&err, "every_type", column, detail);
        }
    };
    check(expect_err(Every::get(db, id)));
    check(expect_err(Every::select().all(db)));
    check(expect_err(Every::select().first(db)));
    check(expect_err(read_one_column(db, column)));
    // The row is still there, and the rest of it is still readable.
    assert_eq!(Every::select_cols(Every::id).all(db)?, [Some(id)]);
    Ok(())
}

#[test]
fn stored_values_that_do_not_fit_are_errors_not_panics() -> TestResult {
    let (_dir, db) = persistent()?;
    Every::create_table(&db)?;
    // Text in an INTEGER column (INTEGER affinity keeps text that is not a number).
    assert_read_fails(
        &db,
        "v_i64 = 'abc'",
        "v_i64",
        false,
        "expected INTEGER, found TEXT",
    )?;
    // An integer too big for the field.
    assert_read_fails(
        &db,
        "v_i32 = 1099511627776",
        "v_i32",
        false,
        "1099511627776 does not fit in i32",
    )?;
    assert_read_fails(&db, "v_u8 = 256", "v_u8", false, "256 does not fit in u8")?;
    assert_read_fails(&db, "v_u32 = -1", "v_u32", false, "-1 does not fit in u32")?;
    // A fraction in an integer column.
    assert_read_fails(
        &db,
        "v_i64 = 1.5",
        "v_i64",
        false,
        "expected INTEGER, found REAL",
    )?;
    // A bool that is neither 0 nor 1.
    assert_read_fails(&db, "v_bool = 2", "v_bool", false, "bool")?;
    assert_read_fails(&db, "\"select\" = -1", "select", false, "bool")?;
    // Text that is not UTF-8.
    assert_read_fails(
        &db,
        "v_string = CAST(X'FF00FE' AS TEXT)",
        "v_string",
        false,
        "UTF-8",
    )?;
    // Text in REAL and BLOB columns, a blob in a TEXT column.
    assert_read_fails(
        &db,
        "v_f64 = 'abc'",
        "v_f64",
        false,
        "expected REAL, found TEXT",
    )?;
    assert_read_fails(
        &db,
        "v_bytes = 'abc'",
        "v_bytes",
        false,
        "expected BLOB, found TEXT",
    )?;
    assert_read_fails(
        &db,
        "v_string = X'00'",
        "v_string",
        false,
        "expected TEXT, found BLOB",
    )?;
    // Invalid JSON, and JSON of the wrong shape.
    assert_read_fails(&db, "tags = 'not json'", "tags", true, "")?;
    assert_read_fails(&db, "tags = '{\"a\": 1}'", "tags", true, "")?;
    assert_read_fails(&db, "counts = '[1, 2]'", "counts", true, "")?;
    assert_read_fails(&db, "counts = '{\"n\": 1e400}'", "counts", true, "")?;
    assert_read_fails(&db, "o_json = '[1, \"two\"]'", "o_json", true, "")?;
    // A finite REAL beyond f32's range is an error, not an infinity.
    assert_read_fails(&db, "v_f32 = 1e300", "v_f32", false, "does not fit in f32")?;
    assert_read_fails(&db, "v_f32 = -1e39", "v_f32", false, "does not fit in f32")?;
    // JSON stored as a blob.
    assert_read_fails(
        &db,
        "tags = X'5B5D'",
        "tags",
        false,
        "expected JSON TEXT, found BLOB",
    )?;
    Ok(())
}

#[test]
fn stored_values_that_do_not_fit_in_other_reads() -> TestResult {
    let (_dir, db) = persistent()?;
    Every::create_table(&db)?;
    let id = Every::insert(&db, &mixed())?;
    raw_execute(
        &db,
        &format!("UPDATE every_type SET meta = '{{\"source\": 5}}', v_i16 = 70000 WHERE id = {id}"),
    )?;
    let err = expect_err(Every::select_cols(Every::meta).all(&db));
    assert_json_error(&err, "every_type", "meta");
    let err = expect_err(Every::select_cols(Every::v_i16).all(&db));
    assert_conversion(&err, "every_type", "v_i16", "70000 does not fit in i16");
    // An aggregate's result that does not fit is named by its expression.
    let err = expect_err(Every::select_cols(Every::v_i16.max()).all(&db));
    assert!(
        matches!(&err, Error::Conversion { table, column, .. } if table == "every_type" && column.contains("v_i16")),
        "{err:?}"
    );
    // A row written by another program with NULL where the struct has no Option.
    raw_execute(
        &db,
        "CREATE TABLE loose (id INTEGER PRIMARY KEY, name TEXT, n INTEGER); INSERT INTO loose VALUES (1, NULL, 5), (2, 'x', 99999999999)",
    )?;
    #[derive(DocTable, Debug)]
    struct Loose {
        #[doctable(primary_key)]
        id: Option<i64>,
        name: String,
        n: i32,
    }
    let err = expect_err(Loose::get(&db, 1));
    assert_conversion(&err, "loose", "name", "expected TEXT, found NULL");
    let err = expect_err(Loose::get(&db, 2));
    assert_conversion(&err, "loose", "n", "99999999999 does not fit in i32");
    let err = expect_err(Loose::select().all(&db));
    assert_conversion(&err, "loose", "name", "expected TEXT, found NULL");
    Ok(())
}

// ---------------------------------------------------------------------------
// Awkward identifiers

/// A table named with an SQL keyword, with columns named with keywords,
/// spaces, quotes, dots, brackets and non-ASCII text.
#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "order", index(by_odd = [quoted, unicode]))]
struct Purchase {
    #[doctable(primary_key, rename = "group")]
    id: Option<i64>,
    #[doctable(rename = "unit price")]
    unit_price: f64,
    #[doctable(rename = "say \"hi\"", unique)]
    quoted: String,
    #[doctable(rename = "größe ✓ 🦀", index)]
    unicode: Option<i64>,
    #[doctable(rename = "it's")]
    apostrophe: String,
    #[doctable(rename = "a.b")]
    dotted: i64,
    #[doctable(rename = "[x] `y`")]
    bracketed: bool,
    #[doctable(rename = "from")]
    source: Option<String>,
}

fn purchase(quoted: &str, unit_price: f64, unicode: Option<i64>, dotted: i64) -> Purchase {
    Purchase {
        id: None,
        unit_price,
        quoted: quoted.to_owned(),
        unicode,
        apostrophe: format!("{quoted}'s"),
        dotted,
        bracketed: dotted % 2 == 0,
        source: Some("from \"here\"".to_owned()),
    }
}

fn with_key(p: Purchase, id: i64) -> Purchase {
    Purchase { id: Some(id), ..p }
}

fn awkward_identifiers<C: Conn<Backend: Engine>>(db: &C) -> TestResult {
    Purchase::create_table(db)?;
    Purchase::create_table(db)?;
    let a = purchase("a", 1.5, Some(7), 1);
    let b = purchase("b \"quoted\"", 2.5, None, 2);
    let c = purchase("c'", 4.0, Some(7), 3);
    assert_eq!(Purchase::insert(db, &a)?, 1);
    assert_eq!(Purchase::insert_many(db, &[b.clone(), c.clone()])?, 2);
    assert_eq!(Purchase::get(db, 2)?, Some(with_key(b.clone(), 2)));
    assert_eq!(
        Purchase::select().order_by(Purchase::id).all(db)?,
        [
            with_key(a.clone(), 1),
            with_key(b.clone(), 2),
            with_key(c.clone(), 3)
        ]
    );
    let ids = |filter| -> doctable::Result<Vec<Option<i64>>> {
        Purchase::select_cols(Purchase::id)
            .filter(filter)
            .order_by(Purchase::id)
            .all(db)
    };
    assert_eq!(ids(Purchase::unit_price.gt(2.0))?, [Some(2), Some(3)]);
    assert_eq!(ids(Purchase::quoted.eq("b \"quoted\""))?, [Some(2)]);
    assert_eq!(ids(Purchase::unicode.eq(None))?, [Some(2)]);
    assert_eq!(ids(Purchase::apostrophe.like("c'%"))?, [Some(3)]);
    assert_eq!(ids(Purchase::dotted.between(2, 3))?, [Some(2), Some(3)]);
    assert_eq!(ids(Purchase::bracketed.eq(true))?, [Some(2)]);
    assert_eq!(
        ids(Purchase::source.is_not_null())?,
        [Some(1), Some(2), Some(3)]
    );
    assert_eq!(ids(Purchase::id.in_list([1, 3]))?, [Some(1), Some(3)]);
    let groups = Purchase::select_cols((Purchase::unicode, Purchase::unit_price.sum()))
        .group_by(Purchase::unicode)
        .having(Purchase::id.count().gt(1))
        .all(db)?;
    assert_eq!(groups, [(Some(7), Some(5.5))]);
    assert_eq!(
        Purchase::update()
            .set(Purchase::unit_price, Purchase::unit_price * 2)
            .set(Purchase::source, None)
            .filter(Purchase::unicode.eq(7))
            .run(db)?,
        2
    );
    let mut changed = with_key(b, 2);
    changed.apostrophe = "changed".to_owned();
    Purchase::update_row(db, &changed)?;
    assert_eq!(Purchase::get(db, 2)?, Some(changed));
    assert_eq!(
        Purchase::select_cols((Purchase::unit_price, Purchase::source))
            .order_by(Purchase::dotted.desc())
            .all(db)?,
        [
            (8.0, None),
            (2.5, Some("from \"here\"".to_owned())),
            (3.0, None)
        ]
    );
    assert_eq!(
        Purchase::count().filter(Purchase::quoted.eq("a")).get(db)?,
        1
    );
    let err = expect_failure!(db, |c| Purchase::insert(c, &a));
    assert!(
        matches!(&err, Error::Constraint { table, .. } if table == "order"),
        "{err:?}"
    );
    assert_eq!(
        Purchase::delete()
            .filter(Purchase::apostrophe.eq("a's"))
            .run(db)?,
        1
    );
    assert_eq!(Purchase::delete().all_rows().run(db)?, 2);
    Purchase::drop_table(db)?;
    Ok(())
}

on_every_strategy!(awkward_identifiers);

#[test]
fn awkward_identifiers_are_the_column_names_on_disk() -> TestResult {
    let (_dir, db) = persistent()?;
    Purchase::create_table(&db)?;
    let (columns, indexes) = db.with_rusqlite(|c| -> rusqlite::Result<_> {
        let mut stmt = c.prepare("SELECT name FROM pragma_table_info('order') ORDER BY cid")?;
        let columns = stmt.query_map([], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
        let mut stmt = c.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'order' AND sql IS NOT NULL ORDER BY name")?;
        let indexes = stmt.query_map([], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok((columns, indexes))
    })??;
    assert_eq!(
        columns,
        [
            "group",
            "unit price",
            "say \"hi\"",
            "größe ✓ 🦀",
            "it's",
            "a.b",
            "[x] `y`",
            "from"
        ]
    );
    assert_eq!(indexes, ["by_odd", "ix_order_größe ✓ 🦀"]);
    Ok(())
}

#[test]
fn a_value_that_does_not_fit_names_the_row_it_is_in() -> TestResult {
    #[derive(DocTable, Debug)]
    #[doctable(table = "counts")]
    struct Count {
        #[doctable(primary_key)]
        id: Option<i64>,
        n: i32,
        #[doctable(json)]
        tags: Vec<String>,
    }
    let (_dir, db) = persistent()?;
    Count::create_table(&db)?;
    db.with_rusqlite(|c| {
        c.execute_batch(
            "INSERT INTO counts (id, n, tags) VALUES (7, 1, '[]'), (8, 99999999999, '[]'), (9, 1, 'not json')",
        )
    })??;
    match Count::get(&db, 8) {
        Err(Error::Conversion {
            table, column, row, ..
        }) => {
            assert_eq!(
                (table.as_str(), column.as_str(), row.as_deref()),
                ("counts", "n", Some("8"))
            );
        }
        other => panic!("expected a conversion error, got {other:?}"),
    }
    let err = Count::select()
        .filter(Count::id.eq(9))
        .all(&db)
        .unwrap_err();
    assert!(
        matches!(&err, Error::Json { row: Some(key), .. } if key == "9"),
        "{err:?}"
    );
    assert!(err.to_string().contains("row with key 9"), "{err}");
    Ok(())
}

on_every_strategy!(
    renamed_keyword_column_works_in_every_clause,
    tricky_strings_round_trip_exactly,
    float_edge_values_round_trip,
    integers_above_i64_max_are_refused_naming_table_and_column,
);
