//! Subqueries as typed expressions: `in_query`, `not_in_query`, `exists` and
//! `not_exists`, uncorrelated and correlated, with exact rows, each test
//! written once and run on every strategy of both engines
//! (tests/support/backends.rs). Values bound inside and around a subquery
//! keep their order: PostgreSQL's `$N` are numbered across it.

use doctable::{Conn, DocTable, Error, exists, not_exists};

#[macro_use]
#[path = "support/backends.rs"]
mod backends;
use backends::Engine;

#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "authors")]
struct Author {
    #[doctable(primary_key)]
    id: Option<i64>,
    name: String,
    born: i64,
}

#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "documents")]
struct Document {
    #[doctable(primary_key)]
    id: Option<i64>,
    author_id: Option<i64>,
    title: String,
    words: i64,
}

/// Ada (1815), Grace (1906) and Noam (1928, no documents); five documents,
/// one without an author.
fn library<C: Conn>(db: &C) {
    Author::create_table(db).expect("authors");
    Document::create_table(db).expect("documents");
    let author = |id, name: &str, born| Author {
        id: Some(id),
        name: name.into(),
        born,
    };
    let doc = |id, author_id, title: &str, words| Document {
        id: Some(id),
        author_id,
        title: title.into(),
        words,
    };
    Author::insert_many(
        db,
        &[
            author(1, "Ada", 1815),
            author(2, "Grace", 1906),
            author(3, "Noam", 1928),
        ],
    )
    .expect("insert authors");
    Document::insert_many(
        db,
        &[
            doc(10, Some(1), "Notes", 100),
            doc(11, Some(1), "Letters", 50),
            doc(12, Some(2), "COBOL", 300),
            doc(13, Some(2), "Compiler", 200),
            doc(14, None, "Anonymous", 7),
        ],
    )
    .expect("insert documents");
}

fn titles<C: Conn>(db: &C, condition: doctable::Expr<Document, bool>) -> Vec<String> {
    Document::select_cols(Document::title)
        .filter(condition)
        .order_by(Document::id)
        .all(db)
        .expect("titles")
}

fn names<C: Conn>(db: &C, condition: doctable::Expr<Author, bool>) -> Vec<String> {
    Author::select_cols(Author::name)
        .filter(condition)
        .order_by(Author::id)
        .all(db)
        .expect("names")
}

fn in_query_keeps_rows_whose_value_the_subquery_selects<C: Conn<Backend: Engine>>(db: &C) {
    library(db);
    // An `Option<i64>` column in a subquery of `Option<i64>` keys.
    let by_the_young =
        Document::author_id.in_query(Author::select_cols(Author::id).filter(Author::born.gt(1900)));
    assert_eq!(titles(db, by_the_young), ["COBOL", "Compiler"]);

    // An `Option<i64>` key in a subquery of `Option<i64>` foreign keys, with
    // aggregates and `having` inside.
    let prolific = Author::id.in_query(
        Document::select_cols(Document::author_id)
            .group_by(Document::author_id)
            .having(Document::words.max().gt(250)),
    );
    assert_eq!(names(db, prolific), ["Grace"]);

    // `not_in_query`: the subquery has no NULL here (NULLs filtered out).
    let silent = Author::id.not_in_query(
        Document::select_cols(Document::author_id).filter(Document::author_id.is_not_null()),
    );
    assert_eq!(names(db, silent), ["Noam"]);

    // Limit and offset inside a subquery (written the same on both engines).
    let longest = Document::id.in_query(
        Document::select_cols(Document::id)
            .order_by(Document::words.desc())
            .limit(2),
    );
    assert_eq!(titles(db, longest), ["COBOL", "Compiler"]);
    let after_the_longest = Document::id.in_query(
        Document::select_cols(Document::id)
            .order_by(Document::words.desc())
            .offset(3),
    );
    assert_eq!(titles(db, after_the_longest), ["Letters", "Anonymous"]);

    // An empty subquery matches nothing.
    let none = Document::author_id
        .in_query(Author::select_cols(Author::id).filter(Author::name.eq("nobody")));
    assert_eq!(titles(db, none), Vec::<String>::new());
}

fn values_before_inside_and_after_a_subquery_are_bound_in_order<C: Conn<Backend: Engine>>(db: &C) {
    library(db);
    // Parameters: words > 40, then born between 1800 and 1910, name <> 'Grace',
    // then title <> 'Notes', and one more in `having` of an outer select.
    let condition = Document::words.gt(40)
        & Document::author_id.in_query(
            Author::select_cols(Author::id)
                .filter(Author::born.between(1800, 1910))
                .filter(Author::name.ne("Grace")),
        )
        & Document::title.ne("Notes");
    assert_eq!(titles(db, condition.clone()), ["Letters"]);
    let counted: Vec<(Option<i64>, i64)> =
        Document::select_cols((Document::author_id, Document::id.count()))
            .filter(Document::words.gt(1))
            .filter(
                Document::author_id
                    .in_query(Author::select_cols(Author::id).filter(Author::name.ne("Noam"))),
            )
            .group_by(Document::author_id)
            .having(Document::id.count().ge(2))
            .order_by(Document::author_id)
            .all(db)
            .expect("grouped");
    assert_eq!(counted, [(Some(1), 2), (Some(2), 2)]);
    // The same condition in an update and a delete.
    let changed = Document::update()
        .set(Document::words, Document::words + 1)
        .filter(condition)
        .run(db)
        .expect("update");
    assert_eq!(changed, 1);
    let removed = Document::delete()
        .filter(
            Document::author_id
                .in_query(Author::select_cols(Author::id).filter(Author::name.eq("Grace"))),
        )
        .run(db)
        .expect("delete");
    assert_eq!(removed, 2);
    assert_eq!(
        Document::select_cols((Document::title, Document::words))
            .order_by(Document::id)
            .all(db)
            .expect("left"),
        [
            ("Notes".to_string(), 100),
            ("Letters".to_string(), 51),
            ("Anonymous".to_string(), 7)
        ]
    );
}

fn exists_and_not_exists_correlated_with_the_outer_row<C: Conn<Backend: Engine>>(db: &C) {
    library(db);
    let with_long = exists(
        Document::select()
            .filter(Document::words.ge(100))
            .correlated(Document::author_id, Author::id),
    );
    assert_eq!(names(db, with_long), ["Ada", "Grace"]);
    let with_very_long = exists(
        Document::select()
            .filter(Document::words.ge(250))
            .correlated(Document::author_id, Author::id),
    );
    assert_eq!(names(db, with_very_long.clone()), ["Grace"]);
    assert_eq!(
        names(
            db,
            not_exists(Document::select().correlated(Document::author_id, Author::id))
        ),
        ["Noam"]
    );
    // Combined with other conditions, negated, counted.
    assert_eq!(
        names(db, !with_very_long.clone() & Author::born.lt(1900)),
        ["Ada"]
    );
    assert_eq!(
        Author::count()
            .filter(with_very_long)
            .get(db)
            .expect("count"),
        1
    );
    // Correlated `in_query`: documents whose words are their author's most.
    let longest_of_their_author = Document::words.in_query(
        Document::select_cols(Document::words.max())
            .correlated(Document::author_id, Document::author_id),
    );
    let err = expect_failure!(db, |c| Document::select()
        .filter(longest_of_their_author)
        .all(c));
    match &err {
        Error::Usage(m) => assert!(m.contains("correlated with `documents` itself"), "{m}"),
        other => panic!("expected a usage error, got {other}"),
    }
    // Two correlations are ANDed: an author born in the year a document has
    // as its word count matches no one; by key and name they match.
    let same_author = exists(
        Author::select()
            .correlated(Author::id, Document::author_id)
            .correlated(Author::born, Document::words),
    );
    assert_eq!(titles(db, same_author), Vec::<String>::new());
}

fn exists_uncorrelated_is_one_answer_for_every_row<C: Conn<Backend: Engine>>(db: &C) {
    library(db);
    let any_long = exists(Document::select().filter(Document::words.gt(250)));
    assert_eq!(names(db, any_long), ["Ada", "Grace", "Noam"]);
    let none_huge = not_exists(Document::select().filter(Document::words.gt(10_000)));
    assert_eq!(titles(db, none_huge).len(), 5);
    let huge = exists(Document::select().filter(Document::words.gt(10_000)));
    assert_eq!(names(db, huge), Vec::<String>::new());
}

/// A subquery inside a join's filter.
fn a_subquery_in_a_join_filter<C: Conn<Backend: Engine>>(db: &C) {
    library(db);
    let rows: Vec<(String, String)> =
        Document::select()
            .join(Document::author_id, Author::id)
            .select_cols((Author::name, Document::title))
            .filter(Document::id.in_query(
                Document::select_cols(Document::id).filter(Document::words.between(50, 200)),
            ))
            .filter(not_exists(
                Document::select()
                    .filter(Document::words.gt(250))
                    .correlated(Document::author_id, Author::id),
            ))
            .order_by(Document::title)
            .all(db)
            .expect("join with subqueries");
    assert_eq!(
        rows,
        [
            ("Ada".to_string(), "Letters".to_string()),
            ("Ada".to_string(), "Notes".to_string()),
        ]
    );
}

on_every_strategy!(
    in_query_keeps_rows_whose_value_the_subquery_selects,
    values_before_inside_and_after_a_subquery_are_bound_in_order,
    exists_and_not_exists_correlated_with_the_outer_row,
    exists_uncorrelated_is_one_answer_for_every_row,
    a_subquery_in_a_join_filter,
);

/// The SQL of a select with a subquery, as SQLite runs it: one `?` per value,
/// in order.
#[test]
fn a_subquery_renders_inside_the_condition() {
    let sql = Document::select_cols(Document::title)
        .filter(Document::words.gt(1))
        .filter(
            Document::author_id.in_query(
                Author::select_cols(Author::id)
                    .filter(Author::born.gt(1900))
                    .offset(1),
            ),
        )
        .filter(exists(
            Author::select().correlated(Author::id, Document::author_id),
        ))
        .sql();
    assert_eq!(
        sql,
        "SELECT \"documents\".\"title\" FROM \"documents\" WHERE (((\"documents\".\"words\" > ?) AND \
         (\"documents\".\"author_id\" IN (SELECT \"authors\".\"id\" FROM \"authors\" WHERE \
         (\"authors\".\"born\" > ?) LIMIT 9223372036854775807 OFFSET 1))) AND (EXISTS (SELECT \
         \"authors\".\"id\", \"authors\".\"name\", \"authors\".\"born\" FROM \"authors\" WHERE \
         (\"authors\".\"id\" = \"documents\".\"author_id\"))))"
    );
}
