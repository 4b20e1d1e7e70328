//! Conflict handling, returning, streaming, exists and raw SQL, with exact rows.

use doctable::{DocTable, Error, Expr, Persistent};

#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "words")]
struct Word {
    #[doctable(primary_key)]
    id: Option<i64>,
    #[doctable(unique)]
    text: String,
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

fn db() -> (tempfile::TempDir, Persistent) {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Persistent::open(dir.path().join("q.db")).expect("open");
    Word::create_table(&db).expect("create");
    (dir, db)
}

fn texts_and_counts(db: &Persistent) -> Vec<(String, i64)> {
    Word::select_cols((Word::text, Word::count))
        .order_by(Word::text)
        .all(db)
        .expect("select")
}

#[test]
fn insert_or_ignore_skips_a_duplicate_and_says_so() {
    let (_dir, db) = db();
    assert_eq!(
        Word::insert_or_ignore(&db, &word("a", 1)).expect("first"),
        Some(1)
    );
    assert_eq!(
        Word::insert_or_ignore(&db, &word("a", 9)).expect("dup"),
        None
    );
    let n = Word::insert_many_or_ignore(&db, &[word("a", 5), word("b", 2), word("b", 3)])
        .expect("many");
    assert_eq!(n, 1);
    assert_eq!(texts_and_counts(&db), [("a".into(), 1), ("b".into(), 2)]);
}

#[test]
fn insert_or_replace_overwrites_the_conflicting_row() {
    let (_dir, db) = db();
    Word::insert(&db, &word("a", 1)).expect("insert");
    Word::insert_or_replace(&db, &word("a", 7)).expect("replace");
    assert_eq!(
        Word::insert_many_or_replace(&db, &[word("a", 8), word("b", 1)]).expect("many"),
        2
    );
    assert_eq!(texts_and_counts(&db), [("a".into(), 8), ("b".into(), 1)]);
}

#[test]
fn a_plain_insert_of_a_duplicate_is_a_constraint_error_naming_the_table() {
    let (_dir, db) = db();
    Word::insert(&db, &word("a", 1)).expect("insert");
    match Word::insert(&db, &word("a", 2)) {
        Err(Error::Constraint { table, message, .. }) => {
            assert_eq!(table, "words");
            assert!(
                message.contains("UNIQUE") && message.contains("words.text"),
                "{message}"
            );
        }
        other => panic!("expected a constraint error, got {other:?}"),
    }
}

#[test]
fn upsert_updates_chosen_columns_or_does_nothing() {
    let (_dir, db) = db();
    let bump = Word::upsert().on_conflict(Word::text).update(Word::count);
    assert_eq!(bump.run(&db, &word("a", 1)).expect("insert"), 1);
    assert_eq!(bump.run(&db, &word("a", 4)).expect("update"), 1);
    assert_eq!(
        bump.run_many(&db, &[word("a", 6), word("b", 2)])
            .expect("many"),
        2
    );
    let keep = Word::upsert().on_conflict((Word::text,)).do_nothing();
    assert_eq!(keep.run(&db, &word("b", 99)).expect("skip"), 0);
    assert_eq!(texts_and_counts(&db), [("a".into(), 6), ("b".into(), 2)]);
    // The first row kept its id: an upsert updates in place.
    assert_eq!(
        Word::select()
            .filter(Word::text.eq("a"))
            .first(&db)
            .expect("a")
            .and_then(|w| w.id),
        Some(1)
    );
}

#[test]
fn upsert_on_a_column_that_is_not_unique_is_a_runtime_error_with_the_sql() {
    let (_dir, db) = db();
    let err = Word::upsert()
        .on_conflict(Word::count)
        .update(Word::text)
        .run(&db, &word("a", 1))
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("words") && text.contains("ON CONFLICT"),
        "{text}"
    );
    let err = Word::upsert()
        .on_conflict(Word::text)
        .run(&db, &word("a", 1))
        .unwrap_err();
    assert!(err.to_string().contains("do_nothing"), "{err}");
}

#[test]
fn insert_returning_reads_back_defaults_and_key() {
    let (_dir, db) = db();
    let stored = Word::insert_returning(
        &db,
        &Word {
            id: None,
            text: "x".into(),
            count: 3,
            lang: None,
        },
    )
    .expect("insert returning");
    // `lang: None` binds NULL, which is stored as given: the default applies only
    // when the column is left out, so the stored row says None.
    assert_eq!(
        stored,
        Word {
            id: Some(1),
            text: "x".into(),
            count: 3,
            lang: None
        }
    );
}

#[test]
fn update_returning_gives_the_changed_rows() {
    let (_dir, db) = db();
    Word::insert_many(&db, &[word("a", 1), word("b", 2), word("c", 3)]).expect("insert");
    let changed = Word::update()
        .set(Word::count, Word::count * 10)
        .filter(Word::count.ge(2))
        .returning(&db)
        .expect("update returning");
    let mut counts: Vec<(String, i64)> = changed.into_iter().map(|w| (w.text, w.count)).collect();
    counts.sort();
    assert_eq!(counts, [("b".into(), 20), ("c".into(), 30)]);
}

#[test]
fn exists_chunks_and_for_each() {
    let (_dir, db) = db();
    assert!(!Word::select().exists(&db).expect("exists on empty"));
    let words: Vec<Word> = (0..10).map(|i| word(&format!("w{i}"), i)).collect();
    Word::insert_many(&db, &words).expect("insert");
    assert!(
        Word::select()
            .filter(Word::count.eq(9))
            .exists(&db)
            .expect("exists")
    );
    assert!(
        !Word::select()
            .filter(Word::count.gt(9))
            .exists(&db)
            .expect("not exists")
    );

    let mut sizes = Vec::new();
    let mut seen = Vec::new();
    Word::select()
        .order_by(Word::count)
        .chunks(&db, 4, |batch| {
            sizes.push(batch.len());
            seen.extend(batch.into_iter().map(|w| w.count));
            Ok(())
        })
        .expect("chunks");
    assert_eq!(sizes, [4, 4, 2]);
    assert_eq!(seen, (0..10).collect::<Vec<_>>());

    let mut total = 0;
    Word::select_cols(Word::count)
        .filter(Word::count.lt(5))
        .for_each(&db, |c| {
            total += c;
            Ok(())
        })
        .expect("for_each");
    assert_eq!(total, 1 + 2 + 3 + 4);

    // An error from the callback stops the stream and comes back unchanged.
    let mut calls = 0;
    let err = Word::select()
        .for_each(&db, |_| {
            calls += 1;
            Err(Error::Usage("stop".into()))
        })
        .unwrap_err();
    assert_eq!((calls, err.to_string()), (1, "stop".to_string()));
}

#[test]
fn raw_sql_binds_its_values() {
    let (_dir, db) = db();
    Word::insert_many(&db, &[word("short", 1), word("a longer word", 2)]).expect("insert");
    let long = Word::select_sql("WHERE length(\"text\") > ? ORDER BY \"id\"", [5], &db)
        .expect("select_sql");
    assert_eq!(
        long.iter().map(|w| w.text.as_str()).collect::<Vec<_>>(),
        ["a longer word"]
    );
    let hostile = "'; DROP TABLE words; --";
    let none = Word::select_sql("WHERE \"text\" = ?", [hostile], &db).expect("bound, not pasted");
    assert!(none.is_empty());
    let cond: Expr<Word, bool> = Expr::raw(
        "length(\"text\") < ? AND \"text\" <> ?",
        doctable::rusqlite::params![6, "x"],
    );
    let short = Word::select().filter(cond).all(&db).expect("raw filter");
    assert_eq!(short.len(), 1);
    assert_eq!(
        <Word as DocTable>::count().get(&db).expect("count"),
        2,
        "the table is still there"
    );
}

#[test]
fn aggregates_over_no_rows_are_null_and_count_is_zero() {
    let (_dir, db) = db();
    let (sum, avg, min, max, n, distinct) = Word::select_cols((
        Word::count.sum(),
        Word::count.avg(),
        Word::text.min(),
        Word::count.max(),
        Word::id.count(),
        Word::count.count_distinct(),
    ))
    .first(&db)
    .expect("aggregate")
    .expect("one row");
    assert_eq!(
        (sum, avg, min, max, n, distinct),
        (None, None, None, None, 0, 0)
    );
    Word::insert_many(&db, &[word("a", 2), word("b", 2), word("c", 5)]).expect("insert");
    let (sum, avg, distinct) = Word::select_cols((
        Word::count.sum(),
        Word::count.avg(),
        Word::count.count_distinct(),
    ))
    .first(&db)
    .expect("aggregate")
    .expect("one row");
    assert_eq!((sum, avg, distinct), (Some(9), Some(3.0), 2));
    let groups: Vec<(i64, i64)> = Word::select_cols((Word::count, Word::id.count()))
        .group_by(Word::count)
        .having(Word::id.count().gt(1))
        .all(&db)
        .expect("group by having");
    assert_eq!(groups, [(2, 2)]);
}
