//! Joins as full queries: chosen columns and aggregates over joined tables,
//! `group_by` / `having` / `distinct` / `order_by` / `limit` / `for_each` /
//! `chunks` on a join, and joins of three tables, with exact rows, each test
//! written once and run on every strategy of both engines
//! (tests/support/backends.rs).

use doctable::{Conn, DocTable, Error};

#[macro_use]
#[path = "support/backends.rs"]
mod backends;
use backends::Engine;

#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "countries")]
struct Country {
    #[doctable(primary_key)]
    id: Option<i64>,
    name: String,
}

#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "authors")]
struct Author {
    #[doctable(primary_key)]
    id: Option<i64>,
    name: String,
    country_id: i64,
}

#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "documents")]
struct Document {
    #[doctable(primary_key)]
    id: Option<i64>,
    author_id: Option<i64>,
    title: String,
    words: i64,
    year: i64,
}

/// Per author: name, documents, words, mean words, first and last year.
type AuthorStats = (
    String,
    i64,
    Option<i64>,
    Option<f64>,
    Option<i64>,
    Option<i64>,
);

struct Library {
    countries: Vec<Country>,
    authors: Vec<Author>,
    docs: Vec<Document>,
}

fn doc(id: i64, author_id: Option<i64>, title: &str, words: i64, year: i64) -> Document {
    Document {
        id: Some(id),
        author_id,
        title: title.into(),
        words,
        year,
    }
}

/// Two countries, three authors (Noam has no documents) and six documents
/// (one without an author).
fn library<C: Conn>(db: &C) -> Library {
    Country::create_table(db).expect("countries");
    Author::create_table(db).expect("authors");
    Document::create_table(db).expect("documents");
    let countries = vec![
        Country {
            id: Some(1),
            name: "UK".into(),
        },
        Country {
            id: Some(2),
            name: "US".into(),
        },
    ];
    let author = |id, name: &str, country_id| Author {
        id: Some(id),
        name: name.into(),
        country_id,
    };
    let authors = vec![
        author(1, "Ada", 1),
        author(2, "Grace", 2),
        author(3, "Noam", 2),
    ];
    let docs = vec![
        doc(10, Some(1), "Notes", 100, 1843),
        doc(11, Some(1), "Letters", 50, 1850),
        doc(12, Some(2), "COBOL", 300, 1959),
        doc(13, Some(2), "Compiler", 200, 1952),
        doc(14, Some(2), "Nanosecond", 10, 1980),
        doc(15, None, "Anonymous", 7, 1900),
    ];
    Country::insert_many(db, &countries).expect("insert countries");
    Author::insert_many(db, &authors).expect("insert authors");
    Document::insert_many(db, &docs).expect("insert documents");
    Library {
        countries,
        authors,
        docs,
    }
}

fn aggregates_per_author_name_over_authors_join_documents<C: Conn<Backend: Engine>>(db: &C) {
    library(db);
    let per_author: Vec<AuthorStats> = Document::select()
        .join(Document::author_id, Author::id)
        .select_cols((
            Author::name,
            Document::id.count(),
            Document::words.sum(),
            Document::words.avg(),
            Document::year.min(),
            Document::year.max(),
        ))
        .group_by(Author::name)
        .order_by(Author::name)
        .all(db)
        .expect("per author");
    assert_eq!(
        per_author,
        [
            (
                "Ada".to_string(),
                2,
                Some(150),
                Some(75.0),
                Some(1843),
                Some(1850)
            ),
            (
                "Grace".to_string(),
                3,
                Some(510),
                Some(170.0),
                Some(1952),
                Some(1980)
            ),
        ]
    );

    // `having` over an aggregate, ordered by an aggregate, with a filter on
    // the other table.
    let prolific: Vec<(String, i64)> = Document::select()
        .join(Document::author_id, Author::id)
        .select_cols((Author::name, Document::words.count()))
        .filter(Document::year.gt(1800))
        .group_by(Author::name)
        .having(Document::id.count().gt(2))
        .order_by(Document::words.count().desc())
        .all(db)
        .expect("having");
    assert_eq!(prolific, [("Grace".to_string(), 3)]);

    // The select's own filter is kept when it becomes a join.
    let late: Vec<(String, i64)> = Document::select()
        .filter(Document::year.ge(1950))
        .join(Document::author_id, Author::id)
        .select_cols((Author::name, Document::id.count()))
        .group_by(Author::name)
        .all(db)
        .expect("filter before join");
    assert_eq!(late, [("Grace".to_string(), 3)]);
}

fn a_left_join_counts_zero_for_rows_with_no_match<C: Conn<Backend: Engine>>(db: &C) {
    library(db);
    let per_author: Vec<(String, i64, Option<i64>)> = Author::select()
        .left_join(Author::id, Document::author_id)
        .select_cols((Author::name, Document::id.count(), Document::words.sum()))
        .group_by(Author::name)
        .order_by(Author::name)
        .all(db)
        .expect("left join aggregates");
    assert_eq!(
        per_author,
        [
            ("Ada".to_string(), 2, Some(150)),
            ("Grace".to_string(), 3, Some(510)),
            ("Noam".to_string(), 0, None),
        ]
    );
    // A column of the right side of a left join reads as an `Option`.
    let titles: Vec<(String, Option<String>)> = Author::select()
        .left_join(Author::id, Document::author_id)
        .select_cols((Author::name, Document::title))
        .filter(Author::name.ne("Grace"))
        .order_by(Author::name)
        .order_by(Document::title)
        .all(db)
        .expect("left join columns");
    assert_eq!(
        titles,
        [
            ("Ada".to_string(), Some("Letters".to_string())),
            ("Ada".to_string(), Some("Notes".to_string())),
            ("Noam".to_string(), None),
        ]
    );
}

fn a_three_table_join_reads_exact_rows<C: Conn<Backend: Engine>>(db: &C) {
    let lib = library(db);
    let (uk, us) = (&lib.countries[0], &lib.countries[1]);
    let rows: Vec<(Document, Author, Country)> = Document::select()
        .join(Document::author_id, Author::id)
        .join(Author::country_id, Country::id)
        .filter(Country::name.eq("US"))
        .filter(Document::words.ge(200))
        .order_by(Document::year)
        .all(db)
        .expect("three tables");
    assert_eq!(
        rows,
        [
            (lib.docs[3].clone(), lib.authors[1].clone(), us.clone()),
            (lib.docs[2].clone(), lib.authors[1].clone(), us.clone()),
        ]
    );

    let per_country: Vec<(String, i64, Option<i64>)> = Document::select()
        .join(Document::author_id, Author::id)
        .join(Author::country_id, Country::id)
        .select_cols((Country::name, Document::id.count(), Document::words.sum()))
        .group_by(Country::name)
        .order_by(Country::name)
        .all(db)
        .expect("per country");
    assert_eq!(
        per_country,
        [
            ("UK".to_string(), 2, Some(150)),
            ("US".to_string(), 3, Some(510)),
        ]
    );

    // Left joins all the way: the anonymous document keeps a row, with
    // neither author nor country.
    let all: Vec<(Document, Option<Author>, Option<Country>)> = Document::select()
        .left_join(Document::author_id, Author::id)
        .left_join(Author::country_id, Country::id)
        .order_by(Document::id)
        .all(db)
        .expect("left joins");
    let expected: Vec<(Document, Option<Author>, Option<Country>)> = lib
        .docs
        .iter()
        .map(|d| match d.author_id {
            Some(1) => (d.clone(), Some(lib.authors[0].clone()), Some(uk.clone())),
            Some(2) => (d.clone(), Some(lib.authors[1].clone()), Some(us.clone())),
            _ => (d.clone(), None, None),
        })
        .collect();
    assert_eq!(all, expected);

    // From the other end: countries to authors to documents, with the
    // authors who wrote nothing.
    let per_author: Vec<(String, String, i64)> = Country::select()
        .join(Country::id, Author::country_id)
        .left_join(Author::id, Document::author_id)
        .select_cols((Country::name, Author::name, Document::id.count()))
        .group_by(Country::name)
        .group_by(Author::name)
        .order_by(Country::name)
        .order_by(Author::name)
        .all(db)
        .expect("country, author, documents");
    assert_eq!(
        per_author,
        [
            ("UK".to_string(), "Ada".to_string(), 2),
            ("US".to_string(), "Grace".to_string(), 3),
            ("US".to_string(), "Noam".to_string(), 0),
        ]
    );
}

fn distinct_limit_and_offset_on_a_join<C: Conn<Backend: Engine>>(db: &C) {
    library(db);
    let names: Vec<String> = Document::select()
        .join(Document::author_id, Author::id)
        .select_cols(Author::name)
        .distinct()
        .order_by(Author::name)
        .all(db)
        .expect("distinct");
    assert_eq!(names, ["Ada", "Grace"]);

    // `distinct` before the join is kept.
    let countries: Vec<i64> = Document::select()
        .distinct()
        .join(Document::author_id, Author::id)
        .select_cols(Author::country_id)
        .order_by(Author::country_id)
        .all(db)
        .expect("distinct before join");
    assert_eq!(countries, [1, 2]);

    let page: Vec<(String, String)> = Document::select()
        .join(Document::author_id, Author::id)
        .select_cols((Author::name, Document::title))
        .order_by(Document::words.desc())
        .limit(2)
        .offset(1)
        .all(db)
        .expect("page");
    assert_eq!(
        page,
        [
            ("Grace".to_string(), "Compiler".to_string()),
            ("Ada".to_string(), "Notes".to_string()),
        ]
    );
    let offset_only: Vec<String> = Document::select()
        .join(Document::author_id, Author::id)
        .select_cols(Document::title)
        .order_by(Document::id)
        .offset(4)
        .all(db)
        .expect("offset alone");
    assert_eq!(offset_only, ["Nanosecond"]);
    let first = Document::select()
        .join(Document::author_id, Author::id)
        .select_cols((Author::name, Document::year.max()))
        .group_by(Author::name)
        .order_by(Author::name.desc())
        .first(db)
        .expect("first");
    assert_eq!(first, Some(("Grace".to_string(), Some(1980))));
}

fn for_each_and_chunks_stream_a_join<C: Conn<Backend: Engine>>(db: &C) {
    let lib = library(db);
    let mut seen = Vec::new();
    Document::select()
        .join(Document::author_id, Author::id)
        .order_by(Document::id)
        .for_each(db, |(d, a)| {
            seen.push((d.title, a.name));
            Ok(())
        })
        .expect("for_each");
    let expected: Vec<(String, String)> = lib.docs[..5]
        .iter()
        .map(|d| {
            let name = if d.author_id == Some(1) {
                "Ada"
            } else {
                "Grace"
            };
            (d.title.clone(), name.to_string())
        })
        .collect();
    assert_eq!(seen, expected);

    let mut batches = Vec::new();
    Document::select()
        .join(Document::author_id, Author::id)
        .join(Author::country_id, Country::id)
        .select_cols((Document::title, Country::name))
        .order_by(Document::id)
        .chunks(db, 2, |batch| {
            batches.push(batch);
            Ok(())
        })
        .expect("chunks");
    let titles = |b: &[(String, String)]| b.iter().map(|(t, _)| t.clone()).collect::<Vec<_>>();
    assert_eq!(
        batches.iter().map(|b| titles(b)).collect::<Vec<_>>(),
        [
            vec!["Notes", "Letters"],
            vec!["COBOL", "Compiler"],
            vec!["Nanosecond"]
        ]
    );
    assert_eq!(
        batches[1],
        [
            ("COBOL".to_string(), "US".to_string()),
            ("Compiler".to_string(), "US".to_string())
        ]
    );

    // An error from the callback stops the scan and comes back as it was.
    let mut calls = 0;
    let err = Document::select()
        .join(Document::author_id, Author::id)
        .for_each(db, |_| {
            calls += 1;
            Err(Error::Usage("stop here".into()))
        })
        .unwrap_err();
    assert!(matches!(&err, Error::Usage(m) if m == "stop here"), "{err}");
    assert_eq!(calls, 1);

    let err = Document::select()
        .join(Document::author_id, Author::id)
        .chunks(db, 0, |_| Ok(()))
        .unwrap_err();
    assert!(matches!(err, Error::Usage(_)), "{err}");
}

/// Grouping by an expression with a bound value (`year / 10 * 10`) over a
/// join: PostgreSQL needs the key written as the selected expression's
/// position, as for a one-table select.
fn grouping_by_an_expression_with_values_over_a_join<C: Conn<Backend: Engine>>(db: &C) {
    library(db);
    let decade = Document::year / 10 * 10;
    let per_decade: Vec<(i64, i64)> = Document::select()
        .join(Document::author_id, Author::id)
        .select_cols((decade.clone(), Author::id.count()))
        .group_by(decade.clone())
        .order_by(decade)
        .all(db)
        .expect("per decade");
    assert_eq!(per_decade, [(1840, 1), (1850, 1), (1950, 2), (1980, 1)]);
}

fn a_table_joined_twice_is_a_usage_error<C: Conn<Backend: Engine>>(db: &C) {
    library(db);
    let err = expect_failure!(db, |c| Author::select()
        .join(Author::id, Document::author_id)
        .join(Document::author_id, Author::id)
        .all(c));
    match &err {
        Error::Usage(m) => assert!(m.contains("`authors` joined with itself"), "{m}"),
        other => panic!("expected a usage error, got {other}"),
    }
}

on_every_strategy!(
    aggregates_per_author_name_over_authors_join_documents,
    a_left_join_counts_zero_for_rows_with_no_match,
    a_three_table_join_reads_exact_rows,
    distinct_limit_and_offset_on_a_join,
    for_each_and_chunks_stream_a_join,
    grouping_by_an_expression_with_values_over_a_join,
    a_table_joined_twice_is_a_usage_error,
);

/// The SQL of a three-table join with chosen columns, as SQLite runs it.
#[test]
fn a_three_table_join_renders_one_select() {
    let sql = Document::select()
        .join(Document::author_id, Author::id)
        .left_join(Author::country_id, Country::id)
        .select_cols((Country::name, Document::words.sum()))
        .filter(Author::name.ne("x"))
        .group_by(Country::name)
        .having(Document::id.count().gt(1))
        .order_by(Country::name)
        .limit(5)
        .sql()
        .expect("sql");
    assert_eq!(
        sql,
        "SELECT \"countries\".\"name\", sum(\"documents\".\"words\") FROM \"documents\" \
         JOIN \"authors\" ON \"documents\".\"author_id\" = \"authors\".\"id\" \
         LEFT JOIN \"countries\" ON \"authors\".\"country_id\" = \"countries\".\"id\" \
         WHERE (\"authors\".\"name\" <> ?) GROUP BY \"countries\".\"name\" \
         HAVING (count(\"documents\".\"id\") > ?) ORDER BY \"countries\".\"name\" ASC LIMIT 5"
    );
}
