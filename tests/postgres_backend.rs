//! The PostgreSQL backend on a real server: rows, queries, values, keys,
//! conflicts, streaming, raw SQL and transactions, through the same user code
//! as on SQLite. Each test runs in a schema of its own.
#![cfg(feature = "postgres")]

mod pg_backend_support;

use doctable::postgres::Persistent;
use doctable::{ConstraintKind, DocTable, Error, Expr};
use pg_backend_support::schema;

#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "words")]
struct Word {
    #[doctable(primary_key)]
    id: Option<i64>,
    #[doctable(unique)]
    text: String,
    #[doctable(shadows_operation)]
    count: i64,
    #[doctable(default = "'en'")]
    lang: Option<String>,
}

fn word(text: &str, count: i64) -> Word {
    Word {
        id: None,
        text: text.into(),
        count,
        lang: Some("en".into()),
    }
}

macro_rules! pg {
    ($s:ident, $db:ident) => {
        let Some($s) = schema() else { return };
        let $db = Persistent::connect(&$s.params).expect("connect");
    };
}

#[derive(DocTable, Debug, Clone, PartialEq)]
struct Kinds {
    #[doctable(primary_key)]
    id: Option<i64>,
    small: i32,
    big: i64,
    real: f64,
    flag: bool,
    text: String,
    bytes: Vec<u8>,
    maybe: Option<String>,
    #[doctable(json)]
    tags: Vec<String>,
}

#[test]
fn every_value_type_round_trips_and_the_key_is_returned() {
    pg!(s, db);
    Kinds::create_table(&db).expect("create");
    let row = Kinds {
        id: None,
        small: i32::MIN,
        big: i64::MAX,
        real: -0.125,
        flag: true,
        text: "naïve 'quoted' \"text\"".into(),
        bytes: vec![0, 255, 1],
        maybe: None,
        tags: vec!["a".into(), "b\"".into()],
    };
    let id = Kinds::insert(&db, &row).expect("insert");
    let id2 = Kinds::insert(&db, &row).expect("insert");
    assert_eq!(id2, id + 1);
    let got = Kinds::get(&db, id).expect("get").expect("found");
    assert_eq!(
        got,
        Kinds {
            id: Some(id),
            ..row.clone()
        }
    );
    // An explicit key is kept.
    let id = Kinds::insert(
        &db,
        &Kinds {
            id: Some(100),
            ..row.clone()
        },
    )
    .expect("explicit key");
    assert_eq!(id, 100);
    let schema = doctable::reflect_table(&db, "kinds")
        .expect("reflect")
        .expect("exists");
    let types: Vec<&str> = schema
        .columns
        .iter()
        .map(|c| c.declared_type.as_str())
        .collect();
    assert_eq!(
        types,
        [
            "bigint",
            "bigint",
            "bigint",
            "double precision",
            "boolean",
            "text",
            "bytea",
            "text",
            "jsonb"
        ]
    );
    assert_eq!(doctable::list_tables(&db).expect("list"), ["kinds"]);
    // create_table again: nothing to do.
    Kinds::create_table(&db).expect("create again");
    assert!(Kinds::schema_diff(&db).expect("diff").is_empty());
}

#[test]
fn conflicts_ignore_replace_upsert_and_returning() {
    pg!(s, db);
    Word::create_table(&db).expect("create");
    let a = Word::insert(&db, &word("a", 1)).expect("insert");
    assert_eq!(
        Word::insert_or_ignore(&db, &word("a", 2)).expect("ignore"),
        None
    );
    let err = Word::insert(&db, &word("a", 3)).unwrap_err();
    match &err {
        Error::Constraint {
            table, kind, sql, ..
        } => {
            assert_eq!((table.as_str(), *kind), ("words", ConstraintKind::Unique));
            assert!(sql.starts_with("INSERT INTO \"words\""), "{sql}");
        }
        other => panic!("expected a constraint error, got {other:?}"),
    }
    // or_replace on the key updates the row in place.
    let replaced = Word::insert_or_replace(
        &db,
        &Word {
            id: Some(a),
            ..word("a2", 9)
        },
    )
    .expect("replace");
    assert_eq!(replaced, a);
    assert_eq!(
        Word::get(&db, a).expect("get").map(|w| (w.text, w.count)),
        Some(("a2".into(), 9))
    );
    let changed = Word::upsert()
        .on_conflict(Word::text)
        .update(Word::count)
        .run(&db, &word("a2", 50))
        .expect("upsert");
    assert_eq!(changed, 1);
    assert_eq!(Word::get(&db, a).expect("get").map(|w| w.count), Some(50));
    let n = Word::upsert()
        .on_conflict(Word::text)
        .do_nothing()
        .run_many(&db, &[word("a2", 1), word("b", 2)])
        .expect("upsert many");
    assert_eq!(n, 1);
    let stored = Word::insert_returning(
        &db,
        &Word {
            lang: None,
            ..word("x", 3)
        },
    )
    .expect("returning");
    assert_eq!(stored.text, "x");
    assert!(stored.id.is_some());
    let updated = Word::update()
        .set(Word::count, Word::count * 10)
        .filter(Word::text.eq("x"))
        .returning(&db)
        .expect("update returning");
    assert_eq!(updated.iter().map(|w| w.count).collect::<Vec<_>>(), [30]);
    let deleted = Word::delete()
        .filter(Word::text.eq("b"))
        .run(&db)
        .expect("delete");
    assert_eq!(deleted, 1);
}

#[test]
fn queries_filter_order_limit_offset_distinct_group_and_aggregate() {
    pg!(s, db);
    Word::create_table(&db).expect("create");
    let (sum, avg, n) = Word::select_cols((Word::count.sum(), Word::count.avg(), Word::id.count()))
        .first(&db)
        .expect("aggregate")
        .expect("row");
    assert_eq!((sum, avg, n), (None, None, 0));
    let words: Vec<Word> = (0..10).map(|i| word(&format!("w{i}"), i % 3)).collect();
    assert_eq!(Word::insert_many(&db, &words).expect("insert many"), 10);
    let (sum, avg, min, max, distinct) = Word::select_cols((
        Word::count.sum(),
        Word::count.avg(),
        Word::text.min(),
        Word::count.max(),
        Word::count.count_distinct(),
    ))
    .first(&db)
    .expect("aggregate")
    .expect("row");
    assert_eq!(sum, Some(9));
    assert_eq!(avg, Some(0.9));
    assert_eq!((min.as_deref(), max, distinct), (Some("w0"), Some(2), 3));
    let page: Vec<String> = Word::select_cols(Word::text)
        .filter(Word::count.gt(0))
        .order_by(Word::text.desc())
        .limit(2)
        .offset(1)
        .all(&db)
        .expect("page");
    assert_eq!(page, ["w7", "w5"]);
    let tail: Vec<String> = Word::select_cols(Word::text)
        .order_by(Word::text)
        .offset(8)
        .all(&db)
        .expect("offset alone");
    assert_eq!(tail, ["w8", "w9"]);
    let groups: Vec<(i64, i64)> = Word::select_cols((Word::count, Word::id.count()))
        .group_by(Word::count)
        .having(Word::id.count().gt(3))
        .all(&db)
        .expect("group by");
    assert_eq!(groups, [(0, 4)]);
    let distinct: Vec<i64> = Word::select_cols(Word::count)
        .distinct()
        .order_by(Word::count)
        .all(&db)
        .expect("distinct");
    assert_eq!(distinct, [0, 1, 2]);
    assert_eq!(
        <Word as DocTable>::count()
            .filter(Word::lang.eq("en"))
            .get(&db)
            .expect("count"),
        10
    );
    // Raw SQL: `?` become `$N`, values bound.
    let long = Word::select_sql(
        "WHERE length(\"text\") > ? AND \"text\" <> ? ORDER BY \"id\"",
        [1, 0],
        &db,
    );
    assert!(
        long.is_err(),
        "a text parameter given an integer is refused"
    );
    let rows =
        Word::select_sql("WHERE \"count\" = ? ORDER BY \"id\"", [2], &db).expect("select_sql");
    assert_eq!(
        rows.iter().map(|w| w.text.as_str()).collect::<Vec<_>>(),
        ["w2", "w5", "w8"]
    );
    let hostile = "'; DROP TABLE words; --";
    assert!(
        Word::select_sql("WHERE \"text\" = ?", [hostile], &db)
            .expect("bound")
            .is_empty()
    );
    let cond: Expr<Word, bool> = Expr::raw("length(\"text\") = ? AND \"count\" < ?", [2, 1]);
    assert_eq!(Word::select().filter(cond).all(&db).expect("raw").len(), 4);
    let mut seen = Vec::new();
    Word::select()
        .order_by(Word::id)
        .chunks(&db, 4, |batch| {
            seen.push(batch.len());
            Ok(())
        })
        .expect("chunks");
    assert_eq!(seen, [4, 4, 2]);
    let mut total = 0;
    Word::select_cols(Word::count)
        .for_each(&db, |c| {
            total += c;
            Ok(())
        })
        .expect("for_each");
    assert_eq!(total, 9);
    let mut calls = 0;
    let err = Word::select()
        .for_each(&db, |_| {
            calls += 1;
            Err(Error::Usage("stop".into()))
        })
        .unwrap_err();
    assert_eq!((calls, err.to_string()), (1, "stop".to_owned()));
    // The connection is still usable after a stream stopped early.
    assert_eq!(<Word as DocTable>::count().get(&db).expect("count"), 10);
}

#[derive(DocTable, Debug, Clone, PartialEq)]
struct Author {
    #[doctable(primary_key)]
    id: Option<i64>,
    name: String,
}

#[derive(DocTable, Debug, Clone, PartialEq)]
struct Paper {
    #[doctable(primary_key)]
    id: Option<i64>,
    #[doctable(references = "author(id)", on_delete = "cascade")]
    author_id: Option<i64>,
    title: String,
}

#[test]
fn joins_and_foreign_keys_with_actions() {
    pg!(s, db);
    Author::create_table(&db).expect("author");
    Paper::create_table(&db).expect("paper");
    let ann = Author::insert(
        &db,
        &Author {
            id: None,
            name: "Ann".into(),
        },
    )
    .expect("ann");
    let bob = Author::insert(
        &db,
        &Author {
            id: None,
            name: "Bob".into(),
        },
    )
    .expect("bob");
    Paper::insert(
        &db,
        &Paper {
            id: None,
            author_id: Some(ann),
            title: "P1".into(),
        },
    )
    .expect("p1");
    Paper::insert(
        &db,
        &Paper {
            id: None,
            author_id: None,
            title: "P2".into(),
        },
    )
    .expect("p2");
    let pairs = Paper::select()
        .join(Paper::author_id, Author::id)
        .all(&db)
        .expect("join");
    assert_eq!(pairs.len(), 1);
    assert_eq!(
        (pairs[0].0.title.as_str(), pairs[0].1.name.as_str()),
        ("P1", "Ann")
    );
    let left = Paper::select()
        .left_join(Paper::author_id, Author::id)
        .order_by(Paper::id)
        .all(&db)
        .expect("left");
    assert_eq!(
        left.iter().map(|(_, a)| a.is_some()).collect::<Vec<_>>(),
        [true, false]
    );
    let err = Paper::insert(
        &db,
        &Paper {
            id: None,
            author_id: Some(999),
            title: "x".into(),
        },
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Constraint {
                kind: ConstraintKind::ForeignKey,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("`author_id` -> `author`(`id`)"),
        "{err}"
    );
    Author::delete()
        .filter(Author::id.eq(ann))
        .run(&db)
        .expect("delete");
    assert_eq!(Paper::count().get(&db).expect("count"), 1, "cascaded");
    let _ = bob;
    let schema = doctable::reflect_table(&db, "paper")
        .expect("reflect")
        .expect("exists");
    assert_eq!(schema.foreign_keys.len(), 1);
    assert_eq!(schema.foreign_keys[0].on_delete, "CASCADE");
    assert!(
        Paper::schema_diff(&db).expect("diff").is_empty(),
        "{:?}",
        Paper::schema_diff(&db)
    );
}

#[test]
fn transactions_commit_roll_back_on_err_and_panic_and_nest() {
    pg!(s, db);
    Word::create_table(&db).expect("create");
    db.transaction(|tx| {
        Word::insert(tx, &word("kept", 1))?;
        let inner: doctable::Result<()> = tx.transaction(|tx| {
            Word::insert(tx, &word("undone", 2))?;
            Err(Error::Usage("no".into()))
        });
        assert!(inner.is_err());
        tx.transaction(|tx| Word::insert(tx, &word("nested", 3)).map(|_| ()))
    })
    .expect("transaction");
    let failed: doctable::Result<()> = db.transaction(|tx| {
        Word::insert(tx, &word("rolled back", 4))?;
        Err(Error::Usage("changed my mind".into()))
    });
    assert!(failed.is_err());
    let db = std::sync::Arc::new(db);
    let db2 = db.clone();
    let panicked = std::thread::spawn(move || {
        let _ = db2.transaction(|tx| -> doctable::Result<()> {
            Word::insert(tx, &word("panicked", 5))?;
            panic!("boom");
        });
    })
    .join();
    assert!(panicked.is_err());
    // A failed statement inside a transaction rolls back the whole of it.
    let dup: doctable::Result<()> = db.transaction(|tx| {
        Word::insert(tx, &word("dup-first", 6))?;
        Word::insert(tx, &word("kept", 7)).map(|_| ())
    });
    assert!(matches!(dup, Err(Error::Constraint { .. })), "{dup:?}");
    let texts: Vec<String> = Word::select_cols(Word::text)
        .order_by(Word::text)
        .all(&*db)
        .expect("texts");
    assert_eq!(texts, ["kept", "nested"]);
    // A call on the Persistent from inside its own transaction is refused, not a deadlock.
    let err = db
        .transaction(|_tx| <Word as DocTable>::count().get(&*db))
        .unwrap_err();
    assert!(err.to_string().contains("already in use"), "{err}");
}
