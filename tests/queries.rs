//! Conflict handling, returning, streaming, exists and raw SQL, with exact rows,
//! each test written once and run on every strategy of both engines
//! (tests/support/backends.rs). Where the engines differ in meaning ("or
//! replace"), each engine's documented behaviour is asserted.

use doctable::{Conn, ConstraintKind, DocTable, Error, Expr};

#[macro_use]
#[path = "support/backends.rs"]
mod backends;
use backends::{Engine, Kind, is_constraint_on, kind};

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

/// Creates the `words` table on `db`.
fn setup<C: Conn>(db: &C) -> &C {
    Word::create_table(db).expect("create");
    db
}

fn texts_and_counts<C: Conn>(db: &C) -> Vec<(String, i64)> {
    Word::select_cols((Word::text, Word::count))
        .order_by(Word::text)
        .all(db)
        .expect("select")
}

fn insert_or_ignore_skips_a_duplicate_and_says_so<C: Conn<Backend: Engine>>(db: &C) {
    let db = setup(db);
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

fn insert_or_replace_overwrites_the_conflicting_row<C: Conn<Backend: Engine>>(db: &C) {
    let db = setup(db);
    let first = Word::insert(&db, &word("a", 1)).expect("insert");
    match kind(db) {
        // SQLite replaces a row that conflicts on any unique column.
        Kind::Sqlite => {
            Word::insert_or_replace(&db, &word("a", 7)).expect("replace");
            assert_eq!(
                Word::insert_many_or_replace(&db, &[word("a", 8), word("b", 1)]).expect("many"),
                2
            );
        }
        // PostgreSQL's is `ON CONFLICT ("id") DO UPDATE`: one conflict target
        // per statement, the key. A row that conflicts only on another unique
        // column is a constraint error, and the batch holding it keeps nothing
        // (README "PostgreSQL"); the same row with its key replaces.
        Kind::Postgres => {
            let err = expect_failure!(db, |c| Word::insert_or_replace(c, &word("a", 7)));
            assert!(is_constraint_on(&err, "words", "words.text"), "{err:?}");
            let err = expect_failure!(db, |c| Word::insert_many_or_replace(
                c,
                &[word("b", 1), word("a", 8)]
            ));
            assert!(is_constraint_on(&err, "words", "words.text"), "{err:?}");
            assert_eq!(texts_and_counts(&db), [("a".into(), 1)]);
            let keyed = |count| Word {
                id: Some(first),
                ..word("a", count)
            };
            assert_eq!(
                Word::insert_or_replace(&db, &keyed(7)).expect("replace by key"),
                first
            );
            assert_eq!(
                Word::insert_many_or_replace(&db, &[keyed(8), word("b", 1)]).expect("many"),
                2
            );
        }
    }
    assert_eq!(texts_and_counts(&db), [("a".into(), 8), ("b".into(), 1)]);
    // SQLite's "or replace" deletes the conflicting row and inserts a new one
    // (a new key); PostgreSQL's is `ON CONFLICT (key) DO UPDATE`: the row is
    // updated in place and keeps its key (DESIGN.md, "Backends").
    let a_id = Word::select_cols(Word::id)
        .filter(Word::text.eq("a"))
        .first(&db)
        .expect("a")
        .flatten();
    match kind(db) {
        Kind::Sqlite => assert!(a_id.is_some_and(|id| id > 1), "{a_id:?}"),
        Kind::Postgres => assert_eq!(a_id, Some(1)),
    }
}

fn a_plain_insert_of_a_duplicate_is_a_constraint_error_naming_the_table<
    C: Conn<Backend: Engine>,
>(
    db: &C,
) {
    let db = setup(db);
    Word::insert(&db, &word("a", 1)).expect("insert");
    match Word::insert(&db, &word("a", 2)) {
        Err(err @ Error::Constraint { .. }) => {
            assert!(is_constraint_on(&err, "words", "words.text"), "{err:?}");
            let Error::Constraint {
                table,
                message,
                kind: constraint,
                ..
            } = err
            else {
                unreachable!()
            };
            assert_eq!(table, "words");
            assert_eq!(constraint, ConstraintKind::Unique);
            match kind(db) {
                Kind::Sqlite => assert!(
                    message.contains("UNIQUE") && message.contains("words.text"),
                    "{message}"
                ),
                Kind::Postgres => assert!(message.contains("unique"), "{message}"),
            }
        }
        other => panic!("expected a constraint error, got {other:?}"),
    }
}

fn upsert_updates_chosen_columns_or_does_nothing<C: Conn<Backend: Engine>>(db: &C) {
    let db = setup(db);
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

fn upsert_on_a_column_that_is_not_unique_is_a_runtime_error_with_the_sql<
    C: Conn<Backend: Engine>,
>(
    db: &C,
) {
    let db = setup(db);
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

fn insert_returning_reads_back_defaults_and_key<C: Conn<Backend: Engine>>(db: &C) {
    let db = setup(db);
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

fn update_returning_gives_the_changed_rows<C: Conn<Backend: Engine>>(db: &C) {
    let db = setup(db);
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

fn exists_chunks_and_for_each<C: Conn<Backend: Engine>>(db: &C) {
    let db = setup(db);
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

fn raw_sql_binds_its_values<C: Conn<Backend: Engine>>(db: &C) {
    let db = setup(db);
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

fn aggregates_over_no_rows_are_null_and_count_is_zero<C: Conn<Backend: Engine>>(db: &C) {
    let db = setup(db);
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

#[derive(DocTable, Debug, Clone, PartialEq)]
struct Author {
    #[doctable(primary_key)]
    id: Option<i64>,
    name: String,
    born: i64,
}

#[derive(DocTable, Debug, Clone, PartialEq)]
struct Paper {
    #[doctable(primary_key)]
    id: Option<i64>,
    author_id: Option<i64>,
    /// NOT NULL, joined to the `Option<i64>` key of `Author`.
    reviewer_id: i64,
    title: String,
    year: i64,
}

fn library<C: Conn>(db: &C) -> (&C, Vec<Author>, Vec<Paper>) {
    Author::create_table(&db).expect("create");
    Paper::create_table(&db).expect("create");
    let authors = vec![
        Author {
            id: Some(1),
            name: "Ada".into(),
            born: 1815,
        },
        Author {
            id: Some(2),
            name: "Grace".into(),
            born: 1906,
        },
        Author {
            id: Some(3),
            name: "Noam".into(),
            born: 1928,
        },
    ];
    let papers = vec![
        Paper {
            id: Some(10),
            author_id: Some(1),
            title: "Notes".into(),
            reviewer_id: 2,
            year: 1843,
        },
        Paper {
            id: Some(11),
            author_id: Some(2),
            title: "Compilers".into(),
            reviewer_id: 1,
            year: 1952,
        },
        Paper {
            id: Some(12),
            author_id: Some(2),
            title: "COBOL".into(),
            reviewer_id: 3,
            year: 1959,
        },
        Paper {
            id: Some(13),
            author_id: None,
            title: "Anonymous".into(),
            reviewer_id: 3,
            year: 1900,
        },
        Paper {
            id: Some(14),
            author_id: Some(99),
            title: "Orphan".into(),
            reviewer_id: 3,
            year: 2000,
        },
    ];
    Author::insert_many(&db, &authors).expect("authors");
    Paper::insert_many(&db, &papers).expect("papers");
    (db, authors, papers)
}

fn inner_join_pairs_matching_rows_with_filters_on_both_tables<C: Conn<Backend: Engine>>(db: &C) {
    let (db, authors, papers) = library(db);
    let pairs = Paper::select()
        .join(Paper::author_id, Author::id)
        .order_by(Paper::year)
        .all(&db)
        .expect("join");
    let expected: Vec<(Paper, Author)> = vec![
        (papers[0].clone(), authors[0].clone()),
        (papers[1].clone(), authors[1].clone()),
        (papers[2].clone(), authors[1].clone()),
    ];
    assert_eq!(pairs, expected);

    let graces_late = Paper::select()
        .filter(Paper::year.gt(1955))
        .join(Paper::author_id, Author::id)
        .filter(Author::name.eq("Grace"))
        .order_by(Author::born.desc())
        .all(&db)
        .expect("filtered join");
    assert_eq!(graces_late, [(papers[2].clone(), authors[1].clone())]);

    let first = Paper::select()
        .join(Paper::author_id, Author::id)
        .order_by(Paper::year.desc())
        .first(&db)
        .expect("first");
    assert_eq!(first, Some((papers[2].clone(), authors[1].clone())));
}

fn left_join_keeps_unmatched_rows_with_none<C: Conn<Backend: Engine>>(db: &C) {
    let (db, authors, papers) = library(db);
    let rows = Paper::select()
        .left_join(Paper::author_id, Author::id)
        .order_by(Paper::id)
        .all(&db)
        .expect("left join");
    let expected: Vec<(Paper, Option<Author>)> = vec![
        (papers[0].clone(), Some(authors[0].clone())),
        (papers[1].clone(), Some(authors[1].clone())),
        (papers[2].clone(), Some(authors[1].clone())),
        (papers[3].clone(), None),
        (papers[4].clone(), None),
    ];
    assert_eq!(rows, expected);
    let unmatched = Paper::select()
        .left_join(Paper::author_id, Author::id)
        .filter(Author::id.is_null())
        .limit(1)
        .all(&db)
        .expect("unmatched");
    assert_eq!(unmatched, [(papers[3].clone(), None)]);
    // Authors with no papers: the join the other way round.
    let noam = Author::select()
        .left_join(Author::id, Paper::author_id)
        .filter(Paper::id.is_null())
        .all(&db)
        .expect("authors without papers");
    assert_eq!(noam, [(authors[2].clone(), None)]);
}

fn a_not_null_foreign_key_joins_an_option_primary_key<C: Conn<Backend: Engine>>(db: &C) {
    let (db, _authors, _papers) = library(db);
    let reviewed_by_noam: Vec<String> = Paper::select()
        .join(Paper::reviewer_id, Author::id)
        .filter(Author::name.eq("Noam"))
        .order_by(Paper::id)
        .all(&db)
        .expect("join")
        .into_iter()
        .map(|(p, _)| p.title)
        .collect();
    assert_eq!(reviewed_by_noam, ["COBOL", "Anonymous", "Orphan"]);
}

fn raw_sql_works_inside_set_with_bound_values<C: Conn<Backend: Engine>>(db: &C) {
    let db = setup(db);
    Word::insert_many(&db, &[word("a", 1), word("bb", 2)]).expect("insert");
    let length_plus: Expr<Word, i64> = Expr::raw("length(\"text\") + ?", [10]);
    let changed = Word::update()
        .set(Word::count, length_plus)
        .all_rows()
        .run(&db)
        .expect("update with raw expression");
    assert_eq!(changed, 2);
    assert_eq!(texts_and_counts(&db), [("a".into(), 11), ("bb".into(), 12)]);
}

#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "flags")]
struct Flag {
    #[doctable(primary_key)]
    id: Option<i64>,
    a: i64,
    b: i64,
    note: Option<String>,
}

fn flags<C: Conn>(db: &C) -> &C {
    Flag::create_table(&db).expect("create");
    let rows = [(1, 0, None), (0, 1, Some("x")), (0, 0, Some("y"))];
    let rows: Vec<Flag> = rows
        .iter()
        .map(|&(a, b, note)| Flag {
            id: None,
            a,
            b,
            note: note.map(str::to_owned),
        })
        .collect();
    Flag::insert_many(&db, &rows).expect("insert");
    db
}

fn flag_ids<C: Conn>(db: &C, cond: Expr<Flag, bool>) -> Vec<i64> {
    Flag::select_cols(Flag::id)
        .filter(cond)
        .order_by(Flag::id)
        .all(db)
        .expect("select")
        .into_iter()
        .flatten()
        .collect()
}

fn raw_sql_keeps_its_meaning_on_either_side_of_an_operator<C: Conn<Backend: Engine>>(db: &C) {
    let db = flags(db);
    let either = || Expr::<Flag, bool>::raw("\"a\" = 1 OR \"b\" = 1", Vec::<i64>::new());
    assert_eq!(flag_ids(&db, either().and(Flag::note.eq("x"))), [2]);
    assert_eq!(flag_ids(&db, either().not()), [3]);
    assert_eq!(flag_ids(&db, Flag::note.eq("x") & either()), [2]);
    let sum = Expr::<Flag, i64>::raw("\"a\" + \"b\"", Vec::<i64>::new());
    let scaled: Vec<i64> = Flag::select_cols(sum * 10)
        .order_by(Flag::id)
        .all(&db)
        .expect("select");
    assert_eq!(scaled, [10, 10, 0]);
    // Deleting through a raw condition touches only the rows it names.
    assert_eq!(
        Flag::delete()
            .filter(either().and(Flag::b.eq(1)))
            .run(&db)
            .expect("delete"),
        1
    );
    assert_eq!(flag_ids(&db, Flag::a.ge(0)), [1, 3]);
}

fn none_in_in_list_means_is_null<C: Conn<Backend: Engine>>(db: &C) {
    let db = flags(db);
    assert_eq!(
        flag_ids(&db, Flag::note.in_list([None, Some("x".to_string())])),
        [1, 2]
    );
    assert_eq!(flag_ids(&db, !Flag::note.in_list([None::<String>])), [2, 3]);
    assert_eq!(flag_ids(&db, Flag::note.in_list([None::<String>])), [1]);
    assert_eq!(
        flag_ids(&db, Flag::note.in_list(Vec::<Option<String>>::new())),
        Vec::<i64>::new()
    );
}

on_every_strategy!(
    insert_or_ignore_skips_a_duplicate_and_says_so,
    insert_or_replace_overwrites_the_conflicting_row,
    a_plain_insert_of_a_duplicate_is_a_constraint_error_naming_the_table,
    upsert_updates_chosen_columns_or_does_nothing,
    upsert_on_a_column_that_is_not_unique_is_a_runtime_error_with_the_sql,
    insert_returning_reads_back_defaults_and_key,
    update_returning_gives_the_changed_rows,
    exists_chunks_and_for_each,
    raw_sql_binds_its_values,
    aggregates_over_no_rows_are_null_and_count_is_zero,
    inner_join_pairs_matching_rows_with_filters_on_both_tables,
    left_join_keeps_unmatched_rows_with_none,
    a_not_null_foreign_key_joins_an_option_primary_key,
    raw_sql_works_inside_set_with_bound_values,
    raw_sql_keeps_its_meaning_on_either_side_of_an_operator,
    none_in_in_list_means_is_null,
);

/// A GROUP BY / ORDER BY key with bound values that equals a selected
/// expression is written as its position (PostgreSQL compares expressions
/// with their placeholders: `$1 * x` is not `$3 * x`); other keys are written out.
#[test]
fn grouping_keys_with_values_refer_to_the_selected_expression_by_position() {
    let decade = Word::count / 10 * 10;
    let sql = Word::select_cols((Word::lang, decade.clone(), Word::id.count()))
        .group_by(Word::lang)
        .group_by(decade.clone())
        .order_by(decade.clone().desc())
        .order_by(Word::lang)
        .sql();
    assert!(
        sql.ends_with("GROUP BY \"words\".\"lang\", 2 ORDER BY 2 DESC, \"words\".\"lang\" ASC"),
        "{sql}"
    );
    // A key not selected stays as written, values and all.
    let sql = Word::select_cols(Word::id.count())
        .group_by(Word::count / 10)
        .sql();
    assert!(sql.ends_with("GROUP BY (\"words\".\"count\" / ?)"), "{sql}");
}
