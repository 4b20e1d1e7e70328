//! Composite primary keys (issue 13): `primary_key` on several fields or
//! `primary_key(a, b)` on the struct; the `PRIMARY KEY ("a", "b")` table
//! constraint; `get`, `update_row` and `delete_key` by a key tuple; or_ignore,
//! or_replace and upsert on the key; the key reflected and diffed, and kept by
//! a rebuild. Each body runs on every strategy of both engines
//! (tests/support/backends.rs), with exact rows.

use doctable::{Conn, ConstraintKind, DocTable, Error, HasPrimaryKey, SchemaChange};

#[macro_use]
#[path = "support/backends.rs"]
mod backends;
use backends::{Engine, Kind, TestResult, kind};

/// A key marked on two fields: the key is (lang, word), in declaration order.
#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "word_count")]
struct WordCount {
    #[doctable(primary_key)]
    lang: String,
    #[doctable(primary_key)]
    word: String,
    n: i64,
    note: Option<String>,
}

/// A key named on the struct, in an order other than the fields': (seq, year),
/// both integers (neither is the rowid nor an identity column).
#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "issue", primary_key(seq, year))]
struct Issue {
    year: i64,
    seq: i64,
    title: String,
}

/// A table whose every column is in the key.
#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(primary_key(a, b))]
struct Edge {
    a: i64,
    b: i64,
}

/// A table whose key the database assigns.
#[derive(DocTable, Debug, Clone, PartialEq)]
struct Note {
    #[doctable(primary_key)]
    id: Option<i64>,
    text: String,
}

fn wc(lang: &str, word: &str, n: i64) -> WordCount {
    WordCount {
        lang: lang.into(),
        word: word.into(),
        n,
        note: None,
    }
}

/// Every row, in key order.
fn all_counts<C: Conn>(db: &C) -> doctable::Result<Vec<WordCount>> {
    WordCount::select()
        .order_by(WordCount::lang.asc())
        .order_by(WordCount::word.asc())
        .all(db)
}

fn seeded<C: Conn>(db: &C) -> doctable::Result<()> {
    WordCount::create_table(db)?;
    WordCount::insert_many(
        db,
        &[wc("en", "the", 7), wc("en", "a", 3), wc("de", "the", 1)],
    )?;
    Ok(())
}

fn get_update_delete_by_key<C: Conn>(db: &C) -> TestResult
where
    C::Backend: Engine,
{
    seeded(db)?;
    // The same word in two languages: two rows, told apart by the whole key.
    assert_eq!(WordCount::get(db, ("en", "the"))?, Some(wc("en", "the", 7)));
    assert_eq!(WordCount::get(db, ("de", "the"))?, Some(wc("de", "the", 1)));
    assert_eq!(
        WordCount::get(db, (String::from("en"), "a"))?,
        Some(wc("en", "a", 3))
    );
    assert_eq!(WordCount::get(db, ("de", "a"))?, None);
    // Key order matters: ("the", "en") is another key.
    assert_eq!(WordCount::get(db, ("the", "en"))?, None);

    let mut changed = wc("en", "the", 8);
    changed.note = Some("counted twice".into());
    WordCount::update_row(db, &changed)?;
    assert_eq!(
        all_counts(db)?,
        [wc("de", "the", 1), wc("en", "a", 3), changed.clone()]
    );

    let err = expect_failure!(db, |c| WordCount::update_row(c, &wc("fr", "le", 1)));
    assert!(
        matches!(&err, Error::NotFound { table, key } if table == "word_count" && key == "('fr', 'le')"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "table `word_count`: no row with primary key ('fr', 'le')"
    );

    assert!(WordCount::delete_key(db, ("en", "a"))?);
    assert!(!WordCount::delete_key(db, ("en", "a"))?);
    assert!(!WordCount::delete_key(db, ("xx", "the"))?);
    assert_eq!(all_counts(db)?, [wc("de", "the", 1), changed]);
    Ok(())
}

fn a_second_row_with_the_same_key_is_a_primary_key_error<C: Conn>(db: &C) -> TestResult
where
    C::Backend: Engine,
{
    seeded(db)?;
    let err = expect_failure!(db, |c| WordCount::insert(c, &wc("en", "the", 99)));
    assert!(
        matches!(
            &err,
            Error::Constraint { table, kind: ConstraintKind::PrimaryKey, .. } if table == "word_count"
        ),
        "{err:?}"
    );
    // A key part alone is no key: ("en", "an") is new.
    WordCount::insert(db, &wc("en", "an", 2))?;
    assert_eq!(
        all_counts(db)?,
        [
            wc("de", "the", 1),
            wc("en", "a", 3),
            wc("en", "an", 2),
            wc("en", "the", 7)
        ]
    );
    Ok(())
}

/// `insert` writes every key column as given and returns no assigned key:
/// on SQLite the row's rowid (as for any table without an integer key), on
/// PostgreSQL 0 (there is no rowid), never an earlier insert's key (on
/// PostgreSQL it used to return the key of the last insert that read one back).
fn insert_returns_no_assigned_key<C: Conn>(db: &C) -> TestResult
where
    C::Backend: Engine,
{
    WordCount::create_table(db)?;
    Issue::create_table(db)?;
    let first = Issue::insert(
        db,
        &Issue {
            year: 2026,
            seq: 40,
            title: "forty".into(),
        },
    )?;
    let second = Issue::insert(
        db,
        &Issue {
            year: 2026,
            seq: 41,
            title: "forty-one".into(),
        },
    )?;
    // After an insert that was assigned a key, that key is not returned
    // again for a table that assigns none.
    Note::create_table(db)?;
    let note = Note::insert(
        db,
        &Note {
            id: None,
            text: "assigned".into(),
        },
    )?;
    let words = WordCount::insert(db, &wc("en", "the", 1))?;
    match kind(db) {
        Kind::Sqlite => assert_eq!((first, second, note, words), (1, 2, 1, 1)),
        Kind::Postgres => assert_eq!((first, second, note, words), (0, 0, 1, 0)),
    }
    // The integer key columns hold what was given, not an assigned id.
    assert_eq!(
        Issue::select_cols((Issue::year, Issue::seq))
            .order_by(Issue::seq.asc())
            .all(db)?,
        [(2026, 40), (2026, 41)]
    );
    assert_eq!(
        Issue::get(db, (41, 2026))?.map(|i| i.title),
        Some("forty-one".into())
    );
    Ok(())
}

fn or_ignore_and_or_replace_use_the_whole_key<C: Conn>(db: &C) -> TestResult
where
    C::Backend: Engine,
{
    seeded(db)?;
    assert_eq!(
        WordCount::insert_or_ignore(db, &wc("en", "the", 100))?,
        None
    );
    assert!(WordCount::insert_or_ignore(db, &wc("fr", "the", 4))?.is_some());
    WordCount::insert_or_replace(db, &wc("en", "a", 30))?;
    assert_eq!(
        all_counts(db)?,
        [
            wc("de", "the", 1),
            wc("en", "a", 30),
            wc("en", "the", 7),
            wc("fr", "the", 4)
        ]
    );
    assert_eq!(
        WordCount::insert_many_or_ignore(db, &[wc("de", "the", 50), wc("de", "die", 5)])?,
        1
    );
    assert_eq!(
        WordCount::insert_many_or_replace(db, &[wc("de", "the", 60), wc("fr", "le", 6)])?,
        2
    );
    assert_eq!(
        all_counts(db)?,
        [
            wc("de", "die", 5),
            wc("de", "the", 60),
            wc("en", "a", 30),
            wc("en", "the", 7),
            wc("fr", "le", 6),
            wc("fr", "the", 4)
        ]
    );

    // A table that is all key: replace and ignore keep one row per key.
    Edge::create_table(db)?;
    Edge::insert(db, &Edge { a: 1, b: 2 })?;
    Edge::insert_or_replace(db, &Edge { a: 1, b: 2 })?;
    assert_eq!(Edge::insert_or_ignore(db, &Edge { a: 1, b: 2 })?, None);
    Edge::insert(db, &Edge { a: 2, b: 1 })?;
    assert_eq!(
        Edge::select_cols((Edge::a, Edge::b))
            .order_by(Edge::a.asc())
            .all(db)?,
        [(1, 2), (2, 1)]
    );
    Ok(())
}

fn upsert_on_the_composite_key<C: Conn>(db: &C) -> TestResult
where
    C::Backend: Engine,
{
    seeded(db)?;
    // `KEY` is the tuple of key columns, a conflict target as it stands.
    let bump = WordCount::upsert()
        .on_conflict(WordCount::KEY)
        .update((WordCount::n, WordCount::note));
    let mut row = wc("en", "the", 70);
    row.note = Some("recounted".into());
    assert_eq!(bump.run(db, &row)?, 1);
    assert_eq!(bump.run(db, &wc("es", "el", 2))?, 1);
    let keep = WordCount::upsert()
        .on_conflict((WordCount::lang, WordCount::word))
        .do_nothing();
    assert_eq!(keep.run(db, &wc("de", "the", 1000))?, 0);
    assert_eq!(
        bump.run_many(db, &[wc("en", "a", 33), wc("it", "il", 9)])?,
        2
    );
    assert_eq!(
        all_counts(db)?,
        [
            wc("de", "the", 1),
            wc("en", "a", 33),
            row,
            wc("es", "el", 2),
            wc("it", "il", 9)
        ]
    );
    Ok(())
}

/// The table constraint on both engines: each key column's position in the
/// key as reflected, NOT NULL, and on PostgreSQL no identity column.
fn the_table_declares_the_key_as_a_constraint<C: Conn>(db: &C) -> TestResult
where
    C::Backend: Engine,
{
    WordCount::create_table(db)?;
    Issue::create_table(db)?;
    let schema = doctable::reflect_table(db, "issue")?.ok_or("no table issue")?;
    let position = |name: &str| schema.column(name).map(|c| (c.primary_key, c.not_null));
    assert_eq!(position("seq"), Some((1, true)));
    assert_eq!(position("year"), Some((2, true)));
    assert_eq!(position("title"), Some((0, true)));
    let words = doctable::reflect_table(db, "word_count")?.ok_or("no table word_count")?;
    let key: Vec<(String, u32)> = words
        .columns
        .iter()
        .map(|c| (c.name.clone(), c.primary_key))
        .collect();
    assert_eq!(
        key,
        [
            ("lang".to_owned(), 1),
            ("word".to_owned(), 2),
            ("n".to_owned(), 0),
            ("note".to_owned(), 0)
        ]
    );
    match kind(db) {
        Kind::Sqlite => {
            assert!(
                schema.sql.contains(r#"PRIMARY KEY ("seq", "year")"#),
                "{}",
                schema.sql
            );
            assert!(!schema.sql.contains("AUTOINCREMENT"), "{}", schema.sql);
        }
        Kind::Postgres => {
            let definition = backends::raw_texts(
                db,
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint \
                 WHERE contype = 'p' AND conrelid = 'issue'::regclass",
            )?;
            assert_eq!(definition, [Some("PRIMARY KEY (seq, year)".to_owned())]);
            let identities = backends::raw_i64s(
                db,
                "SELECT count(*) FROM pg_attribute \
                 WHERE attrelid = 'issue'::regclass AND attidentity <> ''",
            )?;
            assert_eq!(identities, [Some(0)]);
        }
    }
    // The struct and the table agree.
    assert!(Issue::schema_diff(db)?.is_empty());
    assert!(WordCount::schema_diff(db)?.is_empty());
    Issue::create_table(db)?;
    Ok(())
}

/// The same table declared with another key: one `PRIMARY KEY` mismatch
/// naming both keys, from `schema_diff` and from `create_table`, which
/// changes nothing.
fn a_changed_key_is_a_mismatch_naming_it<C: Conn>(db: &C) -> TestResult
where
    C::Backend: Engine,
{
    mod other_order {
        use doctable::DocTable;
        /// `word_count` with its key in the other order.
        #[derive(DocTable, Debug)]
        #[doctable(table = "word_count", primary_key(word, lang))]
        pub struct WordCount {
            pub lang: String,
            pub word: String,
            pub n: i64,
            pub note: Option<String>,
        }
    }
    mod one_column {
        use doctable::DocTable;
        /// `word_count` keyed by `word` alone.
        #[derive(DocTable, Debug)]
        #[doctable(table = "word_count")]
        pub struct WordCount {
            pub lang: String,
            #[doctable(primary_key)]
            pub word: String,
            pub n: i64,
            pub note: Option<String>,
        }
    }
    seeded(db)?;
    let key_change = |expected: &str, found: &str| SchemaChange::Mismatch {
        column: "PRIMARY KEY".into(),
        expected: expected.into(),
        found: found.into(),
    };
    assert_eq!(
        other_order::WordCount::schema_diff(db)?.changes,
        [key_change(
            r#"PRIMARY KEY ("word", "lang")"#,
            r#"PRIMARY KEY ("lang", "word")"#
        )]
    );
    assert_eq!(
        one_column::WordCount::schema_diff(db)?.changes,
        [key_change(
            r#"PRIMARY KEY ("word")"#,
            r#"PRIMARY KEY ("lang", "word")"#
        )]
    );
    let err = expect_failure!(db, |c| other_order::WordCount::create_table(c));
    match &err {
        Error::SchemaMismatch {
            table,
            column,
            expected,
            found,
            ..
        } => {
            assert_eq!(table, "word_count");
            assert_eq!(column, "PRIMARY KEY");
            assert_eq!(expected, r#"PRIMARY KEY ("word", "lang")"#);
            assert_eq!(found, r#"PRIMARY KEY ("lang", "word")"#);
        }
        other => panic!("expected a SchemaMismatch, got {other:?}"),
    }
    // Nothing changed: the old key still holds, every row is there.
    assert!(WordCount::schema_diff(db)?.is_empty());
    assert_eq!(
        all_counts(db)?,
        [wc("de", "the", 1), wc("en", "a", 3), wc("en", "the", 7)]
    );
    Ok(())
}

/// A table keyed by one column, declared now with a composite key.
fn a_single_key_on_disk_against_a_composite_struct<C: Conn>(db: &C) -> TestResult
where
    C::Backend: Engine,
{
    mod single {
        use doctable::DocTable;
        #[derive(DocTable, Debug)]
        #[doctable(table = "word_count")]
        pub struct WordCount {
            #[doctable(primary_key)]
            pub lang: String,
            pub word: String,
            pub n: i64,
            pub note: Option<String>,
        }
    }
    single::WordCount::create_table(db)?;
    assert_eq!(
        WordCount::schema_diff(db)?.changes,
        [SchemaChange::Mismatch {
            column: "PRIMARY KEY".into(),
            expected: r#"PRIMARY KEY ("lang", "word")"#.into(),
            found: r#"PRIMARY KEY ("lang")"#.into(),
        }]
    );
    Ok(())
}

/// A value that does not fit its field names the row by its whole key.
fn a_conversion_error_names_the_composite_key<C: Conn>(db: &C) -> TestResult
where
    C::Backend: Engine,
{
    mod narrow {
        use doctable::DocTable;
        /// `word_count` read with a count that must fit a `u8`.
        #[derive(DocTable, Debug)]
        #[doctable(table = "word_count", primary_key(lang, word))]
        pub struct WordCount {
            pub lang: String,
            pub word: String,
            pub n: u8,
            pub note: Option<String>,
        }
    }
    seeded(db)?;
    WordCount::insert(db, &wc("en", "o'er", 300))?;
    let err = expect_failure!(db, |c| narrow::WordCount::get(c, ("en", "o'er")));
    match &err {
        Error::Conversion {
            table, column, row, ..
        } => {
            assert_eq!((table.as_str(), column.as_str()), ("word_count", "n"));
            assert_eq!(row.as_deref(), Some("('en', 'o''er')"));
        }
        other => panic!("expected a Conversion error, got {other:?}"),
    }
    Ok(())
}

/// A key value that does not fit its column is refused before the query
/// runs, naming that key column.
fn a_key_value_that_does_not_fit_names_its_column<C: Conn>(db: &C) -> TestResult
where
    C::Backend: Engine,
{
    #[derive(DocTable, Debug)]
    #[doctable(primary_key(shelf, slot))]
    struct Place {
        shelf: String,
        slot: u64,
    }
    Place::create_table(db)?;
    let err = expect_failure!(db, |c| Place::get(c, ("top", u64::MAX)));
    assert!(
        matches!(&err, Error::Conversion { table, column, .. } if table == "place" && column == "slot"),
        "{err:?}"
    );
    Ok(())
}

/// Every row operation on the table whose key is every column.
fn a_table_that_is_all_key<C: Conn>(db: &C) -> TestResult
where
    C::Backend: Engine,
{
    Edge::create_table(db)?;
    Edge::insert_many(db, &[Edge { a: 1, b: 2 }, Edge { a: 3, b: 4 }])?;
    assert_eq!(Edge::get(db, (3, 4))?, Some(Edge { a: 3, b: 4 }));
    // Nothing to set, but the row must exist.
    Edge::update_row(db, &Edge { a: 1, b: 2 })?;
    let err = expect_failure!(db, |c| Edge::update_row(c, &Edge { a: 2, b: 2 }));
    assert!(
        matches!(&err, Error::NotFound { key, .. } if key == "(2, 2)"),
        "{err:?}"
    );
    assert!(Edge::delete_key(db, (1, 2))?);
    assert_eq!(Edge::select().all(db)?, [Edge { a: 3, b: 4 }]);
    Ok(())
}

on_every_strategy!(
    get_update_delete_by_key,
    a_second_row_with_the_same_key_is_a_primary_key_error,
    insert_returns_no_assigned_key,
    or_ignore_and_or_replace_use_the_whole_key,
    upsert_on_the_composite_key,
    the_table_declares_the_key_as_a_constraint,
    a_changed_key_is_a_mismatch_naming_it,
    a_single_key_on_disk_against_a_composite_struct,
    a_conversion_error_names_the_composite_key,
    a_key_value_that_does_not_fit_names_its_column,
    a_table_that_is_all_key,
);

/// The key's columns and type as the trait gives them.
#[test]
fn the_key_type_and_columns() {
    let (lang, word) = <WordCount as HasPrimaryKey>::KEY;
    assert_eq!((lang.name(), word.name()), ("lang", "word"));
    let (seq, year) = Issue::KEY;
    assert_eq!((seq.name(), year.name()), ("seq", "year"));
    let key: <Issue as HasPrimaryKey>::Key = (1_i64, 2_i64);
    assert_eq!(key, (1, 2));
    assert_eq!(Issue::META.primary_key, [1, 0]);
    assert!(Issue::META.has_composite_key());
    assert_eq!(Issue::META.key_column(), None);
    assert!(Issue::META.columns.iter().all(|c| !c.primary_key));
}

/// SQLite's rebuild copies the rows into a table made from the struct, key
/// constraint included: after dropping a column the key still holds.
#[test]
fn sqlite_rebuild_keeps_the_composite_key() -> TestResult {
    mod wide {
        use doctable::DocTable;
        /// `word_count` with a column the struct will drop.
        #[derive(DocTable, Debug)]
        #[doctable(table = "word_count", primary_key(lang, word))]
        pub struct WordCount {
            pub lang: String,
            pub word: String,
            pub n: i64,
            pub note: Option<String>,
            pub extra: Option<String>,
        }
    }
    let dir = tempfile::tempdir()?;
    let db = doctable::Persistent::open(dir.path().join("test.db"))?;
    wide::WordCount::create_table(&db)?;
    for (lang, word, n) in [("en", "the", 7), ("de", "the", 1)] {
        wide::WordCount::insert(
            &db,
            &wide::WordCount {
                lang: lang.into(),
                word: word.into(),
                n,
                note: None,
                extra: Some("x".into()),
            },
        )?;
    }
    assert!(!WordCount::schema_diff(&db)?.is_safe());
    let report = WordCount::rebuild_table(&db)?;
    assert_eq!(report.dropped_columns, ["extra"]);
    assert_eq!(report.rows, 2);
    assert!(WordCount::schema_diff(&db)?.is_empty());
    let schema = doctable::reflect_table(&db, "word_count")?.ok_or("no table")?;
    assert!(
        schema.sql.contains(r#"PRIMARY KEY ("lang", "word")"#),
        "{}",
        schema.sql
    );
    assert_eq!(all_counts(&db)?, [wc("de", "the", 1), wc("en", "the", 7)]);
    let err = WordCount::insert(&db, &wc("en", "the", 2)).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Constraint {
                kind: ConstraintKind::PrimaryKey,
                ..
            }
        ),
        "{err:?}"
    );
    Ok(())
}

/// On PostgreSQL `rebuild_table` is refused (ALTER TABLE is the way there),
/// and the composite key is untouched.
#[cfg(feature = "postgres")]
#[test]
fn postgres_rebuild_is_refused_and_keeps_the_composite_key() -> TestResult {
    backends::with_pg_schema(|schema| {
        let db = doctable::postgres::Persistent::connect(&schema.params)?;
        seeded(&db)?;
        let err = WordCount::rebuild_table(&db).unwrap_err();
        assert!(
            matches!(&err, Error::Usage(m) if m.contains("ALTER TABLE")),
            "{err:?}"
        );
        let words = doctable::reflect_table(&db, "word_count")?.ok_or("no table")?;
        let key: Vec<u32> = words.columns.iter().map(|c| c.primary_key).collect();
        assert_eq!(key, [1, 2, 0, 0]);
        assert!(WordCount::schema_diff(&db)?.is_empty());
        assert_eq!(
            all_counts(&db)?,
            [wc("de", "the", 1), wc("en", "a", 3), wc("en", "the", 7)]
        );
        Ok(())
    })
}
